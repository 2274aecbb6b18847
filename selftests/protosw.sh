#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The family's create, step by step as inet_create(), and its protocol switch: protocols built
# into rust_pf_demo (SOCK_DGRAM 17, SOCK_RAW 3) and one loaded on demand (rust_pf_demo_rdm,
# SOCK_RDM 20, aliases net-pf-18-proto-0-type-4 and net-pf-18-proto-20-type-4), with both
# modules' /sys/module/*/refcnt read at every step. Every pfdemo call runs under `timeout 10`:
# a stuck create or module fails the test by itself.
cd "$(dirname "$0")" || exit 1
. ./ktap_helpers.sh
. ./lib.sh

KTAP_TESTS="protosw_rdm_autoload_refcnt protosw_missing_alias_two_request_modules
protosw_wildcard_rules protosw_raw_needs_cap_net_raw protosw_init_error_path
protosw_race_create_unload"

RDM=rust_pf_demo_rdm
T=${RPD_TIMEOUT:-10}

rdm_loaded() { [ -d /sys/module/$RDM ]; }
rdm_refcnt() { cat /sys/module/$RDM/refcnt 2>/dev/null || echo none; }

# expect_rdm_refcnt N WHAT
expect_rdm_refcnt() {
	r=$(rdm_refcnt)
	[ "$r" = "$1" ] || ktap_fail_test "$2: $RDM refcnt $r, expected $1"
}

# Nothing loaded: the protocol module first (it depends on the family's).
unload_all() {
	if rdm_loaded; then rmmod $RDM || ktap_fail_test "setup: rmmod $RDM (refcnt $(rdm_refcnt))"; fi
	ensure_unloaded
}

# psock ARGS...: one socket() by pfdemo, under the watchdog.
psock() { timeout $T "$PFDEMO" sock "$@"; }

# The protocol's line in /proc/net/protocols (name and module columns).
protocols_line() { grep "^$1 " /proc/net/protocols; }

protosw_rdm_autoload_refcnt() {
	unload_all
	hold_socket /tmp/rdm.fifo /tmp/rdm.out timeout $T "$PFDEMO" sock --hold 18 4 0 ||
		ktap_fail_test "mkfifo"
	out=$(cat /tmp/rdm.out)
	rdm_refs=$(rdm_refcnt)
	fam_refs=$(mod_refcnt)
	holder=no
	[ -e /sys/module/$MOD/holders/$RDM ] && holder=yes
	line=$(protocols_line PF_DEMO_RDM)
	rmmod $MOD 2>/dev/null && fam_rm=unloaded || fam_rm=refused
	rmmod $RDM 2>/dev/null && rdm_rm=unloaded || rdm_rm=refused
	exec 3>&-
	wait $pid
	rc=$?
	case "$out" in ok*) ;; *) ktap_fail_test "socket(18, SOCK_RDM, 0) with nothing loaded: '$out'" ;; esac
	[ "$rdm_refs" = 2 ] || ktap_fail_test "$RDM refcnt with one socket open: $rdm_refs, expected 2"
	[ "$fam_refs" = 1 ] ||
		ktap_fail_test "$MOD refcnt with one SOCK_RDM socket open: $fam_refs, expected 1 (the dependency)"
	[ $holder = yes ] || ktap_fail_test "$RDM is not in /sys/module/$MOD/holders"
	case "$line" in *" $RDM "*) ;; *) ktap_fail_test "/proc/net/protocols line of PF_DEMO_RDM: '$line'" ;; esac
	[ $fam_rm = refused ] || ktap_fail_test "rmmod $MOD succeeded while $RDM was loaded"
	[ $rdm_rm = refused ] || ktap_fail_test "rmmod $RDM succeeded while its socket was open"
	[ $rc = 0 ] || ktap_fail_test "the holding child exited with $rc"
	expect_rdm_refcnt 0 "after close"
	expect_refcnt 1 "$MOD after the SOCK_RDM socket closed"
	rmmod $RDM || ktap_fail_test "rmmod $RDM after close"
	! protocols_line PF_DEMO_RDM >/dev/null || ktap_fail_test "PF_DEMO_RDM still in /proc/net/protocols"
	expect_refcnt 0 "$MOD after rmmod $RDM"
	rmmod $MOD || ktap_fail_test "rmmod $MOD after rmmod $RDM"
	rm -f /tmp/rdm.fifo /tmp/rdm.out
}

# kernel.modprobe points at a script that logs its arguments and runs the real modprobe.
MPLOG=/tmp/protosw.modprobe.log
with_logging_modprobe() {
	saved=$(cat /proc/sys/kernel/modprobe)
	printf '#!/bin/sh\necho "$*" >>%s\nexec %s "$@"\n' $MPLOG "$saved" >/tmp/logmodprobe
	chmod 755 /tmp/logmodprobe
	: >$MPLOG
	echo /tmp/logmodprobe >/proc/sys/kernel/modprobe
}
restore_modprobe() { echo "$saved" >/proc/sys/kernel/modprobe; }

protosw_missing_alias_two_request_modules() {
	unload_all
	out=$(psock 18 2 0)
	case "$out" in ok*) ;; *) ktap_fail_test "loading $MOD: $out" ;; esac
	with_logging_modprobe
	out=$(psock 18 2 99)
	out2=$(psock 18 6 0)
	restore_modprobe
	log=$(cat $MPLOG)
	[ "$out" = EPROTONOSUPPORT ] || ktap_fail_test "socket(18, SOCK_DGRAM, 99): '$out', expected EPROTONOSUPPORT"
	[ "$out2" = ESOCKTNOSUPPORT ] || ktap_fail_test "socket(18, SOCK_DCCP, 0): '$out2', expected ESOCKTNOSUPPORT"
	want="-q -- net-pf-18-proto-99-type-2
-q -- net-pf-18-proto-99
-q -- net-pf-18-proto-0-type-6
-q -- net-pf-18-proto-0"
	[ "$log" = "$want" ] || ktap_fail_test "request_module calls: '$(echo $log)', expected '$(echo $want)'"
	expect_refcnt 0 "after the failed creates"
	rmmod $MOD || ktap_fail_test "rmmod"
}

protosw_wildcard_rules() {
	unload_all
	# type proto expected: protocol 0 picks the type's entry; an exact number matches; another
	# number of a served type is EPROTONOSUPPORT; an unserved type ESOCKTNOSUPPORT.
	for c in "2 0 ok" "2 17 ok" "2 20 EPROTONOSUPPORT" "2 3 EPROTONOSUPPORT" "3 0 ok" "3 3 ok" \
		"3 17 EPROTONOSUPPORT" "4 0 ok" "4 20 ok" "4 17 EPROTONOSUPPORT" "1 0 ESOCKTNOSUPPORT" \
		"5 17 ESOCKTNOSUPPORT" "2 -1 EINVAL" "2 256 EINVAL" "6 256 EINVAL" "5 0 ok" "5 5 ok" \
		"5 17 EPROTONOSUPPORT"; do
		set -- $c
		out=$(psock 18 "$1" "$2")
		out=${out%% *}
		[ "$out" = "$3" ] || ktap_fail_test "socket(18, $1, $2): '$out', expected $3"
	done
	expect_rdm_refcnt 0 "after the sockets closed"
	# rust_pf_demo_rdm and rust_pf_demo_seqpacket (type 5) depend on it.
	expect_refcnt 2 "$MOD with $RDM and rust_pf_demo_seqpacket loaded"
	unload_all
}

protosw_raw_needs_cap_net_raw() {
	unload_all
	out=$(psock 18 3 0)
	out=${out%% *}
	[ "$out" = ok ] || ktap_fail_test "socket(18, SOCK_RAW, 0) as root: '$out'"
	out=$(psock --nobody 18 3 0)
	[ "$out" = EPERM ] || ktap_fail_test "socket(18, SOCK_RAW, 0) without CAP_NET_RAW: '$out', expected EPERM"
	# The lookup comes first, as in inet_create: an unknown protocol is EPROTONOSUPPORT.
	out=$(psock --nobody 18 3 7)
	[ "$out" = EPROTONOSUPPORT ] || ktap_fail_test "socket(18, SOCK_RAW, 7) without CAP_NET_RAW: '$out'"
	out=$(psock --nobody 18 2 0)
	out=${out%% *}
	[ "$out" = ok ] || ktap_fail_test "socket(18, SOCK_DGRAM, 0) without CAP_NET_RAW: '$out'"
	expect_refcnt 0 "after the raw sockets"
	line=$(protocols_line RUST_PF_DEMO_RAW)
	case "$line" in *" $MOD "*) ;; *) ktap_fail_test "/proc/net/protocols line of RUST_PF_DEMO_RAW: '$line'" ;; esac
	rmmod $MOD || ktap_fail_test "rmmod"
}

sockets_used() { awk '/^sockets:/ { print $3 }' /proc/net/sockstat; }

protosw_init_error_path() {
	unload_all
	used=$(sockets_used)
	out=$(psock --fail-next-init 18 4 0)
	case "$out" in
	"ok "*" then ENOBUFS") ;;
	*) ktap_fail_test "socket(18, SOCK_RDM, 0) after FAIL_NEXT_INIT: '$out', expected ENOBUFS" ;;
	esac
	expect_rdm_refcnt 0 "after the failed init and the close"
	[ "$(sockets_used)" = "$used" ] || ktap_fail_test "sockstat sockets used: $(sockets_used), expected $used"
	# The protocol still works, and goes.
	out=$(psock 18 4 0)
	out=${out%% *}
	[ "$out" = ok ] || ktap_fail_test "socket(18, SOCK_RDM, 0) after the failed init: '$out'"
	expect_rdm_refcnt 0 "after the last close"
	unload_all
}

protosw_race_create_unload() {
	unload_all
	psock 18 2 0 >/dev/null
	end=$(($(cut -d. -f1 /proc/uptime) + 6))
	(while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do rmmod $RDM 2>/dev/null; done) &
	pid=$!
	i=0 ok=0
	while [ $i -lt 100 ]; do
		out=$(psock 18 4 0)
		case "$out" in
		ok*) ok=$((ok + 1)) ;;
		ESOCKTNOSUPPORT | EPROTONOSUPPORT) ;;
		*) kill $pid; ktap_fail_test "socket(18, SOCK_RDM, 0) racing rmmod: '$out'" ;;
		esac
		i=$((i + 1))
	done
	wait $pid
	ktap_diag "info: $ok of 100 creates racing rmmod $RDM got a socket"
	[ $ok -gt 0 ] || ktap_fail_test "no create got a socket"
	if rdm_loaded; then expect_rdm_refcnt 0 "after the race"; fi
	unload_all
}

ktap_main "$@"
