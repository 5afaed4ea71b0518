#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The process.Process service of e2bd's envd, driven with curl and
# hand-built Connect envelopes: Start (stream order, stdout/stderr,
# exit codes, signals, stdin, PTY, envs, cwd, tag, deadline, keepalive),
# Connect (live and late), List, SendInput, StreamInput, CloseStdin,
# SendSignal and Update, with envd's error codes and messages.
. "$SRC_DIR/tests/lib.sh"

ID=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "no sandbox"; done_testing; }
H=(-H "E2b-Sandbox-Id: $ID" -H 'E2b-Sandbox-Port: 49983')
ENVD_VERSION=$(api GET "/sandboxes/$ID" | json_get "d.get('envdVersion','')")

# envelope FILE JSON [FLAGS]: one Connect envelope (5-byte header + JSON).
envelope() {
	python3 - "$1" "$2" "${3:-0}" <<'EOF'
import sys
p = sys.argv[2].encode()
with open(sys.argv[1], "ab") as f:
    f.write(bytes([int(sys.argv[3])]) + len(p).to_bytes(4, "big") + p)
EOF
}

# decode: Connect stream on stdin → one line per frame:
#   start PID | stdout|stderr|pty TEXT(repr) | end JSON | keepalive | eos JSON
DECODE='
import sys, json, base64
d = sys.stdin.buffer.read()
i = 0
while i + 5 <= len(d):
    flags = d[i]; n = int.from_bytes(d[i+1:i+5], "big"); p = d[i+5:i+5+n]; i += 5 + n
    j = json.loads(p)
    if flags & 2:
        print("eos", json.dumps(j, sort_keys=True)); continue
    ev = j.get("event", {})
    if "start" in ev: print("start", ev["start"].get("pid", 0))
    elif "data" in ev:
        for k, v in ev["data"].items(): print(k, repr(base64.b64decode(v).decode("latin-1")))
    elif "end" in ev: print("end", json.dumps(ev["end"], sort_keys=True))
    elif "keepalive" in ev: print("keepalive")
    else: print("other", json.dumps(j))
if i != len(d): print("trailing", len(d) - i)
'

# stream PROCEDURE JSON [CURL ARGS...]: server-stream call, decoded frames on stdout.
stream() {
	local proc=$1 json=$2 f
	shift 2
	f=$(mktemp "$TEST_TMP/env.XXXXXX")
	envelope "$f" "$json"
	curl -sS -N -X POST "${H[@]}" -H 'Content-Type: application/connect+json' \
		-H 'Connect-Protocol-Version: 1' --data-binary @"$f" "$@" \
		"$E2BD_URL/process.Process/$proc" | python3 -c "$DECODE"
	rm -f "$f"
}
start() { stream Start "$@"; }
sh_req() { # sh_req CMD [EXTRA JSON FIELDS]: StartRequest for bash -l -c CMD
	python3 -c 'import json,sys; r={"process":{"cmd":"/bin/bash","args":["-l","-c",sys.argv[1]]}}; r.update(json.loads(sys.argv[2])); print(json.dumps(r))' "$1" "${2:-{\}}"
}
prpc() { rpc "$ID" "process.Process/$1" "$2"; }
# pcall PROC JSON: unary call in this shell; sets OUT (body) and ST (status).
pcall() { prpc "$1" "$2" > "$TEST_TMP/pcall.out"; OUT=$(cat "$TEST_TMP/pcall.out"); ST=$ENVD_STATUS; }
b64() { printf '%s' "$1" | base64 -w0; }
# wait_pid TAG: pid of the running process with TAG (polls List).
wait_pid() {
	local i pid
	for i in $(seq 50); do
		pid=$(prpc List '{}' | json_get "[p['pid'] for p in d.get('processes',[]) if p.get('tag')=='$1'][0] if [p for p in d.get('processes',[]) if p.get('tag')=='$1'] else ''")
		[ -n "$pid" ] && { echo "$pid"; return 0; }
		sleep 0.1
	done
	return 1
}
# gone PID: true once List no longer shows PID (polls up to 3 s).
gone() {
	local i
	for i in $(seq 30); do
		prpc List '{}' | json_get "$1 in [p['pid'] for p in d.get('processes',[])]" | grep -q False && return 0
		sleep 0.1
	done
	return 1
}

# --- Start: frame order, stdout/stderr, exit status
out=$(start "$(sh_req 'echo hi; echo oops >&2' '{"stdin":false}')")
expect_eq "start: first frame is start with a pid" start "$(echo "$out" | head -1 | cut -d' ' -f1)"
pid=$(echo "$out" | head -1 | cut -d' ' -f2)
check "start: pid is positive" test "$pid" -gt 0
expect_eq "start: stdout" "stdout 'hi\n'" "$(echo "$out" | grep '^stdout')"
expect_eq "start: stderr" "stderr 'oops\n'" "$(echo "$out" | grep '^stderr')"
expect_eq "start: end event for exit 0 (exitCode omitted)" 'end {"exited": true, "status": "exit status 0"}' "$(echo "$out" | grep '^end')"
expect_eq "start: end-stream {} last" 'eos {}' "$(echo "$out" | tail -1)"
expect_eq "start: end is just before end-stream" end "$(echo "$out" | tail -2 | head -1 | cut -d' ' -f1)"

out=$(start "$(sh_req 'exit 3' '{"stdin":false}')")
expect_eq "start: exit 3" 'end {"error": "exit status 3", "exitCode": 3, "exited": true, "status": "exit status 3"}' "$(echo "$out" | grep '^end')"
out=$(start "$(sh_req 'kill -9 $$')")
expect_eq "start: killed by signal" 'end {"error": "signal: killed", "exitCode": -1, "status": "signal: killed"}' "$(echo "$out" | grep '^end')"
out=$(start '{"process":{"cmd":"/no/such/cmd"},"stdin":false}')
expect_eq "start: missing command exits 127 (through /bin/sh like envd)" 127 "$(echo "$out" | grep '^end' | cut -d' ' -f2- | json_get "d.get('exitCode')")"

# --- envs, cwd, stdin false, large output
out=$(start "$(sh_req 'echo "$HOME $USER $LOGNAME $(pwd)"' '{"stdin":false}')")
expect_eq "start: HOME, USER, LOGNAME, default cwd" "stdout '/home/user user user /home/user\\n'" "$(echo "$out" | grep '^stdout')"
# E2B's default variables, in the environment and as /run/e2b/.E2B_* files
out=$(start "$(sh_req 'echo "$E2B_SANDBOX|$E2B_SANDBOX_ID|$E2B_TEMPLATE_ID|${#E2B_TEAM_ID}"; cd /run/e2b && for f in .E2B_SANDBOX .E2B_SANDBOX_ID .E2B_TEAM_ID .E2B_TEMPLATE_ID; do printf "%s " "$(cat $f)"; done; echo; test "$(cat .E2B_TEAM_ID)" = "$E2B_TEAM_ID" && echo same-team' '{"stdin":false}')")
env_out=$(echo "$out" | grep '^stdout' | python3 -c 'import sys,ast; print("".join(ast.literal_eval(x.split(" ",1)[1]) for x in sys.stdin), end="")')
expect_eq "start: E2B_SANDBOX, E2B_SANDBOX_ID, E2B_TEMPLATE_ID, E2B_TEAM_ID set" "true|$ID|base|36" "$(echo "$env_out" | sed -n 1p)"
case "$(echo "$env_out" | sed -n 2p)" in
"true $ID "*" base ") ok "start: /run/e2b/.E2B_* files readable by user" ;;
*) fail "start: /run/e2b/.E2B_* files readable by user" "$(echo "$env_out" | sed -n 2p)" ;;
esac
expect_eq "start: /run/e2b/.E2B_TEAM_ID matches the environment" same-team "$(echo "$env_out" | sed -n 3p)"
R_envs=$(envd "$ID" GET /envs)
expect_eq "GET /envs has the same four variables" "true $ID base 36" \
	"$(printf '%s' "$R_envs" | json_get 'd["E2B_SANDBOX"]+" "+d["E2B_SANDBOX_ID"]+" "+d["E2B_TEMPLATE_ID"]+" "+str(len(d["E2B_TEAM_ID"]))')"
out=$(start '{"process":{"cmd":"/bin/bash","args":["-c","echo $FOO:$BAR; pwd"],"envs":{"FOO":"foo","BAR":"b a r"},"cwd":"/tmp"},"stdin":false}')
expect_eq "start: envs and cwd" "stdout 'foo:b a r\n/tmp\n'" "$(echo "$out" | grep '^stdout' | python3 -c 'import sys,ast; l=[ast.literal_eval(x.split(" ",1)[1]) for x in sys.stdin]; print("stdout", repr("".join(l)))')"
out=$(start '{"process":{"cmd":"/bin/pwd","cwd":"sub/dir"},"stdin":false}')
expect_eq "start: missing cwd is invalid_argument in the end-stream" "eos {\"error\": {\"code\": \"invalid_argument\", \"message\": \"cwd '/home/user/sub/dir' does not exist\"}}" "$out"
out=$(start '{"process":{"cmd":"/bin/bash","args":["-c","true"],"cwd":"/etc/passwd"},"stdin":false}')
expect_eq "start: cwd that is a file is a start error" "eos {\"error\": {\"code\": \"invalid_argument\", \"message\": \"error starting process '/bin/bash -c true': chdir /etc/passwd: not a directory\"}}" "$out"
out=$(start '{"process":{"cmd":"/bin/ls","cwd":"/root"},"stdin":false}')
expect_eq "start: cwd the user may not enter" "eos {\"error\": {\"code\": \"invalid_argument\", \"message\": \"error starting process '/bin/ls': chdir /root: permission denied\"}}" "$out"
out=$(start '{"process":{"cmd":"/bin/bash","args":["-c","cat; echo rc=$?"]},"stdin":false}')
expect_eq "start: stdin false reads /dev/null" "stdout 'rc=0\n'" "$(echo "$out" | grep '^stdout')"
out=$(start "$(sh_req 'head -c 200000 /dev/zero | tr "\0" a' '{"stdin":false}')")
total=$(echo "$out" | grep '^stdout' | python3 -c 'import sys,ast; l=[len(ast.literal_eval(x.split(" ",1)[1])) for x in sys.stdin]; print(sum(l), max(l))')
expect_eq "start: 200000 bytes of stdout arrive" 200000 "${total% *}"
# e2bd reads up to 256 KiB at once (envd: 32 KiB), fewer messages for fast writers.
check "start: stdout chunks are at most 256 KiB" test "${total#* }" -le 262144

# --- tag, List, SendInput, CloseStdin
start "$(sh_req 'read a; echo "got $a"; cat; echo done' '{"tag":"cat1"}')" > "$TEST_TMP/cat1.out" &
spid=$!
if pid=$(wait_pid cat1); then
	ok "list: shows the tagged process"
	info=$(prpc List '{}' | json_get "[p for p in d['processes'] if p['pid']==$pid][0]")
	expect_eq "list: config as sent" "{'cmd': '/bin/bash', 'args': ['-l', '-c', 'read a; echo \"got \$a\"; cat; echo done']}" "$(echo "$info" | python3 -c 'import sys,ast; d=ast.literal_eval(sys.stdin.read()); print(d["config"])')"
	expect_eq "send input: 200 {}" '{}' "$(prpc SendInput "{\"process\":{\"pid\":$pid},\"input\":{\"stdin\":\"$(b64 $'one\ntwo\n')\"}}")"
	expect_eq "send input by tag: 200" '{}' "$(prpc SendInput "{\"process\":{\"tag\":\"cat1\"},\"input\":{\"stdin\":\"$(b64 $'three\n')\"}}")"
	pcall SendInput "{\"process\":{\"pid\":$pid},\"input\":{\"pty\":\"eA==\"}}"
	expect_eq "send input to pty of a pipe process: internal" '500 internal' "$ST $(echo "$OUT" | json_get "d['code']")"
	pcall SendInput "{\"process\":{\"pid\":$pid}}"
	expect_eq "send input without input: unimplemented 501" 501 "$ST"
	expect_eq "update without pty on pipe process: 200" '{}' "$(prpc Update "{\"process\":{\"pid\":$pid}}")"
	pcall Update "{\"process\":{\"pid\":$pid},\"pty\":{\"size\":{\"cols\":10,\"rows\":10}}}"; out=$OUT
	expect_eq "update resize without a tty: internal" '500 internal error resizing tty: tty not assigned to process' "$ST $(echo "$out" | json_get "d['code']+' '+d['message']")"
	expect_eq "close stdin: 200" '{}' "$(prpc CloseStdin "{\"process\":{\"pid\":$pid}}")"
	wait $spid
	expect_eq "stdin reached the process, EOF ended it" "got one|two|three|done|" "$(grep '^stdout' "$TEST_TMP/cat1.out" | python3 -c 'import sys,ast; print("".join(ast.literal_eval(x.split(" ",1)[1]) for x in sys.stdin).replace("\n","|"))')"
	pcall SendInput "{\"process\":{\"pid\":$pid},\"input\":{\"stdin\":\"eA==\"}}"; out=$OUT
	expect_eq "send input after exit: not_found" "404 process with pid $pid not found" "$ST $(echo "$out" | json_get "d['message']")"
else
	fail "list: shows the tagged process" "not listed"
	kill $spid 2>/dev/null
fi
pcall SendInput '{"process":{"pid":999999},"input":{"stdin":"eA=="}}'; out=$OUT
expect_eq "send input unknown pid: not_found" '404 not_found process with pid 999999 not found' "$ST $(echo "$out" | json_get "d['code']+' '+d['message']")"
pcall CloseStdin '{"process":{"tag":"nosuchtag"}}'; out=$OUT
expect_eq "close stdin unknown tag: not_found" '404 process with tag nosuchtag not found' "$ST $(echo "$out" | json_get "d['message']")"
expect_eq "list with an empty body: 400" 400 "$(curl -sS -o /dev/null -w '%{http_code}' "${H[@]}" -H 'Content-Type: application/json' --data-binary '' "$E2BD_URL/process.Process/List")"

# --- StreamInput (client stream)
start "$(sh_req 'cat' '{"tag":"cat2"}')" > "$TEST_TMP/cat2.out" &
spid=$!
if pid=$(wait_pid cat2); then
	f=$TEST_TMP/si.bin; : > "$f"
	envelope "$f" "{\"start\":{\"process\":{\"pid\":$pid}}}"
	envelope "$f" "{\"data\":{\"input\":{\"stdin\":\"$(b64 'abc')\"}}}"
	envelope "$f" '{"keepalive":{}}'
	envelope "$f" "{\"data\":{\"input\":{\"stdin\":\"$(b64 $'def\n')\"}}}"
	out=$(curl -sS -X POST "${H[@]}" -H 'Content-Type: application/connect+json' --data-binary @"$f" "$E2BD_URL/process.Process/StreamInput" | python3 -c "$DECODE" 2>&1)
	expect_eq "stream input: answered with end-stream {}" 'eos {}' "$(echo "$out" | tail -1)"
	prpc CloseStdin "{\"process\":{\"pid\":$pid}}" > /dev/null
	wait $spid
	expect_eq "stream input: data reached stdin" "stdout 'abcdef\n'" "$(grep '^stdout' "$TEST_TMP/cat2.out" | python3 -c 'import sys,ast; print("stdout", repr("".join(ast.literal_eval(x.split(" ",1)[1]) for x in sys.stdin)))')"
else
	fail "stream input: process listed" "not listed"
	kill $spid 2>/dev/null
fi

# --- PTY
start '{"process":{"cmd":"/bin/bash","args":["-i","-l"],"envs":{"TERM":"xterm-256color"}},"pty":{"size":{"cols":80,"rows":24}},"tag":"pty1"}' > "$TEST_TMP/pty.out" &
spid=$!
if pid=$(wait_pid pty1); then
	expect_eq "pty: update resize 200" '{}' "$(prpc Update "{\"process\":{\"pid\":$pid},\"pty\":{\"size\":{\"cols\":123,\"rows\":45}}}")"
	pcall SendInput "{\"process\":{\"pid\":$pid},\"input\":{\"stdin\":\"eA==\"}}"; out=$OUT
	expect_eq "pty: stdin input is internal error" 500 "$ST"
	pcall CloseStdin "{\"process\":{\"pid\":$pid}}"; out=$OUT
	expect_eq "pty: close stdin is unknown error" '500 unknown' "$ST $(echo "$out" | json_get "d['code']")"
	pcall SendInput "{\"process\":{\"pid\":$pid},\"input\":{\"pty\":\"$(b64 $'stty size; tty; exit 7\n')\"}}"
	expect_eq "pty: input 200" 200 "$ST"
	wait $spid
	expect_eq "pty: output only as pty data" "" "$(grep -E '^(stdout|stderr)' "$TEST_TMP/pty.out")"
	ptyout=$(grep '^pty' "$TEST_TMP/pty.out" | python3 -c 'import sys,ast; print("".join(ast.literal_eval(x.split(" ",1)[1]) for x in sys.stdin))')
	check "pty: stty sees the resized window" grep -q '45 123' <<< "$ptyout"
	check "pty: a terminal of the sandbox's own devpts" grep -q '/dev/pts/' <<< "$ptyout"
	expect_eq "pty: exit code" 7 "$(grep '^end' "$TEST_TMP/pty.out" | cut -d' ' -f2- | json_get "d.get('exitCode')")"
	check "pty: chunks at most 16 KiB" test "$(grep '^pty' "$TEST_TMP/pty.out" | python3 -c 'import sys,ast; print(max(len(ast.literal_eval(x.split(" ",1)[1])) for x in sys.stdin))')" -le 16384
else
	fail "pty: process listed" "not listed"
	kill $spid 2>/dev/null
fi

# --- SendSignal, Connect (live), late Connect
start "$(sh_req 'for i in $(seq 600); do echo tick $i; sleep 0.1; done' '{"tag":"tick","stdin":false}')" --max-time 1 > /dev/null 2>&1
if pid=$(wait_pid tick); then
	ok "client disconnect does not kill the process"
	stream Connect "{\"process\":{\"pid\":$pid}}" > "$TEST_TMP/conn.out" &
	cpid=$!
	sleep 0.6
	pcall SendSignal "{\"process\":{\"pid\":$pid},\"signal\":\"SIGNAL_UNSPECIFIED\"}"; out=$OUT
	expect_eq "signal unspecified: unimplemented" '501 unimplemented invalid signal: SIGNAL_UNSPECIFIED' "$ST $(echo "$out" | json_get "d['code']+' '+d['message']")"
	expect_eq "signal SIGTERM: 200" '{}' "$(prpc SendSignal "{\"process\":{\"tag\":\"tick\"},\"signal\":\"SIGNAL_SIGTERM\"}")"
	wait $cpid
	expect_eq "connect: start with the same pid" "start $pid" "$(head -1 "$TEST_TMP/conn.out")"
	check "connect: gets new output" grep -q "^stdout 'tick" "$TEST_TMP/conn.out"
	expect_eq "connect: end after SIGTERM" 'end {"error": "signal: terminated", "exitCode": -1, "status": "signal: terminated"}' "$(grep '^end' "$TEST_TMP/conn.out")"
	out=$(stream Connect "{\"process\":{\"pid\":$pid}}")
	# envd keeps ended processes for a late Connect from 0.6.12 on.
	if [ "$(printf '%s\n' "$ENVD_VERSION" 0.6.12 | sort -V | head -1)" = 0.6.12 ]; then
		expect_eq "late connect: start + end + end-stream" "start $pid|end {\"error\": \"signal: terminated\", \"exitCode\": -1, \"status\": \"signal: terminated\"}|eos {}" "$(echo "$out" | tr '\n' '|' | sed 's/|$//')"
	else
		expect_eq "late connect (envd $ENVD_VERSION < 0.6.12): not_found" "eos {\"error\": {\"code\": \"not_found\", \"message\": \"process with pid $pid not found\"}}" "$out"
	fi
	pcall SendSignal "{\"process\":{\"pid\":$pid},\"signal\":\"SIGNAL_SIGKILL\"}"; out=$OUT
	expect_eq "signal after exit: not_found" 404 "$ST"
else
	fail "client disconnect does not kill the process" "not listed"
fi
out=$(stream Connect '{"process":{"pid":999999}}')
expect_eq "connect unknown pid: not_found end-stream" 'eos {"error": {"code": "not_found", "message": "process with pid 999999 not found"}}' "$out"
pcall SendSignal '{"process":{"pid":999999},"signal":"SIGNAL_SIGKILL"}'; out=$OUT
expect_eq "signal unknown pid: not_found" 404 "$ST"
pcall SendSignal '{"process":{},"signal":"SIGNAL_SIGKILL"}'; out=$OUT
expect_eq "signal with empty selector: unimplemented" 501 "$ST"

# --- SIGKILL through SendSignal, seen by the Start stream
start "$(sh_req 'sleep 100' '{"tag":"sleeper"}')" > "$TEST_TMP/kill.out" &
spid=$!
if pid=$(wait_pid sleeper); then
	expect_eq "close stdin: 200" '{}' "$(prpc CloseStdin "{\"process\":{\"pid\":$pid}}")"
	expect_eq "close stdin twice: no-op 200" '{}' "$(prpc CloseStdin "{\"process\":{\"pid\":$pid}}")"
	prpc SendSignal "{\"process\":{\"pid\":$pid},\"signal\":\"SIGNAL_SIGKILL\"}" > /dev/null
	wait $spid
	expect_eq "sigkill: end event" 'end {"error": "signal: killed", "exitCode": -1, "status": "signal: killed"}' "$(grep '^end' "$TEST_TMP/kill.out")"
else
	fail "sigkill: process listed" "not listed"
	kill $spid 2>/dev/null
fi

# --- Connect-Timeout-Ms kills the process; keepalives
t0=$(date +%s%N)
out=$(start "$(sh_req 'echo up; sleep 30' '{"tag":"deadline"}')" -H 'Connect-Timeout-Ms: 1500')
t1=$(date +%s%N)
expect_eq "deadline: end-stream deadline_exceeded" deadline_exceeded "$(echo "$out" | tail -1 | cut -d' ' -f2- | json_get "d['error']['code']")"
check "deadline: stream ended after ~1.5 s" test $(( (t1 - t0) / 1000000 )) -lt 5000
pid=$(echo "$out" | head -1 | cut -d' ' -f2)
check "deadline: the process was killed" gone "$pid"
t0=$(date +%s%N)
start "$(sh_req 'sleep 30' '{"tag":"deadline2"}')" -H 'Connect-Timeout-Ms: 3000' --max-time 0.7 > /dev/null 2>&1
if pid=$(wait_pid deadline2); then
	ok "deadline after the client left: the process outlives the stream"
	left=$(( 3300 - ($(date +%s%N) - t0) / 1000000 ))
	[ "$left" -gt 0 ] && sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
	check "deadline after the client left: killed at the deadline" gone "$pid"
else
	fail "deadline after the client left: the process outlives the stream" "not listed"
fi
out=$(start "$(sh_req 'sleep 2.5; echo late' '{"stdin":false}')" -H 'Keepalive-Ping-Interval: 1')
check "keepalive: events while the process is silent" test "$(echo "$out" | grep -c '^keepalive')" -ge 1
expect_eq "keepalive: output still arrives" "stdout 'late\n'" "$(echo "$out" | grep '^stdout')"

# --- Basic-auth user
out=$(start "$(sh_req 'id -un; echo $HOME' '{"stdin":false}')" -H "Authorization: Basic $(b64 'root:')")
expect_eq "basic auth root: runs as root" "stdout 'root\n/root\n'" "$(echo "$out" | grep '^stdout' | python3 -c 'import sys,ast; print("stdout", repr("".join(ast.literal_eval(x.split(" ",1)[1]) for x in sys.stdin)))')"

done_testing
