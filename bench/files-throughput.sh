#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# GET /files of a 256 MiB file from e2bd against nginx serving the same
# bytes on the same machine, both over loopback HTTP/1.1 with curl.
# Prints per-run MB/s and the ratio e2bd/nginx (target: >= 0.80).
# Usage: bench/files-throughput.sh [BUILD_DIR] [SIZE_MIB] [RUNS]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
size_mib=${2:-256}
runs=${3:-5}
work=$(mktemp -d /tmp/e2bfs-bench.XXXXXX)
chmod 755 "$work"   # nginx workers run as an unprivileged user
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
e2bd_port=$(free_port)
nginx_port=$(free_port)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
	sleep 0.3
	rm -rf "$work"
}
trap cleanup EXIT

head -c $((size_mib << 20)) /dev/urandom > "$work/blob"
chmod 644 "$work/blob"
sum=$(sha256sum < "$work/blob" | cut -d' ' -f1)

# nginx: sendfile on, one worker per core, no access log: its best case.
mkdir -p "$work/www" "$work/ngx"
ln "$work/blob" "$work/www/blob"
cat > "$work/nginx.conf" <<NGX
daemon on;
worker_processes auto;
pid $work/nginx.pid;
error_log $work/ngx/error.log;
events { worker_connections 256; }
http {
	sendfile on; tcp_nopush on; access_log off;
	client_body_temp_path $work/ngx; proxy_temp_path $work/ngx; fastcgi_temp_path $work/ngx;
	uwsgi_temp_path $work/ngx; scgi_temp_path $work/ngx;
	server { listen 127.0.0.1:$nginx_port; root $work/www; }
}
NGX
nginx -c "$work/nginx.conf" -p "$work"

umask 077
printf 'e2b_bench%s\n' "$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')" > "$work/key"
umask 022
"$build/server/e2bd" --listen "127.0.0.1:$e2bd_port" --state-dir "$work/state" \
	--api-key-file "$work/key" --log-level warn 2> "$work/e2bd.log" &
pids+=($!)
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$e2bd_port/health" && break; sleep 0.1; done
printf 'X-API-Key: %s\n' "$(cat "$work/key")" > "$work/hdr"
id=$(curl -fsS -H @"$work/hdr" -H 'Content-Type: application/json' -d '{"templateID":"base","timeout":600}' \
	"http://127.0.0.1:$e2bd_port/sandboxes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sandboxID"])')
curl -fsS -o /dev/null -H "E2b-Sandbox-Id: $id" -H 'Content-Type: application/octet-stream' \
	--data-binary @"$work/blob" "http://127.0.0.1:$e2bd_port/files?path=/home/user/blob"

measure() { # measure URL [curl args...] -> MB/s
	local url=$1; shift
	curl -fsS -o /dev/null -w '%{speed_download}\n' "$@" "$url" | awk '{ printf "%.1f\n", $1 / 1048576 }'
}
# Both downloads are checked for identical bytes once.
got=$(curl -fsS -H "E2b-Sandbox-Id: $id" "http://127.0.0.1:$e2bd_port/files?path=/home/user/blob" | sha256sum | cut -d' ' -f1)
[ "$got" = "$sum" ] || { echo "e2bd returned different bytes"; exit 1; }
got=$(curl -fsS "http://127.0.0.1:$nginx_port/blob" | sha256sum | cut -d' ' -f1)
[ "$got" = "$sum" ] || { echo "nginx returned different bytes"; exit 1; }

e2bd_all=() nginx_all=()
for i in $(seq "$runs"); do
	n=$(measure "http://127.0.0.1:$nginx_port/blob")
	e=$(measure "http://127.0.0.1:$e2bd_port/files?path=/home/user/blob" -H "E2b-Sandbox-Id: $id")
	nginx_all+=("$n"); e2bd_all+=("$e")
	printf 'run %d: nginx %8.1f MB/s   e2bd %8.1f MB/s\n' "$i" "$n" "$e"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mn=$(median "${nginx_all[@]}")
me=$(median "${e2bd_all[@]}")
ratio=$(awk -v e="$me" -v n="$mn" 'BEGIN { printf "%.2f", e / n }')
echo "GET /files ${size_mib} MiB, median of $runs: nginx $mn MB/s, e2bd $me MB/s, ratio e2bd/nginx = $ratio (target >= 0.80)"
curl -fsS -o /dev/null -X DELETE -H @"$work/hdr" "http://127.0.0.1:$e2bd_port/sandboxes/$id"
