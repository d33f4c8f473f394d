//! Log panes in the UI against the REAL simulator (scenario `mixed`, frozen clock): keys go
//! through `update`, the effects are carried out by the same cluster executor the event loop
//! uses (`app::Shell`), its reports (the log lines) are fed back through `update`, and the
//! assertions read the rendered TestBackend buffer. Polls with generous deadlines; no timing
//! assertions.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use daemonscope::app::logs::{ContainerPicker, LogLayout};
use daemonscope::app::msg::{Command, Work};
use daemonscope::app::{App, AppOptions, Effect, Layer, Msg, update};
use daemonscope::cli::ClusterArgs;
use daemonscope::cluster::client::connect_yaml;
use daemonscope::cluster::executor::{Executor, ExecutorOptions};
use daemonscope::fleet::{CellState, Index};
use daemonscope::logview::LogPane;
use daemonscope::shell::Shell;
use daemonscope::sim::{self, Kind, Object, SimHandle, SimOptions};
use daemonscope::ui;
use k8s_openapi::api::core::v1::Pod;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

const DEADLINE: Duration = Duration::from_secs(90);

struct Connected {
    sim: SimHandle,
    app: App,
    shell: Shell,
    _state: tempfile::TempDir,
}

/// Start `mixed` frozen, connect through the executor, feed the app until synced.
async fn connect(w: u16, h: u16, layout: &str, tail_lines: i64) -> Connected {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let opts = SimOptions { scenario: "mixed".into(), frozen: true, churn: Some(0.0), ..SimOptions::default() };
    let sim = sim::start(opts).await.unwrap_or_else(|e| panic!("starting the simulator: {e:#}"));
    let target = connect_yaml(&sim.kubeconfig_yaml(), "the simulator", &ClusterArgs::default())
        .await
        .unwrap_or_else(|e| panic!("connecting to the simulator: {e}"));
    let state = tempfile::tempdir().expect("state dir");
    let mut shell = Shell::from(Executor::start(target, ExecutorOptions::default()));
    shell.state_dir = Some(state.path().to_path_buf());
    let mut opts = AppOptions::default();
    opts.config.logs.layout = layout.into();
    opts.config.logs.tail_lines = tail_lines;
    let mut app = App::new(Index::new(), opts);
    shell.feed(&mut app, Msg::Tick(jiff::Timestamp::now().as_second()));
    shell.feed(&mut app, Msg::Resize(w, h));
    shell.attach(&mut app);
    let start = std::time::Instant::now();
    while !app.index.synced() {
        assert!(start.elapsed() < DEADLINE, "the watches did not sync within {DEADLINE:?}");
        shell.step(&mut app, Duration::from_millis(500)).await;
    }
    // Whatever else is queued (the rest of the initial lists).
    for _ in 0..3 {
        shell.step(&mut app, Duration::from_millis(300)).await;
    }
    Connected { sim, app, shell, _state: state }
}

/// A key through `update`, with its effects carried out as the event loop does.
fn press(c: &mut Connected, code: KeyCode) -> Vec<Effect> {
    let effects = update(&mut c.app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    c.shell.carry_out(&mut c.app, effects.clone());
    effects
}

fn chars(c: &mut Connected, s: &str) {
    for ch in s.chars() {
        press(c, KeyCode::Char(ch));
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
    &app.logs().expect("a log pane is open").pane
}

fn containers(app: &App) -> Option<ContainerPicker> {
    app.layers.iter().find_map(|l| match l {
        Layer::Containers(p) => Some(p.clone()),
        _ => None,
    })
}

fn opens_logs(effects: &[Effect]) -> bool {
    effects.iter().any(|e| matches!(e, Effect::Cluster(Command::Work { work: Work::OpenLogs { .. }, .. })))
}

/// Drain the executor until `done` holds for the app.
async fn pump(c: &mut Connected, mut done: impl FnMut(&App) -> bool) {
    let deadline = std::time::Instant::now() + DEADLINE;
    while !done(&c.app) {
        assert!(
            std::time::Instant::now() < deadline,
            "the pane did not get there within {DEADLINE:?}:\n{}",
            text(&c.app)
        );
        c.shell.step(&mut c.app, Duration::from_millis(500)).await;
    }
}

/// Put the cursor on the first cell of `ds` whose state is `state`; returns the node name.
fn cursor_to_state(c: &mut Connected, ds: &str, state: CellState) -> String {
    common::ui::cursor_to(&mut c.shell, &mut c.app, ds, state)
}

fn sim_pod(h: &SimHandle, namespace: &str, name: &str) -> Pod {
    let (list, _) = h.store.list(Kind::Pod, Some(namespace));
    list.iter()
        .find_map(|s| match &*s.obj() {
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
    cursor_to_state(&mut c, "node-exporter", CellState::Ready);
    let (ns, name) = cursor_pod(&c.app);
    let effects = press(&mut c, KeyCode::Char('l'));
    assert!(opens_logs(&effects), "{effects:?}");
    assert!(c.app.logs().is_some_and(|l| l.has_focus()));

    // The simulator's own lines for this pod (frozen clock: the log ends now).
    let pod = sim_pod(&c.sim, &ns, &name);
    let container = pod.spec.as_ref().and_then(|s| s.containers.first()).map(|c| c.name.clone()).expect("container");
    let since = c.sim.clock.now().checked_sub(jiff::SignedDuration::from_hours(48)).expect("two days ago");
    let expected = sim::logs::lines(&pod, &container, false, since, c.sim.clock.now()).expect("simulated lines");
    let last = expected.last().map(|(_, l)| l.trim_end().to_string()).expect("the pod has logged");
    pump(&mut c, |a| a.logs().map(|l| &l.pane).is_some_and(|p| p.buffer().iter_from(0).any(|(_, l)| *l.text == *last)))
        .await;
    let t = text(&c.app);
    let shown: String = last.chars().take(60).collect();
    assert!(t.contains(&shown), "last line {shown:?} on screen:\n{t}");
    assert!(t.contains(&format!("logs {ns}/{name}")), "title:\n{t}");
    // The footer shows the pane's keys while it has focus.
    let footer = rows(&buffer(&c.app)).last().cloned().unwrap_or_default();
    assert!(footer.contains("search") && footer.contains("prev"), "{footer}");

    // `/` search: type a word of the last line; the match is highlighted on screen.
    let word: String = last
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.len() >= 4 && w.chars().all(|c| c.is_ascii_alphabetic()))
        .expect("a word in the last line")
        .to_string();
    press(&mut c, KeyCode::Char('/'));
    chars(&mut c, &word);
    press(&mut c, KeyCode::Enter);
    assert!(pane(&c.app).matches().len() > 0, "matches for {word:?}");
    let buf = buffer(&c.app);
    let highlighted = (0..buf.area.height).any(|y| {
        (0..buf.area.width).any(|x| matches!(buf[(x, y)].bg, Color::Yellow | Color::LightRed))
            && rows(&buf)[y as usize].to_lowercase().contains(&word.to_lowercase())
    });
    assert!(highlighted, "a highlighted match of {word:?}:\n{}", rows(&buf).join("\n"));
    assert!(text(&c.app).contains(&format!("/{word}")), "the status line names the search");

    // `s` saves into the state dir and says where.
    press(&mut c, KeyCode::Char('s'));
    let note = pane(&c.app).note().unwrap_or_default().to_string();
    assert!(note.starts_with("saved to "), "{note}");
    let saved = std::fs::read_to_string(note.trim_start_matches("saved to ")).expect("saved file");
    assert!(saved.contains(&last), "the saved buffer holds the last line");

    // Esc closes the pane and its session; the matrix is whole again.
    press(&mut c, KeyCode::Esc);
    assert!(c.app.logs().is_none());
    assert!(!text(&c.app).contains(&shown));
    // q quits from the matrix as before.
    assert!(matches!(press(&mut c, KeyCode::Char('q')).as_slice(), [Effect::Quit]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capital_l_tails_the_column_with_node_prefixes_honouring_the_row_filter() {
    let mut c = connect(140, 50, "full", 2).await;
    cursor_to_state(&mut c, "node-exporter", CellState::Ready);
    press(&mut c, KeyCode::Char('L'));
    assert_eq!(c.app.logs().map(|l| l.layout), Some(LogLayout::Full));
    pump(&mut c, |a| {
        let nodes: BTreeSet<String> = a
            .logs()
            .map(|l| &l.pane)
            .map_or_else(BTreeSet::new, |p| p.buffer().iter_from(0).map(|(_, l)| l.source.node.to_string()).collect());
        nodes.len() >= 3
    })
    .await;
    let screen = rows(&buffer(&c.app));
    let prefixed: BTreeSet<String> = c
        .app
        .index
        .node_ids()
        .into_iter()
        .filter_map(|id| c.app.index.node(id).map(|n| n.name.to_string()))
        .filter(|n| screen.iter().any(|r| r.starts_with(&format!("{n} "))))
        .collect();
    assert!(prefixed.len() >= 2, "lines prefixed by several node names:\n{}", screen.join("\n"));
    assert!(screen.join("\n").contains("logs daemonset monitoring/node-exporter"), "{}", screen.join("\n"));

    // z: to the split; Tab: the matrix gets the keys; a row filter narrows the tail's pods.
    press(&mut c, KeyCode::Char('z'));
    assert_eq!(c.app.logs().map(|l| l.layout), Some(LogLayout::Split));
    press(&mut c, KeyCode::Tab);
    assert!(!c.app.logs().is_some_and(|l| l.has_focus()));
    press(&mut c, KeyCode::Char('/'));
    chars(&mut c, "pool=gpu");
    press(&mut c, KeyCode::Enter);
    let gpu: BTreeSet<String> = c
        .app
        .view
        .rows
        .iter()
        .filter_map(|r| match r {
            daemonscope::app::view::RowEntry::Node(id) => c.app.index.node(*id).map(|n| n.name.to_string()),
            _ => None,
        })
        .collect();
    assert!(!gpu.is_empty());
    let target_nodes: BTreeSet<String> = pane(&c.app).target().pods().into_iter().map(|p| p.node).collect();
    assert!(!target_nodes.is_empty() && target_nodes.is_subset(&gpu), "{target_nodes:?} within {gpu:?}");
    press(&mut c, KeyCode::Tab);
    assert!(c.app.logs().is_some_and(|l| l.has_focus()));
    press(&mut c, KeyCode::Esc);
    assert!(c.app.logs().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p_shows_the_previous_container_and_c_lists_the_containers() {
    let mut c = connect(140, 50, "split", 200).await;
    cursor_to_state(&mut c, "datadog-agent", CellState::Failing);
    press(&mut c, KeyCode::Char('l'));
    let effects = press(&mut c, KeyCode::Char('p'));
    assert!(opens_logs(&effects), "{effects:?}");
    assert!(pane(&c.app).target().previous());
    pump(&mut c, |a| {
        a.logs().map(|l| &l.pane).is_some_and(|p| p.buffer().iter_from(0).any(|(_, l)| l.source.previous))
    })
    .await;
    assert!(text(&c.app).contains("(previous container)"), "{}", text(&c.app));

    press(&mut c, KeyCode::Char('c'));
    let picker = containers(&c.app).expect("the container picker is open");
    let ds = c.app.index.ds(c.app.cursor_ds().expect("ds")).expect("ds view");
    assert_eq!(picker.items.len(), ds.containers.len() + ds.init_containers.len());
    let t = text(&c.app);
    for (name, _) in &picker.items {
        assert!(t.contains(name.as_str()), "{name} listed:\n{t}");
    }
    let effects = press(&mut c, KeyCode::Enter);
    assert!(opens_logs(&effects), "{effects:?}");
    assert!(containers(&c.app).is_none());
    assert_eq!(pane(&c.app).target().container(), Some(picker.items[picker.selected].0.as_str()));
}
