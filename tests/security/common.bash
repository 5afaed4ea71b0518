# SPDX-License-Identifier: MIT
# Shared setup for tests/security/*.sh (not a test itself: no .sh suffix):
# source after tests/lib.sh.
#   start_e2bd NAME [E2BD ARGS...]  an e2bd of the script's own (state dir,
#       key file, free loopback port, debug log in $TEST_TMP/NAME.log); sets
#       SEC_URL, SEC_PID, SEC_LOG; stopped at exit, its log checked for
#       sanitizer reports.
#   mini_rootfs DIR  a template root filesystem of bash alone (and its
#       libraries) at DIR, for --template NAME=DIR.
#   sb_run ID CMD [USER]  bash -c CMD in sandbox ID through $E2BD_URL's
#       process.Process/Start; sets SB_OUT (stdout+stderr) and RC (exit
#       code, or error:MESSAGE).

_sec_pids=()
_sec_logs=()

start_e2bd() {
	local name=$1 i
	shift
	SEC_PORT=$(free_port)
	SEC_URL=http://127.0.0.1:$SEC_PORT
	SEC_LOG=$TEST_TMP/$name.log
	if [ ! -e "$TEST_TMP/$name.key" ]; then
		( umask 077; printf '%s\n' "$E2B_API_KEY" > "$TEST_TMP/$name.key" )
	fi
	"$E2BD_BIN" --listen "127.0.0.1:$SEC_PORT" --state-dir "$TEST_TMP/$name.state" \
		--api-key-file "$TEST_TMP/$name.key" --log-level debug "$@" > "$SEC_LOG" 2>&1 &
	SEC_PID=$!
	_sec_pids+=("$SEC_PID")
	_sec_logs+=("$SEC_LOG")
	for i in $(seq 100); do
		curl -fs -o /dev/null "$SEC_URL/health" 2>/dev/null && return 0
		kill -0 "$SEC_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# stop_e2bd PID: SIGTERM, wait up to 10 s.
stop_e2bd() {
	local i
	kill "$1" 2>/dev/null || return 0
	for i in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
}

mini_rootfs() {
	local l
	mkdir -p "$1/bin"
	cp "$(command -v bash)" "$1/bin/"
	for l in $(ldd "$1/bin/bash" | grep -o '/[^ :]*\.so[^ :]*' | sort -u); do
		mkdir -p "$1$(dirname "$l")"
		cp -L "$l" "$1$l"
	done
}

RC=
SB_OUT=
sb_run() {
	local out
	out=$(python3 "$SRC_DIR/tests/security/sbrun.py" "$@")
	RC=${out##*$'\n'}
	SB_OUT=${out%$'\n'*}
	[ "$SB_OUT" = "$out" ] && SB_OUT=
}

_sec_cleanup() {
	local p l
	for p in "${_sec_pids[@]}"; do stop_e2bd "$p"; done
	for l in "${_sec_logs[@]}"; do
		if grep -q -E 'AddressSanitizer|runtime error:|LeakSanitizer' "$l" 2>/dev/null; then
			printf 'not ok - %s: sanitizer report\n' "$(basename "$l")"
			grep -A 20 -E 'AddressSanitizer|runtime error:|LeakSanitizer' "$l" | head -40
		fi
	done
	_lib_cleanup
}
trap '_sec_cleanup' EXIT
