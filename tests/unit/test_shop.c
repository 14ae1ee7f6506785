/* test_shop.c: unit tests of the simulated shop: determinism, lifecycle, totals, transactions, tables, stopping. */
#include "ec.h"
#include "shop.h"
#include "put.h"
#include "rng.h"
#include "test.h"

#define ORDERS 3000

static struct ec_shop_settings settings(unsigned tables)
{
	return (struct ec_shop_settings){
		.customers = 300,
		.products = 60,
		.orders = ORDERS,
		.seed = 5,
		.start = 1793491200000LL,
		.order_rate = 2,
		.out_of_order = 0.2,
		.max_delay = 60000,
		.tables = tables,
	};
}

static struct ec_shop *new_shop(const struct ec_shop_settings *set)
{
	char err[256];
	struct ec_shop *s = ec_shop_new(set, err, sizeof(err));

	if (!s) {
		printf("# %s\n", err);
		exit(1);
	}
	return s;
}

/* A hash of everything the shop tells about one change or commit. */
static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	return ec_splitmix64(&h);
}

static uint64_t change_hash(int what, const struct ec_shop_change *ch)
{
	uint64_t h = mix(what, ch->txid);
	const struct ec_shop_row *a = ch->after;

	h = mix(h, ch->lsn);
	h = mix(h, (uint64_t)ch->commit_time);
	if (what == EC_SHOP_CHANGE) {
		h = mix(h, (uint64_t)ch->op << 8 | ch->table);
		h = mix(h, a->id);
		if (a->table == EC_SHOP_ORDERS)
			h = mix(h, (uint64_t)a->status << 32 ^ (uint64_t)a->updated_at);
		if (a->table == EC_SHOP_ORDER_ITEMS)
			h = mix(h, a->item->product);
		if (a->table == EC_SHOP_CUSTOMERS)
			h = mix(h, a->customer->city);
		if (a->table == EC_SHOP_PRODUCTS)
			h = mix(h, (uint64_t)a->product->price);
	}
	return h;
}

static uint64_t history_hash(const struct ec_shop_settings *set, uint64_t *nchanges)
{
	struct ec_shop *s = new_shop(set);
	struct ec_shop_change ch;
	uint64_t h = 0;
	int what;

	*nchanges = 0;
	while ((what = ec_shop_next(s, &ch)) != EC_SHOP_END) {
		h = mix(h, change_hash(what, &ch));
		++*nchanges;
	}
	ec_shop_free(s);
	return h;
}

static void test_determinism(void)
{
	struct ec_shop_settings set = settings(EC_SHOP_ALL_TABLES);
	uint64_t n1, n2, n3, h1 = history_hash(&set, &n1), h2 = history_hash(&set, &n2), h3;

	CHECK(h1 == h2 && n1 == n2);
	CHECK(n1 > ORDERS * 3);
	set.seed = 6;
	h3 = history_hash(&set, &n3);
	CHECK(h3 != h1);
}

/* The lifecycle's edges: from a status, the statuses it may go to. */
static int allowed(int from, int to)
{
	switch (from) {
	case EC_SHOP_NEW:
		return to == EC_SHOP_PAID || to == EC_SHOP_CANCELLED;
	case EC_SHOP_PAID:
		return to == EC_SHOP_SHIPPED || to == EC_SHOP_CANCELLED || to == EC_SHOP_REFUNDED;
	case EC_SHOP_SHIPPED:
		return to == EC_SHOP_COMPLETED || to == EC_SHOP_REFUNDED;
	case EC_SHOP_COMPLETED:
		return to == EC_SHOP_REFUNDED;
	default:
		return 0;
	}
}

/* What the log has told about one order so far. */
struct seen {
	int created, status;
	int64_t updated_at;
};

static void test_lifecycle(void)
{
	struct ec_shop_settings set = settings(EC_SHOP_ALL_TABLES);
	struct seen *seen = xcalloc(ORDERS + 1, sizeof(*seen));
	struct ec_shop *s = new_shop(&set);
	int what, bad_edge = 0, bad_before = 0, bad_create = 0, late = 0, unfinished = 0;
	uint64_t created = 0, i;
	struct ec_shop_change ch;

	while ((what = ec_shop_next(s, &ch)) != EC_SHOP_END) {
		const struct ec_shop_row *a = ch.after, *b = ch.before;
		struct seen *o;

		if (what != EC_SHOP_CHANGE || ch.table != EC_SHOP_ORDERS)
			continue;
		o = &seen[a->id];
		if (ch.op == EC_SHOP_CREATE) {
			bad_create += o->created || a->status != EC_SHOP_NEW;
			o->created = 1;
			created++;
		} else {
			/* The before image is what the log last said; the step is an edge. */
			bad_before += !o->created || b->status != o->status || b->updated_at != o->updated_at;
			bad_edge += !allowed(b->status, a->status);
			bad_before += a->updated_at <= b->updated_at;
		}
		late += ch.commit_time > ch.event_time;
		o->status = a->status;
		o->updated_at = a->updated_at;
	}
	for (i = 1; i <= ORDERS; i++)
		unfinished += seen[i].status == EC_SHOP_NEW || seen[i].status == EC_SHOP_PAID ||
			      seen[i].status == EC_SHOP_SHIPPED;
	CHECK_INT(created, ORDERS);
	CHECK_INT(bad_create, 0);
	CHECK_INT(bad_before, 0);
	CHECK_INT(bad_edge, 0);
	CHECK_INT(unfinished, 0);	/* the history ends when every order has */
	CHECK(late > 0);		/* out_of_order commits some late */
	ec_shop_free(s);
	free(seen);
}

static void test_totals(void)
{
	struct ec_shop_settings set = settings(EC_SHOP_ALL_TABLES);
	struct ec_shop *s = new_shop(&set);
	const struct ec_shop_order *order = NULL;
	int64_t sum = 0;
	unsigned nitems = 0, bad_total = 0, bad_items = 0, orders = 0, j;
	uint32_t products[EC_SHOP_MAX_ITEMS];
	struct ec_shop_change ch;
	int what;

	while ((what = ec_shop_next(s, &ch)) != EC_SHOP_END) {
		if (what == EC_SHOP_COMMIT && order) {
			/* The order's total is the sum of the item changes in its transaction. */
			bad_total += sum != order->total;
			bad_items += nitems < 1 || nitems > EC_SHOP_MAX_ITEMS || nitems != order->nitems;
			orders++;
			order = NULL;
		}
		if (what != EC_SHOP_CHANGE || ch.op != EC_SHOP_CREATE)
			continue;
		if (ch.table == EC_SHOP_ORDERS) {
			order = ch.after->order;
			sum = 0;
			nitems = 0;
		} else if (ch.table == EC_SHOP_ORDER_ITEMS) {
			const struct ec_shop_item *it = ch.after->item;
			/* Distinct products: (order_id, product_id) is the items' key. */
			for (j = 0; j < nitems && j < EC_SHOP_MAX_ITEMS; j++)
				bad_items += products[j] == it->product;
			if (nitems < EC_SHOP_MAX_ITEMS)
				products[nitems] = it->product;
			bad_items += it->quantity < 1 || it->unit_price <= 0 || ch.after->order != order;
			sum += it->unit_price * it->quantity;
			nitems++;
		}
	}
	CHECK_INT(orders, ORDERS);
	CHECK_INT(bad_total, 0);
	CHECK_INT(bad_items, 0);
	ec_shop_free(s);
}

static void test_transactions(void)
{
	struct ec_shop_settings set = settings(EC_SHOP_ALL_TABLES);
	struct ec_shop *s = new_shop(&set);
	uint64_t txid = 0, lsn = 0, reads = 0, last_reads = 0, commits = 0;
	int what, open = 0, bad_tx = 0, bad_lsn = 0, bad_read = 0, first = 1;
	struct ec_shop_change ch;

	while ((what = ec_shop_next(s, &ch)) != EC_SHOP_END) {
		if (first) {
			lsn = ch.lsn;
			first = 0;
		}
		if (what == EC_SHOP_COMMIT) {
			bad_tx += open && ch.txid != txid;
			bad_lsn += ch.lsn <= lsn;
			lsn = ch.lsn;
			open = 0;
			commits++;
			continue;
		}
		if (!open) {
			/* A new transaction: a new, higher id. */
			bad_tx += ch.txid <= txid;
			txid = ch.txid;
			open = 1;
		}
		bad_tx += ch.txid != txid;
		if (ch.op == EC_SHOP_READ) {
			/* The snapshot comes first, all at the LSN the stream starts from. */
			bad_read += commits > 0 || ch.lsn != lsn || ch.before;
			reads++;
			last_reads += ch.snapshot_last;
		} else {
			bad_lsn += ch.lsn <= lsn;
			lsn = ch.lsn;
			bad_read += (ch.op == EC_SHOP_UPDATE) != (ch.before != NULL);
		}
	}
	CHECK_INT(reads, 300 + 60);
	CHECK_INT(last_reads, 1);
	CHECK_INT(bad_read, 0);
	CHECK_INT(bad_tx, 0);
	CHECK_INT(bad_lsn, 0);
	CHECK(commits > ORDERS);
	ec_shop_free(s);
}

/* The changes of one table, as (txid, lsn, status) hashes, in order. */
static uint64_t orders_hash(unsigned tables, uint64_t *n)
{
	struct ec_shop_settings set = settings(tables);
	struct ec_shop *s = new_shop(&set);
	struct ec_shop_change ch;
	uint64_t h = 0;
	int what;

	*n = 0;
	while ((what = ec_shop_next(s, &ch)) != EC_SHOP_END) {
		if (what == EC_SHOP_CHANGE && ch.table == EC_SHOP_ORDERS) {
			h = mix(h, change_hash(what, &ch));
			++*n;
		}
		if (what == EC_SHOP_CHANGE && !((tables >> ch.table) & 1))
			h = mix(h, 1);	/* a table not asked for */
	}
	ec_shop_free(s);
	return h;
}

static void test_tables_keep_history(void)
{
	uint64_t n_all, n_orders, n_none;
	uint64_t all = orders_hash(EC_SHOP_ALL_TABLES, &n_all);
	uint64_t orders = orders_hash(1u << EC_SHOP_ORDERS, &n_orders);

	/* Reading fewer tables changes neither the ids nor the LSNs of the rest. */
	CHECK(n_all > ORDERS);
	CHECK(n_all == n_orders && all == orders);
	orders_hash(1u << EC_SHOP_CUSTOMERS, &n_none);
	CHECK_INT(n_none, 0);
}

static void test_stop(void)
{
	struct ec_shop_settings set = settings(EC_SHOP_ALL_TABLES);
	struct ec_shop *s = new_shop(&set);
	struct ec_shop_change ch;
	int what, reads = 0, items = 0;
	uint64_t txid;

	/* In the snapshot: cut short, but committed. */
	while ((what = ec_shop_next(s, &ch)) == EC_SHOP_CHANGE && ++reads < 10)
		;
	ec_shop_stop(s);
	txid = ch.txid;
	what = ec_shop_next(s, &ch);
	CHECK_INT(what, EC_SHOP_COMMIT);
	CHECK(ch.txid == txid);
	CHECK_INT(ec_shop_next(s, &ch), EC_SHOP_END);
	CHECK_INT(ec_shop_next(s, &ch), EC_SHOP_END);
	ec_shop_free(s);

	/* In an order's transaction: its items and commit still come. */
	s = new_shop(&set);
	while ((what = ec_shop_next(s, &ch)) != EC_SHOP_END)
		if (what == EC_SHOP_CHANGE && ch.op == EC_SHOP_CREATE && ch.table == EC_SHOP_ORDERS &&
		    ch.after->order->nitems >= 2)
			break;
	CHECK(what == EC_SHOP_CHANGE);
	txid = ch.txid;
	items = ch.after->order->nitems;
	ec_shop_stop(s);
	while ((what = ec_shop_next(s, &ch)) == EC_SHOP_CHANGE) {
		CHECK(ch.table == EC_SHOP_ORDER_ITEMS && ch.txid == txid);
		items--;
	}
	CHECK_INT(items, 0);
	CHECK_INT(what, EC_SHOP_COMMIT);
	CHECK_INT(ec_shop_next(s, &ch), EC_SHOP_END);
	ec_shop_free(s);	/* orders still in flight are freed too */
}

static void count_word(const struct ec_shop_word *w, void *arg)
{
	unsigned char *seen = arg;

	if (w->id < ec_shop_word_count())
		seen[w->id]++;
	else
		seen[ec_shop_word_count()]++;
}

static void test_vocabulary(void)
{
	size_t n = ec_shop_word_count(), i, ones = 0;
	unsigned char *seen = xcalloc(n + 1, 1);
	struct ec_shop_customer c = { 18, 11, 3, 1 };	/* Hana Müller, São Paulo */
	struct ec_shop_product pr = { 1499, 1, 0, 5, 1 };
	char buf[EC_SHOP_EMAIL_MAX + 1], *end;

	/* Every word has an id of its own in [0, n). */
	ec_shop_words_each(count_word, seen);
	for (i = 0; i < n; i++)
		ones += seen[i] == 1;
	CHECK_INT(ones, n);
	CHECK_INT(seen[n], 0);
	free(seen);

	CHECK_STR(ec_shop_first_name(&c)->text, "Hana");
	CHECK_STR(ec_shop_city(&c)->text, "São Paulo");
	end = ec_shop_put_email(buf, 42, &c);
	*end = '\0';
	CHECK_STR(buf, "hana.mueller42@example.net");
	end = ec_shop_put_sku(buf, 42, &pr);
	*end = '\0';
	CHECK_STR(buf, "BOK-000042");
	end = ec_shop_put_sku(buf, 1234567, &pr);
	*end = '\0';
	CHECK_STR(buf, "BOK-01234567");
}

static void test_bad_settings(void)
{
	struct ec_shop_settings set = settings(EC_SHOP_ALL_TABLES);
	char err[256];

	set.products = 0;
	CHECK(ec_shop_new(&set, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "products") != NULL);
	set = settings(EC_SHOP_ALL_TABLES);
	set.order_rate = 0;
	CHECK(ec_shop_new(&set, err, sizeof(err)) == NULL);
}

int main(void)
{
	RUN(test_determinism);
	RUN(test_lifecycle);
	RUN(test_totals);
	RUN(test_transactions);
	RUN(test_tables_keep_history);
	RUN(test_stop);
	RUN(test_vocabulary);
	RUN(test_bad_settings);
	return test_done();
}
