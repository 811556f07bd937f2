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
	ut_evtype_t *types; /* [schema_cap], index = id - UT_EVENT_ID_FIRST */
	uint8_t *buf;       /* copy-out buffer, UT_READER_CHUNK bytes */
	/* Called for each new event type before its first event: */
	int (*on_type)(void *ctx, ut_evtype_t *t);
	void *on_type_ctx;
	char err[256];      /* why the guest was found corrupt */
} ut_reader_t;

#define UT_READER_CHUNK (1u << 20)

/* Validate the area of (size) bytes at (base) and set up (r).  Returns 0,
 * 1 if the guest is still writing its header (state INIT: try later), or -1
 * with the reason in r->err (bad magic, byte order, ABI version, layout). */
int ut_reader_attach(ut_reader_t *r, void *base, uint64_t size);
void ut_reader_free(ut_reader_t *r);
/* Parse schema entries published since the last call; each new type goes
 * to r->on_type (if set).  0, -1 with r->err, or -2 if on_type failed. */
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

/* ---- store.c: the SQLite database ------------------------------------- */

typedef struct ut_store ut_store_t;

#define UT_STORE_CREATE 0x1   /* create the file and schema if missing */
#define UT_STORE_READONLY 0x2 /* open an existing unitrace database */

/* Open the database at (path).  Returns NULL with a message in (err) if
 * the file is missing (without CREATE), not SQLite, not a unitrace
 * database, corrupt, or not writable. */
ut_store_t *ut_store_open(const char *path, int flags, char *err,
			  size_t errlen);
void ut_store_close(ut_store_t *st);
/* Last error message of (st). */
const char *ut_store_errmsg(ut_store_t *st);
/* The sqlite3 handle, for read-only commands (list, stats, query). */
struct sqlite3 *ut_store_db(ut_store_t *st);

/* Transactions: every add below must happen between begin and commit.
 * A failed commit rolls back and returns -1: nothing of it is stored. */
int ut_store_begin(ut_store_t *st);
int ut_store_commit(ut_store_t *st);
int ut_store_rollback(ut_store_t *st);

/* Find a guest row with the same identity (name, pid, start_realtime) or
 * insert one.  Returns the guest id (> 0) or -1. */
int64_t ut_store_guest(ut_store_t *st, const ut_guest_info_t *g);
/* Set guests.status ("running", "exited", "crashed", "corrupt",
 * "rejected", "vanished") and a human-readable reason (may be NULL). */
int ut_store_guest_status(ut_store_t *st, int64_t guest, const char *status,
			  const char *reason);
/* Find or create the lane of (guest, vcpu).  Returns lane id or -1. */
int64_t ut_store_lane(ut_store_t *st, int64_t guest, uint32_t vcpu);
/* Highest sequence number stored for (lane), or -1 if none: a restarted
 * collector skips records at or below it. */
int64_t ut_store_lane_last_seq(ut_store_t *st, int64_t lane);
/* Find or store event type (t) of (guest); sets t->db_id.  0 or -1. */
int ut_store_evtype(ut_store_t *st, int64_t guest, ut_evtype_t *t);
/* Append event (ev) on (lane).  0 or -1. */
int ut_store_event(ut_store_t *st, int64_t lane, const ut_event_t *ev);
/* Record lost events seq [seq_first, seq_first + count) on (lane), between
 * timestamps ts_before and ts_after (ns; -1 if unknown).  0 or -1. */
int ut_store_lost(ut_store_t *st, int64_t lane, uint64_t seq_first,
		  uint64_t count, int64_t ts_before, int64_t ts_after,
		  int reason);
/* Crashes.  (rec) is the collector's validated copy of the guest's crash
 * record; (ts_ns) the crash time in guest ns (-1: unknown); (core_path),
 * (elf_path) may be NULL (no core yet, program unknown).  Stores the
 * reason, signal, code, fault address, registers as text and the raw
 * record.  Returns the crash id (> 0) or -1. */
int64_t ut_store_crash(ut_store_t *st, int64_t guest,
		       const struct ut_crash_rec *rec, int64_t ts_ns,
		       const char *core_path, const char *elf_path);
/* Set the core path of (crash) (NULL: none) and a note from the
 * collector, e.g. why there is no core (NULL: none).  0 or -1. */
int ut_store_crash_core(ut_store_t *st, int64_t crash, const char *core_path,
			const char *note);
/* Store the frames of (bt) in crash_frames under its method (replacing
 * an earlier backtrace of that method); if (primary), also its text in
 * crashes.backtrace and the method in crashes.bt_method.  0 or -1. */
struct ut_backtrace; /* backtrace.h */
int ut_store_crash_bt(ut_store_t *st, int64_t crash,
		      const struct ut_backtrace *bt, bool primary);
/* (regs) (enum ut_x86_64_reg order) as "rip=0x... rsp=0x... ...". */
void ut_crash_regs_text(const uint64_t regs[UT_CRASH_NREGS], char *buf,
			size_t len);
/* "signal", "panic", "trap" or "unknown" for crash record field kind. */
const char *ut_crash_kind_name(uint32_t kind);
/* Notes on the contract above (store.c):
 *  - After a failed add the transaction can only roll back: later adds and
 *    ut_store_commit return -1 and keep the first message.
 *  - Ids handed out inside a transaction that rolls back (guest, lane,
 *    event type db_id) are void; look them up again in a new one.
 *  - ut_store_lane_last_seq covers events stored and ranges recorded as
 *    lost, including those of the open transaction.
 *  - U64 field values are stored as the int64 with the same bits. */

/* Helpers for the read-only commands (list, stats, query). */
/* Open (path) read-only; on failure print "unitrace CMD: <why>" and
 * return NULL. */
ut_store_t *ut_store_open_cmd(const char *cmd, const char *path);
/* (ns) as a duration with a unit: "812 ns", "3.25 us", "1.5 s". */
void ut_fmt_dur(char *buf, size_t len, double ns);
/* (ns) as seconds with nanosecond precision: "12.000345678". */
void ut_fmt_ts(char *buf, size_t len, int64_t ns);
/* Aligned text table of (ncols) columns on stdout, filled cell by cell,
 * row-major.  Control characters in cells are shown escaped.  NULL/-1 on
 * no memory. */
typedef struct ut_tab ut_tab_t;
ut_tab_t *ut_tab_new(int ncols);
int ut_tab_add(ut_tab_t *t, const char *cell, bool right);
int ut_tab_addf(ut_tab_t *t, bool right, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Print the rows so far (column widths are fixed by the first flush). */
void ut_tab_flush(ut_tab_t *t);
/* Flush and free. */
void ut_tab_free(ut_tab_t *t);

/* ---- commands: one file per subcommand (cmd_<name>.c) ------------------ */

struct ut_cmd {
	const char *name;    /* "collect" */
	const char *summary; /* one line for `unitrace --help` */
	const char *usage;   /* full text printed by `unitrace NAME --help` */
	/* argv[0] is the subcommand name.  Returns the process exit status:
	 * 0 success, 1 failure (message already printed), 2 usage error. */
	int (*run)(int argc, char **argv);
	/* Options end at the first operand (unitrace run: the program's own
	 * arguments are not ours, --help among them). */
	bool stop_at_operand;
};

/* main.c: the command table */
/* Print "unitrace NAME: <message>" to stderr. */
void ut_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True if argv holds -h or --help; prints (cmd)'s usage to stdout. */
bool ut_wants_help(const struct ut_cmd *cmd, int argc, char **argv);

#endif /* UT_COLLECTOR_H */
