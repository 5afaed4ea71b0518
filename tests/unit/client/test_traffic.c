/* SPDX-License-Identifier: MIT */
/*
 * The traffic access token schedule on a fake clock: JWT claim parsing,
 * the refresh point (20 % of validity clamped to [60 s, 300 s] minus up to
 * 10 % jitter), backoff doubling to 30 s with Retry-After, fail closed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "alloc.h"
#include "error.h"
#include "buf.h"
#include "traffic.h"
#include "util.h"

/* header.payload.sig with @claims as the payload (unpadded base64url). */
static char *make_jwt(const char *claims)
{
	e2b_buf b = E2B_BUF_INIT;
	size_t i;

	assert_int_equal(e2b_buf_puts(&b, "eyJhbGciOiJIUzI1NiJ9."), 0);
	assert_int_equal(e2b__b64_encode(&b, claims, strlen(claims)), 0);
	while (b.size && b.ptr[b.size - 1] == '=')
		e2b_buf_truncate(&b, b.size - 1);
	for (i = 0; i < b.size; i++) {
		if (b.ptr[i] == '+')
			b.ptr[i] = '-';
		else if (b.ptr[i] == '/')
			b.ptr[i] = '_';
	}
	assert_int_equal(e2b_buf_puts(&b, ".c2ln"), 0);
	return e2b_buf_detach(&b, NULL);
}

static void test_traffic_jwt_claims(void **state)
{
	int64_t exp, iat;
	char *t;

	(void)state;
	t = make_jwt("{\"exp\":1700000100,\"iat\":1700000000.5}");
	assert_int_equal(e2b__jwt_times(t, &exp, &iat), 0);
	assert_int_equal(exp, 1700000100000LL);
	assert_int_equal(iat, 1700000000500LL);
	e2b__free(t);
	t = make_jwt("{\"exp\":1700000100}");
	assert_int_equal(e2b__jwt_times(t, &exp, &iat), 0);
	assert_int_equal(iat, -1);
	e2b__free(t);
	/* exp as a string, missing exp, not JSON, no dot, empty: not a JWT */
	t = make_jwt("{\"exp\":\"1700000100\"}");
	assert_int_equal(e2b__jwt_times(t, &exp, &iat), E2B_EPROTO);
	e2b__free(t);
	t = make_jwt("{\"iat\":1}");
	assert_int_equal(e2b__jwt_times(t, &exp, &iat), E2B_EPROTO);
	e2b__free(t);
	t = make_jwt("[1,2]");
	assert_int_equal(e2b__jwt_times(t, &exp, &iat), E2B_EPROTO);
	e2b__free(t);
	assert_int_equal(e2b__jwt_times("opaque-uuid-token", &exp, &iat), E2B_EPROTO);
	assert_int_equal(e2b__jwt_times("a.!!!.b", &exp, &iat), E2B_EPROTO);
	assert_int_equal(e2b__jwt_times("", &exp, &iat), E2B_EPROTO);
}

static void test_traffic_refresh_point(void **state)
{
	(void)state;
	/* 1 h validity: 20 % = 720 s, clamped to 300 s */
	assert_int_equal(e2b__tt_refresh_at(3600000, 0, 0), 3300000);
	/* 10 min: 20 % = 120 s */
	assert_int_equal(e2b__tt_refresh_at(600000, 0, 0), 480000);
	/* 2 min: 24 s, clamped up to 60 s */
	assert_int_equal(e2b__tt_refresh_at(120000, 0, 0), 60000);
	/* jitter removes up to 10 % of the lead time */
	assert_int_equal(e2b__tt_refresh_at(600000, 0, 0.5), 480000 - 6000);
	assert_true(e2b__tt_refresh_at(600000, 0, 0.999) > 480000 - 12000);
	/* issued after expiry: validity 0, lead 60 s */
	assert_int_equal(e2b__tt_refresh_at(1000, 5000, 0), 1000 - 60000);
}

static void test_traffic_schedule(void **state)
{
	struct e2b__ttoken t;
	int64_t now = 1700000000000LL;
	char *tok, *tok2;

	(void)state;
	tok = make_jwt("{\"exp\":1700000600,\"iat\":1700000000}");
	assert_int_equal(e2b__tt_init(&t, tok, 0, now), 0);
	assert_true(t.jwt);
	assert_true(t.refresh_ms <= now + 480000 && t.refresh_ms >= now + 480000 - 12000);
	assert_int_equal(e2b__tt_decide(&t, now), E2B__TT_USE);
	assert_int_equal(e2b__tt_decide(&t, now + 480000), E2B__TT_REFRESH);
	/* failures while valid: keep using it, backoff 1 s, 2 s, then Retry-After 10 s */
	now += 480000;
	e2b__tt_failed(&t, now, -1, 503);
	assert_int_equal(e2b__tt_decide(&t, now + 999), E2B__TT_USE);
	assert_int_equal(e2b__tt_decide(&t, now + 1000), E2B__TT_REFRESH);
	now += 1000;
	e2b__tt_failed(&t, now, -1, 503);
	assert_int_equal(t.next_retry_ms, now + 2000);
	e2b__tt_failed(&t, now, 10000, 429);
	assert_int_equal(t.next_retry_ms, now + 10000);
	assert_int_equal(t.last_status, 429);
	/* backoff caps at 30 s */
	e2b__tt_failed(&t, now, -1, 503);
	e2b__tt_failed(&t, now, -1, 503);
	e2b__tt_failed(&t, now, -1, 503);
	assert_int_equal(t.backoff_ms, E2B__TT_BACKOFF_MAX_MS);
	/* expired during the backoff: fail closed; after it: try again */
	e2b__tt_failed(&t, now, 200000, 503);
	assert_int_equal(e2b__tt_decide(&t, 1700000600000LL), E2B__TT_EXPIRED);
	assert_int_equal(e2b__tt_decide(&t, t.next_retry_ms), E2B__TT_REFRESH);
	/* bad answers are rejected and leave the state alone */
	tok2 = make_jwt("{\"exp\":1700003600}");
	assert_int_equal(e2b__tt_install(&t, tok2, 1700009999000LL, now), E2B_EPROTO);
	assert_int_equal(e2b__tt_install(&t, tok2, 1700003600000LL, 1700003600000LL), E2B_EPROTO);
	assert_int_equal(e2b__tt_install(&t, NULL, 1700003600000LL, now), E2B_EPROTO);
	assert_string_equal(t.token, tok);
	/* a good answer resets the backoff */
	assert_int_equal(e2b__tt_install(&t, tok2, 1700003602000LL, now), 0);
	assert_ptr_equal(t.token, tok2);
	assert_int_equal(t.backoff_ms, E2B__TT_BACKOFF_MIN_MS);
	assert_int_equal(t.next_retry_ms, 0);
	assert_int_equal(e2b__tt_decide(&t, now + 1000), E2B__TT_USE);
	e2b__tt_release(&t);
	e2b__free(tok);
}

static void test_traffic_opaque_and_lazy(void **state)
{
	struct e2b__ttoken t;

	(void)state;
	/* opaque: sent as is forever */
	assert_int_equal(e2b__tt_init(&t, "opaque", 1, 0), 0);
	assert_false(t.jwt);
	assert_string_equal(t.token, "opaque");
	assert_int_equal(e2b__tt_decide(&t, INT64_MAX / 2), E2B__TT_USE);
	e2b__tt_release(&t);
	/* JWT metadata without a token: fetch first; closed in the backoff */
	assert_int_equal(e2b__tt_init(&t, NULL, 1, 0), 0);
	assert_true(t.jwt);
	assert_int_equal(e2b__tt_decide(&t, 0), E2B__TT_REFRESH);
	e2b__tt_failed(&t, 0, -1, 500);
	assert_int_equal(e2b__tt_decide(&t, 10), E2B__TT_EXPIRED);
	e2b__tt_release(&t);
	/* nothing at all: no header */
	assert_int_equal(e2b__tt_init(&t, "", 0, 0), 0);
	assert_null(t.token);
	assert_int_equal(e2b__tt_decide(&t, 0), E2B__TT_USE);
	e2b__tt_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traffic_jwt_claims),
		cmocka_unit_test(test_traffic_refresh_point),
		cmocka_unit_test(test_traffic_schedule),
		cmocka_unit_test(test_traffic_opaque_and_lazy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
