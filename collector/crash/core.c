/*
 * core.c: write guest memory and registers as an ELF core that gdb opens,
 * and check such a file.  Layout in docs/core-format.md.
 *
 * Writing: the headers and notes are built in memory and written first;
 * then each range is read in chunks of UT_CORE_CHUNK bytes and its
 * non-zero pages are written with pwrite at their page-aligned file
 * offsets.  Zero and unreadable pages are never written, so they stay
 * holes of the sparse file; a final ftruncate gives the file its full
 * size.  Everything goes to PATH.tmp, renamed to PATH at the end.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h" /* ut_now_ns */
#include "core.h"

#define UT_CORE_PAGE 4096u
#define UT_CORE_CHUNK (1u << 20)
#define UT_CORE_MAX_NOTE (64u << 20) /* sanity bound on one note */

_Static_assert(sizeof(struct elf_prpsinfo) == UT_CORE_PRPSINFO_SIZE,
	       "prpsinfo size");
_Static_assert(sizeof(elf_gregset_t) == 8 * UT_CRASH_NREGS, "pr_reg");
_Static_assert(UT_MEM_X == PF_X && UT_MEM_W == PF_W && UT_MEM_R == PF_R,
	       "flags");
_Static_assert(UT_CORE_CHUNK % UT_CORE_PAGE == 0, "chunk");

static void __attribute__((format(printf, 3, 4)))
fail_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static double now_s(void)
{
	return (double)ut_now_ns() / 1e9;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* ---- memory source ----------------------------------------------------- */

int ut_memsrc_read(const ut_memsrc_t *mem, uint64_t addr, void *buf,
		   size_t len)
{
	if (!mem || !mem->read || !len)
		return len ? -1 : 0;
	if (addr + len < addr)
		return -1;
	/* Inside one range, or several contiguous ones. */
	uint64_t a = addr, end = addr + len;
	size_t lo = 0, hi = mem->nranges;
	while (lo < hi) { /* first range ending after a */
		size_t mid = lo + (hi - lo) / 2;
		const ut_mem_range_t *r = &mem->ranges[mid];
		if (r->addr + r->len <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; a < end; i++) {
		if (i >= mem->nranges || mem->ranges[i].addr > a)
			return -1;
		a = mem->ranges[i].addr + mem->ranges[i].len;
	}
	uint8_t *p = buf;
	size_t done = 0;
	while (done < len) {
		long r = mem->read(mem->ctx, addr + done, p + done, len - done);
		if (r <= 0 || (size_t)r > len - done)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* ---- notes --------------------------------------------------------------- */

static size_t note_size(const char *owner, size_t len)
{
	return sizeof(Elf64_Nhdr) + align_up(strlen(owner) + 1, 4) +
	       align_up(len, 4);
}

/* Append one note at (p); returns the bytes written. */
static size_t note_put(uint8_t *p, const char *owner, uint32_t type,
		       const void *desc, size_t len)
{
	Elf64_Nhdr nh = {
		.n_namesz = (Elf64_Word)(strlen(owner) + 1),
		.n_descsz = (Elf64_Word)len,
		.n_type = type,
	};
	size_t o = 0;

	memcpy(p, &nh, sizeof(nh));
	o += sizeof(nh);
	memcpy(p + o, owner, nh.n_namesz); /* padding already zero */
	o += align_up(nh.n_namesz, 4);
	if (len)
		memcpy(p + o, desc, len);
	o += align_up(len, 4);
	return o;
}

void ut_core_note_crash(ut_core_note_t *out, const struct ut_crash_rec *rec)
{
	out->owner = UT_CORE_NOTE_OWNER;
	out->type = UT_CORE_NT_CRASH;
	out->desc = rec;
	out->len = sizeof(*rec);
}

void ut_core_note_build_id(ut_core_note_t *out, const uint8_t *id,
			   size_t len)
{
	out->owner = UT_CORE_NOTE_OWNER;
	out->type = UT_CORE_NT_BUILD_ID;
	out->desc = id;
	out->len = len > UT_BUILD_ID_MAX ? UT_BUILD_ID_MAX : len;
}

void ut_core_note_prpsinfo(ut_core_note_t *out, void *buf, const char *name,
			   const char *args, uint32_t pid)
{
	struct elf_prpsinfo ps;

	memset(&ps, 0, sizeof(ps));
	ps.pr_sname = 'R';
	ps.pr_pid = (int)pid;
	if (name) {
		const char *b = strrchr(name, '/');
		snprintf(ps.pr_fname, sizeof(ps.pr_fname), "%s", b ? b + 1 : name);
	}
	/* pr_psargs need not be NUL-terminated: copy at most its size */
	const char *a = args ? args : name ? name : "";
	size_t n = strlen(a);
	memcpy(ps.pr_psargs, a, n < sizeof(ps.pr_psargs) ? n :
			       sizeof(ps.pr_psargs));
	memcpy(buf, &ps, sizeof(ps));
	out->owner = "CORE";
	out->type = NT_PRPSINFO;
	out->desc = buf;
	out->len = sizeof(ps);
}

/* ---- writing --------------------------------------------------------------- */

struct writer {
	int fd;
	const char *tmp;
	char *err;
	size_t errlen;
	uint64_t written; /* bytes written so far, for messages */
};

static int wr_fail(struct writer *w, const char *what, int e)
{
	if (e == ENOSPC || e == EDQUOT)
		fail_msg(w->err, w->errlen,
			 "%s %s: %s after %llu bytes; free space on that file "
			 "system or write the core elsewhere",
			 what, w->tmp, strerror(e),
			 (unsigned long long)w->written);
	else
		fail_msg(w->err, w->errlen, "%s %s: %s", what, w->tmp,
			 strerror(e));
	errno = e;
	return -1;
}

static int wr_at(struct writer *w, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(w->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return wr_fail(w, "writing", errno);
		}
		if (n == 0)
			return wr_fail(w, "writing", EIO);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
		w->written += (uint64_t)n;
	}
	return 0;
}

/* True if the page at (p) is all zero. */
static int page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)(const void *)p;
	uint64_t acc = 0;

	for (size_t i = 0; i < UT_CORE_PAGE / 8; i += 8)
		acc |= q[i] | q[i + 1] | q[i + 2] | q[i + 3] | q[i + 4] |
		       q[i + 5] | q[i + 6] | q[i + 7];
	return acc == 0;
}

#define UT_CORE_CHUNK_PAGES (UT_CORE_CHUNK / UT_CORE_PAGE)

/*
 * Fill (buf) with (len) bytes of guest memory at (addr): bulk reads, and
 * after a failure zeros up to the next page boundary and a new bulk read
 * from there.  (seg_addr) is the start of the segment: pages are counted
 * from it, as in the file.  Pages of which nothing could be read get
 * their bit set in (bad).
 */
static void fill_chunk(const ut_memsrc_t *mem, uint64_t addr, uint8_t *buf,
		       size_t len, uint64_t seg_addr,
		       uint64_t bad[UT_CORE_CHUNK_PAGES / 64])
{
	size_t pos = 0;

	memset(bad, 0, UT_CORE_CHUNK_PAGES / 8);
	while (pos < len) {
		long r = mem->read(mem->ctx, addr + pos, buf + pos, len - pos);
		if (r > 0) {
			if ((size_t)r > len - pos)
				r = (long)(len - pos);
			pos += (size_t)r;
			continue;
		}
		uint64_t rel = addr + pos - seg_addr;
		size_t next = (size_t)(align_up(rel + 1, UT_CORE_PAGE) -
				       (addr - seg_addr));
		if (next > len)
			next = len;
		memset(buf + pos, 0, next - pos);
		if (rel % UT_CORE_PAGE == 0) { /* nothing of it was read */
			size_t pg = pos / UT_CORE_PAGE;
			bad[pg / 64] |= 1ull << (pg % 64);
		}
		pos = next;
	}
}

/* Write range (r) at file offset (off): its non-zero pages only. */
static int write_range(struct writer *w, const ut_memsrc_t *mem,
		       const ut_mem_range_t *r, uint64_t off, uint8_t *buf,
		       ut_core_stats_t *st)
{
	uint64_t bad[UT_CORE_CHUNK_PAGES / 64];

	for (uint64_t done = 0; done < r->len;) {
		if (mem->unpopulated) {
			uint64_t u = mem->unpopulated(mem->ctx, r->addr + done,
						      r->len - done);
			if (u > r->len - done)
				u = r->len - done;
			if (u < r->len - done)
				u &= ~(uint64_t)(UT_CORE_PAGE - 1);
			if (u) {
				st->zero_pages += (u + UT_CORE_PAGE - 1) /
						  UT_CORE_PAGE;
				done += u;
				continue;
			}
		}
		size_t n = r->len - done > UT_CORE_CHUNK ? UT_CORE_CHUNK
							 : (size_t)(r->len - done);
		fill_chunk(mem, r->addr + done, buf, n, r->addr, bad);

		/* Runs of pages to write, one pwrite each. */
		size_t run = 0, p = 0;
		for (; p < n; p += UT_CORE_PAGE) {
			size_t pl = n - p < UT_CORE_PAGE ? n - p : UT_CORE_PAGE;
			size_t pg = p / UT_CORE_PAGE;
			bool hole;
			if (bad[pg / 64] >> (pg % 64) & 1) {
				hole = true;
				st->unreadable_pages++;
			} else {
				if (pl == UT_CORE_PAGE) {
					hole = page_is_zero(buf + p);
				} else {
					hole = true;
					for (size_t i = 0; i < pl && hole; i++)
						hole = !buf[p + i];
				}
				st->zero_pages += hole;
			}
			if (!hole)
				continue;
			if (p > run) {
				if (wr_at(w, buf + run, p - run,
					  off + done + run))
					return -1;
				st->data_pages += (p - run) / UT_CORE_PAGE;
			}
			run = p + pl;
		}
		if (n > run) {
			if (wr_at(w, buf + run, n - run, off + done + run))
				return -1;
			st->data_pages += (n - run + UT_CORE_PAGE - 1) /
					  UT_CORE_PAGE;
		}
		done += n;
	}
	return 0;
}

static bool bad_note(const ut_core_note_t *n)
{
	return !n->owner || strlen(n->owner) > 255 ||
	       n->len > UT_CORE_MAX_NOTE || (n->len && !n->desc);
}

static int check_args(const ut_memsrc_t *mem, const ut_core_thread_t *thr,
		      size_t nthr, const ut_core_note_t *extra, size_t nextra,
		      char *err, size_t errlen)
{
	if (!mem || (mem->nranges && (!mem->ranges || !mem->read))) {
		fail_msg(err, errlen, "no memory source");
		return -1;
	}
	if (nthr && !thr) {
		fail_msg(err, errlen, "no threads given");
		return -1;
	}
	if (nthr > 65536 || nextra > 65536) {
		fail_msg(err, errlen, "too many threads or notes");
		return -1;
	}
	if (mem->nranges > 0x7fffffffu - 2) {
		fail_msg(err, errlen, "too many memory ranges");
		return -1;
	}
	for (size_t i = 0; i < mem->nranges; i++) {
		const ut_mem_range_t *r = &mem->ranges[i];
		if (!r->len || r->addr + r->len < r->addr) {
			fail_msg(err, errlen,
				 "memory range %zu (0x%llx, %llu bytes) is "
				 "empty or wraps",
				 i, (unsigned long long)r->addr,
				 (unsigned long long)r->len);
			return -1;
		}
		if (i && r->addr < mem->ranges[i - 1].addr +
					   mem->ranges[i - 1].len) {
			fail_msg(err, errlen,
				 "memory ranges %zu and %zu are not sorted "
				 "and disjoint",
				 i - 1, i);
			return -1;
		}
	}
	for (size_t i = 0; i < nextra; i++)
		if (bad_note(&extra[i])) {
			fail_msg(err, errlen, "extra note %zu is malformed", i);
			return -1;
		}
	for (size_t i = 0; i < nthr; i++) {
		if (thr[i].nnotes > 8 || (thr[i].nnotes && !thr[i].notes)) {
			fail_msg(err, errlen, "thread %zu has bad notes", i);
			return -1;
		}
		for (size_t k = 0; k < thr[i].nnotes; k++)
			if (bad_note(&thr[i].notes[k])) {
				fail_msg(err, errlen, "note %zu of thread %zu is "
					 "malformed", k, i);
				return -1;
			}
	}
	return 0;
}

int ut_core_write(const char *path, const ut_memsrc_t *mem,
		  const ut_core_thread_t *thr, size_t nthr,
		  const ut_core_note_t *extra, size_t nextra,
		  ut_core_stats_t *stp, char *err, size_t errlen)
{
	ut_core_stats_t stl;
	ut_core_stats_t *st = stp ? stp : &stl;
	double t0 = now_s();
	char *tmp = NULL;
	uint8_t *hdr = NULL, *buf = NULL;
	struct writer w = { .fd = -1, .err = err, .errlen = errlen };
	int rc = -1, e = 0;

	memset(st, 0, sizeof(*st));
	if (!path || !*path) {
		fail_msg(err, errlen, "no core path given");
		errno = EINVAL;
		return -1;
	}
	if (check_args(mem, thr, nthr, extra, nextra, err, errlen)) {
		errno = EINVAL;
		return -1;
	}

	/* Layout: ehdr, phdrs, notes, then page-aligned segments. */
	size_t nph = 1 + mem->nranges;
	bool xnum = nph >= PN_XNUM; /* real count in section 0's sh_info */
	uint64_t notes_sz = 0;
	for (size_t i = 0; i < nthr; i++) {
		notes_sz += note_size("CORE", sizeof(struct elf_prstatus));
		for (size_t k = 0; k < thr[i].nnotes; k++)
			notes_sz += note_size(thr[i].notes[k].owner,
					      thr[i].notes[k].len);
	}
	for (size_t i = 0; i < nextra; i++)
		notes_sz += note_size(extra[i].owner, extra[i].len);
	uint64_t ph_off = sizeof(Elf64_Ehdr);
	uint64_t sh_off = ph_off + nph * sizeof(Elf64_Phdr);
	uint64_t note_off = sh_off + (xnum ? sizeof(Elf64_Shdr) : 0);
	uint64_t data_off = align_up(note_off + notes_sz, UT_CORE_PAGE);
	size_t hdr_len = (size_t)(note_off + notes_sz);

	hdr = calloc(1, hdr_len);
	buf = aligned_alloc(UT_CORE_PAGE, UT_CORE_CHUNK);
	if (!hdr || !buf) {
		fail_msg(err, errlen, "out of memory");
		e = ENOMEM;
		goto out;
	}

	Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)hdr;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	/* The notes follow Linux's core layout (elf_prstatus, NT_FILE, ...):
	 * ELFOSABI_GNU tells readers that pick a parser by OS (lldb) so. */
	eh->e_ident[EI_OSABI] = ELFOSABI_GNU;
	eh->e_type = ET_CORE;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = ph_off;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = xnum ? PN_XNUM : (Elf64_Half)nph;
	if (xnum) {
		Elf64_Shdr sh;
		memset(&sh, 0, sizeof(sh));
		sh.sh_info = (Elf64_Word)nph;
		memcpy(hdr + sh_off, &sh, sizeof(sh));
		eh->e_shoff = sh_off;
		eh->e_shentsize = sizeof(Elf64_Shdr);
		eh->e_shnum = 1;
	}

	Elf64_Phdr ph;
	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_NOTE;
	ph.p_offset = note_off;
	ph.p_filesz = notes_sz;
	ph.p_align = 4;
	memcpy(hdr + ph_off, &ph, sizeof(ph));
	uint64_t off = data_off;
	for (size_t i = 0; i < mem->nranges; i++) {
		const ut_mem_range_t *r = &mem->ranges[i];
		memset(&ph, 0, sizeof(ph));
		ph.p_type = PT_LOAD;
		ph.p_flags = r->flags & (PF_R | PF_W | PF_X);
		ph.p_offset = off;
		ph.p_vaddr = r->addr;
		ph.p_paddr = r->paddr;
		ph.p_filesz = r->len;
		ph.p_memsz = r->len;
		ph.p_align = UT_CORE_PAGE;
		memcpy(hdr + ph_off + (i + 1) * sizeof(ph), &ph, sizeof(ph));
		st->mem_bytes += r->len;
		off = align_up(off + r->len, UT_CORE_PAGE);
		if (off < data_off) {
			fail_msg(err, errlen, "memory ranges too large");
			e = EFBIG;
			goto out;
		}
	}
	uint64_t file_size = off;

	uint8_t *np = hdr + note_off;
	for (size_t i = 0; i < nthr; i++) {
		struct elf_prstatus ps;
		memset(&ps, 0, sizeof(ps));
		ps.pr_info.si_signo = thr[i].signo;
		ps.pr_cursig = (short)thr[i].signo;
		ps.pr_pid = (pid_t)thr[i].tid;
		memcpy(ps.pr_reg, thr[i].regs, sizeof(ps.pr_reg));
		np += note_put(np, "CORE", NT_PRSTATUS, &ps, sizeof(ps));
		for (size_t k = 0; k < thr[i].nnotes; k++)
			np += note_put(np, thr[i].notes[k].owner,
				       thr[i].notes[k].type, thr[i].notes[k].desc,
				       thr[i].notes[k].len);
	}
	for (size_t i = 0; i < nextra; i++)
		np += note_put(np, extra[i].owner, extra[i].type,
			       extra[i].desc, extra[i].len);

	size_t pl = strlen(path);
	tmp = malloc(pl + 5);
	if (!tmp) {
		fail_msg(err, errlen, "out of memory");
		e = ENOMEM;
		goto out;
	}
	memcpy(tmp, path, pl);
	memcpy(tmp + pl, ".tmp", 5);
	w.tmp = tmp;
	w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0600);
	if (w.fd < 0) {
		e = errno;
		fail_msg(err, errlen, "cannot create %s: %s", tmp, strerror(e));
		goto out;
	}
	if (wr_at(&w, hdr, hdr_len, 0))
		goto fail_io;
	off = data_off;
	for (size_t i = 0; i < mem->nranges; i++) {
		if (write_range(&w, mem, &mem->ranges[i], off, buf, st))
			goto fail_io;
		off = align_up(off + mem->ranges[i].len, UT_CORE_PAGE);
	}
	if (ftruncate(w.fd, (off_t)file_size)) {
		wr_fail(&w, "extending", errno);
		goto fail_io;
	}
	struct stat sb;
	if (fstat(w.fd, &sb) == 0) {
		st->file_bytes = (uint64_t)sb.st_size;
		st->disk_bytes = (uint64_t)sb.st_blocks * 512u;
	}
	/* close() reports delayed write errors on some file systems (NFS) */
	int fd = w.fd;
	w.fd = -1;
	if (close(fd)) {
		wr_fail(&w, "closing", errno);
		goto fail_io;
	}
	if (rename(tmp, path)) {
		e = errno;
		fail_msg(err, errlen, "cannot rename %s to %s: %s", tmp, path,
			 strerror(e));
		unlink(tmp);
		goto out;
	}
	rc = 0;
	goto out;
fail_io:
	e = errno;
	if (w.fd >= 0)
		close(w.fd);
	w.fd = -1;
	unlink(tmp);
out:
	free(tmp);
	free(hdr);
	free(buf);
	st->seconds = now_s() - t0;
	if (rc)
		errno = e ? e : EIO;
	return rc;
}

/* ---- checking ---------------------------------------------------------------- */

/* pread exactly (len) bytes at (off); -1 on error or end of file. */
static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Parse the notes (d, len) into (info).  -1 if they are garbled. */
static int check_notes(const uint8_t *d, size_t len, ut_core_info_t *info)
{
	size_t o = 0;

	while (len - o >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, d + o, sizeof(nh));
		o += sizeof(nh);
		uint64_t nsz = align_up(nh.n_namesz, 4);
		uint64_t dsz = align_up(nh.n_descsz, 4);
		if (nsz > len - o || dsz > len - o - nsz)
			return -1;
		const char *own = (const char *)d + o;
		const uint8_t *desc = d + o + nsz;
		bool core = nh.n_namesz == 5 && !memcmp(own, "CORE", 5);
		bool ours = nh.n_namesz == sizeof(UT_CORE_NOTE_OWNER) &&
			    !memcmp(own, UT_CORE_NOTE_OWNER,
				    sizeof(UT_CORE_NOTE_OWNER));
		if (core && nh.n_type == NT_PRSTATUS &&
		    nh.n_descsz == sizeof(struct elf_prstatus)) {
			struct elf_prstatus ps;
			memcpy(&ps, desc, sizeof(ps));
			if (!info->nthreads++) {
				info->signo = ps.pr_cursig;
				info->rip = ps.pr_reg[UT_X86_RIP];
			}
		} else if (ours && nh.n_type == UT_CORE_NT_CRASH &&
			   nh.n_descsz == sizeof(info->crash)) {
			memcpy(&info->crash, desc, sizeof(info->crash));
			info->has_crash = 1;
		} else if (ours && nh.n_type == UT_CORE_NT_BUILD_ID &&
			   nh.n_descsz <= UT_BUILD_ID_MAX) {
			memcpy(info->build_id, desc, nh.n_descsz);
			info->build_id_len = nh.n_descsz;
		}
		o += nsz + dsz;
	}
	return o == len ? 0 : -1;
}

int ut_core_check(const char *path, ut_core_info_t *info, char *err,
		  size_t errlen)
{
	struct stat sb;
	Elf64_Ehdr eh;
	Elf64_Phdr *ph = NULL;
	uint8_t *notes = NULL;
	int fd, rc = -1;

	memset(info, 0, sizeof(*info));
	info->signo = -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		fail_msg(err, errlen, "cannot open %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		fail_msg(err, errlen, "%s is not a regular file", path);
		goto out;
	}
	uint64_t fsz = (uint64_t)sb.st_size;
	info->file_bytes = fsz;
	info->disk_bytes = (uint64_t)sb.st_blocks * 512u;
	memset(&eh, 0, sizeof(eh));
	size_t head = fsz < sizeof(eh) ? (size_t)fsz : sizeof(eh);
	if (head < SELFMAG || read_at(fd, &eh, head, 0) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		fail_msg(err, errlen, "%s is not an ELF file%s", path,
			 fsz ? "" : " (it is empty)");
		goto out;
	}
	if (head < sizeof(eh)) {
		fail_msg(err, errlen, "%s is %llu bytes: a truncated ELF file",
			 path, (unsigned long long)fsz);
		goto out;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_type != ET_CORE ||
	    eh.e_machine != EM_X86_64) {
		fail_msg(err, errlen,
			 "%s is an ELF file but not an x86-64 core (class "
			 "%u, type %u, machine %u)",
			 path, eh.e_ident[EI_CLASS], eh.e_type, eh.e_machine);
		goto out;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr)) {
		fail_msg(err, errlen, "%s: garbled ELF header", path);
		goto out;
	}
	uint64_t nph = eh.e_phnum;
	if (nph == PN_XNUM) {
		Elf64_Shdr sh;
		if (eh.e_shoff > fsz || fsz - eh.e_shoff < sizeof(sh) ||
		    read_at(fd, &sh, sizeof(sh), eh.e_shoff)) {
			fail_msg(err, errlen, "%s is truncated (section "
					      "header)", path);
			goto out;
		}
		nph = sh.sh_info;
	}
	if (eh.e_phoff > fsz || nph > (fsz - eh.e_phoff) / sizeof(Elf64_Phdr)) {
		fail_msg(err, errlen,
			 "%s is truncated: its %llu program headers end past "
			 "its %llu bytes",
			 path, (unsigned long long)nph, (unsigned long long)fsz);
		goto out;
	}
	if (!nph || !(ph = malloc(nph * sizeof(*ph))) ||
	    read_at(fd, ph, nph * sizeof(*ph), eh.e_phoff)) {
		fail_msg(err, errlen, "%s: no readable program headers", path);
		goto out;
	}
	bool have_notes = false;
	for (uint64_t i = 0; i < nph; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_offset > fsz || p->p_filesz > fsz - p->p_offset) {
			fail_msg(err, errlen,
				 "%s is truncated: segment %llu ends at byte "
				 "%llu, the file has %llu",
				 path, (unsigned long long)i,
				 (unsigned long long)(p->p_offset + p->p_filesz),
				 (unsigned long long)fsz);
			goto out;
		}
		if (p->p_type == PT_LOAD) {
			info->nloads++;
			info->mem_bytes += p->p_memsz;
			continue;
		}
		if (p->p_type != PT_NOTE)
			continue;
		if (p->p_filesz > UT_CORE_MAX_NOTE * 4) {
			fail_msg(err, errlen, "%s: notes of %llu bytes: garbled",
				 path, (unsigned long long)p->p_filesz);
			goto out;
		}
		free(notes);
		notes = malloc(p->p_filesz ? p->p_filesz : 1);
		if (!notes || read_at(fd, notes, p->p_filesz, p->p_offset) ||
		    check_notes(notes, p->p_filesz, info)) {
			fail_msg(err, errlen, "%s: garbled notes", path);
			goto out;
		}
		have_notes = true;
	}
	if (!have_notes || !info->nthreads) {
		fail_msg(err, errlen,
			 "%s has no thread registers (no NT_PRSTATUS note): "
			 "garbled or not a core of a process",
			 path);
		goto out;
	}
	rc = 0;
out:
	free(ph);
	free(notes);
	close(fd);
	return rc;
}

int ut_open_regular(const char *path)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

/* ---- NT_FILE for a statically linked kernel -------------------------------- */

int ut_core_ntfile_elf(const char *elf_path, void **out, size_t *len)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	uint64_t ent[64][3];
	size_t n = 0, plen = strlen(elf_path) + 1;
	int fd = ut_open_regular(elf_path);

	*out = NULL;
	*len = 0;
	if (fd < 0)
		return -1;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > 64 ||
	    pread(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), (off_t)eh.e_phoff)
		    != (ssize_t)(eh.e_phnum * sizeof(Elf64_Phdr))) {
		close(fd);
		return -1;
	}
	close(fd);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD || p->p_memsz == 0 ||
		    p->p_vaddr + p->p_memsz < p->p_vaddr ||
		    p->p_vaddr % UT_CORE_PAGE != p->p_offset % UT_CORE_PAGE)
			continue;
		uint64_t start = p->p_vaddr & ~(uint64_t)(UT_CORE_PAGE - 1);
		uint64_t end = align_up(p->p_vaddr + p->p_memsz, UT_CORE_PAGE);
		if (end < start)
			continue;
		/* Sorted by start (insertion: at most 64). */
		size_t k = n;
		while (k && ent[k - 1][0] > start) {
			memcpy(ent[k], ent[k - 1], sizeof(ent[k]));
			k--;
		}
		ent[k][0] = start;
		ent[k][1] = end;
		ent[k][2] = (p->p_offset - (p->p_vaddr - start)) / UT_CORE_PAGE;
		n++;
	}
	if (!n)
		return -1;
	/* count, page size, {start, end, page offset}[count], the names. */
	size_t total = 16 + n * 24 + n * plen;
	uint8_t *b = calloc(1, total);
	if (!b)
		return -1;
	uint64_t hdr[2] = {n, UT_CORE_PAGE};
	memcpy(b, hdr, sizeof(hdr));
	memcpy(b + 16, ent, n * 24);
	for (size_t i = 0; i < n; i++)
		memcpy(b + 16 + n * 24 + i * plen, elf_path, plen);
	*out = b;
	*len = total;
	return 0;
}

int ut_core_auxv_elf(const char *elf_path, uint64_t auxv[6])
{
	Elf64_Ehdr eh;
	int fd = ut_open_regular(elf_path);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, &eh, sizeof(eh), 0);
	close(fd);
	if (n != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_entry == 0)
		return -1;
	auxv[0] = AT_PAGESZ;
	auxv[1] = UT_CORE_PAGE;
	auxv[2] = AT_ENTRY;
	auxv[3] = eh.e_entry;
	auxv[4] = AT_NULL;
	auxv[5] = 0;
	return 0;
}
