/* test_lake.c: unit tests for partition templates, value sanitising and object names (lib/lake.c). */
#include "test.h"
#include "lake.h"
#include "json.h"

/* ec_lake_escape of S[0..n) as a C string (static). */
static const char *escaped(const char *s, size_t n)
{
	static struct ec_buf b = EC_BUF_INIT;

	ec_buf_reset(&b);
	ec_lake_escape(&b, s, n);
	ec_buf_add(&b, "", 0);
	return b.buf;
}
#define ESC(lit) escaped(lit, sizeof(lit) - 1)

static void test_escape_plain(void)
{
	CHECK_STR(ESC("orders"), "orders");
	CHECK_STR(ESC("2026-11-22"), "2026-11-22");
	CHECK_STR(ESC("a b_c-d.e,f"), "a b_c-d.e,f");
	CHECK_STR(ESC("__HIVE_DEFAULT_PARTITION__"), "__HIVE_DEFAULT_PARTITION__");
	/* Valid UTF-8 stays as it is, as S3 keys and Hive allow. */
	CHECK_STR(ESC("\xc3\xa9t\xc3\xa9"), "\xc3\xa9t\xc3\xa9");
	CHECK_STR(ESC("}"), "}");
}

static void test_escape_hive_specials(void)
{
	CHECK_STR(ESC("a/b"), "a%2Fb");
	CHECK_STR(ESC("100%"), "100%25");
	CHECK_STR(ESC("%2F"), "%252F");
	CHECK_STR(ESC("k=v"), "k%3Dv");
	CHECK_STR(ESC("a:b"), "a%3Ab");
	CHECK_STR(ESC("\"#'*?\\{[]^~"), "%22%23%27%2A%3F%5C%7B%5B%5D%5E%7E");
	CHECK_STR(ESC("x\ny\tz\x7f"), "x%0Ay%09z%7F");
	CHECK_STR(escaped("x\0y", 3), "x%00y");
}

static void test_escape_dots(void)
{
	CHECK_STR(ESC("."), "%2E");
	CHECK_STR(ESC(".."), "%2E%2E");
	CHECK_STR(ESC("../../etc/passwd"), "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd");
	CHECK_STR(ESC(".hidden"), "%2Ehidden");
	CHECK_STR(ESC("a..b"), "a%2E%2Eb");
	CHECK_STR(ESC("a.b."), "a.b.");
	CHECK_STR(ESC("v1.2"), "v1.2");
}

static void test_escape_invalid_utf8(void)
{
	/* A lone continuation byte or a truncated sequence: every high byte is encoded. */
	CHECK_STR(ESC("a\x80z"), "a%80z");
	CHECK_STR(ESC("\xc3\xa9\xc3"), "%C3%A9%C3");
}

static void test_escape_long_values(void)
{
	char a[1000], b[1000];
	const char *ea;
	char *keep;
	size_t i;

	memset(a, 'x', sizeof(a));
	memcpy(b, a, sizeof(b));
	b[999] = 'y';
	ea = escaped(a, sizeof(a));
	CHECK_INT(strlen(ea), EC_LAKE_VALUE_MAX);
	for (i = 0; i < 111; i++)
		CHECK(ea[i] == 'x');
	CHECK(ea[111] == '~');
	keep = xstrdup(ea);
	/* Same prefix, one byte different at the end: a different name. */
	CHECK(strcmp(keep, escaped(b, sizeof(b))) != 0);
	CHECK_INT(strlen(escaped(b, sizeof(b))), EC_LAKE_VALUE_MAX);
	/* Deterministic. */
	CHECK_STR(escaped(a, sizeof(a)), keep);
	free(keep);
	/* Exactly at the limit: kept whole. */
	CHECK_INT(strlen(escaped(a, EC_LAKE_VALUE_MAX)), EC_LAKE_VALUE_MAX);
	CHECK(!strchr(escaped(a, EC_LAKE_VALUE_MAX), '~'));
}

static void test_escape_cut_keeps_escapes_whole(void)
{
	char v[300];
	const char *e;
	size_t i, n;

	/* 'x' then '/' repeated: the cut must not split a "%2F". */
	for (i = 0; i < sizeof(v); i++)
		v[i] = i % 2 ? '/' : 'x';
	e = escaped(v, sizeof(v));
	n = strlen(e);
	CHECK(n <= EC_LAKE_VALUE_MAX);
	CHECK(e[n - 17] == '~');
	for (i = 0; i + 17 < n; i++)
		if (e[i] == '%')
			CHECK(i + 2 < n - 17 && e[i + 1] == '2' && e[i + 2] == 'F');
	/* Multi-byte characters are not split either. */
	for (i = 0; i + 1 < sizeof(v); i += 2) {
		v[i] = (char)0xc3;
		v[i + 1] = (char)0xa9;
	}
	e = escaped(v, sizeof(v));
	n = strlen(e);
	CHECK(e[n - 17] == '~');
	CHECK((n - 17) % 2 == 0);
}

/* Render TEMPLATE for the record JSON at time T (ms); "error: ..." on a bad template. */
static const char *render(const char *tmpl_text, const char *json, int64_t t, int have_time)
{
	static struct ec_buf out = EC_BUF_INIT;
	struct ec_pathset *ps = ec_pathset_new();
	struct ec_lake_tmpl *tmpl;
	struct ec_jval slots[16];
	struct ec_jerr jerr;
	char err[256];

	ec_buf_reset(&out);
	tmpl = ec_lake_tmpl_new(tmpl_text, ps, have_time, 0, err, sizeof(err));
	if (!tmpl) {
		ec_buf_addf(&out, "error: %s", err);
	} else if (ec_json_scan(ps, json, strlen(json), slots, &jerr) < 0) {
		ec_buf_addf(&out, "bad json: %s", jerr.msg);
	} else {
		ec_lake_tmpl_render(tmpl, slots, t, "__HIVE_DEFAULT_PARTITION__", &out);
	}
	ec_lake_tmpl_free(tmpl);
	ec_pathset_free(ps);
	ec_buf_add(&out, "", 0);
	return out.buf;
}

/* 2026-11-22T13:59:31.004Z */
#define T0 1795355971004LL

static void test_template_render(void)
{
	CHECK_STR(render("", "{}", T0, 1), "");
	CHECK_STR(render("orders", "{}", T0, 1), "orders");
	CHECK_STR(render("dt={time:%Y-%m-%d}/hour={time:%H}", "{}", T0, 1), "dt=2026-11-22/hour=13");
	CHECK_STR(render("t={.source.table}", "{\"source\":{\"table\":\"orders\"}}", T0, 0), "t=orders");
	CHECK_STR(render("a={.a}/b={.b}", "{\"a\":1.50,\"b\":true}", T0, 0), "a=1.50/b=true");
	CHECK_STR(render("x={.x}", "{\"x\":\"a\\/b\\u0000\"}", T0, 0), "x=a%2Fb%00");
	CHECK_STR(render("x={.x}", "{\"x\":[1,{\"k\":2}]}", T0, 0), "x=%5B1,%7B%22k%22%3A2}%5D");
	CHECK_STR(render("q={.[\"odd}key\"]}", "{\"odd}key\":\"v\"}", T0, 0), "q=v");
	CHECK_STR(render("i={.items[1]}", "{\"items\":[\"a\",\"b\"]}", T0, 0), "i=b");
	/* Times before 1970 and at a second's edge. */
	CHECK_STR(render("{time:%Y-%m-%dT%H:%M:%S}", "{}", -1, 1), "1969-12-31T23:59:59");
	CHECK_STR(render("{time:%S}", "{}", 59999, 1), "59");
}

static void test_template_defaults(void)
{
	CHECK_STR(render("t={.t}", "{}", T0, 0), "t=__HIVE_DEFAULT_PARTITION__");
	CHECK_STR(render("t={.t}", "{\"t\":null}", T0, 0), "t=__HIVE_DEFAULT_PARTITION__");
	CHECK_STR(render("t={.t}", "{\"t\":\"\"}", T0, 0), "t=__HIVE_DEFAULT_PARTITION__");
	CHECK_STR(render("t={.t.u}", "{\"t\":5}", T0, 0), "t=__HIVE_DEFAULT_PARTITION__");
}

static void test_template_errors(void)
{
	CHECK(!strncmp(render("{time:%Y}", "{}", 0, 0), "error: {time:...} needs --time", 30));
	CHECK(!strncmp(render("dt={time:%Y", "{}", 0, 1), "error: unterminated '{'", 23));
	CHECK(!strncmp(render("a}", "{}", 0, 1), "error: '}' without '{'", 22));
	CHECK(!strncmp(render("{nope}", "{}", 0, 1), "error: ", 7));
	CHECK(!strncmp(render("../{.x}", "{}", 0, 1), "error: the key", 14));
	CHECK(!strncmp(render("/{.x}", "{}", 0, 1), "error: the key", 14));
	CHECK(!strncmp(render("a//{.x}", "{}", 0, 1), "error: the key", 14));
	CHECK(!strncmp(render("{.x}/", "{}", 0, 1), "error: the key", 14));
	CHECK(!strncmp(render("{time:}/x", "{}", 0, 1), "error: the key", 14));
	CHECK(!strncmp(render("a\\b", "{}", 0, 1), "error: control", 14));
	CHECK(!strncmp(render("a\tb", "{}", 0, 1), "error: control", 14));
	/* A time format may make levels of its own. */
	CHECK_STR(render("{time:%Y/%m}", "{}", T0, 1), "2026/11");
}

static void test_object_keys(void)
{
	struct ec_buf b = EC_BUF_INIT;

	ec_lake_object_key(&b, "pre/fix", "dt=2026-11-22", 3, 7, ec_lake_suffix(EC_LAKE_GZIP, 0));
	CHECK_STR(b.buf, "pre/fix/dt=2026-11-22/part-00000003-00007.ndjson.gz");
	ec_buf_reset(&b);
	ec_lake_object_key(&b, "", "", 1, 0, ec_lake_suffix(EC_LAKE_ZSTD, 0));
	CHECK_STR(b.buf, "part-00000001-00000.ndjson.zst");
	ec_buf_reset(&b);
	ec_lake_object_key(&b, "p", "", 123456789, 123456, ec_lake_suffix(EC_LAKE_NONE, 1));
	CHECK_STR(b.buf, "p/part-123456789-123456.tar");
	ec_buf_reset(&b);
	ec_lake_object_key(&b, "", "a=1/b=2", 12, 1, ec_lake_suffix(EC_LAKE_GZIP, 1));
	CHECK_STR(b.buf, "a=1/b=2/part-00000012-00001.tar.gz");
	ec_buf_reset(&b);
	ec_lake_manifest_key(&b, "lake", 42);
	CHECK_STR(b.buf, "lake/_manifests/epoch-00000042.json");
	ec_buf_reset(&b);
	ec_lake_manifest_key(&b, "", 1);
	CHECK_STR(b.buf, "_manifests/epoch-00000001.json");
	CHECK_STR(ec_lake_suffix(EC_LAKE_ZSTD, 1), ".tar.zst");
	CHECK_STR(ec_lake_suffix(EC_LAKE_NONE, 0), ".ndjson");
	ec_buf_release(&b);
}

/* Destination URIs: what is accepted, and the URI of a key. */
static void test_dest_uris(void)
{
	static const char *const bad[] = { "", "lake", "http://h/p", "s3://", "s3:///p",
					   "s3://b/a/../c", "s3://b/a//c", "file://rel/dir" };
	struct ec_s3_settings set = EC_S3_SETTINGS_INIT;
	struct ec_lake_dest *d;
	struct ec_buf b = EC_BUF_INIT;
	char err[256], dir[] = "/tmp/test_lake.XXXXXX", uri[256];
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(bad); i++) {
		CHECK_INT(ec_lake_dest_open(&d, bad[i], &set, err, sizeof(err)), EX_USAGE);
		CHECK(d == NULL);
	}
	CHECK(mkdtemp(dir) != NULL);
	snprintf(uri, sizeof(uri), "file://%s/lake///", dir);
	CHECK_INT(ec_lake_dest_open(&d, uri, &set, err, sizeof(err)), 0);
	if (d) {
		CHECK_STR(ec_lake_dest_prefix(d), "");
		ec_lake_dest_uri(d, "a=1/part-00000001-00000.ndjson.gz", &b);
		snprintf(uri, sizeof(uri), "file://%s/lake/a=1/part-00000001-00000.ndjson.gz", dir);
		CHECK_STR(b.buf, uri);
		CHECK_INT(ec_lake_dest_put(d, "m/x.json", "{}\n", 3, "application/json", err, sizeof(err)), 0);
		CHECK_INT(ec_lake_dest_remove(d, "m/x.json", NULL, err, sizeof(err)), 0);
		CHECK_INT(ec_lake_dest_remove(d, "m/x.json", NULL, err, sizeof(err)), 0);
		ec_lake_dest_free(d);
	}
	snprintf(uri, sizeof(uri), "rm -rf '%s'", dir);
	CHECK(system(uri) == 0);
	ec_buf_release(&b);
}

int main(void)
{
	RUN(test_escape_plain);
	RUN(test_escape_hive_specials);
	RUN(test_escape_dots);
	RUN(test_escape_invalid_utf8);
	RUN(test_escape_long_values);
	RUN(test_escape_cut_keeps_escapes_whole);
	RUN(test_template_render);
	RUN(test_template_defaults);
	RUN(test_template_errors);
	RUN(test_object_keys);
	RUN(test_dest_uris);
	return test_done();
}
