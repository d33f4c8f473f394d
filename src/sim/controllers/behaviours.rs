//! A scenario's behaviours (`crashloop`, `imagepull`, `notready`, `reject-create`, `evicted`) resolved to
//! the (DaemonSet, node) pairs that show them under a seed. `populate` and the running
//! controllers resolve them the same way, so a pod created at time zero and its replacement
//! later behave alike.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;

use super::build_pod::target_node;
use super::rng::unit;
use crate::sim::scenario::{BehaviourKind, Scenario};

/// Behaviours resolved per (DaemonSet "ns/name", node name).
#[derive(Clone, Debug, Default)]
pub struct Behaviours {
    map: HashMap<(String, String), BehaviourKind>,
    messages: HashMap<(String, String), String>,
}

impl Behaviours {
    /// Which behaviour (if any) the pods of each DaemonSet show on each node of the scenario's
    /// pools, for a seed: a behaviour applies to the nodes of its pool (all pools when absent),
    /// narrowed to its indices, then to a seeded fraction. Nodes added later (churn) have none;
    /// the first behaviour listed for a (DaemonSet, node) wins.
    pub fn resolve(scenario: &Scenario, seed: u64) -> Behaviours {
        let mut map = HashMap::new();
        let mut messages = HashMap::new();
        for d in &scenario.daemonsets {
            for b in &d.behaviours {
                for p in scenario.pools.iter().filter(|p| b.pool.as_ref().is_none_or(|n| *n == p.name)) {
                    for i in 0..p.count {
                        if !b.indices.is_empty() && !b.indices.contains(&i) {
                            continue;
                        }
                        let node = p.node_name(i);
                        if let Some(f) = b.fraction
                            && unit(seed, &[&d.key(), &node, "behaviour"]) >= f
                        {
                            continue;
                        }
                        map.entry((d.key(), node.clone())).or_insert(b.kind);
                        if let Some(m) = &b.message {
                            messages.insert((d.key(), node), m.clone());
                        }
                    }
                }
            }
        }
        Behaviours { map, messages }
    }

    /// The behaviour a recorded pod shows, so that the simulator's kubelet goes on showing it
    /// (`--replay-live`): a crash loop or a container that terminated with an error, an image
    /// that cannot be pulled, or running containers that are not ready. A pod caught while
    /// still starting reads as not ready too; a recording cannot tell the two apart.
    pub fn recorded(pod: &Pod) -> Option<BehaviourKind> {
        let status = pod.status.as_ref()?;
        let containers = status.container_statuses.as_deref().unwrap_or_default();
        let waiting = |r: &str| {
            containers
                .iter()
                .any(|c| c.state.as_ref().and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.as_deref()) == Some(r))
        };
        if waiting("CrashLoopBackOff")
            || containers
                .iter()
                .any(|c| c.last_state.as_ref().and_then(|s| s.terminated.as_ref()).is_some_and(|t| t.exit_code != 0))
        {
            return Some(BehaviourKind::Crashloop);
        }
        if waiting("ErrImagePull") || waiting("ImagePullBackOff") {
            return Some(BehaviourKind::Imagepull);
        }
        let running =
            !containers.is_empty() && containers.iter().all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()));
        if running && containers.iter().any(|c| !c.ready) {
            return Some(BehaviourKind::Notready);
        }
        None
    }

    /// Add the behaviour of a recorded pod of DaemonSet `ds_key` (see [`Behaviours::recorded`]).
    pub fn learn(&mut self, ds_key: &str, pod: &Pod) {
        if let (Some(kind), Some(node)) = (Self::recorded(pod), target_node(pod)) {
            self.map.entry((ds_key.to_string(), node.to_string())).or_insert(kind);
        }
    }

    pub fn get(&self, ds_key: &str, node: &str) -> Option<BehaviourKind> {
        // A tuple key needs owned strings; behaviours are few, lookups are per pod transition.
        self.map.get(&(ds_key.to_string(), node.to_string())).copied()
    }
    pub fn message(&self, ds_key: &str, node: &str) -> Option<&str> {
        self.messages.get(&(ds_key.to_string(), node.to_string())).map(String::as_str)
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
