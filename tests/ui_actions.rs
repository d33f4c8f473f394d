//! Actions from the keyboard against the REAL simulator: keys go through `update`, the effects
//! are carried out by the same cluster executor the event loop uses (`app::Shell`), its reports
//! are fed back through `update`, and the assertions read the screen (TestBackend), the index,
//! the audit log and the simulator's request counters. Polls with generous deadlines; no timing
//! assertions.

mod common;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use daemonscope::app::actions::Dialog;
use daemonscope::app::{App, AppOptions, Msg};
use daemonscope::cli::ClusterArgs;
use daemonscope::cluster::client::connect_yaml;
use daemonscope::cluster::executor::{Executor, ExecutorOptions};
use daemonscope::fleet::{CellState, Index};
use daemonscope::shell::Shell;
use daemonscope::sim::{self, SimHandle, SimOptions};
use daemonscope::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const DEADLINE: Duration = Duration::from_secs(120);

struct Session {
    sim: SimHandle,
    app: App,
    shell: Shell,
    dir: tempfile::TempDir,
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

async fn start(scenario: &str, readonly: bool) -> Session {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let opts = SimOptions { scenario: scenario.into(), frozen: false, churn: Some(0.0), ..SimOptions::default() };
    let sim = sim::start(opts).await.unwrap_or_else(|e| panic!("starting the simulator: {e:#}"));
    let target = connect_yaml(&sim.kubeconfig_yaml(), "the simulator", &ClusterArgs::default())
        .await
        .unwrap_or_else(|e| panic!("connecting to the simulator: {e}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = Executor::start(
        target,
        ExecutorOptions { source: None, readonly, audit_path: Some(dir.path().join("audit.jsonl")) },
    );
    let mut shell = Shell::from(executor);
    let mut app = App::new(Index::new(), AppOptions { readonly, ..AppOptions::default() });
    shell.feed(&mut app, Msg::Tick(now()));
    shell.feed(&mut app, Msg::Resize(160, 60));
    shell.attach(&mut app);
    let mut s = Session { sim, app, shell, dir };
    s.wait_for("the watches to sync", |app| app.index.synced()).await;
    s
}

impl Session {
    fn key(&mut self, code: KeyCode) {
        self.shell.feed(&mut self.app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    /// Wait for the confirmation's dry run, then send it as a user does.
    async fn yes(&mut self) {
        self.wait_for("the server's dry run", common::ui::dry_run_answered).await;
        common::ui::send_confirmation(&mut self.shell, &mut self.app);
    }

    fn chars(&mut self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Feed whatever arrived (fleet events, action results) and a tick.
    async fn pump(&mut self) {
        self.shell.step(&mut self.app, Duration::from_millis(200)).await;
    }

    async fn wait_for(&mut self, what: &str, mut cond: impl FnMut(&App) -> bool) {
        let start = std::time::Instant::now();
        while !cond(&self.app) {
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}; screen:\n{}", text(&self.app));
            self.pump().await;
        }
    }

    #[allow(dead_code)]
    fn audit(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("audit.jsonl")).unwrap_or_default()
    }

    fn cursor_to(&mut self, ds: &str, state: CellState) -> String {
        common::ui::cursor_to(&mut self.shell, &mut self.app, ds, state)
    }

    fn cursor_pod(&self) -> Option<String> {
        let cell = self.app.index.cell(self.app.cursor_node()?, self.app.cursor_ds()?);
        cell.pod.map(|p| p.name.to_string())
    }

    fn ds_status(&self, ns: &str, name: &str) -> (i64, i32, i32, i32, i64) {
        let id = self.app.index.ds_by_name(ns, name).expect("ds");
        let d = self.app.index.ds(id).expect("ds");
        (d.generation, d.status.desired, d.status.updated, d.status.available, d.status.observed_generation)
    }
}

fn text(app: &App) -> String {
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    term.draw(|f| ui::render(app, f)).expect("draw");
    let buf = term.backend().buffer().clone();
    (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>()).collect::<Vec<_>>().join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_pod_confirms_the_delete_and_the_pod_is_recreated() {
    let mut s = start("mixed", false).await;
    let node = s.cursor_to("kube-proxy", CellState::Ready);
    let old = s.cursor_pod().expect("a pod in the cell");
    s.key(KeyCode::Char('d'));
    let screen = text(&s.app);
    assert!(
        screen.contains(&format!("DELETE /api/v1/namespaces/kube-system/pods/{old}")),
        "the confirmation shows the request:\n{screen}"
    );
    s.yes().await;
    assert!(s.app.dialog().is_none());
    s.wait_for("the pod on the node to be re-created", |app| {
        let (Some(n), Some(d)) = (app.index.node_by_name(&node), app.cursor_ds()) else { return false };
        app.index.cell(n, d).pod.is_some_and(|p| p.name != old)
    })
    .await;
    s.wait_for("the result notice", |app| app.notice.as_ref().is_some_and(|n| n.text.contains("deleted"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esc_cancels_the_confirmation_and_sends_nothing() {
    let mut s = start("mixed", false).await;
    s.cursor_to("datadog-agent", CellState::Failing);
    let before = s.sim.stats().mutating;
    let pod = s.cursor_pod().expect("a pod in the cell");
    s.key(KeyCode::Char('d'));
    assert!(matches!(s.app.dialog().map(|d| &d.dialog), Some(Dialog::Confirm { .. })));
    s.wait_for("the server's dry run", common::ui::dry_run_answered).await;
    s.key(KeyCode::Esc);
    assert!(s.app.dialog().is_none());
    for _ in 0..5 {
        s.pump().await;
    }
    // The dry run (`dryRun=All`, which changes nothing) is the only write-verb request.
    assert_eq!(s.sim.stats().mutating, before + 1, "Esc must send nothing after the dry run");
    assert_eq!(s.cursor_pod(), Some(pod), "the pod is still there");
    assert!(s.app.notice.as_ref().is_some_and(|n| n.text.contains("nothing sent")), "{:?}", s.app.notice);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategy_form_rejects_zero_zero_inline_and_sends_nothing() {
    let mut s = start("mixed", false).await;
    s.cursor_to("kube-proxy", CellState::Ready);
    let before = s.sim.stats().mutating;
    s.key(KeyCode::Char('S'));
    assert!(matches!(s.app.dialog().map(|d| &d.dialog), Some(Dialog::Strategy(_))));
    // maxUnavailable (focused): clear and type 0; maxSurge: clear and type 0.
    for _ in 0..6 {
        s.key(KeyCode::Backspace);
    }
    s.chars("0");
    s.key(KeyCode::Tab);
    for _ in 0..6 {
        s.key(KeyCode::Backspace);
    }
    s.chars("0");
    s.key(KeyCode::Enter);
    let Some(Dialog::Strategy(form)) = s.app.dialog().map(|d| &d.dialog) else { panic!("the form stays open") };
    assert!(!form.errors.is_empty());
    let screen = text(&s.app);
    assert!(screen.contains("update strategy of daemonset kube-system/kube-proxy"), "{screen}");
    assert!(screen.contains(&form.errors[0].message), "the error is shown inline:\n{screen}");
    s.key(KeyCode::Esc);
    for _ in 0..3 {
        s.pump().await;
    }
    assert_eq!(s.sim.stats().mutating, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_mode_sends_no_mutating_request_from_any_dialog() {
    let mut s = start("mixed", true).await;
    let before = s.sim.stats().mutating;
    s.cursor_to("kube-proxy", CellState::Ready);
    for k in ['d', 'D', 'R', 'N'] {
        s.key(KeyCode::Char(k));
        assert!(s.app.dialog().is_none(), "{k} must not open a sending dialog in read-only mode");
    }
    // Views stay; their sending keys refuse.
    s.key(KeyCode::Char('S'));
    s.key(KeyCode::Enter);
    s.key(KeyCode::Esc);
    s.cursor_to("fluent-bit", CellState::Ready);
    s.key(KeyCode::Char('H'));
    s.key(KeyCode::Up);
    s.key(KeyCode::Char('u'));
    s.key(KeyCode::Esc);
    for _ in 0..5 {
        s.pump().await;
    }
    assert!(text(&s.app).contains("read-only"));
    assert_eq!(s.sim.stats().mutating, before, "no POST/PUT/PATCH/DELETE in read-only mode");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_restart_sets_restarted_at_and_the_status_view_sees_it_complete() {
    let mut s = start("small", false).await;
    s.cursor_to("kube-proxy", CellState::Ready);
    let (gen_before, ..) = s.ds_status("kube-system", "kube-proxy");
    s.key(KeyCode::Char('R'));
    let screen = text(&s.app);
    assert!(screen.contains("PATCH /apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy"), "{screen}");
    assert!(screen.contains("kubectl.kubernetes.io/restartedAt"), "{screen}");
    s.yes().await;
    s.key(KeyCode::Char('r'));
    assert!(s.app.status_view().is_some());
    s.wait_for("the new generation", |app| {
        let id = app.index.ds_by_name("kube-system", "kube-proxy");
        id.and_then(|id| app.index.ds(id)).is_some_and(|d| d.generation > gen_before)
    })
    .await;
    s.wait_for("the rollout to complete", |app| {
        app.status_view().and_then(|v| v.progress).is_some_and(|p| p.status.done())
    })
    .await;
    let screen = text(&s.app);
    assert!(screen.contains("successfully rolled out"), "{screen}");
    s.key(KeyCode::Esc);
    assert!(s.app.status_view().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_lists_revisions_and_undo_restores_the_earlier_template() {
    let mut s = start("small", false).await;
    s.cursor_to("fluent-bit", CellState::Ready);
    s.wait_for("two revisions in the index", |app| {
        app.index.ds_by_name("logging", "fluent-bit").is_some_and(|id| app.index.revisions(id).len() >= 2)
    })
    .await;
    s.key(KeyCode::Char('H'));
    let screen = text(&s.app);
    assert!(screen.contains("rollout history of daemonset logging/fluent-bit"), "{screen}");
    assert!(screen.contains("(current)"), "{screen}");
    assert!(screen.contains("fluent-bit:3.1.8"), "{screen}");
    s.key(KeyCode::Up);
    s.key(KeyCode::Char('u'));
    s.wait_for("the undo confirmation", |app| matches!(app.dialog().map(|d| &d.dialog), Some(Dialog::Confirm { .. })))
        .await;
    assert!(text(&s.app).contains("PATCH /apis/apps/v1/namespaces/logging/daemonsets/fluent-bit"));
    s.yes().await;
    s.wait_for("the template back on 3.1.8", |app| {
        let id = app.index.ds_by_name("logging", "fluent-bit");
        id.and_then(|id| app.index.ds(id)).is_some_and(|d| d.images.iter().any(|i| i.ends_with(":3.1.8")))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roll_this_node_replaces_the_outdated_pod_of_an_on_delete_daemonset() {
    let mut s = start("mixed", false).await;
    let node = s.cursor_to("falco", CellState::Outdated);
    s.key(KeyCode::Char('N'));
    assert!(text(&s.app).contains(&format!("roll this node ({node})")));
    s.key(KeyCode::Char('t'));
    s.wait_for("the roll confirmation", |app| matches!(app.dialog().map(|d| &d.dialog), Some(Dialog::Confirm { .. })))
        .await;
    let screen = text(&s.app);
    assert!(screen.contains("DELETE /api/v1/namespaces/security/pods/"), "{screen}");
    assert!(screen.contains(&format!("on {node}")), "{screen}");
    s.yes().await;
    assert!(s.app.task.is_some(), "the roll runs as a task");
    s.wait_for("the roll to finish", |app| app.task.is_none()).await;
    let notice = s.app.notice.clone().expect("a result notice");
    assert!(notice.text.contains("1 of 1 nodes rolled"), "{notice:?}");
    s.wait_for("the cell to be up to date", |app| {
        let (Some(n), Some(d)) = (app.index.node_by_name(&node), app.cursor_ds()) else { return false };
        app.index.cell(n, d).state == CellState::Ready
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_restart_of_failing_pods_reports_progress_and_esc_cancels_it() {
    let mut s = start("mixed", false).await;
    s.cursor_to("datadog-agent", CellState::Failing);
    s.key(KeyCode::Char('D'));
    let screen = text(&s.app);
    assert!(screen.contains("failing pods of daemonset monitoring/datadog-agent"), "{screen}");
    s.yes().await;
    s.wait_for("the first step", |app| app.task.as_ref().is_some_and(|t| t.done >= 1)).await;
    assert!(text(&s.app).contains("Esc cancels"));
    s.key(KeyCode::Esc);
    s.wait_for("the batch to stop", |app| app.task.is_none()).await;
    let notice = s.app.notice.clone().expect("a result notice");
    assert!(notice.text.contains("restarted") && notice.text.contains("cancelled"), "{notice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_records_intent_before_the_request_and_the_result_after_in_a_private_file() {
    let mut s = start("mixed", false).await;
    s.cursor_to("kube-proxy", CellState::Ready);
    s.key(KeyCode::Char('R'));
    s.yes().await;
    s.wait_for("the result notice", |app| app.notice.as_ref().is_some_and(|n| n.text.contains("restarted"))).await;
    let lines: Vec<serde_json::Value> =
        s.audit().lines().map(|l| serde_json::from_str(l).expect("an audit line is JSON")).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["phase"], "intent");
    assert_eq!(lines[1]["phase"], "result");
    assert_eq!(lines[0]["id"], lines[1]["id"], "one action, one id");
    assert!(
        lines[0]["body"]["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string()
    );
    assert!(lines[0]["server"].as_str().is_some_and(|u| u.starts_with("http")), "{:?}", lines[0]);
    assert_eq!(lines[1]["result"], "ok");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.dir.path().join("audit.jsonl")).expect("audit file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the audit log is private");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_private_state_directory_mutations_are_refused_before_anything_is_sent() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let opts = SimOptions { scenario: "small".into(), frozen: true, churn: Some(0.0), ..SimOptions::default() };
    let sim = sim::start(opts).await.unwrap_or_else(|e| panic!("starting the simulator: {e:#}"));
    let target = connect_yaml(&sim.kubeconfig_yaml(), "the simulator", &ClusterArgs::default())
        .await
        .unwrap_or_else(|e| panic!("connecting to the simulator: {e}"));
    let mut shell =
        Shell::from(Executor::start(target, ExecutorOptions { audit_path: None, ..ExecutorOptions::default() }));
    let mut app = App::new(Index::new(), AppOptions::default());
    shell.feed(&mut app, Msg::Tick(now()));
    shell.feed(&mut app, Msg::Resize(160, 60));
    shell.attach(&mut app);
    let start = std::time::Instant::now();
    while !app.index.synced() {
        assert!(start.elapsed() < DEADLINE, "sync");
        shell.step(&mut app, Duration::from_millis(200)).await;
    }
    let before = sim.stats().mutating;
    shell.feed(&mut app, Msg::Key(KeyEvent::new(KeyCode::Char('R'), KeyModifiers::NONE)));
    let start = std::time::Instant::now();
    while !common::ui::dry_run_answered(&app) {
        assert!(start.elapsed() < DEADLINE, "the dry run's answer");
        shell.step(&mut app, Duration::from_millis(200)).await;
    }
    shell.feed(&mut app, Msg::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE)));
    let start = std::time::Instant::now();
    while !app.notice.as_ref().is_some_and(|n| n.text.contains("refused")) {
        assert!(start.elapsed() < DEADLINE, "a refusal; notice {:?}", app.notice);
        shell.step(&mut app, Duration::from_millis(200)).await;
    }
    assert!(app.notice.as_ref().is_some_and(|n| n.text.contains("state directory")), "{:?}", app.notice);
    assert_eq!(sim.stats().mutating, before, "nothing was sent, not even a dry run");
}
