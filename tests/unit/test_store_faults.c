/*
 * The store under storage faults: every I/O call SQLite makes and every
 * allocation it asks for fails in turn, while the store is driven as the
 * engine drives it (open/create, then one transaction per cycle: guests,
 * lanes, event types, events, lost ranges, a crash).
 *
 * Two shims, installed before SQLite initializes:
 *  - a VFS registered as the default, wrapping the unix VFS: its Nth file
 *    call (read, write, sync, truncate, size, lock, shm map/lock, open,
 *    delete, access) fails with the SQLite code of that call (a write with
 *    SQLITE_FULL: a full disk);
 *  - SQLite's allocator (SQLITE_CONFIG_MALLOC) wrapping the default one:
 *    its Nth allocation fails.
 * Each runs for N = 1, 2, 3, ... until a run ends without reaching N, in
 * two kinds: persistent (every call from the Nth on fails, as a full disk
 * does) and transient (the Nth only; the engine's cycle is then retried on
 * the same store).  After every fault: the call that met it returns an
 * error with SQLite's reason in the message, the store closes, and the
 * database reopened without faults passes integrity_check and holds
 * exactly the cycles committed before the fault (transient: all of them,
 * each once).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "backtrace.h"
#include "collector.h"
#include "../tap.h"

/* ---- the fault switch ----------------------------------------------------- */

static long f_calls;      /* calls counted since armed */
static long f_at;         /* the call that fails (0: disarmed) */
static int f_persistent;  /* every call from f_at on fails */
static int f_fired;

static int fault_now(void)
{
	long n;

	if (!__atomic_load_n(&f_at, __ATOMIC_RELAXED))
		return 0;
	n = __atomic_add_fetch(&f_calls, 1, __ATOMIC_RELAXED);
	if (n == f_at || (f_persistent && n > f_at)) {
		f_fired = 1;
		return 1;
	}
	return 0;
}

static void fault_arm(long at, int persistent)
{
	f_calls = 0;
	f_fired = 0;
	f_persistent = persistent;
	__atomic_store_n(&f_at, at, __ATOMIC_RELAXED);
}

static void fault_disarm(void)
{
	__atomic_store_n(&f_at, 0, __ATOMIC_RELAXED);
}

/* ---- the VFS shim ----------------------------------------------------------- */

static int shim_io; /* the VFS counts and fails calls (else: the allocator) */
static sqlite3_vfs *real_vfs;
static sqlite3_vfs fault_vfs;

struct ffile {
	sqlite3_file base;
	sqlite3_file *real; /* just after this struct */
};

#define REAL(f) (((struct ffile *)(f))->real)
#define FAIL(code)                         \
	do {                               \
		if (shim_io && fault_now()) \
			return (code);     \
	} while (0)

static int ff_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int ff_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	FAIL(SQLITE_IOERR_READ);
	return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}

static int ff_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	FAIL(SQLITE_FULL);
	return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}

static int ff_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	FAIL(SQLITE_IOERR_TRUNCATE);
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int ff_sync(sqlite3_file *f, int flags)
{
	FAIL(SQLITE_IOERR_FSYNC);
	/* Counted, not done: the test is about a process meeting errors, not
	 * about power loss, and thousands of runs would wait for the disk. */
	(void)f;
	(void)flags;
	return SQLITE_OK;
}

static int ff_size(sqlite3_file *f, sqlite3_int64 *size)
{
	FAIL(SQLITE_IOERR_FSTAT);
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int ff_lock(sqlite3_file *f, int lk)
{
	FAIL(SQLITE_IOERR_LOCK);
	return REAL(f)->pMethods->xLock(REAL(f), lk);
}

static int ff_unlock(sqlite3_file *f, int lk)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), lk);
}

static int ff_reserved(sqlite3_file *f, int *out)
{
	FAIL(SQLITE_IOERR_CHECKRESERVEDLOCK);
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int ff_fcntl(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int ff_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int ff_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int ff_shmmap(sqlite3_file *f, int pg, int sz, int ext,
		     void volatile **pp)
{
	FAIL(SQLITE_IOERR_SHMMAP);
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}

static int ff_shmlock(sqlite3_file *f, int off, int n, int flags)
{
	/* unlocking cannot fail in SQLite's own VFS: only locking here */
	if (flags & SQLITE_SHM_LOCK)
		FAIL(SQLITE_IOERR_SHMLOCK);
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void ff_shmbarrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int ff_shmunmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

/* Version 2: no xFetch (memory-mapped reads would bypass xRead). */
static const sqlite3_io_methods ff_methods = {
	2,	     ff_close,	ff_read,     ff_write,	 ff_truncate,
	ff_sync,     ff_size,	ff_lock,     ff_unlock,	 ff_reserved,
	ff_fcntl,    ff_sector, ff_devchar,  ff_shmmap,	 ff_shmlock,
	ff_shmbarrier, ff_shmunmap, NULL, NULL,
};

static int fv_open(sqlite3_vfs *v, const char *name, sqlite3_file *f,
		   int flags, int *out)
{
	struct ffile *ff = (struct ffile *)f;
	int rc;

	(void)v;
	ff->base.pMethods = NULL;
	FAIL(SQLITE_CANTOPEN);
	ff->real = (sqlite3_file *)(ff + 1);
	rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out);
	if (ff->real->pMethods)
		ff->base.pMethods = &ff_methods;
	return rc;
}

static int fv_delete(sqlite3_vfs *v, const char *name, int sync)
{
	(void)v;
	FAIL(SQLITE_IOERR_DELETE);
	return real_vfs->xDelete(real_vfs, name, sync);
}

static int fv_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	FAIL(SQLITE_IOERR_ACCESS);
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int fv_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static int fv_random(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int fv_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return real_vfs->xSleep(real_vfs, us);
}

static int fv_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return real_vfs->xCurrentTime(real_vfs, out);
}

static int fv_lasterr(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xGetLastError(real_vfs, n, out);
}

static int fv_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static void vfs_install(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	fault_vfs.iVersion = 2;
	fault_vfs.szOsFile = (int)sizeof(struct ffile) + real_vfs->szOsFile;
	fault_vfs.mxPathname = real_vfs->mxPathname;
	fault_vfs.zName = "ut-fault";
	fault_vfs.xOpen = fv_open;
	fault_vfs.xDelete = fv_delete;
	fault_vfs.xAccess = fv_access;
	fault_vfs.xFullPathname = fv_fullpath;
	fault_vfs.xRandomness = fv_random;
	fault_vfs.xSleep = fv_sleep;
	fault_vfs.xCurrentTime = fv_time;
	fault_vfs.xGetLastError = fv_lasterr;
	fault_vfs.xCurrentTimeInt64 = fv_time64;
	/* the default: the store opens with no VFS name */
	sqlite3_vfs_register(&fault_vfs, 1);
}

/* ---- the allocator shim ------------------------------------------------------ */

static sqlite3_mem_methods real_mem;

static void *fm_malloc(int n)
{
	if (!shim_io && fault_now())
		return NULL;
	return real_mem.xMalloc(n);
}

static void *fm_realloc(void *p, int n)
{
	if (!shim_io && fault_now())
		return NULL;
	return real_mem.xRealloc(p, n);
}

static int mem_install(void)
{
	sqlite3_mem_methods m;

	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem) != SQLITE_OK)
		return -1;
	m = real_mem;
	m.xMalloc = fm_malloc;
	m.xRealloc = fm_realloc;
	/* no lookaside: every allocation goes through the shim */
	sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0);
	return sqlite3_config(SQLITE_CONFIG_MALLOC, &m) == SQLITE_OK ? 0 : -1;
}

/* ---- the workload: what the engine stores, cycle by cycle --------------------- */

#define NCYCLES 6
#define NEV 40 /* events per lane per cycle */

static char dir[64], dbpath[128];

static ut_evtype_t t_rx, t_req, t_late;

static void set_field(ut_evfield_t *f, uint8_t type, const char *name)
{
	memset(f, 0, sizeof(*f));
	f->type = type;
	f->max_len = type == UT_T_STR ? 16 : 0;
	snprintf(f->name, sizeof(f->name), "%s", name);
}

static void set_type(ut_evtype_t *t, uint16_t id, uint8_t kind,
		     const char *name, uint8_t nfields)
{
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->kind = kind;
	t->nfields = nfields;
	snprintf(t->name, sizeof(t->name), "%s", name);
}

static void types_init(void)
{
	set_type(&t_rx, 1, UT_KIND_INSTANT, "rx", 2);
	set_field(&t_rx.fields[0], UT_T_U32, "len");
	set_field(&t_rx.fields[1], UT_T_STR, "dev");
	set_type(&t_req, 2, UT_KIND_SPAN_END, "req", 1);
	set_field(&t_req.fields[0], UT_T_S64, "status");
	set_type(&t_late, 1, UT_KIND_INSTANT, "late_tick", 0);
}

static ut_guest_info_t ginfo(const char *name, uint32_t pid)
{
	ut_guest_info_t g;

	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "%s", name);
	snprintf(g.platform, sizeof(g.platform), "hosted");
	g.pid = pid;
	g.nr_rings = 2;
	g.abi_version = UT_ABI_VERSION;
	g.start_realtime = 1700000000000000000LL + pid;
	snprintf(g.source, sizeof(g.source), "/run/unitrace/%s", name);
	return g;
}

/* What the engine keeps between cycles: ids found again in each cycle, as
 * guest_attach does (ids of a rolled-back cycle are void). */
struct run {
	ut_store_t *st;
	int64_t g1, g2, lane[2], lane2;
};

/* Cycle (c) of the workload, inside one transaction.  Lane k of guest 1
 * gets seqs NEV*c .. NEV*c+NEV-1, except in cycle 3 where lane 1's first
 * 5 are recorded lost; guest 2 appears in cycle 2 with its own type and
 * lane; cycle 4 stores a crash of guest 2 with a backtrace. */
static int cycle_body(struct run *r, int c)
{
	static const char dev[] = "eth0";
	ut_store_t *st = r->st;
	ut_guest_info_t gi = ginfo("svc", 7);
	ut_event_t ev;

	if ((r->g1 = ut_store_guest(st, &gi)) < 0)
		return -1;
	if (c == 0 && ut_store_guest_status(st, r->g1, "running", NULL))
		return -1;
	for (int k = 0; k < 2; k++)
		if ((r->lane[k] = ut_store_lane(st, r->g1, (uint32_t)k)) < 0)
			return -1;
	if (ut_store_evtype(st, r->g1, &t_rx) || ut_store_evtype(st, r->g1, &t_req))
		return -1;
	if (c >= 2) {
		gi = ginfo("late", 9);
		if ((r->g2 = ut_store_guest(st, &gi)) < 0 ||
		    (r->lane2 = ut_store_lane(st, r->g2, 0)) < 0 ||
		    ut_store_evtype(st, r->g2, &t_late))
			return -1;
	}
	if (c == 0)
		return 0; /* the catalog only, as an attach cycle */
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < NEV; i++) {
			uint64_t seq = (uint64_t)(NEV * (c - 1) + i);
			if (c == 3 && k == 1 && i < 5)
				continue;
			memset(&ev, 0, sizeof(ev));
			ev.seq = seq;
			ev.ts = 1000 + 10 * (int64_t)seq;
			ev.dur = k ? 7 : -1;
			ev.type = k ? &t_req : &t_rx;
			ev.nvals = k ? 1 : 2;
			if (k) {
				ev.vals[0].type = UT_T_S64;
				ev.vals[0].v.s = -(int64_t)seq;
			} else {
				ev.vals[0].type = UT_T_U32;
				ev.vals[0].v.u = seq;
				ev.vals[1].type = UT_T_STR;
				ev.vals[1].len = 4;
				ev.vals[1].v.p = (const uint8_t *)dev;
			}
			if (ut_store_event(st, r->lane[k], &ev))
				return -1;
		}
	}
	if (c == 3 &&
	    ut_store_lost(st, r->lane[1], (uint64_t)NEV * 2, 5, 1800, 1850,
			  UT_LOST_GUEST))
		return -1;
	if (c >= 2) {
		memset(&ev, 0, sizeof(ev));
		ev.seq = (uint64_t)(c - 2);
		ev.ts = 5000 + c;
		ev.dur = -1;
		ev.type = &t_late;
		if (ut_store_event(st, r->lane2, &ev))
			return -1;
	}
	if (c == 4) {
		struct ut_crash_rec rec;
		ut_backtrace_t bt;
		memset(&rec, 0, sizeof(rec));
		rec.kind = UT_CRASH_SIGNAL;
		rec.signo = 11;
		rec.vcpu = 0;
		snprintf(rec.reason, sizeof(rec.reason), "SIGSEGV");
		int64_t cid = ut_store_crash(st, r->g2, &rec, 5100, NULL, NULL);
		if (cid < 0)
			return -1;
		ut_bt_init(&bt, UT_BT_FP);
		ut_bt_add(&bt, 0x401000);
		ut_bt_add(&bt, 0x401234);
		snprintf(bt.f[0].function, sizeof(bt.f[0].function), "main");
		if (ut_store_crash_bt(st, cid, &bt, true) ||
		    ut_store_crash_core(st, cid, NULL, "no core in this test") ||
		    ut_store_guest_status(st, r->g2, "crashed", "SIGSEGV"))
			return -1;
	}
	return 0;
}

/* One engine cycle: begin, the body, commit; -1 (rolled back) on error. */
static int cycle(struct run *r, int c)
{
	if (ut_store_begin(r->st))
		return -1;
	if (cycle_body(r, c)) {
		ut_store_rollback(r->st);
		return -1;
	}
	return ut_store_commit(r->st);
}

/* ---- checks on the database reopened without faults ------------------------- */

static long long q1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	long long v = -999;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return v;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Expected totals after cycles 0..k-1 committed. */
static long long want_events(int k)
{
	long long n = 0;

	for (int c = 1; c < k; c++)
		n += 2 * NEV - (c == 3 ? 5 : 0) + (c >= 2 ? 1 : 0);
	return n;
}

/* The database holds exactly cycles 0..k-1 (k = 0: nothing of ours; -1:
 * maybe no file at all).  Returns NULL or what is wrong. */
static const char *check_db(int k, char *why, size_t len)
{
	sqlite3 *db;
	char integ[64] = "";
	sqlite3_stmt *s;

	if (access(dbpath, F_OK) != 0) {
		if (k > 0)
			return "the database is gone";
		return NULL;
	}
	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL)) {
		snprintf(why, len, "reopen: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return why;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		snprintf(integ, sizeof(integ), "%s", sqlite3_column_text(s, 0));
	else
		snprintf(integ, sizeof(integ), "%s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	why[0] = 0;
	if (strcmp(integ, "ok")) {
		snprintf(why, len, "integrity_check: %s", integ);
	} else if (k <= 0) {
		/* a half-made database: no guest of ours may be in it */
		long long g = q1(db, "SELECT count(*) FROM guests");
		if (g > 0)
			snprintf(why, len, "%lld guests before any commit", g);
	} else {
		long long ev = q1(db, "SELECT count(*) FROM events");
		long long dup = q1(db, "SELECT count(*) FROM (SELECT 1 FROM "
				       "events GROUP BY lane, seq HAVING "
				       "count(*) > 1)");
		long long blk = q1(db, "SELECT coalesce(sum(count), 0) FROM "
				       "event_blocks");
		long long lc = q1(db, "SELECT sum(event_count) FROM lanes");
		long long guests = q1(db, "SELECT count(*) FROM guests");
		long long lost = q1(db, "SELECT coalesce(sum(count), 0) "
					"FROM lost");
		long long crashes = q1(db, "SELECT count(*) FROM crashes");
		long long frames = q1(db, "SELECT count(*) FROM crash_frames");
		long long last = q1(db, "SELECT coalesce(max(last_seq), -1) "
					"FROM lanes l JOIN guests g ON "
					"g.id = l.guest_id WHERE g.name = 'svc'");
		long long types = q1(db, "SELECT count(*) FROM event_types");
		long long want_last = k >= 2 ? (long long)NEV * (k - 1) - 1 : -1;
		if (ev != want_events(k) || blk != ev || lc != ev || dup)
			snprintf(why, len,
				 "events %lld (blocks %lld, lanes %lld, %lld "
				 "twice), want %lld",
				 ev, blk, lc, dup, want_events(k));
		else if (guests != (k >= 3 ? 2 : 1) ||
			 types != (k >= 3 ? 3 : 2))
			snprintf(why, len, "%lld guests, %lld types", guests,
				 types);
		else if (lost != (k >= 4 ? 5 : 0))
			snprintf(why, len, "%lld lost", lost);
		else if (crashes != (k >= 5 ? 1 : 0) ||
			 frames != (k >= 5 ? 2 : 0))
			snprintf(why, len, "%lld crashes, %lld frames",
				 crashes, frames);
		else if (last != want_last)
			snprintf(why, len, "last_seq %lld, want %lld", last,
				 want_last);
	}
	sqlite3_close(db);
	return why[0] ? why : NULL;
}

static void rm_db(void)
{
	char p[160];

	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
}

/* ---- one mode: N = 1, 2, 3... ------------------------------------------------------ */

/* A store error message that gives the reason: SQLite's own words for
 * the fault injected. */
static int clear_message(const char *m)
{
	static const char *const words[] = {
		"disk I/O error", "database or disk is full", "out of memory",
		"unable to open", "cannot create", "cannot open",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(m, words[i]))
			return 1;
	return 0;
}

struct tally {
	long runs, faults, bad_msg, bad_db, bad_retry, reopen_fail;
	char first_msg[4][300];
	int nmsg;
	char first_bad[3][400];
	int nbad;
};

static void note_bad(struct tally *t, long at, const char *what)
{
	if (t->nbad < 3)
		snprintf(t->first_bad[t->nbad++], sizeof(t->first_bad[0]),
			 "N=%ld: %.300s", at, what);
}

static void note_msg(struct tally *t, long at, const char *m)
{
	if (t->nmsg < 4)
		snprintf(t->first_msg[t->nmsg++], sizeof(t->first_msg[0]),
			 "N=%ld: %.200s", at, m);
}

/* Run the workload with call (at) failing.  Returns 1 if the fault fired. */
/* Run the workload with call (at) failing; with (pre) > 0, cycles
 * 0..pre-1 are stored first without faults and the faults start with the
 * collector opening that existing trace again.  Returns 1 if the fault
 * fired. */
static int run_once(long at, int persistent, int pre, struct tally *t)
{
	char err[512], why[400];
	struct run r;
	int committed = pre ? pre : -1; /* cycles committed: -1 before the create */
	int fired_msg_ok = 1;
	const char *bad;

	memset(&r, 0, sizeof(r));
	rm_db();
	if (pre) {
		/* stored by a collector that is then killed: a child that
		 * SIGKILLs itself, its WAL and -shm left behind */
		pid_t pid = fork();
		if (pid == 0) {
			r.st = ut_store_open(dbpath, UT_STORE_CREATE, err,
					     sizeof(err));
			for (int c = 0; r.st && c < pre; c++)
				if (cycle(&r, c))
					_exit(1);
			if (r.st)
				kill(getpid(), SIGKILL);
			_exit(1);
		}
		int ws = -1;
		if (pid < 0 || waitpid(pid, &ws, 0) != pid ||
		    !WIFSIGNALED(ws) || WTERMSIG(ws) != SIGKILL) {
			t->bad_db++;
			note_bad(t, at, "could not store the cycles before");
			return 1;
		}
		memset(&r, 0, sizeof(r));
	}
	fault_arm(at, persistent);
	r.st = ut_store_open(dbpath, UT_STORE_CREATE, err, sizeof(err));
	if (!r.st) {
		if (!clear_message(err)) {
			fired_msg_ok = 0;
			note_msg(t, at, err);
		}
		if (!persistent) { /* transient: the engine started again */
			r.st = ut_store_open(dbpath, UT_STORE_CREATE, err,
					     sizeof(err));
			if (!r.st) {
				t->bad_retry++;
				note_bad(t, at, err);
			}
		}
	}
	if (r.st && !pre)
		committed = 0;
	for (int c = pre; r.st && c < NCYCLES; c++) {
		if (cycle(&r, c) == 0) {
			committed = c + 1;
			continue;
		}
		const char *m = ut_store_errmsg(r.st);
		if (!f_fired || !clear_message(m)) {
			fired_msg_ok = 0;
			note_msg(t, at, m);
		}
		if (persistent)
			break;
		if (cycle(&r, c)) { /* transient: the same cycle again */
			t->bad_retry++;
			note_bad(t, at, ut_store_errmsg(r.st));
			break;
		}
		committed = c + 1;
	}
	ut_store_close(r.st);
	int fired = f_fired;
	fault_disarm();
	if (!fired)
		return 0;
	t->faults++;
	if (!fired_msg_ok)
		t->bad_msg++;
	/* a create that failed leaves no file behind */
	if (committed < 0 && persistent) {
		static const char *const ext[] = {"", "-wal", "-shm",
						  "-journal"};
		for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
			char p[160];
			snprintf(p, sizeof(p), "%s%s", dbpath, ext[i]);
			if (access(p, F_OK) == 0) {
				t->bad_db++;
				snprintf(why, sizeof(why), "a failed create "
					 "(%.200s) left %s behind", err, p);
				note_bad(t, at, why);
				return 1;
			}
		}
	}
	if ((bad = check_db(committed, why, sizeof(why)))) {
		t->bad_db++;
		note_bad(t, at, bad);
	}
	/* and the collector can open it again and carry on */
	if (committed >= 0) {
		ut_store_t *st = ut_store_open(dbpath, UT_STORE_CREATE, err,
					       sizeof(err));
		if (!st) {
			t->reopen_fail++;
			note_bad(t, at, err);
		}
		ut_store_close(st);
	}
	return 1;
}

/* Every call in turn, or every UT_FAULT_STRIDE-th.  A run costs a few
 * milliseconds natively, several times that under ASan and fifty times
 * under valgrind (its preload library is in LD_PRELOAD): there, every 5th
 * and 53rd allocation, every 7th I/O call. */
static long stride(int io)
{
	const char *s = getenv("UT_FAULT_STRIDE");
	const char *pre = getenv("LD_PRELOAD");

	if (s && atol(s) > 0)
		return atol(s);
	if (pre && strstr(pre, "vgpreload"))
		return io ? 7 : 53;
#ifdef __SANITIZE_ADDRESS__
	return io ? 1 : 5;
#else
	return 1;
#endif
}

static void run_mode(const char *name, int io, int persistent, int pre)
{
	struct tally t;
	long at, step = stride(io);

	memset(&t, 0, sizeof(t));
	shim_io = io;
	for (at = 1; at < 1000000; at += step) {
		t.runs++;
		if (!run_once(at, persistent, pre, &t))
			break;
	}
	printf("# %s: %ld faults injected, then a run without one\n", name,
	       t.faults);
	ok(t.faults > 3 && at < 1000000, "%s: %ld runs, call 1, %ld, %ld... "
	   "failing in turn, until one completes", name, t.runs, 1 + step,
	   1 + 2 * step);
	is_int(t.bad_msg, 0, "%s: every fault met gives SQLite's reason in "
	       "the store's message", name);
	for (int i = 0; i < t.nmsg; i++)
		printf("#   %s\n", t.first_msg[i]);
	is_int(t.bad_db, 0, "%s: reopened without faults, integrity_check ok "
	       "and exactly the cycles committed", name);
	is_int(t.reopen_fail, 0, "%s: the store opens it again after every "
	       "fault", name);
	if (!persistent)
		is_int(t.bad_retry, 0, "%s: after a transient fault the same "
		       "store commits the cycle again", name);
	for (int i = 0; i < t.nbad; i++)
		printf("#   %s\n", t.first_bad[i]);
}

int main(void)
{
	char cmd[128];

	/* before SQLite initializes */
	if (mem_install()) {
		printf("not ok 1 - cannot install the allocator shim\n");
		return 1;
	}
	if (sqlite3_initialize() != SQLITE_OK) {
		printf("not ok 1 - sqlite3_initialize\n");
		return 1;
	}
	vfs_install();
	types_init();
	/* memory-backed when there is one: thousands of runs */
	snprintf(dir, sizeof(dir), "%s/ut-test-faults-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir)) {
		printf("not ok 1 - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/trace.db", dir);

	/* the workload itself, without faults */
	struct tally t0;
	memset(&t0, 0, sizeof(t0));
	ok(run_once(0, 0, 0, &t0) == 0, "the workload runs without faults");
	char why[400];
	const char *bad = check_db(NCYCLES, why, sizeof(why));
	ok(!bad, "and stores every cycle (%lld events): %s",
	   want_events(NCYCLES), bad ? bad : "ok");

	run_mode("I/O, persistent (a full disk)", 1, 1, 0);
	run_mode("I/O, transient", 1, 0, 0);
	run_mode("out of memory, persistent", 0, 1, 0);
	run_mode("out of memory, transient", 0, 0, 0);
	/* a collector restarted after a SIGKILL: faults from the open of a
	 * trace with 3 cycles committed in a WAL never checkpointed */
	run_mode("reopen, I/O, persistent", 1, 1, 3);
	run_mode("reopen, I/O, transient", 1, 0, 3);
	run_mode("reopen, out of memory, persistent", 0, 1, 3);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
