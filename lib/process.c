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

void ec_out_write(const void *data, size_t n)
{
	if (!n)
		return;
	if (fwrite_unlocked(data, 1, n, stdout) != n) {
		if (errno == EPIPE)
			quiet_exit_on_closed_stdout();
		ec_die(EX_IOERR, "write error on stdout: %s", strerror(errno));
	}
}

void ec_out_flush(void)
{
	if (fflush(stdout) != 0) {
		if (errno == EPIPE)
			quiet_exit_on_closed_stdout();
		ec_die(EX_IOERR, "write error on stdout: %s", strerror(errno));
	}
}

/* Flush and close stdout and report an error the user must know about. */
int ec_finish_stdout(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
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

