/* The hypervisor's counters as hvprobe shows them (/proc/dunehv/info,
 * "key=value" lines), for the test programs that compare them. */
#ifndef DUNE_TEST_PROCINFO_H
#define DUNE_TEST_PROCINFO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value of key, or ~0 if hvprobe is not loaded or has no such key. */
static uint64_t info_value(const char *key)
{
	char line[128];
	uint64_t v = ~0ull;
	FILE *f = fopen("/proc/dunehv/info", "r");
	size_t k = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, k) && line[k] == '=')
			v = strtoull(line + k + 1, NULL, 0);
	if (f)
		fclose(f);
	return v;
}

#endif
