/*
 * unikraft-app: a Unikraft application (Xen x86_64, a PV domU) that
 * behaves like a small network service, traced with unitrace through the
 * libunitrace Unikraft library (tracer-guest/unikraft/).  The workload is
 * the other demos' (examples/common/workload.c): a packet arrives (net_rx),
 * the request is queued (queue_depth), then served as nested spans
 * request > parse > handle > respond, with cache misses, bytes_sent
 * counters, logs, slow requests and occasional errors.
 *
 * Command line (xl cmdline=; Unikraft makes its first word argv[0]: every
 * key=value word is read, wherever it is, other words are ignored):
 *   duration=SECONDS  how long to serve (default 2)
 *   rate=N            requests per second (default 1000; 0: flat out)
 *   crash=null        NULL store a few calls deep (handle_login >
 *                     lookup_session > parse_cookie); also ud, div, panic
 *   after=SECONDS     when to crash (default 0.3)
 *   seed=N            pseudo-random seed (default 1)
 * It serves until the duration has passed or `xl shutdown` asks it to stop
 * (control/shutdown in its xenstore directory, watched), then prints
 * "unikraft-app: emitted N dropped M" and returns from main (Unikraft
 * powers the domain off).  A crash ends in Unikraft's crash path, after
 * libunitrace has written the crash record.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uk/errptr.h>
#include <uk/plat/time.h>
#include <uk/sched.h>
#include <uk/xenbus/xs.h>

#include "../common/workload.h"
#include "trace.h"
#include "ut_unikraft.h"
#include "xen_guest.h"

#define NS 1000000000ull

static struct {
	uint64_t duration_ns;
	uint64_t rate;
	const char *crash;
	uint64_t after_ns;
	uint64_t seed;
} opt = {2 * NS, 1000, NULL, 300000000ull, 1};

static void parse_args(int argc, char *argv[])
{
	for (int i = 0; i < argc; i++) {
		char *tok = argv[i], *val = strchr(tok, '=');

		if (!val)
			continue; /* the program's name */
		*val++ = 0;
		if (!strcmp(tok, "duration")) {
			if (!wl_parse_seconds(val, &opt.duration_ns))
				printf("unikraft-app: bad duration=%s\n", val);
		} else if (!strcmp(tok, "after")) {
			if (!wl_parse_seconds(val, &opt.after_ns))
				printf("unikraft-app: bad after=%s\n", val);
		} else if (!strcmp(tok, "rate")) {
			if (!wl_parse_u64(val, &opt.rate))
				printf("unikraft-app: bad rate=%s\n", val);
		} else if (!strcmp(tok, "seed")) {
			if (!wl_parse_u64(val, &opt.seed))
				printf("unikraft-app: bad seed=%s\n", val);
		} else if (!strcmp(tok, "crash")) {
			if (!strcmp(val, "null") || !strcmp(val, "ud") ||
			    !strcmp(val, "div") || !strcmp(val, "panic"))
				opt.crash = val;
			else
				printf("unikraft-app: crash= expects null, ud, div "
				       "or panic, not %s\n", val);
		} else {
			printf("unikraft-app: unknown option %s\n", tok);
		}
	}
}

static uint64_t now_ns(void)
{
	return (uint64_t)ukplat_monotonic_clock();
}

/* ---- xl shutdown: a watch on control/shutdown ----------------------------- */

static struct xenbus_watch *shutdown_watch;

static void watch_shutdown(void)
{
	char domid[16], path[64];
	struct xenbus_watch *w;

	/* The watch event carries the path as registered: an absolute one,
	 * so that it matches whatever xenstored sends. */
	if (xg_xs_read("domid", domid, sizeof(domid)) <= 0 ||
	    snprintf(path, sizeof(path), "/local/domain/%s/control/shutdown",
		     domid) >= (int)sizeof(path)) {
		printf("unikraft-app: cannot watch control/shutdown: "
		       "xl shutdown will not stop the run\n");
		return;
	}
	w = xs_watch_path(XBT_NIL, path);
	if (PTRISERR(w) || !w) {
		printf("unikraft-app: cannot watch %s: xl shutdown will not "
		       "stop the run\n", path);
		return;
	}
	shutdown_watch = w;
}

/* The PV shutdown protocol: the toolstack writes "poweroff", "reboot" or
 * "halt" to control/shutdown; the guest clears the key and stops.  The
 * key is read only when the watch fired (it also fires once when set). */
static bool shutdown_requested(void)
{
	char req[16];
	int n;

	/* the xenbus thread counts events; one vCPU, cooperative threads */
	volatile int *pending;

	if (!shutdown_watch)
		return false;
	pending = &shutdown_watch->pending_events;
	if (!*pending)
		return false;
	*pending = 0;
	n = xg_xs_read("control/shutdown", req, sizeof(req));
	if (n <= 0)
		return false;
	xg_xs_write("control/shutdown", "");
	printf("unikraft-app: shutdown requested: %s\n", req);
	return true;
}

/* Let the xenbus thread run (watch events, xenstore replies), then give
 * the CPU back to Xen once. */
static void pause_once(void)
{
	uk_sched_yield();
	ut_xen_yield();
}

/* ---- the service ------------------------------------------------------------ */

static void serve(struct wl_vcpu *v)
{
	uint64_t start = now_ns(), end = start + opt.duration_ns, t;
	uint64_t batch = opt.rate >= 1000 ? opt.rate / 1000 : 1;

	wl_log(v, UT_LOG_INFO, "vcpu0 up");
	for (;;) {
		for (uint64_t i = 0; i < batch; i++)
			wl_serve_one(v);
		ut_ctl_poll(); /* apply `unitrace ctl --xen` requests */
		t = now_ns();
		if (opt.crash && t >= start + opt.after_ns)
			handle_login(v, opt.crash);
		if (t >= end)
			break;
		if (shutdown_requested())
			break;
		if (opt.rate) {
			uint64_t due = start + v->requests * NS / opt.rate;
			if (due > end)
				due = end;
			while (now_ns() < due)
				pause_once();
		} else if (v->requests % 256 == 0) {
			uk_sched_yield();
		}
	}
	printf("unikraft-app: served %llu requests, errors %llu\n",
	       (unsigned long long)v->requests,
	       (unsigned long long)v->errors);
}

int main(int argc, char *argv[])
{
	struct wl_vcpu v;
	ut_stats_t st;
	int rc;

	printf("unikraft-app: booting\n");
	parse_args(argc, argv);

	rc = ut_unikraft_init(NULL);
	if (rc)
		printf("unikraft-app: ut_init failed (%d); running untraced\n", rc);
	else
		printf("unikraft-app: tracing, published under data/unitrace "
		       "(%u grant refs)\n", ut_unikraft_grants_used());

	wl_setup(&(struct wl_platform){"unikraft-app: session table corrupted",
				       NULL});
	wl_vcpu_init(&v, 0, opt.seed);
	wl_log(&v, UT_LOG_INFO, "unikraft-app booting: 1 vCPU");
	watch_shutdown();
	serve(&v);
	wl_log(&v, UT_LOG_INFO, "unikraft-app halting");

	ut_shutdown();
	ut_get_stats(&st);
	printf("unikraft-app: emitted %llu dropped %llu\n",
	       (unsigned long long)st.emitted, (unsigned long long)st.dropped);
	return 0;
}
