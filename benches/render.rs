//! Render benchmarks (harness = false; prints figures, asserts nothing):
//! 1. frame time of the matrix at 5,000 nodes × 30 DaemonSets on TestBackend, 200×60 and 80×24,
//!    while the cursor moves (target ≤ 2 ms);
//! 2. bytes written to a real CrosstermBackend per frame under churn (pod states flipping
//!    across the fleet), through a Write sink that counts: ratatui's diff should keep it small;
//! 3. CPU used by the real event loop over 10 s with no input and no events (getrusage).
//!
//! Run: `cargo bench --bench render` (add `-- --quick` for a shorter idle measurement).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use daemonscope::app::{App, AppOptions, Msg, update};
use daemonscope::fleet::Index;
use daemonscope::fleet::model::{
    Change, DsInfo, DsStatusCounts, FleetEvent, NodeInfo, NodeReadiness, Phase, PodInfo, StreamKind, StreamState,
    UpdateStrategy,
};
use daemonscope::fleet::schedule::PodSchedSpec;
use daemonscope::shell::run_loop;
use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};

const NODES: usize = 5_000;
const DAEMONSETS: usize = 30;
const NOW: i64 = 1_700_000_000;

fn node_name(i: usize) -> String {
    format!("ip-10-{}-{}-{}.eu-west-1.compute.internal", i / 65_536, (i / 256) % 256, i % 256)
}

fn pool(i: usize) -> String {
    format!("pool-{}", i % 5)
}

fn ds_name(j: usize) -> String {
    format!("daemonset-with-a-longish-name-{j:02}")
}

/// 5,000 nodes in 5 pools; 30 DaemonSets, every fifth restricted to pool-0; a pod on every
/// eligible cell except every 97th (missing); every 53rd pod crash-looping.
fn synthetic_fleet() -> Vec<FleetEvent> {
    let mut ev = Vec::with_capacity(NODES * DAEMONSETS + NODES + DAEMONSETS + 16);
    ev.push(FleetEvent::Node(Change::Init));
    for i in 0..NODES {
        let mut labels = BTreeMap::new();
        labels.insert("pool".to_string(), pool(i));
        labels.insert("topology.kubernetes.io/zone".to_string(), format!("eu-west-1{}", ['a', 'b', 'c'][i % 3]));
        labels.insert("kubernetes.io/hostname".to_string(), node_name(i));
        ev.push(FleetEvent::Node(Change::InitItem(NodeInfo {
            name: node_name(i),
            labels,
            taints: vec![],
            unschedulable: i % 500 == 0,
            readiness: if i % 700 == 3 { NodeReadiness::NotReady } else { NodeReadiness::Ready },
            created: NOW - 86_400 - i as i64,
            pressures: vec![],
            kubelet_version: "v1.30.0".into(),
            since: Vec::new(),
        })));
    }
    ev.push(FleetEvent::Node(Change::InitDone));
    ev.push(FleetEvent::DaemonSet(Change::Init));
    for j in 0..DAEMONSETS {
        let mut sched = PodSchedSpec::default();
        if j % 5 == 4 {
            sched.node_selector.insert("pool".into(), "pool-0".into());
        }
        ev.push(FleetEvent::DaemonSet(Change::InitItem(DsInfo {
            namespace: "kube-system".into(),
            name: ds_name(j),
            uid: format!("uid-{j}"),
            generation: 1,
            created: NOW - 3_600,
            sched,
            status: DsStatusCounts::default(),
            strategy: UpdateStrategy::RollingUpdate { max_unavailable: "1".into(), max_surge: "0".into() },
            selector: format!("app={}", ds_name(j)),
            containers: vec!["main".into()],
            init_containers: vec![],
            images: vec![format!("registry.example/ds-{j}:1.0")],
        })));
    }
    ev.push(FleetEvent::DaemonSet(Change::InitDone));
    ev.push(FleetEvent::Revision(Change::Init));
    ev.push(FleetEvent::Revision(Change::InitDone));
    ev.push(FleetEvent::Pod(Change::Init));
    let mut k = 0usize;
    for j in 0..DAEMONSETS {
        for i in 0..NODES {
            if j % 5 == 4 && i % 5 != 0 {
                continue;
            }
            k += 1;
            if k.is_multiple_of(97) {
                continue;
            }
            ev.push(FleetEvent::Pod(Change::InitItem(pod(i, j, k.is_multiple_of(53)))));
        }
    }
    ev.push(FleetEvent::Pod(Change::InitDone));
    for kind in StreamKind::ALL {
        ev.push(FleetEvent::Stream { kind, state: StreamState::Live, at: NOW });
    }
    ev
}

fn pod(i: usize, j: usize, crashing: bool) -> PodInfo {
    PodInfo {
        namespace: "kube-system".into(),
        name: format!("{}-{i:05}", ds_name(j)),
        uid: format!("uid-{j}-{i}"),
        owner: Some(ds_name(j)),
        node: Some(node_name(i)),
        bound: true,
        revision_hash: Some("5d4f8c7b9".into()),
        template_generation: Some(1),
        created: NOW - 600,
        deleting: false,
        phase: Phase::Running,
        reason: if crashing { "CrashLoopBackOff".into() } else { "Running".into() },
        ready: !crashing,
        containers_ready: u16::from(!crashing),
        containers_total: 1,
        restarts: if crashing { 17 } else { 0 },
        last_termination: crashing.then(|| "Error (exit 1)".to_string()),
        last_restart: crashing.then_some(NOW - 30),
        detail: None,
    }
}

fn build_app(w: u16, h: u16, events: Vec<FleetEvent>) -> App {
    let mut app = App::new(Index::new(), AppOptions { context: "bench".into(), ..AppOptions::default() });
    update(&mut app, Msg::Tick(NOW));
    update(&mut app, Msg::Resize(w, h));
    update(&mut app, Msg::Fleet(events));
    app
}

fn press(app: &mut App, code: KeyCode) {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn frame_times(events: &[FleetEvent], w: u16, h: u16) {
    let mut app = build_app(w, h, events.to_vec());
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    let keys = [KeyCode::Down, KeyCode::PageDown, KeyCode::Right, KeyCode::Char(']'), KeyCode::Up, KeyCode::Left];
    let mut times = Vec::new();
    for n in 0..600 {
        press(&mut app, keys[n % keys.len()]);
        let t = Instant::now();
        term.draw(|f| daemonscope::ui::render(&app, f)).expect("draw");
        times.push(t.elapsed());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "frame {w}x{h} at {NODES}x{DAEMONSETS}: mean {:.3} ms, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (target <= 2 ms)",
        ms(mean),
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(times[times.len() - 1])
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A `Write` that counts bytes (into a shared counter) and throws them away.
#[derive(Default, Clone)]
struct Counting {
    bytes: std::rc::Rc<std::cell::Cell<u64>>,
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.set(self.bytes.get() + buf.len() as u64);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn bytes_under_churn(events: &[FleetEvent]) {
    let (w, h) = (200u16, 60u16);
    let mut app = build_app(w, h, events.to_vec());
    let sink = Counting::default();
    let bytes = sink.bytes.clone();
    let mut term = Terminal::with_options(
        CrosstermBackend::new(sink),
        // crossterm's backend would ask the real terminal for its size; fix the viewport.
        ratatui::TerminalOptions { viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, w, h)) },
    )
    .expect("terminal");
    term.draw(|f| daemonscope::ui::render(&app, f)).expect("draw");
    let first = bytes.get();
    // Churn: 200 pod changes per frame spread over the fleet (about 2,000 events/s at 10 fps),
    // flipping pods between Running and CrashLoopBackOff.
    let frames = 300u64;
    let mut seq = 0usize;
    let before = bytes.get();
    let mut update_time = Duration::ZERO;
    for f in 0..frames as usize {
        let mut batch = Vec::with_capacity(200);
        for _ in 0..200 {
            seq = seq.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let i = (seq >> 20) % NODES;
            let j = ((seq >> 40) % DAEMONSETS) / 5 * 5; // j % 5 == 0: unrestricted DaemonSets only
            batch.push(FleetEvent::Pod(Change::Apply(pod(i, j, (f + i).is_multiple_of(2)))));
        }
        let t = Instant::now();
        update(&mut app, Msg::Fleet(batch));
        update_time += t.elapsed();
        term.draw(|fr| daemonscope::ui::render(&app, fr)).expect("draw");
    }
    let per_frame = (bytes.get() - before) / frames;
    println!(
        "bytes to the terminal 200x60: first frame {first} B; under churn (200 pod events/frame) {per_frame} B/frame, \
         {} B/s at 10 frames/s",
        per_frame * 10
    );
    println!(
        "update() of a 200-event churn batch (index apply + row/column order recompute): {:.3} ms on average",
        ms(update_time / frames as u32)
    );
}

fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the struct we pass and reads nothing else.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn idle_cpu(events: &[FleetEvent], secs: u64) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let app = build_app(200, 60, events.to_vec());
        let mut term = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let input = futures::stream::pending::<io::Result<crossterm::event::Event>>();
        let run = run_loop(&mut term, app, input, rx, 30);
        tokio::pin!(run);
        // Let the first frame render, then measure.
        let _ = tokio::time::timeout(Duration::from_millis(500), &mut run).await;
        let c0 = cpu_time();
        let t0 = Instant::now();
        let _ = tokio::time::timeout(Duration::from_secs(secs), &mut run).await;
        let used = cpu_time() - c0;
        let wall = t0.elapsed();
        drop(tx);
        println!(
            "idle event loop (no input, no events) over {:.1} s: {:.2} ms CPU ({:.4}% of a core)",
            wall.as_secs_f64(),
            ms(used),
            100.0 * used.as_secs_f64() / wall.as_secs_f64()
        );
    });
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let t = Instant::now();
    let events = synthetic_fleet();
    let n = events.len();
    let app = build_app(200, 60, events.clone());
    println!(
        "synthetic fleet: {n} events ({} nodes, {} DaemonSets, {} pods) built and applied in {:.0} ms",
        app.index.summary().nodes,
        app.index.summary().daemonsets,
        app.index.summary().pods,
        ms(t.elapsed())
    );
    drop(app);
    frame_times(&events, 200, 60);
    frame_times(&events, 80, 24);
    bytes_under_churn(&events);
    idle_cpu(&events, if quick { 3 } else { 10 });
}
