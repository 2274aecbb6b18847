// SPDX-License-Identifier: GPL-2.0

//! [`Sock`]: a `struct sock` of a family, with the family's per-socket data beside it.

use super::bindings;
use super::compat::{ARef, AlwaysRefCounted};
use super::conn::{ChildSock, Timeout};
use super::{
    skb::Datagram, skb::EmptySkb, skb::SkBuff, BuiltIn, Capability, HasVTable, MsgFlags, Protocol,
    ShutdownSet,
};
use core::{mem::ManuallyDrop, ptr, ptr::NonNull};
use kernel::{error::to_result, prelude::*, types::Opaque};

/// What the family's `struct proto` allocates: the `struct sock` first (the socket core only
/// knows that part), the family's data after it.
#[repr(C)]
pub(crate) struct SockObj<T: Protocol> {
    sk: Opaque<bindings::sock>,
    data: ManuallyDrop<T::Data>,
}

impl<T: Protocol> SockObj<T> {
    /// The object size `struct proto` is registered with.
    ///
    /// `proto_register()` gives `struct proto` no alignment (it creates the slab with align 0
    /// and `SLAB_HWCACHE_ALIGN`), so what every such slab guarantees is `ARCH_SLAB_MINALIGN`
    /// (cache-line alignment depends on the CPU found at boot). A [`Protocol::Data`] that needs
    /// more would be misaligned: that is a build error here (evaluated by [`super::VTable::new`],
    /// a `static` initialiser).
    pub(crate) const SIZE: usize = {
        assert!(
            core::mem::align_of::<Self>() <= bindings::ARCH_SLAB_MINALIGN,
            "Protocol::Data needs a larger alignment than the struct sock slab guarantees"
        );
        core::mem::size_of::<Self>()
    };

    /// Where the family data of a sock allocated by `sk_alloc` for our proto goes.
    ///
    /// # Safety
    ///
    /// `sk` was allocated by `sk_alloc()` with the family's `struct proto`, so it is the start
    /// of a `SockObj<T>`.
    pub(crate) unsafe fn data_ptr(sk: *mut bindings::sock) -> *mut T::Data {
        let obj = sk.cast::<Self>();
        // SAFETY: `obj` points to a `SockObj<T>` allocation (function safety contract);
        // `ManuallyDrop<T>` has the layout of `T`.
        unsafe { ptr::addr_of_mut!((*obj).data).cast::<T::Data>() }
    }

    /// Drops the family data of a sock that is being destroyed.
    ///
    /// # Safety
    ///
    /// `sk` is a `SockObj<T>` whose data was initialised (through [`Self::data_ptr`]) and is not
    /// used any more (the sock's last reference is gone).
    pub(crate) unsafe fn drop_data(sk: *mut bindings::sock) {
        let obj = sk.cast::<Self>();
        // SAFETY: the data is initialised and unused (function safety contract).
        unsafe { ManuallyDrop::drop(&mut *ptr::addr_of_mut!((*obj).data)) };
    }
}

/// The `net_generic` storage of a namespace's [`Protocol::NetData`]: allocated by the netns core
/// (`kzalloc` of `pernet_operations.size` bytes), initialised by the family's pernet `init`.
pub(crate) struct NetObj<T: Protocol>(core::marker::PhantomData<T>);

impl<T: Protocol> NetObj<T> {
    /// The size the family's `pernet_operations` asks for (at least 1: the netns core allocates
    /// nothing for 0, and a zero-sized `NetData` needs no storage but a non-NULL slot).
    ///
    /// The storage is a `kzalloc()`, aligned to `ARCH_KMALLOC_MINALIGN` at least (which is at
    /// least `ARCH_SLAB_MINALIGN`): a `NetData` that needs more is a build error.
    pub(crate) const SIZE: usize = {
        assert!(
            core::mem::align_of::<T::NetData>() <= bindings::ARCH_SLAB_MINALIGN,
            "Protocol::NetData needs a larger alignment than kmalloc guarantees"
        );
        let size = core::mem::size_of::<T::NetData>();
        if size == 0 {
            1
        } else {
            size
        }
    };

    /// Where the `NetData` goes in the generic slot `slot`.
    pub(crate) fn data_ptr(slot: *mut core::ffi::c_void) -> *mut T::NetData {
        slot.cast()
    }
}

/// A sock of family `T` held by reference: the family's tables keep these (a port map, a
/// cached peer).
///
/// The socket such a sock belonged to may have been closed already: `release` orphaned the
/// sock (`sk_socket` and `sk_wq` are NULL) and the sock lives on for as long as references
/// are held. So only what is valid on an orphaned sock is offered here: its [`Protocol::Data`],
/// its namespace, its counters, its shutdown state, and queueing a datagram to it. What needs
/// the socket (waiting for data or send-buffer room, changing state, capability checks) is on
/// [`Sock`], which only an operation on the live socket gets.
///
/// # Invariants
///
/// A `&HeldSock<T>` is a pointer to the `struct sock` at the start of a live `SockObj<T>`: the
/// sock was allocated by the family's `create` callback and its [`Protocol::Data`] is
/// initialised; it stays valid while the reference lives (the caller holds the socket, or a
/// reference counted by `sock_hold()`, see [`AlwaysRefCounted`]). Its `sk_socket` and `sk_wq`
/// may be NULL at any time (after `sock_orphan()`): no method dereferences them.
#[repr(transparent)]
pub struct HeldSock<T: Protocol>(Opaque<bindings::sock>, core::marker::PhantomData<T>);

// SAFETY: `struct sock` is made for concurrent use from any thread (its fields are protected by
// the sock lock, the queue locks or atomics, which the methods below use); `T::Data` is `Sync`
// and `Send`, as `Protocol` requires.
unsafe impl<T: Protocol> Sync for HeldSock<T> {}
// SAFETY: see above; a reference can be dropped from any thread (`sock_put` is thread-safe).
unsafe impl<T: Protocol> Send for HeldSock<T> {}

// SAFETY: `sock_hold`/`sock_put` manage `sk_refcnt`; the sock is freed only when it drops to 0.
unsafe impl<T: Protocol> AlwaysRefCounted for HeldSock<T> {
    fn inc_ref(&self) {
        // SAFETY: the sock is live (type invariants), so its refcount is non-zero.
        unsafe { bindings::sock_hold(self.0.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller owns one reference, which is given up here.
        unsafe { bindings::sock_put(obj.cast::<bindings::sock>().as_ptr()) };
    }
}

impl<T: Protocol> HeldSock<T> {
    /// The raw `struct sock`.
    pub(crate) fn as_raw(&self) -> *mut bindings::sock {
        self.0.get()
    }

    /// The family's data of this sock.
    pub fn data(&self) -> &T::Data {
        let obj = self.as_raw().cast::<SockObj<T>>();
        // SAFETY: the sock is the start of a live `SockObj<T>` with initialised data (type
        // invariants); the data is only dropped after the last reference is gone.
        unsafe { &*ptr::addr_of!((*obj).data) }
    }

    /// The family-wide state.
    pub fn shared(&self) -> &T::Shared
    where
        T: HasVTable,
    {
        T::vtable().shared()
    }

    /// The sock's network namespace, as an identity to compare and key tables with.
    pub fn net(&self) -> NetId {
        // SAFETY: the sock is live (type invariants); `sk_net` is set once by `sk_alloc`.
        NetId::from_raw(unsafe { bindings::sock_net(self.as_raw()) })
    }

    /// The family's state of the sock's network namespace.
    pub fn net_data(&self) -> &T::NetData
    where
        T: HasVTable,
    {
        // SAFETY: the sock is live (type invariants), and so is its namespace's state: a user
        // socket's sock holds a counted reference on its namespace until it is freed, so the
        // namespace's pernet `exit` has not run; a kernel socket's owner releases it before its
        // namespace's pernet `exit` (it registers its own pernet operations after the family's,
        // whose exits run first), as for any kernel socket. The family is registered while one
        // of its socks exists (it pins the module).
        unsafe { T::vtable().net_data(bindings::sock_net(self.as_raw())) }
    }

    /// The state of another protocol `Q` of the same family module in the sock's network
    /// namespace (a monitor list that a datagram protocol feeds, say).
    ///
    /// Both protocols are built into the family's module ([`BuiltIn`]): while this sock
    /// exists, `Q` is registered and its state set up in every namespace that has sockets.
    pub fn sibling_net_data<Q>(&self) -> &Q::NetData
    where
        T: BuiltIn,
        Q: BuiltIn<Family = T::Family>,
    {
        // SAFETY: the sock is live (type invariants), and so is its namespace's state of `T`
        // (see `net_data`). `Q` is built into the same family module as `T` (`BuiltIn`'s
        // safety contract): it was registered (its pernet `init` run for every namespace that
        // existed, and for every later one before it could hold a socket) before any sock of
        // `T` could exist, and is unregistered only after the last one is gone. Its pernet
        // `exit` for the sock's namespace runs, as `T`'s (see `net_data`), only once no sock
        // of the family is left there.
        unsafe { Q::vtable().net_data(bindings::sock_net(self.as_raw())) }
    }

    /// Whether `other` is this very sock.
    pub fn is(&self, other: &HeldSock<T>) -> bool {
        ptr::eq(self, other)
    }

    /// The socket's inode number (`socket:[N]`), 0 once it is orphaned.
    pub fn inode(&self) -> u64 {
        // SAFETY: the sock is live (type invariants); `sock_i_ino` reads the inode number
        // (`sk_socket`'s under the callback lock on 6.12, `sk_ino` on 7.x), 0 for an orphaned
        // sock.
        u64::from(unsafe { bindings::sock_i_ino(self.as_raw()) } as u32)
    }

    /// Bytes of datagrams waiting in the receive queue (charged to `SO_RCVBUF`).
    pub fn rx_queued(&self) -> usize {
        // SAFETY: the sock is live (type invariants).
        unsafe { bindings::sk_rmem_alloc_get(self.as_raw()) }.max(0) as usize
    }

    /// Datagrams the socket core dropped because the receive buffer was full.
    pub fn drops(&self) -> u32 {
        // SAFETY: the sock is live (type invariants); `sk_drops` is an `atomic_t` that is only
        // written atomically, so a volatile read sees some value it had.
        unsafe { ptr::read_volatile(ptr::addr_of!((*self.as_raw()).sk_drops.counter)) as u32 }
    }

    /// The directions closed by `shutdown()`. A sock whose socket was closed reads
    /// [`ShutdownSet::BOTH`] (the layer's `release` sets it).
    pub fn shutdown_mask(&self) -> ShutdownSet {
        // SAFETY: the sock is live; `sk_shutdown` is a byte written with `WRITE_ONCE`.
        ShutdownSet::from_raw(unsafe {
            ptr::read_volatile(ptr::addr_of!((*self.as_raw()).sk_shutdown))
        })
    }

    /// Queues `skb` on this socket's receive queue and wakes readers. On error (receive
    /// buffer full: `ENOMEM`, counted in [`HeldSock::drops`]) the buffer is freed.
    ///
    /// Valid on an orphaned sock: the datagram is freed with the sock (its destructor purges
    /// the queue), and `sk_data_ready` finds no wait queue to wake. If the receiver asked for
    /// receive timestamps (`SO_TIMESTAMP*`, `SIOCGSTAMP`), the datagram is stamped now, as
    /// `unix_dgram_sendmsg()` does: that is the time `recvmsg()` and `SIOCGSTAMP` report.
    ///
    /// Only a filled buffer ([`SkBuff`], from [`EmptySkb::fill_from_msg`] or
    /// [`SkBuff::clone_for`]) of this very protocol can be queued: every byte the receiver
    /// reads was written, and its control block is `T::Cb`, which the receiver reads.
    pub fn queue_rcv(&self, skb: SkBuff<T>) -> Result {
        let raw = skb.into_raw();
        // SAFETY: the sock is live (type invariants); `raw` is an owned sk_buff nobody else
        // sees yet, so its time stamp may be written.
        unsafe {
            if bindings::sock_flag(self.as_raw(), bindings::sock_flags_SOCK_TIMESTAMP as i32)
                || bindings::sock_flag(self.as_raw(), bindings::sock_flags_SOCK_RCVTSTAMP as i32)
            {
                bindings::__net_timestamp(raw);
            }
        }
        // SAFETY: the sock is live (type invariants); `raw` is an owned sk_buff, which the
        // call takes on success.
        let ret = unsafe { bindings::sock_queue_rcv_skb(self.as_raw(), raw) };
        if ret < 0 {
            // SAFETY: on failure the buffer is still ours.
            unsafe { bindings::kfree_skb(raw) };
        }
        to_result(ret)
    }
}

/// The socket an operation of the family is called on: a [`HeldSock`] whose socket is open.
///
/// It dereferences to [`HeldSock`] for what both share, and adds what needs the socket: waiting
/// for data ([`Sock::recv_datagram`]) or for send-buffer room ([`Sock::alloc_send`]), shutting
/// directions down and waking waiters, capability checks against the caller. A family only gets
/// a `&Sock<T>` as the argument of an operation; to keep the sock beyond that, it takes a
/// counted [`HeldSock`] reference with [`Sock::hold`].
///
/// # Invariants
///
/// As [`HeldSock`], and the sock is attached to a live `struct socket` (`sk_socket` and `sk_wq`
/// non-NULL) for as long as the reference lives: a `&Sock<T>` is only made by the socket
/// layer's callbacks for the duration of an operation on that socket (up to and including
/// `release`, before it orphans the sock).
#[repr(transparent)]
pub struct Sock<T: Protocol>(HeldSock<T>);

impl<T: Protocol> core::ops::Deref for Sock<T> {
    type Target = HeldSock<T>;

    fn deref(&self) -> &HeldSock<T> {
        &self.0
    }
}

impl<T: Protocol> Sock<T> {
    /// Creates a reference from a raw sock pointer.
    ///
    /// # Safety
    ///
    /// `sk` satisfies the type invariants for the lifetime `'a`: it is the sock of a socket of
    /// this family on which an operation is running for all of `'a`.
    pub(crate) unsafe fn from_raw<'a>(sk: *mut bindings::sock) -> &'a Self {
        // SAFETY: `Sock<T>` is a transparent wrapper of `HeldSock<T>`, itself of `struct sock`;
        // validity is the caller's promise.
        unsafe { &*sk.cast::<Self>() }
    }

    /// A counted reference to this sock, for the family's tables. It outlives the socket.
    pub fn hold(&self) -> ARef<HeldSock<T>> {
        ARef::from(&self.0)
    }

    /// Whether the current task has `cap` in the user namespace owning the socket's network
    /// namespace (as `ns_capable()`, the check UDP does for privileged ports).
    pub fn net_capable(&self, cap: Capability) -> bool {
        // SAFETY: the sock and its net are live (type invariants; a sock pins its net).
        unsafe { bindings::ns_capable((*bindings::sock_net(self.as_raw())).user_ns, cap.as_raw()) }
    }

    /// Closes the directions in `dirs` (added to those already shut) and wakes every waiter, so
    /// that blocked readers return (the socket's own `shutdown()`: no `O_ASYNC` signal to
    /// itself, as AF_UNIX and UDP; [`HeldSock::shut`] is for a peer).
    pub fn set_shutdown(&self, dirs: ShutdownSet) {
        self.0.shut_quietly(dirs);
    }

    /// How long a receive (or `accept()`) may wait: `SO_RCVTIMEO`, or 0 when `nonblock`.
    pub fn rcv_timeout(&self, nonblock: bool) -> Timeout {
        // SAFETY: the sock is live (type invariants); `sk_rcvtimeo` is a `long` written with
        // `WRITE_ONCE` by `setsockopt`.
        Timeout::new(nonblock, unsafe {
            ptr::read_volatile(ptr::addr_of!((*self.as_raw()).sk_rcvtimeo))
        })
    }

    /// How long a send (or a `connect()` waiting for a listener's backlog) may wait:
    /// `SO_SNDTIMEO`, or 0 when `nonblock`.
    pub fn snd_timeout(&self, nonblock: bool) -> Timeout {
        // SAFETY: as `rcv_timeout`.
        Timeout::new(nonblock, unsafe {
            ptr::read_volatile(ptr::addr_of!((*self.as_raw()).sk_sndtimeo))
        })
    }

    /// A new sock of this protocol in this socket's namespace, without a socket: the server
    /// side of a connection, for [`super::Protocol::accept`] to return (`unix_stream_connect()`
    /// makes its embryo the same way, with `sk_alloc` and `sock_init_data(NULL, sk)`). It has
    /// this socket's type and protocol number, the protocol's data ([`Protocol::new_data`]; not
    /// [`Protocol::init`], which is for sockets made by `create`), state
    /// [`super::SockState::Close`], and pins the protocol's module (`proto.owner`) for as long
    /// as it lives, and counts in `/proc/net/sockstat` like a socket.
    ///
    /// The child is always a user sock (`kern = 0`, as AF_UNIX's embryo), whatever this socket
    /// is: it holds a reference to its namespace for as long as it lives, so that an accepted
    /// socket handed to user space can never outlive the namespace's pernet exit, even when the
    /// sock it was made from is a kernel socket (which holds none).
    pub fn new_child(&self) -> Result<ChildSock<T>>
    where
        T: HasVTable,
    {
        let parent = self.as_raw();
        let vtable = T::vtable();
        // SAFETY: the parent is live (type invariants): its namespace is, and its family's
        // `struct proto` is registered (the parent is one of its socks). `kern = 0`: the child
        // takes its own reference to the namespace (`sk_net_refcnt`), dropped by `__sk_free`.
        let sk = unsafe {
            bindings::sk_alloc(
                bindings::sock_net(parent),
                T::FAMILY.into(),
                bindings::GFP_KERNEL,
                vtable.proto.get(),
                0,
            )
        };
        let Some(sk) = NonNull::new(sk) else {
            return Err(ENOMEM);
        };
        let sk = sk.as_ptr();
        // SAFETY: `sk` is new and ours: `sock_init_data(NULL, sk)` sets it up without a socket
        // (one reference, no wait queue); type and protocol come from the parent, as a socket's
        // would from `create`.
        unsafe {
            bindings::sock_init_data(ptr::null_mut(), sk);
            (*sk).sk_type = (*parent).sk_type;
            (*sk).sk_protocol = (*parent).sk_protocol;
        }
        // The data only: `Protocol::init` is for a socket made by `create` (it gets a `Sock`,
        // which needs a socket); a child's state is set up by the protocol that made it.
        // SAFETY: `sk` was just allocated with `T`'s proto and set up; its data is not.
        if let Err(e) = unsafe { super::callbacks::init_data::<T>(sk) } {
            // SAFETY: the data was not initialised and the destructor not installed: the sock
            // is marked dead and its only reference dropped, as `create`'s error path does.
            unsafe {
                bindings::sock_orphan(sk);
                bindings::sock_put(sk);
            }
            return Err(e);
        }
        // SAFETY: INVARIANT: a live sock of `T` with data, no socket, its one reference ours.
        Ok(unsafe { ChildSock::from_raw(NonNull::new_unchecked(sk)) })
    }

    /// Allocates a buffer for a `len`-byte datagram charged to this socket's send buffer,
    /// waiting for room unless `nonblock` (then `EAGAIN`), up to `SO_SNDTIMEO`.
    ///
    /// As `unix_dgram_sendmsg()` does, a large datagram goes mostly into page fragments, so
    /// that no high-order allocation is needed: the linear part stays within
    /// [`EmptySkb::LINEAR_MAX`] bytes.
    ///
    /// The buffer is empty: fill it with [`EmptySkb::fill_from_msg`] to get a [`SkBuff`] that
    /// can be queued.
    pub fn alloc_send(&self, len: usize, nonblock: bool) -> Result<EmptySkb<T>> {
        const PAGE: usize = bindings::PAGE_SIZE;
        let frags_max = bindings::MAX_SKB_FRAGS as usize * PAGE;
        let paged = if len > EmptySkb::<T>::LINEAR_MAX {
            (len - EmptySkb::<T>::LINEAR_MAX)
                .next_multiple_of(PAGE)
                .min(frags_max)
                .min(len)
        } else {
            0
        };
        let mut err = 0;
        // SAFETY: the sock is live and attached to its socket, whose `flags` a full send buffer
        // sets a bit in (type invariants); `err` is valid for writes.
        let skb = unsafe {
            bindings::sock_alloc_send_pskb(
                self.as_raw(),
                len - paged,
                paged,
                i32::from(nonblock),
                &mut err,
                bindings::PAGE_ALLOC_COSTLY_ORDER as i32,
            )
        };
        match NonNull::new(skb) {
            // SAFETY: a new, unshared sk_buff with `len - paged` bytes of tail room and `paged`
            // bytes of page fragments, whose ownership we take.
            Some(skb) => Ok(unsafe { EmptySkb::from_alloc(skb, len - paged, paged) }),
            None => Err(Error::from_errno(if err < 0 {
                err
            } else {
                -(bindings::ENOMEM as i32)
            })),
        }
    }

    /// Takes (or with [`MsgFlags::PEEK`] in `flags`, looks at) the next datagram, waiting
    /// unless [`MsgFlags::DONTWAIT`], up to `SO_RCVTIMEO`. `Ok(None)` when the receive side is
    /// shut down.
    pub fn recv_datagram(&self, flags: MsgFlags) -> Result<Option<Datagram<'_, T>>> {
        let mut err = 0;
        // SAFETY: the sock is live and attached to its socket, whose wait queue a blocking call
        // sleeps on (type invariants); `err` is valid for writes.
        let skb = unsafe { bindings::skb_recv_datagram(self.as_raw(), flags.bits(), &mut err) };
        match NonNull::new(skb) {
            // SAFETY: `skb_recv_datagram` gave us a reference to `skb`, to be released with
            // `skb_free_datagram` on this sock.
            Some(skb) => Ok(Some(unsafe { Datagram::new(self, skb) })),
            None if err == 0 => Ok(None),
            None => Err(Error::from_errno(err)),
        }
    }
}

/// The identity of a network namespace, for comparing and keying (not for dereferencing).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct NetId(usize);

impl NetId {
    pub(crate) fn from_raw(net: *mut bindings::net) -> Self {
        Self(net as usize)
    }
}
