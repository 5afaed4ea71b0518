#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bfs under faults, against a private e2bd on its own port: a hung server
# (SIGSTOP) fails operations with EIO within op_timeout and the mount
# recovers; a write interrupted by a server restart is kept dirty, reported
# by fsync (close returns at once: write-back), and uploaded later; a dirty file left by a killed e2bfs is
# uploaded by the next mount; a paused sandbox is resumed on access (and not
# with noautoresume).
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

port=$(free_port)
state=$TEST_TMP/faults-state
E2BD_URL=http://127.0.0.1:$port
export E2B_API_URL=$E2BD_URL E2B_SANDBOX_URL=$E2BD_URL E2BD_URL
printf '%s\n' "$E2B_API_KEY" > "$TEST_TMP/faults-key"
chmod 600 "$TEST_TMP/faults-key"
srv=
start_server() {
	"$E2BD_BIN" --listen "127.0.0.1:$port" --state-dir "$state" \
		--api-key-file "$TEST_TMP/faults-key" >> "$TEST_TMP/faults-e2bd.log" 2>&1 &
	srv=$!
	for _ in $(seq 100); do curl -fsS -o /dev/null "$E2BD_URL/health" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
stop_server() { kill -CONT "$srv" 2>/dev/null; kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; }
trap 'stop_server; _fs_cleanup' EXIT
if start_server; then ok "private e2bd"; else fail "private e2bd" "did not start"; done_testing; fi

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/faults-mnt
mount_check "mount (op_timeout=3)" "$id" "$mnt" -o op_timeout=3
echo base > "$mnt/known.txt"
echo sync > "$mnt/.e2bfs/ctl"

# --- hung server: EIO within op_timeout, control dir still answers
kill -STOP "$srv"
t0=$(date +%s%N)
out=$(cat "$mnt/never-seen.txt" 2>&1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
case $out in *"Input/output error"*|*"No such file"*) ok "hung server: read fails (${ms} ms)" ;; *) fail "hung server: read fails" "$out" ;; esac
check "hung server: bounded by op_timeout (${ms} ms)" test "$ms" -lt 4500
# Write-back: a new file is kept locally (close does not wait for the
# upload); the sync barrier reports the failed upload within op_timeout.
t0=$(date +%s%N)
check "hung server: new file written locally" sh -c "echo x > '$mnt/offline-new.txt'"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "hung server: create bounded (${ms} ms)" test "$ms" -lt 4500
t0=$(date +%s%N)
check "hung server: sync reports the failed upload" sh -c "! echo sync > '$mnt/.e2bfs/ctl' 2>/dev/null"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "hung server: sync bounded (${ms} ms)" test "$ms" -lt 9000
expect_eq "status says offline" "offline" "$(json_get 'd["state"]' < "$mnt/.e2bfs/status")"
expect_eq "status counts the failed upload" "1" "$(json_get 'd["failedUploads"]' < "$mnt/.e2bfs/status")"
kill -CONT "$srv"
check "recovers after the server answers again" sh -c "sleep 0.5; test \"\$(cat '$mnt/known.txt')\" = base"
check "the new file reaches the sandbox after recovery" sh -c "echo sync > '$mnt/.e2bfs/ctl'"
expect_eq "new file content in the sandbox" "x" "$(envd "$id" GET "/files?path=/home/user/offline-new.txt")"

# --- server restarted mid-write: fsync reports the error, data arrives later
python3 - "$mnt/midwrite.txt" "$srv" > "$TEST_TMP/midwrite.out" 2>&1 <<'PY'
import os, signal, sys, time
path, srv = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"first half\n")
os.kill(srv, signal.SIGSTOP)
os.write(fd, b"second half\n")
try:
    os.fsync(fd)
    print("fsync ok")
except OSError as e:
    print("fsync failed", e.errno)
try:
    os.close(fd)
    print("close ok")
except OSError as e:
    print("close failed", e.errno)
PY
expect_eq "fsync reports the failed upload; close returns" "fsync failed 5
close ok" "$(cat "$TEST_TMP/midwrite.out")"
stop_server
if start_server; then ok "e2bd restarted"; else fail "e2bd restarted" "did not start"; fi
# The upload may complete in the old server's last moments or be retried
# against the new one; either way the data must arrive.  Reading through the
# mount also resumes the sandbox (restored paused by the restart).
got=
for _ in $(seq 100); do
	got=$(cat "$mnt/midwrite.txt" 2>/dev/null)
	[ "$got" = "first half
second half" ] && break
	sleep 0.2
done
expect_eq "dirty data arrives after restart (mount view)" "first half
second half" "$got"
expect_eq "dirty data arrives after restart (sandbox view)" "first half
second half" "$(envd "$id" GET "/files?path=/home/user/midwrite.txt")"
expect_eq "no dirty files left" "0" "$(json_get 'd["dirtyFiles"]' < "$mnt/.e2bfs/status")"

# --- leftovers: e2bfs killed with a dirty file; the next mount uploads it
python3 - "$mnt/left.txt" "$srv" <<'PY' >/dev/null 2>&1
import os, signal, sys
path, srv = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.kill(srv, signal.SIGSTOP)
os.write(fd, b"left behind\n")
try:
    os.close(fd)
except OSError:
    pass
PY
kill -9 "$FS_PID"
fusermount3 -uz "$mnt"
kill -CONT "$srv"
check "dirty leftover kept in the cache" sh -c "ls '$TEST_TMP/cache/$id'/*.dirty"
mount_check "remount" "$id" "$mnt" -o op_timeout=3
got=
for _ in $(seq 100); do
	got=$(envd "$id" GET "/files?path=/home/user/left.txt")
	[ "$got" = "left behind" ] && break
	sleep 0.2
done
expect_eq "leftover uploaded by the next mount" "left behind" "$got"

# --- paused sandbox: resumed on first access
api POST "/sandboxes/$id/pause" >/dev/null
expect_eq "paused" "paused" "$(api GET "/sandboxes/$id" | json_get 'd["state"]')"
expect_eq "read through a paused sandbox (auto resume)" "base" "$(cat "$mnt/known.txt" 2>&1; echo x > /dev/null)"
expect_eq "running again" "running" "$(api GET "/sandboxes/$id" | json_get 'd["state"]')"
fs_umount "$mnt"
mount_check "remount noautoresume" "$id" "$mnt" -o op_timeout=3,noautoresume
api POST "/sandboxes/$id/pause" >/dev/null
echo refresh > "$mnt/.e2bfs/ctl"
check "noautoresume: access fails" sh -c "! cat '$mnt/known.txt' >/dev/null 2>&1"
expect_eq "noautoresume: still paused" "paused" "$(api GET "/sandboxes/$id" | json_get 'd["state"]')"
fs_umount "$mnt"
api DELETE "/sandboxes/$id" >/dev/null
done_testing
