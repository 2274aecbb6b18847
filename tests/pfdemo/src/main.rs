// SPDX-License-Identifier: GPL-2.0

//! `pfdemo`: runs inside the test VM.
//!
//! - `pfdemo demo`: narrates the module loading on the first `socket()`, the reference count
//!   rising and falling, and `rmmod` refused and then allowed.
//! - `pfdemo test [FILTER]`: the KTAP test program (exit 0 all passed, 1 a failure, 4 all
//!   skipped), each test starting from the module state it needs.
//! - `pfdemo selftest [FILTER]`: the `sock_create` selftests (selftests/README.md), KTAP.
//! - `pfdemo stress [FILTER]`: the stress tests (`RPD_STRESS=full` for the long mode), KTAP.
//! - `pfdemo fuzz [--seed S] [--ops N] [--netns]`: one run of the syscall fuzzer.
//! - `pfdemo sock [--hold] FAMILY TYPE PROTOCOL`: one socket() for the shell selftests.
//! - `pfdemo lsm-sock create|post_create|useronly FAMILY TYPE PROTOCOL`: one socket() with a
//!   BPF LSM program of lsm.rs attached (for `make trace`), printed as `pfdemo sock` does.

#![warn(clippy::undocumented_unsafe_blocks)]

mod bench;
mod blind;
mod demo;
mod dgram;
mod fuzz;
mod hostile;
mod ktap;
mod lsm;
mod monitor;
mod seed;
mod seqconn;
mod seqlayer;
mod seqp;
mod seqpacket;
mod seqweak;
mod skbfill;
mod sock_create;
mod stress;
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
            let all = seed::TESTS
                .iter()
                .chain(dgram::TESTS)
                .chain(monitor::TESTS)
                .chain(seqpacket::TESTS)
                .chain(seqconn::TESTS)
                .chain(seqlayer::TESTS)
                .chain(blind::TESTS)
                .chain(skbfill::TESTS)
                .chain(seqweak::TESTS);
            let tests: Vec<&ktap::Test> = all.chain([&seed::LAST]).collect();
            ktap::run_checked(&tests, args.get(2).map(String::as_str), seqweak::end_check)
        }
        Some("selftest") => {
            let tests: Vec<&ktap::Test> = sock_create::TESTS.iter().chain(lsm::TESTS).collect();
            ktap::run(&tests, args.get(2).map(String::as_str))
        }
        Some("stress") => {
            let all = stress::TESTS
                .iter()
                .chain(fuzz::TESTS)
                .chain(hostile::TESTS);
            let tests: Vec<&ktap::Test> = all.chain([&seed::LAST]).collect();
            ktap::run(&tests, args.get(2).map(String::as_str))
        }
        Some("fuzz") => fuzz::cli(&args[2..]),
        Some("sock") => sock_create::sock_cli(&args[2..]),
        Some("lsm-sock") => lsm::cli(&args[2..]),
        _ => {
            eprintln!("usage: pfdemo demo | pfdemo test|selftest [NAME-FILTER] | pfdemo bench | pfdemo sock ... | pfdemo lsm-sock ...");
            2
        }
    };
    std::process::exit(code);
}
