/*
 * unitrace trace database, read side: what the read-only commands (list,
 * stats, query, crash), the viewer and exporters need to open a trace and
 * read it.  This header does not include collector.h, so a reader of
 * traces does not depend on the collector's internals (the viewer is
 * compiled without -Icollector: the Makefile enforces it).
 */
#ifndef UT_TRACEDB_H
#define UT_TRACEDB_H

#include <stddef.h>

struct sqlite3;

typedef struct ut_tracedb ut_tracedb_t;

/* Open the trace database at (path) read-only.  Returns NULL with a
 * message in (err) if the file is missing, a directory, empty, not SQLite,
 * not a unitrace database, corrupt, locked or of a schema version this
 * build does not read. */
ut_tracedb_t *ut_tracedb_open(const char *path, char *err, size_t errlen);
/* The same; on failure print "unitrace CMD: <why>" to stderr. */
ut_tracedb_t *ut_tracedb_open_cmd(const char *cmd, const char *path);
void ut_tracedb_close(ut_tracedb_t *db);
/* The SQLite handle (read-only), valid until ut_tracedb_close. */
struct sqlite3 *ut_tracedb_sqlite(const ut_tracedb_t *db);

/* Read helpers.  They take the SQLite handle, so that a second connection
 * (the viewer's span thread) can use them too. */
/* 1 if the database has a table or view (name), 0 if not, -1 on error. */
int ut_tracedb_has_table(struct sqlite3 *db, const char *name);
/* 1 if (table) has a column (col), 0 if not, -1 on error. */
int ut_tracedb_has_column(struct sqlite3 *db, const char *table,
			  const char *col);

/* event_types.kind: the text stored for enum ut_event_kind (ut_abi.h),
 * "instant", "span_begin", "span_end", "counter", "log".  NULL for a value
 * out of range. */
const char *ut_kind_name(int kind);
/* The enum ut_event_kind value of a stored kind name; -1 if unknown. */
int ut_kind_parse(const char *name);

#endif /* UT_TRACEDB_H */
