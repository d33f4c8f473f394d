//! The real binary in a detached tmux session: start it in a terminal of a given size, send
//! keys, read the screen, wait for text, read the pane title and the exit code.
//!
//! tmux is required: a test fails with a clear message when it is missing (it is never
//! skipped). A wait that times out panics at the test's line with the last screen. Each session has its own tmux server (a private socket), and dropping the session
//! kills that server only.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::sandbox::{BIN, Sandbox};

const SESSION: &str = "e2e";
/// The prompt of the shell the binary runs in.
const PROMPT: &str = "e2e-shell$ ";
/// The shell prints this and the exit code when the binary ends.
const EXIT_MARKER: &str = "DAEMONSCOPE-EXIT=";
/// How often the screen is read while waiting.
const POLL: Duration = Duration::from_millis(200);
/// For the shell, which answers at once.
const SHELL_WAIT: Duration = Duration::from_secs(10);

/// One detached tmux session (a shell) on its own tmux server.
pub struct Session {
    socket: String,
}

impl Session {
    /// A `width`×`height` session running the built binary with `args`, inside a plain shell
    /// whose HOME is the sandbox; the binary's environment is the sandbox's plus `env`. Once
    /// the binary ends, the shell prints its exit code (see [`Session::exit_code`]) and its
    /// prompt again.
    pub fn daemonscope(width: u16, height: u16, sandbox: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Session {
        let session = Session::shell(width, height, sandbox.home());
        let sandbox_env = sandbox.env().into_iter().map(|(k, v)| format!("{k}={}", sh_quote(&v.to_string_lossy())));
        let extra_env = env.iter().map(|(k, v)| format!("{k}={}", sh_quote(v)));
        let argv = std::iter::once(BIN).chain(args.iter().copied()).map(sh_quote);
        let words: Vec<String> = sandbox_env.chain(extra_env).chain(argv).collect();
        session.run_in_shell(&format!("{}; echo {EXIT_MARKER}$?", words.join(" ")));
        session
    }

    /// A `width`×`height` session running a plain `sh` with a known prompt, a minimal
    /// environment and `home` as HOME; returns once the prompt shows.
    pub fn shell(width: u16, height: u16, home: &Path) -> Session {
        require_tmux();
        static SESSIONS: AtomicUsize = AtomicUsize::new(0);
        let n = SESSIONS.fetch_add(1, Ordering::Relaxed);
        let session = Session { socket: format!("daemonscope-test-{}-{n}", std::process::id()) };
        let (width, height) = (width.to_string(), height.to_string());
        let (ps1, home) = (format!("PS1={PROMPT}"), format!("HOME={}", home.display()));
        let shell = ["env", "-i", "PATH=/usr/bin:/bin", "TERM=xterm-256color", &ps1, &home, "sh"];
        let mut args = vec!["new-session", "-d", "-s", SESSION, "-x", &width, "-y", &height];
        args.extend_from_slice(&shell);
        session.tmux(&args);
        session.wait_for(PROMPT.trim_end(), SHELL_WAIT);
        session
    }

    /// Type a command line into the shell and press Enter.
    pub fn run_in_shell(&self, line: &str) {
        self.type_text(line);
        self.send_keys(&["Enter"]);
    }

    /// Keys by tmux's names (`Enter`, `Escape`, `C-c`, `q`…).
    pub fn send_keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Resize the window (the program gets SIGWINCH), as a user dragging the terminal would.
    pub fn resize(&self, width: u16, height: u16) {
        let (w, h) = (width.to_string(), height.to_string());
        self.tmux(&["resize-window", "-t", SESSION, "-x", &w, "-y", &h]);
    }

    /// Literal text, no key names.
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", SESSION, "-l", text]);
    }

    /// The visible screen as plain text (no colours), one line per row.
    pub fn capture(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", SESSION]).stdout).into_owned()
    }

    /// Wait until the screen contains `text`; returns that screen, or panics with the last
    /// screen once `within` has passed.
    #[track_caller]
    pub fn wait_for(&self, text: &str, within: Duration) -> String {
        self.wait_until(&format!("{text:?}"), within, |screen| screen.contains(text))
    }

    /// Wait until `ready` holds for the screen; returns that screen, or panics naming `what`
    /// with the last screen once `within` has passed.
    #[track_caller]
    pub fn wait_until(&self, what: &str, within: Duration, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if ready(&screen) {
                return screen;
            }
            if start.elapsed() > within {
                panic!("timed out after {within:?} waiting for {what}; the screen was:\n{screen}");
            }
            sleep(POLL);
        }
    }

    /// The pane's title, as the program in it set it (`tmux display -p '#{pane_title}'`).
    pub fn pane_title(&self) -> String {
        self.display("#{pane_title}")
    }

    /// The pid of the program the shell in the pane runs now (its one child), if any.
    pub fn program_pid(&self) -> Option<u32> {
        let shell = self.display("#{pane_pid}");
        let out = std::process::Command::new("pgrep").args(["-P", &shell]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).lines().next()?.trim().parse().ok()
    }

    /// Whether the terminal shows the alternate screen.
    pub fn alternate_screen(&self) -> bool {
        self.display("#{alternate_on}") == "1"
    }

    /// Wait for the binary to end (the shell's exit marker) and return its exit code.
    #[track_caller]
    pub fn exit_code(&self, within: Duration) -> i32 {
        let screen = self.wait_until("the exit marker", within, |screen| exit_marker(screen).is_some());
        exit_marker(&screen).expect("the exit marker")
    }

    /// After the binary has ended: the alternate screen is off and the terminal is in cooked
    /// mode again (the shell echoes a typed command and runs it).
    #[track_caller]
    pub fn assert_shell_is_back(&self) {
        assert!(!self.alternate_screen(), "the alternate screen is left; the screen:\n{}", self.capture());
        self.run_in_shell("echo typed-$((6*7))");
        self.wait_for("typed-42", SHELL_WAIT);
    }

    fn display(&self, format: &str) -> String {
        String::from_utf8_lossy(&self.tmux(&["display-message", "-p", "-t", SESSION, format]).stdout).trim().to_string()
    }

    /// Run a tmux command on this session's server; panics when it fails.
    fn tmux(&self, args: &[&str]) -> Output {
        let out = self.tmux_unchecked(args);
        assert!(out.status.success(), "tmux {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    fn tmux_unchecked(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running tmux {args:?}: {e}"))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Only this session's own server, never anyone else's.
        let _ = self.tmux_unchecked(&["kill-server"]);
    }
}

/// Fails the test, with what to do, when tmux is missing: never a silent skip.
pub fn require_tmux() {
    match Command::new("tmux").arg("-V").output() {
        Ok(o) if o.status.success() => {}
        _ => panic!(
            "tmux is required for this end-to-end test and was not found on PATH; install it \
             (apt-get install tmux) — this test is never skipped"
        ),
    }
}

/// The exit code in the last marker line. The typed command line holds the marker too, but
/// followed by `$?`, never by a number.
fn exit_marker(screen: &str) -> Option<i32> {
    screen.lines().rev().find_map(|line| line.trim_end().strip_prefix(EXIT_MARKER)?.parse().ok())
}

/// One word for `sh`, whatever it holds.
fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}
