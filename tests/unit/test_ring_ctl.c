/*
 * The Xen rig's sequence, outside Xen: one 1 MiB ring (the Unikraft app's
 * size), the demo workload (examples/common/workload.c, the same events
 * and sizes), a collector much slower than the guest so the ring is full
 * and dropping, and `unitrace ctl` requests handled on the producer's own
 * thread between requests, as ut_ctl_poll() does in the unikernel's main
 * loop: disable cache_miss, show, enable cache_miss, mode overwrite, show.
 * The reader must never find the ring corrupt and must account for every
 * event.  Interleavings come from a seeded generator; no timing involved.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "port_test.h"
#include "tap.h"
#include "trace.h"
#include "ut_ctl.h"
#include "ut_port.h"

/* The workload's "error" event would be ut_error, a collector function. */
#define ut_error ut_wl_error
#include "../../examples/common/workload.c"
#undef ut_error

#define RING (1u << 20)

static uint64_t stored, lost;
static uint64_t last_seq;
static bool any;

static int on_event(void *ctx, uint32_t ring, const ut_event_t *ev)
{
	(void)ctx, (void)ring;
	last_seq = ev->seq;
	any = true;
	stored++;
	return 0;
}

static int on_lost(void *ctx, uint32_t ring, uint64_t first, uint64_t count,
		   int64_t before, int64_t after, int reason)
{
	(void)ctx, (void)ring, (void)first, (void)before, (void)after,
		(void)reason;
	lost += count;
	return 0;
}

static const ut_sink_t sink = {NULL, on_event, on_lost};

/* xorshift64; each thread passes its own state. */
static uint32_t rnd_s(uint64_t *s, uint32_t n)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s % n);
}

static uint64_t rng = 88172645463325252ull; /* the main thread's */

static uint32_t rnd(uint32_t n)
{
	return rnd_s(&rng, n);
}

/* A request through the guest's handler, as the vchan server passes it. */
static uint32_t ctl(uint16_t op, uint32_t arg, const void *p, uint32_t len)
{
	static uint8_t out[UT_CTL_HDR_SIZE + UT_CTL_MAX_RSP];
	uint8_t m[UT_CTL_HDR_SIZE + UT_CTL_MAX_REQ];
	static uint32_t seq;
	struct ut_ctl_msg q = {.magic = UT_CTL_MAGIC, .op = op, .seq = ++seq,
			       .arg = arg, .len = len};
	struct ut_ctl_msg r;

	memcpy(m, &q, sizeof(q));
	if (len)
		memcpy(m + sizeof(q), p, len);
	ut_ctl_handle(m, UT_CTL_HDR_SIZE + len, out, sizeof(out));
	memcpy(&r, out, sizeof(r));
	return r.status;
}

/* The collector: a budget of bytes per cycle, 'tail' released only after
 * its (simulated) commit, i.e. every few cycles. */
static int collect(ut_reader_t *r, uint64_t budget, bool release)
{
	uint64_t before = r->rings[0].cursor;
	long n = 0;

	if (ut_reader_schema(r))
		return -1;
	while (budget > r->rings[0].cursor - before &&
	       (n = ut_reader_drain(r, 0, &sink,
				    budget - (r->rings[0].cursor - before))) > 0)
		;
	if (n < 0)
		return -1;
	if (release)
		ut_reader_release(r);
	return 0;
}

static volatile int stop;

static void *collector_thread(void *arg)
{
	ut_reader_t *r = arg;
	uint64_t cycles = 0, s = 0x9e3779b97f4a7c15ull;

	while (!stop) {
		if (collect(r, 256 + rnd_s(&s, 8192), ++cycles % 4 == 0)) {
			printf("# collector: %s\n", r->err);
			stop = 1;
			return (void *)1;
		}
		sched_yield();
	}
	return NULL;
}

int main(void)
{
	ut_reader_t *r = calloc(1, sizeof(*r));
	struct wl_vcpu v;
	ut_stats_t st;
	uint32_t ow = UT_MODE_OVERWRITE, dc = UT_MODE_DISCARD;
	int bad = 0;
	uint64_t steps = 0;

	ut_config_t cfg = {.name = "ring-ctl", .nr_rings = 1, .ring_size = RING,
			   .mode = UT_CFG_MODE_DISCARD};
	is_int(ut_init(&cfg), 0, "ut_init: one 1 MiB ring, discard");
	ut_set_vcpu(0);
	is_int(ut_reader_attach(r, ut_test_area, ut_test_area_bytes), 0,
	       "reader attached: %s", r->err);
	wl_setup(&(struct wl_platform){"x", NULL});
	wl_vcpu_init(&v, 0, 1);

	/* Phases: 0 discard, full; then the ctl sequence at fixed request
	 * counts, the rest in overwrite mode, a few switches back and forth. */
	for (uint64_t req = 0; req < 400000 && !bad; req++) {
		wl_serve_one(&v);
		steps++;
		switch (req) {
		case 60000: bad |= ctl(UT_CTL_ENABLE, 0, "cache_miss", 10) != 0; break;
		case 61000: bad |= ctl(UT_CTL_EVENTS, 0, NULL, 0) != 0;
			bad |= ctl(UT_CTL_RINGS, 0, NULL, 0) != 0; break;
		case 62000: bad |= ctl(UT_CTL_ENABLE, 1, "cache_miss", 10) != 0; break;
		case 63000: bad |= ctl(UT_CTL_SET_MODE, 0, &ow, 4) != 0; break;
		case 64000: bad |= ctl(UT_CTL_RINGS, 0, NULL, 0) != 0; break;
		case 200000: bad |= ctl(UT_CTL_SET_MODE, 0, &dc, 4) != 0; break;
		case 260000: bad |= ctl(UT_CTL_SET_MODE, 0, &ow, 4) != 0; break;
		default: break;
		}
		if (bad) {
			printf("# ctl request refused at request %llu\n",
			       (unsigned long long)req);
			break;
		}
		/* The collector gets a turn now and then, with little budget. */
		if (rnd(8) == 0 && collect(r, 256 + rnd(4096), rnd(4) == 0)) {
			printf("# request %llu: %s\n", (unsigned long long)req,
			       r->err);
			bad = 1;
		}
	}
	ok(!bad, "the reader never finds the ring corrupt (%llu requests)",
	   (unsigned long long)steps);

	/* The same with the collector on its own thread (as in dom0): the
	 * producer switches modes and toggles cache_miss every few thousand
	 * requests while the collector drains a little at a time. */
	if (!bad) {
		pthread_t ct;
		void *cres;
		stop = 0;
		pthread_create(&ct, NULL, collector_thread, r);
		for (uint64_t req = 0; req < 600000 && !stop; req++) {
			wl_serve_one(&v);
			steps++;
			if (req % 5000 == 1000)
				ctl(UT_CTL_ENABLE, 0, "cache_miss", 10);
			if (req % 5000 == 2000)
				ctl(UT_CTL_ENABLE, 1, "cache_miss", 10);
			if (req % 5000 == 3000)
				ctl(UT_CTL_SET_MODE, 0, (req / 5000) % 2 ? &dc : &ow, 4);
			if (req % 5000 == 4000)
				ctl(UT_CTL_RINGS, 0, NULL, 0);
		}
		stop = 1;
		pthread_join(ct, &cres);
		if (cres)
			bad = 1;
		ok(!bad, "...and with a concurrent collector (%llu requests)",
		   (unsigned long long)steps);
	}
	ut_shutdown();
	for (int i = 0; i < 10000 && !bad && !ut_reader_caught_up(r, 0); i++)
		if (collect(r, UINT64_MAX, true)) {
			printf("# final drain: %s\n", r->err);
			bad = 1;
		}
	ok(!bad, "final drain clean");
	ut_reader_finish(r, 0, &sink);
	ut_get_stats(&st);
	is_int(stored + lost, st.emitted, "stored %llu + lost %llu == emitted",
	       (unsigned long long)stored, (unsigned long long)lost);
	ut_reader_free(r);
	free(r);
	return tap_done();
}
