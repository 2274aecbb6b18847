// SPDX-License-Identifier: GPL-2.0

//! The `sock_create` selftests: every step of the `socket()` path (`__sys_socket()` →
//! `__sys_socket_create()` → `__sock_create()` → the family's `create` → `sock_map_fd()`) against
//! family 18, success and error, each as its own KTAP test (`pfdemo selftest [FILTER]`).
//!
//! Every test starts from the module state it needs and leaves the module unloaded or as it
//! found it (loaded with no reference). selftests/README.md maps each test to the step it proves.

use crate::ktap::{Outcome, Test, TestResult};
use crate::sys::*;
use crate::{check, check_eq};
use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Every test, in order.
pub const TESTS: &[Test] = &[
    // __sys_socket_create(): the flag check.
    Test {
        name: "flags_unknown_bits_einval_unloaded",
        run: flags_unknown_bits_einval_unloaded,
    },
    Test {
        name: "flags_unknown_bits_einval_loaded",
        run: flags_unknown_bits_einval_loaded,
    },
    Test {
        name: "flag_cloexec_sets_fd_cloexec",
        run: flag_cloexec_sets_fd_cloexec,
    },
    Test {
        name: "flag_nonblock_sets_o_nonblock",
        run: flag_nonblock_sets_o_nonblock,
    },
    Test {
        name: "flags_cloexec_nonblock_both",
        run: flags_cloexec_nonblock_both,
    },
    // __sock_create(): the range checks.
    Test {
        name: "family_nproto_eafnosupport",
        run: family_nproto_eafnosupport,
    },
    Test {
        name: "family_negative_eafnosupport",
        run: family_negative_eafnosupport,
    },
    Test {
        name: "type_sock_max_einval",
        run: type_sock_max_einval,
    },
    Test {
        name: "type_negative_einval",
        run: type_negative_einval,
    },
    // __sock_create(): pf->owner around create, sock->ops->owner for the socket's life.
    Test {
        name: "pf_owner_failed_create_unloaded",
        run: pf_owner_failed_create_unloaded,
    },
    Test {
        name: "pf_owner_failed_create_socket_open",
        run: pf_owner_failed_create_socket_open,
    },
    Test {
        name: "ops_owner_refcnt_fork",
        run: ops_owner_refcnt_fork,
    },
    Test {
        name: "ops_owner_refcnt_dup_dup2",
        run: ops_owner_refcnt_dup_dup2,
    },
    Test {
        name: "ops_owner_refcnt_scm_rights",
        run: ops_owner_refcnt_scm_rights,
    },
    Test {
        name: "ops_owner_scm_rights_in_flight_close",
        run: ops_owner_scm_rights_in_flight_close,
    },
    // The family's create: its errors, and nothing leaks.
    Test {
        name: "create_every_other_type_esocktnosupport",
        run: create_every_other_type,
    },
    Test {
        name: "create_bad_protocol_eprotonosupport",
        run: create_bad_protocol,
    },
    Test {
        name: "create_errors_sockstat_baseline",
        run: create_errors_sockstat_baseline,
    },
    // sock_map_fd().
    Test {
        name: "sock_map_fd_emfile_releases",
        run: sock_map_fd_emfile_releases,
    },
    // The socket's proto_ops and the generic socket layer.
    Test {
        name: "unsupported_listen_eopnotsupp",
        run: unsupported_listen,
    },
    Test {
        name: "unsupported_accept_eopnotsupp",
        run: unsupported_accept,
    },
    Test {
        name: "unsupported_socketpair_eopnotsupp",
        run: unsupported_socketpair,
    },
    Test {
        name: "unsupported_mmap_enodev",
        run: unsupported_mmap,
    },
    Test {
        name: "generic_sol_socket_options",
        run: generic_sol_socket_options,
    },
    Test {
        name: "generic_siocgstamp_enoent",
        run: generic_siocgstamp_enoent,
    },
    Test {
        name: "generic_fstat_and_proc_fd_link",
        run: generic_fstat_and_proc_fd_link,
    },
    // Module lifecycle: sock_register conflict, kern = 1.
    Test {
        name: "sock_register_conflict_eexist",
        run: sock_register_conflict_eexist,
    },
    Test {
        name: "held_sock_usable_after_close",
        run: held_sock_usable_after_close,
    },
    Test {
        name: "kern_socket_holds_module_refs",
        run: kern_socket_holds_module_refs,
    },
    Test {
        name: "kern_socket_autoloads_family",
        run: kern_socket_autoloads_family,
    },
    Test {
        name: "kern_socket_exchanges_datagrams",
        run: kern_socket_exchanges_datagrams,
    },
];

/// `SOCK_MAX` in `include/linux/net.h`: `SOCK_PACKET` (10) + 1.
const SOCK_MAX: i32 = 11;
/// `SOCK_TYPE_MASK` in `include/linux/net.h`: the type bits of `socket()`'s type argument.
const SOCK_TYPE_MASK: i32 = 0xf;
/// `SIOCGSTAMP` (`SIOCGSTAMP_OLD` on 64-bit) in `include/uapi/linux/sockios.h`.
const SIOCGSTAMP: libc::c_ulong = 0x8906;
/// `NPROTO` (= `AF_MAX`) in Linux 6.12.
const NPROTO: i32 = 46;

/// The test modules (tests/kmod), packed next to rust_pf_demo.ko.
const DUP: &CStr = c"rust_pf_demo_dup";
pub(crate) const KERN: &CStr = c"rust_pf_demo_kern";

fn sock(family: i32, ty: i32, protocol: i32) -> Result<(), String> {
    socket(family, ty, protocol).map(drop).map_err(ename)
}

fn open_demo() -> Result<OwnedFd, Outcome> {
    Ok(demo_socket().map_err(|e| format!("socket(18, SOCK_DGRAM, 0): {}", ename(e)))?)
}

fn fcntl(fd: RawFd, cmd: i32) -> i32 {
    // SAFETY: F_GETFD/F_GETFL take no argument and only read the descriptor's flags.
    unsafe { libc::fcntl(fd, cmd) }
}

fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn module_path(name: &CStr) -> String {
    format!(
        "/lib/modules/{}/extra/{}.ko",
        release(),
        name.to_str().unwrap_or("")
    )
}

fn module_present(name: &CStr) -> bool {
    std::path::Path::new(&format!("/sys/module/{}", name.to_str().unwrap_or(""))).exists()
}

fn module_refcnt(name: &CStr) -> Option<i64> {
    let p = format!("/sys/module/{}/refcnt", name.to_str().unwrap_or(""));
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// `finit_module()` of a test module: the errno on failure.
pub(crate) fn insmod(name: &CStr) -> Result<(), i32> {
    let path = module_path(name);
    let file = std::fs::File::open(&path).map_err(|e| e.raw_os_error().unwrap_or(libc::ENOENT))?;
    // SAFETY: `file` is an open descriptor for the call; the parameter string is a valid empty
    // C string; flags is an integer.
    let r = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), c"".as_ptr(), 0) };
    if r == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// `delete_module(name, O_NONBLOCK)`: the errno on failure.
/// Unloads a test module left behind by a failed test, so that the next test starts clean.
pub(crate) fn cleanup_test_modules() {
    for m in [KERN, DUP] {
        if module_present(m) {
            let _ = rmmod_named(m);
        }
    }
}

/// The socket-layer flag bits `socket()` rejects: every bit above `SOCK_TYPE_MASK` other than
/// `SOCK_CLOEXEC` (= `O_CLOEXEC`) and `SOCK_NONBLOCK` (= `O_NONBLOCK`).
fn bad_flag_bits() -> Vec<i32> {
    (4..32)
        .map(|bit| (1u32 << bit) as i32)
        .filter(|&f| f != libc::SOCK_CLOEXEC && f != libc::SOCK_NONBLOCK)
        .collect()
}

fn flags_unknown_bits_einval_unloaded() -> TestResult {
    ensure_unloaded()?;
    let bits = bad_flag_bits();
    check_eq!(bits.len(), 26, "number of rejected flag bits among 4..31");
    for flag in bits {
        let r = sock(PF_DEMO, libc::SOCK_DGRAM | flag, 0);
        check_eq!(
            r,
            Err(ename(libc::EINVAL)),
            format!("socket(18, SOCK_DGRAM | {flag:#x}, 0)")
        );
        // The flag check is in __sys_socket_create(), before __sock_create()'s request_module().
        check!(
            !module_loaded(),
            "flag {flag:#x}: the rejected socket() loaded the module"
        );
    }
    Ok(())
}

fn flags_unknown_bits_einval_loaded() -> TestResult {
    ensure_loaded()?;
    let held = open_demo()?;
    let used = sockets_used()?;
    for flag in bad_flag_bits() {
        let r = sock(PF_DEMO, libc::SOCK_DGRAM | flag, 0);
        check_eq!(
            r,
            Err(ename(libc::EINVAL)),
            format!("socket(18, SOCK_DGRAM | {flag:#x}, 0)")
        );
        check_eq!(
            refcnt(),
            Some(REFS_PER_SOCKET),
            format!("refcnt after flag {flag:#x}")
        );
    }
    check_eq!(
        sockets_used()?,
        used,
        "sockets: used after the rejected calls"
    );
    drop(held);
    check_eq!(refcnt(), Some(0), "refcnt after close");
    Ok(())
}

/// Opens a socket with `flags` and checks FD_CLOEXEC and O_NONBLOCK against what is expected.
fn check_fd_flags(flags: i32, cloexec: bool, nonblock: bool) -> TestResult {
    ensure_loaded()?;
    let fd = socket(PF_DEMO, libc::SOCK_DGRAM | flags, 0)
        .map_err(|e| format!("socket(18, SOCK_DGRAM | {flags:#x}, 0): {}", ename(e)))?;
    let fdf = fcntl(fd.as_raw_fd(), libc::F_GETFD);
    let fl = fcntl(fd.as_raw_fd(), libc::F_GETFL);
    check!(fdf >= 0 && fl >= 0, "fcntl: {}", ename(errno()));
    check_eq!(fdf & libc::FD_CLOEXEC != 0, cloexec, "FD_CLOEXEC (F_GETFD)");
    check_eq!(fl & libc::O_NONBLOCK != 0, nonblock, "O_NONBLOCK (F_GETFL)");
    // The file of a socket is always open for reading and writing.
    check_eq!(fl & libc::O_ACCMODE, libc::O_RDWR, "access mode (F_GETFL)");
    check_eq!(
        refcnt(),
        Some(REFS_PER_SOCKET),
        "refcnt with the socket open"
    );
    drop(fd);
    check_eq!(refcnt(), Some(0), "refcnt after close");
    Ok(())
}

fn flag_cloexec_sets_fd_cloexec() -> TestResult {
    check_fd_flags(0, false, false)?;
    check_fd_flags(libc::SOCK_CLOEXEC, true, false)
}

fn flag_nonblock_sets_o_nonblock() -> TestResult {
    check_fd_flags(libc::SOCK_NONBLOCK, false, true)
}

fn flags_cloexec_nonblock_both() -> TestResult {
    check_fd_flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, true, true)
}

fn family_nproto_eafnosupport() -> TestResult {
    ensure_unloaded()?;
    for family in [NPROTO, NPROTO + 1, 255, i32::MAX] {
        let r = sock(family, libc::SOCK_DGRAM, 0);
        check_eq!(
            r,
            Err(ename(libc::EAFNOSUPPORT)),
            format!("socket({family}, SOCK_DGRAM, 0)")
        );
    }
    check!(
        !module_loaded(),
        "a family out of range loaded rust_pf_demo"
    );
    Ok(())
}

fn family_negative_eafnosupport() -> TestResult {
    ensure_unloaded()?;
    for family in [-1, -PF_DEMO, i32::MIN] {
        let r = sock(family, libc::SOCK_DGRAM, 0);
        check_eq!(
            r,
            Err(ename(libc::EAFNOSUPPORT)),
            format!("socket({family}, SOCK_DGRAM, 0)")
        );
    }
    check!(!module_loaded(), "a negative family loaded rust_pf_demo");
    Ok(())
}

fn type_sock_max_einval() -> TestResult {
    ensure_unloaded()?;
    // SOCK_MAX..=SOCK_TYPE_MASK pass the syscall's flag check (they are type bits) and reach
    // __sock_create()'s `type >= SOCK_MAX` check, which comes before request_module().
    for ty in SOCK_MAX..=SOCK_TYPE_MASK {
        let r = sock(PF_DEMO, ty, 0);
        check_eq!(r, Err(ename(libc::EINVAL)), format!("socket(18, {ty}, 0)"));
        check!(
            !module_loaded(),
            "type {ty}: the rejected socket() loaded the module"
        );
    }
    Ok(())
}

fn type_negative_einval() -> TestResult {
    ensure_unloaded()?;
    // A negative type has the sign bit (and every bit above SOCK_TYPE_MASK for small values)
    // set, so from userspace it is __sys_socket_create()'s flag check that rejects it with
    // EINVAL; __sock_create()'s own `type < 0` check is only reachable from in-kernel callers.
    for ty in [-1, -libc::SOCK_DGRAM, i32::MIN, i32::MIN | libc::SOCK_DGRAM] {
        let r = sock(PF_DEMO, ty, 0);
        check_eq!(
            r,
            Err(ename(libc::EINVAL)),
            format!("socket(18, {ty:#x}, 0)")
        );
        check!(
            !module_loaded(),
            "type {ty:#x}: the rejected socket() loaded the module"
        );
    }
    Ok(())
}

fn pf_owner_failed_create_unloaded() -> TestResult {
    ensure_unloaded()?;
    // The module is loaded by request_module() before create is called; create fails, and
    // __sock_create() drops the pf->owner reference it took around the call.
    let r = sock(PF_DEMO, libc::SOCK_STREAM, 0);
    check_eq!(
        r,
        Err(ename(libc::ESOCKTNOSUPPORT)),
        "socket(18, SOCK_STREAM, 0), unloaded"
    );
    check!(
        module_loaded(),
        "request_module() did not load the module before create"
    );
    check_eq!(
        refcnt(),
        Some(0),
        "refcnt after the failed create (bad type)"
    );
    let r = sock(PF_DEMO, libc::SOCK_DGRAM, 7);
    check_eq!(
        r,
        Err(ename(libc::EPROTONOSUPPORT)),
        "socket(18, SOCK_DGRAM, 7)"
    );
    check_eq!(
        refcnt(),
        Some(0),
        "refcnt after the failed create (bad protocol)"
    );
    check_eq!(
        rmmod().map_err(ename),
        Ok(()),
        "rmmod after the failed creates"
    );
    Ok(())
}

fn pf_owner_failed_create_socket_open() -> TestResult {
    ensure_loaded()?;
    let held = open_demo()?;
    for (ty, proto, e) in [
        (libc::SOCK_STREAM, 0, libc::ESOCKTNOSUPPORT),
        (libc::SOCK_DCCP, 0, libc::ESOCKTNOSUPPORT),
        (libc::SOCK_RAW, 1, libc::EPROTONOSUPPORT),
        (libc::SOCK_DGRAM, 1, libc::EPROTONOSUPPORT),
    ] {
        check_eq!(
            sock(PF_DEMO, ty, proto),
            Err(ename(e)),
            format!("socket(18, {ty}, {proto})")
        );
        check_eq!(
            refcnt(),
            Some(REFS_PER_SOCKET),
            format!("refcnt (one socket open) after the failed socket(18, {ty}, {proto})")
        );
    }
    drop(held);
    check_eq!(refcnt(), Some(0), "refcnt after close");
    Ok(())
}

fn ops_owner_refcnt_fork() -> TestResult {
    ensure_loaded()?;
    let fd = open_demo()?;
    let mut pipe = [0 as RawFd; 2];
    // SAFETY: `pipe` is valid for writes of two descriptors.
    let r = unsafe { libc::pipe(pipe.as_mut_ptr()) };
    check!(r == 0, "pipe: {}", ename(errno()));
    // SAFETY: the test program is single-threaded; the child only calls async-signal-safe
    // functions (close, read, _exit) before exiting.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let mut b = 0u8;
        // SAFETY: raw syscalls on descriptors the child inherited; `b` is valid for one byte.
        unsafe {
            libc::close(pipe[1]);
            // Blocks until the parent closes the write end; the child holds the socket till then.
            libc::read(pipe[0], (&mut b as *mut u8).cast(), 1);
            libc::_exit(0);
        }
    }
    let fork_errno = errno();
    // SAFETY: closing our copy of the read end, which nothing else uses in the parent.
    unsafe { libc::close(pipe[0]) };
    if pid < 0 {
        // SAFETY: no child: the write end is ours alone.
        unsafe { libc::close(pipe[1]) };
        return Err(Outcome::Fail(format!("fork: {}", ename(fork_errno))));
    }
    // One socket, two processes: the references belong to the socket, not to the descriptors.
    // Observed first and checked after the child is gone, so that a failure leaves no child.
    let after_fork = refcnt();
    drop(fd);
    let after_parent_close = refcnt();
    let busy = rmmod().map_err(ename);
    let mut status = 0;
    // SAFETY: closing the write end lets the child exit; `status` is valid for writes.
    let waited = unsafe {
        libc::close(pipe[1]);
        libc::waitpid(pid, &mut status, 0)
    };
    check_eq!(waited, pid, "waitpid");
    check_eq!(
        after_fork,
        Some(REFS_PER_SOCKET),
        "refcnt after fork (socket shared by 2 processes)"
    );
    check_eq!(
        after_parent_close,
        Some(REFS_PER_SOCKET),
        "refcnt after the parent's close (child holds it)"
    );
    check_eq!(
        busy,
        Err(ename(libc::EWOULDBLOCK)),
        "rmmod while the child holds it"
    );
    // The child's exit closed its descriptors (and ran the final fput) before waitpid returned.
    check_eq!(refcnt(), Some(0), "refcnt after the child exited");
    check_eq!(rmmod().map_err(ename), Ok(()), "rmmod after the last close");
    Ok(())
}

fn dup2(fd: &OwnedFd, to: RawFd) -> Result<OwnedFd, Outcome> {
    // SAFETY: plain syscall; `to` is a descriptor number this test does not otherwise use.
    let r = unsafe { libc::dup2(fd.as_raw_fd(), to) };
    check!(r == to, "dup2(.., {to}): {}", ename(errno()));
    // SAFETY: `r` was just made a copy of `fd` and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

fn ops_owner_refcnt_dup_dup2() -> TestResult {
    ensure_loaded()?;
    let a = open_demo()?;
    let b = open_demo()?;
    check_eq!(refcnt(), Some(2 * REFS_PER_SOCKET), "refcnt with 2 sockets");
    let a_dup = a.try_clone().map_err(|e| format!("dup: {e}"))?;
    let a_dup2 = dup2(&a, 200)?;
    check_eq!(
        refcnt(),
        Some(2 * REFS_PER_SOCKET),
        "refcnt with 2 sockets, 4 descriptors"
    );
    drop(b);
    check_eq!(
        refcnt(),
        Some(REFS_PER_SOCKET),
        "refcnt after closing socket b"
    );
    drop(a);
    drop(a_dup);
    check_eq!(
        refcnt(),
        Some(REFS_PER_SOCKET),
        "refcnt with only the dup2 copy open"
    );
    check_eq!(
        rmmod().map_err(ename),
        Err(ename(libc::EWOULDBLOCK)),
        "rmmod with the dup2 copy open"
    );
    drop(a_dup2);
    check_eq!(
        refcnt(),
        Some(0),
        "refcnt after the last descriptor is closed"
    );
    check_eq!(rmmod().map_err(ename), Ok(()), "rmmod after the last close");
    Ok(())
}

/// An AF_UNIX datagram socketpair.
fn unix_pair() -> Result<(OwnedFd, OwnedFd), Outcome> {
    let mut sv = [0 as RawFd; 2];
    // SAFETY: `sv` is valid for writes of two descriptors.
    let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM, 0, sv.as_mut_ptr()) };
    check!(r == 0, "socketpair(AF_UNIX): {}", ename(errno()));
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) })
}

/// A control buffer for one descriptor, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// Sends `fd` over `via` with SCM_RIGHTS.
fn send_fd(via: &OwnedFd, fd: RawFd) -> Result<(), Outcome> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: `msghdr` is valid when zeroed; the fields set below point to live buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(4) } as usize;
    // SAFETY: `msg` describes `cbuf`, which has room for one cmsghdr with 4 bytes of data
    // (CMSG_SPACE(4) <= 64), so the header and its data are inside the buffer.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(4) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<i32>(), fd);
    }
    // SAFETY: `msg` points to live buffers of the sizes it declares.
    let r = unsafe { libc::sendmsg(via.as_raw_fd(), &msg, 0) };
    check!(r == 1, "sendmsg(SCM_RIGHTS): {}", ename(errno()));
    Ok(())
}

/// Receives one descriptor sent with SCM_RIGHTS on `via`.
fn recv_fd(via: &OwnedFd) -> Result<OwnedFd, Outcome> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: `msghdr` is valid when zeroed; the fields set below point to live buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.0.len();
    // SAFETY: `msg` points to live buffers of the sizes it declares.
    let r = unsafe { libc::recvmsg(via.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    check!(r == 1, "recvmsg: {}", ename(errno()));
    // SAFETY: the kernel filled `msg.msg_control` (inside `cbuf`) with well-formed headers;
    // CMSG_FIRSTHDR returns NULL when there is none.
    let fd = unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        check!(!c.is_null(), "recvmsg: no control message");
        check!(
            (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS,
            "recvmsg: control message is not SCM_RIGHTS"
        );
        std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<i32>())
    };
    check!(fd >= 0, "recvmsg: bad descriptor {fd}");
    // SAFETY: the kernel installed `fd` in our table for us alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ops_owner_refcnt_scm_rights() -> TestResult {
    ensure_loaded()?;
    let (tx, rx) = unix_pair()?;
    let s = open_demo()?;
    send_fd(&tx, s.as_raw_fd())?;
    drop(s);
    // The in-flight SCM_RIGHTS message holds the file, hence the socket and its references.
    check_eq!(
        refcnt(),
        Some(REFS_PER_SOCKET),
        "refcnt with the socket in flight, sender closed"
    );
    check_eq!(
        rmmod().map_err(ename),
        Err(ename(libc::EWOULDBLOCK)),
        "rmmod with the fd in flight"
    );
    let r = recv_fd(&rx)?;
    check_eq!(
        refcnt(),
        Some(REFS_PER_SOCKET),
        "refcnt after the receiver got the fd"
    );
    check_eq!(
        getsockopt_int(&r, libc::SOL_SOCKET, libc::SO_DOMAIN).map_err(ename),
        Ok(PF_DEMO),
        "SO_DOMAIN of the received fd"
    );
    check_eq!(
        rmmod().map_err(ename),
        Err(ename(libc::EWOULDBLOCK)),
        "rmmod with the received fd open"
    );
    drop(r);
    check_eq!(refcnt(), Some(0), "refcnt after the receiver closed it");
    check_eq!(rmmod().map_err(ename), Ok(()), "rmmod after the last close");
    Ok(())
}

fn ops_owner_scm_rights_in_flight_close() -> TestResult {
    ensure_loaded()?;
    let (tx, rx) = unix_pair()?;
    let s = open_demo()?;
    send_fd(&tx, s.as_raw_fd())?;
    drop(s);
    check_eq!(
        refcnt(),
        Some(REFS_PER_SOCKET),
        "refcnt with the socket in flight"
    );
    // Never received: closing the receiving AF_UNIX socket purges its queue and drops the
    // in-flight file, which is the last reference to our socket.
    drop(rx);
    drop(tx);
    check_eq!(
        refcnt(),
        Some(0),
        "refcnt after the queue holding the fd was purged"
    );
    check_eq!(
        rmmod().map_err(ename),
        Ok(()),
        "rmmod after the in-flight fd was dropped"
    );
    Ok(())
}

/// The socket types the family serves: SOCK_DGRAM and SOCK_RAW (the raw monitor) are built in,
/// SOCK_RDM (rust_pf_demo_rdm, covered by protosw.sh) and SOCK_SEQPACKET (its module,
/// seqpacket.rs) are protocol modules loaded on demand. Every other type below SOCK_MAX is
/// refused by the family's create.
const SERVED_TYPES: [i32; 4] = [
    libc::SOCK_DGRAM,
    libc::SOCK_RAW,
    libc::SOCK_RDM,
    libc::SOCK_SEQPACKET,
];

fn create_every_other_type() -> TestResult {
    ensure_loaded()?;
    // Types 0 and 7..9 are not in `enum sock_type` but are below SOCK_MAX: __sock_create() only
    // range-checks the type (the SOCK_PACKET special case is for PF_INET only), so every one of
    // them reaches the family's create, which refuses it.
    for ty in (0..SOCK_MAX).filter(|t| !SERVED_TYPES.contains(t)) {
        let r = sock(PF_DEMO, ty, 0);
        check_eq!(
            r,
            Err(ename(libc::ESOCKTNOSUPPORT)),
            format!("socket(18, {ty}, 0)")
        );
        check_eq!(
            refcnt(),
            Some(0),
            format!("refcnt after socket(18, {ty}, 0)")
        );
    }
    Ok(())
}

fn create_bad_protocol() -> TestResult {
    ensure_loaded()?;
    // A number in the family's range that no SOCK_DGRAM protocol has: EPROTONOSUPPORT (after
    // the two request_module tries); outside 0..256: EINVAL, as inet outside 0..IPPROTO_MAX.
    let cases = [
        (1, libc::EPROTONOSUPPORT),
        (255, libc::EPROTONOSUPPORT),
        (256, libc::EINVAL),
        (-1, libc::EINVAL),
        (i32::MAX, libc::EINVAL),
        (i32::MIN, libc::EINVAL),
    ];
    for (proto, want) in cases {
        let r = sock(PF_DEMO, libc::SOCK_DGRAM, proto);
        check_eq!(
            r,
            Err(ename(want)),
            format!("socket(18, SOCK_DGRAM, {proto})")
        );
        check_eq!(refcnt(), Some(0), format!("refcnt after protocol {proto}"));
    }
    Ok(())
}

fn create_errors_sockstat_baseline() -> TestResult {
    ensure_loaded()?;
    let base = sockets_used()?;
    // The counter does see our sockets (so an unchanged value below means something).
    let s = open_demo()?;
    check_eq!(
        sockets_used()?,
        base + 1,
        "sockets: used with one socket open"
    );
    drop(s);
    check_eq!(sockets_used()?, base, "sockets: used after close");
    for _ in 0..50 {
        for ty in (0..SOCK_MAX).filter(|t| !SERVED_TYPES.contains(t)) {
            check!(
                sock(PF_DEMO, ty, 0).is_err(),
                "socket(18, {ty}, 0) succeeded"
            );
        }
        for proto in [1, 255, -1, i32::MAX] {
            check!(
                sock(PF_DEMO, libc::SOCK_DGRAM, proto).is_err(),
                "protocol {proto} succeeded"
            );
        }
    }
    check_eq!(
        sockets_used()?,
        base,
        "sockets: used after 700 failed creates"
    );
    check_eq!(refcnt(), Some(0), "refcnt after the failed creates");
    Ok(())
}

/// Runs `f` with RLIMIT_NOFILE lowered so that no descriptor can be allocated, then restores it.
fn with_no_free_fd<T>(f: impl FnOnce() -> T) -> Result<T, Outcome> {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `old` is valid for writes.
    let r = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) };
    check!(r == 0, "getrlimit");
    // The lowest free descriptor: get_unused_fd_flags() fails once it is >= the limit.
    // SAFETY: plain syscalls; the new descriptor is closed at once.
    let lowest = unsafe {
        let fd = libc::dup(0);
        libc::close(fd);
        fd
    };
    check!(lowest >= 0, "dup: {}", ename(errno()));
    let low = libc::rlimit {
        rlim_cur: lowest as libc::rlim_t,
        rlim_max: old.rlim_max,
    };
    // SAFETY: `low` is a valid rlimit.
    let r = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) };
    check!(r == 0, "setrlimit: {}", ename(errno()));
    let result = f();
    // SAFETY: `old` is the valid rlimit read above.
    let restored = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) };
    check!(restored == 0, "setrlimit restore: {}", ename(errno()));
    Ok(result)
}

fn sock_map_fd_emfile_releases() -> TestResult {
    ensure_unloaded()?;
    let base = sockets_used()?;
    let (r, unix) = with_no_free_fd(|| {
        (
            sock(PF_DEMO, libc::SOCK_DGRAM, 0),
            sock(libc::AF_UNIX, libc::SOCK_DGRAM, 0),
        )
    })?;
    // Control: the limit really is exhausted for any socket.
    check_eq!(
        unix,
        Err(ename(libc::EMFILE)),
        "socket(AF_UNIX) with RLIMIT_NOFILE exhausted"
    );
    check_eq!(
        r,
        Err(ename(libc::EMFILE)),
        "socket(18, SOCK_DGRAM, 0) with RLIMIT_NOFILE exhausted"
    );
    // sock_map_fd() runs after __sock_create(): the module was loaded and create succeeded,
    // then sock_release() dropped the socket and both module references.
    check!(
        module_loaded(),
        "the module was not loaded: create did not run before sock_map_fd"
    );
    check_eq!(refcnt(), Some(0), "refcnt after the EMFILE");
    check_eq!(sockets_used()?, base, "sockets: used after the EMFILE");
    // Once more with the module loaded, and then a normal socket still works.
    let r = with_no_free_fd(|| sock(PF_DEMO, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0))?;
    check_eq!(
        r,
        Err(ename(libc::EMFILE)),
        "socket(18, SOCK_DGRAM|SOCK_CLOEXEC, 0), module loaded"
    );
    check_eq!(refcnt(), Some(0), "refcnt after the second EMFILE");
    let s = open_demo()?;
    check_eq!(
        refcnt(),
        Some(REFS_PER_SOCKET),
        "refcnt of a socket after the limit is restored"
    );
    drop(s);
    check_eq!(
        rmmod().map_err(ename),
        Ok(()),
        "rmmod after the EMFILE cases"
    );
    Ok(())
}

fn unsupported_listen() -> TestResult {
    ensure_loaded()?;
    let s = open_demo()?;
    // SAFETY: plain syscall on an open descriptor.
    let r = unsafe { libc::listen(s.as_raw_fd(), 5) };
    check_eq!(
        (r, ename(errno())),
        (-1, ename(libc::EOPNOTSUPP)),
        "listen (sock_no_listen)"
    );
    drop(s);
    check_eq!(refcnt(), Some(0), "refcnt after close");
    Ok(())
}

fn unsupported_accept() -> TestResult {
    ensure_loaded()?;
    let s = open_demo()?;
    // do_accept() allocates the new socket and takes a reference on its ops->owner before it
    // calls ops->accept; on the error the new socket and that reference are released.
    // SAFETY: plain syscalls; NULL address and length pointers are allowed.
    let r = unsafe { libc::accept(s.as_raw_fd(), std::ptr::null_mut(), std::ptr::null_mut()) };
    check_eq!(
        (r, ename(errno())),
        (-1, ename(libc::EOPNOTSUPP)),
        "accept (sock_no_accept)"
    );
    // SAFETY: as above.
    let r = unsafe {
        libc::accept4(
            s.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC,
        )
    };
    check_eq!(
        (r, ename(errno())),
        (-1, ename(libc::EOPNOTSUPP)),
        "accept4"
    );
    check_eq!(
        refcnt(),
        Some(REFS_PER_SOCKET),
        "refcnt after the failed accepts"
    );
    drop(s);
    check_eq!(refcnt(), Some(0), "refcnt after close");
    Ok(())
}

fn unsupported_socketpair() -> TestResult {
    ensure_unloaded()?;
    let mut sv = [-1 as RawFd; 2];
    // __sys_socketpair() creates both sockets (autoloading the module), then calls
    // ops->socketpair (sock_no_socketpair) and releases both on its error.
    // SAFETY: `sv` is valid for writes of two descriptors.
    let r = unsafe { libc::socketpair(PF_DEMO, libc::SOCK_DGRAM, 0, sv.as_mut_ptr()) };
    check_eq!(
        (r, ename(errno())),
        (-1, ename(libc::EOPNOTSUPP)),
        "socketpair(18, SOCK_DGRAM, 0)"
    );
    // __sys_socketpair() reserves both descriptor numbers and writes them to `sv` before it
    // creates the sockets; on the error they are put back unused: neither may be open now.
    for fd in sv {
        let r = if fd >= 0 {
            fcntl(fd, libc::F_GETFD)
        } else {
            -1
        };
        check!(r < 0, "descriptor {fd} from the failed socketpair is open");
    }
    check!(
        module_loaded(),
        "socketpair did not create the sockets (module not loaded)"
    );
    check_eq!(refcnt(), Some(0), "refcnt after the failed socketpair");
    check_eq!(
        rmmod().map_err(ename),
        Ok(()),
        "rmmod after the failed socketpair"
    );
    Ok(())
}

fn unsupported_mmap() -> TestResult {
    ensure_loaded()?;
    let s = open_demo()?;
    // The socket file's mmap is sock_mmap(), which calls ops->mmap: sock_no_mmap() → ENODEV.
    // SAFETY: mmap of a descriptor with a NULL hint; a success would be unmapped below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ,
            libc::MAP_SHARED,
            s.as_raw_fd(),
            0,
        )
    };
    let e = errno();
    if p != libc::MAP_FAILED {
        // SAFETY: `p` is the mapping of 4096 bytes just made.
        unsafe { libc::munmap(p, 4096) };
    }
    check_eq!(
        (p == libc::MAP_FAILED, ename(e)),
        (true, ename(libc::ENODEV)),
        "mmap of the socket"
    );
    drop(s);
    check_eq!(refcnt(), Some(0), "refcnt after close");
    Ok(())
}

fn generic_sol_socket_options() -> TestResult {
    ensure_loaded()?;
    let s = open_demo()?;
    let get = |name| getsockopt_int(&s, libc::SOL_SOCKET, name).map_err(ename);
    let set = |name, v| setsockopt_int(&s, libc::SOL_SOCKET, name, v).map_err(ename);
    check_eq!(get(libc::SO_TYPE), Ok(libc::SOCK_DGRAM), "SO_TYPE");
    check_eq!(get(libc::SO_DOMAIN), Ok(PF_DEMO), "SO_DOMAIN");
    // As inet: protocol 0 picks the type's default entry, whose number the sock gets.
    check_eq!(
        get(libc::SO_PROTOCOL),
        Ok(crate::uapi::PFDEMO_PROTO_DGRAM),
        "SO_PROTOCOL"
    );
    check_eq!(get(libc::SO_ACCEPTCONN), Ok(0), "SO_ACCEPTCONN");
    for (name, what, v) in [
        (libc::SO_PRIORITY, "SO_PRIORITY", 5),
        (libc::SO_KEEPALIVE, "SO_KEEPALIVE", 1),
        (libc::SO_RCVLOWAT, "SO_RCVLOWAT", 16),
        (libc::SO_MARK, "SO_MARK", 42),
    ] {
        check_eq!(set(name, v), Ok(()), format!("setsockopt {what} {v}"));
        check_eq!(get(name), Ok(v), format!("getsockopt {what}"));
    }
    // Read-only options stay read-only.
    check_eq!(
        set(libc::SO_TYPE, 1),
        Err(ename(libc::ENOPROTOOPT)),
        "setsockopt SO_TYPE"
    );
    // The family has no getsockopt op: the core answers EOPNOTSUPP for its own level.
    check_eq!(
        getsockopt_int(&s, PF_DEMO, 1).map_err(ename),
        Err(ename(libc::EOPNOTSUPP)),
        "getsockopt at the family's level"
    );
    drop(s);
    check_eq!(refcnt(), Some(0), "refcnt after close");
    Ok(())
}

fn generic_siocgstamp_enoent() -> TestResult {
    ensure_loaded()?;
    let s = open_demo()?;
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    // ops->gettstamp is sock_gettstamp(): sock_init_data() set sk_stamp to "unset" (-1 s), and
    // no packet was ever received, so it reports ENOENT.
    // SAFETY: SIOCGSTAMP writes a `struct timeval` to the pointer, valid for writes.
    let r = unsafe { libc::ioctl(s.as_raw_fd(), SIOCGSTAMP, &mut tv) };
    check_eq!(
        (r, ename(errno())),
        (-1, ename(libc::ENOENT)),
        "ioctl SIOCGSTAMP before any packet"
    );
    drop(s);
    check_eq!(refcnt(), Some(0), "refcnt after close");
    Ok(())
}

fn generic_fstat_and_proc_fd_link() -> TestResult {
    ensure_loaded()?;
    let s = open_demo()?;
    // SAFETY: `libc::stat` is valid when zeroed and `st` is valid for writes.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let r = unsafe { libc::fstat(s.as_raw_fd(), &mut st) };
    check_eq!(r, 0, "fstat");
    check_eq!(
        st.st_mode & libc::S_IFMT,
        libc::S_IFSOCK,
        "fstat st_mode file type"
    );
    let link = std::fs::read_link(format!("/proc/self/fd/{}", s.as_raw_fd()))
        .map_err(|e| format!("readlink /proc/self/fd: {e}"))?;
    check_eq!(
        link.to_string_lossy().into_owned(),
        format!("socket:[{}]", st.st_ino),
        "/proc/self/fd link"
    );
    drop(s);
    check_eq!(refcnt(), Some(0), "refcnt after close");
    Ok(())
}

/// `ioctl(fd, cmd)` of rust_pf_demo_dup's held-sock probe: the int it returns.
fn dup_probe(fd: &OwnedFd, cmd: libc::c_ulong) -> Result<i32, i32> {
    let mut v: libc::c_int = -1;
    // SAFETY: the probe commands write one int to the pointer, which is valid.
    if unsafe { libc::ioctl(fd.as_raw_fd(), cmd, &mut v) } < 0 {
        Err(errno())
    } else {
        Ok(v)
    }
}

/// A sock kept by reference (`HeldSock`, in rust_pf_demo_dup's table) after its socket was
/// closed: it still counts as a socket and pins the module, reads as shut in both directions,
/// orphaned (no inode) and in its namespace, keeps its family data, and takes a datagram; the
/// last reference frees it and the module references. (pf/ offers nothing else on a held sock:
/// tests/compile_fail/ checks that waiting on one does not build.)
fn held_sock_usable_after_close() -> TestResult {
    const HELD_RX_QUEUED: libc::c_ulong = 0x5f01;
    const HELD_STATE: libc::c_ulong = 0x5f02;
    const HELD_ID: libc::c_ulong = 0x5f03;
    const OWN_ID: libc::c_ulong = 0x5f04;
    const HELD_DROP: libc::c_ulong = 0x5f05;
    cleanup_test_modules();
    ensure_unloaded()?;
    check_eq!(
        insmod(DUP).map_err(ename),
        Ok(()),
        "finit_module(rust_pf_demo_dup)"
    );
    let base = sockets_used()?;
    let run = || -> Result<Vec<(&str, String)>, String> {
        let a = socket(PF_DEMO, libc::SOCK_DGRAM, 0).map_err(e("socket a"))?;
        let b = socket(PF_DEMO, libc::SOCK_DGRAM, 0).map_err(e("socket b"))?;
        let id_a = dup_probe(&a, OWN_ID).map_err(e("OWN_ID"))?;
        bind(&a, 1).map_err(e("bind a (the module keeps its sock)"))?;
        drop(a);
        let mut seen = vec![
            // b open, a closed but held.
            (
                "sockets: used with a closed but held sock",
                format!("{}", sockets_used()? - base),
            ),
            ("module refcnt", format!("{:?}", module_refcnt(DUP))),
        ];
        let state = dup_probe(&b, HELD_STATE).map_err(ename);
        seen.push(("held sock state", format!("{:x?}", state)));
        seen.push((
            "held sock data",
            format!("{:?}", dup_probe(&b, HELD_ID).map(|id| id == id_a)),
        ));
        seen.push((
            "send to it",
            format!("{:?}", sendto(&b, &[9; 100], None, 0)),
        ));
        let queued = dup_probe(&b, HELD_RX_QUEUED).map_err(ename);
        seen.push(("queued on it", format!("{:?}", queued.map(|q| q >= 100))));
        dup_probe(&b, HELD_DROP).map_err(e("HELD_DROP"))?;
        seen.push((
            "sockets: used once dropped",
            format!("{}", sockets_used()? - base),
        ));
        seen.push((
            "module refcnt once dropped",
            format!("{:?}", module_refcnt(DUP)),
        ));
        drop(b);
        Ok(seen)
    };
    let seen = run();
    // A held sock pins the module: drop it on every path before unloading.
    let unload = rmmod_named(DUP).map_err(ename);
    cleanup_test_modules();
    let seen = seen?;
    let expected = [
        "2".to_string(),
        format!("{:?}", Some(REFS_PER_SOCKET + 1)),
        // SHUTDOWN_MASK (set by pf/'s release), same namespace, orphaned.
        format!("{:x?}", Ok::<i32, String>(0x303)),
        format!("{:?}", Ok::<bool, i32>(true)),
        format!("{:?}", Ok::<usize, i32>(100)),
        format!("{:?}", Ok::<bool, i32>(true)),
        "1".to_string(),
        format!("{:?}", Some(REFS_PER_SOCKET)),
    ];
    for ((what, got), want) in seen.iter().zip(expected.iter()) {
        check_eq!(got, want, what);
    }
    check_eq!(module_refcnt(DUP), None, "rust_pf_demo_dup still loaded");
    check_eq!(unload, Ok(()), "rmmod rust_pf_demo_dup after its sockets");
    check_eq!(sockets_used()?, base, "sockets: used at the end");
    Ok(())
}

/// The running kernel's major version (`/proc/sys/kernel/osrelease`).
fn kernel_major() -> Result<u32, String> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_err(|e| format!("/proc/sys/kernel/osrelease: {e}"))?;
    release
        .split('.')
        .next()
        .and_then(|m| m.trim().parse().ok())
        .ok_or_else(|| format!("kernel release {release:?}"))
}

fn sock_register_conflict_eexist() -> TestResult {
    cleanup_test_modules();
    ensure_loaded()?;
    // rust_pf_demo holds family 18: the duplicate's sock_register() fails with EEXIST, its
    // init returns that error, and the load fails. 7.x's module loader reports an init's
    // EEXIST as EBUSY (kernel/module/main.c: EEXIST from finit_module() means "already
    // loaded" to userspace); 6.12 passes it on.
    let expected = if kernel_major()? >= 7 {
        libc::EBUSY
    } else {
        libc::EEXIST
    };
    let r = insmod(DUP).map_err(ename);
    if r.is_ok() {
        cleanup_test_modules();
    }
    check_eq!(
        r,
        Err(ename(expected)),
        "finit_module(rust_pf_demo_dup) with rust_pf_demo loaded"
    );
    check!(
        !module_present(DUP),
        "rust_pf_demo_dup is loaded after its init failed"
    );
    // rust_pf_demo keeps the family.
    let s = open_demo()?;
    check_eq!(
        refcnt(),
        Some(REFS_PER_SOCKET),
        "rust_pf_demo refcnt with a socket after the conflict"
    );
    drop(s);
    check_eq!(refcnt(), Some(0), "rust_pf_demo refcnt after close");
    // Alone, the duplicate loads and serves family 18: the EEXIST above was the conflict.
    ensure_unloaded()?;
    check_eq!(
        insmod(DUP).map_err(ename),
        Ok(()),
        "finit_module(rust_pf_demo_dup) alone"
    );
    let s = socket(PF_DEMO, libc::SOCK_DGRAM, 0).map_err(ename);
    let s_err = s.as_ref().err().cloned();
    let dup_refs = module_refcnt(DUP);
    let loaded = module_loaded();
    drop(s);
    let dup_after = module_refcnt(DUP);
    let unload = rmmod_named(DUP).map_err(ename);
    cleanup_test_modules();
    check_eq!(
        s_err,
        None,
        "socket(18) error with only rust_pf_demo_dup loaded"
    );
    check!(
        !loaded,
        "socket(18) loaded rust_pf_demo although rust_pf_demo_dup has the family"
    );
    check_eq!(
        dup_refs,
        Some(REFS_PER_SOCKET),
        "rust_pf_demo_dup refcnt with its socket open"
    );
    check_eq!(dup_after, Some(0), "rust_pf_demo_dup refcnt after close");
    check_eq!(unload, Ok(()), "rmmod rust_pf_demo_dup");
    // And the family is rust_pf_demo's again.
    let s = open_demo()?;
    check!(
        module_loaded(),
        "socket(18) did not autoload rust_pf_demo after the duplicate left"
    );
    drop(s);
    check_eq!(rmmod().map_err(ename), Ok(()), "rmmod rust_pf_demo");
    Ok(())
}

fn kern_socket_holds_module_refs() -> TestResult {
    cleanup_test_modules();
    ensure_loaded()?;
    let base = sockets_used()?;
    check_eq!(
        insmod(KERN).map_err(ename),
        Ok(()),
        "finit_module(rust_pf_demo_kern)"
    );
    // sock_create_kern() went through __sock_create(): the kernel socket holds the same
    // references as a user socket.
    let with_kern = refcnt();
    let busy = rmmod().map_err(ename);
    // A kern socket holds no netns reference and is not counted in sockstat.
    let used = sockets_used()?;
    let user = demo_socket().map_err(ename);
    let with_both = refcnt();
    drop(user);
    let unload_kern = rmmod_named(KERN).map_err(ename);
    cleanup_test_modules();
    check_eq!(
        with_kern,
        Some(REFS_PER_SOCKET),
        "rust_pf_demo refcnt with rust_pf_demo_kern loaded"
    );
    check_eq!(
        busy,
        Err(ename(libc::EWOULDBLOCK)),
        "rmmod rust_pf_demo while the kernel socket exists"
    );
    check_eq!(
        used,
        base,
        "sockets: used with the kernel socket (kern sockets are not counted)"
    );
    check_eq!(
        with_both,
        Some(2 * REFS_PER_SOCKET),
        "refcnt with the kernel and a user socket"
    );
    check_eq!(
        unload_kern,
        Ok(()),
        "rmmod rust_pf_demo_kern (sock_release)"
    );
    check_eq!(
        refcnt(),
        Some(0),
        "rust_pf_demo refcnt after rust_pf_demo_kern left"
    );
    check_eq!(rmmod().map_err(ename), Ok(()), "rmmod rust_pf_demo");
    Ok(())
}

fn kern_socket_autoloads_family() -> TestResult {
    cleanup_test_modules();
    ensure_unloaded()?;
    // sock_create_kern() from the test module's init: __sock_create() calls
    // request_module("net-pf-18") exactly as for a user socket.
    let r = insmod(KERN).map_err(ename);
    let loaded = module_loaded();
    let refs = refcnt();
    let unload_kern = if r.is_ok() {
        rmmod_named(KERN).map_err(ename)
    } else {
        Ok(())
    };
    cleanup_test_modules();
    check_eq!(
        r,
        Ok(()),
        "finit_module(rust_pf_demo_kern) with rust_pf_demo unloaded"
    );
    check!(loaded, "sock_create_kern() did not autoload rust_pf_demo");
    check_eq!(
        refs,
        Some(REFS_PER_SOCKET),
        "rust_pf_demo refcnt with the kernel socket"
    );
    check_eq!(unload_kern, Ok(()), "rmmod rust_pf_demo_kern");
    check_eq!(
        refcnt(),
        Some(0),
        "rust_pf_demo refcnt after rust_pf_demo_kern left"
    );
    check_eq!(rmmod().map_err(ename), Ok(()), "rmmod rust_pf_demo");
    Ok(())
}

/// A kernel socket (kern = 1) and a userspace socket of the family talk: rust_pf_demo_kern
/// binds 4243 and sends a greeting to 4242 on load, and logs what it received on unload.
fn kern_socket_exchanges_datagrams() -> TestResult {
    cleanup_test_modules();
    ensure_loaded()?;
    let (user, _) = bound_socket(4242)?;
    let load = insmod(KERN).map_err(ename);
    let mut buf = [0u8; 64];
    let got = recvmsg(&user, &mut buf, libc::MSG_DONTWAIT).map_err(ename);
    let reply = sendto(&user, b"pong from userspace", Some(4243), 0).map_err(ename);
    let unload = rmmod_named(KERN).map_err(ename);
    cleanup_test_modules();
    check_eq!(load, Ok(()), "finit_module(rust_pf_demo_kern)");
    let got = got?;
    check_eq!(
        (&buf[..got.n], got.from.port),
        (&b"ping from the kernel"[..], 4243),
        "datagram from the kernel socket"
    );
    check_eq!(reply, Ok(19), "sendto the kernel socket");
    check_eq!(unload, Ok(()), "rmmod rust_pf_demo_kern");
    let log = kernel_log()?;
    check!(
        log.contains("rust_pf_demo_kern: received 19 bytes from port 4242: pong from userspace"),
        "the kernel socket did not log the userspace datagram"
    );
    drop(user);
    check_eq!(
        refcnt(),
        Some(0),
        "rust_pf_demo refcnt after both sockets left"
    );
    Ok(())
}

/// `pfdemo sock [--hold] FAMILY TYPE PROTOCOL`, for the shell selftests: creates one socket and
/// prints `ok netns:[INODE]` (the caller's network namespace) or the errno's name (`EAFNOSUPPORT`);
/// with `--hold`, keeps the socket open until standard input reaches end of file. Exit status 0
/// when the socket was created, 1 when socket() failed, 2 on a usage error.
pub fn sock_cli(args: &[String]) -> i32 {
    let mut args = args;
    let hold = args.first().map(String::as_str) == Some("--hold");
    args = &args[hold as usize..];
    // --nobody: as uid/gid 65534 (no capabilities), for CAP_NET_RAW.
    let nobody = args.first().map(String::as_str) == Some("--nobody");
    args = &args[nobody as usize..];
    if nobody && become_nobody().is_err() {
        println!("setuid failed");
        return 2;
    }
    // --fail-next-init: after the socket is made, its ioctl PFDEMO_RDM_FAIL_NEXT_INIT (the
    // SOCK_RDM test protocol) and a second socket() with the same arguments, whose result is
    // printed after "then".
    let fail_init = args.first().map(String::as_str) == Some("--fail-next-init");
    args = &args[fail_init as usize..];
    let nums: Vec<Option<i32>> = args.iter().map(|a| a.parse().ok()).collect();
    let [Some(family), Some(ty), Some(proto)] = nums[..] else {
        eprintln!("usage: pfdemo sock [--hold] [--nobody] FAMILY TYPE PROTOCOL");
        return 2;
    };
    let r = socket(family, ty, proto);
    let line = result_line(&r);
    match r {
        Ok(fd) => {
            if fail_init {
                let cmd = crate::uapi::PFDEMO_RDM_FAIL_NEXT_INIT as libc::c_ulong;
                let mut v = 0i32;
                // SAFETY: `v` is valid for writes of an int.
                let r = unsafe { libc::ioctl(fd.as_raw_fd(), cmd, &mut v) };
                let second = if r != 0 {
                    format!("ioctl {}", ename(errno()))
                } else {
                    match socket(family, ty, proto) {
                        Ok(_) => "ok".to_string(),
                        Err(e) => ename(e).split(' ').next().unwrap_or("?").to_string(),
                    }
                };
                println!("{line} then {second}");
            } else {
                println!("{line}");
            }
            if hold {
                let mut sink = Vec::new();
                let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            }
            drop(fd);
            0
        }
        Err(_) => {
            println!("{line}");
            1
        }
    }
}

/// What `pfdemo sock` prints for a `socket()` result: `ok net:[INODE]` (the caller's network
/// namespace) or the errno's name (`EPERM`). `pfdemo lsm-sock` prints the same.
pub fn result_line(r: &Result<OwnedFd, i32>) -> String {
    match r {
        Ok(_) => {
            let ns = std::fs::read_link("/proc/self/ns/net")
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            format!("ok {ns}")
        }
        Err(e) => {
            let name = ename(*e);
            name.split(' ').next().unwrap_or(&name).to_string()
        }
    }
}
