/* test_hmap.c: unit tests for the open-addressing hash map (lib/hmap.c). */
#include "test.h"
#include "hmap.h"

struct val {
	uint64_t n;
	char tag[12];
};

static size_t make_key(char *out, unsigned i)
{
	/* short keys, and every seventh one long enough to be allocated */
	if (i % 7 == 0)
		return (size_t)sprintf(out, "a-long-key-that-does-not-fit-inline-%u", i);
	return (size_t)sprintf(out, "k%u", i);
}

static void test_put_get(void)
{
	struct ec_hmap m;
	int created = -1;
	struct val *v;

	ec_hmap_init(&m, sizeof(struct val));
	CHECK(ec_hmap_get(&m, "x", 1) == NULL);
	CHECK_INT(ec_hmap_del(&m, "x", 1), 0);
	v = ec_hmap_put(&m, "order-1", 7, &created);
	CHECK_INT(created, 1);
	CHECK_INT(v->n, 0);
	CHECK(((uintptr_t)v & 7) == 0);
	v->n = 42;
	v = ec_hmap_put(&m, "order-1", 7, &created);
	CHECK_INT(created, 0);
	CHECK_INT(v->n, 42);
	v = ec_hmap_get(&m, "order-1", 7);
	CHECK(v && v->n == 42);
	CHECK(ec_hmap_get(&m, "order-", 6) == NULL);
	CHECK(ec_hmap_get(&m, "order-1x", 8) == NULL);
	/* empty key and keys at the inline boundary */
	CHECK(ec_hmap_put(&m, "", 0, &created) && created == 1);
	CHECK(ec_hmap_put(&m, "123456789012345", 15, &created) && created == 1);
	CHECK(ec_hmap_put(&m, "1234567890123456", 16, &created) && created == 1);
	CHECK(ec_hmap_get(&m, "", 0) != NULL);
	CHECK(ec_hmap_get(&m, "1234567890123456", 16) != NULL);
	CHECK_INT(ec_hmap_count(&m), 4);
	CHECK_INT(m.long_key_bytes, 16);
	CHECK_INT(ec_hmap_del(&m, "1234567890123456", 16), 1);
	CHECK_INT(m.long_key_bytes, 0);
	CHECK_INT(ec_hmap_count(&m), 3);
	{
		struct ec_hmap_iter it;
		struct ec_hmap_entry e;
		char *k = NULL;

		ec_hmap_iter_init(&it, &m);
		while (ec_hmap_iter_next(&it, &e))
			if (e.klen == 7)
				k = xstrndup(e.key, e.klen);
		CHECK_STR(k, "order-1");
		free(k);
	}
	ec_hmap_release(&m);
	CHECK_INT(ec_hmap_count(&m), 0);
	CHECK(ec_hmap_get(&m, "order-1", 7) == NULL);
}

/* Many inserts and deletes against a plain array that says what must be there. */
static void test_against_reference(void)
{
	enum { N = 20000 };
	static unsigned char present[N];
	struct ec_hmap m;
	unsigned seed = 12345, i, round;
	size_t want = 0;
	char key[64];

	memset(present, 0, sizeof(present));
	ec_hmap_init(&m, sizeof(uint32_t));
	for (round = 0; round < 200000; round++) {
		size_t klen;
		uint32_t *v;

		seed = seed * 1103515245u + 12345u;
		i = (seed >> 8) % N;
		klen = make_key(key, i);
		if ((seed >> 4) % 3) {
			int created;

			v = ec_hmap_put(&m, key, klen, &created);
			if (created != !present[i])
				CHECK(!"created flag wrong");
			if (created) {
				*v = i;
				present[i] = 1;
				want++;
			} else if (*v != i) {
				CHECK(!"value lost");
			}
		} else if (ec_hmap_del(&m, key, klen) != present[i]) {
			CHECK(!"delete result wrong");
		} else if (present[i]) {
			present[i] = 0;
			want--;
		}
	}
	CHECK_INT(ec_hmap_count(&m), want);
	for (i = 0; i < N; i++) {
		uint32_t *v = ec_hmap_get(&m, key, make_key(key, i));

		if (present[i] ? !v || *v != i : v != NULL)
			CHECK(!"final contents wrong");
	}
	ec_hmap_release(&m);
}

/* Iteration sees each entry once, also when deleting on the way. */
static void test_iterate_and_delete(void)
{
	enum { N = 5000 };
	static unsigned char seen[N];
	struct ec_hmap m;
	struct ec_hmap_iter it;
	struct ec_hmap_entry e;
	char key[64];
	unsigned i;
	size_t visits = 0;

	ec_hmap_init(&m, sizeof(uint32_t));
	for (i = 0; i < N; i++)
		*(uint32_t *)ec_hmap_put(&m, key, make_key(key, i), NULL) = i;
	memset(seen, 0, sizeof(seen));
	ec_hmap_iter_init(&it, &m);
	while (ec_hmap_iter_next(&it, &e)) {
		uint32_t v = *(uint32_t *)e.value;

		CHECK_INT(e.klen, make_key(key, v));
		CHECK(!memcmp(e.key, key, e.klen));
		seen[v]++;
		visits++;
		if (v % 2)
			ec_hmap_iter_del(&it);
	}
	CHECK_INT(visits, N);
	for (i = 0; i < N; i++)
		if (seen[i] != 1)
			CHECK(!"entry not seen exactly once");
	CHECK_INT(ec_hmap_count(&m), N / 2);
	for (i = 0; i < N; i++)
		if ((ec_hmap_get(&m, key, make_key(key, i)) != NULL) != (i % 2 == 0))
			CHECK(!"wrong entries deleted");
	/* delete everything while iterating */
	ec_hmap_iter_init(&it, &m);
	while (ec_hmap_iter_next(&it, &e))
		ec_hmap_iter_del(&it);
	CHECK_INT(ec_hmap_count(&m), 0);
	CHECK_INT(m.long_key_bytes, 0);
	ec_hmap_release(&m);
}

static void test_clear_reserve(void)
{
	struct ec_hmap m;
	char key[64];
	unsigned i;
	size_t cap;

	ec_hmap_init(&m, 3);
	CHECK_INT(m.slot_size, 24);
	ec_hmap_reserve(&m, 1000);
	cap = m.cap;
	CHECK(cap >= 1334);
	for (i = 0; i < 1000; i++)
		ec_hmap_put(&m, key, make_key(key, i), NULL);
	CHECK_INT(m.cap, cap);
	CHECK(ec_hmap_memory(&m) >= cap * 24);
	ec_hmap_clear(&m);
	CHECK_INT(ec_hmap_count(&m), 0);
	CHECK(ec_hmap_get(&m, "k1", 2) == NULL);
	CHECK(ec_hmap_put(&m, "k1", 2, NULL) != NULL);
	CHECK_INT(ec_hmap_count(&m), 1);
	ec_hmap_release(&m);
	CHECK_INT(ec_hmap_hash("abc", 3), ec_hmap_hash("abc", 3));
	CHECK(ec_hmap_hash("abc", 3) != ec_hmap_hash("abd", 3));
}

int main(void)
{
	RUN(test_put_get);
	RUN(test_against_reference);
	RUN(test_iterate_and_delete);
	RUN(test_clear_reserve);
	return test_done();
}
