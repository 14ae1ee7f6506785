/* test_pgtype.c: PostgreSQL text values to typed JSON, type by type. */
#include "test.h"
#include "pgtype.h"
#include "timefmt.h"

static char out[4096];

static const char *conv(uint32_t oid, const char *text, const struct ec_pgtype_opts *o)
{
	struct ec_buf b = EC_BUF_INIT;
	struct ec_pgtype_opts dflt = { 0, -1 };

	ec_pgtype_write(&b, ec_pgtype_of(oid), text, strlen(text), o ? o : &dflt);
	snprintf(out, sizeof(out), "%s", b.buf ? b.buf : "");
	ec_buf_release(&b);
	return out;
}

static void test_scalars(void)
{
	CHECK_STR(conv(23, "-42", NULL), "-42");
	CHECK_STR(conv(20, "9223372036854775807", NULL), "9223372036854775807");
	CHECK_STR(conv(16, "t", NULL), "true");
	CHECK_STR(conv(16, "f", NULL), "false");
	CHECK_STR(conv(701, "1.5e-07", NULL), "1.5e-07");
	CHECK_STR(conv(701, "NaN", NULL), "\"NaN\"");
	CHECK_STR(conv(700, "-Infinity", NULL), "\"-Infinity\"");
	CHECK_STR(conv(25, "a \"q\"\n", NULL), "\"a \\\"q\\\"\\n\"");
	CHECK_STR(conv(2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", NULL), "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"");
	CHECK_STR(conv(1082, "2026-11-22", NULL), "\"2026-11-22\"");
}

static void test_numeric(void)
{
	struct ec_pgtype_opts num = { 1, -1 };

	CHECK_STR(conv(1700, "12345678901234567890.123456789", NULL), "\"12345678901234567890.123456789\"");
	CHECK_STR(conv(1700, "12.50", &num), "12.50");
	CHECK_STR(conv(1700, "NaN", &num), "\"NaN\"");
}

static void test_json_bytea(void)
{
	CHECK_STR(conv(114, "{ \"a\" : [1, 2],\n \"b\": \"x y\\\" z\" }", NULL), "{\"a\":[1,2],\"b\":\"x y\\\" z\"}");
	CHECK_STR(conv(3802, "{\"k\": null}", NULL), "{\"k\":null}");
	CHECK_STR(conv(17, "\\x", NULL), "\"\"");
	CHECK_STR(conv(17, "\\x00ff10", NULL), "\"AP8Q\"");
	CHECK_STR(conv(17, "\\xzz", NULL), "\"\\\\xzz\"");
}

static void test_timestamps(void)
{
	struct ec_pgtype_opts ms = { 0, EC_UNIT_MS }, us = { 0, EC_UNIT_US };
	int64_t t;

	CHECK_STR(conv(1184, "2026-11-22 13:59:31.004911+00", NULL), "\"2026-11-22T13:59:31.004911Z\"");
	CHECK_STR(conv(1184, "2026-11-22 13:59:31+05:30", NULL), "\"2026-11-22T13:59:31+05:30\"");
	CHECK_STR(conv(1184, "2026-11-22 13:59:31-07", NULL), "\"2026-11-22T13:59:31-07:00\"");
	CHECK_STR(conv(1114, "2026-11-22 13:59:31.5", NULL), "\"2026-11-22T13:59:31.5Z\"");
	CHECK_STR(conv(1184, "infinity", NULL), "\"infinity\"");
	CHECK_STR(conv(1184, "0044-03-15 12:00:00+00 BC", NULL), "\"0044-03-15 12:00:00+00 BC\"");
	CHECK_STR(conv(1184, "2026-11-22 13:59:31.004911+00", &ms), "1795355971004");
	CHECK_STR(conv(1184, "1969-12-31 23:59:59.9995+00", &ms), "-1");
	CHECK_STR(conv(1184, "2026-11-22 14:59:31.004911+01", &us), "1795355971004911");
	CHECK_INT(ec_pgtype_timestamp_us("2026-13-01 00:00:00", 19, &t), -1);
	CHECK(ec_pgtype_timestamp_us("2026-11-22 00:00:00", 19, &t) == 0 && t == 1795305600000000LL);
}

static void test_arrays(void)
{
	CHECK_STR(conv(1007, "{1,2,NULL,-4}", NULL), "[1,2,null,-4]");
	CHECK_STR(conv(1007, "{{1,2},{3,4}}", NULL), "[[1,2],[3,4]]");
	CHECK_STR(conv(1009, "{}", NULL), "[]");
	CHECK_STR(conv(1009, "{a,\"b c\",\"d\\\"e\",\"NULL\",NULL}", NULL), "[\"a\",\"b c\",\"d\\\"e\",\"NULL\",null]");
	CHECK_STR(conv(1231, "{1.10,2}", NULL), "[\"1.10\",\"2\"]");
	CHECK_STR(conv(1000, "{t,f}", NULL), "[true,false]");
	CHECK_STR(conv(1185, "{\"2026-11-22 13:59:31+00\"}", NULL), "[\"2026-11-22T13:59:31Z\"]");
	CHECK_STR(conv(3807, "{\"{\\\"a\\\": 1}\"}", NULL), "[{\"a\":1}]");
	CHECK_STR(conv(1007, "[0:1]={5,6}", NULL), "[5,6]");
	CHECK_STR(conv(1007, "{1,2", NULL), "\"{1,2\"");
}

int main(void)
{
	RUN(test_scalars);
	RUN(test_numeric);
	RUN(test_json_bytea);
	RUN(test_timestamps);
	RUN(test_arrays);
	return test_done();
}
