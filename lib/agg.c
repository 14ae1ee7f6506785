/* agg.c: aggregate functions (count, sum, avg, min, max, count_distinct, first, last) over exact decimals. */
#include "ec.h"
#include "agg.h"
#include "jsonw.h"
#include <inttypes.h>
#include <yajl/yajl_tree.h>

/* Averages carry this many digits more than the values they average. */
#define AVG_EXTRA_SCALE 6

static const struct {
	const char *name;
	enum ec_agg_fn fn;
	int needs_path;		/* 1 required, 0 optional (count), */
} agg_fns[] = {
	{ "count", EC_AGG_COUNT, 0 },
	{ "sum", EC_AGG_SUM, 1 },
	{ "avg", EC_AGG_AVG, 1 },
	{ "min", EC_AGG_MIN, 1 },
	{ "max", EC_AGG_MAX, 1 },
	{ "count_distinct", EC_AGG_COUNT_DISTINCT, 1 },
	{ "first", EC_AGG_FIRST, 1 },
	{ "last", EC_AGG_LAST, 1 },
};

static const char *trim(const char *s, const char *end, const char **out_end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*out_end = end;
	return s;
}

int ec_agg_spec_parse(struct ec_agg_spec *spec, const char *text, char *errstr, size_t errstr_size)
{
	const char *eq = strchr(text, '='), *open = strchr(text, '('), *close = strrchr(text, ')');
	const char *fn_start = text, *fn_end, *arg, *arg_end, *name_end;
	size_t i;

	memset(spec, 0, sizeof(*spec));
	spec->slot = -1;
	if (eq && open && eq > open)
		eq = NULL;	/* '=' inside the path, not a name */
	if (!open || !close || close < open || close[1]) {
		snprintf(errstr, errstr_size, "aggregate '%s': expected NAME=FUNCTION(PATH), e.g. gmv=sum(.amount)", text);
		return -1;
	}
	if (eq)
		fn_start = eq + 1;
	fn_start = trim(fn_start, open, &fn_end);
	for (i = 0; i < EC_ARRAY_SIZE(agg_fns); i++)
		if (strlen(agg_fns[i].name) == (size_t)(fn_end - fn_start) &&
		    !memcmp(agg_fns[i].name, fn_start, (size_t)(fn_end - fn_start)))
			break;
	if (i == EC_ARRAY_SIZE(agg_fns)) {
		snprintf(errstr, errstr_size, "aggregate '%s': unknown function '%.*s' (count, sum, avg, min, max, count_distinct, first, last)",
			 text, (int)(fn_end - fn_start), fn_start);
		return -1;
	}
	spec->fn = agg_fns[i].fn;
	arg = trim(open + 1, close, &arg_end);
	if (arg == arg_end && agg_fns[i].needs_path) {
		snprintf(errstr, errstr_size, "aggregate '%s': %s needs a field path", text, agg_fns[i].name);
		return -1;
	}
	if (arg < arg_end) {
		spec->path = xstrndup(arg, (size_t)(arg_end - arg));
		if (spec->fn == EC_AGG_COUNT)
			spec->fn = EC_AGG_COUNT_PATH;
	}
	if (eq) {
		const char *name = trim(text, eq, &name_end);
		if (name == name_end) {
			snprintf(errstr, errstr_size, "aggregate '%s': empty name before '='", text);
			ec_agg_spec_release(spec);
			return -1;
		}
		spec->name = xstrndup(name, (size_t)(name_end - name));
	} else {
		spec->name = xstrdup(agg_fns[i].name);
	}
	return 0;
}

void ec_agg_spec_release(struct ec_agg_spec *spec)
{
	free(spec->name);
	free(spec->path);
	spec->name = spec->path = NULL;
}

/* ---- count_distinct: value -> net weight; the count is the values with weight > 0 ---- */

struct distinct_entry {
	uint64_t hash;
	char *key;		/* NULL: empty slot */
	uint32_t len;
	int64_t weight;
};

struct ec_distinct {
	struct distinct_entry *tab;
	size_t cap, used;
	int64_t live;
};

static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	while (n--)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static struct distinct_entry *distinct_slot(struct ec_distinct *s, const char *key, size_t len, uint64_t h)
{
	size_t i = h & (s->cap - 1);

	while (s->tab[i].key && (s->tab[i].hash != h || s->tab[i].len != len ||
				 memcmp(s->tab[i].key, key, len)))
		i = (i + 1) & (s->cap - 1);
	return &s->tab[i];
}

static void distinct_grow(struct ec_distinct *s)
{
	struct distinct_entry *old = s->tab;
	size_t oldcap = s->cap, i;

	s->cap = oldcap ? oldcap * 2 : 8;
	s->tab = xcalloc(s->cap, sizeof(*s->tab));
	for (i = 0; i < oldcap; i++)
		if (old[i].key)
			*distinct_slot(s, old[i].key, old[i].len, old[i].hash) = old[i];
	free(old);
}

static void distinct_add(struct ec_distinct **sp, const char *key, size_t len, int64_t w)
{
	struct ec_distinct *s = *sp;
	struct distinct_entry *e;
	uint64_t h = hash_bytes(key, len);
	int64_t before;

	if (!s)
		s = *sp = xcalloc(1, sizeof(*s));
	if ((s->used + 1) * 4 > s->cap * 3)
		distinct_grow(s);
	e = distinct_slot(s, key, len, h);
	if (!e->key) {
		e->key = xstrndup(key, len);
		e->len = (uint32_t)len;
		e->hash = h;
		s->used++;
	}
	before = e->weight;
	e->weight += w;
	s->live += (e->weight > 0) - (before > 0);
}

static void distinct_free(struct ec_distinct *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->cap; i++)
		free(s->tab[i].key);
	free(s->tab);
	free(s);
}

/* ---- values ---- */

/* The canonical JSON text of a value: strings with escapes are decoded and re-encoded. */
static void value_text(const struct ec_jval *v, struct ec_buf *out)
{
	size_t n;
	const char *raw;

	if (v->type == EC_J_STRING && v->escaped) {
		struct ec_buf s = EC_BUF_INIT;
		ec_jval_str(v, &s);
		ec_jsonw_str(out, s.buf ? s.buf : "", s.len);
		ec_buf_release(&s);
		return;
	}
	raw = ec_jval_raw(v, &n);
	ec_buf_add(out, raw, n);
}

/* A number, or a string holding a decimal number ("123.45" as PostgreSQL sends numeric). */
static int value_decimal(const struct ec_jval *v, struct ec_dec *d, char *errstr, size_t errstr_size)
{
	if (v->type == EC_J_NUMBER || (v->type == EC_J_STRING && !v->escaped))
		return ec_dec_parse(d, v->p, v->n, errstr, errstr_size);
	snprintf(errstr, errstr_size, "expected a number, got %s", ec_jtype_name(v->type));
	return -1;
}

static int is_null(const struct ec_jval *v)
{
	return v->type == EC_J_MISSING || v->type == EC_J_NULL;
}

static void keep_raw(struct ec_agg_cell *cell, const char *p, size_t n)
{
	free(cell->raw);
	cell->raw = xstrndup(p, n);
	cell->rawlen = (uint32_t)n;
}

/* min/max keep a number, or (has == 2) the JSON text of a non-numeric value; numbers sort first. */
static void consider_number(struct ec_agg_cell *cell, struct ec_dec d, int want_max)
{
	int better;

	if (cell->has == 2)
		better = !want_max;
	else if (cell->has == 1)
		better = want_max ? ec_dec_cmp(d, cell->v) > 0 : ec_dec_cmp(d, cell->v) < 0;
	else
		better = 1;
	if (!better)
		return;
	free(cell->raw);
	cell->raw = NULL;
	cell->rawlen = 0;
	cell->v = d;
	cell->has = 1;
}

static int cmp_text(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

static void consider_text(struct ec_agg_cell *cell, const char *text, size_t n, int want_max)
{
	int better;

	if (cell->has == 2)
		better = want_max ? cmp_text(text, n, cell->raw, cell->rawlen) > 0 :
				    cmp_text(text, n, cell->raw, cell->rawlen) < 0;
	else if (cell->has == 1)
		better = want_max;
	else
		better = 1;
	if (!better)
		return;
	keep_raw(cell, text, n);
	cell->has = 2;
}

static void update_extreme(struct ec_agg_cell *cell, const struct ec_jval *val, int want_max)
{
	struct ec_dec d;
	char err[8];

	if (value_decimal(val, &d, err, sizeof(err)) == 0) {
		consider_number(cell, d, want_max);
	} else {
		struct ec_buf text = EC_BUF_INIT;
		value_text(val, &text);
		consider_text(cell, text.buf, text.len, want_max);
		ec_buf_release(&text);
	}
}

int ec_agg_prepare(const struct ec_agg_spec *spec, const struct ec_jval *val,
		   struct ec_agg_input *in, char *errstr, size_t errstr_size)
{
	in->val = val;
	in->present = !is_null(val);
	if (in->present && (spec->fn == EC_AGG_SUM || spec->fn == EC_AGG_AVG)) {
		char why[128];
		if (value_decimal(val, &in->d, why, sizeof(why)) < 0) {
			snprintf(errstr, errstr_size, "%s: %s", spec->path, why);
			return -1;
		}
	}
	return 0;
}

int ec_agg_update(const struct ec_agg_spec *spec, struct ec_agg_cell *cell,
		  const struct ec_agg_input *in, int64_t t, int64_t w,
		  char *errstr, size_t errstr_size)
{
	const struct ec_jval *val = in->val;
	struct ec_dec d;

	switch (spec->fn) {
	case EC_AGG_COUNT:
		cell->n += w;
		return 0;
	case EC_AGG_COUNT_PATH:
		if (in->present)
			cell->n += w;
		return 0;
	case EC_AGG_SUM:
	case EC_AGG_AVG:
		if (!in->present)
			return 0;
		d = in->d;
		if (w != 1 && ec_dec_mul_int(&d, d, w) < 0)
			goto overflow;
		if (ec_dec_add(&cell->v, cell->v, d) < 0)
			goto overflow;
		cell->n += w;
		return 0;
	case EC_AGG_MIN:
	case EC_AGG_MAX:
		/* A retraction cannot un-see an extreme: min and max take additions only. */
		if (!in->present || w <= 0)
			return 0;
		update_extreme(cell, val, spec->fn == EC_AGG_MAX);
		return 0;
	case EC_AGG_COUNT_DISTINCT:
		if (in->present) {
			struct ec_buf text = EC_BUF_INIT;
			value_text(val, &text);
			distinct_add(&cell->set, text.buf, text.len, w);
			ec_buf_release(&text);
		}
		return 0;
	case EC_AGG_FIRST:
	case EC_AGG_LAST:
		if (val->type == EC_J_MISSING || w <= 0)
			return 0;
		if (!cell->has || (spec->fn == EC_AGG_FIRST ? t < cell->t : t >= cell->t)) {
			struct ec_buf text = EC_BUF_INIT;
			value_text(val, &text);
			keep_raw(cell, text.buf, text.len);
			ec_buf_release(&text);
			cell->t = t;
			cell->has = 1;
		}
		return 0;
	}
	return 0;
overflow:
	snprintf(errstr, errstr_size, "%s of %s overflows %d digits", spec->name,
		 spec->path ? spec->path : "records", EC_DEC_MAX_DIGITS);
	return -1;
}

int ec_agg_check(const struct ec_agg_spec *spec, const struct ec_agg_cell *cell,
		 const struct ec_agg_input *in, int64_t w, char *errstr, size_t errstr_size)
{
	struct ec_dec d = in->d, sum;

	if ((spec->fn != EC_AGG_SUM && spec->fn != EC_AGG_AVG) || !in->present)
		return 0;
	if ((w == 1 || ec_dec_mul_int(&d, d, w) == 0) &&
	    ec_dec_add(&sum, cell ? cell->v : EC_DEC_ZERO, d) == 0)
		return 0;
	snprintf(errstr, errstr_size, "%s of %s overflows %d digits", spec->name, spec->path, EC_DEC_MAX_DIGITS);
	return -1;
}

int ec_agg_merge(const struct ec_agg_spec *spec, struct ec_agg_cell *dst,
		 const struct ec_agg_cell *src, char *errstr, size_t errstr_size)
{
	size_t i;

	switch (spec->fn) {
	case EC_AGG_COUNT:
	case EC_AGG_COUNT_PATH:
		dst->n += src->n;
		return 0;
	case EC_AGG_SUM:
	case EC_AGG_AVG:
		if (ec_dec_add(&dst->v, dst->v, src->v) < 0) {
			snprintf(errstr, errstr_size, "%s overflows %d digits", spec->name, EC_DEC_MAX_DIGITS);
			return -1;
		}
		dst->n += src->n;
		return 0;
	case EC_AGG_MIN:
	case EC_AGG_MAX:
		if (src->has == 1)
			consider_number(dst, src->v, spec->fn == EC_AGG_MAX);
		else if (src->has == 2)
			consider_text(dst, src->raw, src->rawlen, spec->fn == EC_AGG_MAX);
		return 0;
	case EC_AGG_COUNT_DISTINCT:
		if (src->set)
			for (i = 0; i < src->set->cap; i++)
				if (src->set->tab[i].key)
					distinct_add(&dst->set, src->set->tab[i].key, src->set->tab[i].len,
						     src->set->tab[i].weight);
		return 0;
	case EC_AGG_FIRST:
	case EC_AGG_LAST:
		if (src->has && (!dst->has || (spec->fn == EC_AGG_FIRST ? src->t < dst->t : src->t >= dst->t))) {
			keep_raw(dst, src->raw, src->rawlen);
			dst->t = src->t;
			dst->has = 1;
		}
		return 0;
	}
	return 0;
}

void ec_agg_format(const struct ec_agg_spec *spec, const struct ec_agg_cell *cell, struct ec_buf *out)
{
	char tmp[EC_DEC_BUFSZ];
	struct ec_dec avg;

	switch (spec->fn) {
	case EC_AGG_COUNT:
	case EC_AGG_COUNT_PATH:
		ec_jsonw_i64(out, cell->n);
		return;
	case EC_AGG_SUM:
		ec_buf_add(out, tmp, ec_dec_to_str(cell->v, tmp));
		return;
	case EC_AGG_AVG:
		if (!cell->n || ec_dec_div_int(&avg, cell->v, cell->n,
					       cell->v.scale + AVG_EXTRA_SCALE > EC_DEC_MAX_SCALE ?
					       EC_DEC_MAX_SCALE : cell->v.scale + AVG_EXTRA_SCALE) < 0) {
			ec_buf_addstr(out, "null");
			return;
		}
		ec_buf_add(out, tmp, ec_dec_to_str(avg, tmp));
		return;
	case EC_AGG_MIN:
	case EC_AGG_MAX:
		if (cell->has == 1)
			ec_buf_add(out, tmp, ec_dec_to_str(cell->v, tmp));
		else if (cell->has == 2)
			ec_buf_add(out, cell->raw, cell->rawlen);
		else
			ec_buf_addstr(out, "null");
		return;
	case EC_AGG_COUNT_DISTINCT:
		ec_jsonw_i64(out, cell->set ? cell->set->live : 0);
		return;
	case EC_AGG_FIRST:
	case EC_AGG_LAST:
		if (cell->has)
			ec_buf_add(out, cell->raw, cell->rawlen);
		else
			ec_buf_addstr(out, "null");
		return;
	}
}

static int cmp_i64(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

int ec_agg_cmp(const struct ec_agg_spec *spec, const struct ec_agg_cell *a, const struct ec_agg_cell *b)
{
	switch (spec->fn) {
	case EC_AGG_COUNT:
	case EC_AGG_COUNT_PATH:
		return cmp_i64(a->n, b->n);
	case EC_AGG_COUNT_DISTINCT:
		return cmp_i64(a->set ? a->set->live : 0, b->set ? b->set->live : 0);
	case EC_AGG_SUM:
		return ec_dec_cmp(a->v, b->v);
	case EC_AGG_AVG: {
		/* a.v/a.n vs b.v/b.n with positive counts: compare a.v*b.n with b.v*a.n. */
		struct ec_dec x, y;
		if (!a->n || !b->n)
			return cmp_i64(a->n != 0, b->n != 0);
		if (ec_dec_mul_int(&x, a->v, b->n) < 0 || ec_dec_mul_int(&y, b->v, a->n) < 0)
			return 0;
		return ec_dec_cmp(x, y) * ((a->n > 0) == (b->n > 0) ? 1 : -1);
	}
	case EC_AGG_MIN:
	case EC_AGG_MAX:
		if (a->has != b->has)
			return cmp_i64(a->has, b->has);
		if (a->has == 1)
			return ec_dec_cmp(a->v, b->v);
		__attribute__((fallthrough));	/* compare the kept text */
	case EC_AGG_FIRST:
	case EC_AGG_LAST: {
		if (!a->has || !b->has)
			return cmp_i64(a->has, b->has);
		return cmp_text(a->raw, a->rawlen, b->raw, b->rawlen);
	}
	}
	return 0;
}

void ec_agg_cell_release(struct ec_agg_cell *cell)
{
	free(cell->raw);
	distinct_free(cell->set);
	cell->raw = NULL;
	cell->set = NULL;
}

/* ---- snapshots: {"n":..,"v":"..","t":..,"has":..,"raw":"<json text>","set":[["<json>",w],...]} ---- */

void ec_agg_cell_save(const struct ec_agg_spec *spec, const struct ec_agg_cell *cell, struct ec_buf *out)
{
	char tmp[EC_DEC_BUFSZ];
	size_t i, k = 0;

	ec_buf_addf(out, "{\"n\":%" PRId64 ",\"v\":\"", cell->n);
	ec_buf_add(out, tmp, ec_dec_to_str(cell->v, tmp));
	ec_buf_addf(out, "\",\"t\":%" PRId64 ",\"has\":%u", cell->t, cell->has);
	if (cell->raw) {
		ec_buf_addstr(out, ",\"raw\":");
		ec_jsonw_str(out, cell->raw, cell->rawlen);
	}
	if (cell->set) {
		ec_buf_addstr(out, ",\"set\":[");
		for (i = 0; i < cell->set->cap; i++) {
			const struct distinct_entry *e = &cell->set->tab[i];
			if (!e->key || !e->weight)
				continue;
			if (k++)
				ec_buf_addch(out, ',');
			ec_buf_addch(out, '[');
			ec_jsonw_str(out, e->key, e->len);
			ec_buf_addf(out, ",%" PRId64 "]", e->weight);
		}
		ec_buf_addch(out, ']');
	}
	ec_buf_addch(out, '}');
	(void)spec;
}

static const char *yajl_str(yajl_val v)
{
	const char *s = v ? YAJL_GET_STRING(v) : NULL;
	return s ? s : "";
}

int ec_agg_cell_load(const struct ec_agg_spec *spec, struct ec_agg_cell *cell,
		     struct yajl_val_s *v, char *errstr, size_t errstr_size)
{
	const char *pn[] = { "n", NULL }, *pv[] = { "v", NULL }, *pt[] = { "t", NULL },
		   *ph[] = { "has", NULL }, *pr[] = { "raw", NULL }, *pset[] = { "set", NULL };
	yajl_val n = yajl_tree_get(v, pn, yajl_t_number), dv = yajl_tree_get(v, pv, yajl_t_string),
		 t = yajl_tree_get(v, pt, yajl_t_number), has = yajl_tree_get(v, ph, yajl_t_number),
		 raw = yajl_tree_get(v, pr, yajl_t_string), set = yajl_tree_get(v, pset, yajl_t_array);
	size_t i;

	memset(cell, 0, sizeof(*cell));
	if (!n || !dv || !t || !has ||
	    ec_dec_parse(&cell->v, yajl_str(dv), strlen(yajl_str(dv)), errstr, errstr_size) < 0) {
		snprintf(errstr, errstr_size, "aggregate %s: malformed state", spec->name);
		return -1;
	}
	cell->n = YAJL_GET_INTEGER(n);
	cell->t = YAJL_GET_INTEGER(t);
	cell->has = (uint8_t)YAJL_GET_INTEGER(has);
	if (raw)
		keep_raw(cell, yajl_str(raw), strlen(yajl_str(raw)));
	for (i = 0; set && i < set->u.array.len; i++) {
		yajl_val e = set->u.array.values[i];
		if (!YAJL_IS_ARRAY(e) || e->u.array.len != 2 || !YAJL_IS_STRING(e->u.array.values[0]) ||
		    !YAJL_IS_INTEGER(e->u.array.values[1])) {
			snprintf(errstr, errstr_size, "aggregate %s: malformed distinct set", spec->name);
			return -1;
		}
		distinct_add(&cell->set, yajl_str(e->u.array.values[0]),
			     strlen(yajl_str(e->u.array.values[0])),
			     YAJL_GET_INTEGER(e->u.array.values[1]));
	}
	return 0;
}
