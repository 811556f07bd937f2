/*
 * unitrace export: what both writers share (export.h): the filters as SQL,
 * --from/--to parsing, progress lines, the temporary output and its
 * commit or removal, and SIGINT/SIGTERM handling while exporting.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "export.h"

/* ---- filters ------------------------------------------------------------- */

/* Append printf text to (buf); -1 if it does not fit. */
static int app(char *buf, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int app(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *len)
		return -1;
	*len += (size_t)n;
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Text of a name for a message: control characters escaped. */
static const char *shown(const char *s, char *buf, size_t cap)
{
	ut_text_escape(buf, cap, s, (size_t)-1);
	return buf;
}

/* Append the guest ids --guest selects as " AND l.guest_id IN (...)". */
static int guest_sql(sqlite3 *db, const ut_export_opts_t *o, char *buf,
		     size_t cap, size_t *len)
{
	sqlite3_stmt *s = NULL;
	int n = 0;
	char esc[256];

	if (!o->nguests)
		return 0;
	if (sqlite3_prepare_v2(db,
			       "SELECT id FROM guests WHERE name = ?1 OR "
			       "(?2 IS NOT NULL AND id = ?2) ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK) {
		ut_error(o->cmd, "%s: %s", o->db_path, sqlite3_errmsg(db));
		return -1;
	}
	if (app(buf, cap, len, " AND l.guest_id IN ("))
		goto toolong;
	for (size_t i = 0; i < o->nguests; i++) {
		const char *g = o->guests[i];
		int found = 0, rc;
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, g, -1, SQLITE_STATIC);
		if (all_digits(g) && strlen(g) < 19)
			sqlite3_bind_int64(s, 2, strtoll(g, NULL, 10));
		else
			sqlite3_bind_null(s, 2);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			if (app(buf, cap, len, "%s%" PRId64, n++ ? "," : "",
				(int64_t)sqlite3_column_int64(s, 0)))
				goto toolong;
			found++;
		}
		if (rc != SQLITE_DONE) {
			ut_error(o->cmd, "%s: %s", o->db_path,
				 sqlite3_errmsg(db));
			sqlite3_finalize(s);
			return -1;
		}
		if (!found) {
			ut_error(o->cmd, "no guest named '%s' in %s (see "
					 "'unitrace list %s')",
				 shown(g, esc, sizeof(esc)), o->db_path,
				 o->db_path);
			sqlite3_finalize(s);
			return -1;
		}
	}
	sqlite3_finalize(s);
	if (app(buf, cap, len, ")"))
		goto toolong2;
	return 0;
toolong:
	sqlite3_finalize(s);
toolong2:
	ut_error(o->cmd, "too many --guest or --event filters");
	return -1;
}

int ut_export_guest_sql(sqlite3 *db, const ut_export_opts_t *o, char *buf,
			size_t cap)
{
	size_t len = 0;

	if (!cap)
		return -1;
	buf[0] = 0;
	return guest_sql(db, o, buf, cap, &len);
}

int ut_export_filter_sql(sqlite3 *db, const ut_export_opts_t *o, char *buf,
			 size_t cap)
{
	size_t len = 0;
	sqlite3_stmt *s = NULL;
	char esc[256];

	if (!cap)
		return -1;
	buf[0] = 0;
	if (guest_sql(db, o, buf, cap, &len))
		return -1;
	if (o->nevents) {
		/* names become type ids: no join with event_types needed */
		int n = 0;
		if (sqlite3_prepare_v2(db, "SELECT id FROM event_types WHERE "
					   "name = ?1 ORDER BY id",
				       -1, &s, NULL) != SQLITE_OK) {
			ut_error(o->cmd, "%s: %s", o->db_path,
				 sqlite3_errmsg(db));
			return -1;
		}
		if (app(buf, cap, &len, " AND e.type IN ("))
			goto toolong;
		for (size_t i = 0; i < o->nevents; i++) {
			int found = 0, rc;
			sqlite3_reset(s);
			sqlite3_bind_text(s, 1, o->events[i], -1,
					  SQLITE_STATIC);
			while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
				if (app(buf, cap, &len, "%s%" PRId64,
					n++ ? "," : "",
					(int64_t)sqlite3_column_int64(s, 0)))
					goto toolong;
				found++;
			}
			if (rc != SQLITE_DONE) {
				ut_error(o->cmd, "%s: %s", o->db_path,
					 sqlite3_errmsg(db));
				sqlite3_finalize(s);
				return -1;
			}
			if (!found) {
				ut_error(o->cmd,
					 "no event named '%s' in %s (see "
					 "'unitrace stats %s')",
					 shown(o->events[i], esc, sizeof(esc)),
					 o->db_path, o->db_path);
				sqlite3_finalize(s);
				return -1;
			}
		}
		sqlite3_finalize(s);
		s = NULL;
		if (app(buf, cap, &len, ")"))
			goto toolong;
	}
	if (o->has_from && app(buf, cap, &len, " AND e.ts >= %" PRId64,
			       o->from_ns))
		goto toolong;
	if (o->has_to && app(buf, cap, &len, " AND e.ts <= %" PRId64, o->to_ns))
		goto toolong;
	return 0;
toolong:
	if (s)
		sqlite3_finalize(s);
	ut_error(o->cmd, "too many --guest or --event filters");
	return -1;
}

int64_t ut_export_count(sqlite3 *db, const char *filter)
{
	char *sql = sqlite3_mprintf("SELECT count(*) FROM events e JOIN lanes "
				    "l ON l.id = e.lane WHERE 1%s",
				    filter);
	sqlite3_stmt *s;
	int64_t n = -1;

	if (ut_export_prepare(db, sql, &s) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* ---- --from / --to --------------------------------------------------------- */

int ut_export_parse_time(const char *s, int64_t *ns)
{
	bool neg = false;
	uint64_t ip = 0, frac = 0, fdiv = 1;
	const char *p = s;
	int ndig = 0;

	if (*p == '-') {
		neg = true;
		p++;
	}
	while (*p >= '0' && *p <= '9') {
		if (ip > (UINT64_MAX - 9) / 10)
			return -1;
		ip = ip * 10 + (uint64_t)(*p++ - '0');
		ndig++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			/* digits below a nanosecond of a second are dropped */
			if (fdiv < 1000000000ull) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				fdiv *= 10;
			}
			p++;
			ndig++;
		}
	}
	if (!ndig)
		return -1;
	uint64_t mul;
	if (!*p || !strcmp(p, "ns"))
		mul = 1;
	else if (!strcmp(p, "us"))
		mul = 1000;
	else if (!strcmp(p, "ms"))
		mul = 1000000;
	else if (!strcmp(p, "s"))
		mul = 1000000000;
	else
		return -1;
	if (fdiv > 1 && mul == 1)
		return -1; /* a fraction of a nanosecond */
	if (ip > (uint64_t)INT64_MAX / mul)
		return -1;
	uint64_t v = ip * mul;
	/* frac/fdiv of (mul) ns, truncated to whole ns */
	while (fdiv > 1 && mul % 10 == 0) {
		mul /= 10;
		fdiv /= 10;
	}
	v += frac * mul / fdiv;
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*ns = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* ---- progress --------------------------------------------------------------- */

void ut_export_progress_start(ut_export_progress_t *p, uint64_t total,
			      bool quiet)
{
	memset(p, 0, sizeof(*p));
	p->total = total;
	p->quiet = quiet;
	p->t0_ms = p->last_ms = (uint64_t)ut_now_ms();
}

static void progress_line(ut_export_progress_t *p, uint64_t done)
{
	unsigned pct = p->total ? (unsigned)(done * 100 / p->total) : 100;

	fprintf(stderr, "export: %" PRIu64 "/%" PRIu64 " events (%u%%)\n", done,
		p->total, pct > 100 ? 100 : pct);
	p->shown = true;
}

void ut_export_progress(ut_export_progress_t *p, uint64_t done)
{
	if (p->quiet || (done & 1023))
		return; /* the clock is read once per 1024 events */
	uint64_t now = (uint64_t)ut_now_ms();
	if (now - p->t0_ms < 1000 || now - p->last_ms < 1000)
		return;
	p->last_ms = now;
	progress_line(p, done);
}

void ut_export_progress_end(ut_export_progress_t *p, uint64_t done)
{
	if (p->shown && !p->quiet)
		progress_line(p, done);
}

/* ---- temporary output ----------------------------------------------------------- */

int ut_export_tmp_path(const char *final, char *buf, size_t cap)
{
	size_t n = strlen(final);
	char path[PATH_MAX];

	while (n > 1 && final[n - 1] == '/')
		n--; /* "out/" names the directory "out" */
	if (!n || n >= sizeof(path))
		return -1;
	memcpy(path, final, n);
	path[n] = 0;
	char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	int dirlen = slash ? (int)(slash - path) : 0;
	int r;
	if (!slash)
		r = snprintf(buf, cap, ".%s.tmp.%ld", name, (long)getpid());
	else
		r = snprintf(buf, cap, "%.*s/.%s.tmp.%ld", dirlen ? dirlen : 0,
			     path, name, (long)getpid());
	return r < 0 || (size_t)r >= cap ? -1 : 0;
}

int ut_export_commit(const char *tmp, const char *final)
{
	return rename(tmp, final) ? -1 : 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void ut_export_abort(const char *tmp)
{
	struct stat st;

	if (lstat(tmp, &st))
		return;
	if (S_ISDIR(st.st_mode))
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else
		unlink(tmp);
}

/* ---- signals ---------------------------------------------------------------------- */

static volatile sig_atomic_t got_signal;
static sqlite3 *volatile sig_db;
static struct sigaction old_int, old_term;

static void on_signal(int sig)
{
	got_signal = sig;
	if (sig_db)
		sqlite3_interrupt(sig_db);
}

void ut_export_signals_install(sqlite3 *db)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	got_signal = 0;
	sig_db = db;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
}

int ut_export_interrupted(void)
{
	return got_signal;
}

void ut_export_signals_restore(void)
{
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sig_db = NULL;
}

int ut_export_prepare(sqlite3 *db, char *sql, sqlite3_stmt **s)
{
	int rc;

	*s = NULL;
	if (!sql)
		return SQLITE_NOMEM;
	rc = sqlite3_prepare_v2(db, sql, -1, s, NULL);
	sqlite3_free(sql);
	return rc;
}
