/* buf.c: the xmalloc family and the growable byte buffer. */
#include "ec.h"
#include "log.h"

static void EC_NORETURN out_of_memory(size_t n)
{
	fprintf(stderr, "%s: fatal: out of memory allocating %zu bytes\n", ec_progname, n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		out_of_memory(nmemb * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *xgrow(void *p, size_t elem, size_t need, size_t *alloc)
{
	size_t n;

	if (need <= *alloc)
		return p;
	n = *alloc ? *alloc : 16;
	while (n < need)
		n = n / 2 * 3 + 16;
	if (n > SIZE_MAX / elem)
		out_of_memory(SIZE_MAX);
	*alloc = n;
	return xrealloc(p, n * elem);
}

void ec_buf_grow(struct ec_buf *b, size_t extra)
{
	char *old = b->buf;
	if (b->len + extra + 1 <= b->alloc)
		return;
	b->buf = xgrow(b->buf, 1, b->len + extra + 1, &b->alloc);
	if (!old)
		b->buf[0] = '\0';
}

void ec_buf_vaddf(struct ec_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	ec_buf_grow(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= b->alloc - b->len) {
		ec_buf_grow(b, (size_t)n);
		vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void ec_buf_addf(struct ec_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ec_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void ec_buf_reset(struct ec_buf *b)
{
	b->len = 0;
	if (b->buf)
		b->buf[0] = '\0';
}

void ec_buf_release(struct ec_buf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = b->alloc = 0;
}

char *ec_buf_detach(struct ec_buf *b, size_t *len)
{
	char *p = b->buf ? b->buf : xstrdup("");
	if (len)
		*len = b->len;
	b->buf = NULL;
	b->len = b->alloc = 0;
	return p;
}
