// SPDX-License-Identifier: GPL-2.0

//! The safe layer's socket buffers under a fill that faults half-way (issue 17 item 1), through
//! the test protocol tests/kmod/rust_pf_demo_badfill.rs (`socket(18, SOCK_DGRAM, 21)`, each
//! socket receives what it sends), whose `sendmsg` ignores the copy's error as far as the
//! types let it and queues whatever it is left with. The sender's buffers are readable bytes
//! followed by an unmapped page: the copy faults (`EFAULT`) after the readable ones. The
//! receiver must get nothing (or the whole message, which cannot be read here), never a
//! datagram whose bytes past the readable ones the sender never wrote. AF_UNIX SOCK_DGRAM, run
//! first as the control, answers `EFAULT` and delivers nothing.

use crate::ktap::{Outcome, Test, TestResult};
use crate::seqp::module_refcnt;
use crate::sys::*;
use crate::uapi::PFDEMO_PROTO_BADFILL;
use crate::{check, check_eq};
use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Every test, in order.
pub const TESTS: &[Test] = &[Test {
    name: "skbfill_efault_half_way_delivers_nothing",
    run: skbfill_efault_half_way_delivers_nothing,
}];

/// The test module, packed next to rust_pf_demo.ko.
const BADFILL: &CStr = c"rust_pf_demo_badfill";
const BADFILL_NAME: &str = "rust_pf_demo_badfill";

/// The message's length.
const LEN: usize = 3000;
/// How many of its bytes are readable before the unmapped page.
const READABLE: usize = 1000;

/// The byte at `i` of a good message: never 0, so that zeroed memory does not pass for it.
fn pattern(i: usize) -> u8 {
    (i % 251) as u8 + 1
}

/// `finit_module()` of the test module (rust_pf_demo must be loaded: it exports the switch
/// API the module links against).
fn insmod(name: &CStr) -> Result<(), String> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let path = format!(
        "/lib/modules/{}/extra/{}.ko",
        release.trim(),
        name.to_str().unwrap_or("")
    );
    let file = std::fs::File::open(&path).map_err(|e| format!("open {path}: {e}"))?;
    // SAFETY: `file` is an open descriptor for the call; the parameter string is a valid empty
    // C string; flags is an integer.
    let r = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), c"".as_ptr(), 0) };
    if r == 0 {
        Ok(())
    } else {
        Err(format!("finit_module({path}): {}", ename(errno())))
    }
}

/// Unloads the test module when dropped (after the test's sockets, declared after it).
struct Unload;

impl Drop for Unload {
    fn drop(&mut self) {
        if module_refcnt(BADFILL_NAME).is_some() {
            let _ = rmmod_named(BADFILL);
        }
    }
}

/// Two pages, the second unmapped: `buf()` is `READABLE` bytes of the pattern just before it.
struct Faulting {
    base: *mut u8,
    page: usize,
}

impl Faulting {
    fn new() -> Result<Self, String> {
        // SAFETY: sysconf has no memory effects.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        // SAFETY: a new anonymous private mapping; nothing else is at the address it returns.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(format!("mmap: {}", ename(errno())));
        }
        let base = base.cast::<u8>();
        for i in 0..READABLE {
            // SAFETY: within the first page, which is mapped writable.
            unsafe { *base.add(page - READABLE + i) = pattern(i) };
        }
        // SAFETY: the second page of our own mapping; nothing references it.
        if unsafe { libc::munmap(base.add(page).cast(), page) } != 0 {
            return Err(format!("munmap: {}", ename(errno())));
        }
        Ok(Self { base, page })
    }

    /// Where the `LEN`-byte message starts: its first `READABLE` bytes are mapped.
    fn start(&self) -> *mut u8 {
        // SAFETY: within the first page.
        unsafe { self.base.add(self.page - READABLE) }
    }
}

impl Drop for Faulting {
    fn drop(&mut self) {
        // SAFETY: the first page of our mapping, not referenced any more.
        unsafe { libc::munmap(self.base.cast(), self.page) };
    }
}

/// `socketpair(family, ty, 0)`.
fn socketpair(family: i32, ty: i32) -> Result<(OwnedFd, OwnedFd), String> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is valid for writes of two ints.
    if unsafe { libc::socketpair(family, ty, 0, fds.as_mut_ptr()) } < 0 {
        return Err(format!("socketpair: {}", ename(errno())));
    }
    // SAFETY: two new descriptors nobody else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `sendmsg(fd, iov, flags)` with the given iovecs.
fn sendmsg_iov(fd: &OwnedFd, iov: &mut [libc::iovec]) -> Result<usize, i32> {
    // SAFETY: an all-zero msghdr is valid; the iovecs outlive the call (the kernel checks
    // their memory itself and answers EFAULT for what is not mapped).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = iov.len();
    // SAFETY: `msg` describes the iovecs above.
    let r = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_DONTWAIT) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as usize)
    }
}

/// The two ways the message's buffers fault half-way: one buffer running into the unmapped
/// page, and the readable bytes as one iovec followed by an iovec in the unmapped page.
fn faulting_sends(fd: &OwnedFd, f: &Faulting) -> Vec<(&'static str, Result<usize, i32>)> {
    let one = [libc::iovec {
        iov_base: f.start().cast(),
        iov_len: LEN,
    }];
    let two = [
        libc::iovec {
            iov_base: f.start().cast(),
            iov_len: READABLE,
        },
        libc::iovec {
            // SAFETY: only the address is computed: the unmapped page.
            iov_base: unsafe { f.base.add(f.page) }.cast(),
            iov_len: LEN - READABLE,
        },
    ];
    let mut out = Vec::new();
    for (what, iov) in [("one buffer", &one[..]), ("two iovecs", &two[..])] {
        let mut iov = iov.to_vec();
        out.push((what, sendmsg_iov(fd, &mut iov)));
    }
    out
}

/// What the receiver `rx` has after a faulting send: `Ok(())` when nothing, else a failure
/// naming what arrived (how many bytes past the readable ones, which the sender never wrote).
fn nothing_received(rx: &OwnedFd, fam: &str, what: &str, sent: Result<usize, i32>) -> TestResult {
    let mut buf = vec![0u8; LEN + 100];
    match recvmsg(rx, &mut buf, libc::MSG_DONTWAIT) {
        Err(libc::EAGAIN) => Ok(()),
        Err(e) => Err(Outcome::Fail(format!(
            "{fam}, {what}: after the faulting send ({sent:?}), recv: {}, expected EAGAIN",
            ename(e)
        ))),
        Ok(r) => {
            let prefix = (0..READABLE.min(r.n))
                .filter(|&i| buf[i] == pattern(i))
                .count();
            let stale = r.n.saturating_sub(READABLE);
            let differing = (READABLE..r.n).filter(|&i| buf[i] != 0).count();
            Err(Outcome::Fail(format!(
                "{fam}, {what}: the send's buffers fault after {READABLE} of {LEN} bytes (send: \
                 {}), yet the receiver got a {}-byte datagram: {prefix} of the readable bytes as \
                 sent, {stale} bytes past them that the sender never wrote ({differing} of them \
                 non-zero, first 16: {:02x?})",
                match sent {
                    Ok(n) => format!("{n}"),
                    Err(e) => ename(e),
                },
                r.n,
                &buf[READABLE.min(r.n)..(READABLE + 16).min(r.n)]
            )))
        }
    }
}

/// A good `LEN`-byte message from `tx` arrives whole at `rx`.
fn good_roundtrip(tx: &OwnedFd, rx: &OwnedFd, fam: &str, when: &str) -> TestResult {
    let msg: Vec<u8> = (0..LEN).map(pattern).collect();
    let sent = sendto(tx, &msg, None, libc::MSG_DONTWAIT).map_err(e("send"));
    check_eq!(
        sent,
        Ok(LEN),
        format!("{fam}: send of a good message {when}")
    );
    let mut buf = vec![0u8; LEN + 100];
    let got = recvmsg(rx, &mut buf, libc::MSG_DONTWAIT)
        .map(|r| r.n)
        .map_err(ename);
    check_eq!(
        got,
        Ok(LEN),
        format!("{fam}: recv of the good message {when}")
    );
    check!(
        buf[..LEN] == msg[..],
        "{fam}: the good message {when} arrived with other bytes"
    );
    Ok(())
}

fn skbfill_efault_half_way_delivers_nothing() -> TestResult {
    let f = Faulting::new()?;
    // The control: AF_UNIX SOCK_DGRAM answers EFAULT and delivers nothing.
    let (a, b) = socketpair(libc::AF_UNIX, libc::SOCK_DGRAM)?;
    good_roundtrip(&a, &b, "AF_UNIX", "before")?;
    for (what, sent) in faulting_sends(&a, &f) {
        check_eq!(
            sent.map_err(ename),
            Err(ename(libc::EFAULT)),
            format!("AF_UNIX, {what}: send with buffers that fault half-way")
        );
        nothing_received(&b, "AF_UNIX", what, sent)?;
    }
    good_roundtrip(&a, &b, "AF_UNIX", "after")?;
    drop((a, b));

    ensure_loaded()?;
    let _unload = Unload;
    if module_refcnt(BADFILL_NAME).is_some() {
        rmmod_named(BADFILL).map_err(e("rmmod rust_pf_demo_badfill (left over)"))?;
    }
    insmod(BADFILL)?;
    let refs = module_refcnt(BADFILL_NAME);
    check_eq!(refs, Some(0), "rust_pf_demo_badfill refcnt after loading");
    let used = sockets_used()?;
    let fd = socket(PF_DEMO, libc::SOCK_DGRAM, PFDEMO_PROTO_BADFILL)
        .map_err(e("socket(18, SOCK_DGRAM, 21)"))?;
    set_watchdog(&fd)?;
    // The protocol works: a readable message arrives whole (so "nothing" below means
    // something).
    good_roundtrip(&fd, &fd, "family 18", "before")?;
    for (what, sent) in faulting_sends(&fd, &f) {
        // The protocol ignores the error: LEN or EFAULT, either is fine; what counts is what
        // the receiver gets.
        check!(
            matches!(sent, Ok(LEN) | Err(libc::EFAULT)),
            "family 18, {what}: send returned {:?}, expected {LEN} or EFAULT",
            sent.map_err(ename)
        );
        nothing_received(&fd, "family 18", what, sent)?;
    }
    good_roundtrip(&fd, &fd, "family 18", "after")?;
    drop(fd);
    check_eq!(
        module_refcnt(BADFILL_NAME),
        Some(0),
        "rust_pf_demo_badfill refcnt after close"
    );
    check_eq!(sockets_used()?, used, "sockets: used after close");
    rmmod_named(BADFILL).map_err(e("rmmod rust_pf_demo_badfill"))?;
    check_eq!(refcnt(), Some(0), "rust_pf_demo refcnt at the end");
    Ok(())
}
