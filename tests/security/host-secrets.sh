#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# issue 9 item 3: the built-in template overlays the host's /etc, but a
# sandbox reads no host secret there: not the password hashes (shadow,
# gshadow), SSH host keys, sudoers, e2bd's key file, a client's key in
# /etc/e2b, nor the host's /root and /home; neither root in the sandbox nor GET /files as root.  Also
# item 6: /proc and /sys masked as Docker does, /sys the sandbox's own
# sysfs, /proc/mounts and (with a disk image) /proc/self/mountinfo without
# the state dir's path.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/security/common.bash"

if [ "$(id -u)" != 0 ]; then
	skip "host secrets" "needs root (e2bd as root reads the host's secrets)"
	done_testing
fi
# e2bd's key file in /etc (as a user's fstab example might put it), and
# canaries in the host's /root and /home.
keyf=$(mktemp /etc/e2bd-sec-key.XXXXXX)
printf '%s\n' "$E2B_API_KEY" > "$keyf"
canr=$(mktemp /root/e2bd-sec-canary.XXXXXX)
mkdir -p /home && canh=$(mktemp /home/e2bd-sec-canary.XXXXXX)
# A client key where an E2B client's profile may keep it (/etc/e2b).
e2bdir=
[ -e /etc/e2b ] || { mkdir -m 700 /etc/e2b && e2bdir=/etc/e2b; }
clientkey=$(mktemp /etc/e2b/sec-client-key.XXXXXX)
printf 'e2b_client_%s\n' "$RANDOM$RANDOM" > "$clientkey"
trap 'rm -f "$keyf" "$canr" "$canh" "$clientkey"; [ -n "$e2bdir" ] && rmdir "$e2bdir"; _sec_cleanup' EXIT
cp "$keyf" "$TEST_TMP/sec.key"
start_e2bd sec || { fail "e2bd starts" "$(tail -3 "$SEC_LOG")"; done_testing; }
stop_e2bd "$SEC_PID"
# Same e2bd, but with the key file in /etc.
SEC_PORT=$(free_port)
SEC_URL=http://127.0.0.1:$SEC_PORT
"$E2BD_BIN" --listen "127.0.0.1:$SEC_PORT" --state-dir "$TEST_TMP/sec.state" --api-key-file "$keyf" \
	> "$SEC_LOG" 2>&1 &
SEC_PID=$!
_sec_pids+=("$SEC_PID")
for _ in $(seq 100); do curl -fs -o /dev/null "$SEC_URL/health" && break; sleep 0.1; done
E2BD_URL=$SEC_URL
id=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "$id"; done_testing; }

# host_secrets: the host's secret files that exist here.
secrets=()
for f in /etc/shadow /etc/gshadow /etc/shadow- /etc/gshadow- /etc/sudoers /etc/ssh/ssh_host_*key \
	/etc/ssl/private/* /etc/sudoers.d/* "$keyf" "$clientkey"; do
	[ -f "$f" ] && secrets+=("$f")
done
echo "host secret files here: ${secrets[*]}"
hashes=$(awk -F: 'length($2) > 2 { print $2 }' /etc/shadow /etc/gshadow 2>/dev/null)
for f in "${secrets[@]}"; do
	host_sum=$(sha256sum < "$f")
	sb_run "$id" "cat '$f' 2>&1 | sha256sum; cat '$f' 2>&1 | head -c 200" root
	sb_sum=$(head -1 <<< "$SB_OUT")
	if [ "$sb_sum" = "$host_sum" ]; then
		fail "root in the sandbox cannot read the host's $f" "read it: $(sed 1d <<< "$SB_OUT" | head -2 | tr '\n' ' ')"
	else
		ok "root in the sandbox cannot read the host's $f (got: $(sed 1d <<< "$SB_OUT" | head -1 | cut -c1-60))"
	fi
	envd "$id" GET "/files?path=$f" "" "" -H "Authorization: Basic $(printf 'root:' | base64)" > "$TEST_TMP/body"
	if [ "$ENVD_STATUS" = 200 ] && [ "$(sha256sum < "$TEST_TMP/body")" = "$host_sum" ]; then
		fail "GET /files?path=$f as root does not serve the host's file" "200 with the host's content"
	else
		ok "GET /files?path=$f as root does not serve the host's file ($ENVD_STATUS)"
	fi
done
sb_run "$id" 'cat /etc/shadow /etc/gshadow 2>/dev/null' root
leaked=0
for h in $hashes; do grep -qF "$h" <<< "$SB_OUT" && leaked=$((leaked + 1)); done
expect_eq "no host password hash in the sandbox's shadow files ($(wc -w <<< "$hashes") on the host)" 0 "$leaked"
expect_eq "the sandbox's shadow keeps the accounts" yes "$(grep -q '^root:' <<< "$SB_OUT" && echo yes)"
sb_run "$id" "ls -a /root /home; test -e '$canr' && echo host-root-visible; test -e '$canh' && echo host-home-visible; test -e '$TEST_TMP' && echo state-visible" root
check "host /root, /home and the state dir are not visible" sh -c "! grep -q visible <<EOF
$SB_OUT
EOF"
# The sandbox still works as root and as user; sudo, if any, still works.
sb_run "$id" 'id -un; command -v sudo >/dev/null && sudo -n true && echo sudo-ok || echo no-sudo'
expect_eq "user still works (sudo if installed)" "user" "$(head -1 <<< "$SB_OUT")"
grep -q sudo-ok <<< "$SB_OUT" || [ "$(sed -n 2p <<< "$SB_OUT")" = no-sudo ] || fail "sudo -n works for user" "$SB_OUT"
# What the sandbox writes in those places is its own and stays.
sb_run "$id" 'echo mine > /etc/ssh/ssh_host_rsa_key && cat /etc/ssh/ssh_host_rsa_key' root
expect_eq "the sandbox can make its own host key" mine "$SB_OUT"
api POST "/sandboxes/$id/pause" > /dev/null
api POST "/sandboxes/$id/resume" '{"timeout":300}' > /dev/null
sb_run "$id" 'cat /etc/ssh/ssh_host_rsa_key' root
expect_eq "... and it survives pause and resume" mine "$SB_OUT"

# --- item 6: /proc and /sys
sb_run "$id" 'for f in /proc/keys /proc/timer_list /proc/kcore /proc/sched_debug /proc/interrupts; do [ -e $f ] && printf "%s %s\n" $f "$(head -c 4096 $f 2>/dev/null | wc -c)"; done' root
echo "masked /proc files as root (bytes read): $(tr '\n' ' ' <<< "$SB_OUT")"
expect_eq "/proc/keys, timer_list, ... read nothing" "" "$(awk '$2 != 0' <<< "$SB_OUT")"
for w in /proc/irq/default_smp_affinity /proc/sys/kernel/hostname /proc/sysrq-trigger /sys/kernel/uevent_helper; do
	sb_run "$id" "[ -e $w ] || { echo absent; exit 0; }; cp $w /tmp/before 2>/dev/null; echo x > $w && echo WROTE" root
	if grep -q WROTE <<< "$SB_OUT"; then fail "root cannot write $w" "$SB_OUT"; else ok "root cannot write $w ($(tail -1 <<< "$SB_OUT" | sed 's/.*: //'))"; fi
done
sb_run "$id" 'ls /proc/bus /sys/firmware 2>&1 | head -3; touch /proc/bus/x /sys/x 2>&1 | head -2' root
echo "/proc/bus, /sys/firmware as root: $(tr '\n' ' ' <<< "$SB_OUT")"
sb_run "$id" 'ls -A /sys/firmware | wc -l' root
expect_eq "/sys/firmware is empty" 0 "$SB_OUT"
# The sandbox's own sysfs: its network devices, not the host's.
sb_run "$id" 'echo $(ls /sys/class/net); echo $(awk -F: "NR > 2 { print \$1 }" /proc/net/dev | tr -d " " | sort)' root
echo "/sys/class/net in the sandbox: $(head -1 <<< "$SB_OUT"); its own links: $(sed -n 2p <<< "$SB_OUT"); host's: $(echo $(ls /sys/class/net))"
expect_eq "/sys is the sandbox's own sysfs (its network namespace's devices)" "$(sed -n 2p <<< "$SB_OUT")" "$(head -1 <<< "$SB_OUT")"
sb_run "$id" 'cat /proc/mounts' root
if grep -qF "$TEST_TMP" <<< "$SB_OUT"; then
	fail "/proc/mounts does not show the state dir" "$(grep -F "$TEST_TMP" <<< "$SB_OUT" | head -2)"
else
	ok "/proc/mounts does not show the state dir"
fi
# With the disk image (default --disk-limit) the root's mount is the image's
# file system: mountinfo names a path in the image, not the state dir.
sb_run "$id" 'cat /proc/self/mountinfo' root
echo "the sandbox's / in its mountinfo: $(awk '$5 == "/"' <<< "$SB_OUT")"
if grep -qF "$TEST_TMP" <<< "$SB_OUT"; then
	fail "/proc/self/mountinfo does not show the state dir" "$(grep -F "$TEST_TMP" <<< "$SB_OUT" | head -2)"
else
	ok "/proc/self/mountinfo does not show the state dir"
fi

# --- a state dir in a directory sandboxes see is refused
sd=/etc/e2bd-sec-state.$$
timeout 10 "$E2BD_BIN" --listen "127.0.0.1:$(free_port)" --state-dir "$sd" --api-key-file "$TEST_TMP/sec.key" \
	> "$TEST_TMP/etcstate.out" 2>&1
rc=$?
rm -rf "$sd"
echo "--state-dir $sd: exit $rc: $(head -2 "$TEST_TMP/etcstate.out")"
check "a state dir under /etc is refused" grep -q 'sandboxes see' "$TEST_TMP/etcstate.out"
done_testing
