/*
 * window.h: event-time windows (tumbling, hopping, session, cumulating;
 * calendar days and months in a time zone) and the store of open windows
 * with their per-group aggregates, emitted when the watermark passes.
 */
#ifndef EC_WINDOW_H
#define EC_WINDOW_H

#include "ec.h"
#include "agg.h"
#include "timefmt.h"

enum ec_win_kind { EC_WIN_TUMBLE, EC_WIN_HOP, EC_WIN_SESSION, EC_WIN_CUMULATE };

struct ec_winspec {
	enum ec_win_kind kind;
	int64_t size;		/* fixed size in ms (0 when calendar); session: the gap */
	char cal_unit;		/* 0, 'd' (local days) or 'M' (months) */
	int cal_count;		/* calendar size: that many days or months */
	int64_t step;		/* hop: slide; cumulate: step */
	const struct ec_tz *tz;
};

/*
 * Parse "tumble 1m", "tumble 1d", "tumble 1mo", "hop 10m every 1m",
 * "session 30m", "cumulate 1d every 1h". Days are local days in TZ.
 */
int ec_winspec_parse(struct ec_winspec *ws, const char *text, const struct ec_tz *tz,
		     char *errstr, size_t errstr_size);

/* Most windows one record can fall in, for sizing ec_winspec_assign's arrays. */
size_t ec_winspec_max_windows(const struct ec_winspec *ws);

/* The windows [start, end) that contain T (not for sessions). Returns how many. */
size_t ec_winspec_assign(const struct ec_winspec *ws, int64_t t, int64_t *start, int64_t *end);

struct ec_window_config {
	struct ec_winspec spec;
	const struct ec_agg_spec *aggs;
	size_t naggs;
	char **group_names;	/* output names of the group-by values */
	size_t ngroups;
	int64_t max_delay;	/* watermark = max event time - max_delay */
	int64_t lateness;	/* emitted windows still take records this long */
	size_t top_n;		/* 0: every group */
	int top_agg;		/* index into aggs ordering top_n (descending) */
};

struct ec_window;

struct ec_window *ec_window_new(const struct ec_window_config *cfg);
void ec_window_free(struct ec_window *w);

/*
 * Add a record at event time T for the group KEY (the group-by values'
 * JSON texts joined by '\x1f') with prepared aggregate inputs IN and
 * weight W. Returns the number of windows it was too late for: 0 normally;
 * when every window was too late, the record counted nowhere (*all_late).
 * -1 with errstr when an aggregate would overflow: the record counted
 * nowhere. -2 when merging sessions overflowed: the state is damaged.
 */
int ec_window_add(struct ec_window *w, int64_t t, const char *key, size_t keylen,
		  const struct ec_agg_input *in, int64_t weight, int *all_late,
		  char *errstr, size_t errstr_size);

/* Append every window result the watermark has closed, and late updates. */
void ec_window_emit(struct ec_window *w, struct ec_buf *out);

/* End of input: append every window still open, in order. */
void ec_window_flush(struct ec_window *w, struct ec_buf *out);

/* Snapshots: the whole state as NDJSON, and back. */
void ec_window_save(struct ec_window *w, struct ec_buf *out);
int ec_window_load(struct ec_window *w, const char *text, size_t n, char *errstr, size_t errstr_size);

#endif
