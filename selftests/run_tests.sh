#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs every rust_pf_demo selftest in the VM (like kselftest's run_kselftest.sh):
#   run_tests.sh [NAME-FILTER]
# Each test program prints its own KTAP block, framed by `RPD-SELFTEST: NAME` and
# `RPD-SELFTEST-EXIT: NAME STATUS` lines that the host runner (scripts/ktap-summary.sh) uses to
# name its tests. Exit status 0 when no program failed (0 or 4 = all skipped), else 1.
cd "$(dirname "$0")" || exit 1
filter=${1:-}
PFDEMO=${PFDEMO:-/bin/pfdemo}
rc=0

run() {
	name=$1
	shift
	echo "RPD-SELFTEST: $name"
	t0=$(cut -d' ' -f1 /proc/uptime)
	"$@"
	status=$?
	echo "RPD-SELFTEST-EXIT: $name $status"
	echo "RPD-SELFTEST-TIME: $name $t0 $(cut -d' ' -f1 /proc/uptime)"
	case $status in 0 | 4) ;; *) rc=1 ;; esac
}

# The seed tests and the sock_create selftests (Rust), then the shell selftests.
run pfdemo "$PFDEMO" test $filter
run sock_create "$PFDEMO" selftest $filter
run stress "$PFDEMO" stress $filter
for t in autoload lifecycle lsm protosw trace; do
	run "$t" sh "./$t.sh" $filter
done
exit $rc
