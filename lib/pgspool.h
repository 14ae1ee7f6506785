/*
 * pgspool.h: in-progress transactions that pgoutput streams (protocol
 * version 2) kept in temporary files by top-level transaction id until
 * their Stream Commit, so memory stays bounded however large they grow;
 * aborted subtransactions are left out when a commit replays them.
 */
#ifndef EC_PGSPOOL_H
#define EC_PGSPOOL_H

#include "ec.h"

struct ec_pgspool;

struct ec_pgspool *ec_pgspool_new(void);
void ec_pgspool_free(struct ec_pgspool *sp);
/* Forget every transaction (after a reconnect the server streams them again). */
void ec_pgspool_clear(struct ec_pgspool *sp);

/* Keep message DATA[0..n) at LSN of subtransaction XID of transaction TOP. 0, or -1 with errstr. */
int ec_pgspool_add(struct ec_pgspool *sp, uint32_t top, uint32_t xid, uint64_t lsn, const char *data,
		   size_t n, char *errstr, size_t errstr_size);

/* Stream Abort: the whole transaction when SUBXID is TOP, else that subtransaction. */
void ec_pgspool_abort(struct ec_pgspool *sp, uint32_t top, uint32_t subxid);

/*
 * Stream Commit: call FN for each kept message of TOP in order (leaving out
 * aborted subtransactions), then forget TOP. A transaction with nothing
 * kept calls nothing. 0, FN's nonzero return, or -1 with errstr.
 */
typedef int (*ec_pgspool_fn)(void *ctx, uint64_t lsn, const char *data, size_t n);
int ec_pgspool_commit(struct ec_pgspool *sp, uint32_t top, ec_pgspool_fn fn, void *ctx,
		      char *errstr, size_t errstr_size);

/* Transactions kept now (for diagnostics and tests). */
size_t ec_pgspool_count(const struct ec_pgspool *sp);

#endif
