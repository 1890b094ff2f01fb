/* Tiny unit-test framework for hv/ pure logic, run on the host under
 * AddressSanitizer and UndefinedBehaviorSanitizer. */
#ifndef UNIT_H
#define UNIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int unit_failures;

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
			unit_failures++;                                                     \
		}                                                                            \
	} while (0)

#define CHECK_EQ(a, b)                                                                                     \
	do {                                                                                               \
		unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b);             \
		if (_a != _b) {                                                                            \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %#llx, %s == %#llx\n", __FILE__, __LINE__, \
				#a, _a, #b, _b);                                                           \
			unit_failures++;                                                                   \
		}                                                                                          \
	} while (0)

#define CHECK_STR_CONTAINS(s, sub)                                                                   \
	do {                                                                                         \
		if (!strstr((s), (sub))) {                                                           \
			fprintf(stderr, "%s:%d: '%s' does not contain '%s'\n", __FILE__, __LINE__, (s), (sub)); \
			unit_failures++;                                                             \
		}                                                                                    \
	} while (0)

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT_TEST(name) static void name(void)

/* Page-aligned host memory posing as physical memory (identity pa == va). */
void *unit_alloc_pages(size_t pages);
void *unit_identity(uint64_t pa);

#endif
