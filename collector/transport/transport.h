/*
 * transport.h: the one interface between the collection engine
 * (ingest/collect.c) and a transport.  The engine holds a ut_transport_t
 * and one ut_tp_guest_t per guest and calls through the ops table only;
 * it never asks which transport it has.
 *
 *   hosted.c   memfd + rendezvous directory (inotify)
 *   xen_tp.c   grant mapping + xenstore (over xen.h: xen.c, or xen_stub.c
 *              where the Xen libraries are absent)
 */
#ifndef UT_TRANSPORT_H
#define UT_TRANSPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector.h"

struct ut_crash_opts; /* crash.h */
struct ut_crash_job;  /* crash.h */

/* ---- hosted.c: one hosted guest (memfd + rendezvous directory) ---------- */

typedef struct ut_hosted {
	int fd;        /* our own descriptor on the guest's memfd */
	void *map;
	uint64_t size;
	bool dead;     /* the guest's flock is gone */
	int pid;       /* from the rendezvous link, not from the guest */
	int guest_fd;  /* N in /proc/PID/fd/N */
	uint64_t dev, ino; /* identity of the memfd */
} ut_hosted_t;

/* The default rendezvous directory (same rule as the hosted port). */
void ut_hosted_default_dir(char *buf, size_t cap);
/* Open and map the rendezvous entry at (path).  Refuses anything that is
 * not a symlink to /proc/PID/fd/N naming a sealed memfd of the link's
 * owner; opens that checked /proc path, never the link again.  0, or -1
 * with a reason in (err); ENOENT-style failures return -2 (stale entry),
 * -3 when out of descriptors (try again later). */
int ut_hosted_open(const char *path, ut_hosted_t *h, char *err, size_t errlen);
/* True while the guest process holds its lock. */
bool ut_hosted_alive(ut_hosted_t *h);
void ut_hosted_close(ut_hosted_t *h);
/* True if /proc/PID/fd/N still names our memfd: the process behind (h) is
 * the one that published it (guards a dump against pid reuse and lies). */
bool ut_hosted_same_process(const ut_hosted_t *h);

/* ---- the interface the engine uses --------------------------------------- */

/* One guest as the transport sees it. */
typedef struct ut_tp_guest {
	char entry[NAME_MAX + 1]; /* unique key: file name, "domN" */
	char label[NAME_MAX + 1]; /* printable, for messages */
	char path[PATH_MAX];      /* where it was found (guests.source) */
	uint32_t id;              /* Xen domid; 0 for hosted */
	void *map;                /* the shared area once opened; NULL before */
	uint64_t size;
	bool gone;                /* no longer running (first verdict stays) */
	bool crashed;             /* ... and the transport saw a crash */
	char gone_why[96];        /* why it is gone ("" if the transport
	                             cannot tell) */
	void *priv;               /* the transport's own state */
	uint64_t area_dev;        /* what the area is (hosted: the memfd's */
	uint64_t area_ino;        /* st_dev, st_ino), set by ops->open, so
	                             the engine recognises one area reached
	                             through two entries; 0, 0: cannot tell */
} ut_tp_guest_t;

/* Results of ops->open. */
enum {
	UT_TP_OK = 0,
	UT_TP_REJECT = -1, /* reason in err: reject the guest */
	UT_TP_STALE = -2,  /* its entry is stale, the guest gone: forget it */
	UT_TP_RETRY = -3,  /* not (yet) ready: try again (reason may be in err) */
	UT_TP_NOFD = -4,   /* out of descriptors (reason in err): not the
	                      guest's fault, try again later, never reject */
};

typedef struct ut_transport ut_transport_t;

/* Called by ops->scan for each guest currently published.  Non-zero stops
 * the scan. */
typedef int (*ut_tp_found_fn)(void *ctx, const char *entry,
			      const char *label, const char *path,
			      uint32_t id);

struct ut_transport {
	const char *name;  /* "hosted", "xen" */
	/* After the database is open: start watching.  0, or -1 with a
	 * message in (err).  No transport call logs. */
	int (*start)(ut_transport_t *t, char *err, size_t errlen);
	/* What we watch, for the start-up line. */
	const char *(*watching)(ut_transport_t *t);
	/* List the guests published now through (found).  -1 if the list
	 * could not be read (then nothing is forgotten), 0 when the list is
	 * complete, 1 when only part of it was read: the next call goes on
	 * (a long list is read over several cycles; what was not listed yet
	 * is not gone). */
	int (*scan)(ut_transport_t *t, ut_tp_found_fn found, void *ctx);
	/* After a successful scan: is (g) still published? */
	bool (*listed)(ut_transport_t *t, const ut_tp_guest_t *g);
	/* Wait up to (ms) for a change in what is published (or a guest's
	 * notification).  True if a rescan is due. */
	bool (*wait)(ut_transport_t *t, int ms);
	/* Map (g)'s area into g->map, g->size; may update g->label.
	 * UT_TP_OK, _REJECT, _STALE or _RETRY. */
	int (*open)(ut_transport_t *t, ut_tp_guest_t *g, char *err,
		    size_t errlen);
	/* The transport's part of the guest's identity: (rejected) when the
	 * guest could not be attached and (gi) holds only gi->name (from the
	 * label); otherwise (gi) is the guest's word, from the reader. */
	void (*guest_info)(ut_transport_t *t, const ut_tp_guest_t *g,
			   ut_guest_info_t *gi, bool rejected);
	/* Is (g) still running?  Sets g->gone, g->crashed, g->gone_why. */
	bool (*alive)(ut_transport_t *t, ut_tp_guest_t *g);
	/* Begin capturing the crash of (g) into (st) (crash.h,
	 * ut_crash_begin: the record, the transport's checks, the crash row;
	 * a domain is paused).  (*job) is the rest, for ut_crash_compute on
	 * the capture worker: it uses nothing of (g) or (t) the serving
	 * thread uses, and (g) stays open until the job is stored and freed.
	 * 0, or -1 on a store failure. */
	int (*crash)(ut_transport_t *t, ut_tp_guest_t *g, ut_store_t *st,
		     int64_t guest_id, ut_reader_t *rd,
		     const struct ut_crash_opts *co, struct ut_crash_job **job);
	/* (g) is final and stored (crashed: with status crashed). */
	void (*done)(ut_transport_t *t, ut_tp_guest_t *g, bool crashed);
	/* Unmap and release (g)'s transport state (g->map NULL after). */
	void (*close)(ut_transport_t *t, ut_tp_guest_t *g);
	/* Free the transport. */
	void (*destroy)(ut_transport_t *t);
};

/* hosted.c: guests in rendezvous directory (dir) (NULL: the default).
 * NULL when out of memory. */
ut_transport_t *ut_tp_hosted_new(const char *dir);

/* xen_tp.c: Xen domains.  NULL with a message in (err) when this is not a
 * Xen dom0 or Xen support is not built in. */
struct ut_xen_opts; /* xen.h */
ut_transport_t *ut_tp_xen_new(const struct ut_xen_opts *o, char *err,
			      size_t errlen);

#endif /* UT_TRANSPORT_H */
