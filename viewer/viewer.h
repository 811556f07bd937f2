/*
 * unitrace viewer: internal interfaces.  One header for the component,
 * prototypes grouped by the file that defines them.
 *
 * Layout of the component:
 *   tui.c       the only file that includes curses: terminal setup, keys,
 *               mouse, colours, a small cell-drawing API (tui_*)
 *   model.c     every SQL query: lanes, types, windows of events through
 *               event_blocks, lost ranges, crashes, search (model_*)
 *   summary.c   per-lane event counts per time bucket, built from the
 *               collector's event_blocks (summary_*)
 *   timeline.c  list.c  help.c  crash.c  filter.c: one view each, a const
 *               struct vw_view descriptor (vtable) registered in
 *               cmd_view.c's view table
 *   detail.c    the detail pane (fields, span duration and parent)
 *   cmd_view.c  `unitrace view`: options, the key loop, shared keys
 */
#ifndef UT_VIEWER_H
#define UT_VIEWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sqlite3;

/* (a) + (b), held at the int64 limits: event counts come from the file,
 * and a damaged one may hold any. */
static inline int64_t vw_add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

/* ---- semantic styles: tui.c maps them to colours or attributes -------- */
enum vw_style {
	VS_NORMAL = 0,
	VS_DIM,
	VS_TITLE,    /* header line */
	VS_STATUS,   /* status line */
	VS_RULER,
	VS_LABEL,
	VS_LABEL_SEL,
	VS_SPAN0,    /* VS_SPAN0 .. VS_SPAN0 + VS_NSPAN - 1: span colours */
	VS_SPAN1,
	VS_SPAN2,
	VS_SPAN3,
	VS_SPAN4,
	VS_SPAN5,
	VS_INSTANT,
	VS_LOG,
	VS_COUNTER,
	VS_DENSITY,
	VS_LOST,
	VS_CRASH,
	VS_SEL,      /* the selected event */
	VS_CURSOR,   /* the time cursor column */
	VS_HIT,      /* search hit */
	VS_HEAD,     /* table header, section titles */
	VS_ERROR,
	VS__COUNT
};
#define VS_NSPAN 6

/* ---- keys: tui.c translates curses key codes to these ----------------- */
enum {
	TK_NONE = -1,
	TK_TIMEOUT = 0x1000, /* nothing within the timeout */
	TK_UP, TK_DOWN, TK_LEFT, TK_RIGHT,
	TK_SLEFT, TK_SRIGHT, /* shifted arrows */
	TK_PGUP, TK_PGDN, TK_HOME, TK_END,
	TK_ENTER, TK_ESC, TK_TAB, TK_BTAB, TK_BACKSPACE,
	TK_F1, TK_RESIZE, TK_MOUSE,
	TK_CTRL_L,
};

/* A mouse event (TK_MOUSE). */
typedef struct vw_mouse {
	int y, x;
	int button; /* 1 click, 4 wheel up, 5 wheel down, 0 other */
} vw_mouse_t;

/* ---- model: what the database holds ----------------------------------- */

/* Event kinds, as in event_types.kind: the values of enum ut_event_kind
 * (ut_abi.h; model.c checks), so ut_kind_name/ut_kind_parse apply. */
enum vw_kind {
	VK_INSTANT = 0,
	VK_SPAN_BEGIN,
	VK_SPAN_END,
	VK_COUNTER,
	VK_LOG,
	VK__COUNT
};

#define VW_NAME 64
#define VW_MAXF 8

typedef struct vw_type {
	int64_t id;       /* event_types.id */
	int64_t guest_id;
	char name[VW_NAME];
	int kind;         /* enum vw_kind */
	int nfields;
	char fname[VW_MAXF][32];
	char ftype[VW_MAXF][8];
	bool hex[VW_MAXF];
	int style;        /* VS_SPANx chosen by name */
	bool hidden;      /* filtered out */
} vw_type_t;

typedef struct vw_guest {
	int64_t id;
	char name[VW_NAME];
	char status[16];
	bool hidden;      /* filtered out */
} vw_guest_t;

/* Summary of one lane: event counts per base bucket (summary.c). */
typedef struct vw_sum {
	uint32_t *cnt;    /* [n] */
	size_t n;
} vw_sum_t;

typedef struct vw_lane {
	int64_t id;       /* lanes.id */
	int64_t guest_id;
	int gi;           /* index in model guests[] */
	uint32_t vcpu;
	int64_t ts_first, ts_last; /* from event_blocks; ts_first > ts_last
				      if the lane has no events yet */
	int64_t nevents;  /* sum of event_blocks.count */
	int64_t nlost;
	int counter;      /* index in types[] of the counter shown, or -1 */
	vw_sum_t sum;
} vw_lane_t;

typedef struct vw_crash {
	int64_t id, guest_id, ts;
	int vcpu;         /* crashes.vcpu when the column exists, else -1 */
	char reason[160];
} vw_crash_t;

/* A lost-event range on a lane. */
typedef struct vw_lost {
	int64_t t0, t1, count;
	char reason[12];
} vw_lost_t;

/* One event as the timeline and list need it (fields are read by id). */
typedef struct vw_ev {
	int64_t id, ts;
	int64_t dur;      /* span_end: ns since the begin; else -1 */
	int32_t type;     /* index in model types[], -1 if unknown */
	int32_t lane;     /* index in model lanes[] */
	double val;       /* a0 as a number (counters) */
	bool has_val;
} vw_ev_t;

/* A growable array of events. */
typedef struct vw_evvec {
	vw_ev_t *v;
	size_t n, cap;
} vw_evvec_t;

typedef struct vw_model {
	struct sqlite3 *db;
	struct ut_tracedb *tdb; /* the open trace (tracedb.h) */
	char path[1024];
	vw_guest_t *guests;
	int nguests;
	vw_lane_t *lanes;
	int nlanes;
	vw_type_t *types;
	int ntypes;
	int32_t *type_ix; /* event_types.id -> index in types[], or -1 */
	int64_t type_ix_n;
	vw_crash_t *crashes;
	int ncrashes;
	int64_t t_min, t_max; /* over all lanes; t_min > t_max if empty */
	int64_t block_span;   /* meta.block_span_ns */
	int64_t last_block;   /* highest event_blocks.id read */
	int64_t lost_gap_max; /* largest ts_after - ts_before in lost */
	int64_t nevents, nlost;
	/* summary.c: base bucket width (ns, power of two) and origin */
	int64_t sum_w, sum_origin;
	size_t sum_n;
	char err[512];    /* last SQL error */
	int64_t rows_read; /* events read since open (bench figure) */
	struct sqlite3_stmt *st_win, *st_next, *st_prev, *st_blk_fwd,
		*st_blk_back, *st_row, *st_lost, *st_span_rows,
		*st_span_blocks;
	struct vw_spanidx *spans; /* spans.c, NULL until first needed */
	bool follow;      /* the span index keeps polling for new blocks */
} vw_model_t;

/* A span open at some position (model_open_spans). */
typedef struct vw_open {
	int64_t b_id, b_ts; /* its span_begin */
	int64_t e_id, e_ts; /* its span_end, -1 if not known (yet) */
	int32_t type;       /* index in types[] of the begin, -1 unknown */
} vw_open_t;

/* ---- views: one file each, a const descriptor (vtable) ---------------- */

typedef struct vw_app vw_app_t;

/* One line of the help screen. */
typedef struct vw_keyhelp {
	const char *keys;
	const char *what;
} vw_keyhelp_t;

struct vw_view {
	const char *name;        /* "timeline" */
	const char *title;       /* for the help screen */
	/* Draw the whole screen (overlays draw over the main view). */
	void (*draw)(vw_app_t *a);
	/* Handle (key); return true if handled.  Unhandled keys go to the
	 * shared keys of cmd_view.c. */
	bool (*key)(vw_app_t *a, int key, const vw_mouse_t *ms);
	const vw_keyhelp_t *keys; /* NULL-terminated, for `?` */
	bool overlay;            /* help, crash, filter: q/Esc close it */
};

/* The selected event. */
typedef struct vw_sel {
	bool valid;
	vw_ev_t ev;
} vw_sel_t;

struct vw_app {
	vw_model_t *m;
	const struct vw_view *main;    /* timeline or list */
	const struct vw_view *overlay; /* help, crash, filter, or NULL */
	/* the time window: [t0, t0 + nspc * width) */
	double t0, nspc;
	int64_t cursor;        /* time cursor, ns */
	int lane_sel;          /* index in lanes[] (visible lanes only) */
	int lane_top;          /* first lane drawn */
	vw_sel_t sel;
	bool detail;           /* detail pane open */
	bool follow;           /* -f */
	bool at_end;           /* follow: keep the newest events in view */
	bool quit;
	char search[128];
	char msg[256];         /* status message, cleared by the next key */
	bool msg_err;
	int crash_sel;         /* index in crashes[] for the crash view */
	int help_top, crash_top, filter_sel, filter_top;
	/* list view */
	int list_rows;
	/* timeline geometry of the last draw (mouse) */
	int lane_y[256], lane_h[256], lane_ix[256], nlane_drawn;
	int label_w, tl_w, tl_y0, tl_y1;
	/* bench: counters */
	double last_draw_ms;
	/* the last draw needed the span index where it was not yet built:
	 * draw again soon */
	bool spans_pending;
};

/* ---- tui.c: the terminal (the only curses user) ----------------------- */

/* Options for tui_init. */
typedef struct tui_opts {
	bool mono;        /* no colours (NO_COLOR, --no-color) */
	bool mouse;
	const char *bench_term; /* bench: render with newterm into /dev/null
				   with this TERM, size bench_rows x cols */
	int bench_rows, bench_cols;
} tui_opts_t;

/* Set up the terminal.  Returns 0, or -1 with a message in (err). */
int tui_init(const tui_opts_t *o, char *err, size_t errlen);
/* Restore the terminal (safe to call twice). */
void tui_end(void);
int tui_rows(void);
int tui_cols(void);
bool tui_utf8(void);
bool tui_has_color(void);
void tui_erase(void);
/* Draw (s) (UTF-8; control characters and undecodable bytes are shown as
 * '?') at (y, x) in (style), at most (maxw) cells (-1: to the right edge).
 * Returns the number of cells drawn. */
int tui_put(int y, int x, const char *s, int maxw, int style);
/* printf variant of tui_put. */
int tui_putf(int y, int x, int maxw, int style, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Fill (n) cells from (y, x) with the one-cell glyph (g). */
void tui_fill(int y, int x, int n, const char *g, int style);
/* Change the style of (n) cells from (y, x), keeping their text. */
void tui_restyle(int y, int x, int n, int style);
void tui_refresh(void);
/* Wait for a key at most (timeout_ms) (-1: forever).  Returns a character,
 * a TK_* code, or TK_TIMEOUT.  Mouse events fill (ms).  Unless (busy)
 * (background work for the screen is pending), an empty input first
 * reports the viewer idle to UNITRACE_VIEW_STATUS (tui.c). */
int tui_getkey(int timeout_ms, bool busy, vw_mouse_t *ms);
/* Read a line on the bottom row after (prompt), starting from (buf).
 * Returns 0 on Enter, -1 on Esc. */
int tui_prompt(const char *prompt, char *buf, size_t len);
/* The name of a key for messages ("Left", "x"). */
const char *tui_keyname(int key);

/* ---- model.c: queries ------------------------------------------------- */

/* Open (path) read-only and load guests, lanes, types, crashes and the
 * summary.  Returns NULL after printing "unitrace view: <why>" on stderr. */
vw_model_t *model_open(const char *path);
void model_close(vw_model_t *m);
/* Re-read what the collector added since the last call (follow mode).
 * Returns 1 if anything changed, 0 if not, -1 on error (m->err). */
int model_refresh(vw_model_t *m);
/* Events of lane (li) with ts in [t0, t1], in time order, appended to
 * (out).  Stops after (max) events and returns 1 (truncated); 0 if
 * complete; -1 on error. */
int model_window(vw_model_t *m, int li, int64_t t0, int64_t t1, size_t max,
		 vw_evvec_t *out);
/* Up to (n) events of lane (li) strictly after (dir > 0) or before
 * (dir < 0) the position (ts, id), nearest first.  Returns the count or
 * -1.  (match) is an optional SQL condition on e (search). */
int model_step(vw_model_t *m, int li, int64_t ts, int64_t id, int dir,
	       int n, vw_evvec_t *out, const char *match);
/* Read event (id) into (ev).  0, or -1 if it does not exist. */
int model_event(vw_model_t *m, int64_t id, vw_ev_t *ev);
/* Format the fields of event (id) into (buf): "name=value name=value". */
void model_fields(vw_model_t *m, int64_t id, char *buf, size_t len);
/* Call (cb) for each field of event (id) with its name and value. */
void model_each_field(vw_model_t *m, int64_t id,
		      void (*cb)(void *ctx, const char *name, const char *val),
		      void *ctx);
/* Lost ranges of lane (li) that overlap [t0, t1]; returns the count (at
 * most (max)) or -1. */
int model_lost(vw_model_t *m, int li, int64_t t0, int64_t t1, vw_lost_t *out,
	       int max);
/* Next/previous lost range of lane (li) from time (t): 0 and *out, or -1
 * if none. */
int model_lost_step(vw_model_t *m, int li, int64_t t, int dir, vw_lost_t *out);
/* A SQL condition matching (term) by event name or field value, written
 * into (buf); "" if nothing can match. */
void model_match_sql(vw_model_t *m, const char *term, char *buf, size_t len);
/* Lane index of (guest_id, vcpu) or -1. */
int model_lane_of(vw_model_t *m, int64_t guest_id, int vcpu);
/* Run (sql) with one int64 parameter (p) and call (cb) per row with
 * column names and text values.  Returns rows or -1. */
int model_rows(vw_model_t *m, const char *sql, int64_t p,
	       void (*cb)(void *ctx, int ncol, const char **names,
			  const char **vals),
	       void *ctx);
/* True if table (name) exists. */
bool model_has_table(vw_model_t *m, const char *name);
/* Kind name of (k). */
const char *model_kind_name(int k);
/* Formatting helpers: time offset from the trace start ("+1.250 ms") and
 * absolute guest-clock seconds. */
void model_fmt_rel(vw_model_t *m, char *buf, size_t len, int64_t ts);
void model_fmt_abs(char *buf, size_t len, int64_t ts);
void model_fmt_dur(char *buf, size_t len, double ns);

void evvec_push(vw_evvec_t *v, const vw_ev_t *e);
void evvec_clear(vw_evvec_t *v);
void evvec_free(vw_evvec_t *v);
void evvec_sort(vw_evvec_t *v);

/* ---- summary.c: per-lane counts per time bucket ------------------------ */

/* Read event_blocks rows past m->last_block into the lanes' summaries and
 * time ranges.  0 or -1 (m->err). */
int summary_update(vw_model_t *m);
/* Estimated events of lane (li) in [t0, t1). */
double summary_count(const vw_model_t *m, int li, double t0, double t1);
void summary_free(vw_model_t *m);

/* ---- spans.c: the span index ------------------------------------------ */

/* Start the background pass that builds the index (once; model_open_spans
 * starts it too). */
void spans_start(vw_model_t *m);
/* Stop and free it (model_close does). */
void spans_stop(vw_model_t *m);
/* A counter that changes whenever the index knows more. */
uint64_t spans_gen(vw_model_t *m);
/* True once the index covers every block the model knows (or failed). */
bool spans_done(vw_model_t *m);
/* Bench figures: the time the first pass took (-1: not done) and the
 * index's memory. */
void spans_info(vw_model_t *m, double *build_ms, size_t *bytes);
/* The spans of lane (li) open at position (ts, id) (begun before it in
 * (ts, id) order and not ended before it), outermost first, at most (max)
 * into (out).  Returns the count; -1 if the index does not reach the
 * position yet (ask again later); -2 if it cannot answer for this lane
 * (blocks out of time order, read error). */
int model_open_spans(vw_model_t *m, int li, int64_t ts, int64_t id,
		     vw_open_t *out, int max);

/* ---- timeline.c / list.c / help.c / crash.c / filter.c ------------------ */
extern const struct vw_view vw_view_timeline, vw_view_list, vw_view_help,
	vw_view_crash, vw_view_filter;
/* The registered views, for the help screen. */
extern const struct vw_view *const vw_views[];
/* cmd_view.c: the keys every main view shares, for the help screen. */
extern const vw_keyhelp_t vw_app_keys[];

/* timeline.c: width of the time axis of a screen of (cols) columns */
int timeline_width(int cols);
/* Draw the header line and the ruler (shared with the list view). */
void timeline_header(vw_app_t *a, int y);

/* ---- detail.c: the detail pane ---------------------------------------- */
/* Rows the pane takes on a screen of (rows) rows (0 when closed). */
int detail_rows(const vw_app_t *a, int rows);
void detail_draw(vw_app_t *a, int y0, int nrows);
/* The span_end closing span_begin (b), looking at most 512 events ahead
 * in its lane: 0 and *end, or -1. */
int detail_span_end(vw_app_t *a, const vw_ev_t *b, vw_ev_t *end);

/* ---- cmd_view.c: state changes shared by the views -------------------- */
/* Is lane (li) shown (guest not filtered)? */
bool app_lane_visible(const vw_app_t *a, int li);
/* A SQL condition on events excluding hidden event types, or "". */
void app_hidden_sql(const vw_app_t *a, char *buf, size_t len);
/* Is type index (ti) shown? */
bool app_type_visible(const vw_app_t *a, int ti);
/* Select (ev) and move the cursor (and the window, if needed) to it. */
void app_select(vw_app_t *a, const vw_ev_t *ev);
/* Keep the time cursor in the window, scrolling if needed. */
void app_show_time(vw_app_t *a, int64_t t);
/* Zoom by (f) (< 1 zooms in) about time (t). */
void app_zoom(vw_app_t *a, double f, double t);
void app_fit(vw_app_t *a);
/* Set a status message. */
void app_msg(vw_app_t *a, bool err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Next/previous event over all visible lanes from the selection. */
bool app_step_all(vw_app_t *a, int dir);
/* The type of (ev) or NULL. */
const vw_type_t *app_type(const vw_app_t *a, const vw_ev_t *ev);
/* Layout: rows of the main area given the detail pane. */
int app_main_rows(const vw_app_t *a);

#endif /* UT_VIEWER_H */
