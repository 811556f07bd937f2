/*
 * Ring notifications: in discard mode the guest tells the collector (the
 * port's notify, an event channel on Xen) when half a ring or more waits,
 * once per move of the collector's tail; never in overwrite mode.
 */
#include <string.h>

#include "port_test.h"
#include "tap.h"
#include "trace.h"
#include "ut_port.h"

UT_INSTANT(pkt, UT_U64(a), UT_U64(b)) /* 24 + 16 = 40 bytes per record */

static struct ut_ring_hdr *ring_hdr(uint32_t i)
{
	return (struct ut_ring_hdr *)((uint8_t *)ut_test_area +
				      ut_test_area->ring_hdr_off) + i;
}

/* Emit until ring (i)'s head has advanced (bytes) past where it was. */
static void fill(uint32_t i, uint64_t bytes)
{
	uint64_t h0 = ring_hdr(i)->head;

	while (ring_hdr(i)->head - h0 < bytes)
		ut_pkt(1, 2);
}

int main(void)
{
	ut_config_t cfg = {.name = "notify-test", .nr_rings = 2,
			   .ring_size = 65536};
	const uint64_t size = 65536;

	is_int(ut_init(&cfg), 0, "ut_init");
	ut_set_vcpu(1);
	fill(1, size / 2 - 4096);
	is_int(ut_test_notifies, 0, "below half full: no notification");
	fill(1, 8192);
	is_int(ut_test_notifies, 1, "past half full: one notification");
	is_int(ut_test_notify_ring, 1, "...for ring 1");
	fill(1, size / 2 - 8192 - 64);
	is_int(ut_test_notifies, 1, "filling on with no collector: still one");
	ut_stats_t st;
	uint64_t h0 = ring_hdr(1)->head;
	for (int k = 0; k < 1000; k++) /* 40 KB: more than the space left */
		ut_pkt(1, 2);
	ut_get_stats(&st);
	ok(st.dropped > 0 && ring_hdr(1)->head - h0 == (1000 - st.dropped) * 40 &&
	   ring_hdr(1)->head - ring_hdr(1)->tail <= size,
	   "the full ring drops the rest (discard mode): %llu dropped",
	   (unsigned long long)st.dropped);
	is_int(ut_test_notifies, 1, "a full ring and no collector: still one");

	/* the collector consumes a quarter: the next half-full is news */
	__atomic_store_n(&ring_hdr(1)->tail, ring_hdr(1)->head - size / 4,
			 __ATOMIC_RELEASE);
	fill(1, size / 4 + 2048);
	is_int(ut_test_notifies, 2, "after the collector moved: notified again");

	/* the collector keeps up: no notifications */
	uint64_t before = ut_test_notifies;
	for (int k = 0; k < 50; k++) {
		__atomic_store_n(&ring_hdr(1)->tail, ring_hdr(1)->head,
				 __ATOMIC_RELEASE);
		fill(1, size / 8);
	}
	is_int(ut_test_notifies, before, "a collector that keeps up: none");

	/* overwrite mode: a flight recorder, nothing to hurry for */
	ut_set_mode(1, UT_MODE_OVERWRITE);
	fill(1, 4 * size);
	is_int(ring_hdr(1)->mode, UT_MODE_OVERWRITE, "ring 1 in overwrite mode");
	is_int(ut_test_notifies, before, "overwrite mode: no notifications");
	ut_shutdown();
	return tap_done();
}
