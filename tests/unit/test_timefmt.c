/* test_timefmt.c: unit tests for event time parsing, formatting, durations and zone periods (lib/timefmt.c). */
#include "test.h"
#include "timefmt.h"
#include <time.h>

#define DAY 86400000LL
#define HOUR 3600000LL

/* Sentinel for "did not parse", far outside the valid range. */
#define FAILED INT64_MIN

static int64_t parse(const char *text)
{
	char errstr[256];
	int64_t ms;

	if (ec_time_parse(text, strlen(text), &ms, errstr, sizeof(errstr)) < 0) {
		printf("# parse '%s': %s\n", text, errstr);
		return FAILED;
	}
	return ms;
}

/* The error message for TEXT, or "(accepted)". */
static const char *parse_error(const char *text)
{
	static char errstr[256];
	int64_t ms;

	if (ec_time_parse(text, strlen(text), &ms, errstr, sizeof(errstr)) == 0)
		return "(accepted)";
	return errstr;
}

static const char *fmt(int64_t ms)
{
	static char out[EC_TIME_BUFSZ];
	size_t n = ec_time_format(ms, out);

	if (n != strlen(out))
		return "(bad length)";
	return out;
}

static int64_t number(const char *text, enum ec_time_unit unit)
{
	int64_t ms;

	return ec_time_from_number(text, strlen(text), unit, &ms) < 0 ? FAILED : ms;
}

static int64_t duration(const char *text)
{
	char errstr[256];
	int64_t ms;

	if (ec_duration_parse(text, &ms, errstr, sizeof(errstr)) < 0) {
		printf("# duration '%s': %s\n", text, errstr);
		return FAILED;
	}
	return ms;
}

static const char *duration_error(const char *text)
{
	static char errstr[256];
	int64_t ms;

	if (ec_duration_parse(text, &ms, errstr, sizeof(errstr)) == 0)
		return "(accepted)";
	return errstr;
}

/* "START END" of the period containing the time AT, both formatted. */
static const char *period(const struct ec_tz *tz, const char *at, char unit, int count)
{
	static char out[2 * EC_TIME_BUFSZ + 2];
	int64_t start, end;
	char a[EC_TIME_BUFSZ], b[EC_TIME_BUFSZ];

	ec_tz_period(tz, parse(at), unit, count, &start, &end);
	ec_time_format(start, a);
	ec_time_format(end, b);
	snprintf(out, sizeof(out), "%s %s", a, b);
	return out;
}

static int64_t period_hours(const struct ec_tz *tz, const char *at)
{
	int64_t start, end;

	ec_tz_period(tz, parse(at), 'd', 1, &start, &end);
	return (end - start) / HOUR;
}

static struct ec_tz *load(const char *name)
{
	char errstr[256];
	struct ec_tz *tz = ec_tz_load(name, errstr, sizeof(errstr));

	if (!tz)
		printf("# load '%s': %s\n", name ? name : "(null)", errstr);
	return tz;
}

static void test_unit_parse(void)
{
	enum ec_time_unit unit = EC_UNIT_MS;

	CHECK(ec_time_unit_parse("s", &unit) == 0 && unit == EC_UNIT_S);
	CHECK(ec_time_unit_parse("ms", &unit) == 0 && unit == EC_UNIT_MS);
	CHECK(ec_time_unit_parse("us", &unit) == 0 && unit == EC_UNIT_US);
	CHECK(ec_time_unit_parse("ns", &unit) == 0 && unit == EC_UNIT_NS);
	CHECK(ec_time_unit_parse("m", &unit) < 0);
	CHECK(ec_time_unit_parse("", &unit) < 0);
	CHECK(ec_time_unit_parse("MS", &unit) < 0);
}

static void test_civil(void)
{
	int64_t day, y, prev_y = 0;
	unsigned m, d, prev_m = 0, prev_d = 0;

	CHECK_INT(ec_days_from_civil(1970, 1, 1), 0);
	CHECK_INT(ec_days_from_civil(1969, 12, 31), -1);
	CHECK_INT(ec_days_from_civil(2000, 3, 1), 11017);
	CHECK_INT(ec_days_from_civil(1, 1, 1), -719162);
	CHECK_INT(ec_days_from_civil(0, 3, 1), -719468);
	ec_civil_from_days(-719163, &y, &m, &d);
	CHECK(y == 0 && m == 12 && d == 31);
	/* Every day from year -1 to 10001 maps back to itself and follows the calendar. */
	for (day = ec_days_from_civil(-1, 1, 1); day <= ec_days_from_civil(10001, 12, 31); day++) {
		ec_civil_from_days(day, &y, &m, &d);
		if (ec_days_from_civil(y, m, d) != day) {
			CHECK_INT(ec_days_from_civil(y, m, d), day);
			break;
		}
		if (prev_m && !(y == prev_y && m == prev_m && d == prev_d + 1) &&
		    !(y == prev_y && m == prev_m + 1 && d == 1) && !(y == prev_y + 1 && m == 1 && d == 1)) {
			CHECK(!"calendar step");
			break;
		}
		prev_y = y, prev_m = m, prev_d = d;
	}
}

static void test_parse_layouts(void)
{
	const int64_t base = 1795355971000;	/* 2026-11-22T13:59:31Z */

	CHECK_INT(parse("2026-11-22T13:59:31Z"), base);
	CHECK_INT(parse("2026-11-22t13:59:31z"), base);
	CHECK_INT(parse("2026-11-22 13:59:31Z"), base);
	CHECK_INT(parse("2026-11-22T13:59:31"), base);
	CHECK_INT(parse("2026-11-22T13:59Z"), base - 31000);
	CHECK_INT(parse("2026-11-22T13:59"), base - 31000);
	CHECK_INT(parse("2026-11-22"), 1795305600000);
	CHECK_INT(parse("2026-11-22T13:59:31.004Z"), base + 4);
	CHECK_INT(parse("2026-11-22T13:59:31.0Z"), base);
	CHECK_INT(parse("2026-11-22T13:59:31.5Z"), base + 500);
	CHECK_INT(parse("2026-11-22T13:59:31.12Z"), base + 120);
	CHECK_INT(parse("2026-11-22T13:59:31.999999999Z"), base + 999);
	CHECK_INT(parse("2026-11-22 13:59:31.004911+00"), base + 4);
	CHECK_INT(parse("2026-11-22 13:59:31.004911"), base + 4);
	CHECK_INT(parse("2026-11-22T20:59:31+07:00"), base);
	CHECK_INT(parse("2026-11-22T20:59:31+0700"), base);
	CHECK_INT(parse("2026-11-22T20:59:31+07"), base);
	CHECK_INT(parse("2026-11-22T19:29:31.004+05:30"), base + 4);
	CHECK_INT(parse("2026-11-22T05:59:31-0800"), base);
	CHECK_INT(parse("2026-11-22T09:59:31.5-04"), base + 500);
	CHECK_INT(parse("2026-11-22T13:59:31-00:00"), base);
	CHECK_INT(parse("2026-11-22T19:44:31.123456789+0545"), base + 123);
	/* An offset can move the date across midnight and months. */
	CHECK_INT(parse("2026-12-01T02:00:00+05:00"), parse("2026-11-30T21:00:00Z"));
	CHECK_INT(parse("2026-12-31T23:00:00-02:00"), parse("2027-01-01T01:00:00Z"));
	/* Leap days and the old and far calendar. */
	CHECK_INT(parse("2000-02-29T12:00:00Z"), 951825600000);
	CHECK_INT(parse("2028-02-29"), 1835395200000);
	CHECK_INT(parse("1969-12-31T23:59:59Z"), -1000);
	CHECK_INT(parse("1969-12-31T23:59:59.999Z"), -1);
	CHECK_INT(parse("1969-07-20T20:17:40Z"), -14182940000);
	CHECK_INT(parse("1900-03-01"), -2203891200000);
	CHECK_INT(parse("0999-12-31"), -30610310400000);
	CHECK_INT(parse("0001-01-01T00:00:00Z"), EC_TIME_MIN);
	CHECK_INT(parse("9999-12-31T23:59:59.999Z"), EC_TIME_MAX);
	/* Only N bytes are read: the text need not end in NUL. */
	{
		int64_t ms = 0;
		char err[64];

		CHECK(ec_time_parse("2026-11-22T13:59:31Zjunk", 20, &ms, err, sizeof(err)) == 0 && ms == base);
		CHECK(ec_time_parse("2026-11-22junk", 10, &ms, err, sizeof(err)) == 0 && ms == 1795305600000);
	}
}

static void test_parse_rejects(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "", "invalid time '': expected YYYY-MM-DD" },
		{ "2026", "invalid time '2026': expected YYYY-MM-DD" },
		{ "2026-11-2", "invalid time '2026-11-2': expected YYYY-MM-DD" },
		{ "26-11-22T00:00:00Z", "invalid time '26-11-22T00:00:00Z': expected YYYY-MM-DD" },
		{ "2026/11/22", "invalid time '2026/11/22': expected YYYY-MM-DD" },
		{ "+2026-11-22", "invalid time '+2026-11-22': expected YYYY-MM-DD" },
		{ "1795355971000", "invalid time '1795355971000': expected YYYY-MM-DD" },
		{ "0000-01-01", "invalid time '0000-01-01': year out of range" },
		{ "2026-00-10", "invalid time '2026-00-10': month out of range" },
		{ "2026-13-01", "invalid time '2026-13-01': month out of range" },
		{ "2026-02-30", "invalid time '2026-02-30': day out of range" },
		{ "2026-02-29", "invalid time '2026-02-29': day out of range" },
		{ "1900-02-29", "invalid time '1900-02-29': day out of range" },
		{ "2026-04-31T00:00:00Z", "invalid time '2026-04-31T00:00:00Z': day out of range" },
		{ "2026-11-00", "invalid time '2026-11-00': day out of range" },
		{ "2026-11-22T24:00:00Z", "invalid time '2026-11-22T24:00:00Z': hour out of range" },
		{ "2026-11-22T23:60:00Z", "invalid time '2026-11-22T23:60:00Z': minute out of range" },
		{ "2026-11-22T23:59:60Z", "invalid time '2026-11-22T23:59:60Z': second out of range" },
		{ "2026-11-22T", "invalid time '2026-11-22T': expected HH:MM after the date" },
		{ "2026-11-22T1:00:00Z", "invalid time '2026-11-22T1:00:00Z': expected HH:MM after the date" },
		{ "2026-11-22T13", "invalid time '2026-11-22T13': expected HH:MM after the date" },
		{ "2026-11-22X13:00:00", "invalid time '2026-11-22X13:00:00': expected 'T' or a space after the date" },
		{ "2026-11-22Z", "invalid time '2026-11-22Z': expected 'T' or a space after the date" },
		{ "2026-11-22T13:00:5Z", "invalid time '2026-11-22T13:00:5Z': expected two digits of seconds" },
		{ "2026-11-22T13:00:00.Z", "invalid time '2026-11-22T13:00:00.Z': expected digits after '.'" },
		{ "2026-11-22T13:00:00.1234567890Z",
		  "invalid time '2026-11-22T13:00:00.1234567890Z': more than 9 fraction digits" },
		{ "2026-11-22T13:00:00 UTC",
		  "invalid time '2026-11-22T13:00:00 UTC': expected Z or an offset like +07:00 after the time" },
		{ "2026-11-22T13:00:00+7", "invalid time '2026-11-22T13:00:00+7': bad offset, expected Z, +HH, +HHMM or +HH:MM" },
		{ "2026-11-22T13:00:00+07:0", "invalid time '2026-11-22T13:00:00+07:0': bad offset, expected Z, +HH, +HHMM or +HH:MM" },
		{ "2026-11-22T13:00:00+07:", "invalid time '2026-11-22T13:00:00+07:': bad offset, expected Z, +HH, +HHMM or +HH:MM" },
		{ "2026-11-22T13:00:00+24:00", "invalid time '2026-11-22T13:00:00+24:00': offset out of range" },
		{ "2026-11-22T13:00:00+05:60", "invalid time '2026-11-22T13:00:00+05:60': offset out of range" },
		{ "2026-11-22T13:00:00Zx", "invalid time '2026-11-22T13:00:00Zx': unexpected characters after the offset" },
		{ "2026-11-22T13:00:00+07:00:00", "invalid time '2026-11-22T13:00:00+07:00:00': unexpected characters after the offset" },
		{ "2026-11-22T13:00:00Z ", "invalid time '2026-11-22T13:00:00Z ': unexpected characters after the offset" },
		{ "0001-01-01T00:00:00+01:00", "invalid time '0001-01-01T00:00:00+01:00': out of range (years 0001 to 9999 UTC)" },
		{ "9999-12-31T23:00:00-01:00", "invalid time '9999-12-31T23:00:00-01:00': out of range (years 0001 to 9999 UTC)" },
		{ "2026-11-22\n", "invalid time '2026-11-22?': expected 'T' or a space after the date" },
	};
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(cases); i++)
		CHECK_STR(parse_error(cases[i].text), cases[i].want);
	/* Long input is cut short in the message. */
	CHECK_STR(parse_error("2026-11-22T13:00:00Zxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
		  "invalid time '2026-11-22T13:00:00Zxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...': "
		  "unexpected characters after the offset");
}

static void test_format(void)
{
	char out[EC_TIME_BUFSZ];

	CHECK_STR(fmt(0), "1970-01-01T00:00:00.000Z");
	CHECK_STR(fmt(1795356000000), "2026-11-22T14:00:00.000Z");
	CHECK_STR(fmt(1795355971004), "2026-11-22T13:59:31.004Z");
	CHECK_STR(fmt(-1), "1969-12-31T23:59:59.999Z");
	CHECK_STR(fmt(-1000), "1969-12-31T23:59:59.000Z");
	CHECK_STR(fmt(-DAY), "1969-12-31T00:00:00.000Z");
	CHECK_STR(fmt(-DAY - 1), "1969-12-30T23:59:59.999Z");
	CHECK_STR(fmt(-14182940000), "1969-07-20T20:17:40.000Z");
	CHECK_STR(fmt(-30610310400000), "0999-12-31T00:00:00.000Z");
	CHECK_STR(fmt(EC_TIME_MIN), "0001-01-01T00:00:00.000Z");
	CHECK_STR(fmt(EC_TIME_MAX), "9999-12-31T23:59:59.999Z");
	CHECK_STR(fmt(1835395200000 + DAY - 1), "2028-02-29T23:59:59.999Z");
	/* Outside the parser's range still formats, without overflow. */
	CHECK_STR(fmt(EC_TIME_MIN - 1), "0000-12-31T23:59:59.999Z");
	CHECK_STR(fmt(EC_TIME_MAX + 1), "10000-01-01T00:00:00.000Z");
	CHECK_STR(fmt(INT64_MAX), "292278994-08-17T07:12:55.807Z");
	CHECK_STR(fmt(INT64_MIN), "-292275055-05-16T16:47:04.192Z");
	CHECK_INT(ec_time_format(1795356000000, out), 24);
	CHECK_INT(strlen(out), 24);
}

static void test_round_trips(void)
{
	static const char *texts[] = {
		"2026-11-22T14:00:00.000Z", "2026-11-22T13:59:31.004Z", "1970-01-01T00:00:00.000Z",
		"1969-12-31T23:59:59.999Z", "0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z",
		"0999-03-01T12:34:56.789Z", "1600-02-29T00:00:00.001Z", "2028-02-29T23:59:59.999Z",
	};
	uint64_t x = 88172645463325252ULL;
	size_t i;
	int bad = 0;

	for (i = 0; i < EC_ARRAY_SIZE(texts); i++)
		CHECK_STR(fmt(parse(texts[i])), texts[i]);
	/* Pseudo-random times across the whole range: format, then parse back. */
	for (i = 0; i < 200000 && bad < 3; i++) {
		int64_t ms, back;
		char err[128], text[EC_TIME_BUFSZ];

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		ms = EC_TIME_MIN + (int64_t)(x % (uint64_t)(EC_TIME_MAX - EC_TIME_MIN + 1));
		ec_time_format(ms, text);
		if (ec_time_parse(text, strlen(text), &back, err, sizeof(err)) < 0 || back != ms) {
			printf("# round trip %lld -> %s failed\n", (long long)ms, text);
			test_case_failed = 1;
			bad++;
		}
	}
}

static void test_from_number(void)
{
	/* Integers are exact in every unit: no trip through a double. */
	CHECK_INT(number("1763820000123", EC_UNIT_MS), 1763820000123);
	CHECK_INT(number("1763820000", EC_UNIT_S), 1763820000000);
	CHECK_INT(number("1763820000123456", EC_UNIT_US), 1763820000123);
	CHECK_INT(number("1763820000123456789", EC_UNIT_NS), 1763820000123);
	CHECK_INT(number("0", EC_UNIT_MS), 0);
	CHECK_INT(number("-0", EC_UNIT_MS), 0);
	CHECK_INT(number("-1", EC_UNIT_MS), -1);
	CHECK_INT(number("-1", EC_UNIT_S), -1000);
	/* Fractions of the unit; below a millisecond rounds toward negative infinity. */
	CHECK_INT(number("1.5", EC_UNIT_S), 1500);
	CHECK_INT(number("-1.5", EC_UNIT_S), -1500);
	CHECK_INT(number("1795356059.9999", EC_UNIT_S), 1795356059999);
	CHECK_INT(number("1795356000.001", EC_UNIT_S), 1795356000001);
	CHECK_INT(number("1.9", EC_UNIT_MS), 1);
	CHECK_INT(number("-1.5", EC_UNIT_MS), -2);
	CHECK_INT(number("-1500", EC_UNIT_US), -2);
	CHECK_INT(number("-1000", EC_UNIT_US), -1);
	CHECK_INT(number("-1", EC_UNIT_NS), -1);
	CHECK_INT(number("999999", EC_UNIT_NS), 0);
	CHECK_INT(number("0.000000000000000000000000001", EC_UNIT_S), 0);
	CHECK_INT(number("-0.000000000000000000000000001", EC_UNIT_S), -1);
	CHECK_INT(number("-0.0", EC_UNIT_S), 0);
	/* Exponents. */
	CHECK_INT(number("1e3", EC_UNIT_S), 1000000);
	CHECK_INT(number("1E+3", EC_UNIT_MS), 1000);
	CHECK_INT(number("1.7638200001234e12", EC_UNIT_MS), 1763820000123);
	CHECK_INT(number("1.763820000123e9", EC_UNIT_S), 1763820000123);
	CHECK_INT(number("1763820000123456e-3", EC_UNIT_MS), 1763820000123);
	CHECK_INT(number("-1763820000123456e-3", EC_UNIT_MS), -1763820000124);
	CHECK_INT(number("0e999999999999", EC_UNIT_S), 0);
	CHECK_INT(number("5e-99999999999", EC_UNIT_S), 0);
	/* More than 19 significant digits: the extra ones still count. */
	CHECK_INT(number("1763820000123.45678901234567890", EC_UNIT_MS), 1763820000123);
	CHECK_INT(number("-1763820000123.00000000000000001", EC_UNIT_MS), -1763820000124);
	CHECK_INT(number("-1763820000123.00000000000000000", EC_UNIT_MS), -1763820000123);
	CHECK_INT(number("17638200001234567890", EC_UNIT_NS), 17638200001234);
	CHECK_INT(number("1763820000123456789012", EC_UNIT_NS), FAILED);
	/* The limits of the time range. */
	CHECK_INT(number("253402300799999", EC_UNIT_MS), EC_TIME_MAX);
	CHECK_INT(number("-62135596800000", EC_UNIT_MS), EC_TIME_MIN);
	CHECK_INT(number("253402300800000", EC_UNIT_MS), FAILED);
	CHECK_INT(number("-62135596800000.5", EC_UNIT_MS), FAILED);
	CHECK_INT(number("1e30", EC_UNIT_MS), FAILED);
	CHECK_INT(number("-1e30", EC_UNIT_MS), FAILED);
	CHECK_INT(number("1e99999999999", EC_UNIT_NS), FAILED);
	CHECK_INT(number("12345678901234567890123456", EC_UNIT_NS), FAILED);
	CHECK_INT(number("9223372036854775807", EC_UNIT_MS), FAILED);
	CHECK_INT(number("18446744073709551616", EC_UNIT_S), FAILED);
	/* Not JSON numbers. */
	CHECK_INT(number("", EC_UNIT_MS), FAILED);
	CHECK_INT(number("-", EC_UNIT_MS), FAILED);
	CHECK_INT(number("+1", EC_UNIT_MS), FAILED);
	CHECK_INT(number("01", EC_UNIT_MS), FAILED);
	CHECK_INT(number("1.", EC_UNIT_MS), FAILED);
	CHECK_INT(number(".5", EC_UNIT_MS), FAILED);
	CHECK_INT(number("1e", EC_UNIT_MS), FAILED);
	CHECK_INT(number("1e+", EC_UNIT_MS), FAILED);
	CHECK_INT(number("1 ", EC_UNIT_MS), FAILED);
	CHECK_INT(number("0x10", EC_UNIT_MS), FAILED);
	CHECK_INT(number("NaN", EC_UNIT_MS), FAILED);
	{
		int64_t ms = 0;

		CHECK(ec_time_from_number("1234,", 4, EC_UNIT_MS, &ms) == 0 && ms == 1234);
	}
}

static void test_durations(void)
{
	CHECK_INT(duration("500ms"), 500);
	CHECK_INT(duration("90s"), 90000);
	CHECK_INT(duration("1m"), 60000);
	CHECK_INT(duration("48h"), 48 * HOUR);
	CHECK_INT(duration("7d"), 7 * DAY);
	CHECK_INT(duration("2w"), 14 * DAY);
	CHECK_INT(duration("1h30m"), 90 * 60000);
	CHECK_INT(duration("1m30s250ms"), 90250);
	CHECK_INT(duration("0s"), 0);
	CHECK_INT(duration("0ms"), 0);
	CHECK_INT(duration("3652058d"), 3652058 * DAY);
	CHECK_STR(duration_error("5"), "duration '5' needs a unit: ms, s, m, h, d, w");
	CHECK_STR(duration_error("1h30"), "duration '1h30' needs a unit: ms, s, m, h, d, w");
	CHECK_STR(duration_error(""), "empty duration (expected e.g. 90s, 5m, 1h30m, 7d)");
	CHECK_STR(duration_error("-5s"), "duration '-5s' must not be negative");
	CHECK_STR(duration_error("+5s"), "duration '+5s': expected a whole number at '+5s'");
	CHECK_STR(duration_error("1.5h"), "duration '1.5h' needs a unit: ms, s, m, h, d, w");
	CHECK_STR(duration_error("h"), "duration 'h': expected a whole number at 'h'");
	CHECK_STR(duration_error("5 s"), "duration '5 s' needs a unit: ms, s, m, h, d, w");
	CHECK_STR(duration_error("5x"), "duration '5x': unknown unit 'x' (use ms, s, m, h, d, w)");
	CHECK_STR(duration_error("5min"), "duration '5min': unknown unit 'min' (use ms, s, m, h, d, w)");
	CHECK_STR(duration_error("5S"), "duration '5S': unknown unit 'S' (use ms, s, m, h, d, w)");
	CHECK_STR(duration_error("1mo"), "duration '1mo': a month is not a duration (use ms, s, m, h, d, w)");
	CHECK_STR(duration_error("1h "), "duration '1h ': expected a whole number at ' '");
	CHECK_STR(duration_error("3652059d"), "duration '3652059d' is too large");
	CHECK_STR(duration_error("99999999999999999999999w"), "duration '99999999999999999999999w' is too large");
	CHECK_STR(duration_error("3652058d1d"), "duration '3652058d1d' is too large");
}

static void test_tz_load(void)
{
	struct ec_tz *a, *b;
	char errstr[256];

	CHECK(!ec_tz_load("Mars/Olympus_Mons", errstr, sizeof(errstr)));
	CHECK_STR(errstr, "unknown time zone 'Mars/Olympus_Mons'");
	CHECK(!ec_tz_load("../../../etc/passwd", errstr, sizeof(errstr)));
	CHECK_STR(errstr, "unknown time zone '../../../etc/passwd'");
	CHECK(!ec_tz_load("/usr/share/zoneinfo/Asia/Jakarta", errstr, sizeof(errstr)));
	CHECK(!ec_tz_load("", errstr, sizeof(errstr)));
	CHECK(!ec_tz_load("Asia", errstr, sizeof(errstr)));
	CHECK(!ec_tz_load("CET-1CEST,M3.5.0,M10.5.0/3", errstr, sizeof(errstr)));
	/* UTC spellings need no zone file and do not hold the process's one zone. */
	a = load("UTC");
	b = load("Asia/Jakarta");
	CHECK(a && b);
	ec_tz_free(a);
	a = load(NULL);
	CHECK(a != NULL);
	ec_tz_free(a);
	CHECK((a = load("Etc/UTC")) != NULL);
	ec_tz_free(a);
	CHECK((a = load("Z")) != NULL);
	ec_tz_free(a);
	/* The same zone twice is fine; a second different one is not, until the first is freed. */
	a = load("Asia/Jakarta");
	CHECK(a != NULL);
	ec_tz_free(a);
	CHECK(!ec_tz_load("America/New_York", errstr, sizeof(errstr)));
	CHECK_STR(errstr, "cannot load time zone 'America/New_York': 'Asia/Jakarta' is in use and "
		  "only one zone besides UTC works at a time");
	ec_tz_free(b);
	a = load("America/New_York");
	CHECK(a != NULL);
	ec_tz_free(a);
	ec_tz_free(NULL);
}

static void test_tz_utc(void)
{
	struct ec_tz *tz = load("UTC");

	if (!tz)
		return;
	CHECK_STR(period(tz, "2026-11-22T13:59:31Z", 'd', 1), "2026-11-22T00:00:00.000Z 2026-11-23T00:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-22T00:00:00Z", 'd', 1), "2026-11-22T00:00:00.000Z 2026-11-23T00:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-21T23:59:59.999Z", 'd', 1), "2026-11-21T00:00:00.000Z 2026-11-22T00:00:00.000Z");
	CHECK_STR(period(tz, "1969-12-31T12:00:00Z", 'd', 1), "1969-12-31T00:00:00.000Z 1970-01-01T00:00:00.000Z");
	CHECK_STR(period(tz, "1900-03-01T12:00:00Z", 'd', 1), "1900-03-01T00:00:00.000Z 1900-03-02T00:00:00.000Z");
	/* Seven-day periods count from 1970-01-01, a Thursday. */
	CHECK_STR(period(tz, "2026-11-22T13:59:31Z", 'd', 7), "2026-11-19T00:00:00.000Z 2026-11-26T00:00:00.000Z");
	CHECK_STR(period(tz, "1969-12-31T12:00:00Z", 'd', 7), "1969-12-25T00:00:00.000Z 1970-01-01T00:00:00.000Z");
	/* Months, quarters and years. */
	CHECK_STR(period(tz, "2028-02-15T10:00:00Z", 'M', 1), "2028-02-01T00:00:00.000Z 2028-03-01T00:00:00.000Z");
	CHECK_STR(period(tz, "2026-12-31T23:59:59.999Z", 'M', 1), "2026-12-01T00:00:00.000Z 2027-01-01T00:00:00.000Z");
	CHECK_STR(period(tz, "2027-01-01T00:00:00Z", 'M', 1), "2027-01-01T00:00:00.000Z 2027-02-01T00:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-22T13:59:31Z", 'M', 3), "2026-10-01T00:00:00.000Z 2027-01-01T00:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-22T13:59:31Z", 'M', 12), "2026-01-01T00:00:00.000Z 2027-01-01T00:00:00.000Z");
	CHECK_STR(period(tz, "1969-05-05T00:00:00Z", 'M', 12), "1969-01-01T00:00:00.000Z 1970-01-01T00:00:00.000Z");
	CHECK_STR(period(tz, "0001-01-01T00:00:00Z", 'M', 1), "0001-01-01T00:00:00.000Z 0001-02-01T00:00:00.000Z");
	/* No zone at all is UTC too. */
	CHECK_STR(period(NULL, "2026-11-22T13:59:31Z", 'd', 1), "2026-11-22T00:00:00.000Z 2026-11-23T00:00:00.000Z");
	CHECK_STR(period(NULL, "2028-02-29T13:59:31Z", 'M', 1), "2028-02-01T00:00:00.000Z 2028-03-01T00:00:00.000Z");
	ec_tz_free(tz);
}

static void test_tz_jakarta(void)
{
	struct ec_tz *tz = load("Asia/Jakarta");

	if (!tz)
		return;
	/* +07:00 all year: the local day starts at 17:00Z the day before. */
	CHECK_STR(period(tz, "2026-11-22T10:00:00Z", 'd', 1), "2026-11-21T17:00:00.000Z 2026-11-22T17:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-21T23:30:00Z", 'd', 1), "2026-11-21T17:00:00.000Z 2026-11-22T17:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-22T16:59:59.999Z", 'd', 1), "2026-11-21T17:00:00.000Z 2026-11-22T17:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-22T17:00:00Z", 'd', 1), "2026-11-22T17:00:00.000Z 2026-11-23T17:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-22T13:59:31Z", 'd', 7), "2026-11-18T17:00:00.000Z 2026-11-25T17:00:00.000Z");
	/* Local December starts at 17:00Z on November 30th. */
	CHECK_STR(period(tz, "2026-11-30T18:00:00Z", 'M', 1), "2026-11-30T17:00:00.000Z 2026-12-31T17:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-30T16:00:00Z", 'M', 1), "2026-10-31T17:00:00.000Z 2026-11-30T17:00:00.000Z");
	CHECK_STR(period(tz, "2026-12-31T17:00:00Z", 'M', 1), "2026-12-31T17:00:00.000Z 2027-01-31T17:00:00.000Z");
	CHECK_STR(period(tz, "2028-02-10T00:00:00Z", 'M', 1), "2028-01-31T17:00:00.000Z 2028-02-29T17:00:00.000Z");
	CHECK_INT(period_hours(tz, "2026-03-08T12:00:00Z"), 24);
	ec_tz_free(tz);
}

static void test_tz_new_york(void)
{
	struct ec_tz *tz = load("America/New_York");

	if (!tz)
		return;
	CHECK_STR(period(tz, "2026-03-07T12:00:00Z", 'd', 1), "2026-03-07T05:00:00.000Z 2026-03-08T05:00:00.000Z");
	/* Spring forward: 2026-03-08 has 23 hours. */
	CHECK_STR(period(tz, "2026-03-08T12:00:00Z", 'd', 1), "2026-03-08T05:00:00.000Z 2026-03-09T04:00:00.000Z");
	CHECK_STR(period(tz, "2026-03-09T03:59:59.999Z", 'd', 1), "2026-03-08T05:00:00.000Z 2026-03-09T04:00:00.000Z");
	CHECK_STR(period(tz, "2026-03-09T04:00:00Z", 'd', 1), "2026-03-09T04:00:00.000Z 2026-03-10T04:00:00.000Z");
	CHECK_INT(period_hours(tz, "2026-03-08T12:00:00Z"), 23);
	/* Fall back: 2026-11-01 has 25 hours. */
	CHECK_STR(period(tz, "2026-11-01T04:00:00Z", 'd', 1), "2026-11-01T04:00:00.000Z 2026-11-02T05:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-02T04:30:00Z", 'd', 1), "2026-11-01T04:00:00.000Z 2026-11-02T05:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-02T05:00:00Z", 'd', 1), "2026-11-02T05:00:00.000Z 2026-11-03T05:00:00.000Z");
	CHECK_INT(period_hours(tz, "2026-11-01T12:00:00Z"), 25);
	CHECK_INT(period_hours(tz, "2026-11-03T12:00:00Z"), 24);
	/* Months across both changes, and December into January. */
	CHECK_STR(period(tz, "2026-03-15T00:00:00Z", 'M', 1), "2026-03-01T05:00:00.000Z 2026-04-01T04:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-15T00:00:00Z", 'M', 1), "2026-11-01T04:00:00.000Z 2026-12-01T05:00:00.000Z");
	CHECK_STR(period(tz, "2027-01-01T04:59:59Z", 'M', 1), "2026-12-01T05:00:00.000Z 2027-01-01T05:00:00.000Z");
	CHECK_STR(period(tz, "2027-01-01T05:00:00Z", 'M', 1), "2027-01-01T05:00:00.000Z 2027-02-01T05:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-22T13:59:31Z", 'M', 3), "2026-10-01T04:00:00.000Z 2027-01-01T05:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-22T13:59:31Z", 'd', 7), "2026-11-19T05:00:00.000Z 2026-11-26T05:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-01T13:59:31Z", 'd', 7), "2026-10-29T04:00:00.000Z 2026-11-05T05:00:00.000Z");
	/* Before 1970 too (1969-12-31 in New York). */
	CHECK_STR(period(tz, "1970-01-01T03:00:00Z", 'd', 1), "1969-12-31T05:00:00.000Z 1970-01-01T05:00:00.000Z");
	ec_tz_free(tz);
}

/* Havana: clocks go 00:00 -> 01:00 on 2026-03-08 and 01:00 -> 00:00 on 2026-11-01. */
static void test_tz_midnight_transitions(void)
{
	struct ec_tz *tz = load("America/Havana");

	if (!tz)
		return;
	/* Midnight does not exist: the day starts at 01:00 local (05:00Z). */
	CHECK_STR(period(tz, "2026-03-08T12:00:00Z", 'd', 1), "2026-03-08T05:00:00.000Z 2026-03-09T04:00:00.000Z");
	CHECK_STR(period(tz, "2026-03-07T12:00:00Z", 'd', 1), "2026-03-07T05:00:00.000Z 2026-03-08T05:00:00.000Z");
	CHECK_STR(period(tz, "2026-03-15T12:00:00Z", 'M', 1), "2026-03-01T05:00:00.000Z 2026-04-01T04:00:00.000Z");
	/* Midnight happens twice: the day starts at the first one. */
	CHECK_STR(period(tz, "2026-11-01T12:00:00Z", 'd', 1), "2026-11-01T04:00:00.000Z 2026-11-02T05:00:00.000Z");
	CHECK_STR(period(tz, "2026-10-31T12:00:00Z", 'd', 1), "2026-10-31T04:00:00.000Z 2026-11-01T04:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-01T04:30:00Z", 'd', 1), "2026-11-01T04:00:00.000Z 2026-11-02T05:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-01T05:30:00Z", 'd', 1), "2026-11-01T04:00:00.000Z 2026-11-02T05:00:00.000Z");
	CHECK_STR(period(tz, "2026-11-15T12:00:00Z", 'M', 1), "2026-11-01T04:00:00.000Z 2026-12-01T05:00:00.000Z");
	ec_tz_free(tz);

	/* Santiago: 24:00 -> 01:00 on 2026-09-06, 24:00 -> 23:00 on 2026-04-04. */
	if (!(tz = load("America/Santiago")))
		return;
	CHECK_STR(period(tz, "2026-09-06T12:00:00Z", 'd', 1), "2026-09-06T04:00:00.000Z 2026-09-07T03:00:00.000Z");
	CHECK_STR(period(tz, "2026-09-05T12:00:00Z", 'd', 1), "2026-09-05T04:00:00.000Z 2026-09-06T04:00:00.000Z");
	CHECK_STR(period(tz, "2026-04-04T12:00:00Z", 'd', 1), "2026-04-04T03:00:00.000Z 2026-04-05T04:00:00.000Z");
	CHECK_INT(period_hours(tz, "2026-09-06T12:00:00Z"), 23);
	CHECK_INT(period_hours(tz, "2026-04-04T12:00:00Z"), 25);
	ec_tz_free(tz);
}

/* The cache must never hand out a stale period: mix times, units and counts. */
static void test_tz_cache(void)
{
	struct ec_tz *tz = load("America/New_York");
	static const char *times[] = {
		"2026-11-01T04:00:00Z", "2026-11-01T05:30:00Z", "2026-11-02T04:59:59.999Z",
		"2026-11-02T05:00:00Z", "2026-11-01T03:59:59.999Z", "2026-03-08T06:00:00Z",
		"2026-03-09T03:59:59.999Z", "2026-03-09T04:00:00Z",
	};
	size_t i, j;

	if (!tz)
		return;
	for (j = 0; j < 3; j++) {
		for (i = 0; i < EC_ARRAY_SIZE(times); i++) {
			int64_t t = parse(times[i]), s1, e1, s2, e2;
			struct ec_tz *fresh = load("America/New_York");
			char unit = j == 1 ? 'M' : 'd';
			int count = j == 2 ? 2 : 1;

			ec_tz_period(tz, t, unit, count, &s1, &e1);
			ec_tz_period(fresh, t, unit, count, &s2, &e2);
			CHECK(s1 == s2 && e1 == e2 && s1 <= t && t < e1);
			ec_tz_free(fresh);
		}
	}
	ec_tz_free(tz);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Not pass/fail: reports what one parse costs on the hot path. */
static void bench_parse(void)
{
	static const char text[] = "2026-11-22T13:59:31.004Z";
	const int rounds = 5000000;
	int64_t ms, sum = 0;
	char err[128];
	double t0, t1;
	int i;

	t0 = now_ns();
	for (i = 0; i < rounds; i++) {
		ec_time_parse(text, sizeof(text) - 1, &ms, err, sizeof(err));
		sum += ms;
	}
	t1 = now_ns();
	CHECK(sum == (int64_t)rounds * 1795355971004);
	printf("# %.1f ns per parse\n", (t1 - t0) / rounds);
}

int main(void)
{
	RUN(test_unit_parse);
	RUN(test_civil);
	RUN(test_parse_layouts);
	RUN(test_parse_rejects);
	RUN(test_format);
	RUN(test_round_trips);
	RUN(test_from_number);
	RUN(test_durations);
	RUN(test_tz_load);
	RUN(test_tz_utc);
	RUN(test_tz_jakarta);
	RUN(test_tz_new_york);
	RUN(test_tz_midnight_transitions);
	RUN(test_tz_cache);
	RUN(bench_parse);
	return test_done();
}
