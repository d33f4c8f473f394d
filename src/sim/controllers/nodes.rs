//! Node lifecycle: keeps taints in step with node state as the node lifecycle controller does
//! (pkg/controller/nodelifecycle: `doNoScheduleTaintingPass` adds `not-ready`/`unreachable`
//! NoSchedule and `unschedulable` NoSchedule for cordoned nodes, `doNoExecuteTaintingPass` the
//! NoExecute ones, `markPodsNotReady` flips pods' Ready condition when the node is lost), and
//! PodGC's removal of pods bound to nodes that no longer exist. A node that stops being Ready
//! gets the controller's events: `NodeNotReady` on the Node (Normal, once per transition) and
//! on each of its pods (Warning, when the pod is marked not ready).
//!
//! Heartbeats are deliberately not refreshed: a real kubelet posts status every ~40 s only
//! when something changed, and refreshing 5,000 nodes would flood every watch.

use jiff::Timestamp;
use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod, Taint};

use super::build::{self, time};
use super::cache::Cache;
use super::kubelet;
use super::pod_events::{self, About, PodEvent};
use crate::fleet::schedule::taints as tk;
use crate::sim::store::{Kind, ObjKey, Object, Store, StoreError};

/// The taints a node's Ready condition calls for: (key, [effects]).
fn wanted_condition_taint(node: &Node) -> Option<&'static str> {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str());
    match ready {
        Some("True") => None,
        Some("False") => Some(tk::NOT_READY),
        _ => Some(tk::UNREACHABLE),
    }
}

/// Bring taints in line with the node's state; true when the node changed.
pub fn reconcile_taints(node: &mut Node, now: Timestamp) -> bool {
    let mut changed = build::sync_unschedulable_taint(node, now);
    let want = wanted_condition_taint(node);
    let spec = node.spec.get_or_insert_with(Default::default);
    let taints = spec.taints.get_or_insert_with(Vec::new);
    let before = taints.len();
    taints.retain(|t| !((t.key == tk::NOT_READY || t.key == tk::UNREACHABLE) && Some(t.key.as_str()) != want));
    changed |= taints.len() != before;
    if let Some(key) = want {
        for (effect, added) in [("NoSchedule", None), ("NoExecute", Some(time(now)))] {
            if !taints.iter().any(|t| t.key == key && t.effect == effect) {
                taints.push(Taint { key: key.into(), value: None, effect: effect.into(), time_added: added });
                changed = true;
            }
        }
    }
    if taints.is_empty() {
        spec.taints = None;
    }
    changed
}

/// The node lifecycle controller's recorder (`EventSource{Component: "node-controller"}`).
const NODE_CONTROLLER: &str = "node-controller";

/// `RecordNodeStatusChange(recorder, node, "NodeNotReady")` (pkg/controller/util/node/
/// controller_utils.go): a Normal event about the Node, "Node NAME status is now: NodeNotReady".
pub fn record_node_not_ready(store: &Store, node: &Node, now: Timestamp) -> Result<(), StoreError> {
    let name = node.metadata.name.clone().unwrap_or_default();
    let involved = ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Node".into()),
        name: Some(name.clone()),
        uid: node.metadata.uid.clone(),
        namespace: Some(String::new()),
        ..Default::default()
    };
    let ev = PodEvent {
        warning: false,
        reason: "NodeNotReady",
        message: format!("Node {name} status is now: NodeNotReady"),
    };
    let about = About { involved, component: NODE_CONTROLLER, host: String::new() };
    pod_events::record_about(store, &about, &ev, 1, now, now)
}

/// `MarkPodsNotReady` (pkg/controller/util/node/controller_utils.go) records, after flipping a
/// pod's Ready condition: `recorder.Event(pod, Warning, "NodeNotReady", "Node is not ready")`.
pub fn record_pod_not_ready(store: &Store, pod: &Pod, now: Timestamp) -> Result<(), StoreError> {
    let about = About { involved: pod_events::pod_ref(pod), component: NODE_CONTROLLER, host: String::new() };
    pod_events::record_about(
        store,
        &about,
        &pod_events::warning("NodeNotReady", "Node is not ready".into()),
        1,
        now,
        now,
    )
}

/// React to a node event: fix its taints, mark its pods not ready when it is lost. `lost`
/// holds the nodes already reported NotReady (the controller's observed Ready condition), so
/// the Node's event is recorded once per transition.
pub fn sync_node(
    store: &Store,
    cache: &Cache,
    name: &str,
    lost: &mut BTreeSet<String>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let Some(s) = cache.nodes.get(name) else {
        // PodGC (`gcOrphaned`): pods bound to a deleted node are removed at once.
        for key in cache.pods_by_node.get(name).into_iter().flatten() {
            if let Some(p) = cache.pods.get(key)
                && p.head.field("spec.nodeName") == name
            {
                match store.delete(Kind::Pod, &key.namespace, &key.name) {
                    Ok(_) | Err(StoreError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        return Ok(());
    };
    let Some(Object::Node(node)) = s.typed() else { return Ok(()) };
    let mut n = node.clone();
    if reconcile_taints(&mut n, now) {
        match store.update(Object::Node(n), Some(s.rv)) {
            Ok(_) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    if build::node_is_ready(node) {
        lost.remove(name);
    } else {
        if !lost.contains(name) {
            record_node_not_ready(store, node, now)?;
            lost.insert(name.to_string());
        }
        let keys: Vec<ObjKey> = cache.pods_by_node.get(name).into_iter().flatten().cloned().collect();
        for key in keys {
            let Some(p) = cache.pods.get(&key) else { continue };
            let Object::Pod(mut pod) = p.obj().into_owned() else { continue };
            if kubelet::mark_not_ready(&mut pod, now, false) {
                match store.update_typed(Object::Pod(pod), Some(p.rv)) {
                    Ok((_, stored)) => {
                        if let Object::Pod(pod) = &stored {
                            record_pod_not_ready(store, pod, now)?;
                        }
                    }
                    Err(StoreError::NotFound { .. }) | Err(StoreError::Conflict { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(())
}

/// Set a node Ready or lost (churn, tests): conditions as the kubelet / node controller write
/// them; taints follow in `sync_node`.
pub fn set_ready(store: &Store, name: &str, ready: bool, now: Timestamp) -> Result<(), StoreError> {
    store
        .modify::<StoreError>(Kind::Node, "", name, |o| {
            if let Object::Node(n) = o {
                build::set_node_ready(n, ready, now, now);
                reconcile_taints(n, now);
            }
            Ok(())
        })
        .map(|_| ())
}
