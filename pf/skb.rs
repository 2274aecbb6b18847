// SPDX-License-Identifier: GPL-2.0

//! Socket buffers: [`EmptySkb`] (owned, just allocated), [`SkBuff`] (owned, filled: the only
//! kind a socket's queue takes) and [`Datagram`] (received, being read), each with its
//! protocol's typed control block ([`super::Protocol::Cb`], in `skb->cb`).

use super::bindings;
use super::{Address, Msg, MsgFlags, Protocol, Sock};
use core::{marker::PhantomData, ptr, ptr::NonNull};
use kernel::{error::to_result, prelude::*};

/// The bytes of `skb->cb` a protocol's control block may use: the socket core writes its own
/// `struct sock_skb_cb` (the drop count) into the last bytes when it queues a buffer to a
/// socket (`sock_skb_set_dropcount()`), as `sock_skb_cb_check_size()` tells C protocols.
pub const CB_SIZE: usize = bindings::SOCK_SKB_CB_OFFSET;

/// `skb->cb` is `char cb[48] __aligned(8)`.
const CB_ALIGN: usize = 8;

/// The build-time checks of a protocol's [`super::Protocol::Cb`] (evaluated by
/// [`super::VTable::new`], a `static` initialiser).
pub(crate) struct CbCheck<T>(PhantomData<T>);

impl<T: Protocol> CbCheck<T> {
    pub(crate) const OK: () = {
        assert!(
            core::mem::size_of::<T::Cb>() <= CB_SIZE,
            "Protocol::Cb is larger than the bytes of skb->cb a protocol may use"
        );
        assert!(
            core::mem::align_of::<T::Cb>() <= CB_ALIGN,
            "Protocol::Cb needs a larger alignment than skb->cb has"
        );
    };
}

/// An owned, empty `struct sk_buff` of protocol `T`, just allocated for a datagram of
/// [`EmptySkb::size`] bytes by [`super::Sock::alloc_send`], freed on drop.
///
/// It cannot be queued, delivered or cloned: its bytes are not written yet. The only way to a
/// buffer that can is [`EmptySkb::fill_from_msg`], which consumes it and returns a filled
/// [`SkBuff`] only when every byte was copied; when the copy fails half-way the buffer is freed
/// with the error, so no half-filled buffer exists in safe code, and none is filled twice.
///
/// # Invariants
///
/// - `skb` is a valid sk_buff that this object owns exclusively, with no clone (nobody else
///   references the `struct sk_buff` or its data).
/// - It is empty (`len` 0), with `linear` bytes of tail room and `paged` bytes of page
///   fragments allocated but not yet counted in its length.
/// - Its `cb` holds a valid `T::Cb` at offset 0 (written when the object was made, changed only
///   through [`EmptySkb::cb_mut`]).
pub struct EmptySkb<T: Protocol> {
    skb: NonNull<bindings::sk_buff>,
    linear: usize,
    paged: usize,
    _protocol: PhantomData<T>,
}

/// An owned `struct sk_buff` of protocol `T` whose every byte holds the datagram's data, ready
/// to be queued ([`super::HeldSock::queue_rcv`], [`super::HeldSock::queue_msg`]) or cloned
/// ([`SkBuff::clone_for`]); freed on drop.
///
/// Made only by [`EmptySkb::fill_from_msg`] after a complete copy, and by [`SkBuff::clone_for`]
/// from another filled buffer.
///
/// # Invariants
///
/// - `skb` is a valid sk_buff that this object owns exclusively (nobody else references the
///   `struct sk_buff`; its data may be shared with clones, which only read it).
/// - All of its `len` bytes (linear part and page fragments) were written with the datagram's
///   data, and are not written any more.
/// - Its `cb` holds a valid `T::Cb` at offset 0 (changed only through [`SkBuff::cb_mut`]).
pub struct SkBuff<T: Protocol> {
    skb: NonNull<bindings::sk_buff>,
    _protocol: PhantomData<T>,
}

// SAFETY: an owned sk_buff may be freed or handed over from any thread; `T::Cb` is `Send`.
unsafe impl<T: Protocol> Send for EmptySkb<T> {}

// SAFETY: as for `EmptySkb`; a filled buffer's data is only read.
unsafe impl<T: Protocol> Send for SkBuff<T> {}

/// Where the control block of `skb` is.
fn cb_ptr<T: Protocol>(skb: *mut bindings::sk_buff) -> *mut T::Cb {
    // `cb` is within the sk_buff and aligned to `CB_ALIGN`, and large enough (`CbCheck`).
    let () = CbCheck::<T>::OK;
    // SAFETY: only the address of the field is computed.
    unsafe { ptr::addr_of_mut!((*skb).cb).cast::<T::Cb>() }
}

impl<T: Protocol> EmptySkb<T> {
    /// The most bytes [`crate::pf::Sock::alloc_send`] puts in the linear part (an order-2
    /// allocation at most); the rest goes to page fragments.
    pub const LINEAR_MAX: usize = 3 * bindings::PAGE_SIZE;

    /// # Safety
    ///
    /// `skb` was just allocated by `sock_alloc_send_pskb()` with `linear` bytes of header room
    /// and `paged` bytes of fragments, and its ownership is transferred to the new object.
    pub(crate) unsafe fn from_alloc(
        skb: NonNull<bindings::sk_buff>,
        linear: usize,
        paged: usize,
    ) -> Self {
        // SAFETY: we own the new skb; its `cb` fits a `T::Cb` (`CbCheck`).
        unsafe { cb_ptr::<T>(skb.as_ptr()).write(T::Cb::default()) };
        // INVARIANT: guaranteed by the caller; the control block is initialised just above.
        Self {
            skb,
            linear,
            paged,
            _protocol: PhantomData,
        }
    }

    /// The bytes [`EmptySkb::fill_from_msg`] copies: the datagram's length once filled.
    pub fn size(&self) -> usize {
        self.linear + self.paged
    }

    /// Fills the whole buffer ([`EmptySkb::size`] bytes) from the message's data and returns
    /// it filled. On error (`EFAULT`: a bad user buffer, or fewer bytes left in the message
    /// than the buffer's size) the buffer is freed: nothing is left to queue, whatever the
    /// caller does with the error.
    pub fn fill_from_msg<A: Address>(self, msg: &mut Msg<A>) -> Result<SkBuff<T>> {
        let skb = self.skb.as_ptr();
        let len = self.size();
        // SAFETY: we own the empty `skb`, which has no clone (type invariants): the linear part
        // is reserved by the allocation (`skb_put` checks it and would BUG rather than
        // overflow), the fragments cover `paged` bytes; this is the length set-up of
        // `unix_dgram_sendmsg()`, done once: `self` is consumed, and freed on error. Then
        // `skb_copy_datagram_from_iter` copies `len` bytes from the live msghdr's iterator.
        let ret = unsafe {
            bindings::skb_put(skb, self.linear as u32);
            (*skb).data_len = self.paged as u32;
            (*skb).len = len as u32;
            bindings::skb_copy_datagram_from_iter(skb, 0, msg.iter(), len as i32)
        };
        // On error `self` is dropped here: `kfree_skb` of the half-filled buffer.
        to_result(ret)?;
        let skb = core::mem::ManuallyDrop::new(self).skb;
        // INVARIANT: owned (moved out of `self`, which is not dropped); all `len` bytes hold
        // the message's data (the copy succeeded); the control block is `self`'s.
        Ok(SkBuff {
            skb,
            _protocol: PhantomData,
        })
    }

    /// The protocol's control block of this buffer (`skb->cb`).
    pub fn cb(&self) -> &T::Cb {
        // SAFETY: we own the skb and its `cb` holds a valid `T::Cb` (type invariants).
        unsafe { &*cb_ptr::<T>(self.skb.as_ptr()) }
    }

    /// The protocol's control block of this buffer (`skb->cb`); [`EmptySkb::fill_from_msg`]
    /// keeps it.
    pub fn cb_mut(&mut self) -> &mut T::Cb {
        // SAFETY: we own the skb exclusively and its `cb` holds a valid `T::Cb` (type
        // invariants), so a unique borrow is fine.
        unsafe { &mut *cb_ptr::<T>(self.skb.as_ptr()) }
    }
}

impl<T: Protocol> Drop for EmptySkb<T> {
    fn drop(&mut self) {
        // SAFETY: owned (type invariants), freed once; a half-filled buffer (a failed
        // `fill_from_msg`) is a valid sk_buff whose fragments `kfree_skb` frees too. `T::Cb`
        // is `Copy`: nothing to drop.
        unsafe { bindings::kfree_skb(self.skb.as_ptr()) };
    }
}

impl<T: Protocol> SkBuff<T> {
    /// Gives up ownership of the filled buffer (to a queue).
    pub(crate) fn into_raw(self) -> *mut bindings::sk_buff {
        let raw = self.skb.as_ptr();
        core::mem::forget(self);
        raw
    }

    /// The datagram's length.
    pub fn len(&self) -> usize {
        // SAFETY: we own the skb (type invariants); its length is not written any more.
        unsafe { (*self.skb.as_ptr()).len as usize }
    }

    /// Whether the datagram is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The protocol's control block of this buffer (`skb->cb`).
    pub fn cb(&self) -> &T::Cb {
        // SAFETY: we own the skb and its `cb` holds a valid `T::Cb` (type invariants).
        unsafe { &*cb_ptr::<T>(self.skb.as_ptr()) }
    }

    /// The protocol's control block of this buffer (`skb->cb`), which its receiver reads with
    /// [`Datagram::cb`].
    pub fn cb_mut(&mut self) -> &mut T::Cb {
        // SAFETY: we own the `struct sk_buff` exclusively (clones have their own `cb`) and its
        // `cb` holds a valid `T::Cb` (type invariants), so a unique borrow is fine.
        unsafe { &mut *cb_ptr::<T>(self.skb.as_ptr()) }
    }

    /// A clone of the filled buffer for a socket of protocol `Q` (a monitor's copy): a new
    /// `struct sk_buff` sharing the data (`skb_clone()`, no copy of the payload), with its own
    /// control block `cb`. Allocated with `GFP_ATOMIC`, so it may be called under a spinlock;
    /// `ENOMEM` when that fails.
    ///
    /// The clone belongs to no socket until it is queued, where it is charged to the
    /// receiver's buffer like any datagram.
    pub fn clone_for<Q: Protocol>(&self, cb: Q::Cb) -> Result<SkBuff<Q>> {
        // SAFETY: we own the filled skb (type invariants); `skb_clone` only reads it.
        let clone = unsafe { bindings::skb_clone(self.skb.as_ptr(), bindings::GFP_ATOMIC) };
        let clone = NonNull::new(clone).ok_or(ENOMEM)?;
        // SAFETY: the clone is a new `struct sk_buff` that we own; its `cb` is a copy of ours,
        // overwritten here with a valid `Q::Cb` (`CbCheck` for `Q`).
        unsafe { cb_ptr::<Q>(clone.as_ptr()).write(cb) };
        // INVARIANT: owned, with `Q`'s control block; its data is ours, all written and never
        // written again.
        Ok(SkBuff {
            skb: clone,
            _protocol: PhantomData,
        })
    }
}

impl<T: Protocol> Drop for SkBuff<T> {
    fn drop(&mut self) {
        // SAFETY: owned (type invariants), freed once. `T::Cb` is `Copy`: nothing to drop.
        unsafe { bindings::kfree_skb(self.skb.as_ptr()) };
    }
}

/// A datagram taken from (or peeked at in) a socket's receive queue.
///
/// # Invariants
///
/// `skb` is a buffer returned by `skb_recv_datagram()` on `sock`, with the reference that call
/// gave us, released by `skb_free_datagram()` on drop. It was queued by
/// [`super::HeldSock::queue_rcv`] or [`super::HeldSock::queue_msg`] as a filled [`SkBuff<T>`],
/// so its `cb` holds a valid `T::Cb` and all of its bytes hold the sender's data. Its data and
/// control block are not modified while we hold it.
pub struct Datagram<'a, T: Protocol> {
    sock: &'a Sock<T>,
    skb: NonNull<bindings::sk_buff>,
}

impl<'a, T: Protocol> Datagram<'a, T> {
    /// # Safety
    ///
    /// `skb` was just returned by `skb_recv_datagram()` on `sock`.
    pub(crate) unsafe fn new(sock: &'a Sock<T>, skb: NonNull<bindings::sk_buff>) -> Self {
        // INVARIANT: guaranteed by the caller; only `queue_rcv` and `queue_msg` queue to a
        // sock of `T`, and they take a filled `SkBuff<T>`.
        Self { sock, skb }
    }

    /// The datagram's length in bytes.
    pub fn len(&self) -> usize {
        // SAFETY: we hold a reference to the skb (type invariants).
        unsafe { (*self.skb.as_ptr()).len as usize }
    }

    /// Whether the datagram is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The control block the sender filled in.
    pub fn cb(&self) -> &T::Cb {
        // SAFETY: we hold a reference; the cb holds a valid `T::Cb` that nobody writes while
        // the skb is queued (type invariants; the socket core only writes the bytes after
        // `CB_SIZE`, and a socket filter's writes are undone by `bpf_prog_run_save_cb`).
        unsafe { &*cb_ptr::<T>(self.skb.as_ptr()) }
    }

    /// Copies the first `len` bytes (at most [`Datagram::len`]) into the message's buffers.
    pub fn copy_to_msg(&self, msg: &mut Msg<T::Address>, len: usize) -> Result {
        let len = len.min(self.len());
        // SAFETY: the skb is held (type invariants) and `msg` is a live msghdr.
        to_result(unsafe {
            bindings::skb_copy_datagram_msg(self.skb.as_ptr(), 0, msg.as_raw(), len as i32)
        })
    }

    /// Fills in the receive-side control messages (timestamps and the like) the socket asked
    /// for with `SO_TIMESTAMP` and friends.
    pub fn recv_cmsgs(&self, msg: &mut Msg<T::Address>) {
        // SAFETY: sock, skb and msghdr are live for the call.
        unsafe { bindings::sock_recv_cmsgs(msg.as_raw(), self.sock.as_raw(), self.skb.as_ptr()) };
    }

    /// Delivers the datagram to a `recvmsg()` caller with room for `len` bytes, `flags` being
    /// the call's flags, as UDP (`udp_recvmsg()`) and AF_UNIX (`__unix_dgram_recvmsg()`) do:
    /// copies `min(len, self.len())` bytes; a shorter buffer loses the rest of the datagram
    /// and sets [`MsgFlags::TRUNC`] in the message's flags; fills in the receive-side control
    /// messages ([`Datagram::recv_cmsgs`]). Returns the bytes copied, or the datagram's whole
    /// length when the caller passed [`MsgFlags::TRUNC`]. The source address is the
    /// protocol's to set ([`Msg::set_source`]).
    pub fn recv_into(
        &self,
        msg: &mut Msg<T::Address>,
        len: usize,
        flags: MsgFlags,
    ) -> Result<usize> {
        let copied = len.min(self.len());
        self.copy_to_msg(msg, copied)?;
        if copied < self.len() {
            msg.add_flags(MsgFlags::TRUNC);
        }
        self.recv_cmsgs(msg);
        Ok(if flags.contains(MsgFlags::TRUNC) {
            self.len()
        } else {
            copied
        })
    }
}

impl<T: Protocol> Drop for Datagram<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the reference from `skb_recv_datagram` on this sock (type invariants).
        unsafe { bindings::skb_free_datagram(self.sock.as_raw(), self.skb.as_ptr()) };
    }
}
