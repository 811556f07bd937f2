/*
 * The guest side of the control protocol (formats/ut_ctl.h): ut_ctl_frame
 * and ut_ctl_handle on the unmodified guest core, through the test port.
 * Every op, every refusal, paging, the effect of a request on what the
 * rings record, and a few thousand random requests (the handler must
 * answer each with a well-formed response and never write past its
 * buffer).
 */
#include <stdlib.h>
#include <string.h>

#include "port_test.h"
#include "tap.h"
#include "trace.h"
#include "ut_ctl.h"
#include "ut_port.h"

UT_INSTANT(net_rx, UT_U32(len))
UT_INSTANT(net_tx, UT_U32(len))
UT_SPAN(request, UT_U64(id))
UT_INSTANT0(tick)

#define CAP (UT_CTL_HDR_SIZE + UT_CTL_MAX_RSP)

static uint8_t out[CAP + 64]; /* guard bytes after the response buffer */
static struct ut_ctl_msg rsp;
static const uint8_t *payload = out + UT_CTL_HDR_SIZE;
static uint32_t next_seq = 100;

/* Send (op, arg, p/len) through the handler; the response header in rsp. */
static uint32_t req(uint16_t op, uint32_t arg, const void *p, uint32_t len)
{
	uint8_t m[UT_CTL_HDR_SIZE + UT_CTL_MAX_REQ + 16];
	struct ut_ctl_msg q = {.magic = UT_CTL_MAGIC, .op = op, .seq = next_seq++,
			       .arg = arg, .len = len};
	uint32_t n;

	memcpy(m, &q, sizeof(q));
	if (len)
		memcpy(m + sizeof(q), p, len);
	n = ut_ctl_handle(m, UT_CTL_HDR_SIZE + len, out, CAP);
	memcpy(&rsp, out, sizeof(rsp));
	return n;
}

static const struct ut_ctl_event *event_named(const char *name)
{
	static struct ut_ctl_event e;

	req(UT_CTL_EVENTS, 0, NULL, 0);
	for (uint32_t i = 0; i < rsp.len / sizeof(e); i++) {
		memcpy(&e, payload + i * sizeof(e), sizeof(e));
		if (!strncmp(e.name, name, sizeof(e.name)))
			return &e;
	}
	return NULL;
}

static struct ut_ctl_ring ring_state(uint32_t i)
{
	struct ut_ctl_ring r = {0};

	req(UT_CTL_RINGS, i, NULL, 0);
	if (rsp.len >= sizeof(r))
		memcpy(&r, payload, sizeof(r));
	return r;
}

int main(void)
{
	struct ut_ctl_info info;
	uint32_t n, total;

	/* ---- before ut_init ---- */
	n = req(UT_CTL_HELLO, 0, NULL, 0);
	ok(n == UT_CTL_HDR_SIZE && rsp.status == UT_CTL_ENOTREADY,
	   "before ut_init: HELLO answered 'not ready'");

	ut_config_t cfg = {.name = "ctl-test", .nr_rings = 4,
			   .ring_size = UT_MIN_RING_SIZE};
	is_int(ut_init(&cfg), 0, "ut_init");

	/* ---- HELLO ---- */
	n = req(UT_CTL_HELLO, 0, NULL, 0);
	memcpy(&info, payload, sizeof(info));
	ok(rsp.status == UT_CTL_OK && rsp.len == sizeof(info) &&
	   n == UT_CTL_HDR_SIZE + sizeof(info), "HELLO: ok, an info payload");
	ok(rsp.magic == UT_CTL_MAGIC && rsp.op == UT_CTL_HELLO &&
	   rsp.seq == next_seq - 1, "the response echoes op and seq");
	ok(!strcmp(info.name, "ctl-test") && info.nr_rings == 4 &&
	   info.abi_version == UT_ABI_VERSION, "HELLO: name, rings, ABI");
	/* log, net_rx, net_tx, request's begin and end, tick */
	is_int(info.nr_events, 6, "HELLO: 6 event types");

	/* ---- EVENTS ---- */
	req(UT_CTL_EVENTS, 0, NULL, 0);
	total = rsp.arg;
	is_int(total, 6, "EVENTS: total in arg");
	is_int(rsp.len, 6 * sizeof(struct ut_ctl_event), "EVENTS: all fit in one answer");
	ok(event_named("log") && event_named("net_rx") && event_named("request") &&
	   event_named("tick"), "EVENTS: every type listed by name");
	ok(event_named("net_rx")->enabled && event_named("net_rx")->kind == UT_KIND_INSTANT,
	   "EVENTS: net_rx enabled, an instant");
	req(UT_CTL_EVENTS, 5, NULL, 0);
	is_int(rsp.len, sizeof(struct ut_ctl_event), "EVENTS from index 5: one entry");
	req(UT_CTL_EVENTS, 6, NULL, 0);
	ok(rsp.status == UT_CTL_OK && rsp.len == 0, "EVENTS past the end: empty");
	req(UT_CTL_EVENTS, 0xffffffffu, NULL, 0);
	ok(rsp.status == UT_CTL_OK && rsp.len == 0, "EVENTS from index 2^32-1: empty");
	{
		uint8_t small[UT_CTL_HDR_SIZE + 50];
		struct ut_ctl_msg q = {.magic = UT_CTL_MAGIC, .op = UT_CTL_EVENTS};
		struct ut_ctl_msg r;
		memcpy(small, &q, sizeof(q));
		n = ut_ctl_handle(small, UT_CTL_HDR_SIZE, small, sizeof(small));
		memcpy(&r, small, sizeof(r));
		ok(n == UT_CTL_HDR_SIZE + sizeof(struct ut_ctl_event) &&
		   r.len == sizeof(struct ut_ctl_event),
		   "EVENTS into a small buffer: as many entries as fit (1)");
		is_int(ut_ctl_handle(small, UT_CTL_HDR_SIZE, small, 10), 0,
		       "a buffer below the header size: nothing written");
	}

	/* ---- ENABLE ---- */
	req(UT_CTL_ENABLE, 0, "net_rx", 6);
	ok(rsp.status == UT_CTL_OK && rsp.arg == 1, "disable net_rx: 1 type");
	ok(!event_named("net_rx")->enabled && event_named("net_tx")->enabled,
	   "net_rx disabled, net_tx untouched");
	ut_set_vcpu(0);
	{
		uint64_t head = ut_test_area ? ((struct ut_ring_hdr *)((uint8_t *)ut_test_area +
				ut_test_area->ring_hdr_off))->head : 0;
		ut_net_rx(1500);
		uint64_t head2 = ((struct ut_ring_hdr *)((uint8_t *)ut_test_area +
				ut_test_area->ring_hdr_off))->head;
		is_int(head2, head, "a disabled type records nothing");
		ut_net_tx(1500);
		head2 = ((struct ut_ring_hdr *)((uint8_t *)ut_test_area +
				ut_test_area->ring_hdr_off))->head;
		ok(head2 > head, "an enabled type still records");
	}
	req(UT_CTL_ENABLE, 1, "net_rx", 6);
	ok(rsp.status == UT_CTL_OK && event_named("net_rx")->enabled, "enable net_rx again");
	req(UT_CTL_ENABLE, 0, NULL, 0);
	ok(rsp.status == UT_CTL_OK && rsp.arg == total, "disable all: every type (%u)", rsp.arg);
	ok(!event_named("log")->enabled && !event_named("tick")->enabled, "log and tick off");
	req(UT_CTL_ENABLE, 1, NULL, 0);
	ok(rsp.arg == total && event_named("tick")->enabled, "enable all");
	req(UT_CTL_ENABLE, 0, "no_such", 7);
	is_int(rsp.status, UT_CTL_ENOENT, "unknown name: ENOENT");
	req(UT_CTL_ENABLE, 0, "net", 3);
	is_int(rsp.status, UT_CTL_ENOENT, "a prefix is not a name");
	req(UT_CTL_ENABLE, 0, "net_rx\0zz", 9);
	is_int(rsp.status, UT_CTL_ENOENT, "a name with a NUL inside: refused");
	{
		char lng[UT_EVENT_NAME_LEN + 8];
		memset(lng, 'a', sizeof(lng));
		req(UT_CTL_ENABLE, 0, lng, sizeof(lng));
		is_int(rsp.status, UT_CTL_ENOENT, "a name longer than any type: refused");
	}
	req(UT_CTL_ENABLE, 7, "net_rx", 6);
	is_int(rsp.status, UT_CTL_EINVAL, "enable with arg 7: EINVAL");
	ok(event_named("net_rx")->enabled, "...and nothing changed");

	/* ---- SET_MODE and RINGS ---- */
	uint32_t m = UT_MODE_OVERWRITE;
	req(UT_CTL_SET_MODE, 1, &m, 2);
	is_int(rsp.status, UT_CTL_EBADMSG, "SET_MODE with a 2-byte payload: EBADMSG");
	uint32_t bad = 7;
	req(UT_CTL_SET_MODE, 1, &bad, 4);
	is_int(rsp.status, UT_CTL_EINVAL, "mode 7: EINVAL");
	req(UT_CTL_SET_MODE, 4, &m, 4);
	is_int(rsp.status, UT_CTL_ENOENT, "ring 4 of 4: ENOENT");
	req(UT_CTL_SET_MODE, 1, &m, 4);
	ok(rsp.status == UT_CTL_OK && rsp.arg == 1, "ring 1 to overwrite: requested");
	struct ut_ctl_ring r1 = ring_state(1);
	ok(r1.ring == 1 && r1.mode == UT_MODE_DISCARD && r1.req_mode == UT_MODE_OVERWRITE,
	   "RINGS: ring 1 still discard, overwrite pending");
	ut_set_vcpu(1);
	for (int i = 0; i < 600; i++)
		ut_tick();
	r1 = ring_state(1);
	ok(r1.mode == UT_MODE_OVERWRITE && r1.req_mode == UT_REQ_NONE,
	   "after 600 events on ring 1 the switch is applied");
	ok(r1.emitted >= 600, "RINGS: emitted counts them (%llu)",
	   (unsigned long long)r1.emitted);
	is_int(ring_state(0).mode, UT_MODE_DISCARD, "ring 0 untouched");
	m = UT_MODE_DISCARD;
	req(UT_CTL_SET_MODE, UT_CTL_ALL_RINGS, &m, 4);
	ok(rsp.status == UT_CTL_OK && rsp.arg == 4, "every ring to discard: 4 rings");
	req(UT_CTL_RINGS, 0, NULL, 0);
	ok(rsp.arg == 4 && rsp.len == 4 * sizeof(struct ut_ctl_ring), "RINGS: 4 entries");
	req(UT_CTL_RINGS, 3, NULL, 0);
	ok(rsp.len == sizeof(struct ut_ctl_ring) && ring_state(3).ring == 3,
	   "RINGS from ring 3: one entry");

	/* ---- framing and malformed requests ---- */
	{
		struct ut_ctl_msg q = {.magic = UT_CTL_MAGIC, .len = 10};
		is_int(ut_ctl_frame(&q), UT_CTL_HDR_SIZE + 10, "frame: header + payload");
		q.len = UT_CTL_MAX_REQ + 1;
		is_int(ut_ctl_frame(&q), -1, "frame: payload too long");
		q.len = 0;
		q.magic = 0x12345678;
		is_int(ut_ctl_frame(&q), -1, "frame: bad magic");

		uint8_t m2[UT_CTL_HDR_SIZE];
		q.magic = UT_CTL_MAGIC;
		q.op = UT_CTL_HELLO;
		q.len = 10; /* says 10 more bytes, none given */
		memcpy(m2, &q, sizeof(q));
		n = ut_ctl_handle(m2, sizeof(m2), out, CAP);
		memcpy(&rsp, out, sizeof(rsp));
		ok(n == UT_CTL_HDR_SIZE && rsp.status == UT_CTL_EBADMSG,
		   "length disagreeing with the header: EBADMSG");
		n = ut_ctl_handle(m2, 7, out, CAP);
		memcpy(&rsp, out, sizeof(rsp));
		ok(n == UT_CTL_HDR_SIZE && rsp.status == UT_CTL_EBADMSG &&
		   rsp.magic == UT_CTL_MAGIC, "a 7-byte message: EBADMSG");
	}
	req(99, 0, NULL, 0);
	is_int(rsp.status, UT_CTL_EOP, "unknown op: EOP");

	/* ---- random requests ---- */
	{
		unsigned seed = 12345;
		int bad_rsp = 0;
		uint8_t m3[UT_CTL_HDR_SIZE + UT_CTL_MAX_REQ];
		for (int i = 0; i < 20000; i++) {
			uint32_t len = (uint32_t)rand_r(&seed) % sizeof(m3);
			for (uint32_t j = 0; j < len; j++)
				m3[j] = (uint8_t)rand_r(&seed);
			if (len >= UT_CTL_HDR_SIZE && (rand_r(&seed) & 1)) {
				struct ut_ctl_msg q;
				memcpy(&q, m3, sizeof(q));
				q.magic = UT_CTL_MAGIC;
				q.op = (uint16_t)(rand_r(&seed) % 7);
				q.arg = rand_r(&seed) & 1 ? (uint32_t)rand_r(&seed) % 8 : q.arg;
				q.len = len - UT_CTL_HDR_SIZE;
				if (q.op == UT_CTL_SET_MODE && q.len >= 4)
					q.len = 4, len = UT_CTL_HDR_SIZE + 4;
				if (q.op == UT_CTL_ENABLE)
					q.len = 0, len = UT_CTL_HDR_SIZE;
				memcpy(m3, &q, sizeof(q));
			}
			memset(out + CAP, 0xa5, 64);
			n = ut_ctl_handle(m3, len, out, CAP);
			memcpy(&rsp, out, sizeof(rsp));
			bool guard = true;
			for (int g = 0; g < 64; g++)
				guard = guard && out[CAP + g] == 0xa5;
			if (n < UT_CTL_HDR_SIZE || n > CAP || rsp.magic != UT_CTL_MAGIC ||
			    rsp.len != n - UT_CTL_HDR_SIZE || !guard)
				bad_rsp++;
		}
		is_int(bad_rsp, 0, "20000 random requests: every answer well formed, "
		       "nothing written past the buffer");
	}
	/* the random requests may have disabled types or switched modes */
	req(UT_CTL_ENABLE, 1, NULL, 0);
	ok(rsp.status == UT_CTL_OK, "still serving after them");

	ut_shutdown();
	n = req(UT_CTL_HELLO, 0, NULL, 0);
	is_int(rsp.status, UT_CTL_ENOTREADY, "after ut_shutdown: not ready");
	return tap_done();
}
