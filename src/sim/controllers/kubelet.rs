//! The simulated kubelets (and the scheduler's binding of daemon pods): every pod moves
//! Pending (unbound) → bound → ContainerCreating → Running → Ready with its DaemonSet's delays,
//! or into the behaviour the scenario gives it on its node: a crash loop (exit, restartCount+1,
//! CrashLoopBackOff with the kubelet's back-off 10 s doubling to 300 s), an image that cannot be
//! pulled (ErrImagePull ⇄ ImagePullBackOff), or a failing readiness probe. Pods with a
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
    let owner = cache.owner_key(&Object::Pod(pod.clone()));
    let node_name = target_node(pod).unwrap_or("");
    let node = cache.nodes.get(node_name).and_then(|s| match &s.obj {
        Object::Node(n) => Some(n),
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
            return;
        };
        let Object::Pod(pod) = &s.obj else { return };
        let env = env(cache, scenario, ctx, pod);
        if let Some(due) = self.next_due(key, pod, &env, ms(ctx.now)) {
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

    pub fn next_due_ms(&self) -> Option<i64> {
        self.timers.first().map(|(t, _)| *t)
    }

    fn next_due(&mut self, key: &ObjKey, pod: &Pod, env: &PodEnv<'_>, now: i64) -> Option<i64> {
        let node_ready = env.node.is_some_and(node_is_ready);
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
                if env.behaviour == Some(BehaviourKind::Crashloop) {
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
        let Object::Pod(pod) = &s.obj else { return Ok(()) };
        let env = env(cache, scenario, ctx, pod);
        let now = ctx.now;
        if pod.metadata.deletion_timestamp.is_some() {
            return match ctx.store.delete(Kind::Pod, &key.namespace, &key.name) {
                Ok(_) | Err(StoreError::NotFound { .. }) => Ok(()),
                Err(e) => Err(e),
            };
        }
        let Some(node) = env.node else { return Ok(()) };
        let node_name = node.metadata.name.clone().unwrap_or_default();
        let (host_ip, pod_ip) = ips(node, &env.ds_name);
        let mut pod = pod.clone();
        if pod.spec.as_ref().is_some_and(|s| s.node_name.as_deref().unwrap_or("").is_empty()) {
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
