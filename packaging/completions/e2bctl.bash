# SPDX-License-Identifier: MIT
# bash completion for e2bctl.  Install as
# /usr/share/bash-completion/completions/e2bctl (or source it).
# Sandbox IDs are completed from `e2bctl list` with the global options
# already typed, so profiles and URLs are honoured.

_e2bctl_commands="create list info kill pause resume connect set-timeout run start ps
	signal attach shell ls stat mkdir mv rm cat cp watch mount umount help version"
_e2bctl_globals="--profile --api-url --sandbox-url --domain --protocol --scheme
	--api-key-file --json --verbose --quiet --help --version"

_e2bctl_cmd_opts() {
	case $1 in
	create) echo "--timeout --metadata --env --auto-pause --secure" ;;
	list) echo "--state --metadata --limit" ;;
	resume | connect) echo "--timeout" ;;
	run) echo "--cwd --env --user --timeout --no-stdin" ;;
	start) echo "--cwd --env --user --tag --stdin" ;;
	shell) echo "--cwd --env --user" ;;
	ls) echo "--depth" ;;
	rm) echo "--recursive" ;;
	cp) echo "--recursive --parallel" ;;
	watch) echo "--recursive" ;;
	mount) echo "--options --foreground" ;;
	umount) echo "--lazy" ;;
	esac
	echo "--help --json"
}

# Sandbox IDs, using the global options given so far.
_e2bctl_ids() {
	local out
	out=$("${_e2bctl_global_words[@]}" list 2>/dev/null) || return
	printf '%s\n' "$out" | awk 'NR > 1 { print $1 }'
}

# Candidates from compgen, one per line (names may contain spaces).
_e2bctl_reply() {
	mapfile -t COMPREPLY < <(compgen "$@" -- "$cur")
}

_e2bctl() {
	local cur prev i cmd='' cmd_at=0 nargs=0
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	_e2bctl_global_words=("${COMP_WORDS[0]}")

	# Find the command word; remember the global options before it.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--profile | --api-url | --sandbox-url | --domain | --protocol | --scheme | --api-key-file)
			_e2bctl_global_words+=("${COMP_WORDS[i]}" "${COMP_WORDS[i+1]}")
			((i++)) ;;
		-*) ;;
		*)
			cmd=${COMP_WORDS[i]}
			cmd_at=$i
			break ;;
		esac
	done

	if [ -z "$cmd" ]; then
		case $prev in
		--protocol) _e2bctl_reply -W "native private"; return ;;
		--scheme) _e2bctl_reply -W "http https"; return ;;
		--api-key-file) _e2bctl_reply -f; return ;;
		--profile)
			local cfg=${E2B_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/e2b/config}
			_e2bctl_reply -W "$(sed -n 's/^\[profile \(.*\)\]$/\1/p; s/^\[default\]$/default/p' "$cfg" 2>/dev/null)"
			return ;;
		--api-url | --sandbox-url | --domain) return ;;
		esac
		if [[ $cur == -* ]]; then
			_e2bctl_reply -W "$_e2bctl_globals"
		else
			_e2bctl_reply -W "$_e2bctl_commands"
		fi
		return
	fi

	case $prev in
	--cwd | --env | -e | --metadata | -m | --user | -u | --tag | --timeout | -t | --limit | -n | \
	--depth | -d | --parallel | -j | --options | -o) return ;;
	--state) _e2bctl_reply -W "running paused running,paused"; return ;;
	esac
	if [[ $cur == -* ]]; then
		_e2bctl_reply -W "$(_e2bctl_cmd_opts "$cmd")"
		return
	fi
	# Count positional arguments before the cursor.
	for ((i = cmd_at + 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--cwd | --env | -e | --metadata | -m | --user | -u | --tag | --timeout | -t | --limit | \
		--depth | -d | --parallel | -j | --options | -o | --state) ((i++)) ;;
		-*) ;;
		*) ((nargs++)) ;;
		esac
	done
	case $cmd in
	help)
		[ $nargs = 0 ] && _e2bctl_reply -W "$_e2bctl_commands" ;;
	create | list | version) ;;
	kill)
		_e2bctl_reply -W "$(_e2bctl_ids)" ;;
	info | pause | resume | connect | set-timeout | run | start | ps | signal | attach | shell | \
	ls | stat | mkdir | mv | rm | cat | watch)
		if [ $nargs = 0 ]; then
			_e2bctl_reply -W ". $(_e2bctl_ids)"
		elif [ "$cmd" = signal ] && [ $nargs = 2 ]; then
			_e2bctl_reply -W "TERM KILL"
		elif [ "$cmd" = run ] || [ "$cmd" = start ] || [ "$cmd" = shell ]; then
			_e2bctl_reply -c
		fi ;;
	mount)
		if [ $nargs = 0 ]; then
			_e2bctl_reply -W "$(_e2bctl_ids)"
		else
			_e2bctl_reply -d
		fi ;;
	umount)
		_e2bctl_reply -W "$(awk '$3 == "fuse.e2bfs" { print $2 }' /proc/mounts 2>/dev/null)" ;;
	cp)
		if [[ $cur == *:* ]]; then
			return
		fi
		mapfile -t COMPREPLY < <(compgen -f -- "$cur"
			compgen -W "$(_e2bctl_ids | sed 's/$/:/')" -- "$cur")
		compopt -o nospace 2>/dev/null ;;
	esac
}
complete -F _e2bctl e2bctl
