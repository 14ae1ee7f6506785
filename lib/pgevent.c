/* pgevent.c: writes PostgreSQL row changes as Debezium value payloads, typed by pgtype. */
#include "ec.h"
#include "pgevent.h"
#include "jsonw.h"

/* Per relation, made once per Relation message: encoded keys and value kinds. */
struct relinfo {
	struct ec_buf keys;		/* "\"id\":" back to back */
	size_t *key_off;		/* ncols + 1 offsets into keys */
	struct ec_pgtype *types;
	struct ec_buf names;		/* ,"schema":"public","table":"orders" */
};

void ec_pgevent_rel_free(void *user)
{
	struct relinfo *ri = user;

	if (!ri)
		return;
	ec_buf_release(&ri->keys);
	ec_buf_release(&ri->names);
	free(ri->key_off);
	free(ri->types);
	free(ri);
}

static struct relinfo *relinfo(struct ec_pgo_relation *rel)
{
	struct relinfo *ri = rel->user;
	int i;

	if (ri)
		return ri;
	ri = xcalloc(1, sizeof(*ri));
	ri->key_off = xcalloc((size_t)rel->ncols + 1, sizeof(*ri->key_off));
	ri->types = xcalloc((size_t)rel->ncols + 1, sizeof(*ri->types));
	for (i = 0; i < rel->ncols; i++) {
		ri->key_off[i] = ri->keys.len;
		ec_jsonw_key(&ri->keys, rel->cols[i].name);
		ri->types[i] = ec_pgtype_of(rel->cols[i].type_oid);
	}
	ri->key_off[rel->ncols] = ri->keys.len;
	ec_buf_addstr(&ri->names, ",\"schema\":");
	ec_jsonw_cstr(&ri->names, rel->schema);
	ec_buf_addstr(&ri->names, ",\"table\":");
	ec_jsonw_cstr(&ri->names, rel->name);
	rel->user = ri;
	return ri;
}

static void write_tuple(struct ec_buf *out, const struct ec_pgevent_conf *conf, struct ec_pgo_relation *rel,
			const struct ec_pgo_tuple *t)
{
	struct relinfo *ri = relinfo(rel);
	int i, n = t->ncols < rel->ncols ? t->ncols : rel->ncols;

	ec_buf_addch(out, '{');
	for (i = 0; i < n; i++) {
		const struct ec_pgo_value *v = &t->cols[i];

		if (i)
			ec_buf_addch(out, ',');
		ec_buf_add(out, ri->keys.buf + ri->key_off[i], ri->key_off[i + 1] - ri->key_off[i]);
		switch (v->kind) {
		case 't':
			ec_pgtype_write(out, ri->types[i], v->data, v->len, &conf->types);
			break;
		case 'u':
			ec_buf_addstr(out, "\"" EC_PG_UNAVAILABLE "\"");
			break;
		case 'b':
			/* Binary values are never asked for; keep the bytes rather than guess. */
			ec_buf_addch(out, '"');
			ec_base64_encode(out, v->data, v->len);
			ec_buf_addch(out, '"');
			break;
		default:
			ec_buf_addstr(out, "null");
		}
	}
	ec_buf_addch(out, '}');
}

static void write_lsn_str(struct ec_buf *out, uint64_t lsn)
{
	if (!lsn) {
		ec_buf_addstr(out, "null");
		return;
	}
	ec_buf_add(out, "\\\"", 2);
	ec_jsonw_u64(out, lsn);
	ec_buf_add(out, "\\\"", 2);
}

/* "source":{...}: returns the offset of the snapshot marker's value. */
static size_t write_source(struct ec_buf *out, const struct ec_pgevent_conf *conf, const char *names,
			   size_t names_len, const struct ec_pgevent_pos *pos)
{
	size_t mark;

	ec_buf_addstr(out, ",\"source\":{\"version\":\"" EC_VERSION "\",\"connector\":\"postgresql\",\"name\":");
	ec_jsonw_cstr(out, conf->name);
	ec_buf_addstr(out, ",\"ts_ms\":");
	ec_jsonw_i64(out, pos->ts_ms);
	ec_buf_addstr(out, ",\"snapshot\":\"");
	mark = out->len;
	ec_buf_addstr(out, pos->snapshot);
	ec_buf_addstr(out, "\",\"db\":");
	ec_jsonw_cstr(out, conf->db);
	ec_buf_addstr(out, ",\"sequence\":\"[");
	write_lsn_str(out, pos->last_commit_lsn);
	ec_buf_addch(out, ',');
	write_lsn_str(out, pos->lsn);
	ec_buf_addstr(out, "]\"");
	ec_buf_add(out, names, names_len);
	ec_buf_addstr(out, ",\"txId\":");
	ec_jsonw_u64(out, pos->xid);
	ec_buf_addstr(out, ",\"lsn\":");
	ec_jsonw_u64(out, pos->lsn);
	ec_buf_addstr(out, ",\"xmin\":null}");
	return mark;
}

size_t ec_pgevent_row(struct ec_buf *out, const struct ec_pgevent_conf *conf, struct ec_pgo_relation *rel,
		      char op, const struct ec_pgo_tuple *before, const struct ec_pgo_tuple *after,
		      const struct ec_pgevent_pos *pos)
{
	struct relinfo *ri = relinfo(rel);
	size_t mark;

	ec_buf_addstr(out, "{\"before\":");
	if (before)
		write_tuple(out, conf, rel, before);
	else
		ec_buf_addstr(out, "null");
	ec_buf_addstr(out, ",\"after\":");
	if (after)
		write_tuple(out, conf, rel, after);
	else
		ec_buf_addstr(out, "null");
	mark = write_source(out, conf, ri->names.buf, ri->names.len, pos);
	ec_buf_addstr(out, ",\"op\":\"");
	ec_buf_addch(out, op);
	ec_buf_addstr(out, "\",\"ts_ms\":");
	ec_jsonw_i64(out, pos->ts_ms);
	if (pos->tx_id) {
		ec_buf_addstr(out, ",\"transaction\":{\"id\":");
		ec_jsonw_cstr(out, pos->tx_id);
		ec_buf_addstr(out, ",\"total_order\":");
		ec_jsonw_u64(out, pos->total_order);
		ec_buf_addstr(out, ",\"data_collection_order\":");
		ec_jsonw_u64(out, pos->collection_order);
		ec_buf_addch(out, '}');
	}
	ec_buf_addstr(out, "}\n");
	return mark;
}

void ec_pgevent_tx_begin(struct ec_buf *out, const char *tx_id, int64_t ts_ms)
{
	ec_buf_addstr(out, "{\"status\":\"BEGIN\",\"id\":");
	ec_jsonw_cstr(out, tx_id);
	ec_buf_addstr(out, ",\"ts_ms\":");
	ec_jsonw_i64(out, ts_ms);
	ec_buf_addstr(out, ",\"event_count\":null,\"data_collections\":null}\n");
}

void ec_pgevent_tx_end(struct ec_buf *out, const char *tx_id, int64_t ts_ms, uint64_t events,
		       const struct ec_pgevent_count *counts, size_t ncounts)
{
	size_t i;

	ec_buf_addstr(out, "{\"status\":\"END\",\"id\":");
	ec_jsonw_cstr(out, tx_id);
	ec_buf_addstr(out, ",\"ts_ms\":");
	ec_jsonw_i64(out, ts_ms);
	ec_buf_addstr(out, ",\"event_count\":");
	ec_jsonw_u64(out, events);
	ec_buf_addstr(out, ",\"data_collections\":[");
	for (i = 0; i < ncounts; i++) {
		struct ec_buf name = EC_BUF_INIT;

		ec_buf_addf(&name, "%s.%s", counts[i].rel->schema, counts[i].rel->name);
		ec_buf_addstr(out, i ? ",{\"data_collection\":" : "{\"data_collection\":");
		ec_jsonw_str(out, name.buf, name.len);
		ec_buf_addstr(out, ",\"event_count\":");
		ec_jsonw_u64(out, counts[i].events);
		ec_buf_addch(out, '}');
		ec_buf_release(&name);
	}
	ec_buf_addstr(out, "]}\n");
}

void ec_pgevent_message(struct ec_buf *out, const struct ec_pgevent_conf *conf, const char *prefix,
			const char *content, size_t len, const struct ec_pgevent_pos *pos)
{
	static const char names[] = ",\"schema\":\"\",\"table\":\"\"";

	ec_buf_addstr(out, "{\"before\":null,\"after\":null");
	write_source(out, conf, names, sizeof(names) - 1, pos);
	ec_buf_addstr(out, ",\"op\":\"m\",\"ts_ms\":");
	ec_jsonw_i64(out, pos->ts_ms);
	ec_buf_addstr(out, ",\"message\":{\"prefix\":");
	ec_jsonw_cstr(out, prefix);
	ec_buf_addstr(out, ",\"content\":\"");
	ec_base64_encode(out, content, len);
	ec_buf_addstr(out, "\"}}\n");
}
