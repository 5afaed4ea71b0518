#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bfs as a command (issue 11 item 8 and the mount helper): usage errors
# exit 2; --help names the program, not its build path, lists each option
# once and names the control directory; called as mount.fuse.e2bfs with
# the options mount(8) and fstab add (rw, dev, suid, noauto, _netdev,
# nofail, user, x-systemd.*, comment=), it mounts.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

F=$E2BFS_BIN
status() { "$@" > "$TEST_TMP/out" 2> "$TEST_TMP/err"; echo $?; }

expect_eq "no arguments: exit 2" 2 "$(status "$F")"
expect_eq "one argument: exit 2" 2 "$(status "$F" someid)"
expect_eq "a bad cache_max: exit 2" 2 "$(status "$F" -o cache_max=lots someid "$TEST_TMP")"
expect_eq "a bad op_timeout: exit 2" 2 "$(status "$F" -o op_timeout=0 someid "$TEST_TMP")"
expect_eq "a bad sandbox ID: exit 2" 2 "$(status "$F" 'a b' "$TEST_TMP")"
expect_eq "a key on the command line: exit 2" 2 "$(status "$F" -o api_key=x someid "$TEST_TMP")"

expect_eq "--help exits 0" 0 "$(status "$F" --help)"
help=$(cat "$TEST_TMP/out")
expect_eq "--help names the program" "usage: e2bfs [options] SANDBOX_ID[:PATH] MOUNTPOINT" "$(head -n 1 <<<"$help")"
[[ $help != *"$BUILD_DIR"* && $help != */fs/e2bfs* ]] && ok "--help shows no build path" || fail "--help shows no build path" "$(head -n 1 <<<"$help")"
dups=$(grep -oE -- '^ +(-[a-zA-Z]|--[a-z-]+|-o [a-z_]+)' <<<"$help" | sed 's/^ *//' | sort | uniq -d | tr '\n' ' ')
expect_eq "--help lists each option once" "" "$dups"
[[ $help == *"MOUNTPOINT/.e2bfs/"* ]] && ok "--help names the control directory" || fail "--help names the control directory"
status "$F" > /dev/null
[[ $(cat "$TEST_TMP/err") == "usage: e2bfs "* ]] && ok "the usage line names the program" || fail "the usage line names the program" "$(cat "$TEST_TMP/err")"

# As mount(8) runs it: SOURCE MOUNTPOINT -o OPTIONS, from a link named
# mount.fuse.e2bfs, with what mount and fstab add.
id=$(new_sandbox) || { fail "create sandbox" "$id"; done_testing; }
"$E2BCTL_BIN" --api-url "$E2BD_URL" --sandbox-url "$E2BD_URL" run "$id" "echo via the helper > /home/user/helper.txt" > /dev/null
ln -sf "$F" "$TEST_TMP/mount.fuse.e2bfs"
mnt=$TEST_TMP/mnt
mkdir -p "$mnt"
_fs_mounts+=("$mnt")
"$TEST_TMP/mount.fuse.e2bfs" "$id" "$mnt" -o "rw,dev,suid,noauto,_netdev,nofail,user,x-systemd.automount,x-systemd.idle-timeout=60,comment=x,cache_dir=$TEST_TMP/cache" \
	> "$TEST_TMP/helper.log" 2>&1
rc=$?
expect_eq "mount.fuse.e2bfs SOURCE MOUNTPOINT -o mount's options: exit 0" 0 "$rc"
for _ in $(seq 50); do grep -q " $mnt fuse.e2bfs " /proc/mounts && break; sleep 0.1; done
expect_eq "it is mounted" "fuse.e2bfs" "$(awk -v m="$mnt" '$2 == m { print $3 }' /proc/mounts)"
[ -s "$TEST_TMP/helper.log" ] && fail "no complaint about mount's options" "$(cat "$TEST_TMP/helper.log")" || ok "no complaint about mount's options"
expect_eq "a file reads through it" "via the helper" "$(cat "$mnt/helper.txt" 2>&1)"
fs_umount "$mnt"
# An option nobody knows is still a usage error, after the options above.
expect_eq "an unknown -o option: exit 2" 2 "$(status "$F" -o "noauto,bogus_opt,cache_dir=$TEST_TMP/cache" "$id" "$mnt")"
grep -q " $mnt fuse" /proc/mounts && { fusermount3 -u "$mnt"; fail "an unknown option does not mount"; }
done_testing
