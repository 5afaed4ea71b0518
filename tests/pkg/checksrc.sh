#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The tree is clean under scripts/checksrc (issue 12 item 11): banned
# functions, SPDX + purpose comment, /* */ only, whitespace, tabs, 100
# columns, strerror() in threaded code, long functions without a "Long:"
# reason (item 4).  One line per finding.  First the
# checker itself must see each rule broken in a fixture, so a checker that
# stopped looking cannot make this pass.
. "$SRC_DIR/tests/lib.sh"

CHECKSRC=$SRC_DIR/scripts/checksrc

# --- the checker finds what it should, and honours an excuse
fx=$TEST_TMP/checksrc-fixture.c
{
	printf '%s\n' 'int spdx_missing;'
	printf '%s\n' '// a C++ comment'
	printf '%s\n' '/* it'"'"'s a comment with an apostrophe */'
	printf '%s\n' 'int banned(const char *s) { return atoi(s); }'
	printf '%s\n' 'int excused(const char *s) { return atoi(s); } /* checksrc: banned (fixture) */'
	printf '%s\n' 'int trailing; '
	printf '    %s\n' 'int space_indented;'
	printf '\t%s\n' "int long_line = $(printf '%.0s1 + ' {1..24})1;"
	printf '%s' 'int no_newline_at_end;'
} > "$fx"
out=$(python3 "$CHECKSRC" "$fx" 2>&1)
rc=$?
[ $rc = 1 ] && ok "checksrc exits 1 on findings" || fail "checksrc exits 1 on findings" "exit $rc"
for want in 1:spdx 2:cxxcomment 4:banned 6:trailing 7:spaceindent 8:longline 9:nolf; do
	if grep -q "^$fx:${want%%:*}: ${want#*:}:" <<<"$out"; then
		ok "checksrc finds ${want#*:}"
	else
		fail "checksrc finds ${want#*:}" "no '${want#*:}' finding on line ${want%%:*}: $(tr '\n' ' ' <<<"$out")"
	fi
done
grep -q "^$fx:5:" <<<"$out" && fail "checksrc honours an excuse" "line 5 reported" ||
	ok "checksrc honours an excuse"
# strerror() is found in threaded code: a fixture named as if under server/
fx=$TEST_TMP/checksrc-threaded.c
printf '%s\n' '/* SPDX-License-Identifier: MIT */' '/* A fixture. */' \
	'const char *f(int e) { return strerror(e); }' > "$fx"
rel=server/$(realpath -m --relative-to="$SRC_DIR/server" "$fx")
out=$(cd "$SRC_DIR" && python3 "$CHECKSRC" "$rel" 2>&1)
grep -q "^$rel:3: strerror:" <<<"$out" && ok "checksrc finds strerror" ||
	fail "checksrc finds strerror" "$(tr '\n' ' ' <<<"$out")"

# A function over 80 lines is found unless the comment above it says why
# ("Long:"); one of complexity over 20 too.
fx=$TEST_TMP/checksrc-long.c
{
	printf '%s\n' '/* SPDX-License-Identifier: MIT */' '/* A fixture. */' '' 'int long_plain(void)' '{'
	for _ in $(seq 85); do printf '\t%s\n' 'f();'; done
	printf '%s\n' '}' '' '/* Said.' ' * Long: one flat list, clearer whole. */' 'int long_said(void)' '{'
	for _ in $(seq 85); do printf '\t%s\n' 'f();'; done
	printf '%s\n' '}' '' 'int branchy(int a)' '{'
	for _ in $(seq 21); do printf '\t%s\n' 'if (a) f();'; done
	printf '%s\n' '}'
} > "$fx"
out=$(python3 "$CHECKSRC" "$fx" 2>&1)
grep -q "^$fx:4: longfunc: long_plain()" <<<"$out" && ok "checksrc finds a long function" ||
	fail "checksrc finds a long function" "$(tr '\n' ' ' <<<"$out")"
grep -q "long_said" <<<"$out" && fail "checksrc takes a Long: reason" "$(tr '\n' ' ' <<<"$out")" ||
	ok "checksrc takes a Long: reason"
grep -q "longfunc: branchy(): 23 lines, complexity 22" <<<"$out" &&
	ok "checksrc finds a complex function" ||
	fail "checksrc finds a complex function" "$(tr '\n' ' ' <<<"$out")"

# --- the tree
if ! git -C "$SRC_DIR" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
	fail "checksrc" "$SRC_DIR is not a git checkout (checksrc checks the files git tracks)"
	done_testing
fi
out=$(cd "$SRC_DIR" && python3 "$CHECKSRC" 2>&1)
rc=$?
summary=$(tail -n 1 <<<"$out")
if [ $rc = 0 ]; then
	ok "checksrc ($summary)"
else
	while IFS= read -r line; do
		fail "checksrc" "$line"
	done < <(grep -v '^checksrc: ' <<<"$out")
	fail "checksrc" "exit $rc ($summary)"
fi
done_testing
