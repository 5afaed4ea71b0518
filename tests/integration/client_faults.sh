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
# The plain pass and the valgrind pass go at once, each against a fault
# server of its own (its hit counters are per server); most of the time
# is spent waiting out stalls and Retry-After delays.
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; _lib_cleanup' EXIT

# start_srv TAG: a fault server; its port in $TEST_TMP/TAG.port.
start_srv() {
	python3 "$SRV" > "$TEST_TMP/$1.port" 2>"$TEST_TMP/$1.srv.err" &
	PIDS+=($!)
}
# srv_port TAG: wait for the server's port.
srv_port() {
	local port
	for _ in $(seq 300); do [ -s "$TEST_TMP/$1.port" ] && break; sleep 0.1; done
	port=$(head -n 1 "$TEST_TMP/$1.port" 2>/dev/null)
	[ -n "$port" ] || { fail "fault server" "did not start: $(head -c 300 "$TEST_TMP/$1.srv.err")"; return 1; }
	echo "$port"
}

# run TAG CMD...: run the faults suite against TAG's server, output in $TEST_TMP/TAG.*
run() {
	local tag=$1 port
	shift
	port=$(srv_port "$tag") || return 1
	E2B_API_URL="http://127.0.0.1:$port" E2B_SANDBOX_URL="http://127.0.0.1:$port" \
		timeout 120 "$@" faults > "$TEST_TMP/$tag.out" 2>"$TEST_TMP/$tag.err"
	echo $? > "$TEST_TMP/$tag.rc"
}

# relay TAG PREFIX: relay TAP lines with a name prefix.
relay() {
	local tag=$1 prefix=$2 out rc
	out=$(cat "$TEST_TMP/$tag.out" 2>/dev/null)
	rc=$(cat "$TEST_TMP/$tag.rc" 2>/dev/null || echo 255)
	printf '%s\n' "$out" | sed -E "s#^(not ok|ok|skip) - #\\1 - $prefix#"
	grep -q '^not ok' <<<"$out" && _lib_failed=1
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
		fail "${prefix}faults" "exit $rc: $(grep -m3 -E '==[0-9]+==|error' "$TEST_TMP/$tag.err" | tr '\n' ' ')"
	fi
}

VG=0
command -v valgrind >/dev/null && [ "${E2B_SANITIZE:-0}" != 1 ] && VG=1
start_srv plain
[ $VG = 1 ] && start_srv vg
run plain "$ITEST" &
w=($!)
if [ $VG = 1 ]; then
	run vg valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect --error-exitcode=99 "$ITEST" &
	w+=($!)
fi
wait "${w[@]}"
relay plain ""
[ $VG = 1 ] && relay vg "valgrind-"
done_testing
