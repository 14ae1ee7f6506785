/*
 * agg.h: aggregate functions for windowed aggregation: count, sum, avg,
 * min, max, exact count-distinct, first, last; with signed weights so that
 * retractions give exact results. Money is exact decimal (decimal.h).
 */
#ifndef EC_AGG_H
#define EC_AGG_H

#include "ec.h"
#include "decimal.h"
#include "json.h"

enum ec_agg_fn {
	EC_AGG_COUNT,		/* count(): records (weighted) */
	EC_AGG_COUNT_PATH,	/* count(PATH): records where PATH is present and not null */
	EC_AGG_SUM,
	EC_AGG_AVG,
	EC_AGG_MIN,
	EC_AGG_MAX,
	EC_AGG_COUNT_DISTINCT,
	EC_AGG_FIRST,
	EC_AGG_LAST,
};

struct ec_agg_spec {
	char *name;		/* output field */
	enum ec_agg_fn fn;
	char *path;		/* NULL for count() */
	int slot;		/* pathset slot of path, -1 without */
};

/* Parse "NAME=FN(PATH)" or "FN(PATH)" (the name defaults to FN). */
int ec_agg_spec_parse(struct ec_agg_spec *spec, const char *text, char *errstr, size_t errstr_size);
void ec_agg_spec_release(struct ec_agg_spec *spec);

struct ec_distinct;

/* The running state of one aggregate for one group of one window. */
struct ec_agg_cell {
	int64_t n;		/* weighted count (count, count(PATH), sum/avg: values seen) */
	struct ec_dec v;	/* sum, or the numeric min/max */
	int64_t t;		/* first/last: event time of the kept value */
	char *raw;		/* first/last value, or a non-numeric min/max, as JSON text */
	uint32_t rawlen;
	uint8_t has;		/* min/max/first/last: a value is kept; 2 = raw is a string */
	struct ec_distinct *set;
};

/* One record's value for one aggregate, checked before any state changes. */
struct ec_agg_input {
	const struct ec_jval *val;	/* the value at the spec's path (unused by count()) */
	struct ec_dec d;		/* sum/avg: the parsed number */
	int present;			/* not missing and not null */
};

/*
 * Check VAL for SPEC and prepare IN: 0, or -1 with errstr when the value
 * cannot be aggregated (a sum of a non-number): the caller rejects the
 * record, so that a record counts in every aggregate or in none.
 */
int ec_agg_prepare(const struct ec_agg_spec *spec, const struct ec_jval *val,
		   struct ec_agg_input *in, char *errstr, size_t errstr_size);

/*
 * Fold a prepared value into CELL; T is the record's event time, W its
 * weight. 0, or -1 with errstr on a 38-digit overflow.
 */
int ec_agg_update(const struct ec_agg_spec *spec, struct ec_agg_cell *cell,
		  const struct ec_agg_input *in, int64_t t, int64_t w,
		  char *errstr, size_t errstr_size);

/*
 * Would folding IN with weight W into CELL (NULL: an empty cell) overflow?
 * Checked for every window before any changes, so that a record counts
 * everywhere or nowhere. 0, or -1 with errstr.
 */
int ec_agg_check(const struct ec_agg_spec *spec, const struct ec_agg_cell *cell,
		 const struct ec_agg_input *in, int64_t w, char *errstr, size_t errstr_size);

/* Fold SRC into DST (session merges). 0, or -1 on overflow. */
int ec_agg_merge(const struct ec_agg_spec *spec, struct ec_agg_cell *dst,
		 const struct ec_agg_cell *src, char *errstr, size_t errstr_size);

/* Append the JSON value of the aggregate (a number, a string or null). */
void ec_agg_format(const struct ec_agg_spec *spec, const struct ec_agg_cell *cell, struct ec_buf *out);

/* Order two cells of the same aggregate by value, for top-N (<0, 0, >0). */
int ec_agg_cmp(const struct ec_agg_spec *spec, const struct ec_agg_cell *a, const struct ec_agg_cell *b);

/* Free what a cell owns (not the cell). */
void ec_agg_cell_release(struct ec_agg_cell *cell);

/* Snapshots: the cell as a JSON value, and back from yajl's tree. */
void ec_agg_cell_save(const struct ec_agg_spec *spec, const struct ec_agg_cell *cell, struct ec_buf *out);
struct yajl_val_s;
int ec_agg_cell_load(const struct ec_agg_spec *spec, struct ec_agg_cell *cell,
		     struct yajl_val_s *v, char *errstr, size_t errstr_size);

#endif
