/* SPDX-License-Identifier: MIT */
/*
 * Decoders from protojson / REST JSON into the public result structs.
 * Absent fields keep their zero value (proto3 omits defaults); unknown
 * fields are ignored; wrong types are protocol errors.
 */
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "json.h"
#include "model.h"
#include "util.h"

/* Duplicate a string field ("" when absent). */
static int dup_field(const char **dst, const json_t *j, const char *key,
		     const char *alt)
{
	int err = 0;
	const char *s = e2b__json_str(j, key, alt, &err);

	if (err < 0)
		return err;
	*dst = e2b__strdup0(s);
	if (!*dst)
		return e2b__error_oom();
	return 0;
}

static int time_field_ms(int64_t *out, const json_t *j, const char *key)
{
	json_t *v = e2b__json_field(j, key, NULL);
	int64_t sec;
	int32_t nsec;

	*out = 0;
	if (!v)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v) * 1000;
		return 0;
	}
	if (!json_is_string(v))
		return e2b__error_set(E2B_EPROTO, "field '%s' is not a timestamp", key);
	/* OpenKruise may send "<unknown>"; treat unparsable as unknown. */
	if (e2b__parse_rfc3339(json_string_value(v), &sec, &nsec) < 0) {
		e2b_error_clear();
		return 0;
	}
	*out = sec * 1000 + nsec / 1000000;
	return 0;
}

void e2b__sandbox_info_release(e2b_sandbox_info *info)
{
	if (!info)
		return;
	e2b__free((char *)info->sandbox_id);
	e2b__free((char *)info->template_id);
	e2b__free((char *)info->alias);
	e2b__free((char *)info->client_id);
	e2b__free((char *)info->envd_version);
	e2b__free((char *)info->envd_access_token);
	e2b__free((char *)info->traffic_access_token);
	e2b__free((char *)info->domain);
	e2b__kv_free((e2b_kv *)info->metadata, info->metadata_count);
	memset(info, 0, sizeof(*info));
}

/* The string fields of sandbox @j into @out. */
static int info_strings(e2b_sandbox_info *out, const json_t *j)
{
	int error;

	error = dup_field(&out->sandbox_id, j, "sandboxID", "sandboxId");
	if (!error)
		error = dup_field(&out->template_id, j, "templateID", "templateId");
	if (!error)
		error = dup_field(&out->alias, j, "alias", NULL);
	if (!error)
		error = dup_field(&out->client_id, j, "clientID", NULL);
	if (!error)
		error = dup_field(&out->envd_version, j, "envdVersion", NULL);
	if (!error)
		error = dup_field(&out->envd_access_token, j, "envdAccessToken", NULL);
	if (!error)
		error = dup_field(&out->traffic_access_token, j, "trafficAccessToken", NULL);
	if (!error)
		error = dup_field(&out->domain, j, "domain", NULL);
	return error;
}

/* The times and sizes of sandbox @j into @out. */
static int info_numbers(e2b_sandbox_info *out, const json_t *j)
{
	int error;

	error = time_field_ms(&out->started_at_ms, j, "startedAt");
	if (!error)
		error = time_field_ms(&out->end_at_ms, j, "endAt");
	if (!error)
		error = e2b__json_int(j, "cpuCount", NULL, &out->cpu_count);
	if (!error)
		error = e2b__json_int(j, "memoryMB", NULL, &out->memory_mb);
	if (!error)
		error = e2b__json_int(j, "diskSizeMB", NULL, &out->disk_size_mb);
	return error;
}

int e2b__sandbox_info_from_json(e2b_sandbox_info *out, const json_t *j)
{
	const char *state;
	e2b_kv *md = NULL;
	size_t mdn = 0;
	int error = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j))
		return e2b__error_set(E2B_EPROTO, "sandbox is not a json object");
	error = info_strings(out, j);
	if (error < 0)
		goto out;
	error = info_numbers(out, j);
	if (error < 0)
		goto out;
	state = e2b__json_str(j, "state", NULL, &error);
	if (error < 0)
		goto out;
	if (state && !strcmp(state, "running"))
		out->state = E2B_SANDBOX_STATE_RUNNING;
	else if (state && !strcmp(state, "paused"))
		out->state = E2B_SANDBOX_STATE_PAUSED;
	error = e2b__kv_from_json(&md, &mdn, e2b__json_field(j, "metadata", NULL));
	if (error < 0)
		goto out;
	out->metadata = md;
	out->metadata_count = mdn;
	if (!*out->sandbox_id)
		error = e2b__error_set(E2B_EPROTO, "sandbox has no sandboxID");
out:
	if (error < 0)
		e2b__sandbox_info_release(out);
	return error;
}

int e2b__sandbox_list_from_json(e2b_sandbox_list *out, const json_t *arr)
{
	size_t i, n;
	int error = 0;

	out->items = NULL;
	out->count = 0;
	if (!json_is_array(arr))
		return e2b__error_set(E2B_EPROTO, "sandbox list is not a json array");
	n = json_array_size(arr);
	out->items = e2b__calloc(n ? n : 1, sizeof(*out->items));
	if (!out->items)
		return e2b__error_oom();
	for (i = 0; i < n; i++) {
		error = e2b__sandbox_info_from_json(&out->items[i], json_array_get(arr, i));
		if (error < 0)
			break;
		out->count++;
	}
	if (error < 0) {
		for (i = 0; i < out->count; i++)
			e2b__sandbox_info_release(&out->items[i]);
		e2b__free(out->items);
		out->items = NULL;
		out->count = 0;
	}
	return error;
}

static const char *const file_types[] = {
	"FILE_TYPE_UNSPECIFIED", "FILE_TYPE_FILE", "FILE_TYPE_DIRECTORY",
	"FILE_TYPE_SYMLINK",
};

void e2b__entry_release(e2b_entry_info *e)
{
	if (!e)
		return;
	e2b__free((char *)e->name);
	e2b__free((char *)e->path);
	e2b__free((char *)e->permissions);
	e2b__free((char *)e->owner);
	e2b__free((char *)e->group);
	e2b__free((char *)e->symlink_target);
	e2b__kv_free((e2b_kv *)e->metadata, e->metadata_count);
	memset(e, 0, sizeof(*e));
}

/*
 * The same from envd's binary message (the protobuf codec): no detour
 * through JSON, which costs most of a 10,000-entry ListDir's CPU.
 */
int e2b__entry_from_pb(e2b_entry_info *out, const Filesystem__EntryInfo *m)
{
	e2b_kv *md = NULL;
	size_t i;
	int error = 0;

	memset(out, 0, sizeof(*out));
	if ((unsigned)m->type > FILESYSTEM__FILE_TYPE__FILE_TYPE_SYMLINK)
		return e2b__error_set(E2B_EPROTO, "unknown file type %d", (int)m->type);
	if (m->size < 0)
		return e2b__error_set(E2B_EPROTO, "negative size");
	out->name = e2b__strdup0(m->name);
	out->path = e2b__strdup0(m->path);
	out->permissions = e2b__strdup0(m->permissions);
	out->owner = e2b__strdup0(m->owner);
	out->group = e2b__strdup0(m->group);
	out->symlink_target = e2b__strdup0(m->_symlink_target_case ==
					   FILESYSTEM__ENTRY_INFO___SYMLINK_TARGET_SYMLINK_TARGET ?
					   m->symlink_target : NULL);
	if (!out->name || !out->path || !out->permissions || !out->owner || !out->group ||
	    !out->symlink_target) {
		error = e2b__error_oom();
		goto out;
	}
	out->type = (e2b_file_type)m->type;
	out->size = (uint64_t)m->size;
	out->mode = m->mode & 07777;
	out->is_symlink = out->permissions[0] == 'L' || out->type == E2B_FILE_TYPE_SYMLINK;
	if (m->modified_time) {
		if (m->modified_time->nanos < 0 || m->modified_time->nanos > 999999999) {
			error = e2b__error_set(E2B_EPROTO, "bad modified time");
			goto out;
		}
		out->mtime_sec = m->modified_time->seconds;
		out->mtime_nsec = m->modified_time->nanos;
	}
	if (m->n_metadata) {
		md = e2b__calloc(m->n_metadata, sizeof(*md));
		if (!md) {
			error = e2b__error_oom();
			goto out;
		}
		out->metadata = md;
		for (i = 0; i < m->n_metadata; i++) {
			md[i].key = e2b__strdup0(m->metadata[i]->key);
			md[i].value = e2b__strdup0(m->metadata[i]->value);
			out->metadata_count = i + 1;
			if (!md[i].key || !md[i].value) {
				error = e2b__error_oom();
				goto out;
			}
		}
	}
out:
	if (error < 0)
		e2b__entry_release(out);
	return error;
}

/* A list decoder failed: drop what it made, pass @error on. */
static int entry_list_fail(e2b_entry_list *out, int error)
{
	size_t i;

	for (i = 0; i < out->count; i++)
		e2b__entry_release(&out->items[i]);
	e2b__free(out->items);
	out->items = NULL;
	out->count = 0;
	return error;
}

int e2b__entry_list_from_pb(e2b_entry_list *out, const Filesystem__ListDirResponse *m)
{
	size_t i;
	int error = 0;

	out->items = e2b__calloc(m->n_entries ? m->n_entries : 1, sizeof(*out->items));
	out->count = 0;
	if (!out->items)
		return e2b__error_oom();
	for (i = 0; i < m->n_entries; i++) {
		error = e2b__entry_from_pb(&out->items[i], m->entries[i]);
		if (error < 0)
			break;
		out->count++;
	}
	return error < 0 ? entry_list_fail(out, error) : 0;
}

int e2b__entry_from_json(e2b_entry_info *out, const json_t *j)
{
	int64_t size = 0;
	int type = 0;
	const char *mt;
	e2b_kv *md = NULL;
	size_t mdn = 0;
	int error = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j))
		return e2b__error_set(E2B_EPROTO, "entry is not a json object");
	error = dup_field(&out->name, j, "name", NULL);
	if (!error)
		error = dup_field(&out->path, j, "path", NULL);
	if (!error)
		error = dup_field(&out->permissions, j, "permissions", NULL);
	if (!error)
		error = dup_field(&out->owner, j, "owner", NULL);
	if (!error)
		error = dup_field(&out->group, j, "group", NULL);
	if (!error)
		error = dup_field(&out->symlink_target, j, "symlinkTarget", "symlink_target");
	if (error < 0)
		goto out;
	error = e2b__json_enum(j, "type", NULL, file_types, 4, &type);
	if (!error)
		error = e2b__json_i64(j, "size", NULL, &size);
	if (!error)
		error = e2b__json_u32(j, "mode", NULL, &out->mode);
	if (error < 0)
		goto out;
	if (size < 0) {
		error = e2b__error_set(E2B_EPROTO, "negative size");
		goto out;
	}
	out->type = (e2b_file_type)type;
	out->size = (uint64_t)size;
	out->mode &= 07777;
	out->is_symlink = out->permissions[0] == 'L' || out->type == E2B_FILE_TYPE_SYMLINK;
	mt = e2b__json_str(j, "modifiedTime", "modified_time", &error);
	if (error < 0)
		goto out;
	if (mt && e2b__parse_rfc3339(mt, &out->mtime_sec, &out->mtime_nsec) < 0) {
		error = E2B_EPROTO;
		goto out;
	}
	error = e2b__kv_from_json(&md, &mdn, e2b__json_field(j, "metadata", NULL));
	if (error < 0)
		goto out;
	out->metadata = md;
	out->metadata_count = mdn;
out:
	if (error < 0)
		e2b__entry_release(out);
	return error;
}

int e2b__entry_list_from_json(e2b_entry_list *out, const json_t *arr)
{
	size_t i, n;
	int error = 0;

	out->items = NULL;
	out->count = 0;
	if (arr && !json_is_array(arr))
		return e2b__error_set(E2B_EPROTO, "entries is not a json array");
	n = arr ? json_array_size(arr) : 0;
	out->items = e2b__calloc(n ? n : 1, sizeof(*out->items));
	if (!out->items)
		return e2b__error_oom();
	for (i = 0; i < n; i++) {
		error = e2b__entry_from_json(&out->items[i], json_array_get(arr, i));
		if (error < 0)
			break;
		out->count++;
	}
	return error < 0 ? entry_list_fail(out, error) : 0;
}

void e2b__process_info_release(e2b_process_info *p)
{
	size_t i;

	if (!p)
		return;
	e2b__free((char *)p->tag);
	e2b__free((char *)p->cmd);
	e2b__free((char *)p->cwd);
	if (p->args) {
		for (i = 0; i < p->args_count; i++)
			e2b__free((char *)p->args[i]);
		e2b__free((char **)p->args);
	}
	e2b__kv_free((e2b_kv *)p->envs, p->envs_count);
	memset(p, 0, sizeof(*p));
}

int e2b__process_info_from_json(e2b_process_info *out, const json_t *j)
{
	json_t *cfg, *args;
	const char **av = NULL;
	e2b_kv *envs = NULL;
	size_t i, n = 0, envn = 0;
	int error = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j))
		return e2b__error_set(E2B_EPROTO, "process is not a json object");
	cfg = e2b__json_field(j, "config", NULL);
	if (cfg && !json_is_object(cfg))
		return e2b__error_set(E2B_EPROTO, "process config is not an object");
	error = e2b__json_u32(j, "pid", NULL, &out->pid);
	if (!error)
		error = dup_field(&out->tag, j, "tag", NULL);
	if (!error)
		error = dup_field(&out->cmd, cfg, "cmd", NULL);
	if (!error)
		error = dup_field(&out->cwd, cfg, "cwd", NULL);
	if (error < 0)
		goto out;
	args = e2b__json_field(cfg, "args", NULL);
	if (args && !json_is_array(args)) {
		error = e2b__error_set(E2B_EPROTO, "process args is not an array");
		goto out;
	}
	n = args ? json_array_size(args) : 0;
	av = e2b__calloc(n + 1, sizeof(*av));
	if (!av) {
		error = e2b__error_oom();
		goto out;
	}
	out->args = av;
	for (i = 0; i < n; i++) {
		json_t *a = json_array_get(args, i);

		if (!json_is_string(a)) {
			error = e2b__error_set(E2B_EPROTO, "process arg is not a string");
			goto out;
		}
		av[i] = e2b__strdup(json_string_value(a));
		if (!av[i]) {
			error = e2b__error_oom();
			goto out;
		}
		out->args_count++;
	}
	error = e2b__kv_from_json(&envs, &envn, e2b__json_field(cfg, "envs", NULL));
	if (error < 0)
		goto out;
	out->envs = envs;
	out->envs_count = envn;
out:
	if (error < 0)
		e2b__process_info_release(out);
	return error;
}

int e2b__metric_from_json(e2b_sandbox_metric *out, const json_t *j)
{
	int error;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j))
		return e2b__error_set(E2B_EPROTO, "metric is not a json object");
	error = e2b__json_i64(j, "timestampUnix", NULL, &out->timestamp_unix);
	if (!error)
		error = e2b__json_int(j, "cpuCount", NULL, &out->cpu_count);
	if (!error)
		error = e2b__json_double(j, "cpuUsedPct", NULL, &out->cpu_used_pct);
	if (!error)
		error = e2b__json_i64(j, "memUsed", NULL, &out->mem_used);
	if (!error)
		error = e2b__json_i64(j, "memTotal", NULL, &out->mem_total);
	if (!error)
		error = e2b__json_i64(j, "memCache", NULL, &out->mem_cache);
	if (!error)
		error = e2b__json_i64(j, "diskUsed", NULL, &out->disk_used);
	if (!error)
		error = e2b__json_i64(j, "diskTotal", NULL, &out->disk_total);
	if (error < 0)
		return error;
	if (!out->timestamp_unix) {
		int64_t ms = 0;

		error = time_field_ms(&ms, j, "timestamp");
		out->timestamp_unix = ms / 1000;
	}
	return error;
}

int e2b__envd_metrics_from_json(e2b_envd_metrics *out, const json_t *j)
{
	int error;

	memset(out, 0, sizeof(*out));
	error = e2b__json_i64(j, "ts", NULL, &out->ts);
	if (!error)
		error = e2b__json_int(j, "cpu_count", "cpuCount", &out->cpu_count);
	if (!error)
		error = e2b__json_double(j, "cpu_used_pct", "cpuUsedPct", &out->cpu_used_pct);
	if (!error)
		error = e2b__json_i64(j, "mem_total", "memTotal", &out->mem_total);
	if (!error)
		error = e2b__json_i64(j, "mem_used", "memUsed", &out->mem_used);
	if (!error)
		error = e2b__json_i64(j, "mem_cache", "memCache", &out->mem_cache);
	if (!error)
		error = e2b__json_i64(j, "disk_used", "diskUsed", &out->disk_used);
	if (!error)
		error = e2b__json_i64(j, "disk_total", "diskTotal", &out->disk_total);
	if (error < 0)
		return error;
	return 0;
}

void e2b__write_info_release(e2b_write_info *w)
{
	if (!w)
		return;
	e2b__free((char *)w->path);
	e2b__free((char *)w->name);
	if (w->entry) {
		e2b__entry_release((e2b_entry_info *)w->entry);
		e2b__free((e2b_entry_info *)w->entry);
	}
	memset(w, 0, sizeof(*w));
}

int e2b__write_info_from_json(e2b_write_info *out, const json_t *j)
{
	const char *type;
	int error = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j))
		return e2b__error_set(E2B_EPROTO, "write info is not a json object");
	error = dup_field(&out->path, j, "path", NULL);
	if (!error)
		error = dup_field(&out->name, j, "name", NULL);
	if (error < 0)
		goto out;
	type = e2b__json_str(j, "type", NULL, &error);
	if (error < 0)
		goto out;
	if (type && !strcmp(type, "file"))
		out->type = E2B_FILE_TYPE_FILE;
	else if (type && (!strcmp(type, "dir") || !strcmp(type, "directory")))
		out->type = E2B_FILE_TYPE_DIR;
out:
	if (error < 0)
		e2b__write_info_release(out);
	return error;
}
