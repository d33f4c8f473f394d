//! The real app against a simulator, driven by keys through the shell as the event loop does,
//! and drawn on ratatui's `TestBackend`: the rig of the UI tests that need a live cluster.

use std::time::Duration;

use crossterm::event::KeyCode;
use daemonscope::app::actions::{Dialog, DryRunState};
use daemonscope::app::{App, AppOptions, Msg};
use daemonscope::cli::ClusterArgs;
use daemonscope::cluster::client::connect_yaml;
use daemonscope::cluster::executor::{Executor, ExecutorOptions};
use daemonscope::config::Config;
use daemonscope::fleet::{CellState, Index};
use daemonscope::shell::Shell;
use daemonscope::sim::{self, SimHandle, SimOptions};
use daemonscope::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const DEADLINE: Duration = Duration::from_secs(120);

pub struct Rig {
    pub sim: SimHandle,
    pub app: App,
    pub shell: Shell,
    pub dir: tempfile::TempDir,
}

/// The app on `context` of a new simulator of `scenario` without churn, synced.
pub async fn rig(scenario: &str, context: &str, config: Config) -> Rig {
    rig_with(SimOptions { scenario: scenario.into(), churn: Some(0.0), ..SimOptions::default() }, context, config).await
}

/// [`rig`] on a simulator started with `opts` (`tls: true` for kubectl beside the app: it
/// sends no token over plain HTTP).
pub async fn rig_with(opts: SimOptions, context: &str, config: Config) -> Rig {
    rig_in(opts, context, None, config).await
}

/// [`rig_with`] scoped to `namespace` (`-n`), as a namespace-bound user runs it.
pub async fn rig_in(opts: SimOptions, context: &str, namespace: Option<&str>, config: Config) -> Rig {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = sim::start(opts).await.unwrap_or_else(|e| panic!("starting the simulator: {e:#}"));
    let args =
        ClusterArgs { context: Some(context.into()), namespace: namespace.map(Into::into), ..ClusterArgs::default() };
    let target = connect_yaml(&sim.kubeconfig_yaml(), "the simulator", &args)
        .await
        .unwrap_or_else(|e| panic!("connecting to the simulator: {e}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let audit_path = Some(dir.path().join("audit.jsonl"));
    let mut shell = Shell::from(Executor::start(target, ExecutorOptions { source: None, readonly: false, audit_path }));
    let mut app = App::new(
        Index::new(),
        AppOptions { context: context.into(), namespace: namespace.map(Into::into), config, ..AppOptions::default() },
    );
    shell.feed(&mut app, Msg::Tick(jiff::Timestamp::now().as_second()));
    shell.feed(&mut app, Msg::Resize(160, 60));
    shell.attach(&mut app);
    let mut r = Rig { sim, app, shell, dir };
    r.wait_for("the watches to sync", |a| a.index.synced()).await;
    r
}

impl Rig {
    pub fn key(&mut self, code: KeyCode) {
        super::ui::press(&mut self.shell, &mut self.app, code);
    }

    pub fn chars(&mut self, s: &str) {
        s.chars().for_each(|c| self.key(KeyCode::Char(c)));
    }

    pub async fn wait_for(&mut self, what: &str, mut cond: impl FnMut(&App) -> bool) {
        let start = std::time::Instant::now();
        while !cond(&self.app) {
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}; screen:\n{}", screen(&self.app));
            self.shell.step(&mut self.app, Duration::from_millis(100)).await;
        }
    }

    pub fn cursor_to(&mut self, ds: &str, state: CellState) -> String {
        super::ui::cursor_to(&mut self.shell, &mut self.app, ds, state)
    }

    pub fn dry_run(&self) -> Option<DryRunState> {
        match self.app.dialog().map(|d| &d.dialog) {
            Some(Dialog::Confirm { dry_run, .. }) => Some(dry_run.state.clone()),
            _ => None,
        }
    }

    pub fn writes(&self, verb: &str) -> u64 {
        self.sim.stats().by_verb.get(verb).copied().unwrap_or(0)
    }

    pub fn notice(&self) -> String {
        self.app.notice.as_ref().map(|n| n.text.clone()).unwrap_or_default()
    }
}

pub fn screen(app: &App) -> String {
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    term.draw(|f| ui::render(app, f)).expect("draw");
    let buf = term.backend().buffer().clone();
    (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>()).collect::<Vec<_>>().join("\n")
}

/// A line of the screen with everything but single spaces squeezed out (dialog borders and
/// wrapping aside, the text reads as written).
pub fn flat(app: &App) -> String {
    screen(app).split_whitespace().collect::<Vec<_>>().join(" ")
}
