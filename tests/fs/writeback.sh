#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bfs write-back: close returns once the data is in the local cache and
# uploads run in the background.  Barriers (`e2bctl run .`, .e2bfs/ctl
# sync, fsync, unmount) make everything written before them visible in the
# sandbox; unlink and rename of a file with a pending upload are ordered
# with it, and so is whatever touches a directory whose MakeDir is still
# pending; a kill -9 with 500 closed-but-not-uploaded files loses none of
# them (the next mount uploads them).  E2BFS_TEST_UPLOAD_DELAY_MS (tests
# only) holds every background upload back so files really are pending.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/wb-mnt
mount_check "mount" "$id" "$mnt"
mkdir -p "$mnt/wb"

# --- e2bctl run . sees what was just written, 200 times, no sleeps
cd "$mnt/wb" || exit 1
bad=0
t0=$(date +%s)
for i in $(seq 200); do
	head -c $(( (i * 7919) % 70000 + 1 )) /dev/urandom > "$TEST_TMP/wb-src"
	cp "$TEST_TMP/wb-src" "f"
	want=$(sha256sum < "$TEST_TMP/wb-src" | cut -d' ' -f1)
	got=$(timeout 20 "$E2BCTL_BIN" run . -- sha256sum f 2>&1 | cut -d' ' -f1)
	if [ "$got" != "$want" ]; then
		bad=$((bad + 1))
		[ "$bad" -le 3 ] && echo "# iteration $i: want $want, got $got"
	fi
	[ $(( $(date +%s) - t0 )) -gt 240 ] && { bad=$((bad + 1000)); break; }
done
cd / || exit 1
expect_eq "run . right after a write sees the new content (200 times)" "0" "$bad"

# --- a tree written quickly is complete in the sandbox after `run .`
for d in $(seq 10); do
	mkdir -p "$mnt/wb/tree/d$d"
	for f in $(seq 30); do echo "$d/$f" > "$mnt/wb/tree/d$d/f$f"; done
done
got=$(cd "$mnt/wb/tree" && "$E2BCTL_BIN" run . -- sh -c 'cat d*/f* | wc -l' 2>&1)
expect_eq "300 files written, all in the sandbox at the next run ." "300" "$got"

# --- a rewrite's mtime: the one the mount showed (a stat before the
# upload), else the sandbox's, and the mount and the sandbox agree either
# way; the mode survives a rewrite that leaves it to the upload.
sbstat() { "$E2BCTL_BIN" run "$id" -- stat -c "$1" "/home/user/wb/$2" 2>&1; }
for f in mt-seen mt-unseen mt-mode; do echo one > "$mnt/wb/$f"; done
chmod 600 "$mnt/wb/mt-mode"
echo sync > "$mnt/.e2bfs/ctl"
sleep 1.1	# a second later: a kept old mtime would show
python3 - "$mnt/wb" "$TEST_TMP/seen" <<'PY'
import os, sys, time
d, seen = sys.argv[1:]
for name, look in (("mt-seen", True), ("mt-unseen", False), ("mt-mode", False)):
    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"two\n")
    if look:
        # shown, then uploaded over a second later
        open(seen, "w").write(str(os.fstat(fd).st_mtime_ns // 1000000000))
        time.sleep(1.1)
    os.fsync(fd)
    os.close(fd)
PY
expect_eq "rewrite after a stat: the sandbox has the mtime shown" \
	"$(cat "$TEST_TMP/seen")" "$(sbstat %Y mt-seen)"
expect_eq "rewrite nobody stat'ed: the mount shows the sandbox's mtime" \
	"$(sbstat %Y.%y mt-unseen | cut -d. -f1)" "$(stat -c %Y "$mnt/wb/mt-unseen")"
expect_eq "rewrite nobody stat'ed: content" "two" "$("$E2BCTL_BIN" run "$id" -- cat /home/user/wb/mt-unseen 2>&1)"
expect_eq "rewrite of a 0600 file: mode kept in the sandbox and the mount" "600 600" \
	"$(sbstat %a mt-mode) $(stat -c %a "$mnt/wb/mt-mode")"
fs_umount "$mnt"

# --- slow uploads: pending counts, barriers, unlink/rename ordering
E2BFS_TEST_UPLOAD_DELAY_MS=400 mount_check "mount with slow uploads" "$id" "$mnt"
echo pending > "$mnt/wb/slow"
pend=$(json_get 'd["pendingUploads"]' < "$mnt/.e2bfs/status")
check "status counts the pending upload ($pend)" test "$pend" -ge 1
expect_eq "the mount shows the new content at once" "pending" "$(cat "$mnt/wb/slow")"
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "sync: the sandbox has it" "pending" "$(envd "$id" GET "/files?path=/home/user/wb/slow")"
expect_eq "sync: nothing pending" "0 0" \
	"$(json_get '"%d %d" % (d["pendingUploads"], d["dirtyFiles"])' < "$mnt/.e2bfs/status")"

echo doomed > "$mnt/wb/doomed"
rm "$mnt/wb/doomed"
echo sync > "$mnt/.e2bfs/ctl"
envd "$id" GET "/files?path=/home/user/wb/doomed" > /dev/null
expect_eq "unlink of a pending file: it does not come back" "404" "$ENVD_STATUS"

echo moved > "$mnt/wb/from"
mv "$mnt/wb/from" "$mnt/wb/to"
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "rename of a pending file: content under the new name" "moved" \
	"$(envd "$id" GET "/files?path=/home/user/wb/to")"
envd "$id" GET "/files?path=/home/user/wb/from" > /dev/null
expect_eq "rename of a pending file: old name gone" "404" "$ENVD_STATUS"

echo old > "$mnt/wb/target"
echo sync > "$mnt/.e2bfs/ctl"
echo newer > "$mnt/wb/target"
echo tmp > "$mnt/wb/tmpfile"
mv "$mnt/wb/tmpfile" "$mnt/wb/target"
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "rename over a file with a pending upload: the renamed content wins" "tmp" \
	"$(envd "$id" GET "/files?path=/home/user/wb/target")"

python3 - "$mnt/wb/fsynced" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, b"durable\n")
os.fsync(fd)
os.close(fd)
PY
expect_eq "fsync waits for the upload" "durable" "$(envd "$id" GET "/files?path=/home/user/wb/fsynced")"
expect_eq "mode applied with the upload" "600" \
	"$("$E2BCTL_BIN" run "$id" -- stat -c %a wb/fsynced 2>&1)"
echo stamped > "$mnt/wb/stamped"
touch -d '2001-02-03 04:05:06 UTC' "$mnt/wb/stamped"
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "utimens after close folded into the upload" "981173106" \
	"$("$E2BCTL_BIN" run "$id" -- stat -c %Y wb/stamped 2>&1)"

# mkdir is answered at once; its MakeDir (held back 400 ms here) runs in
# the background, and whatever asks envd about the directory first waits
# for it: a rename, an rmdir, a symlink in it, a listing, a barrier.
t0=$(date +%s%N)
mkdir "$mnt/wb/d1" "$mnt/wb/d1/d2" "$mnt/wb/d3" "$mnt/wb/d4" "$mnt/wb/d5"
mkdir -m 700 "$mnt/wb/d6"
t1=$(date +%s%N)
check "six mkdirs answered before their MakeDirs ($(( (t1 - t0) / 1000000 )) ms)" \
	test $(( (t1 - t0) / 1000000 )) -lt 1000
expect_eq "the last one not in the sandbox yet" "no" \
	"$("$E2BCTL_BIN" run "$id" -- sh -c 'test -d wb/d6 && echo yes || echo no' 2>&1)"
echo in-d2 > "$mnt/wb/d1/d2/f"
check "rename of a directory just made" mv "$mnt/wb/d3" "$mnt/wb/d3b"
check "rmdir of a directory just made" rmdir "$mnt/wb/d4"
check "symlink in a directory just made" ln -s ../d1 "$mnt/wb/d5/l"
expect_eq "listed through the mount" "d1 d3b d5 d6" \
	"$(cd "$mnt/wb" && ls -d d* | tr '\n' ' ' | sed 's/ $//')"
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "in the sandbox after the barrier" "in-d2|d3b|700|../d1|0" \
	"$("$E2BCTL_BIN" run "$id" -- sh -c 'cat wb/d1/d2/f; printf "|"; ls -d wb/d3*; printf "|"; stat -c %a wb/d6; printf "|"; readlink wb/d5/l; printf "|"; ls -d wb/d4 2>/dev/null | wc -l' 2>&1 | tr -d '\n' | sed 's|wb/||')"
fs_umount "$mnt"
expect_eq "unmount is a barrier" "0" "$(find "$TEST_TMP/cache/$id" -name '*.dirty' | wc -l)"

# --- kill -9 with 500 closed files whose uploads have not started
E2BFS_TEST_UPLOAD_DELAY_MS=600000 mount_check "mount with stalled uploads" "$id" "$mnt"
mkdir -p "$mnt/wb/many"
for i in $(seq 500); do echo "file $i" > "$mnt/wb/many/n$i"; done
pend=$(json_get 'd["dirtyFiles"]' < "$mnt/.e2bfs/status")
expect_eq "500 files dirty, none uploaded" "500" "$pend"
kill -9 "$FS_PID"
wait "$FS_PID" 2>/dev/null
fusermount3 -uz "$mnt"
expect_eq "500 sidecars kept in the cache" "500" "$(find "$TEST_TMP/cache/$id" -name '*.dirty' | wc -l)"
mount_check "remount" "$id" "$mnt"
got=
for _ in $(seq 300); do
	got=$("$E2BCTL_BIN" run "$id" -- sh -c 'cat wb/many/n* 2>/dev/null | wc -l' 2>&1)
	[ "$got" = 500 ] && break
	sleep 0.2
done
expect_eq "the next mount uploads all 500" "500" "$got"
want=$(for i in $(seq 500); do echo "file $i"; done | sort | sha256sum | cut -d' ' -f1)
got=$("$E2BCTL_BIN" run "$id" -- sh -c 'cat wb/many/n* | sort | sha256sum' 2>&1 | cut -d' ' -f1)
expect_eq "their content is intact" "$want" "$got"
fs_umount "$mnt"
done_testing
