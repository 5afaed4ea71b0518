#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `e2bctl run . -- CMD` inside a mount takes the sandbox's connection
# details from the mount's .e2bfs/connection instead of the management API;
# that file holds the envd access token, so it is the mount owner's alone
# (mode 0400, EACCES for anyone else) and the token is never logged.
. "$SRC_DIR/tests/tools/cli-lib.sh"
cli_require_fuse

id=$(new_sandbox '{"templateID":"base","timeout":600,"secure":true}') || { fail "create sandbox" "$id"; done_testing; }
token=$(sandbox_token "$id")
[ -n "$token" ] && ok "a secure sandbox has an envd token" || fail "a secure sandbox has an envd token"
mnt=$TEST_TMP/run-mnt
mkdir -p "$mnt"
trap 'cd /; fusermount3 -uz "$mnt" 2>/dev/null; _lib_cleanup' EXIT
# Foreground in the background: e2bfs's log is ours to read.
"$E2BFS_BIN" -f -o "cache_dir=$TEST_TMP/cache" "$id" "$mnt" > "$TEST_TMP/e2bfs.log" 2>&1 &
for _ in $(seq 100); do
	grep -q " $(realpath "$mnt") fuse.e2bfs " /proc/mounts && break
	sleep 0.1
done
conn=$mnt/.e2bfs/connection
expect_eq "connection: mode 0400, the owner's" "400 $(id -u)" "$(stat -c '%a %u' "$conn" 2>&1)"
check "connection listed in .e2bfs" sh -c "ls '$mnt/.e2bfs' | grep -qx connection"
expect_eq "connection: sandbox, API and token" "$id $E2BD_URL True" \
	"$(json_get 'd["sandboxID"] + " " + d["apiUrl"] + " " + str(d["envdAccessToken"] == "'"$token"'")' < "$conn" 2>&1)"
expect_eq "connection: the vocabulary's names, null for absent" \
	"sandboxID apiUrl templateID envdVersion domain envdAccessToken trafficAccessToken None" \
	"$(json_get '" ".join(d) + " " + str(d["trafficAccessToken"])' < "$conn" 2>&1)"
check "connection cannot be written" sh -c "! echo x > '$conn' 2>/dev/null"
# As another user (the suite runs as root, as FUSE mounts need here).
chmod 755 "$TEST_TMP" "$mnt" 2>/dev/null
check "another user can run cat (the control)" setpriv --reuid=65534 --regid=65534 --clear-groups cat /etc/passwd
check "another user cannot read the token" sh -c \
	"! setpriv --reuid=65534 --regid=65534 --clear-groups cat '$conn' >/dev/null 2>&1"

cd "$mnt" || fail "cd into the mount"
rc "$C" -v run . -- sh -c 'echo "$PWD ran"'
expect_eq "run . works with the token from the mount" "0 /home/user ran" "$RC $OUT"
api_calls=$(grep -c " /sandboxes" <<<"$ERR")
expect_eq "run . made no management API call" "0" "$api_calls"
check "run . talked to envd" grep -q "process.Process/Start" <<<"$ERR"
rc "$C" -v run "$id" -- true
check "run ID still asks the API first (cache empty)" grep -q "GET .*/sandboxes/$id " <<<"$ERR"
# A connection file for another API is not used: the API is asked.
rc env E2BCTL_NO_CACHE=1 "$C" -v --api-url "http://localhost:$E2BD_PORT" run . -- true
check "another API URL: the management API is asked" grep -q "GET .*/sandboxes/$id " <<<"$ERR"
cd /

check "the token is not in e2bfs's log" sh -c "! grep -qF '$token' '$TEST_TMP/e2bfs.log'"
fusermount3 -u "$mnt"
done_testing
