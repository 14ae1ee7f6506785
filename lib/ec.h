/* ec.h: what every ec tool and library module includes: allocation, buffers, exit codes. */
#ifndef EC_H
#define EC_H

/*
 * Adding a tool, the checklist:
 *   1. cmd/ec-NAME.c with cmd_main(argc, argv); lib/main.c owns main().
 *   2. One option table (struct option + help text) that drives --help.
 *   3. man/ec-NAME.1 (SYNOPSIS matches --help, EXIT STATUS lists sysexits).
 *   4. completions/bash/ec-NAME, completions/zsh/_ec-NAME, completions/fish/ec-NAME.fish.
 *   5. tests/NAME.bats and golden data in tests/data/NAME/.
 *   6. A README.md section with a real example and a CHANGELOG.md line.
 * The Makefile picks up every cmd/ec-NAME.c and lib/ source by itself.
 */

#define _GNU_SOURCE 1
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sysexits.h>

#ifndef EC_VERSION
#define EC_VERSION "0.1.0"
#endif

#define EC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define EC_LIKELY(x) __builtin_expect(!!(x), 1)
#define EC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define EC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define EC_NORETURN __attribute__((noreturn))

/*
 * Whether a tool frees its state before it exits. Freeing millions of rows
 * only to exit costs seconds; the sanitizer builds free everything so that
 * the leak checker sees real leaks.
 */
#if defined(__SANITIZE_ADDRESS__)
#define EC_FREE_AT_EXIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EC_FREE_AT_EXIT 1
#endif
#endif
#ifndef EC_FREE_AT_EXIT
#define EC_FREE_AT_EXIT 0
#endif

/* Every tool implements this; lib/main.c calls it. Returns the exit status. */
int cmd_main(int argc, char **argv);

/* The program name for messages ("ec-window"), set by main(). */
extern const char *ec_progname;

/* Cleared by SIGTERM/SIGINT: loops stop reading, drain, flush and exit 0. */
extern volatile int ec_run;

/* xmalloc family: abort with a message on OOM so callers never check NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Grow *p (of *alloc elements of size elem) to hold at least need elements. */
void *xgrow(void *p, size_t elem, size_t need, size_t *alloc);
#define EC_GROW(p, need, alloc) ((p) = xgrow((p), sizeof(*(p)), (need), &(alloc)))

/* A growable byte buffer, always NUL-terminated once anything was added. */
struct ec_buf {
	char *buf;
	size_t len;
	size_t alloc;
};
#define EC_BUF_INIT { NULL, 0, 0 }

void ec_buf_grow(struct ec_buf *b, size_t extra);
void ec_buf_addf(struct ec_buf *b, const char *fmt, ...) EC_PRINTF(2, 3);
void ec_buf_vaddf(struct ec_buf *b, const char *fmt, va_list ap);
void ec_buf_reset(struct ec_buf *b);
void ec_buf_release(struct ec_buf *b);
char *ec_buf_detach(struct ec_buf *b, size_t *len);

/* Inline so that adding a literal copies a length known at compile time. */
static inline void ec_buf_add(struct ec_buf *b, const void *data, size_t n)
{
	if (EC_UNLIKELY(b->len + n + 1 > b->alloc))
		ec_buf_grow(b, n);
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

static inline void ec_buf_addstr(struct ec_buf *b, const char *s)
{
	ec_buf_add(b, s, strlen(s));
}

static inline void ec_buf_addch(struct ec_buf *b, char c)
{
	if (EC_UNLIKELY(b->len + 2 > b->alloc))
		ec_buf_grow(b, 1);
	b->buf[b->len++] = c;
	b->buf[b->len] = '\0';
}

/* Write all of the buffer to stdout; a closed pipe ends the process quietly. */
void ec_out_write(const void *data, size_t n);
/* Pass buffered stdout on now (before blocking for input); same error handling. */
void ec_out_flush(void);
/*
 * Hold stdout: what is flushed from now on is kept in memory, in order,
 * until OVER(ARG, WAIT) returns 1; it is asked at each flush (WAIT 0), and
 * must wait and return 1 when WAIT is 1 (much is held, the input is quiet,
 * or the process ends). A stage holds everything after a barrier until its
 * snapshot is on disk. OVER may instead end the process after ec_out_discard().
 */
void ec_out_hold(int (*over)(void *arg, int wait), void *arg);
/* Drop the hold and everything buffered or held (the snapshot it waited for failed). */
void ec_out_discard(void);
/* End a hold now, waiting for it to be over. */
void ec_out_settle(void);
/* ec_out_flush before waiting for input on FD: a hold ends first unless FD has input ready. */
void ec_out_flush_idle(int fd);
static inline void ec_out_buf(struct ec_buf *b)
{
	ec_out_write(b->buf, b->len);
}

#endif
