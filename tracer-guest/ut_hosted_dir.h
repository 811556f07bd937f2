/*
 * The hosted transport's rendezvous directory, one rule for the guest
 * (port_hosted.c publishes there) and the collector
 * (collector/transport/hosted.c watches it); the names are the contract in
 * formats/ut_hosted.h: $UNITRACE_DIR, else /run/unitrace for root, else
 * $XDG_RUNTIME_DIR/unitrace, else /tmp/unitrace-UID.  Hosted code only
 * (libc).
 */
#ifndef UT_HOSTED_DIR_H
#define UT_HOSTED_DIR_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ut_hosted.h"

static inline void ut_hosted_rendezvous_dir(char *buf, size_t cap)
{
	const char *s = getenv(UT_HOSTED_DIR_ENV);
	const char *x = getenv(UT_HOSTED_DIR_XDG_ENV);

	if (s && *s)
		snprintf(buf, cap, "%s", s);
	else if (geteuid() == 0)
		snprintf(buf, cap, "%s", UT_HOSTED_DIR_ROOT);
	else if (x && *x)
		snprintf(buf, cap, "%s%s", x, UT_HOSTED_DIR_XDG_SUB);
	else
		snprintf(buf, cap, "%s%u", UT_HOSTED_DIR_TMP_PREFIX,
			 (unsigned)geteuid());
}

#endif
