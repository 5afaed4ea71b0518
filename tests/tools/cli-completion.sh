#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The completion scripts against the real command and option tables: bash
# and fish are driven (commands, options, values, sandbox IDs from `list`,
# remote paths after ID: from `ls`), zsh's is read.
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
bad=0 ncmd=0
for cmd in $("$C" help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'); do
	ncmd=$((ncmd + 1))
	got=$(complete_words e2bctl "$cmd")
	[[ $got == *"$cmd"* ]] || { fail "completion knows '$cmd'" "$got"; bad=1; }
	for opt in $("$C" help "$cmd" | sed -n "/^Options:/,\$p" | grep -oE -- '--[a-z-]+' | sort -u); do
		[ "$opt" = --help ] && continue
		got=$(complete_words e2bctl "$cmd" "$opt")
		[[ " $got" == *" $opt "* ]] || { fail "completion knows '$cmd $opt'" "$got"; bad=1; }
	done
done
if [ "$ncmd" -lt 20 ]; then
	fail "completion covers every command and option" "only $ncmd commands found in e2bctl help"
elif [ "$bad" = 0 ]; then
	ok "completion covers every command and option ($ncmd commands)"
fi

# Remote paths after ID: from `e2bctl ls`, as bash splits words at ':'.
ctl private run "$id" 'mkdir -p "/home/user/cdir one" /home/user/cproj && touch "/home/user/cdir one/f 1.txt"' > /dev/null
expect_eq "cp ID:PATH (split at ':') completes remote paths" "cproj/ " "$(complete_words e2bctl cp x "$id" : cpr)"
got=$(complete_words e2bctl cp x "$id" :)
[[ $got == *'cdir\ one/ '* && $got == *'cproj/ '* ]] && ok "cp ID: lists the home" || fail "cp ID: lists the home" "$got"
expect_eq "remote names are quoted" 'cdir\ one/f\ 1.txt ' "$(complete_words e2bctl cp "$id" : 'cdir\ one/')"
expect_eq "an unsplit ID:PATH keeps its ID" "$id:cproj/ " "$(complete_words e2bctl cp "$id:cpr")"
expect_eq "mount ID:PATH completes remote paths" "/home/ " "$(complete_words e2bctl mount "$id" : /hom)"

# zsh: every command and option is in the script (it cannot be driven
# here without a terminal).
if command -v zsh >/dev/null; then
	zsh -n "$comp/e2bctl.zsh" && ok "zsh completion parses" || fail "zsh completion parses"
	bad=
	for cmd in $("$C" help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'); do
		grep -q "^		'$cmd:" "$comp/e2bctl.zsh" || bad+=" $cmd"
		branch=$(awk -v c="$cmd" '
			/^\t\t[a-z|-]+\)$/ { split(substr($1, 1, length($1) - 1), n, "|"); on = 0
				for (k in n) if (n[k] == c) on = 1 }
			on { print } /;;/ { on = 0 }' "$comp/e2bctl.zsh")
		# run, start and shell share $proc_opts
		[[ $branch == *'$proc_opts'* ]] && branch+=$(sed -n '/proc_opts=(/,/^\t\t)/p' "$comp/e2bctl.zsh")
		for opt in $("$C" help "$cmd" | sed -n '/^Options:/,$p' | grep -oE -- '^ +(-[a-zA-Z], )?--[a-z-]+' | tr ',' ' '); do
			case $opt in
			--*) grep -qF -- "$opt" <<<"$branch" || bad+=" $cmd:$opt" ;;
			*) grep -qF -- "{${opt},--" <<<"$branch" || grep -qF -- "'$opt" <<<"$branch" || bad+=" $cmd:$opt" ;;
			esac
		done
	done
	[ -z "$bad" ] && ok "zsh completion knows every command and option" || fail "zsh completion knows every command and option" "missing:$bad"
else
	skip "zsh completion" "zsh not installed"
fi

# fish: driven for real with `complete -C`.
if command -v fish >/dev/null; then
	fish -n "$comp/e2bctl.fish" && ok "fish completion parses" || fail "fish completion parses"
	fcomplete() { # fcomplete LINE: the candidates fish offers
		PATH=$TEST_TMP/bin:$PATH fish -c 'source $argv[1]; complete -C $argv[2]' "$comp/e2bctl.fish" "$1" | cut -f1 | sort | tr '\n' ' '
	}
	expect_eq "fish: commands" "set-timeout shell signal start stat " "$(fcomplete 'e2bctl s')"
	expect_eq "fish: global options" "--profile --protocol " "$(fcomplete 'e2bctl --pro')"
	expect_eq "fish: protocol values" "native private " "$(fcomplete 'e2bctl --protocol ')"
	expect_eq "fish: signal names" "KILL TERM " "$(fcomplete 'e2bctl signal x 1 ')"
	got=$(fcomplete "e2bctl --api-url $E2BD_URL info ")
	[[ $got == *"$id"* ]] && ok "fish: sandbox IDs from list" || fail "fish: sandbox IDs from list" "$got"
	expect_eq "fish: . for the current mount" ". " "$(fcomplete "e2bctl info .")"
	got=$(fcomplete "e2bctl --api-url $E2BD_URL cp x ${id:0:4}")
	[[ $got == *"$id:"* ]] && ok "fish: cp completes ID:" || fail "fish: cp completes ID:" "$got"
	expect_eq "fish: remote paths after ID:" "$id:cproj/ " "$(fcomplete "e2bctl --api-url $E2BD_URL cp x $id:cpr")"
	expect_eq "fish: remote names with spaces" "$id:cdir one/f 1.txt " "$(fcomplete "e2bctl --api-url $E2BD_URL cp $id:cdir\ one/")"
	bad=
	all=$(fcomplete 'e2bctl ')
	for cmd in $("$C" help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'); do
		[[ " $all" == *" $cmd "* ]] || bad+=" $cmd"
		opts=$(fcomplete "e2bctl $cmd -")
		for opt in $("$C" help "$cmd" | sed -n '/^Options:/,$p' | grep -oE -- '^ +(-[a-zA-Z], )?--[a-z-]+' | tr ',' ' '); do
			[[ " $opts" == *" $opt "* ]] || bad+=" $cmd:$opt"
		done
	done
	[ -z "$bad" ] && ok "fish completion offers every command and option" || fail "fish completion offers every command and option" "missing:$bad"
else
	skip "fish completion" "fish not installed"
fi

done_testing
