//! `snapshot -o json`: exactly the object DESIGN.md's "CLI contract" describes. Ordering is
//! stable (nodes by name, DaemonSets by namespace/name, cells node-major), so two snapshots of
//! an unchanged cluster are byte-identical.

use std::io::Write;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::fleet::CellState;
use crate::fleet::Index;
use crate::fleet::model::NodeReadiness;
use crate::fleet::model::Secs;
use crate::fleet::schedule::Taint;
use crate::fleet::why::{WhyEvent, explain};

#[derive(Serialize)]
pub struct Doc<'a> {
    pub context: &'a str,
    pub nodes: Vec<Node<'a>>,
    pub daemonsets: Vec<DaemonSet<'a>>,
    pub cells: Vec<Cell<'a>>,
    pub summary: Summary,
}

#[derive(Serialize)]
pub struct Node<'a> {
    pub name: &'a str,
    pub ready: bool,
    pub unschedulable: bool,
    pub taints: &'a [Taint],
}

#[derive(Serialize)]
pub struct DaemonSet<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub desired: i32,
    pub current: i32,
    pub ready: i32,
    pub updated: i32,
    pub available: i32,
    /// The newest ControllerRevision's number.
    pub revision: Option<i64>,
    /// Nodes where our should-run predicate is true (beside the controller's `desired`).
    pub desired_by_predicate: u32,
}

#[derive(Serialize)]
pub struct Cell<'a> {
    pub node: &'a str,
    /// "namespace/name".
    pub daemonset: String,
    pub state: CellState,
    pub pod: Option<&'a str>,
    /// Why the cell is in its state, one line, in the cluster's words where it has them
    /// (`fleet::why`).
    pub why: Option<String>,
    /// What to do about it, one line.
    pub hint: Option<String>,
    /// The Warning events behind the why, newest first (`last` is Unix seconds).
    pub events: Vec<WhyEvent>,
    pub restarts: u32,
    /// The pod's `controller-revision-hash`.
    pub revision: Option<&'a str>,
}

/// Cells per state (every state, by name, in precedence order) and the totals.
pub struct Summary {
    pub states: [u32; CellState::COUNT],
    pub nodes: u32,
    pub daemonsets: u32,
    pub pods: u32,
}

impl Serialize for Summary {
    // Hand-written so the state counts sit beside the totals in precedence order, which a
    // derived struct with a map field cannot do without reordering by key.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(CellState::ALL.len() + 3))?;
        for state in CellState::ALL {
            map.serialize_entry(state.name(), &self.states[state.idx()])?;
        }
        map.serialize_entry("nodes", &self.nodes)?;
        map.serialize_entry("daemonsets", &self.daemonsets)?;
        map.serialize_entry("pods", &self.pods)?;
        map.end()
    }
}

/// Build the document. `problems_only` keeps only cells whose state is a problem; nodes,
/// DaemonSets and the summary always describe the whole fleet.
/// `now` (Unix seconds) dates the events the why texts quote.
pub fn build<'a>(index: &'a Index, context: &'a str, problems_only: bool, now: Secs) -> Doc<'a> {
    let node_ids = index.node_ids();
    let ds_ids = index.ds_ids();
    let nodes: Vec<_> = node_ids.iter().filter_map(|&id| index.node(id).map(|n| (id, n))).collect();
    let dss: Vec<_> = ds_ids.iter().filter_map(|&id| index.ds(id).map(|d| (id, d))).collect();
    let mut states = [0u32; CellState::COUNT];
    let mut cells = Vec::new();
    for (node_id, node) in &nodes {
        for (ds_id, ds) in &dss {
            let cell = index.cell(*node_id, *ds_id);
            states[cell.state.idx()] += 1;
            if cell.state == CellState::NotEligible || (problems_only && !cell.state.is_problem()) {
                continue;
            }
            let why = explain(index, &cell, ds, node, now);
            let pod = cell.pod.as_ref();
            cells.push(Cell {
                node: node.name,
                daemonset: format!("{}/{}", ds.namespace, ds.name),
                state: cell.state,
                pod: pod.map(|p| p.name),
                why: why.as_ref().map(|w| w.text.clone()),
                hint: why.as_ref().and_then(|w| w.hint.clone()),
                events: why.map(|w| w.events).unwrap_or_default(),
                restarts: pod.map_or(0, |p| p.restarts),
                revision: pod.and_then(|p| p.revision_hash),
            });
        }
    }
    let summary =
        Summary { states, nodes: nodes.len() as u32, daemonsets: dss.len() as u32, pods: index.summary().pods };
    Doc {
        context,
        nodes: nodes
            .iter()
            .map(|(_, n)| Node {
                name: n.name,
                ready: n.readiness == NodeReadiness::Ready,
                unschedulable: n.unschedulable,
                taints: n.taints,
            })
            .collect(),
        daemonsets: dss
            .iter()
            .map(|(_, d)| DaemonSet {
                namespace: d.namespace,
                name: d.name,
                desired: d.status.desired,
                current: d.status.current,
                ready: d.status.ready,
                updated: d.status.updated,
                available: d.status.available,
                revision: d.newest_revision.map(|(rev, _)| rev),
                desired_by_predicate: d.desired_by_predicate,
            })
            .collect(),
        cells,
        summary,
    }
}

/// Write the document as one JSON object and a newline.
pub fn write(index: &Index, context: &str, problems_only: bool, now: Secs, out: &mut dyn Write) -> std::io::Result<()> {
    let doc = build(index, context, problems_only, now);
    // Keep the io error's kind (a closed pipe is BrokenPipe, which the caller treats as done).
    serde_json::to_writer(&mut *out, &doc).map_err(|e| match e.io_error_kind() {
        Some(kind) => std::io::Error::new(kind, e),
        None => std::io::Error::other(e),
    })?;
    writeln!(out)
}
