/* sink.c: the sink role of the checkpoint protocol: commit, ack file, intent journal, undo on restore. */
#include "ec.h"
#include "sink.h"
#include "ckpt.h"
#include "json.h"
#include "jsonw.h"
#include "log.h"
#include "path.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#define JOURNAL_NAME "journal.ndjson"

void ec_sink_init(struct ec_sink *s, const char *ack_path, const char *state_dir,
		  const struct ec_sink_ops *ops, void *ctx)
{
	struct ec_buf path = EC_BUF_INIT;
	struct ec_path pos;
	char err[256];

	memset(s, 0, sizeof(*s));
	s->ack_path = ack_path;
	s->state_dir = state_dir;
	s->ops = ops;
	s->ctx = ctx;
	s->epoch = 1;
	s->journal_fd = -1;
	s->pos_ps = ec_pathset_new();
	if (ec_path_parse(&pos, ".pos", err, sizeof(err)) < 0)
		ec_die(EX_SOFTWARE, "%s", err);
	ec_pathset_add(s->pos_ps, &pos);
	ec_path_release(&pos);
	if (!state_dir)
		return;
	if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
		ec_die(EX_CANTCREAT, "cannot create --state-dir %s: %s", state_dir, strerror(errno));
	ec_buf_addf(&path, "%s/" JOURNAL_NAME, state_dir);
	s->journal_path = ec_buf_detach(&path, NULL);
	s->journal_fd = open(s->journal_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (s->journal_fd < 0)
		ec_die(EX_CANTCREAT, "cannot open the journal %s: %s", s->journal_path, strerror(errno));
}

void ec_sink_release(struct ec_sink *s)
{
	if (s->journal_fd >= 0)
		close(s->journal_fd);
	s->journal_fd = -1;
	free(s->journal_path);
	s->journal_path = NULL;
	ec_pathset_free(s->pos_ps);
	s->pos_ps = NULL;
	ec_buf_release(&s->ack_extra);
}

int ec_sink_journal(struct ec_sink *s, uint64_t epoch, const char *key, const char *upload_id,
		    int done, char *errstr, size_t errstr_size)
{
	struct ec_buf b = EC_BUF_INIT;
	int ret = -1;

	if (s->journal_fd < 0)
		return 0;
	ec_buf_addf(&b, "{\"epoch\":%" PRIu64 ",\"key\":", epoch);
	ec_jsonw_cstr(&b, key);
	if (upload_id) {
		ec_buf_addstr(&b, ",\"upload_id\":");
		ec_jsonw_cstr(&b, upload_id);
	}
	if (done)
		ec_buf_addstr(&b, ",\"done\":true");
	ec_buf_addstr(&b, "}\n");
	/* An intent must be on disk before the output it announces exists; "done" is a hint. */
	if (ec_write_all(s->journal_fd, b.buf, b.len) < 0 || (!done && fdatasync(s->journal_fd) < 0)) {
		snprintf(errstr, errstr_size, "writing the journal %s: %s", s->journal_path, strerror(errno));
		goto cleanup;
	}
	ret = 0;
cleanup:
	ec_buf_release(&b);
	return ret;
}

static void EC_PRINTF(3, 4) EC_NORETURN sink_die(struct ec_sink *s, int status, const char *fmt, ...)
{
	struct ec_buf msg = EC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	ec_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (s->ops->abandon)
		s->ops->abandon(s->ctx);
	ec_die(status, "%s", msg.buf);
}

/* Empty the journal: everything in it is committed or undone. */
static void journal_reset(struct ec_sink *s)
{
	if (s->journal_fd < 0)
		return;
	if (ftruncate(s->journal_fd, 0) < 0 || fsync(s->journal_fd) < 0)
		ec_die(EX_IOERR, "emptying the journal %s: %s", s->journal_path, strerror(errno));
}

/* What the journal says about one output, its lines merged. */
struct intent {
	uint64_t epoch;
	char *key, *upload_id;
	int done;
};

struct intents {
	struct intent *v;
	size_t n, alloc;
};

static struct intent *intent_for(struct intents *in, uint64_t epoch, const char *key)
{
	size_t i;

	for (i = in->n; i > 0; i--)
		if (in->v[i - 1].epoch == epoch && !strcmp(in->v[i - 1].key, key))
			return &in->v[i - 1];
	EC_GROW(in->v, in->n + 1, in->alloc);
	memset(&in->v[in->n], 0, sizeof(in->v[0]));
	in->v[in->n].epoch = epoch;
	in->v[in->n].key = xstrdup(key);
	return &in->v[in->n++];
}

/* Merge one journal line into IN. A torn last line (a crash mid-write) is ignored. */
static void journal_line(struct intents *in, char *line)
{
	const char *pe[] = { "epoch", NULL }, *pk[] = { "key", NULL }, *pu[] = { "upload_id", NULL },
		   *pd[] = { "done", NULL };
	yajl_val root = yajl_tree_parse(line, NULL, 0), epoch, key, upload, done;
	struct intent *it;

	if (!root)
		return;
	epoch = yajl_tree_get(root, pe, yajl_t_number);
	key = yajl_tree_get(root, pk, yajl_t_string);
	upload = yajl_tree_get(root, pu, yajl_t_string);
	done = yajl_tree_get(root, pd, yajl_t_true);
	if (epoch && YAJL_IS_INTEGER(epoch) && YAJL_GET_INTEGER(epoch) >= 0 && key) {
		it = intent_for(in, (uint64_t)YAJL_GET_INTEGER(epoch), YAJL_GET_STRING(key));
		if (upload) {
			free(it->upload_id);
			it->upload_id = xstrdup(YAJL_GET_STRING(upload));
		}
		if (done)
			it->done = 1;
	}
	yajl_tree_free(root);
}

static void journal_load(struct ec_sink *s, struct intents *in)
{
	struct ec_buf text = EC_BUF_INIT;
	char err[512], *p, *nl;

	if (ec_read_file(s->journal_path, &text, err, sizeof(err)) < 0)
		ec_die(EX_IOERR, "reading the journal: %s", err);
	for (p = text.buf; p && *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		journal_line(in, p);
	}
	ec_buf_release(&text);
}

static void restore(struct ec_sink *s, const struct ec_line *line, uint64_t id)
{
	struct intents in = { NULL, 0, 0 };
	char err[512];
	size_t i, undone = 0;
	int st;

	s->checkpointing = 1;
	s->epoch = id + 1;
	if (s->journal_fd < 0) {
		if (id > 0)
			ec_warn("%s:%" PRIu64 ": restore %" PRIu64 " without --state-dir: output of later "
				"epochs cannot be found and removed", line->file, line->lineno, id);
		return;
	}
	journal_load(s, &in);
	for (i = 0; i < in.n; i++) {
		struct ec_sink_intent it = { in.v[i].epoch, in.v[i].key, in.v[i].upload_id, in.v[i].done };

		if (it.epoch <= id)
			continue;
		if ((st = s->ops->undo(s->ctx, &it, err, sizeof(err))) != 0)
			sink_die(s, st, "restore %" PRIu64 ": removing %s of epoch %" PRIu64 ": %s", id, it.key,
			       it.epoch, err);
		undone++;
	}
	if (undone)
		ec_info("restore %" PRIu64 ": removed %zu outputs of later epochs", id, undone);
	/* Everything left in the journal is committed (epochs up to K) or gone. */
	journal_reset(s);
	for (i = 0; i < in.n; i++) {
		free(in.v[i].key);
		free(in.v[i].upload_id);
	}
	free(in.v);
}

/* A barrier's "pos" as its JSON text ("null" when absent). */
static char *barrier_pos(struct ec_sink *s, const struct ec_line *line)
{
	struct ec_jval v;
	struct ec_jerr jerr;
	const char *raw;
	size_t n;

	if (ec_json_scan(s->pos_ps, line->p, line->n, &v, &jerr) < 0 || v.type == EC_J_MISSING)
		return xstrdup("null");
	raw = ec_jval_raw(&v, &n);
	return xstrndup(raw, n);
}

static void barrier(struct ec_sink *s, const struct ec_line *line, uint64_t id, struct ec_buf *out)
{
	char err[512], *pos;
	int st;

	s->checkpointing = 1;
	if ((st = s->ops->commit(s->ctx, id, out, err, sizeof(err))) != 0)
		sink_die(s, st, "barrier %" PRIu64 ": %s", id, err);
	if (s->ack_path) {
		pos = barrier_pos(s, line);
		if (ec_ack_write_extra(s->ack_path, id, pos, s->ack_extra.buf, err, sizeof(err)) < 0)
			sink_die(s, EX_IOERR, "writing the ack file: %s", err);
		free(pos);
		/* Acknowledged: nothing journalled so far can be undone any more. */
		journal_reset(s);
	}
	s->barriers++;
	s->epoch = id + 1;
}

void ec_sink_control(struct ec_sink *s, const struct ec_line *line, struct ec_buf *out)
{
	struct ec_control ctl;

	if (ec_control_parse(line, &ctl) < 0)
		ctl.type = EC_CTL_OTHER;
	if (ctl.type == EC_CTL_RESTORE)
		restore(s, line, ctl.id);
	else if (ctl.type == EC_CTL_BARRIER)
		barrier(s, line, ctl.id, out);
	ec_buf_add(out, line->p, line->n);
	ec_buf_addch(out, '\n');
}
