# SPDX-License-Identifier: GPL-2.0
#
# KTAP output for the shell selftests (Documentation/dev-tools/ktap.rst), modelled on the
# kernel's tools/testing/selftests/kselftest/ktap_helpers.sh, plus a small runner:
#
#   . ./ktap_helpers.sh
#   KTAP_TESTS="first_test second_test"    # each is a shell function of that name
#   first_test() { ...; [ "$x" = 1 ] || ktap_fail_test "x is $x, expected 1"; }
#   ktap_main "$@"                          # $1: optional name filter
#
# A test function runs in a subshell: ktap_fail_test prints its reason as a `# NAME: ...`
# diagnostic (the form the host runner attaches to the failure) and ends it; ktap_skip_test
# ends it as a skip with its reason. Exit status as kselftest: 0 all passed, 1 a failure,
# 4 everything skipped.

KTAP_TESTNO=1
KTAP_CNT_PASS=0
KTAP_CNT_FAIL=0
KTAP_CNT_SKIP=0

KSFT_PASS=0
KSFT_FAIL=1
KSFT_XFAIL=2
KSFT_XPASS=3
KSFT_SKIP=4

KSFT_NUM_TESTS=0
KTAP_CURRENT=
KTAP_SKIP_FILE=/tmp/ktap-skip.$$

ktap_print_header() {
	echo "TAP version 13"
}

ktap_print_msg() {
	echo "# $*"
}

ktap_set_plan() {
	KSFT_NUM_TESTS="$1"
	echo "1..$KSFT_NUM_TESTS"
}

ktap_skip_all() {
	echo "1..0 # SKIP $*"
}

__ktap_test() {
	result="$1" description="$2" directive="${3:-}"
	if [ -n "$directive" ]; then
		echo "$result $KTAP_TESTNO $description # $directive"
	else
		echo "$result $KTAP_TESTNO $description"
	fi
	KTAP_TESTNO=$((KTAP_TESTNO + 1))
}

ktap_test_pass() {
	__ktap_test "ok" "$1"
	KTAP_CNT_PASS=$((KTAP_CNT_PASS + 1))
}

# ktap_test_skip NAME [REASON]
ktap_test_skip() {
	__ktap_test "ok" "$1" "SKIP${2:+ $2}"
	KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1))
}

ktap_test_fail() {
	__ktap_test "not ok" "$1"
	KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1))
}

ktap_print_totals() {
	echo "# Totals: pass:$KTAP_CNT_PASS fail:$KTAP_CNT_FAIL xfail:0 xpass:0 skip:$KTAP_CNT_SKIP error:0"
}

ktap_exit_fail_msg() {
	echo "Bail out! $*"
	ktap_print_totals
	exit "$KSFT_FAIL"
}

ktap_finished() {
	ktap_print_totals
	if [ "$KTAP_CNT_FAIL" -gt 0 ] || [ $((KTAP_CNT_PASS + KTAP_CNT_SKIP)) -ne "$KSFT_NUM_TESTS" ]; then
		exit "$KSFT_FAIL"
	elif [ "$KTAP_CNT_PASS" -eq 0 ] && [ "$KTAP_CNT_SKIP" -gt 0 ]; then
		exit "$KSFT_SKIP"
	fi
	exit "$KSFT_PASS"
}

# Inside a test function: a diagnostic line attached to the current test.
ktap_diag() {
	echo "# $KTAP_CURRENT: $*"
}

# Inside a test function: fail the test with REASON (ends the test's subshell).
ktap_fail_test() {
	ktap_diag "$*"
	exit "$KSFT_FAIL"
}

# Inside a test function: skip the test with REASON (ends the test's subshell).
ktap_skip_test() {
	echo "$*" >"$KTAP_SKIP_FILE"
	exit "$KSFT_SKIP"
}

# ktap_run_test NAME: runs the function NAME in a subshell and prints its result line.
ktap_run_test() {
	KTAP_CURRENT=$1
	rm -f "$KTAP_SKIP_FILE"
	("$1")
	case $? in
	0) ktap_test_pass "$1" ;;
	"$KSFT_SKIP") ktap_test_skip "$1" "$(cat "$KTAP_SKIP_FILE" 2>/dev/null)" ;;
	*) ktap_test_fail "$1" ;;
	esac
	rm -f "$KTAP_SKIP_FILE"
}

# ktap_main [FILTER]: runs every test of $KTAP_TESTS whose name contains FILTER, then exits.
ktap_main() {
	local filter="${1:-}" selected="" t n=0
	for t in $KTAP_TESTS; do
		case "$t" in *"$filter"*) selected="$selected $t" n=$((n + 1)) ;; esac
	done
	ktap_print_header
	ktap_set_plan "$n"
	for t in $selected; do
		ktap_run_test "$t"
	done
	ktap_finished
}
