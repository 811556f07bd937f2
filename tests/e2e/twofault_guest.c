/*
 * Two threads that crash at about the same time, for tests/e2e/twofault.sh:
 *
 *   twofault_guest A B [GATE]   threads fault_a and fault_b meet at a
 *                               barrier, then fault with A and B (segv,
 *                               bus or fpe); with GATE, fault_b waits for
 *                               GATE.held (the collector holding the first
 *                               crash's capture, crash.h) before it faults
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"

UT_INSTANT(two_faults, UT_U32(i))

static pthread_barrier_t meet;
static const char *gate;
static volatile int *volatile bad_ptr; /* NULL */
static volatile int zero, one = 1; /* 1 / x compiles to no idiv */
static volatile int *bus_page;

/* Deliberate faults: keep a sanitizer build from reporting them instead
 * of the fault happening. */
__attribute__((noinline, no_sanitize("address", "undefined")))
static void fault_with(const char *how)
{
	if (!strcmp(how, "bus"))
		*bus_page = 1; /* past the end of an empty memfd */
	else if (!strcmp(how, "fpe"))
		zero = one / zero;
	else
		*bad_ptr = 1;
}

__attribute__((noinline)) static void *fault_a(void *how)
{
	pthread_barrier_wait(&meet);
	fault_with(how);
	return NULL;
}

__attribute__((noinline)) static void *fault_b(void *how)
{
	pthread_barrier_wait(&meet);
	if (gate) {
		char held[4096];
		struct stat sb;
		struct timespec nap = {0, 1000 * 1000};
		snprintf(held, sizeof(held), "%s.held", gate);
		while (stat(held, &sb) != 0)
			nanosleep(&nap, NULL);
	}
	fault_with(how);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t a, b;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: twofault_guest A B [GATE]\n");
		return 2;
	}
	gate = argc > 3 ? argv[3] : NULL;
	fd = memfd_create("twofault", 0);
	bus_page = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					      MAP_SHARED, fd, 0);
	if (bus_page == MAP_FAILED) {
		perror("twofault_guest: memfd");
		return 1;
	}
	if (ut_init(NULL) != 0)
		return 1;
	ut_set_vcpu(0);
	for (uint32_t i = 0; i < 10; i++)
		ut_two_faults(i);
	pthread_barrier_init(&meet, NULL, 2);
	pthread_create(&a, NULL, fault_a, argv[1]);
	pthread_create(&b, NULL, fault_b, argv[2]);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return 1;
}
