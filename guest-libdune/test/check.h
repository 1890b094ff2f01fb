/* The libdune test programs' result lines: "<prefix><what> OK|FAIL", one
 * per check, counted in check_failures. Define CHECK_PREFIX first. */
#ifndef LIBDUNE_TEST_CHECK_H
#define LIBDUNE_TEST_CHECK_H

#include <stdio.h>

static int check_failures;
#define CHECK(cond, fmt, ...)                                                                  \
	do {                                                                                   \
		int ok_ = !!(cond);                                                            \
		printf(CHECK_PREFIX fmt " %s\n", ##__VA_ARGS__, ok_ ? "OK" : "FAIL");        \
		if (!ok_)                                                                      \
			check_failures++;                                                      \
	} while (0)

#endif
