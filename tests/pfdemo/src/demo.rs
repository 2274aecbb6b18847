// SPDX-License-Identifier: GPL-2.0

//! `pfdemo demo`: the seed path told step by step.

use crate::sys::*;

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
