/* SPDX-License-Identifier: MIT */
/*
 * libe2b umbrella header: include this to get the whole public API of the
 * C client for E2B-compatible sandboxes.
 *
 * Quick start:
 *
 *   e2b_global_init();
 *   e2b_config cfg = E2B_CONFIG_INIT;
 *   e2b_config_from_env(&cfg);
 *   e2b_client *c;  e2b_sandbox *sb;
 *   e2b_client_new(&c, &cfg);
 *   e2b_sandbox_create(&sb, c, NULL);
 *   e2b_command_result r = E2B_COMMAND_RESULT_INIT;
 *   e2b_commands_run(&r, sb, "echo hello", NULL);   (r.out == "hello\n")
 *   e2b_command_result_release(&r);
 *   e2b_fs_mkdir(NULL, sb, "/tmp/demo");
 *   e2b_sandbox_close(sb);
 *   e2b_client_free(c);
 *   e2b_global_shutdown();
 *
 * Every function returns 0 or a negative e2b_error_code; details of the
 * last failure are in e2b_error_last().
 */
#ifndef E2B_E2B_H
#define E2B_E2B_H

#include "common.h"
#include "errors.h"
#include "config.h"
#include "sandbox.h"
#include "commands.h"
#include "filesystem.h"
#include "meta.h"

#endif /* E2B_E2B_H */
