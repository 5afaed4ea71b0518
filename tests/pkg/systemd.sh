#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The systemd units meson generates: systemd-analyze verify accepts them;
# e2bd.service keeps what sandbox isolation needs (every capability
# server/isolate/nsinit.c leaves sandbox root, CAP_SYS_ADMIN, CAP_NET_ADMIN, a
# delegated cgroup, no NoNewPrivileges) with its state dir and restart
# policy; e2bfs@.service's start and stop commands, run as systemd would
# run them for an instance, mount the sandbox and unmount it cleanly.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

units=$BUILD_DIR/packaging
sys=$units/e2bd.service user=$units/e2bfs@.service
[ -s "$sys" ] && [ -s "$user" ] || { fail "units generated" "no $sys or $user"; done_testing; }
bindir=$(sed -n 's|^ExecStart=\(/[^ ]*\)/e2bd .*|\1|p' "$sys")

# --- verify, with the ExecStart paths pointing at this build
if command -v systemd-analyze > /dev/null; then
	d=$TEST_TMP/units
	mkdir -p "$d" "$TEST_TMP/rt" && chmod 700 "$TEST_TMP/rt"
	sed "s|$bindir/e2bd|$E2BD_BIN|" "$sys" > "$d/e2bd.service"
	sed "s|$bindir/e2bfs|$E2BFS_BIN|" "$user" > "$d/e2bfs@.service"
	out=$(systemd-analyze verify --man=no "$d/e2bd.service" 2>&1)
	expect_eq "systemd-analyze verify e2bd.service" "" "$out"
	out=$(XDG_RUNTIME_DIR=$TEST_TMP/rt systemd-analyze --user verify --man=no "$d/e2bfs@some-id.service" 2>&1)
	expect_eq "systemd-analyze verify e2bfs@.service" "" "$out"
else
	fail "systemd-analyze installed" "run packaging/install-deps.sh"
fi

# --- e2bd.service: what nsbox needs, and no more than its own set
val() { sed -n "s/^$1=//p" "$sys" | tr -d '\\\n'; }
caps=$(sed -n '/^CapabilityBoundingSet=/,/^[^\t]/p' "$sys" | grep -oE 'CAP_[A-Z_]+' | sort -u)
keep=$(sed -n '/^static int drop_capabilities/,/^}/p' "$SRC_DIR/server/isolate/nsinit.c" | grep -oE 'CAP_[A-Z_]+' | sort -u)
[ -n "$keep" ] || fail "nsinit.c's kept capabilities found"
missing=$(comm -23 <(printf '%s\n' $keep CAP_SYS_ADMIN CAP_NET_ADMIN | sort -u) <(printf '%s\n' $caps))
expect_eq "the bounding set holds what sandboxes keep plus CAP_SYS_ADMIN, CAP_NET_ADMIN" "" "$missing"
extra=$(comm -13 <(printf '%s\n' $keep CAP_SYS_ADMIN CAP_NET_ADMIN CAP_SYS_RESOURCE | sort -u) <(printf '%s\n' $caps))
expect_eq "and nothing else (CAP_SYS_RESOURCE for e2bd's OOM score)" "" "$extra"
expect_eq "StateDirectory=e2bd" "e2bd" "$(val StateDirectory)"
expect_eq "Restart=on-failure" "on-failure" "$(val Restart)"
expect_eq "Delegate=yes (cgroup freezer)" "yes" "$(val Delegate)"
grep -q '^NoNewPrivileges=yes' "$sys" && fail "no NoNewPrivileges (sudo in sandboxes)" || ok "no NoNewPrivileges (sudo in sandboxes)"
for bad in PrivateDevices=yes ProtectControlGroups=yes ProtectKernelTunables=yes MemoryDenyWriteExecute=yes; do
	grep -q "^$bad" "$sys" && { fail "no $bad (sandboxes need it off)"; unit_bad=1; }
done
[ -z "${unit_bad:-}" ] && ok "no setting that breaks sandboxes"

# --- e2bfs@.service: run its commands as systemd would for instance ID
id=$(new_sandbox) || { fail "create sandbox" "$id"; done_testing; }
api POST "/sandboxes/$id/timeout" '{"timeout":300}' > /dev/null
ctl() { "$E2BCTL_BIN" --api-url "$E2BD_URL" --sandbox-url "$E2BD_URL" "$@"; }
ctl run "$id" 'echo from the unit > /home/user/unit.txt' > /dev/null
home=$TEST_TMP/home
mkdir -p "$home/.config/e2bfs"
# The per-instance env file, as a user would write it.
printf 'E2BFS_OPTIONS=-o cache_dir=%s/cache\nE2B_API_URL=%s\nE2B_SANDBOX_URL=%s\n' \
	"$TEST_TMP" "$E2BD_URL" "$E2BD_URL" > "$home/.config/e2bfs/$id.env"
# unit_cmd KEY: the command line of KEY= with %i, %h, %E and the
# environment expanded (${VAR} one word, $VAR split), as systemd does.
unit_cmd() {
	sed -n "s/^$1=//p" "$user" | head -n 1 | sed "s|^-||; s|%i|$id|g; s|%h|$home|g; s|%E|$home/.config|g; s|$bindir/e2bfs|$E2BFS_BIN|"
}
(
	E2BFS_MOUNTPOINT=$home/e2b/$id E2BFS_PATH= E2BFS_OPTIONS=
	while IFS='=' read -r k v; do export "$k=$v"; done < "$home/.config/e2bfs/$id.env"
	export E2BFS_MOUNTPOINT E2BFS_PATH HOME=$home
	expand() { # ${VAR} stays one word, $VAR splits
		local w out=()
		for w in $1; do
			case $w in
			*'${'*) w=${w//'${E2BFS_MOUNTPOINT}'/$E2BFS_MOUNTPOINT}; w=${w//'${E2BFS_PATH}'/$E2BFS_PATH}; out+=("$w") ;;
			'$E2BFS_OPTIONS') out+=($E2BFS_OPTIONS) ;;
			*) out+=("$w") ;;
			esac
		done
		printf '%s\n' "${out[@]}"
	}
	mapfile -t pre < <(expand "$(unit_cmd ExecStartPre)")
	mapfile -t start < <(expand "$(unit_cmd ExecStart)")
	mapfile -t stop < <(expand "$(unit_cmd ExecStop)")
	"${pre[@]}" || echo "pre failed"
	E2B_API_KEY=$E2B_API_KEY "${start[@]}" > "$TEST_TMP/unit.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do grep -q " $E2BFS_MOUNTPOINT fuse.e2bfs" /proc/mounts && break; sleep 0.1; done
	printf 'mounted=%s\n' "$(awk -v m="$E2BFS_MOUNTPOINT" '$2 == m { print $3 }' /proc/mounts)"
	printf 'content=%s\n' "$(cat "$E2BFS_MOUNTPOINT/unit.txt" 2>&1)"
	"${stop[@]}" 2>&1 && echo "stop ok"
	for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	kill -0 $pid 2>/dev/null && { echo "e2bfs still runs"; kill $pid; }
	wait $pid; echo "e2bfs exit=$?"
	grep -q " $E2BFS_MOUNTPOINT fuse" /proc/mounts && echo "still mounted"
) > "$TEST_TMP/unit.out" 2>&1
out=$(cat "$TEST_TMP/unit.out")
[[ $out == *"mounted=fuse.e2bfs"* ]] && ok "e2bfs@ID mounts the sandbox at ~/e2b/ID" || fail "e2bfs@ID mounts the sandbox at ~/e2b/ID" "$out $(tail -3 "$TEST_TMP/unit.log")"
[[ $out == *"content=from the unit"* ]] && ok "a file reads through the unit's mount" || fail "a file reads through the unit's mount" "$out"
[[ $out == *"stop ok"* && $out == *"e2bfs exit=0"* && $out != *"still mounted"* ]] &&
	ok "stopping the unit unmounts cleanly (fusermount3 -u, e2bfs exits 0)" || fail "stopping the unit unmounts cleanly" "$out"
done_testing
