// SPDX-License-Identifier: GPL-2.0

//! The C tables of a protocol: `struct proto`, `struct proto_ops`, `struct pernet_operations`,
//! its protocol switch entry ([`ProtoSw`]) and its `/proc/net` file's `struct seq_operations`.

use super::bindings;
use super::callbacks::*;
use super::family::ProtoSw;
use super::protocol::Protocol;
use super::sock::{NetObj, SockObj};
use core::{
    marker::PhantomData,
    ptr,
    sync::atomic::{AtomicBool, AtomicPtr, Ordering},
};
use kernel::{
    ffi::{c_int, c_uint},
    prelude::*,
    types::Opaque,
    ThisModule,
};

/// Gives the socket layer's callbacks the tables of protocol `T`.
///
/// Implemented by [`crate::module_family!`] and [`crate::module_protocol!`] for the protocols
/// they declare.
pub trait HasVTable: Protocol {
    /// The one static [`VTable`] of this family, the one its module registers.
    fn vtable() -> &'static VTable<Self>;
}

/// A protocol built into the module of a family ([`crate::module_family!`] implements it for
/// each of its `protocols`): registered by that module's init before the family's
/// `sock_register()`, unregistered in its exit after the last socket of any of its protocols
/// is gone. So while a sock of one built-in protocol exists, every other one of the same
/// family is registered, with its per-namespace state ([`Protocol::NetData`]) set up in the
/// sock's namespace: [`super::HeldSock::sibling_net_data`] relies on it.
///
/// # Safety
///
/// Only implemented for a protocol that the module of [`BuiltIn::Family`] registers as
/// described above (by [`crate::module_family!`]).
pub unsafe trait BuiltIn: HasVTable {
    /// The family whose module registers the protocol.
    type Family: super::Family;
}

/// The `struct proto`, `struct proto_ops`, `struct pernet_operations` and switch entry of
/// protocol `T`.
///
/// # Invariants
///
/// - The C structs are fully initialised by [`VTable::new`], with `owner` set to the module
///   that declares the static (the protocol's module) and every callback pointing at the
///   adapters in `callbacks.rs` or at the kernel's `sock_no_*` functions (`seq_ops`: at the
///   adapters in `proc.rs` when the protocol implements [`Protocol::proc_seek`], all NULL and
///   never handed to C otherwise).
/// - `registered` is true exactly while `proto` is registered with `proto_register()` (and then
///   `protosw` is in the family's switch); a table is registered at most once at a time.
/// - `protosw`'s `prot` and `ops` are written by [`super::Registration`] only while the table
///   is not registered (they point to `proto` and `ops`).
/// - `shared` points to the protocol's pinned [`Protocol::Shared`], owned by the
///   [`super::Registration`], from before the entry is in the switch until after it is removed
///   and the last socket is gone; NULL otherwise. Every callback below runs in that window.
/// - After registration only the kernel writes to `proto` (its list node, slab, counters); Rust
///   code never reads or writes the C structs after [`VTable::new`] other than through their
///   raw pointers, handed to C; the one exception is `pernet.id`, set to `net_id` by
///   [`super::Registration`] while the table is not registered.
/// - `net_id` is written by `register_pernet_subsys()` only, before any namespace's `init`
///   runs, and read only by callbacks and socks of the registered family: it is the
///   `net_generic` slot holding each namespace's [`Protocol::NetData`], initialised by the pernet
///   `init` and dropped by its `exit`.
pub struct VTable<T: Protocol> {
    pub(super) proto: Opaque<bindings::proto>,
    pub(super) ops: Opaque<bindings::proto_ops>,
    pub(super) protosw: Opaque<ProtoSw>,
    pub(super) pernet: Opaque<bindings::pernet_operations>,
    /// The `/proc/net` file's callbacks when it is listed entry by entry
    /// ([`Protocol::proc_seek`]); unused otherwise.
    pub(super) seq_ops: Opaque<bindings::seq_operations>,
    /// The `net_generic` id of the family's per-namespace state, written by
    /// `register_pernet_subsys()` (through `pernet.id`) before any namespace's `init` runs.
    pub(super) net_id: Opaque<c_uint>,
    pub(super) registered: AtomicBool,
    pub(super) shared: AtomicPtr<T::Shared>,
    _family: PhantomData<T>,
}

// SAFETY: Rust code does not access the C structs through `&VTable` except to take their raw
// pointers (see the type invariants); the kernel serialises its own accesses (proto_list_mutex,
// net_family_lock, RCU). `registered` is atomic.
unsafe impl<T: Protocol> Sync for VTable<T> {}

/// Copies `name` (nul included) into a fixed `char[N]`, at compile time.
const fn c_name<const N: usize>(name: &CStr) -> [c_char; N] {
    let bytes = super::compat::c_str_bytes_with_nul(name);
    assert!(
        bytes.len() <= N,
        "Protocol::NAME is too long for struct proto"
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

impl<T: Protocol + HasVTable> VTable<T> {
    /// Builds the tables of family `T`, owned by `module`.
    ///
    /// Meant for a `static` initialiser (see [`crate::module_family!`]): it is evaluated at compile
    /// time, so a `NAME` that is too long is a build error.
    pub const fn new(module: &ThisModule) -> Self {
        let owner = module.as_ptr();
        assert!(
            (T::FAMILY as u32) < bindings::NPROTO,
            "Protocol::FAMILY must be below NPROTO"
        );
        // `Protocol::Cb` fits in `skb->cb`.
        let () = super::skb::CbCheck::<T>::OK;
        assert!(
            !T::HAS_PROC_SEEK
                || (T::HAS_PROC_SHOW && T::HAS_PROC_SHOW_ENTRY && T::PROC_NET.is_some()),
            "Protocol::proc_seek needs PROC_NET, proc_show (the header) and proc_show_entry"
        );
        Self {
            // INVARIANT: every field the socket core reads is set; the rest is zero, as in a C
            // designated initialiser.
            proto: Opaque::new(bindings::proto {
                name: c_name(T::NAME),
                owner,
                obj_size: SockObj::<T>::SIZE as u32,
                // The per-socket data, called by the family's `create` (inet: `sk_prot->init`).
                init: Some(init_callback::<T>),
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
                accept: if T::HAS_ACCEPT {
                    Some(accept_callback::<T>)
                } else {
                    Some(bindings::sock_no_accept)
                },
                getname: if T::HAS_GETNAME {
                    Some(getname_callback::<T>)
                } else {
                    Some(bindings::sock_no_getname)
                },
                poll: if T::HAS_POLL {
                    Some(poll_callback::<T>)
                } else {
                    Some(bindings::datagram_poll)
                },
                ioctl: if T::HAS_IOCTL {
                    Some(ioctl_callback::<T>)
                } else {
                    Some(no_ioctl_callback)
                },
                gettstamp: Some(bindings::sock_gettstamp),
                listen: if T::HAS_LISTEN {
                    Some(listen_callback::<T>)
                } else {
                    Some(bindings::sock_no_listen)
                },
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
            protosw: Opaque::new(ProtoSw {
                sock_type: T::TYPE.as_raw(),
                protocol: T::PROTOCOL,
                // Set by `Registration` (pointers into this very static).
                prot: ptr::null_mut(),
                ops: ptr::null(),
                owner,
            }),
            pernet: Opaque::new(bindings::pernet_operations {
                // The namespace's `Protocol::NetData` (in the `size` bytes the netns core
                // allocates for it) and `/proc/net` file. `id` is set by `Registration`, which
                // knows the static's address.
                init: if T::HAS_PROC_SHOW {
                    Some(super::proc::net_init_proc::<T>)
                } else {
                    Some(super::proc::net_init::<T>)
                },
                exit: if T::HAS_PROC_SHOW {
                    Some(super::proc::net_exit_proc::<T>)
                } else {
                    Some(super::proc::net_exit::<T>)
                },
                size: NetObj::<T>::SIZE,
                // SAFETY: `struct pernet_operations` is valid when zeroed (empty list head,
                // no generic id).
                ..unsafe {
                    core::mem::MaybeUninit::<bindings::pernet_operations>::zeroed().assume_init()
                }
            }),
            seq_ops: Opaque::new(if T::HAS_PROC_SEEK {
                super::proc::seq_ops::<T>()
            } else {
                // SAFETY: `struct seq_operations` is valid when zeroed (NULL callbacks); never
                // handed to C without `proc_seek`.
                unsafe {
                    core::mem::MaybeUninit::<bindings::seq_operations>::zeroed().assume_init()
                }
            }),
            net_id: Opaque::new(0),
            registered: AtomicBool::new(false),
            shared: AtomicPtr::new(ptr::null_mut()),
            _family: PhantomData,
        }
    }
}

impl<T: Protocol> VTable<T> {
    /// The per-namespace state of `net`.
    ///
    /// # Safety
    ///
    /// The family is registered and `net`'s `init` callback has run and its `exit` callback
    /// has not (a socket of the family in `net` holds `net`: see [`super::HeldSock::net_data`]),
    /// for as long as the returned reference is used.
    pub(crate) unsafe fn net_data(&self, net: *const bindings::net) -> &T::NetData {
        // SAFETY: `net_id` was written by `register_pernet_subsys()` before any namespace's
        // `init` ran, and is not written again while registered (function safety contract).
        let id = unsafe { *self.net_id.get() };
        // SAFETY: `net` is live, and `id` is its generic slot holding the `NetObj::<T>::SIZE`
        // bytes that `net_init` initialised as a `T::NetData` (function safety contract).
        unsafe { &*NetObj::<T>::data_ptr(bindings::net_generic(net, id)) }
    }

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
