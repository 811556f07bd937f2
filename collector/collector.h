/*
 * unitrace collector: internal interfaces.  One header for the component,
 * prototypes grouped by the file that defines them.
 */
#ifndef UT_COLLECTOR_H
#define UT_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ut_abi.h"

/* ---- decoded, validated data (no pointers into guest memory) --------- */

/* A validated copy of one schema entry.  Names are NUL-terminated and
 * contain only printable ASCII (others replaced by '?'). */
typedef struct ut_evfield {
	uint8_t type;  /* enum ut_field_type */
	uint8_t flags; /* UT_FF_* */
	uint16_t max_len;
	char name[UT_FIELD_NAME_LEN + 1];
} ut_evfield_t;

typedef struct ut_evtype {
	uint16_t id;     /* guest's event id */
	uint8_t kind;    /* enum ut_event_kind */
	uint8_t nfields;
	char name[UT_EVENT_NAME_LEN + 1];
	char category[UT_CATEGORY_LEN + 1];
	ut_evfield_t fields[UT_MAX_FIELDS];
	int64_t db_id;   /* event_types.id once stored; 0 before */
} ut_evtype_t;

/* One decoded field value.  For STR and BYTES, p points into the copied
 * record (valid only during the callback that received it). */
typedef struct ut_value {
	uint8_t type; /* enum ut_field_type */
	uint16_t len; /* STR/BYTES length */
	union {
		uint64_t u;
		int64_t s;
		double f;
		const uint8_t *p;
	} v;
} ut_value_t;

/* One decoded event. */
typedef struct ut_event {
	uint64_t seq;
	uint64_t ts_raw;  /* raw ticks from the record */
	int64_t ts;       /* ns, converted with the guest's calibration */
	int64_t dur;      /* span end: ns since matching begin; else -1 */
	const ut_evtype_t *type;
	uint8_t nvals;
	ut_value_t vals[UT_MAX_FIELDS];
} ut_event_t;

/* Guest identity as stored in the guests table. */
typedef struct ut_guest_info {
	char name[UT_NAME_LEN + 1];
	char platform[17];
	uint32_t pid;      /* hosted pid or Xen domid */
	uint8_t build_id[UT_BUILD_ID_MAX];
	uint32_t build_id_len;
	uint32_t nr_rings;
	uint32_t abi_version;
	int64_t start_realtime; /* Unix ns at the clock reference point */
	int64_t clock_ns_ref;   /* monotonic ns at the same point */
	char source[256];  /* where it was attached from (path, domid) */
} ut_guest_info_t;

/* Lost-event range reasons (lost.reason). */
enum ut_lost_reason {
	UT_LOST_GUEST = 0,     /* dropped in the guest (ring full / nested) */
	UT_LOST_OVERWRITE = 1, /* overwritten before the collector read it */
	UT_LOST_CORRUPT = 2,   /* skipped because the guest wrote garbage */
};

/* ---- schema.c: schema entries and payload decoding ------------------- */

/* Validate the raw schema entry at (raw) into (out).  Returns 0, or -1 with
 * a reason in (err) if the entry is garbage. */
int ut_schema_parse(const struct ut_schema_entry *raw, ut_evtype_t *out,
		    char *err, size_t errlen);

/* Decode the payload (p, len) of an event of type (t) into ev->vals.
 * Returns 0, or -1 with a reason in (err) if it is truncated, oversized or
 * otherwise inconsistent with the schema.  Never reads outside (p, len). */
int ut_schema_decode(const ut_evtype_t *t, const uint8_t *p, size_t len,
		     ut_event_t *ev, char *err, size_t errlen);

/* ---- reader.c: validating and draining one guest's shared area -------- */

/* Where decoded events go.  Returning non-zero from a callback stops the
 * drain and makes ut_reader_drain return -1 (store error, not corruption). */
typedef struct ut_sink {
	void *ctx;
	int (*event)(void *ctx, uint32_t ring, const ut_event_t *ev);
	int (*lost)(void *ctx, uint32_t ring, uint64_t seq_first,
		    uint64_t count, int64_t ts_before, int64_t ts_after,
		    int reason);
} ut_sink_t;

#define UT_SPAN_STACK 64

typedef struct ut_rd_ring {
	struct ut_ring_hdr *rh; /* in the mapping: guest-controlled */
	uint64_t data_off, data_size, mask; /* validated copies */
	uint32_t vcpu;
	uint64_t cursor;     /* next byte to read */
	uint64_t released;   /* last tail published to the guest */
	uint64_t expect_seq; /* sequence number of the next event */
	uint64_t dedup_below; /* records below this were stored before */
	uint64_t dropped_seen; /* guest 'dropped' counter accounted for */
	int64_t last_ts;     /* ns of the last event read, -1 if none */
	uint32_t depth;      /* open spans */
	struct { const ut_evtype_t *t; int64_t ts; } spans[UT_SPAN_STACK];
	uint64_t events, lost;
} ut_rd_ring_t;

typedef struct ut_reader {
	uint8_t *base;      /* the mapping */
	uint64_t size;      /* its length */
	struct ut_area_hdr hdr; /* validated copy of the constant part */
	uint32_t nr_rings;
	ut_rd_ring_t rings[UT_MAX_RINGS];
	uint32_t ntypes;    /* schema entries parsed so far */
	bool schema_more;   /* published entries left for the next call */
	ut_evtype_t *types; /* [schema_cap], index = id - UT_EVENT_ID_FIRST */
	uint8_t *buf;       /* copy-out buffer, UT_READER_CHUNK bytes */
	/* Called for each new event type before its first event: 0, > 0
	 * when the type is the guest's fault (the callback fills err: the
	 * guest is corrupt), < 0 when the store failed. */
	int (*on_type)(void *ctx, ut_evtype_t *t);
	void *on_type_ctx;
	char err[384];      /* why the guest was found corrupt */
} ut_reader_t;

#define UT_READER_CHUNK (1u << 20)

/* Validate the area of (size) bytes at (base) and set up (r).  Returns 0,
 * 1 if the guest is still writing its header (state INIT: try later), or -1
 * with the reason in r->err (bad magic, byte order, ABI version, layout). */
int ut_reader_attach(ut_reader_t *r, void *base, uint64_t size);
void ut_reader_free(ut_reader_t *r);
/* Parse schema entries published since the last call, at most
 * UT_READER_SCHEMA_BATCH of them (r->schema_more: some are left for the
 * next call, so one guest's schema cannot hold the collector up); each new
 * type goes to r->on_type (if set).  0, -1 with r->err (also when on_type
 * blamed the guest), or -2 if on_type failed (the store). */
#define UT_READER_SCHEMA_BATCH 256u
int ut_reader_schema(ut_reader_t *r);
/* Ring (i) was stored up to sequence number (last_seq) by an earlier
 * collector: skip records up to it, count gaps after it as lost. */
void ut_reader_resume(ut_reader_t *r, uint32_t i, uint64_t last_seq);
/* Copy out and decode what ring (i) holds past its cursor, at most
 * (max_bytes) of it, into (sink).  Returns the number of events decoded,
 * -1 if the guest wrote garbage (r->err says what), -2 if the sink failed. */
long ut_reader_drain(ut_reader_t *r, uint32_t i, const ut_sink_t *sink,
		     uint64_t max_bytes);
/* After a final drain: events the guest counted but never wrote (dropped
 * at the end of the ring) become a lost range.  0, -1 or -2 as above. */
int ut_reader_finish(ut_reader_t *r, uint32_t i, const ut_sink_t *sink);
/* Let the guest reuse what has been read (call after the store commit). */
void ut_reader_release(ut_reader_t *r);
/* True if ring (i) holds nothing past the cursor (head read once). */
bool ut_reader_caught_up(const ut_reader_t *r, uint32_t i);
/* The collector's fields of the live header, written only here: publish
 * (pid) (once) and state UT_COLL_ATTACHED; set collector_state to (state)
 * (enum ut_collector_state); count one more heartbeat. */
void ut_reader_announce(ut_reader_t *r, uint32_t pid);
void ut_reader_set_collector(ut_reader_t *r, uint32_t state);
void ut_reader_heartbeat(ut_reader_t *r);
/* The guest's state field, read once. */
uint32_t ut_reader_state(const ut_reader_t *r);
/* Convert raw ticks to ns with the guest's calibration (saturating). */
int64_t ut_reader_ns(const ut_reader_t *r, uint64_t ticks);
/* Identity of the guest as stored in the database. */
void ut_reader_guest_info(const ut_reader_t *r, ut_guest_info_t *g);
/* Copy the crash record once into (out) and validate it (magic, version,
 * kind, register layout, vCPU, signal; reason made printable).  0, or -1
 * with the reason in r->err; (out) holds the copy either way. */
int ut_reader_crash(ut_reader_t *r, struct ut_crash_rec *out);

/* ---- collect.c: the collection engine ---------------------------------- */

typedef struct ut_collect_opts {
	const char *cmd;      /* "collect" or "run", for messages */
	const char *db_path;
	const char *dir;      /* rendezvous directory */
	unsigned poll_ms;     /* idle poll interval */
	double duration;      /* stop after this many seconds (0: never) */
	const char *core_dir; /* cores of crashed guests; NULL: next to the
	                         database, in cores/ */
	bool no_core;         /* capture crashes without writing cores */
	bool quiet;
	/* Non-NULL: serve Xen domains (xen.h) instead of the directory
	 * (the hosted and Xen transports: transport/transport.h). */
	const struct ut_xen_opts *xen;
	/* unitrace run: stop once this child has exited and every guest is
	 * final; 0 for collect. */
	int child_pid;
	int child_status;     /* out: wait status of child_pid */
	bool child_reaped;    /* out: child_status is valid */
} ut_collect_opts_t;

/* Run the collector until SIGINT/SIGTERM (or the run conditions above).
 * Returns the exit status: 0, or 1 after a fatal error (message printed). */
int ut_collect(ut_collect_opts_t *o);

/* ---- the store: the SQLite database (collector/store/store.h) ---------- */

#include "store.h"

/* ---- commands, main.c: cli/cli.h ----------------------------------------- */

/* The command table (struct ut_cmd), ut_error, ut_wants_help and the
 * shared text/clock helpers are in cli.h; included here until every file
 * that uses them includes it (cmd_ctl.c, cmd_run.c, collect.c, tests). */
#include "cli.h"

#endif /* UT_COLLECTOR_H */
