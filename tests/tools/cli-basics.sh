#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bctl: help, bad input, exit codes, API key sources, profiles.
. "$SRC_DIR/tests/tools/cli-lib.sh"

rc "$C" help
if [ "$RC" = 0 ] && [[ $OUT == *"set-timeout"* && $OUT == *"umount"* && $OUT == *"Exit status"* ]]; then
	ok "help lists commands"
else
	fail "help lists commands" "rc $RC"
fi
for cmd in create list info kill pause resume connect set-timeout run start ps signal attach \
	   shell ls stat mkdir mv rm cat cp watch mount umount cache; do
	rc "$C" help "$cmd"
	[ "$RC" = 0 ] && [[ $OUT == "usage: e2bctl $cmd"* ]] || { fail "help $cmd" "rc $RC: $OUT"; help_bad=1; }
done
[ -z "${help_bad:-}" ] && ok "help COMMAND for every command"
rc "$C" run --help
[[ $RC == 0 && $OUT == *"--cwd DIR"* ]] && ok "run --help" || fail "run --help" "rc $RC"
rc "$C"
expect_rc "no command: usage" 2 "usage: e2bctl"
rc "$C" --version
[[ $RC == 0 && $OUT == "e2bctl "* ]] && ok "--version" || fail "--version" "rc $RC"

# Bad input: message and exit code 2.
rc "$C" bogus
expect_rc "unknown command" 2 "e2bctl: unknown command 'bogus'"
expect_one_line "unknown command: one line"
rc "$C" info
expect_rc "missing ID" 2 "'info' needs a sandbox ID"
expect_one_line "missing ID: one line"
rc "$C" ls
expect_rc "ls without ID" 2 "needs a sandbox ID"
rc "$C" info a b
expect_rc "too many arguments" 2 "too many arguments"
rc "$C" list --nope
expect_rc "unknown option" 2 "unknown option '--nope'"
rc "$C" --nope list
expect_rc "unknown global option" 2 "unknown global option '--nope'"
rc "$C" create --metadata novalue
expect_rc "malformed K=V (metadata)" 2 "malformed K=V 'novalue'"
expect_one_line "malformed K=V: one line"
rc "$C" run someid --env =x -- true
expect_rc "malformed K=V (env)" 2 "malformed K=V '=x'"
rc "$C" set-timeout someid soon
expect_rc "bad number" 2 "invalid timeout 'soon'"
rc "$C" --protocol carrier-pigeon list
expect_rc "bad protocol" 2 "unknown protocol 'carrier-pigeon'"
rc "$C" --api-key secret list
expect_rc "no --api-key option" 2 "there is no --api-key option"
rc "$C" run someid
expect_rc "run without command" 2 "needs a command"
rc "$C" signal someid 1 HUP
expect_rc "unsupported signal" 2 "unsupported signal 'HUP'"
rc "$C" cp a b
expect_rc "cp with two local paths" 2 "one of SRC and DST must be ID:PATH"

# Unknown sandbox: exit 3, in both protocols.
for m in "${MODES[@]}"; do
	rc ctl "$m" info nosuchsandbox
	expect_rc "$m: unknown sandbox" 3 "e2bctl: sandbox 'nosuchsandbox' not found"
	expect_one_line "$m: unknown sandbox: one line"
	rc ctl "$m" ls nosuchsandbox /
	expect_rc "$m: unknown sandbox (envd command)" 3 "sandbox 'nosuchsandbox' not found"
	rc ctl "$m" kill nosuchsandbox
	expect_rc "$m: kill unknown sandbox" 3 "sandbox 'nosuchsandbox' not found"
done

rc "$C" create no-such-template
expect_rc "unknown template" 3 "e2bctl: template 'no-such-template' not found"

# Unreachable server: exit 5.
dead=$(free_port)
rc "$C" --api-url "http://127.0.0.1:$dead" list
expect_rc "unreachable server" 5 "e2bctl: cannot list sandboxes"
expect_one_line "unreachable server: one line"
rc "$C" --scheme http --protocol private --domain "127.0.0.1:$dead" info abc
expect_rc "unreachable server (private)" 5

# Wrong key: exit 4, and the key is never printed.
rc env E2B_API_KEY=e2b_wrong_key_0123 "$C" list
expect_rc "wrong key" 4 "e2bctl: cannot list sandboxes"
[[ $ERR != *e2b_wrong_key_0123* ]] && ok "wrong key not echoed" || fail "wrong key not echoed" "$ERR"
rc env E2B_API_KEY=e2b_wrong_key_0123 "$C" -v list
[[ $ERR != *e2b_wrong_key_0123* && $ERR != *"$E2B_API_KEY"* ]] && ok "verbose log has no key" ||
	fail "verbose log has no key" "key in stderr"

rc env -u E2B_API_KEY -u X_API_KEY E2B_CONFIG=/nonexistent "$C" list
expect_rc "no key at all" 4 "no API key: set E2B_API_KEY, use --api-key-file, or api_key_file in ~/.config/e2b/config"
expect_one_line "no key at all: one line"
# Nothing configured: the connection error names what to set (no traffic
# leaves the machine: the default host does not resolve here, and a
# resolver that answered would still get no key).
rc env -i PATH="$PATH" HOME="$TEST_TMP" E2B_API_URL=http://127.0.0.1:1 "$C" list
expect_rc "unreachable server set: no 'no server set' hint" 5 "cannot list sandboxes"
[[ $ERR != *"no server set"* ]] && ok "a set server gets no 'no server set' hint" || fail "a set server gets no 'no server set' hint" "$ERR"

# Key from a file, from X_API_KEY, and from a profile.
umask 077
printf '%s\n' "$E2B_API_KEY" > "$TEST_TMP/key"
printf 'e2b_bad\n' > "$TEST_TMP/badkey"
umask 022
rc env -u E2B_API_KEY "$C" --api-key-file "$TEST_TMP/key" list
expect_rc "--api-key-file" 0
rc env -u E2B_API_KEY X_API_KEY="$E2B_API_KEY" "$C" list
expect_rc "X_API_KEY" 0
rc "$C" --api-key-file "$TEST_TMP/badkey" list
expect_rc "--api-key-file beats E2B_API_KEY" 4
rc "$C" --api-key-file "$TEST_TMP/nokey" list
expect_rc "missing key file" 1 "cannot open API key file"

cfg=$TEST_TMP/e2b-config
cat > "$cfg" <<CFG
# test profiles
[profile local]
api_url = $E2BD_URL
sandbox_url = $E2BD_URL
api_key_file = $TEST_TMP/key

[profile kruise]
protocol = private
scheme = http
domain = 127.0.0.1:$E2BD_PORT
api_key_file = $TEST_TMP/key

[profile dead]
api_url = http://127.0.0.1:$dead
api_key_file = $TEST_TMP/badkey
CFG
noenv=(env -u E2B_API_KEY -u X_API_KEY -u E2B_API_URL -u E2B_SANDBOX_URL E2B_CONFIG="$cfg")
rc "${noenv[@]}" "$C" --profile local list
expect_rc "profile (native urls)" 0
rc "${noenv[@]}" "$C" --profile kruise --json list
expect_rc "profile (private protocol)" 0
rc "${noenv[@]}" E2B_PROFILE=kruise "$C" list
expect_rc "E2B_PROFILE" 0
rc "${noenv[@]}" "$C" --profile nosuch list
expect_rc "unknown profile" 3 "profile 'nosuch' not found"
rc "${noenv[@]}" "$C" --profile dead --api-url "$E2BD_URL" --api-key-file "$TEST_TMP/key" list
expect_rc "flags beat profile" 0
rc env E2B_CONFIG="$cfg" "$C" --profile dead list
expect_rc "environment beats profile" 0
rc "${noenv[@]}" "$C" --profile dead list
expect_rc "profile alone is used" 5

done_testing
