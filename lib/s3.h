/*
 * s3.h: an S3 client on libcurl: credentials the way the AWS CLI finds them,
 * Signature V4 by libcurl, PUT, multipart uploads, GET, DELETE and listing,
 * each request retried with backoff and jitter.
 */
#ifndef EC_S3_H
#define EC_S3_H

#include "ec.h"

/*
 * Every call returns 0, or the exit status the failure calls for with a
 * message in errstr: 69 (EX_UNAVAILABLE) when retries ran out (5xx,
 * 429/SlowDown, timeouts, dropped connections), 77 (EX_NOPERM) on an
 * authorisation error (S3's error code, e.g. InvalidAccessKeyId or
 * SignatureDoesNotMatch, in the message), 78 (EX_CONFIG) for missing or
 * unreadable credentials, 65 (EX_DATAERR) for other refusals (4xx).
 */

struct ec_s3_settings {
	const char *endpoint;	/* NULL: AWS_ENDPOINT_URL, else https://s3.REGION.amazonaws.com */
	const char *region;	/* NULL: AWS_REGION, AWS_DEFAULT_REGION, the profile's, us-east-1 */
	const char *profile;	/* NULL: AWS_PROFILE, else "default" */
	int path_style;		/* -1: path-style with a custom endpoint, virtual-hosted on AWS */
	int verify_tls;		/* 0 only when asked (--no-verify-tls) */
	const char *ca_file;	/* NULL: the system's */
	int max_retries;	/* retries per request after the first try */
	long timeout_ms;	/* per request; a stalled transfer counts as a timeout */
};
#define EC_S3_SETTINGS_INIT { NULL, NULL, NULL, -1, 1, NULL, 8, 60000 }

struct ec_s3;

/* What an object is, sent with PUT and with the start of a multipart upload. */
struct ec_s3_meta {
	const char *content_type;	/* "application/x-ndjson" */
	const char *content_encoding;	/* "gzip", "zstd" or NULL */
};

/* Connect to BUCKET (no request is made). Credentials are read here. */
int ec_s3_open(struct ec_s3 **s3, const char *bucket, const struct ec_s3_settings *set,
	       char *errstr, size_t errstr_size);
void ec_s3_free(struct ec_s3 *s3);

/* One PUT of DATA (small objects). Carries the payload's SHA-256 and MD5. */
int ec_s3_put(struct ec_s3 *s3, const char *key, const void *data, size_t n,
	      const struct ec_s3_meta *meta, char *errstr, size_t errstr_size);

/* GET KEY into OUT; *found is 0 (and 0 is returned) when it does not exist. */
int ec_s3_get(struct ec_s3 *s3, const char *key, struct ec_buf *out, int *found,
	      char *errstr, size_t errstr_size);

/* DELETE KEY; a key that does not exist is not an error. */
int ec_s3_delete(struct ec_s3 *s3, const char *key, char *errstr, size_t errstr_size);

/* ListObjectsV2 under PREFIX, every page; EACH returns 0 to go on, else stops with that. */
int ec_s3_list(struct ec_s3 *s3, const char *prefix,
	       int (*each)(void *ctx, const char *key, uint64_t size), void *ctx,
	       char *errstr, size_t errstr_size);

/*
 * Multipart uploads, stateless so that a caller can journal the upload id
 * and abort it after a crash. Part numbers start at 1; every part but the
 * last is at least 5 MiB (S3's minimum); *etag is malloc'ed.
 */
int ec_s3_upload_begin(struct ec_s3 *s3, const char *key, const struct ec_s3_meta *meta,
		       char **upload_id, char *errstr, size_t errstr_size);
int ec_s3_upload_part(struct ec_s3 *s3, const char *key, const char *upload_id, int part_number,
		      const void *data, size_t n, char **etag, char *errstr, size_t errstr_size);
int ec_s3_upload_complete(struct ec_s3 *s3, const char *key, const char *upload_id,
			  char *const *etags, int nparts, char *errstr, size_t errstr_size);
int ec_s3_upload_abort(struct ec_s3 *s3, const char *key, const char *upload_id,
		       char *errstr, size_t errstr_size);

/*
 * The pure parts, exposed for the unit tests.
 */

/* Append S percent-encoded as S3 wants: unreserved bytes kept, '/' kept when KEEP_SLASH. */
void ec_s3_uri_encode(struct ec_buf *out, const char *s, int keep_slash);

/* 1 to address BUCKET path-style for SETTING (-1: path-style with a custom endpoint or a dotted bucket). */
int ec_s3_use_path_style(int setting, int custom_endpoint, const char *bucket);

/* The URL of the bucket (no trailing '/') on ENDPOINT ("scheme://host[:port][/path]"). 0, or -1. */
int ec_s3_bucket_url(struct ec_buf *out, const char *endpoint, const char *bucket, int path_style,
		     char *errstr, size_t errstr_size);

/* The sorted, encoded ListObjectsV2 query for PREFIX and a continuation TOKEN (either may be NULL). */
void ec_s3_list_query(struct ec_buf *out, const char *prefix, const char *token);

/* The text of the first <TAG> element in XML, entities decoded, into OUT. 1 found, 0 not. */
int ec_s3_xml_text(const char *xml, const char *tag, struct ec_buf *out);

/*
 * One ListBucketResult page: EACH for every <Contents>; *truncated and
 * NEXT_TOKEN from <IsTruncated> and <NextContinuationToken>. Returns what
 * EACH returned when it stopped, else 0.
 */
int ec_s3_list_page(const char *xml, int (*each)(void *ctx, const char *key, uint64_t size), void *ctx,
		    int *truncated, struct ec_buf *next_token);

/* What an HTTP STATUS with S3 error CODE (may be NULL) calls for: -1 retry, else 65 or 77. */
int ec_s3_classify(long status, const char *code);

/* The wait before retry ATTEMPT (0-based): full jitter, uniform in [0, min(20 s, 100 ms * 2^ATTEMPT)]. */
long ec_s3_backoff_ms(int attempt, uint64_t random_bits);

#endif
