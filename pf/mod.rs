// SPDX-License-Identifier: GPL-2.0

//! A safe abstraction for socket protocol families (`struct net_proto_family`).
//!
//! C headers: [`include/linux/net.h`](srctree/include/linux/net.h),
//! [`include/net/sock.h`](srctree/include/net/sock.h).
//!
//! A family implements [`Family`]: which `socket()` arguments it accepts and, through the
//! `#[vtable]`, the socket operations it supports. [`crate::module_family!`] turns that into the three
//! tables the socket layer wants, all owned by the calling module:
//!
//! - `struct proto`, registered with `proto_register()`: the `struct sock` slab and allocator;
//! - `struct proto_ops`, installed on every socket the family creates: each operation the family
//!   does not implement gets the kernel's `sock_no_*` (or `datagram_poll`) behaviour;
//! - `struct net_proto_family`, registered with `sock_register()`: its `create` callback is what
//!   `__sock_create()` calls after it has taken a reference on the family's module.
//!
//! It also declares the module itself with `module!`, whose `init` registers (`proto_register`
//! then `sock_register`) and whose `Drop` unregisters in reverse. All FFI and all `unsafe` of the
//! project live in this directory; the family's behaviour lives in the crate root, without
//! `unsafe`.

mod callbacks;
mod family;
mod kernel_socket;
mod msg;
mod proc;
mod registration;
mod skb;
mod sock;
mod vtable;

pub use family::{Family, Shutdown, SockType};
pub use kernel_socket::KernelSocket;
pub use msg::Msg;
pub use proc::SeqFile;
pub use registration::Registration;
pub use skb::{Datagram, SkBuff};
pub use sock::{NetId, Sock};
pub use vtable::{HasVTable, VTable};

/// Declares a kernel module whose only job is to register a socket protocol family.
///
/// The family type must implement [`Family`]. Every other field is passed to `module!` as is
/// (`name`, `author`, `description`, `license`, `alias`, ...); give it `alias: ["net-pf-N"]`, N
/// being [`Family::FAMILY`], so that `socket(N, ...)` loads the module on demand.
///
/// # Examples
///
/// ```ignore
/// module_family! {
///     family: MyFamily,
///     name: "my_family",
///     author: "Me",
///     description: "An example",
///     license: "GPL",
///     alias: ["net-pf-18"],
/// }
/// ```
#[macro_export]
macro_rules! module_family {
    (family: $family:ty, $($rest:tt)*) => {
        /// The family's tables: `struct proto`, `struct proto_ops` and `struct net_proto_family`.
        static __FAMILY_VTABLE: $crate::pf::VTable<$family> =
            $crate::pf::VTable::<$family>::new(&THIS_MODULE);

        impl $crate::pf::HasVTable for $family {
            fn vtable() -> &'static $crate::pf::VTable<Self> {
                &__FAMILY_VTABLE
            }
        }

        /// The module: holds the family's registration for as long as it is loaded.
        struct __FamilyModule {
            _registration: $crate::pf::Registration<$family>,
        }

        impl ::kernel::Module for __FamilyModule {
            fn init(_module: &'static ::kernel::ThisModule) -> ::kernel::error::Result<Self> {
                // SAFETY: the registration lives in the module and is dropped in its exit,
                // when no socket (each holds a module reference) is left.
                let registration = unsafe { $crate::pf::Registration::register(&__FAMILY_VTABLE)? };
                Ok(Self { _registration: registration })
            }
        }

        ::kernel::prelude::module! {
            type: __FamilyModule,
            $($rest)*
        }
    };
}

/// A uniformly random number in `0..ceil` (`ceil` > 0), from the kernel's CRNG.
pub fn random_below(ceil: u32) -> u32 {
    // SAFETY: `get_random_u32_below` has no preconditions other than `ceil` > 0, checked here.
    unsafe { kernel::bindings::get_random_u32_below(ceil.max(1)) }
}
