/* lifecycle.c: parsing and checking declared state machines (see lifecycle.h). */
#include "lifecycle.h"
#include <ctype.h>

const char ec_lifecycle_default_text[] =
	"NEW -> PAID -> SHIPPED -> COMPLETED\n"
	"NEW, PAID -> CANCELLED\n"
	"PAID, SHIPPED, COMPLETED -> REFUNDED\n";

#define WILDCARD (-2)

/* A rule as written; wildcards are expanded once every state is known. */
struct rule {
	int from, to;		/* state index or WILDCARD */
	unsigned lineno;
};

struct parser {
	struct ec_lifecycle *lc;
	const char *origin;
	unsigned lineno;
	struct rule *rules;
	size_t nrules, alloc;
	uint64_t declared_terminal;
	int has_terminal_line;
	char *errstr;
	size_t errstr_size;
};

static int fail(struct parser *p, const char *fmt, ...) EC_PRINTF(2, 3);
static int fail(struct parser *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->errstr, p->errstr_size, "%s:%u: %s", p->origin, p->lineno, msg);
	return -1;
}

int ec_lifecycle_find(const struct ec_lifecycle *lc, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < lc->nstates; i++)
		if (strlen(lc->names[i]) == n && !memcmp(lc->names[i], name, n))
			return (int)i;
	return -1;
}

int ec_lifecycle_intern(struct ec_lifecycle *lc, const char *name, size_t n)
{
	int s = ec_lifecycle_find(lc, name, n);

	if (s >= 0)
		return s;
	if (lc->nstates == EC_LC_MAX_STATES)
		return -1;
	lc->names[lc->nstates] = xstrndup(name, n);
	return (int)lc->nstates++;
}

static int name_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

/* One state name or '*' in S[0..n) (trimmed): its index, WILDCARD, or -1 (reported). */
static int parse_state(struct parser *p, const char *s, size_t n)
{
	size_t i;

	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 1 && *s == '*')
		return WILDCARD;
	if (!n)
		return fail(p, "missing state name");
	for (i = 0; i < n; i++)
		if (!name_char((unsigned char)s[i]))
			return fail(p, "bad state name '%.*s' (letters, digits, '_', '.', '-')", (int)n, s);
	if (ec_lifecycle_find(p->lc, s, n) < 0 && p->lc->nstates == EC_LC_MAX_DECLARED)
		return fail(p, "more than %d states", EC_LC_MAX_DECLARED);
	return ec_lifecycle_intern(p->lc, s, n);
}

/* A comma list "A, B, *" into OUT (at most EC_LC_MAX_DECLARED + 1 entries). */
static int parse_list(struct parser *p, const char *s, size_t n, int *out, size_t *count)
{
	const char *end = s + n;

	*count = 0;
	for (;;) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *stop = comma ? comma : end;
		int st = parse_state(p, s, (size_t)(stop - s));

		if (st == -1)
			return -1;
		if (*count <= EC_LC_MAX_DECLARED)
			out[(*count)++] = st;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

static void add_rule(struct parser *p, int from, int to)
{
	EC_GROW(p->rules, p->nrules + 1, p->alloc);
	p->rules[p->nrules++] = (struct rule){ from, to, p->lineno };
}

/* "A, B -> C -> D" */
static int parse_chain(struct parser *p, const char *s, size_t n)
{
	int left[EC_LC_MAX_DECLARED + 1], right[EC_LC_MAX_DECLARED + 1];
	size_t nleft = 0, nright, i, j;
	const char *end = s + n;
	int first = 1;

	for (;;) {
		const char *arrow = memmem(s, (size_t)(end - s), "->", 2);
		const char *stop = arrow ? arrow : end;

		if (first && !arrow)
			return fail(p, "expected 'FROM -> TO', got '%.*s'", (int)n, end - n);
		if (parse_list(p, s, (size_t)(stop - s), right, &nright) < 0)
			return -1;
		for (i = 0; !first && i < nleft; i++)
			for (j = 0; j < nright; j++)
				add_rule(p, left[i], right[j]);
		memcpy(left, right, nright * sizeof(int));
		nleft = nright;
		first = 0;
		if (!arrow)
			return 0;
		s = arrow + 2;
	}
}

/* "terminal: A, B" */
static int parse_terminal(struct parser *p, const char *s, size_t n)
{
	int states[EC_LC_MAX_DECLARED + 1];
	size_t count, i;

	if (parse_list(p, s, n, states, &count) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		if (states[i] == WILDCARD)
			return fail(p, "'*' cannot be terminal");
		p->declared_terminal |= (uint64_t)1 << states[i];
	}
	p->has_terminal_line = 1;
	return 0;
}

static int parse_line(struct parser *p, const char *s, size_t n)
{
	const char *hash = memchr(s, '#', n);

	if (hash)
		n = (size_t)(hash - s);
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (!n)
		return 0;
	if (n >= 9 && !memcmp(s, "terminal:", 9))
		return parse_terminal(p, s + 9, n - 9);
	return parse_chain(p, s, n);
}

/* Turn the rules into transition bits, '*' meaning every fitting declared state. */
static int expand_rules(struct parser *p)
{
	struct ec_lifecycle *lc = p->lc;
	uint64_t all = lc->ndeclared == 64 ? ~(uint64_t)0 : ((uint64_t)1 << lc->ndeclared) - 1;
	size_t r;
	int i;

	for (r = 0; r < p->nrules; r++) {
		const struct rule *ru = &p->rules[r];
		uint64_t from = ru->from == WILDCARD ? all & ~p->declared_terminal : (uint64_t)1 << ru->from;
		uint64_t to = ru->to == WILDCARD ? all : (uint64_t)1 << ru->to;

		if (ru->from != WILDCARD && (p->declared_terminal >> ru->from & 1)) {
			p->lineno = ru->lineno;
			return fail(p, "%s is terminal but has a transition", lc->names[ru->from]);
		}
		for (i = 0; i < (int)lc->ndeclared; i++)
			if (from >> i & 1)
				lc->next[i] |= to & ~((uint64_t)1 << i);
	}
	if (p->has_terminal_line) {
		lc->terminal = p->declared_terminal;
	} else {
		for (i = 0; i < (int)lc->ndeclared; i++)
			if (!lc->next[i])
				lc->terminal |= (uint64_t)1 << i;
	}
	return 0;
}

int ec_lifecycle_parse(struct ec_lifecycle *lc, const char *text, const char *origin,
		       char *errstr, size_t errstr_size)
{
	struct parser p = { .lc = lc, .origin = origin, .errstr = errstr, .errstr_size = errstr_size };
	const char *s = text;
	int ret = -1;

	memset(lc, 0, sizeof(*lc));
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		p.lineno++;
		if (parse_line(&p, s, n) < 0)
			goto cleanup;
		s += n + (nl != NULL);
	}
	lc->ndeclared = lc->nstates;
	if (!p.nrules) {
		p.lineno = 0;
		fail(&p, "no transitions declared");
		goto cleanup;
	}
	if (expand_rules(&p) < 0)
		goto cleanup;
	ret = 0;
cleanup:
	free(p.rules);
	if (ret < 0)
		ec_lifecycle_release(lc);
	return ret;
}

void ec_lifecycle_release(struct ec_lifecycle *lc)
{
	size_t i;

	for (i = 0; i < lc->nstates; i++)
		free(lc->names[i]);
	memset(lc, 0, sizeof(*lc));
}

int ec_lifecycle_check(const struct ec_lifecycle *lc, int from, int to, char *reason, size_t size)
{
	if (!ec_lifecycle_declared(lc, to)) {
		snprintf(reason, size, "unknown state \"%s\"", lc->names[to]);
		return 0;
	}
	if (from < 0 || from == to)
		return 1;
	if (!ec_lifecycle_declared(lc, from)) {
		snprintf(reason, size, "unknown state \"%s\"", lc->names[from]);
		return 0;
	}
	if (lc->next[from] >> to & 1)
		return 1;
	if (lc->terminal >> from & 1)
		snprintf(reason, size, "%s is terminal", lc->names[from]);
	else
		snprintf(reason, size, "no transition %s -> %s", lc->names[from], lc->names[to]);
	return 0;
}

/* ---- timers ---- */

#define META_LEN 0x0f	/* inline key length */
#define META_LONG 0x10	/* k holds a pointer and a 32-bit length */
#define META_KIND_SHIFT 5

static void timer_set_key(struct ec_lc_timer *t, const char *key, size_t klen)
{
	if (klen <= EC_LC_TIMER_INLINE_KEY) {
		memcpy(t->k, key, klen);
		t->meta |= (uint8_t)klen;
	} else {
		char *p = xmalloc(klen);
		uint32_t n = (uint32_t)klen;

		memcpy(p, key, klen);
		memcpy(t->k, &p, sizeof(p));
		memcpy(t->k + sizeof(p), &n, sizeof(n));
		t->meta |= META_LONG;
	}
}

const char *ec_lc_timer_key(const struct ec_lc_timer *t, size_t *klen)
{
	char *p;
	uint32_t n;

	if (!(t->meta & META_LONG)) {
		*klen = t->meta & META_LEN;
		return t->k;
	}
	memcpy(&p, t->k, sizeof(p));
	memcpy(&n, t->k + sizeof(p), sizeof(n));
	*klen = n;
	return p;
}

int ec_lc_timer_kind(const struct ec_lc_timer *t)
{
	return t->meta >> META_KIND_SHIFT & 3;
}

void ec_lc_timer_release(struct ec_lc_timer *t)
{
	char *p;

	if (t->meta & META_LONG) {
		memcpy(&p, t->k, sizeof(p));
		free(p);
	}
	t->meta = 0;
}

static void sift_up(struct ec_lc_timer *v, size_t i)
{
	struct ec_lc_timer t = v[i];

	while (i) {
		size_t parent = (i - 1) / 2;

		if (v[parent].due <= t.due)
			break;
		v[i] = v[parent];
		i = parent;
	}
	v[i] = t;
}

static void sift_down(struct ec_lc_timer *v, size_t n, size_t i)
{
	struct ec_lc_timer t = v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && v[c + 1].due < v[c].due)
			c++;
		if (t.due <= v[c].due)
			break;
		v[i] = v[c];
		i = c;
	}
	v[i] = t;
}

void ec_lc_timers_push(struct ec_lc_timers *q, int64_t due, int kind, const char *key, size_t klen)
{
	struct ec_lc_timer *t;

	EC_GROW(q->v, q->n + 1, q->alloc);
	t = &q->v[q->n];
	t->due = due;
	t->meta = (uint8_t)((kind & 3) << META_KIND_SHIFT);
	timer_set_key(t, key, klen);
	sift_up(q->v, q->n++);
}

int ec_lc_timers_pop(struct ec_lc_timers *q, struct ec_lc_timer *t)
{
	if (!q->n)
		return 0;
	*t = q->v[0];
	if (--q->n) {
		q->v[0] = q->v[q->n];
		sift_down(q->v, q->n, 0);
	}
	return 1;
}

void ec_lc_timers_clear(struct ec_lc_timers *q)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		ec_lc_timer_release(&q->v[i]);
	q->n = 0;
}

void ec_lc_timers_release(struct ec_lc_timers *q)
{
	ec_lc_timers_clear(q);
	free(q->v);
	memset(q, 0, sizeof(*q));
}

int ec_lc_timer_cmp(const void *a, const void *b)
{
	const struct ec_lc_timer *x = a, *y = b;
	const char *kx, *ky;
	size_t nx, ny;
	int c;

	if (x->due != y->due)
		return x->due < y->due ? -1 : 1;
	if (ec_lc_timer_kind(x) != ec_lc_timer_kind(y))
		return ec_lc_timer_kind(x) < ec_lc_timer_kind(y) ? -1 : 1;
	kx = ec_lc_timer_key(x, &nx);
	ky = ec_lc_timer_key(y, &ny);
	if (nx != ny)
		return nx < ny ? -1 : 1;
	c = memcmp(kx, ky, nx);
	return (c > 0) - (c < 0);
}
