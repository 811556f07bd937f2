/*
 * Crash capture for Xen guests: the registers and memory of a domain kept
 * by on_crash="preserve", the Xen source of the capture sequence (crash.h,
 * crash.c), so it is written as the same ELF core as a hosted guest's
 * (core.c), with the same frame-pointer backtrace (backtrace.c).
 *
 * Memory: every populated guest frame, found by mapping the whole
 * guest-physical space up to xc_domain_maximum_gpfn in batches with
 * xenforeignmemory_map (its per-page error array tells unpopulated frames:
 * they become gaps between PT_LOAD segments).  The demo unikernel
 * identity-maps its memory, so PT_LOAD vaddr = guest-physical address.
 * Registers: the HVM CPU save record for PVH/HVM domains (all general
 * registers, segment bases), xc_vcpu_getcontext otherwise.
 */
#ifdef UT_HAVE_XEN

#define UT_XEN_PRIVATE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "backtrace.h"
#include "crash.h"
#include "xen.h"

#include <xen/hvm/save.h> /* after xenctrl.h (xen.h): needs its types */

#if defined(__STRICT_ANSI__)
#error "the Xen tools headers need GNU C: build xen_dump.c with -std=gnu11"
#endif

#define PROBE_BATCH 1024u             /* frames per probing map call */
#define WIN_FRAMES 256u               /* frames per read window (1 MiB) */
#define MAX_SCAN_PFN (1ull << 24)     /* scan at most 64 GiB of gpa space */

/* ---- registers ------------------------------------------------------------ */

void ut_xen_regs_from_pv(const struct vcpu_guest_context *c,
			 uint64_t regs[UT_CRASH_NREGS])
{
	const struct cpu_user_regs *u = &c->user_regs;

	memset(regs, 0, sizeof(uint64_t) * UT_CRASH_NREGS);
	regs[UT_X86_R15] = u->r15;
	regs[UT_X86_R14] = u->r14;
	regs[UT_X86_R13] = u->r13;
	regs[UT_X86_R12] = u->r12;
	regs[UT_X86_RBP] = u->rbp;
	regs[UT_X86_RBX] = u->rbx;
	regs[UT_X86_R11] = u->r11;
	regs[UT_X86_R10] = u->r10;
	regs[UT_X86_R9] = u->r9;
	regs[UT_X86_R8] = u->r8;
	regs[UT_X86_RAX] = u->rax;
	regs[UT_X86_RCX] = u->rcx;
	regs[UT_X86_RDX] = u->rdx;
	regs[UT_X86_RSI] = u->rsi;
	regs[UT_X86_RDI] = u->rdi;
	regs[UT_X86_ORIG_RAX] = UINT64_MAX;
	regs[UT_X86_RIP] = u->rip;
	regs[UT_X86_CS] = u->cs;
	regs[UT_X86_EFLAGS] = u->rflags;
	regs[UT_X86_RSP] = u->rsp;
	regs[UT_X86_SS] = u->ss;
	regs[UT_X86_FS_BASE] = c->fs_base;
	/* The base in effect in kernel mode (a unikernel runs there). */
	regs[UT_X86_GS_BASE] = c->gs_base_kernel;
	regs[UT_X86_DS] = u->ds;
	regs[UT_X86_ES] = u->es;
	regs[UT_X86_FS] = u->fs;
	regs[UT_X86_GS] = u->gs;
}

void ut_xen_regs_from_hvm(const struct hvm_hw_cpu *c,
			  uint64_t regs[UT_CRASH_NREGS])
{
	memset(regs, 0, sizeof(uint64_t) * UT_CRASH_NREGS);
	regs[UT_X86_R15] = c->r15;
	regs[UT_X86_R14] = c->r14;
	regs[UT_X86_R13] = c->r13;
	regs[UT_X86_R12] = c->r12;
	regs[UT_X86_RBP] = c->rbp;
	regs[UT_X86_RBX] = c->rbx;
	regs[UT_X86_R11] = c->r11;
	regs[UT_X86_R10] = c->r10;
	regs[UT_X86_R9] = c->r9;
	regs[UT_X86_R8] = c->r8;
	regs[UT_X86_RAX] = c->rax;
	regs[UT_X86_RCX] = c->rcx;
	regs[UT_X86_RDX] = c->rdx;
	regs[UT_X86_RSI] = c->rsi;
	regs[UT_X86_RDI] = c->rdi;
	regs[UT_X86_ORIG_RAX] = UINT64_MAX;
	regs[UT_X86_RIP] = c->rip;
	regs[UT_X86_CS] = c->cs_sel;
	regs[UT_X86_EFLAGS] = c->rflags;
	regs[UT_X86_RSP] = c->rsp;
	regs[UT_X86_SS] = c->ss_sel;
	regs[UT_X86_FS_BASE] = c->fs_base;
	regs[UT_X86_GS_BASE] = c->gs_base;
	regs[UT_X86_DS] = c->ds_sel;
	regs[UT_X86_ES] = c->es_sel;
	regs[UT_X86_FS] = c->fs_sel;
	regs[UT_X86_GS] = c->gs_sel;
}

/* Registers of vCPU (v).  0, or -1 with a reason in (err). */
static int vcpu_regs(ut_xen_t *x, uint32_t domid, bool hvm, uint32_t v,
		     uint64_t regs[UT_CRASH_NREGS], char *err, size_t errlen)
{
	if (hvm) {
		struct hvm_hw_cpu cpu;
		if (xc_domain_hvm_getcontext_partial(x->xch, domid,
				HVM_SAVE_CODE(CPU), (uint16_t)v, &cpu,
				sizeof(cpu)) == 0) {
			ut_xen_regs_from_hvm(&cpu, regs);
			return 0;
		}
	}
	vcpu_guest_context_any_t any;
	if (xc_vcpu_getcontext(x->xch, domid, v, &any) != 0) {
		snprintf(err, errlen, "vCPU %u registers: %s", v, strerror(errno));
		return -1;
	}
	ut_xen_regs_from_pv(&any.c, regs);
	return 0;
}

/* ---- memory ---------------------------------------------------------------- */

typedef struct xmem {
	ut_memsrc_t src;
	ut_xen_t *x;
	uint32_t domid;
	uint64_t nframes;         /* frames scanned: [0, nframes) */
	ut_mem_range_t *ranges;
	size_t n, cap;
	/* The read window: WIN_FRAMES frames from win_pfn. */
	uint8_t *win;
	uint64_t win_pfn;
	uint32_t win_n;
	int win_err[WIN_FRAMES];
	xen_pfn_t pfns[PROBE_BATCH];
	int errs[PROBE_BATCH];
} xmem_t;

static int add_frames(xmem_t *m, uint64_t pfn, uint64_t count)
{
	uint64_t addr = pfn * UT_PAGE_SIZE, len = count * UT_PAGE_SIZE;

	if (m->n && m->ranges[m->n - 1].addr + m->ranges[m->n - 1].len == addr) {
		m->ranges[m->n - 1].len += len;
		return 0;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		ut_mem_range_t *r = realloc(m->ranges, cap * sizeof(*r));
		if (!r)
			return -1;
		m->ranges = r;
		m->cap = cap;
	}
	m->ranges[m->n++] = (ut_mem_range_t){addr, len,
					     UT_MEM_R | UT_MEM_W | UT_MEM_X};
	return 0;
}

/* Map (n) frames from (pfn) read-only; errs[] says which failed. */
static void *map_frames(xmem_t *m, uint64_t pfn, uint32_t n, int *errs)
{
	for (uint32_t i = 0; i < n; i++)
		m->pfns[i] = (xen_pfn_t)(pfn + i);
	return xenforeignmemory_map(m->x->fmem, m->domid, PROT_READ, n, m->pfns,
				    errs);
}

/* Find the populated frames: the ranges of the core. */
static int xmem_probe(xmem_t *m, char *err, size_t errlen)
{
	xen_pfn_t max = 0;
	uint64_t good = 0;

	if (xc_domain_maximum_gpfn(m->x->xch, m->domid, &max) < 0) {
		snprintf(err, errlen, "cannot read the domain's highest frame: %s",
			 strerror(errno));
		return -1;
	}
	m->nframes = (uint64_t)max + 1;
	if (m->nframes > MAX_SCAN_PFN)
		m->nframes = MAX_SCAN_PFN;
	for (uint64_t pfn = 0; pfn < m->nframes; pfn += PROBE_BATCH) {
		uint32_t n = (uint32_t)(m->nframes - pfn < PROBE_BATCH
					? m->nframes - pfn : PROBE_BATCH);
		void *p = map_frames(m, pfn, n, m->errs);
		if (!p)
			continue; /* nothing of the batch: a gap */
		for (uint32_t i = 0; i < n; i++) {
			if (m->errs[i])
				continue;
			good++;
			if (add_frames(m, pfn + i, 1)) {
				xenforeignmemory_unmap(m->x->fmem, p, n);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
		xenforeignmemory_unmap(m->x->fmem, p, n);
	}
	if (!good) {
		snprintf(err, errlen, "no guest frame could be mapped (%s)",
			 m->x->lastlog[0] ? m->x->lastlog : "all unpopulated");
		return -1;
	}
	return 0;
}

static void win_drop(xmem_t *m)
{
	if (m->win)
		xenforeignmemory_unmap(m->x->fmem, m->win, m->win_n);
	m->win = NULL;
	m->win_n = 0;
}

static long xmem_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	xmem_t *m = ctx;
	size_t done = 0;

	while (done < len) {
		uint64_t a = addr + done, pfn = a / UT_PAGE_SIZE;
		if (pfn >= m->nframes)
			break;
		if (!m->win || pfn < m->win_pfn || pfn >= m->win_pfn + m->win_n) {
			uint64_t start = pfn - pfn % WIN_FRAMES;
			uint32_t n = (uint32_t)(m->nframes - start < WIN_FRAMES
						? m->nframes - start : WIN_FRAMES);
			win_drop(m);
			m->win = map_frames(m, start, n, m->win_err);
			if (!m->win)
				break;
			m->win_pfn = start;
			m->win_n = n;
		}
		if (m->win_err[pfn - m->win_pfn])
			break; /* unpopulated: a short read ends here */
		size_t off = (size_t)(a % UT_PAGE_SIZE);
		size_t k = UT_PAGE_SIZE - off;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)buf + done,
		       m->win + (pfn - m->win_pfn) * UT_PAGE_SIZE + off, k);
		done += k;
	}
	return done ? (long)done : -1;
}

static void xmem_close(xmem_t *m)
{
	win_drop(m);
	free(m->ranges);
	m->ranges = NULL;
}

/* ---- the capture ------------------------------------------------------------ */

/* The registers of every online vCPU into (thr), the crashing one first.
 * Returns the number of threads (>= 0). */
static size_t gather_threads(ut_xen_t *x, uint32_t domid, bool hvm,
			     uint32_t max_vcpu, const struct ut_crash_rec *rec,
			     bool valid, uint32_t crash_vcpu,
			     ut_core_thread_t *thr, size_t cap, char *note,
			     size_t notelen)
{
	size_t n = 0;
	int32_t signo = ut_xen_trap_signo(valid ? rec->kind : 0,
					  valid ? rec->signo : 0);

	if (valid && rec->regs[UT_X86_RIP]) {
		/* The guest's own record holds the faulting context; the
		 * vCPU itself sits in the panic path's shutdown hypercall. */
		thr[n].tid = crash_vcpu + 1;
		thr[n].signo = signo;
		memcpy(thr[n].regs, rec->regs, sizeof(thr[n].regs));
		n++;
	}
	for (uint32_t v = 0; v <= max_vcpu && n < cap; v++) {
		xc_vcpuinfo_t vi;
		char err[128];
		if (n && v + 1 == thr[0].tid)
			continue;
		if (xc_vcpu_getinfo(x->xch, domid, v, &vi) != 0 || !vi.online)
			continue;
		memset(&thr[n], 0, sizeof(thr[n]));
		if (vcpu_regs(x, domid, hvm, v, thr[n].regs, err, sizeof(err))) {
			ut_note_append(note, notelen, "%s%s", err);
			continue;
		}
		thr[n].tid = v + 1;
		thr[n].signo = n == 0 ? signo : 0;
		n++;
	}
	return n;
}

/* ---- the Xen source of ut_crash_capture ------------------------------------ */

typedef struct xen_src {
	ut_crash_src_t s; /* first: the sequence's handle */
	ut_xen_t *x;
	ut_xen_dom_t *d;
	bool paused;
	char what[32];    /* " of domain N" */
	ut_core_thread_t thr[UT_MAX_RINGS];
	char psinfo[UT_CORE_PRPSINFO_SIZE];
	xmem_t m;
} xen_src_t;

/* Pause the domain and read its vCPUs. */
static void xs_prepare(ut_crash_src_t *s, ut_reader_t *rd,
		       struct ut_crash_rec *rec, bool valid, char *note,
		       size_t notelen)
{
	xen_src_t *xs = (xen_src_t *)s;
	ut_xen_t *x = xs->x;
	uint32_t domid = xs->d->domid, crash_vcpu = 0;
	xc_dominfo_t info;
	bool have_info;

	if (valid && rec->vcpu < rd->nr_rings)
		crash_vcpu = rd->rings[rec->vcpu].vcpu;
	/* A consistent picture: nothing runs while we read (a domain that
	 * has shut down is not running anyway; the pause count is ours). */
	have_info = xc_domain_getinfo(x->xch, domid, 1, &info) == 1 &&
		    info.domid == domid && !info.dying;
	if (have_info && xc_domain_pause(x->xch, domid) == 0)
		xs->paused = true;
	if (have_info) {
		uint32_t maxv = info.max_vcpu_id < UT_MAX_RINGS ? info.max_vcpu_id
							       : UT_MAX_RINGS - 1;
		s->nthr = gather_threads(x, domid, info.hvm, maxv, rec, valid,
					 crash_vcpu, xs->thr, UT_MAX_RINGS, note,
					 notelen);
	} else {
		ut_note_append(note, notelen, "%s%s", "the domain is gone: no "
		       "registers or memory to dump");
	}
	if (!valid && s->nthr) { /* the row shows what the vCPU held */
		rec->arch = UT_ARCH_X86_64;
		memcpy(rec->regs, xs->thr[0].regs, sizeof(rec->regs));
	}
	s->elf = ut_xen_elf_for(&x->o, xs->d->name);
	snprintf(s->core_name, sizeof(s->core_name), "xen-dom%u", domid);
}

static int xs_open_mem(ut_crash_src_t *s, const struct ut_crash_rec *rec,
		       char *note, size_t notelen)
{
	xen_src_t *xs = (xen_src_t *)s;
	char err[512];

	(void)rec;
	if (!s->nthr)
		return -1;
	if (!xs->x->fmem) {
		ut_note_append(note, notelen, "%s%s", "no core: cannot open "
		       "/dev/xen/privcmd for foreign mappings");
		return -1;
	}
	xs->m.x = xs->x;
	xs->m.domid = xs->d->domid;
	if (xmem_probe(&xs->m, err, sizeof(err))) {
		ut_note_append(note, notelen, "%sno core: %s", err);
		return -1;
	}
	xs->m.src.ctx = &xs->m;
	xs->m.src.ranges = xs->m.ranges;
	xs->m.src.nranges = xs->m.n;
	xs->m.src.read = xmem_read;
	s->mem = &xs->m.src;
	s->thr = xs->thr;
	return 0;
}

static size_t xs_core_notes(ut_crash_src_t *s, ut_core_note_t *notes)
{
	xen_src_t *xs = (xen_src_t *)s;
	const char *name = xs->d->name[0] ? xs->d->name : "domU";

	ut_core_note_prpsinfo(&notes[0], xs->psinfo, name, NULL, xs->d->domid);
	return 1;
}

static ut_symtab_t *xs_symtab(ut_crash_src_t *s, char *err, size_t errlen)
{
	if (!s->elf) {
		snprintf(err, errlen, "give the unikernel's ELF with --elf");
		return NULL;
	}
	return ut_symtab_elf(s->elf, 0, err, errlen);
}

static void xs_release(ut_crash_src_t *s)
{
	xen_src_t *xs = (xen_src_t *)s;

	xmem_close(&xs->m);
	if (xs->paused)
		xc_domain_unpause(xs->x->xch, xs->d->domid);
	xs->paused = false;
}

int ut_crash_capture_xen(ut_store_t *st, int64_t guest_id, ut_reader_t *rd,
			 ut_xen_t *x, ut_xen_dom_t *d,
			 const struct ut_crash_opts *o)
{
	xen_src_t *xs = calloc(1, sizeof(*xs));
	int rc;

	if (!xs)
		return -1;
	xs->x = x;
	xs->d = d;
	snprintf(xs->what, sizeof(xs->what), " of domain %u", d->domid);
	xs->s.record_optional = true;
	xs->s.walk_without_record = true;
	xs->s.cfi_needs_elf = true;
	xs->s.what = xs->what;
	xs->s.prepare = xs_prepare;
	xs->s.open_mem = xs_open_mem;
	xs->s.core_notes = xs_core_notes;
	xs->s.symtab = xs_symtab;
	xs->s.release = xs_release;
	rc = ut_crash_capture(st, guest_id, rd, &xs->s, o);
	free(xs);
	return rc;
}

#endif /* UT_HAVE_XEN */
