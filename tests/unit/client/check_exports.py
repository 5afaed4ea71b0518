#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Public-surface check: the dynamic symbols libe2b.so exports must be
# exactly the functions declared E2B_EXTERN in client/include/e2b/*.h.
# Usage: check_exports.py LIBE2B_SO INCLUDE_DIR
import glob
import re
import subprocess
import sys

lib, inc = sys.argv[1], sys.argv[2]
declared = set()
for h in glob.glob(inc + "/e2b/*.h"):
    text = open(h).read()
    declared |= set(re.findall(r"E2B_EXTERN\([^)]*\)\s*(\w+)\s*\(", text))
out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True,
                     check=True).stdout
exported = set()
for line in out.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in ("T", "W", "D", "B"):
        exported.add(parts[2].split("@")[0])
extra = sorted(exported - declared)
missing = sorted(declared - exported)
if extra:
    print("exported but not declared:", " ".join(extra))
if missing:
    print("declared but not exported:", " ".join(missing))
print("%d public symbols" % len(exported & declared))
sys.exit(1 if extra or missing else 0)
