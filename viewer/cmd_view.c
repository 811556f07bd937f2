/*
 * unitrace view: the ncurses timeline.  Options, the view table, the key
 * loop and the keys shared by every view (pan, zoom, jump, search, ...).
 * Each view is one file holding a const struct vw_view (timeline.c,
 * list.c, help.c, crash.c, filter.c); terminal code is in tui.c only.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "viewer.h"

/* The registered views (help lists their keys in this order). */
const struct vw_view *const vw_views[] = {
	&vw_view_timeline, &vw_view_list, &vw_view_crash, &vw_view_filter,
	&vw_view_help, NULL,
};

static const char view_usage[] =
	"usage: unitrace view [-f] [--no-color] [--no-mouse] DB\n"
	"\n"
	"Browse the trace database DB in the terminal: a time ruler and one\n"
	"lane per guest and vCPU on a shared time axis.  Spans are bars with\n"
	"their names, instants and log messages are marks, counters are\n"
	"sparklines, lost-event ranges and crashes are marked on their lane.\n"
	"Where more events share a cell than can be drawn, the cell is shaded\n"
	"by density.  Tab switches to an event list that follows the same\n"
	"cursor.  Press ? in the viewer for every key.\n"
	"\n"
	"Only what is on screen is read from the database: windows of a lane\n"
	"through the event_blocks index, and event counts per time bucket\n"
	"(built from event_blocks at open) when zoomed out.  Spans that began\n"
	"long before the screen come from an index of open spans that one\n"
	"pass in the background builds after the first zoomed-in screen.\n"
	"\n"
	"Options:\n"
	"  -f, --follow     follow new events while 'unitrace collect' writes\n"
	"                   DB (re-reads it every 500 ms)\n"
	"      --no-color   no colours (also when NO_COLOR is set or the\n"
	"                   terminal has none): attributes and glyphs only\n"
	"      --no-mouse   do not ask the terminal for mouse events\n"
	"      --bench      render into a virtual terminal on /dev/null and\n"
	"                   print timings (first screen, pan and zoom steps)\n"
	"                   and peak memory; no keyboard\n"
	"      --size RxC   terminal size for --bench (default 50x200)\n"
	"  -h, --help       show this help\n"
	"\n"
	"Exit status: 0 after q, 1 the database cannot be read or the\n"
	"terminal cannot be used, 2 usage.\n";

const vw_keyhelp_t vw_app_keys[] = {
	{ "Left Right  h l  a d", "pan by 1/8 of the window" },
	{ "H L  A D  Shift-arrows", "pan by half the window" },
	{ "+ = w   - s", "zoom in / out (about the time cursor)" },
	{ "W  S", "zoom in / out 8 times" },
	{ "0  f", "zoom to fit the whole trace" },
	{ "z", "zoom to the selection (span: its extent)" },
	{ "Home  End", "go to the start / end of the trace" },
	{ "g", "go to a time: 1.5s from the start, +3ms / -20us from "
	       "the cursor, @12.000345678 absolute (as 'unitrace list')" },
	{ ". ,", "next / previous event in the selected lane" },
	{ "> <", "next / previous event in any lane" },
	{ "/", "search event names and field values (substring, any "
	       "case); an empty term repeats the last search" },
	{ "n  N", "next / previous search hit" },
	{ "e  E", "next / previous crash" },
	{ "x  X", "next / previous lost-event range in the lane" },
	{ "c", "crash view (reason, registers, backtrace, last events)" },
	{ "F  \\", "filter: hide guests or event names" },
	{ "Enter", "open / close the detail pane of the selected event" },
	{ "Tab", "switch between the timeline and the event list" },
	{ "Mouse", "click selects an event, wheel zooms" },
	{ "Ctrl-L", "redraw the screen" },
	{ "? F1", "this help" },
	{ "q", "close the help/crash/filter view; quit (exit 0)" },
	{ "Q", "quit from anywhere" },
	{ NULL, NULL },
};

static volatile sig_atomic_t view_signal;

static void view_on_signal(int sig)
{
	view_signal = sig;
}

static double now_ms(void)
{
	return (double)ut_now_ns() / 1e6;
}

/* ---- shared state changes --------------------------------------------- */

void app_msg(vw_app_t *a, bool err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->msg, sizeof(a->msg), fmt, ap);
	va_end(ap);
	a->msg_err = err;
}

bool app_lane_visible(const vw_app_t *a, int li)
{
	const vw_lane_t *l = &a->m->lanes[li];
	return l->gi < 0 || !a->m->guests[l->gi].hidden;
}

bool app_type_visible(const vw_app_t *a, int ti)
{
	return ti < 0 || !a->m->types[ti].hidden;
}

const vw_type_t *app_type(const vw_app_t *a, const vw_ev_t *ev)
{
	return ev->type >= 0 && ev->type < a->m->ntypes ? &a->m->types[ev->type]
							: NULL;
}

int app_main_rows(const vw_app_t *a)
{
	return tui_rows() - detail_rows(a, tui_rows());
}

static double win_ns(const vw_app_t *a)
{
	return a->nspc * timeline_width(tui_cols());
}

static void clamp_window(vw_app_t *a)
{
	vw_model_t *m = a->m;
	double span = m->t_max >= m->t_min ? (double)(m->t_max - m->t_min)
					    : 1e9;
	int w = timeline_width(tui_cols());
	if (a->nspc < 0.01)
		a->nspc = 0.01;
	if (a->nspc * w > span * 4 + 1e6)
		a->nspc = (span * 4 + 1e6) / w;
	double lo = (double)m->t_min - a->nspc * w * 0.9;
	double hi = (double)m->t_max - a->nspc * w * 0.1;
	if (m->t_min <= m->t_max) {
		if (a->t0 > hi)
			a->t0 = hi;
		if (a->t0 < lo)
			a->t0 = lo;
	}
}

void app_fit(vw_app_t *a)
{
	vw_model_t *m = a->m;
	int w = timeline_width(tui_cols());
	if (m->t_min > m->t_max) {
		a->t0 = 0;
		a->nspc = 1e6;
		return;
	}
	double span = (double)(m->t_max - m->t_min) + 1;
	a->nspc = span * 1.02 / w;
	if (a->nspc < 0.01)
		a->nspc = 0.01;
	a->t0 = (double)m->t_min - span * 0.01;
}

void app_zoom(vw_app_t *a, double f, double t)
{
	double old = a->nspc;
	a->nspc *= f;
	clamp_window(a);
	f = a->nspc / old;
	a->t0 = t - (t - a->t0) * f;
	clamp_window(a);
}

void app_show_time(vw_app_t *a, int64_t t)
{
	double w = win_ns(a);
	a->cursor = t;
	if ((double)t < a->t0 || (double)t >= a->t0 + w)
		a->t0 = (double)t - w / 2;
	clamp_window(a);
}

void app_select(vw_app_t *a, const vw_ev_t *ev)
{
	a->sel.valid = true;
	a->sel.ev = *ev;
	if (ev->lane >= 0)
		a->lane_sel = ev->lane;
	app_show_time(a, ev->ts);
}

/* A SQL condition excluding hidden event types, or "". */
void app_hidden_sql(const vw_app_t *a, char *buf, size_t len)
{
	size_t o = 0;
	int n = 0;
	buf[0] = 0;
	for (int i = 0; i < a->m->ntypes && o + 24 < len; i++) {
		if (!a->m->types[i].hidden)
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%" PRId64,
				      n ? "," : "type NOT IN (",
				      a->m->types[i].id);
		n++;
	}
	if (n)
		snprintf(buf + o, len - o, ")");
}

/* Nearest event after/before (ts, id) over the visible lanes, matching
 * (match) (may be NULL).  Returns true and *out. */
static bool step_lanes(vw_app_t *a, int64_t ts, int64_t id, int dir,
		       const char *match, vw_ev_t *out)
{
	char hid[4096], cond[16384];
	vw_evvec_t v = { 0 };
	bool found = false;

	app_hidden_sql(a, hid, sizeof(hid));
	snprintf(cond, sizeof(cond), "%s%s%s%s%s", match && *match ? "(" : "",
		 match ? match : "", match && *match ? ")" : "",
		 match && *match && hid[0] ? " AND " : "", hid);
	for (int li = 0; li < a->m->nlanes; li++) {
		if (!app_lane_visible(a, li))
			continue;
		evvec_clear(&v);
		if (model_step(a->m, li, ts, id, dir, 1, &v, cond) < 0) {
			app_msg(a, true, "%s", a->m->err);
			break;
		}
		if (!v.n)
			continue;
		const vw_ev_t *e = &v.v[0];
		bool better = !found ||
			      (dir > 0 ? (e->ts < out->ts ||
					  (e->ts == out->ts && e->id < out->id))
				       : (e->ts > out->ts ||
					  (e->ts == out->ts && e->id > out->id)));
		if (better) {
			*out = *e;
			found = true;
		}
	}
	evvec_free(&v);
	return found;
}

/* The position to step from: the selection, or the cursor. */
static void position(const vw_app_t *a, int li, int64_t *ts, int64_t *id,
		     int dir)
{
	if (a->sel.valid && (li < 0 || a->sel.ev.lane == li) &&
	    a->sel.ev.ts == a->cursor) {
		*ts = a->sel.ev.ts;
		*id = a->sel.ev.id;
	} else {
		*ts = a->cursor;
		*id = dir > 0 ? INT64_MIN : INT64_MAX;
	}
}

bool app_step_all(vw_app_t *a, int dir)
{
	int64_t ts, id;
	vw_ev_t e;
	position(a, -1, &ts, &id, dir);
	if (step_lanes(a, ts, id, dir, NULL, &e)) {
		app_select(a, &e);
		return true;
	}
	app_msg(a, false, "no %s event", dir > 0 ? "later" : "earlier");
	return false;
}

static void step_lane(vw_app_t *a, int dir)
{
	int li = a->lane_sel;
	int64_t ts, id;
	char hid[4096];
	vw_evvec_t v = { 0 };

	if (li < 0 || li >= a->m->nlanes)
		return;
	position(a, li, &ts, &id, dir);
	app_hidden_sql(a, hid, sizeof(hid));
	if (model_step(a->m, li, ts, id, dir, 1, &v, hid) > 0)
		app_select(a, &v.v[0]);
	else
		app_msg(a, false, "no %s event in this lane",
			dir > 0 ? "later" : "earlier");
	evvec_free(&v);
}

static void search(vw_app_t *a, int dir)
{
	char match[16384];
	int64_t ts, id;
	vw_ev_t e;

	if (!a->search[0]) {
		app_msg(a, false, "no search yet: press /");
		return;
	}
	model_match_sql(a->m, a->search, match, sizeof(match));
	if (!match[0]) {
		app_msg(a, true, "search term too long");
		return;
	}
	app_msg(a, false, "searching for '%s'...", a->search);
	a->main->draw(a);
	tui_refresh();
	position(a, -1, &ts, &id, dir);
	if (step_lanes(a, ts, id, dir, match, &e)) {
		app_select(a, &e);
		app_msg(a, false, "'%s': %s", a->search,
			app_type(a, &e) ? app_type(a, &e)->name : "?");
		return;
	}
	/* wrap around once */
	if (step_lanes(a, dir > 0 ? INT64_MIN : INT64_MAX,
		       dir > 0 ? INT64_MIN : INT64_MAX, dir, match, &e)) {
		app_select(a, &e);
		app_msg(a, false, "'%s': search wrapped", a->search);
		return;
	}
	app_msg(a, true, "'%s' not found", a->search);
}

static void crash_step(vw_app_t *a, int dir)
{
	vw_model_t *m = a->m;
	int best = -1;

	if (!m->ncrashes) {
		app_msg(a, false, "no crashes in this trace");
		return;
	}
	for (int i = 0; i < m->ncrashes; i++) {
		int j = dir > 0 ? i : m->ncrashes - 1 - i;
		int64_t t = m->crashes[j].ts;
		if (dir > 0 ? (t > a->cursor ||
			       (t == a->cursor && j > a->crash_sel))
			    : (t < a->cursor ||
			       (t == a->cursor && j < a->crash_sel))) {
			best = j;
			break;
		}
	}
	if (best < 0) {
		app_msg(a, false, "no %s crash", dir > 0 ? "later" : "earlier");
		return;
	}
	a->crash_sel = best;
	int li = model_lane_of(m, m->crashes[best].guest_id,
			       m->crashes[best].vcpu);
	if (li < 0)
		li = model_lane_of(m, m->crashes[best].guest_id, -1);
	if (li >= 0)
		a->lane_sel = li;
	a->sel.valid = false;
	app_show_time(a, m->crashes[best].ts);
	app_msg(a, false, "crash %d/%d: %s (c: crash view)", best + 1,
		m->ncrashes, m->crashes[best].reason);
}

static void lost_step(vw_app_t *a, int dir)
{
	vw_lost_t l;
	if (a->lane_sel < 0 || a->lane_sel >= a->m->nlanes)
		return;
	if (model_lost_step(a->m, a->lane_sel, a->cursor, dir, &l) == 0) {
		a->sel.valid = false;
		app_show_time(a, l.t0);
		app_msg(a, false, "%" PRId64 " events lost (%s)", l.count,
			l.reason);
	} else {
		app_msg(a, false, "no %s lost-event range in this lane",
			dir > 0 ? "later" : "earlier");
	}
}

/* Parse a time for `g`. */
static int parse_time(vw_app_t *a, const char *s, int64_t *out)
{
	char *end;
	int mode = 0; /* 0 from start, 1 relative to cursor, 2 absolute */
	while (*s == ' ')
		s++;
	if (*s == '@') {
		mode = 2;
		s++;
	} else if (*s == '+' || *s == '-') {
		mode = 1;
	}
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s)
		return -1;
	while (*end == ' ')
		end++;
	double mul = 1e9;
	if (!strcmp(end, "ns"))
		mul = 1;
	else if (!strcmp(end, "us"))
		mul = 1e3;
	else if (!strcmp(end, "ms"))
		mul = 1e6;
	else if (*end && strcmp(end, "s"))
		return -1;
	double t = v * mul;
	if (mode == 1)
		t += (double)a->cursor;
	else if (mode == 0)
		t += (double)(a->m->t_min <= a->m->t_max ? a->m->t_min : 0);
	if (!isfinite(t) || t > 9.2e18 || t < -9.2e18)
		return -1;
	*out = (int64_t)t;
	return 0;
}

static void zoom_selection(vw_app_t *a)
{
	if (!a->sel.valid) {
		app_zoom(a, 1.0 / 64, (double)a->cursor);
		return;
	}
	const vw_ev_t *e = &a->sel.ev;
	const vw_type_t *t = app_type(a, e);
	int w = timeline_width(tui_cols());
	vw_ev_t end;
	if (t && t->kind == VK_SPAN_BEGIN && detail_span_end(a, e, &end) == 0) {
		double d = (double)(end.ts - e->ts) + 1;
		a->nspc = d * 1.25 / w;
		a->t0 = (double)e->ts - d * 0.125;
	} else if (t && t->kind == VK_SPAN_END && e->dur > 0) {
		double d = (double)e->dur;
		a->nspc = d * 1.25 / w;
		a->t0 = (double)e->ts - d * 1.125;
	} else {
		/* an instant: a window of ~40 ns per column around it */
		if (a->nspc > 40)
			a->nspc = 40;
		a->t0 = (double)e->ts - a->nspc * w / 2;
	}
	clamp_window(a);
}

static void lane_move(vw_app_t *a, int dir)
{
	int li = a->lane_sel;
	for (;;) {
		li += dir;
		if (li < 0 || li >= a->m->nlanes)
			return;
		if (app_lane_visible(a, li))
			break;
	}
	a->lane_sel = li;
}

/* Keys every main view shares.  Returns true if handled. */
static bool app_key(vw_app_t *a, int k)
{
	double w = win_ns(a);
	char buf[128];

	switch (k) {
	case 'q':
	case 'Q':
		a->quit = true;
		break;
	case '?':
	case TK_F1:
		a->overlay = &vw_view_help;
		a->help_top = 0;
		break;
	case TK_TAB:
	case TK_BTAB:
		a->main = a->main == &vw_view_timeline ? &vw_view_list
						       : &vw_view_timeline;
		a->list_rows = -1;
		break;
	case TK_ENTER:
		a->detail = !a->detail;
		break;
	case TK_LEFT: case 'h': case 'a':
		a->t0 -= w / 8;
		a->at_end = false;
		clamp_window(a);
		break;
	case TK_RIGHT: case 'l': case 'd':
		a->t0 += w / 8;
		clamp_window(a);
		break;
	case TK_SLEFT: case 'H': case 'A':
		a->t0 -= w / 2;
		a->at_end = false;
		clamp_window(a);
		break;
	case TK_SRIGHT: case 'L': case 'D':
		a->t0 += w / 2;
		clamp_window(a);
		break;
	case '+': case '=': case 'w':
		app_zoom(a, 0.5, (double)a->cursor);
		break;
	case '-': case 's':
		app_zoom(a, 2, (double)a->cursor);
		break;
	case 'W':
		app_zoom(a, 0.125, (double)a->cursor);
		break;
	case 'S':
		app_zoom(a, 8, (double)a->cursor);
		break;
	case '0': case 'f':
		app_fit(a);
		break;
	case 'z':
		zoom_selection(a);
		break;
	case TK_HOME:
		a->sel.valid = false;
		app_show_time(a, a->m->t_min);
		a->t0 = (double)a->m->t_min - w * 0.05;
		clamp_window(a);
		break;
	case TK_END:
		a->sel.valid = false;
		app_show_time(a, a->m->t_max);
		a->t0 = (double)a->m->t_max - w * 0.95;
		a->at_end = true;
		clamp_window(a);
		break;
	case 'g': {
		int64_t t;
		buf[0] = 0;
		if (tui_prompt("go to (1.5s from start, +3ms, @abs): ", buf,
			       sizeof(buf)) || !buf[0])
			break;
		if (parse_time(a, buf, &t)) {
			app_msg(a, true, "cannot read the time '%s'", buf);
			break;
		}
		a->sel.valid = false;
		app_show_time(a, t);
		a->t0 = (double)t - w / 2;
		clamp_window(a);
		break;
	}
	case '.':
		step_lane(a, 1);
		break;
	case ',':
		step_lane(a, -1);
		break;
	case '>':
		app_step_all(a, 1);
		break;
	case '<':
		app_step_all(a, -1);
		break;
	case '/': {
		/* an empty term repeats the last search */
		char term[128] = "";
		if (tui_prompt("/", term, sizeof(term)))
			break;
		if (term[0])
			snprintf(a->search, sizeof(a->search), "%s", term);
		search(a, 1);
		break;
	}
	case 'n':
		search(a, 1);
		break;
	case 'N':
		search(a, -1);
		break;
	case 'e':
		crash_step(a, 1);
		break;
	case 'E':
		crash_step(a, -1);
		break;
	case 'x':
		lost_step(a, 1);
		break;
	case 'X':
		lost_step(a, -1);
		break;
	case 'c':
		if (!a->m->ncrashes) {
			app_msg(a, false, "no crashes in this trace");
			break;
		}
		a->overlay = &vw_view_crash;
		a->crash_top = 0;
		break;
	case 'F':
	case '\\':
		a->overlay = &vw_view_filter;
		break;
	case TK_UP: case 'k':
		lane_move(a, -1);
		break;
	case TK_DOWN: case 'j':
		lane_move(a, 1);
		break;
	default:
		return false;
	}
	return true;
}

static void follow_tick(vw_app_t *a)
{
	int64_t old_max = a->m->t_max;
	bool empty = a->m->t_min > a->m->t_max;
	double w = win_ns(a);
	bool at_end = a->at_end || a->t0 + w >= (double)old_max;

	int r = model_refresh(a->m);
	if (r < 0) {
		app_msg(a, true, "%s", a->m->err);
		return;
	}
	if (!r)
		return;
	if (empty && a->m->t_min <= a->m->t_max) {
		app_fit(a);
		a->cursor = a->m->t_min;
	} else if (at_end && a->m->t_max > old_max) {
		/* keep the newest events in view */
		a->t0 = (double)a->m->t_max - w * 0.95;
		a->at_end = true;
	}
}

static void draw(vw_app_t *a)
{
	a->spans_pending = false; /* the views set it again if need be */
	tui_erase();
	a->main->draw(a);
	if (a->overlay)
		a->overlay->draw(a);
	tui_refresh();
}

static void app_init(vw_app_t *a, vw_model_t *m, bool follow)
{
	memset(a, 0, sizeof(*a));
	a->m = m;
	a->main = &vw_view_timeline;
	a->follow = follow;
	app_fit(a);
	a->cursor = m->t_min <= m->t_max ? m->t_min : 0;
	for (int i = 0; i < m->nlanes; i++)
		if (m->lanes[i].nevents) {
			a->lane_sel = i;
			break;
		}
	a->crash_sel = -1;
}

static int loop(vw_app_t *a)
{
	vw_mouse_t ms;

	while (!a->quit) {
		draw(a);
		/* while the span index is being built for what is on
		 * screen, draw again every 200 ms */
		int k = tui_getkey(a->follow	       ? 500
				   : a->spans_pending ? 200
						      : -1,
				   a->spans_pending, &ms);
		if (view_signal)
			return 130;
		if (k == TK_TIMEOUT) {
			if (a->follow)
				follow_tick(a);
			continue;
		}
		if (k == TK_NONE)
			continue;
		a->msg[0] = 0;
		if (k == TK_RESIZE || k == TK_CTRL_L) {
			clamp_window(a);
			tui_erase();
			tui_refresh();
			continue;
		}
		if (k == 'Q') {
			a->quit = true;
			break;
		}
		if (a->overlay) {
			if (a->overlay->key && a->overlay->key(a, k, &ms))
				continue;
			if (k == 'q' || k == TK_ESC || k == '?' || k == TK_F1)
				a->overlay = NULL;
			continue;
		}
		if (a->main->key && a->main->key(a, k, &ms))
			continue;
		if (k == TK_ESC) {
			a->detail = false;
			continue;
		}
		app_key(a, k);
	}
	return 0;
}

/* --bench: time the first screen and pan/zoom steps. */
static int bench(vw_app_t *a, double t_start)
{
	double t, worst, sum;
	int n;
	struct rusage ru;

	draw(a);
	double first = now_ms() - t_start;
	printf("bench: %s: %" PRId64 " events, %d lanes, %dx%d\n", a->m->path,
	       a->m->nevents, a->m->nlanes, tui_rows(), tui_cols());
	printf("  first screen: %.1f ms (open + summary + draw)\n", first);

	/* zoom in from the whole trace, 2x per step, about the middle */
	int64_t mid = a->m->t_min + (a->m->t_max - a->m->t_min) / 2;
	a->cursor = mid;
	worst = sum = 0;
	n = 0;
	for (int i = 0; i < 26; i++) {
		app_zoom(a, 0.5, (double)mid);
		t = now_ms();
		draw(a);
		t = now_ms() - t;
		sum += t;
		n++;
		if (t > worst)
			worst = t;
	}
	printf("  zoom step:    mean %.2f ms, max %.2f ms (%d steps, to "
	       "%.2g ns/column)\n",
	       sum / n, worst, n, a->nspc);
	/* the pan steps with the span index built (it was started by the
	 * first zoomed-in screen and runs in the background) */
	spans_start(a->m);
	t = now_ms();
	while (!spans_done(a->m) && now_ms() - t < 120000) {
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	double sx_ms;
	size_t sx_bytes;
	spans_info(a->m, &sx_ms, &sx_bytes);
	printf("  span index:   %.0f ms in the background, %.2f MiB\n", sx_ms,
	       (double)sx_bytes / (1024 * 1024));
	/* pan at several zoom levels */
	double levels[] = { 1, 1.0 / 64, 1.0 / 4096, 1.0 / 262144 };
	for (size_t z = 0; z < sizeof(levels) / sizeof(levels[0]); z++) {
		app_fit(a);
		app_zoom(a, levels[z], (double)mid);
		a->t0 = (double)mid - a->nspc * timeline_width(tui_cols()) / 2;
		worst = sum = 0;
		n = 0;
		for (int i = 0; i < 16; i++) {
			app_key(a, i < 8 ? 'l' : 'h');
			t = now_ms();
			draw(a);
			t = now_ms() - t;
			sum += t;
			n++;
			if (t > worst)
				worst = t;
		}
		char d[48];
		model_fmt_dur(d, sizeof(d), win_ns(a));
		printf("  pan step:     mean %.2f ms, max %.2f ms (window "
		       "%s)\n",
		       sum / n, worst, d);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("  peak RSS:     %.1f MiB\n", (double)ru.ru_maxrss / 1024);
	printf("  events read:  %" PRId64 "\n", a->m->rows_read);
	printf("summary: events=%" PRId64 " first_ms=%.1f rss_mib=%.1f\n",
	       a->m->nevents, first, (double)ru.ru_maxrss / 1024);
	return 0;
}

static int view_run(int argc, char **argv)
{
	double t_start = now_ms();
	const char *path = NULL;
	bool follow = false, mono = false, mouse = true, opts = true;
	bool do_bench = false;
	int brows = 50, bcols = 200;

	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (opts && !strcmp(s, "--")) {
			opts = false;
		} else if (opts && (!strcmp(s, "-f") ||
				    !strcmp(s, "--follow"))) {
			follow = true;
		} else if (opts && !strcmp(s, "--no-color")) {
			mono = true;
		} else if (opts && !strcmp(s, "--no-mouse")) {
			mouse = false;
		} else if (opts && !strcmp(s, "--bench")) {
			do_bench = true;
		} else if (opts && !strcmp(s, "--size")) {
			if (i + 1 >= argc ||
			    sscanf(argv[++i], "%dx%d", &brows, &bcols) != 2 ||
			    brows < 10 || bcols < 40 || brows > 1000 ||
			    bcols > 1000) {
				ut_error("view", "--size wants ROWSxCOLS, e.g. "
						 "50x200");
				return 2;
			}
		} else if (opts && s[0] == '-' && s[1]) {
			ut_error("view", "unknown option '%s'; see 'unitrace "
					 "view --help'", s);
			return 2;
		} else if (!path) {
			path = s;
		} else {
			ut_error("view", "unexpected argument '%s'; see "
					 "'unitrace view --help'", s);
			return 2;
		}
	}
	if (!path) {
		ut_error("view", "no database given; usage: unitrace view "
				 "[-f] DB");
		return 2;
	}
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		mono = true;
	/* Everything that can fail on the database fails here, before the
	 * terminal is touched. */
	vw_model_t *m = model_open(path);
	if (!m)
		return 1;
	m->follow = follow;
	if (!do_bench && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		ut_error("view", "needs a terminal (stdin and stdout must be "
				 "a tty)");
		model_close(m);
		return 1;
	}

	tui_opts_t to = { .mono = mono, .mouse = mouse };
	if (do_bench) {
		const char *term = getenv("TERM");
		to.bench_term = term && *term && strcmp(term, "dumb")
					? term
					: "xterm-256color";
		to.bench_rows = brows;
		to.bench_cols = bcols;
	}
	char err[256];
	if (tui_init(&to, err, sizeof(err))) {
		tui_end();
		ut_error("view", "%s", err);
		model_close(m);
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = view_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	vw_app_t *a = calloc(1, sizeof(*a));
	int rc = 1;
	if (a) {
		app_init(a, m, follow);
		rc = do_bench ? bench(a, t_start) : loop(a);
	}
	tui_end();
	if (!do_bench && a && a->msg_err && rc)
		ut_error("view", "%s", a->msg);
	free(a);
	model_close(m);
	if (view_signal)
		rc = 130;
	return rc;
}

const struct ut_cmd ut_cmd_view = {
	.name = "view",
	.summary = "browse a trace in the terminal (timeline, list, crashes)",
	.usage = view_usage,
	.run = view_run,
};
