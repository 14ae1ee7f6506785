/* kafka_mock.c: `ec-kcat mock`: a librdkafka mock cluster on loopback, steered by commands on stdin. */
#include "ec.h"
#include "kafka.h"
#include "log.h"
#include <errno.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <unistd.h>

/* Kafka protocol API keys by name, for `errors APIKEY N ERRNAME`. */
static const struct {
	const char *name;
	int16_t key;
} api_keys[] = {
	{ "Produce", 0 }, { "Fetch", 1 }, { "ListOffsets", 2 }, { "Metadata", 3 },
	{ "OffsetCommit", 8 }, { "OffsetFetch", 9 }, { "FindCoordinator", 10 }, { "JoinGroup", 11 },
	{ "Heartbeat", 12 }, { "LeaveGroup", 13 }, { "SyncGroup", 14 }, { "ApiVersions", 18 },
	{ "InitProducerId", 22 }, { "AddPartitionsToTxn", 24 }, { "AddOffsetsToTxn", 25 },
	{ "EndTxn", 26 }, { "TxnOffsetCommit", 28 },
};

static int parse_api_key(const char *s, int16_t *key)
{
	char *end;
	long v;
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(api_keys); i++)
		if (!strcasecmp(s, api_keys[i].name)) {
			*key = api_keys[i].key;
			return 0;
		}
	v = strtol(s, &end, 10);
	if (*end || end == s || v < 0 || v > 100)
		return -1;
	*key = (int16_t)v;
	return 0;
}

/* An error by its name as rd_kafka_err2name spells it ("NOT_LEADER_FOR_PARTITION"), or its number. */
static int parse_err(const char *s, rd_kafka_resp_err_t *err)
{
	const struct rd_kafka_err_desc *d;
	size_t n, i;
	char *end;
	long v;

	rd_kafka_get_err_descs(&d, &n);
	for (i = 0; i < n; i++)
		if (d[i].name && !strcasecmp(s, d[i].name)) {
			*err = d[i].code;
			return 0;
		}
	v = strtol(s, &end, 10);
	if (*end || end == s)
		return -1;
	*err = (rd_kafka_resp_err_t)v;
	return 0;
}

/* Create NAME, or NAME:P (P partitions, else DEFAULT_PARTS), replication = brokers (at most 3). */
static int create_topic(rd_kafka_mock_cluster_t *mc, const char *spec, int default_parts, int brokers)
{
	char *name = xstrdup(spec), *colon = strrchr(name, ':'), *end;
	long parts = default_parts;
	rd_kafka_resp_err_t err;
	int ret = -1;

	if (colon) {
		*colon = '\0';
		parts = strtol(colon + 1, &end, 10);
		if (*end || parts < 1 || parts > 100000) {
			ec_error("topic %s: bad partition count", spec);
			goto cleanup;
		}
	}
	if (!ec_kafka_topic_valid(name, strlen(name))) {
		ec_error("topic '%s': not a valid topic name", name);
		goto cleanup;
	}
	err = rd_kafka_mock_topic_create(mc, name, (int)parts, brokers < 3 ? brokers : 3);
	if (err) {
		ec_error("topic %s: %s", name, rd_kafka_err2str(err));
		goto cleanup;
	}
	ret = 0;
cleanup:
	free(name);
	return ret;
}

static int cmd_errors(rd_kafka_mock_cluster_t *mc, char **w, int n)
{
	rd_kafka_resp_err_t err, *errs;
	int16_t key;
	char *end;
	long cnt;
	int i;

	if (n != 4 || parse_api_key(w[1], &key) < 0 || (cnt = strtol(w[2], &end, 10)) < 1 || *end || cnt > 10000 ||
	    parse_err(w[3], &err) < 0)
		return -1;
	errs = xcalloc((size_t)cnt, sizeof(*errs));
	for (i = 0; i < cnt; i++)
		errs[i] = err;
	rd_kafka_mock_push_request_errors_array(mc, key, (size_t)cnt, errs);
	free(errs);
	return 0;
}

static int parse_broker(const char *s, int32_t *id)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < 1 || v > INT32_MAX)
		return -1;
	*id = (int32_t)v;
	return 0;
}

/* Run one command line; 0, or -1 after a message. */
static int run_command(rd_kafka_mock_cluster_t *mc, char *line, int default_parts, int brokers)
{
	char *w[8], *save = NULL, *tok;
	int n = 0;
	int32_t id;
	long ms;
	char *end, spec[512];

	for (tok = strtok_r(line, " \t\r\n", &save); tok && n < 8; tok = strtok_r(NULL, " \t\r\n", &save))
		w[n++] = tok;
	if (n == 0)
		return 0;
	if (!strcmp(w[0], "down") && n == 2 && parse_broker(w[1], &id) == 0)
		return rd_kafka_mock_broker_set_down(mc, id) ? -1 : 0;
	if (!strcmp(w[0], "up") && n == 2 && parse_broker(w[1], &id) == 0)
		return rd_kafka_mock_broker_set_up(mc, id) ? -1 : 0;
	if (!strcmp(w[0], "rtt") && n == 3 && parse_broker(w[1], &id) == 0) {
		ms = strtol(w[2], &end, 10);
		if (*end || ms < 0 || ms > 3600000)
			goto usage;
		return rd_kafka_mock_broker_set_rtt(mc, id, (int)ms) ? -1 : 0;
	}
	if (!strcmp(w[0], "errors") && n == 4)
		return cmd_errors(mc, w, n) < 0 ? (ec_error("errors APIKEY N ERRNAME: bad arguments"), -1) : 0;
	if (!strcmp(w[0], "clear") && n == 2) {
		int16_t key;

		if (parse_api_key(w[1], &key) < 0)
			goto usage;
		rd_kafka_mock_clear_request_errors(mc, key);
		return 0;
	}
	if (!strcmp(w[0], "topic") && (n == 2 || n == 3)) {
		snprintf(spec, sizeof(spec), "%s%s%s", w[1], n == 3 ? ":" : "", n == 3 ? w[2] : "");
		return create_topic(mc, spec, default_parts, brokers);
	}
usage:
	ec_error("unknown mock command '%s' (down, up, rtt, errors, clear, topic)", w[0]);
	return -1;
}

/* Wait up to MS for stdin; 1 readable, 0 not. */
static int stdin_ready(int ms)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };

	return poll(&pfd, 1, ms) > 0;
}

/* Commands until EOF, then just the signal: EOF is not a reason to stop. */
static void command_loop(rd_kafka_mock_cluster_t *mc, int default_parts, int brokers)
{
	struct ec_buf in = EC_BUF_INIT;
	char chunk[4096], *nl;
	const char *reply;
	int eof = 0;
	ssize_t r;

	while (ec_run) {
		if (eof || !stdin_ready(200)) {
			if (eof)
				poll(NULL, 0, 200);
			continue;
		}
		r = read(0, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			eof = 1;
			continue;
		}
		ec_buf_add(&in, chunk, (size_t)r);
		while ((nl = memchr(in.buf, '\n', in.len))) {
			*nl = '\0';
			reply = run_command(mc, in.buf, default_parts, brokers) == 0 ? "ok\n" : "error\n";
			ec_out_write(reply, strlen(reply));
			ec_out_flush();
			memmove(in.buf, nl + 1, in.len - (size_t)(nl + 1 - in.buf));
			in.len -= (size_t)(nl + 1 - in.buf);
		}
	}
	ec_buf_release(&in);
}

/* The host handle has no brokers to talk to; its complaints about that are noise. */
static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

int ec_kafka_mock(struct ec_kafka_settings *set)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_mock_cluster_t *mc;
	char err[512];
	rd_kafka_t *rk;
	int i, ret = EX_SOFTWARE;

	/* The handle only hosts the cluster; it never talks to it. */
	rd_kafka_conf_set_log_cb(conf, quiet_log);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk)
		ec_die(EX_SOFTWARE, "%s", err);
	mc = rd_kafka_mock_cluster_new(rk, set->mock_brokers);
	if (!mc) {
		ec_error("cannot start the mock cluster");
		goto cleanup;
	}
	for (i = 0; i < set->ntopics; i++)
		if (create_topic(mc, set->topics[i], set->mock_partitions, set->mock_brokers) < 0) {
			ret = EX_USAGE;
			goto cleanup_mc;
		}
	ec_out_write(rd_kafka_mock_cluster_bootstraps(mc), strlen(rd_kafka_mock_cluster_bootstraps(mc)));
	ec_out_write("\n", 1);
	ec_out_flush();
	command_loop(mc, set->mock_partitions, set->mock_brokers);
	ret = 0;
cleanup_mc:
	rd_kafka_mock_cluster_destroy(mc);
cleanup:
	rd_kafka_destroy(rk);
	return ret;
}
