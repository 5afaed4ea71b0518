#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ListDir writes its answer straight in the call's codec (server/envd/
# listdir.c), not through jansson and pbjson.  For a tree of varied entries
# (files, directories, symlinks of every kind, a fifo, UTF-8, spaces,
# quotes and control characters in names, names that are not UTF-8, an
# upload temporary, user.e2b.* xattrs, odd times and modes) at depths 1, 2
# and 3: the protobuf answer is byte for byte what pbjson packs from the
# JSON answer, both agree field by field, and both agree with what the
# sandbox itself sees (lstat from Python inside it).  Errors and an empty
# directory are the same in both codecs.
. "$SRC_DIR/tests/lib.sh"

TOOL=$BUILD_DIR/proto/pbjson-tool
ID=$(new_sandbox '{"templateID":"base","timeout":300}') || { fail "create sandbox" "no sandbox"; done_testing; }
H=(-H "E2b-Sandbox-Id: $ID" -H 'E2b-Sandbox-Port: 49983' -H 'Connect-Protocol-Version: 1')
T=$TEST_TMP/listdir.$$
mkdir -p "$T"
D=/home/user/listdir-$$
CTL() { "$E2BCTL_BIN" --api-url "$E2BD_URL" --domain "localhost:$E2BD_PORT" --scheme http "$@"; }

# The tree, made by the sandbox's user (xattrs and times through Python).
CTL run "$ID" -- python3 - "$D" > "$T/mk.out" 2>&1 <<'EOF'
import os, sys
d = sys.argv[1]
os.makedirs(d + "/sub/deeper/deepest")
os.makedirs(d + "/dir with space")
os.makedirs(d + "/empty")
os.chdir(d)
def touch(name, data=b""):
    with open(name, "wb") as f:
        f.write(data)
touch("plain.txt", b"hello\n")
touch("big.bin", b"x" * 70000)
for n in ["sp ace.txt", "ünï cødé — ✓.txt", "ctl\x01\x1fx", 'q"uo\\te', "tab\tnl\nline",
          "emoji\U0001F600", "sub/a", "sub/deeper/b", "sub/deeper/deepest/c", "dir with space/ü",
          ".hidden", ".e2bd-upload-0123", "-dash", "~tilde"]:
    touch(n)
for n in [b"bad\xff\xfe", b"sur\xed\xa0\x80", b"over\xc0\xaf"]:
    touch(n)
os.mkdir(b"baddir\xff")
touch(b"baddir\xff/inside")
for i in range(300):
    touch("many-%03d" % i, b"y" * i)
os.symlink("plain.txt", "link-file")
os.symlink("sub", "link-dir")
os.symlink("nowhere", "link-broken")
os.symlink("/etc/passwd", "link-abs")
os.symlink("../../../../../../etc", "link-esc")
os.symlink("loop2", "loop1")
os.symlink("loop1", "loop2")
os.symlink("ünï cødé — ✓.txt", "link-ü")
os.mkfifo("fifo")
times = {"t-epoch0": (0, 0), "t-half": (0, 500000000), "t-neg": (-86401, 0),
         "t-negfrac": (-2, 999999999), "t-ms": (1700000000, 123000000),
         "t-us": (1700000000, 123456000), "t-ns": (1700000000, 1), "t-leap": (951782400, 0),
         "t-far": (16000000000, 999999999)}
for n, (s, ns) in times.items():
    touch(n)
    os.utime(n, ns=(0, s * 1000000000 + ns))
os.utime("sub/deeper", ns=(0, 0))
os.chmod("plain.txt", 0o4755)
os.chmod("sub", 0o1777)
os.chmod("big.bin", 0o2640)
os.chmod("t-epoch0", 0)
os.setxattr("plain.txt", "user.e2b.k1", b"v1")
os.setxattr("plain.txt", "user.e2b.empty", b"")
os.setxattr("plain.txt", "user.e2b.uni", 'ünï\n"q"\\'.encode())
os.setxattr("plain.txt", "user.other", b"not metadata")
os.setxattr("sub", "user.e2b.d", b"dir")
os.setxattr("big.bin", "user.e2b.nul", b"a\x00b")
os.setxattr("big.bin", "user.e2b.bad", b"\xff")
os.setxattr("big.bin", "user.e2b.ctl", b"\x01\x7f")
print("made")
EOF
grep -q '^made' "$T/mk.out" && ok "tree made in the sandbox" || fail "tree made in the sandbox" "$(tail -3 "$T/mk.out")"

# What the sandbox sees: for @depth, the entries ListDir must give, in
# order, with the fields that come from lstat alone.
truth() { # truth DEPTH
	CTL run "$ID" -- python3 - "$D" "$1" <<'EOF'
import json, os, stat, sys, datetime
root, depth = sys.argv[1], int(sys.argv[2])
def rfc3339(ns):
    s, f = divmod(ns, 10**9)
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=s)
    frac = "" if f == 0 else ".%03d" % (f // 10**6) if f % 10**6 == 0 else \
        ".%06d" % (f // 1000) if f % 1000 == 0 else ".%09d" % f
    return t.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"
out = []
def walk(d, level):
    for n in sorted(os.listdir(d.encode())):
        if n.startswith(b".e2bd-upload-"):
            continue
        try:
            name = n.decode("utf-8")
        except UnicodeDecodeError:
            continue
        p = d + "/" + name
        st = os.lstat(p)
        e = {"name": name, "path": p}
        if st.st_size:
            e["size"] = str(st.st_size)
        if st.st_mtime_ns:
            e["modifiedTime"] = rfc3339(st.st_mtime_ns)
        if not stat.S_ISLNK(st.st_mode):
            if stat.S_ISREG(st.st_mode):
                e["type"] = "FILE_TYPE_FILE"
            elif stat.S_ISDIR(st.st_mode):
                e["type"] = "FILE_TYPE_DIRECTORY"
            if st.st_mode & 0o777:
                e["mode"] = st.st_mode & 0o777
        out.append(e)
        if level < depth and stat.S_ISDIR(st.st_mode):
            walk(p, level + 1)
walk(root, 1)
print(json.dumps(out))
EOF
}

# call CODEC JSON-REQUEST: the answer's status, content type and body in $T/CODEC.*
call() {
	local codec=$1 req=$2 ct=application/json data
	data=$req
	if [ "$codec" = proto ]; then
		ct=application/proto
		printf '%s' "$req" | "$TOOL" encode filesystem.Filesystem/ListDir > "$T/req.pb"
		data=@$T/req.pb
	fi
	curl -sS -o "$T/$codec.body" -w '%{http_code} %{content_type}\n' "${H[@]}" \
		-H "Content-Type: $ct" --data-binary "$data" \
		"$E2BD_URL/filesystem.Filesystem/ListDir" > "$T/$codec.st"
}

# compare NAME: the JSON answer and the protobuf one ($T/json.body, $T/proto.body)
# decoded, entry by entry and field by field; then both against $T/truth.json.
compare() {
	"$TOOL" decode filesystem.Filesystem/ListDir < "$T/proto.body" > "$T/proto.json" 2> "$T/dec.err"
	python3 - "$T/json.body" "$T/proto.json" "$T/truth.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1])).get("entries", [])
p = json.load(open(sys.argv[2])).get("entries", [])
t = json.load(open(sys.argv[3]))
def first_diff(a, b, what):
    if len(a) != len(b):
        return "%s: %d entries against %d" % (what, len(a), len(b))
    for x, y in zip(a, b):
        for k in sorted(set(x) | set(y)):
            if x.get(k) != y.get(k):
                return "%s: %s field %s: %r against %r" % (what, x.get("path"), k, x.get(k), y.get(k))
    return None
# Known: protobuf-c strings are C strings, so an xattr value ends at its
# first NUL in the protobuf codec (pbjson did so before ListDir wrote its
# answers itself; the byte-for-byte check below holds ListDir to it).
for e in j:
    for k, v in e.get("metadata", {}).items():
        e["metadata"][k] = v.split("\0")[0]
err = first_diff(j, p, "json/proto")
if not err:
    sub = [{k: v for k, v in e.items() if k in ("name", "path", "size", "modifiedTime")
            or (k in ("type", "mode") and "symlinkTarget" not in e)} for e in j]
    err = first_diff(sub, t, "answer/sandbox")
print(err or "same")
EOF
}

for depth in 1 2 3; do
	req="{\"path\":\"$D\",\"depth\":$depth}"
	truth "$depth" > "$T/truth.json"
	call json "$req"
	call proto "$req"
	expect_eq "depth $depth: json status" "200 application/json" "$(cat "$T/json.st")"
	expect_eq "depth $depth: proto status" "200 application/proto" "$(cat "$T/proto.st")"
	expect_eq "depth $depth: same entries and fields in both codecs and in the sandbox" \
		same "$(compare)"
	if "$TOOL" encode -r filesystem.Filesystem/ListDir < "$T/json.body" > "$T/repacked.pb" &&
	   cmp -s "$T/repacked.pb" "$T/proto.body"; then
		ok "depth $depth: protobuf answer is pbjson's packing of the JSON one, byte for byte"
	else
		fail "depth $depth: protobuf answer is pbjson's packing of the JSON one, byte for byte" \
			"$(cmp "$T/repacked.pb" "$T/proto.body" 2>&1 | head -1)"
	fi
done

# What only the answer knows: symlinks, metadata, permissions, left-out names.
python3 - "$T/json.body" "$D" > "$T/fields.out" <<'EOF'
import json, sys
d = sys.argv[2]
e = {x["name"]: x for x in json.load(open(sys.argv[1]))["entries"] if x["path"].count("/") == d.count("/") + 1}
checks = [
    ("link-file", "symlinkTarget", d + "/plain.txt"), ("link-file", "type", "FILE_TYPE_FILE"),
    ("link-dir", "type", "FILE_TYPE_DIRECTORY"), ("link-dir", "symlinkTarget", d + "/sub"),
    ("link-broken", "symlinkTarget", d + "/link-broken"), ("link-broken", "type", None),
    ("link-esc", "symlinkTarget", "/etc"), ("link-ü", "symlinkTarget", d + "/ünï cødé — ✓.txt"),
    ("loop1", "symlinkTarget", d + "/loop1"), ("link-file", "permissions", "Lrwxrwxrwx"),
    ("plain.txt", "permissions", "urwxr-xr-x"), ("sub", "permissions", "dtrwxrwxrwx"),
    ("big.bin", "permissions", "grw-r-----"), ("fifo", "permissions", "prw-r--r--"),
    ("fifo", "type", None), ("t-epoch0", "modifiedTime", None), ("t-epoch0", "mode", None),
    ("plain.txt", "metadata", {"k1": "v1", "empty": "", "uni": 'ünï\n"q"\\'}),
    ("big.bin", "metadata", {"nul": "a\u0000b", "ctl": "\u0001\u007f"}),
    ("sub", "metadata", {"d": "dir"}), ("plain.txt", "owner", "user"), ("sub", "group", "user"),
]
bad = ["%s.%s = %r, want %r" % (n, k, e.get(n, {}).get(k), v) for n, k, v in checks
       if e.get(n, {}).get(k) != v]
names = set(e)
if ".e2bd-upload-0123" in names:
    bad.append("the upload temporary is listed")
if len([x for x in names if x.startswith(("bad", "sur", "over"))]) != 0:
    bad.append("names that are not UTF-8 are listed: %r" % sorted(x for x in names if x.startswith(("bad", "sur", "over"))))
print("; ".join(bad) or "right")
EOF
expect_eq "symlinks, permissions, metadata and left-out names" right "$(cat "$T/fields.out")"

# An empty directory: {} in JSON, no bytes in protobuf.
call json "{\"path\":\"$D/empty\"}"
call proto "{\"path\":\"$D/empty\"}"
expect_eq "empty directory in JSON" "{}" "$(cat "$T/json.body")"
expect_eq "empty directory in protobuf" "0 200" "$(wc -c < "$T/proto.body") $(cut -d' ' -f1 "$T/proto.st")"

# Errors are the same JSON in both codecs.
for req in "{\"path\":\"$D/nope\"}" "{\"path\":\"$D/plain.txt\"}" "{\"path\":\"$D/loop1\"}" \
	   "{\"path\":\"$D/link-dir\",\"depth\":2}"; do
	call json "$req"
	call proto "$req"
	if [ "$(cut -d' ' -f1 "$T/json.st")" = "$(cut -d' ' -f1 "$T/proto.st")" ] &&
	   { cmp -s "$T/json.body" "$T/proto.body" ||
	     "$TOOL" encode -r filesystem.Filesystem/ListDir < "$T/json.body" | cmp -s - "$T/proto.body"; }; then
		ok "same answer in both codecs for $req ($(cut -d' ' -f1 "$T/json.st"))"
	else
		fail "same answer in both codecs for $req" "$(cat "$T/json.st" "$T/proto.st" | tr '\n' ' ')"
	fi
done

done_testing
