#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boots the test VM and returns the guest's verdict as the exit status:
#   qemu/run-vm.sh BZIMAGE INITRAMFS LOG [KERNEL-CMDLINE-EXTRA...]
# The guest console goes to stdout and to LOG. The guest ends itself with `reboot -f`
# (-no-reboot turns that into a QEMU exit); a guest that does not finish within
# RPD_VM_TIMEOUT seconds (default 600) is killed. Exit status: the guest's `RPD-EXIT: N`,
# or 3 when the guest gave no verdict (crash, panic, timeout).
#
# RPD_VM_MEM sets the guest's memory (default 1G).
# RPD_ICOUNT=1 (make bench's deterministic mode): one vCPU on single-threaded TCG with
# instruction counting (-icount shift=0,align=off,sleep=off: the guest's clocks advance one
# nanosecond per executed instruction, whatever the host does), a fixed seed for everything QEMU
# makes up for the guest (RDRAND, -seed) and a fixed RTC that follows the virtual clock.
# RPD_QEMU_PLUGIN=SO,ARGS loads a TCG plugin (make bench MODE=profile: qemu/plugin/rpdprof.c).
# Accelerator: RPD_ACCEL=tcg|kvm|auto (default auto). auto uses KVM only when /dev/kvm is
# usable and the CPU shows vmx/svm: the paravirtual /dev/kvm of some cloud machines cannot run
# a standard guest (it hangs silently). A KVM guest that does not reach /init within
# RPD_KVM_BOOT_TIMEOUT seconds (default 30) is killed and the run falls back to TCG.
set -euo pipefail
RPD_STAGE=vm
. "$(dirname "$0")/../scripts/lib.sh"
[ $# -ge 3 ] || rpd_die "usage: $0 BZIMAGE INITRAMFS LOG [CMDLINE...]"
kernel=$1 initrd=$2 log=$3
shift 3
rpd_need qemu-system-x86_64 "install Debian's qemu-system-x86 (scripts/setup.sh)"

accel=${RPD_ACCEL:-auto}
if [ "${RPD_ICOUNT:-0}" = 1 ]; then
	accel=icount
elif [ "$accel" = auto ]; then
	if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=kvm; else accel=tcg; fi
fi
kargs="$*"
# run ACCEL: boots the guest, console to stdout and $log. Under KVM, a guest that has not
# reached /init within RPD_KVM_BOOT_TIMEOUT seconds (default 30) is killed and run returns 1:
# the paravirtual /dev/kvm of some machines hangs a standard guest without a word.
run() {
	local a=$1 accel=$1 cpu pidfile=$log.qemu-pid qpid i smp=2 det=()
	case "$a" in
	kvm) a=kvm cpu=host ;;
	icount)
		a=tcg,thread=single cpu=max smp=1
		det=(-icount shift=0,align=off,sleep=off -seed 1 -rtc base=2026-01-01T00:00:00,clock=vm)
		[ -z "${RPD_QEMU_PLUGIN:-}" ] || det+=(-plugin "$RPD_QEMU_PLUGIN")
		;;
	*) a=tcg,thread=multi cpu=max ;;
	esac
	rm -f "$pidfile"
	: >"$log"
	timeout -k 5 "${RPD_VM_TIMEOUT:-600}" qemu-system-x86_64 \
		-accel "$a" -cpu "$cpu" -smp "$smp" -m "${RPD_VM_MEM:-1G}" "${det[@]}" \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 loglevel=5 panic=-1 oops=panic rcupdate.rcu_expedited=1 rpd.accel=$accel $kargs" \
		-display none -monitor none -chardev stdio,id=con,signal=off -serial chardev:con \
		-pidfile "$pidfile" -no-reboot </dev/null 2>&1 | tee "$log" &
	qpid=$!
	if [ "$a" = kvm ]; then
		for ((i = 0; i < ${RPD_KVM_BOOT_TIMEOUT:-30}; i++)); do
			grep -q "rust_pf_demo guest:" "$log" && break
			kill -0 "$qpid" 2>/dev/null || break
			sleep 1
		done
		if ! grep -q "rust_pf_demo guest:" "$log"; then
			[ ! -s "$pidfile" ] || kill -9 "$(cat "$pidfile")" 2>/dev/null
			wait "$qpid" 2>/dev/null
			return 1
		fi
	fi
	wait "$qpid"
}
rpd_say "booting $(basename "$kernel") with $accel, $([ "$accel" = icount ] && echo 1 vCPU || echo 2 vCPUs)" >&2
if ! run "$accel" && [ "$accel" = kvm ]; then
	why=$(grep -v '^\s*$' "$log" | tail -n 1)
	rpd_say "KVM did not boot the guest (${why:-no output within ${RPD_KVM_BOOT_TIMEOUT:-30}s}); falling back to TCG" >&2
	accel=tcg
	run tcg || true
fi
# QEMU 7.2's multi-threaded TCG can leave a vCPU running its old translation of kernel text that
# another vCPU has just patched (README, "Tracing the seed path"): when the kernel switches a
# static key during boot, that vCPU meets an int3 already taken away, "Oops: int3" before /init
# has run (seen once on Debian 7.2, in sched_clock_cpu). No module of ours is loaded then: boot
# once more, and say so.
if [ "$accel" = tcg ] && ! grep -q "rust_pf_demo guest:" "$log" && grep -q "Oops: int3" "$log"; then
	cp "$log" "$log.boot-oops"
	rpd_say "the guest oopsed during boot, before /init (Oops: int3: QEMU TCG ran a stale translation of patched kernel text; $log.boot-oops): booting again" >&2
	run tcg || true
fi
echo "RPD-ACCEL: $accel" >>"$log"
verdict=$(sed -n 's/^RPD-EXIT: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
if [ -z "$verdict" ]; then
	echo "vm: error: the guest gave no verdict (crash, panic or timeout after ${RPD_VM_TIMEOUT:-600}s); console log: $log" >&2
	exit 3
fi
exit "$verdict"
