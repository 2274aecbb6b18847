// SPDX-License-Identifier: GPL-2.0

//! [`Msg`]: the `struct msghdr` of a `sendmsg()`/`recvmsg()` call.

use super::bindings;

/// The message of one `sendmsg()`/`recvmsg()` call.
///
/// # Invariants
///
/// `self.0` is the call's live `struct msghdr`, set up by the socket layer: `msg_name` is NULL
/// or a kernel buffer of `sizeof(struct sockaddr_storage)` bytes (for `sendmsg` holding
/// `msg_namelen` bytes copied from userspace), and the data iterator describes user memory.
#[repr(transparent)]
pub struct Msg(bindings::msghdr);

impl Msg {
    /// # Safety
    ///
    /// `msg` satisfies the type invariants and is used by no one else for `'a`.
    pub(crate) unsafe fn from_raw<'a>(msg: *mut bindings::msghdr) -> &'a mut Self {
        // SAFETY: `Msg` is transparent over `msghdr`; validity is the caller's promise.
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

    /// The `MSG_*` flags of a `sendmsg()` call (with `MSG_DONTWAIT` added for `O_NONBLOCK`).
    pub fn flags(&self) -> i32 {
        self.0.msg_flags as i32
    }

    /// Adds `MSG_*` flags to what `recvmsg()` reports (`MSG_TRUNC`, ...).
    pub fn add_flags(&mut self, flags: i32) {
        self.0.msg_flags |= flags as u32;
    }

    /// Whether the `sendmsg()` call came with control messages (`msg_control` holding at least
    /// one `struct cmsghdr`: `CMSG_FIRSTHDR()` is not NULL). A shorter control buffer holds
    /// none, as for every socket.
    pub fn has_control(&self) -> bool {
        self.0.msg_controllen >= core::mem::size_of::<bindings::cmsghdr>()
    }

    /// The destination address given to `sendto()`/`sendmsg()`, if any.
    pub fn name(&self) -> Option<&[u8]> {
        if self.0.msg_name.is_null() {
            return None;
        }
        let len = (self.0.msg_namelen.max(0) as usize).min(SOCKADDR_STORAGE);
        // SAFETY: a non-NULL `msg_name` is a kernel buffer holding `msg_namelen` bytes
        // (type invariants), bounded by its size.
        Some(unsafe { core::slice::from_raw_parts(self.0.msg_name.cast::<u8>(), len) })
    }

    /// Reports the source address of a received datagram (ignored if the caller passed no
    /// address buffer). At most `sizeof(struct sockaddr_storage)` bytes are kept.
    pub fn set_name(&mut self, addr: &[u8]) {
        if self.0.msg_name.is_null() {
            return;
        }
        let len = addr.len().min(SOCKADDR_STORAGE);
        // SAFETY: a non-NULL `msg_name` is a kernel buffer of `SOCKADDR_STORAGE` bytes (type
        // invariants) that does not overlap `addr`.
        unsafe {
            core::ptr::copy_nonoverlapping(addr.as_ptr(), self.0.msg_name.cast::<u8>(), len);
        }
        self.0.msg_namelen = len as i32;
    }
}

/// `sizeof(struct sockaddr_storage)`.
pub(crate) const SOCKADDR_STORAGE: usize =
    core::mem::size_of::<bindings::__kernel_sockaddr_storage>();

/// A socket address, as a family reports it (`getsockname()`, `getpeername()`).
///
/// # Invariants
///
/// `len <= SOCKADDR_STORAGE`, and the first `len` bytes of `bytes` are the address.
pub struct SockAddr {
    bytes: [u8; SOCKADDR_STORAGE],
    len: usize,
}

impl SockAddr {
    /// The address whose bytes are `addr` (`EINVAL` if longer than a `struct
    /// sockaddr_storage`).
    pub fn new(addr: &[u8]) -> kernel::error::Result<Self> {
        let mut bytes = [0u8; SOCKADDR_STORAGE];
        bytes
            .get_mut(..addr.len())
            .ok_or(kernel::error::code::EINVAL)?
            .copy_from_slice(addr);
        // INVARIANT: `addr.len()` bytes fit and were copied.
        Ok(Self {
            bytes,
            len: addr.len(),
        })
    }

    /// The address's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}
