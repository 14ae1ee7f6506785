/* path.h: field paths such as .after.total_amount, .items[0].sku, .["odd key"]. */
#ifndef EC_PATH_H
#define EC_PATH_H

#include "ec.h"

enum ec_path_seg_kind { EC_SEG_KEY, EC_SEG_INDEX };

struct ec_path_seg {
	enum ec_path_seg_kind kind;
	char *key;		/* EC_SEG_KEY: decoded key bytes, NUL-terminated */
	size_t keylen;
	size_t index;		/* EC_SEG_INDEX */
};

struct ec_path {
	struct ec_path_seg *seg;
	size_t nseg;		/* 0: the whole record (".") */
	char *text;		/* the path as written, for messages */
};

/*
 * Parse TEXT into PATH. Syntax: "." alone, or a sequence of ".name",
 * "[N]" and "[\"quoted key\"]" (also ".[\"key\"]"); names are
 * [A-Za-z_$][A-Za-z0-9_$-]*. Returns 0, or -1 with a message in errstr.
 */
int ec_path_parse(struct ec_path *path, const char *text, char *errstr, size_t errstr_size);
void ec_path_release(struct ec_path *path);

/* The last key of the path (for default output names), or NULL. */
const char *ec_path_leaf(const struct ec_path *path);

#endif
