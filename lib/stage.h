/*
 * stage.h: the stateful-stage role of the checkpoint protocol (DESIGN.md §4),
 * once for every tool that keeps state (ec-window, ec-state, ec-join): on
 * restore K load snapshot K, on barrier N write snapshot N atomically and
 * prune by "acked", forward every control record in order.
 *
 * Snapshots are incremental when the tool can say what changed: snapshot N
 * is then either full or a delta on snapshot N-1. Its first line says which:
 *   {"ec_snapshot":TOOL,"version":2,"config":FINGERPRINT,"full":F}
 *   {"ec_snapshot":TOOL,"version":2,"config":FINGERPRINT,"full":F,"prev":P}
 * F is the id of the full snapshot the chain starts at (N itself for a full
 * one), P the snapshot the delta applies to. A full snapshot is written when
 * the delta would be larger than it (when the tool can estimate both), or when
 * the deltas since the last full one add up to more bytes than it and, if the
 * tool can estimate the size of its state, the chain is more than twice that:
 * a restore reads at most about twice the live state, and state that only
 * grows (mostly new keys) is not written again and again. Restore K loads F, then
 * each delta up to K in order; pruning by "acked" keeps the whole chain that
 * snapshot "acked" needs. A missing link is a lost state: refused.
 */
#ifndef EC_STAGE_H
#define EC_STAGE_H

#include "ec.h"
#include "record.h"

/* What a tool does with its state; CTX is the tool's own. */
struct ec_stage_ops {
	/* Forget everything (restore 0). */
	void (*reset)(void *ctx);
	/*
	 * Append the state as text (NDJSON is the convention). A tool that
	 * tracks changes clears its marks: the next delta starts from here.
	 * OUT is written to the snapshot file as it grows: call
	 * ec_stage_spill(OUT) between lines to keep it small.
	 */
	void (*save)(void *ctx, struct ec_buf *out);
	/* Replace the state with a saved one: 0, or -1 with errstr. */
	int (*load)(void *ctx, const char *text, size_t n, char *errstr, size_t errstr_size);
	/*
	 * Optional (both or neither): append only what changed since the last
	 * save or save_changes, then clear the marks; and apply such a delta
	 * on top of the state loaded so far (keys upserted or deleted).
	 */
	void (*save_changes)(void *ctx, struct ec_buf *out);
	int (*load_changes)(void *ctx, const char *text, size_t n, char *errstr, size_t errstr_size);
	/* Optional, with save_changes: about how many bytes a full snapshot would take now. */
	uint64_t (*full_size)(void *ctx);
	/*
	 * Optional, with full_size: about how many bytes save_changes would
	 * write now. A delta larger than the full snapshot is not written: the
	 * full one is, which also starts a new chain.
	 */
	uint64_t (*changes_size)(void *ctx);
};

struct ec_stage {
	const char *state_dir;		/* NULL: no snapshots (a restore K > 0 is refused) */
	const char *fingerprint;	/* the options the state depends on */
	const struct ec_stage_ops *ops;
	void *ctx;
	int checkpointing;		/* a restore record was seen */
	int warned;
	/* The chain the next delta extends (have_base 0: the next snapshot is full). */
	int have_base;
	uint64_t last_id, full_id;
	uint64_t full_bytes, delta_bytes;	/* the full snapshot's size, the deltas' since */
	void *durable;		/* the last snapshot while it is still on its way to disk */
};

/*
 * Set up ST; creates STATE_DIR when given (exit 73 if it cannot). The
 * fingerprint is kept in each snapshot: one made with other options is refused.
 */
void ec_stage_init(struct ec_stage *st, const char *state_dir, const char *fingerprint,
		   const struct ec_stage_ops *ops, void *ctx);

/*
 * Handle the control record LINE: restore and barrier as DESIGN.md §4
 * says, anything else untouched; then append LINE to OUT. The caller has
 * already appended everything the record closes. Exits 66 when a snapshot
 * to restore is missing, 65 when it does not fit, 74 on I/O errors.
 */
void ec_stage_control(struct ec_stage *st, const struct ec_line *line, struct ec_buf *out);

/*
 * Whether LINE (a control record) is {"_ec":"end"}: the source's input is
 * complete, so a stage writes what it would write at the end of its input
 * before it calls ec_stage_control, and the barrier that follows acknowledges it.
 */
int ec_stage_is_end(const struct ec_line *line);

/*
 * Within ops->save or ops->save_changes: write what OUT holds to the
 * snapshot file once it is large, so a snapshot never sits whole in memory.
 * Does nothing to a buffer that is not the stage's.
 */
void ec_stage_spill(struct ec_buf *out);

/*
 * A journal for save_changes: what changed since the last snapshot, as
 * delta lines appended when it happens, while the data is in cache, rather
 * than read back from a large state at the barrier. A line repeated for the
 * same key is fine: a restore applies them in order. Past EC_JOURNAL_MAX
 * bytes (no barrier for a long time) it is dropped and marked lost; its
 * size is then UINT64_MAX, so that changes_size makes the next snapshot full.
 */
#define EC_JOURNAL_MAX ((size_t)64 << 20)

struct ec_journal {
	struct ec_buf b;
	struct ec_buf spare;	/* the last one saved, while a snapshot is written from it */
	int lost;
};

/* The buffer to append a line to, or NULL while the journal is lost. */
static inline struct ec_buf *ec_journal_buf(struct ec_journal *j)
{
	return j->lost ? NULL : &j->b;
}
/* After a line is appended: drop the journal if it has grown too large. */
void ec_journal_check(struct ec_journal *j);
/* Its bytes, for ops->changes_size: UINT64_MAX once lost. */
uint64_t ec_journal_size(const struct ec_journal *j);
/* Within ops->save_changes (OUT is the snapshot's buffer): the journal goes next into the snapshot. */
void ec_journal_save(struct ec_journal *j, struct ec_buf *out);
/* Empty it: a snapshot holds everything it said. */
void ec_journal_clear(struct ec_journal *j);
void ec_journal_release(struct ec_journal *j);

#endif
