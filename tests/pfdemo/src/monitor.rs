// SPDX-License-Identifier: GPL-2.0

//! The raw monitor (`socket(PF_DEMO, SOCK_RAW, 0)`, rust_pf_demo.rs `RawMonitor`): a copy of
//! every datagram delivered in its network namespace, as a `PfdemoMonitorHdr` (ports, length)
//! and the payload; checked byte for byte, with a watchdog on every blocking read.

use crate::ktap::{Test, TestResult};
use crate::sys::*;
use crate::uapi::{PfdemoMonitorHdr, PFDEMO_MONITOR_HDR_LEN, PFDEMO_RAW_PROC_NET};
use crate::{check, check_eq};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Every test, in order.
pub const TESTS: &[Test] = &[
    Test {
        name: "raw_monitor_copies_datagrams_with_ports",
        run: raw_monitor_copies_datagrams_with_ports,
    },
    Test {
        name: "raw_monitor_send_eopnotsupp",
        run: raw_monitor_send_eopnotsupp,
    },
    Test {
        name: "raw_monitor_every_monitor_gets_a_copy",
        run: raw_monitor_every_monitor_gets_a_copy,
    },
    Test {
        name: "raw_monitor_netns_isolated",
        run: raw_monitor_netns_isolated,
    },
    Test {
        name: "raw_monitor_proc_net",
        run: raw_monitor_proc_net,
    },
    Test {
        name: "raw_monitor_full_drops_without_blocking_sender",
        run: raw_monitor_full_drops_without_blocking_sender,
    },
    Test {
        name: "raw_monitor_close_leaks_nothing",
        run: raw_monitor_close_leaks_nothing,
    },
];

/// A raw monitor of the family, its blocking calls bounded by the watchdog.
fn monitor() -> Result<OwnedFd, String> {
    let m = socket(PF_DEMO, libc::SOCK_RAW, 0).map_err(e("socket(SOCK_RAW)"))?;
    set_watchdog(&m)?;
    Ok(m)
}

/// One copy read from a monitor: its header, its payload and what `recvmsg()` reported.
struct MonitorCopy {
    hdr: PfdemoMonitorHdr,
    payload: Vec<u8>,
    got: Received,
}

/// Reads the next copy from `m` with `flags` (blocking reads end after the watchdog's 5 s
/// with `EAGAIN`: a copy that never came).
fn read_copy(m: &OwnedFd, flags: i32) -> Result<MonitorCopy, i32> {
    let mut buf = [0u8; 2048];
    let got = recvmsg(m, &mut buf, flags)?;
    let hdr = PfdemoMonitorHdr::from_bytes(&buf[..got.n]).unwrap_or_default();
    let payload = buf[got.n.min(PFDEMO_MONITOR_HDR_LEN)..got.n].to_vec();
    Ok(MonitorCopy { hdr, payload, got })
}

/// [`read_copy`] that must find one, naming what it waited for.
fn expect_copy(m: &OwnedFd, what: &str) -> Result<MonitorCopy, String> {
    read_copy(m, 0).map_err(|err| {
        format!(
            "{what}: monitor recv: {} (after the 5 s watchdog: the copy never came)",
            ename(err)
        )
    })
}

/// Checks that a monitor has nothing queued (a non-blocking read is `EAGAIN`).
fn expect_no_copy(m: &OwnedFd, what: &str) -> Result<(), String> {
    match read_copy(m, libc::MSG_DONTWAIT) {
        Err(libc::EAGAIN) => Ok(()),
        Ok(c) => Err(format!(
            "{what}: the monitor got a copy {:?} + {:?}",
            c.hdr,
            String::from_utf8_lossy(&c.payload)
        )),
        Err(err) => Err(format!("{what}: monitor recv: {}", ename(err))),
    }
}

/// The header a copy of `len` bytes from `src` to `dst` must have.
fn hdr(src: u32, dst: u32, len: usize) -> PfdemoMonitorHdr {
    PfdemoMonitorHdr {
        src_port: src,
        dst_port: dst,
        len: len as u32,
    }
}

/// The inode number of a socket (`socket:[N]`).
fn inode(fd: &OwnedFd) -> Result<u64, String> {
    // SAFETY: an all-zero `stat` is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writes.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(format!("fstat: {}", ename(errno())));
    }
    Ok(st.st_ino)
}

/// One monitor's line of /proc/net/rust_pf_demo_raw: (inode, rx_queue, copies, drops).
type MonitorLine = (u64, u64, u64, u64);

/// Reads this namespace's /proc/net/rust_pf_demo_raw: its header's words must be the
/// documented ones.
fn read_monitors() -> Result<Vec<MonitorLine>, String> {
    let path = format!("/proc/net/{PFDEMO_RAW_PROC_NET}");
    let text = std::fs::read_to_string(&path).map_err(|err| format!("{path}: {err}"))?;
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    if head != ["inode", "rx_queue", "copies", "drops"] {
        return Err(format!("{path}: header {head:?}"));
    }
    let mut out = Vec::new();
    for l in lines {
        let v: Vec<u64> = l
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        if v.len() != 4 {
            return Err(format!("{path}: bad line {l:?}"));
        }
        out.push((v[0], v[1], v[2], v[3]));
    }
    Ok(out)
}

/// The line of the monitor `m`.
fn monitor_line(m: &OwnedFd) -> Result<MonitorLine, String> {
    let ino = inode(m)?;
    let lines = read_monitors()?;
    lines
        .iter()
        .find(|l| l.0 == ino)
        .copied()
        .ok_or(format!("monitor inode {ino} not listed: {lines:?}"))
}

/// A datagram delivered in the namespace reaches the monitor as the documented header (source
/// port, destination port, payload length) and the exact payload, for `sendto()` and for a
/// connected `send()`; no source address is reported. Datagrams that are not delivered (no
/// receiver: `ECONNREFUSED`; a receiver shut for reading: dropped) give no copy. A short read
/// is truncated (`MSG_TRUNC`), `MSG_TRUNC` in the flags gives the full length.
fn raw_monitor_copies_datagrams_with_ports() -> TestResult {
    ensure_loaded()?;
    let m = monitor()?;
    let (a, pa) = bound_socket(0)?;
    let (b, pb) = bound_socket(0)?;
    let payload = b"copied with its ports";
    check_eq!(
        sendto(&a, payload, Some(pb), 0),
        Ok(payload.len()),
        "sendto"
    );
    let r = recvmsg(&b, &mut [0u8; 64], 0).map_err(e("receiver recv"))?;
    check_eq!(
        (r.n, r.from.port),
        (payload.len(), pa),
        "the receiver's datagram"
    );
    let c = expect_copy(&m, "sendto a -> b")?;
    check_eq!(c.hdr, hdr(pa, pb, payload.len()), "header of the copy");
    check_eq!(c.payload, payload.to_vec(), "payload of the copy");
    check_eq!(
        c.got.n,
        PFDEMO_MONITOR_HDR_LEN + payload.len(),
        "recv() length"
    );
    check_eq!(c.got.namelen, 0, "source address length of a copy");
    check_eq!(
        c.got.msg_flags & libc::MSG_TRUNC,
        0,
        "MSG_TRUNC on a full read"
    );
    expect_no_copy(&m, "after the one datagram")?;

    // A connected send (the sender's cached peer) is copied too.
    connect(&b, pa).map_err(e("connect b -> a"))?;
    check_eq!(sendto(&b, b"reply", None, 0), Ok(5), "send b -> a");
    recvmsg(&a, &mut [0u8; 16], 0).map_err(e("a recv"))?;
    let c = expect_copy(&m, "connected send b -> a")?;
    check_eq!(
        (c.hdr, c.payload),
        (hdr(pb, pa, 5), b"reply".to_vec()),
        "copy of the connected send"
    );

    // Not delivered: no copy.
    check_eq!(
        sendto(&a, b"nobody", Some(9), 0).map_err(ename),
        Err(ename(libc::ECONNREFUSED)),
        "sendto a port nobody has"
    );
    shutdown(&b, libc::SHUT_RD).map_err(e("shutdown(b, SHUT_RD)"))?;
    check_eq!(
        sendto(&a, b"shut", Some(pb), 0),
        Ok(4),
        "sendto a receiver shut for reading (dropped)"
    );
    expect_no_copy(&m, "datagrams that were not delivered")?;

    // Short reads.
    let (c3, p3) = bound_socket(0)?;
    check_eq!(sendto(&a, b"0123456789", Some(p3), 0), Ok(10), "sendto c");
    let mut buf = [0u8; 64];
    let r = recvmsg(&m, &mut buf[..16], libc::MSG_PEEK).map_err(e("peek 16 bytes"))?;
    let mut want = hdr(pa, p3, 10).to_bytes().to_vec();
    want.extend_from_slice(b"0123");
    check_eq!(
        (r.n, buf[..16].to_vec()),
        (16, want),
        "16-byte read: header and 4 bytes"
    );
    check!(
        r.msg_flags & libc::MSG_TRUNC != 0,
        "no MSG_TRUNC on a 16-byte read of 22 bytes"
    );
    let r = recvmsg(&m, &mut buf[..4], libc::MSG_PEEK | libc::MSG_TRUNC)
        .map_err(e("peek with MSG_TRUNC"))?;
    check_eq!(r.n, 22, "MSG_TRUNC: the full length");
    let r = recvmsg(&m, &mut buf[..8], 0).map_err(e("8-byte read"))?;
    check_eq!(
        (r.n, buf[..8].to_vec()),
        (8, hdr(pa, p3, 10).to_bytes()[..8].to_vec()),
        "8-byte read: the header's first 8 bytes"
    );
    expect_no_copy(&m, "after the truncated read took the copy")?;
    drop((c3, a, b, m));
    check_eq!(refcnt(), Some(0), "module refcnt after closing");
    Ok(())
}

/// A monitor sends nothing: `send`, `sendto` are `EOPNOTSUPP`, as are `bind`, `connect` and
/// `shutdown`; another monitor sees nothing of it.
fn raw_monitor_send_eopnotsupp() -> TestResult {
    ensure_loaded()?;
    let m = monitor()?;
    let other = monitor()?;
    let (_b, pb) = bound_socket(0)?;
    check_eq!(
        sendto(&m, b"x", None, 0).map_err(ename),
        Err(ename(libc::EOPNOTSUPP)),
        "send on a monitor"
    );
    check_eq!(
        sendto(&m, b"x", Some(pb), 0).map_err(ename),
        Err(ename(libc::EOPNOTSUPP)),
        "sendto on a monitor"
    );
    check_eq!(
        bind(&m, 5000).map_err(ename),
        Err(ename(libc::EOPNOTSUPP)),
        "bind on a monitor"
    );
    check_eq!(
        connect(&m, pb).map_err(ename),
        Err(ename(libc::EOPNOTSUPP)),
        "connect on a monitor"
    );
    check_eq!(
        shutdown(&m, libc::SHUT_RD).map_err(ename),
        Err(ename(libc::EOPNOTSUPP)),
        "shutdown on a monitor (as AF_PACKET)"
    );
    expect_no_copy(&other, "after a monitor's sends")?;
    Ok(())
}

/// Three monitors each get their own copy of a datagram; once one is closed the other two
/// still get theirs and /proc lists only them.
fn raw_monitor_every_monitor_gets_a_copy() -> TestResult {
    ensure_loaded()?;
    let m1 = monitor()?;
    let m2 = monitor()?;
    let m3 = monitor()?;
    let (a, pa) = bound_socket(0)?;
    let (_b, pb) = bound_socket(0)?;
    check_eq!(sendto(&a, b"to all", Some(pb), 0), Ok(6), "sendto");
    for (m, name) in [(&m1, "m1"), (&m2, "m2"), (&m3, "m3")] {
        let c = expect_copy(m, name)?;
        check_eq!(
            (c.hdr, c.payload),
            (hdr(pa, pb, 6), b"to all".to_vec()),
            format!("{name}'s copy")
        );
        expect_no_copy(m, &format!("{name}, one copy each"))?;
    }
    let gone = inode(&m2)?;
    drop(m2);
    check_eq!(sendto(&a, b"two left", Some(pb), 0), Ok(8), "sendto");
    for (m, name) in [(&m1, "m1"), (&m3, "m3")] {
        let c = expect_copy(m, name)?;
        check_eq!(
            (c.hdr, c.payload),
            (hdr(pa, pb, 8), b"two left".to_vec()),
            format!("{name}'s second copy")
        );
        check_eq!(monitor_line(m)?.2, 2, format!("{name}'s copies in /proc"));
    }
    let lines = read_monitors()?;
    check!(
        !lines.iter().any(|l| l.0 == gone),
        "the closed monitor is still listed: {lines:?}"
    );
    check_eq!(lines.len(), 2, "monitors listed");
    Ok(())
}

/// `pipe()`: (read end, write end).
fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is valid for writes of two ints.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(format!("pipe: {}", ename(errno())));
    }
    // SAFETY: two new descriptors, owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Waits (5 s at most) for a byte on `fd`.
fn wait_byte(fd: &OwnedFd) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let mut b = 0u8;
    // SAFETY: one valid pollfd; `b` is valid for one byte.
    unsafe {
        libc::poll(&mut p, 1, WATCHDOG_MS as i32) == 1
            && libc::read(fd.as_raw_fd(), (&mut b as *mut u8).cast(), 1) == 1
    }
}

/// Writes one byte to `fd`.
fn put_byte(fd: &OwnedFd) -> bool {
    // SAFETY: one byte from a valid buffer.
    unsafe { libc::write(fd.as_raw_fd(), b"x".as_ptr().cast(), 1) == 1 }
}

/// A monitor sees its own network namespace only: a child namespace's monitor gets the
/// child's datagram and nothing of this namespace's, sent while it is open; this namespace's
/// monitor gets its own datagram and nothing of the child's. Each namespace's /proc file lists
/// its own monitor only.
fn raw_monitor_netns_isolated() -> TestResult {
    ensure_loaded()?;
    let m = monitor()?;
    let (a, pa) = bound_socket(0)?;
    let (_b, pb) = bound_socket(0)?;
    let host_ino = inode(&m)?;
    let (ready_r, ready_w) = pipe()?;
    let (sent_r, sent_w) = pipe()?;
    let child = spawn_child(move || {
        // SAFETY: plain syscall in the single-threaded child.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return 30;
        }
        let Ok(cm) = monitor() else { return 31 };
        let (Ok((x, px)), Ok((y, py))) = (bound_socket(0), bound_socket(0)) else {
            return 31;
        };
        // This namespace's datagram is sent while the child's monitor is open.
        if !put_byte(&ready_w) || !wait_byte(&sent_r) {
            return 32;
        }
        if sendto(&x, b"inside", Some(py), 0) != Ok(6) || recvmsg(&y, &mut [0; 16], 0).is_err() {
            return 33;
        }
        match read_copy(&cm, 0) {
            Ok(c) if c.hdr == hdr(px, py, 6) && c.payload == b"inside" => {}
            _ => return 34,
        }
        if read_copy(&cm, libc::MSG_DONTWAIT).map(|c| c.hdr) != Err(libc::EAGAIN) {
            return 35;
        }
        match (read_monitors(), inode(&cm)) {
            (Ok(lines), Ok(ino)) if lines.len() == 1 && lines[0].0 == ino && lines[0].2 == 1 => 0,
            _ => 36,
        }
    })?;
    let host_sent =
        wait_byte(&ready_r) && sendto(&a, b"outside", Some(pb), 0) == Ok(7) && put_byte(&sent_w);
    let code = wait_child(child)?;
    skip_without_netns(code)?;
    check!(
        host_sent,
        "the host's send while the child's monitor was open"
    );
    check_eq!(
        code,
        0,
        "child status (31 setup, 32 sync, 33 send, 34 no or wrong copy of its datagram, 35 a \
         copy from outside its namespace, 36 its /proc/net/rust_pf_demo_raw)"
    );
    let c = expect_copy(&m, "the host's own datagram")?;
    check_eq!(
        (c.hdr, c.payload),
        (hdr(pa, pb, 7), b"outside".to_vec()),
        "the host monitor's copy"
    );
    expect_no_copy(&m, "the child namespace's datagram")?;
    let lines = read_monitors()?;
    check!(
        lines.len() == 1 && lines[0].0 == host_ino,
        "the host's /proc lists {lines:?}, expected its monitor {host_ino} only"
    );
    Ok(())
}

/// /proc/net/rust_pf_demo_raw: the documented header, one line per monitor of the namespace
/// with its inode, the bytes queued, the copies it got and the copies it lost; the line goes
/// when the monitor is closed.
fn raw_monitor_proc_net() -> TestResult {
    ensure_loaded()?;
    check_eq!(read_monitors()?, vec![], "monitors listed with none open");
    let m = monitor()?;
    let ino = inode(&m)?;
    check_eq!(monitor_line(&m)?, (ino, 0, 0, 0), "a new monitor's line");
    let (a, _) = bound_socket(0)?;
    let (_b, pb) = bound_socket(0)?;
    for _ in 0..2 {
        check_eq!(sendto(&a, &[7; 100], Some(pb), 0), Ok(100), "sendto");
    }
    let (i, rx, copies, drops) = monitor_line(&m)?;
    check_eq!(
        (i, copies, drops),
        (ino, 2, 0),
        "inode, copies, drops after 2"
    );
    check!(rx >= 200, "rx_queue {rx} with two 100-byte copies queued");
    expect_copy(&m, "first")?;
    expect_copy(&m, "second")?;
    check_eq!(
        monitor_line(&m)?,
        (ino, 0, 2, 0),
        "the line once both are read"
    );
    drop(m);
    check_eq!(
        read_monitors()?,
        vec![],
        "monitors listed once it is closed"
    );
    Ok(())
}

/// A monitor with a full receive buffer loses copies, counted in /proc, and never holds up
/// the sender: 40 blocking sends of 1000 bytes (each bounded by the 5 s `SO_SNDTIMEO`
/// watchdog) to a receiver that reads each all succeed, while the monitor (`SO_RCVBUF` at its
/// minimum) keeps only a few; copies + drops = 40.
fn raw_monitor_full_drops_without_blocking_sender() -> TestResult {
    ensure_loaded()?;
    let m = monitor()?;
    setsockopt_int(&m, libc::SOL_SOCKET, libc::SO_RCVBUF, 1).map_err(e("SO_RCVBUF"))?;
    let (a, pa) = bound_socket(0)?;
    let (b, pb) = bound_socket(0)?;
    const N: usize = 40;
    for i in 0..N {
        let data = [i as u8; 1000];
        check_eq!(
            sendto(&a, &data, Some(pb), 0).map_err(ename),
            Ok(1000),
            format!("send {i} (a blocked sender fails after the 5 s watchdog)")
        );
        let mut buf = [0u8; 1024];
        let r = recvmsg(&b, &mut buf, 0).map_err(e("receiver recv"))?;
        check_eq!(
            (r.n, buf[..1000] == data),
            (1000, true),
            format!("datagram {i} at the receiver")
        );
    }
    let mut kept = 0;
    loop {
        match read_copy(&m, libc::MSG_DONTWAIT) {
            Ok(c) => {
                check_eq!(
                    (c.hdr.src_port, c.hdr.dst_port, c.payload.len()),
                    (pa, pb, 1000),
                    "a kept copy"
                );
                kept += 1;
            }
            Err(libc::EAGAIN) => break,
            Err(err) => return Err(format!("monitor recv: {}", ename(err)).into()),
        }
    }
    check!(
        kept > 0 && kept < N as u64,
        "the monitor kept {kept} of {N} copies with the smallest receive buffer"
    );
    let (_, rx, copies, drops) = monitor_line(&m)?;
    println!("# raw_monitor_full_drops_without_blocking_sender: {N} sent and received, the monitor kept {kept}, /proc: copies {copies} drops {drops}");
    check_eq!(
        (rx, copies, drops),
        (0, kept, N as u64 - kept),
        "rx_queue, copies, drops in /proc"
    );
    Ok(())
}

/// Monitors closed with copies queued, and the receiver of the originals closed before them,
/// leave nothing: `sockets: used` of /proc/net/sockstat and the module's refcnt back to
/// before, and the module unloads (its slab caches must be empty).
fn raw_monitor_close_leaks_nothing() -> TestResult {
    ensure_loaded()?;
    let base = sockets_used()?;
    let m1 = monitor()?;
    let m2 = monitor()?;
    let (a, _) = bound_socket(0)?;
    let (b, pb) = bound_socket(0)?;
    for i in 0..10 {
        check_eq!(sendto(&a, &[i; 3000], Some(pb), 0), Ok(3000), "sendto");
    }
    for m in [&m1, &m2] {
        let (_, rx, copies, _) = monitor_line(m)?;
        check!(
            rx >= 30000 && copies == 10,
            "copies queued: rx_queue {rx}, copies {copies}"
        );
    }
    check_eq!(sockets_used()? - base, 4, "sockets: used with 4 open");
    check_eq!(
        refcnt(),
        Some(4 * REFS_PER_SOCKET),
        "module refcnt with 4 open"
    );
    drop(b);
    drop((m1, m2));
    drop(a);
    check_eq!(sockets_used()?, base, "sockets: used after closing");
    check_eq!(refcnt(), Some(0), "module refcnt after closing");
    ensure_unloaded()?;
    Ok(())
}
