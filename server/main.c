/* SPDX-License-Identifier: MIT */
/* main.c: placeholder until its owner lands it. */
#include "e2bd.h"
int main(void) { return 0; }
