// SPDX-License-Identifier: GPL-2.0

//! Thin syscall wrappers: sockets of the family, module state and reference counts.

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
    // SAFETY: `MODULE` is a valid nul-terminated string; flags is an integer.
    let r = unsafe { libc::syscall(libc::SYS_delete_module, MODULE.as_ptr(), libc::O_NONBLOCK) };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// Unloads the module if it is loaded; an error says why it could not be.
pub fn ensure_unloaded() -> Result<(), String> {
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
    if !module_loaded() {
        drop(demo_socket().map_err(|e| format!("autoload socket() failed: {}", ename(e)))?);
    }
    match refcnt() {
        Some(0) => Ok(()),
        other => Err(format!("module refcnt at start: expected Some(0), got {other:?}")),
    }
}

/// `getsockopt(fd, level, name)` of an int option.
pub fn getsockopt_int(fd: &OwnedFd, level: i32, name: i32) -> Result<i32, i32> {
    use std::os::fd::AsRawFd;
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid for writes of the sizes given.
    let r = unsafe {
        libc::getsockopt(fd.as_raw_fd(), level, name, (&mut v as *mut libc::c_int).cast(), &mut len)
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
        libc::setsockopt(fd.as_raw_fd(), level, name, (&v as *const libc::c_int).cast(), len)
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}
