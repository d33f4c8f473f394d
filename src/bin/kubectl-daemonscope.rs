//! `kubectl daemonscope …`: kubectl finds plugins named `kubectl-*` on PATH.
fn main() {
    std::process::exit(daemonscope::run::main());
}
