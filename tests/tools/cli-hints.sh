#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Typos get hints (issue 11 item 4): a mistyped command or option names the
# nearest one, `run -it` points to `shell`; all are usage errors (exit 2)
# that reach no server.
. "$SRC_DIR/tests/tools/cli-lib.sh"

# hint NAME WANT ARGS...: exit 2 and stderr holding WANT.
hint() {
	local name=$1 want=$2
	shift 2
	rc "$C" --api-url http://127.0.0.1:9 "$@"
	if [ "$RC" = 2 ] && [[ $ERR == *"$want"* ]]; then
		ok "$name"
	else
		fail "$name" "exit $RC: $ERR"
	fi
}

hint "lsit suggests list" "unknown command 'lsit'; did you mean 'list'?" lsit
hint "a dropped letter: lis" "did you mean 'list'?" lis
hint "a changed letter: rum" "did you mean 'run'?" rum
hint "set-timout suggests set-timeout" "did you mean 'set-timeout'?" set-timout
hint "umount spelt unmount" "did you mean 'umount'?" unmount
hint "help lsit suggests list" "unknown command 'lsit'; did you mean 'list'?" help lsit
rc "$C" frobnicate
if [ "$RC" = 2 ] && [[ $ERR != *"did you mean"* ]]; then
	ok "nothing close: no suggestion"
else
	fail "nothing close: no suggestion" "exit $RC: $ERR"
fi
rc "$C" x
[[ $ERR != *"did you mean"* ]] && ok "a one-letter word gets no suggestion" || fail "a one-letter word gets no suggestion" "$ERR"

hint "run -it points to shell" "use 'e2bctl shell ID [COMMAND]'" run -it someid bash
hint "run ID -it points to shell" "use 'e2bctl shell ID [COMMAND]'" run someid -it bash
hint "run -i points to shell" "e2bctl shell" run -i someid bash
hint "run --tty points to shell" "e2bctl shell" run --tty someid bash
hint "run --interactive points to shell" "e2bctl shell" run --interactive someid bash
# -t alone is still run's timeout, and -it after the command belongs to it
rc "$C" run -t 5 someid
[[ $ERR != *shell* ]] && ok "run -t N is the timeout" || fail "run -t N is the timeout" "$ERR"

hint "--recurse suggests --recursive" "unknown option '--recurse' for 'rm'; did you mean '--recursive'?" rm --recurse someid /x
hint "--dpeth suggests --depth" "did you mean '--depth'?" ls --dpeth 2 someid
rc "$C" ls --colour someid
[ "$RC" = 2 ] && [[ $ERR != *"did you mean"* ]] && ok "an option with nothing close: no suggestion" ||
	fail "an option with nothing close: no suggestion" "exit $RC: $ERR"

done_testing
