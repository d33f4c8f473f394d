//! End-to-end log pane: the real binary (`daemonscope --demo`) in a detached tmux session opens
//! a log pane with `l`, sees lines arrive, searches, saves to the state directory, closes with
//! Esc, quits, and the terminal is given back. tmux is required (never skipped); the test uses
//! its own tmux server socket and kills only that server.

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
fn demo_log_pane_opens_shows_lines_searches_saves_closes_and_quits() {
    require_tmux();
    let bin = Path::new(env!("CARGO_BIN_EXE_daemonscope"));
    let home = tempfile::tempdir().expect("tempdir");
    let tmux = Tmux { socket: format!("daemonscope-e2e-logs-{}", std::process::id()) };
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
    tmux.wait_for("the matrix", Duration::from_secs(90), |s| {
        s.contains("ready-desired") && s.contains("live") && !s.contains("Listing nodes")
    });

    // Only the kube-proxy column (it runs on every node), cursor on the first row: `l`.
    tmux.keys(&["/"]);
    tmux.type_text("kube-proxy");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the kube-proxy column", Duration::from_secs(10), |s| s.contains("kube-system/kube-proxy"));
    tmux.keys(&["l"]);
    let pane = tmux.wait_for("log lines in the pane", Duration::from_secs(60), |s| {
        s.contains("logs kube-system/kube-proxy") && s.contains("FOLLOW") && s.contains("proxier.go")
    });
    assert!(pane.contains("search"), "the footer shows the pane's keys:\n{pane}");

    // Search: the status line counts the matches.
    tmux.keys(&["/"]);
    tmux.type_text("SyncProxyRules");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the search in the status line", Duration::from_secs(10), |s| {
        s.contains("/SyncProxyRules") && s.contains("matches")
    });

    // Save: the path is shown and the file is in the state directory.
    tmux.keys(&["s"]);
    tmux.wait_for("the saved path", Duration::from_secs(10), |s| s.contains("saved to"));
    let saved: Vec<_> = std::fs::read_dir(home.path().join("state").join("logs"))
        .expect("<state dir>/logs exists")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("kube-system_kube-proxy"))
        .collect();
    assert_eq!(saved.len(), 1, "one saved buffer");
    let text = std::fs::read_to_string(saved[0].path()).expect("saved file");
    assert!(text.contains("proxier.go"), "the saved buffer holds the log lines");

    // Esc closes the pane: the matrix is whole again.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the pane to close", Duration::from_secs(10), |s| {
        !s.contains("logs kube-system/kube-proxy") && s.contains("ready-desired")
    });

    tmux.keys(&["q"]);
    let after = tmux.wait_for("the exit marker", Duration::from_secs(20), |s| {
        s.lines().any(|l| l.starts_with("DAEMONSCOPE-EXIT="))
    });
    assert!(after.lines().any(|l| l.trim_end() == "DAEMONSCOPE-EXIT=0"), "exit status 0:\n{after}");
    let alt = tmux.run(&["display-message", "-p", "-t", SESSION, "#{alternate_on}"]);
    assert_eq!(String::from_utf8_lossy(&alt.stdout).trim(), "0", "the alternate screen is left");
    tmux.type_text("echo typed-$((6*7))");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the shell to run a command", Duration::from_secs(10), |s| s.contains("typed-42"));
}
