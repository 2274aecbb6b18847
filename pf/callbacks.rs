// SPDX-License-Identifier: GPL-2.0

//! The C callbacks the socket core calls: `create`, the `proto_ops`, the sock's destructor.
//! Each turns its raw arguments into the safe types of this layer and calls the family.

use super::bindings;
use super::protocol::{Protocol, Shutdown};
use super::ShutdownSet;
use super::{addr, addr::SOCKADDR_STORAGE, sock::SockObj, HasVTable, Msg, MsgFlags, Sock};
use core::ptr;
use kernel::{
    error::from_result,
    ffi::{c_int, c_uint, c_ulong},
    init::PinInit,
    prelude::*,
    uaccess::UserSlice,
};

/// `struct proto::init`: called by the family's `create` after `sock_init_data()` (as
/// `inet_create()` calls `sk->sk_prot->init`): initialises the protocol's data in place and only
/// then installs the destructor that drops it.
///
/// # Safety
///
/// Called by the family's `create` only, on a sock just allocated with this protocol's `struct
/// proto` and attached to its socket by `sock_init_data()`; its data slot is uninitialised.
pub(crate) unsafe extern "C" fn init_callback<T: Protocol + HasVTable>(
    sk: *mut bindings::sock,
) -> c_int {
    from_result(|| {
        let vtable = T::vtable();
        // SAFETY: `sk` was just allocated for our proto, so it is a `SockObj<T>` whose data
        // slot is uninitialised and never moves (slab memory, freed with the sock).
        unsafe { T::new_data(vtable.shared()).__pinned_init(SockObj::<T>::data_ptr(sk))? };
        // SAFETY: the data is initialised; our destructor (which drops it) replaces
        // `sock_init_data`'s empty `sock_def_destruct`. If `new_data` failed, the family frees
        // the sock with that empty destructor still in place.
        unsafe { (*sk).sk_destruct = Some(destruct_callback::<T>) };
        if T::HAS_INIT {
            // SAFETY: `sk` is a sock of `T` with its data initialised, attached to its live
            // socket by `sock_init_data()` (`sk_socket`, `sk_wq` set), which the family's
            // `create` owns for this call. On error `create` orphans the sock and drops its
            // reference: the destructor installed above drops the data with the last one.
            T::init(unsafe { Sock::<T>::from_raw(sk) })?;
        }
        Ok(0)
    })
}

/// `proto_ops::release`: the last close of a socket of this family.
///
/// # Safety
///
/// Called by `__sock_release()` only, with `sock` valid and its `ops` ours.
pub(crate) unsafe extern "C" fn release_callback<T: Protocol>(
    sock: *mut bindings::socket,
) -> c_int {
    // SAFETY: `sock` is valid for the call (function safety contract).
    let sk = unsafe { (*sock).sk };
    if sk.is_null() {
        return 0;
    }
    // SAFETY: `sk` is the live sock `create_callback` attached, for as long as the socket.
    let family_sock = unsafe { Sock::<T>::from_raw(sk) };
    // Closed in both directions before the family unpublishes it, as `qrtr_release()` does: a
    // sender still holding the sock (a table lookup that raced this close) sees it shut and
    // drops instead of queueing to a sock nobody will read. No waiter can be left to wake: the
    // socket's last file reference is gone.
    // SAFETY: the sock is live; `sk_shutdown` is a byte that readers read with `READ_ONCE`, and
    // no other operation on this socket can run any more.
    unsafe {
        ptr::write_volatile(
            ptr::addr_of_mut!((*sk).sk_shutdown),
            ShutdownSet::BOTH.bits(),
        )
    };
    T::release(family_sock);
    // SAFETY: `sk` is the live sock `create_callback` attached, and `sock` holds the reference
    // that `sock_put` drops here: after it, neither is touched. `sock_orphan` detaches the sock
    // from the socket (`sk_socket`, wait queue) under `sk_callback_lock` before the socket goes
    // away; no other operation on this socket can run any more, and the family keeps no state
    // under the sock lock, so that lock is not needed (as for AF_PACKET). The receive queue is
    // purged so that no datagram waits for a reader that cannot come (the destructor purges
    // whatever a sender still queues after this).
    unsafe {
        bindings::sock_orphan(sk);
        bindings::skb_queue_purge(ptr::addr_of_mut!((*sk).sk_receive_queue));
        (*sock).sk = ptr::null_mut();
        bindings::sock_put(sk);
    }
    0
}

/// `sk->sk_destruct`: the sock's last reference is gone.
///
/// # Safety
///
/// Called by `__sk_destruct()` only, on a sock of this family that nobody references any more.
pub(crate) unsafe extern "C" fn destruct_callback<T: Protocol>(sk: *mut bindings::sock) {
    // SAFETY: unreferenced sock of ours (function safety contract): free what is still queued
    // (with the charges it holds on this sock) and drop the family's data, once.
    unsafe {
        bindings::skb_queue_purge(ptr::addr_of_mut!((*sk).sk_receive_queue));
        SockObj::<T>::drop_data(sk);
    }
}

/// The socket's sock, for an operation callback.
///
/// # Safety
///
/// `sock` is a live socket of family `T` in a `proto_ops` callback: its `sk` was attached by
/// `create_callback` and is only detached by `release_callback`, which the socket core never
/// runs concurrently with another operation on the same socket.
unsafe fn sock_of<'a, T: Protocol>(sock: *mut bindings::socket) -> &'a Sock<T> {
    // SAFETY: see the function safety contract.
    unsafe { Sock::from_raw((*sock).sk) }
}

/// The address an operation got from the socket layer, as bytes.
///
/// # Safety
///
/// `addr` points to a kernel copy of `len` bytes (`move_addr_to_kernel()` bounds `len` by
/// `sizeof(struct sockaddr_storage)`), valid for the callback.
unsafe fn addr_bytes<'a>(addr: *const bindings::sockaddr, len: c_int) -> Result<&'a [u8]> {
    if len < 0 || len as usize > SOCKADDR_STORAGE {
        return Err(EINVAL);
    }
    // SAFETY: see the function safety contract.
    Ok(unsafe { core::slice::from_raw_parts(addr.cast::<u8>(), len as usize) })
}

/// `proto_ops::bind`.
///
/// # Safety
///
/// Called by the socket core on a live socket of this family with a kernel copy of the address.
pub(crate) unsafe extern "C" fn bind_callback<T: Protocol>(
    sock: *mut bindings::socket,
    addr: *mut bindings::sockaddr,
    len: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: per the function safety contract.
        let (sock, addr) = unsafe { (sock_of::<T>(sock), addr_bytes(addr, len)?) };
        T::bind(sock, &addr::parse(addr)?)?;
        Ok(0)
    })
}

/// `proto_ops::connect`.
///
/// # Safety
///
/// As [`bind_callback`].
pub(crate) unsafe extern "C" fn connect_callback<T: Protocol>(
    sock: *mut bindings::socket,
    addr: *mut bindings::sockaddr,
    len: c_int,
    flags: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: per the function safety contract.
        let (sock, addr) = unsafe { (sock_of::<T>(sock), addr_bytes(addr, len)?) };
        let nonblock = flags & bindings::O_NONBLOCK as c_int != 0;
        T::connect(sock, addr::parse_connect(addr)?, nonblock)?;
        Ok(0)
    })
}

/// `proto_ops::getname`.
///
/// The protocol returns the address as a value ([`super::Protocol::Address`]); only its
/// [`super::Address::LEN`] bytes are written, and their number returned: the rest of the
/// caller's buffer (an uninitialised `struct sockaddr_storage` on the caller's stack, see
/// `__sys_getsockname()`) is never read nor reported, so no stack bytes reach userspace.
///
/// # Safety
///
/// Called by the socket core on a live socket of this family; `addr` is a kernel
/// `struct sockaddr_storage`, valid for writes.
pub(crate) unsafe extern "C" fn getname_callback<T: Protocol>(
    sock: *mut bindings::socket,
    addr: *mut bindings::sockaddr,
    peer: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: per the function safety contract.
        let sock = unsafe { sock_of::<T>(sock) };
        let name = T::getname(sock, peer != 0)?;
        // SAFETY: `addr` is valid for writes of `SOCKADDR_STORAGE` bytes (function safety
        // contract) and is not ours.
        let len = unsafe { addr::write(&name, addr.cast::<u8>()) };
        Ok(len as c_int)
    })
}

/// `proto_ops::sendmsg`.
///
/// # Safety
///
/// Called by the socket core on a live socket of this family with the call's msghdr.
pub(crate) unsafe extern "C" fn sendmsg_callback<T: Protocol>(
    sock: *mut bindings::socket,
    msg: *mut bindings::msghdr,
    _len: usize,
) -> c_int {
    from_result(|| {
        // SAFETY: per the function safety contract.
        let (sock, msg) = unsafe { (sock_of::<T>(sock), Msg::<T::Address>::from_raw(msg)) };
        let sent = T::sendmsg(sock, msg)?;
        Ok(sent.min(i32::MAX as usize) as c_int)
    })
}

/// `proto_ops::recvmsg`.
///
/// # Safety
///
/// As [`sendmsg_callback`].
pub(crate) unsafe extern "C" fn recvmsg_callback<T: Protocol>(
    sock: *mut bindings::socket,
    msg: *mut bindings::msghdr,
    len: usize,
    flags: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: per the function safety contract.
        let (sock, msg) = unsafe { (sock_of::<T>(sock), Msg::<T::Address>::from_raw(msg)) };
        let received = T::recvmsg(sock, msg, len, MsgFlags::from_raw(flags as u32))?;
        Ok(received.min(i32::MAX as usize) as c_int)
    })
}

/// `proto_ops::shutdown`.
///
/// # Safety
///
/// Called by the socket core on a live socket of this family.
pub(crate) unsafe extern "C" fn shutdown_callback<T: Protocol>(
    sock: *mut bindings::socket,
    how: c_int,
) -> c_int {
    from_result(|| {
        let how = match how {
            0 => Shutdown::Read,
            1 => Shutdown::Write,
            2 => Shutdown::Both,
            _ => return Err(EINVAL),
        };
        // SAFETY: per the function safety contract.
        T::shutdown(unsafe { sock_of::<T>(sock) }, how)?;
        Ok(0)
    })
}

/// `proto_ops::ioctl`.
///
/// # Safety
///
/// Called by the socket core on a live socket of this family; `arg` is the user's argument.
pub(crate) unsafe extern "C" fn ioctl_callback<T: Protocol>(
    sock: *mut bindings::socket,
    cmd: c_uint,
    arg: c_ulong,
) -> c_int {
    from_result(|| {
        // SAFETY: per the function safety contract.
        match T::ioctl(unsafe { sock_of::<T>(sock) }, cmd)? {
            Some(value) => {
                let mut out = UserSlice::new(arg, core::mem::size_of::<i32>()).writer();
                out.write(&value)?;
                Ok(0)
            }
            None => Err(ENOIOCTLCMD),
        }
    })
}
