// SPDX-License-Identifier: GPL-2.0

//! rust_pf_demo: a socket protocol family written in Rust.
//!
//! `socket(PF_DEMO, SOCK_DGRAM, 0)` goes through the kernel's `__sock_create()`: with the module
//! not loaded, `request_module("net-pf-18")` loads it through the alias below; then the module
//! reference for `create`, the family's `create` (the checks in `DemoDgram::check_create`),
//! the module reference held by the socket's `proto_ops` for the socket's life, and the file
//! descriptor. This file holds only the family's behaviour; the plumbing is in `pf/`.
//!
//! The protocol: connectionless datagrams between ports of one network namespace.
//! - `bind()` to a port (0: a free one from [`PFDEMO_EPHEMERAL_PORTS`]); ports below 1024 need
//!   `CAP_NET_BIND_SERVICE`; a port is one socket's (`EADDRINUSE`). Sending or connecting while
//!   unbound binds to a free port first, as UDP does.
//! - `sendto()` delivers to the socket bound to the destination port in the sender's namespace,
//!   or fails with `ECONNREFUSED` when there is none; a full receiver drops the datagram and
//!   counts it, as UDP does. `connect()` sets a default destination (it does not check that
//!   anyone listens: that is found out when sending).
//!   Control messages are refused (`EINVAL`): the protocol carries none. An automatic bind
//!   with every ephemeral port taken fails with `EAGAIN` (`bind()` to 0: `EADDRINUSE`), and
//!   `connect(AF_UNSPEC)` gives back a port `bind()` did not choose, as UDP.
//! - `recvfrom()` gives the sender's address; `MSG_PEEK`, `MSG_TRUNC`, `MSG_DONTWAIT`,
//!   `SO_RCVTIMEO` and signals behave as for UDP (the socket core's datagram helpers); receive
//!   time stamps are the time of queueing (pf/).
//! - `shutdown()` wakes blocked readers, which then read 0 bytes (end of file).
//! - Ports and traffic counts are per network namespace (`NetPorts`, the family's
//!   `Protocol::NetData`): nothing is shared between namespaces, and a send's lookup takes one
//!   bucket's spinlock.
//! - `/proc/net/rust_pf_demo`, in every network namespace: sockets created by the module and
//!   datagrams sent/delivered/dropped by this namespace's sockets, then one line per bound
//!   socket of that namespace (port, peer, bytes queued, drops, inode).

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use kernel::{
    c_str,
    init::pin_init_array_from_fn,
    new_mutex, new_spinlock,
    prelude::*,
    rbtree::{RBTree, RBTreeNodeReservation},
    sync::{Mutex, SpinLock},
    types::ARef,
};

pub mod pf;
#[path = "uapi/pfdemo.rs"]
pub mod uapi;

use pf::code::{EADDRINUSE, ECONNREFUSED, EDESTADDRREQ, EMSGSIZE, ENOTCONN, EOPNOTSUPP};
use pf::{
    Capability, ConnectTarget, Family, HeldSock, Msg, MsgFlags, NoAddress, Protocol, SeqFile,
    Shutdown, ShutdownSet, Sock, SockType,
};
use uapi::*;

/// The family number: 18, `AF_ASH` in `<linux/socket.h>`.
///
/// 18 is a number no Linux 6.12 code registers (nothing calls `sock_register()` with it, see
/// `git grep sock_register net drivers`), reserved since 2.x for a protocol that was never
/// merged. That keeps it free on any 6.12 kernel, with `net-pf-18` unclaimed by in-tree modules,
/// while staying below `AF_MAX` (46), which `__sock_create()` requires. The numbers of removed
/// families (DECnet, IrDA, ECONET) are avoided: old userspace may still guess at them.
const _: () = assert!(PF_DEMO == 18 && (PF_DEMO as u32) < pf::AF_MAX);

/// The datagram protocol: connectionless datagrams between ports (SOCK_DGRAM, protocol
/// [`PFDEMO_PROTO_DGRAM`], the type's default).
struct DemoDgram;

/// The buckets of a namespace's port table (a power of two).
const BUCKETS: usize = 128;

/// One bucket of a port table: the bound sockets whose port hashes to it, by port.
type Bucket = SpinLock<RBTree<u32, ARef<HeldSock<DemoDgram>>>>;

/// A network namespace's bound sockets and the traffic of its closed ones.
///
/// The table is split into [`BUCKETS`] buckets by port, each under its own spinlock, held only
/// for a lookup, an insertion of a node allocated beforehand, or a removal: no sleeping lock is
/// shared by the send path (a lookup) and `bind`/`close`/`/proc`, and nothing is shared between
/// namespaces. A port is unique because it is checked and inserted under its bucket's lock.
#[pin_data]
struct NetPorts {
    #[pin]
    buckets: [Bucket; BUCKETS],
    /// The traffic of this namespace's sockets that gave up their ports.
    retired: Traffic,
}

impl NetPorts {
    fn bucket(&self, port: u32) -> &Bucket {
        &self.buckets[port as usize % BUCKETS]
    }

    /// The socket bound to `port`.
    fn get(&self, port: u32) -> Option<ARef<HeldSock<DemoDgram>>> {
        self.bucket(port).lock().get(&port).cloned()
    }

    /// Binds `sock` to `port` if it is free, with a node allocated beforehand.
    fn insert_if_free(
        &self,
        port: u32,
        sock: &Sock<DemoDgram>,
        node: RBTreeNodeReservation<u32, ARef<HeldSock<DemoDgram>>>,
    ) -> core::result::Result<(), RBTreeNodeReservation<u32, ARef<HeldSock<DemoDgram>>>> {
        let mut bucket = self.bucket(port).lock();
        if bucket.get(&port).is_some() {
            return Err(node);
        }
        bucket.insert(node.into_node(port, sock.hold()));
        Ok(())
    }

    /// Unbinds `port`; the table's reference is returned, to be dropped outside the lock.
    fn remove(&self, port: u32) -> Option<ARef<HeldSock<DemoDgram>>> {
        self.bucket(port).lock().remove(&port)
    }
}

/// What all sockets of the family share.
struct Shared {
    stats: Stats,
}

/// Counters of the module's life: sockets created. (Traffic is counted by each bound socket and
/// folded into its namespace's [`NetPorts::retired`] when it gives up its port: the hot path
/// touches no shared counter.)
#[derive(Default)]
struct Stats {
    sockets: AtomicU64,
}

/// Datagrams sent by a socket: each is either delivered to the receiver's queue or dropped
/// (full or shut receiver), so "sent" is their sum: one counter update per datagram.
#[derive(Default)]
struct Traffic {
    delivered: AtomicU64,
    dropped: AtomicU64,
}

impl Traffic {
    fn add_to(&self, total: &mut [u64; 2]) {
        total[0] += self.delivered.load(Relaxed);
        total[1] += self.dropped.load(Relaxed);
    }

    /// Moves these counts into `retired` (when the socket gives up its port).
    fn retire_into(&self, retired: &Traffic) {
        let delivered = self.delivered.swap(0, Relaxed);
        retired.delivered.fetch_add(delivered, Relaxed);
        retired
            .dropped
            .fetch_add(self.dropped.swap(0, Relaxed), Relaxed);
    }
}

/// One socket's state. A port is only set (from 0) or given up with `bind_lock` held.
#[pin_data]
struct DemoSock {
    /// Serialises this socket's binding and unbinding (`bind`, automatic bind, `AF_UNSPEC`,
    /// release): a socket gets one port. Taken before a bucket lock, never the other way.
    #[pin]
    bind_lock: Mutex<()>,
    /// Bound port, 0 while unbound.
    port: AtomicU32,
    /// Whether `bind()` chose the port (a non-zero one): `connect(AF_UNSPEC)` keeps such a
    /// port and gives back one that was picked automatically, as UDP (`SOCK_BINDPORT_LOCK`).
    port_locked: AtomicBool,
    /// Default destination set by `connect()`, 0 if none.
    peer: AtomicU32,
    /// The socket last found bound to `peer`: connected sends skip the port map while it is
    /// still bound there (as UDP caches its route, AF_UNIX its peer). Cleared on release.
    #[pin]
    peer_sock: SpinLock<Option<ARef<HeldSock<DemoDgram>>>>,
    /// What this socket sent (only counted while it is bound, which sending implies).
    traffic: Traffic,
}

/// The socket bound to `port` in `sock`'s namespace.
fn lookup(sock: &Sock<DemoDgram>, port: u32) -> Result<ARef<HeldSock<DemoDgram>>> {
    sock.net_data().get(port).ok_or(ECONNREFUSED)
}

/// The socket a connected `sock` sends to: the cached one if still bound to `peer`. A failed
/// lookup empties the cache, so that a closed peer's sock (and the module reference it holds) is
/// not kept until the next connect or close.
fn peer_target(sock: &Sock<DemoDgram>, peer: u32) -> Result<ARef<HeldSock<DemoDgram>>> {
    let cached = sock.data().peer_sock.lock().clone();
    if let Some(target) = cached {
        if target.data().port.load(Relaxed) == peer {
            return Ok(target);
        }
    }
    let found = lookup(sock, peer);
    set_peer_sock(sock, found.as_ref().ok().cloned());
    found
}

/// Replaces the cached peer sock; the old one is dropped outside the lock, as it may be the
/// last reference.
fn set_peer_sock(sock: &Sock<DemoDgram>, new: Option<ARef<HeldSock<DemoDgram>>>) {
    let old = core::mem::replace(&mut *sock.data().peer_sock.lock(), new);
    drop(old);
}

/// `SIOCINQ`, alias `FIONREAD` (`<asm-generic/ioctls.h>`; bindgen cannot see the `_IO` macro
/// values).
const SIOCINQ: u32 = 0x541b;

/// The family's address, `struct sockaddr_pfdemo`: pf/ checks its length and family.
impl pf::Address for SockaddrPfdemo {
    const FAMILY: u16 = PF_DEMO;
    const LEN: usize = SOCKADDR_PFDEMO_LEN;

    fn decode(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes(bytes).ok_or(EINVAL)
    }

    fn encode(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_bytes());
    }
}

/// What each datagram carries beside its payload: the sender's port.
#[derive(Clone, Copy, Default)]
struct DgramCb {
    src_port: u32,
}

/// How a port is being bound: by `bind()` or automatically (send, connect), which differ in the
/// error for an exhausted ephemeral range, as in UDP: `bind()` to port 0 gets `EADDRINUSE`
/// (`inet_bind`), an automatic bind `EAGAIN` (`inet_autobind`).
#[derive(Clone, Copy, PartialEq)]
enum BindBy {
    User,
    Auto,
}

/// Binds the unbound `sock` to `port` (0: a free ephemeral one, from a random start) in its
/// namespace; returns the port. The caller holds `bind_lock`.
fn bind_locked(sock: &Sock<DemoDgram>, port: u32, by: BindBy) -> Result<u32> {
    if sock.data().port.load(Relaxed) != 0 {
        return Err(EINVAL);
    }
    if port != 0 && port < PFDEMO_PROT_PORT_END && !sock.net_capable(Capability::NetBindService) {
        return Err(EACCES);
    }
    let locked = by == BindBy::User && port != 0;
    let table = sock.net_data();
    let mut node = RBTreeNodeReservation::new(GFP_KERNEL)?;
    let port = if port == 0 {
        let range = PFDEMO_EPHEMERAL_PORTS;
        let span = range.end - range.start;
        let start = pf::random_below(span);
        let mut found = None;
        for i in 0..span {
            let candidate = range.start + (start + i) % span;
            match table.insert_if_free(candidate, sock, node) {
                Ok(()) => {
                    found = Some(candidate);
                    break;
                }
                Err(back) => node = back,
            }
        }
        match (found, by) {
            (Some(port), _) => port,
            (None, BindBy::User) => return Err(EADDRINUSE),
            (None, BindBy::Auto) => return Err(EAGAIN),
        }
    } else {
        table
            .insert_if_free(port, sock, node)
            .map_err(|_| EADDRINUSE)?;
        port
    };
    sock.data().port_locked.store(locked, Relaxed);
    sock.data().port.store(port, Relaxed);
    Ok(port)
}

/// Gives up `sock`'s port (its traffic counts go to its namespace's); the table's reference is
/// returned, to be dropped by the caller. The caller holds `bind_lock`.
fn unbind_locked(sock: &Sock<DemoDgram>) -> Option<ARef<HeldSock<DemoDgram>>> {
    let port = sock.data().port.load(Relaxed);
    if port == 0 {
        return None;
    }
    let table = sock.net_data();
    let removed = table.remove(port);
    sock.data().traffic.retire_into(&table.retired);
    sock.data().port.store(0, Relaxed);
    sock.data().port_locked.store(false, Relaxed);
    removed
}

/// The socket's port, binding it to a free one first if it has none.
fn autobind(sock: &Sock<DemoDgram>) -> Result<u32> {
    match sock.data().port.load(Relaxed) {
        0 => {
            let _guard = sock.data().bind_lock.lock();
            match sock.data().port.load(Relaxed) {
                0 => bind_locked(sock, 0, BindBy::Auto),
                port => Ok(port),
            }
        }
        port => Ok(port),
    }
}

#[vtable]
impl Protocol for DemoDgram {
    const FAMILY: u16 = PF_DEMO;
    const TYPE: SockType = SockType::DGRAM;
    const PROTOCOL: i32 = PFDEMO_PROTO_DGRAM;
    const NAME: &'static CStr = c_str!("RUST_PF_DEMO");
    const PROC_NET: Option<&'static CStr> = Some(c_str!("rust_pf_demo"));
    type Shared = Shared;
    type Data = DemoSock;
    type NetData = NetPorts;
    type Address = SockaddrPfdemo;
    type Cb = DgramCb;

    fn shared() -> impl PinInit<Shared, Error> {
        Shared {
            stats: Stats::default(),
        }
    }

    fn new_net(_shared: &Shared) -> impl PinInit<NetPorts, Error> {
        try_pin_init!(NetPorts {
            buckets <- pin_init_array_from_fn(|_| {
                new_spinlock!(RBTree::new(), "rust_pf_demo::NetPorts::buckets")
            }),
            retired: Traffic::default(),
        })
    }

    fn new_data(shared: &Shared) -> impl PinInit<DemoSock, Error> {
        shared.stats.sockets.fetch_add(1, Relaxed);
        try_pin_init!(DemoSock {
            bind_lock <- new_mutex!((), "rust_pf_demo::DemoSock::bind_lock"),
            port: AtomicU32::new(0),
            port_locked: AtomicBool::new(false),
            peer: AtomicU32::new(0),
            peer_sock <- new_spinlock!(None, "rust_pf_demo::peer_sock"),
            traffic: Traffic::default(),
        })
    }

    fn release(sock: &Sock<Self>) {
        // pf/ has marked the sock shut in both directions already: a sender that found it
        // before the port map lost it drops its datagram and counts a drop.
        if sock.data().port.load(Relaxed) != 0 {
            let guard = sock.data().bind_lock.lock();
            let removed = unbind_locked(sock);
            drop(guard);
            drop(removed);
        }
        set_peer_sock(sock, None);
    }

    fn bind(sock: &Sock<Self>, addr: &SockaddrPfdemo) -> Result {
        let _guard = sock.data().bind_lock.lock();
        bind_locked(sock, addr.port, BindBy::User).map(drop)
    }

    fn connect(
        sock: &Sock<Self>,
        target: ConnectTarget<SockaddrPfdemo>,
        _nonblock: bool,
    ) -> Result {
        // `AF_UNSPEC` dissolves the association and, as UDP's `__udp_disconnect()`, gives back
        // a port that `bind()` did not choose (one bound automatically or by `bind()` to 0).
        let ConnectTarget::Addr(addr) = target else {
            sock.data().peer.store(0, Relaxed);
            set_peer_sock(sock, None);
            if sock.data().port.load(Relaxed) != 0 && !sock.data().port_locked.load(Relaxed) {
                let guard = sock.data().bind_lock.lock();
                // Checked again under the lock: a concurrent `bind()` may have locked it.
                let removed = if sock.data().port_locked.load(Relaxed) {
                    None
                } else {
                    unbind_locked(sock)
                };
                drop(guard);
                drop(removed);
            }
            return Ok(());
        };
        if addr.port == 0 {
            return Err(EINVAL);
        }
        autobind(sock)?;
        sock.data().peer.store(addr.port, Relaxed);
        set_peer_sock(sock, None);
        Ok(())
    }

    fn getname(sock: &Sock<Self>, peer: bool) -> Result<SockaddrPfdemo> {
        let port = if peer {
            match sock.data().peer.load(Relaxed) {
                0 => return Err(ENOTCONN),
                port => port,
            }
        } else {
            sock.data().port.load(Relaxed)
        };
        Ok(SockaddrPfdemo::new(port))
    }

    fn sendmsg(sock: &Sock<Self>, msg: &mut Msg<SockaddrPfdemo>) -> Result<usize> {
        let flags = msg.flags();
        if flags.contains(MsgFlags::OOB) {
            return Err(EOPNOTSUPP);
        }
        // The protocol carries no control data: descriptors (`SCM_RIGHTS`), credentials or
        // any other control message would be lost, so it is refused (UDP's `__sock_cmsg_send`
        // refuses unknown SOL_SOCKET types the same way; it ignores `SCM_RIGHTS`).
        if msg.has_control() {
            return Err(EINVAL);
        }
        if sock.shutdown_mask().contains(ShutdownSet::SEND) {
            return Err(EPIPE);
        }
        let len = msg.data_left();
        if len > PFDEMO_MAX_DGRAM {
            return Err(EMSGSIZE);
        }
        let target = match msg.dest()? {
            Some(dest) => {
                autobind(sock)?;
                lookup(sock, dest.port)?
            }
            None => match sock.data().peer.load(Relaxed) {
                0 => return Err(EDESTADDRREQ),
                // A connected socket is bound already.
                peer => peer_target(sock, peer)?,
            },
        };
        let src = sock.data().port.load(Relaxed);

        let mut skb = sock.alloc_send(len, flags.contains(MsgFlags::DONTWAIT))?;
        skb.fill_from_msg(msg)?;
        skb.cb_mut().src_port = src;
        let traffic = &sock.data().traffic;
        let shut = target.shutdown_mask().contains(ShutdownSet::RCV);
        if !shut && target.queue_rcv(skb).is_ok() {
            traffic.delivered.fetch_add(1, Relaxed);
        } else {
            // A full or closed receiver loses the datagram, as with UDP.
            traffic.dropped.fetch_add(1, Relaxed);
        }
        Ok(len)
    }

    fn recvmsg(
        sock: &Sock<Self>,
        msg: &mut Msg<SockaddrPfdemo>,
        len: usize,
        flags: MsgFlags,
    ) -> Result<usize> {
        if flags.intersects(MsgFlags::OOB | MsgFlags::ERRQUEUE) {
            return Err(EOPNOTSUPP);
        }
        let Some(dgram) = sock.recv_datagram(flags)? else {
            return Ok(0);
        };
        let copied = len.min(dgram.len());
        dgram.copy_to_msg(msg, copied)?;
        if copied < dgram.len() {
            msg.add_flags(MsgFlags::TRUNC);
        }
        dgram.recv_cmsgs(msg);
        msg.set_source(&SockaddrPfdemo::new(dgram.cb().src_port));
        Ok(if flags.contains(MsgFlags::TRUNC) {
            dgram.len()
        } else {
            copied
        })
    }

    fn shutdown(sock: &Sock<Self>, how: Shutdown) -> Result {
        sock.set_shutdown(how.into());
        Ok(())
    }

    fn ioctl(sock: &Sock<Self>, cmd: u32) -> Result<Option<i32>> {
        match cmd {
            // The length of the next datagram, as UDP.
            SIOCINQ => {
                let flags = MsgFlags::PEEK | MsgFlags::DONTWAIT;
                match sock.recv_datagram(flags) {
                    Ok(Some(dgram)) => Ok(Some(dgram.len() as i32)),
                    Ok(None) | Err(EAGAIN) => Ok(Some(0)),
                    Err(e) => Err(e),
                }
            }
            _ => Ok(None),
        }
    }

    fn proc_show(shared: &Shared, net: &NetPorts, out: &mut SeqFile) -> Result {
        // This namespace's closed sockets' traffic plus its live sockets': each bucket is locked
        // only while it is read, so senders and binders wait for one bucket at most.
        let mut total = [0u64; 2];
        net.retired.add_to(&mut total);
        for bucket in &net.buckets {
            for sock in bucket.lock().values() {
                sock.data().traffic.add_to(&mut total);
            }
        }
        let head = (|| -> core::fmt::Result {
            writeln!(
                out,
                "module: sockets_created {} datagrams_sent {} delivered {} dropped {}",
                shared.stats.sockets.load(Relaxed),
                total[0] + total[1],
                total[0],
                total[1],
            )?;
            writeln!(
                out,
                "{:>5} {:>5} {:>8} {:>6} {:>8}",
                "port", "peer", "rx_queue", "drops", "inode"
            )
        })();
        head.map_err(|_| ENOMEM)?;
        for bucket in &net.buckets {
            // `SeqFile` only copies into the seq_file buffer (it never sleeps): fine under the
            // bucket's spinlock.
            let bucket = bucket.lock();
            for (port, sock) in bucket.iter() {
                let peer = sock.data().peer.load(Relaxed);
                let (rx, drops, inode) = (sock.rx_queued(), sock.drops(), sock.inode());
                writeln!(out, "{port:>5} {peer:>5} {rx:>8} {drops:>6} {inode:>8}")
                    .map_err(|_| ENOMEM)?;
            }
        }
        Ok(())
    }
}

/// The raw monitor: `SOCK_RAW`, protocol [`PFDEMO_PROTO_RAW`]; the family's `create` asks for
/// `CAP_NET_RAW` in the socket's network namespace (`EPERM`). It sends nothing (`EOPNOTSUPP`).
struct RawMonitor;

#[vtable]
impl Protocol for RawMonitor {
    const FAMILY: u16 = PF_DEMO;
    const TYPE: SockType = SockType::RAW;
    const PROTOCOL: i32 = PFDEMO_PROTO_RAW;
    const NAME: &'static CStr = c_str!("RUST_PF_DEMO_RAW");
    type Shared = ();
    type Data = ();
    type NetData = ();
    type Address = NoAddress;
    type Cb = ();

    fn shared() -> impl PinInit<(), Error> {}

    fn new_net(_shared: &()) -> impl PinInit<(), Error> {}

    fn new_data(_shared: &()) -> impl PinInit<(), Error> {}
}

/// The family: number 18, its switch holds the protocols below and those of protocol modules.
struct DemoFamily;

impl Family for DemoFamily {
    const FAMILY: u16 = PF_DEMO;
}

module_family! {
    family: DemoFamily,
    protocols: [DemoDgram, RawMonitor],
    name: "rust_pf_demo",
    author: "rust_pf_demo developers",
    description: "A socket protocol family (PF 18) written in Rust",
    license: "GPL",
    alias: ["net-pf-18"],
}
