/* SPDX-License-Identifier: MIT */
/* fsrpc.c: placeholder until its owner lands it. */
#include "e2bd.h"
