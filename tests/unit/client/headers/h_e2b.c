/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/e2b.h> compiles on its own (STYLE T9). */
#include <e2b/e2b.h>

int main(void)
{
	return 0;
}
