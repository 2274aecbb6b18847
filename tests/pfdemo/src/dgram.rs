// SPDX-License-Identifier: GPL-2.0

//! The datagram protocol: addresses, delivery, receive semantics, wake-ups, buffers,
//! namespaces. Payloads are checked byte for byte, errors by exact errno.

use crate::ktap::{Outcome, Test, TestResult};
use crate::sys::*;
use crate::{check, check_eq};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Every test, in order.
pub const TESTS: &[Test] = &[
    Test {
        name: "bind_getsockname",
        run: bind_getsockname,
    },
    Test {
        name: "bind_port_zero_picks_free_port",
        run: bind_port_zero_picks_free_port,
    },
    Test {
        name: "bind_eaddrinuse_until_close",
        run: bind_eaddrinuse_until_close,
    },
    Test {
        name: "bind_bad_address_einval",
        run: bind_bad_address_einval,
    },
    Test {
        name: "bind_privileged_port_needs_cap",
        run: bind_privileged_port_needs_cap,
    },
    Test {
        name: "sendto_recvfrom_payload_and_source",
        run: sendto_recvfrom_payload_and_source,
    },
    Test {
        name: "send_unbound_autobinds",
        run: send_unbound_autobinds,
    },
    Test {
        name: "connect_send_recv_getpeername",
        run: connect_send_recv_getpeername,
    },
    Test {
        name: "connected_send_follows_port_rebinding",
        run: connected_send_follows_port_rebinding,
    },
    Test {
        name: "connected_send_to_closed_peer_unpins_it",
        run: connected_send_to_closed_peer_unpins_it,
    },
    Test {
        name: "send_to_nobody_econnrefused",
        run: send_to_nobody_econnrefused,
    },
    Test {
        name: "autobind_exhausted_eagain",
        run: autobind_exhausted_eagain,
    },
    Test {
        name: "control_messages_einval",
        run: control_messages_einval,
    },
    Test {
        name: "connect_unspec_releases_auto_port",
        run: connect_unspec_releases_auto_port,
    },
    Test {
        name: "rx_timestamp_is_enqueue_time",
        run: rx_timestamp_is_enqueue_time,
    },
    Test {
        name: "emsgsize_above_max",
        run: emsgsize_above_max,
    },
    Test {
        name: "msg_peek_and_msg_trunc",
        run: msg_peek_and_msg_trunc,
    },
    Test {
        name: "fionread_next_datagram",
        run: fionread_next_datagram,
    },
    Test {
        name: "nonblocking_recv_eagain",
        run: nonblocking_recv_eagain,
    },
    Test {
        name: "so_rcvtimeo_eagain",
        run: so_rcvtimeo_eagain,
    },
    Test {
        name: "blocked_recv_woken_by_data",
        run: blocked_recv_woken_by_data,
    },
    Test {
        name: "blocked_recv_eintr_on_signal",
        run: blocked_recv_eintr_on_signal,
    },
    Test {
        name: "blocked_recv_restarts_with_sa_restart",
        run: blocked_recv_restarts_with_sa_restart,
    },
    Test {
        name: "close_under_blocked_reader_releases_after",
        run: close_under_blocked_reader_releases_after,
    },
    Test {
        name: "shutdown_wakes_blocked_reader",
        run: shutdown_wakes_blocked_reader,
    },
    Test {
        name: "shutdown_write_epipe",
        run: shutdown_write_epipe,
    },
    Test {
        name: "poll_readable_writable",
        run: poll_readable_writable,
    },
    Test {
        name: "so_rcvbuf_bounds_queue",
        run: so_rcvbuf_bounds_queue,
    },
    Test {
        name: "close_with_queued_data_frees_all",
        run: close_with_queued_data_frees_all,
    },
    Test {
        name: "two_processes_exchange",
        run: two_processes_exchange,
    },
    Test {
        name: "netns_ports_isolated",
        run: netns_ports_isolated,
    },
    Test {
        name: "proc_net_lists_sockets_and_counters",
        run: proc_net_lists_sockets_and_counters,
    },
    Test {
        name: "proc_net_counts_own_namespace",
        run: proc_net_counts_own_namespace,
    },
];

fn bind_getsockname() -> TestResult {
    ensure_loaded()?;
    let fd = demo_socket().map_err(e("socket"))?;
    let (addr, len) = getsockname(&fd).map_err(e("getsockname unbound"))?;
    check_eq!(
        (addr.family, addr.port, len),
        (18, 0, SOCKADDR_PFDEMO_LEN),
        "unbound name"
    );
    bind(&fd, 5000).map_err(e("bind 5000"))?;
    let (addr, len) = getsockname(&fd).map_err(e("getsockname"))?;
    check_eq!(
        (addr.family, addr.port, len),
        (18, 5000, SOCKADDR_PFDEMO_LEN),
        "bound name"
    );
    check_eq!(
        bind(&fd, 5001).map_err(ename),
        Err(ename(libc::EINVAL)),
        "second bind"
    );
    Ok(())
}

fn bind_port_zero_picks_free_port() -> TestResult {
    ensure_loaded()?;
    let mut seen = Vec::new();
    for _ in 0..20 {
        let (fd, port) = bound_socket(0)?;
        check!(
            PFDEMO_EPHEMERAL_PORTS.contains(&port),
            "port {port} outside the ephemeral range"
        );
        check!(
            !seen.iter().any(|(p, _)| *p == port),
            "port {port} handed out twice"
        );
        seen.push((port, fd));
    }
    Ok(())
}

fn bind_eaddrinuse_until_close() -> TestResult {
    ensure_loaded()?;
    let (a, _) = bound_socket(6000)?;
    let b = demo_socket().map_err(e("socket"))?;
    check_eq!(
        bind(&b, 6000).map_err(ename),
        Err(ename(libc::EADDRINUSE)),
        "bind to a taken port"
    );
    drop(a);
    check_eq!(
        bind(&b, 6000).map_err(ename),
        Ok(()),
        "bind after the owner closed"
    );
    Ok(())
}

fn bind_bad_address_einval() -> TestResult {
    ensure_loaded()?;
    let fd = demo_socket().map_err(e("socket"))?;
    let good = SockaddrPfdemo::new(6100).to_bytes();
    let mut inet = good;
    inet[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    check_eq!(
        bind_raw(&fd, &inet).map_err(ename),
        Err(ename(libc::EINVAL)),
        "bind, family AF_INET"
    );
    check_eq!(
        bind_raw(&fd, &good[..7]).map_err(ename),
        Err(ename(libc::EINVAL)),
        "bind, addrlen 7"
    );
    check_eq!(
        bind_raw(&fd, &good[..2]).map_err(ename),
        Err(ename(libc::EINVAL)),
        "bind, addrlen 2"
    );
    check_eq!(
        getsockname(&fd).map(|a| a.0.port).map_err(ename),
        Ok(0),
        "port after failed binds"
    );
    check_eq!(
        bind_raw(&fd, &good).map_err(ename),
        Ok(()),
        "then a good bind"
    );
    Ok(())
}

fn bind_privileged_port_needs_cap() -> TestResult {
    ensure_loaded()?;
    let (root, port) = bound_socket(80)?;
    check_eq!(port, 80, "root binds port 80");
    drop(root);
    // An unprivileged user: no CAP_NET_BIND_SERVICE.
    let code = unprivileged_bind_child(demo_socket)?;
    check_eq!(
        code,
        0,
        "child status (12: port 81 not EACCES, 13: port 1024 refused)"
    );
    Ok(())
}

fn sendto_recvfrom_payload_and_source() -> TestResult {
    ensure_loaded()?;
    let (a, pa) = bound_socket(0)?;
    let (b, pb) = bound_socket(0)?;
    let payload: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    check_eq!(
        sendto(&a, &payload, Some(pb), 0).map_err(ename),
        Ok(1000),
        "sendto"
    );
    check_eq!(
        sendto(&a, b"", Some(pb), 0).map_err(ename),
        Ok(0),
        "empty sendto"
    );
    let mut buf = vec![0u8; 4096];
    let r = recvmsg(&b, &mut buf, 0).map_err(e("recvmsg"))?;
    check_eq!(
        (r.n, r.from, r.namelen),
        (1000, SockaddrPfdemo::new(pa), SOCKADDR_PFDEMO_LEN),
        "received"
    );
    check!(buf[..1000] == payload[..], "payload differs");
    let r = recvmsg(&b, &mut buf, 0).map_err(e("recvmsg empty"))?;
    check_eq!((r.n, r.from.port), (0, pa), "empty datagram");
    Ok(())
}

fn send_unbound_autobinds() -> TestResult {
    ensure_loaded()?;
    let (b, pb) = bound_socket(0)?;
    let a = demo_socket().map_err(e("socket"))?;
    check_eq!(
        sendto(&a, b"x", Some(pb), 0).map_err(ename),
        Ok(1),
        "sendto from unbound"
    );
    let pa = getsockname(&a).map_err(e("getsockname"))?.0.port;
    check!(PFDEMO_EPHEMERAL_PORTS.contains(&pa), "autobound port {pa}");
    let r = recvmsg(&b, &mut [0u8; 8], 0).map_err(e("recvmsg"))?;
    check_eq!(r.from.port, pa, "source of the datagram");
    Ok(())
}

fn connect_send_recv_getpeername() -> TestResult {
    ensure_loaded()?;
    let (a, pa) = bound_socket(0)?;
    let b = demo_socket().map_err(e("socket"))?;
    check_eq!(
        getpeername(&b).map(drop).map_err(ename),
        Err(ename(libc::ENOTCONN)),
        "getpeername before connect"
    );
    check_eq!(
        sendto(&b, b"x", None, 0).map_err(ename),
        Err(ename(libc::EDESTADDRREQ)),
        "send before connect"
    );
    connect(&b, pa).map_err(e("connect"))?;
    check_eq!(
        getpeername(&b).map(|a| a.0).map_err(ename),
        Ok(SockaddrPfdemo::new(pa)),
        "getpeername"
    );
    let pb = getsockname(&b).map_err(e("getsockname"))?.0.port;
    check!(pb != 0, "connect did not bind the socket");
    // SAFETY: `buf` is valid for reads of its length.
    let n = unsafe { libc::send(b.as_raw_fd(), b"ping".as_ptr().cast(), 4, 0) };
    check_eq!(n, 4, "send() on the connected socket");
    let mut buf = [0u8; 16];
    // SAFETY: `buf` is valid for writes of its length.
    let n = unsafe { libc::recv(a.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    check_eq!((n, &buf[..4]), (4, &b"ping"[..]), "recv() on the peer");
    let unspec = (libc::AF_UNSPEC as u16).to_ne_bytes();
    connect_raw(&b, &unspec).map_err(e("connect AF_UNSPEC"))?;
    check_eq!(
        getpeername(&b).map(drop).map_err(ename),
        Err(ename(libc::ENOTCONN)),
        "getpeername after AF_UNSPEC"
    );
    check_eq!(
        connect(&b, 0).map_err(ename),
        Err(ename(libc::EINVAL)),
        "connect to port 0"
    );
    Ok(())
}

/// A connected socket caches the socket it sends to; the cache must follow the port, not the
/// socket: after the peer closes, sends fail, and they reach whoever binds the port next.
fn connected_send_follows_port_rebinding() -> TestResult {
    ensure_loaded()?;
    let (b, pb) = bound_socket(0)?;
    let a = demo_socket().map_err(e("socket"))?;
    connect(&a, pb).map_err(e("connect"))?;
    check_eq!(
        sendto(&a, b"1", None, 0).map_err(ename),
        Ok(1),
        "send to the first peer"
    );
    check_eq!(
        recvmsg(&b, &mut [0u8; 4], 0).map(|r| r.n).map_err(ename),
        Ok(1),
        "first peer got it"
    );
    drop(b);
    check_eq!(
        sendto(&a, b"2", None, 0).map_err(ename),
        Err(ename(libc::ECONNREFUSED)),
        "send after the peer closed"
    );
    let (c, _) = bound_socket(pb)?;
    check_eq!(
        sendto(&a, b"33", None, 0).map_err(ename),
        Ok(2),
        "send after the port was bound again"
    );
    let r = recvmsg(&c, &mut [0u8; 4], libc::MSG_DONTWAIT)
        .map(|r| r.n)
        .map_err(ename);
    check_eq!(r, Ok(2), "the new owner of the port got it");
    Ok(())
}

/// A connected sender caches its peer's sock; once the peer closed, the send that finds the port
/// free (ECONNREFUSED) must drop that cache: the closed socket's sock and its module reference
/// go then, not when the sender reconnects or closes.
fn connected_send_to_closed_peer_unpins_it() -> TestResult {
    ensure_loaded()?;
    let base = sockets_used()?;
    let (b, pb) = bound_socket(0)?;
    let a = demo_socket().map_err(e("socket"))?;
    connect(&a, pb).map_err(e("connect"))?;
    sendto(&a, b"1", None, 0).map_err(e("send to the peer"))?;
    drop(b);
    check_eq!(
        sendto(&a, b"2", None, 0).map_err(ename),
        Err(ename(libc::ECONNREFUSED)),
        "send after the peer closed"
    );
    check_eq!(
        (sockets_used()? - base, refcnt()),
        (1, Some(REFS_PER_SOCKET)),
        "(sockets: used, module refcnt) with only the sender open after ECONNREFUSED"
    );
    drop(a);
    check_eq!(sockets_used()?, base, "sockets: used after close");
    Ok(())
}

/// Every ephemeral port of a namespace taken (bound explicitly, in a child in its own network
/// namespace): an automatic bind (sendto or connect from an unbound socket) fails with EAGAIN,
/// as UDP's; bind() to port 0 with EADDRINUSE, as UDP's.
fn autobind_exhausted_eagain() -> TestResult {
    ensure_loaded()?;
    let base = sockets_used()?;
    let (_b, pb) = bound_socket(0)?;
    let code = in_child(|| {
        // SAFETY: plain syscall in the single-threaded child.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return 50;
        }
        let n = (PFDEMO_EPHEMERAL_PORTS.end - PFDEMO_EPHEMERAL_PORTS.start) as u64;
        let lim = libc::rlimit {
            rlim_cur: n + 100,
            rlim_max: n + 100,
        };
        // SAFETY: `lim` is valid for reads.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return 51;
        }
        let mut held = Vec::with_capacity(n as usize);
        for port in PFDEMO_EPHEMERAL_PORTS {
            let Ok(fd) = demo_socket() else { return 52 };
            if bind(&fd, port).is_err() {
                return 53;
            }
            held.push(fd);
        }
        // A receiver outside the ephemeral range, in this namespace.
        let Ok((_rx, prx)) = bound_socket(5555) else {
            return 54;
        };
        let Ok(s) = demo_socket() else { return 55 };
        if sendto(&s, b"x", Some(prx), libc::MSG_DONTWAIT) != Err(libc::EAGAIN) {
            return 56;
        }
        if connect(&s, prx) != Err(libc::EAGAIN) {
            return 57;
        }
        if bind(&s, 0) != Err(libc::EADDRINUSE) {
            return 58;
        }
        // An explicit port outside the range still works, and then sending does.
        if bind(&s, 5556) != Ok(()) || sendto(&s, b"x", Some(prx), 0) != Ok(1) {
            return 59;
        }
        0
    })?;
    check_eq!(
        code,
        0,
        format!(
            "child status (50 unshare, 51 rlimit, 52-55 setup, 56 sendto not EAGAIN, 57 connect \
             not EAGAIN, 58 bind(0) not EADDRINUSE, 59 explicit port); port {pb} outside"
        )
    );
    check_eq!(sockets_used()?, base + 1, "sockets: used after the child");
    Ok(())
}

/// `sendmsg()` with control data: the protocol carries none, so SCM_RIGHTS (descriptors that
/// would be lost), SCM_CREDENTIALS and SOL_SOCKET ones such as SO_MARK fail with EINVAL and
/// nothing is delivered; a control buffer too short for a header holds none and is accepted.
fn control_messages_einval() -> TestResult {
    ensure_loaded()?;
    let (a, _) = bound_socket(0)?;
    let (b, pb) = bound_socket(0)?;
    let send_cmsg = |level: i32, ty: i32, data: &[u8], controllen: Option<usize>| {
        let addr = SockaddrPfdemo::new(pb).to_bytes();
        let mut payload = *b"cmsg";
        let mut iov = libc::iovec {
            iov_base: payload.as_mut_ptr().cast(),
            iov_len: payload.len(),
        };
        let mut control = [0u64; 16];
        // SAFETY: an all-zero msghdr is valid; the pointers below are live for the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = addr.as_ptr() as *mut _;
        msg.msg_namelen = addr.len() as u32;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE/CMSG_LEN are pure; the header and its data fit in `control`
        // (128 bytes) for the lengths used here, and CMSG_FIRSTHDR is not NULL for them.
        unsafe {
            msg.msg_controllen = libc::CMSG_SPACE(data.len() as u32) as usize;
            let h = libc::CMSG_FIRSTHDR(&msg);
            (*h).cmsg_level = level;
            (*h).cmsg_type = ty;
            (*h).cmsg_len = libc::CMSG_LEN(data.len() as u32) as usize;
            std::ptr::copy_nonoverlapping(data.as_ptr(), libc::CMSG_DATA(h), data.len());
        }
        if let Some(len) = controllen {
            msg.msg_controllen = len;
        }
        // SAFETY: `msg` describes live buffers.
        let r = unsafe { libc::sendmsg(a.as_raw_fd(), &msg, 0) };
        if r < 0 {
            Err(ename(errno()))
        } else {
            Ok(r)
        }
    };
    let fd0 = 0i32.to_ne_bytes();
    check_eq!(
        send_cmsg(libc::SOL_SOCKET, libc::SCM_RIGHTS, &fd0, None),
        Err(ename(libc::EINVAL)),
        "sendmsg with SCM_RIGHTS"
    );
    // SAFETY: plain getters.
    let cred = unsafe { [libc::getpid() as u32, libc::getuid(), libc::getgid()] };
    let cred: Vec<u8> = cred.iter().flat_map(|v| v.to_ne_bytes()).collect();
    check_eq!(
        send_cmsg(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, &cred, None),
        Err(ename(libc::EINVAL)),
        "sendmsg with SCM_CREDENTIALS"
    );
    check_eq!(
        send_cmsg(libc::SOL_SOCKET, libc::SO_MARK, &7u32.to_ne_bytes(), None),
        Err(ename(libc::EINVAL)),
        "sendmsg with SO_MARK"
    );
    check_eq!(
        recvmsg(&b, &mut [0u8; 8], libc::MSG_DONTWAIT)
            .map(|r| r.n)
            .map_err(ename),
        Err(ename(libc::EAGAIN)),
        "receiver after the refused sends"
    );
    // Shorter than a cmsghdr: no control message at all (CMSG_FIRSTHDR is NULL).
    check_eq!(
        send_cmsg(libc::SOL_SOCKET, libc::SCM_RIGHTS, &fd0, Some(8)),
        Ok(4),
        "sendmsg with an 8-byte control buffer"
    );
    check_eq!(
        recvmsg(&b, &mut [0u8; 8], libc::MSG_DONTWAIT)
            .map(|r| r.n)
            .map_err(ename),
        Ok(4),
        "the datagram without control messages"
    );
    Ok(())
}

/// `connect(AF_UNSPEC)` gives back a port bound automatically (or by bind() to 0) and keeps one
/// bind() chose, as UDP (`SOCK_BINDPORT_LOCK`).
fn connect_unspec_releases_auto_port() -> TestResult {
    ensure_loaded()?;
    let (_b, pb) = bound_socket(0)?;
    let unspec = (libc::AF_UNSPEC as u16).to_ne_bytes();
    let name = |fd: &OwnedFd| getsockname(fd).map(|a| a.0.port).map_err(ename);
    // Bound by connect().
    let a = demo_socket().map_err(e("socket"))?;
    connect(&a, pb).map_err(e("connect"))?;
    let pa = name(&a)?;
    check!(pa != 0, "connect did not bind");
    connect_raw(&a, &unspec).map_err(e("connect AF_UNSPEC"))?;
    check_eq!(name(&a), Ok(0), "port after AF_UNSPEC (bound by connect)");
    let c = demo_socket().map_err(e("socket"))?;
    check_eq!(
        bind(&c, pa).map_err(ename),
        Ok(()),
        "another socket binds the port given back"
    );
    // Bound by bind(0).
    let (z, pz) = bound_socket(0)?;
    connect(&z, pb).map_err(e("connect"))?;
    connect_raw(&z, &unspec).map_err(e("connect AF_UNSPEC"))?;
    check_eq!(
        name(&z),
        Ok(0),
        format!("port {pz} after AF_UNSPEC (bind(0))")
    );
    // Bound by bind() to a chosen port: kept.
    let (x, _) = bound_socket(7100)?;
    connect(&x, pb).map_err(e("connect"))?;
    connect_raw(&x, &unspec).map_err(e("connect AF_UNSPEC"))?;
    check_eq!(name(&x), Ok(7100), "port after AF_UNSPEC (bind(7100))");
    // The released socket binds again when it sends.
    check_eq!(
        sendto(&a, b"x", Some(pb), 0).map_err(ename),
        Ok(1),
        "sendto after AF_UNSPEC"
    );
    check!(name(&a)? != 0, "sendto did not bind again");
    Ok(())
}

/// `CLOCK_REALTIME` now.
fn realtime() -> Duration {
    // SAFETY: an all-zero timespec is valid; `ts` is valid for writes.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: see above.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// `SIOCGSTAMP` (`SIOCGSTAMP_OLD` on 64-bit): the socket's last receive time stamp.
fn siocgstamp(fd: &OwnedFd) -> Result<Duration, i32> {
    // SAFETY: an all-zero timeval is valid.
    let mut tv: libc::timeval = unsafe { std::mem::zeroed() };
    // SAFETY: SIOCGSTAMP writes one timeval to the pointer, which is valid.
    cvt_errno(unsafe { libc::ioctl(fd.as_raw_fd(), 0x8906, &mut tv) })?;
    Ok(Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000))
}

fn cvt_errno(r: i32) -> Result<i32, i32> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// Receive time stamps are the time the datagram was queued, as for UDP and AF_UNIX: with
/// SO_TIMESTAMPNS the SCM_TIMESTAMPNS of a datagram read 700 ms after it was sent, and
/// SIOCGSTAMP after reading it, are the send time, not the time of recvmsg() or the ioctl.
fn rx_timestamp_is_enqueue_time() -> TestResult {
    // Wide margins: a TCG guest on a loaded host can stall for a while between two lines.
    const LATE: Duration = Duration::from_millis(700);
    const SLACK: Duration = Duration::from_millis(350);
    ensure_loaded()?;
    let (a, _) = bound_socket(0)?;
    let (b, pb) = bound_socket(0)?;
    setsockopt_int(&b, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1).map_err(e("SO_TIMESTAMPNS"))?;
    let sent = realtime();
    sendto(&a, b"stamp", Some(pb), 0).map_err(e("sendto"))?;
    std::thread::sleep(LATE);
    let mut data = [0u8; 16];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    let mut control = [0u64; 16];
    // SAFETY: an all-zero msghdr is valid; the pointers set are live for the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: `msg` describes live buffers.
    let n = unsafe { libc::recvmsg(b.as_raw_fd(), &mut msg, 0) };
    check_eq!(n, 5, "recvmsg");
    let mut stamp = None;
    // SAFETY: the kernel filled `msg_controllen` bytes of `control` with cmsgs; the CMSG_*
    // walk stays within them.
    unsafe {
        let mut h = libc::CMSG_FIRSTHDR(&msg);
        while !h.is_null() {
            if (*h).cmsg_level == libc::SOL_SOCKET && (*h).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts = std::ptr::read_unaligned(libc::CMSG_DATA(h).cast::<libc::timespec>());
                stamp = Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
            }
            h = libc::CMSG_NXTHDR(&msg, h);
        }
    }
    let stamp = stamp.ok_or("no SCM_TIMESTAMPNS control message".to_string())?;
    check!(
        stamp + SLACK >= sent && stamp < sent + SLACK,
        "SCM_TIMESTAMPNS is {:?} after the send (read {LATE:?} after it): expected the send time",
        stamp.saturating_sub(sent)
    );
    // SIOCGSTAMP on a socket without SO_TIMESTAMP*: the first call enables stamping (ENOENT:
    // nothing received yet), then the datagram's stamp is what it reports after a receive.
    let (c, pc) = bound_socket(0)?;
    check_eq!(
        siocgstamp(&c).map_err(ename),
        Err(ename(libc::ENOENT)),
        "SIOCGSTAMP before any datagram"
    );
    let sent = realtime();
    sendto(&a, b"stamp", Some(pc), 0).map_err(e("sendto"))?;
    std::thread::sleep(LATE);
    recvmsg(&c, &mut [0u8; 8], 0).map_err(e("recvmsg"))?;
    std::thread::sleep(LATE);
    let stamp = siocgstamp(&c).map_err(e("SIOCGSTAMP"))?;
    check!(
        stamp + SLACK >= sent && stamp < sent + SLACK,
        "SIOCGSTAMP is {:?} after the send (received {LATE:?} after it, asked {LATE:?} later): \
         expected the send time",
        stamp.saturating_sub(sent)
    );
    Ok(())
}

fn send_to_nobody_econnrefused() -> TestResult {
    ensure_loaded()?;
    let a = demo_socket().map_err(e("socket"))?;
    check_eq!(
        sendto(&a, b"x", Some(59999), 0).map_err(ename),
        Err(ename(libc::ECONNREFUSED)),
        "sendto a free port"
    );
    let (b, pb) = bound_socket(0)?;
    drop(b);
    check_eq!(
        sendto(&a, b"x", Some(pb), 0).map_err(ename),
        Err(ename(libc::ECONNREFUSED)),
        "sendto a closed port"
    );
    Ok(())
}

fn emsgsize_above_max() -> TestResult {
    ensure_loaded()?;
    let (b, pb) = bound_socket(0)?;
    setsockopt_int(&b, libc::SOL_SOCKET, libc::SO_RCVBUF, 1 << 20).map_err(e("SO_RCVBUF"))?;
    let a = demo_socket().map_err(e("socket"))?;
    let big = vec![0xa5u8; PFDEMO_MAX_DGRAM + 1];
    check_eq!(
        sendto(&a, &big, Some(pb), 0).map_err(ename),
        Err(ename(libc::EMSGSIZE)),
        "max + 1 bytes"
    );
    check_eq!(
        sendto(&a, &big[..PFDEMO_MAX_DGRAM], Some(pb), 0).map_err(ename),
        Ok(PFDEMO_MAX_DGRAM),
        "max bytes"
    );
    let mut buf = vec![0u8; PFDEMO_MAX_DGRAM + 10];
    let r = recvmsg(&b, &mut buf, 0).map_err(e("recvmsg"))?;
    check_eq!(r.n, PFDEMO_MAX_DGRAM, "received length");
    check!(buf[..r.n].iter().all(|&x| x == 0xa5), "payload differs");
    Ok(())
}

fn msg_peek_and_msg_trunc() -> TestResult {
    ensure_loaded()?;
    let (a, pa) = bound_socket(0)?;
    let (b, pb) = bound_socket(0)?;
    sendto(&a, b"0123456789", Some(pb), 0).map_err(e("sendto"))?;
    let mut buf = [0u8; 64];
    let r = recvmsg(&b, &mut buf, libc::MSG_PEEK).map_err(e("peek"))?;
    check_eq!(
        (r.n, r.from.port, &buf[..10]),
        (10, pa, &b"0123456789"[..]),
        "MSG_PEEK"
    );
    let mut small = [0u8; 4];
    let r = recvmsg(&b, &mut small, libc::MSG_PEEK | libc::MSG_TRUNC).map_err(e("peek|trunc"))?;
    check_eq!(
        (r.n, r.msg_flags & libc::MSG_TRUNC),
        (10, libc::MSG_TRUNC),
        "MSG_TRUNC returns the real length"
    );
    let r = recvmsg(&b, &mut small, 0).map_err(e("recv short"))?;
    check_eq!(
        (r.n, r.msg_flags & libc::MSG_TRUNC, &small[..]),
        (4, libc::MSG_TRUNC, &b"0123"[..]),
        "short buffer"
    );
    let r = recvmsg(&b, &mut buf, libc::MSG_DONTWAIT)
        .map(|r| r.n)
        .map_err(ename);
    check_eq!(
        r,
        Err(ename(libc::EAGAIN)),
        "the truncated datagram was consumed"
    );
    Ok(())
}

fn fionread_next_datagram() -> TestResult {
    ensure_loaded()?;
    let (a, _) = bound_socket(0)?;
    let (b, pb) = bound_socket(0)?;
    check_eq!(fionread(&b).map_err(ename), Ok(0), "FIONREAD empty");
    sendto(&a, &[1; 300], Some(pb), 0).map_err(e("sendto"))?;
    sendto(&a, &[2; 70], Some(pb), 0).map_err(e("sendto"))?;
    check_eq!(fionread(&b).map_err(ename), Ok(300), "FIONREAD first");
    recvmsg(&b, &mut [0u8; 512], 0).map_err(e("recvmsg"))?;
    check_eq!(fionread(&b).map_err(ename), Ok(70), "FIONREAD second");
    Ok(())
}

fn nonblocking_recv_eagain() -> TestResult {
    ensure_loaded()?;
    let (b, _) = bound_socket(0)?;
    let r = recvmsg(&b, &mut [0u8; 8], libc::MSG_DONTWAIT)
        .map(|r| r.n)
        .map_err(ename);
    check_eq!(r, Err(ename(libc::EAGAIN)), "MSG_DONTWAIT");
    let nb = socket(18, libc::SOCK_DGRAM | libc::SOCK_NONBLOCK, 0).map_err(e("socket"))?;
    bind(&nb, 0).map_err(e("bind"))?;
    check_eq!(
        recvmsg(&nb, &mut [0u8; 8], 0).map(|r| r.n).map_err(ename),
        Err(ename(libc::EAGAIN)),
        "SOCK_NONBLOCK"
    );
    Ok(())
}

fn so_rcvtimeo_eagain() -> TestResult {
    ensure_loaded()?;
    let (b, _) = bound_socket(0)?;
    set_rcvtimeo(&b, 200)?;
    let t = Instant::now();
    let r = recvmsg(&b, &mut [0u8; 8], 0).map(|r| r.n).map_err(ename);
    let waited = t.elapsed();
    check_eq!(r, Err(ename(libc::EAGAIN)), "recv with SO_RCVTIMEO");
    // A lower bound only: the call must have waited, however slow the machine.
    check!(
        waited >= Duration::from_millis(190),
        "returned after {waited:?}, before the timeout"
    );
    Ok(())
}

/// Runs a blocking `recvmsg` on `fd` in a thread; returns its result and the thread id.
fn blocked_reader(
    fd: &OwnedFd,
) -> (
    std::thread::JoinHandle<Result<Received, i32>>,
    libc::pthread_t,
) {
    let raw = fd.as_raw_fd();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        // SAFETY: returns the calling thread's id.
        tx.send(unsafe { libc::pthread_self() }).unwrap();
        // SAFETY: the fd outlives the thread (the test joins it before closing).
        let fd = std::mem::ManuallyDrop::new(unsafe {
            <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw)
        });
        let mut buf = [0u8; 64];
        recvmsg(&fd, &mut buf, 0)
    });
    let tid = rx.recv().unwrap();
    // Give it time to block (not needed for correctness: whatever wakes it also works early).
    std::thread::sleep(Duration::from_millis(100));
    (h, tid)
}

/// Joins a [`blocked_reader`] that `what` should wake, with a deadline: its socket's
/// `SO_RCVTIMEO` watchdog ([`WATCHDOG_MS`], set by [`bound_socket`]) makes a lost wake-up return
/// `EAGAIN`, reported as such; a reader still blocked past the watchdog (a socket without one)
/// is reported too and left behind, so the test fails within seconds either way.
fn join_reader(
    h: std::thread::JoinHandle<Result<Received, i32>>,
    what: &str,
) -> Result<Result<usize, String>, String> {
    let deadline = Instant::now() + Duration::from_millis(WATCHDOG_MS as u64 + 3000);
    while !h.is_finished() {
        if Instant::now() > deadline {
            return Err(format!(
                "watchdog: the reader still blocks in recv() {} ms after {what}: lost wake-up",
                WATCHDOG_MS + 3000
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    match h.join().map_err(|_| "the reader panicked".to_string())? {
        Err(libc::EAGAIN) => Err(format!(
            "watchdog: the reader's recv() timed out (SO_RCVTIMEO {WATCHDOG_MS} ms) waiting for \
             {what}: lost wake-up"
        )),
        r => Ok(r.map(|r| r.n).map_err(ename)),
    }
}

fn blocked_recv_woken_by_data() -> TestResult {
    ensure_loaded()?;
    let (a, _) = bound_socket(0)?;
    let (b, pb) = bound_socket(0)?;
    let (h, _) = blocked_reader(&b);
    sendto(&a, b"wake", Some(pb), 0).map_err(e("sendto"))?;
    let r = join_reader(h, "a datagram")?;
    check_eq!(r, Ok(4), "blocked reader's result");
    Ok(())
}

fn blocked_recv_eintr_on_signal() -> TestResult {
    ensure_loaded()?;
    let (b, _) = bound_socket(0)?;
    // Without SA_RESTART, so the syscall is interrupted.
    handle_signal(libc::SIGUSR1, false);
    let (h, tid) = blocked_reader(&b);
    // SAFETY: `tid` is a live thread of ours (joined below).
    unsafe { libc::pthread_kill(tid, libc::SIGUSR1) };
    let r = join_reader(h, "SIGUSR1")?;
    check_eq!(r, Err(ename(libc::EINTR)), "blocked reader after a signal");
    Ok(())
}

fn blocked_recv_restarts_with_sa_restart() -> TestResult {
    ensure_loaded()?;
    let (a, _) = bound_socket(0)?;
    let (b, pb) = bound_socket(0)?;
    // With SA_RESTART: the interrupted recv restarts.
    handle_signal(libc::SIGUSR2, true);
    // A receive timeout turns the restart into EINTR (`sock_intr_errno()`): this reader has
    // none, and `join_reader`'s deadline is its watchdog.
    set_rcvtimeo(&b, 0)?;
    let (h, tid) = blocked_reader(&b);
    // SAFETY: `tid` is a live thread of ours (joined below).
    unsafe { libc::pthread_kill(tid, libc::SIGUSR2) };
    std::thread::sleep(Duration::from_millis(200));
    let still_blocked = !h.is_finished();
    sendto(&a, b"after", Some(pb), 0).map_err(e("sendto"))?;
    let r = join_reader(h, "SIGUSR2 (restarted), then a datagram")?;
    check!(
        still_blocked,
        "the reader returned after the signal instead of restarting"
    );
    check_eq!(r, Ok(5), "restarted reader's result");
    Ok(())
}

/// close() of the descriptor while another thread is blocked in recv on it: the blocked call
/// holds the file, so the socket (and its module references) live until it returns (here by
/// SO_RCVTIMEO), then everything is released.
fn close_under_blocked_reader_releases_after() -> TestResult {
    ensure_loaded()?;
    let base = sockets_used()?;
    let (b, _) = bound_socket(0)?;
    set_rcvtimeo(&b, 1000)?;
    let (h, _) = blocked_reader(&b);
    drop(b);
    let refs_while_blocked = refcnt();
    let r = h.join().unwrap().map(|r| r.n).map_err(ename);
    check_eq!(
        refs_while_blocked,
        Some(REFS_PER_SOCKET),
        "refcnt after close, reader still in recv"
    );
    check_eq!(
        r,
        Err(ename(libc::EAGAIN)),
        "the blocked reader's result (its timeout)"
    );
    check_eq!(refcnt(), Some(0), "refcnt once the reader returned");
    check_eq!(
        sockets_used()?,
        base,
        "sockets in use once the reader returned"
    );
    Ok(())
}

fn shutdown_wakes_blocked_reader() -> TestResult {
    ensure_loaded()?;
    let (b, _) = bound_socket(0)?;
    let (h, _) = blocked_reader(&b);
    shutdown(&b, libc::SHUT_RD).map_err(e("shutdown"))?;
    let r = join_reader(h, "shutdown(SHUT_RD)")?;
    check_eq!(r, Ok(0), "blocked reader after shutdown(SHUT_RD)");
    check_eq!(
        recvmsg(&b, &mut [0u8; 8], 0).map(|r| r.n).map_err(ename),
        Ok(0),
        "recv after shutdown"
    );
    check_eq!(
        shutdown(&b, 7).map_err(ename),
        Err(ename(libc::EINVAL)),
        "shutdown(7)"
    );
    Ok(())
}

fn shutdown_write_epipe() -> TestResult {
    ensure_loaded()?;
    let (a, _) = bound_socket(0)?;
    let (_b, pb) = bound_socket(0)?;
    shutdown(&a, libc::SHUT_WR).map_err(e("shutdown"))?;
    let r = sendto(&a, b"x", Some(pb), libc::MSG_NOSIGNAL).map_err(ename);
    check_eq!(r, Err(ename(libc::EPIPE)), "sendto after SHUT_WR");
    Ok(())
}

fn poll_readable_writable() -> TestResult {
    ensure_loaded()?;
    let (a, _) = bound_socket(0)?;
    let (b, pb) = bound_socket(0)?;
    let ev = libc::POLLIN | libc::POLLOUT;
    check_eq!(
        poll1(&b, ev, 0).map_err(ename),
        Ok(libc::POLLOUT),
        "empty socket"
    );
    sendto(&a, b"x", Some(pb), 0).map_err(e("sendto"))?;
    let r = poll1(&b, ev, 1000)
        .map(|r| r & (libc::POLLIN | libc::POLLOUT))
        .map_err(ename);
    check_eq!(r, Ok(libc::POLLIN | libc::POLLOUT), "after a datagram");
    // epoll sees it too.
    // SAFETY: plain syscalls; `ev` is valid.
    unsafe {
        let ep = libc::epoll_create1(libc::EPOLL_CLOEXEC);
        check!(ep >= 0, "epoll_create1: {}", ename(errno()));
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: 7,
        };
        libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, b.as_raw_fd(), &mut ev);
        let mut out = [libc::epoll_event { events: 0, u64: 0 }; 2];
        let n = libc::epoll_wait(ep, out.as_mut_ptr(), 2, 1000);
        libc::close(ep);
        let (events, tag) = (out[0].events, out[0].u64);
        check_eq!(
            (n, events & libc::EPOLLIN as u32, tag),
            (1, libc::EPOLLIN as u32, 7),
            "epoll_wait"
        );
    }
    shutdown(&b, libc::SHUT_RDWR).map_err(e("shutdown"))?;
    let r = poll1(&b, libc::POLLIN | libc::POLLRDHUP, 0).map_err(ename)?;
    check!(
        r & libc::POLLRDHUP != 0 && r & libc::POLLHUP != 0,
        "after SHUT_RDWR: revents {r:#x}"
    );
    Ok(())
}

fn so_rcvbuf_bounds_queue() -> TestResult {
    ensure_loaded()?;
    let (a, _) = bound_socket(0)?;
    let (b, pb) = bound_socket(0)?;
    setsockopt_int(&b, libc::SOL_SOCKET, libc::SO_RCVBUF, 4096).map_err(e("SO_RCVBUF"))?;
    let rcvbuf =
        getsockopt_int(&b, libc::SOL_SOCKET, libc::SO_RCVBUF).map_err(e("SO_RCVBUF"))? as usize;
    let sent = 200;
    for i in 0..sent {
        let r = sendto(&a, &[i as u8; 1000], Some(pb), libc::MSG_DONTWAIT).map_err(ename);
        check_eq!(
            r,
            Ok(1000),
            format!("sendto #{i} (a full receiver drops, the sender is not told)")
        );
    }
    let mut got = 0;
    while let Ok(r) = recvmsg(&b, &mut [0u8; 2000], libc::MSG_DONTWAIT) {
        check_eq!(r.n, 1000, "datagram length");
        got += 1;
    }
    check!(got >= 1, "nothing was queued");
    // Each queued datagram is charged its buffer's true size (more than 1000 bytes); at most
    // one datagram goes over the limit.
    check!(
        got * 1000 <= rcvbuf + 1000,
        "{got} datagrams queued with SO_RCVBUF {rcvbuf}"
    );
    check!(
        got < sent,
        "all {sent} datagrams queued despite SO_RCVBUF {rcvbuf}"
    );
    Ok(())
}

fn close_with_queued_data_frees_all() -> TestResult {
    ensure_loaded()?;
    let base = sockets_used()?;
    {
        let (a, _) = bound_socket(0)?;
        let (b, pb) = bound_socket(0)?;
        for _ in 0..20 {
            sendto(&a, &[7; 512], Some(pb), 0).map_err(e("sendto"))?;
        }
        check_eq!(sockets_used()?, base + 2, "sockets in use with two open");
        drop(b);
        drop(a);
    }
    check_eq!(sockets_used()?, base, "sockets in use after close");
    check_eq!(
        refcnt(),
        Some(0),
        "module refcnt after close (a leaked datagram would pin its sock)"
    );
    check_eq!(rmmod().map_err(ename), Ok(()), "rmmod");
    Ok(())
}

fn two_processes_exchange() -> TestResult {
    ensure_loaded()?;
    let (srv, psrv) = bound_socket(0)?;
    let (cli, pcli) = bound_socket(0)?;
    // The child echoes one datagram back to its sender, upper-cased.
    let pid = spawn_child(|| {
        let mut buf = [0u8; 64];
        let Ok(r) = recvmsg(&srv, &mut buf, 0) else {
            return 20;
        };
        buf[..r.n].make_ascii_uppercase();
        match sendto(&srv, &buf[..r.n], Some(r.from.port), 0) {
            Ok(_) => 0,
            Err(_) => 21,
        }
    })?;
    drop(srv);
    let sent = sendto(&cli, b"hello", Some(psrv), 0).map_err(ename);
    let mut buf = [0u8; 64];
    set_rcvtimeo(&cli, 5000)?;
    let r = recvmsg(&cli, &mut buf, 0).map_err(ename);
    check_eq!(
        wait_child(pid)?,
        0,
        "child status (20: recv failed, 21: send failed)"
    );
    check_eq!(sent, Ok(5), "sendto the child");
    let r = r?;
    check_eq!(
        (r.n, &buf[..5], r.from.port),
        (5, &b"HELLO"[..], psrv),
        "the child's answer"
    );
    check!(pcli != psrv, "client and server share port {pcli}");
    Ok(())
}

fn netns_ports_isolated() -> TestResult {
    ensure_loaded()?;
    let (host, _) = bound_socket(7000)?;
    let _outside = bound_socket(7001)?;
    let code = in_child(|| {
        // SAFETY: plain syscall in the single-threaded child.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return 30;
        }
        // The same port is free in the new namespace...
        let Ok((mine, p)) = bound_socket(7000) else {
            return 31;
        };
        if p != 7000 {
            return 32;
        }
        let Ok(a) = demo_socket() else { return 33 };
        if sendto(&a, b"ns", Some(7000), 0) != Ok(2) {
            return 34;
        }
        // ...and delivery stays in it.
        match recvmsg(&mine, &mut [0u8; 8], libc::MSG_DONTWAIT) {
            Ok(r) if r.n == 2 => {}
            _ => return 35,
        }
        // A port bound only outside is unreachable from inside.
        if sendto(&a, b"x", Some(7001), 0) != Err(libc::ECONNREFUSED) {
            return 36;
        }
        0
    })?;
    skip_without_netns(code)?;
    check_eq!(
        code,
        0,
        "child status (30 unshare, 31-33 setup, 34 send, 35 not delivered, 36 reached outside)"
    );
    let r = recvmsg(&host, &mut [0u8; 8], libc::MSG_DONTWAIT)
        .map(|r| r.n)
        .map_err(ename);
    check_eq!(
        r,
        Err(ename(libc::EAGAIN)),
        "the host's port 7000 got the namespace's datagram"
    );
    Ok(())
}

/// One socket's line of /proc/net/rust_pf_demo: (port, peer, rx_queue, drops, inode).
pub type ProcLine = (u32, u32, u64, u64, u64);

/// The module counters of /proc/net/rust_pf_demo, by name.
pub type Counters = Vec<(String, u64)>;

/// Reads /proc/net/rust_pf_demo: the module counters by name, and the socket lines.
pub fn read_proc() -> Result<(Counters, Vec<ProcLine>), String> {
    let text = std::fs::read_to_string("/proc/net/rust_pf_demo")
        .map_err(|e| format!("/proc/net/rust_pf_demo: {e}"))?;
    let mut lines = text.lines();
    let head = lines.next().ok_or("empty file")?;
    let words: Vec<&str> = head
        .strip_prefix("module: ")
        .ok_or(format!("bad first line {head:?}"))?
        .split(' ')
        .collect();
    let counters = words
        .chunks(2)
        .map(|c| (c[0].to_string(), c[1].parse().unwrap_or(u64::MAX)))
        .collect();
    lines.next().ok_or("no header line")?;
    let mut socks = Vec::new();
    for l in lines {
        let v: Vec<u64> = l
            .split_whitespace()
            .map(|w| w.parse().unwrap_or(u64::MAX))
            .collect();
        if v.len() != 5 {
            return Err(format!("bad socket line {l:?}"));
        }
        socks.push((v[0] as u32, v[1] as u32, v[2], v[3], v[4]));
    }
    Ok((counters, socks))
}

pub fn counter(c: &[(String, u64)], name: &str) -> u64 {
    c.iter()
        .find(|(n, _)| n == name)
        .map_or(u64::MAX, |(_, v)| *v)
}

fn proc_net_lists_sockets_and_counters() -> TestResult {
    ensure_loaded()?;
    let (before, _) = read_proc()?;
    let (a, pa) = bound_socket(8000)?;
    let (b, pb) = bound_socket(0)?;
    connect(&a, pb).map_err(e("connect"))?;
    setsockopt_int(&b, libc::SOL_SOCKET, libc::SO_RCVBUF, 2048).map_err(e("SO_RCVBUF"))?;
    for _ in 0..50 {
        sendto(&a, &[1; 700], None, 0).map_err(e("send"))?;
    }
    let (after, socks) = read_proc()?;
    // SAFETY: an all-zero `stat` is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writes.
    check_eq!(unsafe { libc::fstat(b.as_raw_fd(), &mut st) }, 0, "fstat");
    let la = socks
        .iter()
        .find(|s| s.0 == pa)
        .ok_or(format!("port {pa} not listed: {socks:?}"))?;
    let lb = socks
        .iter()
        .find(|s| s.0 == pb)
        .ok_or(format!("port {pb} not listed: {socks:?}"))?;
    check_eq!(la.1, pb, "peer column of the connected socket");
    check!(lb.2 > 0, "rx_queue of the receiver is 0: {lb:?}");
    check!(lb.3 > 0, "drops of the flooded receiver is 0: {lb:?}");
    check_eq!(lb.4, st.st_ino, "inode column");
    let sent = counter(&after, "datagrams_sent") - counter(&before, "datagrams_sent");
    let dropped = counter(&after, "dropped") - counter(&before, "dropped");
    let delivered = counter(&after, "delivered") - counter(&before, "delivered");
    check_eq!(sent, 50, "datagrams_sent delta");
    check_eq!(delivered + dropped, 50, "delivered + dropped delta");
    check_eq!(dropped, lb.3, "dropped delta vs the socket's drops");
    check!(
        counter(&after, "sockets_created") >= counter(&before, "sockets_created") + 2,
        "sockets_created"
    );
    // Another namespace has its own, empty, list.
    let code = in_child(|| {
        // SAFETY: plain syscall in the single-threaded child.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return 40;
        }
        match read_proc() {
            Ok((_, socks)) if socks.is_empty() => 0,
            Ok(_) => 41,
            Err(_) => 42,
        }
    })?;
    check_eq!(
        code,
        0,
        "child status (41: sockets of another namespace listed, 42: no file)"
    );
    drop((a, b));
    let (_, socks) = read_proc()?;
    check!(
        !socks.iter().any(|s| s.0 == pa || s.0 == pb),
        "closed sockets still listed: {socks:?}"
    );
    Ok(())
}

/// Each namespace has its own port table and its own traffic counters: 10 datagrams sent in a
/// child namespace show in that namespace's /proc/net/rust_pf_demo (with its sockets), never in
/// this one's, during the child's life or after its sockets closed.
fn proc_net_counts_own_namespace() -> TestResult {
    ensure_loaded()?;
    let (before, _) = read_proc()?;
    // Two pipes: child -> parent ("sent"), parent -> child ("looked").
    let (mut up, mut down) = ([0; 2], [0; 2]);
    // SAFETY: both arrays are valid for two ints.
    let r = unsafe { (libc::pipe(up.as_mut_ptr()), libc::pipe(down.as_mut_ptr())) };
    check_eq!(r, (0, 0), "pipes");
    let pid = spawn_child(|| {
        // SAFETY: the parent's ends, closed in the child.
        unsafe {
            libc::close(up[0]);
            libc::close(down[1]);
        }
        // SAFETY: plain syscall in the single-threaded child.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return 60;
        }
        let (Ok((a, _)), Ok((b, pb))) = (bound_socket(0), bound_socket(0)) else {
            return 61;
        };
        for _ in 0..10 {
            if sendto(&a, b"ns", Some(pb), 0) != Ok(2) {
                return 62;
            }
        }
        let code = match read_proc() {
            Ok((c, socks)) if counter(&c, "datagrams_sent") == 10 && socks.len() == 2 => 0,
            _ => 63,
        };
        // Tell the parent the datagrams are sent, wait for it to have looked (or to be gone:
        // its write end closes and the read returns 0).
        // SAFETY: the child's ends of the pipes, inherited.
        unsafe {
            libc::write(up[1], b"x".as_ptr().cast(), 1);
            let mut c = 0u8;
            libc::read(down[0], (&mut c as *mut u8).cast(), 1);
        }
        drop(b);
        code
    })?;
    let mut c = 0u8;
    // SAFETY: the parent's ends: the child writes one byte, or exits (its write end closes, the
    // read returns 0), so this read ends either way.
    unsafe {
        libc::close(up[1]);
        libc::close(down[0]);
        libc::read(up[0], (&mut c as *mut u8).cast(), 1);
    }
    let during = read_proc();
    // SAFETY: lets the child go on (it waits for this byte); the ends are ours to close.
    unsafe {
        libc::write(down[1], b"y".as_ptr().cast(), 1);
        libc::close(down[1]);
        libc::close(up[0]);
    }
    let (during, _) = during?;
    let code = wait_child(pid)?;
    let (after, _) = read_proc()?;
    if code == 60 {
        return Err(Outcome::Skip("unshare(CLONE_NEWNET) failed".into()));
    }
    check_eq!(
        code,
        0,
        "child status (61 setup, 62 send, 63 its own /proc/net: not 10 sent and 2 sockets)"
    );
    let sent = |c: &Counters| counter(c, "datagrams_sent") - counter(&before, "datagrams_sent");
    check_eq!(
        (sent(&during), sent(&after)),
        (0, 0),
        "datagrams_sent here while the child's sockets were open, and after they closed"
    );
    Ok(())
}
