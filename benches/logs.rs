//! Log tailing benchmarks (prints figures; no assertions):
//! 1. lines/s one pane sustains: sanitize + push + one render per frame, at several batch sizes;
//! 2. a 200-source DaemonSet tail (interleaved sources, node prefixes) through the same path;
//! 3. end to end against the simulator: a DaemonSet tail of 200 pods through `kube` with the clock
//!    pushed forward, frame time (apply + render) while tailing and lines/s delivered;
//! 4. the real event loop (`app::run_loop`) with that tail open in a pane under the flood: frames
//!    drawn and how long a key press waits, which the per-frame line budget keeps bounded.
//!
//! Run: `cargo bench --bench logs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use daemonscope::cluster::logs::spawn_log_session;
use daemonscope::logs::{LogLine, LogMsg, LogOptions, LogSource, LogTarget, PodRef};
use daemonscope::logview::{LogPane, LogStyles, PaneOptions, render};
use daemonscope::sim::{self, Object, SimOptions};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const W: u16 = 200;
const H: u16 = 50;

fn raw_line(i: usize) -> Vec<u8> {
    format!(
        "2024-05-01T12:{:02}:{:02}.{:09}Z level=info ts=2024-05-01 caller=main.go:{} \x1b[32mmsg=\"scrape ok\"\x1b[0m duration_seconds=0.0{} remote=10.0.{}.{}:9100\tuser-agent=Prometheus/2.53",
        (i / 60) % 60,
        i % 60,
        i,
        i % 997,
        i % 89,
        i % 255,
        i % 251
    )
    .into_bytes()
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn target(ds: bool) -> LogTarget {
    if ds {
        LogTarget::DaemonSet {
            namespace: "ns".into(),
            name: "agent".into(),
            pods: Vec::new(),
            container: None,
            previous: false,
        }
    } else {
        LogTarget::Pod {
            namespace: "ns".into(),
            pod: "agent-x".into(),
            node: "node-1".into(),
            container: None,
            previous: false,
        }
    }
}

/// Feed `total` lines from `sources` sources in batches of `batch`, rendering once per batch.
fn pane_run(label: &str, sources: usize, batch: usize, total: usize, search: bool, wrap: bool) {
    let srcs: Vec<Arc<LogSource>> = (0..sources)
        .map(|i| {
            Arc::new(LogSource::new(
                &format!("ip-10-0-{}-{}.eu-west-1.compute.internal", i / 250, i % 250),
                "agent",
                "agent",
                false,
            ))
        })
        .collect();
    let raws: Vec<Vec<u8>> = (0..4096).map(raw_line).collect();
    let mut pane = LogPane::new(target(sources > 1), PaneOptions::default());
    pane.set_rows(daemonscope::logview::body_rows(H));
    let (keymap, _) = daemonscope::app::Keymap::build(&Default::default(), false);
    let handle_key = |pane: &mut LogPane, key| {
        daemonscope::app::logs::pane_key_with(&keymap, pane, key);
    };
    if search {
        handle_key(&mut pane, crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('/')));
        for c in "remote=10.0.7".chars() {
            handle_key(&mut pane, crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char(c)));
        }
        handle_key(&mut pane, crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter));
        handle_key(&mut pane, crossterm::event::KeyEvent::from(crossterm::event::KeyCode::End));
    }
    if wrap {
        handle_key(&mut pane, crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('w')));
    }
    let styles = LogStyles::default();
    let area = Rect::new(0, 0, W, H);
    let mut buf = Buffer::empty(area);
    let mut ingest = Duration::ZERO;
    let mut frames: Vec<f64> = Vec::new();
    let start = Instant::now();
    let mut i = 0;
    while i < total {
        let t0 = Instant::now();
        let lines: Vec<LogLine> = (0..batch.min(total - i))
            .map(|k| LogLine::from_raw(srcs[(i + k) % sources].clone(), &raws[(i + k) % raws.len()], true, 0))
            .collect();
        i += lines.len();
        pane.apply(LogMsg::Lines { lines, dropped: 0 });
        let t1 = Instant::now();
        buf.reset();
        render(&pane, &styles, area, &mut buf);
        let t2 = Instant::now();
        ingest += t1 - t0;
        frames.push((t2 - t1).as_secs_f64() * 1e6);
    }
    let wall = start.elapsed().as_secs_f64();
    let n = frames.len();
    println!(
        "{label:<44} batch {batch:>6}: {:>10.0} lines/s overall, ingest {:>10.0} lines/s, render p50 {:>6.0} µs p99 {:>6.0} µs ({n} frames)",
        total as f64 / wall,
        total as f64 / ingest.as_secs_f64(),
        percentile(&mut frames.clone(), 0.5),
        percentile(&mut frames, 0.99),
    );
}

async fn end_to_end() -> anyhow::Result<()> {
    // An empty simulator without controllers, with 200 running pods of one DaemonSet made here:
    // the `large` scenario would take minutes to populate in a debug build, and only the log
    // path is measured. Their logs come from the simulator's deterministic log model.
    let h = sim::start_with(
        SimOptions { scenario: sim::EMPTY_SCENARIO.into(), frozen: true, ..SimOptions::default() },
        sim::StartConfig { controllers: false, store: None },
    )
    .await?;
    let client = h.client().await?;
    let started = h.clock.now().checked_sub(jiff::SignedDuration::from_secs(3600))?;
    let mut pods = Vec::new();
    for i in 0..200 {
        let node = format!("ip-10-0-{}-{}.eu-west-1.compute.internal", i / 100, i % 100);
        let name = format!("fluent-bit-{i:05}");
        let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "logging", "uid": format!("uid-{i}"),
                         "creationTimestamp": started.to_string()},
            "spec": {"nodeName": node, "containers": [{"name": "fluent-bit", "image": "cr.fluentbit.io/fluent/fluent-bit:3.1.9"}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "fluent-bit", "ready": true, "restartCount": 0, "image": "fluent-bit", "imageID": "",
                "state": {"running": {"startedAt": started.to_string()}}}]}
        }))?;
        h.store.create(Object::Pod(pod), h.clock.now_time())?;
        pods.push(PodRef::new(node, name));
    }
    let (ns, name, c) = ("logging".to_owned(), "fluent-bit".to_owned(), Some("fluent-bit".to_owned()));
    println!("tailing {ns}/{name}: {} pods", pods.len());
    let target = LogTarget::DaemonSet { namespace: ns, name, pods, container: c, previous: false };
    // ~10k lines/s offered (10 simulated s per 100 ms), then a flood (~300k lines/s offered).
    tail(&h, client.clone(), target.clone(), 10_000).await;
    tail(&h, client, target.clone(), 300_000).await;
    event_loop_flood(&h, target, 300_000).await;
    h.shutdown().await;
    Ok(())
}

async fn tail(h: &sim::SimHandle, client: kube::Client, target: LogTarget, advance_ms: i64) {
    let (tx, mut rx) = mpsc::channel(64);
    let opts = LogOptions { max_streams: 200, tail_lines: Some(10), ..LogOptions::default() };
    let _session = spawn_log_session(client, target.clone(), opts, tx, CancellationToken::new());
    let mut pane = LogPane::new(target, PaneOptions::default());
    let styles = LogStyles::default();
    let area = Rect::new(0, 0, W, H);
    let mut buf = Buffer::empty(area);
    let mut frames: Vec<f64> = Vec::new();
    let mut received = 0usize;
    let run_for = Duration::from_secs(5);
    let start = Instant::now();
    let mut next_advance = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(33));
    while start.elapsed() < run_for {
        tick.tick().await;
        // Push the simulated clock: every pod writes a line every 1-3 simulated seconds.
        if Instant::now() >= next_advance {
            h.clock.advance(advance_ms);
            next_advance += Duration::from_millis(100);
        }
        let f0 = Instant::now();
        let mut got = false;
        while let Ok(msg) = rx.try_recv() {
            if let LogMsg::Lines { lines, .. } = &msg {
                received += lines.len();
            }
            pane.apply(msg);
            got = true;
        }
        if got {
            buf.reset();
            render(&pane, &styles, area, &mut buf);
            frames.push(f0.elapsed().as_secs_f64() * 1e3);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let nodes: std::collections::BTreeSet<&str> = pane.buffer().iter_from(0).map(|(_, l)| &*l.source.node).collect();
    println!(
        "end to end, 200-pod tail, {advance_ms} sim-ms per 100 ms: {:.0} lines/s delivered, {} frames, frame (apply+render) p50 {:.2} ms p99 {:.2} ms max {:.2} ms, dropped {}, {} nodes in buffer, streams {:?}",
        received as f64 / wall,
        frames.len(),
        percentile(&mut frames.clone(), 0.5),
        percentile(&mut frames.clone(), 0.99),
        frames.iter().cloned().fold(0.0, f64::max),
        pane.buffer().dropped(),
        nodes.len(),
        pane.streams(),
    );
}

fn main() {
    println!("== log pane: sanitize + push + render one {W}x{H} frame per batch");
    for batch in [100, 1_000, 10_000] {
        pane_run("single pod", 1, batch, 200_000, false, false);
    }
    pane_run("single pod, search active", 1, 1_000, 200_000, true, false);
    pane_run("single pod, wrap", 1, 1_000, 200_000, false, true);
    println!("== DaemonSet tail, 200 sources interleaved");
    for batch in [1_000, 10_000] {
        pane_run("200 sources", 200, batch, 200_000, false, false);
    }
    println!("== end to end against the simulator");
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            return;
        }
    };
    if let Err(e) = rt.block_on(end_to_end()) {
        eprintln!("end-to-end benchmark failed: {e:#}");
    }
}

/// A TestBackend that counts the frames the loop flushes.
struct Counting {
    inner: ratatui::backend::TestBackend,
    flushes: Arc<std::sync::atomic::AtomicUsize>,
}

impl ratatui::backend::Backend for Counting {
    fn draw<'a, I>(&mut self, content: I) -> std::io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a ratatui::buffer::Cell)>,
    {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> std::io::Result<()> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> std::io::Result<()> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> std::io::Result<ratatui::layout::Position> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<ratatui::layout::Position>>(&mut self, p: P) -> std::io::Result<()> {
        self.inner.set_cursor_position(p)
    }
    fn clear(&mut self) -> std::io::Result<()> {
        self.inner.clear()
    }
    fn size(&self) -> std::io::Result<ratatui::layout::Size> {
        self.inner.size()
    }
    fn window_size(&mut self) -> std::io::Result<ratatui::backend::WindowSize> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.flushes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.flush()
    }
}

/// The real event loop, with its own cluster executor connected to the simulator, with the
/// DaemonSet tail open in a full-screen pane while the simulator floods it: frames drawn in 5 s
/// and the delay of key presses (`t` toggles timestamps, a redraw) sent every 250 ms.
async fn event_loop_flood(h: &sim::SimHandle, target: LogTarget, advance_ms: i64) {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use daemonscope::app::{self, App, AppOptions};
    use daemonscope::cluster::executor::{Executor, ExecutorOptions};
    use daemonscope::shell::Shell;
    let mut opts = AppOptions::default();
    opts.config.logs.layout = "full".into();
    opts.config.logs.max_streams = 200;
    opts.config.logs.tail_lines = 10;
    let mut app = App::new(daemonscope::fleet::Index::new(), opts);
    let args = daemonscope::cli::ClusterArgs::default();
    let connected = match daemonscope::cluster::client::connect_yaml(&h.kubeconfig_yaml(), "the simulator", &args).await
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("connect: {e}");
            return;
        }
    };
    let mut shell = Shell::from(Executor::start(connected, ExecutorOptions::default()));
    shell.attach(&mut app);
    let effects = app::logs::open(&mut app, target, None);
    shell.carry_out(&mut app, effects);
    let flushes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let backend = Counting { inner: ratatui::backend::TestBackend::new(W, H), flushes: flushes.clone() };
    let (key_tx, mut key_rx) = mpsc::unbounded_channel::<std::io::Result<Event>>();
    let input = Box::pin(futures::stream::poll_fn(move |cx| key_rx.poll_recv(cx)));
    let clock = h.clock.clone();
    let driver = tokio::spawn(async move {
        let start = Instant::now();
        let mut sent = 0u32;
        while start.elapsed() < Duration::from_secs(5) {
            clock.advance(advance_ms);
            tokio::time::sleep(Duration::from_millis(100)).await;
            if sent < 20 && start.elapsed() >= Duration::from_millis(250 * u64::from(sent + 1)) {
                let k = KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE);
                let _ = key_tx.send(Ok(Event::Key(k)));
                sent += 1;
            }
        }
        // Ctrl-C quits from anywhere (`q` in a focused pane closes the pane).
        let _ = key_tx.send(Ok(Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))));
        (Instant::now(), sent)
    });
    let mut term = match ratatui::Terminal::new(backend) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("terminal: {e}");
            return;
        }
    };
    let started = Instant::now();
    let result = daemonscope::shell::run_loop(&mut term, app, input, shell, 30).await;
    let ended = Instant::now();
    let (q_sent, keys) = driver.await.unwrap_or((ended, 0));
    let frames = flushes.load(std::sync::atomic::Ordering::Relaxed);
    match result {
        Ok((app, exit)) => {
            let pane = app.logs().map(|l| &l.pane);
            println!(
                "event loop, 200-pod tail, {advance_ms} sim-ms per 100 ms: {frames} frames in {:.1} s ({:.1} fps), {keys} keys handled, Ctrl-C answered after {:.1} ms, {} lines held, dropped {}, exit {exit:?}",
                (ended - started).as_secs_f64(),
                frames as f64 / (ended - started).as_secs_f64(),
                ended.saturating_duration_since(q_sent).as_secs_f64() * 1e3,
                pane.map_or(0, |p| p.buffer().len()),
                pane.map_or(0, |p| p.buffer().dropped()),
            );
        }
        Err(e) => eprintln!("event loop failed: {e:#}"),
    }
}
