#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fsx-style random operations (writes, reads, truncates, fsync, reopen)
# through the mount, compared byte for byte with a local model: several
# thousand operations, also across remounts with a cold cache.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/fsx-mnt
mount_check "mount" "$id" "$mnt"

for seed in 1 2 3; do
	check "fsx 3000 ops (seed $seed)" python3 "$SRC_DIR/tests/fs/fsx.py" "$mnt/fsx-$seed.bin" 3000 "$seed"
done

# Remounts: the helper script unmounts, drops the cache and mounts again.
cat > "$TEST_TMP/remount.sh" <<SH
#!/usr/bin/env bash
fusermount3 -u '$mnt' || exit 1
for i in \$(seq 100); do grep -q ' $mnt ' /proc/mounts || break; sleep 0.05; done
rm -rf '$TEST_TMP/cache'
"$E2BFS_BIN" -o "cache_dir=$TEST_TMP/cache" "$id" '$mnt' 2>>"$TEST_TMP/e2bfs.log"
for i in \$(seq 100); do grep -q ' $mnt fuse.e2bfs ' /proc/mounts && exit 0; sleep 0.05; done
exit 1
SH
chmod +x "$TEST_TMP/remount.sh"
check "fsx 2000 ops across remounts" python3 "$SRC_DIR/tests/fs/fsx.py" "$mnt/fsx-remount.bin" 2000 7 "$TEST_TMP/remount.sh"
expect_eq "sandbox copy matches after the last close" \
	"$(md5sum < "$mnt/fsx-remount.bin")" \
	"$(envd "$id" GET "/files?path=/home/user/fsx-remount.bin" | md5sum)"
fs_umount "$mnt"
done_testing
