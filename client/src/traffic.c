/* SPDX-License-Identifier: MIT */
/*
 * Traffic access tokens for sandboxes behind the OpenKruise gateway's JWT
 * auth.  The schedule follows the Go client (e2b/traffic_token.go): read
 * exp/iat without verifying (the gateway verifies), refresh ahead of expiry,
 * back off on failure, never send an expired token.  The token is a secret:
 * it appears in no log line and no error message.
 */
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "error.h"
#include "json.h"
#include "rest.h"
#include "traffic.h"
#include "util.h"

int64_t e2b__wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A numeric claim in ms; -1 if absent, E2B_EPROTO if not a sane number. */
static int claim_ms(const json_t *claims, const char *name, int64_t *out)
{
	json_t *v = json_object_get(claims, name);
	double d;

	*out = -1;
	if (!v)
		return 0;
	if (!json_is_number(v))
		return E2B_EPROTO;
	d = json_number_value(v);
	/* Beyond year 10000 or negative: not a date we can schedule on. */
	if (!(d >= 0 && d < 253402300800.0))
		return E2B_EPROTO;
	*out = (int64_t)(d * 1000);
	return 0;
}

int e2b__jwt_times(const char *token, int64_t *exp_ms, int64_t *iat_ms)
{
	e2b_buf payload = E2B_BUF_INIT;
	const char *p, *end;
	json_error_t jerr;
	json_t *claims = NULL;
	int error, oom;

	*exp_ms = *iat_ms = -1;
	p = token ? strchr(token, '.') : NULL;
	if (!p)
		goto bad;
	p++;
	end = strchr(p, '.');
	if (!end)
		end = p + strlen(p);
	e2b_buf_init(&payload, 64 * 1024);
	error = e2b__b64_decode(&payload, p, (size_t)(end - p));
	if (error == E2B_ENOMEM)
		goto out;
	if (error < 0)
		goto bad;
	claims = e2b__json_load(payload.ptr, payload.size, 0, &jerr, &oom);
	if (oom) {
		error = e2b__error_oom();
		goto out;
	}
	if (!json_is_object(claims))
		goto bad;
	if (claim_ms(claims, "exp", exp_ms) < 0 || *exp_ms < 0)
		goto bad;
	if (claim_ms(claims, "iat", iat_ms) < 0)
		*iat_ms = -1;
	error = 0;
	goto out;
bad:
	*exp_ms = *iat_ms = -1;
	error = e2b__error_set(E2B_EPROTO,
			       "traffic access token is not a jwt with a valid exp claim");
out:
	json_decref(claims);
	e2b_buf_release(&payload);
	return error;
}

int64_t e2b__tt_refresh_at(int64_t expires_ms, int64_t issued_ms, double rnd01)
{
	int64_t validity = expires_ms - issued_ms, ahead;

	if (validity < 0)
		validity = 0;
	ahead = validity / 5;
	if (ahead < E2B__TT_MIN_AHEAD_MS)
		ahead = E2B__TT_MIN_AHEAD_MS;
	if (ahead > E2B__TT_MAX_AHEAD_MS)
		ahead = E2B__TT_MAX_AHEAD_MS;
	if (rnd01 < 0 || rnd01 >= 1)
		rnd01 = 0;
	return expires_ms - ahead - (int64_t)((double)ahead * 0.1 * rnd01);
}

/* xorshift32: jitter only needs to spread sandboxes apart. */
static double tt_rand(struct e2b__ttoken *t)
{
	uint32_t x = t->rng ? t->rng : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	t->rng = x;
	return (double)(x >> 8) / (double)(1u << 24);
}

int e2b__tt_init(struct e2b__ttoken *t, const char *token, int jwt_metadata,
		 int64_t now_ms)
{
	int64_t exp, iat;
	int error;

	memset(t, 0, sizeof(*t));
	t->rng = (uint32_t)now_ms ^ (uint32_t)(uintptr_t)t;
	t->backoff_ms = E2B__TT_BACKOFF_MIN_MS;
	if (token && *token) {
		t->token = e2b__strdup(token);
		if (!t->token)
			return e2b__error_oom();
		error = e2b__jwt_times(token, &exp, &iat);
		if (error == E2B_ENOMEM) {
			e2b__tt_release(t);
			return error;
		}
		if (error == 0) {
			t->jwt = 1;
			t->expires_ms = exp;
			t->refresh_ms = e2b__tt_refresh_at(exp, iat >= 0 ? iat : now_ms,
							   tt_rand(t));
		} else {
			/* Opaque (legacy) token: sent as is, never refreshed. */
			e2b_error_clear();
		}
	} else if (jwt_metadata) {
		/* No token yet: the first data-plane request fetches one. */
		t->jwt = 1;
	}
	return 0;
}

void e2b__tt_release(struct e2b__ttoken *t)
{
	if (!t)
		return;
	e2b__free(t->token);
	memset(t, 0, sizeof(*t));
}

enum e2b__tt_action e2b__tt_decide(const struct e2b__ttoken *t, int64_t now_ms)
{
	int usable = t->token && now_ms < t->expires_ms;

	if (!t->jwt)
		return E2B__TT_USE;
	if (t->token && now_ms < t->refresh_ms)
		return E2B__TT_USE;
	if (now_ms < t->next_retry_ms)
		return usable ? E2B__TT_USE : E2B__TT_EXPIRED;
	return E2B__TT_REFRESH;
}

void e2b__tt_failed(struct e2b__ttoken *t, int64_t now_ms, long retry_after_ms,
		    long status)
{
	long delay = t->backoff_ms;

	if (retry_after_ms > delay)
		delay = retry_after_ms;
	t->next_retry_ms = now_ms + delay;
	t->backoff_ms = t->backoff_ms * 2 > E2B__TT_BACKOFF_MAX_MS ?
		E2B__TT_BACKOFF_MAX_MS : t->backoff_ms * 2;
	t->last_status = status;
}

int e2b__tt_install(struct e2b__ttoken *t, char *token, int64_t expires_ms,
		    int64_t now_ms)
{
	int64_t exp, iat, diff;
	int error;

	if (!token || !*token)
		return e2b__error_set(E2B_EPROTO,
				      "traffic access token refresh returned an empty token");
	error = e2b__jwt_times(token, &exp, &iat);
	if (error < 0)
		return error;
	diff = exp > expires_ms ? exp - expires_ms : expires_ms - exp;
	if (diff > E2B__TT_EXP_TOLERANCE_MS)
		return e2b__error_set(E2B_EPROTO,
				      "traffic access token expiration does not "
				      "match its exp claim");
	if (expires_ms <= now_ms)
		return e2b__error_set(E2B_EPROTO,
				      "traffic access token refresh returned an expired token");
	e2b__free(t->token);
	t->token = token;
	t->expires_ms = expires_ms;
	t->refresh_ms = e2b__tt_refresh_at(expires_ms, now_ms, tt_rand(t));
	t->next_retry_ms = 0;
	t->backoff_ms = E2B__TT_BACKOFF_MIN_MS;
	t->last_status = 0;
	return 0;
}

int e2b__tt_fetch(char **out_token, int64_t *out_expires_ms,
		  long *out_retry_after_ms, long *out_status,
		  struct e2b__http *h, const char *sandbox_id)
{
	struct e2b__resp resp;
	e2b_buf path = E2B_BUF_INIT;
	json_t *j = NULL;
	const char *tok, *exp;
	int64_t sec;
	int32_t nsec;
	int error;

	*out_token = NULL;
	*out_expires_ms = 0;
	*out_retry_after_ms = -1;
	*out_status = 0;
	e2b__resp_init(&resp);
	error = e2b_buf_puts(&path, "/sandboxes/");
	if (!error)
		error = e2b__url_escape(&path, sandbox_id);
	if (!error)
		error = e2b_buf_puts(&path, "/traffic-access-token");
	if (error < 0)
		goto out;
	/* Not idempotent for http_do: the token manager owns the backoff. */
	error = e2b__rest_call(&j, &resp, h, "POST", path.ptr, NULL, 0,
			       "refresh traffic access token");
	*out_status = resp.status;
	if (resp.retry_after >= 0)
		*out_retry_after_ms = resp.retry_after * 1000;
	if (error < 0) {
		/* The body is not rendered: it could echo request details. */
		if (resp.status)
			e2b__error_set_http(error, (int)resp.status, NULL, resp.request_id,
					    "refresh traffic access token: http %ld", resp.status);
		goto out;
	}
	tok = json_is_object(j) ? e2b__json_str(j, "trafficAccessToken", NULL, &error) : NULL;
	if (error < 0)
		goto out;
	exp = json_is_object(j) ? e2b__json_str(j, "trafficAccessTokenExpiration", NULL, &error) :
		NULL;
	if (error < 0)
		goto out;
	if (!tok || !exp || e2b__parse_rfc3339(exp, &sec, &nsec) < 0) {
		error = e2b__error_set(E2B_EPROTO,
				       "refresh traffic access token: malformed answer");
		goto out;
	}
	*out_token = e2b__strdup(tok);
	if (!*out_token) {
		error = e2b__error_oom();
		goto out;
	}
	*out_expires_ms = sec * 1000 + nsec / 1000000;
out:
	json_decref(j);
	e2b_buf_release(&path);
	e2b__resp_release(&resp);
	return error;
}
