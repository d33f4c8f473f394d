//! Plans built from the fleet index: the cursor cell's restart, all failing pods of a
//! DaemonSet, a row selection; and rollout history from the index's revisions.

use daemonscope::cluster::actions::batch::restart_cell_plan;
use daemonscope::cluster::actions::{restart_failing_plans, restart_on_nodes_plans};
use daemonscope::fleet::index::Index;
use daemonscope::fleet::model::{Change, FleetEvent};
use daemonscope::fleet::rollout::history_from_index;
use daemonscope::fleet::state::CellState;
use daemonscope::fleet::synth;

fn index() -> Index {
    let mut ix = Index::new();
    let ds = synth::ds("kube-system", "agent");
    for n in ["node-1", "node-2", "node-3", "node-4"] {
        ix.apply(FleetEvent::Node(Change::Apply(synth::node(n))));
    }
    ix.apply(FleetEvent::DaemonSet(Change::Apply(ds.clone())));
    let mut r1 = synth::rev(&ds, 1, "h1");
    r1.change_cause = Some("first".into());
    ix.apply(FleetEvent::Revision(Change::Apply(r1)));
    ix.apply(FleetEvent::Revision(Change::Apply(synth::rev(&ds, 2, "h2"))));
    ix.apply(FleetEvent::Pod(Change::Apply(synth::pod(&ds, "node-1", "aaaaa", "h2"))));
    for (node, suffix) in [("node-2", "bbbbb"), ("node-4", "ddddd")] {
        let mut crashing = synth::pod(&ds, node, suffix, "h2");
        crashing.reason = "CrashLoopBackOff".into();
        crashing.ready = false;
        crashing.containers_ready = 0;
        crashing.restarts = 7;
        ix.apply(FleetEvent::Pod(Change::Apply(crashing)));
    }
    // node-3: no pod (missing).
    ix
}

#[test]
fn failing_pods_of_a_daemonset_become_one_delete_each() {
    let ix = index();
    let ds = ix.ds_by_name("kube-system", "agent").unwrap();
    let n2 = ix.node_by_name("node-2").unwrap();
    assert_eq!(ix.cell(n2, ds).state, CellState::Failing);
    let plans = restart_failing_plans(&ix, ds);
    assert_eq!(
        plans.iter().map(|p| p.request_line()).collect::<Vec<_>>(),
        vec![
            "DELETE /api/v1/namespaces/kube-system/pods/agent-bbbbb",
            "DELETE /api/v1/namespaces/kube-system/pods/agent-ddddd"
        ]
    );
    assert_eq!(plans[0].node.as_deref(), Some("node-2"));
}

#[test]
fn a_row_selection_restarts_only_nodes_with_a_pod() {
    let ix = index();
    let ds = ix.ds_by_name("kube-system", "agent").unwrap();
    let nodes: Vec<_> = ["node-1", "node-3"].iter().map(|n| ix.node_by_name(n).unwrap()).collect();
    let plans = restart_on_nodes_plans(&ix, ds, &nodes);
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].summary(), "restart pod kube-system/agent-aaaaa on node node-1");
    assert!(restart_cell_plan(&ix, nodes[1], ds).is_none(), "a missing cell has nothing to restart");
}

#[test]
fn history_from_the_index_lists_revisions_oldest_first() {
    let ix = index();
    let ds = ix.ds_by_name("kube-system", "agent").unwrap();
    let rows = history_from_index(&ix.revisions(ds));
    assert_eq!(rows.iter().map(|r| r.revision).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(rows[0].change_cause_text(), "first");
    assert_eq!(rows[1].change_cause_text(), "<none>");
    assert!(rows[1].current && !rows[0].current);
    assert!(!rows[0].images.is_empty());
}
