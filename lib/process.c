/* process.c: process-wide state (program name, run flag) and checked writing of stdout. */
#include "ec.h"
#include "log.h"
#include <errno.h>
#include <poll.h>
#include <unistd.h>

const char *ec_progname = "ec";
volatile int ec_run = 1;


static void EC_NORETURN quiet_exit_on_closed_stdout(void)
{
	/* The reader went away (`| head`): nothing more to do, and nothing to say. */
	_exit(0);
}

/*
 * Records go through this buffer to write(2), not through stdio: a stop
 * signal arriving while a write blocks on a full pipe fails it with EINTR
 * (the handlers have no SA_RESTART, so that reads notice them), and stdio
 * would drop what it held. Here the write is simply done again, and the
 * loop sees ec_run right after. stdio's stdout is left to --help and the like.
 */
static char out_buf[1 << 16];
static size_t out_len;

/*
 * A hold (ec_out_hold): what is flushed meanwhile waits here, in order.
 * Past HOLD_MAX bytes the writer waits for the hold to end instead.
 */
#define HOLD_MAX ((size_t)64 << 20)
static int (*hold_over)(void *arg, int wait);
static void *hold_arg;
static struct ec_buf held = EC_BUF_INIT;

/* Write all of DATA to fd 1: 0, or -1 with errno. */
static int write_fully(const char *data, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(STDOUT_FILENO, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

static void write_failed(void)
{
	if (errno == EPIPE)
		quiet_exit_on_closed_stdout();
	ec_die(EX_IOERR, "write error on stdout: %s", strerror(errno));
}

/* End the hold: what it kept goes out first. */
static void release_hold(void)
{
	size_t n = held.len;

	hold_over = NULL;
	held.len = 0;
	if (n && write_fully(held.buf, n) < 0)
		write_failed();
}

/* Write DATA now, or keep it behind what is held while a hold lasts. */
static void emit(const char *data, size_t n)
{
	if (hold_over) {
		if (!hold_over(hold_arg, held.len + n > HOLD_MAX)) {
			ec_buf_add(&held, data, n);
			return;
		}
		release_hold();
	}
	if (write_fully(data, n) < 0)
		write_failed();
}

void ec_out_write(const void *data, size_t n)
{
	/* An empty ec_buf has no buffer at all: memcpy must not see its NULL. */
	if (!n)
		return;
	if (n <= sizeof(out_buf) - out_len) {
		memcpy(out_buf + out_len, data, n);
		out_len += n;
		return;
	}
	ec_out_flush();
	if (n >= sizeof(out_buf)) {
		emit(data, n);
		return;
	}
	memcpy(out_buf, data, n);
	out_len = n;
}

void ec_out_flush(void)
{
	size_t n = out_len;

	out_len = 0;
	if (n)
		emit(out_buf, n);
}

void ec_out_hold(int (*over)(void *arg, int wait), void *arg)
{
	ec_out_flush();
	hold_over = over;
	hold_arg = arg;
}

void ec_out_discard(void)
{
	hold_over = NULL;
	out_len = 0;
	ec_buf_release(&held);
}

void ec_out_settle(void)
{
	if (hold_over && hold_over(hold_arg, 1))
		release_hold();
}

void ec_out_flush_idle(int fd)
{
	struct pollfd in = { fd, POLLIN, 0 };

	/* Waiting for input with output held could hold it for as long as the input is quiet. */
	if (hold_over && poll(&in, 1, 0) == 0)
		ec_out_settle();
	ec_out_flush();
}

/* Flush and close stdout and report an error the user must know about. */
int ec_finish_stdout(int status)
{
	size_t n;

	ec_out_settle();
	n = out_len;

	out_len = 0;
	if ((n && write_fully(out_buf, n) < 0) || fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			quiet_exit_on_closed_stdout();
		fprintf(stderr, "%s: error: write error on stdout: %s\n", ec_progname, strerror(errno));
		return status ? status : EX_IOERR;
	}
	if (fclose(stdout) != 0) {
		if (errno == EPIPE)
			quiet_exit_on_closed_stdout();
		fprintf(stderr, "%s: error: closing stdout: %s\n", ec_progname, strerror(errno));
		return status ? status : EX_IOERR;
	}
	return status;
}

void ec_exit(int status)
{
	status = ec_finish_stdout(status);
	/*
	 * An early exit (an error, --help) leaves the tool's state allocated on
	 * purpose: flush every stream and leave without the exit handlers, so that
	 * the leak checker judges only the normal end of a run.
	 */
	fflush(NULL);
	_exit(status);
}

