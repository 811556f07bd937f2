/*
 * The pvh-demo unikernel's xenstore message code, run on the host: request
 * encoding, reply decoding (OK, ERROR, watch events, stray ids, hostile
 * lengths) and the ring copy arithmetic across the wrap.
 */
#include <string.h>

#include "tap.h"
#include "../../examples/pvh-demo/xs_proto.c"

static void test_encode(void)
{
	uint8_t buf[64];
	struct xs_msg_hdr h;
	int n;

	n = xs_encode(buf, sizeof(buf), XS_WRITE, 7, "data/unitrace/state", "ready");
	is_int(n, 16 + 20 + 5, "write: header + \"path\\0value\" (no NUL after the value)");
	memcpy(&h, buf, 16);
	is_int(h.type, XS_WRITE, "write: type 11");
	is_int(h.req_id, 7, "write: request id");
	is_int(h.tx_id, 0, "write: no transaction");
	is_int(h.len, 25, "write: payload length");
	ok(!memcmp(buf + 16, "data/unitrace/state\0ready", 25), "write: payload bytes");

	n = xs_encode(buf, sizeof(buf), XS_READ, 8, "domid", NULL);
	is_int(n, 16 + 6, "read: header + \"path\\0\"");
	ok(!memcmp(buf + 16, "domid", 6), "read: NUL-terminated path");

	n = xs_encode(buf, sizeof(buf), XS_WATCH, 3, "control/shutdown", "w");
	memcpy(&h, buf, 16);
	is_int(h.type, 4, "watch: type 4 (XS_WATCH)");
	is_int(n, 16 + 17 + 2, "watch: header + \"path\\0token\\0\"");
	ok(!memcmp(buf + 16, "control/shutdown\0w\0", 19), "watch: payload bytes, the token NUL-terminated");

	n = xs_encode(buf, sizeof(buf), XS_WRITE, 9, "data/unitrace/state", "");
	is_int(n, 16 + 20, "write of an empty value");

	is_int(xs_encode(buf, 30, XS_READ, 1, "data/unitrace/abi-version", NULL), -1,
	       "a message larger than the buffer is refused");
	is_int(xs_encode(buf, sizeof(buf), XS_READ, 1, "", NULL), -1,
	       "an empty path is refused");

	static char big[5000];
	static uint8_t out[6000];
	memset(big, 'x', sizeof(big) - 1);
	is_int(xs_encode(out, sizeof(out), XS_WRITE, 1, "p", big), -1,
	       "a payload over 4096 bytes is refused");
	big[4094] = 0; /* "p\0" + 4094 = 4096 exactly */
	is_int(xs_encode(out, sizeof(out), XS_WRITE, 1, "p", big), 16 + 4096,
	       "a payload of exactly 4096 bytes is accepted");
}

static struct xs_msg_hdr hdr(uint32_t type, uint32_t id, uint32_t len)
{
	struct xs_msg_hdr h = {type, id, 0, len};
	return h;
}

static void test_decode(void)
{
	char out[16];
	uint32_t len = 99;
	struct xs_msg_hdr h;
	uint8_t raw[16];

	h = hdr(XS_READ, 3, 2);
	is_int(xs_decode_reply(&h, (const uint8_t *)"17", XS_READ, 3, out,
			       sizeof(out), &len), XS_R_OK, "read reply OK");
	ok(!strcmp(out, "17"), "read value NUL-terminated: %s", out);
	is_int(len, 2, "read value length");

	h = hdr(XS_READ, 3, 0);
	is_int(xs_decode_reply(&h, (const uint8_t *)"", XS_READ, 3, out,
			       sizeof(out), &len), XS_R_OK, "empty value");
	is_int(len, 0, "empty value length");

	h = hdr(XS_READ, 3, 16);
	is_int(xs_decode_reply(&h, (const uint8_t *)"0123456789abcdef", XS_READ, 3,
			       out, sizeof(out), &len), XS_R_BAD,
	       "a value that does not fit the buffer is an error, not a cut");

	h = hdr(XS_WRITE, 4, 3);
	is_int(xs_decode_reply(&h, (const uint8_t *)"OK\0", XS_WRITE, 4, NULL, 0,
			       NULL), XS_R_OK, "write reply \"OK\\0\"");
	h = hdr(XS_WRITE, 4, 3);
	is_int(xs_decode_reply(&h, (const uint8_t *)"NO\0", XS_WRITE, 4, NULL, 0,
			       NULL), XS_R_BAD, "write reply that is not OK");

	h = hdr(XS_ERROR, 5, 7);
	is_int(xs_decode_reply(&h, (const uint8_t *)"ENOENT\0", XS_READ, 5, out,
			       sizeof(out), &len), XS_R_ERROR, "error reply");
	ok(!strcmp(out, "ENOENT"), "error name: %s", out);
	h = hdr(XS_ERROR, 5, 7);
	is_int(xs_decode_reply(&h, (const uint8_t *)"EACCES\0", XS_WRITE, 5, out, 4,
			       &len), XS_R_ERROR, "error name cut to a small buffer");
	ok(!strcmp(out, "EAC"), "cut error name: %s", out);

	h = hdr(XS_WATCH_EVENT, 0, 10);
	is_int(xs_decode_reply(&h, (const uint8_t *)"a/b\0token\0", XS_READ, 0, out,
			       sizeof(out), &len), XS_R_SKIP,
	       "watch events are skipped even with a matching id");
	h = hdr(XS_READ, 2, 2);
	is_int(xs_decode_reply(&h, (const uint8_t *)"17", XS_READ, 3, out,
			       sizeof(out), &len), XS_R_SKIP,
	       "a reply to another request is skipped");
	h = hdr(XS_WRITE, 3, 3);
	is_int(xs_decode_reply(&h, (const uint8_t *)"OK\0", XS_READ, 3, out,
			       sizeof(out), &len), XS_R_BAD,
	       "a reply of the wrong type is a protocol error");

	h = hdr(XS_READ, 3, 0x10000);
	memcpy(raw, &h, 16);
	is_int(xs_decode_hdr(raw, &h), -1, "a header claiming 64 KiB is refused");
	is_int(xs_decode_reply(&h, (const uint8_t *)"", XS_READ, 3, out,
			       sizeof(out), &len), XS_R_BAD,
	       "and so is a reply carrying it");
	h = hdr(XS_READ, 3, 4096);
	memcpy(raw, &h, 16);
	is_int(xs_decode_hdr(raw, &h), 0, "a 4096-byte payload is valid");
	is_int(h.len, 4096, "decoded length");
}

/* XS_SET_PERMS: type 14 (11 is XS_WRITE), payload "path\0n<owner>\0r<reader>\0",
 * reply "OK\0" (docs/misc/xenstore.txt in Xen). */
static void test_set_perms(void)
{
	char perms[XS_PERMS_MAX];
	uint8_t buf[96];
	struct xs_msg_hdr h;
	int n, m;

	is_int(XS_SET_PERMS, 14, "XS_SET_PERMS is type 14");
	n = xs_perms_owner_reader(perms, sizeof(perms), 7, 0);
	is_int(n, 6, "perms for owner 7, reader dom0: \"n7\\0r0\\0\"");
	ok(n == 6 && !memcmp(perms, "n7\0r0\0", 6), "... bytes");
	n = xs_perms_owner_reader(perms, sizeof(perms), 65535, 65534);
	is_int(n, 14, "largest domids fit XS_PERMS_MAX");
	ok(n == 14 && !memcmp(perms, "n65535\0r65534\0", 14), "... bytes");
	is_int(xs_perms_owner_reader(perms, 5, 7, 0), -1,
	       "perms that do not fit the buffer are refused");

	n = xs_perms_owner_reader(perms, sizeof(perms), 12, 3);
	m = xs_encode_raw(buf, sizeof(buf), XS_SET_PERMS, 9,
			  "data/unitrace/state", perms, (size_t)n);
	is_int(m, 16 + 20 + 7, "set_perms: header + \"path\\0\" + both perms");
	memcpy(&h, buf, 16);
	is_int(h.type, 14, "set_perms: type");
	is_int(h.len, 27, "set_perms: payload length counts the embedded NULs");
	ok(!memcmp(buf + 16, "data/unitrace/state\0n12\0r3\0", 27),
	   "set_perms: payload bytes");

	h = hdr(XS_SET_PERMS, 9, 3);
	is_int(xs_decode_reply(&h, (const uint8_t *)"OK\0", XS_SET_PERMS, 9, NULL,
			       0, NULL), XS_R_OK, "set_perms reply \"OK\\0\"");
	h = hdr(XS_ERROR, 9, 7);
	is_int(xs_decode_reply(&h, (const uint8_t *)"EACCES\0", XS_SET_PERMS, 9,
			       NULL, 0, NULL), XS_R_ERROR, "set_perms refused: error");
}

static void test_ring(void)
{
	static char ring[XS_RING_SIZE];
	uint8_t msg[100], back[100];

	for (int i = 0; i < 100; i++)
		msg[i] = (uint8_t)(i + 1);
	is_int(xs_ring_free(0, 0), 1024, "empty ring: 1024 free");
	is_int(xs_ring_avail(0, 0), 0, "empty ring: nothing to read");
	is_int(xs_ring_free(5, 1029), 0, "full ring: no space");
	is_int(xs_ring_avail(5, 1029), 1024, "full ring: 1024 to read");
	is_int(xs_ring_free(10, 5), 0, "prod behind cons: hostile, no space");
	is_int(xs_ring_avail(10, 5), 0, "prod behind cons: hostile, nothing");
	is_int(xs_ring_avail(0xfffffff0u, 0x10u), 32,
	       "indices wrapping around 2^32");

	/* A message across the end of the ring. */
	xs_ring_put(ring, 1000, msg, 100);
	ok(ring[1023] == 24 && ring[0] == 25 && ring[75] == 100,
	   "put wraps at 1024");
	memset(back, 0, sizeof(back));
	xs_ring_get(ring, 1000 + 1024 * 7, back, 100);
	ok(!memcmp(back, msg, 100), "get wraps and uses index & 1023");
}

int main(void)
{
	test_encode();
	test_decode();
	test_set_perms();
	test_ring();
	return tap_done();
}
