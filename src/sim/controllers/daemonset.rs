//! The DaemonSet controller, after pkg/controller/daemon (v1.28): `syncDaemonSet` →
//! `constructHistory` (ControllerRevisions), `manage` (`podsShouldBeOnNode`: create missing
//! pods, delete evicted/duplicate/failed ones), `rollingUpdate` (maxUnavailable and maxSurge),
//! `cleanupHistory` and `updateDaemonSetStatus`. OnDelete only creates what is missing, with the
//! newest template. Placement is `fleet::schedule::should_run`, the same predicate the UI uses.
//!
//! It reads the informer cache and writes through the store; it never blocks.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::behaviours::Behaviours;
use super::build::{self, REVISION_HASH_LABEL, TEMPLATE_GENERATION_ANNOTATION, TEMPLATE_GENERATION_LABEL, time};
use super::build_pod::{self, is_available, is_ready};
use super::cache::Cache;
use crate::cluster::sched::{NodeSched, pod_sched_spec};
use crate::fleet::schedule::{Decision, daemon_tolerations, should_run_with};
use crate::sim::quota;
use crate::sim::scenario::BehaviourKind;
use crate::sim::store::{Kind, ObjKey, Object, Store, StoreError, Stored};

pub struct Ctx<'a> {
    pub store: &'a Store,
    pub cache: &'a Cache,
    pub now: Timestamp,
    pub behaviours: &'a Behaviours,
    pub seed: u64,
}

/// `util.GetTemplateGeneration`: the annotation, when it parses.
pub fn template_generation(ds: &DaemonSet) -> Option<i64> {
    ds.metadata.annotations.as_ref()?.get(TEMPLATE_GENERATION_ANNOTATION)?.parse().ok()
}

/// `util.IsPodUpdated`: the pod's hash label equals the current revision's, or its
/// template-generation label equals the DaemonSet's.
pub fn is_pod_updated(pod: &Pod, hash: &str, generation: Option<i64>) -> bool {
    let labels = pod.metadata.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    let template_matches = generation.is_some_and(|g| label(TEMPLATE_GENERATION_LABEL) == Some(g.to_string().as_str()));
    let hash_matches = !hash.is_empty() && label(REVISION_HASH_LABEL) == Some(hash);
    hash_matches || template_matches
}

/// `intstr.GetScaledValueFromIntOrPercent(v, total, roundUp=true)`, as `util.SurgeCount` and
/// `util.UnavailableCount` call it (both round up).
pub fn scaled(v: Option<&IntOrString>, total: i32, default: i32) -> i32 {
    match v {
        None => default,
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => match s.strip_suffix('%').and_then(|p| p.trim().parse::<i64>().ok()) {
            Some(p) => ((p * i64::from(total)) as f64 / 100.0).ceil() as i32,
            None => s.parse().unwrap_or(default),
        },
    }
}

fn is_on_delete(ds: &DaemonSet) -> bool {
    Some(&ds.spec).and_then(|s| s.update_strategy.as_ref()).and_then(|u| u.type_.as_deref()) == Some("OnDelete")
}

/// (maxSurge, maxUnavailable) for `desired` nodes (`updatedDesiredNodeCounts`): if both are 0,
/// maxUnavailable becomes 1 so a rollout can proceed.
pub fn surge_unavailable(ds: &DaemonSet, desired: i32) -> (i32, i32) {
    let ru = Some(&ds.spec).and_then(|s| s.update_strategy.as_ref()).and_then(|u| u.rolling_update.as_ref());
    let surge = scaled(ru.and_then(|r| r.max_surge.as_ref()), desired, 0);
    let mut unavailable = scaled(ru.and_then(|r| r.max_unavailable.as_ref()), desired, 1);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

fn is_terminal(p: &Pod) -> bool {
    matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Failed" | "Succeeded"))
}

fn is_failed(p: &Pod) -> bool {
    p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed")
}

/// client-go's `flowcontrol.Backoff` as the controller makes it for failed pods
/// (`failedPodsBackoff: flowcontrol.NewBackOff(1*time.Second, 15*time.Minute)`), per
/// (DaemonSet, node): `Next` starts at 1 s, doubles up to 15 min, and starts over once an
/// entry has not been touched for twice the maximum; `IsInBackOffSinceUpdate` holds while
/// less than the current back-off has passed since the last `Next`.
#[derive(Default)]
pub struct FailedPodsBackoff {
    /// (ds uid, node) → (last update, current back-off), ms.
    entries: HashMap<(String, String), (i64, i64)>,
}

impl FailedPodsBackoff {
    const INITIAL_MS: i64 = 1_000;
    const MAX_MS: i64 = 15 * 60_000;

    /// When the back-off of `key` ends, if it has not yet.
    pub fn in_backoff(&self, key: &(String, String), now_ms: i64) -> Option<i64> {
        let (last, backoff) = *self.entries.get(key)?;
        (now_ms - last < backoff).then_some(last + backoff)
    }

    pub fn next(&mut self, key: (String, String), now_ms: i64) {
        let e = self.entries.entry(key).or_insert((now_ms, 0));
        let expired = now_ms - e.0 > 2 * Self::MAX_MS;
        e.1 = if e.1 == 0 || expired { Self::INITIAL_MS } else { (e.1 * 2).min(Self::MAX_MS) };
        e.0 = now_ms;
    }
}

fn deleting(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_some()
}

fn created(p: &Pod) -> i64 {
    p.metadata.creation_timestamp.as_ref().map_or(0, |t| t.0.as_second())
}

/// `podByCreationTimestampAndPhase`: Running before others? No: oldest first, name breaks ties.
fn sort_oldest_first(pods: &mut [&Pod]) {
    pods.sort_by(|a, b| created(a).cmp(&created(b)).then_with(|| a.metadata.name.cmp(&b.metadata.name)));
}

/// `updateDaemonSetStatus`: the counters the real controller writes.
pub fn compute_status<'a>(
    ds: &DaemonSet,
    nodes: impl Iterator<Item = (&'a NodeSched, Decision)>,
    node_pods: &HashMap<String, Vec<&Pod>>,
    hash: &str,
    now: Timestamp,
) -> DaemonSetStatus {
    let generation = template_generation(ds);
    let min_ready = Some(&ds.spec).and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let (mut desired, mut current, mut mis, mut ready, mut available, mut updated) = (0, 0, 0, 0, 0, 0);
    for (node, d) in nodes {
        let pods = node_pods.get(&node.name).filter(|v| !v.is_empty());
        if d.should_run {
            desired += 1;
            let Some(pods) = pods else { continue };
            current += 1;
            let mut pods = pods.clone();
            sort_oldest_first(&mut pods);
            let pod = pods[0];
            if is_ready(pod) {
                ready += 1;
                if is_available(pod, min_ready, now) {
                    available += 1;
                }
            }
            if is_pod_updated(pod, hash, generation) {
                updated += 1;
            }
        } else if pods.is_some() {
            mis += 1;
        }
    }
    DaemonSetStatus {
        collision_count: ds.status.as_ref().and_then(|s| s.collision_count),
        conditions: None,
        current_number_scheduled: current,
        desired_number_scheduled: desired,
        number_available: Some(available),
        number_misscheduled: mis,
        number_ready: ready,
        number_unavailable: Some(desired - available),
        observed_generation: ds.metadata.generation,
        updated_number_scheduled: Some(updated),
    }
}

/// Controller state that the real one keeps in memory: prototypes per revision, back-off
/// for rejected creations and failed pods.
#[derive(Default)]
pub struct DsController {
    protos: HashMap<(String, String, Option<i64>), Pod>,
    /// (ds uid, node) → (next attempt, current back-off), ms since the epoch.
    create_backoff: HashMap<(String, String), (i64, i64)>,
    /// ds uid → (next attempt, current back-off) after a quota refused a creation: the real
    /// controller's work queue retries a failed sync with exponential back-off.
    quota_backoff: HashMap<String, (i64, i64)>,
    failed_pods_backoff: FailedPodsBackoff,
    /// When a DaemonSet wants to be looked at again (back-off, minReadySeconds).
    pub requeue: BTreeMap<ObjKey, i64>,
}

impl DsController {
    /// A quota changed (raised, deleted) or pods went: retry refused creations now, as the
    /// real controller does when it is requeued by the pod or quota change.
    pub fn quota_changed(&mut self) {
        self.quota_backoff.clear();
    }

    /// One `syncDaemonSet`. Errors from the store (conflicts with API writes) requeue.
    pub fn sync(&mut self, ctx: &Ctx<'_>, key: &ObjKey) -> Result<(), StoreError> {
        let Some(stored) = ctx.cache.daemonsets.get(key) else { return Ok(()) };
        let Some(Object::DaemonSet(ds)) = stored.typed() else { return Ok(()) };
        if ds.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let uid = ds.metadata.uid.clone().unwrap_or_default();
        let (ds, hash) = self.construct_history(ctx, ds)?;
        let spec =
            Some(&ds.spec).map(|s| &s.template).and_then(|t| t.spec.as_ref()).map(pod_sched_spec).unwrap_or_default();
        let tolerations = daemon_tolerations(&spec);
        let nodes: Vec<NodeSched> = ctx
            .cache
            .nodes
            .values()
            .filter_map(|s| match s.typed() {
                Some(Object::Node(n)) => Some(NodeSched::from_node(n)),
                _ => None,
            })
            .collect();
        let decisions: Vec<Decision> = nodes.iter().map(|n| should_run_with(&n.view(), &spec, &tolerations)).collect();
        // getNodesToDaemonPods(includeDeletedTerminal=false).
        // Pods are stored as JSON: their outlines (all this sync reads) decoded once per sync.
        let owned: Vec<Pod> = ctx.cache.owned_pods(&uid).filter_map(|s| s.pod_outline()).collect();
        let mut node_pods: HashMap<String, Vec<&Pod>> = HashMap::new();
        for p in &owned {
            if is_terminal(p) && deleting(p) {
                continue;
            }
            if let Some(n) = build_pod::target_node(p) {
                node_pods.entry(n.to_string()).or_default().push(p);
            }
        }
        let generation = template_generation(&ds);
        let surge_allowed = !is_on_delete(&ds) && surge_unavailable(&ds, 1).0 > 0;
        let now_ms = ctx.now.as_millisecond();
        let ds_key = format!("{}/{}", key.namespace, key.name);

        // manage: podsShouldBeOnNode for every node.
        let mut create: Vec<String> = Vec::new();
        let mut delete: Vec<&Pod> = Vec::new();
        // Failed pods go at once: the API server deletes a terminal pod without grace.
        let mut failed: Vec<&Pod> = Vec::new();
        for (node, d) in nodes.iter().zip(&decisions) {
            let pods = node_pods.get(&node.name);
            let exists = pods.is_some_and(|v| !v.is_empty());
            if d.should_run && !exists {
                create.push(node.name.clone());
            } else if d.should_continue_running {
                let Some(pods) = pods else { continue };
                let mut running: Vec<&Pod> = Vec::new();
                for p in pods {
                    if deleting(p) {
                        continue;
                    }
                    // A failed daemon pod is deleted so it can be replaced, with a back-off per
                    // node against fighting a kubelet that rejects or evicts it.
                    if is_failed(p) {
                        let bk = (uid.clone(), node.name.clone());
                        if let Some(until) = self.failed_pods_backoff.in_backoff(&bk, now_ms) {
                            self.requeue.insert(key.clone(), until);
                            continue;
                        }
                        self.failed_pods_backoff.next(bk, now_ms);
                        let msg = format!(
                            "Found failed daemon pod {}/{} on node {}, will try to kill it",
                            p.metadata.namespace.as_deref().unwrap_or(""),
                            p.metadata.name.as_deref().unwrap_or(""),
                            node.name
                        );
                        record_event(ctx, &ds, &msg, "FailedDaemonPod", &msg)?;
                        failed.push(p);
                    } else if is_terminal(p) {
                        delete.push(p);
                    } else {
                        running.push(p);
                    }
                }
                if running.len() <= 1 {
                    continue;
                }
                sort_oldest_first(&mut running);
                if !surge_allowed {
                    delete.extend(&running[1..]);
                    continue;
                }
                // With surge: keep the oldest new and oldest old pod only while the new one
                // is not ready and the old one is.
                let (mut new_pod, mut old_pod) = (None, None);
                for p in running {
                    let is_new = p.metadata.labels.as_ref().and_then(|l| l.get(REVISION_HASH_LABEL)) == Some(&hash);
                    let slot = if is_new { &mut new_pod } else { &mut old_pod };
                    if slot.is_none() {
                        *slot = Some(p);
                    } else {
                        delete.push(p);
                    }
                }
                if let (Some(n), Some(o)) = (new_pod, old_pod)
                    && (!is_ready(o) || is_ready(n))
                {
                    delete.push(o);
                }
            } else if exists {
                delete.extend(pods.into_iter().flatten().filter(|p| !deleting(p)));
            }
        }
        // Pods pinned to nodes that no longer exist.
        for (n, pods) in &node_pods {
            if !ctx.cache.nodes.contains_key(n) {
                delete.extend(pods.iter().filter(|p| !deleting(p)));
            }
        }
        for p in &failed {
            let (ns, name) = (p.metadata.namespace.as_deref().unwrap_or(""), p.metadata.name.as_deref().unwrap_or(""));
            match ctx.store.delete(Kind::Pod, ns, name) {
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let mut changed = !create.is_empty() || !delete.is_empty() || !failed.is_empty();
        self.sync_nodes(ctx, &ds, &uid, &ds_key, &hash, generation, &create, &delete, now_ms)?;

        // rollingUpdate runs once the manage loop's work is observed (the expectations gate).
        if !changed && !is_on_delete(&ds) {
            let desired = decisions.iter().filter(|d| d.should_run).count() as i32;
            let (old_delete, new_create) =
                rolling_update(&ds, &nodes, &decisions, &node_pods, &hash, generation, desired, ctx.now);
            changed = !old_delete.is_empty() || !new_create.is_empty();
            self.sync_nodes(ctx, &ds, &uid, &ds_key, &hash, generation, &new_create, &old_delete, now_ms)?;
        }
        if !changed {
            self.cleanup_history(ctx, &ds, &uid, &hash, &node_pods)?;
        }
        let status = compute_status(&ds, nodes.iter().zip(decisions.iter().cloned()), &node_pods, &hash, ctx.now);
        if ds.status.as_ref() != Some(&status) {
            ctx.store.modify::<StoreError>(Kind::DaemonSet, &key.namespace, &key.name, |o| {
                if let Object::DaemonSet(d) = o {
                    let mut status = status.clone();
                    // observedGeneration is the generation this status was computed from.
                    status.observed_generation = ds.metadata.generation;
                    d.status = Some(status);
                }
                Ok(())
            })?;
        }
        // minReadySeconds: look again when the first ready-but-unavailable pod becomes available.
        let min_ready = Some(&ds.spec).and_then(|s| s.min_ready_seconds).unwrap_or(0);
        if min_ready > 0 && status.number_available != Some(status.number_ready) {
            self.requeue.insert(key.clone(), now_ms + 1000);
        }
        Ok(())
    }

    /// `constructHistory`: find or create the revision of the current template, bump a
    /// re-used old revision to the newest number (rollback), and keep the template-generation
    /// annotation in step (the API server's `PrepareForUpdate` bumps it on template changes).
    fn construct_history(&mut self, ctx: &Ctx<'_>, ds: &DaemonSet) -> Result<(DaemonSet, String), StoreError> {
        let uid = ds.metadata.uid.clone().unwrap_or_default();
        let ns = ds.metadata.namespace.clone().unwrap_or_default();
        let name = ds.metadata.name.clone().unwrap_or_default();
        let tpl = Some(&ds.spec).map(|s| s.template.clone()).unwrap_or_default();
        let patch = build::revision_patch(&tpl);
        let revisions: Vec<&Arc<Stored>> = ctx.cache.owned_revisions(&uid).collect();
        let rev_of = |s: &Stored| match &*s.obj() {
            Object::ControllerRevision(c) => c.revision.unwrap_or(0),
            _ => 0,
        };
        let newest = revisions.iter().max_by_key(|s| rev_of(s)).copied();
        let max_rev = newest.map_or(0, |s| rev_of(s));
        // The real controller's `Match` (pkg/controller/daemon/update.go) compares the stored
        // patch bytes with its own encoding of the template. A real API server's revisions carry `"creationTimestamp": null` in the
        // template's metadata, which ours never write, so compare the decoded templates too:
        // otherwise every recorded DaemonSet (`--replay-live`) would look changed and roll.
        let matching = revisions
            .iter()
            .find(|s| {
                matches!(&*s.obj(), Object::ControllerRevision(c)
                    if c.data.0 == patch || build::template_of_revision(c).as_ref() == Some(&tpl))
            })
            .copied();
        let mut ds = ds.clone();
        let template_changed = newest.is_some() && newest.map(|s| s.key().clone()) != matching.map(|s| s.key().clone());
        let hash = match matching {
            Some(cur) => {
                let Object::ControllerRevision(cr) = &*cur.obj() else {
                    unreachable!("revision cache holds revisions")
                };
                if cr.revision.unwrap_or(0) < max_rev {
                    let (ns, n) = (ns.clone(), cr.metadata.name.clone().unwrap_or_default());
                    ctx.store.modify::<StoreError>(Kind::ControllerRevision, &ns, &n, |o| {
                        if let Object::ControllerRevision(c) = o {
                            c.revision = Some(max_rev + 1);
                        }
                        Ok(())
                    })?;
                }
                cr.metadata.labels.as_ref().and_then(|l| l.get(REVISION_HASH_LABEL)).cloned().unwrap_or_default()
            }
            None => {
                let mut collision = ds.status.as_ref().and_then(|s| s.collision_count);
                loop {
                    let hash = build::template_hash(&tpl, collision);
                    let cr = build::revision(&ds, &hash, max_rev + 1, ctx.now);
                    match ctx.store.create(Object::ControllerRevision(cr), time(ctx.now)) {
                        Ok(_) => break hash,
                        Err(StoreError::AlreadyExists { .. }) => {
                            // A revision of another template has this name: a hash collision;
                            // the real controller bumps status.collisionCount and retries.
                            let existing = ctx.store.get(Kind::ControllerRevision, &ns, &format!("{name}-{hash}"));
                            if let Some(e) = existing
                                && let Object::ControllerRevision(c) = &*e.obj()
                                && c.data.0 == patch
                            {
                                break hash;
                            }
                            collision = Some(collision.unwrap_or(0) + 1);
                            ds.status.get_or_insert_with(Default::default).collision_count = collision;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        };
        let current_gen = template_generation(&ds);
        let want_gen = match current_gen {
            None => Some(ds.metadata.generation.unwrap_or(1)),
            Some(g) if template_changed => Some(g + 1),
            Some(_) => None,
        };
        if let Some(g) = want_gen {
            let upd = ctx.store.modify::<StoreError>(Kind::DaemonSet, &ns, &name, |o| {
                if let Object::DaemonSet(d) = o {
                    d.metadata
                        .annotations
                        .get_or_insert_with(Default::default)
                        .insert(TEMPLATE_GENERATION_ANNOTATION.into(), g.to_string());
                }
                Ok(())
            })?;
            if let Object::DaemonSet(d) = &*upd.obj() {
                let status = ds.status.clone();
                ds = d.clone();
                if ds.status.is_none() {
                    ds.status = status;
                }
            }
        }
        Ok((ds, hash))
    }

    /// `syncNodes`: create pods on `create` nodes and delete `delete` pods (graceful).
    #[allow(clippy::too_many_arguments)]
    fn sync_nodes(
        &mut self,
        ctx: &Ctx<'_>,
        ds: &DaemonSet,
        uid: &str,
        ds_key: &str,
        hash: &str,
        generation: Option<i64>,
        create: &[String],
        delete: &[&Pod],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        for p in delete {
            delete_pod(ctx.store, p, ctx.now)?;
        }
        if create.is_empty() {
            return Ok(());
        }
        let proto_key = (uid.to_string(), hash.to_string(), generation);
        if !self.protos.contains_key(&proto_key) {
            self.protos.retain(|(u, _, _), _| u != uid);
            self.protos.insert(proto_key.clone(), build_pod::prototype(ds, hash, generation, ctx.now));
        }
        let ns = ds.metadata.namespace.as_deref().unwrap_or("default");
        let name = ds.metadata.name.as_deref().unwrap_or("");
        if let Some((next, _)) = self.quota_backoff.get(uid)
            && now_ms < *next
        {
            self.requeue.insert(ObjKey::new(ns, name), *next);
            return Ok(());
        }
        for node in create {
            if ctx.behaviours.get(ds_key, node) == Some(BehaviourKind::RejectCreate) {
                let bk = (uid.to_string(), node.clone());
                let (next, step) = self.create_backoff.get(&bk).copied().unwrap_or((0, 0));
                if now_ms < next {
                    self.requeue.insert(ObjKey::new(ns, name), next);
                    continue;
                }
                let step = if step == 0 { 10_000 } else { (step * 2).min(300_000) };
                self.create_backoff.insert(bk, (now_ms + step, step));
                self.requeue.insert(ObjKey::new(ns, name), now_ms + step);
                let msg = ctx.behaviours.message(ds_key, node).map(String::from).unwrap_or_else(|| {
                    format!("admission webhook \"validate.policy.example.com\" denied the request: node {node} is not allowed to run {name}")
                });
                record_event(
                    ctx,
                    ds,
                    node,
                    "FailedCreate",
                    &format!("Error creating: pods \"{name}-\" is forbidden: {msg}"),
                )?;
                continue;
            }
            // The ResourceQuota admission plugin; a refusal ends this sync's creations (the
            // rest would be refused alike) and records FailedCreate with the API's message.
            if let Err(msg) = quota::admit_pod(ctx.store, ns, &format!("{name}-"), ctx.now) {
                let (_, step) = self.quota_backoff.get(uid).copied().unwrap_or((0, 0));
                let step = if step == 0 { 1_000 } else { (step * 2).min(60_000) };
                self.quota_backoff.insert(uid.to_string(), (now_ms + step, step));
                self.requeue.insert(ObjKey::new(ns, name), now_ms + step);
                let message = format!("Error creating: {msg}");
                record_event(ctx, ds, &message, "FailedCreate", &message)?;
                return Ok(());
            }
            let mut pod = build_pod::for_node(&self.protos[&proto_key], node, ctx.seed);
            pod.metadata.creation_timestamp = Some(time(ctx.now));
            let created = ctx.store.create(Object::Pod(pod), time(ctx.now))?;
            let pod_name = created.name().to_string();
            record_event(ctx, ds, &pod_name, "SuccessfulCreate", &format!("Created pod: {pod_name}"))?;
        }
        self.quota_backoff.remove(uid);
        Ok(())
    }

    /// `cleanupHistory`: delete old revisions beyond revisionHistoryLimit that no live pod uses.
    fn cleanup_history(
        &mut self,
        ctx: &Ctx<'_>,
        ds: &DaemonSet,
        uid: &str,
        hash: &str,
        node_pods: &HashMap<String, Vec<&Pod>>,
    ) -> Result<(), StoreError> {
        let limit = Some(&ds.spec).and_then(|s| s.revision_history_limit).unwrap_or(10).max(0) as usize;
        let live: std::collections::HashSet<&str> = node_pods
            .values()
            .flatten()
            .filter_map(|p| p.metadata.labels.as_ref()?.get(REVISION_HASH_LABEL).map(String::as_str))
            .collect();
        let mut old: Vec<(i64, String, String)> = ctx
            .cache
            .owned_revisions(uid)
            .filter_map(|s| match &*s.obj() {
                Object::ControllerRevision(c) => {
                    let h = c.metadata.labels.as_ref()?.get(REVISION_HASH_LABEL)?.clone();
                    (h != hash && !live.contains(h.as_str()))
                        .then(|| (c.revision.unwrap_or(0), c.metadata.name.clone().unwrap_or_default(), h))
                }
                _ => None,
            })
            .collect();
        if old.len() <= limit {
            return Ok(());
        }
        old.sort();
        let ns = ds.metadata.namespace.as_deref().unwrap_or("");
        for (_, name, _) in &old[..old.len() - limit] {
            match ctx.store.delete(Kind::ControllerRevision, ns, name) {
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// `findUpdatedPodsOnNode`: at most one new and one old pod, ignoring terminating ones.
fn updated_pods_on_node<'a>(
    pods: &[&'a Pod],
    hash: &str,
    generation: Option<i64>,
) -> Option<(Option<&'a Pod>, Option<&'a Pod>)> {
    let (mut new, mut old) = (None, None);
    for p in pods.iter().filter(|p| !deleting(p)) {
        let slot = if is_pod_updated(p, hash, generation) { &mut new } else { &mut old };
        if slot.is_some() {
            return None;
        }
        *slot = Some(*p);
    }
    Some((new, old))
}

/// `rollingUpdate` (pkg/controller/daemon/update.go): which old pods to delete and on which
/// nodes to surge a new pod, honouring maxUnavailable or maxSurge.
#[allow(clippy::too_many_arguments)]
fn rolling_update<'a>(
    ds: &DaemonSet,
    nodes: &[NodeSched],
    decisions: &[Decision],
    node_pods: &HashMap<String, Vec<&'a Pod>>,
    hash: &str,
    generation: Option<i64>,
    desired: i32,
    now: Timestamp,
) -> (Vec<&'a Pod>, Vec<String>) {
    let (max_surge, max_unavailable) = surge_unavailable(ds, desired);
    let min_ready = Some(&ds.spec).and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let mut names: Vec<&String> = node_pods.keys().collect();
    names.sort();
    if max_surge == 0 {
        let mut unavailable = 0;
        let mut allowed: Vec<&Pod> = Vec::new();
        let mut candidates: Vec<&Pod> = Vec::new();
        for n in names {
            let Some((new, old)) = updated_pods_on_node(&node_pods[n], hash, generation) else {
                unavailable += 1;
                continue;
            };
            match (new, old) {
                (None, None) | (Some(_), Some(_)) => unavailable += 1,
                (Some(p), None) => {
                    if !is_available(p, min_ready, now) {
                        unavailable += 1;
                    }
                }
                (None, Some(o)) => {
                    if !is_available(o, min_ready, now) {
                        allowed.push(o);
                    } else if unavailable < max_unavailable {
                        candidates.push(o);
                    }
                }
            }
        }
        let remaining = (max_unavailable - unavailable).clamp(0, candidates.len() as i32) as usize;
        allowed.extend(&candidates[..remaining]);
        return (allowed, Vec::new());
    }
    let should_run: HashMap<&str, bool> =
        nodes.iter().zip(decisions).map(|(n, d)| (n.name.as_str(), d.should_run)).collect();
    let mut delete: Vec<&Pod> = Vec::new();
    let mut allowed_new: Vec<String> = Vec::new();
    let mut candidates: Vec<String> = Vec::new();
    let mut surge = 0;
    for n in names {
        let Some((new, old)) = updated_pods_on_node(&node_pods[n], hash, generation) else {
            surge += 1;
            continue;
        };
        match (new, old) {
            (_, None) => {}
            (None, Some(o)) => {
                if !is_available(o, min_ready, now) {
                    if !should_run.get(n.as_str()).copied().unwrap_or(false) {
                        delete.push(o);
                        continue;
                    }
                    allowed_new.push(n.clone());
                } else if surge < max_surge {
                    candidates.push(n.clone());
                }
            }
            (Some(p), Some(o)) => {
                if !is_available(p, min_ready, now) {
                    surge += 1;
                } else {
                    delete.push(o);
                }
            }
        }
    }
    let remaining = (max_surge - surge).clamp(0, candidates.len() as i32) as usize;
    allowed_new.extend(candidates.into_iter().take(remaining));
    (delete, allowed_new)
}

/// Delete a pod as the API server does for a graceful delete: deletionTimestamp = now + grace.
pub fn delete_pod(store: &Store, pod: &Pod, now: Timestamp) -> Result<(), StoreError> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    let grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30);
    let r = store.modify::<StoreError>(Kind::Pod, ns, name, |o| {
        if let Object::Pod(p) = o
            && p.metadata.deletion_timestamp.is_none()
        {
            p.metadata.deletion_timestamp = Some(time(build::secs_after(now, grace)));
            p.metadata.deletion_grace_period_seconds = Some(grace);
        }
        Ok(())
    });
    match r {
        Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Record an Event about the DaemonSet (`eventRecorder.Eventf`), counting repeats like the
/// event correlator does.
fn record_event(ctx: &Ctx<'_>, ds: &DaemonSet, subject: &str, reason: &str, message: &str) -> Result<(), StoreError> {
    let ns = ds.metadata.namespace.clone().unwrap_or_default();
    let ds_name = ds.metadata.name.clone().unwrap_or_default();
    let warning = reason.starts_with("Failed");
    let h = super::rng::fnv64(format!("{ds_name}/{subject}/{reason}").as_bytes());
    let name = format!("{ds_name}.{:016x}", h);
    if warning && ctx.store.get(Kind::Event, &ns, &name).is_some() {
        let now = time(ctx.now);
        ctx.store.modify::<StoreError>(Kind::Event, &ns, &name, |o| {
            if let Object::Event(e) = o {
                e.count = Some(e.count.unwrap_or(1) + 1);
                e.last_timestamp = Some(now);
                e.message = Some(message.to_string());
            }
            Ok(())
        })?;
        return Ok(());
    }
    let ev = Event {
        metadata: ObjectMeta { name: Some(name), namespace: Some(ns.clone()), ..Default::default() },
        involved_object: ObjectReference {
            api_version: Some("apps/v1".into()),
            kind: Some("DaemonSet".into()),
            name: Some(ds_name),
            namespace: Some(ns),
            uid: ds.metadata.uid.clone(),
            resource_version: ds.metadata.resource_version.clone(),
            field_path: None,
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        source: Some(EventSource { component: Some("daemonset-controller".into()), host: None }),
        first_timestamp: Some(time(ctx.now)),
        last_timestamp: Some(time(ctx.now)),
        count: Some(1),
        type_: Some(if warning { "Warning" } else { "Normal" }.into()),
        reporting_component: Some("daemonset-controller".into()),
        reporting_instance: Some(String::new()),
        ..Default::default()
    };
    match ctx.store.create(Object::Event(ev), time(ctx.now)) {
        Ok(_) | Err(StoreError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::FailedPodsBackoff;

    /// client-go util/flowcontrol/backoff.go with NewBackOff(1s, 15m), by hand: Next sets 1 s,
    /// then doubles; IsInBackOffSinceUpdate holds for the current back-off after each Next;
    /// an entry untouched for more than 2 × 15 min starts over at 1 s.
    #[test]
    fn failed_pods_back_off_from_one_second_doubling_to_fifteen_minutes() {
        let mut b = FailedPodsBackoff::default();
        let k = ("uid".to_string(), "n1".to_string());
        assert_eq!(b.in_backoff(&k, 0), None, "never failed: no back-off");
        b.next(k.clone(), 0);
        assert_eq!(b.in_backoff(&k, 500), Some(1_000));
        assert_eq!(b.in_backoff(&k, 1_000), None);
        b.next(k.clone(), 1_000);
        assert_eq!(b.in_backoff(&k, 1_000), Some(3_000), "2 s after the second failure");
        let mut t = 1_000;
        for _ in 0..20 {
            t += 1_000;
            b.next(k.clone(), t);
        }
        assert_eq!(b.in_backoff(&k, t), Some(t + 900_000), "capped at 15 min");
        let later = t + 2 * 900_000 + 1;
        b.next(k.clone(), later);
        assert_eq!(b.in_backoff(&k, later), Some(later + 1_000), "forgotten after 30 min: 1 s again");
        let other = ("uid".to_string(), "n2".to_string());
        assert_eq!(b.in_backoff(&other, later), None, "per node");
    }
}
