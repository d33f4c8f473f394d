//! End-to-end: `daemonscope --demo small` in a detached tmux session; rollout restart the
//! cursor DaemonSet (`R`, read the server's dry run, confirm with `y`), open the rollout status view (`r`) and watch it
//! reach kubectl's "successfully rolled out"; the audit log in the state dir holds the action.
//! tmux is required (the test fails, never skips, without it);
//! it uses its own tmux server socket and kills only that server.

mod common;

use std::time::Duration;

use common::sandbox::Sandbox;
use common::tmux::Session;

#[test]
fn demo_rollout_restart_is_confirmed_and_the_status_view_sees_it_complete() {
    let sandbox = Sandbox::new();
    let tmux = Session::daemonscope(140, 48, &sandbox, &["--demo", "small"], &[]);
    tmux.wait_until("the matrix with its pods", Duration::from_secs(60), |s| {
        s.contains("general-03") && s.contains("ready 4/4")
    });

    // The cursor starts on the first column; rollout restart it.
    tmux.send_keys(&["R"]);
    // The whole dialog, not just its title: a capture can land while a frame is being written.
    tmux.wait_until("the confirmation with its request", Duration::from_secs(10), |s| {
        s.contains("confirm on daemonscope-sim: rollout restart")
            && s.contains("PATCH /apis/apps/v1/namespaces/")
            && s.contains("restartedAt")
    });
    // `y` sends once the server's dry run has answered, in the dialog.
    tmux.wait_for("server dry run: accepted", Duration::from_secs(10));
    tmux.send_keys(&["y"]);
    tmux.wait_for("restarted; pods roll", Duration::from_secs(30));
    tmux.send_keys(&["r"]);
    tmux.wait_for("rollout status: daemonset", Duration::from_secs(10));
    tmux.wait_for("Waiting for daemon set", Duration::from_secs(60));
    tmux.wait_for("successfully rolled out", Duration::from_secs(180));

    let audit = std::fs::read_to_string(sandbox.state_dir().join("audit.jsonl")).expect("the audit log exists");
    assert!(audit.contains("rollout") && audit.contains("\"ok\""), "{audit}");

    tmux.send_keys(&["Escape"]);
    // Escape and q in one burst read as Alt-q; the view closing is the sign Esc arrived alone.
    tmux.wait_until("the status view to close", Duration::from_secs(10), |s| !s.contains("rollout status: daemonset"));
    tmux.send_keys(&["q"]);
    assert_eq!(tmux.exit_code(Duration::from_secs(20)), 0, "exit status");
    tmux.assert_shell_is_back();
}
