/*
 * bench_ingest: how fast the store takes events, and what they cost on disk.
 *
 *   build/bench/bench_ingest [-n EVENTS] [-c PER_COMMIT] [-r REPEATS] [-d DIR]
 *                            [-s]
 *
 * Prints figures, never pass/fail.  In one run it measures:
 *  - ut_store_event() throughput into a fresh database: a synthetic mix of
 *    0-4 integer fields and an occasional string, two lanes inserted in
 *    contiguous chunks as the collector drains rings, a commit every
 *    PER_COMMIT events (default 100 000);
 *  - bytes per event on disk (database + WAL after a checkpoint);
 *  - the baseline: a plain rowid table with 6 integer columns, one-row
 *    prepared INSERT, 100 000 rows per transaction (the floor in
 *    perf-floors.md), and the ratio store/baseline;
 *  - the alternative the block index replaces: the same events rows with
 *    an index on (lane, ts);
 *  - a 1 ms time-window query on one lane through event_blocks, against
 *    the same query as a scan of events.
 * With -r the best of REPEATS runs is printed (the host is noisy).  -s runs
 * the store alone (for profiling).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "collector.h"

#define NLANES 2
#define NTYPES 6
#define CHUNK 2048 /* events of one lane inserted contiguously */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_ingest: %s: %s\n", what, msg);
	exit(1);
}

static void rm_db(const char *path)
{
	char p[4200];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static long long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0 : (long long)sb.st_size;
}

/* Database plus WAL, after a checkpoint. */
static long long db_bytes(sqlite3 *db, const char *path)
{
	char p[4200];

	sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	snprintf(p, sizeof(p), "%s-wal", path);
	return file_size(path) + file_size(p);
}

static ut_evtype_t types[NTYPES];

static void make_types(void)
{
	static const char *const names[NTYPES] = {
		"tick", "irq", "net_rx", "blk_io", "sched", "log_msg"
	};
	for (int t = 0; t < NTYPES; t++) {
		ut_evtype_t *ty = &types[t];
		memset(ty, 0, sizeof(*ty));
		ty->id = (uint16_t)(t + 1);
		ty->kind = t == 3 ? UT_KIND_SPAN_END : UT_KIND_INSTANT;
		snprintf(ty->name, sizeof(ty->name), "%s", names[t]);
		ty->nfields = (uint8_t)(t < 5 ? t : 2);
		for (int f = 0; f < ty->nfields; f++) {
			ty->fields[f].type = f % 2 ? UT_T_U64 : UT_T_U32;
			snprintf(ty->fields[f].name, sizeof(ty->fields[f].name),
				 "f%d", f);
		}
		if (t == 5) {
			ty->kind = UT_KIND_LOG;
			ty->fields[0].type = UT_T_U32;
			ty->fields[1].type = UT_T_STR;
			ty->fields[1].max_len = 64;
			snprintf(ty->fields[1].name, sizeof(ty->fields[1].name),
				 "msg");
		}
	}
}

/* Fill (ev) as event number (i) of a lane. */
static void make_event(ut_event_t *ev, uint64_t i, int64_t ts)
{
	static const char msg[] = "request finished with status ok";
	/* Mostly 0-4 integer fields; one in 64 carries a string. */
	int t = (i & 63) == 63 ? 5 : (int)((i * 7) % 5);
	const ut_evtype_t *ty = &types[t];

	ev->seq = i;
	ev->ts_raw = (uint64_t)ts;
	ev->ts = ts;
	ev->dur = ty->kind == UT_KIND_SPAN_END ? (int64_t)(i % 5000) : -1;
	ev->type = ty;
	ev->nvals = ty->nfields;
	for (int f = 0; f < ty->nfields; f++) {
		ut_value_t *v = &ev->vals[f];
		v->type = ty->fields[f].type;
		if (v->type == UT_T_STR) {
			v->len = (uint16_t)(sizeof(msg) - 1 - i % 8);
			v->v.p = (const uint8_t *)msg;
		} else {
			/* lengths, flags, a 64-bit address, ids */
			static const uint64_t mask[4] = {
				0x7ff, 0xffffffffffffffffull, 0xff, 0xfffff
			};
			v->len = 0;
			v->v.u = (i * 2654435761u + (uint64_t)f) & mask[f];
		}
	}
}

struct result {
	double rate;        /* until the last commit returned */
	double rate_closed; /* until the store was closed (WAL folded in) */
	double bytes_per_ev;
	int64_t lane1;
	int64_t ts_lo, ts_hi;
};

/* Store (n) events through ut_store_event into a fresh (path). */
static struct result run_store(const char *path, long n, long per_commit)
{
	char err[512];
	struct result r = { 0 };
	int64_t lanes[NLANES];
	uint64_t seq[NLANES] = { 0 };
	int64_t ts[NLANES];
	ut_event_t ev;

	rm_db(path);
	ut_store_t *st = ut_store_open(path, UT_STORE_CREATE, err, sizeof(err));
	if (!st)
		die("open", err);
	ut_guest_info_t gi;
	memset(&gi, 0, sizeof(gi));
	snprintf(gi.name, sizeof(gi.name), "bench");
	snprintf(gi.platform, sizeof(gi.platform), "hosted");
	gi.pid = 1;
	gi.nr_rings = NLANES;
	gi.abi_version = UT_ABI_VERSION;
	if (ut_store_begin(st))
		die("begin", ut_store_errmsg(st));
	int64_t guest = ut_store_guest(st, &gi);
	if (guest < 0)
		die("guest", ut_store_errmsg(st));
	for (int l = 0; l < NLANES; l++) {
		lanes[l] = ut_store_lane(st, guest, (uint32_t)l);
		ts[l] = 1000000000 + l * 37;
		if (lanes[l] < 0)
			die("lane", ut_store_errmsg(st));
	}
	for (int t = 0; t < NTYPES; t++)
		if (ut_store_evtype(st, guest, &types[t]))
			die("evtype", ut_store_errmsg(st));
	if (ut_store_commit(st))
		die("commit", ut_store_errmsg(st));

	memset(&ev, 0, sizeof(ev));
	double t0 = now();
	long done = 0;
	while (done < n) {
		if (ut_store_begin(st))
			die("begin", ut_store_errmsg(st));
		long end = done + per_commit < n ? done + per_commit : n;
		while (done < end) {
			for (int l = 0; l < NLANES && done < end; l++) {
				long c = end - done < CHUNK ? end - done : CHUNK;
				for (long k = 0; k < c; k++) {
					ts[l] += 500 + (int64_t)(seq[l] % 13);
					make_event(&ev, seq[l]++, ts[l]);
					if (ut_store_event(st, lanes[l], &ev))
						die("event",
						    ut_store_errmsg(st));
				}
				done += c;
			}
		}
		if (ut_store_commit(st))
			die("commit", ut_store_errmsg(st));
	}
	double dt = now() - t0;
	r.rate = (double)n / dt;
	r.lane1 = lanes[1];
	r.ts_lo = 1000000000;
	r.ts_hi = ts[1];
	/* Closing the last connection checkpoints what is left in the WAL
	 * and removes it: the file alone is then the database. */
	ut_store_close(st);
	r.rate_closed = (double)n / (now() - t0);
	r.bytes_per_ev = (double)file_size(path) / (double)n;
	return r;
}

static void exec_or_die(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(sql, sqlite3_errmsg(db));
}

/* The floor: 6 integer columns, one-row INSERT, 100 k rows per commit. */
static double run_baseline(const char *path, long n, double *bpe)
{
	sqlite3 *db;
	sqlite3_stmt *s;

	rm_db(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("baseline open", sqlite3_errmsg(db));
	exec_or_die(db, "PRAGMA journal_mode=WAL");
	exec_or_die(db, "PRAGMA synchronous=NORMAL");
	exec_or_die(db, "CREATE TABLE t(ts INTEGER, cpu INTEGER, type INTEGER,"
			" seq INTEGER, a INTEGER, b INTEGER)");
	if (sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?,?,?,?,?,?)", -1,
			       &s, NULL) != SQLITE_OK)
		die("baseline prepare", sqlite3_errmsg(db));
	double t0 = now();
	int64_t ts = 1000000000;
	exec_or_die(db, "BEGIN");
	for (long i = 0; i < n; i++) {
		ts += 500 + i % 13;
		sqlite3_bind_int64(s, 1, ts);
		sqlite3_bind_int64(s, 2, (i / CHUNK) % NLANES);
		sqlite3_bind_int64(s, 3, 1 + (i * 7) % 5);
		sqlite3_bind_int64(s, 4, i);
		sqlite3_bind_int64(s, 5, (int64_t)(i * 2654435761u) & 0x7ff);
		sqlite3_bind_int64(s, 6, (int64_t)(i * 2654435761u));
		if (sqlite3_step(s) != SQLITE_DONE)
			die("baseline insert", sqlite3_errmsg(db));
		sqlite3_reset(s);
		if ((i + 1) % 100000 == 0) {
			exec_or_die(db, "COMMIT");
			exec_or_die(db, "BEGIN");
		}
	}
	exec_or_die(db, "COMMIT");
	double dt = now() - t0;
	sqlite3_finalize(s);
	*bpe = (double)db_bytes(db, path) / (double)n;
	sqlite3_close(db);
	return (double)n / dt;
}

/* The alternative to event_blocks: index events on (lane, ts).  Same rows
 * (13 columns, 16-row INSERTs) as the store. */
static double run_indexed(const char *path, long n)
{
	enum { K = 16, C = 13 };
	char sql[1024];
	sqlite3 *db;
	sqlite3_stmt *s;
	size_t len;

	rm_db(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("indexed open", sqlite3_errmsg(db));
	exec_or_die(db, "PRAGMA page_size=16384");
	exec_or_die(db, "PRAGMA journal_mode=WAL");
	exec_or_die(db, "PRAGMA synchronous=NORMAL");
	exec_or_die(db, "CREATE TABLE events(id INTEGER PRIMARY KEY, ts, lane,"
			" type, seq, dur, a0, a1, a2, a3, a4, a5, a6, a7)");
	exec_or_die(db, "CREATE INDEX events_lane_ts ON events(lane, ts)");
	len = (size_t)snprintf(sql, sizeof(sql),
			       "INSERT INTO events(ts, lane, type, seq, dur, a0,"
			       " a1, a2, a3, a4, a5, a6, a7) VALUES ");
	for (int r = 0; r < K; r++)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
					"%s(?,?,?,?,?,?,?,?,?,?,?,?,?)",
					r ? "," : "");
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		die("indexed prepare", sqlite3_errmsg(db));
	double t0 = now();
	int64_t ts[NLANES] = { 1000000000, 1000000037 };
	exec_or_die(db, "BEGIN");
	for (long i = 0; i < n; i += K) {
		for (int k = 0; k < K; k++) {
			long j = i + k;
			int lane = (int)((j / CHUNK) % NLANES);
			int nf = (int)((j * 7) % 5);
			int p = k * C + 1;
			ts[lane] += 500 + j % 13;
			sqlite3_bind_int64(s, p, ts[lane]);
			sqlite3_bind_int64(s, p + 1, lane + 1);
			sqlite3_bind_int64(s, p + 2, nf + 1);
			sqlite3_bind_int64(s, p + 3, j);
			for (int f = 0; f < 8; f++) {
				static const uint64_t mask[4] = {
					0x7ff, 0xffffffffffffffffull, 0xff,
					0xfffff
				};
				if (f < nf)
					sqlite3_bind_int64(
						s, p + 5 + f,
						(int64_t)((j * 2654435761u + f) &
							  mask[f]));
				else
					sqlite3_bind_null(s, p + 5 + f);
			}
		}
		if (sqlite3_step(s) != SQLITE_DONE)
			die("indexed insert", sqlite3_errmsg(db));
		sqlite3_reset(s);
		if ((i + K) % 100000 < K) {
			exec_or_die(db, "COMMIT");
			exec_or_die(db, "BEGIN");
		}
	}
	exec_or_die(db, "COMMIT");
	double dt = now() - t0;
	sqlite3_finalize(s);
	sqlite3_close(db);
	return (double)n / dt;
}

/* Mean seconds per 1 ms window query on (lane) with (sql); rows found. */
static double time_window(sqlite3 *db, const char *sql, int64_t lane,
			  int64_t lo, int64_t hi, int iters, long *rows)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		die("window prepare", sqlite3_errmsg(db));
	*rows = 0;
	unsigned seed = 12345;
	double t0 = now();
	for (int i = 0; i < iters; i++) {
		seed = seed * 1103515245u + 12345u;
		int64_t a = lo + (int64_t)((double)(seed >> 8) / (1 << 24) *
					   (double)(hi - lo - 1000000));
		sqlite3_bind_int64(s, 1, lane);
		sqlite3_bind_int64(s, 2, a);
		sqlite3_bind_int64(s, 3, a + 1000000);
		while (sqlite3_step(s) == SQLITE_ROW)
			++*rows;
		sqlite3_reset(s);
	}
	double dt = (now() - t0) / iters;
	sqlite3_finalize(s);
	*rows /= iters;
	return dt;
}

static void usage(void)
{
	fputs("usage: bench_ingest [-n EVENTS] [-c PER_COMMIT] [-r REPEATS] "
	      "[-d DIR] [-s]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	long n = 2000000, per_commit = 100000;
	int repeats = 1;
	bool store_only = false;
	const char *dir = NULL;
	char tmpl[] = "/tmp/unitrace-bench-XXXXXX";
	char path[4096], bpath[4096], ipath[4096];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = atol(argv[++i]);
		else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			per_commit = atol(argv[++i]);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			repeats = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-d") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "-s"))
			store_only = true;
		else
			usage();
	}
	if (n < 100000 || per_commit < 1 || repeats < 1)
		usage();
	if (!dir && !(dir = mkdtemp(tmpl)))
		die("mkdtemp", strerror(errno));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	snprintf(bpath, sizeof(bpath), "%s/baseline.db", dir);
	snprintf(ipath, sizeof(ipath), "%s/indexed.db", dir);
	make_types();

	struct result best = { 0 };
	double base = 0, base_bpe = 0, idx = 0;
	for (int r = 0; r < repeats; r++) {
		double b, bpe, x;
		struct result s = run_store(path, n, per_commit);
		if (s.rate > best.rate)
			best = s;
		if (store_only)
			continue;
		b = run_baseline(bpath, n, &bpe);
		if (b > base) {
			base = b;
			base_bpe = bpe;
		}
		x = run_indexed(ipath, n);
		if (x > idx)
			idx = x;
	}
	printf("sqlite %s, %ld events, commit every %ld, best of %d\n",
	       sqlite3_libversion(), n, per_commit, repeats);
	printf("store (ut_store_event)     %6.3f M events/s  %5.1f bytes/event\n",
	       best.rate / 1e6, best.bytes_per_ev);
	printf("store incl. final close    %6.3f M events/s\n",
	       best.rate_closed / 1e6);
	if (store_only) {
		rm_db(path);
		if (dir == tmpl)
			rmdir(dir);
		return 0;
	}
	printf("baseline (6 int cols)      %6.3f M rows/s    %5.1f bytes/row\n",
	       base / 1e6, base_bpe);
	printf("events + index(lane, ts)   %6.3f M rows/s\n", idx / 1e6);
	printf("ratio store/baseline       %6.2f\n", best.rate / base);
	printf("ratio store/indexed        %6.2f\n", best.rate / idx);

	/* Time-window queries on the store's database. */
	char err[512];
	ut_store_t *st = ut_store_open(path, UT_STORE_READONLY, err,
				       sizeof(err));
	if (!st)
		die("reopen", err);
	sqlite3 *db = ut_store_db(st);
	long rows_b, rows_s;
	double tb = time_window(
		db,
		"SELECT e.ts, e.type, e.a0 FROM event_blocks b "
		"JOIN events e ON e.id BETWEEN b.row_first AND b.row_last "
		"WHERE b.lane = ?1 AND b.ts_first BETWEEN ?2 - 1000000000 "
		"AND ?3 AND b.ts_last >= ?2 AND e.ts BETWEEN ?2 AND ?3",
		best.lane1, best.ts_lo, best.ts_hi, 200, &rows_b);
	double ts_ = time_window(db,
				 "SELECT ts, type, a0 FROM events WHERE "
				 "lane = ?1 AND ts BETWEEN ?2 AND ?3",
				 best.lane1, best.ts_lo, best.ts_hi, 3, &rows_s);
	printf("1 ms window, one lane, via event_blocks: %8.1f us "
	       "(%ld rows)\n",
	       tb * 1e6, rows_b);
	printf("1 ms window, one lane, scan of events:   %8.1f us "
	       "(%ld rows)\n",
	       ts_ * 1e6, rows_s);
	ut_store_close(st);
	rm_db(path);
	rm_db(bpath);
	rm_db(ipath);
	if (dir == tmpl)
		rmdir(dir);
	return 0;
}
