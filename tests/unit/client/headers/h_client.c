/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/client.h> compiles on its own (STYLE T9). */
#include <e2b/client.h>

int main(void)
{
	return 0;
}
