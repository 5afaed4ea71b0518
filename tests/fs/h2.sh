#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# e2bfs over TLS + HTTP/2 (nghttpx in front of e2bd, a throwaway CA given
# with -o ca_file): content reads share libe2b's HTTP/2 connection instead
# of a connection (and a TLS handshake) per thread, so a fetch ahead of
# 300 files leaves e2bfs with a few connections, not one per fetch
# thread; what is read is byte-identical, a large file (streamed on a
# connection of its own) too.
. "$SRC_DIR/tests/lib.sh"
. "$SRC_DIR/tests/fs/common.sh"
fs_require

D=$TEST_TMP/h2
tls_proxy "$D" || { fail "nghttpx serves h2" "$(tail -n 3 "$D/nghttpx.log" 2>&1 | tr '\n' ' ')"; done_testing; }
PORT=$TLS_PORT

id=$(new_sandbox '{"templateID":"base","timeout":600}') || { fail "create sandbox" "$id"; done_testing; }
mnt=$TEST_TMP/h2-mnt
st() { json_get "d[\"$1\"]" < "$mnt/.e2bfs/status"; }
fetched_300() { [ "$(st aheadFetched)" -ge 298 ]; }
"$E2BCTL_BIN" run "$id" -- sh -c 'mkdir -p h2/d && cd h2/d && for i in $(seq 100 399); do head -c $((i * 7)) /dev/urandom > f$i; done && head -c 20000000 /dev/urandom > ../big' \
	>/dev/null 2>&1 || fail "files made in the sandbox" "e2bctl run failed"

mount_check "mount over TLS + HTTP/2" "$id" "$mnt" -o "sandbox_url=https://localhost:$PORT,ca_file=$D/ca.pem"
cat "$mnt/h2/d/f100" "$mnt/h2/d/f101" >/dev/null
ok=0
for _ in $(seq 300); do fetched_300 && { ok=1; break; }; sleep 0.05; done
check "the fetch ahead of 300 files ran ($(st aheadFetched))" test $ok = 1
n=$(ss -tnH state established "( dport = :$PORT )" -p 2>/dev/null | grep -c "pid=$FS_PID,")
check "e2bfs holds a few TLS connections after it, not one per fetch thread ($n)" test "$n" -le 8
expect_eq "300 files read over HTTP/2 are byte-identical" \
	"$(cd "$mnt/h2/d" && cat $(ls | sort) | sha256sum)" \
	"$("$E2BCTL_BIN" run "$id" -- sh -c 'cd h2/d && cat $(ls | sort) | sha256sum' 2>&1)"
expect_eq "a 20 MB file read over HTTP/2 is byte-identical" \
	"$(sha256sum < "$mnt/h2/big")" \
	"$("$E2BCTL_BIN" run "$id" -- sh -c 'sha256sum < h2/big' 2>&1)"
grep -q ' HTTP/2' "$D/access.log" && ok "the requests were HTTP/2" || fail "the requests were HTTP/2" "$(tail -n 2 "$D/access.log")"
fs_umount "$mnt"
done_testing
