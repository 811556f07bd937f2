/*
 * backtrace.c: frame-pointer walk over dumped memory, choice between
 * backtraces, and their text.
 *
 * The register values and the stack come from a crashed guest: hostile.
 * The FP walk reads only through ut_memsrc_read (inside the dump's
 * ranges), insists on a strictly increasing, aligned frame pointer and
 * stops after UT_BT_MAX frames, so lying registers give a short
 * backtrace and a reason, never a fault or a loop.
 *
 * This file needs no library; everything that uses libdw/libelf is in
 * backtrace_dw.c, so that the store (which formats backtraces) links
 * without them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "backtrace.h"
#include "cli.h" /* ut_text_clean */
#include "core.h"

const char *ut_bt_method_name(int method)
{
	switch (method) {
	case UT_BT_FP:
		return "fp";
	case UT_BT_CFI_CORE:
		return "cfi-core";
	case UT_BT_CFI_PID:
		return "cfi-pid";
	default:
		return "none";
	}
}

/* Is (a) inside a range of (mem) (executable if (need_x) and the source
 * marks any range executable)? */
static bool in_mem(const ut_memsrc_t *mem, uint64_t a, bool need_x)
{
	bool any_x = false;

	for (size_t i = 0; i < mem->nranges; i++)
		any_x |= (mem->ranges[i].flags & UT_MEM_X) != 0;
	for (size_t i = 0; i < mem->nranges; i++) {
		const ut_mem_range_t *r = &mem->ranges[i];
		if (a >= r->addr && a - r->addr < r->len)
			return !need_x || !any_x || (r->flags & UT_MEM_X);
	}
	return false;
}

/*
 * Is (ret) the return address of a direct call (e8 rel32) to a function
 * that starts at or shortly before (rip)?  Then RIP is in a function that
 * has not set up its frame (a leaf built without one, or its first
 * instruction), RBP is still its caller's, and [rsp] is the caller.
 */
static bool called_from(const ut_memsrc_t *mem, uint64_t ret, uint64_t rip)
{
	uint8_t call[5];
	int32_t rel;

	if (ret < 5 || ut_memsrc_read(mem, ret - 5, call, 5) || call[0] != 0xe8)
		return false;
	memcpy(&rel, call + 1, 4);
	uint64_t target = ret + (uint64_t)(int64_t)rel;
	return target <= rip && rip - target < 4096;
}

uint32_t ut_bt_fp_walk(const struct ut_memsrc *mem,
		       const uint64_t regs[UT_CRASH_NREGS],
		       ut_backtrace_t *bt)
{
	uint64_t rip = regs[UT_X86_RIP], rbp = regs[UT_X86_RBP];
	uint64_t rsp = regs[UT_X86_RSP], prev = 0;

	ut_bt_init(bt, UT_BT_FP);
	ut_bt_add(bt, rip);
	if (!mem || !mem->nranges) {
		snprintf(bt->stop, sizeof(bt->stop), "no memory to walk");
		return bt->n;
	}
	/* A call through a bad pointer (RIP outside code) or a function
	 * without a frame of its own (a leaf, or its first instruction):
	 * the caller's return address is on top of the stack and RBP is
	 * still the caller's frame, so the chain below would skip the
	 * caller. */
	uint64_t top;
	if (!(rsp & 7) && ut_memsrc_read(mem, rsp, &top, 8) == 0 && top &&
	    in_mem(mem, top, true) &&
	    (!in_mem(mem, rip, true) || called_from(mem, top, rip)))
		ut_bt_add(bt, top);
	while (bt->n < UT_BT_MAX) {
		uint64_t fr[2];
		if (!rbp) {
			snprintf(bt->stop, sizeof(bt->stop),
				 "end of the frame chain (rbp = 0)");
			return bt->n;
		}
		if (rbp & 7) {
			snprintf(bt->stop, sizeof(bt->stop),
				 "rbp 0x%" PRIx64 " is not aligned: no frame "
				 "pointer here",
				 rbp);
			return bt->n;
		}
		if (rbp <= prev) {
			snprintf(bt->stop, sizeof(bt->stop),
				 "rbp 0x%" PRIx64 " is not above the previous "
				 "frame 0x%" PRIx64 " (frame loop or corrupt "
				 "stack)",
				 rbp, prev);
			return bt->n;
		}
		if (ut_memsrc_read(mem, rbp, fr, sizeof(fr))) {
			snprintf(bt->stop, sizeof(bt->stop),
				 "rbp 0x%" PRIx64 " is %s", rbp,
				 in_mem(mem, rbp, false) &&
						 in_mem(mem, rbp + 15, false)
					 ? "unreadable in the dump"
					 : "outside the dumped memory");
			return bt->n;
		}
		if (!fr[1]) {
			snprintf(bt->stop, sizeof(bt->stop),
				 "end of the frame chain (return address 0)");
			return bt->n;
		}
		if (!in_mem(mem, fr[1], true)) {
			snprintf(bt->stop, sizeof(bt->stop),
				 "return address 0x%" PRIx64 " at rbp 0x%" PRIx64
				 " is not in code: no frame pointer here",
				 fr[1], rbp);
			return bt->n;
		}
		ut_bt_add(bt, fr[1]);
		prev = rbp;
		rbp = fr[0];
	}
	snprintf(bt->stop, sizeof(bt->stop),
		 "stopped after %d frames (the stack may be deeper)", UT_BT_MAX);
	return bt->n;
}

const ut_backtrace_t *ut_bt_better(const ut_backtrace_t *a,
				   const ut_backtrace_t *b)
{
	if (!a || !a->n)
		return b && b->n ? b : a;
	if (!b || !b->n)
		return a;
	if (b->nsym != a->nsym)
		return b->nsym > a->nsym ? b : a;
	return b->n > a->n ? b : a;
}

/* ---- text ----------------------------------------------------------------------- */

void ut_bt_format_frame(const ut_frame_t *f, uint32_t idx, char *buf,
			size_t len)
{
	char fn[160] = "??", loc[300] = "", mod[280] = "";

	if (f->function[0])
		snprintf(fn, sizeof(fn), "%.127s+0x%" PRIx64, f->function,
			 f->offset);
	if (f->file[0])
		snprintf(loc, sizeof(loc), " at %.255s:%d", f->file, f->line);
	if (f->module[0]) {
		const char *b = strrchr(f->module, '/');
		snprintf(mod, sizeof(mod), " (%.255s)", b ? b + 1 : f->module);
	}
	snprintf(buf, len, "#%-2u 0x%016" PRIx64 " in %s%s%s", idx, f->pc, fn,
		 loc, mod);
	ut_text_clean(buf);
}

char *ut_bt_format(const ut_backtrace_t *bt)
{
	size_t cap = (size_t)(bt->n + 2) * 700, n = 0;
	char *s = malloc(cap), line[700];

	if (!s)
		return NULL;
	s[0] = 0;
	for (uint32_t i = 0; i < bt->n && i < UT_BT_MAX; i++) {
		ut_bt_format_frame(&bt->f[i], i, line, sizeof(line));
		n += (size_t)snprintf(s + n, cap - n, "%s\n", line);
	}
	if (bt->stop[0])
		snprintf(s + n, cap - n, "(%s: %s)\n",
			 ut_bt_method_name(bt->method), bt->stop);
	return s;
}
