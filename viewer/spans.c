/*
 * The span index: which spans of a lane are open at a given time, without
 * reading the lane from its start.
 *
 * The trace stores a span as two events, span_begin and span_end (the end
 * carries dur, so its begin is the event of the lane at ts - dur), and the
 * database has no index on events.  A window's own events and a short
 * look-ahead show the spans that begin or end near the window; a span that
 * began long before the window and ends long after it is in neither.  To
 * find it, this file keeps, per lane, checkpoints every SX_STEP events of
 * the lane: the stack of spans open there (in practice 0-3 entries), and
 * every span open across a checkpoint with its end once seen.  The spans
 * open at any position are then the stack of the checkpoint before it plus
 * fewer than SX_STEP events read through the event_blocks index and rowid
 * ranges (model_open_spans); panning forward goes on from the last answer.
 *
 * The stacks come from one pass over events in rowid order, in a thread
 * with its own read-only connection, started the first time a lane is
 * drawn in detail (zoomed in) or a span's extent is asked for.  It never
 * holds a read transaction for longer than one batch of blocks, and keeps
 * about 100 bytes per checkpoint; the screen does not wait for it: until
 * it reaches a
 * position, callers fall back to what the window shows (and the timeline
 * redraws when it gets there).  In follow mode it keeps polling for new
 * blocks.
 *
 * Nesting is per lane.  An end closes the innermost open begin with the
 * same name and the begin time ts - dur; begins above it lost their ends.
 * Across a gap in the lane's sequence numbers (lost events) the open spans
 * become uncertain: an uncertain span counts as open only once its end has
 * been seen, so a lost span_end does not leave a phantom bar to the end of
 * the lane.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli.h"
#include "tracedb.h"
#include "viewer.h"

#define SX_BATCH 64      /* event_blocks rows per read transaction */
#define SX_STEP 1024     /* events of a lane between two checkpoints */
#define SX_DEPTH 32      /* deepest stack kept; deeper begins are dropped */
#define SX_POLL_MS 500   /* follow mode: poll for new blocks */
#define SX_UNCERTAIN 0x80000000u /* in pool[]: uncertain there */
#define SX_ANSWERS 8     /* answers remembered per lane */

/* A stack entry: an open span_begin. */
struct sx_ent {
	int64_t b_id, b_ts;
	int64_t type_id;  /* event_types.id of the begin */
	uint32_t name;    /* hash of the span's name */
	bool uncertain;   /* a gap in the lane's events came after it */
	int32_t sp;       /* index in sx_lane.sp once it crossed a
			     checkpoint, else -1 */
};

struct sx_stack {
	struct sx_ent e[SX_DEPTH];
	int n;
	int64_t last_seq; /* -1: none yet */
};

/* A span open across at least one checkpoint. */
struct sx_span {
	int64_t b_id, b_ts, type_id;
	int64_t e_id, e_ts; /* -1 until its end is seen */
};

/* A checkpoint: the stack before an event of the lane. */
struct sx_blk {
	int64_t ts, row;   /* that event */
	int64_t last_seq;  /* seq of the lane's event before it */
	uint32_t off, n;   /* its stack: pool[off .. off + n - 1] */
};

struct sx_lane {
	int64_t id;           /* lanes.id */
	struct sx_blk *blk;
	size_t nblk, capblk;
	uint32_t *pool;       /* indices in sp, | SX_UNCERTAIN */
	size_t npool, cappool;
	struct sx_span *sp;   /* in b_id order */
	size_t nsp, capsp;
	bool broken;          /* blocks out of time order: no answers */
	int64_t last_ts;
	int since;            /* events since the last checkpoint */
	struct sx_stack stk;  /* the thread's stack (thread only) */
};

/* What the thread knows of event_types. */
struct sx_type {
	int8_t kind;   /* enum vw_kind, -1 unknown */
	uint32_t name; /* hash */
};

struct vw_spanidx {
	pthread_t th;
	pthread_mutex_t mu;
	char path[1024];
	bool follow;
	/* under mu */
	struct sx_lane *lanes;
	int nlanes, caplanes;
	int64_t last_block; /* highest event_blocks.id done */
	bool caught_up;     /* nothing past last_block at the last poll */
	bool stop;
	bool failed;
	uint64_t gen;       /* bumps when more is known */
	double t_start, t_done; /* ms, CLOCK_MONOTONIC */
	/* main thread only */
	struct sx_cache *cache;
	int ncache;
	/* thread only */
	sqlite3 *db;
	struct sx_type *types;
	int64_t ntypes;
};

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	void *q = realloc(*p, nc * size);
	if (!q)
		return false;
	*p = q;
	*cap = nc;
	return true;
}

/* ---- the stack of open spans (shared by the thread and the queries) ---- */

static void stk_init(struct sx_stack *s)
{
	s->n = 0;
	s->last_seq = -1;
}

/* Apply one event to (s).  Returns the entry an end closed (copied into
 * *closed) as 1, else 0. */
static int stk_apply(struct sx_stack *s, int kind, uint32_t name,
		     int64_t type_id, int64_t id, int64_t ts, int64_t dur,
		     int64_t seq, struct sx_ent *closed)
{
	if (seq >= 0) {
		if (s->last_seq >= 0 && seq != s->last_seq + 1)
			for (int i = 0; i < s->n; i++)
				s->e[i].uncertain = true;
		s->last_seq = seq;
	}
	if (kind == VK_SPAN_BEGIN) {
		if (s->n == SX_DEPTH) {
			/* drop the outermost uncertain entry, else the
			 * outermost one */
			int k = 0;
			for (int i = 0; i < s->n; i++)
				if (s->e[i].uncertain) {
					k = i;
					break;
				}
			memmove(&s->e[k], &s->e[k + 1],
				(size_t)(s->n - k - 1) * sizeof(s->e[0]));
			s->n--;
		}
		s->e[s->n++] = (struct sx_ent){ id, ts, type_id, name, false,
						-1 };
		return 0;
	}
	if (kind != VK_SPAN_END)
		return 0;
	for (int i = s->n - 1; i >= 0; i--) {
		const struct sx_ent *e = &s->e[i];
		if (e->name != name || (dur >= 0 && e->b_ts != ts - dur))
			continue;
		*closed = *e;
		s->n = i; /* and the begins above it lost their ends */
		return 1;
	}
	return 0; /* its begin was never seen */
}

/* ---- the thread ------------------------------------------------------- */

static int load_types(struct vw_spanidx *x)
{
	sqlite3_stmt *s;
	int64_t max = 0;

	if (sqlite3_prepare_v2(x->db, "SELECT max(id) FROM event_types", -1,
			       &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		max = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (max < 0 || max > 10000000)
		return -1;
	struct sx_type *t = malloc((size_t)(max + 1) * sizeof(*t));
	if (!t)
		return -1;
	for (int64_t i = 0; i <= max; i++)
		t[i] = (struct sx_type){ -1, 0 };
	if (sqlite3_prepare_v2(x->db, "SELECT id, name, kind FROM event_types",
			       -1, &s, NULL) != SQLITE_OK) {
		free(t);
		return -1;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		const char *k = (const char *)sqlite3_column_text(s, 2);
		if (id < 0 || id > max)
			continue;
		t[id].name = name_hash((const char *)sqlite3_column_text(s, 1));
		int kind = ut_kind_parse(k);
		t[id].kind = kind == VK_SPAN_BEGIN || kind == VK_SPAN_END
				     ? (int8_t)kind
				     : VK_INSTANT;
	}
	sqlite3_finalize(s);
	free(x->types);
	x->types = t;
	x->ntypes = max + 1;
	return 0;
}

/* Lane (id), created if new.  Under mu. */
static struct sx_lane *lane_get(struct vw_spanidx *x, int64_t id)
{
	for (int i = 0; i < x->nlanes; i++)
		if (x->lanes[i].id == id)
			return &x->lanes[i];
	size_t cap = (size_t)x->caplanes;
	if (!grow((void **)&x->lanes, &cap, (size_t)x->nlanes + 1,
		  sizeof(*x->lanes)))
		return NULL;
	x->caplanes = (int)cap;
	struct sx_lane *l = &x->lanes[x->nlanes++];
	memset(l, 0, sizeof(*l));
	l->id = id;
	l->last_ts = INT64_MIN;
	l->since = SX_STEP; /* a checkpoint at the first event */
	stk_init(&l->stk);
	return l;
}

/* Record checkpoint (b) of lane (l): the stack there.  Under mu. */
static int checkpoint(struct sx_lane *l, const struct sx_blk *b)
{
	if (!grow((void **)&l->blk, &l->capblk, l->nblk + 1, sizeof(*l->blk)) ||
	    !grow((void **)&l->pool, &l->cappool, l->npool + (size_t)l->stk.n,
		  sizeof(*l->pool)) ||
	    !grow((void **)&l->sp, &l->capsp, l->nsp + (size_t)l->stk.n,
		  sizeof(*l->sp)))
		return -1;
	struct sx_blk *nb = &l->blk[l->nblk++];
	*nb = *b;
	nb->off = (uint32_t)l->npool;
	nb->n = (uint32_t)l->stk.n;
	for (int i = 0; i < l->stk.n; i++) {
		struct sx_ent *e = &l->stk.e[i];
		if (e->sp < 0) {
			e->sp = (int32_t)l->nsp;
			l->sp[l->nsp++] = (struct sx_span){
				e->b_id, e->b_ts, e->type_id, -1, -1
			};
		}
		l->pool[l->npool++] =
			(uint32_t)e->sp | (e->uncertain ? SX_UNCERTAIN : 0);
	}
	return 0;
}

/* Read the events of one block into its lane's stack. */
static int block_events(struct vw_spanidx *x, sqlite3_stmt *ev,
			struct sx_lane *l, int64_t rf, int64_t rl)
{
	int rc;
	bool reloaded = false;
	sqlite3_bind_int64(ev, 1, rf);
	sqlite3_bind_int64(ev, 2, rl);
	while ((rc = sqlite3_step(ev)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(ev, 0);
		int64_t ts = sqlite3_column_int64(ev, 1);
		if (l->since >= SX_STEP && ts >= l->last_ts) {
			struct sx_blk c = { ts, id, l->stk.last_seq, 0, 0 };
			pthread_mutex_lock(&x->mu);
			int bad = checkpoint(l, &c);
			pthread_mutex_unlock(&x->mu);
			if (bad)
				break;
			l->since = 0;
		}
		l->since++;
		int64_t tid = sqlite3_column_int64(ev, 2);
		int64_t dur = sqlite3_column_type(ev, 3) == SQLITE_NULL
				      ? -1
				      : sqlite3_column_int64(ev, 3);
		int64_t seq = sqlite3_column_type(ev, 4) == SQLITE_NULL
				      ? -1
				      : sqlite3_column_int64(ev, 4);
		bool known = tid >= 0 && tid < x->ntypes &&
			     x->types[tid].kind >= 0;
		if (!known && !reloaded) { /* a type added since (follow) */
			reloaded = true;
			if (load_types(x))
				break;
			known = tid >= 0 && tid < x->ntypes &&
				x->types[tid].kind >= 0;
		}
		int kind = known ? x->types[tid].kind : VK_INSTANT;
		uint32_t name = known ? x->types[tid].name : 0;
		struct sx_ent closed;
		if (ts > l->last_ts)
			l->last_ts = ts;
		if (stk_apply(&l->stk, kind, name, tid, id, ts, dur, seq,
			      &closed) &&
		    closed.sp >= 0) {
			pthread_mutex_lock(&x->mu);
			l->sp[closed.sp].e_id = id;
			l->sp[closed.sp].e_ts = ts;
			pthread_mutex_unlock(&x->mu);
		}
	}
	sqlite3_reset(ev);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* One batch of blocks past last_block.  Returns the number done, or -1. */
static int batch(struct vw_spanidx *x, sqlite3_stmt *bl, sqlite3_stmt *ev)
{
	struct row {
		int64_t id, lane, ts_first, row_first, row_last;
	} r[SX_BATCH];
	int n = 0, rc = SQLITE_DONE;

	/* one read transaction for the batch: blocks and their events */
	if (sqlite3_exec(x->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	pthread_mutex_lock(&x->mu);
	sqlite3_bind_int64(bl, 1, x->last_block);
	pthread_mutex_unlock(&x->mu);
	sqlite3_bind_int(bl, 2, SX_BATCH);
	while (n < SX_BATCH && (rc = sqlite3_step(bl)) == SQLITE_ROW) {
		r[n] = (struct row){ sqlite3_column_int64(bl, 0),
				     sqlite3_column_int64(bl, 1),
				     sqlite3_column_int64(bl, 2),
				     sqlite3_column_int64(bl, 3),
				     sqlite3_column_int64(bl, 4) };
		n++;
	}
	sqlite3_reset(bl);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite3_exec(x->db, "COMMIT", NULL, NULL, NULL);
		return -1;
	}
	int done = 0;
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&x->mu);
		bool stop = x->stop;
		struct sx_lane *l = stop ? NULL : lane_get(x, r[i].lane);
		if (l && r[i].ts_first < l->last_ts)
			l->broken = true; /* not in time order */
		pthread_mutex_unlock(&x->mu);
		if (stop || !l)
			break;
		if (!l->broken &&
		    block_events(x, ev, l, r[i].row_first, r[i].row_last))
			break;
		pthread_mutex_lock(&x->mu);
		x->last_block = r[i].id;
		x->gen++;
		pthread_mutex_unlock(&x->mu);
		done++;
	}
	sqlite3_exec(x->db, "COMMIT", NULL, NULL, NULL);
	return done < n ? -1 : n;
}

static double now_ms(void)
{
	return (double)ut_now_ns() / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void *sx_main(void *arg)
{
	struct vw_spanidx *x = arg;
	sqlite3_stmt *bl = NULL, *ev = NULL;
	bool ok = false;

	/* the screen comes first: run this thread at a lower priority */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
	if (sqlite3_open_v2(x->path, &x->db,
			    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(x->db, 2000);
	if (load_types(x) ||
	    sqlite3_prepare_v2(x->db,
			       "SELECT id, lane, ts_first, row_first, row_last "
			       "FROM event_blocks WHERE id > ?1 ORDER BY id "
			       "LIMIT ?2",
			       -1, &bl, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(x->db,
			       "SELECT id, ts, type, dur, seq FROM events "
			       "WHERE id BETWEEN ?1 AND ?2",
			       -1, &ev, NULL) != SQLITE_OK)
		goto out;
	for (;;) {
		int n = batch(x, bl, ev);
		pthread_mutex_lock(&x->mu);
		bool stop = x->stop;
		if (n >= 0 && n < SX_BATCH && !x->caught_up) {
			x->caught_up = true;
			x->t_done = now_ms();
		}
		if (n < 0 && !stop)
			x->failed = true; /* callers fall back for good */
		pthread_mutex_unlock(&x->mu);
		if (stop || n < 0)
			break;
		if (n < SX_BATCH) {
			if (!x->follow)
				break;
			for (int i = 0; i < SX_POLL_MS / 50; i++) {
				pthread_mutex_lock(&x->mu);
				stop = x->stop;
				pthread_mutex_unlock(&x->mu);
				if (stop)
					break;
				sleep_ms(50);
			}
			if (stop)
				break;
		}
	}
	ok = true;
out:
	sqlite3_finalize(bl);
	sqlite3_finalize(ev);
	sqlite3_close(x->db);
	x->db = NULL;
	pthread_mutex_lock(&x->mu);
	if (!ok)
		x->failed = !x->stop;
	x->gen++;
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

/* ---- the interface --------------------------------------------------------- */

void spans_start(vw_model_t *m)
{
	if (m->spans)
		return;
	struct vw_spanidx *x = calloc(1, sizeof(*x));
	if (!x)
		return;
	snprintf(x->path, sizeof(x->path), "%s", m->path);
	x->follow = m->follow;
	x->t_start = now_ms();
	pthread_mutex_init(&x->mu, NULL);
	if (pthread_create(&x->th, NULL, sx_main, x)) {
		pthread_mutex_destroy(&x->mu);
		free(x);
		return;
	}
	m->spans = x;
}

void spans_stop(vw_model_t *m)
{
	struct vw_spanidx *x = m->spans;
	if (!x)
		return;
	pthread_mutex_lock(&x->mu);
	x->stop = true;
	pthread_mutex_unlock(&x->mu);
	pthread_join(x->th, NULL);
	for (int i = 0; i < x->nlanes; i++) {
		free(x->lanes[i].blk);
		free(x->lanes[i].pool);
		free(x->lanes[i].sp);
	}
	free(x->lanes);
	free(x->types);
	free(x->cache);
	pthread_mutex_destroy(&x->mu);
	free(x);
	m->spans = NULL;
}

uint64_t spans_gen(vw_model_t *m)
{
	struct vw_spanidx *x = m->spans;
	if (!x)
		return 0;
	pthread_mutex_lock(&x->mu);
	uint64_t g = x->gen;
	pthread_mutex_unlock(&x->mu);
	return g;
}

bool spans_done(vw_model_t *m)
{
	struct vw_spanidx *x = m->spans;
	if (!x)
		return false;
	pthread_mutex_lock(&x->mu);
	bool d = x->failed || (x->caught_up && x->last_block >= m->last_block);
	pthread_mutex_unlock(&x->mu);
	return d;
}

void spans_info(vw_model_t *m, double *build_ms, size_t *bytes)
{
	struct vw_spanidx *x = m->spans;
	*build_ms = -1;
	*bytes = 0;
	if (!x)
		return;
	pthread_mutex_lock(&x->mu);
	if (x->caught_up)
		*build_ms = x->t_done - x->t_start;
	for (int i = 0; i < x->nlanes; i++) {
		const struct sx_lane *l = &x->lanes[i];
		*bytes += l->capblk * sizeof(*l->blk) +
			  l->cappool * sizeof(*l->pool) +
			  l->capsp * sizeof(*l->sp) + sizeof(*l);
	}
	pthread_mutex_unlock(&x->mu);
}

/* The end of span (b_id) of lane (l) if it crossed a block boundary and
 * its end was seen.  Under mu. */
static const struct sx_span *long_span(const struct sx_lane *l, int64_t b_id)
{
	size_t lo = 0, hi = l->nsp;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->sp[mid].b_id < b_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->nsp && l->sp[lo].b_id == b_id ? &l->sp[lo] : NULL;
}

/* The events of rows [from, rl] before position (ts, id) into (s), in
 * rowid order.  Stops at the first one at or after the position (a lane's
 * rows are in time order) and returns 1, or 0 at the end of the range, or
 * -1.  *next and *next_ts: the first row not applied, the ts of the last
 * one applied. */
static int apply_rows(vw_model_t *m, struct sx_stack *s, int64_t from,
		      int64_t rl, int64_t ts, int64_t id, int64_t *next,
		      int64_t *next_ts)
{
	sqlite3_stmt *e = m->st_span_rows;
	int r, stopped = 0;

	sqlite3_bind_int64(e, 1, from);
	sqlite3_bind_int64(e, 2, rl);
	while ((r = sqlite3_step(e)) == SQLITE_ROW) {
		int64_t rid = sqlite3_column_int64(e, 0);
		int64_t rts = sqlite3_column_int64(e, 1);
		if (rts > ts || (rts == ts && rid >= id)) {
			stopped = 1;
			break;
		}
		int64_t tid = sqlite3_column_int64(e, 2);
		int ti = tid >= 0 && tid < m->type_ix_n ? m->type_ix[tid] : -1;
		struct sx_ent closed;
		m->rows_read++;
		stk_apply(s, ti >= 0 ? m->types[ti].kind : VK_INSTANT,
			  ti >= 0 ? name_hash(m->types[ti].name) : 0, tid, rid,
			  rts,
			  sqlite3_column_type(e, 3) == SQLITE_NULL
				  ? -1
				  : sqlite3_column_int64(e, 3),
			  sqlite3_column_type(e, 4) == SQLITE_NULL
				  ? -1
				  : sqlite3_column_int64(e, 4),
			  &closed);
		*next = rid + 1;
		*next_ts = rts;
	}
	sqlite3_reset(e);
	return r == SQLITE_ROW || r == SQLITE_DONE ? stopped : -1;
}

/* The events of lane (li) from row (from) (the lane's event at or after
 * time (from_ts)) to position (ts, id), block by block, into (s). */
static int apply_lane(vw_model_t *m, int li, struct sx_stack *s,
		      int64_t *from, int64_t *from_ts, int64_t ts, int64_t id)
{
	sqlite3_stmt *b = m->st_span_blocks;
	int r, rc = 0;

	sqlite3_bind_int64(b, 1, m->lanes[li].id);
	sqlite3_bind_int64(b, 2, *from_ts - m->block_span);
	sqlite3_bind_int64(b, 3, ts);
	sqlite3_bind_int64(b, 4, *from);
	while (rc == 0 && (r = sqlite3_step(b)) == SQLITE_ROW) {
		int64_t rf = sqlite3_column_int64(b, 0);
		int64_t rl = sqlite3_column_int64(b, 1);
		rc = apply_rows(m, s, rf > *from ? rf : *from, rl, ts, id, from,
				from_ts);
	}
	if (rc == 0 && r != SQLITE_DONE)
		rc = -1;
	sqlite3_reset(b);
	return rc < 0 ? -1 : 0;
}

/* The main thread's last answers for a lane: a position after one of them
 * with the same checkpoint goes on from there instead of from the
 * checkpoint (panning forward, and back over the same stretch). */
struct sx_answer {
	int64_t ck_row;        /* the checkpoint's row, -1: unused */
	int64_t ts, id;        /* the position */
	int64_t next, next_ts; /* as apply_lane left them */
	struct sx_stack s;
};

struct sx_cache {
	int64_t lane; /* lanes.id */
	struct sx_answer a[SX_ANSWERS];
	int last;     /* the slot written last */
};

static struct sx_cache *cache_of(struct vw_spanidx *x, int64_t lane)
{
	for (int i = 0; i < x->ncache; i++)
		if (x->cache[i].lane == lane)
			return &x->cache[i];
	struct sx_cache *c = realloc(x->cache,
				     (size_t)(x->ncache + 1) * sizeof(*c));
	if (!c)
		return NULL;
	x->cache = c;
	c = &x->cache[x->ncache++];
	memset(c, 0, sizeof(*c));
	c->lane = lane;
	for (int i = 0; i < SX_ANSWERS; i++)
		c->a[i].ck_row = -1;
	return c;
}

/* The latest answer of (c) from checkpoint (ck_row) not after (ts, id). */
static const struct sx_answer *answer_before(const struct sx_cache *c,
					     int64_t ck_row, int64_t ts,
					     int64_t id)
{
	const struct sx_answer *best = NULL;
	for (int i = 0; c && i < SX_ANSWERS; i++) {
		const struct sx_answer *p = &c->a[i];
		if (p->ck_row != ck_row || p->ts > ts ||
		    (p->ts == ts && p->id > id))
			continue;
		if (!best || p->ts > best->ts ||
		    (p->ts == best->ts && p->id > best->id))
			best = p;
	}
	return best;
}

int model_open_spans(vw_model_t *m, int li, int64_t ts, int64_t id,
		     vw_open_t *out, int max)
{
	struct vw_spanidx *x;
	struct sx_stack s;
	int64_t ck_row = -1, ck_ts = 0;
	int lx = -1, rc = 0;

	spans_start(m);
	x = m->spans;
	if (!x || li < 0 || li >= m->nlanes)
		return -2;
	stk_init(&s);
	pthread_mutex_lock(&x->mu);
	bool final = x->caught_up && x->last_block >= m->last_block;
	for (int i = 0; i < x->nlanes; i++)
		if (x->lanes[i].id == m->lanes[li].id)
			lx = i;
	const struct sx_lane *l = lx >= 0 ? &x->lanes[lx] : NULL;
	if (x->failed || (l && l->broken)) {
		rc = -2;
	} else if (!l) {
		rc = final ? 0 : -1; /* no block of the lane yet */
	} else {
		/* the last checkpoint before the position */
		size_t lo = 0, hi = l->nblk;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			const struct sx_blk *b = &l->blk[mid];
			if (b->ts < ts || (b->ts == ts && b->row < id))
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == l->nblk && !final &&
		    (lo == 0 || summary_count(m, li, (double)l->blk[lo - 1].ts,
					      (double)ts) > 4 * SX_STEP)) {
			/* not there yet: a closer checkpoint will come (just
			 * past the last one, as in follow mode, go on from it) */
			rc = -1;
		} else if (lo > 0) {
			const struct sx_blk *b = &l->blk[lo - 1];
			for (uint32_t i = 0; i < b->n; i++) {
				uint32_t k = l->pool[b->off + i];
				const struct sx_span *p = &l->sp[k & ~SX_UNCERTAIN];
				s.e[s.n++] = (struct sx_ent){
					p->b_id, p->b_ts, p->type_id, 0,
					(k & SX_UNCERTAIN) != 0,
					(int32_t)(k & ~SX_UNCERTAIN)
				};
			}
			ck_row = b->row;
			ck_ts = b->ts;
			s.last_seq = b->last_seq;
		}
	}
	pthread_mutex_unlock(&x->mu);
	if (rc < 0)
		return rc;
	for (int i = 0; i < s.n; i++) {
		int64_t t = s.e[i].type_id;
		int ti = t >= 0 && t < m->type_ix_n ? m->type_ix[t] : -1;
		s.e[i].name = ti >= 0 ? name_hash(m->types[ti].name) : 0;
	}

	/* the events from the checkpoint (or from the last answer, when it
	 * had the same checkpoint and was not after the position) */
	if (ck_row >= 0) {
		struct sx_cache *c = cache_of(x, m->lanes[li].id);
		const struct sx_answer *p = answer_before(c, ck_row, ts, id);
		int64_t next = ck_row, next_ts = ck_ts;
		if (p) {
			s = p->s;
			next = p->next;
			next_ts = p->next_ts;
		}
		bool same = p && p->ts == ts && p->id == id; /* a redraw */
		if (!same && apply_lane(m, li, &s, &next, &next_ts, ts, id))
			return -2;
		if (c && !same) {
			c->last = (c->last + 1) % SX_ANSWERS;
			c->a[c->last] = (struct sx_answer){ ck_row, ts, id, next,
							    next_ts, s };
		}
	}

	/* ends known from the index; uncertain spans only with their end */
	int n = 0;
	pthread_mutex_lock(&x->mu);
	l = lx >= 0 ? &x->lanes[lx] : NULL; /* the array may have moved */
	for (int i = 0; l && i < s.n && n < max; i++) {
		const struct sx_ent *e = &s.e[i];
		const struct sx_span *p =
			e->sp >= 0 ? &l->sp[e->sp] : long_span(l, e->b_id);
		vw_open_t o = { e->b_id, e->b_ts, p ? p->e_id : -1,
				p ? p->e_ts : -1, -1 };
		if (e->uncertain && o.e_id < 0)
			continue;
		int64_t t = e->type_id;
		o.type = t >= 0 && t < m->type_ix_n ? m->type_ix[t] : -1;
		out[n++] = o;
	}
	pthread_mutex_unlock(&x->mu);
	return n;
}
