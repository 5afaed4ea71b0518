#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl list as kubectl prints tables: SANDBOX ID, TEMPLATE, STATE, AGE,
# ENDS IN; -o wide adds columns; --no-headers; -o json; columns aligned.
. "$SRC_DIR/tests/tools/cli-lib.sh"

a=$(ctl native create --timeout 3600 --metadata lt=x) || { fail "create" "$a"; done_testing; }
b=$(ctl native create --timeout 120 --metadata lt=x) || { fail "create" "$b"; done_testing; }

rc ctl native list --metadata lt=x
check "header columns" grep -qE '^SANDBOX ID +TEMPLATE +STATE +AGE +ENDS IN$' <<<"$(head -n 1 <<<"$OUT")"
row=$(grep "^$a " <<<"$OUT")
check "a row: ID base running AGE ENDS-IN" grep -qE "^$a +base +running +[0-9]+s +(60m|59m)$" <<<"$row"
check "the shorter lifetime" grep -qE "^$b +base +running +[0-9]+s +(2m|1[0-9][0-9]s|[0-9]{1,2}s)$" <<<"$(grep "^$b " <<<"$OUT")"
# Columns line up: every cell of a column starts at the header's offset.
off=$(head -n 1 <<<"$OUT" | awk '{ print index($0, "AGE") }')
bad=$(tail -n +2 <<<"$OUT" | awk -v o="$off" '{ if (substr($0, o - 3, 3) != "   " || substr($0, o, 1) == " ") print }')
expect_eq "AGE column aligned, three spaces apart" "" "$bad"

rc ctl native list --metadata lt=x --no-headers
expect_eq "--no-headers: rows only" "2 0" "$(wc -l <<<"$OUT") $(grep -c 'SANDBOX ID' <<<"$OUT")"
expect_eq "--no-headers | awk gives the IDs" "$(printf '%s\n' "$a" "$b" | sort)" "$(awk '{print $1}' <<<"$OUT" | sort)"

rc ctl native list --metadata lt=x -o wide
check "-o wide header" grep -qE '^SANDBOX ID +TEMPLATE +STATE +AGE +ENDS IN +CPU +MEMORY +ENVD +STARTED +ENDS +METADATA$' <<<"$(head -n 1 <<<"$OUT")"
check "-o wide row: times and metadata" grep -qE "^$a .* [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +[0-9]{4}-[0-9-]{5}T[0-9:]{8}Z +lt=x$" <<<"$(grep "^$a " <<<"$OUT")"

rc ctl native list --metadata lt=x -o json
expect_eq "-o json is --json" "$(printf '%s\n' "$a" "$b" | sort | tr '\n' ' ')" \
	"$(printf '%s' "$OUT" | jq_py '" ".join(sorted(s["sandboxID"] for s in d)) + " "' 2>&1)"
rc ctl native list -o yaml
expect_rc "unknown -o" 2 "unknown output format 'yaml'"

ctl native pause "$b" > /dev/null
rc ctl native list --metadata lt=x --no-headers
check "paused: ENDS IN is -" grep -qE "^$b +base +paused +[0-9]+s +-$" <<<"$(grep "^$b " <<<"$OUT")"

done_testing
