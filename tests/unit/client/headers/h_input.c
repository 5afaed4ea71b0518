/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/input.h> compiles on its own (STYLE T9). */
#include <e2b/input.h>

int main(void)
{
	return 0;
}
