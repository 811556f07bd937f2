/*
 * store.c: the SQLite database of a trace: open and close, errors, the
 * statement cache and the bind helpers every file of the store uses.
 *
 * Rule: one writer connection per store, every statement prepared once
 * (SQLITE_PREPARE_PERSISTENT) and kept in st->stmt[]; the first error of a
 * transaction is the one reported (store_dberr marks it failed).  The
 * files of the store are listed in store_int.h.
 *
 * The schema is documented in docs/schema.md; this file is its reference
 * implementation.  Design points (measurements in docs/schema.md):
 *
 *  - WAL mode, synchronous=NORMAL, 16 KiB pages: the viewer and the sqlite3
 *    shell read while the collector writes.
 *  - events is a plain rowid table with no index.  Each run of consecutive
 *    inserts on one lane is one row of event_blocks (lane, time range, rowid
 *    range), so a time window of one lane is found through the small
 *    event_blocks index and a rowid range scan, without a B-tree insert per
 *    event.
 *  - ut_store_event() copies the event into a batch of UT_STORE_BATCH slots
 *    and inserts a full batch with one multi-row INSERT statement: binding
 *    by index, no malloc, no number formatting.  Batches and blocks are
 *    flushed when the lane changes and at commit.
 *  - Per-lane counters (event_count, lost_count, last_seq) and the guests'
 *    first_ts/last_ts are accumulated in memory and written once per
 *    commit, inside the same transaction as the events.
 *  - A writable store checkpoints the WAL from a thread of its own with its
 *    own connection, so that the writer never waits for the checkpoint's
 *    copy and fsyncs (a third of the ingest time when done inline).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "collector.h"
#include "store_int.h"

/* ---- cached statements ---------------------------------------------------- */

static const char *const stmt_sql[S__COUNT] = {
	[S_EV1] = NULL, /* built at run time */
	[S_EVN] = NULL,
	[S_BLOCK] = "INSERT INTO event_blocks(lane, ts_first, ts_last, "
		    "row_first, row_last, count) VALUES (?,?,?,?,?,?)",
	[S_LANE_UPD] = "UPDATE lanes SET last_seq = ?1, "
		       "event_count = event_count + ?2, "
		       /* saturates at INT64_MAX: a guest's gaps are
			* guest-controlled, up to 2^63 each */
		       "lost_count = CASE WHEN ?3 > 9223372036854775807 - "
		       "lost_count THEN 9223372036854775807 "
		       "ELSE lost_count + ?3 END WHERE id = ?4",
	[S_GUEST_UPD] = "UPDATE guests SET "
			"first_ts = min(coalesce(first_ts, ?1), ?1), "
			"last_ts = max(coalesce(last_ts, ?2), ?2) WHERE id = ?3",
	[S_GUEST_FIND] = "SELECT id FROM guests WHERE name = ?1 AND pid = ?2 "
			 "AND start_realtime = ?3 ORDER BY id LIMIT 1",
	[S_GUEST_INS] = "INSERT INTO guests(name, platform, pid, build_id, "
			"nr_rings, abi_version, start_realtime, clock_ns_ref, "
			"source, status, attached_at) "
			"VALUES (?,?,?,?,?,?,?,?,?,'running',?)",
	[S_GUEST_STATUS] = "UPDATE guests SET status = ?1, reason = ?2 "
			   "WHERE id = ?3",
	[S_LANE_FIND] = "SELECT id, last_seq FROM lanes "
			"WHERE guest_id = ?1 AND vcpu = ?2",
	[S_LANE_INS] = "INSERT INTO lanes(guest_id, vcpu) VALUES (?1, ?2)",
	[S_LANE_GET] = "SELECT guest_id, last_seq FROM lanes WHERE id = ?1",
	[S_TYPE_FIND] = "SELECT id, name, kind, layout FROM event_types "
			"WHERE guest_id = ?1 AND guest_type_id = ?2",
	[S_TYPE_GET] = "SELECT guest_id FROM event_types WHERE id = ?1",
	[S_TYPE_INS] = "INSERT INTO event_types(guest_id, guest_type_id, "
		       "name, kind, category, nfields, layout) "
		       "VALUES (?,?,?,?,?,?,?)",
	[S_FIELD_INS] = "INSERT INTO event_fields(type_id, idx, name, type, "
			"max_len, hex, col) VALUES (?,?,?,?,?,?,?)",
	[S_VIEW_FIND] = "SELECT view FROM event_views "
			"WHERE event_name = ?1 AND kind = ?2 AND layout = ?3",
	[S_VIEW_NAME] = "SELECT 1 FROM sqlite_master "
			"WHERE lower(name) = lower(?1)",
	[S_VIEW_COUNT] = "SELECT count(*) FROM event_views",
	[S_VIEW_INS] = "INSERT INTO event_views(view, event_name, kind, "
		       "layout, first_type_id) VALUES (?,?,?,?,?)",
	[S_LOST_INS] = "INSERT INTO lost(lane, seq_first, count, ts_before, "
		       "ts_after, reason) VALUES (?,?,?,?,?,?)",
	[S_CRASH_INS] = "INSERT INTO crashes(guest_id, ts, reason, signal, "
			"fault_addr, registers, core_path, kind, code, vcpu, "
			"tid, elf_path, record) "
			"VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[S_CRASH_CORE] = "UPDATE crashes SET core_path = ?1, note = ?2 "
			 "WHERE id = ?3",
	[S_CRASH_BT] = "UPDATE crashes SET backtrace = ?1, bt_method = ?2 "
		       "WHERE id = ?3",
	[S_FRAME_DEL] = "DELETE FROM crash_frames WHERE crash_id = ?1 "
			"AND method = ?2",
	[S_FRAME_INS] = "INSERT INTO crash_frames(crash_id, method, idx, pc, "
			"function, offset, file, line, module) "
			"VALUES (?,?,?,?,?,?,?,?,?)",
	[S_THREAD_DEL] = "DELETE FROM crash_threads WHERE crash_id = ?1 "
			 "AND tid = ?2",
	[S_THREAD_INS] = "INSERT INTO crash_threads(crash_id, tid, idx, pc, "
			 "function, offset, file, line, module, method) "
			 "VALUES (?,?,?,?,?,?,?,?,?,?)",
	[S_CRASH_PROC] = "UPDATE crashes SET cmdline = ?1, uid = ?2 "
			 "WHERE id = ?3",
};

/* ---- errors --------------------------------------------------------------- */

void store_seterr(ut_store_t *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
}

int store_dberr(ut_store_t *st, const char *what)
{
	store_seterr(st, "%s: %s", what, sqlite3_errmsg(st->db));
	if (st->in_txn)
		st->failed = true;
	return -1;
}

const char *ut_store_errmsg(ut_store_t *st)
{
	return st ? st->errmsg : "no database";
}

struct sqlite3 *ut_store_db(ut_store_t *st)
{
	return st->db;
}

static sqlite3_stmt *ev_insert_stmt(ut_store_t *st, int rows)
{
	char sql[64 + UT_STORE_BATCH * 32];
	size_t n;
	sqlite3_stmt *s = NULL;

	n = (size_t)snprintf(sql, sizeof(sql),
			     "INSERT INTO events(ts, lane, type, seq, dur, "
			     "a0, a1, a2, a3, a4, a5, a6, a7) VALUES ");
	for (int r = 0; r < rows; r++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n,
				      "%s(?,?,?,?,?,?,?,?,?,?,?,?,?)",
				      r ? "," : "");
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
			       NULL) != SQLITE_OK) {
		store_dberr(st, "preparing the event insert");
		return NULL;
	}
	return s;
}

sqlite3_stmt *store_stmt(ut_store_t *st, int id)
{
	sqlite3_stmt *s = st->stmt[id];

	if (s)
		return s;
	if (id == S_EV1 || id == S_EVN) {
		s = ev_insert_stmt(st, id == S_EV1 ? 1 : UT_STORE_BATCH);
	} else if (sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
				      SQLITE_PREPARE_PERSISTENT, &s,
				      NULL) != SQLITE_OK) {
		store_dberr(st, "preparing a statement");
		s = NULL;
	}
	st->stmt[id] = s;
	return s;
}

int store_step_done(ut_store_t *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		/* reset() reports the real error with the legacy API, but
		 * errmsg holds it already with prepare_v2/v3. */
		return store_dberr(st, what);
	}
	return 0;
}

void store_bind_opt_ts(sqlite3_stmt *s, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

void store_bind_opt_text(sqlite3_stmt *s, int i, const char *v,
			 sqlite3_destructor_type destructor)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, destructor);
	else
		sqlite3_bind_null(s, i);
}

int store_changed_one(ut_store_t *st, const char *what, int64_t id)
{
	if (sqlite3_changes(st->db) != 1) {
		store_seterr(st, "no %s %lld", what, (long long)id);
		return -1;
	}
	return 0;
}

int store_oom(ut_store_t *st)
{
	store_seterr(st, "out of memory");
	st->failed = true;
	return -1;
}

int64_t store_now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- open / close ------------------------------------------------------------ */

int store_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Close (*db); if (created) is not NULL, remove that database we created,
 * with its WAL and shared-memory files: a half-made database left behind
 * would be taken for a trace, and a WAL left beside a new file of the same
 * name would be replayed into it. */
static void db_remove(sqlite3 **db, const char *created)
{
	char p[PATH_MAX];

	sqlite3_close(*db);
	*db = NULL;
	if (!created)
		return;
	unlink(created);
	snprintf(p, sizeof(p), "%s-wal", created);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", created);
	unlink(p);
	snprintf(p, sizeof(p), "%s-journal", created);
	unlink(p);
}

ut_store_t *ut_store_open(const char *path, int flags, char *err,
			  size_t errlen)
{
	bool create = flags & UT_STORE_CREATE;
	bool readonly = flags & UT_STORE_READONLY;
	bool fresh = false, existed = true;
	struct stat sb;
	sqlite3 *db = NULL;
	ut_store_t *st = NULL;
	int rc;

	if (!path || !*path) {
		snprintf(err, errlen, "no database path given");
		return NULL;
	}
	if (create && readonly) {
		snprintf(err, errlen, "cannot create %s read-only", path);
		return NULL;
	}
	if (stat(path, &sb) != 0) {
		if (errno != ENOENT || !create) {
			if (errno == ENOENT)
				snprintf(err, errlen,
					 "%s does not exist (give the "
					 "database written by 'unitrace "
					 "collect -o %s')",
					 path, path);
			else
				snprintf(err, errlen, "cannot access %s: %s",
					 path, strerror(errno));
			return NULL;
		}
		fresh = true;
		existed = false;
	} else if (S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen,
			 "%s is a directory; give the path of a trace "
			 "database file",
			 path);
		return NULL;
	} else if (sb.st_size == 0) {
		if (!create) {
			snprintf(err, errlen,
				 "%s is empty, not a unitrace trace", path);
			return NULL;
		}
		fresh = true;
	} else {
		/* Quick look at the header: a clearer message than SQLite's
		 * "file is not a database" for, say, a text file. */
		char hdr[16];
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, hdr, sizeof(hdr)) : -1;

		if (fd >= 0)
			close(fd);
		if (fd < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path,
				 strerror(errno));
			return NULL;
		}
		if (n != (ssize_t)sizeof(hdr) ||
		    memcmp(hdr, "SQLite format 3", 16)) {
			/* what SQLite would say of it, and what to do */
			schema_open_error(err, errlen, path, NULL,
					  SQLITE_NOTADB);
			return NULL;
		}
	}

	int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	if (readonly)
		oflags |= SQLITE_OPEN_READONLY;
	else
		oflags |= SQLITE_OPEN_READWRITE |
			  (create ? SQLITE_OPEN_CREATE : 0);
	rc = sqlite3_open_v2(path, &db, oflags, NULL);
	if (rc != SQLITE_OK) {
		int e = db ? sqlite3_system_errno(db) : 0;
		if (create && fresh)
			snprintf(err, errlen,
				 "cannot create %s: %s; check that its "
				 "directory exists and is writable",
				 path, e ? strerror(e) : sqlite3_errstr(rc));
		else
			snprintf(err, errlen, "cannot open %s: %s", path,
				 e ? strerror(e) : sqlite3_errstr(rc));
		db_remove(&db, existed ? NULL : path);
		return NULL;
	}
	sqlite3_busy_timeout(db, UT_BUSY_MS);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (!readonly && sqlite3_db_readonly(db, "main") == 1) {
		snprintf(err, errlen,
			 "%s is not writable; check its permissions (commands "
			 "that only read open it read-only)",
			 path);
		goto fail;
	}
	if (fresh) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA page_size=%d",
			 UT_PAGE_BYTES);
		store_exec(db, sql);
	}
	if (!readonly) {
		/* Also the first read of the file: reports NOTADB/CORRUPT. */
		rc = store_exec(db, "PRAGMA journal_mode=WAL");
		if (rc != SQLITE_OK) {
			schema_open_error(err, errlen, path, db, rc);
			goto fail;
		}
		store_exec(db, "PRAGMA synchronous=NORMAL");
		if (create) {
			rc = schema_create(db);
			if (rc != SQLITE_OK) {
				schema_open_error(err, errlen, path, db, rc);
				goto fail;
			}
		}
	}
	if (schema_check(db, path, err, errlen))
		goto fail;
	if (!readonly && schema_upgrade(db, path, err, errlen))
		goto fail;

	st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	st->db = db;
	st->readonly = readonly;
	if (!readonly)
		ckpt_start(st, path);
	return st;
fail:
	db_remove(&db, existed ? NULL : path);
	return NULL;
}

void ut_store_close(ut_store_t *st)
{
	if (!st)
		return;
	if (st->in_txn)
		ut_store_rollback(st);
	ckpt_stop(st); /* then closing the writer checkpoints what is left */
	for (int i = 0; i < S__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st->lanes);
	free(st->types);
	free(st->dirty);
	free(st);
}

/* ---- cache arrays (lanes[], types[]) -------------------------------------------------------------------- */

int store_grow(void **arr, size_t *n, size_t elem, int64_t id)
{
	if (id <= 0 || id >= UT_MAX_CACHE_ID)
		return -1;
	if ((size_t)id < *n)
		return 0;
	size_t nn = *n ? *n : 16;
	while (nn <= (size_t)id)
		nn *= 2;
	void *p = realloc(*arr, nn * elem);
	if (!p)
		return -1;
	memset((char *)p + *n * elem, 0, (nn - *n) * elem);
	*arr = p;
	*n = nn;
	return 0;
}

struct lane_state *store_lane_slot(ut_store_t *st, int64_t id)
{
	if (store_grow((void **)&st->lanes, &st->nlanes, sizeof(*st->lanes),
		       id)) {
		store_seterr(st, "lane id %lld out of range", (long long)id);
		return NULL;
	}
	return &st->lanes[id];
}

/* ---- transactions ------------------------------------------------------------------ */

int store_not_in_txn(ut_store_t *st)
{
	if (!st->in_txn)
		store_seterr(st,
			     "no transaction open (call ut_store_begin first)");
	/* else: keep the message of the add that failed */
	return -1;
}
