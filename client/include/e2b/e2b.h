/* SPDX-License-Identifier: MIT */
/*
 * libe2b umbrella header: include this to get the whole public API of the
 * C client for E2B-compatible sandboxes.  One header per module, and a
 * module's functions are e2b_<module>_<verb>(): client.h e2b_client_*,
 * sandbox.h e2b_sandbox_*, mgmt.h e2b_mgmt_* (the management API without
 * a handle), commands.h e2b_commands_*, process.h e2b_process_*, input.h
 * e2b_input_*, pty.h e2b_pty_*, fs.h e2b_fs_*, meta.h e2b_meta_*,
 * errors.h e2b_error_*.  Library-wide calls in common.h are e2b_global_*,
 * e2b_version and e2b_free; a struct's own functions are named after it
 * (e2b_config_from_env, e2b_sandbox_info_free, e2b_entry_info_free).
 *
 * Quick start:
 *
 *   e2b_global_init();
 *   e2b_config cfg = E2B_CONFIG_INIT;
 *   e2b_config_from_env(&cfg);
 *   e2b_client *c;  e2b_sandbox *sb;
 *   e2b_client_new(&c, &cfg);
 *   e2b_sandbox_create(&sb, c, NULL);
 *   e2b_process_result r = E2B_PROCESS_RESULT_INIT;
 *   e2b_commands_run(&r, sb, "echo hello", NULL);   (r.out == "hello\n")
 *   e2b_process_result_release(&r);
 *   e2b_fs_mkdir(NULL, sb, "/tmp/demo");
 *   e2b_sandbox_kill_and_free(sb);
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
#include "client.h"
#include "sandbox.h"
#include "mgmt.h"
#include "process.h"
#include "commands.h"
#include "input.h"
#include "pty.h"
#include "fs.h"
#include "meta.h"

#endif /* E2B_E2B_H */
