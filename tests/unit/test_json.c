/* test_json.c: unit tests for the validating scanner and pathsets (lib/json.c). */
#include "test.h"
#include "json.h"
#include "path.h"

#define MAX_PATHS 16

/* A pathset from a NULL-terminated list of path texts. */
static struct ec_pathset *pathset(const char *const *paths)
{
	struct ec_pathset *ps = ec_pathset_new();
	size_t i;

	for (i = 0; paths[i]; i++) {
		struct ec_path path;
		char errstr[256];

		if (ec_path_parse(&path, paths[i], errstr, sizeof(errstr)) < 0) {
			printf("# bad test path: %s\n", errstr);
			exit(1);
		}
		ec_pathset_add(ps, &path);
		ec_path_release(&path);
	}
	return ps;
}

/*
 * Scan LINE[0..len) with PATHS and describe the outcome: each slot as
 * "type:raw" separated by spaces, or "@offset: message".
 */
static const char *scan_n(const char *line, size_t len, const char *const *paths)
{
	static char out[4096];
	struct ec_pathset *ps = pathset(paths);
	struct ec_jval slots[MAX_PATHS];
	struct ec_jerr err;
	size_t i, n = 0;

	if (ec_pathset_size(ps) > MAX_PATHS) {
		printf("# too many test paths\n");
		exit(1);
	}
	if (ec_json_scan(ps, line, len, slots, &err) < 0) {
		snprintf(out, sizeof(out), "@%zu: %s", err.offset, err.msg);
	} else {
		out[0] = '\0';
		for (i = 0; i < ec_pathset_size(ps); i++) {
			size_t rawlen;
			const char *raw = ec_jval_raw(&slots[i], &rawlen);

			if (slots[i].type == EC_J_MISSING)
				n += (size_t)snprintf(out + n, sizeof(out) - n, "%smissing", i ? " " : "");
			else
				n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s:%.*s", i ? " " : "",
						      ec_jtype_name(slots[i].type), (int)rawlen, raw);
		}
	}
	ec_pathset_free(ps);
	return out;
}

static const char *scan(const char *line, const char *const *paths)
{
	return scan_n(line, strlen(line), paths);
}

#define PATHS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NO_PATHS ((const char *const[]){ NULL })

/* Lines with a NUL or exact bytes: LIT is a string literal. */
#define SCAN_LIT(lit, paths) scan_n(lit, sizeof(lit) - 1, paths)

static void test_rejects(void)
{
	static const struct { const char *line, *want; } cases[] = {
		{ "", "@0: unexpected end of input" },
		{ "  \t\r\n", "@5: unexpected end of input" },
		{ "[1]", "@0: expected object, got array" },
		{ " \"x\"", "@1: expected object, got string" },
		{ "12", "@0: expected object, got number" },
		{ "-1", "@0: expected object, got number" },
		{ "true", "@0: expected object, got boolean" },
		{ "false", "@0: expected object, got boolean" },
		{ "null", "@0: expected object, got null" },
		{ "nul", "@3: unexpected end of input" },
		{ "nulx", "@3: invalid JSON: unexpected 'x'" },
		{ "x", "@0: invalid JSON: unexpected 'x'" },
		{ "\xef\xbb\xbf{}", "@0: invalid JSON: unexpected byte 0xef" },
		{ "{", "@1: unexpected end of input" },
		{ "{\"a\"", "@4: unexpected end of input" },
		{ "{\"a\":", "@5: unexpected end of input" },
		{ "{\"a\": ", "@6: unexpected end of input" },
		{ "{\"a\":1", "@6: unexpected end of input" },
		{ "{\"a\":1,", "@7: unexpected end of input" },
		{ "{\"a\":1,}", "@7: invalid JSON: unexpected '}'" },
		{ "{,}", "@1: invalid JSON: unexpected ','" },
		{ "{\"a\" 1}", "@5: invalid JSON: unexpected '1'" },
		{ "{\"a\"::1}", "@5: invalid JSON: unexpected ':'" },
		{ "{a:1}", "@1: invalid JSON: unexpected 'a'" },
		{ "{'a':1}", "@1: invalid JSON: unexpected '''" },
		{ "{1:1}", "@1: invalid JSON: unexpected '1'" },
		{ "{\"a\":1 \"b\":2}", "@7: invalid JSON: unexpected '\"'" },
		{ "{\"a\":1}x", "@7: trailing characters after the object" },
		{ "{\"a\":1} {}", "@8: trailing characters after the object" },
		{ "{}}", "@2: trailing characters after the object" },
		{ "{\"a\":1}\f", "@7: trailing characters after the object" },
		{ "{\v\"a\":1}", "@1: invalid JSON: unexpected byte 0x0b" },
		{ "{\"a\":\f1}", "@5: invalid JSON: unexpected byte 0x0c" },
		{ "{\"a\":\"x", "@5: unterminated string" },
		{ "{\"a\":\"0123456789abcdefghij", "@5: unterminated string" },
		{ "{\"a\":\"x\\", "@5: unterminated string" },
		{ "{\"a\":\"\\u12", "@5: unterminated string" },
		{ "{\"ab", "@1: unterminated string" },
		{ "{\"a\":\"\x01\"}", "@6: control character in string" },
		{ "{\"a\":\"tab\there\"}", "@9: control character in string" },
		{ "{\"a\":\"line\nbreak\"}", "@10: control character in string" },
		{ "{\"a\":\"x\x1f\"}", "@7: control character in string" },
		{ "{\"a\":\"\\q\"}", "@6: invalid escape '\\q'" },
		{ "{\"a\":\"\\U0041\"}", "@6: invalid escape '\\U'" },
		{ "{\"a\":\"\\x41\"}", "@6: invalid escape '\\x'" },
		{ "{\"a\":\"\\'\"}", "@6: invalid escape '\\''" },
		{ "{\"a\":\"\\\x01\"}", "@6: invalid escape: '\\' before byte 0x01" },
		{ "{\"a\":\"\\u12G4\"}", "@6: invalid escape '\\u': expected 4 hex digits" },
		{ "{\"a\":\"\\u12\"}", "@6: invalid escape '\\u': expected 4 hex digits" },
		{ "{\"a\\q\":1}", "@3: invalid escape '\\q'" },
		{ "{\"a\":\"\x80\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xbf\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xc0\x80\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xc1\xbf\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xe0\x80\xaf\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xe0\x9f\xbf\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xed\xa0\x80\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xed\xbf\xbf\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xf0\x80\x80\x80\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xf0\x8f\xbf\xbf\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xf4\x90\x80\x80\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xf5\x80\x80\x80\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xf8\x88\x80\x80\x80\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xfe\xff\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xe2\x82\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xc3\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xc3x\"}", "@6: invalid UTF-8 in string" },
		{ "{\"a\":\"\xe2\x82", "@5: unterminated string" },
		{ "{\"a\":\"ok\xc3\xa9\xe2\x82\xac\xff\"}", "@13: invalid UTF-8 in string" },
		{ "{\"\xc3\":1}", "@2: invalid UTF-8 in string" },
		{ "{\"a\":\"0123456789abcdef\xc3\xa9\xc3\"}", "@24: invalid UTF-8 in string" },
		{ "{\"a\":01}", "@5: invalid number" },
		{ "{\"a\":00}", "@5: invalid number" },
		{ "{\"a\":-01}", "@5: invalid number" },
		{ "{\"a\":+1}", "@5: invalid number" },
		{ "{\"a\":.5}", "@5: invalid number" },
		{ "{\"a\":1.}", "@5: invalid number" },
		{ "{\"a\":1.e5}", "@5: invalid number" },
		{ "{\"a\":1e}", "@5: invalid number" },
		{ "{\"a\":1E+}", "@5: invalid number" },
		{ "{\"a\":1e+-1}", "@5: invalid number" },
		{ "{\"a\":-}", "@5: invalid number" },
		{ "{\"a\":-", "@5: invalid number" },
		{ "{\"a\":--1}", "@5: invalid number" },
		{ "{\"a\":-a}", "@5: invalid number" },
		{ "{\"a\":1.5.3}", "@5: invalid number" },
		{ "{\"a\":1e5e}", "@5: invalid number" },
		{ "{\"a\":1-2}", "@5: invalid number" },
		{ "{\"a\":0x1}", "@6: invalid JSON: unexpected 'x'" },
		{ "{\"a\":1x}", "@6: invalid JSON: unexpected 'x'" },
		{ "{\"a\":NaN}", "@5: invalid JSON: unexpected 'N'" },
		{ "{\"a\":tru}", "@8: invalid JSON: unexpected '}'" },
		{ "{\"a\":tru", "@8: unexpected end of input" },
		{ "{\"a\":True}", "@5: invalid JSON: unexpected 'T'" },
		{ "{\"a\":truex}", "@9: invalid JSON: unexpected 'x'" },
		{ "{\"a\":fals}", "@9: invalid JSON: unexpected '}'" },
		{ "{\"a\":nil}", "@6: invalid JSON: unexpected 'i'" },
		{ "{\"a\":[1,]}", "@8: invalid JSON: unexpected ']'" },
		{ "{\"a\":[,1]}", "@6: invalid JSON: unexpected ','" },
		{ "{\"a\":[1 2]}", "@8: invalid JSON: unexpected '2'" },
		{ "{\"a\":[}", "@6: invalid JSON: unexpected '}'" },
		{ "{\"a\":[1}", "@7: invalid JSON: unexpected '}'" },
		{ "{\"a\":{\"b\":1]}", "@11: invalid JSON: unexpected ']'" },
		{ "{\"a\":[1", "@7: unexpected end of input" },
		{ "{\"a\":[", "@6: unexpected end of input" },
		{ "{\"a\":1/*c*/}", "@6: invalid JSON: unexpected '/'" },
		{ "{\"a\":\xc3\xa9}", "@5: invalid JSON: unexpected byte 0xc3" },
	};
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(cases); i++) {
		const char *got = scan(cases[i].line, NO_PATHS);

		if (strcmp(got, cases[i].want))
			printf("# line %zu: %s\n", i, cases[i].line);
		CHECK_STR(got, cases[i].want);
	}
}

static void test_nul_bytes(void)
{
	CHECK_STR(SCAN_LIT("\0{}", NO_PATHS), "@0: NUL byte");
	CHECK_STR(SCAN_LIT("{\0}", NO_PATHS), "@1: NUL byte");
	CHECK_STR(SCAN_LIT("{}\0", NO_PATHS), "@2: NUL byte");
	CHECK_STR(SCAN_LIT("{} \0", NO_PATHS), "@3: NUL byte");
	CHECK_STR(SCAN_LIT("{\"a\0\":1}", NO_PATHS), "@3: NUL byte");
	CHECK_STR(SCAN_LIT("{\"a\":\"x\0\"}", NO_PATHS), "@7: NUL byte");
	CHECK_STR(SCAN_LIT("{\"a\":\"0123456789abcdefghij\0\"}", NO_PATHS), "@26: NUL byte");
	CHECK_STR(SCAN_LIT("{\"a\":1\0}", NO_PATHS), "@6: NUL byte");
	CHECK_STR(SCAN_LIT("{\"a\":\0}", NO_PATHS), "@5: NUL byte");
	CHECK_STR(SCAN_LIT("{\"a\":[1,\0]}", NO_PATHS), "@8: NUL byte");
	CHECK_STR(SCAN_LIT("{\"a\":\"\\\0\"}", NO_PATHS), "@6: invalid escape: '\\' before byte 0x00");
}

static void test_accepts(void)
{
	static const char *const lines[] = {
		"{}",
		" {} ",
		"\t\r\n{ }\r\n",
		"{\"a\":1}\n",
		"{ \"a\" : [ 1 , 2 , { } , [ ] ] , \"b\" : { \"c\" : null } }",
		"{\"a\":0,\"b\":-0,\"c\":0.5,\"d\":1e5,\"e\":1E+5,\"f\":1e-5,\"g\":-1.25e-10,\"h\":10,\"i\":0e0}",
		"{\"a\":123456789012345678901234567890.123456789e123456789}",
		"{\"a\":true,\"b\":false,\"c\":null}",
		"{\"\":\"\"}",
		"{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\uABCD\\uabcd\"}",
		"{\"a\":\"\\ud800\",\"b\":\"\\udc00\",\"c\":\"\\ud83d\\ude00\",\"d\":\"\\udbff\\u0041\"}",
		"{\"a\":\"\x7f\"}",
		"{\"a\":\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\"}",
		"{\"a\":\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\xf3\xbf\xbf\xbf\"}",
		"{\"caf\xc3\xa9\":\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe6\x96\x87\xe5\xad\x97\xe5\x88\x97x\"}",
		"{\"a\":\"a string that is longer than sixteen bytes, with \\\"escapes\\\" in it\"}",
		"{\"a\":{\"a\":{\"a\":{\"a\":[[[[{}]]]]}}}}",
		"{\"a\":1,\"a\":2}",
	};
	size_t i;

	for (i = 0; i < EC_ARRAY_SIZE(lines); i++) {
		const char *got = scan(lines[i], NO_PATHS);

		if (*got)
			printf("# line %zu: %s\n", i, lines[i]);
		CHECK_STR(got, "");
	}
}

static void test_values_of_every_type(void)
{
	const char *line = "{\"s\":\"x y\",\"n\":-1.5e+3,\"t\":true,\"f\":false,\"z\":null,"
			   "\"o\":{\"k\":[1, 2]},\"a\":[ {}, \"\" ],\"e\":\"\"}";

	CHECK_STR(scan(line, PATHS(".s", ".n", ".t", ".f", ".z", ".o", ".a", ".e", ".none")),
		  "string:\"x y\" number:-1.5e+3 boolean:true boolean:false null:null "
		  "object:{\"k\":[1, 2]} array:[ {}, \"\" ] string:\"\" missing");
}

static void test_spans(void)
{
	const char *line = " {\"a\" : \"xy\" , \"b\":12 , \"c\":[1] } ";
	struct ec_pathset *ps = pathset(PATHS(".a", ".b", ".c", "."));
	struct ec_jval v[4];
	struct ec_jerr err;
	const char *raw;
	size_t n;

	CHECK_INT(ec_json_scan(ps, line, strlen(line), v, &err), 0);
	CHECK_INT(v[0].type, EC_J_STRING);
	CHECK(v[0].p == line + 9 && v[0].n == 2 && !v[0].escaped);
	raw = ec_jval_raw(&v[0], &n);
	CHECK(raw == line + 8 && n == 4);
	CHECK_INT(v[1].type, EC_J_NUMBER);
	CHECK(v[1].p == line + 19 && v[1].n == 2);
	CHECK_INT(v[2].type, EC_J_ARRAY);
	CHECK(v[2].p == line + 28 && v[2].n == 3);
	CHECK_INT(v[3].type, EC_J_OBJECT);
	CHECK(v[3].p == line + 1 && v[3].n == strlen(line) - 2);
	ec_pathset_free(ps);
}

static void test_nested_paths(void)
{
	const char *line = "{\"after\":{\"id\":7,\"total_amount\":\"12.50\",\"deep\":{\"x\":{\"y\":[0,{\"z\":1}]}}},"
			   "\"source\":{\"table\":\"orders\"},\"op\":\"c\"}";

	CHECK_STR(scan(line, PATHS(".after.total_amount", ".source.table", ".after.deep.x.y[1].z",
				   ".after.deep.x.y[0]", ".after.id", ".op")),
		  "string:\"12.50\" string:\"orders\" number:1 number:0 number:7 string:\"c\"");
	CHECK_STR(scan(line, PATHS(".after", ".after.id")),
		  "object:{\"id\":7,\"total_amount\":\"12.50\",\"deep\":{\"x\":{\"y\":[0,{\"z\":1}]}}} number:7");
	CHECK_STR(scan(line, PATHS(".after.missing", ".after.deep.x.y[2]", ".nope.x")),
		  "missing missing missing");
}

static void test_array_indexes(void)
{
	const char *line = "{\"items\":[{\"sku\":\"A\",\"qty\":1},{\"sku\":\"B\",\"qty\":2},{\"qty\":3}],"
			   "\"m\":[[1,2],[3,[4,5]]]}";

	CHECK_STR(scan(line, PATHS(".items[0].sku", ".items[1].sku", ".items[2].sku", ".items[2].qty", ".items[3]")),
		  "string:\"A\" string:\"B\" missing number:3 missing");
	CHECK_STR(scan(line, PATHS(".m[1][1][0]", ".m[0]", ".m[1][1]")),
		  "number:4 array:[1,2] array:[4,5]");
	CHECK_STR(scan("{\"a\":[ 10 , 11 ,12 ]}", PATHS(".a[0]", ".a[1]", ".a[2]")),
		  "number:10 number:11 number:12");
	CHECK_STR(scan("{\"a\":[]}", PATHS(".a[0]")), "missing");
}

static void test_quoted_and_escaped_keys(void)
{
	CHECK_STR(scan("{\"odd key\":1,\"b c\":{\"d\":[5,6]}}", PATHS(".[\"odd key\"]", ".[\"b c\"].d[1]")),
		  "number:1 number:6");
	CHECK_STR(scan("{\"odd\\u0020key\":1}", PATHS(".[\"odd key\"]")), "number:1");
	CHECK_STR(scan("{\"caf\\u00e9\":1,\"caf\xc3\xa9x\":2}", PATHS(".[\"caf\xc3\xa9\"]", ".[\"caf\\u00e9x\"]")),
		  "number:1 number:2");
	CHECK_STR(scan("{\"\\ud83d\\ude00\":1}", PATHS(".[\"\xf0\x9f\x98\x80\"]")), "number:1");
	CHECK_STR(scan("{\"a\\/b\":1}", PATHS(".[\"a/b\"]")), "number:1");
	CHECK_STR(scan("{\"a\\\"b\":1}", PATHS(".[\"a\\\"b\"]")), "number:1");
	CHECK_STR(scan("{\"line\\nbreak\":1}", PATHS(".[\"line\\nbreak\"]")), "number:1");
	CHECK_STR(scan("{\"\\u0061\":{\"\\u0062\":2}}", PATHS(".a.b")), "number:2");
	CHECK_STR(scan("{\"a\\u0000b\":1}", PATHS(".[\"a\\u0000b\"]", ".a")), "number:1 missing");
	/* A lone surrogate decodes to U+FFFD: both paths are the same key, one slot. */
	CHECK_STR(scan("{\"\\ud800\":1}", PATHS(".[\"\\ud800\"]", ".[\"\xef\xbf\xbd\"]")), "number:1");
	/* The escaped form is longer than the key: not the same key. */
	CHECK_STR(scan("{\"ab\\u0063d\":1}", PATHS(".abc")), "missing");
	CHECK_STR(scan("{\"\":1}", PATHS(".[\"\"]")), "number:1");
	CHECK_STR(scan("{\"$ref\":1,\"a-b\":2}", PATHS(".$ref", ".a-b")), "number:1 number:2");
}

static void test_repeated_keys(void)
{
	CHECK_STR(scan("{\"a\":1,\"a\":2}", PATHS(".a")), "number:2");
	CHECK_STR(scan("{\"a\":1,\"b\":0,\"a\":\"x\"}", PATHS(".a", ".b")), "string:\"x\" number:0");
	/* The last occurrence wins for the paths below it too. */
	CHECK_STR(scan("{\"a\":{\"b\":1},\"a\":{\"c\":2}}", PATHS(".a.b", ".a.c", ".a")),
		  "missing number:2 object:{\"c\":2}");
	CHECK_STR(scan("{\"a\":{\"b\":1},\"a\":5}", PATHS(".a.b", ".a")), "missing number:5");
	CHECK_STR(scan("{\"a\":{\"b\":1,\"b\":3}}", PATHS(".a.b")), "number:3");
	CHECK_STR(scan("{\"i\":[{\"s\":1}],\"i\":[]}", PATHS(".i[0].s")), "missing");
	CHECK_STR(scan("{\"a\":{\"b\":{\"c\":1}},\"a\":{\"b\":{}}}", PATHS(".a.b.c", ".a.b")), "missing object:{}");
	CHECK_STR(scan("{\"a\\u0062\":1,\"ab\":2,\"a\\u0062\":3}", PATHS(".ab")), "number:3");
}

static void test_paths_into_non_objects(void)
{
	CHECK_STR(scan("{\"a\":5}", PATHS(".a.b")), "missing");
	CHECK_STR(scan("{\"a\":\"str\"}", PATHS(".a.b", ".a[0]")), "missing missing");
	CHECK_STR(scan("{\"a\":[1]}", PATHS(".a.b")), "missing");
	CHECK_STR(scan("{\"a\":{\"0\":1}}", PATHS(".a[0]")), "missing");
	CHECK_STR(scan("{\"a\":null}", PATHS(".a.b", ".a")), "missing null:null");
	CHECK_STR(scan("{\"a\":{\"b\":1}}", PATHS(".a.b.c")), "missing");
}

static void test_whole_record_and_slots(void)
{
	struct ec_pathset *ps = ec_pathset_new();
	struct ec_path path;
	char errstr[128];
	int slot_b, slot_b2, slot_root;

	CHECK_INT(ec_path_parse(&path, ".a.b", errstr, sizeof(errstr)), 0);
	slot_b = ec_pathset_add(ps, &path);
	ec_path_release(&path);
	CHECK_INT(ec_path_parse(&path, ".", errstr, sizeof(errstr)), 0);
	slot_root = ec_pathset_add(ps, &path);
	ec_path_release(&path);
	CHECK_INT(ec_path_parse(&path, ".[\"a\"][\"b\"]", errstr, sizeof(errstr)), 0);
	slot_b2 = ec_pathset_add(ps, &path);
	ec_path_release(&path);
	CHECK_INT(slot_b, 0);
	CHECK_INT(slot_root, 1);
	CHECK_INT(slot_b2, 0);
	CHECK_INT(ec_pathset_size(ps), 2);
	ec_pathset_free(ps);

	CHECK_STR(scan("  {\"a\" : 1}  ", PATHS(".")), "object:{\"a\" : 1}");
	CHECK_STR(scan("{\"_ec\":\"barrier\",\"id\":3}", PATHS("._ec", ".id")), "string:\"barrier\" number:3");
}

static void test_slots_reset_between_lines(void)
{
	struct ec_pathset *ps = pathset(PATHS(".a", ".b"));
	struct ec_jval v[2];
	struct ec_jerr err;

	CHECK_INT(ec_json_scan(ps, "{\"a\":1,\"b\":2}", 13, v, &err), 0);
	CHECK_INT(v[0].type, EC_J_NUMBER);
	CHECK_INT(ec_json_scan(ps, "{\"b\":3}", 7, v, &err), 0);
	CHECK_INT(v[0].type, EC_J_MISSING);
	CHECK_INT(v[1].type, EC_J_NUMBER);
	ec_pathset_free(ps);
}

static void test_without_pathset(void)
{
	struct ec_jerr err;

	CHECK_INT(ec_json_scan(NULL, "{\"a\":[1,2]}", 11, NULL, &err), 0);
	CHECK_INT(ec_json_scan(NULL, "{\"a\":[1,2]", 10, NULL, &err), -1);
	CHECK_STR(err.msg, "unexpected end of input");
}

/* Nest COUNT arrays inside {"a": ... }. */
static const char *nested(size_t count, char open, char close)
{
	static struct ec_buf b = EC_BUF_INIT;
	size_t i;

	ec_buf_reset(&b);
	ec_buf_addstr(&b, "{\"a\":");
	for (i = 0; i < count; i++) {
		ec_buf_addch(&b, open);
		if (open == '{' && i + 1 < count)
			ec_buf_addstr(&b, "\"k\":");
	}
	for (i = 0; i < count; i++)
		ec_buf_addch(&b, close);
	ec_buf_addch(&b, '}');
	return b.buf;
}

static void test_depth_limit(void)
{
	CHECK_STR(scan(nested(1023, '[', ']'), NO_PATHS), "");
	CHECK_STR(scan(nested(1024, '[', ']'), NO_PATHS), "@1028: nesting deeper than 1024");
	CHECK_STR(scan(nested(1023, '{', '}'), NO_PATHS), "");
	CHECK_STR(scan(nested(100000, '[', ']'), NO_PATHS), "@1028: nesting deeper than 1024");
}

/* Strings ending at every distance from the line's end, short and long lines. */
static void test_string_positions(void)
{
	struct ec_buf b = EC_BUF_INIT;
	size_t len, pad;

	for (len = 0; len < 40; len++) {
		for (pad = 0; pad < 20; pad++) {
			const char *got;

			ec_buf_reset(&b);
			ec_buf_addstr(&b, "{\"k\":\"");
			while (b.len < 6 + len)
				ec_buf_addch(&b, (char)('a' + b.len % 26));
			ec_buf_addstr(&b, "\"}");
			while (b.len < 8 + len + pad)
				ec_buf_addch(&b, ' ');
			got = scan_n(b.buf, b.len, PATHS(".k"));
			CHECK(!strncmp(got, "string:\"", 8) && strlen(got) == 7 + 2 + len);
			/* The same line cut inside the string. */
			got = scan_n(b.buf, 6 + len, PATHS(".k"));
			CHECK_STR(got, "@5: unterminated string");
			/* A control byte as the string's last byte. */
			if (len) {
				char want[64];

				b.buf[5 + len] = '\x01';
				snprintf(want, sizeof(want), "@%zu: control character in string", 5 + len);
				CHECK_STR(scan_n(b.buf, b.len, PATHS(".k")), want);
			}
		}
	}
	ec_buf_release(&b);
}

static void test_jval_str(void)
{
	struct ec_buf out = EC_BUF_INIT;
	struct ec_pathset *ps = pathset(PATHS(".s", ".n", ".plain"));
	const char *line = "{\"s\":\"a\\nb\\u00e9\\ud83d\\ude00\\ud800x\\udc00\\\"\\\\\\/\\t\\u0041\",\"n\":12,\"plain\":\"pl\xc3\xa9\"}";
	struct ec_jval v[3];
	struct ec_jerr err;
	struct ec_jval bad = { EC_J_STRING, 1, "a\\qb", 4 };
	struct ec_jval cut = { EC_J_STRING, 1, "a\\u00", 5 };
	struct ec_jval missing = { EC_J_MISSING, 0, NULL, 0 };

	CHECK_INT(ec_json_scan(ps, line, strlen(line), v, &err), 0);
	CHECK(v[0].escaped);
	CHECK_INT(ec_jval_str(&v[0], &out), 0);
	CHECK_STR(out.buf, "a\nb\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx\xef\xbf\xbd\"\\/\tA");
	ec_buf_reset(&out);
	CHECK_INT(ec_jval_str(&v[1], &out), 0);
	CHECK_STR(out.buf, "12");
	ec_buf_reset(&out);
	CHECK(!v[2].escaped);
	CHECK_INT(ec_jval_str(&v[2], &out), 0);
	CHECK_STR(out.buf, "pl\xc3\xa9");
	ec_buf_reset(&out);
	CHECK_INT(ec_jval_str(&bad, &out), -1);
	ec_buf_reset(&out);
	CHECK_INT(ec_jval_str(&cut, &out), -1);
	ec_buf_release(&out);
	CHECK_INT(ec_jval_str(&missing, &out), 0);
	CHECK_STR(out.buf, "");
	ec_buf_release(&out);
	ec_pathset_free(ps);
}

static void test_type_names(void)
{
	CHECK_STR(ec_jtype_name(EC_J_MISSING), "missing");
	CHECK_STR(ec_jtype_name(EC_J_NULL), "null");
	CHECK_STR(ec_jtype_name(EC_J_FALSE), "boolean");
	CHECK_STR(ec_jtype_name(EC_J_TRUE), "boolean");
	CHECK_STR(ec_jtype_name(EC_J_NUMBER), "number");
	CHECK_STR(ec_jtype_name(EC_J_STRING), "string");
	CHECK_STR(ec_jtype_name(EC_J_OBJECT), "object");
	CHECK_STR(ec_jtype_name(EC_J_ARRAY), "array");
}

int main(void)
{
	RUN(test_rejects);
	RUN(test_nul_bytes);
	RUN(test_accepts);
	RUN(test_values_of_every_type);
	RUN(test_spans);
	RUN(test_nested_paths);
	RUN(test_array_indexes);
	RUN(test_quoted_and_escaped_keys);
	RUN(test_repeated_keys);
	RUN(test_paths_into_non_objects);
	RUN(test_whole_record_and_slots);
	RUN(test_slots_reset_between_lines);
	RUN(test_without_pathset);
	RUN(test_depth_limit);
	RUN(test_string_positions);
	RUN(test_jval_str);
	RUN(test_type_names);
	return test_done();
}
