/*
 * Minimal TAP producer for unitrace's C tests.
 *
 *   ok(cond, "fmt", ...)   one test point
 *   is_int(got, want, "fmt", ...)
 *   return tap_done();     prints the plan, exit status 1 if any failed
 */
#ifndef UT_TAP_H
#define UT_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

static inline __attribute__((format(printf, 2, 3))) int
tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;
	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)
#define is_int(got, want, ...) \
	do { \
		long long tap_g = (long long)(got), tap_w = (long long)(want); \
		if (!tap_ok(tap_g == tap_w, __VA_ARGS__)) \
			printf("#   got %lld, want %lld (%s:%d)\n", tap_g, \
			       tap_w, __FILE__, __LINE__); \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
