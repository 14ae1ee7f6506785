/* pgspool.c: streamed in-progress transactions spooled to temporary files until they commit. */
#include "ec.h"
#include "pgspool.h"
#include <errno.h>

struct spooled {
	uint32_t top;
	FILE *f;
	uint32_t *aborted;		/* subtransactions rolled back */
	size_t naborted, aborted_alloc;
};

struct ec_pgspool {
	struct spooled *txs;
	size_t ntxs, alloc;
	struct ec_buf rec;
};

/* A record: u32 length, u32 xid, u64 lsn, then the message bytes. */
struct rec_head {
	uint32_t len;
	uint32_t xid;
	uint64_t lsn;
};

struct ec_pgspool *ec_pgspool_new(void)
{
	return xcalloc(1, sizeof(struct ec_pgspool));
}

static void drop(struct ec_pgspool *sp, size_t i)
{
	if (sp->txs[i].f)
		fclose(sp->txs[i].f);
	free(sp->txs[i].aborted);
	sp->txs[i] = sp->txs[--sp->ntxs];
}

void ec_pgspool_clear(struct ec_pgspool *sp)
{
	while (sp->ntxs)
		drop(sp, 0);
}

void ec_pgspool_free(struct ec_pgspool *sp)
{
	if (!sp)
		return;
	ec_pgspool_clear(sp);
	free(sp->txs);
	ec_buf_release(&sp->rec);
	free(sp);
}

size_t ec_pgspool_count(const struct ec_pgspool *sp)
{
	return sp->ntxs;
}

static long find(const struct ec_pgspool *sp, uint32_t top)
{
	size_t i;

	for (i = 0; i < sp->ntxs; i++)
		if (sp->txs[i].top == top)
			return (long)i;
	return -1;
}

int ec_pgspool_add(struct ec_pgspool *sp, uint32_t top, uint32_t xid, uint64_t lsn, const char *data,
		   size_t n, char *errstr, size_t errstr_size)
{
	struct rec_head h = { (uint32_t)n, xid, lsn };
	long i = find(sp, top);
	struct spooled *t;

	if (i < 0) {
		EC_GROW(sp->txs, sp->ntxs + 1, sp->alloc);
		t = &sp->txs[sp->ntxs];
		memset(t, 0, sizeof(*t));
		t->top = top;
		t->f = tmpfile();
		if (!t->f) {
			snprintf(errstr, errstr_size, "temporary file for transaction %u: %s", top, strerror(errno));
			return -1;
		}
		sp->ntxs++;
	} else {
		t = &sp->txs[i];
	}
	if (fwrite(&h, sizeof(h), 1, t->f) != 1 || (n && fwrite(data, n, 1, t->f) != 1)) {
		snprintf(errstr, errstr_size, "temporary file for transaction %u: %s", top, strerror(errno));
		return -1;
	}
	return 0;
}

void ec_pgspool_abort(struct ec_pgspool *sp, uint32_t top, uint32_t subxid)
{
	long i = find(sp, top);
	struct spooled *t;

	if (i < 0)
		return;
	if (subxid == top) {
		drop(sp, (size_t)i);
		return;
	}
	t = &sp->txs[i];
	EC_GROW(t->aborted, t->naborted + 1, t->aborted_alloc);
	t->aborted[t->naborted++] = subxid;
}

static int is_aborted(const struct spooled *t, uint32_t xid)
{
	size_t i;

	for (i = 0; i < t->naborted; i++)
		if (t->aborted[i] == xid)
			return 1;
	return 0;
}

static int replay(struct ec_pgspool *sp, struct spooled *t, ec_pgspool_fn fn, void *ctx,
		  char *errstr, size_t errstr_size)
{
	struct rec_head h;
	int rc;

	if (fflush(t->f) != 0 || fseek(t->f, 0, SEEK_SET) != 0) {
		snprintf(errstr, errstr_size, "temporary file for transaction %u: %s", t->top, strerror(errno));
		return -1;
	}
	while (fread(&h, sizeof(h), 1, t->f) == 1) {
		ec_buf_reset(&sp->rec);
		ec_buf_grow(&sp->rec, h.len + 1);
		if (h.len && fread(sp->rec.buf, h.len, 1, t->f) != 1)
			break;
		if (is_aborted(t, h.xid))
			continue;
		rc = fn(ctx, h.lsn, sp->rec.buf, h.len);
		if (rc)
			return rc;
	}
	if (ferror(t->f) || !feof(t->f)) {
		snprintf(errstr, errstr_size, "temporary file for transaction %u: cannot read it back", t->top);
		return -1;
	}
	return 0;
}

int ec_pgspool_commit(struct ec_pgspool *sp, uint32_t top, ec_pgspool_fn fn, void *ctx,
		      char *errstr, size_t errstr_size)
{
	long i = find(sp, top);
	int rc;

	if (i < 0)
		return 0;
	rc = replay(sp, &sp->txs[i], fn, ctx, errstr, errstr_size);
	drop(sp, (size_t)i);
	return rc;
}
