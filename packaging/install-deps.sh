#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install everything needed to build e2bfs and run its tests on Debian 12
# (as root).  Idempotent: safe to run on every CI run.
set -eu
pkgs=(
	build-essential meson ninja-build pkg-config clang
	libcurl4-openssl-dev libnghttp2-dev libjansson-dev libssl-dev
	libfuse3-dev fuse3 libmicrohttpd-dev libcmocka-dev zlib1g-dev
	libprotobuf-c-dev protobuf-c-compiler
	curl ca-certificates python3 git tmux valgrind zsh fish scdoc
	nghttp2-proxy nginx sshfs openssh-server vim-tiny
	debhelper dpkg-dev lintian man-db systemd
	nftables iproute2 e2fsprogs
	nodejs npm
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node/npm may come from elsewhere (nodesource, nvm); only ask apt when absent.
if command -v node > /dev/null && command -v npm > /dev/null; then
	tmp=(); for p in "${missing[@]}"; do case $p in nodejs|npm) ;; *) tmp+=("$p") ;; esac; done
	missing=("${tmp[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The official SDK, pinned in tests/conformance/package-lock.json.
src=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$src/tests/conformance/package.json" ]; then
	(cd "$src/tests/conformance" && { [ -f package-lock.json ] && npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; })
fi
