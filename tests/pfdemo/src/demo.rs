// SPDX-License-Identifier: GPL-2.0

//! `pfdemo demo`: the seed path told step by step, then a SOCK_SEQPACKET connection loading
//! both modules on demand (rust_pf_demo, then rust_pf_demo_seqpacket).

use crate::seqp::{accept, listen, module_refcnt, seq_refcnt, Fam, SEQ_MODULE, SEQ_NAME};
use crate::sys::*;
use std::os::fd::AsRawFd;

fn state() -> String {
    match refcnt() {
        None => "rust_pf_demo not loaded".into(),
        Some(n) => format!("rust_pf_demo loaded, refcnt {n}"),
    }
}

/// Runs the demo; returns 0 when every step behaved as narrated, 1 otherwise.
pub fn run() -> i32 {
    let mut ok = true;
    let mut step = |what: &str, good: bool| {
        println!("demo: {what}  -> {}", state());
        ok &= good;
    };
    if ensure_unloaded().is_err() {
        println!("demo: cannot start: the module is loaded and busy");
        return 1;
    }
    step("before any socket", !module_loaded());

    let first = demo_socket();
    step(
        &format!(
            "socket(18, SOCK_DGRAM, 0) = {:?} (kernel ran modprobe net-pf-18)",
            first.as_ref().map(|_| "fd").map_err(|e| ename(*e))
        ),
        first.is_ok() && refcnt() == Some(REFS_PER_SOCKET),
    );
    let second = demo_socket();
    step(
        "second socket()",
        second.is_ok() && refcnt() == Some(2 * REFS_PER_SOCKET),
    );

    let r = rmmod();
    step(
        &format!("rmmod with 2 sockets open: {:?}", r.map_err(ename)),
        r.is_err() && module_loaded(),
    );

    drop(first);
    step("closed the first socket", refcnt() == Some(REFS_PER_SOCKET));
    drop(second);
    step("closed the second socket", refcnt() == Some(0));

    let r = rmmod();
    step(
        &format!("rmmod with no socket open: {:?}", r.map_err(ename)),
        r.is_ok() && !module_loaded(),
    );

    let bad = socket(PF_DEMO, libc::SOCK_STREAM, 0)
        .map(drop)
        .map_err(ename);
    step(
        &format!("socket(18, SOCK_STREAM, 0) = {bad:?} (loaded it again, then create said no)"),
        bad == Err(ename(libc::ESOCKTNOSUPPORT)) && refcnt() == Some(0),
    );
    // And the family at work: a datagram between two bound sockets.
    match (bound_socket(5000), bound_socket(0)) {
        (Ok((a, pa)), Ok((b, _))) => {
            let sent = sendto(&b, b"hello from PF 18", Some(pa), 0);
            let mut buf = [0u8; 64];
            let got = recvmsg(&a, &mut buf, 0);
            let text = got
                .as_ref()
                .map(|r| String::from_utf8_lossy(&buf[..r.n]).into_owned());
            step(
                &format!("sendto(port {pa}) = {sent:?}, recvfrom = {text:?}"),
                sent == Ok(16) && text.as_deref() == Ok("hello from PF 18"),
            );
            println!("demo: /proc/net/rust_pf_demo:");
            for line in std::fs::read_to_string("/proc/net/rust_pf_demo")
                .unwrap_or_default()
                .lines()
            {
                println!("demo:   {line}");
            }
        }
        _ => step("bind two sockets", false),
    }
    ok &= seqpacket();
    println!(
        "demo: {}",
        if ok {
            "every step as expected"
        } else {
            "SOME STEP DID NOT BEHAVE AS EXPECTED"
        }
    );
    i32::from(!ok)
}

/// Both modules' reference counts (`/sys/module/*/refcnt`).
fn both() -> String {
    let show = |r: Option<i64>| r.map_or("not loaded".to_string(), |n| format!("refcnt {n}"));
    format!(
        "rust_pf_demo {}, {SEQ_NAME} {}",
        show(refcnt()),
        show(seq_refcnt())
    )
}

/// The modprobe runs of the kernel's request_module, logged by a wrapper (as
/// selftests/protosw.sh does): `kernel.modprobe` points at it while `f` runs.
fn with_logged_modprobe<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    const KMOD: &str = "/proc/sys/kernel/modprobe";
    const LOG: &str = "/tmp/demo-modprobe.log";
    let saved = std::fs::read_to_string(KMOD).unwrap_or_default();
    let script = format!(
        "#!/bin/sh\necho \"$*\" >>{LOG}\nexec {} \"$@\"\n",
        saved.trim()
    );
    let armed = std::fs::write("/tmp/demo-modprobe", script).is_ok()
        && std::fs::set_permissions(
            "/tmp/demo-modprobe",
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .is_ok()
        && std::fs::write(LOG, "").is_ok()
        && std::fs::write(KMOD, "/tmp/demo-modprobe").is_ok();
    let r = f();
    if armed {
        let _ = std::fs::write(KMOD, saved.trim());
    }
    let log = std::fs::read_to_string(LOG).unwrap_or_default();
    (r, log.lines().map(str::to_string).collect())
}

/// A SOCK_SEQPACKET connection of family 18 from nothing loaded: the first socket() loads
/// the family's module (net-pf-18), whose create finds no SOCK_SEQPACKET protocol and loads
/// rust_pf_demo_seqpacket (net-pf-18-proto-0-type-5); the references of each module at every
/// step; then both unloaded. Returns whether every step behaved as narrated.
fn seqpacket() -> bool {
    let mut ok = true;
    let mut step = |what: &str, good: bool| {
        println!(
            "demo: {what}  -> {}{}",
            both(),
            if good { "" } else { "  (NOT AS EXPECTED)" }
        );
        ok &= good;
    };
    let seq = |n: i64| seq_refcnt() == Some(n) && refcnt() == Some(1);
    println!("demo: --- SOCK_SEQPACKET: a protocol module of its own, loaded on demand ---");
    let clean = ensure_unloaded().is_ok() && seq_refcnt().is_none();
    step("before", clean);
    let (l, modprobes) = with_logged_modprobe(|| Fam::Demo.socket(0));
    step(
        &format!(
            "listener = socket(18, SOCK_SEQPACKET, 0) = {:?}",
            l.as_ref().map(|_| "fd").map_err(|e| ename(*e))
        ),
        l.is_ok() && seq(2),
    );
    for m in &modprobes {
        println!("demo:     the kernel ran: modprobe {m}");
    }
    let Ok(l) = l else { return false };
    // rust_pf_demo's 1 is the dependency: rust_pf_demo_seqpacket uses its exported switch.
    let holder =
        std::path::Path::new("/sys/module/rust_pf_demo/holders/rust_pf_demo_seqpacket").exists();
    step(
        &format!(
            "(rust_pf_demo's 1 is {SEQ_NAME} using it: holders/{SEQ_NAME} {})",
            if holder { "present" } else { "absent" }
        ),
        holder,
    );
    let r = bind(&l, 6000).and_then(|()| listen(&l, 8));
    step(
        &format!("bind(port 6000), listen(8) = {:?}", r.map_err(ename)),
        r.is_ok() && seq(2),
    );
    let c = Fam::Demo.socket(0);
    step(
        "client = socket(18, SOCK_SEQPACKET, 0)",
        c.is_ok() && seq(4),
    );
    let Ok(c) = c else { return false };
    let r = connect(&c, 6000);
    step(
        &format!(
            "connect(client, port 6000) = {:?} (the server side's sock is made now: sk_alloc pins the module)",
            r.map_err(ename)
        ),
        r.is_ok() && seq(5),
    );
    let s = accept(&l, 0);
    step(
        &format!(
            "accepted = accept(listener) = {:?} (do_accept's __module_get for the new socket's ops)",
            s.as_ref().map(|_| "fd").map_err(|e| ename(*e))
        ),
        s.is_ok() && seq(6),
    );
    let Ok(s) = s else { return false };
    let msg = b"hello over SOCK_SEQPACKET";
    let sent = sendto(&c, msg, None, 0);
    let mut buf = [0u8; 64];
    let got = crate::seqp::raw_recv(s.as_raw_fd(), &mut buf, 0);
    let text = got.map(|n| String::from_utf8_lossy(&buf[..n]).into_owned());
    step(
        &format!("send(client) = {sent:?}, recv(accepted) = {text:?}"),
        sent == Ok(msg.len()) && text.as_deref() == Ok("hello over SOCK_SEQPACKET"),
    );
    println!("demo: /proc/net/{SEQ_NAME}:");
    for line in std::fs::read_to_string(format!("/proc/net/{SEQ_NAME}"))
        .unwrap_or_default()
        .lines()
    {
        println!("demo:   {line}");
    }
    let r1 = rmmod().map_err(ename);
    let r2 = rmmod_named(SEQ_MODULE).map_err(ename);
    step(
        &format!("rmmod rust_pf_demo: {r1:?}; rmmod {SEQ_NAME}: {r2:?}"),
        r1.is_err() && r2.is_err() && seq(6),
    );
    drop(s);
    step("closed the accepted socket", seq(4));
    drop(c);
    step("closed the client", seq(2));
    drop(l);
    step("closed the listener", seq(0));
    let r = rmmod_named(SEQ_MODULE).map_err(ename);
    step(
        &format!("rmmod {SEQ_NAME}: {r:?}"),
        r.is_ok() && seq_refcnt().is_none() && refcnt() == Some(0),
    );
    let r = rmmod().map_err(ename);
    step(
        &format!("rmmod rust_pf_demo: {r:?}"),
        r.is_ok() && !module_loaded() && module_refcnt(SEQ_NAME).is_none(),
    );
    ok
}
