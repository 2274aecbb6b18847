// SPDX-License-Identifier: GPL-2.0

//! `pfdemo bench`: the family against AF_UNIX (SOCK_DGRAM) and UDP on loopback, and its
//! SOCK_SEQPACKET protocol (rust_pf_demo_seqpacket) against AF_UNIX SOCK_SEQPACKET, measured
//! in the same VM run with the same code. Prints one `BENCH-JSON: {...}` line per figure (median,
//! min and max over the repetitions) for the host to tabulate and plot (`make bench`).
//!
//! With `rpd.icount` on the kernel command line (`make bench MODE=icount`: one vCPU, QEMU's
//! `-icount shift=0`, see qemu/run-vm.sh) it runs [`run_icount`] instead: the guest's clock then
//! advances one nanosecond per executed instruction, so a figure is guest instructions per
//! operation, independent of the host.

use crate::seqp::{demo_available, Fam};
use crate::sys::*;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

const REPS: usize = 7;

/// Pins the calling thread to `cpu`, so that runs compare the same scheduling (TCG makes
/// cross-vCPU wake-ups both slow and erratic).
fn pin(cpu: usize) {
    // SAFETY: an all-zero cpu_set_t is an empty set; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Demo,
    Unix,
    Udp,
    /// SOCK_SEQPACKET of family 18 (reported in the pf_demo column).
    SeqDemo,
    /// AF_UNIX SOCK_SEQPACKET (reported in the AF_UNIX column).
    SeqUnix,
}

const KINDS: [Kind; 3] = [Kind::Demo, Kind::Unix, Kind::Udp];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Demo | Kind::SeqDemo => "pf_demo",
            Kind::Unix | Kind::SeqUnix => "af_unix",
            Kind::Udp => "udp",
        }
    }

    fn socket(self) -> OwnedFd {
        let (f, t) = match self {
            Kind::Demo => (18, libc::SOCK_DGRAM),
            Kind::Unix => (libc::AF_UNIX, libc::SOCK_DGRAM),
            Kind::Udp => (libc::AF_INET, libc::SOCK_DGRAM),
            Kind::SeqDemo => (18, libc::SOCK_SEQPACKET),
            Kind::SeqUnix => (libc::AF_UNIX, libc::SOCK_SEQPACKET),
        };
        socket(f, t, 0).unwrap_or_else(|e| panic!("socket({f}): {}", ename(e)))
    }

    /// Two sockets connected to each other.
    fn pair(self) -> (OwnedFd, OwnedFd) {
        match self {
            // A client and the socket accepted for it (the listener closed).
            Kind::SeqDemo | Kind::SeqUnix => {
                let fam = if self == Kind::SeqDemo {
                    Fam::Demo
                } else {
                    Fam::Unix
                };
                let (l, addr) = fam.listener(4).expect("listener");
                let (c, s) = fam.connection(&l, &addr).expect("connection");
                // No watchdog timeouts: the benchmarks block as long as they need.
                for fd in [&c, &s] {
                    let _ = set_rcvtimeo(fd, 0);
                    let _ = set_sndtimeo0(fd);
                }
                (c, s)
            }
            Kind::Unix => {
                let mut fds = [0; 2];
                // SAFETY: `fds` is valid for two ints.
                let r = unsafe {
                    libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM, 0, fds.as_mut_ptr())
                };
                assert_eq!(r, 0, "socketpair");
                // SAFETY: both fds are new and ours.
                unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
            }
            Kind::Demo => {
                let (a, pa) = bound_socket(0).unwrap();
                let (b, pb) = bound_socket(0).unwrap();
                connect(&a, pb).unwrap();
                connect(&b, pa).unwrap();
                // No watchdog timeouts (bound_socket sets them for the tests): a blocking
                // receive with a timeout arms a timer each time it sleeps, which AF_UNIX's and
                // UDP's sockets here do not pay (seen in make bench MODE=profile: __mod_timer
                // and lock_timer_base, 124 instructions per round trip).
                for fd in [&a, &b] {
                    let _ = set_rcvtimeo(fd, 0);
                    let _ = set_sndtimeo0(fd);
                }
                (a, b)
            }
            Kind::Udp => {
                let (a, b) = (self.socket(), self.socket());
                let pa = udp_bind(&a);
                let pb = udp_bind(&b);
                udp_connect(&a, pb);
                udp_connect(&b, pa);
                (a, b)
            }
        }
    }
}

fn udp_bind(fd: &OwnedFd) -> u16 {
    let a = sin(0);
    let len = std::mem::size_of::<libc::sockaddr_in>() as u32;
    // SAFETY: `a` is a valid sockaddr_in of `len` bytes.
    let r = unsafe { libc::bind(fd.as_raw_fd(), (&a as *const libc::sockaddr_in).cast(), len) };
    assert_eq!(r, 0, "bind 127.0.0.1:0");
    let mut out = sin(0);
    let mut l = len;
    // SAFETY: `out` and `l` are valid for writes.
    unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            (&mut out as *mut libc::sockaddr_in).cast(),
            &mut l,
        )
    };
    u16::from_be(out.sin_port)
}

fn udp_connect(fd: &OwnedFd, port: u16) {
    let a = sin(port);
    let len = std::mem::size_of::<libc::sockaddr_in>() as u32;
    // SAFETY: `a` is a valid sockaddr_in of `len` bytes.
    let r = unsafe { libc::connect(fd.as_raw_fd(), (&a as *const libc::sockaddr_in).cast(), len) };
    assert_eq!(r, 0, "connect 127.0.0.1");
}

fn send(fd: i32, buf: &[u8]) -> isize {
    // SAFETY: `buf` is valid for reads of its length.
    unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), 0) }
}

fn recv(fd: i32, buf: &mut [u8]) -> isize {
    // SAFETY: `buf` is valid for writes of its length.
    unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) }
}

/// Median, min, max of the repetitions.
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn report(metric: &str, unit: &str, better: &str, kind: Kind, samples: Vec<f64>) {
    let (med, min, max) = stats(samples);
    println!(
        "BENCH-JSON: {{\"metric\":\"{metric}\",\"unit\":\"{unit}\",\"better\":\"{better}\",\"kind\":\"{}\",\"median\":{med:.3},\"min\":{min:.3},\"max\":{max:.3}}}",
        kind.name()
    );
}

fn socket_close_rate(kind: Kind, threads: usize) -> f64 {
    const N: usize = 20_000;
    let t = Instant::now();
    std::thread::scope(|s| {
        for cpu in 0..threads {
            s.spawn(move || {
                pin(cpu);
                for _ in 0..N / threads {
                    drop(kind.socket());
                }
            });
        }
    });
    N as f64 / t.elapsed().as_secs_f64()
}

/// Both ends on one CPU: every round trip is two sends, two receives and two context switches
/// there, which is what the protocols differ in.
fn pingpong_rate(kind: Kind) -> f64 {
    const ROUNDS: usize = 20_000;
    let (a, b) = kind.pair();
    let (ra, rb) = (a.as_raw_fd(), b.as_raw_fd());
    let t = Instant::now();
    std::thread::scope(|s| {
        s.spawn(move || {
            pin(0);
            let mut buf = [0u8; 64];
            for _ in 0..ROUNDS {
                assert_eq!(recv(rb, &mut buf), 64);
                assert_eq!(send(rb, &buf), 64);
            }
        });
        pin(0);
        let mut buf = [7u8; 64];
        for _ in 0..ROUNDS {
            assert_eq!(send(ra, &buf), 64);
            assert_eq!(recv(ra, &mut buf), 64);
        }
    });
    ROUNDS as f64 / t.elapsed().as_secs_f64()
}

/// One-way: MB/s received (datagrams a full receiver drops do not count).
fn throughput(kind: Kind, size: usize) -> f64 {
    let total: usize = 8 << 20;
    let count = (total / size).max(64);
    let (a, b) = kind.pair();
    let force = 4 << 20;
    for fd in [&a, &b] {
        let _ = setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, force);
        let _ = setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, force);
    }
    set_rcvtimeo(&b, 300).expect("SO_RCVTIMEO");
    let rb = b.as_raw_fd();
    let ra = a.as_raw_fd();
    let start = Instant::now();
    let (bytes, last) = std::thread::scope(|s| {
        let rx = s.spawn(move || {
            pin(1);
            let mut buf = vec![0u8; size + 1];
            let (mut bytes, mut last) = (0usize, Instant::now());
            loop {
                let n = recv(rb, &mut buf);
                if n <= 0 {
                    break;
                }
                bytes += n as usize;
                last = Instant::now();
            }
            (bytes, last)
        });
        pin(0);
        let buf = vec![0x5au8; size];
        for _ in 0..count {
            if send(ra, &buf) < 0 && errno() != libc::ENOBUFS {
                panic!("send: {}", ename(errno()));
            }
        }
        rx.join().unwrap()
    });
    let secs = last.duration_since(start).as_secs_f64().max(1e-6);
    bytes as f64 / secs / 1e6
}

fn autoload_ms() -> Vec<f64> {
    (0..REPS)
        .map(|_| {
            ensure_unloaded().expect("unload");
            let t = Instant::now();
            let fd = demo_socket().expect("autoload socket");
            let ms = t.elapsed().as_secs_f64() * 1e3;
            drop(fd);
            ms
        })
        .collect()
}

fn loaded_socket_ms(kind: Kind) -> f64 {
    const N: u32 = 1000;
    let t = Instant::now();
    let fds: Vec<OwnedFd> = (0..N).map(|_| kind.socket()).collect();
    let ms = t.elapsed().as_secs_f64() * 1e3 / f64::from(N);
    drop(fds);
    ms
}

fn bytes_per_socket(kind: Kind) -> f64 {
    const N: usize = 10_000;
    let before = slab_kb().expect("Slab:");
    let fds: Vec<OwnedFd> = (0..N).map(|_| kind.socket()).collect();
    let after = slab_kb().expect("Slab:");
    drop(fds);
    (after.saturating_sub(before) * 1024) as f64 / N as f64
}

/// A receiver for the unconnected benchmarks: bound (to a free port, or 127.0.0.1:0), with a
/// large buffer; returns it and the address to send to.
fn receiver(kind: Kind) -> (OwnedFd, Vec<u8>) {
    let fd = kind.socket();
    let _ = setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 4 << 20);
    let addr = match kind {
        Kind::Demo => {
            bind(&fd, 0).expect("bind");
            let port = getsockname(&fd).expect("getsockname").0.port;
            SockaddrPfdemo::new(port).to_bytes().to_vec()
        }
        _ => {
            let a = sin(udp_bind(&fd));
            // SAFETY: a sockaddr_in is plain bytes.
            unsafe {
                std::slice::from_raw_parts(
                    (&a as *const libc::sockaddr_in).cast::<u8>(),
                    std::mem::size_of::<libc::sockaddr_in>(),
                )
            }
            .to_vec()
        }
    };
    (fd, addr)
}

/// `sendto(fd, buf, addr)` without checking the result (a full receiver drops).
fn sendto_raw(fd: i32, buf: &[u8], addr: &[u8]) -> isize {
    // SAFETY: `buf` and `addr` are valid for reads of their lengths.
    unsafe {
        libc::sendto(
            fd,
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
            addr.as_ptr().cast(),
            addr.len() as u32,
        )
    }
}

/// Unconnected `sendto()` of 64 B from 2 threads (one per vCPU) to 2 receivers, one each:
/// every send looks its destination up (the family's port table, UDP's hash). Datagrams sent per
/// second, both threads together (a full receiver drops, as for UDP: the send still counts).
fn unconnected_sendto_rate(kind: Kind) -> f64 {
    const N: usize = 40_000;
    let rx: Vec<(OwnedFd, Vec<u8>)> = (0..2).map(|_| receiver(kind)).collect();
    let t = Instant::now();
    std::thread::scope(|s| {
        for (cpu, (_, addr)) in rx.iter().enumerate() {
            s.spawn(move || {
                pin(cpu);
                let tx = kind.socket();
                let buf = [7u8; 64];
                for _ in 0..N / 2 {
                    assert!(sendto_raw(tx.as_raw_fd(), &buf, addr) >= 0 || errno() == libc::EAGAIN);
                }
            });
        }
    });
    N as f64 / t.elapsed().as_secs_f64()
}

/// What a process in another network namespace does during [`sendto_under_foreign_load`].
#[derive(Clone, Copy, PartialEq)]
enum Foreign {
    /// Nothing (no process).
    Idle,
    /// socket + bind(port 0) + close, in a loop.
    BindClose,
    /// 5,000 bound sockets, and its `/proc/net` file (`rust_pf_demo`, `udp`) read in a loop.
    ProcRead,
}

/// `sendto()` of 64 B to a receiver (one thread, on vCPU 0) while a child process in another
/// network namespace, on vCPU 1, does `foreign`: datagrams sent per second. A table or lock
/// shared between namespaces shows as a drop against the same figure with an idle namespace
/// (both share the vCPUs: CPU contention alone lowers the loaded figures too).
fn sendto_under_foreign_load(kind: Kind, foreign: Foreign) -> f64 {
    const N: usize = 30_000;
    let (_rx, addr) = receiver(kind);
    // The child says when its loop starts (after its 5,000 sockets).
    let mut ready = [0; 2];
    // SAFETY: `ready` is valid for two ints.
    assert_eq!(unsafe { libc::pipe(ready.as_mut_ptr()) }, 0, "pipe");
    let started = move || {
        // SAFETY: the write end of the pipe, inherited.
        unsafe { libc::write(ready[1], b"go".as_ptr().cast(), 1) };
    };
    let child = if foreign != Foreign::Idle {
        // SAFETY: the child only runs the loop below and exits; it shares nothing it writes.
        match unsafe { libc::fork() } {
            0 => {
                pin(1);
                // SAFETY: plain syscall in the single-threaded child.
                if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                    // SAFETY: leave the child.
                    unsafe { libc::_exit(1) };
                }
                // UDP binds 0.0.0.0:0 (the new namespace's loopback is down).
                let any = libc::sockaddr_in {
                    sin_addr: libc::in_addr { s_addr: 0 },
                    ..sin(0)
                };
                let len = std::mem::size_of::<libc::sockaddr_in>() as u32;
                // A free port for one socket of the child's flood (the result does not matter).
                let bind_any = |fd: &OwnedFd| match kind {
                    Kind::Demo => drop(bind(fd, 0)),
                    // SAFETY: `any` is a valid sockaddr_in of `len` bytes.
                    _ => drop(unsafe {
                        libc::bind(
                            fd.as_raw_fd(),
                            (&any as *const libc::sockaddr_in).cast(),
                            len,
                        )
                    }),
                };
                if foreign == Foreign::ProcRead {
                    let lim = libc::rlimit {
                        rlim_cur: 6000,
                        rlim_max: 6000,
                    };
                    // SAFETY: `lim` is valid for reads.
                    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
                    let mut held = Vec::new();
                    for _ in 0..5000 {
                        let fd = kind.socket();
                        bind_any(&fd);
                        held.push(fd);
                    }
                    let path = match kind {
                        Kind::Demo => "/proc/net/rust_pf_demo",
                        _ => "/proc/net/udp",
                    };
                    started();
                    loop {
                        drop(std::fs::read(path));
                    }
                }
                started();
                loop {
                    let fd = kind.socket();
                    bind_any(&fd);
                }
            }
            pid => Some(pid),
        }
    } else {
        None
    };
    // SAFETY: the pipe's ends: wait for the child's byte, if there is a child (a child that
    // dies closes the last write end: the read returns 0).
    unsafe {
        libc::close(ready[1]);
        if child.is_some() {
            let mut c = 0u8;
            libc::read(ready[0], (&mut c as *mut u8).cast(), 1);
        }
        libc::close(ready[0]);
    }
    pin(0);
    let tx = kind.socket();
    let buf = [7u8; 64];
    let t = Instant::now();
    for _ in 0..N {
        assert!(sendto_raw(tx.as_raw_fd(), &buf, &addr) >= 0 || errno() == libc::EAGAIN);
    }
    let rate = N as f64 / t.elapsed().as_secs_f64();
    if let Some(pid) = child {
        // SAFETY: `pid` is our child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
    rate
}

/// `rpd.filter=NAME` on the kernel command line: run only the benchmarks whose metric contains
/// NAME (for a quick measurement with `qemu/run-vm.sh ... rpd.mode=bench rpd.filter=NAME`).
fn filter() -> Option<String> {
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix("rpd.filter="))
        .map(str::to_string)
}

/// `SO_SNDTIMEO` 0 (no timeout).
fn set_sndtimeo0(fd: &OwnedFd) -> Result<(), i32> {
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    // SAFETY: `tv` is valid for reads of its size.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// Connections held open during [`proc_reader_rates`].
const PROC_OPEN: usize = 5000;
/// How long each [`connect_accept_close_rate`] measurement runs.
const PROC_RUN: std::time::Duration = std::time::Duration::from_millis(1000);

/// connect + accept + close of one connection through `l` (at `addr`), in a loop for
/// [`PROC_RUN`] on vCPU 0: connections per second. Time-bounded rather than a fixed count: a
/// reader that holds up connect for a whole dump makes each cycle as long as a dump.
fn connect_accept_close_rate(fam: Fam, l: &OwnedFd, addr: &[u8]) -> f64 {
    pin(0);
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < PROC_RUN {
        let (c, s) = fam.connection(l, addr).expect("connection");
        drop(c);
        drop(s);
        n += 1;
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// A child process on vCPU 1 reading `path` from the start to the end in a loop (in this
/// namespace), started once it has read the file once; `None` when fork fails.
fn spawn_proc_reader(path: &'static str) -> Option<libc::pid_t> {
    let mut ready = [0; 2];
    // SAFETY: `ready` is valid for two ints.
    assert_eq!(unsafe { libc::pipe(ready.as_mut_ptr()) }, 0, "pipe");
    // SAFETY: the child only reads the file in a loop and never returns; it shares nothing it
    // writes.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        pin(1);
        drop(std::fs::read(path));
        // SAFETY: the write end of the pipe, inherited.
        unsafe { libc::write(ready[1], b"go".as_ptr().cast(), 1) };
        loop {
            drop(std::fs::read(path));
        }
    }
    // SAFETY: the pipe's ends: wait for the child's byte (a child that dies closes the last
    // write end: the read returns 0).
    unsafe {
        libc::close(ready[1]);
        if pid > 0 {
            let mut c = 0u8;
            libc::read(ready[0], (&mut c as *mut u8).cast(), 1);
        }
        libc::close(ready[0]);
    }
    (pid > 0).then_some(pid)
}

/// connect+accept+close rates of `fam` with [`PROC_OPEN`] connections open in the namespace:
/// with nobody reading the protocol's `/proc/net` file, and with another process reading it in
/// a loop, alternated over the repetitions; and each repetition's ratio (reading / nobody). A
/// file built under a lock that connect, bind or close take shows as a ratio far below 1 (both
/// share the 2 vCPUs: CPU contention alone lowers the reading figure a little).
fn proc_reader_rates(fam: Fam) -> [Vec<f64>; 3] {
    let path = match fam {
        Fam::Demo => "/proc/net/rust_pf_demo_seqpacket",
        Fam::Unix => "/proc/net/unix",
    };
    let (l, addr) = fam.listener(64).expect("listener");
    let held: Vec<(OwnedFd, OwnedFd)> = (0..PROC_OPEN)
        .map(|_| fam.connection(&l, &addr).expect("connection"))
        .collect();
    let mut out = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..REPS {
        let idle = connect_accept_close_rate(fam, &l, &addr);
        let reader = spawn_proc_reader(path);
        let reading = connect_accept_close_rate(fam, &l, &addr);
        if let Some(pid) = reader {
            // SAFETY: `pid` is our child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
        out[0].push(idle);
        out[1].push(reading);
        out[2].push(reading / idle);
    }
    drop(held);
    out
}

/// The metrics of [`proc_reader_rates`].
const PROC_METRICS: [(&str, &str); 3] = [
    (
        "SOCK_SEQPACKET connect+accept+close, 5,000 open, nobody reading /proc/net",
        "connections/s",
    ),
    (
        "SOCK_SEQPACKET connect+accept+close, 5,000 open, /proc/net read in a loop",
        "connections/s",
    ),
    (
        "SOCK_SEQPACKET connect+accept+close, /proc/net read in a loop / nobody reading",
        "ratio",
    ),
];

/// A figure: its metric, its unit, one measurement of a kind.
type Figure = (String, &'static str, Box<dyn Fn(Kind) -> f64>);

/// SOCK_SEQPACKET: family 18 against AF_UNIX, the repetitions alternated (family 18, then
/// AF_UNIX) so that both see the same machine.
fn seqpacket(want: &dyn Fn(&str) -> bool) {
    if let Err(why) = demo_available() {
        println!("BENCH-NOTE: SOCK_SEQPACKET of family 18 not measured: {why}");
    }
    let kinds: Vec<Kind> = if demo_available().is_ok() {
        vec![Kind::SeqDemo, Kind::SeqUnix]
    } else {
        vec![Kind::SeqUnix]
    };
    let mut figures: Vec<Figure> = vec![(
        "SOCK_SEQPACKET 64 B ping-pong".into(),
        "round trips/s",
        Box::new(pingpong_rate),
    )];
    for (size, label) in [(64, "64 B"), (1024, "1 KiB"), (65507, "64 KiB")] {
        figures.push((
            format!("SOCK_SEQPACKET one-way {label}"),
            "MB/s",
            Box::new(move |k| throughput(k, size)),
        ));
    }
    for (metric, unit, f) in figures {
        if !want(&metric) {
            continue;
        }
        let mut v: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
        for _ in 0..REPS {
            for (k, kind) in kinds.iter().enumerate() {
                v[k].push(f(*kind));
            }
        }
        for (kind, samples) in kinds.iter().zip(v) {
            report(&metric, unit, "higher", *kind, samples);
        }
    }
    if PROC_METRICS.iter().any(|(m, _)| want(m)) {
        for kind in &kinds {
            let fam = if *kind == Kind::SeqDemo {
                Fam::Demo
            } else {
                Fam::Unix
            };
            for ((metric, unit), samples) in PROC_METRICS.iter().zip(proc_reader_rates(fam)) {
                report(metric, unit, "higher", *kind, samples);
            }
        }
    }
}

/// `rpd.icount` on the kernel command line: the deterministic mode.
fn icount_mode() -> bool {
    std::fs::read_to_string("/proc/cmdline")
        .unwrap_or_default()
        .split_whitespace()
        .any(|w| w == "rpd.icount")
}

/// `rpd.profile` on the kernel command line (`make bench MODE=profile`): one block per figure
/// and kind between two marks for QEMU's rpdprof plugin (qemu/plugin/rpdprof.c) instead of the
/// measured blocks.
fn profile_mode() -> bool {
    std::fs::read_to_string("/proc/cmdline")
        .unwrap_or_default()
        .split_whitespace()
        .any(|w| w == "rpd.profile")
}

/// Set for the next [`per_op`] loop to run between two marks.
static PROFILE_NEXT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The mark of the rpdprof plugin: `xchg bx, bx` (66 87 db), which changes nothing; the plugin
/// counts the instructions executed between two marks.
fn mark() {
    // SAFETY: exchanges bx with itself: no register, flag or memory changes.
    unsafe {
        std::arch::asm!(
            ".byte 0x66, 0x87, 0xdb",
            options(nomem, nostack, preserves_flags)
        )
    };
}

/// Blocks measured per figure and kind in the deterministic mode (after one warm-up block that
/// is not reported); the figure is the median of the blocks.
const ICOUNT_BLOCKS: usize = 9;

/// Guest nanoseconds per operation of `calls` runs of `op`, each `per` operations (under
/// `-icount shift=0`: instructions, all of them: the kernel's, the program's, interrupts', other
/// tasks').
fn per_op(calls: usize, per: usize, mut op: impl FnMut()) -> f64 {
    let prof = PROFILE_NEXT.swap(false, std::sync::atomic::Ordering::Relaxed);
    if prof {
        mark();
    }
    let t = Instant::now();
    for _ in 0..calls {
        op();
    }
    let ns = t.elapsed().as_nanos() as f64;
    if prof {
        mark();
        println!("BENCH-PROFILE-OPS: {}", calls * per);
        if let Some(label) = PROFILE_LABEL.with(|l| l.borrow_mut().take()) {
            println!("BENCH-PROFILE: {label}");
        }
    }
    ns / (calls * per) as f64
}

/// `socket()` + `close()`: instructions per pair.
fn icount_socket_close(kind: Kind) -> f64 {
    per_op(2000, 1, || drop(kind.socket()))
}

/// One-way, one thread: 8 datagrams of `size` sent (`MSG_DONTWAIT`: a send that would block
/// fails the benchmark), then the 8 received, in a loop: instructions per datagram sent and
/// received. No scheduling in it: the cost of the send and receive paths alone. (8 stays under
/// AF_UNIX's queue limit, net.unix.max_dgram_qlen 10.)
fn icount_one_way(kind: Kind, size: usize) -> f64 {
    const BATCH: usize = 8;
    let (a, b) = kind.pair();
    for fd in [&a, &b] {
        let _ = setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 4 << 20);
        let _ = setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, 4 << 20);
    }
    let (ra, rb) = (a.as_raw_fd(), b.as_raw_fd());
    let tx = vec![0x5au8; size];
    let mut rx = vec![0u8; size + 1];
    let rounds = if size > 4096 { 8 } else { 128 };
    let mut round = || {
        for _ in 0..BATCH {
            // SAFETY: `tx` is valid for reads of its length.
            let n = unsafe { libc::send(ra, tx.as_ptr().cast(), size, libc::MSG_DONTWAIT) };
            assert_eq!(n, size as isize, "send: {}", ename(errno()));
        }
        for _ in 0..BATCH {
            assert_eq!(recv(rb, &mut rx), size as isize, "recv: {}", ename(errno()));
        }
    };
    round();
    per_op(rounds, BATCH, round)
}

/// 64 B ping-pong between two threads on the one vCPU: instructions per round trip (two sends,
/// two receives, two context switches).
fn icount_pingpong(kind: Kind) -> f64 {
    const ROUNDS: usize = 1000;
    let (a, b) = kind.pair();
    let (ra, rb) = (a.as_raw_fd(), b.as_raw_fd());
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut buf = [0u8; 64];
            for _ in 0..=ROUNDS {
                assert_eq!(recv(rb, &mut buf), 64);
                assert_eq!(send(rb, &buf), 64);
            }
        });
        let mut buf = [7u8; 64];
        // One round trip first: the echo thread is running and blocked in recv().
        assert_eq!(send(ra, &buf), 64);
        assert_eq!(recv(ra, &mut buf), 64);
        per_op(ROUNDS, 1, || {
            assert_eq!(send(ra, &buf), 64);
            assert_eq!(recv(ra, &mut buf), 64);
        })
    })
}

/// Instructions of the calling thread so far (`CLOCK_THREAD_CPUTIME_ID`: under `-icount
/// shift=0` its nanoseconds are the instructions it ran, interrupts in its time slices
/// included, other processes' not).
fn thread_ns() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for writes.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// Lets the work that setting up or tearing down thousands of sockets leaves behind end before
/// the next measurement: RCU callbacks freeing socks, inodes and files (Debian's lazy RCU
/// flushes them after 10 s) would otherwise be counted in the next figure (seen: a `sendto`
/// measured right after 10,000 sockets were closed cost twice as much). 11 s of idle guest time,
/// free for the host under `-icount sleep=off`.
fn settle() {
    std::thread::sleep(std::time::Duration::from_secs(11));
}

/// Unconnected `sendto()` of 64 B to a receiver, 8 at a time, each batch then received:
/// `batch` datagrams of 64 bytes sent from `t` to `addr` without waiting, then the `batch`
/// received on `r` (`buf`: at least 65 bytes, so a longer datagram would show).
fn send_then_receive(t: i32, r: i32, addr: &[u8], buf: &mut [u8], batch: usize) {
    for _ in 0..batch {
        assert_eq!(
            sendto_raw(t, &buf[..64], addr),
            64,
            "sendto: {}",
            ename(errno())
        );
    }
    for _ in 0..batch {
        assert_eq!(recv(r, buf), 64, "recv: {}", ename(errno()));
    }
}

/// `n` sockets of the kind, each bound to a port of its own (family 18's ports, or 127.0.0.1
/// ports for UDP), held open by the caller.
fn bound_sockets(kind: Kind, n: usize) -> Vec<OwnedFd> {
    (0..n)
        .map(|_| {
            let fd = kind.socket();
            match kind {
                Kind::Demo => bind(&fd, 0).expect("bind"),
                _ => drop(udp_bind(&fd)),
            }
            fd
        })
        .collect()
}

/// instructions of this thread per datagram sent and received, with `others` more sockets of the
/// kind bound (ports or 127.0.0.1 ports) in the namespace.
fn icount_sendto_with_bound(kind: Kind, others: usize) -> f64 {
    const BATCH: usize = 8;
    let held = bound_sockets(kind, others);
    let (rx, addr) = receiver(kind);
    let tx = kind.socket();
    let (t, r) = (tx.as_raw_fd(), rx.as_raw_fd());
    settle();
    let mut buf = [0u8; 65];
    let mut round = || {
        send_then_receive(t, r, &addr, &mut buf, BATCH);
    };
    round();
    profile_next(
        &format!("scaling: sendto 64 B (send+recv), {others} bound"),
        kind,
    );
    let v = per_op(64, BATCH, &mut round);
    drop(held);
    settle();
    v
}

/// In the profile mode, makes the next [`per_op`] loop a profile window named `metric`, `kind`
/// (the scaling figures: each setting its own window).
fn profile_next(metric: &str, kind: Kind) {
    if profile_mode() {
        PROFILE_NEXT.store(true, std::sync::atomic::Ordering::Relaxed);
        PROFILE_LABEL.with(|l| *l.borrow_mut() = Some(format!("{metric}\t{}", kind.name())));
    }
}

std::thread_local! {
    /// The name [`per_op`] prints for its profile window, when it is not the caller's to print.
    static PROFILE_LABEL: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// `SOCK_SEQPACKET` connect + accept + close of both ends with `open` more connections open on
/// the same listener: instructions per connection.
fn icount_connect_with_open(kind: Kind, open: usize) -> f64 {
    let fam = if kind == Kind::SeqDemo {
        Fam::Demo
    } else {
        Fam::Unix
    };
    let (l, addr) = fam.listener(64).expect("listener");
    let held: Vec<(OwnedFd, OwnedFd)> = (0..open)
        .map(|_| fam.connection(&l, &addr).expect("connection"))
        .collect();
    settle();
    profile_next(
        &format!("scaling: SOCK_SEQPACKET connect+accept+close, {open} open"),
        kind,
    );
    let v = per_op(200, 1, || {
        drop(fam.connection(&l, &addr).expect("connection"))
    });
    drop(held);
    settle();
    v
}

/// `per_op` on this thread's CPU time ([`thread_ns`]) instead of the guest clock. Its callers
/// run for 30–130 M instructions, dozens of timer ticks and scheduler slices: what the other
/// process leaves to softirq context lands in this thread's slices in proportion, not by the
/// phase of one or two slices (seen with 6 M: 0.997 and 1.318 for the same figure).
fn per_op_thread(calls: usize, per: usize, mut op: impl FnMut()) -> f64 {
    let t = thread_ns();
    for _ in 0..calls {
        op();
    }
    (thread_ns() - t) / (calls * per) as f64
}

/// The kinds' `/proc/net` files.
fn proc_path(kind: Kind) -> &'static str {
    match kind {
        Kind::Demo => "/proc/net/rust_pf_demo",
        Kind::Udp => "/proc/net/udp",
        Kind::SeqDemo => "/proc/net/rust_pf_demo_seqpacket",
        _ => "/proc/net/unix",
    }
}

/// This thread's instructions per operation of `op` (set up by `setup`, given 5,000 sockets or
/// connections of the kind) with nobody reading the kind's `/proc/net` file, and with another
/// process reading it in a loop on the same vCPU; returns both.
fn with_proc_reader(kind: Kind, op: &dyn Fn(Kind, bool) -> f64) -> (f64, f64) {
    let idle = op(kind, false);
    let reading = op(kind, true);
    (idle, reading)
}

/// Stops a reader started by [`spawn_proc_reader`].
fn stop_reader(pid: Option<libc::pid_t>) {
    if let Some(pid) = pid {
        // SAFETY: `pid` is our child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
}

/// sendto + recv of 64 B (as [`icount_sendto_with_bound`]) with 5,000 sockets of the kind bound,
/// `reading`: while another process reads the kind's `/proc/net` file in a loop.
fn sendto_proc(kind: Kind, reading: bool) -> f64 {
    const BATCH: usize = 8;
    let held = bound_sockets(kind, 5000);
    let (rx, addr) = receiver(kind);
    let tx = kind.socket();
    let (t, r) = (tx.as_raw_fd(), rx.as_raw_fd());
    settle();
    let reader = if reading {
        spawn_proc_reader(proc_path(kind))
    } else {
        None
    };
    let mut buf = [0u8; 65];
    let v = per_op_thread(4096, BATCH, || {
        send_then_receive(t, r, &addr, &mut buf, BATCH);
    });
    stop_reader(reader);
    drop(held);
    settle();
    v
}

/// `SOCK_SEQPACKET` connect + accept + close with 5,000 connections open, `reading`: while
/// another process reads the kind's `/proc/net` file in a loop.
fn connect_proc(kind: Kind, reading: bool) -> f64 {
    let fam = if kind == Kind::SeqDemo {
        Fam::Demo
    } else {
        Fam::Unix
    };
    let (l, addr) = fam.listener(64).expect("listener");
    let held: Vec<(OwnedFd, OwnedFd)> = (0..5000)
        .map(|_| fam.connection(&l, &addr).expect("connection"))
        .collect();
    settle();
    let reader = if reading {
        spawn_proc_reader(proc_path(kind))
    } else {
        None
    };
    let v = per_op_thread(1000, 1, || {
        drop(fam.connection(&l, &addr).expect("connection"))
    });
    stop_reader(reader);
    drop(held);
    settle();
    v
}

/// Scaling (issue 20 item 4), in the deterministic mode: each figure as a ratio of the same
/// operation's instructions in a large and a small setting, measured one after the other in
/// this run ([`ICOUNT_SCALING_BLOCKS`] times, alternated; the median of the ratios).
fn run_scaling(want: &dyn Fn(&str) -> bool) {
    let seq = demo_available().is_ok();
    let seqk: Vec<Kind> = if seq {
        vec![Kind::SeqDemo, Kind::SeqUnix]
    } else {
        vec![Kind::SeqUnix]
    };
    type Pair = Box<dyn Fn(Kind) -> (f64, f64)>;
    let figures: Vec<(&str, &str, Vec<Kind>, Pair)> = vec![
        (
            "scaling: sendto 64 B (send+recv), 10,000 / 10 other bound sockets",
            "ratio",
            vec![Kind::Demo, Kind::Udp],
            Box::new(|k| (icount_sendto_with_bound(k, 10), icount_sendto_with_bound(k, 10_000))),
        ),
        (
            "scaling: SOCK_SEQPACKET connect+accept+close, 10,000 / 10 open connections",
            "ratio",
            seqk.clone(),
            Box::new(|k| (icount_connect_with_open(k, 10), icount_connect_with_open(k, 10_000))),
        ),
        (
            "scaling: sendto 64 B (send+recv), 5,000 bound, /proc/net read in a loop / nobody reading (thread instructions)",
            "ratio",
            vec![Kind::Demo, Kind::Udp],
            Box::new(|k| with_proc_reader(k, &sendto_proc)),
        ),
        (
            "scaling: SOCK_SEQPACKET connect+accept+close, 5,000 open, /proc/net read in a loop / nobody reading (thread instructions)",
            "ratio",
            seqk,
            Box::new(|k| with_proc_reader(k, &connect_proc)),
        ),
    ];
    for (metric, unit, kinds, f) in figures {
        if !want(metric) {
            continue;
        }
        let mut v: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
        for _ in 0..ICOUNT_SCALING_BLOCKS {
            for (i, k) in kinds.iter().enumerate() {
                let (small, large) = f(*k);
                v[i].push(large / small);
            }
        }
        for (kind, samples) in kinds.iter().zip(v) {
            report(metric, unit, "lower", *kind, samples);
        }
    }
}

/// Repetitions of each scaling figure (each sets up thousands of sockets: fewer than
/// [`ICOUNT_BLOCKS`]).
const ICOUNT_SCALING_BLOCKS: usize = 3;

/// The deterministic mode (`rpd.icount`): the figures of the targets, in guest instructions per
/// operation, each the median of [`ICOUNT_BLOCKS`] blocks, the kinds alternated block by block
/// (family 18, AF_UNIX, UDP, family 18, ...) after one warm-up block each. Returns 0.
fn run_icount(want: &dyn Fn(&str) -> bool) -> i32 {
    type Op = Box<dyn Fn(Kind) -> f64>;
    // What the kernel still does after boot (deferred work, the first RCU grace periods, Debian's
    // kernel's more) ends first: 10 s (`rpd.settle=S`) of idle guest time, which under -icount
    // sleep=off costs the host nothing (the clock jumps to the next timer).
    let settle = std::fs::read_to_string("/proc/cmdline")
        .unwrap_or_default()
        .split_whitespace()
        .find_map(|w| w.strip_prefix("rpd.settle=")?.parse().ok())
        .unwrap_or(10);
    std::thread::sleep(std::time::Duration::from_secs(settle));
    let seq = demo_available().is_ok();
    if !seq {
        println!("BENCH-NOTE: SOCK_SEQPACKET of family 18 not measured");
    }
    let dgram = vec![Kind::Demo, Kind::Unix, Kind::Udp];
    let seqk = if seq {
        vec![Kind::SeqDemo, Kind::SeqUnix]
    } else {
        vec![Kind::SeqUnix]
    };
    let figures: Vec<(&str, Vec<Kind>, Op)> = vec![
        ("socket+close", dgram.clone(), Box::new(icount_socket_close)),
        (
            "one-way 64 B (send+recv)",
            dgram.clone(),
            Box::new(|k| icount_one_way(k, 64)),
        ),
        ("64 B ping-pong", dgram.clone(), Box::new(icount_pingpong)),
        (
            "one-way 64 KiB (send+recv)",
            dgram,
            Box::new(|k| icount_one_way(k, 65507)),
        ),
        (
            "SOCK_SEQPACKET socket+close",
            seqk.clone(),
            Box::new(icount_socket_close),
        ),
        (
            "SOCK_SEQPACKET one-way 64 B (send+recv)",
            seqk.clone(),
            Box::new(|k| icount_one_way(k, 64)),
        ),
        (
            "SOCK_SEQPACKET 64 B ping-pong",
            seqk.clone(),
            Box::new(icount_pingpong),
        ),
        (
            "SOCK_SEQPACKET one-way 64 KiB (send+recv)",
            seqk,
            Box::new(|k| icount_one_way(k, 65507)),
        ),
    ];
    for (metric, kinds, f) in figures {
        if !want(metric) {
            continue;
        }
        for k in &kinds {
            f(*k);
        }
        if profile_mode() {
            for k in &kinds {
                PROFILE_NEXT.store(true, std::sync::atomic::Ordering::Relaxed);
                f(*k);
                println!("BENCH-PROFILE: {metric}\t{}", k.name());
            }
            continue;
        }
        let mut v: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
        for _ in 0..ICOUNT_BLOCKS {
            for (i, k) in kinds.iter().enumerate() {
                v[i].push(f(*k));
            }
        }
        for (kind, samples) in kinds.iter().zip(v) {
            report(metric, "instructions/op", "lower", *kind, samples);
        }
    }
    if !profile_mode() {
        run_scaling(want);
    } else {
        // The scaling figures' two settings, one window each (bench-profile.py names them
        // "scaling: ..., N bound" and "..., N open").
        for k in [Kind::Demo, Kind::Udp] {
            for n in [10, 10_000] {
                icount_sendto_with_bound(k, n);
            }
        }
        for k in [Kind::SeqDemo, Kind::SeqUnix] {
            for n in [10, 10_000] {
                icount_connect_with_open(k, n);
            }
        }
    }
    0
}

/// Runs every benchmark; returns 0.
pub fn run() -> i32 {
    let only = filter();
    let want = |metric: &str| only.as_deref().is_none_or(|f| metric.contains(f));
    pin(0);
    let lim = libc::rlimit {
        rlim_cur: 30_000,
        rlim_max: 30_000,
    };
    // SAFETY: `lim` is valid for reads.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    ensure_loaded().expect("load the module");
    if icount_mode() {
        return run_icount(&want);
    }
    seqpacket(&want);
    for kind in [Kind::Demo, Kind::Udp] {
        let metric = "unconnected sendto 64 B, 2 threads to 2 receivers";
        if want(metric) {
            let v = (0..REPS).map(|_| unconnected_sendto_rate(kind)).collect();
            report(metric, "datagrams/s", "higher", kind, v);
        }
        for (foreign, metric) in [
            (Foreign::Idle, "sendto 64 B, other netns idle"),
            (
                Foreign::BindClose,
                "sendto 64 B, other netns flooding bind+close",
            ),
            (
                Foreign::ProcRead,
                "sendto 64 B, other netns reading its /proc/net (5,000 sockets)",
            ),
        ] {
            if want(metric) {
                let v = (0..REPS)
                    .map(|_| sendto_under_foreign_load(kind, foreign))
                    .collect();
                report(metric, "datagrams/s", "higher", kind, v);
            }
        }
    }
    if only.is_some() {
        return 0;
    }
    for kind in KINDS {
        for threads in [1, 2] {
            let v = (0..REPS)
                .map(|_| socket_close_rate(kind, threads))
                .collect();
            report(
                &format!("socket+close, {threads} thread(s)"),
                "pairs/s",
                "higher",
                kind,
                v,
            );
        }
        let v = (0..REPS).map(|_| pingpong_rate(kind)).collect();
        report("64 B ping-pong", "round trips/s", "higher", kind, v);
        for (size, label) in [(64, "64 B"), (1024, "1 KiB"), (65507, "64 KiB")] {
            let v = (0..REPS).map(|_| throughput(kind, size)).collect();
            report(&format!("one-way {label}"), "MB/s", "higher", kind, v);
        }
        let v = (0..REPS).map(|_| loaded_socket_ms(kind)).collect();
        report("socket(), family loaded", "ms", "lower", kind, v);
        let v = (0..3).map(|_| bytes_per_socket(kind)).collect();
        report("slab per open socket", "bytes", "lower", kind, v);
    }
    report(
        "socket(), autoload",
        "ms",
        "lower",
        Kind::Demo,
        autoload_ms(),
    );
    0
}
