/* SPDX-License-Identifier: MIT */
/*
 * Tolerant JSON field access for protojson and REST payloads.  The server
 * is treated as adversarial: every type is checked before use.
 */
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "json.h"
#include "util.h"

json_t *e2b__json_field(const json_t *obj, const char *key, const char *alt)
{
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	if ((!v || json_is_null(v)) && alt)
		v = json_object_get(obj, alt);
	if (v && json_is_null(v))
		v = NULL;
	return v;
}

const char *e2b__json_str(const json_t *obj, const char *key, const char *alt,
			  int *err)
{
	json_t *v = e2b__json_field(obj, key, alt);

	if (!v)
		return NULL;
	if (!json_is_string(v)) {
		if (err)
			*err = e2b__error_set(E2B_EPROTO,
					      "field '%s' is not a string", key);
		return NULL;
	}
	return json_string_value(v);
}

int e2b__json_i64(const json_t *obj, const char *key, const char *alt,
		  int64_t *out)
{
	json_t *v = e2b__json_field(obj, key, alt);
	double d;

	if (!v)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d) {
			*out = (int64_t)d;
			return 0;
		}
	}
	if (json_is_string(v) && !e2b__parse_i64(json_string_value(v), out))
		return 0;
	return e2b__error_set(E2B_EPROTO, "field '%s' is not an integer", key);
}

int e2b__json_u32(const json_t *obj, const char *key, const char *alt,
		  uint32_t *out)
{
	int64_t v = *out;
	int error = e2b__json_i64(obj, key, alt, &v);

	if (error < 0)
		return error;
	if (v < 0 || v > UINT32_MAX)
		return e2b__error_set(E2B_EPROTO, "field '%s' out of range", key);
	*out = (uint32_t)v;
	return 0;
}

int e2b__json_int(const json_t *obj, const char *key, const char *alt,
		  int *out)
{
	int64_t v = *out;
	int error = e2b__json_i64(obj, key, alt, &v);

	if (error < 0)
		return error;
	if (v < INT32_MIN || v > INT32_MAX)
		return e2b__error_set(E2B_EPROTO, "field '%s' out of range", key);
	*out = (int)v;
	return 0;
}

int e2b__json_bool(const json_t *obj, const char *key, const char *alt,
		   int *out)
{
	json_t *v = e2b__json_field(obj, key, alt);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return e2b__error_set(E2B_EPROTO, "field '%s' is not a boolean", key);
	*out = json_is_true(v);
	return 0;
}

int e2b__json_double(const json_t *obj, const char *key, const char *alt,
		     double *out)
{
	json_t *v = e2b__json_field(obj, key, alt);

	if (!v)
		return 0;
	if (!json_is_number(v))
		return e2b__error_set(E2B_EPROTO, "field '%s' is not a number", key);
	*out = json_number_value(v);
	return 0;
}

int e2b__json_enum(const json_t *obj, const char *key, const char *alt,
		   const char *const *names, int n, int *out)
{
	json_t *v = e2b__json_field(obj, key, alt);
	const char *s;
	int i;

	if (!v)
		return 0;
	if (json_is_integer(v)) {
		*out = (int)json_integer_value(v);
		if (json_integer_value(v) < 0 || json_integer_value(v) >= n)
			*out = 0;
		return 0;
	}
	if (!json_is_string(v))
		return e2b__error_set(E2B_EPROTO, "field '%s' is not an enum", key);
	s = json_string_value(v);
	/* Forward compatibility: an unknown name is the zero value. */
	*out = 0;
	for (i = 0; i < n; i++) {
		if (names[i] && !strcmp(names[i], s)) {
			*out = i;
			break;
		}
	}
	return 0;
}

json_t *e2b__json_load(const char *data, size_t len, size_t flags,
		       json_error_t *jerr, int *out_oom)
{
	unsigned long before = e2b__alloc_failures();
	json_t *j;

	j = json_loadb(data, len, flags, jerr);
	*out_oom = !j && (e2b__alloc_failures() != before ||
			  json_error_code(jerr) == json_error_out_of_memory);
	return j;
}

int e2b__json_parse_object(json_t **out, const char *data, size_t len)
{
	json_error_t jerr;
	json_t *j;
	int oom;

	*out = NULL;

	j = e2b__json_load(data, len, JSON_ALLOW_NUL, &jerr, &oom);
	if (oom)
		return e2b__error_oom();
	if (!j)
		return e2b__error_set(E2B_EPROTO, "invalid json: %s", jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return e2b__error_set(E2B_EPROTO, "expected a json object");
	}
	*out = j;
	return 0;
}

int e2b__json_dump(e2b_buf *out, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	int error;

	if (!s)
		return e2b__error_oom();
	error = e2b_buf_puts(out, s);
	/* json_dumps uses jansson's allocator, which is ours. */
	e2b__free(s);
	return error;
}

void e2b__kv_free(e2b_kv *kv, size_t count)
{
	size_t i;

	if (!kv)
		return;
	for (i = 0; i < count; i++) {
		e2b__free((char *)kv[i].key);
		e2b__free((char *)kv[i].value);
	}
	e2b__free(kv);
}

int e2b__kv_from_json(e2b_kv **out, size_t *out_count, const json_t *obj)
{
	const char *key;
	json_t *val;
	e2b_kv *kv;
	size_t n = 0;

	*out = NULL;
	*out_count = 0;
	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return e2b__error_set(E2B_EPROTO, "expected a json object of strings");
	if (!json_object_size(obj))
		return 0;
	kv = e2b__calloc(json_object_size(obj), sizeof(*kv));
	if (!kv)
		return e2b__error_oom();
	json_object_foreach((json_t *)obj, key, val) {
		if (!json_is_string(val))
			continue;
		kv[n].key = e2b__strdup(key);
		kv[n].value = e2b__strdup(json_string_value(val));
		if (!kv[n].key || !kv[n].value) {
			n++;
			e2b__kv_free(kv, n);
			return e2b__error_oom();
		}
		n++;
	}
	*out = kv;
	*out_count = n;
	return 0;
}

json_t *e2b__kv_to_json(const e2b_kv *kv, size_t count)
{
	unsigned long before = e2b__alloc_failures();
	json_t *obj = json_object();
	size_t i;

	if (!obj)
		goto oom;
	for (i = 0; i < count; i++) {
		if (!kv[i].key || !kv[i].value) {
			json_decref(obj);
			e2b__error_set(E2B_EINVALID, "key/value pair %zu has a NULL member", i);
			return NULL;
		}
		if (json_object_set_new(obj, kv[i].key, json_string(kv[i].value)) < 0) {
			json_decref(obj);
			if (e2b__alloc_failures() != before)
				goto oom;
			e2b__error_set(E2B_EINVALID, "'%s' is not valid utf-8", kv[i].key);
			return NULL;
		}
	}
	return obj;
oom:
	e2b__error_oom();
	return NULL;
}

int e2b__json_set_new(json_t *obj, const char *key, json_t *value)
{
	if (!value)
		return e2b__error_oom();
	if (json_object_set_new(obj, key, value) < 0)
		return e2b__error_set(E2B_ENOMEM, "cannot set json field '%s'", key);
	return 0;
}

int e2b__json_set_str(json_t *obj, const char *key, const char *value)
{
	unsigned long before = e2b__alloc_failures();
	json_t *s = json_string(value);

	/* NULL is either no memory or bad utf-8: the allocator knows which. */
	if (!s && value && e2b__alloc_failures() == before)
		return e2b__error_set(E2B_EINVALID, "'%s' is not valid utf-8", key);
	return e2b__json_set_new(obj, key, s);
}

int e2b__json_set_int(json_t *obj, const char *key, json_int_t value)
{
	return e2b__json_set_new(obj, key, json_integer(value));
}

int e2b__json_set_bool(json_t *obj, const char *key, int value)
{
	return e2b__json_set_new(obj, key, json_boolean(value));
}
