#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Reads a VM console log, prints a line per KTAP result (a failure with its diagnostics) and
# the closing line `N passed, N failed, N skipped`. The guest's kernel log dump must be
# present and clean, and the guest's verdict must agree; otherwise that counts as a failure.
#   scripts/ktap-summary.sh CONSOLE-LOG GUEST-VERDICT
set -uo pipefail
log=$1 verdict=$2
bad='WARNING:|BUG:|BUG |Oops|KASAN|UBSAN|refcount_t:|possible circular locking|possible recursive locking|inconsistent lock state|suspected memory leak|unreferenced object|Kernel panic|Call Trace'
pass=0 fail=0 skip=0
declare -A diag
# The guest's selftests/run_tests.sh frames each test program's KTAP block with
# `RPD-SELFTEST: NAME` ... `RPD-SELFTEST-EXIT: NAME STATUS`: the program's tests are shown as
# `NAME: test`, and a block whose results do not match its plan or whose exit status is a failure
# without a failing test counts as a failure. A log without frames is one anonymous block.
prefix='' block='' plan='' results=0 block_fail=0
end_block() { # NAME STATUS
	if [ -n "$plan" ] && [ "$results" != "$plan" ]; then
		fail=$((fail + 1)); echo "FAIL  $1: plan 1..$plan but $results result(s): the program stopped early"
	fi
	case "$2" in
	0 | 4) ;;
	*) [ "$block_fail" != 0 ] || { fail=$((fail + 1)); echo "FAIL  $1: exit status $2 with no failing test"; } ;;
	esac
}
unfinished_block() { # the current block has no RPD-SELFTEST-EXIT line
	fail=$((fail + 1)); echo "FAIL  $block: no exit status (the program did not finish)"
	block_fail=1; end_block "$block" unknown
}
while IFS= read -r line; do
	line=${line%$'\r'}
	case "$line" in
	"RPD-SELFTEST: "*)
		[ -z "$block" ] || unfinished_block
		block=${line#RPD-SELFTEST: }; prefix="$block: "; plan='' results=0 block_fail=0; diag=()
		;;
	"RPD-SELFTEST-EXIT: "*)
		read -r b st <<<"${line#RPD-SELFTEST-EXIT: }"; end_block "$b" "$st"; prefix='' block='' plan=''
		;;
	1..*) plan=${line#1..}; plan=${plan%% *} ;;
	"Bail out!"*) fail=$((fail + 1)); block_fail=1; echo "FAIL  ${prefix}${line}" ;;
	"# "*:*) t=${line#\# }; t=${t%%:*}; diag[$t]+="      ${line#\# $t: }"$'\n' ;;
	"ok "*"# SKIP"*) skip=$((skip + 1)); results=$((results + 1)); echo "SKIP  ${prefix}${line#ok [0-9]* }" ;;
	"ok "*) pass=$((pass + 1)); results=$((results + 1)); echo "PASS  ${prefix}${line#ok [0-9]* }" ;;
	"not ok "*)
		fail=$((fail + 1)); results=$((results + 1)); block_fail=1; name=${line#not ok [0-9]* }
		echo "FAIL  ${prefix}$name"; printf '%s' "${diag[$name]:-}"
		;;
	esac
done <"$log"
[ -z "$block" ] || unfinished_block

dmesg=$(sed -n '/^----- guest dmesg -----/,/^----- end guest dmesg -----/p' "$log")
if [ -z "$dmesg" ]; then
	fail=$((fail + 1)); echo "FAIL  host: guest kernel log (no dump: the guest did not finish, see $log); its last lines:"
	tail -n 15 "$log" | sed 's/^/      /'
elif hits=$(grep -E "$bad" <<<"$dmesg"); then
	fail=$((fail + 1)); echo "FAIL  host: guest kernel log is dirty:"; sed 's/^/      /' <<<"$hits"
else
	pass=$((pass + 1)); echo "PASS  host: guest kernel log clean after the suite"
fi
if [ "$verdict" != 0 ] && [ "$fail" = 0 ]; then
	fail=$((fail + 1)); echo "FAIL  host: guest exit status $verdict with no failing test"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
