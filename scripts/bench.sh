#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Benchmarks (make bench): measures the family against AF_UNIX SOCK_DGRAM and UDP on loopback,
# and its SOCK_SEQPACKET protocol against AF_UNIX SOCK_SEQPACKET, with the same harness
# (tests/pfdemo/src/bench.rs), in two modes, one VM boot each:
#   wall    wall-clock rates on 2 vCPUs of multi-threaded TCG (or KVM): what the host gives,
#           moves with the host's load; results/bench[-KERNEL].{json,md,svg}
#   icount  the deterministic mode: one vCPU, single-threaded TCG, -icount shift=0 (the guest's
#           clock counts executed instructions), fixed seeds (qemu/run-vm.sh RPD_ICOUNT=1):
#           guest instructions per operation; results/icount-KERNEL.{json,md}
#   profile the icount VM with QEMU's rpdprof plugin (qemu/plugin/rpdprof.c, built here with
#           gcc): instructions per operation by kernel function; results/profile-KERNEL.{json,md}
#           (scripts/bench-profile.py)
# MODE=wall|icount|both|profile (default both). RPD_BENCH_RESULTS=DIR writes the icount results
# there instead of results/ (.ci/run's comparison with the committed ones). RPD_BENCH_RUNS=N boots the icount VM N times (default 1)
# and reports every run's figure and the spread between runs.
# Figures, never assertions: nothing here passes or fails on speed. On 6.12 the kernel is its
# bench flavour (no tracing compiled in), built on first use.
# RPD_BENCH_FILTER=TEXT runs only the figures whose metric contains TEXT (rpd.filter=, see bench.rs).
set -euo pipefail
RPD_STAGE=bench
. "$(dirname "$0")/lib.sh"
mode=${MODE:-both}
case "$mode" in wall | icount | both | profile) ;; *) rpd_die "MODE=$mode: choose wall, icount, both or profile" ;; esac
# 6.12: the bench flavour, the kernel without tracing on which the committed 6.12 figures were
# measured (scripts/lib.sh, rpd_flavour_frags); RPD_FLAVOUR= (empty) the default kernel.
if ! rpd_is_debian && [ -z "${RPD_FLAVOUR+set}" ]; then
	export RPD_FLAVOUR=bench
fi
rpd_prepare_vm
mkdir -p "$RPD_ROOT/results"
filter=(${RPD_BENCH_FILTER:+"rpd.filter=$RPD_BENCH_FILTER"})
# The guest command line of the deterministic mode: no kernel or user address randomisation,
# the TSC trusted (no clocksource watchdog timer; the vDSO reads it).
icount_args=(rpd.mode=bench rpd.icount nokaslr norandmaps tsc=reliable)
if [ "$mode" = profile ]; then
	rpd_need gcc "install Debian's gcc"
	plugin=$RPD_ROOT/build/rpdprof.so
	gcc -O2 -Wall -Wextra -shared -fPIC -o "$plugin" "$RPD_ROOT/qemu/plugin/rpdprof.c"
	log=$RPD_ROOT/build/vm-bench-profile.log
	counts=$RPD_ROOT/build/vm-bench-profile.counts
	RPD_ICOUNT=1 RPD_QEMU_PLUGIN="$plugin,out=$counts" RPD_VM_TIMEOUT=${RPD_VM_TIMEOUT:-1500} \
		"$RPD_ROOT/qemu/run-vm.sh" "$RPD_BZIMAGE" "$RPD_INITRD" "$log" "${icount_args[@]}" rpd.profile \
		"${filter[@]}" >/dev/null
	python3 "$RPD_ROOT/scripts/bench-profile.py" "$log" "$counts" "$RPD_ROOT/results/profile-$RPD_KERNEL" \
		--kernel "$RPD_KERNEL"
	exit 0
fi
if [ "$mode" != icount ]; then
	log=$RPD_ROOT/build/vm-bench.log
	RPD_VM_TIMEOUT=${RPD_VM_TIMEOUT:-1500} "$RPD_ROOT/qemu/run-vm.sh" "$RPD_BZIMAGE" "$RPD_INITRD" "$log" \
		rpd.mode=bench "${filter[@]}" >/dev/null
	accel=$(sed -n 's/^RPD-ACCEL: //p' "$log" | tail -n1)
	out=$RPD_ROOT/results
	[ "$RPD_KERNEL" = 6.12 ] || out=$RPD_ROOT/results/wall-$RPD_KERNEL
	python3 "$RPD_ROOT/scripts/bench-report.py" "$log" "$out" \
		--ko "$RPD_ROOT/rust_pf_demo.ko" --seq-ko "$RPD_ROOT/rust_pf_demo_seqpacket.ko" \
		--machine "QEMU ${accel^^}, 2 vCPUs, on a $(nproc)-core $(uname -m) host, kernel $RPD_KERNEL"
fi
if [ "$mode" != wall ]; then
	logs=()
	for ((i = 1; i <= ${RPD_BENCH_RUNS:-1}; i++)); do
		log=$RPD_ROOT/build/vm-bench-icount.$i.log
		rpd_say "deterministic run $i of ${RPD_BENCH_RUNS:-1} (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
		start=$(date +%s)
		RPD_ICOUNT=1 RPD_VM_TIMEOUT=${RPD_VM_TIMEOUT:-1500} "$RPD_ROOT/qemu/run-vm.sh" "$RPD_BZIMAGE" \
			"$RPD_INITRD" "$log" "${icount_args[@]}" "${filter[@]}" >/dev/null
		echo "RPD-HOST: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end, $(($(date +%s) - start)) s" >>"$log"
		logs+=("$log")
	done
	out=${RPD_BENCH_RESULTS:-$RPD_ROOT/results}
	mkdir -p "$out"
	python3 "$RPD_ROOT/scripts/bench-report.py" --icount "$out/icount-$RPD_KERNEL" \
		--kernel "$RPD_KERNEL" "${logs[@]}"
	# Every kernel's figures side by side (results/icount.md).
	python3 "$RPD_ROOT/scripts/bench-report.py" --summary "$out"
fi
