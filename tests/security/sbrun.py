#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# sbrun.py ID CMD [USER]: run `bash -c CMD` in sandbox ID through
# $E2BD_URL's envd routing (process.Process/Start, Connect JSON stream);
# prints stdout and stderr, then the exit code on the last line.
import base64, json, os, sys, urllib.request

sid, cmd = sys.argv[1], sys.argv[2]
user = sys.argv[3] if len(sys.argv) > 3 else ""
body = json.dumps({"process": {"cmd": "/bin/bash", "args": ["-c", cmd]}, "stdin": False}).encode()
req = urllib.request.Request(os.environ["E2BD_URL"] + "/process.Process/Start",
                             data=b"\0" + len(body).to_bytes(4, "big") + body, method="POST")
req.add_header("E2b-Sandbox-Id", sid)
req.add_header("Content-Type", "application/connect+json")
if user:
    req.add_header("Authorization", "Basic " + base64.b64encode((user + ":").encode()).decode())
out, rc = b"", "none"
try:
    d = urllib.request.urlopen(req, timeout=120).read()
except Exception as e:  # noqa: BLE001 - the test prints what happened
    print("request failed: %s" % e)
    print("error")
    sys.exit(0)
i = 0
while i + 5 <= len(d):
    fl, n = d[i], int.from_bytes(d[i + 1:i + 5], "big")
    j = json.loads(d[i + 5:i + 5 + n])
    i += 5 + n
    ev = j.get("event", {})
    for v in ev.get("data", {}).values():
        out += base64.b64decode(v)
    if "end" in ev:
        rc = ev["end"].get("exitCode", 0)
    if fl & 2 and "error" in j:
        rc = "error:" + j["error"]["message"]
sys.stdout.write(out.decode("utf-8", "replace").rstrip("\n") + "\n" + str(rc) + "\n")
