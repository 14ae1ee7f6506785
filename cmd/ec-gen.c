/* ec-gen.c: a deterministic synthetic e-commerce shop, streamed as CDC change events, SQL or flat order lines. */
#include "ec.h"
#include "ckpt.h"
#include "jsonw.h"
#include "log.h"
#include "opt.h"
#include "timefmt.h"
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#define SYNOPSIS "ec-gen [OPTION]..."
#define DESCRIPTION \
	"Generate a synthetic shop (customers, products, orders, order items) and its\n" \
	"order lifecycle as Debezium change events, SQL for psql, or flat order lines.\n" \
	"The same --seed and options give the same bytes."

/* Flush the output buffer once it holds this much. */
#define OUT_FLUSH_AT (64 * 1024)
/* Room reserved before writing one record; the longest record is about 1.5 KiB. */
#define RECORD_MAX 4096
/* Rows per multi-row INSERT of the SQL snapshot. */
#define SQL_BATCH_ROWS 500
#define MAX_ITEMS 5
#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* ---- Random numbers: splitmix64 seeds xoshiro256**; never the C library's rand(). ---- */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct rng {
	uint64_t s[4];
};

static void rng_seed(struct rng *r, uint64_t seed)
{
	uint64_t state = seed;
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&state);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n) for n > 0, without modulo bias (Lemire's multiply-shift). */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
	unsigned __int128 m = (unsigned __int128)rng_next(r) * n;
	uint64_t low = (uint64_t)m, threshold;

	if (low < n) {
		threshold = (0 - n) % n;
		while (low < threshold) {
			m = (unsigned __int128)rng_next(r) * n;
			low = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

/* Uniform in [lo, hi]. */
static int64_t rng_range(struct rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* Exponentially distributed with the given mean (for arrivals and waits). */
static int64_t rng_exp(struct rng *r, double mean)
{
	return (int64_t)(-log1p(-rng_unit(r)) * mean);
}

/* A Zipf-like popularity: rank i has weight 1/(i+1)^s; drawn by binary search of the CDF. */
struct zipf {
	double *cdf;
	size_t n;
};

static void zipf_init(struct zipf *z, size_t n, double s)
{
	double sum = 0;
	size_t i;

	z->cdf = xmalloc(n * sizeof(*z->cdf));
	z->n = n;
	for (i = 0; i < n; i++) {
		sum += pow((double)(i + 1), -s);
		z->cdf[i] = sum;
	}
}

static size_t zipf_draw(const struct zipf *z, struct rng *r)
{
	double u = rng_unit(r) * z->cdf[z->n - 1];
	size_t lo = 0, hi = z->n - 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void zipf_release(struct zipf *z)
{
	free(z->cdf);
	z->cdf = NULL;
}

/* ---- The vocabulary: plausible names, escaped once for JSON and SQL. ---- */

struct word {
	const char *text;
	char *json;		/* escaped for inside a JSON string, no quotes */
	char *sql;		/* escaped for inside a SQL literal ('' doubled), no quotes */
	size_t json_len, sql_len;
};

/* Only the text is written in the tables; the escaped forms are made at start. */
#define W(s) { .text = (s) }

/* A choice with a weight out of the sum of its table's weights. */
struct choice {
	struct word w;
	unsigned weight;
};

struct city {
	struct word name, country;
};

/* Ordered by size: the city popularity is Zipf over this order. */
static struct city cities[] = {
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

/* A person's name as shown, and its ASCII form for e-mail addresses. */
struct name_part {
	struct word w;
	const char *mail;
};

static struct name_part first_names[] = {
	{ W("Maria"), "maria" }, { W("James"), "james" }, { W("Siti"), "siti" },
	{ W("Wei"), "wei" }, { W("Aisha"), "aisha" }, { W("Lucas"), "lucas" },
	{ W("Yuki"), "yuki" }, { W("Olivia"), "olivia" }, { W("Mohammed"), "mohammed" },
	{ W("Sofia"), "sofia" }, { W("Arjun"), "arjun" }, { W("Emma"), "emma" },
	{ W("Juan"), "juan" }, { W("Chloe"), "chloe" }, { W("Dewi"), "dewi" },
	{ W("Noah"), "noah" }, { W("Fatima"), "fatima" }, { W("Liam"), "liam" },
	{ W("Hana"), "hana" }, { W("Mateo"), "mateo" }, { W("Ananya"), "ananya" },
	{ W("Oliver"), "oliver" }, { W("Zoë"), "zoe" }, { W("Kenji"), "kenji" },
	{ W("Amara"), "amara" }, { W("Ethan"), "ethan" }, { W("Putri"), "putri" },
	{ W("Léon"), "leon" }, { W("Isabella"), "isabella" }, { W("Chen"), "chen" },
	{ W("Nia"), "nia" }, { W("Gabriel"), "gabriel" }, { W("Priya"), "priya" },
	{ W("Elif"), "elif" }, { W("Ahmad"), "ahmad" }, { W("Camille"), "camille" },
	{ W("Rafael"), "rafael" }, { W("Ingrid"), "ingrid" }, { W("Tomás"), "tomas" },
	{ W("Mei"), "mei" },
};

static struct name_part last_names[] = {
	{ W("García"), "garcia" }, { W("Smith"), "smith" }, { W("Wijaya"), "wijaya" },
	{ W("Wang"), "wang" }, { W("Khan"), "khan" }, { W("Silva"), "silva" },
	{ W("Tanaka"), "tanaka" }, { W("Johnson"), "johnson" }, { W("Hassan"), "hassan" },
	{ W("Rossi"), "rossi" }, { W("Patel"), "patel" }, { W("Müller"), "mueller" },
	{ W("Hernández"), "hernandez" }, { W("Martin"), "martin" }, { W("Santoso"), "santoso" },
	{ W("Brown"), "brown" }, { W("Ali"), "ali" }, { W("O'Brien"), "obrien" },
	{ W("Kim"), "kim" }, { W("Nguyen"), "nguyen" }, { W("Sharma"), "sharma" },
	{ W("Williams"), "williams" }, { W("Lopez"), "lopez" }, { W("Suzuki"), "suzuki" },
	{ W("Okafor"), "okafor" }, { W("Dubois"), "dubois" }, { W("Kowalski"), "kowalski" },
	{ W("Jansen"), "jansen" }, { W("Andersson"), "andersson" }, { W("Yılmaz"), "yilmaz" },
	{ W("Pratama"), "pratama" }, { W("Lee"), "lee" }, { W("Cohen"), "cohen" },
	{ W("Novak"), "novak" }, { W("D'Angelo"), "dangelo" }, { W("Costa"), "costa" },
	{ W("Fischer"), "fischer" }, { W("Rahman"), "rahman" }, { W("Sato"), "sato" },
	{ W("Mendoza"), "mendoza" },
};

/* Reserved example domains, so no address reaches a real mailbox. */
static const char *const mail_domains[] = {
	"example.com", "example.net", "example.org", "mail.example",
};

#define N_ADJ 6
#define N_NOUN 8
struct category {
	struct word name;
	const char *sku_prefix;
	int lo, hi;		/* price range in whole currency units */
	struct word adj[N_ADJ], noun[N_NOUN];
};

static struct category categories[] = {
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

static struct word brands[] = {
	W("Aurora"), W("Bluepeak"), W("Cedarline"), W("Driftwood"), W("Ember & Oak"),
	W("Fjell"), W("Granite Co."), W("Halcyon"), W("Ironbark"), W("Juniper"),
	W("Kestrel"), W("Lumen"), W("Maple Row"), W("Northstar"), W("Oakridge"),
	W("Pebble"), W("Quill"), W("Redfern"), W("Sable"), W("Tidewater"),
	W("Umbra"), W("Verdant"), W("Willow"), W("Xeno"), W("Yarrow"),
	W("Zephyr"), W("Brightside"), W("Copperleaf"), W("Solstice"), W("Harbor & Vine"),
};

enum status { ST_NEW, ST_PAID, ST_SHIPPED, ST_COMPLETED, ST_CANCELLED, ST_REFUNDED };
static struct word statuses[] = {
	W("NEW"), W("PAID"), W("SHIPPED"), W("COMPLETED"), W("CANCELLED"), W("REFUNDED"),
};

static struct choice payment_methods[] = {
	{ W("card"), 58 }, { W("paypal"), 14 }, { W("wallet"), 13 },
	{ W("bank_transfer"), 10 }, { W("cash_on_delivery"), 5 },
};
static struct choice devices[] = {
	{ W("mobile"), 57 }, { W("desktop"), 34 }, { W("tablet"), 9 },
};
/* Lines per order and quantity per line, 1 to 5. */
static const unsigned lines_weights[MAX_ITEMS] = { 45, 25, 15, 10, 5 };
static const unsigned quantity_weights[5] = { 70, 19, 6, 3, 2 };

enum table { T_CUSTOMERS, T_PRODUCTS, T_ORDERS, T_ORDER_ITEMS, T_COUNT };
static struct word table_names[T_COUNT] = {
	W("customers"), W("products"), W("orders"), W("order_items"),
};
#define ALL_TABLES ((1u << T_COUNT) - 1)
/* Bytes of WAL each row change of a table takes, so LSNs look like real ones. */
static const unsigned wal_row_bytes[T_COUNT] = { 136, 168, 152, 104 };
#define WAL_COMMIT_BYTES 48

static void word_init(struct word *w)
{
	struct ec_buf b = EC_BUF_INIT;
	const char *s;
	size_t n = strlen(w->text);

	ec_jsonw_str(&b, w->text, n);
	w->json = xstrndup(b.buf + 1, b.len - 2);
	w->json_len = b.len - 2;
	ec_buf_reset(&b);
	for (s = w->text; *s; s++) {
		if (*s == '\'')
			ec_buf_addch(&b, '\'');
		ec_buf_addch(&b, *s);
	}
	w->sql = ec_buf_detach(&b, &w->sql_len);
}

static void words_init(void)
{
	size_t i, j;

	for (i = 0; i < EC_ARRAY_SIZE(cities); i++) {
		word_init(&cities[i].name);
		word_init(&cities[i].country);
	}
	for (i = 0; i < EC_ARRAY_SIZE(first_names); i++)
		word_init(&first_names[i].w);
	for (i = 0; i < EC_ARRAY_SIZE(last_names); i++)
		word_init(&last_names[i].w);
	for (i = 0; i < EC_ARRAY_SIZE(categories); i++) {
		word_init(&categories[i].name);
		for (j = 0; j < N_ADJ; j++)
			word_init(&categories[i].adj[j]);
		for (j = 0; j < N_NOUN; j++)
			word_init(&categories[i].noun[j]);
	}
	for (i = 0; i < EC_ARRAY_SIZE(brands); i++)
		word_init(&brands[i]);
	for (i = 0; i < EC_ARRAY_SIZE(statuses); i++)
		word_init(&statuses[i]);
	for (i = 0; i < EC_ARRAY_SIZE(payment_methods); i++)
		word_init(&payment_methods[i].w);
	for (i = 0; i < EC_ARRAY_SIZE(devices); i++)
		word_init(&devices[i].w);
	for (i = 0; i < T_COUNT; i++)
		word_init(&table_names[i]);
}

static unsigned pick_weighted(struct rng *r, const unsigned *weights, size_t n)
{
	unsigned total = 0, x;
	size_t i;

	for (i = 0; i < n; i++)
		total += weights[i];
	x = (unsigned)rng_below(r, total);
	for (i = 0; i + 1 < n && x >= weights[i]; i++)
		x -= weights[i];
	return (unsigned)i;
}

static unsigned pick_choice(struct rng *r, const struct choice *c, size_t n)
{
	unsigned total = 0, x;
	size_t i;

	for (i = 0; i < n; i++)
		total += c[i].weight;
	x = (unsigned)rng_below(r, total);
	for (i = 0; i + 1 < n && x >= c[i].weight; i++)
		x -= c[i].weight;
	return (unsigned)i;
}

/* ---- Settings ---- */

enum format { FMT_DEBEZIUM, FMT_SQL, FMT_FLAT };

struct settings {
	enum format format;
	uint64_t customers, products, orders, seed;
	int64_t start;			/* event time of the snapshot, epoch ms */
	double rate;			/* records per second of real time, 0 = unpaced */
	double order_rate;		/* orders per simulated second */
	double out_of_order;		/* share of order events emitted late */
	int64_t max_delay;		/* how late, at most, in ms of event time */
	unsigned tables;		/* bit mask of enum table */
	const char *ack_path;
	int64_t checkpoint_interval;	/* ms of wall clock */
	uint64_t checkpoint_records;	/* 0 = by interval */
};

static const struct settings default_settings = {
	.format = FMT_DEBEZIUM,
	.customers = 1000,
	.products = 200,
	.orders = 10000,
	.seed = 1,
	.start = 1793491200000LL,	/* 2026-11-01T00:00:00Z */
	.rate = 0,
	.order_rate = 2,
	.out_of_order = 0.05,
	.max_delay = 30 * SEC,
	.tables = ALL_TABLES,
	.ack_path = NULL,
	.checkpoint_interval = 5 * SEC,
	.checkpoint_records = 0,
};

/* ---- The shop's state ---- */

struct customer {
	uint16_t first, last, city, domain;
};

struct product {
	int64_t price;			/* cents */
	uint16_t category, brand, adj, noun;
};

struct item {
	uint32_t product;		/* id */
	uint32_t quantity;
	int64_t unit_price;		/* cents, the product's price when ordered */
};

/*
 * An order in flight. It lives while a heap entry points at it: the next
 * lifecycle step, or an event of it held back to be emitted late.
 */
struct order {
	uint64_t id, customer_id;
	int64_t created_at, updated_at, prev_updated_at;
	int64_t total;			/* cents */
	uint8_t status, prev_status, nitems, nevents;
	uint8_t payment, device, refs;
	struct item items[MAX_ITEMS];
	struct order *next_free;	/* in the free list, once final */
};

/* What happens at a point of event time. */
enum event_kind {
	EV_ORDER_ARRIVAL,	/* a new order is placed */
	EV_TRANSITION,		/* an order changes status */
	EV_SIGNUP,		/* a new customer */
	EV_MOVE,		/* a customer changes city */
	EV_PRODUCT_CHANGE,	/* a product changes price or category */
	EV_EMIT_CREATED,	/* a held-back order creation is emitted */
	EV_EMIT_STATUS,		/* a held-back status change is emitted */
};

/* Ordered by (time, seq): seq breaks ties in creation order, so the output is deterministic. */
struct event {
	int64_t time;
	uint64_t seq;
	struct order *order;
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

static void heap_pop(struct heap *h, struct event *top)
{
	struct event last;
	size_t i = 0, c;

	*top = h->ev[0];
	last = h->ev[--h->n];
	for (;;) {
		c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && event_before(&h->ev[c + 1], &h->ev[c]))
			c++;
		if (!event_before(&h->ev[c], &last))
			break;
		h->ev[i] = h->ev[c];
		i = c;
	}
	if (h->n)
		h->ev[i] = last;
}

static inline const struct event *heap_top(const struct heap *h)
{
	return h->n ? &h->ev[0] : NULL;
}

struct gen {
	struct settings set;
	struct rng rng;
	struct ec_buf out;

	/* the shop: customers grow by sign-ups, products are fixed */
	struct customer *customers;
	size_t ncustomers, customers_alloc;
	struct product *products;
	size_t nproducts;
	uint32_t *product_by_rank;	/* popularity rank -> product id */
	struct zipf product_pop, city_pop;
	uint64_t orders_created;

	/* the simulation: future events, and events held back to arrive late */
	struct heap pending, delayed;
	struct order *free_orders;
	uint64_t seq;
	int64_t clock;			/* simulated commit time, ms */
	double order_gap;		/* mean ms between orders */

	/* the database log the changes go to */
	uint64_t txid, lsn, snapshot_lsn;
	int sql_tx_wanted, sql_tx_open;	/* BEGIN written lazily, so filtered tables leave none */
	int sql_batch_table;		/* table of an open multi-row INSERT, or -1 */
	unsigned sql_batch_rows;

	/* records and checkpoints */
	uint64_t pos;			/* data records so far, including skipped ones */
	uint64_t skip;			/* records already delivered before a restart */
	uint64_t ckpt_id, acked, last_barrier_pos;
	int barriers_sent;
	int64_t next_barrier_ns;
	unsigned tick;

	/* pacing */
	int64_t pace_start_ns;
	uint64_t paced;

	/* cached "YYYY-MM-DDT" of the last day formatted */
	int64_t day_cached;
	char day_text[EC_TIME_BUFSZ];
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Fast formatting straight into the output buffer ---- */

#define PUT(p, lit) ((p) = put_mem((p), (lit), sizeof(lit) - 1))

static inline char *put_mem(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static inline char *put_json(char *p, const struct word *w)
{
	return put_mem(p, w->json, w->json_len);
}

static inline char *put_sql(char *p, const struct word *w)
{
	return put_mem(p, w->sql, w->sql_len);
}

static inline char *put_cstr(char *p, const char *s)
{
	return put_mem(p, s, strlen(s));
}

static char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_i64(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		return put_u64(p, (uint64_t)0 - (uint64_t)v);
	}
	return put_u64(p, (uint64_t)v);
}

/* V as exactly WIDTH digits, zero-padded (V must fit). */
static char *put_u64_width(char *p, uint64_t v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/* Cents as a decimal with two places: 12345 -> "123.45". */
static char *put_money(char *p, int64_t cents)
{
	uint64_t u;

	if (cents < 0) {
		*p++ = '-';
		u = (uint64_t)0 - (uint64_t)cents;
	} else {
		u = (uint64_t)cents;
	}
	p = put_u64(p, u / 100);
	*p++ = '.';
	return put_u64_width(p, u % 100, 2);
}

/*
 * RFC 3339 UTC with milliseconds (as ec_time_format writes it). The
 * calendar part is formatted once per day; the time of day is digits.
 */
static char *put_time(struct gen *g, char *p, int64_t ms)
{
	int64_t day = ms >= 0 ? ms / DAY : -((-ms + DAY - 1) / DAY);
	int64_t rem = ms - day * DAY;

	if (day != g->day_cached) {
		ec_time_format(day * DAY, g->day_text);
		g->day_cached = day;
	}
	p = put_mem(p, g->day_text, 11);	/* "2026-11-01T" */
	p = put_u64_width(p, (uint64_t)(rem / HOUR), 2);
	*p++ = ':';
	p = put_u64_width(p, (uint64_t)(rem / MIN % 60), 2);
	*p++ = ':';
	p = put_u64_width(p, (uint64_t)(rem / SEC % 60), 2);
	*p++ = '.';
	p = put_u64_width(p, (uint64_t)(rem % SEC), 3);
	*p++ = 'Z';
	return p;
}

static const char hex_digits[] = "0123456789abcdef";

/* A deterministic UUID (version 4 layout) for flat events, from a hash of what the event is. */
static char *put_event_id(struct gen *g, char *p, const struct order *o, unsigned line)
{
	uint64_t h = g->set.seed ^ (o->id * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)o->nevents << 56) ^ line;
	uint64_t a = splitmix64(&h), b = splitmix64(&h);
	unsigned char bytes[16];
	int i;

	for (i = 0; i < 8; i++) {
		bytes[i] = (unsigned char)(a >> (56 - 8 * i));
		bytes[8 + i] = (unsigned char)(b >> (56 - 8 * i));
	}
	bytes[6] = (unsigned char)((bytes[6] & 0x0f) | 0x40);
	bytes[8] = (unsigned char)((bytes[8] & 0x3f) | 0x80);
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex_digits[bytes[i] >> 4];
		*p++ = hex_digits[bytes[i] & 15];
	}
	return p;
}

/* ASCII only, so the same bytes serve JSON and SQL. */
static char *put_email(char *p, uint64_t id, const struct customer *c)
{
	p = put_cstr(p, first_names[c->first].mail);
	*p++ = '.';
	p = put_cstr(p, last_names[c->last].mail);
	p = put_u64(p, id);
	*p++ = '@';
	return put_cstr(p, mail_domains[c->domain]);
}

static char *put_sku(char *p, uint64_t id, const struct product *pr)
{
	p = put_cstr(p, categories[pr->category].sku_prefix);
	*p++ = '-';
	return put_u64_width(p, id, id < 1000000 ? 6 : 8);
}

/* ---- Output, records, checkpoints and pacing ---- */

static void out_flush(struct gen *g, int to_reader)
{
	if (g->out.len) {
		ec_out_write(g->out.buf, g->out.len);
		ec_buf_reset(&g->out);
	}
	if (to_reader)
		fflush(stdout);
}

/* Room for one more record; the caller writes at the returned pointer. */
static inline char *out_reserve(struct gen *g)
{
	if (EC_UNLIKELY(g->out.alloc - g->out.len < RECORD_MAX))
		ec_buf_grow(&g->out, RECORD_MAX);
	return g->out.buf + g->out.len;
}

static inline void out_commit(struct gen *g, char *p)
{
	g->out.len = (size_t)(p - g->out.buf);
	g->out.buf[g->out.len] = '\0';
}

static void barrier(struct gen *g)
{
	struct ec_ack ack = EC_ACK_INIT;
	char err[512], pos[24];

	/* Re-read the ack file: the sink moves it forward as data lands. */
	if (ec_ack_read(g->set.ack_path, &ack, err, sizeof(err)) < 0)
		ec_warn("%s", err);
	else
		g->acked = ack.id;
	ec_ack_release(&ack);
	snprintf(pos, sizeof(pos), "%" PRIu64, g->pos);
	ec_ctl_barrier(&g->out, ++g->ckpt_id, pos, g->acked);
	g->last_barrier_pos = g->pos;
	g->barriers_sent = 1;
	/* Downstream commits on a barrier: let it see the barrier now. */
	out_flush(g, 1);
}

static int barrier_due_by_clock(struct gen *g, int64_t now)
{
	if (now < g->next_barrier_ns)
		return 0;
	g->next_barrier_ns = now + g->set.checkpoint_interval * 1000000;
	return 1;
}

static void sleep_until(int64_t when_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(when_ns / 1000000000),
		.tv_nsec = (long)(when_ns % 1000000000),
	};

	/* A stop signal interrupts the sleep (EINTR) and the caller sees ec_run. */
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* With --rate: hold the next record back until its time; barriers stay on time meanwhile. */
static void pace(struct gen *g)
{
	int64_t due = g->pace_start_ns + (int64_t)((double)g->paced++ * 1e9 / g->set.rate);
	int64_t now = mono_ns(), until;

	if (now >= due)
		return;
	out_flush(g, 1);
	while (now < due && ec_run) {
		until = due;
		if (g->set.ack_path && !g->set.checkpoint_records) {
			if (barrier_due_by_clock(g, now))
				barrier(g);
			if (g->next_barrier_ns < until)
				until = g->next_barrier_ns;
		}
		sleep_until(until);
		now = mono_ns();
	}
}

/*
 * Before one data record: 0 when it is to be skipped because a previous
 * run already delivered it (--ack resume); it still counts as a position.
 */
static inline int record_begin(struct gen *g)
{
	if (EC_UNLIKELY(g->pos < g->skip)) {
		g->pos++;
		return 0;
	}
	return 1;
}

static void record_end(struct gen *g, char *p)
{
	out_commit(g, p);
	g->pos++;
	if (g->out.len >= OUT_FLUSH_AT)
		out_flush(g, 0);
	if (g->set.ack_path) {
		if (g->set.checkpoint_records) {
			if (g->pos % g->set.checkpoint_records == 0)
				barrier(g);
		} else if ((++g->tick & 63) == 0 || g->set.rate > 0) {
			if (barrier_due_by_clock(g, mono_ns()))
				barrier(g);
		}
	}
	if (g->set.rate > 0)
		pace(g);
}

static inline int table_wanted(const struct gen *g, enum table t)
{
	return (g->set.tables >> t) & 1;
}

/* ---- Rows and changes, written as Debezium JSON or SQL ---- */

/* One version of one row. */
struct row {
	enum table table;
	uint64_t id;			/* customers, products, orders */
	const struct customer *customer;
	const struct product *product;
	const struct order *order;	/* orders, order_items */
	int status;			/* orders: this version's status ... */
	int64_t updated_at;		/* ... and updated_at */
	const struct item *item;	/* order_items */
};

struct change {
	char op;			/* r (snapshot read), c, u */
	const char *snapshot;		/* "true", "last", "false" */
	const struct row *before, *after;
	uint64_t txid, lsn;
};

static char *json_row(struct gen *g, char *p, const struct row *r)
{
	const struct customer *c = r->customer;
	const struct product *pr = r->product;
	const struct order *o = r->order;

	switch (r->table) {
	case T_CUSTOMERS:
		PUT(p, "{\"id\":");
		p = put_u64(p, r->id);
		PUT(p, ",\"name\":\"");
		p = put_json(p, &first_names[c->first].w);
		*p++ = ' ';
		p = put_json(p, &last_names[c->last].w);
		PUT(p, "\",\"email\":\"");
		p = put_email(p, r->id, c);
		PUT(p, "\",\"city\":\"");
		p = put_json(p, &cities[c->city].name);
		PUT(p, "\",\"country\":\"");
		p = put_json(p, &cities[c->city].country);
		PUT(p, "\"}");
		break;
	case T_PRODUCTS:
		PUT(p, "{\"id\":");
		p = put_u64(p, r->id);
		PUT(p, ",\"sku\":\"");
		p = put_sku(p, r->id, pr);
		PUT(p, "\",\"name\":\"");
		p = put_json(p, &categories[pr->category].adj[pr->adj]);
		*p++ = ' ';
		p = put_json(p, &categories[pr->category].noun[pr->noun]);
		PUT(p, "\",\"category\":\"");
		p = put_json(p, &categories[pr->category].name);
		PUT(p, "\",\"brand\":\"");
		p = put_json(p, &brands[pr->brand]);
		PUT(p, "\",\"price\":\"");
		p = put_money(p, pr->price);
		PUT(p, "\"}");
		break;
	case T_ORDERS:
		PUT(p, "{\"id\":");
		p = put_u64(p, o->id);
		PUT(p, ",\"customer_id\":");
		p = put_u64(p, o->customer_id);
		PUT(p, ",\"status\":\"");
		p = put_json(p, &statuses[r->status]);
		PUT(p, "\",\"total_amount\":\"");
		p = put_money(p, o->total);
		PUT(p, "\",\"currency\":\"USD\",\"created_at\":\"");
		p = put_time(g, p, o->created_at);
		PUT(p, "\",\"updated_at\":\"");
		p = put_time(g, p, r->updated_at);
		PUT(p, "\"}");
		break;
	case T_ORDER_ITEMS:
		PUT(p, "{\"order_id\":");
		p = put_u64(p, o->id);
		PUT(p, ",\"product_id\":");
		p = put_u64(p, r->item->product);
		PUT(p, ",\"quantity\":");
		p = put_u64(p, r->item->quantity);
		PUT(p, ",\"unit_price\":\"");
		p = put_money(p, r->item->unit_price);
		PUT(p, "\"}");
		break;
	case T_COUNT:
		break;
	}
	return p;
}

static void dbz_change(struct gen *g, const struct change *ch)
{
	enum table t = ch->after->table;
	char *p;

	if (!record_begin(g))
		return;
	p = out_reserve(g);
	PUT(p, "{\"before\":");
	if (ch->before)
		p = json_row(g, p, ch->before);
	else
		PUT(p, "null");
	PUT(p, ",\"after\":");
	p = json_row(g, p, ch->after);
	PUT(p, ",\"source\":{\"version\":\"" EC_VERSION "\",\"connector\":\"postgresql\",\"name\":\"shop\",\"ts_ms\":");
	p = put_i64(p, g->clock);
	PUT(p, ",\"snapshot\":\"");
	p = put_cstr(p, ch->snapshot);
	PUT(p, "\",\"db\":\"shop\",\"sequence\":\"[null,\\\"");
	p = put_u64(p, ch->lsn);
	PUT(p, "\\\"]\",\"schema\":\"public\",\"table\":\"");
	p = put_json(p, &table_names[t]);
	PUT(p, "\",\"txId\":");
	p = put_u64(p, ch->txid);
	PUT(p, ",\"lsn\":");
	p = put_u64(p, ch->lsn);
	PUT(p, ",\"xmin\":null},\"op\":\"");
	*p++ = ch->op;
	PUT(p, "\",\"ts_ms\":");
	p = put_i64(p, g->clock);
	PUT(p, "}\n");
	record_end(g, p);
}

static const char *const sql_columns[T_COUNT] = {
	"(id, name, email, city, country)",
	"(id, sku, name, category, brand, price)",
	"(id, customer_id, status, total_amount, currency, created_at, updated_at)",
	"(order_id, product_id, quantity, unit_price)",
};

static char *sql_values(struct gen *g, char *p, const struct row *r)
{
	const struct customer *c = r->customer;
	const struct product *pr = r->product;
	const struct order *o = r->order;

	*p++ = '(';
	switch (r->table) {
	case T_CUSTOMERS:
		p = put_u64(p, r->id);
		PUT(p, ", '");
		p = put_sql(p, &first_names[c->first].w);
		*p++ = ' ';
		p = put_sql(p, &last_names[c->last].w);
		PUT(p, "', '");
		p = put_email(p, r->id, c);
		PUT(p, "', '");
		p = put_sql(p, &cities[c->city].name);
		PUT(p, "', '");
		p = put_sql(p, &cities[c->city].country);
		*p++ = '\'';
		break;
	case T_PRODUCTS:
		p = put_u64(p, r->id);
		PUT(p, ", '");
		p = put_sku(p, r->id, pr);
		PUT(p, "', '");
		p = put_sql(p, &categories[pr->category].adj[pr->adj]);
		*p++ = ' ';
		p = put_sql(p, &categories[pr->category].noun[pr->noun]);
		PUT(p, "', '");
		p = put_sql(p, &categories[pr->category].name);
		PUT(p, "', '");
		p = put_sql(p, &brands[pr->brand]);
		PUT(p, "', ");
		p = put_money(p, pr->price);
		break;
	case T_ORDERS:
		p = put_u64(p, o->id);
		PUT(p, ", ");
		p = put_u64(p, o->customer_id);
		PUT(p, ", '");
		p = put_sql(p, &statuses[r->status]);
		PUT(p, "', ");
		p = put_money(p, o->total);
		PUT(p, ", 'USD', '");
		p = put_time(g, p, o->created_at);
		PUT(p, "', '");
		p = put_time(g, p, r->updated_at);
		*p++ = '\'';
		break;
	case T_ORDER_ITEMS:
		p = put_u64(p, o->id);
		PUT(p, ", ");
		p = put_u64(p, r->item->product);
		PUT(p, ", ");
		p = put_u64(p, r->item->quantity);
		PUT(p, ", ");
		p = put_money(p, r->item->unit_price);
		break;
	case T_COUNT:
		break;
	}
	*p++ = ')';
	return p;
}

/* SET list of the columns an update changed. */
static char *sql_set(struct gen *g, char *p, const struct row *b, const struct row *a)
{
	switch (a->table) {
	case T_CUSTOMERS:
		PUT(p, "city = '");
		p = put_sql(p, &cities[a->customer->city].name);
		PUT(p, "', country = '");
		p = put_sql(p, &cities[a->customer->city].country);
		*p++ = '\'';
		break;
	case T_PRODUCTS:
		if (a->product->price != b->product->price) {
			PUT(p, "price = ");
			p = put_money(p, a->product->price);
		}
		if (a->product->category != b->product->category) {
			if (a->product->price != b->product->price)
				PUT(p, ", ");
			PUT(p, "category = '");
			p = put_sql(p, &categories[a->product->category].name);
			*p++ = '\'';
		}
		break;
	case T_ORDERS:
		PUT(p, "status = '");
		p = put_sql(p, &statuses[a->status]);
		PUT(p, "', updated_at = '");
		p = put_time(g, p, a->updated_at);
		*p++ = '\'';
		break;
	default:
		break;
	}
	return p;
}

static char *sql_end_batch(struct gen *g, char *p)
{
	if (g->sql_batch_table >= 0) {
		PUT(p, ";\n");
		g->sql_batch_table = -1;
	}
	return p;
}

/*
 * One change as SQL. Snapshot rows become multi-row INSERTs; a multi-row
 * transaction gets BEGIN before its first statement that is written.
 */
static void sql_change(struct gen *g, const struct change *ch)
{
	const struct row *a = ch->after;
	char *p = out_reserve(g);

	if (ch->op == 'r' && g->sql_batch_table == (int)a->table && g->sql_batch_rows < SQL_BATCH_ROWS) {
		PUT(p, ",\n");
		g->sql_batch_rows++;
		p = sql_values(g, p, a);
		record_end(g, p);
		return;
	}
	p = sql_end_batch(g, p);
	if (g->sql_tx_wanted && !g->sql_tx_open) {
		PUT(p, "BEGIN;\n");
		g->sql_tx_open = 1;
	}
	switch (ch->op) {
	case 'r':
		PUT(p, "INSERT INTO ");
		p = put_sql(p, &table_names[a->table]);
		*p++ = ' ';
		p = put_cstr(p, sql_columns[a->table]);
		PUT(p, " VALUES\n");
		p = sql_values(g, p, a);
		g->sql_batch_table = (int)a->table;
		g->sql_batch_rows = 1;
		break;
	case 'c':
		PUT(p, "INSERT INTO ");
		p = put_sql(p, &table_names[a->table]);
		*p++ = ' ';
		p = put_cstr(p, sql_columns[a->table]);
		PUT(p, " VALUES ");
		p = sql_values(g, p, a);
		PUT(p, ";\n");
		break;
	case 'u':
		PUT(p, "UPDATE ");
		p = put_sql(p, &table_names[a->table]);
		PUT(p, " SET ");
		p = sql_set(g, p, ch->before, a);
		PUT(p, " WHERE id = ");
		p = put_u64(p, a->table == T_ORDERS ? a->order->id : a->id);
		PUT(p, ";\n");
		break;
	}
	record_end(g, p);
}

/* A transaction starts: a new txId; MULTI when it may hold more than one row. */
static uint64_t tx_begin(struct gen *g, int multi)
{
	g->sql_tx_wanted = multi;
	g->sql_tx_open = 0;
	return ++g->txid;
}

static void tx_commit(struct gen *g)
{
	g->lsn += WAL_COMMIT_BYTES;
	if (g->set.format == FMT_SQL) {
		char *p = out_reserve(g);
		p = sql_end_batch(g, p);
		if (g->sql_tx_open)
			PUT(p, "COMMIT;\n");
		out_commit(g, p);
	}
	g->sql_tx_wanted = g->sql_tx_open = 0;
}

/*
 * One row change in commit order. The LSN moves for every change, whether
 * its table is written or not, so --tables never changes the history.
 */
static void change(struct gen *g, char op, const struct row *before, const struct row *after,
		   uint64_t txid, const char *snapshot)
{
	struct change ch = { op, snapshot ? snapshot : "false", before, after, txid, 0 };

	if (op == 'r') {
		ch.lsn = g->snapshot_lsn;
	} else {
		g->lsn += wal_row_bytes[after->table];
		ch.lsn = g->lsn;
	}
	if (!table_wanted(g, after->table))
		return;
	if (g->set.format == FMT_DEBEZIUM)
		dbz_change(g, &ch);
	else if (g->set.format == FMT_SQL)
		sql_change(g, &ch);
}

/* ---- Flat order lines: one denormalised record per item of an order event ---- */

static void flat_order_event(struct gen *g, const struct order *o)
{
	const struct customer *c = &g->customers[o->customer_id - 1];
	unsigned i;

	for (i = 0; i < o->nitems; i++) {
		const struct item *it = &o->items[i];
		const struct product *pr = &g->products[it->product - 1];
		const struct category *cat = &categories[pr->category];
		char *p;

		if (!record_begin(g))
			continue;
		p = out_reserve(g);
		PUT(p, "{\"event_id\":\"");
		p = put_event_id(g, p, o, i);
		PUT(p, "\",\"event_time\":\"");
		p = put_time(g, p, o->updated_at);
		PUT(p, "\",\"order_id\":");
		p = put_u64(p, o->id);
		PUT(p, ",\"status\":\"");
		p = put_json(p, &statuses[o->status]);
		PUT(p, "\",\"customer_id\":");
		p = put_u64(p, o->customer_id);
		PUT(p, ",\"customer_name\":\"");
		p = put_json(p, &first_names[c->first].w);
		*p++ = ' ';
		p = put_json(p, &last_names[c->last].w);
		PUT(p, "\",\"email\":\"");
		p = put_email(p, o->customer_id, c);
		PUT(p, "\",\"city\":\"");
		p = put_json(p, &cities[c->city].name);
		PUT(p, "\",\"country\":\"");
		p = put_json(p, &cities[c->city].country);
		PUT(p, "\",\"product_id\":");
		p = put_u64(p, it->product);
		PUT(p, ",\"sku\":\"");
		p = put_sku(p, it->product, pr);
		PUT(p, "\",\"product_name\":\"");
		p = put_json(p, &cat->adj[pr->adj]);
		*p++ = ' ';
		p = put_json(p, &cat->noun[pr->noun]);
		PUT(p, "\",\"category\":\"");
		p = put_json(p, &cat->name);
		PUT(p, "\",\"brand\":\"");
		p = put_json(p, &brands[pr->brand]);
		PUT(p, "\",\"quantity\":");
		p = put_u64(p, it->quantity);
		PUT(p, ",\"unit_price\":\"");
		p = put_money(p, it->unit_price);
		PUT(p, "\",\"amount\":\"");
		p = put_money(p, it->unit_price * it->quantity);
		PUT(p, "\",\"currency\":\"USD\",\"payment_method\":\"");
		p = put_json(p, &payment_methods[o->payment].w);
		PUT(p, "\",\"device\":\"");
		p = put_json(p, &devices[o->device].w);
		PUT(p, "\"}\n");
		record_end(g, p);
	}
}

/* ---- What the shop does, as changes ---- */

static struct row customer_row(uint64_t id, const struct customer *c)
{
	return (struct row){ .table = T_CUSTOMERS, .id = id, .customer = c };
}

static struct row product_row(uint64_t id, const struct product *pr)
{
	return (struct row){ .table = T_PRODUCTS, .id = id, .product = pr };
}

static struct row order_row(const struct order *o, int status, int64_t updated_at)
{
	return (struct row){ .table = T_ORDERS, .order = o, .status = status, .updated_at = updated_at };
}

/* The initial snapshot: every customer and product as a read ("r"), the last one marked "last". */
static void emit_snapshot(struct gen *g)
{
	uint64_t txid = tx_begin(g, 1), id, last_c = 0, last_p = 0;
	struct row r;

	if (g->set.format != FMT_FLAT) {
		if (table_wanted(g, T_PRODUCTS))
			last_p = g->nproducts;
		else if (table_wanted(g, T_CUSTOMERS))
			last_c = g->ncustomers;
		for (id = 1; id <= g->ncustomers && ec_run; id++) {
			r = customer_row(id, &g->customers[id - 1]);
			change(g, 'r', NULL, &r, txid, id == last_c ? "last" : "true");
		}
		for (id = 1; id <= g->nproducts && ec_run; id++) {
			r = product_row(id, &g->products[id - 1]);
			change(g, 'r', NULL, &r, txid, id == last_p ? "last" : "true");
		}
	}
	tx_commit(g);
}

static void emit_order_created(struct gen *g, const struct order *o)
{
	uint64_t txid = tx_begin(g, 1);
	struct row r = order_row(o, o->status, o->updated_at), item;
	unsigned i;

	if (g->set.format == FMT_FLAT) {
		flat_order_event(g, o);
	} else {
		change(g, 'c', NULL, &r, txid, NULL);
		for (i = 0; i < o->nitems; i++) {
			item = (struct row){ .table = T_ORDER_ITEMS, .order = o, .item = &o->items[i] };
			change(g, 'c', NULL, &item, txid, NULL);
		}
	}
	tx_commit(g);
}

static void emit_order_status(struct gen *g, const struct order *o)
{
	uint64_t txid = tx_begin(g, 0);
	struct row before = order_row(o, o->prev_status, o->prev_updated_at);
	struct row after = order_row(o, o->status, o->updated_at);

	if (g->set.format == FMT_FLAT)
		flat_order_event(g, o);
	else
		change(g, 'u', &before, &after, txid, NULL);
	tx_commit(g);
}

static void emit_customer_change(struct gen *g, uint64_t id, const struct customer *old)
{
	uint64_t txid = tx_begin(g, 0);
	struct row before, after = customer_row(id, &g->customers[id - 1]);

	if (old) {
		before = customer_row(id, old);
		change(g, 'u', &before, &after, txid, NULL);
	} else {
		change(g, 'c', NULL, &after, txid, NULL);
	}
	tx_commit(g);
}

static void emit_product_change(struct gen *g, uint64_t id, const struct product *old)
{
	uint64_t txid = tx_begin(g, 0);
	struct row before = product_row(id, old), after = product_row(id, &g->products[id - 1]);

	change(g, 'u', &before, &after, txid, NULL);
	tx_commit(g);
}

/* ---- The simulation ---- */

static void schedule(struct gen *g, struct heap *h, int64_t time, enum event_kind kind,
		     struct order *o, int status)
{
	struct event e = { time, g->seq++, o, (uint8_t)kind, (uint8_t)status };

	if (o)
		o->refs++;
	heap_push(h, &e);
}

/* Final orders go to a free list: as many orders are in flight tomorrow as today. */
static void order_unref(struct gen *g, struct order *o)
{
	if (--o->refs == 0) {
		o->next_free = g->free_orders;
		g->free_orders = o;
	}
}

static struct order *order_alloc(struct gen *g)
{
	struct order *o = g->free_orders;

	if (!o)
		return xcalloc(1, sizeof(*o));
	g->free_orders = o->next_free;
	memset(o, 0, sizeof(*o));
	return o;
}

/* A price like 14.99, 14.49 or 15.00, log-uniform in the category's range. */
static int64_t draw_price(struct gen *g, const struct category *cat)
{
	double d = cat->lo * pow((double)cat->hi / cat->lo, rng_unit(&g->rng));
	int64_t whole = (int64_t)d;
	unsigned ending = (unsigned)rng_below(&g->rng, 10);

	if (ending < 7)
		return whole > 0 ? whole * 100 - 1 : 99;
	if (ending < 9)
		return whole * 100 + 49;
	return (whole > 0 ? whole : 1) * 100;
}

static void draw_customer(struct gen *g, struct customer *c)
{
	c->first = (uint16_t)rng_below(&g->rng, EC_ARRAY_SIZE(first_names));
	c->last = (uint16_t)rng_below(&g->rng, EC_ARRAY_SIZE(last_names));
	c->city = (uint16_t)zipf_draw(&g->city_pop, &g->rng);
	c->domain = (uint16_t)rng_below(&g->rng, EC_ARRAY_SIZE(mail_domains));
}

static void draw_product(struct gen *g, struct product *pr)
{
	pr->category = (uint16_t)rng_below(&g->rng, EC_ARRAY_SIZE(categories));
	pr->brand = (uint16_t)rng_below(&g->rng, EC_ARRAY_SIZE(brands));
	pr->adj = (uint16_t)rng_below(&g->rng, N_ADJ);
	pr->noun = (uint16_t)rng_below(&g->rng, N_NOUN);
	pr->price = draw_price(g, &categories[pr->category]);
}

static void shop_init(struct gen *g)
{
	size_t i, j;
	uint32_t t;

	zipf_init(&g->city_pop, EC_ARRAY_SIZE(cities), 1.0);
	zipf_init(&g->product_pop, g->set.products, 1.0);
	g->ncustomers = g->set.customers;
	EC_GROW(g->customers, g->ncustomers, g->customers_alloc);
	for (i = 0; i < g->ncustomers; i++)
		draw_customer(g, &g->customers[i]);
	g->nproducts = g->set.products;
	g->products = xcalloc(g->nproducts, sizeof(*g->products));
	for (i = 0; i < g->nproducts; i++)
		draw_product(g, &g->products[i]);
	/* Which products are the hot ones: a shuffle, so popularity is not by id. */
	g->product_by_rank = xmalloc(g->nproducts * sizeof(*g->product_by_rank));
	for (i = 0; i < g->nproducts; i++)
		g->product_by_rank[i] = (uint32_t)(i + 1);
	for (i = g->nproducts - 1; i > 0; i--) {
		j = (size_t)rng_below(&g->rng, i + 1);
		t = g->product_by_rank[i];
		g->product_by_rank[i] = g->product_by_rank[j];
		g->product_by_rank[j] = t;
	}
}

static uint32_t draw_hot_product(struct gen *g)
{
	return g->product_by_rank[zipf_draw(&g->product_pop, &g->rng)];
}

/* Older customers have bought more often: density falls off gently with the id. */
static uint64_t draw_buyer(struct gen *g)
{
	double u = rng_unit(&g->rng);
	return (uint64_t)((double)g->ncustomers * u * sqrt(u)) + 1;
}

static int order_has_product(const struct order *o, unsigned n, uint32_t product)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (o->items[i].product == product)
			return 1;
	return 0;
}

static struct order *new_order(struct gen *g, int64_t t)
{
	struct order *o = order_alloc(g);
	unsigned i, tries;
	uint32_t product;

	o->id = ++g->orders_created;
	o->customer_id = draw_buyer(g);
	o->created_at = o->updated_at = o->prev_updated_at = t;
	o->status = o->prev_status = ST_NEW;
	o->nitems = (uint8_t)(pick_weighted(&g->rng, lines_weights, MAX_ITEMS) + 1);
	if (o->nitems > g->nproducts)
		o->nitems = (uint8_t)g->nproducts;
	/* Distinct products per order: (order_id, product_id) is the items' key. */
	for (i = 0; i < o->nitems; i++) {
		product = draw_hot_product(g);
		for (tries = 0; order_has_product(o, i, product); tries++) {
			if (tries < 16)
				product = draw_hot_product(g);
			else
				product = (uint32_t)(product % g->nproducts + 1);
		}
		o->items[i].product = product;
		o->items[i].quantity = pick_weighted(&g->rng, quantity_weights, 5) + 1;
		o->items[i].unit_price = g->products[product - 1].price;
		o->total += o->items[i].unit_price * o->items[i].quantity;
	}
	o->payment = (uint8_t)pick_choice(&g->rng, payment_methods, EC_ARRAY_SIZE(payment_methods));
	o->device = (uint8_t)pick_choice(&g->rng, devices, EC_ARRAY_SIZE(devices));
	o->refs = 1;		/* the caller's, dropped when it is done */
	return o;
}

/*
 * When an event at T is committed: at T, or for the --out-of-order share
 * up to --max-delay later, so later events overtake it.
 */
static int64_t draw_release(struct gen *g, int64_t t)
{
	if (rng_unit(&g->rng) < g->set.out_of_order && g->set.max_delay > 0)
		return t + rng_range(&g->rng, 1, g->set.max_delay);
	return t;
}

/*
 * Decide the order's next step from its status now (at T). It happens
 * after the current event's commit (RELEASE), so one order's changes are
 * always committed in lifecycle order.
 */
static void schedule_next_step(struct gen *g, struct order *o, int64_t t, int64_t release)
{
	double u = rng_unit(&g->rng);
	int64_t gap;
	int next;

	switch (o->status) {
	case ST_NEW:
		if (u < 0.85) {
			next = ST_PAID;
			gap = 5 * SEC + rng_exp(&g->rng, 150.0 * SEC);
			if (gap > 30 * MIN)
				gap = 30 * MIN;
		} else {
			next = ST_CANCELLED;
			gap = rng_range(&g->rng, 1 * MIN, 60 * MIN);
		}
		break;
	case ST_PAID:
		if (u < 0.94) {
			next = ST_SHIPPED;
			gap = 30 * MIN + rng_exp(&g->rng, 8.0 * HOUR);
			if (gap > 48 * HOUR)
				gap = 48 * HOUR;
		} else if (u < 0.99) {
			next = ST_CANCELLED;
			gap = rng_range(&g->rng, 10 * MIN, 12 * HOUR);
		} else {
			next = ST_REFUNDED;
			gap = rng_range(&g->rng, 1 * HOUR, 3 * DAY);
		}
		break;
	case ST_SHIPPED:
		if (u < 0.995) {
			next = ST_COMPLETED;
			gap = rng_range(&g->rng, 1 * DAY, 3 * DAY);
		} else {
			next = ST_REFUNDED;
			gap = rng_range(&g->rng, 1 * DAY, 7 * DAY);
		}
		break;
	case ST_COMPLETED:
		if (u >= 0.015)
			return;
		next = ST_REFUNDED;
		gap = rng_range(&g->rng, 1 * DAY, 14 * DAY);
		break;
	default:
		return;		/* CANCELLED and REFUNDED are final */
	}
	t += gap;
	if (t <= release)
		t = release + 1;
	schedule(g, &g->pending, t, EV_TRANSITION, o, next);
}

static int orders_done(const struct gen *g)
{
	return g->set.orders && g->orders_created >= g->set.orders;
}

static void process_arrival(struct gen *g, int64_t t)
{
	struct order *o = new_order(g, t);
	int64_t release = draw_release(g, t);

	schedule_next_step(g, o, t, release);
	if (release > t)
		schedule(g, &g->delayed, release, EV_EMIT_CREATED, o, 0);
	else
		emit_order_created(g, o);
	order_unref(g, o);
	if (!orders_done(g))
		schedule(g, &g->pending, t + rng_exp(&g->rng, g->order_gap), EV_ORDER_ARRIVAL, NULL, 0);
}

static void process_transition(struct gen *g, const struct event *ev)
{
	struct order *o = ev->order;
	int64_t release;

	o->prev_status = o->status;
	o->prev_updated_at = o->updated_at;
	o->status = ev->status;
	o->updated_at = ev->time;
	o->nevents++;
	release = draw_release(g, ev->time);
	schedule_next_step(g, o, ev->time, release);
	if (release > ev->time)
		schedule(g, &g->delayed, release, EV_EMIT_STATUS, o, 0);
	else
		emit_order_status(g, o);
	order_unref(g, o);
}

/* Customers sign up, move and products change while orders come in; they rest when orders end. */
static void schedule_dimension(struct gen *g, int64_t t, enum event_kind kind, double orders_per_event)
{
	if (!orders_done(g))
		schedule(g, &g->pending, t + rng_exp(&g->rng, g->order_gap * orders_per_event), kind, NULL, 0);
}

static void process_signup(struct gen *g, int64_t t)
{
	EC_GROW(g->customers, g->ncustomers + 1, g->customers_alloc);
	draw_customer(g, &g->customers[g->ncustomers++]);
	emit_customer_change(g, g->ncustomers, NULL);
	schedule_dimension(g, t, EV_SIGNUP, 25);
}

static void process_move(struct gen *g, int64_t t)
{
	uint64_t id = rng_below(&g->rng, g->ncustomers) + 1;
	struct customer *c = &g->customers[id - 1], old = *c;
	int tries;

	for (tries = 0; tries < 8 && c->city == old.city; tries++)
		c->city = (uint16_t)zipf_draw(&g->city_pop, &g->rng);
	if (c->city == old.city)
		c->city = (uint16_t)((old.city + 1) % EC_ARRAY_SIZE(cities));
	emit_customer_change(g, id, &old);
	schedule_dimension(g, t, EV_MOVE, 200);
}

static void process_product_change(struct gen *g, int64_t t)
{
	uint32_t id = draw_hot_product(g);
	struct product *pr = &g->products[id - 1], old = *pr;
	double factor;
	int64_t price;

	if (rng_unit(&g->rng) < 0.8 || EC_ARRAY_SIZE(categories) < 2) {
		/* A price change of -20% to +25%, keeping the .99/.49/.00 ending. */
		factor = 0.8 + 0.45 * rng_unit(&g->rng);
		price = (int64_t)((double)old.price * factor / 100.0) * 100 + old.price % 100;
		if (price < 99)
			price = 99;
		if (price == old.price)
			price += 100;
		pr->price = price;
	} else {
		pr->category = (uint16_t)((old.category + 1 + rng_below(&g->rng, EC_ARRAY_SIZE(categories) - 1))
					  % EC_ARRAY_SIZE(categories));
	}
	emit_product_change(g, id, &old);
	schedule_dimension(g, t, EV_PRODUCT_CHANGE, 100);
}

static void process(struct gen *g, const struct event *ev)
{
	switch (ev->kind) {
	case EV_ORDER_ARRIVAL:
		process_arrival(g, ev->time);
		break;
	case EV_TRANSITION:
		process_transition(g, ev);
		break;
	case EV_SIGNUP:
		process_signup(g, ev->time);
		break;
	case EV_MOVE:
		process_move(g, ev->time);
		break;
	case EV_PRODUCT_CHANGE:
		process_product_change(g, ev->time);
		break;
	case EV_EMIT_CREATED:
		emit_order_created(g, ev->order);
		order_unref(g, ev->order);
		break;
	case EV_EMIT_STATUS:
		emit_order_status(g, ev->order);
		order_unref(g, ev->order);
		break;
	}
}

/*
 * The main loop: merge the future events with the held-back ones by time.
 * A held-back event goes first on a tie: its release time has come.
 */
static void simulate(struct gen *g)
{
	const struct event *p, *d;
	struct event ev;

	g->clock = g->set.start;
	schedule(g, &g->pending, g->set.start + rng_exp(&g->rng, g->order_gap), EV_ORDER_ARRIVAL, NULL, 0);
	schedule_dimension(g, g->set.start, EV_SIGNUP, 25);
	schedule_dimension(g, g->set.start, EV_MOVE, 200);
	schedule_dimension(g, g->set.start, EV_PRODUCT_CHANGE, 100);
	while (ec_run) {
		p = heap_top(&g->pending);
		d = heap_top(&g->delayed);
		if (d && (!p || d->time <= p->time))
			heap_pop(&g->delayed, &ev);
		else if (p)
			heap_pop(&g->pending, &ev);
		else
			break;
		g->clock = ev.time;
		process(g, &ev);
	}
}

static void sql_preamble(struct gen *g)
{
	static const char *const ddl[T_COUNT] = {
		"CREATE TABLE IF NOT EXISTS customers (id bigint PRIMARY KEY, name text NOT NULL, "
		"email text NOT NULL, city text NOT NULL, country text NOT NULL);\n",
		"CREATE TABLE IF NOT EXISTS products (id bigint PRIMARY KEY, sku text NOT NULL UNIQUE, "
		"name text NOT NULL, category text NOT NULL, brand text NOT NULL, price numeric(12,2) NOT NULL);\n",
		"CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, "
		"status text NOT NULL, total_amount numeric(12,2) NOT NULL, currency text NOT NULL, "
		"created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);\n",
		"CREATE TABLE IF NOT EXISTS order_items (order_id bigint NOT NULL, product_id bigint NOT NULL, "
		"quantity integer NOT NULL, unit_price numeric(12,2) NOT NULL, PRIMARY KEY (order_id, product_id));\n",
	};
	int t;

	ec_buf_addf(&g->out, "-- A synthetic shop by ec-gen %s, seed %" PRIu64 ". Load with: psql -v ON_ERROR_STOP=1\n",
		    EC_VERSION, g->set.seed);
	ec_buf_addstr(&g->out,
		      "SET client_min_messages = warning;\n"
		      "SET client_encoding = 'UTF8';\n"
		      "SET standard_conforming_strings = on;\n"
		      "SET TIME ZONE 'UTC';\n"
		      "SET synchronous_commit = off;\n");
	for (t = 0; t < T_COUNT; t++) {
		if (!table_wanted(g, (enum table)t))
			continue;
		ec_buf_addstr(&g->out, ddl[t]);
		/* Full old rows in the WAL, so CDC updates carry a complete "before". */
		ec_buf_addf(&g->out, "ALTER TABLE %s REPLICA IDENTITY FULL;\n", table_names[t].text);
	}
}

/* --ack: where the last run's output was acknowledged up to. 0, or an exit status. */
static int restore(struct gen *g)
{
	struct ec_ack ack = EC_ACK_INIT;
	char err[512], *end;
	int ret = 0;

	if (ec_ack_read(g->set.ack_path, &ack, err, sizeof(err)) < 0) {
		ec_error("%s", err);
		return access(g->set.ack_path, R_OK) < 0 ? EX_NOINPUT : EX_DATAERR;
	}
	g->ckpt_id = g->acked = ack.id;
	if (ack.pos && strcmp(ack.pos, "null")) {
		errno = 0;
		g->skip = strtoull(ack.pos, &end, 10);
		if (errno || *end || ack.pos[0] < '0' || ack.pos[0] > '9') {
			ec_error("%s: \"pos\" must be a record count for ec-gen, not %s", g->set.ack_path, ack.pos);
			ret = EX_DATAERR;
		}
	}
	ec_ack_release(&ack);
	g->last_barrier_pos = g->skip;
	return ret;
}

static void gen_release(struct gen *g)
{
	struct event ev;

	while (g->pending.n) {
		heap_pop(&g->pending, &ev);
		if (ev.order)
			order_unref(g, ev.order);
	}
	while (g->delayed.n) {
		heap_pop(&g->delayed, &ev);
		order_unref(g, ev.order);
	}
	while (g->free_orders) {
		struct order *o = g->free_orders;
		g->free_orders = o->next_free;
		free(o);
	}
	free(g->pending.ev);
	free(g->delayed.ev);
	free(g->customers);
	free(g->products);
	free(g->product_by_rank);
	zipf_release(&g->product_pop);
	zipf_release(&g->city_pop);
	ec_buf_release(&g->out);
}

static int run(const struct settings *set)
{
	struct gen g;
	int ret;

	memset(&g, 0, sizeof(g));
	g.set = *set;
	g.sql_batch_table = -1;
	g.day_cached = INT64_MIN;
	g.txid = 500;
	g.snapshot_lsn = g.lsn = 24000000;
	g.order_gap = 1000.0 / set->order_rate;
	rng_seed(&g.rng, set->seed);
	words_init();
	if (set->ack_path) {
		ret = restore(&g);
		if (ret)
			return ret;
		ec_ctl_restore(&g.out, g.ckpt_id);
	}
	shop_init(&g);
	g.clock = set->start;
	g.pace_start_ns = mono_ns();
	g.next_barrier_ns = g.pace_start_ns + set->checkpoint_interval * 1000000;
	if (set->format == FMT_SQL)
		sql_preamble(&g);
	emit_snapshot(&g);
	simulate(&g);
	if (set->ack_path && ec_run && g.pos < g.skip)
		ec_warn("%s: position %" PRIu64 " is beyond the end of this history (%" PRIu64
			" records): were the options or the seed changed?", set->ack_path, g.skip, g.pos);
	if (set->ack_path && (g.pos != g.last_barrier_pos || !g.barriers_sent))
		barrier(&g);
	out_flush(&g, 0);
	if (!ec_run)
		ec_info("stopped by a signal after %" PRIu64 " records", g.pos);
	gen_release(&g);
	return 0;
}

/* ---- Options ---- */

enum {
	OPT_CUSTOMERS = EC_OPT_TOOL_BASE,
	OPT_PRODUCTS,
	OPT_START,
	OPT_ORDER_RATE,
	OPT_OUT_OF_ORDER,
	OPT_MAX_DELAY,
	OPT_ACK,
	OPT_CHECKPOINT_INTERVAL,
	OPT_CHECKPOINT_RECORDS,
};

static const struct ec_opt gen_opts[] = {
	{ "format", required_argument, 'f', "debezium|sql|flat", "output format (default debezium)" },
	{ "orders", required_argument, 'n', "N", "orders to place, 0 = until stopped (default 10000)" },
	{ "seed", required_argument, 's', "N", "random seed: the same seed gives the same output (default 1)" },
	{ "customers", required_argument, OPT_CUSTOMERS, "N", "customers in the initial snapshot (default 1000)" },
	{ "products", required_argument, OPT_PRODUCTS, "N", "products in the catalogue (default 200)" },
	{ "start", required_argument, OPT_START, "TIME", "event time of the snapshot, or 'now' (default 2026-11-01T00:00:00Z)" },
	{ "rate", required_argument, 'r', "N", "records per second of real time (default: as fast as possible)" },
	{ "order-rate", required_argument, OPT_ORDER_RATE, "N", "orders per second of event time (default 2)" },
	{ "out-of-order", required_argument, OPT_OUT_OF_ORDER, "FRACTION", "share of order events emitted late (default 0.05)" },
	{ "max-delay", required_argument, OPT_MAX_DELAY, "DURATION", "how late, at most, in event time (default 30s)" },
	{ "tables", required_argument, 't', "LIST", "comma list of customers,products,orders,order_items (default all)" },
	{ "ack", required_argument, OPT_ACK, "FILE", "checkpoints: resume after the position acknowledged in FILE" },
	{ "checkpoint-interval", required_argument, OPT_CHECKPOINT_INTERVAL, "DURATION", "barrier every DURATION of wall clock (default 5s)" },
	{ "checkpoint-records", required_argument, OPT_CHECKPOINT_RECORDS, "N", "barrier every N records instead" },
	EC_OPTS_COMMON,
	{ NULL, 0, 0, NULL, NULL },
};

/* A decimal integer in [min, max], digits only. */
static uint64_t parse_count(const char *name, const char *arg, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (arg[0] < '0' || arg[0] > '9')
		goto bad;
	v = strtoull(arg, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	return v;
bad:
	ec_usage_error("--%s must be an integer from %" PRIu64 " to %" PRIu64 ", not '%s'", name, min, max, arg);
}

/* A decimal number in (min, max] or [min, max]. */
static double parse_number(const char *name, const char *arg, double min, int min_inclusive, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v > max || v < min || (!min_inclusive && v == min))
		ec_usage_error("--%s must be a number %s %g and at most %g, not '%s'", name,
			       min_inclusive ? "from" : "above", min, max, arg);
	return v;
}

static int64_t parse_duration(const char *name, const char *arg, int allow_zero)
{
	char err[256];
	int64_t ms;

	if (!strcmp(arg, "0"))
		ms = 0;
	else if (ec_duration_parse(arg, &ms, err, sizeof(err)) < 0)
		ec_usage_error("--%s: %s", name, err);
	if (ms < 0 || (!allow_zero && ms == 0))
		ec_usage_error("--%s must be a duration %s, not '%s'", name,
			       allow_zero ? "like 30s" : "above zero", arg);
	return ms;
}

static unsigned parse_tables(const char *arg)
{
	const char *s = arg, *comma;
	unsigned mask = 0, t;
	size_t n;

	for (;;) {
		comma = strchr(s, ',');
		n = comma ? (size_t)(comma - s) : strlen(s);
		for (t = 0; t < T_COUNT; t++)
			if (strlen(table_names[t].text) == n && !strncmp(s, table_names[t].text, n))
				break;
		if (t == T_COUNT)
			ec_usage_error("--tables: unknown table '%.*s' (customers, products, orders, order_items)",
				       (int)n, s);
		mask |= 1u << t;
		if (!comma)
			return mask;
		s = comma + 1;
	}
}

static enum format parse_format(const char *arg)
{
	if (!strcmp(arg, "debezium"))
		return FMT_DEBEZIUM;
	if (!strcmp(arg, "sql"))
		return FMT_SQL;
	if (!strcmp(arg, "flat"))
		return FMT_FLAT;
	ec_usage_error("--format must be debezium, sql or flat, not '%s'", arg);
}

static void check_settings(const struct settings *set, int tables_given, int interval_given)
{
	if (set->ack_path && set->format == FMT_SQL)
		ec_usage_error("--ack needs --format debezium or flat: SQL has no place for control records");
	if (tables_given && set->format == FMT_FLAT)
		ec_usage_error("--tables applies to --format debezium and sql, not flat");
	if (!set->ack_path && (set->checkpoint_records || interval_given))
		ec_usage_error("--checkpoint-interval and --checkpoint-records need --ack");
}

int cmd_main(int argc, char **argv)
{
	struct settings set = default_settings;
	struct ec_optparser parser;
	int c, tables_given = 0, interval_given = 0;
	char err[256];

	ec_optparser_init(&parser, gen_opts);
	while ((c = ec_optparser_next(&parser, argc, argv)) != -1) {
		if (ec_opt_common(c, optarg, SYNOPSIS, DESCRIPTION, gen_opts))
			continue;
		switch (c) {
		case 'f':
			set.format = parse_format(optarg);
			break;
		case 'n':
			set.orders = parse_count("orders", optarg, 0, UINT64_MAX / 2);
			break;
		case 's':
			set.seed = parse_count("seed", optarg, 0, UINT64_MAX);
			break;
		case OPT_CUSTOMERS:
			set.customers = parse_count("customers", optarg, 1, 100000000);
			break;
		case OPT_PRODUCTS:
			set.products = parse_count("products", optarg, 1, 10000000);
			break;
		case OPT_START:
			if (!strcmp(optarg, "now"))
				set.start = wall_ms();
			else if (ec_time_parse(optarg, strlen(optarg), &set.start, err, sizeof(err)) < 0)
				ec_usage_error("--start: %s", err);
			break;
		case 'r':
			set.rate = parse_number("rate", optarg, 0, 0, 1e9);
			break;
		case OPT_ORDER_RATE:
			set.order_rate = parse_number("order-rate", optarg, 0, 0, 1e6);
			break;
		case OPT_OUT_OF_ORDER:
			set.out_of_order = parse_number("out-of-order", optarg, 0, 1, 1);
			break;
		case OPT_MAX_DELAY:
			set.max_delay = parse_duration("max-delay", optarg, 1);
			break;
		case 't':
			set.tables = parse_tables(optarg);
			tables_given = 1;
			break;
		case OPT_ACK:
			set.ack_path = optarg;
			break;
		case OPT_CHECKPOINT_INTERVAL:
			set.checkpoint_interval = parse_duration("checkpoint-interval", optarg, 0);
			interval_given = 1;
			break;
		case OPT_CHECKPOINT_RECORDS:
			set.checkpoint_records = parse_count("checkpoint-records", optarg, 1, UINT64_MAX);
			break;
		default:
			ec_usage_error("unhandled option");
		}
	}
	ec_optparser_release(&parser);
	if (optind < argc)
		ec_usage_error("unexpected argument '%s': ec-gen reads no input", argv[optind]);
	check_settings(&set, tables_given, interval_given);
	return run(&set);
}
