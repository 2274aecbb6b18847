// SPDX-License-Identifier: GPL-2.0

//! Everything that differs between the kernel crate generations pf/ builds against, in one
//! place: the 6.12 LTS kernel crate, and the 7.x one (Debian's 7.2 and 7.3 kernels).
//!
//! Kbuild derives the generation from the target kernel's version (the only place a kernel
//! version is looked at): `rpd_kernel_7` for 7.0 and later, `rpd_kernel_7_3` for 7.3 and later;
//! 6.12 sets neither. Only this module tests them; the rest of pf/ and the behaviour files
//! (`rust_pf_demo.rs`, `rust_pf_demo_seqpacket.rs`, `tests/kmod/*.rs`) use what is here, in the
//! same form on every kernel. The C side's differences (the socket layer's prototypes) are
//! hidden by the C shim (`pf/shim.c`) where a wrapper can, and by `SockaddrArg` where the type
//! of a callback's argument changed.
//!
//! | What | 6.12 | 7.x |
//! |---|---|---|
//! | [`ARef`], [`AlwaysRefCounted`] | `kernel::types` | `kernel::sync::aref` |
//! | [`pin_init_array_from_fn`] | `kernel::init` | the `pin_init` crate |
//! | a plain value as `impl PinInit<T, E>` ([`value`]) | the value (any `E`) | `Ok(value)` (a bare value is `PinInit<T, Infallible>` only) |
//! | running an initialiser (`init_in_place`) | `__pinned_init` | `__pinned_init`; 7.3: `__init` |
//! | `module!`'s authors ([`crate::module_family!`], ...) | `author: "A"` | `authors: ["A"]` |
//! | the module's `THIS_MODULE` (`crate::__pf_this_module!`) | a static `THIS_MODULE` | 7.2 the same; 7.3: `<M as ModuleMetadata>::THIS_MODULE` |
//! | `CStr` (`c_str_bytes_with_nul`) | the kernel's own (`as_bytes_with_nul`) | core's, with `CStrExt` (`to_bytes_with_nul`) |
//! | `UserSlice::new` (`user_slice`) | takes a `usize` address | takes a `UserPtr` |
//! | `RBTree::cursor_front_mut` (`RBTreeCursorMut`) | `cursor_front` (takes `&mut self`) | `cursor_front_mut` |
//! | flag sets ([`super::MsgFlags`]) | `impl_flags!`: a copy of 7.x's, here | `kernel::impl_flags!` |
//! | `proto_ops` `bind`/`connect` address (`SockaddrArg`) | `struct sockaddr *` | `struct sockaddr_unsized *` |
//! | `sock_i_ino`, `sock_queue_rcv_skb` | exported function; inline over `sock_queue_rcv_skb_reason(.., NULL)` | inline; inline mapping the returned drop reason to an errno: both called through the shim |
//!
//! Behaviour files import the items with `use pf::compat::*;` (the extension trait
//! `RBTreeCursorMut` exists on 6.12 only).

use super::bindings;
use kernel::prelude::*;

#[cfg(not(rpd_kernel_7))]
pub use kernel::types::{ARef, AlwaysRefCounted};

#[cfg(rpd_kernel_7)]
pub use kernel::sync::aref::{ARef, AlwaysRefCounted};

#[cfg(not(rpd_kernel_7))]
pub use kernel::init::pin_init_array_from_fn;

#[cfg(rpd_kernel_7)]
pub use pin_init::pin_init_array_from_fn;

/// `value` as an initialiser of a `T` that does not fail: what a [`super::Protocol`]'s
/// `shared`, `new_net` and `new_data` return for data that needs no pinned initialisation
/// (no lock, no wait queue).
#[cfg(not(rpd_kernel_7))]
pub fn value<T, E>(value: T) -> impl PinInit<T, E> {
    value
}

/// `value` as an initialiser of a `T` that does not fail: what a [`super::Protocol`]'s
/// `shared`, `new_net` and `new_data` return for data that needs no pinned initialisation
/// (no lock, no wait queue).
#[cfg(rpd_kernel_7)]
pub fn value<T, E>(value: T) -> impl PinInit<T, E> {
    Ok(value)
}

/// Runs `init` on `slot`: on `Ok` the slot holds an initialised, pinned `T`; on `Err` nothing
/// was written.
///
/// # Safety
///
/// `slot` is valid for writes of a `T`, aligned, and does not move until the `T` is dropped.
#[cfg(not(rpd_kernel_7_3))]
pub(crate) unsafe fn init_in_place<T, E>(init: impl PinInit<T, E>, slot: *mut T) -> Result<(), E> {
    // SAFETY: per the function safety contract.
    unsafe { init.__pinned_init(slot) }
}

/// Runs `init` on `slot`: on `Ok` the slot holds an initialised, pinned `T`; on `Err` nothing
/// was written.
///
/// # Safety
///
/// `slot` is valid for writes of a `T`, aligned, and does not move until the `T` is dropped.
#[cfg(rpd_kernel_7_3)]
pub(crate) unsafe fn init_in_place<T, E>(init: impl PinInit<T, E>, slot: *mut T) -> Result<(), E> {
    // SAFETY: per the function safety contract.
    unsafe { PinInit::__init(init, slot) }
}

/// The bytes of `s`, its nul included.
#[cfg(not(rpd_kernel_7))]
pub(crate) const fn c_str_bytes_with_nul(s: &CStr) -> &[u8] {
    s.as_bytes_with_nul()
}

/// The bytes of `s`, its nul included.
#[cfg(rpd_kernel_7)]
pub(crate) const fn c_str_bytes_with_nul(s: &CStr) -> &[u8] {
    s.to_bytes_with_nul()
}

/// The user memory of `len` bytes at address `addr` (an `ioctl` argument).
pub(crate) fn user_slice(addr: usize, len: usize) -> kernel::uaccess::UserSlice {
    #[cfg(rpd_kernel_7)]
    let addr = kernel::uaccess::UserPtr::from_addr(addr);
    kernel::uaccess::UserSlice::new(addr, len)
}

/// The address argument of `proto_ops::bind` and `proto_ops::connect` (and `kernel_bind()`).
#[cfg(not(rpd_kernel_7))]
pub(crate) type SockaddrArg = bindings::sockaddr;

/// The address argument of `proto_ops::bind` and `proto_ops::connect` (and `kernel_bind()`).
#[cfg(rpd_kernel_7)]
pub(crate) type SockaddrArg = bindings::sockaddr_unsized;

/// 7.x's `RBTree::cursor_front_mut()` on 6.12, whose `cursor_front()` is the same function
/// (a cursor that can remove, from `&mut self`).
#[cfg(not(rpd_kernel_7))]
pub trait RBTreeCursorMut<K, V> {
    /// A cursor on the first (smallest) node, `None` if the tree is empty.
    fn cursor_front_mut(&mut self) -> Option<kernel::rbtree::Cursor<'_, K, V>>;
}

#[cfg(not(rpd_kernel_7))]
impl<K, V> RBTreeCursorMut<K, V> for kernel::rbtree::RBTree<K, V> {
    fn cursor_front_mut(&mut self) -> Option<kernel::rbtree::Cursor<'_, K, V>> {
        self.cursor_front()
    }
}

#[cfg(rpd_kernel_7)]
pub(crate) use kernel::impl_flags;

// 7.x's `kernel::impl_flags!` (rust/kernel/impl_flags.rs, GPL-2.0), copied for 6.12's kernel
// crate, which does not have it: the flag sets of pf/ are the same types on both.
#[cfg(not(rpd_kernel_7))]
macro_rules! impl_flags {
    (
        $(#[$outer_flags:meta])*
        $vis_flags:vis struct $flags:ident($ty:ty);

        $(#[$outer_flag:meta])*
        $vis_flag:vis enum $flag:ident {
            $(
                $(#[$inner_flag:meta])*
                $name:ident = $value:expr
            ),+ $( , )?
        }
    ) => {
        $(#[$outer_flags])*
        #[repr(transparent)]
        $vis_flags struct $flags($ty);

        $(#[$outer_flag])*
        #[repr($ty)]
        $vis_flag enum $flag {
            $(
                $(#[$inner_flag])*
                $name = $value
            ),+
        }

        impl ::core::convert::From<$flag> for $flags {
            #[inline]
            fn from(value: $flag) -> Self {
                Self(value as $ty)
            }
        }

        impl ::core::convert::From<$flags> for $ty {
            #[inline]
            fn from(value: $flags) -> Self {
                value.0
            }
        }

        impl ::core::ops::BitOr for $flags {
            type Output = Self;
            #[inline]
            fn bitor(self, rhs: Self) -> Self::Output {
                Self(self.0 | rhs.0)
            }
        }

        impl ::core::ops::BitOrAssign for $flags {
            #[inline]
            fn bitor_assign(&mut self, rhs: Self) {
                *self = *self | rhs;
            }
        }

        impl ::core::ops::BitOr<$flag> for $flags {
            type Output = Self;
            #[inline]
            fn bitor(self, rhs: $flag) -> Self::Output {
                self | Self::from(rhs)
            }
        }

        impl ::core::ops::BitOrAssign<$flag> for $flags {
            #[inline]
            fn bitor_assign(&mut self, rhs: $flag) {
                *self = *self | rhs;
            }
        }

        impl ::core::ops::BitAnd for $flags {
            type Output = Self;
            #[inline]
            fn bitand(self, rhs: Self) -> Self::Output {
                Self(self.0 & rhs.0)
            }
        }

        impl ::core::ops::BitAndAssign for $flags {
            #[inline]
            fn bitand_assign(&mut self, rhs: Self) {
                *self = *self & rhs;
            }
        }

        impl ::core::ops::BitAnd<$flag> for $flags {
            type Output = Self;
            #[inline]
            fn bitand(self, rhs: $flag) -> Self::Output {
                self & Self::from(rhs)
            }
        }

        impl ::core::ops::BitAndAssign<$flag> for $flags {
            #[inline]
            fn bitand_assign(&mut self, rhs: $flag) {
                *self = *self & rhs;
            }
        }

        impl ::core::ops::BitXor for $flags {
            type Output = Self;
            #[inline]
            fn bitxor(self, rhs: Self) -> Self::Output {
                Self((self.0 ^ rhs.0) & Self::all_bits())
            }
        }

        impl ::core::ops::BitXorAssign for $flags {
            #[inline]
            fn bitxor_assign(&mut self, rhs: Self) {
                *self = *self ^ rhs;
            }
        }

        impl ::core::ops::BitXor<$flag> for $flags {
            type Output = Self;
            #[inline]
            fn bitxor(self, rhs: $flag) -> Self::Output {
                self ^ Self::from(rhs)
            }
        }

        impl ::core::ops::BitXorAssign<$flag> for $flags {
            #[inline]
            fn bitxor_assign(&mut self, rhs: $flag) {
                *self = *self ^ rhs;
            }
        }

        impl ::core::ops::Not for $flags {
            type Output = Self;
            #[inline]
            fn not(self) -> Self::Output {
                Self((!self.0) & Self::all_bits())
            }
        }

        impl ::core::ops::BitOr for $flag {
            type Output = $flags;
            #[inline]
            fn bitor(self, rhs: Self) -> Self::Output {
                $flags(self as $ty | rhs as $ty)
            }
        }

        impl ::core::ops::BitAnd for $flag {
            type Output = $flags;
            #[inline]
            fn bitand(self, rhs: Self) -> Self::Output {
                $flags(self as $ty & rhs as $ty)
            }
        }

        impl ::core::ops::BitXor for $flag {
            type Output = $flags;
            #[inline]
            fn bitxor(self, rhs: Self) -> Self::Output {
                $flags((self as $ty ^ rhs as $ty) & $flags::all_bits())
            }
        }

        impl ::core::ops::Not for $flag {
            type Output = $flags;
            #[inline]
            fn not(self) -> Self::Output {
                $flags((!(self as $ty)) & $flags::all_bits())
            }
        }

        impl $flags {
            /// Returns an empty instance where no flags are set.
            #[inline]
            pub const fn empty() -> Self {
                Self(0)
            }

            /// Returns a mask containing all valid flag bits.
            #[inline]
            pub const fn all_bits() -> $ty {
                0 $( | $value )+
            }

            /// Checks if a specific flag is set.
            #[inline]
            pub fn contains(self, flag: $flag) -> bool {
                (self.0 & flag as $ty) == flag as $ty
            }

            /// Checks if at least one of the provided flags is set.
            #[inline]
            pub fn contains_any(self, flags: $flags) -> bool {
                (self.0 & flags.0) != 0
            }

            /// Checks if all of the provided flags are set.
            #[inline]
            pub fn contains_all(self, flags: $flags) -> bool {
                (self.0 & flags.0) == flags.0
            }
        }
    };
}

#[cfg(not(rpd_kernel_7))]
pub(crate) use impl_flags;
