/*
 * json_scan.c: a libFuzzer target that checks ec_json_scan against yajl on
 * arbitrary bytes and aborts on any difference (the expected verdict is
 * explained in tests/unit/json_oracle.h).
 * make fuzz && .build/fuzz/json_scan -max_total_time=60 tests/fuzz/corpus/json_scan
 */
#include "ec.h"
#include "json.h"
#include "path.h"
#include "../unit/json_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Nested paths and indexes, to exercise the trie beyond the oracle's top-level keys. */
static const char *const nested_paths[] = {
	".", ".a.b", ".a[0]", ".a[1].b", ".b[2][0]", ".[\"odd key\"].a", ".a.b.c",
};
#define NNESTED EC_ARRAY_SIZE(nested_paths)

static struct ec_pathset *nested_pathset(void)
{
	struct ec_pathset *ps = ec_pathset_new();
	size_t i;

	for (i = 0; i < NNESTED; i++) {
		struct ec_path path;
		char errstr[128];

		if (ec_path_parse(&path, nested_paths[i], errstr, sizeof(errstr)) < 0)
			abort();
		ec_pathset_add(ps, &path);
		ec_path_release(&path);
	}
	return ps;
}

static void EC_NORETURN
mismatch(const char *why, const struct oracle *o, int ok, const struct ec_jerr *err)
{
	fprintf(stderr, "json_scan: %s: ec %s%s, yajl %s, expected %s\n", why,
		ok ? "accepts" : "rejects: ", ok ? "" : err->msg,
		o->yajl_ok ? "accepts" : "rejects", o->expect_ok ? "accept" : "reject");
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ec_pathset *keys_ps, *nested_ps;
	struct ec_jval slots[ORACLE_NKEYS], nested[NNESTED];
	const char *line = (const char *)data;
	struct ec_jerr err = { 0, "" };
	const char *why = NULL;
	struct oracle o;
	size_t i;
	int ok;

	if (!keys_ps) {
		keys_ps = oracle_pathset();
		nested_ps = nested_pathset();
	}
	memset(&o, 0, sizeof(o));
	ok = ec_json_scan(keys_ps, line, size, slots, &err) == 0;
	oracle_judge(&o, data, size);
	if (ok != o.expect_ok)
		why = "verdicts differ";
	else if (ok)
		why = oracle_compare(&o, slots, line, size);
	else if (err.offset > size || !err.msg[0])
		why = "bad error report";
	if (why)
		mismatch(why, &o, ok, &err);

	/* The same verdict whatever the paths; every span inside the line. */
	if ((ec_json_scan(nested_ps, line, size, nested, &err) == 0) != ok)
		mismatch("verdict depends on the paths", &o, ok, &err);
	for (i = 0; ok && i < NNESTED; i++) {
		size_t n;
		const char *raw = ec_jval_raw(&nested[i], &n);

		if (nested[i].type != EC_J_MISSING && (raw < line || raw + n > line + size))
			mismatch("span outside the line", &o, ok, &err);
	}
	oracle_release(&o);
	return 0;
}
