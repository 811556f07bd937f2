/*
 * The crash entry point for ports and fatal-trap handlers (not for
 * applications, which call ut_panic() of trace.h).  Included by ut_port.h
 * (the in-tree ports) and xen_guest.h (a Xen unikernel's trap handlers);
 * installed with xen_guest.h.  Freestanding: only <stdint.h>.
 */
#ifndef UT_CRASH_H
#define UT_CRASH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Write the crash record (kind: enum ut_crash_kind; regs: UT_CRASH_NREGS
 * registers in the layout of enum ut_crash_arch, may be NULL), mark the
 * guest CRASHED and hand over to the port.  Only the first crash is
 * recorded; a second caller (another vCPU or thread crashing at the same
 * time) is noted in the record's second_signo and second_tid (the first
 * such caller only) and waits for the hand-off.  Returns when the
 * collector has finished or the wait timed out; the port then makes the
 * whole guest die of the first crash.
 */
void ut_crash(uint32_t kind, int32_t signo, int32_t code, uint64_t fault_addr,
	      const uint64_t *regs, uint32_t tid, const char *reason);

#ifdef __cplusplus
}
#endif

#endif /* UT_CRASH_H */
