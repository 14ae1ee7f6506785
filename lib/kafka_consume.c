/* kafka_consume.c: `ec-kcat consume`: Kafka messages to NDJSON lines, replays dropped by position headers, the source role of the checkpoint protocol. */
#include "ec.h"
#include "kafka.h"
#include "jsonw.h"
#include "log.h"
#include "opt.h"
#include "source.h"
#include <inttypes.h>
#include <time.h>
#include <yajl/yajl_tree.h>

/* Per assigned partition: where it starts, whether it is finished. */
struct cpart {
	char *topic;
	int32_t partition;
	int64_t start;		/* an offset or RD_KAFKA_OFFSET_* */
	int64_t next;		/* next offset to read, -1 before the first message */
	int done;		/* DONE_EOF: at its end (--exit-at-end); DONE_UNTIL: past --until */
	int assigned;
};

struct consumer {
	struct ec_kafka_settings *set;
	rd_kafka_t *rk;
	rd_kafka_t *probe;		/* a group-less handle for reading single messages' timestamps */
	struct cpart *parts;
	size_t nparts, parts_alloc;
	size_t nassigned, ndone;
	int64_t from_ms, until_ms;	/* -1: not a time */
	int from_time, has_until;
	struct ec_kafka_marks marks;
	struct ec_pathset *ps;		/* empty: validation only */
	struct ec_source src;
	struct ec_buf out, line, pos, tmp;
	yajl_val acked;			/* the ack file's "pos" */
	uint64_t written, dropped, rejected;
	int commit_pending;		/* the last run's acked offsets are still to be committed */
	int stop;
};

/* ---- partitions ---- */

static struct cpart *part_get(struct consumer *c, const char *topic, int32_t partition, int create)
{
	size_t i;

	for (i = 0; i < c->nparts; i++)
		if (c->parts[i].partition == partition && !strcmp(c->parts[i].topic, topic))
			return &c->parts[i];
	if (!create)
		return NULL;
	EC_GROW(c->parts, c->nparts + 1, c->parts_alloc);
	memset(&c->parts[c->nparts], 0, sizeof(c->parts[0]));
	c->parts[c->nparts].topic = xstrdup(topic);
	c->parts[c->nparts].partition = partition;
	c->parts[c->nparts].next = -1;
	return &c->parts[c->nparts++];
}

/* The next offset of TOPIC/PARTITION in the ack file's position, or -1. */
static int64_t acked_offset(struct consumer *c, const char *topic, int32_t partition)
{
	const char *path[4] = { "offsets", topic, NULL, NULL };
	char pbuf[16];
	yajl_val v;

	if (!c->acked)
		return -1;
	snprintf(pbuf, sizeof(pbuf), "%" PRId32, partition);
	path[2] = pbuf;
	v = yajl_tree_get(c->acked, path, yajl_t_number);
	return v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : -1;
}

/* ---- start offsets ---- */

struct probe_ctx {
	struct consumer *c;
	const char *topic;
	int32_t partition;
};

/* ec_kafka_ts_at_fn: read the one message at OFFSET through the probe handle. */
static int probe_ts(void *ctx, int64_t offset, int64_t *ts)
{
	struct probe_ctx *pc = ctx;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_message_t *m;
	rd_kafka_timestamp_type_t tt;
	int r = 1, tries;

	rd_kafka_topic_partition_list_add(l, pc->topic, pc->partition)->offset = offset;
	rd_kafka_assign(pc->c->probe, l);
	rd_kafka_topic_partition_list_destroy(l);
	for (tries = 0; tries < 50 && ec_run; tries++) {
		m = rd_kafka_consumer_poll(pc->c->probe, 200);
		if (!m)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			break;
		}
		if (m->err) {
			ec_debug("probe %s/%" PRId32 "@%" PRId64 ": %s", pc->topic, pc->partition, offset,
				 rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		*ts = rd_kafka_message_timestamp(m, &tt);
		/* The first message at or after OFFSET: a gap (compaction, retention) is skipped over. */
		r = (tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || m->offset != offset) ? 1 : 0;
		rd_kafka_message_destroy(m);
		break;
	}
	rd_kafka_assign(pc->c->probe, NULL);
	return r;
}

static void probe_open(struct consumer *c)
{
	rd_kafka_conf_t *conf;
	char err[512];

	if (c->probe)
		return;
	if (!(conf = ec_kafka_conf_new(c->set, err, sizeof(err))))
		ec_usage_error("%s", err);
	ec_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err));
	ec_kafka_conf_set(conf, "group.id", "ec-kcat-probe", err, sizeof(err));
	ec_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	ec_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof(err));
	if (!(c->probe = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))))
		ec_die(EX_SOFTWARE, "%s", err);
	rd_kafka_poll_set_consumer(c->probe);
}

/*
 * The first offset whose timestamp is >= MS: ListOffsets by time first; a
 * broker that answers -1 although the partition has messages (the mock
 * cluster does) gets a binary search over single messages' timestamps.
 */
static int64_t offset_for_time(struct consumer *c, const char *topic, int32_t partition, int64_t ms)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	struct probe_ctx pc = { c, topic, partition };
	rd_kafka_resp_err_t err;
	int64_t lo, hi, off;

	rd_kafka_topic_partition_list_add(l, topic, partition)->offset = ms;
	err = rd_kafka_offsets_for_times(c->rk, l, (int)c->set->timeout_ms);
	off = err ? -1 : l->elems[0].err ? -1 : l->elems[0].offset;
	rd_kafka_topic_partition_list_destroy(l);
	if (off >= 0)
		return off;
	err = rd_kafka_query_watermark_offsets(c->rk, topic, partition, &lo, &hi, (int)c->set->timeout_ms);
	if (err)
		ec_die(EX_UNAVAILABLE, "%s/%" PRId32 ": watermarks: %s", topic, partition, rd_kafka_err2str(err));
	if (lo >= hi)
		return RD_KAFKA_OFFSET_END;
	ec_debug("%s/%" PRId32 ": no offset by time from the broker: searching [%" PRId64 ", %" PRId64 ")", topic,
		 partition, lo, hi);
	probe_open(c);
	off = ec_kafka_search_time(lo, hi, ms, probe_ts, &pc);
	if (off < 0)
		ec_die(EX_UNAVAILABLE, "%s/%" PRId32 ": searching by time failed", topic, partition);
	return off;
}

/* Where a partition starts: the ack file's offset, else --from. */
static int64_t start_offset(struct consumer *c, const char *topic, int32_t partition)
{
	const char *f = c->set->from;
	int64_t off = acked_offset(c, topic, partition);
	uint64_t u;

	if (off >= 0)
		return off;
	if (c->from_time)
		return offset_for_time(c, topic, partition, c->from_ms);
	if (!f)
		return c->set->group ? RD_KAFKA_OFFSET_STORED : RD_KAFKA_OFFSET_BEGINNING;
	if (!strcmp(f, "beginning"))
		return RD_KAFKA_OFFSET_BEGINNING;
	if (!strcmp(f, "end"))
		return RD_KAFKA_OFFSET_END;
	if (!strcmp(f, "stored"))
		return RD_KAFKA_OFFSET_STORED;
	if (ec_kafka_parse_u64(f, strlen(f), &u) == 0 && u <= INT64_MAX)
		return (int64_t)u;
	return RD_KAFKA_OFFSET_BEGINNING;
}

static void parse_from(struct consumer *c)
{
	const char *f = c->set->from;
	char err[512];
	uint64_t u;

	c->from_time = 0;
	if (f && strcmp(f, "beginning") && strcmp(f, "end") && strcmp(f, "stored") &&
	    ec_kafka_parse_u64(f, strlen(f), &u) < 0) {
		if (ec_kafka_parse_time(f, (int64_t)time(NULL) * 1000, &c->from_ms, err, sizeof(err)) < 0)
			ec_usage_error("--from: %s", err);
		c->from_time = 1;
	}
	if (c->set->until) {
		if (ec_kafka_parse_time(c->set->until, (int64_t)time(NULL) * 1000, &c->until_ms, err, sizeof(err)) < 0)
			ec_usage_error("--until: %s", err);
		c->has_until = 1;
	}
}

/* Resolve start offsets of LIST in place and remember the partitions. */
static void prepare_assignment(struct consumer *c, rd_kafka_topic_partition_list_t *l)
{
	struct cpart *p;
	int i;

	for (i = 0; i < l->cnt; i++) {
		p = part_get(c, l->elems[i].topic, l->elems[i].partition, 1);
		if (!p->assigned) {
			p->assigned = 1;
			c->nassigned++;
		}
		/*
		 * A partition read before (a rebalance back to us): another member may
		 * have read on meanwhile, so the group's committed offset; with --ack
		 * where this pipeline was (its checkpoint holds it).
		 */
		if (p->next >= 0)
			p->start = c->set->group && !c->set->ack_path ? RD_KAFKA_OFFSET_STORED : p->next;
		else
			p->start = start_offset(c, p->topic, p->partition);
		l->elems[i].offset = p->start;
	}
}

static void unassign_all(struct consumer *c)
{
	size_t i;

	for (i = 0; i < c->nparts; i++) {
		if (c->parts[i].assigned && c->parts[i].done)
			c->ndone--;
		c->parts[i].assigned = 0;
		c->parts[i].done = 0;
	}
	c->nassigned = 0;
}

static void commit_acked(struct consumer *c);

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l, void *opaque)
{
	struct consumer *c = opaque;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		prepare_assignment(c, l);
		ec_info("assigned %d partitions", l->cnt);
		rd_kafka_assign(rk, l);
		/* A member may commit only once it has joined. */
		if (c->commit_pending) {
			c->commit_pending = 0;
			commit_acked(c);
		}
	} else {
		ec_info("revoked %d partitions", l->cnt);
		/* What was written must be committed before another member takes the partitions over. */
		if (!c->set->ack_path) {
			ec_out_flush();
			rd_kafka_commit(rk, NULL, 0);
		}
		unassign_all(c);
		rd_kafka_assign(rk, NULL);
	}
}

/* --partitions or every partition of every -t: the static assignment. */
static void assign_static(struct consumer *c)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t err;
	int32_t *want = NULL;
	size_t nwant = 0, k;
	char errbuf[256];
	int i, j;

	if (c->set->partitions && ec_kafka_parse_partitions(c->set->partitions, &want, &nwant, errbuf, sizeof(errbuf)) < 0)
		ec_usage_error("--partitions: %s", errbuf);
	for (i = 0; i < c->set->ntopics; i++) {
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, c->set->topics[i], NULL);

		err = rd_kafka_metadata(c->rk, 0, rkt, &md, (int)c->set->timeout_ms);
		rd_kafka_topic_destroy(rkt);
		if (err)
			ec_die(EX_UNAVAILABLE, "topic %s: metadata: %s", c->set->topics[i], rd_kafka_err2str(err));
		if (md->topics[0].err) {
			ec_error("topic %s: %s", c->set->topics[i], rd_kafka_err2str(md->topics[0].err));
			rd_kafka_metadata_destroy(md);
			ec_exit(EX_UNAVAILABLE);
		}
		for (j = 0; j < md->topics[0].partition_cnt; j++) {
			int32_t id = md->topics[0].partitions[j].id;

			for (k = 0; want && k < nwant && want[k] != id; k++)
				;
			if (!want || k < nwant)
				rd_kafka_topic_partition_list_add(l, c->set->topics[i], id);
		}
		rd_kafka_metadata_destroy(md);
	}
	if (l->cnt == 0)
		ec_die(EX_USAGE, "--partitions %s: none of them exist", c->set->partitions);
	rd_kafka_topic_partition_list_sort(l, NULL, NULL);
	prepare_assignment(c, l);
	err = rd_kafka_assign(c->rk, l);
	if (err)
		ec_die(EX_SOFTWARE, "assign: %s", rd_kafka_err2str(err));
	rd_kafka_topic_partition_list_destroy(l);
	free(want);
}

/* ---- output ---- */

enum { DONE_EOF = 1, DONE_UNTIL };

static void mark_done(struct consumer *c, struct cpart *p, int why)
{
	if (p && p->assigned && !p->done) {
		p->done = why;
		c->ndone++;
	}
	if (c->nassigned && c->ndone >= c->nassigned)
		c->stop = 1;
}

static void reject(struct consumer *c, const rd_kafka_message_t *m, const char *reason)
{
	struct ec_buf name = EC_BUF_INIT;
	struct ec_line line;

	ec_buf_addf(&name, "%s/%" PRId32, rd_kafka_topic_name(m->rkt), m->partition);
	line.p = m->payload ? m->payload : "";
	line.n = m->len;
	line.file = name.buf;
	line.lineno = (uint64_t)m->offset;
	c->rejected++;
	ec_reject(c->set->pol, &line, "%s", reason);
	ec_buf_release(&name);
}

/* Whether DATA is one JSON object; ERR says why not. */
static int is_object(struct consumer *c, const void *data, size_t n, struct ec_jerr *err)
{
	struct ec_jval none;

	return data && ec_json_scan(c->ps, data, n, &none, err) == 0;
}

/* Append the JSON object DATA as one line: raw newlines (whitespace in valid JSON) become spaces. */
static void add_object(struct ec_buf *b, const char *data, size_t n)
{
	size_t start = b->len, i;

	ec_buf_add(b, data, n);
	if (memchr(data, '\n', n) || memchr(data, '\r', n))
		for (i = start; i < b->len; i++)
			if (b->buf[i] == '\n' || b->buf[i] == '\r')
				b->buf[i] = ' ';
}

static void envelope_bytes(struct consumer *c, const void *data, size_t n, int maybe_json)
{
	struct ec_jerr err;

	if (!data)
		ec_buf_addstr(&c->line, "null");
	else if (c->set->base64) {
		ec_buf_addch(&c->line, '"');
		ec_base64_encode(&c->line, data, n);
		ec_buf_addch(&c->line, '"');
	} else if (maybe_json && is_object(c, data, n, &err))
		add_object(&c->line, data, n);
	else
		ec_jsonw_str(&c->line, data, n);
}

static void envelope_headers(struct consumer *c, const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *h = NULL;
	const char *name;
	const void *val;
	size_t size, i;

	ec_buf_addstr(&c->line, ",\"headers\":{");
	if (rd_kafka_message_headers(m, &h) == 0)
		for (i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == 0; i++) {
			if (i)
				ec_buf_addch(&c->line, ',');
			ec_jsonw_key(&c->line, name);
			if (val)
				ec_jsonw_str(&c->line, val, size);
			else
				ec_buf_addstr(&c->line, "null");
		}
	ec_buf_addch(&c->line, '}');
}

/* Output collects in c->line and goes out in large writes: a write per message costs more than the message. */
static void drain(struct consumer *c)
{
	ec_out_buf(&c->line);
	ec_buf_reset(&c->line);
}

static void maybe_drain(struct consumer *c)
{
	if (c->line.len >= (64u << 10))
		drain(c);
}

static void write_envelope(struct consumer *c, const rd_kafka_message_t *m, int64_t ts)
{
	ec_buf_addstr(&c->line, "{\"topic\":");
	ec_jsonw_cstr(&c->line, rd_kafka_topic_name(m->rkt));
	ec_buf_addf(&c->line, ",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"timestamp\":", m->partition,
		    m->offset);
	if (ts >= 0)
		ec_jsonw_i64(&c->line, ts);
	else
		ec_buf_addstr(&c->line, "null");
	ec_buf_addstr(&c->line, ",\"key\":");
	envelope_bytes(c, m->key, m->key_len, 0);
	envelope_headers(c, m);
	ec_buf_addstr(&c->line, ",\"value\":");
	envelope_bytes(c, m->payload, m->len, 1);
	ec_buf_addstr(&c->line, "}\n");
	maybe_drain(c);
}

/* 1 when M repeats a position already seen for its source in its partition (a replay). */
static int is_replay(struct consumer *c, const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *h;
	const void *src, *pos;
	size_t slen, plen;
	uint64_t u;

	if (rd_kafka_message_headers(m, &h) != 0 ||
	    rd_kafka_header_get_last(h, EC_KAFKA_HDR_SOURCE, &src, &slen) != 0 || !src ||
	    rd_kafka_header_get_last(h, EC_KAFKA_HDR_POS, &pos, &plen) != 0 || !pos ||
	    ec_kafka_parse_u64(pos, plen, &u) < 0)
		return 0;
	if (ec_kafka_marks_admit(&c->marks, rd_kafka_topic_name(m->rkt), m->partition, src, slen, u))
		return 0;
	c->dropped++;
	ec_debug("%s/%" PRId32 ":%" PRId64 ": dropped a replay: %s %.*s at %" PRIu64 " is not beyond its mark",
		 rd_kafka_topic_name(m->rkt), m->partition, m->offset, EC_KAFKA_HDR_SOURCE, (int)slen,
		 (const char *)src, u);
	return 1;
}

static void handle_message(struct consumer *c, rd_kafka_message_t *m)
{
	struct cpart *p = part_get(c, rd_kafka_topic_name(m->rkt), m->partition, 0);
	rd_kafka_timestamp_type_t tt;
	struct ec_jerr jerr;
	char reason[200];
	int64_t ts = rd_kafka_message_timestamp(m, &tt);

	if (p && p->done)
		return;
	/* Fetched before a rebalance took the partition away: its new owner reads it. */
	if (c->set->group && (!p || !p->assigned))
		return;
	if (c->has_until && ts >= c->until_ms) {
		mark_done(c, p, DONE_UNTIL);
		return;
	}
	if (p)
		p->next = m->offset + 1;
	if (is_replay(c, m))
		goto stored;
	if (c->set->envelope) {
		write_envelope(c, m, tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts);
	} else if (!m->payload) {
		goto stored;	/* a tombstone has no record to pass on */
	} else if (EC_LIKELY(is_object(c, m->payload, m->len, &jerr))) {
		add_object(&c->line, m->payload, m->len);
		ec_buf_addch(&c->line, '\n');
		maybe_drain(c);
	} else {
		snprintf(reason, sizeof(reason), "column %zu: %s", jerr.offset + 1, jerr.msg);
		reject(c, m, reason);
		goto stored;
	}
	c->written++;
	if (c->set->count && c->written >= c->set->count)
		c->stop = 1;
stored:
	/* Without --ack the group's offset follows what was written (pg_recvlogical's semantics). */
	if (c->set->group && !c->set->ack_path) {
		drain(c);
		rd_kafka_offset_store(m->rkt, m->partition, m->offset);
	}
}

/* ---- checkpoints ---- */

static int cmp_part(const void *a, const void *b)
{
	const struct cpart *x = a, *y = b;
	int r = strcmp(x->topic, y->topic);

	return r ? r : (x->partition > y->partition) - (x->partition < y->partition);
}

/* The position: next offsets per topic/partition and the dedup marks, as JSON text in c->pos. */
static void build_pos(struct consumer *c)
{
	struct cpart *v = xcalloc(c->nparts + 1, sizeof(*v));
	size_t i, n = 0;
	int64_t off;
	const char *last = NULL;

	for (i = 0; i < c->nparts; i++) {
		v[n] = c->parts[i];
		off = v[n].next >= 0 ? v[n].next : acked_offset(c, v[n].topic, v[n].partition);
		if (off < 0)
			continue;
		v[n++].next = off;
	}
	qsort(v, n, sizeof(*v), cmp_part);
	ec_buf_reset(&c->pos);
	ec_buf_addstr(&c->pos, "{\"offsets\":{");
	for (i = 0; i < n; i++) {
		if (!last || strcmp(last, v[i].topic)) {
			if (last)
				ec_buf_addstr(&c->pos, "},");
			ec_jsonw_key(&c->pos, v[i].topic);
			ec_buf_addch(&c->pos, '{');
		} else {
			ec_buf_addch(&c->pos, ',');
		}
		ec_buf_addf(&c->pos, "\"%" PRId32 "\":%" PRId64, v[i].partition, v[i].next);
		last = v[i].topic;
	}
	ec_buf_addstr(&c->pos, n ? "}}" : "}");
	ec_buf_addstr(&c->pos, ",\"marks\":");
	ec_kafka_marks_json(&c->marks, &c->pos);
	ec_buf_addch(&c->pos, '}');
	free(v);
}

/* The ack file moved: commit its offsets to the group, so lag shows what has landed. */
static void commit_acked(struct consumer *c)
{
	const char *path[] = { "offsets", NULL };
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t err;
	yajl_val root, offs, t, o;
	size_t i, j;

	if (!c->set->group || !c->src.acked_pos)
		return;
	if (!(root = yajl_tree_parse(c->src.acked_pos, NULL, 0)))
		return;
	offs = yajl_tree_get(root, path, yajl_t_object);
	l = rd_kafka_topic_partition_list_new(16);
	for (i = 0; offs && i < offs->u.object.len; i++) {
		t = offs->u.object.values[i];
		for (j = 0; YAJL_IS_OBJECT(t) && j < t->u.object.len; j++) {
			o = t->u.object.values[j];
			if (YAJL_IS_INTEGER(o))
				rd_kafka_topic_partition_list_add(l, offs->u.object.keys[i],
								  (int32_t)atoi(t->u.object.keys[j]))->offset =
					YAJL_GET_INTEGER(o);
		}
	}
	if (l->cnt && (err = rd_kafka_commit(c->rk, l, 0)))
		ec_warn("committing acknowledged offsets to group %s: %s", c->set->group, rd_kafka_err2str(err));
	else if (l->cnt)
		ec_debug("committed %d acknowledged offsets to group %s", l->cnt, c->set->group);
	rd_kafka_topic_partition_list_destroy(l);
	yajl_tree_free(root);
}

static void barrier(struct consumer *c)
{
	drain(c);
	build_pos(c);
	ec_buf_reset(&c->out);
	if (ec_source_barrier(&c->src, c->pos.buf, &c->out))
		commit_acked(c);
	ec_out_buf(&c->out);
	ec_out_flush();
}

static void load_ack(struct consumer *c)
{
	const char *pm[] = { "marks", NULL };
	char err[512], *text;
	yajl_val marks;
	int st;

	if ((st = ec_source_init(&c->src, c->set->ack_path, c->set->checkpoint_interval_ms)))
		ec_exit(st);
	if (!c->src.acked_pos || !strcmp(c->src.acked_pos, "null"))
		return;
	c->acked = yajl_tree_parse(c->src.acked_pos, NULL, 0);
	if (!c->acked || !YAJL_IS_OBJECT(c->acked))
		ec_die(EX_DATAERR, "%s: \"pos\" must be ec-kcat consume's {\"offsets\",\"marks\"}", c->set->ack_path);
	marks = yajl_tree_get(c->acked, pm, yajl_t_object);
	if (marks) {
		/* The marks' JSON text, rebuilt from the tree: the loader reads text. */
		struct ec_buf b = EC_BUF_INIT;
		size_t i, j, k;

		ec_buf_addch(&b, '{');
		for (i = 0; i < marks->u.object.len; i++) {
			yajl_val t = marks->u.object.values[i];

			ec_buf_addstr(&b, i ? "," : "");
			ec_jsonw_key(&b, marks->u.object.keys[i]);
			ec_buf_addch(&b, '{');
			for (j = 0; YAJL_IS_OBJECT(t) && j < t->u.object.len; j++) {
				yajl_val p = t->u.object.values[j];

				ec_buf_addstr(&b, j ? "," : "");
				ec_jsonw_key(&b, t->u.object.keys[j]);
				ec_buf_addch(&b, '{');
				for (k = 0; YAJL_IS_OBJECT(p) && k < p->u.object.len; k++) {
					ec_buf_addstr(&b, k ? "," : "");
					ec_jsonw_key(&b, p->u.object.keys[k]);
					if (YAJL_IS_INTEGER(p->u.object.values[k]))
						ec_jsonw_i64(&b, YAJL_GET_INTEGER(p->u.object.values[k]));
					else
						ec_buf_addstr(&b, "null");
				}
				ec_buf_addch(&b, '}');
			}
			ec_buf_addch(&b, '}');
		}
		ec_buf_addch(&b, '}');
		text = ec_buf_detach(&b, NULL);
		if (ec_kafka_marks_load(&c->marks, text, err, sizeof(err)) < 0)
			ec_die(EX_DATAERR, "%s: %s", c->set->ack_path, err);
		free(text);
	}
}

/* ---- the run ---- */

static rd_kafka_conf_t *consumer_conf(struct consumer *c)
{
	struct ec_kafka_settings *set = c->set;
	rd_kafka_conf_t *conf;
	char err[512];

	if (!(conf = ec_kafka_conf_new(set, err, sizeof(err))))
		ec_usage_error("%s", err);
#define DEFAULT(name, value) \
	do { \
		if (!ec_kafka_prop_given(set, name)) \
			ec_kafka_conf_set(conf, name, value, err, sizeof(err)); \
	} while (0)
	DEFAULT("isolation.level", "read_committed");
	DEFAULT("auto.offset.reset", "earliest");
	DEFAULT("enable.partition.eof", set->exit_at_end ? "true" : "false");
	/* Offsets are stored after the line is written, or (--ack) committed when acknowledged. */
	DEFAULT("enable.auto.offset.store", "false");
	DEFAULT("enable.auto.commit", set->ack_path ? "false" : "true");
	DEFAULT("queued.min.messages", "100000");
#undef DEFAULT
	if (set->group) {
		if (ec_kafka_conf_set(conf, "group.id", set->group, err, sizeof(err)) < 0)
			ec_usage_error("-G: %s", err);
		rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
	} else {
		/* librdkafka wants a group even to assign; this one never commits. */
		ec_kafka_conf_set(conf, "group.id", "ec-kcat-assign", err, sizeof(err));
		ec_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
	}
	rd_kafka_conf_set_opaque(conf, c);
	return conf;
}

static void subscribe(struct consumer *c)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(c->set->ntopics);
	rd_kafka_resp_err_t err;
	int i;

	for (i = 0; i < c->set->ntopics; i++)
		rd_kafka_topic_partition_list_add(l, c->set->topics[i], RD_KAFKA_PARTITION_UA);
	if ((err = rd_kafka_subscribe(c->rk, l)))
		ec_die(EX_UNAVAILABLE, "subscribe: %s", rd_kafka_err2str(err));
	rd_kafka_topic_partition_list_destroy(l);
}

static void handle_event(struct consumer *c, rd_kafka_message_t *m)
{
	if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
		if (c->set->exit_at_end)
			mark_done(c, part_get(c, rd_kafka_topic_name(m->rkt), m->partition, 0), DONE_EOF);
	} else if (m->err) {
		if (rd_kafka_fatal_error(c->rk, NULL, 0) || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
		    m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
			ec_die(EX_UNAVAILABLE, "%s", rd_kafka_message_errstr(m));
		ec_warn("%s", rd_kafka_message_errstr(m));
	} else if (!c->stop) {
		handle_message(c, m);
	}
	rd_kafka_message_destroy(m);
}

#define BATCH 1024

/*
 * Whether every partition was read up to --until: the history this run was
 * asked for is complete, and (with --ack) the stages write what they would at
 * the end of their input before the last barrier, so that it is acknowledged
 * too. --exit-at-end and --count stop an increment: the next run goes on.
 */
static int history_ended(const struct consumer *c)
{
	size_t i;

	if (!ec_run || !c->has_until || !c->nassigned)
		return 0;
	for (i = 0; i < c->nparts; i++)
		if (c->parts[i].assigned && c->parts[i].done != DONE_UNTIL)
			return 0;
	return 1;
}

/*
 * Take what the consumer queue holds in one batch (one lock, no waiting);
 * only when it is empty block in consumer_poll, which also serves rebalances.
 */
static void loop(struct consumer *c)
{
	rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(c->rk);
	rd_kafka_message_t *msgs[BATCH], *m;
	ssize_t n, i;
	int wait;

	while (ec_run && !c->stop) {
		n = rd_kafka_consume_batch_queue(q, 0, msgs, BATCH);
		for (i = 0; i < n; i++)
			handle_event(c, msgs[i]);
		if (n <= 0) {
			wait = c->set->ack_path ? ec_source_wait_ms(&c->src) : 100;
			if (wait > 100 || wait < 0)
				wait = 100;
			drain(c);
			ec_out_flush();
			if ((m = rd_kafka_consumer_poll(c->rk, wait)))
				handle_event(c, m);
		}
		if (c->set->ack_path && ec_source_due(&c->src))
			barrier(c);
	}
	rd_kafka_queue_destroy(q);
}

int ec_kafka_consume(struct ec_kafka_settings *set)
{
	struct consumer c = { .set = set };
	char err[512];
	size_t i;

	parse_from(&c);
	ec_kafka_marks_init(&c.marks);
	c.ps = ec_pathset_new();
	if (set->ack_path)
		load_ack(&c);
	else
		ec_source_init(&c.src, NULL, 0);
	if (!(c.rk = rd_kafka_new(RD_KAFKA_CONSUMER, consumer_conf(&c), err, sizeof(err))))
		ec_die(EX_SOFTWARE, "%s", err);
	rd_kafka_poll_set_consumer(c.rk);
	if (set->ack_path) {
		ec_source_restore(&c.src, &c.out);
		ec_out_buf(&c.out);
		ec_out_flush();
	}
	if (set->group)
		subscribe(&c);
	else
		assign_static(&c);
	/* What the last run got acknowledged may not have reached the group yet. */
	c.commit_pending = 1;
	if (c.probe) {
		rd_kafka_consumer_close(c.probe);
		rd_kafka_destroy(c.probe);
		c.probe = NULL;
	}
	loop(&c);
	drain(&c);
	if (set->ack_path && history_ended(&c))
		ec_out_write(EC_END_RECORD, strlen(EC_END_RECORD));
	ec_out_flush();
	if (set->ack_path)
		barrier(&c);
	if (c.dropped)
		ec_info("dropped %" PRIu64 " replayed messages (ec-pos not beyond its mark)", c.dropped);
	ec_errpolicy_finish(set->pol);
	rd_kafka_consumer_close(c.rk);
	if (c.probe)
		rd_kafka_destroy(c.probe);
	rd_kafka_destroy(c.rk);
	for (i = 0; i < c.nparts; i++)
		free(c.parts[i].topic);
	free(c.parts);
	yajl_tree_free(c.acked);
	ec_source_release(&c.src);
	ec_kafka_marks_release(&c.marks);
	ec_pathset_free(c.ps);
	ec_buf_release(&c.out);
	ec_buf_release(&c.line);
	ec_buf_release(&c.pos);
	ec_buf_release(&c.tmp);
	return 0;
}
