#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# libe2b against the running e2bd: the C integration program in all three
# URL modes (header routing from the environment, private path form,
# native host form), against an OpenKruise-flavoured e2bd (envd 0.2.10 ->
# user selection by Basic auth), the examples, and valgrind leak checks.
. "$SRC_DIR/tests/lib.sh"

ITEST=$BUILD_DIR/client/e2b-client-itest
EX=$BUILD_DIR/client/examples
[ -x "$ITEST" ] || { fail "client itest" "missing $ITEST"; done_testing; }

# run_itest MODE [ENV...]: relay its TAP lines; a crash without a
# "not ok" line is reported as one failure.
run_itest() {
	local mode=$1 out rc
	shift
	out=$(env "$@" timeout 120 "$ITEST" "$mode" 2>"$TEST_TMP/itest-$mode.err")
	rc=$?
	printf '%s\n' "$out"
	grep -q '^not ok' <<<"$out" && _lib_failed=1
	if [ $rc -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
		fail "client itest $mode" "exit $rc: $(tail -n 3 "$TEST_TMP/itest-$mode.err" | tr '\n' ' ')"
	fi
}

run_itest env
# The same calls in Connect's JSON codec (libe2b speaks binary protobuf by default).
out=$(E2B_CONNECT_CODEC=json timeout 120 "$ITEST" env 2>"$TEST_TMP/itest-json.err")
rc=$?
printf '%s\n' "$out" | sed -E 's#^(not ok|ok|skip) - #\1 - json-#'
grep -q '^not ok' <<<"$out" && _lib_failed=1
if [ $rc -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
	fail "client itest json" "exit $rc: $(tail -n 3 "$TEST_TMP/itest-json.err" | tr '\n' ' ')"
fi
run_itest private -u E2B_API_URL -u E2B_SANDBOX_URL
run_itest native -u E2B_API_URL -u E2B_SANDBOX_URL
# Only E2B_API_URL (what scripts/demo exported): envd at the API's origin.
run_itest apionly -u E2B_SANDBOX_URL

# Examples.
out=$("$EX/quickstart" base 2>&1)
expect_eq "example quickstart" "hello
created /tmp/demo" "$out"
ID=$(new_sandbox '{"templateID":"base","timeout":120}')
if [ -n "$ID" ]; then
	check "example manage list" sh -c "'$EX/manage' list | grep -q '$ID'"
	check "example manage info" sh -c "'$EX/manage' info '$ID' | grep -q running"
	check "example manage pause" sh -c "'$EX/manage' pause '$ID' | grep -q paused"
	check "example manage resume" sh -c "'$EX/manage' resume '$ID' | grep -q running"
	check "example manage kill" sh -c "'$EX/manage' kill '$ID' | grep -q killed"
	check "example manage kill again" sh -c "'$EX/manage' kill '$ID' | grep -q 'not found'"
fi

# OpenKruise flavour on an own e2bd (path form, envd reported as 0.2.10).
PORT=$(free_port)
"$E2BD_BIN" --listen "127.0.0.1:$PORT" --state-dir "$TEST_TMP/kruise-state" \
	--api-key-file <(printf '%s\n' "$E2B_API_KEY") --flavor openkruise \
	> "$TEST_TMP/kruise.log" 2>&1 &
KPID=$!
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null && break; sleep 0.1; done
run_itest kruise -u E2B_API_URL -u E2B_SANDBOX_URL E2BD_PORT="$PORT"
kill "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null

# Leaks: quickstart and the whole suite in both protocols under valgrind (not in a
# sanitizer build, E2B_SANITIZE=1: ASan and valgrind do not mix).
if command -v valgrind >/dev/null && [ "${E2B_SANITIZE:-0}" != 1 ]; then
	VG=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect
	    --show-leak-kinds=definite,indirect --error-exitcode=99)
	if "${VG[@]}" "$EX/quickstart" base > "$TEST_TMP/vg1.out" 2>&1; then
		ok "valgrind quickstart: no leaks or errors"
	else
		fail "valgrind quickstart" "$(grep -m3 -E '==[0-9]+== ' "$TEST_TMP/vg1.out" | tr '\n' ' ')"
	fi
	# The whole suite in both URL protocols: native (host form
	# 49983-<id>.localhost) and private (/kruise/... paths), plus header
	# routing from the environment (env).
	for m in env native private; do
		if timeout 150 env $([ $m != env ] && echo "-u E2B_API_URL -u E2B_SANDBOX_URL") \
			"${VG[@]}" "$ITEST" $m > "$TEST_TMP/vg-$m.out" 2>&1 &&
			! grep -q '^not ok' "$TEST_TMP/vg-$m.out"; then
			ok "valgrind client itest $m: no leaks or errors"
		else
			fail "valgrind client itest $m" "$(grep -m5 -E '==[0-9]+== |^not ok' "$TEST_TMP/vg-$m.out" | tr '\n' ' ')"
		fi
	done
elif [ "${E2B_SANITIZE:-0}" != 1 ]; then
	skip "valgrind" "not installed"
fi

done_testing
