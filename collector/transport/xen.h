/*
 * xen.h: the collector's Xen transport.
 *
 *   xen_keys.c  parsing and validation of what a guest publishes in
 *               xenstore, decoding of its grant directory pages, register
 *               conversion (no Xen library: always built, unit-tested)
 *   xen.c       the backend (libxenctrl, libxenstore, libxengnttab,
 *               libxenevtchn): discovery by xenstore watch, grant mapping
 *               of the shared area, event channel, domain state
 *   xen_dump.c  crash capture of a preserved domain (xc_vcpu_getcontext /
 *               HVM context, xenforeignmemory_map, ut_core_write)
 *   xen_stub.c  replaces xen.c and xen_dump.c where the Xen libraries are
 *               absent: ut_xen_open fails with a clear message
 *   xen_tp.c    the engine's transport interface (transport.h) over the
 *               functions below; built with xen.c or xen_stub.c alike
 *
 * The guest (tracer-guest/port_xen.c) publishes under
 * /local/domain/<domid>/data/unitrace/: abi-version "1", name, area-pages,
 * dir-refs (comma-separated grant refs of the directory pages, each holding
 * up to 1024 little-endian uint32 grant refs of the area pages, in order),
 * event-channel (unbound port for our domain) and state "ready", written
 * last.  Every one of these values is hostile input.
 *
 * The engine (collect.c) reaches it only through transport.h and uses the
 * mapping exactly as it uses a hosted guest's memfd mapping:
 * ut_reader_attach, drain, commit, release.
 */
#ifndef UT_XEN_H
#define UT_XEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector.h"

/* ---- xen_keys.c: xenstore values (pure, no Xen library) ---------------- */

#include "ut_xenstore.h" /* keys and limits, shared with the guest */

/* What a guest published, validated. */
typedef struct ut_xen_keys {
	uint32_t abi_version;
	char name[UT_NAME_LEN + 1];  /* printable ASCII; "" if absent */
	uint32_t area_pages;         /* 1..UT_XEN_MAX_AREA_PAGES */
	uint32_t ndir;               /* == ceil(area_pages / 1024) */
	uint32_t dir_refs[UT_XEN_MAX_DIR_PAGES];
	uint32_t evtchn;             /* the guest's unbound port */
} ut_xen_keys_t;

/* Read key (key) (relative: "area-pages") of one guest.  Returns the value
 * and its length in (*len) (not necessarily NUL-terminated), or NULL if
 * the key is missing.  The result is passed to (free_fn) afterwards. */
typedef struct ut_xen_kv {
	void *ctx;
	void *(*get)(void *ctx, const char *key, size_t *len);
	void (*free_fn)(void *ctx, void *val);
} ut_xen_kv_t;

/* Parse (s, len) as a decimal integer 0..(max): digits only (no sign, no
 * spaces, no "0x"), at most UT_XEN_MAX_NUM_LEN of them, no leading zero
 * except "0" itself, no overflow.  0 and *out, or -1. */
int ut_xen_parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out);

/* Read and validate every key through (kv) into (k).  0, or -1 with the
 * reason in (err): missing key, not decimal, out of range, too long, a
 * directory-page count that does not match area-pages, duplicate refs.
 * A state other than "ready" is not checked here. */
int ut_xen_keys_read(const ut_xen_kv_t *kv, ut_xen_keys_t *k, char *err,
		     size_t errlen);

/* Decode the directory: (dir) is a copy of the k->ndir pages (4096 bytes
 * each, guest-written) in order; write the k->area_pages grant refs to
 * (refs).  Entries past area_pages in the last page are ignored.  0, or
 * -1 with the reason in (err) (a ref repeated: the guest would alias two
 * pages of its area). */
int ut_xen_dir_decode(const ut_xen_keys_t *k, const uint8_t *dir,
		      uint32_t *refs, char *err, size_t errlen);

/* Is (name) a /local/domain entry naming a domain we may serve (decimal,
 * not 0 = ourselves, below DOMID_FIRST_RESERVED)?  Sets (*domid). */
bool ut_xen_domid_parse(const char *name, uint32_t *domid);

/* The signal a debugger shows for a crash record of (kind) with (signo)
 * (the vector for UT_CRASH_TRAP): #DE #MF #XM SIGFPE, #UD SIGILL, #DB #BP
 * SIGTRAP, #AC SIGBUS, other vectors SIGSEGV; a panic SIGABRT; a signal
 * its own number (when 1..64); 0 (no record) SIGSEGV. */
int32_t ut_xen_trap_signo(uint32_t kind, int32_t signo);

/* Register conversion into enum ut_x86_64_reg order (regs[27]).  (ctx) is
 * a struct vcpu_guest_context (x86-64, from xc_vcpu_getcontext); (cpu) a
 * struct hvm_hw_cpu (HVM_SAVE_CODE(CPU)).  orig_rax is set to -1 (no
 * system call to restart).  Defined in xen_dump.c (needs Xen headers). */
struct vcpu_guest_context;
struct hvm_hw_cpu;
void ut_xen_regs_from_pv(const struct vcpu_guest_context *ctx,
			 uint64_t regs[UT_CRASH_NREGS]);
void ut_xen_regs_from_hvm(const struct hvm_hw_cpu *cpu,
			  uint64_t regs[UT_CRASH_NREGS]);

/* ---- xen.c: the backend (xen_stub.c where there is no Xen) -------------- */

typedef struct ut_xen ut_xen_t;         /* the handles, watches */
typedef struct ut_xen_dom ut_xen_dom_t; /* one attached domain */

enum ut_xen_on_crash {
	UT_XEN_CRASH_KEEP = 0,    /* leave the preserved domain for xl */
	UT_XEN_CRASH_DESTROY = 1, /* destroy it once the crash is stored */
};

typedef struct ut_xen_opts {
	const char *cmd;      /* for messages */
	bool quiet;
	int on_crash;         /* enum ut_xen_on_crash */
	/* --elf [NAME=]PATH, in command-line order: the unikernel ELF for
	 * the symbols of a guest named NAME (a glob), or of any guest */
	const char *const *elfs;
	size_t nelfs;
} ut_xen_opts_t;

/* The ELF for guest (name): the first NAME=PATH whose glob matches it,
 * else the last bare PATH, else NULL.  Always built (xen_keys.c). */
const char *ut_xen_elf_for(const ut_xen_opts_t *o, const char *name);
/* Check one --elf argument; 0, or -1 with a reason in (err). */
int ut_xen_elf_check(const char *spec, char *err, size_t errlen);

/* Open the Xen libraries and set the xenstore watches.  NULL with a
 * message in (err) when this is not a Xen dom0 (no /dev/xen/privcmd) or a
 * library cannot be opened.  Never logs. */
ut_xen_t *ut_xen_open(const ut_xen_opts_t *o, char *err, size_t errlen);
void ut_xen_close(ut_xen_t *x);

/* List the domains whose unitrace state is "ready" into (domids) (room
 * for (cap)).  Returns how many (capped at cap), -1 on a xenstore error. */
int ut_xen_scan(ut_xen_t *x, uint32_t *domids, int cap);
/* True while domain (domid) still exists (even dying or shut down). */
bool ut_xen_dom_exists(ut_xen_t *x, uint32_t domid);

/* Wait up to (ms) for a xenstore watch or an event channel notification.
 * True if a xenstore watch fired (rescan). */
bool ut_xen_wait(ut_xen_t *x, int ms);

/*
 * Attach domain (domid): read and validate its keys, map and decode its
 * directory, map its area as one contiguous read-write mapping, bind its
 * event channel (failure to bind is not fatal: we poll).  Returns 0 with
 * (*out), -1 with the reason in (err) (hostile or broken keys, grants that
 * cannot be mapped: reject the guest), or -2 if the domain or its keys
 * went away (stale).  (label) receives a printable name for messages.
 */
int ut_xen_dom_open(ut_xen_t *x, uint32_t domid, ut_xen_dom_t **out,
		    char *label, size_t labellen, char *err, size_t errlen);
void *ut_xen_dom_area(const ut_xen_dom_t *d, uint64_t *size);
uint32_t ut_xen_dom_id(const ut_xen_dom_t *d);
/*
 * Is the domain still running?  False once it is gone, dying or shut down;
 * then (*crashed) tells whether it shut down with reason crash, and (why)
 * (may be NULL) a reason for the guests table ("domain shut down (reason
 * poweroff) without ut_shutdown", ...).
 */
bool ut_xen_dom_alive(ut_xen_t *x, ut_xen_dom_t *d, bool *crashed, char *why,
		      size_t whylen);
/* The guest is done (exited, crashed and captured, vanished): apply the
 * crash policy to a crashed domain (destroy it or keep it). */
void ut_xen_dom_done(ut_xen_t *x, ut_xen_dom_t *d, bool crashed);
/* Unbind, unmap, free.  (d) may be NULL. */
void ut_xen_dom_close(ut_xen_t *x, ut_xen_dom_t *d);

/* ---- xen_dump.c: crash capture of a preserved domain -------------------- */

/*
 * Begin capturing the crash of domain (d) (crash.h, ut_crash_begin; inside
 * a store transaction): validate its crash record, pause it, read its
 * vCPUs, store the crash row.  The job in (*job) does the rest on the
 * capture worker (probe and map its frames, write the ELF core, walk the
 * frame pointers, symbolize from the unikernel ELF if one was given,
 * unpause) through handles of its own: it shares no Xen handle with (x).
 * 0, or -1 on a store failure (fatal for the collector).
 */
struct ut_crash_opts; /* crash.h */
struct ut_crash_job;  /* crash.h */
int ut_crash_begin_xen(ut_store_t *st, int64_t guest_id, ut_reader_t *rd,
		       ut_xen_t *x, ut_xen_dom_t *d,
		       const struct ut_crash_opts *o, struct ut_crash_job **job);


/* ---- private to xen.c and xen_dump.c (which need the Xen headers) ------- */
#ifdef UT_XEN_PRIVATE
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xenstore.h>

struct ut_xen {
	ut_xen_opts_t o;
	struct xentoollog_logger log; /* keeps the last message, prints none */
	char lastlog[256];
	xc_interface *xch;
	struct xs_handle *xs;
	xengnttab_handle *xgt;
	xenevtchn_handle *xce;        /* NULL: poll only */
	xenforeignmemory_handle *fmem; /* NULL: no memory dumps */
	uint32_t *watched;            /* domains whose state key we watch */
	size_t nwatched, capwatched;
};

struct ut_xen_dom {
	uint32_t domid;
	char name[UT_NAME_LEN + 1];
	void *area;
	uint32_t npages;
	int port;                     /* our end of its event channel; -1 */
};

/* The library's last logged message ("" if none), for error texts. */
const char *ut_xen_lastlog(ut_xen_t *x);
/* Control and foreign-memory handles of their own, for a crash capture on
 * the capture worker (libxenctrl keeps per-handle error state and our
 * logger writes lastlog: a handle serves one thread); the options of (x).
 * NULL with the reason in (err).  Close with ut_xen_close. */
ut_xen_t *ut_xen_open_dump(const ut_xen_t *x, char *err, size_t errlen);
#endif /* UT_XEN_PRIVATE */

#endif /* UT_XEN_H */
