#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bd's start-up checks, issue 9 items 7, 11, 13, 14 (and bad per-template
# limits, items 1 and 4): a key file someone else could write is refused; a non-loopback --listen needs --allow-remote
# and warns; an oom_score_adj that cannot be lowered is warned about; a
# restrictive umask of the caller does not leak into sandbox modes.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/security/common.bash"

# start_fail NAME ARGS...: e2bd must exit at once; prints its exit code and
# its output (checked for the key).
start_fail() {
	local name=$1
	shift
	timeout 20 "$E2BD_BIN" --state-dir "$TEST_TMP/$name.state" "$@" > "$TEST_TMP/$name.out" 2>&1
	echo "exit $?: $(head -c 300 "$TEST_TMP/$name.out")"
}

# --- item 11: key file ownership and mode
if [ "$(id -u)" = 0 ]; then
	key=$TEST_TMP/other.key
	( umask 077; printf '%s\n' "$E2B_API_KEY" > "$key" )
	chown 65534:65534 "$key"
	out=$(start_fail other --listen 127.0.0.1:$(free_port) --api-key-file "$key")
	echo "key file owned by uid 65534: $out"
	check "key file owned by another user is refused" grep -q '^exit [12]: .*refusing key file' <<< "$out"
	check "the key is not printed" sh -c "! grep -qF '$E2B_API_KEY' '$TEST_TMP/other.out'"
else
	skip "key file owned by another user" "needs root to chown"
fi
for mode in 620 602 666; do
	key=$TEST_TMP/mode$mode.key
	( umask 077; printf '%s\n' "$E2B_API_KEY" > "$key" )
	chmod "$mode" "$key"
	out=$(start_fail "mode$mode" --listen 127.0.0.1:$(free_port) --api-key-file "$key")
	echo "key file mode $mode: $out"
	check "key file mode $mode is refused" grep -q '^exit [12]: .*refusing key file' <<< "$out"
done

# --- item 13: non-loopback listen.  Both runs are inside a network
# namespace of their own (only its own loopback), so nothing listens on the
# host's interfaces even when the check is missing.
if unshare -n true 2>/dev/null; then
	port=$(free_port)
	( umask 077; printf '%s\n' "$E2B_API_KEY" > "$TEST_TMP/remote.key" )
	unshare -n timeout 5 "$E2BD_BIN" --listen "0.0.0.0:$port" --state-dir "$TEST_TMP/remote.state" \
		--api-key-file "$TEST_TMP/remote.key" > "$TEST_TMP/remote.out" 2>&1
	out="exit $?: $(head -c 300 "$TEST_TMP/remote.out")"
	echo "--listen 0.0.0.0:$port without --allow-remote: $out"
	check "--listen 0.0.0.0 without --allow-remote is refused" grep -q 'allow-remote' <<< "$out"
	if grep -q 'listening on' <<< "$out"; then fail "... and never listens" "$out"; else ok "... and never listens"; fi
	unshare -n sh -c "ip link set lo up 2>/dev/null; exec timeout 5 '$E2BD_BIN' --listen '0.0.0.0:$port' --allow-remote \
		--state-dir '$TEST_TMP/remote2.state' --api-key-file '$TEST_TMP/remote.key'" > "$TEST_TMP/remote2.out" 2>&1
	echo "--listen 0.0.0.0:$port --allow-remote (stopped after 5 s): $(head -c 600 "$TEST_TMP/remote2.out" | tr '\n' ' ')"
	check "--allow-remote listens" grep -q "listening on http://0.0.0.0:$port" "$TEST_TMP/remote2.out"
	check "--allow-remote warns about plain HTTP" grep -q 'warn.*not loopback' "$TEST_TMP/remote2.out"
else
	skip "non-loopback listen" "cannot make a network namespace"
fi

# --- item 14: oom_score_adj that cannot be lowered (root without
# CAP_SYS_RESOURCE) is warned about
if [ "$(id -u)" = 0 ] && setpriv --bounding-set=-sys_resource true 2>/dev/null; then
	port=$(free_port)
	( umask 077; printf '%s\n' "$E2B_API_KEY" > "$TEST_TMP/oom.key" )
	setpriv --bounding-set=-sys_resource --inh-caps=-sys_resource "$E2BD_BIN" --listen "127.0.0.1:$port" \
		--state-dir "$TEST_TMP/oom.state" --api-key-file "$TEST_TMP/oom.key" > "$TEST_TMP/oom.out" 2>&1 &
	opid=$!
	_sec_pids+=("$opid")
	for _ in $(seq 100); do grep -q 'listening on' "$TEST_TMP/oom.out" && break; kill -0 $opid 2>/dev/null || break; sleep 0.1; done
	echo "e2bd without CAP_SYS_RESOURCE: $(grep -i 'oom\|listening\|cannot' "$TEST_TMP/oom.out" | head -3 | tr '\n' ' ')"
	check "oom_score_adj not lowered: warned" grep -q 'warn.*oom_score_adj' "$TEST_TMP/oom.out"
	stop_e2bd $opid
else
	skip "oom_score_adj warning" "needs root and setpriv"
fi

# --- per-template limits (item 4) and network (item 1): bad values refused
for bad in "--disk-limit mini=8M" "--memory-limit =1G" "--network mini=default" "--memory-limit mini=lots"; do
	out=$(start_fail badopt --listen 127.0.0.1:$(free_port) $bad)
	echo "e2bd $bad: $out"
	check "e2bd $bad is refused (exit 2)" grep -q '^exit 2: e2bd: ' <<< "$out"
done

# --- item 7: e2bd started under umask 077
umask 077
start_e2bd umask || fail "umask 077: e2bd starts" "$(tail -3 "$SEC_LOG")"
umask 022
E2BD_URL=$SEC_URL
id=$(new_sandbox '{"templateID":"base","timeout":120}') || { fail "umask 077: create sandbox" "$id"; done_testing; }
sb_run "$id" 'cd ~ && echo hi > f && cat f && stat -c "%a %U %n" / /home /home/user /tmp f && umask'
out=$SB_OUT
echo "as user under an e2bd started with umask 077: $out (exit $RC)"
expect_eq "umask 077: user enters and writes its home" "0 hi" "$RC $(head -1 <<< "$out")"
expect_eq "umask 077: modes of /, /home, /home/user, /tmp, a new file" \
	"755 root / 755 root /home 755 user /home/user 1777 root /tmp 644 user f 0022" "$(sed 1d <<< "$out" | tr '\n' ' ' | sed 's/ $//')"
sb_run "$id" 'ls /usr/bin | head -1 >/dev/null && ls /etc >/dev/null && cat /etc/hostname >/dev/null && echo readable'
expect_eq "umask 077: user reads the system files" readable "$SB_OUT"
done_testing
