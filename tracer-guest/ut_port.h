/*
 * The port interface: everything platform-specific the freestanding core of
 * the guest tracer needs.  A port (port_hosted.c, port_xen.c, a test
 * harness) implements each function; adding a port touches nothing else.
 *
 * None of these is called on the fast path except ut_port_vcpu().
 */
#ifndef UT_PORT_H
#define UT_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "trace.h"
#include "ut_crash.h"

/*
 * Fill the zero fields of (cfg) with the port's defaults (name, ring count,
 * ring size, mode), for example from the environment.
 */
void ut_port_defaults(ut_config_t *cfg);

/*
 * Allocate (bytes) of zeroed, page-aligned memory that the collector will be
 * able to map.  Returns NULL on failure.
 */
void *ut_port_alloc_shared(size_t bytes);

/*
 * Fill the clock fields of (h): source, mult/shift and the reference point
 * (ticks, monotonic ns, Unix-epoch ns).  Returns the function that reads
 * that clock on the fast path, or NULL if it is ut_arch_ticks().
 */
typedef uint64_t (*ut_ticks_fn)(void);
ut_ticks_fn ut_port_clock(struct ut_area_hdr *h);

/* Guest identity: fill h->pid and h->platform. */
void ut_port_identity(struct ut_area_hdr *h);

/*
 * Make the completely written area (h, bytes) visible to the collector.
 * Returns 0 or -1.
 */
int ut_port_publish(struct ut_area_hdr *h, size_t bytes);

/*
 * The guest is done (state EXITED already stored): give the collector a
 * bounded chance to drain, then withdraw the rendezvous.
 */
void ut_port_unpublish(struct ut_area_hdr *h);

/* The ring index bound to the calling context, or -1 if none yet. */
int ut_port_vcpu(void);
/* Bind the calling context to ring (vcpu). */
void ut_port_set_vcpu(int vcpu);

/* Tell the collector that ring (ring) has data worth draining. */
void ut_port_notify(uint32_t ring);

/*
 * The crash record has been written and the state is CRASHED: let the
 * collector capture the guest (bounded wait), then return.  Called from the
 * crash path: must not allocate, lock or print through stdio.
 */
void ut_port_crash_handoff(struct ut_area_hdr *h);

/*
 * ut_panic() ends here once the crash is handed off: terminate the guest
 * (hosted: die of SIGABRT; Xen: SCHEDOP_shutdown(crash)).
 */
void ut_port_die(void) __attribute__((noreturn));

/*
 * Serve control requests waiting on the port's control channel, called by
 * ut_ctl_poll(); returns how many were served (the hosted port serves them
 * on its own thread and returns 0).
 */
int ut_port_ctl_poll(void);

/* ---- what the core offers the ports ------------------------------------ */

/*
 * The length of the whole control message whose 24-byte header is at
 * (hdr), or -1 if it is not a control request (magic, payload too long):
 * then the stream cannot be trusted to be in step and the port resets it.
 */
int ut_ctl_frame(const void *hdr);

/*
 * Execute the control request (msg, len bytes: header and payload) and
 * write the response to (out, cap bytes).  Returns the response length
 * (at least the header; 0 only if cap is below the header size).
 */
uint32_t ut_ctl_handle(const void *msg, uint32_t len, void *out, uint32_t cap);

/* Raw clock ticks on the fast path. */
static inline uint64_t ut_arch_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
	uint64_t v;
	__asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
#else
#error "unitrace guest: no tick source for this architecture"
#endif
}

#endif /* UT_PORT_H */
