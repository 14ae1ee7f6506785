/* test_jsonw.c: unit tests of JSON writing, splicing, UTF-8 checks, base64 and buffers. */
#include "ec.h"
#include "jsonw.h"
#include "test.h"

static void test_buf_grows_and_detaches(void)
{
	struct ec_buf b = EC_BUF_INIT;
	char *s;
	size_t n, i;

	for (i = 0; i < 1000; i++)
		ec_buf_addch(&b, 'x');
	ec_buf_addf(&b, "%d-%s", 42, "y");
	CHECK_INT(b.len, 1004);
	CHECK_STR(b.buf + 1000, "42-y");
	s = ec_buf_detach(&b, &n);
	CHECK_INT(n, 1004);
	CHECK(b.buf == NULL && b.len == 0);
	free(s);
	ec_buf_addstr(&b, "a");
	ec_buf_reset(&b);
	CHECK_STR(b.buf, "");
	ec_buf_release(&b);
}

static void test_string_escaping(void)
{
	struct ec_buf b = EC_BUF_INIT;

	ec_jsonw_str(&b, "a\"b\\c\n\t\x01\xc3\xa9", 10);
	CHECK_STR(b.buf, "\"a\\\"b\\\\c\\n\\t\\u0001\xc3\xa9\"");
	ec_buf_reset(&b);
	/* An invalid byte becomes U+FFFD so the output stays valid UTF-8. */
	ec_jsonw_str(&b, "x\xffy", 3);
	CHECK_STR(b.buf, "\"x\xef\xbf\xbdy\"");
	ec_buf_reset(&b);
	ec_jsonw_str(&b, "nul\0byte", 8);
	CHECK_STR(b.buf, "\"nul\\u0000byte\"");
	ec_buf_release(&b);
}

static void test_numbers_and_times(void)
{
	struct ec_buf b = EC_BUF_INIT;

	ec_jsonw_i64(&b, INT64_MIN);
	ec_buf_addch(&b, ' ');
	ec_jsonw_u64(&b, UINT64_MAX);
	ec_buf_addch(&b, ' ');
	ec_jsonw_time(&b, 1763820000123);
	CHECK_STR(b.buf, "-9223372036854775808 18446744073709551615 \"2025-11-22T14:00:00.123Z\"");
	ec_buf_release(&b);
}

static void test_splice(void)
{
	struct ec_buf b = EC_BUF_INIT;

	ec_jsonw_splice(&b, "{\"a\":1}", 7, "\"b\":2", 5);
	CHECK_STR(b.buf, "{\"a\":1,\"b\":2}");
	ec_buf_reset(&b);
	ec_jsonw_splice(&b, "{ }", 3, "\"b\":2", 5);
	CHECK_STR(b.buf, "{ \"b\":2}");
	ec_buf_reset(&b);
	ec_jsonw_splice(&b, "{\"a\": {\"x\":1} }  ", 17, "\"b\":[]", 6);
	CHECK_STR(b.buf, "{\"a\": {\"x\":1} ,\"b\":[]}  ");
	ec_buf_release(&b);
}

static void test_utf8_validation(void)
{
	CHECK(ec_utf8_valid("plain", 5));
	CHECK(ec_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	CHECK(!ec_utf8_valid("\xc0\x80", 2));		/* overlong NUL */
	CHECK(!ec_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	CHECK(!ec_utf8_valid("\xf4\x90\x80\x80", 4));	/* above U+10FFFF */
	CHECK(!ec_utf8_valid("\xe2\x82", 2));		/* truncated */
	CHECK(!ec_utf8_valid("\x80", 1));		/* stray continuation */
}

static void test_base64(void)
{
	struct ec_buf b = EC_BUF_INIT;

	ec_base64_encode(&b, "", 0);
	ec_buf_addch(&b, '|');
	ec_base64_encode(&b, "f", 1);
	ec_buf_addch(&b, '|');
	ec_base64_encode(&b, "fo", 2);
	ec_buf_addch(&b, '|');
	ec_base64_encode(&b, "foobar", 6);
	CHECK_STR(b.buf, "|Zg==|Zm8=|Zm9vYmFy");
	ec_buf_release(&b);
}

int main(void)
{
	RUN(test_buf_grows_and_detaches);
	RUN(test_string_escaping);
	RUN(test_numbers_and_times);
	RUN(test_splice);
	RUN(test_utf8_validation);
	RUN(test_base64);
	return test_done();
}
