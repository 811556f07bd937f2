/*
 * A hosted guest that crashes, for tests/e2e/crash_worker.sh:
 *
 *   capture_guest [GIB]   emit a few events, map GIB GiB of untouched
 *                         memory (PROT_READ, MAP_NORESERVE: a core of it is
 *                         slow to write but costs nothing here), then
 *                         dereference NULL
 *
 * The guest beside it, whose service the test watches, is gap_guest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "trace.h"

UT_INSTANT(boom_soon, UT_U32(i))

static volatile int *volatile bad_ptr; /* NULL */

/* Deliberate: keep a sanitizer build from reporting it instead of the
 * fault happening. */
__attribute__((noinline, no_sanitize("address", "undefined")))
static void fault(void)
{
	*bad_ptr = 1;
}

int main(int argc, char **argv)
{
	unsigned long gib = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;

	if (ut_init(NULL) != 0)
		return 1;
	ut_set_vcpu(0);
	for (uint32_t i = 0; i < 10; i++)
		ut_boom_soon(i);
	if (gib && mmap(NULL, gib << 30, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
			MAP_NORESERVE, -1, 0) == MAP_FAILED) {
		perror("capture_guest: mmap");
		return 1;
	}
	fault(); /* SIGSEGV */
	return 1;
}
