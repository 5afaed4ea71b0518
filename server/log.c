/* SPDX-License-Identifier: MIT */
/* log.c: placeholder until its owner lands it. */
#include "e2bd.h"
