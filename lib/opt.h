/*
 * opt.h: one option table per tool drives getopt_long, --help and the
 * hidden --help-options listing (which tests compare with the man page
 * and completions). Options every tool shares live here once.
 */
#ifndef EC_OPT_H
#define EC_OPT_H

#include "ec.h"
#include <getopt.h>

struct ec_opt {
	const char *name;	/* long name, NULL ends the table */
	int has_arg;		/* no_argument / required_argument */
	int val;		/* short letter, or a value >= 256 for long-only */
	const char *arg;	/* argument name for --help ("PATH") or NULL */
	const char *help;	/* one line */
};

/* Values of the shared long-only options. */
enum {
	EC_OPT_ERRORS = 1000,
	EC_OPT_DEAD_LETTER,
	EC_OPT_MAX_LINE,
	EC_OPT_LOG_FORMAT,
	EC_OPT_HELP_OPTIONS,
	EC_OPT_TOOL_BASE = 1100,	/* tools number their own from here */
};

#define EC_OPTS_INPUT \
	{ "errors", required_argument, EC_OPT_ERRORS, "fail|skip", "bad input: exit 65 (fail, default) or skip and count" }, \
	{ "dead-letter", required_argument, EC_OPT_DEAD_LETTER, "FILE", "append bad input lines with the reason to FILE and go on" }, \
	{ "max-line", required_argument, EC_OPT_MAX_LINE, "BYTES", "longest accepted line (default 16M)" }

#define EC_OPTS_COMMON \
	{ "log-format", required_argument, EC_OPT_LOG_FORMAT, "text|json", "diagnostics format on stderr" }, \
	{ "verbose", no_argument, 'v', NULL, "more diagnostics (repeatable)" }, \
	{ "quiet", no_argument, 'q', NULL, "errors only" }, \
	{ "help", no_argument, 'h', NULL, "show this help and exit" }, \
	{ "version", no_argument, 'V', NULL, "show the version and exit" }, \
	{ "help-options", no_argument, EC_OPT_HELP_OPTIONS, NULL, NULL }

struct ec_optparser {
	const struct ec_opt *opts;
	struct option *longopts;
	char shortopts[128];
};

void ec_optparser_init(struct ec_optparser *p, const struct ec_opt *opts);
void ec_optparser_release(struct ec_optparser *p);
/* Like getopt_long; returns -1 at the end, '?' on a usage error (already reported). */
int ec_optparser_next(struct ec_optparser *p, int argc, char **argv);

/*
 * Print "usage: SYNOPSIS", DESCRIPTION and the table to stdout.
 */
void ec_opt_help(const char *synopsis, const char *description, const struct ec_opt *opts);

/*
 * Handle the options shared by every tool (-v -q -h -V --log-format
 * --help-options). Returns 1 if handled (may exit for -h/-V), 0 if not one.
 */
int ec_opt_common(int c, const char *arg, const char *synopsis, const char *description,
		  const struct ec_opt *opts);

/* Report a usage error and exit 64. */
void ec_usage_error(const char *fmt, ...) EC_PRINTF(1, 2) EC_NORETURN;

/* Parse sizes "16M", "512k", "1G", "1000" (bytes). 0, or -1. */
int ec_size_parse(const char *s, size_t *out);

/*
 * Option values that a usage error (exit 64, naming --NAME) rejects: a
 * duration ("30s", "2h"), a decimal integer in [MIN, MAX], a size of at least MIN.
 */
int64_t ec_opt_duration(const char *name, const char *arg);
/* A duration above zero: how often something happens. */
int64_t ec_opt_interval(const char *name, const char *arg);
uint64_t ec_opt_count(const char *name, const char *arg, uint64_t min, uint64_t max);
size_t ec_opt_size(const char *name, const char *arg, size_t min);

#endif
