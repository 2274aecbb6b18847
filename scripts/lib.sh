# SPDX-License-Identifier: GPL-2.0
# Shared settings for the rust_pf_demo scripts. Source it; do not run it.

RPD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RPD_CACHE=${RUST_PF_DEMO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust_pf_demo}
RPD_TOOLS=$RPD_CACHE/tools
RPD_BINDGEN=$RPD_TOOLS/bin/bindgen
RPD_BINDGEN_VERSION=0.73.0
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

# Debian packages the project needs (see README.md).
RPD_PACKAGES="rustc-web rust-web-src cargo-web linux-source-6.12 clang-19 lld-19 llvm-19 libclang-19-dev
qemu-system-x86 busybox-static kmod flex bison bc libelf-dev libssl-dev cpio rust-web-clippy rustfmt-web"

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
		[ -z "${RPD_FLAVOUR:-}" ] || cat $(rpd_flavour_frags)
		echo "recipe=$RPD_KERNEL_RECIPE"
	} | sha256sum | cut -c1-16
}

# The config fragments a flavour adds after kernel/*.config, in merge order. The debug kernel
# has the trace flavour's tracing too, so that the trace order tests also run under KASAN,
# lockdep and kmemleak (make check-debug); its speed is not measured.
rpd_flavour_frags() {
	case "${RPD_FLAVOUR:-}" in
	"") ;;
	debug) echo "$RPD_ROOT/kernel/flavours/trace.config $RPD_ROOT/kernel/flavours/debug.config" ;;
	*) echo "$RPD_ROOT/kernel/flavours/$RPD_FLAVOUR.config" ;;
	esac
}

# One kernel tree per flavour, rebuilt in place (incrementally) when the key changes.
rpd_kernel_entry() { echo "$RPD_CACHE/kernel-${RPD_FLAVOUR:-default}"; }

# Arguments every kernel-tree make (kernel and out-of-tree module) gets: the
# Debian 1.96 toolchain, which has rust-src, and never rustup's shadows in PATH.
rpd_make_args() {
	echo "LLVM=$RPD_LLVM RUSTC=$RPD_RUSTC HOSTRUSTC=$RPD_RUSTC RUSTDOC=/usr/bin/rustdoc" \
		"RUSTFMT=/usr/bin/rustfmt CLIPPY_DRIVER=/usr/bin/clippy-driver BINDGEN=$RPD_BINDGEN"
}

# Builds everything a VM run needs: kernel (cached) and its external-module tree, module, test
# program, initramfs. Sets RPD_KDIR (the external-module tree), RPD_BZIMAGE, RPD_INITRD.
rpd_prepare_vm() {
	"$RPD_ROOT/scripts/setup.sh"
	local ksrc
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
	rpd_say "build the pfdemo test program (static)"
	(cd "$RPD_ROOT/tests/pfdemo" && RUSTC=$RPD_RUSTC "$RPD_CARGO" build --quiet --locked --release \
		--target x86_64-unknown-linux-gnu --target-dir "$RPD_ROOT/build/cargo") ||
		rpd_die "building tests/pfdemo failed"
	RPD_INITRD=$RPD_ROOT/build/initramfs.cpio
	rpd_say "pack the initramfs"
	"$RPD_ROOT/qemu/mkinitramfs.sh" "$RPD_KDIR" "$RPD_ROOT/rust_pf_demo.ko" \
		"$RPD_ROOT/build/cargo/x86_64-unknown-linux-gnu/release/pfdemo" "$RPD_INITRD"
}
