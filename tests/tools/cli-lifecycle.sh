#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl create/list/info/kill/pause/resume/connect/set-timeout in both
# protocols: output, --json and exit codes.
. "$SRC_DIR/tests/tools/cli-lib.sh"

for m in "${MODES[@]}"; do
	rc ctl "$m" create base --timeout 120 --metadata "suite=cli-$m" --metadata "run=$$" --env FOO=bar
	id=$OUT
	if [ "$RC" != 0 ] || ! [[ $id =~ ^[a-z0-9]+$ ]]; then
		fail "$m: create" "rc $RC: $OUT $ERR"
		continue
	fi
	track "$id"
	ok "$m: create prints the ID"

	rc ctl "$m" --json create --metadata "suite=cli-$m-json"
	id2=$(printf '%s' "$OUT" | jq_py 'd["sandboxID"]' 2>/dev/null)
	if [ "$RC" = 0 ] && [ -n "$id2" ]; then
		track "$id2"
		expect_eq "$m: create --json metadata" "cli-$m-json" \
			"$(printf '%s' "$OUT" | jq_py 'd["metadata"]["suite"]')"
		expect_eq "$m: create --json state" "running" "$(printf '%s' "$OUT" | jq_py 'd["state"]')"
		[[ $OUT != *envdAccessToken* ]] && ok "$m: create --json has no access token" ||
			fail "$m: create --json has no access token"
	else
		fail "$m: create --json" "rc $RC: $OUT $ERR"
	fi
	rc ctl "$m" run "$id" 'echo $FOO'
	expect_eq "$m: create --env reaches processes" "bar" "$OUT"

	rc ctl "$m" list
	[[ $RC == 0 && $OUT == *"SANDBOX ID"* && $OUT == *"$id"* ]] && ok "$m: list table" ||
		fail "$m: list table" "rc $RC"
	rc ctl "$m" --json list --metadata "suite=cli-$m"
	expect_eq "$m: list --json --metadata" "['$id']" \
		"$(printf '%s' "$OUT" | jq_py '[s["sandboxID"] for s in d]' 2>&1)"
	rc ctl "$m" --json list --limit 1
	expect_eq "$m: list --limit 1" "1" "$(printf '%s' "$OUT" | jq_py 'len(d)' 2>&1)"
	rc ctl "$m" list --state bogus
	expect_rc "$m: list --state bogus" 2 "unknown state 'bogus'"

	rc ctl "$m" info "$id"
	[[ $RC == 0 && $OUT == *"Sandbox ID:    $id"* && $OUT == *"State:         running"* ]] &&
		ok "$m: info" || fail "$m: info" "rc $RC: $OUT"
	rc ctl "$m" --json info "$id"
	expect_eq "$m: info --json" "$id running base cli-$m" \
		"$(printf '%s' "$OUT" | jq_py 'd["sandboxID"]+" "+d["state"]+" "+d["templateID"]+" "+d["metadata"]["suite"]' 2>&1)"

	rc ctl "$m" pause "$id"
	[ "$RC" = 0 ] && [ "$OUT" = "$id" ] && ok "$m: pause" || fail "$m: pause" "rc $RC $ERR"
	rc ctl "$m" --json info "$id"
	expect_eq "$m: paused state" "paused" "$(printf '%s' "$OUT" | jq_py 'd["state"]' 2>&1)"
	rc ctl "$m" --json list --state paused
	[[ $OUT == *"$id"* ]] && ok "$m: list --state paused" || fail "$m: list --state paused" "$OUT"
	rc ctl "$m" --json list --state running
	[[ $OUT != *"\"$id\""* ]] && ok "$m: list --state running excludes paused" ||
		fail "$m: list --state running excludes paused"
	rc ctl "$m" --json pause "$id"
	expect_eq "$m: pause again" "0 True" "$RC $(printf '%s' "$OUT" | jq_py 'd["alreadyPaused"]' 2>&1)"
	rc ctl "$m" ls "$id" /
	expect_rc "$m: envd command on paused sandbox" 7 "is paused"
	rc ctl "$m" resume "$id" --timeout 120
	[ "$RC" = 0 ] && [ "$OUT" = "$id" ] && ok "$m: resume" || fail "$m: resume" "rc $RC $ERR"
	rc ctl "$m" resume "$id"
	expect_rc "$m: resume running sandbox" 7 "is not paused"
	rc ctl "$m" run "$id" 'echo alive'
	expect_eq "$m: runs after resume" "alive" "$OUT"
	ctl "$m" pause "$id" >/dev/null 2>&1
	rc ctl "$m" --json resume "$id"
	expect_eq "$m: resume --json" "0 $id running" \
		"$RC $(printf '%s' "$OUT" | jq_py 'd["sandboxID"]+" "+d["state"]' 2>&1)"
	# resume without --timeout keeps the lifetime the sandbox had left.
	ctl "$m" set-timeout "$id" 3600 >/dev/null 2>&1
	ctl "$m" pause "$id" >/dev/null 2>&1
	rc ctl "$m" resume "$id"
	left=$(ctl "$m" --json info "$id" 2>/dev/null | jq_py 'int(__import__("datetime").datetime.fromisoformat(d["endAt"].replace("Z","+00:00")).timestamp() - __import__("time").time())' 2>&1)
	check "$m: resume keeps set-timeout 3600 ($left s left)" test "${left:-0}" -gt 3000
	rc ctl "$m" resume nosuch
	expect_rc "$m: resume unknown" 3 "sandbox 'nosuch' not found"
	rc ctl "$m" pause nosuch
	expect_rc "$m: pause unknown" 3 "sandbox 'nosuch' not found"

	ctl "$m" pause "$id" >/dev/null 2>&1
	rc ctl "$m" --json connect "$id" --timeout 150
	expect_eq "$m: connect resumes" "0 running" "$RC $(printf '%s' "$OUT" | jq_py 'd["state"]' 2>&1)"
	rc ctl "$m" connect nosuch
	expect_rc "$m: connect unknown" 3 "sandbox 'nosuch' not found"

	rc ctl "$m" set-timeout "$id" 1000
	end=$(ctl "$m" --json info "$id" | jq_py 'd["endAt"]')
	left=$(python3 -c "import datetime,sys; e=datetime.datetime.strptime('$end','%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc); print(int((e-datetime.datetime.now(datetime.timezone.utc)).total_seconds()))" 2>&1)
	if [ "$RC" = 0 ] && [ "$left" -gt 900 ] 2>/dev/null && [ "$left" -le 1001 ]; then
		ok "$m: set-timeout"
	else
		fail "$m: set-timeout" "rc $RC, $left s left"
	fi
	rc ctl "$m" set-timeout "$id" 0
	expect_rc "$m: set-timeout 0" 2 "invalid timeout"
	rc ctl "$m" set-timeout nosuch 30
	expect_rc "$m: set-timeout unknown" 3 "sandbox 'nosuch' not found"

	rc ctl "$m" kill "$id" ${id2:+"$id2"}
	[ "$RC" = 0 ] && [[ $OUT == "$id"* ]] && ok "$m: kill" || fail "$m: kill" "rc $RC $ERR"
	rc ctl "$m" info "$id"
	expect_rc "$m: info after kill" 3 "sandbox '$id' not found"
	rc ctl "$m" --json kill "$id"
	expect_eq "$m: kill again" "3 False" "$RC $(printf '%s' "$OUT" | jq_py 'd[0]["killed"]' 2>&1)"
done

done_testing
