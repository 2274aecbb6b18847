// SPDX-License-Identifier: GPL-2.0

//! The SOCK_SEQPACKET protocol's connection setup and teardown against AF_UNIX SOCK_SEQPACKET
//! (issue 17 items 4, 5, 10, 11 and 12): a shut-down listener refuses connects and still hands
//! out what it had queued, `poll` of a connect blocked on a full backlog, which error a
//! connect on a connected socket or a listener gets first, and which unread messages make a
//! close reset the peer. Each test runs its scenarios on AF_UNIX first (the control: what it
//! answers is what family 18 must answer), then on family 18, and ends with the module's
//! reference count and sockstat back where they were. Blocking calls have the 5 s
//! `SO_RCVTIMEO`/`SO_SNDTIMEO` watchdog and run under a deadline that names what they wait for.

use crate::ktap::{Test, TestResult};
use crate::seqp::{accept, accept_nonblock, raw_recv, raw_send, sockname, Fam};
use crate::seqpacket::{check_refs, ensure_seq_loaded, not_timed_out, share, spawn_blocked};
use crate::sys::*;
use crate::{check, check_eq};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Every test, in order.
pub const TESTS: &[Test] = &[
    Test {
        name: "seqpacket_shut_listener_refuses_connect",
        run: seqpacket_shut_listener_refuses_connect,
    },
    Test {
        name: "seqpacket_shut_listener_accept_drains_queue",
        run: seqpacket_shut_listener_accept_drains_queue,
    },
    Test {
        name: "seqpacket_poll_blocked_connect_out_hup",
        run: seqpacket_poll_blocked_connect_out_hup,
    },
    Test {
        name: "seqpacket_connect_resolves_address_first",
        run: seqpacket_connect_resolves_address_first,
    },
    Test {
        name: "seqpacket_close_empty_unread_no_reset",
        run: seqpacket_close_empty_unread_no_reset,
    },
];

/// The control first, then family 18.
const FAMS: [Fam; 2] = [Fam::Unix, Fam::Demo];

/// The test's own end: every socket closed, rust_pf_demo_seqpacket holds no reference (and
/// rust_pf_demo only the dependency's), sockstat back at `base` (waiting up to 3 s for
/// AF_UNIX's socks, which its peers may hold a moment longer).
fn check_end(base: u64) -> TestResult {
    check_refs(Some(0), Some(1), "at the end")?;
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let used = sockets_used()?;
        if used == base {
            return Ok(());
        }
        check!(
            Instant::now() < deadline,
            "sockstat at the end: sockets used {used}, {base} at the start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An address of `fam` that nobody holds: a port a socket held a moment ago (family 18), a
/// fresh abstract name (AF_UNIX).
fn free_addr(fam: Fam) -> Result<Vec<u8>, String> {
    match fam {
        Fam::Unix => Ok(fam.any_addr()),
        Fam::Demo => {
            let s = fam.watched_socket()?;
            bind_raw(&s, &fam.any_addr()).map_err(e("bind a port to free"))?;
            sockname(&s).map_err(e("getsockname"))
        }
    }
}

/// `connect` of `fd` to `addr`, as an errno name.
fn conn(fd: &OwnedFd, addr: &[u8]) -> Result<(), String> {
    connect_raw(fd, addr).map_err(ename)
}

/// `fcntl(F_SETFL, O_NONBLOCK)`.
fn set_nonblock(fd: &OwnedFd) -> TestResult {
    // SAFETY: fcntl on a descriptor we own.
    let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    // SAFETY: as above.
    let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK) };
    check!(rc == 0, "fcntl(O_NONBLOCK): {}", ename(errno()));
    Ok(())
}

/// One message received (`MSG_DONTWAIT`): its bytes, as an errno name on failure.
fn recv_now(fd: &OwnedFd) -> Result<Vec<u8>, String> {
    let mut buf = [0u8; 64];
    let n = raw_recv(fd.as_raw_fd(), &mut buf, libc::MSG_DONTWAIT).map_err(ename)?;
    Ok(buf[..n].to_vec())
}

/// Checks `got` (family 18's answers) against `control` (AF_UNIX's), both already checked
/// against what the 6.12 source says where the test states it.
fn same_as_control<T: PartialEq + std::fmt::Debug>(
    got: &T,
    control: &Option<T>,
    what: &str,
) -> TestResult {
    if let Some(unix) = control {
        check_eq!(
            got,
            unix,
            format!("family 18: {what}: the answers AF_UNIX gave")
        );
    }
    Ok(())
}

fn seqpacket_shut_listener_refuses_connect() -> TestResult {
    ensure_seq_loaded()?;
    let base = sockets_used()?;
    // As `unix_stream_connect()`: a listener shut for receiving (`SHUT_RD`, `SHUT_RDWR`) refuses
    // new connections (`ECONNREFUSED`); `SHUT_WR` alone does not. A connect already waiting on
    // its full backlog is refused too, not timed out: AF_UNIX answers `ECONNREFUSED` when the
    // wait ends (here its 1 s `SO_SNDTIMEO`), family 18 at the shutdown.
    let mut control = None;
    for fam in FAMS {
        let name = fam.name();
        let mut got = Vec::new();
        for (how, hname) in [
            (libc::SHUT_RD, "SHUT_RD"),
            (libc::SHUT_RDWR, "SHUT_RDWR"),
            (libc::SHUT_WR, "SHUT_WR"),
        ] {
            let (l, addr) = fam.listener(4)?;
            shutdown(&l, how).map_err(e("shutdown of the listener"))?;
            let c = fam.watched_socket()?;
            let r = conn(&c, &addr);
            got.push((hname, "connect", r.clone()));
            let expected = if how == libc::SHUT_WR {
                Ok(())
            } else {
                Err(ename(libc::ECONNREFUSED))
            };
            check_eq!(
                r,
                expected,
                format!("{name}: connect to a listener after its {hname}")
            );
            // Nothing was queued by the refused connect.
            if how != libc::SHUT_WR {
                check_eq!(
                    accept_nonblock(&l).map(drop).map_err(ename),
                    Err(ename(libc::EAGAIN)),
                    format!("{name}: non-blocking accept after the refused connect ({hname})")
                );
            }
        }
        // A connect blocked on the full backlog (0 admits one), then the listener's SHUT_RD.
        let (l, addr) = fam.listener(0)?;
        let c1 = fam.watched_socket()?;
        connect_raw(&c1, &addr).map_err(e("the connect that fills the backlog"))?;
        let c2 = fam.watched_socket()?;
        set_timeo(&c2, libc::SO_SNDTIMEO, 1000)?;
        let (c2s, a2) = (share(&c2), addr.clone());
        let b = spawn_blocked(move || connect_raw(&c2s, &a2));
        let blocked = b.blocking();
        shutdown(&l, libc::SHUT_RD).map_err(e("shutdown of the listener"))?;
        let r = b
            .join("the listener's SHUT_RD (or the connect's 1 s SO_SNDTIMEO)")?
            .map_err(ename);
        check!(
            blocked,
            "{name}: the connect to a full backlog did not block"
        );
        got.push(("SHUT_RD", "blocked connect", r.clone()));
        check_eq!(
            r,
            Err(ename(libc::ECONNREFUSED)),
            format!("{name}: connect blocked on a full backlog when the listener was shut down")
        );
        same_as_control(&got, &control, "connects to a shut-down listener")?;
        control.get_or_insert(got);
    }
    check_end(base)
}

fn seqpacket_shut_listener_accept_drains_queue() -> TestResult {
    ensure_seq_loaded()?;
    let base = sockets_used()?;
    // As `unix_accept()` (`skb_recv_datagram()` on the listener): connections queued before the
    // shutdown are still handed out, each working (its first message byte-exact); then a
    // non-blocking accept gets `EAGAIN` and a blocking one `EINVAL` at once.
    let mut control = None;
    for fam in FAMS {
        let name = fam.name();
        let mut got = Vec::new();
        for (how, hname) in [(libc::SHUT_RD, "SHUT_RD"), (libc::SHUT_RDWR, "SHUT_RDWR")] {
            let (l, addr) = fam.listener(4)?;
            let mut clients = Vec::new();
            for i in 0..2u8 {
                let c = fam.watched_socket()?;
                connect_raw(&c, &addr).map_err(e("connect"))?;
                raw_send(c.as_raw_fd(), &[b'a' + i; 3], 0).map_err(e("send"))?;
                clients.push(c);
            }
            shutdown(&l, how).map_err(e("shutdown of the listener"))?;
            for (i, c) in clients.iter().enumerate() {
                let r = accept(&l, 0).map_err(ename);
                got.push((hname, i, r.as_ref().map(drop).map_err(Clone::clone)));
                let s = r.map_err(|err| {
                    format!("{name}: accept {i} of the 2 queued before the {hname}: {err}")
                })?;
                check_eq!(
                    recv_now(&s),
                    Ok(vec![b'a' + i as u8; 3]),
                    format!("{name}: the first message of accepted connection {i} ({hname})")
                );
                raw_send(s.as_raw_fd(), b"back", 0).map_err(e("send back"))?;
                check_eq!(
                    recv_now(c),
                    Ok(b"back".to_vec()),
                    format!("{name}: the reply on accepted connection {i} ({hname})")
                );
            }
            let nonblocking = accept_nonblock(&l).map(drop).map_err(ename);
            // Blocking: EINVAL at once (the listener's 5 s SO_RCVTIMEO is the watchdog: a wait
            // would end in EAGAIN).
            let blocking = accept(&l, 0).map(drop).map_err(ename);
            got.push((hname, 2, nonblocking.clone()));
            got.push((hname, 3, blocking.clone()));
            check_eq!(
                nonblocking,
                Err(ename(libc::EAGAIN)),
                format!("{name}: non-blocking accept of the drained listener ({hname})")
            );
            check_eq!(
                blocking,
                Err(ename(libc::EINVAL)),
                format!("{name}: blocking accept of the drained listener ({hname})")
            );
        }
        same_as_control(&got, &control, "accepts on a shut-down listener")?;
        control.get_or_insert(got);
    }
    check_end(base)
}

fn seqpacket_poll_blocked_connect_out_hup() -> TestResult {
    ensure_seq_loaded()?;
    let base = sockets_used()?;
    // `unix_dgram_poll()`: a socket not connected (`TCP_CLOSE`, which an AF_UNIX socket stays
    // while its connect waits for room in the backlog) is `EPOLLHUP`, and writable.
    let events = libc::POLLIN | libc::POLLOUT | libc::POLLRDHUP;
    let expected = libc::POLLOUT | libc::POLLHUP;
    let mut control = None;
    for fam in FAMS {
        let name = fam.name();
        let (l, addr) = fam.listener(0)?;
        let c1 = fam.watched_socket()?;
        connect_raw(&c1, &addr).map_err(e("the connect that fills the backlog"))?;
        let c2 = fam.watched_socket()?;
        let before = poll1(&c2, events, 0).map_err(ename);
        let (c2s, a2) = (share(&c2), addr.clone());
        let b = spawn_blocked(move || connect_raw(&c2s, &a2));
        let blocked = b.blocking();
        let during = poll1(&c2, events, 0).map_err(ename);
        // An accept makes room: the connect goes through.
        let s1 = accept(&l, 0).map_err(e("accept"))?;
        let r = not_timed_out(
            b.join("room in the backlog (an accept)")?,
            "room in the backlog",
        )?;
        check!(
            blocked,
            "{name}: the connect to a full backlog did not block"
        );
        check_eq!(
            r,
            Ok(()),
            format!("{name}: the blocked connect after an accept")
        );
        let after = poll1(&c2, events, 0).map_err(ename);
        let got = (before, during, after);
        check_eq!(
            got,
            (Ok(expected), Ok(expected), Ok(libc::POLLOUT)),
            format!("{name}: poll of the client (before its connect, blocked, connected)")
        );
        same_as_control(&got, &control, "poll of a connecting client")?;
        control.get_or_insert(got);
        drop((s1, c1, c2, l));
    }
    check_end(base)
}

fn seqpacket_connect_resolves_address_first() -> TestResult {
    ensure_seq_loaded()?;
    let base = sockets_used()?;
    // `unix_stream_connect()` resolves the address and checks the listener (it listens, is not
    // shut for receiving, has room in its backlog: else `ECONNREFUSED`, or a wait / `EAGAIN`)
    // before it looks at the connecting socket's own state (`EISCONN` connected, `EINVAL` a
    // listener).
    let refused = Err(ename(libc::ECONNREFUSED));
    let mut control = None;
    for fam in FAMS {
        let name = fam.name();
        let mut got: Vec<(&str, &str, Result<(), String>)> = Vec::new();
        // The targets.
        let (l, laddr) = fam.listener(4)?;
        let nobody = free_addr(fam)?;
        let bound = fam.watched_socket()?;
        bind_raw(&bound, &fam.any_addr()).map_err(e("bind"))?;
        let baddr = sockname(&bound).map_err(e("getsockname"))?;
        let (shut, saddr) = fam.listener(4)?;
        shutdown(&shut, libc::SHUT_RD).map_err(e("shutdown"))?;
        let (_full, faddr) = fam.listener(0)?;
        let filler = fam.watched_socket()?;
        connect_raw(&filler, &faddr).map_err(e("the connect that fills the backlog"))?;
        // The connecting sockets: both ends of a connection, a listener.
        let (c, s) = fam.connection(&l, &laddr)?;
        let (l2, l2addr) = fam.listener(4)?;
        for (who, fd) in [("client", &c), ("accepted", &s), ("listener", &l2)] {
            set_nonblock(fd)?;
            let connected = who != "listener";
            let own = if connected {
                Err(ename(libc::EISCONN))
            } else {
                Err(ename(libc::EINVAL))
            };
            let mut cases = vec![
                ("nobody", &nobody, refused.clone()),
                ("a bound socket not listening", &baddr, refused.clone()),
                ("a listener shut down", &saddr, refused.clone()),
                (
                    "a full backlog (O_NONBLOCK)",
                    &faddr,
                    Err(ename(libc::EAGAIN)),
                ),
                ("a listener", &laddr, own.clone()),
            ];
            if !connected {
                cases.push(("itself", &l2addr, own.clone()));
            }
            for (target, addr, expected) in cases {
                let r = conn(fd, addr);
                got.push((who, target, r.clone()));
                check_eq!(
                    r,
                    expected,
                    format!("{name}: connect of a {who} socket to {target}")
                );
            }
        }
        // They are still what they were: the connection works, the listener accepts.
        raw_send(c.as_raw_fd(), b"still", 0).map_err(e("send on the connection"))?;
        check_eq!(
            recv_now(&s),
            Ok(b"still".to_vec()),
            format!("{name}: the connection after the refused connects")
        );
        let c3 = fam.watched_socket()?;
        connect_raw(&c3, &l2addr).map_err(e("connect to the listener that tried connects"))?;
        accept(&l2, 0).map_err(e("accept on the listener that tried connects"))?;
        same_as_control(
            &got,
            &control,
            "connects of connected sockets and listeners",
        )?;
        control.get_or_insert(got);
    }
    check_end(base)
}

fn seqpacket_close_empty_unread_no_reset() -> TestResult {
    ensure_seq_loaded()?;
    let base = sockets_used()?;
    // `unix_release_sock()`: the peer of a socket closed with messages unread gets `ECONNRESET`,
    // but an empty message at the head of the queue does not count (the next one does, empty
    // or not). What the peer then answers: two sends and a non-blocking receive.
    let scenarios: [(&str, &[&[u8]], usize); 5] = [
        ("nothing", &[], 0),
        ("one empty message", &[b""], 0),
        ("two empty messages", &[b"", b""], 1),
        ("an empty message, then 5 bytes", &[b"", b"fives"], 1),
        ("5 bytes, then an empty message", &[b"fives", b""], 1),
    ];
    let mut control = None;
    for fam in FAMS {
        let name = fam.name();
        let mut got = Vec::new();
        for (what, msgs, resets) in scenarios {
            let (l, addr) = fam.listener(4)?;
            let (c, s) = fam.connection(&l, &addr)?;
            drop(l);
            for m in msgs {
                check_eq!(
                    raw_send(c.as_raw_fd(), m, 0).map_err(ename),
                    Ok(m.len()),
                    format!("{name}: send of {} bytes", m.len())
                );
            }
            drop(s);
            let seq: Vec<Result<usize, String>> = vec![
                raw_send(c.as_raw_fd(), b"x", 0).map_err(ename),
                raw_send(c.as_raw_fd(), b"x", 0).map_err(ename),
                raw_recv(c.as_raw_fd(), &mut [0u8; 64], libc::MSG_DONTWAIT).map_err(ename),
            ];
            let n = seq
                .iter()
                .filter(|r| **r == Err(ename(libc::ECONNRESET)))
                .count();
            check_eq!(
                n,
                resets,
                format!(
                    "{name}: ECONNRESET reports after the peer closed with {what} unread ({seq:?})"
                )
            );
            got.push((what, seq));
        }
        same_as_control(&got, &control, "the peer's answers after a close")?;
        control.get_or_insert(got);
    }
    check_end(base)
}
