#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Makes the Rust metadata that Debian's linux-headers packages do not ship, for a Debian kernel
# built with CONFIG_RUST=y (sid's 7.2, trixie-backports' 7.3; Debian's 6.12 kernels have no Rust):
#
#   scripts/debian-kernel.sh 7.2|7.3      a cache entry for the newest kernel of that series the
#                                         archive serves (the test kernels of RPD_KERNEL=debian-X.Y)
#   scripts/debian-kernel.sh --host [REL] on a Debian machine running that kernel (default:
#                                         uname -r) with its linux-headers installed: the same
#                                         with the system's own toolchain, no chroot (as root)
#
# --host (the stages, each logged with its time; the full log beside the tree):
#   1. the toolchain must be the one the kernel was built with, as its headers' .config says:
#      CONFIG_RUSTC_VERSION_TEXT, CONFIG_BINDGEN_VERSION_TEXT, CONFIG_CC_VERSION_TEXT; rust-src,
#      libclang. Missing build packages are installed (apt-get); a wrong version is one error line.
#   2. Debian's linux-source-X.Y with the headers' .config, `make olddefconfig` (must leave the
#      .config byte-identical), `make prepare`: host tools and every Rust crate of the kernel.
#   3. the check that the metadata is the running kernel's: the regenerated Rust exports
#      (rust/exports_*_generated.h) equal the Rust symbols (`_R...`, `rust_helper_*`) that the
#      headers' Module.symvers lists for vmlinux, 0 difference, else one line naming what differs.
#      (A v0-mangled symbol's crate hash is rustc's StableCrateId: crate name and rustc version,
#      not paths: the same rustc, source and .config give the same symbols.)
#   4. the external-module tree, /var/cache/rust_pf_demo/debian/REL/build: a copy of the headers
#      with kbuild's scripts/ (plus the generated scripts/target.json) and the crates' rust/*.rmeta
#      and proc-macro libraries; the kernel sources are then removed. samples/rust/rust_minimal.rs
#      must build against it. `make KDIR=` that tree (the Makefile finds it by itself).
#
# X.Y (as root; the tested kernels of `make check RPD_KERNEL=debian-X.Y`): asks the archive with
# a private apt configuration (the host's sources and package state are not touched) for the
# newest linux-headers-X.Y.*-amd64 (7.2: sid; 7.3: trixie-backports), reads its .config, makes
# a build root of the kernel's suite with mmdebstrap holding the exact rustc, rust-src, bindgen
# and gcc versions that .config names, runs --host inside it, and unpacks the signed vmlinuz of
# linux-binary-REL (not installed). Cached by kernel release:
#   $RPD_CACHE/debian-X.Y/REL/{info,config,vmlinuz,root/,log,ready}, debian-X.Y/tested = REL
# A release that vanished from the archive is only a cache miss. Without the archive, the newest
# ready entry is used.
#
# Exit status: 0 ready (prints the entry or tree directory on the last line); 77 (skip): the
# archive no longer serves the exact toolchain the newest kernel was built with and no older
# kernel of the series is cached (one line says which; with one cached, that one is tested and
# the line says so); 1 any other error (one line).
set -euo pipefail
RPD_STAGE=debian
. "$(dirname "$0")/lib.sh"

RPD_DEBIAN_MIRROR=${RPD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
RPD_DEBIAN_HOSTDIR=${RPD_DEBIAN_HOSTDIR:-/var/cache/rust_pf_demo/debian}
SKIP=77

# Per-stage timing: stage NAME starts one, the next stage (or stage_end) logs its time.
stage_name= stage_t0=
stage() {
	stage_end
	stage_name=$1 stage_t0=$(date +%s)
	rpd_say "$1" >&2
}
stage_end() {
	[ -n "$stage_name" ] || return 0
	local t=$(($(date +%s) - stage_t0))
	rpd_say "  $stage_name: ${t}s" >&2
	[ -z "${timings:-}" ] || echo "$stage_name: ${t}s" >>"$timings"
	stage_name=
}

# cfg FILE OPTION: a string option's value in a .config ("" when absent).
cfg() { sed -n "s/^$2=\"\\(.*\\)\"\$/\\1/p" "$1"; }

# run LOG CMD...: CMD's output to LOG; on failure its last lines and one error line.
run() {
	local log=$1
	shift
	"$@" >>"$log" 2>&1 || {
		tail -n 30 "$log" >&2
		rpd_die "${stage_name:-command} failed: $* (log: $log)"
	}
}

# ---------------------------------------------------------------------------------------------
# --host: the metadata for REL with this system's toolchain (in a build root, or on a Debian host)
host_mode() {
	local rel=${1:-$(uname -r)} hdr out tree src log series cc want have f v missing=() pkgs
	hdr=/usr/src/linux-headers-$rel
	[ -f "$hdr/.config" ] || hdr=$(readlink -f "/lib/modules/$rel/build" 2>/dev/null || true)
	[ -n "$hdr" ] && [ -f "$hdr/.config" ] ||
		rpd_die "no headers of $rel (/usr/src/linux-headers-$rel): apt-get install linux-headers-$rel"
	grep -qx 'CONFIG_RUST=y' "$hdr/.config" ||
		rpd_die "Debian's $rel was built without Rust (CONFIG_RUST is not set; Debian's 6.12 kernels are not Rust-enabled, its 7.x kernels are): it cannot load Rust modules"
	out=$RPD_DEBIAN_HOSTDIR/$rel
	tree=$out/build src=$out/src log=$out/log
	if [ -f "$tree/.done" ]; then
		echo "$tree"
		return 0
	fi
	[ "$(id -u)" = 0 ] || rpd_die "run it as root (it writes $out and may install build packages): sudo $0 --host $rel"
	mkdir -p "$out"
	: >>"$log"
	timings=$out/timings
	[ -f "$src/.rpd-prepared" ] || : >"$timings"
	series=$(sed -n 's/^\([0-9]*\.[0-9]*\)\..*/\1/p' <<<"$rel")

	stage "toolchain of $rel ($hdr/.config)"
	cc=$(cfg "$hdr/.config" CONFIG_CC_VERSION_TEXT)
	cc=${cc%% *}
	# The packages the build needs (the headers' own dependencies bring the kernel's gcc).
	pkgs="make bc flex bison libelf-dev libssl-dev openssl rustc rust-src bindgen libclang-dev
		dwarves python3 libc6-dev kmod cpio xz-utils linux-source-$series"
	for f in $pkgs; do
		dpkg-query -W -f='${Status}\n' "$f" 2>/dev/null | grep -q '^install ok installed' || missing+=("$f")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		rpd_say "installing ${missing[*]}" >&2
		run "$log" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			-o DPkg::Lock::Timeout=300 "${missing[@]}"
	fi
	command -v "$cc" >/dev/null || rpd_die "the kernel was built with $cc, which is not installed (apt-get install ${cc#x86_64-linux-gnu-})"
	for f in "CONFIG_RUSTC_VERSION_TEXT rustc --version" "CONFIG_BINDGEN_VERSION_TEXT bindgen --version" \
		"CONFIG_CC_VERSION_TEXT $cc --version"; do
		set -- $f
		want=$(cfg "$hdr/.config" "$1")
		have=$("$2" "$3" 2>/dev/null | head -n 1)
		[ -z "$want" ] || [ "$have" = "$want" ] ||
			rpd_die "$2 is '$have' but $rel was built with '$want' ($1): install that one (its crate metadata loads in no other compiler)"
	done
	v=$(rustc --print sysroot)/lib/rustlib/src/rust/library/core/src/lib.rs
	[ -f "$v" ] || rpd_die "rustc's rust-src is missing ($v): apt-get install rust-src"

	local margs=(CC="$cc" HOSTCC="$cc" KERNELRELEASE="$rel")
	# A run that stopped after `make prepare` (at the check, say) left its tree: kept.
	if [ ! -f "$src/.rpd-prepared" ] || ! cmp -s "$hdr/.config" "$src/.config"; then
		stage "unpack Debian's linux-source-$series"
		rm -rf "$src"
		mkdir -p "$src"
		# Not unpacked: what `make prepare` on x86 never reads (the other architectures' sources
		# but their Kconfig files, the drivers', file systems', networking's and sound's C
		# files, Documentation, selftests): each file costs on unpacking and on removing. The
		# olddefconfig and exports checks below would show anything missing.
		# Top-level directories only: 7.3's rust/helpers/net/genetlink.c, say, is built by
		# make prepare (a '*/net/*.c' pattern left it out: 'fatal error: net/genetlink.c').
		local a x=() top=linux-source-$series
		for a in alpha arc arm arm64 csky hexagon loongarch m68k microblaze mips nios2 openrisc \
			parisc powerpc riscv s390 sh sparc um xtensa; do
			x+=(--exclude="*/arch/$a/*.[chS]" --exclude="*/arch/$a/*.dts*" --exclude="*/arch/$a/*.tbl")
		done
		run "$log" tar -xf "/usr/src/linux-source-$series.tar.xz" -C "$src" --strip-components=1 \
			"${x[@]}" --exclude='*/Documentation/*.rst' --exclude='*/Documentation/*.yaml' \
			--exclude='*/Documentation/*.txt' --exclude='*/tools/testing' \
			--exclude="$top/drivers/*.c" --exclude="$top/fs/*.c" --exclude="$top/net/*.c" \
			--exclude="$top/sound/*.c"

		stage "olddefconfig with the headers' .config"
		cp "$hdr/.config" "$src/.config"
		run "$log" make -C "$src" "${margs[@]}" olddefconfig
		cmp -s "$hdr/.config" "$src/.config" ||
			rpd_die "olddefconfig changed Debian's .config ($(diff "$hdr/.config" "$src/.config" | grep -m1 '^[<>]')): not the toolchain or source the kernel was built with"
		echo "olddefconfig: .config byte-identical to the headers'" >>"$timings"

		stage "make prepare (host tools and the kernel's Rust crates; a few minutes)"
		run "$log" make -C "$src" "${margs[@]}" -j"$(nproc)" prepare
		touch "$src/.rpd-prepared"
	else
		rpd_say "linux-source-$series prepared by the last run: kept ($src)" >&2
	fi

	stage "check: regenerated Rust exports = Module.symvers' Rust exports"
	local regen all rust only_r only_d n
	regen=$(mktemp) all=$(mktemp) rust=$(mktemp)
	ls "$src"/rust/exports_*_generated.h >/dev/null 2>&1 ||
		rpd_die "make prepare generated no rust/exports_*_generated.h"
	sed -n 's/^EXPORT_SYMBOL_RUST_GPL(\(.*\));$/\1/p' "$src"/rust/exports_*_generated.h | sort -u >"$regen"
	awk -F'\t' '$3 == "vmlinux" {print $2}' "$hdr/Module.symvers" | sort -u >"$all"
	# The Rust symbols of Debian's vmlinux: v0-mangled (_R...) and the C helpers exported for
	# Rust (rust_helper_*); a few regenerated exports are plain C names (rust_fmt_argument, ...).
	grep -E '^(_R|rust_helper_)' "$all" >"$rust" || true
	only_r=$(comm -23 "$regen" "$all") only_d=$(comm -13 "$regen" "$rust")
	if [ -n "$only_r$only_d" ]; then
		rpd_die "the regenerated Rust exports differ from $rel's Module.symvers: $(grep -c . <<<"$only_r") regenerated but not exported by Debian's vmlinux (first: ${only_r%%$'\n'*}), $(grep -c . <<<"$only_d") Rust exports of Debian's vmlinux not regenerated (first: ${only_d%%$'\n'*}): not the kernel's Rust ABI"
	fi
	n="$(wc -l <"$regen") Rust exports regenerated, all in Module.symvers, which has no other ($(grep -c '^_R' "$regen") _R..., $(grep -c '^rust_helper_' "$regen" || true) rust_helper_*, $(grep -cvE '^(_R|rust_helper_)' "$regen" || true) other)"
	rpd_say "  $n: 0 difference" >&2
	echo "rust-exports: $n: 0 difference" >>"$timings"
	rm -f "$regen" "$all" "$rust"

	stage "assemble the external-module tree $tree"
	local kbuild common
	kbuild=$(readlink -f "$hdr/scripts")
	kbuild=${kbuild%/scripts}
	rm -rf "$tree" "$tree.tmp"
	mkdir -p "$tree.tmp"
	cp -a "$hdr/." "$tree.tmp/"
	rm -f "$tree.tmp/scripts" "$tree.tmp/tools"
	cp -a "$kbuild/scripts" "$tree.tmp/scripts"
	ln -s "$kbuild/tools" "$tree.tmp/tools"
	cp "$src/scripts/target.json" "$tree.tmp/scripts/"
	mkdir -p "$tree.tmp/rust"
	cp "$src"/rust/*.rmeta "$src"/rust/lib*.so "$tree.tmp/rust/"
	[ ! -f "$src/.rustfmt.toml" ] || cp "$src/.rustfmt.toml" "$tree.tmp/"
	common=$(sed -n 's/^include \(.*\)\/Makefile$/\1/p' "$hdr/Makefile")
	[ -n "$common" ] || rpd_die "$hdr/Makefile includes no common headers' Makefile"
	printf 'KBUILD_OUTPUT=%s\ninclude %s/Makefile\n' "$tree" "$common" >"$tree.tmp/Makefile"
	mv "$tree.tmp" "$tree"

	stage "sanity: samples/rust/rust_minimal.rs builds against it"
	local s=$out/sanity
	rm -rf "$s"
	mkdir -p "$s"
	cp "$src/samples/rust/rust_minimal.rs" "$s/"
	echo 'obj-m := rust_minimal.o' >"$s/Kbuild"
	run "$log" make -C "$tree" M="$s" modules
	[ -f "$s/rust_minimal.ko" ] || rpd_die "rust_minimal.ko was not built against $tree"
	v=$(modinfo -F vermagic "$s/rust_minimal.ko")
	[ "${v%% *}" = "$rel" ] || rpd_die "rust_minimal.ko has vermagic '$v', not $rel"
	rm -rf "$s"

	# The sources are no longer needed; deleting their tens of thousands of files took 1.5 to 5
	# minutes on this project's disks: it goes on in the background while the module is built
	# and tested (a leftover is removed by the next run).
	rm -rf "$src.old"
	mv "$src" "$src.old"
	nohup rm -rf "$src.old" >/dev/null 2>&1 &
	{
		echo "release: $rel"
		echo "headers: $hdr"
		dpkg-query -W -f='package: ${Package} ${Version}\n' "linux-headers-$rel" "linux-source-$series" \
			rustc rust-src bindgen libclang-dev "${cc#x86_64-linux-gnu-}" 2>/dev/null || true
		echo "rustc: $(rustc --version)"
		echo "bindgen: $(bindgen --version 2>/dev/null | head -n 1)"
		echo "cc: $("$cc" --version | head -n 1)"
		cat "$timings"
	} >"$out/info"
	touch "$tree/.done"
	rpd_say "external-module tree for $rel: $tree ($(du -sh "$tree" | cut -f1))" >&2
	echo "$tree"
}

# ---------------------------------------------------------------------------------------------
# X.Y: the cached build root and image of the newest kernel of the series
series=${1:-}
if [ "$series" = --host ]; then
	shift
	host_mode "$@"
	exit 0
fi
case "$series" in
7.2) suite=sid sources=("deb $RPD_DEBIAN_MIRROR sid main") ;;
7.3) suite=trixie sources=("deb $RPD_DEBIAN_MIRROR trixie main" "deb $RPD_DEBIAN_MIRROR trixie-backports main") ;;
*) rpd_die "usage: $0 7.2|7.3 (sid's 7.2, trixie-backports' 7.3), or $0 --host [RELEASE]" ;;
esac
[ "$(id -u)" = 0 ] || rpd_die "the build root needs root (mmdebstrap --mode=root, chroot)"
dir=$RPD_CACHE/debian-$series
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9

# The private apt configuration: its own sources, lists and cache under the cache directory.
apt=$RPD_CACHE/debian-apt/$suite
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/deb"
printf '%s\n' "${sources[@]}" >"$apt/sources.list"
aptopts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Debug::NoLocking=1
	-o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root)

newest_ready() {
	# shellcheck disable=SC2012
	ls -d "$dir"/*/ready 2>/dev/null | sed 's|/ready$||' | sort -V | tail -n 1
}

# The archive's package lists are fetched again when older than RPD_DEBIAN_REFRESH_HOURS (default
# 24; 0: every time), and before making a new entry: a kernel or toolchain the lists still name
# may have vanished since.
update() {
	apt-get "${aptopts[@]}" update >"$apt/update.log" 2>&1 && touch "$apt/updated" && return 0
	entry=$(newest_ready)
	[ -n "$entry" ] || rpd_die "cannot reach the archive ($RPD_DEBIAN_MIRROR, log $apt/update.log) and no $series kernel is cached"
	rpd_say "cannot reach the archive: using the cached $(basename "$entry")" >&2
	basename "$entry" >"$dir/tested"
	echo "$entry"
	exit 0
}
newest() {
	apt-cache "${aptopts[@]}" pkgnames "linux-headers-$series." |
		sed -n "s/^linux-headers-\\($series\\.[0-9]*+deb[0-9]*-amd64\\)\$/\\1/p" | sort -V | tail -n 1
}
stage "ask the archive ($suite) for the newest $series kernel"
fresh=
if [ -z "$(find "$apt/updated" -mmin -$((${RPD_DEBIAN_REFRESH_HOURS:-24} * 60)) 2>/dev/null)" ]; then
	update
	fresh=y
fi
rel=$(newest)
if [ -z "$fresh" ] && [ ! -f "$dir/$rel/ready" ]; then
	update
	rel=$(newest)
fi
[ -n "$rel" ] || rpd_die "the archive ($suite) serves no linux-headers-$series.*-amd64"
entry=$dir/$rel
if [ -f "$entry/ready" ]; then
	stage_end
	rpd_say "Debian's $rel is ready: $entry" >&2
	echo "$rel" >"$dir/tested"
	echo "$entry"
	exit 0
fi
rpd_say "  newest: $rel" >&2
# A build root that a stopped run completed is kept (its packages are pinned by the .config).
mkdir -p "$entry"
log=$entry/log timings=$entry/timings
: >>"$log"
[ -f "$entry/root/.rpd-root" ] || : >"$timings"

stage "read the toolchain from linux-headers-$rel's .config"
rm -f "$apt/deb"/*.deb
(cd "$apt/deb" && apt-get "${aptopts[@]}" download "linux-headers-$rel" "linux-binary-$rel") >>"$log" 2>&1 ||
	rpd_die "cannot download linux-headers-$rel / linux-binary-$rel (log: $log)"
dpkg-deb --fsys-tarfile "$apt/deb"/linux-headers-"$rel"_*.deb |
	tar -xO "./usr/src/linux-headers-$rel/.config" >"$entry/config"
grep -qx 'CONFIG_RUST=y' "$entry/config" || rpd_die "Debian's $rel is built without Rust"
rustc_text=$(cfg "$entry/config" CONFIG_RUSTC_VERSION_TEXT)
bindgen_text=$(cfg "$entry/config" CONFIG_BINDGEN_VERSION_TEXT)
cc_text=$(cfg "$entry/config" CONFIG_CC_VERSION_TEXT)
# rustc 1.97.1 (...) -> rustc and rust-src 1.97.1+...; bindgen 0.72.1 -> bindgen 0.72.1-...;
# x86_64-linux-gnu-gcc-16 (Debian 16.2.0-4) 16.2.0 -> gcc-16 16.2.0-4 exactly.
rustc_up=$(sed -n 's/^rustc \([0-9.]*\) .*/\1/p' <<<"$rustc_text")
bindgen_up=$(sed -n 's/^bindgen \([0-9.]*\)$/\1/p' <<<"$bindgen_text")
gcc_pkg=$(sed -n 's/^x86_64-linux-gnu-\(gcc-[0-9]*\) .*/\1/p' <<<"$cc_text")
gcc_ver=$(sed -n 's/.*(Debian \([^)]*\)).*/\1/p' <<<"$cc_text")
[ -n "$rustc_up" ] && [ -n "$bindgen_up" ] && [ -n "$gcc_pkg" ] && [ -n "$gcc_ver" ] ||
	rpd_die "cannot read the toolchain from $rel's .config ('$rustc_text', '$bindgen_text', '$cc_text')"
# version PKG UPSTREAM: the newest version of PKG the archive serves whose upstream part is
# UPSTREAM (1.97.1 matches 1.97.1+dfsg1-1 and 1.97.1-2, not 1.97.10).
version() {
	apt-cache "${aptopts[@]}" madison "$1" | awk -F' *[|] *' '{print $2}' |
		{ grep -E "^([0-9]+:)?$(sed 's/\./\\./g' <<<"$2")([-+~]|$)" || true; } | sort -V | tail -n 1
}
rustc_ver=$(version rustc "$rustc_up")
src_ver=$(version rust-src "$rustc_up")
bindgen_ver=$(version bindgen "$bindgen_up")
have_gcc=$(apt-cache "${aptopts[@]}" madison "$gcc_pkg" | awk -F' *[|] *' '{print $2}' | grep -xF "$gcc_ver" || true)
for p in "rustc:$rustc_ver:$rustc_text" "rust-src:$src_ver:$rustc_text" "bindgen:$bindgen_ver:$bindgen_text" \
	"$gcc_pkg:$have_gcc:$cc_text"; do
	IFS=: read -r name ver text <<<"$p"
	if [ -z "$ver" ]; then
		why="Debian's $rel was built with '$text', which $suite no longer serves ($name $(apt-cache "${aptopts[@]}" madison "$name" | awk -F' *[|] *' '{print $2}' | paste -sd' ')): its Rust metadata cannot be made"
		rm -rf "$entry"
		old=$(newest_ready)
		if [ -n "$old" ]; then
			# An older kernel of the series made earlier is still a real Debian kernel: tested instead.
			rpd_say "$why; testing the cached $(basename "$old") instead" >&2
			basename "$old" >"$dir/tested"
			echo "$old"
			exit 0
		fi
		echo "debian-$series: SKIP: $why" >&2
		exit $SKIP
	fi
done
rpd_say "  rustc $rustc_ver, rust-src $src_ver, bindgen $bindgen_ver, $gcc_pkg $gcc_ver" >&2

stage "unpack linux-binary-$rel's signed vmlinuz (not installed)"
dpkg-deb --fsys-tarfile "$apt/deb"/linux-binary-"$rel"_*.deb |
	tar -xO "./usr/lib/modules/$rel/vmlinuz" >"$entry/vmlinuz"
[ -s "$entry/vmlinuz" ] || rpd_die "linux-binary-$rel holds no /usr/lib/modules/$rel/vmlinuz"

include="$gcc_pkg=$gcc_ver,rustc=$rustc_ver,rust-src=$src_ver,bindgen=$bindgen_ver,libclang-dev"
include+=",make,bc,flex,bison,libelf-dev,libssl-dev,openssl,dwarves,python3,libc6-dev,kmod,cpio,xz-utils"
# (mount, util-linux: the build-script tests' private mounts; not essential since trixie)
include+=",mount,util-linux"
include+=",linux-headers-$rel,linux-source-$series"
if [ "$(cat "$entry/root/.rpd-root" 2>/dev/null)" != "$include" ]; then
	stage "mmdebstrap the build root ($suite)"
	if ! command -v mmdebstrap >/dev/null; then
		rpd_say "installing mmdebstrap" >&2
		run "$log" env DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 mmdebstrap
	fi
	rm -rf "$entry/root"
	run "$log" mmdebstrap --variant=apt --mode=root --aptopt='Acquire::Check-Valid-Until "false"' \
		--include="$include" "$suite" "$entry/root" "${sources[@]}"
	echo "$include" >"$entry/root/.rpd-root"
else
	rpd_say "the build root of the last run is complete: kept" >&2
fi

stage "Rust metadata in the build root (scripts/debian-kernel.sh --host $rel)"
rpd_in_root "$entry" env RPD_START="$RPD_START" "$RPD_ROOT/scripts/debian-kernel.sh" --host "$rel" 2>&1 | tee -a "$log" >&2
[ "${PIPESTATUS[0]}" = 0 ] || rpd_die "making the Rust metadata in the build root failed (log: $entry/root$RPD_DEBIAN_HOSTDIR/$rel/log)"
stage_end
hinfo=$entry/root$RPD_DEBIAN_HOSTDIR/$rel/info
{
	echo "release: $rel"
	echo "suite: ${sources[*]}"
	echo "tested: $(date -u +%Y-%m-%dT%H:%MZ)"
	dpkg-deb -f "$apt/deb"/linux-binary-"$rel"_*.deb Package Version | paste -sd' ' | sed 's/^/image: /'
	grep -v '^release:' "$hinfo"
	cat "$timings"
} >"$entry/info"
touch "$entry/ready"
echo "$rel" >"$dir/tested"
rpd_say "Debian's $rel is ready: $entry ($(du -sh "$entry" | cut -f1))" >&2
echo "$entry"
