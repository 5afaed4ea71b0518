# SPDX-License-Identifier: MIT
# Helpers for TAP-lite test scripts run by tests/run.  Source it:
#   . "$SRC_DIR/tests/lib.sh"
# Each check prints `ok - NAME` or `not ok - NAME: WHY`; the script's exit
# status is 1 if any check failed.

: "${E2BD_URL:?tests/lib.sh needs E2BD_URL (run through tests/run)}"
: "${E2B_API_KEY:?tests/lib.sh needs E2B_API_KEY (run through tests/run)}"
: "${TEST_TMP:=$(mktemp -d)}"

_lib_failed=0
_lib_sandboxes=()

ok() { printf 'ok - %s\n' "$1"; }
fail() { printf 'not ok - %s: %s\n' "$1" "${2:-failed}"; _lib_failed=1; }
skip() { printf 'skip - %s: %s\n' "$1" "${2:-skipped}"; }

# check NAME CMD...: ok if CMD succeeds.
check() {
	local name=$1; shift
	local out
	if out=$("$@" 2>&1); then ok "$name"; else fail "$name" "$(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"; fi
}

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# api METHOD PATH [JSON]: management API call; prints the body and sets
# API_STATUS.  Uses a header file so the key stays off the command line.
_lib_hdr="$TEST_TMP/.apikey-hdr.$$"
printf 'X-API-Key: %s\n' "$E2B_API_KEY" > "$_lib_hdr"
chmod 600 "$_lib_hdr"
API_STATUS=
api() {
	local method=$1 path=$2 body=${3-} out
	local args=(-sS -X "$method" -H @"$_lib_hdr" -o "$TEST_TMP/.api-body.$$" -w '%{http_code}')
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	API_STATUS=$(curl "${args[@]}" "$E2BD_URL$path") || API_STATUS=000
	cat "$TEST_TMP/.api-body.$$"
}

# new_sandbox [JSON]: create a sandbox, print its ID; killed at exit.
new_sandbox() {
	local body=${1:-'{"templateID":"base"}'} out id
	out=$(api POST /sandboxes "$body")
	id=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sandboxID"])' 2>/dev/null) || {
		echo "new_sandbox: create failed ($API_STATUS): $out" >&2; return 1; }
	printf '%s\n' "$id" >> "$TEST_TMP/.sandboxes.$$"
	printf '%s\n' "$id"
}

# sandbox_token ID: its envdAccessToken ("" if none).
sandbox_token() {
	api GET "/sandboxes/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("envdAccessToken",""))'
}

# envd ID METHOD PATH [BODY] [CONTENT-TYPE] [EXTRA CURL ARGS...]: envd call
# through header routing; prints the body, sets ENVD_STATUS.
ENVD_STATUS=
envd() {
	local id=$1 method=$2 path=$3 body=${4-} ctype=${5:-application/json}
	shift 5 2>/dev/null || shift $#
	local args=(-sS -X "$method" -H "E2b-Sandbox-Id: $id" -H 'E2b-Sandbox-Port: 49983'
		-o "$TEST_TMP/.envd-body.$$" -w '%{http_code}')
	[ -n "$body" ] && args+=(-H "Content-Type: $ctype" --data-binary "$body")
	ENVD_STATUS=$(curl "${args[@]}" "$@" "$E2BD_URL$path") || ENVD_STATUS=000
	cat "$TEST_TMP/.envd-body.$$"
}

# rpc ID PROCEDURE JSON: unary Connect call, e.g. rpc $id filesystem.Filesystem/Stat '{"path":"/"}'
rpc() {
	envd "$1" POST "/$2" "$3" application/json -H 'Connect-Protocol-Version: 1' "${@:4}"
}

# json_get EXPR: read JSON on stdin, print python expression of `d`.
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# free_port: an unused loopback TCP port.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# own_e2bd NAME [E2BD ARGS...]: a private e2bd on a free port, with the
# harness's key, state dir $TEST_TMP/NAME.state and log $TEST_TMP/NAME.log;
# sets OWN_URL and OWN_PID (stopped at exit).  1 if it did not come up.
_lib_pids=()
own_e2bd() {
	local name=$1 port keyf=$TEST_TMP/$1.key
	shift
	port=$(free_port)
	( umask 077; printf '%s\n' "$E2B_API_KEY" > "$keyf" )
	"$E2BD_BIN" --listen "127.0.0.1:$port" --state-dir "$TEST_TMP/$name.state" \
		--api-key-file "$keyf" "$@" > "$TEST_TMP/$name.log" 2>&1 &
	OWN_PID=$!
	_lib_pids+=("$OWN_PID")
	OWN_URL=http://127.0.0.1:$port
	for _ in $(seq 100); do
		curl -fs -o /dev/null "$OWN_URL/health" && return 0
		kill -0 "$OWN_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# tls_proxy DIR: a throwaway CA (DIR/ca.pem) and nghttpx on a free port,
# TLS + HTTP/2 in front of e2bd as E2B's edge serves envd; sets TLS_PORT
# (the proxy goes at exit).  Status 1 when it does not serve HTTP/2.
tls_proxy() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=e2bfs test CA" \
		-keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$d/srv.key" -out "$d/srv.csr" >/dev/null 2>&1
	printf 'subjectAltName=DNS:localhost,DNS:*.localhost,IP:127.0.0.1\n' > "$d/ext"
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/ext" -out "$d/srv.pem" >/dev/null 2>&1 || return 1
	TLS_PORT=$(free_port)
	nghttpx --conf=/dev/null --frontend="127.0.0.1,$TLS_PORT" --backend="127.0.0.1,$E2BD_PORT" \
		--backend-read-timeout=5m --frontend-read-timeout=5m --no-ocsp --workers=1 \
		--errorlog-file="$d/nghttpx.log" --accesslog-file="$d/access.log" \
		"$d/srv.key" "$d/srv.pem" > "$d/nghttpx.out" 2>&1 &
	_lib_pids+=("$!")
	for _ in $(seq 50); do
		curl -fsS --cacert "$d/ca.pem" -o /dev/null "https://localhost:$TLS_PORT/health" \
			2>/dev/null && break
		sleep 0.1
	done
	curl -sS --cacert "$d/ca.pem" -o /dev/null -w '%{http_version}' \
		"https://localhost:$TLS_PORT/health" 2>/dev/null | grep -q '^2'
}

_lib_cleanup() {
	local p
	for p in "${_lib_pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	if [ -f "$TEST_TMP/.sandboxes.$$" ]; then
		while read -r id; do api DELETE "/sandboxes/$id" >/dev/null 2>&1; done < "$TEST_TMP/.sandboxes.$$"
		rm -f "$TEST_TMP/.sandboxes.$$"
	fi
	rm -f "$_lib_hdr" "$TEST_TMP/.api-body.$$" "$TEST_TMP/.envd-body.$$"
}
trap '_lib_cleanup' EXIT

# done_testing: call last; exits with the verdict.
done_testing() { exit "$_lib_failed"; }
