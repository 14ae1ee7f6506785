/* shop.c: the simulated shop: its vocabulary, rows, order lifecycle, event queues and database log. */
#include "ec.h"
#include "shop.h"
#include "put.h"
#include "rng.h"
#include <math.h>

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* ---- The vocabulary: plausible names, numbered at compile time ---- */

/* W gives each word the next id: ids run from 0 in the order the words appear below. */
enum { WORD_ID_BASE = __COUNTER__ };
#define W(s) { .text = (s), .id = __COUNTER__ - WORD_ID_BASE - 1 }
/* An ASCII string with its length, for e-mail addresses (no strlen per record). */
#define A(s) { (s), sizeof(s) - 1 }

/* Ordered by size: the city popularity is Zipf over this order. */
const struct ec_shop_city ec_shop_cities[] = {
	{ W("Jakarta"), W("Indonesia") }, { W("Tokyo"), W("Japan") },
	{ W("New York"), W("United States") }, { W("São Paulo"), W("Brazil") },
	{ W("London"), W("United Kingdom") }, { W("Mumbai"), W("India") },
	{ W("Mexico City"), W("Mexico") }, { W("Shanghai"), W("China") },
	{ W("Lagos"), W("Nigeria") }, { W("Istanbul"), W("Türkiye") },
	{ W("Paris"), W("France") }, { W("Seoul"), W("South Korea") },
	{ W("Los Angeles"), W("United States") }, { W("Bangkok"), W("Thailand") },
	{ W("Manila"), W("Philippines") }, { W("Berlin"), W("Germany") },
	{ W("Madrid"), W("Spain") }, { W("Toronto"), W("Canada") },
	{ W("Sydney"), W("Australia") }, { W("Surabaya"), W("Indonesia") },
	{ W("Chicago"), W("United States") }, { W("Buenos Aires"), W("Argentina") },
	{ W("Cairo"), W("Egypt") }, { W("Ho Chi Minh City"), W("Vietnam") },
	{ W("Singapore"), W("Singapore") }, { W("Kuala Lumpur"), W("Malaysia") },
	{ W("Nairobi"), W("Kenya") }, { W("Milan"), W("Italy") },
	{ W("Amsterdam"), W("Netherlands") }, { W("Warsaw"), W("Poland") },
	{ W("Stockholm"), W("Sweden") }, { W("Bandung"), W("Indonesia") },
	{ W("Osaka"), W("Japan") }, { W("Bogotá"), W("Colombia") },
	{ W("Cape Town"), W("South Africa") }, { W("Dublin"), W("Ireland") },
	{ W("Zürich"), W("Switzerland") }, { W("Auckland"), W("New Zealand") },
	{ W("Kraków"), W("Poland") }, { W("Reykjavík"), W("Iceland") },
};
#define NCITIES EC_ARRAY_SIZE(ec_shop_cities)

const struct ec_shop_name ec_shop_first_names[] = {
	{ W("Maria"), A("maria") }, { W("James"), A("james") }, { W("Siti"), A("siti") },
	{ W("Wei"), A("wei") }, { W("Aisha"), A("aisha") }, { W("Lucas"), A("lucas") },
	{ W("Yuki"), A("yuki") }, { W("Olivia"), A("olivia") }, { W("Mohammed"), A("mohammed") },
	{ W("Sofia"), A("sofia") }, { W("Arjun"), A("arjun") }, { W("Emma"), A("emma") },
	{ W("Juan"), A("juan") }, { W("Chloe"), A("chloe") }, { W("Dewi"), A("dewi") },
	{ W("Noah"), A("noah") }, { W("Fatima"), A("fatima") }, { W("Liam"), A("liam") },
	{ W("Hana"), A("hana") }, { W("Mateo"), A("mateo") }, { W("Ananya"), A("ananya") },
	{ W("Oliver"), A("oliver") }, { W("Zoë"), A("zoe") }, { W("Kenji"), A("kenji") },
	{ W("Amara"), A("amara") }, { W("Ethan"), A("ethan") }, { W("Putri"), A("putri") },
	{ W("Léon"), A("leon") }, { W("Isabella"), A("isabella") }, { W("Chen"), A("chen") },
	{ W("Nia"), A("nia") }, { W("Gabriel"), A("gabriel") }, { W("Priya"), A("priya") },
	{ W("Elif"), A("elif") }, { W("Ahmad"), A("ahmad") }, { W("Camille"), A("camille") },
	{ W("Rafael"), A("rafael") }, { W("Ingrid"), A("ingrid") }, { W("Tomás"), A("tomas") },
	{ W("Mei"), A("mei") },
};
#define NFIRST_NAMES EC_ARRAY_SIZE(ec_shop_first_names)

const struct ec_shop_name ec_shop_last_names[] = {
	{ W("García"), A("garcia") }, { W("Smith"), A("smith") }, { W("Wijaya"), A("wijaya") },
	{ W("Wang"), A("wang") }, { W("Khan"), A("khan") }, { W("Silva"), A("silva") },
	{ W("Tanaka"), A("tanaka") }, { W("Johnson"), A("johnson") }, { W("Hassan"), A("hassan") },
	{ W("Rossi"), A("rossi") }, { W("Patel"), A("patel") }, { W("Müller"), A("mueller") },
	{ W("Hernández"), A("hernandez") }, { W("Martin"), A("martin") }, { W("Santoso"), A("santoso") },
	{ W("Brown"), A("brown") }, { W("Ali"), A("ali") }, { W("O'Brien"), A("obrien") },
	{ W("Kim"), A("kim") }, { W("Nguyen"), A("nguyen") }, { W("Sharma"), A("sharma") },
	{ W("Williams"), A("williams") }, { W("Lopez"), A("lopez") }, { W("Suzuki"), A("suzuki") },
	{ W("Okafor"), A("okafor") }, { W("Dubois"), A("dubois") }, { W("Kowalski"), A("kowalski") },
	{ W("Jansen"), A("jansen") }, { W("Andersson"), A("andersson") }, { W("Yılmaz"), A("yilmaz") },
	{ W("Pratama"), A("pratama") }, { W("Lee"), A("lee") }, { W("Cohen"), A("cohen") },
	{ W("Novak"), A("novak") }, { W("D'Angelo"), A("dangelo") }, { W("Costa"), A("costa") },
	{ W("Fischer"), A("fischer") }, { W("Rahman"), A("rahman") }, { W("Sato"), A("sato") },
	{ W("Mendoza"), A("mendoza") },
};
#define NLAST_NAMES EC_ARRAY_SIZE(ec_shop_last_names)

/* Reserved example domains, so no address reaches a real mailbox. */
static const struct ec_shop_ascii mail_domains[] = {
	A("example.com"), A("example.net"), A("example.org"), A("mail.example"),
};

const struct ec_shop_category ec_shop_categories[] = {
	{ W("electronics"), "ELE", 15, 1200,
	  { W("Wireless"), W("Smart"), W("Portable"), W("Compact"), W("Ultra"), W("Noise-Cancelling") },
	  { W("Headphones"), W("Speaker"), W("Charger"), W("Keyboard"), W("Mouse"), W("Monitor"),
	    W("Webcam"), W("Power Bank") } },
	{ W("books"), "BOK", 5, 60,
	  { W("Illustrated"), W("Complete"), W("Pocket"), W("Collected"), W("Annotated"), W("Beginner's") },
	  { W("Cookbook"), W("Novel"), W("Atlas"), W("Field Guide"), W("Anthology"), W("Workbook"),
	    W("Biography"), W("Dictionary") } },
	{ W("clothing"), "CLO", 8, 180,
	  { W("Organic Cotton"), W("Slim-Fit"), W("Oversized"), W("Linen"), W("Merino"), W("Classic") },
	  { W("T-Shirt"), W("Hoodie"), W("Jacket"), W("Jeans"), W("Dress"), W("Sweater"),
	    W("Shorts"), W("Scarf") } },
	{ W("shoes"), "SHO", 25, 250,
	  { W("Running"), W("Leather"), W("Waterproof"), W("Canvas"), W("Trail"), W("Everyday") },
	  { W("Sneakers"), W("Boots"), W("Sandals"), W("Loafers"), W("Slippers"), W("Trainers"),
	    W("Clogs"), W("Espadrilles") } },
	{ W("home"), "HOM", 10, 400,
	  { W("Handwoven"), W("Minimalist"), W("Velvet"), W("Rustic"), W("Ceramic"), W("Scandinavian") },
	  { W("Throw Pillow"), W("Rug"), W("Lamp"), W("Vase"), W("Blanket"), W("Mirror"),
	    W("Wall Clock"), W("Curtains") } },
	{ W("kitchen"), "KIT", 6, 350,
	  { W("Stainless"), W("Non-Stick"), W("Cast Iron"), W("Bamboo"), W("Glass"), W("Professional") },
	  { W("Frying Pan"), W("Knife Set"), W("Cutting Board"), W("Kettle"), W("Blender"),
	    W("Coffee Grinder"), W("Mixing Bowls"), W("Dutch Oven") } },
	{ W("beauty"), "BEA", 4, 120,
	  { W("Hydrating"), W("Vegan"), W("Fragrance-Free"), W("Nourishing"), W("Mineral"), W("Overnight") },
	  { W("Face Cream"), W("Serum"), W("Shampoo"), W("Lip Balm"), W("Sunscreen"), W("Body Lotion"),
	    W("Cleanser"), W("Hair Oil") } },
	{ W("toys"), "TOY", 5, 150,
	  { W("Wooden"), W("Magnetic"), W("Educational"), W("Plush"), W("Remote-Control"), W("Glow-in-the-Dark") },
	  { W("Building Blocks"), W("Puzzle"), W("Robot"), W("Train Set"), W("Teddy Bear"),
	    W("Board Game"), W("Kite"), W("Doll House") } },
	{ W("sports"), "SPO", 8, 600,
	  { W("Adjustable"), W("Lightweight"), W("Foldable"), W("Carbon"), W("Pro"), W("Insulated") },
	  { W("Yoga Mat"), W("Dumbbells"), W("Water Bottle"), W("Tennis Racket"), W("Bike Helmet"),
	    W("Jump Rope"), W("Backpack"), W("Tent") } },
	{ W("garden"), "GAR", 5, 300,
	  { W("Solar"), W("Self-Watering"), W("Heavy-Duty"), W("Weatherproof"), W("Ergonomic"), W("Raised") },
	  { W("Planter"), W("Hose"), W("Pruning Shears"), W("Garden Bed"), W("Bird Feeder"),
	    W("Lantern"), W("Seed Kit"), W("Wheelbarrow") } },
	{ W("grocery"), "GRO", 2, 40,
	  { W("Organic"), W("Single-Origin"), W("Roasted"), W("Wildflower"), W("Cold-Pressed"), W("Artisan") },
	  { W("Coffee Beans"), W("Honey"), W("Olive Oil"), W("Green Tea"), W("Dark Chocolate"),
	    W("Granola"), W("Pasta"), W("Hot Sauce") } },
	{ W("pets"), "PET", 4, 160,
	  { W("Grain-Free"), W("Chew-Proof"), W("Orthopedic"), W("Interactive"), W("Reflective"), W("Self-Cleaning") },
	  { W("Dog Food"), W("Cat Tree"), W("Pet Bed"), W("Leash"), W("Litter Box"), W("Chew Toy"),
	    W("Aquarium"), W("Bird Cage") } },
};
#define NCATEGORIES EC_ARRAY_SIZE(ec_shop_categories)
/* Every category's SKU prefix has three letters. */
#define SKU_PREFIX_LEN 3

const struct ec_shop_word ec_shop_brands[] = {
	W("Aurora"), W("Bluepeak"), W("Cedarline"), W("Driftwood"), W("Ember & Oak"),
	W("Fjell"), W("Granite Co."), W("Halcyon"), W("Ironbark"), W("Juniper"),
	W("Kestrel"), W("Lumen"), W("Maple Row"), W("Northstar"), W("Oakridge"),
	W("Pebble"), W("Quill"), W("Redfern"), W("Sable"), W("Tidewater"),
	W("Umbra"), W("Verdant"), W("Willow"), W("Xeno"), W("Yarrow"),
	W("Zephyr"), W("Brightside"), W("Copperleaf"), W("Solstice"), W("Harbor & Vine"),
};
#define NBRANDS EC_ARRAY_SIZE(ec_shop_brands)

const struct ec_shop_word ec_shop_statuses[EC_SHOP_NSTATUSES] = {
	W("NEW"), W("PAID"), W("SHIPPED"), W("COMPLETED"), W("CANCELLED"), W("REFUNDED"),
};

const struct ec_shop_word ec_shop_payment_methods[] = {
	W("card"), W("paypal"), W("wallet"), W("bank_transfer"), W("cash_on_delivery"),
};
static const unsigned payment_weights[] = { 58, 14, 13, 10, 5 };

const struct ec_shop_word ec_shop_devices[] = {
	W("mobile"), W("desktop"), W("tablet"),
};
static const unsigned device_weights[] = { 57, 34, 9 };

const struct ec_shop_word ec_shop_table_names[EC_SHOP_NTABLES] = {
	W("customers"), W("products"), W("orders"), W("order_items"),
};

enum { WORD_COUNT = __COUNTER__ - WORD_ID_BASE - 1 };
#undef W
#undef A

_Static_assert(EC_ARRAY_SIZE(payment_weights) == EC_ARRAY_SIZE(ec_shop_payment_methods),
	       "a weight per payment method");
_Static_assert(EC_ARRAY_SIZE(device_weights) == EC_ARRAY_SIZE(ec_shop_devices), "a weight per device");

/* Lines per order and quantity per line, 1 to 5. */
static const unsigned lines_weights[EC_SHOP_MAX_ITEMS] = { 45, 25, 15, 10, 5 };
static const unsigned quantity_weights[5] = { 70, 19, 6, 3, 2 };

/* Bytes of WAL each row change of a table takes, so LSNs look like real ones. */
static const unsigned wal_row_bytes[EC_SHOP_NTABLES] = { 136, 168, 152, 104 };
#define WAL_COMMIT_BYTES 48

size_t ec_shop_word_count(void)
{
	return WORD_COUNT;
}

void ec_shop_words_each(void (*fn)(const struct ec_shop_word *w, void *arg), void *arg)
{
	size_t i, j;

	for (i = 0; i < NCITIES; i++) {
		fn(&ec_shop_cities[i].name, arg);
		fn(&ec_shop_cities[i].country, arg);
	}
	for (i = 0; i < NFIRST_NAMES; i++)
		fn(&ec_shop_first_names[i].word, arg);
	for (i = 0; i < NLAST_NAMES; i++)
		fn(&ec_shop_last_names[i].word, arg);
	for (i = 0; i < NCATEGORIES; i++) {
		fn(&ec_shop_categories[i].name, arg);
		for (j = 0; j < EC_SHOP_ADJECTIVES; j++)
			fn(&ec_shop_categories[i].adj[j], arg);
		for (j = 0; j < EC_SHOP_NOUNS; j++)
			fn(&ec_shop_categories[i].noun[j], arg);
	}
	for (i = 0; i < NBRANDS; i++)
		fn(&ec_shop_brands[i], arg);
	for (i = 0; i < EC_SHOP_NSTATUSES; i++)
		fn(&ec_shop_statuses[i], arg);
	for (i = 0; i < EC_ARRAY_SIZE(ec_shop_payment_methods); i++)
		fn(&ec_shop_payment_methods[i], arg);
	for (i = 0; i < EC_ARRAY_SIZE(ec_shop_devices); i++)
		fn(&ec_shop_devices[i], arg);
	for (i = 0; i < EC_SHOP_NTABLES; i++)
		fn(&ec_shop_table_names[i], arg);
}

static inline char *put_ascii(char *p, const struct ec_shop_ascii *a)
{
	return ec_put_mem(p, a->text, a->len);
}

char *ec_shop_put_email(char *p, uint64_t id, const struct ec_shop_customer *c)
{
	p = put_ascii(p, &ec_shop_first_names[c->first].mail);
	*p++ = '.';
	p = put_ascii(p, &ec_shop_last_names[c->last].mail);
	p = ec_put_u64(p, id);
	*p++ = '@';
	return put_ascii(p, &mail_domains[c->domain]);
}

char *ec_shop_put_sku(char *p, uint64_t id, const struct ec_shop_product *pr)
{
	p = ec_put_mem(p, ec_shop_categories[pr->category].sku_prefix, SKU_PREFIX_LEN);
	*p++ = '-';
	return ec_put_u64_width(p, id, id < 1000000 ? 6 : 8);
}

/* ---- Events in time: a binary heap ordered by (time, seq) ---- */

/* What happens at a point of event time. */
enum event_kind {
	EV_ORDER_ARRIVAL,	/* a new order is placed */
	EV_TRANSITION,		/* an order changes status */
	EV_SIGNUP,		/* a new customer */
	EV_MOVE,		/* a customer changes city */
	EV_PRODUCT_CHANGE,	/* a product changes price or category */
	EV_EMIT_CREATED,	/* a held-back order creation is committed */
	EV_EMIT_STATUS,		/* a held-back status change is committed */
};

/* seq breaks ties in creation order, so the history is deterministic. */
struct event {
	int64_t time;
	uint64_t seq;
	struct ec_shop_order *order;
	uint8_t kind, status;
};

struct heap {
	struct event *ev;
	size_t n, alloc;
};

static inline int event_before(const struct event *a, const struct event *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void heap_push(struct heap *h, const struct event *e)
{
	size_t i, parent;

	EC_GROW(h->ev, h->n + 1, h->alloc);
	i = h->n++;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!event_before(e, &h->ev[parent]))
			break;
		h->ev[i] = h->ev[parent];
		i = parent;
	}
	h->ev[i] = *e;
}

/*
 * Floyd's bottom-up pop: the hole left at the root goes down to a leaf
 * along the earlier children (one comparison per level), then the last
 * event, which came from the bottom, rises from there, rarely far. The
 * order is total, so any heap pops the same sequence.
 */
static void heap_pop(struct heap *h, struct event *top)
{
	struct event last;
	size_t i = 0, c, parent, n;

	*top = h->ev[0];
	n = --h->n;
	if (!n)
		return;
	last = h->ev[n];
	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && event_before(&h->ev[c + 1], &h->ev[c]))
			c++;
		h->ev[i] = h->ev[c];
		i = c;
	}
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!event_before(&last, &h->ev[parent]))
			break;
		h->ev[i] = h->ev[parent];
		i = parent;
	}
	h->ev[i] = last;
}

static inline const struct event *heap_top(const struct heap *h)
{
	return h->n ? &h->ev[0] : NULL;
}

/* ---- The shop's state ---- */

/*
 * Orders are carved out of blocks: most orders are in flight for days of
 * event time, and one malloc each cost more than the rest of an order's
 * making. 256 keeps a block (about 38 KiB) under malloc's mmap threshold.
 */
#define ORDER_BLOCK 256
struct order_block {
	struct order_block *next;
	struct ec_shop_order orders[ORDER_BLOCK];
};

/* What the transaction being read is about. */
enum tx_kind { TX_NONE, TX_SNAPSHOT, TX_ORDER_CREATED, TX_ORDER_STATUS, TX_CUSTOMER, TX_PRODUCT };

/*
 * The transaction ec_shop_next() is reading: its changes are made one at
 * a time from the shop's state, which does not move until the commit.
 */
struct tx {
	enum tx_kind kind;
	int multi;
	uint64_t txid;
	uint64_t next, end;		/* the next change's index, and the end of them */
	struct ec_shop_order *order;	/* orders: a reference held until the commit */
	uint64_t id;			/* customers, products */
	int update;			/* customers: a move (update), not a sign-up */
	int64_t event_time;
};

struct ec_shop {
	struct ec_shop_settings set;
	struct ec_rng rng;

	/* the rows: customers grow by sign-ups, products are fixed */
	struct ec_shop_customer *customers;
	size_t ncustomers, customers_alloc;
	struct ec_shop_product *products;
	size_t nproducts;
	uint32_t *product_by_rank;	/* popularity rank -> product id */
	struct ec_zipf product_pop, city_pop;
	uint64_t orders_created;

	/* the simulation: future events, and events held back to be committed late */
	struct heap pending, delayed;
	struct order_block *order_blocks;	/* the newest first */
	size_t block_used;		/* orders handed out of the newest block */
	struct ec_shop_order *free_orders;
	uint64_t seq;
	int64_t clock;			/* commit time, ms */
	double order_gap;		/* mean ms between orders */
	int stopping;

	/* the database log */
	uint64_t txid, lsn, snapshot_lsn;
	struct tx tx;
	struct ec_shop_customer old_customer;	/* before images */
	struct ec_shop_product old_product;
	struct ec_shop_row before, after;
};

static inline int table_wanted(const struct ec_shop *s, enum ec_shop_table t)
{
	return (s->set.tables >> t) & 1;
}

const struct ec_shop_customer *ec_shop_customer(const struct ec_shop *s, uint64_t id)
{
	return &s->customers[id - 1];
}

const struct ec_shop_product *ec_shop_product(const struct ec_shop *s, uint64_t id)
{
	return &s->products[id - 1];
}

static void schedule(struct ec_shop *s, struct heap *h, int64_t time, enum event_kind kind,
		     struct ec_shop_order *o, int status)
{
	struct event e = { time, s->seq++, o, (uint8_t)kind, (uint8_t)status };

	if (o)
		o->refs++;
	heap_push(h, &e);
}

/* Final orders go to a free list: as many orders are in flight tomorrow as today. */
static void order_unref(struct ec_shop *s, struct ec_shop_order *o)
{
	if (--o->refs == 0) {
		o->next_free = s->free_orders;
		s->free_orders = o;
	}
}

/* A new order, zeroed: a final one reused, or the next of the newest block. */
static struct ec_shop_order *order_alloc(struct ec_shop *s)
{
	struct ec_shop_order *o = s->free_orders;
	struct order_block *b;

	if (o) {
		s->free_orders = o->next_free;
	} else {
		if (!s->order_blocks || s->block_used == ORDER_BLOCK) {
			b = xmalloc(sizeof(*b));
			b->next = s->order_blocks;
			s->order_blocks = b;
			s->block_used = 0;
		}
		o = &s->order_blocks->orders[s->block_used++];
	}
	memset(o, 0, sizeof(*o));
	return o;
}

/* ---- The database log: transactions read one change at a time ---- */

static void tx_begin(struct ec_shop *s, enum tx_kind kind, int multi, uint64_t end)
{
	s->tx = (struct tx){
		.kind = kind,
		.multi = multi,
		.txid = ++s->txid,
		.end = end,
		.event_time = s->clock,
	};
}

/* An order's transaction holds the order until its commit has been read. */
static void tx_begin_order(struct ec_shop *s, enum tx_kind kind, struct ec_shop_order *o)
{
	if (kind == TX_ORDER_CREATED)
		tx_begin(s, kind, 1, 1 + o->nitems);
	else
		tx_begin(s, kind, 0, 1);
	s->tx.order = o;
	s->tx.event_time = o->updated_at;
	o->refs++;
}

/* The snapshot: every customer, then every product, of the tables read. */
static void tx_begin_snapshot(struct ec_shop *s)
{
	tx_begin(s, TX_SNAPSHOT, 1, s->ncustomers + s->nproducts);
	if (!table_wanted(s, EC_SHOP_CUSTOMERS))
		s->tx.next = s->ncustomers;
	if (!table_wanted(s, EC_SHOP_PRODUCTS))
		s->tx.end = s->ncustomers;
}

static struct ec_shop_row customer_row(uint64_t id, const struct ec_shop_customer *c)
{
	return (struct ec_shop_row){ .table = EC_SHOP_CUSTOMERS, .id = id, .customer = c };
}

static struct ec_shop_row product_row(uint64_t id, const struct ec_shop_product *pr)
{
	return (struct ec_shop_row){ .table = EC_SHOP_PRODUCTS, .id = id, .product = pr };
}

static struct ec_shop_row order_row(const struct ec_shop_order *o, int status, int64_t updated_at)
{
	return (struct ec_shop_row){
		.table = EC_SHOP_ORDERS, .id = o->id, .order = o, .status = status, .updated_at = updated_at,
	};
}

static struct ec_shop_row item_row(const struct ec_shop_order *o, unsigned i)
{
	return (struct ec_shop_row){ .table = EC_SHOP_ORDER_ITEMS, .order = o, .item = &o->items[i] };
}

/* Change I of the snapshot: a read at the LSN the stream starts from. */
static void snapshot_row(struct ec_shop *s, uint64_t i)
{
	if (i < s->ncustomers)
		s->after = customer_row(i + 1, &s->customers[i]);
	else
		s->after = product_row(i - s->ncustomers + 1, &s->products[i - s->ncustomers]);
}

/* The table change I of a stream transaction is a change of. */
static enum ec_shop_table stream_table(const struct tx *tx, uint64_t i)
{
	switch (tx->kind) {
	case TX_ORDER_CREATED:
		return i == 0 ? EC_SHOP_ORDERS : EC_SHOP_ORDER_ITEMS;
	case TX_CUSTOMER:
		return EC_SHOP_CUSTOMERS;
	case TX_PRODUCT:
		return EC_SHOP_PRODUCTS;
	default:
		return EC_SHOP_ORDERS;
	}
}

/*
 * Change I of the current transaction into *CH; 0 when its table is not
 * read. The LSN moves for every change, read or not, so the tables read
 * never change the history.
 */
static int tx_change(struct ec_shop *s, uint64_t i, struct ec_shop_change *ch)
{
	struct tx *tx = &s->tx;
	const struct ec_shop_order *o = tx->order;
	enum ec_shop_op op = EC_SHOP_CREATE;
	enum ec_shop_table table;

	if (tx->kind == TX_SNAPSHOT) {
		/* Reads take no WAL: they all carry the LSN the stream starts from. */
		snapshot_row(s, i);
		*ch = (struct ec_shop_change){
			.op = EC_SHOP_READ, .table = s->after.table, .after = &s->after,
			.snapshot_last = i + 1 == tx->end, .multi = 1,
			.txid = tx->txid, .lsn = s->snapshot_lsn,
			.event_time = tx->event_time, .commit_time = s->clock,
		};
		return 1;
	}
	table = stream_table(tx, i);
	s->lsn += wal_row_bytes[table];
	if (!table_wanted(s, table))
		return 0;
	switch (tx->kind) {
	case TX_ORDER_CREATED:
		s->after = i == 0 ? order_row(o, o->status, o->updated_at) : item_row(o, (unsigned)i - 1);
		break;
	case TX_ORDER_STATUS:
		op = EC_SHOP_UPDATE;
		s->before = order_row(o, o->prev_status, o->prev_updated_at);
		s->after = order_row(o, o->status, o->updated_at);
		break;
	case TX_CUSTOMER:
		if (tx->update) {
			op = EC_SHOP_UPDATE;
			s->before = customer_row(tx->id, &s->old_customer);
		}
		s->after = customer_row(tx->id, &s->customers[tx->id - 1]);
		break;
	case TX_PRODUCT:
		op = EC_SHOP_UPDATE;
		s->before = product_row(tx->id, &s->old_product);
		s->after = product_row(tx->id, &s->products[tx->id - 1]);
		break;
	default:
		break;
	}
	*ch = (struct ec_shop_change){
		.op = op, .table = table,
		.before = op == EC_SHOP_UPDATE ? &s->before : NULL, .after = &s->after,
		.multi = tx->multi, .txid = tx->txid, .lsn = s->lsn,
		.event_time = tx->event_time, .commit_time = s->clock,
	};
	return 1;
}

/* The commit ends the transaction; its order may now go back to the free list. */
static void tx_commit(struct ec_shop *s, struct ec_shop_change *ch)
{
	s->lsn += WAL_COMMIT_BYTES;
	*ch = (struct ec_shop_change){
		.multi = s->tx.multi, .txid = s->tx.txid, .lsn = s->lsn,
		.event_time = s->clock, .commit_time = s->clock,
	};
	if (s->tx.order)
		order_unref(s, s->tx.order);
	s->tx.kind = TX_NONE;
	s->tx.order = NULL;
}

/* The next change of the current transaction, or its commit. */
static int tx_next(struct ec_shop *s, struct ec_shop_change *ch)
{
	struct tx *tx = &s->tx;

	while (tx->next < tx->end) {
		if (tx->kind == TX_SNAPSHOT && s->stopping)
			break;
		if (tx_change(s, tx->next++, ch))
			return EC_SHOP_CHANGE;
	}
	tx_commit(s, ch);
	return EC_SHOP_COMMIT;
}

/* ---- Drawing the shop ---- */

/* A price like 14.99, 14.49 or 15.00, log-uniform in the category's range. */
static int64_t draw_price(struct ec_shop *s, const struct ec_shop_category *cat)
{
	double d = cat->lo * pow((double)cat->hi / cat->lo, ec_rng_unit(&s->rng));
	int64_t whole = (int64_t)d;
	unsigned ending = (unsigned)ec_rng_below(&s->rng, 10);

	if (ending < 7)
		return whole > 0 ? whole * 100 - 1 : 99;
	if (ending < 9)
		return whole * 100 + 49;
	return (whole > 0 ? whole : 1) * 100;
}

static void draw_customer(struct ec_shop *s, struct ec_shop_customer *c)
{
	c->first = (uint16_t)ec_rng_below(&s->rng, NFIRST_NAMES);
	c->last = (uint16_t)ec_rng_below(&s->rng, NLAST_NAMES);
	c->city = (uint16_t)ec_zipf_draw(&s->city_pop, &s->rng);
	c->domain = (uint16_t)ec_rng_below(&s->rng, EC_ARRAY_SIZE(mail_domains));
}

static void draw_product(struct ec_shop *s, struct ec_shop_product *pr)
{
	pr->category = (uint16_t)ec_rng_below(&s->rng, NCATEGORIES);
	pr->brand = (uint16_t)ec_rng_below(&s->rng, NBRANDS);
	pr->adj = (uint16_t)ec_rng_below(&s->rng, EC_SHOP_ADJECTIVES);
	pr->noun = (uint16_t)ec_rng_below(&s->rng, EC_SHOP_NOUNS);
	pr->price = draw_price(s, &ec_shop_categories[pr->category]);
}

static void draw_rows(struct ec_shop *s)
{
	size_t i, j;
	uint32_t t;

	ec_zipf_init(&s->city_pop, NCITIES, 1.0);
	ec_zipf_init(&s->product_pop, s->set.products, 1.0);
	s->ncustomers = s->set.customers;
	EC_GROW(s->customers, s->ncustomers, s->customers_alloc);
	for (i = 0; i < s->ncustomers; i++)
		draw_customer(s, &s->customers[i]);
	s->nproducts = s->set.products;
	s->products = xcalloc(s->nproducts, sizeof(*s->products));
	for (i = 0; i < s->nproducts; i++)
		draw_product(s, &s->products[i]);
	/* Which products are the hot ones: a shuffle, so popularity is not by id. */
	s->product_by_rank = xmalloc(s->nproducts * sizeof(*s->product_by_rank));
	for (i = 0; i < s->nproducts; i++)
		s->product_by_rank[i] = (uint32_t)(i + 1);
	for (i = s->nproducts - 1; i > 0; i--) {
		j = (size_t)ec_rng_below(&s->rng, i + 1);
		t = s->product_by_rank[i];
		s->product_by_rank[i] = s->product_by_rank[j];
		s->product_by_rank[j] = t;
	}
}

static uint32_t draw_hot_product(struct ec_shop *s)
{
	return s->product_by_rank[ec_zipf_draw(&s->product_pop, &s->rng)];
}

/* Older customers have bought more often: density falls off gently with the id. */
static uint64_t draw_buyer(struct ec_shop *s)
{
	double u = ec_rng_unit(&s->rng);
	return (uint64_t)((double)s->ncustomers * u * sqrt(u)) + 1;
}

static int order_has_product(const struct ec_shop_order *o, unsigned n, uint32_t product)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (o->items[i].product == product)
			return 1;
	return 0;
}

static struct ec_shop_order *new_order(struct ec_shop *s, int64_t t)
{
	struct ec_shop_order *o = order_alloc(s);
	unsigned i, tries;
	uint32_t product;

	o->id = ++s->orders_created;
	o->customer_id = draw_buyer(s);
	o->created_at = o->updated_at = o->prev_updated_at = t;
	o->status = o->prev_status = EC_SHOP_NEW;
	o->nitems = (uint8_t)(ec_rng_weighted(&s->rng, lines_weights, EC_SHOP_MAX_ITEMS) + 1);
	if (o->nitems > s->nproducts)
		o->nitems = (uint8_t)s->nproducts;
	/* Distinct products per order: (order_id, product_id) is the items' key. */
	for (i = 0; i < o->nitems; i++) {
		product = draw_hot_product(s);
		for (tries = 0; order_has_product(o, i, product); tries++) {
			if (tries < 16)
				product = draw_hot_product(s);
			else
				product = (uint32_t)(product % s->nproducts + 1);
		}
		o->items[i].product = product;
		o->items[i].quantity = ec_rng_weighted(&s->rng, quantity_weights, 5) + 1;
		o->items[i].unit_price = s->products[product - 1].price;
		o->total += o->items[i].unit_price * o->items[i].quantity;
	}
	o->payment = (uint8_t)ec_rng_weighted(&s->rng, payment_weights, EC_ARRAY_SIZE(payment_weights));
	o->device = (uint8_t)ec_rng_weighted(&s->rng, device_weights, EC_ARRAY_SIZE(device_weights));
	o->refs = 1;		/* the caller's, dropped when it is done */
	return o;
}

/* ---- The simulation ---- */

/*
 * When an event at T is committed: at T, or for the out_of_order share
 * up to max_delay later, so later events overtake it.
 */
static int64_t draw_release(struct ec_shop *s, int64_t t)
{
	if (ec_rng_unit(&s->rng) < s->set.out_of_order && s->set.max_delay > 0)
		return t + ec_rng_range(&s->rng, 1, s->set.max_delay);
	return t;
}

/*
 * Decide the order's next step from its status now (at T). It happens
 * after the current event's commit (RELEASE), so one order's changes are
 * always committed in lifecycle order.
 */
static void schedule_next_step(struct ec_shop *s, struct ec_shop_order *o, int64_t t, int64_t release)
{
	double u = ec_rng_unit(&s->rng);
	int64_t gap;
	int next;

	switch (o->status) {
	case EC_SHOP_NEW:
		if (u < 0.85) {
			next = EC_SHOP_PAID;
			gap = 5 * SEC + ec_rng_exp(&s->rng, 150.0 * SEC);
			if (gap > 30 * MIN)
				gap = 30 * MIN;
		} else {
			next = EC_SHOP_CANCELLED;
			gap = ec_rng_range(&s->rng, 1 * MIN, 60 * MIN);
		}
		break;
	case EC_SHOP_PAID:
		if (u < 0.94) {
			next = EC_SHOP_SHIPPED;
			gap = 30 * MIN + ec_rng_exp(&s->rng, 8.0 * HOUR);
			if (gap > 48 * HOUR)
				gap = 48 * HOUR;
		} else if (u < 0.99) {
			next = EC_SHOP_CANCELLED;
			gap = ec_rng_range(&s->rng, 10 * MIN, 12 * HOUR);
		} else {
			next = EC_SHOP_REFUNDED;
			gap = ec_rng_range(&s->rng, 1 * HOUR, 3 * DAY);
		}
		break;
	case EC_SHOP_SHIPPED:
		if (u < 0.995) {
			next = EC_SHOP_COMPLETED;
			gap = ec_rng_range(&s->rng, 1 * DAY, 3 * DAY);
		} else {
			next = EC_SHOP_REFUNDED;
			gap = ec_rng_range(&s->rng, 1 * DAY, 7 * DAY);
		}
		break;
	case EC_SHOP_COMPLETED:
		if (u >= 0.015)
			return;
		next = EC_SHOP_REFUNDED;
		gap = ec_rng_range(&s->rng, 1 * DAY, 14 * DAY);
		break;
	default:
		return;		/* CANCELLED and REFUNDED are final */
	}
	t += gap;
	if (t <= release)
		t = release + 1;
	schedule(s, &s->pending, t, EV_TRANSITION, o, next);
}

static int orders_done(const struct ec_shop *s)
{
	return s->set.orders && s->orders_created >= s->set.orders;
}

static void process_arrival(struct ec_shop *s, int64_t t)
{
	struct ec_shop_order *o = new_order(s, t);
	int64_t release = draw_release(s, t);

	schedule_next_step(s, o, t, release);
	if (release > t)
		schedule(s, &s->delayed, release, EV_EMIT_CREATED, o, 0);
	else
		tx_begin_order(s, TX_ORDER_CREATED, o);
	order_unref(s, o);
	if (!orders_done(s))
		schedule(s, &s->pending, t + ec_rng_exp(&s->rng, s->order_gap), EV_ORDER_ARRIVAL, NULL, 0);
}

static void process_transition(struct ec_shop *s, const struct event *ev)
{
	struct ec_shop_order *o = ev->order;
	int64_t release;

	o->prev_status = o->status;
	o->prev_updated_at = o->updated_at;
	o->status = ev->status;
	o->updated_at = ev->time;
	o->nevents++;
	release = draw_release(s, ev->time);
	schedule_next_step(s, o, ev->time, release);
	if (release > ev->time)
		schedule(s, &s->delayed, release, EV_EMIT_STATUS, o, 0);
	else
		tx_begin_order(s, TX_ORDER_STATUS, o);
	order_unref(s, o);
}

/* Customers sign up, move and products change while orders come in; they rest when orders end. */
static void schedule_dimension(struct ec_shop *s, int64_t t, enum event_kind kind, double orders_per_event)
{
	if (!orders_done(s))
		schedule(s, &s->pending, t + ec_rng_exp(&s->rng, s->order_gap * orders_per_event), kind, NULL, 0);
}

static void process_signup(struct ec_shop *s, int64_t t)
{
	EC_GROW(s->customers, s->ncustomers + 1, s->customers_alloc);
	draw_customer(s, &s->customers[s->ncustomers++]);
	tx_begin(s, TX_CUSTOMER, 0, 1);
	s->tx.id = s->ncustomers;
	schedule_dimension(s, t, EV_SIGNUP, 25);
}

static void process_move(struct ec_shop *s, int64_t t)
{
	uint64_t id = ec_rng_below(&s->rng, s->ncustomers) + 1;
	struct ec_shop_customer *c = &s->customers[id - 1];
	int tries;

	s->old_customer = *c;
	for (tries = 0; tries < 8 && c->city == s->old_customer.city; tries++)
		c->city = (uint16_t)ec_zipf_draw(&s->city_pop, &s->rng);
	if (c->city == s->old_customer.city)
		c->city = (uint16_t)((s->old_customer.city + 1) % NCITIES);
	tx_begin(s, TX_CUSTOMER, 0, 1);
	s->tx.id = id;
	s->tx.update = 1;
	schedule_dimension(s, t, EV_MOVE, 200);
}

static void process_product_change(struct ec_shop *s, int64_t t)
{
	uint32_t id = draw_hot_product(s);
	struct ec_shop_product *pr = &s->products[id - 1];
	const struct ec_shop_product old = *pr;
	double factor;
	int64_t price;

	if (ec_rng_unit(&s->rng) < 0.8 || NCATEGORIES < 2) {
		/* A price change of -20% to +25%, keeping the .99/.49/.00 ending. */
		factor = 0.8 + 0.45 * ec_rng_unit(&s->rng);
		price = (int64_t)((double)old.price * factor / 100.0) * 100 + old.price % 100;
		if (price < 99)
			price = 99;
		if (price == old.price)
			price += 100;
		pr->price = price;
	} else {
		pr->category = (uint16_t)((old.category + 1 + ec_rng_below(&s->rng, NCATEGORIES - 1))
					  % NCATEGORIES);
	}
	s->old_product = old;
	tx_begin(s, TX_PRODUCT, 0, 1);
	s->tx.id = id;
	schedule_dimension(s, t, EV_PRODUCT_CHANGE, 100);
}

static void process(struct ec_shop *s, const struct event *ev)
{
	switch (ev->kind) {
	case EV_ORDER_ARRIVAL:
		process_arrival(s, ev->time);
		break;
	case EV_TRANSITION:
		process_transition(s, ev);
		break;
	case EV_SIGNUP:
		process_signup(s, ev->time);
		break;
	case EV_MOVE:
		process_move(s, ev->time);
		break;
	case EV_PRODUCT_CHANGE:
		process_product_change(s, ev->time);
		break;
	case EV_EMIT_CREATED:
		tx_begin_order(s, TX_ORDER_CREATED, ev->order);
		order_unref(s, ev->order);
		break;
	case EV_EMIT_STATUS:
		tx_begin_order(s, TX_ORDER_STATUS, ev->order);
		order_unref(s, ev->order);
		break;
	}
}

/*
 * Process the next event in time: the future events merged with the
 * held-back ones, a held-back one first on a tie (its release time has
 * come). 0 when there are none left.
 */
static int step(struct ec_shop *s)
{
	const struct event *p = heap_top(&s->pending), *d = heap_top(&s->delayed);
	struct event ev;

	if (d && (!p || d->time <= p->time))
		heap_pop(&s->delayed, &ev);
	else if (p)
		heap_pop(&s->pending, &ev);
	else
		return 0;
	s->clock = ev.time;
	process(s, &ev);
	return 1;
}

int ec_shop_next(struct ec_shop *s, struct ec_shop_change *ch)
{
	for (;;) {
		if (s->tx.kind != TX_NONE)
			return tx_next(s, ch);
		if (s->stopping || !step(s))
			return EC_SHOP_END;
	}
}

void ec_shop_stop(struct ec_shop *s)
{
	s->stopping = 1;
}

static int check_settings(const struct ec_shop_settings *set, char *errstr, size_t errstr_size)
{
	const char *bad = NULL;

	if (set->customers < 1)
		bad = "there must be at least one customer";
	else if (set->products < 1 || set->products > UINT32_MAX)
		bad = "products must be from 1 to 4294967295 (ids are 32 bits)";
	else if (!(set->order_rate > 0) || !isfinite(set->order_rate))
		bad = "the order rate must be above zero";
	else if (!(set->out_of_order >= 0 && set->out_of_order <= 1))
		bad = "the out-of-order share must be from 0 to 1";
	else if (set->max_delay < 0)
		bad = "the maximum delay must not be negative";
	if (bad) {
		snprintf(errstr, errstr_size, "shop: %s", bad);
		return -1;
	}
	return 0;
}

struct ec_shop *ec_shop_new(const struct ec_shop_settings *set, char *errstr, size_t errstr_size)
{
	struct ec_shop *s;

	if (check_settings(set, errstr, errstr_size) < 0)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->set = *set;
	s->txid = 500;
	s->snapshot_lsn = s->lsn = 24000000;
	s->order_gap = 1000.0 / set->order_rate;
	s->clock = set->start;
	ec_rng_seed(&s->rng, set->seed);
	draw_rows(s);
	tx_begin_snapshot(s);
	schedule(s, &s->pending, set->start + ec_rng_exp(&s->rng, s->order_gap), EV_ORDER_ARRIVAL, NULL, 0);
	schedule_dimension(s, set->start, EV_SIGNUP, 25);
	schedule_dimension(s, set->start, EV_MOVE, 200);
	schedule_dimension(s, set->start, EV_PRODUCT_CHANGE, 100);
	return s;
}

void ec_shop_free(struct ec_shop *s)
{
	struct order_block *b;

	if (!s)
		return;
	/* Every order lives in a block: no need to follow the references. */
	while ((b = s->order_blocks)) {
		s->order_blocks = b->next;
		free(b);
	}
	free(s->pending.ev);
	free(s->delayed.ev);
	free(s->customers);
	free(s->products);
	free(s->product_by_rank);
	ec_zipf_release(&s->product_pop);
	ec_zipf_release(&s->city_pop);
	free(s);
}
