/*
 * store_int.h: what the files of collector/store/ share, and nothing else
 * may see.
 *
 * Rule: only the .c files of collector/store/ include this header.  The
 * rest of the collector knows the store through the ut_store_* functions
 * of store.h (included by collector.h); the struct, the statement cache
 * and the helpers below are the store's own.  Shared helpers are named after their file: store_*
 * (store.c), schema_* (schema.c), ckpt_* (checkpoint.c).
 *
 * The store, one idea per file (the design is in store.c and
 * docs/schema.md):
 *   store.c       open/close, errors, the statement cache, bind helpers
 *   schema.c      the DDL, the open-time checks, the schema migration
 *   checkpoint.c  the WAL checkpointer thread
 *   append.c      the hot path: events, blocks, lost ranges, transactions
 *   catalog.c     guests, lanes, event types and their ev_<name> views
 *   crashes.c     crashes and crash_frames rows
 *   (the read-only commands' text helpers are in collector/cli/text.c)
 *   store.h       the contract: what the rest of the collector calls
 */
#ifndef UT_STORE_INT_H
#define UT_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

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

/* ---- cached statements ---------------------------------------------------- */

/* ev_ views per database at most (catalog.c: past it, a type has none) */
#define UT_STORE_MAX_VIEWS 1024

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
	S_VIEW_COUNT,
	S_VIEW_INS,
	S_LOST_INS,
	S_CRASH_INS,
	S_CRASH_CORE,
	S_CRASH_BT,
	S_FRAME_DEL,
	S_FRAME_INS,
	S_THREAD_DEL,
	S_THREAD_INS,
	S_CRASH_PROC,
	S__COUNT
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

/* ---- store.c: errors, statements, binding ------------------------------- */

/* Set the error message of (st). */
void store_seterr(ut_store_t *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Record SQLite's message for a failed (what). Returns -1. */
int store_dberr(ut_store_t *st, const char *what);
/* The cached statement (id), prepared on first use, reset. */
sqlite3_stmt *store_stmt(ut_store_t *st, int id);
/* Step (s) to completion (no rows expected) and reset it. */
int store_step_done(ut_store_t *st, sqlite3_stmt *s, const char *what);
/* Bind (v), or NULL if negative (an unknown timestamp). */
void store_bind_opt_ts(sqlite3_stmt *s, int i, int64_t v);
int64_t store_now_realtime_ns(void);
int store_exec(sqlite3 *db, const char *sql);
/* Grow the cache array (*arr) of (*n) elements of (elem) bytes to hold
 * index (id); new elements are zero.  -1 if (id) is out of range or on
 * no memory. */
int store_grow(void **arr, size_t *n, size_t elem, int64_t id);
/* "out of memory": the open transaction can only roll back.  Returns -1. */
int store_oom(ut_store_t *st);
/* Bind text (v) (a C string) with (destructor), or NULL if (v) is NULL. */
void store_bind_opt_text(sqlite3_stmt *s, int i, const char *v,
			 sqlite3_destructor_type destructor);
/* After an UPDATE of the row (id) of (what) ("guest", "crash"): 0 if it
 * changed one row, else -1 with "no WHAT ID". */
int store_changed_one(ut_store_t *st, const char *what, int64_t id);
/* The cache slot of lane (id), the array grown to hold it; NULL with
 * "lane id ID out of range" if it cannot be. */
struct lane_state *store_lane_slot(ut_store_t *st, int64_t id);
/* Message for an add called outside a transaction, or after a failed add
 * (keeps that add's message).  Returns -1. */
int store_not_in_txn(ut_store_t *st);

/* 0 if an add may run: a transaction is open and no add failed in it. */
static inline int store_need_txn(ut_store_t *st)
{
	if (UT_UNLIKELY(!st->in_txn || st->failed))
		return store_not_in_txn(st);
	return 0;
}

/* ---- schema.c --------------------------------------------------------------- */

/* Describe a SQLite result code met while reading (path) at open. */
void schema_open_error(char *err, size_t errlen, const char *path,
		       sqlite3 *db, int rc);
/* Check that (db) is a unitrace database of a schema version we read, and
 * touch the pages every command reads so that corruption shows up here. */
int schema_check(sqlite3 *db, const char *path, char *err, size_t errlen);
/* Create the schema in an empty database (nothing if it has tables).
 * Returns a SQLite result code. */
int schema_create(sqlite3 *db);
/* Bring a database created by an earlier build of this schema version up
 * to date.  0, or -1 with a message in (err). */
int schema_upgrade(sqlite3 *db, const char *path, char *err, size_t errlen);

/* ---- checkpoint.c ------------------------------------------------------------ */

/* Start the checkpointer of (st) on (path).  Without it (failure), SQLite's
 * own inline autocheckpoint stays in place. */
void ckpt_start(ut_store_t *st, const char *path);
/* Stop it (nothing if none runs). */
void ckpt_stop(ut_store_t *st);

#endif /* UT_STORE_INT_H */
