/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/sandbox.h> compiles on its own (STYLE T9). */
#include <e2b/sandbox.h>

int main(void)
{
	return 0;
}
