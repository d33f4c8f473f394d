//! Property tests of the fleet index: any sequence of events (adds, modifies, deletes,
//! duplicates, deletes of unknown objects, pods before their node or DaemonSet, re-lists that
//! drop objects, re-lists restarted half-way) leaves the same observable index as building it
//! from the final set of objects; and the incremental aggregates always equal a from-scratch
//! recount (`Index::recount_check`) after every event.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use daemonscope::fleet::Index;
use daemonscope::fleet::model::{Change, DsInfo, FleetEvent, NodeInfo, NodeReadiness, ObjKey, Phase, PodInfo, RevInfo};
use daemonscope::fleet::schedule::{NodeSelectorTerm, Requirement, SelectorOp, Taint, TaintEffect, Toleration, taints};
use daemonscope::fleet::synth;
use proptest::prelude::*;

const NAMESPACES: [&str; 2] = ["kube-system", "monitoring"];

fn node_obj(i: u8, variant: u8) -> NodeInfo {
    let mut n = synth::node(&format!("n{i}"));
    n.labels.insert("zone".into(), if variant & 1 == 0 { "a".into() } else { "b".into() });
    if variant & 2 != 0 {
        n.labels.insert("gpu".into(), "true".into());
    }
    if variant & 4 != 0 {
        n.taints.push(Taint { key: "dedicated".into(), value: "infra".into(), effect: TaintEffect::NoSchedule });
    }
    if variant & 8 != 0 {
        n.readiness = NodeReadiness::Unknown;
        n.taints.push(synth::taint(taints::UNREACHABLE, TaintEffect::NoExecute));
        n.taints.push(synth::taint(taints::UNREACHABLE, TaintEffect::NoSchedule));
    }
    n.unschedulable = variant & 16 != 0;
    n
}

fn ds_obj(j: u8, variant: u8, generation: i64) -> DsInfo {
    let mut d = synth::ds(NAMESPACES[j as usize % 2], &format!("d{j}"));
    d.generation = generation;
    match variant % 4 {
        1 => {
            d.sched.node_selector.insert("zone".into(), "a".into());
        }
        2 => {
            d.sched.required_terms = Some(vec![NodeSelectorTerm {
                match_expressions: vec![Requirement { key: "gpu".into(), op: SelectorOp::Exists, values: vec![] }],
                match_fields: vec![],
            }]);
        }
        3 => d.sched.tolerations.push(Toleration::exists("dedicated", TaintEffect::NoSchedule)),
        _ => {}
    }
    d.status.desired = i32::from(variant);
    d
}

fn rev_obj(j: u8, r: u8, owned: bool) -> RevInfo {
    let d = synth::ds(NAMESPACES[j as usize % 2], &format!("d{j}"));
    let mut rev = synth::rev(&d, i64::from(r), &format!("h{r}"));
    if !owned {
        rev.owner = None;
    }
    rev
}

/// `j` = 3 names a DaemonSet that never exists; node 4 may exist late; node 5 = no node.
fn pod_obj(j: u8, k: u8, node: u8, variant: u8, hash: u8, created: u8) -> PodInfo {
    let d = synth::ds(NAMESPACES[j as usize % 2], &format!("d{j}"));
    let node_name = if node >= 5 { String::new() } else { format!("n{node}") };
    let mut p = synth::pod(&d, &node_name, &format!("p{k}"), &format!("h{hash}"));
    if node >= 5 {
        p.node = None;
        p.bound = false;
    }
    p.created = 1_000 + i64::from(created);
    p.template_generation = Some(i64::from(hash % 3));
    match variant % 8 {
        1 => {
            p.phase = Phase::Pending;
            p.reason = "ContainerCreating".into();
            p.ready = false;
        }
        2 => {
            p.reason = "CrashLoopBackOff".into();
            p.ready = false;
            p.restarts = 5;
            p.last_termination = Some("Error".into());
            p.last_restart = Some(900);
        }
        3 => {
            p.deleting = true;
            p.reason = "Terminating".into();
        }
        4 => {
            p.ready = false;
            p.reason = "Running".into();
        }
        5 => {
            p.phase = Phase::Failed;
            p.reason = "Evicted".into();
            p.ready = false;
        }
        6 => {
            p.bound = false;
            p.phase = Phase::Pending;
            p.reason = "Pending".into();
            p.ready = false;
        }
        _ => {}
    }
    p
}

#[derive(Clone, Debug)]
enum Op {
    Node(u8, u8),
    DelNode(u8),
    Ds(u8, u8, i64),
    DelDs(u8),
    Rev(u8, u8, bool),
    DelRev(u8, u8),
    Pod(u8, u8, u8, u8, u8, u8),
    DelPod(u8, u8),
    /// Re-list one kind keeping the objects selected by the mask; `restart` begins a list,
    /// abandons it and lists again (the watcher restarting mid-list).
    Relist(u8, u16, bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..5, 0u8..32).prop_map(|(i, v)| Op::Node(i, v)),
        1 => (0u8..6).prop_map(Op::DelNode),
        2 => (0u8..3, 0u8..4, 1i64..4).prop_map(|(j, v, g)| Op::Ds(j, v, g)),
        1 => (0u8..4).prop_map(Op::DelDs),
        2 => (0u8..3, 0u8..4, any::<bool>()).prop_map(|(j, r, o)| Op::Rev(j, r, o)),
        1 => (0u8..4, 0u8..4).prop_map(|(j, r)| Op::DelRev(j, r)),
        6 => (0u8..4, 0u8..3, 0u8..6, 0u8..8, 0u8..4, 0u8..3).prop_map(|(j, k, n, v, h, c)| Op::Pod(j, k, n, v, h, c)),
        2 => (0u8..4, 0u8..4).prop_map(|(j, k)| Op::DelPod(j, k)),
        1 => (0u8..4, any::<u16>(), any::<bool>()).prop_map(|(k, m, r)| Op::Relist(k, m, r)),
    ]
}

/// The final set of objects, maintained beside the index as the truth.
#[derive(Default, Clone)]
struct World {
    nodes: BTreeMap<String, NodeInfo>,
    dss: BTreeMap<ObjKey, DsInfo>,
    revs: BTreeMap<ObjKey, RevInfo>,
    pods: BTreeMap<ObjKey, PodInfo>,
}

fn node_key(name: &str) -> ObjKey {
    synth::key("", name)
}

/// Apply `op` to the world and return the events that carry it to the index.
fn step(world: &mut World, op: &Op) -> Vec<FleetEvent> {
    match op {
        Op::Node(i, v) => {
            let n = node_obj(*i, *v);
            world.nodes.insert(n.name.clone(), n.clone());
            vec![FleetEvent::Node(Change::Apply(n))]
        }
        Op::DelNode(i) => {
            let name = format!("n{i}");
            world.nodes.remove(&name);
            vec![FleetEvent::Node(Change::Delete(node_key(&name)))]
        }
        Op::Ds(j, v, g) => {
            let d = ds_obj(*j, *v, *g);
            world.dss.insert(d.key(), d.clone());
            vec![FleetEvent::DaemonSet(Change::Apply(d))]
        }
        Op::DelDs(j) => {
            let k = synth::key(NAMESPACES[*j as usize % 2], &format!("d{j}"));
            world.dss.remove(&k);
            vec![FleetEvent::DaemonSet(Change::Delete(k))]
        }
        Op::Rev(j, r, o) => {
            let rv = rev_obj(*j, *r, *o);
            world.revs.insert(synth::key(&rv.namespace, &rv.name), rv.clone());
            vec![FleetEvent::Revision(Change::Apply(rv))]
        }
        Op::DelRev(j, r) => {
            let k = synth::key(NAMESPACES[*j as usize % 2], &format!("d{j}-h{r}"));
            world.revs.remove(&k);
            vec![FleetEvent::Revision(Change::Delete(k))]
        }
        Op::Pod(j, k, n, v, h, c) => {
            let p = pod_obj(*j, *k, *n, *v, *h, *c);
            world.pods.insert(p.key(), p.clone());
            vec![FleetEvent::Pod(Change::Apply(p))]
        }
        Op::DelPod(j, k) => {
            let key = synth::key(NAMESPACES[*j as usize % 2], &format!("d{j}-p{k}"));
            world.pods.remove(&key);
            vec![FleetEvent::Pod(Change::Delete(key))]
        }
        Op::Relist(kind, mask, restart) => {
            let keep = |i: usize| mask & (1 << (i % 16)) != 0;
            fn framed<T: Clone>(
                wrap: fn(Change<T>) -> FleetEvent,
                all: Vec<T>,
                kept: Vec<T>,
                restart: bool,
            ) -> Vec<FleetEvent> {
                let mut out = vec![wrap(Change::Init)];
                if restart {
                    // A first attempt that lists everything, abandoned half-way.
                    out.extend(all.into_iter().map(|o| wrap(Change::InitItem(o))));
                    out.push(wrap(Change::Init));
                }
                out.extend(kept.into_iter().map(|o| wrap(Change::InitItem(o))));
                out.push(wrap(Change::InitDone));
                out
            }
            match kind {
                0 => {
                    let all: Vec<NodeInfo> = world.nodes.values().cloned().collect();
                    world.nodes = world
                        .nodes
                        .clone()
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| keep(*i))
                        .map(|(_, kv)| kv)
                        .collect();
                    framed(FleetEvent::Node, all, world.nodes.values().cloned().collect(), *restart)
                }
                1 => {
                    let all: Vec<DsInfo> = world.dss.values().cloned().collect();
                    world.dss =
                        world.dss.clone().into_iter().enumerate().filter(|(i, _)| keep(*i)).map(|(_, kv)| kv).collect();
                    framed(FleetEvent::DaemonSet, all, world.dss.values().cloned().collect(), *restart)
                }
                2 => {
                    let all: Vec<RevInfo> = world.revs.values().cloned().collect();
                    world.revs = world
                        .revs
                        .clone()
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| keep(*i))
                        .map(|(_, kv)| kv)
                        .collect();
                    framed(FleetEvent::Revision, all, world.revs.values().cloned().collect(), *restart)
                }
                _ => {
                    let all: Vec<PodInfo> = world.pods.values().cloned().collect();
                    world.pods = world
                        .pods
                        .clone()
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| keep(*i))
                        .map(|(_, kv)| kv)
                        .collect();
                    framed(FleetEvent::Pod, all, world.pods.values().cloned().collect(), *restart)
                }
            }
        }
    }
}

/// Build an index from a final set of objects; `pods_first` applies the kinds in reverse.
fn build(world: &World, pods_first: bool) -> Index {
    let mut evs: Vec<FleetEvent> = Vec::new();
    evs.extend(world.nodes.values().cloned().map(|n| FleetEvent::Node(Change::Apply(n))));
    evs.extend(world.dss.values().cloned().map(|d| FleetEvent::DaemonSet(Change::Apply(d))));
    evs.extend(world.revs.values().cloned().map(|r| FleetEvent::Revision(Change::Apply(r))));
    evs.extend(world.pods.values().cloned().map(|p| FleetEvent::Pod(Change::Apply(p))));
    if pods_first {
        evs.reverse();
    }
    let mut idx = Index::new();
    for ev in evs {
        idx.apply(ev);
    }
    idx
}

/// Everything a reader of the index can observe, without ids (which depend on history).
fn observe(idx: &Index) -> String {
    let mut out = String::new();
    let s = idx.summary();
    let _ = writeln!(out, "summary {s:?} unplaced {}", idx.unplaced_pods());
    for n in idx.node_ids() {
        let Some(v) = idx.node(n) else { continue };
        let _ = writeln!(
            out,
            "node {} {:?} cordoned={} taints={:?} labels={:?} created={} problems={}",
            v.name, v.readiness, v.unschedulable, v.taints, v.labels, v.created, v.problems
        );
    }
    for d in idx.ds_ids() {
        let Some(v) = idx.ds(d) else { continue };
        let _ = writeln!(
            out,
            "ds {}/{} gen={} status={:?} newest={:?} desired={} counts={:?}",
            v.namespace, v.name, v.generation, v.status, v.newest_revision, v.desired_by_predicate, v.counts
        );
        for r in idx.revisions(d) {
            let _ = writeln!(out, "  rev {} {} {}", r.name, r.revision, r.hash);
        }
        for n in idx.node_ids() {
            let c = idx.cell(n, d);
            let name = idx.node(n).map(|v| v.name).unwrap_or_default();
            let _ =
                writeln!(out, "  cell {name} {:?} pods={} why={:?} pod={:?}", c.state, c.pods, c.not_eligible, c.pod);
            let _ = writeln!(out, "    decision {:?} all={:?}", idx.cell_decision(n, d), idx.cell_pods(n, d));
        }
        let pods: Vec<String> = idx
            .pods_of(d)
            .into_iter()
            .map(|(n, p)| format!("{}:{}", idx.node(n).map(|v| v.name).unwrap_or_default(), p.name))
            .collect();
        let _ = writeln!(out, "  pods_of {pods:?}");
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_event_order_gives_the_index_of_the_final_objects(ops in prop::collection::vec(op(), 0..60)) {
        let mut world = World::default();
        let mut idx = Index::new();
        for op in &ops {
            for ev in step(&mut world, op) {
                idx.apply(ev);
                if let Err(e) = idx.recount_check() {
                    return Err(TestCaseError::fail(format!("after {op:?}: {e}")));
                }
            }
        }
        let want = observe(&build(&world, false));
        prop_assert_eq!(observe(&idx), want.clone());
        prop_assert_eq!(observe(&build(&world, true)), want);
    }

    #[test]
    fn duplicate_events_change_nothing(ops in prop::collection::vec(op(), 0..30)) {
        let mut world = World::default();
        let mut idx = Index::new();
        for op in &ops {
            let evs = step(&mut world, op);
            for ev in evs.iter().cloned() {
                idx.apply(ev);
            }
            if !matches!(op, Op::Relist(..)) {
                let before = observe(&idx);
                let generation = idx.generation();
                for ev in evs {
                    idx.apply(ev);
                }
                prop_assert_eq!(observe(&idx), before);
                prop_assert_eq!(idx.generation(), generation);
            }
        }
        prop_assert!(idx.recount_check().is_ok());
    }
}
