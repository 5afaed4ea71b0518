/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: every JSON -> struct decoder and the error decoder on
 * the same input, and the traffic JWT claim reader on it as a token.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errdecode.h"
#include "error.h"
#include "model.h"
#include "traffic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	e2b_sandbox_info si;
	e2b_sandbox_list sl;
	e2b_entry_info ei;
	e2b_entry_list el;
	e2b_process_info pi;
	e2b_sandbox_metric m;
	e2b_envd_metrics em;
	e2b_write_info wi;
	struct e2b__ttoken tt;
	int64_t exp, iat;
	char *tok;
	json_t *j;
	size_t i;

	tok = malloc(size + 1);
	if (tok) {
		memcpy(tok, data, size);
		tok[size] = '\0';
		e2b__jwt_times(tok, &exp, &iat);
		if (e2b__tt_init(&tt, tok, 1, 1700000000000LL) == 0) {
			e2b__tt_decide(&tt, 1700000000000LL);
			e2b__tt_release(&tt);
		}
		free(tok);
	}

	e2b__error_from_response(400 + (size % 200), (const char *)data, size, NULL, "fuzz");
	j = json_loadb((const char *)data, size, 0, NULL);
	if (!j)
		return 0;
	if (e2b__sandbox_info_from_json(&si, j) == 0)
		e2b__sandbox_info_release(&si);
	if (e2b__sandbox_list_from_json(&sl, j) == 0) {
		for (i = 0; i < sl.count; i++)
			e2b__sandbox_info_release(&sl.items[i]);
		json_decref(NULL);
		free(sl.items);
	}
	if (e2b__entry_from_json(&ei, j) == 0)
		e2b__entry_release(&ei);
	if (e2b__entry_list_from_json(&el, j) == 0) {
		for (i = 0; i < el.count; i++)
			e2b__entry_release(&el.items[i]);
		free(el.items);
	}
	if (e2b__process_info_from_json(&pi, j) == 0)
		e2b__process_info_release(&pi);
	e2b__metric_from_json(&m, j);
	e2b__envd_metrics_from_json(&em, j);
	if (e2b__write_info_from_json(&wi, j) == 0)
		e2b__write_info_release(&wi);
	if (json_is_object(j))
		e2b__error_from_connect_json(j, 200, NULL, "fuzz");
	json_decref(j);
	return 0;
}
