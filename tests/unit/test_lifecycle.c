/* test_lifecycle.c: unit tests for lifecycle machines and the timer queue (lib/lifecycle.c). */
#include "test.h"
#include "lifecycle.h"

static int state(const struct ec_lifecycle *lc, const char *name)
{
	return ec_lifecycle_find(lc, name, strlen(name));
}

static void test_default_machine(void)
{
	struct ec_lifecycle lc;
	char err[256], reason[256];
	static const char *const valid[][2] = {
		{ "NEW", "PAID" }, { "PAID", "SHIPPED" }, { "SHIPPED", "COMPLETED" }, { "NEW", "CANCELLED" },
		{ "PAID", "CANCELLED" }, { "PAID", "REFUNDED" }, { "SHIPPED", "REFUNDED" }, { "COMPLETED", "REFUNDED" },
	};
	size_t i;

	CHECK_INT(ec_lifecycle_parse(&lc, ec_lifecycle_default_text, "default", err, sizeof(err)), 0);
	CHECK_INT(lc.ndeclared, 6);
	for (i = 0; i < EC_ARRAY_SIZE(valid); i++)
		CHECK_INT(ec_lifecycle_check(&lc, state(&lc, valid[i][0]), state(&lc, valid[i][1]), reason,
					     sizeof(reason)), 1);
	CHECK_INT(ec_lifecycle_check(&lc, state(&lc, "NEW"), state(&lc, "SHIPPED"), reason, sizeof(reason)), 0);
	CHECK_STR(reason, "no transition NEW -> SHIPPED");
	CHECK_INT(ec_lifecycle_check(&lc, state(&lc, "CANCELLED"), state(&lc, "PAID"), reason, sizeof(reason)), 0);
	CHECK_STR(reason, "CANCELLED is terminal");
	CHECK(ec_lifecycle_is_terminal(&lc, state(&lc, "REFUNDED")));
	CHECK(!ec_lifecycle_is_terminal(&lc, state(&lc, "COMPLETED")));
	CHECK_INT(ec_lifecycle_check(&lc, -1, state(&lc, "SHIPPED"), reason, sizeof(reason)), 1);
	CHECK_INT(ec_lifecycle_check(&lc, -1, ec_lifecycle_intern(&lc, "LOST", 4), reason, sizeof(reason)), 0);
	CHECK_STR(reason, "unknown state \"LOST\"");
	ec_lifecycle_release(&lc);
}

static int64_t popped_due(struct ec_lc_timers *q, char *key, size_t *klen, int *kind)
{
	struct ec_lc_timer t;
	const char *k;
	int64_t due;

	if (!ec_lc_timers_pop(q, &t))
		return -1;
	k = ec_lc_timer_key(&t, klen);
	memcpy(key, k, *klen);
	key[*klen] = '\0';
	*kind = ec_lc_timer_kind(&t);
	due = t.due;
	ec_lc_timer_release(&t);
	return due;
}

/* Entries come out in due order, keys (short and long) and kinds intact. */
static void test_timer_heap(void)
{
	struct ec_lc_timers q = { 0 };
	char key[128], want[128];
	size_t klen, i;
	int64_t last = INT64_MIN, due;
	int kind;

	CHECK_INT(sizeof(struct ec_lc_timer), 24);
	CHECK(ec_lc_timers_next_due(&q) == INT64_MAX);
	for (i = 0; i < 5000; i++) {
		size_t n = i % 3 ? (size_t)sprintf(key, "%zu", i) : (size_t)sprintf(key, "a-long-order-key-%zu", i);

		ec_lc_timers_push(&q, (int64_t)((i * 7919) % 1000), (int)(i % 2), key, n);
	}
	CHECK_INT(q.n, 5000);
	for (i = 0; i < 5000; i++) {
		due = popped_due(&q, key, &klen, &kind);
		CHECK(due >= last);
		last = due;
		CHECK(strlen(key) == klen);
		CHECK(kind == 0 || kind == 1);
	}
	CHECK_INT(popped_due(&q, key, &klen, &kind), -1);
	ec_lc_timers_push(&q, 5, 1, "x", 1);
	sprintf(want, "%s", "a-key-longer-than-fifteen-bytes");
	ec_lc_timers_push(&q, 3, 0, want, strlen(want));
	CHECK_INT(ec_lc_timers_next_due(&q), 3);
	CHECK_INT(popped_due(&q, key, &klen, &kind), 3);
	CHECK_STR(key, want);
	CHECK_INT(kind, 0);
	CHECK_INT(popped_due(&q, key, &klen, &kind), 5);
	CHECK_STR(key, "x");
	CHECK_INT(kind, 1);
	ec_lc_timers_push(&q, 1, 0, want, strlen(want));
	ec_lc_timers_clear(&q);	/* frees the long key */
	CHECK_INT(q.n, 0);
	ec_lc_timers_release(&q);
}

/* The firing order: due, kind, then shorter keys first, then bytes. */
static void test_timer_order(void)
{
	struct ec_lc_timers q = { 0 };
	struct ec_lc_timer v[6];
	static const char *const want[] = { "9", "b", "10", "aa", "9", "1" };
	const char *k;
	size_t i, n;

	ec_lc_timers_push(&q, 20, 0, "1", 1);
	ec_lc_timers_push(&q, 10, 1, "9", 1);
	ec_lc_timers_push(&q, 10, 0, "aa", 2);
	ec_lc_timers_push(&q, 10, 0, "10", 2);
	ec_lc_timers_push(&q, 10, 0, "9", 1);
	ec_lc_timers_push(&q, 10, 0, "b", 1);
	for (i = 0; i < 6; i++)
		CHECK_INT(ec_lc_timers_pop(&q, &v[i]), 1);
	qsort(v, 6, sizeof(v[0]), ec_lc_timer_cmp);
	for (i = 0; i < 6; i++) {
		k = ec_lc_timer_key(&v[i], &n);
		CHECK(n == strlen(want[i]) && !memcmp(k, want[i], n));
	}
	CHECK_INT(ec_lc_timer_kind(&v[4]), 1);
	CHECK_INT(v[5].due, 20);
	CHECK_INT(ec_lc_timer_cmp(&v[0], &v[0]), 0);
	ec_lc_timers_release(&q);
}

int main(void)
{
	RUN(test_default_machine);
	RUN(test_timer_heap);
	RUN(test_timer_order);
	return test_done();
}
