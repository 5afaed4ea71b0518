#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bfs resumes a paused sandbox with the lifetime it had left, not a fresh
# 300 s: at mount time (attach) and when the mount finds it paused later.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

left_of() { # seconds until the sandbox's endAt
	api GET "/sandboxes/$1" | json_get 'int(__import__("datetime").datetime.fromisoformat(d["endAt"].replace("Z","+00:00")).timestamp() - __import__("time").time())'
}

id=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "$id"; done_testing; }
api POST "/sandboxes/$id/timeout" '{"timeout":3600}' > /dev/null
api POST "/sandboxes/$id/pause" > /dev/null
expect_eq "paused before the mount" paused "$(api GET "/sandboxes/$id" | json_get 'd["state"]')"
mnt=$TEST_TMP/resume-mnt
mount_check "mount resumes the paused sandbox" "$id" "$mnt"
left=$(left_of "$id")
check "mount-time resume keeps the hour ($left s left)" test "${left:-0}" -gt 3000

echo hello > "$mnt/before.txt" && echo sync > "$mnt/.e2bfs/ctl"
api POST "/sandboxes/$id/pause" > /dev/null
expect_eq "content after a pause (auto-resume)" hello "$(cat "$mnt/before.txt" 2>&1)"
# Whichever request found it paused resumed it; reading a new name surely asks.
ls "$mnt/no-such-$RANDOM" > /dev/null 2>&1
for _ in $(seq 50); do
	[ "$(api GET "/sandboxes/$id" | json_get 'd["state"]')" = running ] && break
	ls "$mnt/no-such-$RANDOM" > /dev/null 2>&1
	sleep 0.2
done
expect_eq "auto-resumed" running "$(api GET "/sandboxes/$id" | json_get 'd["state"]')"
left=$(left_of "$id")
check "auto-resume keeps the hour ($left s left)" test "${left:-0}" -gt 3000
fs_umount "$mnt"
done_testing
