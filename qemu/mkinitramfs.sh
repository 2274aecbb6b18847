#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the VM's initramfs (newc cpio, uncompressed):
#   qemu/mkinitramfs.sh KDIR MODULE.ko PFDEMO-BINARY OUT.cpio
# busybox-static as the userland, the module under /lib/modules/<release>/extra with a
# modules.alias made by the host's depmod (so the kernel's request_module("net-pf-18") finds
# it through busybox modprobe), the test program and qemu/init.
set -euo pipefail
RPD_STAGE=initramfs
. "$(dirname "$0")/../scripts/lib.sh"
[ $# -eq 4 ] || rpd_die "usage: $0 KDIR MODULE.ko PFDEMO-BINARY OUT.cpio"
kdir=$1 ko=$2 pfdemo=$3 out=$4
rpd_need /bin/busybox "install Debian's busybox-static (scripts/setup.sh)"
rpd_need depmod "install Debian's kmod (scripts/setup.sh)"
release=$(cat "$kdir/include/config/kernel.release")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# mktemp makes the directory 0700: the guest's / must be traversable by the unprivileged user
# of the security tests (uid 65534).
chmod 755 "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc} "$root/lib/modules/$release/extra"
cp /bin/busybox "$root/bin/busybox"
ln -s ../bin/busybox "$root/sbin/modprobe"
cp "$RPD_ROOT/qemu/init" "$root/init"
chmod 755 "$root/init"
cp "$pfdemo" "$root/bin/pfdemo"
cp "$ko" "$root/lib/modules/$release/extra/"
# The family's protocol modules beside it (rust_pf_demo_seqpacket: net-pf-18-proto-*-type-5).
for m in "$(dirname "$ko")"/rust_pf_demo_*.ko; do
	[ ! -e "$m" ] || cp "$m" "$root/lib/modules/$release/extra/"
done
# The selftests (selftests/run_tests.sh) and their test modules (tests/kmod; only
# rust_pf_demo_rdm has aliases: net-pf-18-proto-*-type-4, the family's on-demand protocol).
for t in "$(dirname "$ko")"/tests/kmod/*.ko; do
	[ ! -e "$t" ] || cp "$t" "$root/lib/modules/$release/extra/"
done
[ ! -d "$RPD_ROOT/selftests" ] || cp -r "$RPD_ROOT/selftests" "$root/selftests"
: >"$root/lib/modules/$release/modules.builtin"
: >"$root/lib/modules/$release/modules.builtin.modinfo"
: >"$root/lib/modules/$release/modules.order"
depmod -b "$root" "$release"
grep -q "^alias net[-_]pf[-_]18 " "$root/lib/modules/$release/modules.alias" ||
	rpd_die "depmod wrote no net-pf-18 alias for $(basename "$ko")"
[ "$(grep -c "^alias net[-_]pf[-_]18 " "$root/lib/modules/$release/modules.alias")" = 1 ] ||
	rpd_die "more than one module has a net-pf-18 alias (only $(basename "$ko") may)"
# Reproducible: the same inputs give the same archive bytes (names sorted, one fixed time, no
# inode or device numbers), so that the deterministic benchmarks (make bench MODE=icount) boot
# the same guest memory layout whenever the archive is packed again.
find "$root" -exec touch -h -d @1767225600 {} +
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --quiet -o -0 -H newc -R 0:0 --reproducible) >"$out"
