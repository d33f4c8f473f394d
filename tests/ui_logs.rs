//! Log panes in the UI against the REAL simulator (scenario `mixed`, frozen clock): keys go
//! through `update`, the effects are carried out by `app::logs::carry_out` as the event loop
//! does, the session's messages are drained by `app::logs::on_channel`, and the assertions read
//! the rendered TestBackend buffer. Polls with generous deadlines; no timing assertions.

use std::collections::BTreeSet;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use daemonscope::app::logs::{self, LogLayout};
use daemonscope::app::{App, AppOptions, Effect, Msg, update};
use daemonscope::cluster::watch::spawn_watches;
use daemonscope::fleet::model::FleetEvent;
use daemonscope::fleet::{CellState, Index};
use daemonscope::logview::LogPane;
use daemonscope::sim::{self, Kind, Object, SimHandle, SimOptions};
use daemonscope::ui;
use k8s_openapi::api::core::v1::Pod;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(90);

struct Connected {
    sim: SimHandle,
    app: App,
    _rx: mpsc::Receiver<FleetEvent>,
    cancel: CancellationToken,
    _state: tempfile::TempDir,
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Start `mixed` frozen, connect the watches, feed the app until synced, give it the client.
async fn connect(w: u16, h: u16, layout: &str, tail_lines: i64) -> Connected {
    let opts = SimOptions { scenario: "mixed".into(), frozen: true, churn: Some(0.0), ..SimOptions::default() };
    let sim = sim::start(opts).await.unwrap_or_else(|e| panic!("starting the simulator: {e:#}"));
    let client = sim.client().await.unwrap_or_else(|e| panic!("client for the simulator: {e:#}"));
    let (tx, mut rx) = mpsc::channel(4096);
    let cancel = CancellationToken::new();
    spawn_watches(client.clone(), None, tx, cancel.clone());
    let mut opts = AppOptions { context: "daemonscope-sim".into(), ..AppOptions::default() };
    opts.config.logs.layout = layout.into();
    opts.config.logs.tail_lines = tail_lines;
    let mut app = App::new(Index::new(), opts);
    app.logs.set_client(client);
    let state = tempfile::tempdir().expect("state dir");
    app.logs.set_state_dir(state.path().to_path_buf());
    update(&mut app, Msg::Tick(jiff::Timestamp::now().as_second()));
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
    let mut batch = Vec::new();
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await {
        batch.push(ev);
        while let Ok(ev) = rx.try_recv() {
            batch.push(ev);
        }
    }
    update(&mut app, Msg::Fleet(batch));
    Connected { sim, app, _rx: rx, cancel, _state: state }
}

/// A key through `update`, with its effects carried out as the event loop does.
fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    let effects = update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    for e in effects.clone() {
        logs::carry_out(app, e);
    }
    effects
}

fn chars(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn buffer(app: &App) -> Buffer {
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    term.draw(|f| ui::render(app, f)).expect("draw");
    term.backend().buffer().clone()
}

fn rows(buf: &Buffer) -> Vec<String> {
    let a = buf.area;
    (0..a.height).map(|y| (0..a.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>()).collect()
}

fn text(app: &App) -> String {
    rows(&buffer(app)).join("\n")
}

fn pane(app: &App) -> &LogPane {
    app.logs.pane.as_ref().expect("a log pane is open")
}

/// Drain the session until `done` holds for the pane.
async fn pump(app: &mut App, mut done: impl FnMut(&App) -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !done(app) {
        let msg = tokio::time::timeout_at(deadline, app.logs.recv())
            .await
            .unwrap_or_else(|_| panic!("the pane did not get there within {DEADLINE:?}:\n{}", text(app)));
        logs::on_channel(app, msg, usize::MAX);
    }
}

/// Put the cursor on the first cell of `ds` whose state is `state`; returns the node name.
fn cursor_to_state(app: &mut App, ds: &str, state: CellState) -> String {
    let col = app.view.cols.iter().position(|id| app.index.ds(*id).is_some_and(|d| d.name == ds)).expect("column");
    press(app, KeyCode::Home);
    for _ in 0..app.view.cols.len() {
        press(app, KeyCode::Left);
    }
    for _ in 0..col {
        press(app, KeyCode::Right);
    }
    for _ in 0..app.view.rows.len() {
        let node = app.cursor_node().expect("node row");
        if app.index.cell(node, app.cursor_ds().expect("col")).state == state {
            return app.index.node(node).expect("node").name.to_string();
        }
        press(app, KeyCode::Down);
    }
    panic!("no {} cell in {ds}", state.name());
}

fn sim_pod(h: &SimHandle, namespace: &str, name: &str) -> Pod {
    let (list, _) = h.store.list(Kind::Pod, Some(namespace));
    list.iter()
        .find_map(|s| match &s.obj {
            Object::Pod(p) if p.metadata.name.as_deref() == Some(name) => Some(p.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("pod {namespace}/{name} in the simulator"))
}

fn cursor_pod(app: &App) -> (String, String) {
    let cell = app.index.cell(app.cursor_node().expect("node"), app.cursor_ds().expect("ds"));
    let pod = cell.pod.expect("a pod in the cell");
    (pod.namespace.to_string(), pod.name.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l_shows_the_pods_deterministic_lines_search_highlights_and_esc_closes() {
    let mut c = connect(140, 50, "split", 200).await;
    let app = &mut c.app;
    cursor_to_state(app, "node-exporter", CellState::Ready);
    let (ns, name) = cursor_pod(app);
    let effects = press(app, KeyCode::Char('l'));
    assert!(matches!(effects.as_slice(), [Effect::OpenLogs { .. }]), "{effects:?}");
    assert!(app.logs.has_focus());

    // The simulator's own lines for this pod (frozen clock: the log ends now).
    let pod = sim_pod(&c.sim, &ns, &name);
    let container = pod.spec.as_ref().and_then(|s| s.containers.first()).map(|c| c.name.clone()).expect("container");
    let since = c.sim.clock.now().checked_sub(jiff::SignedDuration::from_hours(48)).expect("two days ago");
    let expected = sim::logs::lines(&pod, &container, false, since, c.sim.clock.now()).expect("simulated lines");
    let last = expected.last().map(|(_, l)| l.trim_end().to_string()).expect("the pod has logged");
    let app = &mut c.app;
    pump(app, |a| a.logs.pane.as_ref().is_some_and(|p| p.buffer().iter_from(0).any(|(_, l)| *l.text == *last))).await;
    let t = text(app);
    let shown: String = last.chars().take(60).collect();
    assert!(t.contains(&shown), "last line {shown:?} on screen:\n{t}");
    assert!(t.contains(&format!("logs {ns}/{name}")), "title:\n{t}");
    // The footer shows the pane's keys while it has focus.
    let footer = rows(&buffer(app)).last().cloned().unwrap_or_default();
    assert!(footer.contains("search") && footer.contains("prev"), "{footer}");

    // `/` search: type a word of the last line; the match is highlighted on screen.
    let word: String = last
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.len() >= 4 && w.chars().all(|c| c.is_ascii_alphabetic()))
        .expect("a word in the last line")
        .to_string();
    press(app, KeyCode::Char('/'));
    chars(app, &word);
    press(app, KeyCode::Enter);
    assert!(pane(app).matches().len() > 0, "matches for {word:?}");
    let buf = buffer(app);
    let highlighted = (0..buf.area.height).any(|y| {
        (0..buf.area.width).any(|x| matches!(buf[(x, y)].bg, Color::Yellow | Color::LightRed))
            && rows(&buf)[y as usize].to_lowercase().contains(&word.to_lowercase())
    });
    assert!(highlighted, "a highlighted match of {word:?}:\n{}", rows(&buf).join("\n"));
    assert!(text(app).contains(&format!("/{word}")), "the status line names the search");

    // `s` saves into the state dir and says where.
    press(app, KeyCode::Char('s'));
    let note = pane(app).note().unwrap_or_default().to_string();
    assert!(note.starts_with("saved to "), "{note}");
    let saved = std::fs::read_to_string(note.trim_start_matches("saved to ")).expect("saved file");
    assert!(saved.contains(&last), "the saved buffer holds the last line");

    // Esc closes the pane and its session; the matrix is whole again.
    press(app, KeyCode::Esc);
    assert!(app.logs.pane.is_none());
    assert!(!text(app).contains(&shown));
    // q quits from the matrix as before.
    assert!(matches!(press(app, KeyCode::Char('q')).as_slice(), [Effect::Quit]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capital_l_tails_the_column_with_node_prefixes_honouring_the_row_filter() {
    let mut c = connect(140, 50, "full", 2).await;
    let app = &mut c.app;
    cursor_to_state(app, "node-exporter", CellState::Ready);
    press(app, KeyCode::Char('L'));
    assert_eq!(app.logs.layout, LogLayout::Full);
    pump(app, |a| {
        let nodes: BTreeSet<String> =
            a.logs.pane.as_ref().map_or_else(BTreeSet::new, |p| {
                p.buffer().iter_from(0).map(|(_, l)| l.source.node.to_string()).collect()
            });
        nodes.len() >= 3
    })
    .await;
    let screen = rows(&buffer(app));
    let prefixed: BTreeSet<String> = app
        .index
        .node_ids()
        .into_iter()
        .filter_map(|id| app.index.node(id).map(|n| n.name.to_string()))
        .filter(|n| screen.iter().any(|r| r.starts_with(&format!("{n} "))))
        .collect();
    assert!(prefixed.len() >= 2, "lines prefixed by several node names:\n{}", screen.join("\n"));
    assert!(screen.join("\n").contains("logs daemonset monitoring/node-exporter"), "{}", screen.join("\n"));

    // z: to the split; Tab: the matrix gets the keys; a row filter narrows the tail's pods.
    press(app, KeyCode::Char('z'));
    assert_eq!(app.logs.layout, LogLayout::Split);
    press(app, KeyCode::Tab);
    assert!(!app.logs.has_focus());
    press(app, KeyCode::Char('/'));
    chars(app, "pool=gpu");
    press(app, KeyCode::Enter);
    let gpu: BTreeSet<String> = app
        .view
        .rows
        .iter()
        .filter_map(|r| match r {
            daemonscope::app::view::RowEntry::Node(id) => app.index.node(*id).map(|n| n.name.to_string()),
            _ => None,
        })
        .collect();
    assert!(!gpu.is_empty());
    let target_nodes: BTreeSet<String> = pane(app).target().pods().into_iter().map(|p| p.node).collect();
    assert!(!target_nodes.is_empty() && target_nodes.is_subset(&gpu), "{target_nodes:?} within {gpu:?}");
    press(app, KeyCode::Tab);
    assert!(app.logs.has_focus());
    press(app, KeyCode::Esc);
    assert!(app.logs.pane.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p_shows_the_previous_container_and_c_lists_the_containers() {
    let mut c = connect(140, 50, "split", 200).await;
    let app = &mut c.app;
    cursor_to_state(app, "datadog-agent", CellState::Failing);
    press(app, KeyCode::Char('l'));
    let effects = press(app, KeyCode::Char('p'));
    assert!(matches!(effects.as_slice(), [Effect::Logs(logs::LogEffect::Reopen)]), "{effects:?}");
    assert!(pane(app).target().previous());
    pump(app, |a| a.logs.pane.as_ref().is_some_and(|p| p.buffer().iter_from(0).any(|(_, l)| l.source.previous))).await;
    assert!(text(app).contains("(previous container)"), "{}", text(app));

    press(app, KeyCode::Char('c'));
    let picker = app.logs.picker.clone().expect("the container picker is open");
    let ds = app.index.ds(app.cursor_ds().expect("ds")).expect("ds view");
    assert_eq!(picker.items.len(), ds.containers.len() + ds.init_containers.len());
    let t = text(app);
    for (name, _) in &picker.items {
        assert!(t.contains(name.as_str()), "{name} listed:\n{t}");
    }
    let effects = press(app, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Logs(logs::LogEffect::Reopen)]), "{effects:?}");
    assert!(app.logs.picker.is_none());
    assert_eq!(pane(app).target().container(), Some(picker.items[picker.selected].0.as_str()));
}
