/* stage.c: restore and barrier handling with full and incremental snapshots, shared by every stateful tool. */
#include "ec.h"
#include "stage.h"
#include "ckpt.h"
#include "jsonw.h"
#include "log.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

/* A snapshot's text is written out in pieces of about this size. */
#define SPILL_BYTES (1 << 20)

/*
 * Text the thread that makes a snapshot durable writes first, in order: a
 * journal (borrowed: it stays untouched until the next barrier) and what
 * the tool wrote after it (owned).
 */
struct piece {
	const char *p;
	size_t n;
	char *owned;
};

/* A snapshot being written: the buffer the tool appends to, then the temp file. */
struct snapfile {
	struct ec_buf b;
	int fd;
	char *tmp;
	uint64_t bytes;		/* written or queued so far */
	struct piece *pieces;	/* once a journal is queued, the rest queues behind it */
	size_t npieces, pieces_alloc;
};

static void queue_piece(struct snapfile *f, const char *p, size_t n, char *owned)
{
	EC_GROW(f->pieces, f->npieces + 1, f->pieces_alloc);
	f->pieces[f->npieces++] = (struct piece){ p, n, owned };
	f->bytes += n;
}

/* The snapshot being written, so ec_stage_spill recognises its buffer. */
static struct snapfile *current;

/* One snapshot's first line, parsed. */
struct snaphead {
	uint64_t full;		/* the full snapshot its chain starts at */
	uint64_t prev;		/* a delta's base; 0 for a full snapshot */
	int delta;
};

void ec_stage_init(struct ec_stage *st, const char *state_dir, const char *fingerprint,
		   const struct ec_stage_ops *ops, void *ctx)
{
	memset(st, 0, sizeof(*st));
	st->state_dir = state_dir;
	st->fingerprint = fingerprint;
	st->ops = ops;
	st->ctx = ctx;
	if (state_dir && mkdir(state_dir, 0755) < 0 && errno != EEXIST)
		ec_die(EX_CANTCREAT, "cannot create --state-dir %s: %s", state_dir, strerror(errno));
}

/* What every snapshot of this tool and these options starts with. */
static void header_prefix(const struct ec_stage *st, struct ec_buf *out)
{
	ec_buf_addstr(out, "{\"ec_snapshot\":");
	ec_jsonw_cstr(out, ec_progname);
	ec_buf_addstr(out, ",\"version\":2,\"config\":");
	ec_jsonw_cstr(out, st->fingerprint);
}

/* The first line of a snapshot: the prefix, then its chain. */
static void snapshot_header(const struct ec_stage *st, const struct snaphead *h, struct ec_buf *out)
{
	header_prefix(st, out);
	ec_buf_addf(out, ",\"full\":%" PRIu64, h->full);
	if (h->delta)
		ec_buf_addf(out, ",\"prev\":%" PRIu64, h->prev);
	ec_buf_addstr(out, "}\n");
}

static void spill_now(struct snapfile *f)
{
	size_t n = f->b.len;

	if (!n)
		return;
	if (f->npieces) {
		char *text = ec_buf_detach(&f->b, NULL);
		queue_piece(f, text, n, text);
		return;
	}
	if (ec_write_all(f->fd, f->b.buf, f->b.len) < 0)
		ec_die(EX_IOERR, "writing snapshot %s: %s", f->tmp, strerror(errno));
	f->bytes += f->b.len;
	ec_buf_reset(&f->b);
}

void ec_stage_spill(struct ec_buf *out)
{
	if (current && out == &current->b && out->len >= SPILL_BYTES)
		spill_now(current);
}

/*
 * A snapshot written, on its way to disk: a thread waits for fsync, renames
 * it into place and syncs the directory, while the tool goes on reading.
 * Meanwhile everything after the barrier is held back (ec_out_hold), so no
 * sink acknowledges a checkpoint whose snapshot a crash could still lose.
 */
struct durable {
	pthread_t thread;
	int fd;
	char *tmp, *path;
	const char *dir;
	struct piece *pieces;	/* written first */
	size_t npieces;
	const char *failed;	/* the step that failed, NULL */
	int err;		/* its errno */
	int done;		/* set by the thread as it ends (__atomic) */
};

static void *make_durable(void *arg)
{
	struct durable *d = arg;
	size_t i;

	for (i = 0; i < d->npieces && !d->failed; i++)
		if (ec_write_all(d->fd, d->pieces[i].p, d->pieces[i].n) < 0)
			d->failed = "write";
	if (d->failed)
		;
	else if (fsync(d->fd) < 0)
		d->failed = "fsync";
	else if (rename(d->tmp, d->path) < 0)
		d->failed = "rename";
	else if (ec_fsync_dir(d->dir) < 0)
		d->failed = "fsync of its directory";
	d->err = d->failed ? errno : 0;
	__atomic_store_n(&d->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void durable_free(struct durable *d)
{
	size_t i;

	for (i = 0; i < d->npieces; i++)
		free(d->pieces[i].owned);
	free(d->pieces);
	close(d->fd);
	free(d->tmp);
	free(d->path);
	free(d);
}

/* The hold on stdout (ec_out_hold): over once the snapshot is on disk; waits for that when WAIT. */
static int durable_over(void *arg, int wait)
{
	struct ec_stage *st = arg;
	struct durable *d = st->durable;

	if (!wait && !__atomic_load_n(&d->done, __ATOMIC_ACQUIRE))
		return 0;
	pthread_join(d->thread, NULL);
	st->durable = NULL;
	if (d->failed) {
		/* What followed the barrier must not reach the reader: that checkpoint never happened. */
		ec_out_discard();
		ec_die(EX_IOERR, "writing snapshot %s: %s: %s", d->tmp, d->failed, strerror(d->err));
	}
	durable_free(d);
	return 1;
}

/*
 * Make snapshot F (to be renamed to PATH, taken over) durable on a thread,
 * or here: its queued pieces written, fsync, rename, fsync of the directory.
 */
static void make_durable_behind(struct ec_stage *st, struct snapfile *f, char *path)
{
	struct durable *d = xcalloc(1, sizeof(*d));

	d->fd = f->fd;
	d->tmp = f->tmp;
	d->path = path;
	d->pieces = f->pieces;
	d->npieces = f->npieces;
	d->dir = st->state_dir;
	st->durable = d;
	if (pthread_create(&d->thread, NULL, make_durable, d) != 0) {
		make_durable(d);
		st->durable = NULL;
		if (d->failed)
			ec_die(EX_IOERR, "writing snapshot %s: %s: %s", d->tmp, d->failed, strerror(d->err));
		durable_free(d);
		return;
	}
	ec_out_hold(durable_over, st);
}

/*
 * Write snapshot ID as HEAD says, streaming, atomically (temp file, fsync,
 * rename, fsync dir; the last three behind, see struct durable): the tool's
 * text from save or save_changes. Its size.
 */
static uint64_t write_snapshot(struct ec_stage *st, uint64_t id, const struct snaphead *h)
{
	struct snapfile f = { EC_BUF_INIT, -1, NULL, 0, NULL, 0, 0 };
	struct ec_buf tmp = EC_BUF_INIT;
	char *path = ec_snapshot_path(st->state_dir, id);

	ec_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	f.tmp = tmp.buf;
	f.fd = open(f.tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f.fd < 0)
		ec_die(EX_IOERR, "writing snapshot: %s: %s", f.tmp, strerror(errno));
	snapshot_header(st, h, &f.b);
	current = &f;
	if (h->delta)
		st->ops->save_changes(st->ctx, &f.b);
	else
		st->ops->save(st->ctx, &f.b);
	current = NULL;
	spill_now(&f);
	ec_buf_release(&f.b);
	f.tmp = ec_buf_detach(&tmp, NULL);
	make_durable_behind(st, &f, path);
	return f.bytes;
}

/*
 * Parse the first line of a snapshot (LINE, N bytes, without its newline)
 * into H: 0, or -1 when it was made by another tool, version or set of options.
 */
static int parse_header(const struct ec_stage *st, const char *line, size_t n, struct snaphead *h)
{
	struct ec_buf want = EC_BUF_INIT;
	char rest[64];
	size_t len;
	int used = -1, ret = -1;

	header_prefix(st, &want);
	len = want.len;
	if (n < len || memcmp(line, want.buf, len) || n - len >= sizeof(rest))
		goto cleanup;
	memcpy(rest, line + len, n - len);
	rest[n - len] = 0;
	memset(h, 0, sizeof(*h));
	if (sscanf(rest, ",\"full\":%" SCNu64 "%n", &h->full, &used) != 1 || used < 0)
		goto cleanup;
	if (!strcmp(rest + used, "}")) {
		ret = 0;
		goto cleanup;
	}
	used = -1;
	if (sscanf(rest, ",\"full\":%*u,\"prev\":%" SCNu64 "}%n", &h->prev, &used) != 1 || used < 0 ||
	    rest[used])
		goto cleanup;
	h->delta = 1;
	ret = 0;
cleanup:
	ec_buf_release(&want);
	return ret;
}

static void die_missing(uint64_t restore_id, const char *path)
{
	ec_die(EX_NOINPUT, "restore %" PRIu64 ": snapshot %s is missing: the state of that "
	       "checkpoint is lost; start the pipeline afresh (remove the ack file) or restore it",
	       restore_id, path);
}

/* The header of snapshot ID: 0, 1 if the file does not exist, -1 if it is not ours (errstr). */
static int read_header(const struct ec_stage *st, uint64_t id, struct snaphead *h, char *errstr,
		       size_t errstr_size)
{
	char *path = ec_snapshot_path(st->state_dir, id), *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp = fopen(path, "re");
	int ret = -1;

	if (!fp) {
		if (errno == ENOENT)
			ret = 1;
		else
			snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	n = getline(&line, &cap, fp);
	if (n > 0 && line[n - 1] == '\n')
		n--;
	if (n <= 0 || parse_header(st, line, (size_t)n, h) < 0) {
		snprintf(errstr, errstr_size, "snapshot %s was made by another tool, version or "
			 "set of options; refusing to mix them", path);
		goto cleanup;
	}
	ret = 0;
cleanup:
	if (fp)
		fclose(fp);
	free(line);
	free(path);
	return ret;
}

/* Load snapshot ID, full or a delta, as part of restore RESTORE_ID. Its size. */
static uint64_t load_snapshot(struct ec_stage *st, uint64_t restore_id, uint64_t id)
{
	struct ec_buf b = EC_BUF_INIT;
	char err[512], *path = ec_snapshot_path(st->state_dir, id);
	const char *nl;
	struct snaphead h;
	size_t header;
	uint64_t size;
	int r = ec_read_file(path, &b, err, sizeof(err));

	if (r > 0)
		die_missing(restore_id, path);
	if (r < 0)
		ec_die(EX_IOERR, "restore %" PRIu64 ": %s", restore_id, err);
	nl = memchr(b.buf, '\n', b.len);
	if (!nl || parse_header(st, b.buf, (size_t)(nl - b.buf), &h) < 0)
		ec_die(EX_DATAERR, "restore %" PRIu64 ": snapshot %s was made by another tool, version or "
		       "set of options; refusing to mix them", restore_id, path);
	header = (size_t)(nl - b.buf) + 1;
	if (h.delta)
		r = st->ops->load_changes(st->ctx, b.buf + header, b.len - header, err, sizeof(err));
	else
		r = st->ops->load(st->ctx, b.buf + header, b.len - header, err, sizeof(err));
	if (r < 0)
		ec_die(EX_DATAERR, "restore %" PRIu64 ": %s: %s", restore_id, path, err);
	size = b.len;
	free(path);
	ec_buf_release(&b);
	return size;
}

/*
 * The chain snapshot ID needs, oldest (the full snapshot) first, into
 * *CHAIN: its length. Exits when a link is missing or not ours.
 */
static size_t find_chain(const struct ec_stage *st, uint64_t id, uint64_t **chain)
{
	size_t n = 0, alloc = 0, i;
	uint64_t at = id, t;
	struct snaphead h;
	char err[512];

	*chain = NULL;
	for (;;) {
		int r = read_header(st, at, &h, err, sizeof(err));
		if (r > 0) {
			char *path = ec_snapshot_path(st->state_dir, at);
			die_missing(id, path);
		}
		if (r < 0)
			ec_die(EX_DATAERR, "restore %" PRIu64 ": %s", id, err);
		EC_GROW(*chain, n + 1, alloc);
		(*chain)[n++] = at;
		if (!h.delta)
			break;
		/* Links point back: a loop or a jump forward is a damaged chain. */
		if (h.prev >= at || h.full > h.prev)
			ec_die(EX_DATAERR, "restore %" PRIu64 ": snapshot %" PRIu64 " names a base (%" PRIu64
			       ") that cannot be", id, at, h.prev);
		at = h.prev;
	}
	for (i = 0; i < n / 2; i++) {
		t = (*chain)[i];
		(*chain)[i] = (*chain)[n - 1 - i];
		(*chain)[n - 1 - i] = t;
	}
	return n;
}

/* Load snapshot ID: its chain's full snapshot, then every delta up to it. */
static void load_chain(struct ec_stage *st, uint64_t id)
{
	uint64_t *chain, size;
	size_t n = find_chain(st, id, &chain), i;

	if (n > 1 && !st->ops->load_changes)
		ec_die(EX_DATAERR, "restore %" PRIu64 ": snapshot %" PRIu64 " is a delta this tool cannot "
		       "apply", id, id);
	st->delta_bytes = 0;
	for (i = 0; i < n; i++) {
		size = load_snapshot(st, id, chain[i]);
		if (i == 0)
			st->full_bytes = size;
		else
			st->delta_bytes += size;
	}
	st->have_base = 1;
	st->full_id = chain[0];
	st->last_id = id;
	free(chain);
}

static void restore(struct ec_stage *st, const struct ec_line *line, uint64_t id)
{
	char err[512];

	ec_out_settle();
	st->checkpointing = 1;
	st->have_base = 0;
	if (!st->state_dir) {
		if (id > 0)
			ec_die(EX_USAGE, "%s:%" PRIu64 ": restore %" PRIu64 " needs --state-dir: without "
			       "it the state of that checkpoint is lost", line->file, line->lineno, id);
		return;
	}
	if (id > 0)
		load_chain(st, id);
	else
		st->ops->reset(st->ctx);
	if (ec_snapshot_prune(st->state_dir, 0, id, err, sizeof(err)) < 0)
		ec_warn("pruning snapshots: %s", err);
}

/*
 * Whether the chain is still cheap to restore: its deltas are smaller than its
 * full snapshot, or it is at most twice the state it holds (most of what a
 * restore would read is still live; asked only when the first test fails).
 */
static int chain_is_cheap(const struct ec_stage *st)
{
	if (st->delta_bytes <= st->full_bytes)
		return 1;
	return st->ops->full_size && st->full_bytes + st->delta_bytes <= 2 * st->ops->full_size(st->ctx);
}

/* Whether the changes would take more bytes than the whole state (when the tool can tell). */
static int changes_exceed_state(const struct ec_stage *st)
{
	return st->ops->changes_size && st->ops->full_size &&
	       st->ops->changes_size(st->ctx) > st->ops->full_size(st->ctx);
}

/*
 * Write snapshot ID: a delta on the last one while the chain stays cheap to
 * restore and the delta is smaller than the state, else full.
 */
static void save(struct ec_stage *st, uint64_t id)
{
	struct snaphead h = { id, 0, 0 };
	uint64_t size;

	if (st->ops->save_changes && st->have_base && st->last_id < id && chain_is_cheap(st) &&
	    !changes_exceed_state(st)) {
		h.full = st->full_id;
		h.prev = st->last_id;
		h.delta = 1;
	}
	size = write_snapshot(st, id, &h);
	if (h.delta) {
		st->delta_bytes += size;
	} else {
		st->full_id = id;
		st->full_bytes = size;
		st->delta_bytes = 0;
	}
	st->have_base = 1;
	st->last_id = id;
}

/*
 * The oldest snapshot to keep so that snapshot ACKED can be restored: the
 * full snapshot its chain starts at (ACKED itself when unknown).
 */
static uint64_t keep_from(const struct ec_stage *st, uint64_t acked)
{
	struct snaphead h;
	char err[512];

	if (acked && read_header(st, acked, &h, err, sizeof(err)) == 0 && h.full <= acked)
		return h.full;
	return acked;
}

static void barrier(struct ec_stage *st, uint64_t id, uint64_t acked)
{
	char err[512];

	if (!st->state_dir) {
		if (!st->warned++)
			ec_warn("barrier records without --state-dir: a restart would lose the state");
		return;
	}
	st->checkpointing = 1;
	/* The last snapshot is on disk before the next: they become durable in order. */
	ec_out_settle();
	save(st, id);
	if (ec_snapshot_prune(st->state_dir, keep_from(st, acked), UINT64_MAX, err, sizeof(err)) < 0)
		ec_warn("pruning snapshots: %s", err);
}

int ec_stage_is_end(const struct ec_line *line)
{
	struct ec_control ctl;

	return ec_control_parse(line, &ctl) == 0 && !strcmp(ctl.kind, "end");
}

void ec_stage_control(struct ec_stage *st, const struct ec_line *line, struct ec_buf *out)
{
	struct ec_control ctl;

	if (ec_control_parse(line, &ctl) < 0)
		ctl.type = EC_CTL_OTHER;
	if (ctl.type == EC_CTL_RESTORE)
		restore(st, line, ctl.id);
	else if (ctl.type == EC_CTL_BARRIER)
		barrier(st, ctl.id, ctl.acked);
	ec_buf_add(out, line->p, line->n);
	ec_buf_addch(out, '\n');
}

void ec_journal_check(struct ec_journal *j)
{
	if (j->b.len > EC_JOURNAL_MAX) {
		ec_buf_release(&j->b);
		j->lost = 1;
	}
}

uint64_t ec_journal_size(const struct ec_journal *j)
{
	return j->lost ? UINT64_MAX : j->b.len;
}

void ec_journal_save(struct ec_journal *j, struct ec_buf *out)
{
	struct ec_buf t;

	if (!current || out != &current->b)
		ec_die(EX_SOFTWARE, "a journal saved outside a snapshot");
	/*
	 * The thread that makes the snapshot durable writes the journal, straight
	 * from its buffer; the journal goes on in its spare buffer, and gets this
	 * one back as the spare once the thread is done (by the next barrier).
	 */
	spill_now(current);
	queue_piece(current, j->b.buf ? j->b.buf : "", j->b.len, NULL);
	t = j->b;
	j->b = j->spare;
	j->spare = t;
	ec_buf_reset(&j->b);
}

void ec_journal_clear(struct ec_journal *j)
{
	ec_buf_reset(&j->b);
	j->lost = 0;
}

void ec_journal_release(struct ec_journal *j)
{
	/* A snapshot may still be writing from the spare buffer. */
	ec_out_settle();
	ec_buf_release(&j->b);
	ec_buf_release(&j->spare);
	j->lost = 0;
}
