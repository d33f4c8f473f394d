//! End-to-end: a dropped SSH session (SIGHUP) or a `kill` (SIGTERM) ends the UI cleanly (and a
//! panic in a background task ends the event loop, in process): the
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

/// A panic in a background task (tokio catches it; the task just ends) must not leave the UI
/// drawing over a terminal the panic hook already gave back: the loop ends with `Exit::Panic`
/// (exit status 70) at once. In this test binary only: the panic flag is process-wide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_background_task_ends_the_loop_and_nothing_draws_after_it() {
    use daemonscope::app::{App, AppOptions};
    use daemonscope::fleet::{FleetEvent, Index};
    use daemonscope::shell::{Exit, install_panic_hook, run_loop};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    install_panic_hook();
    let mut term = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    let app = App::new(Index::new(), AppOptions::default());
    let (_fleet_tx, fleet_rx) = tokio::sync::mpsc::channel::<FleetEvent>(8);
    let input = futures::stream::pending::<std::io::Result<crossterm::event::Event>>();
    let bug = tokio::spawn(async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        panic!("a bug in a background task");
    });
    let (_, exit) = tokio::time::timeout(Duration::from_secs(20), run_loop(&mut term, app, input, fleet_rx, 30))
        .await
        .expect("the loop ended after the panic, without a key or a signal")
        .expect("the loop returned");
    assert_eq!(exit, Exit::Panic);
    assert_eq!(exit.code(), 70);
    assert!(bug.await.is_err_and(|e| e.is_panic()), "the task did panic");
}

/// A dropped SSH session in the middle of a `D` batch (mixed.toml: datadog-agent crash-loops on
/// 3 nodes; the batch restarts them 2 s apart): the audit log has the batch's intent before its
/// first request and an `interrupted` result naming SIGHUP and how far it got, never a bare
/// intent.
#[test]
fn sighup_during_a_batch_leaves_an_interrupted_audit_line() {
    let sandbox = Sandbox::new();
    let tmux = Session::daemonscope(160, 44, &sandbox, &["--demo", "mixed"], &[]);
    tmux.wait_until("the matrix, live", Duration::from_secs(90), |s| {
        s.contains("ready-desired") && s.contains(" live ")
    });
    // The columns in name order: aws-node, ebs-csi-node, kube-proxy, node-local-dns,
    // nvidia-device-plugin, fluent-bit, datadog-agent (sorted by namespace, then name).
    for _ in 0..12 {
        let screen = tmux.capture();
        if screen.contains("▸ monitoring/datadog-agent") {
            break;
        }
        tmux.send_keys(&["Right"]);
        std::thread::sleep(Duration::from_millis(150));
    }
    tmux.wait_for("▸ monitoring/datadog-agent", Duration::from_secs(5));
    tmux.send_keys(&["D"]);
    tmux.wait_for("server dry run", Duration::from_secs(20));
    tmux.send_keys(&["y"]);
    let audit = sandbox.state_dir().join("audit.jsonl");
    let read = || std::fs::read_to_string(&audit).unwrap_or_default();
    let start = std::time::Instant::now();
    while !read().contains("\"phase\":\"result\"") {
        assert!(start.elapsed() < Duration::from_secs(20), "the first restart's result:\n{}", read());
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = tmux.program_pid().expect("the daemonscope process");
    let status = std::process::Command::new("kill").args(["-HUP", &pid.to_string()]).status();
    assert!(status.is_ok_and(|s| s.success()), "kill -HUP {pid}");
    assert_eq!(tmux.exit_code(Duration::from_secs(20)), 129);
    tmux.assert_shell_is_back();
    let lines: Vec<serde_json::Value> = read().lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    let batch: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["verb"].as_str().is_some_and(|v| v.starts_with("batch: "))).collect();
    assert_eq!(batch.len(), 2, "the batch's intent and its result:\n{lines:#?}");
    assert_eq!(batch[0]["phase"], "intent");
    assert_eq!(batch[0]["request"], "3 requests, one every 2 s", "{lines:#?}");
    assert_eq!(batch[1]["phase"], "result");
    let result = batch[1]["result"].as_str().expect("result");
    assert!(result.starts_with("interrupted: SIGHUP") && result.contains(" of 3 sent"), "{result}");
    // Every intent has its result: none stops at a bare intent.
    for intent in lines.iter().filter(|l| l["phase"] == "intent") {
        assert!(
            lines.iter().any(|l| l["phase"] == "result" && l["id"] == intent["id"]),
            "intent without a result: {intent}\n{lines:#?}"
        );
    }
}
