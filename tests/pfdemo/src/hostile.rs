// SPDX-License-Identifier: GPL-2.0

//! The unprivileged user's policy, and allocation failures injected into every allocation
//! of socket()/bind()/connect()/sendto()/recvmsg() (debug kernel: failslab, fail_page_alloc).

use crate::dgram::{counter, read_proc};
use crate::ktap::{Outcome, Test, TestResult};
use crate::stress::{report, Baseline};
use crate::sys::*;
use crate::{check, check_eq};
use std::os::fd::{AsRawFd, OwnedFd};

/// Every test, in order.
pub const TESTS: &[Test] = &[
    Test {
        name: "unprivileged_user_policy",
        run: unprivileged_user_policy,
    },
    Test {
        name: "fault_injection_every_allocation",
        run: fault_injection_every_allocation,
    },
];

/// The unprivileged user of the VM.
const NOBODY: u32 = 65534;

/// Policy (README "Reliability"): uid 65534 without capabilities can create sockets (and so
/// autoload the module, as for every family), bind ports ≥ 1024 and port 0, not ports
/// < 1024 (EACCES); it cannot take a bound port (EADDRINUSE) and so cannot read datagrams
/// sent to another user's socket: they reach only the socket bound to their port.
fn unprivileged_user_policy() -> TestResult {
    const T: &str = "unprivileged_user_policy";
    ensure_unloaded()?;
    let base = Baseline::take()?;
    // Autoload by the unprivileged user.
    let code = in_child(|| {
        // SAFETY: plain syscalls in the single-threaded child.
        if unsafe { libc::setgid(NOBODY) } != 0 || unsafe { libc::setuid(NOBODY) } != 0 {
            return 10;
        }
        match demo_socket() {
            Ok(_) if module_loaded() => 0,
            Ok(_) => 11,
            Err(_) => 12,
        }
    })?;
    check_eq!(
        code,
        0,
        "uid 65534 socket() with the module unloaded (11: not loaded, 12: socket failed)"
    );
    // Root's socket on port 7000, a datagram for it already queued.
    let (root_rx, port) = bound_socket(7000)?;
    let (root_tx, root_tx_port) = bound_socket(0)?;
    let secret = b"root's datagram for port 7000";
    check_eq!(
        sendto(&root_tx, secret, Some(port), 0).map_err(ename),
        Ok(secret.len()),
        "root sendto 7000"
    );
    let inherited = [root_rx.as_raw_fd(), root_tx.as_raw_fd()];
    let code = in_child(move || {
        // The child gives up the descriptors it inherited (a descriptor passed on is access
        // by design), then its privileges.
        for fd in inherited {
            // SAFETY: closing the child's copies of the parent's descriptors.
            unsafe { libc::close(fd) };
        }
        // SAFETY: plain syscalls in the single-threaded child (an empty group list may be
        // NULL).
        let dropped = unsafe {
            libc::setgroups(0, std::ptr::null()) == 0
                && libc::setgid(NOBODY) == 0
                && libc::setuid(NOBODY) == 0
        };
        if !dropped {
            return 10;
        }
        let Ok(a) = demo_socket() else { return 11 };
        for p in [1, 80, 1023] {
            if bind(&a, p) != Err(libc::EACCES) {
                return 12;
            }
        }
        if bind(&a, 7000) != Err(libc::EADDRINUSE) {
            return 13;
        }
        if bind(&a, 1024) != Ok(()) {
            return 14;
        }
        let Ok((b, pb)) = bound_socket(0) else {
            return 15;
        };
        if !PFDEMO_EPHEMERAL_PORTS.contains(&pb) {
            return 16;
        }
        // Connecting to root's port gives no access to its queue.
        if connect(&b, 7000) != Ok(()) {
            return 17;
        }
        let mut buf = [0u8; 64];
        for s in [&a, &b] {
            if recvmsg(s, &mut buf, libc::MSG_DONTWAIT).map(|r| r.n) != Err(libc::EAGAIN) {
                return 18;
            }
        }
        // Sending to root's socket is allowed (no per-user delivery policy, as for UDP).
        if sendto(&b, b"from nobody", None, 0) != Ok(11) {
            return 19;
        }
        0
    })?;
    check_eq!(
        code,
        0,
        "uid 65534 child (12: port < 1024 not EACCES, 13: took port 7000, 14: 1024 refused, 15/16: port 0, 17: connect, 18: read something, 19: send)"
    );
    let mut buf = [0u8; 64];
    let r = recvmsg(&root_rx, &mut buf, libc::MSG_DONTWAIT).map_err(e("root recv 1"))?;
    check_eq!(
        &buf[..r.n],
        &secret[..],
        "root's datagram still queued, intact"
    );
    check_eq!(r.from.port, root_tx_port, "its source");
    let r = recvmsg(&root_rx, &mut buf, libc::MSG_DONTWAIT).map_err(e("root recv 2"))?;
    check_eq!(
        &buf[..r.n],
        b"from nobody",
        "the unprivileged user's datagram"
    );
    check!(
        PFDEMO_EPHEMERAL_PORTS.contains(&r.from.port),
        "its source port {} is the child's ephemeral port",
        r.from.port
    );
    drop((root_rx, root_tx));
    let after = base.check()?;
    report(
        T,
        format!("uid 65534: autoload, ports 1/80/1023 EACCES, 1024 and 0 allowed, root's port EADDRINUSE, root's queue untouched; {after}"),
    );
    Ok(())
}

const DEBUGFS: &str = "/sys/kernel/debug";

/// Writes a debugfs/proc knob.
fn knob(path: &str, v: &str) -> Result<(), String> {
    std::fs::write(path, v).map_err(|err| format!("write {v:?} to {path}: {err}"))
}

/// The fault-injection attributes, restored on drop.
struct FaultConfig {
    saved: Vec<(String, String)>,
}

impl FaultConfig {
    fn set(&mut self, path: String, v: &str) -> Result<(), String> {
        if let Ok(old) = std::fs::read_to_string(&path) {
            self.saved.push((path.clone(), old.trim().to_string()));
        }
        knob(&path, v)
    }
}

impl Drop for FaultConfig {
    fn drop(&mut self) {
        for (p, v) in self.saved.drain(..).rev() {
            let _ = std::fs::write(&p, v);
        }
    }
}

/// `/proc/thread-self/fail-nth`: the n-th allocation-fault check of this thread fails.
struct FailNth(OwnedFd);

impl FailNth {
    fn open() -> Result<Self, String> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/proc/thread-self/fail-nth")
            .map_err(|err| format!("/proc/thread-self/fail-nth: {err}"))?;
        Ok(Self(f.into()))
    }
    fn arm(&self, n: u32) -> Result<(), String> {
        let s = n.to_string();
        // SAFETY: `s` is valid for reads of its length.
        let r = unsafe { libc::pwrite(self.0.as_raw_fd(), s.as_ptr().cast(), s.len(), 0) };
        if r != s.len() as isize {
            return Err(format!("fail-nth write {n}: {}", ename(errno())));
        }
        Ok(())
    }
    /// Disarms; returns whether the armed fault was injected.
    fn disarm(&self) -> Result<bool, String> {
        let mut b = [0u8; 16];
        // SAFETY: `b` is valid for writes of its length.
        let r = unsafe { libc::pread(self.0.as_raw_fd(), b.as_mut_ptr().cast(), b.len(), 0) };
        if r <= 0 {
            return Err(format!("fail-nth read: {}", ename(errno())));
        }
        let left: u32 = String::from_utf8_lossy(&b[..r as usize])
            .trim()
            .parse()
            .unwrap_or(1);
        self.arm(0)?;
        Ok(left == 0)
    }
}

/// One syscall under test: its set-up (not injected), the call, its allowed errnos.
struct Case {
    name: &'static str,
    allowed: &'static [i32],
}

const CASES: &[Case] = &[
    // sock_alloc failing is ENFILE in __sock_create, the file/dentry ENFILE/ENOMEM.
    Case {
        name: "socket",
        allowed: &[libc::ENOMEM, libc::ENOBUFS, libc::ENFILE],
    },
    Case {
        name: "bind",
        allowed: &[libc::ENOMEM, libc::ENOBUFS],
    },
    Case {
        name: "connect",
        allowed: &[libc::ENOMEM, libc::ENOBUFS],
    },
    Case {
        name: "sendto-100",
        allowed: &[libc::ENOMEM, libc::ENOBUFS],
    },
    Case {
        name: "sendto-60000",
        allowed: &[libc::ENOMEM, libc::ENOBUFS],
    },
    Case {
        name: "recvmsg",
        allowed: &[libc::ENOMEM, libc::ENOBUFS],
    },
];

/// Runs one case with the n-th allocation failing (`nth` 0: none). Returns whether the fault
/// was injected and the errno (0: success). A success must have done its whole job.
fn run_case(c: &Case, fail: &FailNth, nth: u32) -> Result<(bool, i32), String> {
    let big = vec![0x5au8; 60000];
    let small = [0xa5u8; 100];
    let mut rbuf = vec![1u8; 65536];
    let (rx, prx) = bound_socket(0)?;
    let (tx, _) = bound_socket(0)?;
    let fresh = demo_socket().map_err(e("socket"))?;
    if c.name == "recvmsg" {
        sendto(&tx, &small, Some(prx), 0).map_err(e("sendto"))?;
    }
    let dropped = counter(&read_proc()?.0, "dropped");
    fail.arm(nth)?;
    let r = match c.name {
        "socket" => demo_socket().map(|_| 0),
        "bind" => bind(&fresh, 0).map(|_| 0),
        "connect" => connect(&fresh, prx).map(|_| 0),
        "sendto-100" => sendto(&fresh, &small, Some(prx), 0),
        "sendto-60000" => sendto(&fresh, &big, Some(prx), 0),
        _ => recvmsg(&rx, &mut rbuf, libc::MSG_DONTWAIT).map(|r| r.n),
    };
    let injected = fail.disarm()? && nth != 0;
    if let Ok(n) = r {
        if c.name == "recvmsg" && n != small.len() {
            return Err(format!("recvmsg with allocation #{nth} failing: {n} bytes"));
        }
    }
    let r = r.map(drop);
    let err = r.err().unwrap_or(0);
    if err != 0 && !(injected && c.allowed.contains(&err)) {
        return Err(format!(
            "{} with allocation #{nth} failing (injected: {injected}): {}",
            c.name,
            ename(err)
        ));
    }
    // A send that reported success delivered its datagram.
    if err == 0 && c.name.starts_with("sendto") {
        let want = if c.name == "sendto-100" { 100 } else { 60000 };
        let got = match recvmsg(&rx, &mut rbuf, libc::MSG_DONTWAIT) {
            Ok(got) => got,
            // Lost on the receiving side and counted, as a full receiver's drop.
            Err(libc::EAGAIN) if counter(&read_proc()?.0, "dropped") == dropped + 1 => {
                return Ok((injected, -1));
            }
            Err(x) => {
                return Err(format!(
                    "{} succeeded with allocation #{nth} failing but nothing arrived and no drop was counted: {}",
                    c.name,
                    ename(x)
                ))
            }
        };
        if got.n != want
            || rbuf[..want]
                .iter()
                .any(|&b| b != if want == 100 { 0xa5 } else { 0x5a })
        {
            return Err(format!("{}: datagram corrupted ({} bytes)", c.name, got.n));
        }
    }
    Ok((injected, err))
}

/// With failslab and fail_page_alloc enabled (debug kernel), every allocation of each call is
/// made to fail in turn (`/proc/thread-self/fail-nth`, as syzkaller's fault injection): the
/// call fails with its documented errno or succeeds having done its job, and nothing leaks.
/// Then a random phase: `make-it-fail` + `task-filter`, probability 20 %, 500 rounds of
/// socket/bind/sendto/recvmsg.
fn fault_injection_every_allocation() -> TestResult {
    const T: &str = "fault_injection_every_allocation";
    // SAFETY: mounting debugfs at its usual place (it may be mounted already: EBUSY).
    unsafe {
        libc::mount(
            c"debugfs".as_ptr(),
            c"/sys/kernel/debug".as_ptr(),
            c"debugfs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    let failslab = format!("{DEBUGFS}/failslab");
    if !std::path::Path::new(&failslab).is_dir() {
        return Err(Outcome::Skip(format!(
            "no {failslab}: this kernel has no CONFIG_FAILSLAB (run make check-debug)"
        )));
    }
    ensure_loaded()?;
    let base = Baseline::take()?;
    let mut cfg = FaultConfig { saved: Vec::new() };
    for attr in ["failslab", "fail_page_alloc"] {
        let d = format!("{DEBUGFS}/{attr}");
        if !std::path::Path::new(&d).is_dir() {
            continue;
        }
        cfg.set(format!("{d}/verbose"), "0")?;
        cfg.set(format!("{d}/probability"), "0")?;
        cfg.set(format!("{d}/interval"), "1")?;
        cfg.set(format!("{d}/times"), "-1")?;
        cfg.set(format!("{d}/task-filter"), "Y")?;
        cfg.set(format!("{d}/ignore-gfp-wait"), "N")?;
        if attr == "fail_page_alloc" {
            // Kernel allocations of any order; user pages (highmem flag) stay out.
            cfg.set(format!("{d}/min-order"), "0")?;
        }
    }
    let fail = FailNth::open()?;
    let mut summary = Vec::new();
    for c in CASES {
        // Warm the paths up (page tables, caches) without injection.
        run_case(c, &fail, 0)?;
        let (mut injected_errs, mut dropped) = (0, 0);
        let mut n = 1;
        loop {
            let (injected, err) = run_case(c, &fail, n)?;
            if !injected {
                check_eq!(err, 0, format!("{}: no fault injected but failed", c.name));
                break;
            }
            match err {
                0 => {}
                -1 => dropped += 1,
                _ => injected_errs += 1,
            }
            n += 1;
            check!(n < 2000, "{}: more than 2000 allocations?", c.name);
        }
        let sockets = sockets_used()?;
        check_eq!(
            sockets,
            base.sockets,
            format!("{}: sockets used after the fault series", c.name)
        );
        check_eq!(refcnt(), Some(0), format!("{}: refcnt", c.name));
        summary.push(format!(
            "{} {} allocation sites ({} failed the call, {} sent but dropped)",
            c.name,
            n - 1,
            injected_errs,
            dropped
        ));
    }
    // The random phase.
    let (mut ok, mut failed) = (0u64, 0u64);
    for attr in ["failslab", "fail_page_alloc"] {
        let d = format!("{DEBUGFS}/{attr}");
        if std::path::Path::new(&d).is_dir() {
            cfg.set(format!("{d}/probability"), "20")?;
        }
    }
    let mif = "/proc/thread-self/make-it-fail";
    knob(mif, "1")?;
    let random = (|| -> Result<(), String> {
        let allowed = [libc::ENOMEM, libc::ENOBUFS, libc::ENFILE];
        for round in 0..500 {
            let step = (|| -> Result<(), i32> {
                let a = demo_socket()?;
                bind(&a, 0)?;
                let (addr, _) = getsockname(&a)?;
                sendto(&a, &[7u8; 200], Some(addr.port), 0)?;
                let mut b = [0u8; 256];
                let r = recvmsg(&a, &mut b, libc::MSG_DONTWAIT)?;
                if r.n != 200 || b[..200].iter().any(|&x| x != 7) {
                    return Err(-1);
                }
                Ok(())
            })();
            match step {
                Ok(()) => ok += 1,
                // A datagram lost to a failed allocation after a successful send shows as
                // EAGAIN here: the receiver side's failure is a drop, as for UDP.
                Err(x) if allowed.contains(&x) || x == libc::EAGAIN => failed += 1,
                Err(x) => return Err(format!("random round {round}: {}", ename(x))),
            }
        }
        Ok(())
    })();
    // The write itself may be failed by the injection still on: retry.
    let mut tries = 0;
    while let Err(m) = knob(mif, "0") {
        tries += 1;
        check!(tries < 1000, "make-it-fail stays on: {m}");
    }
    drop(cfg);
    random?;
    let after = base.check()?;
    report(
        T,
        format!(
            "fail-nth: {}; random (20 %): {ok} rounds ok, {failed} failed cleanly; {after}",
            summary.join(", ")
        ),
    );
    Ok(())
}
