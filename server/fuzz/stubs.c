/* SPDX-License-Identifier: MIT */
/*
 * What rpc.c and log.c need from the rest of e2bd, for the fuzz targets:
 * configuration, the shutdown flag and sandbox references (never used on
 * the fuzzed paths).
 */
#include "core/e2bd.h"
#include "api/sandbox.h"

struct e2bd_config g_cfg = { .log_level = LOG_ERROR };
volatile int g_shutting_down;

struct sandbox *sandbox_ref(struct sandbox *sb)
{
	return sb;
}

void sandbox_put(struct sandbox *sb)
{
}
