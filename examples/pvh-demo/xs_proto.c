/*
 * Xenstore wire protocol: encoding, decoding, ring arithmetic.  No
 * hypercalls and no libc: the unikernel's xenstore client (xen.c) and the
 * host unit test (tests/unit/test_xs_proto.c) both build it.
 */
#include "xs_proto.h"

static size_t xs_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static void xs_copy(uint8_t *dst, const void *src, size_t n)
{
	const uint8_t *s = src;

	for (size_t i = 0; i < n; i++)
		dst[i] = s[i];
}

static int xs_streq(const uint8_t *a, size_t alen, const char *b)
{
	size_t n = xs_strlen(b);

	if (alen != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (a[i] != (uint8_t)b[i])
			return 0;
	return 1;
}

int xs_encode(uint8_t *buf, size_t cap, uint32_t type, uint32_t req_id,
	      const char *path, const char *value)
{
	/* XS_WATCH: "path\0token\0", both strings terminated */
	size_t vlen = value ? xs_strlen(value) + (type == XS_WATCH) : 0;

	return xs_encode_raw(buf, cap, type, req_id, path, value, vlen);
}

int xs_encode_raw(uint8_t *buf, size_t cap, uint32_t type, uint32_t req_id,
		  const char *path, const void *value, size_t vlen)
{
	struct xs_msg_hdr h;
	size_t plen = xs_strlen(path) + 1;
	size_t len = plen + vlen;

	if (plen == 1 || len > XS_PAYLOAD_MAX || XS_HDR_SIZE + len > cap)
		return -1;
	h.type = type;
	h.req_id = req_id;
	h.tx_id = 0;
	h.len = (uint32_t)len;
	xs_copy(buf, &h, XS_HDR_SIZE);
	xs_copy(buf + XS_HDR_SIZE, path, plen); /* with its NUL */
	if (vlen)
		xs_copy(buf + XS_HDR_SIZE + plen, value, vlen);
	return (int)(XS_HDR_SIZE + len);
}

/* Append (c) then the decimal form of (v) and a NUL at buf[*len]. */
static int xs_put_perm(char *buf, size_t cap, size_t *len, char c, uint16_t v)
{
	char tmp[5];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (*len + 1 + (size_t)n + 1 > cap)
		return -1;
	buf[(*len)++] = c;
	while (n)
		buf[(*len)++] = tmp[--n];
	buf[(*len)++] = 0;
	return 0;
}

int xs_perms_owner_reader(char *buf, size_t cap, uint16_t owner,
			  uint16_t reader)
{
	size_t len = 0;

	if (xs_put_perm(buf, cap, &len, 'n', owner) ||
	    xs_put_perm(buf, cap, &len, 'r', reader))
		return -1;
	return (int)len;
}

int xs_decode_hdr(const uint8_t *buf, struct xs_msg_hdr *h)
{
	xs_copy((uint8_t *)h, buf, XS_HDR_SIZE);
	return h->len > XS_PAYLOAD_MAX ? -1 : 0;
}

int xs_decode_reply(const struct xs_msg_hdr *h, const uint8_t *payload,
		    uint32_t want_type, uint32_t want_id, char *out,
		    size_t cap, uint32_t *len)
{
	uint32_t n = h->len;

	if (h->len > XS_PAYLOAD_MAX)
		return XS_R_BAD;
	if (h->type == XS_WATCH_EVENT || h->req_id != want_id)
		return XS_R_SKIP;
	if (h->type == XS_ERROR) {
		/* "ENOENT\0": the name without its NUL, cut to fit. */
		while (n && payload[n - 1] == 0)
			n--;
		if (out && cap) {
			if (n > cap - 1)
				n = (uint32_t)(cap - 1);
			xs_copy((uint8_t *)out, payload, n);
			out[n] = 0;
		}
		return XS_R_ERROR;
	}
	if (h->type != want_type)
		return XS_R_BAD;
	if (want_type == XS_WRITE || want_type == XS_MKDIR ||
	    want_type == XS_SET_PERMS) {
		/* "OK\0" */
		while (n && payload[n - 1] == 0)
			n--;
		if (!xs_streq(payload, n, "OK"))
			return XS_R_BAD;
	}
	if (out) {
		if ((size_t)n + 1 > cap)
			return XS_R_BAD;
		xs_copy((uint8_t *)out, payload, n);
		out[n] = 0;
	}
	if (len)
		*len = n;
	return XS_R_OK;
}

uint32_t xs_ring_free(uint32_t cons, uint32_t prod)
{
	uint32_t used = prod - cons;

	return used > XS_RING_SIZE ? 0 : XS_RING_SIZE - used;
}

uint32_t xs_ring_avail(uint32_t cons, uint32_t prod)
{
	uint32_t used = prod - cons;

	return used > XS_RING_SIZE ? 0 : used;
}

void xs_ring_put(char *ring, uint32_t prod, const uint8_t *src, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		ring[(prod + i) & (XS_RING_SIZE - 1)] = (char)src[i];
}

void xs_ring_get(const char *ring, uint32_t cons, uint8_t *dst, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		dst[i] = (uint8_t)ring[(cons + i) & (XS_RING_SIZE - 1)];
}
