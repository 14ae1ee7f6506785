/* shop_format.c: writes the shop's changes as Debezium JSON, SQL or flat order lines, fast. */
#include "ec.h"
#include "shop_format.h"
#include "jsonw.h"
#include "put.h"
#include "rng.h"
#include "timefmt.h"
#include <inttypes.h>

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* Rows per multi-row INSERT of the SQL snapshot. */
#define SQL_BATCH_ROWS 500

/* A word's escaped forms, as offsets into the writer's text. */
struct word_forms {
	uint32_t json_off, json_len;	/* inside a JSON string, no quotes */
	uint32_t sql_off, sql_len;	/* inside a SQL literal ('' doubled), no quotes */
};

struct ec_shop_writer {
	uint64_t seed;
	struct word_forms *forms;	/* by word id */
	struct ec_buf text;

	/* SQL: BEGIN is written lazily, so transactions of unread tables leave none */
	int sql_tx_open;
	int sql_batch_table;		/* table of an open multi-row INSERT, or -1 */
	unsigned sql_batch_rows;

	/* "YYYY-MM-DDT" of the last day formatted */
	int64_t day_cached;
	char day_text[EC_TIME_BUFSZ];
};

/* ---- Words, escaped once ---- */

static void add_forms(const struct ec_shop_word *word, void *arg)
{
	struct ec_shop_writer *w = arg;
	struct word_forms *f = &w->forms[word->id];
	struct ec_buf json = EC_BUF_INIT;
	const char *s;

	ec_jsonw_str(&json, word->text, strlen(word->text));
	f->json_off = (uint32_t)w->text.len;
	f->json_len = (uint32_t)json.len - 2;
	ec_buf_add(&w->text, json.buf + 1, json.len - 2);
	ec_buf_release(&json);
	f->sql_off = (uint32_t)w->text.len;
	for (s = word->text; *s; s++) {
		if (*s == '\'')
			ec_buf_addch(&w->text, '\'');
		ec_buf_addch(&w->text, *s);
	}
	f->sql_len = (uint32_t)(w->text.len - f->sql_off);
}

struct ec_shop_writer *ec_shop_writer_new(uint64_t seed)
{
	struct ec_shop_writer *w = xcalloc(1, sizeof(*w));

	w->seed = seed;
	w->forms = xcalloc(ec_shop_word_count(), sizeof(*w->forms));
	ec_shop_words_each(add_forms, w);
	w->sql_batch_table = -1;
	w->day_cached = INT64_MIN;
	return w;
}

void ec_shop_writer_free(struct ec_shop_writer *w)
{
	if (!w)
		return;
	free(w->forms);
	ec_buf_release(&w->text);
	free(w);
}

static inline char *put_json(const struct ec_shop_writer *w, char *p, const struct ec_shop_word *word)
{
	const struct word_forms *f = &w->forms[word->id];

	return ec_put_mem(p, w->text.buf + f->json_off, f->json_len);
}

static inline char *put_sql(const struct ec_shop_writer *w, char *p, const struct ec_shop_word *word)
{
	const struct word_forms *f = &w->forms[word->id];

	return ec_put_mem(p, w->text.buf + f->sql_off, f->sql_len);
}

/* ---- Values ---- */

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
	p = ec_put_u64(p, u / 100);
	*p++ = '.';
	return ec_put_u64_width(p, u % 100, 2);
}

/*
 * RFC 3339 UTC with milliseconds (as ec_time_format writes it). The
 * calendar part is formatted once per day; the time of day is digits.
 */
static char *put_time(struct ec_shop_writer *w, char *p, int64_t ms)
{
	int64_t day = ms >= 0 ? ms / DAY : -((-ms + DAY - 1) / DAY);
	int64_t rem = ms - day * DAY;

	if (day != w->day_cached) {
		ec_time_format(day * DAY, w->day_text);
		w->day_cached = day;
	}
	p = ec_put_mem(p, w->day_text, 11);	/* "2026-11-01T" */
	p = ec_put_u64_width(p, (uint64_t)(rem / HOUR), 2);
	*p++ = ':';
	p = ec_put_u64_width(p, (uint64_t)(rem / MIN % 60), 2);
	*p++ = ':';
	p = ec_put_u64_width(p, (uint64_t)(rem / SEC % 60), 2);
	*p++ = '.';
	p = ec_put_u64_width(p, (uint64_t)(rem % SEC), 3);
	*p++ = 'Z';
	return p;
}

static const char hex_digits[] = "0123456789abcdef";

/* A deterministic UUID (version 4 layout) for a flat line, from a hash of what it is. */
static char *put_event_id(const struct ec_shop_writer *w, char *p, const struct ec_shop_order *o, unsigned line)
{
	uint64_t h = w->seed ^ (o->id * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)o->nevents << 56) ^ line;
	uint64_t a = ec_splitmix64(&h), b = ec_splitmix64(&h);
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

/* ---- Debezium ---- */

static char *json_row(struct ec_shop_writer *w, char *p, const struct ec_shop_row *r)
{
	const struct ec_shop_customer *c = r->customer;
	const struct ec_shop_product *pr = r->product;
	const struct ec_shop_order *o = r->order;

	switch (r->table) {
	case EC_SHOP_CUSTOMERS:
		EC_PUT_LIT(p, "{\"id\":");
		p = ec_put_u64(p, r->id);
		EC_PUT_LIT(p, ",\"name\":\"");
		p = put_json(w, p, ec_shop_first_name(c));
		*p++ = ' ';
		p = put_json(w, p, ec_shop_last_name(c));
		EC_PUT_LIT(p, "\",\"email\":\"");
		p = ec_shop_put_email(p, r->id, c);
		EC_PUT_LIT(p, "\",\"city\":\"");
		p = put_json(w, p, ec_shop_city(c));
		EC_PUT_LIT(p, "\",\"country\":\"");
		p = put_json(w, p, ec_shop_country(c));
		EC_PUT_LIT(p, "\"}");
		break;
	case EC_SHOP_PRODUCTS:
		EC_PUT_LIT(p, "{\"id\":");
		p = ec_put_u64(p, r->id);
		EC_PUT_LIT(p, ",\"sku\":\"");
		p = ec_shop_put_sku(p, r->id, pr);
		EC_PUT_LIT(p, "\",\"name\":\"");
		p = put_json(w, p, ec_shop_adjective(pr));
		*p++ = ' ';
		p = put_json(w, p, ec_shop_noun(pr));
		EC_PUT_LIT(p, "\",\"category\":\"");
		p = put_json(w, p, ec_shop_category(pr));
		EC_PUT_LIT(p, "\",\"brand\":\"");
		p = put_json(w, p, ec_shop_brand(pr));
		EC_PUT_LIT(p, "\",\"price\":\"");
		p = put_money(p, pr->price);
		EC_PUT_LIT(p, "\"}");
		break;
	case EC_SHOP_ORDERS:
		EC_PUT_LIT(p, "{\"id\":");
		p = ec_put_u64(p, o->id);
		EC_PUT_LIT(p, ",\"customer_id\":");
		p = ec_put_u64(p, o->customer_id);
		EC_PUT_LIT(p, ",\"status\":\"");
		p = put_json(w, p, ec_shop_status_word(r->status));
		EC_PUT_LIT(p, "\",\"total_amount\":\"");
		p = put_money(p, o->total);
		EC_PUT_LIT(p, "\",\"currency\":\"USD\",\"created_at\":\"");
		p = put_time(w, p, o->created_at);
		EC_PUT_LIT(p, "\",\"updated_at\":\"");
		p = put_time(w, p, r->updated_at);
		EC_PUT_LIT(p, "\"}");
		break;
	case EC_SHOP_ORDER_ITEMS:
		EC_PUT_LIT(p, "{\"order_id\":");
		p = ec_put_u64(p, o->id);
		EC_PUT_LIT(p, ",\"product_id\":");
		p = ec_put_u64(p, r->item->product);
		EC_PUT_LIT(p, ",\"quantity\":");
		p = ec_put_u64(p, r->item->quantity);
		EC_PUT_LIT(p, ",\"unit_price\":\"");
		p = put_money(p, r->item->unit_price);
		EC_PUT_LIT(p, "\"}");
		break;
	case EC_SHOP_NTABLES:
		break;
	}
	return p;
}

static const char *snapshot_marker(const struct ec_shop_change *ch)
{
	if (ch->op != EC_SHOP_READ)
		return "false";
	return ch->snapshot_last ? "last" : "true";
}

char *ec_shop_write_debezium(struct ec_shop_writer *w, char *p, const struct ec_shop_change *ch)
{
	EC_PUT_LIT(p, "{\"before\":");
	if (ch->before)
		p = json_row(w, p, ch->before);
	else
		EC_PUT_LIT(p, "null");
	EC_PUT_LIT(p, ",\"after\":");
	p = json_row(w, p, ch->after);
	EC_PUT_LIT(p, ",\"source\":{\"version\":\"" EC_VERSION "\",\"connector\":\"postgresql\",\"name\":\"shop\",\"ts_ms\":");
	p = ec_put_i64(p, ch->commit_time);
	EC_PUT_LIT(p, ",\"snapshot\":\"");
	p = ec_put_str(p, snapshot_marker(ch));
	EC_PUT_LIT(p, "\",\"db\":\"shop\",\"sequence\":\"[null,\\\"");
	p = ec_put_u64(p, ch->lsn);
	EC_PUT_LIT(p, "\\\"]\",\"schema\":\"public\",\"table\":\"");
	p = put_json(w, p, ec_shop_table_name(ch->table));
	EC_PUT_LIT(p, "\",\"txId\":");
	p = ec_put_u64(p, ch->txid);
	EC_PUT_LIT(p, ",\"lsn\":");
	p = ec_put_u64(p, ch->lsn);
	EC_PUT_LIT(p, ",\"xmin\":null},\"op\":\"");
	*p++ = (char)ch->op;
	EC_PUT_LIT(p, "\",\"ts_ms\":");
	p = ec_put_i64(p, ch->commit_time);
	EC_PUT_LIT(p, "}\n");
	return p;
}

/* ---- SQL ---- */

void ec_shop_write_sql_preamble(struct ec_shop_writer *w, struct ec_buf *out, unsigned tables)
{
	static const char *const ddl[EC_SHOP_NTABLES] = {
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

	ec_buf_addf(out, "-- A synthetic shop by ec-gen %s, seed %" PRIu64 ". Load with: psql -v ON_ERROR_STOP=1\n",
		    EC_VERSION, w->seed);
	ec_buf_addstr(out,
		      "SET client_min_messages = warning;\n"
		      "SET client_encoding = 'UTF8';\n"
		      "SET standard_conforming_strings = on;\n"
		      "SET TIME ZONE 'UTC';\n"
		      "SET synchronous_commit = off;\n");
	for (t = 0; t < EC_SHOP_NTABLES; t++) {
		if (!((tables >> t) & 1))
			continue;
		ec_buf_addstr(out, ddl[t]);
		/* Full old rows in the WAL, so CDC updates carry a complete "before". */
		ec_buf_addf(out, "ALTER TABLE %s REPLICA IDENTITY FULL;\n", ec_shop_table_names[t].text);
	}
}

static const char *const sql_columns[EC_SHOP_NTABLES] = {
	"(id, name, email, city, country)",
	"(id, sku, name, category, brand, price)",
	"(id, customer_id, status, total_amount, currency, created_at, updated_at)",
	"(order_id, product_id, quantity, unit_price)",
};

static char *sql_values(struct ec_shop_writer *w, char *p, const struct ec_shop_row *r)
{
	const struct ec_shop_customer *c = r->customer;
	const struct ec_shop_product *pr = r->product;
	const struct ec_shop_order *o = r->order;

	*p++ = '(';
	switch (r->table) {
	case EC_SHOP_CUSTOMERS:
		p = ec_put_u64(p, r->id);
		EC_PUT_LIT(p, ", '");
		p = put_sql(w, p, ec_shop_first_name(c));
		*p++ = ' ';
		p = put_sql(w, p, ec_shop_last_name(c));
		EC_PUT_LIT(p, "', '");
		p = ec_shop_put_email(p, r->id, c);
		EC_PUT_LIT(p, "', '");
		p = put_sql(w, p, ec_shop_city(c));
		EC_PUT_LIT(p, "', '");
		p = put_sql(w, p, ec_shop_country(c));
		*p++ = '\'';
		break;
	case EC_SHOP_PRODUCTS:
		p = ec_put_u64(p, r->id);
		EC_PUT_LIT(p, ", '");
		p = ec_shop_put_sku(p, r->id, pr);
		EC_PUT_LIT(p, "', '");
		p = put_sql(w, p, ec_shop_adjective(pr));
		*p++ = ' ';
		p = put_sql(w, p, ec_shop_noun(pr));
		EC_PUT_LIT(p, "', '");
		p = put_sql(w, p, ec_shop_category(pr));
		EC_PUT_LIT(p, "', '");
		p = put_sql(w, p, ec_shop_brand(pr));
		EC_PUT_LIT(p, "', ");
		p = put_money(p, pr->price);
		break;
	case EC_SHOP_ORDERS:
		p = ec_put_u64(p, o->id);
		EC_PUT_LIT(p, ", ");
		p = ec_put_u64(p, o->customer_id);
		EC_PUT_LIT(p, ", '");
		p = put_sql(w, p, ec_shop_status_word(r->status));
		EC_PUT_LIT(p, "', ");
		p = put_money(p, o->total);
		EC_PUT_LIT(p, ", 'USD', '");
		p = put_time(w, p, o->created_at);
		EC_PUT_LIT(p, "', '");
		p = put_time(w, p, r->updated_at);
		*p++ = '\'';
		break;
	case EC_SHOP_ORDER_ITEMS:
		p = ec_put_u64(p, o->id);
		EC_PUT_LIT(p, ", ");
		p = ec_put_u64(p, r->item->product);
		EC_PUT_LIT(p, ", ");
		p = ec_put_u64(p, r->item->quantity);
		EC_PUT_LIT(p, ", ");
		p = put_money(p, r->item->unit_price);
		break;
	case EC_SHOP_NTABLES:
		break;
	}
	*p++ = ')';
	return p;
}

/* SET list of the columns an update changed. */
static char *sql_set(struct ec_shop_writer *w, char *p, const struct ec_shop_row *b, const struct ec_shop_row *a)
{
	switch (a->table) {
	case EC_SHOP_CUSTOMERS:
		EC_PUT_LIT(p, "city = '");
		p = put_sql(w, p, ec_shop_city(a->customer));
		EC_PUT_LIT(p, "', country = '");
		p = put_sql(w, p, ec_shop_country(a->customer));
		*p++ = '\'';
		break;
	case EC_SHOP_PRODUCTS:
		if (a->product->price != b->product->price) {
			EC_PUT_LIT(p, "price = ");
			p = put_money(p, a->product->price);
		}
		if (a->product->category != b->product->category) {
			if (a->product->price != b->product->price)
				EC_PUT_LIT(p, ", ");
			EC_PUT_LIT(p, "category = '");
			p = put_sql(w, p, ec_shop_category(a->product));
			*p++ = '\'';
		}
		break;
	case EC_SHOP_ORDERS:
		EC_PUT_LIT(p, "status = '");
		p = put_sql(w, p, ec_shop_status_word(a->status));
		EC_PUT_LIT(p, "', updated_at = '");
		p = put_time(w, p, a->updated_at);
		*p++ = '\'';
		break;
	default:
		break;
	}
	return p;
}

static char *sql_end_batch(struct ec_shop_writer *w, char *p)
{
	if (w->sql_batch_table >= 0) {
		EC_PUT_LIT(p, ";\n");
		w->sql_batch_table = -1;
	}
	return p;
}

/* INSERT INTO table (columns) VALUES */
static char *sql_insert_into(struct ec_shop_writer *w, char *p, enum ec_shop_table t)
{
	EC_PUT_LIT(p, "INSERT INTO ");
	p = put_sql(w, p, ec_shop_table_name(t));
	*p++ = ' ';
	p = ec_put_str(p, sql_columns[t]);
	EC_PUT_LIT(p, " VALUES");
	return p;
}

/*
 * Snapshot rows become multi-row INSERTs; a multi-row transaction gets
 * BEGIN before its first statement that is written.
 */
char *ec_shop_write_sql(struct ec_shop_writer *w, char *p, const struct ec_shop_change *ch)
{
	const struct ec_shop_row *a = ch->after;

	if (ch->op == EC_SHOP_READ && w->sql_batch_table == (int)a->table && w->sql_batch_rows < SQL_BATCH_ROWS) {
		EC_PUT_LIT(p, ",\n");
		w->sql_batch_rows++;
		return sql_values(w, p, a);
	}
	p = sql_end_batch(w, p);
	if (ch->multi && !w->sql_tx_open) {
		EC_PUT_LIT(p, "BEGIN;\n");
		w->sql_tx_open = 1;
	}
	switch (ch->op) {
	case EC_SHOP_READ:
		p = sql_insert_into(w, p, a->table);
		*p++ = '\n';
		p = sql_values(w, p, a);
		w->sql_batch_table = (int)a->table;
		w->sql_batch_rows = 1;
		break;
	case EC_SHOP_CREATE:
		p = sql_insert_into(w, p, a->table);
		*p++ = ' ';
		p = sql_values(w, p, a);
		EC_PUT_LIT(p, ";\n");
		break;
	case EC_SHOP_UPDATE:
		EC_PUT_LIT(p, "UPDATE ");
		p = put_sql(w, p, ec_shop_table_name(a->table));
		EC_PUT_LIT(p, " SET ");
		p = sql_set(w, p, ch->before, a);
		EC_PUT_LIT(p, " WHERE id = ");
		p = ec_put_u64(p, a->id);
		EC_PUT_LIT(p, ";\n");
		break;
	}
	return p;
}

char *ec_shop_write_sql_commit(struct ec_shop_writer *w, char *p)
{
	p = sql_end_batch(w, p);
	if (w->sql_tx_open)
		EC_PUT_LIT(p, "COMMIT;\n");
	w->sql_tx_open = 0;
	return p;
}

/* ---- Flat order lines: one denormalised record per item of an order event ---- */

char *ec_shop_write_flat(struct ec_shop_writer *w, char *p, const struct ec_shop *shop,
			 const struct ec_shop_order *o, unsigned line)
{
	const struct ec_shop_customer *c = ec_shop_customer(shop, o->customer_id);
	const struct ec_shop_item *it = &o->items[line];
	const struct ec_shop_product *pr = ec_shop_product(shop, it->product);

	EC_PUT_LIT(p, "{\"event_id\":\"");
	p = put_event_id(w, p, o, line);
	EC_PUT_LIT(p, "\",\"event_time\":\"");
	p = put_time(w, p, o->updated_at);
	EC_PUT_LIT(p, "\",\"order_id\":");
	p = ec_put_u64(p, o->id);
	EC_PUT_LIT(p, ",\"status\":\"");
	p = put_json(w, p, ec_shop_status_word(o->status));
	EC_PUT_LIT(p, "\",\"customer_id\":");
	p = ec_put_u64(p, o->customer_id);
	EC_PUT_LIT(p, ",\"customer_name\":\"");
	p = put_json(w, p, ec_shop_first_name(c));
	*p++ = ' ';
	p = put_json(w, p, ec_shop_last_name(c));
	EC_PUT_LIT(p, "\",\"email\":\"");
	p = ec_shop_put_email(p, o->customer_id, c);
	EC_PUT_LIT(p, "\",\"city\":\"");
	p = put_json(w, p, ec_shop_city(c));
	EC_PUT_LIT(p, "\",\"country\":\"");
	p = put_json(w, p, ec_shop_country(c));
	EC_PUT_LIT(p, "\",\"product_id\":");
	p = ec_put_u64(p, it->product);
	EC_PUT_LIT(p, ",\"sku\":\"");
	p = ec_shop_put_sku(p, it->product, pr);
	EC_PUT_LIT(p, "\",\"product_name\":\"");
	p = put_json(w, p, ec_shop_adjective(pr));
	*p++ = ' ';
	p = put_json(w, p, ec_shop_noun(pr));
	EC_PUT_LIT(p, "\",\"category\":\"");
	p = put_json(w, p, ec_shop_category(pr));
	EC_PUT_LIT(p, "\",\"brand\":\"");
	p = put_json(w, p, ec_shop_brand(pr));
	EC_PUT_LIT(p, "\",\"quantity\":");
	p = ec_put_u64(p, it->quantity);
	EC_PUT_LIT(p, ",\"unit_price\":\"");
	p = put_money(p, it->unit_price);
	EC_PUT_LIT(p, "\",\"amount\":\"");
	p = put_money(p, it->unit_price * it->quantity);
	EC_PUT_LIT(p, "\",\"currency\":\"USD\",\"payment_method\":\"");
	p = put_json(w, p, ec_shop_payment(o));
	EC_PUT_LIT(p, "\",\"device\":\"");
	p = put_json(w, p, ec_shop_device(o));
	EC_PUT_LIT(p, "\"}\n");
	return p;
}
