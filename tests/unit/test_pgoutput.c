/* test_pgoutput.c: pgoutput messages decoded from hand-assembled protocol bytes. */
#include "test.h"
#include "pgoutput.h"

static struct ec_buf msg;

static void u8(int v) { ec_buf_addch(&msg, (char)v); }
static void u16(int v) { u8(v >> 8 & 255); u8(v & 255); }
static void u32(uint32_t v) { u16((int)(v >> 16)); u16((int)(v & 0xffff)); }
static void u64(uint64_t v) { u32((uint32_t)(v >> 32)); u32((uint32_t)v); }
static void str(const char *s) { ec_buf_add(&msg, s, strlen(s) + 1); }
static void text(const char *s) { u8('t'); u32((uint32_t)strlen(s)); ec_buf_add(&msg, s, strlen(s)); }

static int decode(struct ec_pgo_decoder *d, struct ec_pgo_msg *m)
{
	char err[256];
	int rc = ec_pgo_decode(d, msg.buf, msg.len, m, err, sizeof(err));

	ec_buf_reset(&msg);
	return rc;
}

static void relation(uint32_t oid, const char *name, int ncols)
{
	u8('R'); u32(oid); str("public"); str(name); u8('d'); u16(ncols);
	u8(1); str("id"); u32(20); u32((uint32_t)-1);
	if (ncols > 1) {
		u8(0); str("note"); u32(25); u32((uint32_t)-1);
	}
}

static void test_begin_commit(void)
{
	struct ec_pgo_decoder d;
	struct ec_pgo_msg m;

	ec_pgo_init(&d, 0);
	u8('B'); u64(0x16B374D848ULL); u64(849182371004911ULL); u32(742);
	CHECK(decode(&d, &m) == 0);
	CHECK(m.type == 'B' && m.lsn == 0x16B374D848ULL && m.xid == 742);
	CHECK(ec_pgo_time_ms(m.time_us) == 849182371004LL + EC_PG_EPOCH_MS);
	u8('C'); u8(0); u64(100); u64(200); u64(5);
	CHECK(decode(&d, &m) == 0);
	CHECK(m.type == 'C' && m.lsn == 100 && m.end_lsn == 200 && m.time_us == 5);
	u8('C'); u8(0); u64(100);
	CHECK(decode(&d, &m) == -1);
	ec_pgo_release(&d);
}

static void test_relation_insert_update_delete(void)
{
	struct ec_pgo_decoder d;
	struct ec_pgo_msg m;

	ec_pgo_init(&d, 0);
	relation(16384, "orders", 2);
	CHECK(decode(&d, &m) == 0);
	CHECK(m.rel && m.rel->ncols == 2 && !strcmp(m.rel->name, "orders") && m.rel->cols[0].key);
	CHECK(m.rel->cols[1].type_oid == 25 && !m.rel->cols[1].key && m.rel->generation == 1);
	u8('I'); u32(16384); u8('N'); u16(2); text("7"); u8('n');
	CHECK(decode(&d, &m) == 0);
	CHECK(m.newt.ncols == 2 && m.newt.cols[0].kind == 't' && m.newt.cols[0].len == 1 &&
	      m.newt.cols[0].data[0] == '7' && m.newt.cols[1].kind == 'n' && !m.old_kind);
	u8('U'); u32(16384); u8('K'); u16(2); text("7"); u8('n'); u8('N'); u16(2); text("8"); u8('u');
	CHECK(decode(&d, &m) == 0);
	CHECK(m.old_kind == 'K' && m.oldt.cols[0].data[0] == '7' && m.newt.cols[0].data[0] == '8' &&
	      m.newt.cols[1].kind == 'u');
	u8('U'); u32(16384); u8('N'); u16(1); text("9");
	CHECK(decode(&d, &m) == 0 && !m.old_kind && m.newt.ncols == 1);
	u8('D'); u32(16384); u8('O'); u16(2); text("9"); text("x");
	CHECK(decode(&d, &m) == 0 && m.old_kind == 'O' && m.oldt.cols[1].len == 1);
	u8('I'); u32(99); u8('N'); u16(0);
	CHECK(decode(&d, &m) == -1);
	u8('I'); u32(16384); u8('N'); u16(2); text("7");
	CHECK(decode(&d, &m) == -1);
	/* ADD COLUMN: a new Relation message replaces the cached one. */
	relation(16384, "orders", 1);
	CHECK(decode(&d, &m) == 0 && m.rel->ncols == 1 && m.rel->generation == 2);
	CHECK(ec_pgo_relation(&d, 16384) == m.rel);
	ec_pgo_release(&d);
}

static void test_truncate_message_stream(void)
{
	struct ec_pgo_decoder d;
	struct ec_pgo_msg m;

	ec_pgo_init(&d, 1);
	u8('T'); u32(2); u8(1); u32(1); u32(2);
	CHECK(decode(&d, &m) == 0 && m.nrelids == 2 && m.truncate_options == 1 && m.relids[7] == 2);
	u8('M'); u8(1); u64(77); str("pfx"); u32(3); ec_buf_add(&msg, "a\0b", 3);
	CHECK(decode(&d, &m) == 0 && m.transactional && m.content_len == 3 && !strcmp(m.prefix, "pfx"));
	u8('S'); u32(900); u8(1);
	CHECK(decode(&d, &m) == 0 && m.type == 'S' && m.xid == 900 && m.first_segment);
	relation(5, "t", 1);
	/* inside a stream every change carries the xid: insert it after the type byte */
	{
		struct ec_buf tmp = EC_BUF_INIT;

		ec_buf_add(&tmp, msg.buf, msg.len);
		ec_buf_reset(&msg);
		u8('R'); u32(900); ec_buf_add(&msg, tmp.buf + 1, tmp.len - 1);
		ec_buf_release(&tmp);
	}
	CHECK(decode(&d, &m) == 0 && m.xid == 900 && m.rel && m.rel->oid == 5);
	u8('E');
	CHECK(decode(&d, &m) == 0 && !d.in_stream);
	u8('c'); u32(900); u8(0); u64(1); u64(2); u64(3);
	CHECK(decode(&d, &m) == 0 && m.end_lsn == 2);
	u8('A'); u32(900); u32(901);
	CHECK(decode(&d, &m) == 0 && m.xid == 900 && m.subxid == 901);
	u8('Z');
	CHECK(decode(&d, &m) == -1);
	ec_pgo_release(&d);
}

static void test_lsn(void)
{
	char buf[EC_LSN_BUFSZ];
	uint64_t l = 0;

	CHECK(ec_lsn_parse("16/B374D848", &l) == 0 && l == 0x16B374D848ULL);
	ec_lsn_format(l, buf);
	CHECK_STR(buf, "16/B374D848");
	ec_lsn_format(0, buf);
	CHECK_STR(buf, "0/0");
	CHECK(ec_lsn_parse("16B374D848", &l) == -1);
	CHECK(ec_lsn_parse("1/", &l) == -1);
	CHECK(ec_lsn_parse("100000000/0", &l) == -1);
	CHECK_INT(ec_lsn_parse("-1/0", &l), -1);
}

int main(void)
{
	RUN(test_begin_commit);
	RUN(test_relation_insert_update_delete);
	RUN(test_truncate_message_stream);
	RUN(test_lsn);
	ec_buf_release(&msg);
	return test_done();
}
