/* SPDX-License-Identifier: MIT */
/* files.c: envd plain-HTTP routes (stub until landed). */
#include "e2bd.h"
#include "rpc.h"

enum MHD_Result envd_http_dispatch(struct envd_request *r,
				   const char *upload_data,
				   size_t *upload_data_size)
{
	return http_send_error(r->conn, 404, "not implemented");
}
