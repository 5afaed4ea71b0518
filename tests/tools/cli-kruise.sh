#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl against an e2bd answering as OpenKruise's sandbox-manager (its own
# instance, private protocol): lifecycle where the flavors differ (resume
# without a body, create errors), then commands and files.
. "$SRC_DIR/tests/tools/cli-lib.sh"

port=$(free_port)
state=$TEST_TMP/kruise-state
mkdir -p "$state"
"$E2BD_BIN" --listen "127.0.0.1:$port" --state-dir "$state" --api-key-file <(printf '%s\n' "$E2B_API_KEY") \
	--flavor openkruise --log-level warn > "$TEST_TMP/kruise-e2bd.log" 2>&1 &
kpid=$!
trap 'kill $kpid 2>/dev/null; wait $kpid 2>/dev/null; _lib_cleanup' EXIT
wait_http "http://127.0.0.1:$port/health"
K() { "$C" --scheme http --protocol private --domain "127.0.0.1:$port" "$@"; }

rc K create base --timeout 120 --metadata flavor=kruise
id=$OUT
[[ $RC == 0 && -n $id ]] && ok "kruise: create" || { fail "kruise: create" "rc $RC: $ERR"; done_testing; }
rc K create no-such-template
expect_rc "kruise: unknown template" 3 "template 'no-such-template' not found"
rc K --json list --metadata flavor=kruise
expect_eq "kruise: list --json" "['$id']" "$(printf '%s' "$OUT" | jq_py '[s["sandboxID"] for s in d]' 2>&1)"
rc K pause "$id"
expect_rc "kruise: pause" 0
rc K --json resume "$id"
expect_eq "kruise: resume (204, no body) --json" "0 running" "$RC $(printf '%s' "$OUT" | jq_py 'd["state"]' 2>&1)"
rc K run "$id" 'echo $((40+2))'
expect_eq "kruise: run" "0 42" "$RC $OUT"
rc K run "$id" 'exit 42'
expect_rc "kruise: remote exit 42" 42
printf 'kruise file\n' > "$TEST_TMP/k.txt"
rc K cp "$TEST_TMP/k.txt" "$id:/tmp/k.txt"
expect_eq "kruise: cp + cat" "0 kruise file" "$RC $(K cat "$id" /tmp/k.txt 2>&1)"
rc K info nosuch
expect_rc "kruise: unknown sandbox" 3 "sandbox 'nosuch' not found"
rc K logs "$id"
expect_rc "kruise: logs, a route it lacks, is a clear error" 1 "this server does not offer sandbox logs"
rc K kill "$id"
expect_rc "kruise: kill" 0
rc K info "$id"
expect_rc "kruise: gone after kill" 3

done_testing
