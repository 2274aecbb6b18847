#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Module lifecycle: module_init registers (proto_register, sock_register) and module_exit
# unregisters, repeatably; a socket in another network namespace pins the module like any other.
cd "$(dirname "$0")" || exit 1
. ./ktap_helpers.sh
. ./lib.sh

KTAP_TESTS="insmod_rmmod_100_cycles rmmod_refused_socket_in_other_netns"

CYCLES=100

insmod_rmmod_100_cycles() {
	ensure_unloaded
	i=1
	while [ $i -le $CYCLES ]; do
		insmod $MODDIR/$MOD.ko || ktap_fail_test "cycle $i: insmod failed"
		mod_loaded || ktap_fail_test "cycle $i: not in /sys/module after insmod"
		expect_refcnt 0 "cycle $i, loaded"
		# proto_register() listed the protocol.
		proto_listed ||
			ktap_fail_test "cycle $i: RUST_PF_DEMO missing from /proc/net/protocols"
		rmmod $MOD || ktap_fail_test "cycle $i: rmmod failed"
		! mod_loaded || ktap_fail_test "cycle $i: still loaded after rmmod"
		! proto_listed ||
			ktap_fail_test "cycle $i: RUST_PF_DEMO still in /proc/net/protocols after rmmod"
		i=$((i + 1))
	done
	# The family still works after the cycles (sock_unregister left no stale entry).
	out=$("$PFDEMO" sock 18 2 0)
	case "$out" in ok*) ;; *) ktap_fail_test "socket(18) after $CYCLES cycles: $out" ;; esac
	rmmod $MOD || ktap_fail_test "final rmmod"
}

rmmod_refused_socket_in_other_netns() {
	ensure_unloaded
	# The child creates its socket in a new network namespace and holds it until its stdin
	# (the fifo) reaches end of file.
	hold_socket /tmp/netns.fifo /tmp/netns.out unshare -n "$PFDEMO" sock --hold 18 2 0 ||
		ktap_fail_test "mkfifo"
	out=$(cat /tmp/netns.out)
	mine=$(readlink /proc/self/ns/net)
	case "$out" in
	"ok net:"*) ;;
	*) exec 3>&-; wait $pid; ktap_fail_test "socket(18) in the new netns: '$out'" ;;
	esac
	child_ns=${out#ok }
	if [ "$child_ns" = "$mine" ]; then
		exec 3>&-; wait $pid
		ktap_fail_test "the child's socket is in our netns ($mine): unshare -n did not work"
	fi
	refs=$(mod_refcnt)
	rmmod $MOD 2>/dev/null && busy=unloaded || busy=refused
	loaded_after=no
	mod_loaded && loaded_after=yes
	exec 3>&-
	wait $pid
	rc=$?
	[ "$refs" = 2 ] || ktap_fail_test "refcnt with the socket open in $child_ns: $refs, expected 2"
	[ $busy = refused ] || ktap_fail_test "rmmod succeeded while a socket was open in $child_ns"
	[ $loaded_after = yes ] || ktap_fail_test "module gone after the refused rmmod"
	[ $rc = 0 ] || ktap_fail_test "the netns child exited with $rc"
	expect_refcnt 0 "after the netns child exited"
	rmmod $MOD || ktap_fail_test "rmmod after the netns child exited"
	rm -f /tmp/netns.fifo /tmp/netns.out
}

ktap_main "$@"
