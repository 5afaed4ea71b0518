#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An e2bfs mount that exists when another e2bd starts must still end when the
# user unmounts it: e2bd's private mount namespace must not keep a copy of it.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox) || { fail "create sandbox"; done_testing; }
mnt=$TEST_TMP/inherited-mnt
mount_check "mount" "$id" "$mnt"
pid=$FS_PID

port=$(free_port)
"$E2BD_BIN" --listen "127.0.0.1:$port" --state-dir "$TEST_TMP/inherited-state" \
	--api-key-file <(printf '%s\n' "$E2B_API_KEY") --log-level warn 2> "$TEST_TMP/inherited-e2bd.log" &
e2bd2=$!
up=0
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/health" && { up=1; break; }; sleep 0.1; done
expect_eq "second e2bd up" 1 "$up"

check "unmount" fusermount3 -u "$mnt"
gone=0
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || { gone=1; break; }; sleep 0.1; done
expect_eq "e2bfs exits after unmount while another e2bd runs" 1 "$gone"
[ $gone = 1 ] || kill "$pid" 2>/dev/null

kill "$e2bd2" 2>/dev/null; wait "$e2bd2" 2>/dev/null
if grep -qE 'Sanitizer|runtime error' "$TEST_TMP/inherited-e2bd.log"; then
	fail "second e2bd log clean" "$(head -5 "$TEST_TMP/inherited-e2bd.log")"
fi
done_testing
