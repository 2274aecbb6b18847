// SPDX-License-Identifier: GPL-2.0

//! The seed path of `socket()` against the family: autoload, module references, rmmod, and the
//! generic SOL_SOCKET options. (`create`'s argument checks and the syscall's flag check are
//! proved exhaustively by sock_create.rs.)

use crate::ktap::{Test, TestResult};
use crate::sys::*;
use crate::{check, check_eq};

/// Every test, in order. Each one sets up the module state it needs.
pub const TESTS: &[Test] = &[
    Test {
        name: "proc_net_files_after_load",
        run: proc_net_files_after_load,
    },
    Test {
        name: "autoload_on_first_socket",
        run: autoload_on_first_socket,
    },
    Test {
        name: "refcnt_per_open_socket",
        run: refcnt_per_open_socket,
    },
    Test {
        name: "rmmod_refused_while_socket_open",
        run: rmmod_refused_while_socket_open,
    },
    Test {
        name: "sol_socket_options",
        run: sol_socket_options,
    },
];

/// Runs after every other test.
pub const LAST: Test = Test {
    name: "dmesg_clean",
    run: dmesg_clean,
};

/// The family module's `/proc/net` files (one per protocol with one), made by its per-namespace
/// init: the first check on a kernel the module was just ported to. A module whose generated
/// bindings place `struct net`'s `proc_net` elsewhere than the kernel's C does (as 7.x's
/// `-fms-extensions` member of `struct ns_common` made them) creates the initial namespace's
/// files in a bogus directory (nowhere visible; a NULL parent would be `/proc` itself) and
/// oopses at the first new namespace.
const PROC_NET_FILES: [&str; 2] = ["rust_pf_demo", "rust_pf_demo_raw"];

fn proc_net_files_after_load() -> TestResult {
    ensure_unloaded()?;
    let fd = demo_socket().map_err(e("socket(18, SOCK_DGRAM, 0)"))?;
    for name in PROC_NET_FILES {
        check!(
            std::path::Path::new(&format!("/proc/net/{name}")).is_file(),
            "/proc/net/{name} missing in the initial namespace after the module loaded"
        );
        check!(
            !std::path::Path::new(&format!("/proc/{name}")).exists(),
            "/proc/{name} exists: the file was created outside /proc/net"
        );
    }
    // A namespace made after the load gets its own files (the pernet init, run for it).
    let code = in_child(|| {
        // SAFETY: plain syscall in the single-threaded child.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return 30;
        }
        for (i, name) in PROC_NET_FILES.iter().enumerate() {
            match std::fs::read_to_string(format!("/proc/net/{name}")) {
                Ok(text) if !text.is_empty() => {}
                _ => return 31 + i as i32,
            }
        }
        0
    })?;
    skip_without_netns(code)?;
    check_eq!(
        code,
        0,
        "child status (30 unshare, 31 /proc/net/rust_pf_demo, 32 /proc/net/rust_pf_demo_raw \
         missing or empty in a new namespace)"
    );
    drop(fd);
    check_eq!(refcnt(), Some(0), "refcnt after close");
    Ok(())
}

fn autoload_on_first_socket() -> TestResult {
    ensure_unloaded()?;
    let fd = demo_socket().map_err(|e| format!("socket(18, SOCK_DGRAM, 0): {}", ename(e)))?;
    check!(
        module_loaded(),
        "socket() succeeded but rust_pf_demo is not loaded"
    );
    check_eq!(
        refcnt(),
        Some(REFS_PER_SOCKET),
        "refcnt with one socket open"
    );
    drop(fd);
    check_eq!(refcnt(), Some(0), "refcnt after close");
    Ok(())
}

fn refcnt_per_open_socket() -> TestResult {
    ensure_loaded()?;
    let mut fds = Vec::new();
    for n in 1..=5i64 {
        fds.push(demo_socket().map_err(|e| format!("socket #{n}: {}", ename(e)))?);
        check_eq!(
            refcnt(),
            Some(n * REFS_PER_SOCKET),
            format!("refcnt with {n} sockets")
        );
    }
    while let Some(fd) = fds.pop() {
        drop(fd);
        let open = fds.len() as i64;
        check_eq!(
            refcnt(),
            Some(open * REFS_PER_SOCKET),
            format!("refcnt with {open} sockets")
        );
    }
    Ok(())
}

fn rmmod_refused_while_socket_open() -> TestResult {
    ensure_loaded()?;
    let fd = demo_socket().map_err(|e| format!("socket: {}", ename(e)))?;
    check_eq!(
        rmmod().map_err(ename),
        Err(ename(libc::EWOULDBLOCK)),
        "rmmod with a socket open"
    );
    check!(module_loaded(), "module unloaded under an open socket");
    check_eq!(
        refcnt(),
        Some(REFS_PER_SOCKET),
        "refcnt after the refused rmmod"
    );
    drop(fd);
    check_eq!(rmmod().map_err(ename), Ok(()), "rmmod after close");
    check!(
        !module_loaded(),
        "module still loaded after a successful rmmod"
    );
    Ok(())
}

fn sol_socket_options() -> TestResult {
    ensure_loaded()?;
    let fd = demo_socket().map_err(|e| format!("socket: {}", ename(e)))?;
    let get = |name| getsockopt_int(&fd, libc::SOL_SOCKET, name).map_err(ename);
    check_eq!(get(libc::SO_TYPE), Ok(libc::SOCK_DGRAM), "SO_TYPE");
    check_eq!(get(libc::SO_DOMAIN), Ok(PF_DEMO), "SO_DOMAIN");
    // As inet: protocol 0 picks the type's default entry, whose number the sock gets.
    check_eq!(
        get(libc::SO_PROTOCOL),
        Ok(crate::uapi::PFDEMO_PROTO_DGRAM),
        "SO_PROTOCOL"
    );
    // The kernel doubles SO_RCVBUF/SO_SNDBUF to account for overhead (socket(7)).
    for (name, what) in [
        (libc::SO_RCVBUF, "SO_RCVBUF"),
        (libc::SO_SNDBUF, "SO_SNDBUF"),
    ] {
        let r = setsockopt_int(&fd, libc::SOL_SOCKET, name, 65536).map_err(ename);
        check_eq!(r, Ok(()), format!("setsockopt {what} 65536"));
        check_eq!(get(name), Ok(131072), format!("getsockopt {what}"));
    }
    check_eq!(get(libc::SO_ERROR), Ok(0), "SO_ERROR");
    // A level the family does not implement: no setsockopt op, so the core says EOPNOTSUPP.
    let r = setsockopt_int(&fd, 18, 1, 1).map_err(ename);
    check_eq!(
        r,
        Err(ename(libc::EOPNOTSUPP)),
        "setsockopt at the family's own level"
    );
    drop(fd);
    check_eq!(refcnt(), Some(0), "refcnt after close");
    Ok(())
}

/// Lines that make a kernel log dirty: any of them fails the run.
pub const DMESG_BAD: &[&str] = &[
    "WARNING:",
    "BUG:",
    "BUG ",
    "Oops",
    "KASAN",
    "UBSAN",
    "refcount_t:",
    "possible circular locking",
    "possible recursive locking",
    "inconsistent lock state",
    "suspected memory leak",
    "unreferenced object",
    "Kernel panic",
    "Call Trace",
];

fn dmesg_clean() -> TestResult {
    let log = kernel_log()?;
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| DMESG_BAD.iter().any(|b| l.contains(b)))
        .collect();
    check!(
        bad.is_empty(),
        "kernel log has {} bad line(s):\n{}",
        bad.len(),
        bad.join("\n")
    );
    Ok(())
}
