/* ec-window: event-time windowed aggregation of NDJSON records (GMV per category per minute, ...). */
#include "ec.h"
#include "agg.h"
#include "ckpt.h"
#include "decimal.h"
#include "jsonw.h"
#include "log.h"
#include "opt.h"
#include "record.h"
#include "stage.h"
#include "timefmt.h"
#include "window.h"
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <yajl/yajl_tree.h>

static const char synopsis[] =
	"ec-window -t PATH [-w SPEC] [-g [NAME=]PATH]... [-a NAME=FN(PATH)]... [OPTIONS] [FILE...]";
static const char description[] =
	"Aggregate records into event-time windows and write one line per window and group:\n"
	"{\"window_start\":...,\"window_end\":...,GROUPS...,AGGREGATES...}. A window is written when\n"
	"the watermark (largest event time minus --max-delay) passes its end; at the end of input\n"
	"every open window is written. Money is summed exactly in decimal.";

enum {
	OPT_TIME_UNIT = EC_OPT_TOOL_BASE,
	OPT_WEIGHT,
	OPT_TOP,
	OPT_TZ,
	OPT_MAX_DELAY,
	OPT_LATENESS,
	OPT_LATE,
	OPT_STATE_DIR,
	OPT_WHERE,
};

static const struct ec_opt options[] = {
	{ "time", required_argument, 't', "PATH", "event time field (required): RFC 3339 text or a number" },
	{ "time-unit", required_argument, OPT_TIME_UNIT, "s|ms|us|ns", "unit of numeric times (default ms)" },
	{ "window", required_argument, 'w', "SPEC", "'tumble 1m' (default), 'hop 10m every 1m', 'session 30m', 'cumulate 1d every 1h'" },
	{ "group-by", required_argument, 'g', "[NAME=]PATH", "group by a field; repeat or separate with commas" },
	{ "agg", required_argument, 'a', "NAME=FN(PATH)", "count() sum avg min max count_distinct first last (default count=count())" },
	{ "where", required_argument, OPT_WHERE, "PATH=V1,V2", "only records whose field equals one of the values (!= to exclude)" },
	{ "weight", required_argument, OPT_WEIGHT, "PATH", "signed integer multiplicity of each record (retractions)" },
	{ "top", required_argument, OPT_TOP, "'N by NAME'", "only the N groups with the largest aggregate NAME per window" },
	{ "tz", required_argument, OPT_TZ, "ZONE", "time zone of day and month windows (default UTC)" },
	{ "max-delay", required_argument, OPT_MAX_DELAY, "DURATION", "how far the watermark trails the largest event time (default 0s)" },
	{ "allowed-lateness", required_argument, OPT_LATENESS, "DURATION", "update a written window for records this late (default 0s)" },
	{ "late", required_argument, OPT_LATE, "FILE", "append records too late for every window to FILE" },
	{ "state-dir", required_argument, OPT_STATE_DIR, "DIR", "keep checkpoint snapshots in DIR (restore/barrier records)" },
	EC_OPTS_INPUT,
	EC_OPTS_COMMON,
	{ NULL, 0, 0, NULL, NULL },
};

struct settings {
	const char *time_path;
	enum ec_time_unit time_unit;
	const char *window;
	char **group_specs;
	size_t ngroup_specs, group_alloc;
	char **agg_specs;
	size_t nagg_specs, agg_alloc;
	const char **wheres;
	size_t nwheres, where_alloc;
	const char *weight_path;
	const char *top;
	const char *tz;
	int64_t max_delay, lateness;
	const char *late_path;
	const char *state_dir;
	size_t max_line;
};

/* --where PATH=V1,V2 (or PATH!=...): a field's value must (not) be one of these. */
struct where {
	int slot;
	int negate;
	char **values;
	size_t nvalues, alloc;
};

/* Everything the record loop needs. */
struct job {
	struct where *wheres;
	size_t nwheres;
	struct settings *set;
	struct ec_errpolicy pol;
	struct ec_pathset *ps;
	struct ec_jval *slots;
	int time_slot, weight_slot;
	int *group_slots;
	char **group_names;
	size_t ngroups;
	struct ec_agg_spec *aggs;
	size_t naggs;
	struct ec_agg_input *inputs;
	struct ec_window_config wcfg;
	struct ec_window *win;
	struct ec_tz *tz;
	struct ec_buf out, key;
	FILE *late;
	uint64_t late_count, partly_late_count;
	struct ec_stage stage;
	char *fingerprint;
};

/* Split "a=.x,b=.y" at commas outside brackets, quotes and parentheses. */
static void split_list(const char *arg, char ***v, size_t *n, size_t *alloc)
{
	int depth = 0, quoted = 0;
	const char *p, *start = arg;

	for (p = arg;; p++) {
		if (quoted) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quoted = 0;
			else if (!*p)
				break;
			continue;
		}
		if (*p == '"')
			quoted = 1;
		else if (*p == '[' || *p == '(')
			depth++;
		else if (*p == ']' || *p == ')')
			depth--;
		else if ((*p == ',' && depth <= 0) || !*p) {
			const char *s = start, *e = p;
			while (s < e && *s == ' ')
				s++;
			while (e > s && e[-1] == ' ')
				e--;
			if (e > s) {
				EC_GROW(*v, *n + 1, *alloc);
				(*v)[(*n)++] = xstrndup(s, (size_t)(e - s));
			}
			start = p + 1;
		}
		if (!*p)
			break;
	}
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
		case 'w': set->window = optarg; break;
		case 'g': split_list(optarg, &set->group_specs, &set->ngroup_specs, &set->group_alloc); break;
		case 'a': split_list(optarg, &set->agg_specs, &set->nagg_specs, &set->agg_alloc); break;
		case OPT_WHERE:
			EC_GROW(set->wheres, set->nwheres + 1, set->where_alloc);
			set->wheres[set->nwheres++] = optarg;
			break;
		case OPT_WEIGHT: set->weight_path = optarg; break;
		case OPT_TOP: set->top = optarg; break;
		case OPT_TZ: set->tz = optarg; break;
		case OPT_MAX_DELAY: set->max_delay = ec_opt_duration("max-delay", optarg); break;
		case OPT_LATENESS: set->lateness = ec_opt_duration("allowed-lateness", optarg); break;
		case OPT_LATE: set->late_path = optarg; break;
		case OPT_STATE_DIR: set->state_dir = optarg; break;
		case EC_OPT_MAX_LINE: set->max_line = ec_opt_size("max-line", optarg, 1); break;
		default:
			ec_usage_error("unhandled option");
		}
	}
	ec_optparser_release(&op);
	if (!set->time_path)
		ec_usage_error("--time PATH is required (the event time field)");
}

/* "[NAME=]PATH": the output name defaults to the path's last key. */
static void setup_groups(struct job *job)
{
	struct settings *set = job->set;
	size_t i;

	job->ngroups = set->ngroup_specs;
	job->group_slots = xcalloc(job->ngroups + 1, sizeof(int));
	job->group_names = xcalloc(job->ngroups + 1, sizeof(char *));
	for (i = 0; i < job->ngroups; i++) {
		const char *spec = set->group_specs[i], *eq = strchr(spec, '='), *path = spec;
		if (eq && spec[0] != '.' && spec[0] != '[') {
			job->group_names[i] = xstrndup(spec, (size_t)(eq - spec));
			path = eq + 1;
		}
		job->group_slots[i] = ec_pathset_add_text(job->ps, path, "--group-by");
		if (!job->group_names[i]) {
			struct ec_path p;
			char err[64];
			ec_path_parse(&p, path, err, sizeof(err));
			job->group_names[i] = xstrdup(ec_path_leaf(&p) ? ec_path_leaf(&p) : "group");
			ec_path_release(&p);
		}
	}
}

static void setup_aggs(struct job *job)
{
	struct settings *set = job->set;
	char err[512];
	size_t i;

	if (!set->nagg_specs)
		split_list("count=count()", &set->agg_specs, &set->nagg_specs, &set->agg_alloc);
	job->naggs = set->nagg_specs;
	job->aggs = xcalloc(job->naggs, sizeof(*job->aggs));
	job->inputs = xcalloc(job->naggs, sizeof(*job->inputs));
	for (i = 0; i < job->naggs; i++) {
		if (ec_agg_spec_parse(&job->aggs[i], set->agg_specs[i], err, sizeof(err)) < 0)
			ec_usage_error("--agg: %s", err);
		if (job->aggs[i].path)
			job->aggs[i].slot = ec_pathset_add_text(job->ps, job->aggs[i].path, "--agg");
	}
}

static void setup_wheres(struct job *job)
{
	size_t i;

	job->nwheres = job->set->nwheres;
	job->wheres = xcalloc(job->nwheres + 1, sizeof(*job->wheres));
	for (i = 0; i < job->nwheres; i++) {
		const char *spec = job->set->wheres[i], *eq = strchr(spec, '=');
		struct where *wh = &job->wheres[i];
		char *path;

		if (!eq || eq == spec)
			ec_usage_error("--where: expected PATH=VALUE[,VALUE...] or PATH!=VALUE, not '%s'", spec);
		wh->negate = eq[-1] == '!';
		path = xstrndup(spec, (size_t)(eq - spec) - (size_t)wh->negate);
		wh->slot = ec_pathset_add_text(job->ps, path, "--where");
		free(path);
		split_list(eq + 1, &wh->values, &wh->nvalues, &wh->alloc);
	}
}

/* A string matches by its decoded content, anything else by its JSON text (42, true, null). */
static int where_matches(const struct where *wh, const struct ec_jval *v)
{
	struct ec_buf decoded = EC_BUF_INIT;
	const char *text;
	size_t i, n = 0;
	int found = 0;

	if (v->type == EC_J_STRING && v->escaped) {
		ec_jval_str(v, &decoded);
		text = decoded.buf ? decoded.buf : "";
		n = decoded.len;
	} else if (v->type == EC_J_STRING) {
		text = v->p;
		n = v->n;
	} else {
		text = ec_jval_raw(v, &n);
	}
	for (i = 0; v->type != EC_J_MISSING && i < wh->nvalues && !found; i++)
		found = strlen(wh->values[i]) == n && !memcmp(wh->values[i], text, n);
	ec_buf_release(&decoded);
	return found != wh->negate;
}

static int record_selected(const struct job *job)
{
	size_t i;

	for (i = 0; i < job->nwheres; i++)
		if (!where_matches(&job->wheres[i], &job->slots[job->wheres[i].slot]))
			return 0;
	return 1;
}

/* "--top '10 by gmv'" */
static void setup_top(struct job *job)
{
	char name[128];
	unsigned long n;
	size_t i;

	if (!job->set->top)
		return;
	if (sscanf(job->set->top, "%lu by %127s", &n, name) != 2 || !n)
		ec_usage_error("--top: expected 'N by AGGREGATE', e.g. '10 by gmv', not '%s'", job->set->top);
	for (i = 0; i < job->naggs; i++)
		if (!strcmp(job->aggs[i].name, name))
			break;
	if (i == job->naggs)
		ec_usage_error("--top: no aggregate named '%s'", name);
	job->wcfg.top_n = n;
	job->wcfg.top_agg = (int)i;
}

/* The settings a snapshot depends on: a snapshot made with others is refused. */
static char *make_fingerprint(const struct settings *set)
{
	struct ec_buf b = EC_BUF_INIT;
	size_t i;

	ec_buf_addf(&b, "window=%s;time=%s;unit=%d;tz=%s;max-delay=%" PRId64 ";lateness=%" PRId64 ";weight=%s;top=%s",
		    set->window, set->time_path, (int)set->time_unit, set->tz ? set->tz : "UTC",
		    set->max_delay, set->lateness, set->weight_path ? set->weight_path : "",
		    set->top ? set->top : "");
	for (i = 0; i < set->nwheres; i++)
		ec_buf_addf(&b, ";where=%s", set->wheres[i]);
	for (i = 0; i < set->ngroup_specs; i++)
		ec_buf_addf(&b, ";group=%s", set->group_specs[i]);
	for (i = 0; i < set->nagg_specs; i++)
		ec_buf_addf(&b, ";agg=%s", set->agg_specs[i]);
	return ec_buf_detach(&b, NULL);
}

/* ---- checkpoints: the stage callbacks (lib/stage.h) ---- */

static void state_reset(void *ctx)
{
	struct job *job = ctx;

	ec_window_free(job->win);
	job->win = ec_window_new(&job->wcfg);
	job->late_count = 0;
}

static void state_save(void *ctx, struct ec_buf *out)
{
	struct job *job = ctx;

	ec_buf_addf(out, "{\"late\":%" PRIu64 "}\n", job->late_count);
	ec_window_save(job->win, out);
}

static int state_load(void *ctx, const char *text, size_t n, char *errstr, size_t errstr_size)
{
	struct job *job = ctx;
	const char *nl = memchr(text, '\n', n), *pl[] = { "late", NULL };
	char *first;
	yajl_val root, late;

	if (!nl) {
		snprintf(errstr, errstr_size, "truncated snapshot");
		return -1;
	}
	first = xstrndup(text, (size_t)(nl - text));
	root = yajl_tree_parse(first, NULL, 0);
	late = yajl_tree_get(root, pl, yajl_t_number);
	state_reset(job);
	job->late_count = late && YAJL_IS_INTEGER(late) && YAJL_GET_INTEGER(late) > 0 ?
			  (uint64_t)YAJL_GET_INTEGER(late) : 0;
	yajl_tree_free(root);
	free(first);
	return ec_window_load(job->win, nl + 1, n - (size_t)(nl + 1 - text), errstr, errstr_size);
}

static const struct ec_stage_ops stage_ops = { state_reset, state_save, state_load, NULL, NULL, NULL, NULL };

static void setup(struct job *job)
{
	struct settings *set = job->set;
	char err[512];

	job->ps = ec_record_pathset_new();
	job->time_slot = ec_pathset_add_text(job->ps, set->time_path, "--time");
	job->weight_slot = set->weight_path ? ec_pathset_add_text(job->ps, set->weight_path, "--weight") : -1;
	setup_wheres(job);
	setup_groups(job);
	setup_aggs(job);
	if (set->tz && !(job->tz = ec_tz_load(set->tz, err, sizeof(err))))
		ec_usage_error("--tz: %s", err);
	if (ec_winspec_parse(&job->wcfg.spec, set->window, job->tz, err, sizeof(err)) < 0)
		ec_usage_error("--window: %s", err);
	job->wcfg.aggs = job->aggs;
	job->wcfg.naggs = job->naggs;
	job->wcfg.group_names = job->group_names;
	job->wcfg.ngroups = job->ngroups;
	job->wcfg.max_delay = set->max_delay;
	job->wcfg.lateness = set->lateness;
	setup_top(job);
	job->win = ec_window_new(&job->wcfg);
	job->slots = xcalloc(ec_pathset_size(job->ps), sizeof(*job->slots));
	job->fingerprint = make_fingerprint(set);
	ec_stage_init(&job->stage, set->state_dir, job->fingerprint, &stage_ops, job);
}

static int record_time(struct job *job, const struct ec_line *line, int64_t *t)
{
	char err[300];

	if (ec_record_time(&job->slots[job->time_slot], job->set->time_path, job->set->time_unit, t,
			   err, sizeof(err)) == 0)
		return 0;
	ec_reject(&job->pol, line, "%s", err);
	return -1;
}

static int record_weight(struct job *job, const struct ec_line *line, int64_t *w)
{
	const struct ec_jval *v;
	struct ec_dec d, whole;
	char err[256];

	*w = 1;
	if (job->weight_slot < 0)
		return 0;
	v = &job->slots[job->weight_slot];
	if (v->type != EC_J_NUMBER && v->type != EC_J_STRING) {
		ec_reject(&job->pol, line, "%s: expected an integer weight, got %s", job->set->weight_path,
			  ec_jtype_name(v->type));
		return -1;
	}
	if (ec_dec_parse(&d, v->p, v->n, err, sizeof(err)) < 0 || ec_dec_rescale(&whole, d, 0) < 0 ||
	    ec_dec_cmp(whole, d) != 0 || whole.coef > INT32_MAX || whole.coef < -INT32_MAX) {
		ec_reject(&job->pol, line, "%s: expected an integer weight, got %.*s", job->set->weight_path,
			  (int)(v->n > 40 ? 40 : v->n), v->p);
		return -1;
	}
	/* A weight like 1.0 is 1; 1.5 was refused above by the comparison. */
	*w = (int64_t)whole.coef;
	return 0;
}

/* The group key: each group-by value's JSON text (strings canonical), joined by 0x1f. */
static void build_key(struct job *job)
{
	size_t i;

	ec_buf_reset(&job->key);
	for (i = 0; i < job->ngroups; i++) {
		const struct ec_jval *v = &job->slots[job->group_slots[i]];
		size_t n;
		const char *raw;

		if (i)
			ec_buf_addch(&job->key, '\x1f');
		if (v->type == EC_J_MISSING) {
			ec_buf_add(&job->key, "null", 4);
		} else if (v->type == EC_J_STRING && v->escaped) {
			struct ec_buf s = EC_BUF_INIT;
			ec_jval_str(v, &s);
			ec_jsonw_str(&job->key, s.buf ? s.buf : "", s.len);
			ec_buf_release(&s);
		} else {
			raw = ec_jval_raw(v, &n);
			ec_buf_add(&job->key, raw, n);
		}
	}
	if (!job->key.buf)
		ec_buf_add(&job->key, "", 0);
}

static void write_late(struct job *job, const struct ec_line *line)
{
	job->late_count++;
	if (!job->set->late_path) {
		if (job->late_count == 1)
			ec_warn("%s:%" PRIu64 ": record later than --max-delay + --allowed-lateness; "
				"counted, use --late FILE to keep such records", line->file, line->lineno);
		return;
	}
	if (!job->late && !(job->late = fopen(job->set->late_path, "a")))
		ec_die(EX_CANTCREAT, "cannot open --late file %s: %s", job->set->late_path, strerror(errno));
	if (fwrite(line->p, 1, line->n, job->late) != line->n || putc('\n', job->late) == EOF)
		ec_die(EX_IOERR, "writing --late file %s: %s", job->set->late_path, strerror(errno));
}

static void process_record(struct job *job, const struct ec_line *line)
{
	char err[512];
	int64_t t, w;
	size_t i;
	int late, all_late;

	if (!record_selected(job) || record_time(job, line, &t) < 0 || record_weight(job, line, &w) < 0)
		return;
	for (i = 0; i < job->naggs; i++) {
		static const struct ec_jval missing = { EC_J_MISSING, 0, NULL, 0 };
		const struct ec_jval *v = job->aggs[i].slot >= 0 ? &job->slots[job->aggs[i].slot] : &missing;
		if (ec_agg_prepare(&job->aggs[i], v, &job->inputs[i], err, sizeof(err)) < 0) {
			ec_reject(&job->pol, line, "%s", err);
			return;
		}
	}
	build_key(job);
	late = ec_window_add(job->win, t, job->key.buf, job->key.len, job->inputs, w, &all_late, err, sizeof(err));
	if (late == -1) {
		ec_reject(&job->pol, line, "%s", err);
		return;
	}
	if (late < 0)
		ec_die(EX_DATAERR, "%s:%" PRIu64 ": %s", line->file, line->lineno, err);
	if (all_late)
		write_late(job, line);
	else if (late)
		job->partly_late_count++;
	ec_window_emit(job->win, &job->out);
}

static void flush_out(struct job *job)
{
	ec_out_buf(&job->out);
	ec_buf_reset(&job->out);
}

static void finish(struct job *job, int stopped)
{
	/*
	 * Stopped by a signal in a checkpointed pipeline: the open windows are in
	 * the last snapshot and a restart completes them; writing them now would
	 * write them twice.
	 */
	if (!(stopped && job->stage.checkpointing))
		ec_window_flush(job->win, &job->out);
	flush_out(job);
	if (job->late_count)
		ec_warn("records too late for every window: %" PRIu64 "%s", job->late_count,
			job->set->late_path ? " (written to the --late file)" : "");
	if (job->partly_late_count)
		ec_info("records too late for some of their windows: %" PRIu64, job->partly_late_count);
	if (job->late && fclose(job->late))
		ec_die(EX_IOERR, "closing --late file %s: %s", job->set->late_path, strerror(errno));
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

	for (i = 0; i < job->nwheres; i++)
		free_strings(job->wheres[i].values, job->wheres[i].nvalues);
	free(job->wheres);
	for (i = 0; i < job->naggs; i++)
		ec_agg_spec_release(&job->aggs[i]);
	free(job->aggs);
	free(job->inputs);
	free_strings(job->group_names, job->ngroups);
	free(job->group_slots);
	ec_window_free(job->win);
	ec_tz_free(job->tz);
	ec_pathset_free(job->ps);
	free(job->slots);
	free(job->fingerprint);
	ec_buf_release(&job->out);
	ec_buf_release(&job->key);
	free_strings(set->group_specs, set->ngroup_specs);
	free_strings(set->agg_specs, set->nagg_specs);
	free(set->wheres);
}

int cmd_main(int argc, char **argv)
{
	struct settings set = { .time_unit = EC_UNIT_MS, .window = "tumble 1m" };
	struct job job = { .set = &set, .pol = EC_ERRPOLICY_INIT, .out = EC_BUF_INIT, .key = EC_BUF_INIT };
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
			/* The input is complete: the windows close before the last barrier. */
			if (ec_stage_is_end(&line))
				ec_window_flush(job.win, &job.out);
			ec_stage_control(&job.stage, &line, &job.out);
		}
		if (job.out.len)
			flush_out(&job);
	}
	finish(&job, !ec_run);
	ec_reader_release(&reader);
	job_release(&job);
	return 0;
}
