/*
 * lifecycle.h: a declared state machine (order lifecycles): which state
 * changes are allowed and which states are terminal, read from a small text
 * format so that the rules are data, not code; and the queue of event-time
 * deadlines (timeouts, TTLs) that entities in those states run against.
 *
 * The format, one rule per line ('#' starts a comment):
 *   NEW -> PAID -> SHIPPED      a chain: NEW -> PAID and PAID -> SHIPPED
 *   NEW, PAID -> CANCELLED      comma lists on either side
 *   * -> CANCELLED              '*' is every declared state (never a terminal
 *                               one on the left, never the state itself)
 *   terminal: CANCELLED         no change leaves these states
 * Without a "terminal:" line, the states nothing leaves are the terminal ones.
 */
#ifndef EC_LIFECYCLE_H
#define EC_LIFECYCLE_H

#include "ec.h"

#define EC_LC_MAX_DECLARED 64	/* states a machine may declare */
#define EC_LC_MAX_STATES 250	/* with undeclared states met in the data */

/* The default order lifecycle, in the format above. */
extern const char ec_lifecycle_default_text[];

struct ec_lifecycle {
	char *names[EC_LC_MAX_STATES];
	size_t nstates;		/* names in use; the first ndeclared are the machine's */
	size_t ndeclared;
	uint64_t next[EC_LC_MAX_DECLARED];	/* bit j of next[i]: i -> j allowed */
	uint64_t terminal;	/* bit i: state i is terminal */
};

/*
 * Read the machine TEXT; ORIGIN names it in messages ("orders.machine").
 * 0, or -1 with errstr "ORIGIN:LINE: ...".
 */
int ec_lifecycle_parse(struct ec_lifecycle *lc, const char *text, const char *origin,
		       char *errstr, size_t errstr_size);
void ec_lifecycle_release(struct ec_lifecycle *lc);

/* The index of state NAME[0..n), or -1. */
int ec_lifecycle_find(const struct ec_lifecycle *lc, const char *name, size_t n);
/* Like find, but an undeclared name gets an index of its own; -1 when the table is full. */
int ec_lifecycle_intern(struct ec_lifecycle *lc, const char *name, size_t n);

static inline int ec_lifecycle_declared(const struct ec_lifecycle *lc, int s)
{
	return s >= 0 && (size_t)s < lc->ndeclared;
}
static inline int ec_lifecycle_is_terminal(const struct ec_lifecycle *lc, int s)
{
	return ec_lifecycle_declared(lc, s) && (lc->terminal >> s & 1);
}

/*
 * Is FROM -> TO allowed (FROM -1: the entity is new, any declared state
 * will do; FROM == TO: no change)? 1, or 0 with the reason in REASON
 * ("unknown state \"LOST\"", "COMPLETED is terminal", "no transition NEW -> SHIPPED").
 */
int ec_lifecycle_check(const struct ec_lifecycle *lc, int from, int to, char *reason, size_t size);

/*
 * Timers: a min-heap of (due, kind, key) entries, 24 bytes each, so that
 * millions of pending deadlines stay cheap. Keys of up to 15 bytes live in
 * the entry, longer ones are copied. The queue does not know about
 * entities: an entry whose entity has since moved on is simply found stale
 * by the caller when it comes due (lazy cancellation), which keeps a state
 * change free of any search in the heap.
 */
#define EC_LC_TIMER_INLINE_KEY 15

struct ec_lc_timer {
	int64_t due;
	char k[EC_LC_TIMER_INLINE_KEY];	/* the key, or a pointer and a length to it */
	uint8_t meta;			/* inline key length, long-key flag, kind */
};

struct ec_lc_timers {
	struct ec_lc_timer *v;
	size_t n, alloc;
};

/* Queue a deadline of KIND (0..3) for KEY[0..klen). */
void ec_lc_timers_push(struct ec_lc_timers *q, int64_t due, int kind, const char *key, size_t klen);
/* The earliest due time, or INT64_MAX when the queue is empty. */
static inline int64_t ec_lc_timers_next_due(const struct ec_lc_timers *q)
{
	return q->n ? q->v[0].due : INT64_MAX;
}
/* Take the earliest entry into *T (the caller then owns it: ec_lc_timer_release). 1, or 0 if empty. */
int ec_lc_timers_pop(struct ec_lc_timers *q, struct ec_lc_timer *t);
/* Drop every entry (the allocation is kept). */
void ec_lc_timers_clear(struct ec_lc_timers *q);
void ec_lc_timers_release(struct ec_lc_timers *q);

const char *ec_lc_timer_key(const struct ec_lc_timer *t, size_t *klen);
int ec_lc_timer_kind(const struct ec_lc_timer *t);
void ec_lc_timer_release(struct ec_lc_timer *t);
/*
 * qsort order of entries: due, then kind, then key (shorter first, then by
 * bytes: numeric order for integer ids). Firing in this order makes output
 * independent of the heap's internal layout.
 */
int ec_lc_timer_cmp(const void *a, const void *b);

#endif
