#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The official E2B CLI (`e2b`, npm @e2b/cli, pinned) beside e2bctl for the
# lifecycle and command calls both offer, against one private e2bd through
# bench/delayproxy at each RTT: median milliseconds per call of RUNS calls,
# each a new process as a user or a script would run it, and the ratio
# e2bctl/e2b.  e2bctl runs as installed (its connection agent on) and, for
# `run`, also without the agent.  Prints; does not assert.
# Usage: bench/e2b-cli.sh [BUILD_DIR] [RUNS=10] [RTTS="0 20"]
# Needs e2bd, e2bctl and delayproxy built in BUILD_DIR, node and npm; the
# CLI is installed once into $E2BFS_BENCH_CACHE (default ~/.cache/e2bfs-bench).
set -eu
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "${1:-$SRC_DIR/build}" && pwd)
RUNS=${2:-10}
RTTS=${3:-"0 20"}
CLI_VERSION=2.19.0
CACHE=${E2BFS_BENCH_CACHE:-$HOME/.cache/e2bfs-bench}/e2b-cli-$CLI_VERSION
E2B=$CACHE/node_modules/.bin/e2b
E=$BUILD_DIR/tools/e2bctl
for t in node npm "$E" "$BUILD_DIR/server/e2bd" "$BUILD_DIR/bench/delayproxy"; do
	command -v "$t" >/dev/null || { echo "e2b-cli: '$t' not found (apt-get install nodejs npm; ninja -C BUILD_DIR)" >&2; exit 2; }
done
if [ ! -x "$E2B" ]; then
	echo "e2b-cli: installing @e2b/cli@$CLI_VERSION into $CACHE" >&2
	mkdir -p "$CACHE"
	(cd "$CACHE" && npm install --no-audit --no-fund --silent "@e2b/cli@$CLI_VERSION" >/dev/null)
fi

W=$(mktemp -d /tmp/e2bfs-e2bcli.XXXXXX)
PIDS=()
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
umask 077
printf 'e2b_%s\n' "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" > "$W/key"
umask 022
EP=$(port)
"$BUILD_DIR/server/e2bd" --listen "127.0.0.1:$EP" --state-dir "$W/state" --api-key-file "$W/key" \
	--log-level warn > "$W/e2bd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$EP/health" && break; sleep 0.1; done
# Both read the key from the environment, never from argv; the agent's
# socket lives in this run's own directory and goes with it.
export E2B_API_KEY
E2B_API_KEY=$(cat "$W/key")
export XDG_RUNTIME_DIR=$W E2BCTL_AGENT_IDLE=30

# ms 'COMMAND': median milliseconds of RUNS calls (one untimed first).
ms() {
	local i t0 t1 v=()
	eval "$1" > /dev/null 2>&1 || { echo "fail"; return; }
	for ((i = 0; i < RUNS; i++)); do
		t0=$(date +%s%N)
		eval "$1" > /dev/null 2>&1 || { echo "fail"; return; }
		t1=$(date +%s%N)
		v+=($(( (t1 - t0) / 1000 )))
	done
	printf '%s\n' "${v[@]}" | sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1000}'
}

printf '| call | RTT ms | e2b CLI %s ms | e2bctl ms | e2bctl/e2b |\n|---|---:|---:|---:|---:|\n' "$CLI_VERSION"
for rtt in $RTTS; do
	"$BUILD_DIR/bench/delayproxy" --listen 127.0.0.1:0 --connect "127.0.0.1:$EP" --rtt-ms "$rtt" \
		--port-file "$W/pp.$rtt" > "$W/dp.$rtt.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do [ -s "$W/pp.$rtt" ] && break; sleep 0.1; done
	pp=$(cat "$W/pp.$rtt")
	export E2B_API_URL=http://127.0.0.1:$pp E2B_SANDBOX_URL=http://127.0.0.1:$pp
	id=$("$E" create --timeout 600)
	row() {
		local a b r
		a=$(ms "$2")
		b=$(ms "$3")
		r=$(python3 -c "import sys; a, b = sys.argv[1:]; print('%.2f' % (float(b) / float(a)) if a != 'fail' and b != 'fail' else '-')" "$a" "$b")
		printf '| %s | %s | %s | %s | %s |\n' "$1" "$rtt" "$a" "$b" "$r"
	}
	row "list" "$E2B sandbox list" "$E list"
	row "info ID" "$E2B sandbox info $id" "$E info $id"
	row "logs ID" "$E2B sandbox logs $id" "$E logs $id"
	row "run ID true" "$E2B sandbox exec $id true" "$E run $id -- true"
	row "run ID true (no agent)" "$E2B sandbox exec $id true" "env E2BCTL_AGENT=no $E run $id -- true"
	row "pause + resume" "$E2B sandbox pause $id && $E2B sandbox resume $id" \
		"$E pause $id && $E resume $id"
	"$E" kill "$id" > /dev/null
done
echo
echo "e2bfs $(git -C "$SRC_DIR" rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); median of $RUNS calls, each a new process"
