/*
 * lifecycle.h: a declared state machine (order lifecycles): which state
 * changes are allowed and which states are terminal, read from a small text
 * format so that the rules are data, not code.
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

#endif
