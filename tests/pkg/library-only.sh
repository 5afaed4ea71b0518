#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# meson -Dlibrary_only=true builds and installs libe2b alone: the shared
# library with its soname, headers, libe2b.pc and libe2b(3), nothing of
# e2bfs, e2bctl or e2bd, and it configures without their dependencies.
# Compiles libe2b once more, own build and install dirs: runs beside the others.
# test-concurrent: yes
. "$SRC_DIR/tests/lib.sh"

b=$TEST_TMP/build-lib
dest=$TEST_TMP/dest
if meson setup "$b" "$SRC_DIR" -Dlibrary_only=true -Dtests=false --prefix=/usr --libdir=lib \
	> "$TEST_TMP/setup.log" 2>&1 && ninja -C "$b" > "$TEST_TMP/build.log" 2>&1 &&
	DESTDIR=$dest meson install -C "$b" --no-rebuild > "$TEST_TMP/install.log" 2>&1; then
	ok "-Dlibrary_only=true builds and installs"
else
	fail "-Dlibrary_only=true builds and installs" "$(cat "$TEST_TMP"/{setup,build,install}.log | tail -n 5 | tr '\n' ' ')"
	done_testing
fi
grep -qiE 'dependency (fuse3|libmicrohttpd|openssl) found' "$TEST_TMP/setup.log" &&
	fail "no FUSE, microhttpd or OpenSSL looked up" || ok "no FUSE, microhttpd or OpenSSL looked up"
files=$(cd "$dest" && find . \( -type f -o -type l \) | sort | tr '\n' ' ')
expect_eq "only the library is installed" \
	"./usr/include/e2b/client.h ./usr/include/e2b/commands.h ./usr/include/e2b/common.h ./usr/include/e2b/e2b.h ./usr/include/e2b/errors.h ./usr/include/e2b/fs.h ./usr/include/e2b/input.h ./usr/include/e2b/meta.h ./usr/include/e2b/mgmt.h ./usr/include/e2b/process.h ./usr/include/e2b/pty.h ./usr/include/e2b/sandbox.h ./usr/lib/libe2b.so ./usr/lib/libe2b.so.0 ./usr/lib/libe2b.so.0.1.0 ./usr/lib/pkgconfig/libe2b.pc ./usr/share/man/man3/libe2b.3 " \
	"$files"
expect_eq "soname libe2b.so.0" "libe2b.so.0" \
	"$(readelf -d "$dest/usr/lib/libe2b.so.0.1.0" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
done_testing
