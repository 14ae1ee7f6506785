/* ec-join: stream-table enrichment: attach fields of changelog dimension tables to fact records, by event time. */
#include "ec.h"
#include "hmap.h"
#include "jsonw.h"
#include "log.h"
#include "opt.h"
#include "record.h"
#include "stage.h"
#include "timefmt.h"
#include <errno.h>
#include <inttypes.h>
#include <yajl/yajl_tree.h>

static const char synopsis[] =
	"ec-join -t PATH -d 'TABLE[: key PATH]'... -a '[FACTS:] [NAME =] TABLE[PATH].FIELD'... [OPTIONS] [FILE...]";
static const char description[] =
	"Keep every version of the rows of dimension tables that arrive as change events in the\n"
	"same stream (records whose --table field names a --dim table), and splice fields of the\n"
	"version valid at each fact's event time into the fact: \"_join\":{\"city\":\"Jakarta\"}.\n"
	"Dimension records pass through unchanged; facts keep their own bytes. With --follow,\n"
	"facts are emitted again, joined anew, whenever a row they join changes.";

enum {
	OPT_TIME_UNIT = EC_OPT_TOOL_BASE,
	OPT_PRELOAD,
	OPT_TABLE,
	OPT_WAIT,
	OPT_MAX_DELAY,
	OPT_INNER,
	OPT_REJECT,
	OPT_INTO,
	OPT_DROP_DIMS,
	OPT_STATE_DIR,
	OPT_FOLLOW,
	OPT_RETAIN,
};

static const struct ec_opt options[] = {
	{ "time", required_argument, 't', "PATH", "event time field (required): RFC 3339 text or a number" },
	{ "time-unit", required_argument, OPT_TIME_UNIT, "s|ms|us|ns", "unit of numeric times (default ms)" },
	{ "dim", required_argument, 'd', "'TABLE[: key PATH]'", "a dimension table and its key within the row (default key .id)" },
	{ "attach", required_argument, 'a', "'[FACTS:] [NAME =] TABLE[PATH].FIELD'", "attach FIELD of the TABLE row whose key is the fact's PATH" },
	{ "preload", required_argument, OPT_PRELOAD, "TABLE=FILE", "rows of TABLE (one flat object per line) valid from the start" },
	{ "table", required_argument, OPT_TABLE, "PATH", "field naming a record's table (default .source.table)" },
	{ "wait", required_argument, OPT_WAIT, "DURATION", "how long a fact waits for a row that has not arrived (default 0s)" },
	{ "max-delay", required_argument, OPT_MAX_DELAY, "DURATION", "how far the watermark trails the largest event time (default 0s)" },
	{ "inner", no_argument, OPT_INNER, NULL, "drop facts with an unmatched key instead of attaching nulls" },
	{ "reject", required_argument, OPT_REJECT, "FILE", "with --inner, append the dropped facts to FILE" },
	{ "into", required_argument, OPT_INTO, "NAME", "name of the object holding the attached fields (default _join)" },
	{ "drop-dims", no_argument, OPT_DROP_DIMS, NULL, "do not forward dimension change records" },
	{ "follow", required_argument, OPT_FOLLOW, "TABLE", "emit facts again whenever the TABLE row they join changes" },
	{ "retain", required_argument, OPT_RETAIN, "DURATION", "forget followed facts DURATION after their last change (default never)" },
	{ "state-dir", required_argument, OPT_STATE_DIR, "DIR", "keep checkpoint snapshots in DIR (restore/barrier records)" },
	EC_OPTS_INPUT,
	EC_OPTS_COMMON,
	{ NULL, 0, 0, NULL, NULL },
};

struct settings {
	const char *time_path;
	enum ec_time_unit time_unit;
	const char **dim_specs, **attach_specs, **preloads, **follows;
	size_t ndim_specs, dim_alloc, nattach_specs, attach_alloc, npreloads, preload_alloc;
	size_t nfollows, follow_alloc;
	int64_t retain;		/* 0: followed facts are kept until their row is deleted */
	const char *table_path;
	int64_t wait, max_delay;
	int inner, drop_dims;
	const char *reject_path;
	const char *into;
	const char *state_dir;
	size_t max_line;
};

/* One version of a dimension row: its fields' JSON text from TIME on, or a deletion. */
struct version {
	int64_t time;
	char **vals;		/* NULL: the row was deleted at TIME */
};

/* Every version of one row still needed, oldest first (the hash map's value). */
struct row {
	struct version *v;
	uint32_t n, alloc;
};

/* A dimension table: which records change it, its key and the fields facts ask for. */
struct dim {
	char *name;
	char *key_path;		/* within the row: ".id" */
	int key_after, key_before, key_flat;
	char **fields;		/* within the row: ".city" */
	int *field_after, *field_flat;
	size_t nfields;
	char *preload;
	struct ec_hmap rows;	/* canonical key -> struct row */
	int follow;		/* --follow: facts joined to a row are emitted again when it changes */
	struct ec_hmap followers;	/* canonical key -> struct followers */
	uint64_t follow_bytes;	/* what the followers' snapshot lines take, about */
	/* Keys changed since the last snapshot: the next delta writes them (with --state-dir). */
	int snapshots;
};

/* A fact kept because it joins a followed row: emitted again when the row changes. */
struct follower {
	char *line;
	size_t n;
	int64_t upto;		/* the event time of its latest emission */
};

/* The facts following one row (the followers map's value). */
struct followers {
	struct follower *f;
	uint32_t n, alloc;
};

/* A followed row changed at TIME: its followers are emitted again once the watermark passes. */
struct row_change {
	size_t dim;
	char *key;
	size_t klen;
	int64_t time;
	uint64_t seq;
};

/* A lookup of one dimension row per fact: FACTS: TABLE[PATH]. */
struct lookup {
	char *scope;		/* the facts' table, or NULL for every fact */
	struct dim *dim;
	char *key_text;
	int key_slot;
};

/* One attached field: NAME = lookup.FIELD. */
struct attach {
	char *name;
	size_t lookup, field;
};

/* A fact waiting for the watermark or for its dimension row. */
struct pending {
	char *line;
	size_t n;
	int64_t time;
	int64_t due;		/* the watermark at which to look again */
	int row_wait;		/* it waits for a row too: a new version may decide it sooner */
	unsigned char *keys;	/* its lookups, packed (pack_keys), so it is never scanned again */
	uint64_t lineno;
	const char *file;
};

/* Everything the record loop needs. */
struct job {
	struct settings *set;
	struct ec_errpolicy pol;
	struct ec_pathset *ps, *row_ps;
	struct ec_jval *slots, *row_slots;
	int time_slot, table_slot, op_slot, after_slot, before_slot;
	struct dim *dims;
	size_t ndims;
	struct lookup *lookups;
	size_t nlookups;
	struct attach *attaches;
	size_t nattaches;
	/* Per lookup, for the fact at hand. */
	struct ec_buf *keys;
	int *applies, *nullkey;
	const struct version **chosen;
	struct pending *pending;
	size_t npending, pending_alloc;
	struct row_change *changes;
	size_t nchanges, changes_alloc;
	uint64_t change_seq;
	int64_t min_change, next_sweep, changes_upto;
	int following;
	int64_t max_time, min_due;
	int has_time, dims_changed;
	size_t row_waiters;	/* waiting facts with row_wait set */
	struct ec_buf out, tmp, table, fields, line;
	FILE *reject;
	uint64_t rejected, unmatched;
	struct ec_stage stage;
	char *fingerprint;
	struct ec_journal journal;	/* with snapshots: what changed since the last one */
};

static void push_spec(const char ***v, size_t *n, size_t *alloc, const char *arg)
{
	EC_GROW(*v, *n + 1, *alloc);
	(*v)[(*n)++] = arg;
}

static void parse_options(struct settings *set, struct ec_errpolicy *pol, int argc, char **argv)
{
	struct ec_optparser op;
	int c;

	ec_optparser_init(&op, options);
	while ((c = ec_optparser_next(&op, argc, argv)) != -1) {
		if (ec_opt_common(c, optarg, synopsis, description, options) ||
		    ec_errpolicy_option(pol, c, optarg))
			continue;
		switch (c) {
		case 't': set->time_path = optarg; break;
		case OPT_TIME_UNIT:
			if (ec_time_unit_parse(optarg, &set->time_unit) < 0)
				ec_usage_error("--time-unit must be s, ms, us or ns, not '%s'", optarg);
			break;
		case 'd': push_spec(&set->dim_specs, &set->ndim_specs, &set->dim_alloc, optarg); break;
		case 'a': push_spec(&set->attach_specs, &set->nattach_specs, &set->attach_alloc, optarg); break;
		case OPT_PRELOAD: push_spec(&set->preloads, &set->npreloads, &set->preload_alloc, optarg); break;
		case OPT_TABLE: set->table_path = optarg; break;
		case OPT_WAIT: set->wait = ec_opt_duration("wait", optarg); break;
		case OPT_MAX_DELAY: set->max_delay = ec_opt_duration("max-delay", optarg); break;
		case OPT_INNER: set->inner = 1; break;
		case OPT_REJECT: set->reject_path = optarg; break;
		case OPT_INTO:
			if (!*optarg)
				ec_usage_error("--into: the name cannot be empty");
			set->into = optarg;
			break;
		case OPT_DROP_DIMS: set->drop_dims = 1; break;
		case OPT_STATE_DIR: set->state_dir = optarg; break;
		case OPT_FOLLOW: push_spec(&set->follows, &set->nfollows, &set->follow_alloc, optarg); break;
		case OPT_RETAIN:
			set->retain = ec_opt_duration("retain", optarg);
			if (set->retain <= 0)
				ec_usage_error("--retain must be a positive duration, not '%s'", optarg);
			break;
		case EC_OPT_MAX_LINE: set->max_line = ec_opt_size("max-line", optarg, 1); break;
		default:
			ec_usage_error("unhandled option");
		}
	}
	ec_optparser_release(&op);
	if (!set->time_path)
		ec_usage_error("--time PATH is required (the event time field)");
	if (!set->nattach_specs)
		ec_usage_error("at least one --attach is required, e.g. --attach 'city = customers[.after.customer_id].city'");
	if (set->reject_path && !set->inner)
		ec_usage_error("--reject needs --inner (without it unmatched facts get nulls)");
	if (set->retain && !set->nfollows)
		ec_usage_error("--retain needs --follow");
}

/* ---- the option syntax ---- */

static const char *skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static char *trimmed(const char *s, const char *e)
{
	s = skip_spaces(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return xstrndup(s, (size_t)(e - s));
}

static int is_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!(*s == '_' || *s == '-' || *s == '$' || (*s >= '0' && *s <= '9') ||
		      (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return 0;
	return 1;
}

/* Check that TEXT is a path (exit 64 naming OPTION otherwise). */
static void check_path(const char *text, const char *option, const char *spec)
{
	struct ec_path p;
	char err[256];

	if (ec_path_parse(&p, text, err, sizeof(err)) < 0)
		ec_usage_error("%s '%s': %s", option, spec, err);
	if (!p.nseg)
		ec_usage_error("%s '%s': the path cannot be '.'", option, spec);
	ec_path_release(&p);
}

static struct dim *find_dim(struct job *job, const char *name)
{
	size_t i;

	for (i = 0; i < job->ndims; i++)
		if (!strcmp(job->dims[i].name, name))
			return &job->dims[i];
	return NULL;
}

/* "customers: key .id", or just "customers" (key .id). */
static void parse_dim(struct job *job, const char *spec)
{
	const char *colon = strchr(spec, ':');
	struct dim *d = &job->dims[job->ndims];
	char *name = trimmed(spec, colon ? colon : spec + strlen(spec));

	if (!is_name(name))
		ec_usage_error("--dim '%s': expected 'TABLE: key PATH', e.g. 'customers: key .id'", spec);
	if (find_dim(job, name))
		ec_usage_error("--dim '%s': table %s is declared twice", spec, name);
	d->name = name;
	if (colon) {
		const char *p = skip_spaces(colon + 1);
		if (strncmp(p, "key", 3) || (p[3] != ' ' && p[3] != '\t'))
			ec_usage_error("--dim '%s': expected 'TABLE: key PATH', e.g. 'customers: key .id'", spec);
		d->key_path = trimmed(p + 3, p + strlen(p));
		check_path(d->key_path, "--dim", spec);
	} else {
		d->key_path = xstrdup(".id");
	}
	ec_hmap_init(&d->rows, sizeof(struct row));
	ec_hmap_init(&d->followers, sizeof(struct followers));
	d->snapshots = job->set->state_dir != NULL;
	job->ndims++;
}

/* Index of FIELD in D's field list, added when new. */
static size_t dim_field(struct dim *d, const char *field)
{
	size_t i;

	for (i = 0; i < d->nfields; i++)
		if (!strcmp(d->fields[i], field))
			return i;
	d->fields = xrealloc(d->fields, (d->nfields + 1) * sizeof(*d->fields));
	d->fields[d->nfields] = xstrdup(field);
	return d->nfields++;
}

static size_t find_lookup(struct job *job, const char *scope, struct dim *d, const char *key_text)
{
	struct lookup *l;
	size_t i;

	for (i = 0; i < job->nlookups; i++) {
		l = &job->lookups[i];
		if (l->dim == d && !strcmp(l->key_text, key_text) &&
		    (scope ? l->scope && !strcmp(l->scope, scope) : !l->scope))
			return i;
	}
	l = &job->lookups[job->nlookups];
	l->scope = scope ? xstrdup(scope) : NULL;
	l->dim = d;
	l->key_text = xstrdup(key_text);
	return job->nlookups++;
}

/* End of the bracket opened at P ('['), skipping nested brackets and quoted keys. */
static const char *closing_bracket(const char *p)
{
	int depth = 0, quoted = 0;

	for (; *p; p++) {
		if (quoted) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quoted = 0;
		} else if (*p == '"') {
			quoted = 1;
		} else if (*p == '[') {
			depth++;
		} else if (*p == ']' && !--depth) {
			return p;
		}
	}
	return NULL;
}

/* "[FACTS:] [NAME =] TABLE[PATH].FIELD" */
static void parse_attach(struct job *job, const char *spec)
{
	static const char form[] = "expected '[FACTS:] [NAME =] TABLE[PATH].FIELD', "
				   "e.g. 'orders: city = customers[.after.customer_id].city'";
	struct attach *a = &job->attaches[job->nattaches];
	const char *p = spec, *open, *close, *colon, *eq;
	char *scope = NULL, *table, *key, *field;
	struct dim *d;

	open = strchr(spec, '[');
	if (!open)
		ec_usage_error("--attach '%s': %s", spec, form);
	colon = memchr(spec, ':', (size_t)(open - spec));
	if (colon) {
		scope = trimmed(spec, colon);
		if (!is_name(scope))
			ec_usage_error("--attach '%s': %s", spec, form);
		p = colon + 1;
	}
	eq = memchr(p, '=', (size_t)(open - p));
	if (eq) {
		a->name = trimmed(p, eq);
		if (!*a->name)
			ec_usage_error("--attach '%s': %s", spec, form);
		p = eq + 1;
	}
	table = trimmed(p, open);
	close = closing_bracket(open);
	if (!is_name(table) || !close)
		ec_usage_error("--attach '%s': %s", spec, form);
	d = find_dim(job, table);
	if (!d)
		ec_usage_error("--attach '%s': no --dim table named %s", spec, table);
	key = trimmed(open + 1, close);
	field = trimmed(close + 1, close + 1 + strlen(close + 1));
	check_path(key, "--attach", spec);
	check_path(field, "--attach", spec);
	if (!a->name) {
		struct ec_path fp;
		char err[64];
		ec_path_parse(&fp, field, err, sizeof(err));
		a->name = xstrdup(ec_path_leaf(&fp) ? ec_path_leaf(&fp) : table);
		ec_path_release(&fp);
	}
	if (scope && find_dim(job, scope) == d)
		ec_usage_error("--attach '%s': a table cannot be joined to itself", spec);
	a->lookup = find_lookup(job, scope, d, key);
	a->field = dim_field(d, field);
	job->nattaches++;
	free(scope);
	free(table);
	free(key);
	free(field);
}

/* PREFIX + PATH as one path's text, added to PS. */
static int add_prefixed(struct ec_pathset *ps, const char *prefix, const char *path, const char *option)
{
	char *text = xmalloc(strlen(prefix) + strlen(path) + 1);
	int slot;

	strcpy(text, prefix);
	strcat(text, path);
	slot = ec_pathset_add_text(ps, text, option);
	free(text);
	return slot;
}

static void setup_paths(struct job *job)
{
	struct settings *set = job->set;
	size_t i, j;

	job->ps = ec_record_pathset_new();
	job->row_ps = ec_record_pathset_new();
	job->time_slot = ec_pathset_add_text(job->ps, set->time_path, "--time");
	job->table_slot = ec_pathset_add_text(job->ps, set->table_path, "--table");
	job->op_slot = ec_pathset_add_text(job->ps, ".op", "--dim");
	job->after_slot = ec_pathset_add_text(job->ps, ".after", "--dim");
	job->before_slot = ec_pathset_add_text(job->ps, ".before", "--dim");
	for (i = 0; i < job->ndims; i++) {
		struct dim *d = &job->dims[i];
		d->key_after = add_prefixed(job->ps, ".after", d->key_path, "--dim");
		d->key_before = add_prefixed(job->ps, ".before", d->key_path, "--dim");
		d->key_flat = ec_pathset_add_text(job->row_ps, d->key_path, "--dim");
		d->field_after = xcalloc(d->nfields + 1, sizeof(int));
		d->field_flat = xcalloc(d->nfields + 1, sizeof(int));
		for (j = 0; j < d->nfields; j++) {
			d->field_after[j] = add_prefixed(job->ps, ".after", d->fields[j], "--attach");
			d->field_flat[j] = ec_pathset_add_text(job->row_ps, d->fields[j], "--attach");
		}
	}
	for (i = 0; i < job->nlookups; i++)
		job->lookups[i].key_slot = ec_pathset_add_text(job->ps, job->lookups[i].key_text, "--attach");
	job->slots = xcalloc(ec_pathset_size(job->ps), sizeof(*job->slots));
	job->row_slots = xcalloc(ec_pathset_size(job->row_ps), sizeof(*job->row_slots));
}

/* ---- dimension rows and their versions ---- */

/* A followed-fact line's bytes besides the fact itself: {"follow":I,"key":K,"upto":T,"fact":...}. */
#define FOLLOW_LINE_BYTES 64

static void follower_free(struct dim *d, struct follower *f)
{
	d->follow_bytes -= f->n + FOLLOW_LINE_BYTES;
	free(f->line);
}

static void version_release(struct version *v, size_t nfields)
{
	size_t i;

	if (!v->vals)
		return;
	for (i = 0; i < nfields; i++)
		free(v->vals[i]);
	free(v->vals);
}

static void dim_clear(struct dim *d)
{
	struct ec_hmap_iter it;
	struct ec_hmap_entry e;
	uint32_t i;

	ec_hmap_iter_init(&it, &d->rows);
	while (ec_hmap_iter_next(&it, &e)) {
		struct row *r = e.value;
		for (i = 0; i < r->n; i++)
			version_release(&r->v[i], d->nfields);
		free(r->v);
	}
	ec_hmap_release(&d->rows);
	ec_hmap_init(&d->rows, sizeof(struct row));
}

/*
 * A key as bytes to compare: a string's decoded content, any other scalar's
 * JSON text, so the number 7 and the string "7" name the same row.
 */
static int canonical_key(const struct ec_jval *v, struct ec_buf *key)
{
	ec_buf_reset(key);
	if (v->type == EC_J_STRING) {
		if (v->escaped)
			return ec_jval_str(v, key);
		ec_buf_add(key, v->p, v->n);
		return 0;
	}
	if (v->type == EC_J_NUMBER || v->type == EC_J_TRUE || v->type == EC_J_FALSE) {
		ec_buf_add(key, v->p, v->n);
		return 0;
	}
	return -1;
}

static char *value_text(const struct ec_jval *v)
{
	size_t n;
	const char *raw;

	if (v->type == EC_J_MISSING)
		return xstrdup("null");
	raw = ec_jval_raw(v, &n);
	return xstrndup(raw, n);
}

/* The watermark: no fact at or before it can still be waiting for an earlier row. */
static int64_t watermark(const struct job *job)
{
	return job->has_time ? job->max_time - job->set->max_delay : EC_TIME_MIN - 1;
}

/*
 * Versions nobody can ask for any more: a waiting fact is newer than
 * watermark - wait, and needs only the version valid at its time and later ones.
 */
static void row_prune(struct job *job, struct dim *d, struct row *r)
{
	int64_t horizon = watermark(job) - job->set->wait;
	uint32_t drop = 0, i;

	while (drop + 1 < r->n && r->v[drop + 1].time <= horizon)
		drop++;
	if (!drop)
		return;
	for (i = 0; i < drop; i++)
		version_release(&r->v[i], d->nfields);
	memmove(r->v, r->v + drop, (r->n - drop) * sizeof(*r->v));
	r->n -= drop;
}

/* ---- the journal of changes for the next delta (lib/stage.h) ---- */

static void save_key(struct ec_buf *out, const char *open, size_t di, const char *key, size_t klen);
static void save_follower(struct ec_buf *out, size_t di, const char *key, size_t klen, const struct follower *f);

/* The journal to note a change of D in, or NULL: no snapshots, or it is lost. */
static struct ec_buf *journal(struct job *job, const struct dim *d)
{
	return d->snapshots ? ec_journal_buf(&job->journal) : NULL;
}

/* A version of row KEY of D: {"version":I,"key":K,"time":T,"vals":[V,...]|null}. */
static void journal_version(struct job *job, const struct dim *d, const struct ec_buf *key, int64_t time,
			    char **vals)
{
	struct ec_buf *j = journal(job, d);
	size_t f;

	if (!j)
		return;
	save_key(j, "{\"version\":", (size_t)(d - job->dims), key->buf ? key->buf : "", key->len);
	ec_buf_addstr(j, ",\"time\":");
	ec_jsonw_i64(j, time);
	if (vals) {
		ec_buf_addstr(j, ",\"vals\":[");
		for (f = 0; f < d->nfields; f++) {
			if (f)
				ec_buf_addch(j, ',');
			ec_jsonw_cstr(j, vals[f]);
		}
		ec_buf_addstr(j, "]}\n");
	} else {
		ec_buf_addstr(j, ",\"vals\":null}\n");
	}
	ec_journal_check(&job->journal);
}

/* Fact F follows row KEY of D now. */
static void journal_follow(struct job *job, const struct dim *d, const char *key, size_t klen,
			   const struct follower *f)
{
	struct ec_buf *j = journal(job, d);

	if (!j)
		return;
	save_follower(j, (size_t)(d - job->dims), key, klen, f);
	ec_journal_check(&job->journal);
}

/* The facts following row KEY of D (FL) have new "upto" times: {"uptos":I,"key":K,"upto":[T,...]}. */
static void journal_uptos(struct job *job, const struct dim *d, const char *key, size_t klen,
			  const struct followers *fl)
{
	struct ec_buf *j = journal(job, d);
	uint32_t i;

	if (!j)
		return;
	save_key(j, "{\"uptos\":", (size_t)(d - job->dims), key, klen);
	ec_buf_addstr(j, ",\"upto\":[");
	for (i = 0; i < fl->n; i++) {
		if (i)
			ec_buf_addch(j, ',');
		ec_jsonw_i64(j, fl->f[i].upto);
	}
	ec_buf_addstr(j, "]}\n");
	ec_journal_check(&job->journal);
}

/* The facts following row KEY of D are forgotten. */
static void journal_unfollow(struct job *job, const struct dim *d, const char *key, size_t klen)
{
	struct ec_buf *j = journal(job, d);

	if (!j)
		return;
	save_key(j, "{\"unfollow\":", (size_t)(d - job->dims), key, klen);
	ec_buf_addstr(j, "}\n");
	ec_journal_check(&job->journal);
}

/* The facts following row KEY of D are now those of FL. */
static void journal_refollow(struct job *job, const struct dim *d, const char *key, size_t klen,
			     const struct followers *fl)
{
	uint32_t i;

	journal_unfollow(job, d, key, klen);
	for (i = 0; i < fl->n; i++)
		journal_follow(job, d, key, klen, &fl->f[i]);
}

/* Add a version (VALS NULL: a delete) of the row KEY from TIME on; VALS is taken over. */
static void dim_add_version(struct job *job, struct dim *d, const struct ec_buf *key, int64_t time, char **vals)
{
	struct row *r;
	uint32_t pos;

	/* Before VALS may be released: the version can be pruned at once. */
	journal_version(job, d, key, time, vals);
	r = ec_hmap_put(&d->rows, key->buf ? key->buf : "", key->len, NULL);
	pos = r->n;

	/* Versions of equal time keep their order of arrival: the last one wins. */
	while (pos > 0 && r->v[pos - 1].time > time)
		pos--;
	if (r->n == r->alloc) {
		r->alloc = r->alloc ? 2 * r->alloc : 1;
		r->v = xrealloc(r->v, r->alloc * sizeof(*r->v));
	}
	memmove(r->v + pos + 1, r->v + pos, (r->n - pos) * sizeof(*r->v));
	r->v[pos].time = time;
	r->v[pos].vals = vals;
	r->n++;
	row_prune(job, d, r);
	job->dims_changed = 1;
}

static char **collect_vals(const struct dim *d, const struct ec_jval *slots, const int *field_slots)
{
	char **vals = xcalloc(d->nfields + 1, sizeof(char *));
	size_t i;

	for (i = 0; i < d->nfields; i++)
		vals[i] = value_text(&slots[field_slots[i]]);
	return vals;
}

/* ---- time and keys of a record ---- */

static int record_time(struct job *job, const struct ec_line *line, int64_t *t)
{
	char err[300];

	if (ec_record_time(&job->slots[job->time_slot], job->set->time_path, job->set->time_unit, t,
			   err, sizeof(err)) == 0)
		return 0;
	ec_reject(&job->pol, line, "%s", err);
	return -1;
}

/* The record's table name into job->table; 0 when it has none. */
static int record_table(struct job *job)
{
	const struct ec_jval *v = &job->slots[job->table_slot];

	ec_buf_reset(&job->table);
	if (v->type != EC_J_STRING || canonical_key(v, &job->table) < 0)
		return 0;
	ec_buf_addch(&job->table, '\0');
	job->table.len--;
	return 1;
}

static void queue_change(struct job *job, size_t di, const struct ec_buf *key, int64_t t);

/* A change of dimension D: an insert, update or snapshot row, or a delete. */
static int apply_dim_change(struct job *job, struct dim *d, const struct ec_line *line, int64_t t)
{
	const struct ec_jval *op = &job->slots[job->op_slot];
	int del = op->type == EC_J_STRING && op->n == 1 && op->p[0] == 'd';
	const struct ec_jval *env = &job->slots[del ? job->before_slot : job->after_slot];
	const struct ec_jval *key = &job->slots[del ? d->key_before : d->key_after];
	const char *where = del ? ".before" : ".after";

	if (op->type == EC_J_STRING && op->n == 1 && op->p[0] == 't')
		return 0;	/* a truncate names no row */
	if (env->type != EC_J_OBJECT) {
		ec_reject(&job->pol, line, "%s change: expected %s to be an object, got %s", d->name, where,
			  env->type == EC_J_MISSING ? "nothing" : ec_jtype_name(env->type));
		return -1;
	}
	if (key->type == EC_J_MISSING) {
		ec_reject(&job->pol, line, "%s change: missing key %s%s", d->name, where, d->key_path);
		return -1;
	}
	if (canonical_key(key, &job->tmp) < 0) {
		ec_reject(&job->pol, line, "%s change: key %s%s: expected a string or number, got %s",
			  d->name, where, d->key_path, ec_jtype_name(key->type));
		return -1;
	}
	dim_add_version(job, d, &job->tmp, t, del ? NULL : collect_vals(d, job->slots, d->field_after));
	if (d->follow)
		queue_change(job, (size_t)(d - job->dims), &job->tmp, t);
	return 0;
}

/* Which lookups apply to the fact in job->slots, and their keys. 0, or -1 if rejected. */
static int fact_keys(struct job *job, const struct ec_line *line, int has_table, int *any)
{
	size_t i;

	*any = 0;
	for (i = 0; i < job->nlookups; i++) {
		const struct lookup *l = &job->lookups[i];
		const struct ec_jval *v = &job->slots[l->key_slot];

		job->applies[i] = !l->scope || (has_table && !strcmp(l->scope, job->table.buf));
		job->nullkey[i] = 0;
		if (!job->applies[i])
			continue;
		*any = 1;
		if (v->type == EC_J_NULL) {
			job->nullkey[i] = 1;
		} else if (v->type == EC_J_MISSING) {
			if (line)
				ec_reject(&job->pol, line, "missing join key %s", l->key_text);
			return -1;
		} else if (canonical_key(v, &job->keys[i]) < 0) {
			if (line)
				ec_reject(&job->pol, line, "join key %s: expected a string or number, got %s",
					  l->key_text, ec_jtype_name(v->type));
			return -1;
		}
	}
	return 0;
}

/* ---- resolving a fact ---- */

/*
 * The version of lookup I's row for a fact at T: the one valid at T, else
 * the first within --wait after T. 1 decided (*out may be NULL: unmatched),
 * 0 not yet (*due says when to look again).
 */
static int choose_version(struct job *job, size_t i, int64_t t, int final,
			  const struct version **out, int64_t *due)
{
	const struct lookup *l = &job->lookups[i];
	const struct row *r;
	int64_t wm = watermark(job);
	uint32_t k;

	*out = NULL;
	if (job->nullkey[i])
		return 1;
	r = ec_hmap_get(&l->dim->rows, job->keys[i].buf ? job->keys[i].buf : "", job->keys[i].len);
	if (r) {
		for (k = r->n; k > 0 && r->v[k - 1].time > t; k--)
			;
		if (k > 0) {
			*out = r->v[k - 1].vals ? &r->v[k - 1] : NULL;
			return 1;
		}
		/* None valid at T: the row's first version, if it comes within --wait. */
		if (r->n && r->v[0].time - t <= job->set->wait && (final || r->v[0].time <= wm)) {
			*out = r->v[0].vals ? &r->v[0] : NULL;
			return 1;
		}
	}
	if (final || wm >= t + job->set->wait)
		return 1;
	*due = r && r->n && r->v[0].time - t <= job->set->wait ? r->v[0].time : t + job->set->wait;
	return 0;
}

/* The n-th field's text of a version, or null. */
static void add_value(struct ec_buf *b, const struct version *v, size_t field)
{
	if (v)
		ec_buf_addstr(b, v->vals[field]);
	else
		ec_buf_add(b, "null", 4);
}

static void write_reject(struct job *job, const struct ec_buf *rec)
{
	job->rejected++;
	if (!job->set->reject_path)
		return;
	if (!job->reject && !(job->reject = fopen(job->set->reject_path, "a")))
		ec_die(EX_CANTCREAT, "cannot open --reject file %s: %s", job->set->reject_path, strerror(errno));
	if (fwrite(rec->buf, 1, rec->len, job->reject) != rec->len)
		ec_die(EX_IOERR, "writing --reject file %s: %s", job->set->reject_path, strerror(errno));
}

/*
 * Splice the attached fields into the fact's bytes and write it (or reject it
 * with --inner). AT is the time the joined values are valid for, written as
 * "_time" when facts are followed: a fact emitted again carries its row's change time.
 */
static void emit_fact(struct job *job, const char *rec, size_t n, int64_t at)
{
	struct ec_buf *fields = &job->fields, *line = &job->line;
	int matched = 1, first = 1;
	size_t i;

	ec_buf_reset(fields);
	ec_buf_reset(line);
	for (i = 0; i < job->nlookups; i++)
		if (job->applies[i] && !job->chosen[i])
			matched = 0;
	ec_jsonw_key(fields, job->set->into);
	ec_buf_addch(fields, '{');
	for (i = 0; i < job->nattaches; i++) {
		const struct attach *a = &job->attaches[i];
		if (!job->applies[a->lookup])
			continue;
		if (!first)
			ec_buf_addch(fields, ',');
		first = 0;
		ec_jsonw_key(fields, a->name);
		add_value(fields, job->chosen[a->lookup], a->field);
	}
	if (job->following) {
		char tbuf[40];
		if (!first)
			ec_buf_addch(fields, ',');
		ec_jsonw_key(fields, "_time");
		ec_buf_addch(fields, '"');
		ec_buf_add(fields, tbuf, ec_time_format(at, tbuf));
		ec_buf_addch(fields, '"');
	}
	ec_buf_addch(fields, '}');
	ec_jsonw_splice(line, rec, n, fields->buf, fields->len);
	ec_buf_addch(line, '\n');
	if (!matched)
		job->unmatched++;
	if (!matched && job->set->inner)
		write_reject(job, line);
	else
		ec_buf_add(&job->out, line->buf, line->len);
}

/* ---- followed rows: facts emitted again when their row changes (--follow) ---- */

/* Emit follower F again, joined as of T (every lookup, not only the followed one). */
static void emit_again(struct job *job, struct follower *f, int64_t t)
{
	struct ec_jerr jerr;
	int64_t due;
	size_t i;
	int any;

	/* Scanned fine when it arrived, so it scans the same now. */
	if (ec_json_scan(job->ps, f->line, f->n, job->slots, &jerr) < 0 ||
	    fact_keys(job, NULL, record_table(job), &any) < 0)
		ec_die(EX_SOFTWARE, "a followed fact no longer scans");
	for (i = 0; i < job->nlookups; i++)
		if (job->applies[i])
			choose_version(job, i, t, 1, &job->chosen[i], &due);
	emit_fact(job, f->line, f->n, t);
	f->upto = t;
}

static int same_fields(const struct dim *d, const struct version *a, const struct version *b)
{
	size_t i;

	if (!a->vals || !b->vals)
		return !a->vals && !b->vals;
	for (i = 0; i < d->nfields; i++)
		if (strcmp(a->vals[i], b->vals[i]))
			return 0;
	return 1;
}

/*
 * Emit the followers of row R again for each of its versions in (their
 * last emission, LIMIT], oldest first; forget them once the row is deleted.
 * Returns 1 when the followers were forgotten.
 */
static int catch_up(struct job *job, struct dim *d, const struct ec_buf *key, int64_t limit)
{
	const char *k = key->buf ? key->buf : "";
	struct followers *fl = ec_hmap_get(&d->followers, k, key->len);
	const struct row *r = ec_hmap_get(&d->rows, k, key->len);
	uint32_t v, i;
	int deleted = 0, moved = 0;

	if (!fl || !r)
		return 0;
	for (v = 0; v < r->n && r->v[v].time <= limit; v++) {
		/* A change of fields no fact asks for changes nothing a follower would see. */
		int same = v > 0 && same_fields(d, &r->v[v - 1], &r->v[v]);
		for (i = 0; i < fl->n; i++)
			if (fl->f[i].upto < r->v[v].time) {
				if (same)
					fl->f[i].upto = r->v[v].time;
				else
					emit_again(job, &fl->f[i], r->v[v].time);
				moved = 1;
			}
		deleted = !r->v[v].vals;
	}
	if (!deleted || v < r->n) {
		if (moved)
			journal_uptos(job, d, k, key->len, fl);
		return 0;
	}
	for (i = 0; i < fl->n; i++)
		follower_free(d, &fl->f[i]);
	free(fl->f);
	ec_hmap_del(&d->followers, k, key->len);
	journal_unfollow(job, d, k, key->len);
	return 1;
}

static void add_follower(struct job *job, struct dim *d, const struct ec_buf *key, const char *rec, size_t n,
			 int64_t upto)
{
	struct followers *fl = ec_hmap_put(&d->followers, key->buf ? key->buf : "", key->len, NULL);

	if (fl->n == fl->alloc) {
		fl->alloc = fl->alloc ? 2 * fl->alloc : 2;
		fl->f = xrealloc(fl->f, fl->alloc * sizeof(*fl->f));
	}
	fl->f[fl->n].line = xstrndup(rec, n);
	fl->f[fl->n].n = n;
	d->follow_bytes += n + FOLLOW_LINE_BYTES;
	fl->f[fl->n].upto = upto;
	journal_follow(job, d, key->buf ? key->buf : "", key->len, &fl->f[fl->n]);
	fl->n++;
}

/*
 * The fact just emitted at T follows the rows of followed tables it joins.
 * A fact decided late (it waited, or arrived behind the watermark) catches
 * up at once with the row changes already handled.
 */
static void follow_fact(struct job *job, const char *rec, size_t n, int64_t t)
{
	struct ec_buf *late = NULL;
	struct dim **late_dims = NULL;
	size_t i, j, nlate = 0;

	for (i = 0; i < job->nlookups; i++) {
		struct dim *d = job->lookups[i].dim;
		int64_t upto = t;

		if (!job->applies[i] || !d->follow || job->nullkey[i])
			continue;
		for (j = 0; j < i; j++)
			if (job->applies[j] && job->lookups[j].dim == d && !job->nullkey[j] &&
			    job->keys[j].len == job->keys[i].len &&
			    !memcmp(job->keys[j].buf, job->keys[i].buf, job->keys[i].len))
				break;
		if (j < i)
			continue;	/* the same row twice: follow it once */
		if (job->chosen[i] && job->chosen[i]->time > upto)
			upto = job->chosen[i]->time;
		add_follower(job, d, &job->keys[i], rec, n, upto);
		if (upto < job->changes_upto) {
			late = xrealloc(late, (nlate + 1) * sizeof(*late));
			late_dims = xrealloc(late_dims, (nlate + 1) * sizeof(*late_dims));
			late[nlate] = (struct ec_buf)EC_BUF_INIT;
			ec_buf_add(&late[nlate], job->keys[i].buf ? job->keys[i].buf : "", job->keys[i].len);
			late_dims[nlate++] = d;
		}
	}
	/* After the loop: catching up rescans job->slots and job->keys. */
	for (i = 0; i < nlate; i++) {
		catch_up(job, late_dims[i], &late[i], job->changes_upto);
		ec_buf_release(&late[i]);
	}
	free(late);
	free(late_dims);
}

/* A followed row changed at T: note it for when the watermark passes T. */
static void queue_change(struct job *job, size_t di, const struct ec_buf *key, int64_t t)
{
	struct row_change *c;

	EC_GROW(job->changes, job->nchanges + 1, job->changes_alloc);
	c = &job->changes[job->nchanges++];
	c->dim = di;
	c->key = xmalloc(key->len + 1);
	memcpy(c->key, key->buf ? key->buf : "", key->len);
	c->klen = key->len;
	c->time = t;
	c->seq = job->change_seq++;
	if (t < job->min_change)
		job->min_change = t;
}

static int change_cmp(const void *a, const void *b)
{
	const struct row_change *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Forget followed facts whose last change is more than --retain behind the watermark. */
static void sweep_followers(struct job *job, int64_t wm)
{
	int64_t horizon = wm - job->set->retain;
	struct ec_hmap_iter it;
	struct ec_hmap_entry e;
	size_t di;
	uint32_t i, kept;

	for (di = 0; di < job->ndims; di++) {
		if (!job->dims[di].follow)
			continue;
		ec_hmap_iter_init(&it, &job->dims[di].followers);
		while (ec_hmap_iter_next(&it, &e)) {
			struct followers *fl = e.value;
			uint32_t n = fl->n;
			for (i = kept = 0; i < fl->n; i++) {
				if (fl->f[i].upto < horizon)
					follower_free(&job->dims[di], &fl->f[i]);
				else
					fl->f[kept++] = fl->f[i];
			}
			fl->n = kept;
			if (kept < n)
				journal_refollow(job, &job->dims[di], e.key, e.klen, fl);
			if (!kept) {
				free(fl->f);
				ec_hmap_iter_del(&it);
			}
		}
	}
	job->next_sweep = wm + (job->set->retain / 8 > 1000 ? job->set->retain / 8 : 1000);
}

/* Emit the followers of rows that changed at or before the watermark (FINAL: all), in time order. */
static void process_changes(struct job *job, int final)
{
	int64_t limit = final ? INT64_MAX : watermark(job);
	struct row_change *due = NULL;
	size_t i, ndue = 0, kept = 0;
	struct ec_buf key = EC_BUF_INIT;

	if (job->nchanges && limit >= job->min_change) {
		due = xmalloc(job->nchanges * sizeof(*due));
		job->min_change = INT64_MAX;
		for (i = 0; i < job->nchanges; i++) {
			if (job->changes[i].time <= limit) {
				due[ndue++] = job->changes[i];
				continue;
			}
			if (job->changes[i].time < job->min_change)
				job->min_change = job->changes[i].time;
			job->changes[kept++] = job->changes[i];
		}
		job->nchanges = kept;
		qsort(due, ndue, sizeof(*due), change_cmp);
		for (i = 0; i < ndue; i++) {
			ec_buf_reset(&key);
			ec_buf_add(&key, due[i].key, due[i].klen);
			catch_up(job, &job->dims[due[i].dim], &key, due[i].time);
			free(due[i].key);
		}
		free(due);
		ec_buf_release(&key);
	}
	if (limit > job->changes_upto)
		job->changes_upto = limit;
	if (job->set->retain && !final && job->has_time && limit >= job->next_sweep)
		sweep_followers(job, limit);
}

/*
 * Emit the fact at T whose lookups are in job->keys if it can be decided now:
 * 1, or 0 (it waits; *due and *row_wait set).
 */
static int try_resolve(struct job *job, const char *rec, size_t n, int64_t t, int final,
		       int64_t *due, int *row_wait)
{
	size_t i;
	int done = 1;

	*due = INT64_MAX;
	*row_wait = 0;
	if (!final && watermark(job) < t) {
		*due = t;
		return 0;
	}
	*row_wait = 1;
	for (i = 0; i < job->nlookups; i++) {
		int64_t d = INT64_MAX;
		if (!job->applies[i])
			continue;
		if (!choose_version(job, i, t, final, &job->chosen[i], &d)) {
			done = 0;
			if (d < *due)
				*due = d;
		}
	}
	if (done) {
		emit_fact(job, rec, n, t);
		if (job->following)
			follow_fact(job, rec, n, t);
	}
	return done;
}

/* The lookups of the fact at hand (job->applies, nullkey, keys) as one block: flag byte, length, bytes. */
static unsigned char *pack_keys(const struct job *job)
{
	size_t i, size = 0, off = 0;
	unsigned char *b;
	uint32_t len;

	for (i = 0; i < job->nlookups; i++)
		size += 1 + sizeof(len) + (job->applies[i] && !job->nullkey[i] ? job->keys[i].len : 0);
	b = xmalloc(size ? size : 1);
	for (i = 0; i < job->nlookups; i++) {
		b[off++] = (unsigned char)(job->applies[i] | job->nullkey[i] << 1);
		len = job->applies[i] && !job->nullkey[i] ? (uint32_t)job->keys[i].len : 0;
		memcpy(b + off, &len, sizeof(len));
		off += sizeof(len);
		if (len)
			memcpy(b + off, job->keys[i].buf, len);
		off += len;
	}
	return b;
}

static void unpack_keys(struct job *job, const unsigned char *b)
{
	size_t i, off = 0;
	uint32_t len;

	for (i = 0; i < job->nlookups; i++) {
		job->applies[i] = b[off] & 1;
		job->nullkey[i] = b[off++] >> 1 & 1;
		memcpy(&len, b + off, sizeof(len));
		off += sizeof(len);
		ec_buf_reset(&job->keys[i]);
		ec_buf_add(&job->keys[i], b + off, len);
		off += len;
	}
}

/* Keep the fact at hand (its lookups in job->keys) until it can be decided. */
static void add_pending(struct job *job, const struct ec_line *line, int64_t t, int64_t due, int row_wait)
{
	struct pending *p;

	EC_GROW(job->pending, job->npending + 1, job->pending_alloc);
	p = &job->pending[job->npending++];
	p->line = xstrndup(line->p, line->n);
	p->n = line->n;
	p->time = t;
	p->due = due;
	p->row_wait = row_wait;
	p->keys = pack_keys(job);
	p->lineno = line->lineno;
	p->file = line->file;
	if (due < job->min_due)
		job->min_due = due;
	job->row_waiters += row_wait;
}

/*
 * Look again at the waiting facts that may be decided now, in their order of
 * arrival; FINAL: decide them all. Only facts waiting for a row care that a
 * row changed; the others wait for the watermark alone.
 */
static void resolve_pending(struct job *job, int final)
{
	int64_t wm = watermark(job), due;
	int rows_changed = job->dims_changed && job->row_waiters, row_wait;
	size_t i, kept = 0;

	job->dims_changed = 0;
	if (!job->npending || (!final && !rows_changed && wm < job->min_due))
		return;
	job->min_due = INT64_MAX;
	job->row_waiters = 0;
	for (i = 0; i < job->npending; i++) {
		struct pending *p = &job->pending[i];

		if (final || wm >= p->due || (rows_changed && p->row_wait)) {
			unpack_keys(job, p->keys);
			if (try_resolve(job, p->line, p->n, p->time, final, &due, &row_wait)) {
				free(p->line);
				free(p->keys);
				continue;
			}
			p->due = due;
			p->row_wait = row_wait;
		}
		if (p->due < job->min_due)
			job->min_due = p->due;
		job->row_waiters += p->row_wait;
		job->pending[kept++] = *p;
	}
	job->npending = kept;
}

static void advance_time(struct job *job, int64_t t)
{
	if (!job->has_time || t > job->max_time) {
		job->max_time = t;
		job->has_time = 1;
	}
}

static void process_fact(struct job *job, const struct ec_line *line, int64_t t, int has_table)
{
	int64_t due;
	int any, row_wait;

	if (fact_keys(job, line, has_table, &any) < 0)
		return;
	if (!any) {
		ec_buf_add(&job->out, line->p, line->n);
		ec_buf_addch(&job->out, '\n');
		return;
	}
	/* A fact decided at once may overtake waiting ones: the order still depends on the input only. */
	if (!try_resolve(job, line->p, line->n, t, 0, &due, &row_wait))
		add_pending(job, line, t, due, row_wait);
}

/* A dimension table is a fact table too when an --attach names it as FACTS. */
static int is_fact_table(const struct job *job, const char *table)
{
	size_t i;

	for (i = 0; i < job->nlookups; i++)
		if (job->lookups[i].scope && !strcmp(job->lookups[i].scope, table))
			return 1;
	return 0;
}

static void process_record(struct job *job, const struct ec_line *line)
{
	int has_table = record_table(job);
	struct dim *d = has_table ? find_dim(job, job->table.buf) : NULL;
	int64_t t;

	if (record_time(job, line, &t) < 0)
		return;
	if (d) {
		if (apply_dim_change(job, d, line, t) < 0)
			return;
		advance_time(job, t);
		if (is_fact_table(job, d->name)) {
			process_fact(job, line, t, has_table);
		} else if (!job->set->drop_dims) {
			ec_buf_add(&job->out, line->p, line->n);
			ec_buf_addch(&job->out, '\n');
		}
	} else {
		advance_time(job, t);
		process_fact(job, line, t, has_table);
	}
	resolve_pending(job, 0);
	if (job->following)
		process_changes(job, 0);
}

/* ---- preloaded rows ---- */

/* TABLE=FILE: every line a flat row, valid from the earliest time there is. */
static void preload(struct job *job, const char *spec)
{
	const char *eq = strchr(spec, '=');
	char *name = eq ? xstrndup(spec, (size_t)(eq - spec)) : NULL;
	struct dim *d = name ? find_dim(job, name) : NULL;
	char *files[1];
	struct ec_reader r;
	struct ec_line line;
	struct ec_jval *key;

	if (!d)
		ec_usage_error("--preload '%s': expected TABLE=FILE with a --dim TABLE", spec);
	files[0] = (char *)eq + 1;
	ec_reader_init(&r, files, 1, job->set->max_line, &job->pol);
	while (ec_reader_next(&r, &line)) {
		if (ec_record_scan(job->row_ps, &line, job->row_slots, &job->pol) != 1)
			continue;
		key = &job->row_slots[d->key_flat];
		if (key->type == EC_J_MISSING) {
			ec_reject(&job->pol, &line, "%s row: missing key %s", d->name, d->key_path);
			continue;
		}
		if (canonical_key(key, &job->tmp) < 0) {
			ec_reject(&job->pol, &line, "%s row: key %s: expected a string or number, got %s",
				  d->name, d->key_path, ec_jtype_name(key->type));
			continue;
		}
		dim_add_version(job, d, &job->tmp, EC_TIME_MIN, collect_vals(d, job->row_slots, d->field_flat));
	}
	ec_reader_release(&r);
	free(name);
}

static void preload_all(struct job *job)
{
	size_t i;

	for (i = 0; i < job->set->npreloads; i++)
		preload(job, job->set->preloads[i]);
	job->dims_changed = 0;
}

/* ---- checkpoints: the stage callbacks (lib/stage.h) ---- */

static void pending_clear(struct job *job)
{
	while (job->npending) {
		job->npending--;
		free(job->pending[job->npending].line);
		free(job->pending[job->npending].keys);
	}
	job->min_due = INT64_MAX;
	job->row_waiters = 0;
}

static void followers_clear(struct dim *d)
{
	struct ec_hmap_iter it;
	struct ec_hmap_entry e;
	uint32_t i;

	ec_hmap_iter_init(&it, &d->followers);
	while (ec_hmap_iter_next(&it, &e)) {
		struct followers *fl = e.value;
		for (i = 0; i < fl->n; i++)
			free(fl->f[i].line);
		free(fl->f);
	}
	ec_hmap_clear(&d->followers);
	d->follow_bytes = 0;
}

static void changes_clear(struct job *job)
{
	while (job->nchanges)
		free(job->changes[--job->nchanges].key);
	job->min_change = INT64_MAX;
	job->change_seq = 0;
}

/* Forget every row, waiting fact and followed fact. */
static void state_clear(struct job *job)
{
	size_t i;

	for (i = 0; i < job->ndims; i++) {
		dim_clear(&job->dims[i]);
		followers_clear(&job->dims[i]);
	}
	ec_journal_clear(&job->journal);
	pending_clear(job);
	changes_clear(job);
}

static void state_reset(void *ctx)
{
	struct job *job = ctx;

	state_clear(job);
	job->has_time = 0;
	job->max_time = 0;
	preload_all(job);
}

/*
 * Snapshot lines: {"max_time":T} first, then one per row
 * {"dim":I,"key":K,"versions":[[TIME,["json text",...] or null],...]},
 * one per waiting fact {"fact":LINE,"time":T,"line":N}, one per followed
 * fact {"follow":I,"key":K,"upto":T,"fact":FACT} (FACT the fact's own JSON
 * text, last, so it is copied as it is both ways) and one per row change
 * not yet handled {"change":I,"key":K,"time":T}, in their order.
 *
 * A delta (lib/stage.h) has the same lines for what changed since the
 * snapshot before: a row line replaces the row, {"drop":I,"key":K} removes
 * it, {"unfollow":I,"key":K} forgets the facts following a row before the
 * lines of those it keeps, {"uptos":I,"key":K,"upto":[T,...]} sets the
 * times of the same facts (in their order) when only those changed; waiting
 * facts and row changes are few and always written whole, replacing those
 * loaded before.
 */
/* The start of a line: OPEN (`{"dim":`), the dimension's index DI and its row KEY. */
static void save_key(struct ec_buf *out, const char *open, size_t di, const char *key, size_t klen)
{
	ec_buf_addstr(out, open);
	ec_jsonw_u64(out, di);
	ec_buf_addstr(out, ",\"key\":");
	ec_jsonw_str(out, key, klen);
}

static void save_row(struct ec_buf *out, size_t di, const struct dim *d, const struct ec_hmap_entry *e)
{
	const struct row *r = e->value;
	uint32_t k;
	size_t f;

	save_key(out, "{\"dim\":", di, e->key, e->klen);
	ec_buf_addstr(out, ",\"versions\":[");
	for (k = 0; k < r->n; k++) {
		ec_buf_addstr(out, k ? ",[" : "[");
		ec_jsonw_i64(out, r->v[k].time);
		ec_buf_addch(out, ',');
		if (!r->v[k].vals) {
			ec_buf_addstr(out, "null]");
			continue;
		}
		ec_buf_addch(out, '[');
		for (f = 0; f < d->nfields; f++) {
			if (f)
				ec_buf_addch(out, ',');
			ec_jsonw_cstr(out, r->v[k].vals[f]);
		}
		ec_buf_addstr(out, "]]");
	}
	ec_buf_addstr(out, "]}\n");
}

/* Every row of dimension DI, a line each. */
static void save_rows(struct job *job, size_t di, struct ec_buf *out)
{
	struct ec_hmap_iter it;
	struct ec_hmap_entry e;

	ec_hmap_iter_init(&it, &job->dims[di].rows);
	while (ec_hmap_iter_next(&it, &e)) {
		save_row(out, di, &job->dims[di], &e);
		ec_stage_spill(out);
	}
}

/* The facts following row KEY of dimension DI, one line each. */
static void save_follower(struct ec_buf *out, size_t di, const char *key, size_t klen, const struct follower *f)
{
	save_key(out, "{\"follow\":", di, key, klen);
	ec_buf_addstr(out, ",\"upto\":");
	ec_jsonw_i64(out, f->upto);
	ec_buf_addstr(out, ",\"fact\":");
	ec_buf_add(out, f->line, f->n);
	ec_buf_addstr(out, "}\n");
}

static void save_followers(struct ec_buf *out, size_t di, const char *key, size_t klen,
			   const struct followers *fl)
{
	uint32_t k;

	for (k = 0; k < fl->n; k++) {
		save_follower(out, di, key, klen, &fl->f[k]);
		ec_stage_spill(out);
	}
}

/* The watermark, the waiting facts and the row changes not yet handled: in every snapshot. */
static void save_transient(struct job *job, struct ec_buf *out)
{
	size_t i;

	for (i = 0; i < job->npending; i++) {
		ec_buf_addstr(out, "{\"fact\":");
		ec_jsonw_str(out, job->pending[i].line, job->pending[i].n);
		ec_buf_addf(out, ",\"time\":%" PRId64 ",\"line\":%" PRIu64 "}\n",
			    job->pending[i].time, job->pending[i].lineno);
		ec_stage_spill(out);
	}
	/* Sorted as they will be handled, so that a snapshot's text depends on the state only. */
	if (job->nchanges)
		qsort(job->changes, job->nchanges, sizeof(*job->changes), change_cmp);
	for (i = 0; i < job->nchanges; i++) {
		ec_buf_addf(out, "{\"change\":%zu,\"key\":", job->changes[i].dim);
		ec_jsonw_str(out, job->changes[i].key, job->changes[i].klen);
		ec_buf_addf(out, ",\"time\":%" PRId64 "}\n", job->changes[i].time);
		ec_stage_spill(out);
	}
}

static void save_max_time(struct job *job, struct ec_buf *out)
{
	if (job->has_time)
		ec_buf_addf(out, "{\"max_time\":%" PRId64 "}\n", job->max_time);
	else
		ec_buf_addstr(out, "{\"max_time\":null}\n");
}

static void state_save(void *ctx, struct ec_buf *out)
{
	struct job *job = ctx;
	struct ec_hmap_iter it;
	struct ec_hmap_entry e;
	size_t i;

	save_max_time(job, out);
	for (i = 0; i < job->ndims; i++)
		save_rows(job, i, out);
	for (i = 0; i < job->ndims; i++) {
		if (!job->dims[i].follow)
			continue;
		ec_hmap_iter_init(&it, &job->dims[i].followers);
		while (ec_hmap_iter_next(&it, &e))
			save_followers(out, i, e.key, e.klen, e.value);
	}
	save_transient(job, out);
	ec_journal_clear(&job->journal);
}

/* A delta: the journal, then the waiting facts and row changes (replaced as a whole). */
static void state_save_changes(void *ctx, struct ec_buf *out)
{
	struct job *job = ctx;

	save_max_time(job, out);
	ec_journal_save(&job->journal, out);
	save_transient(job, out);
	ec_journal_clear(&job->journal);
}

/* Forget row KEY of D, its versions or the facts following it (FOLLOWERS). */
static void forget_key(struct dim *d, const char *key, int followers)
{
	size_t klen = strlen(key);
	uint32_t i;

	if (followers) {
		struct followers *fl = ec_hmap_get(&d->followers, key, klen);
		if (!fl)
			return;
		for (i = 0; i < fl->n; i++)
			follower_free(d, &fl->f[i]);
		free(fl->f);
		ec_hmap_del(&d->followers, key, klen);
	} else {
		struct row *r = ec_hmap_get(&d->rows, key, klen);
		if (!r)
			return;
		for (i = 0; i < r->n; i++)
			version_release(&r->v[i], d->nfields);
		free(r->v);
		ec_hmap_del(&d->rows, key, klen);
	}
}

/* {"uptos":I,"key":K,"upto":[T,...]} of a delta: new times for the facts following a row. */
static int load_uptos(struct job *job, yajl_val root, char *errstr, size_t errstr_size)
{
	const char *pi[] = { "uptos", NULL }, *pk[] = { "key", NULL }, *pu[] = { "upto", NULL };
	yajl_val di = yajl_tree_get(root, pi, yajl_t_number), key = yajl_tree_get(root, pk, yajl_t_string);
	yajl_val up = yajl_tree_get(root, pu, yajl_t_array);
	struct followers *fl = NULL;
	uint32_t k;
	const char *ks = key ? YAJL_GET_STRING(key) : NULL;

	if (di && YAJL_IS_INTEGER(di) && YAJL_GET_INTEGER(di) >= 0 &&
	    (size_t)YAJL_GET_INTEGER(di) < job->ndims && ks && up)
		fl = ec_hmap_get(&job->dims[YAJL_GET_INTEGER(di)].followers, ks, strlen(ks));
	if (!fl || fl->n != up->u.array.len) {
		snprintf(errstr, errstr_size, "an upto line that does not fit the followed facts");
		return -1;
	}
	for (k = 0; k < fl->n; k++) {
		if (!YAJL_IS_INTEGER(up->u.array.values[k])) {
			snprintf(errstr, errstr_size, "an upto line of the wrong shape");
			return -1;
		}
		fl->f[k].upto = YAJL_GET_INTEGER(up->u.array.values[k]);
	}
	return 0;
}

/* {"drop":I,"key":K} or {"unfollow":I,"key":K} of a delta. */
static int load_forget(struct job *job, yajl_val root, int followers, char *errstr, size_t errstr_size)
{
	const char *pi[] = { followers ? "unfollow" : "drop", NULL }, *pk[] = { "key", NULL };
	yajl_val di = yajl_tree_get(root, pi, yajl_t_number), key = yajl_tree_get(root, pk, yajl_t_string);

	if (!di || !YAJL_IS_INTEGER(di) || YAJL_GET_INTEGER(di) < 0 ||
	    (size_t)YAJL_GET_INTEGER(di) >= job->ndims || !key) {
		snprintf(errstr, errstr_size, "a deletion line of the wrong shape");
		return -1;
	}
	forget_key(&job->dims[YAJL_GET_INTEGER(di)], YAJL_GET_STRING(key), followers);
	return 0;
}

/* A version's field values from a snapshot (VALS: an array, or null for a delete) into *TEXTS: 0, or -1. */
static int load_vals(const struct dim *d, yajl_val vals, char ***texts)
{
	size_t f;

	*texts = NULL;
	if (YAJL_IS_NULL(vals))
		return 0;
	if (!YAJL_IS_ARRAY(vals) || vals->u.array.len != d->nfields)
		return -1;
	*texts = xcalloc(d->nfields + 1, sizeof(char *));
	for (f = 0; f < d->nfields; f++)
		(*texts)[f] = xstrdup(YAJL_IS_STRING(vals->u.array.values[f]) ?
				      YAJL_GET_STRING(vals->u.array.values[f]) : "null");
	return 0;
}

/* {"version":I,"key":K,"time":T,"vals":[V,...]|null} of a delta: a row version added again. */
static int load_version(struct job *job, yajl_val root, char *errstr, size_t errstr_size)
{
	const char *pi[] = { "version", NULL }, *pk[] = { "key", NULL }, *pt[] = { "time", NULL },
		   *pv[] = { "vals", NULL };
	yajl_val di = yajl_tree_get(root, pi, yajl_t_number), key = yajl_tree_get(root, pk, yajl_t_string);
	yajl_val t = yajl_tree_get(root, pt, yajl_t_number), vals = yajl_tree_get(root, pv, yajl_t_any);
	struct ec_buf kb = EC_BUF_INIT;
	char **texts;
	struct dim *d;

	if (!di || !YAJL_IS_INTEGER(di) || YAJL_GET_INTEGER(di) < 0 ||
	    (size_t)YAJL_GET_INTEGER(di) >= job->ndims || !key || !t || !YAJL_IS_INTEGER(t) || !vals ||
	    load_vals(&job->dims[YAJL_GET_INTEGER(di)], vals, &texts) < 0) {
		snprintf(errstr, errstr_size, "a row version line of the wrong shape");
		return -1;
	}
	d = &job->dims[YAJL_GET_INTEGER(di)];
	ec_buf_addstr(&kb, YAJL_GET_STRING(key));
	dim_add_version(job, d, &kb, YAJL_GET_INTEGER(t), texts);
	ec_buf_release(&kb);
	return 0;
}

static int load_versions(struct job *job, yajl_val root, char *errstr, size_t errstr_size)
{
	const char *pd[] = { "dim", NULL }, *pk[] = { "key", NULL }, *pv[] = { "versions", NULL };
	yajl_val di = yajl_tree_get(root, pd, yajl_t_number), key = yajl_tree_get(root, pk, yajl_t_string);
	yajl_val vs = yajl_tree_get(root, pv, yajl_t_array);
	struct ec_buf kb = EC_BUF_INIT;
	struct dim *d;
	size_t k;

	if (!di || !YAJL_IS_INTEGER(di) || YAJL_GET_INTEGER(di) < 0 ||
	    (size_t)YAJL_GET_INTEGER(di) >= job->ndims || !key || !vs)
		goto bad;
	d = &job->dims[YAJL_GET_INTEGER(di)];
	/* In a delta the line replaces the row. */
	forget_key(d, YAJL_GET_STRING(key), 0);
	ec_buf_addstr(&kb, YAJL_GET_STRING(key));
	for (k = 0; k < vs->u.array.len; k++) {
		yajl_val v = vs->u.array.values[k], t;
		char **texts;
		if (!YAJL_IS_ARRAY(v) || v->u.array.len != 2)
			goto bad;
		t = v->u.array.values[0];
		if (!YAJL_IS_INTEGER(t) || load_vals(d, v->u.array.values[1], &texts) < 0)
			goto bad;
		dim_add_version(job, d, &kb, YAJL_GET_INTEGER(t), texts);
	}
	ec_buf_release(&kb);
	return 0;
bad:
	ec_buf_release(&kb);
	snprintf(errstr, errstr_size, "a row line of the wrong shape");
	return -1;
}

/*
 * The text of FACT in a followed-fact line ONE (N bytes): everything after
 * its first ,"fact": but the closing brace. No string before it can hold
 * that sequence, since a quote inside a JSON string is escaped.
 */
static const char *follow_fact_text(const char *one, size_t n, size_t *len)
{
	static const char tag[] = ",\"fact\":";
	const char *p = n ? memmem(one, n, tag, sizeof(tag) - 1) : NULL;

	if (!p || one[n - 1] != '}')
		return NULL;
	p += sizeof(tag) - 1;
	*len = (size_t)(one + n - 1 - p);
	return p;
}

/* {"follow":I,...} (the line ONE, N bytes) or {"change":I,...}: a followed fact or a pending row change. */
static int load_follow(struct job *job, yajl_val root, const char *one, size_t n, int change, char *errstr,
		       size_t errstr_size)
{
	const char *pi[] = { change ? "change" : "follow", NULL }, *pk[] = { "key", NULL },
		   *pf[] = { "fact", NULL }, *pt[] = { change ? "time" : "upto", NULL };
	yajl_val di = yajl_tree_get(root, pi, yajl_t_number), key = yajl_tree_get(root, pk, yajl_t_string);
	yajl_val fact = yajl_tree_get(root, pf, yajl_t_object), t = yajl_tree_get(root, pt, yajl_t_number);
	const char *text = NULL;
	size_t len = 0;
	struct ec_buf kb = EC_BUF_INIT;
	struct dim *d;

	if (!change && fact)
		text = follow_fact_text(one, n, &len);
	if (!di || !YAJL_IS_INTEGER(di) || YAJL_GET_INTEGER(di) < 0 ||
	    (size_t)YAJL_GET_INTEGER(di) >= job->ndims || !key || !t || !YAJL_IS_INTEGER(t) ||
	    (!change && !text) || !job->dims[YAJL_GET_INTEGER(di)].follow) {
		snprintf(errstr, errstr_size, "a followed-row line of the wrong shape");
		return -1;
	}
	d = &job->dims[YAJL_GET_INTEGER(di)];
	ec_buf_addstr(&kb, YAJL_GET_STRING(key));
	if (change)
		queue_change(job, (size_t)(d - job->dims), &kb, YAJL_GET_INTEGER(t));
	else
		add_follower(job, d, &kb, text, len, YAJL_GET_INTEGER(t));
	ec_buf_release(&kb);
	return 0;
}

static int load_line(struct job *job, yajl_val root, const char *one, size_t n, char *errstr,
		     size_t errstr_size)
{
	const char *pm[] = { "max_time", NULL }, *pf[] = { "fact", NULL }, *pt[] = { "time", NULL },
		   *pl[] = { "line", NULL }, *pd[] = { "dim", NULL }, *pfo[] = { "follow", NULL },
		   *pch[] = { "change", NULL }, *pdr[] = { "drop", NULL }, *puf[] = { "unfollow", NULL },
		   *pup[] = { "uptos", NULL }, *pv[] = { "version", NULL };
	yajl_val v, fact, t, ln;
	struct ec_line line = { NULL, 0, "snapshot", 0 };
	struct ec_jerr jerr;
	int any;

	if ((v = yajl_tree_get(root, pm, yajl_t_any))) {
		job->has_time = YAJL_IS_INTEGER(v);
		job->max_time = job->has_time ? YAJL_GET_INTEGER(v) : 0;
		return 0;
	}
	if (yajl_tree_get(root, pv, yajl_t_any))
		return load_version(job, root, errstr, errstr_size);
	if (yajl_tree_get(root, pd, yajl_t_any))
		return load_versions(job, root, errstr, errstr_size);
	if (yajl_tree_get(root, pdr, yajl_t_any))
		return load_forget(job, root, 0, errstr, errstr_size);
	if (yajl_tree_get(root, puf, yajl_t_any))
		return load_forget(job, root, 1, errstr, errstr_size);
	if (yajl_tree_get(root, pup, yajl_t_any))
		return load_uptos(job, root, errstr, errstr_size);
	if (yajl_tree_get(root, pfo, yajl_t_any))
		return load_follow(job, root, one, n, 0, errstr, errstr_size);
	if (yajl_tree_get(root, pch, yajl_t_any))
		return load_follow(job, root, one, n, 1, errstr, errstr_size);
	fact = yajl_tree_get(root, pf, yajl_t_string);
	t = yajl_tree_get(root, pt, yajl_t_number);
	ln = yajl_tree_get(root, pl, yajl_t_number);
	if (!fact || !t || !YAJL_IS_INTEGER(t) || !ln || !YAJL_IS_INTEGER(ln)) {
		snprintf(errstr, errstr_size, "a line of the wrong shape");
		return -1;
	}
	line.p = YAJL_GET_STRING(fact);
	line.n = strlen(line.p);
	line.lineno = (uint64_t)YAJL_GET_INTEGER(ln);
	if (ec_json_scan(job->ps, line.p, line.n, job->slots, &jerr) < 0 ||
	    fact_keys(job, NULL, record_table(job), &any) < 0) {
		snprintf(errstr, errstr_size, "a waiting fact that does not scan");
		return -1;
	}
	/* Looked at again with the next record. */
	add_pending(job, &line, YAJL_GET_INTEGER(t), INT64_MIN, 1);
	return 0;
}

/* Apply the snapshot lines in TEXT on top of the state. */
static int load_lines(struct job *job, const char *text, size_t n, char *errstr, size_t errstr_size)
{
	const char *p = text, *end = text + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *one = xstrndup(p, len);
		yajl_val root = yajl_tree_parse(one, NULL, 0);
		int r = root ? load_line(job, root, one, len, errstr, errstr_size) : -1;

		if (!root)
			snprintf(errstr, errstr_size, "a line that is not JSON");
		yajl_tree_free(root);
		free(one);
		if (r < 0)
			return -1;
		p = nl ? nl + 1 : end;
	}
	/* What was loaded is in the snapshot already. */
	ec_journal_clear(&job->journal);
	/* Waiting facts are looked at again with the next record. */
	job->dims_changed = 1;
	/* Row changes are handled after each record: up to the watermark of the snapshot. */
	job->changes_upto = watermark(job);
	job->next_sweep = INT64_MIN;
	return 0;
}

static int state_load(void *ctx, const char *text, size_t n, char *errstr, size_t errstr_size)
{
	struct job *job = ctx;

	state_clear(job);
	job->has_time = 0;
	return load_lines(job, text, n, errstr, errstr_size);
}

/* A delta: rows and followed facts upserted, waiting facts and row changes replaced. */
static int state_load_changes(void *ctx, const char *text, size_t n, char *errstr, size_t errstr_size)
{
	struct job *job = ctx;

	pending_clear(job);
	changes_clear(job);
	return load_lines(job, text, n, errstr, errstr_size);
}

/*
 * About the bytes state_save would write now, without looking at every row
 * (a walk over a large state costs more than the estimate is worth): rows
 * counted with two versions each, followers from their running total.
 */
static uint64_t state_full_size(void *ctx)
{
	struct job *job = ctx;
	uint64_t bytes = 0;
	size_t i;

	for (i = 0; i < job->ndims; i++) {
		const struct dim *d = &job->dims[i];
		bytes += d->rows.count * (48 + 2 * (24 + 16 * d->nfields)) + d->rows.long_key_bytes;
		bytes += d->follow_bytes;
	}
	for (i = 0; i < job->npending; i++)
		bytes += 48 + job->pending[i].n;
	return bytes;
}

/* About the bytes of the next delta: the journal and the waiting facts. */
static uint64_t state_changes_size(void *ctx)
{
	struct job *job = ctx;
	uint64_t bytes = ec_journal_size(&job->journal);
	size_t i;

	if (bytes == UINT64_MAX)
		return bytes;
	for (i = 0; i < job->npending; i++)
		bytes += 48 + job->pending[i].n;
	return bytes;
}

static const struct ec_stage_ops stage_ops = {
	state_reset, state_save, state_load, state_save_changes, state_load_changes, state_full_size,
	state_changes_size
};

/* The settings a snapshot depends on: a snapshot made with others is refused. */
static char *make_fingerprint(const struct settings *set)
{
	struct ec_buf b = EC_BUF_INIT;
	size_t i;

	ec_buf_addf(&b, "time=%s;unit=%d;table=%s;wait=%" PRId64 ";max-delay=%" PRId64,
		    set->time_path, (int)set->time_unit, set->table_path, set->wait, set->max_delay);
	for (i = 0; i < set->ndim_specs; i++)
		ec_buf_addf(&b, ";dim=%s", set->dim_specs[i]);
	for (i = 0; i < set->nattach_specs; i++)
		ec_buf_addf(&b, ";attach=%s", set->attach_specs[i]);
	for (i = 0; i < set->nfollows; i++)
		ec_buf_addf(&b, ";follow=%s", set->follows[i]);
	if (set->retain)
		ec_buf_addf(&b, ";retain=%" PRId64, set->retain);
	return ec_buf_detach(&b, NULL);
}

static void setup(struct job *job)
{
	struct settings *set = job->set;
	size_t i;

	if (!set->ndim_specs)
		ec_usage_error("at least one --dim is required, e.g. --dim 'customers: key .id'");
	job->dims = xcalloc(set->ndim_specs, sizeof(*job->dims));
	for (i = 0; i < set->ndim_specs; i++)
		parse_dim(job, set->dim_specs[i]);
	job->lookups = xcalloc(set->nattach_specs, sizeof(*job->lookups));
	job->attaches = xcalloc(set->nattach_specs, sizeof(*job->attaches));
	for (i = 0; i < set->nattach_specs; i++)
		parse_attach(job, set->attach_specs[i]);
	setup_paths(job);
	job->keys = xcalloc(job->nlookups, sizeof(*job->keys));
	job->applies = xcalloc(job->nlookups, sizeof(int));
	job->nullkey = xcalloc(job->nlookups, sizeof(int));
	job->chosen = xcalloc(job->nlookups, sizeof(*job->chosen));
	job->min_due = INT64_MAX;
	job->min_change = INT64_MAX;
	job->changes_upto = job->next_sweep = INT64_MIN;
	for (i = 0; i < set->nfollows; i++) {
		struct dim *d = find_dim(job, set->follows[i]);
		if (!d)
			ec_usage_error("--follow %s: no --dim table named %s", set->follows[i], set->follows[i]);
		d->follow = 1;
		job->following = 1;
	}
	preload_all(job);
	job->fingerprint = make_fingerprint(set);
	ec_stage_init(&job->stage, set->state_dir, job->fingerprint, &stage_ops, job);
}

static void flush_out(struct job *job)
{
	ec_out_buf(&job->out);
	ec_buf_reset(&job->out);
}

/* At the end of the input: every waiting fact and followed change is written now. */
static void decide_all(struct job *job)
{
	resolve_pending(job, 1);
	if (job->following)
		process_changes(job, 1);
}

static void finish(struct job *job, int stopped)
{
	/*
	 * Stopped by a signal in a checkpointed pipeline: the waiting facts are in
	 * the last snapshot and a restart decides them; deciding them now would
	 * write them twice.
	 */
	if (!(stopped && job->stage.checkpointing))
		decide_all(job);
	flush_out(job);
	if (job->unmatched)
		ec_info("facts without a matching row: %" PRIu64 "%s", job->unmatched,
			job->set->inner ? " (dropped: --inner)" : "");
	if (job->reject && fclose(job->reject))
		ec_die(EX_IOERR, "closing --reject file %s: %s", job->set->reject_path, strerror(errno));
	ec_errpolicy_finish(&job->pol);
}

static void free_strings(char **v, size_t n)
{
	while (n)
		free(v[--n]);
	free(v);
}

static void job_release(struct job *job)
{
	struct settings *set = job->set;
	size_t i;

	state_clear(job);
	free(job->pending);
	free(job->changes);
	for (i = 0; i < job->ndims; i++) {
		struct dim *d = &job->dims[i];
		ec_hmap_release(&d->rows);
		ec_hmap_release(&d->followers);
		free_strings(d->fields, d->nfields);
		free(d->field_after);
		free(d->field_flat);
		free(d->name);
		free(d->key_path);
	}
	free(job->dims);
	for (i = 0; i < job->nlookups; i++) {
		free(job->lookups[i].scope);
		free(job->lookups[i].key_text);
		ec_buf_release(&job->keys[i]);
	}
	for (i = 0; i < job->nattaches; i++)
		free(job->attaches[i].name);
	free(job->lookups);
	free(job->attaches);
	free(job->keys);
	free(job->applies);
	free(job->nullkey);
	free(job->chosen);
	ec_pathset_free(job->ps);
	ec_pathset_free(job->row_ps);
	free(job->slots);
	free(job->row_slots);
	free(job->fingerprint);
	ec_buf_release(&job->out);
	ec_journal_release(&job->journal);
	ec_buf_release(&job->tmp);
	ec_buf_release(&job->fields);
	ec_buf_release(&job->line);
	ec_buf_release(&job->table);
	free(set->dim_specs);
	free(set->attach_specs);
	free(set->preloads);
	free(set->follows);
}

int cmd_main(int argc, char **argv)
{
	struct settings set = { .time_unit = EC_UNIT_MS, .table_path = ".source.table", .into = "_join" };
	struct job job = { .set = &set, .pol = EC_ERRPOLICY_INIT, .out = EC_BUF_INIT };
	struct ec_reader reader;
	struct ec_line line;
	int kind;

	parse_options(&set, &job.pol, argc, argv);
	setup(&job);
	ec_reader_init(&reader, argv + optind, argc - optind, set.max_line, &job.pol);
	while (ec_reader_next(&reader, &line)) {
		kind = ec_record_scan(job.ps, &line, job.slots, &job.pol);
		if (kind == 1)
			process_record(&job, &line);
		else if (kind == 2) {
			/* The input is complete: waiting facts are decided before the last barrier. */
			if (ec_stage_is_end(&line))
				decide_all(&job);
			ec_stage_control(&job.stage, &line, &job.out);
		}
		if (job.out.len)
			flush_out(&job);
	}
	finish(&job, !ec_run);
	ec_reader_release(&reader);
	if (EC_FREE_AT_EXIT)
		job_release(&job);
	return 0;
}
