/*
 * test_json_yajl.c: a differential test of ec_json_scan against yajl on
 * ~200,000 generated lines (fixed seed): valid objects and mutations of
 * them. The expected verdict and what yajl is known to accept are in
 * json_oracle.h; top-level values are compared too when both accept.
 */
#include "test.h"
#include "json.h"
#include "json_oracle.h"

/* ---- a deterministic generator ---- */

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned rn(unsigned n)
{
	return (unsigned)((rnd() >> 11) % n);
}

static int chance(unsigned percent)
{
	return rn(100) < percent;
}

/* Let the whitespace generator also emit bytes JSON does not allow there. */
static int odd_whitespace;

static void put_utf8(struct ec_buf *b, unsigned long cp)
{
	if (cp < 0x80) {
		ec_buf_addch(b, (char)cp);
	} else if (cp < 0x800) {
		ec_buf_addch(b, (char)(0xc0 | cp >> 6));
		ec_buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		ec_buf_addch(b, (char)(0xe0 | cp >> 12));
		ec_buf_addch(b, (char)(0x80 | (cp >> 6 & 0x3f)));
		ec_buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		ec_buf_addch(b, (char)(0xf0 | cp >> 18));
		ec_buf_addch(b, (char)(0x80 | (cp >> 12 & 0x3f)));
		ec_buf_addch(b, (char)(0x80 | (cp >> 6 & 0x3f)));
		ec_buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* A code point above 0x7f that UTF-8 may encode: every length, no surrogates. */
static unsigned long random_code_point(void)
{
	unsigned long cp;

	switch (rn(4)) {
	case 0:
		return 0x80 + rn(0x800 - 0x80);
	case 1:
		do
			cp = 0x800 + rn(0x10000 - 0x800);
		while (cp >= 0xd800 && cp <= 0xdfff);
		return cp;
	case 2:
		/* the edges, where validators slip */
		{
			static const unsigned long edges[] = {
				0x80, 0x7ff, 0x800, 0xfff, 0x1000, 0xd7ff, 0xe000, 0xfffd, 0xffff,
				0x10000, 0x3ffff, 0x40000, 0xfffff, 0x100000, 0x10ffff,
			};
			return edges[rn(EC_ARRAY_SIZE(edges))];
		}
	default:
		return 0x10000 + rn(0x110000 - 0x10000);
	}
}

static void put_u_escape(struct ec_buf *b, unsigned long unit)
{
	static const char *const forms[] = { "\\u%04lx", "\\u%04lX" };

	ec_buf_addf(b, forms[rn(2)], unit);
}

/* CP as a \u escape (a surrogate pair above the BMP). */
static void put_escaped_code_point(struct ec_buf *b, unsigned long cp)
{
	if (cp >= 0x10000) {
		cp -= 0x10000;
		put_u_escape(b, 0xd800 + (cp >> 10));
		put_u_escape(b, 0xdc00 + (cp & 0x3ff));
	} else {
		put_u_escape(b, cp);
	}
}

static void gen_ws(struct ec_buf *b)
{
	static const char ws[] = " \t\n\r";
	static const char odd[] = "\v\f\0\x1c\xa0";
	unsigned n;

	if (chance(75))
		return;
	for (n = 1 + rn(3); n; n--) {
		if (odd_whitespace && chance(15))
			ec_buf_addch(b, odd[rn(sizeof(odd) - 1)]);
		else
			ec_buf_addch(b, ws[rn(sizeof(ws) - 1)]);
	}
}

/* One character of string content, valid JSON. */
static void gen_string_char(struct ec_buf *b)
{
	static const char simple[] = "\"\\/bfnrt";
	unsigned r = rn(100);
	char c;

	if (r < 62) {
		do
			c = (char)(' ' + rn(95));
		while (c == '"' || c == '\\');
		ec_buf_addch(b, c);
	} else if (r < 72) {
		ec_buf_addch(b, '\\');
		ec_buf_addch(b, simple[rn(sizeof(simple) - 1)]);
	} else if (r < 80) {
		if (chance(5))
			put_u_escape(b, 0xd800 + rn(0x800));	/* a lone surrogate */
		else if (chance(20))
			put_u_escape(b, rn(0x20));
		else
			put_escaped_code_point(b, chance(50) ? rn(0x80) : random_code_point());
	} else if (r < 98) {
		put_utf8(b, random_code_point());
	} else {
		ec_buf_addch(b, 0x7f);
	}
}

static void gen_string(struct ec_buf *b)
{
	unsigned n = chance(10) ? rn(200) : rn(24);

	ec_buf_addch(b, '"');
	while (n--)
		gen_string_char(b);
	ec_buf_addch(b, '"');
}

/* KEY (decoded) written as JSON, some characters escaped at random. */
static void put_key(struct ec_buf *b, const char *key, size_t len)
{
	const unsigned char *p = (const unsigned char *)key, *end = p + len;

	ec_buf_addch(b, '"');
	while (p < end) {
		unsigned long cp = *p;
		size_t n = 1;

		if (cp >= 0xf0) {
			cp = (cp & 0x07) << 18 | (p[1] & 0x3ful) << 12 | (p[2] & 0x3ful) << 6 | (p[3] & 0x3f);
			n = 4;
		} else if (cp >= 0xe0) {
			cp = (cp & 0x0f) << 12 | (p[1] & 0x3ful) << 6 | (p[2] & 0x3f);
			n = 3;
		} else if (cp >= 0xc0) {
			cp = (cp & 0x1f) << 6 | (p[1] & 0x3f);
			n = 2;
		}
		if (cp == '"' || cp == '\\' || cp < 0x20 || chance(15)) {
			if (cp == '"' && chance(50))
				ec_buf_addstr(b, "\\\"");
			else if (cp == '\\' && chance(50))
				ec_buf_addstr(b, "\\\\");
			else if (cp == '/' && chance(50))
				ec_buf_addstr(b, "\\/");
			else if (cp == '\t' && chance(50))
				ec_buf_addstr(b, "\\t");
			else
				put_escaped_code_point(b, cp);
		} else {
			ec_buf_add(b, p, n);
		}
		p += n;
	}
	ec_buf_addch(b, '"');
}

static void gen_key(struct ec_buf *b)
{
	if (chance(60)) {
		const struct oracle_key *k = &oracle_keys[rn(ORACLE_NKEYS)];
		put_key(b, k->key, k->len);
	} else {
		unsigned n = rn(10);

		ec_buf_addch(b, '"');
		while (n--)
			gen_string_char(b);
		ec_buf_addch(b, '"');
	}
}

static void gen_digits(struct ec_buf *b, unsigned n)
{
	while (n--)
		ec_buf_addch(b, (char)('0' + rn(10)));
}

static void gen_number(struct ec_buf *b)
{
	if (chance(30))
		ec_buf_addch(b, '-');
	if (chance(20)) {
		ec_buf_addch(b, '0');
	} else {
		ec_buf_addch(b, (char)('1' + rn(9)));
		gen_digits(b, chance(5) ? 20 + rn(40) : rn(8));
	}
	if (chance(30)) {
		ec_buf_addch(b, '.');
		gen_digits(b, 1 + rn(6));
	}
	if (chance(20)) {
		ec_buf_addch(b, chance(50) ? 'e' : 'E');
		if (chance(60))
			ec_buf_addch(b, chance(50) ? '+' : '-');
		gen_digits(b, 1 + rn(3));
	}
}

static void gen_value(struct ec_buf *b, int depth);

static void gen_object(struct ec_buf *b, int depth)
{
	unsigned n = depth == 1 ? rn(14) : rn(5);

	ec_buf_addch(b, '{');
	gen_ws(b);
	while (n--) {
		gen_key(b);
		gen_ws(b);
		ec_buf_addch(b, ':');
		gen_ws(b);
		gen_value(b, depth + 1);
		gen_ws(b);
		if (n) {
			ec_buf_addch(b, ',');
			gen_ws(b);
		}
	}
	ec_buf_addch(b, '}');
}

static void gen_array(struct ec_buf *b, int depth)
{
	unsigned n = rn(5);

	ec_buf_addch(b, '[');
	gen_ws(b);
	while (n--) {
		gen_value(b, depth + 1);
		gen_ws(b);
		if (n) {
			ec_buf_addch(b, ',');
			gen_ws(b);
		}
	}
	ec_buf_addch(b, ']');
}

static void gen_value(struct ec_buf *b, int depth)
{
	static const char *const literals[] = { "true", "false", "null" };
	unsigned r = rn(100);

	if (depth > 6 && r >= 70)
		r = rn(70);
	if (r < 35)
		gen_string(b);
	else if (r < 58)
		gen_number(b);
	else if (r < 70)
		ec_buf_addstr(b, literals[rn(3)]);
	else if (r < 85)
		gen_object(b, depth);
	else
		gen_array(b, depth);
}

static void gen_line(struct ec_buf *b)
{
	ec_buf_reset(b);
	gen_ws(b);
	gen_object(b, 1);
	gen_ws(b);
}

/* ---- mutations ---- */

static void insert_bytes(struct ec_buf *b, size_t at, const char *s, size_t n)
{
	ec_buf_grow(b, n);
	memmove(b->buf + at + n, b->buf + at, b->len - at);
	memcpy(b->buf + at, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static void delete_bytes(struct ec_buf *b, size_t at, size_t n)
{
	if (at + n > b->len)
		n = b->len - at;
	memmove(b->buf + at, b->buf + at + n, b->len - at - n);
	b->len -= n;
	b->buf[b->len] = '\0';
}

/* A byte sequence that may or may not be valid UTF-8, biased to the hard cases. */
static void gen_utf8_probe(struct ec_buf *b)
{
	unsigned char s[4];
	size_t n, i;

	switch (rn(10)) {
	case 0:		/* overlong */
		switch (rn(3)) {
		case 0:
			s[0] = (unsigned char)(0xc0 + rn(2)), s[1] = (unsigned char)(0x80 + rn(64)), n = 2;
			break;
		case 1:
			s[0] = 0xe0, s[1] = (unsigned char)(0x80 + rn(32)), s[2] = (unsigned char)(0x80 + rn(64)), n = 3;
			break;
		default:
			s[0] = 0xf0, s[1] = (unsigned char)(0x80 + rn(16)), s[2] = 0x80, s[3] = 0x80, n = 4;
			break;
		}
		break;
	case 1:		/* an encoded surrogate */
		s[0] = 0xed, s[1] = (unsigned char)(0xa0 + rn(32)), s[2] = (unsigned char)(0x80 + rn(64)), n = 3;
		break;
	case 2:		/* above U+10FFFF */
		s[0] = (unsigned char)(0xf4 + rn(4));
		s[1] = (unsigned char)(s[0] == 0xf4 ? 0x90 + rn(48) : 0x80 + rn(64));
		s[2] = 0x80, s[3] = 0xbf, n = 4;
		break;
	case 3:		/* leads that never start a sequence, stray continuations */
		s[0] = (unsigned char)(chance(50) ? 0xf8 + rn(8) : 0x80 + rn(64)), n = 1;
		break;
	case 4:		/* a cut sequence */
		n = 0;
		put_utf8(b, 0x800 + rn(0xd000));
		b->len--;
		b->buf[b->len] = '\0';
		break;
	case 5:		/* a random lead and random continuation-ish bytes */
		s[0] = (unsigned char)(0xc0 + rn(64));
		for (i = 1; i < 4; i++)
			s[i] = (unsigned char)(chance(85) ? 0x80 + rn(64) : rn(256));
		n = 1 + rn(4);
		break;
	default:	/* valid */
		n = 0;
		put_utf8(b, random_code_point());
		break;
	}
	ec_buf_add(b, s, n);
}

static void mutate_flip(struct ec_buf *b)
{
	unsigned n = 1 + rn(3);

	while (n-- && b->len) {
		size_t at = rn((unsigned)b->len);

		if (chance(50))
			b->buf[at] = (char)(b->buf[at] ^ (1 << rn(8)));
		else
			b->buf[at] = (char)rn(256);
	}
}

static void mutate_truncate(struct ec_buf *b)
{
	b->len = rn((unsigned)b->len + 1);
	b->buf[b->len] = '\0';
}

static void mutate_insert(struct ec_buf *b)
{
	static const char *const tokens[] = {
		"\"", "{", "}", "[", "]", ",", ":", "\\", "\\u", "\\ud800", "0", "-", ".", "e", " ",
		"true", "null", "\"\":", "\x7f", "\xc3\xa9", "\xc3", "\xe2\x82", "\xc0\x80", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xff", "\x80",
	};
	unsigned n = 1 + rn(2);

	while (n--) {
		size_t at = rn((unsigned)b->len + 1);
		char c;

		switch (rn(4)) {
		case 0:
			c = (char)rn(0x20);
			insert_bytes(b, at, &c, 1);
			break;
		case 1:
			c = (char)(0x80 + rn(0x80));
			insert_bytes(b, at, &c, 1);
			break;
		default: {
			const char *t = tokens[rn(EC_ARRAY_SIZE(tokens))];
			insert_bytes(b, at, t, strlen(t));
			break;
		}
		}
	}
}

static void mutate_delete(struct ec_buf *b)
{
	unsigned n = 1 + rn(3);

	while (n-- && b->len)
		delete_bytes(b, rn((unsigned)b->len), 1 + rn(2));
}

/* ---- categories ---- */

static void make_valid(struct ec_buf *b)
{
	gen_line(b);
}

static void make_flipped(struct ec_buf *b)
{
	gen_line(b);
	mutate_flip(b);
}

static void make_truncated(struct ec_buf *b)
{
	gen_line(b);
	mutate_truncate(b);
}

static void make_inserted(struct ec_buf *b)
{
	gen_line(b);
	mutate_insert(b);
}

static void make_deleted(struct ec_buf *b)
{
	gen_line(b);
	mutate_delete(b);
}

/* Objects whose string values hold UTF-8 probes, valid or not. */
static void make_utf8(struct ec_buf *b)
{
	unsigned members = 1 + rn(4);

	ec_buf_reset(b);
	ec_buf_addch(b, '{');
	while (members--) {
		unsigned n = 1 + rn(4);

		gen_key(b);
		ec_buf_addstr(b, ":\"");
		while (n--) {
			if (chance(40))
				gen_string_char(b);
			gen_utf8_probe(b);
		}
		ec_buf_addch(b, '"');
		if (members)
			ec_buf_addch(b, ',');
	}
	ec_buf_addch(b, '}');
	if (chance(10))
		mutate_truncate(b);
}

/* Number-like tokens as values. */
static void make_numbers(struct ec_buf *b)
{
	static const char alphabet[] = "0123456789-+.eE";
	unsigned n = 1 + rn(7);

	ec_buf_reset(b);
	ec_buf_addstr(b, "{\"a\":");
	if (chance(30)) {
		gen_number(b);
	} else {
		while (n--)
			ec_buf_addch(b, alphabet[rn(sizeof(alphabet) - 1)]);
	}
	ec_buf_addstr(b, chance(20) ? "]" : chance(50) ? "}" : ",\"b\":1}");
	if (chance(10))
		mutate_truncate(b);
}

/* Backslashes followed by anything. */
static void make_escapes(struct ec_buf *b)
{
	static const char hexish[] = "0123456789abcdefABCDEFgGxX\"\\ ";
	unsigned n = 1 + rn(4);

	ec_buf_reset(b);
	ec_buf_addstr(b, chance(20) ? "{\"" : "{\"k\":\"");
	while (n--) {
		unsigned i;

		if (chance(30))
			gen_string_char(b);
		ec_buf_addch(b, '\\');
		if (chance(50)) {
			ec_buf_addch(b, 'u');
			for (i = rn(6); i; i--)
				ec_buf_addch(b, hexish[rn(sizeof(hexish) - 1)]);
		} else {
			ec_buf_addch(b, (char)rn(256));
		}
	}
	ec_buf_addstr(b, chance(20) ? "\":1}" : "\"}");
}

static void make_literals(struct ec_buf *b)
{
	static const char *const words[] = { "true", "false", "null" };
	const char *w = words[rn(3)];
	size_t len = strlen(w);

	ec_buf_reset(b);
	ec_buf_addstr(b, "{\"a\":");
	switch (rn(5)) {
	case 0:
		ec_buf_add(b, w, rn((unsigned)len));
		break;
	case 1:
		ec_buf_addstr(b, w);
		b->buf[b->len - 1 - rn((unsigned)len)] ^= 0x20;
		break;
	case 2:
		ec_buf_addstr(b, w);
		ec_buf_addch(b, (char)('a' + rn(26)));
		break;
	default:
		ec_buf_addstr(b, w);
		break;
	}
	ec_buf_addstr(b, chance(50) ? "}" : " ,\"b\":[true,false,null]}");
}

static void make_whitespace(struct ec_buf *b)
{
	odd_whitespace = 1;
	gen_line(b);
	odd_whitespace = 0;
}

static void make_top_level(struct ec_buf *b)
{
	ec_buf_reset(b);
	gen_ws(b);
	switch (rn(6)) {
	case 0:
		gen_array(b, 1);
		break;
	case 1:
		gen_string(b);
		break;
	case 2:
		gen_number(b);
		break;
	case 3:
		ec_buf_addstr(b, rn(2) ? "true" : "null");
		break;
	case 4:
		gen_object(b, 1);
		gen_ws(b);
		gen_value(b, 1);
		break;
	default:
		gen_value(b, 1);
		break;
	}
	gen_ws(b);
}

/* Containers nested around the limit of 1024, objects and arrays mixed. */
static void make_deep(struct ec_buf *b)
{
	unsigned depth = 1000 + rn(40), i;
	char closers[1100];
	int in_object = 1;

	ec_buf_reset(b);
	ec_buf_addch(b, '{');
	closers[0] = '}';
	for (i = 1; i < depth; i++) {
		if (in_object)
			ec_buf_addstr(b, "\"k\":");
		in_object = chance(50);
		ec_buf_addch(b, in_object ? '{' : '[');
		closers[i] = in_object ? '}' : ']';
	}
	if (chance(50))
		ec_buf_addstr(b, in_object ? "\"z\":1" : "1");
	while (i--)
		ec_buf_addch(b, closers[i]);
	if (chance(20))
		mutate_flip(b);
}

/* ---- the check ---- */

/* What yajl does with the inputs where ec differs (json_oracle.h), and what ec says. */
static void test_yajl_facts(void)
{
	static const struct { const char *line; int yajl_accepts; const char *ec; } facts[] = {
		{ "{\"a\":1}\v", 1, "trailing characters after the object" },
		{ "{\v\"a\":1}", 1, "invalid JSON: unexpected byte 0x0b" },
		{ "{\f\"a\":1}", 1, "invalid JSON: unexpected byte 0x0c" },
		{ "{\"a\":\"\xc0\x80\"}", 1, "invalid UTF-8 in string" },
		{ "{\"a\":\"\xe0\x80\x80\"}", 1, "invalid UTF-8 in string" },
		{ "{\"a\":\"\xf0\x80\x80\x80\"}", 1, "invalid UTF-8 in string" },
		{ "{\"a\":\"\xed\xa0\x80\"}", 1, "invalid UTF-8 in string" },
		{ "{\"a\":\"\xf4\x90\x80\x80\"}", 1, "invalid UTF-8 in string" },
		{ "{\"a\":\"\xf7\xbf\xbf\xbf\"}", 1, "invalid UTF-8 in string" },
		{ "{\"a\":\"\xf8\x88\x80\x80\x80\"}", 0, "invalid UTF-8 in string" },
		{ "{\"a\":\"\x80\"}", 0, "invalid UTF-8 in string" },
		{ "{\"a\":\"\xe2\x82\"}", 0, "invalid UTF-8 in string" },
		{ "{\"a\":\"\x01\"}", 0, "control character in string" },
		{ "{\"a\":\"\t\"}", 0, "control character in string" },
		{ "{\"a\":\"\x7f\"}", 1, "" },
		{ "{\"a\":01}", 0, "invalid number" },
		{ "{\"a\":-01}", 0, "invalid number" },
		{ "{\"a\":-0}", 1, "" },
		{ "{\"a\":0e1}", 1, "" },
		{ "{\"a\":123456789012345678901234567890}", 1, "" },
		{ "{\"a\":\"\\ud800\"}", 1, "" },
		{ "{\"a\":\"\\udc00\\ud800\"}", 1, "" },
		{ "{}\"", 1, "trailing characters after the object" },
		{ "{} \"abc", 1, "trailing characters after the object" },
		{ "{}\"abc\"", 0, "trailing characters after the object" },
		{ "[1]", 1, "expected object, got array" },
		{ "1 ", 1, "expected object, got number" },
	};
	struct ec_jerr err;
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(facts); i++) {
		const char *line = facts[i].line;
		struct oracle o;
		int ok;

		memset(&o, 0, sizeof(o));
		oracle_judge(&o, (const unsigned char *)line, strlen(line));
		oracle_release(&o);
		CHECK_INT(o.yajl_ok, facts[i].yajl_accepts);
		err.msg[0] = '\0';
		ok = ec_json_scan(NULL, line, strlen(line), NULL, &err) == 0;
		CHECK(ok == !facts[i].ec[0]);
		CHECK_STR(err.msg, facts[i].ec);
	}
}

struct category {
	const char *name;
	void (*make)(struct ec_buf *b);
	unsigned count;
};

static struct ec_pathset *ps;
static unsigned mismatches_shown;

static void show_input(const char *what, const struct ec_buf *b)
{
	size_t i;

	printf("# %s\n# input (%zu bytes):", what, b->len);
	for (i = 0; i < b->len; i++)
		printf("%s%02x", i % 32 ? " " : "\n#   ", (unsigned char)b->buf[i]);
	printf("\n");
}

/* Check one input; 0 when ec and the oracle agree. */
static int check_input(const struct category *cat, const struct ec_buf *b,
		       unsigned *ec_ok, unsigned *yajl_ok)
{
	struct ec_jval slots[ORACLE_NKEYS];
	struct ec_jerr err = { 0, "" };
	struct oracle o;
	const char *why = NULL;
	char what[512];
	int ok;

	memset(&o, 0, sizeof(o));
	ok = ec_json_scan(ps, b->buf, b->len, slots, &err) == 0;
	oracle_judge(&o, (const unsigned char *)b->buf, b->len);
	*ec_ok += ok;
	*yajl_ok += o.yajl_ok;
	if (ok != o.expect_ok)
		why = "verdicts differ";
	else if (ok)
		why = oracle_compare(&o, slots, b->buf, b->len);
	else if (err.offset > b->len || !err.msg[0])
		why = "bad error report";
	oracle_release(&o);
	if (!why)
		return 0;
	test_case_failed = 1;
	if (mismatches_shown++ < 10) {
		snprintf(what, sizeof(what), "%s: %s: ec %s%s%s (offset %zu), yajl %s, expected %s",
			 cat->name, why,
			 ok ? "accepts" : "rejects", ok ? "" : ": ", ok ? "" : err.msg, err.offset,
			 o.yajl_ok ? "accepts" : "rejects", o.expect_ok ? "accept" : "reject");
		show_input(what, b);
	}
	return -1;
}

static void run_category(const struct category *cat)
{
	struct ec_buf b = EC_BUF_INIT;
	unsigned i, ec_ok = 0, yajl_ok = 0, bad = 0;

	test_case_failed = 0;
	for (i = 0; i < cat->count; i++) {
		cat->make(&b);
		if (check_input(cat, &b, &ec_ok, &yajl_ok) < 0)
			bad++;
	}
	test_count++;
	if (test_case_failed)
		test_failed++;
	printf("%sok %d - %s # %u inputs: ec accepted %u, yajl %u; %u mismatches\n",
	       test_case_failed ? "not " : "", test_count, cat->name, cat->count, ec_ok, yajl_ok, bad);
	ec_buf_release(&b);
}

int main(void)
{
	static const struct category categories[] = {
		{ "valid objects", make_valid, 40000 },
		{ "byte flips", make_flipped, 30000 },
		{ "truncations", make_truncated, 20000 },
		{ "insertions", make_inserted, 30000 },
		{ "deletions", make_deleted, 10000 },
		{ "UTF-8 in strings", make_utf8, 25000 },
		{ "number-like tokens", make_numbers, 15000 },
		{ "escapes", make_escapes, 12000 },
		{ "literals", make_literals, 5000 },
		{ "odd whitespace", make_whitespace, 8000 },
		{ "top-level values", make_top_level, 5000 },
		{ "deep nesting", make_deep, 400 },
	};
	size_t i;

	RUN(test_yajl_facts);
	ps = oracle_pathset();
	for (i = 0; i < EC_ARRAY_SIZE(categories); i++)
		run_category(&categories[i]);
	ec_pathset_free(ps);
	return test_done();
}
