/*
 * lake.h: a data lake writer: partition keys from a template, sanitised field
 * values, deterministic object names, compressed objects (gzip, zstd, tar)
 * rotated by size, records and event time, written to a local directory or
 * to S3 with bounded memory.
 */
#ifndef EC_LAKE_H
#define EC_LAKE_H

#include "ec.h"
#include "json.h"
#include "s3.h"

/* Longest sanitised field value; longer ones keep a prefix plus a hash. */
#define EC_LAKE_VALUE_MAX 128
/* Hive's name for a partition whose value is null or missing. */
#define EC_LAKE_DEFAULT_PARTITION "__HIVE_DEFAULT_PARTITION__"

/* ---- partition key templates ---- */

/*
 * A template such as 'orders/dt={time:%Y-%m-%d}/table={.source.table}':
 * literal text, {time:STRFTIME} and {PATH} fields. Field paths are added to
 * PS (the tool's pathset) so the record scan extracts them.
 */
struct ec_lake_tmpl;

/*
 * Parse TEXT. HAVE_TIME says whether records carry an event time ({time:}
 * needs one); LOCAL_TZ formats {time:} in the zone TZ was set to (by
 * ec_tz_load) instead of UTC. NULL with a message on a bad template.
 */
struct ec_lake_tmpl *ec_lake_tmpl_new(const char *text, struct ec_pathset *ps, int have_time,
				      int local_tz, char *errstr, size_t errstr_size);
void ec_lake_tmpl_free(struct ec_lake_tmpl *t);

/*
 * The partition of one record into OUT (reset first): SLOTS from the scan,
 * T its event time in ms. Missing, null and empty fields become
 * DEFAULT_PARTITION (already sanitised by the caller or a plain name).
 */
void ec_lake_tmpl_render(struct ec_lake_tmpl *t, const struct ec_jval *slots, int64_t t_ms,
			 const char *default_partition, struct ec_buf *out);

/*
 * Append S[0..n) as one safe path component: Hive's percent-encoding
 * (control characters, '/', '%', ':', '=', ... as %XX), runs of dots and a
 * leading dot encoded, invalid UTF-8 encoded byte by byte, and values
 * longer than EC_LAKE_VALUE_MAX cut with '~' and 16 hex digits of their
 * SHA-256 appended, so distinct values stay distinct.
 */
void ec_lake_escape(struct ec_buf *out, const char *s, size_t n);

/* ---- object names ---- */

enum ec_lake_codec { EC_LAKE_GZIP, EC_LAKE_ZSTD, EC_LAKE_NONE };

/* ".ndjson.gz", ".ndjson.zst", ".ndjson", ".tar.gz", ".tar.zst", ".tar". */
const char *ec_lake_suffix(enum ec_lake_codec codec, int tar);

/* PREFIX/PARTITION/part-EPOCH-SEQ SUFFIX, empty parts left out, into OUT (appended). */
void ec_lake_object_key(struct ec_buf *out, const char *prefix, const char *partition,
			uint64_t epoch, unsigned seq, const char *suffix);
/* PREFIX/_manifests/epoch-EPOCH.json into OUT (appended). */
void ec_lake_manifest_key(struct ec_buf *out, const char *prefix, uint64_t epoch);

/* ---- destinations: file:///PATH and s3://BUCKET[/PREFIX] ---- */

struct ec_lake_dest;

/* Parse URI and connect. 0, or an exit status (64 bad URI, 78 credentials, ...) with errstr. */
int ec_lake_dest_open(struct ec_lake_dest **d, const char *uri, const struct ec_s3_settings *s3set,
		      char *errstr, size_t errstr_size);
void ec_lake_dest_free(struct ec_lake_dest *d);
/* The key prefix objects go below ("" for none). */
const char *ec_lake_dest_prefix(const struct ec_lake_dest *d);
/* Append the URI of KEY ("s3://bucket/key", "file:///dir/key"). */
void ec_lake_dest_uri(const struct ec_lake_dest *d, const char *key, struct ec_buf *out);
/* Write a small object whole (manifests). 0, or an exit status with errstr. */
int ec_lake_dest_put(struct ec_lake_dest *d, const char *key, const void *data, size_t n,
		     const char *content_type, char *errstr, size_t errstr_size);
/*
 * Remove KEY and whatever an interrupted write of it left (a temp file, or
 * the multipart upload UPLOAD_ID when not NULL). 0, or an exit status.
 */
int ec_lake_dest_remove(struct ec_lake_dest *d, const char *key, const char *upload_id,
			char *errstr, size_t errstr_size);

/* ---- the writer ---- */

struct ec_sink;

struct ec_lake_config {
	enum ec_lake_codec codec;
	int level;		/* -1: the codec's default */
	int tar;
	uint64_t max_records;	/* 0: no limit */
	uint64_t max_bytes;	/* uncompressed NDJSON bytes, 0: no limit */
	int64_t max_age;	/* ms of event time past the object's first record, 0: none */
	size_t part_size;	/* S3 multipart part size (>= 5 MiB) */
	struct ec_sink *sink;	/* journal of object intents, or NULL */
};

struct ec_lake;

struct ec_lake *ec_lake_new(const struct ec_lake_config *cfg, struct ec_lake_dest *dest);
/*
 * Leaving on a failure: abort the unfinished multipart uploads and remove
 * the temp files of open objects (ec_die exits without exit handlers).
 */
void ec_lake_abort(struct ec_lake *lk);
/* Abort what is unfinished and free. */
void ec_lake_free(struct ec_lake *lk);
/* The epoch new objects belong to (DESIGN.md §4: records after barrier N-1 are epoch N). */
void ec_lake_set_epoch(struct ec_lake *lk, uint64_t epoch);

/*
 * Add one record (without its newline) to the open object of PARTITION,
 * opening and rotating objects as the limits say. T is its event time
 * when HAS_TIME. Completed objects append their line to OUT.
 * 0, or an exit status with errstr.
 */
int ec_lake_add(struct ec_lake *lk, const char *partition, size_t plen, const char *rec, size_t n,
		int64_t t, int has_time, struct ec_buf *out, char *errstr, size_t errstr_size);
/* Complete every open object (a barrier, the end). 0, or an exit status with errstr. */
int ec_lake_close_all(struct ec_lake *lk, struct ec_buf *out, char *errstr, size_t errstr_size);
/*
 * Write the manifest of EPOCH (the objects completed in it) unless it has
 * none, and forget them. 0, or an exit status with errstr.
 */
int ec_lake_write_manifest(struct ec_lake *lk, uint64_t epoch, char *errstr, size_t errstr_size);

#endif
