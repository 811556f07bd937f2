/*
 * The reader fed hostile bytes: every header, schema and record field a
 * guest can corrupt, plus a deterministic random-mutation run.  Each case
 * must end in a clear error (or a clean read), never a crash, a hang or an
 * out-of-bounds access (run under ASan by make check-asan).
 */
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "port_test.h"
#include "tap.h"
#include "trace.h"

UT_INSTANT(net_rx, UT_U32(len), UT_STR(ifname, 16))
UT_SPAN(req, UT_U64(id))

static uint8_t *pristine;
static size_t area_bytes;
static uint8_t *work;
static ut_reader_t rd;
static long nev, nlost;

static int ev_cb(void *c, uint32_t ring, const ut_event_t *ev)
{
	(void)c, (void)ring, (void)ev;
	nev++;
	return 0;
}

static int lost_cb(void *c, uint32_t ring, uint64_t f, uint64_t n, int64_t a,
		   int64_t b, int reason)
{
	(void)c, (void)ring, (void)f, (void)a, (void)b, (void)reason;
	nlost += (long)n;
	return 0;
}

static const ut_sink_t sink = {NULL, ev_cb, lost_cb};

/* A sink that writes (heal_size) into the size field at (heal_at) in the
 * live ring after the first event: the drain's copy had the old bytes. */
static uint8_t *heal_at;
static uint16_t heal_size;

static int heal_cb(void *c, uint32_t ring, const ut_event_t *ev)
{
	if (heal_at) {
		memcpy(heal_at + 2, &heal_size, 2);
		heal_at = NULL;
	}
	return ev_cb(c, ring, ev);
}

static const ut_sink_t heal_sink = {NULL, heal_cb, lost_cb};

static void hex16(char *out, const uint8_t *p)
{
	for (int k = 0; k < 16; k++)
		snprintf(out + 2 * k, 3, "%02x", p[k]);
}

static struct ut_area_hdr *H(void)
{
	return (struct ut_area_hdr *)work;
}

static struct ut_ring_hdr *RH(uint32_t i)
{
	return (struct ut_ring_hdr *)(work + H()->ring_hdr_off) + i;
}

static struct ut_schema_entry *SE(uint32_t i)
{
	return (struct ut_schema_entry *)(work + H()->schema_off) + i;
}

/* The schema entry of net_rx (section order is the linker's). */
static struct ut_schema_entry *RX(void)
{
	for (uint32_t i = 0; i < H()->schema_count; i++)
		if (!strcmp(SE(i)->name, "net_rx"))
			return SE(i);
	return SE(0);
}

static uint8_t *REC(uint32_t ring, uint64_t pos)
{
	return work + RH(ring)->data_off + (pos & (RH(ring)->data_size - 1));
}

static void fresh(void)
{
	memcpy(work, pristine, area_bytes);
	ut_reader_free(&rd);
	nev = nlost = 0;
}

/* Attach, parse the schema and drain ring 0 of the work copy.  Returns the
 * first negative result, or the number of events. */
static long read_all(void)
{
	int rc = ut_reader_attach(&rd, work, area_bytes);
	if (rc)
		return rc;
	if ((rc = ut_reader_schema(&rd)))
		return rc;
	long total = 0;
	for (uint32_t i = 0; i < rd.nr_rings; i++) {
		long n;
		while ((n = ut_reader_drain(&rd, i, &sink, UINT64_MAX)) > 0)
			total += n;
		if (n < 0)
			return n;
	}
	return total;
}

#define EXPECT_FAIL(what, needle) \
	do { \
		long rc_ = read_all(); \
		ok(rc_ == -1 && strstr(rd.err, needle), "%s -> error '%s'", what, \
		   rd.err); \
	} while (0)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

int main(void)
{
	{
		/* the tick counter may wrap: a Xen guest's TSC can start just
		 * below 2^64 (seen in the rig) */
		static ut_reader_t rclk;
		rclk.hdr.clock_mult = 1;
		rclk.hdr.clock_shift = 0;
		rclk.hdr.clock_ns_ref = 1000000000;
		rclk.hdr.clock_ticks_ref = UINT64_MAX - 528889094; /* -528889095 */
		is_int(ut_reader_ns(&rclk, 1000), 1000000000 + 528889095 + 1000,
		       "ticks past a 64-bit wrap convert forwards");
		is_int(ut_reader_ns(&rclk, UINT64_MAX - 528889094 - 5), 1000000000 - 5,
		       "ticks just before the reference: 5 ns earlier");
		rclk.hdr.clock_ticks_ref = 100;
		is_int(ut_reader_ns(&rclk, 50), 1000000000 - 50, "no wrap: as before");
	}

	ut_config_t cfg = {.name = "hostile", .nr_rings = 2,
			   .ring_size = UT_MIN_RING_SIZE};
	if (ut_init(&cfg) != 0)
		return 1;
	ut_set_vcpu(0);
	ut_net_rx(100, "eth0");
	ut_req_begin(1);
	ut_net_rx(200, "eth1");
	ut_req_end();
	area_bytes = ut_test_area_bytes;
	pristine = malloc(area_bytes);
	work = malloc(area_bytes);
	memcpy(pristine, ut_test_area, area_bytes);

	fresh();
	is_int(read_all(), 4, "pristine copy reads 4 events");

	/* ---- header ---- */
	fresh(); H()->magic = 0x12345678;
	EXPECT_FAIL("bad magic", "bad magic");
	fresh(); H()->magic = __builtin_bswap32(UT_MAGIC);
	EXPECT_FAIL("swapped magic", "byte order");
	fresh(); H()->byte_order = 0x04030201;
	EXPECT_FAIL("byte-order mark", "byte-order");
	fresh(); H()->abi_version = UT_ABI_VERSION + 1;
	EXPECT_FAIL("newer ABI", "ABI version");
	fresh(); H()->area_size = area_bytes * 2;
	EXPECT_FAIL("area larger than the mapping", "mapped");
	fresh(); H()->nr_rings = 0;
	EXPECT_FAIL("zero rings", "ring count");
	fresh(); H()->nr_rings = 65;
	EXPECT_FAIL("65 rings", "ring count");
	fresh(); H()->nr_rings = 1000000;
	EXPECT_FAIL("a million rings", "ring count");
	fresh(); RH(1)->data_off = RH(0)->data_off;
	EXPECT_FAIL("two rings share data", "overlaps");
	fresh(); RH(1)->data_off = area_bytes;
	EXPECT_FAIL("ring data past the end", "outside");
	fresh(); RH(0)->data_off = UINT64_MAX - 4095;
	EXPECT_FAIL("ring offset that overflows", "outside");
	fresh(); RH(0)->data_size = 3 * 8192;
	EXPECT_FAIL("ring size not a power of two", "invalid data area");
	fresh(); RH(0)->vcpu = RH(1)->vcpu;
	EXPECT_FAIL("duplicate vCPU", "both claim");
	fresh(); H()->schema_cap = 0xffff;
	EXPECT_FAIL("schema region past the end", "outside");
	fresh(); H()->ring_hdr_off = 0;
	EXPECT_FAIL("ring headers over the header", "ring header");
	fresh(); H()->clock_mult = UINT64_MAX;
	EXPECT_FAIL("absurd clock", "clock");
	fresh(); H()->build_id_len = 1000;
	EXPECT_FAIL("build id length", "build id");
	fresh(); H()->state = UT_STATE_INIT;
	is_int(read_all(), 1, "state INIT: attach says try later");
	{
		fresh();
		int rc = ut_reader_attach(&rd, work, 100);
		ok(rc == -1 && strstr(rd.err, "smaller"), "area smaller than a header");
	}

	/* ---- schema ---- */
	fresh(); SE(1)->kind = 9;
	EXPECT_FAIL("event kind 9", "kind");
	fresh(); SE(1)->nfields = 200;
	EXPECT_FAIL("200 fields", "fields");
	fresh(); RX()->fields[0].type = 0;
	EXPECT_FAIL("field type 0", "type");
	fresh(); memcpy(SE(1)->name, "x\"; DROP TABLE events;--", 25);
	EXPECT_FAIL("SQL in an event name", "invalid name");
	fresh(); memset(SE(1)->name, 'A', sizeof(SE(1)->name));
	{
		long rc = read_all();
		ok(rc == 4 && strlen(rd.types[1].name) == UT_EVENT_NAME_LEN,
		   "unterminated 40-byte name is bounded (%ld)", rc);
	}
	fresh(); memcpy(RX()->fields[1].name, "len", 4);
	EXPECT_FAIL("duplicate field names", "two fields");
	fresh(); RX()->fields[1].max_len = 60000;
	EXPECT_FAIL("string max_len too large", "too large");
	fresh(); SE(2)->id = 77;
	EXPECT_FAIL("schema id out of order", "expected");
	fresh(); H()->schema_count = H()->schema_cap + 1;
	EXPECT_FAIL("schema count above capacity", "exceeds");

	/* ---- records ---- */
	struct ut_event_hdr *e0 = (struct ut_event_hdr *)REC(0, 0);
	(void)e0;
#define E0 ((struct ut_event_hdr *)REC(0, 0))
	fresh(); E0->size = 0;
	EXPECT_FAIL("record size 0", "invalid size");
	fresh(); E0->size = 5000;
	EXPECT_FAIL("record size 5000", "invalid size");
	fresh(); E0->size = 27;
	EXPECT_FAIL("unaligned record size", "invalid size");
	/* The reason shows the header as copied and as the ring holds it
	 * when the reader reports: a record whose bytes were not visible
	 * yet when head was (size 0 in the copy, valid now) is told apart
	 * from one the guest never wrote. */
	fresh();
	{
		uint64_t p1 = E0->size;
		uint8_t *e1 = REC(0, p1);
		char copied[33], now[33], want[160];
		memcpy(&heal_size, e1 + 2, 2);
		memset(e1 + 2, 0, 2);
		hex16(copied, e1);
		heal_at = e1;
		long rc = ut_reader_attach(&rd, work, area_bytes);
		if (!rc)
			rc = ut_reader_schema(&rd);
		if (!rc)
			rc = ut_reader_drain(&rd, 0, &heal_sink, UINT64_MAX);
		hex16(now, e1);
		snprintf(want, sizeof(want), "record at position %llu has invalid "
			 "size 0 [copied 0+%llu of head %llu oldest 0: %s; ring now %s,",
			 (unsigned long long)p1,
			 (unsigned long long)RH(0)->head,
			 (unsigned long long)RH(0)->head, copied, now);
		ok(rc == -1 && strcmp(copied, now) && strstr(rd.err, want),
		   "a record healed after the copy: the reason shows both (%s)",
		   rd.err);
		heal_at = NULL;
	}
	fresh(); E0->id = 0;
	EXPECT_FAIL("event id 0", "unknown event id");
	fresh(); E0->id = 999;
	EXPECT_FAIL("event id 999", "unknown event id");
	fresh(); ((struct ut_event_hdr *)REC(0, E0->size))->seq = 0;
	EXPECT_FAIL("sequence going back", "went back");
	fresh(); memcpy(REC(0, 24 + 4), &(uint16_t){17}, 2);
	EXPECT_FAIL("string longer than max_len", "exceeds max");
	fresh(); memcpy(REC(0, 24 + 4), &(uint16_t){12}, 2);
	EXPECT_FAIL("string running past the record", "truncated");
	fresh(); E0->size = 24;
	EXPECT_FAIL("record too short for its fields", "truncated");
	fresh(); E0->size = (uint16_t)(E0->size + 16);
	{
		long rc = read_all();
		ok(rc == -1 && (strstr(rd.err, "unexplained") || strstr(rd.err, "past")),
		   "record longer than its fields -> '%s'", rd.err);
	}
	fresh(); RH(0)->head += 4;
	EXPECT_FAIL("unaligned head", "head");
	fresh(); RH(0)->head = RH(0)->head + 8;
	EXPECT_FAIL("head past the last record", "stray bytes");
	fresh(); RH(0)->head += RH(0)->data_size * 4;
	EXPECT_FAIL("head far beyond the ring", "unread bytes");
	fresh(); RH(0)->oldest = RH(0)->head + 8;
	EXPECT_FAIL("oldest beyond head", "oldest");
	fresh(); RH(0)->tail = 12345; /* our own field, scribbled: ignored */
	is_int(read_all(), 4, "garbage in the collector's own tail is ignored");

	/* Head moving backwards between two drains. */
	fresh();
	is_int(read_all(), 4, "read once");
	RH(0)->head = 8;
	{
		long n = ut_reader_drain(&rd, 0, &sink, UINT64_MAX);
		ok(n == -1 && strstr(rd.err, "head"), "head moving back -> '%s'", rd.err);
	}

	/* ---- random mutations: no crash, no hang ---- */
	{
		int errors = 0, clean = 0;
		size_t hot[] = {0, H()->schema_off, H()->ring_hdr_off,
				RH(0)->data_off};
		size_t span[] = {512, 3 * UT_SCHEMA_ENTRY_SIZE, 2 * UT_RING_HDR_SIZE,
				 256};
		for (int it = 0; it < 20000; it++) {
			fresh();
			int flips = 1 + (int)(rnd() % 4);
			for (int f = 0; f < flips; f++) {
				int w = (int)(rnd() % 4);
				size_t at = hot[w] + rnd() % span[w];
				work[at] = (uint8_t)rnd();
			}
			long rc = read_all();
			if (rc < 0 && rc != -1)
				errors += 100000; /* -2 never without a sink error */
			else if (rc == -1 || rc == 1)
				errors++;
			else
				clean++;
		}
		ok(errors < 20000 * 100, "20000 random mutations: %d rejected, %d "
		   "read cleanly, none crashed", errors, clean);
	}

	ut_reader_free(&rd);
	free(work);
	free(pristine);
	return tap_done();
}
