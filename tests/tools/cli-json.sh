#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One JSON vocabulary: every e2bctl command's --json output (and e2bfs's
# .e2bfs/sandbox) parses and has exactly the fields docs/e2bctl.md's JSON
# OUTPUT section documents for it, with one type per field name, RFC 3339
# times and null for absent (tests/tools/jsonvocab.py reads the doc).  Every
# row of the doc's table is exercised, and every command of `e2bctl help`
# is either in the table or documented as printing no JSON.
. "$SRC_DIR/tests/tools/cli-lib.sh"

cli_require_fuse

DOC=$SRC_DIR/docs/e2bctl.md
VOCAB=$SRC_DIR/tests/tools/jsonvocab.py
mnt=$TEST_TMP/json-mnt
mkdir -p "$mnt"
trap 'cd /; fusermount3 -uz "$mnt" 2>/dev/null; kill "${wpid:-}" 2>/dev/null; _lib_cleanup' EXIT
checked=()

# jcheck ROW [EXTRA_FIELD...] -- ARGS...: run `e2bctl --json ARGS` (native
# mode) and check stdout against the doc's row ROW.
jcheck() {
	local row=$1 extra=() out=$TEST_TMP/json.out
	shift
	while [ "$1" != -- ]; do extra+=("$1"); shift; done
	shift
	ctl native --json "$@" >"$out" 2>"$TEST_TMP/json.err"
	local st=$?
	if [ "$st" != 0 ]; then
		fail "$row --json" "exit $st: $(head -c 300 "$TEST_TMP/json.err")"
		return 1
	fi
	local why
	if why=$(python3 "$VOCAB" "$DOC" "$row" "$out" "${extra[@]}" 2>&1); then
		ok "$row --json: the documented fields"
	else
		fail "$row --json: the documented fields" "$why; output: $(head -c 400 "$out")"
	fi
	checked+=("$row")
	cp "$out" "$TEST_TMP/json.last"
}
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$1)" "$TEST_TMP/json.last"; }

jcheck version -- version
jcheck create -- create --timeout 600 --metadata purpose=json-test
id=$(field '["sandboxID"]')
[ -n "$id" ] || { fail "create gave an ID"; done_testing; }
jcheck list -- list --metadata purpose=json-test
jcheck info -- info "$id"
jcheck connect -- connect "$id"
jcheck set-timeout -- set-timeout "$id" 600
expect_eq "set-timeout: timeout is a number" "600" "$(field '["timeout"]')"

# Files.
jcheck mkdir -- mkdir "$id" /home/user/jd
printf 'hello\n' > "$TEST_TMP/f.txt"
jcheck cp -- cp "$TEST_TMP/f.txt" "$id:/home/user/jd/"
mkdir -p "$TEST_TMP/down"
jcheck cp -- cp "$id:/home/user/jd/f.txt" "$TEST_TMP/down/"
jcheck ls -- ls "$id" /home/user/jd
jcheck stat -- stat "$id" /home/user/jd/f.txt
jcheck mv -- mv "$id" /home/user/jd/f.txt /home/user/jd/g.txt
jcheck rm -- rm "$id" /home/user/jd/g.txt
expect_eq "rm --json: removed" "True" "$(field '["removed"]')"

# watch: one object per line, until interrupted.
(ctlx native --json watch "$id" /home/user/jd >"$TEST_TMP/watch.out" 2>"$TEST_TMP/watch.err") &
wpid=$!
for _ in $(seq 50); do
	ctl native run "$id" 'echo x > /home/user/jd/w.txt' >/dev/null 2>&1
	[ -s "$TEST_TMP/watch.out" ] && break
	sleep 0.2
done
kill -INT "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
if why=$(python3 "$VOCAB" "$DOC" watch "$TEST_TMP/watch.out" 2>&1); then
	ok "watch --json: the documented fields"
else
	fail "watch --json: the documented fields" "$why; $(head -c 300 "$TEST_TMP/watch.out" "$TEST_TMP/watch.err")"
fi
checked+=(watch)

# Processes.
jcheck start -- start "$id" sleep 300
pid=$(field '["pid"]')
jcheck ps -- ps "$id"
jcheck signal -- signal "$id" "$pid" KILL

# Mounts, and .e2bfs/sandbox in the same vocabulary.
jcheck "mount ID MOUNTPOINT" -- mount "$id" "$mnt" -o "cache_dir=$TEST_TMP/cache"
expect_eq "mount --json: mountpoint" "$(realpath "$mnt")" "$(field '["mountpoint"]')"
jcheck mount -- mount
if why=$(python3 "$VOCAB" "$DOC" sandbox-file "$mnt/.e2bfs/sandbox" 2>&1); then
	ok ".e2bfs/sandbox: the Sandbox object plus root and error"
else
	fail ".e2bfs/sandbox: the Sandbox object plus root and error" "$why; $(head -c 400 "$mnt/.e2bfs/sandbox")"
fi
ctl native --json info "$id" > "$TEST_TMP/info.json"
same=$(python3 - "$TEST_TMP/info.json" "$mnt/.e2bfs/sandbox" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print(all(a[k] == b[k] for k in ("sandboxID", "templateID", "state", "startedAt", "metadata")))
EOF
)
expect_eq ".e2bfs/sandbox agrees with info --json" "True" "$same"
jcheck umount -- umount "$mnt"

# cache prune: a cache directory of a sandbox that does not exist.
mkdir -p "$TEST_TMP/pcache/ifffffffffffffffffff"
jcheck "cache prune" -- cache prune --cache-dir "$TEST_TMP/pcache" --dry-run

jcheck pause -- pause "$id"
jcheck resume -- resume "$id"
jcheck logs -- logs "$id"
jcheck kill -- kill "$id"

# Every row of the doc's table was exercised here.
rows=$(python3 - "$DOC" <<'EOF'
import re, sys
sec = open(sys.argv[1]).read().split("## JSON OUTPUT")[1].split("\n## ")[0]
for line in sec.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 2 and cells[0].startswith("`"):
        for n in re.findall(r"`([^`]+)`", cells[0]):
            print(n)
EOF
)
missing=
while read -r r; do
	[[ " ${checked[*]} " == *" $r "* ]] || missing+="$r; "
done <<<"$rows"
expect_eq "every documented --json row is checked" "" "$missing"

# Every command is in the table or in the doc's list of commands without JSON.
nojson=$(grep -A3 '^Every command that changes something' "$DOC" | tr '\n' ' ')
missing=
for c in $("$C" help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}'); do
	grep -qE "^\| .*\`$c( [^\`]*)?\`" <<<"$(grep '^| `' "$DOC")" && continue
	[[ $nojson == *"\`$c\`"* ]] && continue
	missing+="$c "
done
expect_eq "every command has documented --json output or none" "" "$missing"

done_testing
