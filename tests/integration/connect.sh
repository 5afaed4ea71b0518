#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Connect framing in e2bd: unary errors (empty body, bad JSON, content
# type, protocol version, timeout header, size limit), unknown procedures,
# stream envelopes (truncated, extra, flags), and, on an own e2bd with the
# test service (E2BD_TEST_RPC=1), keepalives, deadlines, disconnects,
# client streams split anywhere and many concurrent streams.
. "$SRC_DIR/tests/lib.sh"

field() { json_get "d.get('$1')"; }
st() { curl -sS -o "$TEST_TMP/st.out" -w '%{http_code}' "$@"; }
body() { cat "$TEST_TMP/st.out"; }
# envelope JSON [FLAGS]: one Connect envelope on stdout.
envelope() {
	python3 -c 'import sys,struct; d=sys.argv[1].encode(); sys.stdout.buffer.write(struct.pack(">BI",int(sys.argv[2]),len(d))+d)' "$1" "${2:-0}"
}
# frames FILE: decode a stream body into "flags:json" lines.
frames() {
	python3 -c '
import sys
b=open(sys.argv[1],"rb").read(); i=0
while i < len(b):
    n=int.from_bytes(b[i+1:i+5],"big"); print("%d:%s" % (b[i], b[i+5:i+5+n].decode())); i+=5+n' "$1"
}

ID=$(new_sandbox '{"templateID":"base","timeout":180}') || { fail "create sandbox" "no sandbox"; done_testing; }
U=$E2BD_URL/kruise/$ID/49983
J=(-H 'Content-Type: application/json')
CJ=(-H 'Content-Type: application/connect+json')

# --- unary
expect_eq "unary: empty body 400" 400 "$(st "${J[@]}" -X POST "$U/filesystem.Filesystem/Stat")"
expect_eq "unary: empty body invalid_argument" invalid_argument "$(body | field code)"
expect_eq "unary: empty body message" "zero-length payload is not a valid JSON object" "$(body | field message)"
expect_eq "unary: bad JSON 400" 400 "$(st "${J[@]}" -d '{"path":' "$U/filesystem.Filesystem/Stat")"
expect_eq "unary: bad JSON invalid_argument" invalid_argument "$(body | field code)"
expect_eq "unary: JSON array 400" 400 "$(st "${J[@]}" -d '[1]' "$U/filesystem.Filesystem/Stat")"
expect_eq "unary: text/plain 415" 415 "$(st -H 'Content-Type: text/plain' -d '{}' "$U/filesystem.Filesystem/Stat")"
expect_eq "unary: connect+json on a unary method 415" 415 "$(st "${CJ[@]}" -d '{}' "$U/filesystem.Filesystem/Stat")"
expect_eq "unary: charset accepted" 200 "$(st -H 'Content-Type: application/json; charset=utf-8' -d '{"path":"/"}' "$U/filesystem.Filesystem/Stat")"
expect_eq "unary: GET 405" 405 "$(st "$U/filesystem.Filesystem/Stat")"
expect_eq "unary: protocol version 2 is 400" 400 "$(st "${J[@]}" -H 'Connect-Protocol-Version: 2' -d '{}' "$U/filesystem.Filesystem/Stat")"
expect_eq "unary: bad Connect-Timeout-Ms 400" 400 "$(st "${J[@]}" -H 'Connect-Timeout-Ms: 12345678901' -d '{}' "$U/filesystem.Filesystem/Stat")"
expect_eq "unary: bad timeout invalid_argument" invalid_argument "$(body | field code)"
expect_eq "unary: gzip request body unimplemented" 501 "$(st "${J[@]}" -H 'Content-Encoding: gzip' -d '{}' "$U/filesystem.Filesystem/Stat")"
head -c $((4 * 1024 * 1024 + 10)) /dev/zero | tr '\0' ' ' > "$TEST_TMP/big.json"
expect_eq "unary: body over 4 MiB is 413" 413 "$(st "${J[@]}" --data-binary @"$TEST_TMP/big.json" "$U/filesystem.Filesystem/Stat")"
expect_eq "unary: 413 resource_exhausted" resource_exhausted "$(body | field code)"
expect_eq "unknown procedure 404" 404 "$(st "${J[@]}" -d '{}' "$U/filesystem.Filesystem/Nope")"
expect_eq "unknown service procedure 404" 404 "$(st "${J[@]}" -d '{}' "$U/process.Process/Nope")"
expect_eq "test service hidden by default" 404 "$(st "${J[@]}" -d '{}' "$U/e2bd.Test/Echo")"

# --- server stream request envelopes
stream_err() { # stream_err NAME BODY-FILE EXPECTED-CODE
	local code
	code=$(st "${CJ[@]}" --data-binary @"$2" "$U/filesystem.Filesystem/WatchDir")
	expect_eq "$1: 200" 200 "$code"
	expect_eq "$1: end-stream $3" "$3" "$(frames "$TEST_TMP/st.out" | sed -n 's/^2:\(.*\)/\1/p' | json_get "d['error']['code']")"
}
envelope '{"path":"/tmp"}' | head -c 9 > "$TEST_TMP/trunc"
stream_err "stream: truncated envelope" "$TEST_TMP/trunc" invalid_argument
printf '\0\0' > "$TEST_TMP/short"
stream_err "stream: 2-byte body" "$TEST_TMP/short" invalid_argument
: > "$TEST_TMP/empty"
stream_err "stream: empty body" "$TEST_TMP/empty" invalid_argument
{ envelope '{"path":"/tmp"}'; envelope '{"path":"/tmp"}'; } > "$TEST_TMP/two"
stream_err "stream: two messages" "$TEST_TMP/two" invalid_argument
envelope '{"path":"/tmp"}' 2 > "$TEST_TMP/flag2"
stream_err "stream: end-stream flag from client" "$TEST_TMP/flag2" invalid_argument
envelope '{"path":' > "$TEST_TMP/badjson"
stream_err "stream: bad JSON in envelope" "$TEST_TMP/badjson" invalid_argument
printf '\0\x7f\xff\xff\xff{}' > "$TEST_TMP/huge"
stream_err "stream: oversized length" "$TEST_TMP/huge" resource_exhausted
expect_eq "stream: application/json 415" 415 "$(st "${J[@]}" -d '{}' "$U/filesystem.Filesystem/WatchDir")"

# --- own e2bd with the test service
port=$(free_port)
( umask 077; printf '%s\n' "$E2B_API_KEY" > "$TEST_TMP/cn.key" )
E2BD_TEST_RPC=1 "$E2BD_BIN" --listen "127.0.0.1:$port" --state-dir "$TEST_TMP/cn.state" \
	--api-key-file "$TEST_TMP/cn.key" > "$TEST_TMP/cn.log" 2>&1 &
CNPID=$!
trap 'kill $CNPID 2>/dev/null; _lib_cleanup' EXIT
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && break; sleep 0.1; done
TID=$(curl -sS -H @"$_lib_hdr" -d '{"templateID":"base","timeout":180}' "http://127.0.0.1:$port/sandboxes" | field sandboxID)
T=http://127.0.0.1:$port/kruise/$TID/49983
stats() { curl -sS "${J[@]}" -d '{}' "$T/e2bd.Test/Stats" | field streams; }

expect_eq "test: unary echo" '{"a":[1,2]}' "$(curl -sS "${J[@]}" -d '{"a":[1,2]}' "$T/e2bd.Test/Echo")"
envelope '{"count":3,"intervalMs":100}' | curl -sS "${CJ[@]}" --data-binary @- -o "$TEST_TMP/tick" "$T/e2bd.Test/Tick"
expect_eq "stream: messages then {}" "0:{\"tick\":0} 0:{\"tick\":1} 0:{\"tick\":2} 2:{}" "$(frames "$TEST_TMP/tick" | tr '\n' ' ' | sed 's/ $//')"
envelope '{"count":1,"failCode":"not_found"}' | curl -sS "${CJ[@]}" --data-binary @- -o "$TEST_TMP/tickf" "$T/e2bd.Test/Tick"
expect_eq "stream: handler error in end-stream" not_found "$(frames "$TEST_TMP/tickf" | sed -n 's/^2:\(.*\)/\1/p' | json_get "d['error']['code']")"
envelope '{"count":2,"intervalMs":2500}' | curl -sS "${CJ[@]}" -H 'Keepalive-Ping-Interval: 1' --data-binary @- -o "$TEST_TMP/ka" "$T/e2bd.Test/Tick"
check "stream: keepalives every Keepalive-Ping-Interval" test "$(frames "$TEST_TMP/ka" | grep -c '^0:{"keepalive":{}}$')" -ge 2
start=$(date +%s%N)
envelope '{"count":100,"intervalMs":200}' | curl -sS "${CJ[@]}" -H 'Connect-Timeout-Ms: 700' --data-binary @- -o "$TEST_TMP/dl" "$T/e2bd.Test/Tick"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "stream: deadline_exceeded at Connect-Timeout-Ms" deadline_exceeded "$(frames "$TEST_TMP/dl" | sed -n 's/^2:\(.*\)/\1/p' | json_get "d['error']['code']")"
check "stream: deadline ends the stream in time ($ms ms)" test "$ms" -lt 2500
expect_eq "stream: bad timeout is an end-stream error" invalid_argument "$(envelope '{}' | curl -sS "${CJ[@]}" -H 'Connect-Timeout-Ms: x' --data-binary @- "$T/e2bd.Test/Tick" -o "$TEST_TMP/bt"; frames "$TEST_TMP/bt" | sed -n 's/^2:\(.*\)/\1/p' | json_get "d['error']['code']")"

# Disconnects: clients that vanish mid-stream must not leave handler threads behind.
envelope '{"count":1000,"intervalMs":60000}' > "$TEST_TMP/long"
cpids=()
for _ in $(seq 10); do
	curl -sS -m 4 "${CJ[@]}" --data-binary @"$TEST_TMP/long" -o /dev/null "$T/e2bd.Test/Tick" 2>/dev/null &
	cpids+=($!)
done
n=
for _ in $(seq 30); do n=$(stats); [ "$n" = 10 ] && break; sleep 0.1; done
expect_eq "disconnect: 10 streams live" 10 "$n"
wait "${cpids[@]}"
for _ in $(seq 40); do n=$(stats); [ "$n" = 0 ] && break; sleep 0.1; done
expect_eq "disconnect: every handler thread ended" 0 "$n"

# Client streams, envelopes split at every byte boundary (chunked upload).
python3 - "$TEST_TMP/cs" <<'EOF'
import struct, sys
out = b"".join(struct.pack(">BI", 0, len(m)) + m for m in [b'{"a":1}', b'{"b":"x"}', b'{}'])
open(sys.argv[1], "wb").write(out)
EOF
python3 - "127.0.0.1" "$port" "/kruise/$TID/49983/e2bd.Test/Count" "$TEST_TMP/cs" > "$TEST_TMP/cs.out" <<'EOF'
import socket, sys
host, port, path, f = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
data = open(f, "rb").read()
s = socket.create_connection((host, port))
s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/connect+json\r\n"
           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" % path).encode())
for b in data:  # one byte per chunk
    s.sendall(b"1\r\n" + bytes([b]) + b"\r\n")
s.sendall(b"0\r\n\r\n")
resp = b""
while True:
    c = s.recv(65536)
    if not c: break
    resp += c
head, _, body = resp.partition(b"\r\n\r\n")
if b"chunked" in head.lower():
    raw, rest = b"", body
    while rest:
        n, _, rest = rest.partition(b"\r\n")
        n = int(n, 16)
        if n == 0: break
        raw += rest[:n]; rest = rest[n + 2:]
    body = raw
print(head.split(b"\r\n")[0].decode())
i = 0
while i < len(body):
    n = int.from_bytes(body[i+1:i+5], "big"); print("%d:%s" % (body[i], body[i+5:i+5+n].decode())); i += 5 + n
EOF
expect_eq "client stream: byte-split chunks counted" 'HTTP/1.1 200 OK 0:{"count":3} 2:{}' "$(tr '\n' ' ' < "$TEST_TMP/cs.out" | sed 's/ $//')"
{ envelope '{"a":1}'; envelope '{"fail":1}'; } | curl -sS "${CJ[@]}" --data-binary @- -o "$TEST_TMP/csf" "$T/e2bd.Test/Count"
expect_eq "client stream: handler error" invalid_argument "$(frames "$TEST_TMP/csf" | sed -n 's/^2:\(.*\)/\1/p' | json_get "d['error']['code']")"
{ envelope '{"a":1}'; envelope '{"a":2}' | head -c 8; } | curl -sS "${CJ[@]}" --data-binary @- -o "$TEST_TMP/cst" "$T/e2bd.Test/Count"
expect_eq "client stream: truncated last envelope" invalid_argument "$(frames "$TEST_TMP/cst" | sed -n 's/^2:\(.*\)/\1/p' | json_get "d['error']['code']")"
expect_eq "client stream: empty body counts 0" "0:{\"count\":0} 2:{}" "$(curl -sS "${CJ[@]}" -X POST -o "$TEST_TMP/cse" "$T/e2bd.Test/Count"; frames "$TEST_TMP/cse" | tr '\n' ' ' | sed 's/ $//')"

# Pausing or killing a sandbox ends its open streams (its envd is gone).
for how in pause kill; do
	sid=$(curl -sS -H @"$_lib_hdr" -d '{"templateID":"base","timeout":120}' "http://127.0.0.1:$port/sandboxes" | field sandboxID)
	curl -sS -m 10 "${CJ[@]}" --data-binary @"$TEST_TMP/long" -o "$TEST_TMP/ab.$how" "http://127.0.0.1:$port/kruise/$sid/49983/e2bd.Test/Tick" &
	cp=$!
	sleep 0.5
	if [ $how = pause ]; then
		curl -sS -o /dev/null -X POST -H @"$_lib_hdr" "http://127.0.0.1:$port/sandboxes/$sid/pause"
	else
		curl -sS -o /dev/null -X DELETE -H @"$_lib_hdr" "http://127.0.0.1:$port/sandboxes/$sid"
	fi
	wait $cp
	expect_eq "$how ends open streams with unavailable" unavailable "$(frames "$TEST_TMP/ab.$how" | sed -n 's/^2:\(.*\)/\1/p' | json_get "d['error']['code']")"
	curl -sS -o /dev/null -X DELETE -H @"$_lib_hdr" "http://127.0.0.1:$port/sandboxes/$sid"
done

# Load: 200 concurrent envd requests while a long stream runs.
curl -sS -m 30 "${CJ[@]}" --data-binary @"$TEST_TMP/long" -o /dev/null "$T/e2bd.Test/Tick" 2>/dev/null &
LONG=$!
python3 - "$port" "$TID" > "$TEST_TMP/load.out" <<'EOF'
import sys, threading, http.client, time
port, tid = int(sys.argv[1]), sys.argv[2]
ok = [0]; lock = threading.Lock(); start = threading.Barrier(200)
def one():
    try:
        start.wait(10)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        c.request("POST", "/kruise/%s/49983/e2bd.Test/Echo" % tid, body=b'{"x":1}',
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        if r.status == 200 and r.read() == b'{"x":1}':
            with lock: ok[0] += 1
    except Exception as e:
        print(e, file=sys.stderr)
t0 = time.time()
ts = [threading.Thread(target=one) for _ in range(200)]
[t.start() for t in ts]; [t.join() for t in ts]
print(ok[0], round(time.time() - t0, 2))
EOF
expect_eq "load: 200 concurrent unary calls beside a long stream" 200 "$(cut -d' ' -f1 "$TEST_TMP/load.out")"
kill $LONG 2>/dev/null
wait $LONG 2>/dev/null
kill $CNPID 2>/dev/null
wait $CNPID 2>/dev/null
expect_eq "own e2bd: SIGTERM exits 0" 0 "$?"

done_testing
