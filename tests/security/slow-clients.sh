#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# issue 9 item 5: 5,000 slow connections (request heads never finished,
# re-opened when the server closes them, all from 127.0.0.1) do not take
# e2bd down: a normal client on another loopback address keeps getting
# answers, the per-address cap and the header timeout are enforced, and
# reaching the cap is logged as a warning.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/security/common.bash"

start_e2bd slow --header-timeout 4 || { fail "e2bd starts" "$(tail -3 "$SEC_LOG")"; done_testing; }
E2BD_URL=$SEC_URL
# The attacker: 5,000 sockets from 127.0.0.1 for 12 s, each sending an
# unfinished request head; a socket the server closes is re-opened.
python3 - "$SEC_PORT" > "$TEST_TMP/attack.out" 2>&1 <<'PY' &
import resource, select, socket, sys, time
port, N, DUR = int(sys.argv[1]), 5000, 12
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, N + 500), hard))
head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "
socks, opened, failed, closed, peak = {}, 0, 0, 0, 0
poll = select.poll()
end = time.time() + DUR
last_trickle = 0
def drop(fd):
    global closed
    closed += 1
    poll.unregister(fd)
    socks.pop(fd).close()
while time.time() < end:
    burst = 0
    while len(socks) < N and time.time() < end and burst < 1000:
        burst += 1
        s = socket.socket()
        s.setblocking(False)
        s.bind(("127.0.0.1", 0))
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            failed += 1
            s.close()
            continue
        socks[s.fileno()] = s
        poll.register(s.fileno(), select.POLLIN)
        opened += 1
        try:
            s.send(head)
        except OSError:
            pass
    peak = max(peak, len(socks))
    # A socket the server closed reads EOF (or an error): re-open it.
    for fd, ev in poll.poll(200):
        if fd not in socks:
            continue
        try:
            if socks[fd].recv(1024) == b"":
                drop(fd)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            drop(fd)
    # Trickle one byte a second on each: the head never ends.
    if time.time() - last_trickle >= 1:
        last_trickle = time.time()
        for fd in list(socks):
            try:
                socks[fd].send(b"a")
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                drop(fd)
print("attack: opened %d sockets (%d connect errors), %d closed by the server, at most %d open at once"
      % (opened, failed, closed, peak))
PY
apid=$!
sleep 3
good=0 bad=0 codes=
for i in $(seq 30); do
	c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --interface 127.0.0.2 "$SEC_URL/health")
	if [ "$c" = 200 ]; then good=$((good + 1)); else bad=$((bad + 1)); codes="$codes $c"; fi
	sleep 0.2
done
c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --interface 127.0.0.2 -H @"$_lib_hdr" "$SEC_URL/sandboxes")
wait $apid
cat "$TEST_TMP/attack.out"
echo "normal client on 127.0.0.2 during the attack: $good answered, $bad not (${codes:-none}); GET /sandboxes: $c"
expect_eq "normal client answered every time during the attack" "30 0" "$good $bad"
expect_eq "management API answered during the attack" 200 "$c"
check "the attacker's connections were capped or closed" grep -qE 'closed by the server' "$TEST_TMP/attack.out"
closed=$(grep -o '[0-9]* closed by the server' "$TEST_TMP/attack.out" | awk '{print $1}')
check "the server closed slow connections (per-address cap or header timeout)" test "${closed:-0}" -gt 0
check "reaching the limit is logged as a warning" grep -q 'warn: connection refused' "$SEC_LOG"
grep 'warn: connection refused' "$SEC_LOG" | head -2
check "e2bd survived" kill -0 "$SEC_PID"
# The header timeout alone: one unfinished head is closed by the server.
out=$(python3 - "$SEC_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
t = time.time()
try:
    print("closed" if s.recv(100) == b"" else "answered")
except OSError as e:
    print("closed (%s)" % e.__class__.__name__ if not isinstance(e, socket.timeout) else "still open after 15 s")
PY
)
expect_eq "an unfinished request head is closed by the server (--header-timeout 4)" closed "${out%% *}"
done_testing
