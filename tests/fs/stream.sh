#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A large file read sequentially is streamed (one GET on its own thread
# into a ring in memory; readers wait for the bytes they need): the content is exact, a reader
# that stops early leaves no stale blocks behind and no GET waiting, a change in the sandbox
# while a stream runs is seen on the next open, and a write into a file
# whose stream is running lands on complete, current content.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
H=/home/user
sb() { "$E2BCTL_BIN" run "$id" -- sh -c "$1" 2>&1; }
sb "mkdir -p $H/st && head -c 24M /dev/urandom > $H/st/a.bin && head -c 40M /dev/urandom > $H/st/b.bin" >/dev/null
mnt=$TEST_TMP/stream-mnt
mount_check "mount" "$id" "$mnt"

want=$(sb "sha256sum < $H/st/a.bin" | cut -c1-64)
expect_eq "24 MiB read sequentially: exact" "$want" "$(sha256sum < "$mnt/st/a.bin" | cut -c1-64)"
expect_eq "read again from the cache: exact" "$want" "$(sha256sum < "$mnt/st/a.bin" | cut -c1-64)"

# A reader that stops after 1 MiB (its stream is cancelled at close), then
# the file changes in the sandbox: the next full read is the new content.
head -c 1M "$mnt/st/b.bin" > "$TEST_TMP/head.bin"
expect_eq "head of a streamed file" "$(sb "head -c 1M $H/st/b.bin | sha256sum" | cut -c1-64)" \
	"$(sha256sum < "$TEST_TMP/head.bin" | cut -c1-64)"
sb "head -c 40M /dev/urandom > $H/st/b.new && mv $H/st/b.new $H/st/b.bin" >/dev/null
sleep 1	# the watch's event (0.5 s at most while it is up)
want=$(sb "sha256sum < $H/st/b.bin" | cut -c1-64)
expect_eq "changed in the sandbox after a cancelled stream: new content" "$want" \
	"$(sha256sum < "$mnt/st/b.bin" | cut -c1-64)"

# Read the first MiBs (the stream starts), then write in the middle and at
# the end through the same descriptor: the write waits for the content.
check "write into a file while its stream runs" python3 - "$mnt/st/a.bin" "$TEST_TMP/a.local" <<'PY'
import os, sys
p, local = sys.argv[1:]
fd = os.open(p, os.O_RDWR)
data = bytearray()
while len(data) < (2 << 20):
    b = os.read(fd, 128 << 10)
    if not b:
        break
    data += b
os.pwrite(fd, b"MIDDLE" * 1000, 12 << 20)
os.pwrite(fd, b"END", (24 << 20) - 3)
os.close(fd)
# what the file must now be, from a second full read through the mount
with open(p, "rb") as f:
    whole = f.read()
assert len(whole) == 24 << 20, len(whole)
assert whole[:len(data)] == bytes(data)
assert whole[12 << 20:(12 << 20) + 6000] == b"MIDDLE" * 1000
assert whole[-3:] == b"END"
open(local, "wb").write(whole)
PY
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "the written file in the sandbox" "$(sha256sum < "$TEST_TMP/a.local" | cut -c1-64)" \
	"$(sb "sha256sum < $H/st/a.bin" | cut -c1-64)"

# The stream's bytes go to a ring in memory that the reader drains: a slow
# reader (the ring fills and the GET waits), two readers far apart (one
# falls out of the ring and fetches) and a reader that jumps back, with
# O_DIRECT so every read reaches e2bfs instead of the page cache.
sb "head -c 40M /dev/urandom > $H/st/c.bin" >/dev/null
want=$(sb "sha256sum < $H/st/c.bin" | cut -c1-64)
check "slow reader, far-apart readers and a jump back: exact" python3 - "$mnt/st/c.bin" "$want" <<'PY'
import hashlib, mmap, os, sys, time
p, want = sys.argv[1:]
size = 40 << 20
def rd(fd, off, n):
    buf = mmap.mmap(-1, n)
    got = os.preadv(fd, [buf], off)
    return bytes(buf[:got])
whole = bytearray(size)
# 1: slow for the first 16 MiB (the ring is 8 MiB), then full speed
fd = os.open(p, os.O_RDONLY | os.O_DIRECT)
off = 0
while off < size:
    b = rd(fd, off, 300 << 10)  # reads that straddle the ring's end
    assert b, off
    whole[off:off + len(b)] = b
    off += len(b)
    if off < (16 << 20):
        time.sleep(0.01)
os.close(fd)
assert hashlib.sha256(whole).hexdigest() == want, "slow reader"
# 2: a leader and a laggard 20 MiB behind it, interleaved; then a jump back
os.posix_fadvise(os.open(p, os.O_RDONLY), 0, 0, os.POSIX_FADV_DONTNEED)
a = os.open(p, os.O_RDONLY | os.O_DIRECT)
b = os.open(p, os.O_RDONLY | os.O_DIRECT)
lead = bytearray(size)
lag = bytearray(size)
oa = ob = 0
while oa < size or ob < size:
    if oa < size:
        x = rd(a, oa, 512 << 10)
        lead[oa:oa + len(x)] = x
        oa += len(x)
    if oa >= (20 << 20) and ob < size:
        x = rd(b, ob, 512 << 10)
        lag[ob:ob + len(x)] = x
        ob += len(x)
assert bytes(lead) == bytes(whole), "leader"
assert bytes(lag) == bytes(whole), "laggard"
assert rd(a, 3 << 20, 1 << 20) == bytes(whole[3 << 20:4 << 20]), "jump back"
os.close(a)
os.close(b)
PY
# A reader killed in the middle of a stream; the next one reads it all.
cat "$mnt/st/c.bin" > /dev/null &
reader=$!
sleep 0.2
kill -9 $reader
{ wait $reader; } 2>/dev/null
expect_eq "after a reader killed mid-stream: exact" "$want" "$(sha256sum < "$mnt/st/c.bin" | cut -c1-64)"

# Readers that stop early while their streams wait for room (the file is
# larger than the ring): each close stops its GET and frees its ring; a
# reader's last close frees the ring of a GET that ended; so more files
# than there are rings each stream, and the next large read is
# one GET (a stream left waiting would hold its ring, and with all rings
# held, reads fall back to many ranged GETs).
sb "for i in 1 2 3 4 5 6; do head -c 12M /dev/urandom > $H/st/h\$i.bin; done" >/dev/null
for i in 1 2 3 4 5; do { head -c 1M > /dev/null; sleep 0.3; } < "$mnt/st/h$i.bin"; done
# and readers that read to the end (their GETs end before they close)
for i in 1 2 3 4; do cat "$mnt/st/h$i.bin" > /dev/null; done
stat "$mnt/st/h6.bin" > /dev/null
# the watch's events of the writes above and their revalidation settle first
r0=-1
for i in $(seq 20); do
	r=$(json_get 'd["requests"]' < "$mnt/.e2bfs/status")
	[ "$r" = "$r0" ] && break
	r0=$r
	sleep 0.5
done
got=$(cat "$mnt/st/h6.bin" | sha256sum | cut -c1-64)
r1=$(json_get 'd["requests"]' < "$mnt/.e2bfs/status")
expect_eq "after five readers stopped early: exact" "$(sb "sha256sum < $H/st/h6.bin" | cut -c1-64)" "$got"
check "after five readers stopped early: one GET streams the next file ($((r1 - r0)) requests)" \
	test $((r1 - r0)) -le 2

fs_umount "$mnt"
check "e2bfs stderr clean" sh -c "! grep -Ei 'runtime error|AddressSanitizer|LeakSanitizer' '$TEST_TMP/e2bfs.log'"
api DELETE "/sandboxes/$id" >/dev/null
done_testing
