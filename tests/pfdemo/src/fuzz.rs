// SPDX-License-Identifier: GPL-2.0

//! A seeded random syscall fuzzer for the family: `pfdemo fuzz --seed S --ops N [--netns]`.
//!
//! Each operation picks a syscall (socket, bind, connect, listen, accept4, sendmsg, recvmsg,
//! getsockopt, setsockopt, ioctl, poll, shutdown, getsockname/getpeername, close, dup, fork,
//! socketpair) on a socket of the family's protocols (SOCK_DGRAM; SOCK_SEQPACKET, the
//! protocol module rust_pf_demo_seqpacket; SOCK_RDM, the test module rust_pf_demo_rdm;
//! SOCK_RAW) and random or boundary arguments: address lengths 0/1/7/8/9/16/128/129/huge, NULL and PROT_NONE pointers,
//! huge lengths, iovec counts 0..2000, random flags. Everything is non-blocking
//! (`MSG_DONTWAIT`, `poll` timeout 0), so it cannot hang. Every failure's errno must be in
//! that syscall's allowlist ([`allowed`]); anything else fails with the seed and the operation
//! index, and the same seed replays the same sequence.
//!
//! Every datagram the fuzzer sends carries a header `MAGIC, port, !port, namespace tag`: the
//! destination port and the network namespace of the sender. A datagram received with a valid
//! header must name the receiving socket's own port and namespace; so a datagram delivered to
//! another socket, or across namespaces, fails the run. A SOCK_SEQPACKET message carries
//! `MAGIC_SEQ, length, sender's port, sender's peer port, namespace tag, seed` and bytes made
//! from the seed: it must arrive whole (its length, every byte), in its namespace, and on the
//! connection it was sent on (the receiver's own port and peer port are the sender's peer and
//! own port, where both ends have one). SOCK_SEQPACKET sockets are non-blocking (restored
//! before `connect`/`accept4`: the fuzzer's `FIONBIO` may clear it).

use crate::ktap::{Outcome, Test, TestResult};
use crate::seqp::{ensure_seq_unloaded, seq_check, seq_refcnt};
use crate::stress::{pick, report, Baseline};
use crate::sys::*;
use crate::{check, check_eq};
use std::time::Instant;

/// The fuzz tests of `pfdemo stress`.
pub const TESTS: &[Test] = &[Test {
    name: "fuzz_syscalls_netns",
    run: fuzz_syscalls_netns,
}];

const MAGIC: u32 = 0x5046_4445; // "PFDE"
const MAGIC_SEQ: u32 = 0x5046_5351; // "PFSQ"
/// The SOCK_SEQPACKET header: 6 words.
const SEQ_HDR: usize = 24;
/// Ports the fuzzer binds and sends to: few, so that binds collide and sends hit.
const HOT_PORTS: std::ops::Range<u32> = 4000..4024;
const POOL_MAX: usize = 24;

/// xorshift64*: small, fast, reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

/// The syscalls the fuzzer makes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Socket,
    Bind,
    Connect,
    Sendmsg,
    Recvmsg,
    Getsockopt,
    Setsockopt,
    Ioctl,
    Poll,
    Shutdown,
    Name,
    Close,
    Dup,
    Fork,
    Unsupported,
    Listen,
    Accept,
}

/// The protocol of a pool descriptor (by the type it was created with).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Dgram,
    Seq,
    /// SOCK_RDM or SOCK_RAW: create, close, poll, ioctl and the socket core's options; every
    /// protocol operation is the kernel's `sock_no_*` (`EOPNOTSUPP`).
    NoOps,
}

/// The errnos a socket of `kind` adds to [`allowed`] for `op`.
fn allowed_kind(op: Op, kind: Kind) -> &'static [i32] {
    use libc::*;
    match (kind, op) {
        (Kind::Dgram, _) => &[],
        // As AF_UNIX SOCK_SEQPACKET: no listener or a full backlog, already connected,
        // a broken connection; listen needs a bound, unconnected socket; accept a listener.
        (Kind::Seq, Op::Bind) => &[EINVAL, EISCONN],
        (Kind::Seq, Op::Connect) => &[ECONNREFUSED, EISCONN, EAGAIN, EINVAL, ENOBUFS, ECONNRESET],
        (Kind::Seq, Op::Sendmsg) => &[ENOTCONN, EPIPE, ECONNRESET, EISCONN],
        (Kind::Seq, Op::Recvmsg) => &[ENOTCONN, ECONNRESET],
        (Kind::Seq, Op::Listen) => &[EINVAL],
        (Kind::Seq, Op::Accept) => &[
            EAGAIN,
            EINVAL,
            ECONNABORTED,
            EMFILE,
            ENFILE,
            ENOMEM,
            ENOBUFS,
        ],
        (Kind::Seq, _) => &[],
        (Kind::NoOps, _) => &[EOPNOTSUPP],
    }
}

/// The documented errnos of each syscall on this family (README "Reliability"). EFAULT for
/// bad pointers, EINVAL for bad lengths/values, ENOMEM/ENOBUFS under memory pressure, EMFILE
/// when the pool's descriptors run out are common to all that take them.
fn allowed(op: Op) -> &'static [i32] {
    use libc::*;
    match op {
        Op::Socket => &[
            EINVAL,
            ESOCKTNOSUPPORT,
            EPROTONOSUPPORT,
            EMFILE,
            ENFILE,
            ENOMEM,
            ENOBUFS,
        ],
        Op::Bind => &[EINVAL, EFAULT, EADDRINUSE, ENOMEM],
        Op::Connect => &[EINVAL, EFAULT, EAGAIN, ENOMEM],
        Op::Sendmsg => &[
            EINVAL,
            EFAULT,
            EMSGSIZE,
            ECONNREFUSED,
            EDESTADDRREQ,
            EPIPE,
            EOPNOTSUPP,
            EAGAIN,
            ENOBUFS,
            ENOMEM,
        ],
        Op::Recvmsg => &[
            EINVAL, EFAULT, EMSGSIZE, EAGAIN, EOPNOTSUPP, ENOMEM, ENOBUFS,
        ],
        // Generic SOL_SOCKET handling: unknown names, bad values (EDOM: timeouts), options
        // that need a device (ENODEV), a BPF fd (EBADF), a peer (ENOTCONN) or that the family
        // does not implement (EOPNOTSUPP), ERANGE for SO_PEERSEC-like buffers.
        Op::Getsockopt | Op::Setsockopt => &[
            ENOPROTOOPT,
            EINVAL,
            EFAULT,
            EOPNOTSUPP,
            EPERM,
            ENODEV,
            ENOMEM,
            ENOBUFS,
            EBADF,
            ENOTCONN,
            EDOM,
            ERANGE,
            ENOENT,
            EBUSY,
            ENOTSOCK,
        ],
        Op::Ioctl => &[ENOTTY, EINVAL, EFAULT, ENOENT, EOPNOTSUPP, ENODEV],
        Op::Poll => &[EFAULT, EINVAL],
        Op::Shutdown => &[EINVAL, ENOTCONN],
        Op::Name => &[EINVAL, EFAULT, ENOTCONN],
        Op::Close => &[],
        Op::Dup => &[EMFILE],
        Op::Fork => &[EAGAIN, ENOMEM],
        // socketpair (a SOCK_SEQPACKET pair may be served).
        Op::Unsupported => &[EOPNOTSUPP, EINVAL, EFAULT, EMFILE, ESOCKTNOSUPPORT],
        Op::Listen => &[EOPNOTSUPP, EINVAL],
        Op::Accept => &[EOPNOTSUPP, EINVAL, EFAULT],
    }
}

/// Memory the fuzzer points the kernel at.
struct Mem {
    /// A readable/writable buffer (payloads, addresses, option values).
    buf: Vec<u8>,
    /// A PROT_NONE page: any access faults.
    none: NoAccess,
}

impl Mem {
    fn new() -> Result<Self, String> {
        Ok(Self {
            buf: vec![0u8; 70_000],
            none: NoAccess::new()?,
        })
    }
}

/// One fuzzer run's state.
pub struct Fuzzer {
    rng: Rng,
    seed: u64,
    /// Namespace tag written in every payload and expected in every received one.
    ns: u32,
    pool: Vec<i32>,
    /// The protocol of each pool descriptor.
    kinds: std::collections::HashMap<i32, Kind>,
    /// The pool's SOCK_SEQPACKET descriptors that listen, with their ports.
    listeners: std::collections::BTreeMap<i32, u32>,
    /// The pool's SOCK_SEQPACKET descriptors that connected or were accepted.
    connected: std::collections::BTreeSet<i32>,
    /// The protocol of the descriptor this operation uses (`None`: a bad one, or none).
    cur: Option<Kind>,
    mem: Mem,
    pub counts: [u64; 17],
    pub errors: u64,
    /// Errors by (syscall, errno).
    pub by_errno: std::collections::BTreeMap<(String, i32), u64>,
    pub verified: u64,
    /// SOCK_SEQPACKET messages verified (whole, own connection, own namespace).
    pub verified_seq: u64,
    /// Connections accepted.
    pub accepted: u64,
    pub ops: u64,
    in_child: bool,
    /// Whether family 18 serves SOCK_SEQPACKET (rust_pf_demo_seqpacket is there): without
    /// it each such socket() would cost two modprobe runs, so the fuzzer makes none.
    seq_ok: bool,
    /// This operation's arguments are hostile (a third of the operations); otherwise they
    /// are valid, so that datagrams flow and state changes.
    hostile: bool,
}

/// Pointer choices: the good buffer, NULL, the PROT_NONE page, a kernel address.
fn bad_ptr(hostile: bool, rng: &mut Rng, none: *mut u8, good: *mut u8) -> *mut u8 {
    if !hostile {
        return good;
    }
    match rng.below(6) {
        0 => std::ptr::null_mut(),
        1 => none,
        2 => 0xffff_8000_0000_0000usize as *mut u8,
        _ => good,
    }
}

fn addr_len(hostile: bool, rng: &mut Rng) -> u32 {
    if !hostile {
        return 8;
    }
    match rng.below(12) {
        0 => 0,
        1 => 1,
        2 => 7,
        3 => 9,
        4 => 16,
        5 => 128,
        6 => 129,
        7 => u32::MAX,
        8 => 0x8000_0000,
        9 => rng.below(300) as u32,
        _ => 8,
    }
}

impl Fuzzer {
    pub fn new(seed: u64, ns: u32) -> Result<Self, String> {
        Ok(Self {
            rng: Rng::new(seed),
            seed,
            ns,
            pool: Vec::new(),
            kinds: Default::default(),
            listeners: Default::default(),
            connected: Default::default(),
            cur: None,
            mem: Mem::new()?,
            counts: [0; 17],
            errors: 0,
            by_errno: Default::default(),
            verified: 0,
            verified_seq: 0,
            accepted: 0,
            ops: 0,
            in_child: false,
            seq_ok: crate::seqp::demo_available().is_ok(),
            hostile: false,
        })
    }

    fn fd(&mut self) -> i32 {
        if self.pool.is_empty() || self.rng.chance(200) {
            // An invalid or non-socket descriptor now and then.
            self.cur = None;
            return self.rng.pick(&[-1, 0, 9999]);
        }
        let i = self.rng.below(self.pool.len() as u64) as usize;
        let fd = self.pool[i];
        self.cur = self.kinds.get(&fd).copied();
        fd
    }

    /// Adds a new descriptor of `kind` to the pool (closes it when the pool is full).
    fn adopt(&mut self, fd: i32, kind: Kind) {
        if self.pool.len() < POOL_MAX {
            self.pool.push(fd);
            self.kinds.insert(fd, kind);
            self.listeners.remove(&fd);
            self.connected.remove(&fd);
        } else {
            // SAFETY: our new descriptor.
            unsafe { libc::close(fd) };
        }
    }

    /// For a valid send or receive, a connected SOCK_SEQPACKET descriptor a third of the time
    /// (so that messages flow); otherwise any.
    fn fd_or_connected(&mut self) -> i32 {
        if !self.hostile && !self.connected.is_empty() && self.rng.chance(3) {
            let v: Vec<i32> = self.connected.iter().copied().collect();
            let fd = self.rng.pick(&v);
            self.cur = Some(Kind::Seq);
            return fd;
        }
        self.fd()
    }

    /// Half the time, a SOCK_SEQPACKET descriptor of the pool that listens, with its port.
    fn pick_listener(&mut self) -> Option<(i32, u32)> {
        if self.listeners.is_empty() || self.rng.chance(2) {
            return None;
        }
        let v: Vec<(i32, u32)> = self.listeners.iter().map(|(f, p)| (*f, *p)).collect();
        Some(self.rng.pick(&v))
    }

    /// Makes a SOCK_SEQPACKET descriptor non-blocking again (before a call that could block).
    fn nonblock(fd: i32) {
        // SAFETY: fcntl on a descriptor; a bad one fails harmlessly.
        unsafe {
            let fl = libc::fcntl(fd, libc::F_GETFL);
            if fl >= 0 {
                libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
            }
        }
    }

    /// Fills `mem.buf` with an address: mostly our family and a hot port. Returns the port
    /// if the address is one of ours.
    fn addr(&mut self) -> Option<u32> {
        let hostile = self.hostile;
        let family: u16 = match self.rng.below(10) {
            _ if !hostile => PF_DEMO as u16,
            0 => 0,
            1 => self.rng.next() as u16,
            _ => PF_DEMO as u16,
        };
        let port = match self.rng.below(10) {
            _ if !hostile => HOT_PORTS.start + self.rng.below(HOT_PORTS.len() as u64) as u32,
            0 => 0,
            1 => self.rng.next() as u32,
            2 => self.rng.below(1024) as u32,
            _ => HOT_PORTS.start + self.rng.below(HOT_PORTS.len() as u64) as u32,
        };
        let a = SockaddrPfdemo { family, port }.to_bytes();
        self.mem.buf[..8].copy_from_slice(&a);
        (family == PF_DEMO as u16).then_some(port)
    }

    fn fail(&self, i: u64, op: Op, what: String) -> String {
        format!(
            "fuzz seed {} (ns tag {}{}) op #{i} {op:?}: {what}; replay: pfdemo fuzz --seed {} --ops {}",
            self.seed,
            self.ns,
            if self.in_child { ", forked child" } else { "" },
            self.seed,
            i + 1
        )
    }

    /// Checks a syscall's return: a negative return's errno must be allowed for `op`.
    fn check(&mut self, i: u64, op: Op, r: i64, extra: &[i32], what: &str) -> Result<i64, String> {
        if r >= 0 {
            return Ok(r);
        }
        let err = errno();
        self.errors += 1;
        *self.by_errno.entry((format!("{op:?}"), err)).or_default() += 1;
        let by_kind = self.cur.map_or(&[][..], |k| allowed_kind(op, k));
        if allowed(op).contains(&err) || extra.contains(&err) || by_kind.contains(&err) {
            Ok(r)
        } else {
            Err(self.fail(i, op, format!("{what}: unexpected {}", ename(err))))
        }
    }

    /// Verifies a received datagram's header against the receiving socket.
    fn verify(&mut self, i: u64, fd: i32, data: &[u8]) -> Result<(), String> {
        if data.len() < 16 {
            return Ok(());
        }
        let w = |k: usize| u32::from_ne_bytes(data[4 * k..4 * k + 4].try_into().unwrap());
        if w(0) != MAGIC || w(1) != !w(2) {
            return Ok(());
        }
        let (port, ns) = (w(1), w(3));
        let mut a = [0u8; 16];
        let mut len = 16u32;
        // SAFETY: `a` and `len` are valid for writes.
        let r = unsafe { libc::getsockname(fd, a.as_mut_ptr().cast(), &mut len) };
        if r != 0 {
            return Err(self.fail(i, Op::Recvmsg, format!("getsockname: {}", ename(errno()))));
        }
        let own = SockaddrPfdemo::from_bytes(&a).unwrap_or_default().port;
        if port != own || ns != self.ns {
            return Err(self.fail(
                i,
                Op::Recvmsg,
                format!(
                    "socket on port {own} (ns tag {}) received a datagram for port {port} (ns tag {ns})",
                    self.ns
                ),
            ));
        }
        self.verified += 1;
        Ok(())
    }

    /// Verifies a received SOCK_SEQPACKET message (`ret`: recvmsg's return): whole (its
    /// length, every byte), sent in this namespace, on this connection.
    fn verify_seq(&mut self, i: u64, fd: i32, data: &[u8], ret: usize) -> Result<(), String> {
        if data.len() < SEQ_HDR {
            return Ok(());
        }
        let w = |k: usize| u32::from_ne_bytes(data[4 * k..4 * k + 4].try_into().unwrap());
        if w(0) != MAGIC_SEQ {
            return Ok(());
        }
        let (len, from_port, from_peer, ns, seed) = (w(1) as usize, w(2), w(3), w(4), w(5));
        let (own, peer) = (name_port(fd, false), name_port(fd, true));
        let bad = if len != ret || len != data.len() {
            Some(format!(
                "a {len}-byte message arrived as {ret} bytes ({} in the buffer)",
                data.len()
            ))
        } else if let Some(k) = (SEQ_HDR..len).find(|&k| data[k] != seq_byte(seed, k)) {
            Some(format!("byte {k} of a {len}-byte message differs"))
        } else if ns != self.ns {
            Some(format!(
                "a message of ns tag {ns} arrived in ns tag {}",
                self.ns
            ))
        } else if [own, peer, from_port, from_peer].iter().all(|&p| p != 0)
            && (from_peer != own || from_port != peer)
        {
            Some(format!(
                "socket {own} (peer {peer}) received a message sent by {from_port} to {from_peer}"
            ))
        } else {
            None
        };
        if let Some(m) = bad {
            return Err(self.fail(i, Op::Recvmsg, format!("fd {fd} SOCK_SEQPACKET: {m}")));
        }
        self.verified_seq += 1;
        Ok(())
    }

    /// Runs `ops` operations.
    pub fn run(&mut self, ops: u64) -> Result<(), String> {
        for i in 0..ops {
            self.step(i)?;
            self.ops += 1;
        }
        self.close_all();
        Ok(())
    }

    /// The most frequent errors, `Op:errno=count`.
    pub fn top_errors(&self, n: usize) -> String {
        let mut v: Vec<_> = self.by_errno.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1));
        v.iter()
            .take(n)
            .map(|((op, e), c)| format!("{op}:{e}={c}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn close_all(&mut self) {
        for fd in self.pool.drain(..) {
            // SAFETY: the pool's descriptors are ours.
            unsafe { libc::close(fd) };
        }
        self.kinds.clear();
        self.listeners.clear();
        self.connected.clear();
    }

    fn step(&mut self, i: u64) -> Result<(), String> {
        self.hostile = self.rng.chance(3);
        self.cur = None;
        let op = match self.rng.below(100) {
            _ if self.pool.len() < 3 => Op::Socket,
            0..=7 => Op::Socket,
            8..=14 => Op::Bind,
            15..=20 => Op::Connect,
            21..=39 => Op::Sendmsg,
            40..=56 => Op::Recvmsg,
            57..=60 => Op::Getsockopt,
            61..=64 => Op::Setsockopt,
            65..=68 => Op::Ioctl,
            69..=72 => Op::Poll,
            73..=75 if self.hostile || self.rng.chance(4) => Op::Shutdown,
            76..=79 => Op::Name,
            80..=85 => Op::Close,
            86..=88 => Op::Dup,
            89..=92 => Op::Listen,
            93..=97 => Op::Accept,
            98 if self.rng.chance(200) && !self.in_child => Op::Fork,
            _ => Op::Unsupported,
        };
        self.counts[op as usize] += 1;
        let rng = &mut self.rng;
        match op {
            Op::Socket => {
                // A type below SOCK_MAX that no protocol serves costs two modprobe runs, as in
                // inet (net-pf-18-proto-P-type-T, then net-pf-18-proto-P): slow on the debug
                // kernel under TCG, so those are rarer than the cheap errors.
                // SOCK_SEQPACKET (rust_pf_demo_seqpacket) a quarter of the time; SOCK_RDM
                // (the test module rust_pf_demo_rdm, loaded on demand) and SOCK_RAW (the raw
                // monitor, CAP_NET_RAW: the fuzzer runs as root) now and then.
                let ty = match rng.below(200) {
                    0..=9 => rng.next() as i32,
                    10 => rng.below(11) as i32,
                    11..=60 if self.seq_ok => libc::SOCK_SEQPACKET,
                    61..=63 => libc::SOCK_RDM,
                    64..=66 => libc::SOCK_RAW,
                    _ => libc::SOCK_DGRAM,
                };
                let kind = match ty & 0xf {
                    libc::SOCK_SEQPACKET => Kind::Seq,
                    libc::SOCK_RDM | libc::SOCK_RAW => Kind::NoOps,
                    _ => Kind::Dgram,
                };
                // SOCK_SEQPACKET sockets never block the fuzzer.
                let ty = ty
                    | rng.pick(&[0, 0, libc::SOCK_NONBLOCK, libc::SOCK_CLOEXEC])
                    | if kind == Kind::Seq {
                        libc::SOCK_NONBLOCK
                    } else {
                        0
                    };
                let proto = if rng.chance(20) { rng.next() as i32 } else { 0 };
                // SAFETY: integer arguments.
                let fd = unsafe { libc::socket(PF_DEMO, ty, proto) };
                let what = format!("socket(18, {ty:#x}, {proto})");
                self.check(i, op, fd as i64, &[], &what)?;
                self.cur = Some(kind);
                if fd >= 0 && kind != Kind::NoOps && !self.hostile && self.rng.chance(2) {
                    // Most sockets get a hot port, so that sends find receivers.
                    let port = HOT_PORTS.start + self.rng.below(HOT_PORTS.len() as u64) as u32;
                    let a = SockaddrPfdemo::new(port).to_bytes();
                    // SAFETY: `a` is valid for reads of its 8 bytes.
                    let r = unsafe { libc::bind(fd, a.as_ptr().cast(), 8) };
                    self.check(i, Op::Bind, r as i64, &[], "bind after socket")?;
                }
                if fd >= 0 {
                    self.adopt(fd, kind);
                }
            }
            Op::Bind | Op::Connect => {
                let fd = self.fd();
                if op == Op::Connect && self.cur == Some(Kind::Seq) {
                    Self::nonblock(fd);
                }
                self.addr();
                // Valid SOCK_SEQPACKET connects go to a listening port of the pool half the
                // time, so that connections are made.
                if op == Op::Connect && self.cur == Some(Kind::Seq) && !self.hostile {
                    if let Some(port) = self.pick_listener().map(|(_, p)| p) {
                        let a = SockaddrPfdemo::new(port).to_bytes();
                        self.mem.buf[..8].copy_from_slice(&a);
                    }
                }
                let rng = &mut self.rng;
                let len = addr_len(self.hostile, rng);
                let p = bad_ptr(
                    self.hostile,
                    rng,
                    self.mem.none.0,
                    self.mem.buf.as_mut_ptr(),
                );
                // SAFETY: the kernel checks the pointer and length; `buf` is 70,000 bytes.
                let r = unsafe {
                    if op == Op::Bind {
                        libc::bind(fd, p.cast(), len)
                    } else {
                        libc::connect(fd, p.cast(), len)
                    }
                };
                let what = format!("fd {fd} addr {p:?} len {len}");
                self.check(i, op, r as i64, &[libc::EBADF, libc::ENOTSOCK], &what)?;
                if r == 0 && op == Op::Connect && self.cur == Some(Kind::Seq) {
                    self.connected.insert(fd);
                }
            }
            Op::Sendmsg => self.sendmsg(i)?,
            Op::Recvmsg => self.recvmsg(i)?,
            Op::Getsockopt | Op::Setsockopt => {
                let fd = self.fd();
                let rng = &mut self.rng;
                let level = match rng.below(10) {
                    0 => PF_DEMO,
                    1 => rng.next() as i32,
                    2 => 0,
                    _ => libc::SOL_SOCKET,
                };
                let name = rng.pick(&SAFE_SOL_SOCKET);
                let name = if rng.chance(8) {
                    rng.next() as i32
                } else {
                    name
                };
                let mut len: u32 = match rng.below(8) {
                    0 => 0,
                    1 => u32::MAX,
                    2 => rng.below(200) as u32,
                    3 => 16,
                    _ => 4,
                };
                let v = rng.next();
                let small = rng.pick(&[0u64, 1, 4096, 1 << 20, u64::MAX]);
                let val = if rng.chance(2) { small } else { v };
                self.mem.buf[..8].copy_from_slice(&val.to_ne_bytes());
                let p = bad_ptr(
                    self.hostile,
                    &mut self.rng,
                    self.mem.none.0,
                    self.mem.buf.as_mut_ptr(),
                );
                // SAFETY: the kernel checks the pointers; `buf` is 70,000 bytes and `len` a
                // local.
                let r = unsafe {
                    if op == Op::Getsockopt {
                        libc::getsockopt(fd, level, name, p.cast(), &mut len)
                    } else {
                        libc::setsockopt(fd, level, name, p.cast(), len)
                    }
                };
                let what = format!("fd {fd} level {level} name {name} ptr {p:?} len {len}");
                self.check(i, op, r as i64, &[libc::EBADF, libc::ENOTSOCK], &what)?;
            }
            Op::Ioctl => {
                let fd = self.fd();
                let rng = &mut self.rng;
                let cmd: u64 = match rng.below(8) {
                    0 => libc::FIONREAD,
                    1 => 0x5411, // TIOCOUTQ / SIOCOUTQ
                    2 => libc::FIONBIO,
                    3 => 0x8906,                 // SIOCGSTAMP_OLD
                    4 => 0x8907,                 // SIOCGSTAMPNS_OLD
                    5 => 0x89E0 + rng.below(16), // SIOCPROTOPRIVATE..
                    6 => 0x8905,                 // SIOCATMARK
                    // A random command of an unused ioctl type ('\xa5').
                    _ => (rng.next() & 0xC0FF_00FF) | 0xA500,
                };
                self.mem.buf[..4].copy_from_slice(&[0, 0, 0, 0]);
                let p = bad_ptr(
                    self.hostile,
                    &mut self.rng,
                    self.mem.none.0,
                    self.mem.buf.as_mut_ptr(),
                );
                // SAFETY: the kernel checks the pointer; `buf` is 70,000 bytes.
                let r = unsafe { libc::ioctl(fd, cmd as _, p) };
                let what = format!("fd {fd} ioctl {cmd:#x} ptr {p:?}");
                self.check(i, op, r as i64, &[libc::EBADF], &what)?;
            }
            Op::Poll => {
                let n = 1 + rng.below(4) as usize;
                let mut pfds: Vec<libc::pollfd> = (0..n)
                    .map(|_| libc::pollfd {
                        fd: 0,
                        events: 0,
                        revents: 0,
                    })
                    .collect();
                for p in pfds.iter_mut() {
                    p.fd = self.fd();
                    p.events = self.rng.next() as i16;
                }
                // SAFETY: `pfds` holds `n` valid pollfds; timeout 0 never blocks.
                let r = unsafe { libc::poll(pfds.as_mut_ptr(), n as u64, 0) };
                self.check(i, op, r as i64, &[], "poll")?;
            }
            Op::Shutdown => {
                let fd = self.fd();
                let how = match self.rng.below(6) {
                    0 => self.rng.next() as i32,
                    1 => 3,
                    2 => -1,
                    k => k as i32 - 3,
                };
                // SAFETY: integer arguments.
                let r = unsafe { libc::shutdown(fd, how) };
                let what = format!("fd {fd} how {how}");
                self.check(i, op, r as i64, &[libc::EBADF, libc::ENOTSOCK], &what)?;
            }
            Op::Name => {
                let fd = self.fd();
                let mut len: u32 = match self.rng.below(6) {
                    0 => 0,
                    1 => 3,
                    2 => u32::MAX,
                    3 => 0x8000_0000,
                    _ => 16,
                };
                let p = bad_ptr(
                    self.hostile,
                    &mut self.rng,
                    self.mem.none.0,
                    self.mem.buf.as_mut_ptr(),
                );
                let peer = self.rng.chance(2);
                // SAFETY: the kernel checks the pointers; `len` is a local.
                let r = unsafe {
                    if peer {
                        libc::getpeername(fd, p.cast(), &mut len)
                    } else {
                        libc::getsockname(fd, p.cast(), &mut len)
                    }
                };
                let what = format!("fd {fd} peer {peer} ptr {p:?}");
                self.check(i, op, r as i64, &[libc::EBADF, libc::ENOTSOCK], &what)?;
            }
            Op::Close => {
                if !self.pool.is_empty() {
                    let k = self.rng.below(self.pool.len() as u64) as usize;
                    let fd = self.pool.swap_remove(k);
                    self.kinds.remove(&fd);
                    self.listeners.remove(&fd);
                    self.connected.remove(&fd);
                    // SAFETY: the descriptor is the pool's.
                    let r = unsafe { libc::close(fd) };
                    self.check(i, op, r as i64, &[], &format!("close({fd})"))?;
                }
            }
            Op::Dup => {
                if !self.pool.is_empty() && self.pool.len() < POOL_MAX {
                    let fd = self.fd();
                    if fd > 2 {
                        // SAFETY: dup of a pool descriptor.
                        let d = unsafe { libc::dup(fd) };
                        let bad: &[i32] = if self.pool.contains(&fd) {
                            &[]
                        } else {
                            &[libc::EBADF]
                        };
                        self.check(i, op, d as i64, bad, &format!("dup({fd})"))?;
                        if d >= 0 {
                            let kind = self.kinds.get(&fd).copied().unwrap_or(Kind::Dgram);
                            self.adopt(d, kind);
                        }
                    }
                }
            }
            Op::Fork => self.fork(i)?,
            Op::Unsupported => {
                // socketpair: SOCK_DGRAM is sock_no_socketpair (EOPNOTSUPP); SOCK_SEQPACKET
                // as its protocol serves it.
                let seq = self.rng.chance(2) && self.seq_ok;
                let ty = if seq {
                    libc::SOCK_SEQPACKET | libc::SOCK_NONBLOCK
                } else {
                    libc::SOCK_DGRAM
                };
                let mut sv = [-1i32; 2];
                let p = if self.hostile && self.rng.chance(3) {
                    self.mem.none.0.cast()
                } else {
                    sv.as_mut_ptr()
                };
                // SAFETY: `p` is `sv` (two ints) or the PROT_NONE page, which the kernel checks.
                let r = unsafe { libc::socketpair(PF_DEMO, ty, 0, p) };
                self.check(
                    i,
                    op,
                    r as i64,
                    &[],
                    &format!("socketpair(18, {ty:#x}) to {p:?}"),
                )?;
                if r == 0 && p == sv.as_mut_ptr() {
                    let kind = if seq { Kind::Seq } else { Kind::Dgram };
                    self.adopt(sv[0], kind);
                    self.adopt(sv[1], kind);
                }
            }
            Op::Listen => {
                let mut fd = self.fd();
                // Valid listens mostly on a SOCK_SEQPACKET socket.
                if !self.hostile && self.rng.chance(2) {
                    let seq: Vec<i32> = self
                        .pool
                        .iter()
                        .copied()
                        .filter(|f| self.kinds.get(f) == Some(&Kind::Seq))
                        .collect();
                    if !seq.is_empty() {
                        fd = self.rng.pick(&seq);
                        self.cur = Some(Kind::Seq);
                    }
                }
                let backlog = match self.rng.below(6) {
                    0 => self.rng.next() as i32,
                    1 => 0,
                    2 => -1,
                    _ => 1 + self.rng.below(16) as i32,
                };
                // SAFETY: integer arguments.
                let r = unsafe { libc::listen(fd, backlog) };
                let what = format!("fd {fd} backlog {backlog}");
                self.check(i, op, r as i64, &[libc::EBADF, libc::ENOTSOCK], &what)?;
                if r == 0 && self.cur == Some(Kind::Seq) {
                    self.listeners.insert(fd, name_port(fd, false));
                }
            }
            Op::Accept => self.accept(i)?,
        }
        Ok(())
    }

    /// accept4 with good or hostile address and length pointers and flags; an accepted
    /// connection joins the pool (non-blocking).
    fn accept(&mut self, i: u64) -> Result<(), String> {
        let mut fd = self.fd();
        // Valid accepts on a listener of the pool half the time.
        if !self.hostile {
            if let Some((l, _)) = self.pick_listener() {
                fd = l;
                self.cur = Some(Kind::Seq);
            }
        }
        if self.cur == Some(Kind::Seq) {
            Self::nonblock(fd);
        }
        let hostile = self.hostile;
        let rng = &mut self.rng;
        let base = self.mem.buf.as_mut_ptr();
        // The length at offset 256, the address at 0.
        let lenv: u32 = match rng.below(6) {
            _ if !hostile => 128,
            0 => 0,
            1 => 3,
            2 => u32::MAX,
            3 => 0x8000_0000,
            _ => 16,
        };
        self.mem.buf[256..260].copy_from_slice(&lenv.to_ne_bytes());
        let (addr, lenp) = match rng.below(4) {
            _ if !hostile => (base, base.wrapping_add(256)),
            0 => (std::ptr::null_mut(), std::ptr::null_mut()),
            1 => (
                base,
                bad_ptr(true, rng, self.mem.none.0, base.wrapping_add(256)),
            ),
            _ => (
                bad_ptr(true, rng, self.mem.none.0, base),
                base.wrapping_add(256),
            ),
        };
        let flags = match rng.below(8) {
            _ if !hostile => libc::SOCK_NONBLOCK,
            0 => rng.next() as i32,
            1 => 0,
            2 => libc::SOCK_CLOEXEC,
            _ => libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        };
        // SAFETY: the kernel checks the pointers; `buf` is 70,000 bytes.
        let r = unsafe { libc::accept4(fd, addr.cast(), lenp.cast(), flags) };
        let what = format!("fd {fd} addr {addr:?} len {lenp:?} = {lenv} flags {flags:#x}");
        self.check(
            i,
            Op::Accept,
            r as i64,
            &[libc::EBADF, libc::ENOTSOCK],
            &what,
        )?;
        if r >= 0 {
            self.accepted += 1;
            Self::nonblock(r);
            self.adopt(r, Kind::Seq);
            if self.pool.contains(&r) {
                self.connected.insert(r);
            }
        }
        Ok(())
    }

    fn sendmsg(&mut self, i: u64) -> Result<(), String> {
        let fd = self.fd_or_connected();
        let port = self.addr();
        let rng = &mut self.rng;
        let base = self.mem.buf.as_mut_ptr();
        let niov = match rng.below(12) {
            _ if !self.hostile => 1,
            0 => 0,
            1 => 1024,
            2 => 1025,
            3 => rng.below(2000) as usize,
            4 => 3,
            5 => 2,
            _ => 1,
        };
        let mut iovs = Vec::with_capacity(niov);
        for _ in 0..niov {
            let len = match rng.below(10) {
                _ if !self.hostile => 16 + rng.below(200) as usize,
                0 => 0,
                1 => rng.below(70_000 - 64) as usize,
                2 => usize::MAX / 2,
                3 => 65507,
                4 => 65508,
                _ => 16 + rng.below(200) as usize,
            };
            iovs.push(libc::iovec {
                // SAFETY: offset 64 of the 70,000-byte buffer.
                iov_base: bad_ptr(self.hostile, rng, self.mem.none.0, unsafe { base.add(64) })
                    .cast(),
                iov_len: len,
            });
        }
        let rng = &mut self.rng;
        let name = if rng.chance(if self.hostile { 5 } else { 20 }) {
            std::ptr::null_mut()
        } else {
            bad_ptr(self.hostile, rng, self.mem.none.0, base)
        };
        let namelen = if name.is_null() {
            0
        } else {
            addr_len(self.hostile, rng)
        };
        // The payload header at offset 64 (after the address): valid only when the kernel
        // will use this address (ours, long enough; > 128 is clamped to 128); otherwise the
        // destination is the peer, which the fuzzer does not track, and the header is left
        // invalid (port and !port do not match).
        let dest = match port {
            Some(p) if name == base && (8..=0x7fff_ffff).contains(&namelen) => Some(p),
            _ => None,
        };
        let hdr = match dest {
            Some(p) => [MAGIC, p, !p, self.ns],
            None => [MAGIC, 0, 0, self.ns],
        };
        for (k, w) in hdr.iter().enumerate() {
            self.mem.buf[64 + 4 * k..68 + 4 * k].copy_from_slice(&w.to_ne_bytes());
        }
        // A SOCK_SEQPACKET message: with valid arguments a header and bytes made from a seed,
        // checked whole by the receiver; with hostile ones none (magic 0).
        let seq_len = match self.cur {
            Some(Kind::Seq) if !self.hostile => {
                let len = iovs[0].iov_len.max(SEQ_HDR);
                iovs[0].iov_len = len;
                let seed = self.rng.next() as u32;
                let hdr = [
                    MAGIC_SEQ,
                    len as u32,
                    name_port(fd, false),
                    name_port(fd, true),
                    self.ns,
                    seed,
                ];
                for (k, w) in hdr.iter().enumerate() {
                    self.mem.buf[64 + 4 * k..68 + 4 * k].copy_from_slice(&w.to_ne_bytes());
                }
                for k in SEQ_HDR..len {
                    self.mem.buf[64 + k] = seq_byte(seed, k);
                }
                Some(len)
            }
            Some(Kind::Seq) => {
                self.mem.buf[64..68].copy_from_slice(&[0; 4]);
                None
            }
            _ => None,
        };
        let rng = &mut self.rng;
        let iovp = if self.hostile && rng.chance(20) {
            self.mem.none.0.cast()
        } else {
            iovs.as_mut_ptr()
        };
        let flags = libc::MSG_DONTWAIT
            | libc::MSG_NOSIGNAL
            | match rng.below(8) {
                _ if !self.hostile => 0,
                0 => libc::MSG_OOB,
                1 => libc::MSG_MORE,
                2 => libc::MSG_CONFIRM,
                3 => (rng.next() as i32) & !(libc::MSG_OOB | 0x400_0000),
                _ => 0,
            };
        // SAFETY: an all-zero msghdr is valid; the pointers set are checked by the kernel.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = name.cast();
        msg.msg_namelen = namelen;
        msg.msg_iov = iovp;
        msg.msg_iovlen = niov;
        if self.hostile && rng.chance(10) {
            msg.msg_control = bad_ptr(self.hostile, rng, self.mem.none.0, base).cast();
            msg.msg_controllen = rng.below(64) as usize;
        }
        // SAFETY: `msg` and the iovecs describe memory the kernel checks.
        let r = unsafe { libc::sendmsg(fd, &msg, flags) };
        let what =
            format!("fd {fd} name {name:?}/{namelen} iov {iovp:?} x {niov} flags {flags:#x}");
        // EPIPE after SHUT_WR, ENOTCONN never: sending needs an address or a peer
        // (EDESTADDRREQ); EISCONN never (an address overrides the peer, as UDP).
        self.check(
            i,
            Op::Sendmsg,
            r as i64,
            &[libc::EBADF, libc::ENOTSOCK],
            &what,
        )?;
        // A message is sent whole or not at all.
        if let Some(len) = seq_len {
            if r >= 0 && r as usize != len {
                return Err(self.fail(
                    i,
                    Op::Sendmsg,
                    format!("{what}: SOCK_SEQPACKET send of {len} bytes returned {r}"),
                ));
            }
        }
        Ok(())
    }

    fn recvmsg(&mut self, i: u64) -> Result<(), String> {
        let fd = self.fd_or_connected();
        let rng = &mut self.rng;
        let base = self.mem.buf.as_mut_ptr();
        // Mostly one good iovec (so the payload can be verified).
        let good = !self.hostile || rng.below(4) != 0;
        let niov = if good {
            1
        } else {
            rng.pick(&[0usize, 1, 2, 1024, 1025, 1500])
        };
        let mut iovs = Vec::with_capacity(niov);
        for _ in 0..niov {
            let len = if good {
                70_000 - 128
            } else {
                rng.pick(&[0usize, 1, 15, 4096, usize::MAX / 2])
            };
            let p = if good {
                // SAFETY: offset 128 of the 70,000-byte buffer.
                unsafe { base.add(128) }
            } else {
                // SAFETY: as above.
                bad_ptr(self.hostile, rng, self.mem.none.0, unsafe { base.add(128) })
            };
            // SAFETY: as above.
            let at_128 = unsafe { base.add(128) };
            iovs.push(libc::iovec {
                iov_base: p.cast(),
                iov_len: if good || p != at_128 {
                    len
                } else {
                    len.min(4096)
                },
            });
        }
        let name = bad_ptr(self.hostile, rng, self.mem.none.0, base);
        let namelen = addr_len(self.hostile, rng);
        let flags = libc::MSG_DONTWAIT
            | match rng.below(10) {
                _ if !self.hostile => 0,
                0 => libc::MSG_PEEK,
                1 => libc::MSG_TRUNC,
                2 => libc::MSG_OOB,
                3 => libc::MSG_ERRQUEUE,
                4 => libc::MSG_WAITALL,
                5 => libc::MSG_CMSG_CLOEXEC,
                6 => (rng.next() as i32) & !libc::MSG_WAITFORONE,
                _ => 0,
            };
        // SAFETY: an all-zero msghdr is valid; the pointers set are checked by the kernel.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = name.cast();
        msg.msg_namelen = namelen;
        msg.msg_iov = iovs.as_mut_ptr();
        msg.msg_iovlen = niov;
        // SAFETY: `msg` and the iovecs describe memory the kernel checks.
        let r = unsafe { libc::recvmsg(fd, &mut msg, flags) };
        let what = format!("fd {fd} name {name:?}/{namelen} iov x {niov} flags {flags:#x}");
        let r = self.check(
            i,
            Op::Recvmsg,
            r as i64,
            &[libc::EBADF, libc::ENOTSOCK],
            &what,
        )?;
        if r >= 16 && good {
            let n = (r as usize).min(70_000 - 128);
            let data = self.mem.buf[128..128 + n].to_vec();
            if self.cur == Some(Kind::Seq) {
                self.verify_seq(i, fd, &data, r as usize)?;
            } else {
                self.verify(i, fd, &data)?;
            }
        }
        Ok(())
    }

    /// A child that inherits the pool, runs a few hundred operations of its own (a derived
    /// seed) and exits; the parent waits (bounded).
    fn fork(&mut self, i: u64) -> Result<(), String> {
        let seed = self.seed ^ (i + 1).wrapping_mul(0x1000_0000_01B3);
        let pid = {
            // SAFETY: the fuzzer is single-threaded; the child only makes syscalls and exits.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                self.rng = Rng::new(seed);
                self.in_child = true;
                let code = match (0..300).try_for_each(|k| self.step(k)) {
                    Ok(()) => 0,
                    Err(m) => {
                        println!("# fuzz child (seed {seed}): {m}");
                        1
                    }
                };
                // SAFETY: leave without the parent's exit handlers.
                unsafe { libc::_exit(code) };
            }
            pid
        };
        self.check(i, Op::Fork, pid as i64, &[], "fork")?;
        if pid < 0 {
            return Ok(());
        }
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let mut status = 0;
            // SAFETY: `status` is valid for writes.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if r == pid {
                if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                    return Ok(());
                }
                return Err(self.fail(i, Op::Fork, format!("child failed, status {status:#x}")));
            }
            if Instant::now() > deadline {
                // SAFETY: our child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                return Err(self.fail(i, Op::Fork, "child did not finish in 30 s".into()));
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// Byte `k` of a SOCK_SEQPACKET message made from `seed`.
fn seq_byte(seed: u32, k: usize) -> u8 {
    (seed.wrapping_mul(31).wrapping_add(k as u32 * 7) >> 3) as u8
}

/// The port of `fd`'s own (`peer` false) or peer address, 0 if none or not of the family.
fn name_port(fd: i32, peer: bool) -> u32 {
    let mut a = [0u8; 16];
    let mut len = a.len() as u32;
    // SAFETY: `a` and `len` are valid for writes.
    let r = unsafe {
        if peer {
            libc::getpeername(fd, a.as_mut_ptr().cast(), &mut len)
        } else {
            libc::getsockname(fd, a.as_mut_ptr().cast(), &mut len)
        }
    };
    match SockaddrPfdemo::from_bytes(&a[..(len as usize).min(16)]) {
        Some(x) if r == 0 && x.family == PF_DEMO as u16 => x.port,
        _ => 0,
    }
}

/// SOL_SOCKET options the fuzzer sets and gets. Left out: SO_ATTACH_* (BPF programs: not the
/// family's code), SO_LINGER is harmless for datagram sockets and kept.
const SAFE_SOL_SOCKET: [i32; 24] = [
    libc::SO_DEBUG,
    libc::SO_REUSEADDR,
    libc::SO_TYPE,
    libc::SO_ERROR,
    libc::SO_DONTROUTE,
    libc::SO_BROADCAST,
    libc::SO_SNDBUF,
    libc::SO_RCVBUF,
    libc::SO_KEEPALIVE,
    libc::SO_OOBINLINE,
    libc::SO_NO_CHECK,
    libc::SO_PRIORITY,
    libc::SO_LINGER,
    libc::SO_PASSCRED,
    libc::SO_PEERCRED,
    libc::SO_RCVLOWAT,
    libc::SO_SNDLOWAT,
    libc::SO_RCVTIMEO,
    libc::SO_SNDTIMEO,
    libc::SO_TIMESTAMP,
    libc::SO_MARK,
    libc::SO_DOMAIN,
    libc::SO_PROTOCOL,
    libc::SO_PEEK_OFF,
];

/// The seed for this run: `RPD_FUZZ_SEED` (kernel command line `rpd.seed=`), else the clock.
pub fn seed() -> u64 {
    std::env::var("RPD_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// Runs `ops` operations in this process (ns tag 1) and as many in a forked child in a new
/// network namespace (ns tag 2), both on the same hot ports: no datagram may cross.
fn fuzz_syscalls_netns() -> TestResult {
    const T: &str = "fuzz_syscalls_netns";
    let ops = pick(100_000u64, 1_000_000);
    let seed = seed();
    let seq = crate::seqp::demo_available();
    ensure_seq_unloaded()?;
    ensure_loaded()?;
    let base = Baseline::take()?;
    // SAFETY: ignore SIGPIPE (sendmsg after SHUT_WR); MSG_NOSIGNAL is set anyway.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let start = Instant::now();
    let child = spawn_child(move || {
        // SAFETY: plain syscall in the child.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            println!("# {T}: unshare(CLONE_NEWNET): {}", ename(errno()));
            return 2;
        }
        let mut f = match Fuzzer::new(seed.wrapping_add(1), 2) {
            Ok(f) => f,
            Err(m) => {
                println!("# {T}: {m}");
                return 3;
            }
        };
        match f.run(ops) {
            Ok(()) => {
                println!(
                    "# {T}: netns child: {} ops, {} errors (all allowed), {} datagrams and {} SOCK_SEQPACKET messages verified, {} connections accepted",
                    f.ops, f.errors, f.verified, f.verified_seq, f.accepted
                );
                0
            }
            Err(m) => {
                println!("# {T}: {m}");
                1
            }
        }
    })?;
    let mut f = Fuzzer::new(seed, 1)?;
    let r = f.run(ops);
    f.close_all();
    let status = wait_child(child)?;
    let secs = start.elapsed().as_secs_f64();
    r.map_err(Outcome::Fail)?;
    check_eq!(status, 0, format!("netns fuzzer child (seed {})", seed + 1));
    check!(f.verified > 0, "seed {seed}: no datagram was verified");
    if seq.is_ok() {
        check!(
            f.verified_seq > 0 && f.accepted > 0,
            "seed {seed}: {} SOCK_SEQPACKET messages verified, {} connections accepted",
            f.verified_seq,
            f.accepted
        );
    }
    // No stuck reference: the protocol modules' counts are 0 and they unload (the family's
    // count is then 0 too: seq_check).
    let rdm = crate::seqp::module_refcnt("rust_pf_demo_rdm");
    check!(
        matches!(rdm, None | Some(0)),
        "seed {seed}: rust_pf_demo_rdm refcnt {rdm:?} after the fuzzer"
    );
    if rdm.is_some() {
        rmmod_named(RDM_MODULE).map_err(e("rmmod rust_pf_demo_rdm"))?;
    }
    let seq_refs = seq_refcnt();
    let after = seq_check(&base).map_err(|m| format!("seed {seed}: {m}"))?;
    report(
        T,
        format!(
            "seed {seed}: {} ops here + {ops} in a child netns in {secs:.1} s; here {} errors (all allowed), {} datagrams verified (own port, own netns), {} SOCK_SEQPACKET messages verified (whole, own connection, own netns){}, {} connections accepted; rust_pf_demo_rdm refcnt {rdm:?}, rust_pf_demo_seqpacket {seq_refs:?} (then unloaded); ops by kind {:?}; top errors (op:errno=count) {}; {after}",
            f.ops, f.errors, f.verified, f.verified_seq,
            seq.err().map_or(String::new(), |why| format!(" (none: {why})")),
            f.accepted, f.counts, f.top_errors(12)
        ),
    );
    Ok(())
}

/// `pfdemo fuzz --seed S --ops N [--netns]`: one fuzzer run, exit 0 or 1.
pub fn cli(args: &[String]) -> i32 {
    let mut seed = seed();
    let mut ops = 100_000u64;
    let mut netns = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => seed = it.next().and_then(|s| s.parse().ok()).unwrap_or(seed),
            "--ops" => ops = it.next().and_then(|s| s.parse().ok()).unwrap_or(ops),
            "--netns" => netns = true,
            _ => {
                eprintln!("usage: pfdemo fuzz [--seed S] [--ops N] [--netns]");
                return 2;
            }
        }
    }
    // SAFETY: ignore SIGPIPE; MSG_NOSIGNAL is set anyway.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // SAFETY: plain syscall.
    if netns && unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        eprintln!("unshare: {}", ename(errno()));
        return 2;
    }
    let start = Instant::now();
    let mut f = match Fuzzer::new(seed, 1) {
        Ok(f) => f,
        Err(m) => {
            eprintln!("{m}");
            return 2;
        }
    };
    match f.run(ops) {
        Ok(()) => {
            println!(
                "fuzz seed {seed}: {} ops in {:.1} s, {} errors (all allowed), {} datagrams verified",
                f.ops,
                start.elapsed().as_secs_f64(),
                f.errors,
                f.verified
            );
            0
        }
        Err(m) => {
            println!("{m}");
            1
        }
    }
}
