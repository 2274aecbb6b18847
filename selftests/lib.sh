# SPDX-License-Identifier: GPL-2.0
# Module helpers for the shell selftests (source after ktap_helpers.sh).

MOD=rust_pf_demo
MODDIR=/lib/modules/$(uname -r)/extra
PFDEMO=${PFDEMO:-/bin/pfdemo}

mod_loaded() { [ -d /sys/module/$MOD ]; }
mod_refcnt() { cat /sys/module/$MOD/refcnt 2>/dev/null || echo none; }

# one_cpu / all_cpus: one online CPU while the tracing tests patch kernel text. Under QEMU's
# multi-threaded TCG (qemu/run-vm.sh puts rpd.accel=tcg on the kernel command line) a vCPU can go
# on running its translation of kernel text that another vCPU has just rewritten: the kernel's
# int3 text patching (ftrace call sites, the sched tracepoints' static keys that function_graph
# and trace events switch, kprobes) then leaves the other vCPU a stale int3, "Oops: int3" in
# __schedule or ttwu_do_activate. Seen on 6.12, Debian 7.2 and 7.3 within seconds of patching with
# two busy vCPUs, and never with one. Under KVM both CPUs stay online.
ONE_CPU_OFF=/tmp/rpd-cpus-offlined
one_cpu() {
	grep -qw rpd.accel=tcg /proc/cmdline || return 0
	for c in /sys/devices/system/cpu/cpu[1-9]*/online; do
		[ -e "$c" ] && [ "$(cat "$c")" = 1 ] || continue
		echo 0 >"$c" && echo "$c" >>$ONE_CPU_OFF
	done
	[ ! -e $ONE_CPU_OFF ] ||
		echo "# info: QEMU TCG: CPUs $(cat /sys/devices/system/cpu/offline) offline while kernel text is patched (stale translations of patched text oops the other vCPU)"
}
all_cpus() {
	[ -e $ONE_CPU_OFF ] || return 0
	while read -r c; do echo 1 >"$c"; done <$ONE_CPU_OFF
	rm -f $ONE_CPU_OFF
}

# Unloads rust_pf_demo if it is loaded; fails the test if it cannot.
ensure_unloaded() {
	# The protocol modules that depend on it first.
	for m in rust_pf_demo_seqpacket rust_pf_demo_rdm; do
		[ ! -d /sys/module/$m ] || rmmod $m 2>/dev/null ||
			ktap_fail_test "setup: rmmod $m failed (refcnt $(cat /sys/module/$m/refcnt))"
	done
	if mod_loaded; then
		rmmod $MOD 2>/dev/null || ktap_fail_test "setup: rmmod $MOD failed (refcnt $(mod_refcnt))"
	fi
	! mod_loaded || ktap_fail_test "setup: $MOD still loaded"
}

# expect_refcnt N WHAT
expect_refcnt() {
	# No command substitution: this runs in tight loops, and every fork costs under TCG.
	r=none
	[ ! -r /sys/module/$MOD/refcnt ] || read -r r </sys/module/$MOD/refcnt
	[ "$r" = "$1" ] || ktap_fail_test "$2: refcnt $r, expected $1"
}

# Whether proto_register() listed our protocol in /proc/net/protocols (shell builtins only).
proto_listed() {
	while read -r name _; do
		[ "$name" != RUST_PF_DEMO ] || return 0
	done </proc/net/protocols
	return 1
}

# hold_socket FIFO OUT CMD...: runs CMD (a `pfdemo sock --hold ...`, which holds its socket until
# its stdin reaches end of file) in the background with stdin on the fifo FIFO and stdout in OUT,
# keeps the fifo open as fd 3 (`exec 3>&-` lets the socket go) and waits up to 5 s for CMD's
# first line. Sets $pid; returns 1 if the fifo cannot be made.
hold_socket() {
	fifo=$1 outf=$2
	shift 2
	rm -f "$fifo" "$outf"
	mkfifo "$fifo" || return 1
	"$@" <"$fifo" >"$outf" &
	pid=$!
	exec 3>"$fifo"
	n=0
	while ! grep -q . "$outf" 2>/dev/null && [ $n -lt 100 ]; do
		sleep 0.05
		n=$((n + 1))
	done
}
