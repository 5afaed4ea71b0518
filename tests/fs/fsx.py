#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# fsx-style random operations on one file through the mount, checked byte
# for byte against an in-memory model.  Usage: fsx.py FILE OPS SEED
# [REMOUNT_CMD]; REMOUNT_CMD (a shell command) is run every ~500 ops with
# the file closed, to check persistence across remounts.
import os
import random
import subprocess
import sys

path, nops, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
remount = sys.argv[4] if len(sys.argv) > 4 else None
rnd = random.Random(seed)
MAXLEN = 256 * 1024
model = bytearray()
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
log = []


def die(msg):
    print("fsx: op %d: %s" % (len(log), msg))
    print("fsx: last ops: " + "; ".join(log[-12:]))
    sys.exit(1)


def check_read(off, n):
    got = os.pread(fd, n, off)
    want = bytes(model[off:off + n])
    if got != want:
        i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]), min(len(got), len(want)))
        die("read %d@%d: mismatch at +%d (got %d bytes, want %d)" % (n, off, i, len(got), len(want)))


for op in range(nops):
    r = rnd.random()
    size = len(model)
    if r < 0.35:
        off = rnd.randrange(0, size + 1) if size and rnd.random() < 0.8 else rnd.randrange(0, MAXLEN)
        n = rnd.randrange(1, 65536)
        if off + n > MAXLEN:
            n = max(1, MAXLEN - off)
        data = bytes(rnd.getrandbits(8) for _ in range(min(n, 64))) * (n // 64 + 1)
        data = data[:n]
        log.append("write %d@%d" % (n, off))
        if os.pwrite(fd, data, off) != n:
            die("short write")
        if off > len(model):
            model.extend(b"\0" * (off - len(model)))
        model[off:off + n] = data
    elif r < 0.65:
        if not size:
            continue
        off = rnd.randrange(0, size)
        n = rnd.randrange(1, 131072)
        log.append("read %d@%d" % (n, off))
        check_read(off, n)
    elif r < 0.75:
        n = rnd.randrange(0, MAXLEN)
        log.append("truncate %d" % n)
        os.ftruncate(fd, n)
        if n < len(model):
            del model[n:]
        else:
            model.extend(b"\0" * (n - len(model)))
    elif r < 0.80:
        log.append("fsync")
        os.fsync(fd)
    elif r < 0.90:
        log.append("close/reopen")
        os.close(fd)
        fd = os.open(path, os.O_RDWR)
    elif r < 0.93 and remount:
        log.append("remount")
        os.close(fd)
        subprocess.run(remount, shell=True, check=True)
        fd = os.open(path, os.O_RDWR)
    else:
        log.append("stat")
        st = os.fstat(fd)
        if st.st_size != len(model):
            die("size %d, model %d" % (st.st_size, len(model)))
check_read(0, len(model) + 1)
os.close(fd)
with open(path, "rb") as f:
    if f.read() != bytes(model):
        die("final content differs")
print("fsx: %d ops ok, final size %d" % (nops, len(model)))
