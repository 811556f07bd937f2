/*
 * unitrace Xen rendezvous contract: the xenstore keys a guest publishes
 * (tracer-guest/port_xen.c writes them) and the collector reads
 * (collector/transport/xen_keys.c validates them, xen.c watches them),
 * with the limits both sides apply.  docs/xen.md describes the protocol;
 * docs/format.md lists this header among the contracts.
 *
 * Self-contained: only <stdint.h> and <stddef.h>; compiled by the
 * freestanding Xen guest, by the collector and as C++.
 */
#ifndef UT_XENSTORE_H
#define UT_XENSTORE_H

#include <stddef.h>
#include <stdint.h>

#ifndef UT_STATIC_ASSERT
#ifdef __cplusplus
#define UT_STATIC_ASSERT(e, msg) static_assert(e, msg)
#else
#define UT_STATIC_ASSERT(e, msg) _Static_assert(e, msg)
#endif
#endif

/* The version of this contract, the value of the "abi-version" key. */
#define UT_XEN_ABI_VERSION 1u
#define UT_XEN_ABI_VERSION_STR "1"

/* Where the keys live: relative to the guest's xenstore home (the guest
 * writes relative paths), and absolute for the collector (printf format,
 * the domid). */
#define UT_XEN_DIR "data/unitrace"
#define UT_XEN_BASE "/local/domain/%u/" UT_XEN_DIR

/* The keys under UT_XEN_DIR.  "state" is written last, = UT_XEN_STATE_READY. */
#define UT_XEN_KEY_ABI_VERSION "abi-version"
#define UT_XEN_KEY_NAME "name"
#define UT_XEN_KEY_AREA_PAGES "area-pages"
#define UT_XEN_KEY_DIR_REFS "dir-refs"       /* "272" or "1032,1033" */
#define UT_XEN_KEY_EVTCHN "event-channel"
#define UT_XEN_KEY_STATE "state"
#define UT_XEN_STATE_READY "ready"

/* The directory: each granted page holds up to UT_XEN_REFS_PER_DIR
 * little-endian uint32 grant refs of the area pages, in order. */
#define UT_XEN_DIR_PAGE_SIZE 4096u
#define UT_XEN_REFS_PER_DIR (UT_XEN_DIR_PAGE_SIZE / 4u) /* 1024 */
#define UT_XEN_MAX_DIR_PAGES 64u
#define UT_XEN_MAX_AREA_PAGES (UT_XEN_MAX_DIR_PAGES * UT_XEN_REFS_PER_DIR)
					/* 65536 pages: a 256 MiB area */

/* Value limits: decimal numbers of at most 10 digits ("4294967295");
 * dir-refs at most one number and a comma per directory page. */
#define UT_XEN_MAX_NUM_LEN 10u
#define UT_XEN_MAX_DIR_REFS_LEN (UT_XEN_MAX_DIR_PAGES * (UT_XEN_MAX_NUM_LEN + 1u))
#define UT_XEN_MAX_PORT 0x7fffffffu          /* event-channel */
#define UT_XEN_DOMID_FIRST_RESERVED 0x7ff0u  /* Xen's DOMID_FIRST_RESERVED */

UT_STATIC_ASSERT(UT_XEN_REFS_PER_DIR * sizeof(uint32_t) == UT_XEN_DIR_PAGE_SIZE,
		 "a directory page is a page of uint32 refs");
UT_STATIC_ASSERT(UT_XEN_REFS_PER_DIR == 1024u, "refs per directory page");
UT_STATIC_ASSERT(UT_XEN_MAX_AREA_PAGES == 65536u, "256 MiB areas");
UT_STATIC_ASSERT(UT_XEN_MAX_DIR_REFS_LEN == 704u, "dir-refs length");
UT_STATIC_ASSERT(sizeof(UT_XEN_ABI_VERSION_STR) == 2 && UT_XEN_ABI_VERSION < 10,
		 "UT_XEN_ABI_VERSION_STR spells UT_XEN_ABI_VERSION");

#endif /* UT_XENSTORE_H */
