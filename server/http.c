/* SPDX-License-Identifier: MIT */
/* http.c: placeholder until its owner lands it. */
#include "e2bd.h"
