/*
 * The help screen: every key, collected from the registered views'
 * descriptors and the shared key table, and a legend of the glyphs.
 */
#include <stdio.h>
#include <string.h>

#include "viewer.h"

#define HELP_LINES 160

static int help_lines(vw_app_t *a, char lines[][200], int *style)
{
	int n = 0;
	(void)a;
#define LINE(st, ...)                                                        \
	do {                                                                 \
		if (n < HELP_LINES) {                                        \
			snprintf(lines[n], 200, __VA_ARGS__);                \
			style[n++] = (st);                                   \
		}                                                            \
	} while (0)
	LINE(VS_HEAD, "unitrace view: keys (q, Esc or ? closes this help)");
	LINE(VS_NORMAL, "%s", "");
	LINE(VS_HEAD, "Everywhere");
	for (const vw_keyhelp_t *k = vw_app_keys; k->keys; k++)
		LINE(VS_NORMAL, "  %-24s %s", k->keys, k->what);
	for (int v = 0; vw_views[v]; v++) {
		if (!vw_views[v]->keys || !vw_views[v]->keys[0].keys)
			continue;
		LINE(VS_NORMAL, "%s", "");
		LINE(VS_HEAD, "%s", vw_views[v]->title);
		for (const vw_keyhelp_t *k = vw_views[v]->keys; k->keys; k++)
			LINE(VS_NORMAL, "  %-24s %s", k->keys, k->what);
	}
	LINE(VS_NORMAL, "%s", "");
	LINE(VS_HEAD, "Legend");
	LINE(VS_NORMAL, "  spans: bars with their names; nested spans stack "
			"below their parent");
	LINE(VS_NORMAL, "  instants and log messages: |  %s  (2-9, +: that "
			"many in one cell)",
	     tui_utf8() ? "\u2022" : "*");
	LINE(VS_NORMAL, "  density where too many events share a cell: %s  "
			"(1-3, 4-15, 16-63, 64+ per cell)",
	     tui_utf8() ? "\u2591 \u2592 \u2593 \u2588" : ". : * #");
	LINE(VS_NORMAL, "  counter sparkline (first field; C changes the "
			"counter): %s",
	     tui_utf8() ? "\u2581\u2583\u2585\u2587" : "_.-=^");
	LINE(VS_NORMAL, "  events lost on the lane (table lost): ////  lost N");
	LINE(VS_NORMAL, "  a crash: X CRASH and ! on the lane of the vCPU that "
			"crashed (every lane of the guest if the record names "
			"none), a dim x on the guest's other lanes, X on the "
			"ruler");
	LINE(VS_NORMAL, "  the time cursor: %s on the ruler; the selected event "
			"when shaded: %s",
	     tui_utf8() ? "\u25bc" : "v", tui_utf8() ? "\u25c6" : "o");
#undef LINE
	return n;
}

static void help_draw(vw_app_t *a)
{
	static char lines[HELP_LINES][200];
	static int style[HELP_LINES];
	int rows = tui_rows(), cols = tui_cols();
	int n = help_lines(a, lines, style);

	tui_erase();
	if (a->help_top > n - (rows - 1))
		a->help_top = n - (rows - 1);
	if (a->help_top < 0)
		a->help_top = 0;
	for (int y = 0; y < rows - 1 && a->help_top + y < n; y++)
		tui_put(y, 1, lines[a->help_top + y], cols - 1,
			style[a->help_top + y]);
	tui_fill(rows - 1, 0, cols, " ", VS_STATUS);
	tui_put(rows - 1, 0,
		" help | Up/Down PgUp/PgDn: scroll | q Esc ?: close", cols,
		VS_STATUS);
}

static bool help_key(vw_app_t *a, int k, const vw_mouse_t *ms)
{
	(void)ms;
	switch (k) {
	case TK_UP: case 'k':
		a->help_top--;
		return true;
	case TK_DOWN: case 'j':
		a->help_top++;
		return true;
	case TK_PGUP:
		a->help_top -= tui_rows() - 2;
		return true;
	case TK_PGDN: case ' ':
		a->help_top += tui_rows() - 2;
		return true;
	default:
		return false;
	}
}

static const vw_keyhelp_t help_keys[] = {
	{ "Up Down PgUp PgDn", "scroll" },
	{ NULL, NULL },
};

const struct vw_view vw_view_help = {
	.name = "help",
	.title = "Help (?)",
	.draw = help_draw,
	.key = help_key,
	.keys = help_keys,
	.overlay = true,
};
