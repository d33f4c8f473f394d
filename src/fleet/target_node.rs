//! Which node a daemon pod is for: the one rule, used by the watch projection, the node-by-node
//! roller and the simulator's controllers alike.
//!
//! Kubernetes' rule (pkg/controller/daemon/util `GetTargetNodeName`): a pod belongs to its node by
//! `spec.nodeName`; before the scheduler binds it, by the matchFields `metadata.name In [node]`
//! term the DaemonSet controller writes into its required node affinity
//! (`ReplaceDaemonSetPodNodeNameNodeAffinity`). A Pending, unbound pod is therefore already
//! "on" its node and the cell is not missing.
//!
//! Pure, and free of Kubernetes types: callers hand in the two pieces of the pod spec the rule
//! reads, whatever they decoded the pod into.

/// `metav1.ObjectNameField`: the only field a node selector's matchFields may name.
pub const OBJECT_NAME_FIELD: &str = "metadata.name";

/// `v1.NodeSelectorOpIn`.
pub const OP_IN: &str = "In";

/// The node a daemon pod is for, and whether it is already bound there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetNode<'a> {
    pub name: &'a str,
    /// True when `spec.nodeName` says so (the pod is bound); false when only the controller's
    /// affinity term names the node (the scheduler has not bound it yet).
    pub bound: bool,
}

/// `GetTargetNodeName`: `node_name` (`spec.nodeName`) when it is not empty; otherwise the node of
/// the first `metadata.name In` requirement among the required affinity's matchFields, in order
/// (every term's matchFields, term after term), given as `(key, operator, values)`.
///
/// Upstream returns an error, and we `None`, when there is no such requirement or when that first
/// one does not hold exactly one value: a later requirement is not consulted.
pub fn target_node<'a, I>(node_name: Option<&'a str>, match_fields: I) -> Option<TargetNode<'a>>
where
    I: IntoIterator<Item = (&'a str, &'a str, &'a [String])>,
{
    if let Some(name) = node_name.filter(|n| !n.is_empty()) {
        return Some(TargetNode { name, bound: true });
    }
    let (_, _, values) = match_fields.into_iter().find(|(key, op, _)| *key == OBJECT_NAME_FIELD && *op == OP_IN)?;
    match values {
        [one] => Some(TargetNode { name: one.as_str(), bound: false }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(key: &'a str, op: &'a str, values: &'a [String]) -> (&'a str, &'a str, &'a [String]) {
        (key, op, values)
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    // Cases from pkg/controller/daemon/util `GetTargetNodeName` and its table test
    // (`TestGetTargetNodeName` in daemonset_util_test.go).

    #[test]
    fn bound_pod_belongs_to_its_node_name() {
        let other = names(&["node-2"]);
        let got = target_node(Some("node-1"), [req(OBJECT_NAME_FIELD, OP_IN, &other)]);
        assert_eq!(got, Some(TargetNode { name: "node-1", bound: true }), "nodeName wins over the affinity");
    }

    #[test]
    fn unbound_pod_belongs_to_the_node_of_its_affinity_term() {
        let node = names(&["node-1"]);
        for node_name in [None, Some("")] {
            let got = target_node(node_name, [req(OBJECT_NAME_FIELD, OP_IN, &node)]);
            assert_eq!(got, Some(TargetNode { name: "node-1", bound: false }), "{node_name:?}");
        }
    }

    #[test]
    fn no_node_name_and_no_affinity_is_no_node() {
        assert_eq!(target_node(None, []), None);
        assert_eq!(target_node(Some(""), []), None);
    }

    #[test]
    fn other_keys_and_operators_are_skipped() {
        let node = names(&["node-1"]);
        let host = names(&["node-9"]);
        let fields = [
            req("metadata.namespace", OP_IN, &host),
            req(OBJECT_NAME_FIELD, "NotIn", &host),
            req(OBJECT_NAME_FIELD, OP_IN, &node),
        ];
        assert_eq!(target_node(None, fields).map(|t| t.name), Some("node-1"));
    }

    #[test]
    fn first_name_requirement_decides_even_when_it_is_not_unique() {
        // Upstream: "the matchFields value of 'metadata.name' is not unique" is an error, and
        // a later requirement is not looked at.
        let two = names(&["node-1", "node-2"]);
        let none: Vec<String> = Vec::new();
        let one = names(&["node-3"]);
        assert_eq!(target_node(None, [req(OBJECT_NAME_FIELD, OP_IN, &two), req(OBJECT_NAME_FIELD, OP_IN, &one)]), None);
        assert_eq!(
            target_node(None, [req(OBJECT_NAME_FIELD, OP_IN, &none), req(OBJECT_NAME_FIELD, OP_IN, &one)]),
            None
        );
    }
}
