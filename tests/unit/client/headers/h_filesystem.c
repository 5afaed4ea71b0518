/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/filesystem.h> compiles on its own (STYLE T9). */
#include <e2b/filesystem.h>

int main(void)
{
	return 0;
}
