/* json.c: the one-pass validating JSON scanner that extracts the values of a set of paths. */
#include "json.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Deeper input is rejected: recursion stays bounded, and no real record nests this deep. */
#define EC_JSON_MAX_DEPTH 1024

/*
 * The pathset is a trie of path segments. A node is where a path may lead;
 * it has a slot when a path ends there. While scanning, each value is
 * scanned with the node it reaches (NULL outside every path), so a record
 * is matched against all paths in the same pass that validates it.
 */
struct pnode;

struct key_edge {
	size_t len;
	char *key;		/* decoded, as in struct ec_path_seg */
	struct pnode *node;
};

struct index_edge {
	size_t index;
	struct pnode *node;
};

struct pnode {
	int slot;		/* -1: no path ends here */
	uint64_t key_filter;	/* key_bit() of each key child, or-ed */
	struct key_edge *keys;
	size_t nkeys, keys_alloc;
	struct index_edge *indexes;
	size_t nindexes, indexes_alloc;
	/*
	 * Slots of the paths below this node. When a key repeats, the last
	 * occurrence wins for everything under it: paths found only under an
	 * earlier occurrence are reset to EC_J_MISSING when the key reappears.
	 */
	int *below;
	size_t nbelow, below_alloc;
};

struct ec_pathset {
	struct pnode root;
	size_t nslots;
};

/* The scanner's state; the position itself travels in the return values. */
struct scan {
	const char *line;
	const char *end;
	struct ec_jval *slots;
	struct ec_jerr *err;
};

/* Bytes inside a string: only these classes leave the fast loop. */
enum { CH_PLAIN = 0, CH_QUOTE, CH_BACKSLASH, CH_CONTROL, CH_HIGH };

static const unsigned char string_class[256] = {
	[0x00 ... 0x1f] = CH_CONTROL,
	['"'] = CH_QUOTE,
	['\\'] = CH_BACKSLASH,
	[0x80 ... 0xff] = CH_HIGH,
};

/* JSON whitespace: RFC 8259 allows exactly these four. */
static const unsigned char is_ws[256] = {
	[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1,
};

/* After a backslash: the escapes JSON defines ('u' needs four hex digits). */
static const unsigned char escape_ok[256] = {
	['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1, ['f'] = 1,
	['n'] = 1, ['r'] = 1, ['t'] = 1, ['u'] = 1,
};

static inline int is_digit(char c)
{
	return (unsigned char)(c - '0') < 10;
}

/* Bytes that may not directly follow a complete number ("01", "1.2.3", "1e5e"). */
static inline int continues_number(char c)
{
	return is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The code unit of "\uXXXX" at P (on the backslash), or -1. */
static long hex4(const char *p, const char *end)
{
	long cp = 0;
	int i;

	if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	for (i = 2; i < 6; i++) {
		int d = hex_value(p[i]);
		if (d < 0)
			return -1;
		cp = cp << 4 | d;
	}
	return cp;
}

static size_t utf8_encode(unsigned long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decode the escape at P (on the backslash) into OUT (up to 4 bytes).
 * A surrogate pair becomes one code point; a lone surrogate, U+FFFD.
 * Returns the position after the escape, or NULL when it is malformed.
 */
static const char *decode_escape(const char *p, const char *end, char *out, size_t *outlen)
{
	static const char simple[256] = {
		['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b',
		['f'] = '\f', ['n'] = '\n', ['r'] = '\r', ['t'] = '\t',
	};
	long cp, low;

	if (end - p < 2)
		return NULL;
	if (p[1] != 'u') {
		out[0] = simple[(unsigned char)p[1]];
		*outlen = 1;
		return out[0] ? p + 2 : NULL;
	}
	cp = hex4(p, end);
	if (cp < 0)
		return NULL;
	p += 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		low = hex4(p, end);
		if (low >= 0xdc00 && low <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
			p += 6;
		} else {
			cp = 0xfffd;
		}
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		cp = 0xfffd;
	}
	*outlen = utf8_encode((unsigned long)cp, out);
	return p;
}

/* ---- errors ---- */

static void describe_byte(char *buf, size_t size, unsigned char c)
{
	if (c >= ' ' && c < 0x7f)
		snprintf(buf, size, "'%c'", c);
	else
		snprintf(buf, size, "byte 0x%02x", c);
}

static __attribute__((cold, noinline)) const char *
fail(struct scan *s, const char *at, const char *fmt, ...) EC_PRINTF(3, 4);

static const char *fail(struct scan *s, const char *at, const char *fmt, ...)
{
	va_list ap;

	s->err->offset = (size_t)(at - s->line);
	va_start(ap, fmt);
	vsnprintf(s->err->msg, sizeof(s->err->msg), fmt, ap);
	va_end(ap);
	return NULL;
}

/* The byte at P is not what the grammar allows here (or input ended). */
static __attribute__((cold, noinline)) const char *unexpected(struct scan *s, const char *p)
{
	char what[16];

	if (p == s->end)
		return fail(s, p, "unexpected end of input");
	if (*p == '\0')
		return fail(s, p, "NUL byte");
	describe_byte(what, sizeof(what), (unsigned char)*p);
	return fail(s, p, "invalid JSON: unexpected %s", what);
}

/* ---- strings ---- */

#ifdef __SSE2__
/* Bit i set when P[i] is '"', '\\', below 0x20 or above 0x7f. */
static inline unsigned special_mask(const char *p)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i quote = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
	__m128i backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'));
	/* Signed compare: catches 0x00-0x1f and 0x80-0xff at once. */
	__m128i odd = _mm_cmplt_epi8(x, _mm_set1_epi8(' '));

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), odd));
}
#endif

/*
 * The first byte at or after P that is not plain string content, or the end.
 * Strings are most of a record's bytes, so they are skipped 16 at a time;
 * per-byte work happens only at escapes, control bytes and non-ASCII text.
 */
static inline const char *skip_plain(const struct scan *s, const char *p)
{
	const char *end = s->end;

#ifdef __SSE2__
	while (end - p >= 16) {
		unsigned mask = special_mask(p);
		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
	/* The tail: look at the line's last 16 bytes rather than byte by byte. */
	if (EC_LIKELY(end - s->line >= 16)) {
		unsigned mask = special_mask(end - 16) >> (16 - (end - p));
		return mask ? p + __builtin_ctz(mask) : end;
	}
#endif
	while (p < end && string_class[(unsigned char)*p] == CH_PLAIN)
		p++;
	return p;
}

/*
 * The length of the UTF-8 sequence at P if it is valid (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), 0 if it is
 * invalid, -1 if the input ends inside it.
 */
static int utf8_sequence(const unsigned char *p, const unsigned char *end)
{
	unsigned char lo = 0x80, hi = 0xbf;
	int n, i;

	if (p[0] < 0xc2)
		return 0;
	if (p[0] < 0xe0) {
		n = 2;
	} else if (p[0] < 0xf0) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] < 0xf5) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (end - p < 2)
		return -1;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (p + i == end)
			return -1;
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	}
	return n;
}

/*
 * P is on a byte that ended a plain run inside the string opened at OPEN:
 * a backslash, a control byte or a byte above 0x7f. Check it and return
 * the position after the escape or character(s), NULL on error.
 */
static __attribute__((noinline)) const char *
string_special(struct scan *s, const char *open, const char *p, int *escaped)
{
	const unsigned char *u = (const unsigned char *)p;
	const unsigned char *end = (const unsigned char *)s->end;
	int i, n;

	switch (string_class[*u]) {
	case CH_BACKSLASH:
		*escaped = 1;
		if (end - u < 2)
			return fail(s, open, "unterminated string");
		if (!escape_ok[u[1]]) {
			if (u[1] > ' ' && u[1] < 0x7f)
				return fail(s, p, "invalid escape '\\%c'", u[1]);
			return fail(s, p, "invalid escape: '\\' before byte 0x%02x", u[1]);
		}
		if (u[1] != 'u')
			return p + 2;
		for (i = 2; i < 6; i++) {
			if (u + i == end)
				return fail(s, open, "unterminated string");
			if (hex_value((char)u[i]) < 0)
				return fail(s, p, "invalid escape '\\u': expected 4 hex digits");
		}
		return p + 6;
	case CH_CONTROL:
		if (*u == '\0')
			return fail(s, p, "NUL byte");
		return fail(s, p, "control character in string");
	default:
		/* Text that is not ASCII tends to come in runs: stay here for them. */
		do {
			n = utf8_sequence(u, end);
			if (n == 0)
				return fail(s, (const char *)u, "invalid UTF-8 in string");
			if (n < 0)
				return fail(s, open, "unterminated string");
			u += n;
		} while (u < end && *u >= 0x80);
		return (const char *)u;
	}
}

/* P is just after an opening quote: return the position of the closing one. */
static inline const char *scan_string(struct scan *s, const char *p, int *escaped)
{
	const char *open = p - 1;

	for (;;) {
		p = skip_plain(s, p);
		if (EC_UNLIKELY(p == s->end))
			return fail(s, open, "unterminated string");
		if (EC_LIKELY(*p == '"'))
			return p;
		p = string_special(s, open, p, escaped);
		if (!p)
			return NULL;
	}
}

/* ---- numbers and literals ---- */

static const char *scan_number(struct scan *s, const char *p)
{
	const char *q = p, *end = s->end;

	if (*q == '-')
		q++;
	if (q == end)
		goto bad;
	if (*q == '0') {
		q++;
	} else if (is_digit(*q)) {
		do
			q++;
		while (q < end && is_digit(*q));
	} else {
		goto bad;
	}
	if (q < end && *q == '.') {
		q++;
		if (q == end || !is_digit(*q))
			goto bad;
		do
			q++;
		while (q < end && is_digit(*q));
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			q++;
		if (q == end || !is_digit(*q))
			goto bad;
		do
			q++;
		while (q < end && is_digit(*q));
	}
	if (q < end && continues_number(*q))
		goto bad;
	return q;
bad:
	return fail(s, p, "invalid number");
}

/* WORD ("true", "false", "null") at P; an error names the first wrong byte. */
static inline const char *scan_literal(struct scan *s, const char *p, const char *word, size_t n)
{
	size_t i;

	if (EC_LIKELY((size_t)(s->end - p) >= n && !memcmp(p, word, n)))
		return p + n;
	for (i = 0; p + i < s->end && p[i] == word[i]; i++)
		;
	return unexpected(s, p + i);
}

/* ---- structure ---- */

static inline const char *skip_ws(const char *p, const char *end)
{
	while (p < end && is_ws[(unsigned char)*p])
		p++;
	return p;
}

static inline void record(struct scan *s, const struct pnode *node, enum ec_jtype type,
			  int escaped, const char *p, size_t n)
{
	struct ec_jval *v = &s->slots[node->slot];

	v->type = type;
	v->escaped = escaped;
	v->p = p;
	v->n = n;
}

/* Compare the escaped key RAW[0..n) with the decoded KEY[0..keylen). */
static int escaped_key_equals(const char *raw, size_t n, const char *key, size_t keylen)
{
	const char *p = raw, *end = raw + n;
	const char *k = key, *kend = key + keylen;

	while (p < end) {
		char buf[4];
		size_t len;

		if (*p != '\\') {
			if (k == kend || *k != *p)
				return 0;
			k++;
			p++;
			continue;
		}
		p = decode_escape(p, end, buf, &len);
		if (!p || (size_t)(kend - k) < len || memcmp(k, buf, len))
			return 0;
		k += len;
	}
	return k == kend;
}

static inline uint64_t load64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t load32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A[0..n) == B[0..n) without a call for the short keys that records have. */
static inline int bytes_equal(const char *a, const char *b, size_t n)
{
	if (n >= 8) {
		if (n > 16)
			return !memcmp(a, b, n);
		return load64(a) == load64(b) && load64(a + n - 8) == load64(b + n - 8);
	}
	if (n >= 4)
		return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
	while (n--)
		if (*a++ != *b++)
			return 0;
	return 1;
}

/* A filter bit from a key's length and first and last bytes: cheap, and tells most keys apart. */
static inline uint64_t key_bit(const char *k, size_t n)
{
	unsigned h = 0;

	if (n)
		h = (unsigned)n * 7 + (unsigned char)k[0] * 3 + (unsigned char)k[n - 1];
	return (uint64_t)1 << (h & 63);
}

static inline const struct pnode *
key_child(const struct pnode *node, const char *k, size_t n, int escaped)
{
	size_t i;

	/* Most keys of a record lead nowhere: the filter tells without a compare. */
	if (EC_LIKELY(!escaped && !(node->key_filter & key_bit(k, n))))
		return NULL;
	for (i = 0; i < node->nkeys; i++) {
		const struct key_edge *e = &node->keys[i];

		if (EC_UNLIKELY(escaped)) {
			if (e->len <= n && escaped_key_equals(k, n, e->key, e->len))
				return e->node;
		} else if (e->len == n && bytes_equal(e->key, k, n)) {
			return e->node;
		}
	}
	return NULL;
}

static inline const struct pnode *index_child(const struct pnode *node, size_t index)
{
	size_t i;

	for (i = 0; i < node->nindexes; i++)
		if (node->indexes[i].index == index)
			return node->indexes[i].node;
	return NULL;
}

/* A key that leads into the trie: forget what an earlier occurrence left below it. */
static void enter_key(struct scan *s, const struct pnode *child)
{
	size_t i;

	for (i = 0; i < child->nbelow; i++)
		s->slots[child->below[i]].type = EC_J_MISSING;
}

static const char *scan_object(struct scan *s, const char *p, const struct pnode *node, int depth);
static const char *scan_array(struct scan *s, const char *p, const struct pnode *node, int depth);

/* The value at P (after optional whitespace), which the trie reaches at NODE (or NULL). */
static inline __attribute__((always_inline)) const char *
scan_value(struct scan *s, const char *p, const struct pnode *node, int depth)
{
	const char *start;
	enum ec_jtype type;
	int escaped = 0;

	if (EC_UNLIKELY(p == s->end || is_ws[(unsigned char)*p])) {
		p = skip_ws(p, s->end);
		if (p == s->end)
			return unexpected(s, p);
	}
	start = p;
	switch (*p) {
	case '"':
		p = scan_string(s, p + 1, &escaped);
		if (!p)
			return NULL;
		if (node && node->slot >= 0)
			record(s, node, EC_J_STRING, escaped, start + 1, (size_t)(p - start - 1));
		return p + 1;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		type = EC_J_NUMBER;
		p = scan_number(s, p);
		break;
	case '{':
		if (EC_UNLIKELY(depth >= EC_JSON_MAX_DEPTH))
			return fail(s, p, "nesting deeper than %d", EC_JSON_MAX_DEPTH);
		type = EC_J_OBJECT;
		p = scan_object(s, p + 1, node && node->nkeys ? node : NULL, depth + 1);
		break;
	case '[':
		if (EC_UNLIKELY(depth >= EC_JSON_MAX_DEPTH))
			return fail(s, p, "nesting deeper than %d", EC_JSON_MAX_DEPTH);
		type = EC_J_ARRAY;
		p = scan_array(s, p + 1, node && node->nindexes ? node : NULL, depth + 1);
		break;
	case 't':
		type = EC_J_TRUE;
		p = scan_literal(s, p, "true", 4);
		break;
	case 'f':
		type = EC_J_FALSE;
		p = scan_literal(s, p, "false", 5);
		break;
	case 'n':
		type = EC_J_NULL;
		p = scan_literal(s, p, "null", 4);
		break;
	case '+': case '.':
		return fail(s, p, "invalid number");
	default:
		return unexpected(s, p);
	}
	if (p && node && node->slot >= 0)
		record(s, node, type, 0, start, (size_t)(p - start));
	return p;
}

/* P is just after '{'; NODE is NULL or has key children. Returns the position after '}'. */
static const char *scan_object(struct scan *s, const char *p, const struct pnode *node, int depth)
{
	const char *end = s->end;

	p = skip_ws(p, end);
	if (p < end && *p == '}')
		return p + 1;
	for (;;) {
		const struct pnode *child = NULL;
		const char *key;
		int escaped = 0;

		if (EC_UNLIKELY(p == end || *p != '"')) {
			p = skip_ws(p, end);
			if (p == end || *p != '"')
				return unexpected(s, p);
		}
		key = p + 1;
		p = scan_string(s, key, &escaped);
		if (!p)
			return NULL;
		if (node) {
			child = key_child(node, key, (size_t)(p - key), escaped);
			if (child && child->nbelow)
				enter_key(s, child);
		}
		p++;
		if (EC_UNLIKELY(p == end || *p != ':')) {
			p = skip_ws(p, end);
			if (p == end || *p != ':')
				return unexpected(s, p);
		}
		p = scan_value(s, p + 1, child, depth);
		if (!p)
			return NULL;
		if (EC_UNLIKELY(p == end || (*p != ',' && *p != '}'))) {
			p = skip_ws(p, end);
			if (p == end || (*p != ',' && *p != '}'))
				return unexpected(s, p);
		}
		if (*p++ == '}')
			return p;
	}
}

/* P is just after '['; NODE is NULL or has index children. Returns the position after ']'. */
static const char *scan_array(struct scan *s, const char *p, const struct pnode *node, int depth)
{
	const char *end = s->end;
	size_t index = 0;

	p = skip_ws(p, end);
	if (p < end && *p == ']')
		return p + 1;
	for (;; index++) {
		p = scan_value(s, p, node ? index_child(node, index) : NULL, depth);
		if (!p)
			return NULL;
		if (EC_UNLIKELY(p == end || (*p != ',' && *p != ']'))) {
			p = skip_ws(p, end);
			if (p == end || (*p != ',' && *p != ']'))
				return unexpected(s, p);
		}
		if (*p++ == ']')
			return p;
	}
}

/* The line does not start with '{': say what it is instead. */
static __attribute__((cold)) int not_an_object(struct scan *s, const char *p)
{
	enum ec_jtype type;
	const char *q = p;

	switch (*p) {
	case '[':
		type = EC_J_ARRAY;
		break;
	case '"':
		type = EC_J_STRING;
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		type = EC_J_NUMBER;
		break;
	case 't':
		type = EC_J_TRUE;
		q = scan_literal(s, p, "true", 4);
		break;
	case 'f':
		type = EC_J_FALSE;
		q = scan_literal(s, p, "false", 5);
		break;
	case 'n':
		type = EC_J_NULL;
		q = scan_literal(s, p, "null", 4);
		break;
	default:
		unexpected(s, p);
		return -1;
	}
	if (q)
		fail(s, p, "expected object, got %s", ec_jtype_name(type));
	return -1;
}

/*
 * PS may be NULL to validate only. A repeated key: the last occurrence
 * wins, also for the paths below it (see struct pnode). On error the slots
 * hold whatever was found before it.
 */
int ec_json_scan(const struct ec_pathset *ps, const char *line, size_t len,
		 struct ec_jval *slots, struct ec_jerr *err)
{
	struct scan s = { line, line + len, slots, err };
	const struct pnode *root = ps ? &ps->root : NULL;
	const char *p, *start;

	if (ps && ps->nslots)
		memset(slots, 0, ps->nslots * sizeof(*slots));
	p = skip_ws(line, s.end);
	if (p == s.end) {
		unexpected(&s, p);
		return -1;
	}
	if (*p != '{')
		return not_an_object(&s, p);
	start = p;
	p = scan_object(&s, p + 1, root && root->nkeys ? root : NULL, 1);
	if (!p)
		return -1;
	if (root && root->slot >= 0)
		record(&s, root, EC_J_OBJECT, 0, start, (size_t)(p - start));
	p = skip_ws(p, s.end);
	if (p != s.end) {
		if (*p == '\0')
			fail(&s, p, "NUL byte");
		else
			fail(&s, p, "trailing characters after the object");
		return -1;
	}
	return 0;
}

/* ---- values ---- */

/* Non-string values append their raw text. */
int ec_jval_str(const struct ec_jval *v, struct ec_buf *out)
{
	const char *p, *end;

	ec_buf_grow(out, v->n);
	if (v->type != EC_J_STRING || !v->escaped) {
		if (v->n)
			ec_buf_add(out, v->p, v->n);
		return 0;
	}
	p = v->p;
	end = v->p + v->n;
	while (p < end) {
		const char *q = memchr(p, '\\', (size_t)(end - p));
		char buf[4];
		size_t n;

		if (!q)
			q = end;
		if (q > p)
			ec_buf_add(out, p, (size_t)(q - p));
		if (q == end)
			break;
		p = decode_escape(q, end, buf, &n);
		if (!p)
			return -1;
		ec_buf_add(out, buf, n);
	}
	return 0;
}

const char *ec_jtype_name(enum ec_jtype t)
{
	switch (t) {
	case EC_J_MISSING:
		return "missing";
	case EC_J_NULL:
		return "null";
	case EC_J_FALSE:
	case EC_J_TRUE:
		return "boolean";
	case EC_J_NUMBER:
		return "number";
	case EC_J_STRING:
		return "string";
	case EC_J_OBJECT:
		return "object";
	case EC_J_ARRAY:
		return "array";
	}
	return "unknown";
}

/* ---- the pathset ---- */

struct ec_pathset *ec_pathset_new(void)
{
	struct ec_pathset *ps = xcalloc(1, sizeof(*ps));

	ps->root.slot = -1;
	return ps;
}

static struct pnode *pnode_new(void)
{
	struct pnode *node = xcalloc(1, sizeof(*node));

	node->slot = -1;
	return node;
}

static void pnode_release(struct pnode *node)
{
	size_t i;

	for (i = 0; i < node->nkeys; i++) {
		pnode_release(node->keys[i].node);
		free(node->keys[i].node);
		free(node->keys[i].key);
	}
	for (i = 0; i < node->nindexes; i++) {
		pnode_release(node->indexes[i].node);
		free(node->indexes[i].node);
	}
	free(node->keys);
	free(node->indexes);
	free(node->below);
}

void ec_pathset_free(struct ec_pathset *ps)
{
	if (!ps)
		return;
	pnode_release(&ps->root);
	free(ps);
}

/* The child of NODE for SEG; created when CREATE is set, else NULL if absent. */
static struct pnode *pnode_child(struct pnode *node, const struct ec_path_seg *seg, int create)
{
	size_t i;

	if (seg->kind == EC_SEG_INDEX) {
		struct index_edge *e;

		for (i = 0; i < node->nindexes; i++)
			if (node->indexes[i].index == seg->index)
				return node->indexes[i].node;
		if (!create)
			return NULL;
		EC_GROW(node->indexes, node->nindexes + 1, node->indexes_alloc);
		e = &node->indexes[node->nindexes++];
		e->index = seg->index;
		e->node = pnode_new();
		return e->node;
	} else {
		struct key_edge *e;

		for (i = 0; i < node->nkeys; i++)
			if (node->keys[i].len == seg->keylen &&
			    !memcmp(node->keys[i].key, seg->key, seg->keylen))
				return node->keys[i].node;
		if (!create)
			return NULL;
		EC_GROW(node->keys, node->nkeys + 1, node->keys_alloc);
		e = &node->keys[node->nkeys++];
		e->len = seg->keylen;
		node->key_filter |= key_bit(seg->key, seg->keylen);
		e->key = xmalloc(seg->keylen + 1);
		memcpy(e->key, seg->key, seg->keylen);
		e->key[seg->keylen] = '\0';
		e->node = pnode_new();
		return e->node;
	}
}

int ec_pathset_add(struct ec_pathset *ps, const struct ec_path *path)
{
	struct pnode *node = &ps->root;
	size_t i;
	int slot;

	for (i = 0; i < path->nseg; i++)
		node = pnode_child(node, &path->seg[i], 1);
	if (node->slot >= 0)
		return node->slot;
	slot = (int)ps->nslots++;
	node->slot = slot;
	/* Every node strictly between the root and the new end learns the slot. */
	node = &ps->root;
	for (i = 0; i + 1 < path->nseg; i++) {
		node = pnode_child(node, &path->seg[i], 0);
		EC_GROW(node->below, node->nbelow + 1, node->below_alloc);
		node->below[node->nbelow++] = slot;
	}
	return slot;
}

size_t ec_pathset_size(const struct ec_pathset *ps)
{
	return ps->nslots;
}
