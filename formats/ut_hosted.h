/*
 * unitrace hosted rendezvous contract: where a hosted guest (a Linux
 * process, tracer-guest/port_hosted.c) publishes its shared area and how
 * the entry is named, so that the collector (collector/transport/hosted.c,
 * `unitrace ctl`) finds it.  The rule itself, one function for both
 * sides, is ut_hosted_rendezvous_dir() in tracer-guest/ut_hosted_dir.h:
 *
 *   $UNITRACE_DIR, else /run/unitrace for root, else
 *   $XDG_RUNTIME_DIR/unitrace, else /tmp/unitrace-UID
 *
 * In it each guest publishes a symbolic link NAME.PID.ut to
 * /proc/PID/fd/N, its memfd (NAME: at most UT_HOSTED_NAME_MAX bytes of the
 * guest name, '/' and control characters replaced by '_').
 *
 * Self-contained: only <stdint.h> and <stddef.h>; C and C++.
 */
#ifndef UT_HOSTED_H
#define UT_HOSTED_H

#include <stddef.h>
#include <stdint.h>

#ifndef UT_STATIC_ASSERT
#ifdef __cplusplus
#define UT_STATIC_ASSERT(e, msg) static_assert(e, msg)
#else
#define UT_STATIC_ASSERT(e, msg) _Static_assert(e, msg)
#endif
#endif

#define UT_HOSTED_DIR_ENV "UNITRACE_DIR"
#define UT_HOSTED_DIR_ROOT "/run/unitrace"           /* euid 0 */
#define UT_HOSTED_DIR_XDG_ENV "XDG_RUNTIME_DIR"
#define UT_HOSTED_DIR_XDG_SUB "/unitrace"            /* under $XDG_RUNTIME_DIR */
#define UT_HOSTED_DIR_TMP_PREFIX "/tmp/unitrace-"    /* followed by the uid */

/* The entry: "%.64s.%d" UT_HOSTED_ENTRY_SUFFIX of the name and pid. */
#define UT_HOSTED_ENTRY_SUFFIX ".ut"
#define UT_HOSTED_NAME_MAX 64

UT_STATIC_ASSERT(sizeof(UT_HOSTED_ENTRY_SUFFIX) == 4, "\".ut\"");
UT_STATIC_ASSERT(UT_HOSTED_NAME_MAX == 64, "the %.64s of the entry name");

#endif /* UT_HOSTED_H */
