/* log.h: diagnostics on stderr, as text ("ec-window: error: stdin:3: ...") or JSON lines. */
#ifndef EC_LOG_H
#define EC_LOG_H

#include "ec.h"

enum ec_log_level { EC_LOG_ERROR = 0, EC_LOG_WARN = 1, EC_LOG_INFO = 2, EC_LOG_DEBUG = 3 };

/* Messages above this level are dropped: default warn; -v raises, -q lowers. */
extern int ec_log_level;

/* 0 = text, 1 = one JSON object per line (--log-format json). */
int ec_log_set_format(const char *name);
int ec_log_is_json(void);

void ec_log(enum ec_log_level level, const char *fmt, ...) EC_PRINTF(2, 3);
void ec_vlog(enum ec_log_level level, const char *fmt, va_list ap);
#define ec_error(...) ec_log(EC_LOG_ERROR, __VA_ARGS__)
#define ec_warn(...) ec_log(EC_LOG_WARN, __VA_ARGS__)
#define ec_info(...) ec_log(EC_LOG_INFO, __VA_ARGS__)
#define ec_debug(...) ec_log(EC_LOG_DEBUG, __VA_ARGS__)

/* Log an error and exit with a sysexits status (after flushing stdout). */
void ec_die(int status, const char *fmt, ...) EC_PRINTF(2, 3) EC_NORETURN;

/* Flush stdout and exit; the one way tools leave early. */
void ec_exit(int status) EC_NORETURN;
/* Flush and close stdout; returns STATUS, or 74 on a write error. */
int ec_finish_stdout(int status);

#endif
