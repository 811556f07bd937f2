/*
 * store.h: the store, the SQLite database of a trace (collector/store/),
 * as the rest of the collector sees it.
 *
 * Rule: this is the whole contract of the store.  Its internals
 * (struct ut_store, the statement cache, the helpers its files share) are
 * in store_int.h, which only the .c files of collector/store/ include.
 * collector.h includes this header, so code that includes collector.h
 * sees it as before.
 */
#ifndef UT_STORE_H
#define UT_STORE_H

#include "collector.h" /* ut_guest_info_t, ut_evtype_t, ut_event_t... */

/* ---- the SQLite database (store.c, schema.c, append.c, catalog.c,
 * crashes.c) ---------------------------------------------------------- */

typedef struct ut_store ut_store_t;

#define UT_STORE_CREATE 0x1   /* create the file and schema if missing */
#define UT_STORE_READONLY 0x2 /* open an existing unitrace database */

/* Open the database at (path).  Returns NULL with a message in (err) if
 * the file is missing (without CREATE), not SQLite, not a unitrace
 * database, corrupt, or not writable. */
ut_store_t *ut_store_open(const char *path, int flags, char *err,
			  size_t errlen);
void ut_store_close(ut_store_t *st);
/* Last error message of (st). */
const char *ut_store_errmsg(ut_store_t *st);
/* The sqlite3 handle, for read-only commands (list, stats, query). */
struct sqlite3 *ut_store_db(ut_store_t *st);

/* Transactions: every add below must happen between begin and commit.
 * A failed commit rolls back and returns -1: nothing of it is stored. */
int ut_store_begin(ut_store_t *st);
int ut_store_commit(ut_store_t *st);
int ut_store_rollback(ut_store_t *st);

/* Find a guest row with the same identity (name, pid, start_realtime) or
 * insert one.  Returns the guest id (> 0) or -1. */
int64_t ut_store_guest(ut_store_t *st, const ut_guest_info_t *g);
/* Set guests.status ("running", "exited", "crashed", "corrupt",
 * "rejected", "vanished") and a human-readable reason (may be NULL). */
int ut_store_guest_status(ut_store_t *st, int64_t guest, const char *status,
			  const char *reason);
/* Find or create the lane of (guest, vcpu).  Returns lane id or -1. */
int64_t ut_store_lane(ut_store_t *st, int64_t guest, uint32_t vcpu);
/* Highest sequence number stored for (lane), or -1 if none: a restarted
 * collector skips records at or below it. */
int64_t ut_store_lane_last_seq(ut_store_t *st, int64_t lane);
/* Find or store event type (t) of (guest); sets t->db_id.  0, -1 on a
 * store failure, or 1 when (guest) has this type id stored with another
 * name, kind or layout (the guest's fault: the message is in
 * ut_store_errmsg, the transaction stays usable). */
int ut_store_evtype(ut_store_t *st, int64_t guest, ut_evtype_t *t);
/* Append event (ev) on (lane).  0 or -1. */
int ut_store_event(ut_store_t *st, int64_t lane, const ut_event_t *ev);
/* Record lost events seq [seq_first, seq_first + count) on (lane), between
 * timestamps ts_before and ts_after (ns; -1 if unknown).  0 or -1. */
int ut_store_lost(ut_store_t *st, int64_t lane, uint64_t seq_first,
		  uint64_t count, int64_t ts_before, int64_t ts_after,
		  int reason);
/* Crashes.  (rec) is the collector's validated copy of the guest's crash
 * record; (ts_ns) the crash time in guest ns (-1: unknown); (core_path),
 * (elf_path) may be NULL (no core yet, program unknown).  Stores the
 * reason, signal, code, fault address, registers as text and the raw
 * record.  Returns the crash id (> 0) or -1. */
int64_t ut_store_crash(ut_store_t *st, int64_t guest,
		       const struct ut_crash_rec *rec, int64_t ts_ns,
		       const char *core_path, const char *elf_path);
/* Set the core path of (crash) (NULL: none) and a note from the
 * collector, e.g. why there is no core (NULL: none).  0 or -1. */
int ut_store_crash_core(ut_store_t *st, int64_t crash, const char *core_path,
			const char *note);
/* Store the frames of (bt) in crash_frames under its method (replacing
 * an earlier backtrace of that method); if (primary), also its text in
 * crashes.backtrace and the method in crashes.bt_method.  0 or -1. */
struct ut_backtrace; /* backtrace.h */
int ut_store_crash_bt(ut_store_t *st, int64_t crash,
		      const struct ut_backtrace *bt, bool primary);
/* Store the stack of thread (tid), not the crashing one, in crash_threads
 * (replacing an earlier one of that thread).  0 or -1. */
int ut_store_crash_thread(ut_store_t *st, int64_t crash, uint32_t tid,
			  const struct ut_backtrace *bt);
/* The crashed process's command line (NULL or "": unknown) and user id
 * (-1: unknown).  0 or -1. */
int ut_store_crash_proc(ut_store_t *st, int64_t crash, const char *cmdline,
			int64_t uid);
/* (regs) (enum ut_x86_64_reg order) as "rip=0x... rsp=0x... ...". */
void ut_crash_regs_text(const uint64_t regs[UT_CRASH_NREGS], char *buf,
			size_t len);
/* "signal", "panic", "trap" or "unknown" for crash record field kind. */
const char *ut_crash_kind_name(uint32_t kind);
/* Notes on the contract above (store.c):
 *  - After a failed add the transaction can only roll back: later adds and
 *    ut_store_commit return -1 and keep the first message.
 *  - Ids handed out inside a transaction that rolls back (guest, lane,
 *    event type db_id) are void; look them up again in a new one.
 *  - ut_store_lane_last_seq covers events stored and ranges recorded as
 *    lost, including those of the open transaction.
 *  - U64 field values are stored as the int64 with the same bits. */

#endif /* UT_STORE_H */
