#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl run's connection agent (tools/agent.c): a run through the agent
# gives the same stdout, stderr and exit code as a direct one (success,
# failure, stdin, errors, a timeout, a forwarded Ctrl-C); the agent is
# reused, exits when idle and when killed mid-run leaves a clear error; its
# directory is private and other uids are refused; another API key gets
# another agent; E2BCTL_AGENT=no runs directly.
. "$SRC_DIR/tests/tools/cli-lib.sh"

# A private runtime directory (the agents' sockets and the sandbox cache);
# removing it at the end makes its agents exit.
RUN=$(mktemp -d /tmp/e2bctl-agent-test.XXXXXX)
chmod 711 "$RUN"
export XDG_RUNTIME_DIR=$RUN/a
mkdir -m 700 "$XDG_RUNTIME_DIR"
AGENTS=()
cleanup_agents() {
	rm -rf "$RUN"
	for p in "${AGENTS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	_lib_cleanup
}
trap cleanup_agents EXIT
export E2BCTL_AGENT_IDLE=300

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }

# who [ENV=V...]: "AGENT_PID RUNS" of the agent serving a run now.
who() {
	local err
	err=$(env "$@" "$C" --api-url "$E2BD_URL" --domain "localhost:$E2BD_PORT" --scheme http \
		-v run "$id" true 2>&1 < /dev/null)
	sed -n 's/.*agent: run by agent \([0-9]*\) (worker [0-9]*, run \([0-9]*\)).*/\1 \2/p' <<<"$err"
}
# who_up [ENV=V...]: who, once an agent answers (up to 10 s: a run that
# starts one runs directly, and the agent binds its socket a moment later).
who_up() {
	local _ w
	for _ in $(seq 100); do
		w=$(who "$@")
		[ -n "$w" ] && { echo "$w"; return 0; }
		sleep 0.1
	done
	return 1
}
# wait_gone PID: up to 10 s for a process to exit.
wait_gone() {
	local _
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}

# The first run starts the agent and runs directly; $(...) must not wait
# for the agent (it keeps none of our descriptors).
rc ctl native -v run "$id" echo first < /dev/null
expect_eq "first run works" "0 first" "$RC $OUT"
[[ $ERR == *"agent: none running; starting one"* ]] && ok "first run starts an agent" ||
	fail "first run starts an agent" "$ERR"
read -r apid n1 <<<"$(who_up)"
[ -n "$apid" ] && AGENTS+=("$apid")
[ -n "$apid" ] && ok "a run is served by the agent" || fail "a run is served by the agent" "$(who)"
expect_eq "socket directory is 0700" 700 "$(stat -c %a "$XDG_RUNTIME_DIR/e2bctl")"
sock=$(ls "$XDG_RUNTIME_DIR"/e2bctl/agent-* | grep -v '\.lock$')
expect_eq "socket is 0600" 600 "$(stat -c %a "$sock")"

# The worker keeps its connection: from its second run on, none is opened.
rc ctl native -v run "$id" true < /dev/null
[[ $ERR == *"agent: run by agent"* && $ERR == *"Start -> 200"*"opened 0 new connection(s)"* ]] &&
	ok "a run through the agent finds a warm connection" ||
	fail "a run through the agent finds a warm connection" "$ERR"
read -r apid2 n2 <<<"$(who)"
expect_eq "the agent is reused" "$apid $((n1 + 2))" "$apid2 $n2"

# Runs at once are not queued behind one another: another worker serves.
"$C" --api-url "$E2BD_URL" --domain "localhost:$E2BD_PORT" --scheme http -v \
	run "$id" 'echo started; sleep 60' > "$TEST_TMP/long.out" 2> "$TEST_TMP/long.err" < /dev/null &
lp=$!
for _ in $(seq 100); do grep -qs started "$TEST_TMP/long.out" && break; sleep 0.1; done
rc ctl native -v run "$id" echo short < /dev/null
w1=$(sed -n 's/.*agent: run by agent [0-9]* (worker \([0-9]*\).*/\1/p' "$TEST_TMP/long.err")
w2=$(sed -n 's/.*agent: run by agent [0-9]* (worker \([0-9]*\).*/\1/p' <<<"$ERR")
if [ "$RC $OUT" = "0 short" ] && kill -0 "$lp" 2>/dev/null && [ -n "$w1" ] && [ -n "$w2" ] && [ "$w1" != "$w2" ]; then
	ok "a run beside a long one gets its own worker"
else
	fail "a run beside a long one gets its own worker" "$RC $OUT, workers '$w1' '$w2'"
fi
kill -INT "$lp"
wait_gone "$lp" || kill -KILL "$lp"
read -r _ n2 <<<"$(who)"

# Many at once: each gets its own output and exit code (beyond the
# agent's workers, the agent hangs up and they run directly).
for i in $(seq 24); do
	ctl native run "$id" "echo out-$i; echo err-$i >&2; exit $((i % 5))" \
		> "$TEST_TMP/many.$i.out" 2> "$TEST_TMP/many.$i.err" < /dev/null &
	pids[i]=$!
done
bad=
for i in $(seq 24); do
	wait "${pids[i]}"
	got="$?|$(cat "$TEST_TMP/many.$i.out")|$(cat "$TEST_TMP/many.$i.err")"
	[ "$got" = "$((i % 5))|out-$i|err-$i" ] || bad="$bad [$i: $got]"
done
[ -z "$bad" ] && ok "24 runs at once" || fail "24 runs at once" "$bad"
read -r _ n2 <<<"$(who)"

# Same stdout, stderr and exit code with and without the agent.
calls=0
same() { # same NAME ARGS... (to ctl native, stdin /dev/null)
	local name=$1 d
	shift
	E2BCTL_AGENT=no rc ctl native "$@" < /dev/null
	d="$RC|$OUT|$ERR"
	rc ctl native "$@" < /dev/null
	calls=$((calls + 1))
	expect_eq "$name: agent = direct" "$d" "$RC|$OUT|$ERR"
}
same "success" run "$id" 'echo out; echo err >&2'
same "exit code" run "$id" -- sh -c 'echo bye; exit 3'
same "argv quoting" run "$id" -- printf '%s|' 'a b' "c'd" '$HOME'
same "--cwd --env --user" run "$id" --cwd /tmp --env A=1 --env B=two --user root 'echo "$A $B $(pwd) $(id -un)"'
same "killed by a signal" run "$id" 'kill -USR1 $$'
same "unknown sandbox" run nosuchsandbox true
same "bad option value" run "$id" --timeout x true
same "timeout" run "$id" --timeout 1 'echo start; sleep 10'
same "--json is ignored by run" --json run "$id" 'echo j'
eqform() { "$C" --api-url="$E2BD_URL" --domain="localhost:$E2BD_PORT" --scheme=http run --cwd=/tmp --env=A=b "$id" 'echo $A $(pwd)'; }
calls=$((calls + 1))
d=$(E2BCTL_AGENT=no eqform 2>&1 < /dev/null; echo "rc=$?")
a=$(eqform 2>&1 < /dev/null; echo "rc=$?")
expect_eq "--opt=value forms: agent = direct" "$d" "$a"
expect_eq "--opt=value forms work" "b /tmp
rc=0" "$a"
# start, ps and signal go through the agent too.
same "ps" ps "$id"
same "ps --json" --json ps "$id"
same "ps of an unknown sandbox" ps nosuchsandbox
same "signal to an unknown pid" signal "$id" 999999
same "signal with a bad name" signal "$id" 1 HUP
E2BCTL_AGENT=no rc ctl native --json start "$id" -- sleep 30 < /dev/null
d="$RC|$(sed 's/"pid": [0-9]*/"pid": N/' <<<"$OUT")|$ERR"
rc ctl native --json start "$id" -- sleep 30 < /dev/null
calls=$((calls + 1))
expect_eq "start --json: agent = direct" "$d" "$RC|$(sed 's/"pid": [0-9]*/"pid": N/' <<<"$OUT")|$ERR"
spid=$(jq_py 'd["pid"]' <<<"$OUT")
rc ctl native signal "$id" "$spid" KILL < /dev/null
calls=$((calls + 1))
expect_eq "signal through the agent" "0" "$RC"
read -r _ n3 <<<"$(who)"
expect_eq "those runs went through the agent" "$((n2 + calls + 1))" "$n3"
same "no command" run "$id"

# stdin: a pipe and a file.
d=$(printf 'x\ny' | E2BCTL_AGENT=no ctl native run "$id" -- cat 2>&1; echo "rc=$?")
a=$(printf 'x\ny' | ctl native run "$id" -- cat 2>&1; echo "rc=$?")
expect_eq "piped stdin: agent = direct" "$d" "$a"
expect_eq "piped stdin arrives" "x
yrc=0" "$a"
head -c 300000 /dev/urandom > "$TEST_TMP/in.bin"
want=$(sha256sum < "$TEST_TMP/in.bin" | cut -d' ' -f1)
got=$(ctl native run "$id" -- sha256sum < "$TEST_TMP/in.bin" | cut -d' ' -f1)
expect_eq "file stdin arrives whole" "$want" "$got"
got=$(printf ignored | ctl native run -n "$id" 'cat; echo done')
expect_eq "run -n does not forward stdin" "done" "$got"
# Its output pipe closed early: 141 as for a direct run.
d=$(E2BCTL_AGENT=no ctl native run "$id" 'yes | head -c 2000000' < /dev/null | head -c 10 > /dev/null; echo "${PIPESTATUS[0]}")
a=$(ctl native run "$id" 'yes | head -c 2000000' < /dev/null | head -c 10 > /dev/null; echo "${PIPESTATUS[0]}")
expect_eq "closed output pipe: agent = direct" "$d" "$a"

# "." resolves against the caller's directory, not the agent's: outside a
# mount both say the same.
d=$(cd "$TEST_TMP" && E2BCTL_AGENT=no ctl native run . true 2>&1 < /dev/null; echo "rc=$?")
a=$(cd "$TEST_TMP" && ctl native run . true 2>&1 < /dev/null; echo "rc=$?")
expect_eq "'.' outside a mount: agent = direct" "$d" "$a"

# Ctrl-C is forwarded: SIGTERM to the command, exit 143 as for a direct run.
sigrun() { # sigrun ENV...: prints "RC|OUT"
	env "$@" "$C" --api-url "$E2BD_URL" --domain "localhost:$E2BD_PORT" --scheme http \
		run "$id" 'echo started; sleep 60' > "$TEST_TMP/sig.out" 2> "$TEST_TMP/sig.err" < /dev/null &
	local p=$! _
	for _ in $(seq 100); do grep -qs started "$TEST_TMP/sig.out" && break; sleep 0.1; done
	kill -INT "$p"
	wait_gone "$p" || { kill -KILL "$p"; echo "hung"; return; }
	wait "$p"
	echo "$?|$(cat "$TEST_TMP/sig.out")|$(cat "$TEST_TMP/sig.err")"
}
d=$(sigrun E2BCTL_AGENT=no)
a=$(sigrun)
expect_eq "Ctrl-C: agent = direct" "$d" "$a"
expect_eq "Ctrl-C ends the command" "143|started|" "$a"

# A client that dies (SIGKILL) leaves the command running, as a direct run
# that dies does; its worker goes back to serving.
"$C" --api-url "$E2BD_URL" --domain "localhost:$E2BD_PORT" --scheme http -v \
	run "$id" 'echo started; sleep 61' > "$TEST_TMP/die.out" 2> "$TEST_TMP/die.err" < /dev/null &
p=$!
for _ in $(seq 100); do grep -qs started "$TEST_TMP/die.out" && break; sleep 0.1; done
w=$(sed -n 's/.*agent: run by agent [0-9]* (worker \([0-9]*\).*/\1/p' "$TEST_TMP/die.err")
kill -KILL "$p"
back=
for _ in $(seq 100); do
	who_w=$("$C" --api-url "$E2BD_URL" --domain "localhost:$E2BD_PORT" --scheme http -v run "$id" true 2>&1 < /dev/null |
		sed -n 's/.*agent: run by agent [0-9]* (worker \([0-9]*\).*/\1/p')
	[ -n "$w" ] && [ "$who_w" = "$w" ] && { back=1; break; }
done
[ -n "$back" ] && ok "the worker of a killed client serves again" || fail "the worker of a killed client serves again" "worker '$w'"
ctl native ps "$id" | grep -q 'sleep 61' && ok "a killed client's command keeps running" ||
	fail "a killed client's command keeps running" "$(ctl native ps "$id")"
ctl native run "$id" 'pkill -f "sleep 61"' < /dev/null

# Another uid: the directory keeps it out, and the agent refuses it even
# when the directory is opened up (SO_PEERCRED).
try_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect:", e.errno); sys.exit()
try:
    print({b"U": "refused: uid"}.get(s.recv(64), "other answer"))
except OSError as e:
    print("error", e.errno)' "$sock"
}
expect_eq "another uid cannot reach the socket" "connect: 13" "$(try_nobody)"
chmod 711 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/e2bctl"
chmod 666 "$sock"
expect_eq "the agent refuses another uid (SO_PEERCRED)" "refused: uid" "$(try_nobody)"
rc ctl native -v run "$id" echo open < /dev/null
[ "$RC $OUT" = "0 open" ] && [[ $ERR == *"not used: socket directory is open to other users"* ]] &&
	ok "a directory open to others is not used" || fail "a directory open to others is not used" "$RC $OUT $ERR"
chmod 700 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/e2bctl"
chmod 600 "$sock"
read -r apid3 _ <<<"$(who)"
expect_eq "the agent still serves its user" "$apid" "$apid3"

# Another API key: another agent (which gets the same refusal as a direct
# run), never the first one.
read -r opid _ <<<"$(who_up E2B_API_KEY=e2b_other)"
[ -n "$opid" ] && AGENTS+=("$opid")
[ -n "$opid" ] && [ "$opid" != "$apid" ] && ok "another key gets another agent" ||
	fail "another key gets another agent" "'$opid' vs '$apid'"
d=$(E2BCTL_AGENT=no E2B_API_KEY=e2b_other ctl native run nosuch true 2>&1 < /dev/null; echo "rc=$?")
a=$(E2B_API_KEY=e2b_other ctl native run nosuch true 2>&1 < /dev/null; echo "rc=$?")
expect_eq "another key: agent = direct" "$d" "$a"

# E2BCTL_AGENT=no: no agent at all.
mkdir -m 700 "$RUN/b"
rc env XDG_RUNTIME_DIR="$RUN/b" E2BCTL_AGENT=no "$C" --api-url "$E2BD_URL" --domain "localhost:$E2BD_PORT" \
	--scheme http -v run "$id" echo direct < /dev/null
[ "$RC $OUT" = "0 direct" ] && [[ $ERR != *"agent:"* ]] && ! ls "$RUN/b/e2bctl"/agent-* > /dev/null 2>&1 &&
	ok "E2BCTL_AGENT=no runs directly" || fail "E2BCTL_AGENT=no runs directly" "$RC $OUT $ERR"

# Killed mid-run: a clear error, no hang; the next run starts a new one.
"$C" --api-url "$E2BD_URL" --domain "localhost:$E2BD_PORT" --scheme http \
	run "$id" 'echo started; sleep 60' > "$TEST_TMP/kill.out" 2> "$TEST_TMP/kill.err" < /dev/null &
p=$!
for _ in $(seq 100); do grep -qs started "$TEST_TMP/kill.out" && break; sleep 0.1; done
kill -KILL "$apid"
if wait_gone "$p"; then
	wait "$p"
	RC=$?
	expect_eq "agent killed mid-run: error" "1|e2bctl: lost the connection agent while the command ran" \
		"$RC|$(cat "$TEST_TMP/kill.err")"
else
	kill -KILL "$p"
	fail "agent killed mid-run: no hang" "still running"
fi
rc ctl native run "$id" echo after < /dev/null
expect_eq "a run after the agent died works" "0 after" "$RC $OUT"
read -r apid4 _ <<<"$(who_up)"
[ -n "$apid4" ] && AGENTS+=("$apid4")
[ -n "$apid4" ] && [ "$apid4" != "$apid" ] && ok "a new agent replaces it" || fail "a new agent replaces it" "'$apid4'"

# Idle exit.
mkdir -m 700 "$RUN/c"
E2BCTL_AGENT_IDLE=1 XDG_RUNTIME_DIR=$RUN/c ctl native run "$id" true < /dev/null
read -r ipid _ <<<"$(who_up E2BCTL_AGENT_IDLE=1 XDG_RUNTIME_DIR="$RUN/c")"
[ -n "$ipid" ] && AGENTS+=("$ipid")
if [ -n "$ipid" ] && wait_gone "$ipid"; then
	ok "an idle agent exits"
	ls "$RUN/c/e2bctl"/agent-* 2>/dev/null | grep -qv '\.lock$' && fail "its socket is removed" ||
		ok "its socket is removed"
else
	fail "an idle agent exits" "pid '$ipid'"
fi

# Its socket removed: the agent exits too (a test's scratch dir deleted).
ls "$XDG_RUNTIME_DIR"/e2bctl/agent-* | grep -v '\.lock$' | xargs rm -f
wait_gone "$apid4" && wait_gone "$opid" && ok "an agent whose socket is gone exits" ||
	fail "an agent whose socket is gone exits"
done_testing
