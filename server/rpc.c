/* SPDX-License-Identifier: MIT */
/* rpc.c: placeholder until its owner lands it. */
#include "e2bd.h"
