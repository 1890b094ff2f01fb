/* Machine-readable verdicts of the libdune test programs: one line per
 * check, "<program>: ok <id> - <detail>" or "<program>: not ok <id> -
 * <detail>", counted in verdict_failures. Define VERDICT_PROGRAM first. */
#ifndef LIBDUNE_TEST_VERDICT_H
#define LIBDUNE_TEST_VERDICT_H

#include <stdarg.h>
#include <stdio.h>

static int verdict_failures;
static void verdict(int ok, const char *id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void verdict(int ok, const char *id, const char *fmt, ...)
{
	char detail[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printf(VERDICT_PROGRAM ": %s %s - %s\n", ok ? "ok" : "not ok", id, detail);
	fflush(stdout);
	if (!ok)
		verdict_failures++;
}

#endif
