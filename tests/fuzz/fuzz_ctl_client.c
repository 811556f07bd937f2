/*
 * libFuzzer target: control responses as `unitrace ctl` parses them
 * (collector/cli/cmd_ctl.c through ut_ctl_act, with a fake channel in
 * place of the socket or vchan).  A real guest core (test port) answers
 * each request; the input then mutates the answers before the client
 * reads them:
 *
 *   [u8 action] [u8 ring], then per response read: [u8 f] and
 *     f & 0x80: the whole answer replaced by [u16 len] [len bytes]
 *               (f & 0x40: seq and op still echoed, as a guest would);
 *     else:     (f & 7) patches [u8 off] [u8 len] [len bytes] over it,
 *               f & 0x08: cut to (next byte) bytes,
 *               f & 0x10: a stale answer (another seq) sent before it.
 *
 * When the input runs out the answers pass unchanged; when they run out
 * the channel reports the guest gone.  The action is show, mode
 * discard|overwrite [--ring], enable or disable of a name or all.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctl_chan.h"
#include "port_test.h"
#include "trace.h"
#include "ut_ctl.h"
#include "ut_port.h"

UT_INSTANT(fzl_one, UT_U32(a))
UT_COUNTER(fzl_count, UT_U64(v))
UT_SPAN(fzl_span, UT_U8(x))

typedef struct {
	ut_ctl_chan_t c;
	const uint8_t *in;
	size_t in_left;
	uint8_t q[UT_CTL_HDR_SIZE + UT_CTL_MAX_REQ];
	uint8_t out[4 * (UT_CTL_HDR_SIZE + UT_CTL_MAX_RSP) + 65536];
	size_t out_len, out_pos;
} fake_t;

static int take(fake_t *f, void *dst, size_t n)
{
	if (f->in_left < n)
		return -1;
	memcpy(dst, f->in, n);
	f->in += n, f->in_left -= n;
	return 0;
}

/* Queue (p, n) for the client to read. */
static void queue(fake_t *f, const void *p, size_t n)
{
	if (n > sizeof(f->out) - f->out_len)
		n = sizeof(f->out) - f->out_len;
	memcpy(f->out + f->out_len, p, n);
	f->out_len += n;
}

static int fake_send(ut_ctl_chan_t *c, const void *buf, size_t n, int64_t dl)
{
	fake_t *f = (fake_t *)c;
	uint8_t rsp[UT_CTL_HDR_SIZE + UT_CTL_MAX_RSP];
	struct ut_ctl_msg q, h;
	uint8_t fl;

	(void)dl;
	if (n > sizeof(f->q) || n < UT_CTL_HDR_SIZE)
		abort(); /* the client never sends that */
	memcpy(f->q, buf, n);
	memcpy(&q, buf, sizeof(q));
	uint32_t len = ut_ctl_handle(f->q, (uint32_t)n, rsp, sizeof(rsp));
	f->out_len = f->out_pos = 0;
	if (take(f, &fl, 1)) {
		queue(f, rsp, len);
		return 0;
	}
	if (fl & 0x80) {
		uint16_t l;
		uint8_t raw[65536];
		if (take(f, &l, 2))
			l = 0;
		if (l > f->in_left)
			l = (uint16_t)f->in_left;
		take(f, raw, l);
		if ((fl & 0x40) && l >= UT_CTL_HDR_SIZE) {
			memcpy(&h, raw, sizeof(h));
			h.seq = q.seq, h.op = q.op;
			memcpy(raw, &h, sizeof(h));
		}
		queue(f, raw, l);
		return 0;
	}
	if (fl & 0x10) {
		memcpy(&h, rsp, sizeof(h));
		h.seq = q.seq + 1;
		h.len = 0;
		queue(f, &h, sizeof(h));
	}
	for (int i = 0; i < (fl & 7); i++) {
		uint8_t off, l, b[255];
		if (take(f, &off, 1) || take(f, &l, 1))
			break;
		if (l > f->in_left)
			l = (uint8_t)f->in_left;
		take(f, b, l);
		size_t o = off % len;
		memcpy(rsp + o, b, l < len - o ? l : len - o);
	}
	if (fl & 0x08) {
		uint8_t cut;
		if (!take(f, &cut, 1) && cut < len)
			len = cut;
	}
	queue(f, rsp, len);
	return 0;
}

static int fake_recv(ut_ctl_chan_t *c, void *buf, size_t n, int64_t dl)
{
	fake_t *f = (fake_t *)c;

	(void)dl;
	if (n > f->out_len - f->out_pos) {
		snprintf(c->err, sizeof(c->err), "%s: connection closed",
			 c->label);
		return -1;
	}
	memcpy(buf, f->out + f->out_pos, n);
	f->out_pos += n;
	return 0;
}

static void fake_close(ut_ctl_chan_t *c)
{
	(void)c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fake_t *f;
	static char m_discard[] = "discard", m_over[] = "overwrite",
		    n_one[] = "fzl_one", n_all[] = "all", n_none[] = "nope",
		    n_span[] = "fzl_span";
	char *mode[1], *names[3];
	const char *action;
	int nargs = 1;
	long ring = -1;

	if (!f) {
		ut_config_t cfg = {.name = "fuzz-ctl", .nr_rings = 4,
				   .ring_size = UT_MIN_RING_SIZE};
		if (ut_init(&cfg) != 0 || !(f = calloc(1, sizeof(*f))))
			abort();
		for (int i = 0; i < 300; i++)
			ut_fzl_one((uint32_t)i);
	}
	if (size < 2)
		return 0;
	/* the same guest for every input: every type on, rings discarding */
	{
		struct ut_ctl_msg q = {.magic = UT_CTL_MAGIC, .op = UT_CTL_ENABLE,
				       .arg = 1};
		uint8_t rsp[UT_CTL_HDR_SIZE + UT_CTL_MAX_RSP];
		ut_ctl_handle(&q, sizeof(q), rsp, sizeof(rsp));
		ut_set_mode(-1, UT_MODE_DISCARD);
		for (int i = 0; i < 300; i++)
			ut_fzl_one((uint32_t)i);
	}
	f->c.send = fake_send;
	f->c.recv = fake_recv;
	f->c.close = fake_close;
	snprintf(f->c.label, sizeof(f->c.label), "fuzz guest");
	f->in = data + 2;
	f->in_left = size - 2;
	f->out_len = f->out_pos = 0;
	if (data[1] < 8)
		ring = data[1];
	switch (data[0] % 6) {
	case 0:
		action = "show";
		break;
	case 1:
	case 2:
		action = "mode";
		mode[0] = data[0] % 6 == 1 ? m_discard : m_over;
		break;
	default:
		action = data[0] % 6 == 5 ? "disable" : "enable";
		names[0] = data[1] & 1 ? n_all : n_one;
		names[1] = n_none;
		names[2] = n_span;
		nargs = 1 + (data[1] >> 6) % 3;
		break;
	}
	/* the deadline already passed: mode reports at once, no waiting */
	(void)ut_ctl_act(&f->c, ut_now_ms() - 1, action,
			 !strcmp(action, "mode") ? mode : names, nargs, ring);
	ut_fzl_count(1);
	return 0;
}
