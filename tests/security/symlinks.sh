#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# issue 9 item 2: links made by a hostile sandbox never lead a local program
# out of the mount (docs/e2bfs.md SYMLINKS).  The sandbox makes relative
# climbs, absolute targets, chains and `..` after a link aimed at canary
# files of this machine; reading and appending through the mount must leave
# every canary untouched, and each link shows the contained text.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/mnt
mkdir -p "$mnt"
# Canaries on this machine: one in /tmp (reached by climbing from anywhere),
# one next to the mount point (reached by `..` after a link to the root).
canary=$(mktemp /tmp/e2bfs-canary.XXXXXX)
echo "host secret" > "$canary"
echo "host secret 2" > "$TEST_TMP/canary2"
trap 'rm -f "$canary"; _fs_cleanup' EXIT
cname=${canary#/tmp/}
up=$(printf '../%.0s' $(seq 30))

run() { "$E2BCTL_BIN" run "$id" -- "$1" 2>&1; }
out=$(run "mkdir -p sub/deep && echo sandbox > sub/file && \
ln -s ${up}tmp/$cname notes.txt && \
ln -s $canary abs && \
ln -s /etc/hostname sub/deep/etc && \
ln -s /home/user/sub/file inabs && \
ln -s ../file sub/deep/rel && \
ln -s $up sub/inner && ln -s sub/inner a && ln -s a/tmp/$cname chain && \
ln -s . top && ln -s top/../canary2 dotdot && \
ln -s .. sub/up && ln -s sub/up/../canary2 dotdot2 && \
ln -s a/../canary2 dotdot3 && echo made")
expect_eq "sandbox makes hostile links" made "$out"
echo "links: $(run 'for l in notes.txt abs sub/deep/etc inabs sub/deep/rel sub/inner a chain top dotdot sub/up dotdot2 dotdot3; do printf "%s->%s " $l "$(readlink $l)"; done')"

mount_check "mount" "$id" "$mnt"

# What each link shows through the mount.
expect_link() { # NAME EXPECTED
	expect_eq "readlink $1 -> '$2'" "$2" "$(readlink "$mnt/$1")"
}
expect_link notes.txt ".e2bfs/escaped/tmp/$cname"
expect_link abs ".e2bfs/escaped$canary"
expect_link sub/deep/etc "../../.e2bfs/escaped/etc/hostname"
expect_link inabs "sub/file"
expect_link sub/deep/rel "../file"
expect_link sub/inner "../.e2bfs/escaped"
expect_link a "sub/inner"
expect_link chain "a/tmp/$cname"
expect_link top "."
expect_link dotdot "canary2"
expect_link sub/up ".."
expect_link dotdot2 "sub/canary2"
expect_link dotdot3 "canary2"

# Links inside the mount still work.
expect_eq "absolute link inside the mount reads the sandbox file" sandbox "$(cat "$mnt/inabs" 2>&1)"
expect_eq "relative link inside the mount reads the sandbox file" sandbox "$(cat "$mnt/sub/deep/rel" 2>&1)"
expect_eq "link to the mount's root lists it" yes "$(test -f "$mnt/top/sub/file" && echo yes)"

# Nothing reads or writes a local file through the links.
for l in notes.txt abs chain dotdot dotdot2 dotdot3 a/tmp/$cname; do
	got=$(cat "$mnt/$l" 2>&1)
	case $got in
	*"host secret"*) fail "cat MNT/$l does not read a local file" "read '$got'" ;;
	*) ok "cat MNT/$l does not read a local file (got: $got)" ;;
	esac
done
for l in notes.txt abs chain dotdot dotdot2 sub/deep/etc; do
	res=$( (echo "written by $l" >> "$mnt/$l") 2>&1 && echo "append succeeded")
	ok "echo >> MNT/$l tried (got: ${res:-nothing})"
done
# A `..` typed after a link to the mount's root is the kernel's: it leads to
# the directory holding the mount, as MNT/.. does (docs/e2bfs.md SYMLINKS).
expect_eq "local canary in /tmp unchanged" "host secret" "$(cat "$canary")"
expect_eq "local canary next to the mount unchanged" "host secret 2" "$(cat "$TEST_TMP/canary2")"
expect_eq "no local file created through a link" "" "$(ls /tmp/"$cname".* 2>/dev/null; ls /etc/hostname.* 2>/dev/null)"
# `..` resolved lexically: the append through dotdot wrote the sandbox's
# canary2 inside the mount, never the local one (read after the write-back
# barrier: the sandbox has it once sync returns).
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "append through dotdot lands in the sandbox" "written by dotdot" "$(run 'cat canary2' | head -1)"

fs_umount "$mnt"

# -o symlinks=raw shows the text as stored (sshfs's behaviour).
mount_check "mount with -o symlinks=raw" "$id" "$mnt" -o symlinks=raw
expect_eq "raw: readlink notes.txt" "${up}tmp/$cname" "$(readlink "$mnt/notes.txt")"
expect_eq "raw: readlink abs" "$canary" "$(readlink "$mnt/abs")"
fs_umount "$mnt"
api DELETE "/sandboxes/$id" >/dev/null
done_testing
