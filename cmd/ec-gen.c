/* ec-gen.c: a deterministic synthetic e-commerce shop, streamed as CDC change events, SQL or flat order lines. */
#include "ec.h"
#include "source.h"
#include "log.h"
#include "opt.h"
#include "shop.h"
#include "shop_format.h"
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
#define SEC 1000LL

/* ---- Settings ---- */

enum format { FMT_DEBEZIUM, FMT_SQL, FMT_FLAT };

struct settings {
	enum format format;
	struct ec_shop_settings shop;
	double rate;			/* records per second of real time, 0 = unpaced */
	const char *ack_path;
	int64_t checkpoint_interval;	/* ms of wall clock */
	uint64_t checkpoint_records;	/* 0 = by interval */
};

static const struct settings default_settings = {
	.format = FMT_DEBEZIUM,
	.shop = {
		.customers = 1000,
		.products = 200,
		.orders = 10000,
		.seed = 1,
		.start = 1793491200000LL,	/* 2026-11-01T00:00:00Z */
		.order_rate = 2,
		.out_of_order = 0.05,
		.max_delay = 30 * SEC,
		.tables = EC_SHOP_ALL_TABLES,
	},
	.rate = 0,
	.ack_path = NULL,
	.checkpoint_interval = 5 * SEC,
	.checkpoint_records = 0,
};

struct gen {
	struct settings set;
	struct ec_shop *shop;
	struct ec_shop_writer *writer;
	struct ec_buf out;

	/* records and checkpoints */
	uint64_t pos;			/* data records so far, including skipped ones */
	uint64_t skip;			/* records already delivered before a restart */
	struct ec_source src;
	uint64_t last_barrier_pos;
	int barriers_sent;
	unsigned tick;

	/* pacing */
	int64_t pace_start_ns;
	uint64_t paced;
};

/* ---- Output, records, checkpoints and pacing ---- */

static void out_flush(struct gen *g, int to_reader)
{
	if (g->out.len) {
		ec_out_write(g->out.buf, g->out.len);
		ec_buf_reset(&g->out);
	}
	/* Checked: a paced or endless run must notice its reader going away (EPIPE) and end. */
	if (to_reader)
		ec_out_flush();
}

/* Room for one more record; the writer writes at the returned pointer. */
static inline char *out_reserve(struct gen *g)
{
	if (EC_UNLIKELY(g->out.alloc - g->out.len < EC_SHOP_RECORD_MAX))
		ec_buf_grow(&g->out, EC_SHOP_RECORD_MAX);
	return g->out.buf + g->out.len;
}

static inline void out_commit(struct gen *g, char *p)
{
	g->out.len = (size_t)(p - g->out.buf);
	g->out.buf[g->out.len] = '\0';
}

static void barrier(struct gen *g)
{
	char pos[24];

	snprintf(pos, sizeof(pos), "%" PRIu64, g->pos);
	ec_source_barrier(&g->src, pos, &g->out);
	g->last_barrier_pos = g->pos;
	g->barriers_sent = 1;
	/* Downstream commits on a barrier: let it see the barrier now. */
	out_flush(g, 1);
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
	int64_t now = ec_mono_ns(), until;

	if (now >= due)
		return;
	out_flush(g, 1);
	while (now < due && ec_run) {
		until = due;
		if (g->set.ack_path && !g->set.checkpoint_records) {
			if (ec_source_due(&g->src))
				barrier(g);
			if (now + ec_source_wait_ms(&g->src) * 1000000LL < until)
				until = now + ec_source_wait_ms(&g->src) * 1000000LL;
		}
		sleep_until(until);
		now = ec_mono_ns();
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
			if (ec_source_due(&g->src))
				barrier(g);
		}
	}
	if (g->set.rate > 0)
		pace(g);
}

/* ---- The shop's changes as records ---- */

/* Flat: every item of an order event is a record of its own. */
static void write_flat(struct gen *g, const struct ec_shop_order *o)
{
	unsigned i;

	for (i = 0; i < o->nitems; i++) {
		if (record_begin(g))
			record_end(g, ec_shop_write_flat(g->writer, out_reserve(g), g->shop, o, i));
	}
}

static void write_change(struct gen *g, int what, const struct ec_shop_change *ch)
{
	switch (g->set.format) {
	case FMT_DEBEZIUM:
		if (what == EC_SHOP_CHANGE && record_begin(g))
			record_end(g, ec_shop_write_debezium(g->writer, out_reserve(g), ch));
		break;
	case FMT_SQL:
		/* SQL has no --ack, so nothing is skipped; a commit is no record. */
		if (what == EC_SHOP_CHANGE)
			record_end(g, ec_shop_write_sql(g->writer, out_reserve(g), ch));
		else
			out_commit(g, ec_shop_write_sql_commit(g->writer, out_reserve(g)));
		break;
	case FMT_FLAT:
		/* The shop reads only the orders table for flat: every change is an order event. */
		if (what == EC_SHOP_CHANGE)
			write_flat(g, ch->after->order);
		break;
	}
}

/* The main loop: the shop's log, change by change; a stop signal ends it after a transaction. */
static void simulate(struct gen *g)
{
	struct ec_shop_change ch;
	int what;

	for (;;) {
		if (!ec_run)
			ec_shop_stop(g->shop);
		what = ec_shop_next(g->shop, &ch);
		if (what == EC_SHOP_END)
			break;
		write_change(g, what, &ch);
	}
}

/* --ack: where the last run's output was acknowledged up to. 0, or an exit status. */
static int restore(struct gen *g)
{
	const char *pos;
	char *end;
	int ret;

	ret = ec_source_init(&g->src, g->set.ack_path, g->set.checkpoint_interval);
	if (ret)
		return ret;
	pos = g->src.acked_pos;
	if (pos) {
		errno = 0;
		g->skip = strtoull(pos, &end, 10);
		if (errno || *end || pos[0] < '0' || pos[0] > '9') {
			ec_error("%s: \"pos\" must be a record count for ec-gen, not %s", g->set.ack_path, pos);
			return EX_DATAERR;
		}
	}
	g->last_barrier_pos = g->skip;
	return 0;
}

static int run(const struct settings *set)
{
	struct ec_shop_settings shop_set = set->shop;
	struct gen g;
	char err[256];
	int ret;

	memset(&g, 0, sizeof(g));
	g.set = *set;
	ret = restore(&g);
	if (ret) {
		ec_source_release(&g.src);
		return ret;
	}
	ec_source_restore(&g.src, &g.out);
	/* Flat lines are made from order events: the other tables' changes would be read for nothing. */
	if (set->format == FMT_FLAT)
		shop_set.tables = 1u << EC_SHOP_ORDERS;
	g.shop = ec_shop_new(&shop_set, err, sizeof(err));
	if (!g.shop) {
		ec_error("%s", err);
		ec_buf_release(&g.out);
		ec_source_release(&g.src);
		return EX_USAGE;
	}
	g.writer = ec_shop_writer_new(set->shop.seed);
	g.pace_start_ns = ec_mono_ns();
	if (set->format == FMT_SQL)
		ec_shop_write_sql_preamble(g.writer, &g.out, set->shop.tables);
	simulate(&g);
	if (set->ack_path && ec_run && g.pos < g.skip)
		ec_warn("%s: position %" PRIu64 " is beyond the end of this history (%" PRIu64
			" records): were the options or the seed changed?", set->ack_path, g.skip, g.pos);
	if (set->ack_path && ec_run) {
		/* The history is complete; after a stop signal the restart completes it. */
		ec_buf_addstr(&g.out, EC_END_RECORD);
		barrier(&g);
	} else if (set->ack_path && (g.pos != g.last_barrier_pos || !g.barriers_sent)) {
		barrier(&g);
	}
	out_flush(&g, 0);
	if (!ec_run)
		ec_info("stopped by a signal after %" PRIu64 " records", g.pos);
	ec_shop_writer_free(g.writer);
	ec_shop_free(g.shop);
	ec_buf_release(&g.out);
	ec_source_release(&g.src);
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

static unsigned parse_tables(const char *arg)
{
	const char *s = arg, *comma;
	unsigned mask = 0, t;
	size_t n;

	for (;;) {
		comma = strchr(s, ',');
		n = comma ? (size_t)(comma - s) : strlen(s);
		for (t = 0; t < EC_SHOP_NTABLES; t++)
			if (strlen(ec_shop_table_names[t].text) == n && !strncmp(s, ec_shop_table_names[t].text, n))
				break;
		if (t == EC_SHOP_NTABLES)
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
			set.shop.orders = ec_opt_count("orders", optarg, 0, UINT64_MAX / 2);
			break;
		case 's':
			set.shop.seed = ec_opt_count("seed", optarg, 0, UINT64_MAX);
			break;
		case OPT_CUSTOMERS:
			set.shop.customers = ec_opt_count("customers", optarg, 1, 100000000);
			break;
		case OPT_PRODUCTS:
			set.shop.products = ec_opt_count("products", optarg, 1, 10000000);
			break;
		case OPT_START:
			if (!strcmp(optarg, "now"))
				set.shop.start = ec_wall_ms();
			else if (ec_time_parse(optarg, strlen(optarg), &set.shop.start, err, sizeof(err)) < 0)
				ec_usage_error("--start: %s", err);
			break;
		case 'r':
			set.rate = parse_number("rate", optarg, 0, 0, 1e9);
			break;
		case OPT_ORDER_RATE:
			set.shop.order_rate = parse_number("order-rate", optarg, 0, 0, 1e6);
			break;
		case OPT_OUT_OF_ORDER:
			set.shop.out_of_order = parse_number("out-of-order", optarg, 0, 1, 1);
			break;
		case OPT_MAX_DELAY:
			set.shop.max_delay = ec_opt_duration("max-delay", optarg);
			break;
		case 't':
			set.shop.tables = parse_tables(optarg);
			tables_given = 1;
			break;
		case OPT_ACK:
			set.ack_path = optarg;
			break;
		case OPT_CHECKPOINT_INTERVAL:
			set.checkpoint_interval = ec_opt_interval("checkpoint-interval", optarg);
			interval_given = 1;
			break;
		case OPT_CHECKPOINT_RECORDS:
			set.checkpoint_records = ec_opt_count("checkpoint-records", optarg, 1, UINT64_MAX);
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
