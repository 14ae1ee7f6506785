/* test_decimal.c: unit tests for exact decimal fixed point (lib/decimal.c). */
#include "test.h"
#include "decimal.h"

typedef unsigned __int128 u128;

/* Formatted value, or "error: ..." when parsing fails; rotating buffers so a check may call it twice. */
static const char *parsed(const char *text)
{
	static char out[4][300];
	static int next;
	char *o = out[next++ % 4];
	char errstr[200];
	struct ec_dec d;

	if (ec_dec_parse(&d, text, strlen(text), errstr, sizeof(errstr)) < 0)
		snprintf(o, 300, "error: %s", errstr);
	else
		ec_dec_to_str(d, o);
	return o;
}

static struct ec_dec dec(const char *text)
{
	struct ec_dec d = EC_DEC_ZERO;
	char errstr[200];

	if (ec_dec_parse(&d, text, strlen(text), errstr, sizeof(errstr)) < 0)
		printf("# cannot parse %s: %s\n", text, errstr);
	return d;
}

static const char *str(struct ec_dec d)
{
	static char out[4][EC_DEC_BUFSZ];
	static int next;
	char *o = out[next++ % 4];

	ec_dec_to_str(d, o);
	return o;
}

static struct ec_dec mk(__int128 coef, int scale)
{
	struct ec_dec d = { coef, scale };
	return d;
}

#define NINES38 "99999999999999999999999999999999999999"
#define ZEROS38 "00000000000000000000000000000000000000"

static void test_parse_accepts(void)
{
	static const struct { const char *text, *want; int scale; } cases[] = {
		{ "0", "0", 0 },
		{ "-0", "0", 0 },
		{ "-0.00", "0.00", 2 },
		{ "0.000", "0.000", 3 },
		{ "7", "7", 0 },
		{ "123.45", "123.45", 2 },
		{ "-0.50", "-0.50", 2 },
		{ "1.50", "1.50", 2 },
		{ "1e3", "1000", 0 },
		{ "1E3", "1000", 0 },
		{ "1e+2", "100", 0 },
		{ "1E+0", "1", 0 },
		{ "1e007", "10000000", 0 },
		{ "1.5E-2", "0.015", 3 },
		{ "1.5e1", "15", 0 },
		{ "1.50e1", "15.0", 1 },
		{ "1.55e1", "15.5", 1 },
		{ "150e-1", "15.0", 1 },
		{ "-2.5e-3", "-0.0025", 4 },
		{ "0e5", "0", 0 },
		{ "0.00e1", "0.0", 1 },
		{ "0e-3", "0.000", 3 },
		{ "10", "10", 0 },
		{ "1234567890123456789", "1234567890123456789", 0 },
		{ "12345678901234567890", "12345678901234567890", 0 },
		{ "9223372036854775808", "9223372036854775808", 0 },
		{ "18446744073709551616", "18446744073709551616", 0 },
		{ NINES38, NINES38, 0 },
		{ "-" NINES38, "-" NINES38, 0 },
		{ "9999999999999999999.9999999999999999999", "9999999999999999999.9999999999999999999", 19 },
		{ "0.00000000000000000000000000000000000001", "0.00000000000000000000000000000000000001", 38 },
		{ "0.00000000000000000000000000000000000000", "0.00000000000000000000000000000000000000", 38 },
		{ "1e-38", "0.00000000000000000000000000000000000001", 38 },
		{ "1e37", "10000000000000000000000000000000000000", 0 },
		{ "9.9e37", "99000000000000000000000000000000000000", 0 },
		{ "0.00000000000000000000000000000000000000001e10", "0.0000000000000000000000000000001", 31 },
		{ "0e99999999999999999999999999", "0", 0 },
	};
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(cases); i++) {
		struct ec_dec d;
		char errstr[200] = "";

		CHECK_STR(parsed(cases[i].text), cases[i].want);
		if (ec_dec_parse(&d, cases[i].text, strlen(cases[i].text), errstr, sizeof(errstr)) == 0)
			CHECK_INT(d.scale, cases[i].scale);
	}
}

static void test_parse_rejects(void)
{
	static const char *const cases[] = {
		"", "-", "+1", ".5", "-.5", "1.", "1.e3", "01", "-01", "00", "00.5", "1e", "1e+", "1e-",
		"E5", "NaN", "nan", "Infinity", "-Infinity", "inf", " 1", "1 ", "1\n", "\t1", "--1",
		"1a", "0x10", "1e1.5", "1.5.3", "1,5", "1_000", "true", "null", "\"1\"", "1e5e5", "-e1",
		"1-", "1..2", "١",
	};
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(cases); i++) {
		const char *got = parsed(cases[i]);

		if (strncmp(got, "error: ", 7)) {
			printf("# accepted \"%s\" as %s\n", cases[i], got);
			CHECK(!"rejected");
		}
	}
	CHECK_STR(parsed("1."), "error: invalid number \"1.\"");
	CHECK_STR(parsed(""), "error: empty string is not a number");
	CHECK_STR(parsed("abcdefghijklmnopqrstuvwxyz"), "error: invalid number \"abcdefghijklmnopqrstuvwx...\"");
}

static void test_parse_limits(void)
{
	/* 39 significant digits, however they are spelled, and scales past 38. */
	CHECK_STR(parsed("123456789012345678901234567890123456789"),
		  "error: number 123456789012345678901234... has more than 38 digits");
	CHECK_STR(parsed("1" NINES38), "error: number 199999999999999999999999... has more than 38 digits");
	CHECK_STR(parsed("-1" NINES38), "error: number -19999999999999999999999... has more than 38 digits");
	CHECK_STR(parsed("1e38"), "error: number 1e38 has more than 38 digits");
	CHECK_STR(parsed("9.9e38"), "error: number 9.9e38 has more than 38 digits");
	CHECK_STR(parsed("1." ZEROS38 "e1"),
		  "error: number 1.0000000000000000000000... has more than 38 digits");
	CHECK_STR(parsed("1e-39"), "error: number 1e-39 has more than 38 digits after the point");
	CHECK_STR(parsed("0.000000000000000000000000000000000000001"),
		  "error: number 0.0000000000000000000000... has more than 38 digits after the point");
	CHECK_STR(parsed("0e-39"), "error: number 0e-39 has more than 38 digits after the point");
	/* Leading zeros of a fraction are not significant digits; trailing ones are. */
	CHECK_STR(parsed("0.0000000000000000000012345678901234567"), "0.0000000000000000000012345678901234567");
	CHECK_STR(parsed("1." ZEROS38), "error: number 1.0000000000000000000000... has more than 38 digits");
	CHECK_STR(parsed("1." ZEROS38 "0"), "error: number 1.0000000000000000000000... has more than 38 digits after the point");
	CHECK_STR(parsed("1.0" ZEROS38 "e1"), "error: number 1.0000000000000000000000... has more than 38 digits");
	CHECK_STR(parsed("10000000000000000000000000000000000000.0"),
		  "error: number 100000000000000000000000... has more than 38 digits");
	/* Huge exponents end quickly and never wrap. */
	CHECK_STR(parsed("1e999999999999999999999999999999"), "error: number 1e9999999999999999999999... has more than 38 digits");
	CHECK_STR(parsed("1e-999999999999999999999999999999"),
		  "error: number 1e-999999999999999999999... has more than 38 digits after the point");
	CHECK_STR(parsed("1e9223372036854775807"), "error: number 1e9223372036854775807 has more than 38 digits");
	CHECK_STR(parsed("1e18446744073709551616"), "error: number 1e18446744073709551616 has more than 38 digits");
	CHECK_STR(parsed("1e-18446744073709551616"),
		  "error: number 1e-18446744073709551616 has more than 38 digits after the point");
}

static void test_parse_uses_length(void)
{
	struct ec_dec d;
	char errstr[64];
	static const char text[] = "123.45\",\"b\":1}";

	CHECK_INT(ec_dec_parse(&d, text, 6, errstr, sizeof(errstr)), 0);
	CHECK_STR(str(d), "123.45");
	CHECK_INT(ec_dec_parse(&d, text, 4, errstr, sizeof(errstr)), -1);	/* "123." */
	CHECK_INT(ec_dec_parse(&d, text, 3, errstr, sizeof(errstr)), 0);
	CHECK_STR(str(d), "123");
	/* A small errstr is truncated, not overrun; NULL with size 0 is allowed. */
	CHECK_INT(ec_dec_parse(&d, "x", 1, errstr, 8), -1);
	CHECK_STR(errstr, "invalid");
	CHECK_INT(ec_dec_parse(&d, "x", 1, NULL, 0), -1);
}

static void test_format(void)
{
	const __int128 min = -(__int128)(((u128)1 << 127) - 1) - 1;
	struct ec_buf b = EC_BUF_INIT;
	char out[EC_DEC_BUFSZ];

	CHECK_STR(str(mk(12345, 2)), "123.45");
	CHECK_STR(str(mk(-12345, 2)), "-123.45");
	CHECK_STR(str(mk(-5, 2)), "-0.05");
	CHECK_STR(str(mk(5, 2)), "0.05");
	CHECK_STR(str(mk(50, 2)), "0.50");
	CHECK_STR(str(mk(-1250, 2)), "-12.50");
	CHECK_STR(str(mk(100, 0)), "100");
	CHECK_STR(str(mk(0, 0)), "0");
	CHECK_STR(str(mk(0, 2)), "0.00");
	CHECK_STR(str(mk(-0, 2)), "0.00");
	CHECK_STR(str(mk(1, 38)), "0.00000000000000000000000000000000000001");
	CHECK_STR(str(mk(-1, 38)), "-0.00000000000000000000000000000000000001");
	CHECK_STR(str(mk((__int128)10000000000000000000ULL, 0)), "10000000000000000000");
	CHECK_STR(str(mk((__int128)UINT64_MAX + 1, 0)), "18446744073709551616");
	CHECK_STR(str(mk((__int128)10000000000000000000ULL * 10000000000000000000ULL, 0)),
		  "100000000000000000000000000000000000000");
	CHECK_STR(str(mk((__int128)10000000000000000000ULL * 10000000000000000000ULL + 7, 20)),
		  "1000000000000000000.00000000000000000007");
	CHECK_STR(str(dec(NINES38)), NINES38);
	CHECK_STR(str(dec("-0." NINES38)), "-0." NINES38);
	CHECK_STR(str(mk(min, 0)), "-170141183460469231731687303715884105728");
	CHECK_STR(str(mk(min, 38)), "-1.70141183460469231731687303715884105728");
	CHECK_STR(str(mk(-(min + 1), 38)), "1.70141183460469231731687303715884105727");
	CHECK_INT(ec_dec_to_str(mk(min, 38), out), 41);
	CHECK_INT(strlen(out), 41);

	ec_buf_addstr(&b, "{\"gmv\":");
	ec_dec_format(mk(-5, 2), &b);
	ec_buf_addch(&b, ',');
	ec_dec_format(mk(0, 3), &b);
	ec_buf_addch(&b, '}');
	CHECK_STR(b.buf, "{\"gmv\":-0.05,0.000}");
	ec_buf_release(&b);
}

static const char *add_str(const char *a, const char *b)
{
	struct ec_dec r;
	return ec_dec_add(&r, dec(a), dec(b)) < 0 ? "overflow" : str(r);
}

static const char *sub_str(const char *a, const char *b)
{
	struct ec_dec r;
	return ec_dec_sub(&r, dec(a), dec(b)) < 0 ? "overflow" : str(r);
}

static void test_add_sub(void)
{
	CHECK_STR(add_str("1.5", "2.25"), "3.75");
	CHECK_STR(add_str("0.10", "0.2"), "0.30");
	CHECK_STR(add_str("-1", "0.01"), "-0.99");
	CHECK_STR(add_str("1.00", "1"), "2.00");
	CHECK_STR(add_str("0", "0.000"), "0.000");
	CHECK_STR(add_str("-0.05", "0.05"), "0.00");
	CHECK_STR(add_str("123.45", "-123.45"), "0.00");
	CHECK_STR(add_str("1e3", "1.5E-2"), "1000.015");
	CHECK_STR(sub_str("1", "1.00"), "0.00");
	CHECK_STR(sub_str("0.1", "0.25"), "-0.15");
	CHECK_STR(sub_str("-2.5", "-2.5"), "0.0");
	CHECK_STR(sub_str("100", "0.01"), "99.99");

	/* The 38-digit edge. */
	CHECK_STR(add_str("9999999999999999999999999999999999999.8", "0.1"), "9999999999999999999999999999999999999.9");
	CHECK_STR(add_str(NINES38, "0"), NINES38);
	CHECK_STR(add_str(NINES38, "1"), "overflow");
	CHECK_STR(add_str("-" NINES38, "-1"), "overflow");
	CHECK_STR(add_str(NINES38, NINES38), "overflow");
	CHECK_STR(add_str("-" NINES38, "-" NINES38), "overflow");
	CHECK_STR(add_str("-" NINES38, NINES38), "0");
	CHECK_STR(sub_str(NINES38, "-1"), "overflow");
	CHECK_STR(sub_str("-" NINES38, "1"), "overflow");
	CHECK_STR(sub_str("-" NINES38, "-" NINES38), "0");
	CHECK_STR(sub_str("0", NINES38), "-" NINES38);
	CHECK_STR(add_str("0.0000000000000000000000000000000000001", "0." NINES38), "overflow");
	/* Rescaling the coarser operand overflows even when the sum would not wrap. */
	CHECK_STR(add_str("1e37", "0.1"), "overflow");
	CHECK_STR(add_str("1e37", "0"), "10000000000000000000000000000000000000");
	CHECK_STR(add_str("0.1", "1e37"), "overflow");
	CHECK_STR(add_str("9e37", "0.01"), "overflow");
	CHECK_STR(sub_str("1e37", "0.1"), "overflow");
	CHECK_STR(add_str("1", "0.0000000000000000000000000000000000001"), "1.0000000000000000000000000000000000001");
	CHECK_STR(add_str("10", "0.0000000000000000000000000000000000001"), "overflow");

	/* r may alias an operand, as in a running sum. */
	{
		struct ec_dec s = dec("0.10");
		CHECK_INT(ec_dec_add(&s, s, dec("0.2")), 0);
		CHECK_INT(ec_dec_add(&s, s, s), 0);
		CHECK_STR(str(s), "0.60");
	}
}

static const char *mul_int_str(const char *a, int64_t k)
{
	struct ec_dec r;
	return ec_dec_mul_int(&r, dec(a), k) < 0 ? "overflow" : str(r);
}

static const char *mul_str(const char *a, const char *b)
{
	struct ec_dec r;
	return ec_dec_mul(&r, dec(a), dec(b)) < 0 ? "overflow" : str(r);
}

static void test_mul(void)
{
	CHECK_STR(mul_int_str("1.25", 3), "3.75");
	CHECK_STR(mul_int_str("1.25", -3), "-3.75");
	CHECK_STR(mul_int_str("-2.50", -2), "5.00");
	CHECK_STR(mul_int_str("-2.50", 1), "-2.50");
	CHECK_STR(mul_int_str("19.99", 0), "0.00");
	CHECK_STR(mul_int_str("-19.99", 0), "0.00");
	CHECK_STR(mul_int_str("1", INT64_MIN), "-9223372036854775808");
	CHECK_STR(mul_int_str("-1", INT64_MIN), "9223372036854775808");
	CHECK_STR(mul_int_str("0.01", INT64_MAX), "92233720368547758.07");
	CHECK_STR(mul_int_str("1e20", INT64_MAX), "overflow");
	CHECK_STR(mul_int_str("1e19", -10), "-100000000000000000000");
	CHECK_STR(mul_int_str("1e37", -10), "overflow");
	CHECK_STR(mul_int_str("1e18", -10), "-10000000000000000000");
	CHECK_STR(mul_int_str(NINES38, 1), NINES38);
	CHECK_STR(mul_int_str(NINES38, -1), "-" NINES38);
	CHECK_STR(mul_int_str(NINES38, 2), "overflow");
	CHECK_STR(mul_int_str("5e37", 2), "overflow");
	CHECK_STR(mul_int_str("-5e37", 2), "overflow");
	CHECK_STR(mul_int_str("4e37", -2), "-80000000000000000000000000000000000000");

	CHECK_STR(mul_str("1.5", "1.5"), "2.25");
	CHECK_STR(mul_str("-0.1", "0.01"), "-0.001");
	CHECK_STR(mul_str("-0.1", "-0.01"), "0.001");
	CHECK_STR(mul_str("19.99", "3"), "59.97");
	CHECK_STR(mul_str("19.99", "0.00"), "0.0000");
	CHECK_STR(mul_str("-19.99", "0"), "0.00");
	CHECK_STR(mul_str("1.10", "1.10"), "1.2100");
	CHECK_STR(mul_str("1e19", "1e18"), "10000000000000000000000000000000000000");
	CHECK_STR(mul_str("1e19", "1e19"), "overflow");
	CHECK_STR(mul_str("1e20", "1e20"), "overflow");
	CHECK_STR(mul_str(NINES38, NINES38), "overflow");
	CHECK_STR(mul_str(NINES38, "-1"), "-" NINES38);
	CHECK_STR(mul_str(NINES38, "0.1"), "9999999999999999999999999999999999999.9");
	/* Scale past 38 rounds half-even to 38. */
	CHECK_STR(mul_str("0.00000000000000000025", "0.0000000000000000001"),
		  "0.00000000000000000000000000000000000002");
	CHECK_STR(mul_str("0.00000000000000000035", "0.0000000000000000001"),
		  "0.00000000000000000000000000000000000004");
	CHECK_STR(mul_str("-0.00000000000000000035", "0.0000000000000000001"),
		  "-0.00000000000000000000000000000000000004");
	CHECK_STR(mul_str("0.000000000000000000251", "0.0000000000000000001"),
		  "0.00000000000000000000000000000000000003");
	CHECK_STR(mul_str("0.00000000000000000000000000000000000001", "0.00000000000000000000000000000000000001"),
		  "0.00000000000000000000000000000000000000");
	CHECK_STR(mul_str("0.00000000000000000000000000000000000005", "0.1"),
		  "0.00000000000000000000000000000000000000");
	CHECK_STR(mul_str("0.00000000000000000000000000000000000015", "0.1"),
		  "0.00000000000000000000000000000000000002");
	/* The 128-bit product overflows, yet the value fits once the scale is reduced. */
	CHECK_STR(mul_str("0.10000000000000000000", "1.00000000000000000000"),
		  "0.10000000000000000000000000000000000000");
	CHECK_STR(mul_str("1.00000000000000000000", "1.00000000000000000000"), "overflow");
	CHECK_STR(mul_str("1234567890.12345678", "9876543210.9876543"), "12193263113702179407.559823419631154");
	CHECK_STR(mul_str("-1234567890.1234567890123456789", "0.00000000009876543210987654321"),
		  "-0.12193263113702179522496570642237463801");
}

static const char *div_str(const char *a, int64_t k, int scale)
{
	struct ec_dec r;
	return ec_dec_div_int(&r, dec(a), k, scale) < 0 ? "error" : str(r);
}

static void test_div_int(void)
{
	/* Half-even: ties go to the even neighbour, anything past a tie rounds away. */
	CHECK_STR(div_str("2.5", 1, 0), "2");
	CHECK_STR(div_str("3.5", 1, 0), "4");
	CHECK_STR(div_str("-2.5", 1, 0), "-2");
	CHECK_STR(div_str("-3.5", 1, 0), "-4");
	CHECK_STR(div_str("0.5", 1, 0), "0");
	CHECK_STR(div_str("-0.5", 1, 0), "0");
	CHECK_STR(div_str("1.5", 1, 0), "2");
	CHECK_STR(div_str("2.51", 1, 0), "3");
	CHECK_STR(div_str("2.49", 1, 0), "2");
	CHECK_STR(div_str("5", 2, 0), "2");
	CHECK_STR(div_str("7", 2, 0), "4");
	CHECK_STR(div_str("-7", 2, 0), "-4");
	CHECK_STR(div_str("7", -2, 0), "-4");
	CHECK_STR(div_str("-7", -2, 0), "4");
	CHECK_STR(div_str("10", 3, 2), "3.33");
	CHECK_STR(div_str("20", 3, 2), "6.67");
	CHECK_STR(div_str("-20", 3, 2), "-6.67");
	CHECK_STR(div_str("1", -8, 2), "-0.12");
	CHECK_STR(div_str("3", 8, 2), "0.38");
	CHECK_STR(div_str("100.00", 3, 8), "33.33333333");
	CHECK_STR(div_str("100.00", 4, 8), "25.00000000");
	CHECK_STR(div_str("19.99", 1, 2), "19.99");
	CHECK_STR(div_str("0.00", 7, 8), "0.00000000");
	/* Fewer digits than the dividend: the first remainder breaks a tie. */
	CHECK_STR(div_str("2.1", 4, 0), "1");	/* 0.525 */
	CHECK_STR(div_str("2.0", 4, 0), "0");	/* 0.5 */
	CHECK_STR(div_str("6.0", 4, 0), "2");	/* 1.5 */
	CHECK_STR(div_str("-2.1", 4, 0), "-1");
	CHECK_STR(div_str("0.250001", 1, 1), "0.3");
	CHECK_STR(div_str("0.25", 1, 1), "0.2");
	CHECK_STR(div_str("0.35", 1, 1), "0.4");
	CHECK_STR(div_str("1.0000001", 3, 2), "0.33");
	/* Errors: zero divisor, bad scale, a result past 38 digits. */
	CHECK_STR(div_str("1", 0, 2), "error");
	CHECK_STR(div_str("1", 1, 39), "error");
	CHECK_STR(div_str("1", 1, -1), "error");
	CHECK_STR(div_str(NINES38, 1, 1), "error");
	CHECK_STR(div_str(NINES38, 1, 0), NINES38);
	CHECK_STR(div_str(NINES38, 10, 1), "9999999999999999999999999999999999999.9");
	CHECK_STR(div_str(NINES38, 3, 0), "33333333333333333333333333333333333333");
	CHECK_STR(div_str(NINES38, INT64_MIN, 18), "-10842021724855044340.074528008699417114");
	CHECK_STR(div_str(NINES38, INT64_MIN, 19), "error");
	CHECK_STR(div_str(NINES38, 2, 0), "50000000000000000000000000000000000000");	/* ...9.5, tie to even */
	CHECK_STR(div_str("1", 3, 38), "0.33333333333333333333333333333333333333");
	CHECK_STR(div_str("2", 3, 38), "0.66666666666666666666666666666666666667");
	CHECK_STR(div_str("9", 1, 38), "error");
	CHECK_STR(div_str("0.00000000000000000000000000000000000005", 10, 38),
		  "0.00000000000000000000000000000000000000");
	CHECK_STR(div_str("0.00000000000000000000000000000000000015", 10, 38),
		  "0.00000000000000000000000000000000000002");
}

static const char *rescale_str(const char *a, int scale)
{
	struct ec_dec r;
	return ec_dec_rescale(&r, dec(a), scale) < 0 ? "error" : str(r);
}

static void test_rescale(void)
{
	CHECK_STR(rescale_str("1.5", 3), "1.500");
	CHECK_STR(rescale_str("-1.5", 3), "-1.500");
	CHECK_STR(rescale_str("1.5", 1), "1.5");
	CHECK_STR(rescale_str("1.005", 2), "1.00");
	CHECK_STR(rescale_str("1.015", 2), "1.02");
	CHECK_STR(rescale_str("1.025", 2), "1.02");
	CHECK_STR(rescale_str("1.0251", 2), "1.03");
	CHECK_STR(rescale_str("-1.015", 2), "-1.02");
	CHECK_STR(rescale_str("-1.025", 2), "-1.02");
	CHECK_STR(rescale_str("0.5", 0), "0");
	CHECK_STR(rescale_str("-0.5", 0), "0");
	CHECK_STR(rescale_str("1.4999", 0), "1");
	CHECK_STR(rescale_str("1.5", 0), "2");
	CHECK_STR(rescale_str("123.456", 0), "123");
	CHECK_STR(rescale_str("0." NINES38, 0), "1");
	CHECK_STR(rescale_str("0." NINES38, 37), "1.0000000000000000000000000000000000000");
	CHECK_STR(rescale_str("0.00000000000000000000000000000000000001", 0), "0");
	CHECK_STR(rescale_str("9999999999999999999999999999999999999.9", 0), "10000000000000000000000000000000000000");
	CHECK_STR(rescale_str("9999999999999999999999999999999999999.4", 0), "9999999999999999999999999999999999999");
	CHECK_STR(rescale_str(NINES38, 1), "error");
	CHECK_STR(rescale_str("1e37", 1), "error");
	/* 38 digits in all: 1 fits 37 places after the point, not 38. */
	CHECK_STR(rescale_str("1", 37), "1." "0000000000000000000000000000000000000");
	CHECK_STR(rescale_str("1", 38), "error");
	CHECK_STR(rescale_str("10", 36), "10." "000000000000000000000000000000000000");
	CHECK_STR(rescale_str("10", 37), "error");
	CHECK_STR(rescale_str("0.5", 38), "0.5" "0000000000000000000000000000000000000");
	CHECK_STR(rescale_str("1", 39), "error");
	CHECK_STR(rescale_str("1", -1), "error");
	CHECK_STR(rescale_str("0", 38), "0.00000000000000000000000000000000000000");
}

static int cmp_str(const char *a, const char *b)
{
	return ec_dec_cmp(dec(a), dec(b));
}

static void test_cmp(void)
{
	const __int128 min = -(__int128)(((u128)1 << 127) - 1) - 1;

	CHECK_INT(cmp_str("1.50", "1.5"), 0);
	CHECK_INT(cmp_str("1.5", "1.50"), 0);
	CHECK_INT(cmp_str("0", "0.000"), 0);
	CHECK_INT(cmp_str("-0.00", "0"), 0);
	CHECK(cmp_str("1.5", "1.49") > 0);
	CHECK(cmp_str("1.49", "1.5") < 0);
	CHECK(cmp_str("-1", "0.00") < 0);
	CHECK(cmp_str("0.00", "-1") > 0);
	CHECK(cmp_str("-1.5", "-1.49") < 0);
	CHECK(cmp_str("-1.49", "-1.5") > 0);
	CHECK(cmp_str("2", "1.99999") > 0);
	CHECK(cmp_str("-2", "-1.99999") < 0);
	CHECK(cmp_str("0.01", "0") > 0);
	CHECK(cmp_str("0", "-0.01") > 0);
	CHECK(cmp_str("100", "99.999") > 0);
	/* Rescaling the coarser side would overflow: its magnitude decides. */
	CHECK(cmp_str(NINES38, "0.00000000000000000000000000000000000001") > 0);
	CHECK(cmp_str("0.00000000000000000000000000000000000001", NINES38) < 0);
	CHECK(cmp_str("-" NINES38, "-0.00000000000000000000000000000000000001") < 0);
	CHECK(cmp_str("-0.00000000000000000000000000000000000001", "-" NINES38) > 0);
	CHECK(cmp_str(NINES38, "0." NINES38) > 0);
	CHECK(cmp_str("-" NINES38, "-0." NINES38) < 0);
	CHECK(cmp_str("-" NINES38, "0." NINES38) < 0);
	CHECK(cmp_str("1", "0." NINES38) > 0);
	CHECK(cmp_str("1", "1.0000000000000000000000000000000000000") == 0);
	CHECK(cmp_str("1.0000000000000000000000000000000000001", "1") > 0);
	CHECK(ec_dec_cmp(mk(min, 0), mk(-1, 38)) < 0);
	CHECK(ec_dec_cmp(mk(-1, 38), mk(min, 0)) > 0);
	CHECK(ec_dec_cmp(mk(min, 38), mk(-2, 0)) > 0);	/* -1.70... */
	CHECK(ec_dec_cmp(mk(min, 38), mk(-1, 0)) < 0);
	CHECK(ec_dec_cmp(mk(min, 0), mk(min, 0)) == 0);
	CHECK(ec_dec_is_zero(dec("-0.000")));
	CHECK(!ec_dec_is_zero(dec("0.001")));
}

/* ---- randomized checks against plain digit-string arithmetic ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A magnitude as decimal digits, most significant first, no leading zeros ("0" for zero). */
#define BIG 200
struct num {
	int neg;
	char d[BIG];
};

static void num_trim(char *d)
{
	size_t z = strspn(d, "0");

	if (d[z] == '\0')
		z = strlen(d) ? strlen(d) - 1 : 0;
	memmove(d, d + z, strlen(d + z) + 1);
	if (!d[0])
		strcpy(d, "0");
}

static int mag_cmp(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	int c;

	if (na != nb)
		return na < nb ? -1 : 1;
	c = strcmp(a, b);
	return (c > 0) - (c < 0);
}

static void mag_add(const char *a, const char *b, char *out)
{
	char tmp[BIG + 1];
	int i = (int)strlen(a) - 1, j = (int)strlen(b) - 1, k = BIG, carry = 0;

	tmp[k] = '\0';
	while (i >= 0 || j >= 0 || carry) {
		int s = carry + (i >= 0 ? a[i--] - '0' : 0) + (j >= 0 ? b[j--] - '0' : 0);
		tmp[--k] = (char)('0' + s % 10);
		carry = s / 10;
	}
	strcpy(out, tmp + k);
	num_trim(out);
}

/* out = a - b for a >= b. */
static void mag_sub(const char *a, const char *b, char *out)
{
	char tmp[BIG + 1];
	int i = (int)strlen(a) - 1, j = (int)strlen(b) - 1, k = BIG, borrow = 0;

	tmp[k] = '\0';
	while (i >= 0) {
		int s = a[i--] - '0' - borrow - (j >= 0 ? b[j--] - '0' : 0);
		borrow = s < 0;
		tmp[--k] = (char)('0' + (s + 10) % 10);
	}
	strcpy(out, tmp + k);
	num_trim(out);
}

static void mag_mul(const char *a, const char *b, char *out)
{
	int acc[BIG] = { 0 };
	int na = (int)strlen(a), nb = (int)strlen(b), i, j, n = na + nb;

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			acc[i + j + 1] += (a[i] - '0') * (b[j] - '0');
	for (i = n - 1; i > 0; i--) {
		acc[i - 1] += acc[i] / 10;
		acc[i] %= 10;
	}
	for (i = 0; i < n; i++)
		out[i] = (char)('0' + acc[i]);
	out[n] = '\0';
	num_trim(out);
}

/* out = a / k, returns whether the remainder is nonzero. */
static int mag_div_u64(const char *a, uint64_t k, char *out)
{
	u128 rem = 0;
	size_t i;

	for (i = 0; a[i]; i++) {
		rem = rem * 10 + (unsigned)(a[i] - '0');
		out[i] = (char)('0' + (int)(rem / k));
		rem %= k;
	}
	out[i] = '\0';
	num_trim(out);
	return rem != 0;
}

static void mag_shift(char *d, int zeros)
{
	if (strcmp(d, "0"))
		while (zeros-- > 0)
			strcat(d, "0");
}

static void mag_inc(char *d)
{
	mag_add(d, "1", d);
}

/*
 * Drop the last `digits` digits rounding half-even, looking only at the
 * first dropped digit and whether anything nonzero follows it (or sticky).
 */
static void mag_round_off(char *d, int digits, int sticky)
{
	size_t n = strlen(d);
	char first = '0';
	int odd;

	if (digits <= 0)
		return;
	if ((size_t)digits <= n) {
		first = d[n - (size_t)digits];
		sticky |= strspn(d + n - digits + 1, "0") != (size_t)digits - 1;
		d[n - (size_t)digits] = '\0';
	} else {
		sticky |= strcmp(d, "0") != 0;
		d[0] = '\0';
	}
	num_trim(d);
	odd = (d[strlen(d) - 1] - '0') & 1;
	if (first > '5' || (first == '5' && (sticky || odd)))
		mag_inc(d);
}

static void num_add(const struct num *a, const struct num *b, struct num *r)
{
	if (a->neg == b->neg) {
		mag_add(a->d, b->d, r->d);
		r->neg = a->neg;
	} else if (mag_cmp(a->d, b->d) >= 0) {
		mag_sub(a->d, b->d, r->d);
		r->neg = a->neg;
	} else {
		mag_sub(b->d, a->d, r->d);
		r->neg = b->neg;
	}
	if (!strcmp(r->d, "0"))
		r->neg = 0;
}

/* The reference's own printing: place the point by string slicing. */
static void num_format(const struct num *n, int scale, char *out)
{
	char padded[BIG + 2];
	size_t len = strlen(n->d), pad = len <= (size_t)scale ? (size_t)scale + 1 - len : 0;
	size_t nint;

	memset(padded, '0', pad);
	strcpy(padded + pad, n->d);
	nint = strlen(padded) - (size_t)scale;
	sprintf(out, "%s%.*s%s%s", n->neg && strcmp(n->d, "0") ? "-" : "", (int)nint, padded,
		scale ? "." : "", padded + nint);
}

static struct num random_num(int maxdigits)
{
	struct num n;
	int len = 1 + (int)(rng() % (uint64_t)maxdigits), i;

	n.neg = rng() & 1;
	n.d[0] = (char)('1' + rng() % 9);
	for (i = 1; i < len; i++)
		n.d[i] = (char)('0' + rng() % 10);
	n.d[len] = '\0';
	if (rng() % 16 == 0)
		strcpy(n.d, "0");
	if (!strcmp(n.d, "0"))
		n.neg = 0;
	return n;
}

static struct ec_dec num_to_dec(const struct num *n, int scale)
{
	__int128 c = 0;
	size_t i;

	for (i = 0; n->d[i]; i++)
		c = c * 10 + (n->d[i] - '0');
	return mk(n->neg ? -c : c, scale);
}

static int fits38(const struct num *n)
{
	return strlen(n->d) <= EC_DEC_MAX_DIGITS;
}

static void test_random_add_sub(void)
{
	int i, failures = 0;

	for (i = 0; i < 50000 && failures < 5; i++) {
		struct num a = random_num(38), b = random_num(38), ax, bx, want;
		int sa = (int)(rng() % 39), sb = (int)(rng() % 39), s;
		int subtract = (int)(rng() & 1), rc, expect_ok;
		struct ec_dec r;
		char got[EC_DEC_BUFSZ], ref[BIG + 4];

		/* Scales near the coefficient length exercise the rescaling overflow most. */
		if (rng() & 1)
			sb = sa;
		s = sa > sb ? sa : sb;
		ax = a;
		bx = b;
		mag_shift(ax.d, s - sa);
		mag_shift(bx.d, s - sb);
		if (subtract)
			bx.neg = !bx.neg && strcmp(bx.d, "0");
		num_add(&ax, &bx, &want);
		expect_ok = fits38(&ax) && fits38(&bx) && fits38(&want);
		if (subtract)
			rc = ec_dec_sub(&r, num_to_dec(&a, sa), num_to_dec(&b, sb));
		else
			rc = ec_dec_add(&r, num_to_dec(&a, sa), num_to_dec(&b, sb));
		num_format(&want, s, ref);
		ec_dec_to_str(r, got);
		if ((rc == 0) != expect_ok || (rc == 0 && (strcmp(got, ref) || r.scale != s))) {
			printf("# %s%s e-%d %c %s%s e-%d: got %s (rc %d), want %s%s\n", a.neg ? "-" : "", a.d, sa,
			       subtract ? '-' : '+', b.neg ? "-" : "", b.d, sb, rc ? "overflow" : got, rc,
			       expect_ok ? "" : "overflow, not ", ref);
			failures++;
		}
	}
	CHECK_INT(failures, 0);
}

/* Sums of random cents, as order totals arrive, against int64 arithmetic in mills. */
static void test_random_cents(void)
{
	struct ec_dec sum = EC_DEC_ZERO;
	int64_t mills = 0;
	int i, scale = 0;
	char text[64], want[64], errstr[128];

	for (i = 0; i < 200000; i++) {
		int64_t cents = (int64_t)(rng() % 2000000001ULL) - 1000000000;
		int64_t a = cents < 0 ? -cents : cents;
		struct ec_dec d;

		switch (rng() % 4) {
		case 0:
			snprintf(text, sizeof(text), "%s%lld.%02lld", cents < 0 ? "-" : "",
				 (long long)(a / 100), (long long)(a % 100));
			scale = scale < 2 ? 2 : scale;
			break;
		case 1:
			snprintf(text, sizeof(text), "%s%lld.%02lld0", cents < 0 ? "-" : "",
				 (long long)(a / 100), (long long)(a % 100));
			scale = 3;
			break;
		case 2:
			snprintf(text, sizeof(text), "%llde-2", (long long)cents);
			scale = scale < 2 ? 2 : scale;
			break;
		default:
			cents -= cents % 100;
			snprintf(text, sizeof(text), "%lld", (long long)(cents / 100));
			break;
		}
		mills += cents * 10;
		if (ec_dec_parse(&d, text, strlen(text), errstr, sizeof(errstr)) < 0 || ec_dec_add(&sum, sum, d) < 0) {
			printf("# %s: %s\n", text, errstr);
			CHECK(!"parsed and added");
			return;
		}
	}
	{
		int64_t m = mills < 0 ? -mills : mills;
		snprintf(want, sizeof(want), "%s%lld.%03lld", mills < 0 ? "-" : "", (long long)(m / 1000),
			 (long long)(m % 1000));
	}
	CHECK_INT(sum.scale, scale);
	CHECK_STR(str(sum), want);
}

static void test_random_mul(void)
{
	int i, failures = 0;

	for (i = 0; i < 20000 && failures < 5; i++) {
		struct num a = random_num(38), b = random_num(38), want;
		int sa = (int)(rng() % 39), sb = (int)(rng() % 39), s = sa + sb, rc;
		struct ec_dec r;
		char got[EC_DEC_BUFSZ], ref[BIG + 4];

		mag_mul(a.d, b.d, want.d);
		want.neg = a.neg != b.neg;
		if (s > EC_DEC_MAX_SCALE) {
			mag_round_off(want.d, s - EC_DEC_MAX_SCALE, 0);
			s = EC_DEC_MAX_SCALE;
		}
		if (!strcmp(want.d, "0"))
			want.neg = 0;
		rc = ec_dec_mul(&r, num_to_dec(&a, sa), num_to_dec(&b, sb));
		num_format(&want, s, ref);
		ec_dec_to_str(r, got);
		if ((rc == 0) != fits38(&want) || (rc == 0 && strcmp(got, ref))) {
			printf("# %s%s e-%d * %s%s e-%d: got %s, want %s\n", a.neg ? "-" : "", a.d, sa,
			       b.neg ? "-" : "", b.d, sb, rc ? "overflow" : got, fits38(&want) ? ref : "overflow");
			failures++;
		}
	}
	CHECK_INT(failures, 0);
}

static void test_random_div_int(void)
{
	int i, failures = 0;

	for (i = 0; i < 20000 && failures < 5; i++) {
		struct num a = random_num(38), want;
		int sa = (int)(rng() % 39), s = (int)(rng() % 39), rc, sticky;
		int64_t k = (int64_t)(rng() >> (rng() % 64));
		uint64_t kmag;
		struct ec_dec r;
		char got[EC_DEC_BUFSZ], ref[BIG + 4], num[BIG];

		if (rng() & 1)
			k = -k;
		if (!k)
			k = 7;
		kmag = k < 0 ? -(uint64_t)k : (uint64_t)k;
		/* |a| * 10^(s - sa + 1) / |k| has one digit beyond the answer; round it off. */
		strcpy(num, a.d);
		mag_shift(num, s - sa + 1);
		sticky = mag_div_u64(num, kmag, want.d);
		mag_round_off(want.d, 1 + (sa - s - 1 > 0 ? sa - s - 1 : 0), sticky);
		want.neg = (a.neg != (k < 0)) && strcmp(want.d, "0");
		rc = ec_dec_div_int(&r, num_to_dec(&a, sa), k, s);
		num_format(&want, s, ref);
		ec_dec_to_str(r, got);
		if ((rc == 0) != fits38(&want) || (rc == 0 && strcmp(got, ref))) {
			printf("# %s%s e-%d / %lld at scale %d: got %s, want %s\n", a.neg ? "-" : "", a.d, sa,
			       (long long)k, s, rc ? "error" : got, fits38(&want) ? ref : "error");
			failures++;
		}
	}
	CHECK_INT(failures, 0);
}

/* Whatever is printed parses back to the same value and scale. */
static void test_random_roundtrip(void)
{
	int i, failures = 0;

	for (i = 0; i < 20000 && failures < 5; i++) {
		struct num a = random_num(38);
		struct ec_dec d = num_to_dec(&a, (int)(rng() % 39)), back;
		char text[EC_DEC_BUFSZ], errstr[128];

		ec_dec_to_str(d, text);
		if (ec_dec_parse(&back, text, strlen(text), errstr, sizeof(errstr)) < 0 ||
		    back.coef != d.coef || back.scale != d.scale) {
			printf("# %s does not round-trip\n", text);
			failures++;
		}
	}
	CHECK_INT(failures, 0);
}

int main(void)
{
	RUN(test_parse_accepts);
	RUN(test_parse_rejects);
	RUN(test_parse_limits);
	RUN(test_parse_uses_length);
	RUN(test_format);
	RUN(test_add_sub);
	RUN(test_mul);
	RUN(test_div_int);
	RUN(test_rescale);
	RUN(test_cmp);
	RUN(test_random_add_sub);
	RUN(test_random_cents);
	RUN(test_random_mul);
	RUN(test_random_div_int);
	RUN(test_random_roundtrip);
	return test_done();
}
