/* kafka_produce.c: `ec-kcat produce`: records to Kafka messages, every delivery checked, the sink role of the checkpoint protocol. */
#include "ec.h"
#include "kafka.h"
#include "ckpt.h"
#include "jsonw.h"
#include "log.h"
#include "opt.h"
#include "path.h"
#include "sink.h"
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <yajl/yajl_tree.h>

/* A topic the producer has sent to, with its partition count (looked up once, for --ack). */
struct ptopic {
	char *name;
	rd_kafka_topic_t *rkt;
	int32_t partitions;	/* 0 until needed */
};

struct field {
	int slot;
	int before_slot;	/* the same path under .before, for deletes; -1 if none */
	const char *leaf;	/* for --key-format debezium */
	char *text;
};

struct header {
	char *name;
	int slot;
	char *path;
};

/* The envelope's fields, when produce --envelope reads consume --envelope's lines. */
struct envelope_slots {
	int topic, partition, key, headers, timestamp, value;
};

struct producer {
	struct ec_kafka_settings *set;
	rd_kafka_t *rk;
	struct ec_pathset *ps;
	struct ec_jval *slots;
	struct field *keys;
	size_t nkeys;
	struct ec_path *key_paths;
	struct header *hdrs;
	size_t nhdrs;
	int ts_slot, op_slot;
	struct envelope_slots env;
	struct ec_kafka_tmpl *tmpl;
	struct ptopic *topics;
	size_t ntopics, topics_alloc;
	struct ptopic *last;
	struct ec_sink sink;
	uint64_t pos;			/* messages produced: the ec-pos of the last one */
	int numbered;			/* messages carry ec-source and ec-pos */
	int in_txn;
	struct ec_buf key, topic, out, tmp, posbuf;
	const struct ec_reader *reader;	/* for naming input lines in delivery reports */
	/* Delivery reports, written by whichever thread serves them (serve_reports, poll_main). */
	pthread_t poller;
	atomic_int stop;
	atomic_int failed;
	pthread_mutex_t lock;
	rd_kafka_resp_err_t fail_err;
	uint64_t fail_opaque;
	char fail_reason[256];
	atomic_uint_fast64_t delivered;
	atomic_int main_served;		/* the main thread served reports since the poll thread last looked */
	unsigned sent_unserved;		/* messages sent since the main thread last served reports */
};

/* A message's opaque: the input file's index in the high 16 bits, its line number below. */
#define OPAQUE(fileidx, lineno) ((void *)(uintptr_t)(((uint64_t)(fileidx) << 48) | ((lineno) & 0xffffffffffffULL)))

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct producer *p = opaque;

	(void)rk;
	if (!m->err) {
		atomic_fetch_add(&p->delivered, 1);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (!atomic_load(&p->failed)) {
		p->fail_err = m->err;
		p->fail_opaque = (uint64_t)(uintptr_t)m->_private;
		snprintf(p->fail_reason, sizeof(p->fail_reason), "%s", rd_kafka_err2str(m->err));
		atomic_store(&p->failed, 1);
	}
	pthread_mutex_unlock(&p->lock);
}

/*
 * Delivery reports are served by the main thread between messages, as long
 * as input flows: the messages librdkafka allocated on it are then freed on
 * it too (no second thread contends for malloc's arena, whose free lists
 * then fragment less), and no thread is woken for every batch of reports
 * (futex calls for 300k records: about 10000 before, 1500 after). The poll
 * thread is the fallback for when the reader blocks on a quiet stdin:
 * reports (and failures) must still arrive then.
 * rd_kafka_conf_set_background_event_cb would do as well but hands over raw
 * events; rd_kafka_poll keeps the ordinary delivery callback.
 */
static void serve_reports(struct producer *p, int timeout_ms)
{
	rd_kafka_poll(p->rk, timeout_ms);
	atomic_store_explicit(&p->main_served, 1, memory_order_relaxed);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The poll thread: it serves reports only while the main thread has not for a while (POLL_IDLE_MS). */
#define POLL_IDLE_MS 20
/* The main thread serves reports after this many messages: a poll per message costs more than the reports. */
#define SERVE_EVERY 32

static void *poll_main(void *arg)
{
	struct producer *p = arg;

	while (!atomic_load(&p->stop)) {
		if (atomic_exchange(&p->main_served, 0))
			sleep_ms(POLL_IDLE_MS);
		else
			rd_kafka_poll(p->rk, POLL_IDLE_MS);
	}
	rd_kafka_poll(p->rk, 0);
	return NULL;
}

static void start_poller(struct producer *p)
{
	sigset_t all, old;

	/* Signals belong to the main thread: it is the one that stops reading. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&p->poller, NULL, poll_main, p) != 0)
		ec_die(EX_OSERR, "cannot start the delivery report thread");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void EC_NORETURN die_delivery(struct producer *p)
{
	uint64_t o = p->fail_opaque;
	int fi = (int)(o >> 48);
	const char *name = "stdin";

	if (fi < p->set->nfiles && strcmp(p->set->files[fi], "-"))
		name = p->set->files[fi];
	ec_die(ec_kafka_status(p->fail_err), "%s:%" PRIu64 ": delivery failed: %s", name, (uint64_t)(o & 0xffffffffffffULL),
	       p->fail_reason);
}

static void check_failed(struct producer *p)
{
	if (EC_UNLIKELY(atomic_load(&p->failed)))
		die_delivery(p);
}

/* Wait until every message sent so far has its delivery report: all delivered, or a failure exits. */
static void wait_delivered(struct producer *p)
{
	while (rd_kafka_outq_len(p->rk) > 0) {
		check_failed(p);
		serve_reports(p, 1);
	}
	check_failed(p);
}

/* ---- setup ---- */

static int add_path(struct producer *p, const char *text, const char *option)
{
	return ec_pathset_add_text(p->ps, text, option);
}

/* The same path with its leading .after replaced by .before, or -1. */
static int before_slot(struct producer *p, const char *text)
{
	struct ec_buf b = EC_BUF_INIT;
	int slot;

	if (strncmp(text, ".after", 6) || (text[6] != '.' && text[6] != '['))
		return -1;
	ec_buf_addf(&b, ".before%s", text + 6);
	slot = add_path(p, b.buf, "--key");
	ec_buf_release(&b);
	return slot;
}

static void setup_keys(struct producer *p)
{
	char *list = xstrdup(p->set->key), *save = NULL, *tok, err[256];
	size_t alloc = 0, palloc = 0;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		EC_GROW(p->keys, p->nkeys + 1, alloc);
		EC_GROW(p->key_paths, p->nkeys + 1, palloc);
		if (ec_path_parse(&p->key_paths[p->nkeys], tok, err, sizeof(err)) < 0)
			ec_usage_error("--key: %s", err);
		p->keys[p->nkeys].text = xstrdup(tok);
		p->keys[p->nkeys].slot = add_path(p, tok, "--key");
		p->keys[p->nkeys].before_slot = before_slot(p, tok);
		p->keys[p->nkeys].leaf = ec_path_leaf(&p->key_paths[p->nkeys]);
		if (p->set->key_format == EC_KEY_DEBEZIUM && !p->keys[p->nkeys].leaf)
			ec_usage_error("--key-format debezium: %s has no field name to use as the key's", tok);
		p->nkeys++;
	}
	free(list);
	if (!p->nkeys)
		ec_usage_error("--key: no path given");
}

static void setup_headers(struct producer *p)
{
	const char *eq;
	int i;

	p->hdrs = xcalloc((size_t)p->set->nheaders + 1, sizeof(*p->hdrs));
	for (i = 0; i < p->set->nheaders; i++) {
		eq = strchr(p->set->headers[i], '=');
		if (!eq || eq == p->set->headers[i])
			ec_usage_error("--header %s: expected NAME=PATH", p->set->headers[i]);
		p->hdrs[i].name = xstrndup(p->set->headers[i], (size_t)(eq - p->set->headers[i]));
		p->hdrs[i].path = xstrdup(eq + 1);
		p->hdrs[i].slot = add_path(p, eq + 1, "--header");
	}
	p->nhdrs = (size_t)p->set->nheaders;
}

static void setup_fields(struct producer *p)
{
	struct ec_kafka_settings *set = p->set;
	char err[256];

	p->ps = ec_record_pathset_new();
	p->ts_slot = p->op_slot = -1;
	memset(&p->env, 0xff, sizeof(p->env));
	if (set->envelope) {
		p->env.topic = add_path(p, ".topic", "--envelope");
		p->env.partition = add_path(p, ".partition", "--envelope");
		p->env.key = add_path(p, ".key", "--envelope");
		p->env.headers = add_path(p, ".headers", "--envelope");
		p->env.timestamp = add_path(p, ".timestamp", "--envelope");
		p->env.value = add_path(p, ".value", "--envelope");
	}
	if (set->key)
		setup_keys(p);
	setup_headers(p);
	if (set->timestamp)
		p->ts_slot = add_path(p, set->timestamp, "--timestamp");
	if (set->tombstones || set->key)
		p->op_slot = add_path(p, ".op", "--tombstones");
	if (set->ntopics) {
		p->tmpl = ec_kafka_tmpl_new(set->topics[0], p->ps, err, sizeof(err));
		if (!p->tmpl)
			ec_usage_error("-t: %s", err);
	}
	p->slots = xcalloc(ec_pathset_size(p->ps), sizeof(*p->slots));
}

static void set_default(rd_kafka_conf_t *conf, struct ec_kafka_settings *set, const char *name,
			const char *value)
{
	char err[512];

	if (!ec_kafka_prop_given(set, name) && ec_kafka_conf_set(conf, name, value, err, sizeof(err)) < 0)
		ec_die(EX_SOFTWARE, "%s", err);
}

/*
 * The queue's default size: 16 MB, or room for two of the largest messages
 * allowed (a message bigger than the whole queue would never get in).
 */
static void queue_default(rd_kafka_conf_t *conf, struct ec_kafka_settings *set)
{
	char v[64], num[32];
	size_t n = sizeof(v);
	long long kbytes = 16384, max_bytes;

	if (rd_kafka_conf_get(conf, "message.max.bytes", v, &n) == RD_KAFKA_CONF_OK &&
	    (max_bytes = strtoll(v, NULL, 10)) / 512 > kbytes)
		kbytes = max_bytes / 512;
	snprintf(num, sizeof(num), "%lld", kbytes);
	set_default(conf, set, "queue.buffering.max.kbytes", num);
}

/*
 * Defaults checked with tests/bench/kcat: librdkafka's own batching (5 ms
 * linger, 10000 messages, 1 MB batches, no compression) was as fast as any
 * longer linger or bigger batch on the mock cluster. Its queue (up to 100000
 * messages, about 70 MB of heap for 470 B records) is not: the heap pages
 * the producer touches first are most of its system time, and a 16 MB queue
 * (the Java client buffers 32 MB) took a fifth off the producer's CPU time
 * for 1M records with the same batches. -X overrides all of them.
 */
static rd_kafka_conf_t *producer_conf(struct producer *p)
{
	struct ec_kafka_settings *set = p->set;
	rd_kafka_conf_t *conf;
	char err[512], num[32];

	if (!(conf = ec_kafka_conf_new(set, err, sizeof(err))))
		ec_usage_error("%s", err);
	set_default(conf, set, "enable.idempotence", "true");
	set_default(conf, set, "partitioner", "murmur2_random");
	queue_default(conf, set);
	snprintf(num, sizeof(num), "%" PRId64, set->timeout_ms);
	set_default(conf, set, "message.timeout.ms", num);
	/* A transaction must outlive the delivery of its messages. */
	if (set->transactional_id)
		set_default(conf, set, "transaction.timeout.ms", num);
	if (set->transactional_id && ec_kafka_conf_set(conf, "transactional.id", set->transactional_id, err,
						       sizeof(err)) < 0)
		ec_usage_error("--transactional-id: %s", err);
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_conf_set_opaque(conf, p);
	return conf;
}

/* ---- topics ---- */

static struct ptopic *topic_get(struct producer *p, const char *name)
{
	size_t i;

	if (EC_LIKELY(p->last && !strcmp(p->last->name, name)))
		return p->last;
	for (i = 0; i < p->ntopics; i++)
		if (!strcmp(p->topics[i].name, name))
			return p->last = &p->topics[i];
	EC_GROW(p->topics, p->ntopics + 1, p->topics_alloc);
	p->topics[p->ntopics].name = xstrdup(name);
	p->topics[p->ntopics].rkt = rd_kafka_topic_new(p->rk, name, NULL);
	p->topics[p->ntopics].partitions = 0;
	if (!p->topics[p->ntopics].rkt)
		ec_die(EX_SOFTWARE, "topic %s: %s", name, rd_kafka_err2str(rd_kafka_last_error()));
	p->last = NULL;
	return p->last = &p->topics[p->ntopics++];
}

/* The partition count of T, from the brokers' metadata (waiting while they are down). */
static int32_t topic_partitions(struct producer *p, struct ptopic *t)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t err;
	int64_t waited = 0;

	while (!t->partitions) {
		err = rd_kafka_metadata(p->rk, 0, t->rkt, &md, 5000);
		if (!err && md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
			t->partitions = md->topics[0].partition_cnt;
		else if (!err && md->topic_cnt == 1 && md->topics[0].err)
			err = md->topics[0].err;
		if (!err)
			rd_kafka_metadata_destroy(md);
		if (t->partitions)
			break;
		waited += 5000;
		if (waited > p->set->timeout_ms)
			ec_die(EX_UNAVAILABLE, "topic %s: no partition count from the brokers: %s", t->name,
			       rd_kafka_err2str(err));
		sleep_ms(200);
	}
	return t->partitions;
}

/* ---- one record ---- */

/* The value a key or header is made of: strings decoded, everything else as JSON text. */
static int add_value_text(struct ec_buf *b, const struct ec_jval *v)
{
	if (v->type == EC_J_STRING)
		return ec_jval_str(v, b);
	ec_buf_add(b, v->p, v->n);
	return 0;
}

static const struct ec_jval *key_value(struct producer *p, const struct field *f)
{
	const struct ec_jval *v = &p->slots[f->slot];

	if ((v->type == EC_J_MISSING || v->type == EC_J_NULL) && f->before_slot >= 0)
		v = &p->slots[f->before_slot];
	return v;
}

/* Build the key into p->key. 0, or -1 with errstr (a missing key field). */
static int build_key(struct producer *p, char *errstr, size_t errstr_size)
{
	const struct ec_jval *v;
	const char *raw;
	size_t i, n;

	ec_buf_reset(&p->key);
	for (i = 0; i < p->nkeys; i++) {
		v = key_value(p, &p->keys[i]);
		if (v->type == EC_J_MISSING || v->type == EC_J_NULL) {
			snprintf(errstr, errstr_size, "key field %s is %s", p->keys[i].text,
				 v->type == EC_J_MISSING ? "missing" : "null");
			return -1;
		}
		if (p->set->key_format == EC_KEY_DEBEZIUM) {
			ec_buf_addch(&p->key, i ? ',' : '{');
			ec_jsonw_key(&p->key, p->keys[i].leaf);
		} else if (p->nkeys > 1) {
			ec_buf_addch(&p->key, i ? ',' : '[');
		}
		if (p->set->key_format == EC_KEY_PLAIN && p->nkeys == 1) {
			if (add_value_text(&p->key, v) < 0) {
				snprintf(errstr, errstr_size, "key field %s: bad string", p->keys[i].text);
				return -1;
			}
		} else {
			raw = ec_jval_raw(v, &n);
			ec_buf_add(&p->key, raw, n);
		}
	}
	if (p->set->key_format == EC_KEY_DEBEZIUM)
		ec_buf_addch(&p->key, '}');
	else if (p->nkeys > 1)
		ec_buf_addch(&p->key, ']');
	return 0;
}

/* The message's partition: -p, the envelope's, round robin by position for unkeyed --ack, or the partitioner. */
static int32_t pick_partition(struct producer *p, struct ptopic *t, int keyed, int32_t env_partition)
{
	if (p->set->partition >= 0)
		return p->set->partition;
	if (env_partition >= 0)
		return env_partition;
	/* Dedup is per (source, partition): with --ack a replay must land where the first try did. */
	if (!keyed && p->set->ack_path)
		return (int32_t)((p->pos - 1) % (uint64_t)topic_partitions(p, t));
	return RD_KAFKA_PARTITION_UA;
}

struct message {
	struct ptopic *topic;
	int32_t partition;
	const void *key;
	size_t key_len;
	const void *value;
	size_t value_len;
	int64_t timestamp;
	rd_kafka_headers_t *hdrs;	/* taken over by the send */
};

/* Send M (with its ec-source and ec-pos headers added). 0, or -1 with errstr for bad input. */
static int send_message(struct producer *p, const struct ec_line *line, struct message *m, int add_pos,
			char *errstr, size_t errstr_size)
{
	rd_kafka_resp_err_t err;
	int32_t part;
	int seen_empty = 0;

	p->pos++;
	if (add_pos) {
		if (!m->hdrs)
			m->hdrs = rd_kafka_headers_new(2);
		ec_buf_reset(&p->posbuf);
		ec_buf_addf(&p->posbuf, "%" PRIu64, p->pos);
		rd_kafka_header_add(m->hdrs, EC_KAFKA_HDR_SOURCE, -1, p->set->source_id, -1);
		rd_kafka_header_add(m->hdrs, EC_KAFKA_HDR_POS, -1, p->posbuf.buf, (ssize_t)p->posbuf.len);
	}
	part = pick_partition(p, m->topic, m->key != NULL, m->partition);
	for (;;) {
		void *opaque = OPAQUE(p->reader->cur > 0 ? p->reader->cur : 0, line->lineno);

		/* Headers cost an allocation per message: only when there are some. */
		if (m->hdrs)
			err = rd_kafka_producev(p->rk, RD_KAFKA_V_RKT(m->topic->rkt), RD_KAFKA_V_PARTITION(part),
						RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
						RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
						RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_TIMESTAMP(m->timestamp),
						RD_KAFKA_V_HEADERS(m->hdrs), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
		else
			err = rd_kafka_producev(p->rk, RD_KAFKA_V_RKT(m->topic->rkt), RD_KAFKA_V_PARTITION(part),
						RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
						RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
						RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_TIMESTAMP(m->timestamp),
						RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
		if (EC_LIKELY(!err)) {
			if (++p->sent_unserved == SERVE_EVERY) {
				p->sent_unserved = 0;
				serve_reports(p, 0);
			}
			return 0;
		}
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		check_failed(p);
		/*
		 * Full although the queue was empty before this try (only this
		 * thread produces): the message is bigger than the whole queue
		 * and would wait forever.
		 */
		if (rd_kafka_outq_len(p->rk) == 0) {
			if (seen_empty)
				break;
			seen_empty = 1;
			continue;
		}
		serve_reports(p, 1);
	}
	if (m->hdrs)
		rd_kafka_headers_destroy(m->hdrs);
	m->hdrs = NULL;
	p->pos--;
	if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
		snprintf(errstr, errstr_size, "message of %zu bytes is larger than %s", m->key_len + m->value_len,
			 err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? "queue.buffering.max.kbytes" : "message.max.bytes");
		return -1;
	}
	ec_die(ec_kafka_status(err), "%s:%" PRIu64 ": %s", line->file, line->lineno, rd_kafka_err2str(err));
}

/* Bad input: when it ends the run (--errors fail), what came before it is delivered first. */
static void reject(struct producer *p, const struct ec_line *line, const char *err)
{
	if (p->set->pol->mode == EC_ERRORS_FAIL && !p->set->pol->dead_letter_path)
		wait_delivered(p);
	ec_reject(p->set->pol, line, "%s", err);
}

static rd_kafka_headers_t *record_headers(struct producer *p)
{
	rd_kafka_headers_t *h;
	const struct ec_jval *v;
	size_t i;

	if (!p->nhdrs)
		return NULL;
	h = rd_kafka_headers_new(p->nhdrs + 2);
	for (i = 0; i < p->nhdrs; i++) {
		v = &p->slots[p->hdrs[i].slot];
		if (v->type == EC_J_MISSING)
			continue;
		ec_buf_reset(&p->tmp);
		ec_buf_add(&p->tmp, "", 0);
		if (v->type != EC_J_NULL && add_value_text(&p->tmp, v) < 0)
			continue;
		rd_kafka_header_add(h, p->hdrs[i].name, -1, v->type == EC_J_NULL ? NULL : p->tmp.buf,
				    v->type == EC_J_NULL ? 0 : (ssize_t)p->tmp.len);
	}
	return h;
}

static int is_delete(struct producer *p)
{
	const struct ec_jval *op = p->op_slot >= 0 ? &p->slots[p->op_slot] : NULL;

	return op && op->type == EC_J_STRING && op->n == 1 && op->p[0] == 'd';
}

/* The record's topic: -t's template rendered. 0, or -1 with errstr. */
static int record_topic(struct producer *p, struct ptopic **t, char *errstr, size_t errstr_size)
{
	/* A plain name renders the same every time: once is enough. */
	if (EC_LIKELY(p->last) && ec_kafka_tmpl_is_static(p->tmpl)) {
		*t = p->last;
		return 0;
	}
	if (ec_kafka_tmpl_render(p->tmpl, p->slots, &p->topic, errstr, errstr_size) < 0)
		return -1;
	*t = topic_get(p, p->topic.buf);
	return 0;
}

static void produce_record(struct producer *p, const struct ec_line *line)
{
	struct message m = { .partition = -1 };
	char err[512];
	int del;

	if (record_topic(p, &m.topic, err, sizeof(err)) < 0)
		goto reject;
	if (p->nkeys) {
		if (build_key(p, err, sizeof(err)) < 0)
			goto reject;
		m.key = p->key.buf;
		m.key_len = p->key.len;
	}
	if (p->ts_slot >= 0 &&
	    ec_record_time(&p->slots[p->ts_slot], p->set->timestamp, p->set->time_unit, &m.timestamp, err,
			   sizeof(err)) < 0)
		goto reject;
	m.value = line->p;
	m.value_len = line->n;
	m.hdrs = record_headers(p);
	del = is_delete(p);
	if (send_message(p, line, &m, p->numbered, err, sizeof(err)) < 0)
		goto reject;
	if (del && p->set->tombstones && m.key) {
		/* Debezium's tombstone: the same key, no value, so compaction can drop the key. */
		m.value = NULL;
		m.value_len = 0;
		m.hdrs = NULL;
		if (send_message(p, line, &m, p->numbered, err, sizeof(err)) < 0)
			goto reject;
	}
	return;
reject:
	reject(p, line, err);
}

/* ---- produce --envelope ---- */

static int envelope_headers(struct producer *p, const struct ec_jval *v, rd_kafka_headers_t *h, int *has_pos,
			    char *errstr, size_t errstr_size)
{
	yajl_val root, val;
	const char *name;
	size_t i;

	*has_pos = 0;
	if (v->type == EC_J_MISSING || v->type == EC_J_NULL)
		return 0;
	ec_buf_reset(&p->tmp);
	ec_buf_add(&p->tmp, v->p, v->n);
	root = yajl_tree_parse(p->tmp.buf, NULL, 0);
	/* kcat -J's form: {"name":"value",...}; null is a header without a value. */
	if (!root || !YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		snprintf(errstr, errstr_size, "envelope: \"headers\" must be an object {\"name\":\"value\",...}");
		return -1;
	}
	for (i = 0; i < root->u.object.len; i++) {
		name = root->u.object.keys[i];
		val = root->u.object.values[i];
		if (!YAJL_IS_STRING(val) && !YAJL_IS_NULL(val)) {
			yajl_tree_free(root);
			snprintf(errstr, errstr_size, "envelope: header %s: values must be strings or null", name);
			return -1;
		}
		if (!strcmp(name, EC_KAFKA_HDR_POS))
			*has_pos = 1;
		rd_kafka_header_add(h, name, -1, YAJL_IS_NULL(val) ? NULL : val->u.string, -1);
	}
	yajl_tree_free(root);
	return 0;
}

/* An envelope's key or value: null, a string (decoded), or other JSON (its text). */
static int envelope_bytes(const struct ec_jval *v, struct ec_buf *b, const void **data, size_t *n)
{
	ec_buf_reset(b);
	ec_buf_add(b, "", 0);
	if (v->type == EC_J_MISSING || v->type == EC_J_NULL) {
		*data = NULL;
		*n = 0;
		return 0;
	}
	if (v->type == EC_J_STRING) {
		if (ec_jval_str(v, b) < 0)
			return -1;
		*data = b->buf ? b->buf : "";
		*n = b->len;
		return 0;
	}
	*data = v->p;
	*n = v->n;
	return 0;
}

static void produce_envelope(struct producer *p, const struct ec_line *line)
{
	struct message m = { .partition = -1 };
	const struct ec_jval *v;
	char err[512];
	int has_pos = 0;
	uint64_t u;

	if (p->tmpl) {
		if (record_topic(p, &m.topic, err, sizeof(err)) < 0)
			goto reject;
	} else {
		v = &p->slots[p->env.topic];
		ec_buf_reset(&p->topic);
		if (v->type != EC_J_STRING || ec_jval_str(v, &p->topic) < 0 ||
		    !ec_kafka_topic_valid(p->topic.buf, p->topic.len)) {
			snprintf(err, sizeof(err), "envelope: \"topic\" must be a topic name");
			goto reject;
		}
		m.topic = topic_get(p, p->topic.buf);
	}
	v = &p->slots[p->env.partition];
	if (v->type == EC_J_NUMBER && ec_kafka_parse_u64(v->p, v->n, &u) == 0 && u <= INT32_MAX)
		m.partition = (int32_t)u;
	v = &p->slots[p->env.timestamp];
	if (v->type == EC_J_NUMBER && ec_kafka_parse_u64(v->p, v->n, &u) == 0)
		m.timestamp = (int64_t)u;
	if (envelope_bytes(&p->slots[p->env.key], &p->key, &m.key, &m.key_len) < 0 ||
	    envelope_bytes(&p->slots[p->env.value], &p->out, &m.value, &m.value_len) < 0) {
		snprintf(err, sizeof(err), "envelope: bad string escape in key or value");
		goto reject;
	}
	m.hdrs = rd_kafka_headers_new(8);
	if (envelope_headers(p, &p->slots[p->env.headers], m.hdrs, &has_pos, err, sizeof(err)) < 0) {
		rd_kafka_headers_destroy(m.hdrs);
		goto reject;
	}
	/*
	 * A faithful copy: the envelope's headers as they are. Only a checkpointed
	 * copy numbers the messages that carry no position of their own.
	 */
	if (send_message(p, line, &m, !has_pos && p->numbered, err, sizeof(err)) < 0)
		goto reject;
	ec_buf_reset(&p->out);
	return;
reject:
	ec_buf_reset(&p->out);
	reject(p, line, err);
}

/* ---- checkpoints: the sink callbacks (lib/sink.h) ---- */

static void txn_check(rd_kafka_error_t *e, const char *what)
{
	if (!e)
		return;
	ec_error("%s: %s", what, rd_kafka_error_string(e));
	rd_kafka_error_destroy(e);
	ec_exit(EX_UNAVAILABLE);
}

static void txn_begin(struct producer *p)
{
	if (!p->set->transactional_id)
		return;
	txn_check(rd_kafka_begin_transaction(p->rk), "beginning a transaction");
	p->in_txn = 1;
}

static int sink_commit(void *ctx, uint64_t id, struct ec_buf *out, char *errstr, size_t errstr_size)
{
	struct producer *p = ctx;

	(void)id;
	(void)out;
	(void)errstr;
	(void)errstr_size;
	wait_delivered(p);
	if (p->in_txn) {
		txn_check(rd_kafka_commit_transaction(p->rk, (int)p->set->timeout_ms), "committing the transaction");
		p->in_txn = 0;
		txn_begin(p);
	}
	/* The counter goes with the ack, so a restore to this barrier numbers the replay the same. */
	ec_buf_reset(&p->sink.ack_extra);
	ec_buf_addf(&p->sink.ack_extra, "\"records\":%" PRIu64, p->pos);
	return 0;
}

static int sink_undo(void *ctx, const struct ec_sink_intent *in, char *errstr, size_t errstr_size)
{
	(void)ctx;
	(void)in;
	(void)errstr;
	(void)errstr_size;
	return 0;
}

static const struct ec_sink_ops sink_ops = { sink_commit, sink_undo, NULL };

/* Restore K: the counter goes back to what the ack file of K recorded (0 for K = 0). */
static void restore_counter(struct producer *p, const struct ec_line *line)
{
	const char *pr[] = { "records", NULL }, *pi[] = { "id", NULL };
	struct ec_control ctl;
	struct ec_buf text = EC_BUF_INIT;
	yajl_val root = NULL, rec, id;
	char err[512];

	if (ec_control_parse(line, &ctl) < 0 || ctl.type != EC_CTL_RESTORE)
		return;
	if (p->in_txn) {
		txn_check(rd_kafka_abort_transaction(p->rk, (int)p->set->timeout_ms), "aborting the transaction");
		p->in_txn = 0;
		txn_begin(p);
	}
	if (ctl.id == 0) {
		p->pos = 0;
		return;
	}
	if (!p->set->ack_path) {
		ec_warn("%s:%" PRIu64 ": restore %" PRIu64 " without --ack: ec-pos numbering continues",
			line->file, line->lineno, ctl.id);
		return;
	}
	if (ec_read_file(p->set->ack_path, &text, err, sizeof(err)) != 0 || !(root = yajl_tree_parse(text.buf, NULL, 0)))
		ec_die(EX_DATAERR, "restore %" PRIu64 ": cannot read %s for the message counter", ctl.id,
		       p->set->ack_path);
	id = yajl_tree_get(root, pi, yajl_t_number);
	rec = yajl_tree_get(root, pr, yajl_t_number);
	if (!id || !YAJL_IS_INTEGER(id) || (uint64_t)YAJL_GET_INTEGER(id) != ctl.id || !rec || !YAJL_IS_INTEGER(rec))
		ec_die(EX_DATAERR, "restore %" PRIu64 ": %s does not hold checkpoint %" PRIu64
		       " with its \"records\" counter (is it this sink's ack file?)", ctl.id, p->set->ack_path, ctl.id);
	p->pos = (uint64_t)YAJL_GET_INTEGER(rec);
	yajl_tree_free(root);
	ec_buf_release(&text);
}

/* ---- the run ---- */

/* ec_record_scan, with what came before delivered when a bad line ends the run. 1 data, 2 control, 0 rejected. */
static int scan(struct producer *p, const struct ec_line *line)
{
	struct ec_jerr jerr;
	char err[256];

	if (ec_json_scan(p->ps, line->p, line->n, p->slots, &jerr) < 0) {
		snprintf(err, sizeof(err), "column %zu: %s", jerr.offset + 1, jerr.msg);
		reject(p, line, err);
		return 0;
	}
	return p->slots[0].type != EC_J_MISSING ? 2 : 1;
}

static void setup(struct producer *p)
{
	char err[512];
	rd_kafka_conf_t *conf = producer_conf(p);

	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!p->rk)
		ec_die(EX_SOFTWARE, "%s", err);
	pthread_mutex_init(&p->lock, NULL);
	start_poller(p);
	if (p->set->transactional_id) {
		txn_check(rd_kafka_init_transactions(p->rk, (int)p->set->timeout_ms), "starting transactions");
		txn_begin(p);
	}
	ec_sink_init(&p->sink, p->set->ack_path, p->set->state_dir, &sink_ops, p);
}

static void finish(struct producer *p)
{
	wait_delivered(p);
	if (p->in_txn) {
		txn_check(rd_kafka_commit_transaction(p->rk, (int)p->set->timeout_ms), "committing the transaction");
		p->in_txn = 0;
	}
	atomic_store(&p->stop, 1);
	pthread_join(p->poller, NULL);
	ec_info("produced %" PRIu64 " messages", (uint64_t)atomic_load(&p->delivered));
}

static void release(struct producer *p)
{
	size_t i;

	for (i = 0; i < p->ntopics; i++) {
		rd_kafka_topic_destroy(p->topics[i].rkt);
		free(p->topics[i].name);
	}
	free(p->topics);
	rd_kafka_destroy(p->rk);
	ec_sink_release(&p->sink);
	for (i = 0; i < p->nkeys; i++) {
		free(p->keys[i].text);
		ec_path_release(&p->key_paths[i]);
	}
	free(p->keys);
	free(p->key_paths);
	for (i = 0; i < p->nhdrs; i++) {
		free(p->hdrs[i].name);
		free(p->hdrs[i].path);
	}
	free(p->hdrs);
	ec_kafka_tmpl_free(p->tmpl);
	ec_pathset_free(p->ps);
	free(p->slots);
	ec_buf_release(&p->key);
	ec_buf_release(&p->topic);
	ec_buf_release(&p->out);
	ec_buf_release(&p->tmp);
	ec_buf_release(&p->posbuf);
	pthread_mutex_destroy(&p->lock);
}

int ec_kafka_produce(struct ec_kafka_settings *set)
{
	/*
	 * Positions mean something only where a replay starts from a checkpoint
	 * that knows them (--ack), or where the user names the source: a plain
	 * run would restart at 1 and a consumer would take it for a replay.
	 */
	struct producer p = { .set = set, .numbered = set->ack_path || set->source_id };
	struct ec_reader reader;
	struct ec_line line;
	int kind;

	if (!set->source_id)
		set->source_id = "ec";
	setup_fields(&p);
	setup(&p);
	ec_reader_init(&reader, set->files, set->nfiles, set->max_line, set->pol);
	p.reader = &reader;
	while (ec_reader_next(&reader, &line)) {
		kind = scan(&p, &line);
		if (kind == 1) {
			if (set->envelope)
				produce_envelope(&p, &line);
			else
				produce_record(&p, &line);
			check_failed(&p);
		} else if (kind == 2) {
			restore_counter(&p, &line);
			ec_sink_control(&p.sink, &line, &p.out);
			ec_out_buf(&p.out);
			ec_buf_reset(&p.out);
			ec_out_flush();
		}
	}
	finish(&p);
	ec_reader_release(&reader);
	ec_errpolicy_finish(set->pol);
	release(&p);
	return 0;
}
