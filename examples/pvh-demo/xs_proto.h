/*
 * Xenstore wire protocol for the pvh-demo unikernel: message encoding and
 * decoding and the ring copy arithmetic.  Pure code (no hypercalls, no
 * libc), so tests/unit/test_xs_proto.c runs it on the host.
 */
#ifndef PVH_XS_PROTO_H
#define PVH_XS_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Message types (xsd_sockmsg_type). */
#define XS_READ 2u
#define XS_WATCH 4u
#define XS_GET_DOMAIN_PATH 10u
#define XS_WRITE 11u
#define XS_MKDIR 12u
#define XS_SET_PERMS 14u
#define XS_WATCH_EVENT 15u
#define XS_ERROR 16u

#define XS_HDR_SIZE 16u
#define XS_PAYLOAD_MAX 4096u
#define XS_RING_SIZE 1024u

/* Message header, native byte order. */
struct xs_msg_hdr {
	uint32_t type;
	uint32_t req_id;
	uint32_t tx_id;
	uint32_t len; /* payload bytes */
};
_Static_assert(sizeof(struct xs_msg_hdr) == XS_HDR_SIZE, "xsd_sockmsg");

/* The shared ring page (xenstore_domain_interface). */
struct xs_ring_page {
	char req[XS_RING_SIZE]; /* guest -> xenstored */
	char rsp[XS_RING_SIZE]; /* xenstored -> guest */
	uint32_t req_cons, req_prod;
	uint32_t rsp_cons, rsp_prod;
	uint32_t server_features;
	uint32_t connection;
	uint32_t error;
};
_Static_assert(offsetof(struct xs_ring_page, req_cons) == 2048, "req_cons");
_Static_assert(offsetof(struct xs_ring_page, rsp_prod) == 2060, "rsp_prod");
_Static_assert(sizeof(struct xs_ring_page) == 2076, "xenstore ring");

/* Results of xs_decode_reply. */
enum xs_result {
	XS_R_OK = 0,     /* the reply: value copied to out */
	XS_R_ERROR = -1, /* xenstored answered ERROR: its name copied to out */
	XS_R_BAD = -2,   /* malformed or wrong type: protocol error */
	XS_R_SKIP = 1,   /* not our reply (watch event, other request id) */
};

/*
 * Encode a request of (type) with id (req_id), outside any transaction,
 * into buf[cap]: header, then payload "path\0" (value NULL) or
 * "path\0value" (value not NUL-terminated, as XS_WRITE wants; for XS_WATCH
 * the value is the token and is NUL-terminated: "path\0token\0").  Returns
 * the message length, or -1 if it does not fit (cap, or XS_PAYLOAD_MAX).
 */
int xs_encode(uint8_t *buf, size_t cap, uint32_t type, uint32_t req_id,
	      const char *path, const char *value);

/* The same with a payload after "path\0" given as (data, dlen) bytes, which
 * may hold NULs (XS_SET_PERMS); data may be NULL when dlen is 0. */
int xs_encode_raw(uint8_t *buf, size_t cap, uint32_t type, uint32_t req_id,
		  const char *path, const void *data, size_t dlen);

/* The permission list of XS_SET_PERMS that leaves (owner) the owner, gives
 * other domains no access and lets (reader) read: "n<owner>\0r<reader>\0"
 * into buf[cap].  Returns its length (both NULs counted), or -1 if it does
 * not fit.  XS_PERMS_MAX always fits. */
#define XS_PERMS_MAX 16u
int xs_perms_owner_reader(char *buf, size_t cap, uint16_t owner,
			  uint16_t reader);

/* Decode a header from 16 bytes; -1 if its payload length is impossible. */
int xs_decode_hdr(const uint8_t *buf, struct xs_msg_hdr *h);

/*
 * Interpret a message (h, payload) read while waiting for the reply to a
 * request of (want_type) with id (want_id).  On XS_R_OK the payload is
 * copied to out[cap] NUL-terminated (out may be NULL) and *len gets its
 * length; a value that does not fit is XS_R_BAD.  On XS_R_ERROR out gets
 * the error name (e.g. "ENOENT").
 */
int xs_decode_reply(const struct xs_msg_hdr *h, const uint8_t *payload,
		    uint32_t want_type, uint32_t want_id, char *out,
		    size_t cap, uint32_t *len);

/* Ring arithmetic (free-running indices, index & 1023).  A pair of indices
 * that claims more than a ring's worth is hostile: 0 (nothing usable). */
uint32_t xs_ring_free(uint32_t cons, uint32_t prod);  /* producer space */
uint32_t xs_ring_avail(uint32_t cons, uint32_t prod); /* consumer bytes */

/* Copy n <= XS_RING_SIZE bytes into / out of a ring at a free-running
 * index, wrapping at the end. */
void xs_ring_put(char *ring, uint32_t prod, const uint8_t *src, uint32_t n);
void xs_ring_get(const char *ring, uint32_t cons, uint8_t *dst, uint32_t n);

#endif /* PVH_XS_PROTO_H */
