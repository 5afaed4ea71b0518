/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/process.h> compiles on its own (STYLE T9). */
#include <e2b/process.h>

int main(void)
{
	return 0;
}
