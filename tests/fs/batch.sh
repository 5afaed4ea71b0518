#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bfs write-back batching: small files created through the mount reach
# the sandbox several to a multipart POST, their modes and times in one
# fixer exchange; after a barrier every file is byte-identical there, with
# the modes and mtimes tar gave it (and its directories theirs), and the
# whole unpack cost fewer envd requests than it has files.  A file too big
# for a batch and an empty one travel too; a kill -9 with batched files
# pending loses none.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/bt-mnt
src=$TEST_TMP/bt-src
mkdir -p "$src/t"
# 300 small files in 10 directories, modes 644/755/600, distinct mtimes.
for i in $(seq 0 299); do
	d=$src/t/d$((i % 10))
	mkdir -p "$d"
	head -c $(( (i * 7919) % 9000 )) /dev/urandom > "$d/f$i"
	case $((i % 3)) in
	0) chmod 644 "$d/f$i" ;;
	1) chmod 755 "$d/f$i" ;;
	2) chmod 600 "$d/f$i" ;;
	esac
	touch -d "@$((1600000000 + i * 3600))" "$d/f$i"
done
head -c $((3 * 1024 * 1024 + 5)) /dev/urandom > "$src/t/d1/big"
: > "$src/t/d2/empty"
chmod 700 "$src/t/d3"
chmod 750 "$src/t/d4"
for d in $(seq 0 9); do touch -d "@$((1500000000 + d * 86400))" "$src/t/d$d"; done
tar cf "$TEST_TMP/bt.tar" -C "$src" t

# listing FROM: name, mode, mtime, size and sha256 of everything under FROM.
listing() {
	(cd "$1" && find . -mindepth 1 \( -type f -printf '%p %m %T@ %s ' -exec sh -c \
		'sha256sum < "$1" | cut -d" " -f1' _ {} \; \) -o \( -type d -printf '%p %m %T@\n' \) |
		sed -E 's/\.[0-9]+ / /' | sort)
}
want=$(listing "$src/t")

mount_check "mount" "$id" "$mnt"
reqs0=$(json_get 'd["requests"]' < "$mnt/.e2bfs/status")
mkdir "$mnt/bt" && tar xf "$TEST_TMP/bt.tar" -C "$mnt/bt"
check "tar x into the mount" test $? -eq 0
echo sync > "$mnt/.e2bfs/ctl"
check "sync after tar x" test $? -eq 0
reqs1=$(json_get 'd["requests"]' < "$mnt/.e2bfs/status")
st=$(json_get '"%d %d %d" % (d["pendingUploads"], d["dirtyFiles"], d["failedUploads"])' \
	< "$mnt/.e2bfs/status")
expect_eq "nothing pending or failed after sync" "0 0 0" "$st"
n=$((reqs1 - reqs0))
check "302 files unpacked in fewer envd requests than files ($n)" test "$n" -lt 302

# The sandbox's own view, through the barrier of `e2bctl run .`.
got=$(cd "$mnt/bt/t" && "$E2BCTL_BIN" run . -- sh -c "$(declare -f listing); listing ." 2>&1)
expect_eq "the sandbox has every file byte-identical, modes and mtimes kept" "$want" "$got"
expect_eq "the mount shows the same" "$want" "$(listing "$mnt/bt/t")"

# kill -9 with a batch pending: the next mount uploads every file.
fs_umount "$mnt"
E2BFS_TEST_UPLOAD_DELAY_MS=3000 mount_check "mount with slow uploads" "$id" "$mnt"
mkdir "$mnt/bk" && tar xf "$TEST_TMP/bt.tar" -C "$mnt/bk"
check "tar x with uploads held back" test $? -eq 0
kill -9 "$FS_PID"
wait "$FS_PID" 2>/dev/null
fusermount3 -uz "$mnt"
mount_check "mount again after kill -9" "$id" "$mnt"
got=
for _ in $(seq 300); do
	got=$("$E2BCTL_BIN" run "$id" -- sh -c "cd /home/user/bk/t && find . -type f | wc -l" 2>&1)
	[ "$got" = 302 ] && break
	sleep 0.2
done
expect_eq "every file of the killed mount's batch reached the sandbox" "302" "$got"
got=$("$E2BCTL_BIN" run "$id" -- sh -c \
	"cd /home/user/bk/t && cat \$(find . -type f | sort) | sha256sum" 2>&1)
expect_eq "with the right content" "$(cd "$src/t" && cat $(find . -type f | sort) | sha256sum)" "$got"
fs_umount "$mnt"
done_testing
