#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sandboxes are isolated: a process in one sandbox cannot see another
# sandbox's files, the host's /root, /tmp, /home or e2bd's state dir;
# `..` and symlinks do not escape (processes and /files alike); each
# sandbox has its own PID and UTS namespace; processes run as `user`
# (uid 1000) unless Basic auth asks for root; root inside is not
# all-powerful; the host's own files are untouched.
. "$SRC_DIR/tests/lib.sh"

HOST_PASSWD=$(sha256sum /etc/passwd /etc/group)
A=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox A" "no sandbox"; done_testing; }
B=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox B" "no sandbox"; done_testing; }

# run ID CMD [USER]: run `bash -l -c CMD` in sandbox ID; prints its stdout
# (stderr appended), sets RC to its exit code.
RC=
run() {
	local id=$1 cmd=$2 user=${3:-} f auth=()
	f=$(mktemp "$TEST_TMP/env.XXXXXX")
	python3 - "$f" "$cmd" <<'EOF'
import json, sys
p = json.dumps({"process": {"cmd": "/bin/bash", "args": ["-l", "-c", sys.argv[2]]}, "stdin": False}).encode()
open(sys.argv[1], "wb").write(b"\0" + len(p).to_bytes(4, "big") + p)
EOF
	[ -n "$user" ] && auth=(-H "Authorization: Basic $(printf '%s:' "$user" | base64 -w0)")
	curl -sS -N -X POST -H "E2b-Sandbox-Id: $id" -H 'Content-Type: application/connect+json' \
		"${auth[@]}" --data-binary @"$f" "$E2BD_URL/process.Process/Start" > "$f.out"
	python3 - "$f.out" > "$f.txt" <<'EOF'
import sys, json, base64
d = open(sys.argv[1], "rb").read(); i = 0; out = b""; rc = "none"
while i + 5 <= len(d):
    fl = d[i]; n = int.from_bytes(d[i+1:i+5], "big"); j = json.loads(d[i+5:i+5+n]); i += 5 + n
    ev = j.get("event", {})
    if "data" in ev:
        for v in ev["data"].values(): out += base64.b64decode(v)
    if "end" in ev: rc = ev["end"].get("exitCode", 0)
    if fl & 2 and "error" in j: rc = "error:" + j["error"]["message"]
sys.stdout.write(out.decode("latin-1") + "\n" + str(rc))
EOF
	RC=$(tail -n1 "$f.txt")
	head -n -1 "$f.txt"
	rm -f "$f" "$f.out" "$f.txt"
}

MARK=e2bd-iso-$$-$RANDOM
HOSTFILES=("/root/$MARK" "/tmp/$MARK" "/home/$MARK" "/var/tmp/$MARK" "/run/$MARK")
for f in "${HOSTFILES[@]}"; do echo "host secret" > "$f" 2>/dev/null; done
cleanup_host() { rm -f "${HOSTFILES[@]}"; }
trap 'cleanup_host; _lib_cleanup' EXIT

# --- identity and namespaces
expect_eq "default user is uid 1000 'user'" "1000 user 1000 /home/user /home/user" "$(run "$A" 'echo $(id -u) $(id -un) $(id -g) $HOME $(pwd)' | tr -d '\n')"
expect_eq "Basic root runs as uid 0" "0 root" "$(run "$A" 'echo $(id -u) $(id -un)' root | tr -d '\n')"
expect_eq "hostname is the sandbox ID" "$A" "$(run "$A" hostname | tr -d '\n')"
expect_eq "B's hostname is B's ID" "$B" "$(run "$B" 'cat /proc/sys/kernel/hostname' | tr -d '\n')"
nproc_ns=$(run "$A" 'ls /proc | grep -c "^[0-9]"' | tr -d '\n')
check "own PID namespace (only a few processes visible)" test "$nproc_ns" -lt 10
expect_eq "pid 1 is the sandbox init" init "$(run "$A" 'cat /proc/1/comm' | tr -d '\n')"
check "e2bd's command line is not visible" test -z "$(run "$A" 'cat /proc/*/cmdline 2>/dev/null | tr "\0" " " | grep -o -- "--state-di[r]\|api-ke[y]" | head -1' | tr -d '\n')"
check "home is owned by user" test "$(run "$A" 'stat -c %U:%G /home/user' | tr -d '\n')" = user:user
check "/tmp is sticky and world-writable" test "$(run "$A" 'stat -c %a /tmp' | tr -d '\n')" = 1777
expect_eq "bash, python3 and coreutils work inside" "ok 3" "$(run "$A" 'python3 -c "print(\"ok\", 1+2)"' | tr -d '\n')"

# --- sandboxes cannot see each other
run "$A" "echo secret-of-A > /home/user/a-only.txt; echo sec > /tmp/a-tmp-$MARK; mkdir -p /opt/a-dir" > /dev/null
expect_eq "A sees its own file" "secret-of-A" "$(run "$A" 'cat /home/user/a-only.txt' | tr -d '\n')"
expect_eq "B does not see A's home file" "missing" "$(run "$B" 'test -e /home/user/a-only.txt && echo present || echo missing' | tr -d '\n')"
expect_eq "B does not see A's /tmp file" "missing" "$(run "$B" "test -e /tmp/a-tmp-$MARK && echo present || echo missing" | tr -d '\n')"
expect_eq "B does not see A's write under /opt (per-sandbox overlay)" "missing" "$(run "$B" 'test -e /opt/a-dir && echo present || echo missing' | tr -d '\n')"
check "A's /opt write did not reach the host" test ! -e /opt/a-dir
expect_eq "no file of A anywhere in B (as root)" "" "$(run "$B" 'find / -xdev -name a-only.txt 2>/dev/null; find / -name "a-tmp-*" -path "*$MARK*" 2>/dev/null' root | tr -d '\n')"
expect_eq "B cannot find A's ID anywhere in its filesystem" "" "$(run "$B" "grep -rl $A /etc /home /tmp /root /var /opt 2>/dev/null | head -3" root | tr -d '\n')"

# --- the host stays invisible
for f in "${HOSTFILES[@]}"; do
	[ -e "$f" ] || continue
	expect_eq "host $f invisible (as root)" missing "$(run "$A" "test -e $f && echo present || echo missing" root | tr -d '\n')"
done
expect_eq "e2bd's state dir invisible" missing "$(run "$A" "test -e '$E2BD_STATE_DIR' && echo present || echo missing" root | tr -d '\n')"
expect_eq "no api-key file anywhere" "" "$(run "$A" 'find / -xdev -name api-key 2>/dev/null | head -3' root | tr -d '\n')"
expect_eq "'..' stays at the sandbox root" "$(run "$A" 'ls / | tr "\n" " "')" "$(run "$A" 'ls /../../../.. | tr "\n" " "')"
expect_eq "/proc/self/root is the sandbox root" "$(run "$A" 'ls / | tr "\n" " "' root)" "$(run "$A" 'ls /proc/self/root/ | tr "\n" " "' root)"
run "$A" 'ls /proc/1/root/' root > /dev/null
check "root cannot reach init's root through /proc/1/root (no CAP_SYS_PTRACE)" test "$RC" != 0
expect_eq "host /etc/passwd and /etc/group untouched" "$HOST_PASSWD" "$(sha256sum /etc/passwd /etc/group)"
expect_eq "sandbox passwd has user" "user:x:1000:1000::/home/user:/bin/bash" "$(run "$A" 'grep "^user:" /etc/passwd' | tr -d '\n')"

# --- root inside the sandbox has no host-level powers
run "$A" 'mount -t tmpfs none /mnt' root > /dev/null
check "root cannot mount" test "$RC" != 0
run "$A" 'mknod /tmp/vda b 253 0' root > /dev/null
check "root cannot mknod block devices" test "$RC" != 0
run "$A" 'echo 1 > /proc/sys/kernel/sysrq' root > /dev/null
check "root cannot write /proc/sys" test "$RC" != 0
run "$A" 'unshare -U -r true' > /dev/null
check "no new user namespaces (seccomp)" test "$RC" != 0
run "$A" 'dmesg' root > /dev/null
check "root cannot read the kernel log" test "$RC" != 0
expect_eq "threads and fork still work under the filter" "ok" "$(run "$A" 'python3 -c "import threading; t=threading.Thread(target=print, args=(\"ok\",)); t.start(); t.join()"' | tr -d '\n')"
expect_eq "no host block devices in /dev" "" "$(run "$A" 'ls /dev | grep -E "^(vd|sd|nvme|loop|fuse|kmsg|mem$)"' root | tr -d '\n')"

pm=$(cat "/sys/fs/cgroup/pids/e2bd/$A/pids.max" 2>/dev/null || cat /sys/fs/cgroup/e2bd/"$A"/pids.max 2>/dev/null)
if [ -n "$pm" ]; then
	check "the number of processes is limited (fork bombs stay inside)" test "$pm" != max
else
	skip "the number of processes is limited" "no pids cgroup on this host"
fi

# --- symlinks and '..' through /files and the filesystem RPCs
run "$A" "ln -s /root /home/user/rootlink; ln -s /tmp/$MARK /home/user/hostlink; ln -s ../../../../../../ /home/user/uplink" > /dev/null
st=$(envd "$A" GET "/files?path=/home/user/hostlink" > /dev/null; echo "$ENVD_STATUS")
check "/files: absolute symlink to a host path does not reach the host" test "$st" != 200
body=$(envd "$A" GET "/files?path=/home/user/uplink/tmp/$MARK" 2>/dev/null)
check "/files: '..' symlink chain does not reach the host" test "$ENVD_STATUS" != 200 -o "$body" != "host secret"
body=$(envd "$A" GET "/files?path=/../../../../tmp/$MARK" 2>/dev/null)
check "/files: '..' in the path does not reach the host" test "$ENVD_STATUS" != 200 -o "$body" != "host secret"
out=$(rpc "$A" filesystem.Filesystem/ListDir '{"path":"/home/user/uplink","depth":1}')
names=$(printf '%s' "$out" | json_get "' '.join(sorted(e['name'] for e in d.get('entries',[])))" 2>/dev/null)
check "ListDir through a '..' symlink lists the sandbox root" grep -qw home <<< "$names"
check "ListDir through a '..' symlink shows no host entry" test -z "$(grep -o "work\|lost+found\|$MARK" <<< "$names")"

# --- processes and /files see the same tree
printf 'uploaded-by-files' > "$TEST_TMP/up.txt"
envd "$A" POST "/files?path=/home/user/up.txt" "" "" -F "file=@$TEST_TMP/up.txt" > /dev/null
expect_eq "/files upload is visible to processes" "uploaded-by-files user" "$(run "$A" 'cat /home/user/up.txt; echo " $(stat -c %U /home/user/up.txt)"' | tr -d '\n')"
expect_eq "process writes are visible to /files" "secret-of-A" "$(envd "$A" GET "/files?path=/home/user/a-only.txt" | tr -d '\n')"
expect_eq "B's /files does not see A's file" 404 "$(envd "$B" GET "/files?path=/home/user/a-only.txt" > /dev/null; echo "$ENVD_STATUS")"

# --- a template from a root filesystem directory (--template NAME=DIR)
TPL=$TEST_TMP/mini-rootfs
mkdir -p "$TPL/bin"
for b in bash cat id ls; do cp "$(command -v $b)" "$TPL/bin/"; done
for l in $(ldd "$TPL"/bin/* | grep -o '/[^ :]*\.so[^ :]*' | sort -u); do
	mkdir -p "$TPL$(dirname "$l")"; cp -L "$l" "$TPL$l"
done
ln -s bash "$TPL/bin/sh"
TPL_SUM=$(cd "$TPL" && find . | sort | sha256sum)
PORT=$(free_port)
( umask 077; printf '%s\n' "$E2B_API_KEY" > "$TEST_TMP/iso-key" )
"$E2BD_BIN" --listen "127.0.0.1:$PORT" --state-dir "$TEST_TMP/iso-state" --api-key-file "$TEST_TMP/iso-key" \
	--template "mini=$TPL" > "$TEST_TMP/iso-e2bd.log" 2>&1 &
IPID=$!
disown "$IPID"
trap 'kill "$IPID" 2>/dev/null; cleanup_host; _lib_cleanup' EXIT
for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.1; done
MAIN_URL=$E2BD_URL
E2BD_URL=http://127.0.0.1:$PORT
T=$(api POST /sandboxes '{"templateID":"mini","timeout":120}' | json_get "d['sandboxID']" 2>/dev/null)
if [ -n "$T" ]; then
	ok "template dir: sandbox created"
	expect_eq "template dir: runs as user with a home" "1000 /home/user" "$(run "$T" 'echo $(id -u) $(pwd)' | tr -d '\n')"
	expect_eq "template dir: root works" 0 "$(run "$T" 'id -u' root | tr -d '\n')"
	top=$(run "$T" 'cd /; echo *' root | tr -d '\n')
	check "template dir: root has the template's dirs" grep -qw bin <<< "$top"
	check "template dir: no host dirs (opt, boot, srv, work)" test -z "$(grep -ow 'opt\|boot\|srv\|work' <<< "$top")"
	expect_eq "template dir: /etc has only what e2bd added" "group hostname hosts passwd resolv.conf" "$(run "$T" 'cd /etc; echo *' root | tr -d '\n')"
	run "$T" 'echo x > /bin/new-file; echo y > /home/user/f' root > /dev/null
	expect_eq "template dir: writes land in the sandbox" "x" "$(run "$T" 'cat /bin/new-file' | tr -d '\n')"
	expect_eq "template dir: the template itself is untouched" "$TPL_SUM" "$(cd "$TPL" && find . | sort | sha256sum)"
	api DELETE "/sandboxes/$T" > /dev/null
	expect_eq "template dir: kill 204" 204 "$API_STATUS"
else
	fail "template dir: sandbox created" "$(tail -3 "$TEST_TMP/iso-e2bd.log")"
fi
E2BD_URL=$MAIN_URL
kill "$IPID" 2>/dev/null

# --- without root: e2bd in a user namespace of its own (uid 1000 only)
if command -v setpriv > /dev/null && [ "$(id -u)" = 0 ]; then
	UD=$(mktemp -d /tmp/e2bd-unpriv.XXXXXX)
	printf '%s\n' "$E2B_API_KEY" > "$UD/key"
	chmod 600 "$UD/key"
	# A copy, in case the build dir is not reachable for uid 65534.
	cp "$E2BD_BIN" "$UD/e2bd"
	chown -R 65534:65534 "$UD"
	chmod 700 "$UD"
	UPORT=$(free_port)
	setpriv --reuid=65534 --regid=65534 --clear-groups "$UD/e2bd" --listen "127.0.0.1:$UPORT" \
		--state-dir "$UD/state" --api-key-file "$UD/key" > "$TEST_TMP/unpriv.log" 2>&1 &
	UPID=$!
	disown "$UPID"
	trap 'kill "$UPID" "$IPID" 2>/dev/null; rm -rf "$UD"; cleanup_host; _lib_cleanup' EXIT
	for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$UPORT/health" && break; kill -0 "$UPID" 2>/dev/null || break; sleep 0.1; done
	if ! kill -0 "$UPID" 2>/dev/null; then
		if grep -q 'user namespaces are not available' "$TEST_TMP/unpriv.log"; then
			skip "unprivileged e2bd" "$(tail -1 "$TEST_TMP/unpriv.log")"
		else
			fail "unprivileged e2bd starts" "$(tail -2 "$TEST_TMP/unpriv.log" | tr '\n' ' ')"
		fi
	else
		ok "unprivileged e2bd starts"
		E2BD_URL=http://127.0.0.1:$UPORT
		U=$(api POST /sandboxes '{"templateID":"base","timeout":120}' | json_get "d['sandboxID']" 2>/dev/null)
		expect_eq "unprivileged: processes run as user 1000 in the sandbox" "1000 user $U" "$(run "$U" 'echo $(id -u) $(id -un) $(hostname)' | tr -d '\n')"
		expect_eq "unprivileged: host /root and /tmp invisible" "missing missing" "$(run "$U" "test -e /root/$MARK && echo present || echo missing; test -e /tmp/$MARK && echo present || echo missing" | tr '\n' ' ' | sed 's/ *$//')"
		expect_eq "unprivileged: state dir invisible" missing "$(run "$U" "test -e '$UD' && echo present || echo missing" | tr -d '\n')"
		check "unprivileged: own PID namespace" test "$(run "$U" 'ls /proc | grep -c "^[0-9]"' | tr -d '\n')" -lt 10
		run "$U" 'echo kept > /home/user/k; touch /usr/bin/e2bd-x' > /dev/null
		check "unprivileged: host-owned system files stay read-only" test ! -e /usr/bin/e2bd-x
		expect_eq "unprivileged: /files sees process writes" kept "$(envd "$U" GET '/files?path=/home/user/k' | tr -d '\n')"
		run "$U" 'id' root > /dev/null
		check "unprivileged: root is refused with an error" test "$RC" != 0
		api POST "/sandboxes/$U/pause" > /dev/null
		expect_eq "unprivileged: pause 204" 204 "$API_STATUS"
		api POST "/sandboxes/$U/resume" '{"timeout":60}' > /dev/null
		expect_eq "unprivileged: resume 201" 201 "$API_STATUS"
		expect_eq "unprivileged: works after resume" kept "$(run "$U" 'cat /home/user/k' | tr -d '\n')"
		api DELETE "/sandboxes/$U" > /dev/null
		expect_eq "unprivileged: kill 204" 204 "$API_STATUS"
		E2BD_URL=$MAIN_URL
	fi
	kill "$UPID" 2>/dev/null
else
	skip "unprivileged e2bd" "needs setpriv and a root test runner to drop privileges"
fi

done_testing
