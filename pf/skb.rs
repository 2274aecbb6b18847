// SPDX-License-Identifier: GPL-2.0

//! Socket buffers: [`SkBuff`] (owned, being filled) and [`Datagram`] (received, being read).

use super::bindings;
use super::{Msg, Protocol, Sock};
use core::ptr::NonNull;
use kernel::{error::to_result, prelude::*};

/// An owned `struct sk_buff` being prepared for sending, freed on drop.
///
/// # Invariants
///
/// `skb` is a valid sk_buff that this object owns exclusively (nobody else references it).
/// Until [`SkBuff::fill_from_msg`] succeeded, it is empty with `linear` bytes of tail room and
/// `paged` bytes of page fragments; after, `filled` is true and it holds that many bytes.
pub struct SkBuff {
    skb: NonNull<bindings::sk_buff>,
    linear: usize,
    paged: usize,
    filled: bool,
}

// SAFETY: an owned sk_buff may be freed or handed over from any thread.
unsafe impl Send for SkBuff {}

impl SkBuff {
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
        // INVARIANT: guaranteed by the caller.
        Self {
            skb,
            linear,
            paged,
            filled: false,
        }
    }

    /// Gives up ownership.
    pub(crate) fn into_raw(self) -> *mut bindings::sk_buff {
        let raw = self.skb.as_ptr();
        core::mem::forget(self);
        raw
    }

    /// The datagram's length once filled.
    pub fn len(&self) -> usize {
        self.linear + self.paged
    }

    /// Whether the datagram is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills the whole buffer ([`SkBuff::len`] bytes) from the message's data (`EFAULT` on a
    /// bad user buffer). Only once.
    pub fn fill_from_msg(&mut self, msg: &mut Msg) -> Result {
        if self.filled {
            return Err(EINVAL);
        }
        let skb = self.skb.as_ptr();
        let len = self.len();
        // SAFETY: we own the empty `skb` (type invariants): the linear part is reserved by the
        // allocation (`skb_put` checks it and would BUG rather than overflow), the fragments
        // cover `paged` bytes; this is the length set-up of `unix_dgram_sendmsg()`. Then
        // `skb_copy_datagram_from_iter` copies `len` bytes from the live msghdr's iterator.
        let ret = unsafe {
            bindings::skb_put(skb, self.linear as u32);
            (*skb).data_len = self.paged as u32;
            (*skb).len = len as u32;
            bindings::skb_copy_datagram_from_iter(skb, 0, msg.iter(), len as i32)
        };
        to_result(ret)?;
        // INVARIANT: all `len` bytes hold the message's data.
        self.filled = true;
        Ok(())
    }

    /// The control buffer (`skb->cb`), 48 bytes the owner protocol may use.
    pub fn cb_mut(&mut self) -> &mut [u8; 48] {
        // SAFETY: we own the skb exclusively (type invariants), so a unique borrow is fine.
        unsafe { &mut *core::ptr::addr_of_mut!((*self.skb.as_ptr()).cb).cast::<[u8; 48]>() }
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: owned (type invariants), freed once.
        unsafe { bindings::kfree_skb(self.skb.as_ptr()) };
    }
}

/// A datagram taken from (or peeked at in) a socket's receive queue.
///
/// # Invariants
///
/// `skb` is a buffer returned by `skb_recv_datagram()` on `sock`, with the reference that call
/// gave us, released by `skb_free_datagram()` on drop. Its data is not modified while we
/// hold it.
pub struct Datagram<'a, T: Protocol> {
    sock: &'a Sock<T>,
    skb: NonNull<bindings::sk_buff>,
}

impl<'a, T: Protocol> Datagram<'a, T> {
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

impl<T: Protocol> Drop for Datagram<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the reference from `skb_recv_datagram` on this sock (type invariants).
        unsafe { bindings::skb_free_datagram(self.sock.as_raw(), self.skb.as_ptr()) };
    }
}
