/* path.c: parsing field paths such as .after.total_amount, .items[0].sku and .["odd key"]. */
#include "path.h"
#include "json.h"

/* The parser's position in the text; errors name the 1-based column. */
struct path_parser {
	const char *text;
	const char *p;
	struct ec_path *path;
	char *errstr;
	size_t errstr_size;
};

static int EC_PRINTF(3, 4) path_error(struct path_parser *pp, const char *at, const char *fmt, ...)
{
	char what[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(pp->errstr, pp->errstr_size, "path '%s': %s at column %zu",
		 pp->text, what, (size_t)(at - pp->text) + 1);
	return -1;
}

static struct ec_path_seg *add_seg(struct ec_path *path, enum ec_path_seg_kind kind)
{
	struct ec_path_seg *seg;

	path->seg = xrealloc(path->seg, (path->nseg + 1) * sizeof(*path->seg));
	seg = &path->seg[path->nseg++];
	memset(seg, 0, sizeof(*seg));
	seg->kind = kind;
	return seg;
}

static int is_name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '$';
}

static int is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '-';
}

/* ".name": pp->p is on the first character of the name. */
static int parse_name(struct path_parser *pp)
{
	const char *start = pp->p;
	struct ec_path_seg *seg;

	if (!is_name_start(*pp->p))
		return path_error(pp, pp->p, "expected a name");
	while (is_name_char(*pp->p))
		pp->p++;
	seg = add_seg(pp->path, EC_SEG_KEY);
	seg->keylen = (size_t)(pp->p - start);
	seg->key = xstrndup(start, seg->keylen);
	return 0;
}

/* "[N]": pp->p is on the first digit. */
static int parse_index(struct path_parser *pp)
{
	const char *start = pp->p;
	size_t index = 0;

	while (*pp->p >= '0' && *pp->p <= '9') {
		unsigned digit = (unsigned)(*pp->p - '0');
		if (index > (SIZE_MAX - digit) / 10)
			return path_error(pp, start, "index too large");
		index = index * 10 + digit;
		pp->p++;
	}
	add_seg(pp->path, EC_SEG_INDEX)->index = index;
	return 0;
}

/* "[\"key\"]": pp->p is on the opening quote; the key uses JSON string escapes. */
static int parse_quoted_key(struct path_parser *pp)
{
	const char *open = pp->p;
	const char *q = open + 1;
	struct ec_jval raw = { EC_J_STRING, 0, q, 0 };
	struct ec_buf key = EC_BUF_INIT;
	struct ec_path_seg *seg;

	while (*q && *q != '"') {
		if (*q == '\\') {
			raw.escaped = 1;
			if (!q[1])
				break;
			q++;
		}
		q++;
	}
	if (*q != '"')
		return path_error(pp, open, "unterminated quoted key");
	raw.n = (size_t)(q - raw.p);
	if (ec_jval_str(&raw, &key) < 0) {
		ec_buf_release(&key);
		return path_error(pp, open, "invalid escape in quoted key");
	}
	seg = add_seg(pp->path, EC_SEG_KEY);
	seg->keylen = key.len;
	seg->key = ec_buf_detach(&key, NULL);
	pp->p = q + 1;
	return 0;
}

/* "[...]": pp->p is just after the '['. */
static int parse_bracket(struct path_parser *pp)
{
	int ret;

	if (*pp->p == '"')
		ret = parse_quoted_key(pp);
	else if (*pp->p >= '0' && *pp->p <= '9')
		ret = parse_index(pp);
	else
		return path_error(pp, pp->p, "expected an index or a quoted key");
	if (ret < 0)
		return ret;
	if (*pp->p != ']')
		return path_error(pp, pp->p, "expected ']'");
	pp->p++;
	return 0;
}

static int parse_segments(struct path_parser *pp)
{
	if (!strcmp(pp->text, "."))
		return 0;
	if (!*pp->p)
		return path_error(pp, pp->p, "expected '.'");
	while (*pp->p) {
		int ret;

		if (*pp->p == '.') {
			pp->p++;
			if (*pp->p == '[') {
				pp->p++;
				ret = parse_bracket(pp);
			} else {
				ret = parse_name(pp);
			}
		} else if (*pp->p == '[') {
			pp->p++;
			ret = parse_bracket(pp);
		} else {
			ret = path_error(pp, pp->p, "expected '.' or '['");
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

int ec_path_parse(struct ec_path *path, const char *text, char *errstr, size_t errstr_size)
{
	struct path_parser pp = { text, text, path, errstr, errstr_size };

	memset(path, 0, sizeof(*path));
	if (parse_segments(&pp) < 0) {
		ec_path_release(path);
		return -1;
	}
	path->text = xstrdup(text);
	return 0;
}

void ec_path_release(struct ec_path *path)
{
	size_t i;

	for (i = 0; i < path->nseg; i++)
		free(path->seg[i].key);
	free(path->seg);
	free(path->text);
	memset(path, 0, sizeof(*path));
}

const char *ec_path_leaf(const struct ec_path *path)
{
	size_t i;

	for (i = path->nseg; i > 0; i--)
		if (path->seg[i - 1].kind == EC_SEG_KEY)
			return path->seg[i - 1].key;
	return NULL;
}
