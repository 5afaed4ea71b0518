/* SPDX-License-Identifier: MIT */
/*
 * jansson helpers implementing the proto3 JSON rules we depend on:
 * lowerCamel or snake_case keys, int64 as number or string, enums as name
 * or number, null = default.  All getters return borrowed values.
 */
#ifndef E2B_JSON_H
#define E2B_JSON_H

#include <stdint.h>
#include <jansson.h>

#include <e2b/common.h>
#include "buf.h"

/* obj[key] or obj[alt]; NULL if absent or JSON null. Borrowed. */
json_t *e2b__json_field(const json_t *obj, const char *key, const char *alt);
/* String field or NULL (absent/null); E2B_EPROTO via *err if wrong type. */
const char *e2b__json_str(const json_t *obj, const char *key, const char *alt,
			  int *err);
/* Integer field, number or decimal string.  Absent leaves *out.  0 or E2B_EPROTO. */
int e2b__json_i64(const json_t *obj, const char *key, const char *alt,
		  int64_t *out);
int e2b__json_u32(const json_t *obj, const char *key, const char *alt,
		  uint32_t *out);
int e2b__json_int(const json_t *obj, const char *key, const char *alt,
		  int *out);
int e2b__json_bool(const json_t *obj, const char *key, const char *alt,
		   int *out);
int e2b__json_double(const json_t *obj, const char *key, const char *alt,
		     double *out);
/* Enum by name (from names[0..n)) or number; unknown names give 0. */
int e2b__json_enum(const json_t *obj, const char *key, const char *alt,
		   const char *const *names, int n, int *out);

/*
 * json_loadb() that also tells whether a failure was for lack of memory
 * (*out_oom): jansson reports an allocation failure in its lexer as a
 * syntax error, so the allocator's per-thread failure count decides.
 */
json_t *e2b__json_load(const char *data, size_t len, size_t flags,
		       json_error_t *jerr, int *out_oom);

/* Parse a JSON object; E2B_EPROTO with a message if not an object. */
int e2b__json_parse_object(json_t **out, const char *data, size_t len);
/* Compact serialisation into @out (appended). */
int e2b__json_dump(e2b_buf *out, const json_t *j);

/* {string:string} <-> e2b_kv arrays.  Output strings owned by the array. */
int e2b__kv_from_json(e2b_kv **out, size_t *out_count, const json_t *obj);
void e2b__kv_free(e2b_kv *kv, size_t count);
/* New reference, or NULL (error set). */
json_t *e2b__kv_to_json(const e2b_kv *kv, size_t count);

/* Set obj[key] = json_string(value) etc., E2B_ENOMEM on failure. */
int e2b__json_set_str(json_t *obj, const char *key, const char *value);
int e2b__json_set_int(json_t *obj, const char *key, json_int_t value);
int e2b__json_set_bool(json_t *obj, const char *key, int value);
int e2b__json_set_new(json_t *obj, const char *key, json_t *value);

#endif
