/* stage.c: restore and barrier handling with snapshots, shared by every stateful tool. */
#include "ec.h"
#include "stage.h"
#include "ckpt.h"
#include "jsonw.h"
#include "log.h"
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>

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

/* The first line of every snapshot: which tool, which format version, which options. */
static void snapshot_header(const struct ec_stage *st, struct ec_buf *out)
{
	ec_buf_addstr(out, "{\"ec_snapshot\":");
	ec_jsonw_cstr(out, ec_progname);
	ec_buf_addstr(out, ",\"version\":1,\"config\":");
	ec_jsonw_cstr(out, st->fingerprint);
	ec_buf_addstr(out, "}\n");
}

static void save_snapshot(struct ec_stage *st, uint64_t id)
{
	struct ec_buf b = EC_BUF_INIT;
	char err[512], *path = ec_snapshot_path(st->state_dir, id);

	snapshot_header(st, &b);
	st->ops->save(st->ctx, &b);
	if (ec_atomic_write(path, b.buf, b.len, err, sizeof(err)) < 0)
		ec_die(EX_IOERR, "writing snapshot: %s", err);
	free(path);
	ec_buf_release(&b);
}

static void load_snapshot(struct ec_stage *st, uint64_t id)
{
	struct ec_buf b = EC_BUF_INIT, want = EC_BUF_INIT;
	char err[512], *path = ec_snapshot_path(st->state_dir, id);
	int r = ec_read_file(path, &b, err, sizeof(err));
	size_t header;

	if (r > 0)
		ec_die(EX_NOINPUT, "restore %" PRIu64 ": snapshot %s is missing: the state of that "
		       "checkpoint is lost; start the pipeline afresh (remove the ack file) or restore it", id, path);
	if (r < 0)
		ec_die(EX_IOERR, "restore %" PRIu64 ": %s", id, err);
	snapshot_header(st, &want);
	header = want.len;
	if (b.len < header || memcmp(b.buf, want.buf, header))
		ec_die(EX_DATAERR, "restore %" PRIu64 ": snapshot %s was made by another tool, version or "
		       "set of options; refusing to mix them", id, path);
	if (st->ops->load(st->ctx, b.buf + header, b.len - header, err, sizeof(err)) < 0)
		ec_die(EX_DATAERR, "restore %" PRIu64 ": %s: %s", id, path, err);
	free(path);
	ec_buf_release(&b);
	ec_buf_release(&want);
}

static void restore(struct ec_stage *st, const struct ec_line *line, uint64_t id)
{
	char err[512];

	st->checkpointing = 1;
	if (!st->state_dir) {
		if (id > 0)
			ec_die(EX_USAGE, "%s:%" PRIu64 ": restore %" PRIu64 " needs --state-dir: without "
			       "it the state of that checkpoint is lost", line->file, line->lineno, id);
		return;
	}
	if (id > 0)
		load_snapshot(st, id);
	else
		st->ops->reset(st->ctx);
	if (ec_snapshot_prune(st->state_dir, 0, id, err, sizeof(err)) < 0)
		ec_warn("pruning snapshots: %s", err);
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
	save_snapshot(st, id);
	if (ec_snapshot_prune(st->state_dir, acked, UINT64_MAX, err, sizeof(err)) < 0)
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
