/*
 * libFuzzer target for everything the collector decodes from guest memory:
 * the area header, schema entries, ring indices, records and the crash
 * record.  A real area is built once with the unmodified guest core (test
 * port) holding a few events of every field type; each input is a list of
 * patches applied to a copy of it:
 *
 *     [u8 region] [u16 offset] [u8 length] [length bytes] ...
 *
 * region 0 = header, 1 = schema, 2 = ring headers, 3 = ring 0 data,
 * 4 = crash record.  The copy is then attached, its schema parsed, its
 * rings drained and its crash record validated, as the collector would.
 */
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "port_test.h"
#include "trace.h"
#include "ut_crash.h"

UT_INSTANT(fz_a, UT_U8(a), UT_S16(b), UT_U32(c), UT_X64(d))
UT_INSTANT(fz_b, UT_S8(a), UT_U16(b), UT_S32(c), UT_S64(d), UT_F64(e),
	   UT_STR(s, 24), UT_BYTES(y, 24))
UT_SPAN(fz_span, UT_U32(id))
UT_COUNTER(fz_count, UT_U64(v))

static uint8_t *pristine, *work;
static size_t area_bytes;

static int ev_cb(void *c, uint32_t ring, const ut_event_t *ev)
{
	(void)c, (void)ring;
	/* touch every decoded byte so ASan sees any overrun */
	volatile uint8_t sink = 0;
	for (unsigned i = 0; i < ev->nvals; i++)
		if (ev->vals[i].type == UT_T_STR || ev->vals[i].type == UT_T_BYTES)
			for (unsigned k = 0; k < ev->vals[i].len; k++)
				sink ^= ev->vals[i].v.p[k];
	(void)sink;
	return 0;
}

static int lost_cb(void *c, uint32_t ring, uint64_t f, uint64_t n, int64_t a,
		   int64_t b, int reason)
{
	(void)c, (void)ring, (void)f, (void)n, (void)a, (void)b, (void)reason;
	return 0;
}

static void setup(void)
{
	ut_config_t cfg = {.name = "fuzz", .nr_rings = 2,
			   .ring_size = UT_MIN_RING_SIZE};
	if (ut_init(&cfg) != 0)
		abort();
	ut_set_vcpu(0);
	for (int i = 0; i < 40; i++) {
		ut_fz_a((uint8_t)i, -3, 7, 0xfeed);
		ut_fz_span_begin((uint32_t)i);
		ut_fz_b(-1, 2, -3, -4, 0.5, "hello", "\x01\x02", 2);
		ut_fz_count((uint64_t)i);
		ut_fz_span_end();
	}
	ut_crash(UT_CRASH_PANIC, 0, 0, 0, NULL, 1, "fuzz");
	area_bytes = ut_test_area_bytes;
	pristine = malloc(area_bytes);
	work = malloc(area_bytes);
	memcpy(pristine, ut_test_area, area_bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ut_reader_t rd;
	const ut_sink_t sink = {NULL, ev_cb, lost_cb};
	struct ut_crash_rec rec;

	if (!pristine)
		setup();
	memcpy(work, pristine, area_bytes);
	const struct ut_area_hdr *h = (const struct ut_area_hdr *)pristine;
	const struct ut_ring_hdr *r0 = (const struct ut_ring_hdr *)(pristine +
								      h->ring_hdr_off);
	const uint64_t base[5] = {0, h->schema_off, h->ring_hdr_off,
				  r0->data_off, h->crash_off};
	const uint64_t span[5] = {sizeof(*h), (uint64_t)h->schema_cap * 256,
				  (uint64_t)h->nr_rings * UT_RING_HDR_SIZE,
				  r0->data_size, UT_CRASH_REGION_SIZE};
	while (size >= 4) {
		unsigned reg = data[0] % 5;
		uint64_t off = ((uint64_t)data[1] | (uint64_t)data[2] << 8) % span[reg];
		size_t len = data[3];
		data += 4, size -= 4;
		if (len > size)
			len = size;
		if (len > span[reg] - off)
			len = (size_t)(span[reg] - off);
		memcpy(work + base[reg] + off, data, len);
		data += len, size -= len;
	}
	if (ut_reader_attach(&rd, work, area_bytes) == 0 &&
	    ut_reader_schema(&rd) == 0) {
		for (uint32_t i = 0; i < rd.nr_rings; i++) {
			long n;
			int guard = 0;
			while ((n = ut_reader_drain(&rd, i, &sink, 4096)) > 0 &&
			       guard++ < 10000)
				;
			ut_reader_finish(&rd, i, &sink);
		}
		ut_reader_crash(&rd, &rec);
	}
	ut_reader_free(&rd);
	return 0;
}
