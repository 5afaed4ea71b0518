#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl logs: against e2bd (its own sandbox logs), and against a fake management
# API that answers E2B's two shapes (logEntries, logs), a sandbox without
# the route (a clear error) and an unknown sandbox (exit 3).
. "$SRC_DIR/tests/tools/cli-lib.sh"

id=$(new_sandbox) || { fail "create sandbox" "$id"; done_testing; }
rc ctl native logs "$id"
expect_eq "e2bd: the sandbox's creation is logged" "0 info sandbox created from template 'base' (timeout 300 s)" \
	"$RC $(printf '%s' "$OUT" | head -n 1 | cut -d' ' -f2-)"
rc ctl native logs nosuch
expect_rc "e2bd: unknown sandbox" 3 "sandbox 'nosuch' not found"
rc ctl native logs -n 2 -f "$id"
expect_rc "--limit with --follow is a usage error" 2 "do not go together"

# --follow: new lines as they come, each once, and the end once the sandbox
# is gone (bounded: the kill is waited for at most 20 s).
ctlx native logs --follow "$id" > "$TEST_TMP/follow.out" 2> "$TEST_TMP/follow.err" &
fpid=$!
for _ in $(seq 50); do [ -s "$TEST_TMP/follow.out" ] && break; sleep 0.1; done
ctl native run "$id" -- 'exit 7' < /dev/null
ctl native set-timeout "$id" 400 > /dev/null
sleep 1.2	# one poll in between: the lines before the kill come in two pages
ctl native run "$id" -- 'exit 8' < /dev/null
ctl native kill "$id" > /dev/null
for _ in $(seq 200); do kill -0 $fpid 2>/dev/null || break; sleep 0.1; done
if kill -0 $fpid 2>/dev/null; then
	kill $fpid
	fail "--follow ends once the sandbox is gone" "still running 20 s after the kill"
else
	wait $fpid
	expect_eq "--follow ends once the sandbox is gone (exit 0)" 0 "$?"
fi
expect_eq "--follow: every line once, in order" "sandbox created
process started
process exited with code 7
sandbox timeout set to 400 s
process started
process exited with code 8
sandbox killed (request)" "$(cut -d' ' -f3- "$TEST_TMP/follow.out" | sed -E 's/^process [0-9]+ (started|exited)/process \1/; s/^(process started|sandbox created).*/\1/')"
expect_eq "--follow: nothing on stderr" "" "$(cat "$TEST_TMP/follow.err")"

# --json against e2bd: the documented vocabulary, a level on every line.
id2=$(new_sandbox) || fail "create sandbox" "$id2"
ctl native --json logs "$id2" > "$TEST_TMP/e2bd-logs.json"
if why=$(python3 "$SRC_DIR/tests/tools/jsonvocab.py" "$SRC_DIR/docs/e2bctl.md" logs "$TEST_TMP/e2bd-logs.json" 2>&1); then
	ok "e2bd: logs --json has the documented fields"
else
	fail "e2bd: logs --json has the documented fields" "$why; $(head -c 300 "$TEST_TMP/e2bd-logs.json")"
fi
expect_eq "e2bd: logs --json level" "info" "$(json_get 'd["level"]' < "$TEST_TMP/e2bd-logs.json")"

port=$(free_port)
cat > "$TEST_TMP/fakeapi.py" <<'EOF'
import http.server, json, sys

class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        p = self.path.split("?")[0]
        if p == "/sandboxes/entries/logs":
            self.reply(200, {"logs": [], "logEntries": [
                {"timestamp": "2026-12-01T10:00:00Z", "level": "info",
                 "message": "envd started", "fields": {}},
                {"timestamp": "2026-12-01T10:00:01.5Z", "level": "error",
                 "message": "oom \u00e9", "fields": {"k": "v"}}]})
        elif p == "/sandboxes/plain/logs":
            self.reply(200, {"logs": [{"timestamp": "2026-12-01T11:00:00Z", "line": "hello"}]})
        elif p in ("/sandboxes/entries", "/sandboxes/plain", "/sandboxes/noroute"):
            self.reply(200, {"sandboxID": p.split("/")[2], "templateID": "base",
                             "clientID": "c", "state": "running", "envdVersion": "0.6.13",
                             "startedAt": "2026-12-01T10:00:00Z", "endAt": "2026-12-01T11:00:00Z",
                             "cpuCount": 1, "memoryMB": 512, "diskSizeMB": 0})
        elif p == "/sandboxes/noroute/logs":
            self.reply(404, {"code": 404, "message": "Not Found"})
        else:
            self.reply(404, {"code": 404, "message": "sandbox not found"})

    def log_message(self, *a):
        pass

http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
python3 "$TEST_TMP/fakeapi.py" "$port" &
fpid=$!
trap 'kill $fpid 2>/dev/null; wait $fpid 2>/dev/null; _lib_cleanup' EXIT
wait_http "http://127.0.0.1:$port/"
F() { "$C" --api-url "http://127.0.0.1:$port" --domain "127.0.0.1:$port" --scheme http "$@"; }

rc F logs entries
expect_eq "logEntries: TIMESTAMP LEVEL LINE" "0 2026-12-01T10:00:00Z info envd started
2026-12-01T10:00:01Z error oom é" "$RC $OUT"
rc F logs -n 1 entries
expect_eq "--limit" "0 2026-12-01T10:00:00Z info envd started" "$RC $OUT"
rc F logs plain
expect_eq "plain logs: no level" "0 2026-12-01T11:00:00Z hello" "$RC $OUT"
rc F logs noroute
expect_rc "a server without the route: a clear error" 1 "this server does not offer sandbox logs"
expect_one_line "the error is one line"
rc F logs gone
expect_rc "unknown sandbox on the fake" 3 "sandbox 'gone' not found"

# --json: the vocabulary of docs/e2bctl.md (this is the row cli-json.sh
# leaves to this test: e2bd keeps no logs to show).
F --json logs entries > "$TEST_TMP/logs.json"
if why=$(python3 "$SRC_DIR/tests/tools/jsonvocab.py" "$SRC_DIR/docs/e2bctl.md" logs "$TEST_TMP/logs.json" 2>&1); then
	ok "logs --json: the documented fields"
else
	fail "logs --json: the documented fields" "$why; $(head -c 300 "$TEST_TMP/logs.json")"
fi
F --json logs plain > "$TEST_TMP/logs2.json"
expect_eq "logs --json: absent level is null" "None hello" \
	"$(python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).readline()); print(d["level"], d["line"])' "$TEST_TMP/logs2.json")"

done_testing
