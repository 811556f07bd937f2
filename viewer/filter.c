/*
 * The filter view: hide guests (their lanes) or event names (in every
 * lane, the list, stepping and search).  Density shading zoomed far out
 * comes from per-lane counts and still counts hidden names.
 */
#include <stdio.h>
#include <string.h>

#include "viewer.h"

/* Entries: guests first, then each distinct event name once. */
static int entries(vw_app_t *a, int *kind, int *ix, int max)
{
	vw_model_t *m = a->m;
	int n = 0;
	for (int i = 0; i < m->nguests && n < max; i++) {
		kind[n] = 0;
		ix[n++] = i;
	}
	for (int i = 0; i < m->ntypes && n < max; i++) {
		bool dup = false;
		for (int j = 0; j < i && !dup; j++)
			dup = !strcmp(m->types[j].name, m->types[i].name);
		if (dup)
			continue;
		kind[n] = 1;
		ix[n++] = i;
	}
	return n;
}

static void filter_draw(vw_app_t *a)
{
	vw_model_t *m = a->m;
	int rows = tui_rows(), cols = tui_cols();
	int kind[1024], ix[1024];
	int n = entries(a, kind, ix, 1024);

	tui_erase();
	tui_put(0, 1, "Filter: Space or Enter shows/hides, a shows all, q "
		      "Esc closes",
		cols - 1, VS_HEAD);
	if (a->filter_sel >= n)
		a->filter_sel = n - 1;
	if (a->filter_sel < 0)
		a->filter_sel = 0;
	int h = rows - 3;
	if (a->filter_sel < a->filter_top)
		a->filter_top = a->filter_sel;
	if (a->filter_sel >= a->filter_top + h)
		a->filter_top = a->filter_sel - h + 1;
	for (int y = 0; y < h && a->filter_top + y < n; y++) {
		int e = a->filter_top + y;
		char buf[256];
		if (kind[e] == 0) {
			const vw_guest_t *g = &m->guests[ix[e]];
			snprintf(buf, sizeof(buf), " [%c] guest  %s (id %lld, %s)",
				 g->hidden ? ' ' : 'x', g->name, (long long)g->id,
				 g->status);
		} else {
			const vw_type_t *t = &m->types[ix[e]];
			snprintf(buf, sizeof(buf), " [%c] event  %s (%s)",
				 t->hidden ? ' ' : 'x', t->name,
				 t->kind == VK_SPAN_BEGIN || t->kind == VK_SPAN_END
					 ? "span"
					 : model_kind_name(t->kind));
		}
		int st = e == a->filter_sel ? VS_SEL : VS_NORMAL;
		if (e == a->filter_sel)
			tui_fill(2 + y, 0, cols, " ", st);
		tui_put(2 + y, 0, buf, cols, st);
	}
	tui_fill(rows - 1, 0, cols, " ", VS_STATUS);
	tui_put(rows - 1, 0, " filter | Up/Down: move | Space: show/hide | "
			     "a: show all | q Esc: close",
		cols, VS_STATUS);
}

static void set_name(vw_model_t *m, const char *name, bool hidden)
{
	for (int i = 0; i < m->ntypes; i++)
		if (!strcmp(m->types[i].name, name))
			m->types[i].hidden = hidden;
}

static bool filter_key(vw_app_t *a, int k, const vw_mouse_t *ms)
{
	vw_model_t *m = a->m;
	int kind[1024], ix[1024];
	int n = entries(a, kind, ix, 1024);
	(void)ms;
	switch (k) {
	case TK_UP: case 'k':
		a->filter_sel--;
		return true;
	case TK_DOWN: case 'j':
		a->filter_sel++;
		return true;
	case TK_PGUP:
		a->filter_sel -= tui_rows() - 4;
		return true;
	case TK_PGDN:
		a->filter_sel += tui_rows() - 4;
		return true;
	case ' ':
	case TK_ENTER:
		if (a->filter_sel < 0 || a->filter_sel >= n)
			return true;
		if (kind[a->filter_sel] == 0) {
			vw_guest_t *g = &m->guests[ix[a->filter_sel]];
			g->hidden = !g->hidden;
		} else {
			vw_type_t *t = &m->types[ix[a->filter_sel]];
			set_name(m, t->name, !t->hidden);
		}
		return true;
	case 'a':
		for (int i = 0; i < m->nguests; i++)
			m->guests[i].hidden = false;
		for (int i = 0; i < m->ntypes; i++)
			m->types[i].hidden = false;
		return true;
	default:
		return false;
	}
}

static const vw_keyhelp_t filter_keys[] = {
	{ "Space Enter", "show / hide the guest or event name" },
	{ "a", "show everything" },
	{ NULL, NULL },
};

const struct vw_view vw_view_filter = {
	.name = "filter",
	.title = "Filter (F or \\)",
	.draw = filter_draw,
	.key = filter_key,
	.keys = filter_keys,
	.overlay = true,
};
