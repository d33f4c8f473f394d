//! The fleet index: nodes, DaemonSets, revisions and daemon pods, and the derived cell map
//! (DaemonSet, node) → state. Applied incrementally from [`FleetEvent`]s; read by the UI once
//! per frame through the accessors below. Pure and synchronous: no I/O, no clocks (callers pass
//! `now` where ages matter).
//!
//! API CONTRACT (other modules code against these signatures; keep them stable):
//! - ids are dense and stable while the object lives: [`NodeId`], [`DsId`].
//! - [`Index::apply`] applies one event; [`Index::generation`] changes whenever anything
//!   visible changed (the UI's dirty check).

use super::model::{DsStatusCounts, FleetEvent, NodeReadiness, Secs, StreamKind, StreamState, UpdateStrategy};
use super::schedule::{NotEligible, Taint};
use super::state::CellState;
use super::summary::Summary;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DsId(pub u32);

/// Read view of a node row.
#[derive(Clone, Debug)]
pub struct NodeView<'a> {
    pub id: NodeId,
    pub name: &'a str,
    pub readiness: NodeReadiness,
    pub unschedulable: bool,
    pub taints: &'a [Taint],
    pub labels: &'a std::collections::BTreeMap<String, String>,
    pub created: Secs,
    /// Problem cells on this row (states where `CellState::is_problem`).
    pub problems: u32,
}

/// Read view of a DaemonSet column.
#[derive(Clone, Debug)]
pub struct DsView<'a> {
    pub id: DsId,
    pub namespace: &'a str,
    pub name: &'a str,
    pub generation: i64,
    pub created: Secs,
    /// Counters from the DaemonSet's own status.
    pub status: &'a DsStatusCounts,
    pub strategy: &'a UpdateStrategy,
    pub containers: &'a [String],
    pub init_containers: &'a [String],
    pub images: &'a [String],
    /// Newest ControllerRevision (highest revision owned by it): (revision, hash).
    pub newest_revision: Option<(i64, &'a str)>,
    /// Nodes where our predicate says it should run.
    pub desired_by_predicate: u32,
    /// Cells per state in this column, indexed by `CellState::idx`.
    pub counts: [u32; 9],
}

/// Read view of the pod in a cell.
#[derive(Clone, Debug)]
pub struct PodView<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub reason: &'a str,
    pub ready: bool,
    pub containers_ready: u16,
    pub containers_total: u16,
    pub restarts: u32,
    pub last_termination: Option<&'a str>,
    pub last_restart: Option<Secs>,
    pub created: Secs,
    pub deleting: bool,
    pub revision_hash: Option<&'a str>,
    pub template_generation: Option<i64>,
    pub outdated: bool,
}

/// Read view of one cell.
#[derive(Clone, Debug)]
pub struct CellView<'a> {
    pub state: CellState,
    /// The pod that decided the state (the worst one when there are several).
    pub pod: Option<PodView<'a>>,
    /// Number of daemon pods of this DaemonSet on this node (2 during a surge).
    pub pods: u32,
    /// Why the predicate is false, for not-eligible and misscheduled cells.
    pub not_eligible: Option<&'a NotEligible>,
}

/// A ControllerRevision of a DaemonSet, for history.
#[derive(Clone, Debug)]
pub struct RevView<'a> {
    pub name: &'a str,
    pub revision: i64,
    pub hash: &'a str,
    pub created: Secs,
    pub change_cause: Option<&'a str>,
    pub images: &'a [String],
}

pub struct Index {
    _todo: (),
}

impl Default for Index {
    fn default() -> Self {
        Self::new()
    }
}

#[allow(unused_variables)]
impl Index {
    pub fn new() -> Index {
        todo!("fleet helper")
    }
    /// Apply one event. O(1)/O(log n) for pods; node/DaemonSet changes re-evaluate only the
    /// cells of that row/column.
    pub fn apply(&mut self, ev: FleetEvent) {
        todo!()
    }
    /// Changes whenever anything visible changed.
    pub fn generation(&self) -> u64 {
        todo!()
    }
    /// Live nodes, sorted by name.
    pub fn node_ids(&self) -> Vec<NodeId> {
        todo!()
    }
    pub fn node(&self, id: NodeId) -> Option<NodeView<'_>> {
        todo!()
    }
    pub fn node_by_name(&self, name: &str) -> Option<NodeId> {
        todo!()
    }
    /// Live DaemonSets, sorted by namespace/name.
    pub fn ds_ids(&self) -> Vec<DsId> {
        todo!()
    }
    pub fn ds(&self, id: DsId) -> Option<DsView<'_>> {
        todo!()
    }
    pub fn ds_by_name(&self, namespace: &str, name: &str) -> Option<DsId> {
        todo!()
    }
    pub fn cell(&self, node: NodeId, ds: DsId) -> CellView<'_> {
        todo!()
    }
    /// All daemon pods of a DaemonSet with their node (for log tails and batch actions).
    pub fn pods_of(&self, ds: DsId) -> Vec<(NodeId, PodView<'_>)> {
        todo!()
    }
    /// ControllerRevisions owned by a DaemonSet, newest first.
    pub fn revisions(&self, ds: DsId) -> Vec<RevView<'_>> {
        todo!()
    }
    pub fn summary(&self) -> &Summary {
        todo!()
    }
    pub fn stream_state(&self, kind: StreamKind) -> &StreamState {
        todo!()
    }
    /// Unix seconds of the last event received on any stream.
    pub fn last_event_at(&self) -> Option<Secs> {
        todo!()
    }
    /// True once every stream has finished its first list (or failed).
    pub fn synced(&self) -> bool {
        todo!()
    }
    /// Approximate heap bytes held by the index (for the benchmark's bytes-per-pod figure).
    pub fn heap_bytes(&self) -> usize {
        todo!()
    }
}
