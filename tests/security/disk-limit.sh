#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# issue 9 item 4 (disk): with --disk-limit a sandbox's files live in an
# ext4 image of that size on a loop device.  Writing past it fails with
# ENOSPC inside the sandbox, the host keeps its space, e2bd and another
# sandbox carry on, the files survive an e2bd restart, and kill leaves no
# image, mount or loop device behind.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/security/common.bash"

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
used=$(du -k "$SD/sandboxes/$a/disk.img" | cut -f1)
echo "host blocks of A's image: $used KiB"
check "the host's disk holds at most the limit" test "${used:-999999}" -le 65536
check "e2bd survives" kill -0 "$SEC_PID"
expect_eq "e2bd answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$SEC_URL/health")"

sb_run "$b" "dd if=/dev/zero of=/home/user/x bs=1M count=8 2>/dev/null && echo wrote"
expect_eq "another sandbox still writes" wrote "$SB_OUT"
sb_run "$a" "rm -f /home/user/fill /usr/local/fill; sync; dd if=/dev/zero of=/home/user/y bs=1M count=8 2>/dev/null && echo wrote" root
expect_eq "freed space is writable again" wrote "$SB_OUT"

# The image stays with the sandbox across an e2bd restart.
stop_e2bd "$SEC_PID"
start_e2bd disk --disk-limit 64M || { fail "e2bd restarts" "$(tail -3 "$SEC_LOG")"; done_testing; }
E2BD_URL=$SEC_URL
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
