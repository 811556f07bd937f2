/*
 * guest_pt.h: a guest's own memory maps, read through an abstract frame
 * reader so that the logic runs (and is unit-tested) on the host:
 *   - the p2m a PV guest publishes (shared_info arch.max_pfn and
 *     arch.pfn_to_mfn_frame_list_list: a frame of frame numbers of frames
 *     of frame numbers of the p2m's own frames), pfn -> mfn, and its
 *     inverse;
 *   - the 4-level x86-64 page tables from CR3, as PT_LOAD-ready ranges at
 *     virtual addresses with their guest-physical address.
 * Everything read from the guest is treated as hostile: bounded, checked,
 * never trusted for a size or a loop.
 */
#ifndef UT_GUEST_PT_H
#define UT_GUEST_PT_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#define UT_INVALID_FRAME UINT64_MAX
/* x86-64 physical addresses have at most 52 bits: frame numbers 40. */
#define UT_MAX_FRAME ((1ull << 40) - 1)

typedef struct ut_gframes {
	void *ctx;
	/* Read the 4 KiB frame (frame) into (page): an MFN for a PV guest,
	 * a GFN for PVH/HVM (what the guest's own tables hold).  0 or -1. */
	int (*read_frame)(void *ctx, uint64_t frame, void *page);
	/* The guest-physical frame of (frame) if it is the guest's memory
	 * that the dump can read: 0 and *pfn, else -1. */
	int (*frame_to_pfn)(void *ctx, uint64_t frame, uint64_t *pfn);
} ut_gframes_t;

/*
 * Read a PV guest's p2m: (max_pfn) entries (the caller bounds it) from the
 * frame list list (fll).  *p2m gets a malloc'd array of (max_pfn) MFNs,
 * UT_INVALID_FRAME where the guest has none or the p2m frame was
 * unreadable or the entry is out of range.  0, or -1 with the reason in
 * (err) (no p2m published, its top frames unreadable, too big).
 */
int ut_p2m_read(const ut_gframes_t *g, uint64_t fll, uint64_t max_pfn,
		uint64_t **p2m, char *err, size_t errlen);

/* The inverse of a p2m: (mfn, pfn) pairs sorted by mfn, first pfn kept
 * for an mfn that appears twice.  NULL if out of memory (n = 0 is fine:
 * returns a non-NULL empty map). */
typedef struct ut_m2p {
	uint64_t (*pair)[2];
	size_t n;
} ut_m2p_t;
int ut_m2p_build(ut_m2p_t *m, const uint64_t *p2m, uint64_t npfn);
int ut_m2p_lookup(const ut_m2p_t *m, uint64_t mfn, uint64_t *pfn);
void ut_m2p_free(ut_m2p_t *m);

/*
 * Walk the 4-level page tables whose top frame is (root) (CR3's frame):
 * 4 KiB, 2 MiB and 1 GiB pages, present bit, RW and NX of every level
 * (R always, W if writable at every level, X unless NX at some level).
 * Emits ranges at canonical virtual addresses with (paddr) the
 * guest-physical address, in virtual order, merging runs contiguous in
 * both spaces with equal flags; only pages whose frame is the guest's
 * (frame_to_pfn) are kept.  Bounds: at most (max_tables) page-table
 * frames read and (max_pages) pages mapped (loops, aliasing); hitting one
 * keeps what was found and says so in (note).
 * Returns 0 with *out (malloc'd) and *nout > 0, or -1 (root unreadable,
 * nothing mapped, out of memory) with the reason in (note).
 */
int ut_pt_walk(const ut_gframes_t *g, uint64_t root, uint64_t max_tables,
	       uint64_t max_pages, ut_mem_range_t **out, size_t *nout,
	       char *note, size_t notelen);

#endif /* UT_GUEST_PT_H */
