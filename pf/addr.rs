// SPDX-License-Identifier: GPL-2.0

//! Socket addresses: a protocol's [`Address`] type (its `struct sockaddr_*`), which the layer
//! parses from what userspace gave and writes back for it; [`ConnectTarget`]; [`NoAddress`].

use super::bindings;
use core::ptr;
use kernel::prelude::*;

/// `sizeof(struct sockaddr_storage)`: the most the socket layer copies in or out.
pub(crate) const SOCKADDR_STORAGE: usize =
    core::mem::size_of::<bindings::__kernel_sockaddr_storage>();

/// `AF_UNSPEC`.
const AF_UNSPEC: u16 = bindings::AF_UNSPEC as u16;

/// A protocol's socket address, the C `struct sockaddr_*` of its family: `bind()`,
/// `connect()` and `sendto()` give one, `getsockname()`, `getpeername()` and `recvfrom()`
/// get one back ([`super::Protocol::Address`]).
///
/// The layer does the checks every family does alike, with the errnos of UDP and AF_UNIX: an
/// address shorter than [`Address::LEN`] bytes, or whose `sa_family` (the first two bytes) is not
/// [`Address::FAMILY`], is `EINVAL` before the protocol sees it; longer ones are accepted and
/// the rest ignored. It writes exactly [`Address::LEN`] bytes back, `sa_family` set: nothing
/// else of the caller's buffer is written or reported.
pub trait Address: Copy + Send + Sync + 'static {
    /// The family number every address of this type carries in `sa_family`.
    const FAMILY: u16;

    /// The size of the C struct, `sa_family` included: at least 2, at most
    /// `sizeof(struct sockaddr_storage)` (128) bytes (a build error otherwise).
    const LEN: usize;

    /// Decodes an address from its C layout: `bytes` is exactly [`Address::LEN`] bytes whose
    /// `sa_family` is [`Address::FAMILY`]. An error (usually `EINVAL`) fails the call.
    fn decode(bytes: &[u8]) -> Result<Self>;

    /// Writes the address in its C layout into `out`: exactly [`Address::LEN`] bytes, zeroed;
    /// the layer writes `sa_family` afterwards.
    fn encode(&self, out: &mut [u8]);
}

/// What `connect()` was given: an address, or `AF_UNSPEC`, which dissolves the association
/// (as `inet_dgram_connect()` calls the protocol's `disconnect`).
#[derive(Clone, Copy, Debug)]
pub enum ConnectTarget<A: Address> {
    /// `sa_family` `AF_UNSPEC`: forget the default destination.
    Unspec,
    /// An address of the protocol's family.
    Addr(A),
}

/// The [`super::Protocol::Address`] of a protocol without addresses (a raw monitor, say): no
/// value of it exists, so every address userspace gives is `EINVAL` and none is reported.
#[derive(Clone, Copy, Debug)]
pub enum NoAddress {}

impl Address for NoAddress {
    const FAMILY: u16 = AF_UNSPEC;
    const LEN: usize = 2;

    fn decode(_bytes: &[u8]) -> Result<Self> {
        Err(EINVAL)
    }

    fn encode(&self, _out: &mut [u8]) {
        match *self {}
    }
}

/// The build-time checks of an [`Address`] type.
struct Check<A>(core::marker::PhantomData<A>);

impl<A: Address> Check<A> {
    const LEN: usize = {
        assert!(
            A::LEN >= 2 && A::LEN <= SOCKADDR_STORAGE,
            "Address::LEN must be within 2..=sizeof(struct sockaddr_storage)"
        );
        A::LEN
    };
}

/// The family in the first two bytes of `bytes` (`EINVAL` if there are fewer).
fn family_of(bytes: &[u8]) -> Result<u16> {
    match bytes {
        [a, b, ..] => Ok(u16::from_ne_bytes([*a, *b])),
        _ => Err(EINVAL),
    }
}

/// Parses an address of `A` (`bind()`, `sendto()`): `EINVAL` if short or of another family.
pub(crate) fn parse<A: Address>(bytes: &[u8]) -> Result<A> {
    let len = Check::<A>::LEN;
    if bytes.len() < len || family_of(bytes)? != A::FAMILY {
        return Err(EINVAL);
    }
    A::decode(&bytes[..len])
}

/// Parses what `connect()` got: `AF_UNSPEC` (at least its two bytes), or an address of `A`.
pub(crate) fn parse_connect<A: Address>(bytes: &[u8]) -> Result<ConnectTarget<A>> {
    if family_of(bytes)? == AF_UNSPEC {
        return Ok(ConnectTarget::Unspec);
    }
    parse(bytes).map(ConnectTarget::Addr)
}

/// Writes `addr` into the kernel buffer `out` (at least `sizeof(struct sockaddr_storage)` bytes);
/// returns the length written.
///
/// # Safety
///
/// `out` is valid for writes of `SOCKADDR_STORAGE` bytes and overlaps nothing of ours.
pub(crate) unsafe fn write<A: Address>(addr: &A, out: *mut u8) -> usize {
    let len = Check::<A>::LEN;
    let mut bytes = [0u8; SOCKADDR_STORAGE];
    addr.encode(&mut bytes[..len]);
    bytes[..2].copy_from_slice(&A::FAMILY.to_ne_bytes());
    // SAFETY: `out` holds `SOCKADDR_STORAGE` >= `len` bytes (function safety contract).
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), out, len) };
    len
}

/// `addr` in a kernel `struct sockaddr_storage`, with its length (for `kernel_bind()` and
/// friends).
pub(crate) fn to_storage<A: Address>(addr: &A) -> (bindings::__kernel_sockaddr_storage, usize) {
    // SAFETY: an all-zero `sockaddr_storage` is valid.
    let mut ss: bindings::__kernel_sockaddr_storage = unsafe { core::mem::zeroed() };
    // SAFETY: `ss` is `SOCKADDR_STORAGE` bytes, ours.
    let len = unsafe { write(addr, ptr::addr_of_mut!(ss).cast::<u8>()) };
    (ss, len)
}
