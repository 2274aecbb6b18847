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

mod bindings;
mod callbacks;
pub mod code;
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
pub use msg::{Msg, SockAddr};
pub use proc::SeqFile;
pub use registration::Registration;
pub use skb::{Datagram, SkBuff};
pub use sock::{HeldSock, NetId, Sock};
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

/// A uniformly random number in `0..ceil` (`ceil` > 0; 0 is taken as 1), from the kernel's CRNG.
pub fn random_below(ceil: u32) -> u32 {
    bindings::get_random_u32_below(ceil)
}

/// `AF_MAX`: family numbers are below it.
pub const AF_MAX: u32 = bindings::AF_MAX;

/// `AF_UNSPEC`: the address family of a `connect()` that dissolves the association.
pub const AF_UNSPEC: u16 = bindings::AF_UNSPEC as u16;

/// Capabilities a family checks with [`Sock::net_capable`] (`<uapi/linux/capability.h>`).
pub mod cap {
    use super::bindings;

    /// `CAP_NET_BIND_SERVICE`: binding to a privileged port.
    pub const NET_BIND_SERVICE: u32 = bindings::CAP_NET_BIND_SERVICE;
    /// `CAP_NET_RAW`: raw sockets.
    pub const NET_RAW: u32 = bindings::CAP_NET_RAW;
}

/// The `MSG_*` flags of `sendmsg()`/`recvmsg()` (`<linux/socket.h>`), as [`Msg::flags`] and the
/// `flags` argument of [`Family::recvmsg`] carry them.
pub mod msg_flags {
    use super::bindings;

    /// `MSG_OOB`: out-of-band data.
    pub const OOB: i32 = bindings::MSG_OOB as i32;
    /// `MSG_PEEK`: look at the next message without taking it.
    pub const PEEK: i32 = bindings::MSG_PEEK as i32;
    /// `MSG_TRUNC`: report (or, on receive, ask for) the real length of a longer message.
    pub const TRUNC: i32 = bindings::MSG_TRUNC as i32;
    /// `MSG_DONTWAIT`: do not block.
    pub const DONTWAIT: i32 = bindings::MSG_DONTWAIT as i32;
    /// `MSG_ERRQUEUE`: read the error queue.
    pub const ERRQUEUE: i32 = bindings::MSG_ERRQUEUE as i32;
}

/// The bits of [`HeldSock::shutdown_mask`] (`sk->sk_shutdown`).
pub mod shutdown {
    use super::bindings;

    /// No more receiving.
    pub const RCV: u8 = bindings::RCV_SHUTDOWN as u8;
    /// No more sending.
    pub const SEND: u8 = bindings::SEND_SHUTDOWN as u8;
    /// Both directions.
    pub const BOTH: u8 = bindings::SHUTDOWN_MASK as u8;
}
