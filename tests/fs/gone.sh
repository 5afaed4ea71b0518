#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A sandbox killed while mounted: e2bfs says so in .e2bfs/status ("gone")
# and its log, remote operations fail with ENOTCONN (not ENOENT, as if the
# files had been deleted), and with -o autounmount the mount goes away.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

a=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "$a"; done_testing; }
b=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "$b"; done_testing; }
ma=$TEST_TMP/gone-a
mb=$TEST_TMP/gone-b
mount_check "mount a (default)" "$a" "$ma"
mount_check "mount b (-o autounmount)" "$b" "$mb" -o autounmount
pid_b=$FS_PID
echo hi > "$ma/kept.txt" && echo sync > "$ma/.e2bfs/ctl"
ls "$mb" > /dev/null

api DELETE "/sandboxes/$a" > /dev/null
api DELETE "/sandboxes/$b" > /dev/null
state=
for _ in $(seq 40); do
	out=$(ls "$ma/new-$RANDOM" 2>&1)
	state=$(json_get 'd["state"]' < "$ma/.e2bfs/status" 2>/dev/null)
	[ "$state" = gone ] && break
	sleep 0.25
done
expect_eq "status says gone" gone "$state"
out=$(ls "$ma/new-$RANDOM" 2>&1)
[[ $out == *"not connected"* ]] && ok "a lookup fails with ENOTCONN" || fail "a lookup fails with ENOTCONN" "$out"
out=$(mkdir "$ma/d-$RANDOM" 2>&1)
[[ $out == *"not connected"* ]] && ok "mkdir fails with ENOTCONN" || fail "mkdir fails with ENOTCONN" "$out"
check "the log says the sandbox no longer exists" grep -q "sandbox '$a' no longer exists" "$TEST_TMP/e2bfs.log"
check "lastError names it" grep -q "no longer exists" "$ma/.e2bfs/status"

for _ in $(seq 40); do
	ls "$mb/new-$RANDOM" > /dev/null 2>&1
	grep -q " $(realpath "$mb") fuse.e2bfs " /proc/mounts || break
	sleep 0.25
done
check "autounmount: the mount went away" sh -c "! grep -q ' $(realpath "$mb") fuse.e2bfs ' /proc/mounts"
for _ in $(seq 50); do kill -0 "$pid_b" 2>/dev/null || break; sleep 0.1; done
check "autounmount: e2bfs exited" sh -c "! kill -0 $pid_b 2>/dev/null"
fs_umount "$ma"
done_testing
