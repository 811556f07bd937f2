/*
 * The trace database, read side (tracedb.h).  Opening goes through the
 * store's read-only open, which owns the checks and their messages (one
 * copy of them for the writer and the readers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "collector.h"
#include "tracedb.h"

struct ut_tracedb {
	ut_store_t *st;
};

ut_tracedb_t *ut_tracedb_open(const char *path, char *err, size_t errlen)
{
	ut_tracedb_t *db = malloc(sizeof(*db));

	if (!db) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->st = ut_store_open(path, UT_STORE_READONLY, err, errlen);
	if (!db->st) {
		free(db);
		return NULL;
	}
	return db;
}

ut_tracedb_t *ut_tracedb_open_cmd(const char *cmd, const char *path)
{
	char err[1024];
	ut_tracedb_t *db = ut_tracedb_open(path, err, sizeof(err));

	if (!db) /* escaped: the path may hold anything */
		ut_error(cmd, "%s", err);
	return db;
}

void ut_tracedb_close(ut_tracedb_t *db)
{
	if (!db)
		return;
	ut_store_close(db->st);
	free(db);
}

struct sqlite3 *ut_tracedb_sqlite(const ut_tracedb_t *db)
{
	return ut_store_db(db->st);
}

/* The single-row, single-column integer answer of (sql) with text
 * parameters (a, b) (NULL: unbound); -1 on error. */
static int count_of(sqlite3 *db, const char *sql, const char *a,
		    const char *b)
{
	sqlite3_stmt *s;
	int n = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (a)
		sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return n;
}

int ut_tracedb_has_table(sqlite3 *db, const char *name)
{
	int n = count_of(db,
			 "SELECT count(*) FROM sqlite_master WHERE type IN "
			 "('table', 'view') AND name = ?1",
			 name, NULL);
	return n < 0 ? -1 : n > 0;
}

int ut_tracedb_has_column(sqlite3 *db, const char *table, const char *col)
{
	int n = count_of(db,
			 "SELECT count(*) FROM pragma_table_info(?1) WHERE "
			 "name = ?2",
			 table, col);
	return n < 0 ? -1 : n > 0;
}

static const char *const kind_names[UT_KIND__COUNT] = {
	[UT_KIND_INSTANT] = "instant",
	[UT_KIND_SPAN_BEGIN] = "span_begin",
	[UT_KIND_SPAN_END] = "span_end",
	[UT_KIND_COUNTER] = "counter",
	[UT_KIND_LOG] = "log",
};

const char *ut_kind_name(int kind)
{
	return kind >= 0 && kind < UT_KIND__COUNT ? kind_names[kind] : NULL;
}

int ut_kind_parse(const char *name)
{
	for (int k = 0; name && k < UT_KIND__COUNT; k++)
		if (!strcmp(name, kind_names[k]))
			return k;
	return -1;
}
