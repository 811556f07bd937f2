/*
 * The hosted transport's rendezvous directory, one rule for the guest
 * (port_hosted.c publishes there) and the collector (collector/transport/hosted.c
 * watches it): $UNITRACE_DIR, else /run/unitrace for root, else
 * $XDG_RUNTIME_DIR/unitrace, else /tmp/unitrace-UID.  Hosted code only
 * (libc).
 */
#ifndef UT_HOSTED_DIR_H
#define UT_HOSTED_DIR_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void ut_hosted_rendezvous_dir(char *buf, size_t cap)
{
	const char *s = getenv("UNITRACE_DIR");
	const char *x = getenv("XDG_RUNTIME_DIR");

	if (s && *s)
		snprintf(buf, cap, "%s", s);
	else if (geteuid() == 0)
		snprintf(buf, cap, "/run/unitrace");
	else if (x && *x)
		snprintf(buf, cap, "%s/unitrace", x);
	else
		snprintf(buf, cap, "/tmp/unitrace-%u", (unsigned)geteuid());
}

#endif
