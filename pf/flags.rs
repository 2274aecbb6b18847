// SPDX-License-Identifier: GPL-2.0

//! Typed flags of the socket calls: [`MsgFlags`] (`MSG_*`), [`ShutdownSet`] (`sk_shutdown`)
//! and [`Capability`] (`CAP_*`).
//!
//! C headers: [`include/linux/socket.h`](srctree/include/linux/socket.h),
//! [`include/net/sock.h`](srctree/include/net/sock.h),
//! [`include/uapi/linux/capability.h`](srctree/include/uapi/linux/capability.h).

use super::bindings;
use super::compat::impl_flags;
use super::protocol::Shutdown;
use core::ops::BitOr;

impl_flags!(
    /// A set of `MSG_*` flags of `sendmsg()`/`recvmsg()`: what [`super::Msg::flags`] reads,
    /// what [`super::Msg::add_flags`] reports back and the `flags` of
    /// [`super::Protocol::recvmsg`]. Made by the kernel crate's `impl_flags!` (on 6.12, by
    /// pf/compat.rs's copy of it): `contains` tests one [`MsgFlag`], `contains_any` and
    /// `contains_all` a set; `MsgFlag | MsgFlag` is a set.
    ///
    /// Flags that come from userspace may include bits that have no [`MsgFlag`]: they are kept
    /// (a protocol refuses what it does not know by testing for what it supports).
    #[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
    pub struct MsgFlags(u32);

    /// One `MSG_*` flag (also as the constants [`MsgFlags::OOB`], ...).
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum MsgFlag {
        /// `MSG_OOB`: out-of-band data.
        Oob = bindings::MSG_OOB,
        /// `MSG_PEEK`: look at the next message without taking it.
        Peek = bindings::MSG_PEEK,
        /// `MSG_CTRUNC`: control data was truncated (reported by `recvmsg()`).
        Ctrunc = bindings::MSG_CTRUNC,
        /// `MSG_TRUNC`: the message was longer than the buffer (reported by `recvmsg()`), or,
        /// as a `recvmsg()` flag, return its real length.
        Trunc = bindings::MSG_TRUNC,
        /// `MSG_DONTWAIT`: do not block (also set for a socket whose file is `O_NONBLOCK`).
        DontWait = bindings::MSG_DONTWAIT,
        /// `MSG_EOR`: end of record.
        Eor = bindings::MSG_EOR,
        /// `MSG_WAITALL`: wait for the full request.
        WaitAll = bindings::MSG_WAITALL,
        /// `MSG_NOSIGNAL`: no `SIGPIPE` on a closed connection.
        NoSignal = bindings::MSG_NOSIGNAL,
        /// `MSG_ERRQUEUE`: read the error queue.
        ErrQueue = bindings::MSG_ERRQUEUE,
    }
);

impl MsgFlags {
    /// [`MsgFlag::Oob`].
    pub const OOB: MsgFlag = MsgFlag::Oob;
    /// [`MsgFlag::Peek`].
    pub const PEEK: MsgFlag = MsgFlag::Peek;
    /// [`MsgFlag::Ctrunc`].
    pub const CTRUNC: MsgFlag = MsgFlag::Ctrunc;
    /// [`MsgFlag::Trunc`].
    pub const TRUNC: MsgFlag = MsgFlag::Trunc;
    /// [`MsgFlag::DontWait`].
    pub const DONTWAIT: MsgFlag = MsgFlag::DontWait;
    /// [`MsgFlag::Eor`].
    pub const EOR: MsgFlag = MsgFlag::Eor;
    /// [`MsgFlag::WaitAll`].
    pub const WAITALL: MsgFlag = MsgFlag::WaitAll;
    /// [`MsgFlag::NoSignal`].
    pub const NOSIGNAL: MsgFlag = MsgFlag::NoSignal;
    /// [`MsgFlag::ErrQueue`].
    pub const ERRQUEUE: MsgFlag = MsgFlag::ErrQueue;

    /// The flags as C has them.
    pub(crate) const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }

    /// The C value.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether any flag of `other` is set (`contains_any`).
    pub fn intersects(self, other: Self) -> bool {
        self.contains_any(other)
    }
}

/// The directions of a sock that `shutdown()` (or its closing) closed: `sk->sk_shutdown`, a
/// set of [`ShutdownSet::RCV`] and [`ShutdownSet::SEND`].
///
/// # Invariants
///
/// Only the bits of `SHUTDOWN_MASK` are set.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct ShutdownSet(u8);

impl ShutdownSet {
    /// Nothing is shut.
    pub const NONE: Self = Self(0);
    /// No more receiving (`RCV_SHUTDOWN`).
    pub const RCV: Self = Self(bindings::RCV_SHUTDOWN as u8);
    /// No more sending (`SEND_SHUTDOWN`).
    pub const SEND: Self = Self(bindings::SEND_SHUTDOWN as u8);
    /// Both directions (`SHUTDOWN_MASK`): also what a sock whose socket was closed reads.
    pub const BOTH: Self = Self(bindings::SHUTDOWN_MASK as u8);

    /// The set `sk_shutdown` holds (bits outside `SHUTDOWN_MASK` are dropped).
    pub(crate) const fn from_raw(raw: u8) -> Self {
        // INVARIANT: masked.
        Self(raw & Self::BOTH.0)
    }

    /// The C value: bit 0 receive, bit 1 send.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every direction of `other` is shut.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for ShutdownSet {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        // INVARIANT: both are within `SHUTDOWN_MASK`.
        Self(self.0 | rhs.0)
    }
}

impl From<Shutdown> for ShutdownSet {
    /// The directions a `shutdown(how)` closes.
    fn from(how: Shutdown) -> Self {
        match how {
            Shutdown::Read => Self::RCV,
            Shutdown::Write => Self::SEND,
            Shutdown::Both => Self::BOTH,
        }
    }
}

/// A capability a protocol checks with [`super::Sock::net_capable`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Capability {
    /// `CAP_NET_BIND_SERVICE`: binding to a privileged port.
    NetBindService,
    /// `CAP_NET_RAW`: raw sockets.
    NetRaw,
}

impl Capability {
    /// The C value (`CAP_*`).
    pub(crate) const fn as_raw(self) -> i32 {
        match self {
            Self::NetBindService => bindings::CAP_NET_BIND_SERVICE as i32,
            Self::NetRaw => bindings::CAP_NET_RAW as i32,
        }
    }
}
