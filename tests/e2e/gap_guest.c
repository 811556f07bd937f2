/*
 * A good hosted guest that measures how well it is served (hostile.sh).
 *
 * It waits until a collector has attached, then emits one event every
 * 200 microseconds on ring 0 until SIGTERM or SIGINT.  After every event
 * it reads its ring's tail (the collector releases it after each commit)
 * and keeps the longest time between two advances of the tail during
 * which events were waiting: the longest time the collector left it
 * unserved.  At exit it prints
 *
 *   gap-guest: EVENTS events, DROPPED dropped, longest gap MS ms
 *
 * Run it with a ring large enough for the longest stall (UNITRACE_RING_SIZE),
 * so that nothing is dropped and every event can be checked in the trace.
 *
 * "gap_guest idle" emits nothing: it only holds its area (and so one of
 * the collector's descriptors) until SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest_area.h"
#include "trace.h"

UT_INSTANT(tick, UT_U64(i))

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct ut_area_hdr *h;
	struct ut_ring_hdr *r;
	struct timespec pace = {0, 200000};
	uint64_t n = 0, tail;
	int64_t last, longest = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (ut_init(NULL) != 0)
		return 1;
	if (argc > 1 && !strcmp(argv[1], "idle")) {
		while (!stop)
			pause();
		ut_shutdown();
		return 0;
	}
	ut_set_vcpu(0);
	if (!(h = find_area())) {
		fprintf(stderr, "gap_guest: shared area not found\n");
		return 1;
	}
	r = (struct ut_ring_hdr *)((char *)h + h->ring_hdr_off);
	while (!stop && __atomic_load_n(&h->collector_state, __ATOMIC_ACQUIRE) ==
	       UT_COLL_NONE)
		nanosleep(&pace, NULL);
	printf("gap-guest: attached\n");
	fflush(stdout);
	tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	last = now_us();
	while (!stop) {
		ut_tick(n++);
		uint64_t t = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		int64_t now = now_us();
		if (t != tail) {
			if (now - last > longest)
				longest = now - last;
			tail = t;
			last = now;
		}
		nanosleep(&pace, NULL);
	}
	/* the wait for the last drain is not a gap the guest measures */
	uint64_t dropped = __atomic_load_n(&r->dropped, __ATOMIC_RELAXED);
	ut_shutdown();
	printf("gap-guest: %llu events, %llu dropped, longest gap %lld ms\n",
	       (unsigned long long)n, (unsigned long long)dropped,
	       (long long)(longest / 1000));
	return 0;
}
