/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/mgmt.h> compiles on its own (STYLE T9). */
#include <e2b/mgmt.h>

int main(void)
{
	return 0;
}
