/*
 * The viewer's queries.  Everything the screen shows comes from here, and
 * nothing here reads more than the screen needs: a window of one lane is
 * found through the event_blocks index (lane, ts_first) and read as rowid
 * ranges of events; stepping to the next/previous event reads block by
 * block; counts for zoomed-out screens come from summary.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cli.h"
#include "tracedb.h"
#include "ut_abi.h"
#include "viewer.h"

_Static_assert((int)VK_INSTANT == UT_KIND_INSTANT &&
		       (int)VK_SPAN_BEGIN == UT_KIND_SPAN_BEGIN &&
		       (int)VK_SPAN_END == UT_KIND_SPAN_END &&
		       (int)VK_COUNTER == UT_KIND_COUNTER &&
		       (int)VK_LOG == UT_KIND_LOG &&
		       (int)VK__COUNT == UT_KIND__COUNT,
	       "enum vw_kind is enum ut_event_kind");

const char *model_kind_name(int k)
{
	const char *n = ut_kind_name(k);
	return n ? n : "?";
}

/* An unknown kind is shown as an instant. */
static int kind_of(const char *s)
{
	int k = ut_kind_parse(s);
	return k >= 0 ? k : VK_INSTANT;
}

static void sqlerr(vw_model_t *m, const char *what)
{
	snprintf(m->err, sizeof(m->err), "%s: %s", what, sqlite3_errmsg(m->db));
}

static sqlite3_stmt *prep(vw_model_t *m, const char *sql)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v3(m->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
			       NULL) != SQLITE_OK) {
		sqlerr(m, "preparing a query");
		return NULL;
	}
	return s;
}

static void copy_text(char *dst, size_t len, const unsigned char *src)
{
	snprintf(dst, len, "%s", src ? (const char *)src : "");
}

/* ---- event vectors ------------------------------------------------------ */

void evvec_push(vw_evvec_t *v, const vw_ev_t *e)
{
	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 256;
		vw_ev_t *p = realloc(v->v, nc * sizeof(*p));
		if (!p)
			return; /* drop: the screen shows less */
		v->v = p;
		v->cap = nc;
	}
	v->v[v->n++] = *e;
}

void evvec_clear(vw_evvec_t *v)
{
	v->n = 0;
}

void evvec_free(vw_evvec_t *v)
{
	free(v->v);
	memset(v, 0, sizeof(*v));
}

static int ev_cmp(const void *a, const void *b)
{
	const vw_ev_t *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

void evvec_sort(vw_evvec_t *v)
{
	/* usually sorted already: check before paying for qsort */
	for (size_t i = 1; i < v->n; i++)
		if (ev_cmp(&v->v[i - 1], &v->v[i]) > 0) {
			qsort(v->v, v->n, sizeof(*v->v), ev_cmp);
			return;
		}
}

/* Fill (e) from columns id, ts, type, dur, a0 of (s). */
static void row_ev(vw_model_t *m, sqlite3_stmt *s, int li, vw_ev_t *e)
{
	int64_t tid = sqlite3_column_int64(s, 2);
	e->id = sqlite3_column_int64(s, 0);
	e->ts = sqlite3_column_int64(s, 1);
	e->type = (tid >= 0 && tid < m->type_ix_n) ? m->type_ix[tid] : -1;
	e->dur = sqlite3_column_type(s, 3) == SQLITE_NULL
			 ? -1
			 : sqlite3_column_int64(s, 3);
	int t = sqlite3_column_type(s, 4);
	e->has_val = t == SQLITE_INTEGER || t == SQLITE_FLOAT;
	e->val = e->has_val ? sqlite3_column_double(s, 4) : 0;
	e->lane = li;
	m->rows_read++;
}

/* ---- loading ------------------------------------------------------------ */

static int span_style(const char *name)
{
	uint32_t h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return VS_SPAN0 + (int)(h % VS_NSPAN);
}

static int load_guests(vw_model_t *m)
{
	sqlite3_stmt *s;
	int n = 0, cap = 0;
	vw_guest_t *g = NULL;

	if (sqlite3_prepare_v2(m->db,
			       "SELECT id, name, status FROM guests ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK) {
		sqlerr(m, "reading guests");
		return -1;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			vw_guest_t *p = realloc(g, (size_t)cap * sizeof(*g));
			if (!p)
				break;
			g = p;
		}
		memset(&g[n], 0, sizeof(g[n]));
		g[n].id = sqlite3_column_int64(s, 0);
		copy_text(g[n].name, sizeof(g[n].name),
			  sqlite3_column_text(s, 1));
		copy_text(g[n].status, sizeof(g[n].status),
			  sqlite3_column_text(s, 2));
		for (int i = 0; i < m->nguests; i++) /* keep the filter */
			if (m->guests[i].id == g[n].id)
				g[n].hidden = m->guests[i].hidden;
		n++;
	}
	int rc = sqlite3_finalize(s);
	if (rc != SQLITE_OK) {
		sqlerr(m, "reading guests");
		free(g);
		return -1;
	}
	free(m->guests);
	m->guests = g;
	m->nguests = n;
	return 0;
}

static int load_types(vw_model_t *m)
{
	sqlite3_stmt *s, *f;
	int n = 0, cap = 0;
	vw_type_t *t = NULL;
	int64_t maxid = 0;

	if (sqlite3_prepare_v2(m->db,
			       "SELECT id, guest_id, name, kind FROM "
			       "event_types ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK) {
		sqlerr(m, "reading event_types");
		return -1;
	}
	if (sqlite3_prepare_v2(m->db,
			       "SELECT idx, name, type, hex FROM event_fields "
			       "WHERE type_id = ? ORDER BY idx",
			       -1, &f, NULL) != SQLITE_OK) {
		sqlerr(m, "reading event_fields");
		sqlite3_finalize(s);
		return -1;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			vw_type_t *p = realloc(t, (size_t)cap * sizeof(*t));
			if (!p)
				break;
			t = p;
		}
		vw_type_t *y = &t[n];
		memset(y, 0, sizeof(*y));
		y->id = sqlite3_column_int64(s, 0);
		y->guest_id = sqlite3_column_int64(s, 1);
		copy_text(y->name, sizeof(y->name), sqlite3_column_text(s, 2));
		y->kind = kind_of((const char *)sqlite3_column_text(s, 3));
		y->style = span_style(y->name);
		for (int i = 0; i < m->ntypes; i++) /* keep the filter */
			if (m->types[i].id == y->id)
				y->hidden = m->types[i].hidden;
		sqlite3_bind_int64(f, 1, y->id);
		while (sqlite3_step(f) == SQLITE_ROW) {
			int ix = sqlite3_column_int(f, 0);
			if (ix < 0 || ix >= VW_MAXF)
				continue;
			copy_text(y->fname[ix], sizeof(y->fname[ix]),
				  sqlite3_column_text(f, 1));
			copy_text(y->ftype[ix], sizeof(y->ftype[ix]),
				  sqlite3_column_text(f, 2));
			y->hex[ix] = sqlite3_column_int(f, 3) != 0;
			if (ix + 1 > y->nfields)
				y->nfields = ix + 1;
		}
		sqlite3_reset(f);
		if (y->id > maxid)
			maxid = y->id;
		n++;
	}
	sqlite3_finalize(f);
	if (sqlite3_finalize(s) != SQLITE_OK) {
		sqlerr(m, "reading event_types");
		free(t);
		return -1;
	}
	int32_t *ix = malloc((size_t)(maxid + 1) * sizeof(*ix));
	if (!ix) {
		free(t);
		snprintf(m->err, sizeof(m->err), "out of memory");
		return -1;
	}
	for (int64_t i = 0; i <= maxid; i++)
		ix[i] = -1;
	for (int i = 0; i < n; i++)
		ix[t[i].id] = i;
	free(m->types);
	free(m->type_ix);
	m->types = t;
	m->ntypes = n;
	m->type_ix = ix;
	m->type_ix_n = maxid + 1;
	return 0;
}

static int guest_index(const vw_model_t *m, int64_t gid)
{
	for (int i = 0; i < m->nguests; i++)
		if (m->guests[i].id == gid)
			return i;
	return -1;
}

static int load_lanes(vw_model_t *m)
{
	sqlite3_stmt *s;
	int n = 0, cap = 0;
	vw_lane_t *l = NULL;

	if (sqlite3_prepare_v2(m->db,
			       "SELECT id, guest_id, vcpu, lost_count FROM "
			       "lanes ORDER BY guest_id, vcpu",
			       -1, &s, NULL) != SQLITE_OK) {
		sqlerr(m, "reading lanes");
		return -1;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			vw_lane_t *p = realloc(l, (size_t)cap * sizeof(*l));
			if (!p)
				break;
			l = p;
		}
		vw_lane_t *x = &l[n];
		memset(x, 0, sizeof(*x));
		x->id = sqlite3_column_int64(s, 0);
		x->guest_id = sqlite3_column_int64(s, 1);
		x->vcpu = (uint32_t)sqlite3_column_int64(s, 2);
		x->nlost = sqlite3_column_int64(s, 3);
		x->gi = guest_index(m, x->guest_id);
		x->ts_first = INT64_MAX;
		x->ts_last = INT64_MIN;
		x->counter = -1;
		/* keep what an earlier load knew (follow mode) */
		for (int i = 0; i < m->nlanes; i++)
			if (m->lanes[i].id == x->id) {
				x->ts_first = m->lanes[i].ts_first;
				x->ts_last = m->lanes[i].ts_last;
				x->nevents = m->lanes[i].nevents;
				x->sum = m->lanes[i].sum;
				x->counter = m->lanes[i].counter;
				m->lanes[i].sum.cnt = NULL;
			}
		n++;
	}
	if (sqlite3_finalize(s) != SQLITE_OK) {
		sqlerr(m, "reading lanes");
		free(l);
		return -1;
	}
	/* the first counter type of the guest is the lane's sparkline */
	for (int i = 0; i < n; i++) {
		if (l[i].counter >= 0)
			continue;
		for (int t = 0; t < m->ntypes; t++)
			if (m->types[t].kind == VK_COUNTER &&
			    m->types[t].guest_id == l[i].guest_id) {
				l[i].counter = t;
				break;
			}
	}
	for (int i = 0; i < m->nlanes; i++)
		free(m->lanes[i].sum.cnt);
	free(m->lanes);
	m->lanes = l;
	m->nlanes = n;
	return 0;
}

static int64_t scalar(vw_model_t *m, const char *sql, int64_t dflt)
{
	sqlite3_stmt *s;
	int64_t v = dflt;

	if (sqlite3_prepare_v2(m->db, sql, -1, &s, NULL) != SQLITE_OK)
		return dflt;
	if (sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int load_crashes(vw_model_t *m)
{
	sqlite3_stmt *s;
	int n = 0, cap = 0;
	vw_crash_t *c = NULL;

	/* crashes.vcpu came with crash capture; older files lack it */
	bool has_vcpu = scalar(m,
			       "SELECT count(*) FROM pragma_table_info("
			       "'crashes') WHERE name = 'vcpu'",
			       0) > 0;
	if (sqlite3_prepare_v2(m->db,
			       has_vcpu
				       ? "SELECT c.id, c.guest_id, coalesce(c.ts, "
					 "g.last_ts, 0), c.reason, c.vcpu FROM "
					 "crashes c LEFT JOIN guests g ON g.id = "
					 "c.guest_id ORDER BY 3, c.id"
				       : "SELECT c.id, c.guest_id, coalesce(c.ts, "
					 "g.last_ts, 0), c.reason, NULL FROM "
					 "crashes c LEFT JOIN guests g ON g.id = "
					 "c.guest_id ORDER BY 3, c.id",
			       -1, &s, NULL) != SQLITE_OK) {
		sqlerr(m, "reading crashes");
		return -1;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			vw_crash_t *p = realloc(c, (size_t)cap * sizeof(*c));
			if (!p)
				break;
			c = p;
		}
		c[n].id = sqlite3_column_int64(s, 0);
		c[n].guest_id = sqlite3_column_int64(s, 1);
		c[n].ts = sqlite3_column_int64(s, 2);
		copy_text(c[n].reason, sizeof(c[n].reason),
			  sqlite3_column_text(s, 3));
		c[n].vcpu = sqlite3_column_type(s, 4) == SQLITE_NULL
				    ? -1
				    : sqlite3_column_int(s, 4);
		n++;
	}
	if (sqlite3_finalize(s) != SQLITE_OK) {
		sqlerr(m, "reading crashes");
		free(c);
		return -1;
	}
	free(m->crashes);
	m->crashes = c;
	m->ncrashes = n;
	return 0;
}

static void update_totals(vw_model_t *m)
{
	m->t_min = INT64_MAX;
	m->t_max = INT64_MIN;
	m->nevents = 0;
	m->nlost = 0;
	for (int i = 0; i < m->nlanes; i++) {
		vw_lane_t *l = &m->lanes[i];
		if (l->ts_first < m->t_min)
			m->t_min = l->ts_first;
		if (l->ts_last > m->t_max)
			m->t_max = l->ts_last;
		m->nevents = vw_add_sat(m->nevents, l->nevents);
		m->nlost = vw_add_sat(m->nlost, l->nlost);
	}
	for (int i = 0; i < m->ncrashes; i++) {
		if (m->crashes[i].ts > m->t_max && m->t_max != INT64_MIN)
			m->t_max = m->crashes[i].ts;
	}
}

static int prepare_all(vw_model_t *m)
{
	m->st_win = prep(m,
		"SELECT e.id, e.ts, e.type, e.dur, e.a0 FROM event_blocks b "
		"JOIN events e ON e.id BETWEEN b.row_first AND b.row_last "
		"WHERE b.lane = ?1 AND b.ts_first BETWEEN ?2 - ?4 AND ?3 "
		"AND b.ts_last >= ?2 AND e.ts BETWEEN ?2 AND ?3");
	m->st_blk_fwd = prep(m,
		"SELECT row_first, row_last, ts_first, ts_last FROM "
		"event_blocks WHERE lane = ?1 AND ts_first >= ?2 "
		"ORDER BY ts_first");
	m->st_blk_back = prep(m,
		"SELECT row_first, row_last, ts_first, ts_last FROM "
		"event_blocks WHERE lane = ?1 AND ts_first <= ?2 "
		"ORDER BY ts_first DESC");
	m->st_row = prep(m,
		"SELECT id, ts, type, dur, a0, lane FROM events WHERE id = ?");
	/* spans.c: the events of a lane after a checkpoint */
	m->st_span_rows = prep(m,
		"SELECT id, ts, type, dur, seq FROM events WHERE id BETWEEN "
		"?1 AND ?2");
	m->st_span_blocks = prep(m,
		"SELECT row_first, row_last FROM event_blocks WHERE lane = ?1 "
		"AND ts_first BETWEEN ?2 AND ?3 AND row_last >= ?4 "
		"ORDER BY ts_first");
	m->st_lost = prep(m,
		"SELECT ts_before, coalesce(ts_after, ts_before), count, "
		"reason FROM lost WHERE lane = ?1 AND ts_before BETWEEN "
		"?2 - ?4 AND ?3 AND coalesce(ts_after, ts_before) >= ?2 "
		"UNION ALL SELECT ts_after, ts_after, count, reason FROM lost "
		"WHERE lane = ?1 AND ts_before IS NULL AND ts_after BETWEEN "
		"?2 AND ?3");
	return m->st_win && m->st_blk_fwd && m->st_blk_back && m->st_row &&
			       m->st_lost && m->st_span_rows &&
			       m->st_span_blocks
		       ? 0
		       : -1;
}

vw_model_t *model_open(const char *path)
{
	ut_tracedb_t *tdb = ut_tracedb_open_cmd("view", path);
	if (!tdb)
		return NULL;
	vw_model_t *m = calloc(1, sizeof(*m));
	if (!m) {
		fprintf(stderr, "unitrace view: out of memory\n");
		ut_tracedb_close(tdb);
		return NULL;
	}
	m->tdb = tdb;
	m->db = ut_tracedb_sqlite(tdb);
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->block_span = scalar(m,
			       "SELECT value FROM meta WHERE key = "
			       "'block_span_ns'",
			       1000000000);
	if (m->block_span <= 0)
		m->block_span = 1000000000;
	m->lost_gap_max = 0;
	if (load_guests(m) || load_types(m) || load_lanes(m) ||
	    load_crashes(m) || prepare_all(m) || summary_update(m) ||
	    model_refresh(m) < 0) {
		fprintf(stderr, "unitrace view: %s: %s\n", path,
			m->err[0] ? m->err : "cannot read the trace");
		model_close(m);
		return NULL;
	}
	return m;
}

void model_close(vw_model_t *m)
{
	if (!m)
		return;
	spans_stop(m);
	sqlite3_finalize(m->st_span_rows);
	sqlite3_finalize(m->st_span_blocks);
	sqlite3_finalize(m->st_win);
	sqlite3_finalize(m->st_next);
	sqlite3_finalize(m->st_prev);
	sqlite3_finalize(m->st_blk_fwd);
	sqlite3_finalize(m->st_blk_back);
	sqlite3_finalize(m->st_row);
	sqlite3_finalize(m->st_lost);
	summary_free(m);
	free(m->guests);
	free(m->lanes);
	free(m->types);
	free(m->type_ix);
	free(m->crashes);
	ut_tracedb_close(m->tdb);
	free(m);
}

int model_refresh(vw_model_t *m)
{
	int64_t ng = scalar(m, "SELECT count(*) FROM guests", 0);
	int64_t nl = scalar(m, "SELECT count(*) FROM lanes", 0);
	int64_t nt = scalar(m, "SELECT count(*) FROM event_types", 0);
	int64_t nc = scalar(m, "SELECT count(*) FROM crashes", 0);
	int64_t old_last = m->last_block;
	int64_t old_nlost = m->nlost;
	int changed = 0;

	if (ng != m->nguests || nl != m->nlanes || nt != m->ntypes) {
		if (load_guests(m) || load_types(m) || load_lanes(m))
			return -1;
		changed = 1;
	} else if (load_guests(m)) { /* status may change */
		return -1;
	}
	if (nc != m->ncrashes) {
		if (load_crashes(m))
			return -1;
		changed = 1;
	}
	/* lost counts per lane */
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(m->db, "SELECT id, lost_count FROM lanes", -1,
			       &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(s, 0);
			for (int i = 0; i < m->nlanes; i++)
				if (m->lanes[i].id == id)
					m->lanes[i].nlost =
						sqlite3_column_int64(s, 1);
		}
		sqlite3_finalize(s);
	}
	m->lost_gap_max = scalar(m,
				 "SELECT max(ts_after - ts_before) FROM lost",
				 0);
	if (summary_update(m))
		return -1;
	update_totals(m);
	if (m->last_block != old_last || m->nlost != old_nlost)
		changed = 1;
	return changed;
}

/* ---- windows and steps -------------------------------------------------- */

int model_window(vw_model_t *m, int li, int64_t t0, int64_t t1, size_t max,
		 vw_evvec_t *out)
{
	sqlite3_stmt *s = m->st_win;
	size_t n = 0;
	int rc;

	sqlite3_bind_int64(s, 1, m->lanes[li].id);
	sqlite3_bind_int64(s, 2, t0);
	sqlite3_bind_int64(s, 3, t1);
	sqlite3_bind_int64(s, 4, m->block_span);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		vw_ev_t e;
		row_ev(m, s, li, &e);
		evvec_push(out, &e);
		if (++n >= max) {
			sqlite3_reset(s);
			return 1;
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		sqlerr(m, "reading events");
		return -1;
	}
	return 0;
}

/* Is (e) after (dir > 0) or before the position (ts, id)? */
static bool beyond(const vw_ev_t *e, int64_t ts, int64_t id, int dir)
{
	if (dir > 0)
		return e->ts > ts || (e->ts == ts && e->id > id);
	return e->ts < ts || (e->ts == ts && e->id < id);
}

int model_step(vw_model_t *m, int li, int64_t ts, int64_t id, int dir,
	       int n, vw_evvec_t *out, const char *match)
{
	sqlite3_stmt *b = dir > 0 ? m->st_blk_fwd : m->st_blk_back;
	sqlite3_stmt *e = NULL;
	char sql[8192];
	vw_evvec_t cand = { 0 };
	int rc = 0;

	snprintf(sql, sizeof(sql),
		 "SELECT id, ts, type, dur, a0 FROM events WHERE id BETWEEN "
		 "?1 AND ?2 AND (ts %c ?3 OR (ts = ?3 AND id %c ?4))%s%s%s "
		 "ORDER BY ts %s, id %s LIMIT ?5",
		 dir > 0 ? '>' : '<', dir > 0 ? '>' : '<',
		 match && *match ? " AND (" : "", match ? match : "",
		 match && *match ? ")" : "", dir > 0 ? "ASC" : "DESC",
		 dir > 0 ? "ASC" : "DESC");
	if (sqlite3_prepare_v2(m->db, sql, -1, &e, NULL) != SQLITE_OK) {
		sqlerr(m, "searching");
		return -1;
	}
	sqlite3_bind_int64(b, 1, m->lanes[li].id);
	sqlite3_bind_int64(b, 2, dir > 0 ? ts - m->block_span : ts);
	while ((rc = sqlite3_step(b)) == SQLITE_ROW) {
		int64_t rf = sqlite3_column_int64(b, 0);
		int64_t rl = sqlite3_column_int64(b, 1);
		int64_t tf = sqlite3_column_int64(b, 2);
		int64_t tl = sqlite3_column_int64(b, 3);
		if ((int)cand.n >= n) {
			/* blocks of a lane follow each other in time */
			const vw_ev_t *w = &cand.v[n - 1];
			if (dir > 0 && tf > w->ts)
				break;
			if (dir < 0 && tl < w->ts)
				break;
		}
		if (dir > 0 && tl < ts)
			continue;
		if (dir < 0 && tf > ts)
			continue;
		sqlite3_bind_int64(e, 1, rf);
		sqlite3_bind_int64(e, 2, rl);
		sqlite3_bind_int64(e, 3, ts);
		sqlite3_bind_int64(e, 4, id);
		sqlite3_bind_int(e, 5, n);
		int r2;
		while ((r2 = sqlite3_step(e)) == SQLITE_ROW) {
			vw_ev_t ev;
			row_ev(m, e, li, &ev);
			if (beyond(&ev, ts, id, dir))
				evvec_push(&cand, &ev);
		}
		sqlite3_reset(e);
		if (r2 != SQLITE_DONE) {
			sqlerr(m, "reading events");
			rc = -1;
			break;
		}
		evvec_sort(&cand);
		if (dir < 0) { /* nearest first: reverse order */
			for (size_t i = 0; i < cand.n / 2; i++) {
				vw_ev_t t = cand.v[i];
				cand.v[i] = cand.v[cand.n - 1 - i];
				cand.v[cand.n - 1 - i] = t;
			}
		}
		if ((int)cand.n > n)
			cand.n = (size_t)n;
	}
	sqlite3_reset(b);
	sqlite3_finalize(e);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		if (rc != -1)
			sqlerr(m, "reading event_blocks");
		evvec_free(&cand);
		return -1;
	}
	for (size_t i = 0; i < cand.n; i++)
		evvec_push(out, &cand.v[i]);
	int got = (int)cand.n;
	evvec_free(&cand);
	return got;
}

int model_event(vw_model_t *m, int64_t id, vw_ev_t *ev)
{
	sqlite3_stmt *s = m->st_row;
	int rc = -1;

	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		int64_t lane = sqlite3_column_int64(s, 5);
		int li = -1;
		for (int i = 0; i < m->nlanes; i++)
			if (m->lanes[i].id == lane)
				li = i;
		row_ev(m, s, li, ev);
		rc = li >= 0 ? 0 : -1;
	}
	sqlite3_reset(s);
	return rc;
}

/* ---- fields ------------------------------------------------------------- */

static void fmt_value(const vw_type_t *t, int i, sqlite3_stmt *s, int col,
		      char *buf, size_t len)
{
	int ct = sqlite3_column_type(s, col);
	const char *ft = t ? t->ftype[i] : "";

	if (ct == SQLITE_NULL) {
		snprintf(buf, len, "-");
	} else if (ct == SQLITE_INTEGER) {
		int64_t v = sqlite3_column_int64(s, col);
		if (t && t->hex[i])
			snprintf(buf, len, "0x%" PRIx64, (uint64_t)v);
		else if (!strcmp(ft, "u64"))
			snprintf(buf, len, "%" PRIu64, (uint64_t)v);
		else
			snprintf(buf, len, "%" PRId64, v);
	} else if (ct == SQLITE_FLOAT) {
		snprintf(buf, len, "%g", sqlite3_column_double(s, col));
	} else if (ct == SQLITE_BLOB) {
		const unsigned char *p = sqlite3_column_blob(s, col);
		int n = sqlite3_column_bytes(s, col);
		size_t o = 0;
		for (int k = 0; k < n && o + 3 < len && k < 64; k++)
			o += (size_t)snprintf(buf + o, len - o, "%02x", p[k]);
		if (n > 64 && o + 4 < len)
			snprintf(buf + o, len - o, "...");
		if (!n)
			snprintf(buf, len, "(empty)");
	} else {
		copy_text(buf, len, sqlite3_column_text(s, col));
	}
}

void model_each_field(vw_model_t *m, int64_t id,
		      void (*cb)(void *ctx, const char *name, const char *val),
		      void *ctx)
{
	sqlite3_stmt *s;
	char val[512], name[40];

	if (sqlite3_prepare_v2(m->db,
			       "SELECT type, a0, a1, a2, a3, a4, a5, a6, a7 "
			       "FROM events WHERE id = ?",
			       -1, &s, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		int64_t tid = sqlite3_column_int64(s, 0);
		int ti = (tid >= 0 && tid < m->type_ix_n) ? m->type_ix[tid]
							  : -1;
		const vw_type_t *t = ti >= 0 ? &m->types[ti] : NULL;
		int nf = t ? t->nfields : VW_MAXF;
		for (int i = 0; i < nf; i++) {
			if (!t && sqlite3_column_type(s, 1 + i) == SQLITE_NULL)
				continue;
			if (t && t->fname[i][0])
				snprintf(name, sizeof(name), "%s", t->fname[i]);
			else
				snprintf(name, sizeof(name), "a%d", i);
			fmt_value(t, i, s, 1 + i, val, sizeof(val));
			cb(ctx, name, val);
		}
	}
	sqlite3_finalize(s);
}

struct fields_ctx {
	char *buf;
	size_t len, o;
};

static void fields_cb(void *ctx, const char *name, const char *val)
{
	struct fields_ctx *c = ctx;
	if (c->o + 1 >= c->len)
		return;
	int k = snprintf(c->buf + c->o, c->len - c->o, "%s%s=%s",
			 c->o ? " " : "", name, val);
	if (k > 0)
		c->o += (size_t)k;
	if (c->o >= c->len)
		c->o = c->len - 1;
}

void model_fields(vw_model_t *m, int64_t id, char *buf, size_t len)
{
	struct fields_ctx c = { buf, len, 0 };
	buf[0] = 0;
	model_each_field(m, id, fields_cb, &c);
}

/* ---- lost ranges ------------------------------------------------------- */

int model_lost(vw_model_t *m, int li, int64_t t0, int64_t t1, vw_lost_t *out,
	       int max)
{
	sqlite3_stmt *s = m->st_lost;
	int n = 0, rc;

	sqlite3_bind_int64(s, 1, m->lanes[li].id);
	sqlite3_bind_int64(s, 2, t0);
	sqlite3_bind_int64(s, 3, t1);
	sqlite3_bind_int64(s, 4, m->lost_gap_max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < max) {
		out[n].t0 = sqlite3_column_int64(s, 0);
		out[n].t1 = sqlite3_column_int64(s, 1);
		out[n].count = sqlite3_column_int64(s, 2);
		copy_text(out[n].reason, sizeof(out[n].reason),
			  sqlite3_column_text(s, 3));
		n++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		sqlerr(m, "reading lost");
		return -1;
	}
	return n;
}

int model_lost_step(vw_model_t *m, int li, int64_t t, int dir, vw_lost_t *out)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (sqlite3_prepare_v2(m->db,
			       dir > 0 ? "SELECT ts_before, coalesce(ts_after, "
					 "ts_before), count, reason FROM lost "
					 "WHERE lane = ? AND ts_before > ? "
					 "ORDER BY ts_before LIMIT 1"
				       : "SELECT ts_before, coalesce(ts_after, "
					 "ts_before), count, reason FROM lost "
					 "WHERE lane = ? AND ts_before < ? "
					 "ORDER BY ts_before DESC LIMIT 1",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, m->lanes[li].id);
	sqlite3_bind_int64(s, 2, t);
	if (sqlite3_step(s) == SQLITE_ROW) {
		out->t0 = sqlite3_column_int64(s, 0);
		out->t1 = sqlite3_column_int64(s, 1);
		out->count = sqlite3_column_int64(s, 2);
		copy_text(out->reason, sizeof(out->reason),
			  sqlite3_column_text(s, 3));
		rc = 0;
	}
	sqlite3_finalize(s);
	return rc;
}

/* ---- search ------------------------------------------------------------- */

void model_match_sql(vw_model_t *m, const char *term, char *buf, size_t len)
{
	size_t o = 0;
	int ntype = 0;
	char *like;

	buf[0] = 0;
	if (!term || !*term)
		return;
	/* the term as a LIKE pattern: escape the wildcards */
	char esc[300];
	size_t k = 0;
	for (const char *p = term; *p && k + 3 < sizeof(esc); p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			esc[k++] = '\\';
		esc[k++] = *p;
	}
	esc[k] = 0;
	o += (size_t)snprintf(buf + o, len - o, "type IN (");
	for (int i = 0; i < m->ntypes && o + 24 < len; i++) {
		if (!strcasestr(m->types[i].name, term))
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%" PRId64,
				      ntype ? "," : "", m->types[i].id);
		ntype++;
	}
	if (o + 2 >= len)
		return;
	o += (size_t)snprintf(buf + o, len - o, ")");
	for (int i = 0; i < VW_MAXF && o < len; i++) {
		like = sqlite3_mprintf(" OR a%d LIKE '%%%q%%' ESCAPE '\\'", i,
				       esc);
		if (!like)
			break;
		o += (size_t)snprintf(buf + o, len - o, "%s", like);
		sqlite3_free(like);
	}
	if (o >= len)
		buf[0] = 0; /* too long: match nothing rather than garbage */
}

/* ---- misc ---------------------------------------------------------------- */

int model_lane_of(vw_model_t *m, int64_t guest_id, int vcpu)
{
	for (int i = 0; i < m->nlanes; i++)
		if (m->lanes[i].guest_id == guest_id &&
		    (vcpu < 0 || m->lanes[i].vcpu == (uint32_t)vcpu))
			return i;
	return -1;
}

int model_rows(vw_model_t *m, const char *sql, int64_t p,
	       void (*cb)(void *ctx, int ncol, const char **names,
			  const char **vals),
	       void *ctx)
{
	sqlite3_stmt *s;
	int rows = 0, rc;

	if (sqlite3_prepare_v2(m->db, sql, -1, &s, NULL) != SQLITE_OK) {
		sqlerr(m, "query");
		return -1;
	}
	if (sqlite3_bind_parameter_count(s) > 0)
		sqlite3_bind_int64(s, 1, p);
	int nc = sqlite3_column_count(s);
	if (nc > 32)
		nc = 32;
	const char *names[32], *vals[32];
	char num[32][32];
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (int i = 0; i < nc; i++) {
			names[i] = sqlite3_column_name(s, i);
			int t = sqlite3_column_type(s, i);
			if (t == SQLITE_NULL) {
				vals[i] = NULL;
			} else if (t == SQLITE_INTEGER) {
				snprintf(num[i], sizeof(num[i]), "%" PRId64,
					 (int64_t)sqlite3_column_int64(s, i));
				vals[i] = num[i];
			} else if (t == SQLITE_BLOB) {
				snprintf(num[i], sizeof(num[i]), "(%d bytes)",
					 sqlite3_column_bytes(s, i));
				vals[i] = num[i];
			} else {
				vals[i] = (const char *)sqlite3_column_text(s,
									     i);
			}
		}
		cb(ctx, nc, names, vals);
		rows++;
	}
	if (rc != SQLITE_DONE)
		sqlerr(m, "query");
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? rows : -1;
}

bool model_has_table(vw_model_t *m, const char *name)
{
	return ut_tracedb_has_table(m->db, name) == 1;
}

void model_fmt_dur(char *buf, size_t len, double ns)
{
	ut_fmt_dur(buf, len, ns);
}

void model_fmt_abs(char *buf, size_t len, int64_t ts)
{
	ut_fmt_ts(buf, len, ts);
}

void model_fmt_rel(vw_model_t *m, char *buf, size_t len, int64_t ts)
{
	char d[48];
	int64_t base = m->t_min <= m->t_max ? m->t_min : 0;
	double off = (double)ts - (double)base;

	ut_fmt_dur(d, sizeof(d), off < 0 ? -off : off);
	snprintf(buf, len, "%s%s", off < 0 ? "-" : "+", d);
}
