/*
 * unitrace control protocol: the messages `unitrace ctl` exchanges with a
 * running guest, the same on every transport.
 *
 * The carrier is a reliable byte stream: on Xen a libxenvchan channel (the
 * guest is the server, dom0 the client), in the hosted port a Unix stream
 * socket the guest listens on.  Each side sends whole messages: a 24-byte
 * header followed by 'len' payload bytes.  One request, one response, in
 * order; the response echoes 'op' and 'seq'.
 *
 * The guest trusts the controlling side (dom0, or a process of the same
 * user) but still checks every length.  The client treats everything the
 * guest sends as hostile: magic, op, seq and 'len' are checked before the
 * payload is read, and strings in payloads are bounded, not NUL-trusted.
 *
 * Self-contained: <stdint.h> only.  Sizes are checked below.
 */
#ifndef UT_CTL_H
#define UT_CTL_H

#include <stdint.h>

/* _Static_assert in C, static_assert in C++. */
#ifndef UT_STATIC_ASSERT
#ifdef __cplusplus
#define UT_STATIC_ASSERT(e, msg) static_assert(e, msg)
#else
#define UT_STATIC_ASSERT(e, msg) _Static_assert(e, msg)
#endif
#endif

#define UT_CTL_MAGIC 0x31435455u /* bytes "UTC1" on a little-endian machine */
#define UT_CTL_HDR_SIZE 24u
/* Largest payload in either direction: a request and its header fit the
 * smallest vchan ring (1024 bytes), a response the 2048-byte one. */
#define UT_CTL_MAX_REQ 512u
#define UT_CTL_MAX_RSP 1536u

/* Xen: the guest's vchan lives at this path under its xenstore home
 * (/local/domain/<domid>/), per the vchan convention
 * data/vchan/<client domid>/<port name>; the client domid is the
 * collector's domain (0 by default). */
#define UT_CTL_VCHAN_PORT "unitrace-ctl"

/* Hosted: the guest listens on the abstract Unix socket
 * "\0" UT_CTL_SOCK_PREFIX "<pid>" (no file to clean up; it goes away with
 * the process) and serves only peers of its own uid or root. */
#define UT_CTL_SOCK_PREFIX "unitrace-ctl."

struct ut_ctl_msg {
	uint32_t magic;  /* UT_CTL_MAGIC */
	uint16_t op;     /* enum ut_ctl_op */
	uint16_t status; /* response: enum ut_ctl_status; request: 0 */
	uint32_t seq;    /* chosen by the client, echoed */
	uint32_t arg;    /* per op */
	uint32_t len;    /* payload bytes that follow */
	uint32_t flags;  /* reserved, 0 */
};
UT_STATIC_ASSERT(sizeof(struct ut_ctl_msg) == UT_CTL_HDR_SIZE, "ctl header");

enum ut_ctl_op {
	/* -> (no payload); <- struct ut_ctl_info. */
	UT_CTL_HELLO = 1,
	/* -> arg = index of the first event type wanted;
	 * <- arg = total number of event types, payload = as many
	 *    struct ut_ctl_event as fit, from that index on. */
	UT_CTL_EVENTS = 2,
	/* -> arg = 1 enable / 0 disable, payload = an event type name (not
	 *    NUL-terminated), or empty for every type;
	 * <- arg = number of event types changed; UT_CTL_ENOENT if none. */
	UT_CTL_ENABLE = 3,
	/* -> arg = ring (UT_CTL_ALL_RINGS for every ring), payload = uint32_t
	 *    mode (enum ut_ring_mode);
	 * <- arg = rings asked to switch.  The ring's producer applies the
	 *    switch within 256 events; UT_CTL_RINGS shows when it has. */
	UT_CTL_SET_MODE = 4,
	/* -> arg = first ring wanted; <- arg = number of rings, payload = as
	 *    many struct ut_ctl_ring as fit, from that ring on. */
	UT_CTL_RINGS = 5,
};

enum ut_ctl_status {
	UT_CTL_OK = 0,
	UT_CTL_EBADMSG = 1, /* malformed request (length, magic, payload) */
	UT_CTL_EOP = 2,     /* unknown op */
	UT_CTL_ENOENT = 3,  /* no such event type or ring */
	UT_CTL_EINVAL = 4,  /* bad argument (mode value) */
	UT_CTL_ENOTREADY = 5, /* tracer not initialised */
	UT_CTL_EPERM = 6,   /* hosted: the peer's uid may not control this
	                       guest; sent unasked (op 0, seq 0), then the
	                       connection is closed */
};

#define UT_CTL_ALL_RINGS 0xffffffffu

struct ut_ctl_info {
	uint32_t abi_version;  /* UT_ABI_VERSION of the guest */
	uint32_t nr_rings;
	uint32_t nr_events;    /* event types, the built-in "log" included */
	uint32_t pid;          /* hosted: process id; xen: domid */
	char name[64];         /* NUL-padded guest name */
};
UT_STATIC_ASSERT(sizeof(struct ut_ctl_info) == 80, "ctl info");

struct ut_ctl_event {
	uint16_t id;
	uint8_t kind;    /* enum ut_event_kind */
	uint8_t enabled; /* 0 or 1 */
	char name[40];   /* NUL-padded */
};
UT_STATIC_ASSERT(sizeof(struct ut_ctl_event) == 44, "ctl event");

struct ut_ctl_ring {
	uint32_t ring;
	uint32_t mode;     /* enum ut_ring_mode in effect */
	uint32_t req_mode; /* a switch not applied yet, or 0xffffffff */
	uint32_t _pad;
	uint64_t emitted;  /* event attempts on this ring */
	uint64_t dropped;  /* of which dropped */
};
UT_STATIC_ASSERT(sizeof(struct ut_ctl_ring) == 32, "ctl ring");

#endif /* UT_CTL_H */
