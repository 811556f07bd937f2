/*
 * unitrace guest tracer: the freestanding core.
 *
 * Compiled with -ffreestanding -nostdinc: it includes only the compiler's
 * own <stdint.h>, <stddef.h>, <stdbool.h> and reaches the platform through
 * ut_port.h.  No malloc, no printf, no locks.
 *
 * Ring protocol (see formats/ut_abi.h and docs/format.md):
 * - one producer per ring (a vCPU), the collector is the only consumer;
 * - the producer writes a record at 'head', then publishes the new head
 *   with a release store;
 * - discard mode: a record that would pass 'tail' + data_size is dropped and
 *   counted; its sequence number is consumed, so the collector sees the gap;
 * - overwrite mode: the producer first advances 'oldest' past the records it
 *   is about to overwrite, stores it, issues a release fence, then writes;
 *   a reader that copies data and then re-reads 'oldest' knows which part
 *   of its copy may be torn;
 * - an event emitted while the same ring is mid-write (an interrupt or a
 *   signal handler on that vCPU) is dropped and counted rather than risk a
 *   torn record.  This costs one store before and after each record, less
 *   than a locked reservation (see docs/architecture.md).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace.h"
#include "ut_abi.h"
#include "ut_ctl.h"
#include "ut_port.h"

#define UT_DEFAULT_RING_SIZE (1u << 20)
#define UT_MODE_CHECK_MASK 255u /* look for a mode switch every 256 events */

struct ut_ring_ctx {
	ut__ring_pub_t pub;   /* head, &hdr->pub.head, busy: used by ut__commit */
	struct ut_ring_hdr *hdr;
	uint8_t *data;
	uint64_t size;
	uint64_t mask;
	uint64_t oldest;  /* private copies of the published positions */
	uint64_t seq;
	uint64_t dropped;
	uint32_t mode;
	uint64_t nested_drops;    /* incremented atomically by nested emits */
	uint64_t nested_seen;
	volatile uint32_t req_local; /* mode asked by ut_set_mode() */
	uint8_t *scratch;         /* UT_MAX_RECORD bytes for wrapping records */
	/* Overwrite bookkeeping: the ring is cut into UT_CHUNKS chunks and
	 * chunk_first[c % UT_CHUNKS] holds where the first record starting in
	 * chunk c begins, so making room never walks records. */
	uint64_t tail_cache;      /* last 'tail' read from the collector */
	uint64_t cur_chunk;       /* chunk of the last record start */
	uint64_t *chunk_first;
	uint32_t chunk_shift;
	uint64_t notified_tail;   /* collector's tail at the last notification */
} __attribute__((aligned(128)));

#define UT_CHUNKS 64u

/* Kept a power of two so indexing the ring array is one shift. */
_Static_assert(sizeof(struct ut_ring_ctx) == 256, "ring ctx size");

static struct ut_area_hdr *ut_area;
static size_t ut_area_bytes;
static struct ut_ring_ctx ut_rings[UT_MAX_RINGS];
static uint8_t ut_scratch[UT_MAX_RINGS][UT_MAX_RECORD] __attribute__((aligned(8)));
static uint64_t ut_chunk_first[UT_MAX_RINGS][UT_CHUNKS];
static uint32_t ut_nr_rings;
static uint64_t ut_claimed;         /* bit i: ring i has a writer */
static uint64_t ut_unassigned;      /* events from contexts with no ring */
static ut_ticks_fn ut_ticks;        /* NULL: ut_arch_ticks() */
static bool ut_ready;

/* The descriptor section, filled by UT__REGISTER in every unit. */
extern ut_event_desc_t *const __start_ut_events[] __attribute__((weak));
extern ut_event_desc_t *const __stop_ut_events[] __attribute__((weak));

/* The built-in log event. */
UT_EVENT_FN(ut__log_emit, log, UT_KIND_LOG, UT_U8(level),
	    UT_STR(msg, UT_LOG_MSG_MAX))

/* ---- small freestanding helpers ---------------------------------------- */

static void ut_zero(void *p, size_t n)
{
	volatile uint8_t *d = p;
	while (n--)
		*d++ = 0;
}

static void ut_copy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
}

static void ut_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t i = 0;
	if (src)
		for (; i + 1 < cap && src[i]; i++)
			dst[i] = src[i];
	for (; i < cap; i++)
		dst[i] = 0;
}

static bool ut_streq(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static inline uint64_t ut_now(void)
{
	return ut_ticks ? ut_ticks() : ut_arch_ticks();
}

static inline uint64_t ut_round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* seq_next and dropped are published on the drop path and at shutdown,
 * not per event: the collector needs them only to account for drops that
 * no later record reveals. */
static void ut_publish_counts(struct ut_ring_ctx *r)
{
	ut_store_once(&r->hdr->dropped, r->dropped);
	ut_store_release(&r->hdr->seq_next, r->seq);
}

/* ---- set-up ------------------------------------------------------------- */

static uint32_t ut_count_descs(void)
{
	uint32_t n = 0;
	if (!__start_ut_events)
		return 0;
	for (ut_event_desc_t *const *d = __start_ut_events; d < __stop_ut_events;
	     d++)
		n++;
	return n;
}

/* Write the schema entry of (d) and give it an id.  Returns false when the
 * schema region is full. */
static bool ut_register(ut_event_desc_t *d, uint32_t *next)
{
	struct ut_area_hdr *h = ut_area;
	struct ut_schema_entry *e;

	if (d->registered)
		return true;
	if (*next >= h->schema_cap || *next + UT_EVENT_ID_FIRST > 0xffff)
		return false;
	e = (struct ut_schema_entry *)((uint8_t *)h + h->schema_off) + *next;
	d->id = (uint16_t)(*next + UT_EVENT_ID_FIRST);
	e->id = d->id;
	e->kind = d->kind;
	e->nfields = d->nfields <= UT_MAX_FIELDS ? d->nfields : UT_MAX_FIELDS;
	ut_strlcpy(e->name, d->name, sizeof(e->name));
	ut_strlcpy(e->category, d->category, sizeof(e->category));
	for (uint32_t i = 0; i < e->nfields; i++) {
		e->fields[i].type = d->fields[i].type;
		e->fields[i].flags = d->fields[i].flags;
		e->fields[i].max_len = d->fields[i].max_len;
		ut_strlcpy(e->fields[i].name, d->fields[i].name,
			   sizeof(e->fields[i].name));
	}
	d->registered = 1;
	d->enabled = 1;
	(*next)++;
	return true;
}

int ut_init(const ut_config_t *user_cfg)
{
	ut_config_t cfg;
	struct ut_area_hdr *h;
	uint64_t off, ring_size;
	uint32_t ndesc, schema_cap, next = 0;

	if (ut_ready)
		return -UT_EALREADY;
	if (user_cfg)
		cfg = *user_cfg;
	else
		ut_zero(&cfg, sizeof(cfg));
	ut_port_defaults(&cfg);

	if (cfg.nr_rings == 0 || cfg.nr_rings > UT_MAX_RINGS)
		return -UT_EINVAL;
	ring_size = cfg.ring_size ? cfg.ring_size : UT_DEFAULT_RING_SIZE;
	if (ring_size < UT_MIN_RING_SIZE || ring_size > UT_MAX_RING_SIZE ||
	    (ring_size & (ring_size - 1)))
		return -UT_EINVAL;
	if (cfg.mode > UT_CFG_MODE_OVERWRITE || cfg.build_id_len > UT_BUILD_ID_MAX)
		return -UT_EINVAL;

	/* Layout: header page, schema, crash region, ring headers, ring data. */
	ndesc = ut_count_descs();
	schema_cap = (uint32_t)ut_round_up(ndesc + 16, UT_PAGE_SIZE / UT_SCHEMA_ENTRY_SIZE);
	off = UT_PAGE_SIZE;
	uint64_t schema_off = off;
	off += (uint64_t)schema_cap * UT_SCHEMA_ENTRY_SIZE;
	uint64_t crash_off = off;
	off += UT_CRASH_REGION_SIZE;
	uint64_t ring_hdr_off = off;
	off += ut_round_up((uint64_t)cfg.nr_rings * UT_RING_HDR_SIZE, UT_PAGE_SIZE);
	uint64_t data_off = off;
	off += (uint64_t)cfg.nr_rings * ring_size;
	if (ring_hdr_off > 0xffffffffu)
		return -UT_EINVAL;

	h = ut_port_alloc_shared(off);
	if (!h)
		return -UT_ENOMEM;
	ut_area = h;
	ut_area_bytes = off;

	h->magic = UT_MAGIC;
	h->abi_version = UT_ABI_VERSION;
	h->byte_order = UT_BYTE_ORDER_MARK;
	h->hdr_size = sizeof(*h);
	h->area_size = off;
	h->page_size = UT_PAGE_SIZE;
	h->nr_rings = cfg.nr_rings;
	h->ring_hdr_off = (uint32_t)ring_hdr_off;
	h->ring_hdr_size = UT_RING_HDR_SIZE;
	h->schema_off = (uint32_t)schema_off;
	h->schema_cap = schema_cap;
	h->crash_off = (uint32_t)crash_off;
	h->crash_size = UT_CRASH_REGION_SIZE;
	ut_ticks = ut_port_clock(h);
	ut_strlcpy(h->name, cfg.name, sizeof(h->name));
	if (cfg.build_id && cfg.build_id_len) {
		ut_copy(h->build_id, cfg.build_id, cfg.build_id_len);
		h->build_id_len = cfg.build_id_len;
	}
	ut_port_identity(h);

	for (uint32_t i = 0; i < cfg.nr_rings; i++) {
		struct ut_ring_hdr *rh = (struct ut_ring_hdr *)((uint8_t *)h +
				ring_hdr_off) + i;
		struct ut_ring_ctx *r = &ut_rings[i];

		rh->data_off = data_off + (uint64_t)i * ring_size;
		rh->data_size = ring_size;
		rh->vcpu = i;
		rh->index = i;
		rh->mode = cfg.mode == UT_CFG_MODE_OVERWRITE ? UT_MODE_OVERWRITE
							     : UT_MODE_DISCARD;
		r->hdr = rh;
		r->data = (uint8_t *)h + rh->data_off;
		r->size = ring_size;
		r->mask = ring_size - 1;
		r->mode = rh->mode;
		r->pub.head = r->oldest = r->seq = r->dropped = 0;
		r->pub.head_pub = &rh->head;
		r->scratch = ut_scratch[i];
		r->chunk_first = ut_chunk_first[i];
		r->chunk_shift = (uint32_t)__builtin_ctzll(ring_size / UT_CHUNKS);
		r->cur_chunk = ~0ull;
		r->pub.busy = 0;
		r->req_local = UT_REQ_NONE;
		r->tail_cache = 0;
		r->notified_tail = ~0ull; /* tail 0 may be notified for */
	}
	ut_nr_rings = cfg.nr_rings;

	/* Schema: the built-in log event first, then every declared event. */
	ut_register(&ut__ev_ut__log_emit, &next);
	if (__start_ut_events)
		for (ut_event_desc_t *const *d = __start_ut_events;
		     d < __stop_ut_events; d++)
			if (!ut_register(*d, &next))
				break;
	ut_store_release(&h->schema_count, next);

	ut_store_release(&h->state, (uint32_t)UT_STATE_RUNNING);
	if (ut_port_publish(h, off) != 0) {
		ut_store_release(&h->state, (uint32_t)UT_STATE_EXITED);
		return -UT_EPORT;
	}
	ut_ready = true;
	return 0;
}

void ut_shutdown(void)
{
	if (!ut_ready)
		return;
	ut_ready = false;
	/* Stop new events; let any in flight finish. */
	if (__start_ut_events)
		for (ut_event_desc_t *const *d = __start_ut_events;
		     d < __stop_ut_events; d++)
			(*d)->enabled = 0;
	ut__ev_ut__log_emit.enabled = 0;
	ut_mb();
	for (uint32_t i = 0; i < ut_nr_rings; i++) {
		struct ut_ring_ctx *r = &ut_rings[i];
		uint64_t nd = __atomic_load_n(&r->nested_drops, __ATOMIC_RELAXED);
		if (!r->pub.busy && nd != r->nested_seen) {
			r->seq += nd - r->nested_seen;
			r->dropped += nd - r->nested_seen;
			r->nested_seen = nd;
		}
		ut_publish_counts(r);
	}
	ut_store_release(&ut_area->state, (uint32_t)UT_STATE_EXITED);
	for (uint32_t i = 0; i < ut_nr_rings; i++)
		ut_port_notify(i);
	ut_port_unpublish(ut_area);
}

/* ---- the crash path ----------------------------------------------------- */

static uint32_t ut_crashing; /* set by the first crash */
static uint32_t ut_crashing_again; /* ... and by the second */

void ut_crash(uint32_t kind, int32_t signo, int32_t code, uint64_t fault_addr,
	      const uint64_t *regs, uint32_t tid, const char *reason)
{
	struct ut_crash_rec *c;
	int v;

	if (!ut_area)
		return;
	c = (struct ut_crash_rec *)((uint8_t *)ut_area + ut_area->crash_off);
	if (__atomic_exchange_n(&ut_crashing, 1, __ATOMIC_ACQ_REL)) {
		/* the first crash owns the record: note the first second one */
		if (!__atomic_exchange_n(&ut_crashing_again, 1, __ATOMIC_ACQ_REL)) {
			c->second_signo = signo;
			ut_store_release(&c->second_tid, tid ? tid : 0xffffffffu);
		}
		ut_port_crash_handoff(ut_area);
		return;
	}
	v = ut_port_vcpu();
	c->version = UT_CRASH_VERSION;
	c->kind = kind;
	c->arch = UT_ARCH_X86_64;
	c->signo = signo;
	c->code = code;
	c->vcpu = v >= 0 ? (uint32_t)v : 0xffffffffu;
	c->tid = tid;
	c->fault_addr = fault_addr;
	c->ts = ut_now();
	ut_strlcpy(c->reason, reason, sizeof(c->reason));
	for (uint32_t i = 0; i < UT_CRASH_NREGS; i++)
		c->regs[i] = regs ? regs[i] : 0;
	for (uint32_t i = 0; i < UT_MAX_RINGS; i++)
		c->ring_head[i] = i < ut_nr_rings ? ut_rings[i].pub.head : 0;
	/* A record in flight on the crashing vCPU is not published: the
	 * collector drains up to head, which is always a record boundary. */
	for (uint32_t i = 0; i < ut_nr_rings; i++)
		if (!ut_rings[i].pub.busy)
			ut_publish_counts(&ut_rings[i]);
	ut_store_release(&c->magic, UT_CRASH_MAGIC);
	ut_store_release(&ut_area->state, (uint32_t)UT_STATE_CRASHED);
	for (uint32_t i = 0; i < ut_nr_rings; i++)
		ut_port_notify(i);
	ut_port_crash_handoff(ut_area);
}

/*
 * The registers of ut_panic's caller, as if it had stopped right after its
 * call to ut_panic: pc = the return address, rbp/rsp = its frame.  Relies on
 * this file being built with frame pointers (the Makefile's flags).
 */
void ut_panic(const char *reason)
{
	uint64_t regs[UT_CRASH_NREGS];

	for (uint32_t i = 0; i < UT_CRASH_NREGS; i++)
		regs[i] = 0;
#if defined(__x86_64__)
	const uint64_t *fp = __builtin_frame_address(0);
	regs[UT_X86_RIP] = fp[1];
	/* Point at the call instruction itself (call rel32 is 5 bytes): the
	 * return address of a noreturn call may already be in the next
	 * function, which would confuse a debugger's unwinder. */
	if (*(const uint8_t *)(fp[1] - 5) == 0xe8)
		regs[UT_X86_RIP] = fp[1] - 5;
	regs[UT_X86_RBP] = fp[0];
	regs[UT_X86_RSP] = (uint64_t)(fp + 2);
	__asm__ __volatile__("mov %%rbx, %0" : "=m"(regs[UT_X86_RBX]));
	__asm__ __volatile__("mov %%r12, %0" : "=m"(regs[UT_X86_R12]));
	__asm__ __volatile__("mov %%r13, %0" : "=m"(regs[UT_X86_R13]));
	__asm__ __volatile__("mov %%r14, %0" : "=m"(regs[UT_X86_R14]));
	__asm__ __volatile__("mov %%r15, %0" : "=m"(regs[UT_X86_R15]));
	__asm__ __volatile__("mov %%cs, %0" : "=r"(regs[UT_X86_CS]));
	__asm__ __volatile__("mov %%ss, %0" : "=r"(regs[UT_X86_SS]));
	__asm__ __volatile__("pushf; pop %0" : "=r"(regs[UT_X86_EFLAGS]));
#endif
	ut_crash(UT_CRASH_PANIC, 0, 0, 0, regs, 0, reason);
	ut_port_die();
}

/* ---- control ------------------------------------------------------------ */

/* Requests from `unitrace ctl` (formats/ut_ctl.h) arrive through the port
 * (a socket thread in the hosted port, a vchan polled by ut_ctl_poll() on
 * Xen); the port frames them and calls ut_ctl_handle(). */

/* The descriptor that holds id (id); NULL if none.  A descriptor may be
 * listed more than once in the section (weak definitions in several
 * objects); the first listing is as good as any. */
static ut_event_desc_t *ut_desc_by_id(uint32_t id)
{
	if (id == ut__ev_ut__log_emit.id && ut__ev_ut__log_emit.registered)
		return &ut__ev_ut__log_emit;
	if (__start_ut_events)
		for (ut_event_desc_t *const *d = __start_ut_events;
		     d < __stop_ut_events; d++)
			if ((*d)->registered && (*d)->id == id)
				return *d;
	return 0;
}

static uint32_t ut_nr_types(void)
{
	return ut_load_acquire(&ut_area->schema_count);
}

/* The name in a request payload, NUL-terminated into (buf); false if it
 * cannot be an event type name. */
static bool ut_ctl_name(const uint8_t *p, uint32_t len, char *buf)
{
	if (len == 0 || len >= UT_EVENT_NAME_LEN)
		return false;
	for (uint32_t i = 0; i < len; i++) {
		if (p[i] == 0)
			return false;
		buf[i] = (char)p[i];
	}
	buf[len] = 0;
	return true;
}

int ut_ctl_frame(const void *hdr)
{
	const struct ut_ctl_msg *m = hdr;

	if (m->magic != UT_CTL_MAGIC || m->len > UT_CTL_MAX_REQ)
		return -1;
	return (int)(UT_CTL_HDR_SIZE + m->len);
}

/* Fill the payload of the response to (q) at (out, cap bytes); its length,
 * with the status and arg in (r). */
static uint32_t ut_ctl_do(const struct ut_ctl_msg *q, const uint8_t *p,
			  struct ut_ctl_msg *r, uint8_t *out, uint32_t cap)
{
	uint32_t n = 0;

	switch (q->op) {
	case UT_CTL_HELLO: {
		struct ut_ctl_info *i = (struct ut_ctl_info *)out;
		if (cap < sizeof(*i))
			break;
		ut_zero(i, sizeof(*i));
		i->abi_version = UT_ABI_VERSION;
		i->nr_rings = ut_nr_rings;
		i->nr_events = ut_nr_types();
		i->pid = ut_area->pid;
		ut_copy(i->name, ut_area->name, sizeof(i->name));
		return sizeof(*i);
	}
	case UT_CTL_EVENTS: {
		uint32_t total = ut_nr_types();
		r->arg = total;
		for (uint32_t i = q->arg; i < total &&
		     n + sizeof(struct ut_ctl_event) <= cap; i++) {
			ut_event_desc_t *d = ut_desc_by_id(i + UT_EVENT_ID_FIRST);
			struct ut_ctl_event *e = (struct ut_ctl_event *)(out + n);
			ut_zero(e, sizeof(*e));
			e->id = (uint16_t)(i + UT_EVENT_ID_FIRST);
			if (d) {
				e->kind = d->kind;
				e->enabled = d->enabled ? 1 : 0;
				ut_strlcpy(e->name, d->name, sizeof(e->name));
			}
			n += sizeof(*e);
		}
		return n;
	}
	case UT_CTL_ENABLE: {
		char name[UT_EVENT_NAME_LEN];
		uint32_t total = ut_nr_types(), hits = 0;
		bool all = q->len == 0;
		if (q->arg > 1 || (!all && !ut_ctl_name(p, q->len, name))) {
			r->status = all || q->arg > 1 ? UT_CTL_EINVAL : UT_CTL_ENOENT;
			return 0;
		}
		for (uint32_t i = 0; i < total; i++) {
			ut_event_desc_t *d = ut_desc_by_id(i + UT_EVENT_ID_FIRST);
			if (d && (all || ut_streq(name, d->name))) {
				d->enabled = (uint8_t)q->arg;
				hits++;
			}
		}
		r->arg = hits;
		if (!hits)
			r->status = UT_CTL_ENOENT;
		return 0;
	}
	case UT_CTL_SET_MODE: {
		uint32_t mode;
		if (q->len != sizeof(mode)) {
			r->status = UT_CTL_EBADMSG;
			return 0;
		}
		ut_copy(&mode, p, sizeof(mode));
		if (mode > UT_MODE_OVERWRITE) {
			r->status = UT_CTL_EINVAL;
			return 0;
		}
		if (q->arg != UT_CTL_ALL_RINGS && q->arg >= ut_nr_rings) {
			r->status = UT_CTL_ENOENT;
			return 0;
		}
		(void)ut_set_mode(q->arg == UT_CTL_ALL_RINGS ? -1 : (int)q->arg,
				  mode); /* mode checked above */
		r->arg = q->arg == UT_CTL_ALL_RINGS ? ut_nr_rings : 1;
		return 0;
	}
	case UT_CTL_RINGS:
		r->arg = ut_nr_rings;
		for (uint32_t i = q->arg; i < ut_nr_rings &&
		     n + sizeof(struct ut_ctl_ring) <= cap; i++) {
			struct ut_ring_ctx *g = &ut_rings[i];
			struct ut_ctl_ring *o = (struct ut_ctl_ring *)(out + n);
			o->ring = i;
			o->mode = ut_load_acquire(&g->hdr->mode);
			o->req_mode = __atomic_load_n(&g->req_local, __ATOMIC_RELAXED);
			o->_pad = 0;
			o->emitted = __atomic_load_n(&g->seq, __ATOMIC_RELAXED);
			o->dropped = __atomic_load_n(&g->dropped, __ATOMIC_RELAXED);
			n += sizeof(*o);
		}
		return n;
	default:
		r->status = UT_CTL_EOP;
		return 0;
	}
	r->status = UT_CTL_EBADMSG;
	return 0;
}

uint32_t ut_ctl_handle(const void *msg, uint32_t len, void *out, uint32_t cap)
{
	struct ut_ctl_msg q, r;
	uint32_t n = 0;

	if (cap < UT_CTL_HDR_SIZE)
		return 0;
	ut_zero(&q, sizeof(q));
	if (len >= UT_CTL_HDR_SIZE)
		ut_copy(&q, msg, sizeof(q));
	ut_zero(&r, sizeof(r));
	r.magic = UT_CTL_MAGIC;
	r.op = q.op;
	r.seq = q.seq;
	if (len < UT_CTL_HDR_SIZE || ut_ctl_frame(&q) != (int)len)
		r.status = UT_CTL_EBADMSG;
	else if (!ut_ready)
		r.status = UT_CTL_ENOTREADY;
	else
		n = ut_ctl_do(&q, (const uint8_t *)msg + UT_CTL_HDR_SIZE, &r,
			      (uint8_t *)out + UT_CTL_HDR_SIZE,
			      cap - UT_CTL_HDR_SIZE > UT_CTL_MAX_RSP
				      ? UT_CTL_MAX_RSP : cap - UT_CTL_HDR_SIZE);
	r.len = n;
	ut_copy(out, &r, sizeof(r));
	return UT_CTL_HDR_SIZE + n;
}

int ut_ctl_poll(void)
{
	return ut_ready ? ut_port_ctl_poll() : 0;
}

int ut_set_vcpu(uint32_t vcpu)
{
	if (vcpu >= UT_MAX_RINGS || (ut_nr_rings && vcpu >= ut_nr_rings))
		return -UT_ENORING;
	__atomic_fetch_or(&ut_claimed, 1ull << vcpu, __ATOMIC_RELAXED);
	ut_port_set_vcpu((int)vcpu);
	return 0;
}

/* Bind the caller to the lowest ring nobody has claimed. */
static int ut_auto_bind(void)
{
	uint64_t c = __atomic_load_n(&ut_claimed, __ATOMIC_RELAXED);
	for (;;) {
		uint64_t freebits = ~c & (ut_nr_rings >= 64 ? ~0ull
					  : (1ull << ut_nr_rings) - 1);
		if (!freebits)
			return -1;
		int v = __builtin_ctzll(freebits);
		if (__atomic_compare_exchange_n(&ut_claimed, &c, c | (1ull << v),
						false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			ut_port_set_vcpu(v);
			return v;
		}
	}
}

int ut_set_mode(int ring, uint32_t mode)
{
	if (mode > UT_MODE_OVERWRITE)
		return -UT_EINVAL;
	if (ring >= 0 && (uint32_t)ring >= ut_nr_rings)
		return -UT_ENORING;
	for (uint32_t i = 0; i < ut_nr_rings; i++)
		if (ring < 0 || (uint32_t)ring == i)
			__atomic_store_n(&ut_rings[i].req_local, mode,
					 __ATOMIC_RELEASE);
	return 0;
}

unsigned ut_enable(const char *name, bool on)
{
	unsigned n = 0;
	if (name == 0 || ut_streq(name, "log")) {
		ut__ev_ut__log_emit.enabled = on;
		n++;
	}
	if (!__start_ut_events)
		return n;
	for (ut_event_desc_t *const *d = __start_ut_events; d < __stop_ut_events;
	     d++) {
		if (name && !ut_streq(name, (*d)->name))
			continue;
		if ((*d)->registered || !ut_ready)
			(*d)->enabled = on && (*d)->registered;
		n++;
	}
	return n;
}

void ut_get_stats(ut_stats_t *out)
{
	uint64_t emitted = 0, dropped = 0;
	for (uint32_t i = 0; i < ut_nr_rings; i++) {
		struct ut_ring_ctx *r = &ut_rings[i];
		uint64_t nd = __atomic_load_n(&r->nested_drops, __ATOMIC_RELAXED);
		uint64_t pending = nd - __atomic_load_n(&r->nested_seen,
							__ATOMIC_RELAXED);
		emitted += __atomic_load_n(&r->seq, __ATOMIC_RELAXED) + pending;
		dropped += __atomic_load_n(&r->dropped, __ATOMIC_RELAXED) + pending;
	}
	uint64_t un = __atomic_load_n(&ut_unassigned, __ATOMIC_RELAXED);
	out->emitted = emitted + un;
	out->dropped = dropped + un;
}

void ut_log(uint32_t level, const char *msg)
{
	ut__log_emit((uint8_t)level, msg);
}

/* ---- the fast path ------------------------------------------------------ */

/* Apply a mode change requested through req_mode.  Producer context. */
static void ut_apply_mode(struct ut_ring_ctx *r, uint32_t mode)
{
	if (mode == UT_MODE_OVERWRITE) {
		/* Records older than the consumer's tail are already stored;
		 * start the overwrite window there (clamped to what the ring
		 * can still hold). */
		uint64_t t = ut_load_acquire(&r->hdr->tail);
		if (t > r->pub.head || r->pub.head - t > r->size)
			t = r->pub.head;
		if (t > r->oldest)
			r->oldest = t;
		ut_store_once(&r->hdr->oldest, r->oldest);
	}
	r->mode = mode;
	ut_store_release(&r->hdr->mode, mode);
}

/* The mode asked for by ut_set_mode() (the program or a control request),
 * or UT_REQ_NONE.  The switch shows in the ring header's 'mode'. */
static uint32_t ut_pending_mode(struct ut_ring_ctx *r)
{
	uint32_t rq;

	if (__atomic_load_n(&r->req_local, __ATOMIC_RELAXED) == UT_REQ_NONE)
		return UT_REQ_NONE;
	rq = __atomic_exchange_n(&r->req_local, UT_REQ_NONE, __ATOMIC_ACQUIRE);
	return rq != r->mode ? rq : UT_REQ_NONE;
}

/* Overwrite mode: move 'oldest' to the first record start that leaves
 * (need) bytes plus one chunk free, so this runs about once per chunk.
 * The chunk index tells where records start without reading the ring. */
static void ut_make_room(struct ut_ring_ctx *r, uint64_t need)
{
	uint64_t head = r->pub.head;
	uint64_t target = head + need + (r->size / UT_CHUNKS) - r->size;
	uint64_t o = head; /* nothing intact if no record start is found */

	if (r->oldest >= target && r->oldest <= head)
		return;
	for (uint64_t c = target >> r->chunk_shift; c <= r->cur_chunk &&
	     r->cur_chunk != ~0ull; c++) {
		uint64_t f = r->chunk_first[c % UT_CHUNKS];
		if ((f >> r->chunk_shift) == c && f >= target) {
			o = f;
			break;
		}
	}
	r->oldest = o;
	ut_store_once(&r->hdr->oldest, o);
	ut_wmb(); /* oldest is visible before the bytes it frees change */
}

/* Once per chunk (1/64 of the ring): in discard mode, if half the ring or
 * more waits for the collector, wake it (the port's notification, an event
 * channel on Xen) rather than leave it to its next poll.  At most once per
 * move of the collector's tail, so an absent or stalled collector costs one
 * notification, not one per chunk. */
static void ut_maybe_notify(struct ut_ring_ctx *r, uint32_t ring)
{
	if (r->mode != UT_MODE_DISCARD ||
	    r->pub.head - r->tail_cache < r->size / 2)
		return;
	r->tail_cache = ut_load_acquire(&r->hdr->tail);
	if (r->pub.head - r->tail_cache < r->size / 2 ||
	    r->tail_cache == r->notified_tail)
		return;
	r->notified_tail = r->tail_cache;
	ut_port_notify(ring);
}

uint8_t *ut__reserve(const ut_event_desc_t *desc, uint32_t size,
		     ut__wctx_t *w)
{
	struct ut_ring_ctx *r;
	struct ut_event_hdr *e;
	uint64_t seq, nd, off;
	uint8_t *dst;
	int v;

	v = ut_port_vcpu();
	if (__builtin_expect(v < 0, 0)) {
		if (!ut_ready || (v = ut_auto_bind()) < 0) {
			__atomic_fetch_add(&ut_unassigned, 1, __ATOMIC_RELAXED);
			return 0;
		}
	}
	r = &ut_rings[v];
	if (__builtin_expect(r->pub.busy, 0)) {
		/* Nested on this vCPU (interrupt, signal): never tear the
		 * record in progress; the outer emit accounts for this. */
		__atomic_fetch_add(&r->nested_drops, 1, __ATOMIC_RELAXED);
		return 0;
	}
	r->pub.busy = 1;
	ut_barrier();

	seq = r->seq;
	nd = __atomic_load_n(&r->nested_drops, __ATOMIC_RELAXED);
	if (__builtin_expect(nd != r->nested_seen, 0)) {
		seq += nd - r->nested_seen;
		r->dropped += nd - r->nested_seen;
		r->nested_seen = nd;
	}
	r->seq = seq + 1;
	if (__builtin_expect((seq & UT_MODE_CHECK_MASK) == 0, 0)) {
		uint32_t rq = ut_pending_mode(r);
		if (rq != UT_REQ_NONE)
			ut_apply_mode(r, rq);
	}

	size = (uint32_t)UT_ALIGN_RECORD(size);
	if (__builtin_expect(size > UT_MAX_RECORD, 0))
		goto drop;
	if (r->mode == UT_MODE_DISCARD) {
		/* Read the collector's cache line only when the cached tail
		 * says the ring is full. */
		if (__builtin_expect(r->pub.head + size - r->tail_cache > r->size, 0))
			r->tail_cache = ut_load_acquire(&r->hdr->tail);
		if (__builtin_expect(r->pub.head + size - r->tail_cache > r->size, 0)) {
			if ((seq & UT_MODE_CHECK_MASK) != 0) {
				uint32_t rq = ut_pending_mode(r);
				if (rq == UT_MODE_OVERWRITE) {
					ut_apply_mode(r, rq);
					ut_make_room(r, size);
					goto write;
				}
			}
			goto drop;
		}
	} else if (r->pub.head + size - r->oldest > r->size) {
		ut_make_room(r, size);
	}
write:
	if ((r->pub.head >> r->chunk_shift) != r->cur_chunk) {
		r->cur_chunk = r->pub.head >> r->chunk_shift;
		r->chunk_first[r->cur_chunk % UT_CHUNKS] = r->pub.head;
		ut_maybe_notify(r, (uint32_t)v);
	}
	off = r->pub.head & r->mask;
	dst = off + size <= r->size ? r->data + off : r->scratch;
	/* Zero the last word first: it holds the padding after the payload
	 * (and is overwritten by the header when there is no payload). */
	*(uint64_t *)(dst + size - 8) = 0;
	e = (struct ut_event_hdr *)dst;
	e->id = desc->id;
	e->size = (uint16_t)size;
	e->_reserved = 0;
	e->seq = seq;
	e->ts = ut_now();
	w->ring = &r->pub;
	w->size = size;
	w->wrapped = dst == r->scratch;
	return dst + UT_EVENT_HDR_SIZE;

drop:
	r->dropped++;
	ut_publish_counts(r);
	ut_barrier();
	r->pub.busy = 0;
	return 0;
}

/* The record was built in scratch space because it wraps around the end of
 * the data area: copy it in two parts, then publish it. */
void ut__commit_wrapped(ut__wctx_t *w)
{
	struct ut_ring_ctx *r = (struct ut_ring_ctx *)w->ring; /* pub is first */
	uint64_t off = r->pub.head & r->mask;
	uint64_t first = r->size - off;

	ut_copy(r->data + off, r->scratch, first);
	ut_copy(r->data, r->scratch + first, w->size - first);
	w->wrapped = 0;
	ut__commit(w);
}
