#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# __sock_create() calls security_socket_create() before the family's create and
# security_socket_post_create() after it. Without CONFIG_SECURITY both are inline stubs that
# return 0, so there is nothing to observe: the test says so as a SKIP. With CONFIG_SECURITY
# (/proc/self/attr exists only then), it checks that the active LSMs let a socket of family 18
# through both hooks with the module references of a normal socket.
cd "$(dirname "$0")" || exit 1
. ./ktap_helpers.sh
. ./lib.sh

KTAP_TESTS="lsm_socket_create_hooks"

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

ktap_main "$@"
