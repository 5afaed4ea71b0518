#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Check one command's --json output against docs/e2bctl.md's JSON OUTPUT
# section, the one definition of the vocabulary: the table row naming the
# command gives the shape (Sandbox, [Entry], {"a", "b"}, one {...} per
# line), the object blocks give the fields of Sandbox/Entry/Process/Mount.
# Fields must be exactly the documented ones, in order; every field name
# has one type everywhere; times are RFC 3339 UTC or null; absent is null,
# never "".
#
# Usage: jsonvocab.py DOC COMMAND FILE [EXTRA_FIELD...]
#   COMMAND is the first cell's text, e.g. "list", "mount ID MOUNTPOINT",
#   "sandbox-file" for e2bfs's .e2bfs/sandbox (Sandbox + root, error).
#   Prints nothing and exits 0 when the output conforms, else says why.
import json
import re
import sys

TIME_FIELDS = {"startedAt", "endAt", "modifiedTime", "timestamp"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
# One type per name across every command (None: null allowed).
TYPES = {
    "sandboxID": (str,), "templateID": (str, None), "alias": (str, None),
    "clientID": (str, None), "state": (str,), "envdVersion": (str, None),
    "domain": (str, None), "cpuCount": (int,), "memoryMB": (int,),
    "diskSizeMB": (int,), "metadata": (dict,), "name": (str,), "path": (str,),
    "type": (str,), "isSymlink": (bool,), "size": (int,), "mode": (int,),
    "permissions": (str, None), "owner": (str, None), "group": (str, None),
    "symlinkTarget": (str, None), "pid": (int,), "tag": (str, None),
    "cmd": (str,), "args": (list,), "envs": (dict,), "cwd": (str, None),
    "internal": (bool,), "mountpoint": (str,), "killed": (bool,),
    "alreadyPaused": (bool,), "timeout": (int,), "signal": (str,),
    "created": (bool,), "removed": (bool,), "unmounted": (bool,),
    "destination": (str,), "files": (int,), "bytes": (int,),
    "entry": (dict, None), "action": (str,), "reason": (str,),
    "dirtyFiles": (int,), "movedTo": (str, None), "dryRun": (bool,),
    "e2bctl": (str,), "libe2b": (str,), "root": (str,), "error": (str, None),
    "line": (str,), "stream": (str,), "level": (str,),
}
# Maps of user data: their keys and values are not vocabulary.
OPAQUE = {"metadata", "envs", "args"}


def doc_section(doc):
    text = open(doc, encoding="utf-8").read()
    a = text.index("## JSON OUTPUT")
    b = text.index("\n## ", a + 1)
    return text[a:b]


def objects(sec):
    """Named objects: a paragraph starting 'Sandbox object', then a ``` block."""
    out = {}
    for m in re.finditer(r"^(\w+) object\b", sec, re.M):
        start = sec.index("```\n", m.end()) + 4
        out[m.group(1)] = list(json.loads(sec[start:sec.index("\n```", start)]).keys())
    return out


def table(sec):
    rows = {}
    for line in sec.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"`([^`]+)`", cells[0]):
            rows[name] = cells[1]
    return rows


def keys_of(spec):
    return re.findall(r'"(\w+)"', spec)


def shape(spec, objs):
    """-> (kind, fields): kind is 'one', 'array' or 'lines'."""
    lines = spec.startswith("one ")
    m = re.match(r"^(?:one )?(\[?)`?(\{[^}]*\}|\w+)`?(\]?)", spec)
    if not m:
        raise SystemExit("cannot read the documented shape %r" % spec)
    body = m.group(2)
    fields = keys_of(body) if body.startswith("{") else objs[body]
    kind = "lines" if lines else "array" if m.group(1) else "one"
    return kind, fields


def check_value(name, v, where, errs):
    want = (str, None) if name in TIME_FIELDS else TYPES.get(name)
    if want is None:
        errs.append("%s: field %r is not in the vocabulary's type table" % (where, name))
        return
    if v is None:
        if None not in want and name not in TIME_FIELDS:
            errs.append("%s: %r is null" % (where, name))
        return
    if isinstance(v, str) and v == "":
        errs.append("%s: %r is \"\" (absent must be null)" % (where, name))
    if name in TIME_FIELDS:
        if not isinstance(v, str) or not RFC3339.match(v):
            errs.append("%s: %r=%r is not RFC 3339 UTC" % (where, name, v))
        return
    ok = any(t is not None and isinstance(v, t) and not (t is int and isinstance(v, bool))
             for t in want)
    if not ok:
        errs.append("%s: %r=%r has the wrong type" % (where, name, v))


def check_obj(o, fields, where, errs, objs):
    if not isinstance(o, dict):
        errs.append("%s: not an object: %r" % (where, o))
        return
    if list(o.keys()) != fields:
        errs.append("%s: fields %s, documented %s" % (where, list(o.keys()), fields))
    for k, v in o.items():
        check_value(k, v, where, errs)
        if k == "entry" and isinstance(v, dict):
            check_obj(v, objs["Entry"], where + ".entry", errs, objs)


def main():
    doc, cmd, path = sys.argv[1:4]
    extra = sys.argv[4:]
    sec = doc_section(doc)
    objs = objects(sec)
    for need in ("Sandbox", "Entry", "Process", "Mount"):
        if need not in objs:
            raise SystemExit("docs: no %s object block" % need)
    if cmd == "sandbox-file":
        kind, fields = "one", objs["Sandbox"] + ["root", "error"]
    else:
        rows = table(sec)
        if cmd not in rows:
            raise SystemExit("docs: command %r not in the JSON OUTPUT table" % cmd)
        kind, fields = shape(rows[cmd], objs)
    fields = fields + extra
    text = open(path, encoding="utf-8").read()
    errs = []
    if kind == "lines":
        items = [json.loads(l) for l in text.splitlines() if l.strip()]
        if not items:
            errs.append("%s: no lines" % cmd)
    else:
        v = json.loads(text)
        if kind == "array":
            if not isinstance(v, list):
                raise SystemExit("%s: not an array" % cmd)
            if not v:
                errs.append("%s: empty array (the test must make it non-empty)" % cmd)
            items = v
        else:
            items = [v]
    for i, o in enumerate(items):
        check_obj(o, fields, "%s[%d]" % (cmd, i), errs, objs)
    if errs:
        print("\n".join(errs[:10]))
        sys.exit(1)


if __name__ == "__main__":
    main()
