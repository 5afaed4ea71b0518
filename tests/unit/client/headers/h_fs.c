/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/fs.h> compiles on its own (STYLE T9). */
#include <e2b/fs.h>

int main(void)
{
	return 0;
}
