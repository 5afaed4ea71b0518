#!/bin/sh
# SPDX-License-Identifier: MIT
# Apply libe2b's 0.1 API renames (scripts/api-rename.sed, issue 12 item 5)
# to the tracked and untracked (not ignored) text files under PATH... of
# this repository; default: client fs tools tests bench docs README.md.
# Idempotent: run it again after a rebase onto a renamed main.
# Usage: scripts/api-rename.sh [PATH...]
set -eu
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$top"
[ "$#" -gt 0 ] || set -- client fs tools tests bench docs README.md
git ls-files -z --cached --others --exclude-standard -- "$@" |
	grep -z -E '\.(c|h|md|scd|sh|py|txt|build|mjs)$' |
	xargs -0 -r sed -E -i -f scripts/api-rename.sed
