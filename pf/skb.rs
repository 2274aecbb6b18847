// SPDX-License-Identifier: GPL-2.0

//! Socket buffers: [`SkBuff`] (owned, being filled) and [`Datagram`] (received, being read).

use super::{Family, Msg, Sock};
use core::ptr::NonNull;
use kernel::{bindings, error::to_result, prelude::*};

/// An owned `struct sk_buff`, freed on drop.
///
/// # Invariants
///
/// `self.0` is a valid sk_buff that this object owns exclusively (nobody else references it).
pub struct SkBuff(NonNull<bindings::sk_buff>);

// SAFETY: an owned sk_buff may be freed or handed over from any thread.
unsafe impl Send for SkBuff {}

impl SkBuff {
    /// # Safety
    ///
    /// `skb` is valid and its ownership is transferred to the new object.
    pub(crate) unsafe fn from_raw(skb: NonNull<bindings::sk_buff>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self(skb)
    }

    /// Gives up ownership.
    pub(crate) fn into_raw(self) -> *mut bindings::sk_buff {
        let raw = self.0.as_ptr();
        core::mem::forget(self);
        raw
    }

    /// Appends `len` bytes copied from the message's data (`EFAULT` on a bad user buffer).
    /// The buffer must have been allocated with room for them.
    pub fn put_from_msg(&mut self, msg: &mut Msg, len: usize) -> Result {
        let skb = self.0.as_ptr();
        // SAFETY: we own `skb` (type invariants). `skb_put` checks the tail room (and BUGs
        // instead of overflowing); the room was reserved by the allocation.
        let to = unsafe { bindings::skb_put(skb, len as u32) };
        // SAFETY: `to` has `len` writable bytes; `msg` is a live msghdr.
        to_result(unsafe { bindings::memcpy_from_msg(to, msg.as_raw(), len as i32) })
    }

    /// The control buffer (`skb->cb`), 48 bytes the owner protocol may use.
    pub fn cb_mut(&mut self) -> &mut [u8; 48] {
        // SAFETY: we own the skb exclusively (type invariants), so a unique borrow is fine.
        unsafe { &mut *core::ptr::addr_of_mut!((*self.0.as_ptr()).cb).cast::<[u8; 48]>() }
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: owned (type invariants), freed once.
        unsafe { bindings::kfree_skb(self.0.as_ptr()) };
    }
}

/// A datagram taken from (or peeked at in) a socket's receive queue.
///
/// # Invariants
///
/// `skb` is a buffer returned by `skb_recv_datagram()` on `sock`, with the reference that call
/// gave us, released by `skb_free_datagram()` on drop. Its data is not modified while we
/// hold it.
pub struct Datagram<'a, T: Family> {
    sock: &'a Sock<T>,
    skb: NonNull<bindings::sk_buff>,
}

impl<'a, T: Family> Datagram<'a, T> {
    /// # Safety
    ///
    /// `skb` was just returned by `skb_recv_datagram()` on `sock`.
    pub(crate) unsafe fn new(sock: &'a Sock<T>, skb: NonNull<bindings::sk_buff>) -> Self {
        // INVARIANT: guaranteed by the caller.
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

    /// The control buffer the sender filled in.
    pub fn cb(&self) -> &[u8; 48] {
        // SAFETY: we hold a reference and nobody writes to a queued skb's cb.
        unsafe { &*core::ptr::addr_of!((*self.skb.as_ptr()).cb).cast::<[u8; 48]>() }
    }

    /// Copies the first `len` bytes (at most [`Datagram::len`]) into the message's buffers.
    pub fn copy_to_msg(&self, msg: &mut Msg, len: usize) -> Result {
        let len = len.min(self.len());
        // SAFETY: the skb is held (type invariants) and `msg` is a live msghdr.
        to_result(unsafe {
            bindings::skb_copy_datagram_msg(self.skb.as_ptr(), 0, msg.as_raw(), len as i32)
        })
    }

    /// Fills in the receive-side control messages (timestamps and the like) the socket asked
    /// for with `SO_TIMESTAMP` and friends.
    pub fn recv_cmsgs(&self, msg: &mut Msg) {
        // SAFETY: sock, skb and msghdr are live for the call.
        unsafe { bindings::sock_recv_cmsgs(msg.as_raw(), self.sock.as_raw(), self.skb.as_ptr()) };
    }
}

impl<T: Family> Drop for Datagram<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the reference from `skb_recv_datagram` on this sock (type invariants).
        unsafe { bindings::skb_free_datagram(self.sock.as_raw(), self.skb.as_ptr()) };
    }
}
