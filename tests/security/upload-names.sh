#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# issue 9 item 15: an upload whose name is not valid UTF-8 is answered with
# its entry, as envd does (Go's JSON encoder writes each invalid byte as
# U+FFFD), never with an empty list while the file was written.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/security/common.bash"

id=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "$id"; done_testing; }
up() { # up QUERY FILENAME(python bytes literal): multipart upload, prints "STATUS BODY"
	python3 - "$E2BD_URL" "$id" "$1" "$2" <<'PY'
import sys, http.client, urllib.parse
url, sid, query, fname = sys.argv[1], sys.argv[2], sys.argv[3], eval(sys.argv[4])
u = urllib.parse.urlsplit(url)
b = b"----secb"
body = (b"--" + b + b"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + fname +
        b"\"\r\nContent-Type: application/octet-stream\r\n\r\nhello\r\n--" + b + b"--\r\n")
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
c.request("POST", "/files" + query, body, {"E2b-Sandbox-Id": sid,
          "Content-Type": "multipart/form-data; boundary=" + b.decode()})
r = c.getresponse()
print(r.status, r.read().decode("utf-8", "replace"))
PY
}
out=$(up "?path=/home/user/bad%ff%c3name.txt" "b'x'")
echo "upload to path=/home/user/bad%ff%c3name.txt: $out"
expect_eq "invalid UTF-8 path: 200 with the entry" \
	'200 [{"path":"/home/user/bad\ufffd\ufffdname.txt","name":"bad\ufffd\ufffdname.txt","type":"file"}]' \
	"$(python3 -c 'import sys,json; s,b=sys.argv[1].split(" ",1); print(s, json.dumps(json.loads(b), separators=(",",":")))' "$out" 2>&1)"
out=$(up "" "b'/home/user/fn\xe2\x82name\xed\xa0\x80.txt'")
echo "upload with filename fn\\xe2\\x82name\\xed\\xa0\\x80.txt: $out"
expect_eq "invalid UTF-8 filename (truncated sequence, surrogate): one entry" \
	'200 1 fn\ufffd\ufffdname\ufffd\ufffd\ufffd.txt' \
	"$(python3 -c 'import sys,json; s,b=sys.argv[1].split(" ",1); d=json.loads(b); print(s, len(d), json.dumps(d[0]["name"])[1:-1] if d else "")' "$out" 2>&1)"
sb_run "$id" 'ls /home/user | grep -c name'
expect_eq "both files were written" 2 "$SB_OUT"
out=$(up "?path=/home/user/ok-%c3%a9t%c3%a9.txt" "b'x'")
expect_eq "valid UTF-8 name unchanged" '200 ok-été.txt' "$(python3 -c 'import sys,json; s,b=sys.argv[1].split(" ",1); print(s, json.loads(b)[0]["name"])' "$out" 2>&1)"
done_testing
