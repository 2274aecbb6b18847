// SPDX-License-Identifier: GPL-2.0

//! The socket layer's error codes that `kernel::error::code` of a stock 6.12 kernel lacks.
//!
//! Their values come from the target kernel's `<uapi/asm-generic/errno.h>` through the
//! module's generated bindings. Import them by name (`use pf::code::{EADDRINUSE, ...}`): a
//! named import takes precedence over the prelude's glob, so a later kernel that adds one of
//! them to `kernel::error::code` does not make its uses ambiguous.

use super::bindings;
use core::num::NonZeroI32;
use kernel::error::Error;

/// The [`Error`] for `errno`, at compile time.
///
/// `kernel::error::Error` has no public `const` constructor in 6.12 (`declare_err!` uses a
/// private one), so this is the one place that builds an `Error` from its representation.
const fn errno(errno: u32) -> Error {
    assert!(errno > 0 && errno <= bindings::MAX_ERRNO, "not an errno");
    let Some(value) = NonZeroI32::new(-(errno as i32)) else {
        panic!("not an errno")
    };
    // SAFETY: in 6.12, `Error` is a struct with exactly one field, a `NonZeroI32` holding the
    // negative errno (its invariant: `-MAX_ERRNO..0`, checked above). `transmute` only
    // compiles for types of the same size, and a struct the size of its only field holds that
    // field at offset 0, so the two have the same representation. `Registration::register`
    // checks the result against `Error::from_errno` at run time as well.
    unsafe { core::mem::transmute::<NonZeroI32, Error>(value) }
}

macro_rules! codes {
    ($($name:ident: $doc:literal),* $(,)?) => {
        $(
            #[doc = $doc]
            pub const $name: Error = errno(bindings::$name);
        )*

        /// Whether every code above is the `Error` that `Error::from_errno` makes of its value.
        pub(crate) fn check() -> bool {
            true $(&& $name == Error::from_errno(-(bindings::$name as i32)))*
        }
    };
}

codes! {
    EDESTADDRREQ: "Destination address required.",
    EMSGSIZE: "Message too long.",
    EPROTONOSUPPORT: "Protocol not supported.",
    ESOCKTNOSUPPORT: "Socket type not supported.",
    EOPNOTSUPP: "Operation not supported on transport endpoint.",
    EAFNOSUPPORT: "Address family not supported by protocol.",
    EADDRINUSE: "Address already in use.",
    EADDRNOTAVAIL: "Cannot assign requested address.",
    ENOBUFS: "No buffer space available.",
    EISCONN: "Transport endpoint is already connected.",
    ENOTCONN: "Transport endpoint is not connected.",
    ECONNREFUSED: "Connection refused.",
    ECONNRESET: "Connection reset by peer.",
    EALREADY: "Operation already in progress.",
}
