/* SPDX-License-Identifier: MIT */
/* Temporary stubs so dependants can link while the library lands. */
#include <e2b/e2b.h>

void e2b_command_result_release(e2b_command_result *res)
{
}

void e2b_process_list_free(e2b_process_list *list)
{
}

int e2b_commands_run(e2b_command_result *out, e2b_sandbox *sb, const char *cmd, const e2b_command_options *opts)
{
	return E2B_ERROR;
}

int e2b_commands_run_argv(e2b_command_result *out, e2b_sandbox *sb, const char *const *argv, const e2b_command_options *opts)
{
	return E2B_ERROR;
}

int e2b_commands_start(e2b_process **out, e2b_sandbox *sb, const char *cmd, const e2b_command_options *opts)
{
	return E2B_ERROR;
}

int e2b_commands_start_argv(e2b_process **out, e2b_sandbox *sb, const char *const *argv, const e2b_command_options *opts)
{
	return E2B_ERROR;
}

int e2b_commands_connect(e2b_process **out, e2b_sandbox *sb, uint32_t pid, const e2b_command_options *opts)
{
	return E2B_ERROR;
}

int e2b_commands_list(e2b_process_list **out, e2b_sandbox *sb)
{
	return E2B_ERROR;
}

int e2b_commands_kill(int *out_killed, e2b_sandbox *sb, uint32_t pid)
{
	return E2B_ERROR;
}

int e2b_commands_signal(int *out_found, e2b_sandbox *sb, uint32_t pid, e2b_signal sig)
{
	return E2B_ERROR;
}

int e2b_commands_send_stdin(e2b_sandbox *sb, uint32_t pid, const void *data, size_t len)
{
	return E2B_ERROR;
}

int e2b_commands_close_stdin(e2b_sandbox *sb, uint32_t pid)
{
	return E2B_ERROR;
}

uint32_t e2b_process_pid(const e2b_process *proc)
{
	return 0;
}

int e2b_process_wait(e2b_command_result *out, e2b_process *proc, e2b_data_cb on_stdout, e2b_data_cb on_stderr, void *payload)
{
	return E2B_ERROR;
}

int e2b_process_poll(int *out_ended, e2b_process *proc, int timeout_ms, int fd)
{
	return E2B_ERROR;
}

int e2b_process_send_stdin(e2b_process *proc, const void *data, size_t len)
{
	return E2B_ERROR;
}

int e2b_process_close_stdin(e2b_process *proc)
{
	return E2B_ERROR;
}

int e2b_process_kill(int *out_killed, e2b_process *proc)
{
	return E2B_ERROR;
}

void e2b_process_disconnect(e2b_process *proc)
{
}

void e2b_process_cancel(e2b_process *proc)
{
}

void e2b_process_free(e2b_process *proc)
{
}

int e2b_pty_start(e2b_process **out, e2b_sandbox *sb, const e2b_pty_options *opts)
{
	return E2B_ERROR;
}

int e2b_pty_send(e2b_sandbox *sb, uint32_t pid, const void *data, size_t len)
{
	return E2B_ERROR;
}

int e2b_pty_resize(e2b_sandbox *sb, uint32_t pid, unsigned cols, unsigned rows)
{
	return E2B_ERROR;
}

int e2b_global_init(void)
{
	return E2B_ERROR;
}

void e2b_global_shutdown(void)
{
}

const char * e2b_version(void)
{
	return NULL;
}

void e2b_free(void *ptr)
{
}

int e2b_config_from_env(e2b_config *cfg)
{
	return E2B_ERROR;
}

int e2b_client_new(e2b_client **out, const e2b_config *cfg)
{
	return E2B_ERROR;
}

void e2b_client_free(e2b_client *client)
{
}

const char * e2b_client_api_url(const e2b_client *client)
{
	return NULL;
}

int e2b_client_sandbox_url(char **out, const e2b_client *client, const char *sandbox_id, const char *api_domain)
{
	return E2B_ERROR;
}

const e2b_error * e2b_error_last(void)
{
	return NULL;
}

void e2b_error_clear(void)
{
}

const char * e2b_error_code_str(int code)
{
	return NULL;
}

void e2b_entry_info_free(e2b_entry_info *info)
{
}

void e2b_entry_list_free(e2b_entry_list *list)
{
}

const char * e2b_file_type_str(e2b_file_type type)
{
	return NULL;
}

int e2b_fs_list(e2b_entry_list **out, e2b_sandbox *sb, const char *path, unsigned depth)
{
	return E2B_ERROR;
}

int e2b_fs_exists(int *out, e2b_sandbox *sb, const char *path)
{
	return E2B_ERROR;
}

int e2b_fs_stat(e2b_entry_info **out, e2b_sandbox *sb, const char *path)
{
	return E2B_ERROR;
}

int e2b_fs_mkdir(int *out_created, e2b_sandbox *sb, const char *path)
{
	return E2B_ERROR;
}

int e2b_fs_rename(e2b_entry_info **out, e2b_sandbox *sb, const char *from, const char *to)
{
	return E2B_ERROR;
}

int e2b_fs_remove(e2b_sandbox *sb, const char *path)
{
	return E2B_ERROR;
}

int e2b_fs_read(char **out, size_t *out_len, e2b_sandbox *sb, const char *path, const e2b_read_options *opts)
{
	return E2B_ERROR;
}

int e2b_fs_read_range(size_t *out_len, e2b_sandbox *sb, const char *path, uint64_t offset, void *buf, size_t len, const e2b_read_options *opts)
{
	return E2B_ERROR;
}

int e2b_fs_read_stream(e2b_read_info *out_info, e2b_sandbox *sb, const char *path, const e2b_read_options *opts, e2b_data_cb cb, void *payload)
{
	return E2B_ERROR;
}

int e2b_fs_read_to_fd(e2b_read_info *out_info, e2b_sandbox *sb, const char *path, int fd, const e2b_read_options *opts)
{
	return E2B_ERROR;
}

void e2b_write_info_free(e2b_write_info *info)
{
}

int e2b_fs_write(e2b_write_info **out, e2b_sandbox *sb, const char *path, const void *data, size_t len, const e2b_write_options *opts)
{
	return E2B_ERROR;
}

int e2b_fs_write_fd(e2b_write_info **out, e2b_sandbox *sb, const char *path, int fd, const e2b_write_options *opts)
{
	return E2B_ERROR;
}

int e2b_fs_write_stream(e2b_write_info **out, e2b_sandbox *sb, const char *path, e2b_source_cb cb, void *payload, const e2b_write_options *opts)
{
	return E2B_ERROR;
}

int e2b_fs_compose(e2b_sandbox *sb, const char *const *sources, size_t count, const char *dest, const char *user)
{
	return E2B_ERROR;
}

int e2b_fs_watch(e2b_watch **out, e2b_sandbox *sb, const char *path, const e2b_watch_options *opts)
{
	return E2B_ERROR;
}

int e2b_watch_run(e2b_watch *w)
{
	return E2B_ERROR;
}

int e2b_watch_poll(e2b_watch *w, int timeout_ms, int fd)
{
	return E2B_ERROR;
}

void e2b_watch_cancel(e2b_watch *w)
{
}

void e2b_watch_free(e2b_watch *w)
{
}

int e2b_sandbox_create(e2b_sandbox **out, e2b_client *client, const e2b_sandbox_create_options *opts)
{
	return E2B_ERROR;
}

int e2b_sandbox_connect(e2b_sandbox **out, e2b_client *client, const char *sandbox_id, unsigned timeout_s)
{
	return E2B_ERROR;
}

int e2b_sandbox_open(e2b_sandbox **out, e2b_client *client, const char *sandbox_id, const e2b_sandbox_open_options *opts)
{
	return E2B_ERROR;
}

void e2b_sandbox_free(e2b_sandbox *sb)
{
}

int e2b_sandbox_close(e2b_sandbox *sb)
{
	return E2B_ERROR;
}

const char * e2b_sandbox_id(const e2b_sandbox *sb)
{
	return NULL;
}

const char * e2b_sandbox_template_id(const e2b_sandbox *sb)
{
	return NULL;
}

const char * e2b_sandbox_envd_version(const e2b_sandbox *sb)
{
	return NULL;
}

const char * e2b_sandbox_envd_url(const e2b_sandbox *sb)
{
	return NULL;
}

e2b_client * e2b_sandbox_client(const e2b_sandbox *sb)
{
	return NULL;
}

int e2b_sandbox_has_feature(const e2b_sandbox *sb, e2b_feature feature)
{
	return E2B_ERROR;
}

int e2b_sandbox_get_info(e2b_sandbox_info **out, e2b_sandbox *sb)
{
	return E2B_ERROR;
}

int e2b_sandbox_set_timeout(e2b_sandbox *sb, unsigned timeout_s)
{
	return E2B_ERROR;
}

int e2b_sandbox_pause(int *out_paused, e2b_sandbox *sb)
{
	return E2B_ERROR;
}

int e2b_sandbox_resume(e2b_sandbox *sb, unsigned timeout_s)
{
	return E2B_ERROR;
}

int e2b_sandbox_kill(int *out_killed, e2b_sandbox *sb)
{
	return E2B_ERROR;
}

int e2b_sandbox_health(e2b_sandbox *sb)
{
	return E2B_ERROR;
}

int e2b_sandbox_envd_metrics(e2b_envd_metrics *out, e2b_sandbox *sb)
{
	return E2B_ERROR;
}

int e2b_api_list(e2b_sandbox_list **out, e2b_client *client, const e2b_list_options *opts)
{
	return E2B_ERROR;
}

int e2b_api_get_info(e2b_sandbox_info **out, e2b_client *client, const char *sandbox_id)
{
	return E2B_ERROR;
}

int e2b_api_kill(int *out_killed, e2b_client *client, const char *sandbox_id)
{
	return E2B_ERROR;
}

int e2b_api_set_timeout(e2b_client *client, const char *sandbox_id, unsigned timeout_s)
{
	return E2B_ERROR;
}

int e2b_api_create(e2b_sandbox_info **out, e2b_client *client, const e2b_sandbox_create_options *opts)
{
	return E2B_ERROR;
}

int e2b_api_connect(e2b_sandbox_info **out, e2b_client *client, const char *sandbox_id, unsigned timeout_s)
{
	return E2B_ERROR;
}

int e2b_api_pause(int *out_paused, e2b_client *client, const char *sandbox_id)
{
	return E2B_ERROR;
}

int e2b_api_resume(e2b_sandbox_info **out, e2b_client *client, const char *sandbox_id, unsigned timeout_s)
{
	return E2B_ERROR;
}

int e2b_api_metrics(e2b_sandbox_metrics **out, e2b_client *client, const char *sandbox_id, int64_t start_unix, int64_t end_unix)
{
	return E2B_ERROR;
}

void e2b_sandbox_info_free(e2b_sandbox_info *info)
{
}

void e2b_sandbox_list_free(e2b_sandbox_list *list)
{
}

void e2b_sandbox_metrics_free(e2b_sandbox_metrics *metrics)
{
}

const char * e2b_sandbox_state_str(e2b_sandbox_state state)
{
	return NULL;
}
