/* shop.h: a deterministic simulated e-commerce shop whose database changes are read one at a time, in commit order. */
#ifndef EC_SHOP_H
#define EC_SHOP_H

#include "ec.h"

/*
 * The shop has customers, products, orders and order items, four tables
 * of a database. Customers sign up and move, products change price or
 * category, and orders are placed and go through their lifecycle:
 *
 *   NEW -> PAID | CANCELLED
 *   PAID -> SHIPPED | CANCELLED | REFUNDED
 *   SHIPPED -> COMPLETED | REFUNDED
 *   COMPLETED -> REFUNDED (rarely; otherwise COMPLETED is final)
 *
 * ec_shop_next() reads the database's log: first a snapshot transaction
 * holding every customer and product, then one transaction per thing that
 * happens, each change with its before and after row, transaction id and
 * LSN, and a commit at the end of each transaction. A share of the order
 * events is committed late (out of order in event time), but one order's
 * changes are always committed in lifecycle order.
 *
 * Everything follows from the settings: the same settings give the same
 * history, whichever tables are read. The shop knows nothing of output
 * formats; lib/shop_format.h writes its changes as text.
 */

enum ec_shop_table {
	EC_SHOP_CUSTOMERS,
	EC_SHOP_PRODUCTS,
	EC_SHOP_ORDERS,
	EC_SHOP_ORDER_ITEMS,
	EC_SHOP_NTABLES
};
#define EC_SHOP_ALL_TABLES ((1u << EC_SHOP_NTABLES) - 1)

enum ec_shop_status {
	EC_SHOP_NEW,
	EC_SHOP_PAID,
	EC_SHOP_SHIPPED,
	EC_SHOP_COMPLETED,
	EC_SHOP_CANCELLED,
	EC_SHOP_REFUNDED,
	EC_SHOP_NSTATUSES
};

/* Lines per order: 1 to this many, each a distinct product. */
#define EC_SHOP_MAX_ITEMS 5

struct ec_shop_settings {
	uint64_t customers;		/* in the snapshot, >= 1 */
	uint64_t products;		/* in the catalogue, >= 1; the catalogue does not grow */
	uint64_t orders;		/* orders to place; 0 = forever */
	uint64_t seed;
	int64_t start;			/* event time of the snapshot, epoch ms */
	double order_rate;		/* orders per second of event time, > 0 */
	double out_of_order;		/* share of order events committed late, 0 to 1 */
	int64_t max_delay;		/* how late at most, ms of event time */
	unsigned tables;		/* bit mask (1 << enum ec_shop_table): the changes to read */
};

/* ---- The vocabulary ---- */

/*
 * A word the shop's rows are made of (names, cities, categories, statuses,
 * ...): UTF-8 text, unescaped. ID numbers all words from 0 to
 * ec_shop_word_count() - 1, so a writer can keep per-word forms (escaped
 * for JSON or SQL) in an array instead of escaping on every use.
 */
struct ec_shop_word {
	const char *text;
	unsigned id;
};

size_t ec_shop_word_count(void);
/* Call FN once for every word of the vocabulary. */
void ec_shop_words_each(void (*fn)(const struct ec_shop_word *w, void *arg), void *arg);

/* The tables behind the accessors below; read them through those. */
struct ec_shop_city {
	struct ec_shop_word name, country;
};
struct ec_shop_ascii {
	const char *text;
	size_t len;
};
struct ec_shop_name {
	struct ec_shop_word word;
	struct ec_shop_ascii mail;	/* lowercase ASCII form for e-mail addresses */
};
#define EC_SHOP_ADJECTIVES 6
#define EC_SHOP_NOUNS 8
struct ec_shop_category {
	struct ec_shop_word name;
	const char *sku_prefix;		/* three capitals */
	int lo, hi;			/* price range in whole currency units */
	struct ec_shop_word adj[EC_SHOP_ADJECTIVES], noun[EC_SHOP_NOUNS];
};
extern const struct ec_shop_city ec_shop_cities[];
extern const struct ec_shop_name ec_shop_first_names[], ec_shop_last_names[];
extern const struct ec_shop_category ec_shop_categories[];
extern const struct ec_shop_word ec_shop_brands[], ec_shop_statuses[], ec_shop_payment_methods[],
	ec_shop_devices[], ec_shop_table_names[];

/* ---- Rows ---- */

/* Every field indexes the vocabulary. */
struct ec_shop_customer {
	uint16_t first, last, city, domain;
};

struct ec_shop_product {
	int64_t price;			/* cents */
	uint16_t category, brand, adj, noun;
};

struct ec_shop_item {
	uint32_t product;		/* id */
	uint32_t quantity;
	int64_t unit_price;		/* cents, the product's price when ordered */
};

/* An order as it is now, and as it was before its last status change. */
struct ec_shop_order {
	uint64_t id, customer_id;
	int64_t created_at, updated_at, prev_updated_at;
	int64_t total;			/* cents: the sum of unit_price * quantity of the items */
	uint8_t status, prev_status;	/* enum ec_shop_status */
	uint8_t nitems;
	uint8_t nevents;		/* status changes so far */
	uint8_t payment, device;	/* index ec_shop_payment_methods, ec_shop_devices */
	struct ec_shop_item items[EC_SHOP_MAX_ITEMS];
	/* the shop's bookkeeping */
	uint8_t refs;
	struct ec_shop_order *next_free;
};

/*
 * One version of one row. Customers and products: ID and the row.
 * Orders: ORDER with this version's STATUS and UPDATED_AT (ID is the
 * order's). Order items: ORDER and ITEM (ID is 0; the key is the order's
 * id and the item's product).
 */
struct ec_shop_row {
	enum ec_shop_table table;
	uint64_t id;
	const struct ec_shop_customer *customer;
	const struct ec_shop_product *product;
	const struct ec_shop_order *order;
	int status;
	int64_t updated_at;
	const struct ec_shop_item *item;
};

static inline const struct ec_shop_word *ec_shop_first_name(const struct ec_shop_customer *c)
{
	return &ec_shop_first_names[c->first].word;
}

static inline const struct ec_shop_word *ec_shop_last_name(const struct ec_shop_customer *c)
{
	return &ec_shop_last_names[c->last].word;
}

static inline const struct ec_shop_word *ec_shop_city(const struct ec_shop_customer *c)
{
	return &ec_shop_cities[c->city].name;
}

static inline const struct ec_shop_word *ec_shop_country(const struct ec_shop_customer *c)
{
	return &ec_shop_cities[c->city].country;
}

static inline const struct ec_shop_word *ec_shop_category(const struct ec_shop_product *pr)
{
	return &ec_shop_categories[pr->category].name;
}

/* A product's name is its adjective and its noun, with a space between. */
static inline const struct ec_shop_word *ec_shop_adjective(const struct ec_shop_product *pr)
{
	return &ec_shop_categories[pr->category].adj[pr->adj];
}

static inline const struct ec_shop_word *ec_shop_noun(const struct ec_shop_product *pr)
{
	return &ec_shop_categories[pr->category].noun[pr->noun];
}

static inline const struct ec_shop_word *ec_shop_brand(const struct ec_shop_product *pr)
{
	return &ec_shop_brands[pr->brand];
}

static inline const struct ec_shop_word *ec_shop_status_word(int status)
{
	return &ec_shop_statuses[status];
}

static inline const struct ec_shop_word *ec_shop_payment(const struct ec_shop_order *o)
{
	return &ec_shop_payment_methods[o->payment];
}

static inline const struct ec_shop_word *ec_shop_device(const struct ec_shop_order *o)
{
	return &ec_shop_devices[o->device];
}

static inline const struct ec_shop_word *ec_shop_table_name(enum ec_shop_table t)
{
	return &ec_shop_table_names[t];
}

/*
 * Customer ID's e-mail address and product ID's SKU, written at P (see
 * lib/put.h) and the end returned. Both are printable ASCII without
 * quotes or backslashes, so they need no escaping in JSON or SQL.
 */
#define EC_SHOP_EMAIL_MAX 64
#define EC_SHOP_SKU_MAX 32
char *ec_shop_put_email(char *p, uint64_t id, const struct ec_shop_customer *c);
char *ec_shop_put_sku(char *p, uint64_t id, const struct ec_shop_product *pr);

/* ---- The simulation ---- */

enum ec_shop_op {
	EC_SHOP_READ = 'r',		/* a row of the snapshot */
	EC_SHOP_CREATE = 'c',
	EC_SHOP_UPDATE = 'u',
};

/* What ec_shop_next() read. */
enum ec_shop_event {
	EC_SHOP_END = 0,		/* the history is over (or stopped) */
	EC_SHOP_CHANGE,			/* a row change */
	EC_SHOP_COMMIT,			/* the end of the transaction of the changes before it */
};

/*
 * A row change, or a commit: then BEFORE and AFTER are NULL and only
 * MULTI, TXID, LSN and the times are set. Pointers stay valid until the
 * next ec_shop_next() call. LSNs rise by the bytes each change would take
 * in PostgreSQL's WAL, whether its table is read or not; the snapshot's
 * reads all carry the LSN the stream starts from.
 */
struct ec_shop_change {
	enum ec_shop_op op;
	enum ec_shop_table table;
	const struct ec_shop_row *before;	/* updates only */
	const struct ec_shop_row *after;
	int snapshot_last;		/* the last read of the snapshot */
	int multi;			/* its transaction may hold more than one change */
	uint64_t txid, lsn;
	int64_t event_time;		/* when it happened */
	int64_t commit_time;		/* when it was committed: later for late events */
};

struct ec_shop;

/* A new shop in the state of the snapshot; NULL with errstr on bad settings. */
struct ec_shop *ec_shop_new(const struct ec_shop_settings *set, char *errstr, size_t errstr_size);
void ec_shop_free(struct ec_shop *s);

/*
 * Read the next change or commit of the tables in the settings' mask,
 * into *CH. Returns enum ec_shop_event: EC_SHOP_END when every order has
 * been placed and has reached its final status (never with orders = 0).
 */
int ec_shop_next(struct ec_shop *s, struct ec_shop_change *ch);

/*
 * Stop at the end of the current transaction: ec_shop_next() still
 * returns that transaction's remaining changes and commit, then END.
 * A snapshot is cut short (its commit still comes). For stop signals.
 */
void ec_shop_stop(struct ec_shop *s);

/* The rows as they are now, by id (1-based; customers grow by sign-ups). */
const struct ec_shop_customer *ec_shop_customer(const struct ec_shop *s, uint64_t id);
const struct ec_shop_product *ec_shop_product(const struct ec_shop *s, uint64_t id);

#endif
