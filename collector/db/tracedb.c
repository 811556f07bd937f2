/*
 * The trace database, read side (tracedb.h).  Opening goes through the
 * store's read-only open, which owns the checks and their messages (one
 * copy of them for the writer and the readers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

	/* as ut_error() prints, without needing main.c (bench, tests) */
	if (!db)
		fprintf(stderr, "unitrace %s: %s\n", cmd, err);
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
