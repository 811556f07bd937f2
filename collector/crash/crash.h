/*
 * Crash capture: what the collector does when a guest's state becomes
 * CRASHED.  The core writer and the backtrace are transport-independent
 * (core.h, backtrace.h); this header adds the hosted memory source and the
 * capture sequence.
 */
#ifndef UT_CRASH_H
#define UT_CRASH_H

#include "collector.h"
#include "core.h"

/* ---- hosted_dump.c: a crashed hosted process as a memory source -------- */

typedef struct ut_hosted_mem {
	ut_memsrc_t src;        /* what the core writer and backtrace read */
	int pid;
	int memfd;              /* /proc/PID/mem */
	ut_mem_range_t *ranges; /* readable mappings, from /proc/PID/maps */
	size_t nranges, cap;
	struct file_map *files; /* file-backed mappings, for NT_FILE */
	size_t nfiles;
	void *prpsinfo, *auxv, *ntfile; /* note payloads we own */
} ut_hosted_mem_t;

/* Map the memory of process (pid).  0, or -1 with a reason in (err). */
int ut_hosted_mem_open(int pid, ut_hosted_mem_t *m, char *err, size_t errlen);
long ut_hosted_mem_read(void *ctx, uint64_t addr, void *buf, size_t len);
void ut_hosted_mem_close(ut_hosted_mem_t *m);
/* Build NT_PRPSINFO, NT_AUXV and NT_FILE for (m) into notes[0..*nnotes)
 * (room for 3).  The payloads live until ut_hosted_mem_close. */
int ut_hosted_notes(ut_hosted_mem_t *m, const char *exe_name,
		    ut_core_note_t *notes, size_t *nnotes);

/* ---- crash.c: the capture sequence --------------------------------------- */


/* mkdir -p (dir) with mode 0700.  0, or -1 with errno set. */
int ut_make_dirs(const char *dir);
/* Append "(sep)(what)" to the note (note, cap) through (fmt), which takes
 * two %s: the separator ("; " unless the note is empty) and (what). */
void ut_note_append(char *note, size_t cap, const char *fmt, const char *what);

typedef struct ut_crash_opts {
	const char *core_dir; /* where cores go; NULL: no core */
	bool quiet;
	const char *cmd;      /* for messages: "collect" or "run" */
} ut_crash_opts_t;

/* Write the core of a crash to (core_path) under o->core_dir (created if
 * needed) and say so unless quiet.  True if written; otherwise the reason
 * is appended to (note, notelen).  Shared by the hosted and Xen captures. */
bool ut_crash_write_core(const ut_crash_opts_t *o, const char *core_path,
			 const ut_memsrc_t *mem, const ut_core_thread_t *thr,
			 size_t nthr, const ut_core_note_t *notes, size_t nn,
			 char *note, size_t notelen);

/*
 * Capture the crash of hosted guest (guest_id) read through (rd) and (t):
 * validate the crash record, write the core, walk and symbolize the
 * backtrace, store the crash row.  Inside a store transaction.  Returns
 * 0, or -1 on a store failure (fatal for the collector).  Problems with
 * the guest itself (lying record, unreadable memory) are stored in the crash
 * row, not returned.
 */
int ut_crash_capture_hosted(ut_store_t *st, int64_t guest_id, ut_reader_t *rd,
			    ut_hosted_t *t, const ut_crash_opts_t *o);

#endif /* UT_CRASH_H */
