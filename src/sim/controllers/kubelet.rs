//! The simulated kubelets (and the scheduler's binding of daemon pods): every pod moves
//! Pending (unbound) → bound → ContainerCreating → Running → Ready with its DaemonSet's delays,
//! or into the behaviour the scenario gives it on its node: a crash loop (exit, restartCount+1,
//! CrashLoopBackOff with the kubelet's back-off 10 s doubling to 300 s), an image that cannot be
//! pulled (ErrImagePull ⇄ ImagePullBackOff), a failing readiness probe, or an eviction under
//! memory pressure (phase Failed, reason Evicted, the kubelet's `Evicted` event). The binding
//! checks the node's room as the scheduler's NodeResourcesFit does for pods: on a node whose
//! allocatable pods are used up the pod stays Pending, unschedulable, with `FailedScheduling`,
//! and is tried again when a pod on the node goes or the node changes. Pods with a
//! deletionTimestamp are removed after a short simulated grace period. Nothing moves on a node
//! that is not Ready (its kubelet is gone).
//!
//! Work is timer-driven: each pod has at most one due time, computed from its status when an
//! event about it arrives, so a settled cluster of 150,000 pods costs nothing per tick.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Pod};

use super::build::{self, node_is_ready};
use super::build_pod::{self, Last, Main, PodRun, scheduled_at, target_node};
use super::cache::Cache;
use super::daemonset::Ctx;
use super::pod_events;
use super::rng::fnv64;
use super::scheduler::{self, has_room, mark_unschedulable, scheduler_about, too_many_pods};
use crate::sim::scenario::{BehaviourKind, Delays, Scenario};
use crate::sim::store::{Kind, ObjKey, Object, StoreError};

/// CrashLoopBackOff delay after `restarts` restarts: 10 s, 20 s, 40 s … capped at 300 s
/// (kubelet `backOffPeriod` / `MaxContainerBackOff`).
pub fn crash_backoff_ms(restarts: i32) -> i64 {
    let exp = (restarts.max(1) - 1).min(10) as u32;
    (10_000i64 << exp).min(300_000)
}

/// Simulated graceful termination: at most 2 s of the pod's grace period.
const GRACE_CAP_MS: i64 = 2_000;
/// How long ErrImagePull shows before ImagePullBackOff, and how long the back-off lasts.
const PULL_ERR_MS: i64 = 5_000;
const PULL_BACKOFF_MS: i64 = 60_000;

#[derive(Default)]
pub struct Kubelet {
    timers: BTreeSet<(i64, ObjKey)>,
    due: HashMap<ObjKey, i64>,
    /// When a waiting state without a timestamp (image pull) was first seen.
    seen: HashMap<ObjKey, (String, i64)>,
    /// Readiness flaps from churn: not ready until this time.
    pub flap_until: HashMap<ObjKey, i64>,
    /// Pods the scheduler found no room for: when it tries again unless woken earlier.
    unschedulable: HashMap<ObjKey, i64>,
}

/// Host and pod IP for a pod of `ds_name` on `node`.
pub fn ips(node: &Node, ds_name: &str) -> (String, String) {
    let host = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
        .map(|a| a.address.clone())
        .unwrap_or_else(|| "10.0.0.1".into());
    let base = node
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.as_deref())
        .and_then(|c| c.strip_suffix(".0/24"))
        .unwrap_or("100.64.0")
        .to_string();
    let slot = 2 + fnv64(ds_name.as_bytes()) % 250;
    (host, format!("{base}.{slot}"))
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub struct PodEnv<'a> {
    pub behaviour: Option<BehaviourKind>,
    pub delays: Delays,
    pub node: Option<&'a Node>,
    pub ds_name: String,
}

pub fn env<'a>(cache: &'a Cache, scenario: &Scenario, ctx: &Ctx<'_>, pod: &Pod) -> PodEnv<'a> {
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .and_then(|o| cache.owner_of(&o.uid));
    let node_name = target_node(pod).unwrap_or("");
    let node = cache.nodes.get(node_name).and_then(|s| match s.typed() {
        Some(Object::Node(n)) => Some(n),
        _ => None,
    });
    let (behaviour, delays, ds_name) = match owner {
        Some(k) => (
            ctx.behaviours.get(&format!("{}/{}", k.namespace, k.name), node_name),
            scenario.daemonset(&k.namespace, &k.name).map(|d| d.delays).unwrap_or_default(),
            k.name.clone(),
        ),
        None => (None, Delays::default(), pod.metadata.name.clone().unwrap_or_default()),
    };
    PodEnv { behaviour, delays, node, ds_name }
}

impl Kubelet {
    /// Recompute when `key` next needs the kubelet.
    pub fn plan(&mut self, cache: &Cache, scenario: &Scenario, ctx: &Ctx<'_>, key: &ObjKey) {
        if let Some(old) = self.due.remove(key) {
            self.timers.remove(&(old, key.clone()));
        }
        let Some(s) = cache.pods.get(key) else {
            self.seen.remove(key);
            self.flap_until.remove(key);
            self.unschedulable.remove(key);
            return;
        };
        // The outline has all `next_due` reads: planning every pod at start decodes 150,000
        // of them on `large`, and a whole pod costs several times as much.
        let Some(pod) = s.pod_outline() else { return };
        let env = env(cache, scenario, ctx, &pod);
        if let Some(due) = self.next_due(key, &pod, &env, ms(ctx.now)) {
            self.due.insert(key.clone(), due);
            self.timers.insert((due, key.clone()));
        }
    }

    /// Pods whose time has come, earliest first.
    pub fn take_due(&mut self, now_ms: i64) -> Vec<ObjKey> {
        let mut out = Vec::new();
        while let Some((t, _)) = self.timers.first() {
            if *t > now_ms {
                break;
            }
            if let Some((_, k)) = self.timers.pop_first() {
                self.due.remove(&k);
                out.push(k);
            }
        }
        out
    }

    /// A cluster event that may make room on a node (a pod deleted there, the node changed):
    /// an unschedulable pod tries again now, as the scheduling queue moves it back to active.
    pub fn wake(&mut self, key: &ObjKey) {
        self.unschedulable.remove(key);
    }

    pub fn next_due_ms(&self) -> Option<i64> {
        self.timers.first().map(|(t, _)| *t)
    }

    fn next_due(&mut self, key: &ObjKey, pod: &Pod, env: &PodEnv<'_>, now: i64) -> Option<i64> {
        let node_ready = env.node.is_some_and(node_is_ready);
        if is_failed(pod) && pod.metadata.deletion_timestamp.is_none() {
            // Terminal: nothing runs any more; the owner deletes it.
            return None;
        }
        if let Some(del) = &pod.metadata.deletion_timestamp {
            let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(0);
            if grace == 0 {
                return Some(now);
            }
            // Only a live kubelet finishes a graceful deletion; on a lost node the pod stays
            // Terminating, as in a real cluster.
            if !node_ready {
                return None;
            }
            let requested = ms(del.0) - grace * 1000;
            return Some(requested + (grace * 1000).min(GRACE_CAP_MS));
        }
        let spec = pod.spec.as_ref()?;
        if spec.node_name.as_deref().unwrap_or("").is_empty() {
            env.node?;
            if let Some(t) = self.unschedulable.get(key) {
                return Some(*t);
            }
            let created = pod.metadata.creation_timestamp.as_ref().map_or(now, |t| ms(t.0));
            return Some(created + env.delays.bind_ms);
        }
        if !node_ready {
            return None;
        }
        let scheduled = scheduled_at(pod).map_or(now, ms);
        let Some(run) = PodRun::read(pod) else { return Some(scheduled + env.delays.create_ms) };
        let flap = self.flap_until.get(key).copied();
        match &run.main {
            Main::Creating => Some(scheduled + env.delays.create_ms),
            Main::Running { started, ready } => {
                let started = ms(*started);
                let mut due: Option<i64> = None;
                let mut at = |t: i64| due = Some(due.map_or(t, |d: i64| d.min(t)));
                if matches!(env.behaviour, Some(BehaviourKind::Crashloop | BehaviourKind::Evicted)) {
                    at(started + env.delays.crash_after_ms);
                }
                let wants_ready = env.behaviour != Some(BehaviourKind::Notready);
                if let Some(f) = flap {
                    at(f);
                } else if !ready && wants_ready {
                    at(started + env.delays.ready_ms);
                } else if *ready != build_pod::is_ready(pod) {
                    // The node lifecycle controller marked the pod NotReady while the node was
                    // gone; the kubelet reports the truth again.
                    at(now);
                }
                due
            }
            Main::Waiting { reason, .. } => match reason.as_str() {
                "CrashLoopBackOff" => run.last.as_ref().map(|l| ms(l.finished) + crash_backoff_ms(run.restarts)),
                "ErrImagePull" | "ImagePullBackOff" => {
                    let since = match self.seen.get(key) {
                        Some((r, t)) if r == reason => *t,
                        _ => {
                            self.seen.insert(key.clone(), (reason.clone(), now));
                            now
                        }
                    };
                    Some(since + if reason == "ErrImagePull" { PULL_ERR_MS } else { PULL_BACKOFF_MS })
                }
                _ => None,
            },
        }
    }

    /// Do what is due for one pod. Returns Ok(()) also when nothing was to be done.
    pub fn run(&mut self, cache: &Cache, scenario: &Scenario, ctx: &Ctx<'_>, key: &ObjKey) -> Result<(), StoreError> {
        let Some(s) = cache.pods.get(key) else { return Ok(()) };
        let Object::Pod(pod) = &*s.obj() else { return Ok(()) };
        let env = env(cache, scenario, ctx, pod);
        let now = ctx.now;
        if pod.metadata.deletion_timestamp.is_some() {
            return match ctx.store.delete(Kind::Pod, &key.namespace, &key.name) {
                Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
                Err(e) => Err(e),
            };
        }
        if is_failed(pod) {
            return Ok(());
        }
        let Some(node) = env.node else { return Ok(()) };
        let node_name = node.metadata.name.clone().unwrap_or_default();
        let (host_ip, pod_ip) = ips(node, &env.ds_name);
        let mut pod = pod.clone();
        if pod.spec.as_ref().is_some_and(|s| s.node_name.as_deref().unwrap_or("").is_empty()) {
            if !has_room(cache, node, &node_name) {
                self.unschedulable.insert(key.clone(), ms(now) + scheduler::UNSCHEDULABLE_RETRY_MS);
                let message = too_many_pods(cache.nodes.len());
                mark_unschedulable(&mut pod, &message, now);
                let about = scheduler_about(&pod);
                write(ctx, pod, s.rv)?;
                let ev = pod_events::warning("FailedScheduling", message);
                return pod_events::record_about(ctx.store, &about, &ev, 1, now, now);
            }
            self.unschedulable.remove(key);
            build_pod::bind(&mut pod, &node_name, now);
            // The kubelet sees the pod at once and reports it ContainerCreating.
            let run = PodRun { main: Main::Creating, last: None, restarts: 0, started: None };
            build_pod::write_status(&mut pod, &run, now, &host_ip, &pod_ip, now);
            return write(ctx, pod, s.rv);
        }
        let scheduled = scheduled_at(&pod).unwrap_or(now);
        let now_ms = ms(now);
        let run = PodRun::read(&pod).unwrap_or(PodRun { main: Main::Creating, last: None, restarts: 0, started: None });
        let flap = self.flap_until.get(key).copied();
        if env.behaviour == Some(BehaviourKind::Evicted)
            && let Main::Running { started, .. } = &run.main
            && now_ms >= ms(*started) + env.delays.crash_after_ms
        {
            let message = eviction_message(&pod);
            evict(&mut pod, &message, now);
            let about =
                pod_events::About { involved: pod_events::pod_ref(&pod), component: "kubelet", host: node_name };
            write(ctx, pod, s.rv)?;
            return pod_events::record_about(ctx.store, &about, &pod_events::warning("Evicted", message), 1, now, now);
        }
        let next = match &run.main {
            Main::Creating => {
                if now_ms < ms(scheduled) + env.delays.create_ms {
                    return Ok(());
                }
                if env.behaviour == Some(BehaviourKind::Imagepull) {
                    let image = pod
                        .spec
                        .as_ref()
                        .and_then(|s| s.containers.first())
                        .and_then(|c| c.image.clone())
                        .unwrap_or_default();
                    PodRun {
                        main: Main::Waiting { reason: "ErrImagePull".into(), message: pull_error(&image) },
                        last: None,
                        restarts: 0,
                        started: Some(now),
                    }
                } else {
                    PodRun::running(now, false, 0)
                }
            }
            Main::Running { started, ready } => {
                let started_ms = ms(*started);
                if env.behaviour == Some(BehaviourKind::Crashloop) && now_ms >= started_ms + env.delays.crash_after_ms {
                    let restarts = run.restarts + 1;
                    PodRun {
                        main: Main::Waiting {
                            reason: "CrashLoopBackOff".into(),
                            message: pod_events::crash_waiting_message(&pod, restarts),
                        },
                        last: Some(Last { exit_code: 1, reason: "Error".into(), started: *started, finished: now }),
                        restarts,
                        started: run.started,
                    }
                } else {
                    let flapping = flap.is_some_and(|f| now_ms < f);
                    if flap.is_some() && !flapping {
                        self.flap_until.remove(key);
                    }
                    let want = !flapping
                        && env.behaviour != Some(BehaviourKind::Notready)
                        && now_ms >= started_ms + env.delays.ready_ms;
                    PodRun {
                        main: Main::Running {
                            started: *started,
                            ready: want || (*ready && !flapping && env.behaviour != Some(BehaviourKind::Notready)),
                        },
                        ..run.clone()
                    }
                }
            }
            Main::Waiting { reason, message } => match reason.as_str() {
                "CrashLoopBackOff" => {
                    let Some(l) = &run.last else { return Ok(()) };
                    if now_ms < ms(l.finished) + crash_backoff_ms(run.restarts) {
                        return Ok(());
                    }
                    PodRun { main: Main::Running { started: now, ready: false }, ..run.clone() }
                }
                "ErrImagePull" => PodRun {
                    main: Main::Waiting {
                        reason: "ImagePullBackOff".into(),
                        message: format!("Back-off pulling image \"{}\"", image_of(&pod)),
                    },
                    ..run.clone()
                },
                "ImagePullBackOff" => {
                    if env.behaviour == Some(BehaviourKind::Imagepull) {
                        PodRun {
                            main: Main::Waiting { reason: "ErrImagePull".into(), message: pull_error(&image_of(&pod)) },
                            ..run.clone()
                        }
                    } else {
                        PodRun::running(now, false, run.restarts)
                    }
                }
                _ => PodRun { main: Main::Waiting { reason: reason.clone(), message: message.clone() }, ..run.clone() },
            },
        };
        let events = pod_events::on_transition(&pod, &run.main, &next, env.behaviour);
        build_pod::write_status(&mut pod, &next, scheduled, &host_ip, &pod_ip, now);
        if events.is_empty() {
            return write(ctx, pod, s.rv);
        }
        let about = pod.clone();
        write(ctx, pod, s.rv)?;
        for ev in &events {
            pod_events::record(ctx.store, &about, &node_name, ev, 1, now, now)?;
        }
        Ok(())
    }
}

fn is_failed(pod: &Pod) -> bool {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed")
}

/// The kubelet's eviction message under memory pressure (pkg/kubelet/eviction/helpers.go
/// `evictionMessage`: `nodeLowMessageFmt`, `thresholdMetMessageFmt`, `containerMessageFmt`,
/// each with its trailing space), for the default hard threshold `memory.available<100Mi`.
/// The container's working set is four times its memory request.
pub fn eviction_message(pod: &Pod) -> String {
    let c = pod.spec.as_ref().and_then(|s| s.containers.first());
    let name = c.map(|c| c.name.as_str()).unwrap_or("");
    let request = c
        .and_then(|c| c.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("memory"))
        .map(|q| q.0.clone())
        .unwrap_or_else(|| "0".into());
    let usage = match request.strip_suffix("Mi").and_then(|n| n.parse::<u64>().ok()) {
        Some(mi) => format!("{}Mi", mi * 4),
        None => "256Mi".into(),
    };
    format!(
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 91Mi. \
         Container {name} was using {usage}, request is {request}, has larger consumption of memory. "
    )
}

/// What the kubelet's eviction manager leaves on an evicted pod (`evictPod`): phase Failed,
/// reason Evicted with the message, a `DisruptionTarget` condition (reason
/// `TerminationByKubelet`), and its containers killed (exit 137) and not ready.
fn evict(pod: &mut Pod, message: &str, now: Timestamp) {
    let Some(st) = pod.status.as_mut() else { return };
    st.phase = Some("Failed".into());
    st.reason = Some("Evicted".into());
    st.message = Some(message.into());
    for cs in st.container_statuses.iter_mut().flatten() {
        let started = cs.state.as_ref().and_then(|s| s.running.as_ref()).and_then(|r| r.started_at.clone());
        cs.ready = false;
        cs.started = Some(false);
        cs.state = Some(k8s_openapi::api::core::v1::ContainerState {
            terminated: Some(k8s_openapi::api::core::v1::ContainerStateTerminated {
                exit_code: 137,
                reason: Some("Error".into()),
                started_at: started,
                finished_at: Some(build::time(now)),
                container_id: cs.container_id.clone(),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    let names: Vec<String> = st.container_statuses.iter().flatten().map(|c| c.name.clone()).collect();
    let msg = format!("containers with unready status: [{}]", names.join(" "));
    build_pod::set_condition(st, "Ready", false, Some(("PodCompleted", String::new())), now);
    build_pod::set_condition(st, "ContainersReady", false, Some(("ContainersNotReady", msg)), now);
    let conds = st.conditions.get_or_insert_with(Vec::new);
    conds.retain(|c| c.type_ != "DisruptionTarget");
    conds.push(k8s_openapi::api::core::v1::PodCondition {
        type_: "DisruptionTarget".into(),
        status: "True".into(),
        reason: Some("TerminationByKubelet".into()),
        message: Some(message.into()),
        last_transition_time: Some(build::time(now)),
        ..Default::default()
    });
}

fn image_of(pod: &Pod) -> String {
    pod.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.image.clone()).unwrap_or_default()
}

/// The runtime's error for an image that does not exist, as containerd's CRI answers over
/// gRPC: the ErrImagePull message, and the tail of the kubelet's `Failed to pull image` event.
pub fn pull_error(image: &str) -> String {
    format!(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
    )
}

fn write(ctx: &Ctx<'_>, pod: Pod, rv: u64) -> Result<(), StoreError> {
    match ctx.store.update(Object::Pod(pod), Some(rv)) {
        Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Restart the main container now (churn: the process was killed), as the kubelet reports it.
pub fn restart_container(pod: &mut Pod, node: &Node, ds_name: &str, now: Timestamp) -> bool {
    let Some(run) = PodRun::read(pod) else { return false };
    let Main::Running { started, .. } = run.main else { return false };
    let Some(scheduled) = scheduled_at(pod) else { return false };
    let (host_ip, pod_ip) = ips(node, ds_name);
    let next = PodRun {
        main: Main::Running { started: now, ready: false },
        last: Some(Last { exit_code: 137, reason: "Error".into(), started, finished: build::secs_before(now, 1) }),
        restarts: run.restarts + 1,
        started: run.started,
    };
    build_pod::write_status(pod, &next, scheduled, &host_ip, &pod_ip, now);
    true
}

/// Mark the pod not ready (`markPodsNotReady` of the node lifecycle controller, or a failing
/// probe from churn); containers keep their own readiness.
pub fn mark_not_ready(pod: &mut Pod, now: Timestamp, containers_too: bool) -> bool {
    if !build_pod::is_ready(pod) {
        return false;
    }
    let Some(st) = pod.status.as_mut() else { return false };
    build_pod::set_condition(st, "Ready", false, None, now);
    if containers_too {
        if let Some(cs) = st.container_statuses.as_mut().and_then(|c| c.first_mut()) {
            cs.ready = false;
        }
        let name = st.container_statuses.as_ref().and_then(|c| c.first()).map(|c| c.name.clone()).unwrap_or_default();
        let msg = format!("containers with unready status: [{name}]");
        build_pod::set_condition(st, "Ready", false, Some(("ContainersNotReady", msg.clone())), now);
        build_pod::set_condition(st, "ContainersReady", false, Some(("ContainersNotReady", msg)), now);
    }
    true
}
