//! The right cluster, always: with two REAL simulators in one kubeconfig, start on `small`,
//! switch to `mixed` with `c`, and drive every mutating key (`R`, `d`, `D`, `H`+undo, `S`, `N`)
//! through `update` and the same cluster executor the event loop uses. The simulators' own
//! request counters are the independent witness: every request lands on `mixed`, none on
//! `small`, and the audit log names `mixed`. A plan made on `small` and sent after the switch
//! is refused and never reaches either cluster.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use daemonscope::app::actions::Dialog;
use daemonscope::app::msg::{Command, Report, SessionId, Work};
use daemonscope::app::{App, AppOptions, Msg};
use daemonscope::cli::ClusterArgs;
use daemonscope::cluster::actions::{AuditLog, plan};
use daemonscope::cluster::client;
use daemonscope::cluster::executor::{Executor, ExecutorOptions, KubeSource};
use daemonscope::fleet::{CellState, Index};
use daemonscope::shell::Shell;
use daemonscope::sim::{self, SimHandle, SimOptions};

const DEADLINE: Duration = Duration::from_secs(120);

async fn start(scenario: &str) -> SimHandle {
    let opts = SimOptions { scenario: scenario.into(), frozen: false, churn: Some(0.0), ..SimOptions::default() };
    sim::start(opts).await.unwrap_or_else(|e| panic!("starting the simulator ({scenario}): {e:#}"))
}

struct Rig {
    small: SimHandle,
    mixed: SimHandle,
    app: App,
    shell: Shell,
    audit: AuditLog,
    _dir: tempfile::TempDir,
}

/// Mutating requests by verb, as the simulator counted them.
fn writes(h: &SimHandle) -> BTreeMap<String, u64> {
    let s = h.stats();
    s.by_verb.into_iter().filter(|(v, _)| matches!(v.as_str(), "create" | "update" | "patch" | "delete")).collect()
}

impl Rig {
    async fn start() -> Rig {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let small = start("small").await;
        let mixed = start("mixed").await;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kubeconfig");
        std::fs::write(&path, common::sim::multi_cluster_kubeconfig(&[("small", &small), ("mixed", &mixed)], false))
            .expect("write kubeconfig");
        let args = ClusterArgs { kubeconfig: Some(path), ..ClusterArgs::default() };
        let target = client::connect(&args).await.unwrap_or_else(|e| panic!("connect: {e}"));
        assert_eq!(target.context, "small");
        let audit_path = dir.path().join("audit.jsonl");
        let options = ExecutorOptions {
            source: Some(KubeSource::Args(args)),
            readonly: false,
            audit_path: Some(audit_path.clone()),
        };
        let mut shell = Shell::from(Executor::start(target, options));
        let mut app = App::new(Index::new(), AppOptions::default());
        shell.feed(&mut app, Msg::Tick(jiff::Timestamp::now().as_second()));
        shell.feed(&mut app, Msg::Resize(160, 60));
        shell.attach(&mut app);
        let mut rig = Rig { small, mixed, app, shell, audit: AuditLog::new(audit_path), _dir: dir };
        rig.wait_for("small to sync", |a| a.context == "small" && a.index.synced()).await;
        rig
    }

    fn key(&mut self, code: KeyCode) {
        self.shell.feed(&mut self.app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    fn chars(&mut self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    async fn wait_for(&mut self, what: &str, mut cond: impl FnMut(&App) -> bool) {
        let start = std::time::Instant::now();
        while !cond(&self.app) {
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}; notice: {:?}", self.app.notice);
            self.shell.step(&mut self.app, Duration::from_millis(200)).await;
        }
    }

    async fn switch_to_mixed(&mut self) {
        self.key(KeyCode::Char('c'));
        self.wait_for("the context list", |a| {
            a.layers.iter().any(|l| matches!(l, daemonscope::app::Layer::Picker(p) if !p.loading))
        })
        .await;
        self.chars("mixed");
        self.key(KeyCode::Enter);
        self.wait_for("mixed to sync", |a| a.context == "mixed" && a.index.synced()).await;
    }

    fn cursor_to(&mut self, ds: &str, state: CellState) {
        common::ui::cursor_to(&mut self.shell, &mut self.app, ds, state);
    }

    fn confirming(&self) -> bool {
        matches!(self.app.dialog().map(|d| &d.dialog), Some(Dialog::Confirm { .. }))
    }

    /// Confirm the open confirmation (it must name mixed) and wait for `verb` to reach mixed.
    async fn confirm_and_see(&mut self, verb: &str) {
        self.wait_for("the confirmation", |a| matches!(a.dialog().map(|d| &d.dialog), Some(Dialog::Confirm { .. })))
            .await;
        let d = self.app.dialog().expect("dialog");
        assert_eq!(d.context, "mixed", "the confirmation belongs to the cluster on screen");
        let before = writes(&self.mixed).get(verb).copied().unwrap_or(0);
        self.wait_for("the server's dry run", common::ui::dry_run_answered).await;
        common::ui::send_confirmation(&mut self.shell, &mut self.app);
        let mixed = &self.mixed;
        let start = std::time::Instant::now();
        while writes(mixed).get(verb).copied().unwrap_or(0) <= before {
            assert!(start.elapsed() < DEADLINE, "no {verb} reached mixed; notice: {:?}", self.app.notice);
            self.shell.step(&mut self.app, Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_context_switch_every_action_goes_to_the_new_cluster_only() {
    let mut r = Rig::start().await;
    r.switch_to_mixed().await;
    let small_before = writes(&r.small);

    // R: rollout restart.
    r.cursor_to("kube-proxy", CellState::Ready);
    r.key(KeyCode::Char('R'));
    r.confirm_and_see("patch").await;

    // d: restart one pod (of another DaemonSet: kube-proxy is rolling now).
    r.cursor_to("node-exporter", CellState::Ready);
    r.key(KeyCode::Char('d'));
    r.confirm_and_see("delete").await;

    // D: restart the failing pods (paced); Esc stops the batch after its first delete.
    r.cursor_to("datadog-agent", CellState::Failing);
    r.key(KeyCode::Char('D'));
    r.confirm_and_see("delete").await;
    r.key(KeyCode::Esc);
    r.wait_for("the batch to stop", |a| a.task.is_none()).await;

    // S: the strategy form as it is, reviewed and sent.
    r.cursor_to("aws-node", CellState::Ready);
    r.key(KeyCode::Char('S'));
    r.key(KeyCode::Enter);
    r.confirm_and_see("patch").await;

    // N: roll this node of the OnDelete DaemonSet.
    r.cursor_to("falco", CellState::Outdated);
    r.key(KeyCode::Char('N'));
    r.key(KeyCode::Char('t'));
    r.confirm_and_see("delete").await;
    r.key(KeyCode::Esc);
    r.wait_for("the roll to stop", |a| a.task.is_none()).await;

    // H + undo: back to falco's earlier revision.
    r.cursor_to("falco", CellState::Ready);
    r.key(KeyCode::Char('H'));
    assert!(matches!(r.app.dialog().map(|d| &d.dialog), Some(Dialog::History { .. })), "{:?}", r.app.notice);
    r.key(KeyCode::Up);
    r.key(KeyCode::Char('u'));
    r.confirm_and_see("patch").await;
    assert!(!r.confirming());

    assert_eq!(writes(&r.small), small_before, "not one write reached the cluster the program started on");
    let entries = r.audit.read_all().expect("audit log");
    assert!(entries.len() >= 6, "{entries:?}");
    for e in &entries {
        assert_eq!(e.context, "mixed", "every audit line names the cluster it went to: {e:?}");
        assert_eq!(e.user, "mixed-admin", "{e:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_made_before_the_switch_is_refused_and_sent_nowhere() {
    let mut r = Rig::start().await;
    let planned_on = r.app.session;
    // A confirmation open on small is closed by the switch, with a notice.
    r.cursor_to("kube-proxy", CellState::Ready);
    r.key(KeyCode::Char('R'));
    assert!(r.confirming());
    let plan = match r.app.dialog().map(|d| &d.dialog) {
        Some(Dialog::Confirm { work: Work::Execute { plan: p, .. }, .. }) => p.clone(),
        other => panic!("a rollout restart plan, got {}", other.is_some()),
    };
    r.key(KeyCode::Esc);
    r.switch_to_mixed().await;
    assert_ne!(r.app.session, planned_on);
    let (small_before, mixed_before) = (writes(&r.small), writes(&r.mixed));

    // The race the app cannot see: work planned on small reaches the executor after the switch.
    r.shell.executor.run(Command::Work { session: planned_on, work: Work::Execute { plan, dry_run: true } });
    let report = tokio::time::timeout(DEADLINE, r.shell.executor.next(0)).await.expect("a report");
    match report {
        Report::Refused { session, why, .. } => {
            assert_eq!(session, planned_on);
            assert!(why.contains("context small") && why.contains("context mixed"), "{why}");
        }
        other => panic!("refused, got {other:?}"),
    }
    for _ in 0..5 {
        r.shell.step(&mut r.app, Duration::from_millis(100)).await;
    }
    assert_eq!(writes(&r.small), small_before, "nothing reached small");
    assert_eq!(writes(&r.mixed), mixed_before, "nothing reached mixed");
    let entries = r.audit.read_all().expect("audit log");
    let last = entries.last().expect("the refusal is audited");
    assert_eq!(last.context, "small", "{last:?}");
    assert!(last.result.starts_with("refused:"), "{last:?}");

    // A session id that never existed is refused the same way.
    let p = plan::rollout_restart("kube-system", "kube-proxy", jiff::Timestamp::now());
    r.shell.executor.run(Command::Work { session: SessionId(999), work: Work::Execute { plan: p, dry_run: true } });
    let report = tokio::time::timeout(DEADLINE, r.shell.executor.next(0)).await.expect("a report");
    assert!(matches!(report, Report::Refused { .. }), "{report:?}");
    assert_eq!(writes(&r.mixed), mixed_before);
}
