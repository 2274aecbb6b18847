#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Tests of the build scripts, on the host, as a KTAP block framed for scripts/ktap-summary.sh
# (`RPD-SELFTEST: build` ... `RPD-SELFTEST-EXIT: build STATUS`):
#
#   scripts/test-build.sh EXTMOD-TREE     # the tree the module under test was built against
#
# The external-module tree holds no kernel sources and no objects, and the module was built
# against it; each preflight error (scripts/preflight.sh) stops `make` with its one line before
# any compiler runs; `make install` into a staging root makes `modprobe net-pf-18` resolve to
# the module and `make uninstall` undoes it.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
tree=${1:?usage: $0 EXTMOD-TREE}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2207
margs=($(rpd_make_args))
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { # NAME WHY
	n=$((n + 1)) failed=1
	echo "# $1: $2"
	echo "not ok $n $1"
}
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }

# expect_preflight NAME PATTERN KDIR RUSTC BINDGEN [WRAPPER...]: preflight fails with exactly
# one line, which matches PATTERN.
expect_preflight() {
	local name=$1 pattern=$2 kdir=$3 rustc=$4 bindgen=$5 out rc
	shift 5
	out=$("$@" "$RPD_ROOT/scripts/preflight.sh" "$kdir" "$rustc" "$bindgen" 2>&1)
	rc=$?
	if [ "$rc" = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q -- "$pattern" <<<"$out"; then
		echo "# $name: $out"
		ok "$name"
	else
		not_ok "$name" "exit $rc, wanted 1 and one line matching '$pattern', got: $(tr '\n' '|' <<<"$out")"
	fi
}

echo "RPD-SELFTEST: build"
echo "TAP version 13"
echo "1..18"

# The tree is what a headers package ships: no kernel sources beside the headers and the
# build scripts, no object files, and the Rust metadata.
srcdirs=$(cd "$tree" && ls -d kernel net drivers mm fs init block 2>/dev/null | tr '\n' ' ')
objs=$(find "$tree" -name '*.o' | head -n 3 | tr '\n' ' ')
csrc=$(find "$tree" -name '*.c' -not -path "$tree/scripts/*" -not -path "$tree/tools/*" | head -n 3 | tr '\n' ' ')
if [ -z "$srcdirs$objs$csrc" ] && [ -f "$tree/rust/libkernel.rmeta" ] && [ -f "$tree/.config" ]; then
	ok extmod_tree_has_no_sources
else
	not_ok extmod_tree_has_no_sources "source dirs: '$srcdirs', objects: '$objs', C files: '$csrc'"
fi

# The module under test was last built against that tree (`make modules` notes its KDIR).
built=$(cat "$RPD_ROOT/build/module.kdir" 2>/dev/null)
if [ "$built" = "$(cd "$tree" && pwd)" ] && [ -f "$RPD_ROOT/rust_pf_demo.ko" ]; then
	ok module_built_against_extmod_tree
else
	not_ok module_built_against_extmod_tree "rust_pf_demo.ko was last built against '$built', not $tree"
fi

out=$("$RPD_ROOT/scripts/preflight.sh" "$tree" "$RPD_RUSTC" "$RPD_BINDGEN" 2>&1)
rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then ok preflight_passes_on_extmod_tree; else
	not_ok preflight_passes_on_extmod_tree "exit $rc: $out"; fi

# A headers-only tree need not have the kernel's libclang probe (Debian's linux-kbuild lacks
# scripts/rust_is_available_bindgen_libclang.h): the preflight brings its own.
cp -as "$(cd "$tree" && pwd)" "$tmp/noprobe"
rm -f "$tmp/noprobe/scripts/rust_is_available_bindgen_libclang.h"
out=$("$RPD_ROOT/scripts/preflight.sh" "$tmp/noprobe" "$RPD_RUSTC" "$RPD_BINDGEN" 2>&1)
rc=$?
if [ "$rc" = 0 ] && [ -z "$out" ]; then ok preflight_passes_without_kernel_libclang_probe; else
	not_ok preflight_passes_without_kernel_libclang_probe "exit $rc: $out"; fi
rm -rf "$tmp/noprobe"

# Debian's linux-headers as installed (scripts/ is linux-kbuild's, no Rust metadata): the line
# names the command that makes it. In a Debian kernel's build root only.
release=$(cat "$tree/include/config/kernel.release")
if [ -n "${RPD_IN_ROOT:-}" ] && [ -d "/usr/src/linux-headers-$release" ]; then
	expect_preflight preflight_debian_headers_name_the_command "debian-kernel.sh --host $release" \
		"/usr/src/linux-headers-$release" "$RPD_RUSTC" "$RPD_BINDGEN" env
else
	skip preflight_debian_headers_name_the_command "not in a Debian kernel's build root (RPD_KERNEL=debian-X.Y)"
fi

mkdir -p "$tmp/empty" "$tmp/norust/include/config"
expect_preflight preflight_not_a_kernel_tree 'is not a kernel build tree' "$tmp/empty" \
	"$RPD_RUSTC" "$RPD_BINDGEN" env
# A tree whose kernel has no Rust: the files of a build tree, CONFIG_RUST not set.
cp "$tree/Makefile" "$tree/Module.symvers" "$tmp/norust/"
cp "$tree/include/config/auto.conf" "$tmp/norust/include/config/"
sed 's/^CONFIG_RUST=y$/# CONFIG_RUST is not set/' "$tree/.config" >"$tmp/norust/.config"
expect_preflight preflight_kernel_without_rust 'built without Rust' "$tmp/norust" \
	"$RPD_RUSTC" "$RPD_BINDGEN" env
# A Rust kernel's tree without the Rust metadata (a headers package without linux-lib-rust).
cp -r "$tmp/norust" "$tmp/nometa"
cp "$tree/.config" "$tmp/nometa/.config"
expect_preflight preflight_rust_metadata_missing "lacks the kernel's Rust metadata" "$tmp/nometa" \
	"$RPD_RUSTC" "$RPD_BINDGEN" env
# Another rustc than the kernel's (rustup's 1.95, say).
printf '#!/bin/sh\necho "rustc 1.95.0 (59807616e 2026-04-14)"\n' >"$tmp/rustc-1.95"
chmod +x "$tmp/rustc-1.95"
expect_preflight preflight_rustc_mismatch 'but the kernel in KDIR was built with' "$tree" \
	"$tmp/rustc-1.95" "$RPD_BINDGEN" env
expect_preflight preflight_no_bindgen 'cannot run BINDGEN' "$tree" "$RPD_RUSTC" \
	"$tmp/no/bindgen" env
# bindgen without libclang: the real binary, with every libclang library in the usual places
# replaced by /dev/null (bind mounts in a private mount namespace).
hide_libclang='for f in /usr/lib/llvm*/lib/libclang*.so* /usr/lib/*-linux-gnu/libclang*.so*; do
	[ ! -e "$f" ] || mount --bind /dev/null "$f" || exit 3; done; exec "$@"'
if ! command -v mount >/dev/null; then
	skip preflight_no_libclang "no mount(8) here (a build root made before it was included)"
elif unshare -m true 2>/dev/null; then
	expect_preflight preflight_no_libclang 'cannot load libclang' "$tree" "$RPD_RUSTC" \
		"$RPD_BINDGEN" unshare -m sh -c "$hide_libclang" sh
else
	skip preflight_no_libclang "no mount namespaces here (unshare -m)"
fi

# Through make: the preflight line, then make's own trailer, and no compiler ran.
out=$(make -C "$RPD_ROOT" --no-print-directory KDIR="$tmp/empty" "${margs[@]}" modules 2>&1)
own=$(grep -Ev '^make(\[[0-9]+\])?: \*\*\*' <<<"$out")
if [ "$(wc -l <<<"$own")" = 1 ] && grep -q 'is not a kernel build tree' <<<"$own" &&
	! grep -qE 'RUSTC|BINDGEN|error\[E' <<<"$out"; then
	ok make_stops_with_one_line
else
	not_ok make_stops_with_one_line "got: $(tr '\n' '|' <<<"$out")"
fi

# make install into a staging root: the module under extra/, its alias in modules.alias, and
# modprobe resolving net-pf-18 to it (what request_module does); make uninstall takes it out.
stage=$tmp/stage
out=$(make -C "$RPD_ROOT" --no-print-directory -s KDIR="$tree" "${margs[@]}" \
	INSTALL_MOD_PATH="$stage" install 2>&1)
dep=$(modprobe -d "$stage" -S "$release" --show-depends net-pf-18 2>&1)
extra=$(cd "$stage/lib/modules/$release/extra" 2>/dev/null && find . -name '*.ko*' | sort | tr '\n' ' ')
dep5=$(modprobe -d "$stage" -S "$release" --show-depends net-pf-18-proto-0-type-5 2>&1)
# (compressed as the kernel says: Debian's kernels have CONFIG_MODULE_COMPRESS_ALL, .ko.xz)
z=$(sed -n 's/^CONFIG_MODULE_COMPRESS_\(GZIP\|XZ\|ZSTD\)=y$/\1/p' "$tree/.config")
grep -qx 'CONFIG_MODULE_COMPRESS_ALL=y' "$tree/.config" || z=
case "$z" in GZIP) z=.gz ;; XZ) z=.xz ;; ZSTD) z=.zst ;; esac
if grep -q "insmod $stage/lib/modules/$release/extra/rust_pf_demo.ko$z" <<<"$dep" &&
	grep -q "insmod $stage/lib/modules/$release/extra/rust_pf_demo_seqpacket.ko$z" <<<"$dep5" &&
	[ "$extra" = "./rust_pf_demo.ko$z ./rust_pf_demo_seqpacket.ko$z " ]; then
	ok install_staging_resolves_net_pf_18
else
	not_ok install_staging_resolves_net_pf_18 "make: $out; modprobe: $dep; $dep5; extra/: '$extra'"
fi
out=$(make -C "$RPD_ROOT" --no-print-directory -s KDIR="$tree" "${margs[@]}" \
	INSTALL_MOD_PATH="$stage" uninstall 2>&1)
if ! modprobe -d "$stage" -S "$release" --show-depends net-pf-18 >/dev/null 2>&1 &&
	! modprobe -d "$stage" -S "$release" --show-depends net-pf-18-proto-0-type-5 >/dev/null 2>&1 &&
	[ -z "$(find "$stage/lib/modules/$release/extra" -name 'rust_pf_demo*.ko*' 2>/dev/null)" ]; then
	ok uninstall_staging_removes_alias
else
	not_ok uninstall_staging_removes_alias "make: $out; the module or its alias is still there"
fi

# On a machine running Debian's kernel (RUNNING_RELEASE stands for `uname -r` here), `make`
# builds for it: against the tree scripts/debian-kernel.sh --host made when it is there, else
# against the installed headers, where it stops with the preflight's line naming that command.
if [ -n "${RPD_IN_ROOT:-}" ] && [ -d "/usr/src/linux-headers-$release" ]; then
	show='--eval=rpd-kdir: ; @echo $(KDIR)'
	got=$(make -s -C "$RPD_ROOT" --no-print-directory "$show" RUNNING_RELEASE="$release" rpd-kdir 2>&1)
	mv /var/cache/rust_pf_demo/debian/"$release"/build/.done "$tmp/done"
	nodone=$(make -s -C "$RPD_ROOT" --no-print-directory "$show" RUNNING_RELEASE="$release" rpd-kdir 2>&1)
	out=$(make -C "$RPD_ROOT" --no-print-directory RUNNING_RELEASE="$release" modules 2>&1)
	mv "$tmp/done" /var/cache/rust_pf_demo/debian/"$release"/build/.done
	own=$(grep -Ev '^make(\[[0-9]+\])?: \*\*\*' <<<"$out")
	if [ "$got" = "/var/cache/rust_pf_demo/debian/$release/build" ] &&
		[ "$nodone" = "/lib/modules/$release/build" ] && [ "$(wc -l <<<"$own")" = 1 ] &&
		grep -q "debian-kernel.sh --host $release" <<<"$own"; then
		echo "# make_on_debian_kernel: KDIR=$got; without it: $own"
		ok make_on_debian_kernel
	else
		not_ok make_on_debian_kernel "KDIR '$got' and '$nodone', make without the tree: $(tr '\n' '|' <<<"$out")"
	fi
else
	skip make_on_debian_kernel "not in a Debian kernel's build root (RPD_KERNEL=debian-X.Y)"
fi

# dkms (dkms.conf, scripts/dkms-make.sh) in a Debian kernel's build root: `dkms build -k
# RELEASE` against Debian's headers as installed (no Rust metadata there: dkms-make.sh finds the
# tree scripts/debian-kernel.sh --host made, or makes it). dkms is installed in the root on first
# use; the source is a copy of this tree under /usr/src, as `dkms add` wants it.
if [ -n "${RPD_IN_ROOT:-}" ] && [ -d "/usr/src/linux-headers-$release" ]; then
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$RPD_ROOT/dkms.conf")
	dsrc=/usr/src/rust_pf_demo-$ver
	dlog=$tmp/dkms.log
	if ! command -v dkms >/dev/null; then
		# (mmdebstrap left no package lists)
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends dkms; } >"$dlog" 2>&1
	fi
	if ! command -v dkms >/dev/null; then
		skip dkms_build_debian_kernel "cannot install dkms in the build root: $(tail -n 1 "$dlog")"
	else
		dkms remove "rust_pf_demo/$ver" --all >/dev/null 2>&1
		rm -rf "$dsrc"
		mkdir -p "$dsrc"
		tar -C "$RPD_ROOT" --exclude=./build --exclude=./.git --exclude='*.ko' --exclude='*.o' \
			--exclude=./tests/pfdemo/target -cf - . | tar -C "$dsrc" -xf -
		dko=/var/lib/dkms/rust_pf_demo/$ver/$release/x86_64/module
		if dkms add "rust_pf_demo/$ver" >"$dlog" 2>&1 &&
			dkms build "rust_pf_demo/$ver" -k "$release" >>"$dlog" 2>&1 &&
			ls "$dko"/rust_pf_demo.ko* "$dko"/rust_pf_demo_seqpacket.ko* >/dev/null 2>&1 &&
			[ "$(modinfo -F vermagic "$dko"/rust_pf_demo.ko* | cut -d' ' -f1)" = "$release" ]; then
			echo "# dkms_build_debian_kernel: $(ls "$dko" | tr '\n' ' ')"
			ok dkms_build_debian_kernel
		else
			not_ok dkms_build_debian_kernel "$(tail -n 5 "$dlog" | tr '\n' '|') $(tail -n 5 "/var/lib/dkms/rust_pf_demo/$ver/build/make.log" 2>/dev/null | tr '\n' '|')"
		fi
		dkms remove "rust_pf_demo/$ver" --all >/dev/null 2>&1
		rm -rf "$dsrc"
	fi
else
	skip dkms_build_debian_kernel "not in a Debian kernel's build root (RPD_KERNEL=debian-X.Y)"
fi

# The kernel the module was built for has what the trace tests use: function_graph with dynamic
# ftrace and kprobe events (the self-built 6.12 kernels by kernel/flavours/trace.config; Debian's
# as shipped). Without them the trace tests would only SKIP.
missing=$(rpd_tracing_missing "$tree/.config")
if [ -z "$missing" ]; then
	ok kernel_has_tracing
else
	not_ok kernel_has_tracing "not set in $tree/.config: $missing"
fi

# Which config fragments each 6.12 flavour merges (scripts/lib.sh): the default kernel and the
# debug one have the tracing, the bench flavour none; RPD_FLAVOUR=trace, the flavour that had it
# before, is the default 6.12 kernel; an unknown flavour is one line and exit 1.
frags() { env -u RPD_KERNEL RPD_FLAVOUR="$1" bash -c '. "$0"/scripts/lib.sh && echo "$RPD_KERNEL:${RPD_FLAVOUR:-}:$(rpd_flavour_frags | sed "s|$RPD_ROOT/kernel/flavours/||g")"' "$RPD_ROOT" 2>&1; }
got="$(frags '')|$(frags debug)|$(frags bench)|$(frags trace)"
want="debian-7.3::trace.config|6.12:debug:trace.config debug.config|6.12:bench:|6.12::trace.config"
bad=$(frags nosuch)
brc=$?
if [ "$got" = "$want" ] && [ "$brc" = 1 ] && [ "$(wc -l <<<"$bad")" = 1 ] && grep -q 'RPD_FLAVOUR=nosuch: choose' <<<"$bad"; then
	ok kernel_flavours_pick_fragments
else
	not_ok kernel_flavours_pick_fragments "got '$got', wanted '$want'; RPD_FLAVOUR=nosuch: exit $brc, '$(tr '\n' '|' <<<"$bad")'"
fi

echo "RPD-SELFTEST-EXIT: build $failed"
exit "$failed"
