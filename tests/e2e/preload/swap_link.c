/*
 * LD_PRELOAD for hostile.sh: makes the race between reading a rendezvous
 * link and opening it happen every time.  Each readlink() of the path in
 * $UT_TEST_SWAP_LINK returns what the link says, then replaces the link
 * (atomically, by rename) with one to $UT_TEST_SWAP_TO.  A collector that
 * opens the link again after reading it opens $UT_TEST_SWAP_TO; one that
 * opens the target it read does not.
 *
 * Built by hostile.sh itself (cc -shared), not by the Makefile: it is not
 * a test program.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t readlink(const char *path, char *buf, size_t cap)
{
	static ssize_t (*real)(const char *, char *, size_t);
	const char *swap = getenv("UT_TEST_SWAP_LINK");
	const char *to = getenv("UT_TEST_SWAP_TO");
	char tmp[4096];
	ssize_t n;

	if (!real)
		real = (ssize_t (*)(const char *, char *, size_t))dlsym(RTLD_NEXT,
									"readlink");
	n = real(path, buf, cap);
	if (n >= 0 && swap && to && !strcmp(path, swap)) {
		snprintf(tmp, sizeof(tmp), "%s.swap", swap);
		unlink(tmp);
		if (symlink(to, tmp) == 0)
			rename(tmp, swap);
	}
	return n;
}
