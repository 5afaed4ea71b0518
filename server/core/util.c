/* SPDX-License-Identifier: MIT */
/*
 * Random identifiers and secrets for e2bd, from the kernel's CSPRNG
 * (common/random.c): no per-thread generator state in the short-lived
 * connection threads that ask for them.  And the per-template limits.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/e2bd.h"
#include "random.h"

int util_random_hex(char *out, size_t outlen, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[128];
	size_t i;

	if (nbytes > sizeof(buf) || outlen < nbytes * 2 + 1)
		return -1;
	if (e2bu_random(buf, nbytes) < 0)
		return -1;
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = hex[buf[i] >> 4];
		out[2 * i + 1] = hex[buf[i] & 15];
	}
	out[2 * nbytes] = '\0';
	return 0;
}

int util_random_alnum(char *out, size_t outlen, size_t n)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char pool[64];
	size_t i = 0, used = sizeof(pool);

	if (outlen < n + 1)
		return -1;
	while (i < n) {
		if (used == sizeof(pool)) {
			if (e2bu_random(pool, sizeof(pool)) < 0)
				return -1;
			used = 0;
		}
		/* Reject the top of the range so every character is equally likely. */
		if (pool[used] < 252)
			out[i++] = set[pool[used] % 36];
		used++;
	}
	out[n] = '\0';
	return 0;
}

/* The limits given for template @id itself, or for its alias; NULL if none. */
enum limit_kind { LIMIT_MEMORY, LIMIT_DISK, LIMIT_NETWORK };

static bool limit_has(const struct template_limit *l, enum limit_kind kind)
{
	return kind == LIMIT_MEMORY ? l->has_memory :
	       kind == LIMIT_DISK ? l->has_disk : l->has_network;
}

static const struct template_limit *limit_of(const char *id, enum limit_kind kind)
{
	static const char *const alias[][2] = {
		{ "base", "code-interpreter" }, { "code-interpreter", "base" },
	};
	const char *names[2] = { id, NULL };
	size_t i, k;

	for (i = 0; id && i < sizeof(alias) / sizeof(alias[0]); i++)
		if (!strcmp(id, alias[i][0]))
			names[1] = alias[i][1];
	for (k = 0; k < 2 && names[k]; k++)
		for (i = g_cfg.nlimits; i-- > 0;)
			if (!strcmp(g_cfg.limits[i].name, names[k]) &&
			    limit_has(&g_cfg.limits[i], kind))
				return &g_cfg.limits[i];
	return NULL;
}

uint64_t util_cfg_memory_limit(const char *id)
{
	const struct template_limit *l = limit_of(id, LIMIT_MEMORY);

	return l ? l->memory : g_cfg.memory_limit;
}

uint64_t util_cfg_disk_limit(const char *id)
{
	const struct template_limit *l = limit_of(id, LIMIT_DISK);

	return l ? l->disk : g_cfg.disk_limit;
}

bool util_cfg_network_none(const char *id)
{
	const struct template_limit *l = limit_of(id, LIMIT_NETWORK);

	return g_cfg.network_none || (l && l->network_none);
}
