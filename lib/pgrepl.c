/* pgrepl.c: libpq logical replication: connections, slots, START_REPLICATION and standby status. */
#include "ec.h"
#include "pgrepl.h"
#include "pgoutput.h"
#include <inttypes.h>
#include <time.h>

void ec_pgerr_set(struct ec_pgerr *e, int status, int retry, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->retry = retry;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* libpq's messages end in a newline and sometimes carry a DETAIL line: one line for logs. */
static void one_line(char *s)
{
	size_t n = strlen(s);
	char *p;

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	for (p = s; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

/* The hint an operator needs for errors we know by their text. */
static const char *hint_for(const char *msg, int *status)
{
	if (strstr(msg, "replication role") || strstr(msg, "start WAL sender") ||
	    strstr(msg, "permission denied to start")) {
		*status = EX_CONFIG;
		return " (the role needs the REPLICATION attribute: ALTER ROLE name REPLICATION)";
	}
	if (strstr(msg, "wal_level")) {
		*status = EX_CONFIG;
		return " (set wal_level = logical in postgresql.conf and restart the server)";
	}
	if (strstr(msg, "can no longer get changes") || strstr(msg, "has been invalidated")) {
		*status = EX_CONFIG;
		return " (the slot lost WAL it needed: drop it with --drop-slot and start again with "
		       "--create-slot --snapshot initial)";
	}
	if (strstr(msg, "is active for PID")) {
		*status = EX_UNAVAILABLE;
		return " (another consumer is using the slot: stop it or use another --slot)";
	}
	if (strstr(msg, "publication") && strstr(msg, "does not exist")) {
		*status = EX_CONFIG;
		return " (create it with CREATE PUBLICATION, or pass --create-publication)";
	}
	return "";
}

static void classify_sqlstate(struct ec_pgerr *e, const char *state)
{
	e->status = EX_UNAVAILABLE;
	e->retry = 0;
	if (!state || !strncmp(state, "08", 2) || !strncmp(state, "57P", 3) || !strcmp(state, "53300") ||
	    !strcmp(state, "55006") || !strcmp(state, "40001")) {
		e->retry = 1;	/* lost connection, shutdown, starting up, too many connections, slot busy */
		return;
	}
	if (!strcmp(state, "42501") || !strcmp(state, "42704") || !strcmp(state, "55000") ||
	    !strncmp(state, "53", 2) || !strcmp(state, "42710") || !strcmp(state, "42P01"))
		e->status = EX_CONFIG;
}

static void set_from(struct ec_pgerr *e, const char *what, const char *msg, const char *state)
{
	char buf[900];
	const char *hint;
	int status;

	snprintf(buf, sizeof(buf), "%s", msg && *msg ? msg : "connection lost");
	one_line(buf);
	classify_sqlstate(e, state);
	status = e->status;
	hint = hint_for(buf, &status);
	if (status != e->status) {
		e->status = status;
		e->retry = status == EX_UNAVAILABLE;
	}
	snprintf(e->msg, sizeof(e->msg), "%s: %s%s", what, buf, hint);
}

void ec_pgerr_from_conn(struct ec_pgerr *e, PGconn *c, const char *what)
{
	set_from(e, what, c ? PQerrorMessage(c) : "out of memory", NULL);
	if (!c || PQstatus(c) != CONNECTION_OK)
		e->retry = 1;
}

void ec_pgerr_from_result(struct ec_pgerr *e, PGconn *c, PGresult *r, const char *what)
{
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	set_from(e, what, msg, state);
	if (PQstatus(c) != CONNECTION_OK)
		e->retry = 1;
}

/* Connection failures: unreachable servers are worth retrying, bad credentials are not. */
static void set_connect_error(struct ec_pgerr *e, PGconn *c)
{
	const char *msg = c ? PQerrorMessage(c) : "out of memory";

	set_from(e, "cannot connect to PostgreSQL", msg, NULL);
	if (strstr(msg, "does not exist") || strstr(msg, "pg_hba.conf") || strstr(msg, "authentication failed") ||
	    strstr(msg, "invalid connection option") || strstr(msg, "missing \"=\"") ||
	    strstr(msg, "invalid URI") || strstr(msg, "replication role") || strstr(msg, "WAL sender")) {
		e->retry = 0;
		e->status = EX_CONFIG;
	}
}

PGconn *ec_pg_connect(const char *dsn, int replication, const char *appname, struct ec_pgerr *e)
{
	const char *keys[6], *vals[6];
	int n = 0;
	PGconn *c;

	/* Later entries win over the expanded DSN: the session settings the converter relies on. */
	keys[n] = "application_name", vals[n++] = appname;
	keys[n] = "dbname", vals[n++] = dsn && *dsn ? dsn : NULL;
	if (replication)
		keys[n] = "replication", vals[n++] = "database";
	keys[n] = "options", vals[n++] = "-c TimeZone=UTC -c DateStyle=ISO -c bytea_output=hex -c IntervalStyle=postgres";
	keys[n] = NULL, vals[n] = NULL;
	if (!vals[1]) {
		keys[1] = "fallback_application_name";
		vals[1] = appname;
	}
	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		set_connect_error(e, c);
		PQfinish(c);
		return NULL;
	}
	return c;
}

PGresult *ec_pg_exec(PGconn *c, const char *sql, struct ec_pgerr *e)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_COPY_BOTH)
		return r;
	ec_pgerr_from_result(e, c, r, "PostgreSQL");
	PQclear(r);
	return NULL;
}

/* libpq's quoting result as our own string; libpq fails only for lack of memory here. */
static char *quoted(char *q)
{
	char *ret;

	if (!q) {
		fprintf(stderr, "%s: out of memory\n", ec_progname);
		abort();
	}
	ret = xstrdup(q);
	PQfreemem(q);
	return ret;
}

char *ec_pg_literal(PGconn *c, const char *s)
{
	return quoted(PQescapeLiteral(c, s, strlen(s)));
}

char *ec_pg_ident(PGconn *c, const char *s)
{
	return quoted(PQescapeIdentifier(c, s, strlen(s)));
}

int ec_pg_slot_info(PGconn *c, const char *slot, struct ec_pg_slot *info, struct ec_pgerr *e)
{
	struct ec_buf sql = EC_BUF_INIT;
	char *lit = ec_pg_literal(c, slot);
	PGresult *r;

	memset(info, 0, sizeof(*info));
	ec_buf_addf(&sql, "SELECT plugin, active, coalesce(wal_status, ''), coalesce(database, ''), "
		    "coalesce(confirmed_flush_lsn::text, '0/0') FROM pg_replication_slots WHERE slot_name = %s", lit);
	free(lit);
	r = ec_pg_exec(c, sql.buf, e);
	ec_buf_release(&sql);
	if (!r)
		return -1;
	if (PQntuples(r) == 1) {
		info->exists = 1;
		snprintf(info->plugin, sizeof(info->plugin), "%s", PQgetvalue(r, 0, 0));
		info->active = PQgetvalue(r, 0, 1)[0] == 't';
		info->lost = !strcmp(PQgetvalue(r, 0, 2), "lost");
		snprintf(info->database, sizeof(info->database), "%s", PQgetvalue(r, 0, 3));
		ec_lsn_parse(PQgetvalue(r, 0, 4), &info->confirmed_flush);
	}
	PQclear(r);
	return 0;
}

int ec_pg_create_slot(PGconn *c, const char *slot, int temporary, char **snapshot,
		      uint64_t *consistent, struct ec_pgerr *e)
{
	struct ec_buf sql = EC_BUF_INIT;
	char *id = ec_pg_ident(c, slot);
	PGresult *r;
	int ret = -1;

	ec_buf_addf(&sql, "CREATE_REPLICATION_SLOT %s%s LOGICAL pgoutput %s", id,
		    temporary ? " TEMPORARY" : "", snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
	free(id);
	r = ec_pg_exec(c, sql.buf, e);
	if (!r)
		goto cleanup;
	if (PQntuples(r) != 1 || PQnfields(r) < 3 || ec_lsn_parse(PQgetvalue(r, 0, 1), consistent) < 0) {
		ec_pgerr_set(e, EX_PROTOCOL, 0, "CREATE_REPLICATION_SLOT: unexpected answer");
		goto cleanup;
	}
	if (snapshot)
		*snapshot = xstrdup(PQgetvalue(r, 0, 2));
	ret = 0;
cleanup:
	PQclear(r);
	ec_buf_release(&sql);
	return ret;
}

int ec_pg_drop_slot(PGconn *c, const char *slot, struct ec_pgerr *e)
{
	struct ec_buf sql = EC_BUF_INIT;
	char *id = ec_pg_ident(c, slot);
	PGresult *r;

	ec_buf_addf(&sql, "DROP_REPLICATION_SLOT %s", id);
	free(id);
	r = ec_pg_exec(c, sql.buf, e);
	ec_buf_release(&sql);
	PQclear(r);
	return r ? 0 : -1;
}

int ec_pg_identify(PGconn *c, char **dbname, uint64_t *xlogpos, struct ec_pgerr *e)
{
	PGresult *r = ec_pg_exec(c, "IDENTIFY_SYSTEM", e);

	if (!r)
		return -1;
	if (PQntuples(r) != 1 || PQnfields(r) < 4 || ec_lsn_parse(PQgetvalue(r, 0, 2), xlogpos) < 0) {
		PQclear(r);
		ec_pgerr_set(e, EX_PROTOCOL, 0, "IDENTIFY_SYSTEM: unexpected answer");
		return -1;
	}
	*dbname = xstrdup(PQgetvalue(r, 0, 3));
	PQclear(r);
	return 0;
}

int ec_pg_start(PGconn *c, const char *slot, uint64_t lsn, const char *publications, int proto,
		int messages, struct ec_pgerr *e)
{
	struct ec_buf sql = EC_BUF_INIT;
	char *id = ec_pg_ident(c, slot), *pubs = ec_pg_literal(c, publications);
	char pos[EC_LSN_BUFSZ];
	PGresult *r;

	ec_lsn_format(lsn, pos);
	ec_buf_addf(&sql, "START_REPLICATION SLOT %s LOGICAL %s (proto_version '%d', publication_names %s%s%s)",
		    id, pos, proto, pubs, proto >= 2 ? ", streaming 'on'" : "", messages ? ", messages 'true'" : "");
	free(id);
	free(pubs);
	r = ec_pg_exec(c, sql.buf, e);
	ec_buf_release(&sql);
	if (!r)
		return -1;
	if (PQresultStatus(r) != PGRES_COPY_BOTH) {
		PQclear(r);
		ec_pgerr_set(e, EX_PROTOCOL, 0, "START_REPLICATION: the server did not start streaming");
		return -1;
	}
	PQclear(r);
	return 0;
}

int64_t ec_pg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 - EC_PG_EPOCH_MS) * 1000 + ts.tv_nsec / 1000;
}

static void put64(char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char)(v & 0xff);
}

uint64_t ec_pg_get64(const char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | (unsigned char)p[i];
	return v;
}

int ec_pg_send_status(PGconn *c, uint64_t written, uint64_t flushed, int reply, struct ec_pgerr *e)
{
	char msg[1 + 8 * 4 + 1];

	msg[0] = 'r';
	put64(msg + 1, written);
	put64(msg + 9, flushed);
	put64(msg + 17, flushed);
	put64(msg + 25, (uint64_t)ec_pg_now());
	msg[33] = (char)reply;
	if (PQputCopyData(c, msg, sizeof(msg)) <= 0 || PQflush(c) < 0) {
		ec_pgerr_from_conn(e, c, "sending the standby status");
		e->retry = 1;
		return -1;
	}
	return 0;
}

int ec_pg_check_wal_level(PGconn *c, struct ec_pgerr *e)
{
	PGresult *r = ec_pg_exec(c, "SHOW wal_level", e);
	int ok;

	if (!r)
		return -1;
	ok = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "logical");
	if (!ok)
		ec_pgerr_set(e, EX_CONFIG, 0, "wal_level is '%s', logical decoding needs 'logical' "
			     "(ALTER SYSTEM SET wal_level = logical, then restart the server)",
			     PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "?");
	PQclear(r);
	return ok ? 0 : -1;
}

static void add_ident(PGconn *conn, struct ec_buf *sql, const char *s, size_t n)
{
	char *part = xstrndup(s, n), *q = ec_pg_ident(conn, part);

	ec_buf_addstr(sql, q);
	free(q);
	free(part);
}

/* "a,b" or "public.a, b" as a FOR TABLE list of quoted identifiers. */
static void table_list(PGconn *conn, const char *tables, struct ec_buf *sql)
{
	const char *s = tables, *end, *dot;
	int first = 1;

	for (;;) {
		s += strspn(s, ", ");
		if (!*s)
			return;
		end = s + strcspn(s, ", ");
		if (!first)
			ec_buf_addstr(sql, ", ");
		first = 0;
		dot = memchr(s, '.', (size_t)(end - s));
		if (dot) {
			add_ident(conn, sql, s, (size_t)(dot - s));
			ec_buf_addch(sql, '.');
			s = dot + 1;
		}
		add_ident(conn, sql, s, (size_t)(end - s));
		s = end;
	}
}

int ec_pg_publication_exists(PGconn *c, const char *name, int *exists, struct ec_pgerr *e)
{
	struct ec_buf sql = EC_BUF_INIT;
	char *lit = ec_pg_literal(c, name);
	PGresult *r;

	ec_buf_addf(&sql, "SELECT 1 FROM pg_publication WHERE pubname = %s", lit);
	free(lit);
	r = ec_pg_exec(c, sql.buf, e);
	ec_buf_release(&sql);
	if (!r)
		return -1;
	*exists = PQntuples(r) == 1;
	PQclear(r);
	return 0;
}

int ec_pg_create_publication(PGconn *c, const char *name, const char *tables, struct ec_pgerr *e)
{
	struct ec_buf sql = EC_BUF_INIT;
	char *id = ec_pg_ident(c, name);
	PGresult *r;

	ec_buf_addf(&sql, "CREATE PUBLICATION %s ", id);
	free(id);
	if (tables) {
		ec_buf_addstr(&sql, "FOR TABLE ");
		table_list(c, tables, &sql);
	} else {
		ec_buf_addstr(&sql, "FOR ALL TABLES");
	}
	r = ec_pg_exec(c, sql.buf, e);
	ec_buf_release(&sql);
	PQclear(r);
	return r ? 0 : -1;
}
