#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Reads a VM console log, prints a line per KTAP result (a failure with its diagnostics) and
# the closing line `N passed, N failed, N skipped`. The guest's kernel log dump must be
# present and clean, and the guest's verdict must agree; otherwise that counts as a failure.
#   scripts/ktap-summary.sh CONSOLE-LOG GUEST-VERDICT
set -uo pipefail
log=$1 verdict=$2
bad='WARNING:|BUG:|BUG |Oops|KASAN|UBSAN|refcount_t:|possible circular locking|possible recursive locking|inconsistent lock state|kmemleak|Kernel panic|Call Trace'
pass=0 fail=0 skip=0
declare -A diag
while IFS= read -r line; do
	line=${line%$'\r'}
	case "$line" in
	"# "*:*) t=${line#\# }; t=${t%%:*}; diag[$t]+="      ${line#\# $t: }"$'\n' ;;
	"ok "*"# SKIP"*) skip=$((skip + 1)); echo "SKIP  ${line#ok [0-9]* }" ;;
	"ok "*) pass=$((pass + 1)); echo "PASS  ${line#ok [0-9]* }" ;;
	"not ok "*)
		fail=$((fail + 1)); name=${line#not ok [0-9]* }
		echo "FAIL  $name"; printf '%s' "${diag[$name]:-}"
		;;
	esac
done <"$log"

dmesg=$(sed -n '/^----- guest dmesg -----/,/^----- end guest dmesg -----/p' "$log")
if [ -z "$dmesg" ]; then
	fail=$((fail + 1)); echo "FAIL  host: guest kernel log (no dump: the guest did not finish, see $log)"
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
