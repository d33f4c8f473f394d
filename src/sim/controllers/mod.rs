//! Controllers that give the simulated cluster life on the simulated clock: the DaemonSet
//! controller (`daemonset`), the kubelets and the scheduler's binding (`kubelet`), node
//! lifecycle and PodGC (`nodes`), the garbage collector for deleted DaemonSets, and churn.
//!
//! [`Controllers`] owns their state and an informer-like cache fed by the store's events;
//! [`Controllers::step`] runs one pass synchronously (tests drive it with a frozen clock), and
//! [`spawn`] runs passes every 100 ms and as soon as the store reports a change.

pub mod behaviours;
pub mod build;
pub mod build_pod;
pub mod cache;
pub mod churn;
pub mod daemonset;
pub mod kubelet;
pub mod nodes;
pub mod pod_events;
pub mod populate;
pub mod rng;
pub mod scheduler;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::TryRecvError;
use tokio_util::sync::CancellationToken;

use self::behaviours::Behaviours;
use self::cache::{Cache, Change};
use self::churn::Churn;
use self::daemonset::{Ctx, DsController};
use self::kubelet::Kubelet;
use super::scenario::Scenario;
use super::store::{Kind, ObjKey, Object, Subscription};
use super::{Clock, Store};

/// Re-examine every DaemonSet this often even without events (like an informer resync; the
/// controller manager's informers resync every 12 to 24 hours). Events and the controller's own
/// requeues (back-offs, minReadySeconds) drive every sync that matters; this is a safety net, and
/// a costly one on `large`: a resync reads the outlines of all 150,000 pods (~4 s of CPU), which
/// every 30 s kept an idle simulator at ~13% of a core.
const RESYNC_MS: i64 = 600_000;

pub struct Controllers {
    store: Arc<Store>,
    clock: Arc<Clock>,
    scenario: Arc<Scenario>,
    seed: u64,
    behaviours: Behaviours,
    cache: Cache,
    sub: Option<Subscription>,
    ds: DsController,
    kubelet: Kubelet,
    churn: Churn,
    dirty_ds: BTreeSet<ObjKey>,
    dirty_nodes: BTreeSet<String>,
    dirty_pods: BTreeSet<ObjKey>,
    /// Namespaces whose pods or quotas changed: their quotas' status is recomputed.
    dirty_quota_ns: BTreeSet<String>,
    deleted_owners: BTreeSet<String>,
    /// Nodes the node lifecycle controller has seen lose Ready (its observed condition).
    lost_nodes: BTreeSet<String>,
    last_resync_ms: i64,
}

impl Controllers {
    /// Controllers over what the store holds now. `churn` overrides the scenario's rate.
    pub fn new(
        store: Arc<Store>,
        clock: Arc<Clock>,
        scenario: Arc<Scenario>,
        seed: u64,
        churn: Option<f64>,
    ) -> Controllers {
        let rate = churn.unwrap_or(scenario.churn_per_sec);
        let mut c = Controllers {
            behaviours: Behaviours::resolve(&scenario, seed),
            store,
            clock,
            scenario,
            seed,
            cache: Cache::default(),
            sub: None,
            ds: DsController::default(),
            kubelet: Kubelet::default(),
            churn: Churn::new(rate, seed),
            dirty_ds: BTreeSet::new(),
            dirty_nodes: BTreeSet::new(),
            dirty_pods: BTreeSet::new(),
            dirty_quota_ns: BTreeSet::new(),
            deleted_owners: BTreeSet::new(),
            lost_nodes: BTreeSet::new(),
            last_resync_ms: 0,
        };
        c.relist();
        // Nodes already down were reported when they went down (populate records that).
        c.lost_nodes = c
            .cache
            .nodes
            .iter()
            .filter(|(_, s)| matches!(&*s.obj(), Object::Node(n) if !build::node_is_ready(n)))
            .map(|(n, _)| n.clone())
            .collect();
        if c.scenario.behaviours_from_pods {
            for s in c.cache.pods.values() {
                if let (Object::Pod(pod), Some(k)) = (&*s.obj(), c.cache.owner_key(s)) {
                    c.behaviours.learn(&format!("{}/{}", k.namespace, k.name), pod);
                }
            }
        }
        c
    }

    /// Rebuild the cache from a full list (start, or after falling behind the event stream).
    fn relist(&mut self) {
        let (cache, rv) = Cache::load(&self.store);
        self.cache = cache;
        self.sub = self.store.subscribe_from(rv).ok();
        self.dirty_ds.extend(self.cache.daemonsets.keys().cloned());
        self.dirty_nodes.extend(self.cache.nodes.keys().cloned());
        self.dirty_pods.extend(self.cache.pods.keys().cloned());
    }

    /// Apply every pending store event to the cache and mark what it touched.
    fn drain(&mut self) {
        let mut events = Vec::new();
        let mut lagged = false;
        if let Some(sub) = self.sub.as_mut() {
            events.append(&mut sub.backlog);
            loop {
                match sub.rx.try_recv() {
                    Ok(ev) => events.push(ev),
                    Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => break,
                    Err(TryRecvError::Lagged(_)) => {
                        lagged = true;
                        break;
                    }
                }
            }
        }
        if lagged || self.sub.is_none() {
            self.relist();
            return;
        }
        for ev in events {
            let deleted_ds = ev.kind == Kind::DaemonSet && ev.etype == super::store::EventType::Deleted;
            if ev.kind == Kind::ResourceQuota {
                self.quota_changed(ev.object.namespace());
            }
            match self.cache.apply(&ev) {
                Change::Node(n) => {
                    self.dirty_nodes.insert(n.clone());
                    self.dirty_ds.extend(self.cache.daemonsets.keys().cloned());
                    self.wake_pods_of(&n);
                }
                Change::DaemonSet(k, uid) => {
                    if deleted_ds && let Some(u) = uid {
                        self.deleted_owners.insert(u);
                    }
                    self.dirty_ds.insert(k);
                }
                Change::Pod { key, owners, nodes } => {
                    if ev.etype == super::store::EventType::Deleted {
                        // Room freed on the node: its unschedulable pods try again.
                        for n in &nodes {
                            self.wake_pods_of(n);
                        }
                    }
                    self.dirty_quota_ns.insert(key.namespace.clone());
                    for o in owners {
                        match self.cache.ds_by_uid.get(&o) {
                            Some(k) => {
                                self.dirty_ds.insert(k.clone());
                            }
                            None => {
                                self.deleted_owners.insert(o);
                            }
                        }
                    }
                    self.dirty_pods.insert(key);
                }
                Change::Revision(Some(o)) => {
                    if let Some(k) = self.cache.ds_by_uid.get(&o) {
                        self.dirty_ds.insert(k.clone());
                    }
                }
                Change::Revision(None) | Change::Other => {}
            }
        }
    }

    /// Every pod of node `n` is looked at again, unschedulable ones included.
    fn wake_pods_of(&mut self, n: &str) {
        for k in self.cache.pods_by_node.get(n).into_iter().flatten() {
            self.kubelet.wake(k);
            self.dirty_pods.insert(k.clone());
        }
    }

    /// A quota of `namespace` was written or deleted: recompute its status, and let the
    /// namespace's DaemonSets retry creations it refused (or may now refuse).
    fn quota_changed(&mut self, namespace: &str) {
        self.dirty_quota_ns.insert(namespace.to_string());
        self.ds.quota_changed();
        let in_ns = self.cache.daemonsets.keys().filter(|k| k.namespace == namespace).cloned();
        self.dirty_ds.extend(in_ns.collect::<Vec<_>>());
    }

    /// One pass of every controller at the clock's current time.
    pub fn step(&mut self) {
        self.drain();
        let now = self.clock.now();
        let now_ms = now.as_millisecond();
        if now_ms - self.last_resync_ms >= RESYNC_MS {
            self.last_resync_ms = now_ms;
            self.dirty_ds.extend(self.cache.daemonsets.keys().cloned());
        }
        let due: Vec<ObjKey> = self.ds.requeue.iter().filter(|(_, t)| **t <= now_ms).map(|(k, _)| k.clone()).collect();
        for k in due {
            self.ds.requeue.remove(&k);
            self.dirty_ds.insert(k);
        }
        let ctx = Ctx { store: &self.store, cache: &self.cache, now, behaviours: &self.behaviours, seed: self.seed };

        // Garbage collector: dependents of deleted DaemonSets go (background propagation).
        for uid in std::mem::take(&mut self.deleted_owners) {
            if self.cache.ds_by_uid.contains_key(&uid) {
                continue;
            }
            for s in self.cache.owned_pods(&uid) {
                if let Object::Pod(p) = &*s.obj()
                    && let Err(e) = daemonset::delete_pod(&self.store, p, now)
                {
                    tracing::debug!("garbage collecting pod: {e}");
                }
            }
            for s in self.cache.owned_revisions(&uid) {
                let _ = self.store.delete(Kind::ControllerRevision, s.namespace(), s.name());
            }
        }
        for n in std::mem::take(&mut self.dirty_nodes) {
            if let Err(e) = nodes::sync_node(&self.store, &self.cache, &n, &mut self.lost_nodes, now) {
                tracing::debug!("node {n}: {e}");
                self.dirty_nodes.insert(n);
            }
        }
        for key in std::mem::take(&mut self.dirty_ds) {
            if let Err(e) = self.ds.sync(&ctx, &key) {
                tracing::debug!("daemonset {}/{}: {e}", key.namespace, key.name);
                self.ds.requeue.insert(key, now_ms + 100);
            }
        }
        for key in std::mem::take(&mut self.dirty_pods) {
            self.kubelet.plan(&self.cache, &self.scenario, &ctx, &key);
        }
        for key in self.kubelet.take_due(now_ms) {
            if let Err(e) = self.kubelet.run(&self.cache, &self.scenario, &ctx, &key) {
                tracing::debug!("kubelet {}/{}: {e}", key.namespace, key.name);
                self.dirty_pods.insert(key);
            }
        }
        if let Err(e) = self.churn.step(&ctx, &self.cache, &mut self.kubelet) {
            tracing::debug!("churn: {e}");
        }
        // The quota controller: status.used follows the pods (a namespace without quotas
        // costs one empty range lookup).
        for ns in std::mem::take(&mut self.dirty_quota_ns) {
            if let Err(e) = super::quota::refresh(&self.store, &ns, now) {
                tracing::debug!("quota status in {ns}: {e}");
                self.dirty_quota_ns.insert(ns);
            }
        }
    }

    /// Step until nothing is left to do at the current time (tests), at most `max` passes.
    /// Returns the number of passes taken.
    pub fn settle(&mut self, max: usize) -> usize {
        for i in 0..max {
            let rv = self.store.current_rv();
            self.step();
            let due_now = self.kubelet.next_due_ms().is_some_and(|t| t <= self.clock.now().as_millisecond());
            if self.store.current_rv() == rv && !due_now && self.dirty_pods.is_empty() {
                return i + 1;
            }
        }
        max
    }

    /// The churn generator's rate (events per second).
    pub fn churn_rate(&self) -> f64 {
        self.churn.rate
    }
}

/// Run all controllers until `shutdown` is cancelled. `churn` overrides the scenario's rate.
pub fn spawn(
    store: Arc<Store>,
    clock: Arc<Clock>,
    scenario: Arc<Scenario>,
    seed: u64,
    churn: Option<f64>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // A separate receiver wakes us promptly on API writes; the controllers drain their own.
        let mut wake = store.subscribe_from(store.current_rv()).ok().map(|s| s.rx);
        let mut ctl = {
            let (store, clock, scenario) = (store.clone(), clock.clone(), scenario.clone());
            match tokio::task::spawn_blocking(move || Controllers::new(store, clock, scenario, seed, churn)).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("controllers failed to start: {e}");
                    return;
                }
            }
        };
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ctl = match tokio::task::spawn_blocking(move || {
                ctl.step();
                ctl
            })
            .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("controller pass panicked: {e}");
                    return;
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
                _ = async {
                    match wake.as_mut() {
                        Some(rx) => { let _ = rx.recv().await; }
                        None => std::future::pending::<()>().await,
                    }
                } => {
                    // Let a burst of API writes land before the pass.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    if let Some(rx) = wake.as_mut() {
                        while rx.try_recv().is_ok() {}
                    }
                }
            }
        }
    })
}
