/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/errors.h> compiles on its own (STYLE T9). */
#include <e2b/errors.h>

int main(void)
{
	return 0;
}
