//! Thin entry point: everything lives in the library (`daemonscope::run`).

#![forbid(unsafe_code)]

fn main() {
    std::process::exit(daemonscope::run::main());
}
