#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# rclone mount (sftp backend) beside sshfs and e2bfs on the same tree: a
# private sshd on loopback serves a sandbox-like directory to sshfs and
# rclone, a private e2bd serves the same tree in a sandbox to e2bfs; all
# three mount through bench/delayproxy at each RTT and run the same
# workloads (ls -l of a big directory, cat of a large file, find over a
# tree, a small tar x).  Prints median seconds of RUNS runs and the ratios
# to sshfs; does not assert.  More e2bfs workloads: bench/latency.
# Usage: bench/fs-rclone.sh [BUILD_DIR] [RUNS=3] [RTTS="0 20"] [BIG_MIB=64]
# Needs root (FUSE mounts, e2bd), e2bd/e2bfs/e2bctl/delayproxy built in
# BUILD_DIR, sshfs, rclone, openssh-server; installs rclone
# with apt-get when missing (Debian 12 has 1.60).  The system sshd and its
# config are not touched; keys are throwaway.
set -eu
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "${1:-$SRC_DIR/build}" && pwd)
RUNS=${2:-3}
RTTS=${3:-"0 20"}
BIG_MIB=${4:-64}
SSHD=${SSHD:-/usr/sbin/sshd}
SFTP_SERVER=${SFTP_SERVER:-/usr/lib/openssh/sftp-server}
PROXY=$BUILD_DIR/bench/delayproxy
if ! command -v rclone >/dev/null; then
	echo "fs-rclone: installing rclone (apt-get)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rclone >/dev/null
fi
for t in rclone sshfs fusermount3 ssh-keygen "$SSHD" "$SFTP_SERVER" "$PROXY"; do
	command -v "$t" >/dev/null || { echo "fs-rclone: '$t' not found (apt-get install sshfs openssh-server rclone; ninja -C BUILD_DIR)" >&2; exit 2; }
done
[ -e /dev/fuse ] || { echo "fs-rclone: no /dev/fuse" >&2; exit 2; }

W=$(mktemp -d /tmp/e2bfs-rclone.XXXXXX)
SSHD_PID='' PP_PID='' RCLONE_PID='' E2BD_PID='' EPP_PID='' E2BFS_PID=''
MNT=$W/mnt DATA=$W/data SB_DIR=/home/user/bench
cleanup() {
	set +e
	cd /
	grep -q " $MNT " /proc/mounts && { fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"; }
	for p in "$RCLONE_PID" "$E2BFS_PID" "$PP_PID" "$EPP_PID" "$E2BD_PID"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# --- private sshd on a free port, throwaway host and user keys
mkdir -p "$W/ssh" "$DATA" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/user_key"
cp "$W/ssh/user_key.pub" "$W/ssh/authorized_keys"
SP=$(port)
USER_NAME=$(id -un)
printf '%s\n' "ListenAddress 127.0.0.1" "Port $SP" "HostKey $W/ssh/host_key" \
	"PidFile $W/ssh/sshd.pid" "AuthorizedKeysFile $W/ssh/authorized_keys" \
	"PubkeyAuthentication yes" "PasswordAuthentication no" \
	"KbdInteractiveAuthentication no" "PermitRootLogin prohibit-password" \
	"AllowUsers $USER_NAME" "StrictModes no" "UsePAM no" "MaxStartups 100" \
	"Subsystem sftp $SFTP_SERVER" > "$W/ssh/sshd_config"
"$SSHD" -D -e -f "$W/ssh/sshd_config" 2> "$W/sshd.log" &
SSHD_PID=$!
for _ in $(seq 50); do grep -q "Server listening" "$W/sshd.log" 2>/dev/null && break; sleep 0.1; done

# --- the tree, made on the server side once: a 1,000-file directory, a
# large file, 2,000 small files in 40 directories, and a tarball of 100
# small files to extract through the mounts.
head -c $((BIG_MIB * 1024 * 1024)) /dev/urandom > "$DATA/big.bin"
python3 - "$DATA" "$W" <<'PY'
import os, random, sys
data, w = sys.argv[1], sys.argv[2]
r = random.Random(1)
def text(n):
	return (("lorem ipsum dolor sit amet " * (n // 27 + 1))[:n]) + "\n"
# (directory, files, files per subdirectory or 0, name, size range)
for top, n, per, name, lo, hi in ((f"{data}/d1000", 1000, 0, "f", 2048, 2048),
				  (f"{data}/tree", 2000, 50, "s", 200, 4000),
				  (f"{w}/small", 100, 10, "x", 200, 4000)):
	for i in range(n):
		d = f"{top}/d{i // per:02d}" if per else top
		os.makedirs(d, exist_ok=True)
		open(f"{d}/{name}{i:04d}.txt", "w").write(text(r.randint(lo, hi)))
PY
tar cf "$W/small.tar" -C "$W" small
mkdir -p "$DATA/tx"

# --- e2bd and a sandbox holding the same tree (copied in untimed, directly)
( umask 077; python3 -c 'import os; print("e2b_" + os.urandom(16).hex())' > "$W/key" )
EP=$(port)
export E2B_API_URL=http://127.0.0.1:$EP E2B_SANDBOX_URL=http://127.0.0.1:$EP
"$BUILD_DIR/server/e2bd" --listen "127.0.0.1:$EP" --state-dir "$W/state" --log-level warn \
	--api-key-file "$W/key" > "$W/e2bd.log" 2>&1 &
E2BD_PID=$!
until curl -fs -o /dev/null "$E2B_API_URL/health"; do
	kill -0 "$E2BD_PID" 2>/dev/null || { tail -5 "$W/e2bd.log" >&2; exit 2; }
	sleep 0.1
done
# No connection agent: it would outlive this script (and its e2bd) by a minute.
CTL() { E2BCTL_AGENT_IDLE=0 "$BUILD_DIR/tools/e2bctl" --api-key-file "$W/key" "$@"; }
ID=$(CTL create base --timeout 3600) || { tail -5 "$W/e2bd.log" >&2; exit 2; }
CTL mkdir "$ID" "$SB_DIR"
tar cf - -C "$DATA" . | CTL run "$ID" --cwd "$SB_DIR" -- tar xf - ||
	{ echo "fs-rclone: cannot copy the tree into the sandbox" >&2; exit 2; }

# --- mounts through the proxy (one proxy per RTT, restarted)
# proxy_start VAR RTT PORT: a delay proxy to 127.0.0.1:PORT; its port in
# $VAR, its pid in ${VAR}_PID.
proxy_start() {
	local pf=$W/proxy.$1
	rm -f "$pf"
	"$PROXY" --listen 127.0.0.1:0 --connect "127.0.0.1:$3" --rtt-ms "$2" \
		--port-file "$pf" > /dev/null 2>> "$W/proxy.log" &
	printf -v "$1_PID" '%s' "$!"
	for _ in $(seq 50); do [ -s "$pf" ] && break; sleep 0.1; done
	printf -v "$1" '%s' "$(cat "$pf")"
}
proxy_stop() {
	kill "$PP_PID" "$EPP_PID" 2>/dev/null
	wait "$PP_PID" "$EPP_PID" 2>/dev/null || true
	PP_PID='' EPP_PID=''
}
# wait_mount TYPE PID LOG: until MNT is a TYPE mount, or PID died (LOG shown).
wait_mount() {
	for _ in $(seq 100); do
		grep -q " $MNT $1 " /proc/mounts && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	tail -5 "$3" >&2
	return 1
}
# e2bfs with its defaults, a fresh cache each mount (cold).
mount_e2bfs() {
	E2B_API_URL=http://127.0.0.1:$EPP E2B_SANDBOX_URL=http://127.0.0.1:$EPP \
		"$BUILD_DIR/fs/e2bfs" -f -o "api_key_file=$W/key,cache_dir=$W/e2bfs-cache" \
		"$ID:$SB_DIR" "$MNT" >> "$W/e2bfs.log" 2>&1 &
	E2BFS_PID=$!
	wait_mount fuse.e2bfs "$E2BFS_PID" "$W/e2bfs.log"
}
SSH_OPTS="IdentityFile=$W/ssh/user_key,IdentitiesOnly=yes,BatchMode=yes,StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,LogLevel=ERROR"
mount_sshfs() {
	sshfs -p "$PP" -o "$SSH_OPTS" "$USER_NAME@127.0.0.1:$DATA" "$MNT"
}
# rclone's sftp backend from a connection string (no config file): no shell
# commands over ssh (hashes), no host key file; writes go through its VFS
# write cache (--vfs-cache-mode writes, the mode rclone documents for
# applications that write files) and upload at close (--vfs-write-back 0s;
# the default 5 s would add 5 s to tar x), reads stream.
mount_rclone() {
	rclone mount ":sftp,host=127.0.0.1,port=$PP,user=$USER_NAME,key_file=$W/ssh/user_key,shell_type=none,disable_hashcheck=true:$DATA" \
		"$MNT" --config /dev/null --cache-dir "$W/rclone-cache" --vfs-cache-mode writes \
		--vfs-write-back 0s --log-level ERROR --log-file "$W/rclone.log" &
	RCLONE_PID=$!
	wait_mount fuse.rclone "$RCLONE_PID" "$W/rclone.log"
}
umount_fs() { # FS
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
	if [ "$1" = rclone ] && [ -n "$RCLONE_PID" ]; then
		wait "$RCLONE_PID" 2>/dev/null || true
		RCLONE_PID=
		rm -rf "$W/rclone-cache"
	elif [ "$1" = e2bfs ] && [ -n "$E2BFS_PID" ]; then
		# Bounded: an e2bd started elsewhere meanwhile may hold a copy of
		# the mount, and then the daemon is never told.
		for _ in $(seq 100); do kill -0 "$E2BFS_PID" 2>/dev/null || break; sleep 0.1; done
		kill "$E2BFS_PID" 2>/dev/null || true
		wait "$E2BFS_PID" 2>/dev/null || true
		E2BFS_PID=
		rm -rf "$W/e2bfs-cache"
	fi
}
mkdir -p "$MNT"

# --- timing
secs() { # CMD...: run, print elapsed seconds, or FAIL:rc
	local t0 t1 rc=0
	t0=$(date +%s%N)
	"$@" > /dev/null 2>> "$W/workload.err" || rc=$?
	t1=$(date +%s%N)
	if [ "$rc" != 0 ]; then echo "FAIL:$rc"; return; fi
	python3 -c "print(f'{($t1 - $t0) / 1e9:.3f}')"
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }

ls_l() { ls -l "$MNT/d1000"; }
cat_big() { cat "$MNT/big.bin"; }
find_tree() { find "$MNT/tree" -type f -name '*.txt' -size +1k; }
# tar x, timed until the server holds every byte: rclone uploads a file
# written through its cache after close, in the background; e2bfs writes
# back too, and its barrier (.e2bfs/ctl sync) returns once all is uploaded.
untar() {
	mkdir "$MNT/tx/r$1" && tar xf "$W/small.tar" -C "$MNT/tx/r$1" || return 1
	if [ "$FS" = e2bfs ]; then echo sync > "$MNT/.e2bfs/ctl"; else on_server "$DATA/tx/r$1/small"; fi
}
SMALL_SUM=$(find "$W/small" -type f -printf '%s\n' | awk '{n++; b += $1} END {print n, b}')
on_server() { # DIR: wait (bounded, 120 s) until DIR has the files and bytes of small/
	local _
	for _ in $(seq 6000); do
		[ "$(find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{n++; b += $1} END {print n, b}')" = "$SMALL_SUM" ] && return 0
		sleep 0.02
	done
	return 1
}

rows=(
	"ls|ls -l, 1,000 files|ls_l"
	"cat|cat ${BIG_MIB} MiB|cat_big"
	"find|find, 2,000 files in 40 dirs|find_tree"
	"tar|tar x 100 small files, on server|untar"
)
# Each run on a fresh mount (cold: no attribute, directory or page cache);
# one untimed stat of the root first, so no workload pays the SSH handshake.
declare -A R
n=0
for rtt in $RTTS; do
	proxy_start PP "$rtt" "$SP"	# sshd
	proxy_start EPP "$rtt" "$EP"	# e2bd
	for row in "${rows[@]}"; do
		IFS='|' read -r key _ fn <<< "$row"
		for fs in e2bfs sshfs rclone; do
			FS=$fs
			ts=()
			for ((i = 0; i < RUNS; i++)); do
				"mount_$fs"
				stat "$MNT/." > /dev/null
				n=$((n + 1))
				ts+=("$(secs "$fn" "$n")")
				umount_fs "$fs"
			done
			echo "# rtt $rtt $key $fs: ${ts[*]}" >&2
			case " ${ts[*]} " in
			*FAIL*) R[$rtt,$key,$fs]=FAIL ;;
			*) R[$rtt,$key,$fs]=$(median "${ts[@]}") ;;
			esac
		done
	done
	proxy_stop
done
rm -rf "${DATA:?}/tx"
# What e2bfs's barrier vouched for is in the sandbox.
etar=$(CTL run "$ID" -- "find $SB_DIR/tx -type f | wc -l" < /dev/null)
etar_want=$((RUNS * $(wc -w <<< "$RTTS") * 100))

printf '\n%-34s %6s %9s %9s %9s %13s %12s\n' "workload (median of $RUNS, cold)" "RTT ms" \
	"e2bfs s" "sshfs s" "rclone s" "rclone/sshfs" "e2bfs/sshfs"
for rtt in $RTTS; do
	for row in "${rows[@]}"; do
		IFS='|' read -r key label _ <<< "$row"
		python3 - "$label" "$rtt" "${R[$rtt,$key,e2bfs]}" "${R[$rtt,$key,sshfs]}" "${R[$rtt,$key,rclone]}" <<'PY'
import sys
label, rtt, e, s, r = sys.argv[1:]
f = lambda v: f"{float(v):9.3f}" if v != "FAIL" else f"{'FAIL':>9}"
ratio = lambda a: f"{float(a) / float(s):.2f}" if "FAIL" not in (a, s) and float(s) > 0 else "-"
print(f"{label:<34} {rtt:>6} {f(e)} {f(s)} {f(r)} {ratio(r):>13} {ratio(e):>12}")
PY
	done
done
echo "e2bfs $(git -C "$SRC_DIR" rev-parse --short HEAD) (defaults), $(sshfs --version 2>&1 | grep -i -m1 'sshfs version'), $(rclone version 2>/dev/null | head -1)" \
	"(sftp backend, --vfs-cache-mode writes --vfs-write-back 0s), OpenSSH sftp-server, $(nproc) cores," \
	"load $(cut -d' ' -f1-3 /proc/loadavg), loopback + bench/delayproxy"
echo "e2bfs tar x: $etar of $etar_want files in the sandbox after the runs"
if [ -s "$W/workload.err" ]; then
	echo "workload errors (first lines):"
	sort -u "$W/workload.err" | head -5
fi
