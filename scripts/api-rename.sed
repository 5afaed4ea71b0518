# SPDX-License-Identifier: MIT
# libe2b 0.1 API renames (issue 12 item 5), applied by scripts/api-rename.sh.
# Every rule is idempotent: no new name matches an old pattern, so the
# script can run again on a tree that is already (partly) renamed.
#
#   old                               new
#   <e2b/config.h>                    <e2b/client.h>
#   <e2b/filesystem.h>                <e2b/fs.h>
#   e2b_sandbox_close                 e2b_sandbox_kill_and_free
#   e2b_api_<verb>                    e2b_mgmt_<verb> (list, get_info, kill,
#                                     set_timeout, create, connect, pause,
#                                     resume, metrics, logs) in <e2b/mgmt.h>
#   e2b_list_options, e2b_list_flags, e2b_list_state_flags, E2B_LIST_*
#                                     e2b_mgmt_list_options, ..., E2B_MGMT_LIST_*
#   e2b_command_result, _INIT, _release
#                                     e2b_process_result, ... (<e2b/process.h>)
#   e2b_command_options, E2B_COMMAND_OPTIONS_*
#                                     e2b_commands_options, E2B_COMMANDS_OPTIONS_*
#   e2b_commands_send_stdin           e2b_commands_write_stdin
#   e2b_process_send_stdin            e2b_process_write_stdin
#   e2b_pty_send                      e2b_pty_write
#   e2b_fs_watch()                    e2b_fs_watch_start()
#   e2b_watch (handle)                e2b_fs_watch
#   e2b_watch_run/_poll/_cancel/_free e2b_fs_watch_run/_poll/_cancel/_free
#   e2b_watch_options, E2B_WATCH_OPTIONS_*
#                                     e2b_fs_watch_options, E2B_FS_WATCH_OPTIONS_*
#   e2b_watch_cb                      e2b_fs_event_cb
#   e2b_config.debug_mode             e2b_config.skip_lifecycle
#   out_killed (kill out parameters)  out_found

s#<e2b/config\.h>#<e2b/client.h>#g
s#<e2b/filesystem\.h>#<e2b/fs.h>#g
s/\be2b_sandbox_close\b/e2b_sandbox_kill_and_free/g
s/\be2b_api_(list|get_info|kill|set_timeout|create|connect|pause|resume|metrics|logs)\b/e2b_mgmt_\1/g
s/\be2b_list_(options|flags|state_flags)\b/e2b_mgmt_list_\1/g
s/\bE2B_LIST_(OPTIONS_VERSION|OPTIONS_INIT|RUNNING|PAUSED|ALL_PAGES)\b/E2B_MGMT_LIST_\1/g
s/\be2b_command_result(_release)?\b/e2b_process_result\1/g
s/\bE2B_COMMAND_RESULT_INIT\b/E2B_PROCESS_RESULT_INIT/g
s/\be2b_command_options\b/e2b_commands_options/g
s/\bE2B_COMMAND_OPTIONS_(VERSION|INIT)\b/E2B_COMMANDS_OPTIONS_\1/g
s/\be2b_commands_send_stdin\b/e2b_commands_write_stdin/g
s/\be2b_process_send_stdin\b/e2b_process_write_stdin/g
s/\be2b_pty_send\b/e2b_pty_write/g
# The function before the handle: the handle takes the function's old name.
s/\be2b_fs_watch\(/e2b_fs_watch_start(/g
s/\be2b_watch_cb\b/e2b_fs_event_cb/g
s/\bE2B_WATCH_OPTIONS_/E2B_FS_WATCH_OPTIONS_/g
s/\be2b_watch_(options|run|poll|cancel|free)\b/e2b_fs_watch_\1/g
s/\be2b_watch\b/e2b_fs_watch/g
s/\bdebug_mode\b/skip_lifecycle/g
s/\bout_killed\b/out_found/g
