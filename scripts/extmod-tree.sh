#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Makes an external-module build tree from a built kernel tree, as a distro's headers package
# installs one, and prints its directory on the last line:
#
#   scripts/extmod-tree.sh [KSRC [OUT]]   # default: the cached test kernel, OUT = KSRC/../headers
#
# The C part is the kernel's own scripts/package/install-extmod-build (headers, scripts/ and
# its host programs, Module.symvers, include/config, include/generated, objtool), plus .config.
# The Rust part is what Ubuntu's linux-lib-rust-* and Arch's linux-headers ship beside it:
# rust/*.rmeta and rust/libmacros.so (the crates a module links against), scripts/target.json
# (the target spec), include/generated/rustc_cfg (copied with include/generated), and
# .rustfmt.toml (make lint). No kernel sources and no object files. Rebuilt only when the
# kernel tree was rebuilt since (its Module.symvers is newer).
set -euo pipefail
RPD_STAGE=extmod
. "$(dirname "$0")/lib.sh"

ksrc=${1:-$(rpd_kernel_entry)/linux}
out=${2:-$(dirname "$ksrc")/headers}
[ -f "$ksrc/Module.symvers" ] && [ -f "$ksrc/rust/libkernel.rmeta" ] ||
	rpd_die "$ksrc is not a built Rust-enabled kernel tree (run scripts/build-kernel.sh)"
# Bump when this script changes what the tree holds: an older tree is remade.
recipe=2
fresh() { [ "$(cat "$out/.done" 2>/dev/null)" = "recipe=$recipe" ] && [ ! "$ksrc/Module.symvers" -nt "$out/.done" ]; }
if fresh; then
	echo "$out"
	exit 0
fi
# One maker at a time (two check runs starting together raced on $out.tmp); the second finds the
# tree made.
exec 8>"$out.lock"
flock 8
if fresh; then
	echo "$out"
	exit 0
fi
rm -rf "$out" "$out.tmp"
mkdir -p "$out.tmp"
(
	cd "$ksrc"
	# The kernel's recipe for the C part (what `make bindeb-pkg` puts in linux-headers), for
	# the test kernels' x86. CC and HOSTCC are the same compiler: no host program is rebuilt.
	srctree=. SRCARCH=x86 KCONFIG_CONFIG=.config CC=cc HOSTCC=cc MAKE=make \
		sh scripts/package/install-extmod-build "$out.tmp"
	cp .config "$out.tmp/.config"
	mkdir -p "$out.tmp/rust"
	cp rust/*.rmeta rust/libmacros.so "$out.tmp/rust/"
	cp scripts/target.json "$out.tmp/scripts/"
	cp .rustfmt.toml "$out.tmp/"
	# Newer 6.12 stable releases' install-extmod-build copies scripts/ whole, with the objects
	# the host programs were linked from (scripts/mod/*.o): a headers package has none.
	find "$out.tmp" -name '*.o' -delete
) >"$RPD_ROOT/build/extmod-tree.log" 2>&1 ||
	{ cat "$RPD_ROOT/build/extmod-tree.log" >&2; rpd_die "making the external-module tree failed"; }
echo "recipe=$recipe" >"$out.tmp/.done"
mv "$out.tmp" "$out"
rpd_say "external-module tree: $out ($(du -sh "$out" | cut -f1), no sources, no objects)" >&2
echo "$out"
