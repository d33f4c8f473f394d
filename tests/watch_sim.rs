//! The watch streams against the simulator, through the real HTTP path: after a sync, and after
//! faults (dropped watches, 410 Gone after a compaction, 5xx bursts, changes made while the
//! watches were down), the index built from the watches equals the simulator's truth — an
//! index built from the store's objects through the same projections. Polls with generous
//! deadlines; no timing assertions.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use daemonscope::cluster::project::{ds_info, node_info_from_k8s, pod_info_from_k8s, rev_info};
use daemonscope::cluster::watch::spawn_watches;
use daemonscope::fleet::model::{Change, FleetEvent, StreamKind, StreamState};
use daemonscope::fleet::{CellState, Index};
use daemonscope::sim::{self, Kind, Object, SimHandle, SimOptions, Store};
use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeSpec, NodeStatus, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Generous: a loaded 2-core machine, and watcher backoff that can reach several seconds.
const DEADLINE: Duration = Duration::from_secs(90);

async fn start_sim(scenario: &str) -> SimHandle {
    common::sim::start(SimOptions { churn: Some(0.0), ..common::sim::frozen(scenario) }).await
}

/// The watches of one test, feeding an index owned by the test.
struct Watching {
    rx: mpsc::Receiver<FleetEvent>,
    index: Index,
    cancel: CancellationToken,
    handles: Vec<JoinHandle<()>>,
    namespace: Option<String>,
}

impl Watching {
    async fn start(sim: &SimHandle, namespace: Option<&str>) -> Watching {
        let client = match sim.client().await {
            Ok(c) => c,
            Err(e) => panic!("client for the simulator: {e:#}"),
        };
        let (tx, rx) = mpsc::channel(1024);
        let cancel = CancellationToken::new();
        let handles = spawn_watches(client, namespace.map(str::to_string), tx, cancel.clone());
        Watching { rx, index: Index::new(), cancel, handles, namespace: namespace.map(str::to_string) }
    }

    /// Apply every event already queued; wait up to `wait` for the first one.
    async fn pump(&mut self, wait: Duration) {
        if let Ok(Some(ev)) = tokio::time::timeout(wait, self.rx.recv()).await {
            self.index.apply(ev);
        }
        while let Ok(ev) = self.rx.try_recv() {
            self.index.apply(ev);
        }
    }

    async fn until(&mut self, what: &str, mut done: impl FnMut(&Index) -> bool) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !done(&self.index) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
            self.pump(Duration::from_millis(200)).await;
        }
    }

    /// Wait until the index equals the truth of `store`, or fail with the differences.
    async fn converge(&mut self, store: &Store, what: &str) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            self.pump(Duration::from_millis(200)).await;
            if !self.index.synced() {
                assert!(tokio::time::Instant::now() < deadline, "{what}: never synced");
                continue;
            }
            let ours = snapshot(&self.index);
            let truth = snapshot(&truth(store, self.namespace.as_deref()));
            if ours == truth {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!("{what}: the index did not converge to the truth:\n{}", diff(&ours, &truth));
            }
        }
    }

    fn states(&self) -> Vec<(StreamKind, StreamState)> {
        StreamKind::ALL.iter().map(|&k| (k, self.index.stream_state(k).clone())).collect()
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The simulator's truth: an index built from the store's objects through the same projections,
/// with the same filters the watches apply (pods carrying `pod-template-generation`, in the
/// namespace when given).
fn truth(store: &Store, namespace: Option<&str>) -> Index {
    let mut ix = Index::new();
    let (nodes, _) = store.list(Kind::Node, None);
    ix.apply(FleetEvent::Node(Change::Init));
    for s in &nodes {
        if let Object::Node(n) = &*s.obj()
            && let Some(info) = node_info_from_k8s(n)
        {
            ix.apply(FleetEvent::Node(Change::InitItem(info)));
        }
    }
    ix.apply(FleetEvent::Node(Change::InitDone));
    let (dss, _) = store.list(Kind::DaemonSet, namespace);
    ix.apply(FleetEvent::DaemonSet(Change::Init));
    for s in &dss {
        if let Object::DaemonSet(d) = &*s.obj()
            && let Some(info) = ds_info(d)
        {
            ix.apply(FleetEvent::DaemonSet(Change::InitItem(info)));
        }
    }
    ix.apply(FleetEvent::DaemonSet(Change::InitDone));
    let (revs, _) = store.list(Kind::ControllerRevision, namespace);
    ix.apply(FleetEvent::Revision(Change::Init));
    for s in &revs {
        if let Object::ControllerRevision(r) = &*s.obj()
            && let Some(info) = rev_info(r).filter(|r| r.owner.is_some())
        {
            ix.apply(FleetEvent::Revision(Change::InitItem(info)));
        }
    }
    ix.apply(FleetEvent::Revision(Change::InitDone));
    let (pods, _) = store.list(Kind::Pod, namespace);
    ix.apply(FleetEvent::Pod(Change::Init));
    for s in &pods {
        if let Object::Pod(p) = &*s.obj()
            && p.metadata.labels.as_ref().is_some_and(|l| l.contains_key("pod-template-generation"))
            && let Some(info) = pod_info_from_k8s(p).filter(|p| p.owner.is_some())
        {
            ix.apply(FleetEvent::Pod(Change::InitItem(info)));
        }
    }
    ix.apply(FleetEvent::Pod(Change::InitDone));
    ix
}

/// Everything visible in an index, keyed by names (ids may differ between two indexes).
#[derive(Debug, PartialEq)]
struct Snapshot {
    nodes: BTreeMap<String, String>,
    daemonsets: BTreeMap<String, String>,
    cells: BTreeMap<(String, String), String>,
    revisions: BTreeMap<String, String>,
    summary: String,
    unplaced: u32,
}

fn snapshot(ix: &Index) -> Snapshot {
    let mut s = Snapshot {
        nodes: BTreeMap::new(),
        daemonsets: BTreeMap::new(),
        cells: BTreeMap::new(),
        revisions: BTreeMap::new(),
        summary: format!("{:?}", ix.summary()),
        unplaced: ix.unplaced_pods(),
    };
    let node_ids = ix.node_ids();
    for &n in &node_ids {
        if let Some(v) = ix.node(n) {
            s.nodes.insert(
                v.name.to_string(),
                format!(
                    "{:?} cordoned={} taints={:?} labels={:?} created={} problems={}",
                    v.readiness, v.unschedulable, v.taints, v.labels, v.created, v.problems
                ),
            );
        }
    }
    for d in ix.ds_ids() {
        let Some(v) = ix.ds(d) else { continue };
        let key = format!("{}/{}", v.namespace, v.name);
        s.daemonsets.insert(
            key.clone(),
            format!(
                "gen={} created={} status={:?} strategy={:?} containers={:?} init={:?} images={:?} newest={:?} desired={} counts={:?}",
                v.generation,
                v.created,
                v.status,
                v.strategy,
                v.containers,
                v.init_containers,
                v.images,
                v.newest_revision,
                v.desired_by_predicate,
                v.counts
            ),
        );
        s.revisions.insert(key.clone(), format!("{:?}", ix.revisions(d)));
        for &n in &node_ids {
            let Some(node) = ix.node(n) else { continue };
            let cell = ix.cell(n, d);
            let pods = ix.cell_pods(n, d);
            s.cells.insert((node.name.to_string(), key.clone()), format!("{cell:?} all={pods:?}"));
        }
    }
    s
}

/// A readable account of how two snapshots differ (first few entries of each map).
fn diff(ours: &Snapshot, truth: &Snapshot) -> String {
    fn maps<K: Ord + std::fmt::Debug>(
        out: &mut Vec<String>,
        what: &str,
        a: &BTreeMap<K, String>,
        b: &BTreeMap<K, String>,
    ) {
        let mut n = 0;
        for (k, v) in a {
            match b.get(k) {
                None => out.push(format!("{what} {k:?}: only in the index: {v}")),
                Some(w) if w != v => out.push(format!("{what} {k:?}:\n   index: {v}\n   truth: {w}")),
                _ => continue,
            }
            n += 1;
            if n >= 5 {
                break;
            }
        }
        for (k, v) in b.iter().filter(|(k, _)| !a.contains_key(*k)).take(5) {
            out.push(format!("{what} {k:?}: only in the truth: {v}"));
        }
    }
    let mut out = Vec::new();
    maps(&mut out, "node", &ours.nodes, &truth.nodes);
    maps(&mut out, "daemonset", &ours.daemonsets, &truth.daemonsets);
    maps(&mut out, "revisions", &ours.revisions, &truth.revisions);
    maps(&mut out, "cell", &ours.cells, &truth.cells);
    if ours.summary != truth.summary {
        out.push(format!("summary:\n   index: {}\n   truth: {}", ours.summary, truth.summary));
    }
    if ours.unplaced != truth.unplaced {
        out.push(format!("unplaced pods: index {} truth {}", ours.unplaced, truth.unplaced));
    }
    out.join("\n")
}

fn pod_names(ix: &Index) -> Vec<String> {
    ix.ds_ids().into_iter().flat_map(|d| ix.pods_of(d).into_iter().map(|(_, p)| p.name.to_string())).collect()
}

/// A daemon pod in the store: (namespace, name).
fn some_daemon_pod(store: &Store, skip: usize) -> (String, String) {
    let (pods, _) = store.list(Kind::Pod, None);
    let found = pods
        .iter()
        .filter(|s| match &*s.obj() {
            Object::Pod(p) => pod_info_from_k8s(p).is_some_and(|i| i.owner.is_some() && i.node.is_some()),
            _ => false,
        })
        .nth(skip)
        .map(|s| (s.namespace().to_string(), s.name().to_string()));
    match found {
        Some(k) => k,
        None => panic!("the scenario has no daemon pods"),
    }
}

/// A new Ready node, labelled like the first node of the store.
fn new_node(store: &Store, name: &str) -> Object {
    let (nodes, _) = store.list(Kind::Node, None);
    let labels = nodes.first().and_then(|s| s.obj().meta().labels.clone()).unwrap_or_default();
    let mut labels = labels;
    labels.insert("kubernetes.io/hostname".into(), name.into());
    Object::Node(Node {
        metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels), ..ObjectMeta::default() },
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                reason: Some("KubeletReady".into()),
                ..NodeCondition::default()
            }]),
            ..NodeStatus::default()
        }),
    })
}

/// A small cluster built by hand in an empty simulator with its controllers off, so that it
/// changes only when the test changes it: 4 nodes (one tainted), one DaemonSet with two
/// revisions, a ready pod, a crash-looping outdated pod and an unbound pending pod.
async fn handmade_sim() -> SimHandle {
    let sim =
        common::sim::start_with(common::sim::frozen(sim::EMPTY_SCENARIO), common::sim::without_controllers()).await;
    let t = now(&sim);
    let create = |kind: Kind, v: serde_json::Value| {
        let obj = match Object::from_value(kind, v) {
            Ok(o) => o,
            Err(e) => panic!("fixture {kind:?}: {e}"),
        };
        if let Err(e) = sim.store.create(obj, t.clone()) {
            panic!("creating a {kind:?}: {e}");
        }
    };
    let ready = serde_json::json!({"conditions": [{"type": "Ready", "status": "True"}]});
    for i in 1..=4 {
        let taints = if i == 3 {
            serde_json::json!([{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
        } else {
            serde_json::json!([])
        };
        create(
            Kind::Node,
            serde_json::json!({"metadata": {"name": format!("node-{i}"), "labels": {"kubernetes.io/os": "linux"}},
                               "spec": {"taints": taints}, "status": ready}),
        );
    }
    create(Kind::Namespace, serde_json::json!({"metadata": {"name": "monitoring"}}));
    create(
        Kind::DaemonSet,
        serde_json::json!({"metadata": {"name": "agent", "namespace": "monitoring"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"nodeSelector": {"kubernetes.io/os": "linux"},
                                           "containers": [{"name": "agent", "image": "agent:1"}]}}},
            "status": {"currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberMisscheduled": 0,
                       "numberReady": 1, "updatedNumberScheduled": 1}}),
    );
    // The rollout to agent:2 bumps the DaemonSet's generation to 2.
    let rolled = sim.store.modify::<sim::store::StoreError>(Kind::DaemonSet, "monitoring", "agent", |o| {
        if let Object::DaemonSet(d) = o
            && let Some(spec) = d.spec.template.spec.as_mut()
        {
            spec.containers[0].image = Some("agent:2".into());
        }
        Ok(())
    });
    if let Err(e) = rolled {
        panic!("rolling the DaemonSet: {e}");
    }
    let owner = serde_json::json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                    "uid": "00000000-0000-4000-8000-000000000006", "controller": true}]);
    for (rev, hash, image) in [(1, "aaa111", "agent:1"), (2, "bbb222", "agent:2")] {
        create(
            Kind::ControllerRevision,
            serde_json::json!({"metadata": {"name": format!("agent-{hash}"), "namespace": "monitoring",
                "labels": {"controller-revision-hash": hash}, "ownerReferences": owner},
                "revision": rev,
                "data": {"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": image}]}}}}}),
        );
    }
    let pod = |name: &str, node: Option<&str>, affinity: &str, hash: &str, status: serde_json::Value| {
        let generation = if hash == "bbb222" { "2" } else { "1" };
        serde_json::json!({"metadata": {"name": name, "namespace": "monitoring", "ownerReferences": owner,
                "labels": {"app": "agent", "controller-revision-hash": hash, "pod-template-generation": generation}},
            "spec": {"nodeName": node, "containers": [{"name": "agent"}],
                     "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                         "nodeSelectorTerms": [{"matchFields": [
                             {"key": "metadata.name", "operator": "In", "values": [affinity]}]}]}}}},
            "status": status})
    };
    create(
        Kind::Pod,
        pod(
            "agent-ready",
            Some("node-1"),
            "node-1",
            "bbb222",
            serde_json::json!({"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "agent", "ready": true, "restartCount": 0,
                                   "state": {"running": {}}}]}),
        ),
    );
    create(
        Kind::Pod,
        pod(
            "agent-crash",
            Some("node-2"),
            "node-2",
            "aaa111",
            serde_json::json!({"phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "agent", "ready": false, "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"reason": "Error", "exitCode": 2}}}]}),
        ),
    );
    create(Kind::Pod, pod("agent-pending", None, "node-4", "bbb222", serde_json::json!({"phase": "Pending"})));
    sim.store.compact();
    sim
}

fn now(sim: &SimHandle) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    sim.clock.now_time()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handmade_cluster_is_indexed_and_survives_faults() {
    let sim = handmade_sim().await;
    let mut w = Watching::start(&sim, None).await;
    w.until("first sync", Index::synced).await;
    w.converge(&sim.store, "handmade after sync").await;
    let ix = &w.index;
    let (Some(ds), Some(n1), Some(n2), Some(n3), Some(n4)) = (
        ix.ds_by_name("monitoring", "agent"),
        ix.node_by_name("node-1"),
        ix.node_by_name("node-2"),
        ix.node_by_name("node-3"),
        ix.node_by_name("node-4"),
    ) else {
        panic!("the handmade objects are indexed")
    };
    assert_eq!(ix.cell(n1, ds).state, CellState::Ready);
    assert_eq!(ix.cell(n2, ds).state, CellState::Failing);
    assert_eq!(ix.cell(n3, ds).state, CellState::NotEligible);
    assert_eq!(ix.cell(n4, ds).state, CellState::Pending, "an unbound pod is pending, not missing");
    assert_eq!(
        ix.cell(n2, ds).pod.map(|p| (p.reason.to_string(), p.restarts, p.outdated)),
        Some(("CrashLoopBackOff".to_string(), 7, true))
    );

    // Watches dropped, then down (500s) while a pod goes, a node comes and the DaemonSet's
    // nodeSelector changes; the history is compacted so the watches must re-list.
    sim.faults.burst(6, 500, 0);
    sim.faults.drop_watches();
    if let Err(e) = sim.store.delete(Kind::Pod, "monitoring", "agent-crash") {
        panic!("deleting agent-crash: {e}");
    }
    if let Err(e) = sim.store.create(new_node(&sim.store, "node-5"), now(&sim)) {
        panic!("adding node-5: {e}");
    }
    let changed = sim.store.modify::<sim::store::StoreError>(Kind::DaemonSet, "monitoring", "agent", |o| {
        if let Object::DaemonSet(d) = o
            && let Some(spec) = d.spec.template.spec.as_mut()
        {
            spec.node_selector = Some([("pool".to_string(), "blue".to_string())].into());
        }
        Ok(())
    });
    if let Err(e) = changed {
        panic!("changing the DaemonSet: {e}");
    }
    sim.store.compact();
    w.converge(&sim.store, "handmade after faults").await;
    assert!(!pod_names(&w.index).contains(&"agent-crash".to_string()), "a pod deleted while down is gone");
    let ix = &w.index;
    let (Some(ds), Some(n1), Some(n5)) =
        (ix.ds_by_name("monitoring", "agent"), ix.node_by_name("node-1"), ix.node_by_name("node-5"))
    else {
        panic!("the DaemonSet and the nodes are indexed")
    };
    assert_eq!(ix.cell(n1, ds).state, CellState::Misscheduled, "no node has pool=blue");
    assert_eq!(ix.cell(n5, ds).state, CellState::NotEligible);
    w.until("all streams live", |ix| StreamKind::ALL.iter().all(|&k| *ix.stream_state(k) == StreamState::Live)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_equals_the_simulators_truth_after_sync_mixed() {
    let sim = start_sim("mixed").await;
    let mut w = Watching::start(&sim, None).await;
    w.until("first sync", Index::synced).await;
    w.converge(&sim.store, "mixed after sync").await;
    assert!(w.index.summary().pods > 0, "the mixed scenario has daemon pods");
    assert!(w.states().iter().all(|(_, s)| *s == StreamState::Live), "streams: {:?}", w.states());
    // The scenario's point: several kinds of problem cells are visible.
    let cells = &w.index.summary().cells;
    let problems: u32 = CellState::ALL.iter().filter(|s| s.is_problem()).map(|s| cells[s.idx()]).sum();
    assert!(problems > 0, "mixed shows problems: {cells:?}");
}

/// A list over several pages (1,700 nodes × 3 DaemonSets: 5,100 daemon pods, three pages of
/// at most PAGE_SIZE), where each next page is asked for while the last one decodes: the index
/// still equals the truth, every pod once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_of_many_pages_fetched_ahead_equals_the_truth() {
    let small = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/scenarios/small.toml"))
        .expect("the small scenario");
    assert!(small.contains("count = 4\n"), "the small scenario's pool: {small}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("paged.toml");
    std::fs::write(&path, small.replace("count = 4\n", "count = 1700\n")).expect("write the scenario");
    let sim = start_sim(&path.display().to_string()).await;
    let mut w = Watching::start(&sim, None).await;
    w.until("first sync", Index::synced).await;
    w.converge(&sim.store, "many pages after sync").await;
    let pods = w.index.summary().pods;
    assert_eq!(pods, 1700 * 3, "every node runs the three DaemonSets of the small scenario");
    assert!(pods > 2 * daemonscope::cluster::watch::PAGE_SIZE, "more than two pages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_of_one_namespace_equals_that_namespaces_truth() {
    let sim = start_sim("small").await;
    let (dss, _) = sim.store.list(Kind::DaemonSet, None);
    let Some(ns) = dss.first().map(|s| s.namespace().to_string()) else { panic!("the small scenario has DaemonSets") };
    let mut w = Watching::start(&sim, Some(&ns)).await;
    w.until("first sync", Index::synced).await;
    w.converge(&sim.store, "small, one namespace").await;
    for d in w.index.ds_ids() {
        assert_eq!(w.index.ds(d).map(|v| v.namespace.to_string()), Some(ns.clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_not_controlled_by_a_daemonset_stay_out_even_with_the_label() {
    let sim = handmade_sim().await;
    let mut w = Watching::start(&sim, None).await;
    w.until("first sync", Index::synced).await;
    let node = sim.store.list(Kind::Node, None).0.first().map(|s| s.name().to_string()).unwrap_or_default();
    let impostor = Pod {
        metadata: ObjectMeta {
            name: Some("impostor".into()),
            namespace: Some("default".into()),
            labels: Some([("pod-template-generation".to_string(), "1".to_string())].into()),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                name: "web".into(),
                uid: "rs-1".into(),
                controller: Some(true),
                ..OwnerReference::default()
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec { node_name: Some(node), ..PodSpec::default() }),
        status: None,
    };
    if let Err(e) = sim.store.create(Object::Pod(impostor), now(&sim)) {
        panic!("creating the impostor pod: {e}");
    }
    w.converge(&sim.store, "after an impostor pod").await;
    assert!(!pod_names(&w.index).contains(&"impostor".to_string()));
    assert_eq!(w.index.unplaced_pods(), truth(&sim.store, None).unplaced_pods());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_converges_after_dropped_watches_410_and_5xx_with_changes_made_while_down() {
    let sim = start_sim("mixed").await;
    let mut w = Watching::start(&sim, None).await;
    w.until("first sync", Index::synced).await;
    w.converge(&sim.store, "after sync").await;

    // 1. Dropped watches: the watcher resumes from its resourceVersion.
    sim.faults.drop_watches();
    let (ns, gone) = some_daemon_pod(&sim.store, 0);
    if let Err(e) = sim.store.delete(Kind::Pod, &ns, &gone) {
        panic!("deleting {ns}/{gone}: {e}");
    }
    w.converge(&sim.store, "after dropped watches and a pod deletion").await;
    assert!(!pod_names(&w.index).contains(&gone), "{gone} was deleted");

    // 2. Watches down (dropped, then 500s on reconnect) while the cluster changes, and the
    // history compacted so the watches must re-list (410 Gone); deletions they never saw must
    // disappear through the re-list.
    sim.faults.burst(8, 500, 0);
    sim.faults.drop_watches();
    let (ns2, gone2) = some_daemon_pod(&sim.store, 3);
    if let Err(e) = sim.store.delete(Kind::Pod, &ns2, &gone2) {
        panic!("deleting {ns2}/{gone2}: {e}");
    }
    if let Err(e) = sim.store.create(new_node(&sim.store, "node-added-while-down"), now(&sim)) {
        panic!("adding a node: {e}");
    }
    let (dss, _) = sim.store.list(Kind::DaemonSet, None);
    let Some(ds) = dss.first().map(|s| s.key().clone()) else { panic!("mixed has DaemonSets") };
    let changed = sim.store.modify::<sim::store::StoreError>(Kind::DaemonSet, &ds.namespace, &ds.name, |o| {
        if let Object::DaemonSet(d) = o
            && let Some(spec) = d.spec.template.spec.as_mut()
        {
            spec.node_selector = Some([("daemonscope.test/pool".to_string(), "none".to_string())].into());
        }
        Ok(())
    });
    if let Err(e) = changed {
        panic!("changing {}/{}: {e}", ds.namespace, ds.name);
    }
    sim.store.compact();
    sim.faults.force_gone(4);
    w.converge(&sim.store, "after 500s, 410 and changes while down").await;
    let names = pod_names(&w.index);
    assert!(!names.contains(&gone2), "{gone2} was deleted while the watch was down");
    assert!(w.index.node_by_name("node-added-while-down").is_some());
    let Some(d) = w.index.ds_by_name(&ds.namespace, &ds.name) else { panic!("{ds:?} is indexed") };
    let Some(n) = w.index.node_by_name("node-added-while-down") else { panic!("the new node is indexed") };
    assert_ne!(w.index.cell(n, d).state, CellState::Missing, "the nodeSelector matches no node");

    // Every stream reports itself live again once the faults are over.
    w.until("all streams live", |ix| StreamKind::ALL.iter().all(|&k| *ix.stream_state(k) == StreamState::Live)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_burst_is_reported_as_reconnecting_then_live() {
    let sim = handmade_sim().await;
    let mut w = Watching::start(&sim, None).await;
    w.until("first sync", Index::synced).await;
    // 500s: kube's client retries 429/503/504 by itself (its default RetryPolicy), so those
    // never reach the watcher unless they outlast its retries; a 500 does at once. Enough of
    // them that at least one retry of every stream fails too.
    sim.faults.burst(12, 500, 0);
    sim.faults.drop_watches();
    w.until("a stream reconnecting", |ix| {
        StreamKind::ALL.iter().any(|&k| matches!(ix.stream_state(k), StreamState::Reconnecting { .. }))
    })
    .await;
    w.until("all streams live", |ix| StreamKind::ALL.iter().all(|&k| *ix.stream_state(k) == StreamState::Live)).await;
    w.converge(&sim.store, "after the burst").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_tasks_end_when_the_receiver_is_dropped() {
    let sim = handmade_sim().await;
    let mut w = Watching::start(&sim, None).await;
    w.until("first sync", Index::synced).await;
    let handles = std::mem::take(&mut w.handles);
    // Drop only the receiver: the tasks' own cancel token stays untouched.
    w.cancel = CancellationToken::new();
    drop(w);
    for h in handles {
        if tokio::time::timeout(DEADLINE, h).await.is_err() {
            panic!("a watch task kept running after its receiver was dropped");
        }
    }
}

/// Watches of `sim` with a bookmark every second (a 15 s idle deadline), once all are live.
async fn live_with_fast_bookmarks(sim: &SimHandle) -> Watching {
    sim.faults.set_bookmark_period(Duration::from_secs(1));
    let mut w = Watching::start(sim, None).await;
    w.until("all streams live", |ix| all_in(ix, |s| *s == StreamState::Live)).await;
    w
}

fn all_in(ix: &Index, state: impl Fn(&StreamState) -> bool) -> bool {
    StreamKind::ALL.iter().all(|&k| state(ix.stream_state(k)))
}

/// A partition as clients see it: the server accepts and reads, answers nothing, and open
/// watches fall silent. Every live stream must say `Stale` within its idle deadline (learnt
/// from the bookmark cadence: 2 × 1 s, raised to the 15 s floor), with the time it last heard
/// the server, and must be live again after the thaw, with an index equal to the truth,
/// including a change made during the freeze.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_turns_every_stream_stale_within_the_deadline_and_live_after_the_thaw() {
    let sim = start_sim("small").await;
    let mut w = live_with_fast_bookmarks(&sim).await;
    // Let every stream measure a few bookmark gaps.
    let settle = tokio::time::Instant::now() + Duration::from_secs(4);
    while tokio::time::Instant::now() < settle {
        w.pump(Duration::from_millis(200)).await;
    }
    assert!(all_in(&w.index, |s| *s == StreamState::Live), "quiet but healthy streams stay live: {:?}", w.states());

    sim.faults.set_frozen(true);
    let frozen_at = tokio::time::Instant::now();
    let frozen_secs = jiff::Timestamp::now().as_second();
    // A change the frozen server will only tell about after the thaw.
    let (ns, name) = some_daemon_pod(&sim.store, 0);
    sim.store.delete(Kind::Pod, &ns, &name).expect("delete a daemon pod");
    w.until("every stream stale", |ix| all_in(ix, |s| matches!(s, StreamState::Stale { .. }))).await;
    let took = frozen_at.elapsed();
    // The deadline is 15 s from the last thing heard (at most a bookmark period before the
    // freeze); the rest is slack for a loaded machine.
    assert!(took < Duration::from_secs(15 + 10), "stale only after {took:?}");
    for (kind, state) in w.states() {
        let StreamState::Stale { since } = state else { unreachable!() };
        assert!(
            since <= frozen_secs && since >= frozen_secs - 3,
            "{kind:?}: last heard at {since}, froze at {frozen_secs}"
        );
    }

    sim.faults.set_frozen(false);
    w.until("all streams live after the thaw", |ix| all_in(ix, |s| *s == StreamState::Live)).await;
    w.converge(&sim.store, "after a freeze").await;
}

/// Chaos soak, bounded (about 50 s): while a churn task changes the cluster (node labels,
/// node creations, pod deletions), the faults are applied one after another — dropped
/// watches, 410 on resume, a 503 burst with Retry-After, added latency, a freeze long enough
/// to go stale, and a restart that drops every connection and forgets the watch history.
/// Then the churn stops and the index must equal the simulator's truth (read from its store,
/// independently of the watches), every stream must be live, and every stream must have been
/// reported stale during the freeze.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_soak_the_index_ends_equal_to_the_truth_and_the_freeze_read_stale() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let sim = start_sim("small").await;
    let mut w = live_with_fast_bookmarks(&sim).await;

    let churning = Arc::new(AtomicBool::new(true));
    let churn = tokio::spawn({
        let store = sim.store.clone();
        let churning = churning.clone();
        let (nodes, _) = store.list(Kind::Node, None);
        let names: Vec<String> = nodes.iter().map(|s| s.name().to_string()).collect();
        let t0 = now(&sim);
        async move {
            let mut i = 0usize;
            while churning.load(Ordering::SeqCst) {
                let node = &names[i % names.len()];
                let _ = store.modify::<sim::store::StoreError>(Kind::Node, "", node, |o| {
                    o.meta_mut().labels.get_or_insert_with(Default::default).insert("soak".into(), i.to_string());
                    Ok(())
                });
                if i.is_multiple_of(10) {
                    let _ = store.create(new_node(&store, &format!("soak-{i}")), t0.clone());
                }
                if i.is_multiple_of(7) {
                    let (pods, _) = store.list(Kind::Pod, None);
                    if let Some(p) = pods.iter().find(|s| {
                        s.obj().meta().labels.as_ref().is_some_and(|l| l.contains_key("pod-template-generation"))
                    }) {
                        let _ = store.delete(Kind::Pod, p.namespace(), p.name());
                    }
                }
                i += 1;
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }
    });
    // Pump for `d`, recording whether every stream was stale at some point.
    async fn pump_for(w: &mut Watching, d: Duration, all_stale: &mut bool) {
        let end = tokio::time::Instant::now() + d;
        while tokio::time::Instant::now() < end {
            w.pump(Duration::from_millis(100)).await;
            *all_stale |= all_in(&w.index, |s| matches!(s, StreamState::Stale { .. }));
        }
    }
    let mut stale_before_freeze = false;
    sim.faults.drop_watches();
    pump_for(&mut w, Duration::from_secs(2), &mut stale_before_freeze).await;
    sim.faults.force_gone(4);
    sim.faults.drop_watches();
    pump_for(&mut w, Duration::from_secs(3), &mut stale_before_freeze).await;
    sim.faults.burst(5, 503, 1);
    pump_for(&mut w, Duration::from_secs(3), &mut stale_before_freeze).await;
    sim.faults.set_latency(Duration::from_millis(300));
    pump_for(&mut w, Duration::from_secs(3), &mut stale_before_freeze).await;
    sim.faults.set_latency(Duration::ZERO);
    assert!(!stale_before_freeze, "no stream may read stale while the server answers: {:?}", w.states());
    // Let the streams learn the bookmark cadence again after the re-lists.
    pump_for(&mut w, Duration::from_secs(3), &mut stale_before_freeze).await;

    sim.faults.set_frozen(true);
    let mut stale_in_freeze = false;
    let end = tokio::time::Instant::now() + Duration::from_secs(25);
    while !stale_in_freeze && tokio::time::Instant::now() < end {
        pump_for(&mut w, Duration::from_millis(500), &mut stale_in_freeze).await;
    }
    sim.faults.set_frozen(false);
    assert!(stale_in_freeze, "every stream reads stale during the freeze: {:?}", w.states());

    pump_for(&mut w, Duration::from_secs(3), &mut stale_before_freeze).await;
    sim.store.compact();
    sim.faults.restart(Duration::from_secs(1));
    pump_for(&mut w, Duration::from_secs(4), &mut stale_before_freeze).await;

    churning.store(false, Ordering::SeqCst);
    churn.await.expect("the churn task");
    w.converge(&sim.store, "after the soak").await;
    w.until("all streams live after the soak", |ix| all_in(ix, |s| *s == StreamState::Live)).await;
}
