#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl ls/stat/mkdir/mv/rm/cat/watch in both protocols.
. "$SRC_DIR/tests/tools/cli-lib.sh"

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 3)' > "$TEST_TMP/bytes.bin"
want=$(sha256sum < "$TEST_TMP/bytes.bin" | cut -d' ' -f1)

for m in "${MODES[@]}"; do
	d=/tmp/files-$m
	rc ctl "$m" mkdir "$id" "$d/sub/deeper"
	expect_rc "$m: mkdir with parents" 0
	rc ctl "$m" --json mkdir "$id" "$d/sub"
	expect_eq "$m: mkdir existing is fine" "0 False" "$RC $(printf '%s' "$OUT" | jq_py 'd["created"]' 2>&1)"
	ctl "$m" cp "$TEST_TMP/bytes.bin" "$id:$d/bytes.bin" >/dev/null 2>&1
	rc ctl "$m" mkdir "$id" "$d/bytes.bin/x"
	expect_rc "$m: mkdir under a file" 1 "cannot create directory"

	rc ctl "$m" ls "$id" "$d"
	[[ $RC == 0 && $OUT == *" bytes.bin"* && $OUT =~ ^d.*\ sub$'\n'? ]] && ok "$m: ls" ||
		{ [[ $OUT == *" bytes.bin"* && $OUT == *" sub"* ]] && ok "$m: ls" || fail "$m: ls" "$OUT"; }
	rc ctl "$m" --json ls "$id" "$d"
	expect_eq "$m: ls --json" "[('bytes.bin', 'file', 768), ('sub', 'dir', 4096)]" \
		"$(printf '%s' "$OUT" | jq_py 'sorted((e["name"], e["type"], e["size"] if e["type"]=="file" else 4096) for e in d)' 2>&1)"
	rc ctl "$m" --json ls "$id" "$d" --depth 2
	expect_eq "$m: ls --depth 2" "['$d/bytes.bin', '$d/sub', '$d/sub/deeper']" \
		"$(printf '%s' "$OUT" | jq_py 'sorted(e["path"] for e in d)' 2>&1)"
	ctl "$m" mkdir "$id" "tilde-$m" >/dev/null 2>&1
	rc ctl "$m" --json stat "$id" "~/tilde-$m"
	expect_eq "$m: ~/ is the home" "/home/user/tilde-$m" "$(printf '%s' "$OUT" | jq_py 'd["path"]' 2>&1)"
	rc ctl "$m" ls "$id" "$d/nope"
	expect_rc "$m: ls missing" 3 "cannot list '$d/nope': no such file or directory"

	rc ctl "$m" stat "$id" "$d/bytes.bin"
	[[ $RC == 0 && $OUT == *"Type:         file"* && $OUT == *"Size:         768"* ]] && ok "$m: stat" ||
		fail "$m: stat" "$OUT"
	rc ctl "$m" --json stat "$id" "$d/bytes.bin"
	expect_eq "$m: stat --json" "file 768 bytes.bin $d/bytes.bin" \
		"$(printf '%s' "$OUT" | jq_py 'd["type"]+" "+str(d["size"])+" "+d["name"]+" "+d["path"]' 2>&1)"
	rc ctl "$m" stat "$id" "$d/nope"
	expect_rc "$m: stat missing" 3 "no such file or directory"

	got=$(ctl "$m" cat "$id" "$d/bytes.bin" | sha256sum | cut -d' ' -f1)
	expect_eq "$m: cat is binary-safe" "$want" "$got"
	rc ctl "$m" cat "$id" "$d/nope"
	expect_rc "$m: cat missing" 3 "no such file or directory"
	rc ctl "$m" cat "$id" "$d/sub"
	expect_rc "$m: cat a directory" 1 "cannot download '$d/sub'"

	rc ctl "$m" mv "$id" "$d/bytes.bin" "$d/sub/moved.bin"
	expect_rc "$m: mv" 0
	got=$(ctl "$m" cat "$id" "$d/sub/moved.bin" | sha256sum | cut -d' ' -f1)
	expect_eq "$m: mv keeps content" "$want" "$got"
	rc ctl "$m" --json mv "$id" "$d/sub/moved.bin" "$d/sub/moved2.bin"
	expect_eq "$m: mv --json" "0 $d/sub/moved2.bin" "$RC $(printf '%s' "$OUT" | jq_py 'd["path"]' 2>&1)"
	ctl "$m" mv "$id" "$d/sub/moved2.bin" "$d/sub/moved.bin" >/dev/null 2>&1
	rc ctl "$m" mv "$id" "$d/nope" "$d/x"
	expect_rc "$m: mv missing" 3

	rc ctl "$m" rm "$id" "$d/sub"
	expect_rc "$m: rm dir without -r" 1 "is a directory (use -r)"
	rc ctl "$m" rm "$id" "$d/sub/moved.bin"
	expect_rc "$m: rm file" 0
	rc ctl "$m" rm "$id" "$d/sub/moved.bin"
	expect_rc "$m: rm missing" 3 "no such file or directory"
	rc ctl "$m" rm -r "$id" "$d"
	expect_rc "$m: rm -r" 0
	rc ctl "$m" stat "$id" "$d"
	expect_rc "$m: tree gone" 3

	# watch: one line per event; --json one object per line; Ctrl-C exits 0.
	ctl "$m" mkdir "$id" "$d-w" >/dev/null 2>&1
	ctlx "$m" watch "$id" "$d-w" --recursive > "$TEST_TMP/w.out" 2>&1 & w1=$!
	ctlx "$m" watch "$id" "$d-w" --json > "$TEST_TMP/wj.out" 2>&1 & w2=$!
	# Both watches are live once a marker file shows up in both outputs.
	for i in $(seq 50); do
		ctl "$m" run "$id" "touch $d-w/ready-$i" >/dev/null 2>&1
		grep -q ready "$TEST_TMP/w.out" && grep -q ready "$TEST_TMP/wj.out" && break
		sleep 0.2
	done
	ctl "$m" run "$id" "mkdir $d-w/sub && echo a > $d-w/f && sleep 0.2 && echo b > $d-w/sub/g && rm $d-w/f" >/dev/null
	sleep 1
	kill -INT $w1 $w2
	wait $w1; r1=$?
	wait $w2; r2=$?
	expect_eq "$m: watch exits 0 on Ctrl-C" "0 0" "$r1 $r2"
	if grep -q '^create sub$' "$TEST_TMP/w.out" && grep -q '^create f$' "$TEST_TMP/w.out" &&
	   grep -q '^remove f$' "$TEST_TMP/w.out" && grep -q '^create sub/g$' "$TEST_TMP/w.out"; then
		ok "$m: watch --recursive lines"
	else
		fail "$m: watch --recursive lines" "$(tr '\n' '|' < "$TEST_TMP/w.out")"
	fi
	got=$(python3 -c '
import json,sys
ev=[json.loads(l) for l in open(sys.argv[1])]
print(("create","f") in [(e["type"],e["name"]) for e in ev], ("remove","f") in [(e["type"],e["name"]) for e in ev], any(e["name"]=="sub/g" for e in ev))' "$TEST_TMP/wj.out" 2>&1)
	expect_eq "$m: watch --json objects (not recursive)" "True True False" "$got"
	rc ctl "$m" watch "$id" /nonexistent
	expect_rc "$m: watch missing dir" 3 "no such file or directory"
done

# Explicit --api-url/--sandbox-url (header routing), no URL environment.
rc env -u E2B_API_URL -u E2B_SANDBOX_URL "$C" --api-url "$E2BD_URL" --sandbox-url "$E2BD_URL" --json stat "$id" /tmp
expect_eq "--api-url + --sandbox-url" "0 dir" "$RC $(printf '%s' "$OUT" | jq_py 'd["type"]' 2>&1)"

# "." found through MOUNTPOINT/.e2bfs/sandbox when mountinfo has no e2bfs
# entry (the JSON that fs/ctl.c serves; no FUSE needed to check the reader).
fake=$TEST_TMP/fake-mount
mkdir -p "$fake/.e2bfs" "$fake/sub"
printf '{"sandboxID":"%s","templateID":"base","root":"/tmp"}\n' "$id" > "$fake/.e2bfs/sandbox"
ctl native mkdir "$id" /tmp/sub >/dev/null 2>&1
(cd "$fake/sub" && "$C" run . pwd) > "$TEST_TMP/fake.out" 2>&1
expect_eq "'.' via .e2bfs/sandbox JSON maps cwd" "/tmp/sub" "$(cat "$TEST_TMP/fake.out")"
printf '%s\n' "$id" > "$fake/.e2bfs/sandbox"
(cd "$fake/sub" && "$C" run . pwd) > "$TEST_TMP/fake.out" 2>&1
expect_eq "'.' via a bare ID keeps the default cwd" "/home/user" "$(cat "$TEST_TMP/fake.out")"

done_testing
