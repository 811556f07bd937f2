/*
 * Crash capture: the sequence the collector runs when a guest's state
 * becomes CRASHED (after draining its rings, so the events right before
 * the crash are stored), the same for every transport (crash.h), split in
 * begin (serving thread: record, crash row), compute (the capture worker:
 * memory, core, backtraces) and store (serving thread); the
 * transport supplies the memory and registers (hosted_dump.c: the stopped
 * process through /proc; xen_dump.c: the preserved domain's frames and
 * vCPUs).
 *
 * What goes wrong on the guest's side (a lying record, memory we cannot
 * read) ends up in the crash row's note; only store failures are returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backtrace.h"
#include "crash.h"

int ut_make_dirs(const char *dir)
{
	char buf[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

void ut_note_append(char *note, size_t cap, const char *fmt, const char *what)
{
	size_t n = strlen(note);
	if (n < cap)
		snprintf(note + n, cap - n, fmt, n ? "; " : "", what);
}

bool ut_crash_write_core(const ut_crash_opts_t *o, const char *core_path,
			 const ut_memsrc_t *mem, const ut_core_thread_t *thr,
			 size_t nthr, const ut_core_note_t *notes, size_t nn,
			 char *note, size_t notelen)
{
	ut_core_stats_t cs;
	char err[512];

	if (ut_make_dirs(o->core_dir) != 0) {
		snprintf(err, sizeof(err), "cannot create %s: %s", o->core_dir,
			 strerror(errno));
		ut_note_append(note, notelen, "%sno core: %s", err);
		return false;
	}
	if (ut_core_write(core_path, mem, thr, nthr, notes, nn, &cs, err,
			  sizeof(err)) != 0) {
		ut_note_append(note, notelen, "%sno core: %s", err);
		return false;
	}
	if (cs.unreadable_pages) {
		snprintf(err, sizeof(err), UT_CORE_INCOMPLETE "%llu page%s "
			 "(%.1f MiB) of its mappings could not be read and read "
			 "as zeros in the core", (unsigned long long)
			 cs.unreadable_pages, cs.unreadable_pages == 1 ? "" : "s",
			 cs.unreadable_pages * 4096.0 / 1048576.0);
		ut_note_append(note, notelen, "%s%s", err);
	}
	if (!o->quiet)
		ut_msg(o->cmd, "core written: %s (%.1f MiB of memory, "
			"%.1f MiB on disk, %.2f s)", core_path,
			cs.mem_bytes / 1048576.0, cs.disk_bytes / 1048576.0,
			cs.seconds);
	return true;
}

struct ut_crash_job {
	ut_crash_src_t *src;
	ut_crash_opts_t o;
	struct ut_crash_rec rec;
	bool valid;
	bool core_ok;
	int64_t crash;                    /* the stored row */
	uint8_t build_id[UT_BUILD_ID_MAX]; /* the reader's, copied */
	uint32_t build_id_len;
	char note[1024];
	char core_path[PATH_MAX];
	ut_backtrace_t fp, cfi;
	/* the other threads' stacks: tbt[k] of thread ttid[k] */
	ut_backtrace_t *tbt;
	uint32_t *ttid;
	size_t ntbt;
};

/* Stacks stored for at most this many threads besides the crashing one
 * (each costs a CFI unwind of the core, tens of ms). */
#define UT_CRASH_THREAD_STACKS 64

const char *ut_crash_job_reason(const ut_crash_job_t *j)
{
	return j->rec.reason;
}

void ut_crash_job_free(ut_crash_job_t *j)
{
	if (!j)
		return;
	free(j->tbt);
	free(j->ttid);
	j->src->release(j->src);
	if (j->src->destroy)
		j->src->destroy(j->src);
	free(j);
}

int ut_crash_begin(ut_store_t *st, int64_t guest_id, ut_reader_t *rd,
		   ut_crash_src_t *src, const ut_crash_opts_t *o,
		   ut_crash_job_t **job)
{
	ut_crash_job_t *j = calloc(1, sizeof(*j));
	struct ut_crash_rec *rec;
	int64_t ts = -1;

	*job = NULL;
	if (!j) {
		src->release(src);
		if (src->destroy)
			src->destroy(src);
		return -1;
	}
	j->src = src;
	j->o = *o;
	src->cmdline[0] = 0;
	src->uid = -1;
	/* Zeroed (calloc): ut_reader_crash leaves the record untouched when
	 * it has no magic or the region is too small. */
	rec = &j->rec;
	if (src->record_optional && ut_reader_state(rd) != UT_STATE_CRASHED) {
		ut_note_append(j->note, sizeof(j->note), "%s%s", "the domain "
			       "crashed without writing a unitrace crash record");
		snprintf(rec->reason, sizeof(rec->reason), "domain crashed (no "
			 "crash record)");
	} else if (!(j->valid = ut_reader_crash(rd, rec) == 0)) {
		ut_note_append(j->note, sizeof(j->note), "%scrash record "
			       "rejected: %s", rd->err);
		snprintf(rec->reason, sizeof(rec->reason), "invalid crash record");
	} else {
		ts = ut_reader_ns(rd, rec->ts);
	}
	j->build_id_len = rd->hdr.build_id_len <= UT_BUILD_ID_MAX
			  ? rd->hdr.build_id_len : 0;
	memcpy(j->build_id, rd->hdr.build_id, j->build_id_len);

	src->prepare(src, rd, rec, j->valid, j->note, sizeof(j->note));

	j->crash = ut_store_crash(st, guest_id, rec, ts, NULL, src->elf);
	if (j->crash < 0) {
		ut_crash_job_free(j);
		return -1;
	}
	*job = j;
	return 0;
}

/* The test hook (crash.h): hold the capture until the gate exists. */
static void capture_gate(void)
{
	const char *gate = getenv(UT_CAPTURE_GATE_ENV);
	struct timespec nap = {0, 10 * 1000 * 1000};
	char held[PATH_MAX];
	struct stat sb;
	int fd;

	if (!gate || !*gate)
		return;
	snprintf(held, sizeof(held), "%s.held", gate);
	fd = open(held, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	/* the bound only keeps a broken test from hanging the collector */
	for (int i = 0; i < 30000 && stat(gate, &sb) != 0; i++)
		nanosleep(&nap, NULL);
}

/* Thread k of the source: the frame-pointer walk (symbolized with sym,
 * which may be NULL) into (fp), and the CFI unwind of the core, the
 * second opinion (a partial result is kept), into (cfi). */
static void walk_thread(ut_crash_job_t *j, ut_symtab_t *sym, size_t k,
			ut_backtrace_t *fp, ut_backtrace_t *cfi)
{
	ut_crash_src_t *src = j->src;
	char err[512];

	ut_bt_fp_walk(src->mem, src->thr[k].regs, fp);
	if (sym)
		ut_bt_symbolize(sym, fp);
	if (j->core_ok && (src->elf || !src->cfi_needs_elf))
		ut_bt_cfi_core(j->core_path, src->elf, src->thr[k].tid, cfi,
			       err, sizeof(err));
}

/* The stacks of the threads (vCPUs) that did not crash: the better of the
 * two walks of each, for the first UT_CRASH_THREAD_STACKS of them. */
static void other_threads(ut_crash_job_t *j, ut_symtab_t *sym)
{
	ut_crash_src_t *src = j->src;
	size_t n = src->nthr > 1 ? src->nthr - 1 : 0;
	ut_backtrace_t *cfi;

	if (n > UT_CRASH_THREAD_STACKS) {
		char m[96];
		snprintf(m, sizeof(m), "the stacks of %zu more threads were "
			 "not walked (the core has them)",
			 n - UT_CRASH_THREAD_STACKS);
		ut_note_append(j->note, sizeof(j->note), "%s%s", m);
		n = UT_CRASH_THREAD_STACKS;
	}
	if (!n)
		return;
	j->tbt = calloc(n, sizeof(*j->tbt));
	j->ttid = calloc(n, sizeof(*j->ttid));
	cfi = malloc(sizeof(*cfi));
	if (!j->tbt || !j->ttid || !cfi) {
		ut_note_append(j->note, sizeof(j->note), "%s%s", "out of memory "
			       "for the other threads' stacks");
		free(cfi);
		return;
	}
	for (size_t k = 0; k < n; k++) {
		memset(cfi, 0, sizeof(*cfi));
		walk_thread(j, sym, k + 1, &j->tbt[k], cfi);
		if (ut_bt_better(&j->tbt[k], cfi) == cfi)
			memcpy(&j->tbt[k], cfi, sizeof(*cfi));
		j->ttid[k] = src->thr[k + 1].tid;
	}
	j->ntbt = n;
	free(cfi);
}

void ut_crash_compute(ut_crash_job_t *j)
{
	ut_crash_src_t *src = j->src;
	char err[512];

	capture_gate();
	if (src->open_mem(src, &j->rec, j->note, sizeof(j->note)) == 0) {
		if (j->o.core_dir) {
			ut_core_note_t notes[6];
			size_t nn = src->core_notes(src, notes);

			if (j->valid)
				ut_core_note_crash(&notes[nn++], &j->rec);
			if (j->build_id_len)
				ut_core_note_build_id(&notes[nn++], j->build_id,
						      j->build_id_len);
			snprintf(j->core_path, sizeof(j->core_path),
				 "%s/%s.%lld.core", j->o.core_dir,
				 src->core_name, (long long)j->crash);
			j->core_ok = ut_crash_write_core(&j->o, j->core_path,
					src->mem, src->thr, src->nthr, notes, nn,
					j->note, sizeof(j->note));
		}
		if (j->valid || src->walk_without_record) {
			ut_symtab_t *sym = src->symtab(src, err, sizeof(err));
			if (!sym)
				ut_note_append(j->note, sizeof(j->note),
					       "%sno symbols: %s", err);
			walk_thread(j, sym, 0, &j->fp, &j->cfi);
			other_threads(j, sym);
			ut_symtab_free(sym);
		}
	}
	src->release(src);
}

void ut_crash_note_second(ut_crash_job_t *j, ut_reader_t *rd)
{
	struct ut_crash_rec rec;
	char what[128];
	const char *name;

	/* a fresh copy: the second crash is written after the record */
	if (!j->valid || ut_reader_crash(rd, &rec) != 0 || !rec.second_tid)
		return;
	name = rec.second_signo > 0 && rec.second_signo < 65
	       ? sigabbrev_np(rec.second_signo) : NULL;
	if (rec.second_signo == 0)
		snprintf(what, sizeof(what), "a panic");
	else if (name)
		snprintf(what, sizeof(what), "SIG%s", name);
	else
		snprintf(what, sizeof(what), "signal %d", rec.second_signo);
	if (rec.second_tid != 0xffffffffu) {
		size_t n = strlen(what);
		snprintf(what + n, sizeof(what) - n, " in thread %u",
			 rec.second_tid);
	}
	ut_note_append(j->note, sizeof(j->note), "%ssecond crash while this "
		       "one was handled: %s (not recorded; the guest died of "
		       "the first)", what);
}

int ut_crash_store(ut_store_t *st, ut_crash_job_t *j)
{
	const ut_backtrace_t *fp = &j->fp, *cfi = &j->cfi;

	if (ut_store_crash_core(st, j->crash, j->core_ok ? j->core_path : NULL,
				j->note[0] ? j->note : NULL))
		return -1;
	if (fp->n || cfi->n) {
		const ut_backtrace_t *best = ut_bt_better(fp, cfi);
		if (fp->n && ut_store_crash_bt(st, j->crash, fp, best == fp))
			return -1;
		if (cfi->n && ut_store_crash_bt(st, j->crash, cfi, best == cfi))
			return -1;
	}
	for (size_t k = 0; k < j->ntbt; k++)
		if (j->tbt[k].n &&
		    ut_store_crash_thread(st, j->crash, j->ttid[k], &j->tbt[k]))
			return -1;
	if ((j->src->cmdline[0] || j->src->uid >= 0) &&
	    ut_store_crash_proc(st, j->crash, j->src->cmdline, j->src->uid))
		return -1;
	if (!j->o.quiet)
		ut_msg(j->o.cmd, "crash %lld%s captured: %s%s%s%s",
			(long long)j->crash, j->src->what, j->rec.reason,
			j->note[0] ? " (" : "", j->note, j->note[0] ? ")" : "");
	return 0;
}

int ut_crash_capture(ut_store_t *st, int64_t guest_id, ut_reader_t *rd,
		     ut_crash_src_t *src, const ut_crash_opts_t *o)
{
	ut_crash_job_t *j;
	int rc;

	if (ut_crash_begin(st, guest_id, rd, src, o, &j))
		return -1;
	ut_crash_compute(j);
	ut_crash_note_second(j, rd);
	rc = ut_crash_store(st, j);
	ut_crash_job_free(j);
	return rc;
}
