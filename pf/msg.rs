// SPDX-License-Identifier: GPL-2.0

//! [`Msg`]: the `struct msghdr` of a `sendmsg()`/`recvmsg()` call.

use super::addr::{self, Address, SOCKADDR_STORAGE};
use super::bindings;
use super::MsgFlags;
use core::marker::PhantomData;
use kernel::{error::to_result, prelude::*};

/// The message of one `sendmsg()`/`recvmsg()` call on a socket whose protocol's addresses are
/// `A` ([`super::Protocol::Address`]).
///
/// # Invariants
///
/// `self.0` is the call's live `struct msghdr`, set up by the socket layer: `msg_name` is NULL
/// or a kernel buffer of `sizeof(struct sockaddr_storage)` bytes (for `sendmsg` holding
/// `msg_namelen` bytes copied from userspace), and the data iterator describes user memory.
#[repr(transparent)]
pub struct Msg<A: Address>(bindings::msghdr, PhantomData<A>);

impl<A: Address> Msg<A> {
    /// # Safety
    ///
    /// `msg` satisfies the type invariants and is used by no one else for `'a`.
    pub(crate) unsafe fn from_raw<'a>(msg: *mut bindings::msghdr) -> &'a mut Self {
        // SAFETY: `Msg` is transparent over `msghdr` (`PhantomData` is zero-sized); validity is
        // the caller's promise.
        unsafe { &mut *msg.cast::<Self>() }
    }

    pub(crate) fn as_raw(&mut self) -> *mut bindings::msghdr {
        &mut self.0
    }

    /// The message's data iterator.
    pub(crate) fn iter(&mut self) -> *mut bindings::iov_iter {
        &mut self.0.msg_iter
    }

    /// Bytes of data left in the message (what `sendmsg()` sends).
    pub fn data_left(&mut self) -> usize {
        // SAFETY: a live msghdr (type invariants).
        unsafe { bindings::msg_data_left(&mut self.0) }
    }

    /// The `MSG_*` flags of a `sendmsg()` call (with [`MsgFlags::DONTWAIT`] added for
    /// `O_NONBLOCK`).
    pub fn flags(&self) -> MsgFlags {
        MsgFlags::from_raw(self.0.msg_flags)
    }

    /// Adds flags to what `recvmsg()` reports ([`MsgFlags::TRUNC`], ...).
    pub fn add_flags(&mut self, flags: impl Into<MsgFlags>) {
        self.0.msg_flags |= flags.into().bits();
    }

    /// Whether the `sendmsg()` call came with control messages (`msg_control` holding at least
    /// one `struct cmsghdr`: `CMSG_FIRSTHDR()` is not NULL). A shorter control buffer holds
    /// none, as for every socket.
    pub fn has_control(&self) -> bool {
        self.0.msg_controllen >= core::mem::size_of::<bindings::cmsghdr>()
    }

    /// The destination given to `sendto()`/`sendmsg()`: `None` without one, `EINVAL` if it is
    /// shorter than an `A` or of another family (see [`Address`]).
    pub fn dest(&self) -> Result<Option<A>> {
        if self.0.msg_name.is_null() {
            return Ok(None);
        }
        let len = (self.0.msg_namelen.max(0) as usize).min(SOCKADDR_STORAGE);
        // SAFETY: a non-NULL `msg_name` is a kernel buffer holding `msg_namelen` bytes
        // (type invariants), bounded by its size.
        let bytes = unsafe { core::slice::from_raw_parts(self.0.msg_name.cast::<u8>(), len) };
        addr::parse(bytes).map(Some)
    }

    /// Reports the source address of a received message (ignored if the caller passed no
    /// address buffer).
    pub fn set_source(&mut self, source: &A) {
        if self.0.msg_name.is_null() {
            return;
        }
        // SAFETY: a non-NULL `msg_name` is a kernel buffer of `SOCKADDR_STORAGE` bytes (type
        // invariants), not ours.
        let len = unsafe { addr::write(source, self.0.msg_name.cast::<u8>()) };
        self.0.msg_namelen = len as i32;
    }

    /// Copies `bytes` into the receiver's buffers (a header before the data, say); `EFAULT` if
    /// they do not all fit or a user buffer is bad. Copy at most what
    /// [`Msg::data_left`] says is left.
    pub fn write_bytes(&mut self, bytes: &[u8]) -> Result {
        let len = i32::try_from(bytes.len()).map_err(|_| EINVAL)?;
        // SAFETY: a live msghdr (type invariants); `bytes` is valid for reads of `len` bytes.
        to_result(unsafe { bindings::memcpy_to_msg(&mut self.0, bytes.as_ptr().cast(), len) })
    }
}
