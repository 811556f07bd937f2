/*
 * pvh-demo platform layer: everything that talks to Xen.
 *
 *  - hypercall page (CPUID leaf base+2, MSR write);
 *  - PV console ring (what `xl console` and xenconsoled show), plus port
 *    0xE9 for `xl dmesg` when Xen runs with guest_loglvl=all;
 *  - a bump page allocator over the RAM of the hvm_start_info memmap;
 *  - shared_info and the grant table mapped with XENMEM_add_to_physmap,
 *    a grant reference allocator that fails (never waits) when full;
 *  - a polling xenstore client over the xenstore ring (xs_proto.c holds the
 *    message encoding);
 *  - the IDT and the CPU exception handler that hands fatal traps to
 *    unitrace's crash path;
 *  - the xg_* functions tracer-guest/port_xen.c needs (xen_guest.h); the
 *    hypercall helper and the grant table stay private to this file.
 *
 * Everything polls: no event-channel upcalls, interrupts stay off.
 */
#include "pvh.h"
#include "trace.h"
#include "ut_port.h"
#include "xen_guest.h"
#include "xs_proto.h"

extern char _image_start[], _end[];
extern const uint64_t trap_stubs[32];

/* ---- hypercalls ---------------------------------------------------------- */

static uint8_t hypercall_page[4096] __attribute__((aligned(4096)));
static bool on_xen; /* the hypercall page is filled */

static long hypercall3(unsigned op, unsigned long a1, unsigned long a2,
		       unsigned long a3)
{
	long ret;
	unsigned long d1, d2, d3;

	__asm__ __volatile__("call *%[fn]"
			     : "=a"(ret), "=D"(d1), "=S"(d2), "=d"(d3)
			     : [fn] "r"(hypercall_page + op * 32), "1"(a1),
			       "2"(a2), "3"(a3)
			     : "memory", "rcx", "r8", "r10", "r11");
	return ret;
}

static long hypercall2(unsigned op, unsigned long a1, unsigned long a2)
{
	return hypercall3(op, a1, a2, 0);
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ __volatile__("cpuid"
			     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			     : "a"(leaf), "c"(0));
}

static int hypercall_init(void)
{
	uint32_t r[4];

	for (uint32_t base = 0x40000000u; base < 0x40010000u; base += 0x100) {
		cpuid(base, r);
		if (r[1] != 0x566e6558u || r[2] != 0x65584d4du ||
		    r[3] != 0x4d4d566eu || r[0] - base < 2)
			continue;
		cpuid(base + 2, r); /* eax: pages, ebx: MSR */
		uint64_t pa = (uint64_t)(uintptr_t)hypercall_page;
		__asm__ __volatile__("wrmsr" ::"c"(r[1]), "a"((uint32_t)pa),
				     "d"((uint32_t)(pa >> 32)));
		return 0;
	}
	return -1;
}

static uint64_t hvm_param(uint32_t index)
{
	struct xg_hvm_param p = {XG_DOMID_SELF, 0, index, 0};

	if (hypercall2(XG_HC_HVM_OP, XG_HVMOP_GET_PARAM, (unsigned long)&p))
		return 0;
	return p.value;
}

static void evtchn_send(uint32_t port)
{
	struct xg_evtchn_send s = {port};

	hypercall2(XG_HC_EVENT_CHANNEL_OP, XG_EVTCHNOP_SEND, (unsigned long)&s);
}

static void yield(void)
{
	hypercall2(XG_HC_SCHED_OP, XG_SCHEDOP_YIELD, 0);
}

static void shutdown(uint32_t reason)
{
	struct xg_sched_shutdown s = {reason};

	hypercall2(XG_HC_SCHED_OP, XG_SCHEDOP_SHUTDOWN, (unsigned long)&s);
}

int xg_evtchn_alloc_unbound(uint16_t remote_domid, uint32_t *port)
{
	struct xg_evtchn_alloc_unbound au = {XG_DOMID_SELF, remote_domid, 0};

	if (!on_xen || hypercall2(XG_HC_EVENT_CHANNEL_OP, XG_EVTCHNOP_ALLOC_UNBOUND,
				  (unsigned long)&au) != 0)
		return -1;
	*port = au.port;
	return 0;
}

void xg_evtchn_notify(uint32_t port)
{
	if (on_xen)
		evtchn_send(port);
}

void xg_sched_yield(void)
{
	if (on_xen)
		yield();
}

void xg_sched_shutdown(unsigned reason)
{
	if (on_xen)
		shutdown(reason);
}

static void halt_forever(void)
{
	for (;;)
		__asm__ __volatile__("cli; hlt");
}

void platform_poweroff(void)
{
	while (on_xen)
		shutdown(XG_SHUTDOWN_POWEROFF);
	halt_forever(); /* not on Xen: nothing to shut down */
	__builtin_unreachable();
}

void platform_crash(void)
{
	while (on_xen)
		shutdown(XG_SHUTDOWN_CRASH);
	halt_forever();
	__builtin_unreachable();
}

/* ---- console ------------------------------------------------------------- */

struct xencons {
	char in[1024];
	char out[2048];
	uint32_t in_cons, in_prod;
	uint32_t out_cons, out_prod;
};
_Static_assert(__builtin_offsetof(struct xencons, out_cons) == 3080, "out_cons");

static volatile struct xencons *cons;
static uint32_t cons_port;

void console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) /* xl dmesg, guest_loglvl=all */
		__asm__ __volatile__("outb %0, $0xe9" ::"a"(s[i]));
	if (!cons)
		return;
	while (n) {
		uint32_t c = ut_load_acquire(&cons->out_cons);
		uint32_t p = cons->out_prod;
		uint32_t room = sizeof(cons->out) - (p - c);

		if (p - c > sizeof(cons->out)) /* a confused backend */
			return;
		if (!room) {
			evtchn_send(cons_port);
			yield();
			continue;
		}
		while (room && n) {
			cons->out[p++ & (sizeof(cons->out) - 1)] = *s++;
			room--;
			n--;
		}
		ut_store_release(&cons->out_prod, p);
		evtchn_send(cons_port);
	}
}

void console_puts(const char *s)
{
	console_write(s, strlen(s));
}

/* ---- start info, memory ---------------------------------------------------- */

#define MAX_MEMMAP 64
static struct hvm_memmap_entry memmap[MAX_MEMMAP];
static uint32_t nr_memmap;
static char cmdline[1024];
static uint64_t alloc_next, alloc_limit; /* current RAM run, physical */
static uint32_t alloc_region;

const char *platform_cmdline(void)
{
	return cmdline;
}

/* Copy what Xen left for us before the allocator can reuse its pages. */
static void save_start_info(const struct hvm_start_info *si)
{
	if (si->cmdline_paddr) {
		const char *c = (const char *)(uintptr_t)si->cmdline_paddr;
		size_t i = 0;
		while (i + 1 < sizeof(cmdline) && c[i]) {
			cmdline[i] = c[i];
			i++;
		}
		cmdline[i] = 0;
	}
	if (si->version >= 1 && si->memmap_paddr) {
		const struct hvm_memmap_entry *m =
			(const void *)(uintptr_t)si->memmap_paddr;
		nr_memmap = si->memmap_entries < MAX_MEMMAP ? si->memmap_entries
							    : MAX_MEMMAP;
		memcpy(memmap, m, nr_memmap * sizeof(*m));
	}
}

/* Move the allocator to the next RAM run above the image, below 4 GiB
 * (what the page tables map). */
static bool next_region(void)
{
	uint64_t floor = ((uint64_t)(uintptr_t)_end + 4095) & ~4095ull;

	for (; alloc_region < nr_memmap; alloc_region++) {
		const struct hvm_memmap_entry *e = &memmap[alloc_region];
		uint64_t lo = (e->addr + 4095) & ~4095ull;
		uint64_t hi = (e->addr + e->size) & ~4095ull;

		if (e->type != 1)
			continue;
		if (hi > 0x100000000ull)
			hi = 0x100000000ull;
		if (lo < floor)
			lo = floor;
		if (lo < hi && lo >= floor) {
			alloc_next = lo;
			alloc_limit = hi;
			alloc_region++;
			return true;
		}
	}
	return false;
}

static void memory_init(void)
{
	if (!nr_memmap) {
		/* No memmap (start info version 0): assume 16 MiB past the
		 * image, the least any domain config here gives. */
		memmap[0].addr = ((uint64_t)(uintptr_t)_end + 4095) & ~4095ull;
		memmap[0].size = 16u << 20;
		memmap[0].type = 1;
		nr_memmap = 1;
	}
	next_region();
}

void *xg_alloc_pages(size_t n)
{
	uint64_t bytes = (uint64_t)n * 4096;

	while (alloc_limit - alloc_next < bytes)
		if (!next_region())
			return NULL;
	void *p = (void *)(uintptr_t)alloc_next;
	alloc_next += bytes;
	memset(p, 0, bytes);
	return p;
}

/* PVH: the frame is the GFN, and memory is identity mapped. */
uint64_t xg_virt_to_frame(const void *va)
{
	return (uint64_t)(uintptr_t)va >> 12;
}

/* ---- shared info, grant table ---------------------------------------------- */

#define GNTTAB_FRAMES 4u

static volatile struct xg_shared_info *shinfo;
static struct xg_grant_v1 *gnttab;
static uint32_t gnttab_next = XG_GNTTAB_FIRST_FREE_REF;

static int map_frame(uint32_t space, uint64_t idx, void *page)
{
	struct xg_add_to_physmap a = {
		.domid = XG_DOMID_SELF,
		.space = space,
		.idx = idx,
		.gpfn = xg_virt_to_frame(page),
	};

	return (int)hypercall2(XG_HC_MEMORY_OP, XG_XENMEM_ADD_TO_PHYSMAP,
				  (unsigned long)&a);
}

volatile struct xg_shared_info *xg_shared_info(void)
{
	return shinfo;
}

/* A v1 grant entry for (frame), handed out from a bump allocator: the
 * demo never ends a grant.  -1 when the table is full or missing. */
int xg_grant_access(uint16_t domid, uint64_t frame, int readonly)
{
	volatile struct xg_grant_v1 *e;

	if (!gnttab || gnttab_next >= GNTTAB_FRAMES * XG_GNTTAB_PER_PAGE ||
	    frame > 0xffffffffu)
		return -1;
	e = &gnttab[gnttab_next];
	e->domid = domid;
	e->frame = (uint32_t)frame;
	ut_wmb(); /* domid and frame before the flags that make them live */
	e->flags = (uint16_t)(XG_GTF_PERMIT_ACCESS |
			      (readonly ? XG_GTF_READONLY : 0u));
	return (int)gnttab_next++;
}

unsigned xg_vcpu_id(void)
{
	return 0; /* uniprocessor */
}

uint64_t now_ns(void)
{
	return ut_xen_time_ns();
}

/* ---- xenstore -------------------------------------------------------------- */

static struct xs_ring_page *xs_ring;
static uint32_t xs_port;
static uint32_t xs_req_id;
static bool xs_watch_fired; /* a watch event was read off the ring */

static void xs_send(const uint8_t *msg, uint32_t n)
{
	while (n) {
		uint32_t c = ut_load_acquire(&xs_ring->req_cons);
		uint32_t p = xs_ring->req_prod;
		uint32_t room = xs_ring_free(c, p);

		if (!room) {
			evtchn_send(xs_port);
			yield();
			continue;
		}
		if (room > n)
			room = n;
		xs_ring_put(xs_ring->req, p, msg, room);
		ut_store_release(&xs_ring->req_prod, p + room);
		msg += room;
		n -= room;
		evtchn_send(xs_port);
	}
}

static void xs_recv(uint8_t *dst, uint32_t n)
{
	while (n) {
		uint32_t p = ut_load_acquire(&xs_ring->rsp_prod);
		uint32_t c = xs_ring->rsp_cons;
		uint32_t avail = xs_ring_avail(c, p);

		if (!avail) {
			yield();
			continue;
		}
		if (avail > n)
			avail = n;
		xs_ring_get(xs_ring->rsp, c, dst, avail);
		ut_mb(); /* finish reading before giving the bytes back */
		ut_store_release(&xs_ring->rsp_cons, c + avail);
		evtchn_send(xs_port);
		dst += avail;
		n -= avail;
	}
}

/* One request, one reply; returns the reply's length or -1. */
static int xs_request_raw(uint32_t type, const char *path, const void *data,
			  size_t dlen, char *out, size_t cap)
{
	static uint8_t msg[XS_HDR_SIZE + XS_PAYLOAD_MAX];
	struct xs_msg_hdr h;
	uint32_t id, len = 0;
	int n, rc;

	if (!xs_ring)
		return -1;
	id = ++xs_req_id;
	n = xs_encode_raw(msg, sizeof(msg), type, id, path, data, dlen);
	if (n < 0)
		return -1;
	xs_send(msg, (uint32_t)n);
	for (;;) {
		xs_recv(msg, XS_HDR_SIZE);
		if (xs_decode_hdr(msg, &h) != 0)
			return -1; /* the stream cannot be resynchronised */
		xs_recv(msg + XS_HDR_SIZE, h.len);
		rc = xs_decode_reply(&h, msg + XS_HDR_SIZE, type, id, out, cap, &len);
		if (rc == XS_R_SKIP) {
			if (h.type == XS_WATCH_EVENT)
				xs_watch_fired = true;
			continue;
		}
		return rc == XS_R_OK ? (int)len : -1;
	}
}

/* (value): a string, or the token of XS_WATCH, NUL included. */
static int xs_request(uint32_t type, const char *path, const char *value,
		      char *out, size_t cap)
{
	size_t vlen = value ? strlen(value) + (type == XS_WATCH) : 0;

	return xs_request_raw(type, path, value, vlen, out, cap);
}

int xg_xs_read(const char *path, char *buf, size_t cap)
{
	return xs_request(XS_READ, path, NULL, buf, cap);
}

int xg_xs_write(const char *path, const char *value)
{
	return xs_request(XS_WRITE, path, value, NULL, 0) < 0 ? -1 : 0;
}

/* Own domid, for the owner entry of XS_SET_PERMS (read once). */
static int self_domid(uint32_t *out)
{
	static uint32_t domid;
	static bool known;
	char buf[16];
	uint32_t v = 0;
	int n;

	if (!known) {
		n = xg_xs_read("domid", buf, sizeof(buf));
		if (n <= 0)
			return -1;
		for (int i = 0; i < n; i++) {
			if (buf[i] < '0' || buf[i] > '9' || v > 0xffff)
				return -1;
			v = v * 10 + (uint32_t)(buf[i] - '0');
		}
		if (v > 0xffff)
			return -1;
		domid = v;
		known = true;
	}
	*out = domid;
	return 0;
}

int xg_xs_set_perm(const char *path, uint16_t domid)
{
	uint32_t self;
	char perms[XS_PERMS_MAX], err[16] = "";
	int n;

	if (self_domid(&self) != 0 ||
	    (n = xs_perms_owner_reader(perms, sizeof(perms), (uint16_t)self,
				       domid)) < 0)
		return -1;
	if (xs_request_raw(XS_SET_PERMS, path, perms, (size_t)n, err,
			   sizeof(err)) < 0) {
		/* said on the console: the rig's log shows none */
		console_puts("pvh-demo: xenstore refused SET_PERMS on ");
		console_puts(path);
		console_puts(": ");
		console_puts(err[0] ? err : "no reply");
		console_puts("\n");
		return -1;
	}
	return 0;
}

int platform_xs_watch(const char *path)
{
	/* payload "path\0token": one watch, so any token will do */
	return xs_request(XS_WATCH, path, "w", NULL, 0) < 0 ? -1 : 0;
}

bool platform_xs_watch_fired(void)
{
	static uint8_t msg[XS_HDR_SIZE + XS_PAYLOAD_MAX];
	struct xs_msg_hdr h;

	/* Only whole headers already on the ring: never wait here. */
	while (xs_ring && xs_ring_avail(xs_ring->rsp_cons,
					ut_load_acquire(&xs_ring->rsp_prod)) >=
				  XS_HDR_SIZE) {
		xs_recv(msg, XS_HDR_SIZE);
		if (xs_decode_hdr(msg, &h) != 0)
			break; /* cannot resynchronise: leave it */
		xs_recv(msg + XS_HDR_SIZE, h.len); /* xenstored is writing it */
		if (h.type == XS_WATCH_EVENT)
			xs_watch_fired = true;
	}
	bool fired = xs_watch_fired;
	xs_watch_fired = false;
	return fired;
}

/* ---- traps ------------------------------------------------------------------ */

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
};
_Static_assert(sizeof(struct idt_gate) == 16, "idt gate");

static struct idt_gate idt[32] __attribute__((aligned(16)));

/* A 64-bit TSS, only for IST 1: the double-fault handler's own stack, so
 * that a stack overflow (a #PF that cannot push its frame) is reported
 * instead of ending in a triple fault. */
struct __attribute__((packed)) tss64 {
	uint32_t rsv0;
	uint64_t rsp[3];
	uint64_t rsv1;
	uint64_t ist[7];
	uint64_t rsv2;
	uint16_t rsv3;
	uint16_t iomap;
};
_Static_assert(sizeof(struct tss64) == 104, "tss");

static struct tss64 tss __attribute__((aligned(16)));
static uint8_t df_stack[16384] __attribute__((aligned(16)));
static uint64_t gdt64[6] __attribute__((aligned(16)));

extern uint64_t pt0[512];   /* boot.S: the 4 KiB pages of the first 2 MiB */
extern char stack_guard[];  /* boot.S: the page below the boot stack */

/* The boot GDT again (same selectors), plus the TSS at 0x20. */
static void tss_init(void)
{
	uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof(tss) - 1;
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} ptr = {sizeof(gdt64) - 1, (uint64_t)(uintptr_t)gdt64};

	tss.ist[0] = (uint64_t)(uintptr_t)(df_stack + sizeof(df_stack));
	tss.iomap = sizeof(tss);
	gdt64[0] = 0;
	gdt64[1] = 0x00af9b000000ffffull; /* 0x08: 64-bit code */
	gdt64[2] = 0x00cf93000000ffffull; /* 0x10: flat data */
	gdt64[3] = 0x00cf9b000000ffffull; /* 0x18: 32-bit code */
	gdt64[4] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		   (0x89ull << 40) | /* present, 64-bit TSS (available) */
		   (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt64[5] = base >> 32;
	__asm__ __volatile__("lgdt %0" ::"m"(ptr) : "memory");
	__asm__ __volatile__("ltr %w0" ::"r"((uint16_t)0x20) : "memory");
}

/* Unmap the page below the boot stack (it lies in the first 2 MiB, which
 * boot.S maps with 4 KiB pages). */
static void guard_init(void)
{
	uintptr_t g = (uintptr_t)stack_guard;

	if (g >> 21)
		return;
	pt0[(g >> 12) & 511] = 0;
	__asm__ __volatile__("invlpg (%0)" ::"r"(g) : "memory");
}

static bool in_guard(uint64_t a)
{
	return a >= (uintptr_t)stack_guard && a < (uintptr_t)stack_guard + 4096;
}

static void idt_init(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} ptr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};

	for (int v = 0; v < 32; v++) {
		uint64_t a = trap_stubs[v];
		idt[v].off_lo = (uint16_t)a;
		idt[v].sel = 0x08;
		idt[v].ist = v == 8 ? 1 : 0; /* #DF on its own stack */
		idt[v].type = 0x8e; /* present, DPL 0, 64-bit interrupt gate */
		idt[v].off_mid = (uint16_t)(a >> 16);
		idt[v].off_hi = (uint32_t)(a >> 32);
		idt[v].zero = 0;
	}
	tss_init();
	guard_init();
	__asm__ __volatile__("lidt %0" ::"m"(ptr));
}

/* Saved by trap_common in boot.S, lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

static const char *const trap_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
	"#OF overflow", "#BR bound range", "#UD invalid opcode",
	"#NM device not available", "#DF double fault", "coprocessor overrun",
	"#TS invalid TSS", "#NP segment not present", "#SS stack fault",
	"#GP general protection", "#PF page fault", "reserved 15",
	"#MF x87 error", "#AC alignment check", "#MC machine check",
	"#XM SIMD exception", "#VE virtualization", "#CP control protection",
	"reserved 22", "reserved 23", "reserved 24", "reserved 25",
	"reserved 26", "reserved 27", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security", "reserved 31",
};

void trap_entry(struct trap_frame *f);

void trap_entry(struct trap_frame *f)
{
	static int in_trap;
	uint64_t regs[UT_CRASH_NREGS] = {0};
	uint64_t cr2 = 0;
	uint16_t seg;
	char line[160], reason[UT_CRASH_REASON_LEN];
	struct sbuf b;

	if (in_trap++)
		platform_crash(); /* a fault in the fault path: just stop */
	if (f->vector == 14 || f->vector == 8) /* #DF: from the #PF it ends */
		__asm__ __volatile__("mov %%cr2, %0" : "=r"(cr2));

	regs[UT_X86_R15] = f->r15;
	regs[UT_X86_R14] = f->r14;
	regs[UT_X86_R13] = f->r13;
	regs[UT_X86_R12] = f->r12;
	regs[UT_X86_RBP] = f->rbp;
	regs[UT_X86_RBX] = f->rbx;
	regs[UT_X86_R11] = f->r11;
	regs[UT_X86_R10] = f->r10;
	regs[UT_X86_R9] = f->r9;
	regs[UT_X86_R8] = f->r8;
	regs[UT_X86_RAX] = f->rax;
	regs[UT_X86_RCX] = f->rcx;
	regs[UT_X86_RDX] = f->rdx;
	regs[UT_X86_RSI] = f->rsi;
	regs[UT_X86_RDI] = f->rdi;
	regs[UT_X86_ORIG_RAX] = (uint64_t)-1;
	regs[UT_X86_RIP] = f->rip;
	regs[UT_X86_CS] = f->cs;
	regs[UT_X86_EFLAGS] = f->rflags;
	regs[UT_X86_RSP] = f->rsp;
	regs[UT_X86_SS] = f->ss;
	__asm__ __volatile__("mov %%ds, %0" : "=r"(seg));
	regs[UT_X86_DS] = seg;
	__asm__ __volatile__("mov %%es, %0" : "=r"(seg));
	regs[UT_X86_ES] = seg;

	sb_init(&b, reason, sizeof(reason));
	if ((f->vector == 8 || f->vector == 14) && in_guard(cr2))
		sb_str(&b, "stack overflow: ");
	sb_str(&b, "CPU exception ");
	sb_str(&b, trap_names[f->vector & 31]);
	if (f->vector == 14 || (f->vector == 8 && cr2)) {
		sb_str(&b, " at ");
		sb_hex(&b, cr2);
	}
	sb_init(&b, line, sizeof(line));
	sb_str(&b, "pvh-demo: ");
	sb_str(&b, reason);
	sb_str(&b, ", rip ");
	sb_hex(&b, f->rip);
	sb_str(&b, ", error code ");
	sb_hex(&b, f->error);
	sb_str(&b, "\n");
	console_puts(line);

	if (!on_xen) /* booted without Xen (a boot test under plain QEMU) */
		platform_crash();
	ut_crash(UT_CRASH_TRAP, (int32_t)f->vector, (int32_t)f->error, cr2, regs,
		 0, reason);
	ut_port_die();
}

/* ---- start-up ---------------------------------------------------------------- */

int platform_init(const struct hvm_start_info *si)
{
	void *p;

	if (si->magic != HVM_START_MAGIC)
		return -1;
	save_start_info(si);
	idt_init();
	if (hypercall_init() != 0) {
		console_puts("pvh-demo: not running on Xen\n");
		/* Boot test under plain QEMU (-kernel pvh-demo.elf): prove the
		 * exception path works, then halt. */
		if (!strcmp(cmdline, "selftest=trap"))
			__builtin_trap();
		return -1;
	}
	on_xen = true;
	memory_init();

	uint64_t pfn = hvm_param(XG_HVM_PARAM_CONSOLE_PFN);
	cons_port = (uint32_t)hvm_param(XG_HVM_PARAM_CONSOLE_EVTCHN);
	if (pfn && pfn < (1ull << 20))
		cons = (volatile struct xencons *)(uintptr_t)(pfn << 12);

	p = xg_alloc_pages(1);
	if (!p || map_frame(XG_MAPSPACE_SHARED_INFO, 0, p) != 0)
		console_puts("pvh-demo: cannot map shared_info\n");
	else
		shinfo = p;
	yield(); /* a reschedule makes Xen refresh this vCPU's pvclock record */

	p = xg_alloc_pages(GNTTAB_FRAMES);
	for (uint32_t i = 0; p && i < GNTTAB_FRAMES; i++)
		if (map_frame(XG_MAPSPACE_GRANT_TABLE, i, (uint8_t *)p + i * 4096)) {
			console_puts("pvh-demo: cannot map the grant table\n");
			p = NULL;
		}
	gnttab = p;

	pfn = hvm_param(XG_HVM_PARAM_STORE_PFN);
	xs_port = (uint32_t)hvm_param(XG_HVM_PARAM_STORE_EVTCHN);
	if (pfn && pfn < (1ull << 20))
		xs_ring = (struct xs_ring_page *)(uintptr_t)(pfn << 12);
	else
		console_puts("pvh-demo: no xenstore\n");
	return 0;
}
