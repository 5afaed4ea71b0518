#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Real tools through an e2bfs mount: vim save (swap file + :w), a
# write-temp-then-rename save (VS Code), git init/add/commit/status/log and
# clone, tar x of 2,000 files, make of a small C project, cp -a out and back
# with diff -r.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":900}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/tools-mnt
mount_check "mount" "$id" "$mnt"
w=$mnt/work
mkdir -p "$w"

# --- vim: swap file, then :w over an existing file
printf 'line one\nline two\n' > "$w/notes.txt"
if command -v vim >/dev/null; then
	(cd "$w" && HOME=$TEST_TMP timeout 60 vim -N -u NONE -i NONE -es \
		-c 'set swapfile' -c '%s/two/2/' -c 'wq' notes.txt) </dev/null
	expect_eq "vim :wq" "line one
line 2" "$(cat "$w/notes.txt")"
	check "vim left no swap file" sh -c "! ls -a '$w' | grep -q '\.swp$'"
else
	skip "vim :wq" "vim not installed"
fi

# --- ed-like in-place edit and sed -i (temp file + rename)
printf 'alpha\nbeta\n' > "$w/sed.txt"
check "sed -i" sed -i 's/beta/BETA/' "$w/sed.txt"
expect_eq "sed -i result" "alpha
BETA" "$(cat "$w/sed.txt")"

# --- VS Code style save: write a temp file beside, fsync, rename over
python3 - "$w" <<'PY'
import os, sys
d = sys.argv[1]
t = os.path.join(d, ".main.c.tmp-1234")
with open(t, "w") as f:
    f.write("int main(void) { return 0; }\n")
    f.flush()
    os.fsync(f.fileno())
os.rename(t, os.path.join(d, "main.c"))
PY
expect_eq "write-temp-then-rename" "int main(void) { return 0; }" "$(cat "$w/main.c")"
expect_eq "rename visible in sandbox" "int main(void) { return 0; }" \
	"$(envd "$id" GET "/files?path=/home/user/work/main.c")"

# --- git
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@e GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@e
export HOME=$TEST_TMP GIT_CONFIG_NOSYSTEM=1
g=$w/repo
mkdir -p "$g"
check "git init" git -C "$g" init -q
for i in $(seq 20); do echo "file $i" > "$g/f$i.txt"; done
check "git add" git -C "$g" add .
check "git commit" git -C "$g" commit -q -m first
echo change >> "$g/f3.txt"
expect_eq "git status" " M f3.txt" "$(git -C "$g" status --porcelain)"
check "git commit -a" git -C "$g" commit -q -a -m second
expect_eq "git log" "2" "$(git -C "$g" log --oneline | wc -l)"
expect_eq "git status clean" "" "$(git -C "$g" status --porcelain)"
check "git fsck" git -C "$g" fsck --no-progress
src=$TEST_TMP/src-repo
git init -q "$src" && echo hi > "$src/x" && git -C "$src" add x && git -C "$src" commit -q -m x
check "git clone into mount" git clone -q "$src" "$w/clone"
expect_eq "cloned content" "hi" "$(cat "$w/clone/x")"

# --- tar x of 2,000 files
t=$TEST_TMP/tree
mkdir -p "$t"
for d in $(seq 20); do
	mkdir -p "$t/d$d"
	for f in $(seq 100); do echo "$d/$f" > "$t/d$d/f$f"; done
done
tar -C "$TEST_TMP" -cf "$TEST_TMP/tree.tar" tree
start=$(date +%s)
check "tar x 2000 files" tar -C "$w" -xf "$TEST_TMP/tree.tar"
echo "# tar x of 2000 files took $(( $(date +%s) - start )) s"
expect_eq "tar file count" "2000" "$(find "$w/tree" -type f | wc -l)"
check "tar diff" diff -r "$t" "$w/tree"

# --- make of a small C project
m=$w/proj
mkdir -p "$m"
cat > "$m/util.c" <<'C'
int add(int a, int b) { return a + b; }
C
cat > "$m/main.c" <<'C'
#include <stdio.h>
int add(int a, int b);
int main(void) { printf("%d\n", add(2, 3)); return 0; }
C
printf 'prog: main.o util.o\n\t$(CC) -o $@ main.o util.o\n%%.o: %%.c\n\t$(CC) -c -o $@ $<\nclean:\n\trm -f prog *.o\n' > "$m/Makefile"
check "make" make -s -C "$m"
expect_eq "built program runs" "5" "$("$m/prog")"
sleep 1; touch "$m/util.c"
expect_eq "make rebuilds touched file only" "cc -c -o util.o util.c" \
	"$(make -C "$m" --no-print-directory 2>&1 | head -1)"
check "make clean" make -s -C "$m" clean

# --- cp -a out and back
out=$TEST_TMP/copy-out
check "cp -a out" cp -a "$w/repo" "$out"
check "cp -a back" cp -a "$out" "$w/repo-copy"
check "diff -r after cp -a" diff -r "$out" "$w/repo-copy"
expect_eq "cp -a keeps mtime" "$(stat -c %Y "$out/f1.txt")" "$(stat -c %Y "$w/repo-copy/f1.txt")"

fs_umount "$mnt"
done_testing
