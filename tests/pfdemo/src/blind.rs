// SPDX-License-Identifier: GPL-2.0

//! The suite's former blind spots (issue 17): bugs that the rest of the suite passes with, each
//! with the test that catches it. Each runs its scenario on the control first (AF_INET raw
//! sockets, AF_UNIX SOCK_SEQPACKET, UDP) and family 18 must answer as it did:
//!
//! - `SOCK_RAW` needs `CAP_NET_RAW` and only it (a check of another capability passed, as the
//!   tests only tried root, with every capability, and nobody, with none);
//! - it needs it in the user namespace owning the socket's network namespace, as inet's
//!   `ns_capable(net->user_ns, CAP_NET_RAW)` (`capable(CAP_NET_RAW)` passed);
//! - a blocking `accept` honours `SO_RCVTIMEO`: `EAGAIN` after it, and `EINTR` on an
//!   `SA_RESTART` signal when one is set (an accept that ignored it passed);
//! - the datagram protocol refuses sends after its own `SHUT_WR`, not after `SHUT_RD` (a
//!   check of the wrong direction passed: the socket core's `EPIPE` hid it with a live peer).

use crate::ktap::{Outcome, Test, TestResult};
use crate::seqp::{accept, ensure_seq_unloaded, families, raw_recv, seq_finish, sockname};
use crate::stress::Baseline;
use crate::sys::*;
use crate::{check, check_eq};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Every test, in order.
pub const TESTS: &[Test] = &[
    Test {
        name: "blind_raw_needs_cap_net_raw_only",
        run: blind_raw_needs_cap_net_raw_only,
    },
    Test {
        name: "blind_raw_cap_in_netns_user_ns",
        run: blind_raw_cap_in_netns_user_ns,
    },
    Test {
        name: "blind_accept_so_rcvtimeo_eagain",
        run: blind_accept_so_rcvtimeo_eagain,
    },
    Test {
        name: "blind_accept_timeout_sa_restart_eintr",
        run: blind_accept_timeout_sa_restart_eintr,
    },
    Test {
        name: "blind_dgram_send_after_shutdown_as_udp",
        run: blind_dgram_send_after_shutdown_as_udp,
    },
];

/// The exit status of a child whose setup failed (it printed the step and the errno).
const SETUP_FAILED: i32 = 250;
/// The exit status of a child whose `unshare(CLONE_NEWUSER)` was `EINVAL`: no `CONFIG_USER_NS`.
const NO_USER_NS: i32 = 251;

/// A child's setup before its `socket()`: `Err` names the step that failed and its errno.
type Setup<'a> = &'a dyn Fn() -> Result<(), (&'static str, i32)>;

/// In a forked child: `setup` (it drops capabilities or enters namespaces), then
/// `socket(family, SOCK_RAW, protocol)`: `Ok(Ok(()))` a socket, `Ok(Err(errno))` socket()'s
/// error, `Err` a failed setup (a skip without user namespaces).
fn raw_socket_in_child(
    test: &str,
    setup: impl Fn() -> Result<(), (&'static str, i32)>,
    family: i32,
    protocol: i32,
) -> Result<Result<(), i32>, Outcome> {
    let code = in_child(|| {
        if let Err((step, err)) = setup() {
            if step == "unshare" && err == libc::EINVAL {
                return NO_USER_NS;
            }
            println!("# {test}: in the child: {step}: {}", ename(err));
            return SETUP_FAILED;
        }
        match socket(family, libc::SOCK_RAW, protocol) {
            Ok(_) => 0,
            Err(err) => err,
        }
    })?;
    match code {
        0 => Ok(Ok(())),
        NO_USER_NS => Err(Outcome::Skip(
            "unshare(CLONE_NEWUSER): EINVAL (a kernel without CONFIG_USER_NS)".into(),
        )),
        SETUP_FAILED => Err(Outcome::Fail(
            "the child's setup failed (the line above)".into(),
        )),
        err => Ok(Err(err)),
    }
}

/// `SOCK_RAW` of AF_INET (`IPPROTO_ICMP`, the control) and of family 18 for each `(who,
/// setup, expected)`: AF_INET must give `expected`, and family 18 what AF_INET gave. Returns
/// the report.
fn raw_sockets_as_inet(
    test: &str,
    cases: &[(&str, Setup<'_>, Result<(), i32>)],
) -> Result<String, Outcome> {
    let mut seen = Vec::new();
    for &(who, setup, want) in cases {
        let inet = raw_socket_in_child(test, setup, libc::AF_INET, libc::IPPROTO_ICMP)?;
        check_eq!(
            inet.map_err(ename),
            want.map_err(ename),
            format!("{who}: socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), the control")
        );
        let demo = raw_socket_in_child(test, setup, PF_DEMO, 0)?;
        check_eq!(
            demo.map_err(ename),
            inet.map_err(ename),
            format!("{who}: socket(18, SOCK_RAW, 0), as AF_INET")
        );
        let got = demo.map_or_else(ename, |()| "a socket".into());
        seen.push(format!("{who}: {got}"));
    }
    check_eq!(refcnt(), Some(0), "refcnt after the children exited");
    Ok(seen.join("; "))
}

/// Root with every capability but `CAP_NET_RAW` gets `EPERM` for `SOCK_RAW`; root without
/// `CAP_NET_BIND_SERVICE`, without `CAP_NET_ADMIN`, and a root left with `CAP_NET_RAW` alone get
/// a socket: the check is of `CAP_NET_RAW` and of nothing else. AF_INET first, the control.
fn blind_raw_needs_cap_net_raw_only() -> TestResult {
    const T: &str = "blind_raw_needs_cap_net_raw_only";
    ensure_loaded()?;
    let (all, _) = capget().map_err(e("capget"))?;
    check!(
        all & cap_bit(CAP_NET_RAW) != 0,
        "the test program runs without CAP_NET_RAW (effective {all:#x})"
    );
    let without = |cap: u32| {
        let caps = all & !cap_bit(cap);
        move || capset(caps, caps).map_err(|err| ("capset", err))
    };
    let only_raw = || capset(cap_bit(CAP_NET_RAW), cap_bit(CAP_NET_RAW)).map_err(|e| ("capset", e));
    let report = raw_sockets_as_inet(
        T,
        &[
            (
                "root without CAP_NET_RAW",
                &without(CAP_NET_RAW),
                Err(libc::EPERM),
            ),
            (
                "root without CAP_NET_BIND_SERVICE",
                &without(CAP_NET_BIND_SERVICE),
                Ok(()),
            ),
            (
                "root without CAP_NET_ADMIN",
                &without(CAP_NET_ADMIN),
                Ok(()),
            ),
            ("root with CAP_NET_RAW alone", &only_raw, Ok(())),
        ],
    )?;
    crate::stress::report(T, report);
    Ok(())
}

/// The "root" of a new user namespace (nobody outside) with a new network namespace owned by
/// it may open `SOCK_RAW` there; in a new user namespace inside the initial network namespace
/// it gets `EPERM`: `CAP_NET_RAW` counts in the user namespace owning the socket's network
/// namespace (inet's `ns_capable(net->user_ns, CAP_NET_RAW)`), not in the initial one
/// (`capable()`). AF_INET first, the control.
fn blind_raw_cap_in_netns_user_ns() -> TestResult {
    const T: &str = "blind_raw_cap_in_netns_user_ns";
    ensure_loaded()?;
    let report = raw_sockets_as_inet(
        T,
        &[
            (
                "root of a new user namespace and network namespace",
                &|| enter_user_ns(true),
                Ok(()),
            ),
            (
                "root of a new user namespace in the initial network namespace",
                &|| enter_user_ns(false),
                Err(libc::EPERM),
            ),
        ],
    )?;
    crate::stress::report(T, report);
    Ok(())
}

/// What a blocking call returned, how long it took, whether the watchdog had to interrupt it,
/// and what the helper thread's action gave.
struct Blocking<T, A> {
    r: T,
    took: Duration,
    watchdog: bool,
    act: A,
}

/// The thread that makes a blocking call, as its helper thread sees it.
struct Caller {
    pid: libc::pid_t,
    tid: libc::pid_t,
}

impl Caller {
    /// The calling thread.
    fn me() -> Self {
        // SAFETY: no arguments; they return the caller's process and thread ids.
        unsafe {
            Self {
                pid: libc::getpid(),
                tid: libc::syscall(libc::SYS_gettid) as libc::pid_t,
            }
        }
    }

    /// Sends it `sig`.
    fn signal(&self, sig: i32) {
        // SAFETY: a thread of this process, alive while its helper runs ([`blocking`]'s scope).
        unsafe { libc::tgkill(self.pid, self.tid, sig) };
    }

    /// Waits (up to 2 s) until it sleeps in system call `nr` (`/proc/self/task/TID/syscall`
    /// and the state in its `stat`); whether it did.
    fn sleeps_in(&self, nr: libc::c_long) -> bool {
        let deadline = Instant::now() + Duration::from_secs(2);
        let task = format!("/proc/self/task/{}", self.tid);
        while Instant::now() < deadline {
            let call = std::fs::read_to_string(format!("{task}/syscall")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("{task}/stat")).unwrap_or_default();
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next());
            if call.split_whitespace().next() == Some(&nr.to_string()) && state == Some("S") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

/// Runs `call` (a system call `nr` that blocks) on this thread. A helper thread, once this
/// thread sleeps in `nr` (`None`: at once), runs `act` (it may signal this thread); then it is
/// the call's watchdog: a call not returned [`WATCHDOG_MS`] after `act` is interrupted with
/// `SIGALRM` (no `SA_RESTART`: `EINTR`), every second until it returns.
fn blocking<T, A: Send>(
    nr: Option<libc::c_long>,
    act: impl FnOnce(&Caller) -> A + Send,
    call: impl FnOnce() -> T,
) -> Blocking<T, A> {
    handle_signal(libc::SIGALRM, false);
    let me = Caller::me();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let fired = AtomicBool::new(false);
    std::thread::scope(|s| {
        let (me, fired) = (&me, &fired);
        let helper = s.spawn(move || {
            if let Some(nr) = nr {
                me.sleeps_in(nr);
            }
            let a = act(me);
            let mut limit = Duration::from_millis(WATCHDOG_MS as u64);
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
                fired.store(true, Relaxed);
                me.signal(libc::SIGALRM);
                limit = Duration::from_secs(1);
            }
            a
        });
        let t0 = Instant::now();
        let r = call();
        let took = t0.elapsed();
        let _ = done.send(());
        let act = helper.join().expect("the helper thread panicked");
        Blocking {
            r,
            took,
            watchdog: fired.load(Relaxed),
            act,
        }
    })
}

/// A blocking `accept` (SOCK_SEQPACKET) with `SO_RCVTIMEO` of 300 ms and no connection
/// coming returns `EAGAIN` after the timeout: not before it, and not never (the watchdog
/// interrupts it 5 s later). AF_UNIX first, the control.
fn blind_accept_so_rcvtimeo_eagain() -> TestResult {
    const T: &str = "blind_accept_so_rcvtimeo_eagain";
    const TIMEO_MS: u64 = 300;
    let (fams, missing) = families();
    ensure_seq_unloaded()?;
    ensure_loaded()?;
    let base = Baseline::take()?;
    let mut lines = Vec::new();
    for fam in fams {
        let f = fam.name();
        let (l, _) = fam.listener(4)?;
        set_rcvtimeo(&l, TIMEO_MS as i64)?;
        let b = blocking(None, |_| (), || accept(&l, 0).map(drop));
        check!(
            !b.watchdog,
            "{f}: accept with SO_RCVTIMEO {TIMEO_MS} ms still blocked {} ms later (the watchdog \
             interrupted it: {:?}): the timeout is ignored",
            b.took.as_millis(),
            b.r.map_err(ename)
        );
        check_eq!(
            b.r.map_err(ename),
            Err(ename(libc::EAGAIN)),
            format!("{f}: accept with SO_RCVTIMEO {TIMEO_MS} ms and no connection")
        );
        check!(
            b.took >= Duration::from_millis(TIMEO_MS - 50),
            "{f}: accept gave EAGAIN after {} ms, before its {TIMEO_MS} ms timeout",
            b.took.as_millis()
        );
        lines.push(format!("{f}: EAGAIN after {} ms", b.took.as_millis()));
    }
    seq_finish(T, &base, lines.join("; "), missing)
}

/// A blocked `accept` with `SO_RCVTIMEO` set returns `EINTR` on a signal whose handler has
/// `SA_RESTART` (`sock_intr_errno()`: only a wait without a timeout restarts); without a
/// timeout the same signal restarts it, and it gets the connection that comes next. AF_UNIX
/// first, the control.
fn blind_accept_timeout_sa_restart_eintr() -> TestResult {
    const T: &str = "blind_accept_timeout_sa_restart_eintr";
    const TIMEO_MS: i64 = 3000;
    let (fams, missing) = families();
    ensure_seq_unloaded()?;
    ensure_loaded()?;
    let base = Baseline::take()?;
    handle_signal(libc::SIGUSR1, true);
    let mut lines = Vec::new();
    for fam in fams {
        let f = fam.name();
        let (l, addr) = fam.listener(4)?;
        // A timeout (3 s, below the 5 s watchdog): the SA_RESTART signal interrupts with EINTR.
        set_rcvtimeo(&l, TIMEO_MS)?;
        let b = blocking(
            Some(libc::SYS_accept4),
            |caller| caller.signal(libc::SIGUSR1),
            || accept(&l, 0).map(drop),
        );
        check!(
            !b.watchdog,
            "{f}: accept with SO_RCVTIMEO {TIMEO_MS} ms restarted after SIGUSR1 (SA_RESTART) and \
             was still blocked {} ms later (the watchdog interrupted it)",
            b.took.as_millis()
        );
        check_eq!(
            b.r.map_err(ename),
            Err(ename(libc::EINTR)),
            format!(
                "{f}: accept with SO_RCVTIMEO {TIMEO_MS} ms after SIGUSR1 (SA_RESTART), {} ms",
                b.took.as_millis()
            )
        );
        let with = b.took.as_millis();
        // No timeout: the signal restarts the call, which then takes the connection.
        set_rcvtimeo(&l, 0)?;
        let b = blocking(
            Some(libc::SYS_accept4),
            |caller| {
                caller.signal(libc::SIGUSR1);
                std::thread::sleep(Duration::from_millis(100));
                let restarted = caller.sleeps_in(libc::SYS_accept4);
                let client = fam.watched_socket().and_then(|c| {
                    connect_raw(&c, &addr).map_err(e("connect"))?;
                    Ok(c)
                });
                (restarted, client)
            },
            || accept(&l, 0),
        );
        let (restarted, client) = b.act;
        let _client = client?;
        check!(
            !b.watchdog,
            "{f}: accept without a timeout, restarted by SIGUSR1, not woken by the connection: \
             the watchdog interrupted it after {} ms",
            b.took.as_millis()
        );
        check!(
            restarted,
            "{f}: accept without a timeout returned after SIGUSR1 (SA_RESTART) instead of \
             restarting: {:?}",
            b.r.as_ref().map(drop).map_err(|&e| ename(e))
        );
        check!(
            b.r.is_ok(),
            "{f}: restarted accept: {:?}, expected the connection",
            b.r.map(drop).map_err(ename)
        );
        lines.push(format!(
            "{f}: EINTR after {with} ms with SO_RCVTIMEO, restarted without, then the connection"
        ));
    }
    seq_finish(T, &base, lines.join("; "), missing)
}

/// UDP (the control) or the datagram protocol of family 18.
#[derive(Clone, Copy)]
enum Dgram {
    Udp,
    Demo,
}

impl Dgram {
    fn name(self) -> &'static str {
        match self {
            Dgram::Udp => "UDP",
            Dgram::Demo => "family 18",
        }
    }

    /// The address of `port` (UDP: on 127.0.0.1).
    fn addr(self, port: u32) -> Vec<u8> {
        match self {
            Dgram::Udp => sin_bytes(port as u16),
            Dgram::Demo => SockaddrPfdemo::new(port).to_bytes().to_vec(),
        }
    }

    /// A socket with the watchdog, bound to a free port, and its port.
    fn bound(self) -> Result<(OwnedFd, u32), String> {
        let fd = match self {
            Dgram::Udp => socket(libc::AF_INET, libc::SOCK_DGRAM, 0),
            Dgram::Demo => demo_socket(),
        }
        .map_err(e("socket"))?;
        set_watchdog(&fd)?;
        bind_raw(&fd, &self.addr(0)).map_err(e("bind"))?;
        let a = sockname(&fd).map_err(e("getsockname"))?;
        let port = match self {
            Dgram::Udp => u32::from(u16::from_be_bytes([a[2], a[3]])),
            Dgram::Demo => SockaddrPfdemo::from_bytes(&a).unwrap_or_default().port,
        };
        Ok((fd, port))
    }
}

/// What each step of [`dgram_shutdown_steps`] answered: the step and its result.
type Steps = Vec<(&'static str, Result<usize, String>)>;

/// The sends after a socket's own shutdown, on `dg`: after `SHUT_RD` (unconnected with
/// `sendto`, and connected) they are delivered; after `SHUT_WR`, a connected `send`, `sendto`
/// a live port and a free one, and (unconnected) `sendto` a free port and `send` without an
/// address. A step's result is the send's, then whether the receiver got it.
fn dgram_shutdown_steps(dg: Dgram) -> Result<Steps, String> {
    let (r, rport) = dg.bound()?;
    let free = dg.bound()?.1;
    let mut steps: Steps = Vec::new();
    let mut step = |name, sent: Result<usize, i32>| {
        if sent.is_ok() {
            // UDP's loopback delivery may come after the send returns.
            let _ = poll1(&r, libc::POLLIN, 1000);
        }
        let mut buf = [0u8; 16];
        let got = raw_recv(r.as_raw_fd(), &mut buf, libc::MSG_DONTWAIT);
        let res = match (sent, got) {
            (Ok(n), Ok(m)) if n == m => Ok(n),
            (Ok(n), got) => Err(format!("sent {n}, received {:?}", got.map_err(ename))),
            (Err(err), Err(libc::EAGAIN)) => Err(ename(err)),
            (Err(err), got) => Err(format!("{} but received {got:?}", ename(err))),
        };
        steps.push((name, res));
    };
    let (s, _) = dg.bound()?;
    // Unconnected: UDP's shutdown says ENOTCONN and shuts all the same; not compared.
    let _ = shutdown(&s, libc::SHUT_RD);
    step(
        "SHUT_RD, sendto a live port",
        sendto_raw(&s, b"rd", Some(&dg.addr(rport)), 0),
    );
    let (s, _) = dg.bound()?;
    connect_raw(&s, &dg.addr(rport)).map_err(e("connect"))?;
    shutdown(&s, libc::SHUT_RD).map_err(e("shutdown(SHUT_RD), connected"))?;
    step("SHUT_RD, connected send", sendto_raw(&s, b"rd2", None, 0));
    shutdown(&s, libc::SHUT_WR).map_err(e("shutdown(SHUT_WR), connected"))?;
    step("SHUT_WR, connected send", sendto_raw(&s, b"wr", None, 0));
    let live = dg.addr(rport);
    step(
        "SHUT_WR, connected, sendto a live port",
        sendto_raw(&s, b"wr", Some(&live), 0),
    );
    let to_free = dg.addr(free);
    step(
        "SHUT_WR, connected, sendto a free port",
        sendto_raw(&s, b"wr", Some(&to_free), 0),
    );
    let (s, _) = dg.bound()?;
    let _ = shutdown(&s, libc::SHUT_WR);
    step(
        "SHUT_WR, sendto a free port",
        sendto_raw(&s, b"wr", Some(&to_free), 0),
    );
    step("SHUT_WR, unconnected send", sendto_raw(&s, b"wr", None, 0));
    // Nothing of the refused sends arrives late.
    let late = poll1(&r, libc::POLLIN, 200).map_err(e("poll"))?;
    steps.push((
        "nothing arrives late",
        if late == 0 {
            Ok(0)
        } else {
            Err("a datagram".into())
        },
    ));
    Ok(steps)
}

/// A send after the socket's own `SHUT_RD` is delivered; after its `SHUT_WR` every send is
/// `EPIPE` whatever the destination (a free port: not `ECONNREFUSED`), except a send without
/// an address on an unconnected socket, which is `EDESTADDRREQ` (UDP checks the destination
/// first). UDP first: the control gives the expected answers.
fn blind_dgram_send_after_shutdown_as_udp() -> TestResult {
    const T: &str = "blind_dgram_send_after_shutdown_as_udp";
    ensure_loaded()?;
    let base = sockets_used()?;
    let epipe = Err(ename(libc::EPIPE));
    let want = [
        Ok(2),
        Ok(3),
        epipe.clone(),
        epipe.clone(),
        epipe.clone(),
        epipe,
        Err(ename(libc::EDESTADDRREQ)),
        Ok(0),
    ];
    let udp = dgram_shutdown_steps(Dgram::Udp)?;
    let demo = dgram_shutdown_steps(Dgram::Demo)?;
    for (((name, u), (_, d)), w) in udp.iter().zip(&demo).zip(&want) {
        check_eq!(u, w, format!("{}: {name}, the control", Dgram::Udp.name()));
        check_eq!(d, u, format!("{}: {name}, as UDP", Dgram::Demo.name()));
    }
    check_eq!(demo.len(), want.len(), "steps run");
    check_eq!(refcnt(), Some(0), "refcnt after the test's sockets closed");
    check_eq!(sockets_used()?, base, "sockets in use after the test");
    let steps: Vec<String> = demo
        .iter()
        .map(|(name, r)| {
            format!(
                "{name}: {}",
                r.as_ref().map_or_else(String::clone, |n| format!("{n} B"))
            )
        })
        .collect();
    crate::stress::report(T, format!("as UDP: {}", steps.join("; ")));
    Ok(())
}
