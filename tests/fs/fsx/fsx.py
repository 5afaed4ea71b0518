#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# fsx-style random file operations for tests/fs/fsx.sh: every operation is
# applied to FILE (through the mount) and to MODEL (a local file), and FILE
# is compared with MODEL byte for byte after every step.  A run is fixed by
# --seed and --phase, so a failure replays with the same command line.
#
# A phase starts by checking FILE against MODEL through fresh descriptors
# (after a remount this proves the content survived), or creates both empty
# with --create.  With --check range only sizes and the bytes around each
# operation are compared after a step (mostly reads, so that a cold cache
# stays partly filled) and the whole file at the end of the phase.  Output: one summary line on stdout; on a mismatch or an
# unexpected error, one "FAIL ..." line on stdout, the recent operations on
# stderr, and exit status 1.
import argparse
import errno
import mmap
import os
import random
import sys
import time

PAGE = mmap.PAGESIZE


class Mismatch(Exception):
    pass


def read_all(fd, size):
    """Whole content of fd by pread, in chunks (short reads are allowed)."""
    out = bytearray()
    while len(out) < size:
        b = os.pread(fd, min(1 << 20, size - len(out)), len(out))
        if not b:
            break
        out += b
    # Nothing may follow the size fstat reported.
    if os.pread(fd, 1, size):
        raise Mismatch(f"data after EOF at {size}")
    return bytes(out)


def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class Fsx:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed * 1000003 + args.phase)
        self.path = args.file
        self.model_path = args.model
        self.fd = -1
        self.mfd = -1
        self.log = []
        self.opno = 0
        self.counts = {}
        self.mmap_ok = not args.no_mmap
        self.mmap_note = ""
        self.window = (0, 0)
        self.full = args.check == "full"

    # --- bookkeeping

    def note(self, text):
        self.log.append(f"{self.opno}: {text}")
        if len(self.log) > 40:
            del self.log[0]
        k = text.split()[0].rstrip(",")
        self.counts[k] = self.counts.get(k, 0) + 1

    def model_size(self):
        return os.fstat(self.mfd).st_size

    def open_both(self, flags=0):
        self.fd = os.open(self.path, os.O_RDWR | flags)
        self.mfd = os.open(self.model_path, os.O_RDWR | flags)

    def close_both(self):
        if self.fd >= 0:
            os.close(self.fd)
        if self.mfd >= 0:
            os.close(self.mfd)
        self.fd = self.mfd = -1

    def compare_fd(self, what):
        want_size = self.model_size()
        got_size = os.fstat(self.fd).st_size
        if got_size != want_size:
            raise Mismatch(f"{what}: size {got_size}, model {want_size}")
        st = os.stat(self.path).st_size
        if st != want_size:
            raise Mismatch(f"{what}: stat(path) size {st}, model {want_size}")
        got = read_all(self.fd, got_size)
        want = read_all(self.mfd, want_size)
        if got != want:
            i = first_diff(got, want)
            g = got[i] if i < len(got) else None
            w = want[i] if i < len(want) else None
            raise Mismatch(f"{what}: {len(got)} bytes read of {want_size}, "
                           f"first difference at offset {i} (got {g}, want {w})")

    def compare_window(self, what):
        """--check range: sizes, and only the bytes around the last operation."""
        want_size = self.model_size()
        for got_size, how in ((os.fstat(self.fd).st_size, "fstat"), (os.stat(self.path).st_size, "stat(path)")):
            if got_size != want_size:
                raise Mismatch(f"{what}: {how} size {got_size}, model {want_size}")
        off, n = self.window
        off = max(0, off - 4096)
        n += 8192
        got = os.pread(self.fd, n, off)
        want = os.pread(self.mfd, n, off)
        if got != want:
            raise Mismatch(f"{what}: window {off}+{n}: {len(got)} bytes, model {len(want)}, "
                           f"first difference at {off + first_diff(got, want)}")

    def compare_paths(self, what):
        """Compare through fresh descriptors and a path stat (no open fd)."""
        st = os.stat(self.path).st_size
        want = open(self.model_path, "rb").read()
        if st != len(want):
            raise Mismatch(f"{what}: stat size {st}, model {len(want)}")
        with open(self.path, "rb") as f:
            got = f.read()
        if got != want:
            i = first_diff(got, want)
            raise Mismatch(f"{what}: {len(got)} bytes read of {len(want)}, first difference at offset {i}")

    # --- operations

    def rand_len(self):
        if self.rng.random() < 0.5:
            return self.rng.randint(1, 4096)
        return self.rng.randint(1, self.a.maxwrite)

    def op_write(self):
        size = self.model_size()
        # Mostly inside or just past the file; sometimes far past EOF (hole).
        if self.rng.random() < 0.2:
            off = self.rng.randint(min(size, self.a.maxlen - 1), self.a.maxlen - 1)
        else:
            off = self.rng.randint(0, min(size + 4096, self.a.maxlen - 1))
        n = min(self.rand_len(), self.a.maxlen - off)
        data = self.rng.randbytes(n)
        self.note(f"write off={off} len={n} (size {size})")
        self.window = (off, n)
        w = os.pwrite(self.fd, data, off)
        if w != n:
            raise Mismatch(f"short write {w} of {n}")
        os.pwrite(self.mfd, data, off)

    def op_read(self):
        size = self.model_size()
        off = self.rng.randint(0, size + 100)
        n = self.rand_len()
        self.note(f"read off={off} len={n} (size {size})")
        self.window = (off, n)
        got = os.pread(self.fd, n, off)
        want = os.pread(self.mfd, n, off)
        if got != want:
            raise Mismatch(f"read off={off} len={n}: {len(got)} bytes, model {len(want)}, "
                           f"first difference at +{first_diff(got, want)}")

    def op_mapread(self):
        size = self.model_size()
        if size == 0 or not self.mmap_ok:
            return self.op_read()
        off = self.rng.randint(0, size - 1)
        n = min(self.rand_len(), size - off)
        base = off - off % PAGE
        self.note(f"mapread off={off} len={n} (size {size})")
        self.window = (off, n)
        try:
            m = mmap.mmap(self.fd, off + n - base, mmap.MAP_SHARED, mmap.PROT_READ, offset=base)
        except OSError as e:
            if e.errno in (errno.ENODEV, errno.EINVAL, errno.EACCES, errno.EPERM):
                self.mmap_ok = False
                self.mmap_note = f"mmap unsupported ({errno.errorcode.get(e.errno)})"
                return None
            raise
        try:
            got = m[off - base:off - base + n]
        finally:
            m.close()
        want = os.pread(self.mfd, n, off)
        if got != want:
            raise Mismatch(f"mapread off={off} len={n}: first difference at +{first_diff(got, want)}")

    def op_mapwrite(self):
        """Write through a shared writable mapping (growing the file first if needed), then msync."""
        if not self.mmap_ok or not self.a.mapwrite:
            return self.op_write()
        size = self.model_size()
        off = self.rng.randint(0, min(size + 4096, self.a.maxlen - 1))
        n = min(self.rand_len(), self.a.maxlen - off)
        data = self.rng.randbytes(n)
        self.note(f"mapwrite off={off} len={n} (size {size})")
        self.window = (off, n)
        if off + n > size:
            os.ftruncate(self.fd, off + n)
            os.ftruncate(self.mfd, off + n)
        base = off - off % PAGE
        m = mmap.mmap(self.fd, off + n - base, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=base)
        try:
            m[off - base:off - base + n] = data
            m.flush()
        finally:
            m.close()
        os.pwrite(self.mfd, data, off)

    def op_truncate(self):
        size = self.model_size()
        if self.rng.random() < 0.5:
            n = self.rng.randint(0, size)
        else:
            n = self.rng.randint(size, self.a.maxlen)
        self.note(f"ftruncate {size} -> {n}")
        self.window = (min(size, n), 0)
        os.ftruncate(self.fd, n)
        os.ftruncate(self.mfd, n)

    def op_append(self):
        """A second descriptor with O_APPEND, written and closed while the main one stays open."""
        n = min(self.rand_len(), max(0, self.a.maxlen - self.model_size()))
        if n == 0:
            return self.op_truncate()
        data = self.rng.randbytes(n)
        self.note(f"append len={n} (size {self.model_size()})")
        self.window = (self.model_size(), n)
        for p in (self.path, self.model_path):
            fd = os.open(p, os.O_WRONLY | os.O_APPEND)
            try:
                # O_APPEND ignores the offset a plain write would use.
                os.lseek(fd, 0, os.SEEK_SET)
                w = os.write(fd, data)
                if w != n:
                    raise Mismatch(f"short append {w} of {n} on {p}")
            finally:
                os.close(fd)

    def op_read2(self):
        """A fresh read-only descriptor while the main one may hold unsaved writes."""
        size = self.model_size()
        off = self.rng.randint(0, size)
        n = self.rand_len()
        self.note(f"read2 off={off} len={n} (size {size})")
        self.window = (off, n)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            got = os.pread(fd, n, off)
        finally:
            os.close(fd)
        want = os.pread(self.mfd, n, off)
        if got != want:
            raise Mismatch(f"read2 off={off} len={n}: {len(got)} bytes, model {len(want)}, "
                           f"first difference at +{first_diff(got, want)}")

    def op_truncate_path(self):
        """truncate(2) by name while the main descriptor is open."""
        size = self.model_size()
        n = self.rng.randint(0, self.a.maxlen)
        self.note(f"truncate(path) {size} -> {n} while open")
        self.window = (min(size, n), 0)
        os.truncate(self.path, n)
        os.truncate(self.model_path, n)

    def op_fsync(self):
        self.note("fsync")
        os.fsync(self.fd)

    def op_reopen(self):
        r = self.rng.random()
        self.close_both()
        if self.full:
            self.compare_paths("after close")
        if r < 0.15:
            n = self.rng.randint(0, self.a.maxlen)
            self.note(f"close, truncate(path) -> {n}, reopen")
            os.truncate(self.path, n)
            os.truncate(self.model_path, n)
            if self.full:
                self.compare_paths("after truncate(path)")
            self.open_both()
        elif r < 0.25:
            self.note("close, reopen O_TRUNC")
            self.open_both(os.O_TRUNC)
        else:
            self.note("close, reopen")
            self.open_both()

    def run(self):
        if self.full:
            ops = [(self.op_write, 26), (self.op_read, 18), (self.op_mapread, 10),
                   (self.op_truncate, 9), (self.op_append, 9), (self.op_fsync, 4),
                   (self.op_read2, 5), (self.op_truncate_path, 3), (self.op_reopen, 6),
                   (self.op_mapwrite, 5)]
        else:
            # Mostly reads, so a cold cache stays partly filled for a while.
            ops = [(self.op_write, 6), (self.op_read, 30), (self.op_mapread, 15),
                   (self.op_truncate, 5), (self.op_append, 4), (self.op_fsync, 2),
                   (self.op_read2, 10), (self.op_truncate_path, 3), (self.op_reopen, 8)]
        funcs = [f for f, _ in ops]
        weights = [w for _, w in ops]
        if self.a.create:
            for p in (self.path, self.model_path):
                os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
        elif self.full:
            self.compare_paths("at start of phase")
        self.open_both()
        if self.full:
            self.compare_fd("at start of phase")
        for self.opno in range(1, self.a.ops + 1):
            f = self.rng.choices(funcs, weights)[0]
            f()
            if self.full:
                self.compare_fd("after op")
            else:
                self.compare_window("after op")
        self.close_both()
        self.compare_paths("at end of phase")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--phase", type=int, default=0)
    p.add_argument("--ops", type=int, default=500)
    p.add_argument("--maxlen", type=int, default=512 * 1024)
    p.add_argument("--maxwrite", type=int, default=64 * 1024)
    p.add_argument("--create", action="store_true", help="start both files empty")
    p.add_argument("--no-mmap", action="store_true")
    p.add_argument("--mapwrite", action="store_true", help="also write through shared mappings")
    p.add_argument("--check", choices=("full", "range"), default="full",
                   help="after every step compare the whole file (default), or the sizes and the "
                   "bytes around the operation (keeps a cold cache partly filled); the whole file "
                   "is compared at the end of the phase either way")
    p.add_argument("file")
    p.add_argument("model")
    a = p.parse_args()
    x = Fsx(a)
    t0 = time.monotonic()
    try:
        x.run()
    except (Mismatch, OSError) as e:
        last = x.log[-1] if x.log else "(before the first op)"
        print(f"FAIL seed={a.seed} phase={a.phase} op={x.opno} [{last}]: {e}")
        print("recent operations:", file=sys.stderr)
        for line in x.log:
            print("  " + line, file=sys.stderr)
        return 1
    finally:
        try:
            x.close_both()
        except OSError:
            pass
    counts = " ".join(f"{k}={v}" for k, v in sorted(x.counts.items()))
    mm = f" ({x.mmap_note})" if x.mmap_note else ""
    print(f"phase {a.phase}: {a.ops} ops in {time.monotonic() - t0:.1f}s, {counts}{mm}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
