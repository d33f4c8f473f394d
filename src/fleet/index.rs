//! The fleet index: nodes, DaemonSets, revisions and daemon pods, and the derived cell map
//! (DaemonSet, node) → state. Applied incrementally from [`FleetEvent`]s; read by the UI once
//! per frame through the accessors below. Pure and synchronous: no I/O, no clocks (callers pass
//! `now` where ages matter).
//!
//! API CONTRACT (other modules code against these signatures; keep them stable):
//! - ids are dense and stable while the object lives: [`NodeId`], [`DsId`].
//! - [`Index::apply`] applies one event; [`Index::generation`] changes whenever anything
//!   visible changed (the UI's dirty check).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::intern::{FxBuild, FxHashMap, Interner, Sym, btree_bytes, hashmap_bytes, string_bytes, vec_bytes};
use super::model::{
    Change, DsInfo, DsStatusCounts, FleetEvent, NodeInfo, NodeReadiness, ObjKey, PodInfo, RevInfo, Secs, StreamKind,
    StreamState, UpdateStrategy,
};
use super::pods::{
    F_BOUND, F_DELETING, F_LIVE, F_READY, F_SEEN, F_WAIT_DS, F_WAIT_NODE, NONE, PodRec, PodStore, opt_i64,
};
use super::schedule::{NodeView as SchedNodeView, NotEligible, Taint, Toleration, daemon_tolerations, should_run_with};
use super::state::{CellState, PodFacts, cell_state, pod_state};
use super::summary::Summary;

type FxHashSet<T> = HashSet<T, FxBuild>;

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

impl Cell {
    const EMPTY: Cell = Cell { head: NONE, reason: NONE, npods: 0, state: CellState::NotEligible, flags: 0 };
    fn should_run(&self) -> bool {
        self.flags & C_SHOULD_RUN != 0
    }
}

struct NodeRec {
    info: NodeInfo,
    name_sym: Sym,
    problems: u32,
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
    counts: [u32; 9],
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
}

fn kind_idx(kind: StreamKind) -> usize {
    match kind {
        StreamKind::Nodes => 0,
        StreamKind::DaemonSets => 1,
        StreamKind::Revisions => 2,
        StreamKind::Pods => 3,
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
    streams: [StreamBook; 4],
    last_event_at: Option<Secs>,
    generation: u64,
}

impl Default for Index {
    fn default() -> Self {
        Self::new()
    }
}

impl Index {
    pub fn new() -> Index {
        let book = || StreamBook { state: StreamState::Syncing, listed: false, in_init: false };
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
            streams: [book(), book(), book(), book()],
            last_event_at: None,
            generation: 0,
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
        let changed = match ev {
            FleetEvent::Node(c) => self.change(StreamKind::Nodes, c, Self::apply_node, Self::delete_node),
            FleetEvent::DaemonSet(c) => self.change(StreamKind::DaemonSets, c, Self::apply_ds, Self::delete_ds),
            FleetEvent::Revision(c) => self.change(StreamKind::Revisions, c, Self::apply_rev, Self::delete_rev),
            FleetEvent::Pod(c) => self.change(StreamKind::Pods, c, Self::apply_pod, Self::delete_pod),
            FleetEvent::Stream { kind, state, at } => {
                self.last_event_at = Some(self.last_event_at.map_or(at, |t| t.max(at)));
                let book = &mut self.streams[kind_idx(kind)];
                if matches!(state, StreamState::Failed { .. }) {
                    book.listed = true;
                }
                book.state = state;
                true
            }
        };
        if changed {
            self.generation += 1;
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
            Change::Delete(key) => delete(self, &key),
            Change::InitDone => {
                let swept = if self.streams[k].in_init { self.sweep(kind) } else { false };
                let book = &mut self.streams[k];
                book.in_init = false;
                book.listed = true;
                // A finished list means the stream is live again.
                let was_live = book.state == StreamState::Live;
                book.state = StreamState::Live;
                swept || !was_live
            }
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
        }
        !gone.is_empty()
    }

    // ----- reasons -------------------------------------------------------------------------

    fn intern_reason(&mut self, r: NotEligible) -> u32 {
        if let Some(&id) = self.reason_ids.get(&r) {
            self.reasons[id as usize].1 += 1;
            return id;
        }
        let id = match self.reason_free.pop() {
            Some(id) => {
                self.reasons[id as usize] = (Some(r.clone()), 1);
                id
            }
            None => {
                self.reasons.push((Some(r.clone()), 1));
                (self.reasons.len() - 1) as u32
            }
        };
        self.reason_ids.insert(r, id);
        id
    }

    fn release_reason(&mut self, id: u32) {
        let Some(slot) = self.reasons.get_mut(id as usize) else { return };
        if slot.1 == 0 {
            return;
        }
        slot.1 -= 1;
        if slot.1 == 0 {
            if let Some(r) = slot.0.take() {
                self.reason_ids.remove(&r);
            }
            self.reason_free.push(id);
        }
    }

    // ----- cells and aggregates ------------------------------------------------------------

    fn cell_mut(&mut self, d: u32, n: u32) -> Option<&mut Cell> {
        self.dss.get_mut(d as usize)?.as_mut()?.cells.get_mut(n as usize)
    }

    fn cell_ref(&self, d: u32, n: u32) -> Option<&Cell> {
        self.dss.get(d as usize)?.as_ref()?.cells.get(n as usize)
    }

    /// Add (`sign` = true) or subtract the cell's state and desired flag to/from its column,
    /// its row and the summary. O(1).
    fn count(&mut self, d: u32, n: u32, add: bool) {
        let Some(cell) = self.cell_ref(d, n).copied() else { return };
        if (cell.flags & C_COUNTED != 0) == add {
            return;
        }
        let apply = |v: &mut u32| {
            if add {
                *v += 1;
            } else {
                *v -= 1;
            }
        };
        let s = cell.state.idx();
        if let Some(Some(ds)) = self.dss.get_mut(d as usize) {
            apply(&mut ds.counts[s]);
            if cell.should_run() {
                apply(&mut ds.desired);
            }
            if let Some(c) = ds.cells.get_mut(n as usize) {
                c.flags = if add { c.flags | C_COUNTED } else { c.flags & !C_COUNTED };
            }
        }
        apply(&mut self.summary.cells[s]);
        if cell.state.is_problem()
            && let Some(Some(node)) = self.nodes.get_mut(n as usize)
        {
            apply(&mut node.problems);
        }
    }

    /// The worst pod of a cell and its state: the earliest state in the precedence, then the
    /// newest, then by name, so the choice never depends on the order events arrived in. O(k).
    fn worst_pod(&self, head: u32) -> Option<u32> {
        let mut best: Option<u32> = None;
        let mut i = head;
        while i != NONE {
            let p = self.pods.get(i);
            best = match best {
                None => Some(i),
                Some(b) => {
                    let q = self.pods.get(b);
                    let key_p = (p.state, std::cmp::Reverse(p.created), self.pods.name(i));
                    let key_q = (q.state, std::cmp::Reverse(q.created), self.pods.name(b));
                    if key_p < key_q { Some(i) } else { Some(b) }
                }
            };
            i = p.next_in_cell;
        }
        best
    }

    /// Recompute a cell's state from its decision and pods, keeping the aggregates exact by
    /// subtracting the old state and adding the new. O(k).
    fn refresh_cell(&mut self, d: u32, n: u32) {
        let Some(cell) = self.cell_ref(d, n).copied() else { return };
        let mut states = Vec::with_capacity(usize::from(cell.npods));
        let mut i = cell.head;
        while i != NONE {
            let p = self.pods.get(i);
            states.push(p.state);
            i = p.next_in_cell;
        }
        let new = cell_state(cell.should_run(), states);
        if new == cell.state && cell.flags & C_COUNTED != 0 {
            return;
        }
        self.count(d, n, false);
        if let Some(c) = self.cell_mut(d, n) {
            c.state = new;
        }
        self.count(d, n, true);
    }

    /// Evaluate the should-run predicate for one cell (`NodeShouldRunDaemonPod`) and refresh
    /// it. O(predicate) = O(selector + terms + taints × tolerations).
    fn eval_cell(&mut self, d: u32, n: u32) {
        let decision = {
            let (Some(Some(node)), Some(Some(ds))) = (self.nodes.get(n as usize), self.dss.get(d as usize)) else {
                return;
            };
            let view = SchedNodeView { name: &node.info.name, labels: &node.info.labels, taints: &node.info.taints };
            should_run_with(&view, &ds.info.sched, &ds.tolerations)
        };
        let reason = decision.reason.map_or(NONE, |r| self.intern_reason(r));
        self.count(d, n, false);
        let Some(cell) = self.cell_mut(d, n) else { return };
        let old_reason = cell.reason;
        cell.reason = reason;
        let mut flags = cell.flags & C_COUNTED;
        if decision.should_run {
            flags |= C_SHOULD_RUN;
        }
        if decision.should_continue_running {
            flags |= C_KEEP;
        }
        cell.flags = flags;
        if old_reason != NONE {
            self.release_reason(old_reason);
        }
        self.refresh_cell(d, n);
    }

    /// The state of pod `i` in DaemonSet `d` ([`pod_state`]). O(1).
    fn compute_pod_state(&self, i: u32, d: u32) -> CellState {
        let p = self.pods.get(i);
        let Some(Some(ds)) = self.dss.get(d as usize) else { return CellState::Pending };
        pod_state(&PodFacts {
            phase: p.phase,
            reason: self.strings.resolve(p.reason),
            ready: p.has(F_READY),
            deleting: p.has(F_DELETING),
            updated: self.pod_updated(p, ds),
        })
    }

    /// `util.IsPodUpdated` on interned symbols: equal strings have equal symbols.
    fn pod_updated(&self, p: &PodRec, ds: &DsRec) -> bool {
        let hash_matches = matches!(ds.newest, Some((_, h)) if h.is_some() && h == p.hash);
        hash_matches || opt_i64(p.template_generation) == Some(ds.info.generation)
    }

    // ----- pods ----------------------------------------------------------------------------

    /// Where pod `i` belongs: its DaemonSet slot and node slot when both are known.
    fn locate(&self, i: u32) -> (Option<u32>, Option<u32>) {
        let p = self.pods.get(i);
        let ds = if p.owner.is_some() { self.ds_by_key.get(&pair(p.ns, p.owner)).copied() } else { None };
        let node = if p.node.is_some() { self.node_by_sym.get(&p.node).copied() } else { None };
        (ds, node)
    }

    /// Put pod `i` in its cell, or in the pools of pods waiting for their node / DaemonSet.
    /// O(k).
    fn place(&mut self, i: u32) {
        let (ds, node) = self.locate(i);
        let (ns, owner, node_sym) = {
            let p = self.pods.get(i);
            (p.ns, p.owner, p.node)
        };
        if owner.is_some() && ds.is_none() {
            self.wait_ds.entry(pair(ns, owner)).or_default().insert(i);
            self.pods.get_mut(i).set(F_WAIT_DS, true);
        }
        if node_sym.is_some() && node.is_none() {
            self.wait_node.entry(node_sym).or_default().insert(i);
            self.pods.get_mut(i).set(F_WAIT_NODE, true);
        }
        if let (Some(d), Some(n)) = (ds, node) {
            self.attach(i, d, n);
        }
    }

    /// Link pod `i` into cell (d, n). O(k).
    fn attach(&mut self, i: u32, d: u32, n: u32) {
        let state = self.compute_pod_state(i, d);
        let Some(cell) = self.cell_mut(d, n) else { return };
        let head = cell.head;
        cell.head = i;
        cell.npods = cell.npods.saturating_add(1);
        let p = self.pods.get_mut(i);
        p.next_in_cell = head;
        p.ds = d;
        p.node_id = n;
        p.state = state;
        self.placed += 1;
        self.refresh_cell(d, n);
    }

    /// Unlink pod `i` from its cell without touching the pools; returns the cell. O(k).
    fn unlink(&mut self, i: u32) -> Option<(u32, u32)> {
        let (d, n, next) = {
            let p = self.pods.get(i);
            if !p.attached() {
                return None;
            }
            (p.ds, p.node_id, p.next_in_cell)
        };
        let head = self.cell_ref(d, n)?.head;
        if head == i {
            if let Some(c) = self.cell_mut(d, n) {
                c.head = next;
            }
        } else {
            let mut j = head;
            while j != NONE {
                if self.pods.get(j).next_in_cell == i {
                    self.pods.get_mut(j).next_in_cell = next;
                    break;
                }
                j = self.pods.get(j).next_in_cell;
            }
        }
        if let Some(c) = self.cell_mut(d, n) {
            c.npods = c.npods.saturating_sub(1);
        }
        let p = self.pods.get_mut(i);
        p.next_in_cell = NONE;
        p.ds = NONE;
        p.node_id = NONE;
        self.placed -= 1;
        Some((d, n))
    }

    /// Take pod `i` out of its cell (refreshing it) and out of the waiting pools. O(k).
    fn unplace(&mut self, i: u32) {
        if let Some((d, n)) = self.unlink(i) {
            self.refresh_cell(d, n);
        }
        let (ns, owner, node, flags) = {
            let p = self.pods.get(i);
            (p.ns, p.owner, p.node, p.flags)
        };
        if flags & F_WAIT_DS != 0 {
            let key = pair(ns, owner);
            if let Some(set) = self.wait_ds.get_mut(&key) {
                set.remove(&i);
                if set.is_empty() {
                    self.wait_ds.remove(&key);
                }
            }
        }
        if flags & F_WAIT_NODE != 0
            && let Some(set) = self.wait_node.get_mut(&node)
        {
            set.remove(&i);
            if set.is_empty() {
                self.wait_node.remove(&node);
            }
        }
        let p = self.pods.get_mut(i);
        p.set(F_WAIT_DS, false);
        p.set(F_WAIT_NODE, false);
    }

    /// Does the stored pod already equal this projection? Then an Apply changes nothing.
    fn pod_equals(&self, i: u32, info: &PodInfo) -> bool {
        let p = self.pods.get(i);
        let s = &self.strings;
        p.created == info.created
            && opt_i64(p.last_restart) == info.last_restart
            && opt_i64(p.template_generation) == info.template_generation
            && s.resolve_opt(p.owner) == info.owner.as_deref().filter(|x| !x.is_empty())
            && s.resolve_opt(p.node) == info.node.as_deref().filter(|x| !x.is_empty())
            && s.resolve_opt(p.hash) == info.revision_hash.as_deref().filter(|x| !x.is_empty())
            && s.resolve_opt(p.reason) == Some(info.reason.as_str()).filter(|x| !x.is_empty())
            && s.resolve_opt(p.last_term) == info.last_termination.as_deref().filter(|x| !x.is_empty())
            && p.restarts == info.restarts
            && p.containers_ready == info.containers_ready
            && p.containers_total == info.containers_total
            && p.phase == info.phase
            && p.has(F_BOUND) == info.bound
            && p.has(F_DELETING) == info.deleting
            && p.has(F_READY) == info.ready
    }

    /// Add or modify a pod. O(k) (hash lookups, string compares of its few interned fields).
    fn apply_pod(&mut self, info: PodInfo, mark: bool) -> bool {
        let existing = self.strings.get(&info.namespace).and_then(|ns| self.pods.find(ns, &info.namespace, &info.name));
        let i = match existing {
            Some(i) => {
                if mark {
                    self.pods.get_mut(i).set(F_SEEN, true);
                }
                if self.pod_equals(i, &info) {
                    return false;
                }
                let p = self.pods.get(i);
                let moves = self.strings.resolve_opt(p.owner) != info.owner.as_deref().filter(|x| !x.is_empty())
                    || self.strings.resolve_opt(p.node) != info.node.as_deref().filter(|x| !x.is_empty());
                if moves {
                    self.unplace(i);
                }
                self.fill_pod(i, &info);
                if moves {
                    self.place(i);
                } else {
                    let (d, n) = (self.pods.get(i).ds, self.pods.get(i).node_id);
                    if d != NONE {
                        let st = self.compute_pod_state(i, d);
                        self.pods.get_mut(i).state = st;
                        self.refresh_cell(d, n);
                    }
                }
                return true;
            }
            None => {
                let ns = self.strings.intern(&info.namespace);
                self.pods.insert(ns, &info.namespace, &info.name)
            }
        };
        if mark {
            self.pods.get_mut(i).set(F_SEEN, true);
        }
        self.fill_pod(i, &info);
        self.summary.pods += 1;
        self.place(i);
        true
    }

    /// Copy a projection's fields into record `i`, interning its strings. O(1).
    fn fill_pod(&mut self, i: u32, info: &PodInfo) {
        let mut p = self.pods.get(i).clone();
        let st = &mut self.strings;
        st.update(&mut p.owner, info.owner.as_deref());
        st.update(&mut p.node, info.node.as_deref());
        st.update(&mut p.hash, info.revision_hash.as_deref());
        st.update(&mut p.reason, Some(&info.reason));
        st.update(&mut p.last_term, info.last_termination.as_deref());
        p.created = info.created;
        p.last_restart = info.last_restart.unwrap_or(i64::MIN);
        p.template_generation = info.template_generation.unwrap_or(i64::MIN);
        p.restarts = info.restarts;
        p.containers_ready = info.containers_ready;
        p.containers_total = info.containers_total;
        p.phase = info.phase;
        p.set(F_BOUND, info.bound);
        p.set(F_DELETING, info.deleting);
        p.set(F_READY, info.ready);
        *self.pods.get_mut(i) = p;
    }

    /// Delete a pod; an unknown key is a no-op. O(k).
    fn delete_pod(&mut self, key: &ObjKey) -> bool {
        let Some(ns) = self.strings.get(&key.namespace) else { return false };
        let Some(i) = self.pods.find(ns, &key.namespace, &key.name) else { return false };
        self.remove_pod(i);
        true
    }

    fn remove_pod(&mut self, i: u32) {
        self.unplace(i);
        let p = self.pods.get(i).clone();
        let ns_str = self.strings.resolve(p.ns).to_string();
        self.pods.remove(i, &ns_str);
        for s in [p.ns, p.owner, p.node, p.hash, p.reason, p.last_term] {
            self.strings.release(s);
        }
        self.summary.pods -= 1;
    }

    // ----- nodes ---------------------------------------------------------------------------

    /// Add or modify a node. New node: O(D) predicates plus its waiting pods. Modified node:
    /// O(D) predicates only when labels or taints changed (the only inputs of the predicate a
    /// node has), else O(1).
    fn apply_node(&mut self, info: NodeInfo, mark: bool) -> bool {
        if let Some(&n) = self.node_sorted.get(&info.name) {
            let Some(Some(node)) = self.nodes.get_mut(n as usize) else { return false };
            if mark {
                node.seen = true;
            }
            if node.info == info {
                return false;
            }
            let reeval = node.info.labels != info.labels || node.info.taints != info.taints;
            self.count_node(n, false);
            if let Some(Some(node)) = self.nodes.get_mut(n as usize) {
                node.info = info;
            }
            self.count_node(n, true);
            if reeval {
                for d in 0..self.dss.len() as u32 {
                    self.eval_cell(d, n);
                }
            }
            return true;
        }
        let name_sym = self.strings.intern(&info.name);
        let rec = NodeRec { info, name_sym, problems: 0, seen: mark };
        let n = match self.node_free.pop() {
            Some(n) => {
                self.nodes[n as usize] = Some(rec);
                n
            }
            None => {
                self.nodes.push(Some(rec));
                self.node_slots = self.nodes.len() as u32;
                for ds in self.dss.iter_mut().flatten() {
                    ds.cells.resize(self.nodes.len(), Cell::EMPTY);
                }
                (self.nodes.len() - 1) as u32
            }
        };
        if let Some(Some(node)) = self.nodes.get(n as usize) {
            self.node_sorted.insert(node.info.name.clone(), n);
        }
        self.node_by_sym.insert(name_sym, n);
        self.count_node(n, true);
        for d in 0..self.dss.len() as u32 {
            if self.dss[d as usize].is_some() {
                if let Some(c) = self.cell_mut(d, n) {
                    *c = Cell::EMPTY;
                }
                self.eval_cell(d, n);
            }
        }
        // Pods that arrived before their node join their cells now.
        if let Some(waiting) = self.wait_node.remove(&name_sym) {
            let mut waiting: Vec<u32> = waiting.into_iter().collect();
            waiting.sort_unstable();
            for i in waiting {
                self.pods.get_mut(i).set(F_WAIT_NODE, false);
                if !self.pods.get(i).has(F_WAIT_DS)
                    && let (Some(d), Some(n)) = self.locate(i)
                {
                    self.attach(i, d, n);
                }
            }
        }
        true
    }

    fn count_node(&mut self, n: u32, add: bool) {
        let Some(Some(node)) = self.nodes.get(n as usize) else { return };
        let (ready, cordoned) = (node.info.readiness == NodeReadiness::Ready, node.info.unschedulable);
        let s = &mut self.summary;
        let apply = |v: &mut u32, on: bool| {
            if on {
                if add {
                    *v += 1;
                } else {
                    *v -= 1;
                }
            }
        };
        apply(&mut s.nodes, true);
        apply(&mut s.nodes_ready, ready);
        apply(&mut s.nodes_cordoned, cordoned);
    }

    /// Delete a node: its row leaves the aggregates and its pods wait for a node of that name.
    /// O(D + pods on it). An unknown name is a no-op.
    fn delete_node(&mut self, key: &ObjKey) -> bool {
        let Some(n) = self.node_sorted.remove(&key.name) else { return false };
        let name_sym = match self.nodes.get(n as usize) {
            Some(Some(node)) => node.name_sym,
            _ => return false,
        };
        for d in 0..self.dss.len() as u32 {
            self.clear_cell(d, n, true);
        }
        self.count_node(n, false);
        self.node_by_sym.remove(&name_sym);
        self.nodes[n as usize] = None;
        self.node_free.push(n);
        self.strings.release(name_sym);
        true
    }

    /// Remove a cell from the aggregates and send its pods to the pool of those waiting for
    /// their node (`to_node_pool`) or their DaemonSet. O(k).
    fn clear_cell(&mut self, d: u32, n: u32, to_node_pool: bool) {
        let Some(cell) = self.cell_ref(d, n).copied() else { return };
        self.count(d, n, false);
        let mut i = cell.head;
        while i != NONE {
            let p = self.pods.get_mut(i);
            let next = p.next_in_cell;
            p.next_in_cell = NONE;
            p.ds = NONE;
            p.node_id = NONE;
            self.placed -= 1;
            let (ns, owner, node) = (p.ns, p.owner, p.node);
            if to_node_pool {
                p.set(F_WAIT_NODE, true);
                self.wait_node.entry(node).or_default().insert(i);
            } else {
                p.set(F_WAIT_DS, true);
                self.wait_ds.entry(pair(ns, owner)).or_default().insert(i);
            }
            i = next;
        }
        if cell.reason != NONE {
            self.release_reason(cell.reason);
        }
        if let Some(c) = self.cell_mut(d, n) {
            *c = Cell::EMPTY;
        }
    }

    // ----- DaemonSets ----------------------------------------------------------------------

    /// Newest ControllerRevision owned by (ns, name): highest `revision`, then name. O(r).
    fn newest_of(&self, ns: &str, name: &str) -> Option<(i64, &str)> {
        let names = self.revs_by_owner.get(&(ns.to_string(), name.to_string()))?;
        names
            .iter()
            .filter_map(|rn| self.revs.get(&(ns.to_string(), rn.clone())))
            .map(|r| (r.info.revision, r.info.name.as_str(), r.info.hash.as_str()))
            .max_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)))
            .map(|(rev, _, hash)| (rev, hash))
    }

    /// Recompute a DaemonSet's newest revision; when it changed, recompute its pods' states.
    /// O(r), plus O(N) when it changed.
    fn refresh_newest(&mut self, d: u32) -> bool {
        let Some(Some(ds)) = self.dss.get(d as usize) else { return false };
        let found = self.newest_of(&ds.info.namespace, &ds.info.name).map(|(r, h)| (r, h.to_string()));
        let current = ds.newest.map(|(r, h)| (r, self.strings.resolve(h).to_string()));
        if found == current {
            return false;
        }
        let new = found.map(|(r, h)| (r, self.strings.intern_opt(Some(&h))));
        let old = match self.dss.get_mut(d as usize) {
            Some(Some(ds)) => std::mem::replace(&mut ds.newest, new),
            _ => None,
        };
        if let Some((_, h)) = old {
            self.strings.release(h);
        }
        self.restate_column(d);
        true
    }

    /// Recompute the state of every pod in a column (after a generation or revision change).
    /// O(N + pods in the column).
    fn restate_column(&mut self, d: u32) {
        for n in 0..self.node_slots {
            let Some(cell) = self.cell_ref(d, n).copied() else { continue };
            if cell.head == NONE {
                continue;
            }
            let mut i = cell.head;
            while i != NONE {
                let st = self.compute_pod_state(i, d);
                let p = self.pods.get_mut(i);
                p.state = st;
                i = p.next_in_cell;
            }
            self.refresh_cell(d, n);
        }
    }

    /// Add or modify a DaemonSet. New: O(N) predicates plus its waiting pods. Modified: O(N)
    /// predicates when the scheduling fields changed, O(N) state refresh when the generation
    /// changed, else O(1).
    fn apply_ds(&mut self, info: DsInfo, mark: bool) -> bool {
        let key = (info.namespace.clone(), info.name.clone());
        if let Some(&d) = self.ds_sorted.get(&key) {
            let Some(Some(ds)) = self.dss.get_mut(d as usize) else { return false };
            if mark {
                ds.seen = true;
            }
            if ds.info == info {
                return false;
            }
            let resched = ds.info.sched != info.sched;
            let regen = ds.info.generation != info.generation;
            if resched {
                ds.tolerations = daemon_tolerations(&info.sched);
            }
            ds.info = info;
            if resched {
                for n in 0..self.node_slots {
                    self.eval_cell(d, n);
                }
            }
            if regen {
                self.restate_column(d);
            }
            return true;
        }
        let ns = self.strings.intern(&info.namespace);
        let name_sym = self.strings.intern(&info.name);
        let rec = DsRec {
            tolerations: daemon_tolerations(&info.sched),
            info,
            ns,
            name_sym,
            newest: None,
            counts: [0; 9],
            desired: 0,
            cells: vec![Cell::EMPTY; self.node_slots as usize],
            seen: mark,
        };
        let d = match self.ds_free.pop() {
            Some(d) => {
                self.dss[d as usize] = Some(rec);
                d
            }
            None => {
                self.dss.push(Some(rec));
                (self.dss.len() - 1) as u32
            }
        };
        self.ds_sorted.insert(key, d);
        self.ds_by_key.insert(pair(ns, name_sym), d);
        self.summary.daemonsets += 1;
        // The newest revision first, so the pods that join below get their final state.
        if let Some(Some(ds)) = self.dss.get(d as usize)
            && let Some((r, h)) = self.newest_of(&ds.info.namespace, &ds.info.name).map(|(r, h)| (r, h.to_string()))
        {
            let h = self.strings.intern_opt(Some(&h));
            if let Some(Some(ds)) = self.dss.get_mut(d as usize) {
                ds.newest = Some((r, h));
            }
        }
        for n in 0..self.node_slots {
            if self.nodes[n as usize].is_some() {
                self.eval_cell(d, n);
            }
        }
        if let Some(waiting) = self.wait_ds.remove(&pair(ns, name_sym)) {
            let mut waiting: Vec<u32> = waiting.into_iter().collect();
            waiting.sort_unstable();
            for i in waiting {
                self.pods.get_mut(i).set(F_WAIT_DS, false);
                if !self.pods.get(i).has(F_WAIT_NODE)
                    && let (Some(d), Some(n)) = self.locate(i)
                {
                    self.attach(i, d, n);
                }
            }
        }
        true
    }

    /// Delete a DaemonSet: its column leaves the aggregates, its pods wait in the pool. O(N +
    /// its pods). An unknown key is a no-op.
    fn delete_ds(&mut self, key: &ObjKey) -> bool {
        let Some(d) = self.ds_sorted.remove(&(key.namespace.clone(), key.name.clone())) else { return false };
        for n in 0..self.node_slots {
            self.clear_cell(d, n, false);
        }
        let Some(rec) = self.dss.get_mut(d as usize).and_then(Option::take) else { return true };
        self.ds_by_key.remove(&pair(rec.ns, rec.name_sym));
        self.strings.release(rec.ns);
        self.strings.release(rec.name_sym);
        if let Some((_, h)) = rec.newest {
            self.strings.release(h);
        }
        self.ds_free.push(d);
        self.summary.daemonsets -= 1;
        true
    }

    // ----- revisions -----------------------------------------------------------------------

    fn owner_ds(&self, ns: &str, owner: Option<&str>) -> Option<u32> {
        self.ds_sorted.get(&(ns.to_string(), owner?.to_string())).copied()
    }

    /// Add or modify a ControllerRevision. O(r), plus O(N) when its owner's newest hash changed.
    fn apply_rev(&mut self, info: RevInfo, mark: bool) -> bool {
        let key = (info.namespace.clone(), info.name.clone());
        let old_owner = match self.revs.get_mut(&key) {
            Some(r) => {
                if mark {
                    r.seen = true;
                }
                if r.info == info {
                    return false;
                }
                r.info.owner.clone()
            }
            None => None,
        };
        if let Some(o) = &old_owner
            && Some(o) != info.owner.as_ref()
        {
            self.unindex_rev(&info.namespace, o, &info.name);
        }
        if let Some(o) = &info.owner {
            self.revs_by_owner.entry((info.namespace.clone(), o.clone())).or_default().insert(info.name.clone());
        }
        let (ns, new_owner) = (info.namespace.clone(), info.owner.clone());
        let seen = mark || self.revs.get(&key).is_some_and(|r| r.seen);
        self.revs.insert(key, RevRec { info, seen });
        for owner in [old_owner, new_owner].iter().flatten() {
            if let Some(d) = self.owner_ds(&ns, Some(owner)) {
                self.refresh_newest(d);
            }
        }
        true
    }

    fn unindex_rev(&mut self, ns: &str, owner: &str, name: &str) {
        let k = (ns.to_string(), owner.to_string());
        if let Some(set) = self.revs_by_owner.get_mut(&k) {
            set.remove(name);
            if set.is_empty() {
                self.revs_by_owner.remove(&k);
            }
        }
    }

    fn delete_rev(&mut self, key: &ObjKey) -> bool {
        let Some(r) = self.revs.remove(&(key.namespace.clone(), key.name.clone())) else { return false };
        if let Some(o) = &r.info.owner {
            self.unindex_rev(&key.namespace, o, &key.name);
            if let Some(d) = self.owner_ds(&key.namespace, Some(o)) {
                self.refresh_newest(d);
            }
        }
        true
    }

    // ----- read API ------------------------------------------------------------------------

    /// Changes whenever anything visible changed. O(1).
    pub fn generation(&self) -> u64 {
        self.generation
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

    /// Unix seconds of the last event received on any stream: the latest `at` of a `Stream`
    /// event or `now` given to [`Index::apply_at`]. O(1).
    pub fn last_event_at(&self) -> Option<Secs> {
        self.last_event_at
    }

    /// True once every stream has finished its first list (or failed). O(1).
    pub fn synced(&self) -> bool {
        self.streams.iter().all(|b| b.listed)
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
        self.strings.heap_bytes() + self.pods.heap_bytes() + node_bytes + ds_bytes + rev_bytes + wait + reasons
    }
}

impl Index {
    /// Recount everything from scratch and compare with the incremental state: every cell's
    /// decision (the predicate re-run), pod chains and states, the column/row/global
    /// aggregates, the waiting pools, interned string and reason holders, newest revisions.
    /// O(N·D + P). For tests and debug assertions; `Err` describes the first mismatch.
    pub fn recount_check(&self) -> Result<(), String> {
        let mut summary = Summary::default();
        let mut problems: HashMap<u32, u32> = HashMap::new();
        let mut sym_holders: HashMap<Sym, u32> = HashMap::new();
        let mut reason_holders: HashMap<u32, u32> = HashMap::new();
        let mut hold = |s: Sym| {
            if s.is_some() {
                *sym_holders.entry(s).or_default() += 1;
            }
        };
        let mut attached = 0u32;
        for (n, node) in self.nodes.iter().enumerate() {
            let Some(node) = node else { continue };
            summary.nodes += 1;
            summary.nodes_ready += u32::from(node.info.readiness == NodeReadiness::Ready);
            summary.nodes_cordoned += u32::from(node.info.unschedulable);
            hold(node.name_sym);
            if self.node_sorted.get(&node.info.name) != Some(&(n as u32))
                || self.node_by_sym.get(&node.name_sym) != Some(&(n as u32))
            {
                return Err(format!("node {} is not indexed by name", node.info.name));
            }
        }
        for (d, ds) in self.dss.iter().enumerate() {
            let Some(ds) = ds else { continue };
            let d = d as u32;
            summary.daemonsets += 1;
            hold(ds.ns);
            hold(ds.name_sym);
            let name = format!("{}/{}", ds.info.namespace, ds.info.name);
            let newest = self.newest_of(&ds.info.namespace, &ds.info.name);
            let have = ds.newest.map(|(r, h)| (r, self.strings.resolve(h)));
            if newest != have {
                return Err(format!("{name}: newest revision {have:?}, expected {newest:?}"));
            }
            if let Some((_, h)) = ds.newest {
                hold(h);
            }
            if ds.tolerations != daemon_tolerations(&ds.info.sched) {
                return Err(format!("{name}: stale tolerations"));
            }
            let mut counts = [0u32; 9];
            let mut desired = 0;
            for (n, node) in self.nodes.iter().enumerate() {
                let Some(node) = node else { continue };
                let cell = ds.cells.get(n).copied().ok_or_else(|| format!("{name}: column too short"))?;
                let at = format!("cell ({}, {name})", node.info.name);
                let view =
                    SchedNodeView { name: &node.info.name, labels: &node.info.labels, taints: &node.info.taints };
                let dec = should_run_with(&view, &ds.info.sched, &ds.tolerations);
                if dec.should_run != cell.should_run() || dec.should_continue_running != (cell.flags & C_KEEP != 0) {
                    return Err(format!("{at}: stale decision"));
                }
                let reason = self.reasons.get(cell.reason as usize).and_then(|r| r.0.as_ref());
                if reason != dec.reason.as_ref() {
                    return Err(format!("{at}: reason {reason:?}, expected {:?}", dec.reason));
                }
                if cell.reason != NONE {
                    *reason_holders.entry(cell.reason).or_default() += 1;
                }
                let mut states = Vec::new();
                let mut i = cell.head;
                while i != NONE {
                    let p = self.pods.get(i);
                    if !p.has(F_LIVE) || p.ds != d || p.node_id != n as u32 {
                        return Err(format!("{at}: pod {} linked in the wrong cell", self.pods.name(i)));
                    }
                    if self.locate(i) != (Some(d), Some(n as u32)) {
                        return Err(format!("{at}: pod {} does not belong here", self.pods.name(i)));
                    }
                    if p.state != self.compute_pod_state(i, d) {
                        return Err(format!("{at}: pod {} has a stale state", self.pods.name(i)));
                    }
                    states.push(p.state);
                    i = p.next_in_cell;
                }
                attached += states.len() as u32;
                if states.len() != usize::from(cell.npods) {
                    return Err(format!("{at}: npods {} but {} linked", cell.npods, states.len()));
                }
                let state = cell_state(dec.should_run, states);
                if state != cell.state || cell.flags & C_COUNTED == 0 {
                    return Err(format!("{at}: state {:?}, expected {state:?}", cell.state));
                }
                counts[state.idx()] += 1;
                summary.cells[state.idx()] += 1;
                desired += u32::from(dec.should_run);
                if state.is_problem() {
                    *problems.entry(n as u32).or_default() += 1;
                }
            }
            if counts != ds.counts || desired != ds.desired {
                return Err(format!("{name}: counts {:?}/{} expected {counts:?}/{desired}", ds.counts, ds.desired));
            }
        }
        for (n, node) in self.nodes.iter().enumerate() {
            if let Some(node) = node {
                let want = problems.get(&(n as u32)).copied().unwrap_or(0);
                if node.problems != want {
                    return Err(format!("node {}: problems {} expected {want}", node.info.name, node.problems));
                }
            }
        }
        let mut live = 0u32;
        for i in 0..self.pods.slots() {
            let p = self.pods.get(i);
            if !p.has(F_LIVE) {
                continue;
            }
            live += 1;
            for s in [p.ns, p.owner, p.node, p.hash, p.reason, p.last_term] {
                hold(s);
            }
            let name = self.pods.name(i);
            if self.pods.find(p.ns, self.strings.resolve(p.ns), name) != Some(i) {
                return Err(format!("pod {name} is not found by its key"));
            }
            let (ds, node) = self.locate(i);
            if p.attached() != (ds.is_some() && node.is_some()) {
                return Err(format!("pod {name}: attached {} but located {ds:?}/{node:?}", p.attached()));
            }
            let want_ds = p.owner.is_some() && ds.is_none();
            let want_node = p.node.is_some() && node.is_none();
            let in_ds = self.wait_ds.get(&pair(p.ns, p.owner)).is_some_and(|s| s.contains(&i));
            let in_node = self.wait_node.get(&p.node).is_some_and(|s| s.contains(&i));
            if p.has(F_WAIT_DS) != want_ds
                || in_ds != want_ds
                || p.has(F_WAIT_NODE) != want_node
                || in_node != want_node
            {
                return Err(format!("pod {name}: waiting pools disagree with its location"));
            }
        }
        let pooled: usize = self.wait_ds.values().map(HashSet::len).sum::<usize>()
            + self.wait_node.values().map(HashSet::len).sum::<usize>();
        let flagged = (0..self.pods.slots())
            .map(|i| self.pods.get(i))
            .filter(|p| p.has(F_LIVE))
            .map(|p| usize::from(p.has(F_WAIT_DS)) + usize::from(p.has(F_WAIT_NODE)))
            .sum::<usize>();
        if pooled != flagged {
            return Err(format!("{pooled} pool entries for {flagged} waiting pods"));
        }
        summary.pods = live;
        if live != self.pods.len() || attached != self.placed {
            return Err(format!(
                "pods: {live} live / {} counted, {attached} attached / {}",
                self.pods.len(),
                self.placed
            ));
        }
        if summary != self.summary {
            return Err(format!("summary {:?}, expected {summary:?}", self.summary));
        }
        for (s, want) in &sym_holders {
            if self.strings.refcount(*s) != *want {
                return Err(format!(
                    "string {:?}: {} holders, expected {want}",
                    self.strings.resolve(*s),
                    self.strings.refcount(*s)
                ));
            }
        }
        if self.strings.len() != sym_holders.len() {
            return Err(format!("{} interned strings, {} held", self.strings.len(), sym_holders.len()));
        }
        for (id, (r, rc)) in self.reasons.iter().enumerate() {
            let want = reason_holders.get(&(id as u32)).copied().unwrap_or(0);
            if *rc != want || r.is_some() != (want > 0) {
                return Err(format!("reason {r:?}: {rc} holders, expected {want}"));
            }
        }
        Ok(())
    }
}
