/* kafka.c: what ec-kcat's subcommands share: client configuration, topic templates, partition lists, times, dedup marks. */
#include "ec.h"
#include "kafka.h"
#include "log.h"
#include "jsonw.h"
#include "path.h"
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <yajl/yajl_tree.h>

int ec_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
		      size_t errstr_size)
{
	char err[512];

	if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		snprintf(errstr, errstr_size, "%s", err);
		return -1;
	}
	return 0;
}

int ec_kafka_prop_given(const struct ec_kafka_settings *set, const char *name)
{
	size_t n = strlen(name);
	int i;

	for (i = 0; i < set->nprops; i++)
		if (!strncmp(set->props[i], name, n) && set->props[i][n] == '=')
			return 1;
	return 0;
}

/*
 * librdkafka's own messages (syslog levels) through the tool's log, so that
 * -q and --log-format json apply to them too. Its errors are mostly passing
 * ones (a broker down, retried): warnings; what is fatal reaches the tool
 * through its error and delivery reports. -X debug=... output shows with -v.
 */
static void kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	ec_log(level <= 4 ? EC_LOG_WARN : EC_LOG_INFO, "librdkafka %s: %s", fac, buf);
}

rd_kafka_conf_t *ec_kafka_conf_new(const struct ec_kafka_settings *set, char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char *name, *eq;
	int i;

	rd_kafka_conf_set_log_cb(conf, kafka_log);

	if (set->brokers && ec_kafka_conf_set(conf, "bootstrap.servers", set->brokers, errstr, errstr_size) < 0)
		goto fail;
	for (i = 0; i < set->nprops; i++) {
		eq = strchr(set->props[i], '=');
		if (!eq) {
			snprintf(errstr, errstr_size, "-X %s: expected NAME=VALUE", set->props[i]);
			goto fail;
		}
		name = xstrndup(set->props[i], (size_t)(eq - set->props[i]));
		if (ec_kafka_conf_set(conf, name, eq + 1, errstr, errstr_size) < 0) {
			free(name);
			goto fail;
		}
		free(name);
	}
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

int ec_kafka_status(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_MSG:
	case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:
		return EX_DATAERR;
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
		return EX_NOPERM;
	default:
		return EX_UNAVAILABLE;
	}
}

/* ---- topic templates ---- */

struct tmpl_part {
	char *lit;		/* literal text, or NULL for a field */
	int slot;
	char *path;		/* the field's path text, for messages */
};

struct ec_kafka_tmpl {
	struct tmpl_part *parts;
	size_t n, alloc;
};

static void tmpl_add(struct ec_kafka_tmpl *t, char *lit, int slot, char *path)
{
	EC_GROW(t->parts, t->n + 1, t->alloc);
	t->parts[t->n].lit = lit;
	t->parts[t->n].slot = slot;
	t->parts[t->n].path = path;
	t->n++;
}

struct ec_kafka_tmpl *ec_kafka_tmpl_new(const char *text, struct ec_pathset *ps, char *errstr,
					size_t errstr_size)
{
	struct ec_kafka_tmpl *t = xcalloc(1, sizeof(*t));
	const char *p = text, *open, *close;
	struct ec_path path;
	char err[256], *ptext;

	while (*p) {
		open = strchr(p, '{');
		if (!open) {
			tmpl_add(t, xstrdup(p), -1, NULL);
			break;
		}
		if (open > p)
			tmpl_add(t, xstrndup(p, (size_t)(open - p)), -1, NULL);
		close = strchr(open, '}');
		if (!close) {
			snprintf(errstr, errstr_size, "'%s': '{' without '}'", text);
			goto fail;
		}
		ptext = xstrndup(open + 1, (size_t)(close - open - 1));
		if (ec_path_parse(&path, ptext, err, sizeof(err)) < 0) {
			snprintf(errstr, errstr_size, "'%s': %s", text, err);
			free(ptext);
			goto fail;
		}
		tmpl_add(t, NULL, ec_pathset_add(ps, &path), ptext);
		ec_path_release(&path);
		p = close + 1;
	}
	if (!t->n) {
		snprintf(errstr, errstr_size, "the topic cannot be empty");
		goto fail;
	}
	return t;
fail:
	ec_kafka_tmpl_free(t);
	return NULL;
}

void ec_kafka_tmpl_free(struct ec_kafka_tmpl *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->parts[i].lit);
		free(t->parts[i].path);
	}
	free(t->parts);
	free(t);
}

int ec_kafka_tmpl_is_static(const struct ec_kafka_tmpl *t)
{
	return t->n == 1 && t->parts[0].lit;
}

int ec_kafka_topic_valid(const char *name, size_t n)
{
	size_t i;

	if (n == 0 || n > 249 || (n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
			return 0;
	return 1;
}

int ec_kafka_tmpl_render(const struct ec_kafka_tmpl *t, const struct ec_jval *slots, struct ec_buf *out,
			 char *errstr, size_t errstr_size)
{
	const struct ec_jval *v;
	size_t i;

	ec_buf_reset(out);
	ec_buf_grow(out, 64);
	out->buf[0] = '\0';
	for (i = 0; i < t->n; i++) {
		if (t->parts[i].lit) {
			ec_buf_addstr(out, t->parts[i].lit);
			continue;
		}
		v = &slots[t->parts[i].slot];
		if (v->type == EC_J_STRING) {
			if (ec_jval_str(v, out) < 0)
				goto bad;
		} else if (v->type == EC_J_NUMBER || v->type == EC_J_TRUE || v->type == EC_J_FALSE) {
			ec_buf_add(out, v->p, v->n);
		} else {
			snprintf(errstr, errstr_size, "topic: %s is %s", t->parts[i].path,
				 v->type == EC_J_MISSING ? "missing" : ec_jtype_name(v->type));
			return -1;
		}
	}
	if (!ec_kafka_topic_valid(out->buf, out->len))
		goto bad;
	return 0;
bad:
	snprintf(errstr, errstr_size, "topic: '%.200s' is not a valid topic name", out->buf);
	return -1;
}

/* ---- partition lists ---- */

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

static int parse_i32(const char **p, int32_t *v)
{
	char *end;
	long n;

	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	n = strtol(*p, &end, 10);
	if (errno || n > INT32_MAX)
		return -1;
	*v = (int32_t)n;
	*p = end;
	return 0;
}

int ec_kafka_parse_partitions(const char *text, int32_t **out, size_t *n, char *errstr, size_t errstr_size)
{
	int32_t *v = NULL, lo, hi, k;
	size_t cnt = 0, alloc = 0, i, j;
	const char *p = text;

	for (;;) {
		if (parse_i32(&p, &lo) < 0)
			goto bad;
		hi = lo;
		if (*p == '-') {
			p++;
			if (parse_i32(&p, &hi) < 0 || hi < lo || hi - lo > 100000)
				goto bad;
		}
		for (k = lo; k <= hi; k++) {
			EC_GROW(v, cnt + 1, alloc);
			v[cnt++] = k;
		}
		if (*p == '\0')
			break;
		if (*p++ != ',')
			goto bad;
	}
	qsort(v, cnt, sizeof(*v), cmp_i32);
	for (i = j = 0; i < cnt; i++)
		if (j == 0 || v[j - 1] != v[i])
			v[j++] = v[i];
	*out = v;
	*n = j;
	return 0;
bad:
	free(v);
	snprintf(errstr, errstr_size, "'%s': expected partitions like 0,2-3", text);
	return -1;
}

/* ---- times ---- */

int ec_kafka_parse_time(const char *text, int64_t now_ms, int64_t *ms, char *errstr, size_t errstr_size)
{
	char err[256], buf[64];
	int64_t d;
	size_t n = strlen(text);

	if (text[0] == '-' && text[1]) {
		if (ec_duration_parse(text + 1, &d, err, sizeof(err)) < 0) {
			snprintf(errstr, errstr_size, "'%s': %s", text, err);
			return -1;
		}
		*ms = now_ms - d;
		return 0;
	}
	/* A date alone: its midnight UTC (a cron backfill's day). */
	if (n == 10 && text[4] == '-' && text[7] == '-') {
		snprintf(buf, sizeof(buf), "%sT00:00:00Z", text);
		text = buf;
		n = strlen(buf);
	}
	if (ec_time_parse(text, n, ms, err, sizeof(err)) < 0) {
		snprintf(errstr, errstr_size, "'%s': %s (expected RFC 3339 time, a date, or -DURATION)", text, err);
		return -1;
	}
	return 0;
}

int64_t ec_kafka_search_time(int64_t lo, int64_t hi, int64_t target, ec_kafka_ts_at_fn at, void *ctx)
{
	int64_t mid, probe, ts;
	int r;

	/* Invariant: every message before LO is older than TARGET; the answer is in [LO, HI]. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		probe = mid;
		for (;;) {
			r = at(ctx, probe, &ts);
			if (r < 0)
				return -1;
			if (r == 0 || ++probe >= hi)
				break;
		}
		if (r != 0) {
			/* Nothing readable in [mid, hi): the answer is at or before mid. */
			hi = mid;
		} else if (ts >= target) {
			hi = probe;
		} else {
			lo = probe + 1;
		}
	}
	return lo;
}

/* ---- dedup marks ---- */

void ec_kafka_marks_init(struct ec_kafka_marks *m)
{
	ec_hmap_init(&m->map, sizeof(uint64_t));
	m->key = (struct ec_buf)EC_BUF_INIT;
}

void ec_kafka_marks_release(struct ec_kafka_marks *m)
{
	ec_hmap_release(&m->map);
	ec_buf_release(&m->key);
}

static void marks_key(struct ec_buf *k, const char *topic, int32_t partition, const char *source, size_t slen)
{
	ec_buf_reset(k);
	ec_buf_add(k, topic, strlen(topic) + 1);
	ec_buf_add(k, &partition, sizeof(partition));
	ec_buf_add(k, source, slen);
}

int ec_kafka_marks_admit(struct ec_kafka_marks *m, const char *topic, int32_t partition, const char *source,
			 size_t source_len, uint64_t pos)
{
	uint64_t *v;

	marks_key(&m->key, topic, partition, source, source_len);
	v = ec_hmap_put(&m->map, m->key.buf, m->key.len, NULL);
	if (pos <= *v)
		return 0;
	*v = pos;
	return 1;
}

struct mark {
	const char *topic;
	int32_t partition;
	const char *source;
	size_t source_len;
	uint64_t pos;
};

static int cmp_mark(const void *a, const void *b)
{
	const struct mark *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);
	size_t n;

	if (c)
		return c;
	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	n = x->source_len < y->source_len ? x->source_len : y->source_len;
	c = memcmp(x->source, y->source, n);
	if (c)
		return c;
	return (x->source_len > y->source_len) - (x->source_len < y->source_len);
}

void ec_kafka_marks_json(struct ec_kafka_marks *m, struct ec_buf *out)
{
	struct mark *v = xcalloc(ec_hmap_count(&m->map) + 1, sizeof(*v));
	struct ec_hmap_iter it;
	struct ec_hmap_entry e;
	size_t n = 0, i, tlen;

	ec_hmap_iter_init(&it, &m->map);
	while (ec_hmap_iter_next(&it, &e)) {
		tlen = strlen(e.key);
		v[n].topic = e.key;
		memcpy(&v[n].partition, e.key + tlen + 1, sizeof(int32_t));
		v[n].source = e.key + tlen + 1 + sizeof(int32_t);
		v[n].source_len = e.klen - tlen - 1 - sizeof(int32_t);
		memcpy(&v[n].pos, e.value, sizeof(uint64_t));
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_mark);
	ec_buf_addch(out, '{');
	for (i = 0; i < n; i++) {
		int new_topic = i == 0 || strcmp(v[i].topic, v[i - 1].topic);
		int new_part = new_topic || v[i].partition != v[i - 1].partition;

		if (new_topic) {
			if (i)
				ec_buf_addstr(out, "}},");
			ec_jsonw_key(out, v[i].topic);
			ec_buf_addch(out, '{');
		} else if (new_part) {
			ec_buf_addstr(out, "},");
		} else {
			ec_buf_addch(out, ',');
		}
		if (new_part)
			ec_buf_addf(out, "\"%" PRId32 "\":{", v[i].partition);
		ec_jsonw_str(out, v[i].source, v[i].source_len);
		ec_buf_addf(out, ":%" PRIu64, v[i].pos);
	}
	ec_buf_addstr(out, n ? "}}}" : "}");
	free(v);
}

int ec_kafka_parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

int ec_kafka_marks_load(struct ec_kafka_marks *m, const char *json, char *errstr, size_t errstr_size)
{
	yajl_val root = yajl_tree_parse(json, NULL, 0), t, p, s;
	size_t i, j, k;
	uint64_t *v;
	char *end;
	long part;
	int ret = -1;

	if (!root || !YAJL_IS_OBJECT(root))
		goto bad;
	for (i = 0; i < root->u.object.len; i++) {
		t = root->u.object.values[i];
		if (!YAJL_IS_OBJECT(t))
			goto bad;
		for (j = 0; j < t->u.object.len; j++) {
			p = t->u.object.values[j];
			part = strtol(t->u.object.keys[j], &end, 10);
			if (*end || !YAJL_IS_OBJECT(p) || part < 0 || part > INT32_MAX)
				goto bad;
			for (k = 0; k < p->u.object.len; k++) {
				s = p->u.object.values[k];
				if (!YAJL_IS_INTEGER(s) || YAJL_GET_INTEGER(s) < 0)
					goto bad;
				marks_key(&m->key, root->u.object.keys[i], (int32_t)part, p->u.object.keys[k],
					  strlen(p->u.object.keys[k]));
				v = ec_hmap_put(&m->map, m->key.buf, m->key.len, NULL);
				*v = (uint64_t)YAJL_GET_INTEGER(s);
			}
		}
	}
	ret = 0;
	goto cleanup;
bad:
	snprintf(errstr, errstr_size, "dedup marks: expected {\"topic\":{\"partition\":{\"source\":N}}}");
cleanup:
	yajl_tree_free(root);
	return ret;
}
