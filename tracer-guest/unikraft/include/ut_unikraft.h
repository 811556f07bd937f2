/*
 * unitrace on Unikraft (Xen x86_64 PV): what the libunitrace library adds
 * to trace.h.  The application declares its events with the UT_* macros
 * of trace.h and calls ut_unikraft_init() (or ut_init() itself) once it
 * runs in a thread: the port talks to xenstore, which blocks.
 */
#ifndef UT_UNIKRAFT_H
#define UT_UNIKRAFT_H

/* nolibc: <uk/essentials.h> defines the __offsetof trace.h needs */
#include <uk/essentials.h>

#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ut_init() with the library's Kconfig choices (ring size, overwrite mode,
 * collector domain), the guest named (name) (NULL: the domain's name in
 * xenstore), one ring bound to the running vCPU.  Returns ut_init's result:
 * 0, or a negative UT_E* code (then tracing is off, the trace calls cost a
 * test each).
 */
int ut_unikraft_init(const char *name);

/* Grant references taken so far and the budget (CONFIG_LIBUNITRACE_MAX_GRANTS). */
unsigned ut_unikraft_grants_used(void);
unsigned ut_unikraft_grants_max(void);

#ifdef __cplusplus
}
#endif

#endif /* UT_UNIKRAFT_H */
