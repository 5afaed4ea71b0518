#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Management API of e2bd: every route and status code, native and under
# /kruise/api, auth, list filters and pagination, expiry, the openkruise
# flavor (own e2bd) and a restart that keeps sandboxes (own e2bd).
. "$SRC_DIR/tests/lib.sh"

MAIN_URL=$E2BD_URL
PIDS=()
my_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	E2BD_URL=$MAIN_URL
	_lib_cleanup
}
trap my_cleanup EXIT

# status_of METHOD PATH [JSON]: print only the HTTP status.
status_of() { api "$@" > /dev/null; echo "$API_STATUS"; }
# raw METHOD PATH [curl args...]: curl without the API key, prints status.
raw() {
	local m=$1 p=$2; shift 2
	curl -sS -o "$TEST_TMP/raw.out" -w '%{http_code}' -X "$m" "$@" "$E2BD_URL$p"
}
field() { json_get "d.get('$1')"; }
# apic METHOD PATH [JSON]: like api, but in this shell: sets OUT and API_STATUS.
apic() { api "$@" > "$TEST_TMP/apic.$$"; OUT=$(cat "$TEST_TMP/apic.$$"); }

# start_e2bd NAME ARGS...: own e2bd on a free port; sets OWN_URL, OWN_PID.
start_e2bd() {
	local name=$1 port; shift
	port=$(free_port)
	( umask 077; printf '%s\n' "$E2B_API_KEY" > "$TEST_TMP/$name.key" )
	"$E2BD_BIN" --listen "127.0.0.1:$port" --state-dir "$TEST_TMP/$name.state" \
		--api-key-file "$TEST_TMP/$name.key" "$@" >> "$TEST_TMP/$name.log" 2>&1 &
	OWN_PID=$!
	PIDS+=("$OWN_PID")
	OWN_URL=http://127.0.0.1:$port
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "$OWN_URL/health" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

stop_e2bd() { # stop_e2bd PID
	kill "$1" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}

# --- auth
for pre in "" /kruise/api; do
	expect_eq "auth$pre: missing key is 401" 401 "$(raw GET "$pre/v2/sandboxes")"
	expect_eq "auth$pre: missing key body" '{"code":401,"message":"Invalid API key"}' "$(cat "$TEST_TMP/raw.out")"
	expect_eq "auth$pre: wrong key is 401" 401 "$(raw POST "$pre/sandboxes" -H 'X-API-Key: e2b_nope' -d '{"templateID":"base"}')"
done
expect_eq "health without key" 200 "$(raw GET /health)"

# --- create, native and prefixed
for pre in "" /kruise/api; do
	apic POST "$pre/sandboxes" '{"templateID":"base","metadata":{"suite":"mgmt","form":"v1'"$pre"'"}}'; out=$OUT
	expect_eq "create$pre: 201" 201 "$API_STATUS"
	id=$(printf '%s' "$out" | field sandboxID)
	[ -n "$id" ] && printf '%s\n' "$id" >> "$TEST_TMP/.sandboxes.$$"
	check "create$pre: id is 20 lowercase alnum" grep -Eq '^[a-z0-9]{20}$' <<< "$id"
	expect_eq "create$pre: envdVersion" 0.6.13 "$(printf '%s' "$out" | field envdVersion)"
	expect_eq "create$pre: v1 not secure by default" None "$(printf '%s' "$out" | field envdAccessToken)"
	expect_eq "create$pre: templateID" base "$(printf '%s' "$out" | field templateID)"
	expect_eq "create$pre: domain is the Host" "127.0.0.1:$E2BD_PORT" "$(printf '%s' "$out" | field domain)"
done
V1=$id
apic POST /v2/sandboxes '{"templateID":"base","metadata":{"suite":"mgmt","form":"v2"}}'; out=$OUT
expect_eq "create v2: 201" 201 "$API_STATUS"
V2=$(printf '%s' "$out" | field sandboxID)
printf '%s\n' "$V2" >> "$TEST_TMP/.sandboxes.$$"
check "create v2: always secure" grep -Eq '^[0-9a-f]{64}$' <<< "$(printf '%s' "$out" | field envdAccessToken)"
apic POST /sandboxes '{"templateID":"code-interpreter","secure":true,"timeout":120}'; out=$OUT
expect_eq "create secure v1 (alias template): 201" 201 "$API_STATUS"
S1=$(printf '%s' "$out" | field sandboxID)
printf '%s\n' "$S1" >> "$TEST_TMP/.sandboxes.$$"
check "create secure v1: token" test -n "$(printf '%s' "$out" | field envdAccessToken)"

expect_eq "create: missing templateID 400" 400 "$(status_of POST /sandboxes '{}')"
expect_eq "create: unknown template 400" 400 "$(status_of POST /sandboxes '{"templateID":"nope"}')"
expect_eq "create: unknown template body" '{"code":400,"message":"template '"'nope'"' not found"}' "$(api POST /sandboxes '{"templateID":"nope"}')"
expect_eq "create: bad JSON 400" 400 "$(status_of POST /sandboxes '{"templateID":')"
expect_eq "create: negative timeout 400" 400 "$(status_of POST /sandboxes '{"templateID":"base","timeout":-1}')"
expect_eq "create: metadata not strings 400" 400 "$(status_of POST /kruise/api/sandboxes '{"templateID":"base","metadata":{"a":1}}')"
expect_eq "create: chunked body 201" 201 "$(printf '{"templateID":"base","timeout":60}' | curl -sS -o "$TEST_TMP/chunk.out" -w '%{http_code}' -H @"$_lib_hdr" -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' --data-binary @- "$E2BD_URL/v2/sandboxes")"
CH=$(field sandboxID < "$TEST_TMP/chunk.out")
printf '%s\n' "$CH" >> "$TEST_TMP/.sandboxes.$$"

# --- get
for pre in "" /kruise/api; do
	apic GET "$pre/sandboxes/$V2"; out=$OUT
	expect_eq "get$pre: 200" 200 "$API_STATUS"
	expect_eq "get$pre: state" running "$(printf '%s' "$out" | field state)"
	check "get$pre: startedAt RFC3339" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' <<< "$(printf '%s' "$out" | field startedAt)"
	check "get$pre: endAt RFC3339" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' <<< "$(printf '%s' "$out" | field endAt)"
	check "get$pre: numbers" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert all(isinstance(d[k],int) and d[k]>0 for k in ("cpuCount","memoryMB","diskSizeMB"))' "$out"
	expect_eq "get$pre: metadata" "{'suite': 'mgmt', 'form': 'v2'}" "$(printf '%s' "$out" | field metadata)"
	check "get$pre: has envdAccessToken" test -n "$(printf '%s' "$out" | field envdAccessToken)"
	expect_eq "get$pre: unknown 404" 404 "$(status_of GET "$pre/sandboxes/doesnotexist00000000")"
done

# --- lists
apic GET "/sandboxes?metadata=suite%3Dmgmt"; out=$OUT
expect_eq "list v1: 200" 200 "$API_STATUS"
expect_eq "list v1: metadata filter finds 3" 3 "$(printf '%s' "$out" | json_get 'len(d)')"
check "list v1: no envdAccessToken" python3 -c 'import json,sys; assert all("envdAccessToken" not in x for x in json.loads(sys.argv[1]))' "$out"
q=$(python3 -c 'import urllib.parse as u; print(u.quote("suite="+u.quote("mgmt")+"&form="+u.quote("v2"), safe=""))')
apic GET "/v2/sandboxes?metadata=$q"; out=$OUT
expect_eq "list v2: two-key metadata filter" "['$V2']" "$(printf '%s' "$out" | json_get '[x["sandboxID"] for x in d]')"
apic GET "/kruise/api/v2/sandboxes?metadata=suite%3Dnothing"; out=$OUT
expect_eq "list v2 prefixed: empty result" "[]" "$out"
expect_eq "list v2: bad state 400" 400 "$(status_of GET "/v2/sandboxes?state=running,bogus")"
expect_eq "list v2: limit 0 400" 400 "$(status_of GET "/v2/sandboxes?limit=0")"
expect_eq "list v2: limit 101 400" 400 "$(status_of GET "/v2/sandboxes?limit=101")"
expect_eq "list v2: bad nextToken 400" 400 "$(status_of GET "/v2/sandboxes?nextToken=zzz")"
# Pagination: walk with limit=1 and collect every ID once.
seen=() token=
for _ in $(seq 20); do
	hdr=$TEST_TMP/hdr.$$
	ids=$(curl -sS -D "$hdr" -H @"$_lib_hdr" "$E2BD_URL/v2/sandboxes?limit=1&metadata=suite%3Dmgmt${token:+&nextToken=$token}" | json_get '" ".join(x["sandboxID"] for x in d)')
	seen+=($ids)
	token=$(grep -i '^x-next-token:' "$hdr" | cut -d' ' -f2 | tr -d '\r')
	[ -z "$token" ] && break
done
expect_eq "list v2: pagination visits 3 once each" 3 "$(printf '%s\n' "${seen[@]}" | sort -u | wc -l)"
expect_eq "list v2: pagination total" 3 "${#seen[@]}"

# --- pause / resume / connect
for pre in "" /kruise/api; do
	expect_eq "pause$pre: 204" 204 "$(status_of POST "$pre/sandboxes/$V1/pause")"
	expect_eq "pause$pre: again 409" 409 "$(status_of POST "$pre/sandboxes/$V1/pause")"
	expect_eq "pause$pre: state paused" paused "$(api GET "$pre/sandboxes/$V1" | field state)"
	expect_eq "pause$pre: not in v1 list" 0 "$(api GET "$pre/sandboxes?metadata=suite%3Dmgmt" | json_get "len([x for x in d if x['sandboxID']=='$V1'])")"
	expect_eq "pause$pre: in v2 state=paused" "['$V1']" "$(api GET "$pre/v2/sandboxes?state=paused&metadata=suite%3Dmgmt" | json_get '[x["sandboxID"] for x in d]')"
	apic POST "$pre/sandboxes/$V1/resume" '{"timeout":120}'; out=$OUT
	expect_eq "resume$pre: 201" 201 "$API_STATUS"
	expect_eq "resume$pre: Sandbox body" "$V1" "$(printf '%s' "$out" | field sandboxID)"
	expect_eq "resume$pre: again 409" 409 "$(status_of POST "$pre/sandboxes/$V1/resume")"
	expect_eq "connect$pre: running 200" 200 "$(status_of POST "$pre/sandboxes/$V1/connect" '{"timeout":60}')"
	status_of POST "$pre/sandboxes/$V1/pause" > /dev/null
	expect_eq "connect$pre: paused 201" 201 "$(status_of POST "$pre/sandboxes/$V1/connect" '{"timeout":60}')"
	expect_eq "connect$pre: now running" running "$(api GET "$pre/sandboxes/$V1" | field state)"
	expect_eq "connect v2$pre: 200" 200 "$(status_of POST "$pre/v2/sandboxes/$V1/connect")"
	expect_eq "connect$pre: missing timeout 400" 400 "$(status_of POST "$pre/sandboxes/$V1/connect" '{}')"
	expect_eq "connect$pre: unknown 404" 404 "$(status_of POST "$pre/sandboxes/nope/connect" '{"timeout":5}')"
done
status_of POST "/sandboxes/$V1/timeout" '{"timeout":1000}' > /dev/null
end1=$(api GET "/sandboxes/$V1" | field endAt)
status_of POST "/sandboxes/$V1/connect" '{"timeout":10}' > /dev/null
expect_eq "connect: never shortens endAt" "$end1" "$(api GET "/sandboxes/$V1" | field endAt)"
status_of POST "/sandboxes/$V1/pause" > /dev/null
status_of POST "/sandboxes/$V1/connect" '{"timeout":60}' > /dev/null
left=$(api GET "/sandboxes/$V1" | json_get "int(__import__('datetime').datetime.strptime(d['endAt'],'%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=__import__('datetime').timezone.utc).timestamp() - __import__('time').time())")
check "connect: a resumed sandbox runs for the connect timeout ($left s left, asked 60)" test "$left" -gt 50 -a "$left" -le 61
status_of POST "/sandboxes/$V1/timeout" '{"timeout":10}' > /dev/null
check "timeout: can shorten endAt" test "$end1" != "$(api GET "/sandboxes/$V1" | field endAt)"

# --- timeout, refreshes, metrics
for pre in "" /kruise/api; do
	expect_eq "timeout$pre: 204" 204 "$(status_of POST "$pre/sandboxes/$V1/timeout" '{"timeout":300}')"
	expect_eq "timeout$pre: bad body 400" 400 "$(status_of POST "$pre/sandboxes/$V1/timeout" '{"timeout":"x"}')"
	expect_eq "timeout$pre: unknown 404" 404 "$(status_of POST "$pre/sandboxes/nope/timeout" '{"timeout":30}')"
	expect_eq "refreshes$pre: 204" 204 "$(status_of POST "$pre/sandboxes/$V1/refreshes" '{"duration":60}')"
	expect_eq "refreshes$pre: too long 400" 400 "$(status_of POST "$pre/sandboxes/$V1/refreshes" '{"duration":3601}')"
	apic GET "$pre/sandboxes/$V1/metrics"; out=$OUT
	expect_eq "metrics$pre: 200" 200 "$API_STATUS"
	check "metrics$pre: SandboxMetric array" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert isinstance(d,list) and "timestampUnix" in d[0] and "memTotal" in d[0]' "$out"
done

apic GET "/sandboxes/metrics?sandbox_ids=$V1,nope"; out=$OUT
expect_eq "metrics of many: 200" 200 "$API_STATUS"
expect_eq "metrics of many: known IDs only" "['$V1']" "$(printf '%s' "$out" | json_get 'list(d["sandboxes"])')"
expect_eq "metrics of many: sandbox_ids required" 400 "$(status_of GET /sandboxes/metrics)"
# (what the logs hold: sblog.sh)
expect_eq "logs: both arrays, the creation first" "sandbox.create sandbox.create" \
	"$(api GET "/sandboxes/$V1/logs" | json_get 'd["logEntries"][0]["fields"]["event"] + " " + json.loads(d["logs"][0]["line"])["event"]')"
expect_eq "logs v2: newest first, the creation last" "sandbox.create" \
	"$(api GET "/v2/sandboxes/$V1/logs" | json_get 'd["logs"][-1]["fields"]["event"]')"
expect_eq "logs: unknown sandbox 404" 404 "$(status_of GET /v2/sandboxes/nope/logs)"

# --- unknown paths and methods
expect_eq "unknown path 404" 404 "$(status_of GET /nope)"
expect_eq "unknown path JSON" '{"code":404,"message":"not found"}' "$(api GET /kruise/api/nope)"
expect_eq "wrong method 405" 405 "$(status_of PUT "/sandboxes/$V1")"
expect_eq "wrong method 405 prefixed" 405 "$(status_of GET "/kruise/api/sandboxes/$V1/pause")"
expect_eq "unknown sub-route 404" 404 "$(status_of GET "/sandboxes/$V1/nope")"

# --- delete
for pre in "" /kruise/api; do
	id=$(new_sandbox '{"templateID":"base","timeout":60}')
	expect_eq "delete$pre: 204" 204 "$(status_of DELETE "$pre/sandboxes/$id")"
	expect_eq "delete$pre: again 404" 404 "$(status_of DELETE "$pre/sandboxes/$id")"
	expect_eq "delete$pre: get 404" 404 "$(status_of GET "$pre/sandboxes/$id")"
done

# --- expiry
K1=$(new_sandbox '{"templateID":"base","timeout":1}')
P1=$(new_sandbox '{"templateID":"base","timeout":1,"autoPause":true}')
# Both expire a second after creation: poll (up to 10 s) rather than wait.
for _ in $(seq 50); do
	[ "$(status_of GET "/sandboxes/$K1")" = 404 ] && [ "$(api GET "/sandboxes/$P1" | field state)" = paused ] && break
	sleep 0.2
done
expect_eq "timeout kills" 404 "$(status_of GET "/sandboxes/$K1")"
expect_eq "timeout with autoPause pauses" paused "$(api GET "/sandboxes/$P1" | field state)"

# --- 50 live sandboxes, each reachable through envd
mkdir -p "$TEST_TMP/fifty"
seq 50 | xargs -P 8 -I{} sh -c 'curl -sS -H @"$1" -d "{\"templateID\":\"base\",\"timeout\":120,\"metadata\":{\"fifty\":\"$2\"}}" "$3/sandboxes" > "$4/{}"' _ "$_lib_hdr" "$$" "$E2BD_URL" "$TEST_TMP/fifty"
cat "$TEST_TMP"/fifty/* | python3 -c 'import sys,json; [print(json.loads(l)["sandboxID"]) for l in sys.stdin.read().replace("}{","}\n{").splitlines() if l.strip()]' > "$TEST_TMP/fifty.ids" 2>/dev/null
cat "$TEST_TMP/fifty.ids" >> "$TEST_TMP/.sandboxes.$$"
expect_eq "50 sandboxes created" 50 "$(wc -l < "$TEST_TMP/fifty.ids")"
expect_eq "50 sandboxes listed running" 50 "$(api GET "/sandboxes?metadata=fifty%3D$$" | json_get 'len([x for x in d if x["state"]=="running"])')"
okc=0
while read -r sid; do
	[ "$(curl -sS -o /dev/null -w '%{http_code}' -H "E2b-Sandbox-Id: $sid" "$E2BD_URL/health")" = 204 ] && okc=$((okc + 1))
done < "$TEST_TMP/fifty.ids"
expect_eq "50 sandboxes answer envd /health" 50 "$okc"
xargs -P 8 -I{} curl -sS -o /dev/null -X DELETE -H @"$_lib_hdr" "$E2BD_URL/sandboxes/{}" < "$TEST_TMP/fifty.ids"
# Deleted: the exit cleanup need not ask again, one call at a time.
grep -vxF -f "$TEST_TMP/fifty.ids" "$TEST_TMP/.sandboxes.$$" > "$TEST_TMP/sandboxes.left"
cat "$TEST_TMP/sandboxes.left" > "$TEST_TMP/.sandboxes.$$"
expect_eq "50 sandboxes deleted" 0 "$(api GET "/v2/sandboxes?metadata=fifty%3D$$" | json_get 'len(d)')"

# --- openkruise flavor, own e2bd
if start_e2bd ok --flavor openkruise; then
	ok "openkruise: e2bd starts"
	E2BD_URL=$OWN_URL
	apic POST /kruise/api/sandboxes '{"templateID":"base"}'; out=$OUT
	expect_eq "openkruise: create 201" 201 "$API_STATUS"
	id=$(printf '%s' "$out" | field sandboxID)
	expect_eq "openkruise: envdVersion 0.2.10" 0.2.10 "$(printf '%s' "$out" | field envdVersion)"
	check "openkruise: always a token" test -n "$(printf '%s' "$out" | field envdAccessToken)"
	check "openkruise: create answers with state" test running = "$(printf '%s' "$out" | field state)"
	expect_eq "openkruise: create timeout 10 is 400" 400 "$(status_of POST /sandboxes '{"templateID":"base","timeout":10}')"
	expect_eq "openkruise: metadata key not a qualified name is 400" 400 "$(status_of POST /sandboxes '{"templateID":"base","metadata":{"bad key":"v"}}')"
	expect_eq "openkruise: prefixed metadata key is fine" 201 "$(status_of POST /sandboxes '{"templateID":"base","metadata":{"e2b.agents.kruise.io/x":"v"}}')"
	expect_eq "openkruise: create timeout 2592001 is 400" 400 "$(status_of POST /sandboxes '{"templateID":"base","timeout":2592001}')"
	apic POST /sandboxes '{"templateID":"nope"}'; out=$OUT
	check "openkruise: error JSON shape" python3 -c 'import json,sys,re; d=json.loads(sys.argv[1]); assert d["code"]==400 and d["headers"] is None and re.fullmatch("[0-9a-f]{32}", d["request_id"]) and d["message"]' "$out"
	hdr=$(curl -sS -D - -o /dev/null -H @"$_lib_hdr" "$OWN_URL/v2/sandboxes")
	check "openkruise: X-Request-ID on success" grep -Eiq '^x-request-id: [0-9a-f]{32}' <<< "$hdr"
	expect_eq "openkruise: pause 204" 204 "$(status_of POST "/sandboxes/$id/pause")"
	expect_eq "openkruise: resume without body 500" 500 "$(status_of POST "/sandboxes/$id/resume")"
	apic POST "/sandboxes/$id/resume" '{"timeout":60}'; out=$OUT
	expect_eq "openkruise: resume 204" 204 "$API_STATUS"
	expect_eq "openkruise: resume has no body" "" "$out"
	expect_eq "openkruise: timeout validation error is 500" 500 "$(status_of POST "/sandboxes/$id/timeout" '{"timeout":0}')"
	expect_eq "openkruise: timeout unknown is 404" 404 "$(status_of POST "/sandboxes/nope/timeout" '{"timeout":60}')"
	expect_eq "openkruise: timeout 204" 204 "$(status_of POST "/sandboxes/$id/timeout" '{"timeout":60}')"
	expect_eq "openkruise: connect timeout 0 is 400" 400 "$(status_of POST "/sandboxes/$id/connect" '{"timeout":0}')"
	expect_eq "openkruise: connect 200" 200 "$(status_of POST "/sandboxes/$id/connect" '{"timeout":60}')"
	expect_eq "openkruise: unknown sandbox 404" 404 "$(status_of GET /sandboxes/nope)"
	expect_eq "openkruise: delete 204" 204 "$(status_of DELETE "/kruise/api/sandboxes/$id")"
	expect_eq "openkruise: delete of gone 204" 204 "$(status_of DELETE "/kruise/api/sandboxes/$id")"
	expect_eq "openkruise: delete of never-known 404" 404 "$(status_of DELETE /sandboxes/neverexisted0000000)"
	expect_eq "openkruise: POST /v2/sandboxes is 405" 405 "$(status_of POST /v2/sandboxes '{"templateID":"base"}')"
	expect_eq "openkruise: GET /sandboxes is 405" 405 "$(status_of GET /sandboxes)"
	expect_eq "openkruise: POST /v2/sandboxes/{id}/connect is 405" 405 "$(status_of POST "/kruise/api/v2/sandboxes/$id/connect" '{"timeout":60}')"
	expect_eq "openkruise: unknown path plain 404" "404 page not found" "$(api GET /nope)"
	wrapped=$(python3 -c 'import hashlib,os; r=os.environ["E2B_API_KEY"].encode(); print("e2b_6f6b616701%08x%s%s" % (len(r), r.hex(), hashlib.sha256(b"openkruise-agents/e2b-key-compat/v1"+r).hexdigest()[:16]))')
	printf 'X-API-Key: %s\n' "$wrapped" > "$TEST_TMP/wrapped.hdr"
	expect_eq "openkruise: wrapped key accepted" 200 "$(curl -sS -o /dev/null -w '%{http_code}' -H @"$TEST_TMP/wrapped.hdr" "$OWN_URL/v2/sandboxes")"
	# a checksum digit changed for sure (a 0 made 0 would still be valid)
	bad=0; [ "${wrapped: -1}" = 0 ] && bad=1
	printf 'X-API-Key: %s%s\n' "${wrapped%?}" "$bad" > "$TEST_TMP/wrapped.hdr"
	expect_eq "openkruise: wrapped key with a bad checksum 401" 401 "$(curl -sS -o /dev/null -w '%{http_code}' -H @"$TEST_TMP/wrapped.hdr" "$OWN_URL/v2/sandboxes")"
	expect_eq "openkruise: 401 shape" 401 "$(curl -sS -o /dev/null -w '%{http_code}' "$OWN_URL/v2/sandboxes")"
	E2BD_URL=$MAIN_URL
	stop_e2bd "$OWN_PID"
else
	fail "openkruise: e2bd starts" "$(tail -3 "$TEST_TMP/ok.log")"
fi

# --- restart keeps sandboxes (paused), own e2bd
if start_e2bd rs; then
	E2BD_URL=$OWN_URL
	a=$(api POST /sandboxes '{"templateID":"base","metadata":{"r":"1"}}' | field sandboxID)
	b=$(api POST /v2/sandboxes '{"templateID":"base","metadata":{"r":"2"}}' | field sandboxID)
	tokb=$(api GET "/sandboxes/$b" | field envdAccessToken)
	if stop_e2bd "$OWN_PID"; then ok "restart: SIGTERM stops e2bd"; else fail "restart: SIGTERM stops e2bd" "still running"; fi
	# A damaged sandbox.json is skipped, not fatal.
	mkdir -p "$TEST_TMP/rs.state/sandboxes/broken0000000000000"
	printf '{"sandboxID":' > "$TEST_TMP/rs.state/sandboxes/broken0000000000000/sandbox.json"
	if start_e2bd rs; then
		ok "restart: e2bd starts again"
		E2BD_URL=$OWN_URL
		apic GET "/v2/sandboxes"; out=$OUT
		expect_eq "restart: both listed as paused" "$(python3 -c "print(sorted([('$a', 'paused'), ('$b', 'paused')]))")" \
			"$(printf '%s' "$out" | json_get "sorted((x['sandboxID'], x['state']) for x in d if x['sandboxID'] in ('$a','$b'))" )"
		expect_eq "restart: damaged sandbox.json skipped" 404 "$(status_of GET /sandboxes/broken0000000000000)"
		expect_eq "restart: metadata kept" 1 "$(api GET "/sandboxes/$a" | json_get "d['metadata']['r']")"
		expect_eq "restart: token kept" "$tokb" "$(api GET "/sandboxes/$b" | field envdAccessToken)"
		expect_eq "restart: v1 list shows none running" 0 "$(api GET "/sandboxes?metadata=r%3D1" | json_get 'len(d)')"
		expect_eq "restart: connect resumes 201" 201 "$(status_of POST "/sandboxes/$a/connect" '{"timeout":60}')"
		expect_eq "restart: resume 201" 201 "$(status_of POST "/sandboxes/$b/resume" '{"timeout":60}')"
		expect_eq "restart: running after resume" running "$(api GET "/sandboxes/$b" | field state)"
		status_of DELETE "/sandboxes/$a" > /dev/null
		status_of DELETE "/sandboxes/$b" > /dev/null
		E2BD_URL=$MAIN_URL
		stop_e2bd "$OWN_PID"
	else
		fail "restart: e2bd starts again" "$(tail -3 "$TEST_TMP/rs.log")"
	fi
else
	fail "restart: e2bd starts" "$(tail -3 "$TEST_TMP/rs.log")"
fi
E2BD_URL=$MAIN_URL

# --- bad invocations
"$E2BD_BIN" --bogus > /dev/null 2> "$TEST_TMP/bogus.err"
expect_eq "unknown flag exits 2" 2 "$?"
check "unknown flag prints usage" grep -q '^usage: e2bd' "$TEST_TMP/bogus.err"
check "--help lists every flag" bash -c '"$0" --help | grep -q -- --default-template && "$0" --help | grep -q -- --flavor' "$E2BD_BIN"

done_testing
