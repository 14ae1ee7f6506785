/*
 * pgtype.h: PostgreSQL values in their text form (as pgoutput and a text
 * mode query send them) written as typed JSON, chosen by type OID, so that
 * streamed changes and snapshot rows go through one converter.
 */
#ifndef EC_PGTYPE_H
#define EC_PGTYPE_H

#include "ec.h"

enum ec_pgtype_kind {
	EC_PGT_STRING,		/* text, varchar, uuid, date, time, interval, enums, unknown types */
	EC_PGT_INT,		/* int2, int4, int8, oid: a JSON number */
	EC_PGT_FLOAT,		/* float4, float8: a number, or "NaN"/"Infinity"/"-Infinity" */
	EC_PGT_NUMERIC,		/* numeric: an exact string ("123.45"), or a number on request */
	EC_PGT_BOOL,
	EC_PGT_JSON,		/* json, jsonb: embedded (json's own whitespace dropped) */
	EC_PGT_BYTEA,		/* base64 of the bytes */
	EC_PGT_TIMESTAMPTZ,	/* RFC 3339: "2026-11-22T13:59:31.004911Z" */
	EC_PGT_TIMESTAMP,	/* without time zone: read as UTC, written like timestamptz */
	EC_PGT_ARRAY,		/* a JSON array of the element type, nested for more dimensions */
};

struct ec_pgtype {
	unsigned char kind;
	unsigned char elem;	/* EC_PGT_ARRAY: the elements' kind */
};

/* How values are written; zero is the default. */
struct ec_pgtype_opts {
	int decimal_number;	/* numeric as a bare JSON number (not exact for every reader) */
	int time_unit;		/* -1: RFC 3339 text; else an ec_time_unit: numbers since the epoch */
};

/* The kind of values of type OID; unknown OIDs (user types, enums) are strings. */
struct ec_pgtype ec_pgtype_of(uint32_t oid);

/* Append the JSON for the text value S[0..n) of type T. */
void ec_pgtype_write(struct ec_buf *b, struct ec_pgtype t, const char *s, size_t n,
		     const struct ec_pgtype_opts *o);

/*
 * Microseconds since the Unix epoch of a PostgreSQL timestamp in ISO style
 * ("2026-11-22 13:59:31.004911+00", offset optional: UTC). 0, or -1 when it
 * is not one (infinity, BC, another DateStyle).
 */
int ec_pgtype_timestamp_us(const char *s, size_t n, int64_t *us);

#endif
