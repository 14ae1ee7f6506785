/* ec-cdc.c: change data capture from PostgreSQL (pgoutput) as Debezium-compatible NDJSON. */
#include "ec.h"
#include "jsonw.h"
#include "log.h"
#include "opt.h"
#include "pgevent.h"
#include "pgoutput.h"
#include "pgrepl.h"
#include "pgsnap.h"
#include "pgspool.h"
#include "pgtype.h"
#include "source.h"
#include "timefmt.h"
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#define SYNOPSIS "ec-cdc [OPTION]...\n       ec-cdc status [OPTION]..."
#define DESCRIPTION \
	"Stream row changes of the tables in a PostgreSQL publication, read through a logical\n" \
	"replication slot with the built-in pgoutput plugin, as Debezium change events on stdout,\n" \
	"after an initial snapshot of the tables. 'ec-cdc status' prints slot health as NDJSON."

#define OUT_FLUSH_AT (64 * 1024)
#define SEC 1000LL

enum snapshot_mode { SNAP_DEFAULT, SNAP_INITIAL, SNAP_NEVER, SNAP_ONLY };

struct settings {
	const char *dsn;
	const char *slot;
	const char *publication;
	const char *tables;
	const char *name;
	int create_slot, temporary, drop_slot, create_publication, messages, stream_in_progress, tx_metadata;
	enum snapshot_mode snapshot;
	struct ec_pgsnap_where *wheres;
	size_t nwheres, wheres_alloc;
	struct ec_pgtype_opts types;
	int64_t heartbeat;		/* ms, 0 = off */
	int64_t status_interval;	/* ms */
	uint64_t fetch_size;
	int retries;
	const char *ack_path;
	int64_t checkpoint_interval;
};

static const struct settings default_settings = {
	.slot = "ec_cdc",
	.publication = "ec_cdc",
	.snapshot = SNAP_DEFAULT,
	.types = { 0, -1 },
	.status_interval = 10 * SEC,
	.fetch_size = 10000,
	.retries = 8,
	.checkpoint_interval = 5 * SEC,
};

struct cdc {
	const struct settings *set;
	struct ec_pgevent_conf ev;
	struct ec_source src;
	struct ec_buf out;
	PGconn *repl;
	struct ec_pgo_decoder dec;
	struct ec_pgspool *spool;	/* --stream-in-progress: transactions not yet committed */
	uint32_t stream_top;		/* the transaction of the current stream block */
	struct ec_pgerr *replay_err;
	char *dbname;

	/* --tx-metadata: the transaction being written */
	char tx_id[48];
	struct ec_pgevent_count *counts;
	size_t ncounts, counts_alloc;

	uint64_t written;	/* end of the last transaction fully written (or the start) */
	uint64_t confirmed;	/* the flush position last sent to the server */
	uint64_t acked;		/* --ack: the LSN in the ack file */
	uint64_t wal_end;	/* the server's, from keepalives and XLogData */
	uint64_t last_barrier;
	int barriers_sent;
	int in_tx;
	int prepared;		/* slot and snapshot done: reconnects only resume */
	struct ec_pgevent_pos pos;
	int64_t last_status_ns, last_activity_ns;
};

static const char *dsn_of(const struct settings *set)
{
	if (set->dsn)
		return set->dsn;
	return getenv("EC_PG_DSN");
}

/* ---- Output ---- */

static void out_flush(struct cdc *c)
{
	if (c->out.len) {
		ec_out_write(c->out.buf, c->out.len);
		ec_buf_reset(&c->out);
	}
	ec_out_flush();
}

static inline void out_maybe_flush(struct cdc *c)
{
	if (c->out.len >= OUT_FLUSH_AT) {
		ec_out_write(c->out.buf, c->out.len);
		ec_buf_reset(&c->out);
	}
}

/* ---- Snapshot ---- */

/* The tables as they are in SNAPNAME (NULL: now), as op "r" events at LSN. */
static int snapshot(struct cdc *c, const char *snapname, uint64_t lsn, struct ec_pgerr *e)
{
	const struct settings *set = c->set;
	struct ec_pgsnap_conf conf = {
		.dsn = dsn_of(set),
		.appname = "ec-cdc snapshot",
		.tables = set->tables,
		.publication = set->publication,
		.wheres = set->wheres,
		.nwheres = set->nwheres,
		.fetch_size = set->fetch_size,
		.ev = &c->ev,
	};
	uint64_t rows;
	int ret = ec_pgsnap_read(&conf, snapname, lsn, &c->out, &rows, e);

	out_flush(c);
	return ret;
}

/* ---- Checkpoints and standby status ---- */

/* The flush position to confirm: the acked LSN with --ack, else what stdout has. Never backwards. */
static uint64_t flush_position(struct cdc *c)
{
	uint64_t f;

	if (c->set->ack_path) {
		f = c->acked;
	} else {
		out_flush(c);
		f = c->written;
	}
	return f > c->confirmed ? f : c->confirmed;
}

static int send_status(struct cdc *c, uint64_t flush, struct ec_pgerr *e)
{
	uint64_t written = c->written > flush ? c->written : flush;

	if (ec_pg_send_status(c->repl, written, flush, 0, e) < 0)
		return -1;
	if (flush != c->confirmed) {
		char lsn[EC_LSN_BUFSZ];

		ec_lsn_format(flush, lsn);
		ec_debug("confirmed %s", lsn);
	}
	c->confirmed = flush;
	c->last_status_ns = ec_mono_ns();
	return 0;
}

/* An ack file "pos" is a JSON string "X/Y". */
static int parse_ack_pos(const char *pos, uint64_t *lsn)
{
	size_t n = pos ? strlen(pos) : 0;
	char buf[64];

	if (n < 3 || n >= sizeof(buf) || pos[0] != '"' || pos[n - 1] != '"')
		return -1;
	memcpy(buf, pos + 1, n - 2);
	buf[n - 2] = '\0';
	return ec_lsn_parse(buf, lsn);
}

/* A barrier at the end of the last whole transaction; confirm the ack file's LSN when it moved. */
static int barrier(struct cdc *c, struct ec_pgerr *e)
{
	char lsn[EC_LSN_BUFSZ], pos[EC_LSN_BUFSZ + 2];
	uint64_t acked;
	int moved;

	ec_lsn_format(c->written, lsn);
	snprintf(pos, sizeof(pos), "\"%s\"", lsn);
	moved = ec_source_barrier(&c->src, pos, &c->out);
	c->last_barrier = c->written;
	c->barriers_sent = 1;
	out_flush(c);
	if (!moved)
		return 0;
	if (parse_ack_pos(c->src.acked_pos, &acked) < 0) {
		ec_warn("%s: \"pos\" is not an LSN string like \"0/16B3748\": %s", c->set->ack_path,
			c->src.acked_pos ? c->src.acked_pos : "null");
		return 0;
	}
	c->acked = acked;
	return c->repl ? send_status(c, flush_position(c), e) : 0;
}

/*
 * Between messages: barriers that are due, the regular standby status, and
 * the heartbeat that moves an idle slot to the server's WAL end.
 */
static int housekeeping(struct cdc *c, int idle, struct ec_pgerr *e)
{
	const struct settings *set = c->set;
	int64_t now;
	uint64_t flush;

	if (c->in_tx)
		return 0;
	if (set->ack_path && ec_source_due(&c->src) && barrier(c, e) < 0)
		return -1;
	now = ec_mono_ns();
	if (idle && set->heartbeat && c->wal_end > c->written &&
	    now - c->last_activity_ns >= set->heartbeat * 1000000 &&
	    (!set->ack_path || c->acked >= c->written)) {
		/* Nothing published changed up to the server's WAL end: nothing to replay before it. */
		c->written = c->wal_end;
		if (set->ack_path)
			c->acked = c->wal_end;
		c->last_activity_ns = now;
		return send_status(c, flush_position(c), e);
	}
	if (now - c->last_status_ns >= set->status_interval * 1000000)
		return send_status(c, flush_position(c), e);
	/* Idle: confirm what is new, though not more than ten times a second under a trickle of commits. */
	if (!idle || now - c->last_status_ns < 100000000)
		return 0;
	flush = flush_position(c);
	return flush != c->confirmed ? send_status(c, flush, e) : 0;
}

/* ---- Streaming ---- */

/* --tx-metadata: the event's place in its transaction and in its table's share of it. */
static void count_event(struct cdc *c, const struct ec_pgo_relation *rel)
{
	size_t i;

	if (!c->set->tx_metadata)
		return;
	for (i = 0; i < c->ncounts && c->counts[i].rel != rel; i++)
		;
	if (i == c->ncounts) {
		EC_GROW(c->counts, c->ncounts + 1, c->counts_alloc);
		c->counts[c->ncounts].rel = rel;
		c->counts[c->ncounts++].events = 0;
	}
	c->pos.total_order++;
	c->pos.collection_order = ++c->counts[i].events;
}

static void event(struct cdc *c, struct ec_pgo_relation *rel, char op, const struct ec_pgo_tuple *before,
		  const struct ec_pgo_tuple *after)
{
	count_event(c, rel);
	ec_pgevent_row(&c->out, &c->ev, rel, op, before, after, &c->pos);
	out_maybe_flush(c);
}

static void row(struct cdc *c, const struct ec_pgo_msg *m, char op, const struct ec_pgo_tuple *before,
		const struct ec_pgo_tuple *after)
{
	event(c, m->rel, op, before, after);
}

/* A transaction starts being written: its id, and with --tx-metadata its BEGIN record. */
static void tx_begin(struct cdc *c, uint32_t xid, uint64_t lsn, int64_t time_us)
{
	c->in_tx = 1;
	c->pos.ts_ms = ec_pgo_time_ms(time_us);
	c->pos.xid = xid;
	c->pos.last_commit_lsn = c->written;
	if (!c->set->tx_metadata)
		return;
	/* Debezium's id for PostgreSQL: "txId:LSN" (the commit's). */
	snprintf(c->tx_id, sizeof(c->tx_id), "%" PRIu32 ":%" PRIu64, xid, lsn);
	c->pos.tx_id = c->tx_id;
	c->pos.total_order = 0;
	c->ncounts = 0;
	ec_pgevent_tx_begin(&c->out, c->tx_id, c->pos.ts_ms);
}

static void tx_end(struct cdc *c)
{
	if (c->set->tx_metadata && c->in_tx)
		ec_pgevent_tx_end(&c->out, c->tx_id, c->pos.ts_ms, c->pos.total_order, c->counts, c->ncounts);
	c->in_tx = 0;
}

static void truncate_rows(struct cdc *c, const struct ec_pgo_msg *m)
{
	struct ec_pgo_relation *rel;
	uint32_t oid;
	int i;

	for (i = 0; i < m->nrelids; i++) {
		oid = (uint32_t)m->relids[4 * i] << 24 | (uint32_t)m->relids[4 * i + 1] << 16 |
		      (uint32_t)m->relids[4 * i + 2] << 8 | m->relids[4 * i + 3];
		rel = ec_pgo_relation(&c->dec, oid);
		if (rel)
			event(c, rel, 't', NULL, NULL);
	}
}

/*
 * An unchanged TOASTed value is not sent; with REPLICA IDENTITY FULL the
 * old row carries it, so the new row is whole after all.
 */
static void fill_unchanged(const struct ec_pgo_msg *m)
{
	int i, n = m->newt.ncols < m->oldt.ncols ? m->newt.ncols : m->oldt.ncols;

	if (m->old_kind != 'O')
		return;
	for (i = 0; i < n; i++)
		if (m->newt.cols[i].kind == 'u' && m->oldt.cols[i].kind == 't')
			m->newt.cols[i] = m->oldt.cols[i];
}

static int stream_commit(struct cdc *c, const struct ec_pgo_msg *m, struct ec_pgerr *e);

static int on_message(struct cdc *c, const struct ec_pgo_msg *m, struct ec_pgerr *e)
{
	switch (m->type) {
	case EC_PGO_BEGIN:
		tx_begin(c, m->xid, m->lsn, m->time_us);
		break;
	case EC_PGO_COMMIT:
		tx_end(c);
		c->written = m->end_lsn;
		c->last_activity_ns = ec_mono_ns();
		return housekeeping(c, 0, e);
	case EC_PGO_INSERT:
		row(c, m, 'c', NULL, &m->newt);
		break;
	case EC_PGO_UPDATE:
		fill_unchanged(m);
		row(c, m, 'u', m->old_kind ? &m->oldt : NULL, &m->newt);
		break;
	case EC_PGO_DELETE:
		row(c, m, 'd', &m->oldt, NULL);
		break;
	case EC_PGO_TRUNCATE:
		truncate_rows(c, m);
		break;
	case EC_PGO_MESSAGE:
		if (m->transactional)
			ec_pgevent_message(&c->out, &c->ev, m->prefix, m->content, m->content_len, &c->pos);
		break;
	case EC_PGO_STREAM_START:
		c->stream_top = m->xid;
		break;
	case EC_PGO_STREAM_COMMIT:
		return stream_commit(c, m, e);
	case EC_PGO_STREAM_ABORT:
		ec_pgspool_abort(c->spool, m->xid, m->subxid);
		break;
	default:	/* Relation (cached by the decoder), Type, Origin, Stream Stop */
		break;
	}
	return 0;
}

/* One spooled change of a streamed transaction, decoded now that its commit time is known. */
static int replay_one(void *ctx, uint64_t lsn, const char *data, size_t n)
{
	struct cdc *c = ctx;
	struct ec_pgo_msg m;
	char err[256];

	if (ec_pgo_decode(&c->dec, data, n, &m, err, sizeof(err)) < 0) {
		ec_pgerr_set(c->replay_err, EX_PROTOCOL, 0, "%s", err);
		return -2;
	}
	c->pos.lsn = lsn;
	/* -2: the error is in replay_err already, unlike the spool's own -1. */
	return on_message(c, &m, c->replay_err) < 0 ? -2 : 0;
}

/* Stream Commit: the spooled transaction written out whole, as a Begin ... Commit would be. */
static int stream_commit(struct cdc *c, const struct ec_pgo_msg *m, struct ec_pgerr *e)
{
	char err[256];
	int rc;

	tx_begin(c, m->xid, m->lsn, m->time_us);
	c->replay_err = e;
	/* Spooled changes carry their transaction id, as they did inside the stream. */
	c->dec.in_stream = 1;
	rc = ec_pgspool_commit(c->spool, m->xid, replay_one, c, err, sizeof(err));
	c->dec.in_stream = 0;
	if (rc == -1)
		ec_pgerr_set(e, EX_IOERR, 0, "%s", err);
	if (rc)
		return -1;
	tx_end(c);
	c->written = m->end_lsn;
	c->last_activity_ns = ec_mono_ns();
	return housekeeping(c, 0, e);
}

static int is_change(char type)
{
	return type == EC_PGO_INSERT || type == EC_PGO_UPDATE || type == EC_PGO_DELETE ||
	       type == EC_PGO_TRUNCATE || type == EC_PGO_MESSAGE;
}

static int on_copy_data(struct cdc *c, const char *buf, int n, struct ec_pgerr *e)
{
	struct ec_pgo_msg m;
	char err[256];
	uint64_t end;

	if (buf[0] == 'k' && n >= 18) {
		end = ec_pg_get64(buf + 1);
		if (end > c->wal_end)
			c->wal_end = end;
		if (buf[17])
			return send_status(c, flush_position(c), e);
		return 0;
	}
	if (buf[0] != 'w' || n < 25) {
		ec_pgerr_set(e, EX_PROTOCOL, 0, "unexpected replication message '%c' (%d bytes)", buf[0], n);
		return -1;
	}
	end = ec_pg_get64(buf + 9);
	if (end > c->wal_end)
		c->wal_end = end;
	if (ec_pgo_decode(&c->dec, buf + 25, (size_t)n - 25, &m, err, sizeof(err)) < 0) {
		ec_pgerr_set(e, EX_PROTOCOL, 0, "%s", err);
		return -1;
	}
	c->pos.lsn = ec_pg_get64(buf + 1);
	if (c->dec.in_stream && is_change(m.type)) {
		/* Not committed yet: kept until its Stream Commit says when it was. */
		if (ec_pgspool_add(c->spool, c->stream_top, m.xid, c->pos.lsn, buf + 25, (size_t)n - 25,
				   err, sizeof(err)) < 0) {
			ec_pgerr_set(e, EX_IOERR, 0, "%s", err);
			return -1;
		}
		return 0;
	}
	return on_message(c, &m, e);
}

/* Wait for the server at most until the next barrier or a second, whichever is first. */
static int wait_input(struct cdc *c, struct ec_pgerr *e)
{
	/* stdout too: a reader that went away (head) ends an idle stream, not only the next write. */
	struct pollfd pfd[2] = { { PQsocket(c->repl), POLLIN, 0 }, { STDOUT_FILENO, 0, 0 } };
	int timeout = 1000, w;

	if (c->set->ack_path) {
		w = ec_source_wait_ms(&c->src);
		if (w >= 0 && w < timeout)
			timeout = w;
	}
	if (poll(pfd, 2, timeout) < 0 && errno != EINTR) {
		ec_pgerr_set(e, EX_OSERR, 0, "poll: %s", strerror(errno));
		return -1;
	}
	if (pfd[1].revents & (POLLERR | POLLHUP))
		ec_exit(0);
	if (!PQconsumeInput(c->repl)) {
		ec_pgerr_from_conn(e, c->repl, "replication connection");
		e->retry = 1;
		return -1;
	}
	return 0;
}

/* The copy stream ended (the server stopped or failed): why. */
static void stream_ended(struct cdc *c, struct ec_pgerr *e)
{
	PGresult *r = PQgetResult(c->repl);

	if (r && PQresultStatus(r) == PGRES_FATAL_ERROR)
		ec_pgerr_from_result(e, c->repl, r, "replication stream");
	else
		ec_pgerr_set(e, EX_UNAVAILABLE, 1, "replication stream: the server ended it");
	PQclear(r);
}

/* Read until stopped. 0 on a stop signal (between transactions), -1 with E. */
static int stream(struct cdc *c, struct ec_pgerr *e)
{
	char *buf;
	int n;

	for (;;) {
		if (!ec_run && !c->in_tx)
			return 0;
		n = PQgetCopyData(c->repl, &buf, 1);
		if (n == 0) {
			/* Nothing complete in libpq's buffer: read what the socket has, without waiting. */
			if (!PQconsumeInput(c->repl))
				n = -2;
			else
				n = PQgetCopyData(c->repl, &buf, 1);
		}
		if (n > 0) {
			int rc = on_copy_data(c, buf, n, e);

			PQfreemem(buf);
			if (rc < 0)
				return -1;
			continue;
		}
		if (n == -1) {
			stream_ended(c, e);
			return -1;
		}
		if (n == -2) {
			ec_pgerr_from_conn(e, c->repl, "replication connection");
			e->retry = 1;
			return -1;
		}
		/* Really idle: the reader gets everything so far before we wait. */
		out_flush(c);
		if (housekeeping(c, 1, e) < 0 || wait_input(c, e) < 0)
			return -1;
	}
}

/* ---- Slots, publications and the start position ---- */

static int ensure_publication(struct cdc *c, struct ec_pgerr *e)
{
	const struct settings *set = c->set;
	int exists;

	if (ec_pg_publication_exists(c->repl, set->publication, &exists, e) < 0)
		return -1;
	if (exists)
		return 0;
	if (!set->create_publication) {
		ec_pgerr_set(e, EX_CONFIG, 0, "publication \"%s\" does not exist in database \"%s\" (create it with "
			     "CREATE PUBLICATION %s FOR TABLE ..., or pass --create-publication [--tables LIST])",
			     set->publication, c->dbname, set->publication);
		return -1;
	}
	if (ec_pg_create_publication(c->repl, set->publication, set->tables, e) < 0)
		return -1;
	ec_info("created publication %s", set->publication);
	return 0;
}

static int check_slot(struct cdc *c, const struct ec_pg_slot *slot, struct ec_pgerr *e)
{
	const struct settings *set = c->set;

	if (slot->lost) {
		ec_pgerr_set(e, EX_CONFIG, 0, "replication slot \"%s\" is lost (wal_status lost: the WAL it "
			     "needed was removed); drop it with --drop-slot and start again with --create-slot, "
			     "which snapshots the tables anew", set->slot);
		return -1;
	}
	if (strcmp(slot->plugin, "pgoutput")) {
		ec_pgerr_set(e, EX_CONFIG, 0, "replication slot \"%s\" uses plugin '%s'; ec-cdc reads pgoutput "
			     "(use another --slot)", set->slot, slot->plugin);
		return -1;
	}
	if (strcmp(slot->database, c->dbname)) {
		ec_pgerr_set(e, EX_CONFIG, 0, "replication slot \"%s\" belongs to database \"%s\", not \"%s\"",
			     set->slot, slot->database, c->dbname);
		return -1;
	}
	if (slot->active) {
		ec_pgerr_set(e, EX_UNAVAILABLE, 1, "replication slot \"%s\" is active: another consumer "
			     "reads it (stop it, or use another --slot)", set->slot);
		return -1;
	}
	return 0;
}

/* A new slot, and with --snapshot initial the tables as of its consistent point. */
static int new_slot(struct cdc *c, int recreate, struct ec_pgerr *e)
{
	const struct settings *set = c->set;
	int want_snapshot = set->snapshot != SNAP_NEVER;
	char *snapname = NULL, lsn[EC_LSN_BUFSZ];
	uint64_t consistent;
	int ret;

	if (!set->create_slot && !set->temporary && !recreate) {
		ec_pgerr_set(e, EX_CONFIG, 0, "replication slot \"%s\" does not exist (pass --create-slot to "
			     "create it, or --temporary for one that lives as long as the connection)", set->slot);
		return -1;
	}
	if (ec_pg_create_slot(c->repl, set->slot, set->temporary, want_snapshot ? &snapname : NULL,
			      &consistent, e) < 0)
		return -1;
	ec_lsn_format(consistent, lsn);
	ec_info("created replication slot %s at %s", set->slot, lsn);
	c->written = consistent;
	if (!want_snapshot)
		return 0;
	ret = snapshot(c, snapname, consistent, e);
	free(snapname);
	return ret;
}

/* First connection: checks, publication, slot and maybe the snapshot; sets where to start. */
static int prepare(struct cdc *c, struct ec_pgerr *e)
{
	const struct settings *set = c->set;
	struct ec_pg_slot slot;
	uint64_t xlogpos;
	int recreate = 0;

	free(c->dbname);	/* from an earlier attempt */
	c->dbname = NULL;
	if (ec_pg_check_wal_level(c->repl, e) < 0 || ec_pg_identify(c->repl, &c->dbname, &xlogpos, e) < 0)
		return -1;
	c->ev.db = c->dbname;
	c->ev.name = c->set->name ? c->set->name : c->dbname;
	if (ensure_publication(c, e) < 0 || ec_pg_slot_info(c->repl, set->slot, &slot, e) < 0)
		return -1;
	if (slot.exists && check_slot(c, &slot, e) < 0)
		return -1;
	if (slot.exists && set->ack_path && !c->src.acked_pos && set->snapshot != SNAP_NEVER) {
		/* The last run died before its snapshot was acknowledged: it cannot be resumed, only redone. */
		ec_warn("replication slot %s exists but %s has no position: dropping the slot to snapshot again",
			set->slot, set->ack_path);
		if (ec_pg_drop_slot(c->repl, set->slot, e) < 0)
			return -1;
		slot.exists = 0;
		recreate = 1;
	}
	if (!slot.exists)
		return new_slot(c, recreate, e);
	c->written = set->ack_path && c->src.acked_pos ? c->acked : slot.confirmed_flush;
	return 0;
}

static int connect_and_start(struct cdc *c, int first, struct ec_pgerr *e)
{
	const struct settings *set = c->set;
	struct ec_pg_slot slot;
	char lsn[EC_LSN_BUFSZ];

	c->repl = ec_pg_connect(dsn_of(set), 1, "ec-cdc", e);
	if (!c->repl)
		return -1;
	if (first) {
		if (prepare(c, e) < 0)
			return -1;
		c->prepared = 1;
	} else {
		if (ec_pg_slot_info(c->repl, set->slot, &slot, e) < 0)
			return -1;
		if (!slot.exists) {
			ec_pgerr_set(e, EX_UNAVAILABLE, 0, "replication slot \"%s\" is gone%s", set->slot,
				     set->temporary ? " (a --temporary slot ends with its connection)" : "");
			return -1;
		}
		if (check_slot(c, &slot, e) < 0)
			return -1;
	}
	if (ec_pg_start(c->repl, set->slot, c->written, set->publication, set->stream_in_progress ? 2 : 1,
			set->messages, e) < 0)
		return -1;
	ec_lsn_format(c->written, lsn);
	ec_info("streaming from slot %s at %s", set->slot, lsn);
	c->last_status_ns = c->last_activity_ns = ec_mono_ns();
	return 0;
}

static void disconnect(struct cdc *c)
{
	PQfinish(c->repl);
	c->repl = NULL;
	/* A Relation message comes again before the first change of each table. */
	ec_pgo_release(&c->dec);
	ec_pgo_init(&c->dec, c->set->stream_in_progress);
	c->dec.user_free = ec_pgevent_rel_free;
	c->in_tx = 0;
	/* Transactions still in progress are streamed again from their start. */
	ec_pgspool_clear(c->spool);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	/* A stop signal cuts the sleep short (EINTR); the caller sees ec_run. */
	nanosleep(&ts, NULL);
}

/* Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... at most 30 s. */
static int64_t backoff_ms(int attempt)
{
	int64_t ms = 500LL << (attempt < 6 ? attempt : 6);

	if (ms > 30 * SEC)
		ms = 30 * SEC;
	return ms / 2 + (int64_t)((uint64_t)rand() % (uint64_t)(ms / 2 + 1));
}

/* Connect (again) until it works, a retry cannot help, or retries run out. */
static int connect_retrying(struct cdc *c, int first, struct ec_pgerr *e)
{
	int attempt;

	for (attempt = 0;; attempt++) {
		if (connect_and_start(c, first && !c->prepared, e) == 0)
			return 0;
		disconnect(c);
		if (!e->retry || !ec_run)
			return -1;
		if (attempt >= c->set->retries) {
			e->status = EX_UNAVAILABLE;
			snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg),
				 " (gave up after %d retries)", attempt);
			return -1;
		}
		ec_warn("%s; retrying", e->msg);
		sleep_ms(backoff_ms(attempt));
	}
}

/* ---- Commands ---- */

static int fail(const struct ec_pgerr *e)
{
	ec_error("%s", e->msg);
	return e->status ? e->status : EX_UNAVAILABLE;
}

static int restore(struct cdc *c)
{
	int ret = ec_source_init(&c->src, c->set->ack_path, c->set->checkpoint_interval);

	if (ret)
		return ret;
	if (c->src.acked_pos && parse_ack_pos(c->src.acked_pos, &c->acked) < 0) {
		ec_error("%s: \"pos\" must be an LSN string like \"0/16B3748\" for ec-cdc, not %s",
			 c->set->ack_path, c->src.acked_pos);
		return EX_DATAERR;
	}
	ec_source_restore(&c->src, &c->out);
	return 0;
}

static void finish(struct cdc *c, int ok)
{
	struct ec_pgerr e;

	if (ok && c->set->ack_path && !c->in_tx && (!c->barriers_sent || c->written != c->last_barrier))
		barrier(c, &e);
	out_flush(c);
	if (ok && c->repl && send_status(c, flush_position(c), &e) == 0) {
		PQputCopyEnd(c->repl, NULL);
		PQflush(c->repl);
	}
	disconnect(c);
}

static int run(const struct settings *set)
{
	struct cdc c;
	struct ec_pgerr e;
	int status = 0;

	memset(&c, 0, sizeof(c));
	memset(&e, 0, sizeof(e));
	c.set = set;
	c.ev.name = set->name;
	c.ev.types = set->types;
	c.pos.snapshot = "false";
	ec_pgo_init(&c.dec, set->stream_in_progress);
	c.dec.user_free = ec_pgevent_rel_free;
	c.spool = ec_pgspool_new();
	srand((unsigned)(ec_mono_ns() ^ getpid()));
	status = restore(&c);
	while (!status && ec_run) {
		if (connect_retrying(&c, 1, &e) < 0) {
			status = ec_run ? fail(&e) : 0;
			break;
		}
		if (stream(&c, &e) == 0)
			break;
		if (!e.retry) {
			status = fail(&e);
			break;
		}
		ec_warn("%s; reconnecting", e.msg);
		/* Keep what was written: the next connection resumes after its last whole transaction. */
		out_flush(&c);
		disconnect(&c);
	}
	finish(&c, status == 0);
	ec_pgo_release(&c.dec);
	ec_pgspool_free(c.spool);
	free(c.counts);
	ec_buf_release(&c.out);
	ec_source_release(&c.src);
	free(c.dbname);
	return status;
}

static int snapshot_only(const struct settings *set)
{
	struct cdc c;
	struct ec_pgerr e;
	PGconn *conn;
	int status = 0;

	memset(&c, 0, sizeof(c));
	c.set = set;
	c.ev.types = set->types;
	conn = ec_pg_connect(dsn_of(set), 0, "ec-cdc", &e);
	if (!conn)
		return fail(&e);
	c.dbname = xstrdup(PQdb(conn));
	PQfinish(conn);
	c.ev.db = c.dbname;
	c.ev.name = set->name ? set->name : c.dbname;
	if (snapshot(&c, NULL, 0, &e) < 0)
		status = fail(&e);
	ec_buf_release(&c.out);
	free(c.dbname);
	return status;
}

static int drop_slot(const struct settings *set)
{
	struct ec_pgerr e;
	struct ec_pg_slot slot;
	PGconn *conn = ec_pg_connect(dsn_of(set), 1, "ec-cdc", &e);
	int status = 0;

	if (!conn)
		return fail(&e);
	if (ec_pg_slot_info(conn, set->slot, &slot, &e) < 0)
		status = fail(&e);
	else if (!slot.exists)
		ec_info("replication slot %s does not exist: nothing to drop", set->slot);
	else if (ec_pg_drop_slot(conn, set->slot, &e) < 0)
		status = fail(&e);
	else
		ec_info("dropped replication slot %s", set->slot);
	PQfinish(conn);
	return status;
}

static void status_field(struct ec_buf *b, PGresult *r, int row, int col, const char *key, char type)
{
	ec_buf_addch(b, col ? ',' : '{');
	ec_jsonw_key(b, key);
	if (PQgetisnull(r, row, col))
		ec_buf_addstr(b, "null");
	else if (type == 'b')
		ec_buf_addstr(b, PQgetvalue(r, row, col)[0] == 't' ? "true" : "false");
	else if (type == 'n')
		ec_buf_addstr(b, PQgetvalue(r, row, col));
	else
		ec_jsonw_cstr(b, PQgetvalue(r, row, col));
}

/* ec-cdc status: one line per logical slot with how much WAL it holds back. */
static int slot_status(const struct settings *set, int slot_given)
{
	static const struct { const char *key; char type; } cols[] = {
		{ "slot", 's' }, { "plugin", 's' }, { "database", 's' }, { "active", 'b' },
		{ "restart_lsn", 's' }, { "confirmed_flush_lsn", 's' }, { "retained_bytes", 'n' },
		{ "wal_status", 's' }, { "lag_bytes", 'n' },
	};
	struct ec_buf sql = EC_BUF_INIT, out = EC_BUF_INIT;
	struct ec_pgerr e;
	PGconn *conn = ec_pg_connect(dsn_of(set), 0, "ec-cdc status", &e);
	PGresult *r;
	int i, j, status = 0;
	char *lit;

	if (!conn)
		return fail(&e);
	ec_buf_addstr(&sql, "SELECT slot_name, plugin, database, active, restart_lsn::text, confirmed_flush_lsn::text, "
		      "pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, wal_status, "
		      "pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint "
		      "FROM pg_replication_slots WHERE slot_type = 'logical'");
	if (slot_given) {
		lit = ec_pg_literal(conn, set->slot);
		ec_buf_addf(&sql, " AND slot_name = %s", lit);
		free(lit);
	}
	ec_buf_addstr(&sql, " ORDER BY slot_name");
	r = ec_pg_exec(conn, sql.buf, &e);
	if (!r) {
		status = fail(&e);
	} else {
		for (i = 0; i < PQntuples(r); i++) {
			for (j = 0; j < (int)EC_ARRAY_SIZE(cols); j++)
				status_field(&out, r, i, j, cols[j].key, cols[j].type);
			ec_buf_addstr(&out, "}\n");
		}
		if (slot_given && PQntuples(r) == 0) {
			ec_error("replication slot \"%s\" does not exist", set->slot);
			status = EX_CONFIG;
		}
		PQclear(r);
		if (out.len)
			ec_out_buf(&out);
	}
	PQfinish(conn);
	ec_buf_release(&sql);
	ec_buf_release(&out);
	return status;
}

/* ---- Options ---- */

enum {
	OPT_CREATE_SLOT = EC_OPT_TOOL_BASE,
	OPT_TEMPORARY,
	OPT_DROP_SLOT,
	OPT_CREATE_PUBLICATION,
	OPT_SNAPSHOT,
	OPT_WHERE,
	OPT_NAME,
	OPT_DECIMAL,
	OPT_TIME_UNIT,
	OPT_HEARTBEAT,
	OPT_STATUS_INTERVAL,
	OPT_FETCH_SIZE,
	OPT_MESSAGES,
	OPT_STREAM_IN_PROGRESS,
	OPT_TX_METADATA,
	OPT_RETRIES,
	OPT_ACK,
	OPT_CHECKPOINT_INTERVAL,
};

static const struct ec_opt cdc_opts[] = {
	{ "dsn", required_argument, 'd', "DSN", "libpq connection string or URI (else EC_PG_DSN, else the PG* variables)" },
	{ "slot", required_argument, 's', "NAME", "logical replication slot (default ec_cdc)" },
	{ "create-slot", no_argument, OPT_CREATE_SLOT, NULL, "create the slot if it does not exist" },
	{ "temporary", no_argument, OPT_TEMPORARY, NULL, "use a temporary slot that ends with the connection" },
	{ "drop-slot", no_argument, OPT_DROP_SLOT, NULL, "drop the slot and exit" },
	{ "publication", required_argument, 'p', "NAME", "publication to stream (default ec_cdc)" },
	{ "create-publication", no_argument, OPT_CREATE_PUBLICATION, NULL, "create the publication if missing (--tables, or all tables)" },
	{ "tables", required_argument, 't', "LIST", "comma list of tables for --create-publication and --snapshot only" },
	{ "snapshot", required_argument, OPT_SNAPSHOT, "initial|never|only", "read the tables first (default initial for a new slot)" },
	{ "where", required_argument, OPT_WHERE, "TABLE:COND", "snapshot only the rows of TABLE where the SQL COND holds (repeatable)" },
	{ "name", required_argument, OPT_NAME, "NAME", "source.name of the events (default the database name)" },
	{ "decimal", required_argument, OPT_DECIMAL, "string|number", "numeric values as exact strings (default) or numbers" },
	{ "time-unit", required_argument, OPT_TIME_UNIT, "s|ms|us|ns", "timestamps as numbers since the epoch (default RFC 3339 text)" },
	{ "heartbeat", required_argument, OPT_HEARTBEAT, "DURATION", "confirm the server's WAL end after DURATION without changes" },
	{ "status-interval", required_argument, OPT_STATUS_INTERVAL, "DURATION", "standby status at least this often (default 10s)" },
	{ "fetch-size", required_argument, OPT_FETCH_SIZE, "N", "snapshot rows fetched per round trip (default 10000)" },
	{ "messages", no_argument, OPT_MESSAGES, NULL, "also emit transactional pg_logical_emit_message() records (op m)" },
	{ "stream-in-progress", no_argument, OPT_STREAM_IN_PROGRESS, NULL, "protocol 2: large transactions reach ec-cdc before their commit (PostgreSQL 14+)" },
	{ "tx-metadata", no_argument, OPT_TX_METADATA, NULL, "transaction BEGIN and END records, and a transaction block in events" },
	{ "retries", required_argument, OPT_RETRIES, "N", "reconnects after a lost connection, exponential backoff (default 8)" },
	{ "ack", required_argument, OPT_ACK, "FILE", "checkpoints: resume after the LSN acknowledged in FILE" },
	{ "checkpoint-interval", required_argument, OPT_CHECKPOINT_INTERVAL, "DURATION", "barrier every DURATION of wall clock (default 5s)" },
	EC_OPTS_COMMON,
	{ NULL, 0, 0, NULL, NULL },
};

static enum snapshot_mode parse_snapshot(const char *arg)
{
	if (!strcmp(arg, "initial"))
		return SNAP_INITIAL;
	if (!strcmp(arg, "never"))
		return SNAP_NEVER;
	if (!strcmp(arg, "only"))
		return SNAP_ONLY;
	ec_usage_error("--snapshot must be initial, never or only, not '%s'", arg);
}

static void add_where(struct settings *set, const char *arg)
{
	const char *colon = strchr(arg, ':');
	struct ec_pgsnap_where *w;

	if (!colon || colon == arg || !colon[1])
		ec_usage_error("--where must be TABLE:CONDITION, e.g. 'orders:created_at >= now() - interval ''1 day''', not '%s'", arg);
	EC_GROW(set->wheres, set->nwheres + 1, set->wheres_alloc);
	w = &set->wheres[set->nwheres++];
	w->table = arg;
	w->table_len = (size_t)(colon - arg);
	w->cond = colon + 1;
}

static void parse_option(struct settings *set, int c, const char *arg)
{
	enum ec_time_unit unit;

	switch (c) {
	case 'd': set->dsn = arg; break;
	case 's': set->slot = arg; break;
	case 'p': set->publication = arg; break;
	case 't': set->tables = arg; break;
	case OPT_CREATE_SLOT: set->create_slot = 1; break;
	case OPT_TEMPORARY: set->temporary = 1; break;
	case OPT_DROP_SLOT: set->drop_slot = 1; break;
	case OPT_CREATE_PUBLICATION: set->create_publication = 1; break;
	case OPT_SNAPSHOT: set->snapshot = parse_snapshot(arg); break;
	case OPT_WHERE: add_where(set, arg); break;
	case OPT_NAME: set->name = arg; break;
	case OPT_DECIMAL:
		if (strcmp(arg, "string") && strcmp(arg, "number"))
			ec_usage_error("--decimal must be string or number, not '%s'", arg);
		set->types.decimal_number = !strcmp(arg, "number");
		break;
	case OPT_TIME_UNIT:
		if (ec_time_unit_parse(arg, &unit) < 0)
			ec_usage_error("--time-unit must be s, ms, us or ns, not '%s'", arg);
		set->types.time_unit = (int)unit;
		break;
	case OPT_HEARTBEAT: set->heartbeat = ec_opt_duration("heartbeat", arg); break;
	case OPT_STATUS_INTERVAL: set->status_interval = ec_opt_interval("status-interval", arg); break;
	case OPT_FETCH_SIZE: set->fetch_size = ec_opt_count("fetch-size", arg, 1, 10000000); break;
	case OPT_MESSAGES: set->messages = 1; break;
	case OPT_STREAM_IN_PROGRESS: set->stream_in_progress = 1; break;
	case OPT_TX_METADATA: set->tx_metadata = 1; break;
	case OPT_RETRIES: set->retries = (int)ec_opt_count("retries", arg, 0, 1000); break;
	case OPT_ACK: set->ack_path = arg; break;
	case OPT_CHECKPOINT_INTERVAL:
		set->checkpoint_interval = ec_opt_interval("checkpoint-interval", arg);
		break;
	default:
		ec_usage_error("unhandled option");
	}
}

static void check_settings(struct settings *set, int interval_given)
{
	if (!*set->slot || !*set->publication)
		ec_usage_error("--slot and --publication cannot be empty");
	if (set->nwheres && set->snapshot != SNAP_ONLY && set->snapshot != SNAP_INITIAL)
		ec_usage_error("--where applies to a snapshot: --snapshot only or initial");
	if (set->snapshot == SNAP_ONLY && set->ack_path)
		ec_usage_error("--ack does not apply to --snapshot only (a backfill is re-run whole)");
	if (!set->ack_path && interval_given)
		ec_usage_error("--checkpoint-interval needs --ack");
	if (set->temporary && set->ack_path)
		ec_usage_error("--temporary cannot resume, so it does not go with --ack");
	if (set->tables && !set->create_publication && set->snapshot != SNAP_ONLY)
		ec_usage_error("--tables applies to --create-publication and --snapshot only");
	if (set->status_interval <= 0)
		set->status_interval = 10 * SEC;
}

int cmd_main(int argc, char **argv)
{
	struct settings set = default_settings;
	struct ec_optparser parser;
	int c, interval_given = 0, slot_given = 0, is_status = 0, ret;

	if (argc > 1 && !strcmp(argv[1], "status")) {
		is_status = 1;
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	ec_optparser_init(&parser, cdc_opts);
	while ((c = ec_optparser_next(&parser, argc, argv)) != -1) {
		if (ec_opt_common(c, optarg, SYNOPSIS, DESCRIPTION, cdc_opts))
			continue;
		slot_given |= c == 's';
		interval_given |= c == OPT_CHECKPOINT_INTERVAL;
		parse_option(&set, c, optarg);
	}
	ec_optparser_release(&parser);
	if (optind < argc)
		ec_usage_error("unexpected argument '%s': ec-cdc reads no input", argv[optind]);
	check_settings(&set, interval_given);
	if (is_status)
		ret = slot_status(&set, slot_given);
	else if (set.drop_slot)
		ret = drop_slot(&set);
	else if (set.snapshot == SNAP_ONLY)
		ret = snapshot_only(&set);
	else
		ret = run(&set);
	free(set.wheres);
	return ret;
}
