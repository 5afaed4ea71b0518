/* SPDX-License-Identifier: MIT */
/* process.c: placeholder until its owner lands it. */
#include "e2bd.h"
