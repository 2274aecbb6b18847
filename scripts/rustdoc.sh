#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the module's rustdoc (build/doc/rust_pf_demo_rs/) with the exact flags kbuild compiled
# it with (taken from .rust_pf_demo_rs.o.cmd), warnings as errors. The kernel has no rustdoc
# target for M= modules. Run after a module build (`make`).
set -euo pipefail
RPD_STAGE=rustdoc
. "$(dirname "$0")/lib.sh"
kdir=${1:-$(rpd_kernel_entry)/linux}
cmdfile=$RPD_ROOT/.rust_pf_demo_rs.o.cmd
[ -f "$cmdfile" ] || rpd_die "no $cmdfile: build the module first (make)"
cmd=$(sed -n 's/^savedcmd_[^ ]*rust_pf_demo_rs.o := //p' "$cmdfile" | sed 's/ ; .*//')
args=()
# 7.x's command line starts with OBJTREE=... as well, names `rustc` as found in PATH, and runs
# in the module's directory (relative paths: ./, rust_pf_demo.rs); 6.12's in KDIR, absolute.
skip=
for a in $(sed -E 's/^([A-Z_]+=[^ ]* )+//' <<<"$cmd"); do
	[ -z "$skip" ] || { skip=; continue; }
	case "$a" in
	"$RPD_RUSTC" | rustc) ;;
	--out-dir) skip=1 ;;
	--emit=* | "$RPD_ROOT/" | -Zbinary_dep_depinfo=y | -Csymbol-mangling-version=* | -Cembed-bitcode=n | -Clto=n | -Ccodegen-units=1) ;;
	# The shell quoting of kbuild's command line (-Zcrate-attr='feature(...)',
	# --check-cfg='cfg(...)'): the argument without its quotes.
	*\'*) args+=("${a//\'/}") ;;
	*) args+=("$a") ;;
	esac
done
rm -rf "$RPD_ROOT/build/doc"
case "$cmd" in
*" rust_pf_demo.rs"*) cd "$RPD_ROOT" ;;
*) cd "$kdir" ;;
esac
RUST_MODFILE=$RPD_ROOT/rust_pf_demo RUSTC_BOOTSTRAP=1 /usr/bin/rustdoc "${args[@]}" -Dwarnings --document-private-items -o "$RPD_ROOT/build/doc"
rpd_say "rustdoc clean: $RPD_ROOT/build/doc/rust_pf_demo_rs/index.html"
