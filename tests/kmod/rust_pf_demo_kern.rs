// SPDX-License-Identifier: GPL-2.0

//! rust_pf_demo_kern: a test module that holds a kernel socket of family 18.
//!
//! On load it creates `socket(18, SOCK_DGRAM, 0)` in `init_net` with `sock_create_kern()`
//! (`__sock_create()` with `kern = 1`) through [`pf::KernelSocket`], binds it to port 4243 and
//! sends "ping from the kernel" to port 4242; it keeps the socket until it is unloaded, when it
//! logs the datagram userspace sent it (if any) and releases the socket. While it is loaded, the family's module
//! (rust_pf_demo) holds the references of one open socket and cannot be unloaded.
//!
//! It has no alias: the tests load it explicitly.

use kernel::prelude::*;

#[path = "../../pf/mod.rs"]
pub mod pf;

#[path = "../../uapi/kernel_address.rs"]
mod kernel_address;
#[path = "../../uapi/pfdemo.rs"]
pub mod uapi;

use pf::{KernelSocket, SockType};
use uapi::{SockaddrPfdemo, PF_DEMO};

/// The kernel socket's port.
const KERN_PORT: u32 = 4243;
/// Where it sends its greeting (a test's userspace socket).
const USER_PORT: u32 = 4242;

module_plain! {
    type: KernSocketModule,
    name: "rust_pf_demo_kern",
    authors: ["rust_pf_demo developers"],
    description: "Test module: a kernel socket of family 18 (sock_create_kern)",
    license: "GPL",
}

/// The module: owns the kernel socket for as long as it is loaded.
struct KernSocketModule {
    sock: KernelSocket,
}

impl kernel::Module for KernSocketModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut sock = KernelSocket::new(PF_DEMO, SockType::DGRAM, 0)?;
        pr_info!(
            "kernel socket of family {} created (type {})\n",
            PF_DEMO,
            sock.sock_type().as_raw()
        );
        sock.bind(&SockaddrPfdemo::new(KERN_PORT))?;
        // Greets a userspace socket on USER_PORT if one is there (ECONNREFUSED otherwise: the
        // tests that only count references load the module without one).
        let greeting = b"ping from the kernel";
        match sock.send_to(greeting, &SockaddrPfdemo::new(USER_PORT)) {
            Ok(n) => pr_info!("sent {} bytes to port {}\n", n, USER_PORT),
            Err(e) => pr_info!(
                "nothing sent to port {}: error {}\n",
                USER_PORT,
                e.to_errno()
            ),
        }
        Ok(Self { sock })
    }
}

impl Drop for KernSocketModule {
    fn drop(&mut self) {
        // Reports what userspace sent to the kernel socket, for the test to read in the log.
        let mut buf = [0u8; 64];
        match self.sock.recv_from::<SockaddrPfdemo>(&mut buf) {
            Ok((n, from)) => {
                let port = from.map_or(0, |a| a.port);
                let text = core::str::from_utf8(&buf[..n.min(buf.len())]).unwrap_or("<not UTF-8>");
                pr_info!("received {} bytes from port {}: {}\n", n, port, text);
            }
            Err(e) => pr_info!("nothing received: error {}\n", e.to_errno()),
        }
        pr_info!("releasing the kernel socket of family {}\n", PF_DEMO);
    }
}
