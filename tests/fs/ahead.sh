#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Content ahead of the reader (fs/ahead.c): reading the second file of a
# directory fetches the small files of that directory and of the ones after
# it into the content cache, so reading them costs no request; what is read
# is byte-identical to the sandbox's files; a file changed in the sandbox
# after it was fetched ahead is read fresh; a file too large is left to the
# reader; a dirty local file is never replaced by a fetch ahead.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/ahead-mnt
H=/home/user

st() { json_get "d[\"$1\"]" < "$mnt/.e2bfs/status"; }
sh_in_sandbox() { "$E2BCTL_BIN" run "$id" -- sh -c "$1" >/dev/null 2>&1; }
# quiet_until N CMD...: poll CMD up to N times 50 ms apart; its status.
quiet_until() {
	local n=$1 i
	shift
	for i in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
# wait_until NAME CMD...: poll CMD (bounded, 30 s), fail if it never holds.
wait_until() {
	local name=$1
	shift
	if quiet_until 600 "$@"; then ok "$name"; else fail "$name" "never"; fi
}
fetched_at_least() { [ "$(st aheadFetched)" -ge "$1" ]; }
watch_up() { [ "$(st watch)" = up ]; }
# Sums of every file below DIR in the sandbox and through the mount.
sums_sandbox() { "$E2BCTL_BIN" run "$id" -- sh -c "cd $H/ah/$1 && sha256sum \$(ls | sort)" 2>&1; }
sums_mount() { (cd "$mnt/ah/$1" && sha256sum $(ls | sort)) 2>&1; }

# Four directories of 40 files of 1..6000 random bytes, one large file,
# then eight directories of 40 tiny files (after them in name order).
sh_in_sandbox "mkdir -p $H/ah && cd $H/ah && for d in d1 d2 d3 d4; do mkdir \$d; for i in \$(seq 10 49); do head -c \$(( (i * 997) % 6000 + 1 )) /dev/urandom > \$d/f\$i; done; done && head -c 300000 /dev/urandom > d2/big && for d in e1 e2 e3 e4 e5 e6 e7 e8; do mkdir \$d; for i in \$(seq 10 49); do echo \$d\$i > \$d/f\$i; done; done"

# ahead_size=64K leaves 'big' (300,000 bytes) to the reader; ahead_start=256
# is the first window at 20 ms or more (here, at loopback: 32, below).
mount_check "mount" "$id" "$mnt" -o ahead_size=64K,ahead_threads=8,ahead_start=256
wait_until "watch up" watch_up
expect_eq "nothing fetched ahead before a read" "$(st aheadFetched)" 0
cat "$mnt/ah/d1/f10" >/dev/null
expect_eq "one file read: nothing fetched ahead" "$(st aheadFetched)" 0
cat "$mnt/ah/d1/f11" >/dev/null
# The rest of d1 (38), then d2, d3, d4, e1, e2 (40 small each) and e3's
# first 18: the first window (256 files beyond the reader, which is 2 files
# into d1) ends inside e3; each move of the reader into the next directory
# of the run doubles it.
wait_until "the second file read fetches the directory and the next ones ahead" fetched_at_least 256
sleep 0.5
check "a reader that stays in d1 gets no more than the first window ($(st aheadFetched))" \
	test "$(st aheadFetched)" -le 256
r0=$(st requests)
h0=$(st aheadHits)
f0=$(st aheadFetched)
n=118
for d in d1 d2 d3 d4; do
	# (the reader's move into d2 extends the run to d4)
	[ "$d" = d4 ] && n=158
	wait_until "fetched ahead before $d is read" fetched_at_least $n
	for i in $(seq 12 49); do cat "$mnt/ah/$d/f$i"; done >/dev/null
done
r1=$(st requests)
h1=$(st aheadHits)
f1=$(st aheadFetched)
# (the fetches of d4 ahead ran meanwhile: not the reader's requests)
check "152 files fetched ahead are read at no request (took $((r1 - r0 - (f1 - f0))))" \
	test $((r1 - r0 - (f1 - f0))) -le 2
check "the opens were hits of the fetch ahead ($((h1 - h0)))" test $((h1 - h0)) -ge 150
cat "$mnt/ah/d2/big" >/dev/null
r2=$(st requests)
check "a file over ahead_size is fetched by its reader ($((r2 - r1)) requests)" test $((r2 - r1)) -ge 1
for d in d1 d2 d3 d4; do
	expect_eq "$d read through the mount is byte-identical" "$(sums_mount $d)" "$(sums_sandbox $d)"
done

# --- changed in the sandbox after it was fetched ahead: read fresh
sh_in_sandbox "cd $H/ah/d3 && echo changed-size > f20 && head -c \$(stat -c %s f21) /dev/zero | tr '\\0' Z > f21.n && touch -d '2001-01-01' f21.n && mv f21.n f21"
fresh() { [ "$(cat "$mnt/ah/d3/f20")" = changed-size ] && [ "$(head -c 3 "$mnt/ah/d3/f21")" = ZZZ ]; }
wait_until "files changed in the sandbox after the fetch ahead read fresh" fresh
expect_eq "d3 after the change is byte-identical" "$(sums_mount d3)" "$(sums_sandbox d3)"

# --- a dirty file is never replaced by a fetch ahead
fs_umount "$mnt"
E2BFS_TEST_UPLOAD_DELAY_MS=3000 mount_check "mount with slow uploads" "$id" "$mnt" -o ahead_threads=8
wait_until "watch up (again)" watch_up
for i in 10 11 12 13 14; do echo "local $i" > "$mnt/ah/d4/f$i"; done
check "written files are pending upload" test "$(st pendingUploads)" -ge 1
cat "$mnt/ah/d4/f20" "$mnt/ah/d4/f21" >/dev/null
wait_until "the fetch ahead ran in a directory with dirty files" fetched_at_least 30
got=$(for i in 10 11 12 13 14; do cat "$mnt/ah/d4/f$i"; done)
expect_eq "dirty files keep their local content" "$got" "$(for i in 10 11 12 13 14; do echo "local $i"; done)"
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "the sandbox gets the local content" \
	"$("$E2BCTL_BIN" run "$id" -- sh -c "cat $H/ah/d4/f1[0-4]" 2>&1)" "$got"
expect_eq "d4 read through the mount is byte-identical" "$(sums_mount d4)" "$(sums_sandbox d4)"
fs_umount "$mnt"

# --- a reader of files written here (git add hashing new files) starts no
# run: their content is here, and the directories after theirs are not next
mount_check "mount for a reader of its own files" "$id" "$mnt" -o ahead_threads=8
wait_until "watch up (written here)" watch_up
mkdir "$mnt/ah/a0"
for i in 1 2 3 4 5 6; do echo "mine $i" > "$mnt/ah/a0/m$i"; done
cat "$mnt/ah/a0/m"* > /dev/null
sleep 1
expect_eq "reading files written here fetches nothing ahead" "$(st aheadFetched)" 0
fs_umount "$mnt"

# --- bounded: ahead_files=20 keeps at most 20 files ahead of the reader
# (of d1: f12..f31, f10 and f11 being read already)
mount_check "mount with ahead_files=20" "$id" "$mnt" -o ahead_files=20
wait_until "watch up (bounded)" watch_up
cat "$mnt/ah/d1/f10" "$mnt/ah/d1/f11" >/dev/null
wait_until "ahead_files=20: the window is fetched" fetched_at_least 20
sleep 1
check "ahead_files=20: no more than the window ($(st aheadFetched))" test "$(st aheadFetched)" -le 20
# A directory of more files than the window: the rest of it is fetched
# ahead as the reader goes through it (not one request per file from f32).
r0=$(st requests)
f0=$(st aheadFetched)
k=0
for i in $(seq 12 49); do
	quiet_until 200 fetched_at_least $((k + 20)) || break
	cat "$mnt/ah/d1/f$i" >/dev/null
	k=$((k + 1))
done
expect_eq "the reader of d1 never outran the window by more than it holds" "$k" 38
r1=$(st requests)
f1=$(st aheadFetched)
check "38 files of d1 read at no request of their own (took $((r1 - r0 - (f1 - f0))))" \
	test $((r1 - r0 - (f1 - f0))) -le 2
expect_eq "d1 read with a window of 20 is byte-identical" "$(sums_mount d1)" "$(sums_sandbox d1)"
fs_umount "$mnt"

# --- the first window follows the distance: at loopback latency a run
# starts with the reader's directory and 32 files (d1 has 40), 20 ms away
# with 256 files beyond the reader
mount_check "mount at loopback distance" "$id" "$mnt" -o ahead_threads=8
wait_until "watch up (loopback)" watch_up
cat "$mnt/ah/d1/f10" "$mnt/ah/d1/f11" >/dev/null
wait_until "loopback: d1 fetched ahead" fetched_at_least 38
sleep 1
lat=$(st latencyMs)
n=$(st aheadFetched)
check "loopback: latency measured ($lat ms), a small first window ($n files)" \
	awk -v l="$lat" -v n="$n" 'BEGIN { exit !(l >= 0 && l < 10 && n <= 128) }'
fs_umount "$mnt"

pf=$TEST_TMP/delay.port
"$BUILD_DIR/bench/delayproxy" --listen 127.0.0.1:0 --connect "127.0.0.1:${E2BD_URL##*:}" \
	--rtt-ms 20 --port-file "$pf" >/dev/null 2>>"$TEST_TMP/delay.err" &
dproxy=$!
trap 'kill $dproxy 2>/dev/null; _fs_cleanup' EXIT
for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
mount_check "mount 20 ms away" "$id" "$mnt" -o "sandbox_url=http://127.0.0.1:$(cat "$pf")"
wait_until "watch up (20 ms away)" watch_up
cat "$mnt/ah/d1/f10" "$mnt/ah/d1/f11" >/dev/null
wait_until "20 ms away: the first window (256 files beyond the reader) is fetched" \
	fetched_at_least 256
lat=$(st latencyMs)
check "20 ms away: latency measured ($lat ms)" awk -v l="$lat" 'BEGIN { exit !(l >= 20) }'
fs_umount "$mnt"
kill "$dproxy" 2>/dev/null

# --- off: ahead_threads=0 fetches nothing ahead
mount_check "mount without the fetch ahead" "$id" "$mnt" -o ahead_threads=0
cat "$mnt/ah/d1/f10" "$mnt/ah/d1/f11" "$mnt/ah/d1/f12" >/dev/null
expect_eq "ahead_threads=0 fetches nothing ahead" "$(st aheadFetched)" 0
fs_umount "$mnt"
done_testing
