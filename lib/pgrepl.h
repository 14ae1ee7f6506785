/*
 * pgrepl.h: PostgreSQL logical replication over libpq: connecting (in
 * replication=database mode or plainly), the slot, publication and
 * snapshot SQL, START_REPLICATION, and the CopyBoth messages (XLogData,
 * keepalives, standby status updates). Errors come with the sysexits
 * status they deserve and whether trying again may help.
 */
#ifndef EC_PGREPL_H
#define EC_PGREPL_H

#include "ec.h"
#include <libpq-fe.h>

/* What went wrong: the exit status to use and whether a retry may cure it. */
struct ec_pgerr {
	int status;		/* EX_CONFIG, EX_UNAVAILABLE, EX_SOFTWARE ... */
	int retry;		/* connection lost, server starting, slot busy */
	char msg[1024];
};

/*
 * Connect with DSN (a libpq connection string or URI; NULL or "" uses the
 * PG* variables), in replication=database mode when REPLICATION. The
 * session is set to what the value converter reads: UTC, ISO dates, hex
 * bytea. NULL on failure with E filled.
 */
PGconn *ec_pg_connect(const char *dsn, int replication, const char *appname, struct ec_pgerr *e);

/* Run SQL; a PGresult for PGRES_TUPLES_OK/COMMAND_OK, else NULL with E (by SQLSTATE). */
PGresult *ec_pg_exec(PGconn *c, const char *sql, struct ec_pgerr *e);

/* "'text'" quoted for SQL (the caller frees), and "\"ident\"". */
char *ec_pg_literal(PGconn *c, const char *s);
char *ec_pg_ident(PGconn *c, const char *s);

/* 0 when wal_level is logical, else -1 with E (EX_CONFIG and the fix). */
int ec_pg_check_wal_level(PGconn *c, struct ec_pgerr *e);

int ec_pg_publication_exists(PGconn *c, const char *name, int *exists, struct ec_pgerr *e);
/* CREATE PUBLICATION NAME FOR TABLE TABLES (a comma list), or FOR ALL TABLES when NULL. */
int ec_pg_create_publication(PGconn *c, const char *name, const char *tables, struct ec_pgerr *e);

struct ec_pg_slot {
	int exists;
	int active;
	int lost;		/* wal_status = 'lost': its WAL is gone */
	char plugin[64];
	char database[256];
	uint64_t confirmed_flush;
};

int ec_pg_slot_info(PGconn *c, const char *slot, struct ec_pg_slot *info, struct ec_pgerr *e);

/*
 * CREATE_REPLICATION_SLOT SLOT [TEMPORARY] LOGICAL pgoutput, exporting a
 * snapshot when *SNAPSHOT is wanted (non-NULL): it stays valid until the
 * next command on C. CONSISTENT is where streaming starts.
 */
int ec_pg_create_slot(PGconn *c, const char *slot, int temporary, char **snapshot,
		      uint64_t *consistent, struct ec_pgerr *e);
int ec_pg_drop_slot(PGconn *c, const char *slot, struct ec_pgerr *e);

/* IDENTIFY_SYSTEM: the database name and the server's WAL end. */
int ec_pg_identify(PGconn *c, char **dbname, uint64_t *xlogpos, struct ec_pgerr *e);

/* START_REPLICATION SLOT s LOGICAL LSN (proto_version, publication_names, streaming, messages). */
int ec_pg_start(PGconn *c, const char *slot, uint64_t lsn, const char *publications, int proto,
		int messages, struct ec_pgerr *e);

/* Microseconds since 2000-01-01, the protocol's clock. */
int64_t ec_pg_now(void);

/* Standby status update 'r' with write, flush and apply positions; then PQflush. 0, or -1 with E. */
int ec_pg_send_status(PGconn *c, uint64_t written, uint64_t flushed, int reply, struct ec_pgerr *e);

/* Big-endian fields of CopyData messages. */
uint64_t ec_pg_get64(const char *p);

/* Fill E from a failed connection or result (classifying by SQLSTATE and message). */
void ec_pgerr_from_conn(struct ec_pgerr *e, PGconn *c, const char *what);
void ec_pgerr_from_result(struct ec_pgerr *e, PGconn *c, PGresult *r, const char *what);
void ec_pgerr_set(struct ec_pgerr *e, int status, int retry, const char *fmt, ...) EC_PRINTF(4, 5);

#endif
