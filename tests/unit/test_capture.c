/*
 * The crash capture sequence (collector/crash/crash.c) over a fake source:
 * what it stores for a record that is valid, has no magic, or does not
 * fit the crash region, captured one after the other in one run (D5: the
 * record of an earlier capture was stored again under a later guest).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "collector.h"
#include "crash.h"
#include "port_test.h"
#include "trace.h"
#include "../tap.h"

/* ---- a source with no memory: the sequence stores the row and the note */

static void f_prepare(ut_crash_src_t *s, ut_reader_t *rd,
		      struct ut_crash_rec *rec, bool valid, char *note,
		      size_t notelen)
{
	(void)rd, (void)rec, (void)valid, (void)note, (void)notelen;
	s->elf = NULL;
	snprintf(s->core_name, sizeof(s->core_name), "fake");
}

static int f_open_mem(ut_crash_src_t *s, const struct ut_crash_rec *rec,
		      char *note, size_t notelen)
{
	(void)s, (void)rec;
	ut_note_append(note, notelen, "%s%s", "no memory (test)");
	return -1;
}

static size_t f_core_notes(ut_crash_src_t *s, ut_core_note_t *notes)
{
	(void)s, (void)notes;
	return 0;
}

static struct ut_symtab *f_symtab(ut_crash_src_t *s, char *err, size_t len)
{
	(void)s;
	snprintf(err, len, "none");
	return NULL;
}

static void f_release(ut_crash_src_t *s)
{
	(void)s;
}

static struct ut_crash_rec *area_rec(void)
{
	return (struct ut_crash_rec *)((uint8_t *)ut_test_area +
				       ut_test_area->crash_off);
}

static void write_valid_rec(void)
{
	struct ut_crash_rec *r = area_rec();

	memset(r, 0, sizeof(*r));
	r->version = UT_CRASH_VERSION;
	r->kind = UT_CRASH_SIGNAL;
	r->arch = UT_ARCH_X86_64;
	r->signo = 11;
	r->code = 1;
	r->vcpu = 0;
	r->tid = 4242;
	r->fault_addr = 0xdead0000beefULL;
	r->ts = 100;
	snprintf(r->reason, sizeof(r->reason), "first guest's SIGSEGV");
	for (unsigned i = 0; i < UT_CRASH_NREGS; i++)
		r->regs[i] = 0x1111000000000000ULL + i;
	r->magic = UT_CRASH_MAGIC;
}

/* Two captures back to back from one frame, as the collector's loop makes
 * them: the second one's stack slot for the record is the first one's. */
static void capture_pair(ut_store_t *st, int64_t g1, int64_t g2,
			 ut_reader_t *rd, ut_crash_src_t *src,
			 const ut_crash_opts_t *o, uint32_t second_size,
			 int *rc1, int *rc2)
{
	write_valid_rec();
	*rc1 = ut_crash_capture(st, g1, rd, src, o);
	area_rec()->magic = second_size ? 0 : UT_CRASH_MAGIC;
	rd->hdr.crash_size = second_size ? second_size : 16;
	*rc2 = ut_crash_capture(st, g2, rd, src, o);
	rd->hdr.crash_size = UT_CRASH_REGION_SIZE;
}

static long long q1(sqlite3 *db, const char *fmt, long long a)
{
	char sql[512];
	sqlite3_stmt *s;
	long long v = -12345;

	snprintf(sql, sizeof(sql), fmt, a);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		printf("# %s: %s\n", sql, sqlite3_errmsg(db));
		return v;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int64_t add_guest(ut_store_t *st, const char *name, uint32_t pid)
{
	ut_guest_info_t g;

	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "%s", name);
	snprintf(g.platform, sizeof(g.platform), "hosted");
	g.pid = pid;
	g.nr_rings = 1;
	g.abi_version = UT_ABI_VERSION;
	g.start_realtime = 1700000000000000000LL + pid;
	return ut_store_guest(st, &g);
}

/* The second guest's row: nothing of the first guest's record. */
static void check_second(sqlite3 *db, int64_t first, int64_t second,
			 const char *what)
{
	long long c1 = q1(db, "SELECT id FROM crashes WHERE guest_id=%lld",
			  first);
	long long c2 = q1(db, "SELECT id FROM crashes WHERE guest_id=%lld",
			  second);

	ok(c1 > 0 && c2 > 0, "%s: both crashes stored", what);
	is_int(q1(db, "SELECT signal FROM crashes WHERE id=%lld", c1), 11,
	       "%s: the first has its signal", what);
	is_int(q1(db, "SELECT signal FROM crashes WHERE id=%lld", c2), 0,
	       "%s: the second has no signal", what);
	is_int(q1(db, "SELECT fault_addr FROM crashes WHERE id=%lld", c2), 0,
	       "%s: nor a fault address", what);
	is_int(q1(db, "SELECT coalesce(tid, 0) FROM crashes WHERE id=%lld",
		  c2),
	       0, "%s: nor a thread", what);
	is_int(q1(db, "SELECT instr(registers, '1111') FROM crashes "
		      "WHERE id=%lld", c2),
	       0, "%s: nor the first's registers", what);
	is_int(q1(db, "SELECT reason = 'invalid crash record' FROM crashes "
		      "WHERE id=%lld", c2),
	       1, "%s: reason says the record is invalid", what);
	is_int(q1(db, "SELECT instr(record, x'efbe0000adde') FROM crashes "
		      "WHERE id=%lld", c2),
	       0, "%s: the stored record bytes are not the first's", what);
	is_int(q1(db, "SELECT note LIKE '%%crash record rejected%%' FROM "
		      "crashes WHERE id=%lld", c2),
	       1, "%s: the note says why", what);
}

int main(void)
{
	char dir[] = "/tmp/ut-test-capture-XXXXXX", db_path[64], err[512];

	if (!mkdtemp(dir)) {
		printf("not ok 1 - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(db_path, sizeof(db_path), "%s/trace.db", dir);

	ut_config_t cfg = {.name = "capture-test", .nr_rings = 1,
			   .ring_size = UT_MIN_RING_SIZE};
	is_int(ut_init(&cfg), 0, "ut_init");
	static ut_reader_t rd;
	is_int(ut_reader_attach(&rd, ut_test_area, ut_test_area_bytes), 0,
	       "reader attaches: %s", rd.err);
	ok(rd.hdr.crash_size >= sizeof(struct ut_crash_rec),
	   "crash region holds a record");

	ut_store_t *st = ut_store_open(db_path, UT_STORE_CREATE, err,
				       sizeof(err));
	ok(st != NULL, "store: %s", st ? "ok" : err);
	if (!st)
		return tap_done();
	sqlite3 *db = ut_store_db(st);
	ut_crash_src_t src = {
		.what = "",
		.prepare = f_prepare,
		.open_mem = f_open_mem,
		.core_notes = f_core_notes,
		.symtab = f_symtab,
		.release = f_release,
	};
	ut_crash_opts_t o = {NULL, true, "test"};
	int rc1, rc2;

	ok(!ut_store_begin(st), "begin");
	int64_t g1 = add_guest(st, "first", 101), g2 = add_guest(st, "second", 102);
	int64_t g3 = add_guest(st, "third", 103), g4 = add_guest(st, "fourth", 104);
	ok(g1 > 0 && g2 > g1 && g3 > g2 && g4 > g3, "four guests");

	/* a valid record, then one without its magic */
	capture_pair(st, g1, g2, &rd, &src, &o, UT_CRASH_REGION_SIZE, &rc1,
		     &rc2);
	ok(rc1 == 0 && rc2 == 0, "no magic: both captures succeed");
	/* a valid record, then a crash region too small for a record */
	capture_pair(st, g3, g4, &rd, &src, &o, 0, &rc1, &rc2);
	ok(rc1 == 0 && rc2 == 0, "small region: both captures succeed");
	ok(!ut_store_commit(st), "commit");

	check_second(db, g1, g2, "no magic");
	check_second(db, g3, g4, "region too small");

	ut_store_close(st);
	ut_reader_free(&rd);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
