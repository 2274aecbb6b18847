// SPDX-License-Identifier: GPL-2.0

//! Thin syscall wrappers: sockets of the family, module state and reference counts.

use crate::ktap::{Outcome, TestResult};
use std::ffi::CStr;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The family number, `PF_DEMO` in rust_pf_demo.rs.
pub const PF_DEMO: i32 = 18;
/// The module's name, as in /sys/module and `delete_module()`.
pub const MODULE: &CStr = c"rust_pf_demo";
/// Module references one open socket holds: `sock->ops->owner` (taken by `__sock_create`) and
/// `sk->sk_prot->owner` (taken by `sk_alloc` because `proto.owner` is set).
pub const REFS_PER_SOCKET: i64 = 2;

const REFCNT: &str = "/sys/module/rust_pf_demo/refcnt";

/// `socket(family, ty, protocol)`, the errno on failure.
pub fn socket(family: i32, ty: i32, protocol: i32) -> Result<OwnedFd, i32> {
    // SAFETY: plain syscall with integer arguments.
    let fd = unsafe { libc::socket(family, ty, protocol) };
    if fd < 0 {
        Err(errno())
    } else {
        // SAFETY: `fd` was just returned by socket() and is owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

/// A socket of the demo family: `socket(PF_DEMO, SOCK_DGRAM, 0)`.
pub fn demo_socket() -> Result<OwnedFd, i32> {
    socket(PF_DEMO, libc::SOCK_DGRAM, 0)
}

/// The calling thread's errno.
pub fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `"EINVAL (22)"`-style name of an errno, for messages.
pub fn ename(e: i32) -> String {
    let name = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EINVAL => "EINVAL",
        libc::EMFILE => "EMFILE",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::ESOCKTNOSUPPORT => "ESOCKTNOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::ENOBUFS => "ENOBUFS",
        libc::EPIPE => "EPIPE",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::ECONNRESET => "ECONNRESET",
        libc::EISCONN => "EISCONN",
        libc::ENOTCONN => "ENOTCONN",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EALREADY => "EALREADY",
        libc::EFAULT => "EFAULT",
        libc::EBADF => "EBADF",
        libc::ENFILE => "ENFILE",
        libc::EDESTADDRREQ => "EDESTADDRREQ",
        _ => "errno",
    };
    format!("{name} ({e})")
}

/// Whether the module is loaded (its /sys/module directory exists).
pub fn module_loaded() -> bool {
    std::path::Path::new("/sys/module/rust_pf_demo").exists()
}

/// The module's reference count, `None` when it is not loaded.
pub fn refcnt() -> Option<i64> {
    std::fs::read_to_string(REFCNT).ok()?.trim().parse().ok()
}

/// `delete_module("rust_pf_demo", O_NONBLOCK)` (what `rmmod` does): the errno on failure.
pub fn rmmod() -> Result<(), i32> {
    rmmod_named(MODULE)
}

/// `delete_module(name, O_NONBLOCK)`: the errno on failure.
pub fn rmmod_named(name: &CStr) -> Result<(), i32> {
    // SAFETY: `name` is a valid nul-terminated string; flags is an integer.
    let r = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// The on-demand SOCK_RDM protocol module (tests/kmod/rust_pf_demo_rdm), which depends on
/// rust_pf_demo.
pub const RDM_MODULE: &CStr = c"rust_pf_demo_rdm";

/// The on-demand SOCK_SEQPACKET protocol module (rust_pf_demo_seqpacket.rs), which depends on
/// rust_pf_demo.
pub const SEQPACKET_MODULE: &CStr = c"rust_pf_demo_seqpacket";

/// Unloads the module (after the protocol module that depends on it, if loaded); an error
/// says why it could not be.
pub fn ensure_unloaded() -> Result<(), String> {
    for m in [SEQPACKET_MODULE, RDM_MODULE] {
        let name = m.to_str().unwrap_or_default();
        if std::path::Path::new(&format!("/sys/module/{name}")).exists() {
            rmmod_named(m).map_err(|e| format!("rmmod {name} failed: {}", ename(e)))?;
        }
    }
    if module_loaded() {
        rmmod().map_err(|e| format!("rmmod rust_pf_demo failed: {}", ename(e)))?;
    }
    if module_loaded() {
        return Err("rust_pf_demo still loaded after rmmod".into());
    }
    Ok(())
}

/// Loads the module (by creating and closing one socket) and checks it holds no reference.
pub fn ensure_loaded() -> Result<(), String> {
    // An idle protocol module left loaded by an earlier test holds rust_pf_demo (its dependency).
    if std::path::Path::new("/sys/module/rust_pf_demo_seqpacket").exists() {
        rmmod_named(SEQPACKET_MODULE)
            .map_err(|e| format!("rmmod rust_pf_demo_seqpacket failed: {}", ename(e)))?;
    }
    if !module_loaded() {
        drop(demo_socket().map_err(|e| format!("autoload socket() failed: {}", ename(e)))?);
    }
    match refcnt() {
        Some(0) => Ok(()),
        other => Err(format!(
            "module refcnt at start: expected Some(0), got {other:?}"
        )),
    }
}

/// `getsockopt(fd, level, name)` of an int option.
pub fn getsockopt_int(fd: &OwnedFd, level: i32, name: i32) -> Result<i32, i32> {
    use std::os::fd::AsRawFd;
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid for writes of the sizes given.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(v)
    }
}

/// `setsockopt(fd, level, name, &v)` of an int option.
pub fn setsockopt_int(fd: &OwnedFd, level: i32, name: i32, v: i32) -> Result<(), i32> {
    use std::os::fd::AsRawFd;
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` is valid for reads of `len` bytes.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&v as *const libc::c_int).cast(),
            len,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

pub use crate::uapi::{
    SockaddrPfdemo, PFDEMO_EPHEMERAL_PORTS, PFDEMO_MAX_DGRAM, SOCKADDR_PFDEMO_LEN,
};
use std::os::fd::AsRawFd;

/// Maps a -1 return to the errno.
fn cvt(r: libc::c_long) -> Result<libc::c_long, i32> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// `bind()` with raw address bytes (to test malformed addresses too).
pub fn bind_raw(fd: &OwnedFd, addr: &[u8]) -> Result<(), i32> {
    // SAFETY: `addr` is valid for reads of its length.
    cvt(unsafe { libc::bind(fd.as_raw_fd(), addr.as_ptr().cast(), addr.len() as u32) }.into())
        .map(drop)
}

/// `bind()` to a port of the family.
pub fn bind(fd: &OwnedFd, port: u32) -> Result<(), i32> {
    bind_raw(fd, &SockaddrPfdemo::new(port).to_bytes())
}

/// `connect()` with raw address bytes.
pub fn connect_raw(fd: &OwnedFd, addr: &[u8]) -> Result<(), i32> {
    // SAFETY: `addr` is valid for reads of its length.
    cvt(unsafe { libc::connect(fd.as_raw_fd(), addr.as_ptr().cast(), addr.len() as u32) }.into())
        .map(drop)
}

/// `connect()` to a port of the family.
pub fn connect(fd: &OwnedFd, port: u32) -> Result<(), i32> {
    connect_raw(fd, &SockaddrPfdemo::new(port).to_bytes())
}

fn name_of(
    fd: &OwnedFd,
    f: unsafe extern "C" fn(i32, *mut libc::sockaddr, *mut u32) -> i32,
) -> Result<(SockaddrPfdemo, usize), i32> {
    let mut buf = [0u8; 128];
    let mut len = buf.len() as u32;
    // SAFETY: `buf` and `len` are valid for writes of the sizes given.
    cvt(unsafe { f(fd.as_raw_fd(), buf.as_mut_ptr().cast(), &mut len) }.into())?;
    let addr =
        SockaddrPfdemo::from_bytes(&buf[..(len as usize).min(buf.len())]).unwrap_or_default();
    Ok((addr, len as usize))
}

/// `getsockname()`: the address and its length.
pub fn getsockname(fd: &OwnedFd) -> Result<(SockaddrPfdemo, usize), i32> {
    name_of(fd, libc::getsockname)
}

/// `getpeername()`: the address and its length.
pub fn getpeername(fd: &OwnedFd) -> Result<(SockaddrPfdemo, usize), i32> {
    name_of(fd, libc::getpeername)
}

/// The watchdog on every blocking call of a test socket: `SO_RCVTIMEO` and `SO_SNDTIMEO` of
/// this many milliseconds, so that a wake-up that never comes fails the test (`EAGAIN`) within
/// seconds instead of hanging the VM run.
pub const WATCHDOG_MS: i64 = 5000;

/// A socket of the family bound to `port` (0: a free one); returns it with its port. Its
/// blocking calls give up after [`WATCHDOG_MS`].
pub fn bound_socket(port: u32) -> Result<(OwnedFd, u32), String> {
    let fd = demo_socket().map_err(|e| format!("socket: {}", ename(e)))?;
    set_watchdog(&fd)?;
    bind(&fd, port).map_err(|e| format!("bind({port}): {}", ename(e)))?;
    let (addr, _) = getsockname(&fd).map_err(|e| format!("getsockname: {}", ename(e)))?;
    Ok((fd, addr.port))
}

/// `sendto()` to a port (`None`: `send()` to the connected peer).
pub fn sendto(fd: &OwnedFd, data: &[u8], port: Option<u32>, flags: i32) -> Result<usize, i32> {
    let addr = port.map(|p| SockaddrPfdemo::new(p).to_bytes());
    sendto_raw(fd, data, addr.as_ref().map(|a| &a[..]), flags)
}

/// `sendto()` with raw address bytes, of any family (`None`: `send()`).
pub fn sendto_raw(
    fd: &OwnedFd,
    data: &[u8],
    addr: Option<&[u8]>,
    flags: i32,
) -> Result<usize, i32> {
    let (ptr, len) = match addr {
        Some(a) => (a.as_ptr(), a.len() as u32),
        None => (std::ptr::null(), 0),
    };
    // SAFETY: `data` and the address are valid for reads of the lengths given.
    let r = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            data.as_ptr().cast(),
            data.len(),
            flags,
            ptr.cast(),
            len,
        )
    };
    cvt(r as libc::c_long).map(|n| n as usize)
}

/// What one `recvmsg()` returned.
#[derive(Debug)]
pub struct Received {
    /// The return value.
    pub n: usize,
    /// The source address.
    pub from: SockaddrPfdemo,
    /// `msg_namelen` after the call.
    pub namelen: usize,
    /// `msg_flags` after the call.
    pub msg_flags: i32,
}

/// `recvmsg()` into `buf` with `flags`.
pub fn recvmsg(fd: &OwnedFd, buf: &mut [u8], flags: i32) -> Result<Received, i32> {
    let mut name = [0u8; 128];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is valid; the fields set below point to live buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = name.as_mut_ptr().cast();
    msg.msg_namelen = name.len() as u32;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    // SAFETY: `msg` describes valid buffers for the call.
    let n = cvt(unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags) } as libc::c_long)?;
    let namelen = msg.msg_namelen as usize;
    Ok(Received {
        n: n as usize,
        from: SockaddrPfdemo::from_bytes(&name[..namelen.min(name.len())]).unwrap_or_default(),
        namelen,
        msg_flags: msg.msg_flags,
    })
}

/// `ioctl(fd, FIONREAD)`.
pub fn fionread(fd: &OwnedFd) -> Result<i32, i32> {
    let mut v: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int to the pointer, which is valid.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut v) }.into())?;
    Ok(v)
}

/// `shutdown(fd, how)`.
pub fn shutdown(fd: &OwnedFd, how: i32) -> Result<(), i32> {
    // SAFETY: plain syscall on an fd we own.
    cvt(unsafe { libc::shutdown(fd.as_raw_fd(), how) }.into()).map(drop)
}

/// `poll()` one fd for `events`, returning `revents`.
pub fn poll1(fd: &OwnedFd, events: i16, timeout_ms: i32) -> Result<i16, i32> {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    cvt(unsafe { libc::poll(&mut p, 1, timeout_ms) }.into())?;
    Ok(p.revents)
}

/// The number after `prefix` on its line of the file `path` (a trailing "kB" is ignored).
fn proc_number(path: &str, prefix: &str) -> Result<u64, String> {
    let s = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    s.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no '{prefix}' line in {path}:\n{s}"))
}

/// "sockets: used N" of /proc/net/sockstat: the `struct sock`s of user sockets in this netns.
pub fn sockets_used() -> Result<u64, String> {
    proc_number("/proc/net/sockstat", "sockets: used ")
}

/// `Slab:` of /proc/meminfo, in kB.
pub fn slab_kb() -> Result<u64, String> {
    proc_number("/proc/meminfo", "Slab:")
}

/// `MemTotal:` of /proc/meminfo, in kB.
pub fn mem_total_kb() -> Result<u64, String> {
    proc_number("/proc/meminfo", "MemTotal:")
}

/// Maps an errno to a message naming what failed: `.map_err(e("bind"))`.
pub fn e(what: &str) -> impl Fn(i32) -> String + '_ {
    move |err| format!("{what}: {}", ename(err))
}

/// Runs `f` in a forked child and returns its exit status (`f`'s return value, 0..=255).
pub fn in_child(f: impl FnOnce() -> i32) -> Result<i32, String> {
    wait_child(spawn_child(f)?)
}

/// Forks a child that runs `f` and exits with its return value; returns the child's pid.
pub fn spawn_child(f: impl FnOnce() -> i32) -> Result<libc::pid_t, String> {
    // SAFETY: the child only runs `f` and exits; the test program is single-threaded here.
    match unsafe { libc::fork() } {
        -1 => Err(format!("fork: {}", ename(errno()))),
        0 => {
            let code = f();
            // SAFETY: leave the child without running the parent's exit handlers.
            unsafe { libc::_exit(code) }
        }
        pid => Ok(pid),
    }
}

/// Waits for a child of [`spawn_child`] and returns its exit status.
pub fn wait_child(pid: libc::pid_t) -> Result<i32, String> {
    let mut status = 0;
    // SAFETY: `status` is valid for writes.
    if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        return Err(format!("waitpid: {}", ename(errno())));
    }
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else {
        Err(format!("child died with status {status:#x}"))
    }
}

/// The kernel log buffer (`dmesg`), via `klogctl(SYSLOG_ACTION_READ_ALL)`.
pub fn kernel_log() -> Result<String, String> {
    const SYSLOG_ACTION_READ_ALL: i32 = 3;
    let mut buf = vec![0u8; 1 << 20];
    // SAFETY: `buf` is valid for writes of its length.
    let n = unsafe {
        libc::klogctl(
            SYSLOG_ACTION_READ_ALL,
            buf.as_mut_ptr().cast(),
            buf.len() as i32,
        )
    };
    if n < 0 {
        return Err(format!("klogctl: {}", ename(errno())));
    }
    Ok(String::from_utf8_lossy(&buf[..n as usize]).into_owned())
}

/// [`WATCHDOG_MS`] as `SO_RCVTIMEO` and `SO_SNDTIMEO`.
pub fn set_watchdog(fd: &OwnedFd) -> Result<(), String> {
    set_rcvtimeo(fd, WATCHDOG_MS)?;
    set_timeo(fd, libc::SO_SNDTIMEO, WATCHDOG_MS)
}

/// `SO_RCVTIMEO` of `ms` milliseconds.
pub fn set_rcvtimeo(fd: &OwnedFd, ms: i64) -> Result<(), String> {
    set_timeo(fd, libc::SO_RCVTIMEO, ms)
}

/// `SO_RCVTIMEO` or `SO_SNDTIMEO` (`opt`) of `ms` milliseconds.
pub fn set_timeo(fd: &OwnedFd, opt: i32, ms: i64) -> Result<(), String> {
    let tv = libc::timeval {
        tv_sec: ms / 1000,
        tv_usec: (ms % 1000) * 1000,
    };
    // SAFETY: `tv` is valid for reads of its size.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        )
    };
    if r < 0 {
        Err(format!("setsockopt({opt}, {ms} ms): {}", ename(errno())))
    } else {
        Ok(())
    }
}

/// In a child running as nobody (no `CAP_NET_BIND_SERVICE`): a socket from `make`, then
/// `bind()` to port 81 must be `EACCES` and to port 1024 must succeed. Returns the child's
/// status: 0, or 10 (setuid/setgid failed), 11 (no socket), 12 (port 81 not `EACCES`), 13
/// (port 1024 refused).
pub fn unprivileged_bind_child(make: impl FnOnce() -> Result<OwnedFd, i32>) -> Result<i32, String> {
    in_child(|| {
        if become_nobody().is_err() {
            return 10;
        }
        let Ok(fd) = make() else { return 11 };
        if bind(&fd, 81) != Err(libc::EACCES) {
            return 12;
        }
        if bind(&fd, 1024) != Ok(()) {
            return 13;
        }
        0
    })
}

/// `setgid(65534)`, `setuid(65534)`: the calling process becomes nobody, without capabilities.
pub fn become_nobody() -> Result<(), i32> {
    // SAFETY: plain syscalls with integer arguments.
    if unsafe { libc::setgid(65534) } != 0 || unsafe { libc::setuid(65534) } != 0 {
        return Err(errno());
    }
    Ok(())
}

/// `unshare(flags)`.
pub fn unshare(flags: i32) -> Result<(), i32> {
    // SAFETY: plain syscall with an integer argument.
    cvt(unsafe { libc::unshare(flags) }.into()).map(drop)
}

/// The bit of capability `cap` (`CAP_*`) in the masks of [`capget`] and [`capset`].
pub const fn cap_bit(cap: u32) -> u64 {
    1 << cap
}

/// `CAP_NET_BIND_SERVICE` (include/uapi/linux/capability.h).
pub const CAP_NET_BIND_SERVICE: u32 = 10;
/// `CAP_NET_ADMIN`.
pub const CAP_NET_ADMIN: u32 = 12;
/// `CAP_NET_RAW`.
pub const CAP_NET_RAW: u32 = 13;

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit masks, in two `CapData`.
const CAP_VERSION_3: u32 = 0x2008_0522;

/// The calling thread's effective and permitted capabilities (`capget`), as 64-bit masks.
pub fn capget() -> Result<(u64, u64), i32> {
    let mut h = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut d = [CapData::default(); 2];
    // SAFETY: `h` and `d` are valid for the version-3 header and its two data structs.
    cvt(unsafe { libc::syscall(libc::SYS_capget, &mut h, d.as_mut_ptr()) })?;
    let join = |lo: u32, hi: u32| u64::from(lo) | u64::from(hi) << 32;
    Ok((
        join(d[0].effective, d[1].effective),
        join(d[0].permitted, d[1].permitted),
    ))
}

/// Sets the calling thread's effective and permitted capabilities (`capset`, no inheritable
/// ones): a forked child drops capabilities this way (it can only lower its permitted set).
pub fn capset(effective: u64, permitted: u64) -> Result<(), i32> {
    let mut h = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let half = |m: u64, i: u32| (m >> (32 * i)) as u32;
    let d = [0, 1].map(|i| CapData {
        effective: half(effective, i),
        permitted: half(permitted, i),
        inheritable: 0,
    });
    // SAFETY: `h` and `d` are valid for the version-3 header and its two data structs.
    cvt(unsafe { libc::syscall(libc::SYS_capset, &mut h, d.as_ptr()) }).map(drop)
}

/// The calling process, as nobody (uid/gid 65534, no capabilities), enters a new user
/// namespace (and a new network namespace owned by it with `netns`) whose root is nobody
/// (`uid_map`/`gid_map` "0 65534 1", `setgroups` "deny"): there it has every capability, as
/// the root of a container. `Err`: the step that failed, and its errno (`EINVAL` from
/// `unshare`: no `CONFIG_USER_NS`).
pub fn enter_user_ns(netns: bool) -> Result<(), (&'static str, i32)> {
    become_nobody().map_err(|e| ("setuid(65534)", e))?;
    // setuid() made the process non-dumpable: its /proc/self files would be root's, and
    // nobody could not write its own uid_map.
    // SAFETY: plain prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) } != 0 {
        return Err(("prctl(PR_SET_DUMPABLE)", errno()));
    }
    let net = if netns { libc::CLONE_NEWNET } else { 0 };
    unshare(libc::CLONE_NEWUSER | net).map_err(|e| ("unshare", e))?;
    for (file, text) in [
        ("/proc/self/setgroups", "deny"),
        ("/proc/self/uid_map", "0 65534 1"),
        ("/proc/self/gid_map", "0 65534 1"),
    ] {
        std::fs::write(file, text).map_err(|e| (file, e.raw_os_error().unwrap_or(0)))?;
    }
    Ok(())
}

/// `127.0.0.1:port` as a `struct sockaddr_in`.
pub fn sin(port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
        },
        sin_zero: [0; 8],
    }
}

/// [`sin`] as the bytes [`bind_raw`], [`connect_raw`] and [`sendto_raw`] take.
pub fn sin_bytes(port: u16) -> Vec<u8> {
    let a = sin(port);
    // SAFETY: a `sockaddr_in` is plain bytes, all initialised (`sin_zero` included).
    unsafe {
        std::slice::from_raw_parts(
            (&a as *const libc::sockaddr_in).cast::<u8>(),
            std::mem::size_of::<libc::sockaddr_in>(),
        )
    }
    .to_vec()
}

/// Installs a handler of `sig` that does nothing, with `SA_RESTART` or not: the signal
/// interrupts a blocked call (which then restarts, or fails with `EINTR`) and nothing else.
pub fn handle_signal(sig: i32, restart: bool) {
    extern "C" fn on_signal(_: i32) {}
    // SAFETY: installs a handler that does nothing.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        sa.sa_flags = if restart { libc::SA_RESTART } else { 0 };
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

/// A skip for a test whose child exited with 30: its `unshare(CLONE_NEWNET)` failed (a kernel
/// without `CONFIG_NET_NS`).
pub fn skip_without_netns(code: i32) -> TestResult {
    if code == 30 {
        return Err(Outcome::Skip(
            "unshare(CLONE_NEWNET) failed: no CONFIG_NET_NS".into(),
        ));
    }
    Ok(())
}

/// A `PROT_NONE` page: every access of the kernel to it faults (`EFAULT`). Unmapped on drop.
pub struct NoAccess(pub *mut u8);

impl NoAccess {
    /// Maps the page.
    pub fn new() -> Result<Self, String> {
        // SAFETY: an anonymous private mapping of one page, no file.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!("mmap PROT_NONE: {}", ename(errno())));
        }
        Ok(Self(p.cast()))
    }
}

impl Drop for NoAccess {
    fn drop(&mut self) {
        // SAFETY: our mapping of one page.
        unsafe { libc::munmap(self.0.cast(), 4096) };
    }
}

/// An epoll instance watching `fd` for `events`, reported with `tag`.
pub fn epoll_on(fd: &OwnedFd, events: i32, tag: u64) -> Result<OwnedFd, String> {
    // SAFETY: no pointer arguments.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(format!("epoll_create1: {}", ename(errno())));
    }
    // SAFETY: epoll_create1 returned a descriptor we now own.
    let ep = unsafe { OwnedFd::from_raw_fd(ep) };
    let mut evt = libc::epoll_event {
        events: events as u32,
        u64: tag,
    };
    // SAFETY: valid descriptors; `evt` is valid for the call.
    let r = unsafe {
        libc::epoll_ctl(
            ep.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            fd.as_raw_fd(),
            &mut evt,
        )
    };
    if r != 0 {
        return Err(format!("epoll_ctl: {}", ename(errno())));
    }
    Ok(ep)
}
