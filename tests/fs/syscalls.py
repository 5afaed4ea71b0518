#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# POSIX syscall battery for tests/fs/basic.sh: run the same sequence in a
# directory and print one line per step (result or errno name), so a run
# through the mount can be diffed against a run on a local directory.
import ctypes
import errno
import os
import stat
import sys

d = sys.argv[1]
os.chdir(d)
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100


def renameat2(a, b, flags):
    r = libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags)
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def step(name, fn):
    try:
        r = fn()
        print(f"{name}: ok{'' if r is None else ' ' + repr(r)}")
    except OSError as e:
        print(f"{name}: {errno.errorcode.get(e.errno, e.errno)}")


def wr(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode=0o644):
    fd = os.open(path, flags, mode)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


def rd(path):
    with open(path, "rb") as f:
        return f.read()


def pwrite_at(path, data, off):
    fd = os.open(path, os.O_RDWR)
    try:
        return os.pwrite(fd, data, off)
    finally:
        os.close(fd)


def ftrunc(path, n):
    fd = os.open(path, os.O_RDWR)
    try:
        os.ftruncate(fd, n)
    finally:
        os.close(fd)


def kind(path):
    m = os.lstat(path).st_mode
    return "dir" if stat.S_ISDIR(m) else "link" if stat.S_ISLNK(m) else "file"


step("create", lambda: wr("f1", b"hello world\n"))
step("read", lambda: rd("f1"))
step("size", lambda: os.stat("f1").st_size)
step("append", lambda: wr("f1", b"more\n", os.O_WRONLY | os.O_APPEND))
step("read-append", lambda: rd("f1"))
step("trunc-open", lambda: wr("f1", b"x", os.O_WRONLY | os.O_TRUNC))
step("read-trunc", lambda: rd("f1"))
step("excl-existing", lambda: wr("f1", b"y", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
step("excl-new", lambda: wr("f2", b"new", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
step("pwrite-past-eof", lambda: pwrite_at("f2", b"Z", 10))
step("read-hole", lambda: rd("f2"))
step("pwrite-middle", lambda: pwrite_at("f2", b"MID", 4))
step("read-middle", lambda: rd("f2"))
step("truncate-down", lambda: os.truncate("f2", 2))
step("read-down", lambda: rd("f2"))
step("truncate-up", lambda: os.truncate("f2", 6))
step("read-up", lambda: rd("f2"))
step("ftruncate", lambda: ftrunc("f2", 1))
step("read-ftrunc", lambda: rd("f2"))
step("rdwr-rewrite", lambda: pwrite_at("f1", b"abc", 0))
step("read-rdwr", lambda: rd("f1"))
step("read-missing", lambda: rd("nope"))
step("stat-missing", lambda: os.stat("nope"))
step("mkdir", lambda: os.mkdir("d1"))
step("mkdir-existing", lambda: os.mkdir("d1"))
step("mkdir-over-file", lambda: os.mkdir("f1"))
step("mkdir-no-parent", lambda: os.mkdir("nope/sub"))
step("file-in-dir", lambda: wr("d1/inner", b"in"))
step("rmdir-nonempty", lambda: os.rmdir("d1"))
step("still-there", lambda: rd("d1/inner"))
step("rmdir-file", lambda: os.rmdir("f1"))
step("rmdir-missing", lambda: os.rmdir("nope"))
step("unlink-dir", lambda: os.unlink("d1"))
step("unlink-missing", lambda: os.unlink("nope"))
step("open-dir-write", lambda: os.open("d1", os.O_WRONLY))
step("file-as-dir", lambda: os.stat("f1/x"))
step("mkdir2", lambda: os.mkdir("d2"))
step("mkdir3", lambda: os.mkdir("d3"))
step("rename-file", lambda: os.rename("f2", "f3"))
step("rename-gone", lambda: os.stat("f2"))
step("rename-over-file", lambda: os.rename("f3", "f1"))
step("read-renamed", lambda: rd("f1"))
step("rename-missing", lambda: os.rename("nope", "x"))
step("rename-dir-over-nonempty", lambda: os.rename("d2", "d1"))
step("rename-dir-over-file", lambda: os.rename("d2", "f1"))
step("rename-file-over-dir", lambda: os.rename("f1", "d2"))
step("rename-dir-over-empty", lambda: os.rename("d2", "d3"))
step("renamed-dir", lambda: kind("d3"))
step("rename-dir-into-self", lambda: os.rename("d1", "d1/sub"))
step("rename-dir", lambda: os.rename("d1", "d4"))
step("read-in-renamed-dir", lambda: rd("d4/inner"))
step("noreplace-exists", lambda: renameat2("f1", "d4/inner", 1))
step("noreplace-new", lambda: renameat2("f1", "f5", 1))
step("symlink", lambda: os.symlink("f5", "l1"))
step("readlink", lambda: os.readlink("l1"))
step("read-via-link", lambda: rd("l1"))
step("link-kind", lambda: kind("l1"))
step("symlink-dir", lambda: os.symlink("d4", "l2"))
step("read-via-dirlink", lambda: rd("l2/inner"))
step("symlink-existing", lambda: os.symlink("x", "l1"))
step("chmod", lambda: os.chmod("f5", 0o751))
step("mode", lambda: oct(os.stat("f5").st_mode & 0o7777))
step("exec-create", lambda: wr("x.sh", b"#!/bin/sh\n", mode=0o755))
step("exec-mode", lambda: oct(os.stat("x.sh").st_mode & 0o7777))
step("rewrite-keeps-mode", lambda: wr("x.sh", b"#!/bin/sh\necho\n"))
step("mode-after-rewrite", lambda: oct(os.stat("x.sh").st_mode & 0o7777))
step("utime", lambda: os.utime("f5", (1600000000, 1500000000)))
step("mtime", lambda: int(os.stat("f5").st_mtime))
step("utime-ns", lambda: os.utime("f5", ns=(1600000000123456789, 1500000000987654321)))
step("mtime-ns", lambda: os.stat("f5").st_mtime_ns)
step("hardlink", lambda: os.link("f5", "h1"))
step("read-hardlink", lambda: rd("h1"))
step("many", lambda: [wr(f"d4/m{i:04d}", b"%d" % i) for i in range(300)] and None)
step("listdir", lambda: len(os.listdir("d4")))
step("listdir-sorted", lambda: sorted(os.listdir("d4"))[:3])
step("read-many", lambda: rd("d4/m0123"))
step("unlink", lambda: os.unlink("f5"))
step("unlinked-gone", lambda: os.stat("f5"))
step("hardlink-survives", lambda: rd("h1"))


def open_unlink():
    fd = os.open("ou", os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"data")
    os.unlink("ou")
    os.lseek(fd, 0, 0)
    r = os.read(fd, 10)
    os.close(fd)
    return r


step("open-unlink-read", open_unlink)
step("open-unlink-gone", lambda: os.stat("ou"))


def dup_close():
    fd = os.open("dup", os.O_RDWR | os.O_CREAT, 0o644)
    fd2 = os.dup(fd)
    os.write(fd, b"one")
    os.close(fd)
    os.write(fd2, b"two")
    os.close(fd2)
    return rd("dup")


step("dup-close", dup_close)
step("big-write", lambda: wr("big", os.urandom(1) * 0 + bytes(range(256)) * 40000))
step("big-read", lambda: len(rd("big")))
step("big-sum", lambda: sum(rd("big")[::4099]))
step("readdir-top", lambda: sorted(os.listdir(".")))
step("rmdir-empty", lambda: os.rmdir("d3"))

# Names over NAME_MAX (255 bytes): ENAMETOOLONG for every operation.
LONG = "n" * 256
step("long-create", lambda: wr(LONG, b"x"))
step("long-stat", lambda: os.stat(LONG))
step("long-open", lambda: os.open(LONG, os.O_RDONLY))
step("long-mkdir", lambda: os.mkdir(LONG))
step("long-rmdir", lambda: os.rmdir(LONG))
step("long-unlink", lambda: os.unlink(LONG))
step("long-symlink", lambda: os.symlink("f1", LONG))
step("long-link", lambda: os.link("f1", LONG))
step("long-rename-to", lambda: os.rename("f1", LONG))
step("long-rename-from", lambda: os.rename(LONG, "f9"))
step("long-mkfifo", lambda: os.mkfifo(LONG))
step("max-name-create", lambda: wr("m" * 255, b"max"))
step("max-name-read", lambda: rd("m" * 255))
step("max-name-rewrite", lambda: wr("m" * 255, b"again"))
step("max-name-rename", lambda: os.rename("m" * 255, "r" * 255))
step("max-name-listed", lambda: "r" * 255 in os.listdir("."))

# Special files: FIFOs are made in the sandbox and report their type.
step("mkfifo", lambda: os.mkfifo("fifo1", 0o640))
step("fifo-type", lambda: stat.S_ISFIFO(os.lstat("fifo1").st_mode))
step("fifo-mode", lambda: oct(os.lstat("fifo1").st_mode & 0o777))
step("mkfifo-existing", lambda: os.mkfifo("fifo1"))
step("mknod-file", lambda: os.mknod("nodefile", stat.S_IFREG | 0o600))
step("mknod-file-kind", lambda: (kind("nodefile"), os.stat("nodefile").st_size))
