#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl mount/umount and "." as the sandbox inside an e2bfs mount (run's
# cwd follows the local directory).  Skips (77) without /dev/fuse unless CI.
. "$SRC_DIR/tests/tools/cli-lib.sh"

cli_require_fuse

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/cli-mnt
mnt2=$TEST_TMP/cli-mnt2
mkdir -p "$mnt" "$mnt2"
trap 'cd /; for d in "$mnt" "$mnt2"; do fusermount3 -uz "$d" 2>/dev/null; done; _lib_cleanup' EXIT

wait_mounted() {
	local i
	for i in $(seq 100); do
		grep -q " $(realpath "$1") fuse.e2bfs " /proc/mounts && return 0
		sleep 0.1
	done
	return 1
}

ctl native run "$id" 'mkdir -p ~/proj/src && echo "hello from the sandbox" > ~/proj/src/note.txt' >/dev/null
rc ctl native mount "$id" "$mnt" -o "cache_dir=$TEST_TMP/cache"
if [ "$RC" = 0 ] && wait_mounted "$mnt"; then
	ok "mount ID MOUNTPOINT"
else
	fail "mount ID MOUNTPOINT" "rc $RC: $ERR"
	done_testing
fi
expect_eq "mounted files visible" "hello from the sandbox" "$(cat "$mnt/proj/src/note.txt" 2>&1)"

# A second mount on the same mount point is refused, not stacked.
rc ctl native mount "$id" "$mnt" -o "cache_dir=$TEST_TMP/cache2"
[ "$RC" != 0 ] && [[ $ERR == *"is already a fuse.e2bfs mount"* ]] && ok "second mount on the same point refused" ||
	fail "second mount on the same point refused" "rc $RC: $ERR"
expect_eq "still one mount there" 1 "$(grep -c " $(realpath "$mnt") fuse" /proc/mounts)"
# e2bctl mount alone lists the active mounts.
rc ctl native mount
[[ $RC == 0 && $OUT == *SANDBOX*MOUNTPOINT*STATE* && $OUT == *"$id"*"$(realpath "$mnt")"*online* ]] &&
	ok "mount without arguments lists mounts" || fail "mount without arguments lists mounts" "rc $RC: $OUT"
rc ctl native --json mount
expect_eq "mount --json lists the mount" "$id /home/user online" \
	"$(printf '%s' "$OUT" | jq_py '[" ".join([m["sandboxID"], m["path"], m["state"]]) for m in d if m["mountpoint"] == "'"$(realpath "$mnt")"'"][0]' 2>&1)"
rc ctl native mount "$id"
expect_rc "mount with one argument is a usage error" 2 "needs ID[:PATH] and MOUNTPOINT"
# An unknown sandbox is named once, not twice ("cannot find sandbox 'X': get sandbox 'X': ...").
rc "$E2BFS_BIN" nosuch-sandbox "$mnt2"
[[ $RC != 0 && $ERR == *"nosuch-sandbox"* && $(grep -o nosuch-sandbox <<<"$ERR" | wc -l) == 1 ]] &&
	ok "e2bfs names an unknown sandbox once" || fail "e2bfs names an unknown sandbox once" "rc $RC: $ERR"

cd "$mnt/proj/src" || fail "cd into the mount"
rc "$C" run . pwd
expect_eq "run . uses the matching sandbox cwd" "0 /home/user/proj/src" "$RC $OUT"
rc "$C" run . cat note.txt
expect_eq "run . relative paths" "hello from the sandbox" "$OUT"
rc "$C" run --cwd /tmp . pwd
expect_eq "--cwd beats the mount cwd" "/tmp" "$OUT"
rc "$C" --json info .
expect_eq "info ." "$id" "$(printf '%s' "$OUT" | jq_py 'd["sandboxID"]' 2>&1)"
rc "$C" ls .
[[ $OUT == *" note.txt"* ]] && ok "ls . lists the current directory" || fail "ls . lists the current directory" "$OUT"
rc "$C" cat . note.txt
expect_eq "cat . relative path" "hello from the sandbox" "$OUT"
rc "$C" cp .:note.txt "$TEST_TMP/note.copy"
expect_eq "cp .:PATH" "0 hello from the sandbox" "$RC $(cat "$TEST_TMP/note.copy" 2>&1)"
P=$("$C" start . -- sh -c 'pwd > /tmp/start-cwd')
sleep 0.5
expect_eq "start . uses the matching cwd" "/home/user/proj/src" "$(ctl native cat "$id" /tmp/start-cwd 2>&1)"
cd /
rc "$C" run . pwd
expect_rc "'.' outside a mount" 2 "not inside an e2bfs mount"

# A sub-path mount maps to its own root.
rc ctl private mount "$id:/home/user/proj" "$mnt2" -o "cache_dir=$TEST_TMP/cache2"
if [ "$RC" = 0 ] && wait_mounted "$mnt2"; then
	cd "$mnt2/src" && rc "$C" run . pwd
	expect_eq "mount ID:PATH maps cwd" "/home/user/proj/src" "$OUT"
	cd /
else
	fail "mount ID:PATH" "rc $RC: $ERR"
fi

for d in "$mnt" "$mnt2"; do
	for i in $(seq 30); do
		"$C" umount "$d" 2>/dev/null && break
		sleep 0.2
	done
done
grep -q " $mnt " /proc/mounts && fail "umount" "still mounted" || ok "umount"
rc "$C" umount "$mnt"
expect_rc "umount of a non-mount" 3 "is not an e2bfs mount point"
rc env E2BFS=/nonexistent/e2bfs "$C" mount "$id" "$mnt"
expect_rc "mount without e2bfs" 3 "cannot run '/nonexistent/e2bfs'"

done_testing
