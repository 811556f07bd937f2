/*
 * A hosted guest for tests/e2e/export.sh: every field type with edge
 * values (integer limits, a u64 above 2^53, infinities, NaN, control
 * characters and invalid UTF-8 in strings, bytes), nested spans, a span
 * whose end follows a lost-event range (stored without a duration), a
 * begin never ended, counters and logs at each level.  Run it under
 * `unitrace run --mode discard --ring-size 16384`: a burst overflows the
 * small ring (lost ranges).  With argument "crash" it ends in ut_panic.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "trace.h"

UT_INSTANT(ints, UT_U8(u8), UT_U16(u16), UT_U32(u32), UT_U64(u64),
	   UT_S8(s8), UT_S16(s16), UT_S32(s32), UT_S64(s64))
UT_INSTANT(misc, UT_F64(f64), UT_X32(x32), UT_X64(x64), UT_STR(str, 40),
	   UT_BYTES(raw, 16), UT_U64(big))
UT_INSTANT(burst, UT_U32(i))
UT_SPAN(outer, UT_U32(n))
UT_SPAN(inner, UT_STR(tag, 8))
UT_COUNTER(gauge, UT_S64(v), UT_F64(ratio))
UT_COUNTER(big_ctr, UT_U64(total), UT_X32(flags), UT_U8(small))

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Emit until the event is not dropped: the ring has drained enough (a
 * state, not a duration; the dropped attempts count as lost). */
#define STORED(call)                                           \
	do {                                                   \
		ut_stats_t a_, b_;                             \
		for (;;) {                                     \
			ut_get_stats(&a_);                     \
			call;                                  \
			ut_get_stats(&b_);                     \
			if (b_.dropped == a_.dropped)          \
				break;                         \
			nap_ms(1);                             \
		}                                              \
	} while (0)

int main(int argc, char **argv)
{
	static const unsigned char raw[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x10};
	const char *bad = "tab\there nl\n ctl\x01 del\x7f bad\xff\xfe ok \xc3\xa9 q\" b\\";

	if (ut_init(NULL) != 0)
		return 1;
	ut_set_vcpu(0);
	STORED(ut_log(UT_LOG_ERROR, "an error"));
	STORED(ut_log(UT_LOG_WARN, bad));
	STORED(ut_log(UT_LOG_INFO, "info \xe2\x82\xac"));
	STORED(ut_log(UT_LOG_DEBUG, "debug"));
	STORED(ut_ints(255, 65535, 4294967295u, UINT64_MAX, -128, -32768,
		       INT32_MIN, INT64_MIN));
	STORED(ut_ints(0, 1, 2, 9007199254740993ull, -1, -2, -3, -4));
	STORED(ut_ints(1, 2, 3, 9007199254740992ull, 127, 32767, INT32_MAX,
		       INT64_MAX));
	STORED(ut_misc(3.5, 0xdeadbeefu, 0x8000000000000001ull, bad, raw,
		       sizeof(raw), UINT64_MAX));
	STORED(ut_misc(INFINITY, 0, 0, "", raw, 0, 0));
	STORED(ut_misc(-INFINITY, 1, 1, "x", raw, 1, 1));
	STORED(ut_misc(NAN, 2, 2, "\xe2\x82", raw, 2, 2));
	STORED(ut_misc(-1.25e-300, 3, 3, "y", raw, 3, 3));
	STORED(ut_misc(1e300, 4, 4, "z", raw, 4, 4));
	STORED(ut_big_ctr(UINT64_MAX, 0xdeadbeefu, 7));
	STORED(ut_big_ctr(9007199254740993ull, 1, 255));
	for (uint32_t n = 1; n <= 3; n++) {
		STORED(ut_outer_begin(n));
		STORED(ut_inner_begin("a\x01"));
		STORED(ut_gauge(-(int64_t)n, n / 4.0));
		STORED(ut_inner_end());
		STORED(ut_outer_end());
	}
	/* a span across a lost range: its end has no duration */
	STORED(ut_outer_begin(100));
	for (uint32_t i = 0; i < 200000; i++)
		ut_burst(i);
	STORED(ut_outer_end());
	STORED(ut_log(UT_LOG_INFO, "after the burst"));
	/* a begin never ended */
	STORED(ut_outer_begin(200));
	STORED(ut_inner_begin("open"));
	if (argc > 1 && !strcmp(argv[1], "crash"))
		ut_panic("export test crash");
	return 0;
}
