#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bfs basics: mount a fresh sandbox, run the POSIX syscall battery
# (tests/fs/syscalls.py) through the mount and on a local directory and
# compare step by step; then remount and check that the data persisted.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/basic-mnt
local_dir=$TEST_TMP/basic-local
mkdir -p "$local_dir"
mount_check "mount" "$id" "$mnt"

check "root is the user's home" test "$(stat -c %F "$mnt")" = directory
check "control dir not listed" sh -c "! ls -a '$mnt' | grep -qx .e2bfs"

mkdir "$mnt/battery" "$local_dir/battery"
python3 "$SRC_DIR/tests/fs/syscalls.py" "$local_dir/battery" > "$TEST_TMP/local.out" 2>&1
python3 "$SRC_DIR/tests/fs/syscalls.py" "$mnt/battery" > "$TEST_TMP/mnt.out" 2>&1
while IFS= read -r want; do
	step=${want%%:*}
	got=$(grep -m1 "^$step:" "$TEST_TMP/mnt.out")
	expect_eq "syscall $step" "$want" "$got"
done < "$TEST_TMP/local.out"

# The file content reached the sandbox (read back through envd, not the
# mount) once the write-back barrier returned.
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "content visible in sandbox" "in" "$(envd "$id" GET "/files?path=/home/user/battery/d4/inner")"

# Remount: everything persisted, and the cache starts cold.
fs_umount "$mnt"
rm -rf "$TEST_TMP/cache"
mount_check "remount" "$id" "$mnt"
expect_eq "persisted after remount" "$(cat "$local_dir/battery/d4/m0042")" "$(cat "$mnt/battery/d4/m0042")"
expect_eq "big file after remount" "$(md5sum < "$local_dir/battery/big")" "$(md5sum < "$mnt/battery/big")"
check "write after remount" sh -c "echo again > '$mnt/battery/again' && test \"\$(cat '$mnt/battery/again')\" = again"

# rmdir never deletes a non-empty directory (envd Remove is rm -rf).
mkdir -p "$mnt/keep/sub" && echo x > "$mnt/keep/sub/f"
check "rmdir refuses non-empty" sh -c "! rmdir '$mnt/keep/sub' 2>/dev/null"
echo sync > "$mnt/.e2bfs/ctl"	# write-back: the sandbox has it after a barrier
expect_eq "non-empty dir intact" "x" "$(envd "$id" GET "/files?path=/home/user/keep/sub/f")"

# Two writers: the sandbox changes a file we hold open with unsaved data;
# last close wins and the sandbox's version is kept beside it.
echo original > "$mnt/conflict.txt"
python3 - "$id" "$E2BD_URL" "$mnt/conflict.txt" <<'PY'
import os, sys, time, urllib.request
sid, url, path = sys.argv[1:4]
fd = os.open(path, os.O_RDWR)
os.write(fd, b"LOCAL")
time.sleep(1.1)
req = urllib.request.Request(url + "/files?path=/home/user/conflict.txt", data=b"remote change",
    method="POST", headers={"E2b-Sandbox-Id": sid, "E2b-Sandbox-Port": "49983",
    "Content-Type": "application/octet-stream"})
urllib.request.urlopen(req).read()
time.sleep(0.3)
os.close(fd)
PY
# NEEDSWORK: the watch's event for the conflict copy can hide the file for
# a moment right after the close (seen under ASan); it must be back at once.
for _ in $(seq 20); do got=$(cat "$mnt/conflict.txt" 2>&1) && break; sleep 0.1; done
expect_eq "conflict: last close wins" "LOCALnal" "$got"
echo sync > "$mnt/.e2bfs/ctl"	# write-back: the upload that finds the conflict
expect_eq "conflict: other version kept" "remote change" "$(cat "$mnt"/conflict.txt.e2bfs-conflict-* 2>&1)"
# The same when the sandbox writes right after our own upload (its event
# comes inside the window where our echo is expected, and an upload skips
# its Stat only while the watch vouches for our version).
echo original > "$mnt/conflict2.txt"
python3 - "$id" "$E2BD_URL" "$mnt/conflict2.txt" <<'PY'
import os, sys, time, urllib.request
sid, url, path = sys.argv[1:4]
fd = os.open(path, os.O_RDWR)
os.write(fd, b"FIRST")
os.fsync(fd)
req = urllib.request.Request(url + "/files?path=/home/user/conflict2.txt", data=b"remote change",
    method="POST", headers={"E2b-Sandbox-Id": sid, "E2b-Sandbox-Port": "49983",
    "Content-Type": "application/octet-stream"})
urllib.request.urlopen(req).read()
time.sleep(0.3)
os.pwrite(fd, b"SECOND", 0)
os.close(fd)
PY
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "conflict right after our upload: other version kept" "remote change" \
	"$(cat "$mnt"/conflict2.txt.e2bfs-conflict-* 2>&1)"

# Inode numbers are stable per path, and ls -l of a directory costs one
# listing (READDIRPLUS), not one request per entry.
expect_eq "stable inode numbers" "$(stat -c %i "$mnt/battery/d4/m0001")" "$(stat -c %i "$mnt/battery/d4/m0001")"
echo refresh > "$mnt/.e2bfs/ctl"
sleep 1.2
r0=$(json_get 'd["requests"]' < "$mnt/.e2bfs/status")
n=$(ls -l "$mnt/battery/d4" | wc -l)
r1=$(json_get 'd["requests"]' < "$mnt/.e2bfs/status")
expect_eq "ls -l lists 301 entries" "302" "$n"
check "ls -l of 301 entries costs <= 4 requests (took $((r1 - r0)))" test $((r1 - r0)) -le 4
# Within dir_cache a second listing is served from the cache.
n=$(ls -l "$mnt/battery/d4" | wc -l)
r2=$(json_get 'd["requests"]' < "$mnt/.e2bfs/status")
expect_eq "warm ls -l lists 301 entries" "302" "$n"
check "warm ls -l costs no request (took $((r2 - r1)))" test $((r2 - r1)) -eq 0
# Reading a file right after its lookup costs one Stat and one GET, not a
# second Stat at open (+2 Stats for battery/ and d4/ after the refresh).
# The reader's own requests: less the files fetched ahead of it meanwhile
# (a run that took part of d4 earlier goes on as the reader gets there).
echo refresh > "$mnt/.e2bfs/ctl"
sleep 1.2
r0=$(json_get 'd["requests"]' < "$mnt/.e2bfs/status")
f0=$(json_get 'd["aheadFetched"]' < "$mnt/.e2bfs/status")
for f in m0010 m0011 m0012 m0013 m0014 m0015 m0016 m0017 m0018 m0019; do cat "$mnt/battery/d4/$f" >/dev/null; done
sleep 0.5
r1=$(json_get 'd["requests"]' < "$mnt/.e2bfs/status")
f1=$(json_get 'd["aheadFetched"]' < "$mnt/.e2bfs/status")
check "cold cat of 10 files costs <= 24 requests of its own (took $((r1 - r0 - (f1 - f0))))" \
	test $((r1 - r0 - (f1 - f0))) -le 24

# A key on the command line is refused, and the message does not echo it.
out=$("$E2BFS_BIN" -o api_key=secret123 "$id" "$mnt" 2>&1)
check "api_key option refused" sh -c "! printf '%s' '$out' | grep -q secret123"

fs_umount "$mnt"
check "unmounted" sh -c "! grep -q ' $mnt ' /proc/mounts"
done_testing
