/*
 * json.h: a one-pass validating JSON scanner that extracts only the values a
 * tool asked for. It accepts what yajl accepts for one value per line
 * (RFC 8259), except that it is stricter: UTF-8 overlong forms, surrogates
 * and code points above U+10FFFF are rejected, only space, tab, CR and LF
 * are whitespace (yajl also takes \v and \f), nesting is limited to 1024
 * levels, and nothing but whitespace may follow the object (yajl lets an
 * unterminated string through there). tests/unit/test_json_yajl.c and
 * tests/fuzz/json_scan.c check the rest against yajl. Nothing is allocated
 * while scanning.
 */
#ifndef EC_JSON_H
#define EC_JSON_H

#include "ec.h"
#include "path.h"

enum ec_jtype {
	EC_J_MISSING = 0,	/* the path is not in the record */
	EC_J_NULL,
	EC_J_FALSE,
	EC_J_TRUE,
	EC_J_NUMBER,
	EC_J_STRING,
	EC_J_OBJECT,
	EC_J_ARRAY,
};

/*
 * A value found in a line. The line's bytes own it: it lives until the line
 * buffer is reused. For strings, p/n are the bytes between the quotes (still
 * escaped when escaped is set); for every other type, the value's raw text.
 */
struct ec_jval {
	enum ec_jtype type;
	int escaped;
	const char *p;
	size_t n;
};

/* Raw JSON text of the value (strings include their quotes). */
static inline const char *ec_jval_raw(const struct ec_jval *v, size_t *n)
{
	if (v->type == EC_J_STRING) {
		*n = v->n + 2;
		return v->p - 1;
	}
	*n = v->n;
	return v->p;
}

/* A set of paths compiled into a trie; each path gets a slot number. */
struct ec_pathset;

struct ec_pathset *ec_pathset_new(void);
void ec_pathset_free(struct ec_pathset *ps);
/* Add PATH (copied) and return its slot; the same path twice gives the same slot. */
int ec_pathset_add(struct ec_pathset *ps, const struct ec_path *path);
size_t ec_pathset_size(const struct ec_pathset *ps);

struct ec_jerr {
	size_t offset;		/* byte offset in the line, 0-based */
	char msg[128];		/* "expected object, got array", "invalid UTF-8 in string", ... */
};

/*
 * Validate LINE[0..len) as exactly one JSON object (surrounding whitespace
 * allowed) and fill slots[0..ec_pathset_size(ps)) with the values found
 * (EC_J_MISSING where absent). If a key repeats, the last one wins.
 * Returns 0, or -1 with ERR filled.
 */
int ec_json_scan(const struct ec_pathset *ps, const char *line, size_t len,
		 struct ec_jval *slots, struct ec_jerr *err);

/* Decode a string value's escapes into OUT (appended). Returns 0, -1 on a bad escape. */
int ec_jval_str(const struct ec_jval *v, struct ec_buf *out);

/* The JSON type's name for messages: "string", "number", "object", ... */
const char *ec_jtype_name(enum ec_jtype t);

#endif
