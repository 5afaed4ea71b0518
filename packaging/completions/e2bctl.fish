# SPDX-License-Identifier: MIT
# fish completion for e2bctl.  Install in a vendor_completions.d directory
# (or ~/.config/fish/completions/).  Sandbox IDs come from `e2bctl list`
# and remote paths after ID: from `e2bctl ls`, run with the global options
# already typed, so profiles and URLs are honoured.

# Global options that take a value.
set -g __e2bctl_global_valued --profile --api-url --sandbox-url --domain --protocol --scheme --api-key-file
# Command options that take a value, short and long.
set -g __e2bctl_valued -t --timeout -m --metadata -e --env -s --state -n --limit -w --cwd -u --user --tag -d --depth -j --parallel -o --options --output

# The typed words: the program, the global options, the command, its words.
function __e2bctl_words
    commandline -opc
end

# The command word, if one has been typed.
function __e2bctl_command
    set -l words (__e2bctl_words)
    set -l i 2
    while test $i -le (count $words)
        set -l w $words[$i]
        if contains -- $w $__e2bctl_global_valued
            set i (math $i + 2)
            continue
        end
        switch $w
            case '-*'
            case '*'
                echo $w
                return 0
        end
        set i (math $i + 1)
    end
    return 1
end

function __e2bctl_needs_command
    not __e2bctl_command >/dev/null
end

# __e2bctl_using CMD...: the command is one of CMD.
function __e2bctl_using
    set -l cmd (__e2bctl_command)
    and contains -- $cmd $argv
end

# How many arguments the command has before the cursor.
function __e2bctl_nargs
    set -l words (__e2bctl_words)
    set -l cmd (__e2bctl_command)
    set -l seen 0
    set -l n 0
    set -l skip 0
    for w in $words[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        if test $seen = 0
            if contains -- $w $__e2bctl_global_valued
                set skip 1
            else if test "$w" = "$cmd"
                set seen 1
            end
            continue
        end
        if contains -- $w $__e2bctl_valued
            set skip 1
        else if not string match -q -- '-*' $w
            set n (math $n + 1)
        end
    end
    echo $n
end

# __e2bctl_arg N: the cursor is on argument N (0-based) of the command.
function __e2bctl_arg
    test (__e2bctl_nargs) = $argv[1]
end

# e2bctl with the global options typed so far.
function __e2bctl_run
    set -l words (__e2bctl_words)
    set -l globals
    set -l i 2
    while test $i -le (count $words)
        set -l w $words[$i]
        if contains -- $w $__e2bctl_global_valued
            set -a globals $w $words[(math $i + 1)]
            set i (math $i + 2)
            continue
        end
        string match -q -- '-*' $w; or break
        set i (math $i + 1)
    end
    command $words[1] $globals $argv 2>/dev/null
end

function __e2bctl_ids
    __e2bctl_run list --no-headers | awk '{ print $1 "\tsandbox " $3 }'
end

# ID:PATH candidates for the token under the cursor (directories end in /).
function __e2bctl_remote
    set -l tok (commandline -ct | string unescape)
    string match -q -- '*:*' $tok; or return
    set -l id (string split -m 1 : -- $tok)[1]
    set -l path (string split -m 1 : -- $tok)[2]
    set -l dir
    string match -q -- '*/*' $path; and set dir (string replace -r '[^/]*$' '' -- $path)
    __e2bctl_run ls $id $dir | sed -nE \
        '/^d/ { s/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ (.*)$/\1\//p; d; }
        /^L/ { s/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ (.*) -> .*$/\1/p; d; }
        s/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ (.*)$/\1/p' |
        while read -l name
            echo "$id:$dir$name"
        end
end

# cp and mount sources: ID:PATH once a ':' is typed, else IDs (as ID:) and
# local files.
function __e2bctl_cp_arg
    set -l tok (commandline -ct | string unescape)
    if string match -qr -- '^[^/]*:' $tok
        __e2bctl_remote
    else
        __e2bctl_ids | string replace -r '^(\S+)' '$1:'
        __fish_complete_path $tok
    end
end

function __e2bctl_profiles
    set -l cfg $E2B_CONFIG
    test -n "$cfg"; or set cfg (test -n "$XDG_CONFIG_HOME"; and echo $XDG_CONFIG_HOME; or echo $HOME/.config)/e2b/config
    sed -n 's/^\[profile \(.*\)\]$/\1/p; s/^\[default\]$/default/p' $cfg 2>/dev/null
end

complete -c e2bctl -f

# Global options (before the command).
complete -c e2bctl -n __e2bctl_needs_command -l profile -x -a '(__e2bctl_profiles)' -d 'use a profile'
complete -c e2bctl -n __e2bctl_needs_command -l api-url -x -d 'management API base URL'
complete -c e2bctl -n __e2bctl_needs_command -l sandbox-url -x -d 'envd base URL'
complete -c e2bctl -n __e2bctl_needs_command -l domain -x -d 'service domain'
complete -c e2bctl -n __e2bctl_needs_command -l protocol -x -a 'native private' -d 'URL form'
complete -c e2bctl -n __e2bctl_needs_command -l scheme -x -a 'http https' -d 'URL scheme'
complete -c e2bctl -n __e2bctl_needs_command -l api-key-file -r -F -d 'read the API key from a file'
complete -c e2bctl -l json -d 'machine-readable output'
complete -c e2bctl -s v -l verbose -d 'log requests'
complete -c e2bctl -s q -l quiet -d 'no progress output'
complete -c e2bctl -s h -l help -d 'show help'
complete -c e2bctl -n __e2bctl_needs_command -l version -d 'print the version'

# Commands.
complete -c e2bctl -n __e2bctl_needs_command -a create -d 'create a sandbox and print its ID'
complete -c e2bctl -n __e2bctl_needs_command -a list -d 'list sandboxes'
complete -c e2bctl -n __e2bctl_needs_command -a info -d "show a sandbox's details"
complete -c e2bctl -n __e2bctl_needs_command -a logs -d "print a sandbox's logs"
complete -c e2bctl -n __e2bctl_needs_command -a kill -d 'kill sandboxes'
complete -c e2bctl -n __e2bctl_needs_command -a pause -d 'pause a sandbox'
complete -c e2bctl -n __e2bctl_needs_command -a resume -d 'resume a paused sandbox'
complete -c e2bctl -n __e2bctl_needs_command -a connect -d 'resume if paused and extend the lifetime'
complete -c e2bctl -n __e2bctl_needs_command -a set-timeout -d "set a sandbox's remaining lifetime"
complete -c e2bctl -n __e2bctl_needs_command -a run -d 'run a command and stream its output'
complete -c e2bctl -n __e2bctl_needs_command -a start -d 'start a command in the background'
complete -c e2bctl -n __e2bctl_needs_command -a ps -d 'list processes in a sandbox'
complete -c e2bctl -n __e2bctl_needs_command -a signal -d 'send a signal to a process'
complete -c e2bctl -n __e2bctl_needs_command -a attach -d "follow a running process's output"
complete -c e2bctl -n __e2bctl_needs_command -a shell -d 'open an interactive terminal'
complete -c e2bctl -n __e2bctl_needs_command -a ls -d 'list a directory'
complete -c e2bctl -n __e2bctl_needs_command -a stat -d "show a file's metadata"
complete -c e2bctl -n __e2bctl_needs_command -a mkdir -d 'create a directory'
complete -c e2bctl -n __e2bctl_needs_command -a mv -d 'move or rename'
complete -c e2bctl -n __e2bctl_needs_command -a rm -d 'remove a file or tree'
complete -c e2bctl -n __e2bctl_needs_command -a cat -d 'write a file to stdout'
complete -c e2bctl -n __e2bctl_needs_command -a cp -d 'copy files between here and a sandbox'
complete -c e2bctl -n __e2bctl_needs_command -a watch -d 'print filesystem events'
complete -c e2bctl -n __e2bctl_needs_command -a mount -d 'mount a sandbox directory with e2bfs'
complete -c e2bctl -n __e2bctl_needs_command -a umount -d 'unmount an e2bfs mount'
complete -c e2bctl -n __e2bctl_needs_command -a cache -d 'remove e2bfs caches of sandboxes that are gone'
complete -c e2bctl -n '__e2bctl_using cache' -s c -l cache-dir -r -d 'cache directory'
complete -c e2bctl -n '__e2bctl_using cache' -s n -l dry-run -d 'say what would be done'
complete -c e2bctl -n '__e2bctl_using cache; and __e2bctl_arg 0' -a prune -d 'remove caches of gone sandboxes'
complete -c e2bctl -n __e2bctl_needs_command -a help -d 'show help'
complete -c e2bctl -n __e2bctl_needs_command -a version -d 'print the version'

# Command options.
complete -c e2bctl -n '__e2bctl_using create' -s t -l timeout -x -d 'lifetime in seconds'
complete -c e2bctl -n '__e2bctl_using create' -s m -l metadata -x -d 'metadata K=V'
complete -c e2bctl -n '__e2bctl_using create' -s e -l env -x -d 'environment variable K=V'
complete -c e2bctl -n '__e2bctl_using create' -l auto-pause -d 'pause at the timeout'
complete -c e2bctl -n '__e2bctl_using create' -l secure -d 'require an access token'
complete -c e2bctl -n '__e2bctl_using list' -s s -l state -x -a 'running paused running,paused' -d 'states'
complete -c e2bctl -n '__e2bctl_using list' -s m -l metadata -x -d 'metadata filter K=V'
complete -c e2bctl -n '__e2bctl_using list' -s n -l limit -x -d 'at most N'
complete -c e2bctl -n '__e2bctl_using list' -s o -l output -x -a 'wide json' -d 'output format'
complete -c e2bctl -n '__e2bctl_using list' -l no-headers -d 'no header line'
complete -c e2bctl -n '__e2bctl_using logs' -s n -l limit -x -d 'at most N lines'
complete -c e2bctl -n '__e2bctl_using logs' -s f -l follow -d 'print new lines as they come, until the sandbox is gone'
complete -c e2bctl -n '__e2bctl_using resume connect' -s t -l timeout -x -d 'seconds'
complete -c e2bctl -n '__e2bctl_using run start shell' -s w -l cwd -x -d 'working directory'
complete -c e2bctl -n '__e2bctl_using run start shell' -s e -l env -x -d 'environment variable K=V'
complete -c e2bctl -n '__e2bctl_using run start shell' -s u -l user -x -d 'sandbox user'
complete -c e2bctl -n '__e2bctl_using run' -s t -l timeout -x -d 'kill after S seconds'
complete -c e2bctl -n '__e2bctl_using run' -s n -l no-stdin -d 'do not forward stdin'
complete -c e2bctl -n '__e2bctl_using start' -l tag -x -d 'process tag'
complete -c e2bctl -n '__e2bctl_using start' -l stdin -d 'keep stdin open'
complete -c e2bctl -n '__e2bctl_using ls' -s d -l depth -x -d 'levels'
complete -c e2bctl -n '__e2bctl_using rm' -s r -l recursive -d 'remove directories'
complete -c e2bctl -n '__e2bctl_using cp' -s r -l recursive -d 'copy directories'
complete -c e2bctl -n '__e2bctl_using cp' -s j -l parallel -x -d 'parallel transfers'
complete -c e2bctl -n '__e2bctl_using watch' -s r -l recursive -d 'watch subdirectories'
complete -c e2bctl -n '__e2bctl_using mount' -s o -l options -x -d 'e2bfs options'
complete -c e2bctl -n '__e2bctl_using mount' -s f -l foreground -d 'stay in the foreground'
complete -c e2bctl -n '__e2bctl_using umount' -s z -l lazy -d 'lazy unmount'
complete -c e2bctl -n '__e2bctl_using ps' -s a -l all -d "e2bfs's helper processes too"
complete -c e2bctl -n '__e2bctl_using ps' -s w -l wide -d 'do not cut lines to the terminal'

# Arguments.
complete -c e2bctl -n '__e2bctl_using info logs pause resume connect set-timeout run start ps signal attach shell ls stat mkdir mv rm cat watch; and __e2bctl_arg 0' -a '. (__e2bctl_ids)'
complete -c e2bctl -n '__e2bctl_using kill' -a '(__e2bctl_ids)'
complete -c e2bctl -n '__e2bctl_using signal; and __e2bctl_arg 2' -a 'TERM KILL'
complete -c e2bctl -n '__e2bctl_using run start shell; and not __e2bctl_arg 0' -a '(__fish_complete_subcommand --fcs-skip=3)'
complete -c e2bctl -n '__e2bctl_using cp' -a '(__e2bctl_cp_arg)'
complete -c e2bctl -n '__e2bctl_using mount; and __e2bctl_arg 0' -a '(__e2bctl_cp_arg)'
complete -c e2bctl -n '__e2bctl_using mount; and __e2bctl_arg 1' -a '(__fish_complete_directories)'
complete -c e2bctl -n '__e2bctl_using umount' -a "(awk '\$3 == \"fuse.e2bfs\" { print \$2 }' /proc/mounts 2>/dev/null)"
complete -c e2bctl -n '__e2bctl_using help; and __e2bctl_arg 0' -a 'create list info logs kill pause resume connect set-timeout run start ps signal attach shell ls stat mkdir mv rm cat cp watch mount umount cache help version'
