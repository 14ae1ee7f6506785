/* jsonw.h: writing JSON text into an ec_buf, and splicing fields into a record's bytes. */
#ifndef EC_JSONW_H
#define EC_JSONW_H

#include "ec.h"

/* Append S[0..n) as a JSON string with quotes; invalid UTF-8 becomes U+FFFD. */
void ec_jsonw_str(struct ec_buf *b, const char *s, size_t n);
static inline void ec_jsonw_cstr(struct ec_buf *b, const char *s)
{
	ec_jsonw_str(b, s, strlen(s));
}
/* Append "key": (quoted, escaped, with the colon). */
void ec_jsonw_key(struct ec_buf *b, const char *key);
void ec_jsonw_i64(struct ec_buf *b, int64_t v);
void ec_jsonw_u64(struct ec_buf *b, uint64_t v);
/* Append epoch milliseconds as an RFC 3339 UTC string "2026-11-22T14:00:00.000Z". */
void ec_jsonw_time(struct ec_buf *b, int64_t ms);

/*
 * Append the object RECORD[0..n) (a validated JSON object, no trailing
 * newline) with the already-encoded members FIELDS ("\"k\":v,\"k2\":v2")
 * spliced in before its closing brace. The record's own bytes are kept.
 */
void ec_jsonw_splice(struct ec_buf *b, const char *record, size_t n,
		     const char *fields, size_t fields_len);

/* Append standard base64 (RFC 4648, padded) of DATA[0..n). */
void ec_base64_encode(struct ec_buf *b, const void *data, size_t n);

/* True when S[0..n) is valid UTF-8 (RFC 3629: no overlongs, surrogates). */
int ec_utf8_valid(const char *s, size_t n);

#endif
