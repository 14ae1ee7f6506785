/* test_stage.c: unit tests of the stateful-stage role: full and delta snapshots, chains, restore, pruning. */
#include "ec.h"
#include "stage.h"
#include "ckpt.h"
#include "test.h"
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

/* A toy state: keys 'a'..'z' with an int each; snapshot lines "k=V", a delta's deletion "-k". */
struct kv {
	int val[26], present[26], dirty[26];
	size_t pad;		/* lines of padding a full snapshot carries (to make it large) */
	uint64_t size_hint;	/* what kv_full_size says */
	int loads, delta_loads;
};

static void kv_set(struct kv *kv, char k, int v)
{
	kv->val[k - 'a'] = v;
	kv->present[k - 'a'] = 1;
	kv->dirty[k - 'a'] = 1;
}

static void kv_del(struct kv *kv, char k)
{
	kv->present[k - 'a'] = 0;
	kv->dirty[k - 'a'] = 1;
}

static void kv_reset(void *ctx)
{
	struct kv *kv = ctx;

	memset(kv->val, 0, sizeof(kv->val));
	memset(kv->present, 0, sizeof(kv->present));
	memset(kv->dirty, 0, sizeof(kv->dirty));
}

static void kv_save(void *ctx, struct ec_buf *out)
{
	struct kv *kv = ctx;
	size_t i;

	for (i = 0; i < 26; i++) {
		if (kv->present[i])
			ec_buf_addf(out, "%c=%d\n", (int)('a' + i), kv->val[i]);
		kv->dirty[i] = 0;
	}
	for (i = 0; i < kv->pad; i++) {
		ec_buf_addf(out, "#%zu %s\n", i, "padding padding padding padding padding padding");
		ec_stage_spill(out);
	}
}

static void kv_save_changes(void *ctx, struct ec_buf *out)
{
	struct kv *kv = ctx;
	size_t i;

	for (i = 0; i < 26; i++) {
		if (!kv->dirty[i])
			continue;
		if (kv->present[i])
			ec_buf_addf(out, "%c=%d\n", (int)('a' + i), kv->val[i]);
		else
			ec_buf_addf(out, "-%c\n", (int)('a' + i));
		kv->dirty[i] = 0;
	}
}

static int kv_apply(struct kv *kv, const char *text, size_t n, char *errstr, size_t errstr_size)
{
	const char *p = text, *end = text + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl || (p[0] != '#' && (nl - p < 2 || ((p[0] < 'a' || p[0] > 'z') && p[0] != '-')))) {
			snprintf(errstr, errstr_size, "bad line");
			return -1;
		}
		if (p[0] == '-')
			kv->present[p[1] - 'a'] = 0;
		else if (p[0] != '#') {
			kv->present[p[0] - 'a'] = 1;
			kv->val[p[0] - 'a'] = atoi(p + 2);
		}
		p = nl + 1;
	}
	memset(kv->dirty, 0, sizeof(kv->dirty));
	return 0;
}

static int kv_load(void *ctx, const char *text, size_t n, char *errstr, size_t errstr_size)
{
	struct kv *kv = ctx;

	kv_reset(kv);
	kv->loads++;
	return kv_apply(kv, text, n, errstr, errstr_size);
}

static int kv_load_changes(void *ctx, const char *text, size_t n, char *errstr, size_t errstr_size)
{
	struct kv *kv = ctx;

	kv->delta_loads++;
	return kv_apply(kv, text, n, errstr, errstr_size);
}

static const struct ec_stage_ops kv_ops = {
	kv_reset, kv_save, kv_load, kv_save_changes, kv_load_changes, NULL, NULL
};

/* Hand the control record TEXT to ST. */
static void control(struct ec_stage *st, const char *text)
{
	struct ec_buf out = EC_BUF_INIT;
	struct ec_line line = { text, strlen(text), "test", 1 };

	ec_stage_control(st, &line, &out);
	CHECK(out.len == line.n + 1 && !memcmp(out.buf, text, line.n));
	ec_buf_release(&out);
}

static void barrier(struct ec_stage *st, uint64_t id, uint64_t acked)
{
	char text[128];

	snprintf(text, sizeof(text), "{\"_ec\":\"barrier\",\"id\":%" PRIu64 ",\"pos\":null,\"acked\":%" PRIu64 "}",
		 id, acked);
	control(st, text);
	/* The snapshot is on disk once the hold on stdout is over. */
	ec_out_settle();
}

static void restore(struct ec_stage *st, uint64_t id)
{
	char text[64];

	snprintf(text, sizeof(text), "{\"_ec\":\"restore\",\"id\":%" PRIu64 "}", id);
	control(st, text);
}

static char *sub_dir(const char *name)
{
	struct ec_buf b = EC_BUF_INIT;

	ec_buf_addf(&b, "%s/%s", dir, name);
	return ec_buf_detach(&b, NULL);
}

/* The first line of snapshot ID in D ("" when there is none). */
static const char *header(const char *d, uint64_t id)
{
	static char line[512];
	char *path = ec_snapshot_path(d, id);
	FILE *fp = fopen(path, "r");

	line[0] = 0;
	if (fp) {
		if (!fgets(line, sizeof(line), fp))
			line[0] = 0;
		fclose(fp);
	}
	free(path);
	line[strcspn(line, "\n")] = 0;
	return line;
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && !strcmp(s + n - m, tail);
}

static int has_snapshot(const char *d, uint64_t id)
{
	struct stat sb;
	char *path = ec_snapshot_path(d, id);
	int r = stat(path, &sb) == 0;

	free(path);
	return r;
}

static long snapshot_size(const char *d, uint64_t id)
{
	struct stat sb;
	char *path = ec_snapshot_path(d, id);
	long r = stat(path, &sb) == 0 ? (long)sb.st_size : -1;

	free(path);
	return r;
}

static void test_chain_restore(void)
{
	char *d = sub_dir("chain");
	struct kv a = { 0 }, b = { 0 };
	struct ec_stage st, st2;
	int i;

	ec_stage_init(&st, d, "opts", &kv_ops, &a);
	restore(&st, 0);
	/* Enough state that a delta of a line or two is cheaper than a full snapshot. */
	for (i = 0; i < 26; i++)
		kv_set(&a, (char)('a' + i), i);
	kv_set(&a, 'a', 1);
	barrier(&st, 1, 0);
	kv_set(&a, 'b', 3);
	kv_del(&a, 'a');
	barrier(&st, 2, 0);
	kv_set(&a, 'c', 4);
	barrier(&st, 3, 0);
	CHECK_STR(header(d, 1), "{\"ec_snapshot\":\"ec\",\"version\":2,\"config\":\"opts\",\"full\":1}");
	CHECK(ends_with(header(d, 2), ",\"full\":1,\"prev\":1}"));
	CHECK(ends_with(header(d, 3), ",\"full\":1,\"prev\":2}"));
	/* The deltas hold what changed, the deletion included, and nothing else. */
	CHECK_INT(snapshot_size(d, 2), (long)strlen(header(d, 2)) + 1 + 4 + 3);

	/* Another process restores 3: the full snapshot, then both deltas. */
	ec_stage_init(&st2, d, "opts", &kv_ops, &b);
	restore(&st2, 3);
	CHECK_INT(b.loads, 1);
	CHECK_INT(b.delta_loads, 2);
	CHECK(!b.present[0]);
	CHECK(b.present[1] && b.val[1] == 3);
	CHECK(b.present[2] && b.val[2] == 4);

	/* Restore 2 forgets 3; the next snapshot is a delta on 2. */
	memset(&b, 0, sizeof(b));
	restore(&st2, 2);
	CHECK(!has_snapshot(d, 3));
	CHECK(b.present[2] && b.val[2] == 2);
	kv_set(&b, 'z', 26);
	barrier(&st2, 3, 0);
	CHECK(ends_with(header(d, 3), ",\"full\":1,\"prev\":2}"));
	CHECK_INT(snapshot_size(d, 3), (long)strlen(header(d, 3)) + 1 + 5);
	free(d);
}

/* A full snapshot comes back once the deltas since the last one outweigh it; pruning keeps chains. */
static void test_full_again_and_prune(void)
{
	char *d = sub_dir("prune");
	struct kv a = { 0 }, b = { 0 };
	struct ec_stage st, st2;
	long full = 0, deltas = 0;
	uint64_t id, last_full = 0;
	int i;

	ec_stage_init(&st, d, "opts", &kv_ops, &a);
	restore(&st, 0);
	for (i = 0; i < 26; i++)
		kv_set(&a, (char)('a' + i), i);
	for (id = 1; id <= 12; id++) {
		kv_set(&a, (char)('a' + id), (int)(100 * id));
		barrier(&st, id, 0);
		if (!strstr(header(d, id), "\"prev\"")) {
			/* Full: the first one, or the deltas before it had grown past the last full one. */
			CHECK(id == 1 || deltas > full);
			full = snapshot_size(d, id);
			deltas = 0;
			last_full = id;
		} else {
			CHECK(deltas <= full);
			deltas += snapshot_size(d, id);
		}
	}
	CHECK(last_full > 1);
	CHECK(strstr(header(d, 12), "\"prev\":11}") != NULL);

	/* Acked 12 needs its chain from LAST_FULL on: the rest goes. */
	barrier(&st, 13, 12);
	for (id = 1; id <= 13; id++)
		CHECK_INT(has_snapshot(d, id), id >= last_full);
	ec_stage_init(&st2, d, "opts", &kv_ops, &b);
	restore(&st2, 12);
	for (i = 0; i < 26; i++)
		CHECK_INT(b.val[i], i >= 1 && i <= 12 ? 100 * i : i);
	free(d);
}

static uint64_t kv_full_size(void *ctx)
{
	return ((struct kv *)ctx)->size_hint;
}

/* With a size estimate, deltas go on past the full snapshot while the chain is at most twice the state. */
static void test_full_size_estimate(void)
{
	static const struct ec_stage_ops ops = {
		kv_reset, kv_save, kv_load, kv_save_changes, kv_load_changes, kv_full_size, NULL
	};
	char *d = sub_dir("estimate");
	struct kv a = { 0 };
	struct ec_stage st;
	long chain;
	uint64_t id;

	ec_stage_init(&st, d, "opts", &ops, &a);
	restore(&st, 0);
	kv_set(&a, 'a', 1);
	barrier(&st, 1, 0);
	chain = snapshot_size(d, 1);
	/* State that grows: the chain stays below twice what a full snapshot would be. */
	for (id = 2; id <= 12; id++) {
		kv_set(&a, (char)('a' + id), (int)id);
		a.size_hint = (uint64_t)chain;
		barrier(&st, id, 0);
		CHECK(strstr(header(d, id), ",\"full\":1,\"prev\":") != NULL);
		chain += snapshot_size(d, id);
	}
	CHECK(chain > 4 * snapshot_size(d, 1));
	/* Most of the chain superseded: full again. */
	a.size_hint = (uint64_t)chain / 3;
	kv_set(&a, 'z', 26);
	barrier(&st, 13, 0);
	CHECK(ends_with(header(d, 13), ",\"full\":13}"));
	free(d);
}

/* A large snapshot is written in pieces and reads back whole. */
static void test_spill(void)
{
	char *d = sub_dir("spill");
	struct kv a = { 0 }, b = { 0 };
	struct ec_stage st, st2;

	a.pad = 60000;		/* about 3.5 MB */
	ec_stage_init(&st, d, "opts", &kv_ops, &a);
	restore(&st, 0);
	kv_set(&a, 'q', 17);
	barrier(&st, 1, 0);
	CHECK(snapshot_size(d, 1) > 3 * (1 << 20));
	ec_stage_init(&st2, d, "opts", &kv_ops, &b);
	restore(&st2, 1);
	CHECK_INT(b.loads, 1);
	CHECK(b.present['q' - 'a'] && b.val['q' - 'a'] == 17);
	free(d);
}

/* A tool without save_changes keeps writing full snapshots. */
static void test_full_only(void)
{
	static const struct ec_stage_ops ops = { kv_reset, kv_save, kv_load, NULL, NULL, NULL, NULL };
	char *d = sub_dir("full");
	struct kv a = { 0 };
	struct ec_stage st;

	ec_stage_init(&st, d, "opts", &ops, &a);
	restore(&st, 0);
	kv_set(&a, 'a', 1);
	barrier(&st, 1, 0);
	barrier(&st, 2, 1);
	CHECK(ends_with(header(d, 2), ",\"full\":2}"));
	CHECK(has_snapshot(d, 1));
	barrier(&st, 3, 2);
	CHECK(!has_snapshot(d, 1));
	free(d);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ec-test-stage.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(test_chain_restore);
	RUN(test_full_again_and_prune);
	RUN(test_full_size_estimate);
	RUN(test_spill);
	RUN(test_full_only);
	{
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd)) {}
	}
	return test_done();
}
