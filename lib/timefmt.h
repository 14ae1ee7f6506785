/*
 * timefmt.h: event time. Internally a time is int64 epoch milliseconds (UTC).
 * Parses numbers in a unit and RFC 3339 / ISO 8601 / PostgreSQL text;
 * formats RFC 3339 UTC with milliseconds; durations like 90s, 1m, 48h, 7d;
 * calendar boundaries (day, month) in a time zone from the tz database.
 */
#ifndef EC_TIMEFMT_H
#define EC_TIMEFMT_H

#include "ec.h"

enum ec_time_unit { EC_UNIT_S, EC_UNIT_MS, EC_UNIT_US, EC_UNIT_NS };

/* The wall clock in epoch milliseconds (only where a record carries processing time). */
int64_t ec_wall_ms(void);
/* The monotonic clock in nanoseconds: intervals, timeouts and pacing. */
int64_t ec_mono_ns(void);

/*
 * The times the parsers accept: 0001-01-01T00:00:00.000Z to
 * 9999-12-31T23:59:59.999Z. Keeping every time (and duration) this small
 * means window arithmetic like t + size can never overflow.
 */
#define EC_TIME_MIN (-62135596800000LL)
#define EC_TIME_MAX 253402300799999LL

/* "s", "ms", "us", "ns" -> unit. 0, or -1 if unknown. */
int ec_time_unit_parse(const char *s, enum ec_time_unit *unit);

/*
 * Parse a JSON number's text in UNIT (fractions allowed: 1.5 s) to ms,
 * truncating toward negative infinity below a millisecond. 0, or -1.
 */
int ec_time_from_number(const char *s, size_t n, enum ec_time_unit unit, int64_t *ms);

/*
 * Parse text time to ms. Accepts "2026-11-22T13:59:31Z",
 * "2026-11-22T13:59:31.004+07:00", "2026-11-22 13:59:31.004911+00" (PostgreSQL),
 * offsets Z, +HH, +HHMM, +HH:MM, lowercase t/z, 1-9 fraction digits,
 * "2026-11-22" (midnight UTC) and a missing offset (UTC).
 * Sub-millisecond digits are truncated. 0, or -1 with errstr.
 */
int ec_time_parse(const char *s, size_t n, int64_t *ms, char *errstr, size_t errstr_size);

/* Write "2026-11-22T14:00:00.000Z" (24 chars + NUL) into out[EC_TIME_BUFSZ]. */
#define EC_TIME_BUFSZ 32
size_t ec_time_format(int64_t ms, char *out);

/*
 * Parse a duration: an integer followed by ms, s, m, h, d or w ("90s",
 * "1m", "48h", "1h30m" also works). 0, or -1 with errstr.
 */
int ec_duration_parse(const char *s, int64_t *ms, char *errstr, size_t errstr_size);

/* Days since 1970-01-01 for a civil date, and back (proleptic Gregorian). */
int64_t ec_days_from_civil(int64_t y, unsigned m, unsigned d);
void ec_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/*
 * Calendar units in a time zone. A zone is loaded once by name ("UTC",
 * "Asia/Jakarta") from the system tz database; NULL or "UTC" is UTC.
 */
struct ec_tz;
struct ec_tz *ec_tz_load(const char *name, char *errstr, size_t errstr_size);
void ec_tz_free(struct ec_tz *tz);
/* Whether TZ is UTC (then local times need no zone rules); a NULL zone is UTC. */
int ec_tz_is_utc(const struct ec_tz *tz);
/*
 * Start (inclusive) and end (exclusive) in UTC ms of the calendar period of
 * COUNT days (unit 'd') or COUNT months (unit 'M') that contains T, local
 * midnight aligned; day periods count from 1970-01-01 local, month periods
 * from January of year 0. DST days are 23 or 25 hours long.
 */
void ec_tz_period(const struct ec_tz *tz, int64_t t, char unit, int count,
		  int64_t *start, int64_t *end);

#endif
