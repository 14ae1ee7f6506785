/* hmap.c: open-addressing hash map with inline short keys (see hmap.h). */
#include "hmap.h"

/*
 * Slot layout, 16 header bytes then the value:
 *   byte 0      tag: 0 empty, 1..16 inline key of (tag - 1) bytes, 0xff long key
 *   bytes 1..15 the inline key
 * or, for a long key,
 *   bytes 4..7  its length (uint32_t), bytes 8..15 a pointer to its bytes.
 * No hash is stored: recomputing it for short keys is cheaper than the
 * memory 5 million slots would spend on it.
 */
#define SLOT_HEADER 16
#define TAG_EMPTY 0
#define TAG_LONG 0xff

static const uint64_t K1 = 0x9e3779b97f4a7c15ULL;
static const uint64_t K2 = 0xbf58476d1ce4e5b9ULL;
static const uint64_t K3 = 0x94d049bb133111ebULL;

static uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Final avalanche so that the low bits (the slot index) depend on every key bit. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= K2;
	x ^= x >> 27;
	x *= K3;
	x ^= x >> 31;
	return x;
}

uint64_t ec_hmap_hash(const void *key, size_t klen)
{
	const unsigned char *p = key;
	uint64_t h = K1 ^ (klen * K3);
	uint64_t tail = 0;

	for (; klen >= 8; p += 8, klen -= 8)
		h = (h ^ mix64(load64(p) + K1)) * K2;
	memcpy(&tail, p, klen);
	h = (h ^ mix64(tail ^ ((uint64_t)klen << 56))) * K1;
	return mix64(h);
}

static unsigned char *slot_at(const struct ec_hmap *m, size_t i)
{
	return m->slots + i * m->slot_size;
}

static size_t slot_klen(const unsigned char *s)
{
	uint32_t len;

	if (s[0] != TAG_LONG)
		return s[0] - 1;
	memcpy(&len, s + 4, sizeof(len));
	return len;
}

static const char *slot_key(const unsigned char *s)
{
	char *p;

	if (s[0] != TAG_LONG)
		return (const char *)s + 1;
	memcpy(&p, s + 8, sizeof(p));
	return p;
}

static int slot_matches(const unsigned char *s, const void *key, size_t klen)
{
	if (s[0] == TAG_EMPTY || slot_klen(s) != klen)
		return 0;
	return !memcmp(slot_key(s), key, klen);
}

static size_t home_of(const struct ec_hmap *m, const unsigned char *s)
{
	return ec_hmap_hash(slot_key(s), slot_klen(s)) & (m->cap - 1);
}

void ec_hmap_init(struct ec_hmap *m, size_t value_size)
{
	memset(m, 0, sizeof(*m));
	m->value_size = value_size;
	m->slot_size = (SLOT_HEADER + value_size + 7) & ~(size_t)7;
}

static void free_long_keys(struct ec_hmap *m)
{
	size_t i;

	for (i = 0; i < m->cap && m->long_key_bytes; i++) {
		unsigned char *s = slot_at(m, i);

		if (s[0] == TAG_LONG)
			free((char *)slot_key(s));
	}
	m->long_key_bytes = 0;
}

void ec_hmap_release(struct ec_hmap *m)
{
	free_long_keys(m);
	free(m->slots);
	ec_hmap_init(m, m->value_size);
}

void ec_hmap_clear(struct ec_hmap *m)
{
	free_long_keys(m);
	if (m->slots)
		memset(m->slots, 0, m->cap * m->slot_size);
	m->count = 0;
}

size_t ec_hmap_memory(const struct ec_hmap *m)
{
	return sizeof(*m) + m->cap * m->slot_size + m->long_key_bytes;
}

/* The slot holding KEY, or the empty slot where it would go. */
static size_t probe(const struct ec_hmap *m, const void *key, size_t klen, uint64_t hash)
{
	size_t mask = m->cap - 1;
	size_t i = hash & mask;

	for (;;) {
		unsigned char *s = slot_at(m, i);

		if (s[0] == TAG_EMPTY || slot_matches(s, key, klen))
			return i;
		i = (i + 1) & mask;
	}
}

/* Move every slot into a table of NEW_CAP slots (a power of two). */
static void rehash(struct ec_hmap *m, size_t new_cap)
{
	struct ec_hmap old = *m;
	size_t i;

	m->slots = xcalloc(new_cap, m->slot_size);
	m->cap = new_cap;
	for (i = 0; i < old.cap; i++) {
		unsigned char *s = slot_at(&old, i);
		size_t j;

		if (s[0] == TAG_EMPTY)
			continue;
		j = home_of(m, s);
		while (slot_at(m, j)[0] != TAG_EMPTY)
			j = (j + 1) & (new_cap - 1);
		memcpy(slot_at(m, j), s, m->slot_size);
	}
	free(old.slots);
}

/* Largest entry count for CAP slots: 3/4 load keeps linear probes short. */
static size_t max_load(size_t cap)
{
	return cap - cap / 4;
}

void ec_hmap_reserve(struct ec_hmap *m, size_t n)
{
	size_t cap = m->cap ? m->cap : 16;

	while (max_load(cap) < n)
		cap *= 2;
	if (cap != m->cap)
		rehash(m, cap);
}

void *ec_hmap_get(const struct ec_hmap *m, const void *key, size_t klen)
{
	size_t i;

	if (!m->count)
		return NULL;
	i = probe(m, key, klen, ec_hmap_hash(key, klen));
	if (slot_at(m, i)[0] == TAG_EMPTY)
		return NULL;
	return slot_at(m, i) + SLOT_HEADER;
}

static void store_key(struct ec_hmap *m, unsigned char *s, const void *key, size_t klen)
{
	if (klen <= EC_HMAP_INLINE_KEY) {
		s[0] = (unsigned char)(klen + 1);
		memcpy(s + 1, key, klen);
	} else {
		uint32_t len = (uint32_t)klen;
		char *copy = xmalloc(klen ? klen : 1);

		memcpy(copy, key, klen);
		s[0] = TAG_LONG;
		memcpy(s + 4, &len, sizeof(len));
		memcpy(s + 8, &copy, sizeof(copy));
		m->long_key_bytes += klen;
	}
}

void *ec_hmap_put(struct ec_hmap *m, const void *key, size_t klen, int *created)
{
	uint64_t hash = ec_hmap_hash(key, klen);
	unsigned char *s;
	size_t i;

	if (klen > UINT32_MAX) {
		fprintf(stderr, "%s: hash map key of %zu bytes is too long\n", ec_progname, klen);
		abort();
	}
	if (m->cap) {
		i = probe(m, key, klen, hash);
		s = slot_at(m, i);
		if (s[0] != TAG_EMPTY) {
			if (created)
				*created = 0;
			return s + SLOT_HEADER;
		}
	}
	if (m->count + 1 > max_load(m->cap))
		ec_hmap_reserve(m, m->count + 1);
	i = probe(m, key, klen, hash);
	s = slot_at(m, i);
	store_key(m, s, key, klen);
	memset(s + SLOT_HEADER, 0, m->slot_size - SLOT_HEADER);
	m->count++;
	if (created)
		*created = 1;
	return s + SLOT_HEADER;
}

/*
 * Empty slot I and pull later entries of the same run back into the hole
 * when that brings them no further from home: lookups stay correct without
 * tombstones. Only slots after I (in probe order, up to the next empty one)
 * change.
 */
static void delete_at(struct ec_hmap *m, size_t i)
{
	size_t mask = m->cap - 1;
	unsigned char *s = slot_at(m, i);
	size_t j = i;

	if (s[0] == TAG_LONG) {
		m->long_key_bytes -= slot_klen(s);
		free((char *)slot_key(s));
	}
	for (;;) {
		unsigned char *t;

		j = (j + 1) & mask;
		t = slot_at(m, j);
		if (t[0] == TAG_EMPTY)
			break;
		if (((j - home_of(m, t)) & mask) >= ((j - i) & mask)) {
			memcpy(slot_at(m, i), t, m->slot_size);
			i = j;
		}
	}
	memset(slot_at(m, i), 0, m->slot_size);
	m->count--;
}

int ec_hmap_del(struct ec_hmap *m, const void *key, size_t klen)
{
	size_t i;

	if (!m->count)
		return 0;
	i = probe(m, key, klen, ec_hmap_hash(key, klen));
	if (slot_at(m, i)[0] == TAG_EMPTY)
		return 0;
	delete_at(m, i);
	return 1;
}

void ec_hmap_iter_init(struct ec_hmap_iter *it, struct ec_hmap *m)
{
	memset(it, 0, sizeof(*it));
	it->m = m;
	while (it->start < m->cap && slot_at(m, it->start)[0] != TAG_EMPTY)
		it->start++;
}

int ec_hmap_iter_next(struct ec_hmap_iter *it, struct ec_hmap_entry *e)
{
	struct ec_hmap *m = it->m;

	if (it->deleted) {
		/* the hole was refilled from later in the run, or not: look again */
		it->deleted = 0;
		it->step--;
	}
	while (it->step < m->cap) {
		size_t i = (it->start + 1 + it->step) & (m->cap - 1);
		unsigned char *s = slot_at(m, i);

		it->step++;
		if (s[0] == TAG_EMPTY)
			continue;
		it->pos = i;
		e->key = slot_key(s);
		e->klen = slot_klen(s);
		e->value = s + SLOT_HEADER;
		return 1;
	}
	return 0;
}

void ec_hmap_iter_del(struct ec_hmap_iter *it)
{
	delete_at(it->m, it->pos);
	it->deleted = 1;
}
