//! End-to-end: `daemonscope --demo small` in a detached tmux session; rollout restart the
//! cursor DaemonSet (`R`, confirm with `y`), open the rollout status view (`r`) and watch it
//! reach kubectl's "successfully rolled out"; the audit log in the state dir holds the action.
//! Helpers copied from `e2e_tmux.rs`. tmux is required (the test fails, never skips, without it);
//! it uses its own tmux server socket and kills only that server.

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
fn demo_rollout_restart_is_confirmed_and_the_status_view_sees_it_complete() {
    require_tmux();
    let bin = Path::new(env!("CARGO_BIN_EXE_daemonscope"));
    let home = tempfile::tempdir().expect("tempdir");
    let tmux = Tmux { socket: format!("daemonscope-e2e-rollout-{}", std::process::id()) };
    let env_home = format!("HOME={}", home.path().display());
    let out = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "140",
        "-y",
        "40",
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
        "DAEMONSCOPE_CONFIG_DIR={home}/config DAEMONSCOPE_STATE_DIR={home}/state {bin} --demo small; echo DAEMONSCOPE-EXIT=$?",
        home = sh_quote(home.path()),
        bin = sh_quote(bin)
    );
    tmux.type_text(&cmd);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the matrix with its pods", Duration::from_secs(60), |s| {
        s.contains("general-03") && s.contains("ready 4/4")
    });

    // The cursor starts on the first column; rollout restart it.
    tmux.keys(&["R"]);
    let screen = tmux.wait_for("the confirmation", Duration::from_secs(10), |s| s.contains("confirm: rollout restart"));
    assert!(screen.contains("PATCH /apis/apps/v1/namespaces/"), "{screen}");
    assert!(screen.contains("restartedAt"), "{screen}");
    tmux.keys(&["y"]);
    tmux.wait_for("the result notice", Duration::from_secs(30), |s| s.contains("restarted; pods roll"));
    tmux.keys(&["r"]);
    tmux.wait_for("the status view", Duration::from_secs(10), |s| s.contains("rollout status: daemonset"));
    tmux.wait_for("the rollout in progress", Duration::from_secs(60), |s| s.contains("Waiting for daemon set"));
    tmux.wait_for("the rollout to finish", Duration::from_secs(180), |s| s.contains("successfully rolled out"));

    let audit = std::fs::read_to_string(home.path().join("state/audit.jsonl")).expect("the audit log exists");
    assert!(audit.contains("rollout") && audit.contains("\"ok\""), "{audit}");

    tmux.keys(&["Escape"]);
    // Escape and q in one burst read as Alt-q; the view closing is the sign Esc arrived alone.
    tmux.wait_for("the status view to close", Duration::from_secs(10), |s| !s.contains("rollout status: daemonset"));
    tmux.keys(&["q"]);
    tmux.wait_for("the shell again", Duration::from_secs(20), |s| s.contains("DAEMONSCOPE-EXIT=0"));
}
