#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hard links through e2bfs, as docs/e2bfs.md "HARD LINKS" describes them:
# `ln` makes a real hard link in the sandbox, but envd reports neither inode
# numbers nor link counts, so through the mount the two names are two files
# (own inode numbers; the link count is the one the sandbox gave when the
# link was made through the mount), and a save through one name (atomic
# upload: temporary file, then Move) gives that name a new file and leaves
# the other name with the old content.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/links-mnt
mount_check "mount" "$id" "$mnt"
run() { "$E2BCTL_BIN" run "$id" -- "$1" 2>&1; }

mkdir -p "$mnt/hl"
echo one > "$mnt/hl/a"
check "ln through the mount" ln "$mnt/hl/a" "$mnt/hl/b"
# a was not uploaded yet: the link is made with b's upload (write-back)
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "link count in the sandbox" "2 2" "$(run 'stat -c %h hl/a hl/b | tr "\n" " " | sed "s/ $//"')"
expect_eq "same inode in the sandbox" "1" "$(run 'stat -c %i hl/a hl/b | sort -u | wc -l')"
expect_eq "both names read the content" "one one" "$(cat "$mnt/hl/a") $(cat "$mnt/hl/b")"
expect_eq "mount shows the link count the sandbox has" "2 2" "$(stat -c %h "$mnt/hl/a") $(stat -c %h "$mnt/hl/b")"
# A third name: all three show 3; removing it brings the others back to 2.
check "a third link" ln "$mnt/hl/b" "$mnt/hl/c"
expect_eq "three names, count 3" "3 3 3" "$(stat -c %h "$mnt/hl/a" "$mnt/hl/b" "$mnt/hl/c" | tr '\n' ' ' | sed 's/ $//')"
check "rm of the third name" rm "$mnt/hl/c"
expect_eq "count back to 2 after rm" "2 2" "$(stat -c %h "$mnt/hl/a" "$mnt/hl/b" | tr '\n' ' ' | sed 's/ $//')"
check "mount shows two inode numbers" test "$(stat -c %i "$mnt/hl/a")" != "$(stat -c %i "$mnt/hl/b")"

# A write in the sandbox in place shows through the other name too, but
# the watcher only reports the name written to: the other name catches up
# when its cached attributes expire (dir_cache, 5 s by default).
run 'echo two >> hl/a' >/dev/null
t0=$(date +%s.%N)
for _ in $(seq 80); do
	[ "$(tr '\n' ' ' < "$mnt/hl/b")" = "one two " ] && break
	sleep 0.1
done
t=$(python3 -c "import time; print('%.1f' % (time.time() - $t0))")
expect_eq "in-place sandbox write seen through the other name (after ${t} s)" "one two" "$(tr '\n' ' ' < "$mnt/hl/b" | sed 's/ $//')"

# A save through the mount replaces the name it was written through.
echo three > "$mnt/hl/a"
echo sync > "$mnt/.e2bfs/ctl"	# write-back: the sandbox has it after a barrier
expect_eq "saved name has the new content (sandbox)" "three" "$(run 'cat hl/a')"
expect_eq "other name keeps the old content (sandbox)" "one two" "$(run 'cat hl/b | tr "\n" " " | sed "s/ $//"')"
nl=$(run 'stat -c %h hl/a hl/b | tr "\n" " " | sed "s/ $//"')
expect_eq "link broken by the save (sandbox)" "1 1" "$nl"
expect_eq "link broken by the save (mount)" "1 1" "$(stat -c %h "$mnt/hl/a" "$mnt/hl/b" | tr '\n' ' ' | sed 's/ $//')"
[ "$nl" = "1 1" ] || run 'ls -lia hl; cat /proc/mounts | grep -c overlay' | sed 's/^/# /'

# Names are data for the sandbox's ln, never script text.
echo h > "$mnt/hl/-h \$(touch PWNED) \"q\" ;x"
check "ln of hostile names" ln -- "$mnt/hl/-h \$(touch PWNED) \"q\" ;x" "$mnt/hl/--x \`touch PWNED2\`"
expect_eq "hostile link: content and count" "h 2" \
	"$(cat "$mnt/hl/--x \`touch PWNED2\`") $(stat -c %h "$mnt/hl/--x \`touch PWNED2\`")"
expect_eq "hostile link: nothing ran in the sandbox" "0" "$(run 'ls -a ~ hl | grep -cxE PWNED2?')"

# Unlinking one name leaves the other.
rm "$mnt/hl/a"
expect_eq "other name survives unlink" "one two" "$(tr '\n' ' ' < "$mnt/hl/b" | sed 's/ $//')"

# git's loose objects: a new file (mode 0444) linked to its final name and
# the temporary unlinked at once, all before the upload: made here, nothing
# waited for, and only the final name reaches the sandbox.
mkdir -p "$mnt/obj"
echo sync > "$mnt/.e2bfs/ctl"
r0=$(json_get 'd["requests"]' < "$mnt/.e2bfs/status")
python3 - "$mnt/obj" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(20):
    t = os.path.join(d, "tmp_obj_%d" % i)
    fd = os.open(t, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    os.write(fd, b"object %d\n" % i)
    os.close(fd)
    os.link(t, os.path.join(d, "o%02d" % i))
    os.unlink(t)
PY
r1=$(json_get 'd["requests"]' < "$mnt/.e2bfs/status")
# (uploads of earlier objects may already run meanwhile: fewer than one
# request an object; linked in the sandbox it was 7 an object)
check "link and unlink of 20 new files: $((r1 - r0)) requests" test $((r1 - r0)) -lt 20
expect_eq "the final names through the mount" "20 1 444" \
	"$(ls "$mnt/obj" | wc -l) $(stat -c %h "$mnt/obj/o07") $(stat -c %a "$mnt/obj/o07")"
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "the final names in the sandbox: content, mode, no temporaries" "20 444 object 7 1" \
	"$(run 'ls obj | grep -c "^o"') $(run 'stat -c %a obj/o07') $(run 'cat obj/o07') $(run 'stat -c %h obj/o07')"
expect_eq "no temporary in the sandbox" "0" "$(run 'ls -a obj | grep -c tmp_obj')"

# Both names of a link made before the upload stay: a hard link in the
# sandbox after it; a write through one name before it made the link first.
echo e > "$mnt/obj/e"
ln "$mnt/obj/e" "$mnt/obj/f"
expect_eq "both names, count 2, before the upload" "2 2 e e" \
	"$(stat -c %h "$mnt/obj/e") $(stat -c %h "$mnt/obj/f") $(cat "$mnt/obj/e") $(cat "$mnt/obj/f")"
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "a hard link in the sandbox" "2 2 1" \
	"$(run 'stat -c %h obj/e obj/f | tr "\n" " " | sed "s/ $//"') $(run 'stat -c %i obj/e obj/f | sort -u | wc -l')"
echo g > "$mnt/obj/g"
ln "$mnt/obj/g" "$mnt/obj/h"
echo more >> "$mnt/obj/h"
echo sync > "$mnt/.e2bfs/ctl"
expect_eq "written through the new name before the upload: linked, then that name saved" "g|g more" \
	"$(run 'cat obj/g')|$(run 'cat obj/h | tr "\n" " " | sed "s/ $//"')"
expect_eq "the same through the mount" "g|g more" \
	"$(cat "$mnt/obj/g")|$(tr '\n' ' ' < "$mnt/obj/h" | sed 's/ $//')"

fs_umount "$mnt"
api DELETE "/sandboxes/$id" >/dev/null
done_testing
