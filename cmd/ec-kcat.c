/* ec-kcat: NDJSON to and from Kafka: produce, consume, list, and a mock cluster for trying pipelines. */
#include "ec.h"
#include "kafka.h"
#include "log.h"
#include "opt.h"
#include "record.h"

static const char synopsis[] = "ec-kcat produce|consume|list|mock [OPTIONS] [FILE...]";
static const char description[] =
	"produce: each input record becomes a Kafka message (key, topic, headers and timestamp\n"
	"from fields); with --ack it is the sink of a checkpointed pipeline.\n"
	"consume: messages whose values are JSON objects become lines (or --envelope lines);\n"
	"with --ack it is the source of one, dropping replays by the ec-source/ec-pos headers.\n"
	"list: brokers, partitions, watermarks and a group's lag as NDJSON.\n"
	"mock: start a mock Kafka cluster, print its bootstrap servers, obey commands on stdin.";

enum {
	OPT_KEY_FORMAT = EC_OPT_TOOL_BASE,
	OPT_TIMESTAMP,
	OPT_TIME_UNIT,
	OPT_TOMBSTONES,
	OPT_BASE64,
	OPT_UNTIL,
	OPT_PARTITIONS,
	OPT_ACK,
	OPT_STATE_DIR,
	OPT_SOURCE_ID,
	OPT_TRANSACTIONAL_ID,
	OPT_CHECKPOINT_INTERVAL,
	OPT_TIMEOUT,
};

static const struct ec_opt options[] = {
	{ "brokers", required_argument, 'b', "LIST", "bootstrap servers host:port,... (else EC_KAFKA_BROKERS); mock: broker count (default 3)" },
	{ "topic", required_argument, 't', "TOPIC", "topic (consume, list: repeatable; produce: a template like shop.{.source.table}; mock: NAME[:P])" },
	{ "group", required_argument, 'G', "GROUP", "consumer group: subscribe (consume) or show its lag (list)" },
	{ "property", required_argument, 'X', "NAME=VALUE", "set a librdkafka property (repeatable), e.g. -X security.protocol=SASL_SSL" },
	{ "partition", required_argument, 'p', "N", "produce: send every message to partition N" },
	{ "key", required_argument, 'k', "PATH[,PATH...]", "produce: message key from these fields" },
	{ "key-format", required_argument, OPT_KEY_FORMAT, "plain|debezium", "produce: key as the value(s) (default) or Debezium's JSON object" },
	{ "header", required_argument, 'H', "NAME=PATH", "produce: add header NAME from field PATH (repeatable)" },
	{ "timestamp", required_argument, OPT_TIMESTAMP, "PATH", "produce: message timestamp from the event time field PATH" },
	{ "time-unit", required_argument, OPT_TIME_UNIT, "s|ms|us|ns", "unit of numeric times (default ms)" },
	{ "tombstones", no_argument, OPT_TOMBSTONES, NULL, "produce: follow a delete (op \"d\") with a null-value message of its key" },
	{ "envelope", no_argument, 'J', NULL, "consume: wrap messages as {topic,partition,offset,timestamp,key,headers,value}; produce: read that" },
	{ "base64", no_argument, OPT_BASE64, NULL, "consume --envelope: keys and values as base64" },
	{ "from", required_argument, 'o', "WHERE", "consume: beginning, end, stored, OFFSET, or a time (RFC 3339, -2h) (default stored)" },
	{ "until", required_argument, OPT_UNTIL, "TIME", "consume: stop each partition at its first message at or after TIME" },
	{ "exit-at-end", no_argument, 'e', NULL, "consume: exit when every partition is read to its end" },
	{ "count", required_argument, 'c', "N", "consume: exit after N messages" },
	{ "partitions", required_argument, OPT_PARTITIONS, "LIST", "consume: read only these partitions, e.g. 0,2-3; mock: default partition count" },
	{ "ack", required_argument, OPT_ACK, "FILE", "checkpoints: produce writes FILE when a barrier's messages are delivered; consume resumes from it" },
	{ "state-dir", required_argument, OPT_STATE_DIR, "DIR", "produce --ack: a directory for the sink's journal" },
	{ "source-id", required_argument, OPT_SOURCE_ID, "ID", "produce: number messages with headers ec-source ID and ec-pos (default with --ack: ec)" },
	{ "transactional-id", required_argument, OPT_TRANSACTIONAL_ID, "ID", "produce: one Kafka transaction per checkpoint epoch" },
	{ "checkpoint-interval", required_argument, OPT_CHECKPOINT_INTERVAL, "DURATION", "consume --ack: barrier every DURATION (default 5s)" },
	{ "timeout", required_argument, OPT_TIMEOUT, "DURATION", "give up (exit 69) when brokers do not answer for DURATION (default 5m)" },
	EC_OPTS_INPUT,
	EC_OPTS_COMMON,
	{ NULL, 0, 0, NULL, NULL },
};

static void add_arg(char ***v, int *n, const char *arg)
{
	*v = xrealloc(*v, sizeof(**v) * (size_t)(*n + 1));
	(*v)[(*n)++] = (char *)arg;
}

static void parse_key_format(struct ec_kafka_settings *set, const char *arg)
{
	if (!strcmp(arg, "plain"))
		set->key_format = EC_KEY_PLAIN;
	else if (!strcmp(arg, "debezium"))
		set->key_format = EC_KEY_DEBEZIUM;
	else
		ec_usage_error("--key-format must be plain or debezium, not '%s'", arg);
}

/* Options of consume and the checkpoints; 1 if C was one of them. */
static int parse_more(struct ec_kafka_settings *set, int c, const char *arg)
{
	switch (c) {
	case 'J': set->envelope = 1; break;
	case OPT_BASE64: set->base64 = 1; break;
	case 'o': set->from = arg; break;
	case OPT_UNTIL: set->until = arg; break;
	case 'e': set->exit_at_end = 1; break;
	case 'c': set->count = ec_opt_count("count", arg, 1, UINT64_MAX); break;
	case OPT_PARTITIONS: set->partitions = arg; break;
	case OPT_ACK: set->ack_path = arg; break;
	case OPT_STATE_DIR: set->state_dir = arg; break;
	case OPT_SOURCE_ID: set->source_id = arg; break;
	case OPT_TRANSACTIONAL_ID: set->transactional_id = arg; break;
	case OPT_CHECKPOINT_INTERVAL:
		set->checkpoint_interval_ms = ec_opt_duration("checkpoint-interval", arg);
		if (set->checkpoint_interval_ms <= 0)
			ec_usage_error("--checkpoint-interval: must be positive");
		break;
	case OPT_TIMEOUT:
		set->timeout_ms = ec_opt_duration("timeout", arg);
		if (set->timeout_ms <= 0)
			ec_usage_error("--timeout: must be positive");
		break;
	case EC_OPT_MAX_LINE: set->max_line = ec_opt_size("max-line", arg, 1); break;
	default: return 0;
	}
	return 1;
}

static void parse_option(struct ec_kafka_settings *set, int c, const char *arg)
{
	switch (c) {
	case 'b': set->brokers = arg; break;
	case 't': add_arg(&set->topics, &set->ntopics, arg); break;
	case 'G': set->group = arg; break;
	case 'X': add_arg(&set->props, &set->nprops, arg); break;
	case 'p': set->partition = (int32_t)ec_opt_count("partition", arg, 0, INT32_MAX); break;
	case 'k': set->key = arg; break;
	case OPT_KEY_FORMAT: parse_key_format(set, arg); break;
	case 'H': add_arg(&set->headers, &set->nheaders, arg); break;
	case OPT_TIMESTAMP: set->timestamp = arg; break;
	case OPT_TIME_UNIT:
		if (ec_time_unit_parse(arg, &set->time_unit) < 0)
			ec_usage_error("--time-unit must be s, ms, us or ns, not '%s'", arg);
		break;
	case OPT_TOMBSTONES: set->tombstones = 1; break;
	default:
		if (!parse_more(set, c, arg))
			ec_usage_error("unhandled option");
	}
}

/* The mock reads --brokers and --partitions as counts. */
static void mock_counts(struct ec_kafka_settings *set)
{
	set->mock_brokers = set->brokers ? (int)ec_opt_count("brokers", set->brokers, 1, 64) : 3;
	set->mock_partitions = set->partitions ? (int)ec_opt_count("partitions", set->partitions, 1, 100000) : 4;
}

static void check_settings(struct ec_kafka_settings *set, const char *cmd)
{
	int producing = !strcmp(cmd, "produce"), consuming = !strcmp(cmd, "consume");

	if (!strcmp(cmd, "mock")) {
		mock_counts(set);
		return;
	}
	if (!set->brokers)
		set->brokers = getenv("EC_KAFKA_BROKERS");
	if (!set->brokers || !*set->brokers)
		ec_usage_error("no brokers: give -b HOST:PORT,... or set EC_KAFKA_BROKERS");
	if ((producing || consuming) && set->ntopics == 0 && !(producing && set->envelope))
		ec_usage_error("%s needs -t TOPIC", cmd);
	if (producing && set->ntopics > 1)
		ec_usage_error("produce takes one -t TOPIC (a template may name several)");
	if (producing && set->ack_path && !set->state_dir)
		ec_usage_error("--ack needs --state-dir DIR (the sink's journal)");
	if (set->transactional_id && !set->ack_path)
		ec_usage_error("--transactional-id needs --ack: a transaction is a checkpoint epoch");
	if (consuming && set->group && set->partitions)
		ec_usage_error("-G GROUP and --partitions exclude each other (subscribe or assign)");
	if (set->base64 && !set->envelope)
		ec_usage_error("--base64 needs --envelope");
}

static int is_command(const char *s)
{
	return !strcmp(s, "produce") || !strcmp(s, "consume") || !strcmp(s, "list") || !strcmp(s, "mock");
}

int cmd_main(int argc, char **argv)
{
	struct ec_errpolicy pol = EC_ERRPOLICY_INIT;
	struct ec_kafka_settings set = {
		.partition = -1,
		.time_unit = EC_UNIT_MS,
		.checkpoint_interval_ms = 5000,
		.timeout_ms = 300000,
		.pol = &pol,
	};
	struct ec_optparser op;
	const char *cmd = NULL;
	int c, st;

	/* The command comes first and its options after it: option parsing stops at the first operand. */
	if (argc > 1 && is_command(argv[1])) {
		cmd = argv[1];
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	ec_optparser_init(&op, options);
	while ((c = ec_optparser_next(&op, argc, argv)) != -1) {
		if (ec_opt_common(c, optarg, synopsis, description, options) || ec_errpolicy_option(&pol, c, optarg))
			continue;
		parse_option(&set, c, optarg);
	}
	ec_optparser_release(&op);
	if (!cmd && optind >= argc)
		ec_usage_error("a command is required: produce, consume, list or mock");
	if (!cmd)
		cmd = argv[optind++];
	set.files = argv + optind;
	set.nfiles = argc - optind;
	if (!is_command(cmd))
		ec_usage_error("unknown command '%s': produce, consume, list or mock", cmd);
	if (set.nfiles && strcmp(cmd, "produce"))
		ec_usage_error("%s takes no file arguments", cmd);
	check_settings(&set, cmd);
	if (!strcmp(cmd, "produce"))
		st = ec_kafka_produce(&set);
	else if (!strcmp(cmd, "consume"))
		st = ec_kafka_consume(&set);
	else if (!strcmp(cmd, "list"))
		st = ec_kafka_list(&set);
	else
		st = ec_kafka_mock(&set);
	free(set.topics);
	free(set.props);
	free(set.headers);
	return st;
}
