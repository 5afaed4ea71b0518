/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/config.h> compiles on its own (STYLE T9). */
#include <e2b/config.h>

int main(void)
{
	return 0;
}
