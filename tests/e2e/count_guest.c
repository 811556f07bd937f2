/*
 * A hosted guest for tests/e2e/restart.sh: emits count(i) for i = 0 ..
 * N-1, each exactly once as far as the application is concerned, on one
 * ring in discard mode.  When the ring is full (no collector draining it,
 * e.g. one was just killed) the event is dropped by the library, which
 * counts it and consumes its sequence number; this program sees the drop
 * in ut_get_stats, waits a little and emits the same i again.  So the
 * trace must hold every i once, and every sequence number either as an
 * event or inside a lost range, never both.
 *
 *   count_guest N LIMIT_FILE DONE_FILE
 *
 * It emits i only while i < the number in LIMIT_FILE (read again whenever
 * it reaches the last one read; none yet: 0), so the test decides how far
 * it may be when a collector is killed.  After the N-th event it prints "count_guest: emitted E dropped D" and
 * waits until DONE_FILE exists (the test creates it once the collector
 * has stored all N), then shuts down: its rings are still held by the
 * collector attached at that moment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"

UT_INSTANT(count, UT_U64(i))

static const struct timespec nap = {0, 200 * 1000};

/* Wait until LIMIT_FILE (path) allows more than (i). */
static uint64_t wait_limit(const char *path, uint64_t i)
{
	unsigned long long v = 0;

	for (;;) {
		FILE *f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%llu", &v) != 1)
				v = 0;
			fclose(f);
		}
		if (v > i)
			return v;
		nanosleep(&nap, NULL);
	}
}

int main(int argc, char **argv)
{
	ut_stats_t st;
	uint64_t n, dropped, limit = 0;

	if (argc != 4 || (n = strtoull(argv[1], NULL, 10)) == 0) {
		fprintf(stderr, "usage: count_guest N LIMIT_FILE DONE_FILE\n");
		return 2;
	}
	if (ut_init(NULL) != 0) {
		fprintf(stderr, "count_guest: ut_init failed\n");
		return 1;
	}
	ut_set_vcpu(0);
	ut_get_stats(&st);
	dropped = st.dropped;
	for (uint64_t i = 0; i < n; i++) {
		if (i >= limit)
			limit = wait_limit(argv[2], i);
		for (;;) {
			ut_count(i);
			ut_get_stats(&st);
			if (st.dropped == dropped)
				break;
			dropped = st.dropped; /* the ring was full: again */
			nanosleep(&nap, NULL);
		}
	}
	ut_get_stats(&st);
	printf("count_guest: emitted %llu dropped %llu\n",
	       (unsigned long long)st.emitted, (unsigned long long)st.dropped);
	fflush(stdout);
	while (access(argv[3], F_OK) != 0)
		nanosleep(&nap, NULL);
	ut_shutdown();
	return 0;
}
