#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make trace: boots the VM on a kernel with ftrace and prints the real call graph of the seed's
# cases (selftests/trace.sh show), limited to the seed's steps and annotated with them.
#
#   scripts/trace.sh [--readme] [CASE...]   cases: first loaded failing close (default: all)
#   CALL='CMD' [FUNCS='F1 F2 ...'] scripts/trace.sh
#                                           any other command, run as root in the guest (busybox
#                                           sh, /bin/pfdemo), its graph limited to and rooted at
#                                           FUNCS (default: the seed's functions)
#   --readme                                also rewrites README.md's first-socket comparison
#                                           (between <!-- trace:begin --> and <!-- trace:end -->)
#
# Kernel: the self-built 6.12 kernel (its tracing: kernel/flavours/trace.config; RPD_FLAVOUR=debug
# the debug one), or Debian's own image with RPD_KERNEL=debian-X.Y (there the
# module's Rust functions cannot be kprobed: the graph says so in one line and shows what they
# call); one line and exit 1 when that kernel has no tracing. The full output is kept in
# build/trace.txt.
set -euo pipefail
RPD_STAGE=trace
. "$(dirname "$0")/lib.sh"
cases_all="first loaded failing close denied_create denied_post"
readme=0
if [ "${1:-}" = --readme ]; then readme=1; shift; fi
cases=("$@")
[ ${#cases[@]} -gt 0 ] || read -r -a cases <<<"${CASES:-$cases_all}"
for c in "${cases[@]}"; do
	case " $cases_all " in *" $c "*) ;; *)
		echo "trace: unknown case '$c' (cases: $cases_all)" >&2
		exit 2 ;;
	esac
done
[ -z "${CALL:-}" ] || [ $readme = 0 ] || rpd_die "--readme shows the seed's first case, not CALL"
rpd_prepare_vm
if rpd_is_debian; then
	config=$RPD_ENTRY/config what="Debian's $(basename "$RPD_ENTRY")"
else
	config=$("$RPD_ROOT/scripts/build-kernel.sh")/.config what="the ${RPD_FLAVOUR:-default} kernel"
fi
missing=$(rpd_tracing_missing "$config")
[ -z "$missing" ] ||
	{ echo "trace: $what has no tracing (${missing%% *} is not set in $config): use the default or the debug kernel" >&2; exit 1; }
initrd=$RPD_INITRD
if [ -n "${CALL:-}" ]; then
	# The command (and its functions) as an extra initramfs archive: the kernel unpacks
	# concatenated cpio archives in turn.
	extra=$(mktemp -d)
	trap 'rm -rf "$extra"' EXIT
	printf '%s\n' "$CALL" >"$extra/rpd-trace.call"
	[ -z "${FUNCS:-}" ] || printf '%s\n' "$FUNCS" >"$extra/rpd-trace.funcs"
	initrd=$RPD_ROOT/build/initramfs-trace.cpio
	{ cat "$RPD_INITRD"; (cd "$extra" && find . -name 'rpd-*' -print0 | cpio --quiet -o -0 -H newc -R 0:0); } >"$initrd"
fi
log=$RPD_ROOT/build/vm-trace.log
vm=0
IFS=, eval 'arg="${cases[*]}"'
"$RPD_ROOT/qemu/run-vm.sh" "$RPD_BZIMAGE" "$initrd" "$log" rpd.mode=trace rpd.trace="$arg" \
	>"$RPD_ROOT/build/vm-trace.console" || vm=$?
# The graphs (between the guest's markers) and the guest's one-line errors.
tr -d '\r' <"$log" | awk '/^\[ *[0-9.]+\] /{next} /^RPD-TRACE-BEGIN: /{on=1; next} /^RPD-TRACE-END: /{on=0; print ""; next} on || /^trace: /' |
	tee "$RPD_ROOT/build/trace.txt"
if grep -qE 'WARNING:|BUG|Oops|refcount_t:|KASAN|UBSAN' "$log"; then
	echo "trace: the guest's kernel log has a warning (full log: $log):" >&2
	grep -E 'WARNING:|BUG|Oops|refcount_t:|KASAN|UBSAN' "$log" | head -n 5 >&2
	exit 1
fi
[ "$vm" = 0 ] || { echo "trace: the guest failed (verdict $vm); console: $log" >&2; exit 1; }
if [ $readme = 1 ]; then
	# The seed (the document's call trace, as annotated) beside the real graph, first case.
	block=$(awk '/^== first:/{on=1; next} /^== /{on=0} on && NF' "$RPD_ROOT/build/trace.txt" |
		awk -F' <= ' '/^  (note|result): /{ notes = notes $0 "\n"; next }
			{ sub(/ +$/, "", $1); printf "%-66s | %s\n", $2, $1 }
			END { printf "\n%s", notes }')
	[ -n "$block" ] || rpd_die "no first-socket graph in build/trace.txt"
	python3 - "$RPD_ROOT/README.md" "$block" "${RPD_FLAVOUR:-default}" <<'EOF'
import re, sys
path, block, flavour = sys.argv[1], sys.argv[2], sys.argv[3]
head = "%-66s | %s" % ("the seed's step (the document)", "the running kernel (function_graph: task, graph)")
text = ("<!-- trace:begin -->\n<!-- made by `scripts/trace.sh --readme` (%s kernel); do not edit -->\n"
        "```\n%s\n%s\n%s\n```\n<!-- trace:end -->" % (flavour, head, "-" * 66 + "-+-" + "-" * 60, block))
s = open(path).read()
new, n = re.subn(r"<!-- trace:begin -->.*?<!-- trace:end -->", lambda m: text, s, flags=re.S)
if n != 1:
    sys.exit("trace: README.md has no <!-- trace:begin --> ... <!-- trace:end --> block")
open(path, "w").write(new)
EOF
	rpd_say "README.md: first-socket comparison rewritten"
fi
