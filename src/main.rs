//! Thin entry point: everything lives in the library (`daemonscope::run`).
fn main() {
    std::process::exit(daemonscope::run::main());
}
