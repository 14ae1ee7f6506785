/* kafka_list.c: `ec-kcat list`: brokers, topic partitions with leaders and watermarks, and a group's lag, as NDJSON. */
#include "ec.h"
#include "kafka.h"
#include "jsonw.h"
#include "log.h"
#include "opt.h"
#include <inttypes.h>

static void list_brokers(const struct rd_kafka_metadata *md, struct ec_buf *b)
{
	int i;

	for (i = 0; i < md->broker_cnt; i++) {
		ec_buf_addf(b, "{\"broker\":%" PRId32 ",\"host\":", md->brokers[i].id);
		ec_jsonw_cstr(b, md->brokers[i].host);
		ec_buf_addf(b, ",\"port\":%d}\n", md->brokers[i].port);
	}
}

/* The group's committed offsets for every partition of T (offset -1001: none). */
static rd_kafka_topic_partition_list_t *committed(rd_kafka_t *rk, const struct rd_kafka_metadata_topic *t,
						  int64_t timeout_ms)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(t->partition_cnt);
	rd_kafka_resp_err_t err;
	int i;

	for (i = 0; i < t->partition_cnt; i++)
		rd_kafka_topic_partition_list_add(l, t->topic, t->partitions[i].id);
	if ((err = rd_kafka_committed(rk, l, (int)timeout_ms)))
		ec_die(EX_UNAVAILABLE, "committed offsets of %s: %s", t->topic, rd_kafka_err2str(err));
	return l;
}

static void list_partition(rd_kafka_t *rk, const struct ec_kafka_settings *set,
			   const struct rd_kafka_metadata_topic *t, int i, rd_kafka_topic_partition_list_t *cl,
			   struct ec_buf *b)
{
	const struct rd_kafka_metadata_partition *p = &t->partitions[i];
	rd_kafka_topic_partition_t *c;
	rd_kafka_resp_err_t err;
	int64_t lo = -1, hi = -1;
	int j;

	err = rd_kafka_query_watermark_offsets(rk, t->topic, p->id, &lo, &hi, (int)set->timeout_ms);
	if (err)
		ec_die(EX_UNAVAILABLE, "%s/%" PRId32 ": watermarks: %s", t->topic, p->id, rd_kafka_err2str(err));
	ec_buf_addstr(b, "{\"topic\":");
	ec_jsonw_cstr(b, t->topic);
	ec_buf_addf(b, ",\"partition\":%" PRId32 ",\"leader\":%" PRId32 ",\"replicas\":[", p->id, p->leader);
	for (j = 0; j < p->replica_cnt; j++)
		ec_buf_addf(b, "%s%" PRId32, j ? "," : "", p->replicas[j]);
	ec_buf_addf(b, "],\"low\":%" PRId64 ",\"high\":%" PRId64, lo, hi);
	if (cl && (c = rd_kafka_topic_partition_list_find(cl, t->topic, p->id))) {
		ec_buf_addstr(b, ",\"group\":");
		ec_jsonw_cstr(b, set->group);
		if (c->offset >= 0)
			ec_buf_addf(b, ",\"committed\":%" PRId64 ",\"lag\":%" PRId64, c->offset,
				    hi > c->offset ? hi - c->offset : 0);
		else
			ec_buf_addf(b, ",\"committed\":null,\"lag\":%" PRId64, hi - (lo > 0 ? lo : 0));
	}
	ec_buf_addstr(b, "}\n");
}

static int cmp_part(const void *a, const void *b)
{
	const struct rd_kafka_metadata_partition *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static void list_topic(rd_kafka_t *rk, const struct ec_kafka_settings *set, struct rd_kafka_metadata_topic *t,
		       struct ec_buf *b)
{
	rd_kafka_topic_partition_list_t *cl = NULL;
	int i;

	if (t->err)
		ec_die(EX_UNAVAILABLE, "topic %s: %s", t->topic, rd_kafka_err2str(t->err));
	qsort(t->partitions, (size_t)t->partition_cnt, sizeof(*t->partitions), cmp_part);
	if (set->group)
		cl = committed(rk, t, set->timeout_ms);
	for (i = 0; i < t->partition_cnt; i++)
		list_partition(rk, set, t, i, cl, b);
	if (cl)
		rd_kafka_topic_partition_list_destroy(cl);
}

static int cmp_topic(const void *a, const void *b)
{
	const struct rd_kafka_metadata_topic *x = a, *y = b;

	return strcmp(x->topic, y->topic);
}

static const struct rd_kafka_metadata *metadata(rd_kafka_t *rk, const char *topic, int64_t timeout_ms)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_t *rkt = topic ? rd_kafka_topic_new(rk, topic, NULL) : NULL;
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, !topic, rkt, &md, (int)timeout_ms);

	if (rkt)
		rd_kafka_topic_destroy(rkt);
	if (err)
		ec_die(EX_UNAVAILABLE, "metadata: %s", rd_kafka_err2str(err));
	return md;
}

int ec_kafka_list(struct ec_kafka_settings *set)
{
	const struct rd_kafka_metadata *md;
	struct ec_buf b = EC_BUF_INIT;
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	char err[512];
	int i, k;

	if (!(conf = ec_kafka_conf_new(set, err, sizeof(err))))
		ec_usage_error("%s", err);
	if (set->group && ec_kafka_conf_set(conf, "group.id", set->group, err, sizeof(err)) < 0)
		ec_usage_error("-G: %s", err);
	if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))))
		ec_die(EX_SOFTWARE, "%s", err);
	md = metadata(rk, NULL, set->timeout_ms);
	list_brokers(md, &b);
	if (set->ntopics == 0) {
		qsort(md->topics, (size_t)md->topic_cnt, sizeof(*md->topics), cmp_topic);
		for (i = 0; i < md->topic_cnt; i++)
			list_topic(rk, set, &md->topics[i], &b);
	}
	rd_kafka_metadata_destroy(md);
	for (k = 0; k < set->ntopics; k++) {
		md = metadata(rk, set->topics[k], set->timeout_ms);
		for (i = 0; i < md->topic_cnt; i++)
			list_topic(rk, set, &md->topics[i], &b);
		rd_kafka_metadata_destroy(md);
	}
	ec_out_buf(&b);
	ec_buf_release(&b);
	rd_kafka_destroy(rk);
	return 0;
}
