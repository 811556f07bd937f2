/*
 * unitrace stats: counts, rates and span durations per event type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cli.h"
#include "tracedb.h"
#include "ut_abi.h"

static const char stats_usage[] =
	"usage: unitrace stats [--guest NAME] DB\n"
	"\n"
	"Per guest and event type of the trace database DB: the number of\n"
	"events, their rate (events per second over the guest's time span),\n"
	"and for span ends that carry a duration the distribution of the\n"
	"durations: minimum, median (p50), p90, p99 and maximum (nearest\n"
	"rank).  Lost events are totalled per guest and at the end.\n"
	"\n"
	"Reads every stored event once: expect about a second per ten\n"
	"million events.\n"
	"\n"
	"Options:\n"
	"  -g, --guest NAME  only guests with this name (all of them if the\n"
	"                    name was used more than once)\n"
	"  -h, --help        show this help\n"
	"\n"
	"Exit status: 0 success, 1 the database cannot be read or no guest\n"
	"has that name, 2 usage.\n";

struct tstat {
	int64_t id, guest;
	char name[UT_EVENT_NAME_LEN + 1];
	char kind[16];
	int64_t count;
	int64_t *dur;
	size_t ndur, capdur;
};

struct gstat {
	int64_t id;
	char name[UT_NAME_LEN + 1];
	char status[16];
	int64_t first, last;
	bool has_span;
};

struct stats {
	sqlite3 *db;
	struct gstat *g;
	size_t ng;
	struct tstat *t;
	size_t nt;
	int64_t *type_index; /* event_types.id -> index in t, or -1 */
	int64_t max_type;
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* A text column for display: names and reasons come from guests, so
 * control characters (terminal escapes) become '?'. */
static void copy_text(char *dst, size_t len, sqlite3_stmt *s, int col)
{
	const char *v = (const char *)sqlite3_column_text(s, col);

	snprintf(dst, len, "%s", v ? v : "");
	ut_text_clean(dst);
}

static int load_guests(struct stats *S, const char *name)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(
		S->db,
		"SELECT id, name, status, first_ts, last_ts FROM guests "
		"WHERE ?1 IS NULL OR name = ?1 ORDER BY id",
		-1, &s, NULL);

	if (rc != SQLITE_OK)
		return -1;
	if (name)
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct gstat *g = realloc(S->g, (S->ng + 1) * sizeof(*g));
		if (!g)
			break;
		S->g = g;
		g = &S->g[S->ng++];
		memset(g, 0, sizeof(*g));
		g->id = sqlite3_column_int64(s, 0);
		copy_text(g->name, sizeof(g->name), s, 1);
		copy_text(g->status, sizeof(g->status), s, 2);
		g->has_span = sqlite3_column_type(s, 3) != SQLITE_NULL &&
			      sqlite3_column_type(s, 4) != SQLITE_NULL;
		g->first = sqlite3_column_int64(s, 3);
		g->last = sqlite3_column_int64(s, 4);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static bool guest_selected(const struct stats *S, int64_t id)
{
	for (size_t i = 0; i < S->ng; i++)
		if (S->g[i].id == id)
			return true;
	return false;
}

static int load_types(struct stats *S)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(S->db,
				    "SELECT id, guest_id, name, kind FROM "
				    "event_types ORDER BY guest_id, id",
				    -1, &s, NULL);

	if (rc != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t guest = sqlite3_column_int64(s, 1);
		if (!guest_selected(S, guest))
			continue;
		struct tstat *t = realloc(S->t, (S->nt + 1) * sizeof(*t));
		if (!t)
			break;
		S->t = t;
		t = &S->t[S->nt++];
		memset(t, 0, sizeof(*t));
		t->id = sqlite3_column_int64(s, 0);
		t->guest = guest;
		copy_text(t->name, sizeof(t->name), s, 2);
		copy_text(t->kind, sizeof(t->kind), s, 3);
		if (t->id > S->max_type)
			S->max_type = t->id;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -1;
	/* ids are dense rowids; a hostile file could make them huge */
	if (S->max_type > 100000000)
		return -1;
	S->type_index = malloc((size_t)(S->max_type + 1) * sizeof(int64_t));
	if (!S->type_index)
		return -1;
	for (int64_t i = 0; i <= S->max_type; i++)
		S->type_index[i] = -1;
	for (size_t i = 0; i < S->nt; i++)
		S->type_index[S->t[i].id] = (int64_t)i;
	return 0;
}

/* One pass over events: counts and durations per selected type. */
static int scan_events(struct stats *S)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(S->db, "SELECT type, dur FROM events", -1,
				    &s, NULL);

	if (rc != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t ty = sqlite3_column_int64(s, 0);
		if (ty < 0 || ty > S->max_type || S->type_index[ty] < 0)
			continue;
		struct tstat *t = &S->t[S->type_index[ty]];
		t->count++;
		if (sqlite3_column_type(s, 1) == SQLITE_NULL)
			continue;
		if (t->ndur == t->capdur) {
			size_t n = t->capdur ? t->capdur * 2 : 256;
			int64_t *d = realloc(t->dur, n * sizeof(*d));
			if (!d) {
				sqlite3_finalize(s);
				return -2;
			}
			t->dur = d;
			t->capdur = n;
		}
		t->dur[t->ndur++] = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Nearest-rank percentile (q in 0..1] of sorted (d, n). */
static int64_t pct(const int64_t *d, size_t n, double q)
{
	size_t k = (size_t)(q * (double)n + 0.999999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return d[k - 1];
}

static void dur_cell(ut_tab_t *tab, int64_t ns)
{
	char b[32];

	ut_fmt_dur(b, sizeof(b), (double)ns);
	ut_tab_add(tab, b, true);
}

/* Lost events of (guest), or of all guests when (guest) is 0. */
static int print_lost(struct stats *S, int64_t guest, const char *indent)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(
		S->db,
		"SELECT reason, count(*), total(x.count) FROM lost x "
		"JOIN lanes l ON l.id = x.lane WHERE ?1 = 0 OR l.guest_id = ?1 "
		"GROUP BY reason ORDER BY reason",
		-1, &s, NULL);

	if (rc != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, guest);
	double total = 0;
	int64_t ranges = 0;
	char detail[256] = "";
	size_t n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(s, 0);
		double c = sqlite3_column_double(s, 2);
		total += c;
		ranges += sqlite3_column_int64(s, 1);
		if (n < sizeof(detail))
			n += (size_t)snprintf(detail + n, sizeof(detail) - n,
					      "%s%s %.0f", n ? ", " : "",
					      r ? r : "?", c);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return -1;
	printf("%slost: %.0f events in %lld ranges%s%s%s\n", indent, total,
	       (long long)ranges, n ? " (" : "", detail, n ? ")" : "");
	return 0;
}

static int print_guest(struct stats *S, const struct gstat *g)
{
	char span[48] = "";
	double secs = 0;
	int64_t total = 0;

	if (g->has_span) {
		secs = ((double)g->last - (double)g->first) / 1e9;
		snprintf(span, sizeof(span), " over ");
		ut_fmt_dur(span + 6, sizeof(span) - 6,
			   (double)g->last - (double)g->first);
	}
	for (size_t i = 0; i < S->nt; i++)
		if (S->t[i].guest == g->id)
			total += S->t[i].count;
	printf("guest %lld %s (%s): %lld events%s\n", (long long)g->id,
	       g->name, g->status, (long long)total, span);

	ut_tab_t *tab = ut_tab_new(9);
	if (!tab)
		return -2;
	static const char *const hdr[] = { "  EVENT", "KIND", "COUNT",
					   "RATE/S", "MIN", "P50",
					   "P90", "P99", "MAX" };
	for (int i = 0; i < 9; i++)
		ut_tab_add(tab, hdr[i], i >= 2);
	for (size_t i = 0; i < S->nt; i++) {
		struct tstat *t = &S->t[i];
		if (t->guest != g->id)
			continue;
		ut_tab_addf(tab, false, "  %s", t->name);
		ut_tab_add(tab, t->kind, false);
		ut_tab_addf(tab, true, "%lld", (long long)t->count);
		if (secs > 0)
			ut_tab_addf(tab, true, "%.1f", (double)t->count / secs);
		else
			ut_tab_add(tab, "-", true);
		if (!t->ndur) {
			for (int k = 0; k < 5; k++)
				ut_tab_add(tab, "-", true);
			continue;
		}
		qsort(t->dur, t->ndur, sizeof(*t->dur), cmp_i64);
		dur_cell(tab, t->dur[0]);
		dur_cell(tab, pct(t->dur, t->ndur, 0.50));
		dur_cell(tab, pct(t->dur, t->ndur, 0.90));
		dur_cell(tab, pct(t->dur, t->ndur, 0.99));
		dur_cell(tab, t->dur[t->ndur - 1]);
	}
	ut_tab_free(tab);
	return print_lost(S, g->id, "  ");
}

static int stats_run(int argc, char **argv)
{
	const char *path = NULL, *guest = NULL;
	bool opts = true;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts && !strcmp(a, "--")) {
			opts = false;
		} else if (opts && (!strcmp(a, "-g") || !strcmp(a, "--guest"))) {
			if (i + 1 >= argc) {
				ut_error("stats", "%s needs a guest name", a);
				return 2;
			}
			guest = argv[++i];
		} else if (opts && !strncmp(a, "--guest=", 8)) {
			guest = a + 8;
		} else if (opts && a[0] == '-' && a[1]) {
			ut_error("stats", "unknown option '%s'; see 'unitrace "
					  "stats --help'", a);
			return 2;
		} else if (!path) {
			path = a;
		} else {
			ut_error("stats", "unexpected argument '%s'; see "
					  "'unitrace stats --help'", a);
			return 2;
		}
	}
	if (!path) {
		ut_error("stats", "no database given; usage: unitrace stats "
				  "[--guest NAME] DB");
		return 2;
	}
	ut_tracedb_t *tdb = ut_tracedb_open_cmd("stats", path);
	if (!tdb)
		return 1;

	struct stats S = { .db = ut_tracedb_sqlite(tdb) };
	int rc = load_guests(&S, guest);
	if (!rc && guest && !S.ng) {
		ut_error("stats", "no guest named '%s' in %s; see 'unitrace "
				  "list %s'", guest, path, path);
		rc = 1;
		goto out;
	}
	if (!rc)
		rc = load_types(&S);
	if (!rc)
		rc = scan_events(&S);
	for (size_t i = 0; !rc && i < S.ng; i++) {
		if (i)
			fputc('\n', stdout);
		rc = print_guest(&S, &S.g[i]);
	}
	if (!rc && !guest && S.ng > 1) {
		fputs("\ntotal ", stdout);
		rc = print_lost(&S, 0, "");
	}
	if (rc == -2)
		ut_error("stats", "out of memory");
	else if (rc)
		ut_error("stats", "reading %s: %s", path,
			 sqlite3_errmsg(S.db));
	rc = rc ? 1 : 0;
out:
	fflush(stdout);
	for (size_t i = 0; i < S.nt; i++)
		free(S.t[i].dur);
	free(S.t);
	free(S.g);
	free(S.type_index);
	ut_tracedb_close(tdb);
	return rc;
}

const struct ut_cmd ut_cmd_stats = {
	.name = "stats",
	.summary = "event counts, rates and span durations of a trace",
	.usage = stats_usage,
	.run = stats_run,
};
