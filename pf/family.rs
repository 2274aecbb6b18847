// SPDX-License-Identifier: GPL-2.0

//! The [`Family`] trait: what a protocol family implements.

use kernel::prelude::*;

/// A socket type, the `type` argument of `socket()` with the `SOCK_CLOEXEC`/`SOCK_NONBLOCK`
/// flags already removed by the syscall (`enum sock_type` in C).
///
/// The socket layer has checked `0 <= type < SOCK_MAX` before a family sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SockType(i16);

impl SockType {
    /// `SOCK_STREAM`: a connection-oriented byte stream.
    pub const STREAM: Self = Self(kernel::bindings::sock_type_SOCK_STREAM as i16);
    /// `SOCK_DGRAM`: connectionless datagrams.
    pub const DGRAM: Self = Self(kernel::bindings::sock_type_SOCK_DGRAM as i16);
    /// `SOCK_RAW`.
    pub const RAW: Self = Self(kernel::bindings::sock_type_SOCK_RAW as i16);
    /// `SOCK_SEQPACKET`.
    pub const SEQPACKET: Self = Self(kernel::bindings::sock_type_SOCK_SEQPACKET as i16);

    pub(crate) fn from_raw(raw: i16) -> Self {
        Self(raw)
    }

    /// The C value.
    pub fn as_raw(self) -> i16 {
        self.0
    }
}

/// A socket protocol family.
///
/// Implement it with `#[vtable]` and declare the module with [`crate::module_family!`].
#[vtable]
pub trait Family: Sized + Sync + 'static {
    /// The family number (`AF_*`/`PF_*`), below `NPROTO`.
    const FAMILY: u16;

    /// The protocol's name: `/proc/net/protocols` and the name of the `struct sock` slab.
    /// At most 31 bytes.
    const NAME: &'static CStr;

    /// Decides whether `socket(FAMILY, sock_type, protocol)` is supported, before anything is
    /// allocated. `kern` is true for sockets the kernel creates for itself (`sock_create_kern`).
    ///
    /// The conventional errors are `ESOCKTNOSUPPORT` for a type the family does not implement and
    /// `EPROTONOSUPPORT` for an unknown protocol.
    fn check_create(sock_type: SockType, protocol: i32, kern: bool) -> Result;
}
