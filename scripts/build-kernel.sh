#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the Rust-enabled test kernel and prints its directory (KDIR) on the last line.
#
#   scripts/build-kernel.sh                     # build or reuse the default kernel
#                                               # (kernel/*.config, then flavours/trace.config)
#   RPD_FLAVOUR=debug scripts/build-kernel.sh   # a flavour picks kernel/flavours/ fragments
#                                               # (debug: trace.config, then debug.config;
#                                               # bench: none, the kernel without tracing)
#
# The tree lives in $RUST_PF_DEMO_CACHE (default ~/.cache/rust_pf_demo)/kernel-<flavour>/linux
# with the key it was built for (source package and toolchain versions, config fragments,
# recipe). The kernel is stock: Debian's linux-source-6.12, no patch applied. Same key: reused
# as is. Other key: reconfigured, and make rebuilds only what changed. No tree yet: the tarball
# is extracted and built from scratch (~10 min).
# One progress line per stage; the full log is kept in kernel-<flavour>/build.log.
set -euo pipefail
RPD_STAGE=kernel
# This is the 6.12 kernel, whatever RPD_KERNEL the caller's run has: its host toolchain
# (bindgen, clang, linux-source-6.12) is what setup.sh installs for RPD_KERNEL=6.12.
export RPD_KERNEL=6.12
. "$(dirname "$0")/lib.sh"

"$(dirname "$0")/setup.sh" >&2
rpd_need "$RPD_KSRC_TARBALL" "run scripts/setup.sh (Debian package linux-source-6.12)"

entry=$(rpd_kernel_entry)
ksrc=$entry/linux
log=$entry/build.log
key=$(rpd_kernel_key)
hit() { [ -f "$entry/.done" ] && [ "$(cat "$entry/key" 2>/dev/null)" = "$key" ]; }
if hit; then
	rpd_say "cached kernel $(cat "$ksrc/include/config/kernel.release") (key $key) in $ksrc" >&2
	echo "$ksrc"
	exit 0
fi

mkdir -p "$entry"
exec 9>"$entry.lock"
flock 9
if hit; then echo "$ksrc"; exit 0; fi

fail() {
	echo "kernel: error: $1 failed; last lines of $log:" >&2
	tail -n 40 "$log" >&2
	exit 1
}
: >"$log"
rpd_say "building key $key in $entry (full log: $log)" >&2
rm -f "$entry/.done"

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown)
# A tree extracted from the same source package is reused and rebuilt incrementally (a new
# config or toolchain rebuilds what it changes). A tree from another package, or one that an
# older recipe patched (kernel-*/patches/), is replaced by a clean extract: the kernel is stock.
if [ -d "$entry/patches" ] || [ ! -f "$ksrc/Makefile" ] || [ "$(cat "$entry/srcver" 2>/dev/null)" != "$srcver" ]; then
	rm -rf "$ksrc" "$entry/src.tmp" "$entry/patches"
	rpd_say "extract $RPD_KSRC_TARBALL" >&2
	mkdir -p "$entry/src.tmp"
	tar -C "$entry/src.tmp" -xf "$RPD_KSRC_TARBALL" >>"$log" 2>&1 || fail extract
	mv "$entry/src.tmp/linux-source-6.12" "$ksrc" && rmdir "$entry/src.tmp"
	echo "$srcver" >"$entry/srcver"
fi

# shellcheck disable=SC2046
mk() { make -C "$ksrc" $(rpd_make_args) "$@" >>"$log" 2>&1; }
frags=("$RPD_ROOT"/kernel/*.config)
# shellcheck disable=SC2207
frags+=($(rpd_flavour_frags))
rpd_say "configure: tinyconfig + ${frags[*]##*/}" >&2
mk tinyconfig || fail tinyconfig
(cd "$ksrc" && ./scripts/kconfig/merge_config.sh -m .config "${frags[@]}") >>"$log" 2>&1 || fail merge_config
mk olddefconfig || fail olddefconfig
for f in "${frags[@]}"; do
	grep -E '^CONFIG_[A-Z0-9_]+=' "$f" | while IFS= read -r line; do
		grep -qxF "$line" "$ksrc/.config" && continue
		why="missing dependency?"
		# CONFIG_RUST needs a working toolchain (rustc, bindgen, libclang): make says which part.
		[ "$line" != CONFIG_RUST=y ] ||
			why=$(make -C "$ksrc" $(rpd_make_args) rustavailable 2>&1 | grep -m1 -i "error\|\*\*\*" || echo "make rustavailable passes")
		echo "kernel: error: '$line' from ${f##*/} did not stick ($why)" >&2
		exit 1
	done
done
mk rustavailable || fail "make rustavailable"

rpd_say "build bzImage + modules with $(nproc) jobs (a full build takes about 10 minutes on 2 cores)" >&2
mk -j"$(nproc)" || fail build
echo "$key" >"$entry/key"
touch "$entry/.done"
rpd_say "built $(cat "$ksrc/include/config/kernel.release"): $ksrc/arch/x86/boot/bzImage" >&2
echo "$ksrc"
