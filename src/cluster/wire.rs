//! Wire types: what the watch streams decode Pods and Nodes into, straight from the API
//! server's JSON, instead of `k8s_openapi::api::core::v1::{Pod, Node}`.
//!
//! Why: a real API server's pod is ~5 KB of JSON, most of it `managedFields`, annotations and
//! container specs we never read. serde skips fields a struct does not name, so decoding into
//! these types runs ~5× faster than into `k8s_openapi`'s `Pod` (DESIGN.md, "Performance
//! targets"), and a full `ObjectMeta` alone (managedFields included) would cost more than the
//! rest. Real Nodes carry `status.images` (hundreds of entries), which [`NodeWire`] skips too.
//!
//! `kube`'s `Api`/`watcher` are generic over [`kube::Resource`], so these types implement it by
//! hand and the watcher uses them directly. `Resource::meta` must return an `ObjectMeta`: it is
//! built from a private struct that names only the metadata fields we need, so the costly ones
//! are skipped by serde and never materialised.
//!
//! This module only decodes; `cluster::project` turns these into `fleet::model` projections.
//! DaemonSets and ControllerRevisions are few (tens to hundreds), so they use k8s-openapi types.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::fleet::target_node::{TargetNode, target_node};

/// Labels of a daemon pod that the index reads; every other pod label is skipped while decoding.
pub const LABEL_REVISION_HASH: &str = "controller-revision-hash";
/// Set by the DaemonSet controller on its pods only (`pkg/controller/daemon/util.CreatePodTemplate`).
pub const LABEL_TEMPLATE_GENERATION: &str = "pod-template-generation";

/// `null` in the JSON means "absent": Kubernetes writes it for empty fields in some places
/// (`creationTimestamp: null` in templates, `conditions: null`), so collections accept it.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A label map that keeps only the daemon-pod labels above (the values of the others are
/// skipped without allocating).
fn daemon_pod_labels<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    struct Labels;
    impl<'de> Visitor<'de> for Labels {
        type Value = BTreeMap<String, String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of labels")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_map(Labels)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key::<LabelKey>()? {
                match key.0 {
                    Some(name) => {
                        out.insert(name.to_string(), map.next_value::<String>()?);
                    }
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(out)
        }
    }
    d.deserialize_option(Labels)
}

/// A label key, compared without allocating: `Some` for the labels we keep.
struct LabelKey(Option<&'static str>);

impl<'de> Deserialize<'de> for LabelKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<LabelKey, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = LabelKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a label key")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LabelKey, E> {
                Ok(LabelKey([LABEL_REVISION_HASH, LABEL_TEMPLATE_GENERATION].into_iter().find(|k| *k == v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// The metadata fields we read. Everything else (managedFields, annotations, finalizers …) is
/// skipped by serde.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PodMetaWire {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
    #[serde(default, deserialize_with = "daemon_pod_labels")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    owner_references: Vec<OwnerReference>,
}

/// Node metadata: all labels (the should-run predicate matches any of them).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NodeMetaWire {
    name: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
    #[serde(default, deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    if v.is_empty() { None } else { Some(v) }
}

impl From<PodMetaWire> for ObjectMeta {
    fn from(m: PodMetaWire) -> ObjectMeta {
        ObjectMeta {
            name: m.name,
            namespace: m.namespace,
            uid: m.uid,
            resource_version: m.resource_version,
            creation_timestamp: m.creation_timestamp,
            deletion_timestamp: m.deletion_timestamp,
            labels: if m.labels.is_empty() { None } else { Some(m.labels) },
            owner_references: non_empty(m.owner_references),
            ..ObjectMeta::default()
        }
    }
}

impl From<NodeMetaWire> for ObjectMeta {
    fn from(m: NodeMetaWire) -> ObjectMeta {
        ObjectMeta {
            name: m.name,
            uid: m.uid,
            resource_version: m.resource_version,
            creation_timestamp: m.creation_timestamp,
            deletion_timestamp: m.deletion_timestamp,
            labels: if m.labels.is_empty() { None } else { Some(m.labels) },
            ..ObjectMeta::default()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pods
// ---------------------------------------------------------------------------------------------

/// A Pod as the index needs it. Build one with `serde_json` (or let `kube` do it).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(from = "PodRaw")]
pub struct PodWire {
    /// name, namespace, uid, resourceVersion, creationTimestamp, deletionTimestamp, the two
    /// daemon-pod labels and ownerReferences; nothing else is filled in.
    pub metadata: ObjectMeta,
    pub spec: PodSpecWire,
    pub status: PodStatusWire,
}

#[derive(Deserialize)]
struct PodRaw {
    #[serde(default, deserialize_with = "nullable")]
    metadata: PodMetaWire,
    #[serde(default, deserialize_with = "nullable")]
    spec: PodSpecWire,
    #[serde(default, deserialize_with = "nullable")]
    status: PodStatusWire,
}

impl From<PodRaw> for PodWire {
    fn from(r: PodRaw) -> PodWire {
        PodWire { metadata: r.metadata.into(), spec: r.spec, status: r.status }
    }
}

impl kube::Resource for PodWire {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("Pod")
    }
    fn group(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    fn version(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("v1")
    }
    fn plural(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("pods")
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PodSpecWire {
    pub node_name: Option<String>,
    /// Only the required node affinity's matchFields are decoded (the DaemonSet controller
    /// pins an unbound pod to its node there).
    #[serde(default, deserialize_with = "nullable")]
    pub affinity: AffinityWire,
    #[serde(default, deserialize_with = "nullable")]
    pub init_containers: Vec<InitContainerWire>,
    #[serde(default, deserialize_with = "nullable")]
    pub containers: Vec<ContainerWire>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AffinityWire {
    #[serde(default, deserialize_with = "nullable")]
    pub node_affinity: NodeAffinityWire,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NodeAffinityWire {
    #[serde(default, deserialize_with = "nullable")]
    pub required_during_scheduling_ignored_during_execution: NodeSelectorWire,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelectorWire {
    #[serde(default, deserialize_with = "nullable")]
    pub node_selector_terms: Vec<NodeSelectorTermWire>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelectorTermWire {
    #[serde(default, deserialize_with = "nullable")]
    pub match_fields: Vec<RequirementWire>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RequirementWire {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub operator: String,
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<String>,
}

impl PodSpecWire {
    /// The node this daemon pod is for ([`target_node`]): `spec.nodeName`, or before binding the
    /// node its required affinity's `metadata.name In [node]` term names.
    pub fn target_node(&self) -> Option<TargetNode<'_>> {
        let terms =
            &self.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms;
        let fields = terms.iter().flat_map(|t| t.match_fields.iter());
        target_node(self.node_name.as_deref(), fields.map(|r| (r.key.as_str(), r.operator.as_str(), &r.values[..])))
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InitContainerWire {
    #[serde(default)]
    pub name: String,
    /// `Always` makes it a sidecar (restartable init container).
    pub restart_policy: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct ContainerWire {
    #[serde(default)]
    pub name: String,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PodStatusWire {
    pub phase: Option<String>,
    pub reason: Option<String>,
    /// `Evicted`: "The node was low on resource: memory. …"; also set on other failures.
    pub message: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub conditions: Vec<ConditionWire>,
    #[serde(default, deserialize_with = "nullable")]
    pub init_container_statuses: Vec<ContainerStatusWire>,
    #[serde(default, deserialize_with = "nullable")]
    pub container_statuses: Vec<ContainerStatusWire>,
}

/// One condition of a pod or node.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct ConditionWire {
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(default)]
    pub status: String,
    pub reason: Option<String>,
    #[serde(rename = "lastTransitionTime")]
    pub last_transition_time: Option<Time>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatusWire {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ready: bool,
    pub started: Option<bool>,
    #[serde(default)]
    pub restart_count: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub state: ContainerStateWire,
    #[serde(default, deserialize_with = "nullable")]
    pub last_state: ContainerStateWire,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct ContainerStateWire {
    pub waiting: Option<WaitingWire>,
    /// Only its presence matters.
    #[serde(default, deserialize_with = "present")]
    pub running: bool,
    pub terminated: Option<TerminatedWire>,
}

/// True when the field is present and not null; its content is skipped.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<IgnoredAny>::deserialize(d)?.is_some())
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct WaitingWire {
    #[serde(default)]
    pub reason: String,
    /// "back-off 5m0s restarting failed container=…", "Back-off pulling image …".
    pub message: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TerminatedWire {
    #[serde(default)]
    pub reason: String,
    /// Set by the kubelet from the container's termination log (or `OOMKilled`'s cgroup note).
    pub message: Option<String>,
    #[serde(default)]
    pub exit_code: i32,
    #[serde(default)]
    pub signal: i32,
    pub finished_at: Option<Time>,
}

// ---------------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------------

/// A Node as the index needs it: labels, taints, unschedulable, conditions, kubelet version.
/// `status.images`, `status.addresses`, capacity and the rest are skipped while decoding.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(from = "NodeRaw")]
pub struct NodeWire {
    /// name, uid, resourceVersion, creationTimestamp, deletionTimestamp and all labels.
    pub metadata: ObjectMeta,
    pub spec: NodeSpecWire,
    pub status: NodeStatusWire,
}

#[derive(Deserialize)]
struct NodeRaw {
    #[serde(default, deserialize_with = "nullable")]
    metadata: NodeMetaWire,
    #[serde(default, deserialize_with = "nullable")]
    spec: NodeSpecWire,
    #[serde(default, deserialize_with = "nullable")]
    status: NodeStatusWire,
}

impl From<NodeRaw> for NodeWire {
    fn from(r: NodeRaw) -> NodeWire {
        NodeWire { metadata: r.metadata.into(), spec: r.spec, status: r.status }
    }
}

impl kube::Resource for NodeWire {
    type DynamicType = ();
    type Scope = ClusterResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("Node")
    }
    fn group(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    fn version(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("v1")
    }
    fn plural(_: &()) -> Cow<'_, str> {
        Cow::Borrowed("nodes")
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct NodeSpecWire {
    pub unschedulable: Option<bool>,
    /// k8s-openapi's `Taint` (4 small fields) so that `cluster::sched` converts it.
    #[serde(default, deserialize_with = "nullable")]
    pub taints: Vec<k8s_openapi::api::core::v1::Taint>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatusWire {
    #[serde(default, deserialize_with = "nullable")]
    pub conditions: Vec<ConditionWire>,
    #[serde(default, deserialize_with = "nullable")]
    pub node_info: NodeInfoWire,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfoWire {
    #[serde(default)]
    pub kubelet_version: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    const POD: &str = r#"{
      "apiVersion": "v1", "kind": "Pod",
      "metadata": {
        "name": "node-exporter-x7k2p", "namespace": "monitoring", "uid": "u-1",
        "resourceVersion": "4242", "creationTimestamp": "2024-05-01T10:00:00Z",
        "labels": {"app": "node-exporter", "controller-revision-hash": "6d5f8b7c9",
                   "pod-template-generation": "3"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": "2024-05-01T09:59:00Z"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "node-exporter",
                             "uid": "ds-1", "controller": true, "blockOwnerDeletion": true}],
        "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                           "apiVersion": "v1", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}}}]
      },
      "spec": {
        "nodeName": "node-0001",
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
          "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                  "values": ["node-0001"]}]}]}}},
        "containers": [{"name": "exporter", "image": "prom/node-exporter:v1.7.0",
                        "resources": {"limits": {"cpu": "100m"}}}],
        "tolerations": [{"operator": "Exists"}]
      },
      "status": {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": null}],
        "containerStatuses": [{"name": "exporter", "ready": true, "started": true, "restartCount": 2,
          "image": "x", "imageID": "y", "containerID": "z",
          "state": {"running": {"startedAt": "2024-05-01T10:01:00Z"}},
          "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                       "finishedAt": "2024-05-01T10:00:59Z"}}}]
      }
    }"#;

    #[test]
    fn pod_decodes_only_needed_fields() {
        let pod: PodWire = serde_json::from_str(POD).expect("decodes");
        assert_eq!(pod.meta().name.as_deref(), Some("node-exporter-x7k2p"));
        assert_eq!(pod.meta().resource_version.as_deref(), Some("4242"));
        let labels = pod.meta().labels.clone().unwrap_or_default();
        assert_eq!(labels.len(), 2, "only the daemon-pod labels are kept: {labels:?}");
        assert_eq!(labels.get(LABEL_TEMPLATE_GENERATION).map(String::as_str), Some("3"));
        assert!(pod.meta().annotations.is_none());
        assert!(pod.meta().managed_fields.is_none());
        assert_eq!(pod.meta().owner_references.as_ref().map(Vec::len), Some(1));
        assert_eq!(pod.spec.target_node(), Some(TargetNode { name: "node-0001", bound: true }));
        let cs = &pod.status.container_statuses[0];
        assert!(cs.state.running);
        assert_eq!(cs.last_state.terminated.as_ref().map(|t| t.exit_code), Some(137));
    }

    #[test]
    fn unbound_pod_is_for_the_node_of_its_affinity_term() {
        let pod: PodWire = serde_json::from_str(
            r#"{"metadata": {"name": "p"},
                "spec": {"nodeName": null, "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                  "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-7"]}]}]}}}}}"#,
        )
        .expect("decodes");
        assert_eq!(pod.spec.target_node(), Some(TargetNode { name: "node-7", bound: false }));
    }

    #[test]
    fn pod_with_nulls_and_missing_sections_decodes() {
        let pod: PodWire = serde_json::from_str(
            r#"{"metadata": {"name": "p", "labels": null, "ownerReferences": null},
                "spec": null, "status": {"conditions": null}}"#,
        )
        .expect("decodes");
        assert_eq!(pod.meta().name.as_deref(), Some("p"));
        assert!(pod.meta().labels.is_none());
        assert!(pod.spec.containers.is_empty());
    }

    #[test]
    fn pod_wire_is_a_namespaced_v1_resource() {
        assert_eq!(PodWire::url_path(&(), Some("kube-system")), "/api/v1/namespaces/kube-system/pods");
        assert_eq!(NodeWire::url_path(&(), None), "/api/v1/nodes");
        assert_eq!(PodWire::api_version(&()), "v1");
    }

    #[test]
    fn node_skips_images_and_keeps_labels() {
        let node: NodeWire = serde_json::from_str(
            r#"{"metadata": {"name": "node-0001", "labels": {"a": "1", "kubernetes.io/os": "linux"}},
                "spec": {"unschedulable": true,
                         "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]},
                "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}],
                           "nodeInfo": {"kubeletVersion": "v1.30.2", "osImage": "x"},
                           "images": [{"names": ["a"], "sizeBytes": 1}]}}"#,
        )
        .expect("decodes");
        assert_eq!(node.meta().labels.as_ref().map(BTreeMap::len), Some(2));
        assert_eq!(node.spec.unschedulable, Some(true));
        assert_eq!(node.spec.taints[0].key, "dedicated");
        assert_eq!(node.status.node_info.kubelet_version, "v1.30.2");
    }
}
