/*
 * The Xen port: the guest is a PV, PVH or HVM domU unikernel.
 *
 * - Shared pages: taken from the unikernel's page allocator and granted,
 *   read-write, to the collector's domain (dom0 unless ut_xen_set_backend()
 *   says otherwise) through the unikernel's grant call, with the frame it
 *   names (the MFN on PV, the GFN on PVH/HVM).  The grant references of
 *   the area pages are listed, in order, in "directory" pages (1024 uint32
 *   references each), themselves granted.  No free reference: ut_init
 *   fails (the unikernel's grant call returns -1, never waits).
 * - Rendezvous: keys under the domain's xenstore home, data/unitrace/
 *   (see docs/xen.md), "state" = "ready" written last.  Each key is made
 *   readable by the backend domain (XS_SET_PERMS), for a collector that is
 *   not in dom0.
 * - Notification: an unbound event channel the collector binds; the port
 *   sends on it at exit and crash.  The collector also polls.
 * - Control: a libxenvchan server at data/vchan/<backend>/unitrace-ctl
 *   (one granted page, both rings inside it, its own event channel) that
 *   ut_ctl_poll() serves; `unitrace ctl --xen` is the client.
 * - Clock: the TSC, with Xen's pvclock of vCPU 0 as calibration, so that
 *   timestamps convert to Xen system time.
 * - vCPU: the ring bound to the vCPU the unikernel says is running.
 * - Crash: nothing to wait for (the domain is kept by on_crash="preserve"
 *   and the collector reads it after the shutdown); ut_port_die() asks for
 *   SCHEDOP_shutdown(crash).
 *
 * Freestanding, and no hypercall of its own: everything from the unikernel
 * comes through the hooks of xen_guest.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ut_ctl.h"
#include "ut_port.h"
#include "ut_xenstore.h"
#include "xen_guest.h"

#define UT_XEN_DEFAULT_NAME "xen-guest"
#define UT_XEN_ATTACH_WAIT_NS 2000000000ull /* at exit, for a collector */
#define UT_XEN_DRAIN_WAIT_NS 10000000000ull /* at exit, for it to finish */

static uint16_t ut_xen_backend;       /* collector's domain */
static uint32_t ut_xen_port;          /* event channel, 0: none */
static uint8_t *ut_xen_area;
static size_t ut_xen_area_pages;
static int16_t ut_xen_ring_of[UT_MAX_RINGS]; /* vCPU -> ring + 1, 0: none */
static char ut_xen_name[UT_NAME_LEN];
static volatile struct xg_vchan_iface *ut_vc; /* control vchan page */
static uint32_t ut_vc_port;                   /* its event channel */

/* ---- small freestanding helpers ------------------------------------------ */

static size_t xstrlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* Append the decimal form of (v) at buf[*len], keeping room for a NUL. */
static bool xappend_u64(char *buf, size_t cap, size_t *len, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (*len + (size_t)n + 1 > cap)
		return false;
	while (n)
		buf[(*len)++] = tmp[--n];
	buf[*len] = 0;
	return true;
}

static bool xappend_str(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = xstrlen(s);

	if (*len + n + 1 > cap)
		return false;
	for (size_t i = 0; i < n; i++)
		buf[(*len)++] = s[i];
	buf[*len] = 0;
	return true;
}

static bool xparse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > 0xffffffffu)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

static void xcpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ __volatile__("cpuid"
			     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			     : "a"(leaf), "c"(sub));
}

/* ---- the clock ------------------------------------------------------------ */

/* A consistent copy of vCPU 0's pvclock record; false if not mapped. */
static bool pvclock_snapshot(struct xg_vcpu_time_info *out)
{
	volatile struct xg_shared_info *s = xg_shared_info();
	volatile struct xg_vcpu_time_info *t;
	uint32_t v;

	if (!s)
		return false;
	t = &s->vcpu_info[0].time;
	do {
		v = t->version;
		ut_rmb();
		out->tsc_timestamp = t->tsc_timestamp;
		out->system_time = t->system_time;
		out->tsc_to_system_mul = t->tsc_to_system_mul;
		out->tsc_shift = t->tsc_shift;
		out->flags = t->flags;
		ut_rmb();
	} while ((v & 1) || v != t->version);
	out->version = v;
	return out->tsc_to_system_mul != 0;
}

/* (delta) TSC ticks in ns with the pvclock scale (no 128-bit division:
 * a 64x32 multiply split in two halves). */
static uint64_t pvclock_scale(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return ((delta >> 32) * mul) + (((delta & 0xffffffffu) * mul) >> 32);
}

uint64_t ut_xen_time_ns(void)
{
	struct xg_vcpu_time_info t = {0};
	uint64_t tsc;

	if (!pvclock_snapshot(&t))
		return 0;
	/* modulo 2^64: a guest's TSC may start just below 2^64 and wrap */
	tsc = ut_arch_ticks() - t.tsc_timestamp;
	if ((int64_t)tsc < 0)
		return t.system_time;
	return t.system_time +
	       pvclock_scale(tsc, t.tsc_to_system_mul, t.tsc_shift);
}

/* Xen's CPUID base (0x40000000 + k * 0x100), or 0. */
static uint32_t xen_cpuid_base(void)
{
	uint32_t r[4];

	for (uint32_t base = 0x40000000u; base < 0x40010000u; base += 0x100) {
		xcpuid(base, 0, r);
		if (r[1] == 0x566e6558u && r[2] == 0x65584d4du &&
		    r[3] == 0x4d4d566eu && r[0] - base >= 2)
			return base;
	}
	return 0;
}

ut_ticks_fn ut_port_clock(struct ut_area_hdr *h)
{
	volatile struct xg_shared_info *s = xg_shared_info();
	struct xg_vcpu_time_info t = {0};

	h->clock_source = UT_CLOCK_TSC;
	if (pvclock_snapshot(&t)) {
		/* ns = system_time + ((tsc - tsc_timestamp) << shift) * mul >> 32,
		 * i.e. mult = mul << shift, shift 32 (or 32 - shift when the
		 * pvclock shift is negative). */
		if (t.tsc_shift >= 0) {
			h->clock_mult = (uint64_t)t.tsc_to_system_mul << t.tsc_shift;
			h->clock_shift = 32;
		} else {
			h->clock_mult = t.tsc_to_system_mul;
			h->clock_shift = (uint32_t)(32 - t.tsc_shift);
		}
		h->clock_ticks_ref = t.tsc_timestamp;
		h->clock_ns_ref = t.system_time;
		uint64_t hz = (1000000000ull << 32) / t.tsc_to_system_mul;
		h->clock_hz = t.tsc_shift >= 0 ? hz >> t.tsc_shift
					       : hz << -t.tsc_shift;
		/* Wall clock: shared_info holds the Unix time of system time 0. */
		uint32_t v, sec, sec_hi, nsec;
		do {
			v = s->wc_version;
			ut_rmb();
			sec = s->wc_sec;
			sec_hi = s->wc_sec_hi;
			nsec = s->wc_nsec;
			ut_rmb();
		} while ((v & 1) || v != s->wc_version);
		h->clock_realtime_ref = (((uint64_t)sec_hi << 32) | sec) *
					1000000000ull + nsec + t.system_time;
		return NULL;
	}
	/* No shared_info: the TSC frequency Xen reports (leaf base+3, sub-leaf
	 * 0, ECX in kHz); times count from ut_init. */
	uint32_t base = xen_cpuid_base(), r[4] = {0, 0, 0, 0};
	if (base)
		xcpuid(base + 3, 0, r);
	uint64_t khz = r[2] ? r[2] : 1000000; /* unknown: pretend 1 GHz */
	h->clock_mult = (1000000ull << 32) / khz;
	h->clock_shift = 32;
	h->clock_ticks_ref = ut_arch_ticks();
	h->clock_ns_ref = 0;
	h->clock_realtime_ref = 0;
	h->clock_hz = khz * 1000;
	return NULL;
}

/* ---- configuration and identity --------------------------------------- */

void ut_xen_set_backend(uint16_t domid)
{
	ut_xen_backend = domid;
}

void ut_port_defaults(ut_config_t *cfg)
{
	if (!cfg->name) {
		int n = xg_xs_read("name", ut_xen_name, sizeof(ut_xen_name));
		cfg->name = n > 0 ? ut_xen_name : UT_XEN_DEFAULT_NAME;
	}
	if (!cfg->nr_rings)
		cfg->nr_rings = 1; /* a uniprocessor unikernel */
	if (cfg->mode == UT_CFG_MODE_DEFAULT)
		cfg->mode = UT_CFG_MODE_DISCARD;
}

void ut_port_identity(struct ut_area_hdr *h)
{
	char buf[16];
	uint32_t domid = 0;

	if (xg_xs_read("domid", buf, sizeof(buf)) > 0 && xparse_u32(buf, &domid))
		h->pid = domid;
	__builtin_memcpy(h->platform, "xen", 4);
}

/* ---- shared pages and rendezvous -------------------------------------- */

void *ut_port_alloc_shared(size_t bytes)
{
	size_t n = (bytes + XG_PAGE_SIZE - 1) / XG_PAGE_SIZE;
	void *p = xg_alloc_pages(n);

	if (!p)
		return NULL;
	ut_xen_area = p;
	ut_xen_area_pages = n;
	return p;
}

/* Grant the page at (va) to the collector, read-write; the reference, or -1. */
static int grant_page(const void *va)
{
	int ref = xg_grant_access(ut_xen_backend, xg_virt_to_frame(va), 0);

	return ref < 0 ? -1 : ref;
}

/* Let the backend read the key at (path), just written.  A refusal only
 * matters when the backend is not dom0 (dom0 reads every key anyway). */
static int xs_share(const char *path)
{
	if (xg_xs_set_perm(path, ut_xen_backend) != 0 && ut_xen_backend != 0)
		return -1;
	return 0;
}

/* ---- the control channel: a libxenvchan server ----------------------------
 * Requests (formats/ut_ctl.h) come in on the left ring, responses go out on
 * the right one.  The guest takes no interrupts: ut_ctl_poll() looks at the
 * rings; the client is notified (event channel) only when it asked to be,
 * through srv_notify, as libxenvchan expects. */

static int alloc_unbound(uint32_t *port)
{
	uint32_t p = 0;

	if (xg_evtchn_alloc_unbound(ut_xen_backend, &p) != 0)
		return -1;
	*port = p;
	return 0;
}

/* Write (value) at data/vchan/<backend>/unitrace-ctl/(key). */
static int vchan_put(const char *key, uint64_t value)
{
	char path[80], val[24];
	size_t len = 0, vlen = 0;

	if (!xappend_str(path, sizeof(path), &len, "data/vchan/") ||
	    !xappend_u64(path, sizeof(path), &len, ut_xen_backend) ||
	    !xappend_str(path, sizeof(path), &len, "/" UT_CTL_VCHAN_PORT "/") ||
	    !xappend_str(path, sizeof(path), &len, key) ||
	    !xappend_u64(val, sizeof(val), &vlen, value))
		return -1;
	if (xg_xs_write(path, val) != 0)
		return -1;
	return xs_share(path);
}

static void ctl_vchan_setup(void)
{
	volatile struct xg_vchan_iface *v = xg_alloc_pages(1);
	int ref;
	uint32_t port;

	if (!v || (ref = grant_page((const void *)v)) < 0 || alloc_unbound(&port))
		return;
	v->left_order = XG_VCHAN_SMALL_ORDER;  /* requests: 1024 bytes */
	v->right_order = XG_VCHAN_LARGE_ORDER; /* responses: 2048 bytes */
	v->srv_live = 1;
	v->cli_live = 2;
	ut_wmb();
	/* the client reads ring-ref first: write it last */
	if (vchan_put("event-channel", port) || vchan_put("ring-ref", (uint64_t)ref))
		return;
	ut_vc_port = port;
	ut_vc = v;
}

/* Copy (n) bytes from ring (buf, size) at free-running index (idx). */
static void ring_copy_out(void *dst, const volatile uint8_t *buf, uint32_t size,
			  uint32_t idx, uint32_t n)
{
	uint8_t *d = dst;

	for (uint32_t i = 0; i < n; i++)
		d[i] = buf[(idx + i) & (size - 1)];
}

static void ring_copy_in(volatile uint8_t *buf, uint32_t size, uint32_t idx,
			 const void *src, uint32_t n)
{
	const uint8_t *s = src;

	for (uint32_t i = 0; i < n; i++)
		buf[(idx + i) & (size - 1)] = s[i];
}

/* The client asked to be told about (bit): clear the request, notify. */
static void vchan_notify(uint8_t bit)
{
	ut_mb(); /* indexes before the request bits */
	if (__atomic_fetch_and(&ut_vc->srv_notify, (uint8_t)~bit,
			       __ATOMIC_SEQ_CST) & bit)
		xg_evtchn_notify(ut_vc_port);
}

int ut_port_ctl_poll(void)
{
	static uint8_t req[UT_CTL_HDR_SIZE + UT_CTL_MAX_REQ];
	static uint8_t rsp[UT_CTL_HDR_SIZE + UT_CTL_MAX_RSP];
	volatile struct xg_vchan_iface *v = ut_vc;
	const uint32_t lsize = 1u << XG_VCHAN_SMALL_ORDER;
	const uint32_t rsize = 1u << XG_VCHAN_LARGE_ORDER;
	volatile uint8_t *lbuf, *rbuf;
	int served = 0;

	if (!v)
		return 0;
	lbuf = (volatile uint8_t *)v + XG_VCHAN_SMALL_OFF;
	rbuf = (volatile uint8_t *)v + XG_VCHAN_LARGE_OFF;
	/* No reset when a client goes: its unmap clears cli_live, possibly
	 * after the next client has connected and written (gntdev may run the
	 * unmap notification late), so resetting the indexes then would throw
	 * the new request away.  Requests are framed and answers carry the
	 * request's seq: a new client skips answers left for an old one. */
	for (;;) {
		uint32_t cons = v->left.cons, prod = v->left.prod;
		uint32_t avail = prod - cons, n, m;
		int frame;

		ut_rmb(); /* the index before the bytes it covers */
		if (avail > lsize) { /* indexes nonsense: start over */
			v->left.cons = prod;
			break;
		}
		if (avail < UT_CTL_HDR_SIZE)
			break;
		/* room for the largest response first: the client reads
		 * responses before it sends the next request */
		if (rsize - (v->right.prod - v->right.cons) <
		    UT_CTL_HDR_SIZE + UT_CTL_MAX_RSP)
			break;
		ring_copy_out(req, lbuf, lsize, cons, UT_CTL_HDR_SIZE);
		frame = ut_ctl_frame(req);
		n = frame < 0 ? UT_CTL_HDR_SIZE : (uint32_t)frame;
		if (frame >= 0 && avail < n)
			break; /* the rest is on its way */
		ring_copy_out(req, lbuf, lsize, cons, n);
		ut_mb(); /* bytes copied before the space is handed back */
		v->left.cons = frame < 0 ? prod : cons + n; /* resync on garbage */
		vchan_notify(XG_VCHAN_NOTIFY_READ);
		m = ut_ctl_handle(req, n, rsp, sizeof(rsp));
		ring_copy_in(rbuf, rsize, v->right.prod, rsp, m);
		ut_wmb(); /* the response before the index that publishes it */
		v->right.prod += m;
		vchan_notify(XG_VCHAN_NOTIFY_WRITE);
		served++;
	}
	return served;
}

static int xs_put(const char *key, const char *value)
{
	char path[64];
	size_t len = 0;

	if (!xappend_str(path, sizeof(path), &len, UT_XEN_DIR "/") ||
	    !xappend_str(path, sizeof(path), &len, key))
		return -1;
	if (xg_xs_write(path, value) != 0)
		return -1;
	return xs_share(path);
}

static int xs_put_u64(const char *key, uint64_t v)
{
	char buf[24];
	size_t len = 0;

	xappend_u64(buf, sizeof(buf), &len, v);
	return xs_put(key, buf);
}

int ut_port_publish(struct ut_area_hdr *h, size_t bytes)
{
	static char refs[UT_XEN_MAX_DIR_REFS_LEN + 1];
	size_t ndir, len = 0;
	uint32_t *dir;
	uint32_t port;

	(void)bytes;
	if (!ut_xen_area || (uint8_t *)h != ut_xen_area)
		return -1;
	ndir = (ut_xen_area_pages + UT_XEN_REFS_PER_DIR - 1) / UT_XEN_REFS_PER_DIR;
	if (ndir > UT_XEN_MAX_DIR_PAGES)
		return -1;
	dir = xg_alloc_pages(ndir);
	if (!dir)
		return -1;
	for (size_t i = 0; i < ut_xen_area_pages; i++) {
		int ref = grant_page(ut_xen_area + i * XG_PAGE_SIZE);
		if (ref < 0)
			return -1;
		dir[i] = (uint32_t)ref;
	}
	for (size_t k = 0; k < ndir; k++) {
		int ref = grant_page((uint8_t *)dir + k * XG_PAGE_SIZE);
		if (ref < 0 || (k && !xappend_str(refs, sizeof(refs), &len, ",")) ||
		    !xappend_u64(refs, sizeof(refs), &len, (uint64_t)ref))
			return -1;
	}

	if (alloc_unbound(&port))
		return -1;
	ut_xen_port = port;

	ctl_vchan_setup(); /* without it tracing works, control does not */
	if (xs_put(UT_XEN_KEY_ABI_VERSION, UT_XEN_ABI_VERSION_STR) ||
	    xs_put(UT_XEN_KEY_NAME, h->name) ||
	    xs_put_u64(UT_XEN_KEY_AREA_PAGES, ut_xen_area_pages) ||
	    xs_put(UT_XEN_KEY_DIR_REFS, refs) ||
	    xs_put_u64(UT_XEN_KEY_EVTCHN, port))
		return -1;
	ut_mb();
	/* last: the collector may now attach */
	return xs_put(UT_XEN_KEY_STATE, UT_XEN_STATE_READY);
}

/* Wait until (done) or (ns) of Xen time have passed; without a clock,
 * about as many yields as milliseconds asked for. */
static void wait_collector(struct ut_area_hdr *h, uint32_t want, uint64_t ns)
{
	uint64_t t0 = ut_xen_time_ns();
	uint64_t spins = ns / 1000000;

	while (ut_load_acquire(&h->collector_state) < want) {
		if (t0 ? ut_xen_time_ns() - t0 >= ns : spins-- == 0)
			return;
		ut_xen_yield();
	}
}

void ut_port_unpublish(struct ut_area_hdr *h)
{
	/* The collector maps the granted pages; once the domain powers off
	 * they go away unless it has mapped them, and a mapped area still
	 * holds events not drained.  Give it a bounded chance: to attach,
	 * then to store everything (collector_state DONE).  The grants stay:
	 * the domain is about to end. */
	if (ut_load_acquire(&h->collector_state) == UT_COLL_NONE)
		wait_collector(h, UT_COLL_ATTACHED, UT_XEN_ATTACH_WAIT_NS);
	if (ut_load_acquire(&h->collector_state) == UT_COLL_ATTACHED) {
		ut_port_notify(0);
		wait_collector(h, UT_COLL_DONE, UT_XEN_DRAIN_WAIT_NS);
	}
}

/* ---- vCPUs, notification, crash ---------------------------------------- */

int ut_port_vcpu(void)
{
	unsigned v = xg_vcpu_id();

	return v < UT_MAX_RINGS ? ut_xen_ring_of[v] - 1 : -1;
}

void ut_port_set_vcpu(int vcpu)
{
	unsigned v = xg_vcpu_id();

	if (v < UT_MAX_RINGS)
		ut_xen_ring_of[v] = (int16_t)(vcpu + 1);
}

void ut_port_notify(uint32_t ring)
{
	(void)ring; /* one channel for the whole area */
	if (ut_xen_port)
		xg_evtchn_notify(ut_xen_port);
}

void ut_xen_yield(void)
{
	xg_sched_yield();
}

void ut_port_crash_handoff(struct ut_area_hdr *h)
{
	/* Nothing to wait for: SCHEDOP_shutdown(crash) pauses the domain and,
	 * with on_crash="preserve", keeps it for the collector, which reads
	 * the rings, the crash record and the memory afterwards. */
	(void)h;
}

void ut_port_die(void)
{
	for (;;) {
		xg_sched_shutdown(XG_SHUTDOWN_CRASH);
		xg_sched_yield();
	}
}
