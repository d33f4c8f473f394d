//! End-to-end log pane: the real binary (`daemonscope --demo`) in a detached tmux session opens
//! a log pane with `l`, sees lines arrive, searches, saves to the state directory, closes with
//! Esc, quits, and the terminal is given back. tmux is required (never skipped); the test uses
//! its own tmux server socket and kills only that server.

mod common;

use std::time::Duration;

use common::sandbox::Sandbox;
use common::tmux::Session;

#[test]
fn demo_log_pane_opens_shows_lines_searches_saves_closes_and_quits() {
    let sandbox = Sandbox::new();
    let tmux = Session::daemonscope(120, 36, &sandbox, &["--demo"], &[]);
    tmux.wait_until("the matrix", Duration::from_secs(90), |s| {
        s.contains("ready-desired") && s.contains("live") && !s.contains("Listing nodes")
    });

    // Only the kube-proxy column (it runs on every node), cursor on the first row: `l`.
    tmux.send_keys(&["/"]);
    tmux.type_text("kube-proxy");
    tmux.send_keys(&["Enter"]);
    tmux.wait_for("kube-system/kube-proxy", Duration::from_secs(10));
    tmux.send_keys(&["l"]);
    let pane = tmux.wait_until("log lines in the pane", Duration::from_secs(60), |s| {
        s.contains("logs kube-system/kube-proxy") && s.contains("FOLLOW") && s.contains("proxier.go")
    });
    assert!(pane.contains("search"), "the footer shows the pane's keys:\n{pane}");

    // Search: the status line counts the matches.
    tmux.send_keys(&["/"]);
    tmux.type_text("SyncProxyRules");
    tmux.send_keys(&["Enter"]);
    tmux.wait_until("the search in the status line", Duration::from_secs(10), |s| {
        s.contains("/SyncProxyRules") && s.contains("matches")
    });

    // Save: the path is shown and the file is in the state directory.
    tmux.send_keys(&["s"]);
    tmux.wait_for("saved to", Duration::from_secs(10));
    let saved: Vec<_> = std::fs::read_dir(sandbox.state_dir().join("logs"))
        .expect("<state dir>/logs exists")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("kube-system_kube-proxy"))
        .collect();
    assert_eq!(saved.len(), 1, "one saved buffer");
    let text = std::fs::read_to_string(saved[0].path()).expect("saved file");
    assert!(text.contains("proxier.go"), "the saved buffer holds the log lines");

    // Esc closes the pane: the matrix is whole again.
    tmux.send_keys(&["Escape"]);
    tmux.wait_until("the pane to close", Duration::from_secs(10), |s| {
        !s.contains("logs kube-system/kube-proxy") && s.contains("ready-desired")
    });

    tmux.send_keys(&["q"]);
    assert_eq!(tmux.exit_code(Duration::from_secs(20)), 0, "exit status");
    tmux.assert_shell_is_back();
}
