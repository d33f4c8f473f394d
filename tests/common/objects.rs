//! Kubernetes objects built by hand, for tests that create them through the simulator's API.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::{Container, Node, NodeCondition, NodeStatus, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

pub fn labels(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

/// A pod with one container, `main` (`busybox:1`), bound to `node` when given.
pub fn pod(name: &str, node: Option<&str>, pod_labels: &[(&str, &str)]) -> Pod {
    Pod {
        metadata: ObjectMeta { name: Some(name.into()), labels: labels(pod_labels), ..Default::default() },
        spec: Some(PodSpec {
            node_name: node.map(str::to_string),
            containers: vec![Container { name: "main".into(), image: Some("busybox:1".into()), ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A node with a name and nothing else.
pub fn node(name: &str) -> Node {
    Node { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() }
}

/// A node with its hostname label and the Ready condition.
pub fn ready_node(name: &str) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: labels(&[("kubernetes.io/hostname", name)]),
            ..Default::default()
        },
        status: Some(NodeStatus {
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A DaemonSet selecting `app=<name>`, its pod template with one container per name in
/// `containers`, each running the image `<container>:1`.
pub fn daemonset(name: &str, containers: &[&str]) -> DaemonSet {
    let containers = containers
        .iter()
        .map(|c| Container { name: c.to_string(), image: Some(format!("{c}:1")), ..Default::default() })
        .collect();
    DaemonSet {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        spec: DaemonSetSpec {
            selector: LabelSelector { match_labels: labels(&[("app", name)]), ..Default::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: labels(&[("app", name)]), ..Default::default() }),
                spec: Some(PodSpec { containers, ..Default::default() }),
            },
            ..Default::default()
        },
        ..Default::default()
    }
}
