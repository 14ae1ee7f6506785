/*
 * kafka.h: ec-kcat's Kafka work on librdkafka (produce, consume, list, a mock
 * cluster) and the pure logic under it: topic templates, partition lists,
 * start times, the search by timestamp and the per-source dedup marks.
 */
#ifndef EC_KAFKA_H
#define EC_KAFKA_H

#include "ec.h"
#include "hmap.h"
#include "json.h"
#include "record.h"
#include "timefmt.h"
#include <librdkafka/rdkafka.h>

/* The headers every produced message carries (DESIGN.md §4, "Kafka in the middle"). */
#define EC_KAFKA_HDR_SOURCE "ec-source"
#define EC_KAFKA_HDR_POS "ec-pos"

enum ec_kafka_key_format { EC_KEY_PLAIN, EC_KEY_DEBEZIUM };

/* Everything the command line sets; one struct for every subcommand. */
struct ec_kafka_settings {
	const char *brokers;		/* -b, else EC_KAFKA_BROKERS */
	char **props;			/* -X name=value, in order */
	int nprops;
	char **topics;			/* -t, repeatable */
	int ntopics;
	const char *group;		/* -G */
	int64_t timeout_ms;		/* --timeout: delivery and broker waits */
	struct ec_errpolicy *pol;
	size_t max_line;
	char **files;
	int nfiles;
	/* produce */
	const char *key;		/* --key PATH[,PATH...] */
	enum ec_kafka_key_format key_format;
	char **headers;			/* --header NAME=PATH */
	int nheaders;
	const char *timestamp;		/* --timestamp PATH */
	enum ec_time_unit time_unit;
	int tombstones;
	int envelope;			/* produce and consume */
	int32_t partition;		/* -p, -1 = the partitioner */
	const char *ack_path;		/* produce: sink; consume: source */
	const char *state_dir;
	const char *source_id;
	const char *transactional_id;
	/* consume */
	const char *from, *until;
	int exit_at_end;
	uint64_t count;
	const char *partitions;		/* --partitions 0,2-3 */
	int base64;
	int64_t checkpoint_interval_ms;
	/* mock */
	int mock_brokers;
	int mock_partitions;
};

int ec_kafka_mock(struct ec_kafka_settings *set);
int ec_kafka_produce(struct ec_kafka_settings *set);
int ec_kafka_consume(struct ec_kafka_settings *set);
int ec_kafka_list(struct ec_kafka_settings *set);

/* ---- kafka.c: shared by the subcommands ---- */

/* A client configuration: bootstrap servers, then every -X in order. NULL with errstr. */
rd_kafka_conf_t *ec_kafka_conf_new(const struct ec_kafka_settings *set, char *errstr, size_t errstr_size);
/* Set NAME=VALUE on CONF. 0, or -1 with errstr naming the property. */
int ec_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
		      size_t errstr_size);
/* Whether -X set NAME (the tool's defaults yield to the user's). */
int ec_kafka_prop_given(const struct ec_kafka_settings *set, const char *name);

/* Exit status for a Kafka error: 69 for brokers gone or timed out, 65 for data, 70 else. */
int ec_kafka_status(rd_kafka_resp_err_t err);

/* A topic template such as "shop.{.source.schema}.{.source.table}". */
struct ec_kafka_tmpl;

/* Parse TEXT, adding its paths to PS. NULL with errstr. */
struct ec_kafka_tmpl *ec_kafka_tmpl_new(const char *text, struct ec_pathset *ps, char *errstr,
					size_t errstr_size);
void ec_kafka_tmpl_free(struct ec_kafka_tmpl *t);
/* Whether the template is a plain name (no fields). */
int ec_kafka_tmpl_is_static(const struct ec_kafka_tmpl *t);
/*
 * Render into OUT (reset first) from SLOTS: strings unquoted, numbers and
 * booleans as written. 0, or -1 with errstr (missing field, object value,
 * a character Kafka does not allow in topic names).
 */
int ec_kafka_tmpl_render(const struct ec_kafka_tmpl *t, const struct ec_jval *slots, struct ec_buf *out,
			 char *errstr, size_t errstr_size);

/* Whether NAME is a legal topic name: 1-249 of [A-Za-z0-9._-], not "." or "..". */
int ec_kafka_topic_valid(const char *name, size_t n);

/* Parse "0,2-3" into a sorted, duplicate-free list. 0, or -1 with errstr. */
int ec_kafka_parse_partitions(const char *text, int32_t **out, size_t *n, char *errstr, size_t errstr_size);

/*
 * A start or end time: RFC 3339 / ISO 8601 (a date alone is its midnight UTC)
 * or relative to NOW_MS ("-2h", "-30m", "-1d"). 0, or -1 with errstr.
 */
int ec_kafka_parse_time(const char *text, int64_t now_ms, int64_t *ms, char *errstr, size_t errstr_size);

/*
 * The timestamp of the message at OFFSET: 0 and *TS, 1 when no message is
 * there any more (retention) or it has no timestamp, -1 on an error.
 */
typedef int (*ec_kafka_ts_at_fn)(void *ctx, int64_t offset, int64_t *ts);

/*
 * The first offset in [LO, HI) whose message has a timestamp >= TARGET, by
 * binary search (timestamps are taken as non-decreasing, as CreateTime from
 * one producer is); HI when there is none. Offsets where AT finds no message
 * are skipped forward. -1 when AT fails.
 */
int64_t ec_kafka_search_time(int64_t lo, int64_t hi, int64_t target, ec_kafka_ts_at_fn at, void *ctx);

/*
 * The dedup high-water marks of consume: the highest ec-pos seen per
 * (topic, partition, source). Kept in the checkpoint's "pos".
 */
struct ec_kafka_marks {
	struct ec_hmap map;	/* "topic\0" + int32 partition + source -> uint64 */
	struct ec_buf key;
};

void ec_kafka_marks_init(struct ec_kafka_marks *m);
void ec_kafka_marks_release(struct ec_kafka_marks *m);
/* 1 and the mark raised when POS is beyond the mark of its (topic, partition, source); else 0 (a replay). */
int ec_kafka_marks_admit(struct ec_kafka_marks *m, const char *topic, int32_t partition, const char *source,
			 size_t source_len, uint64_t pos);
/* Append {"topic":{"partition":{"source":pos,...}}} to OUT (sorted, so equal marks give equal text). */
void ec_kafka_marks_json(struct ec_kafka_marks *m, struct ec_buf *out);
/* Load marks from JSON text as written by ec_kafka_marks_json. 0, or -1 with errstr. */
int ec_kafka_marks_load(struct ec_kafka_marks *m, const char *json, char *errstr, size_t errstr_size);

/* Parse a decimal uint64 from S[0..n). 0, or -1. */
int ec_kafka_parse_u64(const char *s, size_t n, uint64_t *v);

#endif
