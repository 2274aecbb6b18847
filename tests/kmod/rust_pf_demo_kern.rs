// SPDX-License-Identifier: GPL-2.0

//! rust_pf_demo_kern: a test module that holds a kernel socket of family 18.
//!
//! On load it creates `socket(18, SOCK_DGRAM, 0)` in `init_net` with `sock_create_kern()`
//! (`__sock_create()` with `kern = 1`) through [`pf::KernelSocket`], and keeps it until it is
//! unloaded, when the socket is released. While it is loaded, the family's module
//! (rust_pf_demo) holds the references of one open socket and cannot be unloaded.
//!
//! It has no alias: the tests load it explicitly.

use kernel::prelude::*;

#[path = "../../pf/mod.rs"]
pub mod pf;

use pf::{KernelSocket, SockType};

/// rust_pf_demo's family number.
const PF_DEMO: u16 = 18;

module! {
    type: KernSocketModule,
    name: "rust_pf_demo_kern",
    author: "rust_pf_demo developers",
    description: "Test module: a kernel socket of family 18 (sock_create_kern)",
    license: "GPL",
}

/// The module: owns the kernel socket for as long as it is loaded.
struct KernSocketModule {
    _sock: KernelSocket,
}

impl kernel::Module for KernSocketModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let sock = KernelSocket::new(PF_DEMO, SockType::DGRAM, 0)?;
        pr_info!(
            "kernel socket of family {} created (type {})\n",
            PF_DEMO,
            sock.sock_type().as_raw()
        );
        Ok(Self { _sock: sock })
    }
}

impl Drop for KernSocketModule {
    fn drop(&mut self) {
        pr_info!("releasing the kernel socket of family {}\n", PF_DEMO);
    }
}
