# SPDX-License-Identifier: GPL-2.0
# Module helpers for the shell selftests (source after ktap_helpers.sh).

MOD=rust_pf_demo
MODDIR=/lib/modules/$(uname -r)/extra
PFDEMO=${PFDEMO:-/bin/pfdemo}

mod_loaded() { [ -d /sys/module/$MOD ]; }
mod_refcnt() { cat /sys/module/$MOD/refcnt 2>/dev/null || echo none; }

# Unloads rust_pf_demo if it is loaded; fails the test if it cannot.
ensure_unloaded() {
	if mod_loaded; then
		rmmod $MOD 2>/dev/null || ktap_fail_test "setup: rmmod $MOD failed (refcnt $(mod_refcnt))"
	fi
	! mod_loaded || ktap_fail_test "setup: $MOD still loaded"
}

# expect_refcnt N WHAT
expect_refcnt() {
	[ "$(mod_refcnt)" = "$1" ] || ktap_fail_test "$2: refcnt $(mod_refcnt), expected $1"
}
