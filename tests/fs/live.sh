#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Live changes: files created, changed and deleted inside the sandbox
# (through envd's /files and Process APIs, not the mount) show up through
# the mount within a second; with -o no_watch the mount still converges
# once its caches time out.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/live-mnt
mount_check "mount" "$id" "$mnt"
mkdir -p "$mnt/live"
ls "$mnt/live" >/dev/null

# wait_for NAME SECONDS CMD...: poll CMD every 50 ms; ok with the latency.
wait_for() {
	local name=$1 limit=$2 t0 i n
	shift 2
	t0=$(date +%s%N)
	n=$(python3 -c "print(int($limit * 20))")
	for ((i = 0; i < n; i++)); do
		if "$@" >/dev/null 2>&1; then
			ok "$name ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
			return 0
		fi
		sleep 0.05
	done
	fail "$name" "not within ${limit}s"
}

# Negative-cache the name first, as an editor or ls would.
cat "$mnt/live/new.txt" 2>/dev/null
envd "$id" POST "/files?path=/home/user/live/new.txt" "from sandbox" application/octet-stream >/dev/null
wait_for "created in sandbox appears" 1 grep -qx "from sandbox" "$mnt/live/new.txt"

# A change by a sandbox process (Process API), to a file the mount has cached.
cat "$mnt/live/new.txt" >/dev/null
body='{"process":{"cmd":"/bin/sh","args":["-c","echo changed-by-process > /home/user/live/new.txt"]}}'
python3 - "$body" > "$TEST_TMP/start.bin" <<'PY'
import struct, sys
b = sys.argv[1].encode()
sys.stdout.buffer.write(b"\0" + struct.pack(">I", len(b)) + b)
PY
envd "$id" POST /process.Process/Start "@$TEST_TMP/start.bin" application/connect+json >/dev/null
wait_for "changed by sandbox process appears" 1 grep -qx "changed-by-process" "$mnt/live/new.txt"

ls "$mnt/live" >/dev/null
rpc "$id" filesystem.Filesystem/MakeDir '{"path":"/home/user/live/sub"}' >/dev/null
wait_for "directory created in sandbox appears in listing" 1 sh -c "ls '$mnt/live' | grep -qx sub"

rpc "$id" filesystem.Filesystem/Remove '{"path":"/home/user/live/new.txt"}' >/dev/null
wait_for "removed in sandbox disappears" 1 sh -c "! test -e '$mnt/live/new.txt'"

rpc "$id" filesystem.Filesystem/Move '{"source":"/home/user/live/sub","destination":"/home/user/live/sub2"}' >/dev/null
wait_for "rename in sandbox shows" 1 sh -c "test -d '$mnt/live/sub2' && ! test -e '$mnt/live/sub'"
fs_umount "$mnt"

# no_watch: converges after the caches expire.
mount_check "mount no_watch" "$id" "$mnt" -o no_watch,dir_cache=1
cat "$mnt/live/late.txt" 2>/dev/null
envd "$id" POST "/files?path=/home/user/live/late.txt" "late" application/octet-stream >/dev/null
wait_for "no_watch converges after cache timeouts" 4 grep -qx late "$mnt/live/late.txt"
fs_umount "$mnt"
done_testing
