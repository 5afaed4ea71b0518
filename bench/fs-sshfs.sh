#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The same file workload on an e2bfs mount of a sandbox (private e2bd on
# loopback) and on an sshfs mount of a local directory (private sshd on
# loopback, throwaway keys); prints median seconds of RUNS runs and the ratio.
# Usage: bench/fs-sshfs.sh [BUILD_DIR] [RUNS=3] [BIG_MIB=256]
# Needs sshfs, openssh-server (sshd is started privately; the system sshd and
# its config are not touched) and git.  Prints; does not assert.
set -eu
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "${1:-$SRC_DIR/build}" && pwd)
RUNS=${2:-3}
BIG_MIB=${3:-256}
SSHD=${SSHD:-/usr/sbin/sshd}
SFTP_SERVER=${SFTP_SERVER:-/usr/lib/openssh/sftp-server}
for t in sshfs fusermount3 git ssh-keygen "$SSHD" "$SFTP_SERVER"; do
	command -v "$t" >/dev/null || { echo "fs-sshfs: '$t' not found (apt-get install sshfs openssh-server git)" >&2; exit 2; }
done
[ -e /dev/fuse ] || { echo "fs-sshfs: no /dev/fuse" >&2; exit 2; }

W=$(mktemp -d /tmp/e2bfs-bench.XXXXXX)
E2BD_PID='' E2BFS_PID='' SSHD_PID=''
E2B_MNT=$W/e2bfs-mnt SSH_MNT=$W/sshfs-mnt SSH_DATA=$W/sshfs-data
cleanup() {
	set +e
	cd /
	for m in "$E2B_MNT" "$SSH_MNT"; do
		grep -q " $m " /proc/mounts && { fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m"; }
	done
	if [ -n "$E2BFS_PID" ]; then
		for _ in $(seq 100); do kill -0 "$E2BFS_PID" 2>/dev/null || break; sleep 0.1; done
		kill -TERM "$E2BFS_PID" 2>/dev/null
		wait "$E2BFS_PID" 2>/dev/null
	fi
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
	[ -n "$E2BD_PID" ] && kill "$E2BD_PID" 2>/dev/null && wait "$E2BD_PID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_mounted() { # DIR TYPE PID
	for _ in $(seq 100); do
		grep -q " $1 $2 " /proc/mounts && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# --- e2bd, a sandbox, and the e2bfs mount of bench/ in its home
umask 077
printf 'e2b_%s\n' "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" > "$W/key"
printf 'X-API-Key: %s\n' "$(cat "$W/key")" > "$W/hdr"
umask 022
EP=$(port)
export E2B_API_URL=http://127.0.0.1:$EP E2B_SANDBOX_URL=http://127.0.0.1:$EP
"$BUILD_DIR/server/e2bd" --listen "127.0.0.1:$EP" --state-dir "$W/state" \
	--api-key-file "$W/key" --log-level warn > "$W/e2bd.log" 2>&1 &
E2BD_PID=$!
for _ in $(seq 100); do curl -fs -o /dev/null "$E2B_API_URL/health" && break; sleep 0.1; done
kill -0 "$E2BD_PID" 2>/dev/null || { cat "$W/e2bd.log" >&2; exit 2; }
ID=$(curl -fsS -H @"$W/hdr" -H 'Content-Type: application/json' -d '{"templateID":"base","timeout":3600}' \
	"$E2B_API_URL/sandboxes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sandboxID"])')
curl -fsS -o /dev/null -H "E2b-Sandbox-Id: $ID" -H 'E2b-Sandbox-Port: 49983' -H 'Connect-Protocol-Version: 1' \
	-H 'Content-Type: application/json' -d '{"path":"/home/user/bench"}' \
	"$E2B_API_URL/filesystem.Filesystem/MakeDir"

e2bfs_mount() {
	mkdir -p "$E2B_MNT"
	"$BUILD_DIR/fs/e2bfs" -f -o "api_key_file=$W/key,cache_dir=$W/e2bfs-cache" \
		"$ID:/home/user/bench" "$E2B_MNT" >> "$W/e2bfs.log" 2>&1 &
	E2BFS_PID=$!
	wait_mounted "$E2B_MNT" fuse.e2bfs "$E2BFS_PID" || { tail -5 "$W/e2bfs.log" >&2; exit 2; }
}
e2bfs_umount() { # uploads what is dirty, then the cache goes: the next mount is cold
	fusermount3 -u "$E2B_MNT"
	# Bounded: an e2bd started elsewhere while we were mounted holds a copy
	# of the mount in its namespace, and then the daemon is never told.
	for _ in $(seq 100); do kill -0 "$E2BFS_PID" 2>/dev/null || break; sleep 0.1; done
	kill -TERM "$E2BFS_PID" 2>/dev/null || true
	wait "$E2BFS_PID" 2>/dev/null || true
	E2BFS_PID=
	rm -rf "$W/e2bfs-cache"
}

# --- private sshd on a free port, throwaway host and user keys
mkdir -p "$W/ssh" "$SSH_DATA/bench" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/user_key"
cp "$W/ssh/user_key.pub" "$W/ssh/authorized_keys"
SP=$(port)
cat > "$W/ssh/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $SP
HostKey $W/ssh/host_key
PidFile $W/ssh/sshd.pid
AuthorizedKeysFile $W/ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $(id -un)
StrictModes no
UsePAM no
Subsystem sftp $SFTP_SERVER
EOF
"$SSHD" -D -e -f "$W/ssh/sshd_config" 2> "$W/sshd.log" &
SSHD_PID=$!
sshfs_mount() {
	mkdir -p "$SSH_MNT"
	sshfs -p "$SP" -o "IdentityFile=$W/ssh/user_key,IdentitiesOnly=yes,BatchMode=yes" \
		-o StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,LogLevel=ERROR \
		"$(id -un)@127.0.0.1:$SSH_DATA/bench" "$SSH_MNT" || { tail -5 "$W/sshd.log" >&2; exit 2; }
}
sshfs_umount() { fusermount3 -u "$SSH_MNT"; }
for _ in $(seq 50); do grep -q "Server listening" "$W/sshd.log" 2>/dev/null && break; sleep 0.1; done

e2bfs_mount
sshfs_mount

# --- the workload's data, made locally once
mkdir -p "$W/src"
head -c $((BIG_MIB * 1024 * 1024)) /dev/urandom > "$W/src/big.bin"
python3 - "$W/src" <<'PY'
import os, random, sys
src = sys.argv[1]
r = random.Random(1)
words = ["alpha", "beta", "gamma", "delta", "static", "int", "return", "struct", "void", "char"]
def text(n):
	return ("\n".join(" ".join(r.choice(words) for _ in range(8)) for _ in range(n // 48 + 1)))[:n] + "\n"
os.makedirs(f"{src}/d1000")
for i in range(1000):
	open(f"{src}/d1000/f{i:04d}", "w").write(text(2048))
for i in range(2000):
	d = f"{src}/small/d{i // 50:02d}"
	os.makedirs(d, exist_ok=True)
	open(f"{d}/s{i:04d}.txt", "w").write(text(r.randint(200, 4000)))
for i in range(1000):
	d = f"{src}/repo/m{i // 100}"
	os.makedirs(d, exist_ok=True)
	open(f"{d}/file{i:04d}.c", "w").write(text(r.randint(500, 3000)))
PY
tar cf "$W/src/small.tar" -C "$W/src" small
(cd "$W/src/repo" && git init -q && git add -A && git -c user.name=b -c user.email=b@b commit -qm init)
tar cf "$W/src/repo.tar" -C "$W/src" repo

# Setup through each mount, untimed: the 1,000-file directory, the big file, the repo.
for m in "$E2B_MNT" "$SSH_MNT"; do
	cp -r "$W/src/d1000" "$m/d1000"
	cp "$W/src/big.bin" "$m/big.bin"
	tar xf "$W/src/repo.tar" -C "$m"
done

# --- timing
secs() { # CMD...: run, print elapsed seconds
	local t0 t1
	t0=$(date +%s%N)
	"$@" > /dev/null 2>&1 || true
	t1=$(date +%s%N)
	python3 -c "print(f'{($t1 - $t0) / 1e9:.3f}')"
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }

ls_l() { ls -l "$1/d1000"; }
stat_all() { (cd "$1/d1000" && printf 'f%04d\n' $(seq 0 999) | xargs stat -c %s); }
read_big() { cat "$1/big.bin"; }
write_big() { cp "$W/src/big.bin" "$1/w.bin"; }
untar() { mkdir "$1/tx$2" && tar xf "$W/src/small.tar" -C "$1/tx$2"; }
git_status() { git -c safe.directory='*' -C "$1/repo" status --porcelain; }
grep_r() { grep -r -c zeta "$1/d1000"; }

# Requests e2bfs has sent to envd so far (its control directory).
e2bfs_requests() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$E2B_MNT/.e2bfs/status"
}

# measure KEY FS MODE FUNC: RUNS runs; MODE cold remounts first (untimed),
# warm runs FUNC once untimed first.
declare -A R
measure() {
	local key=$1 fs=$2 mode=$3 fn=$4 mnt i t r0 ts=()
	if [ "$fs" = e2bfs ]; then mnt=$E2B_MNT; else mnt=$SSH_MNT; fi
	[ "$mode" = warm ] && "$fn" "$mnt" >/dev/null 2>&1
	for ((i = 0; i < RUNS; i++)); do
		if [ "$mode" = cold ]; then "${fs}_umount"; "${fs}_mount"; fi
		[ "$fn" = write_big ] && rm -f "$mnt/w.bin"
		[ "$fs" = e2bfs ] && r0=$(e2bfs_requests)
		t=$(secs "$fn" "$mnt" "$i")
		ts+=("$t")
		[ "$fs" = e2bfs ] && R[$key,req]=$(($(e2bfs_requests) - r0))
	done
	R[$key,$fs]=$(median "${ts[@]}")
	echo "# $key $fs: ${ts[*]}" >&2
}

rows=(
	"a-cold|(a) ls -l, 1,000 files, cold|cold|ls_l"
	"a-warm|(a) ls -l, 1,000 files, warm|warm|ls_l"
	"b|(b) stat 1,000 files, cold|cold|stat_all"
	"c|(c) read ${BIG_MIB} MiB sequential, cold|cold|read_big"
	"d|(d) write ${BIG_MIB} MiB + close|plain|write_big"
	"e|(e) tar x 2,000 small files|plain|untar"
	"f-cold|(f) git status, 1,000 files, cold|cold|git_status"
	"f-warm|(f) git status, 1,000 files, warm|warm|git_status"
	"g|(g) grep -r over 1,000 files, cold|cold|grep_r"
)
for row in "${rows[@]}"; do
	IFS='|' read -r key _ mode fn <<< "$row"
	measure "$key" e2bfs "$mode" "$fn"
	measure "$key" sshfs "$mode" "$fn"
done

# Transport ceiling for (c): the same file straight from e2bd with curl.
ct=()
for ((i = 0; i < RUNS; i++)); do
	ct+=("$(curl -fsS -o /dev/null -w '%{time_total}' -H "E2b-Sandbox-Id: $ID" -H 'E2b-Sandbox-Port: 49983' \
		"$E2B_API_URL/files?path=/home/user/bench/big.bin")")
done
curl_s=$(median "${ct[@]}")

printf '\n%-42s %9s %9s %12s %12s\n' "workload (median of $RUNS)" "e2bfs s" "sshfs s" "e2bfs/sshfs" "e2bfs reqs"
for row in "${rows[@]}"; do
	IFS='|' read -r key label _ _ <<< "$row"
	e=${R[$key,e2bfs]} s=${R[$key,sshfs]}
	python3 -c "print(f'%-42s %9.3f %9.3f %12s %12s' % ('$label', $e, $s, f'{$e / $s:.2f}' if $s > 0 else '-', '${R[$key,req]}'))"
done
python3 -c "print(f'%-42s %9.3f %9s %12s   (%.0f MB/s)' % ('(c) curl GET /files from e2bd (ceiling)', $curl_s, '', '', $BIG_MIB * 1048576 / $curl_s / 1e6))"
echo "e2bfs $(git -C "$SRC_DIR" rev-parse --short HEAD), $(sshfs --version 2>&1 | grep -i -m1 "sshfs version"), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), loopback"
echo "cold = fresh mount (e2bfs cache dir emptied); warm = after one untimed run; e2bfs reqs = envd requests in the last run"
