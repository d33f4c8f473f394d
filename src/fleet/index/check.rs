//! [`Index::recount_check`]: the from-scratch recount that proves the incremental aggregates.

use std::collections::{HashMap, HashSet};

use super::*;

impl Index {
    /// Recount everything from scratch and compare with the incremental state: every cell's
    /// decision (the predicate re-run), pod chains and states, the column/row/global
    /// aggregates, the waiting pools, interned string and reason holders, newest revisions.
    /// O(N·D + P). For tests and debug assertions; `Err` describes the first mismatch.
    pub fn recount_check(&self) -> Result<(), String> {
        let mut summary = Summary::default();
        let mut problems: HashMap<u32, u32> = HashMap::new();
        let mut tiers: HashMap<u32, [u32; 4]> = HashMap::new();
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
            summary.nodes_ready += u32::from(node.info.readiness == NodeReadiness::Ready && !node.standin);
            summary.nodes_cordoned += u32::from(node.info.unschedulable && !node.standin);
            summary.nodes_unknown += u32::from(node.standin);
            if node.standin && !self.denied(StreamKind::Nodes) {
                return Err(format!("node {} stands in while nodes can be listed", node.info.name));
            }
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
            let mut counts = [0u32; CellState::COUNT];
            let mut desired = 0;
            for (n, node) in self.nodes.iter().enumerate() {
                let Some(node) = node else { continue };
                let cell = ds.cells.get(n).copied().ok_or_else(|| format!("{name}: column too short"))?;
                let at = format!("cell ({}, {name})", node.info.name);
                let view =
                    SchedNodeView { name: &node.info.name, labels: &node.info.labels, taints: &node.info.taints };
                let dec = if node.standin {
                    Decision { should_run: false, should_continue_running: false, reason: None }
                } else {
                    should_run_with(&view, &ds.info.sched, &ds.tolerations)
                };
                if dec.should_run != cell.should_run()
                    || dec.should_continue_running != (cell.flags & C_KEEP != 0)
                    || node.standin != (cell.flags & C_UNKNOWN != 0)
                {
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
                let state = if node.standin {
                    states.into_iter().min().unwrap_or(CellState::Unknown)
                } else {
                    cell_state(dec.should_run, states)
                };
                if state != cell.state || cell.flags & C_COUNTED == 0 {
                    return Err(format!("{at}: state {:?}, expected {state:?}", cell.state));
                }
                counts[state.idx()] += 1;
                summary.cells[state.idx()] += 1;
                desired += u32::from(dec.should_run);
                if state.is_problem() {
                    *problems.entry(n as u32).or_default() += 1;
                }
                if let Some(t) = state.severity().tier() {
                    tiers.entry(n as u32).or_default()[t] += 1;
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
                let want = tiers.get(&(n as u32)).copied().unwrap_or_default();
                if node.tiers != want {
                    return Err(format!("node {}: tiers {:?} expected {want:?}", node.info.name, node.tiers));
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
            for s in [p.ns, p.owner, p.node, p.hash, p.reason, p.last_term, p.detail] {
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
            let want_ds = p.owner.is_some() && !p.attached();
            let want_node = p.node.is_some() && !p.attached();
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
