/*
 * pgoutput.h: a decoder of PostgreSQL's built-in logical replication output
 * plugin (pgoutput, protocol versions 1 and 2) working on the bytes of one
 * message, with the relation cache that Relation messages fill. Pure: no I/O.
 */
#ifndef EC_PGOUTPUT_H
#define EC_PGOUTPUT_H

#include "ec.h"

/* Message types, as the first byte of each message says. */
enum ec_pgo_type {
	EC_PGO_BEGIN = 'B',
	EC_PGO_COMMIT = 'C',
	EC_PGO_ORIGIN = 'O',
	EC_PGO_RELATION = 'R',
	EC_PGO_TYPE = 'Y',
	EC_PGO_INSERT = 'I',
	EC_PGO_UPDATE = 'U',
	EC_PGO_DELETE = 'D',
	EC_PGO_TRUNCATE = 'T',
	EC_PGO_MESSAGE = 'M',
	EC_PGO_STREAM_START = 'S',
	EC_PGO_STREAM_STOP = 'E',
	EC_PGO_STREAM_COMMIT = 'c',
	EC_PGO_STREAM_ABORT = 'A',
};

/* One column of a tuple: kind 'n' null, 'u' unchanged TOAST, 't' text, 'b' binary. */
struct ec_pgo_value {
	char kind;
	const char *data;	/* into the message; not NUL-terminated */
	size_t len;
};

struct ec_pgo_tuple {
	int ncols;
	struct ec_pgo_value *cols;	/* owned by the decoder, reused per message */
};

struct ec_pgo_column {
	char *name;
	uint32_t type_oid;
	int32_t typmod;
	int key;		/* part of the replica identity */
};

struct ec_pgo_relation {
	uint32_t oid;
	char *schema;
	char *name;
	char replident;		/* 'd' default, 'n' nothing, 'f' full, 'i' index */
	int ncols;
	struct ec_pgo_column *cols;
	unsigned generation;	/* bumped each time a Relation message replaces it */
	void *user;		/* the caller's per-relation data (freed by user_free) */
};

/* A decoded message. Pointers point into the message bytes or the decoder. */
struct ec_pgo_msg {
	char type;
	uint32_t xid;			/* streamed transactions (v2); Begin's xid */
	uint32_t subxid;		/* Stream Abort: the subtransaction (== xid: all of it) */
	uint64_t lsn;			/* Begin: final LSN; Commit: commit LSN; Message: its LSN */
	uint64_t end_lsn;		/* Commit: end of the commit record */
	int64_t time_us;		/* Begin/Commit: commit time, microseconds since 2000-01-01 */
	int first_segment;		/* Stream Start */
	struct ec_pgo_relation *rel;	/* Relation, Insert, Update, Delete */
	char old_kind;			/* Update/Delete: 'K' old key, 'O' old tuple, 0 none */
	struct ec_pgo_tuple oldt, newt;
	int nrelids;			/* Truncate */
	const unsigned char *relids;	/* nrelids big-endian uint32 */
	int truncate_options;		/* 1 CASCADE, 2 RESTART IDENTITY */
	int transactional;		/* Message */
	const char *prefix;		/* Message, Origin name */
	const char *content;
	size_t content_len;
};

struct ec_pgo_decoder {
	int streaming;			/* protocol v2: changes inside streams carry an xid */
	int in_stream;
	struct ec_pgo_relation **rels;
	size_t nrels, rels_alloc;
	struct ec_pgo_value *vals[2];	/* scratch for old and new tuples */
	size_t vals_alloc[2];
	void (*user_free)(void *user);
};

void ec_pgo_init(struct ec_pgo_decoder *d, int streaming);
/* Free what REL holds (its user data through USER_FREE, may be NULL); REL itself stays. */
void ec_pgo_relation_clear(struct ec_pgo_relation *rel, void (*user_free)(void *user));
void ec_pgo_release(struct ec_pgo_decoder *d);

/* The cached relation with OID, or NULL. */
struct ec_pgo_relation *ec_pgo_relation(struct ec_pgo_decoder *d, uint32_t oid);

/*
 * Decode one pgoutput message DATA[0..n) into M. Relation messages update
 * the cache; changes refer to a cached relation (an unknown OID is an
 * error). 0, or -1 with errstr for a malformed or unknown message.
 */
int ec_pgo_decode(struct ec_pgo_decoder *d, const char *data, size_t n, struct ec_pgo_msg *m,
		  char *errstr, size_t errstr_size);

/* PostgreSQL's epoch (2000-01-01) in Unix milliseconds; times are µs after it. */
#define EC_PG_EPOCH_MS 946684800000LL
static inline int64_t ec_pgo_time_ms(int64_t time_us)
{
	/* Floor division: times before 2000 stay on the right millisecond. */
	int64_t q = time_us / 1000;

	if (time_us % 1000 < 0)
		q--;
	return q + EC_PG_EPOCH_MS;
}

/* "16/B374D848" <-> LSN. Parse returns 0, or -1. */
int ec_lsn_parse(const char *s, uint64_t *lsn);
/* Writes at most 17 characters and a NUL. */
#define EC_LSN_BUFSZ 24
void ec_lsn_format(uint64_t lsn, char *out);

#endif
