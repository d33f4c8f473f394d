//! Background churn at a given rate (events per second), seeded: container restarts (60 %),
//! readiness flaps (25 %) and nodes lost for a while (15 %). Each event is a real write, so
//! watches see what a busy fleet looks like.

use std::collections::HashMap;

use super::cache::Cache;
use super::daemonset::Ctx;
use super::kubelet::{self, Kubelet};
use super::nodes;
use super::rng::SplitMix64;
use crate::sim::store::{ObjKey, Object, StoreError};

pub struct Churn {
    pub rate: f64,
    rng: SplitMix64,
    last_ms: Option<i64>,
    budget: f64,
    /// Lost nodes and when they come back.
    pub node_back: HashMap<String, i64>,
}

impl Churn {
    pub fn new(rate: f64, seed: u64) -> Churn {
        Churn { rate, rng: SplitMix64::derived(seed, "churn"), last_ms: None, budget: 0.0, node_back: HashMap::new() }
    }

    pub fn step(&mut self, ctx: &Ctx<'_>, cache: &Cache, kubelet: &mut Kubelet) -> Result<(), StoreError> {
        let now_ms = ctx.now.as_millisecond();
        let back: Vec<String> = self.node_back.iter().filter(|(_, t)| **t <= now_ms).map(|(n, _)| n.clone()).collect();
        for n in back {
            self.node_back.remove(&n);
            match nodes::set_ready(ctx.store, &n, true, ctx.now) {
                Ok(()) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let last = self.last_ms.replace(now_ms).unwrap_or(now_ms);
        if self.rate <= 0.0 {
            return Ok(());
        }
        self.budget += self.rate * (now_ms - last).max(0) as f64 / 1000.0;
        // Never burst more than a second's worth after a stall.
        self.budget = self.budget.min(self.rate.max(1.0));
        while self.budget >= 1.0 {
            self.budget -= 1.0;
            let roll = self.rng.next_f64();
            if roll < 0.85 {
                let Some(key) = self.pick_pod(cache) else { continue };
                let Some(s) = cache.pods.get(&key) else { continue };
                let Object::Pod(pod) = &*s.obj() else { continue };
                if pod.metadata.deletion_timestamp.is_some() {
                    continue;
                }
                let node_name = super::build_pod::target_node(pod).unwrap_or("");
                let Some(Object::Node(node)) = cache.nodes.get(node_name).and_then(|s| s.typed()) else { continue };
                let mut pod = pod.clone();
                let ds_name = cache.owner_key(s).map(|k| k.name.clone()).unwrap_or_default();
                let changed = if roll < 0.60 {
                    kubelet::restart_container(&mut pod, node, &ds_name, ctx.now)
                } else {
                    let until = now_ms + self.rng.range(10_000, 30_000);
                    kubelet.flap_until.insert(key.clone(), until);
                    kubelet::mark_not_ready(&mut pod, ctx.now, true)
                };
                if changed {
                    match ctx.store.update(Object::Pod(pod), Some(s.rv)) {
                        Ok(_) | Err(StoreError::NotFound { .. }) | Err(StoreError::Conflict { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
            } else {
                let n = cache.nodes.len();
                if n == 0 || self.node_back.len() * 20 >= n {
                    continue;
                }
                let idx = (self.rng.next_u64() % n as u64) as usize;
                let Some(name) = cache.nodes.keys().nth(idx).cloned() else { continue };
                if self.node_back.contains_key(&name)
                    || !cache
                        .nodes
                        .get(&name)
                        .is_some_and(|s| matches!(&*s.obj(), Object::Node(nd) if super::build::node_is_ready(nd)))
                {
                    continue;
                }
                self.node_back.insert(name.clone(), now_ms + self.rng.range(20_000, 60_000));
                match nodes::set_ready(ctx.store, &name, false, ctx.now) {
                    Ok(()) | Err(StoreError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    fn pick_pod(&mut self, cache: &Cache) -> Option<ObjKey> {
        // Nodes and each node's pods are ordered, so the same seed picks the same pods.
        let n = cache.nodes.len();
        if n == 0 {
            return None;
        }
        let idx = (self.rng.next_u64() % n as u64) as usize;
        let node = cache.nodes.keys().nth(idx)?;
        let pods = cache.pods_by_node.get(node)?;
        let i = (self.rng.next_u64() % pods.len().max(1) as u64) as usize;
        pods.iter().nth(i).cloned()
    }
}
