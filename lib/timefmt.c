/* timefmt.c: event time as epoch milliseconds: parsing, formatting, durations and calendar periods in a time zone. */
#include "ec.h"
#include "timefmt.h"
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define SEC_MS 1000LL
#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
#define WEEK_MS (7 * DAY_MS)

/* The longest duration that still fits between two valid times. */
#define DURATION_MAX (EC_TIME_MAX - EC_TIME_MIN)

/* Zone periods work in time_t seconds; a 32-bit time_t would end in 2038. */
_Static_assert(sizeof(time_t) == 8, "time_t must be 64 bits");

static const uint64_t pow10_table[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
	100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
	1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
	1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
	1000000000000000000ULL, 10000000000000000000ULL,
};

static inline int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* A digit's value, or something above 9 for any other byte. */
static inline unsigned digit_value(char c)
{
	return (unsigned)(unsigned char)c - '0';
}

static inline int is_digit(char c)
{
	return digit_value(c) <= 9;
}

/* ---- the civil calendar (proleptic Gregorian, years counted from March) ---- */

int64_t ec_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	/* Counting years from March puts the leap day last, so it needs no table. */
	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void ec_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468;	/* days since 0000-03-01 */
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int is_leap_year(int y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int days_in_month(int y, int m)
{
	static const unsigned char days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* ---- units and numbers ---- */

int ec_time_unit_parse(const char *s, enum ec_time_unit *unit)
{
	static const struct { const char *name; enum ec_time_unit unit; } units[] = {
		{ "s", EC_UNIT_S }, { "ms", EC_UNIT_MS }, { "us", EC_UNIT_US }, { "ns", EC_UNIT_NS },
	};
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(units); i++) {
		if (!strcmp(s, units[i].name)) {
			*unit = units[i].unit;
			return 0;
		}
	}
	return -1;
}

/* The power of ten that turns a value in UNIT into milliseconds. */
static int unit_exponent(enum ec_time_unit unit)
{
	switch (unit) {
	case EC_UNIT_S: return 3;
	case EC_UNIT_US: return -3;
	case EC_UNIT_NS: return -6;
	default: return 0;
	}
}

/*
 * A JSON number's digits as mant * 10^exp10, holding at most 19 significant
 * digits; `dropped` says whether a nonzero digit did not fit (it only matters
 * for rounding a negative number down).
 */
struct decimal_num {
	uint64_t mant;
	int64_t exp10;
	int ndigits;
	int dropped;
	int negative;
};

static void add_digit(struct decimal_num *num, unsigned dig, int in_fraction)
{
	if (num->ndigits < 19) {
		num->mant = num->mant * 10 + dig;
		num->ndigits += num->mant != 0;
		num->exp10 -= in_fraction;
		return;
	}
	num->dropped |= dig != 0;
	num->exp10 += !in_fraction;
}

/* Strict JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_json_number(const char *p, const char *end, struct decimal_num *num)
{
	int64_t e = 0;
	int eneg = 0;

	memset(num, 0, sizeof(*num));
	if (p < end && *p == '-') {
		num->negative = 1;
		p++;
	}
	if (p == end || !is_digit(*p))
		return -1;
	if (*p == '0') {
		if (++p < end && is_digit(*p))
			return -1;
	} else {
		for (; p < end && is_digit(*p); p++)
			add_digit(num, digit_value(*p), 0);
	}
	if (p < end && *p == '.') {
		if (++p == end || !is_digit(*p))
			return -1;
		for (; p < end && is_digit(*p); p++)
			add_digit(num, digit_value(*p), 1);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p == end || !is_digit(*p))
			return -1;
		/* Any exponent past 100000 is out of range (or zero) all the same. */
		for (; p < end && is_digit(*p); p++)
			if (e < 100000)
				e = e * 10 + digit_value(*p);
		num->exp10 += eneg ? -e : e;
	}
	return p == end ? 0 : -1;
}

int ec_time_from_number(const char *s, size_t n, enum ec_time_unit unit, int64_t *ms)
{
	struct decimal_num num;
	uint64_t whole;
	int64_t e;
	int inexact;

	if (scan_json_number(s, s + n, &num) < 0)
		return -1;
	if (num.mant == 0) {
		*ms = 0;
		return 0;
	}
	e = num.exp10 + unit_exponent(unit);
	if (e >= 0) {
		if (e > 15 || num.mant > (uint64_t)EC_TIME_MAX / pow10_table[e])
			return -1;
		whole = num.mant * pow10_table[e];
		inexact = num.dropped;
	} else if (e >= -19) {
		whole = num.mant / pow10_table[-e];
		inexact = num.mant % pow10_table[-e] != 0 || num.dropped;
	} else {
		whole = 0;
		inexact = 1;
	}
	/* Below a millisecond, round toward negative infinity like the windows do. */
	if (num.negative) {
		if (whole > (uint64_t)-EC_TIME_MIN)
			return -1;
		*ms = -(int64_t)whole - inexact;
		return *ms < EC_TIME_MIN ? -1 : 0;
	}
	if (whole > (uint64_t)EC_TIME_MAX)
		return -1;
	*ms = (int64_t)whole;
	return 0;
}

/* ---- text times ---- */

/*
 * The error path: "invalid time '...': WHY", the input cut short and its
 * control bytes replaced so the message stays one printable line.
 */
static int __attribute__((noinline, cold))
time_error(const char *s, size_t n, const char *why, char *errstr, size_t errstr_size)
{
	char shown[68];
	size_t i, len = n > 64 ? 61 : n;

	for (i = 0; i < len; i++)
		shown[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (len < n) {
		memcpy(shown + len, "...", 3);
		len += 3;
	}
	shown[len] = '\0';
	snprintf(errstr, errstr_size, "invalid time '%s': %s", shown, why);
	return -1;
}

/* Two digits at p (p[0], p[1] readable), or -1. */
static inline int two_digits(const char *p)
{
	unsigned a = digit_value(p[0]), b = digit_value(p[1]);

	return a > 9 || b > 9 ? -1 : (int)(a * 10 + b);
}

/* ".ddd..." after the seconds: milliseconds, sub-millisecond digits dropped. */
static const char *parse_fraction(const char *p, const char *end, int64_t *frac_ms, const char **why)
{
	static const int scale[3] = { 100, 10, 1 };
	const char *start = p;
	int64_t v = 0;

	for (; p < end && is_digit(*p); p++)
		if (p - start < 3)
			v += digit_value(*p) * scale[p - start];
	if (p == start) {
		*why = "expected digits after '.'";
		return NULL;
	}
	if (p - start > 9) {
		*why = "more than 9 fraction digits";
		return NULL;
	}
	*frac_ms = v;
	return p;
}

/* "Z", "z", "+HH", "+HHMM", "+HH:MM" (or '-'): the offset east of UTC in minutes. */
static const char *parse_offset(const char *p, const char *end, int64_t *offset_min, const char **why)
{
	int sign, hh, mm = 0;

	if (*p == 'Z' || *p == 'z') {
		*offset_min = 0;
		return p + 1;
	}
	if (*p != '+' && *p != '-') {
		*why = "expected Z or an offset like +07:00 after the time";
		return NULL;
	}
	sign = *p++ == '-' ? -1 : 1;
	if (end - p < 2 || (hh = two_digits(p)) < 0)
		goto bad;
	p += 2;
	if (p < end) {
		if (*p == ':')
			p++;
		if (end - p < 2 || (mm = two_digits(p)) < 0)
			goto bad;
		p += 2;
	}
	if (hh > 23 || mm > 59) {
		*why = "offset out of range";
		return NULL;
	}
	*offset_min = sign * (hh * 60 + mm);
	return p;
bad:
	*why = "bad offset, expected Z, +HH, +HHMM or +HH:MM";
	return NULL;
}

/* "HH:MM[:SS[.frac]]" starting at p: milliseconds since midnight. */
static const char *parse_clock(const char *p, const char *end, int64_t *day_ms, const char **why)
{
	int hour, min, sec = 0;
	int64_t frac = 0;

	if (end - p < 5 || p[2] != ':' || (hour = two_digits(p)) < 0 || (min = two_digits(p + 3)) < 0) {
		*why = "expected HH:MM after the date";
		return NULL;
	}
	p += 5;
	if (p < end && *p == ':') {
		if (end - p < 3 || (sec = two_digits(p + 1)) < 0) {
			*why = "expected two digits of seconds";
			return NULL;
		}
		p += 3;
		if (p < end && *p == '.' && !(p = parse_fraction(p + 1, end, &frac, why)))
			return NULL;
	}
	if (hour > 23)
		*why = "hour out of range";
	else if (min > 59)
		*why = "minute out of range";
	else if (sec > 59)
		*why = "second out of range";
	else {
		*day_ms = hour * HOUR_MS + min * MIN_MS + sec * SEC_MS + frac;
		return p;
	}
	return NULL;
}

/* "YYYY-MM-DD" at s (n >= 10 checked by the caller): days since 1970-01-01. */
static int parse_date(const char *s, int64_t *days, const char **why)
{
	int hi = two_digits(s), lo = two_digits(s + 2), year, mon, day;

	if (hi < 0 || lo < 0 || s[4] != '-' || s[7] != '-' ||
	    (mon = two_digits(s + 5)) < 0 || (day = two_digits(s + 8)) < 0) {
		*why = "expected YYYY-MM-DD";
		return -1;
	}
	year = hi * 100 + lo;
	if (year < 1)
		*why = "year out of range";
	else if (mon < 1 || mon > 12)
		*why = "month out of range";
	else if (day < 1 || day > days_in_month(year, mon))
		*why = "day out of range";
	else {
		*days = ec_days_from_civil(year, (unsigned)mon, (unsigned)day);
		return 0;
	}
	return -1;
}

int ec_time_parse(const char *s, size_t n, int64_t *ms, char *errstr, size_t errstr_size)
{
	const char *p, *end = s + n, *why = "expected YYYY-MM-DD";
	int64_t days, day_ms = 0, offset_min = 0, t;

	if (n < 10 || parse_date(s, &days, &why) < 0)
		return time_error(s, n, why, errstr, errstr_size);
	p = s + 10;
	if (p < end) {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return time_error(s, n, "expected 'T' or a space after the date", errstr, errstr_size);
		if (!(p = parse_clock(p + 1, end, &day_ms, &why)))
			return time_error(s, n, why, errstr, errstr_size);
		if (p < end && !(p = parse_offset(p, end, &offset_min, &why)))
			return time_error(s, n, why, errstr, errstr_size);
		if (p != end)
			return time_error(s, n, "unexpected characters after the offset", errstr, errstr_size);
	}
	t = days * DAY_MS + day_ms - offset_min * MIN_MS;
	if (t < EC_TIME_MIN || t > EC_TIME_MAX)
		return time_error(s, n, "out of range (years 0001 to 9999 UTC)", errstr, errstr_size);
	*ms = t;
	return 0;
}

/* ---- formatting ---- */

static inline char *put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* A year as at least four digits, with a '-' before year 0 (only from huge inputs). */
static char *put_year(char *p, int64_t y)
{
	char tmp[24];
	uint64_t v = y < 0 ? (uint64_t)0 - (uint64_t)y : (uint64_t)y;
	int len = 0;

	if (y < 0)
		*p++ = '-';
	do {
		tmp[len++] = (char)('0' + v % 10);
		v /= 10;
	} while (v || len < 4);
	while (len)
		*p++ = tmp[--len];
	return p;
}

size_t ec_time_format(int64_t ms, char *out)
{
	int64_t rem = ms % DAY_MS, days, y;
	unsigned m, d, msec;
	char *p = out;

	/* Floor division done by hand: days * DAY_MS would overflow near INT64_MIN. */
	if (rem < 0)
		rem += DAY_MS;
	days = ms / DAY_MS - (ms % DAY_MS < 0);
	ec_civil_from_days(days, &y, &m, &d);
	if (EC_LIKELY(y >= 1000 && y <= 9999)) {
		p = put2(p, (unsigned)(y / 100));
		p = put2(p, (unsigned)(y % 100));
	} else {
		p = put_year(p, y);
	}
	*p++ = '-';
	p = put2(p, m);
	*p++ = '-';
	p = put2(p, d);
	*p++ = 'T';
	p = put2(p, (unsigned)(rem / HOUR_MS));
	*p++ = ':';
	p = put2(p, (unsigned)(rem / MIN_MS % 60));
	*p++ = ':';
	p = put2(p, (unsigned)(rem / SEC_MS % 60));
	*p++ = '.';
	msec = (unsigned)(rem % SEC_MS);
	*p++ = (char)('0' + msec / 100);
	p = put2(p, msec % 100);
	*p++ = 'Z';
	*p = '\0';
	return (size_t)(p - out);
}

/* ---- durations ---- */

/* The length of a duration unit spelled by the N letters at S, or 0. */
static int64_t duration_unit(const char *s, size_t n)
{
	static const struct { const char *name; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", SEC_MS }, { "m", MIN_MS }, { "h", HOUR_MS },
		{ "d", DAY_MS }, { "w", WEEK_MS },
	};
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(units); i++)
		if (strlen(units[i].name) == n && !memcmp(units[i].name, s, n))
			return units[i].ms;
	return 0;
}

static int is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int ec_duration_parse(const char *s, int64_t *ms, char *errstr, size_t errstr_size)
{
	const char *p = s;
	int64_t total = 0;

	if (!*s) {
		snprintf(errstr, errstr_size, "empty duration (expected e.g. 90s, 5m, 1h30m, 7d)");
		return -1;
	}
	if (*s == '-') {
		snprintf(errstr, errstr_size, "duration '%s' must not be negative", s);
		return -1;
	}
	while (*p) {
		const char *word;
		int64_t count = 0, unit;

		if (!is_digit(*p)) {
			snprintf(errstr, errstr_size, "duration '%s': expected a whole number at '%s'", s, p);
			return -1;
		}
		for (; is_digit(*p); p++) {
			/* Stop counting once past the limit; the check below reports it. */
			if (count <= DURATION_MAX)
				count = count * 10 + digit_value(*p);
		}
		for (word = p; is_letter(*p); p++)
			;
		if (word == p) {
			snprintf(errstr, errstr_size, "duration '%s' needs a unit: ms, s, m, h, d, w", s);
			return -1;
		}
		if (!(unit = duration_unit(word, (size_t)(p - word)))) {
			if (p - word == 2 && !memcmp(word, "mo", 2))
				snprintf(errstr, errstr_size, "duration '%s': a month is not a duration "
					 "(use ms, s, m, h, d, w)", s);
			else
				snprintf(errstr, errstr_size, "duration '%s': unknown unit '%.*s' "
					 "(use ms, s, m, h, d, w)", s, (int)(p - word), word);
			return -1;
		}
		if (count > DURATION_MAX / unit || (total += count * unit) > DURATION_MAX) {
			snprintf(errstr, errstr_size, "duration '%s' is too large", s);
			return -1;
		}
	}
	*ms = total;
	return 0;
}

/* ---- time zones ---- */

/*
 * A loaded zone. Real zones go through libc (TZ + tzset, localtime_r,
 * mktime), which knows one zone at a time: hence one non-UTC zone per
 * process. The last period computed is kept so that the records of one
 * period (the common case) cost a comparison, not libc calls.
 */
struct ec_tz {
	char *name;
	int utc;
	char cached_unit;
	int cached_count;
	int64_t cached_start, cached_end;
	int64_t cached_first_day, cached_next_day;
};

/* The zone TZ was set to, and how many loaded ec_tz use it. */
static char *tz_env_zone;
static int tz_env_users;

static int is_utc_name(const char *name)
{
	return !strcmp(name, "UTC") || !strcmp(name, "Etc/UTC") || !strcmp(name, "Z");
}

/* A relative path without ".." components, so the name cannot leave the zone directory. */
static int is_safe_zone_name(const char *name)
{
	const char *p = name;

	if (!*name || *name == '/' || strlen(name) > 255)
		return 0;
	while (*p) {
		const char *slash = strchrnul(p, '/');

		if (slash - p == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		p = *slash ? slash + 1 : slash;
	}
	return 1;
}

/* Is NAME a compiled zone (a "TZif" file) in $TZDIR or /usr/share/zoneinfo? */
static int zone_file_exists(const char *name)
{
	const char *dir = getenv("TZDIR");
	char path[4096], magic[4];
	int fd, ok;

	if (!is_safe_zone_name(name))
		return 0;
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	ok = read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) && !memcmp(magic, "TZif", 4);
	close(fd);
	return ok;
}

int ec_tz_is_utc(const struct ec_tz *tz)
{
	return !tz || tz->utc;
}

static struct ec_tz *tz_new(const char *name, int utc)
{
	struct ec_tz *tz = xcalloc(1, sizeof(*tz));

	tz->name = xstrdup(name);
	tz->utc = utc;
	return tz;
}

struct ec_tz *ec_tz_load(const char *name, char *errstr, size_t errstr_size)
{
	if (!name || is_utc_name(name))
		return tz_new("UTC", 1);
	if (!zone_file_exists(name)) {
		snprintf(errstr, errstr_size, "unknown time zone '%s'", name);
		return NULL;
	}
	if (tz_env_users && strcmp(tz_env_zone, name)) {
		snprintf(errstr, errstr_size, "cannot load time zone '%s': '%s' is in use and "
			 "only one zone besides UTC works at a time", name, tz_env_zone);
		return NULL;
	}
	if (!tz_env_users) {
		if (setenv("TZ", name, 1) < 0) {
			snprintf(errstr, errstr_size, "cannot set time zone '%s': %s", name, strerror(errno));
			return NULL;
		}
		tzset();
		free(tz_env_zone);
		tz_env_zone = xstrdup(name);
	}
	tz_env_users++;
	return tz_new(name, 0);
}

void ec_tz_free(struct ec_tz *tz)
{
	if (!tz)
		return;
	if (!tz->utc)
		tz_env_users--;
	free(tz->name);
	free(tz);
}

/* The local day number (days since 1970-01-01 local) of second S in the loaded zone. */
static int64_t zone_day_of(int64_t s)
{
	time_t ts = (time_t)s;
	struct tm tm;

	if (!localtime_r(&ts, &tm))
		return floor_div(s, 86400);
	return ec_days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
}

static int is_zone_day_start(int64_t day, int64_t s)
{
	return zone_day_of(s) >= day && zone_day_of(s - 1) < day;
}

/*
 * The first second of local DAY. mktime's answer for 00:00 is checked,
 * because midnight may not exist (clocks jump from 24:00 to 01:00) or exist
 * twice (01:00 back to 00:00); then a binary search finds the first second
 * whose local date is DAY. No zone is more than 26 hours from UTC.
 */
static int64_t zone_day_start(int64_t day)
{
	struct tm tm = { .tm_isdst = -1 };
	int64_t y, lo, hi;
	unsigned m, d;
	time_t s;

	ec_civil_from_days(day, &y, &m, &d);
	tm.tm_year = (int)(y - 1900);
	tm.tm_mon = (int)m - 1;
	tm.tm_mday = (int)d;
	s = mktime(&tm);
	if (is_zone_day_start(day, s))
		return s;
	lo = day * 86400 - 30 * 3600;
	hi = day * 86400 + 30 * 3600;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (zone_day_of(mid) >= day)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

static int64_t local_day_of(const struct ec_tz *tz, int64_t t)
{
	if (!tz || tz->utc)
		return floor_div(t, DAY_MS);
	return zone_day_of(floor_div(t, SEC_MS));
}

static int64_t local_day_start(const struct ec_tz *tz, int64_t day)
{
	if (!tz || tz->utc)
		return day * DAY_MS;
	if (tz->cached_unit && day == tz->cached_first_day)
		return tz->cached_start;
	if (tz->cached_unit && day == tz->cached_next_day)
		return tz->cached_end;
	return zone_day_start(day) * SEC_MS;
}

/* The first day of month number MONTH, counted from January of year 0. */
static int64_t month_first_day(int64_t month)
{
	int64_t y = floor_div(month, 12);

	return ec_days_from_civil(y, (unsigned)(month - y * 12 + 1), 1);
}

void ec_tz_period(const struct ec_tz *tz, int64_t t, char unit, int count,
		  int64_t *start, int64_t *end)
{
	/* The cache is scratch space, not part of the zone's value. */
	struct ec_tz *cache = (struct ec_tz *)tz;
	int64_t day, first, next;

	if (count < 1)
		count = 1;
	if (tz && tz->cached_unit == unit && tz->cached_count == count &&
	    t >= tz->cached_start && t < tz->cached_end) {
		*start = tz->cached_start;
		*end = tz->cached_end;
		return;
	}
	day = local_day_of(tz, t);
	if (unit == 'M') {
		int64_t y, month;
		unsigned m, d;

		ec_civil_from_days(day, &y, &m, &d);
		month = floor_div(y * 12 + (m - 1), count) * count;
		first = month_first_day(month);
		next = month_first_day(month + count);
	} else {
		first = floor_div(day, count) * count;
		next = first + count;
	}
	*start = local_day_start(tz, first);
	*end = local_day_start(tz, next);
	if (!cache)
		return;
	cache->cached_unit = unit;
	cache->cached_count = count;
	cache->cached_start = *start;
	cache->cached_end = *end;
	cache->cached_first_day = first;
	cache->cached_next_day = next;
}

int64_t ec_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ec_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
