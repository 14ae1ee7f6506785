/* jsonw.c: writing JSON text (strings, numbers, times) and splicing fields into records. */
#include "ec.h"
#include "jsonw.h"
#include "timefmt.h"

/* Length of the valid UTF-8 sequence at S (1-4), or 0 if it is not valid (RFC 3629). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
		return n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
		return n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 &&
		       (s[3] & 0xC0) == 0x80 ? 4 : 0;
	}
	return 0;
}

int ec_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		size_t k = utf8_seq_len(p, (size_t)(end - p));
		if (!k)
			return 0;
		p += k;
	}
	return 1;
}

/* Bytes written as they are inside a JSON string: printable ASCII but '"' (0x22) and '\\' (0x5c). */
static const unsigned char plain[256] = { [0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1 };

void ec_jsonw_str(struct ec_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	ec_buf_grow(b, n + 2);
	b->buf[b->len++] = '"';
	while (p < end) {
		const unsigned char *run = p;
		size_t k;

		/* Copy plain ASCII in one go; escape the rest one character at a time. */
		while (p < end && plain[*p])
			p++;
		if (p > run) {
			ec_buf_grow(b, (size_t)(p - run) + 1);
			memcpy(b->buf + b->len, run, (size_t)(p - run));
			b->len += (size_t)(p - run);
		}
		if (p == end)
			break;
		ec_buf_grow(b, 8);
		switch (*p) {
		case '"': memcpy(b->buf + b->len, "\\\"", 2); b->len += 2; p++; continue;
		case '\\': memcpy(b->buf + b->len, "\\\\", 2); b->len += 2; p++; continue;
		case '\n': memcpy(b->buf + b->len, "\\n", 2); b->len += 2; p++; continue;
		case '\r': memcpy(b->buf + b->len, "\\r", 2); b->len += 2; p++; continue;
		case '\t': memcpy(b->buf + b->len, "\\t", 2); b->len += 2; p++; continue;
		}
		if (*p < 0x20) {
			char *o = b->buf + b->len;
			memcpy(o, "\\u00", 4);
			o[4] = hex[*p >> 4];
			o[5] = hex[*p & 15];
			b->len += 6;
			p++;
			continue;
		}
		k = utf8_seq_len(p, (size_t)(end - p));
		if (k) {
			memcpy(b->buf + b->len, p, k);
			b->len += k;
			p += k;
		} else {
			/* Invalid byte: U+FFFD keeps the output valid UTF-8. */
			memcpy(b->buf + b->len, "\xEF\xBF\xBD", 3);
			b->len += 3;
			p++;
		}
	}
	b->buf[b->len++] = '"';
	b->buf[b->len] = '\0';
}

void ec_jsonw_key(struct ec_buf *b, const char *key)
{
	ec_jsonw_cstr(b, key);
	ec_buf_addch(b, ':');
}

void ec_jsonw_u64(struct ec_buf *b, uint64_t v)
{
	/* Two digits a step: times in milliseconds have thirteen. */
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	char tmp[24];
	size_t i = sizeof(tmp);

	while (v >= 100) {
		i -= 2;
		memcpy(tmp + i, pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		i -= 2;
		memcpy(tmp + i, pairs + 2 * v, 2);
	} else {
		tmp[--i] = (char)('0' + v);
	}
	ec_buf_add(b, tmp + i, sizeof(tmp) - i);
}

void ec_jsonw_i64(struct ec_buf *b, int64_t v)
{
	if (v < 0) {
		ec_buf_addch(b, '-');
		ec_jsonw_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		ec_jsonw_u64(b, (uint64_t)v);
	}
}

void ec_jsonw_time(struct ec_buf *b, int64_t ms)
{
	char tmp[EC_TIME_BUFSZ];
	size_t n = ec_time_format(ms, tmp);

	ec_buf_grow(b, n + 2);
	b->buf[b->len++] = '"';
	memcpy(b->buf + b->len, tmp, n);
	b->len += n;
	b->buf[b->len++] = '"';
	b->buf[b->len] = '\0';
}

void ec_jsonw_splice(struct ec_buf *b, const char *record, size_t n,
		     const char *fields, size_t fields_len)
{
	size_t close = n, before;

	/* The record is a validated object: its last non-space byte is '}'. */
	while (close > 0 && record[close - 1] != '}')
		close--;
	if (!close) {
		ec_buf_add(b, record, n);
		return;
	}
	close--;
	before = close;
	while (before > 0 && (record[before - 1] == ' ' || record[before - 1] == '\t' ||
			      record[before - 1] == '\n' || record[before - 1] == '\r'))
		before--;
	ec_buf_add(b, record, close);
	if (fields_len) {
		if (record[before - 1] != '{')
			ec_buf_addch(b, ',');
		ec_buf_add(b, fields, fields_len);
	}
	ec_buf_add(b, record + close, n - close);
}

void ec_base64_encode(struct ec_buf *b, const void *data, size_t n)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	char *o;
	size_t i;

	ec_buf_grow(b, (n + 2) / 3 * 4);
	o = b->buf + b->len;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = tbl[v >> 18];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = tbl[(v >> 6) & 63];
		*o++ = tbl[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		*o++ = tbl[v >> 18];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	b->len = (size_t)(o - b->buf);
	b->buf[b->len] = '\0';
}
