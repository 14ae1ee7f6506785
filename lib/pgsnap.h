/*
 * pgsnap.h: an initial snapshot: the tables of a publication (or a list)
 * read in one REPEATABLE READ transaction, inside the snapshot a new slot
 * exported, with cursors in text mode, typed by the converter the stream
 * uses, as Debezium "r" events; the last row is marked "last".
 */
#ifndef EC_PGSNAP_H
#define EC_PGSNAP_H

#include "ec.h"
#include "pgevent.h"
#include "pgrepl.h"

/* --where: rows of TABLE ("orders" or "public.orders") where the SQL COND holds. */
struct ec_pgsnap_where {
	const char *table;
	size_t table_len;
	const char *cond;
};

struct ec_pgsnap_conf {
	const char *dsn;			/* as ec_pg_connect takes it */
	const char *appname;
	const char *tables;			/* comma list; NULL: the publication's tables */
	const char *publication;
	const struct ec_pgsnap_where *wheres;
	size_t nwheres;
	uint64_t fetch_size;			/* rows per FETCH */
	const struct ec_pgevent_conf *ev;
};

/*
 * Read the tables inside exported snapshot SNAPNAME (NULL: a snapshot of
 * now, and LSN becomes the server's WAL position) as events at LSN,
 * appended to OUT (passed to stdout as it grows). A stop signal ends the
 * reading early. 0, or -1 with E; *ROWS counts the events.
 */
int ec_pgsnap_read(const struct ec_pgsnap_conf *conf, const char *snapname, uint64_t lsn, struct ec_buf *out,
		   uint64_t *rows, struct ec_pgerr *e);

#endif
