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

/* text.c: print "unitrace NAME: <message>" to stderr.  The message is
 * escaped as a whole (ut_text_escape): it may quote guest-written text
 * (names, rendezvous entries, link targets, paths, reasons). */
void ut_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same for a message that is not an error ("attached NAME"). */
void ut_msg(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True if argv holds -h or --help; prints (cmd)'s usage to stdout. */
bool ut_wants_help(const struct ut_cmd *cmd, int argc, char **argv);

/* ---- text.c: printable text ------------------------------------------- */

/* The rule.  Text from a guest (names, reasons, field values, paths) is
 * hostile: a control character could drive the terminal, so none reaches
 * the output as it is.  Control characters are C0 (below 0x20) and DEL
 * (0x7f), and C1 (U+0080..U+009F: 0x9b is a CSI to many terminals), both
 * as raw bytes 0x80..0x9f and as their UTF-8 encodings 0xc2 0x80..0x9f.
 * Valid UTF-8 of other code points passes (the viewer checks each
 * sequence when it draws it); a byte that does not start a valid UTF-8
 * sequence (overlong, surrogate, cut short, above U+10FFFF) is not text.
 * Two renderings of the same rule:
 *  - escaped, where the reader must see what was there (tables, the crash
 *    report, the collector's messages): "\n", "\t", a C1 code point
 *    "\u0080".."\u009f", any other control or non-UTF-8 byte "\xNN";
 *  - replaced by '?' (each byte), where a name sits in a fixed-size field.
 * Formats with their own escaping (CSV, JSON) use ut_text_is_ctl on each
 * byte below 0x80 and ut_text_utf8 + ut_text_is_ctl_cp on the rest. */
static inline bool ut_text_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}
/* True for a control code point: C0, DEL, C1. */
static inline bool ut_text_is_ctl_cp(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}
/* Length (1..4) of the valid UTF-8 sequence at (p), at most (n) bytes,
 * with its code point in (*cp); 0 if (p) does not start one (or n is 0). */
int ut_text_utf8(const unsigned char *p, size_t n, uint32_t *cp);
/* Escape (n) bytes of (src) (up to its NUL if n is (size_t)-1) into (dst)
 * of (cap) bytes, NUL-terminated, whole escapes and whole UTF-8 sequences
 * only.  Returns the length the whole escaped text needs (as snprintf);
 * 4 * n + 1 always suffices. */
size_t ut_text_escape(char *dst, size_t cap, const char *src, size_t n);
/* Replace each byte of a control character (C0, DEL, C1 raw or UTF-8) and
 * each byte that is not valid UTF-8 in the NUL-terminated (s) by '?'. */
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
