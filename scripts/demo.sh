#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The demo: sets up everything on first use (packages, bindgen, kernel), boots the VM and
# shows socket(18, SOCK_DGRAM, 0) loading the module on demand, the module reference count
# rising and falling with open sockets, and rmmod refused and then allowed.
set -euo pipefail
RPD_STAGE=demo
. "$(dirname "$0")/lib.sh"
rpd_prepare_vm
"$RPD_ROOT/qemu/run-vm.sh" "$RPD_BZIMAGE" "$RPD_INITRD" "$RPD_ROOT/build/vm-demo.log" rpd.mode=demo |
	grep -E '^(demo:|rust_pf_demo guest:)'
