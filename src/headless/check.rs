//! `check`: which cells are problems, after the user's ignores and grace period, as
//! grep-friendly lines `node<TAB>namespace/daemonset<TAB>state<TAB>reason`.

use super::reason::cell_reason;
use crate::cli::CheckArgs;
use crate::fleet::CellState;
use crate::fleet::Index;
use crate::fleet::model::Secs;

/// What the user asked `check` to look away from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckFilter {
    /// (namespace, name); a `None` namespace matches the name in every namespace.
    pub ignore_ds: Vec<(Option<String>, String)>,
    /// (key, value); a `None` value matches any value of the key.
    pub ignore_node_label: Vec<(String, Option<String>)>,
    /// Pods (and, for missing cells, nodes and DaemonSets) younger than this are still
    /// starting and not problems yet.
    pub grace: Secs,
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
}

/// One problem cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub node: String,
    /// "namespace/name".
    pub daemonset: String,
    pub state: CellState,
    pub reason: String,
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

/// Every problem cell not ignored, node-major in name order.
pub fn problems(index: &Index, filter: &CheckFilter, now: Secs) -> Vec<Problem> {
    let young = |created: Secs| filter.grace > 0 && now.saturating_sub(created) < filter.grace;
    let dss: Vec<_> = index
        .ds_ids()
        .into_iter()
        .filter_map(|id| index.ds(id).map(|d| (id, d)))
        .filter(|(_, d)| !filter.ignores_ds(d.namespace, d.name))
        .collect();
    let mut out = Vec::new();
    for node_id in index.node_ids() {
        let Some(node) = index.node(node_id) else { continue };
        if filter.ignores_node(node.labels) {
            continue;
        }
        for (ds_id, ds) in &dss {
            let cell = index.cell(node_id, *ds_id);
            if !cell.state.is_problem() {
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
            out.push(Problem {
                node: node.name.to_string(),
                daemonset: format!("{}/{}", ds.namespace, ds.name),
                state: cell.state,
                reason: cell_reason(&cell, ds, &node).unwrap_or_default(),
            });
        }
    }
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
        };
        let line = p.line();
        assert_eq!(line.split('\t').count(), 4);
        assert!(!line.contains('\n'));
        assert!(line.starts_with("n1\tkube-system/agent\tfailing\tCrashLoopBackOff"));
    }
}
