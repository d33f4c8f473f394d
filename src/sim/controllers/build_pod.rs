//! Daemon pods as the real DaemonSet controller makes them (pkg/controller/daemon, v1.28:
//! `util.CreatePodTemplate`, `util.ReplaceDaemonSetPodNodeNameNodeAffinity`,
//! `controller.GetPodFromTemplate`), with the fields admission and the scheduler add, and pod
//! statuses as the kubelet writes them (`kubelet_pods.go` `getPhase`, `generateAPIPodStatus`).
//!
//! A prototype pod is built once per DaemonSet revision ([`prototype`]) and cloned per node
//! ([`for_node`]), so that populating 150,000 pods stays cheap.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Affinity, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
    HostIP, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodCondition, PodIP, PodStatus,
    Toleration,
};
use serde_json::{Value, json};

use super::build::{REVISION_HASH_LABEL, TEMPLATE_GENERATION_LABEL, fields_v1, managed, owner_ref, time};
use super::rng::{fnv64, mix};
use crate::cluster::sched::{pod_sched_spec, pod_target_node};
use crate::fleet::schedule::{PodSchedSpec, daemon_tolerations};
use crate::fleet::target_node::{OBJECT_NAME_FIELD, OP_IN};

/// The pod the controller creates for `ds` at revision `hash` and template generation
/// `generation`, before it is pinned to a node: template + default daemon tolerations + the
/// two labels (`CreatePodTemplate`), generateName and controller ownerReference
/// (`GetPodFromTemplate`), and the defaults admission adds (service account token volume,
/// priority, enableServiceLinks).
pub fn prototype(ds: &DaemonSet, hash: &str, generation: Option<i64>, at: Timestamp) -> Pod {
    let tpl = Some(&ds.spec).map(|s| s.template.clone()).unwrap_or_default();
    let mut spec = tpl.spec.clone().unwrap_or_default();
    add_daemon_tolerations(&mut spec.tolerations, spec.host_network.unwrap_or(false));
    let mut labels = tpl.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
    if let Some(g) = generation {
        labels.insert(TEMPLATE_GENERATION_LABEL.into(), g.to_string());
    }
    if !hash.is_empty() {
        labels.insert(REVISION_HASH_LABEL.into(), hash.into());
    }
    let annotations = tpl.metadata.as_ref().and_then(|m| m.annotations.clone());
    // Admission: ServiceAccount (token volume), Priority, and the pod defaults.
    if spec.service_account_name.is_none() {
        spec.service_account_name = Some("default".into());
        spec.service_account = Some("default".into());
    }
    spec.priority = Some(match spec.priority_class_name.as_deref() {
        Some("system-node-critical") => 2_000_001_000,
        Some("system-cluster-critical") => 2_000_000_000,
        _ => 0,
    });
    spec.preemption_policy = Some("PreemptLowerPriority".into());
    spec.enable_service_links = Some(true);
    let token_volume: k8s_openapi::api::core::v1::Volume = serde_json::from_value(json!({
        "name": "kube-api-access-xxxxx",
        "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]}
    }))
    .unwrap_or_default();
    spec.volumes.get_or_insert_with(Vec::new).push(token_volume);
    let mount = k8s_openapi::api::core::v1::VolumeMount {
        name: "kube-api-access-xxxxx".into(),
        mount_path: "/var/run/secrets/kubernetes.io/serviceaccount".into(),
        read_only: Some(true),
        ..Default::default()
    };
    for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
        c.volume_mounts.get_or_insert_with(Vec::new).push(mount.clone());
    }
    let ds_name = ds.metadata.name.clone().unwrap_or_default();
    let mut pod = Pod {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            generate_name: Some(format!("{ds_name}-")),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(labels),
            annotations,
            owner_references: Some(vec![owner_ref(ds)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: Some(PodStatus { phase: Some("Pending".into()), qos_class: None, ..Default::default() }),
    };
    pod.spec = pod.spec.map(|mut s| {
        s.affinity = Some(replace_node_name_affinity(s.affinity.take(), "node"));
        s
    });
    if let Some(st) = pod.status.as_mut() {
        st.qos_class = Some(qos_class(&pod.spec).into());
    }
    // managedFields: the controller's create (metadata + spec) and the kubelet's status writes.
    let v = serde_json::to_value(&pod).unwrap_or_default();
    let cm = json!({"metadata": {"generateName": "", "labels": v["metadata"]["labels"], "ownerReferences": [{"uid": ""}]}, "spec": v["spec"]});
    let sample = {
        let mut p = pod.clone();
        let run = PodRun::running(at, true, 0);
        write_status(&mut p, &run, at, "10.0.0.1", "10.0.0.2", at);
        serde_json::to_value(&p.status).unwrap_or_default()
    };
    pod.metadata.managed_fields = Some(vec![
        managed("kube-controller-manager", "Update", "v1", at, fields_v1(&cm), None),
        managed("kubelet", "Update", "v1", at, fields_v1(&json!({"status": sample})), Some("status")),
    ]);
    pod
}

/// `util.AddOrUpdateDaemonPodTolerations`, on wire tolerations: each default (key, effect) with
/// operator Exists replaces a toleration with the same key and effect, or is appended.
fn add_daemon_tolerations(tols: &mut Option<Vec<Toleration>>, host_network: bool) {
    let defaults = daemon_tolerations(&PodSchedSpec { host_network, ..Default::default() });
    let list = tols.get_or_insert_with(Vec::new);
    for d in defaults {
        let t = Toleration {
            key: Some(d.key.clone()),
            operator: Some("Exists".into()),
            effect: d.effect.map(|e| e.as_str().to_string()),
            value: None,
            toleration_seconds: None,
        };
        match list.iter_mut().find(|x| x.key == t.key && x.effect == t.effect) {
            Some(slot) => *slot = t,
            None => list.push(t),
        }
    }
}

/// `util.ReplaceDaemonSetPodNodeNameNodeAffinity`: the required node affinity becomes exactly
/// one term, matchFields `metadata.name In [node]`; preferred terms are kept.
pub fn replace_node_name_affinity(affinity: Option<Affinity>, node: &str) -> Affinity {
    let term = NodeSelectorTerm {
        match_expressions: None,
        match_fields: Some(vec![NodeSelectorRequirement {
            key: OBJECT_NAME_FIELD.into(),
            operator: OP_IN.into(),
            values: Some(vec![node.to_string()]),
        }]),
    };
    let selector = NodeSelector { node_selector_terms: vec![term] };
    let mut a = affinity.unwrap_or_default();
    let na = a.node_affinity.get_or_insert_with(NodeAffinity::default);
    na.required_during_scheduling_ignored_during_execution = Some(selector);
    a
}

/// `util.GetTargetNodeName` ([`crate::fleet::target_node`]): `spec.nodeName`, or before binding
/// the node named by the matchFields `metadata.name In [node]` term.
pub fn target_node(pod: &Pod) -> Option<&str> {
    pod_target_node(pod.spec.as_ref()?).map(|t| t.name)
}

/// The prototype pinned to `node`; the token volume gets a per-pod suffix like admission's.
pub fn for_node(proto: &Pod, node: &str, salt: u64) -> Pod {
    let mut pod = proto.clone();
    let suffix = five(mix(salt ^ fnv64(node.as_bytes())));
    if let Some(spec) = pod.spec.as_mut() {
        spec.affinity = Some(replace_node_name_affinity(spec.affinity.take(), node));
        let vol = format!("kube-api-access-{suffix}");
        for v in spec.volumes.iter_mut().flatten() {
            if v.name == "kube-api-access-xxxxx" {
                v.name.clone_from(&vol);
            }
        }
        for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
            for m in c.volume_mounts.iter_mut().flatten() {
                if m.name == "kube-api-access-xxxxx" {
                    m.name.clone_from(&vol);
                }
            }
        }
    }
    pod
}

fn five(mut n: u64) -> String {
    const A: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| {
            let c = A[(n % A.len() as u64) as usize] as char;
            n /= A.len() as u64;
            c
        })
        .collect()
}

fn qos_class(spec: &Option<k8s_openapi::api::core::v1::PodSpec>) -> &'static str {
    let Some(spec) = spec else { return "BestEffort" };
    let mut any = false;
    let mut guaranteed = true;
    for c in &spec.containers {
        let r = c.resources.as_ref();
        let req = r.and_then(|r| r.requests.as_ref());
        let lim = r.and_then(|r| r.limits.as_ref());
        if req.is_some_and(|m| !m.is_empty()) || lim.is_some_and(|m| !m.is_empty()) {
            any = true;
        }
        let full = |k: &str| {
            lim.is_some_and(|l| l.contains_key(k)) && req.is_none_or(|q| q.get(k) == lim.and_then(|l| l.get(k)))
        };
        if !(full("cpu") && full("memory")) {
            guaranteed = false;
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// Bind the pod to its node as the scheduler does (`spec.nodeName` through the binding
/// subresource, and the PodScheduled condition).
pub fn bind(pod: &mut Pod, node: &str, at: Timestamp) {
    if let Some(spec) = pod.spec.as_mut() {
        spec.node_name = Some(node.to_string());
    }
    let st = pod.status.get_or_insert_with(Default::default);
    st.phase = Some("Pending".into());
    set_condition(st, "PodScheduled", true, None, at);
}

/// How the first container of a pod is doing; other containers simply run once the pod has
/// started (a crash loop or a bad image is a property of the main container).
#[derive(Clone, Debug, PartialEq)]
pub enum Main {
    /// Sandbox and image being set up.
    Creating,
    Running {
        started: Timestamp,
        ready: bool,
    },
    /// Waiting to (re)start: `CrashLoopBackOff`, `ErrImagePull`, `ImagePullBackOff`.
    Waiting {
        reason: String,
        message: String,
    },
}

/// A finished run of the main container.
#[derive(Clone, Debug, PartialEq)]
pub struct Last {
    pub exit_code: i32,
    pub reason: String,
    pub started: Timestamp,
    pub finished: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PodRun {
    pub main: Main,
    pub last: Option<Last>,
    pub restarts: i32,
    /// When the other containers (and init containers, done) started; `None` while creating.
    pub started: Option<Timestamp>,
}

impl PodRun {
    pub fn running(started: Timestamp, ready: bool, restarts: i32) -> PodRun {
        PodRun { main: Main::Running { started, ready }, last: None, restarts, started: Some(started) }
    }

    /// Read back what `write_status` wrote.
    pub fn read(pod: &Pod) -> Option<PodRun> {
        let st = pod.status.as_ref()?;
        let cs = st.container_statuses.as_ref()?.first()?;
        let state = cs.state.as_ref()?;
        let main = if let Some(r) = &state.running {
            Main::Running { started: r.started_at.as_ref().map(|t| t.0)?, ready: cs.ready }
        } else if let Some(w) = &state.waiting {
            let reason = w.reason.clone().unwrap_or_default();
            if reason == "ContainerCreating" || reason == "PodInitializing" {
                Main::Creating
            } else {
                Main::Waiting { reason, message: w.message.clone().unwrap_or_default() }
            }
        } else {
            Main::Creating
        };
        let last = cs.last_state.as_ref().and_then(|l| l.terminated.as_ref()).map(|t| Last {
            exit_code: t.exit_code,
            reason: t.reason.clone().unwrap_or_default(),
            started: t.started_at.as_ref().map(|x| x.0).unwrap_or(Timestamp::UNIX_EPOCH),
            finished: t.finished_at.as_ref().map(|x| x.0).unwrap_or(Timestamp::UNIX_EPOCH),
        });
        let started = st.start_time.as_ref().map(|t| t.0).filter(|_| main != Main::Creating || last.is_some());
        Some(PodRun { main, last, restarts: cs.restart_count, started })
    }
}

/// The time of the pod's PodScheduled condition (its binding), if bound.
pub fn scheduled_at(pod: &Pod) -> Option<Timestamp> {
    condition(pod, "PodScheduled")
        .filter(|c| c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref().map(|t| t.0))
}

pub fn condition<'a>(pod: &'a Pod, ty: &str) -> Option<&'a PodCondition> {
    pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == ty)
}

/// `podutil.IsPodReady`.
pub fn is_ready(pod: &Pod) -> bool {
    condition(pod, "Ready").is_some_and(|c| c.status == "True")
}

/// `podutil.IsPodAvailable`: Ready for at least `min_ready` seconds.
pub fn is_available(pod: &Pod, min_ready: i32, now: Timestamp) -> bool {
    let Some(c) = condition(pod, "Ready").filter(|c| c.status == "True") else { return false };
    if min_ready <= 0 {
        return true;
    }
    c.last_transition_time.as_ref().is_some_and(|t| t.0.as_second() + i64::from(min_ready) <= now.as_second())
}

/// Set a condition, keeping its lastTransitionTime when the status does not change.
pub fn set_condition(st: &mut PodStatus, ty: &str, ok: bool, reason_msg: Option<(&str, String)>, at: Timestamp) {
    let status = if ok { "True" } else { "False" };
    let conds = st.conditions.get_or_insert_with(Vec::new);
    let (reason, message) = match reason_msg {
        Some((r, m)) if !ok => (Some(r.to_string()), Some(m)),
        _ => (None, None),
    };
    if let Some(c) = conds.iter_mut().find(|c| c.type_ == ty) {
        if c.status != status {
            c.status = status.into();
            c.last_transition_time = Some(time(at));
        }
        c.reason = reason;
        c.message = message;
    } else {
        conds.push(PodCondition {
            type_: ty.into(),
            status: status.into(),
            last_transition_time: Some(time(at)),
            reason,
            message,
            last_probe_time: None,
            observed_generation: None,
        });
    }
    // The kubelet's order.
    const ORDER: [&str; 5] = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"];
    conds.sort_by_key(|c| ORDER.iter().position(|o| *o == c.type_).unwrap_or(ORDER.len()));
}

fn container_id(pod_key: &str, container: &str, run: i32) -> String {
    let mut s = String::from("containerd://");
    let mut h = fnv64(format!("{pod_key}/{container}/{run}").as_bytes());
    for _ in 0..4 {
        h = mix(h);
        s.push_str(&format!("{h:016x}"));
    }
    s
}

fn image_id(image: &str) -> String {
    let repo = image.rsplit_once(':').filter(|(_, tag)| !tag.contains('/')).map_or(image, |(r, _)| r);
    let mut s = format!("{repo}@sha256:");
    let mut h = fnv64(image.as_bytes());
    for _ in 0..4 {
        h = mix(h);
        s.push_str(&format!("{h:016x}"));
    }
    s
}

/// Write the whole status the kubelet reports for `run` (`generateAPIPodStatus`): phase as
/// `getPhase` computes it, conditions, IPs, container and init container statuses.
pub fn write_status(pod: &mut Pod, run: &PodRun, scheduled: Timestamp, host_ip: &str, pod_ip: &str, now: Timestamp) {
    let key = format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.uid.as_deref().or(pod.metadata.name.as_deref()).unwrap_or("")
    );
    let Some(spec) = pod.spec.as_ref() else { return };
    let host_network = spec.host_network.unwrap_or(false);
    let pod_ip = if host_network { host_ip } else { pod_ip };
    let mut statuses = Vec::with_capacity(spec.containers.len());
    let mut unready = Vec::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let image = c.image.clone().unwrap_or_default();
        let (state, ready, restarts, last, cid) = if i == 0 {
            let last = run.last.as_ref().map(|l| ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: l.exit_code,
                    reason: Some(l.reason.clone()),
                    started_at: Some(time(l.started)),
                    finished_at: Some(time(l.finished)),
                    container_id: Some(container_id(&key, &c.name, run.restarts - 1)),
                    ..Default::default()
                }),
                ..Default::default()
            });
            match &run.main {
                Main::Creating => (waiting("ContainerCreating", None), false, run.restarts, last, None),
                Main::Running { started, ready } => (
                    ContainerState {
                        running: Some(ContainerStateRunning { started_at: Some(time(*started)) }),
                        ..Default::default()
                    },
                    *ready,
                    run.restarts,
                    last,
                    Some(container_id(&key, &c.name, run.restarts)),
                ),
                Main::Waiting { reason, message } => {
                    (waiting(reason, Some(message.clone())), false, run.restarts, last, None)
                }
            }
        } else {
            match run.started {
                Some(s) => (
                    ContainerState {
                        running: Some(ContainerStateRunning { started_at: Some(time(s)) }),
                        ..Default::default()
                    },
                    true,
                    0,
                    None,
                    Some(container_id(&key, &c.name, 0)),
                ),
                None => (waiting("ContainerCreating", None), false, 0, None, None),
            }
        };
        if !ready {
            unready.push(c.name.clone());
        }
        let running = state.running.is_some();
        statuses.push(ContainerStatus {
            name: c.name.clone(),
            image: image.clone(),
            image_id: if cid.is_some() || last.is_some() { image_id(&image) } else { String::new() },
            container_id: cid,
            ready,
            restart_count: restarts,
            started: Some(running),
            state: Some(state),
            last_state: Some(last.unwrap_or_default()),
            ..Default::default()
        });
    }
    let init_statuses = spec.init_containers.as_ref().map(|inits| {
        inits
            .iter()
            .map(|c| {
                let image = c.image.clone().unwrap_or_default();
                match run.started {
                    Some(s) => ContainerStatus {
                        name: c.name.clone(),
                        image: image.clone(),
                        image_id: image_id(&image),
                        container_id: Some(container_id(&key, &c.name, 0)),
                        ready: true,
                        restart_count: 0,
                        started: Some(false),
                        state: Some(ContainerState {
                            terminated: Some(ContainerStateTerminated {
                                exit_code: 0,
                                reason: Some("Completed".into()),
                                started_at: Some(time(s)),
                                finished_at: Some(time(s)),
                                container_id: Some(container_id(&key, &c.name, 0)),
                                ..Default::default()
                            }),
                            ..Default::default()
                        }),
                        last_state: Some(ContainerState::default()),
                        ..Default::default()
                    },
                    None => ContainerStatus {
                        name: c.name.clone(),
                        image,
                        started: Some(false),
                        state: Some(waiting("PodInitializing", None)),
                        last_state: Some(ContainerState::default()),
                        ..Default::default()
                    },
                }
            })
            .collect::<Vec<_>>()
    });
    // getPhase (restartPolicy Always): a container that never ran keeps the pod Pending.
    let never_ran = statuses.iter().any(|s| {
        s.state.as_ref().is_some_and(|x| x.waiting.is_some())
            && s.last_state.as_ref().is_none_or(|l| l.terminated.is_none())
    });
    let phase = if never_ran { "Pending" } else { "Running" };
    let st = pod.status.get_or_insert_with(Default::default);
    st.phase = Some(phase.into());
    st.host_ip = Some(host_ip.into());
    st.host_ips = Some(vec![HostIP { ip: host_ip.into() }]);
    if run.started.is_some() || run.last.is_some() {
        st.pod_ip = Some(pod_ip.into());
        st.pod_ips = Some(vec![PodIP { ip: pod_ip.into() }]);
    }
    st.start_time = Some(time(scheduled));
    let all_ready = unready.is_empty();
    let msg = format!("containers with unready status: [{}]", unready.join(" "));
    set_condition(st, "PodScheduled", true, None, scheduled);
    set_condition(
        st,
        "PodReadyToStartContainers",
        run.started.is_some() || run.last.is_some(),
        None,
        run.started.unwrap_or(now),
    );
    let init_done = run.started.is_some() || run.last.is_some();
    let init_msg = ("ContainersNotInitialized", "containers with incomplete status: [install-cni]".to_string());
    let init_at = if spec.init_containers.is_some() { run.started.unwrap_or(now) } else { scheduled };
    set_condition(st, "Initialized", init_done || spec.init_containers.is_none(), Some(init_msg), init_at);
    set_condition(st, "ContainersReady", all_ready, Some(("ContainersNotReady", msg.clone())), now);
    set_condition(st, "Ready", all_ready, Some(("ContainersNotReady", msg)), now);
    st.container_statuses = Some(statuses);
    st.init_container_statuses = init_statuses;
}

fn waiting(reason: &str, message: Option<String>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting { reason: Some(reason.into()), message }),
        ..Default::default()
    }
}

/// The scheduling view of a pod (for tests and the misscheduled count of bare pods).
pub fn sched_of(pod: &Pod) -> PodSchedSpec {
    pod.spec.as_ref().map(pod_sched_spec).unwrap_or_default()
}

/// The JSON size of a pod (tests and the large scenario report it).
pub fn json_len(pod: &Pod) -> usize {
    serde_json::to_vec(pod).map(|v| v.len()).unwrap_or(0)
}

/// `serde_json::Value` of a template-less helper kept for tests.
pub fn to_value(pod: &Pod) -> Value {
    serde_json::to_value(pod).unwrap_or_default()
}
