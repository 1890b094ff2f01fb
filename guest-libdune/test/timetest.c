/* upstream's test/timetest against our libdune: time() in Dune mode (glibc
 * goes through the vDSO, which reads the vvar page: a VM_PFNMAP mapping),
 * plus gettimeofday/clock_gettime and the legacy vsyscall page. */
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include "../dune.h"

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	time_t before = time(NULL), t = -1;
	if (dune_init_and_enter()) {
		printf("timetest: failed to enter dune mode\n");
		return 1;
	}
	if (time(&t) == -1 || t == -1) {
		printf("timetest: time(&t) failed\n");
		return 1;
	}
	t = time(NULL);
	struct timespec ts;
	struct timeval tv;
	int cg = clock_gettime(CLOCK_MONOTONIC, &ts), gt = gettimeofday(&tv, NULL);
	/* the legacy vsyscall ABI: time() at 0xffffffffff600400 */
	time_t (*vsys_time)(time_t *) = (time_t (*)(time_t *))0xffffffffff600400ul;
	time_t vt = vsys_time(NULL);
	if (t < before || t > before + 60 || cg || gt || tv.tv_sec < before || vt < before || vt > t + 60) {
		printf("timetest: bad times: before %ld time %ld clock_gettime %d gettimeofday %d (%ld) vsyscall %ld\n",
		       (long)before, (long)t, cg, gt, (long)tv.tv_sec, (long)vt);
		return 1;
	}
	printf("timetest: time %ld, gettimeofday %ld, vsyscall time %ld\n", (long)t, (long)tv.tv_sec, (long)vt);
	printf("Success! t=%ld\n", (long)t);
	return 0;
}
