#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Installs everything rust_pf_demo needs on a fresh Debian 12 machine. Idempotent:
# a second run installs nothing and takes a second.
set -euo pipefail
RPD_STAGE=setup
. "$(dirname "$0")/lib.sh"

# RPD_KERNEL=debian-X.Y needs no kernel toolchain on the host (the build root has the kernel's).
if rpd_is_debian; then pkgs="$RPD_PACKAGES $RPD_PACKAGES_DEBIAN"; else pkgs="$RPD_PACKAGES $RPD_PACKAGES_6_12"; fi
missing=()
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	rpd_need apt-get "this project needs Debian's apt-get (Debian 12) to install: ${missing[*]}"
	[ "$(id -u)" = 0 ] || rpd_die "installing ${missing[*]} needs root: run 'sudo $0'"
	rpd_say "apt-get install ${missing[*]}"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if rpd_is_debian; then
	rpd_say "host tools ready: $("$RPD_RUSTC" --version) for the test program; the kernel's toolchain is in its build root"
	exit 0
fi
if ! "$RPD_BINDGEN" --version 2>/dev/null | grep -q "$RPD_BINDGEN_VERSION"; then
	rpd_need "$RPD_CARGO" "install Debian's cargo-web (apt-get install cargo-web)"
	rpd_say "cargo install bindgen-cli $RPD_BINDGEN_VERSION (about 2 minutes)"
	LIBCLANG_PATH=/usr/lib/llvm-19/lib RUSTC=$RPD_RUSTC "$RPD_CARGO" install --quiet --locked bindgen-cli \
		--version "$RPD_BINDGEN_VERSION" --root "$RPD_TOOLS"
fi
rpd_say "toolchain ready: $("$RPD_RUSTC" --version), $("$RPD_BINDGEN" --version)"
