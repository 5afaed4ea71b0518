#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# issue 9 item 1: a sandbox has a network namespace of its own.  From a
# sandbox, as `user` and as root: e2bd's port and a listener on the host's
# 127.0.0.1 are unreachable, so is a listener on the host side of the
# sandbox's veth; a raw AF_PACKET socket sees the sandbox's own loopback
# traffic but never the host's; another sandbox is unreachable.  A server
# in the sandbox answers through e2bd's routing (both forms, bodies both
# ways, chunked answers, HEAD; a closed port is E2B's 502).  Egress: a
# sandbox reaches an "internet" namespace this test creates (198.51.100.0/24,
# documentation range) through e2bd's NAT; with --network none it does not,
# nor with --network NAME=none for template NAME's sandboxes.
# Every check prints what it tried and what it got.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/security/common.bash"

C=${E2BCTL_BIN:?}
A=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox A" "no sandbox"; done_testing; }
B=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox B" "no sandbox"; done_testing; }

# sbrun ID USER CMD: run CMD with bash in sandbox ID as USER; stdout+stderr.
sbrun() { "$C" run -n -u "$2" "$1" "$3" 2>&1; }

# probe: python3 that connects to $1:$2 (2 s) and prints what happened.
PROBE='import socket,sys
s=socket.socket(); s.settimeout(2)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); s.settimeout(2)
    try: d=s.recv(64)
    except Exception as e: d=b""
    print("connected", d.decode(errors="replace").strip())
except Exception as e:
    print("failed", type(e).__name__)'
probe() { sbrun "$1" "$2" "python3 -c '$PROBE' $3 $4"; }

# expect_unreachable NAME ID USER HOST PORT: a connection must not be made.
expect_unreachable() {
	local out
	out=$(probe "$2" "$3" "$4" "$5" | tail -n 1)
	echo "# $1: tried $4:$5 from sandbox as $3, got: $out"
	case $out in
	failed*) ok "$1" ;;
	*) fail "$1" "got '$out'" ;;
	esac
}

MARK=e2bsec-$$-$RANDOM
PIDS=()
NETNS=
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	if [ -n "$NETNS" ]; then
		ip link del "sn$$h" 2>/dev/null
		ip netns del "$NETNS" 2>/dev/null
	fi
	_lib_cleanup
}
trap cleanup EXIT

# get_until URL WANT: GET URL until it answers WANT (10 s); prints the last answer.
get_until() {
	local got= i
	for i in $(seq 50); do
		got=$(curl -sS "$1" 2>/dev/null)
		[ "$got" = "$2" ] && break
		sleep 0.2
	done
	printf '%s' "$got"
}

# A host listener that greets every client with $MARK: listen ADDR PORT.
listen() {
	python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(16); s.settimeout(120)
while True:
    try: c,_=s.accept()
    except Exception: break
    c.sendall(sys.argv[3].encode()+b"\n"); c.close()' "$1" "$2" "$MARK" &
	PIDS+=($!)
}
wait_listen() { # wait_listen ADDR PORT: until the host can connect
	local i
	for i in $(seq 50); do
		python3 -c 'import socket,sys; socket.create_connection((sys.argv[1],int(sys.argv[2])),1)' "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- (a) e2bd's own port on 127.0.0.1
for u in user root; do
	expect_unreachable "($u) e2bd's port on 127.0.0.1 is unreachable" "$A" $u 127.0.0.1 "$E2BD_PORT"
done

# --- (b) a listener on the host's 127.0.0.1
HP=$(free_port)
listen 127.0.0.1 "$HP"
wait_listen 127.0.0.1 "$HP" && echo "# host listener on 127.0.0.1:$HP answers the host"
for u in user root; do
	expect_unreachable "($u) host listener on 127.0.0.1 is unreachable" "$A" $u 127.0.0.1 "$HP"
done
out=$(sbrun "$A" user 'cat /proc/net/tcp /proc/net/tcp6 | awk "NR>1 {print \$2}" | cut -d: -f2 | sort -u' | tr '\n' ' ')
hexp=$(printf '%04X' "$E2BD_PORT")
echo "# /proc/net/tcp ports seen in the sandbox: $out"
case " $out " in
*" $hexp "*) fail "e2bd's port is not in the sandbox's /proc/net/tcp" "found $hexp" ;;
*) ok "e2bd's port is not in the sandbox's /proc/net/tcp" ;;
esac

# The host side of the sandbox's veth (its default gateway), if it has one.
GWAWK="awk '\$2 == \"00000000\" { g=\$3; printf \"%d.%d.%d.%d\", \"0x\" substr(g,7,2), \"0x\" substr(g,5,2), \"0x\" substr(g,3,2), \"0x\" substr(g,1,2) }' /proc/net/route"
GW=$(sbrun "$A" user "$GWAWK" | tail -n 1)
EGRESS=0
# Only a gateway in e2bd's default pool is the veth's: never probe another.
case $GW in 10.231.*) ;; *) [ -n "$GW" ] && echo "# default route via $GW is not a sandbox veth"; GW= ;; esac
if [ -n "$GW" ]; then
	EGRESS=1
	echo "# sandbox A has a default route via $GW (veth + NAT)"
	GP=$(free_port)
	listen "$GW" "$GP"
	wait_listen "$GW" "$GP" && echo "# host listener on $GW:$GP answers the host"
	for u in user root; do
		expect_unreachable "($u) host listener on the veth's host side is unreachable" "$A" $u "$GW" "$GP"
		expect_unreachable "($u) e2bd's port via the veth's host side is unreachable" "$A" $u "$GW" "$E2BD_PORT"
	done
elif [ "$(id -u)" = 0 ] && command -v nft > /dev/null; then
	fail "sandbox has a default route (root, nft installed)" "no default route in the sandbox"
else
	skip "veth checks" "no egress (e2bd without root or without nftables)"
fi

# --- (c) raw sockets see the sandbox's loopback only
SNIFF='import socket,sys,time
s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.settimeout(0.2)
own=sys.argv[1]+"-inside"
u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
seen_own=seen_host=False; n=0; end=time.time()+float(sys.argv[2])
while time.time() < end:
    u.sendto(own.encode(), ("127.0.0.1", 9))
    try: p=s.recv(65535)
    except socket.timeout: continue
    n+=1
    if own.encode() in p: seen_own=True
    elif sys.argv[1].encode() in p: seen_host=True
print("packets", n, "own", seen_own, "host", seen_host)'
SP=$(free_port)
listen 127.0.0.1 "$SP"
wait_listen 127.0.0.1 "$SP"
sbrun "$A" root "python3 -c '$SNIFF' $MARK 3" > "$TEST_TMP/sniff.out" &
sniffer=$!
# The marker crosses the host's loopback for as long as the sniffer runs.
for _ in $(seq 30); do
	python3 -c 'import socket,sys; u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(sys.argv[1].encode(), ("127.0.0.1", 9)); socket.create_connection(("127.0.0.1", int(sys.argv[2])), 1).recv(64)' "$MARK" "$SP" 2>/dev/null
	kill -0 $sniffer 2>/dev/null || break
	sleep 0.1
done
wait $sniffer
out=$(tail -n 1 "$TEST_TMP/sniff.out")
echo "# root AF_PACKET sniffer in the sandbox for 3 s while the host sent '$MARK' over its loopback: $out"
case $out in
"packets "*" own True host False") ok "(root) raw socket sees its own loopback, not the host's" ;;
*) fail "(root) raw socket sees its own loopback, not the host's" "got '$out'" ;;
esac
out=$(sbrun "$A" user "python3 -c 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)' 2>&1 | tail -n 1")
echo "# (user) AF_PACKET socket: $out"
case $out in
*PermissionError*) ok "(user) cannot open a raw socket" ;;
*) fail "(user) cannot open a raw socket" "got '$out'" ;;
esac

# --- (d) a server in the sandbox answers through e2bd's routing
SERVER='import http.server,sys,hashlib
class H(http.server.BaseHTTPRequestHandler):
    protocol_version="HTTP/1.1"
    def log_message(self,*a): pass
    def do_GET(self):
        if self.path.startswith("/chunked"):
            self.send_response(200); self.send_header("Transfer-Encoding","chunked"); self.end_headers()
            for i in range(50):
                c=("line %d\n" % i).encode()*100
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            self.wfile.write(b"0\r\n\r\n"); return
        b=("%s %s %s\n" % (sys.argv[1], self.path, self.headers.get("X-Test",""))).encode()
        self.send_response(200); self.send_header("Content-Length",str(len(b))); self.send_header("X-From","sandbox"); self.end_headers()
        self.wfile.write(b)
    def do_HEAD(self):
        self.send_response(200); self.send_header("Content-Length","1234"); self.end_headers()
    def do_POST(self):
        if self.headers.get("Transfer-Encoding","") == "chunked":
            d=b""
            while True:
                n=int(self.rfile.readline().strip(),16)
                if n == 0: self.rfile.readline(); break
                d+=self.rfile.read(n); self.rfile.readline()
        else:
            d=self.rfile.read(int(self.headers.get("Content-Length","0")))
        b=("%d %s\n" % (len(d), hashlib.sha256(d).hexdigest())).encode()
        self.send_response(201); self.send_header("Content-Length",str(len(b))); self.end_headers()
        self.wfile.write(b)
http.server.ThreadingHTTPServer(("0.0.0.0",8000),H).serve_forever()'
printf '%s' "$SERVER" > "$TEST_TMP/server.py"
"$C" cp "$TEST_TMP/server.py" "$A:/tmp/server.py" > /dev/null 2>&1
"$C" start "$A" --user user -- "python3 /tmp/server.py $MARK" > /dev/null
for _ in $(seq 50); do
	sbrun "$A" user "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\",8000),1)'" > /dev/null 2>&1 && break
	sleep 0.2
done
R="$E2BD_URL/kruise/$A/8000"
got=$(curl -sS -H 'X-Test: hi' "$R/hello?a=1&b=%2F")
echo "# GET $R/hello?a=1&b=%2F -> $got"
expect_eq "(d) path form reaches the sandbox's port 8000 (path and query kept)" "$MARK /hello?a=1&b=%2F hi" "$got"
got=$(curl -sS -H "Host: 8000-$A.localhost" "$E2BD_URL/x/y")
echo "# GET /x/y with Host 8000-$A.localhost -> $got"
expect_eq "(d) host form reaches the sandbox's port 8000" "$MARK /x/y " "$got"
got=$(curl -sS "$R")
expect_eq "(d) path form without a trailing slash asks for /" "$MARK / " "$got"
got=$(curl -sS -H "E2b-Sandbox-Id: $A" -H 'E2b-Sandbox-Port: 8000' "$E2BD_URL/hdr")
expect_eq "(d) header form (E2b-Sandbox-Port: 8000) reaches the sandbox's port 8000" "$MARK /hdr " "$got"
got=$(curl -sS -D - -o /dev/null "$R/h" | tr -d '\r' | grep -i '^x-from:')
expect_eq "(d) the server's headers come back" "X-From: sandbox" "$got"
head -c 3000000 /dev/urandom > "$TEST_TMP/body"
want="3000000 $(sha256sum "$TEST_TMP/body" | cut -d' ' -f1)"
got=$(curl -sS -w ' %{http_code}' --data-binary @"$TEST_TMP/body" "$R/up")
expect_eq "(d) a 3 MB POST body arrives whole (Content-Length)" "$want 201" "$(echo $got)"
got=$(curl -sS -w ' %{http_code}' -H 'Transfer-Encoding: chunked' --data-binary @"$TEST_TMP/body" "$R/up")
expect_eq "(d) a chunked POST body arrives whole" "$want 201" "$(echo $got)"
want=$(python3 -c 'import sys; sys.stdout.write("".join(("line %d\n" % i)*100 for i in range(50)))' | sha256sum | cut -d' ' -f1)
got=$(curl -sS "$R/chunked" | sha256sum | cut -d' ' -f1)
expect_eq "(d) a chunked answer comes back whole" "$want" "$got"
got=$(curl -sS -I "$R/h" | tr -d '\r' | grep -i '^content-length:')
expect_eq "(d) HEAD keeps the Content-Length" "Content-Length: 1234" "$got"
# WebSocket: a raw upgrade server in the sandbox (101, then upper-cases what
# it gets); the client talks to it through e2bd's routing.
WS='import socket,threading
def h(c):
    d=b""
    while b"\r\n\r\n" not in d:
        x=c.recv(4096)
        if not x: return
        d+=x
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\nws-ready;")
    c.sendall(d.split(b"\r\n\r\n",1)[1])
    while True:
        x=c.recv(4096)
        if not x: break
        c.sendall(x.upper())
    c.close()
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",8765)); s.listen(8)
while True:
    c,_=s.accept(); threading.Thread(target=h,args=(c,),daemon=True).start()'
printf '%s' "$WS" > "$TEST_TMP/ws.py"
"$C" cp "$TEST_TMP/ws.py" "$A:/tmp/ws.py" > /dev/null 2>&1
"$C" start "$A" -- "python3 /tmp/ws.py" > /dev/null
WSC='import socket,sys
s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); s.settimeout(10)
s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\nearly;" % (sys.argv[2], sys.argv[3])).encode())
d=b""
while d.count(b";") < 2:
    x=s.recv(4096)
    if not x: break
    d+=x
head,_,rest=d.partition(b"\r\n\r\n")
s.sendall(b"ping;")
while rest.count(b";") < 3:
    x=s.recv(4096)
    if not x: break
    rest+=x
s.shutdown(socket.SHUT_WR)
eof=s.recv(10)
print(head.split(b"\r\n")[0].decode(), rest.decode(), "eof" if eof == b"" else "more")'
for _ in $(seq 50); do
	sbrun "$A" user "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\",8765),1)'" > /dev/null 2>&1 && break
	sleep 0.2
done
got=$(python3 -c "$WSC" "$E2BD_PORT" "/kruise/$A/8765/ws" x 2>&1 | tail -n 1)
echo "# WebSocket upgrade via /kruise/$A/8765/ws: $got"
expect_eq "(d) a WebSocket upgrade is relayed both ways (path form)" "HTTP/1.1 101 Switching Protocols ws-ready;EARLY;PING; eof" "$got"
got=$(python3 -c "$WSC" "$E2BD_PORT" "/ws" "8765-$A.localhost" 2>&1 | tail -n 1)
expect_eq "(d) a WebSocket upgrade is relayed both ways (host form)" "HTTP/1.1 101 Switching Protocols ws-ready;EARLY;PING; eof" "$got"

code=$(curl -sS -o "$TEST_TMP/closed" -w '%{http_code}' "$E2BD_URL/kruise/$A/8001/")
echo "# GET a closed port -> $code $(cat "$TEST_TMP/closed")"
expect_eq "(d) a closed port answers E2B's 502" "502 {\"sandboxId\":\"$A\",\"message\":\"The sandbox is running but port is not open\",\"port\":8001,\"code\":502}" "$code $(cat "$TEST_TMP/closed")"
got=$(curl -sS -o /dev/null -w '%{http_code}' "$E2BD_URL/kruise/$B/8000/")
expect_eq "(d) port 8000 of another sandbox is that sandbox's (closed: 502)" 502 "$got"

# --- sandbox to sandbox
if [ $EGRESS = 1 ]; then
	IPA=${GW%.*}.$((${GW##*.} + 1))
	echo "# sandbox A's eth0 address: $IPA"
	# A server bound to eth0's address only is reached as on E2B.
	"$C" start "$A" -- "mkdir -p /tmp/e0 && echo eth0-$MARK > /tmp/e0/f && cd /tmp/e0 && python3 -m http.server 8002 --bind $IPA" > /dev/null
	expect_eq "(d) a server bound to the sandbox's eth0 address answers" "eth0-$MARK" \
		"$(get_until "$E2BD_URL/kruise/$A/8002/f" "eth0-$MARK")"
	for u in user root; do
		expect_unreachable "($u) sandbox B cannot reach sandbox A's server" "$B" $u "$IPA" 8000
	done
fi

# --- (e) egress through NAT to an "internet" namespace this test creates
if [ $EGRESS = 1 ] && command -v ip > /dev/null; then
	NETNS=e2bsec-inet-$$
	# A run killed before its cleanup leaves its namespace, and with it
	# the host side's fixed address and route: remove those of dead runs.
	for ns in $(ip netns list 2>/dev/null | awk '/^e2bsec-inet-[0-9]+/ {print $1}'); do
		kill -0 "${ns##*-}" 2>/dev/null || ip netns del "$ns" 2>/dev/null
	done
	ip netns add "$NETNS" &&
	ip link add "sn$$h" type veth peer name "sn$$p" netns "$NETNS" &&
	ip addr add 198.51.100.1/24 dev "sn$$h" && ip link set "sn$$h" up &&
	ip -n "$NETNS" addr add 198.51.100.2/24 dev "sn$$p" &&
	ip -n "$NETNS" link set "sn$$p" up && ip -n "$NETNS" link set lo up &&
	ip -n "$NETNS" addr add 169.254.77.77/32 dev "sn$$p" &&
	ip route add 169.254.77.77/32 dev "sn$$h" || fail "(e) set up the internet namespace"
	mkdir -p "$TEST_TMP/www"
	ip netns exec "$NETNS" python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(16); s.settimeout(120)
while True:
    try: c,a=s.accept()
    except Exception: break
    c.sendall(("%s from %s\n" % (sys.argv[1], a[0])).encode()); c.close()' "$MARK" &
	PIDS+=($!)
	for _ in $(seq 50); do
		ip netns exec "$NETNS" python3 -c 'import socket; socket.create_connection(("198.51.100.2",8080),1)' 2>/dev/null && break
		sleep 0.1
	done
	for u in user root; do
		out=$(probe "$A" $u 198.51.100.2 8080 | tail -n 1)
		echo "# ($u) sandbox A -> 198.51.100.2:8080 in the test's namespace: $out"
		expect_eq "($u) egress reaches the internet namespace, masqueraded" "connected $MARK from 198.51.100.1" "$out"
	done

	# Link-local addresses (a cloud's metadata service) stay out of reach;
	# this one lives in the test's namespace, routed by the test.
	check "(e) the host reaches 169.254.77.77:8080 in the test's namespace" \
		python3 -c 'import socket; socket.create_connection(("169.254.77.77", 8080), 2).recv(64)'
	for u in user root; do
		expect_unreachable "($u) link-local 169.254.77.77 (metadata-service range) is unreachable" "$A" $u 169.254.77.77 8080
	done

	# allow_internet_access: false (the SDKs' allowInternetAccess) on create.
	NI=$(new_sandbox '{"templateID":"base","timeout":120,"allow_internet_access":false}')
	links=$(sbrun "$NI" user "awk -F: 'NR>2 {gsub(/ /,\"\",\$1); print \$1}' /proc/net/dev | sort | tr '\n' ' '")
	echo "# allow_internet_access false: sandbox $NI has links: $links"
	expect_eq "(e) allow_internet_access false: loopback only" "lo " "$links"
	out=$(probe "$NI" root 198.51.100.2 8080 | tail -n 1)
	echo "# allow_internet_access false: sandbox -> 198.51.100.2:8080: $out"
	case $out in
	failed*) ok "(e) allow_internet_access false: no egress" ;;
	*) fail "(e) allow_internet_access false: no egress" "got '$out'" ;;
	esac

	# An e2bd restart: the sandbox comes back paused, its veth gone; resumed,
	# it has a new one, egress and its ports again.
	port=$(free_port)
	( umask 077; printf '%s\n' "$E2B_API_KEY" > "$TEST_TMP/rs.key" )
	# (with a template of bash alone whose sandboxes have loopback only)
	TPL=$TEST_TMP/mini-rootfs
	mini_rootfs "$TPL"
	start_rs() {
		"$E2BD_BIN" --listen "127.0.0.1:$port" --state-dir "$TEST_TMP/rs.state" \
			--template "mini=$TPL" --network mini=none \
			--api-key-file "$TEST_TMP/rs.key" >> "$TEST_TMP/rs.log" 2>&1 &
		RSPID=$!
		PIDS+=($RSPID)
		for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && break; sleep 0.1; done
	}
	rs() { E2B_API_URL=http://127.0.0.1:$port E2B_SANDBOX_URL=http://127.0.0.1:$port "$C" "$@" 2>&1; }
	start_rs
	RS=$(rs create base)
	rgw=$(rs run -n "$RS" "$GWAWK" | tail -n 1)
	before=$(ip -o addr show to "$rgw" | awk '{print $2}')
	kill $RSPID; wait $RSPID 2>/dev/null
	after=$(ip -o addr show to "$rgw" | awk '{print $2}')
	echo "# e2bd stopped: host link holding sandbox $RS's gateway $rgw before/after: '$before'/'$after'"
	check "(e) e2bd's exit removes its sandboxes' veths" test -n "$before" -a -z "$after"
	start_rs
	rs resume "$RS" > /dev/null
	out=$(rs run -n -u root "$RS" "python3 -c '$PROBE' 198.51.100.2 8080" | tail -n 1)
	echo "# sandbox $RS after an e2bd restart and resume: $out"
	expect_eq "(e) after an e2bd restart a resumed sandbox has egress again" "connected $MARK from 198.51.100.1" "$out"
	rs start "$RS" "cd /tmp && echo restarted-$MARK > r.txt && python3 -m http.server 8000" > /dev/null
	expect_eq "(d) after an e2bd restart the sandbox's port answers" "restarted-$MARK" \
		"$(get_until "http://127.0.0.1:$port/kruise/$RS/8000/r.txt" "restarted-$MARK")"
	rs kill "$RS" > /dev/null
	# --network mini=none: template mini's sandboxes alone have loopback only.
	MINI=$(rs create mini)
	links=$(rs run -n "$MINI" 'i=0; while IFS=: read -r n _; do i=$((i + 1)); [ $i -gt 2 ] && printf "%s " $n; done < /proc/net/dev')
	echo "# --network mini=none: mini sandbox $MINI has links: $links (base sandbox $RS had eth0)"
	expect_eq "(e) --network mini=none: template mini's sandbox has loopback only" "lo " "$links"
	rs kill "$MINI" > /dev/null
	kill $RSPID; wait $RSPID 2>/dev/null

	# --network none: a second e2bd whose sandboxes have loopback only.
	port=$(free_port)
	( umask 077; printf '%s\n' "$E2B_API_KEY" > "$TEST_TMP/none.key" )
	"$E2BD_BIN" --listen "127.0.0.1:$port" --state-dir "$TEST_TMP/none.state" --network none \
		--api-key-file "$TEST_TMP/none.key" > "$TEST_TMP/none.log" 2>&1 &
	NPID=$!
	PIDS+=($NPID)
	for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && break; sleep 0.1; done
	N=$(E2B_API_URL=http://127.0.0.1:$port E2B_SANDBOX_URL=http://127.0.0.1:$port "$C" create base 2>&1)
	links=$(E2B_API_URL=http://127.0.0.1:$port E2B_SANDBOX_URL=http://127.0.0.1:$port "$C" run -n "$N" "awk -F: 'NR>2 {gsub(/ /,\"\",\$1); print \$1}' /proc/net/dev | sort | tr '\n' ' '" 2>&1)
	echo "# --network none: sandbox $N has links: $links"
	expect_eq "(e) --network none: loopback only" "lo " "$links"
	out=$(E2B_API_URL=http://127.0.0.1:$port E2B_SANDBOX_URL=http://127.0.0.1:$port "$C" run -n -u root "$N" "python3 -c '$PROBE' 198.51.100.2 8080" 2>&1 | tail -n 1)
	echo "# --network none: sandbox -> 198.51.100.2:8080: $out"
	case $out in
	failed*) ok "(e) --network none: no egress" ;;
	*) fail "(e) --network none: no egress" "got '$out'" ;;
	esac
	kill $NPID 2>/dev/null
	wait $NPID 2>/dev/null
elif [ $EGRESS = 1 ]; then
	skip "(e) egress" "no ip(8) to build the test's internet namespace"
fi

# --- veths go with their sandboxes
if [ $EGRESS = 1 ]; then
	GWB=$(sbrun "$B" user "$GWAWK" | tail -n 1)
	before=$(ip -o addr show to "$GWB" | awk '{print $2}')
	api DELETE "/sandboxes/$B" > /dev/null
	after=$(ip -o addr show to "$GWB" | awk '{print $2}')
	echo "# host link holding sandbox B's gateway $GWB before/after killing B: '$before'/'$after'"
	check "killing a sandbox removes its veth" test -n "$before" -a -z "$after"
fi

done_testing
