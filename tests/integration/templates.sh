#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# GET /templates (issue 11 item 9): the templates e2bd serves, in E2B's
# Template shape, so the E2B CLI's template listing works against it; the
# built-in base with its alias, --template ones, and no duplicate when a
# --template replaces base.
. "$SRC_DIR/tests/lib.sh"

# fields NAME JSON: check one entry has E2B's required fields and types.
fields() {
	python3 -c '
import json, sys
t = json.loads(sys.argv[1])
want = {"templateID": str, "buildID": str, "cpuCount": int, "memoryMB": int,
        "diskSizeMB": int, "public": bool, "aliases": list, "names": list,
        "createdAt": str, "updatedAt": str, "spawnCount": int, "buildCount": int,
        "envdVersion": str, "buildStatus": str}
bad = [k for k, ty in want.items() if not isinstance(t.get(k), ty)]
bad += [k for k in ("createdBy", "lastSpawnedAt") if k not in t]
if t.get("cpuCount", 0) < 1 or t.get("memoryMB", 0) < 128: bad.append("resources")
import re
if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", t.get("createdAt", "")): bad.append("createdAt format")
print(" ".join(bad))' "$2"
}

api GET /templates > "$TEST_TMP/templates.json"
expect_eq "GET /templates answers 200" 200 "$API_STATUS"
out=$(cat "$TEST_TMP/templates.json")
base=$(printf '%s' "$out" | json_get 'json.dumps([t for t in d if t["templateID"] == "base"][0])' 2>/dev/null)
if [ -n "$base" ]; then
	ok "the built-in base is listed"
	expect_eq "base has E2B's Template fields" "" "$(fields base "$base")"
	expect_eq "base's alias is code-interpreter" "['code-interpreter']" "$(printf '%s' "$base" | json_get 'd["aliases"]')"
	expect_eq "base is ready" "ready" "$(printf '%s' "$base" | json_get 'd["buildStatus"]')"
else
	fail "the built-in base is listed" "$out"
fi
again=$(api GET /templates | json_get '[t["buildID"] for t in d]')
expect_eq "build IDs are stable" "$(printf '%s' "$out" | json_get '[t["buildID"] for t in d]')" "$again"
id=$(new_sandbox) || fail "create sandbox" "$id"
tpl=$(api GET "/sandboxes/$id" | json_get 'd["templateID"]')
printf '%s' "$out" | json_get "[t for t in d if t['templateID'] == '$tpl' or '$tpl' in t['aliases']][0]" > /dev/null 2>&1 &&
	ok "a sandbox's template is among them" || fail "a sandbox's template is among them" "$tpl not in $out"

code=$(curl -s -o /dev/null -w '%{http_code}' "$E2BD_URL/templates")
expect_eq "GET /templates without a key is 401" 401 "$code"
api POST /templates '{}' > /dev/null
expect_eq "POST /templates is 405" 405 "$API_STATUS"

# An e2bd of our own with --template: listed, and one replacing base
# hides the built-in.
mkdir -p "$TEST_TMP/root-mini" "$TEST_TMP/root-base"
if own_e2bd e2bd2 --template "mini=$TEST_TMP/root-mini" --template "base=$TEST_TMP/root-base"; then
	out=$(E2BD_URL=$OWN_URL api GET /templates)
	expect_eq "--template ones are listed, base once" "['mini', 'base']" \
		"$(printf '%s' "$out" | json_get '[t["templateID"] for t in d]')"
	expect_eq "a --template has no alias" "[]" "$(printf '%s' "$out" | json_get '[t for t in d if t["templateID"] == "mini"][0]["aliases"]')"
	expect_eq "a --template entry has E2B's Template fields" "" \
		"$(fields mini "$(printf '%s' "$out" | json_get 'json.dumps(d[0])')")"
else
	fail "own e2bd starts" "$(tail -5 "$TEST_TMP/e2bd2.log")"
fi
done_testing
