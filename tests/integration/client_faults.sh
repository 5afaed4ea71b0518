#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# libe2b against a misbehaving server (tests/integration/client/faultsrv.py):
# connection reset mid-stream and mid-download, truncated envelope, stalled
# stream (keepalive watchdog), 429/503 with Retry-After, garbage instead of
# JSON, oversized frames.  Each must give the documented error, bounded in
# time, without leaks (second pass under valgrind).
. "$SRC_DIR/tests/lib.sh"

ITEST=$BUILD_DIR/client/e2b-client-itest
SRV=$SRC_DIR/tests/integration/client/faultsrv.py
FPID=
stop_srv() { [ -n "$FPID" ] && kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null; FPID=; }
trap 'stop_srv; _lib_cleanup' EXIT

start_srv() {
	# the redirect below truncates in the child, asynchronously: remove the
	# previous server's port file first or the loop may read a dead port
	rm -f "$TEST_TMP/faultsrv.port"
	python3 "$SRV" > "$TEST_TMP/faultsrv.port" 2>"$TEST_TMP/faultsrv.err" &
	FPID=$!
	for _ in $(seq 300); do [ -s "$TEST_TMP/faultsrv.port" ] && break; sleep 0.1; done
	FPORT=$(head -n 1 "$TEST_TMP/faultsrv.port" 2>/dev/null)
	[ -n "$FPORT" ] || { fail "fault server" "did not start: $(head -c 300 "$TEST_TMP/faultsrv.err")"; done_testing; }
}

# run PREFIX CMD...: relay TAP lines with a name prefix.
run() {
	local prefix=$1 out rc
	shift
	out=$(E2B_API_URL="http://127.0.0.1:$FPORT" E2B_SANDBOX_URL="http://127.0.0.1:$FPORT" \
		timeout 120 "$@" faults 2>"$TEST_TMP/faults.err")
	rc=$?
	printf '%s\n' "$out" | sed -E "s#^(not ok|ok|skip) - #\\1 - $prefix#"
	grep -q '^not ok' <<<"$out" && _lib_failed=1
	if [ $rc -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
		fail "${prefix}faults" "exit $rc: $(grep -m3 -E '==[0-9]+==|error' "$TEST_TMP/faults.err" | tr '\n' ' ')"
	fi
}

start_srv
run "" "$ITEST"
stop_srv
if command -v valgrind >/dev/null && [ "${E2B_SANITIZE:-0}" != 1 ]; then
	start_srv
	run "valgrind-" valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect --error-exitcode=99 "$ITEST"
	stop_srv
fi
done_testing
