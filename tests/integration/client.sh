#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# libe2b against the running e2bd: the C integration program in all three
# URL modes (header routing from the environment, private path form,
# native host form), against an OpenKruise-flavoured e2bd (envd 0.2.10 ->
# user selection by Basic auth), one handle resumed many times (memory
# does not grow, getters right during resumes), the examples, and valgrind
# leak checks.
. "$SRC_DIR/tests/lib.sh"

ITEST=$BUILD_DIR/client/e2b-client-itest
RESUME=$BUILD_DIR/client/e2b-client-resume
EX=$BUILD_DIR/client/examples
[ -x "$ITEST" ] || { fail "client itest" "missing $ITEST"; done_testing; }
[ -x "$RESUME" ] || { fail "client resume" "missing $RESUME"; done_testing; }

# Every itest run makes its own sandboxes under names of its own, so the
# runs below go at once (each mostly waits on the sandbox: `sleep 6` past
# the watchdog, ticking processes) and are relayed in order afterwards.
# bg TAG CMD...: run CMD in the background, stdout/stderr/status in $TEST_TMP/TAG.*
bg_pids=()
bg() {
	local tag=$1
	shift
	( "$@" > "$TEST_TMP/$tag.out" 2> "$TEST_TMP/$tag.err"; echo $? > "$TEST_TMP/$tag.rc" ) &
	bg_pids+=($!)
}
bg_wait() { wait "${bg_pids[@]}"; bg_pids=(); }
bg_rc() { cat "$TEST_TMP/$1.rc" 2>/dev/null || echo 255; }

# relay_itest TAG [SED]: relay its TAP lines (renamed by SED); a crash
# without a "not ok" line is reported as one failure.
relay_itest() {
	local tag=$1 sed=${2:-} out rc
	out=$(cat "$TEST_TMP/$tag.out")
	rc=$(bg_rc "$tag")
	if [ -n "$sed" ]; then printf '%s\n' "$out" | sed -E "$sed"; else printf '%s\n' "$out"; fi
	grep -q '^not ok' <<<"$out" && _lib_failed=1
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
		fail "client ${tag/-/ }" "exit $rc: $(tail -n 3 "$TEST_TMP/$tag.err" | tr '\n' ' ')"
	fi
}

# OpenKruise flavour on an own e2bd (path form, envd reported as 0.2.10).
PORT=$(free_port)
"$E2BD_BIN" --listen "127.0.0.1:$PORT" --state-dir "$TEST_TMP/kruise-state" \
	--api-key-file <(printf '%s\n' "$E2B_API_KEY") --flavor openkruise \
	> "$TEST_TMP/kruise.log" 2>&1 &
KPID=$!
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null && break; sleep 0.1; done

bg itest-env timeout 120 "$ITEST" env
# The same calls in Connect's JSON codec (libe2b speaks binary protobuf by default).
bg itest-json env E2B_CONNECT_CODEC=json timeout 120 "$ITEST" env
bg itest-private env -u E2B_API_URL -u E2B_SANDBOX_URL timeout 120 "$ITEST" private
bg itest-native env -u E2B_API_URL -u E2B_SANDBOX_URL timeout 120 "$ITEST" native
# Only E2B_API_URL (what scripts/demo exported): envd at the API's origin.
bg itest-apionly env -u E2B_SANDBOX_URL timeout 120 "$ITEST" apionly
bg itest-kruise env -u E2B_API_URL -u E2B_SANDBOX_URL E2BD_PORT="$PORT" timeout 120 "$ITEST" kruise
bg resume timeout 120 "$RESUME"
bg_wait
kill "$KPID" 2>/dev/null; wait "$KPID" 2>/dev/null
relay_itest itest-env
relay_itest itest-json 's#^(not ok|ok|skip) - #\1 - json-#'
relay_itest itest-private
relay_itest itest-native
relay_itest itest-apionly
relay_itest itest-kruise
relay_itest resume
grep -q '^ok - memory does not grow with resumes' "$TEST_TMP/resume.out" ||
	fail "client resume: memory was checked"

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

# Leaks: quickstart and the whole suite in both protocols under valgrind (not in a
# sanitizer build, E2B_SANITIZE=1: ASan and valgrind do not mix).
if command -v valgrind >/dev/null && [ "${E2B_SANITIZE:-0}" != 1 ]; then
	VG=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect
	    --show-leak-kinds=definite,indirect --error-exitcode=99)
	bg vg-quickstart "${VG[@]}" "$EX/quickstart" base
	# The whole suite in both URL protocols: native (host form
	# 49983-<id>.localhost) and private (/kruise/... paths), plus header
	# routing from the environment (env); all four at once.
	bg "vg-env" timeout 150 "${VG[@]}" "$ITEST" env
	for m in native private; do
		bg "vg-$m" env -u E2B_API_URL -u E2B_SANDBOX_URL timeout 150 "${VG[@]}" "$ITEST" $m
	done
	bg vg-resume timeout 150 "${VG[@]}" "$RESUME"
	bg_wait
	if [ "$(bg_rc vg-quickstart)" = 0 ]; then
		ok "valgrind quickstart: no leaks or errors"
	else
		fail "valgrind quickstart" "$(grep -m3 -E '==[0-9]+== ' "$TEST_TMP/vg-quickstart.err" | tr '\n' ' ')"
	fi
	if [ "$(bg_rc vg-resume)" = 0 ] && ! grep -q '^not ok' "$TEST_TMP/vg-resume.out"; then
		ok "valgrind client resume: no leaks or errors"
	else
		fail "valgrind client resume" "$(cat "$TEST_TMP/vg-resume.out" "$TEST_TMP/vg-resume.err" |
			grep -m5 -E '==[0-9]+== |^not ok' | tr '
' ' ')"
	fi
	for m in env native private; do
		if [ "$(bg_rc "vg-$m")" = 0 ] && ! grep -q '^not ok' "$TEST_TMP/vg-$m.out"; then
			ok "valgrind client itest $m: no leaks or errors"
		else
			fail "valgrind client itest $m" "$(cat "$TEST_TMP/vg-$m.out" "$TEST_TMP/vg-$m.err" |
				grep -m5 -E '==[0-9]+== |^not ok' | tr '\n' ' ')"
		fi
	done
elif [ "${E2B_SANITIZE:-0}" != 1 ]; then
	skip "valgrind" "not installed"
fi

done_testing
