/*
 * Xen port of the unitrace guest library: the Xen ABI structures it uses
 * (our own definitions, sizes checked below against the Xen 4.17 public
 * headers; the port itself needs only the shared_info and vchan layouts,
 * the rest serves unikernels such as examples/pvh-demo that talk to Xen
 * directly) and the small interface a unikernel implements so that
 * port_xen.c can run on it.
 *
 * Freestanding: <stdint.h> and <stddef.h> only.
 */
#ifndef UT_XEN_GUEST_H
#define UT_XEN_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "ut_crash.h" /* ut_crash(), for the unikernel's trap handlers */

/* _Static_assert in C, static_assert in C++. */
#ifndef UT_STATIC_ASSERT
#ifdef __cplusplus
#define UT_STATIC_ASSERT(e, msg) static_assert(e, msg)
#else
#define UT_STATIC_ASSERT(e, msg) _Static_assert(e, msg)
#endif
#endif

/* ---- Xen ABI (x86-64) ---------------------------------------------------- */

#define XG_PAGE_SHIFT 12
#define XG_PAGE_SIZE 4096u
#define XG_DOMID_SELF 0x7ff0u

/* Hypercall numbers. */
#define XG_HC_MEMORY_OP 12
#define XG_HC_CONSOLE_IO 18
#define XG_HC_GRANT_TABLE_OP 20
#define XG_HC_SCHED_OP 29
#define XG_HC_EVENT_CHANNEL_OP 32
#define XG_HC_HVM_OP 34

/* sched_op commands and shutdown reasons. */
#define XG_SCHEDOP_YIELD 0
#define XG_SCHEDOP_SHUTDOWN 2
#define XG_SHUTDOWN_POWEROFF 0
#define XG_SHUTDOWN_REBOOT 1
#define XG_SHUTDOWN_SUSPEND 2
#define XG_SHUTDOWN_CRASH 3

struct xg_sched_shutdown {
	uint32_t reason;
};
UT_STATIC_ASSERT(sizeof(struct xg_sched_shutdown) == 4, "sched_shutdown");

/* event_channel_op commands. */
#define XG_EVTCHNOP_SEND 4
#define XG_EVTCHNOP_ALLOC_UNBOUND 6

struct xg_evtchn_alloc_unbound {
	uint16_t dom;        /* DOMID_SELF */
	uint16_t remote_dom; /* who may bind it */
	uint32_t port;       /* OUT */
};
UT_STATIC_ASSERT(sizeof(struct xg_evtchn_alloc_unbound) == 8, "alloc_unbound");

struct xg_evtchn_send {
	uint32_t port;
};

/* memory_op: XENMEM_add_to_physmap. */
#define XG_XENMEM_ADD_TO_PHYSMAP 7
#define XG_MAPSPACE_SHARED_INFO 0
#define XG_MAPSPACE_GRANT_TABLE 1

struct xg_add_to_physmap {
	uint16_t domid;
	uint16_t size;
	uint32_t space;
	uint64_t idx;
	uint64_t gpfn;
};
UT_STATIC_ASSERT(sizeof(struct xg_add_to_physmap) == 24, "add_to_physmap");
UT_STATIC_ASSERT(offsetof(struct xg_add_to_physmap, gpfn) == 16, "gpfn");

/* hvm_op: HVMOP_get_param. */
#define XG_HVMOP_GET_PARAM 1
#define XG_HVM_PARAM_STORE_PFN 1
#define XG_HVM_PARAM_STORE_EVTCHN 2
#define XG_HVM_PARAM_CONSOLE_PFN 17
#define XG_HVM_PARAM_CONSOLE_EVTCHN 18

struct xg_hvm_param {
	uint16_t domid;
	uint16_t pad;
	uint32_t index;
	uint64_t value;
};
UT_STATIC_ASSERT(sizeof(struct xg_hvm_param) == 16, "hvm_param");

/* Grant table v1. */
#define XG_GTF_PERMIT_ACCESS 0x1u
#define XG_GTF_READONLY 0x4u
#define XG_GTF_READING 0x8u
#define XG_GTF_WRITING 0x10u
#define XG_GNTTAB_FIRST_FREE_REF 8u /* 0-7 belong to the toolstack */
#define XG_GNTTAB_PER_PAGE 512u

struct xg_grant_v1 {
	uint16_t flags;
	uint16_t domid;
	uint32_t frame;
};
UT_STATIC_ASSERT(sizeof(struct xg_grant_v1) == 8, "grant_entry_v1");

/* shared_info: the parts we read (pvclock of each vCPU, wall clock). */
struct xg_vcpu_time_info {
	uint32_t version; /* odd while Xen updates the record */
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time; /* ns since the domain's time base */
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad1[2];
};
UT_STATIC_ASSERT(sizeof(struct xg_vcpu_time_info) == 32, "vcpu_time_info");
UT_STATIC_ASSERT(offsetof(struct xg_vcpu_time_info, tsc_to_system_mul) == 24,
	       "tsc_to_system_mul");

struct xg_vcpu_info {
	uint8_t evtchn_upcall_pending;
	uint8_t evtchn_upcall_mask;
	uint8_t pad[6];
	uint64_t evtchn_pending_sel;
	uint64_t cr2;
	uint64_t arch_pad;
	struct xg_vcpu_time_info time;
};
UT_STATIC_ASSERT(sizeof(struct xg_vcpu_info) == 64, "vcpu_info");
UT_STATIC_ASSERT(offsetof(struct xg_vcpu_info, time) == 32, "vcpu_info.time");

#define XG_LEGACY_MAX_VCPUS 32

struct xg_shared_info {
	struct xg_vcpu_info vcpu_info[XG_LEGACY_MAX_VCPUS];
	uint64_t evtchn_pending[64];
	uint64_t evtchn_mask[64];
	uint32_t wc_version;
	uint32_t wc_sec;
	uint32_t wc_nsec;
	uint32_t wc_sec_hi;
	/* arch_shared_info follows; not used */
};
UT_STATIC_ASSERT(offsetof(struct xg_shared_info, wc_version) == 3072, "wc_version");
UT_STATIC_ASSERT(offsetof(struct xg_shared_info, wc_sec_hi) == 3084, "wc_sec_hi");

/* libxenvchan's shared page (the guest is the server).  Left ring: written
 * by the client, read by the server; right ring: the other way.  Orders 10
 * and 11 put the rings inside this page, at offsets 1024 and 2048. */
struct xg_vchan_ring {
	uint32_t cons;
	uint32_t prod;
};

struct xg_vchan_iface {
	struct xg_vchan_ring left;
	struct xg_vchan_ring right;
	uint16_t left_order;
	uint16_t right_order;
	uint8_t cli_live;   /* 0 gone, 1 connected, 2 not yet */
	uint8_t srv_live;
	uint8_t cli_notify; /* bits the client checks after it writes/reads */
	uint8_t srv_notify; /* bits the server checks (the client's requests) */
	uint32_t grants[];  /* ring pages for orders >= 12; unused here */
};
UT_STATIC_ASSERT(sizeof(struct xg_vchan_iface) == 24, "vchan_interface");
UT_STATIC_ASSERT(offsetof(struct xg_vchan_iface, cli_live) == 20, "cli_live");

#define XG_VCHAN_NOTIFY_WRITE 1u
#define XG_VCHAN_NOTIFY_READ 2u
#define XG_VCHAN_SMALL_ORDER 10u
#define XG_VCHAN_SMALL_OFF 1024u
#define XG_VCHAN_LARGE_ORDER 11u
#define XG_VCHAN_LARGE_OFF 2048u

/* ---- what the unikernel provides to the port ---------------------------- */
/*
 * A unikernel that links tracer-guest/ut_trace.c and port_xen.c implements
 * these (examples/pvh-demo/xen.c is a complete example; docs/xen.md maps
 * each onto Mini-OS and Unikraft).  The port never issues a hypercall nor
 * touches the grant table itself: PV, PVH and HVM guests all work, each
 * with its own notion of a frame (below).
 *
 * Contract for every hook: it returns quickly and never blocks (no
 * semaphore, no waiting for a free resource, no sleeping until an event).
 * The only waits allowed are the xenstore hooks' wait for xenstored's
 * reply; those are called from ut_init() only (and xg_xs_read from
 * ut_port_defaults/identity, also under ut_init), never from the crash
 * path.  xg_evtchn_notify, xg_sched_yield and xg_sched_shutdown are called
 * from ut_ctl_poll(), at exit and on the crash path, possibly inside a trap
 * handler with interrupts off.  None is called on the event fast path;
 * xg_vcpu_id() is called when a vCPU emits its first event.
 */

/* (n) zeroed, page-aligned pages, contiguous in the guest's virtual
 * address space, never freed; NULL if there is not enough memory.  Each
 * page must have a frame (xg_virt_to_frame) that stays the same for the
 * life of the domain (no ballooning or migration of these pages). */
void *xg_alloc_pages(size_t n);

/* The frame number to put in a grant entry for the page at (va), a page
 * that xg_alloc_pages returned:
 *   PV guest:      the machine frame number (MFN, virt -> pfn -> p2m);
 *   PVH/HVM guest: the guest frame number (GFN, guest-physical >> 12).
 * The port passes it through to xg_grant_access unchanged. */
uint64_t xg_virt_to_frame(const void *va);

/* Grant domain (domid) access to (frame): read-only when (readonly) is
 * non-zero, read-write otherwise (the port always asks read-write).
 * Returns the grant reference (>= 0), or -1 when it cannot: no free
 * reference, a frame the grant table format cannot hold (v1: 32 bits), no
 * grant table.  It must NOT wait for a reference to be freed: -1 at once;
 * the port then fails ut_init (UT_EPORT) or, for the control page, runs
 * without control.  The port never ends a grant (the domain keeps them
 * until it dies). */
int xg_grant_access(uint16_t domid, uint64_t frame, int readonly);

/* EVTCHNOP_alloc_unbound: a new local event channel that domain
 * (remote_domid) may bind; its port in *port.  0, or -1 on failure.  The
 * port never expects an upcall on it: the unikernel may leave it masked
 * and need not attach a handler. */
int xg_evtchn_alloc_unbound(uint16_t remote_domid, uint32_t *port);

/* EVTCHNOP_send on local (port).  Errors are ignored. */
void xg_evtchn_notify(uint32_t port);

/* SCHEDOP_yield: give the CPU back to Xen once, then return.  Called in
 * polling loops (waiting for the collector at exit), possibly with
 * interrupts off: it must not depend on the unikernel's scheduler. */
void xg_sched_yield(void);

/* SCHEDOP_shutdown with (reason), one of XG_SHUTDOWN_*.  The port uses
 * XG_SHUTDOWN_CRASH after a crash record is written; for that reason it
 * normally does not return (the domain stops; on_crash="preserve" keeps it
 * for the collector).  If it returns, the port calls it again. */
void xg_sched_shutdown(unsigned reason);

/* Xenstore, (path) relative to the domain's home (/local/domain/<domid>),
 * outside any transaction.
 * read:  copies the value NUL-terminated into buf[cap], returns its length,
 *        or -1 (missing key, too long for cap, error);
 * write: creates or replaces the key, returns 0 or -1. */
int xg_xs_read(const char *path, char *buf, size_t cap);
int xg_xs_write(const char *path, const char *value);

/* XS_SET_PERMS on (path) (relative as above, already written): the owner
 * stays this guest, other domains get no access, except (domid), which
 * may read ("n<self>", "r<domid>").  The port calls it on every key it
 * writes so that a collector in a backend domain other than dom0 can read
 * them.  0 or -1; the port ignores a failure when the backend is dom0
 * (dom0 reads everything) and fails ut_init on one otherwise. */
int xg_xs_set_perm(const char *path, uint16_t domid);

/* The mapped shared_info page, or NULL if the unikernel has not mapped it
 * (then the clock falls back to the TSC frequency Xen reports in CPUID). */
volatile struct xg_shared_info *xg_shared_info(void);

/* The id of the vCPU executing the caller (0 on a uniprocessor). */
unsigned xg_vcpu_id(void);

/* ---- what the port offers the unikernel --------------------------------- */

/* The domain the area pages are granted to and the event channel is bound
 * for (default 0, dom0).  Call before ut_init. */
void ut_xen_set_backend(uint16_t domid);

/* Xen system time in ns (pvclock of vCPU 0); 0 if shared_info is not
 * mapped.  Usable before ut_init. */
uint64_t ut_xen_time_ns(void);

/* Give the CPU back to Xen once (SCHEDOP_yield). */
void ut_xen_yield(void);

#endif /* UT_XEN_GUEST_H */
