#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# issue 9 item 4 (memory): past --memory-limit a sandbox's process is
# OOM-killed in the sandbox's own cgroup; e2bd and the host carry on, and
# the sandbox still runs what fits.  Its metrics count what its memory
# cgroup holds (issue 10 item 10), a tmpfs file no process maps included,
# against its limit as memTotal.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/security/common.bash"

start_e2bd lim --memory-limit 64M || { fail "e2bd starts" "$(tail -3 "$SEC_LOG")"; done_testing; }
E2BD_URL=$SEC_URL
id=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "$id"; done_testing; }
if grep -q 'memory not limited' "$SEC_LOG"; then
	skip "memory limit" "$(grep -m1 'memory not limited' "$SEC_LOG" | sed 's/.*: sandbox/sandbox/')"
	done_testing
fi
hog='import sys; b = b"x" * (int(sys.argv[1]) << 20); print("allocated", len(b) >> 20, "MiB")'
sb_run "$id" "python3 -c '$hog' 256; echo exit=\$?"
echo "256 MiB in a sandbox limited to 64 MiB: $(tr '\n' ' ' <<< "$SB_OUT") (process exit $RC)"
check "the hog is killed, not served" sh -c "! grep -q '^allocated' <<EOF
$SB_OUT
EOF"
expect_eq "killed by SIGKILL (the OOM killer)" "exit=137" "$(grep -o 'exit=[0-9]*' <<< "$SB_OUT")"
check "e2bd survives" kill -0 "$SEC_PID"
sb_run "$id" "python3 -c '$hog' 16"
expect_eq "what fits still runs" "allocated 16 MiB" "$SB_OUT"
api GET "/sandboxes/$id" > /dev/null
expect_eq "the sandbox is still running" 200 "$API_STATUS"
before=$(api GET "/sandboxes/$id/metrics" | json_get 'd[-1]["memUsed"]')
sb_run "$id" 'head -c 40M /dev/zero > /dev/shm/held && echo held'
met=$(api GET "/sandboxes/$id/metrics")
after=$(json_get 'd[-1]["memUsed"]' <<< "$met")
echo "memUsed before and after 40 MiB into /dev/shm (tmpfs, no process holds it): $before -> $after;" \
	"memTotal $(json_get 'd[-1]["memTotal"]' <<< "$met")"
check "memUsed counts the sandbox's tmpfs (its cgroup's count: 40 MiB at least)" test "$after" -ge $((40 << 20))
expect_eq "memTotal is the sandbox's limit" $((64 << 20)) "$(json_get 'd[-1]["memTotal"]' <<< "$met")"
done_testing
