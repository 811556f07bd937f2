/*
 * The terminal: the only file that includes curses.  Setup and teardown,
 * keys and mouse, colours on 8- and 256-colour terminals with a
 * monochrome fallback, and a small cell-drawing API for the views.
 */
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>

#include "cli.h"
#include "viewer.h"

/* UNITRACE_VIEW_STATUS (tui_status_write) and the keys read so far */
static const char *tui_status_path;
static unsigned long tui_nkeys;

static bool tui_on, tui_is_utf8, tui_color;
static attr_t tui_attr[VS__COUNT];
static SCREEN *tui_screen;
static FILE *tui_bench_out, *tui_bench_in;

bool tui_utf8(void)
{
	return tui_is_utf8;
}

bool tui_has_color(void)
{
	return tui_color;
}

/* Colour pairs: pair i + 1 for style i. */
static void tui_colors(void)
{
	/* fg, bg for 8 colours; -1 is the terminal default */
	static const short c8[VS__COUNT][2] = {
		[VS_TITLE] = { COLOR_BLACK, COLOR_CYAN },
		[VS_STATUS] = { COLOR_BLACK, COLOR_WHITE },
		[VS_RULER] = { COLOR_CYAN, -1 },
		[VS_LABEL] = { -1, -1 },
		[VS_LABEL_SEL] = { COLOR_BLACK, COLOR_YELLOW },
		[VS_SPAN0] = { COLOR_WHITE, COLOR_BLUE },
		[VS_SPAN1] = { COLOR_BLACK, COLOR_GREEN },
		[VS_SPAN2] = { COLOR_BLACK, COLOR_CYAN },
		[VS_SPAN3] = { COLOR_WHITE, COLOR_MAGENTA },
		[VS_SPAN4] = { COLOR_BLACK, COLOR_YELLOW },
		[VS_SPAN5] = { COLOR_BLACK, COLOR_WHITE },
		[VS_INSTANT] = { COLOR_GREEN, -1 },
		[VS_LOG] = { COLOR_YELLOW, -1 },
		[VS_COUNTER] = { COLOR_MAGENTA, -1 },
		[VS_DENSITY] = { COLOR_CYAN, -1 },
		[VS_LOST] = { COLOR_YELLOW, COLOR_RED },
		[VS_CRASH] = { COLOR_WHITE, COLOR_RED },
		[VS_SEL] = { COLOR_BLACK, COLOR_YELLOW },
		[VS_CURSOR] = { COLOR_YELLOW, -1 },
		[VS_HIT] = { COLOR_BLACK, COLOR_GREEN },
		[VS_HEAD] = { COLOR_CYAN, -1 },
		[VS_ERROR] = { COLOR_RED, -1 },
	};
	/* 256 colours: muted span colours that keep text readable */
	static const short c256[VS_NSPAN][2] = {
		{ 231, 25 }, { 16, 114 }, { 16, 80 },
		{ 231, 96 }, { 16, 179 }, { 16, 146 },
	};
	bool wide = COLORS >= 256;

	use_default_colors();
	for (int s = 1; s < VS__COUNT; s++) {
		short fg = c8[s][0], bg = c8[s][1];
		if (s >= VS_SPAN0 && s < VS_SPAN0 + VS_NSPAN && wide) {
			fg = c256[s - VS_SPAN0][0];
			bg = c256[s - VS_SPAN0][1];
		}
		if (fg == 0 && bg == 0) { /* not in the table */
			fg = -1;
			bg = -1;
		}
		init_pair((short)s, fg, bg);
		tui_attr[s] = COLOR_PAIR(s);
	}
	tui_attr[VS_TITLE] |= A_BOLD;
	tui_attr[VS_LOST] |= A_BOLD;
	tui_attr[VS_CRASH] |= A_BOLD;
	tui_attr[VS_SEL] |= A_BOLD;
	tui_attr[VS_HEAD] |= A_BOLD;
	tui_attr[VS_ERROR] |= A_BOLD;
	tui_attr[VS_LABEL_SEL] |= A_BOLD;
	tui_attr[VS_DIM] = A_DIM;
}

/* Without colours: attributes only; glyphs carry the meaning. */
static void tui_mono(void)
{
	memset(tui_attr, 0, sizeof(tui_attr));
	tui_attr[VS_DIM] = A_DIM;
	tui_attr[VS_TITLE] = A_REVERSE | A_BOLD;
	tui_attr[VS_STATUS] = A_REVERSE;
	tui_attr[VS_LABEL_SEL] = A_REVERSE | A_BOLD;
	for (int i = 0; i < VS_NSPAN; i++)
		tui_attr[VS_SPAN0 + i] = A_REVERSE | (i % 2 ? A_DIM : 0);
	tui_attr[VS_LOG] = A_BOLD;
	tui_attr[VS_LOST] = A_BOLD | A_UNDERLINE;
	tui_attr[VS_CRASH] = A_BOLD | A_REVERSE | A_UNDERLINE;
	tui_attr[VS_SEL] = A_BOLD | A_UNDERLINE;
	tui_attr[VS_HIT] = A_BOLD | A_UNDERLINE;
	tui_attr[VS_HEAD] = A_BOLD;
	tui_attr[VS_ERROR] = A_BOLD;
}

int tui_init(const tui_opts_t *o, char *err, size_t errlen)
{
	setlocale(LC_ALL, "");
	const char *cs = nl_langinfo(CODESET);
	tui_is_utf8 = cs && !strcmp(cs, "UTF-8");

	if (o->bench_term) {
		char v[16];
		snprintf(v, sizeof(v), "%d", o->bench_rows);
		setenv("LINES", v, 1);
		snprintf(v, sizeof(v), "%d", o->bench_cols);
		setenv("COLUMNS", v, 1);
		use_env(TRUE);
		tui_bench_out = fopen("/dev/null", "w");
		tui_bench_in = fopen("/dev/null", "r");
		if (!tui_bench_out || !tui_bench_in) {
			snprintf(err, errlen, "cannot open /dev/null");
			return -1;
		}
		tui_screen = newterm(o->bench_term, tui_bench_out,
				     tui_bench_in);
		if (!tui_screen) {
			snprintf(err, errlen, "no terminfo entry for '%s'",
				 o->bench_term);
			return -1;
		}
		set_term(tui_screen);
	} else {
		const char *term = getenv("TERM");
		if (!term || !*term) {
			snprintf(err, errlen, "TERM is not set; the viewer "
					      "needs a terminal");
			return -1;
		}
		tui_screen = newterm(NULL, stdout, stdin);
		if (!tui_screen) {
			snprintf(err, errlen,
				 "cannot use terminal type '%s' (no terminfo "
				 "entry?); try TERM=xterm",
				 term);
			return -1;
		}
		set_term(tui_screen);
	}
	tui_status_path = getenv("UNITRACE_VIEW_STATUS");
	if (tui_status_path && !*tui_status_path)
		tui_status_path = NULL;
	tui_on = true;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	tui_color = !o->mono && has_colors() && start_color() == OK &&
		    COLORS >= 8;
	if (tui_color)
		tui_colors();
	else
		tui_mono();
	if (o->mouse && !o->bench_term) {
		mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED |
				  BUTTON5_PRESSED,
			  NULL);
		mouseinterval(0);
	}
	return 0;
}

void tui_end(void)
{
	if (!tui_on)
		return;
	tui_on = false;
	endwin();
	if (tui_screen)
		delscreen(tui_screen);
	tui_screen = NULL;
	if (tui_bench_out)
		fclose(tui_bench_out);
	if (tui_bench_in)
		fclose(tui_bench_in);
	tui_bench_out = tui_bench_in = NULL;
}

int tui_rows(void)
{
	return LINES;
}

int tui_cols(void)
{
	return COLS;
}

void tui_erase(void)
{
	erase();
}

void tui_refresh(void)
{
	refresh();
}

/* Decode one display cell from (s): copies its bytes into (cell) and
 * returns the number of bytes consumed (0 at the end).  Anything that is
 * not a printable one-cell character becomes '?'. */
static size_t tui_cell(const char *s, char cell[8])
{
	unsigned char c = (unsigned char)*s;

	if (!c)
		return 0;
	if (c < 0x80) {
		cell[0] = ut_text_is_ctl(c) ? '?' : (char)c;
		cell[1] = 0;
		return 1;
	}
	mbstate_t st;
	wchar_t wc;
	memset(&st, 0, sizeof(st));
	size_t n = tui_is_utf8 ? mbrtowc(&wc, s, strnlen(s, 6), &st)
			       : (size_t)-1;
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0 || n > 6 ||
	    wcwidth(wc) != 1) {
		cell[0] = '?';
		cell[1] = 0;
		/* skip the rest of a multibyte sequence */
		size_t k = 1;
		while ((((unsigned char)s[k]) & 0xc0) == 0x80 && k < 4)
			k++;
		return (n != (size_t)-1 && n != (size_t)-2 && n && n <= 6)
			       ? n
			       : k;
	}
	memcpy(cell, s, n);
	cell[n] = 0;
	return n;
}

int tui_put(int y, int x, const char *s, int maxw, int style)
{
	char cell[8];
	int w = 0;

	if (y < 0 || y >= LINES || !s)
		return 0;
	if (maxw < 0 || x + maxw > COLS)
		maxw = COLS - x;
	attrset(tui_attr[style]);
	while (w < maxw) {
		size_t n = tui_cell(s, cell);
		if (!n)
			break;
		s += n;
		if (x + w >= 0)
			mvaddstr(y, x + w, cell);
		w++;
	}
	attrset(A_NORMAL);
	return w;
}

int tui_putf(int y, int x, int maxw, int style, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return tui_put(y, x, buf, maxw, style);
}

void tui_fill(int y, int x, int n, const char *g, int style)
{
	if (y < 0 || y >= LINES)
		return;
	if (x < 0) {
		n += x;
		x = 0;
	}
	if (x + n > COLS)
		n = COLS - x;
	attrset(tui_attr[style]);
	for (int i = 0; i < n; i++)
		mvaddstr(y, x + i, g);
	attrset(A_NORMAL);
}

void tui_restyle(int y, int x, int n, int style)
{
	if (y < 0 || y >= LINES || x >= COLS)
		return;
	if (x < 0) {
		n += x;
		x = 0;
	}
	if (x + n > COLS)
		n = COLS - x;
	if (n > 0)
		mvchgat(y, x, n, tui_attr[style], PAIR_NUMBER(tui_attr[style]),
			NULL);
}

/* UNITRACE_VIEW_STATUS=FILE: for scripts that drive the viewer (the
 * tests): whenever the viewer has read every key sent so far, drawn the
 * result and has no background work pending for the screen, FILE holds
 * "keys N" (N keys read since start; written once per N, not at every idle
 * tick of follow mode).  A script that sent N keys waits for that line
 * instead of sleeping. */

static void tui_status_write(void)
{
	static unsigned long written = (unsigned long)-1; /* nothing yet */
	char tmp[4096], line[64];

	if (!tui_status_path || tui_nkeys == written ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", tui_status_path) >=
		    (int)sizeof(tmp))
		return;
	int n = snprintf(line, sizeof(line), "keys %lu\n", tui_nkeys);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	bool ok = write(fd, line, (size_t)n) == n;
	close(fd);
	if (!ok || rename(tmp, tui_status_path))
		unlink(tmp);
	else
		written = tui_nkeys;
}

/* getch with (timeout_ms); before waiting on an empty input, report the
 * viewer idle unless (busy). */
static int tui_getch(int timeout_ms, bool busy)
{
	timeout(0);
	int c = getch();
	if (c == ERR && timeout_ms != 0) {
		if (!busy)
			tui_status_write();
		timeout(timeout_ms);
		c = getch();
	}
	if (c != ERR && c != KEY_RESIZE && c != KEY_MOUSE)
		tui_nkeys++;
	return c;
}

int tui_getkey(int timeout_ms, bool busy, vw_mouse_t *ms)
{
	int c = tui_getch(timeout_ms, busy);
	switch (c) {
	case ERR:
		return TK_TIMEOUT;
	case KEY_UP: return TK_UP;
	case KEY_DOWN: return TK_DOWN;
	case KEY_LEFT: return TK_LEFT;
	case KEY_RIGHT: return TK_RIGHT;
	case KEY_SLEFT: return TK_SLEFT;
	case KEY_SRIGHT: return TK_SRIGHT;
	case KEY_PPAGE: return TK_PGUP;
	case KEY_NPAGE: return TK_PGDN;
	case KEY_HOME: return TK_HOME;
	case KEY_END: return TK_END;
	case KEY_ENTER: case '\r': case '\n': return TK_ENTER;
	case 27: return TK_ESC;
	case '\t': return TK_TAB;
	case KEY_BTAB: return TK_BTAB;
	case KEY_BACKSPACE: case 127: case 8: return TK_BACKSPACE;
	case KEY_F(1): return TK_F1;
	case KEY_RESIZE: return TK_RESIZE;
	case 12: return TK_CTRL_L;
	case KEY_MOUSE: {
		MEVENT me;
		if (getmouse(&me) != OK)
			return TK_NONE;
		ms->y = me.y;
		ms->x = me.x;
		ms->button = 0;
		if (me.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED))
			ms->button = 1;
		else if (me.bstate & BUTTON4_PRESSED)
			ms->button = 4;
#ifdef BUTTON5_PRESSED
		else if (me.bstate & BUTTON5_PRESSED)
			ms->button = 5;
#endif
		return TK_MOUSE;
	}
	default:
		if (c >= 0 && c < 256)
			return c;
		return TK_NONE;
	}
}

int tui_prompt(const char *prompt, char *buf, size_t len)
{
	size_t n = strlen(buf);
	int y = LINES - 1;

	curs_set(1);
	for (;;) {
		move(y, 0);
		clrtoeol();
		int w = tui_put(y, 0, prompt, -1, VS_NORMAL);
		w += tui_put(y, w, buf, -1, VS_NORMAL);
		move(y, w < COLS ? w : COLS - 1);
		refresh();
		int c = tui_getch(-1, false);
		if (c == 27) {
			curs_set(0);
			return -1;
		}
		if (c == '\r' || c == '\n' || c == KEY_ENTER)
			break;
		if (c == KEY_BACKSPACE || c == 127 || c == 8) {
			if (n)
				buf[--n] = 0;
		} else if (c == 21) { /* ^U */
			n = 0;
			buf[0] = 0;
		} else if (c >= 0x20 && c < 0x7f && n + 1 < len) {
			buf[n++] = (char)c;
			buf[n] = 0;
		}
	}
	curs_set(0);
	return 0;
}

const char *tui_keyname(int key)
{
	static char one[2];

	switch (key) {
	case TK_UP: return "Up";
	case TK_DOWN: return "Down";
	case TK_LEFT: return "Left";
	case TK_RIGHT: return "Right";
	case TK_ENTER: return "Enter";
	case TK_ESC: return "Esc";
	case TK_TAB: return "Tab";
	default:
		if (key > 0x20 && key < 0x7f) {
			one[0] = (char)key;
			return one;
		}
		return "key";
	}
}
