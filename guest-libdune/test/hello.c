/* upstream libdune's test/hello, unchanged in behaviour: enter Dune, print,
 * catch a divide error with a registered handler, recover. */
#include <stdio.h>
#include <stdlib.h>

#include "../dune.h"

static void recover(void)
{
	printf("hello: recovered from divide by zero\n");
	exit(0);
}

static void divide_by_zero_handler(struct dune_tf *tf)
{
	printf("hello: caught divide by zero!\n");
	tf->rip = (uintptr_t)&recover;
}

int main(void)
{
	volatile int ret;
	printf("hello: not running dune yet\n");
	ret = dune_init_and_enter();
	if (ret) {
		printf("failed to initialize dune\n");
		return ret;
	}
	printf("hello: now printing from dune mode\n");
	dune_register_intr_handler(T_DIVIDE, divide_by_zero_handler);
	/* upstream writes 1 / ret, which gcc 12 folds into compares (1/x needs
	 * no division): divide something that needs a real IDIV */
	ret = 100 / ret; /* divide by zero */
	printf("hello: we won't reach this call\n");
	return 0;
}
