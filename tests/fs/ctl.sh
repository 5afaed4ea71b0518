#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The control directory MOUNTPOINT/.e2bfs end to end: sandbox/status JSON,
# ctl commands (and EINVAL on a bad one), procs/new with the writer's cwd,
# live stdout streaming, stdin, wait for the exit code, kill another.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/ctl-mnt
mount_check "mount" "$id" "$mnt"
c=$mnt/.e2bfs

check "control dir hidden from readdir" sh -c "! ls -a '$mnt' | grep -qx .e2bfs"
expect_eq "control dir mode" "700" "$(stat -c %a "$c")"
expect_eq "sandbox json id" "$id" "$(json_get 'd["sandboxID"]' < "$c/sandbox")"
expect_eq "sandbox json root" "/home/user" "$(json_get 'd["root"]' < "$c/sandbox")"
expect_eq "status json state" "online" "$(json_get 'd["state"]' < "$c/status")"
check "ctl timeout (O_TRUNC redirection)" sh -c "echo 'timeout 600' > '$c/ctl'"
expect_eq "status ctlError null before a bad command" "None" "$(json_get 'd["ctlError"]' < "$c/status")"
check "ctl bad command is EINVAL" sh -c "! echo 'frobnicate' > '$c/ctl' 2>/dev/null"
cerr=$(json_get 'd["ctlError"]' < "$c/status")
check "status names the unknown command" grep -q "unknown command 'frobnicate'" <<<"$cerr"
check "status lists the valid commands" grep -q "valid: timeout N, pause, kill, refresh, sync" <<<"$cerr"
check "log names the unknown command and the valid ones" \
	grep -q "ctl: unknown command 'frobnicate' (valid: timeout N, pause, kill, refresh, sync)" "$TEST_TMP/e2bfs.log"
check "ctl bad timeout is EINVAL" sh -c "! echo 'timeout abc' > '$c/ctl' 2>/dev/null"
check "status says why the timeout was rejected" sh -c "grep -q 'bad argument to timeout' '$c/status'"
check "ctl sync with an argument is EINVAL" sh -c "! echo 'sync now' > '$c/ctl' 2>/dev/null"
check "ctl sync" sh -c "echo sync > '$c/ctl'"
check "ctl refresh" sh -c "echo refresh > '$c/ctl'"

# procs/new: started in the sandbox dir matching the writer's cwd.
mkdir -p "$mnt/work/sub"
start() { # start CMD: prints the pid
	( cd "$mnt/work/sub" && exec 3<>"$c/procs/new" && printf '%s\n' "$1" >&3 && read -r pid <&3 && echo "$pid" )
}
pid=$(start 'pwd; echo to-err >&2; read line; echo "got $line"; exit 7')
check "procs/new returns a pid" test -n "$pid"
check "procs/<pid> listed" sh -c "ls '$c/procs' | grep -qx '$pid'"
expect_eq "cmd" 'pwd; echo to-err >&2; read line; echo "got $line"; exit 7' "$(cat "$c/procs/$pid/cmd")"
expect_eq "status running" "running" "$(cat "$c/procs/$pid/status")"
check "stdin" sh -c "echo hello > '$c/procs/$pid/stdin'"
expect_eq "wait returns the exit code" "7" "$(timeout 20 cat "$c/procs/$pid/wait")"
expect_eq "stdout (cwd mapped, stdin seen)" "/home/user/work/sub
got hello" "$(cat "$c/procs/$pid/stdout")"
expect_eq "stderr" "to-err" "$(cat "$c/procs/$pid/stderr")"
expect_eq "status exited" "exited 7" "$(cat "$c/procs/$pid/status")"

# Streaming: cat blocks at the end and follows live output.
pid=$(start 'for i in 1 2 3; do echo tick $i; sleep 0.5; done')
t0=$(date +%s%N)
first=$(timeout 10 head -n 1 "$c/procs/$pid/stdout")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "stream first line early" "tick 1" "$first"
check "first line before the process ends (${ms} ms)" test "$ms" -lt 1400
expect_eq "stream to the end" "tick 1
tick 2
tick 3" "$(timeout 10 cat "$c/procs/$pid/stdout")"

# eof closes stdin; kill ends another process.
pid=$(start 'cat; echo cat-done')
check "stdin to cat" sh -c "echo piped > '$c/procs/$pid/stdin'"
check "ctl eof" sh -c "echo eof > '$c/procs/$pid/ctl'"
expect_eq "wait after eof" "0" "$(timeout 20 cat "$c/procs/$pid/wait")"
expect_eq "cat echoed stdin" "piped
cat-done" "$(cat "$c/procs/$pid/stdout")"
pid=$(start 'sleep 300')
check "ctl kill" sh -c "echo kill > '$c/procs/$pid/ctl'"
expect_eq "killed" "killed" "$(timeout 20 cat "$c/procs/$pid/wait")"
check "ctl bad proc command is EINVAL" sh -c "! echo nope > '$c/procs/$pid/ctl' 2>/dev/null"
check "unknown pid is ENOENT" sh -c "! test -e '$c/procs/999999'"

fs_umount "$mnt"
done_testing
