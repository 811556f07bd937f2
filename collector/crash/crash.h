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
	size_t nfiles, file_names; /* ... and the bytes of their names */
	char cut[256];          /* what the bounds below left out, or "" */
	void *prpsinfo, *auxv, *ntfile; /* note payloads we own */
} ut_hosted_mem_t;

/* What the process decides and a capture must bound (the reason goes to
 * the crash note, in m->cut): the mappings read (and put in NT_FILE), the
 * bytes of NT_FILE's names, and the memory dumped (past it, the largest
 * mappings are left out: stacks, heap and code stay). */
#define UT_HOSTED_MAX_MAPPINGS 65536u
#define UT_HOSTED_MAX_NAMES (16u << 20)
#define UT_HOSTED_MAX_DUMP (64ull << 30)

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
 * One capture sequence for every transport (crash.c), in three parts so
 * that the slow middle one runs off the thread that serves the other
 * guests (collect.c's capture worker):
 *
 * ut_crash_begin: on the serving thread, inside its store transaction:
 *   1. copy and validate the crash record;
 *   2. src->prepare: the transport's checks and registers (the process is
 *      still the one that published the area; pause a domain, read its
 *      vCPUs); sets src->elf and src->core_name;
 *   3. store the crash row (so it is there whatever happens next).
 * ut_crash_compute: on any thread, touching neither the store nor the
 * reader (everything it needs is in the job):
 *   4. src->open_mem: the memory source (src->mem) and threads (src->thr,
 *      the crashing one first);
 *   5. write the ELF core (src->core_notes, crash record, build id);
 *   6. frame-pointer walk from thr[0], symbolized through src->symtab; CFI
 *      unwind of the core as the second opinion;
 *   then src->release (the domain resumes, /proc/PID/mem is closed).
 * ut_crash_store: on the serving thread, inside a transaction:
 *   7. store the core path, the note and both backtraces (the better one
 *      primary).
 * What goes wrong on the guest's side (a lying record, memory we cannot
 * read) ends up in the crash row's note; only store failures are returned.
 */
struct ut_symtab; /* backtrace.h */
typedef struct ut_crash_src ut_crash_src_t;
struct ut_crash_src {
	/* Set by the transport before ut_crash_begin: */
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
	ut_core_thread_t *thr;    /* thr[0]: the crashing thread or vCPU */
	size_t nthr;
	char cmdline[1024];       /* the process's command line, "" unknown */
	int64_t uid;              /* its real user id, -1 unknown */
	/* On the serving thread (reads the reader and the transport's guest
	 * state); everything the hooks below need is copied into (s) here. */
	void (*prepare)(ut_crash_src_t *s, ut_reader_t *rd,
			struct ut_crash_rec *rec, bool valid, char *note,
			size_t notelen);
	/* The hooks below run on the capture worker, never touching what the
	 * serving thread uses (a Xen source opens its own handles). */
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
	/* Free (s) itself, with the job; NULL when the caller owns it. */
	void (*destroy)(ut_crash_src_t *s);
};

/* A capture between ut_crash_begin and ut_crash_store: what the worker
 * needs (copied, nothing shared with the serving thread) and its result. */
typedef struct ut_crash_job ut_crash_job_t;

/* Steps 1-3 for guest (guest_id) read through (rd), inside a store
 * transaction.  0 with the job in (*job) (it owns src if src->destroy is
 * set, even on failure), or -1 on a store failure (fatal for the
 * collector; *job is NULL and src released). */
int ut_crash_begin(ut_store_t *st, int64_t guest_id, ut_reader_t *rd,
		   ut_crash_src_t *src, const ut_crash_opts_t *o,
		   ut_crash_job_t **job);
/* Steps 4-6 and src->release; on any thread.  Its time is bounded by the
 * capture's own bounds (core.h, hosted_dump.c, xen_dump.c). */
void ut_crash_compute(ut_crash_job_t *job);
/* Before step 7, on the serving thread: a second crash the guest noted
 * in its record while this one was captured (second_signo, second_tid)
 * goes to the note. */
void ut_crash_note_second(ut_crash_job_t *job, ut_reader_t *rd);
/* Step 7, inside a store transaction, then the "captured" message.  0, or
 * -1 on a store failure. */
int ut_crash_store(ut_store_t *st, ut_crash_job_t *job);
/* The crash's reason, as stored in its row. */
const char *ut_crash_job_reason(const ut_crash_job_t *job);
/* Release and free (job) (and its source if it owns it). */
void ut_crash_job_free(ut_crash_job_t *job);

/* The whole sequence on the calling thread (begin, compute, store). */
int ut_crash_capture(ut_store_t *st, int64_t guest_id, ut_reader_t *rd,
		     ut_crash_src_t *src, const ut_crash_opts_t *o);

/* Test hook, documented in docs/collector.md: when the environment
 * variable UNITRACE_TEST_CAPTURE_GATE names a path, ut_crash_compute
 * creates PATH.held and then waits until PATH exists before it opens the
 * guest's memory, so a test can hold a capture and watch the collector
 * serve the other guests meanwhile. */
#define UT_CAPTURE_GATE_ENV "UNITRACE_TEST_CAPTURE_GATE"

/* ---- hosted_dump.c: the hosted source -------------------------------------- */

/*
 * Begin capturing the crash of hosted guest (guest_id) read through (rd)
 * and (t) (ut_crash_begin: the record validated, the process checked, the
 * crash row stored; inside a store transaction).  The job it returns in
 * (*job) holds the pid, not (t).  0, or -1 on a store failure.
 */
int ut_crash_begin_hosted(ut_store_t *st, int64_t guest_id, ut_reader_t *rd,
			  ut_hosted_t *t, const ut_crash_opts_t *o,
			  ut_crash_job_t **job);

#endif /* UT_CRASH_H */
