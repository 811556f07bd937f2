/*
 * unitrace command line: the command table, the error printer, and the
 * small helpers the commands, the viewer and the collector share (one copy
 * each): printable text, aligned tables, durations and timestamps as text,
 * the monotonic clock.  Does not include collector.h: the viewer sees only
 * this header and tracedb.h.
 */
#ifndef UT_CLI_H
#define UT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- commands: one file per subcommand (cmd_<name>.c) ------------------ */

struct ut_cmd {
	const char *name;    /* "collect" */
	const char *summary; /* one line for `unitrace --help` */
	const char *usage;   /* full text printed by `unitrace NAME --help` */
	/* argv[0] is the subcommand name.  Returns the process exit status:
	 * 0 success, 1 failure (message already printed), 2 usage error. */
	int (*run)(int argc, char **argv);
	/* Options end at the first operand (unitrace run: the program's own
	 * arguments are not ours, --help among them). */
	bool stop_at_operand;
};

/* text.c: print "unitrace NAME: <message>" to stderr. */
void ut_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True if argv holds -h or --help; prints (cmd)'s usage to stdout. */
bool ut_wants_help(const struct ut_cmd *cmd, int argc, char **argv);

/* ---- text.c: printable text ------------------------------------------- */

/* The rule.  Text from a guest (names, reasons, field values, paths) is
 * hostile: a control character, a byte below 0x20 or 0x7f, could drive the
 * terminal, so none reaches the output as it is.  Bytes from 0x80 up pass
 * (UTF-8 text; the viewer checks each sequence when it draws it).  Two
 * renderings of the same rule:
 *  - escaped, where the reader must see what was there (tables, the crash
 *    report): "\n", "\t", others "\xNN";
 *  - replaced by '?', where a name sits in a fixed-size field.
 * Formats with their own escaping (CSV, JSON) use ut_text_is_ctl. */
static inline bool ut_text_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}
/* Escape (n) bytes of (src) (up to its NUL if n is (size_t)-1) into (dst)
 * of (cap) bytes, NUL-terminated, whole escapes only.  Returns the length
 * the whole escaped text needs (as snprintf); 4 * n + 1 always suffices. */
size_t ut_text_escape(char *dst, size_t cap, const char *src, size_t n);
/* Replace each control character of the NUL-terminated (s) by '?'. */
void ut_text_clean(char *s);
/* Guest-written text the collector stores or quotes (names, reasons,
 * labels, xenstore values): printable ASCII only, anything else '?', so a
 * guest can put neither terminal escapes nor invalid UTF-8 in the database
 * or a message. */
static inline char ut_text_guest_char(char c)
{
	return (unsigned char)c >= 0x20 && (unsigned char)c < 0x7f ? c : '?';
}

/* ---- text.c: durations, timestamps, tables ----------------------------- */

/* (ns) as a duration with a unit: "812 ns", "3.25 us", "1.5 s". */
void ut_fmt_dur(char *buf, size_t len, double ns);
/* (ns) as seconds with nanosecond precision: "12.000345678". */
void ut_fmt_ts(char *buf, size_t len, int64_t ns);

/* Aligned text table of (ncols) columns on stdout, filled cell by cell,
 * row-major.  Cells are escaped (ut_text_escape).  NULL/-1 on no memory. */
typedef struct ut_tab ut_tab_t;
ut_tab_t *ut_tab_new(int ncols);
int ut_tab_add(ut_tab_t *t, const char *cell, bool right);
int ut_tab_addf(ut_tab_t *t, bool right, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Print the rows so far (column widths are fixed by the first flush). */
void ut_tab_flush(ut_tab_t *t);
/* Flush and free. */
void ut_tab_free(ut_tab_t *t);

/* ---- text.c: the monotonic clock ---------------------------------------- */

/* CLOCK_MONOTONIC in ns, and in whole ms. */
int64_t ut_now_ns(void);
int64_t ut_now_ms(void);

#endif /* UT_CLI_H */
