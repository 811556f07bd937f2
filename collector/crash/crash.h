/*
 * Crash capture: what the collector does when a guest's state becomes
 * CRASHED.  The core writer and the backtrace are transport-independent
 * (core.h, backtrace.h); this header adds the hosted memory source and the
 * capture sequence.
 */
#ifndef UT_CRASH_H
#define UT_CRASH_H

#include <limits.h>

#include "collector.h"
#include "core.h"
#include "transport.h" /* ut_hosted_t */

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
 * One capture sequence for every transport (crash.c):
 *   1. copy and validate the crash record;
 *   2. src->prepare: the transport's checks and registers (the process is
 *      still the one that published the area; pause a domain, read its
 *      vCPUs); sets src->elf and src->core_name;
 *   3. store the crash row;
 *   4. src->open_mem: the memory source (src->mem) and threads (src->thr,
 *      the crashing one first);
 *   5. write the ELF core (src->core_notes, crash record, build id);
 *   6. frame-pointer walk from thr[0], symbolized through src->symtab; CFI
 *      unwind of the core as the second opinion;
 *   7. src->release, then store the core path, the note and both
 *      backtraces (the better one primary).
 * What goes wrong on the guest's side (a lying record, memory we cannot
 * read) ends up in the crash row's note; only store failures are returned.
 */
struct ut_symtab; /* backtrace.h */
typedef struct ut_crash_src ut_crash_src_t;
struct ut_crash_src {
	/* Set by the transport before ut_crash_capture: */
	bool record_optional;     /* the guest may have crashed without
	                             writing a record (a Xen domain's
	                             shutdown reason said crash) */
	bool walk_without_record; /* walk thr[0] even if the record is
	                             invalid (its registers are not the
	                             record's) */
	bool cfi_needs_elf;       /* no CFI unwind without src->elf */
	const char *what;         /* for the message: "" or " of domain N" */
	/* Set by the hooks: */
	const char *elf;          /* the program: crash row, symbols, CFI */
	char core_name[NAME_MAX + 16]; /* core file: NAME.CRASH.core */
	const ut_memsrc_t *mem;
	ut_core_thread_t *thr;
	size_t nthr;
	void (*prepare)(ut_crash_src_t *s, ut_reader_t *rd,
			struct ut_crash_rec *rec, bool valid, char *note,
			size_t notelen);
	/* 0 with mem, thr and nthr set; -1 (the note says why, if that is
	 * news). */
	int (*open_mem)(ut_crash_src_t *s, const struct ut_crash_rec *rec,
			char *note, size_t notelen);
	/* The transport's core notes into notes[0..3); how many. */
	size_t (*core_notes)(ut_crash_src_t *s, ut_core_note_t *notes);
	/* Symbols for the walk; NULL with the reason in (err). */
	struct ut_symtab *(*symtab)(ut_crash_src_t *s, char *err,
				    size_t errlen);
	/* Close the memory, resume the guest.  Called again on every way
	 * out: must be idempotent. */
	void (*release)(ut_crash_src_t *s);
};

/* Run the sequence above for guest (guest_id) read through (rd).  Inside
 * a store transaction.  0, or -1 on a store failure (fatal for the
 * collector). */
int ut_crash_capture(ut_store_t *st, int64_t guest_id, ut_reader_t *rd,
		     ut_crash_src_t *src, const ut_crash_opts_t *o);

/* ---- hosted_dump.c: the hosted source -------------------------------------- */

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
