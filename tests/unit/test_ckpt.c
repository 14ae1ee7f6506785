/* test_ckpt.c: unit tests of atomic files, ack files, control records and snapshot pruning. */
#include "ec.h"
#include "ckpt.h"
#include "test.h"
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void test_atomic_write_replaces(void)
{
	char path[128], err[256];
	struct ec_buf b = EC_BUF_INIT;

	snprintf(path, sizeof(path), "%s/f", dir);
	CHECK_INT(ec_atomic_write(path, "one", 3, err, sizeof(err)), 0);
	CHECK_INT(ec_atomic_write(path, "two!", 4, err, sizeof(err)), 0);
	CHECK_INT(ec_read_file(path, &b, err, sizeof(err)), 0);
	CHECK_STR(b.buf, "two!");
	snprintf(path, sizeof(path), "%s/missing/f", dir);
	CHECK_INT(ec_atomic_write(path, "x", 1, err, sizeof(err)), -1);
	CHECK(strstr(err, "missing") != NULL);
	ec_buf_release(&b);
}

static void test_ack_roundtrip(void)
{
	char path[128], err[256];
	struct ec_ack ack = EC_ACK_INIT;

	snprintf(path, sizeof(path), "%s/ack", dir);
	CHECK_INT(ec_ack_read(path, &ack, err, sizeof(err)), 0);
	CHECK_INT(ack.id, 0);
	CHECK(ack.pos == NULL);
	CHECK_INT(ec_ack_write(path, 7, "{\"0\":12,\"1\":\"x\"}", err, sizeof(err)), 0);
	CHECK_INT(ec_ack_read(path, &ack, err, sizeof(err)), 0);
	CHECK_INT(ack.id, 7);
	CHECK_STR(ack.pos, "{\"0\":12,\"1\":\"x\"}");
	ec_ack_release(&ack);
	CHECK_INT(ec_atomic_write(path, "[1]", 3, err, sizeof(err)), 0);
	CHECK_INT(ec_ack_read(path, &ack, err, sizeof(err)), -1);
	CHECK(strstr(err, "not an ack file") != NULL);
}

static void test_control_records(void)
{
	struct ec_buf b = EC_BUF_INIT;

	ec_ctl_restore(&b, 3);
	ec_ctl_barrier(&b, 4, "120", 3);
	CHECK_STR(b.buf, "{\"_ec\":\"restore\",\"id\":3}\n{\"_ec\":\"barrier\",\"id\":4,\"pos\":120,\"acked\":3}\n");
	ec_buf_release(&b);
}

static void test_snapshot_prune(void)
{
	char err[256];
	uint64_t id;

	for (id = 1; id <= 5; id++) {
		char *p = ec_snapshot_path(dir, id);
		CHECK_INT(ec_atomic_write(p, "x", 1, err, sizeof(err)), 0);
		free(p);
	}
	CHECK_INT(ec_snapshot_prune(dir, 2, 4, err, sizeof(err)), 0);
	for (id = 1; id <= 5; id++) {
		char *p = ec_snapshot_path(dir, id);
		CHECK_INT(exists(p), id >= 2 && id <= 4);
		free(p);
	}
	/* Files that are not snapshots are left alone. */
	{
		char other[128];
		snprintf(other, sizeof(other), "%s/snapshot-x.ndjson", dir);
		CHECK_INT(ec_atomic_write(other, "x", 1, err, sizeof(err)), 0);
		CHECK_INT(ec_snapshot_prune(dir, 100, 200, err, sizeof(err)), 0);
		CHECK(exists(other));
	}
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ec-test-ckpt.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(test_atomic_write_replaces);
	RUN(test_ack_roundtrip);
	RUN(test_control_records);
	RUN(test_snapshot_prune);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd)) {}
	}
	return test_done();
}
