#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Benchmarks (make bench): boots the VM once, measures the family against AF_UNIX SOCK_DGRAM
# and UDP on loopback, and its SOCK_SEQPACKET protocol against AF_UNIX SOCK_SEQPACKET, with the
# same harness (tests/pfdemo/src/bench.rs), and writes results/bench.{json,md,svg}. Figures, never assertions: nothing here passes or fails on speed.
# RPD_BENCH_FILTER=TEXT runs only the figures whose metric contains TEXT (rpd.filter=, see bench.rs).
set -euo pipefail
RPD_STAGE=bench
. "$(dirname "$0")/lib.sh"
rpd_prepare_vm
log=$RPD_ROOT/build/vm-bench.log
RPD_VM_TIMEOUT=${RPD_VM_TIMEOUT:-1500} "$RPD_ROOT/qemu/run-vm.sh" "$RPD_BZIMAGE" "$RPD_INITRD" "$log" \
	rpd.mode=bench ${RPD_BENCH_FILTER:+"rpd.filter=$RPD_BENCH_FILTER"} >/dev/null
accel=$(sed -n 's/^RPD-ACCEL: //p' "$log" | tail -n1)
mkdir -p "$RPD_ROOT/results"
python3 "$RPD_ROOT/scripts/bench-report.py" "$log" "$RPD_ROOT/results" \
	--ko "$RPD_ROOT/rust_pf_demo.ko" --seq-ko "$RPD_ROOT/rust_pf_demo_seqpacket.ko" --machine "QEMU ${accel^^}, 2 vCPUs, on a $(nproc)-core $(uname -m) host"
