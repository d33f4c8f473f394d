//! The cell machinery of the index: interned not-eligible reasons, evaluating the predicate
//! for one cell, pod and cell states, and the aggregates kept exact by subtracting a cell's old
//! state and adding its new one.

use super::*;

impl Index {
    /// The pods of a cell chain, from its head. O(1) per step, no allocation.
    pub(super) fn chain(&self, head: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors((head != NONE).then_some(head), |&i| {
            let next = self.pods.get(i).next_in_cell;
            (next != NONE).then_some(next)
        })
    }

    // ----- reasons -------------------------------------------------------------------------

    pub(super) fn intern_reason(&mut self, r: NotEligible) -> u32 {
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

    pub(super) fn release_reason(&mut self, id: u32) {
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

    pub(super) fn cell_mut(&mut self, d: u32, n: u32) -> Option<&mut Cell> {
        self.dss.get_mut(d as usize)?.as_mut()?.cells.get_mut(n as usize)
    }

    pub(super) fn cell_ref(&self, d: u32, n: u32) -> Option<&Cell> {
        self.dss.get(d as usize)?.as_ref()?.cells.get(n as usize)
    }

    /// Add (`sign` = true) or subtract the cell's state and desired flag to/from its column,
    /// its row and the summary. O(1).
    pub(super) fn count(&mut self, d: u32, n: u32, add: bool) {
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
        let tier = cell.state.severity().tier();
        if cell.state.is_problem() || tier.is_some() {
            // A row's or a column's problem count changed: orders that depend on counts
            // (problems-only, sort by problems) must be recomputed; others need not.
            self.problem_generation += 1;
            if let Some(Some(node)) = self.nodes.get_mut(n as usize) {
                if cell.state.is_problem() {
                    apply(&mut node.problems);
                }
                if let Some(t) = tier {
                    apply(&mut node.tiers[t]);
                }
            }
        }
    }

    /// The worst pod of a cell and its state: the earliest state in the precedence, then the
    /// newest, then by name, so the choice never depends on the order events arrived in. O(k).
    pub(super) fn worst_pod(&self, head: u32) -> Option<u32> {
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
    pub(super) fn refresh_cell(&mut self, d: u32, n: u32) {
        let Some(cell) = self.cell_ref(d, n).copied() else { return };
        let pods = self.chain(cell.head).map(|i| self.pods.get(i).state);
        let new = if cell.flags & C_UNKNOWN != 0 {
            // Whatever its pods are, said without a verdict on the node (no misscheduled).
            pods.min().unwrap_or(CellState::Unknown)
        } else {
            cell_state(cell.should_run(), pods)
        };
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
    pub(super) fn eval_cell(&mut self, d: u32, n: u32) {
        let (decision, unknown) = {
            let (Some(Some(node)), Some(Some(ds))) = (self.nodes.get(n as usize), self.dss.get(d as usize)) else {
                return;
            };
            let view = SchedNodeView { name: &node.info.name, labels: &node.info.labels, taints: &node.info.taints };
            if node.standin {
                (Decision { should_run: false, should_continue_running: false, reason: None }, true)
            } else {
                (should_run_with(&view, &ds.info.sched, &ds.tolerations), false)
            }
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
        if unknown {
            flags |= C_UNKNOWN;
        }
        cell.flags = flags;
        if old_reason != NONE {
            self.release_reason(old_reason);
        }
        self.refresh_cell(d, n);
    }

    /// The state of pod `i` in DaemonSet `d` ([`pod_state`]). O(1).
    pub(super) fn compute_pod_state(&self, i: u32, d: u32) -> CellState {
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
    /// Without the revisions (forbidden), no pod is called outdated: the template generation
    /// alone would call a pod of a rolled-back revision outdated.
    pub(super) fn pod_updated(&self, p: &PodRec, ds: &DsRec) -> bool {
        if self.denied(StreamKind::Revisions) {
            return true;
        }
        let hash_matches = matches!(ds.newest, Some((_, h)) if h.is_some() && h == p.hash);
        hash_matches || opt_i64(p.template_generation) == Some(ds.info.generation)
    }
}
