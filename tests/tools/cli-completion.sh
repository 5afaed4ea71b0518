#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The bash completion script: commands, options, values and sandbox IDs
# (zsh's is syntax-checked when zsh is installed).
. "$SRC_DIR/tests/tools/cli-lib.sh"

comp=$SRC_DIR/packaging/completions
id=$(new_sandbox) || { fail "create sandbox" "$id"; done_testing; }
mkdir -p "$TEST_TMP/bin"
ln -sf "$C" "$TEST_TMP/bin/e2bctl"

complete_words() { # complete_words WORD...: prints the candidates
	PATH=$TEST_TMP/bin:$PATH bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _e2bctl
		printf "%s\n" "${COMPREPLY[@]}"' _ "$comp/e2bctl.bash" "$@" | sort | tr '\n' ' '
}

bash -n "$comp/e2bctl.bash" && ok "bash completion parses" || fail "bash completion parses"
expect_eq "commands" "set-timeout shell signal start stat " "$(complete_words e2bctl s)"
expect_eq "global options" "--profile --protocol " "$(complete_words e2bctl --pro)"
expect_eq "protocol values" "native private " "$(complete_words e2bctl --protocol '')"
expect_eq "command options" "--cwd " "$(complete_words e2bctl run --c)"
expect_eq "signal names" "KILL TERM " "$(complete_words e2bctl signal x 1 '')"
expect_eq "help topics" "resume rm run " "$(complete_words e2bctl help r)"
got=$(complete_words e2bctl --api-url "$E2BD_URL" info '')
[[ $got == *"$id"* && $got == *". "* ]] && ok "sandbox IDs from list" || fail "sandbox IDs from list" "$got"
got=$(complete_words e2bctl cp x "${id:0:4}")
[[ $got == *"$id:"* ]] && ok "cp completes ID:" || fail "cp completes ID:" "$got"

# Every command and option the tool knows is offered.
for cmd in $("$C" help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'); do
	got=$(complete_words e2bctl "$cmd")
	[[ $got == *"$cmd"* ]] || fail "completion knows '$cmd'" "$got"
	for opt in $("$C" help "$cmd" | sed -n "/^Options:/,\$p" | grep -oE -- '--[a-z-]+' | sort -u); do
		[ "$opt" = --help ] && continue
		got=$(complete_words e2bctl "$cmd" "$opt")
		[[ " $got" == *" $opt "* ]] || fail "completion knows '$cmd $opt'" "$got"
	done
done
ok "completion covers every command and option"

if command -v zsh >/dev/null; then
	zsh -n "$comp/e2bctl.zsh" && ok "zsh completion parses" || fail "zsh completion parses"
else
	skip "zsh completion parses" "zsh not installed"
fi

done_testing
