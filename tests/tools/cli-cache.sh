#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl cache prune: the e2bfs cache of a sandbox that is gone is removed,
# one that still exists or is mounted is kept, and a gone sandbox's unsent
# files (".dirty" sidecars) are moved to CACHE/orphaned/ID, never deleted.
. "$SRC_DIR/tests/tools/cli-lib.sh"

CD=$TEST_TMP/cache
alive=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "$alive"; done_testing; }
gone=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "$gone"; done_testing; }
gone2=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "$gone2"; done_testing; }
api DELETE "/sandboxes/$gone" > /dev/null
api DELETE "/sandboxes/$gone2" > /dev/null
# Caches as e2bfs leaves them: content files, and for gone2 an unsent file.
for id in "$alive" "$gone" "$gone2"; do
	mkdir -p "$CD/$id"
	echo data > "$CD/$id/c0001"
done
echo unsent > "$CD/$gone2/c0002"
echo /home/user/unsent.txt > "$CD/$gone2/c0002.dirty"

rc ctl native cache prune --cache-dir "$CD" --dry-run
[[ $RC == 0 && $OUT == *"would be removed $gone"* ]] && ok "dry run says what it would do" || fail "dry run" "rc $RC: $OUT $ERR"
check "dry run removes nothing" test -d "$CD/$gone"

rc ctl native --json cache prune --cache-dir "$CD"
expect_eq "prune: exit 0" 0 "$RC"
expect_eq "prune: actions per sandbox" "kept removed orphaned" \
	"$(printf '%s' "$OUT" | jq_py '" ".join({e["sandboxID"]: e["action"] for e in d}[k] for k in ["'"$alive"'", "'"$gone"'", "'"$gone2"'"])' 2>&1)"
check "the live sandbox's cache is kept" test -f "$CD/$alive/c0001"
check "the gone sandbox's cache is removed" test ! -e "$CD/$gone"
check "unsent files of a gone sandbox are kept under orphaned/" test -f "$CD/orphaned/$gone2/c0002" -a -f "$CD/orphaned/$gone2/c0002.dirty"
check "and no longer where a mount would look" test ! -e "$CD/$gone2"

rc ctl native cache prune --cache-dir "$TEST_TMP/no-such-cache"
expect_eq "no cache yet: nothing to do" "0 " "$RC $OUT"
rc ctl native cache frobnicate
expect_rc "unknown cache command" 2 "unknown cache command 'frobnicate'"
done_testing
