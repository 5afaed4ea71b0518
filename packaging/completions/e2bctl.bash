# SPDX-License-Identifier: MIT
# bash completion for e2bctl.  Install as
# /usr/share/bash-completion/completions/e2bctl (or source it).
# Sandbox IDs are completed from `e2bctl list` with the global options
# already typed, so profiles and URLs are honoured.

_e2bctl_commands="create list info logs kill pause resume connect set-timeout run start ps
	signal attach shell ls stat mkdir mv rm cat cp watch mount umount cache help version"
_e2bctl_globals="--profile --api-url --sandbox-url --domain --protocol --scheme
	--api-key-file --json --verbose --quiet --help --version"

_e2bctl_cmd_opts() {
	case $1 in
	create) echo "--timeout --metadata --env --auto-pause --secure" ;;
	list) echo "--state --metadata --limit --output --no-headers" ;;
	logs) echo "--limit --follow" ;;
	resume | connect) echo "--timeout" ;;
	run) echo "--cwd --env --user --timeout --no-stdin" ;;
	start) echo "--cwd --env --user --tag --stdin" ;;
	shell) echo "--cwd --env --user" ;;
	ls) echo "--depth" ;;
	rm) echo "--recursive" ;;
	cp) echo "--recursive --parallel" ;;
	watch) echo "--recursive" ;;
	mount) echo "--options --foreground" ;;
	ps) echo "--all --wide" ;;
	umount) echo "--lazy" ;;
	cache) echo "--cache-dir --dry-run" ;;
	esac
	echo "--help --json"
}

# Sandbox IDs, using the global options given so far.
_e2bctl_ids() {
	local out
	out=$("${_e2bctl_global_words[@]}" list --no-headers 2>/dev/null) || return
	printf '%s\n' "$out" | awk '{ print $1 }'
}

# Remote paths completing WORD, written ID:PATH, from `e2bctl ls`:
# ID:PATH candidates, directories ending in /.
_e2bctl_remote() {
	local id=${1%%:*} path=${1#*:} dir=
	case $path in */*) dir=${path%/*}/ ;; esac
	"${_e2bctl_global_words[@]}" ls "$id" ${dir:+"$dir"} 2>/dev/null |
		sed -nE '/^d/ { s/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ (.*)$/\1\//p; d; }
			/^L/ { s/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ (.*) -> .*$/\1/p; d; }
			s/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ (.*)$/\1/p' |
		while IFS= read -r name; do
			printf '%s\n' "$id:$dir$name"
		done
}

# The word under the cursor with bash's splits at ':' (COMP_WORDBREAKS)
# joined again and backslash escapes removed: ID:my dir/.
_e2bctl_colon_word() {
	local i=$COMP_CWORD w=${COMP_WORDS[COMP_CWORD]}
	while ((i > 1)) && [[ $w == :* || ${COMP_WORDS[i - 1]} == : ]]; do
		((i--))
		w=${COMP_WORDS[i]}$w
	done
	printf '%s' "$w" | sed 's/\\\(.\)/\1/g'
}

# Complete the word under the cursor as ID:PATH.  Where bash split it at
# ':', the part up to its last ':' is cut from the candidates (as
# bash-completion's __ltrim_colon_completions does); they are quoted for
# the command line.
_e2bctl_reply_remote() {
	local word c cut=
	word=$(_e2bctl_colon_word)
	# A current word of its own holding a ':' was not split.
	[[ ${COMP_WORDS[COMP_CWORD]} == *:?* ]] || cut=${word%"${word##*:}"}
	COMPREPLY=()
	while IFS= read -r c; do
		[[ $c == "$word"* ]] || continue
		c=${c#"$cut"}
		COMPREPLY+=("$(printf '%q' "$c")")
	done < <(_e2bctl_remote "$word")
	compopt -o nospace 2>/dev/null
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
	--depth | -d | --parallel | -j | --options) return ;;
	--state) _e2bctl_reply -W "running paused running,paused"; return ;;
	--output) _e2bctl_reply -W "wide json"; return ;;
	-o) [ "$cmd" = list ] && _e2bctl_reply -W "wide json"; return ;;
	esac
	if [[ $cur == -* ]]; then
		_e2bctl_reply -W "$(_e2bctl_cmd_opts "$cmd")"
		return
	fi
	# ID:PATH of cp and mount: remote paths (a '/' before the ':' makes
	# it a local path, as for cp itself).
	local word
	word=$(_e2bctl_colon_word)
	if [[ ($cmd == cp || $cmd == mount) && ${word%%:*} != "$word" && ${word%%:*} != */* ]]; then
		_e2bctl_reply_remote
		return
	fi
	# Count positional arguments before the cursor.
	for ((i = cmd_at + 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--cwd | --env | -e | --metadata | -m | --user | -u | --tag | --timeout | -t | --limit | \
		--depth | -d | --parallel | -j | --options | -o | --output | --state) ((i++)) ;;
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
	info | logs | pause | resume | connect | set-timeout | run | start | ps | signal | attach | shell | \
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
	cache)
		[ $nargs = 0 ] && _e2bctl_reply -W "prune" ;;
	umount)
		_e2bctl_reply -W "$(awk '$3 == "fuse.e2bfs" { print $2 }' /proc/mounts 2>/dev/null)" ;;
	cp)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur"
			compgen -W "$(_e2bctl_ids | sed 's/$/:/')" -- "$cur")
		compopt -o nospace 2>/dev/null ;;
	esac
}
complete -F _e2bctl e2bctl
