/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/meta.h> compiles on its own (STYLE T9). */
#include <e2b/meta.h>

int main(void)
{
	return 0;
}
