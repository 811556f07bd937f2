/*
 * The collection engine and `unitrace collect`.
 *
 * One thread serves every guest: it watches the rendezvous directory,
 * attaches each guest that appears, and in each cycle drains every ring of
 * every guest into one SQLite transaction.  Only after that transaction has
 * committed are the ring tails released to the guests, so in discard mode
 * an event leaves a guest's ring only once it is on disk.  A guest that
 * writes garbage is marked corrupt and detached; the others carry on.
 *
 * Crash capture is the one slow thing a guest can ask of us (a core of a
 * huge mapping takes seconds), so it runs on a capture worker thread: the
 * serving thread validates the crash record and stores the crash row
 * (crash.h, ut_crash_begin), queues the rest (memory, core, backtraces:
 * ut_crash_compute) and keeps serving the other guests while the crashed
 * one is G_CAPTURING; once the worker is done, the serving thread stores
 * the result and the guest's status in its next cycle (ut_crash_store) and
 * then lets the guest go.  SQLite is touched by the serving thread only.
 * On exit, captures still running are waited for (each is bounded) and
 * stored.
 */
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crash.h"
#include "transport.h"
#include "xen.h"

#define GUEST_BUDGET (1u << 20) /* bytes per guest per cycle, all its rings */
#define BUSY_BYTES (64u << 10)  /* a cycle that moved less than this sleeps */
#define PENDING_MS 3000         /* how long a guest may stay in state INIT */
#define RESCAN_MS 500
#define RESCAN_MIN_MS 20        /* between passes, and 4x the last one's cost */
#define ATTACH_PER_CYCLE 64     /* entries taken from the queue, not yet
                                   opened, at most */
#define ATTACH_MS 20            /* a cycle opens no more after this long */
#define NOFD_WAIT_MS 200        /* out of descriptors: next try after this */
#define REJECT_ROWS 100         /* rejected entries stored as guests rows */
#define UT_COLLECT_MAX_ELFS 64   /* --elf options */
#define CAPTURE_POLL_MS 5       /* longest idle wait while a capture runs */

/* G_CAPTURING: final, crashed, its rings drained and its crash row
 * stored; the capture worker has its job. */
enum phase { G_PENDING, G_LIVE, G_CAPTURING, G_DONE };

struct engine;
struct cguest;

/* One published entry, known by its name (a hash table, so a rescan of a
 * directory of n entries costs O(n)): a guest being served (g), an entry
 * waiting in the queue to be opened, or one rejected (or found stale)
 * that stays here, small, only so it is not tried again while it is
 * published.  name, label and path follow each other in str[]. */
struct entry {
	struct entry *hnext;  /* hash chain */
	struct entry *qnext;  /* the queue of entries to open */
	struct cguest *g;     /* NULL: not (or no longer) attached */
	uint32_t gen;         /* the last scan that listed it */
	uint32_t id;
	bool queued;
	uint16_t label_off, path_off;
	char str[];
};

/* One crash capture handed to the worker.  The worker touches only this
 * (job, and next/done under the worker's lock). */
struct capture {
	struct capture *next;  /* the worker's queue */
	ut_crash_job_t *job;
	bool done;             /* ut_crash_compute returned */
};

struct cguest {
	struct cguest *next;
	struct engine *e;
	struct entry *ent;
	ut_tp_guest_t t;    /* the transport's view: entry, label, map */
	enum phase phase;
	int64_t first_seen_ms;
	ut_reader_t *rd;
	int64_t id;
	int64_t lane[UT_MAX_RINGS];
	uint64_t events, lost;
	uint64_t events_stored, lost_stored; /* as of the last commit */
	uint32_t next_ring;  /* where the next cycle starts draining */
	char status[16];
	uint32_t host_pid;    /* a hosted guest's process (0: not hosted) */
	struct capture *cap;  /* G_CAPTURING: the worker's job */
	uint32_t cap_state;   /* the reader's state when the capture began */
};

/* The capture worker: one thread, started at the first crash, working
 * through a FIFO of captures.  (One: libdw, which the backtraces use, is
 * not safe to use from two threads; the serving thread never uses it.) */
struct worker {
	pthread_mutex_t mu;
	pthread_cond_t work;   /* a capture queued, or quit */
	pthread_cond_t done;   /* a capture done */
	struct capture *head, **tail;
	bool started, quit;
	pthread_t th;
};

struct engine {
	ut_collect_opts_t *o;
	ut_store_t *st;
	struct cguest *guests;
	ut_transport_t *tp; /* hosted or Xen (transport.h) */
	char core_dir[PATH_MAX];
	uint64_t events;
	uint64_t lost;
	/* what the transport publishes (struct entry) */
	struct entry **tab;
	size_t tabcap, nentries;
	struct entry *qhead, **qtail;
	uint32_t gen;
	int64_t scan_cost_ms; /* of the last complete pass */
	int64_t pass_ms;      /* of the pass under way, so far */
	bool scan_partial;    /* a pass is under way */
	int64_t nofd_until;   /* no entry is opened before (ms) */
	bool nofd;            /* the last open ran out of descriptors */
	int64_t nofd_said_ms; /* when that was last said (once a minute) */
	unsigned rejected;    /* rejections stored as rows (REJECT_ROWS) */
	uint64_t rejected_unstored;
	struct worker w;
	unsigned capturing;    /* guests in G_CAPTURING */
};

static volatile sig_atomic_t stop_requested; /* the signal, or 0 */

static void on_signal(int sig)
{
	stop_requested = sig;
}

/* ---- the sink: decoded events into the store ---------------------------- */

static int sink_event(void *ctx, uint32_t ring, const ut_event_t *ev)
{
	struct cguest *g = ctx;
	g->events++;
	return ut_store_event(g->e->st, g->lane[ring], ev);
}

static int sink_lost(void *ctx, uint32_t ring, uint64_t first, uint64_t count,
		     int64_t before, int64_t after, int reason)
{
	struct cguest *g = ctx;
	g->lost += count;
	return ut_store_lost(g->e->st, g->lane[ring], first, count, before,
			     after, reason);
}

static int sink_type(void *ctx, ut_evtype_t *t)
{
	struct cguest *g = ctx;
	int rc = ut_store_evtype(g->e->st, g->id, t);

	if (rc > 0) /* a schema conflict: this guest is corrupt, not the store */
		snprintf(g->rd->err, sizeof(g->rd->err), "%s",
			 ut_store_errmsg(g->e->st));
	return rc;
}

/* ---- the capture worker ---------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->quit)
			pthread_cond_wait(&w->work, &w->mu);
		if (!w->head)
			break; /* quit, the queue empty */
		struct capture *c = w->head;
		if (!(w->head = c->next))
			w->tail = &w->head;
		pthread_mutex_unlock(&w->mu);
		ut_crash_compute(c->job); /* slow: memory, core, walks */
		pthread_mutex_lock(&w->mu);
		c->done = true;
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void worker_init(struct worker *w)
{
	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	w->tail = &w->head;
}

/* Queue (c).  0, or -1 if the thread could not be started (then the
 * capture runs here, on the serving thread, as a last resort). */
static int worker_submit(struct worker *w, struct capture *c)
{
	if (!w->started) {
		sigset_t all, old;
		/* the signals are the serving thread's (the worker's reads
		 * must not see EINTR) */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		w->started = pthread_create(&w->th, NULL, worker_main, w) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!w->started) {
			ut_crash_compute(c->job);
			c->done = true;
			return -1;
		}
	}
	pthread_mutex_lock(&w->mu);
	c->next = NULL;
	*w->tail = c;
	w->tail = &c->next;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

static bool worker_done(struct worker *w, struct capture *c)
{
	bool done;

	pthread_mutex_lock(&w->mu);
	done = c->done;
	pthread_mutex_unlock(&w->mu);
	return done;
}

/* Wait until capture (c) is done. */
static void worker_wait(struct worker *w, struct capture *c)
{
	pthread_mutex_lock(&w->mu);
	while (!c->done)
		pthread_cond_wait(&w->done, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

/* Finish what is queued and end the thread. */
static void worker_stop(struct worker *w)
{
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->quit = true;
		pthread_cond_signal(&w->work);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
		w->started = false;
	}
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->mu);
}

/* ---- guest life cycle ----------------------------------------------------- */

static void capture_free(struct engine *e, struct cguest *g)
{
	if (!g->cap)
		return;
	ut_crash_job_free(g->cap->job);
	free(g->cap);
	g->cap = NULL;
	e->capturing--;
}

static void guest_free(struct cguest *g)
{
	capture_free(g->e, g);
	if (g->ent)
		g->ent->g = NULL;
	if (g->rd) {
		ut_reader_free(g->rd);
		free(g->rd);
	}
	g->e->tp->close(g->e->tp, &g->t);
	free(g);
}

/* Store a guest we could not attach, with the reason.  Inside a tx. */
static int guest_reject(struct engine *e, struct cguest *g, const char *why)
{
	ut_guest_info_t gi;

	snprintf(g->status, sizeof(g->status), "rejected");
	g->phase = G_DONE;
	/* A directory full of junk must not flood the database (or the
	 * terminal): past REJECT_ROWS, rejections are counted only. */
	if (e->rejected >= REJECT_ROWS) {
		if (!e->rejected_unstored++ && !e->o->quiet)
			ut_msg(e->o->cmd, "%u entries rejected: later rejections "
			       "are counted, not stored or shown", REJECT_ROWS);
		return 0;
	}
	e->rejected++;
	memset(&gi, 0, sizeof(gi));
	snprintf(gi.name, sizeof(gi.name), "%.64s", g->t.label);
	e->tp->guest_info(e->tp, &g->t, &gi, true);
	snprintf(gi.source, sizeof(gi.source), "%.255s", g->t.path);
	if (!e->o->quiet)
		ut_msg(e->o->cmd, "rejected guest %s: %s", g->t.label, why);
	g->id = ut_store_guest(e->st, &gi);
	if (g->id < 0)
		return -1;
	return ut_store_guest_status(e->st, g->id, "rejected", why);
}

/* Try to attach guest (g).  Inside a tx.  Returns -1 on store failure. */
static int guest_attach(struct engine *e, struct cguest *g)
{
	char err[300];
	int rc;

	if (!g->t.map) {
		err[0] = 0;
		rc = e->tp->open(e->tp, &g->t, err, sizeof(err));
		if (rc == UT_TP_RETRY) {
			/* Not (yet) published: try again, and say so if it
			 * lasts. */
			if (ut_now_ms() - g->first_seen_ms > PENDING_MS)
				return guest_reject(e, g, err);
			return 0;
		}
		if (rc == UT_TP_STALE) { /* the guest is gone */
			g->phase = G_DONE;
			return 0;
		}
		if (rc == UT_TP_NOFD) {
			/* Not the guest's fault: it waits in the queue, and
			 * nothing is opened for a while. */
			int64_t now = ut_now_ms();
			if ((!e->nofd_said_ms || now - e->nofd_said_ms >= 60000) &&
			    !e->o->quiet) {
				ut_msg(e->o->cmd, "%s; guests wait until descriptors "
				       "are free (raise the limit: ulimit -n)", err);
				e->nofd_said_ms = now;
			}
			e->nofd = true;
			e->nofd_until = ut_now_ms() + NOFD_WAIT_MS;
			g->phase = G_DONE; /* freed after this cycle, requeued */
			snprintf(g->status, sizeof(g->status), "nofd");
			return 0;
		}
		e->nofd = false;
		if (rc < 0)
			return guest_reject(e, g, err);
		/* the same area through a second entry (another link to the
		 * memfd): attached once only */
		for (struct cguest *o = e->guests; o; o = o->next)
			if (o != g && o->t.map && (g->t.area_dev || g->t.area_ino) &&
			    o->t.area_dev == g->t.area_dev &&
			    o->t.area_ino == g->t.area_ino) {
				snprintf(err, sizeof(err), "the shared area of "
					 "%.200s, reached through another entry",
					 o->t.label);
				return guest_reject(e, g, err);
			}
	}
	if (!g->rd && !(g->rd = calloc(1, sizeof(*g->rd))))
		return guest_reject(e, g, "out of memory");
	rc = ut_reader_attach(g->rd, g->t.map, g->t.size);
	if (rc == 1) {
		if (ut_now_ms() - g->first_seen_ms > PENDING_MS)
			return guest_reject(e, g, "guest never finished writing "
						  "its header");
		return 0; /* try again next cycle */
	}
	if (rc < 0)
		return guest_reject(e, g, g->rd->err);

	ut_guest_info_t gi;
	ut_reader_guest_info(g->rd, &gi);
	snprintf(gi.source, sizeof(gi.source), "%.255s", g->t.path);
	e->tp->guest_info(e->tp, &g->t, &gi, false);
	g->id = ut_store_guest(e->st, &gi);
	if (g->id < 0)
		return -1;
	g->host_pid = strcmp(gi.platform, "hosted") ? 0 : gi.pid;
	if (ut_store_guest_status(e->st, g->id, "running", NULL))
		return -1;
	for (uint32_t i = 0; i < g->rd->nr_rings; i++) {
		g->lane[i] = ut_store_lane(e->st, g->id, g->rd->rings[i].vcpu);
		if (g->lane[i] < 0)
			return -1;
		int64_t last = ut_store_lane_last_seq(e->st, g->lane[i]);
		if (last >= 0)
			ut_reader_resume(g->rd, i, (uint64_t)last);
	}
	g->rd->on_type = sink_type;
	g->rd->on_type_ctx = g;
	ut_reader_announce(g->rd, (uint32_t)getpid());
	g->phase = G_LIVE;
	snprintf(g->status, sizeof(g->status), "running");
	if (!e->o->quiet)
		ut_msg(e->o->cmd, "attached %s (%s pid %u, %u ring%s)", gi.name,
		       gi.platform, gi.pid, gi.nr_rings,
		       gi.nr_rings == 1 ? "" : "s");
	return 0;
}

/* Mark (g) corrupt with the reader's reason.  Inside a tx. */
static int guest_corrupt(struct engine *e, struct cguest *g)
{
	if (!e->o->quiet)
		ut_msg(e->o->cmd, "guest %s is corrupt, detaching: %s",
		       g->t.label, g->rd->err);
	snprintf(g->status, sizeof(g->status), "corrupt");
	g->phase = G_DONE;
	return ut_store_guest_status(e->st, g->id, "corrupt", g->rd->err);
}

/* Final guest (g) is stored: finish its rings, store its status.  Inside
 * a tx.  0, or -1 on a store failure. */
static int guest_finish(struct engine *e, struct cguest *g, uint32_t state,
			bool crashed)
{
	const ut_sink_t sink = {g, sink_event, sink_lost};
	char why[UT_CRASH_REASON_LEN + 32] = "";

	if (crashed) {
		if (state != UT_STATE_CRASHED)
			snprintf(why, sizeof(why), "%s", g->t.gone_why);
		else
			snprintf(why, sizeof(why), "%s",
				 ut_crash_job_reason(g->cap->job));
	}
	for (uint32_t i = 0; i < g->rd->nr_rings; i++)
		if (ut_reader_finish(g->rd, i, &sink) == -2)
			return -1;
	const char *status = crashed ? "crashed"
			     : state == UT_STATE_EXITED ? "exited" : "vanished";
	snprintf(g->status, sizeof(g->status), "%s", status);
	g->phase = G_DONE;
	return ut_store_guest_status(e->st, g->id, status,
			!strcmp(status, "vanished")
			? (g->t.gone_why[0] ? g->t.gone_why
			   : "process ended without ut_shutdown (killed?)")
			: why[0] ? why : NULL);
}

/* unitrace run: the program ended with wait status (ws).  If it was a
 * guest that ended without a crash record or ut_shutdown ('vanished'),
 * its real cause replaces the guess: at once if it is stored already,
 * otherwise when it is (guest_finish, through gone_why).  0, or -1 on a
 * store failure. */
static int child_cause(struct engine *e, pid_t pid, int ws)
{
	char why[sizeof(e->guests->t.gone_why)];
	const char *name;
	int rc = 0;

	if (WIFSIGNALED(ws)) {
		name = sigabbrev_np(WTERMSIG(ws));
		if (name)
			snprintf(why, sizeof(why), "killed by SIG%s", name);
		else
			snprintf(why, sizeof(why), "killed by signal %d",
				 WTERMSIG(ws));
	} else if (WIFEXITED(ws)) {
		snprintf(why, sizeof(why), "exited with status %d without "
			 "ut_shutdown", WEXITSTATUS(ws));
	} else {
		return 0;
	}
	for (struct cguest *g = e->guests; g; g = g->next) {
		if (!g->host_pid || g->host_pid != (uint32_t)pid)
			continue;
		if (g->phase != G_DONE) {
			snprintf(g->t.gone_why, sizeof(g->t.gone_why), "%s", why);
		} else if (!strcmp(g->status, "vanished")) {
			if (ut_store_begin(e->st) ||
			    ut_store_guest_status(e->st, g->id, "vanished", why) ||
			    ut_store_commit(e->st)) {
				ut_store_rollback(e->st);
				rc = -1;
			}
		}
	}
	return rc;
}

/* Crashed guest (g) is drained: store its crash row and hand the rest of
 * the capture to the worker.  Inside a tx.  0, or -1 on a store failure. */
static int guest_capture_begin(struct engine *e, struct cguest *g,
			       uint32_t state)
{
	ut_crash_opts_t co = {e->o->no_core ? NULL : e->core_dir,
			      e->o->quiet, e->o->cmd};
	ut_crash_job_t *job;

	if (e->tp->crash(e->tp, &g->t, e->st, g->id, g->rd, &co, &job))
		return -1;
	if (!(g->cap = calloc(1, sizeof(*g->cap)))) {
		ut_crash_job_free(job);
		return -1;
	}
	g->cap->job = job;
	g->cap_state = state;
	g->phase = G_CAPTURING;
	e->capturing++;
	worker_submit(&e->w, g->cap);
	return 0;
}

/* The worker is done with (g)'s capture: store it and the guest's status.
 * Inside a tx.  0, or -1 on a store failure. */
static int guest_capture_end(struct engine *e, struct cguest *g)
{
	ut_crash_note_second(g->cap->job, g->rd);
	if (ut_crash_store(e->st, g->cap->job) ||
	    guest_finish(e, g, g->cap_state, true))
		return -1;
	capture_free(e, g);
	return 0;
}

/* Drain every ring of live guest (g).  Returns bytes moved, or -1 on a
 * store failure (fatal). */
static long guest_drain(struct engine *e, struct cguest *g)
{
	ut_reader_t *rd = g->rd;
	const ut_sink_t sink = {g, sink_event, sink_lost};
	uint32_t state = ut_reader_state(rd);
	bool alive = e->tp->alive(e->tp, &g->t);
	bool crashed = state == UT_STATE_CRASHED || g->t.crashed;
	bool final = state == UT_STATE_EXITED || crashed || !alive;
	long moved = 0;
	int rc = ut_reader_schema(rd);
	bool caught_up = !rd->schema_more; /* every type stored before DONE */

	if (rc == -2)
		return -1;
	if (rc == -1)
		return guest_corrupt(e, g) ? -1 : 0;
	/* GUEST_BUDGET bytes for all of this guest's rings, starting one
	 * ring further each cycle: a guest with 64 full rings gets no more
	 * than a guest with one, and none of its rings starves. */
	uint64_t left = GUEST_BUDGET;
	for (uint32_t k = 0; k < rd->nr_rings; k++) {
		uint32_t i = (g->next_ring + k) % rd->nr_rings;
		ut_rd_ring_t *rr = &rd->rings[i];
		uint64_t before = rr->cursor;
		long n = 0;
		while (left > rr->cursor - before &&
		       (n = ut_reader_drain(rd, i, &sink,
					    left - (rr->cursor - before))) > 0)
			;
		if (n == -2)
			return -1;
		if (n == -1)
			return guest_corrupt(e, g) ? -1 : 0;
		moved += (long)(rr->cursor - before);
		left -= rr->cursor - before;
		if (!ut_reader_caught_up(rd, i))
			caught_up = false;
	}
	g->next_ring = (g->next_ring + 1) % rd->nr_rings;
	if (final && caught_up) {
		if (crashed)
			return guest_capture_begin(e, g, state) ? -1 : moved;
		if (guest_finish(e, g, state, false))
			return -1;
	}
	return moved;
}

/* Called after the commit: release ring space, finish detaching. */
static void guest_after_commit(struct engine *e, struct cguest *g)
{
	if (g->rd && g->id > 0 && strcmp(g->status, "corrupt") &&
	    strcmp(g->status, "rejected"))
		ut_reader_release(g->rd);
	if (g->phase == G_LIVE || g->phase == G_CAPTURING) {
		ut_reader_heartbeat(g->rd);
		return;
	}
	if (g->phase != G_DONE || !g->t.map)
		return;
	if (strcmp(g->status, "corrupt") && strcmp(g->status, "rejected")) {
		if (g->rd)
			ut_reader_set_collector(g->rd, UT_COLL_DONE);
		e->tp->done(e->tp, &g->t, !strcmp(g->status, "crashed"));
		if (!e->o->quiet)
			ut_msg(e->o->cmd, "%s %s: %llu events, %llu lost",
			       g->t.label, g->status,
				(unsigned long long)g->events,
				(unsigned long long)g->lost);
	}
	e->events += g->events;
	e->lost += g->lost;
	e->tp->close(e->tp, &g->t);
	if (g->rd) {
		ut_reader_free(g->rd);
		free(g->rd);
		g->rd = NULL;
	}
}

/* ---- discovery: what the transport publishes ------------------------------ */

static size_t entry_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 0x100000001b3ull;
	return (size_t)h;
}

static struct entry **entry_slot(struct engine *e, const char *name)
{
	struct entry **pp = &e->tab[entry_hash(name) & (e->tabcap - 1)];

	while (*pp && strcmp((*pp)->str, name))
		pp = &(*pp)->hnext;
	return pp;
}

/* Double the table when it holds more entries than buckets.  -1: out of
 * memory. */
static int entry_grow(struct engine *e)
{
	size_t cap = e->tabcap ? e->tabcap * 2 : 256;
	struct entry **tab = calloc(cap, sizeof(*tab));

	if (!tab)
		return -1;
	for (size_t i = 0; i < e->tabcap; i++)
		for (struct entry *x = e->tab[i], *nx; x; x = nx) {
			nx = x->hnext;
			size_t h = entry_hash(x->str) & (cap - 1);
			x->hnext = tab[h];
			tab[h] = x;
		}
	free(e->tab);
	e->tab = tab;
	e->tabcap = cap;
	return 0;
}

static void entry_queue(struct engine *e, struct entry *x)
{
	x->qnext = NULL;
	x->queued = true;
	*e->qtail = x;
	e->qtail = &x->qnext;
}

static struct entry *entry_unqueue(struct engine *e)
{
	struct entry *x = e->qhead;

	if (x) {
		if (!(e->qhead = x->qnext))
			e->qtail = &e->qhead;
		x->queued = false;
	}
	return x;
}

/* ops->scan found (entry): mark it seen; a new one waits in the queue to
 * be opened.  Non-zero (stop the scan) when out of memory. */
static int guest_found(void *ctx, const char *entry, const char *label,
		       const char *path, uint32_t id)
{
	struct engine *e = ctx;
	size_t ln = strlen(entry) + 1, ll = strlen(label) + 1,
	       lp = strlen(path) + 1;
	struct entry *x, **pp;

	if (e->nentries >= e->tabcap && entry_grow(e))
		return -1;
	if ((x = *(pp = entry_slot(e, entry)))) {
		x->gen = e->gen;
		return 0;
	}
	if (ln + ll > UINT16_MAX || !(x = malloc(sizeof(*x) + ln + ll + lp)))
		return -1;
	memset(x, 0, sizeof(*x));
	x->gen = e->gen;
	x->id = id;
	x->label_off = (uint16_t)ln;
	x->path_off = (uint16_t)(ln + ll);
	memcpy(x->str, entry, ln);
	memcpy(x->str + ln, label, ll);
	memcpy(x->str + ln + ll, path, lp);
	*pp = x;
	e->nentries++;
	entry_queue(e, x);
	return 0;
}

/* Forget entry (x), which no guest and no queue refer to. */
static void entry_forget(struct engine *e, struct entry *x)
{
	struct entry **pp = entry_slot(e, x->str);

	*pp = x->hnext;
	e->nentries--;
	free(x);
}

/* Open up to ATTACH_PER_CYCLE queued entries: each becomes a pending
 * guest, attached by the cycle. */
static int guests_from_queue(struct engine *e)
{
	struct entry *x;
	int n = 0;

	if (ut_now_ms() < e->nofd_until)
		return 0;
	for (struct cguest *g = e->guests; g; g = g->next)
		if (g->phase == G_PENDING && !g->t.map)
			n++; /* popped before, not opened yet */
	for (; n < ATTACH_PER_CYCLE && (x = entry_unqueue(e)); n++) {
		struct cguest *g = calloc(1, sizeof(*g));
		if (!g) {
			entry_queue(e, x);
			return -1;
		}
		g->e = e;
		g->ent = x;
		x->g = g;
		snprintf(g->t.entry, sizeof(g->t.entry), "%s", x->str);
		snprintf(g->t.label, sizeof(g->t.label), "%s",
			 x->str + x->label_off);
		snprintf(g->t.path, sizeof(g->t.path), "%s", x->str + x->path_off);
		g->t.id = x->id;
		g->first_seen_ms = ut_now_ms();
		g->next = e->guests;
		e->guests = g;
	}
	return 0;
}

/* After a commit: free what is left of guests that were never attached
 * (rejected, stale, or waiting for descriptors: requeued); their entries
 * stay, small, while they are published. */
static void guests_unattached(struct engine *e)
{
	for (struct cguest **pp = &e->guests; *pp;) {
		struct cguest *g = *pp;
		bool nofd = !strcmp(g->status, "nofd");
		if (g->phase != G_DONE || g->t.map ||
		    (strcmp(g->status, "rejected") && !nofd && g->id)) {
			pp = &g->next;
			continue;
		}
		struct entry *x = g->ent;
		bool stale = !g->id && !g->status[0];
		*pp = g->next;
		guest_free(g);
		if (x && nofd)
			entry_queue(e, x);
		else if (x && stale)
			entry_forget(e, x); /* gone with its guest */
	}
}

/* Add new guests; forget finished guests that are no longer published (a
 * crashed Xen domain that is kept still is: it is not attached again),
 * and entries no longer listed. */
static void rescan(struct engine *e)
{
	int64_t t0 = ut_now_ms();
	int rc;

	if (!e->scan_partial) {
		e->gen++;
		e->pass_ms = 0;
	}
	rc = e->tp->scan(e->tp, guest_found, e);
	e->pass_ms += ut_now_ms() - t0;
	e->scan_partial = rc == 1;
	if (rc) /* unreadable, or the pass goes on in the next cycle */
		return;
	for (struct cguest **pp = &e->guests; *pp;) {
		struct cguest *g = *pp;
		if (g->phase == G_DONE && !g->t.map &&
		    !e->tp->listed(e->tp, &g->t)) {
			struct entry *x = g->ent;
			*pp = g->next;
			guest_free(g);
			if (x && !x->queued)
				entry_forget(e, x);
		} else {
			pp = &g->next;
		}
	}
	for (size_t i = 0; i < e->tabcap; i++)
		for (struct entry **pp = &e->tab[i]; *pp;) {
			struct entry *x = *pp;
			if (x->gen != e->gen && !x->g && !x->queued) {
				*pp = x->hnext;
				e->nentries--;
				free(x);
			} else {
				pp = &x->hnext;
			}
		}
	e->scan_cost_ms = e->pass_ms + (ut_now_ms() - t0);
}

/* A rescan is due: every RESCAN_MS, or on a change; never more often
 * than RESCAN_MIN_MS and four times what the last pass cost, so a
 * directory of 60 000 entries costs a bounded share of the time; and in
 * every cycle while a pass is under way (each call reads a bounded part
 * of the list). */
static bool rescan_due(struct engine *e, int64_t last, bool changed)
{
	int64_t since = ut_now_ms() - last;

	if (e->scan_partial)
		return true;
	if (since < RESCAN_MIN_MS || since < 4 * e->scan_cost_ms)
		return false;
	return changed || since >= RESCAN_MS;
}

static void entries_free(struct engine *e)
{
	for (size_t i = 0; i < e->tabcap; i++)
		while (e->tab[i]) {
			struct entry *x = e->tab[i];
			e->tab[i] = x->hnext;
			free(x);
		}
	free(e->tab);
	e->tab = NULL;
	e->tabcap = e->nentries = 0;
}

static bool wait_dir(struct engine *e, int ms)
{
	return e->tp->wait(e->tp, ms);
}

/* ---- the loop --------------------------------------------------------------- */

static bool all_done(struct engine *e)
{
	if (e->qhead && !e->nofd) /* entries not opened yet */
		return false;
	for (struct cguest *g = e->guests; g; g = g->next)
		if (g->phase != G_DONE)
			return false;
	return true;
}

/* One cycle: attach, drain, commit, release.  Returns bytes moved or -1. */
static long cycle(struct engine *e)
{
	long moved = 0;
	int64_t attach_ms = 0; /* spent opening new guests in this cycle */

	if (guests_from_queue(e))
		return -1;
	if (ut_store_begin(e->st))
		return -1;
	for (struct cguest *g = e->guests; g; g = g->next) {
		/* attaching many new guests at once waits for a later cycle
		 * past ATTACH_MS: the guests being served come first */
		if (g->phase == G_PENDING && (g->t.map || attach_ms < ATTACH_MS)) {
			int64_t t0 = ut_now_ms();
			if (guest_attach(e, g))
				goto fail;
			attach_ms += ut_now_ms() - t0;
		}
		if (g->phase == G_LIVE) {
			long n = guest_drain(e, g);
			if (n < 0)
				goto fail;
			moved += n;
		}
		if (g->phase == G_CAPTURING && worker_done(&e->w, g->cap) &&
		    guest_capture_end(e, g))
			goto fail;
	}
	if (ut_store_commit(e->st))
		goto undo; /* the store rolled back */
	for (struct cguest *g = e->guests; g; g = g->next) {
		g->events_stored = g->events;
		g->lost_stored = g->lost;
		guest_after_commit(e, g);
	}
	guests_unattached(e);
	return moved;
fail:
	ut_store_rollback(e->st);
undo:
	/* what the failed transaction held is not stored: count it out of
	 * the summary */
	for (struct cguest *g = e->guests; g; g = g->next) {
		g->events = g->events_stored;
		g->lost = g->lost_stored;
	}
	return -1;
}

/* Wait for a capture to finish (there is one). */
static void wait_capture(struct engine *e)
{
	for (struct cguest *g = e->guests; g; g = g->next)
		if (g->phase == G_CAPTURING) {
			worker_wait(&e->w, g->cap);
			return;
		}
}

/* After the worker stopped. */
static void detach_all(struct engine *e)
{
	for (struct cguest *g = e->guests; g; g = g->next) {
		if ((g->phase == G_LIVE || g->phase == G_CAPTURING) &&
		    g->t.map && g->rd)
			ut_reader_set_collector(g->rd, UT_COLL_NONE);
	}
	while (e->guests) {
		struct cguest *g = e->guests;
		e->guests = g->next;
		if (g->phase == G_LIVE || g->phase == G_CAPTURING) {
			e->events += g->events;
			e->lost += g->lost;
		}
		guest_free(g);
	}
	entries_free(e);
}

int ut_collect(ut_collect_opts_t *o)
{
	struct engine e;
	struct sigaction sa;
	char err[512], serr[PATH_MAX + 256];
	int64_t start = ut_now_ms(), last_scan = 0;
	bool child_gone = false, changed = false;
	int status = 0;

	memset(&e, 0, sizeof(e));
	e.o = o;
	worker_init(&e.w);
	e.qtail = &e.qhead;
	/* One descriptor per attached guest: take all the system allows. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Traces and cores may hold what the guests handle (addresses,
	 * payloads): keep every file we create private. */
	umask(077);
	{
		/* Absolute, so the path stored with a crash works from anywhere. */
		char cwd[PATH_MAX / 2] = "";
		char rel[PATH_MAX / 2];
		const char *slash = strrchr(o->db_path, '/');

		if (o->core_dir)
			snprintf(rel, sizeof(rel), "%s", o->core_dir);
		else if (slash) /* cores/ beside the database */
			snprintf(rel, sizeof(rel), "%.*s/cores",
				 (int)(slash - o->db_path), o->db_path);
		else
			snprintf(rel, sizeof(rel), "cores");
		if (rel[0] != '/' && !getcwd(cwd, sizeof(cwd)))
			cwd[0] = 0;
		snprintf(e.core_dir, sizeof(e.core_dir), "%s%s%s", cwd,
			 cwd[0] ? "/" : "", rel);
	}
	if (o->xen)
		e.tp = ut_tp_xen_new(o->xen, err, sizeof(err));
	else if (!(e.tp = ut_tp_hosted_new(o->dir)))
		snprintf(err, sizeof(err), "out of memory");
	if (!e.tp) {
		ut_error(o->cmd, "%s", err); /* before creating the database */
		worker_stop(&e.w);
		return 1;
	}
	e.st = ut_store_open(o->db_path, UT_STORE_CREATE, err, sizeof(err));
	if (!e.st) {
		ut_error(o->cmd, "%s", err);
		e.tp->destroy(e.tp);
		worker_stop(&e.w);
		return 1;
	}
	if (e.tp->start(e.tp, serr, sizeof(serr))) {
		ut_error(o->cmd, "%s", serr);
		ut_store_close(e.st);
		e.tp->destroy(e.tp);
		worker_stop(&e.w);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	stop_requested = 0;
	if (!o->quiet && !o->child_pid)
		ut_msg(o->cmd, "watching %s, writing %s%s",
			e.tp->watching(e.tp), o->db_path,
			o->duration > 0 ? "" : " (Ctrl-C to stop)");

	for (;;) {
		if (wait_dir(&e, 0))
			changed = true;
		if (rescan_due(&e, last_scan, changed)) {
			if (!e.scan_partial) { /* a new pass */
				last_scan = ut_now_ms();
				changed = false;
			}
			rescan(&e);
		}
		long moved = cycle(&e);
		if (moved < 0) {
			ut_error(o->cmd, "database write failed: %s; what was "
				 "committed before is intact; events not yet stored "
				 "stay in the rings of guests still running (discard "
				 "mode), for a restarted collector",
				 ut_store_errmsg(e.st));
			status = 1;
			break;
		}
		if (o->child_pid && !child_gone) {
			int ws;
			siginfo_t si;
			/* WNOWAIT first: a ptrace stop of the capture's freeze
			 * (hosted_dump.c) is reported here too, and is the
			 * worker's to take; only the child's end is reaped. */
			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, (id_t)o->child_pid, &si, WEXITED | WNOHANG |
				   WNOWAIT) == 0 && si.si_pid == o->child_pid &&
			    si.si_code != CLD_TRAPPED && si.si_code != CLD_STOPPED &&
			    waitpid(o->child_pid, &ws, WNOHANG) == o->child_pid) {
				o->child_status = ws;
				o->child_reaped = true;
				child_gone = true;
				if (child_cause(&e, o->child_pid, ws)) {
					ut_error(o->cmd, "database write failed: %s",
						 ut_store_errmsg(e.st));
					status = 1;
					break;
				}
				rescan(&e);
				last_scan = ut_now_ms();
				continue; /* one more cycle for what it left */
			}
		}
		if (child_gone && all_done(&e))
			break;
		/* unitrace run: SIGTERM goes on to the program (Ctrl-C's SIGINT
		 * reached it already); keep collecting until it exits. */
		if (o->child_pid && !child_gone && stop_requested == SIGTERM) {
			kill(o->child_pid, SIGTERM);
			stop_requested = 0;
		}
		if (!o->child_pid && stop_requested)
			break;
		if (o->duration > 0 && ut_now_ms() - start >= (int64_t)(o->duration * 1000))
			break;
		/* a capture's end is noticed by the next cycle: not long */
		if (moved < (long)BUSY_BYTES &&
		    wait_dir(&e, e.capturing && o->poll_ms > CAPTURE_POLL_MS
				 ? CAPTURE_POLL_MS : (int)o->poll_ms))
			changed = true;
	}
	/* A last drain before leaving; captures still running are waited for
	 * (each is bounded) and stored, with what their guests emitted. */
	while (status == 0) {
		if (cycle(&e) < 0) {
			status = 1;
			break;
		}
		if (!e.capturing)
			break;
		wait_capture(&e);
	}
	worker_stop(&e.w); /* after a store failure: lets running ones end */
	detach_all(&e);
	if (!o->quiet)
		ut_msg(o->cmd, "%llu events stored, %llu lost, in %s",
			(unsigned long long)e.events,
			(unsigned long long)e.lost, o->db_path);
	if (e.rejected_unstored && !o->quiet)
		ut_msg(o->cmd, "%llu more entries rejected and not stored "
		       "(only the first %u are)",
		       (unsigned long long)e.rejected_unstored, REJECT_ROWS);
	e.tp->destroy(e.tp);
	ut_store_close(e.st);
	return status;
}

/* ---- unitrace collect ------------------------------------------------------ */

static const char collect_usage[] =
	"usage: unitrace collect [-o DB] [--dir DIR] [--poll-ms N] [--duration S]\n"
	"                        [--core-dir DIR | --no-core] [-q]\n"
	"       unitrace collect --xen [--on-crash keep|destroy] [--elf PATH] ...\n"
	"\n"
	"Watch the rendezvous directory, attach every hosted guest that appears\n"
	"and store its events in DB until interrupted (SIGINT or SIGTERM flush\n"
	"and exit cleanly).\n"
	"\n"
	"  -o, --output DB   database file (default: $UNITRACE_DB or ./trace.db)\n"
	"  -d, --dir DIR     rendezvous directory (default: $UNITRACE_DIR, else\n"
	"                    /run/unitrace for root, $XDG_RUNTIME_DIR/unitrace,\n"
	"                    or /tmp/unitrace-UID)\n"
	"      --poll-ms N   idle poll interval in milliseconds (default 5)\n"
	"      --duration S  stop after S seconds\n"
	"      --core-dir DIR\n"
	"                    where cores of crashed guests go (default: cores/\n"
	"                    beside the database)\n"
	"      --no-core     capture crashes (record, backtrace, last events)\n"
	"                    without writing core files\n"
	"  -q, --quiet       print errors only\n"
	"\n"
	"Xen (run in dom0, as root):\n"
	"      --xen         attach the Xen domains that publish a unitrace area\n"
	"                    under /local/domain/ID/data/unitrace in xenstore,\n"
	"                    instead of watching a rendezvous directory\n"
	"      --on-crash keep|destroy\n"
	"                    after capturing a crashed domain (on_crash=\"preserve\"),\n"
	"                    leave it for xl (default) or destroy it\n"
	"      --elf [NAME=]PATH\n"
	"                    the unikernel's ELF, to symbolize crash backtraces;\n"
	"                    NAME=PATH for guests whose name matches the glob\n"
	"                    NAME (repeatable: the first match wins, a bare PATH\n"
	"                    serves the other guests)\n";

/* Options shared by collect and run; returns 0, or 2 on a usage error. */
int ut_collect_parse_poll(const char *cmd, const char *arg, unsigned *out);
int ut_collect_parse_poll(const char *cmd, const char *arg, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);
	if (*end || v < 1 || v > 10000) {
		ut_error(cmd, "--poll-ms wants 1..10000, got '%s'", arg);
		return 2;
	}
	*out = (unsigned)v;
	return 0;
}

static int collect_run(int argc, char **argv)
{
	static const struct option lo[] = {
		{"output", required_argument, NULL, 'o'},
		{"dir", required_argument, NULL, 'd'},
		{"poll-ms", required_argument, NULL, 'p'},
		{"duration", required_argument, NULL, 't'},
		{"core-dir", required_argument, NULL, 'C'},
		{"no-core", no_argument, NULL, 'N'},
		{"quiet", no_argument, NULL, 'q'},
		{"xen", no_argument, NULL, 'X'},
		{"on-crash", required_argument, NULL, 'K'},
		{"elf", required_argument, NULL, 'E'},
		{NULL, 0, NULL, 0},
	};
	ut_collect_opts_t o;
	ut_xen_opts_t xo = {"collect", false, UT_XEN_CRASH_KEEP, NULL, 0};
	const char *elfs[UT_COLLECT_MAX_ELFS];
	bool xen = false, xen_only = false;
	const char *db = getenv("UNITRACE_DB");
	int c;

	memset(&o, 0, sizeof(o));
	o.cmd = "collect";
	o.db_path = db && *db ? db : "trace.db";
	o.poll_ms = 5;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:d:q", lo, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'o': o.db_path = optarg; break;
		case 'd': o.dir = optarg; break;
		case 'q': o.quiet = true; break;
		case 'C': o.core_dir = optarg; break;
		case 'N': o.no_core = true; break;
		case 'X': xen = true; break;
		case 'E': {
			char err[PATH_MAX + 64];
			xen_only = true;
			if (xo.nelfs == UT_COLLECT_MAX_ELFS) {
				ut_error("collect", "more than %d --elf options",
					 UT_COLLECT_MAX_ELFS);
				return 2;
			}
			if (ut_xen_elf_check(optarg, err, sizeof(err))) {
				ut_error("collect", "--elf %s", err);
				return 2;
			}
			elfs[xo.nelfs++] = optarg;
			xo.elfs = elfs;
			break;
		}
		case 'K':
			xen_only = true;
			if (!strcmp(optarg, "keep")) {
				xo.on_crash = UT_XEN_CRASH_KEEP;
			} else if (!strcmp(optarg, "destroy")) {
				xo.on_crash = UT_XEN_CRASH_DESTROY;
			} else {
				ut_error("collect", "--on-crash wants keep or destroy, "
					 "got '%s'", optarg);
				return 2;
			}
			break;
		case 'p':
			if (ut_collect_parse_poll("collect", optarg, &o.poll_ms))
				return 2;
			break;
		case 't':
			o.duration = strtod(optarg, &end);
			if (*end || o.duration <= 0) {
				ut_error("collect", "--duration wants seconds > 0, got '%s'",
					 optarg);
				return 2;
			}
			break;
		default:
			ut_error("collect", "unknown or incomplete option '%s'; see "
				 "'unitrace collect --help'", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		ut_error("collect", "unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (xen_only && !xen) {
		ut_error("collect", "--on-crash and --elf go with --xen");
		return 2;
	}
	if (xen && o.dir) {
		ut_error("collect", "--dir and --xen exclude each other");
		return 2;
	}
	if (xen) {
		xo.quiet = o.quiet;
		o.xen = &xo;
	}
	return ut_collect(&o);
}

const struct ut_cmd ut_cmd_collect = {
	.name = "collect",
	.summary = "collect traces from running guests into a database",
	.usage = collect_usage,
	.run = collect_run,
};
