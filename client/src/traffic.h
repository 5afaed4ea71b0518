/* SPDX-License-Identifier: MIT */
/*
 * Traffic access tokens of OpenKruise JWT sandboxes (protocol.md §1.5 and
 * §1.3): the refresh schedule as pure functions of the clock (unit-tested
 * with a fake clock), and the refresh request.  See
 * docs/internals/libe2b-traffic.md.
 */
#ifndef E2B_TRAFFIC_H
#define E2B_TRAFFIC_H

#include <stdint.h>

#include "http.h"

/* Sandbox metadata that marks a JWT-protected sandbox (value "true"). */
#define E2B__JWT_AUTH_KEY "security.agents.kruise.io/enable-jwt-auth"

#define E2B__TT_MIN_AHEAD_MS 60000
#define E2B__TT_MAX_AHEAD_MS 300000
#define E2B__TT_BACKOFF_MIN_MS 1000L
#define E2B__TT_BACKOFF_MAX_MS 30000L
#define E2B__TT_EXP_TOLERANCE_MS 5000

/*
 * The refresh state of one sandbox.  All times are wall-clock unix
 * milliseconds (JWT claims are wall-clock).  Not locked here: the owner
 * (the sandbox handle) guards it.
 */
struct e2b__ttoken {
	int jwt;		/* refresh machinery on */
	char *token;		/* current token, NULL = none yet */
	int64_t expires_ms;
	int64_t refresh_ms;	/* refresh once now >= this */
	int64_t next_retry_ms;	/* no attempt before this */
	long backoff_ms;
	long last_status;	/* HTTP status of the last failed refresh */
	uint32_t rng;		/* jitter generator state */
};

/* What to do before a data-plane request. */
enum e2b__tt_action {
	E2B__TT_USE = 0,	/* send ttoken.token (may be NULL: no header) */
	E2B__TT_REFRESH = 1,	/* refresh first */
	E2B__TT_EXPIRED = 2,	/* fail closed */
};

/* Read "exp" (required) and "iat" (optional, else -1) of a JWT, unverified.
 * 0, or E2B_EPROTO when it is not a JWT with a numeric exp. */
int e2b__jwt_times(const char *token, int64_t *exp_ms, int64_t *iat_ms);

/* expires - clamp(20 % of validity, 60 s, 300 s) - up to 10 % jitter. */
int64_t e2b__tt_refresh_at(int64_t expires_ms, int64_t issued_ms, double rnd01);

/*
 * Seed the state from the API's answer.  A JWT token, or @jwt_metadata
 * (then an empty token bootstraps on first use), turns refreshing on; an
 * opaque token is sent as is and never refreshed.  0 or E2B_ENOMEM.
 */
int e2b__tt_init(struct e2b__ttoken *t, const char *token, int jwt_metadata,
		 int64_t now_ms);
void e2b__tt_release(struct e2b__ttoken *t);

enum e2b__tt_action e2b__tt_decide(const struct e2b__ttoken *t, int64_t now_ms);
/* A refresh failed: schedule the next attempt (backoff doubling to 30 s,
 * at least @retry_after_ms when the server asked). */
void e2b__tt_failed(struct e2b__ttoken *t, int64_t now_ms, long retry_after_ms,
		    long status);
/*
 * A refresh answered: validate (non-empty JWT whose exp matches @expires_ms
 * within 5 s and lies in the future) and install it (takes ownership of
 * @token on success).  0 or E2B_EPROTO (then call e2b__tt_failed()).
 */
int e2b__tt_install(struct e2b__ttoken *t, char *token, int64_t expires_ms,
		    int64_t now_ms);

/*
 * POST {api}/sandboxes/{id}/traffic-access-token.  On success *out_token
 * (caller frees with e2b__free) and *out_expires_ms are set.  On failure
 * *out_retry_after_ms (-1 if absent) and *out_status tell the caller how
 * to back off.  The error message never carries the response body.
 */
int e2b__tt_fetch(char **out_token, int64_t *out_expires_ms,
		  long *out_retry_after_ms, long *out_status,
		  struct e2b__http *h, const char *sandbox_id);

/* Wall-clock unix milliseconds. */
int64_t e2b__wall_ms(void);

#endif
