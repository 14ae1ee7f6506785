/* shop_format.h: the simulated shop's changes as Debezium change events, SQL for psql, or flat order lines. */
#ifndef EC_SHOP_FORMAT_H
#define EC_SHOP_FORMAT_H

#include "ec.h"
#include "shop.h"

/*
 * The writers format straight into memory (as lib/put.h does): the caller
 * makes room for EC_SHOP_RECORD_MAX bytes, calls one writer with P
 * pointing there, and gets the end of what was written back; nothing is
 * NUL-terminated. One call writes one record (a line, or one SQL row or
 * statement), so the caller can count, skip and checkpoint records.
 *
 *   debezium: one JSON change event per change, as Debezium's PostgreSQL
 *             connector writes them (snapshot reads "r", then "c" and "u");
 *   sql:      the preamble (DDL), the snapshot as multi-row INSERTs, then
 *             INSERT and UPDATE statements in transactions, for psql;
 *   flat:     per order event (a change of the orders table), one JSON
 *             line per item, joined with the customer and the product.
 */

/* The most bytes one writer call below writes; the longest record is about 1.5 KiB. */
#define EC_SHOP_RECORD_MAX 4096

struct ec_shop_writer;

/* SEED is the shop's: it seeds the flat event ids and is named in the SQL preamble. */
struct ec_shop_writer *ec_shop_writer_new(uint64_t seed);
void ec_shop_writer_free(struct ec_shop_writer *w);

/* A change (not a commit) as one Debezium change event line. */
char *ec_shop_write_debezium(struct ec_shop_writer *w, char *p, const struct ec_shop_change *ch);

/* SQL: the preamble (settings, CREATE TABLE for the tables in the mask) first. */
void ec_shop_write_sql_preamble(struct ec_shop_writer *w, struct ec_buf *out, unsigned tables);
/* A change: one row of a multi-row INSERT or one statement, BEGIN before a transaction's first. */
char *ec_shop_write_sql(struct ec_shop_writer *w, char *p, const struct ec_shop_change *ch);
/* A commit: ends an open INSERT and transaction; may write nothing. Not a record. */
char *ec_shop_write_sql_commit(struct ec_shop_writer *w, char *p);

/*
 * Flat: item LINE (0 <= LINE < o->nitems) of order event O (the order of
 * a change of the orders table), with the customer and product as they
 * are now in SHOP.
 */
char *ec_shop_write_flat(struct ec_shop_writer *w, char *p, const struct ec_shop *shop,
			 const struct ec_shop_order *o, unsigned line);

#endif
