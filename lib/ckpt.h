/* ckpt.h: atomic files, ack files and snapshots for the checkpoint protocol (DESIGN.md §4). */
#ifndef EC_CKPT_H
#define EC_CKPT_H

#include "ec.h"

/* Write all N bytes of DATA to FD, again after EINTR and short writes. 0, or -1 (errno). */
int ec_write_all(int fd, const void *data, size_t n);

/* fsync directory DIR ("" is "/") so that a rename or a new name in it survives a crash. 0, or -1. */
int ec_fsync_dir(const char *dir);

/* Write DATA to PATH atomically: temp file, fsync, rename, fsync dir. 0, or -1. */
int ec_atomic_write(const char *path, const void *data, size_t n, char *errstr, size_t errstr_size);

/* Read a whole file into OUT. 0, 1 if it does not exist, -1 on error. */
int ec_read_file(const char *path, struct ec_buf *out, char *errstr, size_t errstr_size);

/* An ack file: {"id":K,"pos":P}; pos is any JSON value, kept as its text. */
struct ec_ack {
	uint64_t id;
	char *pos;		/* JSON text, NULL when absent (a fresh start) */
};
#define EC_ACK_INIT { 0, NULL }

/* Load PATH; a missing file gives id 0, pos NULL. 0, or -1 (corrupt, unreadable). */
int ec_ack_read(const char *path, struct ec_ack *ack, char *errstr, size_t errstr_size);
int ec_ack_write(const char *path, uint64_t id, const char *pos, char *errstr, size_t errstr_size);
/* The same with the sink's own members EXTRA ("\"records\":5", JSON text, may be NULL) after pos. */
int ec_ack_write_extra(const char *path, uint64_t id, const char *pos, const char *extra, char *errstr,
		       size_t errstr_size);
void ec_ack_release(struct ec_ack *ack);

/* Control records a source emits. POS is JSON text. Appended to OUT with '\n'. */
void ec_ctl_restore(struct ec_buf *out, uint64_t id);
void ec_ctl_barrier(struct ec_buf *out, uint64_t id, const char *pos, uint64_t acked);

/* Snapshot files of a stateful stage: DIR/snapshot-<id>.ndjson. */
char *ec_snapshot_path(const char *dir, uint64_t id);
/* Delete the snapshots in DIR whose id is outside [keep_from, keep_upto]. */
int ec_snapshot_prune(const char *dir, uint64_t keep_from, uint64_t keep_upto, char *errstr, size_t errstr_size);

#endif
