/* SPDX-License-Identifier: MIT */
/* nsbox.c: placeholder until its owner lands it. */
#include "e2bd.h"
