/*
 * The event list: one row per event of the visible lanes in time order,
 * around the timeline's cursor, like KernelShark's table under its graph.
 * The selected row is the timeline's selected event: moving in either
 * view moves both.  Only the rows on screen are read (per lane, the
 * events just before and after the cursor).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viewer.h"

#define LIST_MAX 512

static vw_ev_t shown[LIST_MAX];
static int nshown, shown_y0;

static int ev_before(const vw_ev_t *x, const vw_ev_t *y)
{
	return x->ts < y->ts || (x->ts == y->ts && x->id < y->id);
}

static int cmp_asc(const void *p, const void *q)
{
	const vw_ev_t *x = p, *y = q;
	return ev_before(x, y) ? -1 : ev_before(y, x) ? 1 : 0;
}

static int cmp_desc(const void *p, const void *q)
{
	return cmp_asc(q, p);
}

/* The (nb) events before and (na) after the anchor over visible lanes,
 * into shown[]; returns the row of the anchor (selection) or -1. */
static int fetch(vw_app_t *a, int nb, int na)
{
	vw_model_t *m = a->m;
	vw_evvec_t bv = { 0 }, av = { 0 };
	char hid[4096];
	int64_t ts, id;
	bool sel = a->sel.valid && a->sel.ev.ts == a->cursor;

	app_hidden_sql(a, hid, sizeof(hid));
	if (sel) {
		ts = a->sel.ev.ts;
		id = a->sel.ev.id;
	} else {
		ts = a->cursor;
		id = INT64_MIN;
	}
	for (int li = 0; li < m->nlanes; li++) {
		if (!app_lane_visible(a, li))
			continue;
		if (nb > 0)
			model_step(m, li, ts, id, -1, nb, &bv, hid);
		if (na > 0)
			model_step(m, li, ts, id, 1, na, &av, hid);
	}
	if (bv.n)
		qsort(bv.v, bv.n, sizeof(*bv.v), cmp_desc);
	if (av.n)
		qsort(av.v, av.n, sizeof(*av.v), cmp_asc);
	int nbk = (int)bv.n < nb ? (int)bv.n : nb;
	nshown = 0;
	for (int i = nbk - 1; i >= 0; i--)
		shown[nshown++] = bv.v[i];
	int at = -1;
	if (sel && nshown < LIST_MAX) {
		at = nshown;
		shown[nshown++] = a->sel.ev;
	}
	for (size_t i = 0; i < av.n && nshown < LIST_MAX &&
			   (int)i < na - (sel ? 1 : 0);
	     i++)
		shown[nshown++] = av.v[i];
	evvec_free(&bv);
	evvec_free(&av);
	return at;
}

static void list_draw(vw_app_t *a)
{
	vw_model_t *m = a->m;
	int rows = tui_rows(), cols = tui_cols();
	int drows = detail_rows(a, rows);
	int y0 = 4, y1 = rows - 2 - drows;
	int h = y1 - y0;
	char rel[48], dur[48], fields[1024], buf[1400];

	timeline_header(a, 0);
	tui_fill(3, 0, cols, " ", VS_HEAD);
	tui_put(3, 0,
		" TIME (s)          GUEST/VCPU        EVENT             KIND   "
		"     DURATION    FIELDS",
		cols, VS_HEAD);
	if (h < 1)
		h = 1;
	if (h > LIST_MAX - 1)
		h = LIST_MAX - 1;
	if (a->list_rows < 0) /* fresh: the selection a third down */
		a->list_rows = h / 3;
	if (a->list_rows > h - 1)
		a->list_rows = h - 1;
	int nb = a->list_rows;
	int at = fetch(a, nb, h - nb);
	/* fewer events before the anchor than rows: start at the top */
	if (at >= 0)
		a->list_rows = at;
	shown_y0 = y0;
	for (int i = 0; i < nshown && i < h; i++) {
		const vw_ev_t *e = &shown[i];
		const vw_type_t *t = app_type(a, e);
		const vw_lane_t *l = &m->lanes[e->lane];
		char gv[96];
		model_fmt_abs(rel, sizeof(rel),
			      e->ts - (m->t_min <= m->t_max ? m->t_min : 0));
		snprintf(gv, sizeof(gv), "%s/%u",
			 l->gi >= 0 ? m->guests[l->gi].name : "?", l->vcpu);
		dur[0] = 0;
		if (t && t->kind == VK_SPAN_END && e->dur >= 0)
			model_fmt_dur(dur, sizeof(dur), (double)e->dur);
		model_fields(m, e->id, fields, sizeof(fields));
		snprintf(buf, sizeof(buf), " %-17.17s %-17.17s %-17.17s "
					   "%-11.11s %10s  %s",
			 rel, gv, t ? t->name : "?",
			 t ? model_kind_name(t->kind) : "?", dur, fields);
		bool is_sel = a->sel.valid && e->id == a->sel.ev.id;
		int st = is_sel ? VS_SEL : VS_NORMAL;
		if (is_sel)
			tui_fill(y0 + i, 0, cols, " ", st);
		tui_put(y0 + i, 0, buf, cols, st);
		if (!is_sel && t && t->kind == VK_LOG)
			tui_restyle(y0 + i, 37, 17, VS_LOG);
	}
	if (!nshown)
		tui_put(y0, 1, "no events (all filtered out?)", -1, VS_DIM);
	if (drows)
		detail_draw(a, rows - 2 - drows, drows);
	char cur[48];
	model_fmt_rel(m, cur, sizeof(cur), a->cursor);
	tui_fill(rows - 2, 0, cols, " ", VS_STATUS);
	tui_putf(rows - 2, 0, cols, VS_STATUS,
		 " event list | cursor %s | Up/Down: previous/next event, "
		 "Tab: timeline",
		 cur);
	if (a->msg[0])
		tui_put(rows - 1, 0, a->msg, cols,
			a->msg_err ? VS_ERROR : VS_NORMAL);
	else
		tui_put(rows - 1, 0,
			"?:help  q:quit  Up/Down:event  PgUp/PgDn:page  "
			"/:search  Enter:detail  Tab:timeline",
			cols, VS_DIM);
}

static bool list_key(vw_app_t *a, int k, const vw_mouse_t *ms)
{
	int h = tui_rows() - 2 - detail_rows(a, tui_rows()) - 4;

	switch (k) {
	case TK_UP:
	case 'k':
		if (app_step_all(a, -1))
			a->list_rows--;
		return true;
	case TK_DOWN:
	case 'j':
		if (app_step_all(a, 1))
			a->list_rows++;
		return true;
	case TK_PGUP:
		for (int i = 0; i < h - 1; i++)
			if (!app_step_all(a, -1))
				break;
		return true;
	case TK_PGDN:
		for (int i = 0; i < h - 1; i++)
			if (!app_step_all(a, 1))
				break;
		return true;
	case TK_MOUSE:
		if (ms->button == 1 && ms->y >= shown_y0 &&
		    ms->y - shown_y0 < nshown) {
			a->list_rows = ms->y - shown_y0;
			app_select(a, &shown[ms->y - shown_y0]);
		} else if (ms->button == 4) {
			app_step_all(a, -1);
		} else if (ms->button == 5) {
			app_step_all(a, 1);
		}
		return true;
	default:
		return false;
	}
}

static const vw_keyhelp_t list_keys[] = {
	{ "Up Down  k j", "previous / next event (any visible lane)" },
	{ "PgUp PgDn", "a page of events up / down" },
	{ "click / wheel", "select a row / scroll" },
	{ NULL, NULL },
};

const struct vw_view vw_view_list = {
	.name = "list",
	.title = "Event list (Tab from the timeline)",
	.draw = list_draw,
	.key = list_key,
	.keys = list_keys,
};
