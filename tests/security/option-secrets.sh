#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# issue 9 item 12: a key passed to e2bfs as an -o option, in whatever case or
# shape, is refused and never printed (libfuse echoes unknown options).
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

id=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/mnt
mkdir -p "$mnt"
secret=e2b_$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
for opt in "API_KEY=$secret" "Api_Key=$secret" "apikey=$secret" "access_token=$secret" \
	"X_ACCESS_TOKEN=$secret" "password=$secret" "$secret" "foo=$secret" "allow_other,bar=$secret,ro"; do
	out=$(timeout 30 "$E2BFS_BIN" -f -o "$opt" "$id" "$mnt" 2>&1)
	rc=$?
	grep -q " $(realpath "$mnt") fuse" /proc/mounts && { fusermount3 -u "$mnt"; rc=mounted; }
	shown=${opt//$secret/<key>}
	case $out in
	*"${secret:4}"*) fail "e2bfs -o '$shown' does not print the value" "exit $rc, printed: ${out//$secret/<key>}" ;;
	*) if [ "$rc" = 0 ] || [ "$rc" = mounted ]; then
		fail "e2bfs -o '$shown' is refused" "exit $rc: $out"
	   else
		ok "e2bfs -o '$shown' refused without the value (exit $rc: $(printf '%s' "$out" | head -1))"
	   fi ;;
	esac
done
done_testing
