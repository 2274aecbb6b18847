#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# dkms.conf's MAKE: builds the modules for kernel RELEASE from its build tree or headers:
#
#   scripts/dkms-make.sh RELEASE KERNEL-SOURCE-DIR
#
# Debian's linux-headers (scripts/ is linux-kbuild's) ship no Rust metadata: it is made first
# (scripts/debian-kernel.sh --host RELEASE, cached in /var/cache/rust_pf_demo/debian/RELEASE/),
# and the module is built against that tree. Other distributions' trees are used as they are.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 RELEASE KERNEL-SOURCE-DIR" >&2; exit 2; }
rel=$1 kdir=$2
dir=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -e "$kdir/rust/libkernel.rmeta" ] && [[ "$(readlink -f "$kdir/scripts")" == /usr/lib/linux-kbuild-* ]]; then
	echo "rust_pf_demo: Debian's headers of $rel ship no Rust metadata: making it (scripts/debian-kernel.sh --host $rel)"
	kdir=$("$dir/scripts/debian-kernel.sh" --host "$rel" | tail -n 1)
fi
exec make -C "$dir" KDIR="$kdir" modules
