// SPDX-License-Identifier: GPL-2.0

//! A minimal KTAP producer (Documentation/dev-tools/ktap.rst), exit codes as kselftest.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a test concluded, other than passing.
pub enum Outcome {
    /// The test failed; the message says what was expected and what happened.
    Fail(String),
    /// The test cannot run here; the message says why.
    Skip(String),
}

/// A test's result: `Ok(())` is a pass.
pub type TestResult = Result<(), Outcome>;

/// A named test.
pub struct Test {
    pub name: &'static str,
    pub run: fn() -> TestResult,
}

/// Fails the test with a formatted message unless `cond` holds.
#[macro_export]
macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::ktap::Outcome::Fail(format!($($msg)+)));
        }
    };
}

/// Fails the test unless `left == right`, printing both.
#[macro_export]
macro_rules! check_eq {
    ($left:expr, $right:expr, $what:expr) => {{
        let (l, r) = (&$left, &$right);
        if l != r {
            return Err($crate::ktap::Outcome::Fail(format!(
                "{}: expected {:?}, got {:?}",
                $what, r, l
            )));
        }
    }};
}

impl From<String> for Outcome {
    fn from(s: String) -> Self {
        Outcome::Fail(s)
    }
}

/// The test running now (its number and when it started), for the watchdog.
static RUNNING: Mutex<Option<(usize, Instant)>> = Mutex::new(None);

/// The longest a test may run before the program gives up on it: a backstop for a blocking
/// call without its own watchdog (the tests' sockets have `SO_RCVTIMEO`/`SO_SNDTIMEO`, see
/// `sys::WATCHDOG_MS`). The long stress mode runs for minutes per test.
fn test_deadline() -> Duration {
    if std::env::var("RPD_STRESS").is_ok_and(|v| v == "full") {
        Duration::from_secs(1800)
    } else {
        Duration::from_secs(240)
    }
}

/// Starts the thread that ends the program when a test outlives `limit`: the test is reported
/// `not ok` with the reason, the tests after it `not ok` as not run, and the program exits 1,
/// so that the rest of the suite runs instead of the VM timing out with no test named.
fn start_watchdog(names: Vec<&'static str>, limit: Duration) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(500));
        let Some((n, t0)) = *RUNNING.lock().unwrap_or_else(|p| p.into_inner()) else {
            continue;
        };
        if t0.elapsed() < limit {
            continue;
        }
        let name = names[n - 1];
        println!(
            "# {name}: watchdog: still running after {} s (a blocking call never woken?)",
            limit.as_secs()
        );
        println!("not ok {n} {name}");
        for (i, other) in names.iter().enumerate().skip(n) {
            println!(
                "not ok {} {other} # not run: the watchdog stopped the program",
                i + 1
            );
        }
        std::process::exit(1);
    });
}

/// A check of a test's own end state: called before the test, it returns what to check after
/// it (`None`: nothing), whose error fails that test (see [`run_checked`]).
pub type EndCheck = fn(&Test) -> Option<Box<dyn FnOnce() -> Result<(), String>>>;

/// Runs the tests whose name contains `filter`, printing KTAP; returns the kselftest exit code.
pub fn run(tests: &[&Test], filter: Option<&str>) -> i32 {
    run_checked(tests, filter, |_| None)
}

/// As [`run`], and `end` checks each test's end state as part of its result: a test that
/// leaves something behind fails itself, instead of the next test that looks.
pub fn run_checked(tests: &[&Test], filter: Option<&str>, end: EndCheck) -> i32 {
    let selected: Vec<&Test> = tests
        .iter()
        .copied()
        .filter(|t| filter.is_none_or(|f| t.name.contains(f)))
        .collect();
    println!("TAP version 13");
    println!("1..{}", selected.len());
    start_watchdog(selected.iter().map(|t| t.name).collect(), test_deadline());
    let (mut pass, mut fail, mut skip) = (0, 0, 0);
    for (i, t) in selected.iter().enumerate() {
        let n = i + 1;
        *RUNNING.lock().unwrap_or_else(|p| p.into_inner()) = Some((n, Instant::now()));
        let after = end(t);
        let mut result = (t.run)();
        if let Some(Err(msg)) = after.map(|check| check()) {
            result = Err(Outcome::Fail(match result {
                Err(Outcome::Fail(first)) => format!("{first}\n{msg}"),
                _ => msg,
            }));
        }
        *RUNNING.lock().unwrap_or_else(|p| p.into_inner()) = None;
        match result {
            Ok(()) => {
                pass += 1;
                println!("ok {n} {}", t.name);
            }
            Err(Outcome::Fail(msg)) => {
                fail += 1;
                for line in msg.lines() {
                    println!("# {}: {line}", t.name);
                }
                println!("not ok {n} {}", t.name);
            }
            Err(Outcome::Skip(why)) => {
                skip += 1;
                println!("ok {n} {} # SKIP {why}", t.name);
            }
        }
    }
    println!("# Totals: pass:{pass} fail:{fail} xfail:0 xpass:0 skip:{skip} error:0");
    if fail > 0 {
        1
    } else if skip > 0 && pass == 0 {
        4
    } else {
        0
    }
}
