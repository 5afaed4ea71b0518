#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# issue 9 item 4 on cgroup v2, the usual host: a sandbox's group lives in
# the unified hierarchy, holds every process of the sandbox, freezes it on
# pause (cgroup.freeze) and goes away with it.  This machine is a hybrid
# (v1 controllers, cgroup2 at /sys/fs/cgroup/unified); E2BD_FREEZER=v2 makes
# e2bd take its v2 path there.  Memory and pids delegation on v2 (which a
# hybrid cannot show: its controllers are bound to v1) is pinned by the unit
# test tests/unit/server/test_cgroup.c on a fake tree.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/security/common.bash"

v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
echo "cgroup2 mounted at: ${v2:-nowhere}; this process: $(grep '^0::' /proc/self/cgroup)"
if [ -z "$v2" ] || [ "$(id -u)" != 0 ]; then
	fail "a cgroup2 hierarchy and root" "none here: run on a v2 or hybrid host as root"
	done_testing
fi
E2BD_FREEZER=v2 start_e2bd v2 || { fail "e2bd starts" "$(tail -3 "$SEC_LOG")"; done_testing; }
E2BD_URL=$SEC_URL
echo "e2bd says: $(grep -o 'sandbox isolation:.*' "$SEC_LOG")"
check "e2bd pauses with the cgroup v2 freezer" grep -q 'freezer cgroup v2' "$SEC_LOG"
own=$(sed -n 's/^0:://p' "/proc/$SEC_PID/cgroup")
id=$(new_sandbox '{"templateID":"base","timeout":120}') || { fail "create sandbox" "$id"; done_testing; }
sb_run "$id" 'sleep 300 > /dev/null 2>&1 & echo $!'
# The sandbox's group, wherever e2bd's own group is.
grp=$(find "$v2" -maxdepth 10 -type d -path "*/e2bd/$id" 2>/dev/null | head -1)
echo "e2bd's own v2 group: $own; the sandbox's: ${grp:-none}"
check "the sandbox has a group under e2bd's, in the unified hierarchy" test -n "$grp"
[ -n "$grp" ] || done_testing
pids=$(tr '\n' ' ' < "$grp/cgroup.procs")
echo "processes in it: $pids"
init=$(awk '{ print $1; exit }' "$grp/cgroup.procs")
check "its init and the sandbox's processes are in it" test "$(wc -w <<< "$pids")" -ge 2
check "... the sleep among them" grep -q 'sleep 300' <(for p in $pids; do tr '\0' ' ' < "/proc/$p/cmdline"; echo; done)
# Where v2 has the memory controller (a real v2 host), the limit is there.
if [ -e "$grp/memory.max" ]; then
	expect_eq "memory.max is --memory-limit's default (2G)" 2147483648 "$(cat "$grp/memory.max")"
	expect_eq "memory.swap.max is 0" 0 "$(cat "$grp/memory.swap.max" 2>/dev/null)"
else
	echo "no memory.max in the sandbox's v2 group: controllers in v2 here: '$(cat "$v2/cgroup.controllers")'" \
		"(memory is bound to v1 on this hybrid; the memory limit is the v1 group's)"
fi
api POST "/sandboxes/$id/pause" > /dev/null
expect_eq "pause: 204" 204 "$API_STATUS"
echo "after pause: cgroup.freeze $(cat "$grp/cgroup.freeze"), events: $(tr '\n' ' ' < "$grp/cgroup.events")," \
	"init state: $(awk '/^State/ { print $2 }' "/proc/$init/status")"
expect_eq "pause writes cgroup.freeze" 1 "$(cat "$grp/cgroup.freeze")"
check "the group reports frozen" grep -q 'frozen 1' "$grp/cgroup.events"
api POST "/sandboxes/$id/resume" '{"timeout":120}' > /dev/null
expect_eq "resume: 201" 201 "$API_STATUS"
expect_eq "resume thaws the group" 0 "$(cat "$grp/cgroup.freeze")"
sb_run "$id" 'echo alive'
expect_eq "the sandbox runs after resume" alive "$SB_OUT"
api DELETE "/sandboxes/$id" > /dev/null
expect_eq "kill: 204" 204 "$API_STATUS"
check "kill removes the sandbox's group" test ! -d "$grp"
done_testing
