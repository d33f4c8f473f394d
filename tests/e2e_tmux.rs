//! End-to-end: the real binary (`daemonscope --demo`) in a detached tmux session. It waits for
//! the matrix, filters with `/`, quits with `q`, and checks the terminal is given back (the
//! alternate screen is off and the shell prints its marker and prompt again).
//!
//! tmux is required: the test fails with a clear message when it is missing (never skips).
//! It uses its own tmux server socket and kills only that server.

mod common;

use std::time::Duration;

use common::sandbox::Sandbox;
use common::tmux::Session;

#[test]
fn demo_starts_filters_quits_and_restores_the_terminal() {
    let sandbox = Sandbox::new();
    // The binary runs inside a plain shell with a known prompt, so we can see the shell again
    // after it exits.
    let tmux = Session::daemonscope(120, 36, &sandbox, &["--demo"], &[]);

    // The matrix: the totals row label and a live connection in the header.
    let screen = tmux.wait_until("the matrix", Duration::from_secs(90), |s| {
        s.contains("ready-desired") && s.contains("live") && !s.contains("Listing nodes")
    });
    // The first node row: the line right under the column headers with a node label.
    let lines: Vec<&str> = screen.lines().collect();
    let totals_at = lines.iter().position(|l| l.starts_with("ready-desired")).expect("totals row");
    // Rows start after header (2), legend (1) and 3 column-header lines.
    let first_row = lines.get(6).copied().filter(|_| totals_at > 6).expect("at least one node row");
    let first_node = first_row.split_whitespace().next().expect("node name").to_string();
    assert!(!first_node.is_empty() && !first_node.contains('…'), "node name in full: {first_row}");

    // A filter that matches nothing says so.
    tmux.send_keys(&["/"]);
    tmux.type_text("no-such-node-zz");
    tmux.wait_for("Nothing matches", Duration::from_secs(10));
    tmux.send_keys(&["Escape"]);
    tmux.wait_for(&first_node, Duration::from_secs(10));

    // A node-name filter keeps that node.
    tmux.send_keys(&["/"]);
    tmux.type_text(&format!("node:{first_node}"));
    tmux.send_keys(&["Enter"]);
    let filtered = tmux.wait_until("the filtered matrix", Duration::from_secs(10), |s| {
        s.contains("/node:") && s.contains("row 1/1") && s.contains(&first_node)
    });
    let node_rows = filtered
        .lines()
        .skip(6)
        .take_while(|l| !l.starts_with("ready-desired"))
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(node_rows, 1, "one row left:\n{filtered}");

    // Quit; the shell prints the exit code, so the terminal is back in cooked mode on the main screen.
    tmux.send_keys(&["q"]);
    assert_eq!(tmux.exit_code(Duration::from_secs(20)), 0, "exit status");
    let after = tmux.capture();
    assert!(!after.contains("ready-desired"), "the matrix is gone from the main screen:\n{after}");
    tmux.assert_shell_is_back();
}
