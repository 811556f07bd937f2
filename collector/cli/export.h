/*
 * unitrace export: the pieces both writers share (export.c) and the two
 * writers (export_chrome.c: the Chrome/Perfetto trace event format;
 * export_ctf.c: CTF 1.8).  cmd_export.c parses the command line.
 */
#ifndef UT_EXPORT_H
#define UT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

typedef struct ut_export_opts {
	const char *cmd;                 /* "export", for messages */
	const char *db_path;
	const char *out;                 /* DIR for ctf, FILE for chrome */
	const char *const *guests; size_t nguests;   /* --guest NAME or numeric id; none: all */
	const char *const *events; size_t nevents;   /* --event NAME; none: all */
	bool has_from, has_to; int64_t from_ns, to_ns;  /* --from/--to, ns on the trace's time axis (events.ts) */
	bool quiet;                      /* -q: no progress lines */
} ut_export_opts_t;

/* " AND ..." SQL text restricting rows of `events e JOIN lanes l ON l.id = e.lane` (and
 * event_types t ON t.id = e.type if the filter needs names) to the options; written into
 * buf; also validates names against the DB (unknown -> ut_error, returns -1). 0 on success. */
int ut_export_filter_sql(sqlite3 *db, const ut_export_opts_t *o, char *buf, size_t cap);

/* Progress: call ut_export_progress(&p, done) per event; prints "export: N/M events (P%)" to stderr
 * at most once a second when the export has run longer than a second, unless quiet. */
typedef struct ut_export_progress { uint64_t total; uint64_t t0_ms, last_ms; bool quiet, shown; } ut_export_progress_t;
void ut_export_progress_start(ut_export_progress_t *p, uint64_t total, bool quiet);
void ut_export_progress(ut_export_progress_t *p, uint64_t done);
void ut_export_progress_end(ut_export_progress_t *p, uint64_t done);

/* Atomic output: ut_export_tmp_path(final, buf) gives "<dir>/.<name>.tmp.<pid>"; write there, then
 * ut_export_commit(tmp, final) renames (for a directory: rename over a missing or empty final dir);
 * ut_export_abort(tmp) removes it (recursively for a directory). */
int ut_export_tmp_path(const char *final, char *buf, size_t cap);
int ut_export_commit(const char *tmp, const char *final);
void ut_export_abort(const char *tmp);

int ut_export_chrome(sqlite3 *db, const ut_export_opts_t *o);  /* export_chrome.c; 0 or 1 (message printed) */
int ut_export_ctf(sqlite3 *db, const ut_export_opts_t *o);     /* export_ctf.c;    0 or 1 */

/* ---- added helpers (export.c) ------------------------------------------ */

/* Parse a time for --from/--to: an integer of nanoseconds ("1500"), or a
 * decimal number with a unit ns, us, ms or s ("1.5s", "200ms", "10us");
 * an optional leading '-'.  Exact: no floating point.  0, or -1 if (s) is
 * not such a time or does not fit in int64 ns. */
int ut_export_parse_time(const char *s, int64_t *ns);

/* SIGINT/SIGTERM while exporting: ut_export_signals_install() makes the
 * signals set a flag (and interrupt SQLite) instead of killing the
 * process, so that the writer can remove its temporary output;
 * ut_export_interrupted() reads the flag (the signal number, or 0);
 * ut_export_signals_restore() puts the previous handlers back. */
void ut_export_signals_install(sqlite3 *db);
int ut_export_interrupted(void);
void ut_export_signals_restore(void);

/* " AND l.guest_id IN (...)" for the --guest options alone (empty text
 * without them), for tables other than events that join lanes l (lost);
 * the names are validated as in ut_export_filter_sql.  0 or -1. */
int ut_export_guest_sql(sqlite3 *db, const ut_export_opts_t *o, char *buf,
			size_t cap);

/* Events the filter selects (count(*) of events e JOIN lanes l JOIN
 * event_types t with (filter) appended), for the progress total; -1 on
 * error. */
int64_t ut_export_count(sqlite3 *db, const char *filter);

/* Prepare (sql), a sqlite3_mprintf() result that this frees (NULL: out of
 * memory, SQLITE_NOMEM), into *s.  SQLite's result code. */
int ut_export_prepare(sqlite3 *db, char *sql, sqlite3_stmt **s);

#endif /* UT_EXPORT_H */
