/*
 * record.h: reading NDJSON records from stdin or files with file:line
 * positions, the bad-input policy (--errors, --dead-letter), and control
 * records (DESIGN.md §3).
 */
#ifndef EC_RECORD_H
#define EC_RECORD_H

#include "ec.h"
#include "json.h"
#include "timefmt.h"

#define EC_MAX_LINE_DEFAULT (16u << 20)

/* One line of input, without its '\n'. Owned by the reader until the next call. */
struct ec_line {
	const char *p;
	size_t n;
	const char *file;	/* "stdin" or the file name */
	uint64_t lineno;	/* 1-based within file */
};

enum ec_errors_mode { EC_ERRORS_FAIL, EC_ERRORS_SKIP };

/* What happens to bad input. One per tool, shared by all its readers. */
struct ec_errpolicy {
	enum ec_errors_mode mode;
	const char *dead_letter_path;	/* set: write rejects there and go on */
	FILE *dead_letter;
	uint64_t rejected;
	uint64_t last_warn_count;
	int64_t last_warn_sec;
};
#define EC_ERRPOLICY_INIT { EC_ERRORS_FAIL, NULL, NULL, 0, 0, 0 }

/* Handle --errors / --dead-letter. 1 if the option was one of them. */
int ec_errpolicy_option(struct ec_errpolicy *pol, int c, const char *arg);

/*
 * Bad input at LINE: with --errors fail (and no dead letter file) report
 * "FILE:LINE: REASON" and exit 65; otherwise count it, warn (rate-limited)
 * and append {"file","line","reason","raw"} to the dead-letter file.
 */
void ec_reject(struct ec_errpolicy *pol, const struct ec_line *line, const char *fmt, ...) EC_PRINTF(3, 4);
/* Summary at exit: "skipped N bad lines" when any were. Closes the dead-letter file. */
void ec_errpolicy_finish(struct ec_errpolicy *pol);

struct ec_reader {
	char **files;
	int nfiles, cur;
	int fd;
	const char *name;
	uint64_t lineno;
	char *buf;
	size_t alloc, start, end;
	size_t max_line;
	int eof;
	struct ec_errpolicy *pol;
};

/* FILES may be empty (stdin); "-" is stdin. max_line 0 means the default. */
void ec_reader_init(struct ec_reader *r, char **files, int nfiles, size_t max_line,
		    struct ec_errpolicy *pol);
void ec_reader_release(struct ec_reader *r);
/*
 * Next non-blank line: 1, or 0 at the end of input (or when ec_run was
 * cleared by a signal). An unreadable file exits 66; a line longer than
 * max_line goes through the bad-input policy and is skipped.
 */
int ec_reader_next(struct ec_reader *r, struct ec_line *line);

/*
 * A parsed record: every tool's pathset has slot 0 = "._ec" (added by
 * ec_record_pathset_new), so control records are recognised in the same
 * single pass that extracts the tool's fields.
 */
struct ec_pathset *ec_record_pathset_new(void);

/*
 * Scan LINE with PS into SLOTS. 1 for a data record, 2 for a control
 * record (kind in *kind), 0 if rejected through the policy (caller skips).
 */
int ec_record_scan(const struct ec_pathset *ps, const struct ec_line *line,
		   struct ec_jval *slots, struct ec_errpolicy *pol);

enum ec_ctl_type { EC_CTL_OTHER, EC_CTL_RESTORE, EC_CTL_BARRIER };

/* A control record: {"_ec":"barrier","id":N,"pos":P,"acked":A} or {"_ec":"restore","id":K}. */
struct ec_control {
	enum ec_ctl_type type;	/* restore and barrier need an id; anything else is OTHER */
	char kind[32];
	uint64_t id, acked;
	int has_id;
};

/* Read a control record's fields (rare, so a tree parse). 0, or -1 if LINE is not JSON. */
int ec_control_parse(const struct ec_line *line, struct ec_control *ctl);

/* Add PATH text to PS, or exit 64 with the parse error naming OPTION. */
int ec_pathset_add_text(struct ec_pathset *ps, const char *text, const char *option);

/*
 * The event time V of a record (the field PATH): a number in UNIT, or an RFC
 * 3339 / PostgreSQL string, as epoch milliseconds. 0, or -1 with the reason in
 * errstr, naming PATH ("missing time field .ts", ".ts: expected a time ...").
 */
int ec_record_time(const struct ec_jval *v, const char *path, enum ec_time_unit unit, int64_t *ms,
		   char *errstr, size_t errstr_size);

#endif
