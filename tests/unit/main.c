/* Runs every unit test (or the ones named on the command line). */
#include "unit.h"

int unit_failures;

void *unit_alloc_pages(size_t pages)
{
	void *p = aligned_alloc(4096, pages * 4096);
	if (!p) {
		perror("aligned_alloc");
		exit(2);
	}
	memset(p, 0xa5, pages * 4096); /* garbage: the code under test must zero */
	return p;
}

void *unit_identity(uint64_t pa) { return (void *)(uintptr_t)pa; }

#define X(suite) extern const struct unit_test suite##_tests[]; extern const unsigned suite##_count;
#include "suites.def"
#undef X

struct suite {
	const char *name;
	const struct unit_test *tests;
	const unsigned *count;
};

static const struct suite suites[] = {
#define X(suite) {#suite, suite##_tests, &suite##_count},
#include "suites.def"
#undef X
};

int main(int argc, char **argv)
{
	unsigned run = 0;
	for (unsigned s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
		for (unsigned t = 0; t < *suites[s].count; t++) {
			const struct unit_test *ut = &suites[s].tests[t];
			char full[160];
			snprintf(full, sizeof(full), "%s.%s", suites[s].name, ut->name);
			bool selected = argc < 2;
			for (int a = 1; a < argc; a++)
				if (strstr(full, argv[a]))
					selected = true;
			if (!selected)
				continue;
			int before = unit_failures;
			ut->fn();
			run++;
			printf("%s %s\n", unit_failures == before ? "PASS" : "FAIL", full);
		}
	}
	printf("%u tests, %d failed checks\n", run, unit_failures);
	return unit_failures ? 1 : (run ? 0 : 3);
}
