#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# issue 9 item 4 (disk): with --disk-limit a sandbox's files live in an
# ext4 image of that size on a loop device.  Writing past it fails with
# ENOSPC inside the sandbox, the host keeps its space, e2bd and another
# sandbox carry on, the files survive an e2bd restart, and kill leaves no
# image, mount or loop device behind.  The management API reports the
# sandbox's disk and memory (its limits), not the host's; a template may
# have limits of its own (--disk-limit NAME=SIZE, --memory-limit NAME=SIZE).
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/security/common.bash"

# json_ok EXPR COND: the JSON on stdin as d, v = EXPR; true if COND holds.
json_ok() { python3 -c "import json,sys; d=json.load(sys.stdin); v=($1); sys.exit(0 if ($2) else 1)"; }

# wait_until SECONDS CMD...: poll CMD every 0.2 s.
wait_until() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.2; done
}

# The suite's e2bd runs with the default limit, 10G.
d=$(new_sandbox '{"templateID":"base","timeout":60}') || { fail "create sandbox" "$d"; done_testing; }
sb_run "$d" "df -k --output=size /home/user | tail -1"
echo "a sandbox of the default e2bd: $SB_OUT KiB"
check "by default a sandbox has 10G of disk" test "${SB_OUT:-0}" -gt 9437184 -a "${SB_OUT:-0}" -le 10485760
api DELETE "/sandboxes/$d" > /dev/null

start_e2bd disk --disk-limit 64M || { fail "e2bd starts" "$(tail -3 "$SEC_LOG")"; done_testing; }
E2BD_URL=$SEC_URL
SD=$TEST_TMP/disk.state
a=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox A" "$a"; done_testing; }
b=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox B" "$b"; done_testing; }
if grep -q 'disk not limited' "$SEC_LOG"; then
	fail "disk limit set up" "$(grep -m1 'disk not limited' "$SEC_LOG" | sed 's/.*: sandbox/sandbox/')"
	done_testing
fi

sb_run "$a" "df -k --output=size /home/user | tail -1"
echo "A's /home/user: $SB_OUT KiB"
check "A sees a file system of about the limit" test "${SB_OUT:-0}" -gt 32768 -a "${SB_OUT:-0}" -le 65536

sb_run "$a" "dd if=/dev/zero of=/home/user/fill bs=1M count=128 2>&1 | grep -v records; echo exit=\${PIPESTATUS[0]}"
echo "128 MiB into A's home: $(tr '\n' ' ' <<< "$SB_OUT")"
check "past the limit the writer gets ENOSPC" grep -q 'No space left on device' <<< "$SB_OUT"
check "dd fails" sh -c "! grep -q 'exit=0' <<EOF
$SB_OUT
EOF"
sb_run "$a" "dd if=/dev/zero of=/usr/local/fill bs=1M count=16 2>&1 | grep -v records" root
echo "16 MiB into A's /usr (overlay upper) when full: $SB_OUT"
check "the overlay layers count too" grep -q 'No space left on device' <<< "$SB_OUT"
head -c 1048576 /dev/zero > "$TEST_TMP/up.bin"
envd "$a" POST "/files?path=/home/user/up.bin&username=user" "" "" -F "file=@$TEST_TMP/up.bin" > /dev/null
expect_eq "an upload to the full sandbox: 507, as envd" 507 "$ENVD_STATUS"
total=$(envd "$a" GET /metrics | json_get 'd["disk_total"]')
echo "envd /metrics disk_total of A: $total"
check "envd /metrics reports the image's size" test "${total:-0}" -gt 0 -a "${total:-0}" -le 67108864
info=$(api GET "/sandboxes/$a")
met=$(api GET "/sandboxes/$a/metrics")
echo "GET /sandboxes/A: diskSizeMB $(json_get 'd["diskSizeMB"]' <<< "$info") memoryMB $(json_get 'd["memoryMB"]' <<< "$info");" \
	"metrics: diskTotal $(json_get 'd[-1]["diskTotal"]' <<< "$met") diskUsed $(json_get 'd[-1]["diskUsed"]' <<< "$met")" \
	"memTotal $(json_get 'd[-1]["memTotal"]' <<< "$met")"
check "GET /sandboxes/A: diskSizeMB is the limit's (32-64), not the host's" \
	json_ok 'd["diskSizeMB"]' '32 < v <= 64' <<< "$info"
check "metrics of A: diskTotal is the image's, diskUsed the full image's" \
	json_ok 'd[-1]' '32 << 20 < v["diskTotal"] <= 64 << 20 and v["diskUsed"] > v["diskTotal"] * 0.9' <<< "$met"
check "metrics of A: memTotal is the memory limit (2G)" json_ok 'd[-1]["memTotal"]' 'v == 2 << 30' <<< "$met"
used=$(du -k "$SD/sandboxes/$a/disk.img" | cut -f1)
echo "host blocks of A's image: $used KiB"
check "the host's disk holds at most the limit" test "${used:-999999}" -le 65536
check "e2bd survives" kill -0 "$SEC_PID"
expect_eq "e2bd answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$SEC_URL/health")"

sb_run "$b" "dd if=/dev/zero of=/home/user/x bs=1M count=8 2>/dev/null && echo wrote"
expect_eq "another sandbox still writes" wrote "$SB_OUT"
sb_run "$a" "rm -f /home/user/fill /usr/local/fill; sync; dd if=/dev/zero of=/home/user/y bs=1M count=8 2>/dev/null && echo wrote" root
expect_eq "freed space is writable again" wrote "$SB_OUT"

# The image stays with the sandbox across an e2bd restart; a template with
# limits of its own (a root filesystem of bash alone).
TPL=$TEST_TMP/mini-rootfs
mini_rootfs "$TPL"
stop_e2bd "$SEC_PID"
start_e2bd disk --disk-limit 64M --template "mini=$TPL" --disk-limit mini=32M --memory-limit mini=96M ||
	{ fail "e2bd restarts" "$(tail -3 "$SEC_LOG")"; done_testing; }
E2BD_URL=$SEC_URL
m=$(new_sandbox '{"templateID":"mini","timeout":300}') || { fail "create a mini sandbox" "$m"; done_testing; }
info=$(api GET "/sandboxes/$m")
echo "template mini (--disk-limit mini=32M --memory-limit mini=96M): image $(stat -c %s "$SD/sandboxes/$m/disk.img") bytes," \
	"diskSizeMB $(json_get 'd["diskSizeMB"]' <<< "$info") memoryMB $(json_get 'd["memoryMB"]' <<< "$info")"
expect_eq "mini's image has its template's size" 33554432 "$(stat -c %s "$SD/sandboxes/$m/disk.img")"
check "GET /sandboxes/mini: diskSizeMB 16-32, memoryMB 96" \
	json_ok 'd' '16 < v["diskSizeMB"] <= 32 and v["memoryMB"] == 96' <<< "$info"
tpls=$(api GET /templates)
echo "GET /templates: $(json_get '[(t["templateID"], t["memoryMB"], t["diskSizeMB"]) for t in d]' <<< "$tpls")"
check "GET /templates: mini 96 MiB / 32 MiB, base 2048 MiB / 64 MiB" json_ok \
	'sorted((t["templateID"], t["memoryMB"], t["diskSizeMB"]) for t in d)' \
	'v == [("base", 2048, 64), ("mini", 96, 32)]' <<< "$tpls"
api POST "/sandboxes/$b/resume" '{"timeout":300}' > /dev/null
expect_eq "resume after restart" 201 "$API_STATUS"
sb_run "$b" "stat -c %s /home/user/x"
expect_eq "B's files after restart" 8388608 "$SB_OUT"
sb_run "$b" "df -k --output=size /home/user | tail -1"
check "B's limit after restart" test "${SB_OUT:-0}" -gt 32768 -a "${SB_OUT:-0}" -le 65536

api DELETE "/sandboxes/$a" > /dev/null
expect_eq "kill A: 204" 204 "$API_STATUS"
check "kill A: nothing left in the state dir" test ! -e "$SD/sandboxes/$a"
check "kill A: no mount left in e2bd" sh -c "! grep -q '$SD/sandboxes/$a' /proc/$SEC_PID/mountinfo"
check "kill A: no loop device left" wait_until 10 sh -c "! losetup -a | grep -q '$SD/sandboxes/$a/'"
sb_run "$b" "echo alive"
expect_eq "B runs after A's kill" alive "$SB_OUT"
done_testing
