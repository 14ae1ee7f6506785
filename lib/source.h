/*
 * source.h: the source role of the checkpoint protocol (DESIGN.md §4), once
 * for every tool at the head of a pipeline (ec-gen, ec-cdc, ec-kcat consume):
 * resume after the acknowledged position, announce it with a restore record,
 * emit barriers on a wall-clock interval, and tell the tool when the ack file
 * moved so that it confirms upstream (flush LSN, group offsets).
 */
#ifndef EC_SOURCE_H
#define EC_SOURCE_H

#include "ec.h"

struct ec_source {
	const char *ack_path;		/* NULL: no checkpoints, no control records */
	int64_t interval_ms;		/* a barrier every this much wall clock */
	uint64_t id;			/* the last barrier sent (or the restored checkpoint) */
	uint64_t acked;			/* the last id found in the ack file */
	char *acked_pos;		/* its "pos" as JSON text; NULL on a fresh start */
	int64_t next_due_ns;		/* CLOCK_MONOTONIC */
};

/*
 * Set up S and read ACK_PATH (may be NULL): afterwards acked/acked_pos say
 * where the last run's output was acknowledged up to, and the tool resumes
 * after acked_pos. 0, or an exit status after a message (66 unreadable,
 * 65 corrupt).
 */
int ec_source_init(struct ec_source *s, const char *ack_path, int64_t interval_ms);
void ec_source_release(struct ec_source *s);

/*
 * The record a checkpointing source writes when its history is complete,
 * before its last barrier: stages then write what they would at the end of
 * their input, and that is acknowledged too. A stop signal is no end.
 */
#define EC_END_RECORD "{\"_ec\":\"end\"}\n"

/* Append {"_ec":"restore","id":K} to OUT: the first record a checkpointing source writes. */
void ec_source_restore(struct ec_source *s, struct ec_buf *out);

/* Whether the interval has passed since the last barrier (always 0 without an ack file). */
int ec_source_due(const struct ec_source *s);

/* Milliseconds until the next barrier is due (-1 without an ack file): a poll timeout. */
int ec_source_wait_ms(const struct ec_source *s);

/*
 * Re-read the ack file, then append {"_ec":"barrier","id":N,"pos":POS,
 * "acked":A} to OUT (POS is JSON text). Returns 1 when the ack file moved
 * since the last call, so the tool confirms acked_pos upstream; else 0.
 * An unreadable ack file is warned about and leaves acked as it was.
 */
int ec_source_barrier(struct ec_source *s, const char *pos, struct ec_buf *out);

#endif
