/* test_pgspool.c: streamed transactions kept until their commit, rolled-back parts left out. */
#include "test.h"
#include "pgspool.h"

static struct ec_buf seen;

static int collect(void *ctx, uint64_t lsn, const char *data, size_t n)
{
	(void)ctx;
	ec_buf_addf(&seen, "%llu:%.*s ", (unsigned long long)lsn, (int)n, data);
	return 0;
}

static int stop_at_two(void *ctx, uint64_t lsn, const char *data, size_t n)
{
	collect(ctx, lsn, data, n);
	return lsn == 2 ? 7 : 0;
}

static void test_commit_in_order_without_aborted_subtransactions(void)
{
	struct ec_pgspool *sp = ec_pgspool_new();
	char err[256];

	CHECK(ec_pgspool_add(sp, 10, 10, 1, "a", 1, err, sizeof(err)) == 0);
	CHECK(ec_pgspool_add(sp, 20, 20, 2, "x", 1, err, sizeof(err)) == 0);
	CHECK(ec_pgspool_add(sp, 10, 11, 3, "rolled back", 11, err, sizeof(err)) == 0);
	CHECK(ec_pgspool_add(sp, 10, 12, 4, "b", 1, err, sizeof(err)) == 0);
	CHECK(ec_pgspool_add(sp, 10, 10, 5, "", 0, err, sizeof(err)) == 0);
	CHECK_INT(ec_pgspool_count(sp), 2);
	ec_pgspool_abort(sp, 10, 11);
	ec_buf_reset(&seen);
	CHECK_INT(ec_pgspool_commit(sp, 10, collect, NULL, err, sizeof(err)), 0);
	CHECK_STR(seen.buf, "1:a 4:b 5: ");
	CHECK_INT(ec_pgspool_count(sp), 1);
	/* A whole transaction aborted: nothing is left to commit. */
	ec_pgspool_abort(sp, 20, 20);
	ec_buf_reset(&seen);
	CHECK_INT(ec_pgspool_commit(sp, 20, collect, NULL, err, sizeof(err)), 0);
	CHECK(seen.len == 0 && ec_pgspool_count(sp) == 0);
	ec_pgspool_free(sp);
}

static void test_callback_stops_and_clear(void)
{
	struct ec_pgspool *sp = ec_pgspool_new();
	char err[256];
	int i;

	for (i = 1; i <= 3; i++)
		CHECK(ec_pgspool_add(sp, 5, 5, (uint64_t)i, "m", 1, err, sizeof(err)) == 0);
	ec_buf_reset(&seen);
	CHECK_INT(ec_pgspool_commit(sp, 5, stop_at_two, NULL, err, sizeof(err)), 7);
	CHECK_STR(seen.buf, "1:m 2:m ");
	CHECK(ec_pgspool_add(sp, 6, 6, 1, "m", 1, err, sizeof(err)) == 0);
	ec_pgspool_clear(sp);
	CHECK_INT(ec_pgspool_count(sp), 0);
	ec_pgspool_free(sp);
}

int main(void)
{
	RUN(test_commit_in_order_without_aborted_subtransactions);
	RUN(test_callback_stops_and_clear);
	ec_buf_release(&seen);
	return test_done();
}
