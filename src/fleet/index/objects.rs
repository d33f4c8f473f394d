//! Applying and deleting each kind of object: pods (placed in their cell or pooled until their
//! node and DaemonSet are known), nodes (a row), DaemonSets (a column) and ControllerRevisions
//! (the newest revision of a DaemonSet).

use super::*;

impl Index {
    // ----- pods ----------------------------------------------------------------------------

    /// Where pod `i` belongs: its DaemonSet slot and node slot when both are known.
    pub(super) fn locate(&self, i: u32) -> (Option<u32>, Option<u32>) {
        let p = self.pods.get(i);
        let ds = if p.owner.is_some() { self.ds_by_key.get(&pair(p.ns, p.owner)).copied() } else { None };
        let node = if p.node.is_some() { self.node_by_sym.get(&p.node).copied() } else { None };
        (ds, node)
    }

    /// Put pod `i` in its cell when its node and DaemonSet are both known, else in the pools of
    /// unplaced pods. O(k).
    pub(super) fn place(&mut self, i: u32) {
        let (d, n) = self.locate(i);
        let node = self.pods.get(i).node;
        // Nodes cannot be listed: the pod's node name is all there is, and it makes a row.
        let n = match n {
            None if node.is_some() && self.denied(StreamKind::Nodes) => Some(self.standin_node(node)),
            n => n,
        };
        match (d, n) {
            (Some(d), Some(n)) => self.attach(i, d, n),
            _ => self.pool(i),
        }
    }

    /// Add a detached pod to the pools: by node name and by (namespace, owner), whichever it
    /// has. Invariant: a pod is in a pool exactly when it is detached and has that key, so a
    /// node or DaemonSet that appears finds every pod that may join it, and one that vanishes
    /// only has to pool the pods of its own row or column. O(1).
    pub(super) fn pool(&mut self, i: u32) {
        let (ns, owner, node) = {
            let p = self.pods.get(i);
            (p.ns, p.owner, p.node)
        };
        if owner.is_some() {
            self.wait_ds.entry(pair(ns, owner)).or_default().insert(i);
            self.pods.get_mut(i).set(F_WAIT_DS, true);
        }
        if node.is_some() {
            self.wait_node.entry(node).or_default().insert(i);
            self.pods.get_mut(i).set(F_WAIT_NODE, true);
        }
    }

    /// Remove a pod from the pools. O(1).
    pub(super) fn unpool(&mut self, i: u32) {
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
                    if self.wait_ds.is_empty() {
                        // The pools are large only while a list streams pods before their
                        // nodes; give that memory back once they drain.
                        self.wait_ds.shrink_to_fit();
                    }
                }
            }
        }
        if flags & F_WAIT_NODE != 0
            && let Some(set) = self.wait_node.get_mut(&node)
        {
            set.remove(&i);
            if set.is_empty() {
                self.wait_node.remove(&node);
                if self.wait_node.is_empty() {
                    self.wait_node.shrink_to_fit();
                }
            }
        }
        let p = self.pods.get_mut(i);
        p.set(F_WAIT_DS, false);
        p.set(F_WAIT_NODE, false);
    }

    /// Attach the pooled pods that can now join their cells (after a node or DaemonSet
    /// appeared). O(pooled pods of that key).
    pub(super) fn join_pooled(&mut self, mut candidates: Vec<u32>) {
        candidates.sort_unstable();
        for i in candidates {
            if let (Some(d), Some(n)) = self.locate(i) {
                self.unpool(i);
                self.attach(i, d, n);
            }
        }
    }

    /// Link pod `i` into cell (d, n). O(k).
    pub(super) fn attach(&mut self, i: u32, d: u32, n: u32) {
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
    pub(super) fn unlink(&mut self, i: u32) -> Option<(u32, u32)> {
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

    /// Take pod `i` out of its cell (refreshing it) or out of the pools. O(k).
    pub(super) fn unplace(&mut self, i: u32) {
        if let Some((d, n)) = self.unlink(i) {
            self.refresh_cell(d, n);
            self.drop_empty_standin(n);
        }
        self.unpool(i);
    }

    /// Does the stored pod already equal this projection? Then an Apply changes nothing.
    pub(super) fn pod_equals(&self, i: u32, info: &PodInfo) -> bool {
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
            && s.resolve_opt(p.detail) == info.detail.as_deref().filter(|x| !x.is_empty())
            && p.restarts == info.restarts
            && p.containers_ready == info.containers_ready
            && p.containers_total == info.containers_total
            && p.phase == info.phase
            && p.has(F_BOUND) == info.bound
            && p.has(F_DELETING) == info.deleting
            && p.has(F_READY) == info.ready
    }

    /// Add or modify a pod. O(k) (hash lookups, string compares of its few interned fields).
    pub(super) fn apply_pod(&mut self, info: PodInfo, mark: bool) -> bool {
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
    pub(super) fn fill_pod(&mut self, i: u32, info: &PodInfo) {
        let mut p = self.pods.get(i).clone();
        let st = &mut self.strings;
        st.update(&mut p.owner, info.owner.as_deref());
        st.update(&mut p.node, info.node.as_deref());
        st.update(&mut p.hash, info.revision_hash.as_deref());
        st.update(&mut p.reason, Some(&info.reason));
        st.update(&mut p.last_term, info.last_termination.as_deref());
        st.update(&mut p.detail, info.detail.as_deref());
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
    pub(super) fn delete_pod(&mut self, key: &ObjKey) -> bool {
        let Some(ns) = self.strings.get(&key.namespace) else { return false };
        let Some(i) = self.pods.find(ns, &key.namespace, &key.name) else { return false };
        self.remove_pod(i);
        true
    }

    pub(super) fn remove_pod(&mut self, i: u32) {
        self.unplace(i);
        let p = self.pods.get(i).clone();
        let ns_str = self.strings.resolve(p.ns).to_string();
        self.events.forget(Involved::Pod, &ns_str, self.pods.name(i));
        self.pods.remove(i, &ns_str);
        for s in [p.ns, p.owner, p.node, p.hash, p.reason, p.last_term, p.detail] {
            self.strings.release(s);
        }
        self.summary.pods -= 1;
    }

    // ----- nodes ---------------------------------------------------------------------------

    /// Add or modify a node. New node: O(D) predicates plus its waiting pods. Modified node:
    /// O(D) predicates only when labels or taints changed (the only inputs of the predicate a
    /// node has), else O(1).
    pub(super) fn apply_node(&mut self, info: NodeInfo, mark: bool) -> bool {
        if let Some(&n) = self.node_sorted.get(&info.name) {
            let Some(Some(node)) = self.nodes.get_mut(n as usize) else { return false };
            if mark {
                node.seen = true;
            }
            if node.info == info && !node.standin {
                return false;
            }
            // The node behind a stand-in row is known at last: its cells get verdicts.
            let reeval = node.info.labels != info.labels || node.info.taints != info.taints || node.standin;
            self.count_node(n, false);
            if let Some(Some(node)) = self.nodes.get_mut(n as usize) {
                node.info = info;
                node.standin = false;
            }
            self.count_node(n, true);
            if reeval {
                for d in 0..self.dss.len() as u32 {
                    self.eval_cell(d, n);
                }
            }
            return true;
        }
        self.insert_node(info, mark, false);
        true
    }

    /// The stand-in row for a node known only by name (nodes cannot be listed), made once.
    /// O(D) plus the pods waiting for that name.
    pub(super) fn standin_node(&mut self, name: Sym) -> u32 {
        if let Some(&n) = self.node_by_sym.get(&name) {
            return n;
        }
        let info = NodeInfo {
            name: self.strings.resolve(name).to_string(),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            unschedulable: false,
            readiness: NodeReadiness::Unknown,
            created: 0,
            pressures: Vec::new(),
            kubelet_version: String::new(),
            since: Vec::new(),
        };
        self.structure_generation += 1;
        self.insert_node(info, false, true)
    }

    /// A stand-in row whose last pod went away goes too: it stood for nothing else. O(D).
    pub(super) fn drop_empty_standin(&mut self, n: u32) {
        let Some(Some(node)) = self.nodes.get(n as usize) else { return };
        if !node.standin {
            return;
        }
        let empty = self.dss.iter().flatten().all(|ds| ds.cells.get(n as usize).is_none_or(|c| c.npods == 0));
        if empty {
            let key = ObjKey { namespace: String::new(), name: node.info.name.clone() };
            self.delete_node(&key);
            self.structure_generation += 1;
        }
    }

    /// Add a new row. O(D) predicates plus the pods waiting for its name.
    fn insert_node(&mut self, info: NodeInfo, mark: bool, standin: bool) -> u32 {
        let name_sym = self.strings.intern(&info.name);
        let rec = NodeRec { info, name_sym, standin, problems: 0, tiers: [0; 4], seen: mark };
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
        let pooled: Vec<u32> =
            self.wait_node.get(&name_sym).map(|set| set.iter().copied().collect()).unwrap_or_default();
        self.join_pooled(pooled);
        n
    }

    pub(super) fn count_node(&mut self, n: u32, add: bool) {
        let Some(Some(node)) = self.nodes.get(n as usize) else { return };
        let (ready, cordoned) = (node.info.readiness == NodeReadiness::Ready, node.info.unschedulable);
        let standin = node.standin;
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
        apply(&mut s.nodes_ready, ready && !standin);
        apply(&mut s.nodes_cordoned, cordoned && !standin);
        apply(&mut s.nodes_unknown, standin);
    }

    /// Delete a node: its row leaves the aggregates and its pods wait for a node of that name.
    /// O(D + pods on it). An unknown name is a no-op.
    pub(super) fn delete_node(&mut self, key: &ObjKey) -> bool {
        let Some(n) = self.node_sorted.remove(&key.name) else { return false };
        let name_sym = match self.nodes.get(n as usize) {
            Some(Some(node)) => node.name_sym,
            _ => return false,
        };
        for d in 0..self.dss.len() as u32 {
            self.clear_cell(d, n);
        }
        self.count_node(n, false);
        self.node_by_sym.remove(&name_sym);
        self.nodes[n as usize] = None;
        self.node_free.push(n);
        self.events.forget(Involved::Node, "", &key.name);
        self.strings.release(name_sym);
        true
    }

    /// Remove a cell from the aggregates (its row or column is going away) and send its pods
    /// to the pools. O(k).
    pub(super) fn clear_cell(&mut self, d: u32, n: u32) {
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
            self.pool(i);
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
    pub(super) fn newest_of(&self, ns: &str, name: &str) -> Option<(i64, &str)> {
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
    pub(super) fn refresh_newest(&mut self, d: u32) -> bool {
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
    pub(super) fn restate_column(&mut self, d: u32) {
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
    pub(super) fn apply_ds(&mut self, info: DsInfo, mark: bool) -> bool {
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
            counts: [0; CellState::COUNT],
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
        // Pods that arrived before their DaemonSet join their cells now.
        let pooled: Vec<u32> =
            self.wait_ds.get(&pair(ns, name_sym)).map(|set| set.iter().copied().collect()).unwrap_or_default();
        self.join_pooled(pooled);
        true
    }

    /// Delete a DaemonSet: its column leaves the aggregates, its pods wait in the pool. O(N +
    /// its pods). An unknown key is a no-op.
    pub(super) fn delete_ds(&mut self, key: &ObjKey) -> bool {
        let Some(d) = self.ds_sorted.remove(&(key.namespace.clone(), key.name.clone())) else { return false };
        for n in 0..self.node_slots {
            self.clear_cell(d, n);
        }
        self.events.forget(Involved::DaemonSet, &key.namespace, &key.name);
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

    pub(super) fn owner_ds(&self, ns: &str, owner: Option<&str>) -> Option<u32> {
        self.ds_sorted.get(&(ns.to_string(), owner?.to_string())).copied()
    }

    /// Add or modify a ControllerRevision. O(r), plus O(N) when its owner's newest hash changed.
    pub(super) fn apply_rev(&mut self, info: RevInfo, mark: bool) -> bool {
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

    pub(super) fn unindex_rev(&mut self, ns: &str, owner: &str, name: &str) {
        let k = (ns.to_string(), owner.to_string());
        if let Some(set) = self.revs_by_owner.get_mut(&k) {
            set.remove(name);
            if set.is_empty() {
                self.revs_by_owner.remove(&k);
            }
        }
    }

    pub(super) fn delete_rev(&mut self, key: &ObjKey) -> bool {
        let Some(r) = self.revs.remove(&(key.namespace.clone(), key.name.clone())) else { return false };
        if let Some(o) = &r.info.owner {
            self.unindex_rev(&key.namespace, o, &key.name);
            if let Some(d) = self.owner_ds(&key.namespace, Some(o)) {
                self.refresh_newest(d);
            }
        }
        true
    }
}
