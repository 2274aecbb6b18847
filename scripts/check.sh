#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The test suite: sets up everything on first use, runs the build scripts' tests on the host,
# boots the VM once, runs the KTAP tests, checks the guest's kernel log, prints one line per
# test and the summary `N passed, N failed, N skipped`. Exit 0 only if nothing failed.
#   scripts/check.sh [NAME-FILTER]
#   RPD_FLAVOUR=debug scripts/check.sh   (make check-debug): on the KASAN/lockdep/kmemleak kernel
#   RPD_STRESS=full scripts/check.sh     (make stress): the long stress and fuzzing mode
#   RPD_BUILD_TESTS=0 scripts/check.sh   without the build scripts' tests (host side)
set -euo pipefail
RPD_STAGE=check
. "$(dirname "$0")/lib.sh"
filter=${1:-}
kargs=()
if [ "${RPD_FLAVOUR:-}" = debug ]; then
	# KASAN's shadow memory and the slower debug kernel.
	export RPD_VM_MEM=${RPD_VM_MEM:-2G} RPD_VM_TIMEOUT=${RPD_VM_TIMEOUT:-3000}
	# SLUB_DEBUG_ON's checks, red zones and poisoning (freed and new objects hold 0x6b: a read
	# of memory nobody wrote shows), without U, the alloc/free stack of every object: KASAN
	# records those already, and unwinding twice per allocation cost the stress tests 16 %.
	kargs+=(slub_debug=FZP)
fi
if [ "${RPD_STRESS:-}" = full ]; then
	kargs+=(rpd.stress=full)
	export RPD_VM_TIMEOUT=${RPD_VM_TIMEOUT:-3600}
fi
# The whole suite in one guest (each blocking test has its own watchdog): about 3 minutes idle,
# the trace tests on Debian's kernels 2 more; twice that on a shared host.
export RPD_VM_TIMEOUT=${RPD_VM_TIMEOUT:-1200}
# RPD_KERNEL=debian-X.Y whose toolchain the archive no longer serves: one line (above), skipped.
rpd_target_skipped() {
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
}
rpd_prepare_vm
# The build scripts' own tests (host side): the external-module tree, preflight, install.
host=$RPD_ROOT/build/host-tests.log
: >"$host"
# RPD_BUILD_TESTS=0 leaves them out (.ci/run: the flavours share the 6.12 run's scripts and tree).
if [ "${RPD_BUILD_TESTS:-1}" != 0 ] && { [ -z "$filter" ] || [ "$filter" = build ]; }; then
	rpd_say "build-script tests (scripts/test-build.sh)"
	if rpd_is_debian; then
		# In the kernel's build root: its own rustc, bindgen and gcc, its tree at the root's path.
		rpd_in_root "$RPD_ENTRY" "$RPD_ROOT/scripts/test-build.sh" "$(rpd_debian_kdir "$RPD_ENTRY")" \
			>"$host" 2>&1 || true
	else
		"$RPD_ROOT/scripts/test-build.sh" "$RPD_KDIR" >"$host" 2>&1 || true # counted by ktap-summary
	fi
fi
log=$RPD_ROOT/build/vm-test.log
vm=0
"$RPD_ROOT/qemu/run-vm.sh" "$RPD_BZIMAGE" "$RPD_INITRD" "$log" rpd.mode=test \
	${filter:+rpd.filter=$filter} ${RPD_FUZZ_SEED:+rpd.seed=$RPD_FUZZ_SEED} "${kargs[@]}" >"$RPD_ROOT/build/vm-test.console" || vm=$?
rpd_say "VM done (guest verdict $vm); console: $log"
cat "$host" "$log" >"$RPD_ROOT/build/check.log"
exec "$RPD_ROOT/scripts/ktap-summary.sh" "$RPD_ROOT/build/check.log" "$vm"
