/*
 * A hosted guest that leaves a trap for the collector's crash capture
 * (D4): it deletes its own executable and puts a FIFO at the name the
 * kernel now shows for it in /proc/PID/maps and /proc/PID/exe,
 * "PATH (deleted)", then crashes (SIGSEGV).  Symbolizing the crash opens
 * the module's file: a plain open() of that name would block the
 * collector until someone writes the FIFO.
 *
 * Run it from a copy of the binary in a scratch directory: it deletes
 * the file it was started from.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace.h"

UT_INSTANT(before_trap, UT_U32(i))

/* The fault itself, not a sanitizer's report of it (make check-asan). */
__attribute__((noinline, no_sanitize("address", "undefined")))
static void crash_now(volatile int *p)
{
	*p = 1;
}

int main(void)
{
	char exe[PATH_MAX], fifo[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return 1;
	exe[n] = 0;
	if (ut_init(NULL) != 0)
		return 1;
	ut_set_vcpu(0);
	for (uint32_t i = 0; i < 100; i++)
		ut_before_trap(i);
	snprintf(fifo, sizeof(fifo), "%s (deleted)", exe);
	if (unlink(exe) != 0 || mkfifo(fifo, 0600) != 0) {
		perror("fifo_guest");
		return 1;
	}
	crash_now(NULL);
	return 0;
}
