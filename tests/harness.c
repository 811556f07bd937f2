/*
 * What every unit test links besides the collector library: the commands'
 * error printer, as collector/cli/main.c has it (main.c is not part of
 * libutcollector.a).  TAP output itself is tests/tap.h.
 */
#include <stdarg.h>
#include <stdio.h>

#include "collector.h"

void ut_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "unitrace%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
