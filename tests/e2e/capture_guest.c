/*
 * A hosted guest for tests/e2e/crash_worker.sh: the collector's crash
 * capture must not stall the guests it serves.  argv[1] says what to be:
 *
 *   crash [GIB]  emit a few events, map GIB GiB of untouched memory
 *                (PROT_READ, MAP_NORESERVE: a core of it is slow to write
 *                but costs nothing here), then dereference NULL
 *   steady STOP  emit a tick event about every millisecond until the file
 *                STOP exists, then shut down cleanly and print
 *                "longest_gap_ms N": the longest time it saw between two
 *                advances of its ring's tail, which the collector moves
 *                only after a commit (how long the collector left it
 *                unserved)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "own_area.h"
#include "trace.h"

UT_INSTANT(boom_soon, UT_U32(i))
UT_INSTANT(tick, UT_U32(i))

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static volatile int *volatile bad_ptr; /* NULL */

/* Deliberate: keep a sanitizer build from reporting it instead of the
 * fault happening. */
__attribute__((noinline, no_sanitize("address", "undefined")))
static void fault(void)
{
	*bad_ptr = 1;
}

static int crash(unsigned long gib)
{
	for (uint32_t i = 0; i < 10; i++)
		ut_boom_soon(i);
	if (gib) {
		void *p = mmap(NULL, gib << 30, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			perror("capture_guest: mmap");
			return 1;
		}
	}
	fault(); /* SIGSEGV */
	return 1;
}

static int steady(const char *stop)
{
	struct timespec nap = {0, 1000 * 1000};
	struct ut_area_hdr *h = ut_test_own_area();
	struct ut_ring_hdr *rh;
	uint64_t tail;
	int64_t last, gap = 0;
	struct stat sb;
	uint32_t i = 0;

	if (!h) {
		fprintf(stderr, "capture_guest: shared area not found\n");
		return 1;
	}
	rh = (struct ut_ring_hdr *)((char *)h + h->ring_hdr_off);
	tail = __atomic_load_n(&rh->tail, __ATOMIC_ACQUIRE);
	last = now_ms();
	while (stat(stop, &sb) != 0) {
		ut_tick(i++);
		nanosleep(&nap, NULL);
		uint64_t t = __atomic_load_n(&rh->tail, __ATOMIC_ACQUIRE);
		int64_t now = now_ms();
		if (t != tail) {
			if (tail && now - last > gap) /* from the first commit on */
				gap = now - last;
			tail = t;
			last = now;
		}
	}
	ut_shutdown();
	printf("longest_gap_ms %lld\n", (long long)gap);
	return 0;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "";

	if (ut_init(NULL) != 0)
		return 1;
	ut_set_vcpu(0);
	if (!strcmp(how, "crash"))
		return crash(argc > 2 ? strtoul(argv[2], NULL, 10) : 0);
	if (!strcmp(how, "steady") && argc > 2)
		return steady(argv[2]);
	fprintf(stderr, "usage: capture_guest crash [GIB] | steady STOP\n");
	return 2;
}
