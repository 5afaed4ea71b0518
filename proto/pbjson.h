/* SPDX-License-Identifier: MIT */
/*
 * Between protobuf-c messages and jansson values, driven by protobuf-c's
 * descriptors: the proto3 JSON mapping as connect-go's protojson writes it
 * (lowerCamel names, defaults omitted, int64 as strings, bytes as padded
 * base64, enums as names, Timestamp as RFC 3339, maps as objects) and
 * reads it (snake_case names too, numbers or strings for integers, enum
 * names or numbers, any base64 flavour, null = default, unknown fields
 * ignored).  Used by libe2b and e2bd for the binary Connect codec
 * (application/proto, application/connect+proto) so that both keep their
 * json_t handlers; the hot messages (process output, input) have direct
 * paths of their own.
 *
 * Allocations use malloc; messages from pbjson_to_pb() are freed with
 * protobuf_c_message_free_unpacked(m, NULL).  Errors are one line in @err.
 */
#ifndef E2B_PBJSON_H
#define E2B_PBJSON_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#define PBJSON_ERR_MAX 256

/* @m as a new JSON object in *out.  0, or -1 with @err set. */
int pbjson_from_pb(json_t **out, const ProtobufCMessage *m, char *err);

/* @j (an object) as a new message of type @d in *out.  0 or -1. */
int pbjson_to_pb(ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
		 const json_t *j, char *err);

/* Unpack @len bytes as a @d message and render it as JSON.  0 or -1. */
int pbjson_decode(json_t **out, const ProtobufCMessageDescriptor *d,
		  const void *data, size_t len, char *err);

/*
 * Pack @j as a @d message into a new malloc'd buffer that starts with
 * @head spare bytes (room for an envelope header): *out_len counts the
 * message bytes only.  0 or -1.
 */
int pbjson_encode(uint8_t **out, size_t *out_len,
		  const ProtobufCMessageDescriptor *d, const json_t *j,
		  size_t head, char *err);

/* @len bytes as a JSON string in padded standard base64 (NULL: no memory). */
json_t *pbjson_bytes(const void *data, size_t len);

/*
 * Decode @len bytes of base64 (standard or URL-safe, padded or not) into
 * out->data (malloc'd, free()) and out->len.  0, or -1 with @err set.
 */
int pbjson_bytes_decode(ProtobufCBinaryData *out, const char *s, size_t len,
			char *err);

/*
 * The input and output message types of an envd procedure,
 * "/process.Process/Start" or "process.Process/Start".  0, or -1 when
 * the procedure is not one of envd's.
 */
int pbjson_method(const char *path, const ProtobufCMessageDescriptor **in,
		  const ProtobufCMessageDescriptor **out);

/*
 * The hot path of process output: if @data is a StartResponse or
 * ConnectResponse holding exactly one DataEvent, return 1 with *which
 * (1 stdout, 2 stderr, 3 pty) and the bytes in place (*out, *out_len
 * point into @data).  0 for any other message (decode it generically).
 */
int pbjson_peek_output(const uint8_t *data, size_t len, int *which,
		       const uint8_t **out, size_t *out_len);

/*
 * The hot path of process input: if @data is a StreamInputRequest whose
 * event is a DataEvent with exactly one ProcessInput member, return 1
 * with *which (1 stdin, 2 pty) and the bytes in place.  0 otherwise.
 */
int pbjson_peek_input(const uint8_t *data, size_t len, int *which,
		      const uint8_t **out, size_t *out_len);

/*
 * The prefix of a StartResponse/ConnectResponse whose event is a
 * DataEvent of @len bytes in member @which (1..3): writes up to
 * PBJSON_OUTPUT_PREFIX_MAX bytes to @buf and returns how many; the
 * message is that prefix followed by the bytes.
 */
#define PBJSON_OUTPUT_PREFIX_MAX 18
size_t pbjson_output_prefix(uint8_t *buf, int which, size_t len);

#endif
