/* SPDX-License-Identifier: MIT */
/* Header test: <e2b/pty.h> compiles on its own (STYLE T9). */
#include <e2b/pty.h>

int main(void)
{
	return 0;
}
