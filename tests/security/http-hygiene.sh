#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# issue 9 items 8, 9, 10: NUL bytes (%00) in paths and IDs are refused with
# 400 instead of being cut; control characters in a request cannot forge a
# log line; conflicting body framing (two Content-Length, Content-Length
# with chunked, an unknown Transfer-Encoding) gets 400 and a closed
# connection, so no request smuggled after the body is served.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/security/common.bash"

start_e2bd hyg || { fail "e2bd starts" "$(tail -3 "$SEC_LOG")"; done_testing; }
E2BD_URL=$SEC_URL
id=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "$id"; done_testing; }

# --- item 8: NUL bytes
envd "$id" GET "/files?path=/etc/passwd%00.png" > "$TEST_TMP/body"
out=$(cat "$TEST_TMP/body")
expect_eq "GET /files?path=/etc/passwd%00.png answers 400" 400 "$ENVD_STATUS"
case $out in *root:*) fail "GET /files?path=/etc/passwd%00.png serves no passwd" "$out" ;;
*) ok "GET /files?path=/etc/passwd%00.png serves no passwd (got: $out)" ;; esac
envd "$id" GET "/files%00/x?path=/etc/hostname" > /dev/null
expect_eq "NUL in an envd path answers 400" 400 "$ENVD_STATUS"
envd "$id" GET "/files?path=/etc/hostname" > /dev/null
expect_eq "the same request without NUL still works" 200 "$ENVD_STATUS"
api DELETE "/sandboxes/$id%00x" > /dev/null
expect_eq "DELETE /sandboxes/ID%00x answers 400" 400 "$API_STATUS"
api GET "/sandboxes/$id" > /dev/null
expect_eq "the sandbox ID%00x named is still alive" 200 "$API_STATUS"

# --- item 9: no forged log line
forged="2026-01-01T00:00:00.000Z e2bd error: forged-$$"
curl -gs -o /dev/null "$SEC_URL/sandboxes/x%0a${forged// /%20}%0d%1b[31m"
curl -gs -o /dev/null -H "E2b-Sandbox-Id: $id" "$SEC_URL/files%0a${forged// /%20}?path=/x"
sleep 0.2
n=$(grep -c "^$forged" "$SEC_LOG")
expect_eq "no log line starts with the forged text" 0 "$n"
check "the request is logged with its newline escaped" grep -q "x\\\\x0a2026-01-01T00:00:00.000Z e2bd error: forged-$$\\\\x0d\\\\x1b\\[31m" "$SEC_LOG"
check "no raw escape byte in the log" sh -c "! grep -q \$(printf '\\033') '$SEC_LOG'"

# --- item 10: request framing
raw() { # raw NAME BYTES(python literal): send, read until close (5 s), print what came back
	python3 - "$SEC_PORT" "$1" <<'PY'
import socket, sys, time
port, data = int(sys.argv[1]), eval(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(data)
got, end = b"", time.time() + 5
try:
    while time.time() < end:
        b = s.recv(65536)
        if not b:
            got += b"<closed>"
            break
        got += b
except socket.timeout:
    got += b"<open>"
print(got.decode("latin-1").replace("\r", ""))
PY
}
statuses() { grep -o 'HTTP/1.1 [0-9]*' | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//'; }

out=$(raw "b'POST /sandboxes HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}'")
expect_eq "two Content-Length: one 400" 400 "$(statuses <<< "$out")"
check "two Content-Length: connection closed" grep -q '<closed>' <<< "$out"
out=$(raw "b'POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled-$$ HTTP/1.1\r\nHost: x\r\n\r\n'")
echo "sent Content-Length + chunked with a request after the body; got: $(statuses <<< "$out") $(grep -o '<[a-z]*>' <<< "$out")"
expect_eq "Content-Length + chunked: one 400, nothing smuggled" 400 "$(statuses <<< "$out")"
check "Content-Length + chunked: connection closed" grep -q '<closed>' <<< "$out"
check "smuggled request never reached e2bd" sh -c "! grep -q 'smuggled-$$' '$SEC_LOG'"
out=$(raw "b'POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n'")
expect_eq "two Transfer-Encoding: 400" 400 "$(statuses <<< "$out")"
out=$(raw "b'POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'")
expect_eq "Transfer-Encoding other than chunked: 400" 400 "$(statuses <<< "$out")"
# Plain framings still work, pipelined on one connection.
out=$(raw "b'GET /health HTTP/1.1\r\nHost: x\r\n\r\nPOST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'")
st=$(statuses <<< "$out")
echo "pipelined plain, chunked and Content-Length requests: $st"
expect_eq "plain framings pipelined: three answers, none 400" "200 405 200" "$st"
done_testing
