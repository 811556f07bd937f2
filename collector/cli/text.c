/*
 * Small helpers shared by the commands, the viewer and the collector
 * (cli.h): the error printer, printable text, durations and timestamps as
 * text, aligned tables, the monotonic clock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* ---- errors --------------------------------------------------------------- */

static void vmsg(const char *cmd, const char *fmt, va_list ap)
{
	char small[1024], esc[4 * sizeof(small) + 1];
	char *msg = small, *out = esc;
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(small, sizeof(small), fmt, aq);
	va_end(aq);
	if (n < 0)
		n = 0, small[0] = 0;
	if ((size_t)n >= sizeof(small)) {
		msg = malloc((size_t)n + 1);
		out = msg ? malloc(4 * (size_t)n + 1) : NULL;
		if (msg && out) {
			vsnprintf(msg, (size_t)n + 1, fmt, ap);
		} else { /* no memory: the cut message */
			free(msg);
			msg = small, out = esc;
			n = (int)strlen(small);
		}
	}
	ut_text_escape(out, 4 * (size_t)n + 1, msg, (size_t)n);
	fprintf(stderr, "unitrace%s%s: %s\n", cmd ? " " : "", cmd ? cmd : "",
		out);
	if (msg != small)
		free(msg);
	if (out != esc)
		free(out);
}

void ut_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(cmd, fmt, ap);
	va_end(ap);
}

void ut_msg(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(cmd, fmt, ap);
	va_end(ap);
}

/* ---- printable text ------------------------------------------------------ */

int ut_text_utf8(const unsigned char *p, size_t n, uint32_t *cp)
{
	int len;
	uint32_t min, c;

	if (!n)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, min = 0x80, c = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, min = 0x800, c = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, min = 0x10000, c = p[0] & 0x07;
	else
		return 0; /* a continuation byte or 0xf8..0xff */
	if ((size_t)len > n)
		return 0;
	for (int i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

size_t ut_text_escape(char *dst, size_t cap, const char *src, size_t n)
{
	const unsigned char *p = (const unsigned char *)(src ? src : "");
	size_t o = 0;

	if (n == (size_t)-1)
		n = strlen((const char *)p);
	for (size_t i = 0; i < n;) {
		char e[8];
		const char *from = e;
		size_t k;
		uint32_t cp = 0;
		int len = ut_text_utf8(p + i, n - i, &cp);

		if (len == 0) { /* not UTF-8: the byte */
			k = (size_t)snprintf(e, sizeof(e), "\\x%02x", p[i]);
			len = 1;
		} else if (cp == '\n') {
			k = (size_t)snprintf(e, sizeof(e), "\\n");
		} else if (cp == '\t') {
			k = (size_t)snprintf(e, sizeof(e), "\\t");
		} else if (cp < 0x80 && ut_text_is_ctl_cp(cp)) {
			k = (size_t)snprintf(e, sizeof(e), "\\x%02x", p[i]);
		} else if (ut_text_is_ctl_cp(cp)) { /* C1 in UTF-8 */
			k = (size_t)snprintf(e, sizeof(e), "\\u%04x", (unsigned)cp);
		} else {
			from = (const char *)p + i, k = (size_t)len;
		}
		if (cap && o + k < cap)
			memcpy(dst + o, from, k);
		else if (cap && o < cap)
			cap = o + 1; /* no partial escape after a cut */
		o += k;
		i += (size_t)len;
	}
	if (cap)
		dst[o < cap ? o : cap - 1] = 0;
	return o;
}

void ut_text_clean(char *s)
{
	size_t n = s ? strlen(s) : 0;

	for (size_t i = 0; i < n;) {
		uint32_t cp = 0;
		int len = ut_text_utf8((unsigned char *)s + i, n - i, &cp);

		if (len == 0)
			len = 1, cp = 0; /* not UTF-8: a '?' */
		if (ut_text_is_ctl_cp(cp))
			memset(s + i, '?', (size_t)len);
		i += (size_t)len;
	}
}

/* ---- the monotonic clock -------------------------------------------------- */

int64_t ut_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t ut_now_ms(void)
{
	return ut_now_ns() / 1000000;
}

/* ---- durations, timestamps, tables ------------------------------------------ */

void ut_fmt_dur(char *buf, size_t len, double ns)
{
	double a = ns < 0 ? -ns : ns;

	if (a < 1e3)
		snprintf(buf, len, "%.0f ns", ns);
	else if (a < 1e6)
		snprintf(buf, len, "%.3g us", ns / 1e3);
	else if (a < 1e9)
		snprintf(buf, len, "%.3g ms", ns / 1e6);
	else
		snprintf(buf, len, "%.3f s", ns / 1e9);
	/* %g may print 1e+03 for 999.95: keep the units readable */
	if (strchr(buf, 'e')) {
		if (a < 1e6)
			snprintf(buf, len, "%.0f us", ns / 1e3);
		else
			snprintf(buf, len, "%.0f ms", ns / 1e6);
	}
}

void ut_fmt_ts(char *buf, size_t len, int64_t ns)
{
	uint64_t a = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;

	snprintf(buf, len, "%s%llu.%09llu", ns < 0 ? "-" : "",
		 (unsigned long long)(a / 1000000000u),
		 (unsigned long long)(a % 1000000000u));
}

/* A table printed with aligned columns.  The first UT_TAB_BUFFER rows are
 * buffered to size the columns; later rows are printed as they come with
 * those widths. */
#define UT_TAB_BUFFER 1000

struct ut_tab {
	FILE *out;
	int ncols;
	size_t *width;
	char **cells; /* buffered cells, row-major */
	bool *right;
	size_t ncells, cap;
	bool sized;
};

ut_tab_t *ut_tab_new(int ncols)
{
	ut_tab_t *t = calloc(1, sizeof(*t));

	if (!t || ncols < 1)
		goto fail;
	t->out = stdout;
	t->ncols = ncols;
	t->width = calloc((size_t)ncols, sizeof(*t->width));
	if (!t->width)
		goto fail;
	return t;
fail:
	free(t);
	return NULL;
}

/* Display width of UTF-8 (s): code points. */
static size_t utf8_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void tab_print_row(ut_tab_t *t, char **row, const bool *right)
{
	for (int c = 0; c < t->ncols; c++) {
		const char *s = row[c] ? row[c] : "";
		size_t w = utf8_width(s);
		size_t pad = w < t->width[c] ? t->width[c] - w : 0;
		bool last = c == t->ncols - 1;

		if (c)
			fputs("  ", t->out);
		if (right[c])
			fprintf(t->out, "%*s", (int)pad, "");
		fputs(s, t->out);
		if (!right[c] && !last)
			fprintf(t->out, "%*s", (int)pad, "");
	}
	fputc('\n', t->out);
}

void ut_tab_flush(ut_tab_t *t)
{
	size_t rows = t->ncells / (size_t)t->ncols;

	if (!t->sized) {
		for (size_t i = 0; i < rows * (size_t)t->ncols; i++) {
			size_t w = utf8_width(t->cells[i]);
			size_t c = i % (size_t)t->ncols;
			if (w > t->width[c])
				t->width[c] = w;
		}
		t->sized = true;
	}
	for (size_t r = 0; r < rows; r++)
		tab_print_row(t, t->cells + r * (size_t)t->ncols,
			      t->right + r * (size_t)t->ncols);
	for (size_t i = 0; i < rows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	/* keep a partial row */
	size_t rest = t->ncells - rows * (size_t)t->ncols;
	if (rest) { /* (an empty table has no arrays: NULL + 0 is undefined) */
		memmove(t->cells, t->cells + rows * (size_t)t->ncols,
			rest * sizeof(*t->cells));
		memmove(t->right, t->right + rows * (size_t)t->ncols,
			rest * sizeof(*t->right));
	}
	t->ncells = rest;
}

int ut_tab_add(ut_tab_t *t, const char *cell, bool right)
{
	if (t->ncells == t->cap) {
		size_t n = t->cap ? t->cap * 2 : 64;
		char **c = realloc(t->cells, n * sizeof(*c));
		if (!c)
			return -1;
		t->cells = c;
		bool *r = realloc(t->right, n * sizeof(*r));
		if (!r)
			return -1;
		t->right = r;
		t->cap = n;
	}
	/* Guest-written text is hostile: no control characters reach the
	 * terminal. */
	size_t len = strlen(cell ? cell : "");
	char *s = malloc(4 * len + 1);
	if (!s)
		return -1;
	ut_text_escape(s, 4 * len + 1, cell, len);
	t->right[t->ncells] = right;
	t->cells[t->ncells++] = s;
	if (t->sized ? t->ncells == (size_t)t->ncols
		     : t->ncells == (size_t)t->ncols * UT_TAB_BUFFER)
		ut_tab_flush(t);
	return 0;
}

int ut_tab_addf(ut_tab_t *t, bool right, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return ut_tab_add(t, buf, right);
}

void ut_tab_free(ut_tab_t *t)
{
	if (!t)
		return;
	ut_tab_flush(t);
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->right);
	free(t->width);
	free(t);
}
