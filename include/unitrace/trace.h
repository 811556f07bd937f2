/*
 * unitrace guest tracer: the public API a unikernel (or any C program)
 * uses to declare and emit trace events.
 *
 * Freestanding: this header includes only <stdint.h>, <stddef.h> and
 * <stdbool.h>.  It needs no libc, no malloc and no printf.
 *
 * Declaring events (in a header shared by every file that emits them, or in
 * one .c file):
 *
 *     UT_INSTANT(net_rx, UT_U32(len), UT_U16(port), UT_STR(ifname, 16))
 *     UT_COUNTER(queue_depth, UT_U32(depth))
 *     UT_SPAN(request, UT_U64(req_id))
 *     UT_INSTANT0(tick)
 *
 * Emitting them:
 *
 *     ut_net_rx(len, 80, "eth0");
 *     ut_queue_depth(q->n);
 *     ut_request_begin(id);  ...  ut_request_end();
 *     ut_log(UT_LOG_WARN, "disk slow");
 *
 * A disabled event costs one load and one predictable branch.  An enabled
 * event reads the clock, reserves space in the calling vCPU's ring, copies
 * the fields and publishes the record with a release store.  It never
 * blocks: when the ring is full (discard mode) the event is counted as
 * dropped, and the drop is visible to the collector as a gap in the ring's
 * sequence numbers.
 */
#ifndef UNITRACE_TRACE_H
#define UNITRACE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ut_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration and control ---------------------------------------- */

typedef struct ut_config {
	const char *name;        /* guest name; NULL: port default */
	uint32_t nr_rings;       /* 0: port default (vCPUs) */
	uint32_t ring_size;      /* bytes per ring, power of two; 0: 1 MiB */
	uint32_t mode;           /* UT_CFG_MODE_*; 0: port default */
	const uint8_t *build_id; /* optional GNU build id of the guest ELF */
	uint32_t build_id_len;
} ut_config_t;

/* ut_config.mode */
#define UT_CFG_MODE_DEFAULT 0u   /* port default (hosted: $UNITRACE_MODE) */
#define UT_CFG_MODE_DISCARD 1u   /* never overwrite unread events */
#define UT_CFG_MODE_OVERWRITE 2u /* flight recorder */

/* Error codes returned (negated) by ut_init and friends. */
enum ut_err {
	UT_OK = 0,
	UT_EINVAL = 1,   /* bad configuration */
	UT_ENOMEM = 2,   /* the port could not provide the shared pages */
	UT_EPORT = 3,    /* the port failed to publish the area */
	UT_EALREADY = 4, /* ut_init called twice */
	UT_ENORING = 5,  /* no free ring for this vCPU */
};

/*
 * Set up the shared area with the configuration at (cfg) (NULL: defaults,
 * which a port may take from its environment), write the schema of every
 * event declared in the program and publish the area to the collector.
 * Returns 0 or a negated enum ut_err.  Events emitted before ut_init
 * succeeds are discarded without cost beyond the disabled branch.
 */
int ut_init(const ut_config_t *cfg);

/* Mark the guest EXITED so the collector drains it and detaches. */
void ut_shutdown(void);

/*
 * Bind the calling execution context to ring (vcpu).  Ports with a real
 * notion of vCPU do this themselves; the hosted port binds each thread to a
 * ring nobody has claimed (explicitly or automatically) on its first event
 * unless the thread calls this first.  A ring must have one writer: two
 * contexts binding the same (vcpu) explicitly is a bug in the caller.
 * Returns 0 or -UT_ENORING.
 */
int ut_set_vcpu(uint32_t vcpu);

/* Request ring mode (mode), UT_MODE_DISCARD or UT_MODE_OVERWRITE (the ABI
 * values, not UT_CFG_MODE_*), on ring (ring), or on every ring if ring < 0.
 * Takes effect within 256 events of that ring, or at once when a discard
 * ring is full. */
void ut_set_mode(int ring, uint32_t mode);

/*
 * Serve `unitrace ctl` requests waiting on the control channel (enable or
 * disable event types, switch ring modes).  A unikernel calls it from its
 * main loop, which runs even when every event is disabled: the Xen port
 * polls its vchan here.  The hosted port serves requests on a thread of
 * its own, so a hosted program need not call it.  Returns the number of
 * requests served.
 */
int ut_ctl_poll(void);

/* Enable or disable every event type called (name) (all if NULL).
 * Returns how many event types matched. */
unsigned ut_enable(const char *name, bool on);

/* Totals since ut_init: events attempted and events dropped by the guest. */
typedef struct ut_stats {
	uint64_t emitted; /* every event attempt, dropped or not */
	uint64_t dropped; /* dropped in the guest: ring full, nested, no ring */
} ut_stats_t;
void ut_get_stats(ut_stats_t *out);

/*
 * Crash the guest on purpose with (reason): record the caller's registers
 * and the reason in the shared crash record, mark the guest CRASHED, let the
 * collector capture it (last events, registers, backtrace, core dump), then
 * terminate.  Uses no allocation and no formatted output.
 */
void ut_panic(const char *reason) __attribute__((noreturn, noinline));

/*
 * For ports and fatal-trap handlers: write the crash record (kind: enum
 * ut_crash_kind; regs: UT_CRASH_NREGS registers in the layout of enum
 * ut_crash_arch, may be NULL), mark the guest CRASHED and hand over to the
 * port.  Only the first crash is recorded; a second caller (another vCPU
 * crashing at the same time) just waits for the hand-off.  Returns when the
 * collector has finished or the wait timed out.
 */
void ut_crash(uint32_t kind, int32_t signo, int32_t code, uint64_t fault_addr,
	      const uint64_t *regs, uint32_t tid, const char *reason);

/* Log levels for ut_log. */
enum ut_log_level {
	UT_LOG_ERROR = 0,
	UT_LOG_WARN = 1,
	UT_LOG_INFO = 2,
	UT_LOG_DEBUG = 3,
};
#define UT_LOG_MSG_MAX 200

/* Emit a log message event (level, msg); msg is cut at UT_LOG_MSG_MAX. */
void ut_log(uint32_t level, const char *msg);

/* ---- event descriptors ------------------------------------------------- */

struct ut_field_desc {
	uint8_t type;     /* enum ut_field_type */
	uint8_t flags;    /* UT_FF_* */
	uint16_t max_len; /* STR/BYTES */
	const char *name;
};

/* Static description of one event type.  'enabled' comes first so the
 * disabled fast path touches one byte. */
typedef struct ut_event_desc {
	volatile uint8_t enabled; /* set by ut_init / ut_enable */
	uint8_t kind;             /* enum ut_event_kind */
	uint8_t nfields;
	uint8_t registered;       /* set once the schema entry is written */
	uint16_t id;              /* assigned by ut_init */
	const char *name;
	const char *category;
	struct ut_field_desc fields[UT_MAX_FIELDS];
} ut_event_desc_t;

/* The part of a ring's private state that the inline commit touches
 * (internal). */
typedef struct ut__ring_pub {
	uint64_t head;          /* private copy of the published head */
	uint64_t *head_pub;     /* the ring header's head, in the shared area */
	volatile uint32_t busy; /* a record is being written on this ring */
} ut__ring_pub_t;

/* Write context between ut__reserve and ut__commit (internal). */
typedef struct ut__wctx {
	ut__ring_pub_t *ring;
	uint32_t size;    /* record size */
	uint32_t wrapped; /* record built in scratch space: copy on commit */
} ut__wctx_t;

/* Reserve a record of (size) bytes for (desc) in the caller's ring, write
 * its header and return a pointer to its payload, or NULL if the event is
 * dropped.  Internal: use the generated ut_<event>() functions. */
uint8_t *ut__reserve(const ut_event_desc_t *desc, uint32_t size,
		     ut__wctx_t *w);
/* Commit a record that wraps around the end of the ring (internal). */
void ut__commit_wrapped(ut__wctx_t *w);

/* Publish the record reserved in (w): one release store of the head. */
static inline void ut__commit(ut__wctx_t *w)
{
	ut__ring_pub_t *r = w->ring;
	if (__builtin_expect(w->wrapped, 0)) {
		ut__commit_wrapped(w);
		return;
	}
	r->head += w->size;
	__atomic_store_n(r->head_pub, r->head, __ATOMIC_RELEASE);
	__asm__ __volatile__("" ::: "memory");
	r->busy = 0;
}

static inline uint16_t ut__strnlen(const char *s, uint16_t max)
{
	uint16_t n = 0;
	if (!s)
		return 0;
	while (n < max && s[n])
		n++;
	return n;
}

static inline uint8_t *ut__put_bytes(uint8_t *p, const void *src, uint16_t n)
{
	__builtin_memcpy(p, &n, 2);
	p += 2;
	if (n)
		__builtin_memcpy(p, src, n);
	return p + n;
}

/* ---- field declaration macros ----------------------------------------- */
/* Each expands to a tuple (TYPE, name, max_len, flags). */
#define UT_U8(n) (U8, n, 0, 0)
#define UT_U16(n) (U16, n, 0, 0)
#define UT_U32(n) (U32, n, 0, 0)
#define UT_U64(n) (U64, n, 0, 0)
#define UT_S8(n) (S8, n, 0, 0)
#define UT_S16(n) (S16, n, 0, 0)
#define UT_S32(n) (S32, n, 0, 0)
#define UT_S64(n) (S64, n, 0, 0)
#define UT_F64(n) (F64, n, 0, 0)
#define UT_X32(n) (U32, n, 0, UT_FF_HEX)
#define UT_X64(n) (U64, n, 0, UT_FF_HEX)
/* Bounded string: the parameter is a const char *, stored up to (max)
 * bytes or its NUL. */
#define UT_STR(n, max) (STR, n, max, 0)
/* Byte array: two parameters, const void *n and uint16_t n##_len, stored
 * up to (max) bytes. */
#define UT_BYTES(n, max) (BYTES, n, max, 0)

#define UT__CT_U8 uint8_t
#define UT__CT_U16 uint16_t
#define UT__CT_U32 uint32_t
#define UT__CT_U64 uint64_t
#define UT__CT_S8 int8_t
#define UT__CT_S16 int16_t
#define UT__CT_S32 int32_t
#define UT__CT_S64 int64_t
#define UT__CT_F64 double

/* Per-type expansions, selected by token pasting on the tuple's TYPE. */
#define UT__SCALAR_PARAM(T, n) UT__CT_##T n
#define UT__PARAM_U8(n) UT__SCALAR_PARAM(U8, n)
#define UT__PARAM_U16(n) UT__SCALAR_PARAM(U16, n)
#define UT__PARAM_U32(n) UT__SCALAR_PARAM(U32, n)
#define UT__PARAM_U64(n) UT__SCALAR_PARAM(U64, n)
#define UT__PARAM_S8(n) UT__SCALAR_PARAM(S8, n)
#define UT__PARAM_S16(n) UT__SCALAR_PARAM(S16, n)
#define UT__PARAM_S32(n) UT__SCALAR_PARAM(S32, n)
#define UT__PARAM_S64(n) UT__SCALAR_PARAM(S64, n)
#define UT__PARAM_F64(n) UT__SCALAR_PARAM(F64, n)
#define UT__PARAM_STR(n) const char *n
#define UT__PARAM_BYTES(n) const void *n, uint16_t n##_len

#define UT__LEN_SCALAR(n, m)
#define UT__LEN_U8 UT__LEN_SCALAR
#define UT__LEN_U16 UT__LEN_SCALAR
#define UT__LEN_U32 UT__LEN_SCALAR
#define UT__LEN_U64 UT__LEN_SCALAR
#define UT__LEN_S8 UT__LEN_SCALAR
#define UT__LEN_S16 UT__LEN_SCALAR
#define UT__LEN_S32 UT__LEN_SCALAR
#define UT__LEN_S64 UT__LEN_SCALAR
#define UT__LEN_F64 UT__LEN_SCALAR
#define UT__LEN_STR(n, m) uint16_t ut__l_##n = ut__strnlen(n, m);
#define UT__LEN_BYTES(n, m) \
	uint16_t ut__l_##n = (n##_len < (m) ? n##_len : (uint16_t)(m));

#define UT__SIZE_U8(n) +1u
#define UT__SIZE_U16(n) +2u
#define UT__SIZE_U32(n) +4u
#define UT__SIZE_U64(n) +8u
#define UT__SIZE_S8(n) +1u
#define UT__SIZE_S16(n) +2u
#define UT__SIZE_S32(n) +4u
#define UT__SIZE_S64(n) +8u
#define UT__SIZE_F64(n) +8u
#define UT__SIZE_STR(n) +2u + ut__l_##n
#define UT__SIZE_BYTES(n) +2u + ut__l_##n

#define UT__PUT_SCALAR(n) \
	__builtin_memcpy(ut__p, &n, sizeof(n)); \
	ut__p += sizeof(n);
#define UT__PUT_U8 UT__PUT_SCALAR
#define UT__PUT_U16 UT__PUT_SCALAR
#define UT__PUT_U32 UT__PUT_SCALAR
#define UT__PUT_U64 UT__PUT_SCALAR
#define UT__PUT_S8 UT__PUT_SCALAR
#define UT__PUT_S16 UT__PUT_SCALAR
#define UT__PUT_S32 UT__PUT_SCALAR
#define UT__PUT_S64 UT__PUT_SCALAR
#define UT__PUT_F64 UT__PUT_SCALAR
#define UT__PUT_STR(n) ut__p = ut__put_bytes(ut__p, n, ut__l_##n);
#define UT__PUT_BYTES(n) ut__p = ut__put_bytes(ut__p, n, ut__l_##n);

/* Tuple accessors. */
#define UT__F_PARAM(T, n, m, f) UT__PARAM_##T(n)
#define UT__F_LEN(T, n, m, f) UT__LEN_##T(n, m)
#define UT__F_SIZE(T, n, m, f) UT__SIZE_##T(n)
#define UT__F_PUT(T, n, m, f) UT__PUT_##T(n)
#define UT__F_DESC(T, n, m, f) {UT_T_##T, (f), (m), #n},

#define UT__APPLY(M, tup) M tup

/* FOR_EACH over 1..8 tuples; (S) is the separator macro argument. */
#define UT__NARG(...) UT__NARG_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define UT__NARG_(a1, a2, a3, a4, a5, a6, a7, a8, N, ...) N
#define UT__CAT(a, b) UT__CAT_(a, b)
#define UT__CAT_(a, b) a##b
#define UT__EACH(M, ...) UT__CAT(UT__EACH_, UT__NARG(__VA_ARGS__))(M, __VA_ARGS__)
#define UT__EACH_1(M, a) UT__APPLY(M, a)
#define UT__EACH_2(M, a, ...) UT__APPLY(M, a) UT__EACH_1(M, __VA_ARGS__)
#define UT__EACH_3(M, a, ...) UT__APPLY(M, a) UT__EACH_2(M, __VA_ARGS__)
#define UT__EACH_4(M, a, ...) UT__APPLY(M, a) UT__EACH_3(M, __VA_ARGS__)
#define UT__EACH_5(M, a, ...) UT__APPLY(M, a) UT__EACH_4(M, __VA_ARGS__)
#define UT__EACH_6(M, a, ...) UT__APPLY(M, a) UT__EACH_5(M, __VA_ARGS__)
#define UT__EACH_7(M, a, ...) UT__APPLY(M, a) UT__EACH_6(M, __VA_ARGS__)
#define UT__EACH_8(M, a, ...) UT__APPLY(M, a) UT__EACH_7(M, __VA_ARGS__)
/* Comma-separated variant for parameter lists. */
#define UT__LIST(M, ...) UT__CAT(UT__LIST_, UT__NARG(__VA_ARGS__))(M, __VA_ARGS__)
#define UT__LIST_1(M, a) UT__APPLY(M, a)
#define UT__LIST_2(M, a, ...) UT__APPLY(M, a), UT__LIST_1(M, __VA_ARGS__)
#define UT__LIST_3(M, a, ...) UT__APPLY(M, a), UT__LIST_2(M, __VA_ARGS__)
#define UT__LIST_4(M, a, ...) UT__APPLY(M, a), UT__LIST_3(M, __VA_ARGS__)
#define UT__LIST_5(M, a, ...) UT__APPLY(M, a), UT__LIST_4(M, __VA_ARGS__)
#define UT__LIST_6(M, a, ...) UT__APPLY(M, a), UT__LIST_5(M, __VA_ARGS__)
#define UT__LIST_7(M, a, ...) UT__APPLY(M, a), UT__LIST_6(M, __VA_ARGS__)
#define UT__LIST_8(M, a, ...) UT__APPLY(M, a), UT__LIST_7(M, __VA_ARGS__)

/*
 * Registration.  Each descriptor is a weak object, so the same declaration
 * included in many translation units yields one descriptor in the program.
 * Each unit also places a pointer to it in the "ut_events" section; ut_init
 * walks that section and registers each descriptor once.
 */
#if defined(__APPLE__)
#error "unitrace guest: Mach-O section registration is not implemented"
#endif
#define UT__REGISTER(sym) \
	static ut_event_desc_t *const sym##__ptr \
		__attribute__((used, section("ut_events"), aligned(8))) = &sym;

/* Compile-time limits: names fit the schema, records fit UT_MAX_RECORD. */
#define UT__F_CHECK(T, n, m, f) \
	_Static_assert(sizeof(#n) <= UT_FIELD_NAME_LEN, \
		       "unitrace: field name '" #n "' longer than 19 characters");
#define UT__CHECKS(fn, nm, ...) \
	_Static_assert(sizeof(#nm) <= UT_EVENT_NAME_LEN, \
		       "unitrace: event name '" #nm "' longer than 39 characters"); \
	UT__EACH(UT__F_CHECK, __VA_ARGS__) \
	_Static_assert(UT_EVENT_HDR_SIZE + 0 UT__EACH(UT__F_WORST, __VA_ARGS__) \
		       <= UT_MAX_RECORD, \
		       "unitrace: event '" #nm "' can exceed 4096 bytes");
#define UT__F_WORST(T, n, m, f) UT__WORST_##T(m)
#define UT__WORST_U8(m) +1u
#define UT__WORST_U16(m) +2u
#define UT__WORST_U32(m) +4u
#define UT__WORST_U64(m) +8u
#define UT__WORST_S8(m) +1u
#define UT__WORST_S16(m) +2u
#define UT__WORST_S32(m) +4u
#define UT__WORST_S64(m) +8u
#define UT__WORST_F64(m) +8u
#define UT__WORST_STR(m) +2u + (m)
#define UT__WORST_BYTES(m) +2u + (m)

#define UT__DESC(sym, nm, kind, nf, ...) \
	__attribute__((weak)) ut_event_desc_t sym = { \
		0, (kind), (nf), 0, 0, nm, "", {__VA_ARGS__}}; \
	UT__REGISTER(sym)

#define UT__EMIT_BODY(sym, ...) \
	if (__builtin_expect(sym.enabled, 0)) { \
		UT__EACH(UT__F_LEN, __VA_ARGS__) \
		ut__wctx_t ut__w; \
		uint8_t *ut__p = ut__reserve(&sym, \
			UT_EVENT_HDR_SIZE UT__EACH(UT__F_SIZE, __VA_ARGS__), &ut__w); \
		if (ut__p) { \
			UT__EACH(UT__F_PUT, __VA_ARGS__) \
			ut__commit(&ut__w); \
		} \
	}

#define UT__EMIT_BODY0(sym) \
	if (__builtin_expect(sym.enabled, 0)) { \
		ut__wctx_t ut__w; \
		if (ut__reserve(&sym, UT_EVENT_HDR_SIZE, &ut__w)) \
			ut__commit(&ut__w); \
	}

/* Generic: an event of kind (kind) named (name) with 1..8 fields; the
 * emitting function is called (fn). */
#define UT_EVENT_FN(fn, name, kind, ...) \
	UT__CHECKS(fn, name, __VA_ARGS__) \
	UT__DESC(ut__ev_##fn, #name, kind, UT__NARG(__VA_ARGS__), \
		 UT__EACH(UT__F_DESC, __VA_ARGS__)) \
	static inline __attribute__((unused)) void fn( \
		UT__LIST(UT__F_PARAM, __VA_ARGS__)) \
	{ \
		UT__EMIT_BODY(ut__ev_##fn, __VA_ARGS__) \
	}

#define UT_EVENT_FN0(fn, name, kind) \
	_Static_assert(sizeof(#name) <= UT_EVENT_NAME_LEN, \
		       "unitrace: event name '" #name "' longer than 39 characters"); \
	UT__DESC(ut__ev_##fn, #name, kind, 0, {0, 0, 0, 0}) \
	static inline __attribute__((unused)) void fn(void) \
	{ \
		UT__EMIT_BODY0(ut__ev_##fn) \
	}

/* Instant event ut_<name>(fields...). */
#define UT_INSTANT(name, ...) \
	UT_EVENT_FN(ut_##name, name, UT_KIND_INSTANT, __VA_ARGS__)
#define UT_INSTANT0(name) UT_EVENT_FN0(ut_##name, name, UT_KIND_INSTANT)
/* Counter ut_<name>(values...): each numeric field is one series. */
#define UT_COUNTER(name, ...) \
	UT_EVENT_FN(ut_##name, name, UT_KIND_COUNTER, __VA_ARGS__)
/* Span: ut_<name>_begin(fields...) and ut_<name>_end(). */
#define UT_SPAN(name, ...) \
	UT_EVENT_FN(ut_##name##_begin, name, UT_KIND_SPAN_BEGIN, __VA_ARGS__) \
	UT_EVENT_FN0(ut_##name##_end, name, UT_KIND_SPAN_END)
#define UT_SPAN0(name) \
	UT_EVENT_FN0(ut_##name##_begin, name, UT_KIND_SPAN_BEGIN) \
	UT_EVENT_FN0(ut_##name##_end, name, UT_KIND_SPAN_END)

#ifdef __cplusplus
}
#endif

#endif /* UNITRACE_TRACE_H */
