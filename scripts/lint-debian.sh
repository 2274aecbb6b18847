#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make lint RPD_KERNEL=debian-7.2` (or debian-7.3): the lint of the module against the 7.x
# kernel crate, in the Debian kernel's build root (scripts/debian-kernel.sh), with that kernel's
# own rustc, clippy, rustdoc, bindgen and gcc: clippy through the kernel build with the kernel's
# lint set and -Dwarnings, the build with -Dwarnings, rustdoc -Dwarnings, the compile-fail
# checks. The root has no clippy at first: rust-clippy of the root's exact rustc version is
# installed into it (apt, in the root only). rustfmt and the test program's lint do not depend
# on the kernel: the Makefile runs them as for 6.12.
set -euo pipefail
RPD_STAGE=lint
. "$(dirname "$0")/lib.sh"
rpd_is_debian || rpd_die "RPD_KERNEL=$RPD_KERNEL: scripts/lint-debian.sh is for debian-7.2 or debian-7.3"
entry=$(rpd_debian_entry)
kdir=$(rpd_debian_kdir "$entry")
root=$entry/root
if [ ! -x "$root/usr/bin/clippy-driver" ]; then
	ver=$(chroot "$root" dpkg-query -W -f='${Version}' rustc)
	rpd_say "install rust-clippy $ver (the build root's rustc) into $root"
	# mmdebstrap leaves the root without package lists: read them first.
	rpd_in_root "$entry" apt-get update -q -o Acquire::Check-Valid-Until=false \
		>"$RPD_ROOT/build/lint-clippy-install.log" 2>&1 ||
		{ tail -n 5 "$RPD_ROOT/build/lint-clippy-install.log"; rpd_die "apt-get update in the build root failed"; }
	rpd_in_root "$entry" apt-get install -y -q --no-install-recommends \
		-o Acquire::Check-Valid-Until=false "rust-clippy=$ver" >>"$RPD_ROOT/build/lint-clippy-install.log" 2>&1 ||
		{ tail -n 5 "$RPD_ROOT/build/lint-clippy-install.log"; rpd_die "cannot install rust-clippy=$ver into the build root (the archive no longer serves it?)"; }
fi
rpd_say "clippy (-Dwarnings) against $(basename "$entry")"
rpd_debian_make "$entry" CLIPPY=1 KRUSTFLAGS=-Dwarnings modules
rpd_say "build (-Dwarnings)"
rpd_debian_make "$entry" KRUSTFLAGS=-Dwarnings modules
rpd_in_root "$entry" scripts/rustdoc.sh "$kdir"
rpd_in_root "$entry" tests/compile_fail/run.sh "$kdir"
