// SPDX-License-Identifier: GPL-2.0

//! rust_pf_demo_seqpacket: a connection-oriented `SOCK_SEQPACKET` protocol of family 18, in a
//! module of its own, loaded on demand.
//!
//! `socket(18, SOCK_SEQPACKET, 0)` with nothing loaded loads rust_pf_demo (`net-pf-18`), whose
//! `create` finds no `SOCK_SEQPACKET` entry in its switch and asks for
//! `net-pf-18-proto-0-type-5`: this module (also `net-pf-18-proto-5-type-5`, protocol
//! [`PFDEMO_PROTO_SEQPACKET`]). Reliable, ordered, message-preserving connections between
//! ports of one network namespace, modelled on AF_UNIX `SOCK_SEQPACKET` (net/unix/af_unix.c):
//!
//! - `bind()`: its own port space per namespace (not the datagram protocol's); port 0 picks a
//!   free one in [`PFDEMO_EPHEMERAL_PORTS`], `EADDRINUSE` for a taken one, `EACCES` below 1024
//!   without `CAP_NET_BIND_SERVICE`, `EINVAL` for a second bind.
//! - `listen(backlog)`: only on a bound socket (`EINVAL`); a second `listen` changes the
//!   backlog. As AF_UNIX and TCP, the queue is full when more than `backlog` connections wait.
//! - `connect()`: to a listening port of the same namespace (`ECONNREFUSED` otherwise, or when
//!   the listener is shut for receiving); binds the client to a free port first. It makes the
//!   server side of the connection at once (a child sock, [`pf::Sock::new_child`]) and queues
//!   it on the listener; a full backlog blocks the client (`SO_SNDTIMEO`), or `EAGAIN` when
//!   non-blocking. As AF_UNIX, the target is checked before the socket's own state: `EISCONN`
//!   when connected, `EINVAL` on a listener, after `ECONNREFUSED` for a target that refuses.
//! - `accept()`: the next queued child, waiting unless non-blocking (`EAGAIN`), up to
//!   `SO_RCVTIMEO`; a signal gives `EINTR` (or restarts). A listener shut down still hands out
//!   what it had queued, then `EINVAL` (blocking: a blocked accept is woken with it) or
//!   `EAGAIN` (non-blocking), as AF_UNIX.
//! - `send()`: one message of at most [`PFDEMO_MAX_SEQPACKET`] bytes (`EMSGSIZE` above),
//!   charged to the sender's `SO_SNDBUF` until the peer reads it: a peer that does not read
//!   blocks the sender (`EAGAIN` with `MSG_DONTWAIT`, after `SO_SNDTIMEO`). `EPIPE`, without
//!   `SIGPIPE` (as AF_UNIX SOCK_SEQPACKET), once the connection is shut for sending.
//! - `recv()`: one message; a short buffer truncates it (`MSG_TRUNC`); `MSG_PEEK`; after the
//!   peer closed, the messages it sent are still read, then 0 (end of file), non-blocking
//!   reads too (as AF_UNIX: not `EAGAIN`).
//! - `close()`: the peer is shut in both directions (`ECONNRESET` if this side left messages
//!   unread, an empty one at the head of the queue not counted, as AF_UNIX); a listener resets
//!   the connections it had not accepted (their clients see `ECONNRESET`).
//! - `/proc/net/rust_pf_demo_seqpacket`: every bound or connected socket of the namespace, its
//!   state and queues, listed one socket at a time (the socket list's mutex is held for one
//!   lookup at a time, so a reader never holds up bind, connect or close for a whole listing).
//!
//! Locking: each socket's state is under its own spinlock ([`SeqSock::inner`]); no two of
//! them are ever held at once (a connect locks the client, then the listener, one after the
//! other). The namespace's port table and socket list are mutexes taken before a socket's
//! spinlock, never while one is held.

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use kernel::{
    c_str, new_condvar, new_mutex, new_spinlock,
    prelude::*,
    rbtree::{RBTree, RBTreeNodeReservation},
    sync::{CondVar, Mutex, SpinLock},
};

#[path = "uapi/kernel_address.rs"]
mod kernel_address;
#[path = "pf/mod.rs"]
pub mod pf;
#[path = "proto/ports.rs"]
mod ports;
#[path = "uapi/pfdemo.rs"]
pub mod uapi;

use pf::code::{
    EADDRINUSE, EALREADY, ECONNREFUSED, ECONNRESET, EISCONN, EMSGSIZE, ENOTCONN, EOPNOTSUPP,
};
use pf::compat::*;
use pf::{
    poll, ChildSock, ConnectTarget, HeldSock, Msg, MsgFlags, Protocol, SeqFile, Shutdown,
    ShutdownSet, Sock, SockState, SockType,
};
use ports::{check_bind_permission, ephemeral_ports, BindBy};
use uapi::*;

/// The protocol.
struct SeqPacket;

/// A socket of the protocol held by reference.
type Held = ARef<HeldSock<SeqPacket>>;

/// Where a socket is in its life.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// New or bound: may bind, listen or connect.
    Open,
    /// Listening: connections queue in `pending`.
    Listening,
    /// A `connect()` is under way.
    Connecting,
    /// Connected (a client, or a server-side child): `peer` is the other end. Stays so when the
    /// peer closes (the shutdown bits say it), as AF_UNIX.
    Connected,
    /// Closed (released, or a child its listener reset): nothing is queued to it any more.
    Closed,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Open => "OPEN",
            State::Listening => "LISTEN",
            State::Connecting => "CONNECTING",
            State::Connected => "ESTABLISHED",
            State::Closed => "CLOSED",
        }
    }
}

/// A socket's state, under [`SeqSock::inner`].
struct Inner {
    state: State,
    /// The socket's port (a child: its listener's), 0 while unbound.
    port: u32,
    /// Whether this socket owns `port` in the namespace's table (a child shares its listener's).
    owns_port: bool,
    /// The peer's port, once connected (kept after the peer closed, for `getpeername`).
    peer_port: u32,
    /// The other end of the connection; given up when either end closes.
    peer: Option<Held>,
    /// A listener's queue of connections not accepted yet, in arrival order.
    pending: RBTree<u64, ChildSock<SeqPacket>>,
    /// How many are in `pending`.
    pending_len: u32,
    /// The next key of `pending`.
    next_seq: u64,
    /// A listener's backlog: `connect()` waits while more than this many are pending.
    backlog: u32,
}

/// [`SeqSock::inner`] locked.
type InnerGuard<'a> =
    kernel::sync::lock::Guard<'a, Inner, kernel::sync::lock::spinlock::SpinLockBackend>;

/// A socket's data.
#[pin_data]
struct SeqSock {
    /// A number unique in the module's life: the key of the namespace's socket list.
    id: u64,
    #[pin]
    inner: SpinLock<Inner>,
    /// A listener's waiting `connect()`s: woken when a connection is accepted, the backlog
    /// grows, or the listener closes.
    #[pin]
    backlog_wait: CondVar,
    /// A listener's waiting `accept()`s: woken by a connection, `shutdown()` or close.
    #[pin]
    accept_wait: CondVar,
}

/// A namespace's sockets.
#[pin_data]
struct NetSeq {
    /// Bound ports and their sockets (listeners, clients).
    #[pin]
    ports: Mutex<RBTree<u32, Held>>,
    /// Every bound or connected socket (children too), by id: what `/proc/net` lists.
    #[pin]
    socks: Mutex<RBTree<u64, Held>>,
}

/// The module's counters.
struct Shared {
    next_id: AtomicU64,
    connections: AtomicU64,
    resets: AtomicU64,
}

/// `SIOCINQ` (`FIONREAD`) and `SIOCOUTQ` (`TIOCOUTQ`), from `<asm-generic/ioctls.h>` (bindgen
/// cannot see the `_IO` macro values).
const SIOCINQ: u32 = 0x541b;
const SIOCOUTQ: u32 = 0x5411;

/// What each message carries beside its payload: the sender's port.
#[derive(Clone, Copy, Default)]
struct SeqCb {
    src_port: u32,
}

/// A node of a namespace's socket list.
type ListNode = RBTreeNodeReservation<u64, Held>;

/// Lists `sock` in its namespace's socket list (for `/proc/net`), with a node allocated
/// beforehand.
fn list(sock: &HeldSock<SeqPacket>, node: ListNode) {
    let mut socks = sock.net_data().socks.lock();
    let id = sock.data().id;
    if socks.get(&id).is_none() {
        socks.insert(node.into_node(id, ARef::from(sock)));
    }
}

/// Takes `sock` off its namespace's socket list; the list's reference is dropped after the
/// lock.
fn unlist(sock: &HeldSock<SeqPacket>) {
    let removed = sock.net_data().socks.lock().remove(&sock.data().id);
    drop(removed);
}

/// Binds the unbound `sock` to `port` (0: a free ephemeral one): returns the port.
fn bind_port(sock: &Sock<SeqPacket>, port: u32, by: BindBy) -> Result<u32> {
    check_bind_permission(sock, port)?;
    let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
    let list_node = RBTreeNodeReservation::new(GFP_KERNEL)?;
    let net = sock.net_data();
    // The table's lock serialises every port change of the namespace; the socket's own lock is
    // taken inside it.
    let mut ports = net.ports.lock();
    if sock.data().inner.lock().port != 0 {
        return Err(EINVAL);
    }
    let port = if port == 0 {
        ephemeral_ports()
            .find(|candidate| ports.get(candidate).is_none())
            .ok_or(by.exhausted())?
    } else if ports.get(&port).is_some() {
        return Err(EADDRINUSE);
    } else {
        port
    };
    ports.insert(node.into_node(port, sock.hold()));
    {
        let mut inner = sock.data().inner.lock();
        inner.port = port;
        inner.owns_port = true;
    }
    drop(ports);
    list(sock, list_node);
    Ok(port)
}

/// Gives up the port `sock` owns (if any).
fn unbind(sock: &HeldSock<SeqPacket>) {
    let net = sock.net_data();
    let mut ports = net.ports.lock();
    let port = {
        let mut inner = sock.data().inner.lock();
        if !inner.owns_port {
            return;
        }
        inner.owns_port = false;
        inner.port
    };
    let removed = match ports.get(&port) {
        Some(owner) if owner.is(sock) => ports.remove(&port),
        _ => None,
    };
    drop(ports);
    drop(removed);
}

/// The peer of `me` lets go of it: `me` is shut in both directions (its blocked readers see
/// end of file, its senders `EPIPE`), with `ECONNRESET` pending if `reset`.
fn disconnect(me: &HeldSock<SeqPacket>, peer: &HeldSock<SeqPacket>, reset: bool) {
    // The error first: a send of the peer's that finds its link gone (below) reports it.
    if reset {
        peer.set_error(ECONNRESET);
        peer.shared().resets.fetch_add(1, Relaxed);
    }
    let theirs = {
        let mut inner = peer.data().inner.lock();
        match &inner.peer {
            Some(p) if p.is(me) => inner.peer.take(),
            _ => None,
        }
    };
    peer.shut(ShutdownSet::BOTH);
    drop(theirs);
}

/// A connection its listener closed before accepting it: closed, its client reset.
fn reset_child(child: ChildSock<SeqPacket>) {
    let peer = {
        let mut inner = child.data().inner.lock();
        inner.state = State::Closed;
        inner.peer.take()
    };
    child.set_state(SockState::Close);
    unlist(&child);
    if let Some(peer) = peer {
        disconnect(&child, &peer, true);
    }
    // Closed like a socket by the layer: shut, dead, its queue purged, its reference dropped.
    drop(child);
}

/// The socket bound to `port` in `sock`'s namespace (a listener or not), `ECONNREFUSED` when
/// nobody holds it.
fn find_listener(sock: &HeldSock<SeqPacket>, port: u32) -> Result<Held> {
    sock.net_data()
        .ports
        .lock()
        .get(&port)
        .cloned()
        .ok_or(ECONNREFUSED)
}

/// Waits, with `listener`'s lock held in `l`, until its backlog has room for one more
/// connection, as `unix_stream_connect()`: `ECONNREFUSED` when it does not listen or is shut
/// for receiving (`shutdown()` wakes the waiters), `EAGAIN` when the backlog is full and
/// `timeo` is spent (checked once more after the time is up, as AF_UNIX's restart does), or
/// the signal's errno.
fn wait_for_room(
    listener: &HeldSock<SeqPacket>,
    l: &mut InnerGuard<'_>,
    timeo: &mut pf::Timeout,
) -> Result {
    loop {
        if l.state != State::Listening || listener.shutdown_mask().contains(ShutdownSet::RCV) {
            return Err(ECONNREFUSED);
        }
        if l.pending_len <= l.backlog {
            return Ok(());
        }
        if timeo.is_nonblocking() {
            return Err(EAGAIN);
        }
        match pf::wait(&listener.data().backlog_wait, l, timeo) {
            // The time is up (`timeo` is now 0): one more look, as AF_UNIX.
            Ok(()) | Err(EAGAIN) => {}
            Err(e) => return Err(e),
        }
    }
}

#[vtable]
impl Protocol for SeqPacket {
    const FAMILY: u16 = PF_DEMO;
    const TYPE: SockType = SockType::SEQPACKET;
    const PROTOCOL: i32 = PFDEMO_PROTO_SEQPACKET;
    const NAME: &'static CStr = c_str!("PF_DEMO_SEQPACKET");
    const PROC_NET: Option<&'static CStr> = Some(c_str!("rust_pf_demo_seqpacket"));
    type Shared = Shared;
    type Data = SeqSock;
    type NetData = NetSeq;
    type Address = SockaddrPfdemo;
    type Cb = SeqCb;

    fn shared() -> impl PinInit<Shared, Error> {
        value(Shared {
            next_id: AtomicU64::new(1),
            connections: AtomicU64::new(0),
            resets: AtomicU64::new(0),
        })
    }

    fn new_net(_shared: &Shared) -> impl PinInit<NetSeq, Error> {
        try_pin_init!(NetSeq {
            ports <- new_mutex!(RBTree::new(), "rust_pf_demo_seqpacket::NetSeq::ports"),
            socks <- new_mutex!(RBTree::new(), "rust_pf_demo_seqpacket::NetSeq::socks"),
        })
    }

    fn new_data(shared: &Shared) -> impl PinInit<SeqSock, Error> {
        try_pin_init!(SeqSock {
            id: shared.next_id.fetch_add(1, Relaxed),
            inner <- new_spinlock!(
                Inner {
                    state: State::Open,
                    port: 0,
                    owns_port: false,
                    peer_port: 0,
                    peer: None,
                    pending: RBTree::new(),
                    pending_len: 0,
                    next_seq: 0,
                    backlog: 0,
                },
                "rust_pf_demo_seqpacket::SeqSock::inner"
            ),
            backlog_wait <- new_condvar!("rust_pf_demo_seqpacket::SeqSock::backlog_wait"),
            accept_wait <- new_condvar!("rust_pf_demo_seqpacket::SeqSock::accept_wait"),
        })
    }

    fn release(sock: &Sock<Self>) {
        // pf/ has marked the sock shut in both directions already.
        let (was, peer, pending) = {
            let mut inner = sock.data().inner.lock();
            let was = inner.state;
            inner.state = State::Closed;
            inner.pending_len = 0;
            (was, inner.peer.take(), core::mem::take(&mut inner.pending))
        };
        sock.set_state(SockState::Close);
        sock.set_ack_backlog(0);
        if was == State::Listening {
            // Waiting connects see the listener gone (`ECONNREFUSED`).
            sock.data().backlog_wait.notify_all();
        }
        unbind(sock);
        unlist(sock);
        let mut pending = pending;
        while let Some(front) = pending.cursor_front_mut() {
            let (_, node) = front.remove_current();
            reset_child(node.to_key_value().1);
        }
        if let Some(peer) = peer {
            // As AF_UNIX (`unix_release_sock()`): leaving messages unread resets the
            // connection, but an empty message at the head of the queue does not count (only
            // the head: an empty message behind it, or anything after it, does).
            let unread = match sock.rx_head_len() {
                None => false,
                Some(0) => sock.rx_queue_len() > 1,
                Some(_) => true,
            };
            disconnect(sock, &peer, unread);
        }
    }

    fn bind(sock: &Sock<Self>, addr: &SockaddrPfdemo) -> Result {
        bind_port(sock, addr.port, BindBy::User).map(drop)
    }

    fn listen(sock: &Sock<Self>, backlog: u32) -> Result {
        let grew = {
            let mut inner = sock.data().inner.lock();
            if inner.port == 0 || !matches!(inner.state, State::Open | State::Listening) {
                return Err(EINVAL);
            }
            let grew = inner.state == State::Listening && backlog > inner.backlog;
            inner.state = State::Listening;
            inner.backlog = backlog;
            grew
        };
        sock.set_max_ack_backlog(backlog);
        sock.set_state(SockState::Listen);
        if grew {
            sock.data().backlog_wait.notify_all();
        }
        Ok(())
    }

    fn connect(sock: &Sock<Self>, target: ConnectTarget<SockaddrPfdemo>, nonblock: bool) -> Result {
        // No `AF_UNSPEC` disconnect for a connection (AF_UNIX: `EINVAL` too).
        let ConnectTarget::Addr(addr) = target else {
            return Err(EINVAL);
        };
        if addr.port == 0 {
            return Err(EINVAL);
        }
        let mut timeo = sock.snd_timeout(nonblock);
        let port = loop {
            {
                let mut inner = sock.data().inner.lock();
                if inner.state == State::Open {
                    inner.state = State::Connecting;
                    break inner.port;
                }
            }
            // As `unix_stream_connect()`: the address is resolved and the listener checked
            // (waiting for room in its backlog) before the socket's own state, so a connected
            // socket or a listener gets `ECONNREFUSED` for an address nobody listens on.
            let listener = find_listener(sock, addr.port)?;
            {
                let mut l = listener.data().inner.lock();
                wait_for_room(&listener, &mut l, &mut timeo)?;
            }
            // The state now (another thread's connect may have ended meanwhile: a failed one
            // leaves the socket open, and this connect goes on).
            match sock.data().inner.lock().state {
                State::Open => {}
                State::Connected => return Err(EISCONN),
                State::Connecting => return Err(EALREADY),
                State::Listening | State::Closed => return Err(EINVAL),
            }
        };
        let result = (|| -> Result<(u32, Held)> {
            let port = match port {
                0 => bind_port(sock, 0, BindBy::Auto)?,
                port => port,
            };
            let listener = find_listener(sock, addr.port)?;
            // The server side of the connection, linked to this socket.
            let child = sock.new_child()?;
            {
                let mut inner = child.data().inner.lock();
                inner.state = State::Connected;
                inner.port = addr.port;
                inner.peer_port = port;
                inner.peer = Some(sock.hold());
            }
            child.set_state(SockState::Established);
            let child_ref: Held = ARef::from(&*child);
            let node = RBTreeNodeReservation::new(GFP_KERNEL)?;
            list(&child, RBTreeNodeReservation::new(GFP_KERNEL)?);
            let queued = {
                let mut l = listener.data().inner.lock();
                wait_for_room(&listener, &mut l, &mut timeo).map(|()| {
                    let seq = l.next_seq;
                    l.next_seq += 1;
                    l.pending.insert(node.into_node(seq, child));
                    l.pending_len += 1;
                    listener.set_ack_backlog(l.pending_len);
                })
            };
            if let Err(e) = queued {
                unlist(&child_ref);
                return Err(e);
            }
            listener.data_ready();
            listener.data().accept_wait.notify_all();
            sock.shared().connections.fetch_add(1, Relaxed);
            Ok((addr.port, child_ref))
        })();
        let mut inner = sock.data().inner.lock();
        match result {
            Ok((peer_port, child)) => {
                inner.state = State::Connected;
                inner.peer_port = peer_port;
                inner.peer = Some(child);
                drop(inner);
                sock.set_state(SockState::Established);
                Ok(())
            }
            Err(e) => {
                inner.state = State::Open;
                Err(e)
            }
        }
    }

    fn accept(sock: &Sock<Self>, nonblock: bool) -> Result<ChildSock<Self>> {
        let mut timeo = sock.rcv_timeout(nonblock);
        let data = sock.data();
        let child = {
            let mut inner = data.inner.lock();
            loop {
                if inner.state != State::Listening {
                    return Err(EINVAL);
                }
                if let Some(front) = inner.pending.cursor_front_mut() {
                    let (_, node) = front.remove_current();
                    inner.pending_len -= 1;
                    sock.set_ack_backlog(inner.pending_len);
                    break node.to_key_value().1;
                }
                // As `unix_accept()` (`skb_recv_datagram()`): a listener shut down still hands
                // out the connections queued before; once none is left, a non-blocking accept
                // gets `EAGAIN`, a blocking one `EINVAL`.
                if timeo.is_nonblocking() {
                    return Err(EAGAIN);
                }
                if sock.shutdown_mask().contains(ShutdownSet::RCV) {
                    return Err(EINVAL);
                }
                pf::wait(&data.accept_wait, &mut inner, &mut timeo)?;
            }
        };
        // Room in the backlog: a waiting connect may go on.
        data.backlog_wait.notify_all();
        Ok(child)
    }

    fn getname(sock: &Sock<Self>, peer: bool) -> Result<SockaddrPfdemo> {
        let port = {
            let inner = sock.data().inner.lock();
            if peer {
                if inner.state != State::Connected
                    && !(inner.state == State::Closed && inner.peer_port != 0)
                {
                    return Err(ENOTCONN);
                }
                inner.peer_port
            } else {
                inner.port
            }
        };
        Ok(SockaddrPfdemo::new(port))
    }

    fn sendmsg(sock: &Sock<Self>, msg: &mut Msg<SockaddrPfdemo>) -> Result<usize> {
        let flags = msg.flags();
        if flags.contains(MsgFlags::OOB) {
            return Err(EOPNOTSUPP);
        }
        // No control messages are carried (AF_UNIX passes descriptors and credentials).
        if msg.has_control() {
            return Err(EINVAL);
        }
        if let Some(e) = sock.take_error() {
            return Err(e);
        }
        // The peer and our port under one acquisition: a connected socket's port does not
        // change until it is released, which no send can overlap.
        let (peer, port) = {
            let inner = sock.data().inner.lock();
            if inner.state != State::Connected {
                return Err(ENOTCONN);
            }
            (inner.peer.clone(), inner.port)
        };
        // A reset that came after the check above is reported before EPIPE.
        let Some(peer) = peer else {
            return Err(sock.take_error().unwrap_or(EPIPE));
        };
        if sock.shutdown_mask().contains(ShutdownSet::SEND) {
            return Err(EPIPE);
        }
        let len = msg.data_left();
        if len > PFDEMO_MAX_SEQPACKET {
            return Err(EMSGSIZE);
        }
        // Waits for room in this socket's send buffer, which the peer's reading frees.
        let mut skb = sock
            .alloc_send(len, flags.contains(MsgFlags::DONTWAIT))?
            .fill_from_msg(msg)?;
        skb.cb_mut().src_port = port;
        // Queued under the peer's lock: a peer that closed (which it marks under this lock
        // before its queue is purged) gets nothing.
        let inner = peer.data().inner.lock();
        if inner.state == State::Closed || peer.shutdown_mask().contains(ShutdownSet::RCV) {
            drop(inner);
            drop(skb);
            return Err(EPIPE);
        }
        // As AF_UNIX, a message the peer's socket filter drops counts as sent.
        let _delivered = peer.queue_msg(skb);
        drop(inner);
        Ok(len)
    }

    fn recvmsg(
        sock: &Sock<Self>,
        msg: &mut Msg<SockaddrPfdemo>,
        len: usize,
        flags: MsgFlags,
    ) -> Result<usize> {
        if flags.contains(MsgFlags::OOB) {
            return Err(EOPNOTSUPP);
        }
        if sock.state() != SockState::Established {
            return Err(ENOTCONN);
        }
        let m = match sock.recv_datagram(flags) {
            Ok(Some(m)) => m,
            Ok(None) => return Ok(0),
            // As AF_UNIX (`__unix_dgram_recvmsg`): a non-blocking read of a socket shut for
            // receiving (the peer closed or shut its sending side, or our own SHUT_RD) is end
            // of file, as a blocking one is.
            Err(EAGAIN) if sock.shutdown_mask().contains(ShutdownSet::RCV) => return Ok(0),
            Err(e) => return Err(e),
        };
        msg.set_source(&SockaddrPfdemo::new(m.cb().src_port));
        m.recv_into(msg, len, flags)
    }

    fn shutdown(sock: &Sock<Self>, how: Shutdown) -> Result {
        let (mine, theirs) = match how {
            Shutdown::Read => (ShutdownSet::RCV, ShutdownSet::SEND),
            Shutdown::Write => (ShutdownSet::SEND, ShutdownSet::RCV),
            Shutdown::Both => (ShutdownSet::BOTH, ShutdownSet::BOTH),
        };
        sock.set_shutdown(mine);
        let (peer, listening) = {
            let inner = sock.data().inner.lock();
            let connected = inner.state == State::Connected;
            (
                inner.peer.clone().filter(|_| connected),
                inner.state == State::Listening,
            )
        };
        // As AF_UNIX: the peer sees the other half (our SHUT_WR is its end of file).
        if let Some(peer) = peer {
            peer.shut(theirs);
        }
        if listening {
            sock.data().accept_wait.notify_all();
            // Connects waiting for room in the backlog: refused now (`ECONNREFUSED`). AF_UNIX
            // leaves them asleep until their timeout or the listener's next accept or close,
            // then refuses them the same way.
            sock.data().backlog_wait.notify_all();
        }
        Ok(())
    }

    fn poll(sock: &Sock<Self>) -> u32 {
        // As `unix_dgram_poll()` for SOCK_SEQPACKET.
        let mut mask = 0;
        if sock.error_pending() {
            mask |= poll::ERR;
        }
        let shut = sock.shutdown_mask();
        if shut.contains(ShutdownSet::RCV) {
            mask |= poll::RDHUP | poll::IN | poll::RDNORM;
        }
        if shut.contains(ShutdownSet::BOTH) {
            mask |= poll::HUP;
        }
        if sock.rx_queue_len() > 0 {
            mask |= poll::IN | poll::RDNORM;
        }
        let (state, pending) = {
            let inner = sock.data().inner.lock();
            (inner.state, inner.pending_len)
        };
        match state {
            State::Listening => {
                if pending > 0 {
                    mask |= poll::IN | poll::RDNORM;
                }
                return mask;
            }
            // As AF_UNIX, whose socket is `TCP_CLOSE` until its connect is done: a connect
            // blocked on a full backlog is not connected (`EPOLLHUP`), and writable.
            State::Open | State::Connecting | State::Closed => mask |= poll::HUP,
            State::Connected => {}
        }
        if sock.writeable() {
            mask |= poll::OUT | poll::WRNORM | poll::WRBAND;
        }
        mask
    }

    fn ioctl(sock: &Sock<Self>, cmd: u32) -> Result<Option<i32>> {
        // As `unix_ioctl()`; every other command goes on to the socket core's.
        let bytes = match cmd {
            // The bytes of every message waiting to be read (`EINVAL` on a listener).
            SIOCINQ if sock.state() == SockState::Listen => return Err(EINVAL),
            SIOCINQ => sock.rx_queued_bytes(),
            // What this socket's sent messages that the peer has not read yet are charged.
            SIOCOUTQ => sock.tx_queued(),
            _ => return Ok(None),
        };
        Ok(Some(bytes.min(i32::MAX as usize) as i32))
    }

    /// The header; [`Protocol::proc_seek`] and [`Protocol::proc_show_entry`] list the sockets.
    fn proc_show(shared: &Shared, _net: &NetSeq, out: &mut SeqFile) -> Result {
        (|| -> core::fmt::Result {
            writeln!(
                out,
                "module: connections {} resets {}",
                shared.connections.load(Relaxed),
                shared.resets.load(Relaxed)
            )?;
            writeln!(
                out,
                "{:>6} {:<11} {:>5} {:>5} {:>7} {:>8} {:>7} {:>7} {:>8}",
                "id", "state", "port", "peer", "rx_msgs", "tx_bytes", "backlog", "max", "inode"
            )
        })()
        .map_err(|_| ENOMEM)
    }

    /// The sockets by id, one lookup at a time: the list's mutex (which every bind, connect
    /// and close takes) is held for one rbtree lookup, never across the listing.
    fn proc_seek(net: &NetSeq, from: u64) -> Option<u64> {
        net.socks
            .lock()
            .cursor_lower_bound(&from)
            .map(|c| *c.current().0)
    }

    fn proc_show_entry(_shared: &Shared, net: &NetSeq, id: u64, out: &mut SeqFile) -> Result {
        // A reference taken under the list's mutex, the line written after it.
        let Some(sock) = net.socks.lock().get(&id).cloned() else {
            return Ok(());
        };
        let (state, port, peer, pending, max) = {
            let inner = sock.data().inner.lock();
            (
                inner.state,
                inner.port,
                inner.peer_port,
                inner.pending_len,
                inner.backlog,
            )
        };
        writeln!(
            out,
            "{:>6} {:<11} {:>5} {:>5} {:>7} {:>8} {:>7} {:>7} {:>8}",
            id,
            state.name(),
            port,
            peer,
            sock.rx_queue_len(),
            sock.tx_queued(),
            pending,
            max,
            sock.inode()
        )
        .map_err(|_| ENOMEM)
    }
}

module_protocol! {
    protocol: SeqPacket,
    name: "rust_pf_demo_seqpacket",
    authors: ["rust_pf_demo developers"],
    description: "SOCK_SEQPACKET protocol of family 18 (listen/accept), loaded on demand",
    license: "GPL",
    alias: ["net-pf-18-proto-0-type-5", "net-pf-18-proto-5-type-5"],
}
