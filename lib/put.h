/* put.h: unchecked formatting into memory the caller has already made room in, for generators' hot paths. */
#ifndef EC_PUT_H
#define EC_PUT_H

#include "ec.h"

/*
 * Each ec_put_* writes at P and returns the end of what it wrote; nothing
 * is NUL-terminated and nothing checks room. A caller reserves the most a
 * record can take once (ec_buf_grow), then writes the record without a
 * bounds check per field: this is what makes a generator fast.
 */

/* A string literal, its length known at compile time. */
#define EC_PUT_LIT(p, lit) ((p) = ec_put_mem((p), (lit), sizeof(lit) - 1))

static inline char *ec_put_mem(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static inline char *ec_put_str(char *p, const char *s)
{
	return ec_put_mem(p, s, strlen(s));
}

/* Decimal, at most 20 bytes. */
static inline char *ec_put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* Decimal with a '-' when negative, at most 20 bytes. */
static inline char *ec_put_i64(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		return ec_put_u64(p, (uint64_t)0 - (uint64_t)v);
	}
	return ec_put_u64(p, (uint64_t)v);
}

/* V as exactly WIDTH digits, zero-padded; higher digits of V are dropped. */
static inline char *ec_put_u64_width(char *p, uint64_t v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

#endif
