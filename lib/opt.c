/* opt.c: option tables to getopt_long and --help, and the options all tools share. */
#include "ec.h"
#include "log.h"
#include "opt.h"
#include "timefmt.h"
#include <errno.h>
#include <inttypes.h>

void ec_optparser_init(struct ec_optparser *p, const struct ec_opt *opts)
{
	size_t n = 0, i, s = 0;

	while (opts[n].name)
		n++;
	p->opts = opts;
	p->longopts = xcalloc(n + 1, sizeof(*p->longopts));
	p->shortopts[s++] = '+';	/* stop at the first operand, like POSIX tools */
	p->shortopts[s++] = ':';	/* report a missing argument as ':' */
	for (i = 0; i < n; i++) {
		p->longopts[i].name = opts[i].name;
		p->longopts[i].has_arg = opts[i].has_arg;
		p->longopts[i].val = opts[i].val;
		if (opts[i].val > 0 && opts[i].val < 128 && s + 3 < sizeof(p->shortopts)) {
			p->shortopts[s++] = (char)opts[i].val;
			if (opts[i].has_arg == required_argument)
				p->shortopts[s++] = ':';
		}
	}
	p->shortopts[s] = '\0';
}

void ec_optparser_release(struct ec_optparser *p)
{
	free(p->longopts);
	p->longopts = NULL;
}

int ec_optparser_next(struct ec_optparser *p, int argc, char **argv)
{
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, p->shortopts, p->longopts, NULL);
	if (c == '?' || c == ':') {
		const char *what = argv[optind - 1];
		if (c == ':')
			ec_usage_error("option %s needs an argument", what);
		if (optopt > 0 && optopt < 128)
			ec_usage_error("unknown option -%c", optopt);
		ec_usage_error("unknown option %s", what);
	}
	return c;
}

void ec_usage_error(const char *fmt, ...)
{
	struct ec_buf msg = EC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	ec_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (ec_log_is_json()) {
		/* One JSON line per message: the hint goes inside it. */
		ec_error("%s; try '%s --help'", msg.buf, ec_progname);
	} else {
		ec_error("%s", msg.buf);
		fprintf(stderr, "Try '%s --help' for more information.\n", ec_progname);
	}
	ec_buf_release(&msg);
	ec_exit(EX_USAGE);
}

void ec_opt_help(const char *synopsis, const char *description, const struct ec_opt *opts)
{
	const struct ec_opt *o;
	char left[64];

	printf("usage: %s\n\n%s\n\noptions:\n", synopsis, description);
	for (o = opts; o->name; o++) {
		if (!o->help)
			continue;
		if (o->val > 0 && o->val < 128)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->val, o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		if (strlen(left) > 28)
			printf("  %s\n  %-28s  %s\n", left, "", o->help);
		else
			printf("  %-28s  %s\n", left, o->help);
	}
	printf("\nSee %s(1) for details and the exit status.\n", ec_progname);
}

/* One line per option, "--name[=ARG] -x": what the completion and man page tests read. */
static void print_option_list(const struct ec_opt *opts)
{
	const struct ec_opt *o;

	for (o = opts; o->name; o++) {
		if (!o->help)
			continue;
		printf("--%s", o->name);
		if (o->arg)
			printf("=%s", o->arg);
		if (o->val > 0 && o->val < 128)
			printf(" -%c", o->val);
		putchar('\n');
	}
}

int ec_opt_common(int c, const char *arg, const char *synopsis, const char *description,
		  const struct ec_opt *opts)
{
	switch (c) {
	case 'v':
		if (ec_log_level < EC_LOG_DEBUG)
			ec_log_level++;
		return 1;
	case 'q':
		ec_log_level = EC_LOG_ERROR;
		return 1;
	case 'h':
		ec_opt_help(synopsis, description, opts);
		ec_exit(0);
	case 'V':
		printf("%s %s\n", ec_progname, EC_VERSION);
		ec_exit(0);
	case EC_OPT_LOG_FORMAT:
		if (ec_log_set_format(arg) < 0)
			ec_usage_error("--log-format must be text or json, not '%s'", arg);
		return 1;
	case EC_OPT_HELP_OPTIONS:
		print_option_list(opts);
		ec_exit(0);
	}
	return 0;
}

int ec_size_parse(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || (shift && v > (SIZE_MAX >> shift)))
		return -1;
	*out = (size_t)(v << shift);
	return 0;
}

int64_t ec_opt_duration(const char *name, const char *arg)
{
	char err[256];
	int64_t ms;

	/* A bare zero needs no unit. */
	if (!strcmp(arg, "0"))
		return 0;
	if (ec_duration_parse(arg, &ms, err, sizeof(err)) < 0)
		ec_usage_error("--%s: %s", name, err);
	return ms;
}

int64_t ec_opt_interval(const char *name, const char *arg)
{
	int64_t ms = ec_opt_duration(name, arg);

	if (ms <= 0)
		ec_usage_error("--%s must be a duration above zero, not '%s'", name, arg);
	return ms;
}

uint64_t ec_opt_count(const char *name, const char *arg, uint64_t min, uint64_t max)
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

size_t ec_opt_size(const char *name, const char *arg, size_t min)
{
	size_t v;

	if (ec_size_parse(arg, &v) < 0 || v < min)
		ec_usage_error("--%s: not a size: '%s'", name, arg);
	return v;
}
