#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian packages (packaging/debian): build them with dpkg-buildpackage
# into a scratch dir, lint them, install them with dpkg -i and smoke-test
# from the installed files only: e2bd started by hand from /usr/bin on a
# free loopback port with a state dir of its own, e2bctl create, a mount
# with `mount -t fuse.e2bfs` (the installed mount.fuse.e2bfs helper), a
# file read, the unmount.  The packages are purged at the end, so the
# machine is left as found; a machine that already has any of them
# installed is not touched (skip).  Plain build pass only: it compiles the
# project once more (DEB_BUILD_OPTIONS=nocheck, -Dtests=false): about a
# minute on an idle 2-core machine, several when it is shared; it runs
# beside the other scripts (test-concurrent, tests/run).
# test-timeout: 900
# test-concurrent: yes
. "$SRC_DIR/tests/lib.sh"

pkgs=(e2bfs e2bd libe2b-dev libe2b0)
# The packages carry the version meson.build declares.
version=$(sed -n "s/^  version: '\(.*\)',\$/\1/p" "$SRC_DIR/meson.build")
expect_eq "debian/changelog has meson.build's version" "$version" \
	"$(dpkg-parsechangelog -l "$SRC_DIR/packaging/debian/changelog" -S Version 2>&1)"
expect_eq "the RPM spec has meson.build's version" "$version" \
	"$(sed -n 's/^Version: *//p' "$SRC_DIR/packaging/rpm/e2bfs.spec")"
# The rest compiles the project once more: the plain build pass only.
[ "${E2B_SANITIZE:-0}" = 1 ] && done_testing
for t in dpkg-buildpackage dh lintian; do
	command -v "$t" > /dev/null || { fail "debian packages: $t installed" "run packaging/install-deps.sh"; done_testing; }
done
installed=
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && installed+=" $p"
done

# --- the release tarball carries the license
work=$TEST_TMP/deb
mkdir -p "$work"
if git -C "$SRC_DIR" rev-parse --git-dir > /dev/null 2>&1; then
	if meson dist -C "$BUILD_DIR" --no-tests --allow-dirty --formats xztar > "$work/dist.log" 2>&1; then
		tar -tJf "$BUILD_DIR/meson-dist/e2bfs-$version.tar.xz" | grep -qx "e2bfs-$version/LICENSE" &&
			ok "meson dist includes LICENSE" || fail "meson dist includes LICENSE"
	else
		fail "meson dist" "$(tail -n 3 "$work/dist.log" | tr '\n' ' ')"
	fi
fi

# --- build
src=$work/e2bfs-$version
mkdir -p "$src"
if git -C "$SRC_DIR" rev-parse --git-dir > /dev/null 2>&1; then
	git -C "$SRC_DIR" ls-files -z --cached --others --exclude-standard |
		tar -C "$SRC_DIR" --null -T - -cf - 2>/dev/null | tar -C "$src" -xf -
else
	tar -C "$SRC_DIR" --exclude='./build*' --exclude=node_modules -cf - . | tar -C "$src" -xf -
fi
cp -r "$SRC_DIR/packaging/debian" "$src/debian"
t0=$SECONDS
if (cd "$src" && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b) > "$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b builds the packages ($((SECONDS - t0)) s)"
else
	fail "dpkg-buildpackage -us -uc -b builds the packages" "$(tail -n 15 "$work/build.log" | tr '\n' ' ')"
	done_testing
fi
debs=()
for p in "${pkgs[@]}"; do
	f=$(ls "$work/${p}_"*.deb 2>/dev/null)
	if [ -n "$f" ]; then debs+=("$f"); else fail "package $p built"; fi
done
[ ${#debs[@]} = ${#pkgs[@]} ] && ok "libe2b0, libe2b-dev, e2bfs and e2bd built"
# What each package holds.
contents() { dpkg-deb -c "$work/${1}_"*.deb | awk '{ print $6 }'; }
for want in "e2bfs ./usr/bin/e2bfs" "e2bfs ./usr/bin/e2bctl" "e2bfs ./usr/sbin/mount.fuse.e2bfs" \
	"e2bfs ./usr/share/fish/vendor_completions.d/e2bctl.fish" "e2bfs ./usr/lib/systemd/user/e2bfs@.service" \
	"e2bd ./usr/bin/e2bd" "e2bd ./lib/systemd/system/e2bd.service" "e2bd ./usr/share/man/man8/e2bd.8.gz" \
	"libe2b0 ./usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/libe2b.so.0" \
	"libe2b-dev ./usr/include/e2b/e2b.h" "libe2b-dev ./usr/share/man/man3/libe2b.3.gz"; do
	set -- $want
	contents "$1" | grep -qxF -- "$2" || { fail "$1 ships ${2#.}"; ship_bad=1; }
done
[ -z "${ship_bad:-}" ] && ok "the packages ship their files"
t0=$SECONDS
if lintian --fail-on error "$work"/*.changes > "$work/lintian.log" 2>&1; then
	ok "lintian finds no error ($((SECONDS - t0)) s, $(grep -c '^W:' "$work/lintian.log") warnings)"
else
	fail "lintian finds no error" "$(grep '^E:' "$work/lintian.log" | head -5 | tr '\n' ' ')"
fi

# --- install on this machine, smoke test from the installed files, purge
if [ -n "$installed" ]; then
	skip "install and smoke test" "already installed here:$installed (not touched)"
	done_testing
fi
e2bd_pid=
mnt=$TEST_TMP/deb-mnt
purge() {
	[ -n "$e2bd_pid" ] && kill "$e2bd_pid" 2>/dev/null && wait "$e2bd_pid" 2>/dev/null
	grep -q " $mnt fuse" /proc/mounts && umount -l "$mnt" 2>/dev/null
	dpkg --purge "${pkgs[@]}" > "$work/purge.log" 2>&1
}
trap 'purge; _lib_cleanup' EXIT
if dpkg -i "${debs[@]}" > "$work/install.log" 2>&1; then
	ok "dpkg -i installs the packages"
else
	fail "dpkg -i installs the packages" "$(tail -n 5 "$work/install.log" | tr '\n' ' ')"
	done_testing
fi
lib=$(ldd /usr/bin/e2bctl | awk '$1 == "libe2b.so.0" { print $3 }')
case $lib in
/usr/lib/*|/lib/*) ok "e2bctl uses the installed libe2b ($lib)" ;;
*) fail "e2bctl uses the installed libe2b" "$lib" ;;
esac
expect_eq "pkg-config finds libe2b" "0.1.0" "$(pkg-config --modversion libe2b 2>&1)"
printf '#include <e2b/e2b.h>\n#include <stdio.h>\nint main(void) { puts(e2b_version()); return 0; }\n' > "$work/v.c"
# shellcheck disable=SC2046 # pkg-config prints several words
if cc "$work/v.c" -o "$work/v" $(pkg-config --cflags --libs libe2b) 2>"$work/cc.log" && "$work/v" > /dev/null; then
	ok "a program builds against libe2b-dev and runs"
else
	fail "a program builds against libe2b-dev and runs" "$(head -3 "$work/cc.log")"
fi
man -w e2bfs > /dev/null 2>&1 && man -w e2bd > /dev/null 2>&1 && man -w 3 libe2b > /dev/null 2>&1 &&
	ok "man finds e2bfs, e2bd and libe2b" || fail "man finds e2bfs, e2bd and libe2b"
if command -v systemd-analyze > /dev/null; then
	rt=$work/xdg-runtime
	mkdir -p "$rt" && chmod 700 "$rt"
	out=$( { systemd-analyze verify /lib/systemd/system/e2bd.service
		XDG_RUNTIME_DIR=$rt systemd-analyze --user verify /usr/lib/systemd/user/e2bfs@x.service; } 2>&1)
	[ -z "$out" ] && ok "systemd-analyze verify: the installed units" || fail "systemd-analyze verify: the installed units" "$out"
fi

port=$(free_port)
state=$work/e2bd-state
key=$work/api-key
( umask 077; printf '%s\n' "$E2B_API_KEY" > "$key" )
/usr/bin/e2bd --listen "127.0.0.1:$port" --state-dir "$state" --api-key-file "$key" \
	> "$work/e2bd.log" 2>&1 &
e2bd_pid=$!
url=http://127.0.0.1:$port
up=0
for _ in $(seq 100); do
	curl -fs -o /dev/null "$url/health" && { up=1; break; }
	kill -0 "$e2bd_pid" 2>/dev/null || break
	sleep 0.1
done
[ $up = 1 ] && ok "the installed e2bd starts" || { fail "the installed e2bd starts" "$(tail -n 5 "$work/e2bd.log")"; done_testing; }
sid=$(E2B_API_URL=$url E2B_SANDBOX_URL=$url /usr/bin/e2bctl create base 2>&1)
if [[ $sid =~ ^[a-z0-9]+$ ]]; then ok "the installed e2bctl creates a sandbox"; else fail "the installed e2bctl creates a sandbox" "$sid"; done_testing; fi
E2B_API_URL=$url E2B_SANDBOX_URL=$url /usr/bin/e2bctl run "$sid" 'echo hello from the package > /home/user/pkg.txt' > /dev/null
mkdir -p "$mnt"
# As fstab would: the key from a file, the URLs as options, mount's own
# options beside them; the environment carries nothing.
if env -u E2B_API_KEY -u E2B_API_URL -u E2B_SANDBOX_URL PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	mount -t fuse.e2bfs "$sid" "$mnt" \
	-o "noauto,_netdev,nofail,api_key_file=$key,api_url=$url,sandbox_url=$url" > "$work/mount.log" 2>&1; then
	ok "mount -t fuse.e2bfs mounts the sandbox"
else
	fail "mount -t fuse.e2bfs mounts the sandbox" "$(tr '\n' ' ' < "$work/mount.log")"
	done_testing
fi
expect_eq "a file reads through the mount" "hello from the package" "$(cat "$mnt/pkg.txt" 2>&1)"
expect_eq "/proc/mounts shows fuse.e2bfs" "fuse.e2bfs" "$(awk -v m="$mnt" '$2 == m { print $3 }' /proc/mounts)"
if umount "$mnt" 2>&1; then
	ok "umount unmounts it"
else
	fail "umount unmounts it"
fi
for _ in $(seq 50); do grep -q " $mnt fuse" /proc/mounts || break; sleep 0.1; done
grep -q " $mnt fuse" /proc/mounts && fail "the mount is gone" || ok "the mount is gone"
kill "$e2bd_pid"; wait "$e2bd_pid" 2>/dev/null; e2bd_pid=
purge
trap '_lib_cleanup' EXIT
left=
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed' && left+=" $p"
done
[ -z "$left" ] && [ ! -e /usr/bin/e2bfs ] && [ ! -e /usr/sbin/mount.fuse.e2bfs ] &&
	ok "dpkg --purge leaves the machine as found" || fail "dpkg --purge leaves the machine as found" "left:$left"
done_testing
