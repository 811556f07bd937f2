/*
 * unitrace on Unikraft: the platform hooks of tracer-guest/xen_guest.h,
 * implemented with Unikraft's own interfaces (plat/xen and the xenbus
 * driver), and the crash hook on Unikraft's trap events.  No patch to
 * Unikraft: everything used here is a public function or header of
 * eaf6fda1 (RELEASE-0.17.0 and later).
 *
 *   xg_alloc_pages         uk_palloc() on the default allocator, zeroed
 *   xg_virt_to_frame       virt_to_mfn() (x86_64 Xen is PV: the MFN)
 *   xg_grant_access        gnttab_grant_access(), within a budget (below)
 *   xg_evtchn_*            HYPERVISOR_event_channel_op, notify_remote_via_evtchn
 *   xg_sched_*             HYPERVISOR_sched_op
 *   xg_xs_*                xs_read / xs_write / xs_set_perm (relative paths
 *                          are relative to the domain's home in xenstored)
 *   xg_shared_info         HYPERVISOR_shared_info
 *   xg_vcpu_id             ukplat_lcpu_id()
 *
 * Grant references: Unikraft's allocator (plat/xen/gnttab.c) is static and
 * waits on a semaphore when none is free, and it does not say how many are
 * left.  So that ut_init fails instead of hanging, this port never takes
 * more than CONFIG_LIBUNITRACE_MAX_GRANTS references.  Residual risk: if
 * the other front ends (netfront, blkfront...) already hold so many that
 * the 2040 references of the 4 mapped frames minus theirs are fewer than
 * the budget, gnttab_grant_access() can still wait; keep the budget below
 * what the other drivers leave (a 1 MiB ring takes about 260).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uk/config.h>
#include <uk/alloc.h>
#include <uk/arch/traps.h>
#include <uk/errptr.h>
#include <uk/event.h>
#include <uk/plat/lcpu.h>
#include <uk/xenbus/xs.h>

#include <common/events.h>
#include <common/gnttab.h>
#include <common/hypervisor.h>
#include <xen-x86/mm.h>
#include <xen/event_channel.h>
#include <xen/sched.h>

#include "ut_abi.h"
#include "ut_unikraft.h"
#include "xen_guest.h"

#ifndef CONFIG_LIBUNITRACE_MAX_GRANTS
#define CONFIG_LIBUNITRACE_MAX_GRANTS 1024
#endif
#ifndef CONFIG_LIBUNITRACE_RING_KB
#define CONFIG_LIBUNITRACE_RING_KB 1024
#endif
#ifndef CONFIG_LIBUNITRACE_BACKEND_DOMID
#define CONFIG_LIBUNITRACE_BACKEND_DOMID 0
#endif

/* The hooks are reached from C only through xen_guest.h; the layout of
 * Xen's own structures must be the one the port assumes. */
UT_STATIC_ASSERT(sizeof(struct vcpu_time_info) ==
		 sizeof(struct xg_vcpu_time_info), "vcpu_time_info");
UT_STATIC_ASSERT(offsetof(struct shared_info, wc_version) ==
		 offsetof(struct xg_shared_info, wc_version), "wc_version");

/* ---- memory and grants ---------------------------------------------------- */

void *xg_alloc_pages(size_t n)
{
	struct uk_alloc *a = uk_alloc_get_default();
	void *p;

	if (!n || !a)
		return NULL;
	p = uk_palloc(a, n);
	if (p)
		memset(p, 0, n * XG_PAGE_SIZE);
	return p;
}

uint64_t xg_virt_to_frame(const void *va)
{
	return (uint64_t)virt_to_mfn(va);
}

static unsigned ut_uk_grants; /* references taken (never given back) */

int xg_grant_access(uint16_t domid, uint64_t frame, int readonly)
{
	grant_ref_t ref;

	if (ut_uk_grants >= CONFIG_LIBUNITRACE_MAX_GRANTS ||
	    frame > 0xffffffffu)
		return -1;
	ut_uk_grants++;
	ref = gnttab_grant_access((domid_t)domid, (unsigned long)frame,
				  readonly ? 1 : 0);
	if (ref == GRANT_INVALID_REF || ref > 0x7fffffffu)
		return -1;
	return (int)ref;
}

unsigned ut_unikraft_grants_used(void)
{
	return ut_uk_grants;
}

unsigned ut_unikraft_grants_max(void)
{
	return CONFIG_LIBUNITRACE_MAX_GRANTS;
}

/* ---- event channels and the scheduler ------------------------------------- */

int xg_evtchn_alloc_unbound(uint16_t remote_domid, uint32_t *port)
{
	/* Not evtchn_alloc_unbound() of plat/xen: that one binds a handler
	 * and unmasks the port; the port polls and wants no upcall, so the
	 * port stays masked as Unikraft's init_events() left it. */
	evtchn_alloc_unbound_t op;

	op.dom = DOMID_SELF;
	op.remote_dom = (domid_t)remote_domid;
	op.port = 0;
	if (HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op) != 0)
		return -1;
	*port = op.port;
	return 0;
}

void xg_evtchn_notify(uint32_t port)
{
	notify_remote_via_evtchn((evtchn_port_t)port);
}

void xg_sched_yield(void)
{
	HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
}

void xg_sched_shutdown(unsigned reason)
{
	struct sched_shutdown sd;

	sd.reason = reason;
	HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
}

/* ---- xenstore --------------------------------------------------------------- */

int xg_xs_read(const char *path, char *buf, size_t cap)
{
	char *v = xs_read(XBT_NIL, path, NULL);
	size_t n;

	if (PTRISERR(v) || !v)
		return -1;
	n = strlen(v);
	if (!cap || n >= cap || n > 0x7fffffff) {
		free(v);
		return -1;
	}
	memcpy(buf, v, n + 1);
	free(v);
	return (int)n;
}

int xg_xs_write(const char *path, const char *value)
{
	return xs_write(XBT_NIL, path, NULL, value) == 0 ? 0 : -1;
}

int xg_xs_set_perm(const char *path, uint16_t domid)
{
	/* xs_set_perm reads the ACL, adds (domid) and writes it back: it
	 * wants a transaction (the owner, this domain, stays). */
	for (int tries = 0; tries < 8; tries++) {
		xenbus_transaction_t xbt;
		int rc;

		if (xs_transaction_start(&xbt) != 0)
			return -1;
		rc = xs_set_perm(xbt, path, (domid_t)domid, XS_PERM_READ);
		if (rc != 0) {
			xs_transaction_end(xbt, 1);
			return -1;
		}
		rc = xs_transaction_end(xbt, 0);
		if (rc == 0)
			return 0;
		if (rc != -EAGAIN)
			return -1;
	}
	return -1;
}

/* ---- clock and vCPU ------------------------------------------------------------ */

volatile struct xg_shared_info *xg_shared_info(void)
{
	return (volatile struct xg_shared_info *)(void *)HYPERVISOR_shared_info;
}

unsigned xg_vcpu_id(void)
{
	return (unsigned)ukplat_lcpu_id();
}

/* ---- initialisation with the Kconfig choices ------------------------------------ */

int ut_unikraft_init(const char *name)
{
	ut_config_t cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.name = name;
	cfg.nr_rings = 1;
	cfg.ring_size = (uint32_t)CONFIG_LIBUNITRACE_RING_KB * 1024u;
#ifdef CONFIG_LIBUNITRACE_OVERWRITE
	cfg.mode = UT_CFG_MODE_OVERWRITE;
#else
	cfg.mode = UT_CFG_MODE_DISCARD;
#endif
	ut_xen_set_backend((uint16_t)CONFIG_LIBUNITRACE_BACKEND_DOMID);
	rc = ut_init(&cfg);
	if (rc == 0)
		ut_set_vcpu(0);
	return rc;
}

/* ---- the crash record: Unikraft's trap events ------------------------------------ */

#ifdef CONFIG_LIBUNITRACE_CRASH_HOOK

static void reason_str(char *b, size_t cap, size_t *n, const char *s)
{
	while (*s && *n + 1 < cap)
		b[(*n)++] = *s++;
	b[*n] = 0;
}

static void reason_hex(char *b, size_t cap, size_t *n, uint64_t v)
{
	char t[19];
	int i = 18;

	t[i] = 0;
	do {
		t[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v && i > 2);
	t[--i] = 'x';
	t[--i] = '0';
	reason_str(b, cap, n, t + i);
}

static const char *trap_name(int nr)
{
	switch (nr) {
	case 0: return "#DE divide error";
	case 6: return "#UD invalid opcode";
	case 7: return "#NM device not available";
	case 11: return "#NP segment not present";
	case 12: return "#SS stack fault";
	case 13: return "#GP general protection";
	case 14: return "#PF page fault";
	case 16: return "#MF x87 error";
	case 17: return "#AC alignment check";
	case 19: return "#XM SIMD exception";
	default: return "exception";
	}
}

/*
 * Registered last on each event (UK_EVENT_HANDLER's default priority): a
 * trap another library handles (UK_EVENT_HANDLED) never reaches it.  It
 * writes the crash record and answers "not handled", so Unikraft's own
 * path still prints its register dump and stack walk and crashes the
 * domain (on_crash="preserve" keeps it for the collector).
 */
static int ut_uk_trap(void *data)
{
	static volatile int in_trap;
	struct ukarch_trap_ctx *ctx = data;
	struct __regs *r = ctx->regs;
	uint64_t regs[UT_CRASH_NREGS];
	char reason[UT_CRASH_REASON_LEN];
	size_t n = 0;
	uint16_t seg;

	if (in_trap++) /* a fault in this path: leave it to Unikraft */
		return UK_EVENT_NOT_HANDLED;
	memset(regs, 0, sizeof(regs));
	regs[UT_X86_R15] = r->r15;
	regs[UT_X86_R14] = r->r14;
	regs[UT_X86_R13] = r->r13;
	regs[UT_X86_R12] = r->r12;
	regs[UT_X86_RBP] = r->rbp;
	regs[UT_X86_RBX] = r->rbx;
	regs[UT_X86_R11] = r->r11;
	regs[UT_X86_R10] = r->r10;
	regs[UT_X86_R9] = r->r9;
	regs[UT_X86_R8] = r->r8;
	regs[UT_X86_RAX] = r->rax;
	regs[UT_X86_RCX] = r->rcx;
	regs[UT_X86_RDX] = r->rdx;
	regs[UT_X86_RSI] = r->rsi;
	regs[UT_X86_RDI] = r->rdi;
	regs[UT_X86_ORIG_RAX] = (uint64_t)-1;
	regs[UT_X86_RIP] = r->rip;
	regs[UT_X86_CS] = r->cs;
	regs[UT_X86_EFLAGS] = r->eflags;
	regs[UT_X86_RSP] = r->rsp;
	regs[UT_X86_SS] = r->ss;
	__asm__ __volatile__("mov %%ds, %0" : "=r"(seg));
	regs[UT_X86_DS] = seg;
	__asm__ __volatile__("mov %%es, %0" : "=r"(seg));
	regs[UT_X86_ES] = seg;

	reason_str(reason, sizeof(reason), &n, "CPU exception ");
	reason_str(reason, sizeof(reason), &n, trap_name(ctx->trapnr));
	if (ctx->trapnr == 14) {
		reason_str(reason, sizeof(reason), &n, " at ");
		reason_hex(reason, sizeof(reason), &n, ctx->fault_address);
	}
	ut_crash(UT_CRASH_TRAP, ctx->trapnr, ctx->error_code,
		 ctx->trapnr == 14 ? (uint64_t)ctx->fault_address : 0, regs, 0,
		 reason);
	return UK_EVENT_NOT_HANDLED;
}

UK_EVENT_HANDLER(UKARCH_TRAP_PAGE_FAULT, ut_uk_trap);
UK_EVENT_HANDLER(UKARCH_TRAP_X86_GP, ut_uk_trap);
UK_EVENT_HANDLER(UKARCH_TRAP_INVALID_OP, ut_uk_trap);
UK_EVENT_HANDLER(UKARCH_TRAP_MATH, ut_uk_trap);
UK_EVENT_HANDLER(UKARCH_TRAP_BUS_ERROR, ut_uk_trap);

#endif /* CONFIG_LIBUNITRACE_CRASH_HOOK */
