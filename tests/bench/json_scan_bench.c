/*
 * json_scan_bench.c: ns per line of ec_json_scan against yajl on ~400-byte
 * flat order events, the shape ec-window reads.
 * Build: cc -O2 -Ilib tests/bench/json_scan_bench.c .build/libec.a -lyajl
 */
#include <time.h>
#include <yajl/yajl_parse.h>

#include "ec.h"
#include "json.h"
#include "path.h"

#define NLINES 100000
#define ROUNDS 15

static const char *cities[] = { "Jakarta", "Surabaya", "Bandung", "Medan", "Semarang", "Makassar" };
static const char *categories[] = { "electronics", "fashion", "home", "beauty", "toys", "groceries" };
static const char *statuses[] = { "PAID", "CREATED", "SHIPPED", "DELIVERED", "CANCELLED" };
static const char *names[] = { "Some Product Name", "Kopi Susu Gula Aren 250g", "Wireless Earbuds Pro",
			       "Batik Shirt Slim Fit", "Rice Cooker 1.8L" };

/* One event per line into BUF; returns the line offsets (NLINES + 1 entries). */
static size_t *make_lines(struct ec_buf *buf)
{
	size_t *off = xmalloc((NLINES + 1) * sizeof(*off));
	unsigned long x = 12345;
	int i;

	for (i = 0; i < NLINES; i++) {
		unsigned q, price;

		x = x * 6364136223846793005UL + 1442695040888963407UL;
		q = (unsigned)(x >> 60) % 5 + 1;
		price = (unsigned)(x >> 20) % 100000;
		off[i] = buf->len;
		ec_buf_addf(buf, "{\"event_id\":\"e-%08d\",\"event_time\":\"2026-11-01T%02d:%02d:%02d.%03dZ\","
			    "\"order_id\":%d,\"customer_id\":%lu,\"city\":\"%s\",\"country\":\"ID\","
			    "\"product_id\":%lu,\"sku\":\"SKU-%05lu\",\"category\":\"%s\",\"brand\":\"Acme\","
			    "\"quantity\":%u,\"unit_price\":\"%u.%02u\",\"amount\":\"%u.%02u\",\"currency\":\"IDR\","
			    "\"status\":\"%s\",\"name\":\"%s\",\"payment_method\":\"credit_card\","
			    "\"channel\":\"mobile_app\",\"discount\":\"0.00\",\"is_first_order\":%s}",
			    i + 1, i / 3600 % 24, i / 60 % 60, i % 60, (int)(x >> 40) % 1000,
			    100000 + i, (x >> 30) % 50000, cities[(x >> 8) % 6], (x >> 12) % 5000,
			    (x >> 12) % 5000, categories[(x >> 16) % 6], q, price / 100, price % 100,
			    price * q / 100, price * q % 100, statuses[(x >> 24) % 5], names[(x >> 28) % 5],
			    (x >> 33) & 1 ? "true" : "false");
		ec_buf_addch(buf, '\n');
	}
	off[NLINES] = buf->len;
	return off;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double bench_ec(const struct ec_buf *buf, const size_t *off)
{
	static const char *texts[] = { ".category", ".amount", ".event_time", "._ec" };
	struct ec_pathset *ps = ec_pathset_new();
	struct ec_jval slots[4];
	struct ec_jerr err;
	double best = 1e9;
	size_t i, found = 0;
	int r;

	for (i = 0; i < EC_ARRAY_SIZE(texts); i++) {
		struct ec_path path;
		char errstr[256];

		if (ec_path_parse(&path, texts[i], errstr, sizeof(errstr)) < 0) {
			fprintf(stderr, "%s\n", errstr);
			exit(1);
		}
		ec_pathset_add(ps, &path);
		ec_path_release(&path);
	}
	for (r = 0; r < ROUNDS; r++) {
		double t = now();

		for (i = 0; i < NLINES; i++) {
			if (ec_json_scan(ps, buf->buf + off[i], off[i + 1] - off[i] - 1, slots, &err) < 0) {
				fprintf(stderr, "line %zu: %s at %zu\n", i + 1, err.msg, err.offset);
				exit(1);
			}
			found += slots[0].type == EC_J_STRING && slots[1].type == EC_J_STRING;
		}
		t = now() - t;
		if (t < best)
			best = t;
	}
	if (found != (size_t)NLINES * ROUNDS) {
		fprintf(stderr, "fields not found\n");
		exit(1);
	}
	ec_pathset_free(ps);
	return best * 1e9 / NLINES;
}

/* yajl with no callbacks, one handle per line (what a per-line validator does). */
static double bench_yajl_per_line(const struct ec_buf *buf, const size_t *off)
{
	double best = 1e9;
	size_t i;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		double t = now();

		for (i = 0; i < NLINES; i++) {
			const unsigned char *line = (const unsigned char *)buf->buf + off[i];
			yajl_handle h = yajl_alloc(NULL, NULL, NULL);

			if (yajl_parse(h, line, off[i + 1] - off[i] - 1) != yajl_status_ok ||
			    yajl_complete_parse(h) != yajl_status_ok) {
				fprintf(stderr, "yajl rejected line %zu\n", i + 1);
				exit(1);
			}
			yajl_free(h);
		}
		t = now() - t;
		if (t < best)
			best = t;
	}
	return best * 1e9 / NLINES;
}

/* yajl's best case: one handle streaming all lines as multiple values. */
static double bench_yajl_stream(const struct ec_buf *buf)
{
	double best = 1e9;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		double t = now();
		yajl_handle h = yajl_alloc(NULL, NULL, NULL);

		yajl_config(h, yajl_allow_multiple_values, 1);
		if (yajl_parse(h, (const unsigned char *)buf->buf, buf->len) != yajl_status_ok ||
		    yajl_complete_parse(h) != yajl_status_ok) {
			fprintf(stderr, "yajl rejected the stream\n");
			exit(1);
		}
		yajl_free(h);
		t = now() - t;
		if (t < best)
			best = t;
	}
	return best * 1e9 / NLINES;
}

int main(void)
{
	struct ec_buf buf = EC_BUF_INIT;
	size_t *off = make_lines(&buf);
	double ec, yl, ys;

	ec = bench_ec(&buf, off);
	yl = bench_yajl_per_line(&buf, off);
	ys = bench_yajl_stream(&buf);
	printf("%d lines, %.0f bytes/line on average\n", NLINES, (double)buf.len / NLINES);
	printf("ec_json_scan (4 paths)     %6.1f ns/line  %5.2f M lines/s  %5.0f MB/s\n",
	       ec, 1e3 / ec, (double)buf.len / NLINES / ec * 1e3);
	printf("yajl_parse, handle/line    %6.1f ns/line  %5.2f M lines/s\n", yl, 1e3 / yl);
	printf("yajl_parse, one stream     %6.1f ns/line  %5.2f M lines/s\n", ys, 1e3 / ys);
	free(off);
	ec_buf_release(&buf);
	return 0;
}
