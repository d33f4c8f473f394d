//! End-to-end: a dropped SSH session (SIGHUP) or a `kill` (SIGTERM) ends the UI cleanly: the
//! terminal is given back (no alternate screen, the shell reads commands), the exit status says
//! which signal (128 + its number, as a shell reports it), and the log says why.

mod common;

use std::time::Duration;

use common::sandbox::Sandbox;
use common::tmux::Session;

fn signal_ends_the_ui_cleanly(signal: &str, code: i32) {
    let sandbox = Sandbox::new();
    let tmux = Session::daemonscope(120, 36, &sandbox, &["--demo", "small"], &[]);
    tmux.wait_until("the matrix, live", Duration::from_secs(90), |s| {
        s.contains("ready-desired") && s.contains(" live ")
    });
    assert!(tmux.alternate_screen(), "the UI runs on the alternate screen");
    let pid = tmux.program_pid().expect("the daemonscope process");
    let status = std::process::Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
    assert_eq!(tmux.exit_code(Duration::from_secs(20)), code, "exit status after SIG{signal}");
    tmux.assert_shell_is_back();
    let log = std::fs::read_to_string(sandbox.state_dir().join("logs/daemonscope.log")).unwrap_or_default();
    assert!(log.contains("exit on a signal"), "the log says why it ended:\n{log}");
}

#[test]
fn sighup_from_a_dropped_ssh_session_restores_the_terminal_and_exits_129() {
    signal_ends_the_ui_cleanly("HUP", 129);
}

#[test]
fn sigterm_restores_the_terminal_and_exits_143() {
    signal_ends_the_ui_cleanly("TERM", 143);
}
