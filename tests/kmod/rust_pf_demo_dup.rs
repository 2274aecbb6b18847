// SPDX-License-Identifier: GPL-2.0

//! rust_pf_demo_dup: a test module that registers socket family 18 a second time.
//!
//! It uses the same abstraction as rust_pf_demo (`pf/`, `module_family!`) with its own module
//! and protocol names. Loaded while rust_pf_demo holds family 18, its `sock_register()` must fail
//! with `EEXIST` (and its `proto_register()` be undone), so the load fails with `EEXIST` and
//! rust_pf_demo keeps working. Loaded alone, it serves family 18 itself, which shows that the
//! `EEXIST` comes from the conflict and not from a broken module.
//!
//! It has no `net-pf-18` alias: only rust_pf_demo is loaded on demand.

use kernel::{c_str, prelude::*};

#[path = "../../pf/mod.rs"]
pub mod pf;

use pf::code::{EPROTONOSUPPORT, ESOCKTNOSUPPORT};
use pf::{Family, SockType};

/// The same family number as rust_pf_demo's `PF_DEMO`.
const PF_DEMO: u16 = 18;

/// A second implementation of family 18: datagrams, protocol 0.
struct DupFamily;

#[vtable]
impl Family for DupFamily {
    const FAMILY: u16 = PF_DEMO;
    const NAME: &'static CStr = c_str!("RUST_PF_DEMO_DUP");
    type Shared = ();
    type Data = ();

    fn shared() -> impl PinInit<(), Error> {}

    fn new_data(_shared: &()) -> impl PinInit<(), Error> {}

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
    family: DupFamily,
    name: "rust_pf_demo_dup",
    author: "rust_pf_demo developers",
    description: "Test module: a second registration of socket family 18",
    license: "GPL",
}
