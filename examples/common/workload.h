/*
 * The demo service's workload, shared by the hosted demo
 * (examples/demo-guest/demo.c, one thread per vCPU) and the PVH unikernel
 * (examples/pvh-demo/main.c, one vCPU): the events it declares, one request
 * served as nested spans request > parse > handle > respond with counters,
 * cache misses, logs, slow requests and errors, and the crash switch a few
 * calls deep (handle_login > lookup_session > parse_cookie).
 *
 * Freestanding: no libc (the PVH demo has none).  What differs between the
 * platforms comes in through struct wl_platform.  Deterministic: the same
 * seed gives the same events in the same order on each vCPU.
 */
#ifndef DEMO_WORKLOAD_H
#define DEMO_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>

/* One vCPU's state; every tracepoint call is counted in (events). */
struct wl_vcpu {
	unsigned id;
	uint64_t rng;
	uint64_t next_req;   /* request ids: vcpu in the top byte */
	uint32_t queue;      /* synthetic queue depth */
	uint64_t bytes_sent; /* cumulative */
	uint64_t requests;   /* served */
	uint64_t events;     /* tracepoint calls made (incl. ut_log) */
	uint64_t errors, warnings;
	volatile uint64_t sink; /* keeps the simulated work alive */
};

struct wl_platform {
	/* The reason of the "panic" crash (ut_panic). */
	const char *panic_reason;
	/* Crash kinds the workload does not do itself ("abort", "stack"):
	 * called from parse_cookie; NULL or a return: no crash. */
	int (*crash_other)(const char *kind);
};

/* Set the platform hooks (before the first crash). */
void wl_setup(const struct wl_platform *p);

/* Distinct, never-zero pseudo-random state for vCPU (id), ids from 1. */
void wl_vcpu_init(struct wl_vcpu *v, unsigned id, uint64_t seed);

/* Serve one request. */
void wl_serve_one(struct wl_vcpu *v);

/* ut_log(level, msg), counted. */
void wl_log(struct wl_vcpu *v, uint32_t level, const char *msg);

/* Command-line values of the unikernel demos (freestanding): a decimal
 * u64, and seconds ("2", "0.3", "1.25") as ns.  False on anything else. */
bool wl_parse_u64(const char *s, uint64_t *out);
bool wl_parse_seconds(const char *s, uint64_t *ns);

/* Crash on purpose, a few calls deep: emits crash_imminent(kind, vcpu),
 * then handle_login > lookup_session > parse_cookie does (kind): "null"
 * (NULL store), "ill" or "ud" (illegal instruction), "fpe" or "div"
 * (divide by zero), "panic" (ut_panic), else the platform's crash_other. */
int handle_login(struct wl_vcpu *v, const char *kind);

#endif /* DEMO_WORKLOAD_H */
