// SPDX-License-Identifier: GPL-2.0

//! rust_pf_demo: a socket protocol family written in Rust.
//!
//! `socket(PF_DEMO, SOCK_DGRAM, 0)` goes through the kernel's `__sock_create()`: with the module
//! not loaded, `request_module("net-pf-18")` loads it through the alias below; then the module
//! reference for `create`, the family's `create` (the checks in [`DemoFamily::check_create`]),
//! the module reference held by the socket's `proto_ops` for the socket's life, and the file
//! descriptor. This file holds only the family's behaviour; the plumbing is in `pf/`.

use kernel::{c_str, prelude::*};

pub mod pf;

use pf::{Family, SockType};

/// The family number: 18, `AF_ASH` in `<linux/socket.h>`.
///
/// 18 is a number no Linux 6.12 code registers (nothing calls `sock_register()` with it, see
/// `git grep sock_register net drivers`), reserved since 2.x for a protocol that was never
/// merged. That keeps it free on any 6.12 kernel, with `net-pf-18` unclaimed by in-tree modules,
/// while staying below `AF_MAX` (46), which `__sock_create()` requires. The numbers of removed
/// families (DECnet, IrDA, ECONET) are avoided: old userspace may still guess at them.
pub const PF_DEMO: u16 = 18;

/// The demo family: connectionless datagrams, one protocol (0).
struct DemoFamily;

#[vtable]
impl Family for DemoFamily {
    const FAMILY: u16 = PF_DEMO;
    const NAME: &'static CStr = c_str!("RUST_PF_DEMO");

    fn check_create(sock_type: SockType, protocol: i32, _kern: bool) -> Result {
        if sock_type != SockType::DGRAM {
            return Err(ESOCKTNOSUPPORT);
        }
        if protocol != 0 {
            return Err(EPROTONOSUPPORT);
        }
        Ok(())
    }
}

module_family! {
    family: DemoFamily,
    name: "rust_pf_demo",
    author: "rust_pf_demo developers",
    description: "A socket protocol family (PF 18) written in Rust",
    license: "GPL",
    alias: ["net-pf-18"],
}
