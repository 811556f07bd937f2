/*
 * unitrace core-file contract: the note owner, note types and descriptor
 * sizes of the ELF cores the collector writes (collector/crash/core.c) and
 * that gdb, readelf and `unitrace crash` (ut_core_check) read.  The file
 * layout is documented in docs/core-format.md.
 *
 * Self-contained: <stdint.h>, <stddef.h> and ut_abi.h (itself only those
 * two), whose struct ut_crash_rec is the crash note's descriptor.
 * Compiles as C and as C++.
 */
#ifndef UT_CORE_FORMAT_H
#define UT_CORE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "ut_abi.h" /* also UT_STATIC_ASSERT */

/* Our notes: owner "UNITRACE"; the types spell "UT" in their high half
 * and are never reused. */
#define UT_CORE_NOTE_OWNER "UNITRACE"
#define UT_CORE_NT_CRASH 0x55540001u    /* struct ut_crash_rec, raw */
#define UT_CORE_NT_BUILD_ID 0x55540002u /* the guest's build id bytes */

/* Descriptor sizes: the crash note is exactly one crash record; the
 * build-id note 0..UT_CORE_BUILD_ID_MAX bytes. */
#define UT_CORE_NT_CRASH_SIZE 4096u
#define UT_CORE_BUILD_ID_MAX 32u

/* NT_PRPSINFO (owner "CORE"): x86-64 struct elf_prpsinfo, 136 bytes. */
#define UT_CORE_PRPSINFO_SIZE 136

UT_STATIC_ASSERT(sizeof(UT_CORE_NOTE_OWNER) == 9, "owner name with its NUL");
UT_STATIC_ASSERT((UT_CORE_NT_CRASH >> 16) == 0x5554u &&
		 (UT_CORE_NT_BUILD_ID >> 16) == 0x5554u, "\"UT\" note types");
UT_STATIC_ASSERT(sizeof(struct ut_crash_rec) == UT_CORE_NT_CRASH_SIZE,
		 "the crash note is one raw crash record");
UT_STATIC_ASSERT(UT_CORE_NT_CRASH_SIZE == UT_CRASH_REGION_SIZE,
		 "crash note size");
UT_STATIC_ASSERT(UT_CORE_BUILD_ID_MAX == UT_BUILD_ID_MAX, "build id size");
UT_STATIC_ASSERT(UT_CORE_PRPSINFO_SIZE % 8 == 0, "prpsinfo alignment");

#endif /* UT_CORE_FORMAT_H */
