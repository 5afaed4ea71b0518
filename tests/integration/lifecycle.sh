#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sandbox lifecycle is real: pause freezes a running counter and resume
# continues it; timeouts kill (or pause with autoPause) and take every
# process with them; kill removes the layer; an e2bd restart (clean or
# SIGKILL) ends every sandbox process, keeps the files and lists the
# sandbox as paused, and resume brings it back.
. "$SRC_DIR/tests/lib.sh"

# start_bg ID CMD: start `bash -c CMD` and disconnect (the process lives on).
# Returns once the stream's first frame (the start event: the process
# runs) has arrived; the client goes away a second after the request.
start_bg() {
	local f
	f=$(mktemp "$TEST_TMP/env.XXXXXX")
	python3 - "$f" "$2" <<'EOF'
import json, sys
p = json.dumps({"process": {"cmd": "/bin/bash", "args": ["-c", sys.argv[2]]}, "stdin": False}).encode()
open(sys.argv[1], "wb").write(b"\0" + len(p).to_bytes(4, "big") + p)
EOF
	curl -sS -N --max-time 1 -X POST -H "E2b-Sandbox-Id: $1" -H 'Content-Type: application/connect+json' \
		--data-binary @"$f" "$E2BD_URL/process.Process/Start" > "$f.out" 2>/dev/null &
	local p=$! _
	for _ in $(seq 100); do
		[ -s "$f.out" ] && break
		kill -0 "$p" 2>/dev/null || break
		sleep 0.02
	done
	rm -f "$f" "$f.out"
}
# run ID CMD [USER]: stdout of `bash -c CMD` in the sandbox.
run() {
	local f auth=()
	[ -n "${3:-}" ] && auth=(-H "Authorization: Basic $(printf '%s:' "$3" | base64 -w0)")
	f=$(mktemp "$TEST_TMP/env.XXXXXX")
	python3 - "$f" "$2" <<'EOF'
import json, sys
p = json.dumps({"process": {"cmd": "/bin/bash", "args": ["-c", sys.argv[2]]}, "stdin": False}).encode()
open(sys.argv[1], "wb").write(b"\0" + len(p).to_bytes(4, "big") + p)
EOF
	curl -sS -N --max-time 20 -X POST -H "E2b-Sandbox-Id: $1" -H 'Content-Type: application/connect+json' \
		"${auth[@]}" --data-binary @"$f" "$E2BD_URL/process.Process/Start" | python3 -c '
import sys, json, base64
d = sys.stdin.buffer.read(); i = 0
while i + 5 <= len(d):
    n = int.from_bytes(d[i+1:i+5], "big"); j = json.loads(d[i+5:i+5+n]); i += 5 + n
    for v in j.get("event", {}).get("data", {}).values(): sys.stdout.write(base64.b64decode(v).decode("latin-1"))'
	rm -f "$f"
}
# host_procs MARK: number of host processes whose command line has MARK.
host_procs() { pgrep -f -- "$1" | wc -l; }
# wait_until SECONDS CMD...: poll CMD every 0.2 s.
wait_until() {
	local n=$(( $1 * 5 )); shift
	while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.2; n=$((n - 1)); done
	return 1
}
state_of() { api GET "/sandboxes/$1" | json_get "d.get('state','')" 2>/dev/null; }
gone_404() { api GET "/sandboxes/$1" > /dev/null; [ "$API_STATUS" = 404 ]; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
no_host_procs() { [ "$(host_procs "$1")" = 0 ]; }

MARK=$$$RANDOM

# --- pause freezes a running counter, resume continues it
ID=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "no sandbox"; done_testing; }
start_bg "$ID" 'i=0; while true; do i=$((i+1)); echo $i > /home/user/counter.tmp; mv /home/user/counter.tmp /home/user/counter; sleep 0.05; done'
# A sandbox's files live in its disk image (--disk-limit), mounted in
# e2bd's mount namespace: read them through e2bd's /proc/PID/root.
SBROOTS=/proc/$E2BD_PID/root$E2BD_STATE_DIR/sandboxes
COUNTER=$SBROOTS/$ID/rootfs/home/user/counter
sleep 0.5
c1=$(cat "$COUNTER" 2>/dev/null); sleep 0.5; c2=$(cat "$COUNTER" 2>/dev/null)
check "counter runs" test "${c2:-0}" -gt "${c1:-0}"
# A stream attached to a process while the sandbox pauses.
f=$(mktemp "$TEST_TMP/env.XXXXXX")
python3 - "$f" <<'EOF'
import json, sys
p = json.dumps({"process": {"cmd": "/bin/bash", "args": ["-c", "while true; do sleep 0.2; echo tick; done"]}, "tag": "pausewatch", "stdin": False}).encode()
open(sys.argv[1], "wb").write(b"\0" + len(p).to_bytes(4, "big") + p)
EOF
curl -sS -N --max-time 30 -X POST -H "E2b-Sandbox-Id: $ID" -H 'Content-Type: application/connect+json' \
	--data-binary @"$f" "$E2BD_URL/process.Process/Start" > "$TEST_TMP/pause-stream.bin" 2>/dev/null &
SPID=$!
sleep 0.6
api POST "/sandboxes/$ID/pause" > /dev/null
expect_eq "pause: 204" 204 "$API_STATUS"
check "pause: open process streams end" wait_until 5 sh -c "! kill -0 $SPID 2>/dev/null"
expect_eq "pause: the stream ends with unavailable" unavailable "$(python3 -c '
import sys, json
d = open(sys.argv[1], "rb").read(); i = 0; last = None
while i + 5 <= len(d):
    n = int.from_bytes(d[i+1:i+5], "big"); last = (d[i], json.loads(d[i+5:i+5+n])); i += 5 + n
print(last[1].get("error", {}).get("code", "") if last and last[0] & 2 else "no end-stream")' "$TEST_TMP/pause-stream.bin")"
expect_eq "pause: state paused" paused "$(state_of "$ID")"
p1=$(cat "$COUNTER"); sleep 1.5; p2=$(cat "$COUNTER")
expect_eq "paused counter does not advance" "$p1" "$p2"
api POST "/sandboxes/$ID/pause" > /dev/null
expect_eq "pause again: 409" 409 "$API_STATUS"
expect_eq "paused sandbox: envd answers 502" 502 "$(curl -sS -o /dev/null -w '%{http_code}' -H "E2b-Sandbox-Id: $ID" "$E2BD_URL/health")"
api POST "/sandboxes/$ID/resume" '{"timeout":300}' > /dev/null
expect_eq "resume: 201" 201 "$API_STATUS"
sleep 0.6; r1=$(cat "$COUNTER")
check "resumed counter continues" test "$r1" -gt "$p2"
check "resumed counter continues from where it stopped (no restart)" test "$r1" -lt $(( p2 + 100 ))
expect_eq "resumed sandbox runs processes" ok "$(run "$ID" 'echo ok')"
expect_eq "the process whose stream ended at pause still runs" 1 "$(rpc "$ID" process.Process/List '{}' | json_get "len([p for p in d.get('processes', []) if p.get('tag') == 'pausewatch'])")"

# --- kill ends every process and removes the layer
start_bg "$ID" "exec -a sleep-kill-$MARK sleep 600"
check "marker process runs on the host" wait_until 5 test "$(host_procs "sleep-kill-$MARK")" -ge 1
api DELETE "/sandboxes/$ID" > /dev/null
expect_eq "kill: 204" 204 "$API_STATUS"
check "kill: processes gone" wait_until 5 no_host_procs "sleep-kill-$MARK"
check "kill: layer removed" test ! -e "$E2BD_STATE_DIR/sandboxes/$ID"

# --- kill removes a tree deeper than PATH_MAX (nftw gave up on it before)
ID=$(new_sandbox '{"templateID":"base","timeout":120}') || { fail "create deep sandbox" "no sandbox"; done_testing; }
deep=$(run "$ID" 'cd /home/user && for i in $(seq 400); do mkdir d0123456789abcdefghijklmnopqrstu && cd d0123456789abcdefghijklmnopqrstu || exit 1; done; echo x > leaf; pwd | wc -c')
check "deep tree: a path of $deep bytes exists in the sandbox" test "${deep:-0}" -gt 8192
api DELETE "/sandboxes/$ID" > /dev/null
expect_eq "deep tree: kill 204" 204 "$API_STATUS"
check "deep tree: nothing left in the state directory" test ! -e "$E2BD_STATE_DIR/sandboxes/$ID"

# --- timeout expiry kills; autoPause pauses
ID=$(new_sandbox '{"templateID":"base","timeout":8}') || { fail "create short sandbox" "no sandbox"; done_testing; }
start_bg "$ID" "exec -a sleep-exp-$MARK sleep 600"
check "timeout: marker runs" wait_until 6 test "$(host_procs "sleep-exp-$MARK")" -ge 1
check "timeout: sandbox is gone after its timeout" wait_until 15 gone_404 "$ID"
check "timeout: its processes are gone" wait_until 5 no_host_procs "sleep-exp-$MARK"
# The API answers 404 as soon as the sandbox is dead, while its layer is
# still being removed by the timer thread.
check "timeout: layer removed" wait_until 10 test ! -e "$E2BD_STATE_DIR/sandboxes/$ID"

ID=$(new_sandbox '{"templateID":"base","timeout":4,"autoPause":true}') || { fail "create autoPause sandbox" "no sandbox"; done_testing; }
start_bg "$ID" 'i=0; while true; do i=$((i+1)); echo $i > /home/user/c.tmp; mv /home/user/c.tmp /home/user/c; sleep 0.05; done'
check "autoPause: paused after its timeout" wait_until 12 is_state "$ID" paused
C=$SBROOTS/$ID/rootfs/home/user/c
a1=$(cat "$C"); sleep 1; a2=$(cat "$C")
expect_eq "autoPause: counter frozen" "$a1" "$a2"
api POST "/sandboxes/$ID/resume" '{"timeout":60}' > /dev/null
sleep 0.5
check "autoPause: resume continues the counter" test "$(cat "$C")" -gt "$a2"
api DELETE "/sandboxes/$ID" > /dev/null

# --- restart of e2bd keeps files; sandboxes come back paused
PORT=$(free_port)
SD=$TEST_TMP/lifecycle-state
mkdir -p "$SD"
KEYF=$TEST_TMP/lifecycle-key
( umask 077; printf '%s\n' "$E2B_API_KEY" > "$KEYF" )
E2BD_PID2=
start_e2bd() {
	"$E2BD_BIN" --listen "127.0.0.1:$PORT" --state-dir "$SD" --api-key-file "$KEYF" \
		>> "$TEST_TMP/lifecycle-e2bd.log" 2>&1 &
	E2BD_PID2=$!
	disown "$E2BD_PID2"
	wait_until 10 curl -fs -o /dev/null "http://127.0.0.1:$PORT/health"
}
stop_e2bd() { # stop_e2bd SIGNAL
	[ -n "$E2BD_PID2" ] || return 0
	kill -"$1" "$E2BD_PID2" 2>/dev/null
	wait_until 10 sh -c "! kill -0 $E2BD_PID2 2>/dev/null"
	E2BD_PID2=
}
trap 'stop_e2bd KILL; _lib_cleanup' EXIT
MAIN_URL=$E2BD_URL
E2BD_URL=http://127.0.0.1:$PORT

if start_e2bd; then
	ok "restart: own e2bd starts"
	RID=$(api POST /sandboxes '{"templateID":"base","timeout":600}' | json_get "d['sandboxID']")
	run "$RID" 'echo keep-me > /home/user/keep.txt' > /dev/null
	run "$RID" 'mkdir -p /opt/mine && echo x > /opt/mine/y' root > /dev/null
	start_bg "$RID" "exec -a sleep-rs1-$MARK sleep 600"
	check "restart: marker runs" wait_until 5 test "$(host_procs "sleep-rs1-$MARK")" -ge 1
	stop_e2bd TERM
	check "restart: SIGTERM ends e2bd" test -z "$E2BD_PID2"
	check "restart: sandbox processes end with e2bd" wait_until 5 no_host_procs "sleep-rs1-$MARK"
	check "restart: no sandbox mount leaks into the host" sh -c "! grep -q '$SD' /proc/mounts"
	start_e2bd
	expect_eq "restart: sandbox listed as paused" paused "$(state_of "$RID")"
	expect_eq "restart: v2 list with state=paused has it" "$RID" "$(api GET '/v2/sandboxes?state=paused' | json_get "' '.join(s['sandboxID'] for s in d)")"
	api POST "/sandboxes/$RID/resume" '{"timeout":600}' > /dev/null
	expect_eq "restart: resume 201" 201 "$API_STATUS"
	expect_eq "restart: files kept (home)" keep-me "$(run "$RID" 'cat /home/user/keep.txt')"
	expect_eq "restart: files kept (overlay of /opt)" x "$(run "$RID" 'cat /opt/mine/y')"
	expect_eq "restart: /files sees them" keep-me "$(envd "$RID" GET '/files?path=/home/user/keep.txt' | tr -d '\n')"
	start_bg "$RID" "exec -a sleep-rs2-$MARK sleep 600"
	check "restart: new process runs" wait_until 5 test "$(host_procs "sleep-rs2-$MARK")" -ge 1
	stop_e2bd KILL
	check "restart: SIGKILL of e2bd still ends sandbox processes" wait_until 5 no_host_procs "sleep-rs2-$MARK"
	start_e2bd
	api POST "/sandboxes/$RID/connect" '{"timeout":600}' > /dev/null
	expect_eq "restart after SIGKILL: connect resumes (201)" 201 "$API_STATUS"
	expect_eq "restart after SIGKILL: files kept" keep-me "$(run "$RID" 'cat /home/user/keep.txt')"
	api DELETE "/sandboxes/$RID" > /dev/null
	expect_eq "restart: kill 204" 204 "$API_STATUS"
	check "restart: layer removed" test ! -e "$SD/sandboxes/$RID"
	stop_e2bd TERM
else
	fail "restart: own e2bd starts" "$(tail -3 "$TEST_TMP/lifecycle-e2bd.log")"
fi
E2BD_URL=$MAIN_URL

done_testing
