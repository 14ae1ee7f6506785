/*
 * json_oracle.h: what ec_json_scan must decide for a line, derived from
 * yajl's verdict, and the top-level members yajl saw; shared by
 * test_json_yajl.c and tests/fuzz/json_scan.c.
 *
 * yajl 2.1.0 (Debian 12's libyajl2), checked on this machine with each
 * case fed to yajl_parse + yajl_complete_parse, no allow_* flags:
 *   - whitespace: '\v' and '\f' are accepted between tokens, like space,
 *     tab, CR and LF; ec accepts only the four RFC 8259 ones;
 *   - UTF-8 in strings: yajl checks only the shape (a lead byte C0-F7 and
 *     its continuation bytes), so it accepts overlong forms (C0 80,
 *     E0 80 80, F0 80 80 80), UTF-16 surrogates (ED A0 80) and code points
 *     above U+10FFFF (F4 90 80 80, leads F5-F7), which ec rejects; both
 *     reject leads F8-FF, stray continuation bytes and cut sequences;
 *     outside strings any byte above 0x7f is an error for both;
 *   - bytes below 0x20 inside strings, tab included, are rejected; DEL
 *     (0x7f) is accepted; NUL is rejected everywhere;
 *   - leading zeros ("01", "-01", "00") are rejected, as are "+1", ".5",
 *     "1.", "1e", "-"; "-0", "0e1" and integers of any length are accepted
 *     (given a yajl_number callback);
 *   - lone surrogate escapes ("\ud800", "\udc00") are accepted;
 *   - nesting has no depth limit; ec stops at 1024;
 *   - any value is accepted at the top level; ec wants an object;
 *   - after a complete value, an unterminated string is accepted: "{}\"",
 *     "{} \"abc", "[]\"" pass (found by this test); other trailing bytes
 *     ("{}x", "{}1", "{}\"abc\"") are "trailing garbage".
 * So ec must accept a line iff yajl accepts it, its first non-whitespace
 * byte is '{', only whitespace follows the object's closing brace, it is
 * strict UTF-8, it holds no '\v' or '\f' byte (inside a string yajl
 * rejects them anyway) and it nests no deeper than 1024.
 */
#ifndef EC_JSON_ORACLE_H
#define EC_JSON_ORACLE_H

#include <ctype.h>
#include <yajl/yajl_parse.h>

#include "ec.h"
#include "json.h"

#define ORACLE_MAX_DEPTH 1024

/* Top-level keys whose values are compared (decoded bytes; a few need escapes in JSON). */
static const struct oracle_key {
	const char *key;
	size_t len;
} oracle_keys[] = {
	{ "a", 1 }, { "b", 1 }, { "id", 2 }, { "amount", 6 }, { "_ec", 3 },
	{ "caf\xc3\xa9", 5 }, { "odd key", 7 }, { "a/b", 3 }, { "q\"q", 3 },
	{ "\xf0\x9f\x98\x80", 4 }, { "", 0 }, { "tab\there", 8 }, { "nul\0", 4 },
};
#define ORACLE_NKEYS EC_ARRAY_SIZE(oracle_keys)

/* What yajl reported for one top-level member (the last occurrence of its key). */
struct oracle_member {
	enum ec_jtype type;
	struct ec_buf text;	/* numbers: the raw text; strings: yajl's decoding */
};

struct oracle {
	int yajl_ok;
	int expect_ok;
	struct oracle_member member[ORACLE_NKEYS];
	/* yajl callback state */
	int depth;
	int top_is_map;
	int pending;		/* index into oracle_keys of the key just read, or -1 */
};

/* Strict UTF-8 (RFC 3629), by decoding: a formulation unlike the scanner's. */
static int oracle_utf8_strict(const unsigned char *s, size_t n)
{
	static const unsigned long min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t i = 0;

	while (i < n) {
		unsigned long cp;
		size_t len, k;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			len = 2;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			len = 3;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			len = 4;
			cp = s[i] & 0x07;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/*
 * The deepest nesting of a line whose top-level value yajl accepted (so its
 * strings are well formed), and in *value_end where that value ends.
 */
static int oracle_depth(const unsigned char *s, size_t n, size_t *value_end)
{
	int depth = 0, max = 0, in_string = 0;
	size_t i;

	*value_end = n;
	for (i = 0; i < n; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = 0;
		} else if (s[i] == '"') {
			in_string = 1;
		} else if (s[i] == '{' || s[i] == '[') {
			if (++depth > max)
				max = depth;
		} else if (s[i] == '}' || s[i] == ']') {
			if (--depth == 0) {
				*value_end = i + 1;
				break;
			}
		}
	}
	return max;
}

static int oracle_is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* ---- yajl callbacks: remember the top-level members of interest ---- */

static void oracle_value(struct oracle *o, enum ec_jtype type, const void *data, size_t n)
{
	if (o->depth == 1 && o->top_is_map && o->pending >= 0) {
		struct oracle_member *m = &o->member[o->pending];

		m->type = type;
		ec_buf_reset(&m->text);
		ec_buf_grow(&m->text, n);
		if (n)
			ec_buf_add(&m->text, data, n);
	}
	o->pending = -1;
}

static int oracle_null(void *ctx)
{
	oracle_value(ctx, EC_J_NULL, NULL, 0);
	return 1;
}

static int oracle_boolean(void *ctx, int b)
{
	oracle_value(ctx, b ? EC_J_TRUE : EC_J_FALSE, NULL, 0);
	return 1;
}

static int oracle_number(void *ctx, const char *s, size_t n)
{
	oracle_value(ctx, EC_J_NUMBER, s, n);
	return 1;
}

static int oracle_string(void *ctx, const unsigned char *s, size_t n)
{
	oracle_value(ctx, EC_J_STRING, s, n);
	return 1;
}

static int oracle_start(struct oracle *o, enum ec_jtype type)
{
	if (o->depth == 0)
		o->top_is_map = type == EC_J_OBJECT;
	oracle_value(o, type, NULL, 0);
	o->depth++;
	return 1;
}

static int oracle_start_map(void *ctx)
{
	return oracle_start(ctx, EC_J_OBJECT);
}

static int oracle_start_array(void *ctx)
{
	return oracle_start(ctx, EC_J_ARRAY);
}

static int oracle_end(void *ctx)
{
	((struct oracle *)ctx)->depth--;
	return 1;
}

static int oracle_map_key(void *ctx, const unsigned char *key, size_t n)
{
	struct oracle *o = ctx;
	size_t i;

	o->pending = -1;
	if (o->depth != 1)
		return 1;
	for (i = 0; i < ORACLE_NKEYS; i++)
		if (oracle_keys[i].len == n && !memcmp(oracle_keys[i].key, key, n))
			o->pending = (int)i;
	return 1;
}

static const yajl_callbacks oracle_callbacks = {
	.yajl_null = oracle_null,
	.yajl_boolean = oracle_boolean,
	.yajl_number = oracle_number,
	.yajl_string = oracle_string,
	.yajl_start_map = oracle_start_map,
	.yajl_map_key = oracle_map_key,
	.yajl_end_map = oracle_end,
	.yajl_start_array = oracle_start_array,
	.yajl_end_array = oracle_end,
};

static void oracle_release(struct oracle *o)
{
	size_t i;

	for (i = 0; i < ORACLE_NKEYS; i++)
		ec_buf_release(&o->member[i].text);
}

/* Run yajl on S[0..n) and work out ec's expected verdict. */
static void oracle_judge(struct oracle *o, const unsigned char *s, size_t n)
{
	yajl_handle h;
	size_t i, end;

	for (i = 0; i < ORACLE_NKEYS; i++)
		o->member[i].type = EC_J_MISSING;
	o->depth = 0;
	o->top_is_map = 0;
	o->pending = -1;
	h = yajl_alloc(&oracle_callbacks, NULL, o);
	o->yajl_ok = yajl_parse(h, s, n) == yajl_status_ok &&
		     yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);

	o->expect_ok = o->yajl_ok;
	if (o->expect_ok) {
		for (i = 0; i < n && oracle_is_ws(s[i]); i++)
			;
		o->expect_ok = i < n && s[i] == '{';
	}
	if (o->expect_ok)
		o->expect_ok = !memchr(s, '\v', n) && !memchr(s, '\f', n);
	if (o->expect_ok) {
		o->expect_ok = oracle_depth(s, n, &end) <= ORACLE_MAX_DEPTH;
		for (i = end; i < n && o->expect_ok; i++)
			o->expect_ok = oracle_is_ws(s[i]);
	}
	if (o->expect_ok)
		o->expect_ok = oracle_utf8_strict(s, n);
}

/* A pathset of the oracle's keys, slot i for oracle_keys[i]. */
static struct ec_pathset *oracle_pathset(void)
{
	struct ec_pathset *ps = ec_pathset_new();
	size_t i;

	for (i = 0; i < ORACLE_NKEYS; i++) {
		struct ec_path_seg seg = { EC_SEG_KEY, (char *)oracle_keys[i].key, oracle_keys[i].len, 0 };
		struct ec_path path = { &seg, 1, (char *)"(oracle key)" };

		if (ec_pathset_add(ps, &path) != (int)i)
			abort();
	}
	return ps;
}

/* The code unit of the "\\uXXXX" escape at S[i], or -1. */
static long oracle_u_escape(const char *s, size_t n, size_t i)
{
	char hex[5];
	char *end;

	if (i + 6 > n || s[i] != '\\' || s[i + 1] != 'u')
		return -1;
	memcpy(hex, s + i + 2, 4);
	hex[4] = '\0';
	if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]) ||
	    !isxdigit((unsigned char)hex[2]) || !isxdigit((unsigned char)hex[3]))
		return -1;
	return strtol(hex, &end, 16);
}

/*
 * True when S holds a surrogate escape that is not half of a pair: yajl
 * decodes those its own way (and a high one followed by any \\u escape as
 * if it were a pair), ec as U+FFFD, so decoded keys and strings differ.
 */
static int oracle_broken_surrogates(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		long cp, low;

		if (s[i] != '\\')
			continue;
		cp = oracle_u_escape(s, n, i);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			low = oracle_u_escape(s, n, i + 6);
			if (low < 0xdc00 || low > 0xdfff)
				return 1;
			i += 11;
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			return 1;
		} else {
			i++;
		}
	}
	return 0;
}

/*
 * Compare what ec_json_scan extracted for a line both accepted with what
 * yajl saw. Returns NULL, or a description of the first difference. Lines
 * with broken surrogate escapes are not compared (see above).
 */
static const char *oracle_compare(const struct oracle *o, const struct ec_jval *slots,
				  const char *line, size_t n)
{
	static char why[256];
	struct ec_buf dec = EC_BUF_INIT;
	size_t i;

	if (oracle_broken_surrogates(line, n))
		return NULL;
	for (i = 0; i < ORACLE_NKEYS; i++) {
		const struct ec_jval *v = &slots[i];
		const struct oracle_member *m = &o->member[i];
		size_t rawlen;
		const char *raw = ec_jval_raw(v, &rawlen);

		if (v->type != EC_J_MISSING && (raw < line || raw + rawlen > line + n)) {
			snprintf(why, sizeof(why), "key %zu: span outside the line", i);
			return why;
		}
		if (v->type != m->type) {
			snprintf(why, sizeof(why), "key %zu: ec type %s (%d), yajl %s (%d)", i,
				 ec_jtype_name(v->type), v->type, ec_jtype_name(m->type), m->type);
			return why;
		}
		if (v->type == EC_J_NUMBER && (v->n != m->text.len || memcmp(v->p, m->text.buf, v->n))) {
			snprintf(why, sizeof(why), "key %zu: number %.*s, yajl %s", i, (int)v->n, v->p, m->text.buf);
			return why;
		}
		if (v->type == EC_J_STRING) {
			ec_buf_reset(&dec);
			if (ec_jval_str(v, &dec) < 0 || dec.len != m->text.len ||
			    memcmp(dec.buf, m->text.buf, dec.len)) {
				snprintf(why, sizeof(why), "key %zu: string decodes differently", i);
				ec_buf_release(&dec);
				return why;
			}
		}
	}
	ec_buf_release(&dec);
	return NULL;
}

#endif
