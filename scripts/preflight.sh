#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Checks, before any compiler runs, that KDIR can build the module; run by `make` (modules,
# lint, install). Each problem stops with one line saying what is wrong and how to fix it:
#
#   scripts/preflight.sh KDIR RUSTC BINDGEN
#
# 1. KDIR is a kernel build tree (Makefile, .config, include/config/auto.conf, Module.symvers);
# 2. the kernel was built with Rust (CONFIG_RUST=y);
# 3. its Rust metadata is there (rust/*.rmeta of the crates a module links, libmacros.so, the
#    target spec, include/generated/rustc_cfg);
# 4. RUSTC is the rustc the kernel was built with (CONFIG_RUSTC_VERSION_TEXT, or
#    CONFIG_RUSTC_VERSION): crate metadata only loads in the very same compiler;
# 5. BINDGEN runs and finds libclang (the module generates its own socket-layer bindings).
set -uo pipefail
[ $# -eq 3 ] || { echo "usage: $0 KDIR RUSTC BINDGEN" >&2; exit 2; }
kdir=$1 rustc=$2 bindgen=$3
fail() {
	echo "rust_pf_demo: $*" >&2
	exit 1
}

for f in Makefile .config include/config/auto.conf Module.symvers; do
	[ -f "$kdir/$f" ] ||
		fail "KDIR=$kdir is not a kernel build tree (no $f): pass a built kernel's tree (/lib/modules/\$(uname -r)/build, or the kernel's headers package), or run scripts/build-kernel.sh"
done

grep -qx 'CONFIG_RUST=y' "$kdir/.config" ||
	fail "the kernel in KDIR=$kdir was built without Rust (CONFIG_RUST is not set in its .config): it cannot load Rust modules; use a kernel built with CONFIG_RUST=y (Debian's own kernels are not)"

# The crates every Rust module of 6.12 links against (rustc -L rust/ --extern kernel).
missing=()
for f in rust/libcore.rmeta rust/libcompiler_builtins.rmeta rust/libffi.rmeta \
	rust/libbindings.rmeta rust/libuapi.rmeta rust/libbuild_error.rmeta rust/libkernel.rmeta \
	rust/libmacros.so scripts/target.json include/generated/rustc_cfg; do
	[ -e "$kdir/$f" ] || missing+=("$f")
done
# Debian's linux-headers (scripts/ is linux-kbuild's) ship none: scripts/debian-kernel.sh makes it.
if [ ${#missing[@]} -gt 0 ] && [[ "$(readlink -f "$kdir/scripts")" == /usr/lib/linux-kbuild-* ]]; then
	rel=$(cat "$kdir/include/config/kernel.release" 2>/dev/null || basename "$(readlink -f "$kdir")")
	fail "Debian's linux-headers of $rel ship no Rust metadata (rust/*.rmeta): make it once with 'sudo $(dirname "$0")/debian-kernel.sh --host $rel' (Debian's linux-source and the kernel's own rustc, bindgen and gcc; a few minutes), then run make again"
fi
[ ${#missing[@]} -eq 0 ] ||
	fail "KDIR=$kdir lacks the kernel's Rust metadata (${missing[*]}): install it with the headers (Ubuntu: linux-lib-rust-\$(uname -r); Arch: linux-headers) or build the kernel's rust/ there"

want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$kdir/.config")
have=$("$rustc" --version 2>/dev/null) ||
	fail "cannot run RUSTC=$rustc: install the rustc the kernel was built with (${want:-see CONFIG_RUSTC_VERSION in $kdir/.config}) and pass RUSTC=<it>"
if [ -n "$want" ]; then
	[ "$have" = "$want" ] ||
		fail "RUSTC=$rustc is '$have' but the kernel in KDIR was built with '$want': pass RUSTC=<that rustc> (its crate metadata loads in no other compiler)"
else
	wantnum=$(sed -n 's/^CONFIG_RUSTC_VERSION=//p' "$kdir/.config")
	IFS=. read -r major minor patch <<<"$(sed -n 's/^rustc \([0-9.]*\).*/\1/p' <<<"$have")"
	havenum=$((major * 10000 + minor * 100 + ${patch:-0}))
	[ "$havenum" = "$wantnum" ] ||
		fail "RUSTC=$rustc is '$have' but the kernel in KDIR was built with rustc version $wantnum (CONFIG_RUSTC_VERSION): pass RUSTC=<that rustc>"
fi

"$bindgen" --version >/dev/null 2>&1 ||
	fail "cannot run BINDGEN=$bindgen: install bindgen (scripts/setup.sh installs bindgen-cli; Ubuntu: the bindgen package matching the kernel) and pass BINDGEN=<it>"
# The kernel's own probe (scripts/rust_is_available_bindgen_libclang.h), written here: a headers
# package need not ship it (Debian's linux-kbuild does not).
probe=$(mktemp --suffix=.h)
trap 'rm -f "$probe"' EXIT
echo '#pragma message("clang version " __clang_version__)' >"$probe"
out=$("$bindgen" "$probe" 2>&1)
grep -q 'clang version' <<<"$out" ||
	fail "BINDGEN=$bindgen cannot load libclang ($(grep -m1 -io 'unable to find libclang' <<<"$out" || echo "no clang version from a probe header")): install libclang (Debian: libclang-dev) or set LIBCLANG_PATH"
exit 0
