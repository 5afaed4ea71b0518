#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2b_process_poll() returns as soon as output has arrived: 20,000
# request/answer exchanges over one process stream (the pattern of e2bfs's
# metadata helper), with StreamInput and with SendInput, each exchange
# polled with a 15 s timeout; one taking over 1 s is a stall.  Before the
# fix, output read by the pump's first perform waited for the poll's
# timeout (about 6 stalls of 15 s per 2,000 SendInput exchanges).
. "$SRC_DIR/tests/lib.sh"

STALL=$BUILD_DIR/client/e2b-client-stall
[ -x "$STALL" ] || { fail "client stall" "missing $STALL"; done_testing; }
n=20000
[ "${E2B_SANITIZE:-0}" = 1 ] && n=5000
for m in stream send; do
	out=$(timeout 200 "$STALL" "$n" "$m" 150 2>&1)
	printf '%s\n' "$out" | grep '^#'
	if grep -q '^ok - ' <<<"$out" && grep -q "^# $n exchanges" <<<"$out"; then
		ok "$n exchanges over one process stream ($m), no stall"
	else
		fail "exchanges over one process stream ($m)" "$(grep -v '^#' <<<"$out" | head -n 3 | tr '\n' ' ')"
	fi
done
done_testing
