/* SPDX-License-Identifier: MIT */
/* mgmt.c: placeholder until its owner lands it. */
#include "e2bd.h"
