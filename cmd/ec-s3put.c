/* ec-s3put: land NDJSON records in a data lake (S3 or a local directory) as partitioned, compressed objects. */
#include "ec.h"
#include "jsonw.h"
#include "lake.h"
#include "log.h"
#include "opt.h"
#include "record.h"
#include "s3.h"
#include "sink.h"
#include "timefmt.h"
#include <errno.h>
#include <inttypes.h>
#include <sys/resource.h>

static const char synopsis[] = "ec-s3put [OPTIONS] DEST [FILE...]";
static const char description[] =
	"Write records to DEST, s3://BUCKET[/PREFIX] or file:///PATH, as compressed NDJSON objects\n"
	"PREFIX/PARTITION/part-EPOCH-SEQ.ndjson.gz, partitioned by --partition, rotated by\n"
	"--max-records, --max-bytes, --max-age and at checkpoint barriers. One line per object\n"
	"written goes to stdout: {\"uri\",\"records\",\"bytes\",\"min_time\",\"max_time\"}.";

enum {
	OPT_TIME_UNIT = EC_OPT_TOOL_BASE,
	OPT_TZ,
	OPT_DEFAULT_PARTITION,
	OPT_LEVEL,
	OPT_TAR,
	OPT_MAX_RECORDS,
	OPT_MAX_BYTES,
	OPT_MAX_AGE,
	OPT_PART_SIZE,
	OPT_ENDPOINT,
	OPT_REGION,
	OPT_PROFILE,
	OPT_PATH_STYLE,
	OPT_VIRTUAL_HOSTED,
	OPT_NO_VERIFY_TLS,
	OPT_CA_FILE,
	OPT_RETRIES,
	OPT_ACK,
	OPT_STATE_DIR,
};

static const struct ec_opt options[] = {
	{ "partition", required_argument, 'p', "TEMPLATE", "key template below PREFIX, e.g. 'dt={time:%Y-%m-%d}/table={.source.table}'" },
	{ "time", required_argument, 't', "PATH", "event time field: RFC 3339 text or a number (default partition dt={time:%Y-%m-%d})" },
	{ "time-unit", required_argument, OPT_TIME_UNIT, "s|ms|us|ns", "unit of numeric times (default ms)" },
	{ "tz", required_argument, OPT_TZ, "ZONE", "time zone of {time:...} (default UTC)" },
	{ "default-partition", required_argument, OPT_DEFAULT_PARTITION, "NAME", "value for a missing or null field (default __HIVE_DEFAULT_PARTITION__)" },
	{ "compression", required_argument, 'z', "gzip|zstd|none", "object compression (default gzip)" },
	{ "level", required_argument, OPT_LEVEL, "N", "compression level (gzip 1-9, default 6; zstd 1-19, default 3)" },
	{ "tar", no_argument, OPT_TAR, NULL, "make each object a tar archive holding one NDJSON member" },
	{ "max-records", required_argument, OPT_MAX_RECORDS, "N", "rotate an object after N records" },
	{ "max-bytes", required_argument, OPT_MAX_BYTES, "SIZE", "rotate after SIZE bytes of uncompressed NDJSON (default 128M)" },
	{ "max-age", required_argument, OPT_MAX_AGE, "DURATION", "rotate when a record's event time is DURATION past the object's first" },
	{ "part-size", required_argument, OPT_PART_SIZE, "SIZE", "multipart upload part size (default 8M, at least 5M)" },
	{ "endpoint", required_argument, OPT_ENDPOINT, "URL", "S3-compatible endpoint (else AWS_ENDPOINT_URL)" },
	{ "region", required_argument, OPT_REGION, "NAME", "region (else AWS_REGION, AWS_DEFAULT_REGION, the profile, us-east-1)" },
	{ "profile", required_argument, OPT_PROFILE, "NAME", "credentials and config profile (else AWS_PROFILE)" },
	{ "path-style", no_argument, OPT_PATH_STYLE, NULL, "address buckets as ENDPOINT/BUCKET (default with --endpoint)" },
	{ "virtual-hosted", no_argument, OPT_VIRTUAL_HOSTED, NULL, "address buckets as BUCKET.ENDPOINT (default on AWS)" },
	{ "no-verify-tls", no_argument, OPT_NO_VERIFY_TLS, NULL, "do not verify the server's TLS certificate" },
	{ "ca-file", required_argument, OPT_CA_FILE, "FILE", "trust the CA certificates in FILE" },
	{ "retries", required_argument, OPT_RETRIES, "N", "retries per request, exponential backoff with jitter (default 8)" },
	{ "ack", required_argument, OPT_ACK, "FILE", "checkpoints: write FILE when a barrier's objects are durable" },
	{ "state-dir", required_argument, OPT_STATE_DIR, "DIR", "keep the intent journal in DIR (required with --ack)" },
	EC_OPTS_INPUT,
	EC_OPTS_COMMON,
	{ NULL, 0, 0, NULL, NULL },
};

struct settings {
	const char *partition;
	const char *time_path;
	enum ec_time_unit time_unit;
	const char *tz;
	const char *default_partition;
	struct ec_lake_config lake;
	struct ec_s3_settings s3;
	const char *ack_path;
	const char *state_dir;
	size_t max_line;
	const char *dest;
};

struct job {
	struct settings *set;
	struct ec_errpolicy pol;
	struct ec_pathset *ps;
	struct ec_jval *slots;
	int time_slot;
	struct ec_tz *tz;
	struct ec_lake_tmpl *tmpl;
	struct ec_lake_dest *dest;
	struct ec_lake *lake;
	struct ec_sink sink;
	struct ec_buf out, part, dflt;
};

static void parse_compression(struct settings *set, const char *arg)
{
	if (!strcmp(arg, "gzip"))
		set->lake.codec = EC_LAKE_GZIP;
	else if (!strcmp(arg, "zstd"))
		set->lake.codec = EC_LAKE_ZSTD;
	else if (!strcmp(arg, "none"))
		set->lake.codec = EC_LAKE_NONE;
	else
		ec_usage_error("--compression must be gzip, zstd or none, not '%s'", arg);
}

/* S3's limits: parts of 5 MiB to 5 GiB. */
static size_t parse_part_size(const char *arg)
{
	size_t v = ec_opt_size("part-size", arg, 0);

	if (v < (5u << 20) || v > ((size_t)5 << 30))
		ec_usage_error("--part-size must be from 5M (S3's minimum part) to 5G, not '%s'", arg);
	return v;
}

/* Options about S3 and checkpoints; 1 if C was one of them. */
static int parse_s3_option(struct settings *set, int c, const char *arg)
{
	switch (c) {
	case OPT_PART_SIZE: set->lake.part_size = parse_part_size(arg); break;
	case OPT_ENDPOINT: set->s3.endpoint = arg; break;
	case OPT_REGION: set->s3.region = arg; break;
	case OPT_PROFILE: set->s3.profile = arg; break;
	case OPT_PATH_STYLE: set->s3.path_style = 1; break;
	case OPT_VIRTUAL_HOSTED: set->s3.path_style = 0; break;
	case OPT_NO_VERIFY_TLS: set->s3.verify_tls = 0; break;
	case OPT_CA_FILE: set->s3.ca_file = arg; break;
	case OPT_RETRIES: set->s3.max_retries = (int)ec_opt_count("retries", arg, 0, 100); break;
	case OPT_ACK: set->ack_path = arg; break;
	case OPT_STATE_DIR: set->state_dir = arg; break;
	default: return 0;
	}
	return 1;
}

static void parse_option(struct settings *set, int c, const char *arg)
{
	switch (c) {
	case 'p': set->partition = arg; break;
	case 't': set->time_path = arg; break;
	case OPT_TIME_UNIT:
		if (ec_time_unit_parse(arg, &set->time_unit) < 0)
			ec_usage_error("--time-unit must be s, ms, us or ns, not '%s'", arg);
		break;
	case OPT_TZ: set->tz = arg; break;
	case OPT_DEFAULT_PARTITION: set->default_partition = arg; break;
	case 'z': parse_compression(set, arg); break;
	case OPT_LEVEL: set->lake.level = (int)ec_opt_count("level", arg, 1, 19); break;
	case OPT_TAR: set->lake.tar = 1; break;
	case OPT_MAX_RECORDS: set->lake.max_records = ec_opt_count("max-records", arg, 1, UINT64_MAX); break;
	case OPT_MAX_BYTES: set->lake.max_bytes = ec_opt_size("max-bytes", arg, 0); break;
	case OPT_MAX_AGE:
		set->lake.max_age = ec_opt_duration("max-age", arg);
		if (set->lake.max_age <= 0)
			ec_usage_error("--max-age: must be positive");
		break;
	case EC_OPT_MAX_LINE: set->max_line = ec_opt_size("max-line", arg, 1); break;
	default:
		if (!parse_s3_option(set, c, arg))
			ec_usage_error("unhandled option");
	}
}

static void check_settings(struct settings *set)
{
	if (set->ack_path && !set->state_dir)
		ec_usage_error("--ack needs --state-dir DIR (the journal that makes a restart remove "
			       "objects of unacknowledged checkpoints)");
	if (set->lake.codec == EC_LAKE_GZIP && set->lake.level > 9)
		ec_usage_error("--level: gzip levels are 1 to 9");
	if (set->lake.max_age && !set->time_path)
		ec_usage_error("--max-age needs --time PATH (it counts event time)");
	if (set->default_partition && !*set->default_partition)
		ec_usage_error("--default-partition cannot be empty");
	if (!set->partition)
		set->partition = set->time_path ? "dt={time:%Y-%m-%d}" : "";
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
		parse_option(set, c, optarg);
	}
	ec_optparser_release(&op);
	if (optind >= argc)
		ec_usage_error("DEST is required: s3://BUCKET[/PREFIX] or file:///PATH");
	set->dest = argv[optind++];
	check_settings(set);
}

/* ---- checkpoints: the sink callbacks (lib/sink.h) ---- */

static int sink_commit(void *ctx, uint64_t id, struct ec_buf *out, char *errstr, size_t errstr_size)
{
	struct job *job = ctx;
	int st;

	if ((st = ec_lake_close_all(job->lake, out, errstr, errstr_size)))
		return st;
	return ec_lake_write_manifest(job->lake, id, errstr, errstr_size);
}

static int sink_undo(void *ctx, const struct ec_sink_intent *in, char *errstr, size_t errstr_size)
{
	struct job *job = ctx;

	ec_debug("restore: removing %s (epoch %" PRIu64 ")", in->key, in->epoch);
	return ec_lake_dest_remove(job->dest, in->key, in->done ? NULL : in->upload_id, errstr, errstr_size);
}

static void sink_abandon(void *ctx)
{
	struct job *job = ctx;

	ec_lake_abort(job->lake);
}

static const struct ec_sink_ops sink_ops = { sink_commit, sink_undo, sink_abandon };

/* A failure ends the run: unfinished uploads are aborted first. */
static void EC_NORETURN fail(struct job *job, int status, const char *err)
{
	ec_lake_abort(job->lake);
	ec_die(status, "%s", err);
}

/* Bad input that will stop the run (--errors fail) must not leave unfinished uploads behind. */
static void before_reject(struct job *job)
{
	if (job->pol.mode == EC_ERRORS_FAIL && !job->pol.dead_letter_path)
		ec_lake_abort(job->lake);
}

/* Many partitions open at once each hold a file: allow as many as the hard limit does. */
static void raise_file_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void setup(struct job *job)
{
	struct settings *set = job->set;
	const char *dflt;
	char err[512];
	int st;

	job->ps = ec_record_pathset_new();
	job->time_slot = set->time_path ? ec_pathset_add_text(job->ps, set->time_path, "--time") : -1;
	if (set->tz && !(job->tz = ec_tz_load(set->tz, err, sizeof(err))))
		ec_usage_error("--tz: %s", err);
	job->tmpl = ec_lake_tmpl_new(set->partition, job->ps, set->time_path != NULL, !ec_tz_is_utc(job->tz),
				     err, sizeof(err));
	if (!job->tmpl)
		ec_usage_error("--partition: %s", err);
	dflt = set->default_partition ? set->default_partition : EC_LAKE_DEFAULT_PARTITION;
	ec_lake_escape(&job->dflt, dflt, strlen(dflt));
	job->slots = xcalloc(ec_pathset_size(job->ps), sizeof(*job->slots));
	if ((st = ec_lake_dest_open(&job->dest, set->dest, &set->s3, err, sizeof(err))))
		ec_die(st, "%s", err);
	ec_sink_init(&job->sink, set->ack_path, set->state_dir, &sink_ops, job);
	set->lake.sink = set->state_dir ? &job->sink : NULL;
	raise_file_limit();
	job->lake = ec_lake_new(&set->lake, job->dest);
}

static int record_time(struct job *job, const struct ec_line *line, int64_t *t)
{
	char err[300];

	if (ec_record_time(&job->slots[job->time_slot], job->set->time_path, job->set->time_unit, t,
			   err, sizeof(err)) == 0)
		return 0;
	before_reject(job);
	ec_reject(&job->pol, line, "%s", err);
	return -1;
}

static void process_record(struct job *job, const struct ec_line *line)
{
	char err[512];
	int64_t t = 0;
	int st;

	if (job->time_slot >= 0 && record_time(job, line, &t) < 0)
		return;
	ec_lake_tmpl_render(job->tmpl, job->slots, t, job->dflt.buf, &job->part);
	st = ec_lake_add(job->lake, job->part.buf, job->part.len, line->p, line->n, t, job->time_slot >= 0,
			 &job->out, err, sizeof(err));
	if (st)
		fail(job, st, err);
}

/*
 * ec_record_scan, with the lake's uploads aborted before a fatal rejection.
 * 1 for a data record, 2 for a control record, 0 if rejected.
 */
static int scan(struct job *job, const struct ec_line *line)
{
	struct ec_jerr jerr;

	if (ec_json_scan(job->ps, line->p, line->n, job->slots, &jerr) < 0) {
		before_reject(job);
		ec_reject(&job->pol, line, "column %zu: %s", jerr.offset + 1, jerr.msg);
		return 0;
	}
	return job->slots[0].type != EC_J_MISSING ? 2 : 1;
}

static void flush_out(struct job *job)
{
	ec_out_buf(&job->out);
	ec_buf_reset(&job->out);
}

/* The end, or SIGTERM: complete every open object and the epoch's manifest. */
static void finish(struct job *job)
{
	char err[512];
	int st;

	if ((st = ec_lake_close_all(job->lake, &job->out, err, sizeof(err))) ||
	    (st = ec_lake_write_manifest(job->lake, job->sink.epoch, err, sizeof(err))))
		fail(job, st, err);
	flush_out(job);
	ec_errpolicy_finish(&job->pol);
}

static void job_release(struct job *job)
{
	ec_lake_free(job->lake);
	ec_sink_release(&job->sink);
	ec_lake_dest_free(job->dest);
	ec_lake_tmpl_free(job->tmpl);
	ec_tz_free(job->tz);
	ec_pathset_free(job->ps);
	free(job->slots);
	ec_buf_release(&job->out);
	ec_buf_release(&job->part);
	ec_buf_release(&job->dflt);
}

int cmd_main(int argc, char **argv)
{
	struct settings set = {
		.time_unit = EC_UNIT_MS,
		.lake = { .codec = EC_LAKE_GZIP, .level = -1, .max_bytes = 128u << 20, .part_size = 8u << 20 },
		.s3 = EC_S3_SETTINGS_INIT,
	};
	struct job job = { .set = &set, .pol = EC_ERRPOLICY_INIT, .out = EC_BUF_INIT };
	struct ec_reader reader;
	struct ec_line line;
	int kind;

	parse_options(&set, &job.pol, argc, argv);
	setup(&job);
	ec_reader_init(&reader, argv + optind, argc - optind, set.max_line, &job.pol);
	while (ec_reader_next(&reader, &line)) {
		kind = scan(&job, &line);
		if (kind == 1) {
			process_record(&job, &line);
		} else if (kind == 2) {
			ec_sink_control(&job.sink, &line, &job.out);
			ec_lake_set_epoch(job.lake, job.sink.epoch);
		}
		if (job.out.len)
			flush_out(&job);
	}
	finish(&job);
	ec_reader_release(&reader);
	job_release(&job);
	return 0;
}
