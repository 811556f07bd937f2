/*
 * The timeline view: a header, a time ruler and one lane per guest and
 * vCPU on a shared time axis.
 *
 * A lane is SPAN_ROWS rows of spans (nested spans stacked by depth), a
 * marks row (instants, log messages, lost-event ranges, crashes) and, if
 * its guest declares a counter, a sparkline row.  Each lane is drawn in
 * one of three modes, chosen from the summary's estimate of the events in
 * the window:
 *   detail   few events per column: read them all (window + a short
 *            look-ahead for spans that end after the window, and the
 *            begins of the spans open at the window's left edge from the
 *            span index, spans.c) and draw spans, marks and the sparkline
 *   bins     up to a few thousand events: read their times and draw the
 *            count per column as density shading (plus the sparkline)
 *   summary  more: density shading from the summary, reading no events
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viewer.h"

#define LABEL_W 16
#define SPAN_ROWS 3
#define LOOKAHEAD 64
#define DETAIL_PER_COL 3  /* detail mode up to this many events/column */
#define BINS_BUDGET 60000 /* events read for one screen in bins mode */
#define MAX_LOST 256
#define MAX_OPEN 32       /* open spans taken from the span index */

enum { MODE_DETAIL, MODE_BINS, MODE_SUMMARY };

struct lane_frame {
	int li, y, h;
	int mode;
	vw_evvec_t ev;   /* detail: window and look-ahead, time order */
	bool look_full;  /* the look-ahead stopped at its limit */
	double *cnt;     /* [w] events per column (bins, summary) */
	double *cval;    /* [w] counter value per column, NAN if none */
};

struct span {
	int64_t start, end;
	int ti;
	int64_t end_id, begin_id;
	int depth;
};

int timeline_width(int cols)
{
	int w = cols - LABEL_W - 1;
	return w < 10 ? 10 : w;
}

static int lane_height(const vw_model_t *m, int li)
{
	return SPAN_ROWS + 1 + (m->lanes[li].counter >= 0 ? 1 : 0);
}

static const char *g_dens(int lv)
{
	static const char *const u[] = { " ", "\u2591", "\u2592", "\u2593",
					 "\u2588" };
	static const char *const asc[] = { " ", ".", ":", "*", "#" };
	return tui_utf8() ? u[lv] : asc[lv];
}

static const char *g_spark(int lv) /* 0..7 */
{
	static const char *const u[] = { "\u2581", "\u2582", "\u2583",
					 "\u2584", "\u2585", "\u2586",
					 "\u2587", "\u2588" };
	static const char *const asc[] = { "_", "_", ".", "-", "-", "=",
					   "^", "^" };
	return tui_utf8() ? u[lv] : asc[lv];
}

/* ---- ruler ---------------------------------------------------------------- */

static double nice_step(double x)
{
	double p = pow(10, floor(log10(x)));
	if (p * 1 >= x)
		return p;
	if (p * 2 >= x)
		return p * 2;
	if (p * 5 >= x)
		return p * 5;
	return p * 10;
}

/* A tick label: the unit follows the size of the offsets on screen
 * (mag), the decimals the tick step: "112.5us", not "112500ns". */
static void fmt_tick(char *buf, size_t len, double off, double step,
		     double mag)
{
	const char *u = "ns";
	double div = 1;
	if (mag < step)
		mag = step;
	if (mag >= 1e9) {
		u = "s";
		div = 1e9;
	} else if (mag >= 1e6) {
		u = "ms";
		div = 1e6;
	} else if (mag >= 1e3) {
		u = "us";
		div = 1e3;
	}
	double s = step / div;
	int dec = s >= 1 ? 0 : (int)ceil(-log10(s) - 1e-9);
	if (dec > 9)
		dec = 9;
	snprintf(buf, len, "%.*f%s", dec, off / div + 0.0, u);
}

void timeline_header(vw_app_t *a, int y)
{
	vw_model_t *m = a->m;
	int cols = tui_cols(), w = timeline_width(cols), x0 = LABEL_W + 1;
	char buf[1400], d[48];

	tui_fill(y, 0, cols, " ", VS_TITLE);
	snprintf(buf, sizeof(buf),
		 " unitrace view  %s  %d guest%s  %d lane%s  %" PRId64
		 " events  %" PRId64 " lost  %d crash%s%s",
		 m->path, m->nguests, m->nguests == 1 ? "" : "s", m->nlanes,
		 m->nlanes == 1 ? "" : "s", m->nevents, m->nlost, m->ncrashes,
		 m->ncrashes == 1 ? "" : "es", a->follow ? "  [follow]" : "");
	tui_put(y, 0, buf, cols, VS_TITLE);

	/* ruler: labels on y + 1, the axis on y + 2 */
	double span = a->nspc * w;
	double step = nice_step(a->nspc * 14);
	double base = m->t_min <= m->t_max ? (double)m->t_min : 0;
	model_fmt_dur(d, sizeof(d), span);
	tui_putf(y + 1, 0, LABEL_W, VS_DIM, "window %s", d);
	model_fmt_dur(d, sizeof(d), a->nspc);
	tui_putf(y + 2, 0, LABEL_W, VS_DIM, "%s/col", d);
	tui_fill(y + 2, x0, w, tui_utf8() ? "\u2500" : "-", VS_RULER);
	double k0 = ceil((a->t0 - base) / step);
	double mag = fmax(fabs(a->t0 - base), fabs(a->t0 + span - base));
	int last_label_end = -1;
	for (double k = k0;; k++) {
		double t = base + k * step;
		int x = (int)floor((t - a->t0) / a->nspc);
		if (x >= w)
			break;
		if (x < 0)
			continue;
		tui_put(y + 2, x0 + x, tui_utf8() ? "\u252c" : "+", -1,
			VS_RULER);
		if (x > last_label_end) {
			fmt_tick(buf, sizeof(buf), k * step, step, mag);
			int n = tui_put(y + 1, x0 + x, buf, w - x, VS_RULER);
			last_label_end = x + n + 1;
		}
		if (k - k0 > 1000)
			break;
	}
	/* crashes on the axis */
	for (int i = 0; i < m->ncrashes; i++) {
		int x = (int)floor(((double)m->crashes[i].ts - a->t0) / a->nspc);
		if (x >= 0 && x < w)
			tui_put(y + 2, x0 + x, "X", 1, VS_CRASH);
	}
	/* the time cursor */
	int cx = (int)floor(((double)a->cursor - a->t0) / a->nspc);
	if (cx >= 0 && cx < w)
		tui_put(y + 2, x0 + cx, tui_utf8() ? "\u25bc" : "v", 1,
			VS_CURSOR);
}

/* ---- lane data ------------------------------------------------------------ */

static int col_of(const vw_app_t *a, double t)
{
	double x = floor((t - a->t0) / a->nspc);
	if (x < -1)
		return -1;
	if (x > 100000)
		return 100000;
	return (int)x;
}

/* The begins of the spans open at the window's left edge: they began
 * before the window (so they are not among its events) and may end long
 * after the look-ahead.  They come from the span index; until it reaches
 * this part of the lane, the window shows what its own events and the
 * look-ahead show, and the next draw tries again. */
static void add_open_spans(vw_app_t *a, struct lane_frame *f, int64_t t0)
{
	vw_open_t open[MAX_OPEN];
	int n = model_open_spans(a->m, f->li, t0, INT64_MIN, open, MAX_OPEN);
	if (n == -1)
		a->spans_pending = true;
	for (int i = 0; i < n; i++) {
		vw_ev_t e = { .id = open[i].b_id, .ts = open[i].b_ts,
			      .dur = -1, .type = open[i].type, .lane = f->li };
		evvec_push(&f->ev, &e);
	}
}

static void frame_load(vw_app_t *a, struct lane_frame *f, int w, int nvis)
{
	vw_model_t *m = a->m;
	double t0 = a->t0, t1 = a->t0 + a->nspc * w;
	int64_t it0 = (int64_t)floor(t0), it1 = (int64_t)ceil(t1);
	double est = summary_count(m, f->li, t0, t1);
	size_t dmax = (size_t)w * DETAIL_PER_COL;
	size_t bmax = (size_t)(BINS_BUDGET / (nvis > 0 ? nvis : 1));

	if (bmax < dmax * 2)
		bmax = dmax * 2;
	for (int x = 0; x < w; x++) {
		f->cnt[x] = 0;
		f->cval[x] = NAN;
	}
	f->mode = MODE_SUMMARY;
	if (est <= (double)dmax) {
		int r = model_window(m, f->li, it0, it1, dmax * 4, &f->ev);
		if (r == 0) {
			f->mode = MODE_DETAIL;
			add_open_spans(a, f, it0);
			vw_evvec_t la = { 0 };
			int n = model_step(m, f->li, it1, INT64_MAX, 1,
					   LOOKAHEAD, &la, NULL);
			f->look_full = n >= LOOKAHEAD;
			for (int i = 0; i < n; i++)
				evvec_push(&f->ev, &la.v[i]);
			evvec_free(&la);
			evvec_sort(&f->ev);
		} else {
			evvec_clear(&f->ev);
			est = (double)bmax; /* try bins */
		}
	}
	if (f->mode != MODE_DETAIL && est <= (double)bmax) {
		int r = model_window(m, f->li, it0, it1, bmax, &f->ev);
		if (r == 0) {
			f->mode = MODE_BINS;
			int ct = m->lanes[f->li].counter;
			for (size_t i = 0; i < f->ev.n; i++) {
				const vw_ev_t *e = &f->ev.v[i];
				int x = col_of(a, (double)e->ts);
				if (x < 0 || x >= w)
					continue;
				if (!app_type_visible(a, e->type))
					continue;
				f->cnt[x]++;
				if (e->type == ct && e->has_val)
					f->cval[x] = e->val;
			}
		}
		evvec_clear(&f->ev);
	}
	if (f->mode == MODE_SUMMARY)
		for (int x = 0; x < w; x++)
			f->cnt[x] = summary_count(m, f->li, t0 + a->nspc * x,
						  t0 + a->nspc * (x + 1));
}

/* ---- drawing ---------------------------------------------------------------- */

static int span_cmp(const void *p, const void *q)
{
	const struct span *x = p, *y = q;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1;
	return 0;
}

/* Build the spans of a detail frame: ends carry their duration; begins
 * pair up with ends on a stack; a begin left open extends to the end of
 * the lane (or past the window if the look-ahead was cut short). */
static size_t build_spans(vw_app_t *a, struct lane_frame *f,
			  struct span **out)
{
	vw_model_t *m = a->m;
	size_t n = 0, cap = f->ev.n + 1;
	struct span *sp = malloc(cap * sizeof(*sp));
	size_t *stack = malloc(cap * sizeof(*stack)); /* indices in sp */
	size_t depth = 0;

	*out = sp;
	if (!sp || !stack) {
		free(stack);
		return 0;
	}
	for (size_t i = 0; i < f->ev.n; i++) {
		const vw_ev_t *e = &f->ev.v[i];
		const vw_type_t *t = app_type(a, e);
		if (!t)
			continue;
		if (t->kind == VK_SPAN_BEGIN) {
			sp[n] = (struct span){ e->ts, INT64_MAX, e->type, 0,
					       e->id, 0 };
			stack[depth++] = n++;
		} else if (t->kind == VK_SPAN_END) {
			int64_t d = e->dur >= 0 ? e->dur : 0;
			if (depth && !strcmp(m->types[sp[stack[depth - 1]].ti]
						     .name,
					     t->name)) {
				struct span *b = &sp[stack[--depth]];
				b->end = e->ts;
				b->end_id = e->id;
				b->ti = e->type;
			} else {
				sp[n++] = (struct span){ e->ts - d, e->ts,
							 e->type, e->id, 0,
							 0 };
			}
		}
	}
	free(stack);
	int64_t lane_end = m->lanes[f->li].ts_last;
	for (size_t i = 0; i < n; i++)
		if (sp[i].end == INT64_MAX)
			sp[i].end = f->look_full ? INT64_MAX / 2 : lane_end;
	qsort(sp, n, sizeof(*sp), span_cmp);
	/* depth: how many earlier spans still contain this one */
	int64_t *ends = malloc((n + 1) * sizeof(*ends));
	size_t nd = 0;
	for (size_t i = 0; i < n && ends; i++) {
		while (nd && ends[nd - 1] < sp[i].start)
			nd--;
		sp[i].depth = (int)nd;
		ends[nd++] = sp[i].end;
	}
	free(ends);
	return n;
}

static void draw_detail(vw_app_t *a, struct lane_frame *f, int x0, int w)
{
	vw_model_t *m = a->m;
	struct span *sp;
	size_t n = build_spans(a, f, &sp);
	int64_t sel = a->sel.valid ? a->sel.ev.id : -1;

	for (size_t i = 0; i < n; i++) {
		const vw_type_t *t = &m->types[sp[i].ti];
		if (t->hidden)
			continue;
		int c0 = col_of(a, (double)sp[i].start);
		int c1 = col_of(a, (double)sp[i].end);
		if (c1 < 0 || c0 >= w)
			continue;
		if (c0 < 0)
			c0 = 0;
		if (c1 >= w)
			c1 = w - 1;
		int row = sp[i].depth < SPAN_ROWS ? sp[i].depth : SPAN_ROWS - 1;
		bool is_sel = sel >= 0 &&
			      (sel == sp[i].end_id || sel == sp[i].begin_id);
		int st = is_sel ? VS_SEL : t->style;
		int bw = c1 - c0 + 1;
		tui_fill(f->y + row, x0 + c0, bw, " ", st);
		if (bw >= 2)
			tui_put(f->y + row, x0 + c0, t->name, bw, st);
		else
			tui_put(f->y + row, x0 + c0, t->name, 1, st);
	}
	free(sp);

	/* marks row: instants and logs; a count where several share a cell */
	int ym = f->y + SPAN_ROWS;
	int ct = m->lanes[f->li].counter;
	int *mc = calloc((size_t)w, sizeof(*mc));
	int *mk = calloc((size_t)w, sizeof(*mk));
	bool *ms = calloc((size_t)w, sizeof(*ms));
	for (size_t i = 0; mc && mk && ms && i < f->ev.n; i++) {
		const vw_ev_t *e = &f->ev.v[i];
		const vw_type_t *t = app_type(a, e);
		int x = col_of(a, (double)e->ts);
		if (!t || t->hidden || x < 0 || x >= w)
			continue;
		if (e->type == ct && e->has_val)
			f->cval[x] = e->val;
		if (t->kind == VK_INSTANT || t->kind == VK_LOG) {
			mc[x]++;
			if (mk[x] != VK_LOG)
				mk[x] = t->kind;
		}
		if (e->id == sel)
			ms[x] = true;
	}
	for (int x = 0; mc && mk && ms && x < w; x++) {
		if (!mc[x] && !ms[x])
			continue;
		char g[8];
		int st = mk[x] == VK_LOG ? VS_LOG : VS_INSTANT;
		if (mc[x] > 1 && mc[x] < 10)
			snprintf(g, sizeof(g), "%d", mc[x]);
		else if (mc[x] >= 10)
			snprintf(g, sizeof(g), "+");
		else if (mk[x] == VK_LOG)
			snprintf(g, sizeof(g), "%s",
				 tui_utf8() ? "\u2022" : "*");
		else
			snprintf(g, sizeof(g), "|");
		if (!mc[x])
			snprintf(g, sizeof(g), "%s", tui_utf8() ? "\u25c6" : "o");
		tui_put(ym, x0 + x, g, 1, ms[x] ? VS_SEL : st);
	}
	free(mc);
	free(mk);
	free(ms);
}

/* Shading by events per cell, in fixed bands so that it means the same
 * at every zoom level: 1-3, 4-15, 16-63, 64 and more. */
static void draw_density(struct lane_frame *f, int x0, int w)
{
	for (int x = 0; x < w; x++) {
		double c = f->cnt[x];
		if (c < 0.05)
			continue;
		int lv = c < 3.5 ? 1 : c < 15.5 ? 2 : c < 63.5 ? 3 : 4;
		for (int r = 0; r < SPAN_ROWS; r++)
			tui_put(f->y + r, x0 + x, g_dens(lv), 1, VS_DENSITY);
	}
}

static void draw_spark(vw_app_t *a, struct lane_frame *f, int x0, int w)
{
	double lo = INFINITY, hi = -INFINITY;
	int y = f->y + SPAN_ROWS + 1;
	for (int x = 0; x < w; x++) {
		if (isnan(f->cval[x]))
			continue;
		if (f->cval[x] < lo)
			lo = f->cval[x];
		if (f->cval[x] > hi)
			hi = f->cval[x];
	}
	if (lo > hi) {
		if (f->mode == MODE_SUMMARY)
			tui_put(y, x0, "(zoom in for the counter)", w, VS_DIM);
		return;
	}
	double prev = NAN;
	for (int x = 0; x < w; x++) {
		double v = isnan(f->cval[x]) ? prev : f->cval[x];
		if (isnan(v))
			continue;
		prev = v;
		int lv = hi > lo ? (int)((v - lo) / (hi - lo) * 7.999) : 3;
		tui_put(y, x0 + x, g_spark(lv), 1, VS_COUNTER);
	}
	char buf[64];
	snprintf(buf, sizeof(buf), "%.6g", hi);
	(void)a;
	tui_put(y, x0 + w - (int)strlen(buf), buf, -1, VS_DIM);
}

/* How crash (c) concerns lane (li): 2 it crashed there (the crash record
 * names the lane's vCPU, or names no vCPU that has a lane, so it may be
 * any lane of the guest), 1 another vCPU of the lane's guest crashed, 0
 * another guest. */
static int crash_on_lane(vw_model_t *m, const vw_crash_t *c, int li)
{
	if (c->guest_id != m->lanes[li].guest_id)
		return 0;
	int cl = c->vcpu >= 0 ? model_lane_of(m, c->guest_id, c->vcpu) : -1;
	return cl < 0 || cl == li ? 2 : 1;
}

static void draw_marks(vw_app_t *a, struct lane_frame *f, int x0, int w)
{
	vw_model_t *m = a->m;
	int ym = f->y + SPAN_ROWS;
	double t0 = a->t0, t1 = a->t0 + a->nspc * w;
	vw_lost_t lost[MAX_LOST];
	int nl = m->lanes[f->li].nlost
			 ? model_lost(m, f->li, (int64_t)floor(t0),
				      (int64_t)ceil(t1), lost, MAX_LOST)
			 : 0;
	for (int i = 0; i < nl; i++) {
		int c0 = col_of(a, (double)lost[i].t0);
		int c1 = col_of(a, (double)lost[i].t1);
		if (c0 < 0)
			c0 = 0;
		if (c1 >= w)
			c1 = w - 1;
		if (c1 < c0)
			continue;
		tui_fill(ym, x0 + c0, c1 - c0 + 1, "/", VS_LOST);
		char buf[48];
		snprintf(buf, sizeof(buf), "lost %" PRId64, lost[i].count);
		if (c1 - c0 + 1 >= (int)strlen(buf))
			tui_put(ym, x0 + c0, buf, c1 - c0 + 1, VS_LOST);
	}
	for (int i = 0; i < m->ncrashes; i++) {
		const vw_crash_t *c = &m->crashes[i];
		int on = crash_on_lane(m, c, f->li);
		int x = col_of(a, (double)c->ts);
		if (!on || x < 0 || x >= w)
			continue;
		if (on == 1) {
			/* the guest stopped here too: a small, dim mark */
			tui_put(ym, x0 + x, "x", 1, VS_DIM);
			continue;
		}
		for (int r = 0; r < SPAN_ROWS; r++)
			tui_put(f->y + r, x0 + x, "!", 1, VS_CRASH);
		tui_put(ym, x0 + x, "X CRASH", w - x, VS_CRASH);
	}
	/* the selection when the lane is shaded */
	if (f->mode != MODE_DETAIL && a->sel.valid && a->sel.ev.lane == f->li) {
		int x = col_of(a, (double)a->sel.ev.ts);
		if (x >= 0 && x < w)
			tui_put(ym, x0 + x, tui_utf8() ? "\u25c6" : "o", 1,
				VS_SEL);
	}
}

static void draw_label(vw_app_t *a, struct lane_frame *f)
{
	vw_model_t *m = a->m;
	const vw_lane_t *l = &m->lanes[f->li];
	bool sel = f->li == a->lane_sel;
	int st = sel ? VS_LABEL_SEL : VS_LABEL;
	const char *gname = l->gi >= 0 ? m->guests[l->gi].name : "?";
	char buf[64];

	for (int r = 0; r < f->h; r++)
		tui_fill(f->y + r, 0, LABEL_W, " ", st);
	tui_put(f->y, 0, gname, LABEL_W, st);
	tui_putf(f->y + 1, 0, LABEL_W, st, "vcpu %u", l->vcpu);
	if (l->nevents >= 10000000)
		snprintf(buf, sizeof(buf), "%.0fM ev", (double)l->nevents / 1e6);
	else if (l->nevents >= 10000)
		snprintf(buf, sizeof(buf), "%.0fk ev", (double)l->nevents / 1e3);
	else
		snprintf(buf, sizeof(buf), "%" PRId64 " ev", l->nevents);
	tui_put(f->y + 2, 0, buf, LABEL_W, sel ? st : VS_DIM);
	/* CRASHED on the lane that crashed; the guest's other lanes say
	 * it quietly */
	int crashed = 0;
	for (int i = 0; i < m->ncrashes; i++) {
		int on = crash_on_lane(m, &m->crashes[i], f->li);
		if (on > crashed)
			crashed = on;
	}
	if (!crashed && l->gi >= 0 &&
	    !strcmp(m->guests[l->gi].status, "crashed"))
		crashed = 2; /* no crashes row: the status says it */
	if (crashed)
		tui_put(f->y + 2, 9, crashed == 2 ? "CRASHED" : "crashed",
			LABEL_W - 9, crashed == 2 ? VS_CRASH : VS_DIM);
	if (l->nlost)
		tui_putf(f->y + SPAN_ROWS, 0, LABEL_W, VS_LOST,
			 "lost %" PRId64, l->nlost);
	if (l->counter >= 0)
		tui_put(f->y + SPAN_ROWS + 1, 0, m->types[l->counter].name,
			LABEL_W, sel ? st : VS_DIM);
	for (int r = 0; r < f->h; r++)
		tui_put(f->y + r, LABEL_W, tui_utf8() ? "\u2502" : "|", 1,
			VS_DIM);
}

/* Lanes that fit between rows y0 and y1, from lane_top, keeping the
 * selected lane in view. */
static int layout(vw_app_t *a, int y0, int y1, struct lane_frame *fr,
		  int maxf)
{
	vw_model_t *m = a->m;
	if (a->lane_sel >= m->nlanes)
		a->lane_sel = m->nlanes - 1;
	if (a->lane_sel < 0)
		a->lane_sel = 0;
	if (a->lane_top > a->lane_sel)
		a->lane_top = a->lane_sel;
	for (;;) {
		int y = y0, n = 0;
		bool sel_in = false;
		for (int li = a->lane_top; li < m->nlanes && n < maxf; li++) {
			if (!app_lane_visible(a, li))
				continue;
			int h = lane_height(m, li);
			if (y + h > y1)
				break;
			fr[n].li = li;
			fr[n].y = y;
			fr[n].h = h;
			n++;
			if (li == a->lane_sel)
				sel_in = true;
			y += h;
		}
		if (sel_in || a->lane_top >= a->lane_sel ||
		    !app_lane_visible(a, a->lane_sel))
			return n;
		a->lane_top++;
	}
}

static void timeline_draw(vw_app_t *a)
{
	vw_model_t *m = a->m;
	int rows = tui_rows(), cols = tui_cols();
	int w = timeline_width(cols), x0 = LABEL_W + 1;
	int drows = detail_rows(a, rows);
	int y0 = 3, y1 = rows - 2 - drows;
	struct lane_frame fr[64];

	timeline_header(a, 0);
	int n = layout(a, y0, y1, fr, 64);
	int nvis = 0;
	for (int li = 0; li < m->nlanes; li++)
		nvis += app_lane_visible(a, li);
	int modes[3] = { 0, 0, 0 };
	for (int i = 0; i < n; i++) {
		struct lane_frame *f = &fr[i];
		memset(&f->ev, 0, sizeof(f->ev));
		f->cnt = malloc((size_t)w * sizeof(double));
		f->cval = malloc((size_t)w * sizeof(double));
		if (!f->cnt || !f->cval) {
			f->mode = -1;
			continue;
		}
		frame_load(a, f, w, n < nvis ? n : nvis);
		modes[f->mode]++;
	}
	int cx = col_of(a, (double)a->cursor);
	a->nlane_drawn = 0;
	for (int i = 0; i < n; i++) {
		struct lane_frame *f = &fr[i];
		draw_label(a, f);
		if (cx >= 0 && cx < w)
			for (int r = 0; r < f->h; r++)
				tui_put(f->y + r, x0 + cx,
					tui_utf8() ? "\u2506" : ":", 1,
					VS_CURSOR);
		if (f->mode == MODE_DETAIL)
			draw_detail(a, f, x0, w);
		else if (f->mode >= 0)
			draw_density(f, x0, w);
		if (f->mode >= 0 && m->lanes[f->li].counter >= 0)
			draw_spark(a, f, x0, w);
		draw_marks(a, f, x0, w);
		if (a->nlane_drawn < 256) {
			a->lane_y[a->nlane_drawn] = f->y;
			a->lane_h[a->nlane_drawn] = f->h;
			a->lane_ix[a->nlane_drawn] = f->li;
			a->nlane_drawn++;
		}
		evvec_free(&f->ev);
		free(f->cnt);
		free(f->cval);
	}
	if (!n)
		tui_put(y0 + 1, 2,
			m->nlanes ? "no lane to show (all filtered out: F)"
				  : "no events yet",
			-1, VS_DIM);
	else if (n < nvis)
		tui_putf(y1 - 1 >= y0 ? y1 : y0, 0, LABEL_W, VS_DIM,
			 "%d/%d lanes", n, nvis);
	a->label_w = LABEL_W;
	a->tl_w = w;
	a->tl_y0 = y0;
	a->tl_y1 = y1;

	if (drows)
		detail_draw(a, rows - 2 - drows, drows);
	/* info line */
	char cur[48], win[48], pc[48], buf[512];
	model_fmt_rel(m, cur, sizeof(cur), a->cursor);
	model_fmt_dur(win, sizeof(win), a->nspc * w);
	model_fmt_dur(pc, sizeof(pc), a->nspc);
	const vw_lane_t *l = m->nlanes ? &m->lanes[a->lane_sel] : NULL;
	snprintf(buf, sizeof(buf),
		 " cursor %s | window %s (%s/col) | lane %s/vcpu%u | %s",
		 cur, win, pc,
		 l && l->gi >= 0 ? m->guests[l->gi].name : "-",
		 l ? l->vcpu : 0,
		 modes[MODE_DETAIL] && !modes[MODE_BINS] &&
				 !modes[MODE_SUMMARY]
			 ? "events"
			 : modes[MODE_DETAIL] ? "events+density" : "density");
	tui_fill(rows - 2, 0, cols, " ", VS_STATUS);
	tui_put(rows - 2, 0, buf, cols, VS_STATUS);
	if (a->msg[0])
		tui_put(rows - 1, 0, a->msg, cols,
			a->msg_err ? VS_ERROR : VS_NORMAL);
	else
		tui_put(rows - 1, 0,
			"?:help  q:quit  arrows/hl:pan  +/-:zoom  0:fit  "
			"/:search  Enter:detail  Tab:list  g:goto  e:crash  "
			"F:filter",
			cols, VS_DIM);
}

/* Select the event nearest to time (t) on lane (li). */
static void pick(vw_app_t *a, int li, double t)
{
	vw_evvec_t v = { 0 };
	int64_t it = (int64_t)t;
	model_step(a->m, li, it, INT64_MIN, 1, 1, &v, NULL);
	model_step(a->m, li, it, INT64_MIN, -1, 1, &v, NULL);
	const vw_ev_t *best = NULL;
	for (size_t i = 0; i < v.n; i++)
		if (!best || fabs((double)v.v[i].ts - t) <
				     fabs((double)best->ts - t))
			best = &v.v[i];
	a->lane_sel = li;
	if (best && fabs((double)best->ts - t) <= a->nspc * 3) {
		a->sel.valid = true;
		a->sel.ev = *best;
		a->cursor = best->ts;
	} else {
		a->cursor = it;
	}
	evvec_free(&v);
}

static bool timeline_key(vw_app_t *a, int k, const vw_mouse_t *ms)
{
	int x0 = LABEL_W + 1;

	switch (k) {
	case TK_MOUSE: {
		double t = a->t0 + ((double)(ms->x - x0) + 0.5) * a->nspc;
		if (ms->button == 4 || ms->button == 5) {
			app_zoom(a, ms->button == 4 ? 0.5 : 2, t);
			return true;
		}
		if (ms->button != 1)
			return true;
		if (ms->y >= 1 && ms->y <= 2 && ms->x >= x0) {
			a->cursor = (int64_t)t;
			return true;
		}
		for (int i = 0; i < a->nlane_drawn; i++)
			if (ms->y >= a->lane_y[i] &&
			    ms->y < a->lane_y[i] + a->lane_h[i]) {
				if (ms->x >= x0)
					pick(a, a->lane_ix[i], t);
				else
					a->lane_sel = a->lane_ix[i];
			}
		return true;
	}
	case TK_PGUP:
		for (int i = 0; i < 4; i++)
			if (a->lane_sel > 0)
				a->lane_sel--;
		return true;
	case TK_PGDN:
		for (int i = 0; i < 4; i++)
			if (a->lane_sel + 1 < a->m->nlanes)
				a->lane_sel++;
		return true;
	case 'C': { /* next counter of the lane's guest */
		vw_model_t *m = a->m;
		vw_lane_t *l = &m->lanes[a->lane_sel];
		for (int i = 1; i <= m->ntypes; i++) {
			int t = (l->counter + i) % m->ntypes;
			if (t >= 0 && m->types[t].kind == VK_COUNTER &&
			    m->types[t].guest_id == l->guest_id) {
				l->counter = t;
				break;
			}
		}
		return true;
	}
	default:
		return false;
	}
}

static const vw_keyhelp_t timeline_keys[] = {
	{ "Up Down  k j", "select the lane above / below" },
	{ "PgUp PgDn", "select a lane 4 lanes up / down" },
	{ "C", "show the next counter of the lane's guest" },
	{ "click / wheel", "select the nearest event / zoom about the "
			   "pointer" },
	{ NULL, NULL },
};

const struct vw_view vw_view_timeline = {
	.name = "timeline",
	.title = "Timeline (spans are bars, | instants, * logs, digits: "
		 "events sharing a cell, shading: density, /// lost, "
		 "X crash)",
	.draw = timeline_draw,
	.key = timeline_key,
	.keys = timeline_keys,
};
