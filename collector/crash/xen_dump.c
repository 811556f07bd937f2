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
#include "guest_pt.h"
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

/*
 * The guest's memory in three steps:
 *   1. its frames: PVH/HVM, the populated guest-physical frames (found by
 *      mapping them, by GFN); PV, the guest's own p2m (pfn -> mfn, read
 *      from shared_info's frame list list), whose valid entries are the
 *      frames, mapped by MFN;
 *   2. its page tables from the crashing vCPU's CR3 (guest_pt.c): the
 *      ranges of the core at virtual addresses, p_paddr = pfn << 12;
 *   3. if the walk fails (paging off, unreadable tables), the physical
 *      layout of step 1 (vaddr = paddr), with a note.
 * Reads go address -> range -> pfn -> frame (p2m on PV) -> a mapping
 * window of WIN_FRAMES pfns.
 */
typedef struct xmem {
	ut_memsrc_t src;
	ut_xen_t *x;
	uint32_t domid;
	bool pv;
	uint64_t nframes;         /* pfns: [0, nframes) */
	bool scan_cut;            /* nframes cut at MAX_SCAN_PFN */
	uint64_t *p2m;            /* PV: pfn -> mfn (UT_INVALID_FRAME: none) */
	ut_m2p_t m2p;             /* PV: mfn -> pfn */
	ut_mem_range_t *phys;     /* populated pfns as ranges (paddr = addr) */
	size_t nphys, capphys;
	ut_mem_range_t *ranges;   /* the core's: virtual, or phys */
	size_t n;
	/* The read window: WIN_FRAMES pfns from win_pfn. */
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

	if (m->nphys && m->phys[m->nphys - 1].addr + m->phys[m->nphys - 1].len
			== addr) {
		m->phys[m->nphys - 1].len += len;
		return 0;
	}
	if (m->nphys == m->capphys) {
		size_t cap = m->capphys ? 2 * m->capphys : 16;
		ut_mem_range_t *r = realloc(m->phys, cap * sizeof(*r));
		if (!r)
			return -1;
		m->phys = r;
		m->capphys = cap;
	}
	m->phys[m->nphys++] = (ut_mem_range_t){addr, len,
					       UT_MEM_R | UT_MEM_W | UT_MEM_X,
					       addr};
	return 0;
}

/* The frame to map for (pfn): the MFN on PV, the pfn itself otherwise. */
static xen_pfn_t pfn_frame(const xmem_t *m, uint64_t pfn)
{
	if (!m->pv)
		return (xen_pfn_t)pfn;
	if (pfn >= m->nframes || m->p2m[pfn] == UT_INVALID_FRAME)
		return (xen_pfn_t)~0ul; /* fails to map: an error entry */
	return (xen_pfn_t)m->p2m[pfn];
}

/* Map (n) pfns from (pfn) read-only; errs[] says which failed. */
static void *map_frames(xmem_t *m, uint64_t pfn, uint32_t n, int *errs)
{
	for (uint32_t i = 0; i < n; i++)
		m->pfns[i] = pfn_frame(m, pfn + i);
	return xenforeignmemory_map(m->x->fmem, m->domid, PROT_READ, n, m->pfns,
				    errs);
}

/* PVH/HVM: find the populated frames by mapping them. */
static int xmem_probe_hvm(xmem_t *m, char *err, size_t errlen)
{
	xen_pfn_t max = 0;
	uint64_t good = 0;

	if (xc_domain_maximum_gpfn(m->x->xch, m->domid, &max) < 0) {
		snprintf(err, errlen, "cannot read the domain's highest frame: %s",
			 strerror(errno));
		return -1;
	}
	m->nframes = (uint64_t)max + 1;
	if (m->nframes > MAX_SCAN_PFN) {
		m->nframes = MAX_SCAN_PFN;
		m->scan_cut = true;
	}
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

/* One frame as the guest's own tables name it (MFN on PV, GFN else). */
static int gf_read(void *ctx, uint64_t frame, void *page)
{
	xmem_t *m = ctx;
	xen_pfn_t f = (xen_pfn_t)frame;
	int e = 0;
	void *p = xenforeignmemory_map(m->x->fmem, m->domid, PROT_READ, 1, &f, &e);

	if (!p)
		return -1;
	if (e) {
		xenforeignmemory_unmap(m->x->fmem, p, 1);
		return -1;
	}
	memcpy(page, p, UT_PAGE_SIZE);
	xenforeignmemory_unmap(m->x->fmem, p, 1);
	return 0;
}

static int phys_has(const xmem_t *m, uint64_t pfn)
{
	size_t lo = 0, hi = m->nphys;
	uint64_t a = pfn * UT_PAGE_SIZE;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const ut_mem_range_t *r = &m->phys[mid];
		if (a < r->addr)
			hi = mid;
		else if (a - r->addr >= r->len)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

static int gf_to_pfn(void *ctx, uint64_t frame, uint64_t *pfn)
{
	xmem_t *m = ctx;

	if (m->pv)
		return ut_m2p_lookup(&m->m2p, frame, pfn);
	if (frame >= m->nframes || !phys_has(m, frame))
		return -1;
	*pfn = frame;
	return 0;
}

/* PV: read the guest's p2m through its shared_info page. */
static int xmem_probe_pv(xmem_t *m, const xc_domaininfo_t *info, char *err,
			 size_t errlen)
{
	xen_pfn_t f = (xen_pfn_t)info->shared_info_frame;
	ut_gframes_t g = {m, gf_read, gf_to_pfn};
	uint64_t max_pfn, fll, limit;
	int e = 0;
	shared_info_t *sh = xenforeignmemory_map(m->x->fmem, m->domid, PROT_READ,
						 1, &f, &e);

	if (!sh || e) {
		if (sh)
			xenforeignmemory_unmap(m->x->fmem, sh, 1);
		snprintf(err, errlen, "cannot map the domain's shared_info page "
			 "(frame %#llx): %s",
			 (unsigned long long)info->shared_info_frame,
			 strerror(e ? -e : errno));
		return -1;
	}
	max_pfn = sh->arch.max_pfn;
	fll = sh->arch.pfn_to_mfn_frame_list_list;
	xenforeignmemory_unmap(m->x->fmem, sh, 1);
	/* Guest-written: at most a few times what the domain may own. */
	limit = 4 * (info->max_pages > info->tot_pages ? info->max_pages
							: info->tot_pages) + 1024;
	if (limit > MAX_SCAN_PFN)
		limit = MAX_SCAN_PFN;
	if (max_pfn > limit) {
		snprintf(err, errlen, "the guest's p2m size (max_pfn %llu) is "
			 "implausible for a domain of %llu pages",
			 (unsigned long long)max_pfn,
			 (unsigned long long)info->max_pages);
		return -1;
	}
	if (ut_p2m_read(&g, fll, max_pfn, &m->p2m, err, errlen))
		return -1;
	m->nframes = max_pfn;
	for (uint64_t pfn = 0; pfn < max_pfn; pfn++)
		if (m->p2m[pfn] != UT_INVALID_FRAME && add_frames(m, pfn, 1)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	if (!m->nphys || ut_m2p_build(&m->m2p, m->p2m, max_pfn)) {
		snprintf(err, errlen, m->nphys ? "out of memory"
			 : "the guest's p2m has no valid entry");
		return -1;
	}
	return 0;
}

/* The top page-table frame of vCPU (v) as its own entries name frames,
 * or -1 with the reason in (note) (paging off, not long mode). */
static int vcpu_root(xmem_t *m, uint32_t v, uint64_t *root, char *note,
		     size_t notelen)
{
	char buf[160];

	if (!m->pv) {
		struct hvm_hw_cpu cpu;
		if (xc_domain_hvm_getcontext_partial(m->x->xch, m->domid,
				HVM_SAVE_CODE(CPU), (uint16_t)v, &cpu,
				sizeof(cpu)) != 0) {
			snprintf(buf, sizeof(buf), "no CR3 of vCPU %u (%s)", v,
				 strerror(errno));
			ut_note_append(note, notelen, "%s%s", buf);
			return -1;
		}
		if (!(cpu.cr0 & (1ull << 31)) || !(cpu.msr_efer & (1ull << 10))) {
			snprintf(buf, sizeof(buf), "vCPU %u %s", v,
				 !(cpu.cr0 & (1ull << 31)) ? "has paging off"
				 : "is not in 64-bit mode (4-level paging)");
			ut_note_append(note, notelen, "%s%s", buf);
			return -1;
		}
		*root = (cpu.cr3 & 0x000ffffffffff000ull) / UT_PAGE_SIZE;
		return 0;
	}
	vcpu_guest_context_any_t any;
	if (xc_vcpu_getcontext(m->x->xch, m->domid, v, &any) != 0) {
		snprintf(buf, sizeof(buf), "no CR3 of vCPU %u (%s)", v,
			 strerror(errno));
		ut_note_append(note, notelen, "%s%s", buf);
		return -1;
	}
	*root = xen_cr3_to_pfn(any.c.ctrlreg[3]);
	return 0;
}

/* Step 2 or 3: the core's ranges. */
static void xmem_layout(xmem_t *m, uint32_t vcpu, char *note, size_t notelen)
{
	ut_gframes_t g = {m, gf_read, gf_to_pfn};
	uint64_t root, npop = 0, max_pages;
	char why[512] = "";
	ut_mem_range_t *r;
	size_t n;

	for (size_t i = 0; i < m->nphys; i++)
		npop += m->phys[i].len / UT_PAGE_SIZE;
	max_pages = 4 * npop + 1024;
	if (vcpu_root(m, vcpu, &root, why, sizeof(why)) == 0 &&
	    ut_pt_walk(&g, root, npop + 64, max_pages, &r, &n, why,
		       sizeof(why)) == 0) {
		m->ranges = r;
		m->n = n;
		if (why[0]) /* the walk's own remarks (a cap hit) */
			ut_note_append(note, notelen, "%s%s", why);
		return;
	}
	m->ranges = m->phys;
	m->n = m->nphys;
	ut_note_append(note, notelen, "%score at guest-physical addresses (no "
		       "page-table walk: %s)", why);
}

static void win_drop(xmem_t *m)
{
	if (m->win)
		xenforeignmemory_unmap(m->x->fmem, m->win, m->win_n);
	m->win = NULL;
	m->win_n = 0;
}

/* The pfn behind guest address (a) and how many bytes of its range
 * follow; -1 outside the ranges. */
static int addr_pfn(const xmem_t *m, uint64_t a, uint64_t *pfn)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const ut_mem_range_t *r = &m->ranges[mid];
		if (a < r->addr)
			hi = mid;
		else if (a - r->addr >= r->len)
			lo = mid + 1;
		else {
			*pfn = (r->paddr + (a - r->addr)) / UT_PAGE_SIZE;
			return 0;
		}
	}
	return -1;
}

static long xmem_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	xmem_t *m = ctx;
	size_t done = 0;

	while (done < len) {
		uint64_t a = addr + done, pfn;
		if (addr_pfn(m, a, &pfn) || pfn >= m->nframes)
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
	if (m->ranges != m->phys)
		free(m->ranges);
	free(m->phys);
	free(m->p2m);
	ut_m2p_free(&m->m2p);
	m->ranges = m->phys = NULL;
	m->p2m = NULL;
	m->n = m->nphys = m->capphys = 0;
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

/* ---- the Xen source of the capture sequence (crash.h) --------------------- */

typedef struct xen_src {
	ut_crash_src_t s; /* first: the sequence's handle */
	ut_xen_t *x;      /* the serving thread's: prepare only */
	ut_xen_t *wx;     /* the capture's own handles (ut_xen_open_dump) */
	uint32_t domid;
	char name[UT_NAME_LEN + 1];
	bool paused;
	bool have_info;
	xc_domaininfo_t info;
	char what[32];    /* " of domain N" */
	ut_core_thread_t thr[UT_MAX_RINGS];
	char psinfo[UT_CORE_PRPSINFO_SIZE];
	void *ntfile;     /* NT_FILE payload */
	size_t ntfile_len;
	uint64_t auxv[6]; /* NT_AUXV payload */
	xmem_t m;
} xen_src_t;

/* Pause the domain and read its vCPUs. */
static void xs_prepare(ut_crash_src_t *s, ut_reader_t *rd,
		       struct ut_crash_rec *rec, bool valid, char *note,
		       size_t notelen)
{
	xen_src_t *xs = (xen_src_t *)s;
	ut_xen_t *x = xs->x;
	uint32_t domid = xs->domid, crash_vcpu = 0;
	xc_domaininfo_t *info = &xs->info;
	char err[300];

	if (valid && rec->vcpu < rd->nr_rings)
		crash_vcpu = rd->rings[rec->vcpu].vcpu;
	/* A consistent picture: nothing runs while we read (a domain that
	 * has shut down is not running anyway; the pause count is ours). */
	xs->have_info = xc_domain_getinfolist(x->xch, domid, 1, info) == 1 &&
			info->domain == domid &&
			!(info->flags & XEN_DOMINF_dying);
	/* The worker's own handles: it reads the memory and unpauses. */
	if (xs->have_info && !(xs->wx = ut_xen_open_dump(x, err, sizeof(err))))
		ut_note_append(note, notelen, "%sno core: %s", err);
	if (xs->wx && xc_domain_pause(x->xch, domid) == 0)
		xs->paused = true;
	if (xs->have_info) {
		uint32_t maxv = info->max_vcpu_id < UT_MAX_RINGS
				? info->max_vcpu_id : UT_MAX_RINGS - 1;
		s->nthr = gather_threads(x, domid,
					 (info->flags & XEN_DOMINF_hvm_guest) != 0,
					 maxv, rec, valid, crash_vcpu, xs->thr,
					 UT_MAX_RINGS, note, notelen);
	} else {
		ut_note_append(note, notelen, "%s%s", "the domain is gone: no "
		       "registers or memory to dump");
	}
	if (!valid && s->nthr) { /* the row shows what the vCPU held */
		rec->arch = UT_ARCH_X86_64;
		memcpy(rec->regs, xs->thr[0].regs, sizeof(rec->regs));
	}
	s->elf = ut_xen_elf_for(&x->o, xs->name);
	snprintf(s->core_name, sizeof(s->core_name), "xen-dom%u", domid);
	xs->x = NULL; /* the worker uses xs->wx only */
}

static int xs_open_mem(ut_crash_src_t *s, const struct ut_crash_rec *rec,
		       char *note, size_t notelen)
{
	xen_src_t *xs = (xen_src_t *)s;
	xmem_t *m = &xs->m;
	char err[512];
	int rc;

	(void)rec;
	if (!s->nthr || !xs->have_info || !xs->wx)
		return -1;
	m->x = xs->wx;
	m->domid = xs->domid;
	m->pv = !(xs->info.flags & XEN_DOMINF_hvm_guest);
	rc = m->pv ? xmem_probe_pv(m, &xs->info, err, sizeof(err))
		   : xmem_probe_hvm(m, err, sizeof(err));
	if (rc) {
		ut_note_append(note, notelen, "%sno core: %s", err);
		return -1;
	}
	if (m->scan_cut) {
		snprintf(err, sizeof(err), "%llu GiB",
			 (unsigned long long)(MAX_SCAN_PFN * UT_PAGE_SIZE >> 30));
		ut_note_append(note, notelen, "%sbounded capture: only the "
			       "first %s of guest-physical space scanned", err);
	}
	/* The crashing vCPU's address space (thr[0].tid = vCPU + 1). */
	xmem_layout(m, xs->thr[0].tid ? xs->thr[0].tid - 1 : 0, note, notelen);
	m->src.ctx = m;
	m->src.ranges = m->ranges;
	m->src.nranges = m->n;
	m->src.read = xmem_read;
	s->mem = &m->src;
	s->thr = xs->thr;
	return 0;
}

static size_t xs_core_notes(ut_crash_src_t *s, ut_core_note_t *notes)
{
	xen_src_t *xs = (xen_src_t *)s;
	const char *name = xs->name[0] ? xs->name : "domU";
	size_t n = 0;

	ut_core_note_prpsinfo(&notes[n++], xs->psinfo, name, NULL, xs->domid);
	/* NT_FILE: the unikernel's ELF over its loaded segments, so that
	 * readers of the core (libdwfl, lldb) know which file is where. */
	free(xs->ntfile);
	xs->ntfile = NULL;
	if (s->elf && ut_core_ntfile_elf(s->elf, &xs->ntfile, &xs->ntfile_len) == 0)
		notes[n++] = (ut_core_note_t){"CORE", UT_NT_FILE, xs->ntfile,
					      xs->ntfile_len};
	/* NT_AUXV with AT_ENTRY: where lldb places the executable. */
	if (s->elf && ut_core_auxv_elf(s->elf, xs->auxv) == 0)
		notes[n++] = (ut_core_note_t){"CORE", 6 /* NT_AUXV */, xs->auxv,
					      sizeof(xs->auxv)};
	return n;
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
	free(xs->ntfile);
	xs->ntfile = NULL;
	if (xs->paused)
		xc_domain_unpause(xs->wx->xch, xs->domid);
	xs->paused = false;
	ut_xen_close(xs->wx);
	xs->wx = NULL;
}

static void xs_destroy(ut_crash_src_t *s)
{
	free(s);
}

int ut_crash_begin_xen(ut_store_t *st, int64_t guest_id, ut_reader_t *rd,
		       ut_xen_t *x, ut_xen_dom_t *d,
		       const struct ut_crash_opts *o, struct ut_crash_job **job)
{
	xen_src_t *xs = calloc(1, sizeof(*xs));

	*job = NULL;
	if (!xs)
		return -1;
	xs->x = x;
	xs->domid = d->domid;
	memcpy(xs->name, d->name, sizeof(xs->name));
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
	xs->s.destroy = xs_destroy;
	return ut_crash_begin(st, guest_id, rd, &xs->s, o, job);
}

#endif /* UT_HAVE_XEN */
