/* test_kafka.c: unit tests of ec-kcat's pure logic: topic templates, partition lists, times, the search by timestamp, dedup marks. */
#include "ec.h"
#include "kafka.h"
#include "test.h"

static void test_template(void)
{
	struct ec_pathset *ps = ec_pathset_new();
	const char *line = "{\"source\":{\"schema\":\"public\",\"table\":\"orders\",\"n\":3},\"bad\":\"a b\"}";
	struct ec_buf out = EC_BUF_INIT;
	struct ec_kafka_tmpl *t, *t2, *t3;
	struct ec_jval slots[8];
	struct ec_jerr jerr;
	char err[256];

	t = ec_kafka_tmpl_new("shop.{.source.schema}.{.source.table}-{.source.n}", ps, err, sizeof(err));
	t2 = ec_kafka_tmpl_new("x.{.missing}", ps, err, sizeof(err));
	t3 = ec_kafka_tmpl_new("x.{.bad}", ps, err, sizeof(err));
	CHECK(t && t2 && t3);
	CHECK(!ec_kafka_tmpl_is_static(t));
	CHECK_INT(ec_json_scan(ps, line, strlen(line), slots, &jerr), 0);
	CHECK_INT(ec_kafka_tmpl_render(t, slots, &out, err, sizeof(err)), 0);
	CHECK_STR(out.buf, "shop.public.orders-3");
	CHECK_INT(ec_kafka_tmpl_render(t2, slots, &out, err, sizeof(err)), -1);
	CHECK_STR(err, "topic: .missing is missing");
	CHECK_INT(ec_kafka_tmpl_render(t3, slots, &out, err, sizeof(err)), -1);
	CHECK_STR(err, "topic: 'x.a b' is not a valid topic name");
	CHECK(ec_kafka_tmpl_new("x.{.a", ps, err, sizeof(err)) == NULL);
	CHECK(ec_kafka_tmpl_new("x.{a}", ps, err, sizeof(err)) == NULL);
	ec_kafka_tmpl_free(t);
	ec_kafka_tmpl_free(t2);
	ec_kafka_tmpl_free(t3);
	t = ec_kafka_tmpl_new("plain", ps, err, sizeof(err));
	CHECK(ec_kafka_tmpl_is_static(t));
	ec_kafka_tmpl_free(t);
	ec_pathset_free(ps);
	ec_buf_release(&out);
}

static void test_topic_valid(void)
{
	CHECK(ec_kafka_topic_valid("shop.public.orders_v2-x", 23));
	CHECK(!ec_kafka_topic_valid("", 0));
	CHECK(!ec_kafka_topic_valid(".", 1));
	CHECK(!ec_kafka_topic_valid("..", 2));
	CHECK(!ec_kafka_topic_valid("a/b", 3));
}

static void test_partitions(void)
{
	int32_t *v = NULL;
	size_t n = 0;
	char err[256];

	CHECK_INT(ec_kafka_parse_partitions("3,0,2-3,7", &v, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 4);
	if (n == 4) {
		CHECK_INT(v[0], 0);
		CHECK_INT(v[1], 2);
		CHECK_INT(v[2], 3);
		CHECK_INT(v[3], 7);
	}
	free(v);
	CHECK_INT(ec_kafka_parse_partitions("1-", &v, &n, err, sizeof(err)), -1);
	CHECK_INT(ec_kafka_parse_partitions("3-1", &v, &n, err, sizeof(err)), -1);
	CHECK_INT(ec_kafka_parse_partitions("a", &v, &n, err, sizeof(err)), -1);
	CHECK_INT(ec_kafka_parse_partitions("1,,2", &v, &n, err, sizeof(err)), -1);
}

static void test_times(void)
{
	int64_t ms = 0, now = 1793491200000LL;
	char err[256];

	CHECK_INT(ec_kafka_parse_time("2026-11-01", now, &ms, err, sizeof(err)), 0);
	CHECK_INT(ms, 1793491200000LL);
	CHECK_INT(ec_kafka_parse_time("2026-11-01T00:00:01.500Z", now, &ms, err, sizeof(err)), 0);
	CHECK_INT(ms, 1793491201500LL);
	CHECK_INT(ec_kafka_parse_time("-2h", now, &ms, err, sizeof(err)), 0);
	CHECK_INT(ms, now - 7200000);
	CHECK_INT(ec_kafka_parse_time("yesterday", now, &ms, err, sizeof(err)), -1);
	CHECK_INT(ec_kafka_parse_time("-2x", now, &ms, err, sizeof(err)), -1);
}

/* A fake partition: timestamps by offset, -1 where a message is gone (compaction). */
struct fake {
	const int64_t *ts;
	int64_t n;
	int calls;
	int fail_at;
};

static int fake_ts(void *ctx, int64_t offset, int64_t *ts)
{
	struct fake *f = ctx;

	f->calls++;
	if (offset == f->fail_at)
		return -1;
	if (offset < 0 || offset >= f->n || f->ts[offset] < 0)
		return 1;
	*ts = f->ts[offset];
	return 0;
}

static void test_search_time(void)
{
	static const int64_t ts[] = { 10, 20, 20, 30, -1, -1, 50, 60, 70, 80 };
	struct fake f = { ts, 10, 0, -1 };

	CHECK_INT(ec_kafka_search_time(0, 10, 5, fake_ts, &f), 0);
	CHECK_INT(ec_kafka_search_time(0, 10, 10, fake_ts, &f), 0);
	CHECK_INT(ec_kafka_search_time(0, 10, 20, fake_ts, &f), 1);
	CHECK_INT(ec_kafka_search_time(0, 10, 21, fake_ts, &f), 3);
	/* Offsets 4 and 5 are gone: reading from 4 reads 6 (ts 50) first, the right start for 40 and 50. */
	CHECK_INT(ec_kafka_search_time(0, 10, 40, fake_ts, &f), 4);
	CHECK_INT(ec_kafka_search_time(0, 10, 50, fake_ts, &f), 4);
	CHECK_INT(ec_kafka_search_time(0, 10, 51, fake_ts, &f), 7);
	CHECK_INT(ec_kafka_search_time(0, 10, 80, fake_ts, &f), 9);
	CHECK_INT(ec_kafka_search_time(0, 10, 81, fake_ts, &f), 10);
	CHECK_INT(ec_kafka_search_time(3, 8, 0, fake_ts, &f), 3);
	/* Logarithmic: a million offsets in a few dozen reads. */
	{
		int64_t *big = xmalloc(sizeof(int64_t) * 1000000);
		struct fake g = { big, 1000000, 0, -1 };
		int64_t i;

		for (i = 0; i < 1000000; i++)
			big[i] = 1000 + i / 3;
		CHECK_INT(ec_kafka_search_time(0, 1000000, 1000 + 123456, fake_ts, &g), 123456 * 3);
		CHECK(g.calls < 40);
		free(big);
	}
	f.fail_at = 5;
	CHECK_INT(ec_kafka_search_time(0, 10, 45, fake_ts, &f), -1);
}

static void test_marks(void)
{
	struct ec_kafka_marks m, m2;
	struct ec_buf json = EC_BUF_INIT, json2 = EC_BUF_INIT;
	char err[256];

	ec_kafka_marks_init(&m);
	CHECK_INT(ec_kafka_marks_admit(&m, "t", 0, "ec", 2, 1), 1);
	CHECK_INT(ec_kafka_marks_admit(&m, "t", 0, "ec", 2, 2), 1);
	/* A replay: not beyond the mark. */
	CHECK_INT(ec_kafka_marks_admit(&m, "t", 0, "ec", 2, 2), 0);
	CHECK_INT(ec_kafka_marks_admit(&m, "t", 0, "ec", 2, 1), 0);
	/* Other partitions and sources have marks of their own. */
	CHECK_INT(ec_kafka_marks_admit(&m, "t", 1, "ec", 2, 1), 1);
	CHECK_INT(ec_kafka_marks_admit(&m, "t", 0, "cdc", 3, 1), 1);
	CHECK_INT(ec_kafka_marks_admit(&m, "a", 10, "ec", 2, 7), 1);
	ec_kafka_marks_json(&m, &json);
	CHECK_STR(json.buf, "{\"a\":{\"10\":{\"ec\":7}},\"t\":{\"0\":{\"cdc\":1,\"ec\":2},\"1\":{\"ec\":1}}}");
	ec_kafka_marks_init(&m2);
	CHECK_INT(ec_kafka_marks_load(&m2, json.buf, err, sizeof(err)), 0);
	ec_kafka_marks_json(&m2, &json2);
	CHECK_STR(json2.buf, json.buf);
	CHECK_INT(ec_kafka_marks_admit(&m2, "t", 0, "ec", 2, 2), 0);
	CHECK_INT(ec_kafka_marks_admit(&m2, "t", 0, "ec", 2, 3), 1);
	CHECK_INT(ec_kafka_marks_load(&m2, "[1]", err, sizeof(err)), -1);
	ec_kafka_marks_release(&m);
	ec_kafka_marks_release(&m2);
	ec_buf_reset(&json);
	ec_kafka_marks_init(&m);
	ec_kafka_marks_json(&m, &json);
	CHECK_STR(json.buf, "{}");
	ec_kafka_marks_release(&m);
	ec_buf_release(&json);
	ec_buf_release(&json2);
}

static void test_parse_u64(void)
{
	uint64_t v = 0;

	CHECK_INT(ec_kafka_parse_u64("18446744073709551615", 20, &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_INT(ec_kafka_parse_u64("18446744073709551616", 20, &v), -1);
	CHECK_INT(ec_kafka_parse_u64("", 0, &v), -1);
	CHECK_INT(ec_kafka_parse_u64("1a", 2, &v), -1);
}

int main(void)
{
	RUN(test_template);
	RUN(test_topic_valid);
	RUN(test_partitions);
	RUN(test_times);
	RUN(test_search_time);
	RUN(test_marks);
	RUN(test_parse_u64);
	return test_done();
}
