//! Writing a scenario into the store, settled: nodes, DaemonSets with their revision history,
//! pods with the statuses they would have reached by time zero (restart counts of crash
//! loops, image pull back-offs, rollouts part-way), FailedCreate events, the kubelet's events
//! about troubled pods (`pod_events::settled`) and the DaemonSets'
//! status counters computed by the controller's own `compute_status`.
//!
//! Each pod is a clone of a per-revision prototype, so the large scenario stays fast; the
//! prototype's managedFields are serialised once and written into each pod's JSON by the store.

use std::collections::HashMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};

use super::behaviours::Behaviours;
use super::build::{self, NodeParams, TEMPLATE_GENERATION_ANNOTATION, secs_after, secs_before, time};
use super::build_pod::{self, Last, Main, PodRun};
use super::daemonset::compute_status;
use super::kubelet::{crash_backoff_ms, ips, mark_not_ready};
use super::nodes;
use super::pod_events;
use super::rng::{SplitMix64, unit};
use super::scheduler;
use crate::cluster::sched::{NodeSched, pod_sched_spec};
use crate::fleet::schedule::{daemon_tolerations, should_run_with};
use crate::sim::scenario::{BehaviourKind, Scenario};
use crate::sim::store::{Kind, ManagedFieldsJson, Object, Store, StoreError};

const DAY: i64 = 86_400;

pub fn populate(store: &Store, start: Timestamp, sc: &Scenario, seed: u64) -> anyhow::Result<()> {
    let at = time(start);
    let mut namespaces: Vec<String> =
        ["default", "kube-system", "kube-public", "kube-node-lease"].iter().map(|s| s.to_string()).collect();
    for d in &sc.daemonsets {
        if !namespaces.contains(&d.namespace) {
            namespaces.push(d.namespace.clone());
        }
    }
    for ns in &namespaces {
        let obj = Namespace {
            metadata: ObjectMeta {
                name: Some(ns.clone()),
                labels: Some([("kubernetes.io/metadata.name".to_string(), ns.clone())].into()),
                creation_timestamp: Some(time(secs_before(start, 400 * DAY))),
                ..Default::default()
            },
            spec: Some(k8s_openapi::api::core::v1::NamespaceSpec { finalizers: Some(vec!["kubernetes".into()]) }),
            status: Some(k8s_openapi::api::core::v1::NamespaceStatus {
                phase: Some("Active".into()),
                conditions: None,
            }),
        };
        ignore_exists(store.create(Object::Namespace(obj), at.clone()))?;
    }

    // Nodes.
    let mut rng = SplitMix64::derived(seed, "nodes");
    let mut nodes: Vec<(Node, NodeSched)> = Vec::new();
    let mut g = 0usize;
    for pool in &sc.pools {
        for i in 0..pool.count {
            let ov = sc.nodes.iter().find(|n| n.pool == pool.name && n.index == i);
            let age =
                rng.range(i64::from(pool.age_days[0]) * DAY, i64::from(pool.age_days[1].max(pool.age_days[0])) * DAY);
            let mut taints: Vec<(String, String, String)> =
                pool.taints.iter().map(|t| (t.key.clone(), t.value.clone(), t.effect.clone())).collect();
            let mut labels = pool.labels.clone();
            if let Some(o) = ov {
                taints.extend(o.taints.iter().map(|t| (t.key.clone(), t.value.clone(), t.effect.clone())));
                labels.extend(o.labels.clone());
            }
            let p = NodeParams {
                name: pool.node_name(i),
                pool: pool.name.clone(),
                index_global: g,
                zone: format!("{}{}", sc.region, pool.zones[i % pool.zones.len()]),
                region: sc.region.clone(),
                instance_type: pool.instance_type.clone(),
                arch: pool.arch.clone(),
                cpu: pool.cpu,
                memory_gi: pool.memory_gi,
                max_pods: ov.and_then(|o| o.max_pods).unwrap_or(pool.max_pods),
                labels,
                taints,
                created: secs_before(start, age + rng.range(0, 3600)),
                kubelet_version: sc.kubelet_version.clone(),
                ready: true,
                cordoned: ov.is_some_and(|o| o.cordoned),
            };
            let mut node = build::build_node(&p, &mut rng);
            if ov.is_some_and(|o| !o.ready) {
                // Lost a few minutes ago.
                let lost = secs_before(start, rng.range(180, 900));
                build::set_node_ready(&mut node, false, lost, secs_before(lost, 40));
            }
            let stored = store.create(Object::Node(node), time(p.created))?;
            if let Some(Object::Node(n)) = stored.typed() {
                if let Some(lost) = lost_at(n, start) {
                    nodes::record_node_not_ready(store, n, lost)?;
                }
                nodes.push((n.clone(), NodeSched::from_node(n)));
            }
            g += 1;
        }
    }

    // DaemonSets, revisions and pods.
    let behaviours = Behaviours::resolve(sc, seed);
    // Pods bound to each node so far: past its allocatable pods the scheduler places no more.
    let mut bound: HashMap<String, usize> = HashMap::new();
    for (di, cfg) in sc.daemonsets.iter().enumerate() {
        let key = cfg.key();
        let mut rng = SplitMix64::derived(seed, &key);
        let images: Vec<&String> = cfg.previous_images.iter().chain(std::iter::once(&cfg.image)).collect();
        let n_rev = images.len();
        let created = secs_before(start, i64::from(cfg.age_days) * DAY + rng.range(0, 3600));
        let rollout = cfg.updated_fraction.is_some_and(|f| f < 1.0) && n_rev > 1;
        // Revision k's time: spread over the DaemonSet's life; a rollout in progress began
        // two minutes before time zero.
        let rev_time = |k: usize| -> Timestamp {
            if k == 0 {
                return created;
            }
            if rollout && k == n_rev - 1 {
                return secs_before(start, 120);
            }
            let span = (start.as_second() - created.as_second()).max(1);
            secs_after(created, span * k as i64 / n_rev as i64)
        };
        let templates: Vec<_> = images.iter().map(|img| build::template(cfg, img)).collect();
        let mut ds = build::daemonset(cfg, &templates[0], created);
        let stored = store.create(Object::DaemonSet(ds.clone()), time(created))?;
        if let Some(Object::DaemonSet(d)) = stored.typed() {
            ds = d.clone();
        }
        let mut revisions_ds = vec![ds.clone()];
        for (k, tpl) in templates.iter().enumerate().skip(1) {
            let mut next = ds.clone();
            if let Some(s) = Some(&mut next.spec) {
                s.template = tpl.clone();
            }
            next.metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(TEMPLATE_GENERATION_ANNOTATION.into(), (k + 1).to_string());
            let stored = store.update(Object::DaemonSet(next), None)?;
            if let Some(Object::DaemonSet(d)) = stored.typed() {
                ds = d.clone();
            }
            revisions_ds.push(ds.clone());
        }
        let mut hashes = Vec::new();
        for (k, rds) in revisions_ds.iter().enumerate() {
            let hash = build::template_hash(&templates[k], None);
            // Revisions belong to the final DaemonSet (same uid); their data is revision k's template.
            let mut owner = ds.clone();
            if let Some(s) = Some(&mut owner.spec) {
                s.template = templates[k].clone();
            }
            owner.metadata.annotations.clone_from(&rds.metadata.annotations);
            let cr = build::revision(&owner, &hash, k as i64 + 1, rev_time(k));
            ignore_exists(store.create(Object::ControllerRevision(cr), time(rev_time(k))))?;
            hashes.push(hash);
        }
        let cur = n_rev - 1;
        let prev = cur.saturating_sub(1);
        let proto_for = |k: usize| {
            let mut owner = ds.clone();
            if let Some(s) = Some(&mut owner.spec) {
                s.template = templates[k].clone();
            }
            Proto::new(build_pod::prototype(&owner, &hashes[k], Some(k as i64 + 1), rev_time(k)))
        };
        let proto_cur = proto_for(cur);
        let proto_prev = if prev != cur { Some(proto_for(prev)) } else { None };
        let spec = templates[cur].spec.as_ref().map(pod_sched_spec).unwrap_or_default();
        let tolerations = daemon_tolerations(&spec);
        // What `compute_status` reads of each pod ([`status_facts`]), not the whole pod: a
        // DaemonSet's 5,000 typed pods held to the end of its loop cost more than writing them.
        let mut node_pods: HashMap<String, Vec<Pod>> = HashMap::new();
        let mut decisions = Vec::with_capacity(nodes.len());
        for (node, sched) in &nodes {
            let d = should_run_with(&sched.view(), &spec, &tolerations);
            decisions.push(d.clone());
            if !d.should_run {
                continue;
            }
            let name = &sched.name;
            let behaviour = behaviours.get(&key, name);
            if behaviour == Some(BehaviourKind::RejectCreate) {
                let msg = behaviours.message(&key, name).map(String::from).unwrap_or_else(|| {
                    format!("admission webhook \"validate.policy.example.com\" denied the request: node {name} is not allowed to run {}", cfg.name)
                });
                failed_create_event(store, &ds, name, &msg, start, &mut rng)?;
                continue;
            }
            let updated = !rollout || unit(seed, &[&key, name, "rollout"]) < cfg.updated_fraction.unwrap_or(1.0);
            let (proto, k) = match (&proto_prev, updated) {
                (Some(p), false) => (p, prev),
                _ => (&proto_cur, cur),
            };
            let node_created = node.metadata.creation_timestamp.as_ref().map_or(start, |t| t.0);
            let base = if rev_time(k) > node_created { rev_time(k) } else { node_created };
            let pod_created =
                secs_after(base, rng.range(2, 40).min((start.as_second() - base.as_second() - 30).max(0)));
            let mut pod = build_pod::for_node(&proto.pod, name, seed ^ di as u64);
            pod.metadata.creation_timestamp = Some(time(pod_created));
            pod.metadata.name = Some(format!("{}-{}", cfg.name, five(&mut rng)));
            let full =
                scheduler::allocatable_pods(node).is_some_and(|max| bound.get(name).copied().unwrap_or(0) >= max);
            if full {
                let p = unschedulable_pod(store, pod, proto, nodes.len(), pod_created, start, &mut rng)?;
                node_pods.entry(name.clone()).or_default().push(status_facts(&p));
                continue;
            }
            *bound.entry(name.clone()).or_default() += 1;
            let scheduled = secs_after(pod_created, 1);
            build_pod::bind(&mut pod, name, scheduled);
            let started = secs_after(scheduled, (cfg.delays.create_ms / 1000).max(1));
            let ready_at = secs_after(started, (cfg.delays.ready_ms / 1000).max(1));
            let (host_ip, pod_ip) = ips(node, &cfg.name);
            let run = settled_run(behaviour, cfg, started, start, &mut rng, &pod);
            let stamp = match &run.main {
                Main::Running { ready: true, .. } if run.restarts == 0 => ready_at,
                Main::Running { started, .. } => secs_after(*started, (cfg.delays.ready_ms / 1000).max(1)).min(start),
                _ => run.last.as_ref().map_or(started, |l| l.finished),
            };
            build_pod::write_status(&mut pod, &run, scheduled, &host_ip, &pod_ip, stamp);
            // The node lifecycle controller marked it not ready when the node was lost.
            let marked = lost_at(node, start).filter(|lost| mark_not_ready(&mut pod, *lost, false));
            free_name(store, &mut pod, &mut rng);
            let (_, mut p) = store.create_pod_with_managed_fields(pod, time(pod_created), &proto.managed_json)?;
            if matches!(&run.main, Main::Waiting { reason, .. } if reason == "CrashLoopBackOff") {
                p = with_crash_message(store, p, &proto.managed, run.restarts)?;
            }
            for (ev, count, first) in pod_events::settled(&p, &run, behaviour, started, start) {
                pod_events::record(store, &p, name, &ev, count, first, start)?;
            }
            if let Some(lost) = marked {
                nodes::record_pod_not_ready(store, &p, lost)?;
            }
            node_pods.entry(name.clone()).or_default().push(status_facts(&p));
        }
        let refs: HashMap<String, Vec<&Pod>> = node_pods.iter().map(|(k, v)| (k.clone(), v.iter().collect())).collect();
        let status = compute_status(&ds, nodes.iter().map(|(_, s)| s).zip(decisions), &refs, &hashes[cur], start);
        store.modify::<StoreError>(Kind::DaemonSet, &cfg.namespace, &cfg.name, |o| {
            if let Object::DaemonSet(d) = o {
                d.status = Some(status.clone());
            }
            Ok(())
        })?;
    }
    // Setup is history nobody watched: watches start from here.
    store.compact();
    Ok(())
}

/// The part of a pod that `compute_status` reads: name, labels and creation time (which pod
/// counts, and whether it is updated) and the Ready condition (ready, available).
fn status_facts(p: &Pod) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: p.metadata.name.clone(),
            labels: p.metadata.labels.clone(),
            creation_timestamp: p.metadata.creation_timestamp.clone(),
            ..Default::default()
        },
        spec: None,
        status: p.status.as_ref().map(|st| k8s_openapi::api::core::v1::PodStatus {
            conditions: st.conditions.clone(),
            ..Default::default()
        }),
    }
}

/// A daemon pod the scheduler has found no room for since it was created: Pending and
/// unschedulable, with the FailedScheduling Warning it has had once per retry (an
/// unschedulable pod is retried every `UNSCHEDULABLE_RETRY_MS` without cluster events).
fn unschedulable_pod(
    store: &Store,
    mut pod: Pod,
    proto: &Proto,
    nodes: usize,
    created: Timestamp,
    now: Timestamp,
    rng: &mut SplitMix64,
) -> Result<Pod, StoreError> {
    let message = scheduler::too_many_pods(nodes);
    scheduler::mark_unschedulable(&mut pod, &message, created);
    free_name(store, &mut pod, rng);
    let (_, p) = store.create_pod_with_managed_fields(pod, time(created), &proto.managed_json)?;
    let tries = 1 + (now.as_millisecond() - created.as_millisecond()).max(0) / scheduler::UNSCHEDULABLE_RETRY_MS;
    let ev = pod_events::warning("FailedScheduling", message);
    let count = i32::try_from(tries).unwrap_or(i32::MAX);
    pod_events::record_about(store, &scheduler::scheduler_about(&p), &ev, count, created, now)?;
    Ok(p)
}

/// A revision's pod prototype, with its managedFields apart: the same for every pod cloned from
/// it, they are serialised once and written into each pod's JSON by the store
/// ([`Store::create_pod_with_managed_fields`]).
struct Proto {
    /// Without managedFields.
    pod: Pod,
    managed: Vec<ManagedFieldsEntry>,
    managed_json: ManagedFieldsJson,
}

impl Proto {
    fn new(mut pod: Pod) -> Proto {
        let managed = pod.metadata.managed_fields.take().unwrap_or_default();
        let managed_json = ManagedFieldsJson::new(&managed);
        Proto { pod, managed, managed_json }
    }
}

/// Names are seeded; on the rare clash with a pod already stored, draw another suffix after
/// the pod's `generateName` (its DaemonSet's name and a dash).
fn free_name(store: &Store, pod: &mut Pod, rng: &mut SplitMix64) {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let prefix = pod.metadata.generate_name.clone().unwrap_or_default();
    while store.get(Kind::Pod, &ns, pod.metadata.name.as_deref().unwrap_or("")).is_some() {
        pod.metadata.name = Some(format!("{prefix}{}", five(rng)));
    }
}

/// When a node that is not Ready lost its Ready condition (its lastTransitionTime; `start`
/// when it has none).
fn lost_at(node: &Node, start: Timestamp) -> Option<Timestamp> {
    if build::node_is_ready(node) {
        return None;
    }
    let transition = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0);
    Some(transition.unwrap_or(start))
}

/// The CrashLoopBackOff message names the pod's uid, which the store assigns on create: write
/// it once the pod has one (with its prototype's managedFields, which the pod given back by the
/// store has not).
fn with_crash_message(
    store: &Store,
    mut p: Pod,
    managed: &[ManagedFieldsEntry],
    restarts: i32,
) -> Result<Pod, StoreError> {
    p.metadata.managed_fields = Some(managed.to_vec());
    let message = pod_events::crash_waiting_message(&p, restarts);
    let rv = p.metadata.resource_version.as_deref().and_then(|v| v.parse().ok());
    if let Some(w) = p
        .status
        .as_mut()
        .and_then(|s| s.container_statuses.as_mut())
        .and_then(|c| c.first_mut())
        .and_then(|c| c.state.as_mut())
        .and_then(|s| s.waiting.as_mut())
    {
        w.message = Some(message);
    }
    match store.update_typed(Object::Pod(p), rv)?.1 {
        Object::Pod(p) => Ok(p),
        _ => Err(StoreError::Invalid("a pod came back as another kind".into())),
    }
}

fn five(rng: &mut SplitMix64) -> String {
    const A: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5).map(|_| A[(rng.next_u64() % A.len() as u64) as usize] as char).collect()
}

/// The state a pod with `behaviour` has reached at `now` after starting at `started`.
fn settled_run(
    behaviour: Option<BehaviourKind>,
    cfg: &crate::sim::scenario::DsConfig,
    started: Timestamp,
    now: Timestamp,
    rng: &mut SplitMix64,
    pod: &Pod,
) -> PodRun {
    match behaviour {
        Some(BehaviourKind::Crashloop) => {
            // Replay the loop: run crash_after, exit, back off, start again.
            let run_s = (cfg.delays.crash_after_ms / 1000).max(1);
            let mut t = started.as_second();
            let end = now.as_second();
            let mut restarts = 0;
            let mut last: Option<Last> = None;
            for _ in 0..20_000 {
                let finished = t + run_s;
                if finished > end {
                    let s = Timestamp::from_second(t).unwrap_or(now);
                    return PodRun {
                        main: Main::Running { started: s, ready: false },
                        last,
                        restarts,
                        started: Some(started),
                    };
                }
                restarts += 1;
                let l = Last {
                    exit_code: 1,
                    reason: "Error".into(),
                    started: Timestamp::from_second(t).unwrap_or(now),
                    finished: Timestamp::from_second(finished).unwrap_or(now),
                };
                last = Some(l);
                let next = finished + crash_backoff_ms(restarts) / 1000;
                if next > end {
                    break;
                }
                t = next;
            }
            PodRun {
                main: Main::Waiting {
                    reason: "CrashLoopBackOff".into(),
                    message: pod_events::crash_waiting_message(pod, restarts),
                },
                last,
                restarts,
                started: Some(started),
            }
        }
        Some(BehaviourKind::Imagepull) => {
            let image =
                pod.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.image.clone()).unwrap_or_default();
            PodRun {
                main: Main::Waiting {
                    reason: "ImagePullBackOff".into(),
                    message: format!("Back-off pulling image \"{image}\""),
                },
                last: None,
                restarts: 0,
                started: Some(started),
            }
        }
        Some(BehaviourKind::Notready) => PodRun::running(started, false, 0),
        _ => {
            let restarts = if cfg.max_restarts > 0 { rng.range(0, i64::from(cfg.max_restarts)) as i32 } else { 0 };
            if restarts == 0 {
                return PodRun::running(started, true, 0);
            }
            // The last restart happened somewhere in the pod's life.
            let span = (now.as_second() - started.as_second()).max(60);
            let finished = secs_after(started, rng.range(30, span - 10));
            let restarted = secs_after(finished, 1);
            PodRun {
                main: Main::Running { started: restarted, ready: true },
                last: Some(Last { exit_code: 137, reason: "Error".into(), started, finished }),
                restarts,
                started: Some(started),
            }
        }
    }
}

fn failed_create_event(
    store: &Store,
    ds: &k8s_openapi::api::apps::v1::DaemonSet,
    node: &str,
    msg: &str,
    start: Timestamp,
    rng: &mut SplitMix64,
) -> anyhow::Result<()> {
    let ns = ds.metadata.namespace.clone().unwrap_or_default();
    let name = ds.metadata.name.clone().unwrap_or_default();
    let h = super::rng::fnv64(format!("{name}/{node}/FailedCreate").as_bytes());
    let first = secs_before(start, rng.range(600, 7200));
    let ev = k8s_openapi::api::core::v1::Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{h:016x}")),
            namespace: Some(ns.clone()),
            ..Default::default()
        },
        involved_object: k8s_openapi::api::core::v1::ObjectReference {
            api_version: Some("apps/v1".into()),
            kind: Some("DaemonSet".into()),
            name: Some(name.clone()),
            namespace: Some(ns),
            uid: ds.metadata.uid.clone(),
            resource_version: ds.metadata.resource_version.clone(),
            field_path: None,
        },
        reason: Some("FailedCreate".into()),
        message: Some(format!("Error creating: pods \"{name}-\" is forbidden: {msg}")),
        source: Some(k8s_openapi::api::core::v1::EventSource {
            component: Some("daemonset-controller".into()),
            host: None,
        }),
        first_timestamp: Some(time(first)),
        last_timestamp: Some(time(secs_before(start, rng.range(5, 300)))),
        count: Some(rng.range(5, 40) as i32),
        type_: Some("Warning".into()),
        reporting_component: Some("daemonset-controller".into()),
        reporting_instance: Some(String::new()),
        ..Default::default()
    };
    ignore_exists(store.create(Object::Event(ev), time(first)))
}

fn ignore_exists<T>(r: Result<T, StoreError>) -> anyhow::Result<()> {
    match r {
        Ok(_) | Err(StoreError::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
