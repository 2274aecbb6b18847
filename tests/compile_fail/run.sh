#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Compile-fail checks of pf/ (run by `make lint`, after a module build): builds
# tests/compile_fail/held_sock.rs with the exact rustc command kbuild built rust_pf_demo with
# (from .rust_pf_demo_rs.o.cmd), metadata and const evaluation only. As it is, the file must
# compile; with each rpd_cf_* cfg below it must fail, with the error given there.
#   tests/compile_fail/run.sh KDIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
kdir=${1:?usage: run.sh KDIR}
cmdfile=$root/.rust_pf_demo_rs.o.cmd
[ -f "$cmdfile" ] || { echo "compile_fail: no $cmdfile: build the module first (make)" >&2; exit 1; }
cmd=$(sed -n 's/^savedcmd_[^ ]*rust_pf_demo_rs.o := //p' "$cmdfile" | sed 's/ ; .*//')
rustc=
args=()
# 7.x's command line starts with OBJTREE=... as well, names `rustc` as found in PATH, and runs
# in the module's directory (relative paths); 6.12's in KDIR, absolute.
skip=
for a in $(sed -E 's/^([A-Z_]+=[^ ]* )+//' <<<"$cmd"); do
	[ -z "$skip" ] || { skip=; continue; }
	case "$a" in
	*/rustc | rustc) rustc=$a ;;
	--out-dir) skip=1 ;;
	--emit=* | "$root/rust_pf_demo.rs" | rust_pf_demo.rs | ./rust_pf_demo.rs | --crate-name | rust_pf_demo_rs) ;;
	# The shell quoting of kbuild's command line (-Zcrate-attr='feature(...)',
	# --check-cfg='cfg(...)'): the argument without its quotes.
	*\'*) args+=("${a//\'/}") ;;
	*) args+=("$a") ;;
	esac
done
[ -n "$rustc" ] || { echo "compile_fail: no rustc in $cmdfile" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
src=$root/tests/compile_fail/held_sock.rs
case "$cmd" in
*" rust_pf_demo.rs"*) wd=$root ;;
*) wd=$kdir ;;
esac
build() { # build CFG...: rustc's output in $out/log, its status returned
	local cfgs=()
	for c in "$@"; do cfgs+=(--cfg "$c"); done
	(cd "$wd" && RUSTC_BOOTSTRAP=1 RUST_MODFILE=$root/tests/compile_fail/held_sock "$rustc" "${args[@]}" \
		--crate-name rpd_compile_fail "${cfgs[@]}" --emit=metadata="$out/lib.rmeta" -Zwrite-long-types-to-disk=no \
		-Dwarnings "$src") >"$out/log" 2>&1
}
if ! build; then
	cat "$out/log" >&2
	echo "compile_fail: FAIL: held_sock.rs does not build without a compile-fail cfg" >&2
	exit 1
fi
echo "compile_fail: ok: held_sock.rs builds as it is"
fails=0
# cfg | what must appear in rustc's error | what the case proves
while IFS='|' read -r cfg pattern what; do
	if build "$cfg"; then
		echo "compile_fail: FAIL: $cfg compiled: $what" >&2
		fails=$((fails + 1))
	elif ! grep -q -- "$pattern" "$out/log"; then
		cat "$out/log" >&2
		echo "compile_fail: FAIL: $cfg failed without '$pattern': $what" >&2
		fails=$((fails + 1))
	else
		echo "compile_fail: ok: $cfg refused ($pattern): $what"
	fi
done <<'CASES'
rpd_cf_recv|no method named `recv_datagram` found|a blocking receive on a held sock (its socket may be closed)
rpd_cf_alloc|no method named `alloc_send` found|a send-buffer allocation on a held sock
rpd_cf_keep_sock|AlwaysRefCounted` is not satisfied|a counted reference to the operation's Sock
rpd_cf_align|larger alignment than the struct sock slab guarantees|a Family::Data aligned beyond ARCH_SLAB_MINALIGN
rpd_cf_cb_size|larger than the bytes of skb->cb a protocol may use|a Protocol::Cb over the 44 bytes of skb->cb before the socket core's own
rpd_cf_cb_align|larger alignment than skb->cb has|a Protocol::Cb aligned beyond skb->cb's 8
rpd_cf_child_wait|no method named `recv_datagram` found|a blocking receive on an unaccepted child (it has no socket, no wait queue)
rpd_cf_child_forge|mismatched types|accept returning a sock that is not a new child (one with a socket would be grafted twice)
rpd_cf_child_twice|use of moved value|a child kept after it was handed to accept (grafted)
rpd_cf_foreign_cb|expected .SkBuff<CompileFailFamily>., found .SkBuff<OtherProtocol>.|queueing a buffer whose control block is another protocol's
rpd_cf_queue_empty|expected .SkBuff<CompileFailFamily>., found .EmptySkb<CompileFailFamily>.|queueing (queue_rcv) a buffer that was never filled
rpd_cf_queue_msg_empty|expected .SkBuff<CompileFailFamily>., found .EmptySkb<CompileFailFamily>.|queueing (queue_msg) a buffer that was never filled
rpd_cf_clone_empty|no method named .clone_for. found for struct .EmptySkb|cloning a buffer that was never filled
rpd_cf_queue_after_failed_fill|expected .SkBuff<CompileFailFamily>., found .EmptySkb<CompileFailFamily>.|queueing a buffer after ignoring its fill's error
rpd_cf_use_after_failed_fill|borrow of moved value: .empty.|using a buffer after its fill failed (the fill consumed and freed it)
rpd_cf_fill_twice|use of moved value: .empty.|filling a buffer twice (skb_put twice: skb_over_panic)
rpd_cf_refill|no method named .fill_from_msg. found for struct .SkBuff|filling a filled buffer again
CASES
[ "$fails" = 0 ] || exit 1
