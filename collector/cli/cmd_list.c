/*
 * unitrace list: the guests of a trace database.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "cli.h"
#include "tracedb.h"

static const char list_usage[] =
	"usage: unitrace list [-v] DB\n"
	"\n"
	"List the guests recorded in the trace database DB, one line each:\n"
	"id, name, platform, pid (Xen: domain id), status, lanes (vCPUs),\n"
	"events stored, events lost, and the time span of the stored events:\n"
	"first and last timestamp in seconds of the guest's monotonic clock,\n"
	"and the duration between them.  The reason for the status (why a\n"
	"guest was rejected, marked corrupt, crashed) ends the line.\n"
	"\n"
	"Options:\n"
	"  -v, --verbose  also list each lane (vCPU) of each guest\n"
	"  -h, --help     show this help\n"
	"\n"
	"Exit status: 0 success, 1 the database cannot be read, 2 usage.\n";

static void span_cells(ut_tab_t *t, sqlite3_stmt *s, int col_first)
{
	char a[48], b[48], d[48];

	if (sqlite3_column_type(s, col_first) == SQLITE_NULL ||
	    sqlite3_column_type(s, col_first + 1) == SQLITE_NULL) {
		ut_tab_add(t, "-", true);
		ut_tab_add(t, "-", true);
		ut_tab_add(t, "-", true);
		return;
	}
	int64_t f = sqlite3_column_int64(s, col_first);
	int64_t l = sqlite3_column_int64(s, col_first + 1);
	ut_fmt_ts(a, sizeof(a), f);
	ut_fmt_ts(b, sizeof(b), l);
	ut_fmt_dur(d, sizeof(d), (double)l - (double)f);
	ut_tab_add(t, a, true);
	ut_tab_add(t, b, true);
	ut_tab_add(t, d, true);
}

static int list_guests(sqlite3 *db)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(
		db,
		"SELECT g.id, g.name, g.platform, g.pid, g.status, g.reason, "
		"(SELECT count(*) FROM lanes l WHERE l.guest_id = g.id), "
		"(SELECT total(event_count) FROM lanes l "
		" WHERE l.guest_id = g.id), "
		"(SELECT total(lost_count) FROM lanes l "
		" WHERE l.guest_id = g.id), "
		"g.first_ts, g.last_ts FROM guests g ORDER BY g.id",
		-1, &s, NULL);
	if (rc != SQLITE_OK)
		return -1;
	ut_tab_t *t = ut_tab_new(12);
	if (!t) {
		sqlite3_finalize(s);
		return -1;
	}
	static const char *const hdr[] = { "ID",    "NAME",   "PLATFORM",
					   "PID",   "STATUS", "LANES",
					   "EVENTS", "LOST",  "FIRST",
					   "LAST",  "DURATION", "REASON" };
	for (int i = 0; i < 12; i++)
		ut_tab_add(t, hdr[i], i == 0 || i == 3 || (i >= 5 && i <= 10));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *txt;
		ut_tab_addf(t, true, "%lld", sqlite3_column_int64(s, 0));
		txt = (const char *)sqlite3_column_text(s, 1);
		ut_tab_add(t, txt ? txt : "", false);
		txt = (const char *)sqlite3_column_text(s, 2);
		ut_tab_add(t, txt ? txt : "", false);
		ut_tab_addf(t, true, "%lld", sqlite3_column_int64(s, 3));
		txt = (const char *)sqlite3_column_text(s, 4);
		ut_tab_add(t, txt ? txt : "", false);
		ut_tab_addf(t, true, "%lld", sqlite3_column_int64(s, 6));
		ut_tab_addf(t, true, "%.0f", sqlite3_column_double(s, 7));
		ut_tab_addf(t, true, "%.0f", sqlite3_column_double(s, 8));
		span_cells(t, s, 9);
		txt = (const char *)sqlite3_column_text(s, 5);
		ut_tab_add(t, txt ? txt : "", false);
	}
	ut_tab_free(t);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int list_lanes(sqlite3 *db)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(
		db,
		"SELECT l.guest_id, g.name, l.vcpu, l.id, l.event_count, "
		"l.lost_count, l.last_seq, "
		"(SELECT min(ts_first) FROM event_blocks b WHERE b.lane = l.id), "
		"(SELECT max(ts_last) FROM event_blocks b WHERE b.lane = l.id) "
		"FROM lanes l LEFT JOIN guests g ON g.id = l.guest_id "
		"ORDER BY l.guest_id, l.vcpu",
		-1, &s, NULL);
	if (rc != SQLITE_OK)
		return -1;
	ut_tab_t *t = ut_tab_new(10);
	if (!t) {
		sqlite3_finalize(s);
		return -1;
	}
	static const char *const hdr[] = { "GUEST", "NAME", "VCPU", "LANE",
					   "EVENTS", "LOST", "LAST_SEQ",
					   "FIRST", "LAST", "DURATION" };
	for (int i = 0; i < 10; i++)
		ut_tab_add(t, hdr[i], i != 1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *txt = (const char *)sqlite3_column_text(s, 1);
		ut_tab_addf(t, true, "%lld", sqlite3_column_int64(s, 0));
		ut_tab_add(t, txt ? txt : "", false);
		for (int c = 2; c <= 5; c++)
			ut_tab_addf(t, true, "%lld", sqlite3_column_int64(s, c));
		if (sqlite3_column_type(s, 6) == SQLITE_NULL)
			ut_tab_add(t, "-", true);
		else
			ut_tab_addf(t, true, "%lld",
				    sqlite3_column_int64(s, 6));
		span_cells(t, s, 7);
	}
	ut_tab_free(t);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int list_run(int argc, char **argv)
{
	const char *path = NULL;
	bool verbose = false, opts = true;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts && !strcmp(a, "--")) {
			opts = false;
		} else if (opts && (!strcmp(a, "-v") ||
				    !strcmp(a, "--verbose"))) {
			verbose = true;
		} else if (opts && a[0] == '-' && a[1]) {
			ut_error("list", "unknown option '%s'; see 'unitrace "
					 "list --help'", a);
			return 2;
		} else if (!path) {
			path = a;
		} else {
			ut_error("list", "unexpected argument '%s'; see "
					 "'unitrace list --help'", a);
			return 2;
		}
	}
	if (!path) {
		ut_error("list", "no database given; usage: unitrace list "
				 "[-v] DB");
		return 2;
	}
	ut_tracedb_t *tdb = ut_tracedb_open_cmd("list", path);
	if (!tdb)
		return 1;
	sqlite3 *db = ut_tracedb_sqlite(tdb);
	int rc = list_guests(db);
	if (!rc && verbose) {
		fputc('\n', stdout);
		rc = list_lanes(db);
	}
	if (rc)
		ut_error("list", "reading %s: %s", path, sqlite3_errmsg(db));
	fflush(stdout);
	ut_tracedb_close(tdb);
	return rc ? 1 : 0;
}

const struct ut_cmd ut_cmd_list = {
	.name = "list",
	.summary = "list the guests of a trace database",
	.usage = list_usage,
	.run = list_run,
};
