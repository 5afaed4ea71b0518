#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sandbox metrics are the sandbox's own: GET /sandboxes/{id}/metrics,
# GET /sandboxes/metrics and envd's /metrics report the CPU and memory of
# the sandbox's processes (not zeros, not the host's), so a sandbox that
# burns a CPU and holds 200 MiB shows it and an idle one beside it does not.
. "$SRC_DIR/tests/lib.sh"

C=$E2BCTL_BIN
BUSY=$(new_sandbox '{"templateID":"base","timeout":120}') || { fail "create busy sandbox" "no sandbox"; done_testing; }
IDLE=$(new_sandbox '{"templateID":"base","timeout":120}') || { fail "create idle sandbox" "no sandbox"; done_testing; }
ok "two sandboxes"

# 200 MiB held in memory (touched) and one CPU kept busy, for 90 s at most
# (the sandboxes are killed at the end).
"$C" start "$BUSY" -- 'python3 -c "import time; b=bytearray(200<<20); time.sleep(90)"' > /dev/null
"$C" start "$BUSY" -- 'timeout 90 sh -c "while :; do :; done"' > /dev/null
metric() { # metric ID FIELD
	api GET "/sandboxes/$1/metrics" | json_get "d[-1][\"$2\"]"
}
# The first sample averages since the sandbox started; the next one covers
# the time between the two.
for _ in $(seq 50); do
	m=$(metric "$BUSY" memUsed)
	[ "${m:-0}" -gt $((150 << 20)) ] && break
	sleep 0.1
done
metric "$BUSY" cpuUsedPct > /dev/null
metric "$IDLE" cpuUsedPct > /dev/null
sleep 2
busy_mem=$(metric "$BUSY" memUsed); busy_cpu=$(metric "$BUSY" cpuUsedPct)
idle_mem=$(metric "$IDLE" memUsed); idle_cpu=$(metric "$IDLE" cpuUsedPct)
echo "# busy: memUsed $busy_mem cpuUsedPct $busy_cpu; idle: memUsed $idle_mem cpuUsedPct $idle_cpu"
check "busy sandbox: memUsed counts its 200 MiB" test "$busy_mem" -gt $((150 << 20))
check "idle sandbox: memUsed is its own (small, not zero, not the host's)" \
	test "$idle_mem" -gt 0 -a "$idle_mem" -lt $((100 << 20))
check "busy sandbox: cpuUsedPct above zero" python3 -c "import sys; sys.exit(0 if $busy_cpu > 0 else 1)"
check "busy sandbox uses more CPU than the idle one" python3 -c "import sys; sys.exit(0 if $busy_cpu > $idle_cpu else 1)"
many=$(api GET "/sandboxes/metrics?sandbox_ids=$BUSY,$IDLE")
check "metrics of many: per-sandbox figures" python3 -c '
import json, sys
d = json.loads(sys.argv[1])["sandboxes"]
assert d[sys.argv[2]]["memUsed"] > d[sys.argv[3]]["memUsed"], d' "$many" "$BUSY" "$IDLE"
envd_mem=$(envd "$BUSY" GET /metrics | json_get 'd["mem_used"]')
check "envd /metrics: mem_used is the sandbox's" test "${envd_mem:-0}" -gt $((150 << 20))

# Paused: its frozen processes still hold their memory but use no CPU.
api POST "/sandboxes/$BUSY/pause" > /dev/null
metric "$BUSY" cpuUsedPct > /dev/null
sleep 1
expect_eq "paused sandbox: cpuUsedPct 0" 0.0 "$(metric "$BUSY" cpuUsedPct)"
api DELETE "/sandboxes/$BUSY" > /dev/null
api DELETE "/sandboxes/$IDLE" > /dev/null
done_testing
