/* lake.c: partition templates, safe key names, and compressed objects written to a directory or S3. */
#include "ec.h"
#include "ckpt.h"
#include "lake.h"
#include "hmap.h"
#include "jsonw.h"
#include "log.h"
#include "path.h"
#include "sink.h"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ---- sanitising ---- */

static const char hexdigits[] = "0123456789ABCDEF";

/* Characters Hive percent-encodes in partition values, plus '~' (our truncation mark). */
static int hive_special(unsigned char c)
{
	return c < 0x20 || c == 0x7f || (c && strchr("\"#%'*/:=?\\{[]^~", c));
}

static void add_pct(struct ec_buf *b, unsigned char c)
{
	char e[3] = { '%', hexdigits[c >> 4], hexdigits[c & 15] };
	ec_buf_add(b, e, 3);
}

/* A dot is encoded when it starts the value or is next to another dot ("..", "..."). */
static int dot_needs_escape(const char *s, size_t n, size_t i)
{
	return i == 0 || s[i - 1] == '.' || (i + 1 < n && s[i + 1] == '.');
}

void ec_lake_escape(struct ec_buf *out, const char *s, size_t n)
{
	struct ec_buf enc = EC_BUF_INIT;
	unsigned char md[SHA256_DIGEST_LENGTH];
	int valid = ec_utf8_valid(s, n);
	size_t i, cut;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (hive_special(c) || (c >= 0x80 && !valid) || (c == '.' && dot_needs_escape(s, n, i)))
			add_pct(&enc, c);
		else
			ec_buf_addch(&enc, (char)c);
	}
	if (enc.len <= EC_LAKE_VALUE_MAX) {
		ec_buf_add(out, enc.buf ? enc.buf : "", enc.len);
		ec_buf_release(&enc);
		return;
	}
	/* Cut without splitting a %XX escape or a UTF-8 sequence, then name the whole value by hash. */
	cut = EC_LAKE_VALUE_MAX - 17;
	if (enc.buf[cut - 1] == '%')
		cut -= 1;
	else if (enc.buf[cut - 2] == '%')
		cut -= 2;
	while (cut > 0 && ((unsigned char)enc.buf[cut] & 0xC0) == 0x80)
		cut--;
	ec_buf_add(out, enc.buf, cut);
	ec_buf_addch(out, '~');
	SHA256((const unsigned char *)s, n, md);
	for (i = 0; i < 8; i++) {
		ec_buf_addch(out, "0123456789abcdef"[md[i] >> 4]);
		ec_buf_addch(out, "0123456789abcdef"[md[i] & 15]);
	}
	ec_buf_release(&enc);
}

/* ---- templates ---- */

enum seg_kind { SEG_LIT, SEG_TIME, SEG_FIELD };

struct seg {
	enum seg_kind kind;
	char *text;		/* literal text or strftime format */
	int slot;		/* SEG_FIELD */
	int64_t cached_sec;	/* SEG_TIME: the second CACHED was formatted for */
	int cache_valid;
	char cached[256];
};

struct ec_lake_tmpl {
	struct seg *v;
	size_t n, alloc;
	int local_tz;
	struct ec_buf scratch;
};

static struct seg *add_seg(struct ec_lake_tmpl *t, enum seg_kind kind, const char *text, size_t n)
{
	struct seg *s;

	EC_GROW(t->v, t->n + 1, t->alloc);
	s = &t->v[t->n++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->text = xstrndup(text, n);
	s->slot = -1;
	return s;
}

/* The end of the {...} token starting at P (its '}'), skipping quoted keys; NULL if unterminated. */
static const char *token_end(const char *p)
{
	int quoted = 0;

	for (p++; *p; p++) {
		if (quoted) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quoted = 0;
		} else if (*p == '"') {
			quoted = 1;
		} else if (*p == '}') {
			return p;
		}
	}
	return NULL;
}

static int add_token(struct ec_lake_tmpl *t, const char *tok, size_t n, struct ec_pathset *ps,
		     int have_time, char *errstr, size_t errstr_size)
{
	struct ec_path path;
	char *text;
	int ret = -1;

	if (n >= 5 && !memcmp(tok, "time:", 5)) {
		if (!have_time) {
			snprintf(errstr, errstr_size, "{time:...} needs --time PATH (the event time field)");
			return -1;
		}
		add_seg(t, SEG_TIME, tok + 5, n - 5);
		return 0;
	}
	text = xstrndup(tok, n);
	if (ec_path_parse(&path, text, errstr, errstr_size) < 0)
		goto cleanup;
	add_seg(t, SEG_FIELD, tok, n)->slot = ec_pathset_add(ps, &path);
	ec_path_release(&path);
	ret = 0;
cleanup:
	free(text);
	return ret;
}

static void format_time(struct ec_lake_tmpl *t, struct seg *s, int64_t ms, struct ec_buf *out)
{
	int64_t sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	time_t ts = (time_t)sec;
	struct tm tm;

	if (!s->cache_valid || s->cached_sec != sec) {
		if (t->local_tz ? !localtime_r(&ts, &tm) : !gmtime_r(&ts, &tm))
			memset(&tm, 0, sizeof(tm));
		if (!strftime(s->cached, sizeof(s->cached), s->text, &tm))
			s->cached[0] = '\0';
		s->cached_sec = sec;
		s->cache_valid = 1;
	}
	ec_buf_addstr(out, s->cached);
}

static void field_value(struct ec_lake_tmpl *t, const struct ec_jval *v, const char *dflt,
			struct ec_buf *out)
{
	const char *p;
	size_t n;

	if (v->type == EC_J_MISSING || v->type == EC_J_NULL) {
		ec_buf_addstr(out, dflt);
		return;
	}
	if (v->type == EC_J_STRING && v->escaped) {
		ec_buf_reset(&t->scratch);
		if (ec_jval_str(v, &t->scratch) < 0)
			ec_buf_reset(&t->scratch);
		p = t->scratch.buf;
		n = t->scratch.len;
	} else if (v->type == EC_J_STRING) {
		p = v->p;
		n = v->n;
	} else {
		p = ec_jval_raw(v, &n);
	}
	if (!n)
		ec_buf_addstr(out, dflt);
	else
		ec_lake_escape(out, p, n);
}

void ec_lake_tmpl_render(struct ec_lake_tmpl *t, const struct ec_jval *slots, int64_t t_ms,
			 const char *default_partition, struct ec_buf *out)
{
	size_t i;

	ec_buf_reset(out);
	for (i = 0; i < t->n; i++) {
		struct seg *s = &t->v[i];
		if (s->kind == SEG_LIT)
			ec_buf_addstr(out, s->text);
		else if (s->kind == SEG_TIME)
			format_time(t, s, t_ms, out);
		else
			field_value(t, &slots[s->slot], default_partition, out);
	}
	if (!out->buf)
		ec_buf_add(out, "", 0);
}

/* Every path component of the sample rendering must be a plain name: no "", "." or "..". */
static int check_components(const char *key, char *errstr, size_t errstr_size)
{
	const char *p = key, *slash;
	size_t n;

	if (!*key)
		return 0;
	for (;;) {
		slash = strchrnul(p, '/');
		n = (size_t)(slash - p);
		if (!n || (n == 1 && *p == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			snprintf(errstr, errstr_size, "the key '%s' would have an empty, '.' or '..' "
				 "component; write 'name={field}/...' without leading, trailing or double '/'", key);
			return -1;
		}
		if (!*slash)
			return 0;
		p = slash + 1;
	}
}

static int check_literal(const char *text, char *errstr, size_t errstr_size)
{
	const unsigned char *p;

	for (p = (const unsigned char *)text; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '\\') {
			snprintf(errstr, errstr_size, "control characters and '\\' cannot be part of a key");
			return -1;
		}
	return 0;
}

/* Render with "x" for every field and the epoch for time, and check the shape of the result. */
static int check_template(struct ec_lake_tmpl *t, char *errstr, size_t errstr_size)
{
	struct ec_buf out = EC_BUF_INIT;
	size_t i;
	int ret = -1;

	for (i = 0; i < t->n; i++) {
		struct seg *s = &t->v[i];
		if (s->kind == SEG_LIT && check_literal(s->text, errstr, errstr_size) < 0)
			goto cleanup;
		if (s->kind == SEG_LIT)
			ec_buf_addstr(&out, s->text);
		else if (s->kind == SEG_TIME)
			format_time(t, s, 0, &out);
		else
			ec_buf_addch(&out, 'x');
	}
	if (check_components(out.buf ? out.buf : "", errstr, errstr_size) < 0 ||
	    (out.buf && check_literal(out.buf, errstr, errstr_size) < 0))
		goto cleanup;
	ret = 0;
cleanup:
	for (i = 0; i < t->n; i++)
		t->v[i].cache_valid = 0;
	ec_buf_release(&out);
	return ret;
}

struct ec_lake_tmpl *ec_lake_tmpl_new(const char *text, struct ec_pathset *ps, int have_time,
				      int local_tz, char *errstr, size_t errstr_size)
{
	struct ec_lake_tmpl *t = xcalloc(1, sizeof(*t));
	const char *p = text, *lit = text, *end;

	t->local_tz = local_tz;
	while (*p) {
		if (*p == '}') {
			snprintf(errstr, errstr_size, "'}' without '{' at offset %zu", (size_t)(p - text));
			goto fail;
		}
		if (*p != '{') {
			p++;
			continue;
		}
		if (p > lit)
			add_seg(t, SEG_LIT, lit, (size_t)(p - lit));
		if (!(end = token_end(p))) {
			snprintf(errstr, errstr_size, "unterminated '{' at offset %zu", (size_t)(p - text));
			goto fail;
		}
		if (add_token(t, p + 1, (size_t)(end - p - 1), ps, have_time, errstr, errstr_size) < 0)
			goto fail;
		p = lit = end + 1;
	}
	if (p > lit)
		add_seg(t, SEG_LIT, lit, (size_t)(p - lit));
	if (check_template(t, errstr, errstr_size) < 0)
		goto fail;
	return t;
fail:
	ec_lake_tmpl_free(t);
	return NULL;
}

void ec_lake_tmpl_free(struct ec_lake_tmpl *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		free(t->v[i].text);
	free(t->v);
	ec_buf_release(&t->scratch);
	free(t);
}

/* ---- names ---- */

const char *ec_lake_suffix(enum ec_lake_codec codec, int tar)
{
	static const char *const names[2][3] = {
		{ ".ndjson.gz", ".ndjson.zst", ".ndjson" },
		{ ".tar.gz", ".tar.zst", ".tar" },
	};
	return names[!!tar][codec];
}

void ec_lake_object_key(struct ec_buf *out, const char *prefix, const char *partition,
			uint64_t epoch, unsigned seq, const char *suffix)
{
	if (prefix && *prefix)
		ec_buf_addf(out, "%s/", prefix);
	if (partition && *partition)
		ec_buf_addf(out, "%s/", partition);
	ec_buf_addf(out, "part-%08" PRIu64 "-%05u%s", epoch, seq, suffix);
}

void ec_lake_manifest_key(struct ec_buf *out, const char *prefix, uint64_t epoch)
{
	if (prefix && *prefix)
		ec_buf_addf(out, "%s/", prefix);
	ec_buf_addf(out, "_manifests/epoch-%08" PRIu64 ".json", epoch);
}

/* ---- destinations ---- */

enum dest_kind { DEST_FILE, DEST_S3 };

struct ec_lake_dest {
	enum dest_kind kind;
	char *root;		/* file: the directory ("" is "/"); s3: the bucket */
	char *prefix;		/* s3: the key prefix, "" for none; file: "" */
	struct ec_s3 *s3;
	char *made_dir;		/* file: the directory last made sure of */
};

/* mkdir -p DIR; a directory made here is made durable in its parent. 0, or -1 with errno. */
static int make_dirs(char *dir)
{
	char *slash;
	struct stat st;

	if (!*dir || (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)))
		return 0;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (make_dirs(dir) < 0) {
			*slash = '/';
			return -1;
		}
		*slash = '/';
	}
	if (mkdir(dir, 0755) < 0)
		return errno == EEXIST ? 0 : -1;
	if (slash) {
		*slash = '\0';
		ec_fsync_dir(slash == dir ? "/" : dir);
		*slash = '/';
	}
	return 0;
}

/* The local path of KEY, and of its temp file (".NAME.tmp" beside it) when TMP. */
static void file_path(const struct ec_lake_dest *d, const char *key, int tmp, struct ec_buf *out)
{
	const char *base = strrchr(key, '/');

	ec_buf_addf(out, "%s/", d->root);
	if (!tmp) {
		ec_buf_addstr(out, key);
		return;
	}
	if (base)
		ec_buf_add(out, key, (size_t)(base - key + 1));
	ec_buf_addf(out, ".%s.tmp", base ? base + 1 : key);
}

/* Make sure the directory of the file PATH exists. */
static int file_make_parent(struct ec_lake_dest *d, const char *path, char *errstr, size_t errstr_size)
{
	const char *slash = strrchr(path, '/');
	char *dir = xstrndup(path, slash ? (size_t)(slash - path) : 0);
	int ret = 0;

	if (!d->made_dir || strcmp(d->made_dir, dir)) {
		if (make_dirs(dir) < 0) {
			snprintf(errstr, errstr_size, "cannot create %s: %s", dir, strerror(errno));
			ret = EX_IOERR;
		} else {
			free(d->made_dir);
			d->made_dir = dir;
			dir = NULL;
		}
	}
	free(dir);
	return ret;
}

/* Strip '/'s at both ends; refuse empty, "." and ".." components inside. */
static int clean_prefix(char *prefix, char *errstr, size_t errstr_size)
{
	size_t n = strlen(prefix);

	while (n && prefix[n - 1] == '/')
		prefix[--n] = '\0';
	while (*prefix == '/')
		memmove(prefix, prefix + 1, n--);
	return check_components(prefix, errstr, errstr_size) < 0 ? -1 : 0;
}

static int open_file_dest(struct ec_lake_dest *d, const char *path, char *errstr, size_t errstr_size)
{
	size_t n = strlen(path);

	if (path[0] != '/') {
		snprintf(errstr, errstr_size, "file:// needs an absolute path (file:///PATH), not file://%s", path);
		return EX_USAGE;
	}
	while (n > 1 && path[n - 1] == '/')
		n--;
	d->kind = DEST_FILE;
	d->root = xstrndup(path, n == 1 ? 0 : n);
	d->prefix = xstrdup("");
	if (make_dirs(d->root) < 0) {
		snprintf(errstr, errstr_size, "cannot create %s: %s", path, strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

static int open_s3_dest(struct ec_lake_dest *d, const char *rest, const struct ec_s3_settings *set,
			char *errstr, size_t errstr_size)
{
	const char *slash = strchr(rest, '/');

	d->kind = DEST_S3;
	d->root = xstrndup(rest, slash ? (size_t)(slash - rest) : strlen(rest));
	d->prefix = xstrdup(slash ? slash + 1 : "");
	if (!*d->root) {
		snprintf(errstr, errstr_size, "s3:// needs a bucket: s3://BUCKET[/PREFIX]");
		return EX_USAGE;
	}
	if (clean_prefix(d->prefix, errstr, errstr_size) < 0)
		return EX_USAGE;
	return ec_s3_open(&d->s3, d->root, set, errstr, errstr_size);
}

int ec_lake_dest_open(struct ec_lake_dest **dp, const char *uri, const struct ec_s3_settings *s3set,
		      char *errstr, size_t errstr_size)
{
	struct ec_lake_dest *d = xcalloc(1, sizeof(*d));
	int st;

	if (!strncmp(uri, "file://", 7)) {
		st = open_file_dest(d, uri + 7, errstr, errstr_size);
	} else if (!strncmp(uri, "s3://", 5)) {
		st = open_s3_dest(d, uri + 5, s3set, errstr, errstr_size);
	} else {
		snprintf(errstr, errstr_size, "the destination must be s3://BUCKET[/PREFIX] or file:///PATH, not '%s'", uri);
		st = EX_USAGE;
	}
	if (st) {
		ec_lake_dest_free(d);
		d = NULL;
	}
	*dp = d;
	return st;
}

void ec_lake_dest_free(struct ec_lake_dest *d)
{
	if (!d)
		return;
	if (d->s3)
		ec_s3_free(d->s3);
	free(d->root);
	free(d->prefix);
	free(d->made_dir);
	free(d);
}

const char *ec_lake_dest_prefix(const struct ec_lake_dest *d)
{
	return d->prefix;
}

void ec_lake_dest_uri(const struct ec_lake_dest *d, const char *key, struct ec_buf *out)
{
	if (d->kind == DEST_S3)
		ec_buf_addf(out, "s3://%s/%s", d->root, key);
	else
		ec_buf_addf(out, "file://%s/%s", d->root, key);
}

/* Rename the finished temp file into place, durably: fsync, rename, fsync the directory. */
static int file_commit(int fd, const char *tmp, const char *path, char *errstr, size_t errstr_size)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int ret = EX_IOERR;

	if (fsync(fd) < 0) {
		snprintf(errstr, errstr_size, "fsync %s: %s", tmp, strerror(errno));
		return ret;
	}
	if (rename(tmp, path) < 0) {
		snprintf(errstr, errstr_size, "rename %s to %s: %s", tmp, path, strerror(errno));
		return ret;
	}
	dir = xstrndup(path, slash ? (size_t)(slash - path) : 0);
	if (ec_fsync_dir(dir) < 0)
		snprintf(errstr, errstr_size, "fsync %s: %s", dir, strerror(errno));
	else
		ret = 0;
	free(dir);
	return ret;
}

int ec_lake_dest_put(struct ec_lake_dest *d, const char *key, const void *data, size_t n,
		     const char *content_type, char *errstr, size_t errstr_size)
{
	struct ec_buf path = EC_BUF_INIT, tmp = EC_BUF_INIT;
	struct ec_s3_meta meta = { content_type, NULL };
	int fd = -1, ret = EX_IOERR;

	if (d->kind == DEST_S3)
		return ec_s3_put(d->s3, key, data, n, &meta, errstr, errstr_size);
	file_path(d, key, 0, &path);
	file_path(d, key, 1, &tmp);
	if ((ret = file_make_parent(d, path.buf, errstr, errstr_size)))
		goto cleanup;
	ret = EX_IOERR;
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ec_write_all(fd, data, n) < 0) {
		snprintf(errstr, errstr_size, "writing %s: %s", tmp.buf, strerror(errno));
		goto cleanup;
	}
	ret = file_commit(fd, tmp.buf, path.buf, errstr, errstr_size);
cleanup:
	if (fd >= 0)
		close(fd);
	ec_buf_release(&path);
	ec_buf_release(&tmp);
	return ret;
}

int ec_lake_dest_remove(struct ec_lake_dest *d, const char *key, const char *upload_id,
			char *errstr, size_t errstr_size)
{
	struct ec_buf path = EC_BUF_INIT;
	int ret = 0, i;

	if (d->kind == DEST_S3) {
		/* A completed upload has nothing to abort: S3 answers NoSuchUpload, which is fine here. */
		if (upload_id && ec_s3_upload_abort(d->s3, key, upload_id, errstr, errstr_size))
			ec_info("aborting the upload of %s: %s", key, errstr);
		return ec_s3_delete(d->s3, key, errstr, errstr_size);
	}
	for (i = 0; i < 2 && !ret; i++) {
		ec_buf_reset(&path);
		file_path(d, key, i, &path);
		if (unlink(path.buf) < 0 && errno != ENOENT) {
			snprintf(errstr, errstr_size, "removing %s: %s", path.buf, strerror(errno));
			ret = EX_IOERR;
		}
	}
	ec_buf_release(&path);
	return ret;
}

/* ---- objects ---- */

#define IN_BUF (32u << 10)
#define CHUNK (64u << 10)

struct obj {
	struct ec_lake *lk;
	char *partition;
	char *key;
	uint64_t epoch;
	unsigned seq;
	uint64_t records, raw_bytes, out_bytes;
	int has_time;
	int64_t min_t, max_t, first_t;
	char *in;		/* NDJSON not yet compressed */
	size_t in_len;
	z_stream z;
	int z_ready;
	struct archive *zst;	/* zstd through libarchive's raw format */
	int raw_fd;		/* --tar: the NDJSON, until the object closes */
	uint64_t raw_len;
	int fd;			/* file: the temp file in place; s3: an unlinked spool */
	char *tmp_path;
	uint64_t spool_len;	/* s3: bytes in the spool not yet uploaded */
	char *upload_id;
	char **etags;
	int nparts;
	size_t etag_alloc;
	int cb_status;		/* failure inside a libarchive callback */
	char cb_err[256];
};

/* What a partition has: its open object and the next sequence number in this epoch. */
struct part {
	struct obj *obj;
	unsigned seq;
};

/*
 * S3 requests run on an uploader thread, one at a time, while the main
 * thread goes on compressing into spool files: the part buffer is all the
 * memory this takes. The main thread waits for the request in flight before
 * it touches the S3 handle or the part buffer again, and finishes the object
 * whose last request that was (journal, line, manifest) at that point, so
 * everything is written in the same order as without the thread.
 */
enum job_kind { JOB_NONE, JOB_PART, JOB_PUT, JOB_FINAL };

struct uploader {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int running, quit;
	enum job_kind kind;	/* the request in flight; JOB_NONE when idle */
	struct obj *obj;
	size_t n;		/* bytes of the part buffer to send */
	int part;		/* index in obj->etags of the part sent, -1 for none */
	int status;		/* of the last request */
	char err[512];
	struct obj *finishing;	/* completed by the request in flight */
};

struct ec_lake {
	struct ec_lake_config cfg;
	struct ec_lake_dest *d;
	const char *suffix;
	uint64_t epoch;
	struct ec_hmap parts;
	struct obj **open;	/* in the order they were opened: closing order is deterministic */
	size_t nopen, open_alloc;
	struct ec_buf manifest;	/* this epoch's completed objects, comma-separated JSON */
	size_t pending;
	char *partbuf;		/* one part (s3), shared by every object */
	const char *spool_dir;
	struct ec_buf lines;	/* lines of completed objects, not yet handed to the caller */
	struct uploader up;
};

/* An unlinked temp file for spooling. -1 with errno. */
static int spool_open(const char *dir)
{
	struct ec_buf path = EC_BUF_INIT;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	ec_buf_addf(&path, "%s/ec-s3put.XXXXXX", dir);
	fd = mkostemp(path.buf, O_CLOEXEC);
	if (fd >= 0)
		unlink(path.buf);
	ec_buf_release(&path);
	return fd;
}

static int io_error(struct obj *o, const char *what, char *errstr, size_t errstr_size)
{
	snprintf(errstr, errstr_size, "%s for %s: %s", what, o->key, strerror(errno));
	return EX_IOERR;
}

static struct ec_s3_meta object_meta(const struct ec_lake *lk)
{
	struct ec_s3_meta meta = { lk->cfg.tar ? "application/x-tar" : "application/x-ndjson",
				   lk->cfg.codec == EC_LAKE_GZIP ? "gzip" : lk->cfg.codec == EC_LAKE_ZSTD ? "zstd" : NULL };
	return meta;
}

/* The uploader thread's side: one request. */
static void run_job(struct ec_lake *lk, struct uploader *u)
{
	struct obj *o = u->obj;
	struct ec_s3_meta meta = object_meta(lk);
	int st = 0;

	switch (u->kind) {
	case JOB_PART:
	case JOB_FINAL:
		if (u->part >= 0)
			st = ec_s3_upload_part(lk->d->s3, o->key, o->upload_id, u->part + 1, lk->partbuf, u->n,
					       &o->etags[u->part], u->err, sizeof(u->err));
		if (!st && u->kind == JOB_FINAL)
			st = ec_s3_upload_complete(lk->d->s3, o->key, o->upload_id, o->etags, o->nparts,
						   u->err, sizeof(u->err));
		break;
	case JOB_PUT:
		st = ec_s3_put(lk->d->s3, o->key, lk->partbuf, u->n, &meta, u->err, sizeof(u->err));
		break;
	case JOB_NONE:
		break;
	}
	u->status = st;
}

static void *uploader_main(void *arg)
{
	struct ec_lake *lk = arg;
	struct uploader *u = &lk->up;

	pthread_mutex_lock(&u->mu);
	for (;;) {
		while (u->kind == JOB_NONE && !u->quit)
			pthread_cond_wait(&u->cv, &u->mu);
		if (u->kind == JOB_NONE)
			break;
		pthread_mutex_unlock(&u->mu);
		run_job(lk, u);
		pthread_mutex_lock(&u->mu);
		u->kind = JOB_NONE;
		pthread_cond_broadcast(&u->cv);
	}
	pthread_mutex_unlock(&u->mu);
	return NULL;
}

static void uploader_start(struct ec_lake *lk)
{
	struct uploader *u = &lk->up;
	sigset_t stop, old;

	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cv, NULL);
	/* SIGTERM and SIGINT must reach the main thread, whose read they interrupt. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	if (pthread_create(&u->thread, NULL, uploader_main, lk))
		ec_die(EX_OSERR, "cannot start the upload thread: %s", strerror(errno));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	u->running = 1;
}

static void uploader_submit(struct ec_lake *lk, enum job_kind kind, struct obj *o, size_t n, int part)
{
	struct uploader *u = &lk->up;

	if (!u->running)
		uploader_start(lk);
	pthread_mutex_lock(&u->mu);
	u->kind = kind;
	u->obj = o;
	u->n = n;
	u->part = part;
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

/* Wait until no request is in flight; its status is returned with errstr. */
static int uploader_idle(struct ec_lake *lk, char *errstr, size_t errstr_size)
{
	struct uploader *u = &lk->up;
	int st;

	if (!u->running)
		return 0;
	pthread_mutex_lock(&u->mu);
	while (u->kind != JOB_NONE)
		pthread_cond_wait(&u->cv, &u->mu);
	pthread_mutex_unlock(&u->mu);
	/* A failure stays: nothing is sent after it, and ec_lake_abort must see it too. */
	st = u->status;
	if (st)
		snprintf(errstr, errstr_size, "%s", u->err);
	return st;
}

static int finish_obj(struct obj *o, char *errstr, size_t errstr_size);

/* uploader_idle, then finish the object the request completed. */
static int uploader_wait(struct ec_lake *lk, char *errstr, size_t errstr_size)
{
	struct obj *o;
	int st;

	if ((st = uploader_idle(lk, errstr, errstr_size)))
		return st;	/* the object stays in "finishing": ec_lake_abort aborts its upload */
	o = lk->up.finishing;
	lk->up.finishing = NULL;
	return o ? finish_obj(o, errstr, errstr_size) : 0;
}

/* Move the spool's bytes from FROM on to the front and cut it there. */
static int spool_shift(struct obj *o, uint64_t from, char *errstr, size_t errstr_size)
{
	static char buf[CHUNK];
	uint64_t rest = o->spool_len - from, done = 0;

	while (done < rest) {
		size_t k = rest - done < sizeof(buf) ? (size_t)(rest - done) : sizeof(buf);
		if (pread(o->fd, buf, k, (off_t)(from + done)) != (ssize_t)k ||
		    pwrite(o->fd, buf, k, (off_t)done) != (ssize_t)k)
			return io_error(o, "moving the spool", errstr, errstr_size);
		done += k;
	}
	if (ftruncate(o->fd, (off_t)rest) < 0 || lseek(o->fd, (off_t)rest, SEEK_SET) < 0)
		return io_error(o, "truncating the spool", errstr, errstr_size);
	o->spool_len = rest;
	return 0;
}

/* Read the spool's first N bytes into the part buffer (the uploader is idle). */
static int spool_read(struct obj *o, uint64_t n, char *errstr, size_t errstr_size)
{
	if (n && pread(o->fd, o->lk->partbuf, n, 0) != (ssize_t)n)
		return io_error(o, "reading the spool", errstr, errstr_size);
	return 0;
}

static int next_part(struct obj *o)
{
	EC_GROW(o->etags, (size_t)o->nparts + 1, o->etag_alloc);
	o->etags[o->nparts] = NULL;
	return o->nparts++;
}

/* Send the spool's first part (it holds at least one) and keep the rest. */
static int upload_part(struct obj *o, char *errstr, size_t errstr_size)
{
	struct ec_lake *lk = o->lk;
	struct ec_s3_meta meta = object_meta(lk);
	size_t n = lk->cfg.part_size;
	int st;

	if ((st = uploader_wait(lk, errstr, errstr_size)))
		return st;
	if (!o->upload_id) {
		if ((st = ec_s3_upload_begin(lk->d->s3, o->key, &meta, &o->upload_id, errstr, errstr_size)))
			return st;
		if (lk->cfg.sink && ec_sink_journal(lk->cfg.sink, o->epoch, o->key, o->upload_id, 0,
						    errstr, errstr_size) < 0)
			return EX_IOERR;
	}
	if ((st = spool_read(o, n, errstr, errstr_size)) || (st = spool_shift(o, n, errstr, errstr_size)))
		return st;
	uploader_submit(lk, JOB_PART, o, n, next_part(o));
	return 0;
}

/* Compressed bytes out: to the temp file or the spool; full parts go to S3 as they fill. */
static int out_write(struct obj *o, const void *data, size_t n, char *errstr, size_t errstr_size)
{
	int st;

	if (ec_write_all(o->fd, data, n) < 0)
		return io_error(o, o->lk->d->kind == DEST_S3 ? "writing the spool" : "writing", errstr, errstr_size);
	o->out_bytes += n;
	if (o->lk->d->kind != DEST_S3)
		return 0;
	o->spool_len += n;
	while (o->spool_len >= o->lk->cfg.part_size)
		if ((st = upload_part(o, errstr, errstr_size)))
			return st;
	return 0;
}

static la_ssize_t zst_write_cb(struct archive *a, void *ctx, const void *buf, size_t n)
{
	struct obj *o = ctx;

	(void)a;
	if (o->cb_status)
		return -1;
	o->cb_status = out_write(o, buf, n, o->cb_err, sizeof(o->cb_err));
	return o->cb_status ? -1 : (la_ssize_t)n;
}

/* The status of a failed libarchive call: the callback's own failure, or the library's message. */
static int archive_failed(struct obj *o, struct archive *a, char *errstr, size_t errstr_size)
{
	if (o->cb_status) {
		snprintf(errstr, errstr_size, "%s", o->cb_err);
		return o->cb_status;
	}
	snprintf(errstr, errstr_size, "compressing %s: %s", o->key, archive_error_string(a));
	return EX_SOFTWARE;
}

static int zst_open(struct obj *o, char *errstr, size_t errstr_size)
{
	struct archive_entry *e;
	char level[16];

	o->zst = archive_write_new();
	snprintf(level, sizeof(level), "%d", o->lk->cfg.level < 0 ? 3 : o->lk->cfg.level);
	/* No padding after the stream: a zstd frame followed by zeros is not a valid file. */
	if (archive_write_add_filter_zstd(o->zst) != ARCHIVE_OK ||
	    archive_write_set_filter_option(o->zst, "zstd", "compression-level", level) != ARCHIVE_OK ||
	    archive_write_set_format_raw(o->zst) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(o->zst, (int)CHUNK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(o->zst, 1) != ARCHIVE_OK ||
	    archive_write_open2(o->zst, o, NULL, zst_write_cb, NULL, NULL) != ARCHIVE_OK)
		return archive_failed(o, o->zst, errstr, errstr_size);
	e = archive_entry_new();
	archive_entry_set_pathname(e, "ndjson");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	if (archive_write_header(o->zst, e) != ARCHIVE_OK) {
		archive_entry_free(e);
		return archive_failed(o, o->zst, errstr, errstr_size);
	}
	archive_entry_free(e);
	return 0;
}

static int codec_open(struct obj *o, char *errstr, size_t errstr_size)
{
	int level = o->lk->cfg.level < 0 ? 6 : o->lk->cfg.level;

	switch (o->lk->cfg.codec) {
	case EC_LAKE_GZIP:
		/* windowBits 15+16: a gzip header with mtime 0 and no name, so output is reproducible. */
		if (deflateInit2(&o->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			snprintf(errstr, errstr_size, "zlib: cannot start a gzip stream");
			return EX_SOFTWARE;
		}
		o->z_ready = 1;
		return 0;
	case EC_LAKE_ZSTD:
		return zst_open(o, errstr, errstr_size);
	case EC_LAKE_NONE:
		return 0;
	}
	return 0;
}

static int deflate_run(struct obj *o, int flush, char *errstr, size_t errstr_size)
{
	static unsigned char zout[CHUNK];
	int zr, st;

	do {
		o->z.next_out = zout;
		o->z.avail_out = sizeof(zout);
		zr = deflate(&o->z, flush);
		if (zr == Z_STREAM_ERROR) {
			snprintf(errstr, errstr_size, "zlib: deflate failed for %s", o->key);
			return EX_SOFTWARE;
		}
		if (sizeof(zout) - o->z.avail_out &&
		    (st = out_write(o, zout, sizeof(zout) - o->z.avail_out, errstr, errstr_size)))
			return st;
	} while (o->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

static int codec_write(struct obj *o, const void *data, size_t n, char *errstr, size_t errstr_size)
{
	switch (o->lk->cfg.codec) {
	case EC_LAKE_GZIP:
		o->z.next_in = (Bytef *)(uintptr_t)data;
		o->z.avail_in = (uInt)n;
		return deflate_run(o, Z_NO_FLUSH, errstr, errstr_size);
	case EC_LAKE_ZSTD:
		if (archive_write_data(o->zst, data, n) < 0)
			return archive_failed(o, o->zst, errstr, errstr_size);
		return 0;
	case EC_LAKE_NONE:
		return out_write(o, data, n, errstr, errstr_size);
	}
	return 0;
}

static int codec_finish(struct obj *o, char *errstr, size_t errstr_size)
{
	int st = 0;

	if (o->z_ready) {
		st = deflate_run(o, Z_FINISH, errstr, errstr_size);
		deflateEnd(&o->z);
		o->z_ready = 0;
	}
	if (o->zst) {
		if (archive_write_close(o->zst) != ARCHIVE_OK)
			st = archive_failed(o, o->zst, errstr, errstr_size);
		archive_write_free(o->zst);
		o->zst = NULL;
	}
	return st;
}

/* Raw NDJSON into the object: compressed now, or spooled for the tar member. */
static int feed(struct obj *o, const char *data, size_t n, char *errstr, size_t errstr_size)
{
	if (!o->lk->cfg.tar)
		return codec_write(o, data, n, errstr, errstr_size);
	if (ec_write_all(o->raw_fd, data, n) < 0)
		return io_error(o, "writing the tar spool", errstr, errstr_size);
	o->raw_len += n;
	return 0;
}

static int flush_in(struct obj *o, char *errstr, size_t errstr_size)
{
	int st = 0;

	if (o->in_len)
		st = feed(o, o->in, o->in_len, errstr, errstr_size);
	o->in_len = 0;
	return st;
}

static la_ssize_t tar_write_cb(struct archive *a, void *ctx, const void *buf, size_t n)
{
	struct obj *o = ctx;

	(void)a;
	if (o->cb_status)
		return -1;
	o->cb_status = codec_write(o, buf, n, o->cb_err, sizeof(o->cb_err));
	return o->cb_status ? -1 : (la_ssize_t)n;
}

/* The member's name: the object's with .ndjson for .tar*. */
static char *member_name(const struct obj *o)
{
	const char *base = strrchr(o->key, '/'), *dot;
	struct ec_buf b = EC_BUF_INIT;

	base = base ? base + 1 : o->key;
	dot = strstr(base, ".tar");
	ec_buf_add(&b, base, dot ? (size_t)(dot - base) : strlen(base));
	ec_buf_addstr(&b, ".ndjson");
	return ec_buf_detach(&b, NULL);
}

static int tar_entry(struct obj *o, struct archive *t)
{
	struct archive_entry *e = archive_entry_new();
	char *name = member_name(o);
	int64_t mt = o->has_time ? (o->max_t >= 0 ? o->max_t / 1000 : -((-o->max_t + 999) / 1000)) : 0;
	int r;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)o->raw_len);
	/* The time of its newest record, not the wall clock: a replay writes the same bytes. */
	archive_entry_set_mtime(e, (time_t)mt, 0);
	r = archive_write_header(t, e);
	archive_entry_free(e);
	free(name);
	return r;
}

/* --tar: write the archive of the spooled NDJSON through the codec. */
static int tar_finish(struct obj *o, char *errstr, size_t errstr_size)
{
	static char buf[CHUNK];
	struct archive *t = archive_write_new();
	uint64_t off = 0;
	int st;

	if ((st = codec_open(o, errstr, errstr_size)))
		goto cleanup;
	if (archive_write_set_format_pax_restricted(t) != ARCHIVE_OK ||
	    archive_write_add_filter_none(t) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t, 1) != ARCHIVE_OK ||
	    archive_write_open2(t, o, NULL, tar_write_cb, NULL, NULL) != ARCHIVE_OK ||
	    tar_entry(o, t) != ARCHIVE_OK) {
		st = archive_failed(o, t, errstr, errstr_size);
		goto cleanup;
	}
	while (off < o->raw_len) {
		size_t n = o->raw_len - off < sizeof(buf) ? (size_t)(o->raw_len - off) : sizeof(buf);
		if (pread(o->raw_fd, buf, n, (off_t)off) != (ssize_t)n) {
			st = io_error(o, "reading the tar spool", errstr, errstr_size);
			goto cleanup;
		}
		if (archive_write_data(t, buf, n) < 0) {
			st = archive_failed(o, t, errstr, errstr_size);
			goto cleanup;
		}
		off += n;
	}
	if (archive_write_close(t) != ARCHIVE_OK) {
		st = archive_failed(o, t, errstr, errstr_size);
		goto cleanup;
	}
	st = codec_finish(o, errstr, errstr_size);
cleanup:
	archive_write_free(t);
	return st;
}

static void obj_free(struct obj *o)
{
	int i;

	if (o->z_ready)
		deflateEnd(&o->z);
	if (o->zst)
		archive_write_free(o->zst);
	if (o->fd >= 0)
		close(o->fd);
	if (o->raw_fd >= 0)
		close(o->raw_fd);
	for (i = 0; i < o->nparts; i++)
		free(o->etags[i]);
	free(o->etags);
	free(o->upload_id);
	free(o->tmp_path);
	free(o->in);
	free(o->key);
	free(o->partition);
	free(o);
}

/*
 * Where the destination gets the object: a file by rename (done when this
 * returns 0), S3 from the spool (1: the last request is in flight).
 */
static int dest_finish(struct obj *o, char *errstr, size_t errstr_size)
{
	struct ec_lake *lk = o->lk;
	struct ec_buf path = EC_BUF_INIT;
	int st;

	if (lk->d->kind == DEST_FILE) {
		file_path(lk->d, o->key, 0, &path);
		st = file_commit(o->fd, o->tmp_path, path.buf, errstr, errstr_size);
		ec_buf_release(&path);
		return st;
	}
	if ((st = uploader_wait(lk, errstr, errstr_size)) || (st = spool_read(o, o->spool_len, errstr, errstr_size)))
		return st;
	if (o->upload_id)
		uploader_submit(lk, JOB_FINAL, o, o->spool_len, o->spool_len ? next_part(o) : -1);
	else
		uploader_submit(lk, JOB_PUT, o, o->spool_len, -1);
	lk->up.finishing = o;
	return 1;
}

/* The object's line: {"uri","records","bytes","min_time","max_time"}. */
static void object_line(const struct obj *o, struct ec_buf *b)
{
	struct ec_buf uri = EC_BUF_INIT;

	ec_lake_dest_uri(o->lk->d, o->key, &uri);
	ec_buf_addstr(b, "{\"uri\":");
	ec_jsonw_str(b, uri.buf, uri.len);
	ec_buf_release(&uri);
	ec_buf_addf(b, ",\"records\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"min_time\":", o->records, o->out_bytes);
	if (o->has_time)
		ec_jsonw_time(b, o->min_t);
	else
		ec_buf_addstr(b, "null");
	ec_buf_addstr(b, ",\"max_time\":");
	if (o->has_time)
		ec_jsonw_time(b, o->max_t);
	else
		ec_buf_addstr(b, "null");
	ec_buf_addch(b, '}');
}

static void forget_open(struct ec_lake *lk, struct obj *o)
{
	struct part *p = ec_hmap_get(&lk->parts, o->partition, strlen(o->partition));
	size_t i;

	if (p && p->obj == o)
		p->obj = NULL;
	for (i = 0; i < lk->nopen; i++)
		if (lk->open[i] == o) {
			memmove(&lk->open[i], &lk->open[i + 1], (lk->nopen - i - 1) * sizeof(*lk->open));
			lk->nopen--;
			break;
		}
}

/* The object is complete: journal it, give its line, remember it for the manifest. */
static int finish_obj(struct obj *o, char *errstr, size_t errstr_size)
{
	struct ec_lake *lk = o->lk;
	size_t start;

	if (lk->cfg.sink && ec_sink_journal(lk->cfg.sink, o->epoch, o->key, NULL, 1, errstr, errstr_size) < 0)
		return EX_IOERR;
	start = lk->lines.len;
	object_line(o, &lk->lines);
	if (lk->pending++)
		ec_buf_addch(&lk->manifest, ',');
	ec_buf_add(&lk->manifest, lk->lines.buf + start, lk->lines.len - start);
	ec_buf_addch(&lk->lines, '\n');
	obj_free(o);
	return 0;
}

static int close_obj(struct obj *o, char *errstr, size_t errstr_size)
{
	struct ec_lake *lk = o->lk;
	int st;

	if ((st = flush_in(o, errstr, errstr_size)) ||
	    (st = lk->cfg.tar ? tar_finish(o, errstr, errstr_size) : codec_finish(o, errstr, errstr_size)))
		return st;
	st = dest_finish(o, errstr, errstr_size);
	if (st == 1) {
		/* Finished when its last request is done (uploader_wait). */
		forget_open(lk, o);
		return 0;
	}
	if (st)
		return st;
	forget_open(lk, o);
	return finish_obj(o, errstr, errstr_size);
}

/* Hand the lines of completed objects to the caller. */
static void take_lines(struct ec_lake *lk, struct ec_buf *out)
{
	if (!lk->lines.len)
		return;
	ec_buf_add(out, lk->lines.buf, lk->lines.len);
	ec_buf_reset(&lk->lines);
}

static int open_obj(struct ec_lake *lk, const char *partition, size_t plen, unsigned seq,
		    struct obj **op, char *errstr, size_t errstr_size)
{
	struct obj *o = xcalloc(1, sizeof(*o));
	struct ec_buf key = EC_BUF_INIT, path = EC_BUF_INIT;
	int st;

	o->lk = lk;
	o->fd = o->raw_fd = -1;
	o->partition = xstrndup(partition, plen);
	o->epoch = lk->epoch;
	o->seq = seq;
	ec_lake_object_key(&key, lk->d->prefix, o->partition, o->epoch, seq, lk->suffix);
	o->key = ec_buf_detach(&key, NULL);
	o->in = xmalloc(IN_BUF);
	EC_GROW(lk->open, lk->nopen + 1, lk->open_alloc);
	lk->open[lk->nopen++] = o;
	*op = o;
	/* The intent is on disk before anything of the object exists. */
	if (lk->cfg.sink && ec_sink_journal(lk->cfg.sink, o->epoch, o->key, NULL, 0, errstr, errstr_size) < 0)
		return EX_IOERR;
	if (lk->d->kind == DEST_FILE) {
		file_path(lk->d, o->key, 0, &path);
		if ((st = file_make_parent(lk->d, path.buf, errstr, errstr_size))) {
			ec_buf_release(&path);
			return st;
		}
		ec_buf_release(&path);
		file_path(lk->d, o->key, 1, &path);
		o->tmp_path = ec_buf_detach(&path, NULL);
		o->fd = open(o->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	} else {
		o->fd = spool_open(lk->spool_dir);
	}
	if (o->fd < 0)
		return io_error(o, "cannot open a file", errstr, errstr_size);
	if (lk->cfg.tar && (o->raw_fd = spool_open(lk->spool_dir)) < 0)
		return io_error(o, "cannot open a spool file", errstr, errstr_size);
	return lk->cfg.tar ? 0 : codec_open(o, errstr, errstr_size);
}

/* ---- the writer ---- */

/* Abort O's multipart upload and remove its temp file. */
static void abort_obj(struct ec_lake *lk, struct obj *o)
{
	char err[256];

	if (o->upload_id && ec_s3_upload_abort(lk->d->s3, o->key, o->upload_id, err, sizeof(err)))
		ec_warn("aborting the upload of %s: %s", o->key, err);
	free(o->upload_id);
	o->upload_id = NULL;
	if (o->tmp_path)
		unlink(o->tmp_path);
}

void ec_lake_abort(struct ec_lake *lk)
{
	char err[512];
	size_t i;

	/* A request in flight cannot be called back: let it end first. */
	if (uploader_idle(lk, err, sizeof(err)) == 0 && lk->up.finishing) {
		obj_free(lk->up.finishing);	/* it is complete */
		lk->up.finishing = NULL;
	}
	if (lk->up.finishing) {
		abort_obj(lk, lk->up.finishing);
		obj_free(lk->up.finishing);
		lk->up.finishing = NULL;
	}
	for (i = 0; i < lk->nopen; i++)
		abort_obj(lk, lk->open[i]);
}

struct ec_lake *ec_lake_new(const struct ec_lake_config *cfg, struct ec_lake_dest *dest)
{
	struct ec_lake *lk = xcalloc(1, sizeof(*lk));
	const char *tmp = getenv("TMPDIR");

	lk->cfg = *cfg;
	lk->d = dest;
	lk->suffix = ec_lake_suffix(cfg->codec, cfg->tar);
	lk->epoch = 1;
	lk->spool_dir = tmp && *tmp ? tmp : "/tmp";
	ec_hmap_init(&lk->parts, sizeof(struct part));
	if (dest->kind == DEST_S3)
		lk->partbuf = xmalloc(cfg->part_size);
	return lk;
}

void ec_lake_free(struct ec_lake *lk)
{
	if (!lk)
		return;
	ec_lake_abort(lk);
	if (lk->up.running) {
		pthread_mutex_lock(&lk->up.mu);
		lk->up.quit = 1;
		pthread_cond_broadcast(&lk->up.cv);
		pthread_mutex_unlock(&lk->up.mu);
		pthread_join(lk->up.thread, NULL);
		pthread_mutex_destroy(&lk->up.mu);
		pthread_cond_destroy(&lk->up.cv);
	}
	while (lk->nopen)
		obj_free(lk->open[--lk->nopen]);
	ec_buf_release(&lk->lines);
	free(lk->open);
	ec_hmap_release(&lk->parts);
	ec_buf_release(&lk->manifest);
	free(lk->partbuf);
	free(lk);
}

void ec_lake_set_epoch(struct ec_lake *lk, uint64_t epoch)
{
	if (epoch == lk->epoch)
		return;
	lk->epoch = epoch;
	/* Sequence numbers count per partition per epoch; closed partitions need no entry. */
	if (!lk->nopen)
		ec_hmap_clear(&lk->parts);
}

static int append(struct obj *o, const char *rec, size_t n, char *errstr, size_t errstr_size)
{
	int st;

	if (o->in_len + n + 1 > IN_BUF && (st = flush_in(o, errstr, errstr_size)))
		return st;
	if (n + 1 > IN_BUF) {
		if ((st = feed(o, rec, n, errstr, errstr_size)))
			return st;
		o->in[o->in_len++] = '\n';
		return 0;
	}
	memcpy(o->in + o->in_len, rec, n);
	o->in_len += n;
	o->in[o->in_len++] = '\n';
	return 0;
}

static void note_time(struct obj *o, int64_t t)
{
	if (!o->has_time) {
		o->has_time = 1;
		o->min_t = o->max_t = o->first_t = t;
		return;
	}
	if (t < o->min_t)
		o->min_t = t;
	if (t > o->max_t)
		o->max_t = t;
}

int ec_lake_add(struct ec_lake *lk, const char *partition, size_t plen, const char *rec, size_t n,
		int64_t t, int has_time, struct ec_buf *out, char *errstr, size_t errstr_size)
{
	struct part *p = ec_hmap_put(&lk->parts, partition, plen, NULL);
	struct obj *o = p->obj;
	unsigned seq;
	int st;

	if (o && lk->cfg.max_age && has_time && o->has_time && t - o->first_t >= lk->cfg.max_age) {
		if ((st = close_obj(o, errstr, errstr_size)))
			return st;
		o = NULL;
	}
	if (!o) {
		seq = p->seq++;
		if ((st = open_obj(lk, partition, plen, seq, &o, errstr, errstr_size)))
			return st;
		/* open_obj does not insert into the map: P is still valid. */
		p->obj = o;
	}
	if ((st = append(o, rec, n, errstr, errstr_size)))
		return st;
	o->records++;
	o->raw_bytes += n + 1;
	if (has_time)
		note_time(o, t);
	if (((lk->cfg.max_records && o->records >= lk->cfg.max_records) ||
	     (lk->cfg.max_bytes && o->raw_bytes >= lk->cfg.max_bytes)) &&
	    (st = close_obj(o, errstr, errstr_size)))
		return st;
	take_lines(lk, out);
	return 0;
}

int ec_lake_close_all(struct ec_lake *lk, struct ec_buf *out, char *errstr, size_t errstr_size)
{
	int st;

	while (lk->nopen)
		if ((st = close_obj(lk->open[0], errstr, errstr_size)))
			return st;
	/* Durable: the last request has completed too. */
	if ((st = uploader_wait(lk, errstr, errstr_size)))
		return st;
	take_lines(lk, out);
	return 0;
}

int ec_lake_write_manifest(struct ec_lake *lk, uint64_t epoch, char *errstr, size_t errstr_size)
{
	struct ec_buf key = EC_BUF_INIT, text = EC_BUF_INIT;
	int st = 0;

	/* Objects come first; the S3 handle is free when nothing is in flight. */
	if ((st = uploader_wait(lk, errstr, errstr_size)))
		return st;
	if (!lk->pending)
		return 0;
	ec_lake_manifest_key(&key, lk->d->prefix, epoch);
	ec_buf_addf(&text, "{\"epoch\":%" PRIu64 ",\"objects\":[", epoch);
	ec_buf_add(&text, lk->manifest.buf, lk->manifest.len);
	ec_buf_addstr(&text, "]}\n");
	if (lk->cfg.sink && ec_sink_journal(lk->cfg.sink, epoch, key.buf, NULL, 0, errstr, errstr_size) < 0) {
		st = EX_IOERR;
		goto cleanup;
	}
	if ((st = ec_lake_dest_put(lk->d, key.buf, text.buf, text.len, "application/json", errstr, errstr_size)))
		goto cleanup;
	if (lk->cfg.sink && ec_sink_journal(lk->cfg.sink, epoch, key.buf, NULL, 1, errstr, errstr_size) < 0) {
		st = EX_IOERR;
		goto cleanup;
	}
	ec_buf_reset(&lk->manifest);
	lk->pending = 0;
cleanup:
	ec_buf_release(&key);
	ec_buf_release(&text);
	return st;
}
