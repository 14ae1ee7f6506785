/* window.c: window assignment and the store of open windows, emitted in event-time order. */
#include "ec.h"
#include "window.h"
#include "jsonw.h"
#include <inttypes.h>
#include <yajl/yajl_tree.h>

#define KEY_SEP '\x1f'

/* ---- window specs ---- */

/* "1mo", "3mo", "1y" (calendar months) or a duration ("1m", "1d"). */
static int parse_size(struct ec_winspec *ws, const char *s, char *errstr, size_t errstr_size)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (end != s && n > 0 && n <= 1200 && (!strcmp(end, "mo") || !strcmp(end, "y"))) {
		ws->cal_unit = 'M';
		ws->cal_count = (int)(*end == 'y' ? n * 12 : n);
		return 0;
	}
	if (ec_duration_parse(s, &ws->size, errstr, errstr_size) < 0)
		return -1;
	if (ws->size <= 0) {
		snprintf(errstr, errstr_size, "window size '%s' must be positive", s);
		return -1;
	}
	/* Whole days follow the time zone's calendar (23 and 25 hour days included). */
	if (ws->tz && ws->size % 86400000 == 0 && end != s && !strcmp(end, "d")) {
		ws->cal_unit = 'd';
		ws->cal_count = (int)(ws->size / 86400000);
		ws->size = 0;
	}
	return 0;
}

int ec_winspec_parse(struct ec_winspec *ws, const char *text, const struct ec_tz *tz,
		     char *errstr, size_t errstr_size)
{
	char kind[16] = "", size[32] = "", every[16] = "", step[32] = "", extra[2] = "";
	int n = sscanf(text, "%15s %31s %15s %31s %1s", kind, size, every, step, extra);

	memset(ws, 0, sizeof(*ws));
	ws->tz = tz;
	if (n == 2 && !strcmp(kind, "tumble"))
		ws->kind = EC_WIN_TUMBLE;
	else if (n == 2 && !strcmp(kind, "session"))
		ws->kind = EC_WIN_SESSION;
	else if (n == 4 && !strcmp(kind, "hop") && !strcmp(every, "every"))
		ws->kind = EC_WIN_HOP;
	else if (n == 4 && !strcmp(kind, "cumulate") && !strcmp(every, "every"))
		ws->kind = EC_WIN_CUMULATE;
	else {
		snprintf(errstr, errstr_size, "window '%s': expected 'tumble SIZE', 'hop SIZE every SLIDE', "
			 "'session GAP' or 'cumulate SIZE every STEP'", text);
		return -1;
	}
	if (parse_size(ws, size, errstr, errstr_size) < 0)
		return -1;
	if (ws->kind == EC_WIN_SESSION && ws->cal_unit) {
		ws->size = (int64_t)ws->cal_count * 86400000;
		if (ws->cal_unit == 'M') {
			snprintf(errstr, errstr_size, "window '%s': a session gap is a duration", text);
			return -1;
		}
		ws->cal_unit = 0;
	}
	if (n == 4) {
		if (ec_duration_parse(step, &ws->step, errstr, errstr_size) < 0)
			return -1;
		if (ws->step <= 0) {
			snprintf(errstr, errstr_size, "window '%s': the step must be positive", text);
			return -1;
		}
		if (ws->kind == EC_WIN_HOP && ws->cal_unit) {
			snprintf(errstr, errstr_size, "window '%s': hopping windows need a fixed size (use 24h)", text);
			return -1;
		}
		if (!ws->cal_unit && ws->size % ws->step) {
			snprintf(errstr, errstr_size, "window '%s': the size must be a multiple of the step", text);
			return -1;
		}
		if (!ws->cal_unit && ws->size / ws->step > 100000) {
			snprintf(errstr, errstr_size, "window '%s': more than 100000 windows per record", text);
			return -1;
		}
	}
	return 0;
}

size_t ec_winspec_max_windows(const struct ec_winspec *ws)
{
	switch (ws->kind) {
	case EC_WIN_HOP:
		return (size_t)(ws->size / ws->step);
	case EC_WIN_CUMULATE:
		/* A calendar month has at most 31 days of 25 hours. */
		return ws->cal_unit ? (size_t)(ws->cal_count * (ws->cal_unit == 'M' ? 31 : 1) * 25 * 3600000LL / ws->step + 1)
				    : (size_t)(ws->size / ws->step);
	default:
		return 1;
	}
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The tumbling (or cumulate's outer) window containing T. */
static void outer_window(const struct ec_winspec *ws, int64_t t, int64_t *start, int64_t *end)
{
	if (ws->cal_unit) {
		ec_tz_period(ws->tz, t, ws->cal_unit, ws->cal_count, start, end);
		return;
	}
	*start = floor_div(t, ws->size) * ws->size;
	*end = *start + ws->size;
}

size_t ec_winspec_assign(const struct ec_winspec *ws, int64_t t, int64_t *start, int64_t *end)
{
	int64_t s, e, last;
	size_t n = 0;

	switch (ws->kind) {
	case EC_WIN_TUMBLE:
	case EC_WIN_SESSION:
		outer_window(ws, t, start, end);
		return 1;
	case EC_WIN_HOP:
		/* Every slide-aligned start within one size before t, oldest first. */
		last = floor_div(t, ws->step) * ws->step;
		for (s = last - ws->size + ws->step; s <= last; s += ws->step) {
			start[n] = s;
			end[n] = s + ws->size;
			n++;
		}
		return n;
	case EC_WIN_CUMULATE:
		outer_window(ws, t, &s, &last);
		for (e = s + (floor_div(t - s, ws->step) + 1) * ws->step; ; e += ws->step) {
			start[n] = s;
			end[n] = e < last ? e : last;
			n++;
			if (e >= last)
				break;
		}
		return n;
	}
	return 0;
}

/* ---- the store ---- */

struct group {
	uint64_t hash;
	char *key;
	uint32_t keylen;
	uint8_t dirty;		/* changed since the window was emitted */
	struct ec_agg_cell cells[];
};

struct pane {
	int64_t start, end;
	struct group **tab;	/* open addressing by key hash */
	size_t cap, count;
	uint8_t emitted;
	uint8_t dirty;		/* some group changed after emission */
};

/* Session windows are per group: the group's open sessions. */
struct session_list {
	uint64_t hash;
	char *key;
	uint32_t keylen;
	struct pane **v;
	size_t n, alloc;
};

struct ec_window {
	struct ec_window_config cfg;
	struct pane **panes;	/* sorted by (end, start) */
	size_t npanes, alloc;
	int64_t max_t;
	int have_t;
	int64_t min_unemitted_end;
	size_t ndirty;
	struct pane *last;
	int64_t *starts, *ends;
	struct session_list *sess;
	size_t sess_cap, sess_used;
};

static uint64_t hash_key(const char *p, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;

	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		h = (h ^ v) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
		p += 8;
		n -= 8;
	}
	while (n--)
		h = (h ^ (unsigned char)*p++) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

struct ec_window *ec_window_new(const struct ec_window_config *cfg)
{
	struct ec_window *w = xcalloc(1, sizeof(*w));
	size_t maxw = ec_winspec_max_windows(&cfg->spec);

	w->cfg = *cfg;
	w->min_unemitted_end = INT64_MAX;
	w->starts = xmalloc(maxw * sizeof(*w->starts));
	w->ends = xmalloc(maxw * sizeof(*w->ends));
	return w;
}

static struct group *group_new(const struct ec_window *w, const char *key, size_t keylen, uint64_t h)
{
	struct group *g = xcalloc(1, sizeof(*g) + w->cfg.naggs * sizeof(struct ec_agg_cell));

	g->hash = h;
	g->key = xstrndup(key, keylen);
	g->keylen = (uint32_t)keylen;
	return g;
}

static void group_free(const struct ec_window *w, struct group *g)
{
	size_t i;

	for (i = 0; i < w->cfg.naggs; i++)
		ec_agg_cell_release(&g->cells[i]);
	free(g->key);
	free(g);
}

static struct group **pane_slot(struct pane *p, const char *key, size_t keylen, uint64_t h)
{
	size_t i = h & (p->cap - 1);
	struct group *g;

	while ((g = p->tab[i]) && (g->hash != h || g->keylen != keylen || memcmp(g->key, key, keylen)))
		i = (i + 1) & (p->cap - 1);
	return &p->tab[i];
}

static void pane_grow(struct pane *p)
{
	struct group **old = p->tab;
	size_t oldcap = p->cap, i;

	p->cap = oldcap ? oldcap * 2 : 16;
	p->tab = xcalloc(p->cap, sizeof(*p->tab));
	for (i = 0; i < oldcap; i++)
		if (old[i])
			*pane_slot(p, old[i]->key, old[i]->keylen, old[i]->hash) = old[i];
	free(old);
}

static struct group *pane_group(const struct ec_window *w, struct pane *p,
				const char *key, size_t keylen, uint64_t h)
{
	struct group **slot;

	if ((p->count + 1) * 4 > p->cap * 3)
		pane_grow(p);
	slot = pane_slot(p, key, keylen, h);
	if (!*slot) {
		*slot = group_new(w, key, keylen, h);
		p->count++;
	}
	return *slot;
}

static void pane_free(const struct ec_window *w, struct pane *p)
{
	size_t i;

	for (i = 0; i < p->cap; i++)
		if (p->tab[i])
			group_free(w, p->tab[i]);
	free(p->tab);
	free(p);
}

static int pane_cmp(int64_t end, int64_t start, const struct pane *p)
{
	if (end != p->end)
		return end < p->end ? -1 : 1;
	return (start > p->start) - (start < p->start);
}

/* First index whose pane is not before (end, start). */
static size_t panes_lower_bound(const struct ec_window *w, int64_t end, int64_t start)
{
	size_t lo = 0, hi = w->npanes;

	/* Most new panes come last: check the end first. */
	if (hi && pane_cmp(end, start, w->panes[hi - 1]) > 0)
		return hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pane_cmp(end, start, w->panes[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct pane *panes_insert(struct ec_window *w, int64_t start, int64_t end, size_t at)
{
	struct pane *p = xcalloc(1, sizeof(*p));

	p->start = start;
	p->end = end;
	EC_GROW(w->panes, w->npanes + 1, w->alloc);
	memmove(w->panes + at + 1, w->panes + at, (w->npanes - at) * sizeof(*w->panes));
	w->panes[at] = p;
	w->npanes++;
	if (end < w->min_unemitted_end)
		w->min_unemitted_end = end;
	return p;
}

static void panes_remove(struct ec_window *w, struct pane *p)
{
	size_t i = panes_lower_bound(w, p->end, p->start);

	while (i < w->npanes && w->panes[i] != p)
		i++;
	if (i == w->npanes)
		return;
	memmove(w->panes + i, w->panes + i + 1, (w->npanes - i - 1) * sizeof(*w->panes));
	w->npanes--;
	if (w->last == p)
		w->last = NULL;
}

/* The existing pane [start, end), or NULL. */
static struct pane *pane_find(struct ec_window *w, int64_t start, int64_t end)
{
	size_t at;

	if (w->last && w->last->start == start && w->last->end == end)
		return w->last;
	at = panes_lower_bound(w, end, start);
	if (at < w->npanes && w->panes[at]->start == start && w->panes[at]->end == end)
		return w->panes[at];
	return NULL;
}

/* The group's cells in P, or NULL when P has no such group yet. */
static const struct ec_agg_cell *pane_cells(struct pane *p, const char *key, size_t keylen, uint64_t h)
{
	struct group *g = p && p->cap ? *pane_slot(p, key, keylen, h) : NULL;
	return g ? g->cells : NULL;
}

/* Check every aggregate of one window before anything changes. */
static int check_cells(const struct ec_window *w, const struct ec_agg_cell *cells,
		       const struct ec_agg_input *in, int64_t weight, char *errstr, size_t errstr_size)
{
	size_t i;

	for (i = 0; i < w->cfg.naggs; i++)
		if (ec_agg_check(&w->cfg.aggs[i], cells ? &cells[i] : NULL, &in[i], weight, errstr, errstr_size) < 0)
			return -1;
	return 0;
}

static struct pane *pane_get(struct ec_window *w, int64_t start, int64_t end)
{
	size_t at;

	if (w->last && w->last->start == start && w->last->end == end)
		return w->last;
	at = panes_lower_bound(w, end, start);
	if (at < w->npanes && w->panes[at]->start == start && w->panes[at]->end == end)
		return w->last = w->panes[at];
	return w->last = panes_insert(w, start, end, at);
}

static int fold(struct ec_window *w, struct pane *p, struct group *g, const struct ec_agg_input *in,
		int64_t t, int64_t weight, char *errstr, size_t errstr_size)
{
	size_t i;

	for (i = 0; i < w->cfg.naggs; i++)
		if (ec_agg_update(&w->cfg.aggs[i], &g->cells[i], &in[i], t, weight, errstr, errstr_size) < 0)
			return -1;
	if (p->emitted) {
		g->dirty = 1;
		if (!p->dirty) {
			p->dirty = 1;
			w->ndirty++;
		}
	}
	return 0;
}

static int64_t watermark(const struct ec_window *w)
{
	return w->have_t ? w->max_t - w->cfg.max_delay : INT64_MIN;
}

static int too_late(const struct ec_window *w, int64_t end, int64_t wm)
{
	return w->have_t && end <= wm - w->cfg.lateness;
}

/* ---- sessions ---- */

static struct session_list *session_slot(struct ec_window *w, const char *key, size_t keylen, uint64_t h)
{
	size_t i = h & (w->sess_cap - 1);
	struct session_list *s;

	while ((s = &w->sess[i])->key && (s->hash != h || s->keylen != keylen || memcmp(s->key, key, keylen)))
		i = (i + 1) & (w->sess_cap - 1);
	return s;
}

static struct session_list *session_list_get(struct ec_window *w, const char *key, size_t keylen, uint64_t h)
{
	struct session_list *s;

	if ((w->sess_used + 1) * 2 > w->sess_cap) {
		struct session_list *old = w->sess;
		size_t oldcap = w->sess_cap, i;

		w->sess_cap = oldcap ? oldcap * 2 : 64;
		w->sess = xcalloc(w->sess_cap, sizeof(*w->sess));
		for (i = 0; i < oldcap; i++)
			if (old[i].key)
				*session_slot(w, old[i].key, old[i].keylen, old[i].hash) = old[i];
		free(old);
	}
	s = session_slot(w, key, keylen, h);
	if (!s->key) {
		s->key = xstrndup(key, keylen);
		s->keylen = (uint32_t)keylen;
		s->hash = h;
		w->sess_used++;
	}
	return s;
}

/* Forget a purged session pane in its group's list (the list itself stays, empty). */
static void session_forget(struct ec_window *w, struct pane *p)
{
	struct group *g = NULL;
	struct session_list *s;
	size_t i;

	for (i = 0; i < p->cap && !g; i++)
		g = p->tab[i];
	if (!g || !w->sess_cap)
		return;
	s = session_slot(w, g->key, g->keylen, g->hash);
	for (i = 0; s->key && i < s->n; i++)
		if (s->v[i] == p) {
			s->v[i] = s->v[--s->n];
			break;
		}
}

static int session_add(struct ec_window *w, int64_t t, const char *key, size_t keylen, uint64_t h,
		       const struct ec_agg_input *in, int64_t weight, int *all_late,
		       char *errstr, size_t errstr_size)
{
	int64_t gap = w->cfg.spec.size, start = t, end = t + gap;
	struct session_list *s;
	struct pane *into = NULL;
	struct group *g;
	size_t i, a;

	*all_late = too_late(w, end, watermark(w));
	if (*all_late)
		return 1;
	s = session_list_get(w, key, keylen, h);
	if (check_cells(w, NULL, in, weight, errstr, errstr_size) < 0)
		return -1;
	for (i = 0; i < s->n; i++)
		if (t <= s->v[i]->end && end >= s->v[i]->start &&
		    check_cells(w, pane_cells(s->v[i], key, keylen, h), in, weight, errstr, errstr_size) < 0)
			return -1;
	/* Merge every session this record touches into one. */
	for (i = 0; i < s->n; ) {
		struct pane *p = s->v[i];
		if (!(t <= p->end && end >= p->start)) {
			i++;
			continue;
		}
		if (p->start < start)
			start = p->start;
		if (p->end > end)
			end = p->end;
		if (!into) {
			into = p;
			i++;
			continue;
		}
		/* Fold p's group into the surviving session and drop p. */
		g = pane_group(w, into, key, keylen, h);
		if (p->cap) {
			struct group *src = *pane_slot(p, key, keylen, h);
			for (a = 0; src && a < w->cfg.naggs; a++)
				if (ec_agg_merge(&w->cfg.aggs[a], &g->cells[a], &src->cells[a], errstr, errstr_size) < 0)
					return -2;	/* half merged: the state is no longer right */
		}
		into->emitted |= p->emitted;
		if (p->dirty)
			w->ndirty--;
		panes_remove(w, p);
		pane_free(w, p);
		s->v[i] = s->v[--s->n];
	}
	if (into && (into->start != start || into->end != end)) {
		/* The session grew: move it to its new place in end order. */
		panes_remove(w, into);
		into->start = start;
		into->end = end;
		a = panes_lower_bound(w, end, start);
		EC_GROW(w->panes, w->npanes + 1, w->alloc);
		memmove(w->panes + a + 1, w->panes + a, (w->npanes - a) * sizeof(*w->panes));
		w->panes[a] = into;
		w->npanes++;
		if (!into->emitted && end < w->min_unemitted_end)
			w->min_unemitted_end = end;
	}
	if (!into) {
		into = panes_insert(w, start, end, panes_lower_bound(w, end, start));
		EC_GROW(s->v, s->n + 1, s->alloc);
		s->v[s->n++] = into;
	}
	g = pane_group(w, into, key, keylen, h);
	return fold(w, into, g, in, t, weight, errstr, errstr_size) < 0 ? -2 : 0;
}

int ec_window_add(struct ec_window *w, int64_t t, const char *key, size_t keylen,
		  const struct ec_agg_input *in, int64_t weight, int *all_late,
		  char *errstr, size_t errstr_size)
{
	uint64_t h = hash_key(key, keylen);
	int64_t wm = watermark(w);
	size_t n, i;
	int late = 0, ret = 0;

	if (w->cfg.spec.kind == EC_WIN_SESSION) {
		ret = session_add(w, t, key, keylen, h, in, weight, all_late, errstr, errstr_size);
		if (ret < 0)
			return ret;
	} else {
		n = ec_winspec_assign(&w->cfg.spec, t, w->starts, w->ends);
		for (i = 0; i < n; i++)
			if (!too_late(w, w->ends[i], wm) &&
			    check_cells(w, pane_cells(pane_find(w, w->starts[i], w->ends[i]), key, keylen, h),
					in, weight, errstr, errstr_size) < 0)
				return -1;
		for (i = 0; i < n; i++) {
			struct pane *p;
			if (too_late(w, w->ends[i], wm)) {
				late++;
				continue;
			}
			p = pane_get(w, w->starts[i], w->ends[i]);
			if (fold(w, p, pane_group(w, p, key, keylen, h), in, t, weight, errstr, errstr_size) < 0)
				return -2;
		}
		*all_late = (size_t)late == n;
		ret = late;
	}
	if (!w->have_t || t > w->max_t) {
		w->max_t = t;
		w->have_t = 1;
	}
	return ret;
}

/* ---- emission ---- */

static const struct ec_window *sort_ctx;

static int cmp_group_keys(const void *a, const void *b)
{
	const struct group *x = *(const struct group *const *)a, *y = *(const struct group *const *)b;
	int c = memcmp(x->key, y->key, x->keylen < y->keylen ? x->keylen : y->keylen);
	return c ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static int cmp_groups_top(const void *a, const void *b)
{
	const struct group *x = *(const struct group *const *)a, *y = *(const struct group *const *)b;
	int i = sort_ctx->cfg.top_agg;
	int c = ec_agg_cmp(&sort_ctx->cfg.aggs[i], &x->cells[i], &y->cells[i]);
	return c ? -c : cmp_group_keys(a, b);
}

static void write_group_values(const struct ec_window *w, const struct group *g, struct ec_buf *out)
{
	const char *p = g->key, *end = g->key + g->keylen;
	size_t i;

	for (i = 0; i < w->cfg.ngroups; i++) {
		const char *sep = memchr(p, KEY_SEP, (size_t)(end - p));
		if (!sep)
			sep = end;
		ec_buf_addch(out, ',');
		ec_jsonw_key(out, w->cfg.group_names[i]);
		ec_buf_add(out, p, (size_t)(sep - p));
		p = sep + 1;
	}
}

static void write_result(const struct ec_window *w, const struct pane *p, const struct group *g,
			 int update, struct ec_buf *out)
{
	size_t i;

	ec_buf_addstr(out, "{\"window_start\":");
	ec_jsonw_time(out, p->start);
	ec_buf_addstr(out, ",\"window_end\":");
	ec_jsonw_time(out, p->end);
	write_group_values(w, g, out);
	for (i = 0; i < w->cfg.naggs; i++) {
		ec_buf_addch(out, ',');
		ec_jsonw_key(out, w->cfg.aggs[i].name);
		ec_agg_format(&w->cfg.aggs[i], &g->cells[i], out);
	}
	if (update)
		ec_buf_addstr(out, ",\"update\":true");
	ec_buf_addstr(out, "}\n");
}

/* Write a pane's groups in a fixed order: all of them, or (updates) the changed ones. */
static void emit_pane(struct ec_window *w, struct pane *p, int update, struct ec_buf *out)
{
	struct group **v = xmalloc((p->count ? p->count : 1) * sizeof(*v));
	size_t i, n = 0, limit;

	for (i = 0; i < p->cap; i++)
		if (p->tab[i])
			v[n++] = p->tab[i];
	sort_ctx = w;
	qsort(v, n, sizeof(*v), w->cfg.top_n ? cmp_groups_top : cmp_group_keys);
	limit = w->cfg.top_n && w->cfg.top_n < n ? w->cfg.top_n : n;
	for (i = 0; i < n; i++) {
		/* With top-N an update re-sends the whole top list, which may have changed. */
		if (i < limit && (!update || w->cfg.top_n || v[i]->dirty))
			write_result(w, p, v[i], update, out);
		v[i]->dirty = 0;
	}
	free(v);
	if (p->dirty) {
		p->dirty = 0;
		w->ndirty--;
	}
	p->emitted = 1;
}

static void purge_pane(struct ec_window *w, struct pane *p)
{
	if (w->cfg.spec.kind == EC_WIN_SESSION)
		session_forget(w, p);
	if (p->dirty)
		w->ndirty--;
	panes_remove(w, p);
	pane_free(w, p);
}

/* Emit panes the watermark WM has closed (all when flushing), then drop those past lateness. */
static void emit_upto(struct ec_window *w, int64_t wm, int flush, struct ec_buf *out)
{
	size_t i;

	w->min_unemitted_end = INT64_MAX;
	for (i = 0; i < w->npanes; i++) {
		struct pane *p = w->panes[i];
		if (!p->emitted && (flush || p->end <= wm))
			emit_pane(w, p, 0, out);
		else if (p->dirty)
			emit_pane(w, p, 1, out);
		else if (!p->emitted) {
			/* Sorted by end: the rest are open, and every updated pane came before. */
			w->min_unemitted_end = p->end;
			break;
		}
	}
	while (w->npanes && w->panes[0]->emitted && (flush || w->panes[0]->end <= wm - w->cfg.lateness))
		purge_pane(w, w->panes[0]);
}

void ec_window_emit(struct ec_window *w, struct ec_buf *out)
{
	int64_t wm = watermark(w);

	if (!w->have_t || (!w->ndirty && w->min_unemitted_end > wm &&
			   !(w->npanes && w->panes[0]->emitted && w->panes[0]->end <= wm - w->cfg.lateness)))
		return;
	emit_upto(w, wm, 0, out);
}

void ec_window_flush(struct ec_window *w, struct ec_buf *out)
{
	emit_upto(w, watermark(w), 1, out);
}

void ec_window_free(struct ec_window *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->npanes; i++)
		pane_free(w, w->panes[i]);
	for (i = 0; i < w->sess_cap; i++) {
		free(w->sess[i].key);
		free(w->sess[i].v);
	}
	free(w->sess);
	free(w->panes);
	free(w->starts);
	free(w->ends);
	free(w);
}

/* ---- snapshots ---- */

void ec_window_save(struct ec_window *w, struct ec_buf *out)
{
	size_t i, j, a;

	ec_buf_addstr(out, "{\"max_time\":");
	if (w->have_t)
		ec_jsonw_i64(out, w->max_t);
	else
		ec_buf_addstr(out, "null");
	ec_buf_addf(out, ",\"windows\":%zu}\n", w->npanes);
	for (i = 0; i < w->npanes; i++) {
		struct pane *p = w->panes[i];
		size_t k = 0;
		ec_buf_addf(out, "{\"start\":%" PRId64 ",\"end\":%" PRId64 ",\"emitted\":%d,\"groups\":[",
			    p->start, p->end, p->emitted);
		for (j = 0; j < p->cap; j++) {
			struct group *g = p->tab[j];
			if (!g)
				continue;
			if (k++)
				ec_buf_addch(out, ',');
			ec_buf_addstr(out, "{\"key\":");
			ec_jsonw_str(out, g->key, g->keylen);
			ec_buf_addf(out, ",\"dirty\":%d,\"cells\":[", g->dirty);
			for (a = 0; a < w->cfg.naggs; a++) {
				if (a)
					ec_buf_addch(out, ',');
				ec_agg_cell_save(&w->cfg.aggs[a], &g->cells[a], out);
			}
			ec_buf_addstr(out, "]}");
		}
		ec_buf_addstr(out, "]}\n");
	}
}

static int load_pane(struct ec_window *w, yajl_val v, char *errstr, size_t errstr_size)
{
	const char *ps[] = { "start", NULL }, *pe[] = { "end", NULL }, *pm[] = { "emitted", NULL },
		   *pg[] = { "groups", NULL }, *pk[] = { "key", NULL }, *pd[] = { "dirty", NULL },
		   *pc[] = { "cells", NULL };
	yajl_val s = yajl_tree_get(v, ps, yajl_t_number), e = yajl_tree_get(v, pe, yajl_t_number),
		 m = yajl_tree_get(v, pm, yajl_t_number), groups = yajl_tree_get(v, pg, yajl_t_array);
	struct pane *p;
	size_t i, a;

	if (!s || !e || !m || !groups) {
		snprintf(errstr, errstr_size, "malformed window in snapshot");
		return -1;
	}
	p = panes_insert(w, YAJL_GET_INTEGER(s), YAJL_GET_INTEGER(e),
			 panes_lower_bound(w, YAJL_GET_INTEGER(e), YAJL_GET_INTEGER(s)));
	p->emitted = YAJL_GET_INTEGER(m) != 0;
	for (i = 0; i < groups->u.array.len; i++) {
		yajl_val gv = groups->u.array.values[i], key = yajl_tree_get(gv, pk, yajl_t_string),
			 dirty = yajl_tree_get(gv, pd, yajl_t_number), cells = yajl_tree_get(gv, pc, yajl_t_array);
		const char *k = key ? YAJL_GET_STRING(key) : NULL;
		struct group *g;

		if (!k || !dirty || !cells || cells->u.array.len != w->cfg.naggs) {
			snprintf(errstr, errstr_size, "malformed group in snapshot (aggregates changed?)");
			return -1;
		}
		g = pane_group(w, p, k, strlen(k), hash_key(k, strlen(k)));
		g->dirty = YAJL_GET_INTEGER(dirty) != 0;
		if (g->dirty && !p->dirty) {
			p->dirty = 1;
			w->ndirty++;
		}
		for (a = 0; a < w->cfg.naggs; a++)
			if (ec_agg_cell_load(&w->cfg.aggs[a], &g->cells[a], cells->u.array.values[a],
					     errstr, errstr_size) < 0)
				return -1;
		if (w->cfg.spec.kind == EC_WIN_SESSION) {
			struct session_list *sl = session_list_get(w, k, strlen(k), g->hash);
			EC_GROW(sl->v, sl->n + 1, sl->alloc);
			sl->v[sl->n++] = p;
		}
	}
	if (p->emitted && w->min_unemitted_end == p->end)
		w->min_unemitted_end = INT64_MIN;	/* recomputed at the next emission */
	return 0;
}

int ec_window_load(struct ec_window *w, const char *text, size_t n, char *errstr, size_t errstr_size)
{
	const char *p = text, *end = text + n;
	const char *pt[] = { "max_time", NULL };
	int first = 1, ret = 0;

	while (p < end && !ret) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line = xstrndup(p, nl ? (size_t)(nl - p) : (size_t)(end - p));
		char yerr[128];
		yajl_val v = yajl_tree_parse(line, yerr, sizeof(yerr));

		p = nl ? nl + 1 : end;
		if (!v) {
			snprintf(errstr, errstr_size, "snapshot: %s", yerr);
			ret = -1;
		} else if (first) {
			yajl_val t = yajl_tree_get(v, pt, yajl_t_any);
			if (t && YAJL_IS_INTEGER(t)) {
				w->max_t = YAJL_GET_INTEGER(t);
				w->have_t = 1;
			}
			first = 0;
		} else {
			ret = load_pane(w, v, errstr, errstr_size);
		}
		yajl_tree_free(v);
		free(line);
	}
	w->min_unemitted_end = INT64_MIN;
	return ret;
}
