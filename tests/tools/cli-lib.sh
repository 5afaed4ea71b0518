# SPDX-License-Identifier: MIT
# Shared helpers of the e2bctl tests (sourced, not run: not executable).
# ctl MODE ARGS... runs e2bctl against the harness e2bd in one protocol:
#   private: --scheme http --protocol private --domain 127.0.0.1:PORT
#   native:  --api-url URL --domain localhost:PORT --scheme http
# rc CMD... runs a command and sets OUT (stdout), ERR (stderr), RC.
. "$SRC_DIR/tests/lib.sh"

C=${E2BCTL_BIN:?}
[ -x "$C" ] || { echo "not ok - e2bctl: $C not built"; exit 1; }
MODES=(private native)

ctl() {
	local mode=$1
	shift
	case $mode in
	private) "$C" --scheme http --protocol private --domain "127.0.0.1:$E2BD_PORT" "$@" ;;
	native) "$C" --api-url "$E2BD_URL" --domain "localhost:$E2BD_PORT" --scheme http "$@" ;;
	*) "$C" "$@" ;;
	esac
}

# ctlx MODE ARGS...: like ctl but exec's e2bctl, for `ctlx ... & pid=$!`
# (so that signals sent to $! reach e2bctl, not a subshell).
ctlx() {
	local mode=$1
	shift
	case $mode in
	private) exec "$C" --scheme http --protocol private --domain "127.0.0.1:$E2BD_PORT" "$@" ;;
	native) exec "$C" --api-url "$E2BD_URL" --domain "localhost:$E2BD_PORT" --scheme http "$@" ;;
	*) exec "$C" "$@" ;;
	esac
}

# cli_require_fuse: FUSE and e2bfs for the mount tests (skip 77 without
# /dev/fuse, except under CI where that fails); exports E2BFS.
cli_require_fuse() {
	if [ ! -e /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
		[ "${CI:-}" = true ] && { fail "fuse available" "/dev/fuse or fusermount3 missing under CI"; exit 1; }
		skip "fuse available" "/dev/fuse or fusermount3 missing"
		exit 77
	fi
	[ -x "${E2BFS_BIN:-}" ] || { fail "e2bfs built" "no executable at '${E2BFS_BIN:-}'"; done_testing; }
	export E2BFS=$E2BFS_BIN
}

# wait_http URL: wait (up to 10 s) until a server answers at URL.
wait_http() {
	local _
	for _ in $(seq 100); do
		curl -s -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

_cli_err=$TEST_TMP/.cli-err.$$
rc() {
	OUT=$("$@" 2>"$_cli_err")
	RC=$?
	ERR=$(cat "$_cli_err")
}

# expect_rc NAME WANT_RC [STDERR_SUBSTRING]: checks the last rc call.
expect_rc() {
	local name=$1 want=$2 msg=${3-}
	if [ "$RC" != "$want" ]; then
		fail "$name" "exit $RC, wanted $want; stderr: $(printf '%s' "$ERR" | head -c 300)"
	elif [ -n "$msg" ] && [[ $ERR != *"$msg"* ]]; then
		fail "$name" "stderr lacks '$msg': $(printf '%s' "$ERR" | head -c 300)"
	else
		ok "$name"
	fi
}

# expect_one_line NAME: the last rc call's stderr is exactly one line.
expect_one_line() {
	if [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] && [[ $ERR == e2bctl:* ]]; then
		ok "$1"
	else
		fail "$1" "stderr not one 'e2bctl:' line: $(printf '%s' "$ERR" | head -c 300)"
	fi
}

# wait_remote MODE ID PATTERN: up to 10 s for a process matching PATTERN
# to show up in `ps` (so a signal sent next finds it running).
wait_remote() {
	local i
	for i in $(seq 50); do
		ctl "$1" ps "$2" 2>/dev/null | grep -q -- "$3" && return 0
		sleep 0.2
	done
	return 1
}

# track ID: kill the sandbox at exit (tests/lib.sh cleanup).
track() { printf '%s\n' "$1" >> "$TEST_TMP/.sandboxes.$$"; }

# jq_py EXPR: evaluate python EXPR on JSON stdin bound to d.
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
