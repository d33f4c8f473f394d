//! The cached row and column order of the matrix: which nodes and DaemonSets are shown, in
//! which order, with which group headers. Recomputed only when its inputs change (nodes and
//! DaemonSets, filter text, sort, problems-only, grouping; problem counts only where the order
//! or a group header shows them), so a frame never walks all nodes and a pod's state change
//! never re-sorts the rows.
//!
//! Filter syntax (the `/` prompt), whitespace-separated terms:
//! - `key=value` — rows whose node has that label value (`pool=gpu`); `key=` matches an empty value.
//! - `node:TEXT` — rows whose node name matches TEXT; `ds:TEXT` — columns whose DaemonSet
//!   (`namespace/name`) contains TEXT.
//! - a bare word is a column term when some DaemonSet's `namespace/name` contains it, otherwise a
//!   row term on node names.
//!
//! Row terms must all match (AND: `pool=gpu zone-a`); column terms add up (OR: `calico kube-proxy`
//! shows both columns). Matching is case-insensitive; a node-name term is a substring match, and
//! falls back to a fuzzy subsequence match (`w1z` finds `worker-1-zone-a`) when no node
//! name contains it as a substring.

use std::collections::BTreeMap;

use crate::fleet::index::{DsId, NodeId};
use crate::fleet::{CellState, Index};

/// Row order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Name,
    /// Most severe problems first (`CellState::severity`), then most cells of that severity.
    Problems,
    /// Newest node first.
    Age,
}

impl SortBy {
    pub fn next(self) -> SortBy {
        match self {
            SortBy::Name => SortBy::Problems,
            SortBy::Problems => SortBy::Age,
            SortBy::Age => SortBy::Name,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            SortBy::Name => "name",
            SortBy::Problems => "problems",
            SortBy::Age => "age (newest first)",
        }
    }
}

/// One matrix row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowEntry {
    Node(NodeId),
    /// A group header when rows are grouped by a label.
    Group {
        label: String,
        value: Option<String>,
        nodes: u32,
        problems: u32,
    },
}

/// The inputs the order depends on; the cache is valid while they are unchanged. Pod changes
/// are not among them (see `App::view_key`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ViewKey {
    /// `Index::structure_generation`: nodes and DaemonSets.
    pub structure: u64,
    /// `Index::problem_generation` when the order depends on problem counts, else 0.
    pub problems: u64,
    pub filter: String,
    pub sort: SortBy,
    pub problems_only: bool,
    pub group: Option<String>,
}

/// The cached order.
#[derive(Clone, Debug, Default)]
pub struct View {
    pub key: Option<ViewKey>,
    pub rows: Vec<RowEntry>,
    pub cols: Vec<DsId>,
    /// Nodes among `rows` (rows minus group headers).
    pub node_rows: usize,
    /// Longest node name among the shown rows, in chars (for the label column width).
    pub max_name: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum RowTerm {
    Label { key: String, value: String },
    Name(String),
}

/// A parsed filter.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Filter {
    rows: Vec<RowTerm>,
    cols: Vec<String>,
}

impl Filter {
    /// Parse the prompt text against the index (bare words are classified by what they match).
    /// O(terms × DaemonSets).
    pub fn parse(text: &str, index: &Index) -> Filter {
        let ds_names: Vec<String> = index
            .ds_ids()
            .into_iter()
            .filter_map(|id| index.ds(id).map(|d| format!("{}/{}", d.namespace, d.name).to_lowercase()))
            .collect();
        let mut f = Filter::default();
        for term in text.split_whitespace() {
            let lower = term.to_lowercase();
            if let Some(rest) = lower.strip_prefix("ds:") {
                if !rest.is_empty() {
                    f.cols.push(rest.to_string());
                }
            } else if let Some(rest) = lower.strip_prefix("node:") {
                if !rest.is_empty() {
                    f.rows.push(RowTerm::Name(rest.to_string()));
                }
            } else if let Some((k, v)) = term.split_once('=') {
                // Label keys and values are case-sensitive in Kubernetes; keep them as typed.
                f.rows.push(RowTerm::Label { key: k.to_string(), value: v.to_string() });
            } else if ds_names.iter().any(|n| n.contains(&lower)) {
                f.cols.push(lower);
            } else {
                f.rows.push(RowTerm::Name(lower));
            }
        }
        f
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.cols.is_empty()
    }
}

/// Is `needle` a subsequence of `hay` (both lower-case)?
fn subsequence(needle: &str, hay: &str) -> bool {
    let mut it = hay.chars();
    needle.chars().all(|c| it.any(|h| h == c))
}

/// Build the row and column order. O(N log N) in nodes plus O(D) in DaemonSets; called only
/// when the [`ViewKey`] changed.
pub fn compute(index: &Index, key: &ViewKey) -> View {
    let filter = Filter::parse(&key.filter, index);

    // Columns.
    let mut cols = Vec::new();
    for id in index.ds_ids() {
        let Some(ds) = index.ds(id) else { continue };
        if !filter.cols.is_empty() {
            let full = format!("{}/{}", ds.namespace, ds.name).to_lowercase();
            if !filter.cols.iter().any(|t| full.contains(t.as_str())) {
                continue;
            }
        }
        if key.problems_only && !CellState::ALL.iter().any(|s| s.is_problem() && ds.counts[s.idx()] > 0) {
            continue;
        }
        cols.push(id);
    }

    // Which name terms fall back to fuzzy: those no node name contains as a substring.
    let ids = index.node_ids();
    let name_terms: Vec<(&str, bool)> = filter
        .rows
        .iter()
        .filter_map(|t| match t {
            RowTerm::Name(n) => Some(n.as_str()),
            RowTerm::Label { .. } => None,
        })
        .map(|t| {
            let any_substring = ids.iter().any(|id| index.node(*id).is_some_and(|n| n.name.to_lowercase().contains(t)));
            (t, !any_substring)
        })
        .collect();

    struct Row<'a> {
        id: NodeId,
        name: &'a str,
        problems: u32,
        tiers: [u32; 4],
        created: i64,
        group: Option<&'a str>,
    }
    let mut rows: Vec<Row<'_>> = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(n) = index.node(id) else { continue };
        if key.problems_only && n.problems == 0 {
            continue;
        }
        let labels_ok = filter.rows.iter().all(|t| match t {
            RowTerm::Label { key, value } => n.labels.get(key).is_some_and(|v| v == value),
            RowTerm::Name(_) => true,
        });
        // Lower-case the name only when a name term needs it (no allocation per node otherwise).
        let names_ok = name_terms.is_empty() || {
            let lower = n.name.to_lowercase();
            name_terms.iter().all(|(t, fuzzy)| if *fuzzy { subsequence(t, &lower) } else { lower.contains(t) })
        };
        if !(labels_ok && names_ok) {
            continue;
        }
        let group = key.group.as_ref().and_then(|g| n.labels.get(g)).map(String::as_str);
        rows.push(Row { id, name: n.name, problems: n.problems, tiers: n.tiers, created: n.created, group });
    }
    match key.sort {
        SortBy::Name => rows.sort_by(|a, b| a.name.cmp(b.name)),
        // Most severe first, then most cells of that severity: one missing pod outranks any
        // number of outdated ones (the arrays compare tier by tier, most severe tier first).
        SortBy::Problems => rows.sort_by(|a, b| b.tiers.cmp(&a.tiers).then_with(|| a.name.cmp(b.name))),
        SortBy::Age => rows.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.name.cmp(b.name))),
    }
    let max_name = rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(0);
    let node_rows = rows.len();

    let out_rows = match &key.group {
        None => rows.iter().map(|r| RowEntry::Node(r.id)).collect(),
        Some(label) => {
            // Groups by value, nodes without the label last; the sort applies within a group.
            let mut groups: BTreeMap<(bool, Option<&str>), Vec<&Row<'_>>> = BTreeMap::new();
            for r in &rows {
                groups.entry((r.group.is_none(), r.group)).or_default().push(r);
            }
            let mut out = Vec::with_capacity(rows.len() + groups.len());
            for ((_, value), members) in groups {
                out.push(RowEntry::Group {
                    label: label.clone(),
                    value: value.map(str::to_string),
                    nodes: members.len() as u32,
                    problems: members.iter().filter(|r| r.problems > 0).count() as u32,
                });
                out.extend(members.iter().map(|r| RowEntry::Node(r.id)));
            }
            out
        }
    };
    View { key: Some(key.clone()), rows: out_rows, cols, node_rows, max_name }
}

#[cfg(test)]
mod tests {
    use super::subsequence;

    #[test]
    fn fuzzy_is_an_in_order_subsequence() {
        assert!(subsequence("w1z", "worker-1-zone-a"));
        assert!(!subsequence("z1w", "worker-1-zone-a"));
        assert!(subsequence("", "x"));
    }
}
