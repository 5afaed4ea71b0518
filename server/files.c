/* SPDX-License-Identifier: MIT */
/* files.c: placeholder until its owner lands it. */
#include "e2bd.h"
