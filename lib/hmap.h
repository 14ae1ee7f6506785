/*
 * hmap.h: a hash map from byte-string keys to fixed-size values, compact
 * enough to hold millions of keyed states (orders, customers) in memory.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones, so lookups never slow down after many deletes). Each slot is
 * 16 bytes of key header plus the value: keys of up to 15 bytes live inline
 * in the slot, longer ones are allocated. The table doubles at 3/4 load.
 * Values are 8-byte aligned and start zeroed; pointers to a value stay valid
 * until the next insert or delete.
 */
#ifndef EC_HMAP_H
#define EC_HMAP_H

#include "ec.h"

#define EC_HMAP_INLINE_KEY 15	/* longest key stored inside the slot */

struct ec_hmap {
	unsigned char *slots;	/* cap * slot_size bytes */
	size_t cap;		/* a power of two, or 0 before the first insert */
	size_t count;
	size_t value_size;
	size_t slot_size;	/* 16 + value_size rounded up to 8 */
	size_t long_key_bytes;	/* bytes allocated for keys over 15 bytes */
};

/* Set up an empty map whose values are VALUE_SIZE bytes each. */
void ec_hmap_init(struct ec_hmap *m, size_t value_size);
/* Free everything; the map is empty and usable again afterwards. */
void ec_hmap_release(struct ec_hmap *m);
/* Drop every entry but keep the table's size. */
void ec_hmap_clear(struct ec_hmap *m);
/* Make room for N entries without growing again. */
void ec_hmap_reserve(struct ec_hmap *m, size_t n);

/* The value for KEY, or NULL. */
void *ec_hmap_get(const struct ec_hmap *m, const void *key, size_t klen);
/*
 * The value for KEY, inserted (zeroed) when absent; *CREATED (may be NULL)
 * says which. May move every value: earlier value pointers become invalid.
 */
void *ec_hmap_put(struct ec_hmap *m, const void *key, size_t klen, int *created);
/* Remove KEY: 1 if it was there, 0 if not. May move other values. */
int ec_hmap_del(struct ec_hmap *m, const void *key, size_t klen);

static inline size_t ec_hmap_count(const struct ec_hmap *m)
{
	return m->count;
}
/* Bytes held by the map (table plus long keys), for memory accounting. */
size_t ec_hmap_memory(const struct ec_hmap *m);

/*
 * Iteration in table order (not insertion order), each entry exactly once,
 * even when entries are deleted on the way with ec_hmap_iter_del(). No
 * inserts while iterating.
 */
struct ec_hmap_iter {
	struct ec_hmap *m;
	size_t start;		/* an empty slot: no run of entries crosses it */
	size_t step;		/* slots visited so far */
	size_t pos;		/* slot of the entry last returned */
	int deleted;		/* it was deleted: look at POS again */
};

struct ec_hmap_entry {
	const char *key;	/* not NUL-terminated */
	size_t klen;
	void *value;
};

void ec_hmap_iter_init(struct ec_hmap_iter *it, struct ec_hmap *m);
/* Fill E with the next entry: 1, or 0 at the end. */
int ec_hmap_iter_next(struct ec_hmap_iter *it, struct ec_hmap_entry *e);
/* Delete the entry the last ec_hmap_iter_next() returned. */
void ec_hmap_iter_del(struct ec_hmap_iter *it);

/* The hash the map uses (64-bit, well mixed); handy for sharding. */
uint64_t ec_hmap_hash(const void *key, size_t klen);

#endif
