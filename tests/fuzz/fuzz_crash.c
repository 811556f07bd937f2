/*
 * libFuzzer target: the crash record a guest writes, as the collector
 * validates and uses it (collector/ingest/reader.c: ut_reader_crash, then
 * the core note, the register text and the kind name the crash capture
 * stores).  fuzz_reader reaches the record only through 255-byte patches
 * among the rest of the area; here the input is the record itself, laid
 * over the whole crash region of a real area (the unmodified guest core
 * on the test port, after a real ut_crash): bytes past the input keep the
 * real record's.  The record's read-back from a database (`unitrace
 * crash`) is fuzz_db's.
 */
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "core.h"
#include "port_test.h"
#include "store.h"
#include "trace.h"
#include "ut_crash.h"

UT_INSTANT(fzr_a, UT_U32(a))

static uint8_t *pristine, *work;
static size_t area_bytes;

static void setup(void)
{
	ut_config_t cfg = {.name = "fuzz-crash", .nr_rings = 3,
			   .ring_size = UT_MIN_RING_SIZE};
	if (ut_init(&cfg) != 0)
		abort();
	ut_set_vcpu(2);
	for (int i = 0; i < 10; i++)
		ut_fzr_a((uint32_t)i);
	ut_crash(UT_CRASH_SIGNAL, 11, 1, 0xdead, NULL, 2, "fuzz crash");
	area_bytes = ut_test_area_bytes;
	pristine = malloc(area_bytes);
	work = malloc(area_bytes);
	if (!pristine || !work)
		abort();
	memcpy(pristine, ut_test_area, area_bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ut_reader_t rd;
	struct ut_crash_rec rec;
	ut_core_note_t note;
	char regs[UT_CRASH_NREGS * 32];

	if (!pristine)
		setup();
	memcpy(work, pristine, area_bytes);
	const struct ut_area_hdr *h = (const struct ut_area_hdr *)pristine;
	if (size > UT_CRASH_REGION_SIZE)
		size = UT_CRASH_REGION_SIZE;
	memcpy(work + h->crash_off, data, size);
	if (ut_reader_attach(&rd, work, area_bytes) == 0 &&
	    ut_reader_crash(&rd, &rec) == 0) {
		if (rec.reason[UT_CRASH_REASON_LEN - 1] != 0 ||
		    (rec.vcpu != 0xffffffffu && rec.vcpu >= rd.nr_rings))
			abort(); /* what the validation promises */
		ut_core_note_crash(&note, &rec);
		ut_crash_regs_text(rec.regs, regs, sizeof(regs));
		if (!ut_crash_kind_name(rec.kind))
			abort();
	}
	ut_reader_free(&rd);
	return 0;
}
