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
for a in $(sed 's/^RUST_MODFILE=[^ ]* //' <<<"$cmd"); do
	case "$a" in
	"$RPD_RUSTC") ;;
	--emit=* | --out-dir | "$RPD_ROOT/" | -Zbinary_dep_depinfo=y | -Csymbol-mangling-version=* | -Cembed-bitcode=n | -Clto=n | -Ccodegen-units=1) ;;
	# The shell quoting of kbuild's command line (-Zcrate-attr='feature(...)',
	# --check-cfg='cfg(...)'): the argument without its quotes.
	*\'*) args+=("${a//\'/}") ;;
	*) args+=("$a") ;;
	esac
done
rm -rf "$RPD_ROOT/build/doc"
cd "$kdir"
RUST_MODFILE=$RPD_ROOT/rust_pf_demo RUSTC_BOOTSTRAP=1 /usr/bin/rustdoc "${args[@]}" -Dwarnings --document-private-items -o "$RPD_ROOT/build/doc"
rpd_say "rustdoc clean: $RPD_ROOT/build/doc/rust_pf_demo_rs/index.html"
