/*
 * The text rule (collector/cli/text.c, cli.h): what guest-written text may
 * reach a terminal.  C0, DEL and C1 controls (raw bytes 0x80..0x9f and
 * UTF-8 U+0080..U+009F) are escaped or replaced, bytes that are not UTF-8
 * are escaped, valid printable UTF-8 passes.  TAP.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tap.h"

/* Escaping (n) bytes of (in) gives (want); the result has no control
 * byte the terminal could act on. */
static void esc_is(const char *in, size_t n, const char *want, const char *what)
{
	char out[256];
	size_t need = ut_text_escape(out, sizeof(out), in, n);
	bool ok_ = !strcmp(out, want) && need == strlen(want) &&
		   need <= 4 * n;

	if (!ok(ok_, "escape %s", what))
		printf("#   got '%s' (%zu), want '%s'\n", out, need, want);
}

static void clean_is(const char *in, const char *want, const char *what)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", in);
	ut_text_clean(buf);
	if (!ok(!strcmp(buf, want), "clean %s", what))
		printf("#   got '%s', want '%s'\n", buf, want);
}

/* No byte of (s) is a C0 control, DEL, or a C1 one (raw or in UTF-8). */
static bool terminal_safe(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)
			return false;
		/* a raw 0x80..0x9f outside a valid sequence */
		uint32_t cp;
		int k = ut_text_utf8(p + i, n - i, &cp);
		if (k == 0)
			return false;
		i += (size_t)k - 1;
	}
	return true;
}

int main(void)
{
	/* C0 and DEL */
	esc_is("a\x1b[31mb", 7, "a\\x1b[31mb", "ESC (C0)");
	esc_is("a\nb\tc\rd", 7, "a\\nb\\tc\\x0dd", "newline, tab, CR");
	esc_is("x\x7fy", 3, "x\\x7fy", "DEL");
	/* C1 as a raw byte: not UTF-8 */
	esc_is("a\x9b" "31mb", 6, "a\\x9b31mb", "raw 0x9b (CSI)");
	esc_is("\x80\x9f", 2, "\\x80\\x9f", "raw 0x80, 0x9f");
	/* C1 in UTF-8 */
	esc_is("a\xc2\x9b" "31mb", 7, "a\\u009b31mb", "UTF-8 U+009B (CSI)");
	esc_is("\xc2\x80\xc2\x9f", 4, "\\u0080\\u009f", "UTF-8 U+0080, U+009F");
	/* valid printable UTF-8 passes */
	esc_is("\xe6\x97\xa5\xe6\x9c\xac", 6, "\xe6\x97\xa5\xe6\x9c\xac",
	       "Japanese (bytes 0x97, 0x9c inside sequences)");
	esc_is("\xc2\xa0\xc3\xa9\xf0\x9f\x98\x80", 8,
	       "\xc2\xa0\xc3\xa9\xf0\x9f\x98\x80", "U+00A0, e-acute, emoji");
	/* invalid UTF-8: each byte escaped */
	esc_is("\xc0\x9b", 2, "\\xc0\\x9b", "overlong ESC");
	esc_is("\xe6\x97", 2, "\\xe6\\x97", "cut sequence");
	esc_is("\xed\xa0\x80", 3, "\\xed\\xa0\\x80", "surrogate");
	esc_is("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80", "above U+10FFFF");
	esc_is("\xff", 1, "\\xff", "0xff");
	esc_is("\xc2", 1, "\\xc2", "lone lead byte 0xc2");
	/* NUL-terminated form */
	{
		char out[64];
		ut_text_escape(out, sizeof(out), "n\xc2\x9bm", (size_t)-1);
		ok(!strcmp(out, "n\\u009bm"), "escape up to the NUL");
	}
	/* a cut: whole escapes and whole UTF-8 sequences only */
	{
		char out[4];
		size_t need = ut_text_escape(out, sizeof(out), "a\xe6\x97\xa5", 4);
		ok(!strcmp(out, "a") && need == 4, "no partial UTF-8 after a cut");
		need = ut_text_escape(out, sizeof(out), "ab\x1b", 3);
		ok(!strcmp(out, "ab") && need == 6, "no partial escape after a cut");
	}
	/* every 2-byte input and a few 3-byte ones: output is terminal-safe
	 * and within 4 * n + 1 */
	{
		bool all = true;
		char in[3], out[16];
		for (unsigned a = 0; a < 256 && all; a++)
			for (unsigned b = 0; b < 256 && all; b++) {
				in[0] = (char)a, in[1] = (char)b;
				size_t need = ut_text_escape(out, sizeof(out), in, 2);
				all = need <= 8 && terminal_safe(out, need);
				for (unsigned c = 0x80; c < 0xc0 && all; c += 0x1f) {
					in[2] = (char)c;
					need = ut_text_escape(out, sizeof(out), in, 3);
					all = need <= 12 && terminal_safe(out, need);
				}
			}
		ok(all, "every 2-byte input escapes to terminal-safe text");
	}

	/* the '?' rendering */
	clean_is("a\x1b[1mb\x7f", "a?[1mb?", "C0, DEL");
	clean_is("a\x9b" "1m", "a?1m", "raw 0x9b");
	clean_is("a\xc2\x9b" "1m", "a??1m", "UTF-8 U+009B");
	clean_is("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac",
		 "Japanese kept");
	clean_is("\xc0\x9b\xff", "???", "invalid UTF-8");

	/* the decoder */
	{
		uint32_t cp = 0;
		ok(ut_text_utf8((const unsigned char *)"\xc2\x9b", 2, &cp) == 2 &&
		   cp == 0x9b, "decode U+009B");
		ok(ut_text_is_ctl_cp(0x9b) && ut_text_is_ctl_cp(0x80) &&
		   ut_text_is_ctl_cp(0x7f) && ut_text_is_ctl_cp(0x1b) &&
		   !ut_text_is_ctl_cp(0xa0) && !ut_text_is_ctl_cp(0x65e5),
		   "control code points: C0, DEL, C1 only");
	}

	/* the messages: ut_error and ut_msg escape what they quote */
	{
		char path[] = "/tmp/ut-test-text.XXXXXX";
		int fd = mkstemp(path);
		int saved = dup(2);
		char buf[512] = "";
		ssize_t n = -1;

		if (fd >= 0 && saved >= 0) {
			fflush(stderr);
			dup2(fd, 2);
			ut_msg("collect", "attached %s", "ev\x1b]0;x\x07il\x9b" "2J\xc2\x9b" "2J\xe6\x97\xa5");
			ut_error("collect", "%s: bad", "/tmp/\x1b[2J");
			fflush(stderr);
			dup2(saved, 2);
			n = pread(fd, buf, sizeof(buf) - 1, 0);
		}
		if (n >= 0)
			buf[n] = 0;
		ok(n > 0 && !strcmp(buf, "unitrace collect: attached ev\\x1b]0;x\\x07il\\x9b2J\\u009b2J\xe6\x97\xa5\n"
				       "unitrace collect: /tmp/\\x1b[2J: bad\n"),
		   "ut_msg and ut_error escape the message");
		printf("# %s", buf);
		if (fd >= 0)
			close(fd), unlink(path);
		if (saved >= 0)
			close(saved);
	}
	return tap_done();
}
