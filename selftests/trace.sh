#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The seed path as the running kernel executes it: ftrace's function_graph tracer, limited to
# the seed's steps (set_ftrace_filter), rooted at the syscalls of each case (set_graph_function),
# with the module's Rust callbacks as kprobe events (Rust code has no fentry: the function
# tracer cannot see it) and the module:module_get/module_put/module_request trace events.
#
#   trace.sh [FILTER]              KTAP tests: each case's steps appear in the seed's order
#   trace.sh show [CASE...]        the annotated call graph of each case (make trace)
#   trace.sh call 'CMD' [FUNC...]  the graph of any other command, limited to FUNC... (default:
#                                  the seed's functions), rooted at every FUNC
#
# Cases: first (socket(18, SOCK_DGRAM, 0), module unloaded: request_module, modprobe, the
# module's init), loaded (the same, module loaded), failing (SOCK_STREAM: our create fails,
# __sock_create's error path), close (close() of an open socket). Tracing is switched off and
# every setting reset on exit, whatever happened.
cd "$(dirname "$0")" || exit 1
. ./ktap_helpers.sh
. ./lib.sh

T=/sys/kernel/tracing
CASES="first loaded failing close denied_create denied_post"
RAW=/tmp/rpd-trace

# The seed's functions (C): the graph is limited to those the kernel has as functions.
SEED_FUNCS="__sys_socket __sys_socket_create __sock_create security_socket_create sock_alloc
__request_module call_usermodehelper_exec __x64_sys_init_module __x64_sys_finit_module
load_module do_init_module do_one_initcall proto_register register_pernet_subsys sock_register
try_module_get sk_alloc sock_init_data module_put security_socket_post_create sock_map_fd
sock_alloc_file fd_install sock_release sock_close __sock_release sk_free"
# Where each case's graph starts (set_graph_function): the syscall, and the modprobe helper's
# init_module(2) (another task) for the autoload.
ROOTS_SOCKET="__sys_socket __x64_sys_init_module __x64_sys_finit_module"
ROOTS_CLOSE="sock_close"
# The module's Rust functions, as kprobe events (v0-mangled monomorphised callbacks).
# create is the family's (pf/family.rs, for DemoFamily), release and the destructor the datagram
# protocol's (pf/callbacks.rs, for DemoDgram).
PROBES="create:6family15create_callbackNt release:9callbacks16release_callbackNtB[0-9A-Za-z]*_9DemoDgram
destruct:9callbacks17destruct_callbackNtB[0-9A-Za-z]*_9DemoDgram"

# tracing_available: 0 when tracefs with function_graph and kprobe events is there.
tracing_why=
tracing_available() {
	if [ ! -d $T ]; then
		tracing_why="this kernel has no tracefs (/sys/kernel/tracing: CONFIG_FTRACE is not set); the self-built 6.12 kernel and Debian's have it"
		return 1
	fi
	[ -e $T/trace ] || mount -t tracefs nodev $T 2>/dev/null
	if ! grep -qw function_graph $T/available_tracers 2>/dev/null; then
		tracing_why="this kernel's tracefs has no function_graph tracer (CONFIG_FUNCTION_GRAPH_TRACER is not set); the self-built 6.12 kernel and Debian's have it"
		return 1
	fi
	if [ ! -e $T/kprobe_events ]; then
		tracing_why="this kernel has no kprobe events (CONFIG_KPROBE_EVENTS is not set); the self-built 6.12 kernel and Debian's have it"
		return 1
	fi
}

# list_funcs: the kernel's traceable functions, for has_func.
list_funcs() { grep -v '^ *$' $T/available_filter_functions | awk '{print $1}' >/tmp/rpd-ftrace-funcs; }

# has_func NAME: NAME is a traceable function of this kernel (not inlined, not a stub).
has_func() { grep -q "^$1\$" /tmp/rpd-ftrace-funcs; }

# trace_reset: tracing off, nop tracer, no filter, no event, no kprobe, empty buffer.
trace_reset() {
	[ -e $T/tracing_on ] || return 0
	echo 0 >$T/tracing_on
	echo nop >$T/current_tracer
	echo >$T/set_ftrace_filter
	echo >$T/set_graph_function
	echo 0 >$T/events/enable
	echo >$T/kprobe_events 2>/dev/null
	echo >$T/trace
}

# probe DEFINITION: a kprobe event; on error, the kernel's reason (tracefs error_log).
probe() {
	echo "$1" >>$T/kprobe_events 2>/dev/null ||
		{ echo "kprobe event '$1': $(tail -n 3 $T/error_log 2>/dev/null | tr '\n' ' ')"; return 1; }
}

# setup_probes: the module's symbols from /proc/kallsyms (it is loaded once for that when it is
# not), defined as MODULE:SYMBOL kprobe events, which survive its unload and are armed again
# when it is next loaded (before its init runs). A kernel without CONFIG_KPROBE_EVENTS_ON_NOTRACE
# (Debian's) refuses kprobes on functions without fentry, as every Rust function is: then no
# probe is set, $NOPROBES holds why (one line), and the graph shows what the callbacks call.
NOPROBES=/tmp/rpd-noprobes
setup_probes() {
	was_loaded=1
	mod_loaded || { was_loaded=0; modprobe $MOD || return 1; }
	for p in $PROBES; do
		name=${p%%:*} pat=${p#*:}
		sym=$(grep "\[$MOD\]" /proc/kallsyms | grep -v from_result | grep -- "$pat" | awk '{print $3; exit}')
		[ -n "$sym" ] || { echo "no $name symbol (*$pat*) of $MOD in /proc/kallsyms"; return 1; }
		if ! out=$(probe "p:rpd/rpd_$name $MOD:$sym"); then
			dmesg | grep -q "trace_kprobe: Could not probe notrace function.*\[$MOD\]" || { echo "$out"; return 1; }
			echo "this kernel refuses kprobes on the module's Rust functions (no fentry: 'notrace'; CONFIG_KPROBE_EVENTS_ON_NOTRACE is not set, as in Debian's kernels): our create, release and destructor are not shown, what they call is" >$NOPROBES
			echo >$T/kprobe_events
			break
		fi
		[ "$name" != create ] || probe "r:rpd/rpd_create_ret $MOD:$sym ret=\$retval:s32" || return 1
	done
	# The seed's two security hooks' return values (C functions: kretprobes work everywhere).
	for f in security_socket_create security_socket_post_create; do
		has_func $f || continue
		probe "r:rpd/${f#security_}_ret $f ret=\$retval:s32" || return 1
	done
	[ $was_loaded = 1 ] || rmmod $MOD
}

# probes: the module's callbacks are kprobe events in this run.
probes() { [ ! -e $NOPROBES ]; }

# start ROOTS...: function_graph over the seed's functions, rooted at ROOTS.
start() { graph_lists "$@" && start_lists; }

# graph_lists ROOTS...: $funcs (the seed's functions) and $roots, those this kernel can trace.
graph_lists() {
	funcs=
	for f in $SEED_FUNCS ${EXTRA_FUNCS:-}; do has_func "$f" && funcs="$funcs $f"; done
	roots=
	for f in "$@"; do has_func "$f" && roots="$roots $f"; done
}

# start_lists: function_graph over $funcs, rooted at $roots, the module events on.
start_lists() {
	echo "$funcs" | tr ' ' '\n' | grep . >$T/set_ftrace_filter || return 1
	echo "$roots" | tr ' ' '\n' | grep . >$T/set_graph_function || return 1
	echo function_graph >$T/current_tracer
	for o in funcgraph-proc nofuncgraph-cpu nofuncgraph-duration nofuncgraph-overhead \
		nofuncgraph-irqs funcgraph-tail; do
		echo $o >$T/trace_options 2>/dev/null
	done
	for e in module_get module_put module_request module_load; do
		echo 1 >$T/events/module/$e/enable
	done
	[ ! -d $T/events/rpd ] || echo 1 >$T/events/rpd/enable
	echo >$T/trace
	echo 1 >$T/tracing_on
}

# stop OUT: tracing off, the trace into OUT, everything reset.
stop() {
	echo 0 >$T/tracing_on
	cat $T/trace >"$1"
	trace_reset
}

# trace_socket CASE TYPE: socket(18, TYPE, 0) by pfdemo under the socket() roots, the raw trace
# in $RAW.CASE.
trace_socket() {
	start $ROOTS_SOCKET || return 1
	"$PFDEMO" sock 18 "$2" 0 >$RAW.$1.out
	stop $RAW.$1
}

# run_case CASE: runs the case under the tracer; the raw trace in $RAW.CASE, and the refcnt
# before/after in $RAW.CASE.refcnt.
run_case() {
	case "$1" in
	first)
		ensure_unloaded_quiet || return 1
		setup_probes || return 1
		trace_socket $1 2
		;;
	loaded)
		mod_loaded || modprobe $MOD || return 1
		setup_probes || return 1
		trace_socket $1 2
		;;
	failing)
		mod_loaded || modprobe $MOD || return 1
		setup_probes || return 1
		before=$(mod_refcnt)
		trace_socket $1 1 || return 1
		echo "$before $(mod_refcnt)" >$RAW.$1.refcnt
		;;
	close)
		mod_loaded || modprobe $MOD || return 1
		setup_probes || return 1
		hold_socket /tmp/rpd-trace.fifo $RAW.$1.out "$PFDEMO" sock --hold 18 2 0 || return 1
		grep -q . $RAW.$1.out || { exec 3>&-; wait $pid; return 1; }
		before=$(mod_refcnt)
		start $ROOTS_CLOSE || { exec 3>&-; wait $pid; return 1; }
		exec 3>&-
		wait $pid
		stop $RAW.$1
		echo "$before $(mod_refcnt)" >$RAW.$1.refcnt
		rm -f /tmp/rpd-trace.fifo
		;;
	denied_create | denied_post)
		# A BPF LSM program (pfdemo lsm-sock: attached around the one socket() call, detached
		# on exit) denies family 18 in socket_create or socket_post_create.
		mod_loaded || modprobe $MOD || return 1
		setup_probes || return 1
		before=$(mod_refcnt)
		hook=${1#denied_}
		[ $hook = create ] || hook=post_create
		start $ROOTS_SOCKET || return 1
		"$PFDEMO" lsm-sock $hook 18 2 0 >$RAW.$1.out 2>&1
		stop $RAW.$1
		echo "$before $(mod_refcnt)" >$RAW.$1.refcnt
		;;
	call)
		start $ROOTS_CALL || return 1
		sh -c "$CALL" >$RAW.$1.out 2>&1
		stop $RAW.$1
		;;
	*)
		echo "unknown trace case '$1' (cases: $CASES)"
		return 2
		;;
	esac
}

ensure_unloaded_quiet() { ! mod_loaded || rmmod $MOD; }

# annotate: function_graph lines (with funcgraph-proc) → "TASK|DEPTH|KIND|NAME|PARENT|TEXT"
# per line, where KIND is call (entry or leaf), ret or event; PARENT is the innermost open
# function of that task.
annotate() {
	awk '
	/^#/ || !/\|/ { next }
	{
		i = index($0, "|"); task = $0; sub(/\|.*/, "", task); gsub(/ /, "", task)
		body = substr($0, i + 1); sub(/^ /, "", body)
		ind = body; sub(/[^ ].*/, "", ind); depth = length(ind) / 2
		text = substr(body, length(ind) + 1)
		comm = task; sub(/-[0-9]+$/, "", comm)
		sp = sp_[task] + 0
		parent = sp > 0 ? st[task, sp] : ""
		if (text ~ /^\/\* /) {
			ev = text; sub(/^\/\* /, "", ev); name = ev; sub(/:.*/, "", name)
			print comm "|" depth "|event|" name "|" parent "|" ind text
		} else if (text ~ /^}/) {
			if (sp > 0) sp_[task] = sp - 1
			print comm "|" depth "|ret||" parent "|" ind text
		} else {
			name = text; sub(/\(.*/, "", name)
			print comm "|" depth "|call|" name "|" parent "|" ind text
			if (text ~ /\{ *$/) { sp_[task] = sp + 1; st[task, sp + 1] = name }
		}
	}'
}

# explain: the seed's step each line is, by function and where it is called.
explain() {
	awk -F'|' -v inl="$1" -v np="$(probes || echo 1)" '
	{
		comm = $1; kind = $3; name = $4; parent = $5; line = $6
		for (i = 7; i <= NF; i++) line = line "|" $i
		s = ""
		if (kind == "call") {
			if (name == "__sys_socket") s = "socket(2) -> __sys_socket()"
			else if (name == "__sys_socket_create") s = "flag check, type masking"
			else if (name == "__sock_create") { s = "seed: sock_create -> __sock_create()"; created = 0; increate = 0; lookup = 0; post = 0 }
			else if (name == "security_socket_create") s = "seed: security_socket_create()"
			else if (name == "sock_alloc") s = "seed: sock_alloc()"
			else if (name == "__request_module" && increate) s = "our create: no protocol for it in the switch: request_module, as inet_create tries"
			else if (name == "__request_module") s = "seed: request_module(\"net-pf-18\"): net_families[18] is NULL"
			else if (name == "call_usermodehelper_exec") s = "the modprobe usermode helper; waits for it"
			else if (name ~ /sys_f?init_module$/) s = "modprobe (another task): init_module(2)"
			else if (name == "load_module") s = "loads rust_pf_demo.ko"
			else if (name == "do_init_module") s = "runs the module init"
			else if (name == "do_one_initcall") s = "our init (module_family!)"
			else if (name == "proto_register") s = "module init: proto_register()"
			else if (name == "register_pernet_subsys") s = "module init: register_pernet_subsys()"
			else if (name == "sock_register") s = "module init: sock_register(): net_families[18] set"
			# Our create (Rust, no fentry) does not show as a function: what it calls appears
			# under __sock_create, between its rpd_create and rpd_create_ret events.
			# Without its events (np: no kprobes on Rust functions), our create runs from
			# the pf->owner reference on: a second reference before sk_alloc is taken by the
			# switch lookup, and its module_put ends the create.
			else if (name == "try_module_get" && parent == "__sock_create" && increate) {
				s = "our create: the switch lookup pins the protocol module"; lookup = 1
			} else if (name == "module_put" && parent == "__sock_create" && increate && (!np || lookup)) {
				s = "our create: drops the lookup reference on the protocol module"
				if (np) { increate = 0; created = 1 }
			} else if (name == "try_module_get" && parent == "__sock_create") {
				s = created ? "seed: try_module_get(sock->ops->owner)" : "seed: pf = net_families[18] (RCU); try_module_get(pf->owner)"
				if (np && !created) { s = s "; pf->create = our create (Rust: no probe)"; increate = 1 }
			} else if (name == "try_module_get" && parent == "sk_alloc") s = "sk_alloc pins proto.owner (2nd reference)"
			else if (name == "sk_alloc") s = "seed (our create): sk_alloc()"
			else if (name == "sock_init_data") s = "seed (our create): sock_init_data()"
			else if (name == "module_put" && parent == "__sock_create") s = "seed: module_put(pf->owner)"
			else if (name == "module_put" && (parent == "__sock_release" || parent == "sock_close")) s = "module_put(sock->ops->owner)"
			else if (name == "module_put" && parent == "sk_free") s = "the sock is freed: module_put(proto.owner)"
			else if (name == "security_socket_post_create") { s = "seed: security_socket_post_create()"; post = 1 }
			else if (name == "sock_map_fd") s = "seed: sock_map_fd()"
			else if (name == "sock_alloc_file") s = (parent == "sock_map_fd" ? "seed: " : "seed: sock_map_fd (inlined): ") "sock_alloc_file(), the file"
			else if (name == "fd_install") s = (parent == "sock_map_fd" ? "seed: " : "seed: sock_map_fd (inlined): ") "fd_install(), the descriptor"
			else if (name ~ /^_?_?sock_release$/ && parent == "__sock_create" && post)
				s = "seed: the hook said no: out_sock_release: sock_release(), ops set: our release runs"
			else if (name == "sock_release" && parent == "__sock_create") s = "error path: sock_release(), ops NULL: no family release"
			else if (name == "__sock_release" && parent == "__sock_create") s = "error path: sock_release (inlined): __sock_release, ops NULL"
			else if (name == "sock_close") s = "close(): last fput of the file -> sock_close()"
			else if (name == "__sock_release") s = "__sock_release()"
			else if (name == "sk_free") s = "our release" (np ? " (Rust: no probe)" : "") ": sock_put -> sk_free() (last reference)"
		} else if (kind == "event") {
			if (name == "rpd_create") { s = "seed: pf->create = our create, pf/family.rs: create_callback"; created = 1; increate = 1 }
			else if (name == "rpd_create_ret") { s = "our create returns (0, or -errno)"; increate = 0 }
			else if (name ~ /^socket_(post_)?create_ret$/) s = "the hook returns (0: go on, -1: EPERM)"
			else if (name == "rpd_release") s = "ops->release = our release, pf/callbacks.rs: release_callback"
			else if (name == "rpd_destruct") s = "sk_destruct = our destructor, pf/callbacks.rs: destruct_callback"
			else if (name == "module_get") s = "refcount +1 (trace event module:module_get)"
			else if (name == "module_put") s = "refcount -1 (trace event module:module_put)"
			else if (name == "module_request") s = "trace event module:module_request"
			else if (name == "module_load") s = "trace event module:module_load"
		}
		# Not the seed steps: the module_get/put pairs of load_module itself, and events outside
		# the graph (the process exiting after the traced call).
		if (hide[comm]) { if (kind == "ret") hide[comm] = 0; next }
		if (kind == "call" && parent == "load_module" && (name == "try_module_get" || name == "module_put")) {
			if (line ~ /\{ *$/) hide[comm] = 1
			if (!said[comm]++) printf "%-16s %s\n", comm, substr(line, 1, match(line, /[^ ]/) - 1) "... (load_module'"'"'s own try_module_get/module_put pairs: not seed steps, not shown)"
			next
		}
		if (kind == "event" && parent == "") next
		# The v0-mangled callback names, shortened: pf::callbacks::NAME::<DemoDgram>,
		# pf::family::create_callback::<DemoFamily>.
		if (match(line, /_R[A-Za-z0-9_]*(9callbacks|6family)[0-9]+[a-z_]+NtB[0-9A-Za-z]*_[0-9]+[A-Za-z]+EB[0-9A-Za-z]*_/)) {
			m = substr(line, RSTART, RLENGTH)
			mod = (m ~ /9callbacks/) ? "callbacks" : "family"
			f = m; sub(/.*(9callbacks|6family)[0-9]+/, "", f); sub(/NtB.*/, "", f)
			ty = m; sub(/.*NtB[0-9A-Za-z]*_[0-9]+/, "", ty); sub(/EB.*/, "", ty)
			line = substr(line, 1, RSTART - 1) "pf::" mod "::" f "::<" ty ">" substr(line, RSTART + RLENGTH)
		}
		sub(/call_site=return_to_handler/, "call_site=(the caller above)", line)
		out = sprintf("%-16s %s", comm, line)
		if (s != "") out = sprintf("%-70s <= %s", out, s)
		print out
	}'
}

# keys CASE: the "TASK|KIND|NAME|PARENT" of the pfdemo and modprobe lines ("modprob": the
# graph shows 7 characters of a command name), in trace order.
keys() { annotate <$RAW.$1 | awk -F'|' '$1 == "pfdemo" || $1 == "modprob" { print $1 "|" $3 "|" $4 "|" $5 }'; }

# expect_order CASE STEP...: each STEP (KIND:NAME-REGEX[@PARENT-REGEX]) appears in the trace after
# the previous one; prints the first step missing in order, returns 1 then.
expect_order() {
	c=$1
	shift
	keys "$c" | awk -v steps="$*" '
	BEGIN { n = split(steps, want, " "); k = 1 }
	k <= n {
		split($0, f, "|"); s = want[k]; kind = s; sub(/:.*/, "", kind); name = s; sub(/^[^:]*:/, "", name)
		par = ""; if (name ~ /@/) { par = name; sub(/^[^@]*@/, "", par); sub(/@.*/, "", name) }
		if (f[2] == kind && f[3] ~ ("^(" name ")$") && (par == "" || f[4] ~ ("^(" par ")$"))) k++
	}
	END {
		if (k <= n) {
			prev = k > 1 ? want[k - 1] : "the start"
			printf "step %d of %d, %s, is not in the trace after %s\n", k, n, want[k], prev
			exit 1
		}
	}'
}

# not_in_trace CASE KIND:NAME: the trace of the case has no such line.
not_in_trace() { ! keys "$1" | grep -q "^[a-z]*|${2%%:*}|${2#*:}|"; }

# The seed's steps before create, and those that are functions in this kernel.
pre_create() {
	s="call:__sys_socket call:__sock_create@__sys_socket|__sys_socket_create"
	! has_func security_socket_create || s="$s call:security_socket_create@__sock_create"
	echo "$s call:sock_alloc@__sock_create"
}
post_create() {
	s="call:try_module_get@__sock_create call:module_put@__sock_create"
	! has_func security_socket_post_create || s="$s call:security_socket_post_create@__sock_create"
	echo "$s call:sock_alloc_file@__sys_socket|sock_map_fd call:fd_install@__sys_socket|sock_map_fd"
}
# Our create: its kprobe event where the kernel allows one, what it calls in any case.
create_steps() {
	if probes; then
		echo "call:try_module_get@__sock_create event:rpd_create@__sock_create call:sk_alloc@__sock_create call:sock_init_data@__sock_create"
	else
		echo "call:try_module_get@__sock_create call:sk_alloc@__sock_create call:sock_init_data@__sock_create"
	fi
}

# given_back CASE MIN WHAT: the pfdemo task took at least MIN module references and gave as many
# back (module:module_get/module_put events), and the refcnt is what it was before.
given_back() {
	gets=$(keys $1 | grep -c "^pfdemo|event|module_get|")
	puts=$(keys $1 | grep -c "^pfdemo|event|module_put|")
	[ "$gets" = "$puts" ] && [ "$gets" -ge $2 ] ||
		ktap_fail_test "module_get events $gets, module_put events $puts: the references are not given back"
	read -r before after <$RAW.$1.refcnt
	[ "$before" = "$after" ] || ktap_fail_test "refcnt $before before, $after after $3"
}

# traced CASE: runs the case for a test (skip without tracing, fail on a setup error).
traced() {
	tracing_available || ktap_skip_test "$tracing_why"
	list_funcs
	rm -f $NOPROBES
	out=$(run_case "$1" 2>&1)
	rc=$?
	trace_reset
	[ $rc = 0 ] || ktap_fail_test "tracing the $1 case failed: $out"
	probes || ktap_diag "info: $(cat $NOPROBES)"
	[ -s $RAW.$1 ] || ktap_fail_test "empty trace for the $1 case"
	# On a failure, the annotated graph goes to the log (the test's diagnostics).
	# (The case's name is expanded now: at exit `$1` is the script's argument, the filter.)
	trap "annotate <$RAW.$1 | explain | sed 's/^/# $1: /'" EXIT
}
order() { o=$(expect_order "$@") || ktap_fail_test "$o"; }

trace_first_socket_order() {
	traced first
	grep -q "^ok" $RAW.first.out || ktap_fail_test "socket(18, SOCK_DGRAM, 0): $(cat $RAW.first.out)"
	order first $(pre_create) call:__request_module@__sock_create call:proto_register call:sock_register \
		$(create_steps) $(post_create)
	o=$(expect_order first call:__request_module@__sock_create call:call_usermodehelper_exec \
		"call:__x64_sys_f?init_module" call:do_init_module call:proto_register@do_one_initcall \
		call:sock_register@do_one_initcall) ||
		ktap_fail_test "modprobe helper: $o"
	trap - EXIT
}

trace_loaded_socket_order() {
	traced loaded
	grep -q "^ok" $RAW.loaded.out || ktap_fail_test "socket(18, SOCK_DGRAM, 0): $(cat $RAW.loaded.out)"
	order loaded $(pre_create) $(create_steps) $(post_create)
	not_in_trace loaded call:__request_module || ktap_fail_test "__request_module ran with the module loaded"
	not_in_trace loaded call:sock_register || ktap_fail_test "sock_register ran with the module loaded"
	trap - EXIT
}

trace_failing_create_order() {
	traced failing
	grep -q "^ESOCKTNOSUPPORT" $RAW.failing.out ||
		ktap_fail_test "socket(18, SOCK_STREAM, 0): '$(cat $RAW.failing.out)', expected ESOCKTNOSUPPORT"
	ours="event:rpd_create@__sock_create event:rpd_create_ret@__sock_create"
	probes || ours=
	order failing $(pre_create) call:try_module_get@__sock_create $ours call:module_put@__sock_create \
		"call:sock_release|__sock_release@__sock_create"
	not_in_trace failing call:sk_alloc || ktap_fail_test "sk_alloc ran for a wrong type"
	not_in_trace failing call:fd_install || ktap_fail_test "fd_install ran for a failed create"
	given_back failing 1 "the failed create"
	trap - EXIT
}

trace_close_order() {
	traced close
	# __sock_release may be inlined into sock_close: then our release is called from there.
	rel="sock_close"
	! has_func __sock_release || rel="__sock_release"
	steps="call:sock_close"
	! has_func __sock_release || steps="$steps call:__sock_release@sock_close"
	if probes; then
		order close $steps event:rpd_release@$rel call:sk_free event:rpd_destruct@sk_free \
			call:module_put@sk_free call:module_put@$rel
	else
		order close $steps call:sk_free@$rel call:module_put@sk_free call:module_put@$rel
	fi
	read -r before after <$RAW.close.refcnt
	[ "$before" = 2 ] && [ "$after" = 0 ] ||
		ktap_fail_test "refcnt $before with the socket open, $after after close (expected 2, 0)"
	trap - EXIT
}

# lsm_available: 0 when a BPF LSM program can be attached (bpf among the active LSMs, BTF);
# else $lsm_why says why.
lsm_available() {
	[ -e /sys/kernel/security/lsm ] || mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
	if ! grep -qw bpf /sys/kernel/security/lsm 2>/dev/null; then
		lsm_why="no BPF LSM in this kernel (CONFIG_BPF_LSM, 'bpf' in the active LSMs: $(cat /sys/kernel/security/lsm 2>/dev/null || echo none)); Debian's kernels have it: RPD_KERNEL=debian-7.3"
		return 1
	fi
	[ -e /sys/kernel/btf/vmlinux ] || { lsm_why="no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)"; return 1; }
}

# The seed's security_socket_create saying no: __sock_create returns at once, before sock_alloc
# and the autoload; nothing taken, nothing to give back.
trace_lsm_denied_create_order() {
	lsm_available || ktap_skip_test "$lsm_why"
	traced denied_create
	grep -q "^EPERM" $RAW.denied_create.out ||
		ktap_fail_test "socket(18, SOCK_DGRAM, 0) with socket_create denied: '$(cat $RAW.denied_create.out)', expected EPERM"
	order denied_create call:__sys_socket "call:__sock_create@__sys_socket|__sys_socket_create" \
		call:security_socket_create@__sock_create
	for f in sock_alloc __request_module try_module_get sk_alloc security_socket_post_create fd_install; do
		not_in_trace denied_create call:$f || ktap_fail_test "$f ran after security_socket_create said no"
	done
	read -r before after <$RAW.denied_create.refcnt
	[ "$before" = "$after" ] || ktap_fail_test "refcnt $before before, $after after the denied create"
	trap - EXIT
}

# security_socket_post_create saying no: the whole create ran, then __sock_create's
# out_sock_release path: sock_release with the family's ops set, so our release runs (the sock
# freed: module_put of proto.owner) and the ops owner's reference is given back; no descriptor.
trace_lsm_denied_post_create_order() {
	lsm_available || ktap_skip_test "$lsm_why"
	traced denied_post
	grep -q "^EPERM" $RAW.denied_post.out ||
		ktap_fail_test "socket(18, SOCK_DGRAM, 0) with socket_post_create denied: '$(cat $RAW.denied_post.out)', expected EPERM"
	rel="sock_release|__sock_release"
	order denied_post $(pre_create) $(create_steps) call:try_module_get@__sock_create \
		call:module_put@__sock_create call:security_socket_post_create@__sock_create \
		"call:$rel@__sock_create" "call:sk_free@$rel" call:module_put@sk_free "call:module_put@$rel"
	not_in_trace denied_post call:fd_install || ktap_fail_test "fd_install ran for a denied socket"
	not_in_trace denied_post call:sock_alloc_file || ktap_fail_test "sock_alloc_file ran for a denied socket"
	given_back denied_post 3 "the denied post_create"
	trap - EXIT
}

# After the cases (and a bad case name), tracing is off and reset: later tests run untraced.
trace_left_off() {
	tracing_available || ktap_skip_test "$tracing_why"
	out=$(run_case nosuchcase) && ktap_fail_test "an unknown case name was accepted"
	[ "$(echo "$out" | wc -l)" = 1 ] || ktap_fail_test "unknown case: more than one line: $out"
	trace_reset
	[ "$(cat $T/tracing_on)" = 0 ] || ktap_fail_test "tracing_on is $(cat $T/tracing_on)"
	[ "$(cat $T/current_tracer)" = nop ] || ktap_fail_test "current_tracer is $(cat $T/current_tracer)"
	grep -q . $T/set_ftrace_filter && ! grep -q "all functions enabled" $T/set_ftrace_filter &&
		ktap_fail_test "set_ftrace_filter not reset: $(head -n 3 $T/set_ftrace_filter)"
	[ -z "$(cat $T/kprobe_events)" ] || ktap_fail_test "kprobe events left: $(cat $T/kprobe_events)"
	! grep -q 1 $T/events/module/module_get/enable || ktap_fail_test "module_get event left enabled"
	ensure_unloaded
}

# trace_text_patching_busy_cpus: function_graph and the trace events switched on and off while
# two shell loops keep the CPUs busy: kernel text patched both ways under load, without an oops
# (on QEMU TCG that needs one_cpu: without it this oopses, seen within a second).
trace_text_patching_busy_cpus() {
	tracing_available || ktap_skip_test "$tracing_why"
	list_funcs
	graph_lists $ROOTS_SOCKET
	(while :; do : | cat >/dev/null; done) &
	b1=$!
	(while :; do : | cat >/dev/null; done) &
	b2=$!
	ok=1
	start_lists || ok=0
	stop /tmp/rpd-trace.busy
	kill $b1 $b2
	wait $b1 $b2 2>/dev/null
	[ $ok = 1 ] || ktap_fail_test "the function_graph tracer did not start"
	trace_reset
}

KTAP_TESTS="trace_text_patching_busy_cpus trace_first_socket_order trace_loaded_socket_order
trace_failing_create_order trace_close_order trace_lsm_denied_create_order
trace_lsm_denied_post_create_order trace_left_off"

# What the graph cannot show, said once per case: steps the compiler inlined or that are stubs.
notes() {
	for f in security_socket_create security_socket_post_create; do
		has_func $f && continue
		if [ -e /proc/self/attr ]; then
			echo "  note: $f is not a traceable function in this kernel"
		else
			echo "  note: $f: not a call in this kernel (CONFIG_SECURITY is not set: an inline stub returning 0)"
		fi
	done
	for f in __sys_socket_create sock_map_fd __sock_release; do
		has_func $f && continue
		case $f in
		sock_map_fd) by="__sys_socket: its callees sock_alloc_file and fd_install appear directly under it" ;;
		__sys_socket_create) by="__sys_socket: __sock_create appears directly under it" ;;
		__sock_release) by="sock_close: our release and module_put appear directly under it" ;;
		esac
		echo "  note: $f (static) was inlined by the compiler into $by"
	done
}

show() {
	tracing_available || { echo "trace: $tracing_why"; return 1; }
	list_funcs
	one_cpu
	trap 'trace_reset; all_cpus' EXIT
	[ $# -gt 0 ] || set -- $CASES
	for c in "$@"; do
		case " $CASES call " in *" $c "*) ;; *)
			echo "trace: unknown case '$c' (cases: $CASES)"
			return 2 ;;
		esac
	done
	rc=0
	for c in "$@"; do
		case $c in
		first) title="the first socket(18, SOCK_DGRAM, 0), module unloaded" ;;
		loaded) title="socket(18, SOCK_DGRAM, 0), module loaded (no request_module)" ;;
		failing) title="a failing create: socket(18, SOCK_STREAM, 0) -> ESOCKTNOSUPPORT" ;;
		close) title="close() of an open socket(18, SOCK_DGRAM, 0)" ;;
		denied_create) title="socket(18, SOCK_DGRAM, 0) denied by a BPF LSM program in socket_create -> EPERM" ;;
		denied_post) title="socket(18, SOCK_DGRAM, 0) denied by a BPF LSM program in socket_post_create -> EPERM" ;;
		call) title="$CALL" ;;
		esac
		case $c in denied_*)
			if ! lsm_available; then
				echo "RPD-TRACE-BEGIN: $c"
				echo "== $c: $title =="
				echo "trace: the $c case needs a BPF LSM: $lsm_why"
				echo "RPD-TRACE-END: $c"
				continue
			fi ;;
		esac
		echo "RPD-TRACE-BEGIN: $c"
		echo "== $c: $title =="
		[ "$c" = call ] || notes
		rm -f $NOPROBES
		if out=$(run_case $c 2>&1); then
			probes || echo "  note: $(cat $NOPROBES)"
			echo "  result: $(cat $RAW.$c.out | head -n 3)"
			# Another command: the graph as it is (the annotations are the seed's).
			if [ "$c" = call ]; then annotate <$RAW.$c | explain | sed 's/ *<= .*//'; else annotate <$RAW.$c | explain; fi
		else
			echo "trace: the $c case failed: $out"
			rc=1
		fi
		trace_reset
		echo "RPD-TRACE-END: $c"
	done
	ensure_unloaded_quiet
	return $rc
}

case "${1:-}" in
show)
	shift
	show "$@"
	exit $?
	;;
call)
	CALL=$2
	shift 2
	[ $# = 0 ] || { EXTRA_FUNCS="$*"; SEED_FUNCS=; }
	ROOTS_CALL=${*:-$SEED_FUNCS}
	show call
	exit $?
	;;
esac
one_cpu
trap all_cpus EXIT
ktap_main "$@"
