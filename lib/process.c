/* process.c: process-wide state (program name, run flag) and checked writing of stdout. */
#include "ec.h"
#include "log.h"
#include <errno.h>
#include <signal.h>
#include <unistd.h>

const char *ec_progname = "ec";
volatile int ec_run = 1;


static void EC_NORETURN quiet_exit_on_closed_stdout(void)
{
	/* The reader went away (`| head`): nothing more to do, and nothing to say. */
	_exit(0);
}

/*
 * A stop signal arriving while a write blocks on a full pipe would fail it
 * with EINTR (the handlers have no SA_RESTART, so that reads notice them),
 * and stdio would drop what it held: stop signals wait until the write is
 * done, and the loop sees ec_run right after. Writes are whole buffers, so
 * the two extra system calls do not show.
 */
static void hold_stop_signals(sigset_t *old)
{
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, old);
}

static void write_failed(void)
{
	if (errno == EPIPE)
		quiet_exit_on_closed_stdout();
	ec_die(EX_IOERR, "write error on stdout: %s", strerror(errno));
}

void ec_out_write(const void *data, size_t n)
{
	sigset_t old;
	size_t w;

	if (!n)
		return;
	hold_stop_signals(&old);
	w = fwrite_unlocked(data, 1, n, stdout);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (w != n)
		write_failed();
}

void ec_out_flush(void)
{
	sigset_t old;
	int r;

	hold_stop_signals(&old);
	r = fflush(stdout);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		write_failed();
}

/* Flush and close stdout and report an error the user must know about. */
int ec_finish_stdout(int status)
{
	sigset_t old;
	int r;

	hold_stop_signals(&old);
	r = fflush(stdout);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r != 0 || ferror(stdout)) {
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

