/*
 * decimal.h: exact decimal fixed point for money: a signed 128-bit
 * coefficient and a scale (digits after the point), 38 significant digits.
 * Money is never summed in binary floating point (DESIGN.md §3).
 */
#ifndef EC_DECIMAL_H
#define EC_DECIMAL_H

#include "ec.h"

#define EC_DEC_MAX_DIGITS 38
#define EC_DEC_MAX_SCALE 38

struct ec_dec {
	__int128 coef;		/* value = coef / 10^scale */
	int scale;		/* 0..EC_DEC_MAX_SCALE */
};

#define EC_DEC_ZERO ((struct ec_dec){ 0, 0 })

/*
 * Parse a JSON number or a numeric string's content ("123.45", "-0.5",
 * "1e3", "1.5E-2", "+7" is rejected) exactly. A positive exponent is
 * applied to the coefficient, a negative one raises the scale; trailing
 * zeros are kept ("1.50" has scale 2). Returns 0, or -1 when the text is
 * not a number or needs more than 38 digits (errstr says which).
 */
int ec_dec_parse(struct ec_dec *d, const char *s, size_t n, char *errstr, size_t errstr_size);

/* *r = a + b (scale = max of both). 0, or -1 on overflow. */
int ec_dec_add(struct ec_dec *r, struct ec_dec a, struct ec_dec b);
/* *r = a - b. 0, or -1 on overflow. */
int ec_dec_sub(struct ec_dec *r, struct ec_dec a, struct ec_dec b);
/* *r = a * k for an integer k (weights, quantities). 0, or -1 on overflow. */
int ec_dec_mul_int(struct ec_dec *r, struct ec_dec a, int64_t k);
/* *r = a * b (scale = sum of scales, reduced if over 38). 0, or -1 on overflow. */
int ec_dec_mul(struct ec_dec *r, struct ec_dec a, struct ec_dec b);
/* *r = a / k rounded half-even to SCALE digits. 0, or -1 (k == 0 or overflow). */
int ec_dec_div_int(struct ec_dec *r, struct ec_dec a, int64_t k, int scale);
/* Rescale to SCALE digits (rounding half-even when lowering). 0, or -1 on overflow. */
int ec_dec_rescale(struct ec_dec *r, struct ec_dec a, int scale);

/* <0, 0, >0 by numeric value (1.50 == 1.5). */
int ec_dec_cmp(struct ec_dec a, struct ec_dec b);
static inline int ec_dec_is_zero(struct ec_dec a) { return a.coef == 0; }

/* Append the exact text: "-12.50", "0.05", "100" (scale digits always printed). */
void ec_dec_format(struct ec_dec d, struct ec_buf *out);
/* Into a caller buffer of at least EC_DEC_BUFSZ bytes; returns the length. */
#define EC_DEC_BUFSZ 48
size_t ec_dec_to_str(struct ec_dec d, char *out);

#endif
