/*
 * The SQLite store and the read-only commands (list, stats, query).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "collector.h"
#include "../tap.h"

extern const struct ut_cmd ut_cmd_list, ut_cmd_stats, ut_cmd_query;

/* main.c is not part of the collector library: the commands' error
 * printer, as main.c has it. */

static char dir[64];
static char dbpath[128];

static char *path_in(const char *name)
{
	static char buf[4][160];
	static int k;
	char *p = buf[k++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

/* One integer from (sql), or LLONG_MIN on error. */
static long long q1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	long long v = (-9223372036854775807LL - 1);

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		printf("# %s: %s\n", sql, sqlite3_errmsg(db));
		return v;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	else
		printf("# %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return v;
}

static long long qf(sqlite3 *db, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return q1(db, sql);
}

/* Text of the first column of the first row of (sql) into (out). */
static void qtext(sqlite3 *db, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *s;

	out[0] = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		printf("# %s: %s\n", sql, sqlite3_errmsg(db));
		return;
	}
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(out, len, "%s", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
}

/* Run command (c) with (args), stdout and stderr captured. */
static char cap_out[65536], cap_err[8192];

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	buf[n] = 0;
	if (f)
		fclose(f);
}

static int run_cmd(const struct ut_cmd *c, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)c->name;
	va_start(ap, c);
	for (char *a; argc < 15 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;

	char outp[160], errp[160];
	snprintf(outp, sizeof(outp), "%s/out.txt", dir);
	snprintf(errp, sizeof(errp), "%s/err.txt", dir);
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	dup2(fe, 2);
	int rc = c->run(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(fo);
	close(fe);
	slurp(outp, cap_out, sizeof(cap_out));
	slurp(errp, cap_err, sizeof(cap_err));
	/* one line, for test point names */
	for (char *p = cap_err; *p; p++)
		if (*p == '\n')
			*p = *(p + 1) ? ' ' : 0;
	return rc;
}

/* Print captured output as TAP comments. */
static void show(const char *s)
{
	while (*s) {
		const char *e = strchr(s, '\n');
		int n = e ? (int)(e - s) : (int)strlen(s);
		printf("# %.*s\n", n, s);
		s += n + (e != NULL);
	}
}

static void set_field(ut_evfield_t *f, uint8_t type, const char *name)
{
	memset(f, 0, sizeof(*f));
	f->type = type;
	f->max_len = type == UT_T_STR || type == UT_T_BYTES ? 32 : 0;
	snprintf(f->name, sizeof(f->name), "%s", name);
}

static void set_type(ut_evtype_t *t, uint16_t id, uint8_t kind,
		     const char *name)
{
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->kind = kind;
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->category, sizeof(t->category), "test");
}

static ut_guest_info_t guest_info(const char *name, uint32_t pid)
{
	ut_guest_info_t g;

	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "%s", name);
	snprintf(g.platform, sizeof(g.platform), "hosted");
	g.pid = pid;
	g.build_id[0] = 0xab;
	g.build_id[1] = 0x01;
	g.build_id_len = 2;
	g.nr_rings = 2;
	g.abi_version = UT_ABI_VERSION;
	g.start_realtime = 1700000000000000000LL;
	g.clock_ns_ref = 5;
	snprintf(g.source, sizeof(g.source), "/run/unitrace/%s", name);
	return g;
}

/* Types of guest 1: net_rx (len u32, proto u8, name str, data bytes),
 * req (span end, status s32, load f64, addr u64), tick (no fields). */
static ut_evtype_t t_net, t_req, t_tick, t_net2, t_net3;

static void ev_net(ut_event_t *ev, uint64_t seq, int64_t ts, uint32_t len)
{
	static const char nm[] = "eth0";
	static const uint8_t data[3] = { 1, 2, 0xff };

	memset(ev, 0, sizeof(*ev));
	ev->seq = seq;
	ev->ts = ts;
	ev->dur = -1;
	ev->type = &t_net;
	ev->nvals = 4;
	ev->vals[0].type = UT_T_U32;
	ev->vals[0].v.u = len;
	ev->vals[1].type = UT_T_U8;
	ev->vals[1].v.u = 6;
	ev->vals[2].type = UT_T_STR;
	ev->vals[2].len = 4;
	ev->vals[2].v.p = (const uint8_t *)nm;
	ev->vals[3].type = UT_T_BYTES;
	ev->vals[3].len = 3;
	ev->vals[3].v.p = data;
}

static void ev_req(ut_event_t *ev, uint64_t seq, int64_t ts, int64_t dur)
{
	memset(ev, 0, sizeof(*ev));
	ev->seq = seq;
	ev->ts = ts;
	ev->dur = dur;
	ev->type = &t_req;
	ev->nvals = 3;
	ev->vals[0].type = UT_T_S32;
	ev->vals[0].v.s = -3;
	ev->vals[1].type = UT_T_F64;
	ev->vals[1].v.f = 0.5;
	ev->vals[2].type = UT_T_U64;
	ev->vals[2].v.u = UINT64_MAX;
}

static int64_t g1, g2, g3, lane0, lane1, lane_g3;

/* Build the reference database.  Lane 0 gets net_rx at ts 1000 + 10 i
 * (i < 1000) in chunks of 100 alternating with lane 1's req/tick. */
static void build_db(void)
{
	char err[512];
	ut_event_t ev;

	ut_store_t *st = ut_store_open(dbpath, 0, err, sizeof(err));
	ok(!st && strstr(err, "does not exist"),
	   "missing file without CREATE fails: %s", err);
	st = ut_store_open(dbpath, UT_STORE_CREATE, err, sizeof(err));
	ok(st != NULL, "create a database: %s", st ? "ok" : err);
	if (!st)
		exit(tap_done());
	char mode[16];
	qtext(ut_store_db(st), "PRAGMA journal_mode", mode, sizeof(mode));
	ok(!strcmp(mode, "wal"), "journal mode is WAL (%s)", mode);
	is_int(ut_store_event(st, 1, &ev), -1, "event outside a transaction");

	ok(!ut_store_begin(st), "begin");
	ut_guest_info_t gi = guest_info("demo", 42);
	g1 = ut_store_guest(st, &gi);
	ok(g1 > 0, "guest stored");
	is_int(ut_store_guest(st, &gi), g1, "same identity, same guest");
	gi = guest_info("other", 43);
	g2 = ut_store_guest(st, &gi);
	gi = guest_info("third", 44);
	g3 = ut_store_guest(st, &gi);
	ok(g2 > g1 && g3 > g2, "two more guests");
	lane0 = ut_store_lane(st, g1, 0);
	lane1 = ut_store_lane(st, g1, 1);
	ok(lane0 > 0 && lane1 > lane0, "lanes");
	is_int(ut_store_lane(st, g1, 1), lane1, "same vcpu, same lane");
	is_int(ut_store_lane_last_seq(st, lane0), -1, "new lane: no last seq");

	set_type(&t_net, 1, UT_KIND_INSTANT, "net_rx");
	t_net.nfields = 4;
	set_field(&t_net.fields[0], UT_T_U32, "len");
	set_field(&t_net.fields[1], UT_T_U8, "proto");
	set_field(&t_net.fields[2], UT_T_STR, "name");
	set_field(&t_net.fields[3], UT_T_BYTES, "data");
	t_net.fields[1].flags = UT_FF_HEX;
	set_type(&t_req, 2, UT_KIND_SPAN_END, "req");
	t_req.nfields = 3;
	set_field(&t_req.fields[0], UT_T_S32, "status");
	set_field(&t_req.fields[1], UT_T_F64, "load");
	set_field(&t_req.fields[2], UT_T_U64, "ts"); /* clashes with ts */
	set_type(&t_tick, 3, UT_KIND_INSTANT, "tick");
	ok(!ut_store_evtype(st, g1, &t_net) && !ut_store_evtype(st, g1, &t_req) &&
		   !ut_store_evtype(st, g1, &t_tick),
	   "event types stored");
	ok(t_net.db_id > 0 && t_req.db_id > 0 && t_tick.db_id > 0, "db ids set");
	ut_evtype_t t_reqb;
	set_type(&t_reqb, 4, UT_KIND_SPAN_BEGIN, "req");
	t_reqb.nfields = 1;
	set_field(&t_reqb.fields[0], UT_T_STR, "path");
	ok(!ut_store_evtype(st, g1, &t_reqb), "span begin of the same name");
	is_int(q1(ut_store_db(st), "SELECT count(path) FROM ev_req_begin"), 0,
	       "has its view ev_req_begin");
	int64_t keep = t_net.db_id;
	t_net.db_id = 0;
	ok(!ut_store_evtype(st, g1, &t_net) && t_net.db_id == keep,
	   "same type again: same id");
	/* guest 2: net_rx with another layout; guest 3: the first layout */
	set_type(&t_net2, 7, UT_KIND_INSTANT, "net_rx");
	t_net2.nfields = 1;
	set_field(&t_net2.fields[0], UT_T_U64, "bytes");
	ok(!ut_store_evtype(st, g2, &t_net2), "other layout stored");
	t_net3 = t_net;
	t_net3.db_id = 0;
	ok(!ut_store_evtype(st, g3, &t_net3) && t_net3.db_id != t_net.db_id,
	   "same layout, third guest");
	ut_evtype_t bad = t_net;
	bad.fields[0].type = UT_T_U16;
	is_int(ut_store_evtype(st, g1, &bad), 1,
	       "changed layout for a stored id is refused as the guest's fault");
	ok(strstr(ut_store_errmsg(st), "another name or layout") != NULL,
	   "with a message: %s", ut_store_errmsg(st));
	ok(!ut_store_commit(st), "commit the small tables");

	/* events */
	ok(!ut_store_begin(st), "begin events");
	int fails = 0;
	uint64_t seq1 = 0;
	for (int chunk = 0; chunk < 10; chunk++) {
		for (int i = chunk * 100; i < chunk * 100 + 100; i++) {
			ev_net(&ev, (uint64_t)i, 1000 + 10 * i, (uint32_t)i);
			fails += ut_store_event(st, lane0, &ev) != 0;
		}
		for (int k = 0; k < 7; k++, seq1++) {
			if (k == 6) {
				memset(&ev, 0, sizeof(ev));
				ev.seq = seq1;
				ev.ts = 1000 + 1000 * chunk + k;
				ev.dur = -1;
				ev.type = &t_tick;
			} else {
				ev_req(&ev, seq1, 1000 + 1000 * chunk + k,
				       100 * (int64_t)(seq1 + 1));
			}
			fails += ut_store_event(st, lane1, &ev) != 0;
		}
	}
	is_int(fails, 0, "1070 events stored");
	is_int(ut_store_lane_last_seq(st, lane1), 69,
	       "last seq seen inside the transaction");
	ok(!ut_store_lost(st, lane0, 1000, 5, 10990, 11100, UT_LOST_OVERWRITE),
	   "lost range stored");
	ok(!ut_store_guest_status(st, g1, "exited", "clean exit"), "status");
	is_int(ut_store_guest_status(st, g1, "sleeping", NULL), -1,
	       "bad status refused");
	/* guest 3 events on its own lane, and a type of guest 1 there */
	lane_g3 = ut_store_lane(st, g3, 0);
	ev_net(&ev, 0, 5000, 7);
	ev.type = &t_net3;
	ok(!ut_store_event(st, lane_g3, &ev), "guest 3 event");
	ok(!ut_store_commit(st), "commit events: %s", ut_store_errmsg(st));

	/* a type of another guest poisons the transaction */
	ok(!ut_store_begin(st), "begin");
	ev_net(&ev, 1, 5001, 7);
	is_int(ut_store_event(st, lane_g3, &ev), -1,
	       "event of another guest's type refused");
	ok(strstr(ut_store_errmsg(st), "not a stored type") != NULL,
	   "message: %s", ut_store_errmsg(st));
	is_int(ut_store_commit(st), -1, "commit after a failed add fails");
	ok(strstr(ut_store_errmsg(st), "not a stored type") != NULL,
	   "and keeps the first message");
	ut_store_close(st);
}

static void check_contents(void)
{
	char err[512], txt[256];
	ut_store_t *st = ut_store_open(dbpath, UT_STORE_READONLY, err,
				       sizeof(err));

	ok(st != NULL, "reopen read-only: %s", st ? "ok" : err);
	if (!st)
		return;
	sqlite3 *db = ut_store_db(st);
	is_int(q1(db, "SELECT count(*) FROM events"), 1071, "events count");
	is_int(qf(db, "SELECT event_count FROM lanes WHERE id=%lld",
		  (long long)lane0),
	       1000, "lane 0 event_count");
	is_int(qf(db, "SELECT lost_count FROM lanes WHERE id=%lld",
		  (long long)lane0),
	       5, "lane 0 lost_count");
	is_int(qf(db, "SELECT last_seq FROM lanes WHERE id=%lld",
		  (long long)lane0),
	       1004, "lane 0 last_seq covers the lost range");
	is_int(qf(db, "SELECT last_seq FROM lanes WHERE id=%lld",
		  (long long)lane1),
	       69, "lane 1 last_seq");
	is_int(qf(db, "SELECT first_ts FROM guests WHERE id=%lld",
		  (long long)g1),
	       1000, "guest first_ts");
	is_int(qf(db, "SELECT last_ts FROM guests WHERE id=%lld",
		  (long long)g1),
	       10990, "guest last_ts");
	qtext(db, "SELECT status || '/' || reason || '/' || build_id FROM "
		  "guests WHERE id = 1",
	      txt, sizeof(txt));
	ok(!strcmp(txt, "exited/clean exit/ab01"), "guest row: %s", txt);
	qtext(db, "SELECT group_concat(name || ':' || type || ':' || hex, ' ')"
		  " FROM (SELECT * FROM event_fields WHERE type_id = 1 "
		  "ORDER BY idx)",
	      txt, sizeof(txt));
	ok(!strcmp(txt, "len:u32:0 proto:u8:1 name:str:0 data:bytes:0"),
	   "event_fields: %s", txt);
	qtext(db, "SELECT kind FROM event_types WHERE name='req' AND "
		  "nfields=3",
	      txt, sizeof(txt));
	ok(!strcmp(txt, "span_end"), "kind as text: %s", txt);
	qtext(db, "SELECT reason FROM lost", txt, sizeof(txt));
	ok(!strcmp(txt, "overwrite"), "lost reason: %s", txt);

	/* values and their types */
	qtext(db, "SELECT typeof(a0)||typeof(a1)||typeof(a2)||typeof(a3)||"
		  "typeof(a4) FROM events WHERE type = 1 LIMIT 1",
	      txt, sizeof(txt));
	ok(!strcmp(txt, "integerintegertextblobnull"), "net_rx types: %s", txt);
	qtext(db, "SELECT a0||' '||a1||' '||a2||' '||dur FROM events WHERE "
		  "type = 2 AND seq = 0",
	      txt, sizeof(txt));
	ok(!strcmp(txt, "-3 0.5 -1 100"),
	   "s32, f64, u64 as int64 bits, dur: %s", txt);
	is_int(q1(db, "SELECT count(*) FROM events WHERE type=3 AND dur IS "
		      "NULL AND a0 IS NULL"),
	       10, "tick: no fields, no dur");

	/* views */
	is_int(q1(db, "SELECT count(*) FROM ev_net_rx WHERE len >= 500"), 500,
	       "ev_net_rx filters on a field");
	is_int(q1(db, "SELECT count(*) FROM ev_net_rx WHERE len < 10"), 11,
	       "both guests of the layout are in the view");
	is_int(q1(db, "SELECT count(*) FROM ev_net_rx WHERE guest='demo' "
		      "AND vcpu=0 AND proto=6 AND name='eth0' AND "
		      "data=x'0102ff'"),
	       1000, "ev_net_rx columns guest, vcpu and fields");
	is_int(q1(db, "SELECT count(*) FROM ev_net_rx WHERE guest='third'"), 1,
	       "third guest, same layout, same view");
	qtext(db, "SELECT view FROM event_views WHERE layout='bytes:u64'", txt,
	      sizeof(txt));
	char want[64];
	snprintf(want, sizeof(want), "ev_net_rx_%lld", (long long)t_net2.db_id);
	ok(!strcmp(txt, want), "other layout gets %s (%s)", want, txt);
	is_int(qf(db, "SELECT count(*) FROM \"%s\" WHERE bytes IS NULL", want),
	       0, "and its view has the column 'bytes'");
	/* req seq 7c+k (k < 6) has dur 100 (seq + 1) */
	is_int(q1(db, "SELECT sum(dur) FROM ev_req"), 210000, "ev_req dur");
	is_int(q1(db, "SELECT count(ts_2) FROM ev_req WHERE status=-3 AND "
		      "load=0.5"),
	       60, "a field named ts becomes ts_<idx>");
	is_int(q1(db, "SELECT count(*) FROM ev_tick"), 10, "ev_tick");

	/* the block index */
	is_int(qf(db, "SELECT count(*) FROM event_blocks WHERE lane=%lld",
		  (long long)lane0),
	       10, "lane 0: one block per run of inserts");
	is_int(q1(db, "SELECT sum(count) FROM event_blocks"), 1071,
	       "blocks cover every event");
	static const char win[] =
		"SELECT count(*) FROM event_blocks b JOIN events e ON e.id "
		"BETWEEN b.row_first AND b.row_last WHERE b.lane = %lld AND "
		"b.ts_first BETWEEN %d - (SELECT value FROM meta WHERE "
		"key='block_span_ns') AND %d AND b.ts_last >= %d AND e.ts "
		"BETWEEN %d AND %d";
	static const int wins[][2] = { { 0, 999 }, { 1000, 1000 },
				       { 1995, 3005 }, { 10990, 20000 },
				       { 5555, 5555 }, { 0, 100000 } };
	int bad = 0;
	for (size_t i = 0; i < sizeof(wins) / sizeof(wins[0]); i++) {
		int lo = wins[i][0], hi = wins[i][1];
		long long a = qf(db, win, (long long)lane0, lo, hi, lo, lo, hi);
		long long b = qf(db,
				 "SELECT count(*) FROM events WHERE lane=%lld "
				 "AND ts BETWEEN %d AND %d",
				 (long long)lane0, lo, hi);
		if (a != b) {
			printf("# window %d..%d: blocks %lld, scan %lld\n", lo,
			       hi, a, b);
			bad++;
		}
	}
	is_int(bad, 0, "time windows through event_blocks match a scan");
	is_int(qf(db, win, (long long)lane0, 1995, 3005, 1995, 1995, 3005),
	       101, "window 1995..3005 holds 101 events");
	ut_store_close(st);
}

static void check_restart_and_rollback(void)
{
	char err[512];
	ut_event_t ev;
	ut_store_t *st = ut_store_open(dbpath, UT_STORE_CREATE, err,
				       sizeof(err));

	ok(st != NULL, "reopen for writing: %s", st ? "ok" : err);
	if (!st)
		return;
	sqlite3 *db = ut_store_db(st);
	ok(!ut_store_begin(st), "begin after restart");
	ut_guest_info_t gi = guest_info("demo", 42);
	is_int(ut_store_guest(st, &gi), g1, "restart finds the guest");
	is_int(ut_store_lane(st, g1, 0), lane0, "and the lane");
	is_int(ut_store_lane_last_seq(st, lane0), 1004,
	       "last_seq after restart");
	is_int(ut_store_lane_last_seq(st, lane1), 69, "lane 1 last_seq");
	t_net.db_id = 0;
	ok(!ut_store_evtype(st, g1, &t_net) && t_net.db_id > 0,
	   "type found again");
	/* the collector skips seq <= last_seq and goes on from 1005 */
	ev_net(&ev, 1005, 11000, 1);
	ok(!ut_store_event(st, lane0, &ev), "event after restart");
	ok(!ut_store_commit(st), "commit");
	is_int(q1(db, "SELECT count(*) FROM events WHERE seq=1005"), 1,
	       "stored once");

	long long before = q1(db, "SELECT count(*) FROM events");
	long long blocks = q1(db, "SELECT count(*) FROM event_blocks");
	ok(!ut_store_begin(st), "begin, to roll back");
	int64_t lane9 = ut_store_lane(st, g1, 9);
	ut_evtype_t t_new;
	set_type(&t_new, 9, UT_KIND_COUNTER, "gone");
	ok(!ut_store_evtype(st, g1, &t_new), "type inside the transaction");
	for (int i = 0; i < 50; i++) {
		ev_net(&ev, 2000 + (uint64_t)i, 20000 + i, 1);
		ut_store_event(st, lane0, &ev);
	}
	ut_store_lost(st, lane0, 3000, 3, -1, -1, UT_LOST_GUEST);
	is_int(ut_store_lane_last_seq(st, lane0), 3002, "pending last_seq");
	ok(!ut_store_rollback(st), "rollback");
	is_int(q1(db, "SELECT count(*) FROM events"), before,
	       "rollback keeps no events");
	is_int(q1(db, "SELECT count(*) FROM event_blocks"), blocks,
	       "nor blocks");
	is_int(q1(db, "SELECT count(*) FROM lost"), 1, "nor lost ranges");
	is_int(q1(db, "SELECT count(*) FROM event_types WHERE name='gone'"), 0,
	       "nor types");
	is_int(q1(db, "SELECT count(*) FROM sqlite_master WHERE name="
		      "'ev_gone'"),
	       0, "nor views");
	is_int(ut_store_lane_last_seq(st, lane0), 1005,
	       "last_seq back to the committed value");
	ok(!ut_store_begin(st), "begin");
	ev_net(&ev, 2000, 20000, 1);
	is_int(ut_store_event(st, lane9, &ev), -1,
	       "a lane of a rolled-back transaction is gone");
	ut_store_rollback(st);

	/* A commit that fails (disk full) keeps what was committed. */
	long long pages = q1(db, "PRAGMA page_count");
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%lld", pages + 1);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	ok(!ut_store_begin(st), "begin, to fill the disk");
	int failed = 0;
	for (int i = 0; i < 20000 && !failed; i++) {
		ev_net(&ev, 4000 + (uint64_t)i, 30000 + i, 1);
		failed = ut_store_event(st, lane0, &ev) != 0;
	}
	int crc = ut_store_commit(st);
	is_int(crc, -1, "commit on a full disk fails");
	ok(strstr(ut_store_errmsg(st), "full") != NULL, "message: %s",
	   ut_store_errmsg(st));
	sqlite3_exec(db, "PRAGMA max_page_count=1073741823", NULL, NULL, NULL);
	is_int(q1(db, "SELECT count(*) FROM events"), before,
	       "committed events intact");
	is_int(q1(db, "SELECT last_seq FROM lanes WHERE id=1"), 1005,
	       "committed last_seq intact");
	ok(!ut_store_begin(st), "the store works on afterwards");
	ev_net(&ev, 1006, 11010, 1);
	ok(!ut_store_event(st, lane0, &ev) && !ut_store_commit(st),
	   "commit after the failure");
	ut_store_close(st);
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

static int copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "r"), *b = fopen(to, "w");
	char buf[65536];
	size_t n;

	if (!a || !b) {
		if (a)
			fclose(a);
		if (b)
			fclose(b);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), a)) > 0)
		fwrite(buf, 1, n, b);
	fclose(a);
	fclose(b);
	return 0;
}

static void check_bad_files(void)
{
	char err[512];
	ut_store_t *st;

	st = ut_store_open(dir, 0, err, sizeof(err));
	ok(!st && strstr(err, "directory"), "a directory: %s", err);
	st = ut_store_open("", 0, err, sizeof(err));
	ok(!st, "empty path: %s", err);
	st = ut_store_open(path_in("no/such/dir/x.db"), UT_STORE_CREATE, err,
			   sizeof(err));
	ok(!st && strstr(err, "cannot create"), "unwritable path: %s", err);

	const char *txt = path_in("notes.txt");
	write_file(txt, "hello, this is text\nnot a database\n", 35);
	st = ut_store_open(txt, 0, err, sizeof(err));
	ok(!st && strstr(err, "not a SQLite database"), "text file: %s", err);
	st = ut_store_open(txt, UT_STORE_CREATE, err, sizeof(err));
	ok(!st && strstr(err, "not a SQLite database"),
	   "text file with CREATE: %s", err);

	const char *empty = path_in("empty.db");
	write_file(empty, "", 0);
	st = ut_store_open(empty, UT_STORE_READONLY, err, sizeof(err));
	ok(!st && strstr(err, "empty"), "empty file: %s", err);

	const char *foreign = path_in("foreign.db");
	sqlite3 *db;
	sqlite3_open(foreign, &db);
	sqlite3_exec(db, "CREATE TABLE songs(title TEXT)", NULL, NULL, NULL);
	sqlite3_close(db);
	st = ut_store_open(foreign, 0, err, sizeof(err));
	ok(!st && strstr(err, "not a unitrace trace"), "foreign SQLite: %s",
	   err);
	st = ut_store_open(foreign, UT_STORE_CREATE, err, sizeof(err));
	ok(!st && strstr(err, "not a unitrace trace"),
	   "foreign SQLite with CREATE: %s", err);
	sqlite3_open(foreign, &db);
	is_int(q1(db, "SELECT count(*) FROM sqlite_master"), 1,
	       "and it is left alone");
	sqlite3_exec(db, "CREATE TABLE meta(key TEXT PRIMARY KEY, value);"
			 "INSERT INTO meta VALUES ('format', 'unitrace'),"
			 "('schema_version', 99)",
		     NULL, NULL, NULL);
	sqlite3_close(db);
	st = ut_store_open(foreign, 0, err, sizeof(err));
	ok(!st && strstr(err, "schema version 99"), "newer schema: %s", err);

	/* Garbage over each page of a real database, one at a time. */
	const char *bad = path_in("bad.db");
	long long pagesize = 0, npages = 0, meta_page = 0;
	sqlite3_open(dbpath, &db);
	pagesize = q1(db, "PRAGMA page_size");
	npages = q1(db, "PRAGMA page_count");
	meta_page = q1(db, "SELECT rootpage FROM sqlite_master WHERE "
			   "name='meta'");
	sqlite3_close(db);
	ok(pagesize > 0 && npages > 3, "%lld pages of %lld bytes", npages,
	   pagesize);
	char *garbage = malloc((size_t)pagesize);
	unsigned seed = 1;
	for (long long i = 0; i < pagesize; i++) {
		seed = seed * 1103515245u + 12345u;
		garbage[i] = (char)(seed >> 16);
	}
	int refused = 0, crashed = 0;
	bool meta_refused = false, hdr_refused = false;
	for (long long p = 1; p <= npages; p++) {
		if (copy_file(dbpath, bad))
			break;
		int fd = open(bad, O_WRONLY);
		/* page 1: keep the 100-byte file header, trash the rest */
		off_t off = (off_t)((p - 1) * pagesize) + (p == 1 ? 100 : 0);
		size_t len = (size_t)pagesize - (p == 1 ? 100 : 0);
		if (pwrite(fd, garbage, len, off) != (ssize_t)len)
			crashed++;
		close(fd);
		for (int mode = 0; mode < 2; mode++) {
			st = ut_store_open(bad, mode ? UT_STORE_CREATE
						     : UT_STORE_READONLY,
					   err, sizeof(err));
			if (!st) {
				refused++;
				if (p == meta_page)
					meta_refused = true;
				if (p == 1)
					hdr_refused = true;
				if (!err[0])
					crashed++;
				continue;
			}
			ut_store_close(st);
			/* Open passed: the commands must fail cleanly or
			 * work, never crash. */
			int a = run_cmd(&ut_cmd_list, "-v", bad, NULL);
			int b = run_cmd(&ut_cmd_stats, bad, NULL);
			int c = run_cmd(&ut_cmd_query, bad,
					"SELECT * FROM ev_net_rx", NULL);
			if (a > 1 || b > 1 || c > 1)
				crashed++;
		}
	}
	free(garbage);
	ok(hdr_refused, "garbage over the schema page is refused");
	ok(meta_refused, "garbage over the meta table is refused");
	ok(refused > 0 && !crashed,
	   "corrupted pages: %d opens refused with a message, no crash",
	   refused);
	st = ut_store_open(bad, 0, err, sizeof(err));
	if (!st)
		printf("# e.g.: %s\n", err);
	ut_store_close(st);
}

static void check_commands(void)
{
	int rc;

	rc = run_cmd(&ut_cmd_list, dbpath, NULL);
	is_int(rc, 0, "list");
	ok(strstr(cap_out, "demo") && strstr(cap_out, "exited") &&
		   strstr(cap_out, "clean exit") &&
		   strstr(cap_out, "0.000001000") &&
		   strstr(cap_out, "0.000011010"),
	   "list shows guest, status, reason and span");
	if (!strstr(cap_out, "demo"))
		show(cap_out);
	rc = run_cmd(&ut_cmd_list, "-v", dbpath, NULL);
	ok(rc == 0 && strstr(cap_out, "LAST_SEQ") && strstr(cap_out, "1006"),
	   "list -v shows lanes");
	is_int(run_cmd(&ut_cmd_list, NULL), 2, "list without DB: usage");
	is_int(run_cmd(&ut_cmd_list, "-x", dbpath, NULL), 2, "unknown option");
	is_int(run_cmd(&ut_cmd_list, dbpath, "extra", NULL), 2, "extra arg");
	rc = run_cmd(&ut_cmd_list, path_in("missing.db"), NULL);
	ok(rc == 1 && strstr(cap_err, "does not exist"), "missing DB: %s",
	   cap_err);
	write_file(path_in("notes.txt"), "just text\n", 10);
	rc = run_cmd(&ut_cmd_list, path_in("notes.txt"), NULL);
	ok(rc == 1 && strstr(cap_err, "not a SQLite"), "text file: %s",
	   cap_err);

	rc = run_cmd(&ut_cmd_stats, dbpath, NULL);
	is_int(rc, 0, "stats");
	ok(strstr(cap_out, "net_rx") && strstr(cap_out, "P99") &&
		   strstr(cap_out, "span_end") && strstr(cap_out, "lost: 5") &&
		   strstr(cap_out, "100 ns") && strstr(cap_out, "6.9 us"),
	   "stats shows types, durations (100 ns .. 6.9 us) and lost");
	if (!strstr(cap_out, "6.9 us"))
		show(cap_out);
	rc = run_cmd(&ut_cmd_stats, "--guest", "demo", dbpath, NULL);
	ok(rc == 0 && !strstr(cap_out, "third"), "stats --guest");
	rc = run_cmd(&ut_cmd_stats, "--guest", "nobody", dbpath, NULL);
	ok(rc == 1 && strstr(cap_err, "no guest named"), "unknown guest: %s",
	   cap_err);
	is_int(run_cmd(&ut_cmd_stats, dbpath, "--guest", NULL), 2,
	       "--guest without a name");

	rc = run_cmd(&ut_cmd_query, dbpath,
		     "SELECT ts, len, name, data FROM ev_net_rx WHERE "
		     "guest='demo' AND len BETWEEN 10 AND 12",
		     NULL);
	ok(rc == 0 && strstr(cap_out, "len") && strstr(cap_out, "eth0") &&
		   strstr(cap_out, "x'0102ff'") && strstr(cap_out, "1120"),
	   "query prints a table");
	rc = run_cmd(&ut_cmd_query, "--csv", dbpath,
		     "SELECT 1 AS a, 'x,y' AS b, NULL AS c", NULL);
	ok(rc == 0 && !strcmp(cap_out, "a,b,c\n1,\"x,y\",\n"), "--csv");
	rc = run_cmd(&ut_cmd_query, "--json", "--", dbpath,
		     "SELECT 1 AS a, 'q\"' AS b, NULL AS c, 0.5 AS d", NULL);
	ok(rc == 0 && !strcmp(cap_out, "[\n {\"a\":1,\"b\":\"q\\\"\",\"c\":"
				       "null,\"d\":0.5}\n]\n"),
	   "--json");
	/* infinities: Inf in the table and CSV, 1e999 (a JSON number read
	 * as infinity) in JSON; a NaN is NULL in SQLite */
	rc = run_cmd(&ut_cmd_query, "--json", dbpath,
		     "SELECT 1e999 AS p, -1e999 AS m, 0.0/0 AS n", NULL);
	ok(rc == 0 && !strcmp(cap_out, "[\n {\"p\":1e999,\"m\":-1e999,"
				       "\"n\":null}\n]\n"),
	   "--json writes infinities as 1e999 and -1e999");
	if (rc || !strstr(cap_out, "1e999"))
		show(cap_out);
	rc = run_cmd(&ut_cmd_query, "--csv", dbpath,
		     "SELECT 1e999 AS p, -1e999 AS m", NULL);
	ok(rc == 0 && !strcmp(cap_out, "p,m\nInf,-Inf\n"),
	   "--csv shows Inf and -Inf");
	rc = run_cmd(&ut_cmd_query, dbpath, "SELECT 1e999 AS p, -1e999 AS m",
		     NULL);
	ok(rc == 0 && strstr(cap_out, "Inf") && strstr(cap_out, "-Inf"),
	   "the table shows Inf and -Inf");
	rc = run_cmd(&ut_cmd_query, dbpath, "SELEC nonsense", NULL);
	ok(rc == 1 && strstr(cap_err, "syntax error"), "bad SQL: %s", cap_err);
	rc = run_cmd(&ut_cmd_query, dbpath, "DELETE FROM events", NULL);
	ok(rc == 1 && strstr(cap_err, "readonly"), "no writes: %s", cap_err);
	is_int(run_cmd(&ut_cmd_query, dbpath, NULL), 2, "query without SQL");
	is_int(run_cmd(&ut_cmd_query, "--xml", dbpath, "SELECT 1", NULL), 2,
	       "unknown format");
	rc = run_cmd(&ut_cmd_query, dbpath, "SELECT char(27) || '[31m'", NULL);
	ok(rc == 0 && !strchr(cap_out, 27) && strstr(cap_out, "\\x1b"),
	   "control characters are escaped");

	/* a guest name is whatever the guest said: stats must not pass a
	 * terminal escape through */
	sqlite3 *db;
	if (sqlite3_open(dbpath, &db) == SQLITE_OK) {
		sqlite3_exec(db, "UPDATE guests SET name = 'evil' || char(27) || "
			     "'[2J' WHERE id = (SELECT min(id) FROM guests)",
			     NULL, NULL, NULL);
		sqlite3_close(db);
	}
	rc = run_cmd(&ut_cmd_stats, dbpath, NULL);
	ok(rc == 0 && !strchr(cap_out, 27) && strstr(cap_out, "evil?[2J"),
	   "stats: a control character in a guest name is printed as '?'");
}

/* f64 NaN and infinities, u64 values near 2^64 and max_len, in a database
 * of their own, with the recipes of docs/schema.md. */
static void check_values(void)
{
	char err[512], txt[256];
	const char *path = path_in("values.db");
	ut_store_t *st = ut_store_open(path, UT_STORE_CREATE, err, sizeof(err));

	ok(st != NULL, "values database: %s", st ? "ok" : err);
	if (!st)
		return;
	ut_guest_info_t gi = guest_info("vals", 50);
	ut_evtype_t t;
	set_type(&t, 2, UT_KIND_INSTANT, "req");
	t.nfields = 3;
	set_field(&t.fields[0], UT_T_F64, "load");
	set_field(&t.fields[1], UT_T_U64, "big");
	set_field(&t.fields[2], UT_T_STR, "name"); /* declared max 32 */
	static const double loads[] = { 0.0 / 0.0, 1.0 / 0.0, -1.0 / 0.0, 1.5 };
	static const uint64_t bigs[] = { UINT64_MAX - 1, UINT64_MAX,
					 UINT64_C(1) << 63, 5 };
	int fails = 0;
	ok(!ut_store_begin(st), "begin");
	int64_t g = ut_store_guest(st, &gi);
	int64_t lane = ut_store_lane(st, g, 0);
	fails += ut_store_evtype(st, g, &t) != 0;
	for (int i = 0; i < 4; i++) {
		ut_event_t ev;
		memset(&ev, 0, sizeof(ev));
		ev.seq = (uint64_t)i;
		ev.ts = 100 + i;
		ev.dur = -1;
		ev.type = &t;
		ev.nvals = 3;
		ev.vals[0].type = UT_T_F64;
		ev.vals[0].v.f = loads[i];
		ev.vals[1].type = UT_T_U64;
		ev.vals[1].v.u = bigs[i];
		ev.vals[2].type = UT_T_STR;
		ev.vals[2].len = 2;
		ev.vals[2].v.p = (const uint8_t *)"ab";
		fails += ut_store_event(st, lane, &ev) != 0;
	}
	ok(!fails && !ut_store_commit(st), "4 events with NaN, +-Inf, u64 "
	   "near 2^64: %s", ut_store_errmsg(st));
	sqlite3 *db = ut_store_db(st);

	/* NaN: NULL, and only there (schema.md, "f64 NaN and infinities") */
	qtext(db, "SELECT group_concat(typeof(load), ' ') FROM "
		  "(SELECT load FROM ev_req ORDER BY seq)", txt, sizeof(txt));
	ok(!strcmp(txt, "null real real real"), "a NaN is stored as NULL, "
	   "infinities as REAL: %s", txt);
	is_int(q1(db, "SELECT count(*) FROM ev_req WHERE load IS NULL"), 1,
	       "the documented NaN count finds the NaN");
	qtext(db, "SELECT group_concat(load, ' ') FROM (SELECT CASE WHEN load "
		  "IS NULL THEN 'NaN' ELSE load END AS load FROM ev_req ORDER "
		  "BY seq)", txt, sizeof(txt));
	ok(!strcmp(txt, "NaN Inf -Inf 1.5"), "the documented NaN recipe: %s",
	   txt);
	int rc = run_cmd(&ut_cmd_query, "--json", path,
			 "SELECT load FROM ev_req ORDER BY seq", NULL);
	ok(rc == 0 && !strcmp(cap_out, "[\n {\"load\":null},\n {\"load\":"
				       "1e999},\n {\"load\":-1e999},\n "
				       "{\"load\":1.5}\n]\n"),
	   "query --json: null, 1e999, -1e999, 1.5");

	/* u64 near 2^64: printf('%u') is exact, the REAL recipe is not */
	qtext(db, "SELECT group_concat(u, ' ') FROM (SELECT printf('%u', big) "
		  "AS u FROM ev_req ORDER BY seq)", txt, sizeof(txt));
	ok(!strcmp(txt, "18446744073709551614 18446744073709551615 "
			"9223372036854775808 5"),
	   "printf('%%u', big) gives the exact u64: %s", txt);
	qtext(db, "SELECT printf('0x%x', big) FROM ev_req WHERE seq = 0", txt,
	      sizeof(txt));
	ok(!strcmp(txt, "0xfffffffffffffffe"), "printf('0x%%x', big): %s",
	   txt);
	is_int(q1(db, "SELECT count(DISTINCT CASE WHEN big < 0 THEN big + "
		      "18446744073709551616.0 ELSE big END) FROM ev_req WHERE "
		      "seq < 2"),
	       1, "the REAL recipe rounds 2^64-2 and 2^64-1 to one value "
		  "(as schema.md says)");
	qtext(db, "SELECT group_concat(seq, ' ') FROM (SELECT seq FROM ev_req "
		  "ORDER BY big < 0, big)", txt, sizeof(txt));
	ok(!strcmp(txt, "3 2 0 1"), "ORDER BY big < 0, big sorts unsigned: %s",
	   txt);

	/* max_len is the declared maximum, not the longest stored value */
	qtext(db, "SELECT f.max_len || ' ' || (SELECT max(length(name)) FROM "
		  "ev_req) FROM event_fields f WHERE f.name = 'name'", txt,
	      sizeof(txt));
	ok(!strcmp(txt, "32 2"), "max_len is the declared 32, not the "
	   "longest stored (2): %s", txt);
	ut_store_close(st);
}

/* D7: two gaps of about 2^63 on one lane, in one transaction and then in
 * another: the lane's lost count saturates at INT64_MAX (no signed overflow,
 * which UBSan traps in check-asan) and is never shown negative. */
static void check_huge_lost(void)
{
	char err[512];
	const char *path = path_in("lost.db");
	ut_store_t *st = ut_store_open(path, UT_STORE_CREATE, err,
				       sizeof(err));

	ok(st != NULL, "huge gaps: open %s", st ? "ok" : err);
	if (!st)
		return;
	sqlite3 *db = ut_store_db(st);
	ok(!ut_store_begin(st), "huge gaps: begin");
	ut_guest_info_t gi = guest_info("gaps", 77);
	int64_t g = ut_store_guest(st, &gi);
	int64_t lane = ut_store_lane(st, g, 0);
	uint64_t big = (1ULL << 63) - 8;
	ok(!ut_store_lost(st, lane, 0, big, -1, -1, UT_LOST_GUEST) &&
		   !ut_store_lost(st, lane, big, big, -1, -1, UT_LOST_GUEST),
	   "two gaps of about 2^63 in one transaction");
	ok(!ut_store_commit(st), "huge gaps: commit");
	is_int(qf(db, "SELECT lost_count FROM lanes WHERE id=%lld",
		  (long long)lane),
	       INT64_MAX, "lost_count saturates at INT64_MAX");
	ok(!ut_store_begin(st) &&
		   !ut_store_lost(st, lane, 0, big, -1, -1, UT_LOST_GUEST) &&
		   !ut_store_commit(st),
	   "a third huge gap in the next transaction");
	is_int(qf(db, "SELECT lost_count FROM lanes WHERE id=%lld",
		  (long long)lane),
	       INT64_MAX, "and it still saturates");
	is_int(qf(db, "SELECT typeof(lost_count) = 'integer' FROM lanes "
		      "WHERE id=%lld", (long long)lane),
	       1, "stored as an integer");
	ut_store_close(st);
	int rc = run_cmd(&ut_cmd_list, "-v", path, NULL);
	int neg = 0;
	for (const char *c = cap_out; *c; c++)
		neg |= c[0] == '-' && c[1] >= '0' && c[1] <= '9';
	ok(rc == 0 && strstr(cap_out, "9223372036854775807") && !neg,
	   "list -v shows the saturated count, nothing negative");
	if (!strstr(cap_out, "9223372036854775807"))
		show(cap_out);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ut-test-store-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("not ok 1 - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/trace.db", dir);

	build_db();
	check_contents();
	check_restart_and_rollback();
	check_commands();
	check_values();
	check_bad_files();
	check_huge_lost();

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
