#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# __sock_create() calls security_socket_create() before the family's create and
# security_socket_post_create() after it. Without CONFIG_SECURITY both are inline stubs that
# return 0, so there is nothing to observe: the test says so as a SKIP. With CONFIG_SECURITY
# (/proc/self/attr exists only then), it checks that the active LSMs let a socket of family 18
# through both hooks with the module references of a normal socket. The hooks denied by a BPF LSM
# program are tested in tests/pfdemo/src/lsm.rs; lsm_sock_cli checks `pfdemo lsm-sock`, which
# `make trace` uses to show the denied cases.
cd "$(dirname "$0")" || exit 1
. ./ktap_helpers.sh
. ./lib.sh

KTAP_TESTS="lsm_socket_create_hooks lsm_sock_cli"

lsm_socket_create_hooks() {
	if [ ! -d /proc/self/attr ]; then
		ktap_skip_test "CONFIG_SECURITY is not set in the test kernel"
	fi
	lsms=unknown
	if grep -qw securityfs /proc/filesystems; then
		[ -e /sys/kernel/security/lsm ] || mount -t securityfs securityfs /sys/kernel/security
		lsms=$(cat /sys/kernel/security/lsm 2>/dev/null || echo unknown)
	fi
	ktap_diag "info: active LSMs: $lsms"
	ensure_unloaded
	out=$("$PFDEMO" sock --hold 18 2 0 </dev/null)
	case "$out" in
	ok*) ;;
	*) ktap_fail_test "socket(18, SOCK_DGRAM, 0) with LSMs '$lsms': $out" ;;
	esac
	expect_refcnt 0 "after the socket passed the LSM hooks and was closed"
	rmmod $MOD || ktap_fail_test "rmmod"
}

# pfdemo lsm-sock VARIANT F T P: one socket() with that BPF LSM program attached, printed as
# `pfdemo sock` does; exit 3 (and the reason on stderr) where there is no BPF LSM.
lsm_sock_cli() {
	ensure_unloaded
	out=$("$PFDEMO" lsm-sock create 18 2 0 2>/tmp/lsm-sock.err </dev/null)
	if [ $? -eq 3 ]; then
		ktap_skip_test "$(sed 's/^lsm-sock: //' /tmp/lsm-sock.err)"
	fi
	[ "$out" = EPERM ] || ktap_fail_test "lsm-sock create 18 2 0: '$out', expected EPERM"
	! mod_loaded || ktap_fail_test "lsm-sock create 18 2 0 loaded the module"
	out=$("$PFDEMO" lsm-sock create 1 2 0 2>/dev/null </dev/null)
	case "$out" in
	"ok net:["*) ;;
	*) ktap_fail_test "lsm-sock create 1 2 0 (AF_UNIX): '$out', expected ok net:[...]" ;;
	esac
	out=$("$PFDEMO" lsm-sock post_create 18 2 0 2>/dev/null </dev/null)
	[ "$out" = EPERM ] || ktap_fail_test "lsm-sock post_create 18 2 0: '$out', expected EPERM"
	mod_loaded || ktap_fail_test "lsm-sock post_create 18 2 0 did not autoload the module"
	expect_refcnt 0 "after lsm-sock post_create"
	out=$("$PFDEMO" lsm-sock useronly 18 2 0 2>/dev/null </dev/null)
	[ "$out" = EPERM ] || ktap_fail_test "lsm-sock useronly 18 2 0: '$out', expected EPERM"
	# Each run detached its program: the family works again.
	out=$("$PFDEMO" sock 18 2 0 </dev/null)
	case "$out" in
	"ok net:["*) ;;
	*) ktap_fail_test "pfdemo sock 18 2 0 after the lsm-sock runs: '$out'" ;;
	esac
	"$PFDEMO" lsm-sock nosuch 18 2 0 >/dev/null 2>&1
	[ $? -eq 2 ] || ktap_fail_test "lsm-sock nosuch: exit status not 2 (usage)"
	expect_refcnt 0 "at the end"
	rmmod $MOD || ktap_fail_test "rmmod"
}

ktap_main "$@"
