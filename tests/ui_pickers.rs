//! The context and namespace pickers through the REAL event loop against REAL simulators: keys
//! go in through an input channel, the screen is read from a shared TestBackend while the loop
//! runs, and the final `App` is checked after `q`. Polls with generous deadlines; no timing
//! assertions.

mod common;

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use daemonscope::app::{App, AppOptions};
use daemonscope::cli::ClusterArgs;
use daemonscope::cluster::client;
use daemonscope::cluster::executor::{Executor, ExecutorOptions, KubeSource};
use daemonscope::fleet::Index;
use daemonscope::shell::{Exit, Shell, run_loop};
use daemonscope::sim::{self, SimHandle, SimOptions};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use tokio::sync::mpsc;

const DEADLINE: Duration = Duration::from_secs(120);

/// A TestBackend the test can read while the loop draws on it.
#[derive(Clone)]
struct Shared(Arc<Mutex<TestBackend>>);

impl Shared {
    fn new(w: u16, h: u16) -> Shared {
        Shared(Arc::new(Mutex::new(TestBackend::new(w, h))))
    }
    fn lines(&self) -> Vec<String> {
        let b = self.0.lock().expect("backend lock");
        let buf = b.buffer();
        (0..buf.area.height).map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect()).collect()
    }
    fn text(&self) -> String {
        self.lines().join("\n")
    }
}

impl Backend for Shared {
    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.0.lock().expect("backend lock").draw(content)
    }
    fn hide_cursor(&mut self) -> io::Result<()> {
        self.0.lock().expect("backend lock").hide_cursor()
    }
    fn show_cursor(&mut self) -> io::Result<()> {
        self.0.lock().expect("backend lock").show_cursor()
    }
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.0.lock().expect("backend lock").get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.0.lock().expect("backend lock").set_cursor_position(position)
    }
    fn clear(&mut self) -> io::Result<()> {
        self.0.lock().expect("backend lock").clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.0.lock().expect("backend lock").clear_region(clear_type)
    }
    fn size(&self) -> io::Result<Size> {
        self.0.lock().expect("backend lock").size()
    }
    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.0.lock().expect("backend lock").window_size()
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().expect("backend lock").flush()
    }
}

type Keys = mpsc::UnboundedSender<io::Result<Event>>;

fn press(keys: &Keys, code: KeyCode) {
    keys.send(Ok(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))).expect("the loop takes input");
}

fn type_text(keys: &Keys, text: &str) {
    for c in text.chars() {
        press(keys, KeyCode::Char(c));
    }
}

/// Poll the screen until `pred` holds; panic with the screen after the deadline.
async fn wait_for(screen: &Shared, what: &str, pred: impl Fn(&[String]) -> bool) {
    let start = std::time::Instant::now();
    loop {
        let lines = screen.lines();
        if pred(&lines) {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "waited for {what}; the screen:\n{}", screen.text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The header names `ctx` and every stream has listed (the header says `live` only then).
fn live_on(lines: &[String], ctx: &str) -> bool {
    lines.first().is_some_and(|l| l.contains(&format!(" ctx {ctx} ")))
        && lines.get(1).is_some_and(|l| l.contains(" live "))
}

async fn start(scenario: &str) -> SimHandle {
    let opts = SimOptions { scenario: scenario.into(), frozen: true, churn: Some(0.0), ..SimOptions::default() };
    sim::start(opts).await.unwrap_or_else(|e| panic!("starting the simulator ({scenario}): {e:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_picker_switches_between_two_simulators() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let small = start("small").await;
    let mixed = start("mixed").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, common::sim::multi_cluster_kubeconfig(&[("small", &small), ("mixed", &mixed)], true))
        .expect("write kubeconfig");
    let args = ClusterArgs { kubeconfig: Some(path), ..ClusterArgs::default() };
    let target = client::connect(&args).await.unwrap_or_else(|e| panic!("connect: {e}"));
    assert_eq!(target.context, "small");

    let options = ExecutorOptions { source: Some(KubeSource::Args(args)), ..ExecutorOptions::default() };
    let session = Shell::from(Executor::start(target, options));
    let app = App::new(Index::new(), AppOptions::default());
    let screen = Shared::new(120, 40);
    let mut term = Terminal::new(screen.clone()).expect("terminal");
    let (keys, mut key_rx) = mpsc::unbounded_channel::<io::Result<Event>>();
    let input = Box::pin(futures::stream::poll_fn(move |cx| key_rx.poll_recv(cx)));
    let run = tokio::spawn(async move {
        let result = run_loop(&mut term, app, input, session, 30).await;
        result.map(|(app, exit)| (app, exit, term))
    });

    wait_for(&screen, "the small cluster live", |l| live_on(l, "small")).await;
    assert!(screen.text().contains("general-0"), "{}", screen.text());
    assert!(!screen.text().contains("gpu-"), "small has no gpu pool");

    // The picker lists every context of the kubeconfig, the one in use marked.
    press(&keys, KeyCode::Char('c'));
    wait_for(&screen, "the context picker", |l| l.iter().any(|l| l.contains("3 of 3"))).await;
    let t = screen.text();
    assert!(t.contains("● small") && t.contains("mixed") && t.contains("dead"), "{t}");

    // An unreachable context: a plain error, the old view stays live.
    type_text(&keys, "dead");
    press(&keys, KeyCode::Enter);
    wait_for(&screen, "the switch error", |l| l.iter().any(|l| l.contains("cannot switch to context dead"))).await;
    assert!(live_on(&screen.lines(), "small"), "{}", screen.text());

    // The second simulator: new index, the mixed scenario's nodes.
    press(&keys, KeyCode::Char('c'));
    wait_for(&screen, "the context picker again", |l| l.iter().any(|l| l.contains("3 of 3"))).await;
    type_text(&keys, "mix");
    press(&keys, KeyCode::Enter);
    wait_for(&screen, "the mixed cluster live", |l| live_on(l, "mixed")).await;
    assert!(screen.text().contains("gpu-"), "{}", screen.text());

    press(&keys, KeyCode::Char('q'));
    let (app, exit, _term) = tokio::time::timeout(DEADLINE, run)
        .await
        .expect("the loop ended")
        .expect("the loop task")
        .expect("the loop ran without error");
    assert_eq!(exit, Exit::Quit);
    assert_eq!(app.context, "mixed");
    assert!(app.index.synced());
    let names: Vec<String> =
        app.index.node_ids().into_iter().filter_map(|id| app.index.node(id).map(|n| n.name.to_string())).collect();
    assert_eq!(names.len(), 40, "exactly the mixed scenario's nodes, none left from small: {names:?}");
    assert!(names.iter().any(|n| n.starts_with("gpu-")));
    assert!(app.index.ds_by_name("kube-system", "aws-node").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_picker_rescopes_the_watches_and_the_choice_is_remembered() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mixed = start("mixed").await;
    let args = ClusterArgs::default();
    let yaml = mixed.kubeconfig_yaml();
    let target = client::connect_yaml(&yaml, "the test kubeconfig", &args).await.unwrap_or_else(|e| panic!("{e}"));
    let state_dir = tempfile::tempdir().expect("tempdir");
    let mut store = daemonscope::app::persist::Store::in_dir(state_dir.path());
    let _ = store.load();
    let source = KubeSource::Yaml { yaml, name: "the test kubeconfig".into(), args };
    let ctx = target.context.clone();
    let options = ExecutorOptions { source: Some(source), ..ExecutorOptions::default() };
    let mut session = Shell::from(Executor::start(target, options));
    session.store = Some(store);
    let app = App::new(Index::new(), AppOptions::default());
    let screen = Shared::new(120, 40);
    let mut term = Terminal::new(screen.clone()).expect("terminal");
    let (keys, mut key_rx) = mpsc::unbounded_channel::<io::Result<Event>>();
    let input = Box::pin(futures::stream::poll_fn(move |cx| key_rx.poll_recv(cx)));
    let run =
        tokio::spawn(async move { run_loop(&mut term, app, input, session, 30).await.map(|(a, e)| (a, e, term)) });

    wait_for(&screen, "all namespaces live", |l| live_on(l, &ctx) && l[0].contains(" ns all ")).await;

    // The namespaces come from the API; "all namespaces" first.
    press(&keys, KeyCode::Char('n'));
    wait_for(&screen, "the namespace list", |l| l.iter().any(|l| l.contains("monitoring"))).await;
    assert!(screen.text().contains("all namespaces"), "{}", screen.text());
    type_text(&keys, "monitoring");
    press(&keys, KeyCode::Enter);
    wait_for(&screen, "monitoring live", |l| live_on(l, &ctx) && l[0].contains(" ns monitoring ")).await;

    // A UI setting changes too: both end up in state.toml.
    press(&keys, KeyCode::Char('o'));
    press(&keys, KeyCode::Char('q'));
    let (app, exit, _term) = tokio::time::timeout(DEADLINE, run)
        .await
        .expect("the loop ended")
        .expect("the loop task")
        .expect("the loop ran without error");
    assert_eq!(exit, Exit::Quit);
    assert_eq!(app.namespace.as_deref(), Some("monitoring"));
    let ds: Vec<String> =
        app.index.ds_ids().into_iter().filter_map(|id| app.index.ds(id).map(|d| d.namespace.to_string())).collect();
    assert!(!ds.is_empty() && ds.iter().all(|ns| ns == "monitoring"), "only monitoring's DaemonSets: {ds:?}");
    assert!(app.index.ds_by_name("kube-system", "aws-node").is_none());
    assert_eq!(app.index.summary().nodes, 40, "nodes are always watched cluster-wide");

    let (state, warning) = daemonscope::app::persist::load(&state_dir.path().join("state.toml"));
    assert_eq!(warning, None);
    assert_eq!(state.namespace.as_deref(), Some("monitoring"));
    assert_eq!(state.context.as_deref(), Some(ctx.as_str()));
    assert_eq!(state.sort.as_deref(), Some(daemonscope::app::persist::sort_name(app.sort)));
    assert_ne!(app.sort, daemonscope::app::view::SortBy::Name, "o changed the sort");
    let text = std::fs::read_to_string(state_dir.path().join("state.toml")).expect("state file");
    assert!(!text.contains("token") && !text.contains("http"), "names only, never credentials: {text}");
}
