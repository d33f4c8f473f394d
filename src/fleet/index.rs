//! The fleet index: nodes, DaemonSets, revisions and daemon pods, and the derived cell map
//! (DaemonSet, node) → state. Applied incrementally from [`FleetEvent`]s; read by the UI once
//! per frame through the accessors below. Pure and synchronous: no I/O, no clocks (callers pass
//! `now` where ages matter).
//!
//! API CONTRACT (other modules code against these signatures; keep them stable):
//! - ids are dense and stable while the object lives: [`NodeId`], [`DsId`] (slots are reused
//!   after a delete).
//! - [`Index::apply`] applies one event; [`Index::generation`] changes whenever anything
//!   visible changed (the UI's dirty check).
//!
//! Layout, designed for 5,000 nodes × 30 DaemonSets × 150,000 pods in under 300 bytes per pod:
//! - cells: one dense column (`Vec<Cell>`, 12 bytes a cell) per DaemonSet, indexed by node
//!   slot, holding the predicate's answer, an interned not-eligible reason, the cell state and
//!   the head of a chain of its pods (more than one during a surge);
//! - pods: fixed-size records in a chunked slab (`pods.rs`) with interned strings ([`Sym`]);
//!   a pod is either linked into its cell or, while its node or DaemonSet is unknown, kept in
//!   pools keyed by node name and by owner, and joins its cell when they arrive;
//! - aggregates: per column counts by state and desired-by-predicate, per row problem counts,
//!   and the global [`Summary`], all kept exact by subtracting a cell's old state and adding
//!   its new one ([`Index::recount_check`] proves it against a recount).
//!
//! Eligibility is recomputed only for what changed: a node's labels or taints → its row (D
//! predicates); a DaemonSet's scheduling fields → its column (N predicates). A pod event touches
//! only its cell. Each operation's cost is on its doc comment (N nodes, D DaemonSets, k pods in
//! a cell).
//!
//! How a pod on a node where the predicate is false but that is also failing is shown:
//! misscheduled (see [`cell_state`]); the cell's pod view still carries its own STATUS.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::events::{EventBook, EventRec};
use super::intern::{FxBuild, FxHashMap, Interner, Sym, btree_bytes, hashmap_bytes, string_bytes, vec_bytes};
use super::model::{
    Change, DsInfo, DsStatusCounts, EventInfo, FleetEvent, Involved, NodeInfo, NodeReadiness, ObjKey, PodInfo, RevInfo,
    Secs, StreamKind, StreamState, UpdateStrategy,
};
use super::pods::{
    F_BOUND, F_DELETING, F_LIVE, F_READY, F_SEEN, F_WAIT_DS, F_WAIT_NODE, NONE, PodRec, PodStore, opt_i64,
};
use super::schedule::{
    Decision, NodeView as SchedNodeView, NotEligible, Taint, Toleration, daemon_tolerations, should_run_with,
};
use super::state::{CellState, PodFacts, cell_state, pod_state};
use super::summary::Summary;

type FxHashSet<T> = HashSet<T, FxBuild>;

mod cells;
mod check;
mod objects;
#[cfg(test)]
mod tests;

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
    /// Cells on this row per severity tier, indexed by `Severity::tier` (most severe first):
    /// comparing two rows' arrays ranks them by severity, then count.
    pub tiers: [u32; 4],
    /// The row was made from its pods' node name: nodes cannot be listed (RBAC), so nothing of
    /// the node is known (readiness, labels, taints), nor whether a pod should run on it.
    pub standin: bool,
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
    pub counts: [u32; CellState::COUNT],
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
    /// [`crate::fleet::model::PodInfo::detail`].
    pub detail: Option<&'a str>,
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

/// One (DaemonSet, node) cell of the matrix: 12 bytes.
#[derive(Clone, Copy, Debug)]
struct Cell {
    /// First pod of the cell's chain (through `PodRec::next_in_cell`), or `NONE`.
    head: u32,
    /// Why the predicate is false: an id into the index's reason table, or `NONE`.
    reason: u32,
    npods: u16,
    state: CellState,
    flags: u8,
}

/// The predicate says a daemon pod should run here.
const C_SHOULD_RUN: u8 = 1;
/// An existing pod may continue running (`shouldContinueRunning`).
const C_KEEP: u8 = 2;
/// The cell is part of the aggregates (its row and column are live).
const C_COUNTED: u8 = 4;
/// The predicate cannot be evaluated (a stand-in row): no missing, not-eligible or
/// misscheduled verdict.
const C_UNKNOWN: u8 = 8;

impl Cell {
    const EMPTY: Cell = Cell { head: NONE, reason: NONE, npods: 0, state: CellState::NotEligible, flags: 0 };
    fn should_run(&self) -> bool {
        self.flags & C_SHOULD_RUN != 0
    }
}

struct NodeRec {
    info: NodeInfo,
    name_sym: Sym,
    /// A row made from its pods' node name because nodes cannot be listed (RBAC): nothing is
    /// known of the node itself, so its cells without a pod are `Unknown`, never missing.
    standin: bool,
    problems: u32,
    tiers: [u32; 4],
    seen: bool,
}

struct DsRec {
    info: DsInfo,
    ns: Sym,
    name_sym: Sym,
    /// `daemon_tolerations(&info.sched)`, computed once per scheduling change.
    tolerations: Vec<Toleration>,
    /// Newest owned ControllerRevision: (revision, hash symbol held by this record).
    newest: Option<(i64, Sym)>,
    counts: [u32; CellState::COUNT],
    desired: u32,
    /// Indexed by node slot.
    cells: Vec<Cell>,
    seen: bool,
}

struct RevRec {
    info: RevInfo,
    seen: bool,
}

/// Per-kind bookkeeping of a watch stream.
struct StreamBook {
    state: StreamState,
    /// Got `InitDone` (or `Failed`) at least once.
    listed: bool,
    /// Between `Init` and `InitDone`: objects applied now are marked as seen.
    in_init: bool,
    /// The last list was refused (`Failed`: 403, 401) and none has succeeded since; retries in
    /// between do not change what is known.
    denied: bool,
    /// Objects the server sent that did not decode, with the decoder's error; left out of the
    /// index, reported until a re-list or a decodable version of the same object.
    undecodable: BTreeMap<ObjKey, String>,
    /// While (re-)listing: objects listed so far and the server's remaining count, if any.
    progress: Option<(u64, Option<u64>)>,
}

fn kind_idx(kind: StreamKind) -> usize {
    match kind {
        StreamKind::Nodes => 0,
        StreamKind::DaemonSets => 1,
        StreamKind::Revisions => 2,
        StreamKind::Pods => 3,
        StreamKind::Events => 4,
    }
}

/// Pack two symbols into one map key (namespace, name).
fn pair(a: Sym, b: Sym) -> u64 {
    (u64::from(a.0) << 32) | u64::from(b.0)
}

/// The fleet index. See the module docs; every operation documents its cost, with
/// N = nodes, D = DaemonSets, P = pods, k = pods in one cell (1, or 2 during a surge).
pub struct Index {
    strings: Interner,
    nodes: Vec<Option<NodeRec>>,
    node_free: Vec<u32>,
    node_sorted: BTreeMap<String, u32>,
    node_by_sym: FxHashMap<Sym, u32>,
    dss: Vec<Option<DsRec>>,
    ds_free: Vec<u32>,
    ds_sorted: BTreeMap<(String, String), u32>,
    ds_by_key: FxHashMap<u64, u32>,
    /// Width of every column: node slots ever allocated.
    node_slots: u32,
    pods: PodStore,
    /// Pods whose node is not (yet) known, by node name.
    wait_node: FxHashMap<Sym, FxHashSet<u32>>,
    /// Pods whose DaemonSet is not (yet) known, by (namespace, owner name).
    wait_ds: FxHashMap<u64, FxHashSet<u32>>,
    revs: HashMap<(String, String), RevRec>,
    /// (namespace, DaemonSet name) → names of the revisions it owns.
    revs_by_owner: HashMap<(String, String), BTreeSet<String>>,
    /// Interned `NotEligible` reasons with holders; cells refer to them by id.
    reasons: Vec<(Option<NotEligible>, u32)>,
    reason_ids: HashMap<NotEligible, u32>,
    reason_free: Vec<u32>,
    summary: Summary,
    /// Pods attached to a cell.
    placed: u32,
    streams: [StreamBook; 5],
    /// Warning events about the objects above (bounded; see `fleet::events`).
    events: EventBook,
    last_event_at: Option<Secs>,
    generation: u64,
    /// Changes when a node or DaemonSet changed (the rows and columns, their labels, names and
    /// ages), never for a pod: a pod's state change must not re-sort thousands of rows.
    structure_generation: u64,
    /// Changes when a problem count of a row or a column changed.
    problem_generation: u64,
}

impl Default for Index {
    fn default() -> Self {
        Self::new()
    }
}

impl Index {
    pub fn new() -> Index {
        let book = || StreamBook {
            state: StreamState::Syncing,
            listed: false,
            in_init: false,
            denied: false,
            undecodable: BTreeMap::new(),
            progress: None,
        };
        Index {
            strings: Interner::new(),
            nodes: Vec::new(),
            node_free: Vec::new(),
            node_sorted: BTreeMap::new(),
            node_by_sym: FxHashMap::default(),
            dss: Vec::new(),
            ds_free: Vec::new(),
            ds_sorted: BTreeMap::new(),
            ds_by_key: FxHashMap::default(),
            node_slots: 0,
            pods: PodStore::new(),
            wait_node: FxHashMap::default(),
            wait_ds: FxHashMap::default(),
            revs: HashMap::new(),
            revs_by_owner: HashMap::new(),
            reasons: Vec::new(),
            reason_ids: HashMap::new(),
            reason_free: Vec::new(),
            summary: Summary::default(),
            placed: 0,
            streams: [book(), book(), book(), book(), book()],
            events: EventBook::new(),
            last_event_at: None,
            generation: 0,
            structure_generation: 0,
            problem_generation: 0,
        }
    }

    /// Apply one event.
    ///
    /// Costs: a pod event O(k) (hash lookups, its cell's k pods, constant aggregate updates);
    /// a node event O(D) when its labels or taints changed (its row's D predicates), else O(1);
    /// a DaemonSet event O(N) when its scheduling fields, generation or newest revision changed
    /// (its column), else O(1); a revision event O(r + N) (r revisions of its owner, plus the
    /// column when the newest hash changed); `InitDone` O(objects of that kind) for the sweep;
    /// node/DaemonSet creation or deletion O(D)/O(N) plus the pods of that row/column.
    pub fn apply(&mut self, ev: FleetEvent) {
        let structural = matches!(ev, FleetEvent::Node(_) | FleetEvent::DaemonSet(_));
        let changed = match ev {
            FleetEvent::Node(c) => self.change(StreamKind::Nodes, c, Self::apply_node, Self::delete_node),
            FleetEvent::DaemonSet(c) => self.change(StreamKind::DaemonSets, c, Self::apply_ds, Self::delete_ds),
            FleetEvent::Revision(c) => self.change(StreamKind::Revisions, c, Self::apply_rev, Self::delete_rev),
            FleetEvent::Pod(c) => self.change(StreamKind::Pods, c, Self::apply_pod, Self::delete_pod),
            FleetEvent::Event(c) => self.change(StreamKind::Events, c, Self::apply_event, Self::delete_event),
            FleetEvent::Stream { kind, state, at } => {
                self.last_event_at = Some(self.last_event_at.map_or(at, |t| t.max(at)));
                let was_denied = self.denied(kind);
                let book = &mut self.streams[kind_idx(kind)];
                if matches!(state, StreamState::Failed { .. }) {
                    book.listed = true;
                    book.denied = true;
                }
                book.state = state;
                self.denial_changed(kind, was_denied);
                true
            }
            FleetEvent::Progress { kind, listed, remaining } => {
                self.streams[kind_idx(kind)].progress = Some((listed, remaining));
                // Shown only while the first list runs (a re-list keeps showing the data).
                !self.streams[kind_idx(kind)].listed
            }
            FleetEvent::Undecodable { kind, key, error } => {
                // The object's earlier version (if any) no longer describes it.
                let _removed = match kind {
                    StreamKind::Nodes => self.delete_node(&key),
                    StreamKind::DaemonSets => self.delete_ds(&key),
                    StreamKind::Revisions => self.delete_rev(&key),
                    StreamKind::Pods => self.delete_pod(&key),
                    StreamKind::Events => self.delete_event(&key),
                };
                self.streams[kind_idx(kind)].undecodable.insert(key, error);
                true
            }
        };
        if changed {
            self.generation += 1;
            if structural {
                self.structure_generation += 1;
            }
        }
    }

    /// [`Index::apply`], recording `now` (Unix seconds) as the time of the last event. The index
    /// reads no clock; the event loop passes the time it received the event.
    pub fn apply_at(&mut self, ev: FleetEvent, now: Secs) {
        self.last_event_at = Some(self.last_event_at.map_or(now, |t| t.max(now)));
        self.apply(ev);
    }

    /// Dispatch a `Change` of one kind. Re-lists use mark-and-sweep instead of kube's reflector
    /// buffer (`kube-runtime/src/reflector/store.rs`): `Init` starts marking, `InitItem` applies
    /// the object at once and marks it, `InitDone` removes every object of the kind not marked.
    /// The observable result at `InitDone` is the reflector's, without holding a second copy of
    /// 150,000 projections while a re-list streams in.
    fn change<T>(
        &mut self,
        kind: StreamKind,
        c: Change<T>,
        apply: fn(&mut Index, T, bool) -> bool,
        delete: fn(&mut Index, &ObjKey) -> bool,
    ) -> bool {
        let k = kind_idx(kind);
        match c {
            Change::Init => {
                self.streams[k].undecodable.clear();
                if self.streams[k].in_init {
                    // A re-list restarted before finishing: forget what the aborted one marked.
                    self.clear_marks(kind);
                }
                self.streams[k].in_init = true;
                false
            }
            Change::InitItem(obj) | Change::Apply(obj) => {
                let mark = self.streams[k].in_init;
                apply(self, obj, mark)
            }
            Change::Delete(key) => {
                let reported = self.streams[k].undecodable.remove(&key).is_some();
                delete(self, &key) || reported
            }
            Change::InitDone => {
                let swept = if self.streams[k].in_init { self.sweep(kind) } else { false };
                // Events that arrived before their object's list finished and whose object
                // the list did not bring.
                let pruned = self.prune_events(kind);
                let book = &mut self.streams[k];
                book.in_init = false;
                book.listed = true;
                book.progress = None;
                // A finished list means the stream is live again.
                let was_live = book.state == StreamState::Live;
                let was_denied = book.denied;
                book.denied = false;
                book.state = StreamState::Live;
                self.denial_changed(kind, was_denied);
                swept || pruned || !was_live
            }
        }
    }

    /// The server refuses to list `kind` (403 from RBAC, or 401). O(1).
    /// Stays so while it retries, until a list succeeds. O(1).
    pub fn denied(&self, kind: StreamKind) -> bool {
        self.streams[kind_idx(kind)].denied
    }

    /// Degrade instead of hiding when a stream the verdicts need is refused, and undo that when
    /// it is listed again:
    /// - nodes: every pod's node gets a stand-in row (its cells without a pod are unknown);
    ///   a successful list replaces the stand-ins by the nodes (or sweeps them);
    /// - revisions: no outdated verdicts (a pod's template generation alone can call a rolled-
    ///   back pod outdated), so every column's pod states are recomputed.
    fn denial_changed(&mut self, kind: StreamKind, was_denied: bool) {
        let denied = self.denied(kind);
        if denied == was_denied {
            return;
        }
        match kind {
            StreamKind::Nodes if denied => {
                let names: Vec<Sym> = self.wait_node.keys().copied().collect();
                for sym in names {
                    self.standin_node(sym);
                }
            }
            StreamKind::Revisions => {
                for d in 0..self.dss.len() as u32 {
                    if self.dss[d as usize].is_some() {
                        self.restate_column(d);
                    }
                }
            }
            _ => {}
        }
    }

    fn clear_marks(&mut self, kind: StreamKind) {
        match kind {
            StreamKind::Nodes => self.nodes.iter_mut().flatten().for_each(|n| n.seen = false),
            StreamKind::DaemonSets => self.dss.iter_mut().flatten().for_each(|d| d.seen = false),
            StreamKind::Revisions => self.revs.values_mut().for_each(|r| r.seen = false),
            StreamKind::Pods => {
                for i in 0..self.pods.slots() {
                    self.pods.get_mut(i).set(F_SEEN, false);
                }
            }
            StreamKind::Events => self.events.clear_marks(),
        }
    }

    /// Remove the objects of `kind` not marked since `Init`, and clear the marks. O(objects).
    fn sweep(&mut self, kind: StreamKind) -> bool {
        let mut gone: Vec<ObjKey> = Vec::new();
        match kind {
            StreamKind::Nodes => {
                for n in self.nodes.iter_mut().flatten() {
                    if !n.seen {
                        gone.push(ObjKey { namespace: String::new(), name: n.info.name.clone() });
                    }
                    n.seen = false;
                }
                for k in &gone {
                    self.delete_node(k);
                }
            }
            StreamKind::DaemonSets => {
                for d in self.dss.iter_mut().flatten() {
                    if !d.seen {
                        gone.push(d.info.key());
                    }
                    d.seen = false;
                }
                for k in &gone {
                    self.delete_ds(k);
                }
            }
            StreamKind::Revisions => {
                for ((ns, name), r) in self.revs.iter_mut() {
                    if !r.seen {
                        gone.push(ObjKey { namespace: ns.clone(), name: name.clone() });
                    }
                    r.seen = false;
                }
                for k in &gone {
                    self.delete_rev(k);
                }
            }
            StreamKind::Pods => {
                let mut dead = Vec::new();
                for i in 0..self.pods.slots() {
                    let p = self.pods.get_mut(i);
                    if p.has(F_LIVE) {
                        if !p.has(F_SEEN) {
                            dead.push(i);
                        }
                        p.set(F_SEEN, false);
                    }
                }
                for &i in &dead {
                    self.remove_pod(i);
                }
                return !dead.is_empty();
            }
            StreamKind::Events => return self.events.sweep(),
        }
        !gone.is_empty()
    }

    // ----- read API ------------------------------------------------------------------------

    /// Changes whenever anything visible changed. O(1).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Changes whenever a node or a DaemonSet changed (not for pods). O(1).
    pub fn structure_generation(&self) -> u64 {
        self.structure_generation
    }

    /// Changes whenever the problem count of a row or a column changed. O(1).
    pub fn problem_generation(&self) -> u64 {
        self.problem_generation
    }

    /// Live nodes, sorted by name. O(N).
    pub fn node_ids(&self) -> Vec<NodeId> {
        self.node_sorted.values().map(|&n| NodeId(n)).collect()
    }

    /// O(1).
    pub fn node(&self, id: NodeId) -> Option<NodeView<'_>> {
        let node = self.nodes.get(id.0 as usize)?.as_ref()?;
        Some(NodeView {
            id,
            name: &node.info.name,
            readiness: node.info.readiness,
            unschedulable: node.info.unschedulable,
            taints: &node.info.taints,
            labels: &node.info.labels,
            created: node.info.created,
            problems: node.problems,
            tiers: node.tiers,
            standin: node.standin,
        })
    }

    /// The whole projection of a node (pressures, kubelet version) for the detail panel. O(1).
    pub fn node_info(&self, id: NodeId) -> Option<&NodeInfo> {
        Some(&self.nodes.get(id.0 as usize)?.as_ref()?.info)
    }

    /// O(log N).
    pub fn node_by_name(&self, name: &str) -> Option<NodeId> {
        self.node_sorted.get(name).map(|&n| NodeId(n))
    }

    /// Live DaemonSets, sorted by namespace/name. O(D).
    pub fn ds_ids(&self) -> Vec<DsId> {
        self.ds_sorted.values().map(|&d| DsId(d)).collect()
    }

    /// O(1).
    pub fn ds(&self, id: DsId) -> Option<DsView<'_>> {
        let ds = self.dss.get(id.0 as usize)?.as_ref()?;
        Some(DsView {
            id,
            namespace: &ds.info.namespace,
            name: &ds.info.name,
            generation: ds.info.generation,
            created: ds.info.created,
            status: &ds.info.status,
            strategy: &ds.info.strategy,
            containers: &ds.info.containers,
            init_containers: &ds.info.init_containers,
            images: &ds.info.images,
            newest_revision: ds.newest.map(|(r, h)| (r, self.strings.resolve(h))),
            desired_by_predicate: ds.desired,
            counts: ds.counts,
        })
    }

    /// The whole projection of a DaemonSet (selector, scheduling spec, uid). O(1).
    pub fn ds_info(&self, id: DsId) -> Option<&DsInfo> {
        Some(&self.dss.get(id.0 as usize)?.as_ref()?.info)
    }

    /// O(log D).
    pub fn ds_by_name(&self, namespace: &str, name: &str) -> Option<DsId> {
        self.ds_sorted.get(&(namespace.to_string(), name.to_string())).map(|&d| DsId(d))
    }

    fn pod_view(&self, i: u32, ds: Option<&DsRec>) -> PodView<'_> {
        let p = self.pods.get(i);
        let s = &self.strings;
        PodView {
            namespace: s.resolve(p.ns),
            name: self.pods.name(i),
            reason: s.resolve(p.reason),
            ready: p.has(F_READY),
            containers_ready: p.containers_ready,
            containers_total: p.containers_total,
            restarts: p.restarts,
            last_termination: s.resolve_opt(p.last_term),
            detail: s.resolve_opt(p.detail),
            last_restart: opt_i64(p.last_restart),
            created: p.created,
            deleting: p.has(F_DELETING),
            revision_hash: s.resolve_opt(p.hash),
            template_generation: opt_i64(p.template_generation),
            outdated: ds.is_some_and(|ds| !self.pod_updated(p, ds)),
        }
    }

    /// One cell. Unknown ids read as an empty not-eligible cell. O(k).
    pub fn cell(&self, node: NodeId, ds: DsId) -> CellView<'_> {
        let empty = CellView { state: CellState::NotEligible, pod: None, pods: 0, not_eligible: None };
        let (Some(Some(rec)), Some(Some(_))) = (self.dss.get(ds.0 as usize), self.nodes.get(node.0 as usize)) else {
            return empty;
        };
        let Some(cell) = rec.cells.get(node.0 as usize) else { return empty };
        CellView {
            state: cell.state,
            pod: self.worst_pod(cell.head).map(|i| self.pod_view(i, Some(rec))),
            pods: u32::from(cell.npods),
            not_eligible: self.reasons.get(cell.reason as usize).and_then(|r| r.0.as_ref()),
        }
    }

    /// The state of one cell alone (no pod lookup). Unknown ids read as not-eligible. O(1).
    pub fn cell_state(&self, node: NodeId, ds: DsId) -> CellState {
        if self.nodes.get(node.0 as usize).and_then(Option::as_ref).is_none() {
            return CellState::NotEligible;
        }
        self.cell_ref(ds.0, node.0).map_or(CellState::NotEligible, |c| c.state)
    }

    /// Should-run decision of a cell: (should run, may continue running). O(1).
    pub fn cell_decision(&self, node: NodeId, ds: DsId) -> Option<(bool, bool)> {
        let _ = self.nodes.get(node.0 as usize)?.as_ref()?;
        let cell = self.cell_ref(ds.0, node.0)?;
        Some((cell.should_run(), cell.flags & C_KEEP != 0))
    }

    /// All pods in a cell, worst first. O(k log k).
    pub fn cell_pods(&self, node: NodeId, ds: DsId) -> Vec<PodView<'_>> {
        let Some(Some(rec)) = self.dss.get(ds.0 as usize) else { return Vec::new() };
        let Some(cell) = rec.cells.get(node.0 as usize) else { return Vec::new() };
        if self.nodes.get(node.0 as usize).is_none_or(Option::is_none) {
            return Vec::new();
        }
        let mut ids = Vec::new();
        let mut i = cell.head;
        while i != NONE {
            ids.push(i);
            i = self.pods.get(i).next_in_cell;
        }
        ids.sort_by(|&a, &b| {
            let (pa, pb) = (self.pods.get(a), self.pods.get(b));
            (pa.state, std::cmp::Reverse(pa.created), self.pods.name(a)).cmp(&(
                pb.state,
                std::cmp::Reverse(pb.created),
                self.pods.name(b),
            ))
        });
        ids.into_iter().map(|i| self.pod_view(i, Some(rec))).collect()
    }

    /// All daemon pods of a DaemonSet with their node, by node name. O(N + its pods).
    pub fn pods_of(&self, ds: DsId) -> Vec<(NodeId, PodView<'_>)> {
        let mut out = Vec::new();
        if self.dss.get(ds.0 as usize).is_none_or(Option::is_none) {
            return out;
        }
        for &n in self.node_sorted.values() {
            for p in self.cell_pods(NodeId(n), ds) {
                out.push((NodeId(n), p));
            }
        }
        out
    }

    /// ControllerRevisions owned by a DaemonSet, newest first. O(r log r).
    pub fn revisions(&self, ds: DsId) -> Vec<RevView<'_>> {
        let Some(Some(rec)) = self.dss.get(ds.0 as usize) else { return Vec::new() };
        let Some(names) = self.revs_by_owner.get(&(rec.info.namespace.clone(), rec.info.name.clone())) else {
            return Vec::new();
        };
        let mut out: Vec<RevView<'_>> = names
            .iter()
            .filter_map(|n| self.revs.get(&(rec.info.namespace.clone(), n.clone())))
            .map(|r| RevView {
                name: &r.info.name,
                revision: r.info.revision,
                hash: &r.info.hash,
                created: r.info.created,
                change_cause: r.info.change_cause.as_deref(),
                images: &r.info.images,
            })
            .collect();
        out.sort_by(|a, b| (b.revision, b.name).cmp(&(a.revision, a.name)));
        out
    }

    /// O(1).
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// O(1).
    pub fn stream_state(&self, kind: StreamKind) -> &StreamState {
        &self.streams[kind_idx(kind)].state
    }

    /// Objects of `kind` left out because they did not decode, with the decoder's error. O(1).
    pub fn undecodable(&self, kind: StreamKind) -> &BTreeMap<ObjKey, String> {
        &self.streams[kind_idx(kind)].undecodable
    }

    /// Unix seconds of the last event received on any stream: the latest `at` of a `Stream`
    /// event or `now` given to [`Index::apply_at`]. O(1).
    pub fn last_event_at(&self) -> Option<Secs> {
        self.last_event_at
    }

    /// True once every stream has finished its first list (or failed). O(1).
    pub fn synced(&self) -> bool {
        StreamKind::ALL.iter().all(|&k| self.streams[kind_idx(k)].listed)
    }

    /// How far `kind`'s list got while it runs: (listed, estimated total). The total is the
    /// server's count when it reports one; for daemon pods, which are listed with a selector
    /// (no count), the DaemonSets' own `currentNumberScheduled + numberMisscheduled` once they
    /// are listed. O(1), O(D) for pods.
    pub fn sync_progress(&self, kind: StreamKind) -> Option<(u64, Option<u64>)> {
        let (listed, remaining) = self.streams[kind_idx(kind)].progress?;
        let total = match (remaining, kind) {
            (Some(r), _) => Some(listed + r),
            (None, StreamKind::Pods) if self.listed(StreamKind::DaemonSets) => Some(
                self.dss
                    .iter()
                    .flatten()
                    .map(|d| (d.info.status.current.max(0) + d.info.status.misscheduled.max(0)) as u64)
                    .sum::<u64>()
                    .max(listed),
            ),
            _ => None,
        };
        Some((listed, total))
    }

    /// Has `kind`'s stream finished its first list (or failed for good)? O(1).
    pub fn listed(&self, kind: StreamKind) -> bool {
        self.streams[kind_idx(kind)].listed
    }

    /// Daemon pods held that are in no cell: their node or DaemonSet is not (yet) known, or they
    /// name neither. O(1).
    pub fn unplaced_pods(&self) -> u32 {
        self.summary.pods - self.placed
    }

    /// Approximate heap bytes held by the index (for the benchmark's bytes-per-pod figure):
    /// every allocation's requested size rounded as glibc malloc rounds it, maps by their bucket
    /// arrays. O(N + D + strings).
    pub fn heap_bytes(&self) -> usize {
        self.heap_report().iter().map(|(_, b)| b).sum()
    }

    /// [`Index::heap_bytes`] by part, for the benchmark. O(N + D + strings).
    pub fn heap_report(&self) -> Vec<(&'static str, usize)> {
        let node_bytes: usize = self
            .nodes
            .iter()
            .flatten()
            .map(|n| {
                let i = &n.info;
                let labels: usize = i.labels.iter().map(|(k, v)| string_bytes(k) + string_bytes(v)).sum::<usize>()
                    + btree_bytes(i.labels.len(), 48);
                let taints: usize = vec_bytes(i.taints.capacity(), std::mem::size_of::<Taint>())
                    + i.taints.iter().map(|t| string_bytes(&t.key) + string_bytes(&t.value)).sum::<usize>();
                let pressures: usize =
                    vec_bytes(i.pressures.capacity(), 24) + i.pressures.iter().map(|p| string_bytes(p)).sum::<usize>();
                string_bytes(&i.name) + labels + taints + pressures + string_bytes(&i.kubelet_version)
            })
            .sum::<usize>()
            + vec_bytes(self.nodes.capacity(), std::mem::size_of::<Option<NodeRec>>())
            + self.node_sorted.keys().map(|k| string_bytes(k)).sum::<usize>()
            + btree_bytes(self.node_sorted.len(), 28)
            + hashmap_bytes(self.node_by_sym.capacity(), 8)
            + vec_bytes(self.node_free.capacity(), 4);
        let ds_bytes: usize = self
            .dss
            .iter()
            .flatten()
            .map(|d| {
                // The DaemonSet projection itself: a few hundred bytes each, 30 of them.
                let i = &d.info;
                let strs: usize = [&i.namespace, &i.name, &i.uid, &i.selector].iter().map(|s| string_bytes(s)).sum();
                let lists: usize = [&i.containers, &i.init_containers, &i.images]
                    .iter()
                    .map(|l| vec_bytes(l.capacity(), 24) + l.iter().map(|s| string_bytes(s)).sum::<usize>())
                    .sum();
                strs + lists
                    + 512
                    + vec_bytes(d.tolerations.capacity(), std::mem::size_of::<Toleration>())
                    + vec_bytes(d.cells.capacity(), std::mem::size_of::<Cell>())
            })
            .sum::<usize>()
            + vec_bytes(self.dss.capacity(), std::mem::size_of::<Option<DsRec>>())
            + btree_bytes(self.ds_sorted.len(), 52)
            + hashmap_bytes(self.ds_by_key.capacity(), 12);
        let rev_bytes = self.revs.len() * 256 + hashmap_bytes(self.revs.capacity(), 48 + std::mem::size_of::<RevRec>());
        let wait: usize = self.wait_node.values().map(|s| hashmap_bytes(s.capacity(), 4)).sum::<usize>()
            + self.wait_ds.values().map(|s| hashmap_bytes(s.capacity(), 4)).sum::<usize>()
            + hashmap_bytes(self.wait_node.capacity(), 40)
            + hashmap_bytes(self.wait_ds.capacity(), 40);
        let reasons = vec_bytes(self.reasons.capacity(), std::mem::size_of::<(Option<NotEligible>, u32)>())
            + self.reasons.len() * 64
            + hashmap_bytes(self.reason_ids.capacity(), std::mem::size_of::<(NotEligible, u32)>());
        let (records, names, keys) = self.pods.heap_parts();
        vec![
            ("pod records", records),
            ("pod names", names),
            ("pod key map", keys),
            ("nodes (labels, taints)", node_bytes),
            ("DaemonSets and cells", ds_bytes),
            ("revisions", rev_bytes),
            ("unplaced pod pools", wait),
            ("not-eligible reasons", reasons),
            ("interned strings", self.strings.heap_bytes()),
            ("warning events", self.events.heap_bytes()),
        ]
    }

    // ----- events --------------------------------------------------------------------------

    /// Is the object an event is about in the index, or may it still arrive (its kind's
    /// list has not finished)? Events about other objects (a pod of a Deployment, a node we
    /// never saw) are not kept. O(1) for pods and DaemonSets, O(log N) for nodes.
    fn event_subject_known(&self, kind: Involved, namespace: &str, name: &str) -> bool {
        let (stream, known) = match kind {
            Involved::Pod => (
                StreamKind::Pods,
                self.strings.get(namespace).is_some_and(|ns| self.pods.find(ns, namespace, name).is_some()),
            ),
            Involved::DaemonSet => {
                (StreamKind::DaemonSets, self.ds_sorted.contains_key(&(namespace.to_string(), name.to_string())))
            }
            Involved::Node => (StreamKind::Nodes, self.node_sorted.contains_key(name)),
        };
        known || !self.streams[kind_idx(stream)].listed
    }

    /// O(1) plus [`EventBook::apply`].
    fn apply_event(&mut self, e: EventInfo, mark: bool) -> bool {
        if !self.event_subject_known(e.kind, &e.object_namespace, &e.object_name) {
            // It may have replaced an event we kept (the same Event object, now about…
            // nothing we hold): forget that one.
            return self.events.delete(&e.key());
        }
        self.events.apply(e, mark)
    }

    fn delete_event(&mut self, key: &ObjKey) -> bool {
        self.events.delete(key)
    }

    /// After `kind`'s list finished: drop events about objects of that kind it did not bring.
    fn prune_events(&mut self, kind: StreamKind) -> bool {
        let involved = match kind {
            StreamKind::Pods => Involved::Pod,
            StreamKind::DaemonSets => Involved::DaemonSet,
            StreamKind::Nodes => Involved::Node,
            StreamKind::Revisions | StreamKind::Events => return false,
        };
        let mut events = std::mem::take(&mut self.events);
        let changed = events.retain_subjects(|(k, ns, name)| *k != involved || self.event_subject_known(*k, ns, name));
        self.events = events;
        changed
    }

    /// The kept Warning events about a pod, newest first. O(PER_OBJECT).
    pub fn pod_events(&self, namespace: &str, name: &str) -> impl Iterator<Item = &EventRec> + '_ {
        self.events.about(Involved::Pod, namespace, name, None)
    }

    /// The kept Warning events about a DaemonSet (this incarnation of it), newest first.
    pub fn ds_events(&self, ds: DsId) -> impl Iterator<Item = &EventRec> + '_ {
        let rec = self.dss.get(ds.0 as usize).and_then(Option::as_ref);
        let (ns, name, uid) =
            rec.map_or(("", "", ""), |r| (r.info.namespace.as_str(), r.info.name.as_str(), r.info.uid.as_str()));
        self.events.about(Involved::DaemonSet, ns, name, Some(uid)).filter(move |_| rec.is_some())
    }

    /// The kept Warning events about a node, newest first.
    pub fn node_events(&self, name: &str) -> impl Iterator<Item = &EventRec> + '_ {
        self.events.about(Involved::Node, "", name, None)
    }

    /// Warning events kept in all.
    pub fn event_count(&self) -> usize {
        self.events.len()
    }
}
