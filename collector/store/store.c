/*
 * store.c: the SQLite database of a trace.
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
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "backtrace.h"
#include "collector.h"

#define UT_SCHEMA_VERSION 1
#define UT_PAGE_BYTES 16384
#define UT_STORE_BATCH 16        /* rows per multi-row INSERT */
#define UT_BLOCK_SPAN_NS 1000000000LL /* max ts_last - ts_first of a block */
#define UT_BLOCK_ROWS 4096       /* max events per block */
#define UT_MAX_CACHE_ID (1 << 20) /* lane/type ids cached by array index */
#define UT_EV_COLS 13            /* ts lane type seq dur a0..a7 */
#define UT_BUSY_MS 5000
/* WAL pages (of UT_PAGE_BYTES) after a commit that wake the checkpointer
 * thread, and that make the writer checkpoint inline (backpressure when the
 * checkpointer cannot keep up). */
#define UT_CKPT_PAGES 2048
#define UT_CKPT_INLINE_PAGES 32768

#define UT_LIKELY(x) __builtin_expect(!!(x), 1)
#define UT_UNLIKELY(x) __builtin_expect(!!(x), 0)

_Static_assert(UT_MAX_FIELDS == 8, "events has columns a0..a7");

/* ---- schema ------------------------------------------------------------- */

/* Columns of crashes added with crash capture.  Databases created before
 * get them (and crash_frames) at the first writable open: see
 * upgrade_schema(); the schema version does not change. */
#define CRASH_COLS_SQL \
	"  kind TEXT,\n" \
	"  code INTEGER,\n" \
	"  vcpu INTEGER,\n" \
	"  tid INTEGER,\n" \
	"  elf_path TEXT,\n" \
	"  bt_method TEXT,\n" \
	"  note TEXT,\n" \
	"  record BLOB"
static const char *const crash_cols[][2] = {
	{ "kind", "TEXT" },     { "code", "INTEGER" },  { "vcpu", "INTEGER" },
	{ "tid", "INTEGER" },   { "elf_path", "TEXT" }, { "bt_method", "TEXT" },
	{ "note", "TEXT" },     { "record", "BLOB" },
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
	"  PRIMARY KEY (crash_id, method, idx)) WITHOUT ROWID;\n"

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

/* ---- cached statements ---------------------------------------------------- */

enum {
	S_EV1, /* one-row INSERT into events */
	S_EVN, /* UT_STORE_BATCH-row INSERT into events */
	S_BLOCK,
	S_LANE_UPD,
	S_GUEST_UPD,
	S_GUEST_FIND,
	S_GUEST_INS,
	S_GUEST_STATUS,
	S_LANE_FIND,
	S_LANE_INS,
	S_LANE_GET,
	S_TYPE_FIND,
	S_TYPE_GET,
	S_TYPE_INS,
	S_FIELD_INS,
	S_VIEW_FIND,
	S_VIEW_NAME,
	S_VIEW_INS,
	S_LOST_INS,
	S_CRASH_INS,
	S_CRASH_CORE,
	S_CRASH_BT,
	S_FRAME_DEL,
	S_FRAME_INS,
	S__COUNT
};

static const char *const stmt_sql[S__COUNT] = {
	[S_EV1] = NULL, /* built at run time */
	[S_EVN] = NULL,
	[S_BLOCK] = "INSERT INTO event_blocks(lane, ts_first, ts_last, "
		    "row_first, row_last, count) VALUES (?,?,?,?,?,?)",
	[S_LANE_UPD] = "UPDATE lanes SET last_seq = ?1, "
		       "event_count = event_count + ?2, "
		       "lost_count = lost_count + ?3 WHERE id = ?4",
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
};

/* ---- in-memory state -------------------------------------------------------- */

/* One lane, indexed by lanes.id.  guest == 0: not loaded. */
struct lane_state {
	int64_t guest;
	int64_t last_seq; /* committed; -1 if none */
	/* accumulated in the open transaction */
	bool dirty;
	bool created;     /* row inserted in the open transaction */
	int64_t p_last_seq;
	int64_t p_events, p_lost;
	int64_t p_ts_min, p_ts_max;
};

/* One event type, indexed by event_types.id.  guest == 0: not loaded. */
struct type_state {
	int64_t guest;
	bool created; /* row inserted in the open transaction */
};

/* A buffered event value: scalars by value, STR/BYTES in the arena. */
struct slot_val {
	uint8_t type;
	uint16_t len;
	union {
		int64_t i;
		double f;
		uint32_t off;
	} v;
};

struct slot {
	int64_t ts, seq, dur;
	int64_t type;
	uint8_t nvals;
	struct slot_val vals[UT_MAX_FIELDS];
};

/* The open block: consecutive events of one lane. */
struct block {
	int64_t lane; /* 0: none open */
	int64_t ts_min, ts_max, seq_max;
	int64_t row_first, row_last; /* 0 until the first flush */
	int64_t count;
};

/* The background checkpointer. */
struct ckpt {
	sqlite3 *db; /* its own connection; NULL: none running */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool want, stop;
};

struct ut_store {
	sqlite3 *db;
	struct ckpt ck;
	bool readonly;
	bool in_txn;
	bool failed; /* an add failed: the transaction can only roll back */
	char errmsg[512];
	sqlite3_stmt *stmt[S__COUNT];

	struct lane_state *lanes;
	size_t nlanes; /* array size */
	int64_t *dirty;
	size_t ndirty, cap_dirty;
	int64_t cur_lane;
	struct lane_state *cur;

	struct type_state *types;
	size_t ntypes;

	struct block blk;
	struct slot buf[UT_STORE_BATCH];
	uint32_t nbuf;
	uint32_t arena_used;
	uint8_t arena[UT_STORE_BATCH * UT_MAX_RECORD];
	/* a-columns currently bound non-NULL in each slot of S_EVN, and in
	 * S_EV1: trailing NULLs are bound only when a slot shrinks. */
	uint8_t bound_evn[UT_STORE_BATCH];
	uint8_t bound_ev1;
};

static const char *const kind_names[UT_KIND__COUNT] = {
	[UT_KIND_INSTANT] = "instant",
	[UT_KIND_SPAN_BEGIN] = "span_begin",
	[UT_KIND_SPAN_END] = "span_end",
	[UT_KIND_COUNTER] = "counter",
	[UT_KIND_LOG] = "log",
};

static const char *const ftype_names[UT_T__COUNT] = {
	[UT_T_U8] = "u8",   [UT_T_U16] = "u16", [UT_T_U32] = "u32",
	[UT_T_U64] = "u64", [UT_T_S8] = "s8",   [UT_T_S16] = "s16",
	[UT_T_S32] = "s32", [UT_T_S64] = "s64", [UT_T_F64] = "f64",
	[UT_T_STR] = "str", [UT_T_BYTES] = "bytes",
};

static const char *kind_name(unsigned k)
{
	return k < UT_KIND__COUNT ? kind_names[k] : "unknown";
}

static const char *ftype_name(unsigned t)
{
	return t < UT_T__COUNT && ftype_names[t] ? ftype_names[t] : "unknown";
}

/* ---- errors --------------------------------------------------------------- */

static void __attribute__((format(printf, 2, 3)))
seterr(ut_store_t *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap);
	va_end(ap);
}

/* Record SQLite's message for a failed (what). Returns -1. */
static int dberr(ut_store_t *st, const char *what)
{
	seterr(st, "%s: %s", what, sqlite3_errmsg(st->db));
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
		dberr(st, "preparing the event insert");
		return NULL;
	}
	return s;
}

/* The cached statement (id), prepared on first use, reset. */
static sqlite3_stmt *stmt(ut_store_t *st, int id)
{
	sqlite3_stmt *s = st->stmt[id];

	if (s)
		return s;
	if (id == S_EV1 || id == S_EVN) {
		s = ev_insert_stmt(st, id == S_EV1 ? 1 : UT_STORE_BATCH);
	} else if (sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
				      SQLITE_PREPARE_PERSISTENT, &s,
				      NULL) != SQLITE_OK) {
		dberr(st, "preparing a statement");
		s = NULL;
	}
	st->stmt[id] = s;
	return s;
}

/* Step (s) to completion (no rows expected) and reset it. */
static int step_done(ut_store_t *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		/* reset() reports the real error with the legacy API, but
		 * errmsg holds it already with prepare_v2/v3. */
		return dberr(st, what);
	}
	return 0;
}

static void bind_opt_ts(sqlite3_stmt *s, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

static int64_t now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the checkpointer ---------------------------------------------------------- */

static void *ckpt_main(void *arg)
{
	struct ckpt *ck = arg;

	pthread_mutex_lock(&ck->lock);
	for (;;) {
		while (!ck->want && !ck->stop)
			pthread_cond_wait(&ck->cond, &ck->lock);
		if (ck->stop)
			break;
		ck->want = false;
		pthread_mutex_unlock(&ck->lock);
		/* PASSIVE: copies what it can without blocking the writer or
		 * readers; a failure (busy, I/O) is retried next time. */
		sqlite3_wal_checkpoint_v2(ck->db, "main",
					  SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&ck->lock);
	}
	pthread_mutex_unlock(&ck->lock);
	return NULL;
}

/* sqlite3_wal_hook of the writer: runs after each commit. */
static int ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	ut_store_t *st = arg;

	if (pages >= UT_CKPT_INLINE_PAGES) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
					  NULL, NULL);
	} else if (pages >= UT_CKPT_PAGES) {
		pthread_mutex_lock(&st->ck.lock);
		st->ck.want = true;
		pthread_cond_signal(&st->ck.cond);
		pthread_mutex_unlock(&st->ck.lock);
	}
	return SQLITE_OK;
}

/* Start the checkpointer of (st) on (path).  Without it (failure), SQLite's
 * own inline autocheckpoint stays in place. */
static void ckpt_start(ut_store_t *st, const char *path)
{
	struct ckpt *ck = &st->ck;

	if (sqlite3_open_v2(path, &ck->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(ck->db, 100);
	if (pthread_mutex_init(&ck->lock, NULL))
		goto fail;
	if (pthread_cond_init(&ck->cond, NULL)) {
		pthread_mutex_destroy(&ck->lock);
		goto fail;
	}
	if (pthread_create(&ck->thread, NULL, ckpt_main, ck)) {
		pthread_cond_destroy(&ck->cond);
		pthread_mutex_destroy(&ck->lock);
		goto fail;
	}
	sqlite3_wal_hook(st->db, ckpt_hook, st);
	return;
fail:
	sqlite3_close(ck->db);
	ck->db = NULL;
}

static void ckpt_stop(ut_store_t *st)
{
	struct ckpt *ck = &st->ck;

	if (!ck->db)
		return;
	sqlite3_wal_hook(st->db, NULL, NULL);
	pthread_mutex_lock(&ck->lock);
	ck->stop = true;
	pthread_cond_signal(&ck->cond);
	pthread_mutex_unlock(&ck->lock);
	pthread_join(ck->thread, NULL);
	pthread_cond_destroy(&ck->cond);
	pthread_mutex_destroy(&ck->lock);
	sqlite3_close(ck->db);
	ck->db = NULL;
}

/* ---- open / close ------------------------------------------------------------ */

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Describe a SQLite result code met while reading (path) at open. */
static void open_error(char *err, size_t errlen, const char *path,
		       sqlite3 *db, int rc)
{
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
			 path, sqlite3_errmsg(db), path);
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		snprintf(err, errlen,
			 "%s is locked by another process (%s); try again "
			 "when it is done",
			 path, sqlite3_errmsg(db));
		break;
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		snprintf(err, errlen,
			 "cannot write %s (%s); check the permissions of "
			 "the file and of its directory",
			 path, sqlite3_errmsg(db));
		break;
	default:
		snprintf(err, errlen, "cannot read %s: %s", path,
			 sqlite3_errmsg(db));
		break;
	}
}

/* Check that (db) is a unitrace database of a schema version we read, and
 * touch the pages every command reads so that corruption shows up here. */
static int check_db(sqlite3 *db, const char *path, char *err, size_t errlen)
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
			open_error(err, errlen, path, db, rc);
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
		open_error(err, errlen, path, db, rc);
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
				open_error(err, errlen, path, db, rc);
			return -1;
		}
	}
	return 0;
}

static int create_schema(sqlite3 *db)
{
	char sql[256];
	int rc;

	if ((rc = exec(db, "BEGIN IMMEDIATE")) != SQLITE_OK)
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
			exec(db, "ROLLBACK");
			return SQLITE_OK;
		}
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	if (rc == SQLITE_OK)
		rc = exec(db, schema_sql);
	if (rc == SQLITE_OK) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO meta VALUES ('format', 'unitrace'), "
			 "('schema_version', %d), ('block_span_ns', %lld), "
			 "('block_rows_max', %d), ('created_at', %lld)",
			 UT_SCHEMA_VERSION, (long long)UT_BLOCK_SPAN_NS,
			 UT_BLOCK_ROWS, (long long)now_realtime_ns());
		rc = exec(db, sql);
	}
	if (rc == SQLITE_OK)
		rc = exec(db, "COMMIT");
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(db))
		exec(db, "ROLLBACK");
	return rc;
}

/* Bring a database created by an earlier build of this schema version up
 * to date: additions only (new columns of crashes, crash_frames), which
 * older readers ignore. */
static int upgrade_schema(sqlite3 *db, const char *path, char *err,
			  size_t errlen)
{
	bool have[sizeof(crash_cols) / sizeof(crash_cols[0])] = { false };
	bool frames = false;
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db,
				"SELECT name FROM pragma_table_info('crashes') "
				"UNION ALL SELECT '.frames' FROM sqlite_master "
				"WHERE type = 'table' AND name = 'crash_frames'",
				-1, &s, NULL);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		if ((rc = sqlite3_step(s)) != SQLITE_ROW)
			break;
		const char *c = (const char *)sqlite3_column_text(s, 0);
		for (size_t i = 0; c && i < sizeof(have) / sizeof(have[0]); i++)
			have[i] |= !strcmp(c, crash_cols[i][0]);
		frames |= c && !strcmp(c, ".frames");
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		goto fail;
	bool all = frames;
	for (size_t i = 0; i < sizeof(have) / sizeof(have[0]); i++)
		all &= have[i];
	if (all)
		return 0;
	if ((rc = exec(db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; rc == SQLITE_OK && i < sizeof(have) / sizeof(have[0]);
	     i++) {
		char sql[128];
		if (have[i])
			continue;
		snprintf(sql, sizeof(sql), "ALTER TABLE crashes ADD COLUMN %s %s",
			 crash_cols[i][0], crash_cols[i][1]);
		rc = exec(db, sql);
		/* a concurrent writer may have added it meanwhile */
		if (rc != SQLITE_OK &&
		    strstr(sqlite3_errmsg(db), "duplicate column"))
			rc = SQLITE_OK;
	}
	if (rc == SQLITE_OK)
		rc = exec(db, CRASH_FRAMES_SQL);
	if (rc == SQLITE_OK)
		rc = exec(db, "COMMIT");
	if (rc == SQLITE_OK)
		return 0;
	if (!sqlite3_get_autocommit(db))
		exec(db, "ROLLBACK");
fail:
	open_error(err, errlen, path, db, rc);
	return -1;
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
			snprintf(err, errlen,
				 "%s is not a SQLite database, so not a "
				 "unitrace trace (give the file written by "
				 "'unitrace collect')",
				 path);
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
		sqlite3_close(db);
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
		exec(db, sql);
	}
	if (!readonly) {
		/* Also the first read of the file: reports NOTADB/CORRUPT. */
		rc = exec(db, "PRAGMA journal_mode=WAL");
		if (rc != SQLITE_OK) {
			open_error(err, errlen, path, db, rc);
			goto fail;
		}
		exec(db, "PRAGMA synchronous=NORMAL");
		if (create) {
			rc = create_schema(db);
			if (rc != SQLITE_OK) {
				open_error(err, errlen, path, db, rc);
				goto fail;
			}
		}
	}
	if (check_db(db, path, err, errlen))
		goto fail;
	if (!readonly && upgrade_schema(db, path, err, errlen))
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
	sqlite3_close(db);
	if (!existed)
		unlink(path); /* don't leave a half-made database behind */
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

/* ---- caches -------------------------------------------------------------------- */

static int grow(void **arr, size_t *n, size_t elem, int64_t id)
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

/* Lane state of (lane), loaded from the database if needed, or NULL. */
static struct lane_state *lane_get(ut_store_t *st, int64_t lane)
{
	if (UT_LIKELY(lane > 0 && (size_t)lane < st->nlanes &&
		      st->lanes[lane].guest))
		return &st->lanes[lane];
	if (grow((void **)&st->lanes, &st->nlanes, sizeof(*st->lanes), lane)) {
		seterr(st, "lane id %lld out of range", (long long)lane);
		return NULL;
	}
	sqlite3_stmt *s = stmt(st, S_LANE_GET);
	if (!s)
		return NULL;
	sqlite3_bind_int64(s, 1, lane);
	int rc = sqlite3_step(s);
	struct lane_state *ls = &st->lanes[lane];
	if (rc == SQLITE_ROW) {
		memset(ls, 0, sizeof(*ls));
		ls->guest = sqlite3_column_int64(s, 0);
		ls->last_seq = sqlite3_column_type(s, 1) == SQLITE_NULL
				       ? -1
				       : sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW && ls->guest > 0)
		return ls;
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		seterr(st, "no lane %lld in the database", (long long)lane);
	else
		dberr(st, "reading a lane");
	return NULL;
}

static int mark_dirty(ut_store_t *st, int64_t lane, struct lane_state *ls)
{
	if (ls->dirty)
		return 0;
	if (st->ndirty == st->cap_dirty) {
		size_t n = st->cap_dirty ? st->cap_dirty * 2 : 16;
		int64_t *p = realloc(st->dirty, n * sizeof(*p));
		if (!p) {
			seterr(st, "out of memory");
			st->failed = true;
			return -1;
		}
		st->dirty = p;
		st->cap_dirty = n;
	}
	st->dirty[st->ndirty++] = lane;
	ls->dirty = true;
	ls->p_last_seq = ls->last_seq;
	ls->p_events = ls->p_lost = 0;
	ls->p_ts_min = INT64_MAX;
	ls->p_ts_max = INT64_MIN;
	return 0;
}

/* Guest of stored event type (id), loaded if needed; 0 if unknown. */
static int64_t type_guest(ut_store_t *st, int64_t id)
{
	if (UT_LIKELY(id > 0 && (size_t)id < st->ntypes && st->types[id].guest))
		return st->types[id].guest;
	if (grow((void **)&st->types, &st->ntypes, sizeof(*st->types), id))
		return 0;
	sqlite3_stmt *s = stmt(st, S_TYPE_GET);
	if (!s)
		return 0;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW)
		st->types[id].guest = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return st->types[id].guest;
}

/* ---- the hot path: batches and blocks ---------------------------------------- */

/* Bind buffered slot (sl) at parameter base (p) of (s); (bound) tracks the
 * a-columns bound non-NULL in that slot. */
static inline void bind_slot(ut_store_t *st, sqlite3_stmt *s, int p,
			     int64_t lane, const struct slot *sl,
			     uint8_t *bound)
{
	sqlite3_bind_int64(s, p, sl->ts);
	sqlite3_bind_int64(s, p + 1, lane);
	sqlite3_bind_int64(s, p + 2, sl->type);
	sqlite3_bind_int64(s, p + 3, sl->seq);
	if (sl->dur < 0)
		sqlite3_bind_null(s, p + 4);
	else
		sqlite3_bind_int64(s, p + 4, sl->dur);
	p += 5;
	for (int i = 0; i < sl->nvals; i++) {
		const struct slot_val *v = &sl->vals[i];

		switch (v->type) {
		case UT_T_F64:
			sqlite3_bind_double(s, p + i, v->v.f);
			break;
		case UT_T_STR:
			sqlite3_bind_text(s, p + i,
					  (const char *)st->arena + v->v.off,
					  v->len, SQLITE_STATIC);
			break;
		case UT_T_BYTES:
			sqlite3_bind_blob(s, p + i, st->arena + v->v.off,
					  v->len, SQLITE_STATIC);
			break;
		case 0: /* unknown type: NULL */
			sqlite3_bind_null(s, p + i);
			break;
		default:
			sqlite3_bind_int64(s, p + i, v->v.i);
			break;
		}
	}
	for (int i = sl->nvals; i < *bound; i++)
		sqlite3_bind_null(s, p + i);
	*bound = sl->nvals;
}

/* Insert the buffered events of the open block. */
static int flush_buf(ut_store_t *st)
{
	uint32_t i = 0, n = st->nbuf;
	int64_t lane = st->blk.lane;
	sqlite3_stmt *s;

	if (!n)
		return 0;
	st->nbuf = 0;
	st->arena_used = 0;
	if (n == UT_STORE_BATCH) {
		if (!(s = stmt(st, S_EVN)))
			return -1;
		for (; i < n; i++)
			bind_slot(st, s, (int)i * UT_EV_COLS + 1, lane,
				  &st->buf[i], &st->bound_evn[i]);
		if (step_done(st, s, "storing events"))
			return -1;
	} else {
		if (!(s = stmt(st, S_EV1)))
			return -1;
		for (; i < n; i++) {
			bind_slot(st, s, 1, lane, &st->buf[i], &st->bound_ev1);
			if (step_done(st, s, "storing an event"))
				return -1;
		}
	}
	/* Rowids are max(rowid)+1 and we are the only writer, so the
	 * rows just inserted are contiguous. */
	int64_t last = sqlite3_last_insert_rowid(st->db);
	if (!st->blk.row_first)
		st->blk.row_first = last - (int64_t)n + 1;
	st->blk.row_last = last;
	return 0;
}

/* Flush and write the open block, and fold it into its lane's totals. */
static int close_block(ut_store_t *st)
{
	struct block *b = &st->blk;
	sqlite3_stmt *s;

	if (!b->lane)
		return 0;
	if (flush_buf(st))
		return -1;
	if (!(s = stmt(st, S_BLOCK)))
		return -1;
	sqlite3_bind_int64(s, 1, b->lane);
	sqlite3_bind_int64(s, 2, b->ts_min);
	sqlite3_bind_int64(s, 3, b->ts_max);
	sqlite3_bind_int64(s, 4, b->row_first);
	sqlite3_bind_int64(s, 5, b->row_last);
	sqlite3_bind_int64(s, 6, b->count);
	if (step_done(st, s, "storing an event block"))
		return -1;

	struct lane_state *ls = &st->lanes[b->lane];
	ls->p_events += b->count;
	if (b->ts_min < ls->p_ts_min)
		ls->p_ts_min = b->ts_min;
	if (b->ts_max > ls->p_ts_max)
		ls->p_ts_max = b->ts_max;
	if (b->seq_max > ls->p_last_seq)
		ls->p_last_seq = b->seq_max;
	memset(b, 0, sizeof(*b));
	return 0;
}

static int not_in_txn(ut_store_t *st)
{
	if (!st->in_txn)
		seterr(st, "no transaction open (call ut_store_begin first)");
	/* else: keep the message of the add that failed */
	return -1;
}

int ut_store_event(ut_store_t *st, int64_t lane, const ut_event_t *ev)
{
	struct lane_state *ls;
	struct block *b = &st->blk;

	if (UT_UNLIKELY(!st->in_txn || st->failed))
		return not_in_txn(st);
	if (UT_LIKELY(lane == st->cur_lane)) {
		ls = st->cur;
	} else {
		if (!(ls = lane_get(st, lane)))
			goto fail;
		if (mark_dirty(st, lane, ls))
			return -1;
		st->cur_lane = lane;
		st->cur = ls;
	}
	int64_t type = ev->type ? ev->type->db_id : 0;
	if (UT_UNLIKELY(type_guest(st, type) != ls->guest)) {
		seterr(st, "event type %lld is not a stored type of the "
			   "lane's guest (store it with ut_store_evtype in "
			   "this transaction or a committed one)",
		       (long long)type);
		goto fail;
	}
	if (UT_UNLIKELY(ev->nvals > UT_MAX_FIELDS)) {
		seterr(st, "event with %u fields", ev->nvals);
		goto fail;
	}

	int64_t ts = ev->ts;
	if (b->lane == lane && b->count < UT_BLOCK_ROWS) {
		/* Keep ts_max - ts_min within the span bound. */
		uint64_t lo = (uint64_t)(ts < b->ts_min ? ts : b->ts_min);
		uint64_t hi = (uint64_t)(ts > b->ts_max ? ts : b->ts_max);
		if (UT_UNLIKELY(hi - lo > (uint64_t)UT_BLOCK_SPAN_NS) &&
		    close_block(st))
			goto fail;
	} else if (close_block(st)) {
		goto fail;
	}
	if (!b->lane) {
		b->lane = lane;
		b->ts_min = b->ts_max = ts;
		b->seq_max = (int64_t)ev->seq;
	} else {
		if (ts < b->ts_min)
			b->ts_min = ts;
		if (ts > b->ts_max)
			b->ts_max = ts;
		if ((int64_t)ev->seq > b->seq_max)
			b->seq_max = (int64_t)ev->seq;
	}
	b->count++;

	struct slot *sl = &st->buf[st->nbuf];
	sl->ts = ts;
	sl->seq = (int64_t)ev->seq;
	sl->dur = ev->dur;
	sl->type = type;
	sl->nvals = ev->nvals;
	for (int i = 0; i < ev->nvals; i++) {
		const ut_value_t *v = &ev->vals[i];
		struct slot_val *o = &sl->vals[i];

		o->type = v->type;
		switch (v->type) {
		case UT_T_U8: case UT_T_U16: case UT_T_U32: case UT_T_U64:
			o->v.i = (int64_t)v->v.u; /* U64: bit pattern */
			break;
		case UT_T_S8: case UT_T_S16: case UT_T_S32: case UT_T_S64:
			o->v.i = v->v.s;
			break;
		case UT_T_F64:
			o->v.f = v->v.f;
			break;
		case UT_T_STR:
		case UT_T_BYTES: {
			uint16_t len = v->len;
			if (len > UT_MAX_RECORD ||
			    st->arena_used + len > sizeof(st->arena) ||
			    (len && !v->v.p)) {
				seterr(st, "event field %d: bad length %u", i,
				       len);
				goto fail;
			}
			if (len)
				memcpy(st->arena + st->arena_used, v->v.p, len);
			o->v.off = st->arena_used;
			o->len = len;
			st->arena_used += len;
			break;
		}
		default:
			o->type = 0;
			break;
		}
	}
	if (++st->nbuf == UT_STORE_BATCH && flush_buf(st))
		goto fail;
	return 0;
fail:
	st->failed = true;
	return -1;
}

/* ---- transactions ------------------------------------------------------------------ */

int ut_store_begin(ut_store_t *st)
{
	if (st->in_txn) {
		seterr(st, "a transaction is already open");
		return -1;
	}
	if (st->readonly) {
		seterr(st, "the database is open read-only");
		return -1;
	}
	if (exec(st->db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		seterr(st, "starting a transaction: %s",
		       sqlite3_errmsg(st->db));
		return -1;
	}
	st->in_txn = true;
	st->failed = false;
	st->cur_lane = 0;
	st->cur = NULL;
	return 0;
}

/* Forget everything of the open transaction (after ROLLBACK). */
static void txn_discard(ut_store_t *st)
{
	for (size_t i = 0; i < st->ndirty; i++)
		st->lanes[st->dirty[i]].dirty = false;
	st->ndirty = 0;
	for (size_t i = 0; i < st->nlanes; i++)
		if (st->lanes[i].created)
			memset(&st->lanes[i], 0, sizeof(st->lanes[i]));
	for (size_t i = 0; i < st->ntypes; i++)
		if (st->types[i].created)
			memset(&st->types[i], 0, sizeof(st->types[i]));
	memset(&st->blk, 0, sizeof(st->blk));
	st->nbuf = 0;
	st->arena_used = 0;
	st->in_txn = false;
	st->failed = false;
	st->cur_lane = 0;
	st->cur = NULL;
}

int ut_store_rollback(ut_store_t *st)
{
	int rc = 0;

	if (!st->in_txn)
		return 0;
	if (!sqlite3_get_autocommit(st->db) &&
	    exec(st->db, "ROLLBACK") != SQLITE_OK) {
		seterr(st, "rolling back: %s", sqlite3_errmsg(st->db));
		rc = -1;
	}
	txn_discard(st);
	return rc;
}

/* Write the per-lane and per-guest totals of the open transaction. */
static int write_totals(ut_store_t *st)
{
	for (size_t i = 0; i < st->ndirty; i++) {
		int64_t lane = st->dirty[i];
		struct lane_state *ls = &st->lanes[lane];
		sqlite3_stmt *s;

		if (!ls->p_events && !ls->p_lost &&
		    ls->p_last_seq == ls->last_seq)
			continue;
		if (!(s = stmt(st, S_LANE_UPD)))
			return -1;
		if (ls->p_last_seq < 0)
			sqlite3_bind_null(s, 1);
		else
			sqlite3_bind_int64(s, 1, ls->p_last_seq);
		sqlite3_bind_int64(s, 2, ls->p_events);
		sqlite3_bind_int64(s, 3, ls->p_lost);
		sqlite3_bind_int64(s, 4, lane);
		if (step_done(st, s, "updating a lane"))
			return -1;
		if (!ls->p_events)
			continue;
		if (!(s = stmt(st, S_GUEST_UPD)))
			return -1;
		sqlite3_bind_int64(s, 1, ls->p_ts_min);
		sqlite3_bind_int64(s, 2, ls->p_ts_max);
		sqlite3_bind_int64(s, 3, ls->guest);
		if (step_done(st, s, "updating a guest's time span"))
			return -1;
	}
	return 0;
}

int ut_store_commit(ut_store_t *st)
{
	char keep[sizeof(st->errmsg)];

	if (!st->in_txn) {
		seterr(st, "no transaction open");
		return -1;
	}
	if (st->failed || close_block(st) || write_totals(st))
		goto fail;
	if (exec(st->db, "COMMIT") != SQLITE_OK) {
		seterr(st, "committing: %s", sqlite3_errmsg(st->db));
		goto fail;
	}
	for (size_t i = 0; i < st->ndirty; i++) {
		struct lane_state *ls = &st->lanes[st->dirty[i]];
		ls->last_seq = ls->p_last_seq;
		ls->dirty = false;
	}
	st->ndirty = 0;
	for (size_t i = 0; i < st->nlanes; i++)
		st->lanes[i].created = false;
	for (size_t i = 0; i < st->ntypes; i++)
		st->types[i].created = false;
	st->in_txn = false;
	st->cur_lane = 0;
	st->cur = NULL;
	return 0;
fail:
	/* Keep the first error; ROLLBACK's own failure adds nothing. */
	memcpy(keep, st->errmsg, sizeof(keep));
	ut_store_rollback(st);
	memcpy(st->errmsg, keep, sizeof(keep));
	return -1;
}

/* ---- guests, lanes, types, lost ------------------------------------------------------ */

static int need_txn(ut_store_t *st)
{
	if (UT_UNLIKELY(!st->in_txn || st->failed))
		return not_in_txn(st);
	return 0;
}

int64_t ut_store_guest(ut_store_t *st, const ut_guest_info_t *g)
{
	sqlite3_stmt *s;
	int64_t id = -1;
	int rc;

	if (need_txn(st) || !(s = stmt(st, S_GUEST_FIND)))
		return -1;
	sqlite3_bind_text(s, 1, g->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, g->pid);
	sqlite3_bind_int64(s, 3, g->start_realtime);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return id;
	if (rc != SQLITE_DONE)
		return dberr(st, "looking up a guest");

	char hex[2 * UT_BUILD_ID_MAX + 1];
	uint32_t n = g->build_id_len > UT_BUILD_ID_MAX ? UT_BUILD_ID_MAX
						       : g->build_id_len;
	for (uint32_t i = 0; i < n; i++) {
		hex[2 * i] = "0123456789abcdef"[g->build_id[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[g->build_id[i] & 15];
	}
	hex[2 * n] = 0;
	if (!(s = stmt(st, S_GUEST_INS)))
		return -1;
	sqlite3_bind_text(s, 1, g->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, g->platform, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, g->pid);
	if (n)
		sqlite3_bind_text(s, 4, hex, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 4);
	sqlite3_bind_int64(s, 5, g->nr_rings);
	sqlite3_bind_int64(s, 6, g->abi_version);
	sqlite3_bind_int64(s, 7, g->start_realtime);
	sqlite3_bind_int64(s, 8, g->clock_ns_ref);
	sqlite3_bind_text(s, 9, g->source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 10, now_realtime_ns());
	if (step_done(st, s, "storing a guest"))
		return -1;
	return sqlite3_last_insert_rowid(st->db);
}

int ut_store_guest_status(ut_store_t *st, int64_t guest, const char *status,
			  const char *reason)
{
	static const char *const ok[] = { "running", "exited", "crashed",
					  "corrupt", "rejected", "vanished" };
	sqlite3_stmt *s;
	size_t i;

	if (need_txn(st))
		return -1;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (status && !strcmp(status, ok[i]))
			break;
	if (i == sizeof(ok) / sizeof(ok[0])) {
		seterr(st, "bad guest status '%s'", status ? status : "(null)");
		return -1; /* a caller bug, not a database failure */
	}
	if (!(s = stmt(st, S_GUEST_STATUS)))
		return -1;
	sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
	if (reason)
		sqlite3_bind_text(s, 2, reason, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 2);
	sqlite3_bind_int64(s, 3, guest);
	if (step_done(st, s, "setting a guest's status"))
		return -1;
	if (sqlite3_changes(st->db) != 1) {
		seterr(st, "no guest %lld", (long long)guest);
		return -1;
	}
	return 0;
}

int64_t ut_store_lane(ut_store_t *st, int64_t guest, uint32_t vcpu)
{
	sqlite3_stmt *s;
	int64_t id = -1, last = -1;
	bool created = false;
	int rc;

	if (need_txn(st) || !(s = stmt(st, S_LANE_FIND)))
		return -1;
	sqlite3_bind_int64(s, 1, guest);
	sqlite3_bind_int64(s, 2, vcpu);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 0);
		if (sqlite3_column_type(s, 1) != SQLITE_NULL)
			last = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, "looking up a lane");
	if (rc == SQLITE_DONE) {
		if (!(s = stmt(st, S_LANE_INS)))
			return -1;
		sqlite3_bind_int64(s, 1, guest);
		sqlite3_bind_int64(s, 2, vcpu);
		if (step_done(st, s, "storing a lane"))
			return -1;
		id = sqlite3_last_insert_rowid(st->db);
		created = true;
	}
	if (grow((void **)&st->lanes, &st->nlanes, sizeof(*st->lanes), id)) {
		seterr(st, "lane id %lld out of range", (long long)id);
		st->failed = true;
		return -1;
	}
	struct lane_state *ls = &st->lanes[id];
	if (!ls->guest) {
		memset(ls, 0, sizeof(*ls));
		ls->guest = guest;
		ls->last_seq = last;
		ls->created = created;
	}
	return id;
}

int64_t ut_store_lane_last_seq(ut_store_t *st, int64_t lane)
{
	struct lane_state *ls = lane_get(st, lane);

	if (!ls)
		return -1;
	if (ls->dirty) {
		/* Include the open block, not yet folded into the lane. */
		int64_t v = ls->p_last_seq;
		if (st->blk.lane == lane && st->blk.seq_max > v)
			v = st->blk.seq_max;
		return v;
	}
	return ls->last_seq;
}

int ut_store_lost(ut_store_t *st, int64_t lane, uint64_t seq_first,
		  uint64_t count, int64_t ts_before, int64_t ts_after,
		  int reason)
{
	static const char *const reasons[] = {
		[UT_LOST_GUEST] = "guest",
		[UT_LOST_OVERWRITE] = "overwrite",
		[UT_LOST_CORRUPT] = "corrupt",
	};
	struct lane_state *ls;
	sqlite3_stmt *s;

	if (need_txn(st))
		return -1;
	if (reason < 0 || reason > UT_LOST_CORRUPT) {
		seterr(st, "bad lost-event reason %d", reason);
		return -1;
	}
	if (!(ls = lane_get(st, lane)) || mark_dirty(st, lane, ls))
		goto fail;
	if (count > INT64_MAX)
		count = INT64_MAX;
	if (!(s = stmt(st, S_LOST_INS)))
		goto fail;
	sqlite3_bind_int64(s, 1, lane);
	sqlite3_bind_int64(s, 2, (int64_t)seq_first);
	sqlite3_bind_int64(s, 3, (int64_t)count);
	bind_opt_ts(s, 4, ts_before);
	bind_opt_ts(s, 5, ts_after);
	sqlite3_bind_text(s, 6, reasons[reason], -1, SQLITE_STATIC);
	if (step_done(st, s, "storing lost events"))
		goto fail;
	ls->p_lost += (int64_t)count;
	/* last_seq covers what is accounted for, stored or lost, so that a
	 * restarted collector does not record the same loss twice. */
	if (count) {
		uint64_t end = seq_first + count - 1;
		if (end < seq_first || end > INT64_MAX)
			end = INT64_MAX;
		if ((int64_t)end > ls->p_last_seq)
			ls->p_last_seq = (int64_t)end;
	}
	return 0;
fail:
	st->failed = true;
	return -1;
}

/* Copy (in) to (out) keeping [A-Za-z0-9_], other bytes become '_'. */
static void sanitize(char *out, size_t outlen, const char *in)
{
	size_t n = 0;

	for (; *in && n + 1 < outlen; in++) {
		unsigned char c = (unsigned char)*in;
		bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '_';
		out[n++] = okc ? (char)c : '_';
	}
	out[n] = 0;
}

/* The view column name of each field of (t): sanitized, unique, not one
 * of the fixed columns. */
static void column_names(const ut_evtype_t *t,
			 char cols[UT_MAX_FIELDS][UT_FIELD_NAME_LEN + 8])
{
	static const char *const fixed[] = { "ts",  "guest", "guest_id",
					     "vcpu", "seq",  "dur" };

	for (int i = 0; i < t->nfields && i < (int)UT_MAX_FIELDS; i++) {
		char *c = cols[i];
		sanitize(c, UT_FIELD_NAME_LEN + 1, t->fields[i].name);
		if (!*c || (c[0] >= '0' && c[0] <= '9')) {
			char tmp[UT_FIELD_NAME_LEN + 8];
			snprintf(tmp, sizeof(tmp), "f%d%s%s", i, *c ? "_" : "",
				 c);
			tmp[UT_FIELD_NAME_LEN + 1] = 0;
			memcpy(c, tmp, UT_FIELD_NAME_LEN + 2);
		}
		bool clash = false;
		for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
			clash |= !strcasecmp(c, fixed[k]);
		for (int k = 0; k < i; k++)
			clash |= !strcasecmp(c, cols[k]);
		if (clash) {
			size_t l = strlen(c);
			snprintf(c + l, UT_FIELD_NAME_LEN + 8 - l, "_%d", i);
		}
	}
}

/* Create the ev_<name> view for the first type with (t)'s name and layout;
 * nothing if one exists. */
static int make_view(ut_store_t *st, const ut_evtype_t *t, const char *layout)
{
	char cols[UT_MAX_FIELDS][UT_FIELD_NAME_LEN + 8];
	char view[UT_EVENT_NAME_LEN + 32], base[UT_EVENT_NAME_LEN + 8];
	sqlite3_stmt *s;
	int rc;

	if (!(s = stmt(st, S_VIEW_FIND)))
		return -1;
	sqlite3_bind_text(s, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, kind_name(t->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, layout, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return dberr(st, "looking up an event view");

	/* a span's begin and end share the name: ev_<name> is the end
	 * (with dur), ev_<name>_begin the begin */
	sanitize(base, sizeof(base) - 6, t->name);
	if (t->kind == UT_KIND_SPAN_BEGIN)
		strcat(base, "_begin");
	snprintf(view, sizeof(view), "ev_%s", base);
	if (!(s = stmt(st, S_VIEW_NAME)))
		return -1;
	sqlite3_bind_text(s, 1, view, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		snprintf(view, sizeof(view), "ev_%s_%lld", base,
			 (long long)t->db_id);
	else if (rc != SQLITE_DONE)
		return dberr(st, "looking up an event view");

	column_names(t, cols);
	sqlite3_str *q = sqlite3_str_new(st->db);
	sqlite3_str_appendf(q,
			    "CREATE VIEW \"%w\" AS SELECT e.ts AS ts, "
			    "g.name AS guest, l.guest_id AS guest_id, "
			    "l.vcpu AS vcpu, e.seq AS seq, e.dur AS dur",
			    view);
	for (int i = 0; i < t->nfields; i++)
		sqlite3_str_appendf(q, ", e.a%d AS \"%w\"", i, cols[i]);
	sqlite3_str_appendf(q,
			    " FROM events e LEFT JOIN lanes l ON l.id = e.lane"
			    " LEFT JOIN guests g ON g.id = l.guest_id"
			    " WHERE e.type IN (SELECT id FROM event_types"
			    " WHERE name = %Q AND kind = %Q AND layout = %Q)",
			    t->name, kind_name(t->kind), layout);
	char *sql = sqlite3_str_finish(q);
	if (!sql) {
		seterr(st, "out of memory");
		st->failed = true;
		return -1;
	}
	rc = exec(st->db, sql);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return dberr(st, "creating an event view");
	if (!(s = stmt(st, S_VIEW_INS)))
		return -1;
	sqlite3_bind_text(s, 1, view, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, kind_name(t->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, layout, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, t->db_id);
	return step_done(st, s, "recording an event view");
}

int ut_store_evtype(ut_store_t *st, int64_t guest, ut_evtype_t *t)
{
	char layout[UT_MAX_FIELDS * (UT_FIELD_NAME_LEN + 8) + 1];
	size_t n = 0;
	sqlite3_stmt *s;
	int rc;

	if (need_txn(st))
		return -1;
	if (t->nfields > UT_MAX_FIELDS || t->kind >= UT_KIND__COUNT) {
		seterr(st, "event type %u: bad field count or kind", t->id);
		return -1;
	}
	layout[0] = 0;
	for (int i = 0; i < t->nfields; i++)
		n += (size_t)snprintf(layout + n, sizeof(layout) - n,
				      "%s%s:%s", i ? "," : "",
				      t->fields[i].name,
				      ftype_name(t->fields[i].type));

	if (!(s = stmt(st, S_TYPE_FIND)))
		return -1;
	sqlite3_bind_int64(s, 1, guest);
	sqlite3_bind_int64(s, 2, t->id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *nm = (const char *)sqlite3_column_text(s, 1);
		const char *kd = (const char *)sqlite3_column_text(s, 2);
		const char *ly = (const char *)sqlite3_column_text(s, 3);
		bool same = nm && kd && ly && !strcmp(nm, t->name) &&
			    !strcmp(kd, kind_name(t->kind)) &&
			    !strcmp(ly, layout);
		int64_t id = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		if (!same) {
			seterr(st, "event type %u of guest %lld was stored "
				   "with another name or layout",
			       t->id, (long long)guest);
			return -1;
		}
		t->db_id = id;
		if (grow((void **)&st->types, &st->ntypes,
			 sizeof(*st->types), id) == 0)
			st->types[id].guest = guest;
		return 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return dberr(st, "looking up an event type");

	if (!(s = stmt(st, S_TYPE_INS)))
		return -1;
	sqlite3_bind_int64(s, 1, guest);
	sqlite3_bind_int64(s, 2, t->id);
	sqlite3_bind_text(s, 3, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, kind_name(t->kind), -1, SQLITE_STATIC);
	if (t->category[0])
		sqlite3_bind_text(s, 5, t->category, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 5);
	sqlite3_bind_int64(s, 6, t->nfields);
	sqlite3_bind_text(s, 7, layout, -1, SQLITE_STATIC);
	if (step_done(st, s, "storing an event type"))
		return -1;
	int64_t id = sqlite3_last_insert_rowid(st->db);

	char cols[UT_MAX_FIELDS][UT_FIELD_NAME_LEN + 8];
	column_names(t, cols);
	for (int i = 0; i < t->nfields; i++) {
		const ut_evfield_t *f = &t->fields[i];
		if (!(s = stmt(st, S_FIELD_INS)))
			return -1;
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int(s, 2, i);
		sqlite3_bind_text(s, 3, f->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, ftype_name(f->type), -1,
				  SQLITE_STATIC);
		sqlite3_bind_int(s, 5, f->max_len);
		sqlite3_bind_int(s, 6, (f->flags & UT_FF_HEX) ? 1 : 0);
		sqlite3_bind_text(s, 7, cols[i], -1, SQLITE_STATIC);
		if (step_done(st, s, "storing an event field"))
			return -1;
	}
	t->db_id = id;
	if (make_view(st, t, layout))
		return -1;
	if (grow((void **)&st->types, &st->ntypes, sizeof(*st->types), id)) {
		seterr(st, "event type id %lld out of range", (long long)id);
		st->failed = true;
		return -1;
	}
	st->types[id].guest = guest;
	st->types[id].created = true;
	return 0;
}

/* ---- crashes ---------------------------------------------------------------------- */

static const char *const reg_names[UT_CRASH_NREGS] = {
	[UT_X86_R15] = "r15",	  [UT_X86_R14] = "r14",
	[UT_X86_R13] = "r13",	  [UT_X86_R12] = "r12",
	[UT_X86_RBP] = "rbp",	  [UT_X86_RBX] = "rbx",
	[UT_X86_R11] = "r11",	  [UT_X86_R10] = "r10",
	[UT_X86_R9] = "r9",	  [UT_X86_R8] = "r8",
	[UT_X86_RAX] = "rax",	  [UT_X86_RCX] = "rcx",
	[UT_X86_RDX] = "rdx",	  [UT_X86_RSI] = "rsi",
	[UT_X86_RDI] = "rdi",	  [UT_X86_ORIG_RAX] = "orig_rax",
	[UT_X86_RIP] = "rip",	  [UT_X86_CS] = "cs",
	[UT_X86_EFLAGS] = "eflags", [UT_X86_RSP] = "rsp",
	[UT_X86_SS] = "ss",	  [UT_X86_FS_BASE] = "fs_base",
	[UT_X86_GS_BASE] = "gs_base", [UT_X86_DS] = "ds",
	[UT_X86_ES] = "es",	  [UT_X86_FS] = "fs",
	[UT_X86_GS] = "gs",
};

/* Display order: what one reads first. */
static const uint8_t reg_order[UT_CRASH_NREGS] = {
	UT_X86_RIP, UT_X86_RSP, UT_X86_RBP, UT_X86_EFLAGS, UT_X86_RAX,
	UT_X86_RBX, UT_X86_RCX, UT_X86_RDX, UT_X86_RSI, UT_X86_RDI,
	UT_X86_R8, UT_X86_R9, UT_X86_R10, UT_X86_R11, UT_X86_R12, UT_X86_R13,
	UT_X86_R14, UT_X86_R15, UT_X86_ORIG_RAX, UT_X86_CS, UT_X86_SS,
	UT_X86_DS, UT_X86_ES, UT_X86_FS, UT_X86_GS, UT_X86_FS_BASE,
	UT_X86_GS_BASE,
};

void ut_crash_regs_text(const uint64_t regs[UT_CRASH_NREGS], char *buf,
			size_t len)
{
	size_t n = 0;

	if (!len)
		return;
	buf[0] = 0;
	for (unsigned i = 0; i < UT_CRASH_NREGS && n < len; i++) {
		unsigned r = reg_order[i];
		n += (size_t)snprintf(buf + n, len - n, "%s%s=0x%llx",
				      i ? " " : "", reg_names[r],
				      (unsigned long long)regs[r]);
	}
}

const char *ut_crash_kind_name(uint32_t kind)
{
	switch (kind) {
	case UT_CRASH_SIGNAL:
		return "signal";
	case UT_CRASH_PANIC:
		return "panic";
	case UT_CRASH_TRAP:
		return "trap";
	default:
		return "unknown";
	}
}

int64_t ut_store_crash(ut_store_t *st, int64_t guest,
		       const struct ut_crash_rec *rec, int64_t ts_ns,
		       const char *core_path, const char *elf_path)
{
	char regs[UT_CRASH_NREGS * 32];
	sqlite3_stmt *s;

	if (need_txn(st))
		return -1;
	if (!rec) {
		seterr(st, "no crash record");
		return -1;
	}
	if (!(s = stmt(st, S_CRASH_INS)))
		return -1;
	/* the reason is NUL-padded guest text, maybe not terminated */
	size_t rlen = strnlen(rec->reason, sizeof(rec->reason));
	ut_crash_regs_text(rec->regs, regs, sizeof(regs));
	sqlite3_bind_int64(s, 1, guest);
	bind_opt_ts(s, 2, ts_ns);
	if (rlen)
		sqlite3_bind_text(s, 3, rec->reason, (int)rlen,
				  SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 3);
	sqlite3_bind_int64(s, 4, rec->signo);
	sqlite3_bind_int64(s, 5, (int64_t)rec->fault_addr);
	sqlite3_bind_text(s, 6, regs, -1, SQLITE_TRANSIENT);
	if (core_path)
		sqlite3_bind_text(s, 7, core_path, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 7);
	sqlite3_bind_text(s, 8, ut_crash_kind_name(rec->kind), -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, rec->code);
	if (rec->vcpu == UINT32_MAX)
		sqlite3_bind_null(s, 10);
	else
		sqlite3_bind_int64(s, 10, rec->vcpu);
	sqlite3_bind_int64(s, 11, rec->tid);
	if (elf_path)
		sqlite3_bind_text(s, 12, elf_path, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 12);
	sqlite3_bind_blob(s, 13, rec, sizeof(*rec), SQLITE_TRANSIENT);
	if (step_done(st, s, "storing a crash"))
		return -1;
	return sqlite3_last_insert_rowid(st->db);
}

int ut_store_crash_core(ut_store_t *st, int64_t crash, const char *core_path,
			const char *note)
{
	sqlite3_stmt *s;

	if (need_txn(st) || !(s = stmt(st, S_CRASH_CORE)))
		return -1;
	if (core_path)
		sqlite3_bind_text(s, 1, core_path, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 1);
	if (note)
		sqlite3_bind_text(s, 2, note, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 2);
	sqlite3_bind_int64(s, 3, crash);
	if (step_done(st, s, "updating a crash"))
		return -1;
	if (sqlite3_changes(st->db) != 1) {
		seterr(st, "no crash %lld", (long long)crash);
		return -1;
	}
	return 0;
}

int ut_store_crash_bt(ut_store_t *st, int64_t crash,
		      const struct ut_backtrace *bt, bool primary)
{
	const char *method;
	sqlite3_stmt *s;

	if (need_txn(st))
		return -1;
	if (!bt || bt->n > UT_BT_MAX) {
		seterr(st, "bad backtrace");
		return -1;
	}
	method = ut_bt_method_name(bt->method);
	if (!(s = stmt(st, S_FRAME_DEL)))
		return -1;
	sqlite3_bind_int64(s, 1, crash);
	sqlite3_bind_text(s, 2, method, -1, SQLITE_STATIC);
	if (step_done(st, s, "replacing a backtrace"))
		return -1;
	for (uint32_t i = 0; i < bt->n; i++) {
		const ut_frame_t *f = &bt->f[i];
		if (!(s = stmt(st, S_FRAME_INS)))
			return -1;
		sqlite3_bind_int64(s, 1, crash);
		sqlite3_bind_text(s, 2, method, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, i);
		sqlite3_bind_int64(s, 4, (int64_t)f->pc);
#define BIND_STR(k, v)                                                        \
	do {                                                                  \
		size_t l_ = strnlen((v), sizeof(v));                          \
		if (l_)                                                       \
			sqlite3_bind_text(s, (k), (v), (int)l_,               \
					  SQLITE_TRANSIENT);                  \
		else                                                          \
			sqlite3_bind_null(s, (k));                            \
	} while (0)
		BIND_STR(5, f->function);
		if (f->function[0])
			sqlite3_bind_int64(s, 6, (int64_t)f->offset);
		else
			sqlite3_bind_null(s, 6);
		BIND_STR(7, f->file);
		if (f->file[0])
			sqlite3_bind_int(s, 8, f->line);
		else
			sqlite3_bind_null(s, 8);
		BIND_STR(9, f->module);
#undef BIND_STR
		if (step_done(st, s, "storing a backtrace frame"))
			return -1;
	}
	if (!primary)
		return 0;
	char *text = ut_bt_format(bt);
	if (!text) {
		seterr(st, "out of memory");
		st->failed = true;
		return -1;
	}
	if (!(s = stmt(st, S_CRASH_BT))) {
		free(text);
		return -1;
	}
	sqlite3_bind_text(s, 1, text, -1, free);
	sqlite3_bind_text(s, 2, method, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, crash);
	if (step_done(st, s, "storing a backtrace"))
		return -1;
	if (sqlite3_changes(st->db) != 1) {
		seterr(st, "no crash %lld", (long long)crash);
		return -1;
	}
	return 0;
}
