/*
 * bench_lttng: the cost of an LTTng-UST tracepoint with two uint32_t
 * fields, measured the way bench_tracepoint measures unitrace (minimum ns
 * per event over repetitions of a 10M-iteration loop).  Whether the
 * tracepoint is enabled, and in which channel mode, is decided by the
 * LTTng session that bench/lttng/run-lttng.sh sets up around it.
 *
 *   bench_lttng [-n ITER] [-r REPS] [-l LABEL]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tp.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static __attribute__((noinline)) void loop_pair(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		lttng_ust_tracepoint(utbench, pair, (uint32_t)i,
				     (uint32_t)(i >> 7));
}

int main(int argc, char **argv)
{
	uint64_t iters = 10 * 1000 * 1000;
	unsigned reps = 5;
	const char *label = "lttng";
	double best = 1e30;
	int c;

	while ((c = getopt(argc, argv, "n:r:l:")) != -1) {
		switch (c) {
		case 'n':
			iters = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			reps = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'l':
			label = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_lttng [-n ITER] [-r REPS] "
				"[-l LABEL]\n");
			return 2;
		}
	}
	if (iters < 1000 || reps < 1)
		return 2;
	loop_pair(iters / 10 + 1);
	for (unsigned k = 0; k < reps; k++) {
		uint64_t t0 = now_ns();
		loop_pair(iters);
		double ns = (double)(now_ns() - t0) / (double)iters;
		if (ns < best)
			best = ns;
	}
	printf("summary: %s=%.2f\n", label, best);
	return 0;
}
