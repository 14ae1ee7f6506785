/* test_record.c: unit tests of the line reader, the bad-input policy and record scanning. */
#include "ec.h"
#include "record.h"
#include "opt.h"
#include "log.h"
#include "test.h"
#include <unistd.h>

static char dir[64];

static char *write_temp(const char *name, const char *data, size_t n)
{
	struct ec_buf path = EC_BUF_INIT;
	FILE *f;

	ec_buf_addf(&path, "%s/%s", dir, name);
	f = fopen(path.buf, "w");
	fwrite(data, 1, n, f);
	fclose(f);
	return ec_buf_detach(&path, NULL);
}

static void test_lines_and_positions(void)
{
	static const char a[] = "{\"a\":1}\n\n  \n{\"a\":2}\r\n{\"a\":3}";
	static const char b[] = "{\"b\":1}\n";
	char *files[2];
	struct ec_errpolicy pol = EC_ERRPOLICY_INIT;
	struct ec_reader r;
	struct ec_line line;

	files[0] = write_temp("a", a, sizeof(a) - 1);
	files[1] = write_temp("b", b, sizeof(b) - 1);
	ec_reader_init(&r, files, 2, 0, &pol);
	CHECK_INT(ec_reader_next(&r, &line), 1);
	CHECK_INT(line.lineno, 1);
	CHECK(line.n == 7 && !memcmp(line.p, "{\"a\":1}", 7));
	CHECK_INT(ec_reader_next(&r, &line), 1);
	CHECK_INT(line.lineno, 4);	/* blank lines skipped but counted */
	CHECK(line.n == 7 && !memcmp(line.p, "{\"a\":2}", 7));	/* CR dropped */
	CHECK_INT(ec_reader_next(&r, &line), 1);
	CHECK_INT(line.lineno, 5);	/* last line without a newline */
	CHECK(line.n == 7 && !memcmp(line.p, "{\"a\":3}", 7));
	CHECK_INT(ec_reader_next(&r, &line), 1);
	CHECK_STR(line.file, files[1]);
	CHECK_INT(line.lineno, 1);
	CHECK_INT(ec_reader_next(&r, &line), 0);
	ec_reader_release(&r);
	free(files[0]);
	free(files[1]);
}

static void test_long_lines_skipped_by_policy(void)
{
	struct ec_buf data = EC_BUF_INIT;
	struct ec_errpolicy pol = EC_ERRPOLICY_INIT;
	struct ec_reader r;
	struct ec_line line;
	char *file;
	size_t i;

	ec_buf_addstr(&data, "{\"ok\":1}\n");
	ec_buf_addch(&data, '"');
	for (i = 0; i < 3000000; i++)
		ec_buf_addch(&data, 'x');
	ec_buf_addstr(&data, "\"\n{\"ok\":2}\n");
	file = write_temp("long", data.buf, data.len);
	pol.mode = EC_ERRORS_SKIP;
	ec_log_level = -1;	/* keep the test output clean */
	ec_reader_init(&r, &file, 1, 1000, &pol);
	CHECK_INT(ec_reader_next(&r, &line), 1);
	CHECK_INT(line.lineno, 1);
	CHECK_INT(ec_reader_next(&r, &line), 1);
	CHECK_INT(line.lineno, 3);
	CHECK(line.n == 8 && !memcmp(line.p, "{\"ok\":2}", 8));
	CHECK_INT(pol.rejected, 1);
	CHECK_INT(ec_reader_next(&r, &line), 0);
	ec_reader_release(&r);
	ec_buf_release(&data);
	free(file);
}

static void test_dead_letter_lines(void)
{
	struct ec_errpolicy pol = EC_ERRPOLICY_INIT;
	struct ec_line line = { "bad\xff", 4, "in.ndjson", 12 };
	struct ec_buf path = EC_BUF_INIT;
	char got[512] = "";
	FILE *f;

	ec_buf_addf(&path, "%s/dead", dir);
	pol.dead_letter_path = path.buf;
	ec_reject(&pol, &line, "column %d: %s", 1, "invalid JSON");
	ec_errpolicy_finish(&pol);
	f = fopen(path.buf, "r");
	CHECK(f && fgets(got, sizeof(got), f));
	CHECK_STR(got, "{\"file\":\"in.ndjson\",\"line\":12,\"reason\":\"column 1: invalid JSON\","
		  "\"raw\":\"bad\xef\xbf\xbd\",\"raw_base64\":\"YmFk/w==\"}\n");
	if (f)
		fclose(f);
	CHECK_INT(pol.rejected, 1);
	ec_buf_release(&path);
}

static void test_control_records_recognised(void)
{
	struct ec_pathset *ps = ec_record_pathset_new();
	struct ec_errpolicy pol = EC_ERRPOLICY_INIT;
	static const char d[] = "{\"_ecx\":1,\"a\":{\"_ec\":2}}";
	static const char b[] = "{\"_ec\":\"barrier\",\"id\":4,\"pos\":9,\"acked\":3}";
	struct ec_line data = { d, sizeof(d) - 1, "t", 1 };
	struct ec_line ctl = { b, sizeof(b) - 1, "t", 2 };
	struct ec_jval slots[1];
	struct ec_control c;

	CHECK_INT(ec_record_scan(ps, &data, slots, &pol), 1);
	CHECK_INT(ec_record_scan(ps, &ctl, slots, &pol), 2);
	CHECK_INT(ec_control_parse(&ctl, &c), 0);
	CHECK_INT(c.type, EC_CTL_BARRIER);
	CHECK_INT(c.id, 4);
	CHECK_INT(c.acked, 3);
	ec_pathset_free(ps);
}

static void test_sizes(void)
{
	size_t n;

	CHECK_INT(ec_size_parse("16M", &n), 0);
	CHECK_INT(n, 16u << 20);
	CHECK_INT(ec_size_parse("512k", &n), 0);
	CHECK_INT(n, 512u << 10);
	CHECK_INT(ec_size_parse("1GiB", &n), 0);
	CHECK_INT(n, 1u << 30);
	CHECK_INT(ec_size_parse("1000", &n), 0);
	CHECK_INT(n, 1000);
	CHECK_INT(ec_size_parse("-1", &n), -1);
	CHECK_INT(ec_size_parse("12Q", &n), -1);
	CHECK_INT(ec_size_parse("", &n), -1);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ec-test-record.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(test_lines_and_positions);
	RUN(test_long_lines_skipped_by_policy);
	RUN(test_dead_letter_lines);
	RUN(test_control_records_recognised);
	RUN(test_sizes);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd)) {}
	}
	return test_done();
}
