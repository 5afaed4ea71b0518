/* SPDX-License-Identifier: MIT */
/* users.c: placeholder until its owner lands it. */
#include "e2bd.h"
