/*
 * The crash view: one guest crash with every column of its crashes row
 * (reason, signal, fault address, registers, backtrace, core path, and
 * any column added later), its crash_frames rows when that table exists,
 * and the last events of the guest's lanes before the crash.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viewer.h"

#define CRASH_LAST 24 /* events shown before the crash */

static struct {
	char **line;
	int *style;
	int n, cap;
	int64_t built_for; /* crashes.id, -1 */
	vw_model_t *m;
} cv = { .built_for = -1 };

static void cv_add(int style, const char *s)
{
	if (cv.n == cv.cap) {
		int nc = cv.cap ? cv.cap * 2 : 64;
		char **l = realloc(cv.line, (size_t)nc * sizeof(*l));
		if (!l)
			return;
		cv.line = l;
		int *st = realloc(cv.style, (size_t)nc * sizeof(*st));
		if (!st)
			return;
		cv.style = st;
		cv.cap = nc;
	}
	cv.line[cv.n] = strdup(s);
	if (!cv.line[cv.n])
		return;
	cv.style[cv.n++] = style;
}

static void cv_addf(int style, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void cv_addf(int style, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cv_add(style, buf);
}

static void cv_clear(void)
{
	for (int i = 0; i < cv.n; i++)
		free(cv.line[i]);
	cv.n = 0;
}

/* A column: one line, or a titled block for multi-line text. */
static void crash_row_cb(void *ctx, int ncol, const char **names,
			 const char **vals)
{
	(void)ctx;
	for (int i = 0; i < ncol; i++) {
		if (!strcmp(names[i], "id") || !strcmp(names[i], "guest_id"))
			continue;
		const char *v = vals[i] ? vals[i] : "-";
		if (!strcmp(names[i], "fault_addr") && vals[i]) {
			int64_t x = strtoll(vals[i], NULL, 10);
			cv_addf(VS_NORMAL, "  %-12s 0x%" PRIx64, names[i],
				(uint64_t)x);
			continue;
		}
		if (!strchr(v, '\n')) {
			cv_addf(VS_NORMAL, "  %-12s %s", names[i], v);
			continue;
		}
		cv_addf(VS_HEAD, "%s:", names[i]);
		const char *p = v;
		while (*p) {
			const char *e = strchr(p, '\n');
			size_t len = e ? (size_t)(e - p) : strlen(p);
			char buf[512];
			snprintf(buf, sizeof(buf), "    %.*s",
				 (int)(len < 500 ? len : 500), p);
			cv_add(VS_NORMAL, buf);
			p += len;
			if (*p)
				p++;
		}
	}
}

static void frame_cb(void *ctx, int ncol, const char **names,
		     const char **vals)
{
	char buf[1024];
	size_t o = 0;
	(void)ctx;
	buf[0] = 0;
	for (int i = 0; i < ncol && o + 2 < sizeof(buf); i++) {
		if (!strcmp(names[i], "crash_id") || !strcmp(names[i], "id"))
			continue;
		char hx[32];
		const char *v = vals[i] ? vals[i] : "-";
		if (!strcmp(names[i], "pc") && vals[i]) {
			snprintf(hx, sizeof(hx), "0x%" PRIx64,
				 (uint64_t)strtoll(vals[i], NULL, 10));
			v = hx;
		}
		int k = snprintf(buf + o, sizeof(buf) - o, "%s%s=%s",
				 o ? "  " : "    ", names[i], v);
		if (k > 0)
			o += (size_t)k;
	}
	cv_add(VS_NORMAL, buf);
}

static int cmp_ev(const void *p, const void *q)
{
	const vw_ev_t *x = p, *y = q;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

static void build(vw_app_t *a)
{
	vw_model_t *m = a->m;
	const vw_crash_t *c = &m->crashes[a->crash_sel];
	char rel[48], abs_[48];

	cv_clear();
	cv.built_for = c->id;
	cv.m = m;
	int gi = -1;
	for (int i = 0; i < m->nguests; i++)
		if (m->guests[i].id == c->guest_id)
			gi = i;
	model_fmt_rel(m, rel, sizeof(rel), c->ts);
	model_fmt_abs(abs_, sizeof(abs_), c->ts);
	char vc[24] = "";
	if (c->vcpu >= 0)
		snprintf(vc, sizeof(vc), "  vcpu %d", c->vcpu);
	cv_addf(VS_CRASH, " CRASH %d/%d  guest %s (id %" PRId64 ")%s  at %s "
			  "(%s s)  ",
		a->crash_sel + 1, m->ncrashes, gi >= 0 ? m->guests[gi].name : "?",
		c->guest_id, vc, rel, abs_);
	cv_add(VS_NORMAL, "");
	if (model_rows(m, "SELECT * FROM crashes WHERE id = ?", c->id,
		       crash_row_cb, NULL) < 0)
		cv_addf(VS_ERROR, "  cannot read the crash: %s", m->err);
	if (model_has_table(m, "crash_frames")) {
		cv_add(VS_NORMAL, "");
		cv_add(VS_HEAD, "crash_frames:");
		if (model_rows(m,
			       "SELECT * FROM crash_frames WHERE crash_id = ?",
			       c->id, frame_cb, NULL) < 0)
			cv_addf(VS_DIM, "    (cannot read: %s)", m->err);
	}
	/* the last events of the guest's lanes */
	vw_evvec_t v = { 0 };
	for (int li = 0; li < m->nlanes; li++)
		if (m->lanes[li].guest_id == c->guest_id)
			model_step(m, li, c->ts, INT64_MAX, -1, CRASH_LAST, &v,
				   NULL);
	if (v.n)
		qsort(v.v, v.n, sizeof(*v.v), cmp_ev);
	size_t from = v.n > CRASH_LAST ? v.n - CRASH_LAST : 0;
	cv_add(VS_NORMAL, "");
	cv_addf(VS_HEAD, "last %zu events of the guest before the crash:",
		v.n - from);
	for (size_t i = from; i < v.n; i++) {
		const vw_ev_t *e = &v.v[i];
		const vw_type_t *t = app_type(a, e);
		char f[512], d[48];
		model_fmt_dur(d, sizeof(d), (double)(c->ts - e->ts));
		model_fields(m, e->id, f, sizeof(f));
		char nm[96];
		snprintf(nm, sizeof(nm), "%s%s", t ? t->name : "?",
			 !t                          ? ""
			 : t->kind == VK_SPAN_BEGIN ? " begin"
			 : t->kind == VK_SPAN_END   ? " end"
						    : "");
		if (t && t->kind == VK_SPAN_END && e->dur >= 0) {
			char dd[48];
			model_fmt_dur(dd, sizeof(dd), (double)e->dur);
			snprintf(f, sizeof(f), "dur=%s", dd);
		}
		cv_addf(t && t->kind == VK_LOG ? VS_LOG : VS_NORMAL,
			"  -%-11s vcpu %-3u %-20s %s", d,
			m->lanes[e->lane].vcpu, nm, f);
	}
	if (!v.n)
		cv_add(VS_DIM, "  (none)");
	evvec_free(&v);
}

static void crash_draw(vw_app_t *a)
{
	vw_model_t *m = a->m;
	int rows = tui_rows(), cols = tui_cols();

	if (a->crash_sel < 0 || a->crash_sel >= m->ncrashes)
		a->crash_sel = 0;
	if (!m->ncrashes)
		return;
	if (cv.built_for != m->crashes[a->crash_sel].id || cv.m != m)
		build(a);
	tui_erase();
	if (a->crash_top > cv.n - (rows - 1))
		a->crash_top = cv.n - (rows - 1);
	if (a->crash_top < 0)
		a->crash_top = 0;
	for (int y = 0; y < rows - 1 && a->crash_top + y < cv.n; y++) {
		int i = a->crash_top + y;
		if (cv.style[i] == VS_CRASH)
			tui_fill(y, 0, cols, " ", VS_CRASH);
		tui_put(y, 0, cv.line[i], cols, cv.style[i]);
	}
	tui_fill(rows - 1, 0, cols, " ", VS_STATUS);
	tui_put(rows - 1, 0,
		" crash view | n/p: next/previous crash | Enter: show it on "
		"the timeline | Up/Down: scroll | q Esc: close",
		cols, VS_STATUS);
}

static bool crash_key(vw_app_t *a, int k, const vw_mouse_t *ms)
{
	vw_model_t *m = a->m;
	(void)ms;
	switch (k) {
	case TK_UP: case 'k':
		a->crash_top--;
		return true;
	case TK_DOWN: case 'j':
		a->crash_top++;
		return true;
	case TK_PGUP:
		a->crash_top -= tui_rows() - 2;
		return true;
	case TK_PGDN: case ' ':
		a->crash_top += tui_rows() - 2;
		return true;
	case 'n': case 'e':
		if (a->crash_sel + 1 < m->ncrashes)
			a->crash_sel++;
		a->crash_top = 0;
		return true;
	case 'p': case 'E':
		if (a->crash_sel > 0)
			a->crash_sel--;
		a->crash_top = 0;
		return true;
	case TK_ENTER: {
		const vw_crash_t *c = &m->crashes[a->crash_sel];
		int li = model_lane_of(m, c->guest_id, -1);
		if (li >= 0)
			a->lane_sel = li;
		a->sel.valid = false;
		app_show_time(a, c->ts);
		a->overlay = NULL;
		return true;
	}
	default:
		return false;
	}
}

static const vw_keyhelp_t crash_keys[] = {
	{ "n p  e E", "next / previous crash" },
	{ "Enter", "close and show the crash on the timeline" },
	{ "Up Down PgUp PgDn", "scroll" },
	{ NULL, NULL },
};

const struct vw_view vw_view_crash = {
	.name = "crash",
	.title = "Crash view (c)",
	.draw = crash_draw,
	.key = crash_key,
	.keys = crash_keys,
	.overlay = true,
};
