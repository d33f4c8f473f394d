//! Behaviour of the index, event by event. Every test ends with the from-scratch recount.

use super::*;
use crate::fleet::model::Phase;
use crate::fleet::schedule::{TaintEffect, taints};
use crate::fleet::synth::{self, key, taint};

fn node(idx: &mut Index, n: NodeInfo) {
    idx.apply(FleetEvent::Node(Change::Apply(n)));
}
fn ds(idx: &mut Index, d: DsInfo) {
    idx.apply(FleetEvent::DaemonSet(Change::Apply(d)));
}
fn rev(idx: &mut Index, r: RevInfo) {
    idx.apply(FleetEvent::Revision(Change::Apply(r)));
}
fn pod(idx: &mut Index, p: PodInfo) {
    idx.apply(FleetEvent::Pod(Change::Apply(p)));
}
fn state(idx: &Index, node: &str, ns: &str, name: &str) -> CellState {
    let n = idx.node_by_name(node).expect("node");
    let d = idx.ds_by_name(ns, name).expect("ds");
    idx.cell(n, d).state
}
fn check(idx: &Index) {
    if let Err(e) = idx.recount_check() {
        panic!("recount: {e}");
    }
}

/// One node, one DaemonSet with revisions 1 (`old`) and 2 (`new`).
fn basic() -> (Index, DsInfo) {
    let mut idx = Index::new();
    let d = synth::ds("kube-system", "kube-proxy");
    node(&mut idx, synth::node("n1"));
    ds(&mut idx, d.clone());
    rev(&mut idx, synth::rev(&d, 1, "old"));
    rev(&mut idx, synth::rev(&d, 2, "new"));
    (idx, d)
}

#[test]
fn missing_when_no_pod_and_ready_when_pod_runs() {
    let (mut idx, d) = basic();
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Missing);
    pod(&mut idx, synth::pod(&d, "n1", "abcde", "new"));
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Ready);
    assert_eq!(idx.summary().cells[CellState::Ready.idx()], 1);
    assert_eq!(idx.summary().pods, 1);
    check(&idx);
}

#[test]
fn missing_when_taint_not_tolerated() {
    let (mut idx, d) = basic();
    let mut n2 = synth::node("n2");
    n2.taints.push(taint("dedicated", TaintEffect::NoSchedule));
    node(&mut idx, n2);
    let id = idx.ds_by_name("kube-system", "kube-proxy").expect("ds");
    let c = idx.cell(idx.node_by_name("n2").expect("n2"), id);
    assert_eq!(c.state, CellState::NotEligible);
    assert!(matches!(c.not_eligible, Some(NotEligible::Taint(t)) if t.key == "dedicated"));
    // The taint is added to n1, which had a pod: the pod is now misscheduled.
    pod(&mut idx, synth::pod(&d, "n1", "abcde", "new"));
    let mut n1 = synth::node("n1");
    n1.taints.push(taint("dedicated", TaintEffect::NoSchedule));
    node(&mut idx, n1);
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Misscheduled);
    let view = idx.ds(id).expect("view");
    assert_eq!(view.desired_by_predicate, 0);
    assert_eq!(idx.cell_decision(idx.node_by_name("n1").expect("n1"), id), Some((false, true)));
    // Removing the taint makes the pod ready again (row re-evaluation).
    node(&mut idx, synth::node("n1"));
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Ready);
    check(&idx);
}

#[test]
fn not_ready_node_makes_its_pods_misscheduled() {
    let (mut idx, d) = basic();
    pod(&mut idx, synth::pod(&d, "n1", "abcde", "new"));
    let mut n1 = synth::node("n1");
    n1.readiness = NodeReadiness::Unknown;
    n1.taints.push(taint(taints::UNREACHABLE, TaintEffect::NoExecute));
    n1.taints.push(taint(taints::UNREACHABLE, TaintEffect::NoSchedule));
    node(&mut idx, n1);
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Misscheduled);
    assert_eq!(idx.summary().nodes_ready, 0);
    check(&idx);
}

#[test]
fn outdated_after_new_revision() {
    let (mut idx, mut d) = basic();
    pod(&mut idx, synth::pod(&d, "n1", "abcde", "new"));
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Ready);
    // A rollout: generation 2, revision 3. The pod matches neither hash nor generation.
    d.generation = 2;
    ds(&mut idx, d.clone());
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Ready, "hash still newest");
    rev(&mut idx, synth::rev(&d, 3, "newer"));
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Outdated);
    let id = idx.ds_by_name("kube-system", "kube-proxy").expect("ds");
    assert_eq!(idx.ds(id).expect("ds").newest_revision, Some((3, "newer")));
    assert_eq!(idx.revisions(id).iter().map(|r| r.revision).collect::<Vec<_>>(), vec![3, 2, 1]);
    // Deleting the newest revision makes "new" newest again.
    idx.apply(FleetEvent::Revision(Change::Delete(key("kube-system", "kube-proxy-newer"))));
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Ready);
    check(&idx);
}

#[test]
fn up_to_date_when_template_generation_matches_even_if_hash_differs() {
    let (mut idx, d) = basic();
    let mut p = synth::pod(&d, "n1", "abcde", "something-else");
    p.template_generation = Some(d.generation);
    pod(&mut idx, p.clone());
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Ready);
    p.template_generation = Some(d.generation - 1);
    pod(&mut idx, p);
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Outdated);
    check(&idx);
}

#[test]
fn surge_cell_shows_worst_pod() {
    let (mut idx, d) = basic();
    let mut old = synth::pod(&d, "n1", "aaaaa", "old");
    old.template_generation = Some(0);
    pod(&mut idx, old.clone());
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Outdated);
    let mut new = synth::pod(&d, "n1", "bbbbb", "new");
    new.phase = Phase::Pending;
    new.reason = "ContainerCreating".to_string();
    new.ready = false;
    pod(&mut idx, new.clone());
    let (n, id) = (idx.node_by_name("n1").expect("n1"), idx.ds_by_name("kube-system", "kube-proxy").expect("ds"));
    let c = idx.cell(n, id);
    assert_eq!(c.state, CellState::Pending);
    assert_eq!(c.pods, 2);
    assert_eq!(c.pod.map(|p| p.name), Some("kube-proxy-bbbbb"));
    // The new pod becomes ready and the old one terminates.
    new.phase = Phase::Running;
    new.reason = "Running".to_string();
    new.ready = true;
    pod(&mut idx, new);
    old.deleting = true;
    old.reason = "Terminating".to_string();
    pod(&mut idx, old);
    let c = idx.cell(n, id);
    assert_eq!(c.state, CellState::Terminating);
    assert_eq!(c.pod.map(|p| p.name), Some("kube-proxy-aaaaa"));
    assert_eq!(idx.cell_pods(n, id).len(), 2);
    idx.apply(FleetEvent::Pod(Change::Delete(key("kube-system", "kube-proxy-aaaaa"))));
    assert_eq!(idx.cell(n, id).state, CellState::Ready);
    assert_eq!(idx.cell(n, id).pods, 1);
    check(&idx);
}

#[test]
fn relist_drops_vanished_pods() {
    let (mut idx, d) = basic();
    node(&mut idx, synth::node("n2"));
    pod(&mut idx, synth::pod(&d, "n1", "aaaaa", "new"));
    pod(&mut idx, synth::pod(&d, "n2", "bbbbb", "new"));
    let g = idx.generation();
    idx.apply(FleetEvent::Pod(Change::Init));
    idx.apply(FleetEvent::Pod(Change::InitItem(synth::pod(&d, "n1", "aaaaa", "new"))));
    // Nothing disappears before the list is complete.
    assert_eq!(state(&idx, "n2", "kube-system", "kube-proxy"), CellState::Ready);
    idx.apply(FleetEvent::Pod(Change::InitDone));
    assert_eq!(state(&idx, "n2", "kube-system", "kube-proxy"), CellState::Missing);
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Ready);
    assert_eq!(idx.summary().pods, 1);
    assert!(idx.generation() > g);
    check(&idx);
}

#[test]
fn relist_drops_vanished_nodes_and_their_cells() {
    let (mut idx, d) = basic();
    node(&mut idx, synth::node("n2"));
    pod(&mut idx, synth::pod(&d, "n2", "bbbbb", "new"));
    idx.apply(FleetEvent::Node(Change::Init));
    idx.apply(FleetEvent::Node(Change::InitItem(synth::node("n1"))));
    idx.apply(FleetEvent::Node(Change::InitDone));
    assert!(idx.node_by_name("n2").is_none());
    assert_eq!(idx.summary().nodes, 1);
    assert_eq!(idx.summary().cells.iter().sum::<u32>(), 1);
    // The pod on the vanished node is kept, unplaced, and rejoins if the node comes back.
    assert_eq!(idx.unplaced_pods(), 1);
    node(&mut idx, synth::node("n2"));
    assert_eq!(state(&idx, "n2", "kube-system", "kube-proxy"), CellState::Ready);
    check(&idx);
}

#[test]
fn pod_before_node_joins_later() {
    let mut idx = Index::new();
    let d = synth::ds("monitoring", "node-exporter");
    pod(&mut idx, synth::pod(&d, "n1", "abcde", "h1"));
    assert_eq!(idx.summary().pods, 1);
    assert_eq!(idx.unplaced_pods(), 1);
    check(&idx);
    ds(&mut idx, d.clone());
    assert_eq!(idx.unplaced_pods(), 1);
    check(&idx);
    node(&mut idx, synth::node("n1"));
    assert_eq!(idx.unplaced_pods(), 0);
    assert_eq!(state(&idx, "n1", "monitoring", "node-exporter"), CellState::Ready, "generation matches");
    check(&idx);
}

#[test]
fn pod_of_unknown_daemonset_waits_in_the_pool() {
    let (mut idx, _) = basic();
    let other = synth::ds("logging", "fluent-bit");
    pod(&mut idx, synth::pod(&other, "n1", "zzzzz", "h"));
    assert_eq!(idx.unplaced_pods(), 1);
    assert_eq!(idx.ds_ids().len(), 1);
    ds(&mut idx, other);
    assert_eq!(idx.unplaced_pods(), 0);
    assert_eq!(state(&idx, "n1", "logging", "fluent-bit"), CellState::Ready);
    idx.apply(FleetEvent::DaemonSet(Change::Delete(key("logging", "fluent-bit"))));
    assert_eq!(idx.unplaced_pods(), 1);
    check(&idx);
}

#[test]
fn pending_unbound_pod_with_affinity_is_not_missing() {
    let (mut idx, d) = basic();
    let mut p = synth::pod(&d, "n1", "abcde", "new");
    p.bound = false;
    p.phase = Phase::Pending;
    p.reason = "Pending".to_string();
    p.ready = false;
    pod(&mut idx, p);
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Pending);
    check(&idx);
}

#[test]
fn failing_pod_on_a_node_where_it_should_not_run_is_misscheduled() {
    let (mut idx, d) = basic();
    let mut n1 = synth::node("n1");
    n1.taints.push(taint("dedicated", TaintEffect::NoExecute));
    node(&mut idx, n1);
    let mut p = synth::pod(&d, "n1", "abcde", "new");
    p.reason = "CrashLoopBackOff".to_string();
    p.ready = false;
    pod(&mut idx, p);
    let (n, id) = (idx.node_by_name("n1").expect("n1"), idx.ds_by_name("kube-system", "kube-proxy").expect("ds"));
    let c = idx.cell(n, id);
    assert_eq!(c.state, CellState::Misscheduled);
    assert_eq!(c.pod.map(|p| p.reason), Some("CrashLoopBackOff"));
    assert_eq!(idx.cell_decision(n, id), Some((false, false)));
    check(&idx);
}

#[test]
fn daemonset_selector_change_reevaluates_its_column() {
    let (mut idx, mut d) = basic();
    let mut gpu = synth::node("gpu1");
    gpu.labels.insert("gpu".to_string(), "true".to_string());
    node(&mut idx, gpu);
    d.sched.node_selector.insert("gpu".to_string(), "true".to_string());
    ds(&mut idx, d);
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::NotEligible);
    assert_eq!(state(&idx, "gpu1", "kube-system", "kube-proxy"), CellState::Missing);
    let id = idx.ds_by_name("kube-system", "kube-proxy").expect("ds");
    assert_eq!(idx.ds(id).expect("ds").desired_by_predicate, 1);
    let n1 = idx.node_by_name("n1").expect("n1");
    assert!(matches!(idx.cell(n1, id).not_eligible, Some(NotEligible::NodeSelector { key, .. }) if key == "gpu"));
    check(&idx);
}

#[test]
fn delete_of_unknown_key_is_a_noop_and_duplicate_apply_is_idempotent() {
    let (mut idx, d) = basic();
    let p = synth::pod(&d, "n1", "abcde", "new");
    pod(&mut idx, p.clone());
    let g = idx.generation();
    pod(&mut idx, p);
    node(&mut idx, synth::node("n1"));
    ds(&mut idx, d.clone());
    rev(&mut idx, synth::rev(&d, 2, "new"));
    idx.apply(FleetEvent::Pod(Change::Delete(key("nowhere", "nothing"))));
    idx.apply(FleetEvent::Node(Change::Delete(key("", "nothing"))));
    idx.apply(FleetEvent::DaemonSet(Change::Delete(key("x", "y"))));
    idx.apply(FleetEvent::Revision(Change::Delete(key("x", "y"))));
    assert_eq!(idx.generation(), g);
    assert_eq!(idx.summary().pods, 1);
    check(&idx);
}

#[test]
fn counts_stay_consistent_through_churn() {
    let mut idx = Index::new();
    for ev in synth::fleet(60, 8, 7) {
        idx.apply(ev);
    }
    check(&idx);
    let total: u32 = idx.summary().cells.iter().sum();
    assert_eq!(total, 60 * 8);
    let per_column: u32 = idx.ds_ids().iter().map(|&d| idx.ds(d).expect("ds").counts.iter().sum::<u32>()).sum();
    assert_eq!(per_column, total);
    let problems: u32 = idx.node_ids().iter().map(|&n| idx.node(n).expect("node").problems).sum();
    let want: u32 = CellState::ALL.iter().filter(|s| s.is_problem()).map(|s| idx.summary().cells[s.idx()]).sum();
    assert_eq!(problems, want);
    // Delete every other node and DaemonSet, then bring them back.
    let names: Vec<String> = idx.node_ids().iter().map(|&n| idx.node(n).expect("n").name.to_string()).collect();
    for name in names.iter().step_by(2) {
        idx.apply(FleetEvent::Node(Change::Delete(key("", name))));
    }
    check(&idx);
    for name in names.iter().step_by(2) {
        node(&mut idx, synth::node(name));
    }
    check(&idx);
    assert_eq!(idx.unplaced_pods(), 0);
}

#[test]
fn streams_report_state_and_sync() {
    let mut idx = Index::new();
    assert!(!idx.synced());
    assert_eq!(idx.stream_state(StreamKind::Pods), &StreamState::Syncing);
    for ev in synth::fleet(3, 2, 1) {
        idx.apply(ev);
    }
    assert!(idx.synced());
    assert_eq!(idx.stream_state(StreamKind::Pods), &StreamState::Live);
    let broken = StreamState::Reconnecting { since: 100, error: "connection reset".to_string() };
    idx.apply(FleetEvent::Stream { kind: StreamKind::Pods, state: broken.clone(), at: 100 });
    assert_eq!(idx.stream_state(StreamKind::Pods), &broken);
    assert_eq!(idx.last_event_at(), Some(100));
    idx.apply_at(FleetEvent::Pod(Change::Delete(key("a", "b"))), 120);
    assert_eq!(idx.last_event_at(), Some(120));
}

#[test]
fn forbidden_stream_counts_as_synced() {
    let mut idx = Index::new();
    for kind in [StreamKind::Nodes, StreamKind::DaemonSets, StreamKind::Pods] {
        let ev = match kind {
            StreamKind::Nodes => FleetEvent::Node(Change::InitDone),
            StreamKind::DaemonSets => FleetEvent::DaemonSet(Change::InitDone),
            _ => FleetEvent::Pod(Change::InitDone),
        };
        idx.apply(ev);
    }
    assert!(!idx.synced());
    let failed = StreamState::Failed { error: "403 listing controllerrevisions".to_string() };
    idx.apply(FleetEvent::Stream { kind: StreamKind::Revisions, state: failed, at: 5 });
    assert!(idx.synced());
}

#[test]
fn heap_bytes_grows_with_pods() {
    let mut idx = Index::new();
    let empty = idx.heap_bytes();
    for ev in synth::fleet(40, 5, 3) {
        idx.apply(ev);
    }
    assert!(idx.heap_bytes() > empty);
}

#[test]
fn sync_progress_counts_what_was_listed_and_estimates_pods_from_the_daemonsets() {
    let mut idx = Index::new();
    idx.apply(FleetEvent::Progress { kind: StreamKind::Nodes, listed: 2000, remaining: Some(3000) });
    assert_eq!(idx.sync_progress(StreamKind::Nodes), Some((2000, Some(5000))));
    // Pods are listed with a selector: no count from the server, and no DaemonSets yet.
    idx.apply(FleetEvent::Progress { kind: StreamKind::Pods, listed: 2000, remaining: None });
    assert_eq!(idx.sync_progress(StreamKind::Pods), Some((2000, None)));
    // Two DaemonSets whose controller has 3,000 + 1,500 pods scheduled (and 10 misscheduled).
    idx.apply(FleetEvent::DaemonSet(Change::Init));
    for (name, current, mis) in [("a", 3000, 0), ("b", 1500, 10)] {
        let mut d = synth::ds("kube-system", name);
        d.status.current = current;
        d.status.misscheduled = mis;
        idx.apply(FleetEvent::DaemonSet(Change::InitItem(d)));
    }
    idx.apply(FleetEvent::DaemonSet(Change::InitDone));
    assert_eq!(idx.sync_progress(StreamKind::Pods), Some((2000, Some(4510))));
    // A finished list shows no progress.
    idx.apply(FleetEvent::Pod(Change::Init));
    idx.apply(FleetEvent::Pod(Change::InitDone));
    assert_eq!(idx.sync_progress(StreamKind::Pods), None);
    check(&idx);
}

fn denied(idx: &mut Index, kind: StreamKind) {
    let failed = StreamState::Failed { error: format!("403 listing {}", kind.plural()) };
    idx.apply(FleetEvent::Stream { kind, state: failed, at: 5 });
}

/// Nodes forbidden (a namespace-scoped `view` role): the pods' node names make the rows. A
/// failing pod is failing, a ready pod ready; a cell without a pod is unknown, never missing
/// (the rules cannot run without the node) and never misscheduled.
#[test]
fn forbidden_nodes_make_rows_from_pods_and_cells_without_a_pod_unknown() {
    let mut idx = Index::new();
    let a = synth::ds("logging", "fluent-bit");
    let b = synth::ds("logging", "node-exporter");
    ds(&mut idx, a.clone());
    ds(&mut idx, b.clone());
    rev(&mut idx, synth::rev(&a, 1, "a1"));
    rev(&mut idx, synth::rev(&b, 1, "b1"));
    let mut crashing = synth::pod(&a, "n1", "x1", "a1");
    crashing.reason = "CrashLoopBackOff".into();
    crashing.ready = false;
    crashing.containers_ready = 0;
    pod(&mut idx, crashing);
    // One pod arrives before the denial (pooled), one after.
    pod(&mut idx, synth::pod(&b, "n2", "y2", "b1"));
    denied(&mut idx, StreamKind::Nodes);
    pod(&mut idx, synth::pod(&a, "n2", "x2", "a1"));
    assert!(idx.denied(StreamKind::Nodes));
    assert_eq!(idx.node_ids().len(), 2, "rows n1 and n2 from the pods");
    assert_eq!(state(&idx, "n1", "logging", "fluent-bit"), CellState::Failing);
    assert_eq!(state(&idx, "n1", "logging", "node-exporter"), CellState::Unknown);
    assert_eq!(state(&idx, "n2", "logging", "fluent-bit"), CellState::Ready);
    assert_eq!(state(&idx, "n2", "logging", "node-exporter"), CellState::Ready);
    let s = idx.summary();
    assert_eq!((s.nodes, s.nodes_ready, s.nodes_unknown), (2, 0, 2));
    assert_eq!(s.cells[CellState::Missing.idx()], 0);
    assert_eq!(s.cells[CellState::Unknown.idx()], 1);
    assert_eq!(s.cells[CellState::Failing.idx()], 1);
    assert_eq!(idx.unplaced_pods(), 0);
    let n1 = idx.node(idx.node_by_name("n1").expect("n1")).expect("view");
    assert!(n1.standin);
    assert_eq!(n1.problems, 1, "the failing cell counts as a problem of its row");
    let fb = idx.ds_by_name("logging", "fluent-bit").expect("ds");
    assert_eq!(idx.ds(fb).expect("ds").desired_by_predicate, 0, "no should-run verdicts on stand-ins");
    check(&idx);
}

/// A stand-in row lives as long as a pod stands on it; the list that finally succeeds gives
/// the stand-ins their nodes (and verdicts) and sweeps the ones it does not bring.
#[test]
fn stand_in_rows_go_with_their_last_pod_and_a_successful_list_replaces_them() {
    let mut idx = Index::new();
    let a = synth::ds("logging", "fluent-bit");
    ds(&mut idx, a.clone());
    rev(&mut idx, synth::rev(&a, 1, "a1"));
    denied(&mut idx, StreamKind::Nodes);
    pod(&mut idx, synth::pod(&a, "n1", "x1", "a1"));
    pod(&mut idx, synth::pod(&a, "gone", "x9", "a1"));
    assert_eq!(idx.node_ids().len(), 2);
    idx.apply(FleetEvent::Pod(Change::Delete(key("logging", "fluent-bit-x9"))));
    assert!(idx.node_by_name("gone").is_none(), "its last pod went");
    check(&idx);
    // A retry in between keeps what is known (still denied until a list succeeds).
    let retry = StreamState::Reconnecting { since: 6, error: "403".into() };
    idx.apply(FleetEvent::Stream { kind: StreamKind::Nodes, state: retry, at: 6 });
    assert!(idx.denied(StreamKind::Nodes));
    check(&idx);
    // The permission is granted: the list brings n1 and n3 (n3 without a pod: missing).
    idx.apply(FleetEvent::Node(Change::Init));
    idx.apply(FleetEvent::Node(Change::InitItem(synth::node("n1"))));
    idx.apply(FleetEvent::Node(Change::InitItem(synth::node("n3"))));
    idx.apply(FleetEvent::Node(Change::InitDone));
    assert!(!idx.denied(StreamKind::Nodes));
    assert!(!idx.node(idx.node_by_name("n1").expect("n1")).expect("view").standin);
    assert_eq!(state(&idx, "n1", "logging", "fluent-bit"), CellState::Ready);
    assert_eq!(state(&idx, "n3", "logging", "fluent-bit"), CellState::Missing);
    let s = idx.summary();
    assert_eq!((s.nodes, s.nodes_ready, s.nodes_unknown), (2, 2, 0));
    assert_eq!(s.cells[CellState::Unknown.idx()], 0);
    check(&idx);
}

/// A stand-in for a node that the list does not bring is swept, its pods wait for it.
#[test]
fn a_stand_in_the_list_does_not_bring_is_swept() {
    let mut idx = Index::new();
    let a = synth::ds("logging", "fluent-bit");
    ds(&mut idx, a.clone());
    denied(&mut idx, StreamKind::Nodes);
    pod(&mut idx, synth::pod(&a, "ghost", "x1", "a1"));
    assert_eq!(idx.node_ids().len(), 1);
    idx.apply(FleetEvent::Node(Change::Init));
    idx.apply(FleetEvent::Node(Change::InitDone));
    assert!(idx.node_ids().is_empty());
    assert_eq!(idx.unplaced_pods(), 1);
    check(&idx);
}

/// Revisions forbidden: no outdated verdict. The template generation alone would call a pod
/// outdated after `rollout undo` (generation 3, the pods still on revision 1's hash, which is
/// the newest again); kubectl's `IsPodUpdated` needs the hash to say it is current.
#[test]
fn forbidden_revisions_make_no_outdated_verdicts() {
    let (mut idx, mut d) = basic();
    let mut p = synth::pod(&d, "n1", "abcde", "new");
    p.template_generation = Some(1);
    pod(&mut idx, p);
    d.generation = 3;
    ds(&mut idx, d.clone());
    rev(&mut idx, synth::rev(&d, 3, "newer"));
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Outdated);
    denied(&mut idx, StreamKind::Revisions);
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Ready);
    assert_eq!(idx.summary().cells[CellState::Outdated.idx()], 0);
    check(&idx);
    // Listed again: the verdict is back.
    idx.apply(FleetEvent::Revision(Change::Init));
    for r in [synth::rev(&d, 1, "old"), synth::rev(&d, 2, "new"), synth::rev(&d, 3, "newer")] {
        idx.apply(FleetEvent::Revision(Change::InitItem(r)));
    }
    idx.apply(FleetEvent::Revision(Change::InitDone));
    assert_eq!(state(&idx, "n1", "kube-system", "kube-proxy"), CellState::Outdated);
    check(&idx);
}
