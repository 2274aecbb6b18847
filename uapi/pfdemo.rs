// SPDX-License-Identifier: GPL-2.0

//! The family's user ABI, shared word for word by the module and the test program (both
//! include this file by path; it uses `core` only).

/// The protocol family number (`AF_ASH` in `<linux/socket.h>`, never registered by Linux).
pub const PF_DEMO: u16 = 18;

/// The datagram protocol's number (`socket(18, SOCK_DGRAM, 0)` picks it: it is the type's only
/// entry in the family's switch).
pub const PFDEMO_PROTO_DGRAM: i32 = 17;

/// The SOCK_RDM test protocol's number (tests/kmod/rust_pf_demo_rdm.rs, loaded on demand).
pub const PFDEMO_PROTO_RDM: i32 = 20;

/// The fill-error test protocol's number (`SOCK_DGRAM`, tests/kmod/rust_pf_demo_badfill.rs,
/// loaded by its test: `socket(18, SOCK_DGRAM, 0)` still picks the datagram protocol).
pub const PFDEMO_PROTO_BADFILL: i32 = 21;

/// The raw monitor's number (`SOCK_RAW`, needs `CAP_NET_RAW`).
pub const PFDEMO_PROTO_RAW: i32 = 3;

/// The SOCK_SEQPACKET protocol's number (rust_pf_demo_seqpacket.ko, loaded on demand through
/// `net-pf-18-proto-0-type-5` or `net-pf-18-proto-5-type-5`).
pub const PFDEMO_PROTO_SEQPACKET: i32 = 5;

/// The largest SOCK_SEQPACKET message `sendmsg()` accepts; one byte more is `EMSGSIZE`.
pub const PFDEMO_MAX_SEQPACKET: usize = 65507;

/// `ioctl` of the SOCK_RDM test protocol: the next socket's `init` fails (`ENOBUFS`).
pub const PFDEMO_RDM_FAIL_NEXT_INIT: u32 = 0x5f10;

/// The largest datagram `sendmsg()` accepts; one byte more is `EMSGSIZE` (UDP's IPv4 limit).
pub const PFDEMO_MAX_DGRAM: usize = 65507;

/// Ports below this need `CAP_NET_BIND_SERVICE` (`EACCES` without it).
pub const PFDEMO_PROT_PORT_END: u32 = 1024;

/// Where `bind()` to port 0 (and sending or connecting while unbound) picks a free port.
pub const PFDEMO_EPHEMERAL_PORTS: core::ops::Range<u32> = 32768..61000;

/// `struct sockaddr_pfdemo { sa_family_t family; __u32 port; }`: 8 bytes, `port` at offset 4.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockaddrPfdemo {
    /// Always `PF_DEMO` (`AF_UNSPEC` only to dissolve a `connect()`).
    pub family: u16,
    /// The port, in host byte order; 0 in `bind()` asks for a free one.
    pub port: u32,
}

/// `sizeof(struct sockaddr_pfdemo)`: shorter addresses are `EINVAL`.
pub const SOCKADDR_PFDEMO_LEN: usize = core::mem::size_of::<SockaddrPfdemo>();

impl SockaddrPfdemo {
    /// The address of `port` in the family.
    pub const fn new(port: u32) -> Self {
        Self {
            family: PF_DEMO,
            port,
        }
    }

    /// Parses the bytes of a `struct sockaddr_pfdemo` (any family: the caller checks it);
    /// `None` if there are too few.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        if b.len() < SOCKADDR_PFDEMO_LEN {
            return None;
        }
        Some(Self {
            family: u16::from_ne_bytes([b[0], b[1]]),
            port: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        })
    }

    /// The C layout as bytes (the padding after `family` zeroed).
    pub fn to_bytes(self) -> [u8; SOCKADDR_PFDEMO_LEN] {
        let mut b = [0; SOCKADDR_PFDEMO_LEN];
        b[..2].copy_from_slice(&self.family.to_ne_bytes());
        b[4..].copy_from_slice(&self.port.to_ne_bytes());
        b
    }
}

/// The raw monitor's `/proc/net` file, in every network namespace: a header line, then one line
/// per monitor socket of that namespace: `inode rx_queue copies drops`.
pub const PFDEMO_RAW_PROC_NET: &str = "rust_pf_demo_raw";

/// What a raw monitor (`socket(PF_DEMO, SOCK_RAW, 0)`, `CAP_NET_RAW`) reads for each datagram
/// delivered in its network namespace: this header, then the datagram's payload, in one
/// `recv()`. Native byte order, like the address. A read shorter than header and payload is
/// truncated (`MSG_TRUNC` in `msg_flags`; with `MSG_TRUNC` in the flags `recv()` returns the
/// full length), and `len` still tells the payload's real length.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PfdemoMonitorHdr {
    /// The sender's port.
    pub src_port: u32,
    /// The destination port the datagram was delivered to.
    pub dst_port: u32,
    /// The payload's length in bytes (what follows the header).
    pub len: u32,
}

/// `sizeof(struct pfdemo_monitor_hdr)`: 12 bytes.
pub const PFDEMO_MONITOR_HDR_LEN: usize = core::mem::size_of::<PfdemoMonitorHdr>();

impl PfdemoMonitorHdr {
    /// The C layout as bytes.
    pub fn to_bytes(self) -> [u8; PFDEMO_MONITOR_HDR_LEN] {
        let mut b = [0; PFDEMO_MONITOR_HDR_LEN];
        b[..4].copy_from_slice(&self.src_port.to_ne_bytes());
        b[4..8].copy_from_slice(&self.dst_port.to_ne_bytes());
        b[8..].copy_from_slice(&self.len.to_ne_bytes());
        b
    }

    /// Parses the header at the start of `b`; `None` if `b` is shorter.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let w = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        (b.len() >= PFDEMO_MONITOR_HDR_LEN).then(|| Self {
            src_port: w(0),
            dst_port: w(4),
            len: w(8),
        })
    }
}
