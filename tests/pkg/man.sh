#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The manual pages against the programs: every option in each program's
# --help (e2bctl: every command's option table) is documented in its page,
# in the entry of its command, and every option a page's OPTIONS or
# COMMANDS entries name exists; libe2b(3) is built too.
. "$SRC_DIR/tests/lib.sh"

M=$BUILD_DIR/docs/man
page() { python3 "$SRC_DIR/tests/pkg/manpage.py" "$@"; }
# has TEXT WORD: WORD appears in TEXT as a whole option token.
has() { grep -qE -- "(^|[^[:alnum:]_-])$(printf '%s' "$2" | sed 's/[.[\*^$]/\\&/g')([^[:alnum:]_-]|$)" <<<"$1"; }

for p in e2bfs.1 e2bctl.1 e2bd.8 libe2b.3; do
	if [ -s "$M/$p" ] && head -c 200 "$M/$p" | grep -q '^\.TH'; then
		ok "$p built"
	else
		fail "$p built" "no $M/$p (is scdoc installed?)"
	fi
done
[ -s "$M/e2bctl.1" ] && [ -s "$M/e2bd.8" ] && [ -s "$M/e2bfs.1" ] || done_testing

# --- e2bctl: each command's options in its entry, globals in GLOBAL OPTIONS
C=$E2BCTL_BIN
bad=
globals=$("$C" help | sed -n '/^Global options/,/^$/p' | grep -oE -- '(^|[ ,])--?[a-z][a-z-]*' | tr -d ' ,' | sort -u)
gtext=$(page "$M/e2bctl.1" terms 'GLOBAL OPTIONS')
for o in $globals; do
	has "$gtext" "$o" || bad+=" $o"
done
[ -z "$bad" ] && ok "e2bctl(1) has every global option" || fail "e2bctl(1) has every global option" "missing:$bad"

cmds=$("$C" help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }')
[ -n "$cmds" ] || fail "e2bctl help lists commands"
bad= badopt= extra=
for cmd in $cmds; do
	entry=$(page "$M/e2bctl.1" entry COMMANDS "$cmd")
	if [ -z "$entry" ]; then
		# help and version share one entry
		entry=$(page "$M/e2bctl.1" text | grep -E -- "(^|[ ,\`])$cmd( |\$)") || { bad+=" $cmd"; continue; }
	fi
	opts=$("$C" help "$cmd" | sed -n '/^Options:/,$p' | grep -oE -- '^ +(-[a-zA-Z], )?--[a-z-]+' | tr ',' ' ')
	for o in $opts; do
		has "$entry" "$o" || badopt+=" $cmd:$o"
	done
	# The other way round: an option in the entry's term is real.
	for o in $(head -n 1 <<<"$entry" | grep -oE -- '(^|[ [/])--?[a-zA-Z][a-z-]*' | tr -d ' [/'); do
		grep -qE -- "(^| |, )$o( |,|\$)" <<<"$("$C" help "$cmd"; "$C" help)" || extra+=" $cmd:$o"
	done
done
[ -z "$bad" ] && ok "e2bctl(1) has an entry for every command" || fail "e2bctl(1) has an entry for every command" "missing:$bad"
[ -z "$badopt" ] && ok "e2bctl(1) has every command option in its entry" || fail "e2bctl(1) has every command option in its entry" "missing:$badopt"
[ -z "$extra" ] && ok "e2bctl(1) names no option e2bctl lacks" || fail "e2bctl(1) names no option e2bctl lacks" "unknown:$extra"

# --- e2bd: OPTIONS terms and --help list the same options
help=$("$E2BD_BIN" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
doc=$(page "$M/e2bd.8" terms OPTIONS | grep -oE -- '--[a-z][a-z-]*' | sort -u)
expect_eq "e2bd(8) OPTIONS match e2bd --help" "$help" "$doc"

# --- e2bfs: -o options of --help are OPTIONS terms and back; the general
# and FUSE options are in the page
help=$("$E2BFS_BIN" --help | sed -n '/^e2bfs options:/,/^$/p' | grep -oE -- '-o [a-z_]+' | sed 's/^-o //' | sort -u)
doc=$(page "$M/e2bfs.1" terms OPTIONS | tr ',' '\n' | sed -E 's/^ +//; s/[= ].*//' | grep -E '^[a-z_]+$' | sort -u)
expect_eq "e2bfs(1) OPTIONS match e2bfs --help" "$help" "$doc"
text=$(page "$M/e2bfs.1" text)
bad=
for o in $("$E2BFS_BIN" --help | sed -n '/^General and FUSE options:/,/^$/p' | grep -oE -- '(^ +|, )(-[a-zA-Z]|--[a-z-]+|-o [a-z_]+)' | sed -E 's/^(, | +)//; s/^-o //'); do
	has "$text" "$o" || bad+=" $o"
done
[ -z "$bad" ] && ok "e2bfs(1) has every general and FUSE option" || fail "e2bfs(1) has every general and FUSE option" "missing:$bad"
has "$text" ".e2bfs/" && ok "e2bfs(1) describes the control directory" || fail "e2bfs(1) describes the control directory"

done_testing
