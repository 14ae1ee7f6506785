/* log.c: diagnostics to stderr, text or JSON, never on stdout. */
#include "ec.h"
#include "log.h"
#include "jsonw.h"
#include <time.h>

int ec_log_level = EC_LOG_WARN;
static int log_json;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

int ec_log_set_format(const char *name)
{
	if (!strcmp(name, "text"))
		log_json = 0;
	else if (!strcmp(name, "json"))
		log_json = 1;
	else
		return -1;
	return 0;
}

int ec_log_is_json(void)
{
	return log_json;
}

void ec_vlog(enum ec_log_level level, const char *fmt, va_list ap)
{
	struct ec_buf msg = EC_BUF_INIT, line = EC_BUF_INIT;

	if ((int)level > ec_log_level)
		return;
	ec_buf_vaddf(&msg, fmt, ap);
	if (log_json) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ec_buf_addstr(&line, "{\"time\":");
		ec_jsonw_time(&line, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		ec_buf_addstr(&line, ",\"level\":");
		ec_jsonw_cstr(&line, level_names[level]);
		ec_buf_addstr(&line, ",\"tool\":");
		ec_jsonw_cstr(&line, ec_progname);
		ec_buf_addstr(&line, ",\"msg\":");
		ec_jsonw_str(&line, msg.buf, msg.len);
		ec_buf_addstr(&line, "}\n");
	} else {
		ec_buf_addf(&line, "%s: %s: %s\n", ec_progname, level_names[level], msg.buf);
	}
	fwrite(line.buf, 1, line.len, stderr);
	ec_buf_release(&msg);
	ec_buf_release(&line);
}

void ec_log(enum ec_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ec_vlog(level, fmt, ap);
	va_end(ap);
}

void ec_die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ec_vlog(EC_LOG_ERROR, fmt, ap);
	va_end(ap);
	ec_exit(status);
}
