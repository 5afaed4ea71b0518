#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# POSIX answers the mount gives where envd alone would not (issue 10):
# long names and paths, times after our own changes, unlinked open files,
# ownership, special files.  Each against e2bd, read back through the
# mount and, after a write-back barrier, in the sandbox.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

# Each check runs against e2bd in both flavours: E2B's (header routing)
# and OpenKruise's (its own e2bd: private path routing, envd 0.2.10, a
# secure sandbox whose envd calls need the access token).
FLAVOR=e2b
ok() { printf 'ok - [%s] %s\n' "$FLAVOR" "$1"; }
fail() { printf 'not ok - [%s] %s: %s\n' "$FLAVOR" "$1" "${2:-failed}"; _lib_failed=1; }
# E/R: envd/rpc of lib.sh with the sandbox's access token (from a header
# file, so it stays off command lines).
tokhdr=$TEST_TMP/.posix-token
E() { envd "$id" GET "/files?path=$1" "" "" -H @"$tokhdr"; }
R() { rpc "$id" "$1" "$2" -H @"$tokhdr"; }
failed_uploads() { json_get 'd["failedUploads"] + d["pendingUploads"]' < "$mnt/.e2bfs/status"; }

battery() {
id=$(new_sandbox '{"templateID":"base","timeout":900}') || { fail "create sandbox" "$id"; return; }
( umask 077; tok=$(sandbox_token "$id"); printf '%s\n' "${tok:+X-Access-Token: $tok}" > "$tokhdr" )
mnt=$TEST_TMP/posix-mnt-$FLAVOR
mount_check "mount" "$id" "$mnt" || return

# --- Long names and paths: a name of 255 bytes is fine, also when its
# upload goes through a temporary beside it; a path the sandbox cannot
# hold (over PATH_MAX once joined to /home/user) is refused up front.
check "255-byte name: rewrite after upload" python3 - "$mnt" <<'PY'
import os, sys
n = os.path.join(sys.argv[1], "m" * 255)
open(n, "w").write("one")
with open(os.path.join(sys.argv[1], ".e2bfs/ctl"), "w") as c:
    c.write("sync\n")
open(n, "w").write("two")
PY
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "255-byte name: sandbox has the rewrite" "two" "$(E "/home/user/$(printf 'm%.0s' $(seq 255))")"
out=$(python3 - "$mnt" <<'PY'
import errno, os, sys
os.chdir(sys.argv[1])
open("short", "w").write("s")
n = "n" * 256
ops = {
    "create": lambda: os.open(n, os.O_CREAT | os.O_WRONLY, 0o644),
    "stat": lambda: os.stat(n),
    "mkdir": lambda: os.mkdir(n),
    "rmdir": lambda: os.rmdir(n),
    "unlink": lambda: os.unlink(n),
    "symlink": lambda: os.symlink("short", n),
    "link": lambda: os.link("short", n),
    "rename-to": lambda: os.rename("short", n),
    "rename-from": lambda: os.rename(n, "other"),
    "mkfifo": lambda: os.mkfifo(n),
}
for k, fn in ops.items():
    try:
        fn()
        print(k, "ok")
    except OSError as e:
        print(k, errno.errorcode[e.errno])
PY
)
expect_eq "256-byte name: ENAMETOOLONG for every op" "create ENAMETOOLONG
stat ENAMETOOLONG
mkdir ENAMETOOLONG
rmdir ENAMETOOLONG
unlink ENAMETOOLONG
symlink ENAMETOOLONG
link ENAMETOOLONG
rename-to ENAMETOOLONG
rename-from ENAMETOOLONG
mkfifo ENAMETOOLONG" "$out"
out=$(python3 - "$mnt" <<'PY'
import errno, os, sys
os.chdir(sys.argv[1])
# /home/user + 20 * "/" + 200 bytes = 4030 bytes: deep, but addressable.
for i in range(20):
    os.mkdir("d" * 200)
    os.chdir("d" * 200)
def try_(what, fn):
    try:
        fn()
        print(what, "ok")
    except OSError as e:
        print(what, errno.errorcode[e.errno])
try_("fits", lambda: os.close(os.open("f" * 60, os.O_CREAT | os.O_WRONLY, 0o644)))
try_("create", lambda: os.close(os.open("g" * 255, os.O_CREAT | os.O_WRONLY, 0o644)))
try_("mkdir", lambda: os.mkdir("g" * 255))
try_("symlink", lambda: os.symlink("x", "g" * 255))
try_("rename", lambda: os.rename("f" * 60, "g" * 255))
try_("stat", lambda: os.stat("g" * 255))
PY
)
expect_eq "path over the sandbox's PATH_MAX: ENAMETOOLONG" "fits ok
create ENAMETOOLONG
mkdir ENAMETOOLONG
symlink ENAMETOOLONG
rename ENAMETOOLONG
stat ENAMETOOLONG" "$out"
echo sync > "$mnt/.e2bfs/ctl"
nfail=$(failed_uploads)
expect_eq "no upload left failing" "0" "$nfail"
[ "$nfail" = 0 ] || grep -E 'failed|error' "$TEST_TMP/e2bfs.log" | tail -n 3 | sed 's/^/# /'

# --- truncate and ftruncate change mtime at once (item 4): the times are
# set far in the past first, so "new" needs no clock comparison.
out=$(python3 - "$mnt" <<'PY'
import os, sys
os.chdir(sys.argv[1])
old = 1000000000
def fresh(st):
    return "new" if st.st_mtime > old + 86400 and st.st_ctime >= st.st_mtime - 1 else "old %d" % st.st_mtime
open("tr", "w").write("0123456789")
os.utime("tr", (old, old))
fd = os.open("tr", os.O_RDWR)
os.ftruncate(fd, 4)
print("ftruncate", fresh(os.fstat(fd)), os.fstat(fd).st_size)
os.utime("tr", (old, old))
os.truncate("tr", 2)
print("truncate open", fresh(os.stat("tr")), os.stat("tr").st_size)
os.close(fd)
with open(os.path.join(sys.argv[1], ".e2bfs/ctl"), "w") as c:
    c.write("sync\n")
os.utime("tr", (old, old))
os.stat("tr")
os.truncate("tr", 1)
print("truncate closed", fresh(os.stat("tr")), os.stat("tr").st_size)
PY
)
expect_eq "truncate/ftruncate: mtime at once" "ftruncate new 4
truncate open new 2
truncate closed new 1" "$out"

# --- The parent's mtime and ctime after our own changes in it (item 3).
out=$(python3 - "$mnt" <<'PY'
import os, sys
os.chdir(sys.argv[1])
old = 1000000000
os.mkdir("p")
os.mkdir("q")
open("p/keep", "w").write("k")
with open(".e2bfs/ctl", "w") as c:
    c.write("sync\n")
def after(what, fn, d="p"):
    os.utime(d, (old, old))
    os.stat(d)
    fn()
    st = os.stat(d)
    ok = st.st_mtime > old + 86400 and st.st_ctime > old + 86400
    print(what, "new" if ok else "old")
after("create", lambda: os.close(os.open("p/f", os.O_CREAT | os.O_WRONLY, 0o644)))
after("mkdir", lambda: os.mkdir("p/d"))
after("symlink", lambda: os.symlink("f", "p/l"))
after("link", lambda: os.link("p/keep", "p/h"))
after("unlink", lambda: os.unlink("p/h"))
after("rmdir", lambda: os.rmdir("p/d"))
after("rename-from", lambda: os.rename("p/f", "q/f"))
after("rename-to", lambda: os.rename("q/f", "p/g"))
with open(".e2bfs/ctl", "w") as c:
    c.write("sync\n")
after("unlink-uploaded", lambda: os.unlink("p/g"))
PY
)
expect_eq "parent times after create/mkdir/symlink/link/unlink/rmdir/rename" "create new
mkdir new
symlink new
link new
unlink new
rmdir new
rename-from new
rename-to new
unlink-uploaded new" "$out"

# --- An open file after unlink (item 5): fstat answers with nlink 0, read
# and write keep working, the data is gone at the last close.  Once for a
# file the sandbox has (larger than a cache block, not read yet), once for
# one only created here.
head -c 600000 /dev/urandom > "$TEST_TMP/big"
cp "$TEST_TMP/big" "$mnt/ou-big"
echo sync > "$mnt/.e2bfs/ctl"
echo refresh > "$mnt/.e2bfs/ctl"
out=$(python3 - "$mnt" "$TEST_TMP/big" <<'PY'
import os, sys
os.chdir(sys.argv[1])
want = open(sys.argv[2], "rb").read()
def probe(name, fd, size):
    os.unlink(name)
    st = os.fstat(fd)
    print(name, "nlink", st.st_nlink, "size", st.st_size == size)
    os.lseek(fd, 0, 0)
    print(name, "read", os.read(fd, size + 10) == (want if size == len(want) else b"temp data"))
    os.pwrite(fd, b"MORE", size)
    print(name, "write", os.pread(fd, 4, size) == b"MORE", os.fstat(fd).st_size == size + 4)
    os.ftruncate(fd, 3)
    print(name, "ftruncate", os.fstat(fd).st_size, os.fstat(fd).st_nlink)
    print(name, "gone", os.path.exists(name))
fd = os.open("ou-big", os.O_RDWR)
probe("ou-big", fd, len(want))
os.close(fd)
fd = os.open("ou-new", os.O_RDWR | os.O_CREAT, 0o600)
os.write(fd, b"temp data")
probe("ou-new", fd, 9)
os.close(fd)
PY
)
expect_eq "unlinked open file keeps working" "ou-big nlink 0 size True
ou-big read True
ou-big write True True
ou-big ftruncate 3 0
ou-big gone False
ou-new nlink 0 size True
ou-new read True
ou-new write True True
ou-new ftruncate 3 0
ou-new gone False" "$out"
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "unlinked open files: no upload after the last close" "0" "$(failed_uploads)"
check "unlinked open files: not in the sandbox" sh -c "! ls -a '$mnt' | grep -q '^ou-'"
codes=
for f in ou-big ou-new; do E "/home/user/$f" >/dev/null; codes="$codes $ENVD_STATUS"; done
expect_eq "unlinked open files: nothing left in the sandbox" " 404 404" "$codes"

# --- FIFOs, sockets and device nodes (item 2): made in the sandbox, with
# their types; a device node the sandbox user may not make is EPERM.
out=$(python3 - "$mnt" <<'PY'
import errno, os, socket, stat, sys
os.chdir(sys.argv[1])
def t(p):
    m = os.lstat(p).st_mode
    return "fifo" if stat.S_ISFIFO(m) else "sock" if stat.S_ISSOCK(m) else "chr" if stat.S_ISCHR(m) else "other"
def try_(what, fn):
    try:
        r = fn()
        print(what, "ok" if r is None else r)
    except OSError as e:
        print(what, errno.errorcode[e.errno])
try_("mkfifo", lambda: os.mkfifo("ff", 0o600))
try_("fifo", lambda: t("ff"))
s = socket.socket(socket.AF_UNIX)
try_("bind", lambda: s.bind("sk"))
try_("socket", lambda: t("sk"))
try_("chr as user", lambda: os.mknod("cd", stat.S_IFCHR | 0o600, os.makedev(1, 3)))
PY
)
expect_eq "mkfifo, socket, device node" "mkfifo ok
fifo fifo
bind ok
socket sock
chr as user EPERM" "$out"
echo refresh > "$mnt/.e2bfs/ctl"
sleep 1.2
expect_eq "types from a fresh listing" "p s" "$(cd "$mnt" && ls -ld ff sk 2>/dev/null | cut -c1 | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the sandbox has them (Go FileMode letters)" "p S" "$(R filesystem.Filesystem/Stat '{"path":"/home/user/ff"}' | json_get 'd["entry"]["permissions"][0]') $(R filesystem.Filesystem/Stat '{"path":"/home/user/sk"}' | json_get 'd["entry"]["permissions"][0]')"

# --- chown and chgrp (item 1).  As the sandbox's "user": the sandbox says
# EPERM to a new owner, a group of its own is fine, and the owner and
# group shown (the mounting user's) are a no-op; as root with idmap=none,
# owners are the sandbox's ids and round-trip.
pw=$(E /etc/passwd)
uid_user=$(printf '%s\n' "$pw" | awk -F: '$1 == "user" { print $3 }')
gid_user=$(printf '%s\n' "$pw" | awk -F: '$1 == "user" { print $4 }')
echo data > "$mnt/own"
check "chown to the mounting user: no-op" chown "$(id -u)" "$mnt/own"
check "chown to another owner as user: EPERM" sh -c "chown 4242 '$mnt/own' 2>&1 | grep 'not permitted'"
check "chgrp to a group of the owner's" chgrp "$gid_user" "$mnt/own"
check "chgrp to a group not the owner's as user: EPERM" sh -c "chgrp 4242 '$mnt/own' 2>&1 | grep 'not permitted'"
mnt2=$TEST_TMP/posix-root-$FLAVOR
mount_check "mount as root with idmap=none" "$id:/home/user" "$mnt2" -o user=root,idmap=none || return
expect_eq "idmap=none: the sandbox's owner" "$uid_user:$gid_user" "$(stat -c %u:%g "$mnt2/own")"
check "chown as root" chown 0:0 "$mnt2/own"
expect_eq "chown round-trips" "0:0" "$(stat -c %u:%g "$mnt2/own")"
check "chgrp as root" chgrp "$gid_user" "$mnt2/own"
expect_eq "chgrp round-trips" "0:$gid_user" "$(stat -c %u:%g "$mnt2/own")"
printf 'pending' > "$mnt2/newown"
check "chown of a file with pending data" chown "$uid_user:$gid_user" "$mnt2/newown"
expect_eq "new file: owner" "$uid_user:$gid_user" "$(stat -c %u:%g "$mnt2/newown")"
echo sync > "$mnt2/.e2bfs/ctl"
expect_eq "the sandbox has the owners" "root:user user:user" "$(R filesystem.Filesystem/Stat '{"path":"/home/user/own"}' | json_get 'd["entry"]["owner"] + ":" + d["entry"]["group"]') $(R filesystem.Filesystem/Stat '{"path":"/home/user/newown"}' | json_get 'd["entry"]["owner"] + ":" + d["entry"]["group"]')"
expect_eq "new file: data" "pending" "$(E /home/user/newown)"
echo refresh > "$mnt2/.e2bfs/ctl"
sleep 1.2
expect_eq "idmap=none: owners from a listing" "0:$gid_user $uid_user:$gid_user" "$(stat -c %u:%g "$mnt2/own" "$mnt2/newown" | tr '\n' ' ' | sed 's/ $//')"
printf 'rewritten' > "$mnt2/newown"
echo sync > "$mnt2/.e2bfs/ctl"
expect_eq "a rewrite as root keeps the owner" "user:user rewritten" "$(R filesystem.Filesystem/Stat '{"path":"/home/user/newown"}' | json_get 'd["entry"]["owner"] + ":" + d["entry"]["group"]') $(E /home/user/newown)"
# A device node as root: e2bd's sandboxes run root without CAP_MKNOD.
dev=$(python3 -c 'import errno, os, stat, sys
try:
    os.mknod(sys.argv[1], stat.S_IFCHR | 0o600, os.makedev(1, 3)); print("ok", stat.S_ISCHR(os.lstat(sys.argv[1]).st_mode))
except OSError as e:
    print(errno.errorcode[e.errno])' "$mnt2/cdev")
expect_eq "device node as root without CAP_MKNOD: EPERM" "EPERM" "$dev"
fs_umount "$mnt2"

fs_umount "$mnt"
}

battery

# The same against an e2bd answering as OpenKruise's sandbox-manager.
FLAVOR=openkruise
port=$(free_port)
mkdir -p "$TEST_TMP/kruise-state"
"$E2BD_BIN" --listen "127.0.0.1:$port" --state-dir "$TEST_TMP/kruise-state" \
	--api-key-file <(printf '%s\n' "$E2B_API_KEY") --flavor openkruise --log-level warn \
	> "$TEST_TMP/kruise-e2bd.log" 2>&1 &
kpid=$!
trap '_fs_cleanup; kill $kpid 2>/dev/null; wait $kpid 2>/dev/null' EXIT
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && break; sleep 0.1; done
main_url=$E2BD_URL
E2BD_URL=http://127.0.0.1:$port
# e2bfs finds this e2bd the way it finds OpenKruise: private protocol.
unset E2B_API_URL E2B_SANDBOX_URL
export E2B_DOMAIN=127.0.0.1:$port PROTOCOL=private SCHEME=http
battery
E2BD_URL=$main_url
done_testing
