#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/delayproxy, the round-trip-time proxy of bench/latency: bytes intact
# both ways in front of e2bd and under 40 concurrent connections, a
# half-close forwarded (the reply still comes back), the queue bounded when
# the receiver stops reading, SIGTERM exits 0.  No timing assertions.
. "$SRC_DIR/tests/lib.sh"

DP=$BUILD_DIR/bench/delayproxy
[ -x "$DP" ] || { fail "delayproxy built" "no $DP"; done_testing; }
D=$TEST_TMP/delayproxy
mkdir -p "$D"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; _lib_cleanup' EXIT

# start_proxy TARGET_PORT RTT_MS [MAX_QUEUE_MIB]: sets PPORT and PPID_
start_proxy() {
	local pf=$D/port.$RANDOM
	"$DP" --listen 127.0.0.1:0 --connect "127.0.0.1:$1" --rtt-ms "$2" ${3:+--max-queue "$3"} \
		--port-file "$pf" > /dev/null 2>> "$D/proxy.err" &
	PPID_=$!
	PIDS+=("$PPID_")
	for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
	PPORT=$(cat "$pf" 2>/dev/null)
}

# --- in front of e2bd: a 32 MiB file up and down through the proxy
ID=$(new_sandbox) || { fail "sandbox" "create failed"; done_testing; }
start_proxy "$E2BD_PORT" 10
head -c $((32 << 20)) /dev/urandom > "$D/up.bin"
up=$(curl -sS -o /dev/null -w '%{http_code}' -H "E2b-Sandbox-Id: $ID" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' --data-binary "@$D/up.bin" \
	"http://127.0.0.1:$PPORT/files?path=up.bin")
curl -sS -o "$D/down.bin" -H "E2b-Sandbox-Id: $ID" -H 'E2b-Sandbox-Port: 49983' \
	"http://127.0.0.1:$PPORT/files?path=up.bin"
if [ "$up" = 200 ] && cmp -s "$D/up.bin" "$D/down.bin"; then
	ok "32 MiB up and down through the proxy, intact"
else
	fail "32 MiB through the proxy" "upload $up, $(cmp "$D/up.bin" "$D/down.bin" 2>&1)"
fi
kill -TERM "$PPID_"
wait "$PPID_"
expect_eq "SIGTERM exits 0" 0 $?

# --- a local server: half-close, concurrency, backpressure
python3 - "$D" > "$D/server.out" 2>&1 <<'PY' &
import hashlib, os, socket, sys, threading, time
d = sys.argv[1]
def serve(ls, handler):
	while True:
		c, _ = ls.accept()
		threading.Thread(target=handler, args=(c,), daemon=True).start()
def digest(c):			# read to EOF, then answer with length and sha256
	h, n = hashlib.sha256(), 0
	while True:
		b = c.recv(1 << 16)
		if not b:
			break
		h.update(b)
		n += len(b)
	c.sendall(f"{n} {h.hexdigest()}".encode())
	c.close()
def stall(c):			# never reads
	time.sleep(600)
for name, h in (("digest", digest), ("stall", stall)):
	ls = socket.socket()
	ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
	ls.bind(("127.0.0.1", 0))
	ls.listen(64)
	open(f"{d}/{name}.port", "w").write(str(ls.getsockname()[1]))
	threading.Thread(target=serve, args=(ls, h), daemon=True).start()
time.sleep(600)
PY
PIDS+=($!)
for _ in $(seq 100); do [ -s "$D/stall.port" ] && break; sleep 0.05; done

start_proxy "$(cat "$D/digest.port")" 20
out=$(timeout 120 python3 - "$PPORT" <<'PY'
import hashlib, os, socket, sys, threading
port, bad = int(sys.argv[1]), []
def one(size):
	data = os.urandom(size)
	s = socket.create_connection(("127.0.0.1", port))
	s.sendall(data)
	s.shutdown(socket.SHUT_WR)	# the server answers only after our EOF
	r = b""
	while True:
		b = s.recv(4096)
		if not b:
			break
		r += b
	if r.decode() != f"{size} {hashlib.sha256(data).hexdigest()}":
		bad.append(size)
ts = [threading.Thread(target=one, args=(n,)) for n in [0, 1, 1000, 65536, 3 << 20] * 8]
[t.start() for t in ts]
[t.join() for t in ts]
print("bad", bad if bad else "none")
PY
)
expect_eq "40 concurrent connections, half-close forwarded, replies intact" "bad none" "$out"
kill "$PPID_"

# A receiver that never reads: the proxy stops reading at --max-queue
# (8 MiB here), so the sender blocks and the proxy stays small.
start_proxy "$(cat "$D/stall.port")" 0 8
timeout 20 python3 - "$PPORT" <<'PY' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
chunk = b"x" * (1 << 20)
for _ in range(256):
	s.sendall(chunk)
PY
SENDER=$!
PIDS+=("$SENDER")
sleep 3
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$PPID_/status")
if kill -0 "$SENDER" 2>/dev/null && [ -n "$rss" ] && [ "$rss" -lt $((48 * 1024)) ]; then
	ok "backpressure: sender blocked, proxy RSS ${rss} KiB for 256 MiB offered"
else
	fail "backpressure" "sender alive: $(kill -0 "$SENDER" 2>/dev/null && echo yes || echo no), proxy RSS ${rss:-?} KiB"
fi
kill "$SENDER" "$PPID_" 2>/dev/null
wait "$PPID_" 2>/dev/null
if [ -s "$D/proxy.err" ]; then
	fail "nothing on the proxy's stderr (sanitizers)" "$(head -c 300 "$D/proxy.err")"
else
	ok "nothing on the proxy's stderr (sanitizers)"
fi
done_testing
