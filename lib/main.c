/* main.c: owns main(): locale, signals, cmd_main, then a checked flush of stdout. */
#include "ec.h"
#include "log.h"
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <unistd.h>

static void on_stop_signal(int sig)
{
	(void)sig;
	ec_run = 0;
}

static void setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking read returns EINTR so the loop sees ec_run. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* A closed stdout shows up as EPIPE from write, handled in ec_out_write. */
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	const char *slash;

	if (argc > 0 && argv[0]) {
		slash = strrchr(argv[0], '/');
		ec_progname = slash ? slash + 1 : argv[0];
	}
	/* Character classes from the environment; numbers always in the C locale. */
	setlocale(LC_CTYPE, "");
	setup_signals();
	return ec_finish_stdout(cmd_main(argc, argv));
}
