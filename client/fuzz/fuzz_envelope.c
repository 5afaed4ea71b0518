/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the Connect envelope reader, fed the input in chunks
 * whose sizes come from the input itself, with each frame parsed as JSON
 * the way the stream layer does.
 */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "connect.h"
#include "error.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_frame(unsigned flags, const char *d, size_t len, void *payload)
{
	json_t *j = NULL;

	(void)flags;
	(void)payload;
	if (e2b__json_parse_object(&j, d, len) == 0)
		json_decref(j);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct e2b__env_reader r;
	size_t off = 0, n;
	unsigned step;

	if (!size)
		return 0;
	step = data[0] % 17 + 1;
	data++;
	size--;
	e2b__env_reader_init(&r, 1 << 20, on_frame, NULL);
	while (off < size) {
		n = size - off < step ? size - off : step;
		if (e2b__env_reader_feed(&r, (const char *)data + off, n) < 0)
			break;
		off += n;
	}
	e2b__env_reader_release(&r);
	return 0;
}
