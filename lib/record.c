/* record.c: the NDJSON line reader, the bad-input policy and control-record recognition. */
#include "ec.h"
#include "record.h"
#include "log.h"
#include "jsonw.h"
#include "opt.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#define READ_CHUNK (1u << 20)

int ec_errpolicy_option(struct ec_errpolicy *pol, int c, const char *arg)
{
	switch (c) {
	case EC_OPT_ERRORS:
		if (!strcmp(arg, "fail"))
			pol->mode = EC_ERRORS_FAIL;
		else if (!strcmp(arg, "skip"))
			pol->mode = EC_ERRORS_SKIP;
		else
			ec_usage_error("--errors must be fail or skip, not '%s'", arg);
		return 1;
	case EC_OPT_DEAD_LETTER:
		pol->dead_letter_path = arg;
		return 1;
	}
	return 0;
}

static void open_dead_letter(struct ec_errpolicy *pol)
{
	pol->dead_letter = fopen(pol->dead_letter_path, "a");
	if (!pol->dead_letter)
		ec_die(EX_CANTCREAT, "cannot open dead-letter file %s: %s",
		       pol->dead_letter_path, strerror(errno));
}

/* One dead-letter line: where, why, and the raw bytes (base64 too when not UTF-8). */
static void write_dead_letter(struct ec_errpolicy *pol, const struct ec_line *line, const char *reason)
{
	struct ec_buf b = EC_BUF_INIT;

	if (!pol->dead_letter)
		open_dead_letter(pol);
	ec_buf_addstr(&b, "{\"file\":");
	ec_jsonw_cstr(&b, line->file);
	ec_buf_addf(&b, ",\"line\":%" PRIu64 ",\"reason\":", line->lineno);
	ec_jsonw_cstr(&b, reason);
	ec_buf_addstr(&b, ",\"raw\":");
	ec_jsonw_str(&b, line->p, line->n);
	if (!ec_utf8_valid(line->p, line->n) || memchr(line->p, '\0', line->n)) {
		ec_buf_addstr(&b, ",\"raw_base64\":\"");
		ec_base64_encode(&b, line->p, line->n);
		ec_buf_addch(&b, '"');
	}
	ec_buf_addstr(&b, "}\n");
	if (fwrite(b.buf, 1, b.len, pol->dead_letter) != b.len || fflush(pol->dead_letter))
		ec_die(EX_IOERR, "writing dead-letter file %s: %s", pol->dead_letter_path, strerror(errno));
	ec_buf_release(&b);
}

/* Warn about skipped input at most once a second, with the count so far. */
static void warn_rate_limited(struct ec_errpolicy *pol, const struct ec_line *line, const char *reason)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (pol->rejected > 1 && ts.tv_sec == pol->last_warn_sec)
		return;
	pol->last_warn_sec = ts.tv_sec;
	ec_warn("%s:%" PRIu64 ": %s (skipped; %" PRIu64 " bad lines so far)",
		line->file, line->lineno, reason, pol->rejected);
}

void ec_reject(struct ec_errpolicy *pol, const struct ec_line *line, const char *fmt, ...)
{
	struct ec_buf reason = EC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	ec_buf_vaddf(&reason, fmt, ap);
	va_end(ap);
	if (pol->mode == EC_ERRORS_FAIL && !pol->dead_letter_path)
		ec_die(EX_DATAERR, "%s:%" PRIu64 ": %s", line->file, line->lineno, reason.buf);
	pol->rejected++;
	if (pol->dead_letter_path)
		write_dead_letter(pol, line, reason.buf);
	warn_rate_limited(pol, line, reason.buf);
	ec_buf_release(&reason);
}

void ec_errpolicy_finish(struct ec_errpolicy *pol)
{
	if (pol->rejected)
		ec_warn("bad input lines %s: %" PRIu64,
			pol->dead_letter_path ? "written to the dead-letter file" : "skipped", pol->rejected);
	if (pol->dead_letter && fclose(pol->dead_letter))
		ec_die(EX_IOERR, "closing dead-letter file %s: %s", pol->dead_letter_path, strerror(errno));
	pol->dead_letter = NULL;
}

void ec_reader_init(struct ec_reader *r, char **files, int nfiles, size_t max_line,
		    struct ec_errpolicy *pol)
{
	memset(r, 0, sizeof(*r));
	r->files = files;
	r->nfiles = nfiles;
	r->cur = -1;
	r->fd = -1;
	r->max_line = max_line ? max_line : EC_MAX_LINE_DEFAULT;
	r->pol = pol;
	r->alloc = READ_CHUNK * 2;
	r->buf = xmalloc(r->alloc);
}

void ec_reader_release(struct ec_reader *r)
{
	if (r->fd > 0)
		close(r->fd);
	free(r->buf);
	r->buf = NULL;
}

/* Move to the next input; 0 when there is none. Unreadable files exit 66. */
static int open_next_input(struct ec_reader *r)
{
	const char *name;

	if (r->fd > 0)
		close(r->fd);
	r->fd = -1;
	r->cur++;
	if (r->cur >= (r->nfiles ? r->nfiles : 1))
		return 0;
	name = r->nfiles ? r->files[r->cur] : "-";
	r->lineno = 0;
	r->eof = 0;
	r->start = r->end = 0;
	if (!strcmp(name, "-")) {
		r->fd = 0;
		r->name = "stdin";
		return 1;
	}
	r->fd = open(name, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		ec_die(EX_NOINPUT, "cannot open %s: %s", name, strerror(errno));
	r->name = name;
	return 1;
}

/* Read more bytes after the unconsumed part: >0 bytes read, 0 at EOF, -1 when stopped by a signal. */
static ssize_t fill(struct ec_reader *r)
{
	ssize_t n;

	if (r->start > 0 && (r->start == r->end || r->alloc - r->end < READ_CHUNK)) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->alloc - r->end < READ_CHUNK)
		r->buf = xgrow(r->buf, 1, r->end + READ_CHUNK, &r->alloc);
	/*
	 * Before waiting for more input, pass on what is written so far: in a
	 * live pipeline results and barriers must not sit in a buffer.
	 */
	ec_out_flush_idle(r->fd);
	for (;;) {
		n = read(r->fd, r->buf + r->end, r->alloc - r->end);
		if (n >= 0)
			break;
		if (errno == EINTR) {
			if (!ec_run)
				return -1;
			continue;
		}
		ec_die(EX_IOERR, "read error on %s: %s", r->name, strerror(errno));
	}
	r->end += (size_t)n;
	return n;
}

static int is_blank(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++, n--;
	return n == 0;
}

/* Skip the rest of an over-long line, after reporting it through the policy. */
static void reject_long_line(struct ec_reader *r, struct ec_line *line)
{
	char *nl;

	line->p = r->buf + r->start;
	line->n = r->max_line < 256 ? r->max_line : 256;
	line->file = r->name;
	line->lineno = r->lineno;
	ec_reject(r->pol, line, "line longer than %zu bytes (--max-line)", r->max_line);
	for (;;) {
		nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl) {
			r->start = (size_t)(nl - r->buf) + 1;
			return;
		}
		r->start = r->end;
		if (fill(r) <= 0)
			return;
	}
}

int ec_reader_next(struct ec_reader *r, struct ec_line *line)
{
	size_t scanned = 0;

	if (!ec_run || (r->cur < 0 && !open_next_input(r)))
		return 0;
	for (;;) {
		char *base = r->buf + r->start, *nl;
		size_t avail = r->end - r->start;

		nl = memchr(base + scanned, '\n', avail - scanned);
		if (nl || (r->eof && avail)) {
			size_t n = nl ? (size_t)(nl - base) : avail;
			r->lineno++;
			r->start += nl ? n + 1 : n;
			scanned = 0;
			if (n > r->max_line) {
				r->start -= nl ? n + 1 : n;
				reject_long_line(r, line);
				continue;
			}
			if (n && base[n - 1] == '\r')
				n--;
			if (is_blank(base, n))
				continue;
			line->p = base;
			line->n = n;
			line->file = r->name;
			line->lineno = r->lineno;
			return 1;
		}
		if (avail > r->max_line) {
			r->lineno++;
			reject_long_line(r, line);
			scanned = 0;
			continue;
		}
		if (r->eof || !ec_run) {
			if (!ec_run || !open_next_input(r))
				return 0;
			continue;
		}
		scanned = avail;
		switch (fill(r)) {
		case 0:
			r->eof = 1;
			break;
		case -1:
			return 0;
		}
	}
}

struct ec_pathset *ec_record_pathset_new(void)
{
	struct ec_pathset *ps = ec_pathset_new();
	ec_pathset_add_text(ps, "._ec", "control records");
	return ps;
}

int ec_pathset_add_text(struct ec_pathset *ps, const char *text, const char *option)
{
	struct ec_path path;
	char err[256];
	int slot;

	if (ec_path_parse(&path, text, err, sizeof(err)) < 0)
		ec_usage_error("%s: %s", option, err);
	slot = ec_pathset_add(ps, &path);
	ec_path_release(&path);
	return slot;
}

int ec_record_scan(const struct ec_pathset *ps, const struct ec_line *line,
		   struct ec_jval *slots, struct ec_errpolicy *pol)
{
	struct ec_jerr err;

	if (EC_UNLIKELY(ec_json_scan(ps, line->p, line->n, slots, &err) < 0)) {
		ec_reject(pol, line, "column %zu: %s", err.offset + 1, err.msg);
		return 0;
	}
	if (EC_UNLIKELY(slots[0].type != EC_J_MISSING))
		return 2;
	return 1;
}

int ec_control_parse(const struct ec_line *line, struct ec_control *ctl)
{
	const char *pk[] = { "_ec", NULL }, *pi[] = { "id", NULL }, *pa[] = { "acked", NULL };
	char *text = xstrndup(line->p, line->n);
	yajl_val root = yajl_tree_parse(text, NULL, 0), kind, id, acked;
	int ret = -1;

	memset(ctl, 0, sizeof(*ctl));
	if (!root)
		goto cleanup;
	kind = yajl_tree_get(root, pk, yajl_t_string);
	id = yajl_tree_get(root, pi, yajl_t_number);
	acked = yajl_tree_get(root, pa, yajl_t_number);
	if (kind && YAJL_GET_STRING(kind))
		snprintf(ctl->kind, sizeof(ctl->kind), "%s", YAJL_GET_STRING(kind));
	if (id && YAJL_IS_INTEGER(id) && YAJL_GET_INTEGER(id) >= 0) {
		ctl->id = (uint64_t)YAJL_GET_INTEGER(id);
		ctl->has_id = 1;
	}
	if (acked && YAJL_IS_INTEGER(acked) && YAJL_GET_INTEGER(acked) >= 0)
		ctl->acked = (uint64_t)YAJL_GET_INTEGER(acked);
	if (!strcmp(ctl->kind, "restore"))
		ctl->type = ctl->has_id ? EC_CTL_RESTORE : EC_CTL_OTHER;
	else if (!strcmp(ctl->kind, "barrier"))
		ctl->type = ctl->has_id ? EC_CTL_BARRIER : EC_CTL_OTHER;
	else
		ctl->type = EC_CTL_OTHER;
	ret = 0;
cleanup:
	yajl_tree_free(root);
	free(text);
	return ret;
}

int ec_record_time(const struct ec_jval *v, const char *path, enum ec_time_unit unit, int64_t *ms,
		   char *errstr, size_t errstr_size)
{
	char err[256];

	if (v->type == EC_J_NUMBER) {
		if (ec_time_from_number(v->p, v->n, unit, ms) == 0)
			return 0;
		snprintf(errstr, errstr_size, "%s: number out of range for a time: %.*s",
			 path, (int)(v->n > 40 ? 40 : v->n), v->p);
	} else if (v->type == EC_J_STRING) {
		if (!v->escaped && ec_time_parse(v->p, v->n, ms, err, sizeof(err)) == 0)
			return 0;
		snprintf(errstr, errstr_size, "%s: %s", path, v->escaped ? "a time cannot contain escapes" : err);
	} else if (v->type == EC_J_MISSING) {
		snprintf(errstr, errstr_size, "missing time field %s", path);
	} else {
		snprintf(errstr, errstr_size, "%s: expected a time (string or number), got %s",
			 path, ec_jtype_name(v->type));
	}
	return -1;
}
