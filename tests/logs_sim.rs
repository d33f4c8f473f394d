//! Log sessions against the simulator (scenario `mixed`, frozen clock): the lines a pane receives
//! are exactly the simulator's deterministic lines, follow picks up new ones as the clock moves,
//! previous-container logs of a crash loop, a DaemonSet tail with node prefixes, and the cap on
//! concurrent streams.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use daemonscope::cluster::logs::spawn_log_session;
use daemonscope::logs::{LogLine, LogMsg, LogOptions, LogTarget, PodRef, StreamState};
use daemonscope::logview::{LogPane, LogStyles, PaneOptions, render};
use daemonscope::sim::{self, Kind, Object, SimHandle};
use k8s_openapi::api::core::v1::Pod;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

async fn start_sim() -> SimHandle {
    common::sim::start(common::sim::frozen("mixed")).await
}

fn pods_in(h: &SimHandle, namespace: &str, ds_prefix: &str) -> Vec<Pod> {
    let (list, _) = h.store.list(Kind::Pod, Some(namespace));
    let mut pods: Vec<Pod> = list
        .iter()
        .filter_map(|s| match &*s.obj() {
            Object::Pod(p) => Some(p.clone()),
            _ => None,
        })
        .filter(|p| p.metadata.name.as_deref().is_some_and(|n| n.starts_with(ds_prefix)))
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some())
        .collect();
    pods.sort_by_key(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()));
    pods
}

fn pod_ref(p: &Pod) -> PodRef {
    PodRef::new(
        p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default(),
        p.metadata.name.clone().unwrap_or_default(),
    )
}

fn is_running(p: &Pod) -> bool {
    p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        && p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|cs| cs.iter().all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some())))
}

fn container_of(p: &Pod) -> String {
    p.spec.as_ref().and_then(|s| s.containers.first()).map(|c| c.name.clone()).unwrap_or_default()
}

/// Receive until `done` says so; a generous deadline turns a hang into a failure (not a timing
/// assertion: the condition is what is checked).
async fn recv_until(
    rx: &mut mpsc::Receiver<LogMsg>,
    pane: &mut LogPane,
    mut done: impl FnMut(&LogPane, &LogMsg) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let msg = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("expected log messages did not arrive within 60 s")
            .expect("session channel closed early");
        let stop = done(pane, &msg);
        pane.apply(msg);
        if stop {
            return;
        }
    }
}

/// Equal sequences, reporting the first difference instead of two huge vectors.
fn assert_same<T: PartialEq + std::fmt::Debug>(got: &[T], want: &[T]) {
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("line {i} differs:\n got  {:?}\n want {:?}", got[i], want[i]);
    }
    assert_eq!(
        got.len(),
        want.len(),
        "same prefix, different lengths; got tail {:?}, want tail {:?}",
        got.last(),
        want.last()
    );
}

fn held(pane: &LogPane) -> Vec<LogLine> {
    pane.buffer().iter_from(0).map(|(_, l)| l.clone()).collect()
}

fn pod_target(p: &Pod, previous: bool) -> LogTarget {
    let r = pod_ref(p);
    LogTarget::Pod {
        namespace: p.metadata.namespace.clone().unwrap_or_default(),
        pod: r.pod,
        node: r.node,
        container: Some(container_of(p)),
        previous,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pane_receives_the_simulators_deterministic_lines() {
    let h = start_sim().await;
    let client = h.client().await.expect("client");
    let pod = pods_in(&h, "monitoring", "node-exporter").into_iter().find(is_running).expect("a running pod");
    let target = pod_target(&pod, false);
    let (tx, mut rx) = mpsc::channel(64);
    // The last hour (`--since 1h`): the pod has run for longer than the ring buffer holds.
    let opts = LogOptions { follow: false, tail_lines: None, since_seconds: Some(3600), ..LogOptions::default() };
    let _session = spawn_log_session(client, target.clone(), opts, tx, CancellationToken::new());
    let mut pane = LogPane::new(target, PaneOptions::default());
    recv_until(&mut rx, &mut pane, |_, m| matches!(m, LogMsg::Status { state: StreamState::Ended, .. })).await;
    assert_eq!(pane.buffer().dropped(), 0);

    let from = h.clock.now().checked_sub(jiff::SignedDuration::from_secs(3600)).expect("an hour ago");
    let expected = sim::logs::lines(&pod, &container_of(&pod), false, from, h.clock.now()).expect("sim lines");
    assert!(!expected.is_empty(), "the scenario's pod has written lines");
    let got = held(&pane);
    let got: Vec<(i128, String)> =
        got.iter().map(|l| (l.ts.map_or(0, |t| t.as_nanosecond()), l.text.to_string())).collect();
    let want: Vec<(i128, String)> =
        expected.iter().map(|(t, s)| (t.as_nanosecond(), s.trim_end().to_owned())).collect();
    assert_same(&got, &want);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_picks_up_new_lines_when_the_clock_moves() {
    let h = start_sim().await;
    let client = h.client().await.expect("client");
    let pod = pods_in(&h, "monitoring", "node-exporter").into_iter().find(is_running).expect("a running pod");
    let target = pod_target(&pod, false);
    let (tx, mut rx) = mpsc::channel(64);
    let opts = LogOptions { follow: true, tail_lines: Some(5), ..LogOptions::default() };
    let _session = spawn_log_session(client, target.clone(), opts, tx, CancellationToken::new());
    let mut pane = LogPane::new(target, PaneOptions::default());
    recv_until(
        &mut rx,
        &mut pane,
        |p, m| matches!(m, LogMsg::Lines { lines, .. } if p.buffer().len() + lines.len() >= 5),
    )
    .await;
    assert_eq!(pane.buffer().len(), 5, "tailLines=5");

    let before = h.clock.now();
    h.clock.advance(60_000);
    let after = h.clock.now();
    let new = sim::logs::lines(&pod, &container_of(&pod), false, before, after).expect("sim lines");
    assert!(!new.is_empty(), "a minute of simulated time writes lines");
    let want_total = 5 + new.len();
    recv_until(
        &mut rx,
        &mut pane,
        |p, m| matches!(m, LogMsg::Lines { lines, .. } if p.buffer().len() + lines.len() >= want_total),
    )
    .await;
    let got: Vec<String> = held(&pane)[5..].iter().map(|l| l.text.to_string()).collect();
    let want: Vec<String> = new.iter().flat_map(|(_, s)| s.trim_end().split('\n')).map(str::to_owned).collect();
    assert_same(&got, &want);
    assert!(pane.following());
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previous_container_logs_of_a_crash_looping_pod() {
    let h = start_sim().await;
    let client = h.client().await.expect("client");
    let pod = pods_in(&h, "monitoring", "datadog-agent")
        .into_iter()
        .find(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.last_state.as_ref().is_some_and(|l| l.terminated.is_some())))
        })
        .expect("a crash-looping datadog-agent pod with a terminated previous run");
    let target = pod_target(&pod, true);
    let (tx, mut rx) = mpsc::channel(64);
    let opts = LogOptions { tail_lines: None, ..LogOptions::default() };
    let _session = spawn_log_session(client, target.clone(), opts, tx, CancellationToken::new());
    let mut pane = LogPane::new(target, PaneOptions::default());
    recv_until(&mut rx, &mut pane, |_, m| matches!(m, LogMsg::Status { state: StreamState::Ended, .. })).await;

    let from = pod.metadata.creation_timestamp.as_ref().map(|t| t.0).expect("creation timestamp");
    let expected = sim::logs::lines(&pod, &container_of(&pod), true, from, h.clock.now()).expect("previous lines");
    let got: Vec<String> = held(&pane).iter().map(|l| l.text.to_string()).collect();
    // A multi-line entry (a panic and its signal line) arrives as separate lines, as from the kubelet.
    let want: Vec<String> = expected.iter().flat_map(|(_, s)| s.trim_end().split('\n')).map(str::to_owned).collect();
    assert!(!got.is_empty());
    assert_same(&got, &want);
    assert!(held(&pane).iter().all(|l| l.source.previous));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemonset_tail_shows_every_selected_node_with_its_prefix() {
    let h = start_sim().await;
    let client = h.client().await.expect("client");
    let pods: Vec<Pod> = pods_in(&h, "monitoring", "node-exporter").into_iter().filter(is_running).take(6).collect();
    assert_eq!(pods.len(), 6);
    let selected: Vec<PodRef> = pods.iter().map(pod_ref).collect();
    let target = LogTarget::DaemonSet {
        namespace: "monitoring".into(),
        name: "node-exporter".into(),
        pods: selected.clone(),
        container: Some(container_of(&pods[0])),
        previous: false,
    };
    let (tx, mut rx) = mpsc::channel(64);
    let opts = LogOptions { follow: false, tail_lines: Some(3), ..LogOptions::default() };
    let _session = spawn_log_session(client, target.clone(), opts, tx, CancellationToken::new());
    let mut pane = LogPane::new(target, PaneOptions::default());
    let mut ended = 0;
    recv_until(&mut rx, &mut pane, |_, m| {
        if matches!(m, LogMsg::Status { state: StreamState::Ended, .. }) {
            ended += 1;
        }
        ended == 6
    })
    .await;
    let nodes: BTreeSet<String> = held(&pane).iter().map(|l| l.source.node.to_string()).collect();
    let want: BTreeSet<String> = selected.iter().map(|p| p.node.clone()).collect();
    assert_eq!(nodes, want);
    assert_eq!(pane.buffer().len(), 18, "three lines from each of six pods");

    // Every body row starts with its node's name.
    let area = Rect::new(0, 0, 160, 22);
    let mut buf = Buffer::empty(area);
    render(&pane, &LogStyles::default(), area, &mut buf);
    let lines = held(&pane);
    for (i, l) in lines.iter().enumerate() {
        let y = 1 + i as u16;
        let row: String = (0..160).map(|x| buf[(x, y)].symbol()).collect();
        assert!(row.starts_with(&*l.source.node), "row {y} {row:?} lacks prefix {}", l.source.node);
    }
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_stream_cap_is_honoured_and_reported() {
    let h = start_sim().await;
    let client = h.client().await.expect("client");
    let pods: Vec<Pod> = pods_in(&h, "kube-system", "kube-proxy").into_iter().filter(is_running).collect();
    assert!(pods.len() > 12, "kube-proxy runs on most of the 40 nodes");
    let mut all: Vec<PodRef> = pods.iter().map(pod_ref).collect();
    all.sort();
    let target = LogTarget::DaemonSet {
        namespace: "kube-system".into(),
        name: "kube-proxy".into(),
        pods: all.clone(),
        container: Some(container_of(&pods[0])),
        previous: false,
    };
    let (tx, mut rx) = mpsc::channel(64);
    let opts = LogOptions { follow: true, tail_lines: Some(2), max_streams: 10, ..LogOptions::default() };
    let session = spawn_log_session(client, target.clone(), opts, tx, CancellationToken::new());
    let mut pane = LogPane::new(target, PaneOptions::default());
    let mut noted = false;
    recv_until(&mut rx, &mut pane, |p, m| {
        if let LogMsg::Note(t) = m {
            noted |= t.contains("streaming 10 at a time");
        }
        let mut nodes: BTreeSet<String> = p.buffer().iter_from(0).map(|(_, l)| l.source.node.to_string()).collect();
        if let LogMsg::Lines { lines, .. } = m {
            nodes.extend(lines.iter().map(|l| l.source.node.to_string()));
        }
        nodes.len() == 10
    })
    .await;
    assert!(noted, "the session says the DaemonSet has more pods than the cap");
    assert_eq!(pane.streams().map(|s| (s.open, s.shown, s.total)), Some((10, 10, all.len())));
    let first_ten: BTreeSet<String> = all[..10].iter().map(|p| p.node.clone()).collect();
    let seen: BTreeSet<String> = held(&pane).iter().map(|l| l.source.node.to_string()).collect();
    assert_eq!(seen, first_ten, "only the first ten pods by node name are streamed");
    let area = Rect::new(0, 0, 120, 10);
    let mut buf = Buffer::empty(area);
    render(&pane, &LogStyles::default(), area, &mut buf);
    let status: String = (0..120).map(|x| buf[(x, 9)].symbol()).collect();
    assert!(status.contains(&format!("showing 10 of {} pods", all.len())), "{status}");

    // A pod leaving the set frees a slot for the next one.
    let eleventh = all[10].node.clone();
    session.update_pods(all[1..].to_vec());
    recv_until(
        &mut rx,
        &mut pane,
        |_, m| matches!(m, LogMsg::Lines { lines, .. } if lines.iter().any(|l| *l.source.node == *eleventh)),
    )
    .await;
    assert_eq!(pane.streams().map(|s| (s.open, s.total)), Some((10, all.len() - 1)));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_pod_is_reported_and_not_reopened() {
    let h = start_sim().await;
    let client = h.client().await.expect("client");
    let pod = pods_in(&h, "monitoring", "node-exporter").into_iter().find(is_running).expect("a running pod");
    let target = pod_target(&pod, false);
    let (tx, mut rx) = mpsc::channel(64);
    let opts = LogOptions {
        follow: true,
        tail_lines: Some(1),
        retry_initial: Duration::from_millis(50),
        ..LogOptions::default()
    };
    let _session = spawn_log_session(client, target.clone(), opts, tx, CancellationToken::new());
    let mut pane = LogPane::new(target, PaneOptions::default());
    recv_until(&mut rx, &mut pane, |_, m| matches!(m, LogMsg::Lines { .. })).await;
    let r = pod_ref(&pod);
    h.store.delete(Kind::Pod, "monitoring", &r.pod).expect("pod deleted from the store");
    recv_until(&mut rx, &mut pane, |_, m| matches!(m, LogMsg::Status { state: StreamState::Failed, .. })).await;
    let (state, text) = pane.troubled().values().next().cloned().expect("a troubled source");
    assert_eq!(state, StreamState::Failed);
    assert!(text.contains("not found"), "{text}");
    h.shutdown().await;
}
