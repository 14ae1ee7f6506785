/* test_s3.c: unit tests of the S3 client's pure parts: credentials files, key encoding, URLs, XML answers. */
#include "ec.h"
#include "s3.h"
#include "awsconf.h"
#include "test.h"
#include <unistd.h>

static char dir[64];
static char creds_path[128], config_path[128];

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

/* An environment with no AWS settings but the two files of this test. */
static void clean_env(void)
{
	static const char *const vars[] = {
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
		"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
	};
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(vars); i++)
		unsetenv(vars[i]);
	setenv("AWS_SHARED_CREDENTIALS_FILE", creds_path, 1);
	setenv("AWS_CONFIG_FILE", config_path, 1);
	write_text(creds_path, "");
	write_text(config_path, "");
}

static void test_ini_get(void)
{
	const char *text =
		"# a comment\n"
		"[default]\n"
		"aws_access_key_id = AKDEFAULT\n"
		"aws_secret_access_key=secret=with=equals  \n"
		"\n"
		"[ prod ]\n"
		"; another comment\n"
		"s3 =\n"
		"    region = nested-not-top-level\n"
		"region = eu-west-1\n"
		"empty =\n";
	char *v;

	v = ec_awsconf_get(text, "default", "aws_access_key_id");
	CHECK_STR(v, "AKDEFAULT");
	free(v);
	v = ec_awsconf_get(text, "default", "aws_secret_access_key");
	CHECK_STR(v, "secret=with=equals");
	free(v);
	v = ec_awsconf_get(text, "prod", "region");
	CHECK_STR(v, "eu-west-1");
	free(v);
	v = ec_awsconf_get(text, "prod", "empty");
	CHECK_STR(v, "");
	free(v);
	CHECK(ec_awsconf_get(text, "prod", "aws_access_key_id") == NULL);
	CHECK(ec_awsconf_get(text, "missing", "region") == NULL);
	CHECK(ec_awsconf_has_section(text, "prod"));
	CHECK(!ec_awsconf_has_section(text, "prod2"));
}

static void test_creds_env_first(void)
{
	struct ec_aws_creds c;
	char err[256];

	clean_env();
	write_text(creds_path, "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n");
	setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
	setenv("AWS_SESSION_TOKEN", "ENVTOKEN", 1);
	CHECK_INT(ec_aws_creds_load(&c, NULL, err, sizeof(err)), 0);
	CHECK_STR(c.access_key, "ENVKEY");
	CHECK_STR(c.secret_key, "ENVSECRET");
	CHECK_STR(c.session_token, "ENVTOKEN");
	CHECK_STR(c.source, "environment");
	CHECK(c.region == NULL);
	ec_aws_creds_release(&c);

	/* Half the keys is a configuration error, not a silent fallback. */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	CHECK_INT(ec_aws_creds_load(&c, NULL, err, sizeof(err)), EX_CONFIG);
	CHECK(strstr(err, "AWS_SECRET_ACCESS_KEY") != NULL);
}

static void test_creds_profiles(void)
{
	struct ec_aws_creds c;
	char err[256];

	clean_env();
	write_text(creds_path,
		   "[default]\naws_access_key_id = DEFKEY\naws_secret_access_key = DEFSECRET\n"
		   "[dev]\naws_access_key_id = DEVKEY\naws_secret_access_key = DEVSECRET\n"
		   "aws_session_token = DEVTOKEN\n");
	write_text(config_path,
		   "[default]\nregion = us-west-2\n"
		   "[profile dev]\nregion = eu-central-1\nendpoint_url = http://127.0.0.1:9000\n"
		   "[profile cfgonly]\naws_access_key_id = CFGKEY\naws_secret_access_key = CFGSECRET\n");
	CHECK_INT(ec_aws_creds_load(&c, NULL, err, sizeof(err)), 0);
	CHECK_STR(c.access_key, "DEFKEY");
	CHECK(c.session_token == NULL);
	CHECK_STR(c.region, "us-west-2");
	ec_aws_creds_release(&c);

	setenv("AWS_PROFILE", "dev", 1);
	CHECK_INT(ec_aws_creds_load(&c, NULL, err, sizeof(err)), 0);
	CHECK_STR(c.access_key, "DEVKEY");
	CHECK_STR(c.secret_key, "DEVSECRET");
	CHECK_STR(c.session_token, "DEVTOKEN");
	CHECK_STR(c.region, "eu-central-1");
	CHECK_STR(c.endpoint, "http://127.0.0.1:9000");
	ec_aws_creds_release(&c);

	/* AWS_REGION beats the profile's region. */
	setenv("AWS_REGION", "ap-south-1", 1);
	CHECK_INT(ec_aws_creds_load(&c, NULL, err, sizeof(err)), 0);
	CHECK_STR(c.region, "ap-south-1");
	ec_aws_creds_release(&c);
	unsetenv("AWS_REGION");

	/* An explicit profile (--profile) beats AWS_PROFILE and keys in the environment. */
	setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
	CHECK_INT(ec_aws_creds_load(&c, "cfgonly", err, sizeof(err)), 0);
	CHECK_STR(c.access_key, "CFGKEY");
	CHECK_STR(c.secret_key, "CFGSECRET");
	CHECK(c.region == NULL);
	ec_aws_creds_release(&c);

	/* A profile that exists nowhere is named in the error. */
	CHECK_INT(ec_aws_creds_load(&c, "nosuch", err, sizeof(err)), EX_CONFIG);
	CHECK(strstr(err, "'nosuch' not found") != NULL);
}

static void test_creds_missing(void)
{
	struct ec_aws_creds c;
	char err[256];

	clean_env();
	CHECK_INT(ec_aws_creds_load(&c, NULL, err, sizeof(err)), EX_CONFIG);
	CHECK(strstr(err, "no AWS credentials") != NULL);
	/* A missing file is no credentials, not an error of its own. */
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	CHECK_INT(ec_aws_creds_load(&c, NULL, err, sizeof(err)), EX_CONFIG);
	CHECK(strstr(err, "no AWS credentials") != NULL);
	/* A default profile with a key but no secret is no credentials. */
	clean_env();
	write_text(creds_path, "[default]\naws_access_key_id = ONLYKEY\n");
	CHECK_INT(ec_aws_creds_load(&c, NULL, err, sizeof(err)), EX_CONFIG);
	CHECK(strstr(err, "ONLYKEY") == NULL);
}

static void check_encode(const char *in, int keep_slash, const char *want)
{
	struct ec_buf b = EC_BUF_INIT;

	ec_s3_uri_encode(&b, in, keep_slash);
	CHECK_STR(b.buf, want);
	ec_buf_release(&b);
}

static void test_uri_encode(void)
{
	check_encode("a/b/c.ndjson.gz", 1, "a/b/c.ndjson.gz");
	check_encode("a/b", 0, "a%2Fb");
	check_encode("dt=2024-01-02/x y+z", 1, "dt%3D2024-01-02/x%20y%2Bz");
	check_encode("AZaz09-_.~", 1, "AZaz09-_.~");
	check_encode("caf\xc3\xa9", 1, "caf%C3%A9");
	check_encode("%&?#*!'()", 1, "%25%26%3F%23%2A%21%27%28%29");
	check_encode("\x01\x7f\xff", 1, "%01%7F%FF");
	check_encode("", 1, "");
}

static void test_list_query(void)
{
	struct ec_buf b = EC_BUF_INIT;

	ec_s3_list_query(&b, NULL, NULL);
	CHECK_STR(b.buf, "list-type=2");
	ec_buf_reset(&b);
	ec_s3_list_query(&b, "orders/dt=2024 01/", NULL);
	CHECK_STR(b.buf, "list-type=2&prefix=orders%2Fdt%3D2024%2001%2F");
	ec_buf_reset(&b);
	/* Keys sorted: continuation-token < list-type < prefix. */
	ec_s3_list_query(&b, "p/", "1/abc+=");
	CHECK_STR(b.buf, "continuation-token=1%2Fabc%2B%3D&list-type=2&prefix=p%2F");
	ec_buf_release(&b);
}

static void check_url(const char *endpoint, const char *bucket, int path_style, const char *want)
{
	struct ec_buf b = EC_BUF_INIT;
	char err[256] = "";

	CHECK_INT(ec_s3_bucket_url(&b, endpoint, bucket, path_style, err, sizeof(err)), 0);
	CHECK_STR(b.buf, want);
	ec_buf_release(&b);
}

static void test_addressing(void)
{
	struct ec_buf b = EC_BUF_INIT;
	char err[256];

	CHECK_INT(ec_s3_use_path_style(-1, 1, "lake"), 1);
	CHECK_INT(ec_s3_use_path_style(-1, 0, "lake"), 0);
	CHECK_INT(ec_s3_use_path_style(-1, 0, "my.lake"), 1);
	CHECK_INT(ec_s3_use_path_style(0, 1, "lake"), 0);
	CHECK_INT(ec_s3_use_path_style(1, 0, "lake"), 1);
	check_url("http://127.0.0.1:4568", "lake", 1, "http://127.0.0.1:4568/lake");
	check_url("http://127.0.0.1:4568/", "lake", 1, "http://127.0.0.1:4568/lake");
	check_url("https://s3.eu-west-1.amazonaws.com", "lake", 0, "https://lake.s3.eu-west-1.amazonaws.com");
	check_url("https://minio.example:9000/base/", "lake", 0, "https://lake.minio.example:9000/base");
	check_url("https://minio.example:9000/base/", "lake", 1, "https://minio.example:9000/base/lake");
	CHECK_INT(ec_s3_bucket_url(&b, "ftp://x", "lake", 1, err, sizeof(err)), -1);
	CHECK(strstr(err, "ftp://x") != NULL);
	CHECK_INT(ec_s3_bucket_url(&b, "127.0.0.1:9000", "lake", 1, err, sizeof(err)), -1);
	CHECK_INT(ec_s3_bucket_url(&b, "http://", "lake", 1, err, sizeof(err)), -1);
	ec_buf_release(&b);
}

static void test_xml_text(void)
{
	struct ec_buf b = EC_BUF_INIT;
	const char *init =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Bucket>lake</Bucket><Key>a&amp;b</Key><UploadId>VXBsb2FkIElE.&lt;x&gt;</UploadId>"
		"</InitiateMultipartUploadResult>";
	const char *err =
		"<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature &quot;x&quot; &#233;&#x41;</Message>"
		"<Empty/></Error>";

	CHECK_INT(ec_s3_xml_text(init, "UploadId", &b), 1);
	CHECK_STR(b.buf, "VXBsb2FkIElE.<x>");
	ec_buf_reset(&b);
	CHECK_INT(ec_s3_xml_text(init, "Key", &b), 1);
	CHECK_STR(b.buf, "a&b");
	ec_buf_reset(&b);
	/* <Bucket> must not match <BucketX> or the like, and a missing tag is 0. */
	CHECK_INT(ec_s3_xml_text(init, "Buck", &b), 0);
	CHECK_INT(ec_s3_xml_text(init, "ETag", &b), 0);
	CHECK_INT(ec_s3_xml_text(err, "Code", &b), 1);
	CHECK_STR(b.buf, "SignatureDoesNotMatch");
	ec_buf_reset(&b);
	CHECK_INT(ec_s3_xml_text(err, "Message", &b), 1);
	CHECK_STR(b.buf, "The request signature \"x\" \xc3\xa9" "A");
	ec_buf_reset(&b);
	CHECK_INT(ec_s3_xml_text(err, "Empty", &b), 1);
	CHECK_STR(b.buf, "");
	ec_buf_reset(&b);
	/* Unterminated: not found, and no read past the end. */
	CHECK_INT(ec_s3_xml_text("<Code>abc", "Code", &b), 0);
	CHECK_INT(ec_s3_xml_text("<Code", "Code", &b), 0);
	CHECK_INT(ec_s3_xml_text("", "Code", &b), 0);
	ec_buf_release(&b);
}

struct seen {
	struct ec_buf keys;
	uint64_t total;
	int n, stop_at;
};

static int collect(void *ctx, const char *key, uint64_t size)
{
	struct seen *s = ctx;

	ec_buf_addf(&s->keys, "%s|", key);
	s->total += size;
	return ++s->n == s->stop_at ? 42 : 0;
}

static void test_list_page(void)
{
	const char *page1 =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>lake</Name>"
		"<Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
		"<Contents><Key>p/a&amp;1.gz</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
		"<ETag>&quot;abc&quot;</ETag><Size>10</Size><StorageClass>STANDARD</StorageClass></Contents>"
		"<Contents><Key>p/b 2.gz</Key><Size>5000000000</Size></Contents>"
		"<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
		"</ListBucketResult>";
	const char *last =
		"<ListBucketResult><Name>lake</Name><IsTruncated>false</IsTruncated>"
		"<Contents><Key>p/c</Key><Size>0</Size></Contents></ListBucketResult>";
	const char *empty = "<ListBucketResult><Name>lake</Name><KeyCount>0</KeyCount>"
			    "<IsTruncated>false</IsTruncated></ListBucketResult>";
	struct seen s = { EC_BUF_INIT, 0, 0, 0 };
	struct ec_buf token = EC_BUF_INIT;
	int truncated = -1;

	CHECK_INT(ec_s3_list_page(page1, collect, &s, &truncated, &token), 0);
	CHECK_STR(s.keys.buf, "p/a&1.gz|p/b 2.gz|");
	CHECK_INT(s.total, 5000000010ULL);
	CHECK_INT(truncated, 1);
	CHECK_STR(token.buf, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	CHECK_INT(ec_s3_list_page(last, collect, &s, &truncated, &token), 0);
	CHECK_INT(truncated, 0);
	CHECK(!token.len);
	CHECK_INT(s.n, 3);
	CHECK_INT(ec_s3_list_page(empty, collect, &s, &truncated, &token), 0);
	CHECK_INT(s.n, 3);
	/* EACH stops the walk with its value. */
	s.n = 0;
	s.stop_at = 1;
	CHECK_INT(ec_s3_list_page(page1, collect, &s, &truncated, &token), 42);
	CHECK_INT(s.n, 1);
	ec_buf_release(&s.keys);
	ec_buf_release(&token);
}

static void test_classify(void)
{
	CHECK_INT(ec_s3_classify(500, "InternalError"), -1);
	CHECK_INT(ec_s3_classify(503, "SlowDown"), -1);
	CHECK_INT(ec_s3_classify(502, NULL), -1);
	CHECK_INT(ec_s3_classify(429, NULL), -1);
	CHECK_INT(ec_s3_classify(400, "RequestTimeout"), -1);
	CHECK_INT(ec_s3_classify(403, "SignatureDoesNotMatch"), EX_NOPERM);
	CHECK_INT(ec_s3_classify(403, "InvalidAccessKeyId"), EX_NOPERM);
	CHECK_INT(ec_s3_classify(403, "AccessDenied"), EX_NOPERM);
	CHECK_INT(ec_s3_classify(400, "ExpiredToken"), EX_NOPERM);
	CHECK_INT(ec_s3_classify(403, NULL), EX_NOPERM);
	CHECK_INT(ec_s3_classify(404, "NoSuchBucket"), EX_DATAERR);
	CHECK_INT(ec_s3_classify(400, "EntityTooSmall"), EX_DATAERR);
	CHECK_INT(ec_s3_classify(301, "PermanentRedirect"), EX_DATAERR);
}

static void test_backoff(void)
{
	uint64_t r;

	/* Full jitter: within [0, min(cap, base * 2^n)], and every value reachable. */
	CHECK_INT(ec_s3_backoff_ms(0, 0), 0);
	CHECK_INT(ec_s3_backoff_ms(0, 100), 100);
	CHECK_INT(ec_s3_backoff_ms(0, 101), 0);
	CHECK_INT(ec_s3_backoff_ms(3, 800), 800);
	CHECK_INT(ec_s3_backoff_ms(3, 801), 0);
	CHECK_INT(ec_s3_backoff_ms(20, 20000), 20000);
	CHECK_INT(ec_s3_backoff_ms(1000, 20001), 0);
	for (r = 0; r < 100000; r += 997)
		CHECK(ec_s3_backoff_ms(8, r * 2654435761ULL) <= 20000);
}

static void test_open_needs_credentials(void)
{
	struct ec_s3_settings set = EC_S3_SETTINGS_INIT;
	struct ec_s3 *s3 = (struct ec_s3 *)&set;
	char err[256];

	clean_env();
	CHECK_INT(ec_s3_open(&s3, "lake", &set, err, sizeof(err)), EX_CONFIG);
	CHECK(s3 == NULL);
	setenv("AWS_ACCESS_KEY_ID", "K", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "TOPSECRET", 1);
	set.endpoint = "gopher://x";
	CHECK_INT(ec_s3_open(&s3, "lake", &set, err, sizeof(err)), EX_CONFIG);
	CHECK(strstr(err, "TOPSECRET") == NULL);
	set.endpoint = "http://127.0.0.1:1";
	CHECK_INT(ec_s3_open(&s3, "lake", &set, err, sizeof(err)), 0);
	CHECK(s3 != NULL);
	ec_s3_free(s3);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ec-test-s3.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(creds_path, sizeof(creds_path), "%s/credentials", dir);
	snprintf(config_path, sizeof(config_path), "%s/config", dir);
	RUN(test_ini_get);
	RUN(test_creds_env_first);
	RUN(test_creds_profiles);
	RUN(test_creds_missing);
	RUN(test_uri_encode);
	RUN(test_list_query);
	RUN(test_addressing);
	RUN(test_xml_text);
	RUN(test_list_page);
	RUN(test_classify);
	RUN(test_backoff);
	RUN(test_open_needs_credentials);
	unlink(creds_path);
	unlink(config_path);
	rmdir(dir);
	return test_done();
}
