// SPDX-License-Identifier: GPL-2.0

//! A safe abstraction for socket protocol families (`struct net_proto_family`).
//!
//! C headers: [`include/linux/net.h`](srctree/include/linux/net.h),
//! [`include/net/sock.h`](srctree/include/net/sock.h).
//!
//! Two levels, as in the kernel. The family ([`Family`]) owns the `struct net_proto_family`
//! registered with `sock_register()` and a protocol switch ([`Switch`], inet's `inetsw`); its
//! `create` looks `(type, protocol)` up in the switch as `inet_create()` does (loading protocol
//! modules on demand). Each protocol ([`Protocol`], `#[vtable]`) owns its tables:
//!
//! - `struct proto`, registered with `proto_register()`: its `struct sock` slab and allocator,
//!   its line in `/proc/net/protocols`, and `init` (its per-socket data);
//! - `struct proto_ops`, installed on every socket of the protocol: each operation it does not
//!   implement gets the kernel's `sock_no_*` (or `datagram_poll`) behaviour;
//! - its per-namespace state and `/proc/net` file (`pernet_operations`), and its switch entry.
//!
//! [`crate::module_family!`] declares the family's module with its built-in protocols;
//! [`crate::module_protocol!`] a module that adds one protocol through the family module's
//! exported switch API. All FFI and all `unsafe` of the
//! project live in this directory; the family's behaviour lives in the crate root, without
//! `unsafe`.

mod addr;
mod bindings;
mod callbacks;
pub mod code;
pub mod compat;
mod conn;
mod family;
mod flags;
mod kernel_socket;
mod layout;
mod msg;
mod proc;
mod protocol;
mod registration;
mod skb;
mod sock;
mod vtable;

pub use addr::{Address, ConnectTarget, NoAddress};
pub use conn::{poll, wait, ChildSock, SockState, Timeout};
pub use family::{
    switch_register, switch_unregister, Family, FamilyRegistration, FamilyTable, HasFamilyTable,
    ProtoSw, Switch,
};
pub use flags::{Capability, MsgFlag, MsgFlags, ShutdownSet};
pub use kernel_socket::KernelSocket;
pub use msg::Msg;
pub use proc::SeqFile;
pub use protocol::{Protocol, Shutdown, SockType};
pub use registration::{exported_switch, Registration, SwitchOps};
pub use skb::{Datagram, EmptySkb, SkBuff, CB_SIZE};
pub use sock::{HeldSock, NetId, Sock};
pub use vtable::{BuiltIn, HasVTable, VTable};

/// Declares the kernel module of a socket protocol family: the family (its number, its
/// `struct net_proto_family`, its protocol switch) and its built-in protocols.
///
/// `family` implements [`Family`]; each of `protocols` implements [`Protocol`] and gets its own
/// `struct proto` (slab, line in `/proc/net/protocols`), `proto_ops` and switch entry. Other
/// modules add protocols with [`crate::module_protocol!`]. The other fields are `module!`'s,
/// in its order (`name`, `authors`, `description`, `license`, `alias`, ...), in the same form on
/// every kernel (see [`crate::module_plain!`]); give it `alias: ["net-pf-N"]`, N being
/// [`Family::FAMILY`], so that `socket(N, ...)` loads the module on demand.
///
/// Init registers the protocols (`proto_register`, pernet, switch) and then the family
/// (`sock_register`); exit undoes it in reverse.
///
/// # Examples
///
/// ```ignore
/// module_family! {
///     family: MyFamily,
///     protocols: [MyDgram, MyRaw],
///     name: "my_family",
///     authors: ["Me"],
///     description: "An example",
///     license: "GPL",
///     alias: ["net-pf-18"],
/// }
/// ```
#[macro_export]
macro_rules! module_family {
    (family: $family:ty, protocols: [$($proto:ty),* $(,)?], $($rest:tt)*) => {
        /// The family's `struct net_proto_family` and its switch.
        static __FAMILY_TABLE: $crate::pf::FamilyTable<$family> =
            $crate::pf::FamilyTable::<$family>::new($crate::__pf_this_module!(__FamilyModule));

        impl $crate::pf::HasFamilyTable for $family {
            fn table() -> &'static $crate::pf::FamilyTable<Self> {
                &__FAMILY_TABLE
            }
        }

        $(
            impl $crate::pf::HasVTable for $proto {
                fn vtable() -> &'static $crate::pf::VTable<Self> {
                    /// The protocol's tables.
                    static VTABLE: $crate::pf::VTable<$proto> =
                        $crate::pf::VTable::<$proto>::new($crate::__pf_this_module!(__FamilyModule));
                    &VTABLE
                }
            }

            // SAFETY: the module below registers the protocol in its init before the family,
            // and keeps the registration until its exit.
            unsafe impl $crate::pf::BuiltIn for $proto {
                type Family = $family;
            }
        )*

        /// The family's switch, for the protocols built into this module.
        const __LOCAL_SWITCH: $crate::pf::SwitchOps = $crate::pf::SwitchOps {
            insert: $crate::pf::switch_register::<$family>,
            remove: $crate::pf::switch_unregister::<$family>,
        };

        /// The family module's switch API for protocol modules (exported by pf/shim.c as
        /// `rust_pf_demo_protosw_register` in the module built with `RUST_PF_DEMO_EXPORTS`).
        ///
        /// # Safety
        ///
        /// As [`pf::switch_register`].
        #[no_mangle]
        pub unsafe extern "C" fn rust_pf_demo_rs_protosw_register(
            sw: *mut $crate::pf::ProtoSw,
        ) -> ::kernel::ffi::c_int {
            // SAFETY: the caller's contract.
            unsafe { $crate::pf::switch_register::<$family>(sw) }
        }

        /// Removes a protocol module's entry (`rust_pf_demo_protosw_unregister`).
        #[no_mangle]
        pub extern "C" fn rust_pf_demo_rs_protosw_unregister(sw: *mut $crate::pf::ProtoSw) {
            $crate::pf::switch_unregister::<$family>(sw)
        }

        /// The module: the family's registration, then its protocols' (dropped in that order:
        /// the family is unregistered first, so no `create` runs while protocols go).
        struct __FamilyModule {
            _family: ::core::pin::Pin<::kernel::alloc::KBox<$crate::pf::FamilyRegistration<$family>>>,
            _protocols: ($($crate::pf::Registration<$proto>,)*),
        }

        impl ::kernel::Module for __FamilyModule {
            fn init(_module: &'static ::kernel::ThisModule) -> ::kernel::error::Result<Self> {
                let family = $crate::pf::FamilyRegistration::new(&__FAMILY_TABLE)?;
                let protocols = ($(
                    // SAFETY: the registrations live in the module and are dropped in its
                    // exit, when no socket (each holds a module reference) is left.
                    unsafe {
                        $crate::pf::Registration::register(
                            <$proto as $crate::pf::HasVTable>::vtable(),
                            __LOCAL_SWITCH,
                        )?
                    },
                )*);
                // SAFETY: called once; `family` is dropped in the module's exit.
                unsafe { family.register()? };
                Ok(Self { _family: family, _protocols: protocols })
            }
        }

        $crate::module_plain! {
            type: __FamilyModule,
            $($rest)*
        }
    };
}

/// Declares a kernel module that adds one protocol to a family whose module exports the switch
/// API (rust_pf_demo): its `init` registers the protocol's `struct proto` and pernet state and
/// calls `rust_pf_demo_protosw_register()`, so the module depends on the family's module.
/// Give it the aliases the family's `create` asks for: `net-pf-F-proto-P-type-T` (and
/// `net-pf-F-proto-0-type-T` if it is the type's default).
#[macro_export]
macro_rules! module_protocol {
    (protocol: $proto:ty, $($rest:tt)*) => {
        impl $crate::pf::HasVTable for $proto {
            fn vtable() -> &'static $crate::pf::VTable<Self> {
                /// The protocol's tables.
                static VTABLE: $crate::pf::VTable<$proto> =
                    $crate::pf::VTable::<$proto>::new($crate::__pf_this_module!(__ProtocolModule));
                &VTABLE
            }
        }

        /// The module: holds the protocol's registration for as long as it is loaded.
        struct __ProtocolModule {
            _registration: $crate::pf::Registration<$proto>,
        }

        impl ::kernel::Module for __ProtocolModule {
            fn init(_module: &'static ::kernel::ThisModule) -> ::kernel::error::Result<Self> {
                // SAFETY: the registration lives in the module and is dropped in its exit,
                // when no socket (each holds a module reference) is left.
                let registration = unsafe {
                    $crate::pf::Registration::register(
                        <$proto as $crate::pf::HasVTable>::vtable(),
                        $crate::pf::exported_switch::<$proto>(),
                    )?
                };
                Ok(Self { _registration: registration })
            }
        }

        $crate::module_plain! {
            type: __ProtocolModule,
            $($rest)*
        }
    };
}

/// `module!` with its fields in the form of the current kernel crate on every kernel pf/
/// builds against: `authors: ["A"]` (6.12's `module!` takes one `author: "A"`: there the list
/// must hold one name). [`crate::module_family!`] and [`crate::module_protocol!`] use it; a module
/// of neither kind uses it directly.
///
/// # Examples
///
/// ```ignore
/// module_plain! {
///     type: MyModule,
///     name: "my_module",
///     authors: ["Me"],
///     description: "An example",
///     license: "GPL",
/// }
/// ```
#[cfg(not(rpd_kernel_7))]
#[macro_export]
macro_rules! module_plain {
    (type: $type:tt, name: $name:tt, authors: [$author:tt $(,)?], $($rest:tt)*) => {
        ::kernel::prelude::module! {
            type: $type,
            name: $name,
            author: $author,
            $($rest)*
        }
    };
}

/// `module!` with its fields in the form of the current kernel crate on every kernel pf/
/// builds against: `authors: ["A"]` (6.12's `module!` takes one `author: "A"`: there the list
/// must hold one name). [`crate::module_family!`] and [`crate::module_protocol!`] use it; a module
/// of neither kind uses it directly.
///
/// # Examples
///
/// ```ignore
/// module_plain! {
///     type: MyModule,
///     name: "my_module",
///     authors: ["Me"],
///     description: "An example",
///     license: "GPL",
/// }
/// ```
#[cfg(rpd_kernel_7)]
#[macro_export]
macro_rules! module_plain {
    ($($fields:tt)*) => {
        ::kernel::prelude::module! {
            $($fields)*
        }
    };
}

/// The `&'static ThisModule` of the module whose type (given to `module!`) is `$module`, for a
/// static's initialiser in [`crate::module_family!`] and [`crate::module_protocol!`]: `module!`'s
/// static `THIS_MODULE` (6.12, 7.2), `<$module as ModuleMetadata>::THIS_MODULE` (7.3, which has
/// no such static).
#[doc(hidden)]
#[cfg(not(rpd_kernel_7_3))]
#[macro_export]
macro_rules! __pf_this_module {
    ($module:ty) => {
        &THIS_MODULE
    };
}

/// The `&'static ThisModule` of the module whose type (given to `module!`) is `$module`, for a
/// static's initialiser in [`crate::module_family!`] and [`crate::module_protocol!`]: `module!`'s
/// static `THIS_MODULE` (6.12, 7.2), `<$module as ModuleMetadata>::THIS_MODULE` (7.3, which has
/// no such static).
#[doc(hidden)]
#[cfg(rpd_kernel_7_3)]
#[macro_export]
macro_rules! __pf_this_module {
    ($module:ty) => {
        &<$module as ::kernel::ModuleMetadata>::THIS_MODULE
    };
}

/// A uniformly random number in `0..ceil` (`ceil` > 0; 0 is taken as 1), from the kernel's CRNG.
pub fn random_below(ceil: u32) -> u32 {
    bindings::get_random_u32_below(ceil)
}

/// `AF_MAX`: family numbers are below it.
pub const AF_MAX: u32 = bindings::AF_MAX;
