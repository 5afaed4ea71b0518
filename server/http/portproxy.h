/* SPDX-License-Identifier: MIT */
/*
 * HTTP to a port of a sandbox other than envd's (portproxy.c): what E2B's
 * edge does for `<port>-<id>.<domain>` and OpenKruise's gateway for
 * `/kruise/<id>/<port>/`.  The request is forwarded over a connection
 * made inside the sandbox's network namespace to its loopback, and the
 * answer streamed back.
 */
#ifndef E2BD_PORTPROXY_H
#define E2BD_PORTPROXY_H

#include <stddef.h>
#include <microhttpd.h>

#include "api/sandbox.h"

struct portproxy;

/*
 * First call of a request routed to @port of @sb (running; the caller
 * keeps its reference): connect and send the request head, @target being
 * the raw path and query to ask for.  NULL when a response is queued
 * already (*ret tells whether that worked): port closed, or no memory.
 */
struct portproxy *portproxy_begin(struct MHD_Connection *c,
				  struct sandbox *sb, long port,
				  const char *method, const char *target,
				  enum MHD_Result *ret);

/*
 * Later calls, like an MHD access handler: body chunks are passed on,
 * then (*upload_data_size == 0) the upstream answer is queued.
 */
enum MHD_Result portproxy_data(struct portproxy *p, const char *upload_data,
			       size_t *upload_data_size);

/* When the request is over (NULL is fine). */
void portproxy_free(struct portproxy *p);

/*
 * The part of a raw request URI that goes upstream: without the
 * "/kruise/<id>/<port>" prefix when @kruise, and never empty ("/").
 * Points into @raw, or to a static "/"; writes "/?q" forms into @buf.
 */
const char *portproxy_target(const char *raw, int kruise, char *buf,
			     size_t buflen);

#endif
