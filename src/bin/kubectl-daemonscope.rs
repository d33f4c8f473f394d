//! `kubectl daemonscope …`: kubectl finds plugins named `kubectl-*` on PATH.

#![forbid(unsafe_code)]

fn main() {
    std::process::exit(daemonscope::run::main());
}
