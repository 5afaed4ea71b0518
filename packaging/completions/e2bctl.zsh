#compdef e2bctl
# SPDX-License-Identifier: MIT
# zsh completion for e2bctl.  Install as _e2bctl somewhere in $fpath.
# Sandbox IDs are completed from `e2bctl list` with the global options
# already typed, so profiles and URLs are honoured.

# The whole command line, saved before _arguments shifts $words.
typeset -ga _e2bctl_line

# `e2bctl [global options typed so far] ARGS...`
_e2bctl_run() {
	local -a globals
	local i
	globals=()
	for ((i = 2; i <= $#_e2bctl_line; i++)); do
		case ${_e2bctl_line[i]} in
		--profile|--api-url|--sandbox-url|--domain|--protocol|--scheme|--api-key-file)
			globals+=(${_e2bctl_line[i]} ${_e2bctl_line[i+1]}); ((i++)) ;;
		-*) ;;
		*) break ;;
		esac
	done
	${_e2bctl_line[1]} $globals "$@" 2>/dev/null
}

# `e2bctl list`, IDs only.
_e2bctl_list_ids() {
	_e2bctl_run list --no-headers | awk '{ print $1 }'
}

# Remote paths after ID: (already moved to IPREFIX), from `e2bctl ls ID DIR`;
# directories get a / suffix.
_e2bctl_remote_paths() {
	local id=${IPREFIX%:} dir= n
	local -a names dirs files
	[[ $PREFIX == */* ]] && dir=${PREFIX%/*}/
	names=(${(f)"$(_e2bctl_run ls $id ${dir:+$dir} | sed -nE \
		'/^d/ { s/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ (.*)$/\1\//p; d; }
		/^L/ { s/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ (.*) -> .*$/\1/p; d; }
		s/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ (.*)$/\1/p')"})
	for n in $names; do
		if [[ $n == */ ]]; then dirs+=(${n%/}); else files+=($n); fi
	done
	compset -P '*/'
	compadd -S / -a dirs
	compadd -a files
}

_e2bctl_ids() {
	local -a ids
	ids=(${(f)"$(_e2bctl_list_ids)"})
	_describe -t sandboxes 'sandbox ID' ids
}

_e2bctl_id_or_dot() {
	_alternative 'dot:current mount:(.)' 'sandboxes:sandbox ID:_e2bctl_ids'
}

_e2bctl_profiles() {
	local cfg=${E2B_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/e2b/config}
	local -a profiles
	profiles=(${(f)"$(sed -n 's/^\[profile \(.*\)\]$/\1/p; s/^\[default\]$/default/p' $cfg 2>/dev/null)"})
	_describe -t profiles 'profile' profiles
}

_e2bctl_mounts() {
	local -a mounts
	mounts=(${(f)"$(awk '$3 == "fuse.e2bfs" { print $2 }' /proc/mounts 2>/dev/null)"})
	_describe -t mounts 'e2bfs mount' mounts
}

_e2bctl_cp_arg() {
	if [[ $PREFIX != */*:* ]] && compset -P '*:'; then
		_e2bctl_remote_paths
		return
	fi
	_alternative 'files:local file:_files' 'sandboxes:sandbox:_e2bctl_cp_ids'
}

# ID or ID:PATH for mount.
_e2bctl_mount_src() {
	if compset -P '*:'; then
		_e2bctl_remote_paths
		return
	fi
	local -a ids
	ids=(${(f)"$(_e2bctl_list_ids)"})
	compadd -q -S ':' -a ids
}

_e2bctl_cp_ids() {
	local -a ids
	ids=(${(f)"$(_e2bctl_list_ids)"})
	compadd -S ':' -a ids
}

_e2bctl() {
	local curcontext=$curcontext state line ret=1
	local -a commands proc_opts
	_e2bctl_line=($words)
	commands=(
		'create:create a sandbox and print its ID'
		'list:list sandboxes'
		'info:show a sandbox'"'"'s details'
		'logs:print a sandbox'"'"'s logs'
		'kill:kill sandboxes'
		'pause:pause a sandbox'
		'resume:resume a paused sandbox'
		'connect:resume a sandbox if paused and extend its lifetime'
		'set-timeout:set a sandbox'"'"'s remaining lifetime'
		'run:run a command and stream its output'
		'start:start a command in the background'
		'ps:list processes in a sandbox'
		'signal:send a signal to a process'
		'attach:follow a running process'"'"'s output'
		'shell:open an interactive terminal'
		'ls:list a directory'
		'stat:show a file'"'"'s metadata'
		'mkdir:create a directory'
		'mv:move or rename'
		'rm:remove a file or tree'
		'cat:write a file to stdout'
		'cp:copy files between here and a sandbox'
		'watch:print filesystem events'
		'mount:mount a sandbox directory with e2bfs'
		'umount:unmount an e2bfs mount'
		'cache:remove e2bfs caches of sandboxes that are gone'
		'help:show help'
		'version:print the version'
	)
	_arguments -C \
		'--profile[use a profile]:profile:_e2bctl_profiles' \
		'--api-url[management API base URL]:url:' \
		'--sandbox-url[envd base URL]:url:' \
		'--domain[service domain]:domain:' \
		'--protocol[URL form]:protocol:(native private)' \
		'--scheme[URL scheme]:scheme:(http https)' \
		'--api-key-file[read the API key from a file]:file:_files' \
		'--json[machine-readable output]' \
		'(-v --verbose)'{-v,--verbose}'[log requests]' \
		'(-q --quiet)'{-q,--quiet}'[no progress output]' \
		'(-h --help)'{-h,--help}'[show help]' \
		'--version[print the version]' \
		'1:command:->command' \
		'*::argument:->args' && ret=0

	case $state in
	command)
		_describe -t commands 'e2bctl command' commands && ret=0 ;;
	args)
		curcontext=${curcontext%:*:*}:e2bctl-$words[1]:
		proc_opts=(
			'(-w --cwd)'{-w,--cwd}'[working directory]:dir:'
			'*'{-e,--env}'[environment variable]:K=V:'
			'(-u --user)'{-u,--user}'[sandbox user]:user:'
		)
		case $words[1] in
		create)
			_arguments \
				'(-t --timeout)'{-t,--timeout}'[lifetime in seconds]:seconds:' \
				'*'{-m,--metadata}'[metadata]:K=V:' \
				'*'{-e,--env}'[environment variable]:K=V:' \
				'--auto-pause[pause at the timeout]' \
				'--secure[require an access token]' \
				'1::template:' && ret=0 ;;
		list)
			_arguments \
				'(-s --state)'{-s,--state}'[states]:states:(running paused running,paused)' \
				'*'{-m,--metadata}'[metadata filter]:K=V:' \
				'(-n --limit)'{-n,--limit}'[at most N]:N:' \
				'(-o --output)'{-o,--output}'[output format]:format:(wide json)' \
				'--no-headers[no header line]' && ret=0 ;;
		logs)
			_arguments '(-n --limit -f --follow)'{-n,--limit}'[at most N lines]:N:' \
				'(-f --follow -n --limit)'{-f,--follow}'[print new lines as they come]' \
				'1:sandbox:_e2bctl_id_or_dot' && ret=0 ;;
		info|pause)
			_arguments '1:sandbox:_e2bctl_id_or_dot' && ret=0 ;;
		ps)
			_arguments '(-a --all)'{-a,--all}"[e2bfs's helper processes too]" \
				'(-w --wide)'{-w,--wide}'[do not cut lines to the terminal]' \
				'1:sandbox:_e2bctl_id_or_dot' && ret=0 ;;
		kill)
			_arguments '*:sandbox:_e2bctl_ids' && ret=0 ;;
		resume|connect)
			_arguments '(-t --timeout)'{-t,--timeout}'[seconds]:seconds:' \
				'1:sandbox:_e2bctl_id_or_dot' && ret=0 ;;
		set-timeout)
			_arguments '1:sandbox:_e2bctl_id_or_dot' '2:seconds:' && ret=0 ;;
		run)
			_arguments $proc_opts \
				'(-t --timeout)'{-t,--timeout}'[kill after S seconds]:seconds:' \
				'(-n --no-stdin)'{-n,--no-stdin}'[do not forward stdin]' \
				'1:sandbox:_e2bctl_id_or_dot' '*::command:_normal' && ret=0 ;;
		start)
			_arguments $proc_opts \
				'--tag[process tag]:tag:' '--stdin[keep stdin open]' \
				'1:sandbox:_e2bctl_id_or_dot' '*::command:_normal' && ret=0 ;;
		shell)
			_arguments $proc_opts \
				'1:sandbox:_e2bctl_id_or_dot' '*::command:_normal' && ret=0 ;;
		signal)
			_arguments '1:sandbox:_e2bctl_id_or_dot' '2:pid:' '3:signal:(TERM KILL)' && ret=0 ;;
		attach)
			_arguments '1:sandbox:_e2bctl_id_or_dot' '2:pid:' && ret=0 ;;
		ls)
			_arguments '(-d --depth)'{-d,--depth}'[levels]:N:' \
				'1:sandbox:_e2bctl_id_or_dot' '2::path:' && ret=0 ;;
		stat|mkdir|cat)
			_arguments '1:sandbox:_e2bctl_id_or_dot' '2:path:' && ret=0 ;;
		mv)
			_arguments '1:sandbox:_e2bctl_id_or_dot' '2:source:' '3:destination:' && ret=0 ;;
		rm)
			_arguments '(-r --recursive)'{-r,--recursive}'[remove directories]' \
				'1:sandbox:_e2bctl_id_or_dot' '2:path:' && ret=0 ;;
		watch)
			_arguments '(-r --recursive)'{-r,--recursive}'[watch subdirectories]' \
				'1:sandbox:_e2bctl_id_or_dot' '2:path:' && ret=0 ;;
		cp)
			_arguments '(-r --recursive)'{-r,--recursive}'[copy directories]' \
				'(-j --parallel)'{-j,--parallel}'[parallel transfers]:N:' \
				'*:source or destination:_e2bctl_cp_arg' && ret=0 ;;
		mount)
			_arguments '*'{-o,--options}'[e2bfs options]:options:' \
				'(-f --foreground)'{-f,--foreground}'[stay in the foreground]' \
				'1:sandbox:_e2bctl_mount_src' '2:mount point:_files -/' && ret=0 ;;
		umount)
			_arguments '(-z --lazy)'{-z,--lazy}'[lazy unmount]' \
				'1:mount point:_e2bctl_mounts' && ret=0 ;;
		cache)
			_arguments '(-c --cache-dir)'{-c,--cache-dir}'[cache directory]:directory:_files -/' \
				'(-n --dry-run)'{-n,--dry-run}'[say what would be done]' \
				'1:cache command:(prune)' && ret=0 ;;
		help)
			_arguments '1:command:(${commands%%:*})' && ret=0 ;;
		esac ;;
	esac
	return ret
}

_e2bctl "$@"
