// SPDX-License-Identifier: GPL-2.0

//! The port rules the family's protocols share (each keeps its own port space per network
//! namespace: rust_pf_demo.rs's datagrams, rust_pf_demo_seqpacket.rs's connections). Each
//! protocol's crate includes this file by path.
//!
//! As UDP: ports below [`PFDEMO_PROT_PORT_END`] need `CAP_NET_BIND_SERVICE`; `bind()` to port 0
//! and an automatic bind (sending or connecting while unbound) pick a free port of
//! [`PFDEMO_EPHEMERAL_PORTS`], trying each once from a random start.

use crate::pf::{self, Capability, Protocol, Sock};
use crate::uapi::{PFDEMO_EPHEMERAL_PORTS, PFDEMO_PROT_PORT_END};
use kernel::prelude::*;

/// How a port is being bound: by `bind()` or automatically (send, connect), which differ in the
/// error for an exhausted ephemeral range, as in UDP (see [`BindBy::exhausted`]).
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum BindBy {
    /// `bind()`.
    User,
    /// Sending or connecting while unbound.
    Auto,
}

impl BindBy {
    /// The error when every ephemeral port is taken: `bind()` to port 0 gets `EADDRINUSE`
    /// (`inet_bind`), an automatic bind `EAGAIN` (`inet_autobind`).
    pub(crate) fn exhausted(self) -> Error {
        match self {
            BindBy::User => pf::code::EADDRINUSE,
            BindBy::Auto => EAGAIN,
        }
    }
}

/// `EACCES` when `port` (not 0) is privileged and the caller lacks `CAP_NET_BIND_SERVICE` in
/// `sock`'s network namespace.
pub(crate) fn check_bind_permission<P: Protocol>(sock: &Sock<P>, port: u32) -> Result {
    if port != 0 && port < PFDEMO_PROT_PORT_END && !sock.net_capable(Capability::NetBindService) {
        return Err(EACCES);
    }
    Ok(())
}

/// The ephemeral ports in the order a bind to port 0 tries them: each port of
/// [`PFDEMO_EPHEMERAL_PORTS`] once, from a random one, wrapping around.
pub(crate) fn ephemeral_ports() -> impl Iterator<Item = u32> {
    let range = PFDEMO_EPHEMERAL_PORTS;
    let span = range.end - range.start;
    let start = pf::random_below(span);
    (0..span).map(move |i| range.start + (start + i) % span)
}
