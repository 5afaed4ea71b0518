/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/commands.h> compiles on its own (STYLE T9). */
#include <e2b/commands.h>

int main(void)
{
	return 0;
}
