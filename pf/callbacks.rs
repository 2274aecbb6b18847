// SPDX-License-Identifier: GPL-2.0

//! The C callbacks the socket core calls: `create`, the `proto_ops`, the sock's destructor.
//! Each turns its raw arguments into the safe types of this layer and calls the family.

use super::bindings;
use super::compat::{self, SockaddrArg};
use super::protocol::{Protocol, Shutdown};
use super::ShutdownSet;
use super::{addr, addr::SOCKADDR_STORAGE, sock::SockObj, HasVTable, Msg, MsgFlags, Sock};
use core::{
    ptr,
    sync::atomic::{AtomicU8, Ordering},
};
use kernel::{
    error::from_result,
    ffi::{c_int, c_uint, c_ulong},
    prelude::*,
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
        // SAFETY: per the function safety contract.
        unsafe { init_data::<T>(sk)? };
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

/// Initialises the protocol's data of a new sock in place ([`Protocol::new_data`]) and only
/// then installs the destructor that drops it. On error nothing is initialised and the sock
/// keeps `sock_init_data`'s empty destructor.
///
/// # Safety
///
/// `sk` was just allocated by `sk_alloc` with this protocol's `struct proto` and set up by
/// `sock_init_data()`; its data slot is uninitialised and nobody else uses the sock yet.
pub(crate) unsafe fn init_data<T: Protocol + HasVTable>(sk: *mut bindings::sock) -> Result {
    let vtable = T::vtable();
    // SAFETY: `sk` was just allocated for our proto, so it is a `SockObj<T>` whose data
    // slot is uninitialised and never moves (slab memory, freed with the sock).
    unsafe { compat::init_in_place(T::new_data(vtable.shared()), SockObj::<T>::data_ptr(sk))? };
    // SAFETY: the data is initialised; our destructor (which drops it) replaces
    // `sock_init_data`'s empty `sock_def_destruct`. If `new_data` failed, the family frees
    // the sock with that empty destructor still in place.
    unsafe { (*sk).sk_destruct = Some(destruct_callback::<T>) };
    if T::HAS_POLL {
        // SAFETY: nobody else uses the sock yet (function safety contract): the write-space
        // callback that agrees with the protocol's poll (`HeldSock::writeable`, AF_UNIX's
        // condition) replaces `sock_init_data`'s `sock_def_write_space`, which agrees with
        // `datagram_poll` (what a protocol without its own poll gets).
        unsafe { (*sk).sk_write_space = Some(super::conn::write_space_callback) };
    }
    Ok(())
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
    // SAFETY: the sock is live; `sk_shutdown` is a byte that readers read with `READ_ONCE` and
    // that pf/ only changes atomically (a peer may shut this sock concurrently, see
    // `HeldSock::shut`). `AtomicU8` has the layout of `u8`.
    let shutdown = unsafe { AtomicU8::from_ptr(ptr::addr_of_mut!((*sk).sk_shutdown)) };
    shutdown.fetch_or(ShutdownSet::BOTH.bits(), Ordering::AcqRel);
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
unsafe fn addr_bytes<'a>(addr: *const SockaddrArg, len: c_int) -> Result<&'a [u8]> {
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
    addr: *mut SockaddrArg,
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
    addr: *mut SockaddrArg,
    len: c_int,
    flags: c_int,
) -> c_int {
    let sock_ptr = sock;
    from_result(|| {
        // SAFETY: per the function safety contract.
        let (sock, addr) = unsafe { (sock_of::<T>(sock), addr_bytes(addr, len)?) };
        let nonblock = flags & bindings::O_NONBLOCK as c_int != 0;
        T::connect(sock, addr::parse_connect(addr)?, nonblock)?;
        if T::HAS_ACCEPT && sock.state() == super::SockState::Established {
            // A connection-oriented protocol's client is connected: its socket says so, as
            // `unix_stream_connect()` sets it (an accepted socket is set in `accept_callback`).
            // SAFETY: `sock` is live for the call, and the socket core serialises no other
            // writer of `state` with an operation on it (only `connect` and `accept` set it).
            unsafe { (*sock_ptr).state = bindings::socket_state_SS_CONNECTED };
        }
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
                let mut out = compat::user_slice(arg, core::mem::size_of::<i32>()).writer();
                out.write(&value)?;
                Ok(0)
            }
            None => Err(ENOIOCTLCMD),
        }
    })
}

/// `proto_ops::ioctl` of a protocol without [`Protocol::ioctl`]: every command goes on to the
/// socket core's own (`sock_do_ioctl()`: the network device ioctls such as `SIOCGIFINDEX`,
/// `ENOTTY` for a command that is not a socket ioctl), as for a protocol's unknown command.
///
/// # Safety
///
/// None of the arguments is used.
pub(crate) unsafe extern "C" fn no_ioctl_callback(
    _sock: *mut bindings::socket,
    _cmd: c_uint,
    _arg: c_ulong,
) -> c_int {
    ENOIOCTLCMD.to_errno()
}

/// `proto_ops::listen`: `backlog` as `__sys_listen()` passed it, already at most
/// `net.core.somaxconn` (a negative one is taken as that).
///
/// # Safety
///
/// Called by the socket core on a live socket of this family.
pub(crate) unsafe extern "C" fn listen_callback<T: Protocol>(
    sock: *mut bindings::socket,
    backlog: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: per the function safety contract.
        T::listen(unsafe { sock_of::<T>(sock) }, backlog.max(0) as u32)?;
        Ok(0)
    })
}

/// `proto_ops::accept`: the protocol's next connection, grafted onto `newsock`, the socket
/// `do_accept()` allocated (with the listener's `ops` and its own reference on their module).
///
/// # Safety
///
/// Called by `do_accept()` (or `kernel_accept()`) on a live listening socket of this family,
/// with `newsock` a new socket with no sock, owned by the caller, and a valid `arg`.
pub(crate) unsafe extern "C" fn accept_callback<T: Protocol>(
    sock: *mut bindings::socket,
    newsock: *mut bindings::socket,
    arg: *mut bindings::proto_accept_arg,
) -> c_int {
    from_result(|| {
        // SAFETY: `arg` is valid for the call (function safety contract); its `flags` are the
        // listener's file flags (`O_NONBLOCK`) and accept4's.
        let nonblock = unsafe { (*arg).flags } & bindings::O_NONBLOCK as c_int != 0;
        // SAFETY: per the function safety contract.
        let child = T::accept(unsafe { sock_of::<T>(sock) }, nonblock)?;
        let sk = child.into_raw();
        // SAFETY: `sk` is a live sock of this protocol that never had a socket, and its
        // reference is ours (`ChildSock`'s invariants): it becomes `newsock`'s, which
        // `release_callback` drops. `newsock` has no sock yet and its `ops` are ours
        // (`do_accept` copied the listener's), so the sock's operations are this protocol's.
        // `sock_graft` publishes the socket and its wait queue to the sock under its callback
        // lock (a peer waking it concurrently sees either no wait queue or this one).
        unsafe {
            (*newsock).state = bindings::socket_state_SS_CONNECTED;
            bindings::sock_graft(sk, newsock);
        }
        Ok(0)
    })
}

/// `proto_ops::poll`: registers the caller on the socket's wait queue, then asks the protocol
/// for the events ready now (after registering, so an event between the two is not lost).
///
/// # Safety
///
/// Called by `sock_poll()` on a live socket of this family with its file and poll table.
pub(crate) unsafe extern "C" fn poll_callback<T: Protocol>(
    file: *mut bindings::file,
    sock: *mut bindings::socket,
    wait: *mut bindings::poll_table_struct,
) -> bindings::__poll_t {
    // SAFETY: per the function safety contract; `sock_poll_wait` adds the poll table's entry
    // to the socket's wait queue (and orders it before the reads below).
    unsafe { bindings::sock_poll_wait(file, sock, wait) };
    // SAFETY: per the function safety contract.
    let sk = unsafe { sock_of::<T>(sock) };
    let mask = T::poll(sk);
    if mask & bindings::EPOLLOUT == 0 {
        // As `unix_dgram_poll()` and `datagram_poll()`: an `O_ASYNC` owner that polled and
        // found no room gets `SIGIO` (`POLL_OUT`) once the write-space callback finds some.
        // SAFETY: the sock is attached to its live socket (function safety contract), whose
        // wait queue's flags the call sets a bit in, only if `O_ASYNC` is set.
        unsafe { bindings::sk_set_nospace(sk.as_raw()) };
    }
    mask
}
