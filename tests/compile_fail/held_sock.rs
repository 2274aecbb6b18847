// SPDX-License-Identifier: GPL-2.0

//! Compile-fail cases of the `pf/` layer, built by `run.sh` (from `make lint`).
//!
//! Built as it is, this family compiles: it keeps a counted reference to a sock
//! ([`HeldSock`]) and uses what is valid on a sock whose socket may be closed. Each
//! `rpd_cf_*` cfg adds one use the layer must refuse at build time; `run.sh` builds the file
//! once per cfg and expects that build to fail with the error named there.

use kernel::{c_str, new_mutex, prelude::*, sync::Mutex};

#[path = "../../pf/mod.rs"]
pub mod pf;

use pf::compat::*;
use pf::{Family, HeldSock, Msg, NoAddress, Protocol, Sock, SockType};

/// The control block of its buffers; too large for `skb->cb` in the `rpd_cf_cb_size` case, too
/// aligned in `rpd_cf_cb_align`.
#[derive(Clone, Copy, Default)]
#[cfg_attr(rpd_cf_cb_align, repr(align(16)))]
struct Cb {
    sent: u8,
    #[cfg(rpd_cf_cb_size)]
    _more: [u8; 45],
}

/// A family that keeps the last socket that sent.
struct CompileFailFamily;

/// The family-wide state: the last sock that sent.
#[pin_data]
struct Shared {
    #[pin]
    last: Mutex<Option<ARef<HeldSock<CompileFailFamily>>>>,
}

/// The per-socket data; over-aligned in the `rpd_cf_align` case.
#[pin_data]
#[cfg_attr(rpd_cf_align, repr(align(64)))]
struct Data {
    sent: u8,
}

#[vtable]
impl Protocol for CompileFailFamily {
    const FAMILY: u16 = 18;
    const TYPE: SockType = SockType::DGRAM;
    const PROTOCOL: i32 = 0;
    const NAME: &'static CStr = c_str!("RUST_PF_DEMO_CF");
    type Shared = Shared;
    type Data = Data;
    type NetData = ();
    type Address = NoAddress;
    type Cb = Cb;

    fn shared() -> impl PinInit<Shared, Error> {
        try_pin_init!(Shared {
            last <- new_mutex!(None, "compile_fail::last"),
        })
    }

    fn new_net(_shared: &Shared) -> impl PinInit<(), Error> {
        value(())
    }

    fn new_data(_shared: &Shared) -> impl PinInit<Data, Error> {
        try_pin_init!(Data { sent: 0 })
    }

    fn sendmsg(sock: &Sock<Self>, msg: &mut Msg<NoAddress>) -> Result<usize> {
        let held: ARef<HeldSock<Self>> = sock.hold();
        // What is valid on an orphaned sock.
        let _ = (
            held.data().sent,
            held.net(),
            held.shutdown_mask(),
            held.rx_queued(),
        );
        // A buffer is allocated empty, filled once (which consumes the empty one), then
        // queued.
        let mut empty = sock.alloc_send(0, true)?;
        empty.cb_mut().sent = 1;
        let mut skb = empty.fill_from_msg(msg)?;
        skb.cb_mut().sent += 1;
        held.queue_rcv(skb)?;
        held.queue_msg(sock.alloc_send(0, true)?.fill_from_msg(msg)?);
        // An empty buffer cannot be queued, by either queue, nor cloned: its bytes were not
        // written.
        #[cfg(rpd_cf_queue_empty)]
        held.queue_rcv(sock.alloc_send(0, true)?)?;
        #[cfg(rpd_cf_queue_msg_empty)]
        held.queue_msg(sock.alloc_send(0, true)?);
        #[cfg(rpd_cf_clone_empty)]
        let _ = sock.alloc_send(0, true)?.clone_for::<Self>(Cb::default());
        // The careless pattern: the fill's error ignored, the buffer queued anyway (it would
        // deliver the bytes after a fault, which were never written).
        #[cfg(rpd_cf_queue_after_failed_fill)]
        {
            let empty = sock.alloc_send(0, true)?;
            let _ = empty.fill_from_msg(msg);
            held.queue_rcv(empty)?;
        }
        // Nothing is left of a buffer after its fill, whatever the outcome: a failed fill
        // freed it.
        #[cfg(rpd_cf_use_after_failed_fill)]
        {
            let mut empty = sock.alloc_send(0, true)?;
            if empty.fill_from_msg(msg).is_err() {
                empty.cb_mut().sent = 2;
            }
        }
        // A second fill (`skb_put` twice: `skb_over_panic`), of the empty buffer or of the
        // filled one.
        #[cfg(rpd_cf_fill_twice)]
        {
            let empty = sock.alloc_send(0, true)?;
            let _ = empty.fill_from_msg(msg);
            let _ = empty.fill_from_msg(msg);
        }
        #[cfg(rpd_cf_refill)]
        let _ = sock
            .alloc_send(0, true)?
            .fill_from_msg(msg)?
            .fill_from_msg(msg);
        // A blocking receive sleeps on the socket's wait queue: not on a held sock.
        #[cfg(rpd_cf_recv)]
        let _ = held.recv_datagram(pf::MsgFlags::empty());
        // A full send buffer marks the socket: not on a held sock.
        #[cfg(rpd_cf_alloc)]
        let _ = held.alloc_send(0, false);
        // A buffer of another protocol (its control block another type) cannot be queued: the
        // receiver would read its control block as its own.
        #[cfg(rpd_cf_foreign_cb)]
        held.queue_rcv(
            sock.alloc_send(0, true)?
                .fill_from_msg(msg)?
                .clone_for::<OtherProtocol>(0)?,
        )?;
        // Only the layer makes a `Sock`, for the length of an operation: it cannot be kept.
        #[cfg(rpd_cf_keep_sock)]
        let _kept: ARef<Sock<Self>> = ARef::from(sock);
        *sock.shared().last.lock() = Some(held);
        Ok(0)
    }

    fn accept(sock: &Sock<Self>, _nonblock: bool) -> Result<pf::ChildSock<Self>> {
        let child = sock.new_child()?;
        // What is valid on a sock without a socket.
        let _ = (child.data().sent, child.state(), child.rx_queue_len());
        // A child has no socket, so no wait queue: it cannot wait.
        #[cfg(rpd_cf_child_wait)]
        let _ = child.recv_datagram(pf::MsgFlags::empty());
        // Only `Sock::new_child` makes one: a sock that has a socket is never grafted again.
        #[cfg(rpd_cf_child_forge)]
        let child: pf::ChildSock<Self> = sock.hold();
        // One owner: handed to the layer (grafted) once.
        #[cfg(rpd_cf_child_twice)]
        let _kept = child;
        Ok(child)
    }
}

/// Another protocol, whose buffers carry another control block.
struct OtherProtocol;

#[vtable]
impl Protocol for OtherProtocol {
    const FAMILY: u16 = 18;
    const TYPE: SockType = SockType::RAW;
    const PROTOCOL: i32 = 3;
    const NAME: &'static CStr = c_str!("RUST_PF_DEMO_CF2");
    type Shared = ();
    type Data = ();
    type NetData = ();
    type Address = NoAddress;
    type Cb = u64;

    fn shared() -> impl PinInit<(), Error> {
        value(())
    }

    fn new_net(_shared: &()) -> impl PinInit<(), Error> {
        value(())
    }

    fn new_data(_shared: &()) -> impl PinInit<(), Error> {
        value(())
    }
}

/// Its family.
struct CompileFailPf;

impl Family for CompileFailPf {
    const FAMILY: u16 = 18;
}

module_family! {
    family: CompileFailPf,
    protocols: [CompileFailFamily, OtherProtocol],
    name: "rust_pf_demo_compile_fail",
    authors: ["rust_pf_demo developers"],
    description: "Build-time checks of pf/ (never loaded)",
    license: "GPL",
}
