// SPDX-License-Identifier: GPL-2.0

//! What a connection-oriented protocol (`SOCK_SEQPACKET`, `SOCK_STREAM`) needs beyond the
//! datagram pieces: the sock's connection state (`sk_state`), its accept backlog counters, the
//! server-side child sock that `connect()` creates and `accept()` grafts onto the socket that
//! `do_accept()` made ([`ChildSock`]), messages queued on a peer's receive queue while they stay
//! charged to the sender's `SO_SNDBUF`, shutdown and errors set on a peer, `SO_RCVTIMEO`/
//! `SO_SNDTIMEO` waits with the socket layer's signal semantics ([`Timeout`], [`wait`]), and
//! `poll()` events ([`poll`]).
//!
//! How `accept()` gets its socket: `do_accept()` (net/socket.c) allocates `newsock` with
//! `sock_alloc()`, gives it the listener's `ops` and takes its own `__module_get(ops->owner)`,
//! then calls `ops->accept`. The protocol's [`super::Protocol::accept`] returns a [`ChildSock`]
//! (made by [`super::Sock::new_child`] when a client connected: `sk_alloc` with the protocol's
//! `struct proto`, which pins `proto.owner`, `sock_init_data(NULL, sk)` and the protocol's
//! data), and the layer grafts it onto `newsock` (`sock_graft`), as `unix_accept()` does. The
//! accepted socket then holds two module references like a created one: `do_accept`'s and the
//! sock's.

use super::bindings;
use super::{HeldSock, Protocol, ShutdownSet, SkBuff};
use core::{
    ptr,
    ptr::NonNull,
    sync::atomic::{AtomicI32, AtomicU8, Ordering},
};
use kernel::{
    prelude::*,
    sync::{
        lock::{Backend, Guard},
        CondVar, CondVarTimeoutResult,
    },
};

/// A sock's connection state, as the socket core reads it (`sk_state`: `SO_ACCEPTCONN`, the
/// datagram receive helpers' connection check) and `/proc` shows it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SockState {
    /// `TCP_CLOSE`: not connected, not listening (a new socket, or a closed connection).
    Close,
    /// `TCP_LISTEN`: accepting connections.
    Listen,
    /// `TCP_ESTABLISHED`: connected to a peer.
    Established,
}

impl SockState {
    pub(crate) fn to_raw(self) -> u8 {
        match self {
            Self::Close => bindings::TCP_CLOSE,
            Self::Listen => bindings::TCP_LISTEN,
            Self::Established => bindings::TCP_ESTABLISHED,
        }
    }

    pub(crate) fn from_raw(raw: u8) -> Self {
        if raw == bindings::TCP_LISTEN {
            Self::Listen
        } else if raw == bindings::TCP_ESTABLISHED {
            Self::Established
        } else {
            Self::Close
        }
    }
}

/// `poll()` events (`EPOLL*`), as [`super::Protocol::poll`] returns them.
pub mod poll {
    use super::bindings;

    /// Readable (a message, a pending connection, or end of file).
    pub const IN: u32 = bindings::EPOLLIN;
    /// Urgent data (not used by the family's protocols).
    pub const PRI: u32 = bindings::EPOLLPRI;
    /// Writable: room in the send buffer.
    pub const OUT: u32 = bindings::EPOLLOUT;
    /// An error is pending (`SO_ERROR`).
    pub const ERR: u32 = bindings::EPOLLERR;
    /// Hung up: both directions shut, or the connection closed.
    pub const HUP: u32 = bindings::EPOLLHUP;
    /// Normal data readable.
    pub const RDNORM: u32 = bindings::EPOLLRDNORM;
    /// Normal data writable.
    pub const WRNORM: u32 = bindings::EPOLLWRNORM;
    /// Priority data writable.
    pub const WRBAND: u32 = bindings::EPOLLWRBAND;
    /// The peer shut its sending side (no more data will come).
    pub const RDHUP: u32 = bindings::EPOLLRDHUP;
}

/// How long a blocking call may wait, in jiffies: `SO_RCVTIMEO`/`SO_SNDTIMEO`, 0 for a
/// non-blocking call, [`Timeout::is_forever`] when no timeout is set.
#[derive(Clone, Copy, Debug)]
pub struct Timeout(isize);

impl Timeout {
    /// `sock_rcvtimeo()`/`sock_sndtimeo()` of a value read from the sock.
    pub(crate) fn new(nonblock: bool, timeo: isize) -> Self {
        Self(if nonblock { 0 } else { timeo.max(0) })
    }

    /// Whether the call must not wait at all.
    pub fn is_nonblocking(&self) -> bool {
        self.0 == 0
    }

    /// Whether the call waits without a time limit (then a signal restarts it).
    pub fn is_forever(&self) -> bool {
        self.0 == bindings::MAX_SCHEDULE_TIMEOUT
    }

    /// The errno of a wait a signal interrupted, as `sock_intr_errno()`: `ERESTARTSYS` (the
    /// call restarts under `SA_RESTART`) without a timeout, `EINTR` with one.
    pub fn intr_errno(&self) -> Error {
        if self.is_forever() {
            ERESTARTSYS
        } else {
            EINTR
        }
    }
}

/// Waits on `cond` (releasing the lock `guard` holds while asleep, as [`CondVar`] does) for at
/// most `timeo`, which is reduced by the time slept: `Ok(())` when woken (the caller checks its
/// condition again; wake-ups may be spurious), `EAGAIN` when the time is up or `timeo` does not
/// allow waiting, [`Timeout::intr_errno`] when a signal is pending.
pub fn wait<T: ?Sized, B: Backend>(
    cond: &CondVar,
    guard: &mut Guard<'_, T, B>,
    timeo: &mut Timeout,
) -> Result {
    if timeo.is_nonblocking() {
        return Err(EAGAIN);
    }
    if kernel::current!().signal_pending() {
        return Err(timeo.intr_errno());
    }
    match cond.wait_interruptible_timeout(guard, timeo.0 as kernel::time::Jiffies) {
        CondVarTimeoutResult::Timeout => {
            timeo.0 = 0;
            Err(EAGAIN)
        }
        CondVarTimeoutResult::Signal { .. } => Err(timeo.intr_errno()),
        CondVarTimeoutResult::Woken { jiffies } => {
            if !timeo.is_forever() {
                // The remaining time; at least one jiffy so that the caller may check once more.
                timeo.0 = (jiffies as isize).clamp(1, bindings::MAX_SCHEDULE_TIMEOUT);
            }
            Ok(())
        }
    }
}

impl<T: Protocol> HeldSock<T> {
    /// The connection state (`sk_state`).
    pub fn state(&self) -> SockState {
        // SAFETY: the sock is live (type invariants); `skc_state` is a byte written with
        // `WRITE_ONCE` (or by `set_state`, volatile).
        SockState::from_raw(unsafe {
            ptr::read_volatile(ptr::addr_of!((*self.as_raw()).__sk_common.skc_state))
        })
    }

    /// Sets the connection state (`sk_state`). Valid on an orphaned sock.
    pub fn set_state(&self, state: SockState) {
        // SAFETY: the sock is live; a single byte written at once (the core reads it with
        // `READ_ONCE`).
        unsafe {
            ptr::write_volatile(
                ptr::addr_of_mut!((*self.as_raw()).__sk_common.skc_state),
                state.to_raw(),
            )
        };
    }

    /// Closes the directions in `dirs` of this sock on behalf of its peer (added to those already
    /// shut), as `unix_shutdown()` and `unix_release_sock()` do to the other end: wakes every
    /// waiter of the sock (`sk_state_change`), so that blocked readers see end of file and
    /// blocked senders `EPIPE`, and signals its `O_ASYNC` owner (`SIGIO`, or the `F_SETSIG`
    /// signal): `POLL_HUP` when `dirs` is both directions, `POLL_IN` when it closes receiving
    /// (end of file to read), nothing when it only closes sending. Atomic, so a peer may shut
    /// this sock while its own operations run; valid on an orphaned sock (no wait queue to wake,
    /// no owner to signal then).
    pub fn shut(&self, dirs: ShutdownSet) {
        self.shut_quietly(dirs);
        let band = if dirs.contains(ShutdownSet::BOTH) {
            bindings::POLL_HUP
        } else if dirs.contains(ShutdownSet::RCV) {
            bindings::POLL_IN
        } else {
            return;
        };
        // SAFETY: the sock is live (type invariants); `sk_wake_async` tests `SOCK_FASYNC` and
        // reads `sk_wq` under RCU (NULL once orphaned: nothing is signalled).
        unsafe { bindings::sk_wake_async(self.as_raw(), bindings::SOCK_WAKE_WAITD, band) };
    }

    /// As [`HeldSock::shut`] without the `O_ASYNC` signal: a socket's own `shutdown()` (as
    /// AF_UNIX and UDP, which do not signal the caller's own socket), a child's close.
    pub(crate) fn shut_quietly(&self, dirs: ShutdownSet) {
        let sk = self.as_raw();
        // SAFETY: the sock is live (type invariants); `sk_shutdown` is a byte that pf/ only
        // changes atomically (this function and `release`), the core reads it with
        // `READ_ONCE`. `AtomicU8` has the layout of `u8`.
        let shutdown = unsafe { AtomicU8::from_ptr(ptr::addr_of_mut!((*sk).sk_shutdown)) };
        shutdown.fetch_or(dirs.bits(), Ordering::AcqRel);
        self.state_change();
    }

    /// Sets a pending error (`sk_err`, reported once by the next receive or send, and by
    /// `SO_ERROR`, then cleared), for example `ECONNRESET` on a reset connection. The caller
    /// wakes the waiters ([`HeldSock::shut`] does).
    pub fn set_error(&self, err: Error) {
        // SAFETY: the sock is live; `sk_err` is an int that the core reads with `READ_ONCE` and
        // clears with `xchg`. `AtomicI32` has the layout of `int`.
        let sk_err = unsafe { AtomicI32::from_ptr(ptr::addr_of_mut!((*self.as_raw()).sk_err)) };
        sk_err.store(-err.to_errno(), Ordering::Release);
    }

    /// Whether an error is pending (see [`HeldSock::set_error`]).
    pub fn error_pending(&self) -> bool {
        // SAFETY: as in `set_error`.
        let sk_err = unsafe { AtomicI32::from_ptr(ptr::addr_of_mut!((*self.as_raw()).sk_err)) };
        sk_err.load(Ordering::Acquire) != 0
    }

    /// Takes the pending error, as `sock_error()`: it is reported once.
    pub fn take_error(&self) -> Option<Error> {
        // SAFETY: as in `set_error`.
        let sk_err = unsafe { AtomicI32::from_ptr(ptr::addr_of_mut!((*self.as_raw()).sk_err)) };
        if sk_err.load(Ordering::Relaxed) == 0 {
            return None;
        }
        match sk_err.swap(0, Ordering::AcqRel) {
            0 => None,
            e => Some(Error::from_errno(-e.abs())),
        }
    }

    /// Wakes the sock's readers and pollers (`sk_data_ready`): a message or a connection came.
    pub fn data_ready(&self) {
        let sk = self.as_raw();
        // SAFETY: the sock is live; `sk_data_ready` is set by `sock_init_data` and copes with an
        // orphaned sock (no wait queue).
        unsafe {
            if let Some(ready) = (*sk).sk_data_ready {
                ready(sk);
            }
        }
    }

    /// Wakes every waiter of the sock (`sk_state_change`).
    pub fn state_change(&self) {
        let sk = self.as_raw();
        // SAFETY: as in `data_ready`.
        unsafe {
            if let Some(change) = (*sk).sk_state_change {
                change(sk);
            }
        }
    }

    /// Queues a message on this sock's receive queue and wakes its readers. Unlike
    /// [`HeldSock::queue_rcv`], the buffer stays charged to its sender's send buffer
    /// (`SO_SNDBUF`, from [`super::Sock::alloc_send`]) until the receiver has read it, as
    /// `unix_dgram_sendmsg()` queues: a receiver that does not read blocks its sender. Valid on
    /// an orphaned sock (the sock's destructor frees what is queued).
    ///
    /// As [`HeldSock::queue_rcv`], only a filled buffer ([`SkBuff`]) of this protocol is
    /// queued: an empty [`super::EmptySkb`], or what is left of a failed fill, cannot be.
    ///
    /// The receiver's socket filter (`SO_ATTACH_FILTER`, `SO_ATTACH_BPF`) runs first, as
    /// `unix_dgram_sendmsg()` runs `sk_filter()` on the receiving sock: a message it drops is
    /// freed (which gives its charge back to the sender) and `false` is returned, with the
    /// receiver not woken; a message it trims is queued shorter. AF_UNIX tells the sender
    /// nothing of a drop (its `send()` returns the full length).
    pub fn queue_msg(&self, skb: SkBuff<T>) -> bool {
        let raw = skb.into_raw();
        // SAFETY: the sock is live (type invariants); `raw` is an owned sk_buff on no queue,
        // which the filter may trim (its control block is saved and restored around the
        // program: `bpf_prog_run_save_cb`). Dropped, it is freed here, ours still.
        unsafe {
            if bindings::sk_filter(self.as_raw(), raw) < 0 {
                bindings::kfree_skb(raw);
                return false;
            }
        }
        // SAFETY: the sock is live (type invariants); `raw` is an owned sk_buff, which the queue
        // takes. Time stamps as `queue_rcv`.
        unsafe {
            if bindings::sock_flag(self.as_raw(), bindings::sock_flags_SOCK_TIMESTAMP as i32)
                || bindings::sock_flag(self.as_raw(), bindings::sock_flags_SOCK_RCVTSTAMP as i32)
            {
                bindings::__net_timestamp(raw);
            }
            bindings::skb_queue_tail(ptr::addr_of_mut!((*self.as_raw()).sk_receive_queue), raw);
        }
        self.data_ready();
        true
    }

    /// Messages waiting in the receive queue.
    pub fn rx_queue_len(&self) -> u32 {
        // SAFETY: the sock is live; `qlen` is written under the queue's lock and read with
        // `READ_ONCE` by the core's lockless readers.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).sk_receive_queue.qlen)) }
    }

    /// The length of the message at the head of the receive queue, `None` when it is empty.
    pub fn rx_head_len(&self) -> Option<usize> {
        // SAFETY: the sock is live (type invariants); the shim peeks under the queue's lock and
        // reads the head buffer's length before it lets the lock go.
        let len =
            unsafe { bindings::skb_peek_len(ptr::addr_of_mut!((*self.as_raw()).sk_receive_queue)) };
        usize::try_from(len).ok()
    }

    /// Bytes charged to the send buffer (messages sent and not yet read by the peer).
    pub fn tx_queued(&self) -> usize {
        // SAFETY: the sock is live.
        unsafe { bindings::sk_wmem_alloc_get(self.as_raw()) }.max(0) as usize
    }

    /// Bytes of the messages waiting in the receive queue (their lengths, not their charge):
    /// `SIOCINQ` of AF_UNIX `SOCK_SEQPACKET` (`unix_inq_len()`).
    pub fn rx_queued_bytes(&self) -> usize {
        // SAFETY: the sock is live; the helper walks the queue under its lock.
        unsafe { bindings::skb_queue_bytes(ptr::addr_of_mut!((*self.as_raw()).sk_receive_queue)) }
    }

    /// Whether the send buffer has room, as AF_UNIX decides it (`unix_writable()`): not a
    /// listener, and at most a quarter of `SO_SNDBUF` charged. A protocol with its own
    /// [`super::Protocol::poll`] reports `EPOLLOUT` on this condition, and the layer gives its
    /// socks a write-space callback (`sk_write_space`, as `unix_write_space()`) that wakes
    /// blocked senders and `EPOLLOUT` waiters, and signals an `O_ASYNC` owner that found the
    /// buffer full, on this very condition: poll and wake-ups move together.
    pub fn writeable(&self) -> bool {
        // SAFETY: the sock is live (type invariants).
        unsafe { writeable_raw(self.as_raw()) }
    }

    /// The listen backlog (`sk_max_ack_backlog`).
    pub fn max_ack_backlog(&self) -> u32 {
        // SAFETY: the sock is live; a `u32` written with `WRITE_ONCE` (or by the setter below).
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).sk_max_ack_backlog)) }
    }

    /// Sets the listen backlog (`sk_max_ack_backlog`, what `ss` and `/proc` show).
    pub fn set_max_ack_backlog(&self, backlog: u32) {
        // SAFETY: the sock is live; one aligned `u32` store.
        unsafe {
            ptr::write_volatile(
                ptr::addr_of_mut!((*self.as_raw()).sk_max_ack_backlog),
                backlog,
            )
        };
    }

    /// Connections waiting to be accepted (`sk_ack_backlog`).
    pub fn ack_backlog(&self) -> u32 {
        // SAFETY: as `max_ack_backlog`.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).sk_ack_backlog)) }
    }

    /// Sets the number of connections waiting to be accepted (`sk_ack_backlog`).
    pub fn set_ack_backlog(&self, n: u32) {
        // SAFETY: as `set_max_ack_backlog`.
        unsafe { ptr::write_volatile(ptr::addr_of_mut!((*self.as_raw()).sk_ack_backlog), n) };
    }
}

/// `unix_writable()`: `sk` is not a listener and its send-buffer charge (`sk_wmem_alloc`, which
/// counts one for the sock itself) is at most a quarter of `sk_sndbuf`.
///
/// # Safety
///
/// `sk` is a live sock (its `sk_wmem_alloc` and `sk_sndbuf` may be read).
pub(crate) unsafe fn writeable_raw(sk: *mut bindings::sock) -> bool {
    // SAFETY: per the function safety contract; `skc_state` is a byte and `sk_sndbuf` an int,
    // each written at once (`WRITE_ONCE`), so a volatile read sees a value they had.
    let (state, sndbuf) = unsafe {
        (
            ptr::read_volatile(ptr::addr_of!((*sk).__sk_common.skc_state)),
            ptr::read_volatile(ptr::addr_of!((*sk).sk_sndbuf)),
        )
    };
    // SAFETY: per the function safety contract. `sk_wmem_alloc_get()` is the refcount less the
    // sock's own 1.
    let charged = i64::from(unsafe { bindings::sk_wmem_alloc_get(sk) }) + 1;
    state != bindings::TCP_LISTEN && (charged << 2) <= i64::from(sndbuf)
}

/// `sk_write_space` of the socks of a protocol with its own poll (as `unix_write_space()`): the
/// socket core calls it when a buffer charged to the sock's send buffer is freed
/// (`sock_wfree()`). Wakes writers and signals the `O_ASYNC` owner once the buffer has room by
/// [`HeldSock::writeable`]'s condition, the one the protocol's poll reports `EPOLLOUT` on.
///
/// # Safety
///
/// Called by the socket core only, on a live sock (`sock_wfree` calls it before it gives up the
/// buffer's charge, which keeps the sock's memory).
pub(crate) unsafe extern "C" fn write_space_callback(sk: *mut bindings::sock) {
    // SAFETY: per the function safety contract.
    unsafe {
        if writeable_raw(sk) {
            bindings::write_space_wake(sk);
        }
    }
}

/// The server side of a connection not accepted yet: a sock of protocol `T` with no socket,
/// made by [`super::Sock::new_child`], owned by whoever holds this value (the listener's
/// accept queue). [`super::Protocol::accept`] returns it, and the layer grafts it onto the
/// socket `do_accept()` allocated; dropped instead (the listener closed), it is closed like a
/// socket: marked shut in both directions and dead, its queue purged, its reference given back.
///
/// # Invariants
///
/// `sk` is a live sock of protocol `T` with initialised data, allocated by `sk_alloc` with
/// `T`'s `struct proto` as a user sock (`kern = 0`, so `sk_net_refcnt` is set and the sock holds
/// its namespace until `__sk_free`, whatever sock it was made from) and never attached to a
/// socket (`sk_socket` and `sk_wq` NULL); this value owns the reference `sk_alloc` gave, which becomes the socket's when it is grafted.
/// There is exactly one `ChildSock` per such sock (it is not `Clone`).
pub struct ChildSock<T: Protocol> {
    sk: NonNull<bindings::sock>,
    _p: core::marker::PhantomData<T>,
}

// SAFETY: a sock may be used and released from any thread (see `HeldSock`).
unsafe impl<T: Protocol> Send for ChildSock<T> {}
// SAFETY: shared access only offers `HeldSock`'s thread-safe methods.
unsafe impl<T: Protocol> Sync for ChildSock<T> {}

impl<T: Protocol> ChildSock<T> {
    /// # Safety
    ///
    /// `sk` satisfies the type invariants, its reference is transferred to the new value.
    pub(crate) unsafe fn from_raw(sk: NonNull<bindings::sock>) -> Self {
        Self {
            sk,
            _p: core::marker::PhantomData,
        }
    }

    /// Gives up ownership of the sock and its reference (to the socket it is grafted onto).
    pub(crate) fn into_raw(self) -> *mut bindings::sock {
        let sk = self.sk.as_ptr();
        core::mem::forget(self);
        sk
    }
}

impl<T: Protocol> core::ops::Deref for ChildSock<T> {
    type Target = HeldSock<T>;

    fn deref(&self) -> &HeldSock<T> {
        // SAFETY: a live sock of `T` with initialised data, referenced by `self` (type
        // invariants): what `HeldSock` requires.
        unsafe { &*self.sk.as_ptr().cast::<HeldSock<T>>() }
    }
}

impl<T: Protocol> Drop for ChildSock<T> {
    fn drop(&mut self) {
        let sk = self.sk.as_ptr();
        self.shut_quietly(ShutdownSet::BOTH);
        // SAFETY: the sock never had a socket (type invariants): `sock_orphan` only marks it
        // dead under its callback lock. The queue is purged as `release` does, and the
        // reference `sk_alloc` gave is dropped: after this only other holders' references
        // keep the sock.
        unsafe {
            bindings::sock_orphan(sk);
            bindings::skb_queue_purge(ptr::addr_of_mut!((*sk).sk_receive_queue));
            bindings::sock_put(sk);
        }
    }
}
