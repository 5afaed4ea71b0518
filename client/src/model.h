/* SPDX-License-Identifier: MIT */
/*
 * JSON -> public struct decoders (management API and envd messages) and
 * the matching release functions.  Pure: no I/O, fuzzed and unit-tested.
 */
#ifndef E2B_MODEL_H
#define E2B_MODEL_H

#include <jansson.h>

#include <e2b/sandbox.h>
#include <e2b/commands.h>
#include <e2b/fs.h>

#include "filesystem.pb-c.h"

int e2b__sandbox_info_from_json(e2b_sandbox_info *out, const json_t *j);
void e2b__sandbox_info_release(e2b_sandbox_info *info);
int e2b__sandbox_list_from_json(e2b_sandbox_list *out, const json_t *arr);

int e2b__entry_from_json(e2b_entry_info *out, const json_t *j);
/* The same from envd's protobuf messages. */
int e2b__entry_from_pb(e2b_entry_info *out, const Filesystem__EntryInfo *m);
int e2b__entry_list_from_pb(e2b_entry_list *out, const Filesystem__ListDirResponse *m);
void e2b__entry_release(e2b_entry_info *e);
int e2b__entry_list_from_json(e2b_entry_list *out, const json_t *arr);

int e2b__process_info_from_json(e2b_process_info *out, const json_t *j);
void e2b__process_info_release(e2b_process_info *p);

int e2b__metric_from_json(e2b_sandbox_metric *out, const json_t *j);
int e2b__envd_metrics_from_json(e2b_envd_metrics *out, const json_t *j);

int e2b__write_info_from_json(e2b_write_info *out, const json_t *j);
void e2b__write_info_release(e2b_write_info *w);

#endif
