/*
 * Crash capture: the sequence the collector runs when a guest's state
 * becomes CRASHED (after draining its rings, so the events right before
 * the crash are stored), the same for every transport (crash.h); the
 * transport supplies the memory and registers (hosted_dump.c: the stopped
 * process through /proc; xen_dump.c: the preserved domain's frames and
 * vCPUs).
 *
 * What goes wrong on the guest's side (a lying record, memory we cannot
 * read) ends up in the crash row's note; only store failures are returned.
 */
#include <errno.h>
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
	if (!o->quiet)
		ut_msg(o->cmd, "core written: %s (%.1f MiB of memory, "
			"%.1f MiB on disk, %.2f s)", core_path,
			cs.mem_bytes / 1048576.0, cs.disk_bytes / 1048576.0,
			cs.seconds);
	return true;
}

int ut_crash_capture(ut_store_t *st, int64_t guest_id, ut_reader_t *rd,
		     ut_crash_src_t *src, const ut_crash_opts_t *o)
{
	struct ut_crash_rec rec;
	char note[1024] = "", err[512], core_path[PATH_MAX] = "";
	ut_backtrace_t *fp = calloc(1, sizeof(*fp));
	ut_backtrace_t *cfi = calloc(1, sizeof(*cfi));
	bool valid, core_ok = false;
	int64_t ts = -1, crash;
	int rc = 0;

	if (!fp || !cfi) {
		free(fp);
		free(cfi);
		return -1;
	}
	/* Zeroed for every capture: ut_reader_crash leaves it untouched when
	 * the record has no magic or the region is too small, and the stack
	 * slot still holds the previous capture's record. */
	memset(&rec, 0, sizeof(rec));
	if (src->record_optional && ut_reader_state(rd) != UT_STATE_CRASHED) {
		valid = false;
		memset(&rec, 0, sizeof(rec));
		ut_note_append(note, sizeof(note), "%s%s", "the domain crashed without "
		       "writing a unitrace crash record");
		snprintf(rec.reason, sizeof(rec.reason), "domain crashed (no "
			 "crash record)");
	} else if (!(valid = ut_reader_crash(rd, &rec) == 0)) {
		ut_note_append(note, sizeof(note), "%scrash record rejected: %s", rd->err);
		snprintf(rec.reason, sizeof(rec.reason), "invalid crash record");
	} else {
		ts = ut_reader_ns(rd, rec.ts);
	}

	src->prepare(src, rd, &rec, valid, note, sizeof(note));

	crash = ut_store_crash(st, guest_id, &rec, ts, NULL, src->elf);
	if (crash < 0)
		goto fail;

	if (src->open_mem(src, &rec, note, sizeof(note)) == 0) {
		if (o->core_dir) {
			ut_core_note_t notes[6];
			size_t nn = src->core_notes(src, notes);

			if (valid)
				ut_core_note_crash(&notes[nn++], &rec);
			if (rd->hdr.build_id_len)
				ut_core_note_build_id(&notes[nn++], rd->hdr.build_id,
						      rd->hdr.build_id_len);
			snprintf(core_path, sizeof(core_path), "%s/%s.%lld.core",
				 o->core_dir, src->core_name, (long long)crash);
			core_ok = ut_crash_write_core(o, core_path, src->mem,
						      src->thr, src->nthr, notes,
						      nn, note, sizeof(note));
		}
		if (valid || src->walk_without_record) {
			ut_symtab_t *sym;
			ut_bt_fp_walk(src->mem, src->thr[0].regs, fp);
			sym = src->symtab(src, err, sizeof(err));
			if (sym) {
				ut_bt_symbolize(sym, fp);
				ut_symtab_free(sym);
			} else {
				ut_note_append(note, sizeof(note), "%sno symbols: %s", err);
			}
			/* The second opinion; a partial result is kept. */
			if (core_ok && (src->elf || !src->cfi_needs_elf))
				ut_bt_cfi_core(core_path, src->elf,
					       src->thr[0].tid, cfi, err,
					       sizeof(err));
		}
	}
	src->release(src);

	if (ut_store_crash_core(st, crash, core_ok ? core_path : NULL,
				note[0] ? note : NULL))
		goto fail;
	if (fp->n || cfi->n) {
		const ut_backtrace_t *best = ut_bt_better(fp, cfi);
		if (fp->n && ut_store_crash_bt(st, crash, fp, best == fp))
			goto fail;
		if (cfi->n && ut_store_crash_bt(st, crash, cfi, best == cfi))
			goto fail;
	}
	if (!o->quiet)
		ut_msg(o->cmd, "crash %lld%s captured: %s%s%s%s",
			(long long)crash, src->what, rec.reason,
			note[0] ? " (" : "", note, note[0] ? ")" : "");
	goto out;
fail:
	rc = -1;
out:
	src->release(src);
	free(fp);
	free(cfi);
	return rc;
}
