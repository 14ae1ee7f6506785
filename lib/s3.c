/* s3.c: an S3 client on one reused libcurl handle: SigV4 by libcurl, payload checksums, retries with backoff. */
#include "ec.h"
#include "s3.h"
#include "awsconf.h"
#include "log.h"
#include "rng.h"
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_BASE_MS 100L
#define BACKOFF_CAP_MS 20000L
/* SHA-256 of nothing: the x-amz-content-sha256 of requests without a body. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct ec_s3 {
	CURL *curl;
	char *bucket;
	char *bucket_url;	/* scheme://host[:port]/bucket (path-style) or scheme://bucket.host */
	char *sigv4;		/* "aws:amz:REGION:s3" */
	struct ec_aws_creds creds;
	int max_retries;
	long timeout_ms;
	int verify_tls;
	char *ca_file;
	char *user_agent;
	struct ec_rng rng;
};

/* One request as the operations describe it. */
struct s3_req {
	const char *op;		/* the S3 operation, for messages: "PutObject" */
	const char *method;
	const char *key;	/* NULL: the bucket itself */
	const char *query;	/* sorted and encoded, every key with '=', or NULL */
	const void *body;
	size_t n;
	const char *content_type;
	const char *content_encoding;
	int content_md5;
	struct ec_buf *out;	/* where a successful body goes (NULL: resp.body) */
	int not_found_ok;	/* a 404 is an answer, not an error */
	int gone_ok_on_retry;	/* a 404 after a failed try is an answer (the try may have worked) */
	int error_in_200;	/* an <Error> body can come with a 200 (CompleteMultipartUpload) */
};

/* What came back. */
struct s3_resp {
	long status;
	struct ec_buf body;	/* the response body unless req.out took it */
	char *etag;
	char code[128];		/* S3's <Code>, or "" */
};

static int curl_ready;

/* ------------------------------------------------------------------ */
/* Pure helpers                                                        */

void ec_s3_uri_encode(struct ec_buf *out, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (isalnum(*p) && *p < 0x80)
			ec_buf_addch(out, (char)*p);
		else if (*p == '-' || *p == '_' || *p == '.' || *p == '~' || (*p == '/' && keep_slash))
			ec_buf_addch(out, (char)*p);
		else {
			ec_buf_addch(out, '%');
			ec_buf_addch(out, hex[*p >> 4]);
			ec_buf_addch(out, hex[*p & 15]);
		}
	}
	if (!out->buf)
		ec_buf_add(out, "", 0);
}

int ec_s3_use_path_style(int setting, int custom_endpoint, const char *bucket)
{
	if (setting >= 0)
		return setting != 0;
	/* A dotted bucket name cannot match the wildcard certificate as a host name. */
	return custom_endpoint || strchr(bucket, '.') != NULL;
}

int ec_s3_bucket_url(struct ec_buf *out, const char *endpoint, const char *bucket, int path_style,
		     char *errstr, size_t errstr_size)
{
	const char *sep = strstr(endpoint, "://"), *host, *path;
	size_t plen;

	if (!sep || (strncmp(endpoint, "http://", 7) && strncmp(endpoint, "https://", 8))) {
		snprintf(errstr, errstr_size, "endpoint '%s' is not an http:// or https:// URL", endpoint);
		return -1;
	}
	host = sep + 3;
	path = strchr(host, '/');
	if (!path)
		path = host + strlen(host);
	if (path == host) {
		snprintf(errstr, errstr_size, "endpoint '%s' has no host", endpoint);
		return -1;
	}
	plen = strlen(path);
	while (plen && path[plen - 1] == '/')
		plen--;
	if (path_style) {
		ec_buf_add(out, endpoint, (size_t)(path - endpoint) + plen);
		ec_buf_addch(out, '/');
		ec_s3_uri_encode(out, bucket, 0);
	} else {
		ec_buf_add(out, endpoint, (size_t)(host - endpoint));
		ec_buf_addf(out, "%s.", bucket);
		ec_buf_add(out, host, (size_t)(path - host) + plen);
	}
	return 0;
}

void ec_s3_list_query(struct ec_buf *out, const char *prefix, const char *token)
{
	/* libcurl signs the query as given: keys sorted, values encoded, '/' included. */
	if (token && *token) {
		ec_buf_addstr(out, "continuation-token=");
		ec_s3_uri_encode(out, token, 0);
		ec_buf_addch(out, '&');
	}
	ec_buf_addstr(out, "list-type=2");
	if (prefix && *prefix) {
		ec_buf_addstr(out, "&prefix=");
		ec_s3_uri_encode(out, prefix, 0);
	}
}

/* Append code point CP as UTF-8. */
static void add_utf8(struct ec_buf *out, unsigned long cp)
{
	if (cp < 0x80) {
		ec_buf_addch(out, (char)cp);
	} else if (cp < 0x800) {
		ec_buf_addch(out, (char)(0xC0 | (cp >> 6)));
		ec_buf_addch(out, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		ec_buf_addch(out, (char)(0xE0 | (cp >> 12)));
		ec_buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
		ec_buf_addch(out, (char)(0x80 | (cp & 0x3F)));
	} else {
		ec_buf_addch(out, (char)(0xF0 | (cp >> 18)));
		ec_buf_addch(out, (char)(0x80 | ((cp >> 12) & 0x3F)));
		ec_buf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3F)));
		ec_buf_addch(out, (char)(0x80 | (cp & 0x3F)));
	}
}

/* Append [S, E) with XML entities decoded (an unknown entity stays as it is). */
static void xml_unescape(struct ec_buf *out, const char *s, const char *e)
{
	static const struct { const char *name; char c; } ents[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
	};
	size_t i;

	while (s < e) {
		if (*s != '&') {
			ec_buf_addch(out, *s++);
			continue;
		}
		for (i = 0; i < EC_ARRAY_SIZE(ents); i++) {
			size_t n = strlen(ents[i].name);

			if ((size_t)(e - s - 1) >= n && !memcmp(s + 1, ents[i].name, n)) {
				ec_buf_addch(out, ents[i].c);
				s += 1 + n;
				break;
			}
		}
		if (i < EC_ARRAY_SIZE(ents))
			continue;
		if (e - s > 3 && s[1] == '#') {
			const char *semi = memchr(s, ';', (size_t)(e - s));
			int hexa = s[2] == 'x' || s[2] == 'X';
			char *end;
			unsigned long cp;

			if (semi) {
				cp = strtoul(s + 2 + hexa, &end, hexa ? 16 : 10);
				if (end == semi && cp > 0 && cp <= 0x10FFFF) {
					add_utf8(out, cp);
					s = semi + 1;
					continue;
				}
			}
		}
		ec_buf_addch(out, *s++);
	}
}

/*
 * Find the element <TAG> in [S, E): its content in [*cs, *ce), the end of
 * the element in *after. Matches "<TAG>", "<TAG attr...>" and "<TAG/>".
 */
static int xml_find(const char *s, const char *e, const char *tag, const char **cs, const char **ce,
		    const char **after)
{
	size_t tn = strlen(tag);
	const char *p = s, *gt, *close;

	while (p < e && (p = memchr(p, '<', (size_t)(e - p))) != NULL) {
		if ((size_t)(e - p) > tn + 1 && !memcmp(p + 1, tag, tn) &&
		    (p[1 + tn] == '>' || p[1 + tn] == '/' || isspace((unsigned char)p[1 + tn]))) {
			gt = memchr(p, '>', (size_t)(e - p));
			if (!gt)
				return 0;
			if (gt[-1] == '/') {
				*cs = *ce = gt + 1;
				*after = gt + 1;
				return 1;
			}
			*cs = gt + 1;
			for (close = *cs; close < e && (close = memchr(close, '<', (size_t)(e - close))) != NULL; close++) {
				if ((size_t)(e - close) >= tn + 3 && close[1] == '/' && !memcmp(close + 2, tag, tn) &&
				    close[2 + tn] == '>') {
					*ce = close;
					*after = close + 3 + tn;
					return 1;
				}
			}
			return 0;
		}
		p++;
	}
	return 0;
}

int ec_s3_xml_text(const char *xml, const char *tag, struct ec_buf *out)
{
	const char *cs, *ce, *after;

	if (!xml || !xml_find(xml, xml + strlen(xml), tag, &cs, &ce, &after))
		return 0;
	xml_unescape(out, cs, ce);
	if (!out->buf)
		ec_buf_add(out, "", 0);
	return 1;
}

int ec_s3_list_page(const char *xml, int (*each)(void *ctx, const char *key, uint64_t size), void *ctx,
		    int *truncated, struct ec_buf *next_token)
{
	const char *p = xml, *e = xml + strlen(xml), *cs, *ce, *after, *ks, *ke, *ka;
	struct ec_buf key = EC_BUF_INIT, val = EC_BUF_INIT;
	int ret = 0;

	*truncated = 0;
	ec_buf_reset(next_token);
	while (!ret && xml_find(p, e, "Contents", &cs, &ce, &after)) {
		p = after;
		if (!xml_find(cs, ce, "Key", &ks, &ke, &ka))
			continue;
		ec_buf_reset(&key);
		xml_unescape(&key, ks, ke);
		ec_buf_add(&key, "", 0);
		ec_buf_reset(&val);
		if (xml_find(cs, ce, "Size", &ks, &ke, &ka))
			ec_buf_add(&val, ks, (size_t)(ke - ks));
		ec_buf_add(&val, "", 0);
		ret = each(ctx, key.buf, strtoull(val.buf, NULL, 10));
	}
	ec_buf_reset(&val);
	if (ec_s3_xml_text(xml, "IsTruncated", &val) && !strcmp(val.buf, "true"))
		*truncated = 1;
	ec_s3_xml_text(xml, "NextContinuationToken", next_token);
	ec_buf_release(&key);
	ec_buf_release(&val);
	return ret;
}

/* S3 error codes that mean the caller may not do this, whatever the HTTP status. */
static int is_auth_code(const char *code)
{
	static const char *const codes[] = {
		"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
		"InvalidToken", "TokenRefreshRequired", "AuthorizationHeaderMalformed",
		"InvalidSecurity", "AccountProblem", "AllAccessDisabled", "RequestTimeTooSkewed",
		"MissingSecurityHeader", "InvalidClientTokenId", "UnrecognizedClientException",
	};
	size_t i;

	for (i = 0; code && i < EC_ARRAY_SIZE(codes); i++)
		if (!strcmp(code, codes[i]))
			return 1;
	return 0;
}

int ec_s3_classify(long status, const char *code)
{
	if (code && (!strcmp(code, "SlowDown") || !strcmp(code, "RequestTimeout") ||
		     !strcmp(code, "InternalError") || !strcmp(code, "ServiceUnavailable") ||
		     !strcmp(code, "Throttling") || !strcmp(code, "ThrottlingException") ||
		     !strcmp(code, "RequestLimitExceeded")))
		return -1;
	if (is_auth_code(code) || status == 401 || status == 403)
		return EX_NOPERM;
	if (status >= 500 || status == 429 || status == 408)
		return -1;
	return EX_DATAERR;
}

long ec_s3_backoff_ms(int attempt, uint64_t random_bits)
{
	long ceiling = BACKOFF_BASE_MS;
	int i;

	for (i = 0; i < attempt && ceiling < BACKOFF_CAP_MS; i++)
		ceiling *= 2;
	if (ceiling > BACKOFF_CAP_MS)
		ceiling = BACKOFF_CAP_MS;
	return (long)(random_bits % (uint64_t)(ceiling + 1));
}

/* ------------------------------------------------------------------ */
/* Digests                                                             */

static void sha256_hex(const void *data, size_t n, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	EVP_Digest(data ? data : "", n, md, &len, EVP_sha256(), NULL);
	for (i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	hex[2 * len] = '\0';
}

static void md5_base64(const void *data, size_t n, char b64[32])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_Digest(data ? data : "", n, md, &len, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)b64, md, (int)len);
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	ec_buf_add(userdata, ptr, size * nmemb);
	return size * nmemb;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct s3_resp *rs = userdata;
	size_t n = size * nmemb, vs = 5;

	if (n > 5 && !strncasecmp(ptr, "etag:", 5)) {
		while (vs < n && (ptr[vs] == ' ' || ptr[vs] == '\t'))
			vs++;
		while (n > vs && (ptr[n - 1] == '\r' || ptr[n - 1] == '\n' || ptr[n - 1] == ' '))
			n--;
		free(rs->etag);
		rs->etag = xstrndup(ptr + vs, n - vs);
	}
	return size * nmemb;
}

/* "s3://bucket/key" for messages. */
static void describe(struct ec_buf *b, const struct ec_s3 *s3, const struct s3_req *rq)
{
	ec_buf_addf(b, "%s s3://%s/%s", rq->op, s3->bucket, rq->key ? rq->key : "");
}

static void build_url(struct ec_buf *url, const struct ec_s3 *s3, const struct s3_req *rq)
{
	ec_buf_addstr(url, s3->bucket_url);
	ec_buf_addch(url, '/');
	if (rq->key)
		ec_s3_uri_encode(url, rq->key, 1);
	if (rq->query && *rq->query)
		ec_buf_addf(url, "?%s", rq->query);
}

static struct curl_slist *build_headers(const struct ec_s3 *s3, const struct s3_req *rq)
{
	struct curl_slist *h = NULL;
	struct ec_buf line = EC_BUF_INIT;
	char sha[65], md5[32];

	if (rq->n)
		sha256_hex(rq->body, rq->n, sha);
	ec_buf_addf(&line, "x-amz-content-sha256: %s", rq->n ? sha : EMPTY_SHA256);
	h = curl_slist_append(h, line.buf);
	if (rq->content_md5) {
		md5_base64(rq->body, rq->n, md5);
		ec_buf_reset(&line);
		ec_buf_addf(&line, "Content-MD5: %s", md5);
		h = curl_slist_append(h, line.buf);
	}
	if (rq->content_type) {
		ec_buf_reset(&line);
		ec_buf_addf(&line, "Content-Type: %s", rq->content_type);
		h = curl_slist_append(h, line.buf);
	} else if (rq->body) {
		/* Not libcurl's form type: S3 would store it as the object's. */
		h = curl_slist_append(h, "Content-Type: application/octet-stream");
	}
	if (rq->content_encoding) {
		ec_buf_reset(&line);
		ec_buf_addf(&line, "Content-Encoding: %s", rq->content_encoding);
		h = curl_slist_append(h, line.buf);
	}
	if (s3->creds.session_token) {
		ec_buf_reset(&line);
		ec_buf_addf(&line, "x-amz-security-token: %s", s3->creds.session_token);
		h = curl_slist_append(h, line.buf);
	}
	ec_buf_release(&line);
	return h;
}

/* Set up the handle for one try of RQ. */
static void setup_handle(struct ec_s3 *s3, const struct s3_req *rq, const char *url, struct curl_slist *headers,
			 struct s3_resp *rs, struct ec_buf *sink, char *curl_err)
{
	CURL *c = s3->curl;
	long stall_s = s3->timeout_ms / 1000;

	/* Reset keeps the connection cache: the next request reuses the connection. */
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s3->sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME, s3->creds.access_key);
	curl_easy_setopt(c, CURLOPT_PASSWORD, s3->creds.secret_key);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, s3->user_agent);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, s3->verify_tls ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, s3->verify_tls ? 2L : 0L);
	if (s3->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, s3->ca_file);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s3->timeout_ms);
	/* A transfer that moves nothing for the timeout is stalled: a timeout, retried. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, stall_s > 0 ? stall_s : 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	/*
	 * Not an "Expect:" header to turn 100-continue off: libcurl would sign
	 * it without sending it. A short wait does the same.
	 */
	curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 200L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
	if (rq->body || !strcmp(rq->method, "POST") || !strcmp(rq->method, "PUT")) {
		/* Sent from the caller's buffer, never copied. */
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->n);
		if (strcmp(rq->method, "POST"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	} else if (!strcmp(rq->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	}
}

/* Transport failures worth another try: the network, not the request, went wrong. */
static int curl_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_AGAIN:
		return 1;
	default:
		return 0;
	}
}

/* The error text of an S3 error body: "Code: Message" (either may be missing). */
static void error_text(struct ec_buf *why, long status, const char *body, struct s3_resp *rs)
{
	struct ec_buf code = EC_BUF_INIT, msg = EC_BUF_INIT;
	const char *err = body ? strstr(body, "<Error") : NULL;

	ec_buf_addf(why, "HTTP %ld", status);
	if (err && ec_s3_xml_text(err, "Code", &code)) {
		snprintf(rs->code, sizeof(rs->code), "%s", code.buf);
		ec_buf_addf(why, " %s", code.buf);
	}
	if (err && ec_s3_xml_text(err, "Message", &msg) && *msg.buf)
		ec_buf_addf(why, ": %s", msg.buf);
	ec_buf_release(&code);
	ec_buf_release(&msg);
}

/*
 * One try of RQ. Returns 0 on success, -1 when a retry may succeed, else
 * the exit status; WHY says what went wrong.
 */
static int s3_try(struct ec_s3 *s3, const struct s3_req *rq, struct curl_slist *headers, int retry,
		  struct s3_resp *rs, struct ec_buf *why)
{
	struct ec_buf url = EC_BUF_INIT;
	struct ec_buf *sink = rq->out ? rq->out : &rs->body;
	size_t sink_start = sink->len;
	char curl_err[CURL_ERROR_SIZE] = "";
	const char *body;
	CURLcode rc;
	int ret;

	rs->status = 0;
	rs->code[0] = '\0';
	free(rs->etag);
	rs->etag = NULL;
	build_url(&url, s3, rq);
	setup_handle(s3, rq, url.buf, headers, rs, sink, curl_err);
	rc = curl_easy_perform(s3->curl);
	curl_easy_getinfo(s3->curl, CURLINFO_RESPONSE_CODE, &rs->status);
	ec_debug("%s %s: %s, HTTP %ld", rq->method, url.buf, curl_easy_strerror(rc), rs->status);
	if (rc != CURLE_OK) {
		ec_buf_addstr(why, *curl_err ? curl_err : curl_easy_strerror(rc));
		ret = curl_retryable(rc) ? -1 : rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL
			? EX_CONFIG : EX_UNAVAILABLE;
		goto cleanup;
	}
	ec_buf_add(sink, "", 0);
	body = sink->buf + sink_start;
	if (rs->status >= 200 && rs->status < 300) {
		/* CompleteMultipartUpload can fail after its 200: the error is in the body. */
		if (!rq->error_in_200 || !strstr(body, "<Error>")) {
			ret = 0;
			goto cleanup;
		}
	} else if (rs->status == 404 && (rq->not_found_ok || (rq->gone_ok_on_retry && retry))) {
		error_text(why, rs->status, body, rs);
		ret = 0;
		goto cleanup;
	}
	error_text(why, rs->status, body, rs);
	ret = ec_s3_classify(rs->status >= 200 && rs->status < 300 ? 500 : rs->status, rs->code[0] ? rs->code : NULL);
cleanup:
	if (ret != 0 || (rq->out && rs->status == 404)) {
		sink->len = sink_start;	/* an error body is not the object */
		if (sink->buf)
			sink->buf[sink->len] = '\0';
	}
	ec_buf_release(&url);
	return ret;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && ec_run)
		;
}

/* RQ with retries; 0, or the exit status with the message in ERRSTR. */
static int s3_do(struct ec_s3 *s3, const struct s3_req *rq, struct s3_resp *rs, char *errstr, size_t errstr_size)
{
	struct ec_buf what = EC_BUF_INIT, why = EC_BUF_INIT;
	/* Built once: the checksums of a part are computed once, not per try. */
	struct curl_slist *headers = build_headers(s3, rq);
	int attempt, r;
	long wait;

	describe(&what, s3, rq);
	for (attempt = 0;; attempt++) {
		ec_buf_reset(&why);
		r = s3_try(s3, rq, headers, attempt > 0, rs, &why);
		if (r >= 0)
			break;
		if (attempt >= s3->max_retries) {
			snprintf(errstr, errstr_size, "%s: %s (gave up after %d tries)", what.buf, why.buf, attempt + 1);
			r = EX_UNAVAILABLE;
			goto cleanup;
		}
		wait = ec_s3_backoff_ms(attempt, ec_rng_next(&s3->rng));
		if (attempt == 0)
			ec_warn("%s: %s; retrying", what.buf, why.buf);
		ec_info("%s: %s; retry %d of %d in %ld ms", what.buf, why.buf, attempt + 1, s3->max_retries, wait);
		sleep_ms(wait);
	}
	if (r > 0)
		snprintf(errstr, errstr_size, "%s: %s", what.buf, why.buf);
cleanup:
	curl_slist_free_all(headers);
	ec_buf_release(&what);
	ec_buf_release(&why);
	return r;
}

static void resp_release(struct s3_resp *rs)
{
	ec_buf_release(&rs->body);
	free(rs->etag);
	rs->etag = NULL;
}

/* ------------------------------------------------------------------ */
/* The API                                                             */

/* The endpoint to use and whether it is a custom one (not AWS's own). */
static char *choose_endpoint(const struct ec_s3_settings *set, const struct ec_aws_creds *creds,
			     const char *region, int *custom)
{
	const char *e = set->endpoint && *set->endpoint ? set->endpoint : getenv("AWS_ENDPOINT_URL");
	struct ec_buf b = EC_BUF_INIT;

	if ((!e || !*e) && creds->endpoint)
		e = creds->endpoint;
	*custom = e && *e;
	if (*custom)
		return xstrdup(e);
	ec_buf_addf(&b, "https://s3.%s.amazonaws.com", region);
	return ec_buf_detach(&b, NULL);
}

int ec_s3_open(struct ec_s3 **s3p, const char *bucket, const struct ec_s3_settings *set,
	       char *errstr, size_t errstr_size)
{
	struct ec_s3 *s3 = xcalloc(1, sizeof(*s3));
	struct ec_buf b = EC_BUF_INIT;
	const char *region;
	char *endpoint = NULL;
	int custom, ret = EX_CONFIG;

	*s3p = NULL;
	s3->bucket = xstrdup(bucket);
	if (!*bucket) {
		snprintf(errstr, errstr_size, "no bucket name");
		goto cleanup;
	}
	ret = ec_aws_creds_load(&s3->creds, set->profile, errstr, errstr_size);
	if (ret)
		goto cleanup;
	ret = EX_CONFIG;
	region = set->region && *set->region ? set->region : s3->creds.region ? s3->creds.region : "us-east-1";
	endpoint = choose_endpoint(set, &s3->creds, region, &custom);
	if (ec_s3_bucket_url(&b, endpoint, bucket, ec_s3_use_path_style(set->path_style, custom, bucket),
			     errstr, errstr_size) < 0)
		goto cleanup;
	s3->bucket_url = ec_buf_detach(&b, NULL);
	ec_buf_addf(&b, "aws:amz:%s:s3", region);
	s3->sigv4 = ec_buf_detach(&b, NULL);
	ec_buf_addf(&b, "%s/%s", ec_progname ? ec_progname : "ec", EC_VERSION);
	s3->user_agent = ec_buf_detach(&b, NULL);
	s3->max_retries = set->max_retries < 0 ? 0 : set->max_retries;
	s3->timeout_ms = set->timeout_ms > 0 ? set->timeout_ms : 60000;
	s3->verify_tls = set->verify_tls;
	s3->ca_file = set->ca_file ? xstrdup(set->ca_file) : NULL;
	ec_rng_seed(&s3->rng, (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)s3);
	if (!curl_ready++ && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(errstr, errstr_size, "libcurl could not be initialised");
		ret = EX_SOFTWARE;
		goto cleanup;
	}
	s3->curl = curl_easy_init();
	if (!s3->curl) {
		snprintf(errstr, errstr_size, "libcurl could not make a handle");
		ret = EX_SOFTWARE;
		goto cleanup;
	}
	ec_debug("s3: bucket %s at %s, region %s, credentials from %s", bucket, s3->bucket_url, region,
		 s3->creds.source);
	ret = 0;
cleanup:
	free(endpoint);
	ec_buf_release(&b);
	if (ret)
		ec_s3_free(s3);
	else
		*s3p = s3;
	return ret;
}

void ec_s3_free(struct ec_s3 *s3)
{
	if (!s3)
		return;
	if (s3->curl) {
		curl_easy_cleanup(s3->curl);
		if (!--curl_ready)
			curl_global_cleanup();
	}
	ec_aws_creds_release(&s3->creds);
	free(s3->bucket);
	free(s3->bucket_url);
	free(s3->sigv4);
	free(s3->ca_file);
	free(s3->user_agent);
	free(s3);
}

int ec_s3_put(struct ec_s3 *s3, const char *key, const void *data, size_t n,
	      const struct ec_s3_meta *meta, char *errstr, size_t errstr_size)
{
	struct s3_req rq = { .op = "PutObject", .method = "PUT", .key = key, .body = data ? data : "", .n = n,
			     .content_md5 = 1 };
	struct s3_resp rs = { 0 };
	int r;

	if (meta) {
		rq.content_type = meta->content_type;
		rq.content_encoding = meta->content_encoding;
	}
	r = s3_do(s3, &rq, &rs, errstr, errstr_size);
	resp_release(&rs);
	return r;
}

int ec_s3_get(struct ec_s3 *s3, const char *key, struct ec_buf *out, int *found,
	      char *errstr, size_t errstr_size)
{
	struct s3_req rq = { .op = "GetObject", .method = "GET", .key = key, .out = out, .not_found_ok = 1 };
	struct s3_resp rs = { 0 };
	int r;

	*found = 0;
	r = s3_do(s3, &rq, &rs, errstr, errstr_size);
	if (!r && rs.status == 404) {
		if (strcmp(rs.code, "NoSuchKey") && rs.code[0]) {
			/* NoSuchBucket and the like are not "no such object". */
			snprintf(errstr, errstr_size, "GetObject s3://%s/%s: HTTP 404 %s", s3->bucket, key, rs.code);
			r = EX_DATAERR;
		}
	} else if (!r) {
		*found = 1;
	}
	resp_release(&rs);
	return r;
}

int ec_s3_delete(struct ec_s3 *s3, const char *key, char *errstr, size_t errstr_size)
{
	struct s3_req rq = { .op = "DeleteObject", .method = "DELETE", .key = key, .not_found_ok = 1 };
	struct s3_resp rs = { 0 };
	int r = s3_do(s3, &rq, &rs, errstr, errstr_size);

	if (!r && rs.status == 404 && rs.code[0] && strcmp(rs.code, "NoSuchKey")) {
		snprintf(errstr, errstr_size, "DeleteObject s3://%s/%s: HTTP 404 %s", s3->bucket, key, rs.code);
		r = EX_DATAERR;
	}
	resp_release(&rs);
	return r;
}

int ec_s3_list(struct ec_s3 *s3, const char *prefix,
	       int (*each)(void *ctx, const char *key, uint64_t size), void *ctx,
	       char *errstr, size_t errstr_size)
{
	struct ec_buf query = EC_BUF_INIT, token = EC_BUF_INIT;
	struct s3_req rq = { .op = "ListObjectsV2", .method = "GET" };
	struct s3_resp rs = { 0 };
	int r, truncated;

	do {
		ec_buf_reset(&query);
		ec_s3_list_query(&query, prefix, token.buf);
		rq.query = query.buf;
		ec_buf_reset(&rs.body);
		r = s3_do(s3, &rq, &rs, errstr, errstr_size);
		if (r)
			break;
		r = ec_s3_list_page(rs.body.buf ? rs.body.buf : "", each, ctx, &truncated, &token);
		if (!r && truncated && (!token.buf || !*token.buf)) {
			snprintf(errstr, errstr_size, "ListObjectsV2 s3://%s/%s: truncated page without a continuation token",
				 s3->bucket, prefix ? prefix : "");
			r = EX_PROTOCOL;
		}
	} while (!r && truncated);
	resp_release(&rs);
	ec_buf_release(&query);
	ec_buf_release(&token);
	return r;
}

int ec_s3_upload_begin(struct ec_s3 *s3, const char *key, const struct ec_s3_meta *meta,
		       char **upload_id, char *errstr, size_t errstr_size)
{
	struct s3_req rq = { .op = "CreateMultipartUpload", .method = "POST", .key = key, .query = "uploads=" };
	struct s3_resp rs = { 0 };
	struct ec_buf id = EC_BUF_INIT;
	int r;

	*upload_id = NULL;
	if (meta) {
		rq.content_type = meta->content_type;
		rq.content_encoding = meta->content_encoding;
	}
	r = s3_do(s3, &rq, &rs, errstr, errstr_size);
	if (!r && (!ec_s3_xml_text(rs.body.buf, "UploadId", &id) || !*id.buf)) {
		snprintf(errstr, errstr_size, "CreateMultipartUpload s3://%s/%s: no UploadId in the answer", s3->bucket, key);
		r = EX_PROTOCOL;
	}
	if (!r)
		*upload_id = ec_buf_detach(&id, NULL);
	ec_buf_release(&id);
	resp_release(&rs);
	return r;
}

/* "partNumber=N&uploadId=ID" or "uploadId=ID" (N <= 0), sorted and encoded. */
static void upload_query(struct ec_buf *q, int part_number, const char *upload_id)
{
	if (part_number > 0)
		ec_buf_addf(q, "partNumber=%d&", part_number);
	ec_buf_addstr(q, "uploadId=");
	ec_s3_uri_encode(q, upload_id, 0);
}

int ec_s3_upload_part(struct ec_s3 *s3, const char *key, const char *upload_id, int part_number,
		      const void *data, size_t n, char **etag, char *errstr, size_t errstr_size)
{
	struct ec_buf query = EC_BUF_INIT, op = EC_BUF_INIT;
	struct s3_req rq = { .method = "PUT", .key = key, .body = data ? data : "", .n = n, .content_md5 = 1 };
	struct s3_resp rs = { 0 };
	int r;

	*etag = NULL;
	upload_query(&query, part_number, upload_id);
	ec_buf_addf(&op, "UploadPart %d", part_number);
	rq.op = op.buf;
	rq.query = query.buf;
	r = s3_do(s3, &rq, &rs, errstr, errstr_size);
	if (!r && (!rs.etag || !*rs.etag)) {
		snprintf(errstr, errstr_size, "UploadPart %d s3://%s/%s: no ETag in the answer", part_number, s3->bucket, key);
		r = EX_PROTOCOL;
	}
	if (!r) {
		*etag = rs.etag;
		rs.etag = NULL;
	}
	resp_release(&rs);
	ec_buf_release(&query);
	ec_buf_release(&op);
	return r;
}

/* Append S with the XML special characters escaped. */
static void xml_escape(struct ec_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': ec_buf_addstr(b, "&amp;"); break;
		case '<': ec_buf_addstr(b, "&lt;"); break;
		case '>': ec_buf_addstr(b, "&gt;"); break;
		case '"': ec_buf_addstr(b, "&quot;"); break;
		default: ec_buf_addch(b, *s);
		}
	}
}

int ec_s3_upload_complete(struct ec_s3 *s3, const char *key, const char *upload_id,
			  char *const *etags, int nparts, char *errstr, size_t errstr_size)
{
	struct ec_buf query = EC_BUF_INIT, body = EC_BUF_INIT;
	struct s3_req rq = { .op = "CompleteMultipartUpload", .method = "POST", .key = key,
			     .content_type = "application/xml" };
	struct s3_resp rs = { 0 };
	int i, r;

	upload_query(&query, 0, upload_id);
	ec_buf_addstr(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (i = 0; i < nparts; i++) {
		ec_buf_addf(&body, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
		xml_escape(&body, etags[i]);
		ec_buf_addstr(&body, "</ETag></Part>");
	}
	ec_buf_addstr(&body, "</CompleteMultipartUpload>");
	rq.query = query.buf;
	rq.body = body.buf;
	rq.n = body.len;
	/*
	 * When a retry finds the upload gone (NoSuchUpload), a try whose answer
	 * was lost completed it: the object is there.
	 */
	rq.gone_ok_on_retry = 1;
	rq.error_in_200 = 1;
	r = s3_do(s3, &rq, &rs, errstr, errstr_size);
	if (!r && rs.status == 404) {
		if (!strcmp(rs.code, "NoSuchUpload")) {
			ec_info("CompleteMultipartUpload s3://%s/%s: the upload is gone after a failed try: that try completed it",
				s3->bucket, key);
		} else {
			snprintf(errstr, errstr_size, "CompleteMultipartUpload s3://%s/%s: HTTP 404 %s",
				 s3->bucket, key, rs.code);
			r = EX_DATAERR;
		}
	}
	resp_release(&rs);
	ec_buf_release(&query);
	ec_buf_release(&body);
	return r;
}

int ec_s3_upload_abort(struct ec_s3 *s3, const char *key, const char *upload_id,
		       char *errstr, size_t errstr_size)
{
	struct ec_buf query = EC_BUF_INIT;
	struct s3_req rq = { .op = "AbortMultipartUpload", .method = "DELETE", .key = key, .not_found_ok = 1 };
	struct s3_resp rs = { 0 };
	int r;

	/* An upload that is already gone (NoSuchUpload) is what aborting wants. */
	upload_query(&query, 0, upload_id);
	rq.query = query.buf;
	r = s3_do(s3, &rq, &rs, errstr, errstr_size);
	resp_release(&rs);
	ec_buf_release(&query);
	return r;
}
