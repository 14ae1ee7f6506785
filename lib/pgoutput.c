/* pgoutput.c: decodes pgoutput logical replication messages and keeps their relation cache. */
#include "ec.h"
#include "pgoutput.h"
#include <inttypes.h>

/* A bounds-checked reader over one message; any overrun sets bad. */
struct rd {
	const unsigned char *p, *end;
	int bad;
};

static int need(struct rd *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return 0;
	}
	return 1;
}

static uint8_t rd_u8(struct rd *r)
{
	if (!need(r, 1))
		return 0;
	return *r->p++;
}

static uint16_t rd_u16(struct rd *r)
{
	uint16_t v;

	if (!need(r, 2))
		return 0;
	v = (uint16_t)(r->p[0] << 8 | r->p[1]);
	r->p += 2;
	return v;
}

static uint32_t rd_u32(struct rd *r)
{
	uint32_t v;

	if (!need(r, 4))
		return 0;
	v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	return v;
}

static uint64_t rd_u64(struct rd *r)
{
	uint64_t hi = rd_u32(r);

	return hi << 32 | rd_u32(r);
}

/* A NUL-terminated string inside the message. */
static const char *rd_str(struct rd *r)
{
	const unsigned char *nul;

	if (r->bad)
		return "";
	nul = memchr(r->p, 0, (size_t)(r->end - r->p));
	if (!nul) {
		r->bad = 1;
		return "";
	}
	const char *s = (const char *)r->p;
	r->p = nul + 1;
	return s;
}

static const void *rd_bytes(struct rd *r, size_t n)
{
	const void *p = r->p;

	if (!need(r, n))
		return "";
	r->p += n;
	return p;
}

void ec_pgo_init(struct ec_pgo_decoder *d, int streaming)
{
	memset(d, 0, sizeof(*d));
	d->streaming = streaming;
}

void ec_pgo_relation_clear(struct ec_pgo_relation *rel, void (*user_free)(void *user))
{
	int i;

	for (i = 0; i < rel->ncols; i++)
		free(rel->cols[i].name);
	free(rel->cols);
	free(rel->schema);
	free(rel->name);
	if (rel->user && user_free)
		user_free(rel->user);
	rel->user = NULL;
	rel->cols = NULL;
	rel->ncols = 0;
	rel->schema = rel->name = NULL;
}

void ec_pgo_release(struct ec_pgo_decoder *d)
{
	size_t i;

	for (i = 0; i < d->nrels; i++) {
		ec_pgo_relation_clear(d->rels[i], d->user_free);
		free(d->rels[i]);
	}
	free(d->rels);
	free(d->vals[0]);
	free(d->vals[1]);
	memset(d, 0, sizeof(*d));
}

struct ec_pgo_relation *ec_pgo_relation(struct ec_pgo_decoder *d, uint32_t oid)
{
	size_t i;

	/* A handful of tables: a linear scan beats hashing. */
	for (i = 0; i < d->nrels; i++)
		if (d->rels[i]->oid == oid)
			return d->rels[i];
	return NULL;
}

static int read_relation(struct ec_pgo_decoder *d, struct rd *r, struct ec_pgo_msg *m)
{
	uint32_t oid = rd_u32(r);
	const char *schema = rd_str(r), *name = rd_str(r);
	char replident = (char)rd_u8(r);
	int ncols = rd_u16(r), i;
	struct ec_pgo_relation *rel;
	struct ec_pgo_column *cols;

	if (r->bad)
		return -1;
	cols = xcalloc((size_t)ncols + 1, sizeof(*cols));
	for (i = 0; i < ncols; i++) {
		cols[i].key = rd_u8(r) & 1;
		cols[i].name = xstrdup(rd_str(r));
		cols[i].type_oid = rd_u32(r);
		cols[i].typmod = (int32_t)rd_u32(r);
	}
	rel = ec_pgo_relation(d, oid);
	if (!rel) {
		rel = xcalloc(1, sizeof(*rel));
		EC_GROW(d->rels, d->nrels + 1, d->rels_alloc);
		d->rels[d->nrels++] = rel;
	} else {
		ec_pgo_relation_clear(rel, d->user_free);
	}
	rel->oid = oid;
	rel->schema = xstrdup(schema);
	rel->name = xstrdup(name);
	rel->replident = replident;
	rel->ncols = ncols;
	rel->cols = cols;
	rel->generation++;
	m->rel = rel;
	if (r->bad) {
		/* Keep the cache consistent: a half-read relation is dropped columns and all. */
		for (i = 0; i < ncols; i++)
			free(cols[i].name);
		free(cols);
		rel->cols = NULL;
		rel->ncols = 0;
		return -1;
	}
	return 0;
}

static int read_tuple(struct ec_pgo_decoder *d, struct rd *r, int which, struct ec_pgo_tuple *t)
{
	int ncols = rd_u16(r), i;
	struct ec_pgo_value *v;

	if (r->bad)
		return -1;
	EC_GROW(d->vals[which], (size_t)ncols + 1, d->vals_alloc[which]);
	v = d->vals[which];
	for (i = 0; i < ncols; i++) {
		v[i].kind = (char)rd_u8(r);
		v[i].data = NULL;
		v[i].len = 0;
		switch (v[i].kind) {
		case 'n':
		case 'u':
			break;
		case 't':
		case 'b':
			v[i].len = rd_u32(r);
			v[i].data = rd_bytes(r, v[i].len);
			break;
		default:
			return -1;
		}
	}
	t->ncols = ncols;
	t->cols = v;
	return r->bad ? -1 : 0;
}

/* The relation a change refers to, from the cache. */
static int change_relation(struct ec_pgo_decoder *d, struct rd *r, struct ec_pgo_msg *m,
			   char *errstr, size_t errstr_size)
{
	uint32_t oid = rd_u32(r);

	if (r->bad)
		return -1;
	m->rel = ec_pgo_relation(d, oid);
	if (!m->rel) {
		snprintf(errstr, errstr_size, "pgoutput: a change to relation %" PRIu32
			 " before its Relation message", oid);
		return -2;
	}
	return 0;
}

static int read_change(struct ec_pgo_decoder *d, struct rd *r, struct ec_pgo_msg *m,
		       char *errstr, size_t errstr_size)
{
	int rc = change_relation(d, r, m, errstr, errstr_size);
	char tag;

	if (rc)
		return rc;
	tag = (char)rd_u8(r);
	if (m->type == EC_PGO_INSERT) {
		if (tag != 'N')
			return -1;
		return read_tuple(d, r, 1, &m->newt);
	}
	if (tag == 'K' || tag == 'O') {
		m->old_kind = tag;
		if (read_tuple(d, r, 0, &m->oldt) < 0)
			return -1;
		if (m->type == EC_PGO_DELETE)
			return 0;
		tag = (char)rd_u8(r);
	}
	if (m->type == EC_PGO_DELETE || tag != 'N')
		return -1;
	return read_tuple(d, r, 1, &m->newt);
}

static int read_body(struct ec_pgo_decoder *d, struct rd *r, struct ec_pgo_msg *m,
		     char *errstr, size_t errstr_size)
{
	int flags;

	switch (m->type) {
	case EC_PGO_BEGIN:
		m->lsn = rd_u64(r);
		m->time_us = (int64_t)rd_u64(r);
		m->xid = rd_u32(r);
		return 0;
	case EC_PGO_COMMIT:
		rd_u8(r);
		m->lsn = rd_u64(r);
		m->end_lsn = rd_u64(r);
		m->time_us = (int64_t)rd_u64(r);
		return 0;
	case EC_PGO_ORIGIN:
		m->lsn = rd_u64(r);
		m->prefix = rd_str(r);
		return 0;
	case EC_PGO_RELATION:
		return read_relation(d, r, m);
	case EC_PGO_TYPE:
		rd_u32(r);
		rd_str(r);
		m->prefix = rd_str(r);
		return 0;
	case EC_PGO_INSERT:
	case EC_PGO_UPDATE:
	case EC_PGO_DELETE:
		return read_change(d, r, m, errstr, errstr_size);
	case EC_PGO_TRUNCATE:
		m->nrelids = (int)rd_u32(r);
		m->truncate_options = rd_u8(r);
		if (m->nrelids < 0 || !need(r, (size_t)m->nrelids * 4))
			return -1;
		m->relids = rd_bytes(r, (size_t)m->nrelids * 4);
		return 0;
	case EC_PGO_MESSAGE:
		flags = rd_u8(r);
		m->transactional = flags & 1;
		m->lsn = rd_u64(r);
		m->prefix = rd_str(r);
		m->content_len = rd_u32(r);
		m->content = rd_bytes(r, m->content_len);
		return 0;
	default:
		snprintf(errstr, errstr_size, "pgoutput: unknown message type 0x%02x", (unsigned char)m->type);
		return -2;
	}
}

/* Protocol v2 stream control messages. */
static int read_stream(struct ec_pgo_decoder *d, struct rd *r, struct ec_pgo_msg *m)
{
	switch (m->type) {
	case EC_PGO_STREAM_START:
		m->xid = rd_u32(r);
		m->first_segment = rd_u8(r);
		d->in_stream = 1;
		return 0;
	case EC_PGO_STREAM_STOP:
		d->in_stream = 0;
		return 0;
	case EC_PGO_STREAM_COMMIT:
		m->xid = rd_u32(r);
		rd_u8(r);
		m->lsn = rd_u64(r);
		m->end_lsn = rd_u64(r);
		m->time_us = (int64_t)rd_u64(r);
		return 0;
	default:	/* EC_PGO_STREAM_ABORT */
		m->xid = rd_u32(r);
		m->subxid = rd_u32(r);	/* the whole transaction when equal */
		return 0;
	}
}

static int is_stream_control(char type)
{
	return type == EC_PGO_STREAM_START || type == EC_PGO_STREAM_STOP ||
	       type == EC_PGO_STREAM_COMMIT || type == EC_PGO_STREAM_ABORT;
}

/* Messages that carry the transaction id first when sent inside a stream. */
static int has_stream_xid(char type)
{
	return type == EC_PGO_RELATION || type == EC_PGO_TYPE || type == EC_PGO_INSERT ||
	       type == EC_PGO_UPDATE || type == EC_PGO_DELETE || type == EC_PGO_TRUNCATE ||
	       type == EC_PGO_MESSAGE;
}

int ec_pgo_decode(struct ec_pgo_decoder *d, const char *data, size_t n, struct ec_pgo_msg *m,
		  char *errstr, size_t errstr_size)
{
	struct rd r = { (const unsigned char *)data, (const unsigned char *)data + n, 0 };
	int rc;

	memset(m, 0, sizeof(*m));
	if (!n) {
		snprintf(errstr, errstr_size, "pgoutput: empty message");
		return -1;
	}
	m->type = (char)rd_u8(&r);
	if (d->streaming && is_stream_control(m->type)) {
		rc = read_stream(d, &r, m);
	} else {
		if (d->in_stream && has_stream_xid(m->type))
			m->xid = rd_u32(&r);
		rc = read_body(d, &r, m, errstr, errstr_size);
	}
	if (rc == -2)
		return -1;
	if (rc < 0 || r.bad) {
		snprintf(errstr, errstr_size, "pgoutput: malformed '%c' message (%zu bytes)",
			 m->type > 32 && m->type < 127 ? m->type : '?', n);
		return -1;
	}
	return 0;
}

int ec_lsn_parse(const char *s, uint64_t *lsn)
{
	unsigned long long hi, lo;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	hi = strtoull(s, &end, 16);
	if (end == s || *end != '/' || hi > 0xffffffffULL || end[1] == '-' || end[1] == '+' || !end[1])
		return -1;
	s = end + 1;
	lo = strtoull(s, &end, 16);
	if (end == s || *end || lo > 0xffffffffULL)
		return -1;
	*lsn = (uint64_t)hi << 32 | lo;
	return 0;
}

void ec_lsn_format(uint64_t lsn, char *out)
{
	snprintf(out, EC_LSN_BUFSZ, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}
