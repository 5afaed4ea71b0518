#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl shell driven in tmux: type a command, read the screen, resize the
# window, exit with a code; plus the cp progress bar on a terminal.
. "$SRC_DIR/tests/tools/cli-lib.sh"

command -v tmux >/dev/null || { skip "shell in tmux" "tmux not installed"; done_testing; }
id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
sock=e2bctl-test-$$
T() { tmux -L "$sock" -f /dev/null "$@"; }
trap 'T kill-server 2>/dev/null; _lib_cleanup' EXIT

# wait_screen SESSION REGEX: up to 15 s for the pane to match.
wait_screen() {
	local i
	for i in $(seq 150); do
		T capture-pane -p -t "$1" 2>/dev/null | grep -qE "$2" && return 0
		sleep 0.1
	done
	return 1
}

for m in "${MODES[@]}"; do
	case $m in
	private) flags="--scheme http --protocol private --domain 127.0.0.1:$E2BD_PORT" ;;
	native) flags="--api-url $E2BD_URL --domain localhost:$E2BD_PORT --scheme http" ;;
	esac
	s=sh-$m
	T new-session -d -s "$s" -x 100 -y 30 "'$C' $flags shell '$id'; echo EXIT=\$?; sleep 60"
	if ! wait_screen "$s" 'user@.*\$ ?$'; then
		fail "$m: shell prompt" "$(T capture-pane -p -t "$s" | grep -v '^$' | tail -5 | tr '\n' '|')"
		T kill-session -t "$s"
		continue
	fi
	ok "$m: shell shows a prompt"
	T send-keys -t "$s" 'echo "answer-$((6*7))"' Enter
	wait_screen "$s" '^answer-42' && ok "$m: shell runs a typed command" ||
		fail "$m: shell runs a typed command" "$(T capture-pane -p -t "$s" | tr '\n' '|')"
	T send-keys -t "$s" 'stty size' Enter
	wait_screen "$s" '^30 100' && ok "$m: initial window size" ||
		fail "$m: initial window size" "$(T capture-pane -p -t "$s" | tr '\n' '|')"
	T resize-window -t "$s" -x 120 -y 40
	resized=0
	for _ in 1 2 3 4 5; do
		sleep 0.5
		T send-keys -t "$s" 'clear; stty size' Enter
		wait_screen "$s" '^[0-9]+ [0-9]+$'
		T capture-pane -p -t "$s" | grep -q '^40 120' && { resized=1; break; }
	done
	[ $resized = 1 ] && ok "$m: resize forwarded" ||
		fail "$m: resize forwarded" "$(T capture-pane -p -t "$s" | tr '\n' '|')"
	T send-keys -t "$s" 'clear; sleep 30' Enter
	sleep 0.5
	T send-keys -t "$s" C-c
	# The remote line discipline flushes typed-ahead input on ^C: wait
	# for the new prompt before typing.
	wait_screen "$s" '^\^C' && sleep 0.3
	T send-keys -t "$s" 'echo after-ctrl-c' Enter
	wait_screen "$s" '^after-ctrl-c' && ok "$m: Ctrl-C goes to the remote shell" ||
		fail "$m: Ctrl-C goes to the remote shell" "$(T capture-pane -p -t "$s" | tr '\n' '|')"
	T send-keys -t "$s" 'exit 7' Enter
	wait_screen "$s" '^EXIT=7' && ok "$m: shell exit code" ||
		fail "$m: shell exit code" "$(T capture-pane -p -t "$s" | tr '\n' '|')"
	T kill-session -t "$s"
done

# shell COMMAND with a PTY
T new-session -d -s cmd -x 80 -y 24 "'$C' shell '$id' 'tty; exit 3'; echo EXIT=\$?; sleep 60"
wait_screen cmd '^EXIT=3' && T capture-pane -p -t cmd | grep -q '^/dev/pts/' && ok "shell COMMAND on a pty" ||
	fail "shell COMMAND on a pty" "$(T capture-pane -p -t cmd | tr '\n' '|')"
T kill-session -t cmd

# Piped keystrokes: typed into the PTY, EOF becomes ^D.
got=$(printf 'echo piped-$((3*5))\nexit 4\n' | ctl native shell "$id" 2>&1 | tr -d '\r' | grep -c 'piped-15$')
printf 'exit 4\n' | ctl native shell "$id" >/dev/null 2>&1; r=$?
expect_eq "shell with piped input" "1 4" "$got $r"

# Progress bar on a terminal, nothing when stderr is not one.
head -c 50000000 /dev/urandom > "$TEST_TMP/p.bin"
T new-session -d -s prog -x 120 -y 10 "'$C' cp '$TEST_TMP/p.bin' '$id:/tmp/p.bin'; echo EXIT=\$?; sleep 60"
wait_screen prog '^EXIT=' && T capture-pane -p -t prog | grep -qE '100% +4[78](\.[0-9])?M / 4[78](\.[0-9])?M .*/s +in [0-9]' &&
	ok "cp progress bar on a terminal" || fail "cp progress bar on a terminal" "$(T capture-pane -p -t prog | tr '\n' '|')"
T kill-session -t prog
rc ctl native cp "$TEST_TMP/p.bin" "$id:/tmp/p2.bin"
expect_eq "no progress output without a terminal" "0 ''" "$RC '$ERR'"

done_testing
