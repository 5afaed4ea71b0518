#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sandbox logs (GET /sandboxes/{id}/logs, /v2/sandboxes/{id}/logs): after
# create, a process, set-timeout, pause, resume and kill, the log holds
# those entries in order, with the process's pid, command line, user, cwd
# and exit code but never its environment's values; start/limit (v1) and
# cursor/limit/direction/level/search (v2) select what they say; a killed
# sandbox's log stays readable while its other routes are 404; an unknown
# sandbox is 404; bad arguments are 400.  A private e2bd with
# --sandbox-log-entries 10 --sandbox-log-keep 1 shows the ring's bound and
# the eviction of dead sandboxes' logs.
. "$SRC_DIR/tests/lib.sh"

SECRET=s3cr3t-$RANDOM$RANDOM
id=$(new_sandbox '{"templateID":"base","timeout":120,"envVars":{"SB_TOKEN":"'"$SECRET"'-sb"}}') ||
	{ fail "create sandbox" "$id"; done_testing; }

# A process with a secret in its environment, exiting 3 (run to its end).
CTL() { "$E2BCTL_BIN" --api-url "$E2BD_URL" --domain "localhost:$E2BD_PORT" --scheme http "$@"; }
CTL run "$id" --cwd /tmp --env "MY_TOKEN=$SECRET-proc" -- 'echo "${MY_TOKEN:0:1}" >/dev/null; exit 3' < /dev/null
expect_eq "the process ran" 3 "$?"
api POST "/sandboxes/$id/timeout" '{"timeout":600}' > /dev/null
expect_eq "set timeout" 204 "$API_STATUS"
api POST "/sandboxes/$id/pause" > /dev/null
expect_eq "pause" 204 "$API_STATUS"
api POST "/sandboxes/$id/resume" '{"timeout":300}' > /dev/null
expect_eq "resume" 201 "$API_STATUS"

# v1: oldest first, both arrays.
api GET "/sandboxes/$id/logs" > "$TEST_TMP/v1.json"
v1=$(cat "$TEST_TMP/v1.json")
expect_eq "v1 logs: 200" 200 "$API_STATUS"
events() { python3 -c '
import json, sys
d = json.load(sys.stdin)
es = d["logEntries"] if "logEntries" in d else d["logs"]
print(" ".join(e["fields"].get("event", "?") for e in es))'; }
expect_eq "v1: the entries in order" \
	"sandbox.create process.start process.end sandbox.timeout sandbox.pause sandbox.resume" \
	"$(printf '%s' "$v1" | events)"
check "v1: the process entries carry pid, command line, user, cwd, exit code" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
es = d["logEntries"]
st, end = es[1], es[2]
assert st["level"] == "info", st
assert st["fields"]["cmd"] == "/bin/bash -l -c '"'"'echo \"${MY_TOKEN:0:1}\" >/dev/null; exit 3'"'"'", st
assert st["fields"]["user"] == "user" and st["fields"]["cwd"] == "/tmp", st
assert st["fields"]["pid"] == end["fields"]["pid"] and end["fields"]["exitCode"] == "3", end
assert end["message"] == "process %s exited with code 3" % end["fields"]["pid"], end
assert es[0]["fields"]["templateID"] == "base" and es[0]["fields"]["timeout"] == "120", es[0]
assert es[3]["fields"]["timeout"] == "600", es[3]
assert len(d["logs"]) == len(es)
for l, e in zip(d["logs"], es):
    # the line is the entry as envd-style JSON, which the E2B CLI parses
    line = json.loads(l["line"])
    assert l["timestamp"] == e["timestamp"] and line["message"] == e["message"], (l, e)
    assert line["level"] == e["level"] and line["logger"] in ("processSvc", "sandboxSvc"), l
    assert all(line[k] == v for k, v in e["fields"].items()), (l, e)
ts = [e["timestamp"] for e in es]
assert ts == sorted(ts), ts
assert all(t.endswith("Z") and len(t) == 24 for t in ts), ts
' "$v1"
case $v1 in
*"$SECRET"*) fail "no environment value in the log" "$v1" ;;
*) ok "no environment value in the log" ;;
esac

# v1 start and limit.
t3=$(printf '%s' "$v1" | python3 -c '
import json, sys, datetime
e = json.load(sys.stdin)["logEntries"][3]
t = datetime.datetime.strptime(e["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print(int(t.timestamp() * 1000 + 0.5))')
expect_eq "v1 limit=2: the two oldest" "sandbox.create process.start" \
	"$(api GET "/sandboxes/$id/logs?limit=2" | events)"
check "v1 start: nothing before it" python3 -c '
import json, sys
es = json.loads(sys.argv[1])["logEntries"]
assert all(e["timestamp"] >= sys.argv[2] for e in es) and len(es) >= 3, es
' "$(api GET "/sandboxes/$id/logs?start=$t3")" "$(printf '%s' "$v1" | json_get 'd["logEntries"][3]["timestamp"]')"
expect_eq "v1 limit=0: none" 0 "$(api GET "/sandboxes/$id/logs?limit=0" | json_get 'len(d["logEntries"])')"

# v2: newest first by default; forward; cursor; level; search.
expect_eq "v2 default: newest first" \
	"sandbox.resume sandbox.pause sandbox.timeout process.end process.start sandbox.create" \
	"$(api GET "/v2/sandboxes/$id/logs" | events)"
expect_eq "v2 forward limit=2" "sandbox.create process.start" \
	"$(api GET "/v2/sandboxes/$id/logs?direction=forward&limit=2" | events)"
check "v2 backward cursor: at or before it" python3 -c '
import json, sys
es = json.loads(sys.argv[1])["logs"]
assert es and all(e["timestamp"] <= sys.argv[2] for e in es), es
assert es[0]["fields"]["event"] in ("sandbox.timeout", "sandbox.pause", "sandbox.resume"), es
' "$(api GET "/v2/sandboxes/$id/logs?cursor=$t3&direction=backward")" \
	"$(printf '%s' "$v1" | json_get 'd["logEntries"][3]["timestamp"]')"
check "v2 forward cursor: at or after it" python3 -c '
import json, sys
es = json.loads(sys.argv[1])["logs"]
assert es and all(e["timestamp"] >= sys.argv[2] for e in es), es
assert es[-1]["fields"]["event"] == "sandbox.resume", es
' "$(api GET "/v2/sandboxes/$id/logs?cursor=$t3&direction=forward")" \
	"$(printf '%s' "$v1" | json_get 'd["logEntries"][3]["timestamp"]')"
expect_eq "v2 search: substring of the message" "process.end" \
	"$(api GET "/v2/sandboxes/$id/logs?search=exited%20with%20code%203" | events)"
expect_eq "v2 level=warn: none yet" "" "$(api GET "/v2/sandboxes/$id/logs?level=warn" | events)"
for q in limit=1001 limit=-1 cursor=x direction=up level=fatal "search=$(head -c 300 /dev/zero | tr '\0' a)"; do
	api GET "/v2/sandboxes/$id/logs?$q" > /dev/null
	expect_eq "v2 $(printf '%.20s' "$q"): 400" 400 "$API_STATUS"
done
api GET "/sandboxes/$id/logs?start=-5" > /dev/null
expect_eq "v1 start=-5: 400" 400 "$API_STATUS"

# A failed start is an error entry.
CTL run "$id" --cwd /no/such/dir -- true < /dev/null 2> /dev/null
expect_eq "v2 level=error: the failed start" "process.error" \
	"$(api GET "/v2/sandboxes/$id/logs?level=error" | events)"

# Kill: the log stays, the sandbox is gone.
api DELETE "/sandboxes/$id" > /dev/null
expect_eq "kill" 204 "$API_STATUS"
api GET "/sandboxes/$id" > /dev/null
expect_eq "killed sandbox: GET is 404" 404 "$API_STATUS"
api GET "/v2/sandboxes/$id/logs?limit=1" > "$TEST_TMP/dead.json"
dead=$(cat "$TEST_TMP/dead.json")
expect_eq "killed sandbox: its log is 200" 200 "$API_STATUS"
expect_eq "killed sandbox: the kill is the newest entry" "sandbox.kill request" \
	"$(printf '%s' "$dead" | json_get 'd["logs"][0]["fields"]["event"] + " " + d["logs"][0]["fields"]["reason"]')"
api GET "/sandboxes/nosuchsandbox/logs" > /dev/null
expect_eq "unknown sandbox: v1 404" 404 "$API_STATUS"
api GET "/v2/sandboxes/nosuchsandbox/logs" > /dev/null
expect_eq "unknown sandbox: v2 404" 404 "$API_STATUS"
code=$(curl -s -o /dev/null -w '%{http_code}' "$E2BD_URL/v2/sandboxes/$id/logs")
expect_eq "no key: 401" 401 "$code"

# A timeout kill says so.
tid=$(new_sandbox '{"templateID":"base","timeout":1}') || fail "create short sandbox" "$tid"
for _ in $(seq 50); do
	api GET "/sandboxes/$tid" > /dev/null
	[ "$API_STATUS" = 404 ] && break
	sleep 0.1
done
expect_eq "timeout: the kill's reason" "sandbox.kill timeout" \
	"$(api GET "/v2/sandboxes/$tid/logs?limit=1" | json_get 'd["logs"][0]["fields"]["event"] + " " + d["logs"][0]["fields"].get("reason", "")')"

# --- a private e2bd: ring of 10, one dead sandbox's log kept
own_e2bd e2bd-sblog --sandbox-log-entries 10 --sandbox-log-keep 1 ||
	{ fail "private e2bd up" "$(tail -n 3 "$TEST_TMP/e2bd-sblog.log")"; done_testing; }
A() { E2BD_URL=$OWN_URL api "$@"; }
a=$(A POST /sandboxes '{"templateID":"base"}' | json_get 'd["sandboxID"]')
# 30 distinct entries (each timeout differs) into a ring of 10.
for i in $(seq 101 130); do A POST "/sandboxes/$a/timeout" "{\"timeout\":$i}" > /dev/null; done
ring=$(A GET "/sandboxes/$a/logs")
expect_eq "ring: 10 entries kept" 10 "$(printf '%s' "$ring" | json_get 'len(d["logEntries"])')"
expect_eq "ring: the newest 10, oldest first" "121 130" \
	"$(printf '%s' "$ring" | json_get 'd["logEntries"][0]["fields"]["timeout"] + " " + d["logEntries"][-1]["fields"]["timeout"]')"
# The same entry again is counted, not stored again.
for _ in 1 2 3; do A POST "/sandboxes/$a/timeout" '{"timeout":130}' > /dev/null; done
expect_eq "ring: a repeated entry is counted on the newest" "4 130" \
	"$(A GET "/v2/sandboxes/$a/logs?limit=1" | json_get 'd["logs"][0]["fields"]["repeats"] + " " + d["logs"][0]["fields"]["timeout"]')"
b=$(A POST /sandboxes '{"templateID":"base"}' | json_get 'd["sandboxID"]')
A DELETE "/sandboxes/$a" > /dev/null
A GET "/sandboxes/$a/logs" > /dev/null
expect_eq "keep 1: the killed sandbox's log is kept" 200 "$API_STATUS"
A DELETE "/sandboxes/$b" > /dev/null
A GET "/sandboxes/$b/logs" > /dev/null
expect_eq "keep 1: the newest killed sandbox's log is kept" 200 "$API_STATUS"
A GET "/sandboxes/$a/logs" > /dev/null
expect_eq "keep 1: the older one's is gone" 404 "$API_STATUS"
done_testing
