/* pgsnap.c: the published tables read inside a (exported) snapshot as Debezium op "r" events. */
#include "ec.h"
#include "timefmt.h"
#include "pgsnap.h"
#include "log.h"
#include <inttypes.h>
#include <time.h>

/* Pass output on once this much is buffered. */
#define OUT_FLUSH_AT (64 * 1024)

struct snap {
	const struct ec_pgsnap_conf *conf;
	struct ec_buf *out;
	PGconn *conn;
	struct ec_buf pending;		/* the last row, held back to mark it "last" */
	size_t pending_mark;
	int have_pending;
	uint64_t rows;
};

static void snap_emit(struct snap *s, struct ec_pgo_relation *rel, PGresult *r, int row,
		      const struct ec_pgevent_pos *pos, struct ec_pgo_value *vals)
{
	struct ec_pgo_tuple t = { rel->ncols, vals };
	int i;

	for (i = 0; i < rel->ncols; i++) {
		vals[i].kind = PQgetisnull(r, row, i) ? 'n' : 't';
		vals[i].data = PQgetvalue(r, row, i);
		vals[i].len = (size_t)PQgetlength(r, row, i);
	}
	if (s->have_pending) {
		ec_buf_add(s->out, s->pending.buf, s->pending.len);
		if (s->out->len >= OUT_FLUSH_AT) {
			ec_out_write(s->out->buf, s->out->len);
			ec_buf_reset(s->out);
		}
	}
	ec_buf_reset(&s->pending);
	s->pending_mark = ec_pgevent_row(&s->pending, s->conf->ev, rel, 'r', NULL, &t, pos);
	s->have_pending = 1;
	s->rows++;
}

/* The relation of a snapshot query: names and types from the result. */
static void snap_relation(struct ec_pgo_relation *rel, PGresult *r, const char *schema, const char *table)
{
	int i;

	memset(rel, 0, sizeof(*rel));
	rel->schema = xstrdup(schema);
	rel->name = xstrdup(table);
	rel->ncols = PQnfields(r);
	rel->cols = xcalloc((size_t)rel->ncols + 1, sizeof(*rel->cols));
	for (i = 0; i < rel->ncols; i++) {
		rel->cols[i].name = xstrdup(PQfname(r, i));
		rel->cols[i].type_oid = PQftype(r, i);
	}
}

/* The --where condition for SCHEMA.TABLE, given as "table" or "schema.table"; NULL: all rows. */
static const char *where_for(const struct ec_pgsnap_conf *conf, const char *schema, const char *table)
{
	size_t i, ls = strlen(schema), lt = strlen(table);

	for (i = 0; i < conf->nwheres; i++) {
		const struct ec_pgsnap_where *w = &conf->wheres[i];

		if ((w->table_len == lt && !memcmp(w->table, table, lt)) ||
		    (w->table_len == ls + 1 + lt && !memcmp(w->table, schema, ls) && w->table[ls] == '.' &&
		     !memcmp(w->table + ls + 1, table, lt)))
			return w->cond;
	}
	return NULL;
}

static int snap_table(struct snap *s, const char *schema, const char *table, const struct ec_pgevent_pos *pos,
		      struct ec_pgerr *e)
{
	const char *cond = where_for(s->conf, schema, table);
	char *qs = ec_pg_ident(s->conn, schema), *qt = ec_pg_ident(s->conn, table);
	struct ec_buf sql = EC_BUF_INIT, fetch = EC_BUF_INIT;
	struct ec_pgo_relation rel;
	struct ec_pgo_value *vals = NULL;
	PGresult *r = NULL;
	int ret = -1, i, n;

	memset(&rel, 0, sizeof(rel));
	ec_buf_addf(&sql, "DECLARE ec_cdc_snapshot NO SCROLL CURSOR FOR SELECT * FROM %s.%s%s%s", qs, qt,
		    cond ? " WHERE " : "", cond ? cond : "");
	ec_buf_addf(&fetch, "FETCH %" PRIu64 " FROM ec_cdc_snapshot", s->conf->fetch_size);
	r = ec_pg_exec(s->conn, sql.buf, e);
	if (!r)
		goto cleanup;
	do {
		PQclear(r);
		r = ec_pg_exec(s->conn, fetch.buf, e);
		if (!r)
			goto cleanup;
		if (!rel.cols) {
			snap_relation(&rel, r, schema, table);
			vals = xcalloc((size_t)rel.ncols + 1, sizeof(*vals));
		}
		n = PQntuples(r);
		for (i = 0; i < n && ec_run; i++)
			snap_emit(s, &rel, r, i, pos, vals);
	} while (n > 0 && ec_run);
	PQclear(r);
	r = ec_pg_exec(s->conn, "CLOSE ec_cdc_snapshot", e);
	if (!r)
		goto cleanup;
	ret = 0;
cleanup:
	PQclear(r);
	free(qs);
	free(qt);
	free(vals);
	ec_buf_release(&sql);
	ec_buf_release(&fetch);
	ec_pgo_relation_clear(&rel, ec_pgevent_rel_free);
	return ret;
}

/* The tables to read: --tables, else the publication's. */
static PGresult *snap_tables(struct snap *s, struct ec_pgerr *e)
{
	const struct ec_pgsnap_conf *set = s->conf;
	struct ec_buf sql = EC_BUF_INIT;
	PGresult *r;
	char *lit;

	if (set->tables) {
		lit = ec_pg_literal(s->conn, set->tables);
		/* Each name resolved through the search path, as psql would. */
		ec_buf_addf(&sql, "SELECT n.nspname, c.relname FROM unnest(string_to_array(%s, ',')) WITH ORDINALITY AS t(name, i) "
			    "JOIN pg_class c ON c.oid = trim(t.name)::regclass JOIN pg_namespace n ON n.oid = c.relnamespace ORDER BY t.i", lit);
	} else {
		lit = ec_pg_literal(s->conn, set->publication);
		ec_buf_addf(&sql, "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s ORDER BY 1, 2", lit);
	}
	free(lit);
	r = ec_pg_exec(s->conn, sql.buf, e);
	ec_buf_release(&sql);
	return r;
}

static int snap_begin(struct snap *s, const char *snapname, uint64_t *lsn, uint32_t *xmin, struct ec_pgerr *e)
{
	struct ec_buf sql = EC_BUF_INIT;
	PGresult *r;
	char *lit;

	r = ec_pg_exec(s->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", e);
	if (!r)
		return -1;
	PQclear(r);
	if (snapname) {
		lit = ec_pg_literal(s->conn, snapname);
		ec_buf_addf(&sql, "SET TRANSACTION SNAPSHOT %s", lit);
		free(lit);
		r = ec_pg_exec(s->conn, sql.buf, e);
		ec_buf_release(&sql);
		if (!r)
			return -1;
		PQclear(r);
	}
	r = ec_pg_exec(s->conn, "SELECT pg_current_wal_lsn()::text, pg_snapshot_xmin(pg_current_snapshot())::text", e);
	if (!r)
		return -1;
	if (!snapname)
		ec_lsn_parse(PQgetvalue(r, 0, 0), lsn);
	*xmin = (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	return 0;
}

int ec_pgsnap_read(const struct ec_pgsnap_conf *conf, const char *snapname, uint64_t lsn, struct ec_buf *out,
		   uint64_t *rows, struct ec_pgerr *e)
{
	struct snap s = { .conf = conf, .out = out };
	struct ec_pgevent_pos pos = { .snapshot = "true" };
	PGresult *tables = NULL, *r;
	uint32_t xmin = 0;
	int ret = -1, i;

	s.conn = ec_pg_connect(conf->dsn, 0, conf->appname, e);
	if (!s.conn)
		return -1;
	if (snap_begin(&s, snapname, &lsn, &xmin, e) < 0)
		goto cleanup;
	tables = snap_tables(&s, e);
	if (!tables)
		goto cleanup;
	pos.ts_ms = ec_wall_ms();
	pos.lsn = lsn;
	pos.xid = xmin;
	for (i = 0; i < PQntuples(tables) && ec_run; i++) {
		if (snap_table(&s, PQgetvalue(tables, i, 0), PQgetvalue(tables, i, 1), &pos, e) < 0)
			goto cleanup;
	}
	if (s.have_pending && ec_run) {
		memcpy(s.pending.buf + s.pending_mark, "last", 4);
		ec_buf_add(out, s.pending.buf, s.pending.len);
	}
	r = ec_pg_exec(s.conn, "COMMIT", e);
	if (!r)
		goto cleanup;
	PQclear(r);
	ec_info("snapshot: %" PRIu64 " rows from %d tables", s.rows, PQntuples(tables));
	ret = 0;
cleanup:
	*rows = s.rows;
	PQclear(tables);
	ec_buf_release(&s.pending);
	PQfinish(s.conn);
	return ret;
}
