//! The simulator's fault switches over HTTP (`/debug/faults`), driven through the real `kube`
//! client the way a chaos test or a person with the kubeconfig would: only the full token may
//! use them, and each fault does what a client of a real API server would see.

mod common;

use std::time::Duration;

use daemonscope::sim::store::StoreError;
use daemonscope::sim::{Kind, SimHandle};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};

async fn sim() -> SimHandle {
    common::sim::start(common::sim::frozen("small")).await
}

async fn fault(client: &kube::Client, name: &str) -> kube::Result<serde_json::Value> {
    let req = http::Request::post(format!("/debug/faults/{name}")).body(Vec::new()).expect("a request");
    client.request::<serde_json::Value>(req).await
}

async fn switches(client: &kube::Client) -> serde_json::Value {
    let req = http::Request::get("/debug/faults").body(Vec::new()).expect("a request");
    client.request::<serde_json::Value>(req).await.expect("GET /debug/faults")
}

fn api_code(r: &kube::Result<impl std::fmt::Debug>) -> Option<u16> {
    match r {
        Err(kube::Error::Api(s)) => Some(s.code),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_full_token_flips_the_switches() {
    let sim = sim().await;
    let ro = sim.readonly_client().await.expect("read-only client");
    assert_eq!(api_code(&fault(&ro, "freeze").await), Some(403));
    assert!(!sim.faults.is_frozen(), "the read-only user froze nothing");
    let full = sim.client().await.expect("client");
    assert_eq!(switches(&full).await["frozen"], false);
    assert_eq!(api_code(&fault(&full, "no-such-fault").await), Some(404));
    assert_eq!(api_code(&fault(&full, "burst?code=200").await), Some(400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freeze_holds_requests_unanswered_until_the_thaw() {
    let sim = sim().await;
    let client = sim.client().await.expect("client");
    let nodes: Api<Node> = Api::all(client.clone());
    let before = nodes.list(&ListParams::default()).await.expect("list before").items.len();
    let mut watch = nodes.watch(&WatchParams::default(), "0").await.expect("a watch").boxed();
    // The synthetic ADDED events of a watch from "0", before the freeze.
    for _ in 0..before {
        let _ = tokio::time::timeout(Duration::from_secs(10), watch.next()).await.expect("an initial event");
    }
    assert_eq!(fault(&client, "freeze").await.expect("freeze")["frozen"], true);

    let held = tokio::spawn({
        let nodes = nodes.clone();
        async move { nodes.list(&ListParams::default()).await }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!held.is_finished(), "a frozen server answers nothing");
    // The open watch falls silent too: a change during the freeze is not sent…
    let node = touch_a_node(&sim);
    assert!(tokio::time::timeout(Duration::from_secs(2), watch.next()).await.is_err(), "the watch said something");

    assert_eq!(fault(&client, "unfreeze").await.expect("unfreeze")["frozen"], false);
    let listed = tokio::time::timeout(Duration::from_secs(10), held).await.expect("answered after the thaw");
    assert_eq!(listed.expect("task").expect("list after the thaw").items.len(), before);
    // … until the thaw.
    match tokio::time::timeout(Duration::from_secs(10), watch.next()).await.expect("an event after the thaw") {
        Some(Ok(WatchEvent::Modified(n))) => assert_eq!(n.metadata.name.as_deref(), Some(node.as_str())),
        other => panic!("expected the change made during the freeze, got {other:?}"),
    }
}

/// Label one node through the store; its name.
fn touch_a_node(sim: &SimHandle) -> String {
    let (nodes, _) = sim.store.list(Kind::Node, None);
    let name = nodes.first().expect("a node").name().to_string();
    sim.store
        .modify::<StoreError>(Kind::Node, "", &name, |o| {
            o.meta_mut().labels.get_or_insert_with(Default::default).insert("touched".into(), "yes".into());
            Ok(())
        })
        .expect("a change");
    name
}

/// The status line and headers of one plain HTTP/1.1 GET, read off the socket: what any client
/// sees before its own retry logic (kube's retries 429 and 503 by itself).
async fn raw_get(sim: &SimHandle, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(sim.addr).await.expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        sim.addr, sim.token
    );
    tcp.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    text.split("\r\n\r\n").next().unwrap_or_default().to_ascii_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_fails_the_next_requests_with_retry_after_then_the_server_recovers() {
    let sim = sim().await;
    let client = sim.client().await.expect("client");
    fault(&client, "burst?count=2&code=429&retryAfter=3").await.expect("burst");
    for _ in 0..2 {
        let head = raw_get(&sim, "/api/v1/nodes").await;
        assert!(head.starts_with("http/1.1 429"), "{head}");
        assert!(head.contains("retry-after: 3"), "{head}");
    }
    assert!(raw_get(&sim, "/api/v1/nodes").await.starts_with("http/1.1 200"), "the burst is over");
    // A 500 is not retried by the client: it sees the burst itself.
    fault(&client, "burst?count=1&code=500").await.expect("burst");
    let nodes: Api<Node> = Api::all(client.clone());
    assert_eq!(api_code(&nodes.list(&ListParams::default()).await), Some(500));
    assert!(nodes.list(&ListParams::default()).await.is_ok(), "the burst is over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_delays_every_request() {
    let sim = sim().await;
    let client = sim.client().await.expect("client");
    fault(&client, "latency?ms=700").await.expect("latency");
    let nodes: Api<Node> = Api::all(client.clone());
    let t = std::time::Instant::now();
    nodes.list(&ListParams::default()).await.expect("list");
    assert!(t.elapsed() >= Duration::from_millis(700), "answered after {:?}", t.elapsed());
    fault(&client, "clear").await.expect("clear");
    assert_eq!(switches(&client).await["latencyMs"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_drops_watches_refuses_during_the_downtime_and_forgets_history() {
    let sim = sim().await;
    let client = sim.client().await.expect("client");
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes.list(&ListParams::default()).await.expect("list");
    let rv = list.metadata.resource_version.clone().expect("a resourceVersion");
    let mut watch = nodes.watch(&WatchParams::default(), &rv).await.expect("a watch").boxed();
    // A change after `rv`, so that resuming from `rv` needs history.
    touch_a_node(&sim);
    // A downtime long enough that a loaded machine still lists inside it.
    fault(&client, "restart?downtimeMs=6000").await.expect("restart");
    // The open watch ends (the connection dropped).
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match watch.next().await {
                None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the watch survived the restart");
    // During the downtime the connection is closed before any answer: not an API error.
    let during = nodes.list(&ListParams::default()).await;
    assert!(during.is_err() && api_code(&during).is_none(), "during the downtime: {during:?}");
    tokio::time::sleep(Duration::from_millis(6300)).await;
    // The history before the restart is gone: a resume from the old version gets 410.
    let mut resumed = nodes.watch(&WatchParams::default(), &rv).await.expect("a watch after the restart").boxed();
    match tokio::time::timeout(Duration::from_secs(10), resumed.next()).await.expect("an event") {
        Some(Ok(WatchEvent::Error(s))) => assert_eq!(s.code, 410),
        other => panic!("expected 410 Expired, got {other:?}"),
    }
}
