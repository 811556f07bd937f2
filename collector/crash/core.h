/*
 * core.h: the ELF core writer and checker (collector/crash/core.c).
 *
 * Independent of the transport: memory comes through a ut_memsrc_t (the
 * hosted transport reads /proc/PID/mem of the stopped guest, the Xen one
 * maps the domain's frames), registers through ut_core_thread_t.  The file
 * layout is documented in docs/core-format.md.
 */
#ifndef UT_CORE_H
#define UT_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "ut_abi.h"
#include "ut_core.h" /* note ids and sizes (formats/) */

/* Segment permission flags, as ELF's PF_X/PF_W/PF_R. */
#define UT_MEM_X 0x1u
#define UT_MEM_W 0x2u
#define UT_MEM_R 0x4u

/* One range of guest memory: one PT_LOAD of the core. */
typedef struct ut_mem_range {
	uint64_t addr, len; /* len > 0, addr + len does not wrap */
	uint32_t flags;     /* UT_MEM_R | UT_MEM_W | UT_MEM_X */
	uint64_t paddr;     /* p_paddr: the guest-physical address of addr
	                       (Xen), or 0 (hosted: unknown) */
} ut_mem_range_t;

/* Guest memory.  (ranges) are sorted by address and disjoint. */
typedef struct ut_memsrc {
	void *ctx;
	const ut_mem_range_t *ranges;
	size_t nranges;
	/* Read (len) bytes at guest address (addr) into (buf).  Returns the
	 * number of bytes read from the start (a short count: what follows
	 * is unreadable), or 0 / -1 if the first byte is unreadable.  May
	 * be called with any (addr, len), also outside (ranges). */
	long (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
	/* Optional (NULL: none).  How many bytes from (addr), at most
	 * (len), are known to read as zero without reading them.  Hosted:
	 * pages of an anonymous mapping that /proc/PID/pagemap shows
	 * neither present nor swapped (not file mappings: their pages read
	 * from the file); Xen: frames that are not populated.  The writer
	 * leaves them as holes unread, so a huge sparse mapping costs no
	 * read time.  Called at page-aligned offsets from a range start;
	 * return 0 when unsure. */
	uint64_t (*unpopulated)(void *ctx, uint64_t addr, uint64_t len);
} ut_memsrc_t;

/* Read exactly (len) bytes at (addr) of (mem), only inside its ranges.
 * Returns 0, or -1 if any byte is outside the ranges or unreadable. */
int ut_memsrc_read(const ut_memsrc_t *mem, uint64_t addr, void *buf,
		   size_t len);


/* An extra note: (len) bytes at (desc), owner name (owner), type. */
typedef struct ut_core_note {
	const char *owner;
	uint32_t type;
	const void *desc;
	size_t len;
} ut_core_note_t;

/* A thread (vCPU) of the core: one NT_PRSTATUS note. */
typedef struct ut_core_thread {
	uint32_t tid;   /* pr_pid: thread id, or vCPU number + 1 */
	int32_t signo;  /* pr_cursig; 0 for a thread that did not crash */
	uint64_t regs[UT_CRASH_NREGS]; /* enum ut_x86_64_reg order */
	/* Written right after this thread's NT_PRSTATUS, where a debugger
	 * ties them to it: NT_SIGINFO, NT_FPREGSET, NT_X86_XSTATE (owner
	 * "CORE" or "LINUX").  NULL/0: none (at most 8). */
	const ut_core_note_t *notes;
	size_t nnotes;
} ut_core_thread_t;

typedef struct ut_core_stats {
	uint64_t mem_bytes;  /* sum of the ranges' lengths */
	uint64_t file_bytes; /* size of the core file (sparse) */
	uint64_t disk_bytes; /* blocks it occupies (st_blocks * 512) */
	uint64_t data_pages; /* pages written */
	uint64_t zero_pages; /* all-zero or unpopulated pages, left as holes */
	uint64_t unreadable_pages; /* unreadable pages, left as holes */
	double seconds;      /* wall time of ut_core_write */
} ut_core_stats_t;

/*
 * Write an ELF64 ET_CORE file for x86-64 at (path): one PT_NOTE holding
 * an NT_PRSTATUS per thread of (thr) in order (put the crashing thread
 * first: gdb selects it), each followed by the thread's own notes, then
 * the notes of (extra) in order; then one
 * PT_LOAD per range of (mem).  Pages that are all zero or unreadable are
 * not written (holes; they read back as zeros).
 *
 * The file is written to "(path).tmp" (mode 0600, never through a
 * symlink) and renamed to (path) only when complete, so (path) is either
 * absent, an older file, or a complete core.  (st) may be NULL.
 *
 * Returns 0, or -1 with a message in (err) (bad arguments, ranges not
 * sorted or overlapping, I/O errors such as ENOSPC; errno is set) and no
 * (path).tmp left behind.  Unreadable guest memory is not an error: it
 * is counted in st->unreadable_pages.  Never logs.
 */
int ut_core_write(const char *path, const ut_memsrc_t *mem,
		  const ut_core_thread_t *thr, size_t nthr,
		  const ut_core_note_t *extra, size_t nextra,
		  ut_core_stats_t *st, char *err, size_t errlen);

/* How a crash row's note begins the part that says its core lacks memory
 * it should hold (unreadable pages: a mapping that cannot be read, the
 * process killed during the dump); `unitrace crash` then never calls the
 * core complete. */
#define UT_CORE_INCOMPLETE "core incomplete: "

/* Note helpers: fill (out) to point at the caller's data (no copy). */
/* The raw crash record (rec), which must outlive the ut_core_write. */
void ut_core_note_crash(ut_core_note_t *out, const struct ut_crash_rec *rec);
/* The guest's build id, (len) bytes at (id). */
void ut_core_note_build_id(ut_core_note_t *out, const uint8_t *id,
			   size_t len);
/* NT_PRPSINFO (owner "CORE"): gdb prints "Core was generated by (args)".
 * (buf) is caller storage of UT_CORE_PRPSINFO_SIZE bytes, filled here
 * from (name) (the program, truncated to 15 bytes), (args) (may be NULL)
 * and (pid). */
void ut_core_note_prpsinfo(ut_core_note_t *out, void *buf, const char *name,
			   const char *args, uint32_t pid);

/* NT_FILE (owner "CORE"): which file is mapped where. */
#define UT_NT_FILE 0x46494c45u
/* An NT_FILE payload naming the ELF executable (elf_path) over its
 * PT_LOAD segments (page-aligned, file offsets in pages), for a kernel
 * loaded at its link addresses: what lets libdwfl (eu-stack) and lldb find
 * the program of a unikernel core.  The ELF is read with bounds checks.
 * 0 with *out (malloc'd, *len bytes), or -1 (unreadable, not ELF64,
 * no PT_LOAD). */
int ut_core_ntfile_elf(const char *elf_path, void **out, size_t *len);

/* An NT_AUXV payload (owner "CORE") for a kernel loaded at its link
 * addresses: AT_PAGESZ, AT_ENTRY = the ELF's entry point, AT_NULL.  lldb
 * places the executable by AT_ENTRY.  0, or -1 (unreadable, not ELF64). */
int ut_core_auxv_elf(const char *elf_path, uint64_t auxv[6]);

/* What ut_core_check found in a core file. */
typedef struct ut_core_info {
	uint64_t file_bytes, disk_bytes;
	uint64_t mem_bytes;    /* sum of PT_LOAD p_memsz */
	uint32_t nloads;       /* PT_LOAD segments */
	uint32_t nthreads;     /* NT_PRSTATUS notes */
	int32_t signo;         /* pr_cursig of the first thread */
	uint64_t rip;          /* of the first thread */
	int has_crash;         /* a UNITRACE crash note of the right size */
	struct ut_crash_rec crash; /* its copy, if has_crash */
	uint8_t build_id[UT_BUILD_ID_MAX];
	uint32_t build_id_len;
} ut_core_info_t;

/*
 * Check that (path) is a complete core as ut_core_write writes it: an
 * ELF64 x86-64 ET_CORE whose program headers, notes and segments all lie
 * inside the file, with at least one NT_PRSTATUS.  Treats the file as
 * hostile (bounded reads, no trust in any offset).  Returns 0 and fills
 * (info); -1 with a message in (err) if it is missing, not a core,
 * truncated or garbled (info then holds what was read).  Never logs.
 */
int ut_core_check(const char *path, ut_core_info_t *info, char *err,
		  size_t errlen);

/* Open (path) read-only for parsing without ever blocking: O_NONBLOCK
 * (a FIFO or a device cannot stall the open), O_NOCTTY, O_CLOEXEC, then
 * refused unless it is a regular file.  The fd, or -1 with errno set
 * (EINVAL: not a regular file).  For every path a guest can name: its
 * mappings, its executable, a core's NT_FILE. */
int ut_open_regular(const char *path);

#endif /* UT_CORE_H */
