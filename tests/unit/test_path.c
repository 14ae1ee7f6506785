/* test_path.c: unit tests for field path parsing (lib/path.c). */
#include "test.h"
#include "path.h"

/* Parse TEXT and render it back as ".k[N]..." with keys in brackets, for compact checks. */
static const char *parsed(const char *text)
{
	static char out[300];
	struct ec_path path;
	char errstr[256];
	size_t i, n = 0;

	if (ec_path_parse(&path, text, errstr, sizeof(errstr)) < 0) {
		snprintf(out, sizeof(out), "error: %s", errstr);
		return out;
	}
	out[0] = '\0';
	for (i = 0; i < path.nseg; i++) {
		const struct ec_path_seg *seg = &path.seg[i];

		if (seg->kind == EC_SEG_INDEX)
			n += (size_t)snprintf(out + n, sizeof(out) - n, "[%zu]", seg->index);
		else
			n += (size_t)snprintf(out + n, sizeof(out) - n, "{%.*s}", (int)seg->keylen, seg->key);
	}
	if (path.nseg == 0)
		snprintf(out, sizeof(out), "(whole record)");
	ec_path_release(&path);
	return out;
}

static void test_accepts(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ ".", "(whole record)" },
		{ ".a", "{a}" },
		{ ".after.total_amount", "{after}{total_amount}" },
		{ ".items[0].sku", "{items}[0]{sku}" },
		{ ".items[12][3]", "{items}[12][3]" },
		{ ".[\"odd key\"]", "{odd key}" },
		{ "[\"odd key\"]", "{odd key}" },
		{ ".a[\"b c\"][2]", "{a}{b c}[2]" },
		{ ".a.[\"b\"]", "{a}{b}" },
		{ ".a.[0]", "{a}[0]" },
		{ ".$ref", "{$ref}" },
		{ "._ec", "{_ec}" },
		{ ".a-b_c9", "{a-b_c9}" },
		{ ".A1.z", "{A1}{z}" },
		{ ".[\"\"]", "{}" },
		{ ".[\"a.b\"]", "{a.b}" },
		{ ".[\"]\"]", "{]}" },
		{ ".[\"q\\\"q\"]", "{q\"q}" },
		{ ".[\"back\\\\slash\"]", "{back\\slash}" },
		{ ".[\"\\u00e9t\\u00E9\"]", "{\xc3\xa9t\xc3\xa9}" },
		{ ".[\"\\ud83d\\ude00\"]", "{\xf0\x9f\x98\x80}" },
		{ ".[\"\\ud800\"]", "{\xef\xbf\xbd}" },
		{ ".[\"caf\xc3\xa9\"]", "{caf\xc3\xa9}" },
	};
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(cases); i++)
		CHECK_STR(parsed(cases[i].text), cases[i].want);
}

static void test_rejects(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "", "error: path '': expected '.' at column 1" },
		{ "a", "error: path 'a': expected '.' or '[' at column 1" },
		{ ".a..b", "error: path '.a..b': expected a name at column 4" },
		{ ".a.", "error: path '.a.': expected a name at column 4" },
		{ "..", "error: path '..': expected a name at column 2" },
		{ ".1a", "error: path '.1a': expected a name at column 2" },
		{ ".-a", "error: path '.-a': expected a name at column 2" },
		{ ".a b", "error: path '.a b': expected '.' or '[' at column 3" },
		{ ".a[", "error: path '.a[': expected an index or a quoted key at column 4" },
		{ ".a[]", "error: path '.a[]': expected an index or a quoted key at column 4" },
		{ ".a[-1]", "error: path '.a[-1]': expected an index or a quoted key at column 4" },
		{ ".a[x]", "error: path '.a[x]': expected an index or a quoted key at column 4" },
		{ ".a[1", "error: path '.a[1': expected ']' at column 5" },
		{ ".a[1x]", "error: path '.a[1x]': expected ']' at column 5" },
		{ ".a[99999999999999999999999]", "error: path '.a[99999999999999999999999]': index too large at column 4" },
		{ ".[\"abc", "error: path '.[\"abc': unterminated quoted key at column 3" },
		{ ".[\"abc\\\"]", "error: path '.[\"abc\\\"]': unterminated quoted key at column 3" },
		{ ".[\"abc\"", "error: path '.[\"abc\"': expected ']' at column 8" },
		{ ".[\"a\\qb\"]", "error: path '.[\"a\\qb\"]': invalid escape in quoted key at column 3" },
		{ ".[\"\\u12\"]", "error: path '.[\"\\u12\"]': invalid escape in quoted key at column 3" },
		{ ".a]", "error: path '.a]': expected '.' or '[' at column 3" },
		{ " .a", "error: path ' .a': expected '.' or '[' at column 1" },
	};
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(cases); i++)
		CHECK_STR(parsed(cases[i].text), cases[i].want);
}

static void test_text_kept(void)
{
	struct ec_path path;
	char errstr[128];

	CHECK_INT(ec_path_parse(&path, ".items[0].sku", errstr, sizeof(errstr)), 0);
	CHECK_STR(path.text, ".items[0].sku");
	CHECK_INT(path.nseg, 3);
	CHECK_INT(path.seg[1].kind, EC_SEG_INDEX);
	CHECK_INT(path.seg[2].keylen, 3);
	ec_path_release(&path);
	CHECK(path.seg == NULL && path.text == NULL && path.nseg == 0);
}

static void test_escaped_nul_key(void)
{
	struct ec_path path;
	char errstr[128];

	CHECK_INT(ec_path_parse(&path, ".[\"a\\u0000b\"]", errstr, sizeof(errstr)), 0);
	CHECK_INT(path.nseg, 1);
	CHECK_INT(path.seg[0].keylen, 3);
	CHECK(!memcmp(path.seg[0].key, "a\0b", 4));
	ec_path_release(&path);
}

static void test_error_leaves_path_empty(void)
{
	struct ec_path path;
	char errstr[128];

	CHECK_INT(ec_path_parse(&path, ".a.b[", errstr, sizeof(errstr)), -1);
	CHECK(path.seg == NULL && path.nseg == 0 && path.text == NULL);
	ec_path_release(&path);
}

static void test_leaf(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ ".a", "a" },
		{ ".after.total_amount", "total_amount" },
		{ ".items[0].sku", "sku" },
		{ ".items[0]", "items" },
		{ ".[\"odd key\"]", "odd key" },
	};
	struct ec_path path;
	char errstr[128];
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(cases); i++) {
		CHECK_INT(ec_path_parse(&path, cases[i].text, errstr, sizeof(errstr)), 0);
		CHECK_STR(ec_path_leaf(&path), cases[i].want);
		ec_path_release(&path);
	}
	CHECK_INT(ec_path_parse(&path, ".", errstr, sizeof(errstr)), 0);
	CHECK(ec_path_leaf(&path) == NULL);
	ec_path_release(&path);
	CHECK_INT(ec_path_parse(&path, "[3]", errstr, sizeof(errstr)), 0);
	CHECK(ec_path_leaf(&path) == NULL);
	ec_path_release(&path);
}

int main(void)
{
	RUN(test_accepts);
	RUN(test_rejects);
	RUN(test_text_kept);
	RUN(test_escaped_nul_key);
	RUN(test_error_leaves_path_empty);
	RUN(test_leaf);
	return test_done();
}
