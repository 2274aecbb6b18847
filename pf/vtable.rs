// SPDX-License-Identifier: GPL-2.0

//! The C tables of a family and their registration with the socket layer.

use super::family::{Family, Shutdown, SockType};
use super::{msg::SOCKADDR_STORAGE, sock::SockObj, Msg, Sock};
use core::{
    marker::PhantomData,
    pin::Pin,
    ptr,
    sync::atomic::{AtomicBool, AtomicPtr, Ordering},
};
use kernel::{
    alloc::KBox,
    bindings,
    error::{from_result, to_result},
    ffi::{c_int, c_uint, c_ulong},
    prelude::*,
    types::Opaque,
    uaccess::UserSlice,
    ThisModule,
};

/// Gives the socket layer's callbacks the tables of family `T`.
///
/// Implemented by [`crate::module_family!`] for the family it declares.
pub trait HasVTable: Family {
    /// The one static [`VTable`] of this family, the one its module registers.
    fn vtable() -> &'static VTable<Self>;
}

/// The `struct proto`, `struct proto_ops` and `struct net_proto_family` of family `T`.
///
/// # Invariants
///
/// - All three C structs are fully initialised by [`VTable::new`], with `owner` set to the module
///   that declares the static and every callback pointing at the adapters below or at the kernel's
///   `sock_no_*` functions.
/// - `registered` is true exactly while `proto` is registered with `proto_register()` (and then
///   `family` with `sock_register()`); a table is registered at most once at a time.
/// - `shared` points to the family's pinned [`Family::Shared`], owned by the [`Registration`],
///   from before `sock_register()` until after `sock_unregister()` and the last socket is gone;
///   NULL otherwise. Every callback below runs in that window.
/// - After registration only the kernel writes to `proto` (its list node, slab, counters); Rust
///   code never reads or writes any of the three after [`VTable::new`] other than through their
///   raw pointers, handed to C.
pub struct VTable<T: Family> {
    proto: Opaque<bindings::proto>,
    ops: Opaque<bindings::proto_ops>,
    family: Opaque<bindings::net_proto_family>,
    pernet: Opaque<bindings::pernet_operations>,
    registered: AtomicBool,
    shared: AtomicPtr<T::Shared>,
    _family: PhantomData<T>,
}

// SAFETY: Rust code does not access the C structs through `&VTable` except to take their raw
// pointers (see the type invariants); the kernel serialises its own accesses (proto_list_mutex,
// net_family_lock, RCU). `registered` is atomic.
unsafe impl<T: Family> Sync for VTable<T> {}

/// Copies `name` (nul included) into a fixed `char[N]`, at compile time.
const fn c_name<const N: usize>(name: &CStr) -> [c_char; N] {
    let bytes = name.as_bytes_with_nul();
    assert!(
        bytes.len() <= N,
        "Family::NAME is too long for struct proto"
    );
    let mut out = [0 as c_char; N];
    let mut i = 0;
    while i < bytes.len() {
        out[i] = bytes[i] as c_char;
        i += 1;
    }
    out
}

use kernel::ffi::c_char;

impl<T: Family + HasVTable> VTable<T> {
    /// Builds the tables of family `T`, owned by `module`.
    ///
    /// Meant for a `static` initialiser (see [`crate::module_family!`]): it is evaluated at compile
    /// time, so a `NAME` that is too long is a build error.
    pub const fn new(module: &ThisModule) -> Self {
        let owner = module.as_ptr();
        assert!(
            (T::FAMILY as u32) < bindings::NPROTO,
            "Family::FAMILY must be below NPROTO"
        );
        Self {
            // INVARIANT: every field the socket core reads is set; the rest is zero, as in a C
            // designated initialiser.
            proto: Opaque::new(bindings::proto {
                name: c_name(T::NAME),
                owner,
                obj_size: SockObj::<T>::SIZE as u32,
                // SAFETY: `struct proto` is valid when zeroed (all pointers NULL, counters 0).
                ..unsafe { core::mem::MaybeUninit::<bindings::proto>::zeroed().assume_init() }
            }),
            ops: Opaque::new(bindings::proto_ops {
                family: T::FAMILY as c_int,
                owner,
                release: Some(release_callback::<T>),
                bind: if T::HAS_BIND {
                    Some(bind_callback::<T>)
                } else {
                    Some(bindings::sock_no_bind)
                },
                connect: if T::HAS_CONNECT {
                    Some(connect_callback::<T>)
                } else {
                    Some(bindings::sock_no_connect)
                },
                socketpair: Some(bindings::sock_no_socketpair),
                accept: Some(bindings::sock_no_accept),
                getname: if T::HAS_GETNAME {
                    Some(getname_callback::<T>)
                } else {
                    Some(bindings::sock_no_getname)
                },
                poll: Some(bindings::datagram_poll),
                ioctl: if T::HAS_IOCTL {
                    Some(ioctl_callback::<T>)
                } else {
                    Some(bindings::sock_no_ioctl)
                },
                gettstamp: Some(bindings::sock_gettstamp),
                listen: Some(bindings::sock_no_listen),
                shutdown: if T::HAS_SHUTDOWN {
                    Some(shutdown_callback::<T>)
                } else {
                    Some(bindings::sock_no_shutdown)
                },
                // NULL set/getsockopt: SOL_SOCKET is handled by the core, other levels get
                // EOPNOTSUPP.
                setsockopt: None,
                getsockopt: None,
                sendmsg: if T::HAS_SENDMSG {
                    Some(sendmsg_callback::<T>)
                } else {
                    Some(bindings::sock_no_sendmsg)
                },
                recvmsg: if T::HAS_RECVMSG {
                    Some(recvmsg_callback::<T>)
                } else {
                    Some(bindings::sock_no_recvmsg)
                },
                mmap: Some(bindings::sock_no_mmap),
                // SAFETY: `struct proto_ops` is valid when zeroed (NULL optional callbacks).
                ..unsafe { core::mem::MaybeUninit::<bindings::proto_ops>::zeroed().assume_init() }
            }),
            family: Opaque::new(bindings::net_proto_family {
                family: T::FAMILY as c_int,
                create: Some(create_callback::<T>),
                owner,
            }),
            pernet: Opaque::new(bindings::pernet_operations {
                // Only a family with a `/proc/net` file has anything to do per namespace.
                init: if T::HAS_PROC_SHOW {
                    Some(super::proc::net_init::<T>)
                } else {
                    None
                },
                exit: if T::HAS_PROC_SHOW {
                    Some(super::proc::net_exit::<T>)
                } else {
                    None
                },
                // SAFETY: `struct pernet_operations` is valid when zeroed (empty list head,
                // no generic id).
                ..unsafe {
                    core::mem::MaybeUninit::<bindings::pernet_operations>::zeroed().assume_init()
                }
            }),
            registered: AtomicBool::new(false),
            shared: AtomicPtr::new(ptr::null_mut()),
            _family: PhantomData,
        }
    }
}

impl<T: Family> VTable<T> {
    /// The family-wide state.
    ///
    /// Only sockets and their callbacks call this, and they exist only while the family is
    /// registered (type invariants), so the pointer is set.
    pub(crate) fn shared(&self) -> &T::Shared {
        let shared = self.shared.load(Ordering::Acquire);
        assert!(!shared.is_null(), "family state used while not registered");
        // SAFETY: non-NULL `shared` points to the registration's pinned state, alive until
        // after the last socket (type invariants).
        unsafe { &*shared }
    }
}

/// `net_proto_family::create`: called by `__sock_create()` with a reference held on the module.
///
/// # Safety
///
/// Called by the socket core only: `net` is a live network namespace and `sock` a freshly
/// allocated `struct socket` with `type` set and `ops` and `sk` NULL, owned by this call.
unsafe extern "C" fn create_callback<T: Family + HasVTable>(
    net: *mut bindings::net,
    sock: *mut bindings::socket,
    protocol: c_int,
    kern: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: `sock` is valid and exclusively ours for the call (function safety contract).
        let sock_type = SockType::from_raw(unsafe { (*sock).type_ });
        T::check_create(sock_type, protocol, kern != 0)?;

        let vtable = T::vtable();
        // SAFETY: `net` is live for the call; `proto` is registered, since `sock_register()`
        // (which published this callback) runs after `proto_register()` and is undone before
        // `proto_unregister()`. On success the sock holds a reference on `proto.owner`.
        let sk = unsafe {
            bindings::sk_alloc(
                net,
                T::FAMILY.into(),
                bindings::GFP_KERNEL,
                vtable.proto.get(),
                kern,
            )
        };
        if sk.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `sk` was just allocated for our proto, so it is a `SockObj<T>` whose data
        // slot is uninitialised and never moves (slab memory, freed with the sock).
        let init =
            unsafe { T::new_data(vtable.shared()).__pinned_init(SockObj::<T>::data_ptr(sk)) };
        if let Err(e) = init {
            // SAFETY: `sk` is ours alone, not attached to `sock`, and has no destructor yet:
            // `sk_free` gives back the sock and what `sk_alloc` took (module and net refs).
            unsafe { bindings::sk_free(sk) };
            return Err(e);
        }
        // SAFETY: `sock` is ours (see above) and `sk` is a `SockObj<T>` with initialised data;
        // `sock_init_data` links the two (`sock->sk = sk`, `sk->sk_socket = sock`) and sets the
        // defaults, and our destructor replaces its empty `sock_def_destruct`.
        unsafe {
            (*sock).state = bindings::socket_state_SS_UNCONNECTED;
            (*sock).ops = vtable.ops.get();
            bindings::sock_init_data(sock, sk);
            (*sk).sk_destruct = Some(destruct_callback::<T>);
        }
        // Nothing below can fail; a failure from here on would have to clear `sock->sk` and
        // free `sk` itself, since `__sock_create()` clears `sock->ops` and never calls `release`.
        Ok(0)
    })
}

/// `proto_ops::release`: the last close of a socket of this family.
///
/// # Safety
///
/// Called by `__sock_release()` only, with `sock` valid and its `ops` ours.
unsafe extern "C" fn release_callback<T: Family>(sock: *mut bindings::socket) -> c_int {
    // SAFETY: `sock` is valid for the call (function safety contract).
    let sk = unsafe { (*sock).sk };
    if sk.is_null() {
        return 0;
    }
    // SAFETY: `sk` is the live sock `create_callback` attached, for as long as the socket.
    T::release(unsafe { Sock::from_raw(sk) });
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
unsafe extern "C" fn destruct_callback<T: Family>(sk: *mut bindings::sock) {
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
unsafe fn sock_of<'a, T: Family>(sock: *mut bindings::socket) -> &'a Sock<T> {
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
unsafe extern "C" fn bind_callback<T: Family>(
    sock: *mut bindings::socket,
    addr: *mut bindings::sockaddr,
    len: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: per the function safety contract.
        let (sock, addr) = unsafe { (sock_of::<T>(sock), addr_bytes(addr, len)?) };
        T::bind(sock, addr)?;
        Ok(0)
    })
}

/// `proto_ops::connect`.
///
/// # Safety
///
/// As [`bind_callback`].
unsafe extern "C" fn connect_callback<T: Family>(
    sock: *mut bindings::socket,
    addr: *mut bindings::sockaddr,
    len: c_int,
    flags: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: per the function safety contract.
        let (sock, addr) = unsafe { (sock_of::<T>(sock), addr_bytes(addr, len)?) };
        T::connect(sock, addr, flags)?;
        Ok(0)
    })
}

/// `proto_ops::getname`.
///
/// # Safety
///
/// Called by the socket core on a live socket of this family; `addr` is a kernel
/// `struct sockaddr_storage`.
unsafe extern "C" fn getname_callback<T: Family>(
    sock: *mut bindings::socket,
    addr: *mut bindings::sockaddr,
    peer: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: per the function safety contract; nothing else uses the buffer meanwhile.
        let (sock, out) = unsafe {
            (
                sock_of::<T>(sock),
                core::slice::from_raw_parts_mut(addr.cast::<u8>(), SOCKADDR_STORAGE),
            )
        };
        let len = T::getname(sock, out, peer != 0)?;
        Ok(len.min(SOCKADDR_STORAGE) as c_int)
    })
}

/// `proto_ops::sendmsg`.
///
/// # Safety
///
/// Called by the socket core on a live socket of this family with the call's msghdr.
unsafe extern "C" fn sendmsg_callback<T: Family>(
    sock: *mut bindings::socket,
    msg: *mut bindings::msghdr,
    _len: usize,
) -> c_int {
    from_result(|| {
        // SAFETY: per the function safety contract.
        let (sock, msg) = unsafe { (sock_of::<T>(sock), Msg::from_raw(msg)) };
        let sent = T::sendmsg(sock, msg)?;
        Ok(sent.min(i32::MAX as usize) as c_int)
    })
}

/// `proto_ops::recvmsg`.
///
/// # Safety
///
/// As [`sendmsg_callback`].
unsafe extern "C" fn recvmsg_callback<T: Family>(
    sock: *mut bindings::socket,
    msg: *mut bindings::msghdr,
    len: usize,
    flags: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: per the function safety contract.
        let (sock, msg) = unsafe { (sock_of::<T>(sock), Msg::from_raw(msg)) };
        let received = T::recvmsg(sock, msg, len, flags)?;
        Ok(received.min(i32::MAX as usize) as c_int)
    })
}

/// `proto_ops::shutdown`.
///
/// # Safety
///
/// Called by the socket core on a live socket of this family.
unsafe extern "C" fn shutdown_callback<T: Family>(
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
unsafe extern "C" fn ioctl_callback<T: Family>(
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

/// The registration of a family with the socket layer, for as long as it lives.
///
/// # Invariants
///
/// `vtable.registered` is true and was set by this registration: `vtable.proto` is registered
/// with `proto_register()`, `vtable.pernet` with `register_pernet_subsys()` and `vtable.family`
/// with `sock_register()` until `drop`; `vtable.shared` points to `_shared`.
pub struct Registration<T: Family + HasVTable> {
    vtable: &'static VTable<T>,
    _shared: Pin<KBox<T::Shared>>,
}

impl<T: Family + HasVTable> Registration<T> {
    /// Registers `vtable`: `proto_register()`, `register_pernet_subsys()` (the `/proc/net` file
    /// of every namespace), then `sock_register()`; what was done is undone if a step fails (for
    /// example `EEXIST` when another module owns the family number).
    ///
    /// Returns `EBUSY` if the table is already registered.
    ///
    /// # Safety
    ///
    /// The registration must be dropped only when no socket of the family can exist any more:
    /// in the owning module's exit, after the last reference on the module is gone (each socket
    /// holds one). [`crate::module_family!`] guarantees that by keeping it in the module.
    pub unsafe fn register(vtable: &'static VTable<T>) -> Result<Self> {
        if vtable.registered.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        let shared = match KBox::pin_init(T::shared(), GFP_KERNEL) {
            Ok(shared) => shared,
            Err(e) => {
                vtable.registered.store(false, Ordering::Release);
                return Err(e);
            }
        };
        // The state is pinned and outlives the registration's callbacks (type invariants).
        vtable
            .shared
            .store(ptr::from_ref(&*shared).cast_mut(), Ordering::Release);
        // SAFETY: `proto` is a fully initialised static `struct proto` (type invariants) that
        // is not registered (`registered` was false and we own the flag now). `1` asks for a slab.
        if let Err(e) = to_result(unsafe { bindings::proto_register(vtable.proto.get(), 1) }) {
            vtable.shared.store(ptr::null_mut(), Ordering::Release);
            vtable.registered.store(false, Ordering::Release);
            return Err(e);
        }
        // SAFETY: `pernet` is a fully initialised static `struct pernet_operations`, not
        // registered (same flag); its callbacks only need `shared`, set above.
        if let Err(e) = to_result(unsafe { bindings::register_pernet_subsys(vtable.pernet.get()) })
        {
            // SAFETY: registered just above.
            unsafe { bindings::proto_unregister(vtable.proto.get()) };
            vtable.shared.store(ptr::null_mut(), Ordering::Release);
            vtable.registered.store(false, Ordering::Release);
            return Err(e);
        }
        // SAFETY: `family` is a fully initialised static `struct net_proto_family` whose
        // `create` may now run: `proto` is registered.
        if let Err(e) = to_result(unsafe { bindings::sock_register(vtable.family.get()) }) {
            // SAFETY: both registered just above, and `create` was never published.
            unsafe {
                bindings::unregister_pernet_subsys(vtable.pernet.get());
                bindings::proto_unregister(vtable.proto.get());
            }
            vtable.shared.store(ptr::null_mut(), Ordering::Release);
            vtable.registered.store(false, Ordering::Release);
            return Err(e);
        }
        // INVARIANT: both registrations succeeded and the flag is ours.
        Ok(Self {
            vtable,
            _shared: shared,
        })
    }
}

impl<T: Family + HasVTable> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: registered by `register` (type invariants). `sock_unregister` waits for an RCU
        // grace period, so no `create` is running after it; no socket of the family exists
        // (the safety contract of `register`), so the `struct sock` slab is empty.
        unsafe {
            bindings::sock_unregister(T::FAMILY.into());
            bindings::unregister_pernet_subsys(self.vtable.pernet.get());
            bindings::proto_unregister(self.vtable.proto.get());
        }
        // `_shared` is dropped after this: no socket and no callback is left to use it.
        self.vtable.shared.store(ptr::null_mut(), Ordering::Release);
        self.vtable.registered.store(false, Ordering::Release);
    }
}
