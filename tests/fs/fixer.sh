#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The metadata fixer (one long-lived helper per mount that applies mode and
# times of uploaded files): tar x keeps modes and mtimes, hostile names are
# data and never shell text, a killed fixer is replaced.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":900}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/fixer-mnt
mount_check "mount" "$id" "$mnt"
mkdir -p "$mnt/x" "$TEST_TMP/src"

# --- tar x of 300 files with assorted modes and mtimes
python3 - "$TEST_TMP/src" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(300):
    p = os.path.join(d, "f%03d" % i)
    with open(p, "w") as f:
        f.write("line %d\n" % i)
    os.chmod(p, [0o644, 0o600, 0o755, 0o640][i % 4])
    os.utime(p, ns=(1500000000 * 10**9 + i * 1001, 1600000000 * 10**9 + i * 1123456789))
PY
(cd "$TEST_TMP/src" && tar cf "$TEST_TMP/small.tar" .)
t0=$(date +%s.%N)
check "tar x 300 files" tar xf "$TEST_TMP/small.tar" -C "$mnt/x"
t1=$(date +%s.%N)
echo "# tar x 300 files: $(echo "$t1 - $t0" | bc) s"

# Hostile names: spaces, newlines, quotes, $(...), backticks, leading dashes.
python3 - "$mnt/x" <<'PY'
import os, sys
d = sys.argv[1]
names = ["a b", "new\nline", "q'uote\"", "$(touch PWNED)", "`touch PWNED2`", "-rf", "--", "-n",
         "; touch PWNED3 ;", "tab\there", "back\\slash", "*", "-d @0"]
for i, n in enumerate(names):
    p = os.path.join(d, n)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, b"hostile %d\n" % i)
    # Before close: applied with the upload, by the fixer.
    os.fchmod(fd, 0o751)
    os.utime(fd, ns=(1400000000 * 10**9 + i * 10**9, 1300000000 * 10**9 + i * 7 * 10**9 + 5))
    os.close(fd)
PY

# Files sharing a few fixes but interleaved (tar's order): grouped in one
# exchange; a directory changed three times in a row keeps the last one.
mkdir -p "$TEST_TMP/src2"
python3 - "$TEST_TMP/src2" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(120):
    p = os.path.join(d, "g%03d" % i)
    with open(p, "w") as f:
        f.write("g %d\n" % i)
    os.chmod(p, [0o644, 0o600][i % 2])
    os.utime(p, (1500000000 + (i % 3) * 1000, 1500000000 + (i % 3) * 1000))
PY
(cd "$TEST_TMP/src2" && tar cf "$TEST_TMP/g.tar" .)
mkdir "$mnt/y"
check "tar x 120 files with interleaved shared fixes" tar xf "$TEST_TMP/g.tar" -C "$mnt/y"
mkdir "$mnt/y/d3"
chmod 700 "$mnt/y/d3"; chmod 750 "$mnt/y/d3"; chmod 711 "$mnt/y/d3"

fs_umount "$mnt"
rm -rf "$TEST_TMP/cache"
mount_check "remount cold" "$id" "$mnt"
check "interleaved shared fixes: modes and mtimes" python3 - "$TEST_TMP/src2" "$mnt/y" <<'PY'
import os, sys
s, m = sys.argv[1:]
bad = []
for n in sorted(os.listdir(s)):
    a, b = os.stat(os.path.join(s, n)), os.stat(os.path.join(m, n))
    if (a.st_mode & 0o7777) != (b.st_mode & 0o7777) or int(a.st_mtime) != int(b.st_mtime):
        bad.append("%s: %o %d vs %o %d" % (n, a.st_mode, a.st_mtime, b.st_mode, b.st_mtime))
if bad:
    print(bad[:5], file=sys.stderr)
    sys.exit(1)
PY
expect_eq "a directory's three chmods: the last one" "711" "$(stat -c %a "$mnt/y/d3")"

check "tar x: modes and mtimes from the sandbox" python3 - "$TEST_TMP/src" "$mnt/x" <<'PY'
import os, sys
s, m = sys.argv[1:]
bad = []
for n in sorted(os.listdir(s)):
    a, b = os.stat(os.path.join(s, n)), os.stat(os.path.join(m, n))
    # envd reports whole seconds (as tar stores them).
    if (a.st_mode & 0o7777) != (b.st_mode & 0o7777) or a.st_mtime_ns // 10**9 != b.st_mtime_ns // 10**9 or a.st_size != b.st_size:
        bad.append("%s: %o %d vs %o %d" % (n, a.st_mode, a.st_mtime_ns, b.st_mode, b.st_mtime_ns))
if bad:
    print(bad[:5], file=sys.stderr)
    sys.exit(1)
PY
check "hostile names: content, mode, times" python3 - "$mnt/x" <<'PY'
import os, sys
d = sys.argv[1]
names = ["a b", "new\nline", "q'uote\"", "$(touch PWNED)", "`touch PWNED2`", "-rf", "--", "-n",
         "; touch PWNED3 ;", "tab\there", "back\\slash", "*", "-d @0"]
for i, n in enumerate(names):
    p = os.path.join(d, n)
    st = os.stat(p)
    assert open(p, "rb").read() == b"hostile %d\n" % i, n
    assert st.st_mode & 0o7777 == 0o751, (n, oct(st.st_mode))
    # envd has no atime: e2bfs shows mtime for both.
    assert st.st_mtime_ns == 1300000000 * 10**9 + i * 7 * 10**9 + 5, (n, st.st_mtime_ns)
PY
check "hostile names: no command ran" sh -c "! ls -d '$mnt'/PWNED* '$mnt'/x/PWNED* '$mnt'/*/PWNED* 2>/dev/null | grep -q ."
expect_eq "no stray files" "313" "$(python3 -c 'import os, sys; print(len(os.listdir(sys.argv[1])))' "$mnt/x")"

# --- a killed fixer is noticed and replaced
python3 - "$mnt/x" <<'PY'
import os, sys
p = os.path.join(sys.argv[1], "before-kill")
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.fchmod(fd, 0o700)
os.close(fd)
PY
echo sync > "$mnt/.e2bfs/ctl"	# write-back: the upload (and its fix) has run
pid=$("$E2BCTL_BIN" ps --all "$id" 2>/dev/null | awk '/e2bfs-fixer/ {print $1; exit}')
if [ -n "$pid" ]; then
	"$E2BCTL_BIN" signal "$id" "$pid" KILL >/dev/null 2>&1 || "$E2BCTL_BIN" signal "$id" "$pid" >/dev/null 2>&1
	ok "fixer found running (pid $pid)"
else
	fail "fixer found running" "$("$E2BCTL_BIN" ps --all "$id" 2>&1 | head -5 | tr '\n' ' ')"
fi
python3 - "$mnt/x" <<'PY'
import os, sys
p = os.path.join(sys.argv[1], "after-kill")
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, b"x\n")
os.fchmod(fd, 0o705)
os.utime(fd, ns=(1200000000 * 10**9, 1200000000 * 10**9 + 5))
os.close(fd)
PY
fs_umount "$mnt"
rm -rf "$TEST_TMP/cache"
mount_check "remount after kill" "$id" "$mnt"
expect_eq "fix after a killed fixer" "705 1200000000" \
	"$(stat -c '%a %Y' "$mnt/x/after-kill")"
fs_umount "$mnt"
check "e2bfs stderr clean" sh -c "! grep -Ei 'runtime error|AddressSanitizer|LeakSanitizer' '$TEST_TMP/e2bfs.log'"
sed 's/^/# log: /' "$TEST_TMP/e2bfs.log"
api DELETE "/sandboxes/$id" >/dev/null
done_testing
