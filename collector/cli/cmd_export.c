/*
 * unitrace export: write a trace database out in a format other tools
 * read: CTF 1.8 (babeltrace2, Trace Compass) or the Chrome/Perfetto trace
 * event format (JSON).  The writers are export_ctf.c and export_chrome.c;
 * the shared pieces (filters, progress, temporary output) export.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cli.h"
#include "export.h"
#include "tracedb.h"

static const char export_usage[] =
	"usage: unitrace export DB --format ctf|chrome -o OUT [--guest NAME|ID]...\n"
	"                       [--event NAME]... [--from T] [--to T] [-q]\n"
	"\n"
	"Write the trace database DB in a format other tools read:\n"
	"  chrome  the Chrome/Perfetto trace event format, one JSON file OUT:\n"
	"          open it in ui.perfetto.dev (Open trace file) or\n"
	"          chrome://tracing (Load)\n"
	"  ctf     a CTF 1.8 trace, the directory OUT (missing or empty):\n"
	"          babeltrace2 OUT, or Trace Compass (Open Trace)\n"
	"docs/export.md says what maps to what.\n"
	"\n"
	"The output is written under a temporary name next to OUT and renamed\n"
	"to OUT when complete: an export that fails or is interrupted (SIGINT,\n"
	"SIGTERM) leaves nothing named OUT.  An existing file OUT is replaced.\n"
	"\n"
	"Options:\n"
	"  -f, --format FMT    ctf or chrome (required)\n"
	"  -o, --output OUT    the file (chrome) or directory (ctf) to write\n"
	"  -g, --guest G       only guest G: a name (every guest of that name)\n"
	"                      or a numeric guest id; repeat for more\n"
	"  -e, --event NAME    only events named NAME; repeat for more\n"
	"      --from T        only events with ts >= T\n"
	"      --to T          only events with ts <= T\n"
	"  -q, --quiet         no progress lines\n"
	"  -h, --help          show this help\n"
	"\n"
	"T is on the trace's time axis (events.ts: the guest's monotonic clock,\n"
	"see 'unitrace list'): nanoseconds as an integer (1500000), or a decimal\n"
	"number with a unit ns, us, ms or s (1.5s, 200ms, 10us, 2.000000001s).\n"
	"Lost-event ranges and crashes of the selected guests within the time\n"
	"window are exported whatever --event says.  Progress lines\n"
	"(\"export: N/M events (P%)\") go to stderr once a second when an\n"
	"export takes longer than a second.\n"
	"\n"
	"Exit status: 0 success, 1 the database cannot be read, a name is\n"
	"unknown or the output cannot be written, 2 usage; killed by the signal\n"
	"that interrupted it.\n";

#define MAX_FILTERS 256

static int usage_error(const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	ut_error("export", "%s; see 'unitrace export --help'", msg);
	return 2;
}

static int export_run(int argc, char **argv)
{
	const char *guests[MAX_FILTERS], *events[MAX_FILTERS];
	ut_export_opts_t o = {.cmd = "export"};
	const char *format = NULL;
	bool opts = true;

	o.guests = guests;
	o.events = events;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = false;
		if (opts && !strcmp(a, "--")) {
			opts = false;
			continue;
		}
		if (!opts || a[0] != '-' || !a[1]) {
			if (o.db_path)
				return usage_error("unexpected argument '%s' (one "
						   "database only)", a);
			o.db_path = a;
			continue;
		}
		if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			o.quiet = true;
			continue;
		}
		takes = !strcmp(a, "-f") || !strcmp(a, "--format") ||
			!strcmp(a, "-o") || !strcmp(a, "--output") ||
			!strcmp(a, "-g") || !strcmp(a, "--guest") ||
			!strcmp(a, "-e") || !strcmp(a, "--event") ||
			!strcmp(a, "--from") || !strcmp(a, "--to");
		if (!takes)
			return usage_error("unknown option '%s'", a);
		if (!v)
			return usage_error("%s needs a value", a);
		i++;
		if (a[1] == 'f' || !strcmp(a, "--format")) {
			format = v;
		} else if (a[1] == 'o' || !strcmp(a, "--output")) {
			o.out = v;
		} else if (a[1] == 'g' || !strcmp(a, "--guest")) {
			if (o.nguests == MAX_FILTERS)
				return usage_error("more than 256 %s options", a);
			guests[o.nguests++] = v;
		} else if (a[1] == 'e' || !strcmp(a, "--event")) {
			if (o.nevents == MAX_FILTERS)
				return usage_error("more than 256 %s options", a);
			events[o.nevents++] = v;
		} else {
			bool from = !strcmp(a, "--from");
			int64_t t;
			if (ut_export_parse_time(v, &t))
				return usage_error(
					"'%s' is not a time (nanoseconds, or a "
					"number with ns, us, ms or s: 1.5s)",
					v);
			if (from) {
				o.has_from = true;
				o.from_ns = t;
			} else {
				o.has_to = true;
				o.to_ns = t;
			}
		}
	}
	if (!o.db_path)
		return usage_error("%s", "no database given");
	if (!format)
		return usage_error("%s", "no format given (--format ctf or "
					 "--format chrome)");
	if (strcmp(format, "ctf") && strcmp(format, "chrome"))
		return usage_error("unknown format '%s' (ctf or chrome)",
				   format);
	if (!o.out || !*o.out)
		return usage_error("%s", "no output given (-o OUT)");
	if (o.has_from && o.has_to && o.from_ns > o.to_ns)
		return usage_error("%s", "--from is after --to");

	ut_tracedb_t *tdb = ut_tracedb_open_cmd("export", o.db_path);
	if (!tdb)
		return 1;
	sqlite3 *db = ut_tracedb_sqlite(tdb);
	ut_export_signals_install(db);
	int rc = !strcmp(format, "ctf") ? ut_export_ctf(db, &o)
					: ut_export_chrome(db, &o);
	int sig = ut_export_interrupted();
	ut_export_signals_restore();
	ut_tracedb_close(tdb);
	if (sig) {
		/* the writer removed its output: die of the signal */
		fflush(stderr);
		raise(sig);
		return 1;
	}
	return rc ? 1 : 0;
}

const struct ut_cmd ut_cmd_export = {
	.name = "export",
	.summary = "write a trace as CTF or Chrome/Perfetto JSON",
	.usage = export_usage,
	.run = export_run,
};
