// SPDX-License-Identifier: GPL-2.0

//! A minimal KTAP producer (Documentation/dev-tools/ktap.rst), exit codes as kselftest.

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

/// Runs the tests whose name contains `filter`, printing KTAP; returns the kselftest exit code.
pub fn run(tests: &[&Test], filter: Option<&str>) -> i32 {
    let selected: Vec<&Test> = tests
        .iter()
        .copied()
        .filter(|t| filter.is_none_or(|f| t.name.contains(f)))
        .collect();
    println!("TAP version 13");
    println!("1..{}", selected.len());
    let (mut pass, mut fail, mut skip) = (0, 0, 0);
    for (i, t) in selected.iter().enumerate() {
        let n = i + 1;
        match (t.run)() {
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
