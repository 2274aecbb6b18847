// SPDX-License-Identifier: GPL-2.0

//! rust_pf_demo_badfill: a test module whose safe `sendmsg` ignores a failed fill.
//!
//! It adds one protocol to rust_pf_demo's protocol switch (`SOCK_DGRAM`,
//! [`PFDEMO_PROTO_BADFILL`]; no alias, the test loads it): a loopback datagram socket, each
//! socket receives what it sends. Its `sendmsg` is the careless protocol code the layer must
//! keep harmless: it ignores the error of the copy from the sender's buffers (a bad user
//! buffer: `EFAULT`) as far as the types let it, queues whatever it is left with to the
//! receiver, and reports the whole length sent. Whatever the sender's buffers, the receiver
//! must get the whole message or nothing, never a buffer whose bytes were not written.

use kernel::{c_str, prelude::*};

#[path = "../../pf/mod.rs"]
pub mod pf;

#[path = "../../uapi/pfdemo.rs"]
pub mod uapi;

use pf::code::EOPNOTSUPP;
use pf::compat::*;
use pf::{Msg, MsgFlags, NoAddress, Protocol, Sock, SockType};
use uapi::{PFDEMO_PROTO_BADFILL, PF_DEMO};

/// The loopback protocol that ignores fill errors.
struct BadFill;

#[vtable]
impl Protocol for BadFill {
    const FAMILY: u16 = PF_DEMO;
    const TYPE: SockType = SockType::DGRAM;
    const PROTOCOL: i32 = PFDEMO_PROTO_BADFILL;
    const NAME: &'static CStr = c_str!("PF_DEMO_BADFILL");
    type Shared = ();
    type Data = ();
    type NetData = ();
    type Address = NoAddress;
    type Cb = ();

    fn shared() -> impl PinInit<(), Error> {
        value(())
    }

    fn new_net(_shared: &()) -> impl PinInit<(), Error> {
        value(())
    }

    fn new_data(_shared: &()) -> impl PinInit<(), Error> {
        value(())
    }

    fn sendmsg(sock: &Sock<Self>, msg: &mut Msg<NoAddress>) -> Result<usize> {
        let len = msg.data_left();
        let skb = sock.alloc_send(len, true)?;
        // The error is ignored as far as the types allow: whatever the fill leaves that can be
        // queued is queued, and the whole length is reported sent. A failed fill leaves
        // nothing (the empty buffer was consumed and freed).
        if let Ok(skb) = skb.fill_from_msg(msg) {
            let _ = sock.queue_rcv(skb);
        }
        Ok(len)
    }

    fn recvmsg(
        sock: &Sock<Self>,
        msg: &mut Msg<NoAddress>,
        len: usize,
        flags: MsgFlags,
    ) -> Result<usize> {
        if flags.intersects(MsgFlags::OOB | MsgFlags::ERRQUEUE) {
            return Err(EOPNOTSUPP);
        }
        let Some(dgram) = sock.recv_datagram(flags)? else {
            return Ok(0);
        };
        dgram.recv_into(msg, len, flags)
    }
}

module_protocol! {
    protocol: BadFill,
    name: "rust_pf_demo_badfill",
    authors: ["rust_pf_demo developers"],
    description: "Test module: a loopback SOCK_DGRAM protocol of family 18 that ignores fill errors",
    license: "GPL",
}
