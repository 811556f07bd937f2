/*
 * A hosted guest for tests/e2e/export_ctf.sh: every field type, spans,
 * counters, logs, field names that are TSDL keywords, events lost in
 * discard mode (it emits in bursts until the tracer reports a drop), on
 * two vCPU lanes, then a panic (a crash row).  Deterministic values, so
 * the exported trace can be compared with the database.
 *
 *   ctf_guest [N]   N events per lane in the first phase (default 20000)
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "trace.h"

UT_INSTANT(ints, UT_U8(u8), UT_U16(u16), UT_U32(u32), UT_U64(u64),
	   UT_S8(s8), UT_S16(s16), UT_S32(s32), UT_S64(s64))
UT_INSTANT(mixed, UT_F64(f), UT_X32(x32), UT_X64(x64), UT_STR(s, 24),
	   UT_BYTES(b, 16))
UT_INSTANT(keywords, UT_U32(event), UT_U32(align), UT_STR(string, 8))
UT_SPAN(work, UT_U32(n))
UT_COUNTER(depth, UT_S64(d))
UT_INSTANT0(tick)

static long per_lane = 20000;

static void phase1(uint32_t lane)
{
	static const double fv[] = {0.0, -0.5, 1.0 / 3.0, 1e300, -2.5e-310,
				    123456.75};
	static const char *sv[] = {"", "eth0", "a \"quoted\" \\ name",
				   "twenty-four-bytes-long!!"};
	uint8_t bytes[16];

	for (long i = 0; i < per_lane; i++) {
		uint64_t k = (uint64_t)i * 2654435761u + lane;
		switch (i % 8) {
		case 0:
			ut_ints((uint8_t)k, (uint16_t)k, (uint32_t)k,
				i % 16 == 0 ? UINT64_MAX - (uint64_t)i : k << 20,
				(int8_t)k, (int16_t)k, (int32_t)k,
				i % 16 == 0 ? INT64_MIN + i : -(int64_t)k);
			break;
		case 1:
			for (unsigned j = 0; j < sizeof(bytes); j++)
				bytes[j] = (uint8_t)(k + j * 37);
			ut_mixed(fv[(i / 8) % 6] * (i % 5 == 0 ? 1 : -1),
				 (uint32_t)(k * 7), k * 0x9e3779b97f4a7c15ull,
				 sv[(i / 8) % 4], bytes, (uint16_t)(i % 17));
			break;
		case 2:
			ut_keywords((uint32_t)i, lane, i % 3 ? "enum" : "");
			break;
		case 3:
			ut_work_begin((uint32_t)i);
			break;
		case 4:
			ut_work_end();
			break;
		case 5:
			ut_depth(-(int64_t)i);
			break;
		case 6:
			ut_log((uint32_t)((i / 8) % 4), i % 3 ? "log line" : "warn: \"x\"");
			break;
		default:
			ut_tick();
		}
	}
}

/* Bursts until the tracer drops, then a few events after the gap. */
static void burst(void)
{
	ut_stats_t st;

	for (long i = 0; i < 50000000; i++) {
		ut_tick();
		if (i % 64 == 0) {
			ut_get_stats(&st);
			if (st.dropped > 0)
				break;
		}
	}
	for (int i = 0; i < 10; i++)
		ut_depth(i);
}

static void *lane1(void *arg)
{
	(void)arg;
	ut_set_vcpu(1);
	phase1(1);
	return NULL;
}

int main(int argc, char **argv)
{
	ut_config_t cfg = {.nr_rings = 2};
	pthread_t t;
	ut_stats_t st;

	if (argc > 1)
		per_lane = atol(argv[1]);
	if (ut_init(&cfg) != 0) {
		fprintf(stderr, "ctf_guest: ut_init failed\n");
		return 1;
	}
	ut_set_vcpu(0);
	pthread_create(&t, NULL, lane1, NULL);
	phase1(0);
	pthread_join(t, NULL);
	burst();
	ut_get_stats(&st);
	printf("ctf_guest: emitted %llu dropped %llu\n",
	       (unsigned long long)st.emitted, (unsigned long long)st.dropped);
	fflush(stdout);
	ut_panic("ctf test panic");
}
