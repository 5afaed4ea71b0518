#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# envd routing in e2bd: the path prefix, header and Host forms all reach a
# sandbox's envd; unknown or paused sandboxes get the edge proxy's 502;
# X-Access-Token and Basic-auth users are enforced like envd does.
. "$SRC_DIR/tests/lib.sh"

field() { json_get "d.get('$1')"; }
# st CURL-ARGS...: HTTP status of a request; body in $TEST_TMP/st.out.
st() { curl -sS -o "$TEST_TMP/st.out" -w '%{http_code}' "$@"; }
body() { cat "$TEST_TMP/st.out"; }
STAT=(-H 'Content-Type: application/json' --data-binary '{"path":"/"}')

ID=$(new_sandbox '{"templateID":"base","timeout":120}') || { fail "create sandbox" "no sandbox"; done_testing; }
SEC=$(new_sandbox '{"templateID":"base","timeout":120,"secure":true}') || { fail "create secure sandbox" "no sandbox"; done_testing; }
TOK=$(sandbox_token "$SEC")

# --- three forms reach GET /health and a unary RPC
expect_eq "path form: /health 204" 204 "$(st "$E2BD_URL/kruise/$ID/49983/health")"
expect_eq "header form: /health 204" 204 "$(st -H "E2b-Sandbox-Id: $ID" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/health")"
expect_eq "header form, default port: /health 204" 204 "$(st -H "E2b-Sandbox-Id: $ID" "$E2BD_URL/health")"
expect_eq "host form: /health 204" 204 "$(st "http://49983-$ID.localhost:$E2BD_PORT/health")"
expect_eq "host form via --resolve-free Host header: 204" 204 "$(st -H "Host: 49983-$ID.example.test" "$E2BD_URL/health")"

expect_eq "path form: Stat 200" 200 "$(st "${STAT[@]}" "$E2BD_URL/kruise/$ID/49983/filesystem.Filesystem/Stat")"
expect_eq "path form: Stat answers the root" / "$(body | json_get "d['entry']['path']")"
expect_eq "header form: Stat 200" 200 "$(st "${STAT[@]}" -H "E2b-Sandbox-Id: $ID" -H 'E2b-Sandbox-Port: 49983' "$E2BD_URL/filesystem.Filesystem/Stat")"
expect_eq "host form: Stat 200" 200 "$(st "${STAT[@]}" "http://49983-$ID.localhost:$E2BD_PORT/filesystem.Filesystem/Stat")"
# The path form keeps the query string.
st "$E2BD_URL/kruise/$ID/49983/files?path=/etc/hostname" > "$TEST_TMP/q.status"
expect_eq "path form keeps the query (GET /files?path=)" 200 "$(cat "$TEST_TMP/q.status")"
# /kruise/api is the management API, never a sandbox called "api".
expect_eq "/kruise/api wins over routing headers" 401 "$(st -H "E2b-Sandbox-Id: $ID" "$E2BD_URL/kruise/api/v2/sandboxes")"
expect_eq "/kruise/api is the management API" 401 "$(st "$E2BD_URL/kruise/api/v2/sandboxes")"

# --- 502 for unknown, other port, paused
expect_eq "unknown sandbox: 502" 502 "$(st "$E2BD_URL/kruise/nosuchsandbox0000000/49983/health")"
expect_eq "unknown sandbox: E2B proxy body" '{"sandboxId":"nosuchsandbox0000000","message":"The sandbox was not found","code":502}' "$(body)"
expect_eq "unknown sandbox (header form): 502" 502 "$(st -H 'E2b-Sandbox-Id: nosuchsandbox0000000' "$E2BD_URL/health")"
expect_eq "unknown sandbox (host form): 502" 502 "$(st "http://49983-nosuchsandbox0000000.localhost:$E2BD_PORT/health")"
expect_eq "other port: 502" 502 "$(st "$E2BD_URL/kruise/$ID/8080/health")"
expect_eq "non-numeric port: 404" 404 "$(st "$E2BD_URL/kruise/$ID/abc/health")"
api POST "/sandboxes/$ID/pause" > /dev/null
expect_eq "paused sandbox: 502" 502 "$(st -H "E2b-Sandbox-Id: $ID" "$E2BD_URL/health")"
api POST "/sandboxes/$ID/resume" '{"timeout":120}' > /dev/null
expect_eq "resumed sandbox: 204" 204 "$(st -H "E2b-Sandbox-Id: $ID" "$E2BD_URL/health")"

# --- X-Access-Token on a secure sandbox
H=(-H "E2b-Sandbox-Id: $SEC")
expect_eq "secure: /health exempt" 204 "$(st "${H[@]}" "$E2BD_URL/health")"
expect_eq "secure: RPC without token 401" 401 "$(st "${H[@]}" "${STAT[@]}" "$E2BD_URL/filesystem.Filesystem/Stat")"
expect_eq "secure: envd 401 body (integer code)" '{"code":401,"message":"unauthorized access, please provide a valid access token or method signing if supported"}' "$(body)"
expect_eq "secure: RPC with wrong token 401" 401 "$(st "${H[@]}" -H 'X-Access-Token: nope' "${STAT[@]}" "$E2BD_URL/filesystem.Filesystem/Stat")"
expect_eq "secure: stream without token 401" 401 "$(st "${H[@]}" -H 'Content-Type: application/connect+json' --data-binary 'xxxxx' "$E2BD_URL/filesystem.Filesystem/WatchDir")"
expect_eq "secure: unknown path without token 401" 401 "$(st "${H[@]}" "$E2BD_URL/envs")"
expect_eq "secure: RPC with token 200" 200 "$(st "${H[@]}" -H "X-Access-Token: $TOK" "${STAT[@]}" "$E2BD_URL/filesystem.Filesystem/Stat")"
expect_eq "secure: path form with token 200" 200 "$(st -H "X-Access-Token: $TOK" "${STAT[@]}" "$E2BD_URL/kruise/$SEC/49983/filesystem.Filesystem/Stat")"
expect_eq "secure: GET /files without token is files' own 401" 401 "$(st "${H[@]}" "$E2BD_URL/files?path=/etc/hostname")"
expect_eq "secure: GET /files with token 200" 200 "$(st "${H[@]}" -H "X-Access-Token: $TOK" "$E2BD_URL/files?path=/etc/hostname")"
expect_eq "not secure: RPC without token 200" 200 "$(st -H "E2b-Sandbox-Id: $ID" "${STAT[@]}" "$E2BD_URL/filesystem.Filesystem/Stat")"

# --- Basic-auth users
expect_eq "basic auth user: 200" 200 "$(st -H "E2b-Sandbox-Id: $ID" -u user: "${STAT[@]}" "$E2BD_URL/filesystem.Filesystem/Stat")"
expect_eq "basic auth root: 200" 200 "$(st -H "E2b-Sandbox-Id: $ID" -u root: "${STAT[@]}" "$E2BD_URL/filesystem.Filesystem/Stat")"
expect_eq "unknown user, unary: 401" 401 "$(st -H "E2b-Sandbox-Id: $ID" -u nobodyhere: "${STAT[@]}" "$E2BD_URL/filesystem.Filesystem/Stat")"
expect_eq "unknown user, unary: Connect body" '{"code":"unauthenticated","message":"invalid username: '"'nobodyhere'"'"}' "$(body)"
expect_eq "unknown user, /health: 401" 401 "$(st -H "E2b-Sandbox-Id: $ID" -u nobodyhere: "$E2BD_URL/health")"
env1=$(python3 -c 'import sys,struct; d=b"{\"path\":\"/tmp\"}"; sys.stdout.buffer.write(struct.pack(">BI",0,len(d))+d)' | base64)
code=$(printf '%s' "$env1" | base64 -d | st -H "E2b-Sandbox-Id: $ID" -u nobodyhere: -H 'Content-Type: application/connect+json' --data-binary @- "$E2BD_URL/filesystem.Filesystem/WatchDir")
expect_eq "unknown user, stream: 200" 200 "$code"
check "unknown user, stream: end-stream error" python3 -c '
import json,sys
b=open(sys.argv[1],"rb").read()
assert b[0]==2, b
d=json.loads(b[5:5+int.from_bytes(b[1:5],"big")])
assert d["error"]["code"]=="unauthenticated", d' "$TEST_TMP/st.out"

# --- openkruise flavor gateway answers (own e2bd)
port=$(free_port)
( umask 077; printf '%s\n' "$E2B_API_KEY" > "$TEST_TMP/okr.key" )
"$E2BD_BIN" --listen "127.0.0.1:$port" --state-dir "$TEST_TMP/okr.state" --flavor openkruise \
	--api-key-file "$TEST_TMP/okr.key" > "$TEST_TMP/okr.log" 2>&1 &
OKPID=$!
trap 'kill $OKPID 2>/dev/null; _lib_cleanup' EXIT
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && break; sleep 0.1; done
expect_eq "openkruise: unknown sandbox 502" 502 "$(st "http://127.0.0.1:$port/kruise/nosuch/49983/health")"
expect_eq "openkruise: plain-text body" "sandbox not found: nosuch" "$(body)"
okid=$(curl -sS -H @"$_lib_hdr" -d '{"templateID":"base"}' "http://127.0.0.1:$port/sandboxes" | field sandboxID)
curl -sS -o /dev/null -X POST -H @"$_lib_hdr" "http://127.0.0.1:$port/sandboxes/$okid/pause"
expect_eq "openkruise: paused sandbox 502" 502 "$(st "http://127.0.0.1:$port/kruise/$okid/49983/health")"
expect_eq "openkruise: paused body" "healthy sandbox not found: $okid" "$(body)"
kill $OKPID 2>/dev/null
wait $OKPID 2>/dev/null

done_testing
