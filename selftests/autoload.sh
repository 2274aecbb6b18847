#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# __sock_create()'s autoload step: with no family 18 registered, it calls
# request_module("net-pf-18"), which runs /proc/sys/kernel/modprobe with that alias; modprobe
# finds `alias net-pf-18 rust_pf_demo` in modules.alias and loads the module, then
# __sock_create() looks the family up again. When that does not register the family (modprobe
# missing, alias missing), socket() fails with EAFNOSUPPORT.
cd "$(dirname "$0")" || exit 1
. ./ktap_helpers.sh
. ./lib.sh

ALIASES=/lib/modules/$(uname -r)/modules.alias

KTAP_TESTS="autoload_request_module autoload_modprobe_path_missing autoload_alias_missing"

# socket(18, SOCK_DGRAM, 0) through pfdemo: prints "ok netns:[..]" or the errno name.
demo_socket() { "$PFDEMO" sock 18 2 0; }

autoload_request_module() {
	ensure_unloaded
	[ "$(cat /proc/sys/kernel/modprobe)" = /sbin/modprobe ] ||
		ktap_fail_test "kernel.modprobe is '$(cat /proc/sys/kernel/modprobe)', expected /sbin/modprobe"
	grep -Eq "^alias net[-_]pf[-_]18 $MOD\$" "$ALIASES" || ktap_fail_test "no net_pf_18 alias in $ALIASES"
	out=$(demo_socket)
	case "$out" in ok*) ;; *) ktap_fail_test "socket(18, SOCK_DGRAM, 0) with $MOD unloaded: $out" ;; esac
	mod_loaded || ktap_fail_test "socket() succeeded but $MOD is not loaded"
	expect_refcnt 0 "after the socket was closed"
	rmmod $MOD || ktap_fail_test "rmmod after the autoload"
}

autoload_modprobe_path_missing() {
	ensure_unloaded
	saved=$(cat /proc/sys/kernel/modprobe)
	echo /nonexistent/modprobe >/proc/sys/kernel/modprobe
	out=$(demo_socket)
	echo "$saved" >/proc/sys/kernel/modprobe
	[ "$(cat /proc/sys/kernel/modprobe)" = "$saved" ] || ktap_fail_test "kernel.modprobe not restored"
	[ "$out" = EAFNOSUPPORT ] ||
		ktap_fail_test "socket(18) with kernel.modprobe=/nonexistent/modprobe: '$out', expected EAFNOSUPPORT"
	! mod_loaded || ktap_fail_test "$MOD got loaded without a modprobe"
	# Control: with modprobe restored the same call loads the module.
	out=$(demo_socket)
	case "$out" in ok*) ;; *) ktap_fail_test "socket(18) after restoring kernel.modprobe: $out" ;; esac
	rmmod $MOD || ktap_fail_test "rmmod after the control socket"
}

# The alias is hidden by bind-mounting a copy of modules.alias without our line over the real
# one: the kernel really runs /sbin/modprobe net-pf-18, which really finds no such alias.
autoload_alias_missing() {
	ensure_unloaded
	grep -Ev "^alias net[-_]pf[-_]18 " "$ALIASES" >/tmp/modules.alias.noalias
	mount --bind /tmp/modules.alias.noalias "$ALIASES" || ktap_fail_test "bind mount over $ALIASES"
	if grep -Eq "^alias net[-_]pf[-_]18 " "$ALIASES"; then
		umount "$ALIASES"
		ktap_fail_test "the bind mount did not hide the alias"
	fi
	out=$(demo_socket)
	# What the kernel's modprobe call saw, run by hand (it must fail the same way).
	modprobe_out=$(modprobe net-pf-18 2>&1) && modprobe_rc=0 || modprobe_rc=$?
	umount "$ALIASES" || ktap_fail_test "umount $ALIASES"
	grep -Eq "^alias net[-_]pf[-_]18 $MOD\$" "$ALIASES" || ktap_fail_test "alias not back after umount"
	[ "$out" = EAFNOSUPPORT ] ||
		ktap_fail_test "socket(18) without the alias: '$out', expected EAFNOSUPPORT"
	! mod_loaded || ktap_fail_test "$MOD got loaded without its alias"
	[ "$modprobe_rc" != 0 ] || ktap_fail_test "modprobe net-pf-18 succeeded without the alias"
	! mod_loaded || ktap_fail_test "modprobe by hand loaded $MOD without its alias"
	ktap_diag "info: modprobe net-pf-18 without the alias: exit $modprobe_rc: $(echo $modprobe_out)"
	# Control: with the alias back the same call loads the module.
	out=$(demo_socket)
	case "$out" in ok*) ;; *) ktap_fail_test "socket(18) with the alias restored: $out" ;; esac
	rmmod $MOD || ktap_fail_test "rmmod after the control socket"
}

ktap_main "$@"
