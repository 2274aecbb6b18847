# SPDX-License-Identifier: GPL-2.0
# Shared settings for the rust_pf_demo scripts. Source it; do not run it.

RPD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RPD_CACHE=${RUST_PF_DEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust_pf_demo}
RPD_TOOLS=$RPD_CACHE/tools
RPD_BINDGEN=$RPD_TOOLS/bin/bindgen
RPD_BINDGEN_VERSION=0.73.0
# In a Debian kernel's build root (rpd_in_root sets RPD_IN_ROOT): the root's bindgen, the one the
# kernel was built with.
[ -z "${RPD_IN_ROOT:-}" ] || RPD_BINDGEN=/usr/bin/bindgen
RPD_KSRC_TARBALL=/usr/src/linux-source-6.12.tar.xz
RPD_LLVM=-19
RPD_RUSTC=/usr/bin/rustc
# Debian's cargo-web, matching rustc-web: builds bindgen-cli and the test program. A rustup
# toolchain in PATH is neither needed nor used.
RPD_CARGO=/usr/bin/cargo
# Bump when scripts/build-kernel.sh changes how the kernel is built (not its messages).
RPD_KERNEL_RECIPE=2
RPD_START=${RPD_START:-$(date +%s)}
mkdir -p "$RPD_ROOT/build"

# Debian packages the project needs (see README.md): the VM and the test program, then what the
# self-built 6.12 kernel adds (a Debian kernel's build root brings its own toolchain: mmdebstrap).
RPD_PACKAGES="rustc-web cargo-web qemu-system-x86 busybox-static kmod cpio rust-web-clippy rustfmt-web"
RPD_PACKAGES_6_12="rust-web-src linux-source-6.12 clang-19 lld-19 llvm-19 libclang-19-dev flex bison bc
libelf-dev libssl-dev"
RPD_PACKAGES_DEBIAN="mmdebstrap"

rpd_say() { printf '[%s +%ss] %s\n' "${RPD_STAGE:-rust_pf_demo}" "$(( $(date +%s) - RPD_START ))" "$*"; }
rpd_die() { printf '%s: error: %s\n' "${RPD_STAGE:-rust_pf_demo}" "$*" >&2; exit 1; }

# rpd_need CMD HOW: one clear line when a tool is missing.
rpd_need() {
	command -v "$1" >/dev/null 2>&1 || [ -e "$1" ] ||
		rpd_die "missing $1: $2"
}

# Everything that decides what the kernel build produces. A change to any of it
# is a new cache entry; an unchanged key reuses the cached build.
rpd_kernel_key() {
	{
		echo "flavour=${RPD_FLAVOUR:-default}"
		dpkg-query -W -f='${Package} ${Version}\n' linux-source-6.12 2>/dev/null || ls -l "$RPD_KSRC_TARBALL"
		"$RPD_RUSTC" --version
		"clang$RPD_LLVM" --version | head -n1
		"$RPD_BINDGEN" --version 2>/dev/null
		cat "$RPD_ROOT"/kernel/*.config
		# shellcheck disable=SC2046
		cat $(rpd_flavour_frags) </dev/null
		echo "recipe=$RPD_KERNEL_RECIPE"
	} | sha256sum | cut -c1-16
}

# The config fragments a flavour adds after kernel/*.config, in merge order. Every 6.12 kernel
# but the bench flavour has the kernel's tracing (kernel/flavours/trace.config), as a distro
# kernel has: the trace order tests and `make trace` run on the default kernel, and under KASAN,
# lockdep and kmemleak on the debug one (make check-debug). The bench flavour is the kernel
# without it (a 5-byte fentry NOP in every C function), on which `make bench` measured the
# committed 6.12 figures (results/icount-6.12.*); scripts/bench.sh picks it for 6.12.
rpd_flavour_frags() {
	case "${RPD_FLAVOUR:-}" in
	"") echo "$RPD_ROOT/kernel/flavours/trace.config" ;;
	debug) echo "$RPD_ROOT/kernel/flavours/trace.config $RPD_ROOT/kernel/flavours/debug.config" ;;
	esac
}

# rpd_tracing_missing CONFIG: the options the trace tests and `make trace` need (function_graph
# with dynamic ftrace, kprobe events) that CONFIG does not set, space-separated; empty when all
# are there.
rpd_tracing_missing() {
	local opt missing=
	for opt in CONFIG_FUNCTION_GRAPH_TRACER CONFIG_DYNAMIC_FTRACE CONFIG_KPROBE_EVENTS; do
		grep -qx "$opt=y" "$1" || missing+=" $opt"
	done
	echo "${missing# }"
}

# One kernel tree per flavour, rebuilt in place (incrementally) when the key changes.
rpd_kernel_entry() { echo "$RPD_CACHE/kernel-${RPD_FLAVOUR:-default}"; }

# Arguments every kernel-tree make (kernel and out-of-tree module) gets: the
# Debian 1.96 toolchain, which has rust-src, and never rustup's shadows in PATH.
rpd_make_args() {
	# In a Debian kernel's build root (rpd_in_root): that kernel's own rustc, bindgen and gcc
	# (its tree's .kernelvariables name the gcc).
	if [ -n "${RPD_IN_ROOT:-}" ]; then
		echo "RUSTC=$RPD_RUSTC BINDGEN=$RPD_BINDGEN"
		return
	fi
	echo "LLVM=$RPD_LLVM RUSTC=$RPD_RUSTC HOSTRUSTC=$RPD_RUSTC RUSTDOC=/usr/bin/rustdoc" \
		"RUSTFMT=/usr/bin/rustfmt CLIPPY_DRIVER=/usr/bin/clippy-driver BINDGEN=$RPD_BINDGEN"
}

# The kernel the VM boots and the module is built for: RPD_KERNEL (make check RPD_KERNEL=...).
#   debian-7.3      (the default) trixie-backports' 7.3 kernel, debian-7.2 Debian sid's 7.2
#   debian-7.2      kernel: Debian's signed vmlinuz booted untouched, the module built in the
#                   kernel's build root (the kernel's own rustc, bindgen and gcc) against the Rust
#                   metadata made from Debian's linux-source (scripts/debian-kernel.sh, cached by
#                   kernel release). No kernel is compiled. 7.3 is the default: it is built with
#                   trixie's own rustc 1.85.1, which the archive keeps serving, where sid's rustc
#                   can move ahead of sid's kernel (the 7.2 target is then skipped).
#   6.12            the project's own 6.12 LTS kernel, built here; the default when RPD_FLAVOUR
#                   (debug, bench: flavours of that kernel) is set
# RPD_FLAVOUR=trace (make check-trace), the flavour that had the tracing before the default
# 6.12 kernel got it, is that default kernel.
if [ "${RPD_FLAVOUR:-}" = trace ]; then
	RPD_KERNEL=${RPD_KERNEL:-6.12}
	unset RPD_FLAVOUR
fi
case "${RPD_FLAVOUR:-}" in
"" | debug | bench) ;;
*) rpd_die "RPD_FLAVOUR=$RPD_FLAVOUR: choose debug or bench (none: the default 6.12 kernel, which has the tracing)" ;;
esac
if [ -n "${RPD_FLAVOUR:-}" ]; then
	RPD_KERNEL=${RPD_KERNEL:-6.12}
else
	RPD_KERNEL=${RPD_KERNEL:-debian-7.3}
fi
case "$RPD_KERNEL" in
6.12 | debian-7.2 | debian-7.3) ;;
*) rpd_die "RPD_KERNEL=$RPD_KERNEL: choose debian-7.3 (the default), debian-7.2 or 6.12" ;;
esac
rpd_is_debian() { [ "${RPD_KERNEL#debian-}" != "$RPD_KERNEL" ]; }

# rpd_debian_entry [debian-X.Y]: the cached Debian kernel of that series (default RPD_KERNEL's),
# without asking the archive: $RPD_CACHE/debian-X.Y/<release>/ (info, config, vmlinuz, root/ =
# the build root holding the external-module tree). The release last recorded as tested
# (debian-X.Y/tested), else the newest ready one; status 1 when none is cached.
rpd_debian_entry() {
	local dir=$RPD_CACHE/${1:-$RPD_KERNEL} rel
	rel=$(cat "$dir/tested" 2>/dev/null || true)
	if [ -z "$rel" ] || [ ! -f "$dir/$rel/ready" ]; then
		# shellcheck disable=SC2012
		rel=$(ls -d "$dir"/*/ready 2>/dev/null | sed 's|/ready$||; s|.*/||' | sort -V | tail -n 1)
	fi
	[ -n "$rel" ] || return 1
	echo "$dir/$rel"
}

# rpd_debian_kdir ENTRY: the external-module tree inside the build root (a path in the root).
rpd_debian_kdir() { echo "/var/cache/rust_pf_demo/debian/$(basename "$1")/build"; }

# rpd_in_root ENTRY CMD...: runs CMD in ENTRY's build root (its own rustc, bindgen, gcc) in the
# project directory, which is bind-mounted at the same path; /proc is mounted (objtool reads it).
# A private mount namespace: nothing stays mounted, the root is not changed.
rpd_in_root() {
	local root=$1/root
	shift
	[ -d "$root$RPD_ROOT" ] || mkdir -p "$root$RPD_ROOT"
	unshare -m --propagation private sh -euc '
		root=$1 dir=$2
		shift 2
		# the root a mount point of its own: unshare -m works in it (the preflight test)
		mount --bind "$root" "$root"
		mount --bind "$dir" "$root$dir"
		mount -t proc proc "$root/proc"
		exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			LANG=C.UTF-8 RPD_IN_ROOT=1 sh -c "cd \"\$0\" && exec \"\$@\"" "$dir" "$@"' \
		rpd-root "$root" "$RPD_ROOT" "$@"
}

# rpd_debian_make ENTRY ARGS...: the kernel's make for the module (M=$RPD_ROOT) in ENTRY's build
# root. Another tree than last time: clean first (the Makefile's `modules` does the same for
# 6.12: the generated bindings hold the other kernel's struct layouts).
rpd_debian_make() {
	local entry=$1 kdir key
	shift
	kdir=$(rpd_debian_kdir "$entry")
	key=$kdir
	if [ "$(cat "$RPD_ROOT/build/module.kdir" 2>/dev/null)" != "$key" ]; then
		rpd_in_root "$entry" make -s -C "$kdir" M="$RPD_ROOT" clean || return
		rm -f "$RPD_ROOT/build/module.kdir"
	fi
	rpd_in_root "$entry" make -C "$kdir" M="$RPD_ROOT" "$@" || return
	echo "$key" >"$RPD_ROOT/build/module.kdir"
}

# Builds everything a VM run needs: kernel (cached) and its external-module tree, module, test
# program, initramfs. Sets RPD_KDIR (the external-module tree, as this machine sees it),
# RPD_BZIMAGE, RPD_INITRD, and for a Debian kernel RPD_ENTRY (its cache entry).
rpd_prepare_vm() {
	"$RPD_ROOT/scripts/setup.sh"
	local ksrc entry
	if rpd_is_debian; then
		[ -z "${RPD_FLAVOUR:-}" ] ||
			rpd_die "RPD_FLAVOUR=$RPD_FLAVOUR is a flavour of the self-built 6.12 kernel; RPD_KERNEL=$RPD_KERNEL is Debian's own image"
		# The newest kernel of the series (the archive's lists are asked once a day), made on
		# first use; 77: the archive no longer serves its toolchain (the caller SKIPs).
		local rc=0
		entry=$("$RPD_ROOT/scripts/debian-kernel.sh" "${RPD_KERNEL#debian-}" | tail -n 1) || rc=$?
		if [ "$rc" = 77 ]; then
			# The reason is the script's one line; check.sh counts the target as skipped.
			! declare -F rpd_target_skipped >/dev/null || rpd_target_skipped
			exit 77
		fi
		[ "$rc" = 0 ] || rpd_die "no $RPD_KERNEL kernel (scripts/debian-kernel.sh ${RPD_KERNEL#debian-} failed)"
		RPD_ENTRY=$entry
		RPD_BZIMAGE=$entry/vmlinuz
		RPD_KDIR=$entry/root$(rpd_debian_kdir "$entry")
		rpd_say "build rust_pf_demo.ko for Debian's $(basename "$entry") in its build root"
		rpd_debian_make "$entry" modules >"$RPD_ROOT/build/module.log" 2>&1 ||
			{ cat "$RPD_ROOT/build/module.log"; rpd_die "module build failed"; }
	else
		ksrc=$("$RPD_ROOT/scripts/build-kernel.sh")
		RPD_BZIMAGE=$ksrc/arch/x86/boot/bzImage
		# The module is built as on a distro: against the kernel's external-module tree (headers,
		# .config, Module.symvers, scripts/, the Rust metadata), not against its sources.
		RPD_KDIR=$("$RPD_ROOT/scripts/extmod-tree.sh" "$ksrc")
		rpd_say "build rust_pf_demo.ko against $RPD_KDIR"
		# shellcheck disable=SC2046
		make -s -C "$RPD_ROOT" KDIR="$RPD_KDIR" RUSTC="$RPD_RUSTC" BINDGEN="$RPD_BINDGEN" \
			$(rpd_make_args) modules >"$RPD_ROOT/build/module.log" 2>&1 ||
			{ cat "$RPD_ROOT/build/module.log"; rpd_die "module build failed"; }
	fi
	rpd_say "build the pfdemo test program (static)"
	(cd "$RPD_ROOT/tests/pfdemo" && RUSTC=$RPD_RUSTC "$RPD_CARGO" build --quiet --locked --release \
		--target x86_64-unknown-linux-gnu --target-dir "$RPD_ROOT/build/cargo") ||
		rpd_die "building tests/pfdemo failed"
	RPD_INITRD=$RPD_ROOT/build/initramfs.cpio
	rpd_say "pack the initramfs"
	"$RPD_ROOT/qemu/mkinitramfs.sh" "$RPD_KDIR" "$RPD_ROOT/rust_pf_demo.ko" \
		"$RPD_ROOT/build/cargo/x86_64-unknown-linux-gnu/release/pfdemo" "$RPD_INITRD"
}
