#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl run/start/ps/signal/attach in both protocols: binary-safe
# streaming, 100 MiB of output, stdin forwarding, exit codes, Ctrl-C.
. "$SRC_DIR/tests/tools/cli-lib.sh"

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
expect256=$(python3 -c 'print(bytes(range(256)).hex())')
head -c 3000000 /dev/urandom > "$TEST_TMP/in.bin"
in_sha=$(sha256sum < "$TEST_TMP/in.bin" | cut -d' ' -f1)
# 100 MiB made once in the sandbox, streamed back by each protocol.
ctl native run "$id" 'head -c 104857600 /dev/urandom > /tmp/big && sha256sum < /tmp/big' > "$TEST_TMP/big.sha" 2>&1
big_sha=$(cut -d' ' -f1 < "$TEST_TMP/big.sha")

for m in "${MODES[@]}"; do
	rc ctl "$m" run "$id" echo hello world
	expect_eq "$m: run echo" "0 hello world" "$RC $OUT"

	got=$(ctl "$m" run "$id" "printf '$(python3 -c 'print("".join("\\%03o" % i for i in range(256)))')'" |
	      python3 -c 'import sys; print(sys.stdin.buffer.read().hex())')
	expect_eq "$m: run binary output (256 byte values)" "$expect256" "$got"

	got=$(python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' | ctl "$m" run "$id" cat |
	      python3 -c 'import sys; print(sys.stdin.buffer.read().hex())')
	expect_eq "$m: binary stdin round trip" "$expect256" "$got"

	rc ctl "$m" run "$id" 'exit 42'
	expect_rc "$m: remote exit 42" 42
	rc ctl "$m" run "$id" false
	expect_rc "$m: remote exit 1" 1

	OUT=$(ctl "$m" run "$id" 'echo to-out; echo to-err >&2' 2>"$TEST_TMP/err")
	expect_eq "$m: stdout and stderr kept apart" "to-out|to-err" "$OUT|$(cat "$TEST_TMP/err")"

	got=$(ctl "$m" run "$id" sha256sum < "$TEST_TMP/in.bin" | cut -d' ' -f1)
	expect_eq "$m: stdin forwarded (3 MB) and closed at EOF" "$in_sha" "$got"
	got=$(printf 'a\nb\n' | ctl "$m" run "$id" wc -l)
	expect_eq "$m: stdin line count" "2" "$got"
	got=$(printf 'ignored' | ctl "$m" run -n "$id" 'cat; echo done')
	expect_eq "$m: run -n does not forward stdin" "done" "$got"

	rc ctl "$m" run "$id" --cwd /tmp --env A=1 --env B=two --user root 'echo "$A $B $(pwd) $(id -un)"'
	expect_eq "$m: --cwd --env --user" "1 two /tmp root" "$OUT"
	rc ctl "$m" run "$id" sh -c 'printf "%s|" "$@"' x 'a b' "c'd" '$HOME'
	expect_eq "$m: arguments quoted one by one" "a b|c'd|\$HOME|" "$OUT"
	rc ctl "$m" run "$id" --cwd /nonexistent true
	expect_rc "$m: bad --cwd" 1 "cwd '/nonexistent'"
	rc ctl "$m" run "$id" --timeout 1 sleep 10
	expect_rc "$m: --timeout" 6 "timed out"

	start=$(date +%s%N)
	size_sha=$(ctl "$m" run "$id" cat /tmp/big | tee >(wc -c > "$TEST_TMP/big.size") | sha256sum | cut -d' ' -f1)
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	sleep 0.2
	expect_eq "$m: 100 MiB of output (size, sha256; ${ms} ms)" "104857600 $big_sha" \
		"$(tr -d ' ' < "$TEST_TMP/big.size") $size_sha"

	# A reader that goes away: exit 141 and the remote process is killed.
	ctl "$m" run "$id" "yes e2bctl-pipe-$m" | head -2 > /dev/null
	expect_eq "$m: closed output pipe exits 141" "141" "${PIPESTATUS[0]}"
	sleep 0.5
	rc ctl "$m" ps "$id"
	[[ $OUT != *"e2bctl-pipe-$m"* ]] && ok "$m: closed output pipe kills the remote process" ||
		fail "$m: closed output pipe kills the remote process" "$OUT"

	# Ctrl-C: SIGTERM to the remote process, then SIGKILL.
	ctlx "$m" run "$id" sleep 31 & p=$!
	wait_remote "$m" "$id" "sleep 31"; kill -INT $p; wait $p; RC=$?
	expect_rc "$m: Ctrl-C sends SIGTERM (128+15)" 143
	ctlx "$m" run "$id" 'trap "" TERM; echo trapped; sleep 32' > "$TEST_TMP/trap.out" & p=$!
	for _ in $(seq 50); do grep -q trapped "$TEST_TMP/trap.out" && break; sleep 0.2; done
	kill -INT $p; sleep 0.5; kill -INT $p; wait $p; RC=$?
	expect_rc "$m: second Ctrl-C sends SIGKILL (128+9)" 137

	# start / ps / attach / signal
	rc ctl "$m" start "$id" --tag "tick-$m" -- sh -c 'i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.2; done'
	pid=$OUT
	[[ $RC == 0 && $pid =~ ^[0-9]+$ ]] && ok "$m: start prints the pid" || fail "$m: start" "rc $RC: $OUT $ERR"
	rc ctl "$m" ps "$id"
	[[ $OUT == *"PID"* && $OUT =~ $pid\ +tick-$m ]] && ok "$m: ps table" || fail "$m: ps table" "$OUT"
	rc ctl "$m" --json ps "$id"
	expect_eq "$m: ps --json" "tick-$m" \
		"$(printf '%s' "$OUT" | jq_py "[p['tag'] for p in d if p['pid']==$pid][0]" 2>&1)"
	# e2bfs's helpers (tag e2bfs-*) only with --all; cut to a terminal's width.
	rc ctl "$m" start "$id" --tag "e2bfs-helper-$m" -- sleep 60
	hpid=$OUT
	rc ctl "$m" ps "$id"
	[[ $OUT != *"e2bfs-helper-$m"* ]] && ok "$m: ps hides e2bfs helpers" || fail "$m: ps hides e2bfs helpers" "$OUT"
	rc ctl "$m" ps -a "$id"
	[[ $OUT =~ $hpid\ +e2bfs-helper-$m ]] && ok "$m: ps --all shows them" || fail "$m: ps --all shows them" "$OUT"
	rc ctl "$m" --json ps --all "$id"
	expect_eq "$m: ps --all --json marks them internal" "True" \
		"$(printf '%s' "$OUT" | jq_py "[p['internal'] for p in d if p['pid']==$hpid][0]" 2>&1)"
	ctl "$m" signal "$id" "$hpid" KILL > /dev/null 2>&1
	rc ctl "$m" start "$id" --tag "long-$m" -- sh -c "sleep 60; : $(printf 'x%.0s' $(seq 200))"
	lpid=$OUT
	{ printf 'C=%q E2BD_PORT=%q E2BD_URL=%q\nstty cols 60\n' "$C" "$E2BD_PORT" "$E2BD_URL"
	  declare -f ctl; printf 'ctl %q ps %q\n' "$m" "$id"; } > "$TEST_TMP/ps-tty.sh"
	out=$(script -qec "bash $TEST_TMP/ps-tty.sh" /dev/null 2>&1 | tr -d '\r')
	line=$(printf '%s\n' "$out" | grep "long-$m")
	[ "${#line}" = 60 ] && [[ $line == *... ]] && ok "$m: ps cuts a long line to the terminal's width" ||
		fail "$m: ps cuts a long line to the terminal's width" "${#line}: $line"
	ctl "$m" signal "$id" "$lpid" KILL > /dev/null 2>&1
	ctlx "$m" attach "$id" "$pid" > "$TEST_TMP/attach.out" 2>"$TEST_TMP/attach.err" & p=$!
	for _ in $(seq 50); do grep -q '^tick' "$TEST_TMP/attach.out" && break; sleep 0.2; done
	kill -INT $p; wait $p; RC=$?
	if [ "$RC" = 0 ] && grep -q '^tick [0-9]' "$TEST_TMP/attach.out"; then
		ok "$m: attach streams, Ctrl-C detaches (exit 0)"
	else
		fail "$m: attach" "rc $RC: $(head -c 200 "$TEST_TMP/attach.out") $(cat "$TEST_TMP/attach.err")"
	fi
	rc ctl "$m" --json ps "$id"
	[[ $OUT == *"\"pid\": $pid"* ]] && ok "$m: process survives detach" || fail "$m: process survives detach"
	rc ctl "$m" --json signal "$id" "$pid" SIGTERM
	expect_eq "$m: signal --json TERM" "0 $pid SIGTERM" \
		"$RC $(printf '%s' "$OUT" | jq_py 'str(d["pid"])+" "+d["signal"]' 2>&1)"
	sleep 0.3
	rc ctl "$m" --json ps "$id"
	[[ $OUT != *"\"pid\": $pid,"* ]] && ok "$m: signalled process gone" || fail "$m: signalled process gone" "$OUT"
	rc ctl "$m" signal "$id" "$pid" KILL
	expect_rc "$m: signal unknown pid" 3 "process $pid not found"
	rc ctl "$m" attach "$id" 999999
	expect_rc "$m: attach unknown pid" 3 "process 999999 not found"

	# attach to a process that ends: its exit code.
	rc ctl "$m" start "$id" -- sh -c 'sleep 1; echo bye; exit 5'
	ctl "$m" attach "$id" "$OUT" > "$TEST_TMP/attach2.out" 2>&1; RC=$?
	expect_eq "$m: attach returns the exit code" "5 bye" "$RC $(cat "$TEST_TMP/attach2.out")"
	# start --stdin + attach forwards stdin
	rc ctl "$m" start "$id" --stdin -- sh -c 'read x; echo "got $x"'
	got=$(echo feed | ctl "$m" attach "$id" "$OUT" 2>&1)
	expect_eq "$m: attach forwards stdin" "got feed" "$got"
	rc ctl "$m" --json start "$id" true
	[[ $RC == 0 && $OUT == *'"pid":'* ]] && ok "$m: start --json" || fail "$m: start --json" "$OUT"
done

done_testing
