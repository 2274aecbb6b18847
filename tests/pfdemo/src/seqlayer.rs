// SPDX-License-Identifier: GPL-2.0

//! What the layer does for a SOCK_SEQPACKET socket beside its protocol's calls, each scenario
//! run on AF_UNIX SOCK_SEQPACKET first (the control) and then on family 18, which must answer
//! the same (issue 17 items 6, 7, 9 and 14): `O_ASYNC` signals on the peer's shutdown and close
//! and on write space, the receiver's socket filter, `ioctl` (`SIOCINQ`, `SIOCOUTQ`, the socket
//! core's own commands), and `EPOLLOUT` with the wake-up of its waiters at a quarter of
//! `SO_SNDBUF`. Each test ends with the module's reference count and `sockets: used` back.

use crate::ktap::{Test, TestResult};
use crate::seqpacket::{
    check_refs, ensure_seq_loaded, listener, pair, recv, send, unix_pair, MakePair,
};
use crate::sys::*;
use crate::{check, check_eq};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

/// Every test, in order.
pub const TESTS: &[Test] = &[
    Test {
        name: "seqlayer_sigio_peer_events_as_unix",
        run: seqlayer_sigio_peer_events_as_unix,
    },
    Test {
        name: "seqlayer_socket_filter_drops_trims_as_unix",
        run: seqlayer_socket_filter_drops_trims_as_unix,
    },
    Test {
        name: "seqlayer_ioctl_as_unix",
        run: seqlayer_ioctl_as_unix,
    },
    Test {
        name: "seqlayer_dgram_ioctl_as_udp",
        run: seqlayer_dgram_ioctl_as_udp,
    },
    Test {
        name: "seqlayer_epollout_quarter_sndbuf_as_unix",
        run: seqlayer_epollout_quarter_sndbuf_as_unix,
    },
];

/// `SIOCINQ` (`FIONREAD`), `SIOCOUTQ` (`TIOCOUTQ`), `TCGETS` (a terminal ioctl, not a socket
/// one) from `<asm-generic/ioctls.h>`.
const SIOCINQ: u64 = 0x541b;
const SIOCOUTQ: u64 = 0x5411;
const TCGETS: u64 = 0x5401;

/// The pairs every test runs on: AF_UNIX first (the control), then family 18.
fn pairs() -> [(&'static str, &'static MakePair); 2] {
    [("AF_UNIX", &unix_pair), ("family 18", &pair)]
}

/// The state every connection test starts from: the protocol module loaded and unused, and
/// `sockets: used` to come back to.
fn start() -> Result<u64, String> {
    ensure_seq_loaded()?;
    sockets_used()
}

/// Fails unless the protocol module is unused again and `sockets: used` is back to `base`.
fn end(base: u64) -> TestResult {
    check_refs(Some(0), Some(1), "at the end")?;
    check_eq!(sockets_used()?, base, "sockets: used at the end");
    Ok(())
}

/// `ioctl(fd, cmd, &int)`: the int the kernel wrote.
fn ioctl_int(fd: &OwnedFd, cmd: u64) -> Result<i32, String> {
    let mut v: i32 = -1;
    // SAFETY: `v` is valid for the int these commands write.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), cmd as _, &mut v) };
    if r < 0 {
        Err(ename(errno()))
    } else {
        Ok(v)
    }
}

/// `ioctl(fd, TCGETS, buf)`: a command that is no socket's (`sock_do_ioctl`: `ENOTTY`).
fn ioctl_tcgets(fd: &OwnedFd) -> Result<i32, String> {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is larger than a `struct termios`.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), TCGETS as _, buf.as_mut_ptr()) };
    if r < 0 {
        Err(ename(errno()))
    } else {
        Ok(r)
    }
}

/// `ioctl(fd, SIOCGIFINDEX, {"lo"})`: one of the socket core's own commands (`dev_ioctl`),
/// which answers on any socket whose family passes the command on.
fn ifindex_lo(fd: &OwnedFd) -> Result<i32, String> {
    // `struct ifreq`: the name (16 bytes), then the union (`ifr_ifindex` first).
    let mut ifr = [0u8; 40];
    ifr[..2].copy_from_slice(b"lo");
    // SAFETY: `ifr` is a `struct ifreq` in size and layout.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFINDEX as _, ifr.as_mut_ptr()) };
    if r < 0 {
        Err(ename(errno()))
    } else {
        Ok(i32::from_ne_bytes([ifr[16], ifr[17], ifr[18], ifr[19]]))
    }
}

/// The real-time signal the `O_ASYNC` test asks for (`F_SETSIG`), so that each signal is queued
/// with its reason (`si_code`: `POLL_IN`, `POLL_OUT`, `POLL_HUP`).
fn async_signal() -> i32 {
    libc::SIGRTMIN() + 5
}

/// `O_ASYNC` on `fd`, its signals to the calling thread (`F_SETOWN_EX`, `F_OWNER_TID`) as
/// [`async_signal`] (`F_SETSIG`).
fn set_async(fd: &OwnedFd) -> Result<(), String> {
    // `<linux/fcntl.h>` values the libc crate lacks: F_SETOWN_EX, F_SETSIG, F_OWNER_TID; a
    // `struct f_owner_ex` is { int type; pid_t pid; }.
    const F_SETOWN_EX: i32 = 15;
    const F_SETSIG: i32 = 10;
    const F_OWNER_TID: i32 = 0;
    // SAFETY: no arguments.
    let owner: [i32; 2] = [F_OWNER_TID, unsafe { libc::gettid() }];
    let raw = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own; `owner` is valid for the call.
    if unsafe { libc::fcntl(raw, F_SETOWN_EX, owner.as_ptr()) } < 0 {
        return Err(format!("F_SETOWN_EX: {}", ename(errno())));
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(raw, F_SETSIG, async_signal()) } < 0 {
        return Err(format!("F_SETSIG: {}", ename(errno())));
    }
    // SAFETY: as above.
    let fl = unsafe { libc::fcntl(raw, libc::F_GETFL) };
    // SAFETY: as above.
    if unsafe { libc::fcntl(raw, libc::F_SETFL, fl | libc::O_ASYNC) } < 0 {
        return Err(format!("F_SETFL O_ASYNC: {}", ename(errno())));
    }
    Ok(())
}

/// The name of a `SIGPOLL` reason (`si_code`).
fn poll_reason(code: i32) -> String {
    match code {
        1 => "POLL_IN".into(),
        2 => "POLL_OUT".into(),
        3 => "POLL_MSG".into(),
        4 => "POLL_ERR".into(),
        5 => "POLL_PRI".into(),
        6 => "POLL_HUP".into(),
        c => format!("si_code {c}"),
    }
}

/// The reasons of the [`async_signal`]s pending for this thread (which blocks it), taken in
/// order. Each signal is raised within the syscall that caused it, by this very thread, so
/// they are all pending when this runs.
fn take_async_signals() -> Vec<String> {
    let mut got = Vec::new();
    // SAFETY: a sigset on the stack, filled by the libc calls.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, async_signal());
    }
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    loop {
        // SAFETY: zeroed siginfo, written by the call.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers; a zero timeout never blocks.
        if unsafe { libc::sigtimedwait(&set, &mut info, &zero) } < 0 {
            return got;
        }
        got.push(poll_reason(info.si_code));
    }
}

/// `send(MSG_DONTWAIT)` of `len` bytes until `stop` says so or the send buffer is full
/// (`EAGAIN`): the number of messages sent and whether `EAGAIN` stopped it.
fn fill(fd: &OwnedFd, len: usize, stop: impl Fn() -> bool) -> Result<(usize, bool), String> {
    let data = vec![7u8; len];
    for n in 0..100_000 {
        if stop() {
            return Ok((n, false));
        }
        match send(fd, &data, libc::MSG_DONTWAIT) {
            Ok(_) => {}
            Err(libc::EAGAIN) => return Ok((n, true)),
            Err(err) => return Err(format!("send {n}: {}", ename(err))),
        }
    }
    Err("100,000 sends and the buffer still has room".into())
}

/// Reads `n` messages (up to 65,536 bytes each) from `fd`.
fn drain(fd: &OwnedFd, n: usize) -> Result<(), String> {
    for i in 0..n {
        recv(fd, 65536, 0).map_err(|err| format!("recv {i} of {n}: {}", ename(err)))?;
    }
    Ok(())
}

/// Whether `fd` polls writable now.
fn pollout(fd: &OwnedFd) -> Result<bool, String> {
    Ok(poll1(fd, libc::POLLOUT, 0).map_err(e("poll"))? & libc::POLLOUT != 0)
}

fn seqlayer_sigio_peer_events_as_unix() -> TestResult {
    let base = start()?;
    // On a thread of its own that blocks the signal, so that each one stays pending, with its
    // reason, for `take_async_signals`.
    let h = std::thread::spawn(|| -> TestResult {
        // SAFETY: blocks the signal for this thread only.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, async_signal());
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        // AF_UNIX first (the control): sock_def_readable signals a message (POLL_IN),
        // unix_write_space room once a send or a poll found none (POLL_OUT), unix_shutdown the
        // peer's SHUT_WR (POLL_IN: our end of file) and not its SHUT_RD, unix_release_sock the
        // peer's close (POLL_HUP). Family 18 must signal the same, step by step.
        let mut control: Option<Vec<(&str, Vec<String>)>> = None;
        for (name, mk) in pairs() {
            let (a, b) = mk()?;
            setsockopt_int(&a, libc::SOL_SOCKET, libc::SO_SNDBUF, 16384).map_err(e("SO_SNDBUF"))?;
            take_async_signals();
            set_async(&a)?;
            let mut steps: Vec<(&str, Vec<String>)> = Vec::new();
            send(&b, b"x", 0).map_err(e("the peer's send"))?;
            steps.push(("a message from the peer", take_async_signals()));
            recv(&a, 64, 0).map_err(e("recv"))?;
            // Sends until poll says no room (no send fails), then the peer reads them all.
            let (n, _) = fill(&a, 500, || !pollout(&a).unwrap_or(false))?;
            steps.push(("sends until poll found no room", take_async_signals()));
            drain(&b, n)?;
            steps.push((
                "the peer read what poll found no room for",
                take_async_signals(),
            ));
            // Sends until one finds no room (EAGAIN), then the peer reads them all.
            let (n, full) = fill(&a, 500, || false)?;
            check!(full, "{name}: the send buffer never filled");
            drain(&b, n)?;
            steps.push((
                "the peer read what a send found no room for",
                take_async_signals(),
            ));
            shutdown(&b, libc::SHUT_RD).map_err(e("shutdown(SHUT_RD)"))?;
            steps.push(("the peer's SHUT_RD", take_async_signals()));
            shutdown(&b, libc::SHUT_WR).map_err(e("shutdown(SHUT_WR)"))?;
            steps.push(("the peer's SHUT_WR", take_async_signals()));
            drop(b);
            steps.push(("the peer's close", take_async_signals()));
            drop(a);
            match &control {
                None => {
                    // The harness sees signals at all: the control's close is POLL_HUP.
                    check_eq!(
                        steps.last().map(|s| s.1.clone()),
                        Some(vec!["POLL_HUP".to_string()]),
                        format!("{name}: signals after the peer's close ({steps:?})")
                    );
                    control = Some(steps);
                }
                Some(unix) => check_eq!(
                    steps,
                    *unix,
                    format!("{name}: O_ASYNC signals after each step, as AF_UNIX")
                ),
            }
        }
        Ok(())
    });
    h.join()
        .map_err(|_| "the test thread panicked".to_string())??;
    end(base)
}

/// A classic BPF program (`SO_ATTACH_FILTER`): a message starting with `d` is dropped, one
/// starting with `t` trimmed to 3 bytes, any other kept whole.
fn attach_filter(fd: &OwnedFd) -> Result<(), String> {
    let ins = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    // BPF_LD|BPF_B|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K.
    let (ldb, jeq, ret) = (0x30, 0x15, 0x06);
    let mut prog = [
        ins(ldb, 0, 0, 0),
        ins(jeq, 0, 1, u32::from(b'd')),
        ins(ret, 0, 0, 0),
        ins(jeq, 0, 1, u32::from(b't')),
        ins(ret, 0, 0, 3),
        ins(ret, 0, 0, u32::MAX),
    ];
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    // SAFETY: `fprog` and the program it points to are valid for the call.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as u32,
        )
    };
    if r < 0 {
        return Err(format!("SO_ATTACH_FILTER: {}", ename(errno())));
    }
    Ok(())
}

fn seqlayer_socket_filter_drops_trims_as_unix() -> TestResult {
    let base = start()?;
    // AF_UNIX first (the control): unix_dgram_sendmsg runs the receiver's filter (sk_filter):
    // a dropped message is freed and the send still returns its length; a trimmed one arrives
    // shorter. Family 18 must deliver the same messages and answer the sender the same.
    let mut control = None;
    for (name, mk) in pairs() {
        let (a, b) = mk()?;
        attach_filter(&b)?;
        let sent: Vec<Result<usize, String>> = ["keep-1", "drop-1", "trim-me", "keep-2"]
            .iter()
            .map(|m| send(&a, m.as_bytes(), libc::MSG_DONTWAIT).map_err(ename))
            .collect();
        let mut got = Vec::new();
        loop {
            match recv(&b, 64, libc::MSG_DONTWAIT) {
                Ok(m) => got.push(Ok(m)),
                Err(libc::EAGAIN) => break,
                Err(err) => {
                    got.push(Err(ename(err)));
                    break;
                }
            }
            check!(got.len() < 10, "{name}: more messages than were sent");
        }
        let outq = ioctl_int(&a, SIOCOUTQ);
        let seen = (sent, got, outq);
        match &control {
            None => {
                check_eq!(
                    seen.1,
                    vec![
                        Ok((b"keep-1".to_vec(), 6, 0)),
                        Ok((b"tri".to_vec(), 3, 0)),
                        Ok((b"keep-2".to_vec(), 6, 0)),
                    ],
                    format!("{name}: messages through the filter")
                );
                control = Some(seen);
            }
            Some(unix) => {
                check_eq!(
                    seen.0,
                    unix.0,
                    format!("{name}: what the sender's sends return, as AF_UNIX")
                );
                check_eq!(
                    seen.1,
                    unix.1,
                    format!("{name}: what the filtered receiver reads, as AF_UNIX")
                );
                check_eq!(
                    seen.2,
                    unix.2,
                    format!("{name}: SIOCOUTQ once all is read or dropped, as AF_UNIX")
                );
            }
        }
    }
    end(base)
}

/// An AF_UNIX SOCK_SEQPACKET listener on an abstract name of this process.
fn unix_listener() -> Result<OwnedFd, String> {
    let fd = socket(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0).map_err(e("socket(AF_UNIX)"))?;
    // SAFETY: a zeroed sockaddr_un is valid.
    let mut sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as u16;
    let name = format!("rpd-seqlayer-{}", std::process::id());
    for (i, c) in name.bytes().enumerate() {
        sun.sun_path[i + 1] = c as libc::c_char;
    }
    let len = (std::mem::size_of::<libc::sa_family_t>() + 1 + name.len()) as u32;
    // SAFETY: `sun` is valid for `len` bytes.
    if unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sun as *const libc::sockaddr_un).cast(),
            len,
        )
    } < 0
    {
        return Err(format!("bind(AF_UNIX abstract): {}", ename(errno())));
    }
    // SAFETY: plain syscall.
    if unsafe { libc::listen(fd.as_raw_fd(), 4) } < 0 {
        return Err(format!("listen(AF_UNIX): {}", ename(errno())));
    }
    Ok(fd)
}

fn seqlayer_ioctl_as_unix() -> TestResult {
    let base = start()?;
    // AF_UNIX first (the control): unix_ioctl answers SIOCOUTQ (what the send buffer is
    // charged) and SIOCINQ (the bytes of every queued message; EINVAL on a listener) and passes
    // every other command on (-ENOIOCTLCMD): sock_do_ioctl then serves the socket core's own
    // (SIOCGIFINDEX) and answers ENOTTY for one that is no socket's.
    let mut control: Option<Vec<(&str, Result<i32, String>)>> = None;
    for (name, mk) in pairs() {
        let (a, b) = mk()?;
        let l = if name == "AF_UNIX" {
            unix_listener()?
        } else {
            listener(0, 4)?.0
        };
        let mut seen: Vec<(&str, Result<i32, String>)> = vec![
            ("TCGETS, no socket's command", ioctl_tcgets(&a)),
            ("SIOCGIFINDEX of lo", ifindex_lo(&a)),
            ("SIOCINQ idle", ioctl_int(&b, SIOCINQ)),
            ("SIOCOUTQ idle", ioctl_int(&a, SIOCOUTQ)),
            ("SIOCINQ on a listener", ioctl_int(&l, SIOCINQ)),
        ];
        for (i, len) in [100, 50, 0].into_iter().enumerate() {
            send(&a, &vec![i as u8; len], 0).map_err(e("send"))?;
        }
        seen.push((
            "SIOCINQ with 100, 50, 0 bytes queued",
            ioctl_int(&b, SIOCINQ),
        ));
        let outq = ioctl_int(&a, SIOCOUTQ);
        seen.push((
            "SIOCOUTQ with 150 bytes unread is at least 150",
            outq.clone().map(|q| i32::from(q >= 150)),
        ));
        recv(&b, 64, 0).map_err(e("recv"))?;
        seen.push(("SIOCINQ after reading the first", ioctl_int(&b, SIOCINQ)));
        let outq2 = ioctl_int(&a, SIOCOUTQ);
        seen.push((
            "SIOCOUTQ falls as the peer reads",
            outq2.map(|q| i32::from(Ok(q) < outq && q >= 50)),
        ));
        drain(&b, 2)?;
        seen.push(("SIOCINQ after reading all", ioctl_int(&b, SIOCINQ)));
        seen.push(("SIOCOUTQ after the peer read all", ioctl_int(&a, SIOCOUTQ)));
        // SO_PEEK_OFF: AF_UNIX supports it for SOCK_SEQPACKET, family 18 does not (README,
        // "Differences from AF_UNIX SOCK_SEQPACKET").
        let peek_off = setsockopt_int(&b, libc::SOL_SOCKET, libc::SO_PEEK_OFF, 0).map_err(ename);
        let expected = if name == "AF_UNIX" {
            Ok(())
        } else {
            Err(ename(libc::EOPNOTSUPP))
        };
        check_eq!(peek_off, expected, format!("{name}: SO_PEEK_OFF"));
        drop((a, b, l));
        match &control {
            None => {
                check_eq!(
                    seen[0].1,
                    Err(ename(libc::ENOTTY)),
                    format!("{name}: {}", seen[0].0)
                );
                control = Some(seen);
            }
            Some(unix) => {
                for (mine, theirs) in seen.iter().zip(unix) {
                    check_eq!(mine.1, theirs.1, format!("{name}: {}, as AF_UNIX", mine.0));
                }
            }
        }
    }
    end(base)
}

fn seqlayer_dgram_ioctl_as_udp() -> TestResult {
    ensure_loaded()?;
    // UDP on 127.0.0.1 first (the control): udp_ioctl answers SIOCOUTQ (the send buffer's
    // charge: 0 once a datagram is queued to its receiver) and SIOCINQ (the next datagram's
    // length) and passes every other command on. Family 18's SOCK_DGRAM must answer the same.
    let mut control: Option<Vec<(&str, Result<i32, String>)>> = None;
    for name in ["UDP", "family 18"] {
        let fd = if name == "UDP" {
            let fd = socket(libc::AF_INET, libc::SOCK_DGRAM, 0).map_err(e("socket(AF_INET)"))?;
            bind_raw(&fd, &sin_bytes(0)).map_err(e("bind(127.0.0.1:0)"))?;
            fd
        } else {
            bound_socket(0)?.0
        };
        let mut seen: Vec<(&str, Result<i32, String>)> = vec![
            ("TCGETS, no socket's command", ioctl_tcgets(&fd)),
            ("SIOCGIFINDEX of lo", ifindex_lo(&fd)),
            ("SIOCOUTQ idle", ioctl_int(&fd, SIOCOUTQ)),
            ("SIOCINQ idle", ioctl_int(&fd, SIOCINQ)),
        ];
        // A datagram to itself.
        let mut addr = [0u8; 128];
        let mut len = addr.len() as u32;
        // SAFETY: `addr` and `len` are valid for writes of the sizes given.
        if unsafe { libc::getsockname(fd.as_raw_fd(), addr.as_mut_ptr().cast(), &mut len) } < 0 {
            return Err(format!("getsockname: {}", ename(errno())).into());
        }
        sendto_raw(&fd, b"hello", Some(&addr[..len as usize]), 0).map_err(e("sendto self"))?;
        seen.push(("SIOCOUTQ after a datagram", ioctl_int(&fd, SIOCOUTQ)));
        // Loopback delivers UDP in a softirq: wait for it (a 5 s watchdog).
        let r = poll1(&fd, libc::POLLIN, WATCHDOG_MS as i32).map_err(e("poll"))?;
        check!(
            r & libc::POLLIN != 0,
            "{name}: the datagram to itself did not arrive in 5 s"
        );
        seen.push(("SIOCINQ with a datagram queued", ioctl_int(&fd, SIOCINQ)));
        drop(fd);
        match &control {
            None => control = Some(seen),
            Some(udp) => {
                for (mine, theirs) in seen.iter().zip(udp) {
                    check_eq!(mine.1, theirs.1, format!("{name}: {}, as UDP", mine.0));
                }
            }
        }
    }
    Ok(())
}

/// Whether poll's `POLLOUT` on `fd` is AF_UNIX's `unix_writable()` for the charge `SIOCOUTQ`
/// reports (`sk_wmem_alloc` less the sock's own 1): `(charge + 1) * 4 <= SO_SNDBUF`. Counts
/// the states between a quarter and half of `SO_SNDBUF` (where a half rule would differ) in
/// `between`.
fn pollout_agrees(
    name: &str,
    when: &str,
    fd: &OwnedFd,
    sndbuf: i64,
    between: &mut u32,
) -> Result<bool, String> {
    let charge = i64::from(ioctl_int(fd, SIOCOUTQ)?);
    let out = pollout(fd)?;
    let unix = ((charge + 1) << 2) <= sndbuf;
    if (charge + 1) * 4 > sndbuf && (charge + 1) * 2 < sndbuf {
        *between += 1;
    }
    if out != unix {
        return Err(format!(
            "{name}: {when}: POLLOUT {out} with {charge} bytes charged of SO_SNDBUF {sndbuf}; \
             AF_UNIX's rule (a quarter) says {unix}"
        ));
    }
    Ok(out)
}

fn seqlayer_epollout_quarter_sndbuf_as_unix() -> TestResult {
    let base = start()?;
    // AF_UNIX first (the control): unix_dgram_poll says EPOLLOUT, and unix_write_space wakes
    // writers, when at most a quarter of SO_SNDBUF is charged (unix_writable). Family 18 must
    // say EPOLLOUT on the same rule for the charge it reports, and an edge-triggered EPOLLOUT
    // waiter must be woken by the very read that makes poll say so.
    for (name, mk) in pairs() {
        let (a, b) = mk()?;
        setsockopt_int(&a, libc::SOL_SOCKET, libc::SO_SNDBUF, 32768).map_err(e("SO_SNDBUF"))?;
        let sndbuf = i64::from(
            getsockopt_int(&a, libc::SOL_SOCKET, libc::SO_SNDBUF).map_err(e("SO_SNDBUF"))?,
        );
        let mut between = 0;
        let data = [3u8; 200];
        let mut sent = 0;
        loop {
            pollout_agrees(
                name,
                &format!("after {sent} sends"),
                &a,
                sndbuf,
                &mut between,
            )?;
            match send(&a, &data, libc::MSG_DONTWAIT) {
                Ok(_) => sent += 1,
                Err(libc::EAGAIN) => break,
                Err(err) => return Err(format!("{name}: send {sent}: {}", ename(err)).into()),
            }
            check!(sent < 10_000, "{name}: the send buffer never filled");
        }
        check!(
            between > 0,
            "{name}: no state between a quarter and half of SO_SNDBUF was seen"
        );
        // The send buffer is full: an edge-triggered waiter for EPOLLOUT, on another thread.
        let ep = epoll_on(&a, libc::EPOLLOUT | libc::EPOLLET, 1)?;
        let mut ev = [libc::epoll_event { events: 0, u64: 0 }; 1];
        // SAFETY: `ev` is valid for 1 event; a zero timeout never blocks.
        let n = unsafe { libc::epoll_wait(ep.as_raw_fd(), ev.as_mut_ptr(), 1, 0) };
        check_eq!(n, 0, format!("{name}: EPOLLOUT with the send buffer full"));
        let raw_ep = ep.as_raw_fd();
        let waiter = std::thread::spawn(move || {
            let mut ev = [libc::epoll_event { events: 0, u64: 0 }; 1];
            // The watchdog: a lost wake-up returns 0 after 5 s (epoll reports only what a
            // wake-up queued, so the timeout's end does not hide one).
            // SAFETY: `ev` is valid for 1 event; `raw_ep` stays open until this is joined.
            let n = unsafe { libc::epoll_wait(raw_ep, ev.as_mut_ptr(), 1, WATCHDOG_MS as i32) };
            (n, ev[0].events)
        });
        std::thread::sleep(Duration::from_millis(150));
        // The peer reads until poll says EPOLLOUT, and no further.
        let mut read = 0;
        loop {
            check!(read < sent, "{name}: all {sent} read and still no POLLOUT");
            recv(&b, 512, 0).map_err(e("recv"))?;
            read += 1;
            let when = format!("after the peer read {read} of {sent}");
            if pollout_agrees(name, &when, &a, sndbuf, &mut between)? {
                break;
            }
        }
        let (n, events) = waiter
            .join()
            .map_err(|_| "the epoll thread panicked".to_string())?;
        check!(
            n == 1 && events & libc::EPOLLOUT as u32 != 0,
            "{name}: watchdog: the EPOLLET EPOLLOUT waiter was not woken within {WATCHDOG_MS} ms \
             by the read that made poll say POLLOUT (epoll_wait {n}, events {events:#x}): lost \
             wake-up"
        );
        while read < sent {
            recv(&b, 512, 0).map_err(e("recv"))?;
            read += 1;
            let when = format!("after the peer read {read} of {sent}");
            pollout_agrees(name, &when, &a, sndbuf, &mut between)?;
        }
        check_eq!(
            ioctl_int(&a, SIOCOUTQ),
            Ok(0),
            format!("{name}: SIOCOUTQ once the peer read all")
        );
        drop((ep, a, b));
    }
    end(base)
}
