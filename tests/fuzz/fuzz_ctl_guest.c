/*
 * libFuzzer target: control requests as the guest core executes them
 * (tracer-guest/ut_trace.c: ut_ctl_frame, ut_ctl_handle; formats/ut_ctl.h).
 * The unmodified core runs on the test port with a few event types.  The
 * input is the byte stream a client sends; it is framed as a port frames
 * it (ut_ctl_frame on each 24-byte header; -1 ends the stream, as a port
 * resets the connection), the first input byte choosing the response
 * buffer's size.  Every response must be well formed: the header's magic,
 * its length equal to what was returned, within the buffer and within
 * UT_CTL_MAX_RSP; an event or two between requests lets a mode switch be
 * applied.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "port_test.h"
#include "trace.h"
#include "ut_ctl.h"
#include "ut_port.h"

UT_INSTANT(fzc_one, UT_U32(a))
UT_INSTANT(fzc_two, UT_STR(s, 16))
UT_SPAN(fzc_span, UT_U8(x))

static void setup(void)
{
	ut_config_t cfg = {.name = "fuzz-ctl", .nr_rings = 3,
			   .ring_size = UT_MIN_RING_SIZE};
	if (ut_init(&cfg) != 0)
		abort();
	ut_set_vcpu(1);
}

/* One request (msg, len) through the core; check the response. */
static void serve(const uint8_t *msg, uint32_t len, uint32_t cap)
{
	uint8_t *in = malloc(len ? len : 1), *out = malloc(cap);
	struct ut_ctl_msg r;

	if (!in || !out)
		abort();
	memcpy(in, msg, len); /* exact size: an overread is an ASan report */
	uint32_t n = ut_ctl_handle(in, len, out, cap);
	if (cap < UT_CTL_HDR_SIZE) {
		if (n != 0)
			abort();
	} else {
		memcpy(&r, out, sizeof(r));
		if (n < UT_CTL_HDR_SIZE || n > cap || r.magic != UT_CTL_MAGIC ||
		    r.len != n - UT_CTL_HDR_SIZE || r.len > UT_CTL_MAX_RSP)
			abort();
	}
	free(in);
	free(out);
}

/* Back to every type enabled, every ring discarding. */
static void reset(void)
{
	struct {
		struct ut_ctl_msg h;
		uint32_t mode;
	} q = {{.magic = UT_CTL_MAGIC, .op = UT_CTL_ENABLE, .arg = 1}, 0};
	serve((const uint8_t *)&q, UT_CTL_HDR_SIZE, 2048);
	q.h.op = UT_CTL_SET_MODE;
	q.h.arg = UT_CTL_ALL_RINGS;
	q.h.len = sizeof(q.mode);
	q.mode = UT_MODE_DISCARD;
	serve((const uint8_t *)&q, sizeof(q), 2048);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	uint32_t cap;

	if (!ready) {
		setup();
		ready = 1;
	}
	reset();
	if (size == 0)
		return 0;
	/* 0..15: below the header; else up to a little over the largest */
	cap = data[0] < 16 ? data[0] : 24 + (uint32_t)(data[0] - 16) * 8;
	data++, size--;
	while (size >= UT_CTL_HDR_SIZE) {
		struct ut_ctl_msg h;
		memcpy(&h, data, sizeof(h));
		int len = ut_ctl_frame(&h);
		if (len < 0)
			break; /* the port resets the stream */
		/* a truncated last message is passed as it is */
		uint32_t take = (size_t)len < size ? (uint32_t)len : (uint32_t)size;
		serve(data, take, cap);
		serve(data, take, UT_CTL_HDR_SIZE + UT_CTL_MAX_RSP);
		data += take, size -= take;
		ut_fzc_one(7);
		ut_fzc_two("x");
		ut_fzc_span_begin(1);
		ut_fzc_span_end();
	}
	return 0;
}
