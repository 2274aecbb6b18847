#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the Rust-enabled test kernel and prints its directory (KDIR) on the last line.
#
#   scripts/build-kernel.sh                     # build or reuse the default kernel
#   RPD_FLAVOUR=debug scripts/build-kernel.sh   # a flavour adds kernel/flavours/debug.config
#
# The tree lives in $RUST_PF_DEMO_CACHE (default ~/.cache/rust_pf_demo)/kernel-<flavour>/linux
# with the key it was built for (source package and toolchain versions, config fragments,
# patches, recipe). Same key: reused as is. Other key: the old patches are taken out, the new
# ones put in (files that end up byte-identical keep their mtime), and make rebuilds only
# what changed. No tree yet: the tarball is extracted and built from scratch (~10 min).
# One progress line per stage; the full log is kept in kernel-<flavour>/build.log.
set -euo pipefail
RPD_STAGE=kernel
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

touched() { sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$@" | sort -u; }
swap_patches() {
	local keep=$entry/keep f p
	rm -rf "$keep"
	for f in $(touched "$entry"/patches/*.patch "$RPD_ROOT"/kernel/patches/*.patch); do
		[ ! -e "$ksrc/$f" ] || { mkdir -p "$keep/$(dirname "$f")" && cp -p "$ksrc/$f" "$keep/$f"; }
	done
	for p in $(ls -1r "$entry"/patches/*.patch); do
		patch -d "$ksrc" -R -p1 --no-backup-if-mismatch <"$p" >>"$log" 2>&1 || return 1
	done
	rm -rf "$entry/patches"
	apply_patches || return 1
	# Byte-identical after the swap: give the old mtime back so make skips it.
	(cd "$keep" && find . -type f) | while read -r f; do
		! cmp -s "$keep/$f" "$ksrc/$f" || touch -r "$keep/$f" "$ksrc/$f"
	done
	rm -rf "$keep"
}
apply_patches() {
	mkdir -p "$entry/patches"
	for p in "$RPD_ROOT"/kernel/patches/*.patch; do
		rpd_say "patch $(basename "$p")" >&2
		patch -d "$ksrc" -p1 --no-backup-if-mismatch <"$p" >>"$log" 2>&1 || return 1
		cp "$p" "$entry/patches/"
	done
}

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown)
if [ -d "$entry/patches" ] && [ -f "$ksrc/Makefile" ] && [ "$(cat "$entry/srcver" 2>/dev/null)" = "$srcver" ]; then
	rpd_say "incremental: swap the tree's patches for the repo's" >&2
	swap_patches || { rpd_say "patch swap failed; starting from a clean extract" >&2; rm -rf "$ksrc" "$entry/patches"; }
fi
if [ ! -d "$entry/patches" ]; then
	rm -rf "$ksrc" "$entry/src.tmp"
	rpd_say "extract $RPD_KSRC_TARBALL" >&2
	mkdir -p "$entry/src.tmp"
	tar -C "$entry/src.tmp" -xf "$RPD_KSRC_TARBALL" >>"$log" 2>&1 || fail extract
	mv "$entry/src.tmp/linux-source-6.12" "$ksrc" && rmdir "$entry/src.tmp"
	echo "$srcver" >"$entry/srcver"
	apply_patches || fail "patch"
fi

# shellcheck disable=SC2046
mk() { make -C "$ksrc" $(rpd_make_args) "$@" >>"$log" 2>&1; }
frags=("$RPD_ROOT"/kernel/*.config)
[ -z "${RPD_FLAVOUR:-}" ] || frags+=("$RPD_ROOT/kernel/flavours/$RPD_FLAVOUR.config")
rpd_say "configure: tinyconfig + ${frags[*]##*/}" >&2
mk tinyconfig || fail tinyconfig
(cd "$ksrc" && ./scripts/kconfig/merge_config.sh -m .config "${frags[@]}") >>"$log" 2>&1 || fail merge_config
mk olddefconfig || fail olddefconfig
for f in "${frags[@]}"; do
	grep -E '^CONFIG_[A-Z0-9_]+=' "$f" | while IFS= read -r line; do
		grep -qxF "$line" "$ksrc/.config" ||
			{ echo "kernel: error: '$line' from ${f##*/} did not stick (missing dependency?)" >&2; exit 1; }
	done
done
mk rustavailable || fail "make rustavailable"

rpd_say "build bzImage + modules with $(nproc) jobs (a full build takes about 10 minutes on 2 cores)" >&2
mk -j"$(nproc)" || fail build
echo "$key" >"$entry/key"
touch "$entry/.done"
rpd_say "built $(cat "$ksrc/include/config/kernel.release"): $ksrc/arch/x86/boot/bzImage" >&2
echo "$ksrc"
