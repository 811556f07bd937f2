/*
 * unitrace run: trace one hosted guest program from start to exit, like
 * `perf record`.  The program gets a private rendezvous directory, so only
 * it (and any traced program it starts) is collected, and it waits at
 * ut_init until the collector has attached, so even a short run loses
 * nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collector.h"

int ut_collect_parse_poll(const char *cmd, const char *arg, unsigned *out);

static const char run_usage[] =
	"usage: unitrace run [-o DB] [--mode discard|overwrite] [--ring-size N]\n"
	"                    [--rings N] [--name NAME] [--poll-ms N]\n"
	"                    [--core-dir DIR | --no-core] [-q] -- PROGRAM [ARGS...]\n"
	"\n"
	"Run PROGRAM (linked with the unitrace guest library, hosted port) and\n"
	"store every event it emits in DB until it exits.  The exit status is\n"
	"PROGRAM's (128+N if it died of signal N).\n"
	"\n"
	"  -o, --output DB      database file (default: $UNITRACE_DB or ./trace.db);\n"
	"                       appended to if it exists\n"
	"  -m, --mode MODE      ring mode: discard (never overwrite; count drops)\n"
	"                       or overwrite (flight recorder)\n"
	"  -s, --ring-size N    bytes per ring, power of two (K/M/G suffixes)\n"
	"  -r, --rings N        number of rings (vCPUs / threads)\n"
	"  -n, --name NAME      guest name (default: the program's name)\n"
	"      --poll-ms N      idle poll interval in milliseconds (default 2)\n"
	"      --core-dir DIR   where the core goes if PROGRAM crashes (default:\n"
	"                       cores/ beside the database)\n"
	"      --no-core        capture a crash without writing a core file\n"
	"  -q, --quiet          print errors only\n";

static int run_run(int argc, char **argv)
{
	static const struct option lo[] = {
		{"output", required_argument, NULL, 'o'},
		{"mode", required_argument, NULL, 'm'},
		{"ring-size", required_argument, NULL, 's'},
		{"rings", required_argument, NULL, 'r'},
		{"name", required_argument, NULL, 'n'},
		{"poll-ms", required_argument, NULL, 'p'},
		{"core-dir", required_argument, NULL, 'C'},
		{"no-core", no_argument, NULL, 'N'},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	ut_collect_opts_t o;
	const char *db = getenv("UNITRACE_DB");
	const char *mode = NULL, *ring_size = NULL, *rings = NULL, *name = NULL;
	char dir[] = "/tmp/unitrace-run.XXXXXX";
	int c, rc;
	pid_t pid;
	/* The database and cores stay private, as with `unitrace collect`;
	 * the program keeps the caller's umask for its own files. */
	mode_t user_mask = umask(077);
	memset(&o, 0, sizeof(o));
	o.cmd = "run";
	o.db_path = db && *db ? db : "trace.db";
	o.poll_ms = 2;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:m:s:r:n:q", lo, NULL)) != -1) {
		switch (c) {
		case 'o': o.db_path = optarg; break;
		case 'm':
			if (strcmp(optarg, "discard") && strcmp(optarg, "overwrite")) {
				ut_error("run", "--mode is discard or overwrite, not '%s'",
					 optarg);
				return 2;
			}
			mode = optarg;
			break;
		case 's': ring_size = optarg; break;
		case 'r': rings = optarg; break;
		case 'n': name = optarg; break;
		case 'q': o.quiet = true; break;
		case 'C': o.core_dir = optarg; break;
		case 'N': o.no_core = true; break;
		case 'p':
			if (ut_collect_parse_poll("run", optarg, &o.poll_ms))
				return 2;
			break;
		default:
			ut_error("run", "unknown or incomplete option '%s'; see "
				 "'unitrace run --help'", argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		ut_error("run", "no program given; usage: unitrace run [OPTIONS] -- "
			 "PROGRAM [ARGS...]");
		return 2;
	}
	if (!mkdtemp(dir)) {
		ut_error("run", "cannot create a rendezvous directory: %s",
			 strerror(errno));
		return 1;
	}
	o.dir = dir;

	/* The program must not start before the database is known good:
	 * open it once here so a bad path fails before anything runs. */
	{
		char err[512];
		ut_store_t *st = ut_store_open(o.db_path, UT_STORE_CREATE, err,
					       sizeof(err));
		if (!st) {
			ut_error("run", "%s", err);
			rmdir(dir);
			return 1;
		}
		ut_store_close(st);
	}

	pid = fork();
	if (pid < 0) {
		ut_error("run", "fork: %s", strerror(errno));
		rmdir(dir);
		return 1;
	}
	if (pid == 0) {
		umask(user_mask);
		setenv("UNITRACE_DIR", dir, 1);
		setenv("UNITRACE_WAIT_ATTACH_MS", "10000", 1);
		if (mode)
			setenv("UNITRACE_MODE", mode, 1);
		if (ring_size)
			setenv("UNITRACE_RING_SIZE", ring_size, 1);
		if (rings)
			setenv("UNITRACE_RINGS", rings, 1);
		if (name)
			setenv("UNITRACE_NAME", name, 1);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "unitrace run: cannot run '%s': %s\n", argv[optind],
			strerror(errno));
		_exit(127);
	}
	/* Ctrl-C reaches the whole process group: let the program handle it
	 * and keep collecting until it has exited. */
	signal(SIGINT, SIG_IGN);
	o.child_pid = pid;
	rc = ut_collect(&o);
	if (!o.child_reaped) {
		/* the collector failed first: stop and reap the program */
		kill(pid, SIGTERM);
		waitpid(pid, &o.child_status, 0);
	}
	rmdir(dir);
	if (rc)
		return rc;
	if (WIFEXITED(o.child_status))
		return WEXITSTATUS(o.child_status);
	if (WIFSIGNALED(o.child_status))
		return 128 + WTERMSIG(o.child_status);
	return 1;
}

const struct ut_cmd ut_cmd_run = {
	.name = "run",
	.summary = "run a program and trace it from start to exit",
	.usage = run_usage,
	.stop_at_operand = true,
	.run = run_run,
};
