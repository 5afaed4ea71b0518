#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# libe2b's sandbox-side metadata (<e2b/meta.h>) against the running e2bd:
# every one-shot call, OS reasons (e2b_error.os_errno), hostile names that
# must stay data, a session's batching from one and from eight threads,
# and the atomic write with mode and times before its Move; then the same
# program under valgrind (no leaks, no errors).
. "$SRC_DIR/tests/lib.sh"

META=$BUILD_DIR/client/e2b-client-meta
[ -x "$META" ] || { fail "client meta" "missing $META"; done_testing; }

out=$(timeout 300 "$META" 2> "$TEST_TMP/meta.err")
rc=$?
printf '%s\n' "$out"
grep -q '^not ok' <<<"$out" && _lib_failed=1
if [ "$rc" -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
	fail "client meta" "exit $rc: $(tail -n 3 "$TEST_TMP/meta.err" | tr '\n' ' ')"
fi
grep -q '^ok - 200 operations in at most 4 exchanges' <<<"$out" ||
	fail "client meta: batching was checked"

if [ "${E2B_SANITIZE:-0}" != 1 ]; then
	command -v valgrind >/dev/null || { fail "valgrind" "not installed"; done_testing; }
	timeout 600 valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 "$META" > "$TEST_TMP/vg.out" 2> "$TEST_TMP/vg.err"
	vrc=$?
	if [ "$vrc" = 0 ]; then
		ok "valgrind client meta: no leaks or errors"
	else
		fail "valgrind client meta" "exit $vrc: $(grep -m3 -E '==[0-9]+== |^not ok' "$TEST_TMP/vg.err" "$TEST_TMP/vg.out" | tr '\n' ' ')"
	fi
fi
done_testing
