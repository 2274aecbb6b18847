// SPDX-License-Identifier: GPL-2.0

//! rust_pf_demo_rdm: a protocol module for family 18, `SOCK_RDM`, loaded on demand.
//!
//! It adds one protocol to rust_pf_demo's protocol switch through the family module's exported
//! API (`rust_pf_demo_protosw_register`), so it depends on rust_pf_demo (`modinfo` shows it).
//! Its aliases are what the family's `create` asks `request_module()` for when its switch has
//! no entry for `(SOCK_RDM, protocol)`: `net-pf-18-proto-0-type-4` (the type's default) and
//! `net-pf-18-proto-20-type-4` ([`PFDEMO_PROTO_RDM`]). Its sockets can be created and closed;
//! every other operation is the kernel's `sock_no_*` (`EOPNOTSUPP`), except one `ioctl`:
//! [`PFDEMO_RDM_FAIL_NEXT_INIT`] makes the next socket's `init` (its per-socket data) fail with
//! `ENOBUFS`, for the test of the family's `init` error path.
//!
//! Each socket holds two references on this module (its `proto_ops` and its `struct proto`),
//! none on rust_pf_demo, whose count holds only this module's dependency.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use kernel::{c_str, prelude::*};

#[path = "../../pf/mod.rs"]
pub mod pf;

#[path = "../../uapi/pfdemo.rs"]
pub mod uapi;

use pf::code::ENOBUFS;
use pf::compat::*;
use pf::{NoAddress, Protocol, Sock, SockType};
use uapi::{PFDEMO_PROTO_RDM, PFDEMO_RDM_FAIL_NEXT_INIT, PF_DEMO};

/// The SOCK_RDM protocol.
struct RdmProtocol;

/// Sockets created (the per-socket data is an id), and whether the next `init` fails.
struct Shared {
    created: AtomicU64,
    fail_next_init: AtomicBool,
}

/// A socket's data: its creation number.
#[pin_data]
struct RdmSock {
    id: u64,
}

#[vtable]
impl Protocol for RdmProtocol {
    const FAMILY: u16 = PF_DEMO;
    const TYPE: SockType = SockType::RDM;
    const PROTOCOL: i32 = PFDEMO_PROTO_RDM;
    const NAME: &'static CStr = c_str!("PF_DEMO_RDM");
    type Shared = Shared;
    type Data = RdmSock;
    type NetData = ();
    type Address = NoAddress;
    type Cb = ();

    fn shared() -> impl PinInit<Shared, Error> {
        value(Shared {
            created: AtomicU64::new(0),
            fail_next_init: AtomicBool::new(false),
        })
    }

    fn new_net(_shared: &Shared) -> impl PinInit<(), Error> {
        value(())
    }

    fn new_data(shared: &Shared) -> impl PinInit<RdmSock, Error> {
        let fail = shared.fail_next_init.swap(false, Relaxed);
        let id = shared.created.fetch_add(1, Relaxed);
        try_pin_init!(RdmSock {
            id: if fail { Err(ENOBUFS) } else { Ok(id) }?,
        })
    }

    fn ioctl(sock: &Sock<Self>, cmd: u32) -> Result<Option<i32>> {
        if cmd != PFDEMO_RDM_FAIL_NEXT_INIT {
            return Ok(None);
        }
        sock.shared().fail_next_init.store(true, Relaxed);
        Ok(Some(0))
    }
}

module_protocol! {
    protocol: RdmProtocol,
    name: "rust_pf_demo_rdm",
    authors: ["rust_pf_demo developers"],
    description: "Test module: a SOCK_RDM protocol of family 18, loaded on demand",
    license: "GPL",
    alias: ["net-pf-18-proto-0-type-4", "net-pf-18-proto-20-type-4"],
}
