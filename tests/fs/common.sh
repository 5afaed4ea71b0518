# SPDX-License-Identifier: MIT
# Shared setup for tests/fs/*.sh: source after tests/lib.sh.  Provides
# fs_mount ID[:PATH] DIR [OPTS] (waits until mounted), fs_umount DIR, and
# unmounts everything it mounted on exit.  Without /dev/fuse the script
# skips (exit 77), except under CI=true where that is a failure.

_fs_mounts=()

fs_require() {
	if [ ! -e /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
		if [ "${CI:-}" = true ]; then
			fail "fuse available" "/dev/fuse or fusermount3 missing under CI"
			exit 1
		fi
		skip "fuse available" "/dev/fuse or fusermount3 missing"
		exit 77
	fi
	if [ ! -x "${E2BFS_BIN:-}" ]; then
		fail "e2bfs built" "no executable at '${E2BFS_BIN:-}'"
		exit 1
	fi
}

# fs_mount SPEC DIR [EXTRA ARGS...]
fs_mount() {
	local spec=$1 dir=$2 i
	shift 2
	mkdir -p "$dir"
	# Foreground in the background, so its stderr lands in the log.
	"$E2BFS_BIN" -f -o "cache_dir=$TEST_TMP/cache" "$@" "$spec" "$dir" >>"$TEST_TMP/e2bfs.log" 2>&1 &
	FS_PID=$!
	_fs_mounts+=("$dir")
	for i in $(seq 100); do
		grep -q " $(realpath "$dir") fuse.e2bfs " /proc/mounts && return 0
		kill -0 "$FS_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# mount_check NAME SPEC DIR [ARGS...]: fs_mount in this shell (keeps FS_PID).
mount_check() {
	local name=$1
	shift
	if fs_mount "$@"; then ok "$name"; else fail "$name" "$(tail -n 2 "$TEST_TMP/e2bfs.log" | tr '\n' ' ')"; fi
}

# fs_umount DIR: unmount and wait for the daemon (it uploads leftovers).
fs_umount() {
	local i
	for i in $(seq 50); do
		if fusermount3 -u "$1" 2>/dev/null; then
			[ -n "${FS_PID:-}" ] && for i in $(seq 100); do
				kill -0 "$FS_PID" 2>/dev/null || break
				sleep 0.1
			done
			return 0
		fi
		sleep 0.2
	done
	fusermount3 -uz "$1" 2>/dev/null
	return 1
}

_fs_cleanup() {
	local m
	cd / || true
	for m in "${_fs_mounts[@]}"; do
		grep -q " $(realpath "$m" 2>/dev/null) " /proc/mounts 2>/dev/null && fs_umount "$m"
	done
	if [ -s "$TEST_TMP/e2bfs.log" ] && grep -qiE 'sanitizer|runtime error|assert' "$TEST_TMP/e2bfs.log"; then
		echo "e2bfs stderr:"; cat "$TEST_TMP/e2bfs.log"
		printf 'not ok - e2bfs stderr clean: sanitizer or assertion output\n'
	fi
	_lib_cleanup
}
trap '_fs_cleanup' EXIT
