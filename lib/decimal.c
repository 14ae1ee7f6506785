/* decimal.c: exact decimal fixed point for money: parsing, arithmetic, rounding and printing. */
#include "decimal.h"

typedef unsigned __int128 u128;

#define P19 10000000000000000000ULL

/* 10^0 .. 10^38; 10^38 < 2^127, so every entry also fits a signed __int128. */
static const u128 pow10_table[EC_DEC_MAX_DIGITS + 1] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
	100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
	10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL, P19,
	(u128)P19 * 10ULL, (u128)P19 * 100ULL, (u128)P19 * 1000ULL, (u128)P19 * 10000ULL,
	(u128)P19 * 100000ULL, (u128)P19 * 1000000ULL, (u128)P19 * 10000000ULL,
	(u128)P19 * 100000000ULL, (u128)P19 * 1000000000ULL, (u128)P19 * 10000000000ULL,
	(u128)P19 * 100000000000ULL, (u128)P19 * 1000000000000ULL, (u128)P19 * 10000000000000ULL,
	(u128)P19 * 100000000000000ULL, (u128)P19 * 1000000000000000ULL,
	(u128)P19 * 10000000000000000ULL, (u128)P19 * 100000000000000000ULL,
	(u128)P19 * 1000000000000000000ULL, (u128)P19 * P19,
};

/* The largest coefficient: 38 nines. Results beyond it are overflow, so whatever we print parses back. */
#define DEC_MAX ((__int128)(pow10_table[EC_DEC_MAX_DIGITS] - 1))

static inline int coef_in_range(__int128 c)
{
	return c <= DEC_MAX && c >= -DEC_MAX;
}

static inline u128 magnitude(__int128 c)
{
	/* Negating in unsigned arithmetic is defined even for the minimum __int128. */
	return c < 0 ? -(u128)c : (u128)c;
}

static inline int valid_scale(int scale)
{
	return scale >= 0 && scale <= EC_DEC_MAX_SCALE;
}

/* Store sign * mag in *r when it fits in 38 digits. */
static int set_signed(struct ec_dec *r, u128 mag, int negative, int scale)
{
	if (mag > (u128)DEC_MAX)
		return -1;
	r->coef = negative ? -(__int128)mag : (__int128)mag;
	r->scale = scale;
	return 0;
}

/*
 * Half-even rounding of a quotient q whose dropped remainder is rem out of
 * div. sticky says an earlier division step left a remainder too; with an
 * even div that can only matter at an exact half, which it tips upwards.
 * rem < div <= 10^38, so 2 * rem cannot overflow.
 */
static int rounds_up(u128 q, u128 rem, u128 div, int sticky)
{
	u128 twice = rem * 2;

	if (twice != div)
		return twice > div;
	return sticky || (q & 1);
}

/* ---- parsing ---- */

/* Where the parts of a number's text are; exp is saturated (see scan_exponent). */
struct num_text {
	const char *int_begin, *int_end;
	const char *frac_begin, *frac_end;
	long long exp;
	int negative;
};

static inline int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *skip_digits(const char *p, const char *end)
{
	while (p < end && is_digit(*p))
		p++;
	return p;
}

/*
 * The exponent saturates at cap, which the caller makes larger than the
 * text's length plus 38: any exponent that large already decides the
 * outcome (overflow, underflow or zero), so a huge one neither loops long
 * nor wraps.
 */
static const char *scan_exponent(const char *p, const char *end, long long cap, long long *exp)
{
	int negative = 0;
	long long e = 0;
	const char *digits;

	if (p < end && (*p == '+' || *p == '-'))
		negative = *p++ == '-';
	digits = p;
	for (; p < end && is_digit(*p); p++)
		if (e < cap)
			e = e * 10 + (*p - '0');
	if (p == digits)
		return NULL;
	*exp = negative ? -e : e;
	return p;
}

/* Check the JSON number grammar and find its parts; 0 or -1. */
static int scan_number(const char *s, size_t n, struct num_text *t)
{
	const char *p = s, *end = s + n;

	t->negative = p < end && *p == '-';
	if (t->negative)
		p++;
	if (p == end || !is_digit(*p))
		return -1;
	t->int_begin = p;
	/* No leading zeros: a lone "0" ends the integer part ("01" fails below). */
	p = *p == '0' ? p + 1 : skip_digits(p, end);
	t->int_end = p;
	t->frac_begin = t->frac_end = p;
	if (p < end && *p == '.') {
		t->frac_begin = ++p;
		p = skip_digits(p, end);
		if (p == t->frac_begin)
			return -1;
		t->frac_end = p;
	}
	t->exp = 0;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p = scan_exponent(p + 1, end, (long long)n + 100, &t->exp);
		if (!p)
			return -1;
	}
	return p == end ? 0 : -1;
}

static inline uint64_t add_digits_u64(uint64_t v, const char *p, const char *end)
{
	for (; p < end; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

/* More than 19 digits: skip leading zeros, count the rest; -1 beyond 38 significant digits. */
static int add_digits_wide(u128 *v, int *sig, const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*v == 0 && *p == '0')
			continue;
		if (++*sig > EC_DEC_MAX_DIGITS)
			return -1;
		*v = *v * 10 + (unsigned)(*p - '0');
	}
	return 0;
}

/* Quote at most the first 24 bytes of a bad number, so a huge one keeps the message short. */
#define EXCERPT_MAX 24
#define EXCERPT_FMT "%.*s%s"
#define EXCERPT_ARGS(s, n) (int)((n) > EXCERPT_MAX ? EXCERPT_MAX : (n)), (s), ((n) > EXCERPT_MAX ? "..." : "")

static int parse_error(const char *why, const char *s, size_t n, char *errstr, size_t errstr_size)
{
	if (!n)
		snprintf(errstr, errstr_size, "empty string is not a number");
	else if (!why)
		snprintf(errstr, errstr_size, "invalid number \"" EXCERPT_FMT "\"", EXCERPT_ARGS(s, n));
	else
		snprintf(errstr, errstr_size, "number " EXCERPT_FMT " %s", EXCERPT_ARGS(s, n), why);
	return -1;
}

int ec_dec_parse(struct ec_dec *d, const char *s, size_t n, char *errstr, size_t errstr_size)
{
	static const char too_long[] = "has more than 38 digits";
	static const char too_fine[] = "has more than 38 digits after the point";
	struct num_text t;
	size_t ndigits;
	long long scale;
	u128 mag;

	if (scan_number(s, n, &t) < 0)
		return parse_error(NULL, s, n, errstr, errstr_size);
	scale = (long long)(t.frac_end - t.frac_begin) - t.exp;
	if (scale > EC_DEC_MAX_SCALE)
		return parse_error(too_fine, s, n, errstr, errstr_size);

	ndigits = (size_t)(t.int_end - t.int_begin) + (size_t)(t.frac_end - t.frac_begin);
	if (EC_LIKELY(ndigits <= 19)) {
		/* The common case: prices and amounts fit 64 bits, which is much cheaper to build. */
		mag = add_digits_u64(add_digits_u64(0, t.int_begin, t.int_end), t.frac_begin, t.frac_end);
	} else {
		int sig = 0;

		mag = 0;
		if (add_digits_wide(&mag, &sig, t.int_begin, t.int_end) < 0 ||
		    add_digits_wide(&mag, &sig, t.frac_begin, t.frac_end) < 0)
			return parse_error(too_long, s, n, errstr, errstr_size);
	}

	if (scale < 0) {
		/* A positive net exponent goes into the coefficient: 1.5e3 is 1500. */
		if (mag && (-scale > EC_DEC_MAX_DIGITS || mag >= pow10_table[EC_DEC_MAX_DIGITS + scale]))
			return parse_error(too_long, s, n, errstr, errstr_size);
		if (mag)
			mag *= pow10_table[-scale];
		scale = 0;
	}
	d->coef = t.negative ? -(__int128)mag : (__int128)mag;
	d->scale = (int)scale;
	return 0;
}

/* ---- addition ---- */

/* Bring a and b to the larger of their scales; -1 when the rescaled one overflows. */
static int align_scales(struct ec_dec *a, struct ec_dec *b)
{
	struct ec_dec *lo = a->scale < b->scale ? a : b;
	int scale = a->scale < b->scale ? b->scale : a->scale;

	if (!valid_scale(a->scale) || !valid_scale(b->scale))
		return -1;
	if (__builtin_mul_overflow(lo->coef, (__int128)pow10_table[scale - lo->scale], &lo->coef) ||
	    !coef_in_range(lo->coef))
		return -1;
	lo->scale = scale;
	return 0;
}

int ec_dec_add(struct ec_dec *r, struct ec_dec a, struct ec_dec b)
{
	__int128 c;

	if (EC_UNLIKELY(a.scale != b.scale) && align_scales(&a, &b) < 0)
		return -1;
	if (__builtin_add_overflow(a.coef, b.coef, &c) || !coef_in_range(c))
		return -1;
	r->coef = c;
	r->scale = a.scale;
	return 0;
}

int ec_dec_sub(struct ec_dec *r, struct ec_dec a, struct ec_dec b)
{
	__int128 c;

	if (a.scale != b.scale && align_scales(&a, &b) < 0)
		return -1;
	if (__builtin_sub_overflow(a.coef, b.coef, &c) || !coef_in_range(c))
		return -1;
	r->coef = c;
	r->scale = a.scale;
	return 0;
}

/* ---- multiplication and division ---- */

int ec_dec_mul_int(struct ec_dec *r, struct ec_dec a, int64_t k)
{
	__int128 c;

	if (__builtin_mul_overflow(a.coef, (__int128)k, &c) || !coef_in_range(c))
		return -1;
	r->coef = c;
	r->scale = a.scale;
	return 0;
}

/* A 256-bit unsigned integer, least significant limb first: products of two coefficients. */
struct u256 {
	uint64_t limb[4];
};

static struct u256 mul_u128(u128 a, u128 b)
{
	uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
	uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
	u128 p00 = (u128)a0 * b0, p01 = (u128)a0 * b1;
	u128 p10 = (u128)a1 * b0, p11 = (u128)a1 * b1;
	/* Neither sum can overflow: mid < 3 * 2^64, and high is the exact upper half of a * b. */
	u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
	u128 high = (mid >> 64) + (p01 >> 64) + (p10 >> 64) + p11;
	struct u256 x = { { (uint64_t)p00, (uint64_t)mid, (uint64_t)high, (uint64_t)(high >> 64) } };

	return x;
}

/* x /= d in place; returns the remainder. */
static uint64_t div_u256_u64(struct u256 *x, uint64_t d)
{
	u128 rem = 0;
	int i;

	for (i = 3; i >= 0; i--) {
		u128 cur = rem << 64 | x->limb[i];
		x->limb[i] = (uint64_t)(cur / d);
		rem = cur % d;
	}
	return (uint64_t)rem;
}

static int u256_fits_u128(const struct u256 *x, u128 *v)
{
	if (x->limb[2] || x->limb[3])
		return 0;
	*v = (u128)x->limb[1] << 64 | x->limb[0];
	return 1;
}

/* Divide x by 10^digits (digits <= 38) rounding half-even, in steps of at most 10^19. */
static void div_u256_pow10_round(struct u256 *x, int digits)
{
	int sticky = 0;
	uint64_t div = 1, rem = 0;
	u128 q;

	while (digits > 0) {
		int step = digits > 19 ? 19 : digits;

		sticky |= rem != 0;
		div = (uint64_t)pow10_table[step];
		rem = div_u256_u64(x, div);
		digits -= step;
	}
	if (div == 1)
		return;
	q = x->limb[0];
	if (rounds_up(q, rem, div, sticky)) {
		int i;
		/* Carry through the limbs: the quotient may straddle one. */
		for (i = 0; i < 4 && ++x->limb[i] == 0; i++)
			;
	}
}

int ec_dec_mul(struct ec_dec *r, struct ec_dec a, struct ec_dec b)
{
	int scale = a.scale + b.scale;
	struct u256 prod;
	u128 mag;

	if (!valid_scale(a.scale) || !valid_scale(b.scale))
		return -1;
	prod = mul_u128(magnitude(a.coef), magnitude(b.coef));
	if (scale > EC_DEC_MAX_SCALE) {
		div_u256_pow10_round(&prod, scale - EC_DEC_MAX_SCALE);
		scale = EC_DEC_MAX_SCALE;
	}
	if (!u256_fits_u128(&prod, &mag))
		return -1;
	return set_signed(r, mag, (a.coef < 0) != (b.coef < 0), scale);
}

int ec_dec_div_int(struct ec_dec *r, struct ec_dec a, int64_t k, int scale)
{
	u128 kmag = k < 0 ? -(u128)k : (u128)k;
	int negative = (a.coef < 0) != (k < 0);
	u128 q;

	if (!k || !valid_scale(a.scale) || !valid_scale(scale))
		return -1;
	if (scale >= a.scale) {
		/* |a| * 10^(scale - a.scale) / |k|: the numerator may need up to 254 bits. */
		struct u256 num = mul_u128(magnitude(a.coef), pow10_table[scale - a.scale]);
		uint64_t rem = div_u256_u64(&num, (uint64_t)kmag);

		/* Checked before rounding so q + 1 cannot wrap. */
		if (!u256_fits_u128(&num, &q) || q > (u128)DEC_MAX)
			return -1;
		if (rounds_up(q, rem, kmag, 0))
			q++;
	} else {
		/*
		 * Fewer digits than a has: divide by |k|, then by 10^m. The first
		 * remainder only matters for an exact half of the second step,
		 * which is even, so it acts as a sticky bit.
		 */
		u128 q1 = magnitude(a.coef) / kmag, r1 = magnitude(a.coef) % kmag;
		u128 div = pow10_table[a.scale - scale];

		q = q1 / div;
		if (rounds_up(q, q1 % div, div, r1 != 0))
			q++;
	}
	return set_signed(r, q, negative, scale);
}

int ec_dec_rescale(struct ec_dec *r, struct ec_dec a, int scale)
{
	u128 mag, div, q;

	if (!valid_scale(a.scale) || !valid_scale(scale))
		return -1;
	if (scale >= a.scale) {
		__int128 c;

		if (__builtin_mul_overflow(a.coef, (__int128)pow10_table[scale - a.scale], &c) || !coef_in_range(c))
			return -1;
		r->coef = c;
		r->scale = scale;
		return 0;
	}
	mag = magnitude(a.coef);
	div = pow10_table[a.scale - scale];
	q = mag / div;
	if (rounds_up(q, mag % div, div, 0))
		q++;
	return set_signed(r, q, a.coef < 0, scale);
}

/* ---- comparison ---- */

static inline int sign_of(__int128 c)
{
	return (c > 0) - (c < 0);
}

int ec_dec_cmp(struct ec_dec a, struct ec_dec b)
{
	struct ec_dec *lo;
	int sa = sign_of(a.coef), sb = sign_of(b.coef);

	if (a.scale == b.scale)
		return (a.coef > b.coef) - (a.coef < b.coef);
	if (sa != sb)
		return (sa > sb) - (sa < sb);
	lo = a.scale < b.scale ? &a : &b;
	/*
	 * Same sign: scale the coarser one up. If that overflows __int128 its
	 * magnitude exceeds anything the other can hold, so its sign decides.
	 */
	if (!valid_scale(a.scale) || !valid_scale(b.scale) ||
	    __builtin_mul_overflow(lo->coef, (__int128)pow10_table[(lo == &a ? b.scale : a.scale) - lo->scale],
				   &lo->coef))
		return lo == &a ? sa : -sb;
	return (a.coef > b.coef) - (a.coef < b.coef);
}

/* ---- printing ---- */

/* Write the decimal digits of v ending just before end; returns where they start. */
static char *put_u64(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static char *put_u128(char *end, u128 v)
{
	while (v > UINT64_MAX) {
		/* Peel 19 digits at a time so the rest is cheap 64-bit division. */
		uint64_t low = (uint64_t)(v % P19);
		char *stop = end - 19;

		v /= P19;
		end = put_u64(end, low);
		while (end > stop)
			*--end = '0';
	}
	return put_u64(end, (uint64_t)v);
}

size_t ec_dec_to_str(struct ec_dec d, char *out)
{
	/* 39 digits for the minimum __int128, one more leading zero at most. */
	char digits[EC_DEC_MAX_DIGITS + 2];
	char *end = digits + sizeof(digits);
	char *p = put_u128(end, magnitude(d.coef));
	/* Nothing here makes a scale outside 0..38; should one arrive, stay inside the buffers. */
	int scale = valid_scale(d.scale) ? d.scale : 0;
	size_t ndigits, nint, len = 0;

	/* At least one digit before the point: 5 at scale 2 is "0.05". */
	while (end - p <= scale)
		*--p = '0';
	ndigits = (size_t)(end - p);
	nint = ndigits - (size_t)scale;
	if (d.coef < 0)
		out[len++] = '-';
	memcpy(out + len, p, nint);
	len += nint;
	if (scale) {
		out[len++] = '.';
		memcpy(out + len, p + nint, (size_t)scale);
		len += (size_t)scale;
	}
	out[len] = '\0';
	return len;
}

void ec_dec_format(struct ec_dec d, struct ec_buf *out)
{
	char tmp[EC_DEC_BUFSZ];

	ec_buf_add(out, tmp, ec_dec_to_str(d, tmp));
}
