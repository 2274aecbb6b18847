// SPDX-License-Identifier: GPL-2.0

//! SOCK_SEQPACKET helpers for the stress, fuzzing, fault-injection, bench and demo programs,
//! generic over the family: the family's protocol module (rust_pf_demo_seqpacket, family 18)
//! and AF_UNIX SOCK_SEQPACKET, the control that says what a blocked or failing call must give
//! (the module's connection-oriented calls behave as AF_UNIX's).

use crate::ktap::{Outcome, TestResult};
use crate::stress::{report, Baseline};
use crate::sys::*;
use crate::uapi::PFDEMO_PROTO_SEQPACKET;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The SOCK_SEQPACKET protocol module of family 18 (loaded on demand).
pub const SEQ_MODULE: &CStr = c"rust_pf_demo_seqpacket";
/// Its name in /sys/module and /proc/net.
pub const SEQ_NAME: &str = "rust_pf_demo_seqpacket";

/// A family with a SOCK_SEQPACKET protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fam {
    /// AF_UNIX SOCK_SEQPACKET (abstract addresses): the control.
    Unix,
    /// Family 18, rust_pf_demo_seqpacket.
    Demo,
}

impl Fam {
    /// For messages.
    pub fn name(self) -> &'static str {
        match self {
            Fam::Unix => "AF_UNIX",
            Fam::Demo => "family 18",
        }
    }

    /// The address family number.
    pub fn af(self) -> i32 {
        match self {
            Fam::Unix => libc::AF_UNIX,
            Fam::Demo => PF_DEMO,
        }
    }

    /// `socket(family, SOCK_SEQPACKET | flags, 0)`.
    pub fn socket(self, flags: i32) -> Result<OwnedFd, i32> {
        socket(self.af(), libc::SOCK_SEQPACKET | flags, 0)
    }

    /// A socket with the watchdog ([`WATCHDOG_MS`] as `SO_RCVTIMEO`/`SO_SNDTIMEO`).
    pub fn watched_socket(self) -> Result<OwnedFd, String> {
        let fd = self
            .socket(0)
            .map_err(|err| format!("{} socket(SOCK_SEQPACKET): {}", self.name(), ename(err)))?;
        set_watchdog(&fd)?;
        Ok(fd)
    }

    /// An address to bind a new listener to: a free port (port 0) of family 18; a fresh
    /// abstract name for AF_UNIX (its autobind names are 5 hex digits: a million at most).
    pub fn any_addr(self) -> Vec<u8> {
        match self {
            Fam::Demo => SockaddrPfdemo::new(0).to_bytes().to_vec(),
            Fam::Unix => {
                static N: AtomicU32 = AtomicU32::new(0);
                let name = format!("rpd-seq-{}-{}", std::process::id(), N.fetch_add(1, Relaxed));
                let mut a = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
                a.push(0);
                a.extend_from_slice(name.as_bytes());
                a
            }
        }
    }

    /// A listening socket (watchdog set) bound to a free address, and its address as
    /// `getsockname` gives it (what a client connects to).
    pub fn listener(self, backlog: i32) -> Result<(OwnedFd, Vec<u8>), String> {
        let fd = self.watched_socket()?;
        bind_raw(&fd, &self.any_addr())
            .map_err(|err| format!("{} bind: {}", self.name(), ename(err)))?;
        listen(&fd, backlog).map_err(|err| format!("{} listen: {}", self.name(), ename(err)))?;
        let addr = sockname(&fd).map_err(|err| format!("getsockname: {}", ename(err)))?;
        Ok((fd, addr))
    }

    /// A connection through `listener`: the connected client and the accepted socket, both
    /// with the watchdog.
    pub fn connection(self, listener: &OwnedFd, addr: &[u8]) -> Result<(OwnedFd, OwnedFd), String> {
        let c = self.watched_socket()?;
        connect_raw(&c, addr).map_err(|err| format!("{} connect: {}", self.name(), ename(err)))?;
        let s =
            accept(listener, 0).map_err(|err| format!("{} accept: {}", self.name(), ename(err)))?;
        set_watchdog(&s)?;
        Ok((c, s))
    }
}

/// `listen(fd, backlog)`.
pub fn listen(fd: &OwnedFd, backlog: i32) -> Result<(), i32> {
    // SAFETY: plain syscall on a descriptor we own.
    if unsafe { libc::listen(fd.as_raw_fd(), backlog) } < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// `accept4(fd, NULL, NULL, flags)`.
pub fn accept(fd: &OwnedFd, flags: i32) -> Result<OwnedFd, i32> {
    raw_accept(fd.as_raw_fd(), flags)
}

/// `accept4()` that does not wait: the listener's file is made `O_NONBLOCK` for the call
/// (`accept4`'s `SOCK_NONBLOCK` is the new socket's flag, not the call's); `EAGAIN` when no
/// connection is pending.
pub fn accept_nonblock(fd: &OwnedFd) -> Result<OwnedFd, i32> {
    // SAFETY: fcntl on a descriptor we own.
    let fl = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if fl < 0 {
        return Err(errno());
    }
    // SAFETY: as above.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK) };
    let r = accept(fd, 0);
    // SAFETY: as above.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl) };
    r
}

/// `accept4(fd, NULL, NULL, flags)` on a raw descriptor (a thread's copy).
pub fn raw_accept(fd: RawFd, flags: i32) -> Result<OwnedFd, i32> {
    // SAFETY: NULL address and length are allowed.
    let r = unsafe { libc::accept4(fd, std::ptr::null_mut(), std::ptr::null_mut(), flags) };
    if r < 0 {
        Err(errno())
    } else {
        // SAFETY: a new descriptor nobody else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(r) })
    }
}

/// The raw `getsockname` bytes.
pub fn sockname(fd: &OwnedFd) -> Result<Vec<u8>, i32> {
    let mut a = [0u8; 128];
    let mut len = a.len() as u32;
    // SAFETY: `a` and `len` are valid for writes.
    if unsafe { libc::getsockname(fd.as_raw_fd(), a.as_mut_ptr().cast(), &mut len) } < 0 {
        return Err(errno());
    }
    Ok(a[..(len as usize).min(a.len())].to_vec())
}

/// `send(fd, buf, flags | MSG_NOSIGNAL)` on a raw descriptor.
pub fn raw_send(fd: RawFd, buf: &[u8], flags: i32) -> Result<usize, i32> {
    // SAFETY: `buf` is valid for reads of its length.
    let n = unsafe {
        libc::send(
            fd,
            buf.as_ptr().cast(),
            buf.len(),
            flags | libc::MSG_NOSIGNAL,
        )
    };
    if n < 0 {
        Err(errno())
    } else {
        Ok(n as usize)
    }
}

/// Sends one message (`MSG_NOSIGNAL`) and checks it went whole.
pub fn check_send(fd: &OwnedFd, data: &[u8]) -> Result<(), String> {
    match raw_send(fd.as_raw_fd(), data, 0) {
        Ok(n) if n == data.len() => Ok(()),
        other => Err(format!(
            "send {} bytes: {:?}",
            data.len(),
            other.map_err(ename)
        )),
    }
}

/// `recv(fd, buf, flags)` on a raw descriptor.
pub fn raw_recv(fd: RawFd, buf: &mut [u8], flags: i32) -> Result<usize, i32> {
    // SAFETY: `buf` is valid for writes of its length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) };
    if n < 0 {
        Err(errno())
    } else {
        Ok(n as usize)
    }
}

/// `dup(fd)`.
pub fn dup(fd: &OwnedFd) -> Result<OwnedFd, String> {
    // SAFETY: dup of a descriptor we own.
    let d = unsafe { libc::dup(fd.as_raw_fd()) };
    if d < 0 {
        return Err(format!("dup: {}", ename(errno())));
    }
    // SAFETY: a new descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(d) })
}

/// A module's reference count, `None` when it is not loaded.
pub fn module_refcnt(name: &str) -> Option<i64> {
    std::fs::read_to_string(format!("/sys/module/{name}/refcnt"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// rust_pf_demo_seqpacket's reference count, `None` when it is not loaded.
pub fn seq_refcnt() -> Option<i64> {
    module_refcnt(SEQ_NAME)
}

/// Whether family 18 serves SOCK_SEQPACKET here: `socket(18, SOCK_SEQPACKET, 0)` loads
/// rust_pf_demo_seqpacket. `Err` says why not (the reason of a SKIP).
pub fn demo_available() -> Result<(), String> {
    match Fam::Demo.socket(0) {
        Ok(_) => Ok(()),
        Err(err) => Err(format!(
            "socket(18, SOCK_SEQPACKET, 0): {} (rust_pf_demo_seqpacket.ko is not in this build: protocol {PFDEMO_PROTO_SEQPACKET} not served)",
            ename(err)
        )),
    }
}

/// Unloads rust_pf_demo_seqpacket (waiting up to 3 s for its references to go: a closed
/// listener's pending children are freed by the close) and the family module after it.
pub fn ensure_seq_unloaded() -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(3);
    while let Some(r) = seq_refcnt() {
        match rmmod_named(SEQ_MODULE) {
            Ok(()) => break,
            Err(err) if Instant::now() > deadline => {
                return Err(format!("rmmod {SEQ_NAME} (refcnt {r}): {}", ename(err)))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    ensure_unloaded()
}

/// [`Baseline::check`] after rust_pf_demo_seqpacket is back to refcnt 0 and unloaded (it
/// holds a reference on rust_pf_demo while loaded).
pub fn seq_check(base: &Baseline) -> Result<String, String> {
    let refs = seq_refcnt();
    let deadline = Instant::now() + Duration::from_secs(3);
    while let Some(r) = seq_refcnt() {
        if r == 0 && rmmod_named(SEQ_MODULE).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{SEQ_NAME} refcnt {r} 3 s after the last close: a stuck reference"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = base.check()?;
    Ok(match refs {
        Some(r) => format!("{SEQ_NAME} refcnt {r}, then rmmod ok; {after}"),
        None => after,
    })
}

/// The families a seqpacket stress test runs on: the AF_UNIX control first, then family 18
/// (`None` when its module is not there: the reason).
pub fn families() -> (Vec<Fam>, Option<String>) {
    match demo_available() {
        Ok(()) => (vec![Fam::Unix, Fam::Demo], None),
        Err(why) => (vec![Fam::Unix], Some(why)),
    }
}

/// The end of a test run on [`families`]: waits for rust_pf_demo_seqpacket to let go and checks
/// everything is back at `base` ([`seq_check`]), reports `what` with that check's summary, and
/// skips (the AF_UNIX control passed) when family 18 was `missing`.
pub fn seq_finish(
    test: &str,
    base: &Baseline,
    what: String,
    missing: Option<String>,
) -> TestResult {
    let after = seq_check(base)?;
    report(test, format!("{what}; {after}"));
    match missing {
        Some(why) => Err(Outcome::Skip(format!(
            "AF_UNIX control passed; family 18: {why}"
        ))),
        None => Ok(()),
    }
}
