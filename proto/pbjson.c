/* SPDX-License-Identifier: MIT */
/*
 * protobuf-c messages <-> jansson values (proto3 JSON mapping); see
 * pbjson.h.  The walk is generic over protobuf-c's field descriptors:
 * label (none/optional/repeated), oneof case, type.  Maps are protobuf-c's
 * repeated *Entry messages; google.protobuf.Timestamp is a string.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "pbjson.h"
#include "rfc3339.h"
#include "process.pb-c.h"
#include "filesystem.pb-c.h"

#define TIMESTAMP_NAME "google.protobuf.Timestamp"

static int fail(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err && !err[0]) {
		va_start(ap, fmt);
		vsnprintf(err, PBJSON_ERR_MAX, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- names ---------------------------------------------------------- */

/* lowerCamel JSON name of a proto field name (protoc's ToJsonName). */
static void json_name(char *out, size_t cap, const char *name)
{
	size_t o = 0;
	int up = 0;

	for (; *name && o + 1 < cap; name++) {
		if (*name == '_') {
			up = 1;
			continue;
		}
		out[o++] = up && *name >= 'a' && *name <= 'z' ? (char)(*name - 'a' + 'A') : *name;
		up = 0;
	}
	out[o] = '\0';
}

static const ProtobufCFieldDescriptor *field_by_json_key(const ProtobufCMessageDescriptor *d,
							 const char *key)
{
	char jn[128];
	unsigned i;

	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (!strcmp(f->name, key))
			return f;
		json_name(jn, sizeof(jn), f->name);
		if (!strcmp(jn, key))
			return f;
	}
	return NULL;
}

static int is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t n = strlen(d->name);

	return n > 5 && !strcmp(d->name + n - 5, "Entry") && d->n_fields == 2 &&
	       !strcmp(d->fields[0].name, "key") && !strcmp(d->fields[1].name, "value");
}

static int is_timestamp(const ProtobufCMessageDescriptor *d)
{
	return !strcmp(d->name, TIMESTAMP_NAME);
}

/* ---- base64 (common/b64.c) ------------------------------------------ */

static json_t *b64_json(const uint8_t *in, size_t len)
{
	size_t cap = e2bu_b64_enclen(len), o;
	char *s;
	json_t *j;

	if (!cap && len)
		return NULL;
	s = malloc(cap + 1);
	if (!s)
		return NULL;
	o = e2bu_b64_encode(s, in, len);
	j = json_stringn_nocheck(s, o);
	free(s);
	return j;
}

/* Standard or URL-safe, padded or not (protojson's reader). */
static int b64_decode(ProtobufCBinaryData *out, const char *s, size_t len, char *err)
{
	size_t cap = e2bu_b64_declen(len), pos;
	ssize_t n;

	out->data = malloc(cap);
	if (!out->data)
		return fail(err, "out of memory");
	n = e2bu_b64_decode(out->data, cap, s, len, &pos);
	if (n < 0) {
		free(out->data);
		out->data = NULL;
		return fail(err, "illegal base64 data at input byte %zu", pos);
	}
	out->len = (size_t)n;
	return 0;
}

/* ---- Timestamp ------------------------------------------------------ */

static json_t *timestamp_json(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	int64_t secs = 0;
	int32_t nanos = 0;
	char buf[E2BU_RFC3339_MAX];
	unsigned i;

	for (i = 0; i < d->n_fields; i++) {
		const char *p = (const char *)m + d->fields[i].offset;

		if (d->fields[i].id == 1)
			memcpy(&secs, p, sizeof(secs));
		else if (d->fields[i].id == 2)
			memcpy(&nanos, p, sizeof(nanos));
	}
	if (e2bu_rfc3339_format(buf, sizeof(buf), secs, nanos, E2BU_RFC3339_SHORTEST) < 0)
		return NULL;
	return json_string(buf);
}

static int timestamp_parse(ProtobufCMessage *m, const char *s, char *err)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	int32_t nanos;
	int64_t secs;
	unsigned i;

	if (e2bu_rfc3339_parse(s, &secs, &nanos) < 0)
		return fail(err, "invalid google.protobuf.Timestamp value \"%s\"", s);
	for (i = 0; i < d->n_fields; i++) {
		char *q = (char *)m + d->fields[i].offset;

		if (d->fields[i].id == 1)
			memcpy(q, &secs, sizeof(secs));
		else if (d->fields[i].id == 2)
			memcpy(q, &nanos, sizeof(nanos));
	}
	return 0;
}

/* ---- message -> JSON ------------------------------------------------ */

static json_t *message_json(const ProtobufCMessage *m, char *err);

/* One value of @f stored at @p (an element, not a repeated array).
 * Long: one switch over protobuf's 15 field types, each a few lines; split,
 * the type-to-JSON mapping would be harder to follow. */
static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *p, char *err)
{
	char num[32];

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		snprintf(num, sizeof(num), "%" PRId64, *(const int64_t *)p);
		return json_string(num);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		snprintf(num, sizeof(num), "%" PRIu64, *(const uint64_t *)p);
		return json_string(num);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *v =
			protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)p);

		return v ? json_string(v->name) : json_integer(*(const int *)p);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		return json_string(s ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		return b64_json(b->data, b->len);
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;

		if (!sub)
			return json_object();
		if (is_timestamp(sub->descriptor))
			return timestamp_json(sub);
		return message_json(sub, err);
	}
	}
	fail(err, "field %s: unknown type %d", f->name, (int)f->type);
	return NULL;
}

static size_t type_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

/* Does a singular field without presence hold its default (omitted)? */
static int is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		return !s || !*s;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)p == NULL;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)p == 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)p == 0;
	default: {
		static const uint8_t zero[8];

		return !memcmp(p, zero, type_size(f));
	}
	}
}

static json_t *map_json(const ProtobufCFieldDescriptor *f, size_t n,
			ProtobufCMessage *const *entries, char *err)
{
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	json_t *obj = json_object();
	size_t i;

	if (!obj)
		return NULL;
	if (ed->fields[0].type != PROTOBUF_C_TYPE_STRING) {
		json_decref(obj);
		fail(err, "field %s: only string map keys are supported", f->name);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const char *e = (const char *)entries[i];
		const char *key = *(char *const *)(e + ed->fields[0].offset);
		json_t *v = value_json(&ed->fields[1], e + ed->fields[1].offset, err);

		if (!v || json_object_set_new(obj, key ? key : "", v) < 0) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

/* The @n values of repeated field @f at @arr: a JSON object for a map,
 * else an array; NULL on failure. */
static json_t *repeated_json(const ProtobufCFieldDescriptor *f, size_t n, const char *arr,
			     char *err)
{
	json_t *v;
	size_t k;

	if (f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor))
		return map_json(f, n, (ProtobufCMessage *const *)arr, err);
	v = json_array();
	for (k = 0; v && k < n; k++) {
		json_t *e = value_json(f, arr + k * type_size(f), err);

		if (!e || json_array_append_new(v, e) < 0) {
			json_decref(v);
			v = NULL;
		}
	}
	return v;
}

static json_t *message_json(const ProtobufCMessage *m, char *err)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *obj = json_object();
	char jn[128];
	unsigned i;

	if (!obj) {
		fail(err, "out of memory");
		return NULL;
	}
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *p = (const char *)m + f->offset;
		json_t *v = NULL;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);

			if (!n)
				continue;
			v = repeated_json(f, n, *(char *const *)p, err);
		} else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
				continue;
			v = value_json(f, p, err);
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
			   f->type != PROTOBUF_C_TYPE_STRING &&
			   f->type != PROTOBUF_C_TYPE_MESSAGE) {
			if (!*(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset))
				continue;
			v = value_json(f, p, err);
		} else {
			if (is_default(f, p))
				continue;
			v = value_json(f, p, err);
		}
		json_name(jn, sizeof(jn), f->name);
		if (!v || json_object_set_new(obj, jn, v) < 0) {
			json_decref(obj);
			fail(err, "field %s: out of memory", f->name);
			return NULL;
		}
	}
	return obj;
}

int pbjson_from_pb(json_t **out, const ProtobufCMessage *m, char *err)
{
	*out = message_json(m, err);
	return *out ? 0 : -1;
}

/* ---- JSON -> message ------------------------------------------------ */

static ProtobufCMessage *message_new(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = malloc(d->sizeof_message);

	if (m)
		protobuf_c_message_init(d, m);
	return m;
}

static int message_fill(ProtobufCMessage *m, const json_t *j, char *err);

static int int_value(const ProtobufCFieldDescriptor *f, const json_t *v, int64_t lo,
		     int64_t hi, int64_t *out, char *err)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
	} else if (json_is_real(v) && json_real_value(v) == (double)(int64_t)json_real_value(v)) {
		*out = (int64_t)json_real_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;

		errno = 0;
		*out = strtoll(s, &end, 10);
		if (!*s || *end || errno)
			return fail(err, "invalid value for %s field %s: \"%s\"",
				    "integer", f->name, s);
	} else {
		return fail(err, "invalid value for integer field %s", f->name);
	}
	if (*out < lo || *out > hi)
		return fail(err, "value out of range for field %s", f->name);
	return 0;
}

/* Store JSON @v (not null) as one value of @f at @p.
 * Long: one switch over protobuf's 15 field types, each a check and a
 * store; split, the JSON-to-type mapping would be harder to follow. */
static int value_set(const ProtobufCFieldDescriptor *f, void *p, const json_t *v, char *err)
{
	int64_t i64;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (int_value(f, v, INT32_MIN, INT32_MAX, &i64, err) < 0)
			return -1;
		*(int32_t *)p = (int32_t)i64;
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (int_value(f, v, 0, UINT32_MAX, &i64, err) < 0)
			return -1;
		*(uint32_t *)p = (uint32_t)i64;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (int_value(f, v, INT64_MIN, INT64_MAX, &i64, err) < 0)
			return -1;
		memcpy(p, &i64, 8);
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!json_is_number(v))
			return fail(err, "invalid value for number field %s", f->name);
		if (f->type == PROTOBUF_C_TYPE_FLOAT)
			*(float *)p = (float)json_number_value(v);
		else
			*(double *)p = json_number_value(v);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return fail(err, "invalid value for bool field %s", f->name);
		*(protobuf_c_boolean *)p = json_is_true(v);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		if (json_is_string(v)) {
			const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(
				f->descriptor, json_string_value(v));

			if (!ev)
				return fail(err, "invalid value for enum field %s: \"%s\"", f->name,
					    json_string_value(v));
			*(int *)p = ev->value;
			return 0;
		}
		if (int_value(f, v, INT32_MIN, INT32_MAX, &i64, err) < 0)
			return -1;
		*(int *)p = (int)i64;
		return 0;
	case PROTOBUF_C_TYPE_STRING: {
		char *s;

		if (!json_is_string(v))
			return fail(err, "invalid value for string field %s", f->name);
		s = malloc(json_string_length(v) + 1);
		if (!s)
			return fail(err, "out of memory");
		memcpy(s, json_string_value(v), json_string_length(v) + 1);
		*(char **)p = s;
		return 0;
	}
	case PROTOBUF_C_TYPE_BYTES:
		if (!json_is_string(v))
			return fail(err, "invalid value for bytes field %s", f->name);
		if (b64_decode(p, json_string_value(v), json_string_length(v), err) < 0) {
			char tmp[PBJSON_ERR_MAX];

			snprintf(tmp, sizeof(tmp), "invalid value for bytes field %s: %s",
				 f->name, err);
			memcpy(err, tmp, sizeof(tmp));
			return -1;
		}
		return 0;
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *sd = f->descriptor;
		ProtobufCMessage *sub = message_new(sd);

		if (!sub)
			return fail(err, "out of memory");
		*(ProtobufCMessage **)p = sub;	/* freed with the parent on error */
		if (is_timestamp(sd)) {
			if (!json_is_string(v))
				return fail(err, "invalid value for field %s: expected a timestamp",
					    f->name);
			return timestamp_parse(sub, json_string_value(v), err);
		}
		if (!json_is_object(v))
			return fail(err, "invalid value for message field %s", f->name);
		return message_fill(sub, v, err);
	}
	}
	return fail(err, "field %s: unknown type %d", f->name, (int)f->type);
}

/* A repeated field (or map) from a JSON array (or object). */
static int repeated_set(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
			const json_t *v, char *err)
{
	size_t *n = (size_t *)((char *)m + f->quantifier_offset);
	char **arr = (char **)((char *)m + f->offset);
	size_t count, sz = type_size(f);
	int map = f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor);

	if (map ? !json_is_object(v) : !json_is_array(v))
		return fail(err, "invalid value for %s field %s", map ? "map" : "list", f->name);
	count = map ? json_object_size(v) : json_array_size(v);
	if (!count)
		return 0;
	*arr = calloc(count, sz);
	if (!*arr)
		return fail(err, "out of memory");
	if (map) {
		const ProtobufCMessageDescriptor *ed = f->descriptor;
		const char *key;
		json_t *val;

		json_object_foreach((json_t *)v, key, val) {
			ProtobufCMessage *e = message_new(ed);
			json_t *k = json_string(key);
			int r;

			if (!e || !k) {
				free(e);
				json_decref(k);
				return fail(err, "out of memory");
			}
			((ProtobufCMessage **)*arr)[(*n)++] = e;
			r = value_set(&ed->fields[0], (char *)e + ed->fields[0].offset, k, err);
			json_decref(k);
			if (r < 0)
				return -1;
			if (!json_is_null(val) &&
			    value_set(&ed->fields[1], (char *)e + ed->fields[1].offset,
				      val, err) < 0)
				return -1;
		}
		return 0;
	}
	for (; *n < count; (*n)++) {
		json_t *e = json_array_get(v, *n);

		if (json_is_null(e))
			return fail(err, "invalid null in list field %s", f->name);
		if (value_set(f, *arr + *n * sz, e, err) < 0) {
			/* Count the element so that its parts are freed. */
			if (f->type == PROTOBUF_C_TYPE_MESSAGE ||
			    f->type == PROTOBUF_C_TYPE_STRING ||
			    f->type == PROTOBUF_C_TYPE_BYTES)
				(*n)++;
			return -1;
		}
	}
	return 0;
}

/* Make a singular field's storage empty; -1 if it was set already. */
static int field_clear(const ProtobufCFieldDescriptor *f, void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		if (*(char **)p && *(char **)p != f->default_value)
			return -1;
		*(char **)p = NULL;	/* the shared default must never be freed */
		return 0;
	case PROTOBUF_C_TYPE_BYTES:
		return ((ProtobufCBinaryData *)p)->data ? -1 : 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage **)p ? -1 : 0;
	default:
		return 0;
	}
}

static int message_fill(ProtobufCMessage *m, const json_t *j, char *err)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)j, key, v) {
		const ProtobufCFieldDescriptor *f = field_by_json_key(d, key);
		char *p;

		if (!f || json_is_null(v))
			continue;	/* unknown fields are ignored, null is the default */
		p = (char *)m + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			if (*(size_t *)((char *)m + f->quantifier_offset))
				return fail(err, "duplicate field %s", f->name);
			if (repeated_set(m, f, v, err) < 0)
				return -1;
			continue;
		}
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t *c = (uint32_t *)((char *)m + f->quantifier_offset);

			if (*c)
				return fail(err, "field %s: a oneof member is already set",
					    f->name);
			*c = f->id;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
			   f->type != PROTOBUF_C_TYPE_STRING &&
			   f->type != PROTOBUF_C_TYPE_MESSAGE) {
			*(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
		}
		if (field_clear(f, p) < 0)
			return fail(err, "duplicate field %s", f->name);
		if (value_set(f, p, v, err) < 0)
			return -1;
	}
	return 0;
}

int pbjson_to_pb(ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
		 const json_t *j, char *err)
{
	ProtobufCMessage *m;

	*out = NULL;
	if (!json_is_object(j))
		return fail(err, "expected a JSON object");
	m = message_new(d);
	if (!m)
		return fail(err, "out of memory");
	if (message_fill(m, j, err) < 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return -1;
	}
	*out = m;
	return 0;
}

int pbjson_decode(json_t **out, const ProtobufCMessageDescriptor *d,
		  const void *data, size_t len, char *err)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, data);
	int r;

	*out = NULL;
	if (!m)
		return fail(err, "unmarshal message: invalid %s protobuf", d->name);
	r = pbjson_from_pb(out, m, err);
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

int pbjson_encode(uint8_t **out, size_t *out_len,
		  const ProtobufCMessageDescriptor *d, const json_t *j,
		  size_t head, char *err)
{
	ProtobufCMessage *m;
	size_t n;

	*out = NULL;
	*out_len = 0;
	if (pbjson_to_pb(&m, d, j, err) < 0)
		return -1;
	n = protobuf_c_message_get_packed_size(m);
	*out = malloc(head + n + 1);
	if (!*out) {
		protobuf_c_message_free_unpacked(m, NULL);
		return fail(err, "out of memory");
	}
	*out_len = protobuf_c_message_pack(m, *out + head);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

json_t *pbjson_bytes(const void *data, size_t len)
{
	return b64_json(data, len);
}

int pbjson_bytes_decode(ProtobufCBinaryData *out, const char *s, size_t len, char *err)
{
	out->data = NULL;
	out->len = 0;
	return b64_decode(out, s, len, err);
}

/* ---- procedures ----------------------------------------------------- */

int pbjson_method(const char *path, const ProtobufCMessageDescriptor **in,
		  const ProtobufCMessageDescriptor **out)
{
	static const ProtobufCServiceDescriptor *const services[] = {
		&process__process__descriptor,
		&filesystem__filesystem__descriptor,
	};
	const ProtobufCMethodDescriptor *md;
	const char *slash;
	size_t i, n;

	if (*path == '/')
		path++;
	slash = strchr(path, '/');
	if (!slash)
		return -1;
	n = (size_t)(slash - path);
	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		const ProtobufCServiceDescriptor *s = services[i];

		if (strlen(s->name) != n || strncmp(s->name, path, n))
			continue;
		md = protobuf_c_service_descriptor_get_method_by_name(s, slash + 1);
		if (!md)
			return -1;
		*in = md->input;
		*out = md->output;
		return 0;
	}
	return -1;
}

/* ---- process output, directly --------------------------------------- */

/* Read a varint at *p (< end); 0 on success. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	int shift;

	for (shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

/* A length-delimited field @tag spanning the rest of [*p, end): its body. */
static int only_field(const uint8_t **p, const uint8_t *end, uint64_t tag)
{
	uint64_t t, len;

	if (varint(p, end, &t) < 0 || t != tag || varint(p, end, &len) < 0)
		return -1;
	return len == (uint64_t)(end - *p) ? 0 : -1;
}

/*
 * {@outer: {2: {1..@members: bytes}}} spanning all of [data, data+len):
 * the member and its bytes in place.  1, or 0 for any other shape.
 */
static int peek_bytes(const uint8_t *data, size_t len, uint64_t outer, uint64_t members,
		      int *which, const uint8_t **out, size_t *out_len)
{
	const uint8_t *p = data, *end = data + len;
	uint64_t t, n;

	if (only_field(&p, end, (outer << 3) | 2) < 0 || only_field(&p, end, (2 << 3) | 2) < 0)
		return 0;
	if (varint(&p, end, &t) < 0 || (t & 7) != 2 || (t >> 3) < 1 || (t >> 3) > members ||
	    varint(&p, end, &n) < 0 || n != (uint64_t)(end - p))
		return 0;
	*which = (int)(t >> 3);
	*out = p;
	*out_len = (size_t)n;
	return 1;
}

int pbjson_peek_output(const uint8_t *data, size_t len, int *which,
		       const uint8_t **out, size_t *out_len)
{
	/* {event(1): {data(2): {stdout(1)|stderr(2)|pty(3): bytes}}} */
	return peek_bytes(data, len, 1, 3, which, out, out_len);
}

int pbjson_peek_input(const uint8_t *data, size_t len, int *which,
		      const uint8_t **out, size_t *out_len)
{
	/* {data(2): {input(2): {stdin(1)|pty(2): bytes}}} */
	return peek_bytes(data, len, 2, 2, which, out, out_len);
}

static size_t put_varint(uint8_t *buf, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		buf[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	buf[n++] = (uint8_t)v;
	return n;
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

size_t pbjson_output_prefix(uint8_t *buf, int which, size_t len)
{
	size_t data_len = 1 + varint_len(len) + len;		/* DataEvent */
	size_t event_len = 1 + varint_len(data_len) + data_len;	/* ProcessEvent */
	size_t o = 0;

	buf[o++] = (1 << 3) | 2;
	o += put_varint(buf + o, event_len);
	buf[o++] = (2 << 3) | 2;
	o += put_varint(buf + o, data_len);
	buf[o++] = (uint8_t)(((unsigned)which << 3) | 2);
	o += put_varint(buf + o, len);
	return o;
}
