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
//!
//! The raw monitor (`SOCK_RAW`, `CAP_NET_RAW`, `RawMonitor`): a copy of every datagram
//! delivered in its network namespace, as a [`PfdemoMonitorHdr`] (source and destination port,
//! length) and the payload; `send` is `EOPNOTSUPP`; `/proc/net/rust_pf_demo_raw` lists the
//! namespace's monitors (inode, bytes queued, copies, drops).

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use kernel::{
    c_str, new_mutex, new_spinlock,
    prelude::*,
    rbtree::{RBTree, RBTreeNodeReservation},
    sync::{Mutex, SpinLock},
};

#[path = "uapi/kernel_address.rs"]
mod kernel_address;
pub mod pf;
#[path = "proto/ports.rs"]
mod ports;
#[path = "uapi/pfdemo.rs"]
pub mod uapi;

use pf::code::{EADDRINUSE, ECONNREFUSED, EDESTADDRREQ, EMSGSIZE, ENOTCONN, EOPNOTSUPP};
use pf::compat::*;
use pf::{
    ConnectTarget, Family, HeldSock, Msg, MsgFlags, NoAddress, Protocol, SeqFile, Shutdown,
    ShutdownSet, SkBuff, Sock, SockType,
};
use ports::{check_bind_permission, ephemeral_ports, BindBy};
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

/// `SIOCINQ`, alias `FIONREAD`, and `SIOCOUTQ`, alias `TIOCOUTQ` (`<asm-generic/ioctls.h>`;
/// bindgen cannot see the `_IO` macro values).
const SIOCINQ: u32 = 0x541b;
const SIOCOUTQ: u32 = 0x5411;

/// What each datagram carries beside its payload: the sender's port.
#[derive(Clone, Copy, Default)]
struct DgramCb {
    src_port: u32,
}

/// Binds the unbound `sock` to `port` (0: a free ephemeral one, from a random start) in its
/// namespace; returns the port. The caller holds `bind_lock`.
fn bind_locked(sock: &Sock<DemoDgram>, port: u32, by: BindBy) -> Result<u32> {
    if sock.data().port.load(Relaxed) != 0 {
        return Err(EINVAL);
    }
    check_bind_permission(sock, port)?;
    let locked = by == BindBy::User && port != 0;
    let table = sock.net_data();
    let mut node = RBTreeNodeReservation::new(GFP_KERNEL)?;
    let port = if port == 0 {
        let mut found = None;
        for candidate in ephemeral_ports() {
            match table.insert_if_free(candidate, sock, node) {
                Ok(()) => {
                    found = Some(candidate);
                    break;
                }
                Err(back) => node = back,
            }
        }
        found.ok_or(by.exhausted())?
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
        value(Shared {
            stats: Stats::default(),
        })
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
        let len = msg.data_left();
        if len > PFDEMO_MAX_DGRAM {
            return Err(EMSGSIZE);
        }
        let dest = msg.dest()?;
        let peer = sock.data().peer.load(Relaxed);
        if dest.is_none() && peer == 0 {
            return Err(EDESTADDRREQ);
        }
        // As UDP: after our SHUT_WR, EPIPE once there is a destination, whatever it is (no
        // ECONNREFUSED for a free port).
        if sock.shutdown_mask().contains(ShutdownSet::SEND) {
            return Err(EPIPE);
        }
        let (target, dst) = match dest {
            Some(dest) => {
                autobind(sock)?;
                (lookup(sock, dest.port)?, dest.port)
            }
            // A connected socket is bound already.
            None => (peer_target(sock, peer)?, peer),
        };
        let src = sock.data().port.load(Relaxed);

        let mut skb = sock
            .alloc_send(len, flags.contains(MsgFlags::DONTWAIT))?
            .fill_from_msg(msg)?;
        skb.cb_mut().src_port = src;
        // The namespace's raw monitors get a copy of what is delivered; with none open this is
        // one atomic load. The copy is taken before queueing (the receiver may free the
        // datagram as soon as it is queued) and handed out once it was.
        let monitors = sock.sibling_net_data::<RawMonitor>();
        let copy = monitors.copy_of(&skb, src, dst);
        let traffic = &sock.data().traffic;
        let shut = target.shutdown_mask().contains(ShutdownSet::RCV);
        if !shut && target.queue_rcv(skb).is_ok() {
            traffic.delivered.fetch_add(1, Relaxed);
            if let Some(copy) = copy {
                monitors.deliver(copy);
            }
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
        msg.set_source(&SockaddrPfdemo::new(dgram.cb().src_port));
        dgram.recv_into(msg, len, flags)
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
            // What the send buffer is charged, as UDP (a datagram is charged to its sender
            // only until it is queued to its receiver).
            SIOCOUTQ => Ok(Some(sock.tx_queued().min(i32::MAX as usize) as i32)),
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
/// `CAP_NET_RAW` in the socket's network namespace (`EPERM`). It receives a copy of every
/// datagram [`DemoDgram`] delivers in its namespace, as a [`PfdemoMonitorHdr`] (source and
/// destination port, payload length) followed by the payload. Copies are clones of the
/// delivered buffer (no copy of the payload), charged to the monitor's receive buffer: a full
/// monitor loses the copy and counts it, the sender never waits for a monitor. It sends nothing
/// (`EOPNOTSUPP`). `/proc/net/rust_pf_demo_raw` lists a namespace's monitors.
struct RawMonitor;

/// What a monitor's copy carries beside the payload: the datagram's ports.
#[derive(Clone, Copy, Default)]
struct MonitorCb {
    src_port: u32,
    dst_port: u32,
}

/// The next monitor's id (its key in its namespace's list).
struct MonitorShared {
    next_id: AtomicU64,
}

/// A monitor socket: its key in the list and what it got.
struct MonitorSock {
    id: u64,
    /// Copies queued to it.
    copies: AtomicU64,
    /// Copies it lost: receive buffer full, or no memory for the clone.
    drops: AtomicU64,
}

/// A network namespace's monitors.
#[pin_data]
struct Monitors {
    /// How many monitors `list` holds: a sender reads it before anything else, so that without
    /// monitors the datagram path costs one atomic load.
    count: AtomicUsize,
    /// The open monitors by id, each held by reference (removed by its `release`).
    #[pin]
    list: SpinLock<RBTree<u64, ARef<HeldSock<RawMonitor>>>>,
}

impl Monitors {
    /// A copy of the datagram `skb` (sent from port `src_port` to `dst_port`) for the
    /// monitors: `None` when there are none, `Some(Err)` when the clone failed.
    fn copy_of(
        &self,
        skb: &SkBuff<DemoDgram>,
        src_port: u32,
        dst_port: u32,
    ) -> Option<Result<SkBuff<RawMonitor>>> {
        if self.count.load(Relaxed) == 0 {
            return None;
        }
        Some(skb.clone_for::<RawMonitor>(MonitorCb { src_port, dst_port }))
    }

    /// Queues `copy` to every monitor that still reads (a clone of it to all but the last, the
    /// copy itself to the last); counts what each got or lost. Nothing here sleeps (clones are
    /// `GFP_ATOMIC`, a full monitor drops).
    fn deliver(&self, copy: Result<SkBuff<RawMonitor>>) {
        let list = self.list.lock();
        let readers = list
            .values()
            .filter(|mon| !mon.shutdown_mask().contains(ShutdownSet::RCV));
        let mut prev = None;
        for mon in readers {
            if let Some(prev) = prev.replace(mon) {
                let clone = copy
                    .as_ref()
                    .map_err(|e| *e)
                    .and_then(|c| c.clone_for::<RawMonitor>(*c.cb()));
                give(prev, clone);
            }
        }
        if let Some(last) = prev {
            give(last, copy);
        }
    }
}

/// Queues `copy` to the monitor `mon` and counts it, or counts a drop (the clone failed, or
/// the monitor's receive buffer is full).
fn give(mon: &HeldSock<RawMonitor>, copy: Result<SkBuff<RawMonitor>>) {
    let counter = match copy.and_then(|c| mon.queue_rcv(c)) {
        Ok(()) => &mon.data().copies,
        Err(_) => &mon.data().drops,
    };
    counter.fetch_add(1, Relaxed);
}

#[vtable]
impl Protocol for RawMonitor {
    const FAMILY: u16 = PF_DEMO;
    const TYPE: SockType = SockType::RAW;
    const PROTOCOL: i32 = PFDEMO_PROTO_RAW;
    const NAME: &'static CStr = c_str!("RUST_PF_DEMO_RAW");
    /// [`PFDEMO_RAW_PROC_NET`].
    const PROC_NET: Option<&'static CStr> = Some(c_str!("rust_pf_demo_raw"));
    type Shared = MonitorShared;
    type Data = MonitorSock;
    type NetData = Monitors;
    type Address = NoAddress;
    type Cb = MonitorCb;

    fn shared() -> impl PinInit<MonitorShared, Error> {
        value(MonitorShared {
            next_id: AtomicU64::new(0),
        })
    }

    fn new_net(_shared: &MonitorShared) -> impl PinInit<Monitors, Error> {
        try_pin_init!(Monitors {
            count: AtomicUsize::new(0),
            list <- new_spinlock!(RBTree::new(), "rust_pf_demo::Monitors::list"),
        })
    }

    fn new_data(shared: &MonitorShared) -> impl PinInit<MonitorSock, Error> {
        value(MonitorSock {
            id: shared.next_id.fetch_add(1, Relaxed),
            copies: AtomicU64::new(0),
            drops: AtomicU64::new(0),
        })
    }

    fn init(sock: &Sock<Self>) -> Result {
        let monitors = sock.net_data();
        let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
        let old = monitors
            .list
            .lock()
            .insert(node.into_node(sock.data().id, sock.hold()));
        monitors.count.fetch_add(1, Relaxed);
        // Ids are unique: nothing was replaced.
        drop(old);
        Ok(())
    }

    fn release(sock: &Sock<Self>) {
        // pf/ has marked the sock shut in both directions: a sender that is delivering skips
        // it; the copies still queued are purged with the sock.
        let monitors = sock.net_data();
        let removed = monitors.list.lock().remove(&sock.data().id);
        if removed.is_some() {
            monitors.count.fetch_sub(1, Relaxed);
        }
        // The list's reference, dropped outside the lock.
        drop(removed);
    }

    fn recvmsg(
        sock: &Sock<Self>,
        msg: &mut Msg<NoAddress>,
        len: usize,
        flags: MsgFlags,
    ) -> Result<usize> {
        if flags.intersects(MsgFlags::OOB | MsgFlags::ERRQUEUE) {
            return Err(EOPNOTSUPP);
        }
        let Some(dgram) = sock.recv_datagram(flags)? else {
            return Ok(0);
        };
        let cb = dgram.cb();
        let header = PfdemoMonitorHdr {
            src_port: cb.src_port,
            dst_port: cb.dst_port,
            len: dgram.len() as u32,
        }
        .to_bytes();
        let total = header.len() + dgram.len();
        let head = len.min(header.len());
        msg.write_bytes(&header[..head])?;
        let body = (len - head).min(dgram.len());
        dgram.copy_to_msg(msg, body)?;
        if head + body < total {
            msg.add_flags(MsgFlags::TRUNC);
        }
        dgram.recv_cmsgs(msg);
        Ok(if flags.contains(MsgFlags::TRUNC) {
            total
        } else {
            head + body
        })
    }

    fn proc_show(_shared: &MonitorShared, net: &Monitors, out: &mut SeqFile) -> Result {
        writeln!(
            out,
            "{:>8} {:>8} {:>10} {:>10}",
            "inode", "rx_queue", "copies", "drops"
        )
        .map_err(|_| ENOMEM)?;
        // `SeqFile` only copies into the seq_file buffer: fine under the spinlock.
        for mon in net.list.lock().values() {
            let (inode, rx) = (mon.inode(), mon.rx_queued());
            let copies = mon.data().copies.load(Relaxed);
            let drops = mon.data().drops.load(Relaxed);
            writeln!(out, "{inode:>8} {rx:>8} {copies:>10} {drops:>10}").map_err(|_| ENOMEM)?;
        }
        Ok(())
    }
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
    authors: ["rust_pf_demo developers"],
    description: "A socket protocol family (PF 18) written in Rust",
    license: "GPL",
    alias: ["net-pf-18"],
}
