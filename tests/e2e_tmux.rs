//! End-to-end: the real binary (`daemonscope --demo`) in a detached tmux session. It waits for
//! the matrix, filters with `/`, quits with `q`, and checks the terminal is given back (the
//! alternate screen is off and the shell prints its marker and prompt again).
//!
//! tmux is required: the test fails with a clear message when it is missing (never skips).
//! It uses its own tmux server socket and kills only that server.

use std::path::Path;
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

const SESSION: &str = "e2e";

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running tmux {args:?}: {e}"))
    }

    fn capture(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", SESSION]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        let out = self.run(&args);
        assert!(out.status.success(), "send-keys {keys:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Type literal text (no key-name interpretation).
    fn type_text(&self, text: &str) {
        let out = self.run(&["send-keys", "-t", SESSION, "-l", text]);
        assert!(out.status.success(), "send-keys -l {text:?}");
    }

    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            if start.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {what}; the screen was:\n{screen}");
            }
            sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Only our own server (its private socket), never anyone else's.
        let _ = self.run(&["kill-server"]);
    }
}

fn require_tmux() {
    match Command::new("tmux").arg("-V").output() {
        Ok(o) if o.status.success() => {}
        _ => panic!(
            "tmux is required for this end-to-end test and was not found on PATH; install it \
             (apt-get install tmux) — this test is never skipped"
        ),
    }
}

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn demo_starts_filters_quits_and_restores_the_terminal() {
    require_tmux();
    let bin = Path::new(env!("CARGO_BIN_EXE_daemonscope"));
    let home = tempfile::tempdir().expect("tempdir");
    let tmux = Tmux { socket: format!("daemonscope-e2e-{}", std::process::id()) };

    // A plain shell with a known prompt; the binary runs inside it so we can see the shell
    // again after it exits.
    let env_home = format!("HOME={}", home.path().display());
    let out = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "120",
        "-y",
        "36",
        "env",
        "-i",
        "PATH=/usr/bin:/bin",
        "TERM=xterm-256color",
        "PS1=e2e-shell$ ",
        &env_home,
        "sh",
    ]);
    assert!(out.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&out.stderr));
    tmux.wait_for("the shell prompt", Duration::from_secs(10), |s| s.contains("e2e-shell$"));

    let cmd = format!(
        "DAEMONSCOPE_CONFIG_DIR={home}/config DAEMONSCOPE_STATE_DIR={home}/state {bin} --demo; echo DAEMONSCOPE-EXIT=$?",
        home = sh_quote(home.path()),
        bin = sh_quote(bin)
    );
    tmux.type_text(&cmd);
    tmux.keys(&["Enter"]);

    // The matrix: the totals row label and a live connection in the header.
    let screen = tmux.wait_for("the matrix", Duration::from_secs(90), |s| {
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
    tmux.keys(&["/"]);
    tmux.type_text("no-such-node-zz");
    tmux.wait_for("the empty-filter message", Duration::from_secs(10), |s| s.contains("Nothing matches"));
    tmux.keys(&["Escape"]);
    tmux.wait_for("rows back after Esc", Duration::from_secs(10), |s| s.contains(&first_node));

    // A node-name filter keeps that node.
    tmux.keys(&["/"]);
    tmux.type_text(&format!("node:{first_node}"));
    tmux.keys(&["Enter"]);
    let filtered = tmux.wait_for("the filtered matrix", Duration::from_secs(10), |s| {
        s.contains("/node:") && s.contains("row 1/1") && s.contains(&first_node)
    });
    let node_rows = filtered
        .lines()
        .skip(6)
        .take_while(|l| !l.starts_with("ready-desired"))
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(node_rows, 1, "one row left:\n{filtered}");

    // Quit; the shell runs the echo, so the terminal is back in cooked mode on the main screen.
    tmux.keys(&["q"]);
    // The marker printed by the shell (the typed command line contains "EXIT=$?", not a digit).
    let after = tmux.wait_for("the exit marker", Duration::from_secs(20), |s| {
        s.lines().any(|l| l.starts_with("DAEMONSCOPE-EXIT="))
    });
    assert!(after.lines().any(|l| l.trim_end() == "DAEMONSCOPE-EXIT=0"), "exit status 0:\n{after}");
    let alt = tmux.run(&["display-message", "-p", "-t", SESSION, "#{alternate_on}"]);
    assert_eq!(String::from_utf8_lossy(&alt.stdout).trim(), "0", "the alternate screen is left");
    assert!(!after.contains("ready-desired"), "the matrix is gone from the main screen:\n{after}");
    // Cooked mode: typed text echoes and a command runs.
    tmux.type_text("echo typed-$((6*7))");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the shell to run a command", Duration::from_secs(10), |s| s.contains("typed-42"));
}
