#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl run's sandbox cache (tools/sbcache.c): the second run makes no
# management call; the cache is private (0700 dir, 0600 file) and never
# holds the API key; a wrong token, a killed or paused sandbox and an
# unsafe file are noticed; E2BCTL_NO_CACHE=1 turns it off.
. "$SRC_DIR/tests/tools/cli-lib.sh"

export HOME=$TEST_TMP/home
unset XDG_RUNTIME_DIR XDG_CACHE_HOME
mkdir -p "$HOME"
CACHE=$HOME/.cache/e2bctl

id=$(new_sandbox '{"templateID":"base","timeout":600,"secure":true}') || { fail "create sandbox" "$id"; done_testing; }
gets() { grep -c "GET .*/sandboxes/$id" <<<"$ERR"; }

rc ctl native -v run "$id" echo one < /dev/null
expect_eq "first run works" "0 one" "$RC $OUT"
expect_eq "first run looks the sandbox up" 1 "$(gets)"
f=$(ls "$CACHE"/sb-* 2>/dev/null | head -1)
[ -n "$f" ] && ok "an entry is written" || fail "an entry is written" "$(ls -la "$CACHE" 2>&1)"
expect_eq "cache dir is private" 700 "$(stat -c %a "$CACHE")"
expect_eq "cache file is private" 600 "$(stat -c %a "$f")"
grep -qF "$E2B_API_KEY" "$f" && fail "no API key in the cache" || ok "no API key in the cache"
tok=$(sandbox_token "$id")
[ -n "$tok" ] && grep -qx "token $tok" "$f" && ok "the envd token is cached" ||
	fail "the envd token is cached" "token ${tok:+set} / $(grep -c '^token ' "$f")"

rc ctl native -v run "$id" echo two < /dev/null
expect_eq "second run works" "0 two" "$RC $OUT"
expect_eq "second run makes no management call" 0 "$(gets)"

E2BCTL_NO_CACHE=1 rc ctl native -v run "$id" echo three < /dev/null
expect_eq "E2BCTL_NO_CACHE=1 looks it up" "0 three 1" "$RC $OUT $(gets)"

# A wrong token (rotated, say): envd refuses it, run asks the API and goes on.
sed -i "s/^token .*/token wrong-token/" "$f"
rc ctl native -v run "$id" echo four < /dev/null
expect_eq "a stale token is replaced" "0 four 1" "$RC $OUT $(gets)"
grep -qx "token $tok" "$f" && ok "the entry is refreshed" || fail "the entry is refreshed" "$(grep -c wrong-token "$f")"

# Someone else could have written it: ignored.
chmod 644 "$f"
rc ctl native -v run "$id" echo five < /dev/null
expect_eq "a group-readable entry is not trusted" "0 five 1" "$RC $OUT $(gets)"

# Paused and killed sandboxes are reported as without the cache.
ctl native run "$id" true < /dev/null
api POST "/sandboxes/$id/pause" > /dev/null
rc ctl native run "$id" true < /dev/null
expect_rc "paused sandbox with a cached entry" 7 "is paused"
api DELETE "/sandboxes/$id" > /dev/null
ctl native run "$id" true < /dev/null 2>/dev/null
rc ctl native run "$id" true < /dev/null
expect_rc "killed sandbox with a cached entry" 3 "not found"
done_testing
