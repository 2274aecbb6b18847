// SPDX-License-Identifier: GPL-2.0

//! Stress, bounded in count and time: module load/unload cycles, rmmod racing live sockets,
//! 10,000 sockets at once, blocked readers racing shutdown/close, a flooded small receive
//! buffer. Each test prints a `# ` line with what it did and ends by checking that nothing is
//! left behind: refcnt 0 (or the module unloadable), `sockets: used` and the slab back to their
//! baseline.
//!
//! `RPD_STRESS=full` (kernel command line `rpd.stress=full`, `make stress`) selects the long
//! mode; the default is the short one `make check` runs.

use crate::dgram::{counter, read_proc};
use crate::ktap::{Outcome, Test, TestResult};
use crate::seqp::*;
use crate::sys::*;
use crate::{check, check_eq};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every test, in order.
pub const TESTS: &[Test] = &[
    Test {
        name: "modprobe_rmmod_cycles",
        run: modprobe_rmmod_cycles,
    },
    Test {
        name: "rmmod_races_live_sockets",
        run: rmmod_races_live_sockets,
    },
    Test {
        name: "ten_thousand_sockets",
        run: ten_thousand_sockets,
    },
    Test {
        name: "blocked_reader_races_shutdown_close",
        run: blocked_reader_races_shutdown_close,
    },
    Test {
        name: "rcvbuf_flood_bounded",
        run: rcvbuf_flood_bounded,
    },
    Test {
        name: "seqpacket_rmmod_races_live_connections",
        run: seqpacket_rmmod_races_live_connections,
    },
    Test {
        name: "seqpacket_ten_thousand_connections",
        run: seqpacket_ten_thousand_connections,
    },
    Test {
        name: "seqpacket_blocked_calls_race_close_shutdown",
        run: seqpacket_blocked_calls_race_close_shutdown,
    },
];

/// Whether the long mode was asked for (`RPD_STRESS=full`).
pub fn full() -> bool {
    std::env::var("RPD_STRESS").is_ok_and(|v| v == "full")
}

/// `short` in the default mode, `long` in the full one.
pub fn pick<T>(short: T, long: T) -> T {
    if full() {
        long
    } else {
        short
    }
}

/// A `# ` diagnostic line (KTAP) that the host runner ignores but shows in the log.
pub fn report(test: &str, what: String) {
    println!("# {test}: {what}");
}

/// Active objects of our proto's slab cache (`RUST_PF_DEMO` in /proc/slabinfo), when the
/// kernel has /proc/slabinfo and the module is loaded. The cache is shrunk first where SLUB's
/// sysfs has it: 7.3's per-CPU sheaves keep freed objects, counted as active, until flushed
/// (`kmem_cache_shrink()` flushes them).
pub fn proto_slab_objs() -> Option<u64> {
    let _ = std::fs::write("/sys/kernel/slab/RUST_PF_DEMO/shrink", "1");
    let s = std::fs::read_to_string("/proc/slabinfo").ok()?;
    s.lines()
        .find(|l| l.starts_with("RUST_PF_DEMO "))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

/// What a stress test must come back to.
pub struct Baseline {
    pub sockets: u64,
    pub slab_kb: u64,
}

/// Slab growth still counted as "back near baseline": caches keep some freed objects (per-CPU
/// partial slabs), the dentry/inode caches are shrunk lazily. A leak of the sockets a test
/// creates is far above it (10,000 sockets are tens of MB).
const SLAB_SLACK_KB: u64 = 4096;

/// Whether the kernel runs KASAN (the debug flavour): its quarantine keeps freed objects
/// allocated for a while (up to 1/32 of memory), so the slab cannot come back at once and our
/// cache's objects are not 0 until the quarantine drains. There the exact checks are
/// sockstat, refcnt, the module's unload (kmem_cache_destroy reports any object left in our
/// proto's cache) and kmemleak.
pub fn kasan() -> bool {
    static K: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *K.get_or_init(|| kernel_log().is_ok_and(|log| log.contains("KernelAddressSanitizer")))
}

/// The slab slack for this kernel, in kB.
fn slab_slack_kb() -> u64 {
    if !kasan() {
        return SLAB_SLACK_KB;
    }
    SLAB_SLACK_KB + mem_total_kb().unwrap_or(0) / 32
}

impl Baseline {
    pub fn take() -> Result<Self, String> {
        Ok(Self {
            sockets: sockets_used()?,
            slab_kb: slab_kb()?,
        })
    }

    /// Waits up to 3 s for sockstat and the slab to come back; the module must hold no
    /// reference and unload (its proto's cache is destroyed: SLUB reports any object left in
    /// it, which fails the run's kernel log check). Returns a description for the report line.
    pub fn check(&self) -> Result<String, String> {
        let deadline = Instant::now() + Duration::from_secs(3);
        let slack = slab_slack_kb();
        loop {
            let (used, slab) = (sockets_used()?, slab_kb()?);
            let refs = refcnt();
            let objs = proto_slab_objs();
            let ok = used == self.sockets
                && slab <= self.slab_kb + slack
                && matches!(refs, None | Some(0))
                && (kasan() || matches!(objs, None | Some(0)));
            if ok && refs.is_some() {
                rmmod().map_err(|err| format!("rmmod at the end: {}", ename(err)))?;
            }
            if ok {
                return Ok(format!(
                    "after: sockets used {used} (baseline {}), Slab {slab} kB (baseline {} kB), refcnt {}, proto slab objs {}{}",
                    self.sockets,
                    self.slab_kb,
                    refs.map_or("- (unloaded)".into(), |r| format!("{r} (then rmmod ok)")),
                    objs.map_or("n/a".into(), |o| o.to_string()),
                    if kasan() {
                        format!(" (KASAN: slab slack {slack} kB for the quarantine)")
                    } else {
                        String::new()
                    },
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "not back to baseline: sockets used {used} (baseline {}), Slab {slab} kB (baseline {} kB, slack {slack}), refcnt {refs:?}, RUST_PF_DEMO slab objs {objs:?}",
                    self.sockets, self.slab_kb
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Sends `data` to the socket's own port and reads it back, byte for byte.
fn self_exchange(fd: &OwnedFd, port: u32, data: &[u8]) -> Result<(), String> {
    let n = sendto(fd, data, Some(port), libc::MSG_DONTWAIT).map_err(e("sendto self"))?;
    if n != data.len() {
        return Err(format!("sendto self: {n} of {} bytes", data.len()));
    }
    let mut buf = [0u8; 256];
    let r = recvmsg(fd, &mut buf, libc::MSG_DONTWAIT).map_err(e("recvmsg self"))?;
    if buf[..r.n] != *data || r.from.port != port {
        return Err(format!(
            "self datagram: got {} bytes from port {}, expected {} bytes from {port}",
            r.n,
            r.from.port,
            data.len()
        ));
    }
    Ok(())
}

/// Module load/unload through the real path: `socket()` autoloads (request_module → modprobe),
/// sockets and a datagram exchange, close, `delete_module`.
fn modprobe_rmmod_cycles() -> TestResult {
    const T: &str = "modprobe_rmmod_cycles";
    let cycles = pick(30, 1000);
    ensure_unloaded()?;
    let base = Baseline::take()?;
    let start = Instant::now();
    for i in 1..=cycles {
        check!(!module_loaded(), "cycle {i}: loaded before socket()");
        let a =
            demo_socket().map_err(|err| format!("cycle {i}: autoload socket(): {}", ename(err)))?;
        check!(
            module_loaded(),
            "cycle {i}: socket() did not load the module"
        );
        let (b, pb) = bound_socket(0).map_err(|m| format!("cycle {i}: {m}"))?;
        check_eq!(
            refcnt(),
            Some(2 * REFS_PER_SOCKET),
            format!("cycle {i}: refcnt with 2 sockets")
        );
        let tag = (i as u32).to_ne_bytes();
        check_eq!(
            sendto(&a, &tag, Some(pb), 0).map_err(ename),
            Ok(4),
            format!("cycle {i}: sendto")
        );
        let mut buf = [0u8; 8];
        let r = recvmsg(&b, &mut buf, libc::MSG_DONTWAIT).map_err(e("recvmsg"))?;
        check_eq!(&buf[..r.n], &tag[..], format!("cycle {i}: payload"));
        check_eq!(
            rmmod().map_err(ename),
            Err(ename(libc::EWOULDBLOCK)),
            format!("cycle {i}: rmmod with sockets open")
        );
        drop((a, b));
        check_eq!(refcnt(), Some(0), format!("cycle {i}: refcnt after close"));
        check_eq!(rmmod().map_err(ename), Ok(()), format!("cycle {i}: rmmod"));
    }
    let secs = start.elapsed().as_secs_f64();
    let after = base.check()?;
    report(
        T,
        format!(
            "{cycles} autoload/rmmod cycles (2 sockets + 1 datagram each) in {secs:.1} s; {after}"
        ),
    );
    Ok(())
}

/// Counts of the rmmod race.
#[derive(Default)]
struct RaceCounts {
    sockets: AtomicU64,
    datagrams: AtomicU64,
    eafnosupport: AtomicU64,
    held_checks: AtomicU64,
}

/// What the rmmod thread of a race saw.
#[derive(Default)]
struct RmmodTally {
    /// Successful unloads.
    unloads: u64,
    /// Refused with EWOULDBLOCK (the module in use).
    refused: u64,
    /// EBUSY: the module was still coming up or going away.
    busy: u64,
    /// ENOENT: not loaded at that moment.
    absent: u64,
}

/// A race of workers using a module (3 threads, each calling its round with `n` = 1, 2, ...)
/// against a thread unloading it.
struct RmmodRace<'a> {
    /// How long the race runs at least.
    secs: u64,
    /// The unload call, as failure messages name it (`"{what}: unexpected EPERM"`).
    what: &'a str,
    /// Unloads the module.
    rmmod: &'a dyn Fn() -> Result<(), i32>,
    /// The sockets (connections) the workers must have made for the race to be covered.
    min_sockets: u64,
}

impl RmmodRace<'_> {
    /// Starts 3 workers, each calling `round(w, n, counts)` (worker `w`, its `n`-th round) until
    /// the race stops or a round fails. Meanwhile loops `rmmod` (1 ms apart) for `secs`, then
    /// on until the race is covered (an unload, a refusal and `min_sockets` sockets: a loaded
    /// host and the debug kernel create sockets slowly), up to 10 times as long: the bound is
    /// on coverage, not on speed. After each unload, `after_unload(unloads so far)` (autoload
    /// again, ...). A refusal other than EWOULDBLOCK, EBUSY or ENOENT, or an error of
    /// `after_unload`, ends the race and fails the test, as a worker's error or panic does.
    /// Returns the tally and the seconds the race took.
    fn run(
        &self,
        counts: &Arc<RaceCounts>,
        round: impl Fn(u32, u32, &RaceCounts) -> Result<(), String> + Clone + Send + 'static,
        mut after_unload: impl FnMut(u64) -> Result<(), String>,
    ) -> Result<(RmmodTally, f64), Outcome> {
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..3u32)
            .map(|w| {
                let (stop, counts, round) = (stop.clone(), counts.clone(), round.clone());
                std::thread::spawn(move || -> Result<(), String> {
                    let mut n = 0u32;
                    while !stop.load(Relaxed) {
                        n += 1;
                        round(w, n, &counts)?;
                    }
                    Ok(())
                })
            })
            .collect();
        let mut tally = RmmodTally::default();
        let covered = |tally: &RmmodTally| {
            tally.unloads > 0
                && tally.refused > 0
                && counts.sockets.load(Relaxed) >= self.min_sockets
        };
        let start = Instant::now();
        let mut failure = None;
        while start.elapsed() < Duration::from_secs(self.secs)
            || (!covered(&tally) && start.elapsed() < Duration::from_secs(10 * self.secs))
        {
            match (self.rmmod)() {
                Ok(()) => {
                    tally.unloads += 1;
                    if let Err(m) = after_unload(tally.unloads) {
                        failure = Some(m);
                        break;
                    }
                }
                Err(libc::EWOULDBLOCK) => tally.refused += 1,
                Err(libc::EBUSY) => tally.busy += 1,
                Err(libc::ENOENT) => tally.absent += 1,
                Err(err) => {
                    failure = Some(format!("{}: unexpected {}", self.what, ename(err)));
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        stop.store(true, Relaxed);
        for (w, h) in workers.into_iter().enumerate() {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(m)) => return Err(Outcome::Fail(m)),
                Err(_) => return Err(Outcome::Fail(format!("worker {w} panicked"))),
            }
        }
        if let Some(m) = failure {
            return Err(Outcome::Fail(m));
        }
        Ok((tally, start.elapsed().as_secs_f64()))
    }
}

/// Workers create sockets, exchange datagrams and close while another thread loops
/// `delete_module` + autoload. A refused rmmod must be EWOULDBLOCK (EBUSY while the module is
/// still coming up or going away); a socket that exists keeps its module and keeps working.
fn rmmod_races_live_sockets() -> TestResult {
    const T: &str = "rmmod_races_live_sockets";
    const MIN_SOCKETS: u64 = 20;
    let secs = pick(3, 60);
    ensure_unloaded()?;
    let base = Baseline::take()?;
    let counts = Arc::new(RaceCounts::default());
    let worker = move |w: u32, n: u32, counts: &RaceCounts| -> Result<(), String> {
        let fd = match demo_socket() {
            Ok(fd) => fd,
            // The module was going away: __sock_create's try_module_get(pf->owner)
            // fails and the autoload found it still listed.
            Err(libc::EAFNOSUPPORT) => {
                counts.eafnosupport.fetch_add(1, Relaxed);
                return Ok(());
            }
            Err(err) => return Err(format!("worker {w}: socket: {}", ename(err))),
        };
        counts.sockets.fetch_add(1, Relaxed);
        if !module_loaded() {
            return Err(format!("worker {w}: socket open but module not loaded"));
        }
        bind(&fd, 0).map_err(e("bind"))?;
        let (addr, _) = getsockname(&fd).map_err(e("getsockname"))?;
        let data = [w as u8, n as u8, (n >> 8) as u8, 0xa5];
        self_exchange(&fd, addr.port, &data).map_err(|m| format!("worker {w}: {m}"))?;
        counts.datagrams.fetch_add(1, Relaxed);
        if w == 0 && n.is_multiple_of(16) {
            // Hold this one for a while, checking it keeps working while rmmod runs.
            for k in 0..20u8 {
                std::thread::sleep(Duration::from_millis(1));
                self_exchange(&fd, addr.port, &[k; 16]).map_err(|m| format!("held socket: {m}"))?;
                if !module_loaded() {
                    return Err("module unloaded under a held socket".into());
                }
                counts.held_checks.fetch_add(1, Relaxed);
            }
        }
        drop(fd);
        // Leave windows with no socket open, so that rmmod sometimes succeeds.
        std::thread::sleep(Duration::from_micros(200 * (n % 8) as u64));
        Ok(())
    };
    let race = RmmodRace {
        secs,
        what: "rmmod",
        rmmod: &rmmod,
        min_sockets: MIN_SOCKETS,
    };
    let (tally, el) = race.run(&counts, worker, |_| {
        // Autoload again (the workers do too).
        match demo_socket() {
            Ok(_) | Err(libc::EAFNOSUPPORT) => Ok(()),
            Err(err) => Err(format!("autoload after rmmod: {}", ename(err))),
        }
    })?;
    let (unloads, refused, busy, absent) = (tally.unloads, tally.refused, tally.busy, tally.absent);
    let c = &counts;
    check!(unloads > 0, "rmmod never succeeded in {el:.1} s");
    check!(refused > 0, "rmmod was never refused in {el:.1} s");
    check!(
        // A debug kernel under TCG autoloads in about 0.5 s: tens, not thousands.
        c.sockets.load(Relaxed) >= MIN_SOCKETS,
        "only {} sockets created",
        c.sockets.load(Relaxed)
    );
    check_eq!(
        refcnt().unwrap_or(0),
        0,
        "refcnt after the race (module loaded or not)"
    );
    ensure_unloaded()?;
    let after = base.check()?;
    report(
        T,
        format!(
            "{el:.1} s, 3 workers: {} sockets, {} datagrams, {} held-socket checks, {} socket() EAFNOSUPPORT (module going away); rmmod thread: {unloads} unloads, {refused} EWOULDBLOCK, {busy} EBUSY, {absent} ENOENT; {after}",
            c.sockets.load(Relaxed),
            c.datagrams.load(Relaxed),
            c.held_checks.load(Relaxed),
            c.eafnosupport.load(Relaxed)
        ),
    );
    Ok(())
}

/// Raises RLIMIT_NOFILE (soft and hard) to at least `n`.
fn raise_nofile(n: u64) -> Result<(), String> {
    let lim = libc::rlimit {
        rlim_cur: n,
        rlim_max: n,
    };
    // SAFETY: `lim` is a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(format!("setrlimit NOFILE {n}: {}", ename(errno())));
    }
    Ok(())
}

fn nofile() -> libc::rlimit {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is valid for writes.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    lim
}

/// 10,000 sockets open and bound at once (distinct ports, all listed in /proc/net), a datagram
/// through a sample of them, then all closed at once.
fn ten_thousand_sockets() -> TestResult {
    const T: &str = "ten_thousand_sockets";
    const N: usize = 10_000;
    ensure_loaded()?;
    let base = Baseline::take()?;
    let old = nofile();
    raise_nofile(N as u64 + 64)?;
    let result = (|| -> TestResult {
        let start = Instant::now();
        let mut fds = Vec::with_capacity(N);
        for i in 0..N {
            let (fd, port) = bound_socket(0).map_err(|m| format!("socket #{i}: {m}"))?;
            fds.push((fd, port));
        }
        let opened = start.elapsed().as_secs_f64();
        check_eq!(
            refcnt(),
            Some(N as i64 * REFS_PER_SOCKET),
            "refcnt with 10,000 sockets"
        );
        check_eq!(
            sockets_used()?,
            base.sockets + N as u64,
            "sockets used with 10,000 open"
        );
        let mut ports: Vec<u32> = fds.iter().map(|f| f.1).collect();
        ports.sort_unstable();
        ports.dedup();
        check_eq!(ports.len(), N, "distinct ports");
        let (_, lines) = read_proc()?;
        check_eq!(lines.len(), N, "socket lines in /proc/net/rust_pf_demo");
        for k in (0..N).step_by(97) {
            let (ref fd, port) = fds[k];
            let (ref other, _) = fds[(k + 1) % N];
            let data = (port as u64).to_ne_bytes();
            check_eq!(
                sendto(other, &data, Some(port), 0).map_err(ename),
                Ok(8),
                format!("sendto port {port}")
            );
            let mut buf = [0u8; 16];
            let r = recvmsg(fd, &mut buf, libc::MSG_DONTWAIT).map_err(e("recvmsg"))?;
            check_eq!(&buf[..r.n], &data[..], format!("payload at port {port}"));
        }
        let slab_full = slab_kb()?;
        let t = Instant::now();
        drop(fds);
        let closed = t.elapsed().as_secs_f64();
        check_eq!(refcnt(), Some(0), "refcnt after mass close");
        let after = base.check()?;
        report(
            T,
            format!(
                "{N} sockets opened+bound in {opened:.2} s (Slab {} -> {slab_full} kB), closed in {closed:.2} s; {after}",
                base.slab_kb
            ),
        );
        Ok(())
    })();
    // SAFETY: `old` came from getrlimit.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) };
    result?;
    ensure_unloaded()?;
    Ok(())
}

/// A reader blocked in `recv()` while another thread shuts the socket down, sends it a
/// datagram, or closes its descriptor (then shuts a dup down). The reader must always come
/// back (0 bytes, the exact datagram, or EBADF when the close came before the call) well
/// before its 5 s SO_RCVTIMEO: a timeout is a lost wake-up.
fn blocked_reader_races_shutdown_close() -> TestResult {
    const T: &str = "blocked_reader_races_shutdown_close";
    let iterations = pick(100, 3000);
    ensure_loaded()?;
    let base = Baseline::take()?;
    let mut outcomes = [0u64; 4]; // 0 bytes, datagram, EBADF, (unused)
    let start = Instant::now();
    for i in 0..iterations {
        let variant = i % 3;
        let (fd, port) = bound_socket(0)?;
        set_rcvtimeo(&fd, 5000)?;
        let raw = fd.as_raw_fd();
        let dup = {
            // SAFETY: dup of an fd we own.
            let d = unsafe { libc::dup(raw) };
            check!(d >= 0, "dup: {}", ename(errno()));
            // SAFETY: `d` is a new descriptor nobody else owns.
            unsafe { OwnedFd::from_raw_fd(d) }
        };
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            let t = Instant::now();
            let r = raw_recv(raw, &mut buf, 0);
            (r, buf, t.elapsed())
        });
        // Vary the moment: sometimes before the reader blocks, sometimes after.
        std::thread::sleep(Duration::from_micros((i as u64 * 37) % 400));
        let payload = (i as u32).to_ne_bytes();
        let fd_closed = match variant {
            0 => {
                shutdown(&dup, libc::SHUT_RDWR).map_err(e("shutdown"))?;
                false
            }
            1 => {
                let (s, _) = bound_socket(0)?;
                let sender = std::thread::spawn(move || sendto(&s, &payload, Some(port), 0));
                shutdown(&dup, libc::SHUT_RD).map_err(e("shutdown"))?;
                let sent = sender.join().map_err(|_| "sender panicked".to_string())?;
                check_eq!(sent.map_err(ename), Ok(4), format!("iteration {i}: sendto"));
                false
            }
            _ => {
                // Close the reader's descriptor (it does not wake the reader: the call holds
                // the file), then wake it through the dup.
                drop(fd);
                shutdown(&dup, libc::SHUT_RDWR).map_err(e("shutdown"))?;
                true
            }
        };
        let (r, buf, took) = reader
            .join()
            .map_err(|_| format!("iteration {i}: reader panicked"))?;
        check!(
            took < Duration::from_secs(4),
            "iteration {i} (variant {variant}): reader took {took:?}, result {r:?}: lost wake-up"
        );
        match r {
            Ok(0) => outcomes[0] += 1,
            Ok(4) if variant == 1 && buf[..4] == payload => outcomes[1] += 1,
            Err(libc::EBADF) if fd_closed => outcomes[2] += 1,
            other => {
                return Err(Outcome::Fail(format!(
                    "iteration {i} (variant {variant}): reader got {other:?}"
                )))
            }
        }
        drop(dup);
    }
    let secs = start.elapsed().as_secs_f64();
    let after = base.check()?;
    report(
        T,
        format!(
            "{iterations} iterations in {secs:.1} s: reader woke with 0 bytes {}, datagram {}, EBADF (closed first) {}; {after}",
            outcomes[0], outcomes[1], outcomes[2]
        ),
    );
    Ok(())
}

/// The rx_queue (bytes charged) of `port` in /proc/net/rust_pf_demo, and its drops.
fn proc_queue(port: u32) -> Result<(u64, u64), String> {
    let (_, lines) = read_proc()?;
    lines
        .iter()
        .find(|l| l.0 == port)
        .map(|l| (l.2, l.3))
        .ok_or_else(|| format!("port {port} not in /proc/net/rust_pf_demo"))
}

/// A receiver with a small SO_RCVBUF: one sender alone never puts the queue more than one
/// datagram over the buffer; flooded by two concurrent senders while a monitor reads its queue
/// from /proc/net/rust_pf_demo, never more than one datagram per sender over it; every
/// datagram is either received or counted as dropped.
fn rcvbuf_flood_bounded() -> TestResult {
    const T: &str = "rcvbuf_flood_bounded";
    const LEN: usize = 1000;
    let per_sender = pick(3_000u64, 100_000);
    ensure_loaded()?;
    let base = Baseline::take()?;
    let (_, c0) = (0, read_proc()?.0);
    let (rx, prx) = bound_socket(0)?;
    setsockopt_int(&rx, libc::SOL_SOCKET, libc::SO_RCVBUF, 4096).map_err(e("SO_RCVBUF"))?;
    let rcvbuf = getsockopt_int(&rx, libc::SOL_SOCKET, libc::SO_RCVBUF).map_err(e("rcvbuf"))?;
    // What one datagram is charged.
    let (probe, _) = bound_socket(0)?;
    sendto(&probe, &[0u8; LEN], Some(prx), 0).map_err(e("probe sendto"))?;
    let (one, _) = proc_queue(prx)?;
    check!(
        one > LEN as u64,
        "one {LEN}-byte datagram charged {one} bytes"
    );
    recvmsg(&rx, &mut [0u8; LEN], libc::MSG_DONTWAIT).map_err(e("probe recv"))?;
    // One sender, nobody reading: the queue stops at most one datagram above the buffer.
    for _ in 0..50 {
        sendto(&probe, &[1u8; LEN], Some(prx), 0).map_err(e("single sendto"))?;
    }
    let (single, drops_before) = proc_queue(prx)?;
    check!(
        single <= rcvbuf as u64 + one,
        "one sender: rx_queue {single} bytes, SO_RCVBUF {rcvbuf} + one datagram {one}"
    );
    check!(
        drops_before > 0,
        "one sender: 50 datagrams queued, none dropped"
    );
    while recvmsg(&rx, &mut [0u8; LEN], libc::MSG_DONTWAIT).is_ok() {}
    drop(probe);
    // Concurrent senders: sock_queue_rcv_skb() checks sk_rmem_alloc < sk_rcvbuf and charges
    // afterwards (not atomically, unlike UDP's __udp_enqueue_schedule_skb), so each sender in
    // flight can put one datagram over: the bound is one datagram per concurrent sender.
    const SENDERS: u64 = 2;
    let limit = rcvbuf as u64 + SENDERS * one;
    let stop = Arc::new(AtomicBool::new(false));
    let max_seen = Arc::new(AtomicU64::new(0));
    let monitor = {
        let (stop, max_seen) = (stop.clone(), max_seen.clone());
        std::thread::spawn(move || -> Result<u64, String> {
            let mut samples = 0;
            while !stop.load(Relaxed) {
                let (q, _) = proc_queue(prx)?;
                max_seen.fetch_max(q, Relaxed);
                samples += 1;
            }
            Ok(samples)
        })
    };
    let start = Instant::now();
    let senders: Vec<_> = (0..SENDERS as u8)
        .map(|s| {
            std::thread::spawn(move || -> Result<(), String> {
                let (fd, _) = bound_socket(0)?;
                for _ in 0..per_sender {
                    let r = sendto(&fd, &[s; LEN], Some(prx), libc::MSG_DONTWAIT);
                    if r != Ok(LEN) {
                        return Err(format!("sender {s}: {:?}", r.map_err(ename)));
                    }
                }
                Ok(())
            })
        })
        .collect();
    // A slow reader: takes some, leaves the queue full most of the time.
    let mut received = 0u64;
    let mut buf = [0u8; 2 * LEN];
    while senders.iter().any(|h| !h.is_finished()) {
        if let Ok(r) = recvmsg(&rx, &mut buf, libc::MSG_DONTWAIT) {
            check_eq!(r.n, LEN, "datagram length");
            received += 1;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    for h in senders {
        h.join().map_err(|_| "sender panicked".to_string())??;
    }
    while let Ok(r) = recvmsg(&rx, &mut buf, libc::MSG_DONTWAIT) {
        check_eq!(r.n, LEN, "datagram length");
        received += 1;
    }
    stop.store(true, Relaxed);
    let samples = monitor
        .join()
        .map_err(|_| "monitor panicked".to_string())??;
    let secs = start.elapsed().as_secs_f64();
    let sent = SENDERS * per_sender;
    let max = max_seen.load(Relaxed);
    let (q_end, drops_end) = proc_queue(prx)?;
    let drops = drops_end - drops_before;
    let c1 = read_proc()?.0;
    let dropped = counter(&c1, "dropped") - counter(&c0, "dropped");
    check!(
        max <= limit,
        "rx_queue reached {max} bytes, SO_RCVBUF {rcvbuf} + {SENDERS} senders x one datagram {one} = {limit}"
    );
    check_eq!(q_end, 0, "rx_queue after draining");
    check!(drops > 0, "no drop counted while flooding");
    check_eq!(received + drops, sent, "received + socket drops = sent");
    check_eq!(
        dropped,
        drops_end,
        "module dropped counter delta = socket drops (single phase + flood)"
    );
    drop(rx);
    let after = base.check()?;
    report(
        T,
        format!(
            "{sent} x {LEN} B from 2 senders in {secs:.1} s: {received} received, {drops} dropped; rx_queue max {max} B over {samples} samples (SO_RCVBUF {rcvbuf}, one datagram charged {one}; one sender alone: {single} B); {after}"
        ),
    );
    Ok(())
}

/// What a blocked call of [`seqpacket_blocked_calls_race_close_shutdown`] blocks in.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Blocked {
    /// `accept()` on a listener with no pending connection.
    Accept,
    /// `recv()` on an accepted socket with nothing queued.
    Recv,
    /// `send()` of 1000 bytes by a client whose send buffer is full (the peer reads nothing).
    Send,
}

/// What another thread does while the call is blocked.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Action {
    /// A client connects and sends a message (accept).
    Connect,
    /// The peer sends a message (recv).
    PeerSend,
    /// The peer reads every queued message (send).
    PeerRecv,
    /// The peer closes (recv, send).
    PeerClose,
    /// The peer shuts down (`how`).
    PeerShutdown(i32),
    /// The blocked socket is shut down through a dup (`how`).
    Shutdown(i32),
    /// The blocked socket's descriptor is closed (which does not wake the call: it holds the
    /// file), then the socket is shut down through a dup (`how`).
    CloseThenShutdown(i32),
}

/// One race: the call, what wakes it, and what the call must return (AF_UNIX SOCK_SEQPACKET's
/// answers; `Ok(n)`: bytes, 1 for an accepted connection that delivered its message).
struct Race {
    call: Blocked,
    action: Action,
    expect: &'static [Result<usize, i32>],
}

const MSG: usize = 1000;

/// The races, each run on AF_UNIX (the control) and on family 18. A closed descriptor adds
/// `EBADF` (the close came before the call).
const RACES: &[Race] = &[
    Race {
        call: Blocked::Accept,
        action: Action::Connect,
        expect: &[Ok(1)],
    },
    // AF_UNIX: the listener's RCV_SHUTDOWN ends skb_recv_datagram with no error: EINVAL.
    Race {
        call: Blocked::Accept,
        action: Action::Shutdown(libc::SHUT_RDWR),
        expect: &[Err(libc::EINVAL)],
    },
    Race {
        call: Blocked::Accept,
        action: Action::CloseThenShutdown(libc::SHUT_RD),
        expect: &[Err(libc::EINVAL)],
    },
    Race {
        call: Blocked::Recv,
        action: Action::PeerSend,
        expect: &[Ok(MSG)],
    },
    Race {
        call: Blocked::Recv,
        action: Action::PeerClose,
        expect: &[Ok(0)],
    },
    Race {
        call: Blocked::Recv,
        action: Action::PeerShutdown(libc::SHUT_WR),
        expect: &[Ok(0)],
    },
    Race {
        call: Blocked::Recv,
        action: Action::Shutdown(libc::SHUT_RD),
        expect: &[Ok(0)],
    },
    Race {
        call: Blocked::Recv,
        action: Action::CloseThenShutdown(libc::SHUT_RDWR),
        expect: &[Ok(0)],
    },
    Race {
        call: Blocked::Send,
        action: Action::PeerRecv,
        expect: &[Ok(MSG)],
    },
    // AF_UNIX: a peer closing with unread messages sets ECONNRESET on the survivor (as TCP's
    // reset), reported by the next call; SEND_SHUTDOWN after it (EPIPE).
    Race {
        call: Blocked::Send,
        action: Action::PeerClose,
        expect: &[Err(libc::ECONNRESET)],
    },
    Race {
        call: Blocked::Send,
        action: Action::PeerShutdown(libc::SHUT_RD),
        expect: &[Err(libc::EPIPE)],
    },
    Race {
        call: Blocked::Send,
        action: Action::Shutdown(libc::SHUT_WR),
        expect: &[Err(libc::EPIPE)],
    },
    Race {
        call: Blocked::Send,
        action: Action::CloseThenShutdown(libc::SHUT_WR),
        expect: &[Err(libc::EPIPE)],
    },
];

/// Fills `fd`'s way to its peer with non-blocking 1000-byte messages until `EAGAIN`; returns
/// how many were queued.
fn fill(fd: &OwnedFd) -> Result<usize, String> {
    for n in 0..100_000 {
        let tag = [n as u8; MSG];
        match raw_send(fd.as_raw_fd(), &tag, libc::MSG_DONTWAIT) {
            Ok(MSG) => {}
            Err(libc::EAGAIN) => return Ok(n),
            other => return Err(format!("filling: send #{n}: {:?}", other.map_err(ename))),
        }
    }
    Err("100,000 non-blocking sends and never EAGAIN: the sender never blocks".into())
}

/// Runs one race on `fam`; returns the blocked call's result and how long it took.
fn race_once(fam: Fam, race: &Race, i: usize) -> Result<(Result<usize, i32>, Duration), String> {
    let (l, addr) = fam.listener(16)?;
    let payload: Vec<u8> = (0..MSG).map(|k| (k + i) as u8).collect();
    // The blocked socket, its peer (if any), how many messages the blocked sender queued.
    let (blocked, mut peer, queued) = match race.call {
        Blocked::Accept => (l, None, 0),
        Blocked::Recv => {
            let (c, s) = fam.connection(&l, &addr)?;
            (s, Some(c), 0)
        }
        Blocked::Send => {
            let (c, s) = fam.connection(&l, &addr)?;
            let n = fill(&c)?;
            (c, Some(s), n)
        }
    };
    let dup = dup(&blocked)?;
    let raw = blocked.as_raw_fd();
    let (tx, rx) = std::sync::mpsc::channel();
    let call = race.call;
    let sent = payload.clone();
    let thread = std::thread::spawn(move || {
        let t = Instant::now();
        let r = match call {
            Blocked::Accept => raw_accept(raw, 0).and_then(|s| {
                // The accepted connection must carry the client's message.
                let mut buf = [0u8; 2 * MSG];
                let _ = set_rcvtimeo(&s, WATCHDOG_MS);
                match raw_recv(s.as_raw_fd(), &mut buf, 0) {
                    Ok(n) if buf[..n] == sent[..] => Ok(1),
                    Ok(n) => Ok(1000 + n),
                    Err(err) => Err(1000 + err),
                }
            }),
            Blocked::Recv => {
                let mut buf = [0u8; 2 * MSG];
                raw_recv(raw, &mut buf, 0)
                    .map(|n| if buf[..n] == sent[..n] { n } else { 10_000 + n })
            }
            Blocked::Send => raw_send(raw, &sent, 0),
        };
        let _ = tx.send((r, t.elapsed()));
    });
    // Vary the moment: sometimes before the call blocks, sometimes after.
    std::thread::sleep(Duration::from_micros((i as u64 * 37) % 400));
    let mut closed = None;
    let mut blocked = Some(blocked);
    match race.action {
        Action::Connect => {
            let c = fam.watched_socket()?;
            connect_raw(&c, &addr).map_err(e("connect"))?;
            check_send(&c, &payload)?;
            closed = Some(c);
        }
        Action::PeerSend => check_send(peer.as_ref().ok_or("no peer")?, &payload)?,
        Action::PeerRecv => {
            let p = peer.as_ref().ok_or("no peer")?;
            let mut buf = [0u8; 2 * MSG];
            for k in 0..=queued {
                let n = raw_recv(p.as_raw_fd(), &mut buf, 0).map_err(|err| {
                    format!("peer reading message {k} of {}: {}", queued + 1, ename(err))
                })?;
                let want: &[u8] = if k < queued {
                    &[k as u8; MSG]
                } else {
                    &payload
                };
                if buf[..n] != *want {
                    return Err(format!(
                        "peer read message {k}: {n} bytes, not the {MSG} sent"
                    ));
                }
            }
        }
        Action::PeerClose => drop(peer.take()),
        Action::PeerShutdown(how) => {
            shutdown(peer.as_ref().ok_or("no peer")?, how).map_err(e("peer shutdown"))?
        }
        Action::Shutdown(how) => shutdown(&dup, how).map_err(e("shutdown"))?,
        Action::CloseThenShutdown(how) => {
            drop(blocked.take());
            shutdown(&dup, how).map_err(e("shutdown after close"))?;
        }
    }
    let waited = Duration::from_secs(8);
    let Ok((r, took)) = rx.recv_timeout(waited) else {
        // Wake it for good (it holds sockets) and leave the thread.
        let _ = shutdown(&dup, libc::SHUT_RDWR);
        return Err(format!(
            "{} blocked {:?} not woken by {:?} in {} s (no return at all: a lost wake-up and the watchdog's SO_RCVTIMEO/SO_SNDTIMEO ignored)",
            fam.name(),
            race.call,
            race.action,
            waited.as_secs()
        ));
    };
    let _ = thread.join();
    drop((closed, blocked, peer, dup));
    Ok((r, took))
}

/// `accept()`, `recv()` and `send()` blocked on SOCK_SEQPACKET sockets while another thread
/// connects, sends, reads, closes the peer, or shuts the socket or its peer down (also after
/// closing the blocked descriptor): each call returns well within its 5 s watchdog with
/// AF_UNIX's result. Run on AF_UNIX first (the control: the expectations are its answers),
/// then on family 18.
fn seqpacket_blocked_calls_race_close_shutdown() -> TestResult {
    const T: &str = "seqpacket_blocked_calls_race_close_shutdown";
    let rounds = pick(3, 100);
    let (fams, missing) = families();
    ensure_loaded()?;
    let base = Baseline::take()?;
    let mut lines = Vec::new();
    for fam in fams {
        let start = Instant::now();
        let mut slowest = Duration::ZERO;
        let mut ebadf = 0;
        for round in 0..rounds {
            for (k, race) in RACES.iter().enumerate() {
                let i = round * RACES.len() + k;
                let (r, took) = race_once(fam, race, i)?;
                let closed = matches!(race.action, Action::CloseThenShutdown(_));
                let what = format!(
                    "{} round {round}: {:?} blocked, {:?}: got {:?} after {took:?}",
                    fam.name(),
                    race.call,
                    race.action,
                    r.map_err(ename)
                );
                check!(
                    took < Duration::from_secs(4),
                    "{what}: woken by the watchdog, not by the action (lost wake-up)"
                );
                if closed && r == Err(libc::EBADF) {
                    ebadf += 1;
                    continue;
                }
                check!(
                    race.expect.contains(&r),
                    "{what}, expected one of {:?}",
                    race.expect
                        .iter()
                        .map(|x| x.map_err(ename))
                        .collect::<Vec<_>>()
                );
                slowest = slowest.max(took);
            }
        }
        lines.push(format!(
            "{}: {} races in {:.1} s (slowest wake-up {slowest:?}, {ebadf} closed before the call: EBADF)",
            fam.name(),
            rounds * RACES.len(),
            start.elapsed().as_secs_f64()
        ));
    }
    seq_finish(T, &base, lines.join("; "), missing)
}

/// `count` connections on `fam` held at once: connect + accept + one message each (checked
/// byte for byte, both ways for a sample), then all closed: sockets used and the protocol
/// module's reference count follow, and come back.
fn connections(fam: Fam, count: usize, base_sockets: u64) -> Result<String, String> {
    let start = Instant::now();
    let (l, addr) = fam.listener(4096)?;
    let mut conns = Vec::with_capacity(count);
    let mut buf = [0u8; 64];
    for i in 0..count {
        let (c, s) = fam
            .connection(&l, &addr)
            .map_err(|m| format!("connection #{i}: {m}"))?;
        let tag = (i as u64).to_ne_bytes();
        check_send(&c, &tag).map_err(|m| format!("connection #{i}: {m}"))?;
        let n = raw_recv(s.as_raw_fd(), &mut buf, 0)
            .map_err(|err| format!("connection #{i}: recv: {}", ename(err)))?;
        if buf[..n] != tag {
            return Err(format!(
                "connection #{i}: got {:?}, sent {tag:?}",
                &buf[..n]
            ));
        }
        conns.push((c, s));
    }
    let opened = start.elapsed().as_secs_f64();
    let used = sockets_used()?;
    let want = base_sockets + 2 * count as u64 + 1;
    if used != want {
        return Err(format!(
            "{}: sockets used {used} with {count} connections open, expected {want}",
            fam.name()
        ));
    }
    let refs = if fam == Fam::Demo {
        let r = seq_refcnt();
        let want = Some(REFS_PER_SOCKET * (2 * count as i64 + 1));
        if r != want {
            return Err(format!("{SEQ_NAME} refcnt with {count} connections: {r:?}, expected {want:?} (2 per socket, the accepted ones too)"));
        }
        if refcnt() != Some(1) {
            return Err(format!(
                "rust_pf_demo refcnt {:?}, expected 1 (the protocol module's dependency)",
                refcnt()
            ));
        }
        format!(", {SEQ_NAME} refcnt {}", r.unwrap_or(0))
    } else {
        String::new()
    };
    // Both ways through a sample, from the accepted side too.
    for k in (0..count).step_by(97) {
        let (c, s) = &conns[k];
        let tag = (k as u64 | 1 << 40).to_ne_bytes();
        check_send(s, &tag)?;
        let n = raw_recv(c.as_raw_fd(), &mut buf, 0).map_err(e("client recv"))?;
        if buf[..n] != tag {
            return Err(format!("connection #{k}: the reply differs"));
        }
    }
    let t = Instant::now();
    drop(conns);
    drop(l);
    let closed = t.elapsed().as_secs_f64();
    if fam == Fam::Demo && seq_refcnt() != Some(0) {
        return Err(format!(
            "{SEQ_NAME} refcnt after closing all: {:?}",
            seq_refcnt()
        ));
    }
    Ok(format!(
        "{}: {count} connections opened (connect+accept+message) in {opened:.2} s, sockets used {used}{refs}, closed in {closed:.2} s",
        fam.name()
    ))
}

/// 10,000 SOCK_SEQPACKET connections of family 18 open at once (20,001 sockets), then closed;
/// AF_UNIX's the same way first, the control. The short mode on a KASAN kernel makes 2,000
/// (AF_UNIX: 1,000): there 10,000 take three minutes under TCG (the full mode makes them).
fn seqpacket_ten_thousand_connections() -> TestResult {
    const T: &str = "seqpacket_ten_thousand_connections";
    const N: usize = 10_000;
    let (n_demo, n_unix) = if kasan() {
        pick((2_000, 1_000), (N, N))
    } else {
        (N, N)
    };
    let (fams, missing) = families();
    ensure_seq_unloaded()?;
    ensure_loaded()?;
    let base = Baseline::take()?;
    let old = nofile();
    raise_nofile(2 * N as u64 + 64)?;
    let mut lines = Vec::new();
    let result = (|| -> Result<(), String> {
        for fam in fams {
            let n = if fam == Fam::Demo { n_demo } else { n_unix };
            lines.push(connections(fam, n, base.sockets)?);
        }
        Ok(())
    })();
    // SAFETY: `old` came from getrlimit.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) };
    result?;
    seq_finish(T, &base, lines.join("; "), missing)
}

/// rmmod of rust_pf_demo_seqpacket with connections live: first one connection (listener,
/// client, accepted socket) closed socket by socket, rmmod of both modules refused until the
/// last one is closed (the accepted socket alone holds its module: do_accept's reference and
/// its sock's); then 3 workers making connections (messages both ways, some held a while and
/// checked working) while a thread loops rmmod of the protocol module (and of the family's)
/// and autoloads it again. Never an oops; a refused rmmod is EWOULDBLOCK (EBUSY while coming
/// or going); at the end both unload and sockstat, the slab and the counts are at baseline.
fn seqpacket_rmmod_races_live_connections() -> TestResult {
    const T: &str = "seqpacket_rmmod_races_live_connections";
    const MIN_CONNS: u64 = 10;
    let secs = pick(3, 60);
    if let Err(why) = demo_available() {
        return Err(Outcome::Skip(why));
    }
    ensure_seq_unloaded()?;
    let base = Baseline::take()?;
    let fam = Fam::Demo;
    // One connection, closed socket by socket.
    let (l, addr) = fam.listener(8)?;
    let (c, s) = fam.connection(&l, &addr)?;
    check!(
        module_loaded() && seq_refcnt().is_some(),
        "socket(18, SOCK_SEQPACKET, 0) loaded neither module"
    );
    check_eq!(
        seq_refcnt(),
        Some(3 * REFS_PER_SOCKET),
        format!("{SEQ_NAME} refcnt with listener, client, accepted")
    );
    let mut steps = vec![];
    let mut held: Vec<(&str, OwnedFd)> =
        vec![("listener", l), ("client", c), ("accepted socket", s)];
    while !held.is_empty() {
        let live: Vec<&str> = held.iter().map(|h| h.0).collect();
        check_eq!(
            rmmod_named(SEQ_MODULE).map_err(ename),
            Err(ename(libc::EWOULDBLOCK)),
            format!("rmmod {SEQ_NAME} with {live:?} open")
        );
        check_eq!(
            rmmod().map_err(ename),
            Err(ename(libc::EWOULDBLOCK)),
            format!("rmmod rust_pf_demo with {live:?} open")
        );
        let (name, fd) = held.remove(0);
        drop(fd);
        steps.push(format!("{name} closed: refcnt {:?}", seq_refcnt()));
    }
    check_eq!(seq_refcnt(), Some(0), "after all three closed");
    check_eq!(
        refcnt(),
        Some(1),
        "rust_pf_demo refcnt with the protocol module loaded"
    );
    check_eq!(
        rmmod_named(SEQ_MODULE).map_err(ename),
        Ok(()),
        format!("rmmod {SEQ_NAME} after close")
    );
    check_eq!(
        refcnt(),
        Some(0),
        "rust_pf_demo refcnt after rmmod of the protocol module"
    );
    // The race.
    let counts = Arc::new(RaceCounts::default());
    let worker = move |w: u32, n: u32, counts: &RaceCounts| -> Result<(), String> {
        let connected = fam.listener(4).and_then(|(l, addr)| {
            let (c, s) = fam.connection(&l, &addr)?;
            Ok((l, c, s))
        });
        let (l, c, s) = match connected {
            Ok(x) => x,
            // The protocol module was going away: its entry is gone or its
            // try_module_get failed, and the autoload found it still listed.
            Err(m)
                if m.contains("socket(SOCK_SEQPACKET): EPROTONOSUPPORT")
                    || m.contains("socket(SOCK_SEQPACKET): ESOCKTNOSUPPORT") =>
            {
                counts.eafnosupport.fetch_add(1, Relaxed);
                return Ok(());
            }
            Err(m) => return Err(format!("worker {w}: {m}")),
        };
        counts.sockets.fetch_add(1, Relaxed);
        if seq_refcnt().is_none() {
            return Err(format!(
                "worker {w}: connection open but {SEQ_NAME} not loaded"
            ));
        }
        let rounds = if w == 0 && n.is_multiple_of(8) { 20 } else { 1 };
        for k in 0..rounds {
            let data = [w as u8, n as u8, (n >> 8) as u8, k];
            let mut buf = [0u8; 16];
            check_send(&c, &data).map_err(|m| format!("worker {w}: {m}"))?;
            let got = raw_recv(s.as_raw_fd(), &mut buf, 0)
                .map_err(|err| format!("worker {w}: recv: {}", ename(err)))?;
            check_send(&s, &buf[..got]).map_err(|m| format!("worker {w}: reply: {m}"))?;
            let back = raw_recv(c.as_raw_fd(), &mut buf, 0)
                .map_err(|err| format!("worker {w}: recv reply: {}", ename(err)))?;
            if buf[..back] != data {
                return Err(format!(
                    "worker {w}: message {:?} came back as {:?}",
                    data,
                    &buf[..back]
                ));
            }
            counts.datagrams.fetch_add(1, Relaxed);
            if rounds > 1 {
                std::thread::sleep(Duration::from_millis(1));
                if seq_refcnt().is_none() {
                    return Err(format!("{SEQ_NAME} unloaded under a held connection"));
                }
                counts.held_checks.fetch_add(1, Relaxed);
            }
        }
        drop((c, s, l));
        std::thread::sleep(Duration::from_micros(200 * (n % 8) as u64));
        Ok(())
    };
    let mut family_unloads = 0u64;
    let race = RmmodRace {
        secs,
        what: &format!("rmmod {SEQ_NAME}"),
        rmmod: &|| rmmod_named(SEQ_MODULE),
        min_sockets: MIN_CONNS,
    };
    let (tally, el) = race.run(&counts, worker, |unloads| {
        // Now and then the family's module too (refused if a worker loaded the protocol
        // module again meanwhile).
        if unloads % 4 == 0 {
            match rmmod() {
                Ok(()) => family_unloads += 1,
                Err(libc::EWOULDBLOCK | libc::EBUSY | libc::ENOENT) => {}
                Err(err) => {
                    return Err(format!("rmmod rust_pf_demo: unexpected {}", ename(err)));
                }
            }
        }
        match fam.socket(0) {
            Ok(_) | Err(libc::EPROTONOSUPPORT | libc::ESOCKTNOSUPPORT) => Ok(()),
            Err(err) => Err(format!("autoload after rmmod: {}", ename(err))),
        }
    })?;
    let (unloads, refused, busy, absent) = (tally.unloads, tally.refused, tally.busy, tally.absent);
    let c = &counts;
    check!(unloads > 0, "rmmod {SEQ_NAME} never succeeded in {el:.1} s");
    check!(
        refused > 0,
        "rmmod {SEQ_NAME} was never refused in {el:.1} s"
    );
    check!(
        c.sockets.load(Relaxed) >= MIN_CONNS,
        "only {} connections made",
        c.sockets.load(Relaxed)
    );
    check_eq!(
        seq_refcnt().unwrap_or(0),
        0,
        format!("{SEQ_NAME} refcnt after the race")
    );
    let after = seq_check(&base)?;
    report(
        T,
        format!(
            "one connection: {}; race {el:.1} s, 3 workers: {} connections, {} round trips, {} held checks, {} socket() refused while unloading; rmmod thread: {unloads} unloads ({family_unloads} with rust_pf_demo), {refused} EWOULDBLOCK, {busy} EBUSY, {absent} ENOENT; {after}",
            steps.join(", "),
            c.sockets.load(Relaxed),
            c.datagrams.load(Relaxed),
            c.held_checks.load(Relaxed),
            c.eafnosupport.load(Relaxed)
        ),
    );
    Ok(())
}
