/*
 * schema.c: the DDL of a trace database, the checks made when one is
 * opened, and the migration of databases written by earlier builds.
 *
 * The schema is documented in docs/schema.md; this file is its reference
 * implementation.
 *
 * Rule: the schema version (UT_SCHEMA_VERSION) changes only when an older
 * reader could misread the file.  Within a version a migration only adds
 * (columns, tables) what older readers ignore, in one transaction, at a
 * writable open; a foreign or damaged file is never written to, and every
 * failure is told as what the file is and what to do.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "collector.h"
#include "store_int.h"

/* Columns of crashes added with crash capture.  Databases created before
 * get them (and crash_frames) at the first writable open: see
 * schema_upgrade(); the schema version does not change. */
#define CRASH_COLS_SQL \
	"  kind TEXT,\n" \
	"  code INTEGER,\n" \
	"  vcpu INTEGER,\n" \
	"  tid INTEGER,\n" \
	"  elf_path TEXT,\n" \
	"  bt_method TEXT,\n" \
	"  note TEXT,\n" \
	"  record BLOB,\n" \
	"  cmdline TEXT,\n" \
	"  uid INTEGER"
static const char *const crash_cols[][2] = {
	{ "kind", "TEXT" },     { "code", "INTEGER" },  { "vcpu", "INTEGER" },
	{ "tid", "INTEGER" },   { "elf_path", "TEXT" }, { "bt_method", "TEXT" },
	{ "note", "TEXT" },     { "record", "BLOB" },   { "cmdline", "TEXT" },
	{ "uid", "INTEGER" },
};
#define CRASH_FRAMES_SQL \
	"CREATE TABLE IF NOT EXISTS crash_frames(\n" \
	"  crash_id INTEGER NOT NULL REFERENCES crashes(id),\n" \
	"  method TEXT NOT NULL,\n" \
	"  idx INTEGER NOT NULL,\n" \
	"  pc INTEGER NOT NULL,\n" \
	"  function TEXT,\n" \
	"  offset INTEGER,\n" \
	"  file TEXT,\n" \
	"  line INTEGER,\n" \
	"  module TEXT,\n" \
	"  PRIMARY KEY (crash_id, method, idx)) WITHOUT ROWID;\n" \
	"CREATE TABLE IF NOT EXISTS crash_threads(\n" \
	"  crash_id INTEGER NOT NULL REFERENCES crashes(id),\n" \
	"  tid INTEGER NOT NULL,\n" \
	"  idx INTEGER NOT NULL,\n" \
	"  pc INTEGER NOT NULL,\n" \
	"  function TEXT,\n" \
	"  offset INTEGER,\n" \
	"  file TEXT,\n" \
	"  line INTEGER,\n" \
	"  module TEXT,\n" \
	"  method TEXT,\n" \
	"  PRIMARY KEY (crash_id, tid, idx)) WITHOUT ROWID;\n"

static const char schema_sql[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value);\n"
	"CREATE TABLE guests(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  name TEXT NOT NULL,\n"
	"  platform TEXT,\n"
	"  pid INTEGER,\n"
	"  build_id TEXT,\n"
	"  nr_rings INTEGER,\n"
	"  abi_version INTEGER,\n"
	"  start_realtime INTEGER,\n"
	"  clock_ns_ref INTEGER,\n"
	"  source TEXT,\n"
	"  status TEXT NOT NULL DEFAULT 'running' CHECK (status IN "
	"('running','exited','crashed','corrupt','rejected','vanished')),\n"
	"  reason TEXT,\n"
	"  first_ts INTEGER,\n"
	"  last_ts INTEGER,\n"
	"  attached_at INTEGER);\n"
	"CREATE INDEX guests_ident ON guests(name, pid, start_realtime);\n"
	"CREATE TABLE lanes(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  guest_id INTEGER NOT NULL REFERENCES guests(id),\n"
	"  vcpu INTEGER NOT NULL,\n"
	"  last_seq INTEGER,\n"
	"  event_count INTEGER NOT NULL DEFAULT 0,\n"
	"  lost_count INTEGER NOT NULL DEFAULT 0,\n"
	"  UNIQUE (guest_id, vcpu));\n"
	"CREATE TABLE event_types(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  guest_id INTEGER NOT NULL REFERENCES guests(id),\n"
	"  guest_type_id INTEGER NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  kind TEXT NOT NULL,\n"
	"  category TEXT,\n"
	"  nfields INTEGER NOT NULL,\n"
	"  layout TEXT NOT NULL,\n"
	"  UNIQUE (guest_id, guest_type_id));\n"
	"CREATE INDEX event_types_name ON event_types(name, kind, layout);\n"
	"CREATE TABLE event_fields(\n"
	"  type_id INTEGER NOT NULL REFERENCES event_types(id),\n"
	"  idx INTEGER NOT NULL,\n"
	"  name TEXT NOT NULL,\n"
	"  type TEXT NOT NULL,\n"
	"  max_len INTEGER NOT NULL,\n"
	"  hex INTEGER NOT NULL,\n"
	"  col TEXT NOT NULL,\n"
	"  PRIMARY KEY (type_id, idx)) WITHOUT ROWID;\n"
	"CREATE TABLE event_views(\n"
	"  view TEXT PRIMARY KEY,\n"
	"  event_name TEXT NOT NULL,\n"
	"  kind TEXT NOT NULL,\n"
	"  layout TEXT NOT NULL,\n"
	"  first_type_id INTEGER NOT NULL);\n"
	"CREATE TABLE events(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  ts INTEGER,\n"
	"  lane INTEGER,\n"
	"  type INTEGER,\n"
	"  seq INTEGER,\n"
	"  dur INTEGER,\n"
	"  a0, a1, a2, a3, a4, a5, a6, a7);\n"
	"CREATE TABLE event_blocks(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  lane INTEGER NOT NULL,\n"
	"  ts_first INTEGER NOT NULL,\n"
	"  ts_last INTEGER NOT NULL,\n"
	"  row_first INTEGER NOT NULL,\n"
	"  row_last INTEGER NOT NULL,\n"
	"  count INTEGER NOT NULL);\n"
	"CREATE INDEX event_blocks_lane_ts ON event_blocks(lane, ts_first);\n"
	"CREATE TABLE lost(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  lane INTEGER NOT NULL,\n"
	"  seq_first INTEGER NOT NULL,\n"
	"  count INTEGER NOT NULL,\n"
	"  ts_before INTEGER,\n"
	"  ts_after INTEGER,\n"
	"  reason TEXT NOT NULL CHECK (reason IN "
	"('guest','overwrite','corrupt')));\n"
	"CREATE INDEX lost_lane ON lost(lane, ts_before);\n"
	"CREATE TABLE crashes(\n"
	"  id INTEGER PRIMARY KEY,\n"
	"  guest_id INTEGER NOT NULL REFERENCES guests(id),\n"
	"  ts INTEGER,\n"
	"  reason TEXT,\n"
	"  signal INTEGER,\n"
	"  fault_addr INTEGER,\n"
	"  registers TEXT,\n"
	"  core_path TEXT,\n"
	"  backtrace TEXT,\n"
	CRASH_COLS_SQL ");\n"
	"CREATE INDEX crashes_guest ON crashes(guest_id, ts);\n"
	CRASH_FRAMES_SQL;

/* Describe a SQLite result code met while reading (path) at open.  (db)
 * may be NULL for SQLITE_NOTADB (ut_store_open's own look at the header). */
void schema_open_error(char *err, size_t errlen, const char *path,
		       sqlite3 *db, int rc)
{
	/* SQLite's words for (rc): the connection's message, unless a
	 * ROLLBACK after the failure has reset it to "not an error" */
	const char *why = db && sqlite3_errcode(db) != SQLITE_OK
				  ? sqlite3_errmsg(db)
				  : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_NOTADB:
		snprintf(err, errlen,
			 "%s is not a SQLite database, so not a unitrace "
			 "trace (give the file written by 'unitrace collect')",
			 path);
		break;
	case SQLITE_CORRUPT:
		snprintf(err, errlen,
			 "%s is corrupt (%s); recover what is readable with "
			 "'sqlite3 %s .recover', or collect the trace again",
			 path, why, path);
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		snprintf(err, errlen,
			 "%s is locked by another process (%s); try again "
			 "when it is done",
			 path, why);
		break;
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		snprintf(err, errlen,
			 "cannot write %s (%s); check the permissions of "
			 "the file and of its directory",
			 path, why);
		break;
	default:
		snprintf(err, errlen, "cannot read %s: %s", path,
			 why);
		break;
	}
}

/* Check that (db) is a unitrace database of a schema version we read, and
 * touch the pages every command reads so that corruption shows up here. */
int schema_check(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	static const char *const probes[] = {
		"SELECT count(*) FROM guests",
		"SELECT count(*) FROM lanes",
		"SELECT count(*) FROM event_types",
		"SELECT count(*) FROM event_fields",
		"SELECT max(id) FROM events",
		"SELECT max(id) FROM event_blocks",
		"SELECT max(id) FROM lost",
		"SELECT max(id) FROM crashes",
	};
	sqlite3_stmt *s = NULL;
	const char *marker = NULL;
	int64_t version = -1;
	int rc;

	rc = sqlite3_prepare_v2(db,
				"SELECT key, value FROM meta WHERE key IN "
				"('format', 'schema_version')",
				-1, &s, NULL);
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_ERROR &&
		    strstr(sqlite3_errmsg(db), "no such table"))
			snprintf(err, errlen,
				 "%s is a SQLite database but not a unitrace "
				 "trace (it has no 'meta' table)",
				 path);
		else
			schema_open_error(err, errlen, path, db, rc);
		return -1;
	}
	char fmt[16] = "";
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0);

		if (k && !strcmp(k, "format")) {
			const char *v = (const char *)sqlite3_column_text(s, 1);
			snprintf(fmt, sizeof(fmt), "%s", v ? v : "");
			marker = fmt;
		} else if (k && !strcmp(k, "schema_version")) {
			version = sqlite3_column_int64(s, 1);
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		schema_open_error(err, errlen, path, db, rc);
		return -1;
	}
	if (!marker || strcmp(marker, "unitrace")) {
		snprintf(err, errlen,
			 "%s is a SQLite database but not a unitrace trace "
			 "(no format marker 'unitrace' in its meta table)",
			 path);
		return -1;
	}
	if (version != UT_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "%s has schema version %lld; this unitrace reads "
			 "version %d (%s)",
			 path, (long long)version, UT_SCHEMA_VERSION,
			 version > UT_SCHEMA_VERSION
				 ? "use a newer unitrace"
				 : "the file is damaged or from a development "
				   "build");
		return -1;
	}
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		rc = sqlite3_prepare_v2(db, probes[i], -1, &s, NULL);
		if (rc == SQLITE_OK) {
			while ((rc = sqlite3_step(s)) == SQLITE_ROW)
				;
			sqlite3_finalize(s);
			if (rc == SQLITE_DONE)
				rc = SQLITE_OK;
		}
		if (rc != SQLITE_OK) {
			if ((rc & 0xff) == SQLITE_ERROR)
				snprintf(err, errlen,
					 "%s is not a complete unitrace "
					 "trace (%s); it is damaged or was "
					 "written by another program",
					 path, sqlite3_errmsg(db));
			else
				schema_open_error(err, errlen, path, db, rc);
			return -1;
		}
	}
	return 0;
}

/* Create the schema in an empty database. */
int schema_create(sqlite3 *db)
{
	char sql[256];
	int rc;

	if ((rc = store_exec(db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		return rc;
	/* Someone may have created it since we looked. */
	sqlite3_stmt *s = NULL;
	/* Only into an empty database: someone may have created the schema
	 * since we looked, and a foreign database is left alone (check_db
	 * then says what it is). */
	rc = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master LIMIT 1", -1,
				&s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		sqlite3_finalize(s);
		if (rc == SQLITE_ROW) {
			store_exec(db, "ROLLBACK");
			return SQLITE_OK;
		}
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	if (rc == SQLITE_OK)
		rc = store_exec(db, schema_sql);
	if (rc == SQLITE_OK) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO meta VALUES ('format', 'unitrace'), "
			 "('schema_version', %d), ('block_span_ns', %lld), "
			 "('block_rows_max', %d), ('created_at', %lld)",
			 UT_SCHEMA_VERSION, (long long)UT_BLOCK_SPAN_NS,
			 UT_BLOCK_ROWS, (long long)store_now_realtime_ns());
		rc = store_exec(db, sql);
	}
	if (rc == SQLITE_OK)
		rc = store_exec(db, "COMMIT");
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(db))
		store_exec(db, "ROLLBACK");
	return rc;
}

/* Bring a database created by an earlier build of this schema version up
 * to date: additions only (new columns of crashes, crash_frames,
 * crash_threads), which older readers ignore. */
int schema_upgrade(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	bool have[sizeof(crash_cols) / sizeof(crash_cols[0])] = { false };
	bool frames = false, threads = false;
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db,
				"SELECT name FROM pragma_table_info('crashes') "
				"UNION ALL SELECT '.frames' FROM sqlite_master "
				"WHERE type = 'table' AND name = 'crash_frames' "
				"UNION ALL SELECT '.threads' FROM sqlite_master "
				"WHERE type = 'table' AND name = 'crash_threads'",
				-1, &s, NULL);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		if ((rc = sqlite3_step(s)) != SQLITE_ROW)
			break;
		const char *c = (const char *)sqlite3_column_text(s, 0);
		for (size_t i = 0; c && i < sizeof(have) / sizeof(have[0]); i++)
			have[i] |= !strcmp(c, crash_cols[i][0]);
		frames |= c && !strcmp(c, ".frames");
		threads |= c && !strcmp(c, ".threads");
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		goto fail;
	bool all = frames && threads;
	for (size_t i = 0; i < sizeof(have) / sizeof(have[0]); i++)
		all &= have[i];
	if (all)
		return 0;
	if ((rc = store_exec(db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; rc == SQLITE_OK && i < sizeof(have) / sizeof(have[0]);
	     i++) {
		char sql[128];
		if (have[i])
			continue;
		snprintf(sql, sizeof(sql), "ALTER TABLE crashes ADD COLUMN %s %s",
			 crash_cols[i][0], crash_cols[i][1]);
		rc = store_exec(db, sql);
		/* a concurrent writer may have added it meanwhile */
		if (rc != SQLITE_OK &&
		    strstr(sqlite3_errmsg(db), "duplicate column"))
			rc = SQLITE_OK;
	}
	if (rc == SQLITE_OK)
		rc = store_exec(db, CRASH_FRAMES_SQL);
	if (rc == SQLITE_OK)
		rc = store_exec(db, "COMMIT");
	if (rc == SQLITE_OK)
		return 0;
	if (!sqlite3_get_autocommit(db))
		store_exec(db, "ROLLBACK");
fail:
	schema_open_error(err, errlen, path, db, rc);
	return -1;
}
