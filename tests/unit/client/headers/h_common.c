/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/common.h> compiles on its own (STYLE T9). */
#include <e2b/common.h>

int main(void)
{
	return 0;
}
