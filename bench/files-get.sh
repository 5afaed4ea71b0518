#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# GET /files throughput of e2bd against nginx serving the same file on the
# same machine.  Usage: bench/files-get.sh [BUILD_DIR] [SIZE_MIB] [RUNS]
# Prints the median of each and the ratio; exits 1 below 0.80 (the goal).
set -eu
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "${1:-$SRC_DIR/build}" && pwd)
SIZE_MIB=${2:-256}
RUNS=${3:-7}
command -v nginx >/dev/null || { echo "files-get: nginx not installed" >&2; exit 2; }

W=$(mktemp -d /tmp/e2bd-bench.XXXXXX)
chmod 755 "$W"	# nginx workers run as nobody
E2BD_PID= NGINX_CONF=
cleanup() {
	[ -n "$NGINX_CONF" ] && nginx -c "$NGINX_CONF" -p "$W" -s stop 2>/dev/null || true
	[ -n "$E2BD_PID" ] && kill "$E2BD_PID" 2>/dev/null && wait "$E2BD_PID" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

umask 077
printf 'e2b_%s\n' "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" > "$W/key"
umask 022
printf 'X-API-Key: %s\n' "$(cat "$W/key")" > "$W/hdr"
EP=$(port)
"$BUILD_DIR/server/e2bd" --listen "127.0.0.1:$EP" --state-dir "$W/state" \
	--api-key-file "$W/key" --log-level warn > "$W/e2bd.log" 2>&1 &
E2BD_PID=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$EP/health" && break; sleep 0.1; done
kill -0 "$E2BD_PID" 2>/dev/null || { cat "$W/e2bd.log" >&2; exit 2; }
ID=$(curl -fsS -H @"$W/hdr" -H 'Content-Type: application/json' -d '{"templateID":"base"}' \
	"http://127.0.0.1:$EP/sandboxes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sandboxID"])')

mkdir -p "$W/www"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom > "$W/www/big.bin"
curl -fsS -o /dev/null -H "E2b-Sandbox-Id: $ID" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' --data-binary "@$W/www/big.bin" \
	"http://127.0.0.1:$EP/files?path=big.bin"

NP=$(port)
NGINX_CONF=$W/nginx.conf
cat > "$NGINX_CONF" <<EOF
worker_processes 1;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  server { listen 127.0.0.1:$NP; root $W/www; }
}
EOF
nginx -c "$NGINX_CONF" -p "$W"
sleep 0.3

# One warm-up each, then alternate so both see the same cache and load.
curl -fsS -o /dev/null "http://127.0.0.1:$NP/big.bin"
curl -fsS -o /dev/null -H "E2b-Sandbox-Id: $ID" -H 'E2b-Sandbox-Port: 49983' "http://127.0.0.1:$EP/files?path=big.bin"
: > "$W/n"; : > "$W/e"
for _ in $(seq "$RUNS"); do
	curl -fsS -o /dev/null -w '%{speed_download}\n' "http://127.0.0.1:$NP/big.bin" >> "$W/n"
	curl -fsS -o /dev/null -w '%{speed_download}\n' -H "E2b-Sandbox-Id: $ID" \
		-H 'E2b-Sandbox-Port: 49983' "http://127.0.0.1:$EP/files?path=big.bin" >> "$W/e"
done
median() { sort -g "$1" | awk '{v[NR]=$1} END {print v[int((NR + 1) / 2)]}'; }
n=$(median "$W/n"); e=$(median "$W/e")
python3 - "$n" "$e" "$SIZE_MIB" "$RUNS" <<'EOF'
import sys
n, e = float(sys.argv[1]), float(sys.argv[2])
print(f"GET {sys.argv[3]} MiB x {sys.argv[4]} (median): nginx {n/1e6:.0f} MB/s, e2bd {e/1e6:.0f} MB/s, ratio {e/n:.2f}")
sys.exit(0 if e >= 0.8 * n else 1)
EOF
