/*
 * sink.h: the sink role of the checkpoint protocol (DESIGN.md §4), for every
 * tool at the end of a pipeline (ec-s3put, ec-kcat produce): on barrier N
 * make everything durable, write the ack file, then forward the barrier; an
 * intent journal so that restore K removes what epochs after K wrote.
 */
#ifndef EC_SINK_H
#define EC_SINK_H

#include "ec.h"
#include "record.h"

/* One journalled output: an object (or message batch) of an epoch. */
struct ec_sink_intent {
	uint64_t epoch;
	const char *key;
	const char *upload_id;	/* NULL unless a multipart upload was started */
	int done;		/* it was completed */
};

/* What a tool does at the protocol's two moments; CTX is the tool's own. */
struct ec_sink_ops {
	/*
	 * Barrier ID: make everything before it durable (complete objects,
	 * write the epoch's manifest); lines for stdout go to OUT.
	 * 0, or an exit status with errstr.
	 */
	int (*commit)(void *ctx, uint64_t id, struct ec_buf *out, char *errstr, size_t errstr_size);
	/* Restore: remove one output of an epoch after the restored checkpoint. */
	int (*undo)(void *ctx, const struct ec_sink_intent *in, char *errstr, size_t errstr_size);
	/* Leaving on a failure: drop unfinished output (abort uploads). May be NULL. */
	void (*abandon)(void *ctx);
};

struct ec_sink {
	const char *ack_path;		/* NULL: no ack file */
	const char *state_dir;		/* NULL: no journal */
	char *journal_path;
	int journal_fd;
	uint64_t epoch;			/* what new output belongs to: last barrier + 1 */
	uint64_t barriers;		/* barriers handled */
	int checkpointing;		/* a restore or barrier record was seen */
	const struct ec_sink_ops *ops;
	void *ctx;
	struct ec_pathset *pos_ps;	/* extracts a barrier's "pos" as its JSON text */
	struct ec_buf ack_extra;	/* members the commit adds to the ack file ("\"records\":5") */
};

/* Set up S; creates STATE_DIR (exit 73 if it cannot) and opens the journal there. */
void ec_sink_init(struct ec_sink *s, const char *ack_path, const char *state_dir,
		  const struct ec_sink_ops *ops, void *ctx);
void ec_sink_release(struct ec_sink *s);

/*
 * Journal that KEY of EPOCH is about to be written (UPLOAD_ID NULL), that
 * its multipart upload UPLOAD_ID started, or (DONE) that it is complete.
 * Intents are on disk (fsync) before this returns; "done" lines need not be.
 * No-op without a state dir. 0, or -1 with errstr.
 */
int ec_sink_journal(struct ec_sink *s, uint64_t epoch, const char *key, const char *upload_id,
		    int done, char *errstr, size_t errstr_size);

/*
 * Handle the control record LINE: restore K undoes the journalled outputs of
 * epochs after K and compacts the journal; barrier N commits, writes the ack
 * file {"id":N,"pos":PN} (plus ack_extra, which commit may set) atomically and then empties the journal (without an
 * ack file the journal is kept: nothing is acknowledged). Then LINE is
 * appended to OUT (after what the commit wrote). Exits with the failure's
 * status (74 for the ack file or journal).
 */
void ec_sink_control(struct ec_sink *s, const struct ec_line *line, struct ec_buf *out);

#endif
