//! The UI against the REAL simulator (scenario `mixed`, frozen clock): the watch streams feed
//! `update` exactly as the event loop does, keys go through `update`, and the assertions read
//! the TestBackend buffer. Polls with generous deadlines; no timing assertions.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use daemonscope::app::{App, AppOptions, Msg, update};
use daemonscope::cluster::watch::spawn_watches;
use daemonscope::fleet::model::FleetEvent;
use daemonscope::fleet::{CellState, Index};
use daemonscope::shell::run_loop;
use daemonscope::sim::{self, SimHandle, SimOptions};
use daemonscope::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(90);

struct Connected {
    _sim: SimHandle,
    app: App,
    /// Kept open so the watch tasks keep running for the test's length.
    _rx: mpsc::Receiver<FleetEvent>,
    cancel: CancellationToken,
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Start `mixed` frozen, connect the watches and feed the app until every stream listed.
async fn connect(w: u16, h: u16) -> Connected {
    let opts = SimOptions { scenario: "mixed".into(), frozen: true, churn: Some(0.0), ..SimOptions::default() };
    let sim = sim::start(opts).await.unwrap_or_else(|e| panic!("starting the simulator: {e:#}"));
    let client = sim.client().await.unwrap_or_else(|e| panic!("client for the simulator: {e:#}"));
    let (tx, mut rx) = mpsc::channel(4096);
    let cancel = CancellationToken::new();
    spawn_watches(client, None, tx, cancel.clone());
    let mut app = App::new(Index::new(), AppOptions { context: "daemonscope-sim".into(), ..AppOptions::default() });
    update(&mut app, Msg::Tick(now()));
    update(&mut app, Msg::Resize(w, h));
    let start = std::time::Instant::now();
    while !app.index.synced() {
        assert!(start.elapsed() < DEADLINE, "the watches did not sync within {DEADLINE:?}");
        if let Ok(Some(first)) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
            let mut batch = vec![first];
            while let Ok(ev) = rx.try_recv() {
                batch.push(ev);
            }
            update(&mut app, Msg::Fleet(batch));
        }
    }
    // Whatever arrived with the sync (frozen clock: nothing further changes).
    let mut batch = Vec::new();
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await {
        batch.push(ev);
        while let Ok(ev) = rx.try_recv() {
            batch.push(ev);
        }
    }
    update(&mut app, Msg::Fleet(batch));
    Connected { _sim: sim, app, _rx: rx, cancel }
}

fn key(app: &mut App, code: KeyCode) {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn chars(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn screen(app: &App) -> Vec<String> {
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    term.draw(|f| ui::render(app, f)).expect("draw");
    let buf = term.backend().buffer().clone();
    (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>()).collect()
}

fn text(app: &App) -> String {
    screen(app).join("\n")
}

fn cursor_names(app: &App) -> (String, String) {
    let n = app.cursor_node().and_then(|n| app.index.node(n)).map(|n| n.name.to_string()).unwrap_or_default();
    let d = app.cursor_ds().and_then(|d| app.index.ds(d)).map(|d| d.name.to_string()).unwrap_or_default();
    (n, d)
}

/// Put the cursor on the first cell of `ds` whose state is `state`.
fn cursor_to_state(app: &mut App, ds: &str, state: CellState) -> String {
    let col = app.view.cols.iter().position(|id| app.index.ds(*id).is_some_and(|d| d.name == ds)).expect("column");
    key(app, KeyCode::Home);
    for _ in 0..app.view.cols.len() {
        key(app, KeyCode::Left);
    }
    for _ in 0..col {
        key(app, KeyCode::Right);
    }
    for _ in 0..app.view.rows.len() {
        let node = app.cursor_node().expect("node row");
        if app.index.cell(node, app.cursor_ds().expect("col")).state == state {
            return cursor_names(app).0;
        }
        key(app, KeyCode::Down);
    }
    panic!("no {} cell in {ds}", state.name());
}

/// The glyph under the cursor on screen.
fn glyph_under_cursor(app: &App) -> String {
    let g = ui::layout::geometry(app.size, app).expect("fits");
    let y = g.body.y as usize + app.cursor.row - app.cursor.row_offset;
    let x = g.col_x(app.cursor.col - app.cursor.col_offset) as usize + 1;
    screen(app)[y].chars().nth(x).map(|c| c.to_string()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_matrix_shows_known_states_at_their_cells() {
    let mut c = connect(140, 60).await;
    let app = &mut c.app;
    assert!(app.index.summary().daemonsets >= 8, "{}", app.index.summary().daemonsets);
    assert!(app.index.summary().nodes >= 40, "{}", app.index.summary().nodes);
    let glyphs = app.theme().glyph_set(false).clone();
    for (ds, state) in [
        ("datadog-agent", CellState::Failing),
        ("nvidia-device-plugin", CellState::Missing),
        ("ebs-csi-node", CellState::NotEligible),
        ("falco", CellState::Outdated),
        ("kube-proxy", CellState::Ready),
    ] {
        let node = cursor_to_state(app, ds, state);
        assert_eq!(glyph_under_cursor(app), glyphs.state(state), "{ds} on {node} is {}", state.name());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_detail_explains_a_missing_pod_and_a_not_eligible_cell() {
    let mut c = connect(140, 60).await;
    let app = &mut c.app;
    cursor_to_state(app, "nvidia-device-plugin", CellState::Missing);
    key(app, KeyCode::Enter);
    let t = text(app);
    assert!(t.contains("missing"), "{t}");
    // mixed.toml: a Kyverno-like webhook refuses nvidia-device-plugin's pods on two GPU nodes;
    // the DaemonSet's FailedCreate event is the why (the panel wraps it over lines).
    assert!(t.contains("no daemon pod: FailedCreate ("), "{t}");
    assert!(t.contains("validate.kyverno.svc-fail"), "{t}");
    assert!(t.contains("kube-system/nvidia-device-plugin"), "{t}");
    // On a GPU node, ebs-csi-node is kept off by its nodeSelector.
    key(app, KeyCode::Char('/'));
    chars(app, "pool=gpu");
    key(app, KeyCode::Enter);
    cursor_to_state(app, "ebs-csi-node", CellState::NotEligible);
    let t = text(app);
    assert!(t.contains("nodeSelector accelerator=none"), "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_filter_problems_and_sort() {
    let mut c = connect(120, 50).await;
    let app = &mut c.app;
    let all_rows = app.view.node_rows;

    // Label filter: the six GPU nodes.
    key(app, KeyCode::Char('/'));
    chars(app, "pool=gpu");
    key(app, KeyCode::Enter);
    assert_eq!(app.view.node_rows, 6, "{}", text(app));
    // A DaemonSet word narrows the columns too.
    key(app, KeyCode::Char('/'));
    chars(app, " nvidia");
    key(app, KeyCode::Enter);
    assert_eq!(app.view.cols.len(), 1);
    assert!(text(app).contains("kube-system/nvidia-device-plugin"));
    key(app, KeyCode::Char('/'));
    for _ in 0..40 {
        key(app, KeyCode::Backspace);
    }
    key(app, KeyCode::Enter);
    assert_eq!(app.view.node_rows, all_rows);

    // Problems only: every shown row has a problem; healthy rows are gone.
    key(app, KeyCode::Char('p'));
    assert!(app.view.node_rows < all_rows);
    let problem_nodes = app.view.node_rows;
    assert!(problem_nodes > 0);
    key(app, KeyCode::Char('p'));

    // Sort by problems: the first row has the most severe problems (cells per severity tier,
    // most severe tier first, compared in that order).
    key(app, KeyCode::Char('o'));
    key(app, KeyCode::Home);
    let first = app.index.node(app.cursor_node().expect("row")).expect("node").tiers;
    let max = app.index.node_ids().into_iter().filter_map(|id| app.index.node(id)).map(|n| n.tiers).max();
    assert_eq!(Some(first), max);
    let name = cursor_names(app).0;
    let body_y = ui::layout::geometry(app.size, app).expect("fits").body.y as usize;
    assert!(screen(app)[body_y].starts_with(&name[..name.len().min(10)]), "{}", text(app));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_at_80x24_with_help_and_too_small() {
    let mut c = connect(80, 24).await;
    let app = &mut c.app;
    let t = text(app);
    assert!(t.contains("ready-desired"), "{t}");
    assert!(t.contains("live"), "{t}");
    key(app, KeyCode::Char('?'));
    assert!(text(app).contains("next problem cell"));
    key(app, KeyCode::Esc);
    update(app, Msg::Resize(59, 14));
    assert!(text(app).contains("too small"));
}

/// At 80×24 on mixed: the second header line keeps a count for every state that occurs (the
/// terminal is too narrow for all their names), and the footer over a pod keeps the keys that
/// matter most and says `? more` for the ones it had to leave out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_at_80x24_header_keeps_every_count_and_footer_the_keys_that_matter() {
    let mut c = connect(80, 24).await;
    let app = &mut c.app;
    let lines = screen(app);
    let summary = app.index.summary().clone();
    let glyphs = app.theme().glyph_set(app.ascii).clone();
    let shown: Vec<CellState> = CellState::BY_SEVERITY
        .into_iter()
        .filter(|s| summary.cells[s.idx()] > 0 && (s.is_problem() || *s == CellState::Terminating))
        .collect();
    // mixed.toml has a missing, a failing and an outdated cell at least (rejected creations, a
    // crash loop, the OnDelete DaemonSet): outdated, the least severe, comes last.
    for s in [CellState::Missing, CellState::Failing, CellState::Outdated] {
        assert!(shown.contains(&s), "{s:?} in mixed");
    }
    let mut at = 0;
    for s in &shown {
        let count = format!("{} {}", glyphs.state(*s), summary.cells[s.idx()]);
        let found =
            lines[1][at..].find(&count).unwrap_or_else(|| panic!("{count:?} after column {at} in {:?}", lines[1]));
        at += found + count.len();
    }
    assert!(lines[1].contains(&format!("{} missing", summary.cells[CellState::Missing.idx()])), "{}", lines[1]);
    assert!(lines[0].contains(&format!("pods {}", summary.pods)), "{}", lines[0]);

    cursor_to_state(app, "datadog-agent", CellState::Failing);
    let footer = screen(app)[23].clone();
    for item in ["l logs", "d restart", "Enter detail", "/ filter", "q quit"] {
        assert!(footer.contains(item), "{item:?} in {footer:?}");
    }
    assert!(footer.trim_end().ends_with("? more"), "{footer:?}");
    assert!(!footer.contains("? help"), "{footer:?}");
}

/// The real event loop (not just `update`) against the simulator: input from a channel, the
/// fleet channel fed from the watches, a TestBackend; `q` ends it once the loop has taken
/// every event of the initial sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_loop_syncs_renders_and_quits_on_q() {
    let opts = SimOptions { scenario: "mixed".into(), frozen: true, churn: Some(0.0), ..SimOptions::default() };
    let sim = sim::start(opts).await.unwrap_or_else(|e| panic!("starting the simulator: {e:#}"));
    let client = sim.client().await.unwrap_or_else(|e| panic!("client: {e:#}"));
    let (watch_tx, mut watch_rx) = mpsc::channel(4096);
    let cancel = CancellationToken::new();
    spawn_watches(client, None, watch_tx, cancel.clone());
    const CAP: usize = 64;
    let (loop_tx, loop_rx) = mpsc::channel::<FleetEvent>(CAP);
    let (key_tx, mut key_rx) = mpsc::unbounded_channel::<std::io::Result<crossterm::event::Event>>();
    let input = Box::pin(futures::stream::poll_fn(move |cx| key_rx.poll_recv(cx)));

    // Forward the watch events to the loop, tracking the sync on a shadow index; once synced
    // and the loop has taken every event (the channel is empty again), press q.
    let forward = tokio::spawn(async move {
        let mut shadow = Index::new();
        while !shadow.synced() {
            let Some(ev) = watch_rx.recv().await else { return false };
            shadow.apply(ev.clone());
            if loop_tx.send(ev).await.is_err() {
                return false;
            }
        }
        while loop_tx.capacity() < CAP {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        key_tx.send(Ok(crossterm::event::Event::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)))).is_ok()
    });

    let mut term = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    let app = App::new(Index::new(), AppOptions::default());
    let (app, exit) = tokio::time::timeout(DEADLINE, run_loop(&mut term, app, input, loop_rx, 30))
        .await
        .expect("the loop ended within the deadline")
        .expect("the loop ran without error");
    assert!(forward.await.expect("forwarder"), "the forwarder saw the sync and pressed q");
    assert_eq!(exit, daemonscope::shell::Exit::Quit);
    assert!(app.quit);
    assert!(app.index.synced(), "every sync event reached the loop before q");
    assert!(app.index.summary().daemonsets >= 8);
    // The loop drew frames on the terminal (the header at least).
    let buf = term.backend().buffer().clone();
    let top: String = (0..100).map(|x| buf[(x, 0)].symbol().to_string()).collect();
    assert!(top.contains("ctx"), "{top}");
    cancel.cancel();
}

/// A namespace-scoped viewer that may not list nodes (the simulator's `ns-view` user, RBAC
/// like the built-in `view` role bound in one namespace): the header says the node stream is
/// denied and which permission would fix it, shows the failing pods it can see, and never
/// claims "no problem cells".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_cannot_list_nodes_is_never_told_there_are_no_problems() {
    let opts = SimOptions { scenario: "mixed".into(), frozen: true, churn: Some(0.0), ..SimOptions::default() };
    let sim = sim::start(opts).await.unwrap_or_else(|e| panic!("starting the simulator: {e:#}"));
    let client = sim.context_client(sim::NS_VIEW_CONTEXT).await.expect("the ns-view client");
    let ns = daemonscope::sim::api::rbac::SCOPED_NAMESPACE;
    let (tx, mut rx) = mpsc::channel(4096);
    let cancel = CancellationToken::new();
    spawn_watches(client, Some(ns.to_string()), tx, cancel.clone());
    let mut app = App::new(Index::new(), AppOptions { namespace: Some(ns.into()), ..AppOptions::default() });
    update(&mut app, Msg::Tick(now()));
    update(&mut app, Msg::Resize(200, 30));
    let start = std::time::Instant::now();
    while !app.index.synced() {
        assert!(start.elapsed() < DEADLINE, "the watches did not sync within {DEADLINE:?}");
        if let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
            update(&mut app, Msg::Fleet(vec![ev]));
        }
    }
    let text = screen(&app).join("\n");
    assert!(!text.contains("no problem cells"), "{text}");
    // The problems that can be seen are shown (rows from the pods' nodes), and the matrix
    // says what cannot be.
    assert!(text.contains("! 3 failing"), "{text}");
    assert!(text.contains("nodes forbidden: rows from pods, ? unknown"), "{text}");
    assert!(text.contains("ask for list/watch on nodes"), "{text}");
    cancel.cancel();
}
