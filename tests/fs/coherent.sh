#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The watch-coherent metadata cache.  A lookup miss lists its directory
# once and a complete listing answers misses; while the watch is up, what
# it vouches for is kept past every timeout at no request, yet sandbox-side
# changes (writes, creates, renames of files and directories, deletes, deep
# in the tree) show through the mount at once; when the watch stream is cut
# (a proxy that kills WatchDir connections), the mount falls back to its
# timeouts, the kernel forgets what it was told to keep, and after the
# stream is back the cache is vouched for again.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/coherent-mnt
H=/home/user

reqs() { json_get 'd["requests"]' < "$mnt/.e2bfs/status"; }
put() { envd "$id" POST "/files?path=$1" "$2" application/octet-stream >/dev/null; }
sh_in_sandbox() { # run a shell command in the sandbox, wait for it
	"$E2BCTL_BIN" run "$id" -- sh -c "$1" >/dev/null 2>&1
}
# wait_for NAME SECONDS CMD...: poll CMD every 50 ms; ok with the delay.
wait_for() {
	local name=$1 limit=$2 t0 i n
	shift 2
	t0=$(date +%s%N)
	n=$((limit * 20))
	for ((i = 0; i < n; i++)); do
		if "$@" >/dev/null 2>&1; then
			ok "$name ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
			return 0
		fi
		sleep 0.05
	done
	fail "$name" "not within ${limit}s"
}
watch_is() { # STATE: wait (bounded) until .e2bfs/status says the watch is STATE
	local i
	for i in $(seq 200); do
		[ "$(json_get 'd.get("watch")' < "$mnt/.e2bfs/status")" = "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
size_is() { [ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ]; }

sh_in_sandbox "mkdir -p $H/co/many $H/co/deep/a/b/c && cd $H/co/many && for i in \$(seq 100 299); do echo \$i > f\$i; done && echo one > $H/co/deep/a/b/c/leaf"
sh_in_sandbox "mkdir -p $H/walk && cd $H/walk && for d in \$(seq 10 49); do mkdir -p d\$d/sub; for f in 1 2 3; do echo \$d\$f > d\$d/f\$f; echo s > d\$d/sub/s\$f; done; done"

# --- listings instead of single Stats (short caches: vouching shown below)
# (no prefetch here: its background requests would blur the counts)
mount_check "mount" "$id" "$mnt" -o dir_cache=1,attr_timeout=1,entry_timeout=1,negative_timeout=1,prefetch_threads=0
check "watch up" watch_is up
# The root's attributes from the mount itself are not vouched for: once
# they expired, one Stat gets vouched ones.
sleep 1.1
stat "$mnt" >/dev/null
r0=$(reqs)
for i in $(seq 100 149); do stat -c %s "$mnt/co/many/f$i"; done >/dev/null
r1=$(reqs)
check "50 cold lookups in one directory cost <= 4 requests (took $((r1 - r0)))" test $((r1 - r0)) -le 4
for i in $(seq 1 30); do stat "$mnt/co/many/nope$i" 2>/dev/null; done
r2=$(reqs)
check "30 misses in a listed directory cost no request (took $((r2 - r1)))" test $((r2 - r1)) -eq 0
check "a miss is a miss" test ! -e "$mnt/co/many/nope1"
expect_eq "listed attributes" "$(cat "$mnt/co/many/f123")" 123

# --- while the watch vouches: no request after every timeout has passed
ls -l "$mnt/co/many" >/dev/null
stat "$mnt/co/deep/a/b/c/leaf" >/dev/null
sleep 2.5
r0=$(reqs)
ls -l "$mnt/co/many" >/dev/null
stat "$mnt/co/deep/a/b/c/leaf" "$mnt/co/many/f200" >/dev/null
stat "$mnt/co/many/absent" 2>/dev/null
r1=$(reqs)
check "vouched ls -l and stats past the timeouts cost no request (took $((r1 - r0)))" test $((r1 - r0)) -eq 0

# --- sandbox-side changes show at once (delays printed, bound generous)
put "$H/co/many/f150" "longer content"
wait_for "sandbox write changes size" 3 size_is "$mnt/co/many/f150" 14
wait_for "sandbox write changes content" 3 grep -qx "longer content" "$mnt/co/many/f150"
put "$H/co/many/new1" "new"
wait_for "sandbox create appears" 3 test -f "$mnt/co/many/new1"
wait_for "sandbox create appears in ls" 3 sh -c "ls '$mnt/co/many' | grep -qx new1"
rpc "$id" filesystem.Filesystem/Move "{\"source\":\"$H/co/many/f151\",\"destination\":\"$H/co/many/g151\"}" >/dev/null
wait_for "sandbox rename of a file shows" 3 sh -c "test -f '$mnt/co/many/g151' && ! test -e '$mnt/co/many/f151'"
rpc "$id" filesystem.Filesystem/Remove "{\"path\":\"$H/co/many/f152\"}" >/dev/null
wait_for "sandbox delete shows" 3 sh -c "! test -e '$mnt/co/many/f152' && ! ls '$mnt/co/many' | grep -qx f152"
sh_in_sandbox "echo changed-deep > $H/co/deep/a/b/c/leaf"
wait_for "change deep in the tree shows" 3 grep -qx changed-deep "$mnt/co/deep/a/b/c/leaf"
rpc "$id" filesystem.Filesystem/Move "{\"source\":\"$H/co/deep/a\",\"destination\":\"$H/co/deep/z\"}" >/dev/null
wait_for "sandbox rename of a directory shows" 3 sh -c "test -f '$mnt/co/deep/z/b/c/leaf' && ! test -e '$mnt/co/deep/a'"
expect_eq "renamed directory's content" "$(cat "$mnt/co/deep/z/b/c/leaf" 2>&1)" changed-deep
sh_in_sandbox "chmod 600 $H/co/many/f153"
wait_for "sandbox chmod shows" 3 sh -c "[ \"\$(stat -c %a '$mnt/co/many/f153')\" = 600 ]"
sh_in_sandbox "mkdir $H/co/many/sub && echo s > $H/co/many/sub/inner"
wait_for "new directory and its file show" 3 grep -qx s "$mnt/co/many/sub/inner"
# ls -l: no xattr round trip per file (only user.* is supported; ls and
# cp stop asking a device that says so)
expect_eq "getxattr outside user.* is unsupported" "$(python3 -c '
import errno, os, sys
out = []
for n in ("security.selinux", "system.posix_acl_access", "user.other"):
    try:
        os.getxattr(sys.argv[1], n)
        out.append("value")
    except OSError as e:
        out.append(errno.errorcode[e.errno])
print(" ".join(out))' "$mnt/co/many/f120")" "ENOTSUP ENOTSUP ENODATA"
# our own changes update the cache directly
echo mine > "$mnt/co/many/mine"
expect_eq "own create visible" "$(cat "$mnt/co/many/mine")" mine
rm "$mnt/co/many/f154"
check "own delete visible" test ! -e "$mnt/co/many/f154"
# `run .` from inside the mount waits for the write-back (a bare ID would not).
expect_eq "own changes seen by the sandbox" "$(cd "$mnt" && "$E2BCTL_BIN" run . -- sh -c "cat $H/co/many/mine; ls $H/co/many | grep -c f154" 2>&1 | tr '\n' ' ')" "mine 0 "
# A file replaced through the mount (git's index: lock file renamed over
# it) changes its directory's mtime in the sandbox; once quiet, the
# directory is vouched for again: stat of it makes no request.
mkdir -p "$mnt/co/rv"
echo one > "$mnt/co/rv/index"
echo sync > "$mnt/.e2bfs/ctl"
echo two > "$mnt/co/rv/index.lock" && mv "$mnt/co/rv/index.lock" "$mnt/co/rv/index"
echo sync > "$mnt/.e2bfs/ctl"
# Quiet: the watch's events of the Move and the revalidation after them
# are over (no request for 0.6 s; at most 6 s), past the kernel's attr
# timeout (1 s).
sleep 1
r0=$(reqs)
for _ in $(seq 10); do
	sleep 0.6
	r1=$(reqs)
	[ "$r1" = "$r0" ] && break
	r0=$r1
done
stat "$mnt/co/rv" "$mnt/co/rv/index" >/dev/null
r1=$(reqs)
check "a directory our own replace changed is vouched again (took $((r1 - r0)) requests)" test $((r1 - r0)) -eq 0
expect_eq "its mtime is the sandbox's" "$(stat -c %Y "$mnt/co/rv")" "$("$E2BCTL_BIN" run "$id" -- stat -c %Y "$H/co/rv" 2>&1)"
# A sandbox-side write right after our own change of the same file (its
# event comes inside the window where events are taken for our echo) is
# seen by the next open, inside the attribute timeout (1 s) too.
echo one > "$mnt/co/rv/echo"
echo sync > "$mnt/.e2bfs/ctl"
cat "$mnt/co/rv/echo" > /dev/null
sleep 0.6	# our own upload's echoes are over
chmod 600 "$mnt/co/rv/echo"
sh_in_sandbox "echo two >> $H/co/rv/echo"
sleep 0.5	# its event, and the revalidation once quiet (0.2 s)
expect_eq "sandbox write inside our echo window: seen at the next open" \
	"$(tr '\n' ' ' < "$mnt/co/rv/echo")" "one two "
# rm of names the watch vouches for: one request each (no Stat first); a
# name the sandbox turned into a directory meanwhile is refused, never
# removed with its tree (envd's Remove is rm -rf).
sh_in_sandbox "mkdir -p $H/co/rm && cd $H/co/rm && for i in 1 2 3 4 5 6 7 8 9 10; do echo \$i > r\$i; done && echo f > was-file"
ls -l "$mnt/co/rm" > /dev/null
sleep 1.1	# the listing's attributes expired: what vouches now is the watch
r0=$(reqs)
rm "$mnt/co/rm"/r*
r1=$(reqs)
check "rm of 10 vouched files: $((r1 - r0)) requests" test $((r1 - r0)) -le 10
expect_eq "gone in the sandbox" "0" "$("$E2BCTL_BIN" run "$id" -- sh -c "ls $H/co/rm | grep -c '^r'" 2>&1)"
sh_in_sandbox "cd $H/co/rm && rm was-file && mkdir was-file && echo keep > was-file/inside"
sleep 1	# its events
rm "$mnt/co/rm/was-file" 2>/dev/null
expect_eq "a file turned directory in the sandbox: rm refuses, its tree stays" "keep" \
	"$("$E2BCTL_BIN" run "$id" -- cat "$H/co/rm/was-file/inside" 2>&1)"
fs_umount "$mnt"

# --- a tree walk is a few requests (depth listings prefetched ahead), not
# one per directory: 81 directories, 240 files
mount_check "mount with prefetch" "$id" "$mnt"
r0=$(reqs)
n=$(find "$mnt/walk" -printf '%s\n' | wc -l)
r1=$(reqs)
expect_eq "find sees the whole tree" "$n" 321
check "find over 81 directories costs <= 20 requests (took $((r1 - r0)))" test $((r1 - r0)) -le 20
expect_eq "prefetched attributes" "$(cat "$mnt/walk/d33/f2")" 332
fs_umount "$mnt"

# --- the watch stream cut: fall back to the timeouts, then recover
pport=$(free_port)
block=$TEST_TMP/block-watch
python3 "$SRC_DIR/tests/fs/cutproxy.py" "$pport" "${E2BD_URL##*:}" "$block" &
proxy=$!
trap 'kill $proxy 2>/dev/null; _fs_cleanup' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$pport") 2>/dev/null && break; sleep 0.1; done
mount_check "mount through the fault proxy" "$id" "$mnt" \
	-o "sandbox_url=http://127.0.0.1:$pport,dir_cache=1,attr_timeout=1,entry_timeout=1,negative_timeout=1,prefetch_threads=0"
check "watch up through the proxy" watch_is up
stat "$mnt/co/many/f160" "$mnt/co/many/f161" >/dev/null
ls "$mnt/co/many" >/dev/null
sleep 1.5
r0=$(reqs)
stat "$mnt/co/many/f160" >/dev/null
r1=$(reqs)
check "vouched through the proxy (took $((r1 - r0)) requests)" test $((r1 - r0)) -eq 0
touch "$block"
check "watch cut: status says down" watch_is down
put "$H/co/many/f160" "while the watch is down"
put "$H/co/many/down1" "x"
wait_for "watch down: change shows within the timeouts" 4 size_is "$mnt/co/many/f160" 23
wait_for "watch down: create shows within the timeouts" 4 test -f "$mnt/co/many/down1"
stat "$mnt/co/many/f161" >/dev/null
sleep 1.5
r0=$(reqs)
stat "$mnt/co/many/f161" >/dev/null
r1=$(reqs)
check "watch down: attributes revalidated after the timeout (took $((r1 - r0)))" test $((r1 - r0)) -ge 1
rm -f "$block"
check "watch back up after the cut" watch_is up
stat "$mnt/co/many/f161" >/dev/null
sleep 1.5
r0=$(reqs)
stat "$mnt/co/many/f161" >/dev/null
r1=$(reqs)
check "watch back: vouched again (took $((r1 - r0)) requests)" test $((r1 - r0)) -eq 0
put "$H/co/many/f161" "after the watch came back"
wait_for "watch back: change shows at once" 3 size_is "$mnt/co/many/f161" 25
fs_umount "$mnt"
done_testing
