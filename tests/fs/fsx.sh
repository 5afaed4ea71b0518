#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fsx-style random operations through an e2bfs mount, compared byte for byte
# with a local model after every step (tests/fs/fsx/fsx.py: pwrite past EOF,
# pread, mmap reads and writes, ftruncate and truncate by name up and down,
# O_APPEND on a second descriptor, fsync, close/reopen), in phases separated
# by unmount + remount (every other one with a cold cache); then a 6 MiB
# file read at random from a cold cache; then three files at once; then
# content written through the mount read back through envd's /files and the
# other way round.  FSX_SEED, FSX_PHASES, FSX_OPS (per phase), FSX_BIG_OPS
# and FSX_CONC_OPS override the fixed defaults; a failure prints the
# command line that replays it.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

seed=${FSX_SEED:-20261127}
phases=${FSX_PHASES:-8}
per_phase=${FSX_OPS:-500}
fsx=$SRC_DIR/tests/fs/fsx/fsx.py
home=/home/user

id=$(new_sandbox '{"templateID":"base","timeout":900}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/fsx-mnt
model=$TEST_TMP/fsx-model
mkdir -p "$model"
mount_check "mount" "$id" "$mnt"
mkdir -p "$mnt/fsx" || { fail "mkdir through the mount" "cannot create '$mnt/fsx'"; done_testing; }

# alive: the daemon still serves the mount (else every later check would
# fail the same way).
alive() {
	kill -0 "$FS_PID" 2>/dev/null && stat "$mnt/fsx" >/dev/null 2>&1 && return 0
	fail "e2bfs still serving" "$(tail -n 3 "$TEST_TMP/e2bfs.log" | tr '\n' ' ')"
	done_testing
}

# held_elsewhere DIR: pids (one per foreign mount namespace) that still
# have DIR mounted.
held_elsewhere() {
	local self f p ns seen=" "
	self=$(readlink /proc/self/ns/mnt)
	for f in /proc/[0-9]*/mountinfo; do
		p=${f#/proc/}
		p=${p%/mountinfo}
		ns=$(readlink "/proc/$p/ns/mnt" 2>/dev/null) || continue
		[ "$ns" = "$self" ] && continue
		case $seen in *" $ns "*) continue ;; esac
		seen="$seen$ns "
		grep -q " $1 [^ ]* - fuse.e2bfs " "$f" 2>/dev/null && printf '%s ' "$p"
	done
}

# unmount_fully: unmount and see the daemon exit (it uploads leftovers).
# An e2bd started elsewhere while we were mounted holds a copy of the mount
# in its namespace, so the kernel never tells the daemon: that case is noted
# and the daemon stopped with SIGTERM; a daemon that hangs otherwise fails
# with its stacks.  Runs in this shell (FS_PID); the reason is in $why.
unmount_fully() {
	local i holders
	for i in $(seq 50); do
		fusermount3 -u "$mnt" 2>/dev/null && break
		sleep 0.2
	done
	if grep -q " $mnt fuse.e2bfs " /proc/mounts; then
		why="unmount failed: $(fusermount3 -u "$mnt" 2>&1)"
		return 1
	fi
	for i in $(seq 150); do
		kill -0 "$FS_PID" 2>/dev/null || return 0
		if [ "$i" = 10 ]; then
			holders=$(held_elsewhere "$mnt")
			if [ -n "$holders" ]; then
				echo "# e2bfs $FS_PID kept alive by another mount namespace (pid $holders): SIGTERM"
				kill -TERM "$FS_PID"
			fi
		fi
		sleep 0.1
	done
	why="daemon still running 15 s after unmount"
	{
		echo "e2bfs $FS_PID still running after unmount; log tail and stacks:"
		tail -n 20 "$TEST_TMP/e2bfs.log"
		command -v gdb >/dev/null && timeout 30 gdb -p "$FS_PID" -batch -ex 'thread apply all bt' 2>&1 |
			grep -E '^(Thread|#)'
	} | sed 's/^/# /' >&2
	return 1
}

# remount N: unmount_fully, check nothing stayed dirty, drop the content
# cache on even N, mount again.
remount() {
	unmount_fully || return 1
	if ls "$TEST_TMP/cache/$id"/*.dirty >/dev/null 2>&1; then
		why="dirty files left in the cache after unmount: $(printf '%s ' "$TEST_TMP/cache/$id"/*.dirty)"
		return 1
	fi
	[ $(($1 % 2)) = 0 ] && rm -rf "$TEST_TMP/cache"
	fs_mount "$id" "$mnt" || { why="remount failed: $(tail -n 2 "$TEST_TMP/e2bfs.log" | tr '\n' ' ')"; return 1; }
}

# --- one file, several thousand operations across remounts
t0=$(date +%s)
done_ops=0 why=
for ((ph = 0; ph < phases; ph++)); do
	args=(--seed "$seed" --phase "$ph" --ops "$per_phase" --mapwrite)
	[ "$ph" = 0 ] && args+=(--create)
	if ! out=$(python3 "$fsx" "${args[@]}" "$mnt/fsx/main" "$model/main" 2>"$TEST_TMP/fsx-ops.log"); then
		why="$out; replay: $fsx ${args[*]} FILE MODEL (state before: phases 0..$((ph - 1)) of seed $seed)"
		cat "$TEST_TMP/fsx-ops.log" >&2
		break
	fi
	echo "# $out"
	done_ops=$((done_ops + per_phase))
	if [ $((ph + 1)) -lt "$phases" ]; then
		remount "$ph" || { why="remount after phase $ph: $why"; break; }
	fi
done
if [ -z "$why" ]; then
	ok "fsx seed $seed: $done_ops ops, $((phases - 1)) remounts, content kept ($(($(date +%s) - t0)) s)"
else
	fail "fsx seed $seed" "$why"
fi
alive
case $out in *"mmap unsupported"*) skip "fsx mmap reads" "$(printf '%s' "$out" | grep -o 'mmap unsupported[^)]*)')" ;; esac

# --- a 6 MiB file (48 cache blocks) read at random from a cold cache:
# partly cached content under reads, mmap, truncates and writes.
t0=$(date +%s)
big=(--maxlen $((6 << 20)) --maxwrite $((256 << 10)) --check range --ops "${FSX_BIG_OPS:-150}")
done_ops=0 why=
for ((ph = 0; ph < 4; ph++)); do
	args=(--seed $((seed + 100)) --phase "$ph" "${big[@]}")
	[ "$ph" = 0 ] && args+=(--create)
	if ! out=$(python3 "$fsx" "${args[@]}" "$mnt/fsx/big" "$model/big" 2>"$TEST_TMP/fsx-ops.log"); then
		why="$out; replay: $fsx ${args[*]} FILE MODEL (after phases 0..$((ph - 1)))"
		cat "$TEST_TMP/fsx-ops.log" >&2
		break
	fi
	echo "# big $out"
	done_ops=$((done_ops + ${FSX_BIG_OPS:-150}))
	# Always cold: the next phase starts with nothing of it cached.
	remount 0 || { why="remount after big phase $ph: $why"; break; }
done
if [ -z "$why" ]; then
	ok "fsx 6 MiB file from a cold cache, $done_ops ops, 4 cold remounts ($(($(date +%s) - t0)) s)"
else
	fail "fsx 6 MiB file from a cold cache (seed $((seed + 100)))" "$why"
fi
alive

# What the mount wrote is what the sandbox holds.
envd "$id" GET "/files?path=$home/fsx/main" > "$TEST_TMP/fsx-main.envd"
if [ "$ENVD_STATUS" = 200 ] && cmp -s "$TEST_TMP/fsx-main.envd" "$model/main"; then
	ok "fsx file equals the model through envd /files"
else
	fail "fsx file equals the model through envd /files" "status $ENVD_STATUS, $(cmp "$TEST_TMP/fsx-main.envd" "$model/main" 2>&1 | head -1)"
fi

# --- three files at once, one process each
t0=$(date +%s)
pids=()
for i in 1 2 3; do
	python3 "$fsx" --seed $((seed + i)) --create --mapwrite --ops "${FSX_CONC_OPS:-300}" \
		"$mnt/fsx/conc$i" "$model/conc$i" > "$TEST_TMP/fsx-conc$i.out" 2>&1 &
	pids+=($!)
done
why=
for i in 1 2 3; do
	wait "${pids[$((i - 1))]}" || why="$why file $i: $(head -1 "$TEST_TMP/fsx-conc$i.out");"
done
echo sync > "$mnt/.e2bfs/ctl"	# write-back: the sandbox has it after a barrier
for i in 1 2 3; do
	envd "$id" GET "/files?path=$home/fsx/conc$i" > "$TEST_TMP/fsx-conc$i.envd"
	cmp -s "$TEST_TMP/fsx-conc$i.envd" "$model/conc$i" || why="$why file $i differs through envd (status $ENVD_STATUS);"
done
if [ -z "$why" ]; then
	ok "fsx 3 files concurrently, ${FSX_CONC_OPS:-300} ops each, checked through envd ($(($(date +%s) - t0)) s)"
else
	fail "fsx 3 files concurrently (seeds $((seed + 1))..$((seed + 3)))" "$why"
fi
alive

# --- mount -> envd: a sparse file bigger than one read chunk
python3 - "$mnt/fsx/sparse" "$model/sparse" <<'PY'
import os, random, sys
r = random.Random(7)
for p in sys.argv[1:]:
	r.seed(7)
	fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
	for off in (0, 3 << 20, (5 << 20) + 123):
		os.pwrite(fd, r.randbytes(300000), off)
	os.close(fd)
PY
echo sync > "$mnt/.e2bfs/ctl"	# write-back: the sandbox has it after a barrier
envd "$id" GET "/files?path=$home/fsx/sparse" > "$TEST_TMP/fsx-sparse.envd"
check "sparse file written through the mount, read through envd" cmp "$TEST_TMP/fsx-sparse.envd" "$model/sparse"

# --- envd -> mount
# wait_same NAME FILE MODEL: poll (50 ms) until FILE reads as MODEL, 3 s max.
wait_same() {
	local name=$1 t0 i
	t0=$(date +%s%N)
	for ((i = 0; i < 60; i++)); do
		if cmp -s "$2" "$3"; then
			ok "$name ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
			return 0
		fi
		sleep 0.05
	done
	fail "$name" "not within 3 s: $(cmp "$2" "$3" 2>&1 | head -1)"
}
head -c $((3 * 1024 * 1024 + 17)) /dev/urandom > "$model/up1"
envd "$id" POST "/files?path=$home/fsx/up1" "@$model/up1" application/octet-stream >/dev/null
wait_same "new file written through envd, read through the mount" "$mnt/fsx/up1" "$model/up1"
python3 - "$mnt/fsx/up1" "$model/up1" <<'PY' > "$TEST_TMP/fsx-ranges.out"
import os, random, sys
r = random.Random(11)
a, b = (os.open(p, os.O_RDONLY) for p in sys.argv[1:])
size = os.fstat(b).st_size
bad = [o for o in (r.randrange(size) for _ in range(200)) if os.pread(a, 70000, o) != os.pread(b, 70000, o)]
print(f"{len(bad)} bad of 200, first at {bad[0]}" if bad else "same")
PY
expect_eq "random preads of it through the mount" same "$(cat "$TEST_TMP/fsx-ranges.out")"

# Overwrite files the mount has cached: same size, then shorter.
cat "$mnt/fsx/main" "$mnt/fsx/up1" > /dev/null
size=$(stat -c %s "$model/up1")
head -c "$size" /dev/urandom > "$model/up1"
envd "$id" POST "/files?path=$home/fsx/up1" "@$model/up1" application/octet-stream >/dev/null
wait_same "same-size overwrite through envd shows in the mount" "$mnt/fsx/up1" "$model/up1"
head -c 1000 /dev/urandom > "$model/main"
envd "$id" POST "/files?path=$home/fsx/main" "@$model/main" application/octet-stream >/dev/null
wait_same "shrinking overwrite through envd shows in the mount" "$mnt/fsx/main" "$model/main"

unmount_fully || fail "unmount" "$why"
api DELETE "/sandboxes/$id" >/dev/null
done_testing
