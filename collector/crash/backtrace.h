/*
 * backtrace.h: backtraces of a crashed guest.  collector/crash/backtrace.c
 * (frame-pointer walk, text; no library) and collector/crash/backtrace_dw.c
 * (everything that needs libdw/libelf).
 *
 * Two unwinders, kept side by side:
 *  - a frame-pointer walk over the dumped memory (ut_bt_fp_walk): needs
 *    nothing but the memory and the registers, works for any guest built
 *    with frame pointers, never follows memory outside the dump;
 *  - libdw's CFI unwinder (.eh_frame / .debug_frame) on the core just
 *    written (ut_bt_cfi_core) or on the live stopped process
 *    (ut_bt_cfi_pid): also walks code without frame pointers (glibc's
 *    raise/abort).
 * Frames are symbolized with libdw/libelf (symbol table, DWARF lines).
 * ut_bt_better() picks the one to show.  None of these functions log.
 */
#ifndef UT_BACKTRACE_H
#define UT_BACKTRACE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ut_abi.h"

struct ut_memsrc; /* core.h */

#define UT_BT_MAX 64

/* How a backtrace was obtained (crash_frames.method). */
enum ut_bt_method {
	UT_BT_NONE = 0,
	UT_BT_FP = 1,       /* frame-pointer walk over the dump: "fp" */
	UT_BT_CFI_CORE = 2, /* libdw CFI on the core file: "cfi-core" */
	UT_BT_CFI_PID = 3,  /* libdw CFI on the live process: "cfi-pid" */
};

typedef struct ut_frame {
	uint64_t pc;        /* frame 0: RIP; others: the return address */
	char function[128]; /* symbol name, "" if unknown */
	uint64_t offset;    /* pc - symbol start (call site for frames > 0) */
	char file[256];     /* source file from DWARF, "" if unknown */
	int line;           /* 0 if unknown */
	char module[256];   /* ELF file (path) holding pc, "" if unknown */
} ut_frame_t;

typedef struct ut_backtrace {
	int method;          /* enum ut_bt_method */
	uint32_t n;          /* frames in f[] */
	uint32_t nsym;       /* frames with a function name */
	ut_frame_t f[UT_BT_MAX];
	char stop[160];      /* why the walk ended: "end of the frame
				chain", "rbp 0x... outside memory", ... */
} ut_backtrace_t;

/* "fp", "cfi-core", "cfi-pid" or "none". */
const char *ut_bt_method_name(int method);

/*
 * Walk the frame-pointer chain of the thread whose registers are (regs)
 * (enum ut_x86_64_reg order) over (mem).  Frame 0 is RIP.  If RIP is
 * outside executable memory (a call through a bad pointer), or the word
 * at RSP is the return address of a direct call to code just before RIP
 * (a leaf function without a frame), that word is frame 1.  Then, from
 * RBP, ret = [rbp+8] and next = [rbp].  Stops at a zero return address,
 * unreadable memory, an RBP that is unaligned, not above the previous
 * one (loops), or outside (mem)'s ranges, a return address outside
 * executable memory (if (mem) marks any range UT_MEM_X), and after
 * UT_BT_MAX frames;
 * bt->stop says which.  Never reads outside (mem)'s ranges.  Frames are
 * not symbolized (see ut_bt_symbolize).  Returns the number of frames.
 */
uint32_t ut_bt_fp_walk(const struct ut_memsrc *mem,
		       const uint64_t regs[UT_CRASH_NREGS],
		       ut_backtrace_t *bt);

/* A symbol source: libdw's view of the guest's modules. */
typedef struct ut_symtab ut_symtab_t;

/* Modules of the live process (pid), from /proc/PID/maps (finds its
 * shared libraries).  NULL with a message in (err). */
ut_symtab_t *ut_symtab_pid(int pid, char *err, size_t errlen);
/* The ELF file (path) loaded at bias (bias): 0 for a static unikernel or
 * a non-PIE program.  NULL with a message in (err). */
ut_symtab_t *ut_symtab_elf(const char *path, uint64_t bias, char *err,
			   size_t errlen);
void ut_symtab_free(ut_symtab_t *s);

/* Fill function/offset/file/line/module of every frame of (bt) that (s)
 * knows (frames it does not know keep empty names), and bt->nsym. */
void ut_bt_symbolize(ut_symtab_t *s, ut_backtrace_t *bt);

/*
 * CFI unwind of thread (tid) of the core file (core_path), symbolized.
 * Modules are found from the core's NT_FILE note or the dynamic linker's
 * list in its memory; (exe) (may be NULL) names the program, required
 * for a static ELF whose core carries no file list.  Returns the number
 * of frames (> 0), or -1 with a message in (err) (bt may then hold a
 * partial result).
 */
int ut_bt_cfi_core(const char *core_path, const char *exe, uint32_t tid,
		   ut_backtrace_t *bt, char *err, size_t errlen);

/* A module (the program, a shared library, the vDSO) of a core. */
typedef struct ut_module {
	char name[256];      /* its path as the core names it */
	uint64_t start, end; /* where it was loaded */
	char build_id[2 * UT_BUILD_ID_MAX + 1]; /* hex, "" if none */
} ut_module_t;

/* The modules of core (core_path) (exe: the program, may be NULL) with
 * their build ids, read by libdwfl from the core's memory and file
 * notes, in address order: at most (max) into (out).  How many, or -1 with
 * a message in (err). */
int ut_core_modules(const char *core_path, const char *exe, ut_module_t *out,
		    int max, char *err, size_t errlen);

/*
 * CFI unwind of thread (tid) of the live process (pid), symbolized.  The
 * thread is ptrace-attached for the walk and detached again without a
 * signal, so a guest waiting in its crash handler keeps waiting (it must
 * not be traced by anyone else; the caller must be allowed to ptrace it).
 * Do not call it while another thread of the caller waits for (pid).
 * Returns the number of frames (> 0), or -1 with a message in (err).
 */
int ut_bt_cfi_pid(int pid, uint32_t tid, ut_backtrace_t *bt, char *err,
		  size_t errlen);

/* The better of two backtraces (either may be NULL or empty): more
 * frames with a symbol, then more frames; (a) on a tie. */
const ut_backtrace_t *ut_bt_better(const ut_backtrace_t *a,
				   const ut_backtrace_t *b);

/* One frame as text: "#3  0x0000...  func+0x1a at file.c:42 (module)".
 * Control characters are replaced by '?'. */
void ut_bt_format_frame(const ut_frame_t *f, uint32_t idx, char *buf,
			size_t len);
/* The whole backtrace, one frame per line, then "(stop reason)" if the
 * walk ended early.  Returns a malloc'ed string or NULL (no memory). */
char *ut_bt_format(const ut_backtrace_t *bt);

/* Start (bt) empty for (method); append a frame at (pc), its other fields
 * zero (the caller checks there is room). */
static inline void ut_bt_init(ut_backtrace_t *bt, int method)
{
	memset(bt, 0, sizeof(*bt));
	bt->method = method;
}

static inline void ut_bt_add(ut_backtrace_t *bt, uint64_t pc)
{
	ut_frame_t *f = &bt->f[bt->n++];

	memset(f, 0, sizeof(*f));
	f->pc = pc;
}

#endif /* UT_BACKTRACE_H */
