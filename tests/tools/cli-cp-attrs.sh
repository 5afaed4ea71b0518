#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl cp -r keeps directory modes and times both ways (and file modes):
# up, they are set in the sandbox through libe2b's metadata session after
# the files (deepest first, so a read-only directory still takes its
# files); down, here with chmod/utimensat.  Names a shell would misread
# stay names.
. "$SRC_DIR/tests/tools/cli-lib.sh"

umask 022
id=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "$id"; done_testing; }
t=$TEST_TMP/attrs
mkdir -p "$t/open" "$t/private/deeper" "$t/ro" "$t/we ird \$(touch x-pwned)" "$t/-dash"
printf 'x\n' > "$t/ro/inside"; chmod 640 "$t/ro/inside"
printf 'y\n' > "$t/private/deeper/f"; chmod 755 "$t/private/deeper/f"
printf 'z\n' > "$t/we ird \$(touch x-pwned)/g"
chmod 750 "$t/private"; chmod 700 "$t/private/deeper"; chmod 555 "$t/ro"
chmod 711 "$t/we ird \$(touch x-pwned)"; chmod 754 "$t/-dash"; chmod 751 "$t"
# Distinct times, set last (after the files), atime older than mtime.
i=0
for d in "$t/private/deeper" "$t/private" "$t/ro" "$t/we ird \$(touch x-pwned)" "$t/-dash" "$t/open" "$t"; do
	i=$((i + 1))
	touch -m -d "@$((1500000000 + i * 1000)).25" "$d"
	touch -a -d "@$((1400000000 + i * 1000))" "$d"
done
# "MODE MTIME(s) ATIME(s)" of every directory under $1, in name order.
local_attrs() { (cd "$1" && find . -type d -print0 | sort -z | xargs -0 stat -c '%n %a %Y %X'); }
want=$(local_attrs "$t")

rc ctl native cp -r "$t" "$id:/tmp/up"
expect_rc "cp -r upload of a tree with modes and times" 0
got=$(ctl native run "$id" "cd /tmp/up && find . -type d -print0 | sort -z | xargs -0 stat -c '%n %a %Y %X'")
expect_eq "directory modes, mtimes and atimes kept on upload" "$want" "$got"
expect_eq "sub-second mtime kept on upload" "1500007000.250000000" \
	"$(ctl native run "$id" 'stat -c %.9Y /tmp/up')"
expect_eq "file modes kept on upload" "640 755 644" \
	"$(ctl native run "$id" 'cd /tmp/up && stat -c %a ro/inside private/deeper/f "we ird \$(touch x-pwned)/g"' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "no name ran as a command" "0" \
	"$(ctl native run "$id" 'ls -d /tmp/up/x-pwned ~/x-pwned /tmp/x-pwned 2>/dev/null | wc -l')"

# Down: a tree whose times and modes were made in the sandbox.
ctl native run "$id" "mkdir -p /tmp/down/a/b /tmp/down/c && echo 1 > /tmp/down/a/b/f && chmod 700 /tmp/down/a/b && chmod 750 /tmp/down/a && chmod 555 /tmp/down/c && touch -m -d @1600000000 /tmp/down/a/b && touch -m -d @1600001000 /tmp/down/a && touch -m -d @1600002000 /tmp/down/c && touch -m -d @1600003000.5 /tmp/down && chmod 751 /tmp/down" > /dev/null
rwant=$(ctl native run "$id" "cd /tmp/down && find . -type d -print0 | sort -z | xargs -0 stat -c '%n %a %Y'")
for m in "${MODES[@]}"; do
	rc ctl "$m" cp -r "$id:/tmp/down" "$TEST_TMP/back-$m"
	expect_rc "$m: cp -r download" 0
	expect_eq "$m: directory modes and mtimes kept on download" "$rwant" \
		"$(cd "$TEST_TMP/back-$m" && find . -type d -print0 | sort -z | xargs -0 stat -c '%n %a %Y')"
	expect_eq "$m: sub-second mtime kept on download" "1600003000.500000000" \
		"$(stat -c %.9Y "$TEST_TMP/back-$m")"
done
# And the uploaded tree comes back as it went (modes through the umask, 022
# here, as cp(1) without -p: these modes have no group or other write bit).
rc ctl private cp -r "$id:/tmp/up" "$TEST_TMP/round"
expect_eq "round trip: directory modes and mtimes" \
	"$(local_attrs "$t" | cut -d' ' -f1-3)" "$(local_attrs "$TEST_TMP/round" | cut -d' ' -f1-3)"

# A single file keeps its mode too (one process in the sandbox).
printf 'a\n' > "$TEST_TMP/one.sh"; chmod 750 "$TEST_TMP/one.sh"
rc ctl native cp "$TEST_TMP/one.sh" "$id:/tmp/one.sh"
expect_eq "single file: mode kept on upload" "0 750" "$RC $(ctl native run "$id" 'stat -c %a /tmp/one.sh')"

chmod -R u+rwx "$TEST_TMP" 2>/dev/null
done_testing
