#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# envd filesystem surface of e2bd against a running server: every
# Filesystem RPC and its envd quirks, /files download (Range) and upload
# (multipart, octet-stream, metadata), compose, health/envs/metrics, watch
# streams and polling watchers, secure sandboxes, and escape attempts.
set -u
. "$SRC_DIR/tests/lib.sh"

T=$TEST_TMP/files.$$
mkdir -p "$T"
HOSTPORT=${E2BD_URL#http://}

# py: a Python helper with the stream client and JSON assertions loaded.
cat > "$T/h.py" <<'EOF'
import http.client, json, os, struct, sys, time, threading, subprocess
HP = os.environ["E2BD_URL"][len("http://"):]
HOST, PORT = HP.rsplit(":", 1)

def stream(sid, proc, req, headers=None, until=None, timeout=10, on_start=None):
    """Server-stream Connect call; returns (status, [(flags, msg)...])."""
    c = http.client.HTTPConnection(HOST, int(PORT), timeout=timeout)
    body = json.dumps(req).encode()
    h = {"Content-Type": "application/connect+json", "Connect-Protocol-Version": "1",
         "E2b-Sandbox-Id": sid, "E2b-Sandbox-Port": "49983"}
    h.update(headers or {})
    c.request("POST", "/" + proc, struct.pack(">BI", 0, len(body)) + body, h)
    r = c.getresponse()
    msgs, buf = [], b""
    deadline = time.time() + timeout
    started = False
    while time.time() < deadline:
        chunk = r.read1(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 5:
            flags, n = struct.unpack(">BI", buf[:5])
            if len(buf) < 5 + n:
                break
            m = json.loads(buf[5:5 + n]); buf = buf[5 + n:]
            msgs.append((flags, m))
            if not started and on_start:
                started = True
                on_start()
            if flags & 2 or (until and until(m)):
                c.close()
                return r.status, msgs
    c.close()
    return r.status, msgs

def unary(sid, proc, req, headers=None):
    c = http.client.HTTPConnection(HOST, int(PORT), timeout=20)
    h = {"Content-Type": "application/json", "E2b-Sandbox-Id": sid, "E2b-Sandbox-Port": "49983"}
    h.update(headers or {})
    c.request("POST", "/" + proc, json.dumps(req), h)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, json.loads(body) if body else None

def upload(sid, path, data):
    c = http.client.HTTPConnection(HOST, int(PORT), timeout=20)
    from urllib.parse import quote
    c.request("POST", "/files?path=" + quote(path, safe=""), data,
              {"Content-Type": "application/octet-stream", "E2b-Sandbox-Id": sid,
               "E2b-Sandbox-Port": "49983"})
    r = c.getresponse(); r.read(); c.close()
    return r.status

def run(sid, cmd, user=None):
    """Run a shell command in the sandbox; (exit, stdout) or None if Start fails."""
    import base64
    h = {}
    if user:
        h["Authorization"] = "Basic " + base64.b64encode((user + ":").encode()).decode()
    st, msgs = stream(sid, "process.Process/Start",
                      {"process": {"cmd": "/bin/bash", "args": ["-l", "-c", cmd]}, "stdin": False},
                      headers=h, timeout=20)
    if st != 200 or not msgs or "event" not in msgs[0][1] or "start" not in msgs[0][1]["event"]:
        return None
    out, code = b"", None
    for f, m in msgs:
        ev = m.get("event", {})
        if "data" in ev and "stdout" in ev["data"]:
            out += base64.b64decode(ev["data"]["stdout"])
        if "end" in ev:
            code = ev["end"].get("exitCode", 0)
    return code, out.decode(errors="replace")
EOF
py() { PYTHONPATH=$T python3 -c "from h import *; $1"; }
# R rpc|envd ARGS...: call, leaving the body in $out and the status in $ENVD_STATUS.
R() { "$@" > "$T/body"; out=$(cat "$T/body"); }

SB=$(new_sandbox) || { fail "create sandbox" "$(cat "$TEST_TMP"/.api-body.* 2>/dev/null)"; done_testing; }
ok "create sandbox"

# --- health, envs, metrics
curl -sS -D "$T/h" -o /dev/null -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/health"
if grep -q '^HTTP/1.1 204' "$T/h" && grep -qi '^Cache-Control: no-store' "$T/h"; then ok "health 204 no-store"; else fail "health 204 no-store" "$(head -1 "$T/h")"; fi
R envd "$SB" GET /envs
expect_eq "envs has E2B_SANDBOX" true "$(printf '%s' "$out" | json_get 'd.get("E2B_SANDBOX")')"
R envd "$SB" GET /metrics
expect_eq "metrics snake_case keys" "True" "$(printf '%s' "$out" | json_get 'all(k in d for k in ["ts","cpu_count","cpu_used_pct","mem_total","mem_used","mem_total_mib","mem_used_mib","disk_used","disk_total"]) and d["disk_total"] > 0')"

# --- Stat
R rpc "$SB" filesystem.Filesystem/Stat '{"path":"~"}'
expect_eq "stat home" "200 /home/user FILE_TYPE_DIRECTORY drwxr-xr-x user" \
	"$ENVD_STATUS $(printf '%s' "$out" | json_get '" ".join([d["entry"]["path"], d["entry"]["type"], d["entry"]["permissions"], d["entry"]["owner"]])')"
R rpc "$SB" filesystem.Filesystem/Stat '{"path":"/home/user/nope"}'
expect_eq "stat missing → not_found" "404 not_found file not found: lstat /home/user/nope: no such file or directory" \
	"$ENVD_STATUS $(printf '%s' "$out" | json_get 'd["code"] + " " + d["message"]')"
rpc "$SB" filesystem.Filesystem/Stat '{"path":"~root/x"}' >/dev/null
expect_eq "stat ~otheruser → invalid_argument" 400 "$ENVD_STATUS"

# --- MakeDir
R rpc "$SB" filesystem.Filesystem/MakeDir '{"path":"mk/a/b"}'
expect_eq "makedir -p" "200 /home/user/mk/a/b" "$ENVD_STATUS $(printf '%s' "$out" | json_get 'd["entry"]["path"]')"
R rpc "$SB" filesystem.Filesystem/MakeDir '{"path":"/home/user/mk/a/b"}'
expect_eq "makedir existing → already_exists" "409 already_exists" "$ENVD_STATUS $(printf '%s' "$out" | json_get 'd["code"]')"
R rpc "$SB" filesystem.Filesystem/Stat '{"path":"mk/a"}'
expect_eq "makedir parents owned by user, 0755" "user 493" "$(printf '%s' "$out" | json_get 'd["entry"]["owner"] + " " + str(d["entry"]["mode"])')"

# --- uploads
printf 'hello world' > "$T/hello"
R envd "$SB" POST '/files?path=up%2Fhello.txt' "@$T/hello" application/octet-stream
expect_eq "octet-stream upload" "200 /home/user/up/hello.txt" "$ENVD_STATUS $(printf '%s' "$out" | json_get 'd[0]["path"] if d[0]["type"] == "file" else "bad"')"
rpc "$SB" filesystem.Filesystem/MakeDir '{"path":"mk/a/b"}' >/dev/null
R rpc "$SB" filesystem.Filesystem/MakeDir '{"path":"up/hello.txt"}'
expect_eq "makedir on a file → invalid_argument" "400 invalid_argument" "$ENVD_STATUS $(printf '%s' "$out" | json_get 'd["code"]')"

code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-F "file=@$T/hello;filename=/home/user/mp/deep/m.txt" "$E2BD_URL/files")
expect_eq "multipart upload, destination from filename" "200 /home/user/mp/deep/m.txt" "$code $(json_get 'd[0]["path"]' < "$T/out")"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-F "file=@$T/hello;filename=ignored" -F "other=x" "$E2BD_URL/files?path=mp/p.txt")
expect_eq "multipart upload with path param, other parts ignored" "200 1 /home/user/mp/p.txt" "$code $(json_get 'str(len(d)) + " " + d[0]["path"]' < "$T/out")"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-F "file=@$T/hello" -F "file=@$T/hello" "$E2BD_URL/files?path=mp/dup.txt")
expect_eq "two parts to one path → 400" 400 "$code"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: text/plain' --data-binary x "$E2BD_URL/files?path=x")
expect_eq "unsupported content type → 400" "400 400" "$code $(json_get 'd["code"]' < "$T/out")"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' -H 'Transfer-Encoding: chunked' --data-binary "@$T/hello" "$E2BD_URL/files?path=chunked.txt")
expect_eq "chunked octet-stream upload" 200 "$code"
printf 'gz1\n' | gzip > "$T/g.gz"; printf 'gz2\n' | gzip >> "$T/g.gz"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' -H 'Content-Encoding: gzip' --data-binary "@$T/g.gz" "$E2BD_URL/files?path=gz.txt")
got=$(curl -sS -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=gz.txt" | tr '\n' ' ')
expect_eq "gzip request body (two members) stored decompressed" "200 gz1 gz2 " "$code $got"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' -H 'Content-Encoding: gzip' --data-binary "@$T/hello" "$E2BD_URL/files?path=gz.txt")
got=$(curl -sS -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=gz.txt" | tr '\n' ' ')
expect_eq "bad gzip → 400, target untouched" "400 gz1 gz2 " "$code $got"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' --data-binary "@$T/hello" "$E2BD_URL/files?path=mk")
expect_eq "upload onto a directory → 400" 400 "$code"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' --data-binary "@$T/hello" "$E2BD_URL/files?path=up/hello.txt/sub")
expect_eq "upload below a file → 500" 500 "$code"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' --data-binary "@$T/hello" "$E2BD_URL/files?path=x&username=nobody-such")
expect_eq "unknown username → 401" 401 "$code"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' --data-binary "@$T/hello" "$E2BD_URL/files?path=rootfile&username=root")
R rpc "$SB" filesystem.Filesystem/Stat '{"path":"/root/rootfile"}'
expect_eq "username=root uploads to /root as root" "200 root" "$code $(printf '%s' "$out" | json_get 'd["entry"]["owner"]')"

# overwrite: in place like envd (inode, hard links, mode kept); an aborted
# transfer leaves the old content and no temp file
printf 'version one' > "$T/v1"; printf 'version two!' > "$T/v2"
envd "$SB" POST '/files?path=ow%2Fa.txt' "@$T/v1" application/octet-stream >/dev/null
r=$(SB=$SB py 'import os; print(run(os.environ["SB"], "cd ow && ln a.txt hard.txt && chmod 750 a.txt && stat -c %i a.txt"))')
if [ "$r" = "None" ]; then
	skip "overwrite in place" "process.Process/Start not available"
else
	envd "$SB" POST '/files?path=ow%2Fa.txt' "@$T/v2" application/octet-stream >/dev/null
	r2=$(SB=$SB py 'import os; print(run(os.environ["SB"], "cd ow && stat -c %i a.txt && cat hard.txt && stat -c %a a.txt"))')
	ino=$(printf '%s' "$r" | python3 -c 'import sys,ast; print(ast.literal_eval(sys.stdin.read())[1].strip())')
	expect_eq "overwrite keeps inode, hard link and mode" "(0, '$ino\\nversion two!750\\n')" "$r2"
fi
res=$(SB=$SB py '
import os, socket
s = socket.create_connection((HOST, int(PORT)))
s.sendall(("POST /files?path=ow%2Fa.txt HTTP/1.1\r\nHost: x\r\nE2b-Sandbox-Id: " + os.environ["SB"] +
    "\r\nE2b-Sandbox-Port: 49983\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\npartial").encode())
time.sleep(0.3); s.close(); time.sleep(0.5)
c = http.client.HTTPConnection(HOST, int(PORT))
c.request("GET", "/files?path=ow%2Fa.txt", headers={"E2b-Sandbox-Id": os.environ["SB"], "E2b-Sandbox-Port": "49983"})
body = c.getresponse().read().decode()
st, ls = unary(os.environ["SB"], "filesystem.Filesystem/ListDir", {"path": "ow"})
print(body, sorted(e["name"] for e in ls.get("entries", [])))
')
expect_eq "aborted upload leaves the old file" "version two! ['a.txt', 'hard.txt']" "$res"
r=$(SB=$SB py 'import os; print(run(os.environ["SB"], "ls -a ow | grep -c e2bd-upload"))')
if [ "$r" = "None" ]; then skip "no temp file left" "no processes"; else expect_eq "no temp file left" "(1, '0\\n')" "$r"; fi

# empty file and odd names
: > "$T/empty"
envd "$SB" POST '/files?path=empty' "@$T/empty" application/octet-stream >/dev/null
R rpc "$SB" filesystem.Filesystem/Stat '{"path":"empty"}'
expect_eq "empty file: size omitted" "200 absent" "$ENVD_STATUS $(printf '%s' "$out" | json_get '"absent" if "size" not in d["entry"] else d["entry"]["size"]')"
code=$(curl -sS -o "$T/out" -w '%{http_code} %{size_download}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=empty")
expect_eq "empty file download" "200 0" "$code"
odd='odd dir/ünï cödé %41 +x.txt'
enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$odd")
printf 'odd content\n' > "$T/odd"
envd "$SB" POST "/files?path=$enc" "@$T/odd" application/octet-stream >/dev/null
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=$enc")
if [ "$code" = 200 ] && cmp -s "$T/out" "$T/odd"; then ok "odd name round trip"; else fail "odd name round trip" "status $code"; fi
R rpc "$SB" filesystem.Filesystem/ListDir '{"path":"odd dir"}'
expect_eq "odd name listed" "/home/user/$odd" "$(printf '%s' "$out" | json_get 'd["entries"][0]["path"]')"

# --- downloads
curl -sS -D "$T/h" -o "$T/out" -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=up/hello.txt"
if cmp -s "$T/out" "$T/hello" && grep -qi '^Last-Modified: ' "$T/h" && grep -qi '^Content-Disposition: inline; filename=hello.txt' "$T/h" && ! grep -qi '^Content-Encoding' "$T/h"; then
	ok "download with headers"; else fail "download with headers" "$(tr '\r\n' '  ' < "$T/h")"; fi
curl -sS -D "$T/h" -o "$T/out" -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' -H 'Range: bytes=1-3' "$E2BD_URL/files?path=up/hello.txt"
if grep -q '^HTTP/1.1 206' "$T/h" && grep -qi '^Content-Range: bytes 1-3/11' "$T/h" && [ "$(cat "$T/out")" = ell ]; then
	ok "range 206"; else fail "range 206" "$(tr '\r\n' '  ' < "$T/h")"; fi
curl -sS -D "$T/h" -o "$T/out" -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' -H 'Range: bytes=-5' "$E2BD_URL/files?path=up/hello.txt"
expect_eq "suffix range" world "$(cat "$T/out")"
lm=$(grep -i '^Last-Modified:' "$T/h" | cut -d' ' -f2- | tr -d '\r')
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' -H "If-Modified-Since: $lm" "$E2BD_URL/files?path=up/hello.txt")
expect_eq "If-Modified-Since → 304" 304 "$code"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' -H 'Range: bytes=0-1' -H 'If-Range: Thu, 01 Jan 2004 00:00:00 GMT' "$E2BD_URL/files?path=up/hello.txt")
expect_eq "stale If-Range → whole file" "200 hello world" "$code $(cat "$T/out")"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' -H 'Range: bytes=0-1' -H "If-Range: $lm" "$E2BD_URL/files?path=up/hello.txt")
expect_eq "matching If-Range → 206" "206 he" "$code $(cat "$T/out")"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' -H 'Range: bytes=100-200' "$E2BD_URL/files?path=up/hello.txt")
expect_eq "unsatisfiable range → 416" 416 "$code"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=%2Fnope")
expect_eq "download missing → 404 envd JSON" "404 404 path '/nope' does not exist" "$code $(json_get 'str(d["code"]) + " " + d["message"]' < "$T/out")"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=mk")
expect_eq "download directory → 400" 400 "$code"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' -H 'Accept-Encoding: gzip' -D "$T/h" "$E2BD_URL/files?path=up/hello.txt")
if [ "$code" = 200 ] && ! grep -qi '^Content-Encoding' "$T/h"; then ok "no gzip"; else fail "no gzip" "$code"; fi

# 50 MiB round trip
head -c $((50 * 1024 * 1024)) /dev/urandom > "$T/big"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-F "file=@$T/big" "$E2BD_URL/files?path=big.bin")
code2=$(curl -sS -o "$T/big.back" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=big.bin")
if [ "$code $code2" = "200 200" ] && cmp -s "$T/big" "$T/big.back"; then ok "50 MiB multipart round trip"; else fail "50 MiB multipart round trip" "$code $code2"; fi
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' --data-binary "@$T/big" "$E2BD_URL/files?path=big2.bin")
code2=$(curl -sS -o "$T/big.back" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=big2.bin")
if [ "$code $code2" = "200 200" ] && cmp -s "$T/big" "$T/big.back"; then ok "50 MiB octet-stream round trip"; else fail "50 MiB octet-stream round trip" "$code $code2"; fi
rm -f "$T/big" "$T/big.back"

# metadata
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' -H 'X-Metadata-Owner: Me' -H 'X-Metadata-Kind: test' \
	--data-binary "@$T/hello" "$E2BD_URL/files?path=meta.txt")
expect_eq "upload reply carries the stored metadata" "{'kind': 'test', 'owner': 'Me'}" "$(json_get 'dict(sorted(d[0].get("metadata", {}).items()))' < "$T/out")"
R rpc "$SB" filesystem.Filesystem/Stat '{"path":"meta.txt"}'
expect_eq "X-Metadata-* → EntryInfo.metadata" "200 {'kind': 'test', 'owner': 'Me'}" "$code $(printf '%s' "$out" | json_get 'dict(sorted(d["entry"].get("metadata", {}).items()))')"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' --data-binary "@$T/hello" "$E2BD_URL/files?path=meta.txt")
R rpc "$SB" filesystem.Filesystem/Stat '{"path":"meta.txt"}'
expect_eq "overwrite without X-Metadata clears metadata" "200 absent" "$code $(printf '%s' "$out" | json_get '"absent" if "metadata" not in d["entry"] else d["entry"]["metadata"]')"
big=$(head -c 3000 /dev/zero | tr '\0' a)
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' -H "X-Metadata-A: $big" -H "X-Metadata-B: $big" \
	--data-binary "@$T/hello" "$E2BD_URL/files?path=meta2.txt")
expect_eq "metadata over 4096 bytes → 400" "400 True" "$code $(json_get '"exceeds 4096" in d["message"]' < "$T/out")"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' -H "X-Metadata-A: $(printf 'caf\xc3\xa9')" \
	--data-binary "@$T/hello" "$E2BD_URL/files?path=meta2.txt")
expect_eq "non-ASCII metadata value → 400" 400 "$code"

# compose
printf 'aa' > "$T/p1"; printf 'bb' > "$T/p2"
envd "$SB" POST '/files?path=c%2Fp1' "@$T/p1" application/octet-stream >/dev/null
envd "$SB" POST '/files?path=c%2Fp2' "@$T/p2" application/octet-stream >/dev/null
R envd "$SB" POST /files/compose '{"source_paths":["c/p1","c/p2"],"destination":"c/all"}'
got=$(curl -sS -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=c/all")
rpc "$SB" filesystem.Filesystem/Stat '{"path":"c/p1"}' >/dev/null
expect_eq "compose concatenates and removes sources" "aabb 404" "$got $ENVD_STATUS"
envd "$SB" POST /files/compose '{"source_paths":["c/none"],"destination":"c/x"}' >/dev/null
expect_eq "compose missing source → 404" 404 "$ENVD_STATUS"

# --- ListDir
R rpc "$SB" filesystem.Filesystem/ListDir '{"path":"mk"}'
expect_eq "listdir depth 1 excludes self" "/home/user/mk/a" "$(printf '%s' "$out" | json_get '" ".join(e["path"] for e in d["entries"])')"
R rpc "$SB" filesystem.Filesystem/ListDir '{"path":"mk","depth":3}'
expect_eq "listdir depth 3 pre-order" "/home/user/mk/a /home/user/mk/a/b" "$(printf '%s' "$out" | json_get '" ".join(e["path"] for e in d["entries"])')"
R rpc "$SB" filesystem.Filesystem/ListDir '{"path":"up/hello.txt"}'
expect_eq "listdir on a file → invalid_argument" "400 invalid_argument" "$ENVD_STATUS $(printf '%s' "$out" | json_get 'd["code"]')"
R rpc "$SB" filesystem.Filesystem/ListDir '{"path":"nope"}'
expect_eq "listdir missing → not_found" "404 not_found" "$ENVD_STATUS $(printf '%s' "$out" | json_get 'd["code"]')"

# --- Move
R rpc "$SB" filesystem.Filesystem/Move '{"source":"up/hello.txt","destination":"moved/deep/h.txt"}'
expect_eq "move creates parents" "200 /home/user/moved/deep/h.txt 11" "$ENVD_STATUS $(printf '%s' "$out" | json_get 'd["entry"]["path"] + " " + d["entry"]["size"]')"
R rpc "$SB" filesystem.Filesystem/Move '{"source":"chunked.txt","destination":"moved/deep/h.txt"}'
expect_eq "move overwrites a file" 200 "$ENVD_STATUS"
R rpc "$SB" filesystem.Filesystem/Move '{"source":"nope","destination":"x"}'
expect_eq "move missing → not_found" "404 not_found" "$ENVD_STATUS $(printf '%s' "$out" | json_get 'd["code"]')"
R rpc "$SB" filesystem.Filesystem/Move '{"source":"mk","destination":"moved"}'
expect_eq "move dir onto non-empty dir → internal" "500 internal" "$ENVD_STATUS $(printf '%s' "$out" | json_get 'd["code"]')"
# envd's Move is Go's os.Rename: an existing directory is never replaced,
# not even an empty one (EEXIST), unless it is the source itself.
rpc "$SB" filesystem.Filesystem/MakeDir '{"path":"empty-target"}' >/dev/null
rpc "$SB" filesystem.Filesystem/MakeDir '{"path":"src-dir/x"}' >/dev/null
R rpc "$SB" filesystem.Filesystem/Move '{"source":"src-dir","destination":"empty-target"}'
expect_eq "move dir onto empty dir → internal, file exists (as envd)" "500 internal file exists" \
	"$ENVD_STATUS $(printf '%s' "$out" | json_get 'd["code"] + " " + ("file exists" if "file exists" in d["message"] else d["message"])')"
R rpc "$SB" filesystem.Filesystem/Stat '{"path":"src-dir/x"}'
expect_eq "refused move leaves the source" 200 "$ENVD_STATUS"
R rpc "$SB" filesystem.Filesystem/Move '{"source":"up","destination":"mk/a"}'
expect_eq "move file tree onto a dir → internal" "500 internal" "$ENVD_STATUS $(printf '%s' "$out" | json_get 'd["code"]')"
R rpc "$SB" filesystem.Filesystem/Move '{"source":"src-dir","destination":"src-dir"}'
expect_eq "move dir onto itself succeeds" 200 "$ENVD_STATUS"

# --- Remove
R rpc "$SB" filesystem.Filesystem/Remove '{"path":"moved"}'
rpc "$SB" filesystem.Filesystem/Stat '{"path":"moved"}' >/dev/null
expect_eq "remove is recursive" "404" "$ENVD_STATUS"
R rpc "$SB" filesystem.Filesystem/Remove '{"path":"does/not/exist"}'
expect_eq "remove missing succeeds" "200 {}" "$ENVD_STATUS $out"

# --- watching
rpc "$SB" filesystem.Filesystem/MakeDir '{"path":"w"}' >/dev/null
res=$(SB=$SB py '
import os
sid = os.environ["SB"]
def act():
    def go():
        time.sleep(0.3)
        unary(sid, "filesystem.Filesystem/MakeDir", {"path": "/home/user/w/sub"})
        time.sleep(0.3)
        upload(sid, "/home/user/w/sub/f.txt", b"hi")
        # The entry is read when the event is handled: removing the file
        # at once would race that stat on a loaded machine.
        time.sleep(0.5)
        unary(sid, "filesystem.Filesystem/Remove", {"path": "/home/user/w/sub/f.txt"})
    threading.Thread(target=go).start()
st, msgs = stream(sid, "filesystem.Filesystem/WatchDir", {"path": "w", "recursive": True, "includeEntry": True},
    until=lambda m: m.get("filesystem", {}).get("type") == "EVENT_TYPE_REMOVE", timeout=8, on_start=act)
ev = [(m["filesystem"]["name"], m["filesystem"]["type"][11:], "entry" in m["filesystem"]) for f, m in msgs if "filesystem" in m]
print(st, "start" in msgs[0][1], ("sub", "CREATE", True) in ev, ("sub/f.txt", "CREATE", True) in ev,
      ("sub/f.txt", "WRITE", True) in ev, ("sub/f.txt", "REMOVE", False) in ev, any(".e2bd" in e[0] for e in ev))
')
expect_eq "watchdir recursive events with entries" "200 True True True True True False" "$res"
res=$(SB=$SB py '
import os
st, msgs = stream(os.environ["SB"], "filesystem.Filesystem/WatchDir", {"path": "w"}, headers={"Keepalive-Ping-Interval": "1"},
    until=lambda m: "keepalive" in m, timeout=5)
print(st, [m for f, m in msgs])
')
expect_eq "watchdir keepalive" "200 [{'start': {}}, {'keepalive': {}}]" "$res"
res=$(SB=$SB py '
import os
st, msgs = stream(os.environ["SB"], "filesystem.Filesystem/WatchDir", {"path": "nope"}, timeout=5)
print(st, msgs[-1][0], msgs[-1][1].get("error", {}).get("code"))
')
expect_eq "watchdir missing → end-stream not_found" "200 2 not_found" "$res"
R rpc "$SB" filesystem.Filesystem/CreateWatcher '{"path":"w"}'
wid=$(printf '%s' "$out" | json_get 'd["watcherId"]')
envd "$SB" POST '/files?path=w%2Fpolled' "@$T/hello" application/octet-stream >/dev/null
sleep 0.5
R rpc "$SB" filesystem.Filesystem/GetWatcherEvents "{\"watcherId\":\"$wid\"}"
expect_eq "polling watcher events" "200 True" "$ENVD_STATUS $(printf '%s' "$out" | json_get 'any(e["name"] == "polled" and e["type"] == "EVENT_TYPE_CREATE" for e in d.get("events", []))')"
rpc "$SB" filesystem.Filesystem/RemoveWatcher "{\"watcherId\":\"$wid\"}" >/dev/null
expect_eq "remove watcher" 200 "$ENVD_STATUS"
R rpc "$SB" filesystem.Filesystem/GetWatcherEvents "{\"watcherId\":\"$wid\"}"
expect_eq "removed watcher → not_found" "404 not_found" "$ENVD_STATUS $(printf '%s' "$out" | json_get 'd["code"]')"

# --- escape attempts: the host and e2bd's state must stay invisible
R rpc "$SB" filesystem.Filesystem/Stat "{\"path\":\"/../../../..$E2BD_STATE_DIR\"}"
expect_eq "stat of host state dir via .. → not_found" 404 "$ENVD_STATUS"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=/../../..$TEST_TMP/.apikey-hdr.$$")
expect_eq "download of a host file via .. → 404" 404 "$code"
marker=escape-$$-$RANDOM
envd "$SB" POST "/files?path=%2F..%2F..%2F..%2Ftmp%2F$marker" "@$T/hello" application/octet-stream >/dev/null
if [ ! -e "/tmp/$marker" ] && [ "$ENVD_STATUS" = 200 ]; then ok "upload via .. lands inside the sandbox"; else fail "upload via .. lands inside the sandbox" "$ENVD_STATUS"; rm -f "/tmp/$marker"; fi
r=$(SB=$SB py 'import os; print(run(os.environ["SB"], "ln -s / /home/user/rootlink; ln -s /tmp /home/user/tmplink; ln -s ../../../../../../ /home/user/uplink; echo ok"))')
if [ "$r" = "None" ]; then
	skip "symlink escapes" "process.Process/Start not available"
else
	R rpc "$SB" filesystem.Filesystem/Stat '{"path":"tmplink"}'
	expect_eq "symlinkTarget is a sandbox path" "/tmp FILE_TYPE_DIRECTORY Lrwxrwxrwx" "$(printf '%s' "$out" | json_get 'd["entry"]["symlinkTarget"] + " " + d["entry"]["type"] + " " + d["entry"]["permissions"]')"
	R rpc "$SB" filesystem.Filesystem/Stat '{"path":"uplink"}'
	expect_eq "climbing symlink resolves to sandbox root" "/" "$(printf '%s' "$out" | json_get 'd["entry"]["symlinkTarget"]')"
	R rpc "$SB" filesystem.Filesystem/ListDir "{\"path\":\"/home/user/rootlink$E2BD_STATE_DIR\"}"
	expect_eq "state dir via absolute symlink → not_found" 404 "$ENVD_STATUS"
	code=$(curl -sS -o /dev/null -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=/home/user/uplink$TEST_TMP/.apikey-hdr.$$")
	expect_eq "host file via climbing symlink → 404" 404 "$code"
	envd "$SB" POST "/files?path=%2Fhome%2Fuser%2Ftmplink%2F$marker" "@$T/hello" application/octet-stream >/dev/null
	r=$(SB=$SB M=$marker py 'import os; print(run(os.environ["SB"], "cat /tmp/" + os.environ["M"]))')
	if [ ! -e "/tmp/$marker" ] && [ "$r" = "(0, 'hello world')" ]; then ok "upload through symlink stays in sandbox, process sees it"; else fail "upload through symlink stays in sandbox, process sees it" "$r"; fi
	rpc "$SB" filesystem.Filesystem/Remove '{"path":"rootlink"}' >/dev/null
	r=$(SB=$SB py 'import os; print(run(os.environ["SB"], "test -d /usr/bin && echo ok"))')
	expect_eq "remove of a symlink to / removes only the link" "(0, 'ok\n')" "$r"
	r=$(SB=$SB py 'import os; print(run(os.environ["SB"], "stat -c %U:%a /home/user/mk/a /home/user/meta.txt"))')
	expect_eq "process sees RPC-made files with owners" "(0, 'user:755\nuser:644\n')" "$r"
fi

# --- users follow the sandbox's /etc/passwd (e2bd caches it by identity):
# a user added, then its uid changed by a same-size write in place (same
# inode), shows on the very next request, for uploads and for processes.
# The sleep puts the cached copy past its racy window (2 s), so the change
# is found by the identity check and not by a re-read of a fresh file.
r=$(SB=$SB py 'import os; print(run(os.environ["SB"], "echo cachet:x:4321:4321::/tmp:/bin/sh >> /etc/passwd && stat -c %i /etc/passwd", user="root"))')
ino=$(printf '%s' "$r" | sed -n "s/^(0, '\([0-9]*\).*/\1/p")
sleep 3
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' --data-binary "@$T/hello" "$E2BD_URL/files?path=/tmp/c1&username=cachet")
expect_eq "upload as a user added to /etc/passwd" "200" "$code"
r=$(SB=$SB py 'import os; print(run(os.environ["SB"], "c=$(sed s/:4321:4321:/:4322:4322:/ /etc/passwd) && printf \"%s\\n\" \"$c\" > /etc/passwd && stat -c %i /etc/passwd", user="root"))')
expect_eq "uid changed in place (same inode)" "(0, '$ino\n')" "$r"
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' --data-binary "@$T/hello" "$E2BD_URL/files?path=/tmp/c2&username=cachet")
r=$(SB=$SB py 'import os; print(run(os.environ["SB"], "stat -c %u /tmp/c1 /tmp/c2"))')
expect_eq "the next upload has the new uid" "200 (0, '4321\n4322\n')" "$code $r"
r=$(SB=$SB py 'import os; print(run(os.environ["SB"], "id -u", user="cachet"))')
expect_eq "a process as that user runs with the new uid" "(0, '4322\n')" "$r"
r=$(SB=$SB py 'import os; print(run(os.environ["SB"], "c=$(grep -v ^cachet: /etc/passwd) && printf \"%s\\n\" \"$c\" > /etc/passwd", user="root"))')
code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SB" -H 'E2b-Sandbox-Port: 49983' \
	-H 'Content-Type: application/octet-stream' --data-binary "@$T/hello" "$E2BD_URL/files?path=/tmp/c3&username=cachet")
expect_eq "a user removed from /etc/passwd is unknown at once" "(0, '') 401" "$r $code"

# --- secure sandbox: X-Access-Token or signature on /files
SEC=$(new_sandbox '{"templateID":"base","secure":true}')
TOK=$(sandbox_token "$SEC")
if [ -z "$TOK" ]; then
	skip "secure sandbox /files" "no envdAccessToken"
else
	code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SEC" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=/etc/hostname")
	expect_eq "secure: /files without token → 401" 401 "$code"
	printf 'X-Access-Token: %s\n' "$TOK" > "$T/tokhdr"
	code=$(curl -sS -o "$T/out" -w '%{http_code}' -H @"$T/tokhdr" -H "E2b-Sandbox-Id: $SEC" -H 'E2b-Sandbox-Port: 49983' \
		-H 'Content-Type: application/octet-stream' --data-binary "@$T/hello" "$E2BD_URL/files?path=s.txt")
	expect_eq "secure: upload with token" 200 "$code"
	code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'X-Access-Token: wrong' -H "E2b-Sandbox-Id: $SEC" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=s.txt")
	expect_eq "secure: wrong token → 401" 401 "$code"
	sig=$(TOK=$TOK python3 -c 'import base64,hashlib,os; import urllib.parse; print(urllib.parse.quote("v1_" + base64.b64encode(hashlib.sha256(("s.txt:read::" + os.environ["TOK"]).encode()).digest()).decode().rstrip("="), safe=""))')
	code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SEC" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=s.txt&signature=$sig")
	expect_eq "secure: signed download" "200 hello world" "$code $(cat "$T/out")"
	exp=$(( $(date +%s) - 10 ))
	sig=$(TOK=$TOK EXP=$exp python3 -c 'import base64,hashlib,os; import urllib.parse; print(urllib.parse.quote("v1_" + base64.b64encode(hashlib.sha256(("s.txt:read::" + os.environ["TOK"] + ":" + os.environ["EXP"]).encode()).digest()).decode().rstrip("="), safe=""))')
	code=$(curl -sS -o "$T/out" -w '%{http_code}' -H "E2b-Sandbox-Id: $SEC" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=s.txt&signature=$sig&signature_expiration=$exp")
	expect_eq "secure: expired signature → 401" "401 signature is already expired" "$code $(json_get 'd["message"]' < "$T/out")"
	code=$(curl -sS -o /dev/null -w '%{http_code}' -H "E2b-Sandbox-Id: $SEC" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/files?path=s.txt&signature=v1_bad")
	expect_eq "secure: bad signature → 401" 401 "$code"
fi

rm -rf "$T"
done_testing
