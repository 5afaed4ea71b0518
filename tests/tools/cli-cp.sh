#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl cp: a 1,000-file tree and a 200 MiB file round trip with
# identical bytes; single files, stdin/stdout, directories, errors, and an
# interrupted download that leaves nothing behind; several sources and
# remote wildcards.
. "$SRC_DIR/tests/tools/cli-lib.sh"

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
src=$TEST_TMP/tree
python3 - "$src" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(1000):
    d = os.path.join(root, "d%d" % (i % 10), "s%d" % (i % 7))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%04d.bin" % i), "wb") as f:
        f.write(os.urandom((i * 37) % 5000))
os.makedirs(os.path.join(root, "empty", "dir"), exist_ok=True)
with open(os.path.join(root, "name with spaces 'q'.txt"), "w") as f:
    f.write("spaces\n")
PY
sum_tree() { (cd "$1" && find . -type f -exec sha256sum {} + | sort -k2 | sha256sum | cut -d' ' -f1); }
want=$(sum_tree "$src")

# 1,000 files up (private) and back (native).
t0=$(date +%s%N)
rc ctl private cp -r "$src" "$id:/tmp/up"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_rc "cp -r upload of 1,001 files (${ms} ms)" 0
got=$(ctl private run "$id" "cd /tmp/up && find . -type f -exec sha256sum {} + | sort -k2 | sha256sum | cut -d' ' -f1")
expect_eq "uploaded tree identical" "$want" "$got"
expect_eq "empty directories uploaded" "0" "$(ctl private run "$id" 'test -d /tmp/up/empty/dir; echo $?')"
mkdir -p "$TEST_TMP/back"
t0=$(date +%s%N)
rc ctl native cp -r "$id:/tmp/up" "$TEST_TMP/back/"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_rc "cp -r download into a directory (${ms} ms)" 0
expect_eq "downloaded tree identical" "$want" "$(sum_tree "$TEST_TMP/back/up")"
[ -d "$TEST_TMP/back/up/empty/dir" ] && ok "empty directories downloaded" || fail "empty directories downloaded"
rc ctl native cp -r -j 1 "$id:/tmp/up" "$TEST_TMP/back1"
expect_eq "cp -r -j 1 (new directory name)" "0 $want" "$RC $(sum_tree "$TEST_TMP/back1")"
rm -rf "$TEST_TMP/back" "$TEST_TMP/back1"

# 200 MiB up (native) and back (private).
head -c 209715200 /dev/urandom > "$TEST_TMP/big"
big=$(sha256sum < "$TEST_TMP/big" | cut -d' ' -f1)
t0=$(date +%s%N)
rc ctl native cp "$TEST_TMP/big" "$id:/tmp/big.bin"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_rc "200 MiB upload (${ms} ms)" 0
expect_eq "200 MiB uploaded intact" "$big" "$(ctl native run "$id" 'sha256sum < /tmp/big.bin' | cut -d' ' -f1)"
t0=$(date +%s%N)
rc ctl private cp "$id:/tmp/big.bin" "$TEST_TMP/big.back"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_rc "200 MiB download (${ms} ms)" 0
cmp -s "$TEST_TMP/big" "$TEST_TMP/big.back" && ok "200 MiB round trip identical" ||
	fail "200 MiB round trip identical"
rm -f "$TEST_TMP/big.back"
left=$(ctl native run "$id" 'ls -A /tmp | grep -c e2bctl')
expect_eq "no part files left after the parallel upload" "0" "$left"
# The same through one stream each way (-j 1).
rc ctl private cp -j 1 "$TEST_TMP/big" "$id:/tmp/big1.bin"
expect_eq "200 MiB upload, one stream" "0 $big" "$RC $(ctl native run "$id" 'sha256sum < /tmp/big1.bin' | cut -d' ' -f1)"
rc ctl native cp -j 1 "$id:/tmp/big1.bin" "$TEST_TMP/big.back"
cmp -s "$TEST_TMP/big" "$TEST_TMP/big.back" && ok "200 MiB download, one stream" ||
	fail "200 MiB download, one stream" "rc $RC"
rm -f "$TEST_TMP/big.back"

# Interrupted download: nothing half-written, no temporary left.
mkdir -p "$TEST_TMP/intr"
ctl private run "$id" 'truncate -s 4G /tmp/sparse.bin'
ctlx private cp "$id:/tmp/sparse.bin" "$TEST_TMP/intr/big" 2>/dev/null & p=$!
sleep 0.6; kill -INT $p; wait $p; RC=$?
if [ "$RC" = 130 ] && [ -z "$(ls -A "$TEST_TMP/intr")" ]; then
	ok "interrupted download leaves nothing"
elif [ "$RC" = 0 ]; then
	skip "interrupted download leaves nothing" "download finished before the interrupt"
else
	fail "interrupted download leaves nothing" "rc $RC: $(ls -A "$TEST_TMP/intr")"
fi
rm -f "$TEST_TMP/big"

# Permission bits survive both ways (envd's upload has no mode: chmod after).
mkdir -p "$TEST_TMP/modes/sub"
printf '#!/bin/sh\necho run\n' > "$TEST_TMP/modes/x.sh"; chmod 755 "$TEST_TMP/modes/x.sh"
printf 'secret\n' > "$TEST_TMP/modes/sub/key"; chmod 600 "$TEST_TMP/modes/sub/key"
printf 'plain\n' > "$TEST_TMP/modes/plain"; chmod 644 "$TEST_TMP/modes/plain"
rc ctl native cp -r "$TEST_TMP/modes" "$id:/tmp/modes"
expect_eq "modes kept on upload" "0 755 600 644" \
	"$RC $(ctl native run "$id" 'stat -c %a /tmp/modes/x.sh /tmp/modes/sub/key /tmp/modes/plain' | tr '\n' ' ' | sed 's/ $//')"
rc ctl native run "$id" /tmp/modes/x.sh
expect_eq "uploaded script runs" "run" "$OUT"
rc ctl private cp -r "$id:/tmp/modes" "$TEST_TMP/modes-back"
expect_eq "modes kept on download" "0 755 600 644" \
	"$RC $(stat -c %a "$TEST_TMP/modes-back/x.sh" "$TEST_TMP/modes-back/sub/key" "$TEST_TMP/modes-back/plain" | tr '\n' ' ' | sed 's/ $//')"

for m in "${MODES[@]}"; do
	printf 'one\n' > "$TEST_TMP/one.txt"
	rc ctl "$m" cp "$TEST_TMP/one.txt" "$id:/tmp/cp-$m/"
	expect_eq "$m: upload into DIR/" "0 one" "$RC $(ctl "$m" cat "$id" "/tmp/cp-$m/one.txt")"
	printf 'two\n' > "$TEST_TMP/one.txt"
	rc ctl "$m" cp "$TEST_TMP/one.txt" "$id:/tmp/cp-$m"
	expect_eq "$m: upload into existing dir replaces" "0 two" "$RC $(ctl "$m" cat "$id" "/tmp/cp-$m/one.txt")"
	rc ctl "$m" cp "$TEST_TMP/one.txt" "$id:/tmp/cp-$m/renamed.txt"
	expect_eq "$m: upload to a new name" "0 two" "$RC $(ctl "$m" cat "$id" "/tmp/cp-$m/renamed.txt")"
	left=$(ctl "$m" run "$id" "ls -A /tmp/cp-$m" | tr '\n' ' ')
	expect_eq "$m: no temporary files left" "one.txt renamed.txt " "$left"
	printf 'from stdin' > "$TEST_TMP/stdin.txt"
	rc ctl "$m" cp - "$id:/tmp/cp-$m/stdin.txt" < "$TEST_TMP/stdin.txt"
	expect_eq "$m: upload from stdin" "0 from stdin" "$RC $(ctl "$m" cat "$id" "/tmp/cp-$m/stdin.txt")"
	rc ctl "$m" cp "$id:/tmp/cp-$m/stdin.txt" -
	expect_eq "$m: download to stdout" "0 from stdin" "$RC $OUT"
	rc ctl "$m" cp "$id:/tmp/cp-$m/one.txt" "$TEST_TMP/"
	expect_eq "$m: download into a directory" "0 two" "$RC $(cat "$TEST_TMP/one.txt")"
	rc ctl "$m" --json cp "$TEST_TMP/one.txt" "$id:/tmp/cp-$m/j.txt"
	expect_eq "$m: cp --json" "/tmp/cp-$m/j.txt 1 4" \
		"$(printf '%s' "$OUT" | jq_py 'd["destination"]+" "+str(d["files"])+" "+str(d["bytes"])' 2>&1)"

	rc ctl "$m" cp "$src" "$id:/tmp/x"
	expect_rc "$m: directory without -r (upload)" 1 "is a directory (use -r)"
	rc ctl "$m" cp "$id:/tmp/cp-$m" "$TEST_TMP/x"
	expect_rc "$m: directory without -r (download)" 1 "is a directory (use -r)"
	rc ctl "$m" cp "$TEST_TMP/nope" "$id:/tmp/x"
	expect_rc "$m: missing local source" 3 "cannot stat"
	rc ctl "$m" cp "$id:/tmp/nope" "$TEST_TMP/x"
	expect_rc "$m: missing remote source" 3 "no such file or directory"
	rc ctl "$m" cp "$id:/a" "$id:/b"
	expect_rc "$m: sandbox to sandbox" 2 "not supported"
	rc ctl "$m" cp "$TEST_TMP/one.txt" nosuch:/tmp/x
	expect_rc "$m: unknown sandbox" 3 "sandbox 'nosuch' not found"

	# Several sources and remote wildcards, as cp(1): the last argument is
	# the destination and must then be a directory.
	ms=$TEST_TMP/multi-$m
	mkdir -p "$ms/in" "$ms/down" "$ms/down2"
	printf a > "$ms/in/a.txt"; printf bb > "$ms/in/b.txt"; printf ccc > "$ms/in/c.md"
	ctl "$m" mkdir "$id" "/tmp/m-$m" > /dev/null
	rc ctl "$m" --json cp "$ms/in/a.txt" "$ms/in/b.txt" "$ms/in/c.md" "$id:/tmp/m-$m"
	expect_eq "$m: upload of three sources into a directory (--json totals)" "0 /tmp/m-$m 3 6" \
		"$RC $(printf '%s' "$OUT" | jq_py 'd["destination"]+" "+str(d["files"])+" "+str(d["bytes"])' 2>&1)"
	expect_eq "$m: all three arrived" "a.txt b.txt c.md " "$(ctl "$m" run "$id" "ls /tmp/m-$m" | tr '\n' ' ')"
	ctl "$m" run "$id" "echo h > /tmp/m-$m/.hidden.txt" > /dev/null
	rc ctl "$m" cp "$id:/tmp/m-$m/*.txt" "$ms/down"
	expect_eq "$m: remote wildcard (no dot files)" "0 a.txt b.txt " "$RC $(ls -A "$ms/down" | tr '\n' ' ')"
	rc ctl "$m" cp "$id:/tmp/m-$m/[ab].txt" "$id:/tmp/m-$m/c.md" "$ms/down2/"
	expect_eq "$m: wildcard and a plain source" "0 a.txt b.txt c.md " "$RC $(ls -A "$ms/down2" | tr '\n' ' ')"
	expect_eq "$m: contents kept" "a bb ccc" "$(cat "$ms/down2/a.txt") $(cat "$ms/down2/b.txt") $(cat "$ms/down2/c.md")"
	rc ctl "$m" cp "$id:/tmp/m-$m/*.zip" "$ms/down"
	expect_rc "$m: a wildcard without a match" 3 "no match for '/tmp/m-$m/*.zip'"
	rc ctl "$m" cp "$ms/in/a.txt" "$ms/in/b.txt" "$id:/tmp/m-$m/a.txt"
	expect_rc "$m: several sources into a file" 1 "is not a directory"
	rc ctl "$m" cp "$id:/tmp/m-$m/a.txt" "$id:/tmp/m-$m/b.txt" "$ms/in/a.txt"
	expect_rc "$m: several downloads into a file" 1 "is not a directory"
	rc ctl "$m" cp "$ms/in/a.txt" "$id:/tmp/m-$m/b.txt" "$ms/down"
	expect_rc "$m: local and remote sources mixed" 2 "must all be local or all ID:PATH"
	rc ctl "$m" cp "$ms/in/a.txt" "$ms/nope" "$ms/in/b.txt" "$id:/tmp/m-$m/"
	expect_rc "$m: a missing source is reported, exit 3" 3 "cannot stat"
	expect_eq "$m: the other sources still copied" "a bb" \
		"$(ctl "$m" cat "$id" "/tmp/m-$m/a.txt") $(ctl "$m" cat "$id" "/tmp/m-$m/b.txt")"
done

done_testing
