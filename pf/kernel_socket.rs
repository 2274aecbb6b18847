// SPDX-License-Identifier: GPL-2.0

//! Sockets the kernel creates for its own use: `sock_create_kern()` and `sock_release()`.
//!
//! C header: [`include/linux/net.h`](srctree/include/linux/net.h).
//!
//! `sock_create_kern()` runs the same `__sock_create()` path as the `socket()` syscall, with
//! `kern = 1`: no LSM or capability checks on behalf of a user, and the socket's `struct sock`
//! does not keep its network namespace alive: `sk_alloc()` takes no counted reference on it
//! (`sk_net_refcnt` is 0, so `get_net()` is not called and the socket is not counted in
//! `/proc/net/sockstat`), but, since Linux 6.12.x (6.12.117 here), a passive one
//! (`net_passive_inc()`, dropped by `__sk_destruct()`): the `struct net` memory stays allocated
//! for as long as the sock, while the namespace itself may be dismantled (its owner must release
//! the socket from the namespace's `pernet_operations` exit). The socket has no file and no
//! descriptor; its owner releases it with `sock_release()`.

use super::addr::{self, Address};
use super::bindings;
use super::protocol::SockType;
use core::ptr::{self, NonNull};
use kernel::{error::to_result, prelude::*};

/// A socket created by the kernel in the initial network namespace (`init_net`), released when
/// dropped.
///
/// While it lives, it holds the module references `__sock_create()` takes for any socket: one on
/// the owner of the family's `proto_ops` and, for families whose `struct proto` has an owner, one
/// taken by `sk_alloc()`.
///
/// # Invariants
///
/// `sock` points to the live `struct socket` returned by a successful `sock_create_kern()`. It is
/// owned by this value alone (no file refers to it, nobody else has the pointer), and it is
/// released exactly once, by `drop`.
pub struct KernelSocket {
    sock: NonNull<bindings::socket>,
}

// SAFETY: the socket is not tied to the thread that created it: `sock_release()` may run on any
// thread, and `KernelSocket` owns the socket alone (type invariants).
unsafe impl Send for KernelSocket {}

// SAFETY: a shared `&KernelSocket` gives no access to the socket: every method that touches it
// takes `self` by value or `&mut self`.
unsafe impl Sync for KernelSocket {}

impl KernelSocket {
    /// Creates a socket `(family, sock_type, protocol)` in `init_net`, as
    /// `sock_create_kern(&init_net, family, sock_type, protocol, &sock)`.
    ///
    /// Loads the family's module through `request_module("net-pf-N")` if no module has
    /// registered `family` yet. Errors are those of `__sock_create()` and of the family's
    /// `create` (for example `EAFNOSUPPORT`, `ESOCKTNOSUPPORT`, `EPROTONOSUPPORT`).
    pub fn new(family: u16, sock_type: SockType, protocol: i32) -> Result<Self> {
        let mut sock: *mut bindings::socket = ptr::null_mut();
        // SAFETY: `init_net` is the initial network namespace, which lives as long as the kernel;
        // only its address is taken here. `sock` is valid for writes. On success
        // `sock_create_kern()` stores a socket that nobody else refers to.
        let ret = unsafe {
            bindings::sock_create_kern(
                ptr::addr_of_mut!(bindings::init_net),
                family.into(),
                sock_type.as_raw().into(),
                protocol,
                &mut sock,
            )
        };
        to_result(ret)?;
        // `__sock_create()` sets `*res` on success; a NULL would be a kernel bug, but never
        // build a value that breaks the invariants.
        let sock = NonNull::new(sock).ok_or(EINVAL)?;
        // INVARIANT: a live socket from a successful `sock_create_kern()`, owned by us alone.
        Ok(Self { sock })
    }

    /// The socket's type, as the family saw it in `create`.
    pub fn sock_type(&self) -> SockType {
        // SAFETY: `sock` is live (type invariants); `type` is written once, by
        // `__sock_create()`, before the socket was returned, and never changes afterwards.
        SockType::from_raw(unsafe { (*self.sock.as_ptr()).type_ })
    }
}

impl KernelSocket {
    /// `kernel_bind()`: binds to `addr`, an address of the socket's protocol.
    pub fn bind<A: Address>(&mut self, addr: &A) -> Result {
        let (mut ss, len) = addr::to_storage(addr);
        // SAFETY: `sock` is live and ours (type invariants); `ss` holds `len` bytes.
        to_result(unsafe {
            bindings::kernel_bind(self.sock.as_ptr(), ptr::addr_of_mut!(ss).cast(), len as i32)
        })
    }

    /// `kernel_sendmsg()` of `data` to `addr`, without waiting (`MSG_DONTWAIT`); returns the
    /// bytes sent.
    pub fn send_to<A: Address>(&mut self, data: &[u8], addr: &A) -> Result<usize> {
        let (mut ss, len) = addr::to_storage(addr);
        // SAFETY: an all-zero msghdr is valid: no name, no control data, no flags.
        let mut msg: bindings::msghdr = unsafe { core::mem::zeroed() };
        msg.msg_name = ptr::addr_of_mut!(ss).cast();
        msg.msg_namelen = len as i32;
        msg.msg_flags = bindings::MSG_DONTWAIT;
        let mut vec = bindings::kvec {
            iov_base: data.as_ptr().cast_mut().cast(),
            iov_len: data.len(),
        };
        // SAFETY: `sock` is live and ours; `msg`, `ss` and `vec` describe kernel memory valid
        // for the call, and the data is only read.
        let ret = unsafe {
            bindings::kernel_sendmsg(self.sock.as_ptr(), &mut msg, &mut vec, 1, data.len())
        };
        to_result(ret.min(0))?;
        Ok(ret as usize)
    }

    /// `kernel_recvmsg()` of the next datagram into `buf`, without waiting (`EAGAIN` if there is
    /// none); returns its length and the sender's address, if the protocol reported one of `A`.
    pub fn recv_from<A: Address>(&mut self, buf: &mut [u8]) -> Result<(usize, Option<A>)> {
        // SAFETY: an all-zero `sockaddr_storage` and msghdr are valid.
        let mut ss: bindings::__kernel_sockaddr_storage = unsafe { core::mem::zeroed() };
        // SAFETY: see above.
        let mut msg: bindings::msghdr = unsafe { core::mem::zeroed() };
        msg.msg_name = ptr::addr_of_mut!(ss).cast();
        msg.msg_namelen = core::mem::size_of_val(&ss) as i32;
        let mut vec = bindings::kvec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: `sock` is live and ours; `msg`, `ss` and `vec` describe kernel memory valid
        // for writes for the call.
        let ret = unsafe {
            bindings::kernel_recvmsg(
                self.sock.as_ptr(),
                &mut msg,
                &mut vec,
                1,
                buf.len(),
                bindings::MSG_DONTWAIT as i32,
            )
        };
        to_result(ret.min(0))?;
        let name_len = (msg.msg_namelen.max(0) as usize).min(core::mem::size_of_val(&ss));
        // SAFETY: `ss` holds `msg_namelen` bytes written by the protocol, bounded by its size.
        let name = unsafe { core::slice::from_raw_parts(ptr::addr_of!(ss).cast::<u8>(), name_len) };
        Ok((ret as usize, addr::parse(name).ok()))
    }
}

impl Drop for KernelSocket {
    fn drop(&mut self) {
        // SAFETY: `sock` is a live socket from `sock_create_kern()` that we own and have not
        // released (type invariants); it is not used after this.
        unsafe { bindings::sock_release(self.sock.as_ptr()) };
    }
}
