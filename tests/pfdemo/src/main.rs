// SPDX-License-Identifier: GPL-2.0

//! `pfdemo`: runs inside the test VM.
//!
//! - `pfdemo demo`: narrates the module loading on the first `socket()`, the reference count
//!   rising and falling, and `rmmod` refused and then allowed.
//! - `pfdemo test [FILTER]`: the KTAP test program (exit 0 all passed, 1 a failure, 4 all
//!   skipped), each test starting from the module state it needs.

mod bench;
mod demo;
mod dgram;
mod ktap;
mod seed;
mod sys;
#[path = "../../../uapi/pfdemo.rs"]
#[allow(dead_code)]
mod uapi;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let code = match args.get(1).map(String::as_str) {
        Some("demo") => demo::run(),
        Some("bench") => bench::run(),
        Some("test") => {
            let all = seed::TESTS.iter().chain(dgram::TESTS);
            let tests: Vec<&ktap::Test> = all.chain([&seed::LAST]).collect();
            ktap::run(&tests, args.get(2).map(String::as_str))
        }
        _ => {
            eprintln!("usage: pfdemo demo | pfdemo test [NAME-FILTER] | pfdemo bench");
            2
        }
    };
    std::process::exit(code);
}
