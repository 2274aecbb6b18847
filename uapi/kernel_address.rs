// SPDX-License-Identifier: GPL-2.0

//! The family's address in the kernel: [`SockaddrPfdemo`] as a [`pf::Address`], for every
//! module crate of the family (each includes this file by path beside `pf/` and
//! `uapi/pfdemo.rs`, which stays `core`-only: the userspace test program includes it too).

use crate::pf;
use crate::uapi::{SockaddrPfdemo, PF_DEMO, SOCKADDR_PFDEMO_LEN};
use kernel::prelude::*;

/// The family's address, `struct sockaddr_pfdemo`: pf/ checks its length and family.
impl pf::Address for SockaddrPfdemo {
    const FAMILY: u16 = PF_DEMO;
    const LEN: usize = SOCKADDR_PFDEMO_LEN;

    fn decode(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes(bytes).ok_or(EINVAL)
    }

    fn encode(&self, out: &mut [u8]) {
        // `out` is LEN bytes; a zip has no length-mismatch panic path (`copy_from_slice` has
        // one, a call objtool of 7.2 does not know as noreturn: "falls through").
        for (o, b) in out.iter_mut().zip(self.to_bytes()) {
            *o = b;
        }
    }
}
