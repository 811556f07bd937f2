/*
 * unitrace shared-area ABI.
 *
 * This header describes every byte that the guest tracer and the collector
 * both touch.  It must stay self-contained: it includes only <stdint.h> and
 * <stddef.h> and is compiled by freestanding guests, by the hosted collector
 * and by the tests.  It contains no pointers: every reference inside the
 * shared area is an offset from the start of the area, so a guest address can
 * never be dereferenced by the collector by accident.
 *
 * Who writes what is stated for every field.  The collector treats every
 * guest-written byte as hostile input (see docs/format.md).
 *
 * Rule: UT_ABI_VERSION must be incremented before a release whenever the
 * meaning, size or offset of any field changes.  Enum values are never reused;
 * retired values stay listed as unused.
 */
#ifndef UT_ABI_H
#define UT_ABI_H

#include <stddef.h>
#include <stdint.h>

/* _Static_assert in C, static_assert in C++. */
#ifndef UT_STATIC_ASSERT
#ifdef __cplusplus
#define UT_STATIC_ASSERT(e, msg) static_assert(e, msg)
#else
#define UT_STATIC_ASSERT(e, msg) _Static_assert(e, msg)
#endif
#endif

#define UT_MAGIC 0x43525455u /* bytes "UTRC" on a little-endian machine */
#define UT_ABI_VERSION 1u
#define UT_BYTE_ORDER_MARK 0x01020304u

#define UT_PAGE_SIZE 4096u
#define UT_CACHE_LINE 64u

#define UT_MAX_RINGS 64u      /* rings (vCPUs) per guest */
#define UT_MAX_FIELDS 8u      /* typed fields per event type */
#define UT_MAX_RECORD 4096u   /* largest event record, header included */
#define UT_RECORD_ALIGN 8u    /* records start and end on 8-byte boundaries */
#define UT_MIN_RING_SIZE 16384u
#define UT_MAX_RING_SIZE (1u << 30)
#define UT_NAME_LEN 64u
#define UT_BUILD_ID_MAX 32u
#define UT_EVENT_NAME_LEN 40u
#define UT_FIELD_NAME_LEN 20u
#define UT_CATEGORY_LEN 16u

/* Event ids: 0 is never a valid id; user types are numbered from 1. */
#define UT_EVENT_ID_INVALID 0u
#define UT_EVENT_ID_FIRST 1u

/* Guest lifecycle, area header field 'state' (guest-written). */
enum ut_guest_state {
	UT_STATE_INIT = 0,    /* header being written; collector must wait */
	UT_STATE_RUNNING = 1, /* rings live */
	UT_STATE_EXITED = 2,  /* guest finished cleanly; rings final */
	UT_STATE_CRASHED = 3, /* crash record valid; rings final */
};

/* Collector progress, area header field 'collector_state'. */
enum ut_collector_state {
	UT_COLL_NONE = 0,     /* no collector has attached */
	UT_COLL_ATTACHED = 1, /* a collector is draining the rings */
	UT_COLL_DONE = 2,     /* final state seen, every event stored (and,
	                         after a crash, the core written) */
};

/* Ring modes. */
enum ut_ring_mode {
	UT_MODE_DISCARD = 0,   /* never overwrite unread data; drop and count */
	UT_MODE_OVERWRITE = 1, /* flight recorder: keep the newest data */
};

/* Clock sources, area header field 'clock_source'. */
enum ut_clock_source {
	UT_CLOCK_NS = 0,  /* timestamps already in ns of the reference clock */
	UT_CLOCK_TSC = 1, /* x86 TSC ticks, convert with mult/shift */
	UT_CLOCK_CNTVCT = 2, /* arm64 virtual counter ticks */
};

/* Event kinds, schema entry field 'kind'. */
enum ut_event_kind {
	UT_KIND_INSTANT = 0,
	UT_KIND_SPAN_BEGIN = 1,
	UT_KIND_SPAN_END = 2,
	UT_KIND_COUNTER = 3,
	UT_KIND_LOG = 4,
	UT_KIND__COUNT = 5,
};

/*
 * Field types, schema field 'type'.  Scalars are stored in the payload at
 * their natural width, native byte order, unaligned, in declaration order.
 * UT_T_STR and UT_T_BYTES are stored as a uint16_t length followed by that
 * many bytes (no terminating NUL); the length never exceeds the field's
 * max_len.
 */
enum ut_field_type {
	UT_T_U8 = 1,
	UT_T_U16 = 2,
	UT_T_U32 = 3,
	UT_T_U64 = 4,
	UT_T_S8 = 5,
	UT_T_S16 = 6,
	UT_T_S32 = 7,
	UT_T_S64 = 8,
	UT_T_F64 = 9,
	UT_T_STR = 10,
	UT_T_BYTES = 11,
	UT_T__COUNT = 12,
};

/* Field display hints, schema field 'flags'. */
#define UT_FF_HEX 0x01u /* show integer in hexadecimal */

/*
 * The area header: first page of the shared area.
 */
struct ut_area_hdr {
	/* Cache line 0: layout.  Guest-written once, before state RUNNING. */
	uint32_t magic;        /* UT_MAGIC */
	uint32_t abi_version;  /* UT_ABI_VERSION */
	uint32_t byte_order;   /* UT_BYTE_ORDER_MARK, written natively */
	uint32_t hdr_size;     /* sizeof(struct ut_area_hdr) */
	uint64_t area_size;    /* total bytes of the shared area */
	uint32_t page_size;    /* UT_PAGE_SIZE */
	uint32_t nr_rings;     /* 1..UT_MAX_RINGS */
	uint32_t ring_hdr_off; /* offset of ring header 0 */
	uint32_t ring_hdr_size; /* sizeof(struct ut_ring_hdr) */
	uint32_t schema_off;   /* offset of schema entry 0 */
	uint32_t schema_cap;   /* number of schema entry slots */
	uint32_t crash_off;    /* offset of the crash record region */
	uint32_t crash_size;   /* bytes reserved for it */
	uint32_t flags;        /* reserved, 0 */
	uint32_t _reserved0;   /* 0 */

	/* Cache line 1: clock calibration.  Guest-written once.
	 * ns = clock_ns_ref + ((ticks - clock_ticks_ref) * clock_mult) >> clock_shift
	 * where ticks - clock_ticks_ref is taken modulo 2^64 as a signed value
	 * (the counter may wrap)
	 * (computed by the reader with 128-bit intermediates). */
	uint32_t clock_source; /* enum ut_clock_source */
	uint32_t clock_shift;
	uint64_t clock_mult;
	uint64_t clock_ticks_ref;
	uint64_t clock_ns_ref;      /* monotonic ns at clock_ticks_ref */
	uint64_t clock_realtime_ref; /* Unix-epoch ns at clock_ticks_ref */
	uint64_t clock_hz;          /* nominal tick rate, informational */
	uint64_t _reserved1[2];

	/* Cache lines 2-3: identity.  Guest-written once.  Line 2: */
	char name[UT_NAME_LEN];         /* NUL-padded guest name */
	/* Cache line 3 */
	uint8_t build_id[UT_BUILD_ID_MAX]; /* GNU build id of the guest ELF */
	uint32_t build_id_len;          /* 0..UT_BUILD_ID_MAX */
	uint32_t pid;                   /* hosted: process id; xen: domid */
	char platform[16];              /* "hosted", "xen", ... NUL-padded */
	uint64_t _reserved2;

	/* Cache line 4: guest-written, changes at run time. */
	uint32_t state;        /* enum ut_guest_state, release-stored */
	uint32_t schema_count; /* schema entries valid, release-stored */
	uint64_t unassigned_dropped; /* events from vCPUs with no ring */
	uint32_t _reserved3a[2];
	uint64_t _reserved3[5];

	/* Cache line 5: collector-written. */
	uint32_t collector_state; /* enum ut_collector_state */
	uint32_t collector_pid;
	uint64_t collector_heartbeat; /* incremented by the collector */
	uint32_t _reserved4a[2];
	uint64_t _reserved4[5];

	uint8_t _pad[UT_PAGE_SIZE - 6 * UT_CACHE_LINE];
};

/*
 * One ring header per vCPU, UT_RING_HDR_SIZE bytes each, in an array at
 * ring_hdr_off.  Positions (head, oldest, tail) are byte counts since the
 * ring was created; they only grow.  The byte at position p lives at
 * data_off + (p & (data_size - 1)).  Records may wrap around the end of the
 * data area.
 */
struct ut_ring_hdr {
	/* Cache line 0: written ONLY by the guest, at run time. */
	uint64_t head;     /* end of the last committed record (release) */
	uint64_t oldest;   /* first intact record (overwrite mode) */
	uint64_t seq_next; /* sequence number of the next event attempt */
	uint64_t dropped;  /* events dropped by the guest, cumulative */
	uint32_t mode;     /* enum ut_ring_mode in effect */
	uint32_t _reserved0;
	uint64_t _reserved1[3];

	/* Cache line 1: written ONLY by the collector. */
	uint64_t tail;     /* discard mode: bytes the guest may reuse */
	uint32_t _reserved2[2];
	uint64_t _reserved3[6];

	/* Cache line 2: guest-written once, before state RUNNING. */
	uint64_t data_off;  /* offset of the data area, page aligned */
	uint64_t data_size; /* power of two, UT_MIN_RING_SIZE..UT_MAX_RING_SIZE */
	uint32_t vcpu;      /* vCPU (or thread slot) this ring belongs to */
	uint32_t index;     /* position in the ring array */
	uint64_t _reserved4[5];

	uint64_t _reserved5[8]; /* cache line 3: reserved */
};

/* No mode switch pending (struct ut_ctl_ring in formats/ut_ctl.h). */
#define UT_REQ_NONE 0xffffffffu

/*
 * Event record header, at the start of every record in a ring.  The payload
 * follows immediately; 'size' covers header and payload and is a multiple of
 * UT_RECORD_ALIGN.
 */
struct ut_event_hdr {
	uint16_t id;   /* event type id, schema entry 'id' */
	uint16_t size; /* total record bytes, 8-aligned, <= UT_MAX_RECORD */
	uint32_t _reserved; /* 0 */
	uint64_t seq;  /* per-ring sequence number; gaps are lost events */
	uint64_t ts;   /* raw clock ticks, see clock calibration */
};

/* Schema metadata: one fixed-size entry per event type. */
struct ut_schema_field {
	uint8_t type;     /* enum ut_field_type */
	uint8_t flags;    /* UT_FF_* */
	uint16_t max_len; /* STR/BYTES: maximum stored length; else 0 */
	char name[UT_FIELD_NAME_LEN]; /* NUL-padded */
};

struct ut_schema_entry {
	uint16_t id;      /* event type id, >= UT_EVENT_ID_FIRST */
	uint8_t kind;     /* enum ut_event_kind */
	uint8_t nfields;  /* 0..UT_MAX_FIELDS */
	uint32_t flags;   /* reserved, 0 */
	char name[UT_EVENT_NAME_LEN]; /* NUL-padded */
	struct ut_schema_field fields[UT_MAX_FIELDS];
	char category[UT_CATEGORY_LEN]; /* NUL-padded, may be empty */
};

/*
 * Crash record, at crash_off (UT_CRASH_REGION_SIZE bytes reserved).  Written
 * by the guest's crash path (no allocation, no formatted output), completely,
 * before it stores 'magic' with release ordering and then sets the area's
 * state to UT_STATE_CRASHED.  The same record serves every transport.
 */
#define UT_CRASH_REGION_SIZE 4096u
#define UT_CRASH_MAGIC 0x48535243u /* bytes "CRSH" */
#define UT_CRASH_VERSION 1u
#define UT_CRASH_REASON_LEN 128u
#define UT_CRASH_NREGS 27u

/* What kind of crash, crash record field 'kind'. */
enum ut_crash_kind {
	UT_CRASH_SIGNAL = 1, /* hosted: fatal signal; signo/code are Linux's */
	UT_CRASH_PANIC = 2,  /* ut_panic() called by the guest */
	UT_CRASH_TRAP = 3,   /* unikernel: CPU exception; signo = vector */
};

/* Register layout, crash record field 'arch'. */
enum ut_crash_arch {
	/* regs[] in the order of Linux's struct user_regs_struct: r15 r14
	 * r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs
	 * eflags rsp ss fs_base gs_base ds es fs gs.  That is the layout of
	 * pr_reg in an x86-64 NT_PRSTATUS note, so a core writer copies it. */
	UT_ARCH_X86_64 = 1,
};

/* Indexes into regs[] for UT_ARCH_X86_64. */
enum ut_x86_64_reg {
	UT_X86_R15 = 0, UT_X86_R14, UT_X86_R13, UT_X86_R12, UT_X86_RBP,
	UT_X86_RBX, UT_X86_R11, UT_X86_R10, UT_X86_R9, UT_X86_R8, UT_X86_RAX,
	UT_X86_RCX, UT_X86_RDX, UT_X86_RSI, UT_X86_RDI, UT_X86_ORIG_RAX,
	UT_X86_RIP, UT_X86_CS, UT_X86_EFLAGS, UT_X86_RSP, UT_X86_SS,
	UT_X86_FS_BASE, UT_X86_GS_BASE, UT_X86_DS, UT_X86_ES, UT_X86_FS,
	UT_X86_GS,
};

struct ut_crash_rec {
	uint32_t magic;     /* UT_CRASH_MAGIC once the record is complete */
	uint32_t version;   /* UT_CRASH_VERSION */
	uint32_t kind;      /* enum ut_crash_kind */
	uint32_t arch;      /* enum ut_crash_arch */
	int32_t signo;      /* signal number or trap vector; 0 for a panic */
	int32_t code;       /* si_code or trap error code */
	uint32_t vcpu;      /* ring of the crashing context (UINT32_MAX: none) */
	uint32_t tid;       /* hosted: thread id of the crashing thread */
	uint64_t fault_addr; /* si_addr or CR2; 0 if none */
	uint64_t ts;        /* raw clock ticks at the crash */
	char reason[UT_CRASH_REASON_LEN]; /* NUL-padded text */
	uint64_t regs[UT_CRASH_NREGS];   /* see enum ut_crash_arch */
	/* A second crash while the first was being handled (another thread
	 * or vCPU), written after the record: its signal (0: a panic) and
	 * thread id, or 0 before it; UINT32_MAX when it has no thread id.
	 * Only the first of them; the record above stays the first crash's. */
	int32_t second_signo;
	uint32_t second_tid; /* release-stored after second_signo */
	/* Ring positions when the crash path ran (head of each ring). */
	uint64_t ring_head[UT_MAX_RINGS];
	uint8_t _pad[UT_CRASH_REGION_SIZE - 176 - 8 * UT_CRASH_NREGS - 8 -
		     8 * UT_MAX_RINGS];
};

/*
 * Layout checks.  A change here is an ABI change.
 */
UT_STATIC_ASSERT(sizeof(struct ut_area_hdr) == UT_PAGE_SIZE, "area hdr size");
UT_STATIC_ASSERT(offsetof(struct ut_area_hdr, clock_source) == 64, "clock line");
UT_STATIC_ASSERT(offsetof(struct ut_area_hdr, name) == 128, "identity line");
UT_STATIC_ASSERT(offsetof(struct ut_area_hdr, build_id) == 192, "build id");
UT_STATIC_ASSERT(offsetof(struct ut_area_hdr, state) == 256, "guest line");
UT_STATIC_ASSERT(offsetof(struct ut_area_hdr, collector_state) == 320,
	       "collector line");
UT_STATIC_ASSERT(offsetof(struct ut_area_hdr, _pad) == 384, "pad");

#define UT_RING_HDR_SIZE 256u
UT_STATIC_ASSERT(sizeof(struct ut_ring_hdr) == UT_RING_HDR_SIZE, "ring hdr");
UT_STATIC_ASSERT(offsetof(struct ut_ring_hdr, head) == 0, "guest line");
UT_STATIC_ASSERT(offsetof(struct ut_ring_hdr, mode) == 32, "mode");
UT_STATIC_ASSERT(offsetof(struct ut_ring_hdr, tail) == 64, "collector line");
UT_STATIC_ASSERT(offsetof(struct ut_ring_hdr, data_off) == 128, "const line");
UT_STATIC_ASSERT(offsetof(struct ut_ring_hdr, vcpu) == 144, "vcpu");

#define UT_EVENT_HDR_SIZE 24u
UT_STATIC_ASSERT(sizeof(struct ut_event_hdr) == UT_EVENT_HDR_SIZE, "event hdr");
UT_STATIC_ASSERT(offsetof(struct ut_event_hdr, seq) == 8, "seq");
UT_STATIC_ASSERT(offsetof(struct ut_event_hdr, ts) == 16, "ts");

#define UT_SCHEMA_ENTRY_SIZE 256u
UT_STATIC_ASSERT(sizeof(struct ut_schema_field) == 24, "schema field");
UT_STATIC_ASSERT(sizeof(struct ut_schema_entry) == UT_SCHEMA_ENTRY_SIZE,
	       "schema entry");
UT_STATIC_ASSERT(offsetof(struct ut_schema_entry, name) == 8, "entry name");
UT_STATIC_ASSERT(offsetof(struct ut_schema_entry, fields) == 48, "fields");
UT_STATIC_ASSERT(offsetof(struct ut_schema_entry, category) == 240, "category");

UT_STATIC_ASSERT(sizeof(struct ut_crash_rec) == UT_CRASH_REGION_SIZE, "crash rec");
UT_STATIC_ASSERT(offsetof(struct ut_crash_rec, fault_addr) == 32, "fault_addr");
UT_STATIC_ASSERT(offsetof(struct ut_crash_rec, reason) == 48, "reason");
UT_STATIC_ASSERT(offsetof(struct ut_crash_rec, regs) == 176, "regs");
UT_STATIC_ASSERT(offsetof(struct ut_crash_rec, second_signo) == 392, "second");
UT_STATIC_ASSERT(offsetof(struct ut_crash_rec, ring_head) == 400, "ring_head");

UT_STATIC_ASSERT(UT_MAX_RECORD * 4 <= UT_MIN_RING_SIZE, "ring fits records");
UT_STATIC_ASSERT(UT_MAX_RECORD <= 0xffffu, "size fits uint16_t");

/* Round a payload length up to the record alignment. */
#define UT_ALIGN_RECORD(n) \
	(((n) + (UT_RECORD_ALIGN - 1)) & ~(uint64_t)(UT_RECORD_ALIGN - 1))

/*
 * Memory barriers shared by both sides.  The ring is single producer,
 * single consumer: the producer publishes with a release store of 'head',
 * the consumer reads 'head' with an acquire load.
 */
#define ut_barrier() __asm__ __volatile__("" ::: "memory")
#define ut_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define ut_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define ut_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define ut_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ut_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ut_load_once(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ut_store_once(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

#endif /* UT_ABI_H */
