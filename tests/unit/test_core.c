/*
 * Crash diagnostics: the ELF core writer and checker, the frame-pointer
 * walk, libdw symbolization and CFI unwinding, the crash rows of the
 * store, and `unitrace crash` on good and damaged inputs.
 *
 * The core is checked with libelf, independently of the writer.  Real
 * crashes are made by forked children of this program (SIGSEGV with frame
 * pointers, SIGABRT through glibc without them); gdb opens one of the
 * cores if it is installed.  No timing asserts.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <link.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "backtrace.h"
#include "collector.h"
#include "core.h"
#include "crash.h"
#include "../tap.h"

extern const struct ut_cmd ut_cmd_crash;


static char dir[64];

static char *path_in(const char *name)
{
	static char buf[8][192];
	static int k;
	char *p = buf[k++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

/* ---- a synthetic memory source --------------------------------------- */

#define PG 4096u

struct synth {
	ut_mem_range_t r[4];
	uint8_t *data[4];        /* contents of each range */
	uint8_t *bad[4];         /* per page: 1 = unreadable */
	size_t n;
	int short_reads;         /* return at most this many bytes per call */
	unsigned long calls;
};

static long synth_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct synth *s = ctx;

	s->calls++;
	for (size_t i = 0; i < s->n; i++) {
		const ut_mem_range_t *r = &s->r[i];
		if (addr < r->addr || addr - r->addr >= r->len)
			continue;
		uint64_t o = addr - r->addr;
		size_t n = 0;
		while (n < len && o + n < r->len) {
			if (s->bad[i][(o + n) / PG])
				break;
			n++;
			if (s->short_reads && n >= (size_t)s->short_reads)
				break;
		}
		if (n)
			memcpy(buf, s->data[i] + o, n);
		return n ? (long)n : -1;
	}
	return -1;
}

static void synth_add(struct synth *s, uint64_t addr, uint64_t len,
		      uint32_t flags)
{
	size_t i = s->n++;

	s->r[i] = (ut_mem_range_t){ addr, len, flags, 0 };
	s->data[i] = calloc(1, len);
	s->bad[i] = calloc(1, (len + PG - 1) / PG);
}

static void synth_fill(struct synth *s, size_t i, uint64_t off, size_t len,
		       unsigned seed)
{
	for (size_t k = 0; k < len; k++)
		s->data[i][off + k] = (uint8_t)(seed * 131 + k * 7 + 1) | 1;
}

static uint64_t unpop_skipped;

/* Unpopulated: the run of all-zero readable pages from (addr) (only in
 * ranges past the first), at most (len). */
static uint64_t synth_unpopulated(void *ctx, uint64_t addr, uint64_t len)
{
	struct synth *s = ctx;

	for (size_t i = 1; i < s->n; i++) {
		const ut_mem_range_t *r = &s->r[i];
		if (addr < r->addr || addr - r->addr >= r->len)
			continue;
		uint64_t o = addr - r->addr, n = 0;
		while (n < len && o + n + PG <= r->len && !s->bad[i][(o + n) / PG]) {
			size_t k = 0;
			while (k < PG && !s->data[i][o + n + k])
				k++;
			if (k < PG)
				break;
			n += PG;
		}
		unpop_skipped += n / PG;
		return n;
	}
	return 0;
}

static void synth_free(struct synth *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->data[i]);
		free(s->bad[i]);
	}
}

static ut_memsrc_t synth_src(struct synth *s)
{
	return (ut_memsrc_t){ .ctx = s, .ranges = s->r, .nranges = s->n,
			      .read = synth_read };
}

/* ---- reading a core back with libelf ------------------------------------ */

struct parsed {
	int ok;
	GElf_Ehdr eh;
	size_t nph;
	int nprstatus, ncrash, nbuild, nprpsinfo;
	uint32_t tids[4];
	int sigs[4];
	uint64_t rip0;
	struct ut_crash_rec crash;
	uint8_t build[64];
	size_t build_len;
	char fname[17];
	uint32_t types[16]; /* the first notes' types, in file order */
	int ntypes;
};

static void parse_core(const char *path, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || !gelf_getehdr(e, &p->eh) || elf_getphdrnum(e, &p->nph))
		goto out;
	for (size_t i = 0; i < p->nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph))
			goto out;
		if (ph.p_type != PT_NOTE)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset,
						   ph.p_filesz, ELF_T_NHDR);
		if (!d)
			goto out;
		size_t o = 0, no, dof;
		GElf_Nhdr nh;
		while ((o = gelf_getnote(d, o, &nh, &no, &dof)) > 0) {
			const char *own = (const char *)d->d_buf + no;
			const uint8_t *desc = (const uint8_t *)d->d_buf + dof;
			if (p->ntypes < 16)
				p->types[p->ntypes++] = nh.n_type;
			if (!strcmp(own, "CORE") && nh.n_type == NT_PRSTATUS &&
			    nh.n_descsz == sizeof(struct elf_prstatus)) {
				struct elf_prstatus ps;
				memcpy(&ps, desc, sizeof(ps));
				if (p->nprstatus < 4) {
					p->tids[p->nprstatus] = (uint32_t)ps.pr_pid;
					p->sigs[p->nprstatus] = ps.pr_cursig;
				}
				if (!p->nprstatus)
					p->rip0 = ps.pr_reg[UT_X86_RIP];
				p->nprstatus++;
			} else if (!strcmp(own, "CORE") &&
				   nh.n_type == NT_PRPSINFO &&
				   nh.n_descsz == sizeof(struct elf_prpsinfo)) {
				struct elf_prpsinfo ps;
				memcpy(&ps, desc, sizeof(ps));
				memcpy(p->fname, ps.pr_fname, 16);
				p->nprpsinfo++;
			} else if (!strcmp(own, "UNITRACE") &&
				   nh.n_type == UT_CORE_NT_CRASH &&
				   nh.n_descsz == sizeof(p->crash)) {
				memcpy(&p->crash, desc, sizeof(p->crash));
				p->ncrash++;
			} else if (!strcmp(own, "UNITRACE") &&
				   nh.n_type == UT_CORE_NT_BUILD_ID &&
				   nh.n_descsz <= sizeof(p->build)) {
				memcpy(p->build, desc, nh.n_descsz);
				p->build_len = nh.n_descsz;
				p->nbuild++;
			}
		}
	}
	p->ok = 1;
out:
	if (e)
		elf_end(e);
	close(fd);
}

/* Compare every PT_LOAD of (path) with (s): unreadable pages read as
 * zeros.  Returns the number of mismatching segments. */
static int compare_loads(const char *path, struct synth *s, int *nloads)
{
	int bad = 0, fd = open(path, O_RDONLY);
	Elf *e;
	size_t nph;

	*nloads = 0;
	elf_version(EV_CURRENT);
	if (fd < 0 || !(e = elf_begin(fd, ELF_C_READ, NULL)))
		return 99;
	elf_getphdrnum(e, &nph);
	size_t k = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		gelf_getphdr(e, (int)i, &ph);
		if (ph.p_type != PT_LOAD)
			continue;
		(*nloads)++;
		if (k >= s->n || ph.p_vaddr != s->r[k].addr ||
		    ph.p_memsz != s->r[k].len || ph.p_filesz != s->r[k].len ||
		    ph.p_offset % PG || ph.p_flags != s->r[k].flags) {
			bad++;
			k++;
			continue;
		}
		uint8_t *b = malloc(ph.p_filesz);
		if (pread(fd, b, ph.p_filesz, (off_t)ph.p_offset) !=
		    (ssize_t)ph.p_filesz)
			bad++;
		for (uint64_t o = 0; o < ph.p_filesz; o++) {
			uint8_t want = s->bad[k][o / PG] ? 0 : s->data[k][o];
			if (b[o] != want) {
				printf("# segment %zu byte %llu: %u != %u\n", k,
				       (unsigned long long)o, b[o], want);
				bad++;
				break;
			}
		}
		free(b);
		k++;
	}
	elf_end(e);
	close(fd);
	return bad;
}

static int exists(const char *p)
{
	struct stat sb;
	return lstat(p, &sb) == 0;
}

static struct ut_crash_rec sample_rec(void)
{
	struct ut_crash_rec r;

	memset(&r, 0, sizeof(r));
	r.magic = UT_CRASH_MAGIC;
	r.version = UT_CRASH_VERSION;
	r.kind = UT_CRASH_SIGNAL;
	r.arch = UT_ARCH_X86_64;
	r.signo = SIGSEGV;
	r.code = 1;
	r.vcpu = 0;
	r.tid = 4242;
	r.fault_addr = 0x10;
	snprintf(r.reason, sizeof(r.reason), "Segmentation fault\x1b[31m");
	for (unsigned i = 0; i < UT_CRASH_NREGS; i++)
		r.regs[i] = 0x1000 + i;
	r.regs[UT_X86_RIP] = 0x10010;
	return r;
}

/* ---- 1. the writer on a synthetic source ----------------------------------- */

static struct synth S;
static char good_core[192];

static void test_writer(void)
{
	memset(&S, 0, sizeof(S));
	/* range 0: data, zero, data, unreadable, data */
	synth_add(&S, 0x10000, 5 * PG, UT_MEM_R | UT_MEM_X);
	synth_fill(&S, 0, 0, PG, 1);
	synth_fill(&S, 0, 2 * PG, PG, 2);
	synth_fill(&S, 0, 3 * PG, PG, 3); /* hidden: unreadable */
	S.bad[0][3] = 1;
	synth_fill(&S, 0, 4 * PG, PG, 4);
	/* range 1: 3 MiB, mostly zero, unreadable pages across the 1 MiB
	 * chunk boundary, a page with a single non-zero byte at its end */
	synth_add(&S, 0x400000, 3u << 20, UT_MEM_R | UT_MEM_W);
	synth_fill(&S, 1, 0, PG, 5);
	synth_fill(&S, 1, (1u << 20) + PG, 3 * PG, 6);
	S.bad[1][255] = S.bad[1][256] = S.bad[1][257] = 1;
	S.data[1][(3u << 20) - 1] = 0x5a;
	/* range 2: not a multiple of the page size */
	synth_add(&S, 0x7ff000000000ull, PG + 100, UT_MEM_R);
	synth_fill(&S, 2, 0, PG + 100, 7);

	ut_memsrc_t src = synth_src(&S);
	struct ut_crash_rec rec = sample_rec();
	ut_core_thread_t thr[2];
	memset(thr, 0, sizeof(thr));
	thr[0].tid = 101;
	thr[0].signo = SIGSEGV;
	memcpy(thr[0].regs, rec.regs, sizeof(rec.regs));
	thr[1].tid = 102;
	thr[1].regs[UT_X86_RIP] = 0x10020;
	uint8_t bid[20];
	for (int i = 0; i < 20; i++)
		bid[i] = (uint8_t)(0xa0 + i);
	ut_core_note_t notes[3];
	uint8_t psbuf[UT_CORE_PRPSINFO_SIZE];
	ut_core_note_prpsinfo(&notes[0], psbuf, "/usr/bin/my-unikernel-name",
			      "my-unikernel --port 80", 77);
	ut_core_note_crash(&notes[1], &rec);
	ut_core_note_build_id(&notes[2], bid, sizeof(bid));

	snprintf(good_core, sizeof(good_core), "%s", path_in("good.core"));
	ut_core_stats_t st;
	char err[512] = "";
	int rc = ut_core_write(good_core, &src, thr, 2, notes, 3, &st, err,
			       sizeof(err));
	is_int(rc, 0, "ut_core_write succeeds (%s)", err);
	ok(exists(good_core), "the core exists");
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s.tmp", good_core);
	ok(!exists(tmp), "no .tmp file is left after success");

	struct parsed p;
	parse_core(good_core, &p);
	ok(p.ok, "libelf reads the core");
	ok(p.eh.e_type == ET_CORE && p.eh.e_machine == EM_X86_64 &&
		   p.eh.e_ident[EI_CLASS] == ELFCLASS64,
	   "ELF64 ET_CORE x86-64");
	is_int(p.nph, 4, "one PT_NOTE and three PT_LOAD");
	is_int(p.nprstatus, 2, "two NT_PRSTATUS notes");
	ok(p.tids[0] == 101 && p.tids[1] == 102 && p.sigs[0] == SIGSEGV &&
		   p.sigs[1] == 0,
	   "threads in order, crashing one first with its signal");
	ok(p.rip0 == 0x10010, "pr_reg holds the registers (rip)");
	ok(p.ncrash == 1 && !memcmp(&p.crash, &rec, sizeof(rec)),
	   "UNITRACE crash note holds the raw record");
	ok(p.nbuild == 1 && p.build_len == 20 && !memcmp(p.build, bid, 20),
	   "UNITRACE build-id note");
	ok(p.nprpsinfo == 1 && !strcmp(p.fname, "my-unikernel-na"),
	   "NT_PRPSINFO with the program name (%s)", p.fname);
	int nloads;
	is_int(compare_loads(good_core, &S, &nloads), 0,
	       "PT_LOAD contents equal the source (unreadable pages as zeros)");
	is_int(nloads, 3, "three PT_LOAD segments");

	/* pages: r0 3 data 1 zero 1 bad; r1 768 pages: 1 + 2 + 1 data
	 * (page 257 has data but is unreadable), 3 bad, 761 zero; r2 2 data */
	is_int(st.data_pages, 3 + 4 + 2, "data pages written");
	is_int(st.unreadable_pages, 1 + 3, "unreadable pages counted");
	is_int(st.zero_pages, 1 + 761, "zero pages counted");
	is_int(st.mem_bytes, 5 * PG + (3u << 20) + PG + 100, "memory size");
	struct stat sb;
	stat(good_core, &sb);
	is_int(st.file_bytes, sb.st_size, "file size reported");
	ok(sb.st_size > (off_t)(3u << 20), "file has its full size (%lld)",
	   (long long)sb.st_size);
	ok((uint64_t)sb.st_blocks * 512 <= (10 + 1 + 16) * PG,
	   "zero and unreadable pages take no disk blocks (%llu bytes on "
	   "disk for %llu data pages)",
	   (unsigned long long)sb.st_blocks * 512,
	   (unsigned long long)st.data_pages);

	ut_core_info_t info;
	rc = ut_core_check(good_core, &info, err, sizeof(err));
	ok(rc == 0 && info.nthreads == 2 && info.nloads == 3 &&
		   info.has_crash && info.build_id_len == 20 &&
		   info.signo == SIGSEGV,
	   "ut_core_check accepts it (%s)", rc ? err : "ok");

	ok(p.ntypes >= 3 && p.types[0] == NT_PRSTATUS &&
		   p.types[1] == NT_PRSTATUS && p.types[2] == NT_PRPSINFO,
	   "threads without notes of their own: the extra notes follow");

	/* a thread's own notes come right after its NT_PRSTATUS, where a
	 * debugger ties them to it; malformed ones are refused */
	{
		uint8_t si[128] = {1}, fp[512] = {2};
		ut_core_note_t n0[1] = {{"CORE", NT_SIGINFO, si, sizeof(si)}};
		ut_core_note_t n1[1] = {{"CORE", NT_FPREGSET, fp, sizeof(fp)}};
		ut_core_thread_t t2[2];
		memcpy(t2, thr, sizeof(t2));
		t2[0].notes = n0;
		t2[0].nnotes = 1;
		t2[1].notes = n1;
		t2[1].nnotes = 1;
		char *c3 = path_in("thrnotes.core");
		struct parsed p3;
		rc = ut_core_write(c3, &src, t2, 2, notes, 3, NULL, err,
				   sizeof(err));
		parse_core(c3, &p3);
		ok(rc == 0 && p3.ntypes >= 5 && p3.types[0] == NT_PRSTATUS &&
			   p3.types[1] == NT_SIGINFO &&
			   p3.types[2] == NT_PRSTATUS &&
			   p3.types[3] == NT_FPREGSET &&
			   p3.types[4] == NT_PRPSINFO && p3.nprstatus == 2,
		   "each thread's notes follow its NT_PRSTATUS (%s)",
		   rc ? err : "ok");
		unlink(c3);
		n1[0].desc = NULL;
		rc = ut_core_write(c3, &src, t2, 2, notes, 3, NULL, err,
				   sizeof(err));
		ok(rc == -1 && strstr(err, "note 0 of thread 1") && !exists(c3),
		   "a thread's malformed note is refused (%s)", err);
		t2[1].notes = NULL;
		rc = ut_core_write(c3, &src, t2, 2, notes, 3, NULL, err,
				   sizeof(err));
		ok(rc == -1 && strstr(err, "bad notes"),
		   "notes counted but absent are refused (%s)", err);
	}

	/* short reads from the source give the same file */
	S.short_reads = 1000;
	char *c2 = path_in("short.core");
	rc = ut_core_write(c2, &src, thr, 2, notes, 3, NULL, err, sizeof(err));
	S.short_reads = 0;
	ok(rc == 0 && compare_loads(c2, &S, &nloads) == 0,
	   "short reads from the source give the same contents");
	unlink(c2);

	/* a source that knows which pages are unpopulated: the same file,
	 * fewer reads */
	unsigned long calls0 = S.calls;
	ut_memsrc_t src2 = src;
	src2.unpopulated = synth_unpopulated;
	char *c3 = path_in("unpop.core");
	ut_core_stats_t st2;
	rc = ut_core_write(c3, &src2, thr, 2, notes, 3, &st2, err, sizeof(err));
	ok(rc == 0 && compare_loads(c3, &S, &nloads) == 0 &&
		   st2.data_pages == st.data_pages &&
		   st2.zero_pages + st2.unreadable_pages ==
			   st.zero_pages + st.unreadable_pages,
	   "unpopulated pages skipped unread: same contents (%lu reads, "
	   "%llu pages skipped)",
	   S.calls - calls0, (unsigned long long)unpop_skipped);
	ok(unpop_skipped > 0 && st2.data_pages == 9, "the callback was used");
	unlink(c3);

	/* no threads, no ranges: still a valid (if useless) ELF */
	ut_memsrc_t none = { 0 };
	rc = ut_core_write(path_in("empty.core"), &none, NULL, 0, NULL, 0,
			   NULL, err, sizeof(err));
	parse_core(path_in("empty.core"), &p);
	ok(rc == 0 && p.ok && p.nph == 1, "a core with no memory is valid ELF");
	rc = ut_core_check(path_in("empty.core"), &info, err, sizeof(err));
	ok(rc == -1 && strstr(err, "no thread"),
	   "the checker rejects a core without threads: %s", err);
}

/* ---- 2. failures: arguments, .tmp and rename ----------------------------- */

static void test_write_failures(void)
{
	ut_memsrc_t src = synth_src(&S);
	ut_core_thread_t thr;
	char err[512];
	int rc;

	memset(&thr, 0, sizeof(thr));
	thr.tid = 1;

	ut_mem_range_t bad[2] = { { 0x2000, PG, UT_MEM_R, 0 },
				  { 0x1000, PG, UT_MEM_R, 0 } };
	ut_memsrc_t unsorted = src;
	unsorted.ranges = bad;
	unsorted.nranges = 2;
	rc = ut_core_write(path_in("x.core"), &unsorted, &thr, 1, NULL, 0,
			   NULL, err, sizeof(err));
	ok(rc == -1 && strstr(err, "sorted") && !exists(path_in("x.core")) &&
		   !exists(path_in("x.core.tmp")),
	   "unsorted ranges refused: %s", err);
	bad[1] = (ut_mem_range_t){ 0xfffffffffffff000ull, 2 * PG, UT_MEM_R, 0 };
	unsorted.ranges = bad + 1;
	unsorted.nranges = 1;
	rc = ut_core_write(path_in("x.core"), &unsorted, &thr, 1, NULL, 0,
			   NULL, err, sizeof(err));
	ok(rc == -1 && strstr(err, "wraps"), "wrapping range refused: %s",
	   err);

	/* An old core at the path survives a failed write, and no .tmp is
	 * left: the write fails midway (file size limit, like a full
	 * disk). */
	char *path = path_in("old.core");
	FILE *f = fopen(path, "w");
	fputs("old core", f);
	fclose(f);
	struct rlimit old, lim;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 256 * 1024;
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &lim);
	rc = ut_core_write(path, &src, &thr, 1, NULL, 0, NULL, err,
			   sizeof(err));
	int e = errno;
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	char buf[32] = "";
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ok(rc == -1 && e == EFBIG && strstr(err, ".tmp"),
	   "a write failing midway reports it: %s", err);
	ok(!strcmp(buf, "old core") && !exists(tmp),
	   "the old file is intact and no .tmp is left");

	/* a symlink planted at PATH.tmp is not followed */
	char *victim = path_in("victim");
	f = fopen(victim, "w");
	fputs("victim", f);
	fclose(f);
	symlink(victim, tmp);
	rc = ut_core_write(path, &src, &thr, 1, NULL, 0, NULL, err,
			   sizeof(err));
	struct stat sb;
	stat(victim, &sb);
	ok(rc == -1 && sb.st_size == 6, "a symlink at .tmp is refused: %s",
	   err);
	unlink(tmp);

	rc = ut_core_write(path_in("nodir/x.core"), &src, &thr, 1, NULL, 0,
			   NULL, err, sizeof(err));
	ok(rc == -1 && strstr(err, "cannot create"),
	   "missing directory: %s", err);

	ut_core_note_t n = { .owner = NULL, .type = 1, .desc = "x", .len = 1 };
	rc = ut_core_write(path_in("x.core"), &src, &thr, 1, &n, 1, NULL, err,
			   sizeof(err));
	ok(rc == -1 && strstr(err, "note"), "a malformed note is refused: %s",
	   err);
}

/* ---- 3. the checker on damaged cores ---------------------------------------- */

static size_t file_size(const char *p)
{
	struct stat sb;
	return stat(p, &sb) ? 0 : (size_t)sb.st_size;
}

static void copy_file(const char *from, const char *to, size_t len)
{
	int a = open(from, O_RDONLY), b = open(to, O_WRONLY | O_CREAT |
							 O_TRUNC, 0600);
	static uint8_t buf[1 << 16];
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(a, buf, sizeof(buf) < len - done ? sizeof(buf)
								   : len - done);
		if (n <= 0)
			break;
		if (write(b, buf, (size_t)n) != n)
			break;
		done += (size_t)n;
	}
	close(a);
	close(b);
}

static void poke(const char *p, off_t off, const void *v, size_t len)
{
	int fd = open(p, O_WRONLY);
	if (pwrite(fd, v, len, off) != (ssize_t)len)
		printf("# poke failed\n");
	close(fd);
}

static char trunc_core[192], garbled_core[192];

static void test_checker(void)
{
	ut_core_info_t info;
	char err[512];
	size_t sz = file_size(good_core);

	snprintf(trunc_core, sizeof(trunc_core), "%s", path_in("trunc.core"));
	copy_file(good_core, trunc_core, sz / 2);
	ok(ut_core_check(trunc_core, &info, err, sizeof(err)) == -1 &&
		   strstr(err, "truncated"),
	   "truncated core: %s", err);

	copy_file(good_core, path_in("t2.core"), 100);
	ok(ut_core_check(path_in("t2.core"), &info, err, sizeof(err)) == -1 &&
		   strstr(err, "truncated"),
	   "core cut in its headers: %s", err);
	copy_file(good_core, path_in("t3.core"), 10);
	ok(ut_core_check(path_in("t3.core"), &info, err, sizeof(err)) == -1,
	   "core cut in its ELF header: %s", err);

	/* garbled: first note's name size huge */
	snprintf(garbled_core, sizeof(garbled_core), "%s",
		 path_in("garbled.core"));
	copy_file(good_core, garbled_core, sz);
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(good_core, O_RDONLY);
	pread(fd, &eh, sizeof(eh), 0);
	pread(fd, &ph, sizeof(ph), (off_t)eh.e_phoff);
	close(fd);
	uint32_t huge = 0x7ffffff0;
	poke(garbled_core, (off_t)ph.p_offset, &huge, 4);
	ok(ut_core_check(garbled_core, &info, err, sizeof(err)) == -1 &&
		   strstr(err, "garbled"),
	   "garbled notes: %s", err);

	copy_file(good_core, path_in("g2.core"), sz);
	uint64_t far = 1ull << 60;
	poke(path_in("g2.core"), (off_t)(eh.e_phoff + sizeof(ph) +
					 offsetof(Elf64_Phdr, p_offset)),
	     &far, 8);
	ok(ut_core_check(path_in("g2.core"), &info, err, sizeof(err)) == -1,
	   "segment offset past the end: %s", err);

	copy_file(good_core, path_in("g3.core"), sz);
	uint16_t et = ET_EXEC;
	poke(path_in("g3.core"), offsetof(Elf64_Ehdr, e_type), &et, 2);
	ok(ut_core_check(path_in("g3.core"), &info, err, sizeof(err)) == -1 &&
		   strstr(err, "not an x86-64 core"),
	   "an ELF that is not a core: %s", err);

	FILE *f = fopen(path_in("text.core"), "w");
	fputs("this is not a core file, just some text\n", f);
	fclose(f);
	ok(ut_core_check(path_in("text.core"), &info, err, sizeof(err)) == -1 &&
		   strstr(err, "not an ELF"),
	   "a text file: %s", err);
	ok(ut_core_check(path_in("missing.core"), &info, err, sizeof(err)) ==
			   -1 &&
		   strstr(err, "cannot open"),
	   "a missing file: %s", err);
	ok(ut_core_check(dir, &info, err, sizeof(err)) == -1,
	   "a directory: %s", err);

	/* random damage to the first 4 KiB: never crashes, never hangs */
	size_t head = sz < 8192 ? sz : 8192;
	uint8_t *orig = malloc(head), *m = malloc(head);
	fd = open(good_core, O_RDONLY);
	pread(fd, orig, head, 0);
	close(fd);
	srand(12345);
	int rejected = 0, runs = 3000;
	char *mp = path_in("mut.core");
	copy_file(good_core, mp, sz);
	for (int i = 0; i < runs; i++) {
		memcpy(m, orig, head);
		int k = 1 + rand() % 8;
		for (int j = 0; j < k; j++) {
			size_t at = (size_t)rand() % (i % 2 ? 64 + 5 * 56 : head);
			m[at] = (uint8_t)rand();
		}
		poke(mp, 0, m, head);
		rejected += ut_core_check(mp, &info, err, sizeof(err)) != 0;
	}
	ok(1, "%d random mutations checked without a crash (%d rejected)",
	   runs, rejected);
	free(orig);
	free(m);
}

/* ---- 4. the frame-pointer walk on synthetic stacks --------------------------- */

#define CODE 0x400000ull
#define STK 0x7ffd0000ull

static struct synth W;

static void put64(uint64_t addr, uint64_t v)
{
	for (size_t i = 0; i < W.n; i++)
		if (addr >= W.r[i].addr && addr + 8 <= W.r[i].addr + W.r[i].len) {
			memcpy(W.data[i] + (addr - W.r[i].addr), &v, 8);
			return;
		}
	printf("# put64 0x%llx outside\n", (unsigned long long)addr);
}

/* A chain of (n) frames from rbp = STK + 0x100, 0x40 apart; frame k
 * returns to CODE + 0x100 * (k + 1); the last links to (last_next). */
static void build_chain(int n, uint64_t last_next)
{
	memset(W.data[1], 0, W.r[1].len);
	for (int k = 0; k < n; k++) {
		uint64_t rbp = STK + 0x100 + 0x40 * (uint64_t)k;
		put64(rbp, k + 1 < n ? rbp + 0x40 : last_next);
		put64(rbp + 8, CODE + 0x100 * (uint64_t)(k + 1));
	}
}

static void test_fp_walk(void)
{
	memset(&W, 0, sizeof(W));
	synth_add(&W, CODE, 16 * PG, UT_MEM_R | UT_MEM_X);
	synth_add(&W, STK, 32 * PG, UT_MEM_R | UT_MEM_W);
	ut_memsrc_t src = synth_src(&W);
	uint64_t regs[UT_CRASH_NREGS] = { 0 };
	ut_backtrace_t bt;

	regs[UT_X86_RIP] = CODE + 0x42;
	regs[UT_X86_RBP] = STK + 0x100;
	regs[UT_X86_RSP] = STK + 0xf0;

	build_chain(5, 0);
	ut_bt_fp_walk(&src, regs, &bt);
	int good = bt.n == 6 && bt.f[0].pc == CODE + 0x42;
	for (uint32_t k = 1; good && k < bt.n; k++)
		good = bt.f[k].pc == CODE + 0x100 * k;
	ok(good && strstr(bt.stop, "rbp = 0"),
	   "normal chain: %u frames (%s)", bt.n, bt.stop);
	ok(bt.method == UT_BT_FP && !strcmp(ut_bt_method_name(bt.method), "fp"),
	   "method fp");

	/* the last frame points back to the first: a loop */
	build_chain(4, STK + 0x100);
	ut_bt_fp_walk(&src, regs, &bt);
	ok(bt.n == 5 && strstr(bt.stop, "not above"),
	   "frame loop stops: %u frames (%s)", bt.n, bt.stop);
	/* a frame pointing to itself */
	build_chain(1, STK + 0x100);
	ut_bt_fp_walk(&src, regs, &bt);
	ok(bt.n == 2 && strstr(bt.stop, "not above"),
	   "self loop stops: %u frames (%s)", bt.n, bt.stop);

	/* RBP outside memory */
	regs[UT_X86_RBP] = 0x1234560;
	ut_bt_fp_walk(&src, regs, &bt);
	ok(bt.n == 1 && bt.f[0].pc == CODE + 0x42 && strstr(bt.stop, "outside"),
	   "rbp outside memory: only frame 0 (%s)", bt.stop);
	/* RBP at the very end of a range: [rbp+8] would cross it */
	regs[UT_X86_RBP] = STK + 32 * PG - 8;
	ut_bt_fp_walk(&src, regs, &bt);
	ok(bt.n == 1 && strstr(bt.stop, "outside"),
	   "rbp straddling the end of memory (%s)", bt.stop);
	/* unaligned */
	regs[UT_X86_RBP] = STK + 0x101;
	ut_bt_fp_walk(&src, regs, &bt);
	ok(bt.n == 1 && strstr(bt.stop, "aligned"), "unaligned rbp (%s)",
	   bt.stop);
	/* unreadable page */
	W.bad[1][0] = 1;
	regs[UT_X86_RBP] = STK + 0x100;
	build_chain(3, 0);
	ut_bt_fp_walk(&src, regs, &bt);
	ok(bt.n == 1 && strstr(bt.stop, "unreadable"),
	   "rbp in an unreadable page (%s)", bt.stop);
	W.bad[1][0] = 0;

	/* RIP garbage: frame 0 keeps it, [rsp] gives the caller */
	build_chain(2, 0);
	regs[UT_X86_RIP] = 0xdeadbeefdeadULL;
	regs[UT_X86_RSP] = STK + 0x80;
	put64(STK + 0x80, CODE + 0x777);
	ut_bt_fp_walk(&src, regs, &bt);
	ok(bt.n == 4 && bt.f[0].pc == 0xdeadbeefdeadULL &&
		   bt.f[1].pc == CODE + 0x777 && bt.f[2].pc == CODE + 0x100,
	   "garbage rip: frame 0 kept, caller from [rsp], then the chain (%u)",
	   bt.n);
	regs[UT_X86_RSP] = 0x99; /* and a garbage rsp too */
	ut_bt_fp_walk(&src, regs, &bt);
	ok(bt.n == 3, "garbage rip and rsp: the chain still (%u)", bt.n);

	/* a frameless leaf: [rsp] is the return address of "call leaf"
	 * and RIP is a few bytes into leaf */
	build_chain(2, 0);
	memset(W.data[0], 0x90, W.r[0].len);
	uint8_t call[5] = { 0xe8 };
	int32_t rel = (int32_t)(0x800 - 0x605); /* call at 0x600 -> 0x800 */
	memcpy(call + 1, &rel, 4);
	memcpy(W.data[0] + 0x600, call, 5);
	regs[UT_X86_RIP] = CODE + 0x810;
	regs[UT_X86_RSP] = STK + 0x80;
	put64(STK + 0x80, CODE + 0x605);
	ut_bt_fp_walk(&src, regs, &bt);
	ok(bt.n == 4 && bt.f[1].pc == CODE + 0x605 && bt.f[2].pc == CODE + 0x100,
	   "frameless leaf: its caller from [rsp], then the chain (%u)", bt.n);
	put64(STK + 0x80, CODE + 0x905); /* not a call before it */
	ut_bt_fp_walk(&src, regs, &bt);
	ok(bt.n == 3 && bt.f[1].pc == CODE + 0x100,
	   "a code address at [rsp] that is not a return from a call to "
	   "RIP's function is ignored (%u)", bt.n);

	/* a return address that points into the stack, not code */
	regs[UT_X86_RIP] = CODE + 0x42;
	regs[UT_X86_RSP] = STK + 0x80;
	build_chain(3, 0);
	put64(STK + 0x140 + 8, STK + 0x10);
	ut_bt_fp_walk(&src, regs, &bt);
	ok(bt.n == 2 && strstr(bt.stop, "not in code"),
	   "return address outside code stops the walk (%s)", bt.stop);

	/* 100 frames: stops at 64 */
	regs[UT_X86_RIP] = CODE + 0x42;
	build_chain(100, 0);
	ut_bt_fp_walk(&src, regs, &bt);
	ok(bt.n == UT_BT_MAX && strstr(bt.stop, "64"),
	   "deep stack stops at %d frames (%s)", UT_BT_MAX, bt.stop);
	/* zero return address ends it */
	build_chain(3, 0);
	put64(STK + 0x140 + 8, 0);
	ut_bt_fp_walk(&src, regs, &bt);
	ok(bt.n == 2 && strstr(bt.stop, "return address 0"),
	   "zero return address ends the walk (%s)", bt.stop);

	/* no memory at all */
	ut_memsrc_t none = { 0 };
	ut_bt_fp_walk(&none, regs, &bt);
	ok(bt.n == 1, "no memory: frame 0 only (%s)", bt.stop);

	/* text */
	char *txt = ut_bt_format(&bt);
	ok(txt && strstr(txt, "#0  0x") && strstr(txt, "(fp: "),
	   "formatted backtrace");
	free(txt);

	/* the better of two */
	ut_backtrace_t a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.n = 5;
	a.nsym = 2;
	b.n = 3;
	b.nsym = 3;
	ok(ut_bt_better(&a, &b) == &b && ut_bt_better(&b, &a) == &b,
	   "more symbolized frames wins");
	b.nsym = 2;
	ok(ut_bt_better(&a, &b) == &a, "then more frames");
	b.n = 0;
	ok(ut_bt_better(&b, &a) == &a && ut_bt_better(NULL, &a) == &a,
	   "empty loses");
}

/* ---- 5. symbolization of this program --------------------------------------- */

__attribute__((noinline)) int marker_function(int x);
__attribute__((noinline)) int marker_function(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 3 + 1;
}

static int main_bias_cb(struct dl_phdr_info *i, size_t size, void *arg)
{
	(void)size;
	*(uint64_t *)arg = i->dlpi_addr; /* the first entry: the program */
	return 1;
}

static void test_symbolize(void)
{
	char err[512] = "", exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	uint64_t bias = 0;
	dl_iterate_phdr(main_bias_cb, &bias);

	ut_backtrace_t bt;
	memset(&bt, 0, sizeof(bt));
	bt.n = 3;
	bt.f[0].pc = (uint64_t)(uintptr_t)&marker_function + 4;
	bt.f[1].pc = (uint64_t)(uintptr_t)&marker_function + 5; /* ret addr */
	bt.f[2].pc = 0x10; /* nothing there */

	ut_symtab_t *s = ut_symtab_elf(exe, bias, err, sizeof(err));
	ok(s != NULL, "offline symbol table of %s at bias 0x%llx (%s)", exe,
	   (unsigned long long)bias, err);
	ut_bt_symbolize(s, &bt);
	ok(!strcmp(bt.f[0].function, "marker_function") && bt.f[0].offset == 4,
	   "offline: function+offset (%s+0x%llx)", bt.f[0].function,
	   (unsigned long long)bt.f[0].offset);
	ok(strstr(bt.f[0].file, "test_core.c") && bt.f[0].line > 0,
	   "offline: file:line from DWARF (%s:%d)", bt.f[0].file,
	   bt.f[0].line);
	ok(!strcmp(bt.f[1].function, "marker_function") && bt.f[1].offset == 5,
	   "return address: symbol of the call site, offset of the pc");
	ok(!bt.f[2].function[0] && bt.nsym == 2,
	   "unknown address left empty, nsym = %u", bt.nsym);
	ut_symtab_free(s);

	ok(ut_symtab_elf(path_in("text.core"), 0, err, sizeof(err)) == NULL,
	   "offline: a non-ELF file is refused: %s", err);
	ok(ut_symtab_elf(path_in("nope"), 0, err, sizeof(err)) == NULL,
	   "offline: a missing file is refused: %s", err);

	s = ut_symtab_pid(getpid(), err, sizeof(err));
	memset(bt.f, 0, sizeof(bt.f));
	bt.n = 2;
	bt.f[0].pc = (uint64_t)(uintptr_t)&marker_function + 4;
	bt.f[1].pc = (uint64_t)(uintptr_t)&getpid; /* not intercepted by ASan */
	ut_bt_symbolize(s, &bt);
	ok(s && !strcmp(bt.f[0].function, "marker_function") &&
		   strstr(bt.f[1].module, "libc"),
	   "live pid: program and shared library (%s, %s in %s)",
	   bt.f[0].function, bt.f[1].function, bt.f[1].module);
	ut_symtab_free(s);
	ok(ut_symtab_pid(999999999, err, sizeof(err)) == NULL,
	   "a process that does not exist: %s", err);
}

/* ---- 6. real crashes of a child ------------------------------------------------ */

/* Memory comes through the collector's own hosted memory source
 * (hosted_dump.c), as in a real capture. */

__attribute__((noinline)) void crash_segv_inner(volatile int *p);
__attribute__((noinline)) void crash_segv_inner(volatile int *p)
{
	*p = 1;
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void crash_segv_outer(void);
__attribute__((noinline)) void crash_segv_outer(void)
{
	crash_segv_inner((volatile int *)(uintptr_t)0x10);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void crash_abort_inner(void);
__attribute__((noinline)) void crash_abort_inner(void)
{
	abort();
}

__attribute__((noinline)) void crash_abort_outer(void);
__attribute__((noinline)) void crash_abort_outer(void)
{
	crash_abort_inner();
	__asm__ volatile("" ::: "memory");
}

static int bt_has(const ut_backtrace_t *bt, const char *fn)
{
	for (uint32_t i = 0; i < bt->n; i++)
		if (!strcmp(bt->f[i].function, fn))
			return 1;
	return 0;
}

static void show_bt(const ut_backtrace_t *bt)
{
	char *t = ut_bt_format(bt);
	for (char *l = t ? strtok(t, "\n") : NULL; l; l = strtok(NULL, "\n"))
		printf("#   %s\n", l);
	free(t);
}

static char live_core[192], exe_path[512];
static ut_backtrace_t live_fp, live_cfi;
static struct ut_crash_rec live_rec;

/* Crash a child with (sig) and check the core and both unwinders. */
static void crash_child(int sig)
{
	const char *inner = sig == SIGSEGV ? "crash_segv_inner"
					   : "crash_abort_inner";
	const char *outer = sig == SIGSEGV ? "crash_segv_outer"
					   : "crash_abort_outer";
	char err[512] = "";
	int status;

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		if (sig == SIGSEGV)
			crash_segv_outer();
		else
			crash_abort_outer();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	waitpid(pid, &status, 0);
	if (!ok(WIFSTOPPED(status) && WSTOPSIG(status) == sig,
		"child %d stopped with signal %d", pid, sig)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return;
	}
	struct user_regs_struct ur;
	ptrace(PTRACE_GETREGS, pid, NULL, &ur);
	_Static_assert(sizeof(ur) == 8 * UT_CRASH_NREGS, "user regs");

	ut_hosted_mem_t pm;
	char merr[256];
	if (ut_hosted_mem_open(pid, &pm, merr, sizeof(merr))) {
		ok(0, "hosted memory source opens the child: %s", merr);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return;
	}
	const ut_memsrc_t src = pm.src;
	ut_core_thread_t thr;
	memset(&thr, 0, sizeof(thr));
	thr.tid = (uint32_t)pid;
	thr.signo = sig;
	memcpy(thr.regs, &ur, sizeof(thr.regs));

	/* notes: NT_AUXV as the hosted transport adds it (gdb and libdw
	 * need it to place a PIE program), crash record, prpsinfo */
	static uint8_t auxv[4096];
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/auxv", pid);
	int afd = open(p, O_RDONLY);
	ssize_t alen = afd >= 0 ? read(afd, auxv, sizeof(auxv)) : 0;
	if (afd >= 0)
		close(afd);
	memset(&live_rec, 0, sizeof(live_rec));
	live_rec.magic = UT_CRASH_MAGIC;
	live_rec.version = UT_CRASH_VERSION;
	live_rec.kind = UT_CRASH_SIGNAL;
	live_rec.arch = UT_ARCH_X86_64;
	live_rec.signo = sig;
	live_rec.code = sig == SIGSEGV ? 1 : -6;
	live_rec.fault_addr = sig == SIGSEGV ? 0x10 : 0;
	live_rec.tid = (uint32_t)pid;
	live_rec.vcpu = 0;
	snprintf(live_rec.reason, sizeof(live_rec.reason), "%s",
		 sig == SIGSEGV ? "Segmentation fault" : "Aborted");
	memcpy(live_rec.regs, thr.regs, sizeof(thr.regs));
	ut_core_note_t notes[3];
	uint8_t ps[UT_CORE_PRPSINFO_SIZE];
	notes[0] = (ut_core_note_t){ "CORE", NT_AUXV, auxv,
				     alen > 0 ? (size_t)alen : 0 };
	ut_core_note_prpsinfo(&notes[1], ps, exe_path, exe_path, (uint32_t)pid);
	ut_core_note_crash(&notes[2], &live_rec);

	char *core = path_in(sig == SIGSEGV ? "segv.core" : "abrt.core");
	ut_core_stats_t st;
	int rc = ut_core_write(core, &src, &thr, 1, notes, 3, &st, err,
			       sizeof(err));
	ok(rc == 0, "core of the child written (%s): %llu MiB mapped, %llu "
		    "KiB on disk, %llu unreadable pages",
	   err, (unsigned long long)(st.mem_bytes >> 20),
	   (unsigned long long)(st.disk_bytes >> 10),
	   (unsigned long long)st.unreadable_pages);

	/* FP walk over the dump, symbolized from the live process */
	ut_backtrace_t fp, cfi;
	ut_bt_fp_walk(&src, thr.regs, &fp);
	ut_symtab_t *sym = ut_symtab_pid(pid, err, sizeof(err));
	ut_bt_symbolize(sym, &fp);
	ut_symtab_free(sym);
	printf("# fp walk:\n");
	show_bt(&fp);
	if (sig == SIGSEGV)
		ok(fp.n >= 3 && !strcmp(fp.f[0].function, inner) &&
			   !strcmp(fp.f[1].function, outer) &&
			   bt_has(&fp, "main"),
		   "fp walk: %s <- %s <- ... main", inner, outer);
	else
		ok(fp.n >= 1 && fp.f[0].module[0],
		   "fp walk from abort: frame 0 in %s (callers may be lost)",
		   fp.f[0].module);

	/* CFI on the core */
	rc = ut_bt_cfi_core(core, exe_path, (uint32_t)pid, &cfi, err,
			    sizeof(err));
	printf("# cfi on the core:\n");
	show_bt(&cfi);
	ok(rc > 0 && bt_has(&cfi, inner) && bt_has(&cfi, outer) &&
		   bt_has(&cfi, "main"),
	   "cfi on the core: %s and %s and main found (%s)", inner, outer,
	   rc > 0 ? "ok" : err);
	if (sig == SIGABRT) {
		ok(bt_has(&cfi, "abort") && cfi.f[0].module[0],
		   "cfi on the core walks glibc's abort path");
		const ut_backtrace_t *best = ut_bt_better(&fp, &cfi);
		ok(best == &cfi, "the CFI result is the better one for abort");
		live_fp = fp;
		live_cfi = cfi;
		snprintf(live_core, sizeof(live_core), "%s", core);
	}

	/* gdb opens it like any core */
	if (access("/usr/bin/gdb", X_OK) == 0) {
		char cmd[1400], out[8192] = "";
		snprintf(cmd, sizeof(cmd),
			 "gdb -nx -batch -ex 'set debuginfod enabled off' -ex "
			 "bt '%s' '%s' 2>&1",
			 exe_path, core);
		FILE *g = popen(cmd, "r");
		size_t n = g ? fread(out, 1, sizeof(out) - 1, g) : 0;
		out[n] = 0;
		if (g)
			pclose(g);
		int good = strstr(out, inner) && strstr(out, outer);
		ok(good, "gdb PROGRAM CORE: bt shows %s and %s", inner, outer);
		if (!good)
			for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
				printf("#   gdb: %s\n", l);
	} else {
		ok(1, "# SKIP gdb is not installed");
	}

	ut_hosted_mem_close(&pm);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* Under valgrind a traced child is valgrind itself (its registers are the
 * JIT's): the live tests are skipped and the store tests get a crash made
 * up of the same parts. */
static int under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "vgpreload");
}

static void fake_live(void)
{
	char err[256];

	live_rec = sample_rec();
	live_rec.signo = SIGABRT;
	live_rec.code = -6;
	snprintf(live_rec.reason, sizeof(live_rec.reason), "Aborted");
	memset(&live_fp, 0, sizeof(live_fp));
	live_fp.method = UT_BT_FP;
	live_fp.n = 1;
	live_fp.f[0].pc = 0x10010;
	memset(&live_cfi, 0, sizeof(live_cfi));
	live_cfi.method = UT_BT_CFI_CORE;
	live_cfi.n = live_cfi.nsym = 2;
	live_cfi.f[0].pc = 0x10010;
	snprintf(live_cfi.f[0].function, sizeof(live_cfi.f[0].function),
		 "abort");
	live_cfi.f[1].pc = 0x10020;
	snprintf(live_cfi.f[1].function, sizeof(live_cfi.f[1].function),
		 "crash_abort_inner");
	ut_memsrc_t src = synth_src(&S);
	ut_core_thread_t thr;
	memset(&thr, 0, sizeof(thr));
	thr.tid = 1;
	ut_core_note_t n;
	ut_core_note_crash(&n, &live_rec);
	snprintf(live_core, sizeof(live_core), "%s", path_in("abrt.core"));
	if (ut_core_write(live_core, &src, &thr, 1, &n, 1, NULL, err,
			  sizeof(err)))
		printf("# %s\n", err);
}

/* ---- 7. CFI on a live process waiting in its signal handler ------------------- */

static int pipe_a[2], pipe_b[2];

__attribute__((noinline)) void handler_wait(int sig);
__attribute__((noinline)) void handler_wait(int sig)
{
	char c = (char)sig;
	if (write(pipe_a[1], &c, 1) != 1)
		_exit(3);
	while (read(pipe_b[0], &c, 1) < 0 && errno == EINTR)
		;
}

__attribute__((noinline)) void child_wait_loop(void);
__attribute__((noinline)) void child_wait_loop(void)
{
	for (;;)
		pause();
}

static void child_on_usr2(int sig)
{
	(void)sig;
	_exit(42);
}

static void test_cfi_pid(void)
{
	char err[512] = "", c;
	int status;

	if (pipe(pipe_a) || pipe(pipe_b)) {
		ok(0, "pipes");
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = handler_wait;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, NULL);
		sa.sa_handler = child_on_usr2;
		sigaction(SIGUSR2, &sa, NULL);
		if (write(pipe_a[1], "r", 1) != 1)
			_exit(3);
		child_wait_loop();
	}
	if (read(pipe_a[0], &c, 1) != 1) /* ready */
		c = 0;
	kill(pid, SIGUSR1);
	if (read(pipe_a[0], &c, 1) != 1) /* in the handler */
		c = 0;
	ut_backtrace_t bt;
	int rc = ut_bt_cfi_pid(pid, (uint32_t)pid, &bt, err, sizeof(err));
	printf("# cfi on the live process:\n");
	show_bt(&bt);
	ok(rc > 0 && bt.method == UT_BT_CFI_PID && bt_has(&bt, "handler_wait") &&
		   bt_has(&bt, "__restore_rt") && bt_has(&bt, "main"),
	   "cfi on a live process in its signal handler: handler_wait, the "
	   "signal frame, and the interrupted code down to main (%s)",
	   rc > 0 ? "ok" : err);
	/* the child was detached without harm: let the handler return,
	 * then ask it to exit */
	if (write(pipe_b[1], "go", 1) != 1)
		printf("# write failed\n");
	usleep(10000);
	kill(pid, SIGUSR2);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 42,
	   "the process runs on after the walk and exits normally (status "
	   "0x%x)",
	   status);
	rc = ut_bt_cfi_pid(pid, (uint32_t)pid, &bt, err, sizeof(err));
	ok(rc == -1 && err[0], "a process that is gone: %s", err);
	for (int i = 0; i < 2; i++) {
		close(pipe_a[i]);
		close(pipe_b[i]);
	}
}

/* ---- 8. the store and `unitrace crash` ---------------------------------------------- */

static char cap_out[131072], cap_err[8192];

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	buf[n] = 0;
	if (f)
		fclose(f);
}

static int run_crash(const char *a1, const char *a2, const char *a3)
{
	char *argv[6] = { (char *)"crash" };
	int argc = 1;
	if (a1)
		argv[argc++] = (char *)a1;
	if (a2)
		argv[argc++] = (char *)a2;
	if (a3)
		argv[argc++] = (char *)a3;
	argv[argc] = NULL;

	char *outp = path_in("out.txt"), *errp = path_in("err.txt");
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	dup2(fe, 2);
	int rc = ut_cmd_crash.run(argc, argv);
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
	for (char *p = cap_err; *p; p++)
		if (*p == '\n')
			*p = *(p + 1) ? ' ' : 0;
	return rc;
}

static void show(const char *s)
{
	while (*s) {
		const char *e = strchr(s, '\n');
		int n = e ? (int)(e - s) : (int)strlen(s);
		printf("#   %.*s\n", n, s);
		s += n + (e != NULL);
	}
}

static long long q1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	long long v = -999;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		printf("# %s: %s\n", sql, sqlite3_errmsg(db));
		return v;
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void test_store_and_cmd(void)
{
	char err[1024], db[192];
	snprintf(db, sizeof(db), "%s", path_in("trace.db"));
	ut_store_t *st = ut_store_open(db, UT_STORE_CREATE, err, sizeof(err));
	if (!ok(st != NULL, "store created (%s)", st ? "ok" : err))
		return;

	/* a guest with two lanes and events around the crash time */
	ut_guest_info_t g;
	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "crashy");
	snprintf(g.platform, sizeof(g.platform), "hosted");
	g.pid = 4242;
	g.nr_rings = 2;
	g.start_realtime = 1700000000000000000LL;
	g.build_id_len = 4;
	memcpy(g.build_id, "\xde\xad\xbe\xef", 4);
	ut_store_begin(st);
	int64_t gid = ut_store_guest(st, &g);
	int64_t l0 = ut_store_lane(st, gid, 0), l1 = ut_store_lane(st, gid, 1);
	ut_evtype_t t;
	memset(&t, 0, sizeof(t));
	t.id = 16;
	t.kind = UT_KIND_INSTANT;
	t.nfields = 2;
	snprintf(t.name, sizeof(t.name), "net_rx");
	t.fields[0].type = UT_T_U32;
	snprintf(t.fields[0].name, sizeof(t.fields[0].name), "len");
	t.fields[1].type = UT_T_STR;
	t.fields[1].max_len = 16;
	snprintf(t.fields[1].name, sizeof(t.fields[1].name), "ifname");
	ut_store_evtype(st, gid, &t);
	for (int i = 0; i < 30; i++) {
		ut_event_t ev;
		memset(&ev, 0, sizeof(ev));
		ev.seq = (uint64_t)i;
		ev.ts = 1000000 + i * 1000;
		ev.dur = -1;
		ev.type = &t;
		ev.nvals = 2;
		ev.vals[0].type = UT_T_U32;
		ev.vals[0].v.u = 100 + (uint64_t)i;
		ev.vals[1].type = UT_T_STR;
		ev.vals[1].len = 4;
		ev.vals[1].v.p = (const uint8_t *)"eth\x1b";
		ut_store_event(st, i % 2 ? l1 : l0, &ev);
	}
	/* crash at ts 1020000: events 0..20 are before it */
	int64_t cid = ut_store_crash(st, gid, &live_rec, 1020000, NULL,
				     exe_path);
	ok(cid > 0, "crash row stored (%s)", ut_store_errmsg(st));
	ok(ut_store_crash_core(st, cid, live_core, NULL) == 0,
	   "core path stored");
	ok(ut_store_crash_bt(st, cid, &live_fp, false) == 0 &&
		   ut_store_crash_bt(st, cid, &live_cfi, true) == 0,
	   "both backtraces stored, cfi as the primary");
	ok(ut_store_crash_bt(st, cid, &live_cfi, true) == 0,
	   "storing a method again replaces it");
	/* a second crash whose core is truncated, a third garbled, a fourth
	 * missing, a fifth without a core */
	struct ut_crash_rec r2 = sample_rec();
	int64_t c2 = ut_store_crash(st, gid, &r2, -1, trunc_core, NULL);
	int64_t c3 = ut_store_crash(st, gid, &r2, 5, garbled_core, NULL);
	int64_t c4 = ut_store_crash(st, gid, &r2, 5, path_in("gone.core"),
				    NULL);
	r2.kind = UT_CRASH_TRAP;
	r2.signo = 14;
	r2.code = 2;
	int64_t c5 = ut_store_crash(st, gid, &r2, 5, NULL, NULL);
	ok(c2 == 2 && c3 == 3 && c4 == 4 && c5 == 5, "more crash rows stored");
	ut_store_crash_core(st, c5, NULL, "dump failed: no space left");
	ok(ut_store_crash_core(st, 9999, NULL, NULL) == -1,
	   "updating an unknown crash fails");
	ok(ut_store_commit(st) == 0, "commit (%s)", ut_store_errmsg(st));
	sqlite3 *h = ut_store_db(st);
	is_int(q1(h, "SELECT count(*) FROM crash_frames WHERE crash_id = 1"),
	       live_fp.n + live_cfi.n, "frames of both methods stored");
	is_int(q1(h, "SELECT count(*) FROM crashes WHERE bt_method = "
		     "'cfi-core' AND backtrace LIKE '%crash_abort_inner%'"),
	       1, "crashes.backtrace holds the primary text");
	is_int(q1(h, "SELECT length(record) FROM crashes WHERE id = 1"),
	       sizeof(struct ut_crash_rec), "raw record stored");
	is_int(q1(h, "SELECT count(*) FROM crashes WHERE id = 1 AND registers "
		     "LIKE 'rip=0x%rsp=0x%'"),
	       1, "registers as text");
	ut_store_close(st);

	int rc = run_crash(db, NULL, NULL);
	printf("# unitrace crash DB:\n");
	show(cap_out);
	ok(rc == 0 && strstr(cap_out, "SIGABRT") && strstr(cap_out, "#PF (14)") &&
		   strstr(cap_out, "crashy"),
	   "list: one line per crash");
	ok(!strchr(cap_out, 0x1b), "no raw escape character reaches the "
				   "terminal");

	rc = run_crash(db, "1", NULL);
	printf("# unitrace crash DB 1:\n");
	show(cap_out);
	ok(rc == 0, "crash 1 shown, exit 0 (%s)", cap_err);
	ok(strstr(cap_out, "SIGABRT") && strstr(cap_out, "SI_TKILL"),
	   "signal and code by name");
	ok(strstr(cap_out, "rip 0x") && strstr(cap_out, "crash_abort_inner") &&
		   strstr(cap_out, "backtrace (cfi-core)") &&
		   strstr(cap_out, "also stored: fp"),
	   "registers and backtrace");
	ok(strstr(cap_out, "vCPU 0") && strstr(cap_out, "vCPU 1") &&
		   strstr(cap_out, "len=120") && strstr(cap_out, "len=119") &&
		   !strstr(cap_out, "len=121") &&
		   strstr(cap_out, "ifname=\"eth\\x1b\"") &&
		   !strstr(cap_out, "len=100 "),
	   "last 10 events of each vCPU up to the crash, fields decoded");
	ok(strstr(cap_out, "complete ELF core") && strstr(cap_out, "gdb ") &&
		   strstr(cap_out, live_core) && strstr(cap_out, exe_path),
	   "core described and the gdb command given");

	rc = run_crash("-n", "0", NULL);
	ok(rc == 2 || rc == 1, "-n without a database is an error");
	rc = run_crash(db, "2", NULL);
	ok(rc == 1 && strstr(cap_out, "DAMAGED") && strstr(cap_err, "truncated"),
	   "truncated core reported, exit 1: %s", cap_err);
	ok(strstr(cap_out, "when:       unknown"), "unknown crash time shown");
	rc = run_crash(db, "3", NULL);
	ok(rc == 1 && strstr(cap_out, "DAMAGED") && strstr(cap_err, "garbled"),
	   "garbled core reported, exit 1: %s", cap_err);
	rc = run_crash(db, "4", NULL);
	ok(rc == 1 && strstr(cap_out, "MISSING"),
	   "missing core reported, exit 1: %s", cap_err);
	rc = run_crash(db, "5", NULL);
	ok(rc == 0 && strstr(cap_out, "page fault") &&
		   strstr(cap_out, "note:       dump failed") &&
		   strstr(cap_out, "core file: none (see the note above)"),
	   "trap crash without a core");
	rc = run_crash(db, "77", NULL);
	ok(rc == 1 && strstr(cap_err, "no crash 77") &&
		   strstr(cap_err, "ids 1 to 5"),
	   "unknown id: %s", cap_err);
	rc = run_crash(db, "abc", NULL);
	ok(rc == 2 && strstr(cap_err, "not a positive number"),
	   "bad id: %s", cap_err);
	rc = run_crash(db, "1", "2");
	ok(rc == 2, "too many arguments: %s", cap_err);
	rc = run_crash(path_in("nope.db"), NULL, NULL);
	ok(rc == 1 && strstr(cap_err, "does not exist"), "missing db: %s",
	   cap_err);
	rc = run_crash(good_core, NULL, NULL);
	ok(rc == 1 && strstr(cap_err, "not a SQLite"), "not a database: %s",
	   cap_err);
	rc = run_crash(NULL, NULL, NULL);
	ok(rc == 2, "no arguments: usage error");

	/* a database written before crash capture (no crash_frames, no new
	 * columns): read-only commands cope, a writer upgrades it */
	char old[192];
	snprintf(old, sizeof(old), "%s", path_in("old.db"));
	st = ut_store_open(old, UT_STORE_CREATE, err, sizeof(err));
	ut_store_close(st);
	sqlite3 *o;
	sqlite3_open(old, &o);
	int e1 = sqlite3_exec(o,
			      "DROP TABLE crash_frames; DROP TABLE "
			      "crash_threads; ALTER TABLE crashes DROP COLUMN "
			      "cmdline; ALTER TABLE crashes DROP COLUMN uid; "
			      "ALTER TABLE crashes "
			      "DROP COLUMN record; ALTER TABLE crashes DROP "
			      "COLUMN kind; INSERT INTO guests(id, name) "
			      "VALUES (1, 'g'); INSERT INTO crashes(guest_id, "
			      "ts, reason, signal, backtrace) VALUES (1, 5, "
			      "'old', 11, '#0 0x1 in f')",
			      NULL, NULL, NULL);
	sqlite3_close(o);
	ok(e1 == SQLITE_OK, "old-style database made");
	rc = run_crash(old, NULL, NULL);
	ok(rc == 0 && strstr(cap_out, "SIGSEGV"), "old database: list (%s)",
	   cap_err);
	rc = run_crash(old, "1", NULL);
	ok(rc == 0 && strstr(cap_out, "#0 0x1 in f"),
	   "old database: detail with the stored text");
	st = ut_store_open(old, 0, err, sizeof(err));
	ok(st && q1(ut_store_db(st), "SELECT count(*) FROM sqlite_master WHERE "
				     "name IN ('crash_frames', "
				     "'crash_threads')") == 2 &&
		   q1(ut_store_db(st), "SELECT count(*) FROM "
				       "pragma_table_info('crashes') WHERE name "
				       "IN ('record', 'kind', 'cmdline', "
				       "'uid')") == 4,
	   "a writable open upgrades it (%s)", st ? "ok" : err);
	ut_store_close(st);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ut-core-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("not ok 1 - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	ssize_t n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	exe_path[n > 0 ? n : 0] = 0;
	(void)marker_function(1);

	test_writer();
	test_write_failures();
	test_checker();
	test_fp_walk();
	test_symbolize();
	if (under_valgrind()) {
		ok(1, "# SKIP real crashes under valgrind");
		fake_live();
	} else {
		crash_child(SIGSEGV);
		crash_child(SIGABRT);
		test_cfi_pid();
	}
	test_store_and_cmd();

	synth_free(&S);
	synth_free(&W);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
