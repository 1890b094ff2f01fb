/* What newlib's libc expects from its platform. The hypervisor has no heap:
 * snprintf links malloc for growing buffers but never calls it when writing
 * into a caller's buffer, so sbrk always fails. */
#include <stddef.h>

void *sbrk(ptrdiff_t increment);
void *sbrk(ptrdiff_t increment)
{
	(void)increment;
	return (void *)-1;
}
