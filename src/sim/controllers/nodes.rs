//! Node lifecycle: keeps taints in step with node state as the node lifecycle controller does
//! (pkg/controller/nodelifecycle: `doNoScheduleTaintingPass` adds `not-ready`/`unreachable`
//! NoSchedule and `unschedulable` NoSchedule for cordoned nodes, `doNoExecuteTaintingPass` the
//! NoExecute ones, `markPodsNotReady` flips pods' Ready condition when the node is lost), and
//! PodGC's removal of pods bound to nodes that no longer exist.
//!
//! Heartbeats are deliberately not refreshed: a real kubelet posts status every ~40 s only
//! when something changed, and refreshing 5,000 nodes would flood every watch.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Taint};

use super::build::{self, time};
use super::cache::Cache;
use super::kubelet;
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

/// React to a node event: fix its taints, mark its pods not ready when it is lost.
pub fn sync_node(store: &Store, cache: &Cache, name: &str, now: Timestamp) -> Result<(), StoreError> {
    let Some(s) = cache.nodes.get(name) else {
        // PodGC (`gcOrphaned`): pods bound to a deleted node are removed at once.
        for key in cache.pods_by_node.get(name).into_iter().flatten() {
            if let Some(p) = cache.pods.get(key)
                && let Object::Pod(pod) = &p.obj
                && pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(name)
            {
                match store.delete(Kind::Pod, &key.namespace, &key.name) {
                    Ok(_) | Err(StoreError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        return Ok(());
    };
    let Object::Node(node) = &s.obj else { return Ok(()) };
    let mut n = node.clone();
    if reconcile_taints(&mut n, now) {
        match store.update(Object::Node(n), Some(s.rv)) {
            Ok(_) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    if !build::node_is_ready(node) {
        let keys: Vec<ObjKey> = cache.pods_by_node.get(name).into_iter().flatten().cloned().collect();
        for key in keys {
            let Some(p) = cache.pods.get(&key) else { continue };
            let Object::Pod(pod) = &p.obj else { continue };
            let mut pod = pod.clone();
            if kubelet::mark_not_ready(&mut pod, now, false) {
                match store.update(Object::Pod(pod), Some(p.rv)) {
                    Ok(_) | Err(StoreError::NotFound { .. }) | Err(StoreError::Conflict { .. }) => {}
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
