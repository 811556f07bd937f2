/*
 * The detail pane: every field of the selected event, and for spans their
 * duration, the other end and the enclosing (parent) span.  The pane is
 * computed once per selection and cached.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viewer.h"

#define DETAIL_LINES 48
#define DETAIL_WALK 2048 /* events read to find a span's other end or
			    parent when the span index cannot tell: a span
			    it does not hold has fewer than 1024 events of
			    its lane inside */
#define DETAIL_OPEN 32

static struct {
	bool valid;
	bool partial;  /* built while the span index was incomplete */
	uint64_t gen;  /* spans_gen() then */
	int64_t id;
	int n;
	char line[DETAIL_LINES][320];
} dc;

int detail_rows(const vw_app_t *a, int rows)
{
	if (!a->detail)
		return 0;
	int r = rows >= 30 ? 12 : rows / 3;
	return r < 3 ? 3 : r;
}

static void add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void add(const char *fmt, ...)
{
	va_list ap;
	if (dc.n >= DETAIL_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(dc.line[dc.n++], sizeof(dc.line[0]), fmt, ap);
	va_end(ap);
}

static void field_cb(void *ctx, const char *name, const char *val)
{
	(void)ctx;
	add("  %-14s %s", name, val);
}

/* Walk lane (li) from position (ts, id), forward (dir > 0) or backward,
 * at most DETAIL_WALK events, skipping the spans nested on the way, to
 * the span event that closes the current level: forward the span_end of
 * the span open at the position, backward the span_begin of the span
 * enclosing it.  0 and *out, or -1. */
static int span_walk(vw_app_t *a, int li, int64_t ts, int64_t id, int dir,
		     vw_ev_t *out)
{
	int nest = dir > 0 ? VK_SPAN_BEGIN : VK_SPAN_END; /* opens a level */
	int close = dir > 0 ? VK_SPAN_END : VK_SPAN_BEGIN;
	vw_evvec_t v = { 0 };
	int depth = 0, rc = -1;

	model_step(a->m, li, ts, id, dir, DETAIL_WALK, &v, NULL);
	for (size_t i = 0; i < v.n; i++) {
		const vw_type_t *t = app_type(a, &v.v[i]);
		if (!t)
			continue;
		if (t->kind == nest) {
			depth++;
		} else if (t->kind == close) {
			if (!depth) {
				*out = v.v[i];
				rc = 0;
				break;
			}
			depth--;
		}
	}
	evvec_free(&v);
	return rc;
}

/* The spans open at position (ts, id) of lane (li) from the span index,
 * innermost last; -1 if the index cannot say yet (the pane is then built
 * again when it knows more). */
static int open_at(vw_app_t *a, int li, int64_t ts, int64_t id,
		   vw_open_t *open, int max)
{
	int n = model_open_spans(a->m, li, ts, id, open, max);
	if (n == -1)
		dc.partial = true;
	return n;
}

/* The end of the span that begins with (b): from the span index when the
 * span is long (open across one of its checkpoints), else walking forward.
 * 0 and *end, or -1. */
int detail_span_end(vw_app_t *a, const vw_ev_t *b, vw_ev_t *end)
{
	vw_open_t open[DETAIL_OPEN];
	/* the position just after the begin: the begin is the innermost */
	int n = open_at(a, b->lane, b->ts, b->id + 1, open, DETAIL_OPEN);
	if (n > 0 && open[n - 1].b_id == b->id && open[n - 1].e_id >= 0 &&
	    model_event(a->m, open[n - 1].e_id, end) == 0)
		return 0;
	return span_walk(a, b->lane, b->ts, b->id, 1, end);
}

/* The begin of the span enclosing position (ts, id) of lane (li). */
static int find_parent(vw_app_t *a, int li, int64_t ts, int64_t id,
		       vw_ev_t *par)
{
	vw_open_t open[DETAIL_OPEN];
	int n = open_at(a, li, ts, id, open, DETAIL_OPEN);
	if (n == 0)
		return -1;
	if (n > 0 && model_event(a->m, open[n - 1].b_id, par) == 0)
		return 0;
	return span_walk(a, li, ts, id, -1, par);
}

/* The begin of span end (e): the span_begin of the same name at ts - dur. */
static int find_begin(vw_app_t *a, const vw_ev_t *e, vw_ev_t *b)
{
	vw_evvec_t v = { 0 };
	const vw_type_t *t = app_type(a, e);
	int rc = -1;
	if (!t || e->dur < 0)
		return -1;
	model_window(a->m, e->lane, e->ts - e->dur, e->ts - e->dur, 64, &v);
	for (size_t i = 0; i < v.n; i++) {
		const vw_type_t *u = app_type(a, &v.v[i]);
		if (u && u->kind == VK_SPAN_BEGIN && !strcmp(u->name, t->name)) {
			*b = v.v[i];
			rc = 0;
		}
	}
	evvec_free(&v);
	return rc;
}

static void build(vw_app_t *a)
{
	vw_model_t *m = a->m;
	const vw_ev_t *e = &a->sel.ev;
	const vw_type_t *t = app_type(a, e);
	const vw_lane_t *l = e->lane >= 0 ? &m->lanes[e->lane] : NULL;
	char rel[48], abs_[48], d[48], fields[1024];
	vw_ev_t b, end, par;
	bool have_begin = false;

	dc.n = 0;
	dc.valid = true;
	dc.partial = false;
	dc.gen = spans_gen(m);
	dc.id = e->id;
	model_fmt_rel(m, rel, sizeof(rel), e->ts);
	model_fmt_abs(abs_, sizeof(abs_), e->ts);
	add("%s  (%s)  guest %s  vcpu %u  event id %" PRId64,
	    t ? t->name : "?", t ? model_kind_name(t->kind) : "?",
	    l && l->gi >= 0 ? m->guests[l->gi].name : "?", l ? l->vcpu : 0,
	    e->id);
	add("time %s from the start  (%s s on the guest clock)", rel, abs_);
	if (t && t->kind == VK_SPAN_END) {
		model_fmt_dur(d, sizeof(d), (double)e->dur);
		char br[48];
		model_fmt_rel(m, br, sizeof(br), e->ts - e->dur);
		add("span %s: duration %s, from %s to %s", t->name, d, br, rel);
		if (find_begin(a, e, &b) == 0) {
			have_begin = true;
			add("begin fields:");
			model_each_field(m, b.id, field_cb, NULL);
		}
	} else if (t && t->kind == VK_SPAN_BEGIN) {
		b = *e;
		have_begin = true;
		if (detail_span_end(a, e, &end) == 0) {
			model_fmt_dur(d, sizeof(d), (double)(end.ts - e->ts));
			add("span %s: duration %s (ends at event %" PRId64 ")",
			    t->name, d, end.id);
		} else {
			add("span %s: no end in the lane (still open?)",
			    t->name);
		}
	}
	if (t && t->kind != VK_SPAN_END) {
		add("fields:");
		int before = dc.n;
		model_each_field(m, e->id, field_cb, NULL);
		if (dc.n == before)
			add("  (none)");
	}
	/* the enclosing span */
	int found;
	if (have_begin)
		found = find_parent(a, e->lane, b.ts, b.id, &par);
	else if (t && t->kind == VK_SPAN_END)
		found = find_parent(a, e->lane, e->ts - e->dur, INT64_MIN,
				    &par);
	else
		found = find_parent(a, e->lane, e->ts, e->id, &par);
	if (found == 0) {
		const vw_type_t *pt = app_type(a, &par);
		char pr[48];
		model_fmt_rel(m, pr, sizeof(pr), par.ts);
		if (detail_span_end(a, &par, &end) == 0) {
			model_fmt_dur(d, sizeof(d), (double)(end.ts - par.ts));
			add("parent: %s, from %s, duration %s",
			    pt ? pt->name : "?", pr, d);
		} else {
			add("parent: %s, from %s", pt ? pt->name : "?", pr);
		}
		model_fields(m, par.id, fields, sizeof(fields));
		if (fields[0])
			add("  %s", fields);
	} else {
		add("parent: none (top level)");
	}
}

void detail_draw(vw_app_t *a, int y0, int nrows)
{
	int cols = tui_cols();

	tui_fill(y0, 0, cols, " ", VS_STATUS);
	tui_put(y0, 0, " Detail (Enter closes)", cols, VS_STATUS);
	if (!a->sel.valid) {
		tui_put(y0 + 1, 1,
			"no event selected: use . , (lane) > < (all lanes), / "
			"(search) or click",
			cols - 1, VS_DIM);
		return;
	}
	if (!dc.valid || dc.id != a->sel.ev.id ||
	    (dc.partial && dc.gen != spans_gen(a->m)))
		build(a);
	if (dc.partial)
		a->spans_pending = true;
	/* two columns when the lines do not fit */
	int avail = nrows - 1;
	int half = cols / 2;
	for (int i = 0; i < dc.n; i++) {
		int col = i < avail ? 0 : 1;
		int row = i < avail ? i : i - avail;
		if (col && row >= avail)
			break;
		if (dc.n > avail && i < avail)
			tui_put(y0 + 1 + row, 1, dc.line[i], half - 2,
				i ? VS_NORMAL : VS_HEAD);
		else
			tui_put(y0 + 1 + row, col ? half : 1, dc.line[i],
				col ? cols - half : cols - 1,
				i ? VS_NORMAL : VS_HEAD);
	}
}
