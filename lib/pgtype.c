/* pgtype.c: PostgreSQL text values to typed JSON by type OID (the one converter for streams and snapshots). */
#include "ec.h"
#include "pgtype.h"
#include "jsonw.h"
#include "timefmt.h"

struct oid_kind {
	uint32_t oid;
	unsigned char kind, elem;
};

/* Built-in type OIDs (pg_type.dat), stable across releases. */
static const struct oid_kind oid_kinds[] = {
	{ 16, EC_PGT_BOOL, 0 }, { 17, EC_PGT_BYTEA, 0 }, { 20, EC_PGT_INT, 0 },
	{ 21, EC_PGT_INT, 0 }, { 23, EC_PGT_INT, 0 }, { 26, EC_PGT_INT, 0 },
	{ 114, EC_PGT_JSON, 0 }, { 700, EC_PGT_FLOAT, 0 }, { 701, EC_PGT_FLOAT, 0 },
	{ 1114, EC_PGT_TIMESTAMP, 0 }, { 1184, EC_PGT_TIMESTAMPTZ, 0 }, { 1700, EC_PGT_NUMERIC, 0 },
	{ 3802, EC_PGT_JSON, 0 },
	/* arrays */
	{ 199, EC_PGT_ARRAY, EC_PGT_JSON }, { 1000, EC_PGT_ARRAY, EC_PGT_BOOL },
	{ 1001, EC_PGT_ARRAY, EC_PGT_BYTEA }, { 1002, EC_PGT_ARRAY, EC_PGT_STRING },
	{ 1003, EC_PGT_ARRAY, EC_PGT_STRING }, { 1005, EC_PGT_ARRAY, EC_PGT_INT },
	{ 1007, EC_PGT_ARRAY, EC_PGT_INT }, { 1009, EC_PGT_ARRAY, EC_PGT_STRING },
	{ 1014, EC_PGT_ARRAY, EC_PGT_STRING }, { 1015, EC_PGT_ARRAY, EC_PGT_STRING },
	{ 1016, EC_PGT_ARRAY, EC_PGT_INT }, { 1021, EC_PGT_ARRAY, EC_PGT_FLOAT },
	{ 1022, EC_PGT_ARRAY, EC_PGT_FLOAT }, { 1028, EC_PGT_ARRAY, EC_PGT_INT },
	{ 1115, EC_PGT_ARRAY, EC_PGT_TIMESTAMP }, { 1182, EC_PGT_ARRAY, EC_PGT_STRING },
	{ 1183, EC_PGT_ARRAY, EC_PGT_STRING }, { 1185, EC_PGT_ARRAY, EC_PGT_TIMESTAMPTZ },
	{ 1187, EC_PGT_ARRAY, EC_PGT_STRING }, { 1231, EC_PGT_ARRAY, EC_PGT_NUMERIC },
	{ 1270, EC_PGT_ARRAY, EC_PGT_STRING }, { 2951, EC_PGT_ARRAY, EC_PGT_STRING },
	{ 3807, EC_PGT_ARRAY, EC_PGT_JSON }, { 791, EC_PGT_ARRAY, EC_PGT_STRING },
};

struct ec_pgtype ec_pgtype_of(uint32_t oid)
{
	struct ec_pgtype t = { EC_PGT_STRING, 0 };
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(oid_kinds); i++) {
		if (oid_kinds[i].oid == oid) {
			t.kind = oid_kinds[i].kind;
			t.elem = oid_kinds[i].elem;
			break;
		}
	}
	return t;
}

static int is_special_float(const char *s, size_t n)
{
	return (n == 3 && !memcmp(s, "NaN", 3)) || (n == 8 && !memcmp(s, "Infinity", 8)) ||
	       (n == 9 && !memcmp(s, "-Infinity", 9));
}

/* json keeps the text as typed, newlines included: drop whitespace outside strings. */
static void write_json(struct ec_buf *b, const char *s, size_t n)
{
	size_t i;
	int in_str = 0;

	ec_buf_grow(b, n);
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\' && i + 1 < n) {
				ec_buf_addch(b, c);
				c = s[++i];
			} else if (c == '"') {
				in_str = 0;
			}
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			continue;
		} else if (c == '"') {
			in_str = 1;
		}
		ec_buf_addch(b, c);
	}
	if (!n)
		ec_buf_addstr(b, "null");
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* bytea in hex output ("\x01ff") as base64; any other form stays text. */
static void write_bytea(struct ec_buf *b, const char *s, size_t n)
{
	unsigned char stackbuf[256], *bytes;
	size_t i, nb;
	int hi, lo;

	if (n < 2 || s[0] != '\\' || s[1] != 'x' || (n & 1)) {
		ec_jsonw_str(b, s, n);
		return;
	}
	nb = (n - 2) / 2;
	bytes = nb <= sizeof(stackbuf) ? stackbuf : xmalloc(nb);
	for (i = 0; i < nb; i++) {
		hi = hexval(s[2 + 2 * i]);
		lo = hexval(s[3 + 2 * i]);
		if (hi < 0 || lo < 0)
			break;
		bytes[i] = (unsigned char)(hi << 4 | lo);
	}
	ec_buf_addch(b, '"');
	if (i == nb)
		ec_base64_encode(b, bytes, nb);
	ec_buf_addch(b, '"');
	if (i != nb) {
		/* Not hex after all: keep what the server sent. */
		b->len -= 2;
		ec_jsonw_str(b, s, n);
	}
	if (bytes != stackbuf)
		free(bytes);
}

static int digits(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* The offset after a time: "+00", "-05:30", "+05:45:10"; seconds east of UTC. */
static int parse_offset(const char *s, size_t n, int *secs)
{
	int h, m = 0, sec = 0, sign;

	if (n < 3 || (s[0] != '+' && s[0] != '-') || digits(s + 1, 2, &h))
		return -1;
	sign = s[0] == '-' ? -1 : 1;
	if (n >= 6 && (s[3] != ':' || digits(s + 4, 2, &m)))
		return -1;
	if (n >= 9 && (s[6] != ':' || digits(s + 7, 2, &sec)))
		return -1;
	if (n != 3 && n != 6 && n != 9)
		return -1;
	*secs = sign * (h * 3600 + m * 60 + sec);
	return 0;
}

int ec_pgtype_timestamp_us(const char *s, size_t n, int64_t *us)
{
	int y, mo, d, h, mi, sec, off = 0, frac = 0, scale = 1000000;
	size_t i = 19;

	if (n < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
	    digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (scale == 1)
				return -1;
			scale /= 10;
			frac += (s[i] - '0') * scale;
		}
	}
	if (i < n && parse_offset(s + i, n - i, &off) < 0)
		return -1;
	*us = ((ec_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - off)) *
	      1000000LL + frac;
	return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b < 0) ? q - 1 : q;
}

static void write_time_number(struct ec_buf *b, int64_t us, int unit)
{
	switch (unit) {
	case EC_UNIT_S: ec_jsonw_i64(b, floor_div(us, 1000000)); break;
	case EC_UNIT_MS: ec_jsonw_i64(b, floor_div(us, 1000)); break;
	case EC_UNIT_US: ec_jsonw_i64(b, us); break;
	default: ec_jsonw_i64(b, us * 1000); break;
	}
}

/*
 * ISO DateStyle "2026-11-22 13:59:31.004911+00" to RFC 3339
 * "2026-11-22T13:59:31.004911Z", every digit kept. Infinity, BC and years
 * past 9999 stay as the server wrote them.
 */
static void write_timestamp(struct ec_buf *b, const char *s, size_t n, int tz, const struct ec_pgtype_opts *o)
{
	int64_t us;
	size_t i = 19;

	if (ec_pgtype_timestamp_us(s, n, &us) < 0) {
		ec_jsonw_str(b, s, n);
		return;
	}
	if (o && o->time_unit >= 0) {
		write_time_number(b, us, o->time_unit);
		return;
	}
	ec_buf_grow(b, n + 8);
	ec_buf_addch(b, '"');
	ec_buf_add(b, s, 10);
	ec_buf_addch(b, 'T');
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
	ec_buf_add(b, s + 11, i - 11);
	if (i == n || (n - i == 3 && !memcmp(s + i, "+00", 3)) || !tz) {
		ec_buf_addch(b, 'Z');
	} else {
		ec_buf_add(b, s + i, 3);
		ec_buf_add(b, n - i >= 6 ? s + i + 3 : ":00", 3);
	}
	ec_buf_addch(b, '"');
}

static void write_scalar(struct ec_buf *b, int kind, const char *s, size_t n, const struct ec_pgtype_opts *o);

/* An array literal's parser state: the text and a scratch buffer for unescaped elements. */
struct arr {
	const char *s;
	size_t n, i;
	struct ec_buf tmp;
};

static int arr_value(struct arr *a, struct ec_buf *b, int elem, const struct ec_pgtype_opts *o);

static int arr_list(struct arr *a, struct ec_buf *b, int elem, const struct ec_pgtype_opts *o)
{
	int first = 1;

	a->i++;	/* '{' */
	ec_buf_addch(b, '[');
	if (a->i < a->n && a->s[a->i] == '}') {
		a->i++;
		ec_buf_addch(b, ']');
		return 0;
	}
	for (;;) {
		if (!first)
			ec_buf_addch(b, ',');
		first = 0;
		if (arr_value(a, b, elem, o) < 0)
			return -1;
		if (a->i >= a->n)
			return -1;
		if (a->s[a->i] == '}') {
			a->i++;
			ec_buf_addch(b, ']');
			return 0;
		}
		if (a->s[a->i] != ',')
			return -1;
		a->i++;
	}
}

static int arr_quoted(struct arr *a)
{
	ec_buf_reset(&a->tmp);
	for (a->i++; a->i < a->n; a->i++) {
		char c = a->s[a->i];

		if (c == '"') {
			a->i++;
			return 0;
		}
		if (c == '\\' && a->i + 1 < a->n)
			c = a->s[++a->i];
		ec_buf_addch(&a->tmp, c);
	}
	return -1;
}

static int arr_value(struct arr *a, struct ec_buf *b, int elem, const struct ec_pgtype_opts *o)
{
	size_t start;

	if (a->i >= a->n)
		return -1;
	if (a->s[a->i] == '{')
		return arr_list(a, b, elem, o);
	if (a->s[a->i] == '"') {
		if (arr_quoted(a) < 0)
			return -1;
		write_scalar(b, elem, a->tmp.buf ? a->tmp.buf : "", a->tmp.len, o);
		return 0;
	}
	start = a->i;
	while (a->i < a->n && a->s[a->i] != ',' && a->s[a->i] != '}')
		a->i++;
	if (a->i == start)
		return -1;
	if (a->i - start == 4 && !strncasecmp(a->s + start, "NULL", 4))
		ec_buf_addstr(b, "null");
	else
		write_scalar(b, elem, a->s + start, a->i - start, o);
	return 0;
}

/* "{1,2,NULL}", "{{1,2},{3,4}}", "{\"a b\",c}"; a "[0:1]=" bounds prefix is dropped. */
static void write_array(struct ec_buf *b, int elem, const char *s, size_t n, const struct ec_pgtype_opts *o)
{
	struct arr a = { s, n, 0, EC_BUF_INIT };
	size_t mark = b->len;
	const char *eq;

	if (n && s[0] == '[' && (eq = memchr(s, '=', n)))
		a.i = (size_t)(eq - s) + 1;
	if (a.i >= n || s[a.i] != '{' || arr_list(&a, b, elem, o) < 0 || a.i != n) {
		/* Not an array literal we know: the text is kept, not lost. */
		b->len = mark;
		if (b->buf)
			b->buf[mark] = '\0';
		ec_jsonw_str(b, s, n);
	}
	ec_buf_release(&a.tmp);
}

static void write_scalar(struct ec_buf *b, int kind, const char *s, size_t n, const struct ec_pgtype_opts *o)
{
	switch (kind) {
	case EC_PGT_INT:
		ec_buf_add(b, s, n);
		break;
	case EC_PGT_FLOAT:
		if (is_special_float(s, n))
			ec_jsonw_str(b, s, n);
		else
			ec_buf_add(b, s, n);
		break;
	case EC_PGT_NUMERIC:
		if (o && o->decimal_number && !is_special_float(s, n))
			ec_buf_add(b, s, n);
		else
			ec_jsonw_str(b, s, n);
		break;
	case EC_PGT_BOOL:
		ec_buf_addstr(b, n && s[0] == 't' ? "true" : "false");
		break;
	case EC_PGT_JSON:
		write_json(b, s, n);
		break;
	case EC_PGT_BYTEA:
		write_bytea(b, s, n);
		break;
	case EC_PGT_TIMESTAMPTZ:
		write_timestamp(b, s, n, 1, o);
		break;
	case EC_PGT_TIMESTAMP:
		write_timestamp(b, s, n, 0, o);
		break;
	default:
		ec_jsonw_str(b, s, n);
	}
}

void ec_pgtype_write(struct ec_buf *b, struct ec_pgtype t, const char *s, size_t n,
		     const struct ec_pgtype_opts *o)
{
	if (t.kind == EC_PGT_ARRAY)
		write_array(b, t.elem, s, n, o);
	else
		write_scalar(b, t.kind, s, n, o);
}
