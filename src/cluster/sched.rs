//! Conversions from k8s-openapi scheduling fields to `fleet::schedule` types, shared by the
//! projections (`cluster::project`) and the simulator's DaemonSet controller, so both feed the
//! same predicate with the same reading of the wire objects.
//!
//! Pure: no I/O. Unknown operators and effects are kept as "unknown" values that never match,
//! like the upstream string comparisons.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeSelectorRequirement, PodSpec};

use crate::fleet::schedule::{
    NodeSelectorTerm, NodeView, PodSchedSpec, Requirement, SelectorOp, Taint, TaintEffect, Toleration, TolerationOp,
};
use crate::fleet::target_node::{TargetNode, target_node};

/// The node a daemon pod (its spec) is for, by [`target_node`]: `spec.nodeName`, or before
/// binding the node of the required affinity's `metadata.name In [node]` matchFields term.
pub fn pod_target_node(spec: &PodSpec) -> Option<TargetNode<'_>> {
    let terms = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| na.required_during_scheduling_ignored_during_execution.as_ref())
        .map_or(&[][..], |sel| &sel.node_selector_terms[..]);
    let fields = terms.iter().flat_map(|t| t.match_fields.iter().flatten());
    let fields = fields.map(|r| (r.key.as_str(), r.operator.as_str(), r.values.as_deref().unwrap_or_default()));
    target_node(spec.node_name.as_deref(), fields)
}

/// The scheduling-relevant fields of a pod spec (a DaemonSet's template, or a pod).
///
/// The template's `nodeName`, `nodeSelector`, required node affinity (matchExpressions and
/// matchFields), tolerations and `hostNetwork`; the controller's default tolerations are not
/// added here (`fleet::schedule::daemon_tolerations` does that).
pub fn pod_sched_spec(spec: &PodSpec) -> PodSchedSpec {
    let required_terms = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| na.required_during_scheduling_ignored_during_execution.as_ref())
        .map(|sel| {
            sel.node_selector_terms
                .iter()
                .map(|t| NodeSelectorTerm {
                    match_expressions: requirements(t.match_expressions.as_deref()),
                    match_fields: requirements(t.match_fields.as_deref()),
                })
                .collect()
        });
    PodSchedSpec {
        node_name: spec.node_name.clone().unwrap_or_default(),
        node_selector: spec.node_selector.clone().unwrap_or_default(),
        required_terms,
        tolerations: spec.tolerations.iter().flatten().map(toleration).collect(),
        host_network: spec.host_network.unwrap_or(false),
    }
}

fn requirements(reqs: Option<&[NodeSelectorRequirement]>) -> Vec<Requirement> {
    reqs.unwrap_or_default()
        .iter()
        .map(|r| Requirement {
            key: r.key.clone(),
            op: SelectorOp::parse(&r.operator),
            values: r.values.clone().unwrap_or_default(),
        })
        .collect()
}

/// One wire toleration. An empty operator means `Equal` (k8s.io/api/core/v1 `Toleration`
/// docs; `ToleratesTaint` treats "" like Equal); an unknown operator tolerates nothing, which
/// we express as `Equal` on a key no taint carries.
pub fn toleration(t: &k8s_openapi::api::core::v1::Toleration) -> Toleration {
    let key = t.key.clone().unwrap_or_default();
    let value = t.value.clone().unwrap_or_default();
    let effect = t.effect.as_deref().filter(|e| !e.is_empty()).map(TaintEffect::parse);
    match t.operator.as_deref().unwrap_or("") {
        "Exists" => Toleration { key, op: TolerationOp::Exists, value, effect },
        "" | "Equal" => Toleration { key, op: TolerationOp::Equal, value, effect },
        _ => Toleration { key: "\u{0}invalid-operator".into(), op: TolerationOp::Equal, value, effect },
    }
}

/// A node's taints (`spec.taints`).
pub fn node_taints(node: &Node) -> Vec<Taint> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .map(|t| Taint {
            key: t.key.clone(),
            value: t.value.clone().unwrap_or_default(),
            effect: TaintEffect::parse(&t.effect),
        })
        .collect()
}

/// The owned part of a node the predicate reads; [`NodeSched::view`] lends it as a
/// [`NodeView`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSched {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
}

impl NodeSched {
    pub fn from_node(node: &Node) -> NodeSched {
        NodeSched {
            name: node.metadata.name.clone().unwrap_or_default(),
            labels: node.metadata.labels.clone().unwrap_or_default(),
            taints: node_taints(node),
        }
    }

    pub fn view(&self) -> NodeView<'_> {
        NodeView { name: &self.name, labels: &self.labels, taints: &self.taints }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::schedule::should_run;
    use k8s_openapi::api::core::v1::{Affinity, NodeAffinity, NodeSelector, NodeSpec};

    fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn node(name: &str, labels: &[(&str, &str)], taints: &[(&str, &str, &str)]) -> Node {
        Node {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some(name.into()),
                labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
                ..Default::default()
            },
            spec: Some(NodeSpec {
                taints: Some(
                    taints
                        .iter()
                        .map(|(k, v, e)| k8s_openapi::api::core::v1::Taint {
                            key: k.to_string(),
                            value: (!v.is_empty()).then(|| v.to_string()),
                            effect: e.to_string(),
                            time_added: None,
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            status: None,
        }
    }

    #[test]
    fn converts_selector_affinity_match_fields_and_host_network() {
        let spec = PodSpec {
            node_selector: Some([("kubernetes.io/os".to_string(), "linux".to_string())].into()),
            host_network: Some(true),
            affinity: Some(Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                        node_selector_terms: vec![k8s_openapi::api::core::v1::NodeSelectorTerm {
                            match_expressions: Some(vec![req("pool", "NotIn", &["gpu"])]),
                            match_fields: Some(vec![req("metadata.name", "In", &["n1"])]),
                        }],
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = pod_sched_spec(&spec);
        assert!(s.host_network);
        assert_eq!(s.node_selector.get("kubernetes.io/os").map(String::as_str), Some("linux"));
        let terms = s.required_terms.as_ref().expect("terms");
        assert_eq!(terms[0].match_expressions[0].op, SelectorOp::NotIn);
        assert_eq!(terms[0].match_fields[0].key, "metadata.name");
        let n1 = NodeSched::from_node(&node("n1", &[("kubernetes.io/os", "linux"), ("pool", "general")], &[]));
        assert!(should_run(&n1.view(), &s).should_run);
        let n2 = NodeSched::from_node(&node("n2", &[("kubernetes.io/os", "linux"), ("pool", "general")], &[]));
        assert!(!should_run(&n2.view(), &s).should_run, "matchFields pins the pod to n1");
    }

    #[test]
    fn empty_operator_means_equal() {
        let t = toleration(&k8s_openapi::api::core::v1::Toleration {
            key: Some("dedicated".into()),
            value: Some("db".into()),
            effect: Some("NoSchedule".into()),
            operator: None,
            toleration_seconds: None,
        });
        assert_eq!(t.op, TolerationOp::Equal);
        assert!(t.tolerates(&Taint { key: "dedicated".into(), value: "db".into(), effect: TaintEffect::NoSchedule }));
        assert!(!t.tolerates(&Taint { key: "dedicated".into(), value: "web".into(), effect: TaintEffect::NoSchedule }));
    }

    #[test]
    fn exists_without_key_tolerates_everything() {
        let t = toleration(&k8s_openapi::api::core::v1::Toleration {
            operator: Some("Exists".into()),
            ..Default::default()
        });
        assert!(t.tolerates(&Taint { key: "anything".into(), value: "x".into(), effect: TaintEffect::NoExecute }));
    }

    #[test]
    fn unknown_operator_tolerates_nothing() {
        let t = toleration(&k8s_openapi::api::core::v1::Toleration {
            key: Some("dedicated".into()),
            operator: Some("Bogus".into()),
            ..Default::default()
        });
        assert!(!t.tolerates(&Taint {
            key: "dedicated".into(),
            value: String::new(),
            effect: TaintEffect::NoSchedule
        }));
    }

    #[test]
    fn node_taints_keep_value_and_effect() {
        let n =
            node("n", &[], &[("dedicated", "db", "NoSchedule"), ("node.kubernetes.io/unreachable", "", "NoExecute")]);
        let t = node_taints(&n);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].to_string(), "dedicated=db:NoSchedule");
        assert_eq!(t[1].effect, TaintEffect::NoExecute);
    }

    #[test]
    fn missing_when_taint_not_tolerated() {
        let spec = pod_sched_spec(&PodSpec::default());
        let n = NodeSched::from_node(&node("n", &[], &[("dedicated", "db", "NoSchedule")]));
        let d = should_run(&n.view(), &spec);
        assert!(!d.should_run);
        assert!(d.should_continue_running, "NoSchedule does not evict");
    }
}
