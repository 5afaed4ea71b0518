#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bd's two Connect codecs: the same calls made with JSON and with binary
# protobuf (application/proto, application/connect+proto) give the same
# answers (the protobuf ones decoded by build/proto/pbjson-tool), with the
# content type of the request's codec; errors and end-of-stream messages
# are JSON in both; keepalives, client streams and 415 for other types.
. "$SRC_DIR/tests/lib.sh"

TOOL=$BUILD_DIR/proto/pbjson-tool
ID=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "no sandbox"; done_testing; }
H=(-H "E2b-Sandbox-Id: $ID" -H 'E2b-Sandbox-Port: 49983' -H 'Connect-Protocol-Version: 1')
T=$TEST_TMP/codec.$$
mkdir -p "$T"

# sorted PY-JSON: compact JSON with sorted keys.
norm() { python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True, separators=(",",":")))'; }

# unary PROC JSON: sets J (JSON answer), P (protobuf answer as JSON), their
# HTTP statuses JS/PS and content types JCT/PCT.
unary() {
	local proc=$1 req=$2
	read -r JS JCT < <(curl -sS -o "$T/j.body" -w '%{http_code} %{content_type}\n' "${H[@]}" \
		-H 'Content-Type: application/json' --data-binary "$req" "$E2BD_URL/$proc")
	printf '%s' "$req" | "$TOOL" encode "$proc" > "$T/p.req"
	read -r PS PCT < <(curl -sS -o "$T/p.body" -w '%{http_code} %{content_type}\n' "${H[@]}" \
		-H 'Content-Type: application/proto' --data-binary @"$T/p.req" "$E2BD_URL/$proc")
	J=$(norm < "$T/j.body")
	if [ "$PS" = 200 ]; then
		P=$("$TOOL" decode "$proc" < "$T/p.body")
	else
		P=$(norm < "$T/p.body")
	fi
}

same_unary() { # same_unary NAME PROC JSON [WANT-STATUS]
	local name=$1 want=${4:-200}
	unary "$2" "$3"
	if [ "$JS" = "$want" ] && [ "$PS" = "$want" ] && [ "$J" = "$P" ] && [ -n "$J" ]; then
		ok "$name: same answer in both codecs"
	else
		fail "$name: same answer in both codecs" "json $JS $J / proto $PS $P"
	fi
}

D=/tmp/codec-$$
rpc "$ID" filesystem.Filesystem/MakeDir "{\"path\":\"$D/sub\"}" > /dev/null
printf '%s' "{\"path\":\"$D/p\"}" | "$TOOL" encode filesystem.Filesystem/MakeDir > "$T/mk.req"
read -r st ct < <(curl -sS -o "$T/mk.body" -w '%{http_code} %{content_type}\n' "${H[@]}" \
	-H 'Content-Type: application/proto' --data-binary @"$T/mk.req" "$E2BD_URL/filesystem.Filesystem/MakeDir")
name=$("$TOOL" decode filesystem.Filesystem/MakeDir < "$T/mk.body" | json_get "d['entry']['name']")
[ "$st" = 200 ] && [ "$name" = p ] && ok "MakeDir in proto" || fail "MakeDir in proto" "$st $name"
expect_eq "unary proto content type" "application/proto" "$ct"
same_unary "MakeDir again (error)" filesystem.Filesystem/MakeDir "{\"path\":\"$D/sub\"}" 409
case $PCT in application/json*) ok "unary error is JSON in the proto codec" ;;
	*) fail "unary error is JSON in the proto codec" "$PCT" ;; esac
same_unary "Stat" filesystem.Filesystem/Stat "{\"path\":\"$D\"}"
case $JCT in application/json*) ok "unary json content type" ;; *) fail "unary json content type" "$JCT" ;; esac
same_unary "Stat missing" filesystem.Filesystem/Stat "{\"path\":\"$D/nope\"}" 404
same_unary "ListDir" filesystem.Filesystem/ListDir "{\"path\":\"$D\",\"depth\":2}"
same_unary "Process List" process.Process/List '{}'
# An empty protobuf body is the empty message (JSON needs "{}").
read -r st < <(curl -sS -o "$T/e.body" -w '%{http_code}\n' "${H[@]}" -H 'Content-Type: application/proto' \
	--data-binary '' "$E2BD_URL/process.Process/List")
expect_eq "empty protobuf unary request" 200 "$st"
# Garbage is invalid_argument, as JSON.
printf '\x0a\x7f\x01' > "$T/bad"
read -r st < <(curl -sS -o "$T/bad.body" -w '%{http_code}\n' "${H[@]}" -H 'Content-Type: application/proto' \
	--data-binary @"$T/bad" "$E2BD_URL/filesystem.Filesystem/Stat")
code=$(json_get "d['code']" < "$T/bad.body" 2>/dev/null)
[ "$st" = 400 ] && [ "$code" = invalid_argument ] && ok "malformed protobuf: invalid_argument" ||
	fail "malformed protobuf: invalid_argument" "$st $(cat "$T/bad.body")"
read -r st < <(curl -sS -D "$T/h415" -o /dev/null -w '%{http_code}\n' "${H[@]}" -H 'Content-Type: application/xml' \
	--data-binary 'x' "$E2BD_URL/process.Process/List")
grep -qi '^Accept-Post:.*application/proto' "$T/h415" && [ "$st" = 415 ] &&
	ok "415 names both codecs" || fail "415 names both codecs" "$st $(cat "$T/h415")"

# stream CODEC PROC JSON [CURL ARGS]: server stream; decoded frames to stdout
# (one JSON line per message, "eos JSON" last) and the content type to $T/ct.
stream() {
	local codec=$1 proc=$2 req=$3
	shift 3
	if [ "$codec" = proto ]; then
		printf '%s' "$req" | "$TOOL" encode -e "$proc" > "$T/s.req"
		curl -sS -N -o "$T/s.body" -w '%{content_type}' "${H[@]}" -H 'Content-Type: application/connect+proto' \
			--data-binary @"$T/s.req" "$@" "$E2BD_URL/$proc" > "$T/ct"
		"$TOOL" decode -e "$proc" < "$T/s.body"
	else
		python3 -c 'import sys; p=sys.argv[1].encode(); sys.stdout.buffer.write(bytes([0])+len(p).to_bytes(4,"big")+p)' \
			"$req" > "$T/s.req"
		curl -sS -N -o "$T/s.body" -w '%{content_type}' "${H[@]}" -H 'Content-Type: application/connect+json' \
			--data-binary @"$T/s.req" "$@" "$E2BD_URL/$proc" > "$T/ct"
		python3 -c '
import sys, json
d = open(sys.argv[1], "rb").read(); i = 0
while i + 5 <= len(d):
    f = d[i]; n = int.from_bytes(d[i+1:i+5], "big"); j = json.loads(d[i+5:i+5+n]); i += 5 + n
    print(("eos " if f & 2 else "") + json.dumps(j, sort_keys=True, separators=(",", ":")))' "$T/s.body"
	fi
}

# summary: stream lines -> the outputs joined per member, other events as they are (pid dropped).
summary() {
	python3 -c '
import sys, json, base64
out = {}; rest = []
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("eos "): rest.append(line); continue
    ev = json.loads(line).get("event", {})
    if "data" in ev:
        for k, v in ev["data"].items(): out[k] = out.get(k, b"") + base64.b64decode(v)
    elif "start" in ev: rest.append("start")
    elif "keepalive" in ev: rest.append("keepalive")
    else: rest.append(json.dumps(ev, sort_keys=True))
print(json.dumps({k: v.decode("latin-1") for k, v in sorted(out.items())}, sort_keys=True))
print("\n".join(rest))'
}

REQ='{"process":{"cmd":"/bin/bash","args":["-c","printf \"a\\0b\"; head -c 300000 /dev/zero | tr \"\\0\" x; echo oops >&2; exit 3"]}}'
js=$(stream json process.Process/Start "$REQ" | summary)
jct=$(cat "$T/ct")
ps=$(stream proto process.Process/Start "$REQ" | summary)
pct=$(cat "$T/ct")
if [ "$js" = "$ps" ] && printf '%s' "$ps" | grep -q '"exitCode": 3' && printf '%s' "$ps" | grep -q '^eos {}$'; then
	ok "Start stream: same output, end and end-of-stream in both codecs"
else
	fail "Start stream: same output, end and end-of-stream in both codecs" \
		"$(diff <(printf '%s\n' "$js" | cut -c1-200) <(printf '%s\n' "$ps" | cut -c1-200) | tr '\n' ' ')"
fi
expect_eq "stream proto content type" "application/connect+proto" "$pct"
expect_eq "stream json content type" "application/connect+json" "$jct"

js=$(stream json process.Process/Connect '{"process":{"pid":999999}}')
ps=$(stream proto process.Process/Connect '{"process":{"pid":999999}}')
pct=$(cat "$T/ct")
if [ "$js" = "$ps" ] && printf '%s' "$ps" | grep -q '^eos {"error":{"code":"not_found"'; then
	ok "stream error: the same JSON end-of-stream in both codecs"
else
	fail "stream error: the same JSON end-of-stream in both codecs" "json: $js / proto: $ps"
fi
expect_eq "stream error content type follows the request" "application/connect+proto" "$pct"

ps=$(stream proto process.Process/Start '{"process":{"cmd":"/bin/sleep","args":["2.5"]}}' \
	-H 'Keepalive-Ping-Interval: 1' | summary)
printf '%s\n' "$ps" | grep -q '^keepalive$' && ok "keepalive in the proto codec" ||
	fail "keepalive in the proto codec" "$ps"

# A client stream in the protobuf codec feeds stdin.
printf '%s' '{"process":{"cmd":"/usr/bin/head","args":["-c","5"]},"stdin":true,"tag":"codec-in"}' |
	"$TOOL" encode -e process.Process/Start > "$T/in-start.req"
curl -sS -N -o "$T/in-start.body" "${H[@]}" -H 'Content-Type: application/connect+proto' \
	--data-binary @"$T/in-start.req" "$E2BD_URL/process.Process/Start" &
spid=$!
for _ in $(seq 50); do
	rpc "$ID" process.Process/List '{}' | grep -q codec-in && break
	sleep 0.1
done
{ printf '%s' '{"start":{"process":{"tag":"codec-in"}}}' | "$TOOL" encode -e process.Process/StreamInput
  printf '%s' '{"data":{"input":{"stdin":"aGVs"}}}' | "$TOOL" encode -e process.Process/StreamInput
  printf '%s' '{"keepalive":{}}' | "$TOOL" encode -e process.Process/StreamInput
  printf '%s' '{"data":{"input":{"stdin":"bG8="}}}' | "$TOOL" encode -e process.Process/StreamInput
} > "$T/in.req"
curl -sS -o "$T/in.body" -w '%{content_type}' "${H[@]}" -H 'Content-Type: application/connect+proto' \
	--data-binary @"$T/in.req" "$E2BD_URL/process.Process/StreamInput" > "$T/in.ct"
ans=$("$TOOL" decode -e process.Process/StreamInput < "$T/in.body" | tr '\n' ' ')
expect_eq "StreamInput answer in proto" "{} eos {} " "$ans"
for _ in $(seq 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
out=$("$TOOL" decode -e process.Process/Start < "$T/in-start.body" | summary | head -1)
expect_eq "stdin through a proto client stream" '{"stdout": "hello"}' "$out"

envd "$ID" POST /filesystem.Filesystem/Remove "{\"path\":\"$D\"}" application/json -H 'Connect-Protocol-Version: 1' > /dev/null
done_testing
