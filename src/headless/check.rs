//! `check`: which cells fail, after the user's ignores, grace period and choice of states
//! (`--fail-on`, `--max-outdated-age`), as grep-friendly lines
//! `node<TAB>namespace/daemonset<TAB>state<TAB>reason`, most severe first.

use crate::cli::CheckArgs;
use crate::fleet::CellState;
use crate::fleet::Index;
use crate::fleet::model::Secs;
use crate::fleet::why::explain;

/// What fails when `--fail-on` is not given: every problem state except outdated. An outdated
/// pod serves, on an older revision: a rollout to finish, not an outage (`--max-outdated-age`
/// catches the rollouts that stall). Terminating is not a problem state; it fails only when asked.
pub const DEFAULT_FAIL_ON: [CellState; 5] =
    [CellState::Missing, CellState::Failing, CellState::Pending, CellState::NotReady, CellState::Misscheduled];

/// `--fail-on` values: the states that can need attention (not ready, not not-eligible).
pub fn parse_fail_state(s: &str) -> Result<CellState, String> {
    match CellState::parse(s.trim()) {
        Some(state) if state.severity().tier().is_some() => Ok(state),
        _ => Err(format!(
            "unknown state {s:?}; one of: {}",
            CellState::BY_SEVERITY
                .iter()
                .filter(|s| s.severity().tier().is_some())
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A duration as `90s`, `30m`, `6h`, `2d`, `1w` or a sum of them (`1h30m`), in seconds. A bare
/// number is refused: minutes or seconds would be a guess.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let bad = || format!("invalid duration {s:?}: use a number and a unit s, m, h, d or w, e.g. 90m, 6h, 2d, 1h30m");
    let text = s.trim();
    if text.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// What the user asked `check` to look away from, and what fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckFilter {
    /// (namespace, name); a `None` namespace matches the name in every namespace.
    pub ignore_ds: Vec<(Option<String>, String)>,
    /// (key, value); a `None` value matches any value of the key.
    pub ignore_node_label: Vec<(String, Option<String>)>,
    /// Pods (and, for missing cells, nodes and DaemonSets) younger than this are still
    /// starting and not problems yet.
    pub grace: Secs,
    /// States that fail the check.
    pub fail_on: Vec<CellState>,
    /// Outdated cells fail too once outdated for longer than this.
    pub max_outdated_age: Option<Secs>,
}

impl Default for CheckFilter {
    fn default() -> CheckFilter {
        CheckFilter {
            ignore_ds: Vec::new(),
            ignore_node_label: Vec::new(),
            grace: 0,
            fail_on: DEFAULT_FAIL_ON.to_vec(),
            max_outdated_age: None,
        }
    }
}

impl CheckFilter {
    pub fn from_args(args: &CheckArgs) -> CheckFilter {
        CheckFilter {
            ignore_ds: args
                .ignore_ds
                .iter()
                .map(|s| match s.split_once('/') {
                    Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
                    None => (None, s.clone()),
                })
                .collect(),
            ignore_node_label: args
                .ignore_node_label
                .iter()
                .map(|s| match s.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (s.clone(), None),
                })
                .collect(),
            grace: Secs::try_from(args.grace).unwrap_or(Secs::MAX),
            fail_on: if args.fail_on.is_empty() { DEFAULT_FAIL_ON.to_vec() } else { args.fail_on.clone() },
            max_outdated_age: args.max_outdated_age.map(|a| Secs::try_from(a).unwrap_or(Secs::MAX)),
        }
    }

    fn ignores_ds(&self, namespace: &str, name: &str) -> bool {
        self.ignore_ds.iter().any(|(ns, n)| n == name && ns.as_deref().is_none_or(|ns| ns == namespace))
    }

    fn ignores_node(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        self.ignore_node_label
            .iter()
            .any(|(k, v)| labels.get(k).is_some_and(|actual| v.as_deref().is_none_or(|v| v == actual)))
    }

    /// Does a cell in `state`, outdated for `outdated_for` seconds (when it is), fail?
    fn fails(&self, state: CellState, outdated_for: Option<Secs>) -> bool {
        self.fail_on.contains(&state)
            || (state == CellState::Outdated
                && self.max_outdated_age.is_some_and(|max| outdated_for.is_some_and(|age| age > max)))
    }
}

/// One problem cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub node: String,
    /// "namespace/name".
    pub daemonset: String,
    pub state: CellState,
    pub reason: String,
    /// For an outdated cell: how long it has been outdated, in seconds (see [`outdated_for`]).
    pub outdated_for: Option<Secs>,
}

impl Problem {
    /// The output line. Tabs and newlines inside the reason are flattened so that every
    /// problem is exactly one line with four tab-separated fields.
    pub fn line(&self) -> String {
        let reason: String =
            self.reason.chars().map(|c| if c == '\t' || c == '\n' || c == '\r' { ' ' } else { c }).collect();
        // Names and reasons come from the index, clean at projection; cleaned again here so a
        // line of `check` can never carry a control character whatever fed the index.
        let clean = crate::text::clean;
        format!("{}\t{}\t{}\t{}", clean(&self.node), clean(&self.daemonset), self.state.name(), clean(&reason))
    }
}

/// How long a pod has been outdated, from what the index holds: since the newest
/// ControllerRevision of its DaemonSet was created (the template changed then, and the pod's
/// revision stopped being the newest), or since the pod was created if that is later. The
/// index keeps no history of template changes, so after `rollout undo` (which reuses an old
/// revision object, bumping its number but keeping its creation time) the age is overstated;
/// without revisions (the stream forbidden) the pod's own age is all there is.
pub fn outdated_for(now: Secs, pod_created: Secs, newest_revision_created: Option<Secs>) -> Secs {
    now.saturating_sub(newest_revision_created.map_or(pod_created, |r| r.max(pod_created))).max(0)
}

/// The outcome of a check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The cells that fail, most severe first, then node-major in name order.
    pub failing: Vec<Problem>,
    /// Cells (not ignored) in a state that needs attention but does not fail, per state
    /// (`CellState::idx`): for the summary line.
    pub tolerated: [u32; CellState::COUNT],
}

impl Report {
    /// The summary line (without the `daemonscope: ` prefix and the context).
    pub fn summary(&self) -> String {
        let mut counts = [0u32; CellState::COUNT];
        for p in &self.failing {
            counts[p.state.idx()] += 1;
        }
        let list = |counts: &[u32; CellState::COUNT]| -> String {
            CellState::BY_SEVERITY
                .iter()
                .filter(|s| counts[s.idx()] > 0)
                .map(|s| format!("{} {}", s.name(), counts[s.idx()]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let nodes: std::collections::BTreeSet<&str> = self.failing.iter().map(|p| p.node.as_str()).collect();
        let n = self.failing.len();
        let mut out = if n == 0 {
            "no failing cells".to_string()
        } else {
            format!(
                "{n} failing cell{} on {} node{} ({})",
                if n == 1 { "" } else { "s" },
                nodes.len(),
                if nodes.len() == 1 { "" } else { "s" },
                list(&counts)
            )
        };
        if self.tolerated.iter().any(|&c| c > 0) {
            out.push_str(&format!("; not failing: {}", list(&self.tolerated)));
        }
        out
    }
}

/// Every cell that fails the check, not ignored, most severe first.
pub fn problems(index: &Index, filter: &CheckFilter, now: Secs) -> Vec<Problem> {
    report(index, filter, now).failing
}

/// Evaluate every cell. O(N·D) plus the revisions of each DaemonSet once.
pub fn report(index: &Index, filter: &CheckFilter, now: Secs) -> Report {
    let young = |created: Secs| filter.grace > 0 && now.saturating_sub(created) < filter.grace;
    let dss: Vec<_> = index
        .ds_ids()
        .into_iter()
        .filter_map(|id| index.ds(id).map(|d| (id, d)))
        .filter(|(_, d)| !filter.ignores_ds(d.namespace, d.name))
        .map(|(id, d)| {
            let newest_created = index.revisions(id).first().map(|r| r.created);
            (id, d, newest_created)
        })
        .collect();
    let mut out = Report::default();
    for node_id in index.node_ids() {
        let Some(node) = index.node(node_id) else { continue };
        if filter.ignores_node(node.labels) {
            continue;
        }
        for (ds_id, ds, newest_created) in &dss {
            let cell = index.cell(node_id, *ds_id);
            if cell.state.severity().tier().is_none() {
                continue;
            }
            let within_grace = match &cell.pod {
                Some(pod) => young(pod.created),
                // No pod yet: the node or the DaemonSet may be too new for one.
                None => young(node.created) || young(ds.created),
            };
            if within_grace {
                continue;
            }
            let outdated_for = match (&cell.pod, cell.state) {
                (Some(pod), CellState::Outdated) => Some(outdated_for(now, pod.created, *newest_created)),
                _ => None,
            };
            if !filter.fails(cell.state, outdated_for) {
                if cell.state.is_problem() || filter.fail_on.contains(&cell.state) {
                    out.tolerated[cell.state.idx()] += 1;
                }
                continue;
            }
            let mut reason = explain(index, &cell, ds, &node, now).map(|w| w.text).unwrap_or_default();
            if let Some(age) = outdated_for {
                reason.push_str(&format!(", outdated for {}", super::table::age(age)));
            }
            out.failing.push(Problem {
                node: node.name.to_string(),
                daemonset: format!("{}/{}", ds.namespace, ds.name),
                state: cell.state,
                reason,
                outdated_for,
            });
        }
    }
    // Most severe first; the sort is stable, so node-major order holds within a state.
    out.failing.sort_by_key(|p| CellState::BY_SEVERITY.iter().position(|s| *s == p.state));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(ignore_ds: &[&str], labels: &[&str], grace: u64) -> CheckArgs {
        CheckArgs {
            ignore_ds: ignore_ds.iter().map(|s| s.to_string()).collect(),
            ignore_node_label: labels.iter().map(|s| s.to_string()).collect(),
            grace,
            timeout: 60,
            fail_on: Vec::new(),
            max_outdated_age: None,
        }
    }

    #[test]
    fn ignore_ds_by_name_matches_every_namespace() {
        let f = CheckFilter::from_args(&args(&["agent"], &[], 0));
        assert!(f.ignores_ds("kube-system", "agent"));
        assert!(f.ignores_ds("monitoring", "agent"));
        assert!(!f.ignores_ds("monitoring", "agent-2"));
    }

    #[test]
    fn ignore_ds_with_namespace_matches_only_that_namespace() {
        let f = CheckFilter::from_args(&args(&["monitoring/agent"], &[], 0));
        assert!(f.ignores_ds("monitoring", "agent"));
        assert!(!f.ignores_ds("kube-system", "agent"));
    }

    #[test]
    fn ignore_node_label_by_key_or_key_value() {
        let f = CheckFilter::from_args(&args(&[], &["gpu", "pool=spot"], 0));
        let mut labels = std::collections::BTreeMap::new();
        labels.insert("gpu".to_string(), "a100".to_string());
        assert!(f.ignores_node(&labels));
        let mut labels = std::collections::BTreeMap::new();
        labels.insert("pool".to_string(), "spot".to_string());
        assert!(f.ignores_node(&labels));
        labels.insert("pool".to_string(), "general".to_string());
        assert!(!f.ignores_node(&labels));
    }

    #[test]
    fn problem_line_has_four_tab_separated_fields() {
        let p = Problem {
            node: "n1".into(),
            daemonset: "kube-system/agent".into(),
            state: CellState::Failing,
            reason: "CrashLoopBackOff\t(last: Error\nexit 1)".into(),
            outdated_for: None,
        };
        let line = p.line();
        assert_eq!(line.split('\t').count(), 4);
        assert!(!line.contains('\n'));
        assert!(line.starts_with("n1\tkube-system/agent\tfailing\tCrashLoopBackOff"));
    }

    #[test]
    fn durations_take_units_and_sums() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("6h"), Ok(21_600));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert_eq!(parse_duration("1w"), Ok(604_800));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        for bad in ["", "90", "h", "1.5h", "3x", "-1h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fail_on_takes_states_that_need_attention_only() {
        assert_eq!(parse_fail_state("outdated"), Ok(CellState::Outdated));
        assert_eq!(parse_fail_state("not-ready"), Ok(CellState::NotReady));
        assert!(parse_fail_state("ready").is_err());
        assert!(parse_fail_state("not-eligible").is_err());
        let err = parse_fail_state("broken").unwrap_err();
        assert!(err.contains("missing, failing, pending"), "{err}");
    }

    #[test]
    fn outdated_age_counts_from_the_newest_revision_or_a_later_pod() {
        // Revision created at 1000, pod older (500): outdated since 1000.
        assert_eq!(outdated_for(4600, 500, Some(1000)), 3600);
        // Pod created after the revision (2000): outdated since it exists.
        assert_eq!(outdated_for(4600, 2000, Some(1000)), 2600);
        // No revisions known: the pod's age.
        assert_eq!(outdated_for(4600, 600, None), 4000);
    }

    #[test]
    fn default_fails_on_everything_but_outdated() {
        let f = CheckFilter::default();
        for s in
            [CellState::Missing, CellState::Failing, CellState::Pending, CellState::NotReady, CellState::Misscheduled]
        {
            assert!(f.fails(s, None), "{s:?}");
        }
        assert!(!f.fails(CellState::Outdated, Some(1_000_000)));
        assert!(!f.fails(CellState::Terminating, None));
        let aged = CheckFilter { max_outdated_age: Some(3600), ..CheckFilter::default() };
        assert!(!aged.fails(CellState::Outdated, Some(3600)));
        assert!(aged.fails(CellState::Outdated, Some(3601)));
    }
}
