//! End-to-end: remembered state (`state.toml`) and the context picker in the real binary
//! (`daemonscope --demo`) inside a detached tmux session with its own server socket (killed at
//! the end, nobody else's). tmux is required: the test fails with a clear message when it is
//! missing (never skips).

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

/// `--demo` with a corrupt `state.toml`: the UI starts with the defaults and says so; the
/// context picker switches to the demo's read-only context; a changed sort is written back
/// (the demo's context is not remembered: it belongs to no real kubeconfig).
#[test]
fn demo_with_corrupt_state_starts_switches_context_and_rewrites_the_state() {
    require_tmux();
    let bin = Path::new(env!("CARGO_BIN_EXE_daemonscope"));
    let home = tempfile::tempdir().expect("tempdir");
    let state_dir = home.path().join("state");
    std::fs::create_dir_all(&state_dir).expect("state dir");
    std::fs::write(state_dir.join("state.toml"), "sort = [unclosed\n").expect("corrupt state");
    let tmux = Tmux { socket: format!("daemonscope-e2e-state-{}", std::process::id()) };
    let env_home = format!("HOME={}", home.path().display());
    let out = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "140",
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
        "DAEMONSCOPE_CONFIG_DIR={home}/config DAEMONSCOPE_STATE_DIR={home}/state {bin} --demo small; echo DAEMONSCOPE-EXIT=$?",
        home = sh_quote(home.path()),
        bin = sh_quote(bin)
    );
    tmux.type_text(&cmd);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the matrix and the state warning", Duration::from_secs(90), |s| {
        s.contains("ready-desired") && s.contains(" live ") && s.contains("state.toml")
    });

    tmux.keys(&["o"]);
    tmux.keys(&["c"]);
    tmux.wait_for("the context picker", Duration::from_secs(10), |s| s.contains("2 of 2"));
    tmux.type_text("readonly");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the read-only context live", Duration::from_secs(60), |s| {
        s.contains("ctx daemonscope-sim-readonly") && s.contains(" live ")
    });

    tmux.keys(&["q"]);
    let after = tmux.wait_for("the exit marker", Duration::from_secs(20), |s| {
        s.lines().any(|l| l.starts_with("DAEMONSCOPE-EXIT="))
    });
    assert!(after.lines().any(|l| l.trim_end() == "DAEMONSCOPE-EXIT=0"), "exit status 0:\n{after}");
    let text = std::fs::read_to_string(state_dir.join("state.toml")).expect("state.toml rewritten");
    assert!(text.contains("sort = \"problems\""), "{text}");
    assert!(!text.contains("context ="), "the demo's context is not remembered: {text}");
    assert!(!text.contains("token"), "{text}");
}

/// The remembered context and namespace apply at start when no flag names them: a simulator
/// (in this process) with its two-context kubeconfig, `state.toml` naming the read-only
/// context and `monitoring`; the header shows both.
#[test]
fn remembered_context_and_namespace_apply_at_start() {
    require_tmux();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let opts = daemonscope::sim::SimOptions { scenario: "mixed".into(), frozen: true, ..Default::default() };
    let sim = rt.block_on(daemonscope::sim::start(opts)).expect("simulator");
    let bin = Path::new(env!("CARGO_BIN_EXE_daemonscope"));
    let home = tempfile::tempdir().expect("tempdir");
    let kubeconfig = home.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let state_dir = home.path().join("state");
    std::fs::create_dir_all(&state_dir).expect("state dir");
    std::fs::write(
        state_dir.join("state.toml"),
        "context = \"daemonscope-sim-readonly\"\nnamespace = \"monitoring\"\n",
    )
    .expect("state");
    let tmux = Tmux { socket: format!("daemonscope-e2e-state2-{}", std::process::id()) };
    let env_home = format!("HOME={}", home.path().display());
    let out = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-x",
        "140",
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
        "DAEMONSCOPE_CONFIG_DIR={home}/config DAEMONSCOPE_STATE_DIR={home}/state {bin} --kubeconfig {kc}; echo DAEMONSCOPE-EXIT=$?",
        home = sh_quote(home.path()),
        bin = sh_quote(bin),
        kc = sh_quote(&kubeconfig),
    );
    tmux.type_text(&cmd);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the remembered scope", Duration::from_secs(90), |s| {
        s.contains("ctx daemonscope-sim-readonly") && s.contains("ns monitoring") && s.contains(" live ")
    });
    tmux.keys(&["q"]);
    let after = tmux.wait_for("the exit marker", Duration::from_secs(20), |s| {
        s.lines().any(|l| l.starts_with("DAEMONSCOPE-EXIT="))
    });
    assert!(after.lines().any(|l| l.trim_end() == "DAEMONSCOPE-EXIT=0"), "exit status 0:\n{after}");
    drop(sim);
}
