// SPDX-License-Identifier: GPL-2.0

//! The SOCK_SEQPACKET protocol (rust_pf_demo_seqpacket.ko, loaded on demand): module
//! references through autoload, connect and accept; bind/listen/connect/accept; messages;
//! flow control; the peer's close and shutdown; a listener's close; namespaces; /proc/net.
//! Payloads are checked byte for byte, errors by exact errno; every blocking call has a 5 s
//! `SO_RCVTIMEO`/`SO_SNDTIMEO` watchdog and runs under a deadline that names what it waited for.

use crate::ktap::{Test, TestResult};
use crate::seqweak::{join_woken_poll, spawn_blocked_poll};
use crate::sys::*;
use crate::{check, check_eq};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Every test, in order.
pub const TESTS: &[Test] = &[
    Test {
        name: "seqpacket_autoload_refcnt",
        run: seqpacket_autoload_refcnt,
    },
    Test {
        name: "seqpacket_accept_holds_module_refs",
        run: seqpacket_accept_holds_module_refs,
    },
    Test {
        name: "seqpacket_bind_own_port_space",
        run: seqpacket_bind_own_port_space,
    },
    Test {
        name: "seqpacket_bind_privileged_port_needs_cap",
        run: seqpacket_bind_privileged_port_needs_cap,
    },
    Test {
        name: "seqpacket_listen_needs_bind",
        run: seqpacket_listen_needs_bind,
    },
    Test {
        name: "seqpacket_listen_again_changes_backlog",
        run: seqpacket_listen_again_changes_backlog,
    },
    Test {
        name: "seqpacket_connect_refused",
        run: seqpacket_connect_refused,
    },
    Test {
        name: "seqpacket_connect_names_and_eisconn",
        run: seqpacket_connect_names_and_eisconn,
    },
    Test {
        name: "seqpacket_backlog_full_blocks_or_eagain",
        run: seqpacket_backlog_full_blocks_or_eagain,
    },
    Test {
        name: "seqpacket_accept4_flags",
        run: seqpacket_accept4_flags,
    },
    Test {
        name: "seqpacket_accept_nonblock_eagain",
        run: seqpacket_accept_nonblock_eagain,
    },
    Test {
        name: "seqpacket_accept_woken_by_connect",
        run: seqpacket_accept_woken_by_connect,
    },
    Test {
        name: "seqpacket_accept_eintr_on_signal",
        run: seqpacket_accept_eintr_on_signal,
    },
    Test {
        name: "seqpacket_accept_restarts_with_sa_restart",
        run: seqpacket_accept_restarts_with_sa_restart,
    },
    Test {
        name: "seqpacket_accept_woken_by_shutdown",
        run: seqpacket_accept_woken_by_shutdown,
    },
    Test {
        name: "seqpacket_poll_listener_pending",
        run: seqpacket_poll_listener_pending,
    },
    Test {
        name: "seqpacket_message_boundaries",
        run: seqpacket_message_boundaries,
    },
    Test {
        name: "seqpacket_short_buffer_msg_trunc",
        run: seqpacket_short_buffer_msg_trunc,
    },
    Test {
        name: "seqpacket_sndbuf_blocks_sender",
        run: seqpacket_sndbuf_blocks_sender,
    },
    Test {
        name: "seqpacket_emsgsize_above_max",
        run: seqpacket_emsgsize_above_max,
    },
    Test {
        name: "seqpacket_sendmsg_recvmsg_iovecs",
        run: seqpacket_sendmsg_recvmsg_iovecs,
    },
    Test {
        name: "seqpacket_msg_peek",
        run: seqpacket_msg_peek,
    },
    Test {
        name: "seqpacket_so_rcvtimeo_so_sndtimeo",
        run: seqpacket_so_rcvtimeo_so_sndtimeo,
    },
    Test {
        name: "seqpacket_peer_close_drains_then_eof",
        run: seqpacket_peer_close_drains_then_eof,
    },
    Test {
        name: "seqpacket_send_after_peer_close_epipe_no_sigpipe",
        run: seqpacket_send_after_peer_close_epipe_no_sigpipe,
    },
    Test {
        name: "seqpacket_msg_errqueue_reads_normal_queue",
        run: seqpacket_msg_errqueue_reads_normal_queue,
    },
    Test {
        name: "seqpacket_nonblocking_read_sees_eof",
        run: seqpacket_nonblocking_read_sees_eof,
    },
    Test {
        name: "seqpacket_close_one_unread_resets_once",
        run: seqpacket_close_one_unread_resets_once,
    },
    Test {
        name: "seqpacket_shutdown_wr_is_peer_eof",
        run: seqpacket_shutdown_wr_is_peer_eof,
    },
    Test {
        name: "seqpacket_poll_hup_rdhup",
        run: seqpacket_poll_hup_rdhup,
    },
    Test {
        name: "seqpacket_listener_close_resets_pending",
        run: seqpacket_listener_close_resets_pending,
    },
    Test {
        name: "seqpacket_netns_no_crossing",
        run: seqpacket_netns_no_crossing,
    },
    Test {
        name: "seqpacket_proc_net_lists_sockets",
        run: seqpacket_proc_net_lists_sockets,
    },
];

const SEQ_REFCNT: &str = "/sys/module/rust_pf_demo_seqpacket/refcnt";
const PROC_NET: &str = "/proc/net/rust_pf_demo_seqpacket";

/// The protocol module's reference count, `None` when it is not loaded.
fn seq_refcnt() -> Option<i64> {
    std::fs::read_to_string(SEQ_REFCNT)
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Both modules loaded (by one socket), neither holding a reference.
pub(crate) fn ensure_seq_loaded() -> Result<(), String> {
    if seq_refcnt().is_none() {
        drop(socket(PF_DEMO, libc::SOCK_SEQPACKET, 0).map_err(e("autoload socket"))?);
    }
    check_refs(Some(0), Some(1), "at the start")
}

/// Fails unless the protocol module's count is `seq` and the family module's `fam`.
pub(crate) fn check_refs(seq: Option<i64>, fam: Option<i64>, when: &str) -> Result<(), String> {
    let got = (seq_refcnt(), refcnt());
    if got != (seq, fam) {
        return Err(format!(
            "refcnt {when}: rust_pf_demo_seqpacket {:?} rust_pf_demo {:?}, expected {seq:?} {fam:?}",
            got.0, got.1
        ));
    }
    Ok(())
}

/// A SOCK_SEQPACKET socket of the family, with the 5 s watchdog on its blocking calls.
fn seq_socket() -> Result<OwnedFd, String> {
    let fd = socket(PF_DEMO, libc::SOCK_SEQPACKET, 0).map_err(e("socket(18, SEQPACKET)"))?;
    set_watchdog(&fd)?;
    Ok(fd)
}

/// `listen(fd, backlog)`.
fn listen(fd: &OwnedFd, backlog: i32) -> Result<(), i32> {
    // SAFETY: plain syscall on an fd we own.
    if unsafe { libc::listen(fd.as_raw_fd(), backlog) } < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// A listener bound to `port` (0: a free one) with `backlog`; returns it with its port.
pub(crate) fn listener(port: u32, backlog: i32) -> Result<(OwnedFd, u32), String> {
    let fd = seq_socket()?;
    bind(&fd, port).map_err(e("bind"))?;
    listen(&fd, backlog).map_err(e("listen"))?;
    let (addr, _) = getsockname(&fd).map_err(e("getsockname"))?;
    Ok((fd, addr.port))
}

/// `accept4(fd, flags)`, the peer's address.
fn accept4(fd: &OwnedFd, flags: i32) -> Result<(OwnedFd, SockaddrPfdemo), i32> {
    let mut buf = [0u8; 128];
    let mut len = buf.len() as u32;
    // SAFETY: `buf` and `len` are valid for writes of the sizes given.
    let r = unsafe { libc::accept4(fd.as_raw_fd(), buf.as_mut_ptr().cast(), &mut len, flags) };
    if r < 0 {
        return Err(errno());
    }
    // SAFETY: a new descriptor, ours.
    let new = unsafe { OwnedFd::from_raw_fd(r) };
    let addr = SockaddrPfdemo::from_bytes(&buf[..(len as usize).min(128)]).unwrap_or_default();
    Ok((new, addr))
}

/// A connected pair: (client, accepted server side), both with the watchdog.
pub(crate) fn pair() -> Result<(OwnedFd, OwnedFd), String> {
    let (l, port) = listener(0, 4)?;
    let c = seq_socket()?;
    connect(&c, port).map_err(e("connect"))?;
    let (s, _) = accept4(&l, 0).map_err(e("accept"))?;
    set_watchdog(&s)?;
    Ok((c, s))
}

/// `send(fd, data, flags)`.
pub(crate) fn send(fd: &OwnedFd, data: &[u8], flags: i32) -> Result<usize, i32> {
    sendto(fd, data, None, flags)
}

/// `recv()` of one message into a buffer of `cap` bytes: its bytes and `msg_flags`.
pub(crate) fn recv(fd: &OwnedFd, cap: usize, flags: i32) -> Result<(Vec<u8>, usize, i32), i32> {
    let mut buf = vec![0u8; cap];
    let r = recvmsg(fd, &mut buf, flags)?;
    buf.truncate(r.n.min(cap));
    Ok((buf, r.n, r.msg_flags))
}

/// A payload of `n` bytes, different for each `seed`.
fn payload(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A blocking call run on another thread, with its thread id (to signal it).
pub(crate) struct Blocked<T> {
    h: std::thread::JoinHandle<T>,
    tid: libc::pthread_t,
}

/// Runs `f` on a new thread and gives it time to block.
pub(crate) fn spawn_blocked<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Blocked<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        // SAFETY: returns the calling thread's id.
        tx.send(unsafe { libc::pthread_self() }).unwrap();
        f()
    });
    let tid = rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(150));
    Blocked { h, tid }
}

impl<T> Blocked<T> {
    /// Whether the call still blocks.
    pub(crate) fn blocking(&self) -> bool {
        !self.h.is_finished()
    }

    /// Its result, once `what` should have woken it: a call still blocked after the 5 s
    /// watchdog and 3 s more is a lost wake-up, named.
    pub(crate) fn join(self, what: &str) -> Result<T, String> {
        self.join_or(what, || {})
    }

    /// As [`Blocked::join`], and on a lost wake-up `unblock` is called (a shutdown of the
    /// socket, for a call without a timeout) so that the thread and its socket do not outlive
    /// the test.
    fn join_or(self, what: &str, unblock: impl FnOnce()) -> Result<T, String> {
        let deadline = Instant::now() + Duration::from_millis(WATCHDOG_MS as u64 + 3000);
        while !self.h.is_finished() {
            if Instant::now() > deadline {
                unblock();
                std::thread::sleep(Duration::from_millis(500));
                return Err(format!(
                    "watchdog: the call still blocks {} ms after {what}: lost wake-up",
                    WATCHDOG_MS + 3000
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.h
            .join()
            .map_err(|_| "the blocked thread panicked".to_string())
    }
}

/// A borrowed copy of `fd` for another thread (the test joins that thread before closing it).
pub(crate) fn share(fd: &OwnedFd) -> std::mem::ManuallyDrop<OwnedFd> {
    // SAFETY: the descriptor stays open until the thread using the copy is joined, and the copy
    // is never closed (ManuallyDrop).
    std::mem::ManuallyDrop::new(unsafe { OwnedFd::from_raw_fd(fd.as_raw_fd()) })
}

/// A watchdog timeout (`EAGAIN` from the 5 s `SO_RCVTIMEO`/`SO_SNDTIMEO`) is a lost wake-up.
pub(crate) fn not_timed_out<T>(r: Result<T, i32>, what: &str) -> Result<Result<T, String>, String> {
    match r {
        Err(libc::EAGAIN) => Err(format!(
            "watchdog: timed out ({WATCHDOG_MS} ms) waiting for {what}: lost wake-up"
        )),
        r => Ok(r.map_err(ename)),
    }
}

/// On a new connection, a `recv()` blocked on the server side must be woken with end of file
/// by `wake` (`what`), done to the client side.
fn blocked_recv_sees_eof(
    what: &str,
    wake: impl FnOnce(OwnedFd) -> Result<(), String>,
) -> TestResult {
    let (c, s) = pair()?;
    let ss = share(&s);
    let b = spawn_blocked(move || recv(&ss, 64, 0));
    let blocked = b.blocking();
    wake(c)?;
    let r = not_timed_out(b.join(what)?, what)?;
    check!(blocked, "recv did not block");
    check_eq!(
        r,
        Ok((vec![], 0, 0)),
        format!("blocked reader after {what}")
    );
    Ok(())
}

fn seqpacket_autoload_refcnt() -> TestResult {
    ensure_unloaded()?;
    // Which modules the kernel asks modprobe for, in order: a logging wrapper.
    let saved = std::fs::read_to_string("/proc/sys/kernel/modprobe")
        .map_err(|e| format!("kernel.modprobe: {e}"))?;
    let log = "/tmp/seqpacket.modprobe.log";
    let _ = std::fs::remove_file(log);
    std::fs::write(
        "/tmp/seqpacket-modprobe",
        format!(
            "#!/bin/sh\necho \"$*\" >>{log}\nexec {} \"$@\"\n",
            saved.trim()
        ),
    )
    .map_err(|e| format!("write wrapper: {e}"))?;
    std::fs::set_permissions(
        "/tmp/seqpacket-modprobe",
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .map_err(|e| format!("chmod: {e}"))?;
    std::fs::write("/proc/sys/kernel/modprobe", "/tmp/seqpacket-modprobe")
        .map_err(|e| format!("set kernel.modprobe: {e}"))?;
    let s = socket(PF_DEMO, libc::SOCK_SEQPACKET, 0);
    let _ = std::fs::write("/proc/sys/kernel/modprobe", saved.trim());
    let s = s.map_err(e("socket(18, SOCK_SEQPACKET, 0) with nothing loaded"))?;
    let asked = std::fs::read_to_string(log).unwrap_or_default();
    let asked: Vec<&str> = asked
        .lines()
        .map(|l| l.trim_start_matches("-q -- "))
        .collect();
    check_eq!(
        asked,
        vec!["net-pf-18", "net-pf-18-proto-0-type-5"],
        "modules requested, in order"
    );
    check_refs(
        Some(2),
        Some(1),
        "with one socket open (its 2; the dependency)",
    )?;
    check!(
        std::path::Path::new("/sys/module/rust_pf_demo/holders/rust_pf_demo_seqpacket").exists(),
        "rust_pf_demo_seqpacket is not a holder of rust_pf_demo"
    );
    let protocols = std::fs::read_to_string("/proc/net/protocols").unwrap_or_default();
    check!(
        protocols
            .lines()
            .any(|l| l.starts_with("PF_DEMO_SEQPACKET ") && l.contains(" rust_pf_demo_seqpacket ")),
        "no PF_DEMO_SEQPACKET line of rust_pf_demo_seqpacket in /proc/net/protocols"
    );
    check_eq!(
        getsockopt_int(&s, libc::SOL_SOCKET, libc::SO_PROTOCOL),
        Ok(crate::uapi::PFDEMO_PROTO_SEQPACKET),
        "SO_PROTOCOL"
    );
    check_eq!(
        rmmod_named(SEQPACKET_MODULE).map_err(ename),
        Err(ename(libc::EWOULDBLOCK)),
        "rmmod rust_pf_demo_seqpacket with a socket open"
    );
    check_eq!(
        rmmod().map_err(ename),
        Err(ename(libc::EWOULDBLOCK)),
        "rmmod rust_pf_demo while the protocol module is loaded"
    );
    // The explicit protocol number finds the loaded entry.
    let s5 = socket(
        PF_DEMO,
        libc::SOCK_SEQPACKET,
        crate::uapi::PFDEMO_PROTO_SEQPACKET,
    )
    .map_err(e("socket(18, SOCK_SEQPACKET, 5)"))?;
    check_refs(Some(4), Some(1), "with two sockets open")?;
    drop((s, s5));
    check_refs(Some(0), Some(1), "after close")?;
    rmmod_named(SEQPACKET_MODULE).map_err(e("rmmod rust_pf_demo_seqpacket after close"))?;
    check_refs(None, Some(0), "after rmmod rust_pf_demo_seqpacket")?;
    // Loaded by its explicit number too (net-pf-18-proto-5-type-5).
    let s5 = socket(
        PF_DEMO,
        libc::SOCK_SEQPACKET,
        crate::uapi::PFDEMO_PROTO_SEQPACKET,
    )
    .map_err(e(
        "socket(18, SOCK_SEQPACKET, 5) with the protocol module unloaded",
    ))?;
    check_refs(Some(2), Some(1), "socket(18, SOCK_SEQPACKET, 5)")?;
    drop(s5);
    Ok(())
}

fn seqpacket_accept_holds_module_refs() -> TestResult {
    ensure_seq_loaded()?;
    let base = sockets_used()?;
    let (l, port) = listener(0, 4)?;
    check_refs(Some(2), Some(1), "listener")?;
    let c = seq_socket()?;
    check_refs(Some(4), Some(1), "listener + client")?;
    connect(&c, port).map_err(e("connect"))?;
    // The server side exists before accept: its sock pins proto.owner (1 reference).
    check_refs(Some(5), Some(1), "after connect (the pending child's sock)")?;
    check_eq!(sockets_used()?, base + 3, "sockets used after connect");
    let (s, _) = accept4(&l, 0).map_err(e("accept"))?;
    // do_accept's __module_get(ops->owner) for the new socket: 2 like a created socket.
    check_refs(Some(6), Some(1), "after accept")?;
    let c2 = seq_socket()?;
    connect(&c2, port).map_err(e("connect 2"))?;
    let (s2, _) = accept4(&l, 0).map_err(e("accept 2"))?;
    check_refs(Some(10), Some(1), "two connections accepted")?;
    drop(s);
    check_refs(Some(8), Some(1), "an accepted socket closed")?;
    drop(l);
    check_refs(Some(6), Some(1), "the listener closed")?;
    check_eq!(
        rmmod_named(SEQPACKET_MODULE).map_err(ename),
        Err(ename(libc::EWOULDBLOCK)),
        "rmmod with accepted sockets open"
    );
    drop((c, c2, s2));
    check_refs(Some(0), Some(1), "all closed")?;
    check_eq!(sockets_used()?, base, "sockets used after all closed");
    Ok(())
}

fn seqpacket_bind_own_port_space() -> TestResult {
    ensure_seq_loaded()?;
    let a = seq_socket()?;
    let (name, len) = getsockname(&a).map_err(e("getsockname unbound"))?;
    check_eq!((name.family, name.port, len), (18, 0, 8), "unbound name");
    bind(&a, 5100).map_err(e("bind 5100"))?;
    let (name, _) = getsockname(&a).map_err(e("getsockname"))?;
    check_eq!(name.port, 5100, "bound port");
    check_eq!(
        bind(&a, 5101).map_err(ename),
        Err(ename(libc::EINVAL)),
        "second bind"
    );
    let b = seq_socket()?;
    check_eq!(
        bind(&b, 5100).map_err(ename),
        Err(ename(libc::EADDRINUSE)),
        "bind to a taken port"
    );
    // The datagram protocol's ports are another space.
    let (_d, dport) = bound_socket(5100)?;
    check_eq!(dport, 5100, "SOCK_DGRAM binds the same number");
    bind(&b, 0).map_err(e("bind 0"))?;
    let (name, _) = getsockname(&b).map_err(e("getsockname"))?;
    check!(
        PFDEMO_EPHEMERAL_PORTS.contains(&name.port),
        "port 0 gave {}, outside the ephemeral range",
        name.port
    );
    drop(a);
    let c = seq_socket()?;
    bind(&c, 5100).map_err(e("bind 5100 after its owner closed"))?;
    Ok(())
}

fn seqpacket_bind_privileged_port_needs_cap() -> TestResult {
    ensure_seq_loaded()?;
    let root = seq_socket()?;
    bind(&root, 80).map_err(e("root binds 80"))?;
    drop(root);
    let code = unprivileged_bind_child(|| socket(PF_DEMO, libc::SOCK_SEQPACKET, 0))?;
    check_eq!(
        code,
        0,
        "child status (12: port 81 not EACCES, 13: port 1024 refused)"
    );
    Ok(())
}

fn seqpacket_listen_needs_bind() -> TestResult {
    ensure_seq_loaded()?;
    let a = seq_socket()?;
    check_eq!(
        listen(&a, 5).map_err(ename),
        Err(ename(libc::EINVAL)),
        "listen on an unbound socket"
    );
    check_eq!(
        getsockopt_int(&a, libc::SOL_SOCKET, libc::SO_ACCEPTCONN),
        Ok(0),
        "SO_ACCEPTCONN unbound"
    );
    bind(&a, 0).map_err(e("bind"))?;
    listen(&a, 5).map_err(e("listen after bind"))?;
    check_eq!(
        getsockopt_int(&a, libc::SOL_SOCKET, libc::SO_ACCEPTCONN),
        Ok(1),
        "SO_ACCEPTCONN listening"
    );
    // A connected socket cannot listen.
    let (c, _) = pair()?;
    check_eq!(
        listen(&c, 5).map_err(ename),
        Err(ename(libc::EINVAL)),
        "listen on a connected socket"
    );
    Ok(())
}

/// Connects `n` non-blocking clients to `port`: the errno of each.
/// Clients and the result of each one's `connect()`.
type Connects = (Vec<OwnedFd>, Vec<Result<(), i32>>);

fn connect_n(port: u32, n: usize) -> Result<Connects, String> {
    let mut fds = Vec::new();
    let mut results = Vec::new();
    for _ in 0..n {
        let c =
            socket(PF_DEMO, libc::SOCK_SEQPACKET | libc::SOCK_NONBLOCK, 0).map_err(e("socket"))?;
        results.push(connect(&c, port));
        fds.push(c);
    }
    Ok((fds, results))
}

fn seqpacket_listen_again_changes_backlog() -> TestResult {
    ensure_seq_loaded()?;
    // backlog N admits N + 1 pending connections (AF_UNIX's and TCP's `>` check).
    let (l, port) = listener(0, 1)?;
    let (_c, r) = connect_n(port, 3)?;
    check_eq!(r, vec![Ok(()), Ok(()), Err(libc::EAGAIN)], "backlog 1");
    listen(&l, 3).map_err(e("second listen"))?;
    let (_c2, r) = connect_n(port, 3)?;
    check_eq!(
        r,
        vec![Ok(()), Ok(()), Err(libc::EAGAIN)],
        "backlog 3 with 2 pending"
    );
    let proc = std::fs::read_to_string(PROC_NET).map_err(|e| format!("{PROC_NET}: {e}"))?;
    let line = proc
        .lines()
        .find(|l| l.contains(" LISTEN ") && l.split_whitespace().nth(2) == Some(&port.to_string()))
        .unwrap_or("");
    let cols: Vec<&str> = line.split_whitespace().collect();
    check_eq!(
        (cols.get(6).copied(), cols.get(7).copied()),
        (Some("4"), Some("3")),
        format!("backlog and max of the listener in {PROC_NET}:\n{proc}")
    );
    Ok(())
}

fn seqpacket_connect_refused() -> TestResult {
    ensure_seq_loaded()?;
    let c = seq_socket()?;
    check_eq!(
        connect(&c, 5200).map_err(ename),
        Err(ename(libc::ECONNREFUSED)),
        "connect to a port nobody bound"
    );
    let b = seq_socket()?;
    bind(&b, 5200).map_err(e("bind"))?;
    check_eq!(
        connect(&c, 5200).map_err(ename),
        Err(ename(libc::ECONNREFUSED)),
        "connect to a bound port nobody listens on"
    );
    // A datagram socket on the port is no listener either.
    let (_d, _) = bound_socket(5201)?;
    check_eq!(
        connect(&c, 5201).map_err(ename),
        Err(ename(libc::ECONNREFUSED)),
        "connect to a SOCK_DGRAM port"
    );
    listen(&b, 1).map_err(e("listen"))?;
    connect(&c, 5200).map_err(e("connect once it listens"))?;
    Ok(())
}

fn seqpacket_connect_names_and_eisconn() -> TestResult {
    ensure_seq_loaded()?;
    let (l, port) = listener(0, 4)?;
    let c = seq_socket()?;
    check_eq!(
        getpeername(&c).map_err(ename),
        Err(ename(libc::ENOTCONN)),
        "getpeername before connect"
    );
    connect(&c, port).map_err(e("connect"))?;
    let (cname, _) = getsockname(&c).map_err(e("client getsockname"))?;
    check!(
        PFDEMO_EPHEMERAL_PORTS.contains(&cname.port),
        "client not bound to an ephemeral port: {}",
        cname.port
    );
    let (cpeer, len) = getpeername(&c).map_err(e("client getpeername"))?;
    check_eq!(
        (cpeer.family, cpeer.port, len),
        (18, port, 8),
        "client's peer"
    );
    let (s, from) = accept4(&l, 0).map_err(e("accept"))?;
    check_eq!(
        (from.family, from.port),
        (18, cname.port),
        "accept's address"
    );
    let (sname, _) = getsockname(&s).map_err(e("server getsockname"))?;
    check_eq!(sname.port, port, "accepted socket's name");
    let (speer, _) = getpeername(&s).map_err(e("server getpeername"))?;
    check_eq!(speer.port, cname.port, "accepted socket's peer");
    check_eq!(
        connect(&c, port).map_err(ename),
        Err(ename(libc::EISCONN)),
        "connect on a connected socket"
    );
    check_eq!(
        connect(&s, port).map_err(ename),
        Err(ename(libc::EISCONN)),
        "connect on an accepted socket"
    );
    check_eq!(
        getsockopt_int(&s, libc::SOL_SOCKET, libc::SO_TYPE),
        Ok(libc::SOCK_SEQPACKET),
        "SO_TYPE of the accepted socket"
    );
    Ok(())
}

fn seqpacket_backlog_full_blocks_or_eagain() -> TestResult {
    ensure_seq_loaded()?;
    let (l, port) = listener(0, 0)?;
    let c1 = seq_socket()?;
    connect(&c1, port).map_err(e("first connect (backlog 0 admits one)"))?;
    let c2 = socket(PF_DEMO, libc::SOCK_SEQPACKET | libc::SOCK_NONBLOCK, 0).map_err(e("socket"))?;
    check_eq!(
        connect(&c2, port).map_err(ename),
        Err(ename(libc::EAGAIN)),
        "non-blocking connect to a full backlog"
    );
    let c3 = seq_socket()?;
    let c3s = share(&c3);
    let b = spawn_blocked(move || connect(&c3s, port));
    let blocked = b.blocking();
    let (_s1, _) = accept4(&l, 0).map_err(e("accept"))?;
    let r = not_timed_out(
        b.join("room in the backlog (an accept)")?,
        "room in the backlog",
    )?;
    check!(blocked, "the connect to a full backlog did not block");
    check_eq!(r, Ok(()), "blocked connect after an accept");
    let (s3, _) = accept4(&l, libc::SOCK_NONBLOCK).map_err(e("accept the blocked client"))?;
    send(&c3, b"via", 0).map_err(e("send"))?;
    check_eq!(
        recv(&s3, 8, libc::MSG_DONTWAIT).map_err(ename),
        Ok((b"via".to_vec(), 3, 0)),
        "the blocked client's message"
    );
    Ok(())
}

fn fd_flags(fd: &OwnedFd) -> (bool, bool) {
    // SAFETY: plain fcntl on an fd we own.
    let (fdf, fl) = unsafe {
        (
            libc::fcntl(fd.as_raw_fd(), libc::F_GETFD),
            libc::fcntl(fd.as_raw_fd(), libc::F_GETFL),
        )
    };
    (fdf & libc::FD_CLOEXEC != 0, fl & libc::O_NONBLOCK != 0)
}

fn seqpacket_accept4_flags() -> TestResult {
    ensure_seq_loaded()?;
    let (l, port) = listener(0, 4)?;
    let c = seq_socket()?;
    connect(&c, port).map_err(e("connect"))?;
    let c2 = seq_socket()?;
    connect(&c2, port).map_err(e("connect 2"))?;
    let (a, _) = accept4(&l, libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK).map_err(e("accept4"))?;
    check_eq!(
        fd_flags(&a),
        (true, true),
        "accept4(SOCK_CLOEXEC|SOCK_NONBLOCK) fd flags"
    );
    check_eq!(
        recv(&a, 8, 0).map_err(ename),
        Err(ename(libc::EAGAIN)),
        "recv on the O_NONBLOCK accepted socket"
    );
    let (b, _) = accept4(&l, 0).map_err(e("accept"))?;
    check_eq!(fd_flags(&b), (false, false), "accept fd flags");
    check_eq!(
        fd_flags(&l),
        (false, false),
        "the listener's flags unchanged"
    );
    Ok(())
}

fn seqpacket_accept_nonblock_eagain() -> TestResult {
    ensure_seq_loaded()?;
    let (l, port) = listener(0, 4)?;
    // SAFETY: plain fcntl on an fd we own.
    unsafe { libc::fcntl(l.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    let t0 = Instant::now();
    check_eq!(
        accept4(&l, 0).map(drop).map_err(ename),
        Err(ename(libc::EAGAIN)),
        "O_NONBLOCK accept with nothing pending"
    );
    check!(
        t0.elapsed() < Duration::from_millis(1000),
        "the non-blocking accept waited {:?}",
        t0.elapsed()
    );
    let c = seq_socket()?;
    connect(&c, port).map_err(e("connect"))?;
    accept4(&l, 0).map_err(e("O_NONBLOCK accept with one pending"))?;
    Ok(())
}

fn blocked_accept(l: &OwnedFd) -> Blocked<Result<(OwnedFd, SockaddrPfdemo), i32>> {
    let ls = share(l);
    spawn_blocked(move || accept4(&ls, 0))
}

fn seqpacket_accept_woken_by_connect() -> TestResult {
    ensure_seq_loaded()?;
    let (l, port) = listener(0, 4)?;
    let b = blocked_accept(&l);
    let blocked = b.blocking();
    let c = seq_socket()?;
    connect(&c, port).map_err(e("connect"))?;
    let r = not_timed_out(b.join("a connection")?, "a connection")?;
    check!(blocked, "accept did not block");
    let (s, _) = r.map_err(|e| format!("accept: {e}"))?;
    send(&c, b"hello", 0).map_err(e("send"))?;
    check_eq!(
        recv(&s, 16, 0).map_err(ename),
        Ok((b"hello".to_vec(), 5, 0)),
        "message on the accepted socket"
    );
    Ok(())
}

fn seqpacket_accept_eintr_on_signal() -> TestResult {
    ensure_seq_loaded()?;
    let (l, _) = listener(0, 4)?;
    handle_signal(libc::SIGUSR1, false);
    let b = blocked_accept(&l);
    // SAFETY: a live thread of ours (joined below).
    unsafe { libc::pthread_kill(b.tid, libc::SIGUSR1) };
    let r = b.join_or("SIGUSR1", || {
        let _ = shutdown(&l, libc::SHUT_RDWR);
    })?;
    check_eq!(
        r.map(drop).map_err(ename),
        Err(ename(libc::EINTR)),
        "blocked accept after a signal (SO_RCVTIMEO set: EINTR)"
    );
    Ok(())
}

fn seqpacket_accept_restarts_with_sa_restart() -> TestResult {
    ensure_seq_loaded()?;
    let (l, port) = listener(0, 4)?;
    // Without a timeout the wait restarts (`ERESTARTSYS`); the join deadline is the watchdog.
    set_rcvtimeo(&l, 0)?;
    handle_signal(libc::SIGUSR2, true);
    let b = blocked_accept(&l);
    // SAFETY: a live thread of ours (joined below).
    unsafe { libc::pthread_kill(b.tid, libc::SIGUSR2) };
    std::thread::sleep(Duration::from_millis(200));
    let still = b.blocking();
    let c = seq_socket()?;
    connect(&c, port).map_err(e("connect"))?;
    let r = b.join_or("SIGUSR2 (restarted), then a connection", || {
        let _ = shutdown(&l, libc::SHUT_RDWR);
    })?;
    check!(
        still,
        "accept returned after the signal instead of restarting"
    );
    check!(
        r.is_ok(),
        "restarted accept: {:?}",
        r.map(drop).map_err(ename)
    );
    Ok(())
}

fn seqpacket_accept_woken_by_shutdown() -> TestResult {
    ensure_seq_loaded()?;
    let (l, port) = listener(0, 4)?;
    let b = blocked_accept(&l);
    let blocked = b.blocking();
    shutdown(&l, libc::SHUT_RDWR).map_err(e("shutdown"))?;
    let r = not_timed_out(b.join("shutdown of the listener")?, "shutdown")?;
    check!(blocked, "accept did not block");
    check_eq!(
        r.map(drop),
        Err(ename(libc::EINVAL)),
        "blocked accept after shutdown (as AF_UNIX)"
    );
    // It does not accept any more.
    let c = seq_socket()?;
    let _ = connect(&c, port);
    check_eq!(
        accept4(&l, libc::SOCK_NONBLOCK).map(drop).map_err(ename),
        Err(ename(libc::EINVAL)),
        "accept after shutdown"
    );
    Ok(())
}

fn seqpacket_poll_listener_pending() -> TestResult {
    ensure_seq_loaded()?;
    let (l, port) = listener(0, 4)?;
    let ev = libc::POLLIN | libc::POLLOUT;
    check_eq!(
        poll1(&l, ev, 0),
        Ok(0),
        "poll of a listener with nothing pending"
    );
    let ep = epoll_on(&l, libc::EPOLLIN, 7)?;
    // A blocked poll is woken by the connection (well before its timeout: at the timeout poll
    // looks again and would report the connection after a lost wake-up too).
    let b = spawn_blocked_poll(&l, libc::POLLIN);
    let c = seq_socket()?;
    connect(&c, port).map_err(e("connect"))?;
    let r = join_woken_poll(b, "a connection")?;
    check_eq!(r, Ok(libc::POLLIN), "blocked poll after a connection");
    let mut out = [libc::epoll_event { events: 0, u64: 0 }; 2];
    // SAFETY: `out` is valid for 2 events.
    let n = unsafe { libc::epoll_wait(ep.as_raw_fd(), out.as_mut_ptr(), 2, 1000) };
    check_eq!(
        (n, { out[0].events }, { out[0].u64 }),
        (1, libc::EPOLLIN as u32, 7),
        "epoll_wait with a connection pending"
    );
    accept4(&l, 0).map_err(e("accept"))?;
    check_eq!(poll1(&l, ev, 0), Ok(0), "poll after the accept");
    Ok(())
}

fn seqpacket_message_boundaries() -> TestResult {
    ensure_seq_loaded()?;
    let (c, s) = pair()?;
    let msgs: Vec<Vec<u8>> = [1usize, 0, 100, 4000, 7, 65507]
        .iter()
        .enumerate()
        .map(|(i, &n)| payload(n, i as u8))
        .collect();
    for m in &msgs[..5] {
        check_eq!(send(&c, m, 0).map_err(ename), Ok(m.len()), "send");
    }
    for (i, m) in msgs[..5].iter().enumerate() {
        let got = recv(&s, 70000, 0).map_err(ename);
        check_eq!(got, Ok((m.clone(), m.len(), 0)), format!("message {i}"));
    }
    // Both ways, and the largest.
    check_eq!(
        send(&s, &msgs[5], 0).map_err(ename),
        Ok(65507),
        "send 65507 back"
    );
    check_eq!(
        recv(&c, 70000, 0).map_err(ename),
        Ok((msgs[5].clone(), 65507, 0)),
        "the 65507-byte message"
    );
    Ok(())
}

fn seqpacket_short_buffer_msg_trunc() -> TestResult {
    ensure_seq_loaded()?;
    let (c, s) = pair()?;
    let m = payload(100, 3);
    send(&c, &m, 0).map_err(e("send"))?;
    send(&c, b"next", 0).map_err(e("send"))?;
    // The rest of a truncated message is discarded, as AF_UNIX seqpacket.
    check_eq!(
        recv(&s, 10, 0).map_err(ename),
        Ok((m[..10].to_vec(), 10, libc::MSG_TRUNC)),
        "10 bytes of a 100-byte message"
    );
    check_eq!(
        recv(&s, 100, 0).map_err(ename),
        Ok((b"next".to_vec(), 4, 0)),
        "the next message"
    );
    send(&c, &m, 0).map_err(e("send"))?;
    check_eq!(
        recv(&s, 10, libc::MSG_TRUNC).map_err(ename),
        Ok((m[..10].to_vec(), 100, libc::MSG_TRUNC)),
        "recv(MSG_TRUNC) returns the real length"
    );
    Ok(())
}

fn seqpacket_sndbuf_blocks_sender() -> TestResult {
    ensure_seq_loaded()?;
    let (c, s) = pair()?;
    setsockopt_int(&c, libc::SOL_SOCKET, libc::SO_SNDBUF, 8192).map_err(e("SO_SNDBUF"))?;
    let m = payload(1000, 9);
    let mut sent = 0;
    while send(&c, &m, libc::MSG_DONTWAIT) == Ok(1000) {
        sent += 1;
        check!(
            sent < 1000,
            "1000 messages sent without EAGAIN: no flow control"
        );
    }
    check_eq!(
        send(&c, &m, libc::MSG_DONTWAIT).map_err(ename),
        Err(ename(libc::EAGAIN)),
        "MSG_DONTWAIT send to a full peer"
    );
    check!(sent >= 2, "only {sent} messages fit in SO_SNDBUF 16384");
    // A blocking send waits until the peer reads.
    let cs = share(&c);
    let tail = payload(1000, 10);
    let t2 = tail.clone();
    let b = spawn_blocked(move || send(&cs, &t2, 0));
    let blocked = b.blocking();
    for i in 0..sent {
        check_eq!(
            recv(&s, 2000, 0).map_err(ename),
            Ok((m.clone(), 1000, 0)),
            format!("queued message {i}")
        );
    }
    let r = not_timed_out(
        b.join("the peer reading (room in SO_SNDBUF)")?,
        "send-buffer room",
    )?;
    check!(blocked, "send to a full peer did not block");
    check_eq!(r, Ok(1000), "blocked send");
    check_eq!(
        recv(&s, 2000, 0).map_err(ename),
        Ok((tail, 1000, 0)),
        "the blocked sender's message, last"
    );
    Ok(())
}

fn seqpacket_emsgsize_above_max() -> TestResult {
    ensure_seq_loaded()?;
    let (c, s) = pair()?;
    let max = crate::uapi::PFDEMO_MAX_SEQPACKET;
    check_eq!(
        send(&c, &payload(max + 1, 1), 0).map_err(ename),
        Err(ename(libc::EMSGSIZE)),
        "send of PFDEMO_MAX_SEQPACKET + 1 bytes"
    );
    let m = payload(max, 2);
    check_eq!(
        send(&c, &m, 0).map_err(ename),
        Ok(max),
        "send of the maximum"
    );
    check_eq!(
        recv(&s, max + 10, libc::MSG_DONTWAIT).map_err(ename),
        Ok((m, max, 0)),
        "only the maximum arrived"
    );
    Ok(())
}

fn seqpacket_sendmsg_recvmsg_iovecs() -> TestResult {
    ensure_seq_loaded()?;
    let (c, s) = pair()?;
    let parts = [
        payload(10, 1),
        payload(0, 2),
        payload(300, 3),
        payload(5, 4),
    ];
    let mut iov: Vec<libc::iovec> = parts
        .iter()
        .map(|p| libc::iovec {
            iov_base: p.as_ptr() as *mut _,
            iov_len: p.len(),
        })
        .collect();
    // SAFETY: an all-zero msghdr is valid; the iovecs point to live buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = iov.len();
    // SAFETY: `msg` describes valid buffers.
    let n = unsafe { libc::sendmsg(c.as_raw_fd(), &msg, 0) };
    check_eq!(n, 315, "sendmsg of 4 iovecs");
    let whole: Vec<u8> = parts.concat();
    let (mut a, mut b) = (vec![0u8; 100], vec![0u8; 300]);
    let mut riov = [
        libc::iovec {
            iov_base: a.as_mut_ptr().cast(),
            iov_len: a.len(),
        },
        libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        },
    ];
    // SAFETY: as above.
    let mut rmsg: libc::msghdr = unsafe { std::mem::zeroed() };
    rmsg.msg_iov = riov.as_mut_ptr();
    rmsg.msg_iovlen = 2;
    // SAFETY: `rmsg` describes valid buffers.
    let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut rmsg, 0) };
    check_eq!(n, 315, "recvmsg into 2 iovecs (one message)");
    check_eq!(rmsg.msg_flags, 0, "msg_flags");
    let mut got = a.clone();
    got.extend_from_slice(&b[..215]);
    check!(got == whole, "the iovecs' bytes differ from what was sent");
    check_eq!(
        recv(&s, 10, libc::MSG_DONTWAIT).map_err(ename),
        Err(ename(libc::EAGAIN)),
        "nothing more"
    );
    Ok(())
}

fn seqpacket_msg_peek() -> TestResult {
    ensure_seq_loaded()?;
    let (c, s) = pair()?;
    send(&c, b"first", 0).map_err(e("send"))?;
    send(&c, b"second", 0).map_err(e("send"))?;
    check_eq!(
        recv(&s, 64, libc::MSG_PEEK).map_err(ename),
        Ok((b"first".to_vec(), 5, 0)),
        "peek"
    );
    check_eq!(
        recv(&s, 3, libc::MSG_PEEK).map_err(ename),
        Ok((b"fir".to_vec(), 3, libc::MSG_TRUNC)),
        "short peek"
    );
    check_eq!(
        recv(&s, 64, 0).map_err(ename),
        Ok((b"first".to_vec(), 5, 0)),
        "read after peeking"
    );
    check_eq!(
        recv(&s, 64, 0).map_err(ename),
        Ok((b"second".to_vec(), 6, 0)),
        "the second"
    );
    Ok(())
}

fn seqpacket_so_rcvtimeo_so_sndtimeo() -> TestResult {
    ensure_seq_loaded()?;
    let (c, s) = pair()?;
    set_rcvtimeo(&s, 300)?;
    let t0 = Instant::now();
    check_eq!(
        recv(&s, 8, 0).map_err(ename),
        Err(ename(libc::EAGAIN)),
        "recv with SO_RCVTIMEO 300 ms"
    );
    let waited = t0.elapsed();
    check!(
        waited >= Duration::from_millis(250),
        "recv returned after {waited:?}, before its SO_RCVTIMEO"
    );
    setsockopt_int(&c, libc::SOL_SOCKET, libc::SO_SNDBUF, 4096).map_err(e("SO_SNDBUF"))?;
    let m = payload(2000, 1);
    let mut n = 0;
    while send(&c, &m, libc::MSG_DONTWAIT).is_ok() {
        n += 1;
        check!(n < 1000, "no flow control");
    }
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 300_000,
    };
    // SAFETY: `tv` is valid for reads of its size.
    unsafe {
        libc::setsockopt(
            c.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        )
    };
    let t0 = Instant::now();
    check_eq!(
        send(&c, &m, 0).map_err(ename),
        Err(ename(libc::EAGAIN)),
        "send to a full peer with SO_SNDTIMEO 300 ms"
    );
    let waited = t0.elapsed();
    check!(
        waited >= Duration::from_millis(250),
        "send returned after {waited:?}, before its SO_SNDTIMEO"
    );
    Ok(())
}

fn seqpacket_peer_close_drains_then_eof() -> TestResult {
    ensure_seq_loaded()?;
    let (c, s) = pair()?;
    let msgs = [payload(10, 1), payload(2000, 2), payload(1, 3)];
    for m in &msgs {
        send(&c, m, 0).map_err(e("send"))?;
    }
    drop(c);
    for (i, m) in msgs.iter().enumerate() {
        check_eq!(
            recv(&s, 4096, 0).map_err(ename),
            Ok((m.clone(), m.len(), 0)),
            format!("message {i} after the peer closed")
        );
    }
    check_eq!(
        recv(&s, 64, 0).map_err(ename),
        Ok((vec![], 0, 0)),
        "end of file"
    );
    check_eq!(
        recv(&s, 64, 0).map_err(ename),
        Ok((vec![], 0, 0)),
        "end of file again"
    );
    // A reader blocked when the peer closes is woken with end of file.
    blocked_recv_sees_eof("the peer's close", |c| {
        drop(c);
        Ok(())
    })
}

/// Whether `SIGPIPE` is pending for this thread (it is blocked by the caller).
fn sigpipe_pending_take() -> bool {
    // SAFETY: plain signal-set calls on local sets.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut set);
        let pending = libc::sigismember(&set, libc::SIGPIPE) == 1;
        if pending {
            let mut only: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut only);
            libc::sigaddset(&mut only, libc::SIGPIPE);
            let mut sig = 0;
            libc::sigwait(&only, &mut sig);
        }
        pending
    }
}

/// A connected AF_UNIX SOCK_SEQPACKET pair: the control of the tests modelled on it.
pub(crate) fn unix_pair() -> Result<(OwnedFd, OwnedFd), String> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors socketpair writes.
    let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0, fds.as_mut_ptr()) };
    if r != 0 {
        return Err(format!("socketpair(AF_UNIX): {}", ename(errno())));
    }
    // SAFETY: socketpair returned two descriptors the caller now owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Makes a connected pair of sockets.
pub(crate) type MakePair = dyn Fn() -> Result<(OwnedFd, OwnedFd), String>;

fn seqpacket_send_after_peer_close_epipe_no_sigpipe() -> TestResult {
    ensure_seq_loaded()?;
    // The test runs on a thread of its own with SIGPIPE blocked, to see it pending.
    let h = std::thread::spawn(|| -> TestResult {
        // SAFETY: blocks SIGPIPE for this thread only.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGPIPE);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        // AF_UNIX SOCK_SEQPACKET first (the control): unix_dgram_sendmsg answers EPIPE and
        // never raises SIGPIPE, with or without MSG_NOSIGNAL; then family 18 the same way.
        let pairs: [(&str, &MakePair); 2] = [("AF_UNIX", &unix_pair), ("family 18", &pair)];
        for (name, mk) in pairs {
            let (c, s) = mk()?;
            drop(s);
            check!(
                !sigpipe_pending_take(),
                "{name}: SIGPIPE pending before the send"
            );
            for (flags, how) in [(libc::MSG_NOSIGNAL, "MSG_NOSIGNAL"), (0, "no flags")] {
                check_eq!(
                    send(&c, b"x", flags).map_err(ename),
                    Err(ename(libc::EPIPE)),
                    format!("{name}: send ({how}) after the peer closed")
                );
                check!(
                    !sigpipe_pending_take(),
                    "{name}: SIGPIPE raised by send ({how}) after the peer closed"
                );
            }
            // Our own SHUT_WR too.
            let (c, _s) = mk()?;
            shutdown(&c, libc::SHUT_WR).map_err(e("shutdown"))?;
            check_eq!(
                send(&c, b"x", 0).map_err(ename),
                Err(ename(libc::EPIPE)),
                format!("{name}: send after SHUT_WR")
            );
            check!(
                !sigpipe_pending_take(),
                "{name}: SIGPIPE raised by send after SHUT_WR"
            );
        }
        Ok(())
    });
    h.join().map_err(|_| "test thread panicked".to_string())?
}

fn seqpacket_msg_errqueue_reads_normal_queue() -> TestResult {
    ensure_seq_loaded()?;
    // AF_UNIX first (the control): __unix_dgram_recvmsg refuses only MSG_OOB, so MSG_ERRQUEUE
    // reads the next message of the normal queue (there is no error queue); then family 18.
    let pairs: [(&str, &MakePair); 2] = [("AF_UNIX", &unix_pair), ("family 18", &pair)];
    for (name, mk) in pairs {
        let (c, s) = mk()?;
        check_eq!(
            recv(&s, 64, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT).map_err(ename),
            Err(ename(libc::EAGAIN)),
            format!("{name}: recv(MSG_ERRQUEUE) on an empty queue")
        );
        send(&c, b"normal", 0).map_err(e("send"))?;
        check_eq!(
            recv(&s, 64, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT).map_err(ename),
            Ok((b"normal".to_vec(), 6, 0)),
            format!("{name}: recv(MSG_ERRQUEUE) with a message queued")
        );
        check_eq!(
            recv(&s, 64, libc::MSG_OOB | libc::MSG_DONTWAIT).map_err(ename),
            Err(ename(libc::EOPNOTSUPP)),
            format!("{name}: recv(MSG_OOB)")
        );
    }
    Ok(())
}

/// How a scenario of `seqpacket_nonblocking_read_sees_eof` shuts the reader's receiving side.
type Shut = fn(OwnedFd, &OwnedFd) -> Result<Option<OwnedFd>, String>;

fn seqpacket_nonblocking_read_sees_eof() -> TestResult {
    ensure_seq_loaded()?;
    // AF_UNIX first (the control): __unix_dgram_recvmsg turns EAGAIN into end of file on a
    // SOCK_SEQPACKET socket shut for receiving; then family 18 the same way. Each scenario
    // returns the writer if it is kept open.
    let shuts: [(&str, Shut); 3] = [
        ("the peer's close", |w, _| {
            drop(w);
            Ok(None)
        }),
        ("the peer's SHUT_WR", |w, _| {
            shutdown(&w, libc::SHUT_WR).map_err(e("shutdown(SHUT_WR)"))?;
            Ok(Some(w))
        }),
        ("our own SHUT_RD", |w, r| {
            shutdown(r, libc::SHUT_RD).map_err(e("shutdown(SHUT_RD)"))?;
            Ok(Some(w))
        }),
    ];
    let pairs: [(&str, &MakePair); 2] = [("AF_UNIX", &unix_pair), ("family 18", &pair)];
    for (name, mk) in pairs {
        for (what, shut) in shuts {
            let (w, r) = mk()?;
            // Edge-triggered epoll registered before the event, as tokio or Go's netpoller do.
            let ep = epoll_on(&r, libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET, 1)?;
            check_eq!(
                recv(&r, 64, libc::MSG_DONTWAIT).map_err(ename),
                Err(ename(libc::EAGAIN)),
                format!("{name}: recv(MSG_DONTWAIT) before {what}")
            );
            let _w = shut(w, &r)?;
            let mut out = [libc::epoll_event { events: 0, u64: 0 }; 1];
            // The watchdog: a lost edge fails here within 2 s, naming what it waited for.
            // SAFETY: `out` is valid for 1 event.
            let n = unsafe { libc::epoll_wait(ep.as_raw_fd(), out.as_mut_ptr(), 1, 2000) };
            check_eq!(
                n,
                1,
                format!("{name}: EPOLLET event after {what} (2 s watchdog)")
            );
            check_eq!(
                recv(&r, 64, libc::MSG_DONTWAIT).map_err(ename),
                Ok((vec![], 0, 0)),
                format!("{name}: recv(MSG_DONTWAIT) after {what}")
            );
            // read() on an O_NONBLOCK socket.
            // SAFETY: fcntl on a descriptor we own.
            let fl = unsafe { libc::fcntl(r.as_raw_fd(), libc::F_GETFL) };
            // SAFETY: as above.
            let rc = unsafe { libc::fcntl(r.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK) };
            check!(rc == 0, "fcntl(O_NONBLOCK): {}", ename(errno()));
            let mut buf = [0u8; 64];
            // SAFETY: `buf` is valid for its length.
            let got = unsafe { libc::read(r.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            let got = if got < 0 {
                Err(ename(errno()))
            } else {
                Ok(got)
            };
            check_eq!(
                got,
                Ok(0),
                format!("{name}: read() on O_NONBLOCK after {what}")
            );
        }
    }
    Ok(())
}

fn seqpacket_close_one_unread_resets_once() -> TestResult {
    ensure_seq_loaded()?;
    // AF_UNIX first (the control): unix_release_sock sets ECONNRESET on the peer when one
    // message (not an empty one) is left unread; the peer's calls report it once, then the
    // shut connection's own answers follow. Family 18 must answer the same sequence.
    let pairs: [(&str, &MakePair); 2] = [("AF_UNIX", &unix_pair), ("family 18", &pair)];
    let mut control = None;
    for (name, mk) in pairs {
        let (c, s) = mk()?;
        send(&c, b"unread", 0).map_err(e("send"))?;
        drop(s);
        let seq: Vec<Result<usize, String>> = vec![
            send(&c, b"x", libc::MSG_NOSIGNAL).map_err(ename),
            send(&c, b"x", libc::MSG_NOSIGNAL).map_err(ename),
            recv(&c, 64, libc::MSG_DONTWAIT).map(|r| r.1).map_err(ename),
        ];
        let resets = seq
            .iter()
            .filter(|r| **r == Err(ename(libc::ECONNRESET)))
            .count();
        check_eq!(
            resets,
            1,
            format!("{name}: ECONNRESET reports after the peer closed with one unread message ({seq:?})")
        );
        match &control {
            None => control = Some(seq),
            Some(unix) => check_eq!(seq, *unix, format!("{name}: the sequence AF_UNIX answers")),
        }
    }
    Ok(())
}

fn seqpacket_shutdown_wr_is_peer_eof() -> TestResult {
    ensure_seq_loaded()?;
    let (c, s) = pair()?;
    send(&c, b"last", 0).map_err(e("send"))?;
    shutdown(&c, libc::SHUT_WR).map_err(e("shutdown(SHUT_WR)"))?;
    check_eq!(
        recv(&s, 64, 0).map_err(ename),
        Ok((b"last".to_vec(), 4, 0)),
        "the message sent before SHUT_WR"
    );
    check_eq!(
        recv(&s, 64, 0).map_err(ename),
        Ok((vec![], 0, 0)),
        "then end of file"
    );
    // The other direction still works.
    send(&s, b"reply", 0).map_err(e("send back"))?;
    check_eq!(
        recv(&c, 64, 0).map_err(ename),
        Ok((b"reply".to_vec(), 5, 0)),
        "the reply after SHUT_WR"
    );
    // A blocked reader is woken by the peer's SHUT_WR.
    blocked_recv_sees_eof("the peer's SHUT_WR", |c| {
        shutdown(&c, libc::SHUT_WR).map_err(e("shutdown"))
    })
}

fn seqpacket_poll_hup_rdhup() -> TestResult {
    ensure_seq_loaded()?;
    let all = libc::POLLIN | libc::POLLOUT | libc::POLLRDHUP;
    let (c, s) = pair()?;
    check_eq!(poll1(&s, all, 0), Ok(libc::POLLOUT), "connected, idle");
    send(&c, b"x", 0).map_err(e("send"))?;
    check_eq!(
        poll1(&s, all, 0),
        Ok(libc::POLLIN | libc::POLLOUT),
        "a message queued"
    );
    shutdown(&c, libc::SHUT_WR).map_err(e("shutdown"))?;
    check_eq!(
        poll1(&s, all, 0),
        Ok(libc::POLLIN | libc::POLLOUT | libc::POLLRDHUP),
        "after the peer's SHUT_WR"
    );
    drop(c);
    check_eq!(
        poll1(&s, all, 0),
        Ok(libc::POLLIN | libc::POLLOUT | libc::POLLRDHUP | libc::POLLHUP),
        "after the peer's close"
    );
    // A blocked poll is woken by the close (well before its timeout, see
    // seqpacket_poll_listener_pending).
    let (c, s) = pair()?;
    let b = spawn_blocked_poll(&s, libc::POLLIN | libc::POLLRDHUP);
    drop(c);
    let r = join_woken_poll(b, "the peer's close")?;
    check_eq!(
        r,
        Ok(libc::POLLIN | libc::POLLRDHUP | libc::POLLHUP),
        "blocked poll after the peer's close"
    );
    Ok(())
}

fn seqpacket_listener_close_resets_pending() -> TestResult {
    ensure_seq_loaded()?;
    let base = sockets_used()?;
    let slab0 = slab_kb()?;
    let (l, port) = listener(0, 8)?;
    let c1 = seq_socket()?;
    connect(&c1, port).map_err(e("connect 1"))?;
    let c2 = seq_socket()?;
    connect(&c2, port).map_err(e("connect 2"))?;
    send(&c2, b"never read", 0).map_err(e("send to the pending connection"))?;
    let (a, _) = accept4(&l, 0).map_err(e("accept the first"))?;
    check_refs(
        Some(9),
        Some(1),
        "listener, 2 clients, one accepted, one pending",
    )?;
    // A reader blocked on the pending connection is woken by the reset.
    let c2s = share(&c2);
    let b = spawn_blocked(move || recv(&c2s, 64, 0));
    drop(l);
    let r = not_timed_out(b.join("the listener's close")?, "the reset")?;
    check_eq!(
        r.map(|r| r.1),
        Err(ename(libc::ECONNRESET)),
        "the unaccepted client's blocked recv"
    );
    check_eq!(
        recv(&c2, 64, 0).map_err(ename),
        Ok((vec![], 0, 0)),
        "then end of file"
    );
    check_eq!(
        send(&c2, b"x", libc::MSG_NOSIGNAL).map_err(ename),
        Err(ename(libc::EPIPE)),
        "send on the reset connection"
    );
    // The accepted connection is not affected.
    send(&c1, b"alive", 0).map_err(e("send on the accepted connection"))?;
    check_eq!(
        recv(&a, 64, 0).map_err(ename),
        Ok((b"alive".to_vec(), 5, 0)),
        "the accepted connection after the listener closed"
    );
    check_refs(
        Some(6),
        Some(1),
        "after the listener closed (the pending child freed)",
    )?;
    drop((c1, c2, a));
    check_refs(Some(0), Some(1), "all closed")?;
    check_eq!(sockets_used()?, base, "sockets used");
    // 4 MB of slack as the stress tests (`stress::Baseline`), plus KASAN's quarantine.
    let slack = 4096
        + if crate::stress::kasan() {
            mem_total_kb()? / 32
        } else {
            0
        };
    let slab1 = slab_kb()?;
    check!(
        slab1 <= slab0 + slack,
        "Slab grew from {slab0} kB to {slab1} kB (slack {slack} kB)"
    );
    // Many pending connections, each with queued data, reset at once.
    let (l, port) = listener(0, 200)?;
    let mut clients = Vec::new();
    for _ in 0..100 {
        let c = seq_socket()?;
        connect(&c, port).map_err(e("connect"))?;
        send(&c, &payload(500, 1), 0).map_err(e("send"))?;
        clients.push(c);
    }
    check_refs(Some(302), Some(1), "100 pending connections")?;
    drop(l);
    check_refs(Some(200), Some(1), "the listener closed")?;
    for c in &clients {
        check_eq!(
            recv(c, 8, libc::MSG_DONTWAIT).map(|r| r.1).map_err(ename),
            Err(ename(libc::ECONNRESET)),
            "a reset client"
        );
    }
    drop(clients);
    check_refs(Some(0), Some(1), "all closed")?;
    check_eq!(sockets_used()?, base, "sockets used at the end");
    rmmod_named(SEQPACKET_MODULE).map_err(e("rmmod (its slab must be empty)"))?;
    Ok(())
}

fn seqpacket_netns_no_crossing() -> TestResult {
    ensure_seq_loaded()?;
    let (_l, _) = listener(7100, 4)?;
    let code = in_child(|| {
        // SAFETY: plain syscall in the single-threaded child.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return 30;
        }
        let Ok(c) = socket(PF_DEMO, libc::SOCK_SEQPACKET, 0) else {
            return 31;
        };
        // The listener of the other namespace is not reachable...
        if connect(&c, 7100) != Err(libc::ECONNREFUSED) {
            return 32;
        }
        // ...and the port is free here.
        let Ok(l) = socket(PF_DEMO, libc::SOCK_SEQPACKET, 0) else {
            return 33;
        };
        if bind(&l, 7100).is_err() || listen(&l, 1).is_err() {
            return 34;
        }
        if connect(&c, 7100).is_err() {
            return 35;
        }
        let Ok((s, _)) = accept4(&l, libc::SOCK_NONBLOCK) else {
            return 36;
        };
        if send(&c, b"ns", 0) != Ok(2) {
            return 37;
        }
        match recv(&s, 8, libc::MSG_DONTWAIT) {
            Ok((m, 2, 0)) if m == b"ns" => {}
            _ => return 38,
        }
        let proc = std::fs::read_to_string(PROC_NET).unwrap_or_default();
        if proc.lines().filter(|l| l.contains(" 7100 ")).count() != 3 {
            return 39;
        }
        0
    })?;
    skip_without_netns(code)?;
    check_eq!(
        code,
        0,
        "child status (32: reached the other namespace's listener, 33-38 own namespace, 39 its /proc/net)"
    );
    // The child's namespace's sockets are gone; ours still accept.
    let c = seq_socket()?;
    connect(&c, 7100).map_err(e("connect in the first namespace"))?;
    Ok(())
}

fn seqpacket_proc_net_lists_sockets() -> TestResult {
    ensure_seq_loaded()?;
    let (l, port) = listener(0, 5)?;
    let c = seq_socket()?;
    connect(&c, port).map_err(e("connect"))?;
    let c2 = seq_socket()?;
    connect(&c2, port).map_err(e("connect 2"))?;
    let (s, _) = accept4(&l, 0).map_err(e("accept"))?;
    send(&c, &payload(100, 1), 0).map_err(e("send"))?;
    send(&c, &payload(100, 2), 0).map_err(e("send"))?;
    let (cname, _) = getsockname(&c).map_err(e("getsockname"))?;
    let proc = std::fs::read_to_string(PROC_NET).map_err(|e| format!("{PROC_NET}: {e}"))?;
    let rows: Vec<Vec<&str>> = proc
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let find = |state: &str, port: u32, peer: u32| {
        rows.iter()
            .find(|r| {
                r.get(1) == Some(&state)
                    && r.get(2) == Some(&port.to_string().as_str())
                    && r.get(3) == Some(&peer.to_string().as_str())
            })
            .cloned()
    };
    for line in proc.lines() {
        println!("# seqpacket_proc_net_lists_sockets: {line}");
    }
    let msg = format!("{PROC_NET}:\n{proc}");
    let lrow = find("LISTEN", port, 0).ok_or(format!("no listener row; {msg}"))?;
    check_eq!(
        (lrow[6], lrow[7]),
        ("1", "5"),
        format!("listener backlog; {msg}")
    );
    let srow = find("ESTABLISHED", port, cname.port).ok_or(format!("no accepted row; {msg}"))?;
    check_eq!(srow[4], "2", format!("accepted socket's rx_msgs; {msg}"));
    let crow = find("ESTABLISHED", cname.port, port).ok_or(format!("no client row; {msg}"))?;
    check!(
        crow[5].parse::<u64>().unwrap_or(0) >= 200,
        "client's tx_bytes {} below the 200 bytes queued; {msg}",
        crow[5]
    );
    let ino = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(format!("/proc/self/fd/{}", s.as_raw_fd()))
            .map(|m| m.ino())
            .unwrap_or(0)
    };
    check_eq!(
        srow[8].to_string(),
        ino.to_string(),
        format!("accepted socket's inode; {msg}")
    );
    check!(
        proc.starts_with("module: connections "),
        "no module line; {msg}"
    );
    drop((l, c, c2, s));
    let proc = std::fs::read_to_string(PROC_NET).map_err(|e| format!("{PROC_NET}: {e}"))?;
    check_eq!(proc.lines().count(), 2, format!("rows after close: {proc}"));
    Ok(())
}
