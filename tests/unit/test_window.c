/* test_window.c: unit tests of window specs and assignment, aggregates and the window store. */
#include "ec.h"
#include "window.h"
#include "test.h"

#define MIN 60000LL
#define HOUR 3600000LL

static void test_spec_parse(void)
{
	struct ec_winspec ws;
	char err[256];

	CHECK_INT(ec_winspec_parse(&ws, "tumble 1m", NULL, err, sizeof(err)), 0);
	CHECK_INT(ws.kind, EC_WIN_TUMBLE);
	CHECK_INT(ws.size, MIN);
	CHECK_INT(ec_winspec_parse(&ws, "hop 10m every 1m", NULL, err, sizeof(err)), 0);
	CHECK_INT(ws.kind, EC_WIN_HOP);
	CHECK_INT(ws.step, MIN);
	CHECK_INT(ec_winspec_max_windows(&ws), 10);
	CHECK_INT(ec_winspec_parse(&ws, "session 30m", NULL, err, sizeof(err)), 0);
	CHECK_INT(ws.kind, EC_WIN_SESSION);
	CHECK_INT(ec_winspec_parse(&ws, "tumble 1mo", NULL, err, sizeof(err)), 0);
	CHECK_INT(ws.cal_unit, 'M');
	CHECK_INT(ec_winspec_parse(&ws, "hop 10m every 3m", NULL, err, sizeof(err)), -1);
	CHECK(strstr(err, "multiple of the step") != NULL);
	CHECK_INT(ec_winspec_parse(&ws, "tumble", NULL, err, sizeof(err)), -1);
	CHECK_INT(ec_winspec_parse(&ws, "tumble 5", NULL, err, sizeof(err)), -1);
	CHECK_INT(ec_winspec_parse(&ws, "slide 1m", NULL, err, sizeof(err)), -1);
}

static void test_assign(void)
{
	struct ec_winspec ws;
	int64_t s[64], e[64];
	char err[256];
	size_t n;

	ec_winspec_parse(&ws, "tumble 1m", NULL, err, sizeof(err));
	n = ec_winspec_assign(&ws, -1, s, e);
	CHECK(n == 1 && s[0] == -MIN && e[0] == 0);	/* before 1970 floors down */
	ec_winspec_parse(&ws, "hop 3m every 1m", NULL, err, sizeof(err));
	n = ec_winspec_assign(&ws, 5 * MIN + 10, s, e);
	CHECK_INT(n, 3);
	CHECK(s[0] == 3 * MIN && e[0] == 6 * MIN);
	CHECK(s[2] == 5 * MIN && e[2] == 8 * MIN);
	ec_winspec_parse(&ws, "cumulate 1h every 15m", NULL, err, sizeof(err));
	n = ec_winspec_assign(&ws, 20 * MIN, s, e);
	CHECK_INT(n, 3);	/* [0,30m) [0,45m) [0,60m) */
	CHECK(s[0] == 0 && e[0] == 30 * MIN && e[2] == HOUR);
}

/* Feed (time, key, amount) records into a store and return its output. */
static void feed(struct ec_window *w, const struct ec_agg_spec *aggs, size_t naggs,
		 int64_t t, const char *key, const char *amount, int64_t weight, struct ec_buf *out)
{
	char quoted[64];
	struct ec_jval v = { EC_J_STRING, 0, quoted + 1, strlen(amount) };
	struct ec_agg_input in[4];
	char err[256];
	size_t i;
	int all_late;

	/* The value's bytes sit between quotes, as in a scanned line. */
	snprintf(quoted, sizeof(quoted), "\"%s\"", amount);
	for (i = 0; i < naggs; i++)
		CHECK_INT(ec_agg_prepare(&aggs[i], &v, &in[i], err, sizeof(err)), 0);
	CHECK(ec_window_add(w, t, key, strlen(key), in, weight, &all_late, err, sizeof(err)) >= 0);
	ec_window_emit(w, out);
}

static void test_store_tumbling_sum_and_count(void)
{
	struct ec_agg_spec aggs[2];
	char *names[] = { "category" };
	struct ec_window_config cfg = { .aggs = aggs, .naggs = 2, .group_names = names, .ngroups = 1 };
	struct ec_buf out = EC_BUF_INIT;
	struct ec_window *w;
	char err[256];

	ec_agg_spec_parse(&aggs[0], "gmv=sum(.amount)", err, sizeof(err));
	ec_agg_spec_parse(&aggs[1], "n=count()", err, sizeof(err));
	ec_winspec_parse(&cfg.spec, "tumble 1m", NULL, err, sizeof(err));
	w = ec_window_new(&cfg);
	feed(w, aggs, 2, 1000, "\"books\"", "0.10", 1, &out);
	feed(w, aggs, 2, 2000, "\"books\"", "0.20", 1, &out);
	feed(w, aggs, 2, 3000, "\"art\"", "5", 1, &out);
	CHECK_INT(out.len, 0);
	feed(w, aggs, 2, MIN, "\"books\"", "1.00", 1, &out);
	CHECK_STR(out.buf,
		  "{\"window_start\":\"1970-01-01T00:00:00.000Z\",\"window_end\":\"1970-01-01T00:01:00.000Z\",\"category\":\"art\",\"gmv\":5,\"n\":1}\n"
		  "{\"window_start\":\"1970-01-01T00:00:00.000Z\",\"window_end\":\"1970-01-01T00:01:00.000Z\",\"category\":\"books\",\"gmv\":0.30,\"n\":2}\n");
	ec_buf_reset(&out);
	/* A retraction of the 1.00 line leaves zero with the scale kept. */
	feed(w, aggs, 2, MIN + 5, "\"books\"", "1.00", -1, &out);
	ec_window_flush(w, &out);
	CHECK_STR(out.buf,
		  "{\"window_start\":\"1970-01-01T00:01:00.000Z\",\"window_end\":\"1970-01-01T00:02:00.000Z\",\"category\":\"books\",\"gmv\":0.00,\"n\":0}\n");
	ec_window_free(w);
	ec_agg_spec_release(&aggs[0]);
	ec_agg_spec_release(&aggs[1]);
	ec_buf_release(&out);
}

static void test_store_snapshot_roundtrip(void)
{
	struct ec_agg_spec aggs[1];
	char *names[] = { "k" };
	struct ec_window_config cfg = { .aggs = aggs, .naggs = 1, .group_names = names, .ngroups = 1 };
	struct ec_buf out1 = EC_BUF_INIT, out2 = EC_BUF_INIT, snap = EC_BUF_INIT;
	struct ec_window *a, *b;
	char err[256];

	ec_agg_spec_parse(&aggs[0], "d=count_distinct(.x)", err, sizeof(err));
	ec_winspec_parse(&cfg.spec, "session 10s", NULL, err, sizeof(err));
	a = ec_window_new(&cfg);
	feed(a, aggs, 1, 1000, "1", "p", 1, &out1);
	feed(a, aggs, 1, 5000, "1", "q", 1, &out1);
	ec_window_save(a, &snap);
	b = ec_window_new(&cfg);
	CHECK_INT(ec_window_load(b, snap.buf, snap.len, err, sizeof(err)), 0);
	feed(a, aggs, 1, 9000, "1", "p", 1, &out1);
	feed(b, aggs, 1, 9000, "1", "p", 1, &out2);
	ec_window_flush(a, &out1);
	ec_window_flush(b, &out2);
	CHECK_STR(out2.buf, out1.buf);
	CHECK_STR(out1.buf, "{\"window_start\":\"1970-01-01T00:00:01.000Z\",\"window_end\":\"1970-01-01T00:00:19.000Z\",\"k\":1,\"d\":2}\n");
	ec_window_free(a);
	ec_window_free(b);
	ec_agg_spec_release(&aggs[0]);
	ec_buf_release(&out1);
	ec_buf_release(&out2);
	ec_buf_release(&snap);
}

static void test_agg_spec_errors(void)
{
	struct ec_agg_spec s;
	char err[256];

	CHECK_INT(ec_agg_spec_parse(&s, "median(.x)", err, sizeof(err)), -1);
	CHECK(strstr(err, "unknown function 'median'") != NULL);
	CHECK_INT(ec_agg_spec_parse(&s, "sum()", err, sizeof(err)), -1);
	CHECK(strstr(err, "needs a field path") != NULL);
	CHECK_INT(ec_agg_spec_parse(&s, "gmv=sum(.a[\"x=y\"])", err, sizeof(err)), 0);
	CHECK_STR(s.name, "gmv");
	CHECK_STR(s.path, ".a[\"x=y\"]");
	ec_agg_spec_release(&s);
	CHECK_INT(ec_agg_spec_parse(&s, "count(.x)", err, sizeof(err)), 0);
	CHECK_INT(s.fn, EC_AGG_COUNT_PATH);
	ec_agg_spec_release(&s);
}

int main(void)
{
	RUN(test_spec_parse);
	RUN(test_assign);
	RUN(test_store_tumbling_sum_and_count);
	RUN(test_store_snapshot_roundtrip);
	RUN(test_agg_spec_errors);
	return test_done();
}
