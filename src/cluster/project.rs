//! Projections: Kubernetes objects (the [`wire`](super::wire) types for Pods and Nodes,
//! k8s-openapi types for DaemonSets and ControllerRevisions) → the small `fleet::model` structs
//! the index holds. Called by the watch tasks the moment an object arrives; the object is
//! dropped right after. Pure functions, no I/O.
//!
//! Where Kubernetes decides a value (the STATUS column, the owning DaemonSet, the node of an
//! unbound daemon pod, strategy defaults) the function says which upstream code it follows.

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Event, Node, NodeSpec, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::sched;
use super::wire::{ContainerStatusWire, LABEL_REVISION_HASH, LABEL_TEMPLATE_GENERATION, NodeWire, PodWire};
use crate::fleet::model::{
    DsInfo, DsStatusCounts, EventInfo, Involved, NodeInfo, NodeReadiness, ObjKey, Phase, PodInfo, RevInfo, Secs,
    UpdateStrategy,
};
use crate::fleet::state::{ContainerStateInput, ContainerStatusInput, StatusInput, print_status};

/// `kubectl rollout history` shows this annotation as CHANGE-CAUSE.
pub const ANNOTATION_CHANGE_CAUSE: &str = "kubernetes.io/change-cause";

fn secs(t: Option<&Time>) -> Secs {
    t.map(|t| t.0.as_second()).unwrap_or(0)
}

/// Namespace ("" for cluster-scoped) and name of any object, for `Change::Delete`.
pub fn obj_key(meta: &ObjectMeta) -> ObjKey {
    ObjKey { namespace: meta.namespace.clone().unwrap_or_default(), name: meta.name.clone().unwrap_or_default() }
}

/// The name of the DaemonSet that controls the object: the ownerReference with
/// `controller: true` and kind DaemonSet (`metav1.GetControllerOf`, as the DaemonSet
/// controller's `getDaemonPods` claims pods).
pub fn daemonset_owner(refs: Option<&Vec<OwnerReference>>) -> Option<String> {
    refs?.iter().find(|r| r.controller == Some(true)).filter(|r| r.kind == "DaemonSet").map(|r| r.name.clone())
}

// ---------------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------------

/// Project a node. `None` when it has no name (nothing to key it by).
pub fn node_info(n: &NodeWire) -> Option<NodeInfo> {
    node_info_raw(n).map(clean::node_info)
}

fn node_info_raw(n: &NodeWire) -> Option<NodeInfo> {
    let name = n.metadata.name.clone().filter(|s| !s.is_empty())?;
    let mut readiness = NodeReadiness::Unknown;
    let mut pressures = Vec::new();
    let mut since = Vec::new();
    for c in &n.status.conditions {
        if let Some(t) = &c.last_transition_time {
            since.push((c.type_.clone(), t.0.as_second()));
        }
        if c.type_ == "Ready" {
            readiness = match c.status.as_str() {
                "True" => NodeReadiness::Ready,
                "False" => NodeReadiness::NotReady,
                _ => NodeReadiness::Unknown,
            };
        } else if c.status == "True" {
            // MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable: each True one is a problem.
            pressures.push(c.type_.clone());
        }
    }
    // `cluster::sched` owns the k8s → fleet taint conversion (shared with the simulator); it
    // takes a Node, and a node has only a handful of taints, so we lend it a minimal one.
    let taints = if n.spec.taints.is_empty() {
        Vec::new()
    } else {
        let node = Node {
            spec: Some(NodeSpec { taints: Some(n.spec.taints.clone()), ..NodeSpec::default() }),
            ..Node::default()
        };
        sched::node_taints(&node)
    };
    for (t, wire) in taints.iter().zip(&n.spec.taints) {
        if let Some(added) = &wire.time_added {
            since.push((format!("taint {t}"), added.0.as_second()));
        }
    }
    Some(NodeInfo {
        name,
        labels: n.metadata.labels.clone().unwrap_or_default(),
        taints,
        unschedulable: n.spec.unschedulable.unwrap_or(false),
        readiness,
        created: secs(n.metadata.creation_timestamp.as_ref()),
        pressures,
        kubelet_version: n.status.node_info.kubelet_version.clone(),
        since,
    })
}

/// [`node_info`] of a k8s-openapi Node, through the same JSON decoding the watch uses.
pub fn node_info_from_k8s(node: &Node) -> Option<NodeInfo> {
    let bytes = serde_json::to_vec(node).ok()?;
    node_info(&serde_json::from_slice::<NodeWire>(&bytes).ok()?)
}

// ---------------------------------------------------------------------------------------------
// DaemonSets
// ---------------------------------------------------------------------------------------------

fn int_or_string(v: Option<&IntOrString>, default: &str) -> String {
    match v {
        Some(IntOrString::Int(i)) => i.to_string(),
        Some(IntOrString::String(s)) => s.clone(),
        None => default.to_string(),
    }
}

/// A label selector as `kubectl` prints it (`metav1.LabelSelectorAsSelector(...).String()`):
/// `k=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k`, comma-separated, sorted by key.
pub fn selector_string(sel: Option<&LabelSelector>) -> String {
    let Some(sel) = sel else { return String::new() };
    let mut parts: Vec<(String, String)> = Vec::new();
    if let Some(ml) = &sel.match_labels {
        for (k, v) in ml {
            parts.push((k.clone(), format!("{k}={v}")));
        }
    }
    for e in sel.match_expressions.iter().flatten() {
        let mut values = e.values.clone().unwrap_or_default();
        values.sort();
        let text = match e.operator.as_str() {
            "In" => format!("{} in ({})", e.key, values.join(",")),
            "NotIn" => format!("{} notin ({})", e.key, values.join(",")),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            other => format!("{} {other} ({})", e.key, values.join(",")),
        };
        parts.push((e.key.clone(), text));
    }
    parts.sort();
    parts.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join(",")
}

/// Project a DaemonSet. `None` when it has no name.
pub fn ds_info(ds: &DaemonSet) -> Option<DsInfo> {
    ds_info_raw(ds).map(clean::ds_info)
}

fn ds_info_raw(ds: &DaemonSet) -> Option<DsInfo> {
    let meta = &ds.metadata;
    let name = meta.name.clone().filter(|s| !s.is_empty())?;
    let spec = Some(&ds.spec);
    let pod_spec = spec.and_then(|s| s.template.spec.as_ref());
    let sched = pod_spec.map(sched::pod_sched_spec).unwrap_or_default();
    let st = ds.status.as_ref();
    let status = st
        .map(|s| DsStatusCounts {
            desired: s.desired_number_scheduled,
            current: s.current_number_scheduled,
            ready: s.number_ready,
            updated: s.updated_number_scheduled.unwrap_or(0),
            available: s.number_available.unwrap_or(0),
            unavailable: s.number_unavailable.unwrap_or(0),
            misscheduled: s.number_misscheduled,
            observed_generation: s.observed_generation.unwrap_or(0),
        })
        .unwrap_or_default();
    // Defaults from pkg/apis/apps/v1/defaults.go SetDefaults_DaemonSet: RollingUpdate with
    // maxUnavailable 1 and maxSurge 0.
    let strategy = match spec.and_then(|s| s.update_strategy.as_ref()) {
        Some(u) if u.type_.as_deref() == Some("OnDelete") => UpdateStrategy::OnDelete,
        u => {
            let ru = u.and_then(|u| u.rolling_update.as_ref());
            UpdateStrategy::RollingUpdate {
                max_unavailable: int_or_string(ru.and_then(|r| r.max_unavailable.as_ref()), "1"),
                max_surge: int_or_string(ru.and_then(|r| r.max_surge.as_ref()), "0"),
            }
        }
    };
    let containers = pod_spec.map(|p| p.containers.iter().map(|c| c.name.clone()).collect()).unwrap_or_default();
    let init_containers = pod_spec
        .and_then(|p| p.init_containers.as_ref())
        .map(|v| v.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let images = pod_spec
        .map(|p| p.containers.iter().map(|c| c.image.clone().unwrap_or_default()).collect())
        .unwrap_or_default();
    Some(DsInfo {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name,
        uid: meta.uid.clone().unwrap_or_default(),
        generation: meta.generation.unwrap_or(0),
        created: secs(meta.creation_timestamp.as_ref()),
        sched,
        status,
        strategy,
        selector: selector_string(spec.map(|s| &s.selector)),
        containers,
        init_containers,
        images,
    })
}

// ---------------------------------------------------------------------------------------------
// ControllerRevisions
// ---------------------------------------------------------------------------------------------

/// Project a ControllerRevision. `owner` is `None` for revisions not controlled by a DaemonSet
/// (StatefulSets keep theirs in the same resource); the watch drops those.
pub fn rev_info(rev: &ControllerRevision) -> Option<RevInfo> {
    rev_info_raw(rev).map(clean::rev_info)
}

fn rev_info_raw(rev: &ControllerRevision) -> Option<RevInfo> {
    let meta = &rev.metadata;
    let name = meta.name.clone().filter(|s| !s.is_empty())?;
    // The DaemonSet controller labels each revision with its hash and names it
    // `<daemonset>-<hash>` (pkg/controller/daemon/update.go snapshot()).
    let hash = meta
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_REVISION_HASH))
        .cloned()
        .unwrap_or_else(|| name.rsplit_once('-').map(|(_, h)| h.to_string()).unwrap_or_default());
    let change_cause = meta.annotations.as_ref().and_then(|a| a.get(ANNOTATION_CHANGE_CAUSE)).cloned();
    // `data` is the strategic-merge patch the controller stores: {"spec":{"template":{...}}}.
    let images = rev
        .data
        .0
        .pointer("/spec/template/spec/containers")
        .and_then(|c| c.as_array())
        .map(|cs| cs.iter().map(|c| c.get("image").and_then(|i| i.as_str()).unwrap_or("").to_string()).collect())
        .unwrap_or_default();
    Some(RevInfo {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name,
        owner: daemonset_owner(meta.owner_references.as_ref()),
        revision: rev.revision.unwrap_or(0),
        hash,
        created: secs(meta.creation_timestamp.as_ref()),
        change_cause,
        images,
    })
}

// ---------------------------------------------------------------------------------------------
// Pods
// ---------------------------------------------------------------------------------------------

fn phase(s: Option<&str>) -> Phase {
    match s {
        Some("Running") => Phase::Running,
        Some("Succeeded") => Phase::Succeeded,
        Some("Failed") => Phase::Failed,
        Some("Unknown") => Phase::Unknown,
        // An unset phase is a pod the kubelet has not reported on yet: Pending.
        _ => Phase::Pending,
    }
}

fn container_input(c: &ContainerStatusWire, restartable_init: bool) -> ContainerStatusInput {
    let state = if let Some(t) = &c.state.terminated {
        ContainerStateInput::Terminated { reason: t.reason.clone(), exit_code: t.exit_code, signal: t.signal }
    } else if let Some(w) = &c.state.waiting {
        ContainerStateInput::Waiting { reason: w.reason.clone() }
    } else if c.state.running {
        ContainerStateInput::Running
    } else {
        ContainerStateInput::Unknown
    };
    ContainerStatusInput {
        ready: c.ready,
        started: c.started,
        restart_count: c.restart_count,
        state,
        last_terminated: c
            .last_state
            .terminated
            .as_ref()
            .map(|t| (t.reason.clone(), t.exit_code, t.finished_at.as_ref().map(|f| f.0.as_second()))),
        restartable_init,
    }
}

/// "OOMKilled (exit 137)", "Error (exit 1)", "exit 2", "Error (signal 9)" …
fn termination_text(reason: &str, exit_code: i32, signal: i32) -> String {
    let code = if signal != 0 { format!("signal {signal}") } else { format!("exit {exit_code}") };
    if reason.is_empty() { code } else { format!("{reason} ({code})") }
}

/// The last termination of the most recently restarted container: the latest
/// `lastState.terminated.finishedAt`, or (without times) the one with the most restarts.
fn last_termination(pod: &PodWire) -> Option<String> {
    let all = pod.status.init_container_statuses.iter().chain(pod.status.container_statuses.iter());
    let best = all
        .filter_map(|c| c.last_state.terminated.as_ref().map(|t| (c, t)))
        .max_by_key(|(c, t)| (t.finished_at.as_ref().map(|f| f.0.as_second()), c.restart_count))?;
    let (_, t) = best;
    Some(termination_text(&t.reason, t.exit_code, t.signal))
}

/// Project a pod. `owner` is `None` for pods not controlled by a DaemonSet (the watch drops
/// them). `None` when the pod has no name.
pub fn pod_info(pod: &PodWire) -> Option<PodInfo> {
    pod_info_raw(pod).map(clean::pod_info)
}

fn pod_info_raw(pod: &PodWire) -> Option<PodInfo> {
    let meta = &pod.metadata;
    let name = meta.name.clone().filter(|s| !s.is_empty())?;
    let labels = meta.labels.as_ref();
    // An unbound pod is already "on" the node the DaemonSet controller pinned it to.
    let target = pod.spec.target_node();
    let (node, bound) = (target.map(|t| t.name.to_string()), target.is_some_and(|t| t.bound));
    let spec = &pod.spec;
    let restartable = |name: &str| {
        spec.init_containers.iter().any(|c| c.name == name && c.restart_policy.as_deref() == Some("Always"))
    };
    let input = StatusInput {
        phase: pod.status.phase.clone().unwrap_or_default(),
        reason: pod.status.reason.clone().unwrap_or_default(),
        deleting: meta.deletion_timestamp.is_some(),
        init_containers: spec.init_containers.len(),
        containers: spec.containers.len(),
        conditions: pod
            .status
            .conditions
            .iter()
            .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone().unwrap_or_default()))
            .collect(),
        init_statuses: pod
            .status
            .init_container_statuses
            .iter()
            .map(|c| container_input(c, restartable(&c.name)))
            .collect(),
        statuses: pod.status.container_statuses.iter().map(|c| container_input(c, false)).collect(),
    };
    // READY / STATUS / RESTARTS exactly as `kubectl get pods` prints them.
    let printed = print_status(&input);
    let ready = pod.status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True");
    Some(PodInfo {
        namespace: meta.namespace.clone().unwrap_or_default(),
        name,
        uid: meta.uid.clone().unwrap_or_default(),
        owner: daemonset_owner(meta.owner_references.as_ref()),
        node,
        bound,
        revision_hash: labels.and_then(|l| l.get(LABEL_REVISION_HASH)).cloned(),
        template_generation: labels.and_then(|l| l.get(LABEL_TEMPLATE_GENERATION)).and_then(|g| g.parse().ok()),
        created: secs(meta.creation_timestamp.as_ref()),
        deleting: meta.deletion_timestamp.is_some(),
        phase: phase(pod.status.phase.as_deref()),
        reason: printed.reason,
        ready,
        containers_ready: printed.ready_containers,
        containers_total: printed.total_containers,
        restarts: printed.restarts,
        last_termination: last_termination(pod),
        last_restart: printed.last_restart,
        detail: pod_detail(pod),
    })
}

/// The longest detail line kept per pod: enough for the kubelet's back-off and image-pull
/// messages, bounded so a container writing a huge termination message costs the index little.
const DETAIL_MAX: usize = 300;

/// What the kubelet says beyond the STATUS column, for the "why" of a cell: the first init
/// container (then container) that is waiting with a reason other than the routine
/// `ContainerCreating`/`PodInitializing`, with its message; else the first terminated one that
/// did not exit 0; else the pod's own `status.message` (evictions, node shutdown), which comes
/// first for a pod that failed with a reason.
fn pod_detail(pod: &PodWire) -> Option<String> {
    let st = &pod.status;
    let all = || st.init_container_statuses.iter().chain(st.container_statuses.iter());
    let line = |name: &str, reason: &str, message: Option<&str>| {
        let message = message.map(str::trim).filter(|m| !m.is_empty());
        match message {
            Some(m) => format!("{name}: {reason}: {m}"),
            None => format!("{name}: {reason}"),
        }
    };
    let waiting = all().find_map(|c| {
        let w = c.state.waiting.as_ref()?;
        let routine = matches!(w.reason.as_str(), "" | "ContainerCreating" | "PodInitializing");
        (!routine || w.message.as_deref().is_some_and(|m| !m.trim().is_empty()))
            .then(|| line(&c.name, if w.reason.is_empty() { "waiting" } else { &w.reason }, w.message.as_deref()))
    });
    let terminated = || {
        all().find_map(|c| {
            let t = c.state.terminated.as_ref()?;
            (t.exit_code != 0 || t.signal != 0).then(|| {
                let what = termination_text(&t.reason, t.exit_code, t.signal);
                line(&c.name, &what, t.message.as_deref())
            })
        })
    };
    let own = || {
        st.message.as_deref().map(str::trim).filter(|m| !m.is_empty()).map(|m| match st.reason.as_deref() {
            Some(r) if !r.is_empty() => format!("{r}: {m}"),
            _ => m.to_string(),
        })
    };
    // A pod the kubelet failed as a whole (an eviction, a node shutdown) says why in its own
    // status; its containers' exits are only the consequence.
    let text = if st.phase.as_deref() == Some("Failed") && st.reason.as_deref().is_some_and(|r| !r.is_empty()) {
        own().or(waiting).or_else(terminated)?
    } else {
        waiting.or_else(terminated).or_else(own)?
    };
    // One line: the kubelet's messages may hold newlines (a termination log).
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(crate::text::truncate_chars(&one, DETAIL_MAX))
}

/// The longest event message kept: the DaemonSet controller's `FailedCreate` with a quota or
/// webhook refusal is ~150–300 characters; a webhook may write kilobytes.
pub const EVENT_MESSAGE_MAX: usize = 400;

/// Project a core/v1 Event about a pod, a DaemonSet or a node; `None` for other kinds, for
/// events that are not `Warning`, and for events without a name or an object name.
pub fn event_info(ev: &Event) -> Option<EventInfo> {
    if ev.type_.as_deref() != Some("Warning") {
        return None;
    }
    let obj = &ev.involved_object;
    let kind = Involved::parse(obj.kind.as_deref()?)?;
    let name = ev.metadata.name.clone().filter(|s| !s.is_empty())?;
    let object_name = obj.name.clone().filter(|s| !s.is_empty())?;
    let series = ev.series.as_ref();
    let count = series.and_then(|s| s.count).or(ev.count).unwrap_or(1).max(1) as u32;
    let last = ev
        .last_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .or_else(|| series.and_then(|s| s.last_observed_time.as_ref()).map(|t| t.0.as_second()))
        .or_else(|| ev.event_time.as_ref().map(|t| t.0.as_second()))
        .or_else(|| ev.first_timestamp.as_ref().map(|t| t.0.as_second()))
        .unwrap_or_else(|| secs(ev.metadata.creation_timestamp.as_ref()));
    let message: String = ev.message.as_deref().unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ");
    Some(clean::event_info(EventInfo {
        namespace: ev.metadata.namespace.clone().unwrap_or_default(),
        name,
        kind,
        object_namespace: if kind == Involved::Node {
            String::new()
        } else {
            obj.namespace.clone().unwrap_or_default()
        },
        object_name,
        object_uid: obj.uid.clone().unwrap_or_default(),
        field_path: obj.field_path.clone().filter(|f| !f.is_empty()),
        reason: ev.reason.clone().unwrap_or_default(),
        message: crate::text::truncate_chars(&message, EVENT_MESSAGE_MAX),
        count,
        last,
    }))
}

/// [`pod_info`] of a k8s-openapi Pod, through the same JSON decoding the watch uses (tests
/// compute the simulator's truth with it).
pub fn pod_info_from_k8s(pod: &Pod) -> Option<PodInfo> {
    let bytes = serde_json::to_vec(pod).ok()?;
    pod_info(&serde_json::from_slice::<PodWire>(&bytes).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> PodInfo {
        let wire: PodWire = serde_json::from_value(v).expect("fixture decodes");
        pod_info(&wire).expect("fixture has a name")
    }

    fn owner(name: &str) -> serde_json::Value {
        json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": name, "uid": "ds-uid",
                "controller": true, "blockOwnerDeletion": true}])
    }

    #[test]
    fn crash_looping_pod_reports_reason_restarts_and_last_termination() {
        let p = pod(json!({
            "metadata": {"name": "fluent-bit-abcde", "namespace": "logging", "uid": "u1",
                         "creationTimestamp": "2024-05-01T10:00:00Z",
                         "labels": {"controller-revision-hash": "7f9c6d", "pod-template-generation": "4",
                                    "app": "fluent-bit"},
                         "ownerReferences": owner("fluent-bit")},
            "spec": {"nodeName": "node-0007", "containers": [{"name": "fluent-bit", "image": "fluent/fluent-bit:3.0"}]},
            "status": {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
                                      {"type": "ContainersReady", "status": "False"}],
                       "containerStatuses": [{"name": "fluent-bit", "ready": false, "started": false,
                         "restartCount": 17,
                         "state": {"waiting": {"reason": "CrashLoopBackOff",
                                               "message": "back-off 5m0s restarting failed container"}},
                         "lastState": {"terminated": {"reason": "Error", "exitCode": 1,
                                                      "startedAt": "2024-05-01T11:00:00Z",
                                                      "finishedAt": "2024-05-01T11:00:03Z"}}}]}
        }));
        assert_eq!(p.owner.as_deref(), Some("fluent-bit"));
        assert_eq!(p.node.as_deref(), Some("node-0007"));
        assert!(p.bound);
        assert_eq!(p.revision_hash.as_deref(), Some("7f9c6d"));
        assert_eq!(p.template_generation, Some(4));
        assert_eq!(p.phase, Phase::Running);
        assert_eq!(p.reason, "CrashLoopBackOff");
        assert!(!p.ready);
        assert_eq!(p.restarts, 17);
        assert_eq!((p.containers_ready, p.containers_total), (0, 1));
        assert_eq!(p.last_termination.as_deref(), Some("Error (exit 1)"));
        assert_eq!(p.created, 1_714_557_600);
    }

    #[test]
    fn unbound_pending_daemon_pod_takes_its_node_from_affinity() {
        let p = pod(json!({
            "metadata": {"name": "node-exporter-q2w3e", "namespace": "monitoring",
                         "labels": {"controller-revision-hash": "5b8d", "pod-template-generation": "1"},
                         "ownerReferences": owner("node-exporter")},
            "spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
                        {"nodeSelectorTerms": [{"matchFields": [
                            {"key": "metadata.name", "operator": "In", "values": ["node-0042"]}]}]}}},
                     "containers": [{"name": "node-exporter"}]},
            "status": {"phase": "Pending",
                       "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}
        }));
        assert_eq!(p.node.as_deref(), Some("node-0042"));
        assert!(!p.bound);
        assert_eq!(p.phase, Phase::Pending);
        assert_eq!(p.reason, "Pending");
        assert!(!p.ready);
        assert_eq!(p.restarts, 0);
        assert_eq!(p.last_termination, None);
    }

    #[test]
    fn terminating_pod_is_deleting_and_printed_terminating() {
        let p = pod(json!({
            "metadata": {"name": "kube-proxy-zz9", "namespace": "kube-system",
                         "deletionTimestamp": "2024-05-01T12:00:30Z", "deletionGracePeriodSeconds": 30,
                         "ownerReferences": owner("kube-proxy")},
            "spec": {"nodeName": "node-0001", "containers": [{"name": "kube-proxy"}]},
            "status": {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "kube-proxy", "ready": true, "started": true,
                         "restartCount": 0, "state": {"running": {"startedAt": "2024-05-01T10:00:00Z"}}}]}
        }));
        assert!(p.deleting);
        assert_eq!(p.reason, "Terminating");
        assert!(p.ready);
        assert_eq!((p.containers_ready, p.containers_total), (1, 1));
    }

    #[test]
    fn init_container_in_progress_is_printed_as_init_progress() {
        let p = pod(json!({
            "metadata": {"name": "cilium-abc12", "namespace": "kube-system",
                         "ownerReferences": owner("cilium")},
            "spec": {"nodeName": "node-0003",
                     "initContainers": [{"name": "mount-cgroup"}, {"name": "clean-cilium-state"}],
                     "containers": [{"name": "cilium-agent"}]},
            "status": {"phase": "Pending",
                       "conditions": [{"type": "Initialized", "status": "False"},
                                      {"type": "Ready", "status": "False"}],
                       "initContainerStatuses": [
                         {"name": "mount-cgroup", "ready": true, "restartCount": 0,
                          "state": {"terminated": {"reason": "Completed", "exitCode": 0}}},
                         {"name": "clean-cilium-state", "ready": false, "restartCount": 0,
                          "state": {"running": {}}}],
                       "containerStatuses": [{"name": "cilium-agent", "ready": false, "restartCount": 0,
                         "state": {"waiting": {"reason": "PodInitializing"}}}]}
        }));
        assert_eq!(p.reason, "Init:1/2");
        assert_eq!(p.phase, Phase::Pending);
        assert_eq!((p.containers_ready, p.containers_total), (0, 1));
    }

    #[test]
    fn pod_without_daemonset_controller_has_no_owner() {
        let p = pod(json!({
            "metadata": {"name": "web-1", "namespace": "default",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                              "uid": "rs", "controller": true},
                                             {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "x",
                                              "uid": "ds"}]},
            "spec": {"containers": [{"name": "web"}]}
        }));
        assert_eq!(p.owner, None, "only the controller reference counts");
        assert_eq!(p.node, None);
    }

    #[test]
    fn pod_from_k8s_matches_pod_from_wire() {
        let v = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "ownerReferences": owner("ds"),
                         "labels": {"pod-template-generation": "2"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        });
        let k8s: Pod = serde_json::from_value(v.clone()).expect("decodes as Pod");
        assert_eq!(pod_info_from_k8s(&k8s), Some(pod(v)));
    }

    #[test]
    fn node_readiness_pressures_taints_and_cordon() {
        let wire: NodeWire = serde_json::from_value(json!({
            "metadata": {"name": "node-0009", "creationTimestamp": "2024-01-01T00:00:00Z",
                         "labels": {"kubernetes.io/hostname": "node-0009", "pool": "gpu"}},
            "spec": {"unschedulable": true, "taints": [
                {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
                {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]},
            "status": {"conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "DiskPressure", "status": "True"},
                {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"}],
                "nodeInfo": {"kubeletVersion": "v1.29.4"}}
        }))
        .expect("decodes");
        let n = node_info(&wire).expect("named");
        assert_eq!(n.readiness, NodeReadiness::Unknown);
        assert_eq!(n.pressures, vec!["DiskPressure".to_string()]);
        assert!(n.unschedulable);
        assert_eq!(n.taints.len(), 2);
        assert_eq!(n.taints[1].value, "gpu");
        assert_eq!(n.labels.get("pool").map(String::as_str), Some("gpu"));
        assert_eq!(n.kubelet_version, "v1.29.4");
    }

    #[test]
    fn daemonset_strategy_defaults_and_status_counts() {
        let ds: DaemonSet = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "node-exporter", "namespace": "monitoring", "uid": "d1", "generation": 3},
            "spec": {"selector": {"matchLabels": {"app": "node-exporter"},
                                  "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
                     "template": {"metadata": {"labels": {"app": "node-exporter"}},
                                  "spec": {"initContainers": [{"name": "setup", "image": "busybox"}],
                                           "containers": [{"name": "exporter", "image": "prom/node-exporter:v1.7.0"},
                                                          {"name": "rbac-proxy", "image": "kube-rbac-proxy:v0.15"}]}}},
            "status": {"currentNumberScheduled": 9, "desiredNumberScheduled": 10, "numberMisscheduled": 1,
                       "numberReady": 8, "updatedNumberScheduled": 7, "numberAvailable": 8,
                       "numberUnavailable": 2, "observedGeneration": 3}
        }))
        .expect("decodes");
        let d = ds_info(&ds).expect("named");
        assert_eq!(d.strategy, UpdateStrategy::RollingUpdate { max_unavailable: "10%".into(), max_surge: "0".into() });
        assert_eq!(d.status.desired, 10);
        assert_eq!(d.status.misscheduled, 1);
        assert_eq!(d.status.updated, 7);
        assert_eq!(d.selector, "app=node-exporter,tier in (a,b)");
        assert_eq!(d.containers, vec!["exporter", "rbac-proxy"]);
        assert_eq!(d.init_containers, vec!["setup"]);
        assert_eq!(d.images, vec!["prom/node-exporter:v1.7.0", "kube-rbac-proxy:v0.15"]);
        assert_eq!(d.generation, 3);
    }

    #[test]
    fn daemonset_without_strategy_defaults_to_rolling_update_one_unavailable() {
        let ds: DaemonSet = serde_json::from_value(json!({
            "metadata": {"name": "a", "namespace": "b"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "c"}]}}}
        }))
        .expect("decodes");
        let d = ds_info(&ds).expect("named");
        assert_eq!(d.strategy, UpdateStrategy::RollingUpdate { max_unavailable: "1".into(), max_surge: "0".into() });
        let on_delete: DaemonSet = serde_json::from_value(json!({
            "metadata": {"name": "a", "namespace": "b"},
            "spec": {"selector": {}, "updateStrategy": {"type": "OnDelete"},
                     "template": {"spec": {"containers": [{"name": "c"}]}}}
        }))
        .expect("decodes");
        assert_eq!(ds_info(&on_delete).map(|d| d.strategy), Some(UpdateStrategy::OnDelete));
    }

    #[test]
    fn revision_hash_images_owner_and_change_cause() {
        let rev: ControllerRevision = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": "node-exporter-6d5f8b7c9", "namespace": "monitoring",
                         "labels": {"controller-revision-hash": "6d5f8b7c9", "app": "node-exporter"},
                         "annotations": {"kubernetes.io/change-cause": "bump to v1.7.0"},
                         "ownerReferences": owner("node-exporter")},
            "revision": 5,
            "data": {"spec": {"template": {"$patch": "replace", "spec": {"containers": [
                {"name": "exporter", "image": "prom/node-exporter:v1.7.0"}]}}}}
        }))
        .expect("decodes");
        let r = rev_info(&rev).expect("named");
        assert_eq!(r.owner.as_deref(), Some("node-exporter"));
        assert_eq!(r.revision, 5);
        assert_eq!(r.hash, "6d5f8b7c9");
        assert_eq!(r.change_cause.as_deref(), Some("bump to v1.7.0"));
        assert_eq!(r.images, vec!["prom/node-exporter:v1.7.0"]);
    }

    #[test]
    fn revision_without_hash_label_uses_name_suffix_and_statefulset_revision_has_no_owner() {
        let rev: ControllerRevision = serde_json::from_value(json!({
            "metadata": {"name": "db-7c9d", "namespace": "x",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db",
                                              "uid": "s", "controller": true}]},
            "revision": 1
        }))
        .expect("decodes");
        let r = rev_info(&rev).expect("named");
        assert_eq!(r.hash, "7c9d");
        assert_eq!(r.owner, None);
        assert!(r.images.is_empty());
    }

    #[test]
    fn detail_is_the_waiting_containers_reason_and_message_on_one_line() {
        let p = pod(json!({
            "metadata": {"name": "agent-x", "namespace": "m", "ownerReferences": owner("agent")},
            "spec": {"nodeName": "n1", "initContainers": [{"name": "init"}], "containers": [{"name": "agent"}]},
            "status": {"phase": "Running",
                "initContainerStatuses": [{"name": "init", "ready": true, "restartCount": 0,
                    "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}],
                "containerStatuses": [{"name": "agent", "ready": false, "restartCount": 4,
                    "state": {"waiting": {"reason": "CrashLoopBackOff",
                        "message": "back-off 1m20s restarting failed container=agent\npod=agent-x_m(u)"}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}
        }));
        assert_eq!(
            p.detail.as_deref(),
            Some("agent: CrashLoopBackOff: back-off 1m20s restarting failed container=agent pod=agent-x_m(u)")
        );
        assert_eq!(p.last_termination.as_deref(), Some("OOMKilled (exit 137)"));
    }

    #[test]
    fn detail_of_an_evicted_pod_is_the_kubelets_message_and_routine_waits_say_nothing() {
        let evicted = pod(json!({
            "metadata": {"name": "agent-y", "namespace": "m", "ownerReferences": owner("agent")},
            "spec": {"nodeName": "n1", "containers": [{"name": "agent"}]},
            "status": {"phase": "Failed", "reason": "Evicted",
                "message": "The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi."}
        }));
        assert_eq!(
            evicted.detail.as_deref(),
            Some("Evicted: The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi.")
        );
        let creating = pod(json!({
            "metadata": {"name": "agent-z", "namespace": "m", "ownerReferences": owner("agent")},
            "spec": {"nodeName": "n1", "containers": [{"name": "agent"}]},
            "status": {"phase": "Pending", "containerStatuses": [{"name": "agent", "ready": false,
                "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}
        }));
        assert_eq!(creating.detail, None);
    }

    #[test]
    fn a_node_keeps_when_its_conditions_changed_and_when_its_taints_were_added() {
        let wire: NodeWire = serde_json::from_value(json!({
            "metadata": {"name": "n1"},
            "spec": {"taints": [
                {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "2026-12-01T10:00:00Z"},
                {"key": "dedicated", "value": "db", "effect": "NoSchedule"}]},
            "status": {"conditions": [
                {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                 "lastTransitionTime": "2026-12-01T09:59:20Z"},
                {"type": "MemoryPressure", "status": "True", "lastTransitionTime": "2026-12-01T09:00:00Z"}]}
        }))
        .expect("node decodes");
        let n = node_info(&wire).expect("named");
        // 2026-12-01T10:00:00Z is 1_796_119_200.
        assert_eq!(n.since("Ready"), Some(1_796_119_160));
        assert_eq!(n.since("MemoryPressure"), Some(1_796_115_600));
        assert_eq!(n.since("taint node.kubernetes.io/unreachable:NoExecute"), Some(1_796_119_200));
        assert_eq!(n.since("taint dedicated=db:NoSchedule"), None, "no timeAdded");
        assert_eq!(n.pressures, vec!["MemoryPressure".to_string()]);
    }

    fn event(v: serde_json::Value) -> Option<EventInfo> {
        event_info(&serde_json::from_value::<Event>(v).expect("event decodes"))
    }

    #[test]
    fn a_warning_event_about_a_daemonset_is_projected_and_normal_or_other_kinds_are_not() {
        let base = json!({
            "metadata": {"name": "agent.17a", "namespace": "m", "creationTimestamp": "2026-12-01T10:00:00Z"},
            "involvedObject": {"kind": "DaemonSet", "namespace": "m", "name": "agent", "uid": "u1",
                               "apiVersion": "apps/v1"},
            "reason": "FailedCreate",
            "message": "Error creating: pods \"agent-\" is forbidden: exceeded quota: q,\n requested: pods=1",
            "count": 15, "type": "Warning",
            "firstTimestamp": "2026-12-01T10:00:00Z", "lastTimestamp": "2026-12-01T10:05:00Z"
        });
        let e = event(base.clone()).expect("a warning about a DaemonSet");
        assert_eq!((e.kind, e.object_name.as_str(), e.object_uid.as_str()), (Involved::DaemonSet, "agent", "u1"));
        assert_eq!(e.message, "Error creating: pods \"agent-\" is forbidden: exceeded quota: q, requested: pods=1");
        assert_eq!((e.count, e.last), (15, 1_796_119_500)); // 2026-12-01T10:05:00Z
        let mut normal = base.clone();
        normal["type"] = json!("Normal");
        assert_eq!(event(normal), None);
        let mut deployment = base.clone();
        deployment["involvedObject"]["kind"] = json!("Deployment");
        assert_eq!(event(deployment), None);
        // events.k8s.io-style series: no lastTimestamp, the series counts.
        let mut series = base;
        series["lastTimestamp"] = serde_json::Value::Null;
        series["count"] = serde_json::Value::Null;
        series["series"] = json!({"count": 3, "lastObservedTime": "2026-12-01T10:06:00.000000Z"});
        let e = event(series).expect("series");
        assert_eq!((e.count, e.last), (3, 1_796_119_560));
    }

    #[test]
    fn event_text_is_cleaned_of_terminal_escapes() {
        let e = event(json!({
            "metadata": {"name": "n1.1", "namespace": "default"},
            "involvedObject": {"kind": "Node", "name": "n1"},
            "reason": "Rebooted", "type": "Warning",
            "message": "node rebooted \u{1b}]0;pwned\u{7} \u{202e}"
        }))
        .expect("a node warning");
        assert!(crate::text::is_clean(&e.message), "{:?}", e.message);
        assert!(e.message.contains("\\x1b"), "{:?}", e.message);
        assert_eq!(e.object_namespace, "");
    }
}

/// Cluster text made safe for a terminal, once, as the object enters the index: every string a
/// projection keeps goes through `text::clean` (control and bidi characters become visible
/// escapes). Kubernetes' own validation keeps them out of names and labels on a real API server;
/// annotations, images and messages have no such rule, and a hostile or broken server has none.
mod clean {
    use crate::fleet::model::{DsInfo, EventInfo, NodeInfo, PodInfo, RevInfo};
    use crate::text::{clean_in_place, clean_owned, is_clean};

    fn opt(s: &mut Option<String>) {
        if let Some(s) = s {
            clean_in_place(s);
        }
    }

    fn all(v: &mut [String]) {
        v.iter_mut().for_each(clean_in_place);
    }

    pub fn node_info(mut n: NodeInfo) -> NodeInfo {
        clean_in_place(&mut n.name);
        if !n.labels.iter().all(|(k, v)| is_clean(k) && is_clean(v)) {
            n.labels =
                std::mem::take(&mut n.labels).into_iter().map(|(k, v)| (clean_owned(k), clean_owned(v))).collect();
        }
        for t in &mut n.taints {
            clean_in_place(&mut t.key);
            clean_in_place(&mut t.value);
        }
        all(&mut n.pressures);
        clean_in_place(&mut n.kubelet_version);
        n.since.iter_mut().for_each(|(k, _)| clean_in_place(k));
        n
    }

    pub fn ds_info(mut d: DsInfo) -> DsInfo {
        clean_in_place(&mut d.namespace);
        clean_in_place(&mut d.name);
        clean_in_place(&mut d.uid);
        clean_in_place(&mut d.selector);
        all(&mut d.containers);
        all(&mut d.init_containers);
        all(&mut d.images);
        d
    }

    pub fn rev_info(mut r: RevInfo) -> RevInfo {
        clean_in_place(&mut r.namespace);
        clean_in_place(&mut r.name);
        opt(&mut r.owner);
        clean_in_place(&mut r.hash);
        opt(&mut r.change_cause);
        all(&mut r.images);
        r
    }

    pub fn pod_info(mut p: PodInfo) -> PodInfo {
        clean_in_place(&mut p.namespace);
        clean_in_place(&mut p.name);
        clean_in_place(&mut p.uid);
        opt(&mut p.owner);
        opt(&mut p.node);
        opt(&mut p.revision_hash);
        clean_in_place(&mut p.reason);
        opt(&mut p.last_termination);
        opt(&mut p.detail);
        p
    }

    pub fn event_info(mut e: EventInfo) -> EventInfo {
        clean_in_place(&mut e.namespace);
        clean_in_place(&mut e.name);
        clean_in_place(&mut e.object_namespace);
        clean_in_place(&mut e.object_name);
        clean_in_place(&mut e.object_uid);
        opt(&mut e.field_path);
        clean_in_place(&mut e.reason);
        clean_in_place(&mut e.message);
        e
    }
}
