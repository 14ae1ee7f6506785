/* ec-state: keyed lifecycle state for change events: validated transitions, GMV deltas, timers, snapshots. */
#include "ec.h"
#include "ckpt.h"
#include "decimal.h"
#include "hmap.h"
#include "jsonw.h"
#include "lifecycle.h"
#include "log.h"
#include "opt.h"
#include "record.h"
#include "stage.h"
#include "timefmt.h"
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <yajl/yajl_tree.h>

static const char synopsis[] =
	"ec-state [--table NAME] [--measure NAME=PATH --counted LIST] [--timeout STATE>DURATION] [OPTIONS] [FILE...]";
static const char description[] =
	"Follow the state of each entity (an order) through its change events, check every change\n"
	"against a declared lifecycle and splice a \"_state\" object into the record:\n"
	"{\"from\",\"to\",\"valid\",\"at\",\"in_previous_ms\"[,\"reason\"][,NAME_delta...]}.\n"
	"Debezium envelopes by default (.op, .after.id, .after.status, .before for deletes);\n"
	"flat records with --key and --state (a null state is a delete). Money deltas are exact decimals.\n"
	"--timeout writes {\"alert\":\"timeout\",...} records when an entity stays in a state too long and\n"
	"--ttl forgets finished entities, both by event time (watermark = largest time - --max-delay).";

enum {
	OPT_STATE = EC_OPT_TOOL_BASE,
	OPT_TIME_UNIT,
	OPT_VERSION,
	OPT_TABLE,
	OPT_MACHINE,
	OPT_EMIT,
	OPT_REJECT,
	OPT_MEASURE,
	OPT_COUNTED,
	OPT_DUMP,
	OPT_STATE_DIR,
	OPT_TIMEOUT,
	OPT_TTL,
	OPT_MAX_DELAY,
};

static const struct ec_opt options[] = {
	{ "key", required_argument, 'k', "PATH[,PATH...]", "entity key of flat records, several for a composite key (with --state; default .after.id)" },
	{ "state", required_argument, OPT_STATE, "PATH", "state field of flat records, null for gone (default: Debezium .after.status)" },
	{ "time", required_argument, 't', "PATH", "event time of a change (default .source.ts_ms for Debezium)" },
	{ "time-unit", required_argument, OPT_TIME_UNIT, "s|ms|us|ns", "unit of numeric times (default ms)" },
	{ "version-field", required_argument, OPT_VERSION, "PATH", "ordering of changes (.source.lsn): older ones never move state back" },
	{ "table", required_argument, OPT_TABLE, "NAME", "track only records whose .source.table is NAME; pass others through" },
	{ "machine", required_argument, OPT_MACHINE, "FILE", "the lifecycle: 'FROM -> TO' lines, '*', 'terminal: A, B'" },
	{ "emit", required_argument, OPT_EMIT, "all|transitions|invalid", "which tracked changes to write (default all)" },
	{ "reject", required_argument, OPT_REJECT, "FILE", "quarantine invalid and out-of-order changes in FILE, with the reason" },
	{ "measure", required_argument, OPT_MEASURE, "NAME=PATH[*PATH...]", "amount (or exact product) whose signed change is written as _state.NAME_delta" },
	{ "counted", required_argument, OPT_COUNTED, "LIST", "states in which measures count (default PAID,SHIPPED,COMPLETED)" },
	{ "dump", required_argument, OPT_DUMP, "FILE", "write every tracked entity to FILE at the end, at checkpoints and on SIGUSR1" },
	{ "timeout", required_argument, OPT_TIMEOUT, "STATE>DURATION", "alert when an entity stays in STATE longer than DURATION of event time (repeatable)" },
	{ "ttl", required_argument, OPT_TTL, "DURATION", "forget entities DURATION of event time after they entered a terminal state" },
	{ "max-delay", required_argument, OPT_MAX_DELAY, "DURATION", "how far the watermark trails the largest event time (default 0s)" },
	{ "state-dir", required_argument, OPT_STATE_DIR, "DIR", "keep checkpoint snapshots in DIR (restore/barrier records)" },
	EC_OPTS_INPUT,
	EC_OPTS_COMMON,
	{ NULL, 0, 0, NULL, NULL },
};

#define MAX_MEASURES 6
#define MAX_FACTORS 4		/* PATH*PATH*... in one measure */
#define MAX_KEY_PARTS 8		/* PATH,PATH,... in one key */
#define MAX_TIMEOUTS 16

enum emit_mode { EMIT_ALL, EMIT_TRANSITIONS, EMIT_INVALID };

struct settings {
	const char *key_path, *state_path, *time_path, *version_path;
	enum ec_time_unit time_unit;
	const char *table;
	const char *machine_path;
	enum emit_mode emit;
	const char *reject_path;
	const char *measure_specs[MAX_MEASURES];
	size_t nmeasures;
	const char *counted;
	const char *dump_path;
	const char *state_dir;
	const char *timeout_specs[MAX_TIMEOUTS];
	size_t ntimeouts;
	int64_t ttl;		/* -1: none */
	int64_t max_delay;
	size_t max_line;
};

/*
 * What is kept per entity: the hash map's value. With one measure it is 32
 * bytes, 48 with the slot's key: 5 million orders fit in well under 150
 * bytes each even while the table doubles.
 */
struct entity {
	int64_t since;		/* event time the current state was entered, NO_TIME if unknown */
	int64_t version;	/* the newest version applied (flag F_VERSION) */
	uint8_t state;		/* index into the lifecycle's names */
	uint8_t flags;
	uint8_t scale[MAX_MEASURES];
	int64_t amount[];	/* per measure: coefficient at scale[i] */
};
#define F_VERSION 1		/* version is set */
#define F_KEY_STRING 2		/* the key was a JSON string (for dumps and snapshots) */
#define F_KEY_JSON 4		/* a composite key, kept as its JSON array text */
#define NO_TIME INT64_MIN

/* NAME=PATH or NAME=PATH*PATH...: one amount, or the exact product of several. */
struct measure {
	char *name;
	char *field;		/* ,"NAME": ready to append */
	char *delta_field;	/* ,"NAME_delta": ready to append */
	size_t nfactors;
	int slots[MAX_FACTORS];
	char *paths[MAX_FACTORS];
};

/* The kinds of timer an entity can have, in the order ties fire. */
enum { TIMER_TIMEOUT, TIMER_TTL };

/* One change, as read from a record. */
struct change {
	int is_delete;
	const char *key;
	size_t klen;
	int key_flags;		/* F_KEY_STRING, F_KEY_JSON */
	int to;			/* state index, -1 for a delete */
	int64_t at;		/* NO_TIME if the record has none */
	int has_version;
	int64_t version;
	struct ec_dec amount[MAX_MEASURES];
};

struct job {
	struct settings *set;
	struct ec_errpolicy pol;
	struct ec_pathset *ps;
	struct ec_jval *slots;
	int op_slot, before_slot, after_slot, table_slot;
	int key_slot, del_key_slot, state_slot, time_slot, version_slot;
	int key_slots[MAX_KEY_PARTS];	/* flat records: every part of the key */
	char *key_paths[MAX_KEY_PARTS];
	int del_key_slots[MAX_KEY_PARTS];	/* the same under .before, for an envelope's delete */
	char *del_key_paths[MAX_KEY_PARTS];
	size_t nkey_parts;
	struct measure measures[MAX_MEASURES];
	size_t nmeasures;
	struct ec_lifecycle lc;
	uint64_t counted;	/* bit per declared state */
	struct ec_hmap map;
	struct ec_journal journal;	/* with --state-dir: the entity lines changed since the last snapshot */
	struct ec_buf out, fields, key, reject_buf;
	FILE *reject;
	uint64_t duplicates, stale, quarantined;
	struct ec_stage stage;
	char *fingerprint;
	/* event time: the watermark is max_time - max_delay */
	int64_t max_time;	/* NO_TIME until a change with a time is seen */
	int64_t timeout[EC_LC_MAX_DECLARED];	/* per state, -1: none */
	int has_timers;
	struct ec_lc_timers timers;
	size_t timers_stale;	/* entries known to be cancelled (for compaction) */
	struct ec_lc_timer *batch;	/* due entries, sorted before they fire */
	size_t nbatch, batch_alloc;
	uint64_t alerts, evicted;
};

static volatile sig_atomic_t dump_requested;

static void on_sigusr1(int sig)
{
	(void)sig;
	dump_requested = 1;
}

/* ---- options ---- */

static enum emit_mode parse_emit(const char *arg)
{
	if (!strcmp(arg, "all"))
		return EMIT_ALL;
	if (!strcmp(arg, "transitions"))
		return EMIT_TRANSITIONS;
	if (!strcmp(arg, "invalid"))
		return EMIT_INVALID;
	ec_usage_error("--emit must be all, transitions or invalid, not '%s'", arg);
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
		case 'k': set->key_path = optarg; break;
		case OPT_STATE: set->state_path = optarg; break;
		case 't': set->time_path = optarg; break;
		case OPT_TIME_UNIT:
			if (ec_time_unit_parse(optarg, &set->time_unit) < 0)
				ec_usage_error("--time-unit must be s, ms, us or ns, not '%s'", optarg);
			break;
		case OPT_VERSION: set->version_path = optarg; break;
		case OPT_TABLE: set->table = optarg; break;
		case OPT_MACHINE: set->machine_path = optarg; break;
		case OPT_EMIT: set->emit = parse_emit(optarg); break;
		case OPT_REJECT: set->reject_path = optarg; break;
		case OPT_MEASURE:
			if (set->nmeasures == MAX_MEASURES)
				ec_usage_error("--measure: at most %d measures", MAX_MEASURES);
			set->measure_specs[set->nmeasures++] = optarg;
			break;
		case OPT_COUNTED: set->counted = optarg; break;
		case OPT_DUMP: set->dump_path = optarg; break;
		case OPT_STATE_DIR: set->state_dir = optarg; break;
		case OPT_TIMEOUT:
			if (set->ntimeouts == MAX_TIMEOUTS)
				ec_usage_error("--timeout: at most %d", MAX_TIMEOUTS);
			set->timeout_specs[set->ntimeouts++] = optarg;
			break;
		case OPT_TTL: set->ttl = ec_opt_duration("ttl", optarg); break;
		case OPT_MAX_DELAY: set->max_delay = ec_opt_duration("max-delay", optarg); break;
		case EC_OPT_MAX_LINE: set->max_line = ec_opt_size("max-line", optarg, 1); break;
		default:
			ec_usage_error("unhandled option");
		}
	}
	ec_optparser_release(&op);
	if (!set->key_path != !set->state_path)
		ec_usage_error("--key and --state go together (flat records); without both, Debezium envelopes are read");
}

/* ---- setup ---- */

static void setup_machine(struct job *job)
{
	const char *path = job->set->machine_path;
	struct ec_buf text = EC_BUF_INIT;
	char err[512];
	int r;

	if (!path) {
		if (ec_lifecycle_parse(&job->lc, ec_lifecycle_default_text, "default", err, sizeof(err)) < 0)
			ec_die(EX_SOFTWARE, "%s", err);
		return;
	}
	r = ec_read_file(path, &text, err, sizeof(err));
	if (r > 0)
		ec_die(EX_NOINPUT, "--machine %s: no such file", path);
	if (r < 0)
		ec_die(EX_NOINPUT, "--machine: %s", err);
	if (memchr(text.buf ? text.buf : "", '\0', text.len))
		ec_usage_error("--machine %s: not a text file", path);
	if (ec_lifecycle_parse(&job->lc, text.buf ? text.buf : "", path, err, sizeof(err)) < 0)
		ec_usage_error("--machine %s", err);
	ec_buf_release(&text);
}

/* --counted A,B: the states in which measures count. */
static void setup_counted(struct job *job)
{
	const char *s = job->set->counted ? job->set->counted : "PAID,SHIPPED,COMPLETED";

	while (*s) {
		size_t n = strcspn(s, ",");
		int st = ec_lifecycle_find(&job->lc, s, n);

		if (st < 0 || !ec_lifecycle_declared(&job->lc, st)) {
			if (job->set->counted || job->nmeasures)
				ec_usage_error("--counted: '%.*s' is not a state of the lifecycle", (int)n, s);
		} else {
			job->counted |= (uint64_t)1 << st;
		}
		s += n + (s[n] == ',');
	}
}

/*
 * Split TEXT at SEP into at most MAX paths (allocated), SEP inside a quoted
 * key (.["a,b"]) not counting. The number of paths; exit 64 past MAX or on an empty one.
 */
static size_t split_paths(const char *text, char sep, char **out, size_t max, const char *option)
{
	const char *start = text, *p;
	size_t n = 0;
	int quoted = 0;

	for (p = text;; p++) {
		if (quoted && *p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '"')
			quoted = !quoted;
		if (*p && (quoted || *p != sep))
			continue;
		if (p == start)
			ec_usage_error("%s: empty path in '%s'", option, text);
		if (n == max)
			ec_usage_error("%s: at most %zu paths in '%s'", option, max, text);
		out[n++] = xstrndup(start, (size_t)(p - start));
		if (!*p)
			return n;
		start = p + 1;
	}
}

static void setup_measures(struct job *job)
{
	size_t i, j;

	for (i = 0; i < job->set->nmeasures; i++) {
		const char *spec = job->set->measure_specs[i], *eq = strchr(spec, '=');
		struct measure *m = &job->measures[i];

		if (!eq || eq == spec || eq[1] != '.')
			ec_usage_error("--measure: expected NAME=PATH or NAME=PATH*PATH (gmv=.after.total_amount), not '%s'",
				       spec);
		m->name = xstrndup(spec, (size_t)(eq - spec));
		for (j = 0; m->name[j]; j++)
			if (!(m->name[j] == '_' || (m->name[j] >= 'a' && m->name[j] <= 'z') ||
			      (m->name[j] >= 'A' && m->name[j] <= 'Z') || (m->name[j] >= '0' && m->name[j] <= '9')))
				ec_usage_error("--measure: bad name '%s' (letters, digits, '_')", m->name);
		for (j = 0; j < i; j++)
			if (!strcmp(job->measures[j].name, m->name))
				ec_usage_error("--measure: '%s' given twice", m->name);
		job->nmeasures++;
		m->field = xmalloc(strlen(m->name) + 6);
		sprintf(m->field, ",\"%s\":", m->name);
		m->delta_field = xmalloc(strlen(m->name) + 12);
		sprintf(m->delta_field, ",\"%s_delta\":", m->name);
		m->nfactors = split_paths(eq + 1, '*', m->paths, MAX_FACTORS, "--measure");
		for (j = 0; j < m->nfactors; j++)
			m->slots[j] = ec_pathset_add_text(job->ps, m->paths[j], "--measure");
	}
}

static int is_debezium(const struct job *job)
{
	return !job->set->key_path;
}

static void setup_paths(struct job *job)
{
	struct settings *set = job->set;

	job->op_slot = job->before_slot = job->after_slot = job->table_slot = job->del_key_slot = -1;
	job->time_slot = job->version_slot = -1;
	if (is_debezium(job)) {
		job->op_slot = ec_pathset_add_text(job->ps, ".op", "--key");
		job->before_slot = ec_pathset_add_text(job->ps, ".before", "--key");
		job->after_slot = ec_pathset_add_text(job->ps, ".after", "--key");
		job->key_slot = ec_pathset_add_text(job->ps, ".after.id", "--key");
		job->del_key_slot = ec_pathset_add_text(job->ps, ".before.id", "--key");
		job->state_slot = ec_pathset_add_text(job->ps, ".after.status", "--state");
		if (!set->time_path)
			set->time_path = ".source.ts_ms";
	} else {
		size_t i;

		job->nkey_parts = split_paths(set->key_path, ',', job->key_paths, MAX_KEY_PARTS, "--key");
		for (i = 0; i < job->nkey_parts; i++) {
			const char *kp = job->key_paths[i];

			job->key_slots[i] = ec_pathset_add_text(job->ps, kp, "--key");
			/* a Debezium delete (.op "d") of a keyed envelope has its key under .before */
			if (!strncmp(kp, ".after.", 7) || !strncmp(kp, ".after[", 7)) {
				job->del_key_paths[i] = xmalloc(strlen(kp) + 2);
				sprintf(job->del_key_paths[i], ".before%s", kp + 6);
				job->del_key_slots[i] = ec_pathset_add_text(job->ps, job->del_key_paths[i], "--key");
				if (job->op_slot < 0)
					job->op_slot = ec_pathset_add_text(job->ps, ".op", "--key");
			} else {
				job->del_key_slots[i] = job->key_slots[i];
			}
		}
		job->key_slot = job->key_slots[0];
		job->del_key_slot = job->del_key_slots[0];
		job->state_slot = ec_pathset_add_text(job->ps, set->state_path, "--state");
	}
	if (set->table)
		job->table_slot = ec_pathset_add_text(job->ps, ".source.table", "--table");
	if (set->time_path)
		job->time_slot = ec_pathset_add_text(job->ps, set->time_path, "--time");
	if (set->version_path)
		job->version_slot = ec_pathset_add_text(job->ps, set->version_path, "--version");
}

/* The settings a snapshot depends on: a snapshot made with others is refused. */
static char *make_fingerprint(const struct job *job)
{
	const struct settings *set = job->set;
	struct ec_buf b = EC_BUF_INIT;
	size_t i;

	ec_buf_addf(&b, "key=%s;state=%s;version=%s;table=%s;counted=%s",
		    set->key_path ? set->key_path : ".after.id", set->state_path ? set->state_path : ".after.status",
		    set->version_path ? set->version_path : "", set->table ? set->table : "",
		    set->counted ? set->counted : "");
	for (i = 0; i < set->nmeasures; i++)
		ec_buf_addf(&b, ";measure=%s", set->measure_specs[i]);
	/* only when given, so that snapshots made without timers still fit */
	for (i = 0; i < set->ntimeouts; i++)
		ec_buf_addf(&b, ";timeout=%s", set->timeout_specs[i]);
	if (set->ttl >= 0)
		ec_buf_addf(&b, ";ttl=%" PRId64, set->ttl);
	if (set->max_delay)
		ec_buf_addf(&b, ";max-delay=%" PRId64, set->max_delay);
	return ec_buf_detach(&b, NULL);
}

/* --timeout STATE>DURATION: the limit per declared state. */
static void setup_timeouts(struct job *job)
{
	size_t i;

	for (i = 0; i < EC_LC_MAX_DECLARED; i++)
		job->timeout[i] = -1;
	for (i = 0; i < job->set->ntimeouts; i++) {
		const char *spec = job->set->timeout_specs[i], *gt = strchr(spec, '>');
		int st = gt ? ec_lifecycle_find(&job->lc, spec, (size_t)(gt - spec)) : -1;

		if (!gt || gt == spec)
			ec_usage_error("--timeout: expected STATE>DURATION (PAID>48h), not '%s'", spec);
		if (!ec_lifecycle_declared(&job->lc, st))
			ec_usage_error("--timeout: '%.*s' is not a state of the lifecycle", (int)(gt - spec), spec);
		if (job->timeout[st] >= 0)
			ec_usage_error("--timeout: %s given twice", job->lc.names[st]);
		job->timeout[st] = ec_opt_duration("timeout", gt + 1);
	}
	job->has_timers = job->set->ntimeouts || job->set->ttl >= 0;
	if (job->has_timers && !job->set->time_path)
		ec_usage_error("--timeout and --ttl run on event time: give --time PATH");
}

static void stage_reset(void *ctx);
static void stage_save(void *ctx, struct ec_buf *out);
static int stage_load(void *ctx, const char *text, size_t n, char *errstr, size_t errstr_size);
static void stage_save_changes(void *ctx, struct ec_buf *out);
static int stage_load_changes(void *ctx, const char *text, size_t n, char *errstr, size_t errstr_size);
static uint64_t stage_full_size(void *ctx);
static uint64_t stage_changes_size(void *ctx);
static const struct ec_stage_ops stage_ops = {
	stage_reset, stage_save, stage_load, stage_save_changes, stage_load_changes, stage_full_size,
	stage_changes_size
};

static void setup(struct job *job)
{
	job->ps = ec_record_pathset_new();
	setup_paths(job);
	setup_measures(job);
	setup_machine(job);
	setup_counted(job);
	setup_timeouts(job);
	job->max_time = NO_TIME;
	ec_hmap_init(&job->map, sizeof(struct entity) + job->nmeasures * sizeof(int64_t));
	job->slots = xcalloc(ec_pathset_size(job->ps), sizeof(*job->slots));
	job->fingerprint = make_fingerprint(job);
	ec_stage_init(&job->stage, job->set->state_dir, job->fingerprint, &stage_ops, job);
	if (job->set->dump_path)
		signal(SIGUSR1, on_sigusr1);
}

/* ---- reading a change ---- */

static const char *op_of(const struct ec_jval *v)
{
	static const char *const ops[] = { "c", "r", "u", "d" };
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(ops); i++)
		if (v->type == EC_J_STRING && v->n == 1 && v->p[0] == ops[i][0])
			return ops[i];
	return NULL;
}

/* Only the --table's changes are tracked; everything else passes untouched. */
static int is_tracked(const struct job *job)
{
	const struct ec_jval *t;

	if (job->table_slot < 0)
		return 1;
	t = &job->slots[job->table_slot];
	return t->type == EC_J_STRING && !t->escaped && strlen(job->set->table) == t->n &&
	       !memcmp(t->p, job->set->table, t->n);
}

/* Check the Debezium envelope: 1 and *is_delete, or 0 (rejected). */
static int read_envelope(struct job *job, const struct ec_line *line, int *is_delete)
{
	const struct ec_jval *op = &job->slots[job->op_slot];
	const struct ec_jval *image;
	const char *name;

	if (op->type == EC_J_MISSING) {
		ec_reject(&job->pol, line, "not a change event: missing .op");
		return 0;
	}
	if (!(name = op_of(op))) {
		if (op->type == EC_J_STRING)
			ec_reject(&job->pol, line, ".op: expected c, r, u or d, got \"%.*s\"",
				  (int)(op->n > 20 ? 20 : op->n), op->p);
		else
			ec_reject(&job->pol, line, ".op: expected a string, got %s", ec_jtype_name(op->type));
		return 0;
	}
	*is_delete = name[0] == 'd';
	image = &job->slots[*is_delete ? job->before_slot : job->after_slot];
	if (image->type != EC_J_OBJECT) {
		ec_reject(&job->pol, line, "%s: expected an object for op \"%s\", got %s",
			  *is_delete ? ".before" : ".after", name,
			  image->type == EC_J_MISSING ? "nothing" : ec_jtype_name(image->type));
		return 0;
	}
	return 1;
}

static const char *path_of_slot(const struct job *job, int slot)
{
	size_t i;

	for (i = 0; i < job->nkey_parts; i++) {
		if (slot == job->key_slots[i])
			return job->key_paths[i];
		if (slot == job->del_key_slots[i])
			return job->del_key_paths[i];
	}
	if (slot == job->del_key_slot)
		return ".before.id";
	if (slot == job->key_slot)
		return ".after.id";
	return job->set->state_path ? job->set->state_path : ".after.status";
}

/* A key (part) must be a string or a number: 1, or 0 when rejected. */
static int check_key_part(struct job *job, const struct ec_line *line, int slot)
{
	const struct ec_jval *v = &job->slots[slot];

	if (v->type == EC_J_MISSING) {
		ec_reject(&job->pol, line, "missing key %s", path_of_slot(job, slot));
		return 0;
	}
	if (v->type != EC_J_STRING && v->type != EC_J_NUMBER) {
		ec_reject(&job->pol, line, "%s: expected a string or number key, got %s",
			  path_of_slot(job, slot), ec_jtype_name(v->type));
		return 0;
	}
	return 1;
}

/*
 * A composite key is kept as the JSON array of its parts, strings
 * re-encoded from their decoded content so that one key has one text.
 */
static int read_composite_key(struct job *job, const struct ec_line *line, struct change *ch)
{
	const int *slots = ch->is_delete ? job->del_key_slots : job->key_slots;
	struct ec_buf part = EC_BUF_INIT;
	size_t i;
	int ret = 0;

	ec_buf_reset(&job->key);
	ec_buf_addch(&job->key, '[');
	for (i = 0; i < job->nkey_parts; i++) {
		const struct ec_jval *v = &job->slots[slots[i]];

		if (!check_key_part(job, line, slots[i]))
			goto cleanup;
		if (i)
			ec_buf_addch(&job->key, ',');
		if (v->type == EC_J_NUMBER) {
			ec_buf_add(&job->key, v->p, v->n);
			continue;
		}
		ec_buf_reset(&part);
		if (v->escaped && ec_jval_str(v, &part) < 0) {
			ec_reject(&job->pol, line, "%s: bad escape in key", path_of_slot(job, slots[i]));
			goto cleanup;
		}
		if (v->escaped)
			ec_jsonw_str(&job->key, part.buf ? part.buf : "", part.len);
		else
			ec_jsonw_str(&job->key, v->p, v->n);
	}
	ec_buf_addch(&job->key, ']');
	ch->key = job->key.buf;
	ch->klen = job->key.len;
	ch->key_flags = F_KEY_JSON;
	ret = 1;
cleanup:
	ec_buf_release(&part);
	return ret;
}

/* The key's text: a number's digits or a string's decoded content. */
static int read_key(struct job *job, const struct ec_line *line, int slot, struct change *ch)
{
	const struct ec_jval *v = &job->slots[slot];

	if (job->nkey_parts > 1)
		return read_composite_key(job, line, ch);
	if (!check_key_part(job, line, slot))
		return 0;
	ch->key_flags = v->type == EC_J_STRING ? F_KEY_STRING : 0;
	if (v->escaped) {
		ec_buf_reset(&job->key);
		if (ec_jval_str(v, &job->key) < 0) {
			ec_reject(&job->pol, line, "%s: bad escape in key", path_of_slot(job, slot));
			return 0;
		}
		ch->key = job->key.buf ? job->key.buf : "";
		ch->klen = job->key.len;
	} else {
		ch->key = v->p;
		ch->klen = v->n;
	}
	return 1;
}

static int read_state(struct job *job, const struct ec_line *line, struct change *ch)
{
	const struct ec_jval *v = &job->slots[job->state_slot];
	const char *path = path_of_slot(job, job->state_slot);

	if (v->type == EC_J_MISSING) {
		ec_reject(&job->pol, line, "missing state %s", path);
		return 0;
	}
	if (v->type == EC_J_NULL && !is_debezium(job)) {
		/* a flat record's null state: the entity is gone (a delete) */
		ch->is_delete = 1;
		return 1;
	}
	if (v->type != EC_J_STRING) {
		ec_reject(&job->pol, line, "%s: expected a string state, got %s", path, ec_jtype_name(v->type));
		return 0;
	}
	if (v->escaped || !v->n) {
		ec_reject(&job->pol, line, "%s: a state is a plain non-empty string, got %.*s", path,
			  (int)(v->n > 40 ? 42 : v->n + 2), v->p - 1);
		return 0;
	}
	ch->to = ec_lifecycle_intern(&job->lc, v->p, v->n);
	if (ch->to < 0) {
		ec_reject(&job->pol, line, "%s: more than %d different states", path, EC_LC_MAX_STATES);
		return 0;
	}
	return 1;
}

static int read_time(struct job *job, const struct ec_line *line, struct change *ch)
{
	const struct ec_jval *v;
	char err[256];

	ch->at = NO_TIME;
	if (job->time_slot < 0)
		return 1;
	v = &job->slots[job->time_slot];
	if (ec_record_time(v, job->set->time_path, job->set->time_unit, &ch->at, err, sizeof(err)) == 0)
		return 1;
	ch->at = NO_TIME;
	ec_reject(&job->pol, line, "%s", err);
	return 0;
}

/* A version is an integer (an LSN, a counter) or a time (updated_at). */
static int read_version(struct job *job, const struct ec_line *line, struct change *ch)
{
	const struct ec_jval *v;
	struct ec_dec d, whole;
	char err[256];

	ch->has_version = 0;
	if (job->version_slot < 0)
		return 1;
	v = &job->slots[job->version_slot];
	if (v->type == EC_J_STRING && !v->escaped && ec_time_parse(v->p, v->n, &ch->version, err, sizeof(err)) == 0) {
		ch->has_version = 1;
		return 1;
	}
	if ((v->type == EC_J_NUMBER || v->type == EC_J_STRING) && ec_dec_parse(&d, v->p, v->n, err, sizeof(err)) == 0 &&
	    ec_dec_rescale(&whole, d, 0) == 0 && ec_dec_cmp(whole, d) == 0 &&
	    whole.coef <= INT64_MAX && whole.coef >= INT64_MIN) {
		ch->version = (int64_t)whole.coef;
		ch->has_version = 1;
		return 1;
	}
	if (v->type == EC_J_MISSING)
		ec_reject(&job->pol, line, "missing version %s", job->set->version_path);
	else
		ec_reject(&job->pol, line, "%s: expected an integer or a time as version, got %s",
			  job->set->version_path, ec_jtype_name(v->type));
	return 0;
}

/* One factor of a measure into *D: 1, or 0 when rejected. A null is 0. */
static int read_factor(struct job *job, const struct ec_line *line, const struct measure *m, size_t f,
		       struct ec_dec *d)
{
	const struct ec_jval *v = &job->slots[m->slots[f]];
	char err[256];

	if (v->type == EC_J_NULL) {
		*d = EC_DEC_ZERO;
		return 1;
	}
	if (v->type == EC_J_MISSING) {
		ec_reject(&job->pol, line, "missing measure %s", m->paths[f]);
		return 0;
	}
	if ((v->type != EC_J_NUMBER && v->type != EC_J_STRING) || v->escaped ||
	    ec_dec_parse(d, v->p, v->n, err, sizeof(err)) < 0) {
		ec_reject(&job->pol, line, "%s: expected a number or numeric string, got %s", m->paths[f],
			  v->type == EC_J_STRING ? "a string" : ec_jtype_name(v->type));
		return 0;
	}
	return 1;
}

/* Amounts (and products, exactly) must fit the compact per-entity form: a 64-bit coefficient. */
static int read_measures(struct job *job, const struct ec_line *line, struct change *ch)
{
	size_t i, f;

	for (i = 0; i < job->nmeasures; i++) {
		const struct measure *m = &job->measures[i];
		struct ec_dec d;
		int overflow = 0;

		for (f = 0; f < m->nfactors; f++) {
			if (!read_factor(job, line, m, f, f ? &d : &ch->amount[i]))
				return 0;
			if (f && ec_dec_mul(&ch->amount[i], ch->amount[i], d) < 0)
				overflow = 1;
		}
		if (overflow || ch->amount[i].coef > INT64_MAX || ch->amount[i].coef < -INT64_MAX) {
			ec_reject(&job->pol, line, "%s: amount too large to track (over 18 digits)",
				  job->set->measure_specs[i] + strlen(m->name) + 1);
			return 0;
		}
	}
	return 1;
}

/* Fill CH from the scanned record: 1, or 0 when it was rejected as bad input. */
static int read_change(struct job *job, const struct ec_line *line, struct change *ch)
{
	memset(ch, 0, sizeof(*ch));
	ch->to = -1;
	if (is_debezium(job) && !read_envelope(job, line, &ch->is_delete))
		return 0;
	if (!is_debezium(job) && job->op_slot >= 0) {
		const struct ec_jval *op = &job->slots[job->op_slot];

		ch->is_delete = op->type == EC_J_STRING && op->n == 1 && op->p[0] == 'd';
	}
	if (!read_key(job, line, ch->is_delete ? job->del_key_slot : job->key_slot, ch))
		return 0;
	if (!ch->is_delete && !read_state(job, line, ch))
		return 0;
	if (!read_time(job, line, ch) || !read_version(job, line, ch))
		return 0;
	return ch->is_delete || read_measures(job, line, ch);
}

/* ---- applying a change ---- */

static int is_counted(const struct job *job, int state)
{
	return ec_lifecycle_declared(&job->lc, state) && (job->counted >> state & 1);
}

static struct ec_dec stored_amount(const struct entity *e, size_t i)
{
	return (struct ec_dec){ e->amount[i], e->scale[i] };
}

/* The counted amount before and after the change: delta = after - before, zeros keep the scale. */
static struct ec_dec measure_delta(const struct job *job, const struct entity *e, int from,
				   const struct change *ch, size_t i)
{
	struct ec_dec before = EC_DEC_ZERO, after = EC_DEC_ZERO, d;

	if (e) {
		before = stored_amount(e, i);
		if (!is_counted(job, from))
			before.coef = 0;
	}
	if (!ch->is_delete) {
		after = ch->amount[i];
		if (!is_counted(job, ch->to))
			after.coef = 0;
	}
	if (ec_dec_sub(&d, after, before) < 0)
		d = EC_DEC_ZERO;	/* cannot happen: both fit in 64 bits */
	return d;
}

static int same_amounts(const struct job *job, const struct entity *e, const struct change *ch)
{
	size_t i;

	for (i = 0; i < job->nmeasures; i++)
		if (ec_dec_cmp(stored_amount(e, i), ch->amount[i]))
			return 0;
	return 1;
}

static void add_state_name(struct ec_buf *b, const struct job *job, int s)
{
	if (s < 0)
		ec_buf_addstr(b, "null");
	else
		ec_jsonw_cstr(b, job->lc.names[s]);
}

/* "_state":{"from","to","valid","at","in_previous_ms"[,"reason"][,NAME_delta...]} */
static void build_state_fields(struct job *job, const struct entity *e, int from, const struct change *ch,
			       int valid, const char *reason, const struct ec_dec *deltas)
{
	struct ec_buf *b = &job->fields;
	size_t i;

	ec_buf_reset(b);
	ec_buf_addstr(b, "\"_state\":{\"from\":");
	add_state_name(b, job, from);
	ec_buf_addstr(b, ",\"to\":");
	add_state_name(b, job, ch->to);
	ec_buf_addstr(b, valid ? ",\"valid\":true,\"at\":" : ",\"valid\":false,\"at\":");
	if (ch->at == NO_TIME)
		ec_buf_addstr(b, "null");
	else
		ec_jsonw_time(b, ch->at);
	ec_buf_addstr(b, ",\"in_previous_ms\":");
	if (e && from != ch->to && e->since != NO_TIME && ch->at != NO_TIME)
		ec_jsonw_i64(b, ch->at - e->since);
	else
		ec_buf_addstr(b, "null");
	if (!valid) {
		ec_buf_addstr(b, ",\"reason\":");
		ec_jsonw_cstr(b, reason);
	}
	for (i = 0; i < job->nmeasures; i++) {
		ec_buf_addstr(b, job->measures[i].delta_field);
		ec_dec_format(deltas[i], b);
	}
	ec_buf_addch(b, '}');
}

static void write_reject(struct job *job, const struct ec_line *line)
{
	struct ec_buf *b = &job->reject_buf;

	if (!job->reject && !(job->reject = fopen(job->set->reject_path, "a")))
		ec_die(EX_CANTCREAT, "cannot open --reject file %s: %s", job->set->reject_path, strerror(errno));
	ec_buf_reset(b);
	ec_jsonw_splice(b, line->p, line->n, job->fields.buf, job->fields.len);
	ec_buf_addch(b, '\n');
	if (fwrite(b->buf, 1, b->len, job->reject) != b->len)
		ec_die(EX_IOERR, "writing --reject file %s: %s", job->set->reject_path, strerror(errno));
}

static void emit(struct job *job, const struct ec_line *line)
{
	ec_jsonw_splice(&job->out, line->p, line->n, job->fields.buf, job->fields.len);
	ec_buf_addch(&job->out, '\n');
}

/* An older change than the one applied: quarantine it, or count and drop it. */
static void handle_stale(struct job *job, const struct ec_line *line, const struct entity *e,
			 const struct change *ch)
{
	struct ec_dec zero[MAX_MEASURES] = { EC_DEC_ZERO };
	char reason[128];

	job->stale++;
	if (!job->set->reject_path)
		return;
	snprintf(reason, sizeof(reason), "out of order: version %" PRId64 " is older than %" PRId64,
		 ch->version, e->version);
	build_state_fields(job, NULL, e->state, ch, 0, reason, zero);
	write_reject(job, line);
}

/* ---- timers: deadlines that follow from an entity's state and since ---- */

static int64_t watermark(const struct job *job)
{
	return job->max_time == NO_TIME ? NO_TIME : job->max_time - job->set->max_delay;
}

/* The deadline of E's timer of KIND, or NO_TIME when its state has none. */
static int64_t timer_due(const struct job *job, const struct entity *e, int kind)
{
	if (e->since == NO_TIME || !ec_lifecycle_declared(&job->lc, e->state))
		return NO_TIME;
	if (kind == TIMER_TIMEOUT)
		return job->timeout[e->state] < 0 ? NO_TIME : e->since + job->timeout[e->state];
	if (job->set->ttl < 0 || !ec_lifecycle_is_terminal(&job->lc, e->state))
		return NO_TIME;
	return e->since + job->set->ttl;
}

/* A timer is still queued when it is due at or after the watermark: earlier ones have fired. */
static int timer_pending(const struct job *job, int64_t due)
{
	int64_t w = watermark(job);

	return due != NO_TIME && (w == NO_TIME || due >= w);
}

static void schedule(struct job *job, const struct entity *e, const char *key, size_t klen)
{
	int kind;

	for (kind = TIMER_TIMEOUT; kind <= TIMER_TTL; kind++) {
		int64_t due = timer_due(job, e, kind);

		if (due != NO_TIME)
			ec_lc_timers_push(&job->timers, due, kind, key, klen);
	}
}

/* E is about to leave its state (or vanish): its queued timers become stale entries. */
static void cancel_timers(struct job *job, const struct entity *e)
{
	int kind;

	for (kind = TIMER_TIMEOUT; kind <= TIMER_TTL; kind++)
		if (timer_pending(job, timer_due(job, e, kind)))
			job->timers_stale++;
}

/* Queue every pending timer again from the entities alone (after a restore, or to drop stale entries). */
static void rebuild_timers(struct job *job)
{
	struct ec_hmap_iter it;
	struct ec_hmap_entry en;
	int kind;

	ec_lc_timers_clear(&job->timers);
	job->timers_stale = 0;
	if (!job->has_timers)
		return;
	ec_hmap_iter_init(&it, &job->map);
	while (ec_hmap_iter_next(&it, &en))
		for (kind = TIMER_TIMEOUT; kind <= TIMER_TTL; kind++) {
			int64_t due = timer_due(job, en.value, kind);

			if (timer_pending(job, due))
				ec_lc_timers_push(&job->timers, due, kind, en.key, en.klen);
		}
}

/* Mostly cancelled entries (orders that moved on): rebuild rather than keep them until they come due. */
static void maybe_compact_timers(struct job *job)
{
	if (job->timers.n > 65536 && job->timers_stale > job->timers.n / 2)
		rebuild_timers(job);
}

static void add_key(struct ec_buf *b, int flags, const char *key, size_t klen)
{
	if (flags & F_KEY_STRING)
		ec_jsonw_str(b, key, klen);
	else
		ec_buf_add(b, key, klen);	/* a number's text, or a composite key's JSON array */
}

static void add_measures(struct ec_buf *b, const struct job *job, const struct entity *e);

/* {"alert":"timeout",["table",]"key","state","since","deadline","limit_ms","watermark"[,NAME...]} */
static void write_alert(struct job *job, const char *key, size_t klen, const struct entity *e, int64_t due)
{
	struct ec_buf *b = &job->out;

	ec_buf_addstr(b, "{\"alert\":\"timeout\"");
	if (job->set->table) {
		ec_buf_addstr(b, ",\"table\":");
		ec_jsonw_cstr(b, job->set->table);
	}
	ec_buf_addstr(b, ",\"key\":");
	add_key(b, e->flags, key, klen);
	ec_buf_addstr(b, ",\"state\":");
	ec_jsonw_cstr(b, job->lc.names[e->state]);
	ec_buf_addstr(b, ",\"since\":");
	ec_jsonw_time(b, e->since);
	ec_buf_addstr(b, ",\"deadline\":");
	ec_jsonw_time(b, due);
	ec_buf_addstr(b, ",\"limit_ms\":");
	ec_jsonw_i64(b, job->timeout[e->state]);
	ec_buf_addstr(b, ",\"watermark\":");
	ec_jsonw_time(b, watermark(job));
	add_measures(b, job, e);
	ec_buf_addstr(b, "}\n");
}

static void add_entity(struct ec_buf *b, const struct job *job, const struct ec_hmap_entry *en, int snapshot);

/* The journal to note a change in, or NULL: no snapshots (no --state-dir), or it is lost. */
static struct ec_buf *journal(struct job *job)
{
	return job->set->state_dir ? ec_journal_buf(&job->journal) : NULL;
}

/* Note that entity KEY (written as FLAGS say) is removed: {"drop":KEY}. */
static void journal_drop(struct job *job, const char *key, size_t klen, int flags)
{
	struct ec_buf *j = journal(job);

	if (!j)
		return;
	ec_buf_addstr(j, "{\"drop\":");
	add_key(j, flags, key, klen);
	ec_buf_addstr(j, "}\n");
	ec_journal_check(&job->journal);
}

/* Note entity E of KEY as it is now: its snapshot line. */
static void journal_entity(struct job *job, const char *key, size_t klen, struct entity *e)
{
	struct ec_buf *j = journal(job);
	struct ec_hmap_entry en = { key, klen, e };

	if (!j)
		return;
	add_entity(j, job, &en, 1);
	ec_journal_check(&job->journal);
}

/* One due entry: an alert, an eviction, or nothing when the entity has moved on since. */
static void fire(struct job *job, const struct ec_lc_timer *t)
{
	size_t klen;
	const char *key = ec_lc_timer_key(t, &klen);
	struct entity *e = ec_hmap_get(&job->map, key, klen);
	int kind = ec_lc_timer_kind(t);

	if (!e || timer_due(job, e, kind) != t->due) {
		if (job->timers_stale)
			job->timers_stale--;
		return;
	}
	if (kind == TIMER_TIMEOUT) {
		write_alert(job, key, klen, e, t->due);
		job->alerts++;
		return;
	}
	cancel_timers(job, e);
	journal_drop(job, key, klen, e->flags);
	ec_hmap_del(&job->map, key, klen);
	job->evicted++;
}

/*
 * Fire every timer the watermark has passed (due < watermark), in
 * (due, kind, key) order, so that the output does not depend on the heap's
 * layout or on how the input was split between runs.
 */
static void fire_due(struct job *job)
{
	int64_t w = watermark(job);
	size_t i;

	if (w == NO_TIME || ec_lc_timers_next_due(&job->timers) >= w)
		return;
	job->nbatch = 0;
	while (ec_lc_timers_next_due(&job->timers) < w) {
		EC_GROW(job->batch, job->nbatch + 1, job->batch_alloc);
		ec_lc_timers_pop(&job->timers, &job->batch[job->nbatch++]);
	}
	qsort(job->batch, job->nbatch, sizeof(*job->batch), ec_lc_timer_cmp);
	for (i = 0; i < job->nbatch; i++) {
		if (i && !ec_lc_timer_cmp(&job->batch[i - 1], &job->batch[i])) {
			/* the entity left and re-entered the state at the same instant */
			if (job->timers_stale)
				job->timers_stale--;
		} else {
			fire(job, &job->batch[i]);
		}
	}
	for (i = 0; i < job->nbatch; i++)
		ec_lc_timer_release(&job->batch[i]);
	job->nbatch = 0;
}

/* Remember the change in the entity (creating or deleting it). */
static void apply_change(struct job *job, struct entity *e, int from, const struct change *ch)
{
	int entered;
	size_t i;

	if (ch->is_delete) {
		if (e) {
			cancel_timers(job, e);
			journal_drop(job, ch->key, ch->klen, e->flags);
			ec_hmap_del(&job->map, ch->key, ch->klen);
		}
		return;
	}
	if (!e) {
		e = ec_hmap_put(&job->map, ch->key, ch->klen, NULL);
		e->since = NO_TIME;
		from = -1;
	} else if (from != ch->to) {
		cancel_timers(job, e);
	}
	entered = from != ch->to;
	if (entered)
		e->since = ch->at;
	e->state = (uint8_t)ch->to;
	e->flags = (uint8_t)ch->key_flags;
	if (entered && job->has_timers)
		schedule(job, e, ch->key, ch->klen);
	if (ch->has_version) {
		e->version = ch->version;
		e->flags |= F_VERSION;
	}
	for (i = 0; i < job->nmeasures; i++) {
		e->amount[i] = (int64_t)ch->amount[i].coef;
		e->scale[i] = (uint8_t)ch->amount[i].scale;
	}
	journal_entity(job, ch->key, ch->klen, e);
}

static int wanted(const struct job *job, int from, const struct change *ch, int valid,
		  const struct ec_dec *deltas)
{
	size_t i;

	switch (job->set->emit) {
	case EMIT_ALL:
		return 1;
	case EMIT_INVALID:
		return !valid;
	case EMIT_TRANSITIONS:
		if (from != ch->to)
			return 1;
		/* a corrected amount moves the sums: keep it so window totals stay exact */
		for (i = 0; i < job->nmeasures; i++)
			if (!ec_dec_is_zero(deltas[i]))
				return 1;
		return 0;
	}
	return 1;
}

static void process_change(struct job *job, const struct ec_line *line, const struct change *ch)
{
	struct ec_dec deltas[MAX_MEASURES];
	struct entity *e = ec_hmap_get(&job->map, ch->key, ch->klen);
	int from = e ? e->state : -1;
	char reason[256] = "";
	int valid;
	size_t i;

	if (e && ch->has_version && (e->flags & F_VERSION) && ch->version <= e->version) {
		if (ch->version == e->version)
			job->duplicates++;
		else
			handle_stale(job, line, e, ch);
		return;
	}
	if (e && !ch->has_version && !ch->is_delete && from == ch->to && same_amounts(job, e, ch)) {
		job->duplicates++;
		return;
	}
	if (ch->is_delete)
		valid = 1;
	else
		valid = ec_lifecycle_check(&job->lc, from, ch->to, reason, sizeof(reason));
	for (i = 0; i < job->nmeasures; i++)
		deltas[i] = measure_delta(job, e, from, ch, i);
	build_state_fields(job, e, from, ch, valid, reason, deltas);
	if (!valid && job->set->reject_path) {
		/* quarantined: the state and the output stay consistent without it */
		job->quarantined++;
		write_reject(job, line);
		return;
	}
	apply_change(job, e, from, ch);
	if (wanted(job, from, ch, valid, deltas))
		emit(job, line);
}

static void process_record(struct job *job, const struct ec_line *line)
{
	struct change ch;

	if (!is_tracked(job)) {
		if (job->set->emit != EMIT_INVALID) {
			ec_buf_add(&job->out, line->p, line->n);
			ec_buf_addch(&job->out, '\n');
		}
		return;
	}
	if (!read_change(job, line, &ch))
		return;
	/* timers the record's time passes fire before it, timers it makes overdue right after it */
	if (ch.at != NO_TIME && (job->max_time == NO_TIME || ch.at > job->max_time))
		job->max_time = ch.at;
	fire_due(job);
	process_change(job, line, &ch);
	fire_due(job);
	maybe_compact_timers(job);
}

/* ---- dumps and snapshots: one NDJSON line per entity ---- */

static void add_measures(struct ec_buf *b, const struct job *job, const struct entity *e)
{
	size_t i;

	for (i = 0; i < job->nmeasures; i++) {
		ec_buf_addstr(b, job->measures[i].field);
		ec_dec_format(stored_amount(e, i), b);
	}
}

static void add_entity(struct ec_buf *b, const struct job *job, const struct ec_hmap_entry *en, int snapshot)
{
	const struct entity *e = en->value;

	ec_buf_addstr(b, "{\"key\":");
	add_key(b, e->flags, en->key, en->klen);
	ec_buf_addstr(b, ",\"state\":");
	ec_jsonw_cstr(b, job->lc.names[e->state]);
	ec_buf_addstr(b, ",\"since\":");
	if (e->since == NO_TIME)
		ec_buf_addstr(b, "null");
	else if (snapshot)
		ec_jsonw_i64(b, e->since);
	else
		ec_jsonw_time(b, e->since);
	if (e->flags & F_VERSION) {
		ec_buf_addstr(b, ",\"version\":");
		ec_jsonw_i64(b, e->version);
	}
	add_measures(b, job, e);
	ec_buf_addstr(b, "}\n");
}

static void save_entities(struct job *job, struct ec_buf *out, int snapshot)
{
	struct ec_hmap_iter it;
	struct ec_hmap_entry en;

	ec_hmap_iter_init(&it, &job->map);
	while (ec_hmap_iter_next(&it, &en)) {
		add_entity(out, job, &en, snapshot);
		if (snapshot)
			ec_stage_spill(out);
	}
}

static void write_dump(struct job *job)
{
	struct ec_buf b = EC_BUF_INIT;
	char err[512];

	dump_requested = 0;
	save_entities(job, &b, 0);
	if (ec_atomic_write(job->set->dump_path, b.buf ? b.buf : "", b.len, err, sizeof(err)) < 0)
		ec_die(EX_IOERR, "--dump: %s", err);
	ec_buf_release(&b);
}

static void stage_reset(void *ctx)
{
	struct job *job = ctx;

	ec_hmap_release(&job->map);
	ec_journal_clear(&job->journal);
	ec_lc_timers_clear(&job->timers);
	job->timers_stale = 0;
	job->max_time = NO_TIME;
	job->duplicates = job->stale = job->quarantined = job->alerts = job->evicted = 0;
}

/*
 * A snapshot: a line with the largest event time seen (the watermark, and
 * so which timers have fired, follows from it), then one line per entity.
 * Pending timers are not saved: they follow from each state and since.
 * A delta (lib/stage.h) has the same lines for the entities changed since
 * the snapshot before, replacing them, and {"drop":KEY} for those removed,
 * in the order the changes happened (the journal).
 */
static void save_max_time(struct job *job, struct ec_buf *out)
{
	ec_buf_addstr(out, "{\"max_time\":");
	if (job->max_time == NO_TIME)
		ec_buf_addstr(out, "null");
	else
		ec_jsonw_i64(out, job->max_time);
	ec_buf_addstr(out, "}\n");
}

static void stage_save(void *ctx, struct ec_buf *out)
{
	struct job *job = ctx;

	save_max_time(job, out);
	save_entities(job, out, 1);
	ec_journal_clear(&job->journal);
	if (job->set->dump_path)
		write_dump(job);
}

/* About the bytes stage_save would write now: a line per entity, its fixed parts estimated. */
static uint64_t stage_full_size(void *ctx)
{
	const struct job *job = ctx;
	uint64_t line = 64;	/* {"key":K,"state":"S","since":T} with a short key */
	size_t i;

	for (i = 0; i < job->nmeasures; i++)
		line += strlen(job->measures[i].field) + 12;
	return job->map.count * line + job->map.long_key_bytes;
}

static uint64_t stage_changes_size(void *ctx)
{
	const struct job *job = ctx;

	return ec_journal_size(&job->journal);
}

static void stage_save_changes(void *ctx, struct ec_buf *out)
{
	struct job *job = ctx;

	save_max_time(job, out);
	ec_journal_save(&job->journal, out);
	ec_journal_clear(&job->journal);
	if (job->set->dump_path)
		write_dump(job);
}

/* A composite key from a snapshot, back to the text read_composite_key makes. 0, or -1. */
static int load_composite_key(yajl_val key, struct ec_buf *out)
{
	size_t i;

	ec_buf_reset(out);
	ec_buf_addch(out, '[');
	for (i = 0; i < YAJL_GET_ARRAY(key)->len; i++) {
		yajl_val v = YAJL_GET_ARRAY(key)->values[i];

		if (i)
			ec_buf_addch(out, ',');
		if (YAJL_IS_STRING(v))
			ec_jsonw_cstr(out, YAJL_GET_STRING(v));
		else if (YAJL_IS_NUMBER(v))
			ec_buf_addstr(out, YAJL_GET_NUMBER(v));
		else
			return -1;
	}
	ec_buf_addch(out, ']');
	return 0;
}

/* The snapshot's first line: {"max_time":N|null}. */
static int load_meta(struct job *job, yajl_val root, char *errstr, size_t errstr_size)
{
	const char *mp[] = { "max_time", NULL };
	yajl_val m = yajl_tree_get(root, mp, yajl_t_any);

	if (!m || !(YAJL_IS_NULL(m) || YAJL_IS_INTEGER(m))) {
		snprintf(errstr, errstr_size, "snapshot line without key or max_time");
		return -1;
	}
	job->max_time = YAJL_IS_NULL(m) ? NO_TIME : YAJL_GET_INTEGER(m);
	return 0;
}

/* A key from a snapshot line as the map holds it (*KLEN bytes), or NULL. */
static const char *load_key(struct job *job, yajl_val key, size_t *klen)
{
	const char *ktext = NULL;

	if (YAJL_IS_ARRAY(key) && !load_composite_key(key, &job->key)) {
		ktext = job->key.buf;
		*klen = job->key.len;
	} else if (YAJL_IS_STRING(key) || YAJL_IS_NUMBER(key)) {
		ktext = YAJL_IS_STRING(key) ? YAJL_GET_STRING(key) : YAJL_GET_NUMBER(key);
		*klen = strlen(ktext);
	}
	return ktext;
}

/* A delta's {"drop":KEY}: the entity is gone. */
static int load_drop(struct job *job, yajl_val key, char *errstr, size_t errstr_size)
{
	size_t klen = 0;
	const char *ktext = load_key(job, key, &klen);

	if (!ktext) {
		snprintf(errstr, errstr_size, "a drop line without a key");
		return -1;
	}
	ec_hmap_del(&job->map, ktext, klen);
	return 0;
}

/* One snapshot line back into the map. 0, or -1 with errstr. */
static int load_entity(struct job *job, yajl_val root, char *errstr, size_t errstr_size)
{
	const char *kp[] = { "key", NULL }, *sp[] = { "state", NULL }, *tp[] = { "since", NULL },
		   *vp[] = { "version", NULL }, *dp[] = { "drop", NULL };
	yajl_val key = yajl_tree_get(root, kp, yajl_t_any), state = yajl_tree_get(root, sp, yajl_t_string);
	yajl_val since = yajl_tree_get(root, tp, yajl_t_any), version = yajl_tree_get(root, vp, yajl_t_number);
	const char *ktext, *sname = state ? YAJL_GET_STRING(state) : NULL;
	struct entity *e;
	int st;
	size_t i, klen = 0;

	if (!key && (key = yajl_tree_get(root, dp, yajl_t_any)))
		return load_drop(job, key, errstr, errstr_size);
	if (!key)
		return load_meta(job, root, errstr, errstr_size);
	ktext = load_key(job, key, &klen);
	if (!ktext || !sname) {
		snprintf(errstr, errstr_size, "snapshot line without key or state");
		return -1;
	}
	st = ec_lifecycle_intern(&job->lc, sname, strlen(sname));
	if (st < 0) {
		snprintf(errstr, errstr_size, "too many states in snapshot");
		return -1;
	}
	e = ec_hmap_put(&job->map, ktext, klen, NULL);
	e->state = (uint8_t)st;
	e->flags = YAJL_IS_STRING(key) ? F_KEY_STRING : YAJL_IS_ARRAY(key) ? F_KEY_JSON : 0;
	e->since = since && YAJL_IS_INTEGER(since) ? YAJL_GET_INTEGER(since) : NO_TIME;
	if (version && YAJL_IS_INTEGER(version)) {
		e->version = YAJL_GET_INTEGER(version);
		e->flags |= F_VERSION;
	}
	for (i = 0; i < job->nmeasures; i++) {
		const char *mp[] = { job->measures[i].name, NULL };
		yajl_val m = yajl_tree_get(root, mp, yajl_t_number);
		struct ec_dec d;

		if (!m || ec_dec_parse(&d, YAJL_GET_NUMBER(m), strlen(YAJL_GET_NUMBER(m)), errstr, errstr_size) < 0) {
			snprintf(errstr, errstr_size, "snapshot line without measure %s", job->measures[i].name);
			return -1;
		}
		e->amount[i] = (int64_t)d.coef;
		e->scale[i] = (uint8_t)d.scale;
	}
	return 0;
}

/* Apply the snapshot lines in TEXT on top of the map. */
static int load_lines(struct job *job, const char *text, size_t n, char *errstr, size_t errstr_size)
{
	const char *end = text + n;
	int ret = 0;

	while (text < end && !ret) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		char *one = xstrndup(text, nl ? (size_t)(nl - text) : (size_t)(end - text));
		yajl_val root = yajl_tree_parse(one, NULL, 0);

		if (!root || !YAJL_IS_OBJECT(root)) {
			snprintf(errstr, errstr_size, "snapshot line is not a JSON object");
			ret = -1;
		} else {
			ret = load_entity(job, root, errstr, errstr_size);
		}
		yajl_tree_free(root);
		free(one);
		text = nl ? nl + 1 : end;
	}
	if (!ret)
		rebuild_timers(job);
	return ret;
}

static int stage_load(void *ctx, const char *text, size_t n, char *errstr, size_t errstr_size)
{
	struct job *job = ctx;

	stage_reset(job);
	return load_lines(job, text, n, errstr, errstr_size);
}

/* A delta: entities replaced or dropped, on top of the state loaded so far. */
static int stage_load_changes(void *ctx, const char *text, size_t n, char *errstr, size_t errstr_size)
{
	return load_lines(ctx, text, n, errstr, errstr_size);
}

/* ---- the loop ---- */

static void flush_out(struct job *job)
{
	ec_out_buf(&job->out);
	ec_buf_reset(&job->out);
}

static void finish(struct job *job)
{
	flush_out(job);
	if (job->set->dump_path)
		write_dump(job);
	if (job->duplicates)
		ec_info("duplicate changes suppressed: %" PRIu64, job->duplicates);
	if (job->stale)
		ec_warn("out-of-order changes older than the applied version: %" PRIu64 "%s", job->stale,
			job->set->reject_path ? " (written to the --reject file)" : " (dropped)");
	if (job->quarantined)
		ec_warn("invalid transitions written to the --reject file: %" PRIu64, job->quarantined);
	if (job->alerts)
		ec_info("timeout alerts written: %" PRIu64, job->alerts);
	if (job->evicted)
		ec_info("terminal entities forgotten after --ttl: %" PRIu64, job->evicted);
	if (job->reject && fclose(job->reject))
		ec_die(EX_IOERR, "closing --reject file %s: %s", job->set->reject_path, strerror(errno));
	job->reject = NULL;
	ec_errpolicy_finish(&job->pol);
}

static void job_release(struct job *job)
{
	size_t i, j;

	for (i = 0; i < job->nmeasures; i++) {
		free(job->measures[i].name);
		free(job->measures[i].field);
		free(job->measures[i].delta_field);
		for (j = 0; j < job->measures[i].nfactors; j++)
			free(job->measures[i].paths[j]);
	}
	for (i = 0; i < job->nkey_parts; i++) {
		free(job->key_paths[i]);
		free(job->del_key_paths[i]);
	}
	ec_lc_timers_release(&job->timers);
	free(job->batch);
	ec_hmap_release(&job->map);
	ec_journal_release(&job->journal);
	ec_lifecycle_release(&job->lc);
	ec_pathset_free(job->ps);
	free(job->slots);
	free(job->fingerprint);
	ec_buf_release(&job->out);
	ec_buf_release(&job->fields);
	ec_buf_release(&job->key);
	ec_buf_release(&job->reject_buf);
}

int cmd_main(int argc, char **argv)
{
	struct settings set = { .time_unit = EC_UNIT_MS, .emit = EMIT_ALL, .ttl = -1 };
	struct job job = { .set = &set, .pol = EC_ERRPOLICY_INIT };
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
		else if (kind == 2)
			ec_stage_control(&job.stage, &line, &job.out);
		if (job.out.len)
			flush_out(&job);
		if (dump_requested)
			write_dump(&job);
	}
	finish(&job);
	ec_reader_release(&reader);
	job_release(&job);
	return 0;
}
