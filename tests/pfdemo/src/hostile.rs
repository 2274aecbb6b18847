// SPDX-License-Identifier: GPL-2.0

//! The unprivileged user's policy, and allocation failures injected into every allocation
//! of socket()/bind()/connect()/sendto()/recvmsg() (debug kernel: failslab, fail_page_alloc).

use crate::dgram::{counter, read_proc};
use crate::ktap::{Outcome, Test, TestResult};
use crate::seqp::*;
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
    Test {
        name: "seqpacket_bad_user_pointers",
        run: seqpacket_bad_user_pointers,
    },
    Test {
        name: "fault_injection_seqpacket",
        run: fault_injection_seqpacket,
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

/// Mounts debugfs and arms failslab and fail_page_alloc for this task only (`task-filter`),
/// probability 0: `/proc/thread-self/fail-nth` or `make-it-fail` pick what fails. Skip
/// without failslab (the normal kernel); restored when the result is dropped.
fn fault_config() -> Result<FaultConfig, Outcome> {
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
    Ok(cfg)
}

/// With failslab and fail_page_alloc enabled (debug kernel), every allocation of each call is
/// made to fail in turn (`/proc/thread-self/fail-nth`, as syzkaller's fault injection): the
/// call fails with its documented errno or succeeds having done its job, and nothing leaks.
/// Then a random phase: `make-it-fail` + `task-filter`, probability 20 %, 500 rounds of
/// socket/bind/sendto/recvmsg.
fn fault_injection_every_allocation() -> TestResult {
    const T: &str = "fault_injection_every_allocation";
    let mut cfg = fault_config()?;
    ensure_loaded()?;
    let base = Baseline::take()?;
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

/// `accept4(fd, addr, addrlen, flags)` with raw pointers: the new descriptor or the errno.
fn accept_raw(fd: &OwnedFd, addr: *mut u8, len: *mut u32, flags: i32) -> Result<OwnedFd, i32> {
    // SAFETY: the kernel checks the pointers.
    let r = unsafe { libc::accept4(fd.as_raw_fd(), addr.cast(), len, flags) };
    if r < 0 {
        Err(errno())
    } else {
        // SAFETY: a new descriptor nobody else owns.
        Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(r) })
    }
}

/// `recvmsg`/`sendmsg` with one iovec (`base`, `len`) or a bad iovec array (`iov`), a name
/// buffer (`name`), `iovlen` iovecs.
fn msg_raw(
    fd: &OwnedFd,
    send: bool,
    base: *mut u8,
    len: usize,
    iov: Option<*mut libc::iovec>,
    iovlen: usize,
    name: *mut u8,
) -> Result<usize, i32> {
    let mut one = libc::iovec {
        iov_base: base.cast(),
        iov_len: len,
    };
    // SAFETY: an all-zero msghdr is valid; the pointers set are checked by the kernel.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.unwrap_or(&mut one);
    msg.msg_iovlen = iovlen;
    msg.msg_name = name.cast();
    msg.msg_namelen = if name.is_null() { 0 } else { 16 };
    // SAFETY: as above.
    let r = unsafe {
        if send {
            libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
        } else {
            libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT)
        }
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as usize)
    }
}

/// What a connection's client sees after its accepted end was lost: end of file (the
/// accepted socket was released) or, on AF_UNIX, the message it had sent still unread
/// (ECONNRESET).
fn peer_gone(c: &OwnedFd) -> Result<String, String> {
    let mut b = [0u8; 64];
    match raw_recv(c.as_raw_fd(), &mut b, 0) {
        Ok(0) => Ok("EOF".into()),
        Err(libc::ECONNRESET) => Ok("ECONNRESET".into()),
        other => Err(format!(
            "the client of a lost connection read {:?}, expected EOF or ECONNRESET",
            other.map_err(ename)
        )),
    }
}

/// Hostile user pointers on one family's SOCK_SEQPACKET calls; returns what happened to the
/// messages whose receive faulted (consumed or kept), for the report.
fn bad_pointers_on(fam: Fam, none: *mut u8) -> Result<String, String> {
    let f = fam.name();
    let (l, addr) = fam.listener(8)?;
    let used = sockets_used()?;
    let mut notes = Vec::new();
    let mut buf = [0u8; 128];
    // accept's address, its length, a negative length: the connection was accepted and is
    // lost with the new socket (do_accept copies the address out last): EFAULT/EINVAL, the
    // client sees its peer gone, nothing left.
    // (what, address, whether the length pointer is PROT_NONE, the length, the errno)
    let cases: [(&str, *mut u8, bool, u32, i32); 4] = [
        ("addr PROT_NONE", none, false, 128, libc::EFAULT),
        (
            "addr NULL+1",
            std::ptr::dangling_mut::<u8>(),
            false,
            128,
            libc::EFAULT,
        ),
        (
            "addrlen PROT_NONE",
            buf.as_mut_ptr(),
            true,
            128,
            libc::EFAULT,
        ),
        (
            "addrlen -1",
            buf.as_mut_ptr(),
            false,
            u32::MAX,
            libc::EINVAL,
        ),
    ];
    for (what, a, bad_len, lv, want) in cases {
        let c = fam.watched_socket()?;
        connect_raw(&c, &addr).map_err(|err| format!("{f} connect: {}", ename(err)))?;
        let mut len: u32 = lv;
        let lp: *mut u32 = if bad_len { none.cast() } else { &mut len };
        let r = accept_raw(&l, a, lp, 0).map(drop);
        if r != Err(want) {
            return Err(format!(
                "{f} accept4({what}): {:?}, expected {}",
                r.map_err(ename),
                ename(want)
            ));
        }
        let seen = peer_gone(&c).map_err(|m| format!("{f} after accept4({what}): {m}"))?;
        let again = accept_nonblock(&l).map(drop);
        if again != Err(libc::EAGAIN) {
            return Err(format!(
                "{f} accept4 after the faulting accept4({what}): {:?}, expected EAGAIN (the connection went with it)",
                again.map_err(ename)
            ));
        }
        drop(c);
        notes.push(format!("accept4({what}) {}, client {seen}", ename(want)));
    }
    // Bad flags: refused before anything is taken; the connection is still there.
    let c = fam.watched_socket()?;
    connect_raw(&c, &addr).map_err(e("connect"))?;
    let r = accept_raw(&l, std::ptr::null_mut(), std::ptr::null_mut(), 0x1).map(drop);
    if r != Err(libc::EINVAL) {
        return Err(format!(
            "{f} accept4(flags 0x1): {:?}, expected EINVAL",
            r.map_err(ename)
        ));
    }
    let s = accept(&l, 0).map_err(|err| format!("{f} accept after bad flags: {}", ename(err)))?;
    set_watchdog(&s)?;
    // recvmsg: an iovec array the kernel cannot read, too many iovecs: refused before the
    // protocol, the message stays; an iovec buffer or a name it cannot write: EFAULT.
    let m1: Vec<u8> = (0..100u8).collect();
    let m2: Vec<u8> = (100..200u8).collect();
    for m in [&m1, &m2] {
        if raw_send(c.as_raw_fd(), m, 0) != Ok(100) {
            return Err(format!("{f} send 100 bytes failed"));
        }
    }
    let mut rb = [0u8; 256];
    for (what, iov, n, want) in [
        (
            "msg_iov PROT_NONE",
            Some(none.cast::<libc::iovec>()),
            1,
            libc::EFAULT,
        ),
        ("msg_iovlen 1025", None, 1025, libc::EMSGSIZE),
    ] {
        let r = msg_raw(
            &s,
            false,
            rb.as_mut_ptr(),
            rb.len(),
            iov,
            n,
            std::ptr::null_mut(),
        );
        if r != Err(want) {
            return Err(format!(
                "{f} recvmsg({what}): {:?}, expected {}",
                r.map_err(ename),
                ename(want)
            ));
        }
    }
    let r = msg_raw(&s, false, none, 256, None, 1, std::ptr::null_mut());
    if r != Err(libc::EFAULT) {
        return Err(format!(
            "{f} recvmsg(iov_base PROT_NONE): {:?}, expected EFAULT",
            r.map_err(ename)
        ));
    }
    // The faulting receive consumed the first message or left it: never a part of one.
    let n = raw_recv(s.as_raw_fd(), &mut rb, libc::MSG_DONTWAIT).map_err(e("recv after EFAULT"))?;
    let kept = if rb[..n] == m1[..] {
        let n2 = raw_recv(s.as_raw_fd(), &mut rb, libc::MSG_DONTWAIT).map_err(e("recv 2"))?;
        if rb[..n2] != m2[..] {
            return Err(format!("{f}: the second message came as {n2} other bytes"));
        }
        "kept"
    } else if rb[..n] == m2[..] {
        "consumed"
    } else {
        return Err(format!(
            "{f}: after recvmsg's EFAULT the next message is {n} other bytes"
        ));
    };
    notes.push(format!(
        "recvmsg(iov_base PROT_NONE) EFAULT, message {kept}"
    ));
    // A name the kernel cannot write: EFAULT after the message was taken.
    if raw_send(c.as_raw_fd(), &m1, 0) != Ok(100) || raw_send(c.as_raw_fd(), &m2, 0) != Ok(100) {
        return Err(format!("{f}: send failed"));
    }
    let r = msg_raw(&s, false, rb.as_mut_ptr(), rb.len(), None, 1, none);
    let name_note = match r {
        Err(libc::EFAULT) => "EFAULT",
        // A family that gives no address for a connected socket writes none.
        Ok(100) => "ok (no address written)",
        other => {
            return Err(format!(
                "{f} recvmsg(msg_name PROT_NONE): {:?}",
                other.map_err(ename)
            ))
        }
    };
    while raw_recv(s.as_raw_fd(), &mut rb, libc::MSG_DONTWAIT).is_ok() {}
    notes.push(format!("recvmsg(msg_name PROT_NONE) {name_note}"));
    // sendmsg from memory the kernel cannot read: EFAULT, nothing delivered; then a message
    // goes through whole.
    for (what, base, iov) in [
        ("iov_base PROT_NONE", none, None),
        (
            "msg_iov PROT_NONE",
            rb.as_mut_ptr(),
            Some(none.cast::<libc::iovec>()),
        ),
    ] {
        let r = msg_raw(&c, true, base, 100, iov, 1, std::ptr::null_mut());
        if r != Err(libc::EFAULT) {
            return Err(format!(
                "{f} sendmsg({what}): {:?}, expected EFAULT",
                r.map_err(ename)
            ));
        }
        let q = raw_recv(s.as_raw_fd(), &mut rb, libc::MSG_DONTWAIT);
        if q != Err(libc::EAGAIN) {
            return Err(format!(
                "{f} after sendmsg({what}) EFAULT the peer read {:?}",
                q.map_err(ename)
            ));
        }
    }
    if raw_send(c.as_raw_fd(), &m1, 0) != Ok(100) {
        return Err(format!("{f}: send after EFAULT failed"));
    }
    let n = raw_recv(s.as_raw_fd(), &mut rb, 0).map_err(e("recv after sendmsg EFAULT"))?;
    if rb[..n] != m1[..] {
        return Err(format!(
            "{f}: the message after sendmsg's EFAULT came as {n} other bytes"
        ));
    }
    // connect, getsockname, getpeername with pointers the kernel cannot use.
    let c2 = fam.watched_socket()?;
    // SAFETY: the kernel checks the pointer.
    let r = unsafe { libc::connect(c2.as_raw_fd(), none.cast(), addr.len() as u32) };
    if r == 0 || errno() != libc::EFAULT {
        return Err(format!(
            "{f} connect(addr PROT_NONE): {r}, {}",
            ename(errno())
        ));
    }
    connect_raw(&c2, &addr).map_err(|err| format!("{f} connect after EFAULT: {}", ename(err)))?;
    let s2 = accept(&l, 0).map_err(e("accept after connect EFAULT"))?;
    for peer in [false, true] {
        let mut n: u32 = 16;
        // SAFETY: the kernel checks the pointers.
        let r = unsafe {
            if peer {
                libc::getpeername(s.as_raw_fd(), none.cast(), &mut n)
            } else {
                libc::getsockname(s.as_raw_fd(), none.cast(), &mut n)
            }
        };
        if r == 0 || errno() != libc::EFAULT {
            return Err(format!(
                "{f} get{}name(PROT_NONE): {r}, {}",
                if peer { "peer" } else { "sock" },
                ename(errno())
            ));
        }
    }
    let want = used + 4;
    let now = sockets_used()?;
    if now != want {
        return Err(format!(
            "{f}: sockets used {now} with listener + 2 connections, expected {want}"
        ));
    }
    drop((c, s, c2, s2, l));
    Ok(format!("{f}: {}", notes.join(", ")))
}

/// Hostile user pointers on SOCK_SEQPACKET: accept4's address and length (EFAULT, EINVAL for
/// a negative length: the accepted connection goes with the new socket and its client sees
/// the end), bad flags (EINVAL, the connection stays), recvmsg's iovec array and buffer
/// (EFAULT), too many iovecs (EMSGSIZE), sendmsg from unreadable memory (EFAULT, nothing
/// delivered), connect and getsockname/getpeername (EFAULT). AF_UNIX first (the control),
/// then family 18; nothing leaks (sockstat, refcnt, rmmod, the slab).
fn seqpacket_bad_user_pointers() -> TestResult {
    const T: &str = "seqpacket_bad_user_pointers";
    let (fams, missing) = families();
    ensure_seq_unloaded()?;
    ensure_loaded()?;
    let base = Baseline::take()?;
    let none = NoAccess::new()?;
    let mut lines = Vec::new();
    for fam in fams {
        lines.push(bad_pointers_on(fam, none.0)?);
    }
    seq_finish(T, &base, lines.join("; "), missing)
}

/// The SOCK_SEQPACKET calls whose allocations are failed in turn, and their errnos.
const SEQ_CASES: &[(&str, &[i32])] = &[
    // The connection's child socket and the connect message (AF_UNIX: unix_create1,
    // sock_wmalloc).
    ("connect", &[libc::ENOMEM, libc::ENOBUFS]),
    // do_accept's socket (sock_alloc: ENFILE) and file, the protocol's accept.
    ("accept", &[libc::ENOMEM, libc::ENOBUFS, libc::ENFILE]),
    ("send-100", &[libc::ENOMEM, libc::ENOBUFS]),
    ("send-60000", &[libc::ENOMEM, libc::ENOBUFS]),
    ("recvmsg", &[libc::ENOMEM, libc::ENOBUFS]),
];

/// Reads one message of `want` (whole) from `s`.
fn expect_msg(s: &OwnedFd, want: &[u8], what: &str) -> Result<(), String> {
    let mut b = vec![0u8; 65536];
    match raw_recv(s.as_raw_fd(), &mut b, 0) {
        Ok(n) if b[..n] == *want => Ok(()),
        Ok(n) => Err(format!(
            "{what}: {n} bytes arrived, not the {} sent",
            want.len()
        )),
        Err(err) => Err(format!("{what}: recv: {}", ename(err))),
    }
}

/// One SOCK_SEQPACKET call of `case` on `fam` with its `nth` allocation failing (0: none):
/// whether a fault was injected and the errno (0: success). Whatever happened, the
/// connection is then in a state the call's result explains, checked here.
fn seq_case(
    fam: Fam,
    case: &str,
    allowed: &[i32],
    fail: &FailNth,
    nth: u32,
) -> Result<(bool, i32), String> {
    let f = fam.name();
    let small = [0xa5u8; 100];
    let big = vec![0x5au8; 60000];
    let (l, addr) = fam.listener(8)?;
    let c = fam.watched_socket()?;
    let mut s = None;
    if case != "connect" {
        connect_raw(&c, &addr).map_err(e("connect"))?;
        if case != "accept" {
            let a = accept(&l, 0).map_err(e("accept"))?;
            set_watchdog(&a)?;
            s = Some(a);
        }
    }
    if case == "recvmsg" {
        check_send(&c, &small)?;
    }
    let mut rbuf = vec![0u8; 65536];
    fail.arm(nth)?;
    let r = match case {
        "connect" => connect_raw(&c, &addr).map(|_| 0),
        "accept" => accept(&l, 0).map(|a| {
            s = Some(a);
            0
        }),
        "send-100" => raw_send(c.as_raw_fd(), &small, 0),
        "send-60000" => raw_send(c.as_raw_fd(), &big, 0),
        _ => raw_recv(
            s.as_ref().map_or(-1, |s| s.as_raw_fd()),
            &mut rbuf,
            libc::MSG_DONTWAIT,
        ),
    };
    let injected = fail.disarm()? && nth != 0;
    let err = r.err().unwrap_or(0);
    let what = format!("{f} {case} with allocation #{nth} failing (injected: {injected})");
    if err != 0 && !(injected && allowed.contains(&err)) {
        return Err(format!("{what}: {}", ename(err)));
    }
    match (case, err) {
        ("connect", 0) => {
            let a = accept(&l, 0).map_err(e("accept"))?;
            check_send(&c, &small)?;
            expect_msg(&a, &small, &what)?;
        }
        ("connect", _) => {
            // No half connection: nothing to accept; connecting again works.
            let q = accept_nonblock(&l).map(drop);
            if q != Err(libc::EAGAIN) {
                return Err(format!(
                    "{what}: then accept4: {:?}, expected EAGAIN",
                    q.map_err(ename)
                ));
            }
            connect_raw(&c, &addr)
                .map_err(|err| format!("{what}: connect again: {}", ename(err)))?;
            let a = accept(&l, 0).map_err(e("accept"))?;
            check_send(&c, &small)?;
            expect_msg(&a, &small, &what)?;
        }
        ("accept", 0) => {
            check_send(&c, &small)?;
            expect_msg(s.as_ref().ok_or("no socket")?, &small, &what)?;
        }
        ("accept", _) => {
            // The connection is still pending (the failure came before the protocol took it)
            // or went with the failed socket (its client sees the end).
            match accept_nonblock(&l) {
                Ok(a) => {
                    check_send(&c, &small)?;
                    set_watchdog(&a)?;
                    expect_msg(&a, &small, &what)?;
                }
                Err(libc::EAGAIN) => {
                    peer_gone(&c).map_err(|m| format!("{what}: {m}"))?;
                }
                Err(x) => return Err(format!("{what}: then accept4: {}", ename(x))),
            }
        }
        (_, 0) if case.starts_with("send") => {
            let want: &[u8] = if case == "send-100" { &small } else { &big };
            if r != Ok(want.len()) {
                return Err(format!("{what}: returned {r:?}"));
            }
            expect_msg(s.as_ref().ok_or("no socket")?, want, &what)?;
        }
        (_, _) if case.starts_with("send") => {
            // Nothing delivered; the connection still works.
            let s = s.as_ref().ok_or("no socket")?;
            let q = raw_recv(s.as_raw_fd(), &mut rbuf, libc::MSG_DONTWAIT);
            if q != Err(libc::EAGAIN) {
                return Err(format!("{what}: the peer then read {:?}", q.map_err(ename)));
            }
            check_send(&c, &small)?;
            expect_msg(s, &small, &what)?;
        }
        (_, 0) => {
            if r != Ok(100) || rbuf[..100] != small {
                return Err(format!("{what}: returned {r:?}"));
            }
        }
        _ => {
            // The message is still there or was dropped with the failed call: never a part.
            let s = s.as_ref().ok_or("no socket")?;
            match raw_recv(s.as_raw_fd(), &mut rbuf, libc::MSG_DONTWAIT) {
                Ok(100) if rbuf[..100] == small => {}
                Err(libc::EAGAIN) => {}
                other => return Err(format!("{what}: then recv: {:?}", other.map_err(ename))),
            }
        }
    }
    Ok((injected, err))
}

/// Debug kernel: every allocation of SOCK_SEQPACKET connect (the child socket), accept, send
/// (100 B, 60,000 B) and recvmsg failed in turn: the documented errno (ENOMEM/ENOBUFS;
/// ENFILE for accept's socket) or complete success, and the connection in the state the
/// result says (no half connection after a failed connect, nothing delivered after a failed
/// send, a whole message after a successful one); nothing leaks. AF_UNIX first (the
/// control), then family 18.
fn fault_injection_seqpacket() -> TestResult {
    const T: &str = "fault_injection_seqpacket";
    let cfg = fault_config()?;
    let (fams, missing) = families();
    ensure_seq_unloaded()?;
    ensure_loaded()?;
    let base = Baseline::take()?;
    let fail = FailNth::open()?;
    let mut summary = Vec::new();
    for fam in fams {
        for (case, allowed) in SEQ_CASES {
            seq_case(fam, case, allowed, &fail, 0)?;
            let (mut failed, mut n) = (0, 1);
            loop {
                let (injected, err) = seq_case(fam, case, allowed, &fail, n)?;
                if !injected {
                    check_eq!(
                        err,
                        0,
                        format!("{} {case}: no fault injected but failed", fam.name())
                    );
                    break;
                }
                if err != 0 {
                    failed += 1;
                }
                n += 1;
                check!(n < 2000, "{case}: more than 2000 allocations?");
            }
            check_eq!(
                sockets_used()?,
                base.sockets,
                format!("{} {case}: sockets used after the series", fam.name())
            );
            summary.push(format!(
                "{} {case} {} sites ({failed} failed the call)",
                fam.name(),
                n - 1
            ));
        }
    }
    drop(cfg);
    seq_finish(
        T,
        &base,
        format!("fail-nth: {}", summary.join(", ")),
        missing,
    )
}
