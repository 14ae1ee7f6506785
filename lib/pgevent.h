/*
 * pgevent.h: Debezium-compatible change events (the value payload, no
 * schema block) for PostgreSQL rows, in the field order and spelling that
 * ec-gen --format debezium writes, so downstream tools see one shape.
 */
#ifndef EC_PGEVENT_H
#define EC_PGEVENT_H

#include "ec.h"
#include "pgoutput.h"
#include "pgtype.h"

/* An unchanged TOASTed value (not sent by the server) is written as this string. */
#define EC_PG_UNAVAILABLE "__ec_unavailable_value"

struct ec_pgevent_conf {
	const char *name;		/* source.name */
	const char *db;			/* source.db */
	struct ec_pgtype_opts types;
};

/* Where the change sits: its transaction and WAL position. */
struct ec_pgevent_pos {
	int64_t ts_ms;			/* commit time (snapshot: its start) */
	uint32_t xid;
	uint64_t last_commit_lsn;	/* 0: null */
	uint64_t lsn;
	const char *snapshot;		/* "true", "last", "false" */
	const char *tx_id;		/* non-NULL: add Debezium's "transaction" block */
	uint64_t total_order, collection_order;
};

/*
 * Append one event and its newline to OUT. OP is c, u, d, r or t; BEFORE
 * and AFTER may be NULL (null). Relation REL's per-column data is kept in
 * rel->user (set rel's decoder user_free to ec_pgevent_rel_free).
 * Returns the offset in OUT of the snapshot marker's value (4 bytes) so a
 * caller can turn "true" into "last" once it knows.
 */
size_t ec_pgevent_row(struct ec_buf *out, const struct ec_pgevent_conf *conf, struct ec_pgo_relation *rel,
		      char op, const struct ec_pgo_tuple *before, const struct ec_pgo_tuple *after,
		      const struct ec_pgevent_pos *pos);

/* A logical decoding message (pg_logical_emit_message) as op "m". */
void ec_pgevent_message(struct ec_buf *out, const struct ec_pgevent_conf *conf, const char *prefix,
			const char *content, size_t len, const struct ec_pgevent_pos *pos);

void ec_pgevent_rel_free(void *user);

/* One table's events in a transaction, for the END record. */
struct ec_pgevent_count {
	const struct ec_pgo_relation *rel;
	uint64_t events;
};

/*
 * Transaction metadata records (Debezium's): BEGIN with event_count and
 * data_collections null, END with the counts of each table in order.
 */
void ec_pgevent_tx_begin(struct ec_buf *out, const char *tx_id, int64_t ts_ms);
void ec_pgevent_tx_end(struct ec_buf *out, const char *tx_id, int64_t ts_ms, uint64_t events,
		       const struct ec_pgevent_count *counts, size_t ncounts);

#endif
