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
//!
//! Its sockets also probe what `pf/` leaves callable on a sock held by reference whose socket
//! was closed ([`HeldSock`]): `bind()` keeps a reference to the socket's sock (any address);
//! `send()` on another socket queues the datagram to that held sock; `ioctl()`s report its state
//! ([`HELD_RX_QUEUED`], [`HELD_STATE`], [`HELD_ID`], [`OWN_ID`]) and drop it ([`HELD_DROP`]).

use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
use kernel::{c_str, new_mutex, prelude::*, sync::Mutex};

#[path = "../../pf/mod.rs"]
pub mod pf;

use pf::code::ENOTCONN;
use pf::compat::*;
use pf::{Address, Family, HeldSock, Msg, Protocol, Sock, SockType};

/// `ioctl`: bytes queued on the held sock.
const HELD_RX_QUEUED: u32 = 0x5f01;
/// `ioctl`: the held sock's shutdown mask, plus 0x100 if it is in the caller's namespace and
/// 0x200 if it has no inode (orphaned).
const HELD_STATE: u32 = 0x5f02;
/// `ioctl`: the held sock's per-socket data (an id given at creation).
const HELD_ID: u32 = 0x5f03;
/// `ioctl`: the caller's own id.
const OWN_ID: u32 = 0x5f04;
/// `ioctl`: drops the held reference.
const HELD_DROP: u32 = 0x5f05;

/// The family-wide state: the sock last bound, and the next socket id.
#[pin_data]
struct Shared {
    #[pin]
    held: Mutex<Option<ARef<HeldSock<DupFamily>>>>,
    next_id: AtomicU32,
}

/// The held sock, `ENOTCONN` if none.
fn held(sock: &Sock<DupFamily>) -> Result<ARef<HeldSock<DupFamily>>> {
    sock.shared().held.lock().clone().ok_or(ENOTCONN)
}

/// The same family number as rust_pf_demo's `PF_DEMO`.
const PF_DEMO: u16 = 18;

/// Any address of family 18 (`bind()` only looks at the family).
#[derive(Clone, Copy)]
struct AnyAddress;

impl Address for AnyAddress {
    const FAMILY: u16 = PF_DEMO;
    const LEN: usize = 2;

    fn decode(_bytes: &[u8]) -> Result<Self> {
        Ok(Self)
    }

    fn encode(&self, _out: &mut [u8]) {}
}

/// A second implementation of family 18: datagrams, protocol 0.
struct DupFamily;

#[vtable]
impl Protocol for DupFamily {
    const FAMILY: u16 = PF_DEMO;
    const TYPE: SockType = SockType::DGRAM;
    const PROTOCOL: i32 = 17;
    const NAME: &'static CStr = c_str!("RUST_PF_DEMO_DUP");
    type Shared = Shared;
    type Data = u32;
    type NetData = ();
    type Address = AnyAddress;
    type Cb = ();

    fn shared() -> impl PinInit<Shared, Error> {
        try_pin_init!(Shared {
            held <- new_mutex!(None, "rust_pf_demo_dup::held"),
            next_id: AtomicU32::new(1),
        })
    }

    fn new_net(_shared: &Shared) -> impl PinInit<(), Error> {
        value(())
    }

    fn new_data(shared: &Shared) -> impl PinInit<u32, Error> {
        value(shared.next_id.fetch_add(1, Relaxed))
    }

    fn bind(sock: &Sock<Self>, _addr: &AnyAddress) -> Result {
        let old = sock.shared().held.lock().replace(sock.hold());
        drop(old);
        Ok(())
    }

    fn sendmsg(sock: &Sock<Self>, msg: &mut Msg<AnyAddress>) -> Result<usize> {
        let target = held(sock)?;
        let len = msg.data_left();
        let skb = sock.alloc_send(len, true)?.fill_from_msg(msg)?;
        target.queue_rcv(skb)?;
        Ok(len)
    }

    fn ioctl(sock: &Sock<Self>, cmd: u32) -> Result<Option<i32>> {
        let value = match cmd {
            HELD_RX_QUEUED => held(sock)?.rx_queued() as u32,
            HELD_STATE => {
                let h = held(sock)?;
                let same_net = if h.net() == sock.net() { 0x100 } else { 0 };
                let orphan = if h.inode() == 0 { 0x200 } else { 0 };
                u32::from(h.shutdown_mask().bits()) | same_net | orphan
            }
            HELD_ID => *held(sock)?.data(),
            OWN_ID => *sock.data(),
            HELD_DROP => {
                let old = sock.shared().held.lock().take();
                drop(old);
                0
            }
            _ => return Ok(None),
        };
        Ok(Some(value as i32))
    }
}

/// Family 18 again, whose switch holds [`DupFamily`].
struct DupPf;

impl Family for DupPf {
    const FAMILY: u16 = PF_DEMO;
}

module_family! {
    family: DupPf,
    protocols: [DupFamily],
    name: "rust_pf_demo_dup",
    authors: ["rust_pf_demo developers"],
    description: "Test module: a second registration of socket family 18",
    license: "GPL",
}
