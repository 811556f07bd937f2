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
 *
 * This header is what an application reads; the machinery the macros
 * expand to (event descriptors, the inline reserve/commit fast path) is in
 * trace_impl.h, which it includes.  Compiles as C and as C++.
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
	uint32_t mode;           /* UT_CFG_MODE(UT_MODE_*); 0: port default */
	const uint8_t *build_id; /* optional GNU build id of the guest ELF */
	uint32_t build_id_len;
} ut_config_t;

/*
 * Ring modes: UT_MODE_DISCARD (never overwrite unread events; drop and
 * count) and UT_MODE_OVERWRITE (flight recorder: keep the newest), enum
 * ut_ring_mode of ut_abi.h, the values ut_set_mode() takes and the ring
 * headers hold.  ut_config.mode needs a third value, "the port default"
 * (hosted: $UNITRACE_MODE), as 0 so that a zeroed configuration means
 * defaults: it holds UT_CFG_MODE(m), a ring mode plus one, or
 * UT_CFG_MODE_DEFAULT.  UT_CFG_MODE_DISCARD and UT_CFG_MODE_OVERWRITE are
 * the same values spelled out (kept for existing programs).
 */
#define UT_CFG_MODE_DEFAULT 0u
#define UT_CFG_MODE(m) ((uint32_t)(m) + 1u)
#define UT_CFG_MODE_DISCARD 1u   /* UT_CFG_MODE(UT_MODE_DISCARD) */
#define UT_CFG_MODE_OVERWRITE 2u /* UT_CFG_MODE(UT_MODE_OVERWRITE) */
UT_STATIC_ASSERT(UT_CFG_MODE(UT_MODE_DISCARD) == UT_CFG_MODE_DISCARD &&
		 UT_CFG_MODE(UT_MODE_OVERWRITE) == UT_CFG_MODE_OVERWRITE,
		 "config modes are ring modes plus one");

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

/* Request ring mode (mode), UT_MODE_DISCARD or UT_MODE_OVERWRITE, on ring
 * (ring), or on every ring if ring < 0.  Takes effect within 256 events of
 * that ring, or at once when a discard ring is full.  Returns 0, or
 * (changing nothing) -UT_EINVAL if (mode) is not a ring mode, -UT_ENORING
 * if there is no ring (ring). */
int ut_set_mode(int ring, uint32_t mode);

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

/* The descriptors and the emitting functions these macros generate. */
#include "trace_impl.h"

/* ---- event declaration macros ----------------------------------------- */
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
