//! The "why" of a cell, in the cluster's own words where the cluster has them: the latest
//! Warning event that explains it (a DaemonSet's `FailedCreate` for a missing pod, a pod's
//! `FailedScheduling`/`FailedMount`/`BackOff`/`Unhealthy`), what the kubelet says about the
//! pod's containers, the last termination, the controller's own counters, and only then our
//! reading of the scheduling rules. One function, so the detail panel, `snapshot -o wide`,
//! `-o json` and `check` can never explain the same cell differently.
//!
//! The text comes from projections, which are sanitised as they enter the index; the one line
//! built here is plain text (no newlines).

use super::CellState;
use super::events::EventRec;
use super::index::{CellView, DsView, Index, NodeView};
use super::model::{NodeReadiness, Secs};

/// An event older than this no longer explains a missing pod on its own (the controller may
/// have succeeded since; the event stays on the server for an hour by default).
pub const RECENT_SECS: Secs = 3600;

/// The reasons under which the DaemonSet controller reports a pod it could not create or place
/// (pkg/controller/daemon: `FailedCreatePodReason`, `FailedDaemonPodReason`,
/// `FailedPlacementReason` in older releases).
const CREATE_FAILURES: [&str; 3] = ["FailedCreate", "FailedDaemonPod", "FailedPlacement"];

/// Pod event reasons that explain a pending pod (the scheduler's, the kubelet's volume, sandbox
/// and image events).
const PENDING_REASONS: [&str; 9] = [
    "FailedScheduling",
    "FailedMount",
    "FailedAttachVolume",
    "FailedCreatePodSandBox",
    "FailedCreatePodContainer",
    "Failed",
    "ErrImagePull",
    "InspectFailed",
    "NetworkNotReady",
];

/// One Warning event shown with a cell.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct WhyEvent {
    /// `pod`, `daemonset` or `node`.
    pub object: &'static str,
    pub reason: String,
    pub message: String,
    pub count: u32,
    /// Unix seconds.
    pub last: Secs,
}

/// Why a cell is in its state, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Why {
    /// One line: the explanation.
    pub text: String,
    /// One line: the next step, when there is a useful one.
    pub hint: Option<String>,
    /// The events behind the text (and others about the cell's pod), newest first.
    pub events: Vec<WhyEvent>,
}

/// A kubectl-style short age: `42s`, `5m`, `3h`, `12d` (`duration.HumanDuration`'s coarse form).
pub fn fmt_age(secs: Secs) -> String {
    let s = secs.max(0);
    match s {
        0..120 => format!("{s}s"),
        120..7_200 => format!("{}m", s / 60),
        7_200..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

fn event(object: &'static str, r: &EventRec) -> WhyEvent {
    WhyEvent { object, reason: r.reason.to_string(), message: r.message.to_string(), count: r.count, last: r.last }
}

/// "FailedCreate (15× in 2m): Error creating: …": how an event reads inside a why line.
fn quote(e: &WhyEvent, now: Secs) -> String {
    let times = if e.count > 1 { format!("{}×, ", e.count) } else { String::new() };
    format!("{} ({times}{} ago): {}", e.reason, fmt_age(now - e.last), e.message)
}

/// Explain one cell. `None` for cells with nothing to say (a ready pod, a not-eligible cell
/// without a recorded reason). `now` is Unix seconds (ages, and which events are recent).
pub fn explain(index: &Index, cell: &CellView<'_>, ds: &DsView<'_>, node: &NodeView<'_>, now: Secs) -> Option<Why> {
    let pod_events: Vec<WhyEvent> = match &cell.pod {
        Some(p) => index.pod_events(p.namespace, p.name).map(|r| event("pod", r)).collect(),
        None => Vec::new(),
    };
    let latest = |reasons: &[&str]| pod_events.iter().find(|e| reasons.contains(&e.reason.as_str())).cloned();
    let mut events = pod_events.clone();
    let node_down = match node.readiness {
        // A stand-in row (nodes forbidden): its readiness is not known, not Unknown.
        _ if node.standin => None,
        NodeReadiness::Ready => None,
        NodeReadiness::NotReady => Some("node NotReady"),
        NodeReadiness::Unknown => Some("node Unknown (kubelet stopped posting status)"),
    };
    let detail = cell.pod.as_ref().and_then(|p| p.detail);
    let (text, hint): (String, Option<String>) = match cell.state {
        CellState::Missing => {
            let mut failures = create_failures(index, ds, now);
            // A failed pod explains only its own node's cell ("… on node NODE, will try to kill it").
            let on_node = format!(" on node {}, ", node.name);
            failures.retain(|e| e.reason != "FailedDaemonPod" || e.message.contains(&on_node));
            // An event naming this node explains it best (FailedPlacement, some webhooks).
            let best = failures.iter().find(|e| e.message.contains(node.name)).or(failures.first()).cloned();
            events.extend(failures);
            let st = ds.status;
            match best {
                Some(e) => {
                    let hint = if e.reason == "FailedDaemonPod" {
                        "its pod failed on the node (an eviction, a kubelet refusal) and is replaced with \
                         back-off: the failed pod's status and events say why"
                            .to_string()
                    } else if e.message.contains("exceeded quota") {
                        format!(
                            "a ResourceQuota in {} is full: raise it or free pods (kubectl describe quota -n {})",
                            ds.namespace, ds.namespace
                        )
                    } else {
                        "the API server refuses the pod: fix what the message names (quota, admission \
                         webhook, PodSecurity)"
                            .to_string()
                    };
                    (format!("no daemon pod: {}", quote(&e, now)), Some(hint))
                }
                None if i64::from(st.desired) != i64::from(ds.desired_by_predicate) => (
                    format!(
                        "no daemon pod; the controller counts {} nodes that should run it, the rules here {} \
                         (a node change the controller has not seen yet, or a rule read differently)",
                        st.desired, ds.desired_by_predicate
                    ),
                    Some("if it stays, compare the DaemonSet's status with kubectl describe ds".to_string()),
                ),
                None if st.current < st.desired => (
                    format!(
                        "no daemon pod; the controller reports {} of {} scheduled and no create failure",
                        st.current, st.desired
                    ),
                    Some("the controller has not created it yet; if it stays, check kube-controller-manager".into()),
                ),
                None => (
                    match cell.not_eligible {
                        Some(why) => format!("no daemon pod ({why})"),
                        None => "no daemon pod, but the node should run one (selector, affinity and taints allow it)"
                            .to_string(),
                    },
                    Some("the controller counts it scheduled: a pod may have just gone; watch the cell".into()),
                ),
            }
        }
        CellState::Unknown => {
            // Nodes cannot be read, so the rules cannot say whether a pod belongs here; the
            // DaemonSet's own status and its create failures are what the cluster still says.
            let failures = create_failures(index, ds, now);
            let refused = failures.first().map(|e| format!("; it reports {}", quote(e, now))).unwrap_or_default();
            events.extend(failures);
            let st = ds.status;
            let short = (st.desired - st.current).max(0);
            (
                format!(
                    "no daemon pod seen on {}, and whether one should run there is unknown: nodes cannot be listed;                      the controller counts {} nodes that should run it, {} scheduled ({short} short){refused}",
                    node.name, st.desired, st.current
                ),
                Some(
                    "ask for list/watch on nodes (kubectl auth can-i list nodes) to see missing pods and their nodes"
                        .to_string(),
                ),
            )
        }
        CellState::NotEligible => (cell.not_eligible.map(ToString::to_string)?, None),
        CellState::Misscheduled => (
            match cell.not_eligible {
                Some(why) => format!("pod on a node it should not run on: {why}"),
                None => "pod on a node it should not run on".to_string(),
            },
            Some("the controller deletes it; if it stays, the node's taints or labels changed under it".into()),
        ),
        CellState::Outdated => {
            let pod_rev = cell.pod.as_ref().and_then(|p| p.revision_hash).unwrap_or("?");
            let text = match ds.newest_revision {
                Some((rev, hash)) => format!("on revision {pod_rev}, newest is {hash} (revision {rev})"),
                None => format!("on revision {pod_rev}, not the newest"),
            };
            let hint = match ds.strategy {
                super::model::UpdateStrategy::OnDelete => "OnDelete: the pod is replaced only when it is deleted",
                super::model::UpdateStrategy::RollingUpdate { .. } => "the rolling update replaces it",
            };
            (text, Some(hint.to_string()))
        }
        CellState::Failing => {
            let pod = cell.pod.as_ref()?;
            let mut parts = vec![pod.reason.to_string()];
            if let Some(d) = detail {
                parts.push(d.to_string());
            }
            if let Some(last) = pod.last_termination.filter(|l| !l.is_empty()) {
                let when = pod.last_restart.map(|t| format!(", {} ago", fmt_age(now - t))).unwrap_or_default();
                parts.push(format!("last exit: {last}{when}"));
            }
            if pod.restarts > 0 {
                parts.push(format!("{} restarts", pod.restarts));
            }
            // The kubelet's own words for an eviction or an image that does not pull, in place
            // of the detail when that says the same (an evicted pod's status.message).
            let mut hint = "the previous container's log tells why (kubectl logs --previous)";
            if let Some(e) = latest(&["Evicted", "Preempting", "OOMKilling", "Failed", "InspectFailed", "ErrImagePull"])
            {
                if detail.is_some_and(|d| says(d, &e)) {
                    parts.retain(|p| !says(p, &e));
                }
                // Not the container's fault: its log would not say why.
                match e.reason.as_str() {
                    "Evicted" => {
                        hint = "the kubelet evicted it under node pressure: see the node's conditions and \
                                the pod's requests; the DaemonSet controller replaces it";
                    }
                    "Preempting" => {
                        hint = "a pod of higher priority took its place: give the DaemonSet a priorityClassName \
                                (system-node-critical)";
                    }
                    "OOMKilling" => hint = "the container outgrew its memory: raise its memory limit",
                    _ => {}
                }
                parts.push(quote(&e, now));
            }
            (parts.join("; "), Some(hint.to_string()))
        }
        CellState::NotReady => {
            let pod = cell.pod.as_ref()?;
            let mut text =
                format!("{}, {}/{} containers ready", pod.reason, pod.containers_ready, pod.containers_total);
            let probe = latest(&["Unhealthy", "ProbeWarning"]);
            if let Some(e) = &probe {
                text.push_str(&format!("; {}", quote(e, now)));
            } else if let Some(d) = detail {
                text.push_str(&format!("; {d}"));
            }
            let hint = if probe.is_some() {
                "the readiness probe fails: its logs tell why"
            } else {
                "a container is not ready: its logs tell why"
            };
            (text, Some(hint.to_string()))
        }
        CellState::Pending => {
            let pod = cell.pod.as_ref()?;
            let mut text = pod.reason.to_string();
            if let Some(d) = detail {
                text.push_str(&format!("; {d}"));
            }
            let ev = latest(&PENDING_REASONS).or_else(|| latest(&["BackOff"]));
            if let Some(e) = &ev {
                text.push_str(&format!("; {}", quote(e, now)));
            }
            let hint = match ev.as_ref().map(|e| e.reason.as_str()) {
                // noderesources/fit.go: the node already runs status.allocatable.pods pods.
                Some("FailedScheduling") if ev.as_ref().is_some_and(|e| e.message.contains(" Too many pods")) => {
                    "the node runs all the pods it may (allocatable pods): free a slot there or raise the \
                     kubelet's maxPods"
                }
                Some("FailedScheduling") => "the scheduler cannot place it: node resources, ports or volumes",
                Some("FailedMount" | "FailedAttachVolume") => {
                    "a volume does not mount: check the Secret, ConfigMap or PV"
                }
                Some("FailedCreatePodSandBox" | "NetworkNotReady") => "the node's runtime or CNI fails: check the node",
                Some("Failed" | "ErrImagePull" | "InspectFailed" | "BackOff") => {
                    "the image does not pull: name, tag, registry access"
                }
                _ => "if it stays, kubectl describe pod shows what it waits for",
            };
            (text, Some(hint.to_string()))
        }
        CellState::Terminating => {
            let pod = cell.pod.as_ref()?;
            (
                pod.reason.to_string(),
                Some("its containers are stopping; a pod on a down node stays until the node returns".into()),
            )
        }
        CellState::Ready => {
            let pod = cell.pod.as_ref()?;
            if pod_events.is_empty() {
                return None;
            }
            (pod.reason.to_string(), None)
        }
    };
    // The node lifecycle controller's word on the pod when it marked it not ready.
    let lost = node_down.and(latest(&["NodeNotReady"]));
    let text = match (node_down, cell.state) {
        (Some(down), CellState::NotReady | CellState::Pending | CellState::Terminating | CellState::Missing) => {
            match &lost {
                Some(e) => format!("{down}; {}; {text}", quote(e, now)),
                None => format!("{down}; {text}"),
            }
        }
        _ => text,
    };
    let hint = match (node_down, cell.state) {
        (Some(_), CellState::NotReady | CellState::Pending | CellState::Terminating | CellState::Missing) => {
            Some("the node is down: its pods cannot start or stop until it returns".to_string())
        }
        _ => hint,
    };
    let mut seen = std::collections::HashSet::new();
    events.retain(|e| seen.insert((e.object, e.reason.clone(), e.message.clone())));
    Some(Why { text: one_line(&text), hint, events })
}

/// Whether `text` already carries the event's message (an evicted pod's detail is the
/// kubelet's eviction message, which its `Evicted` event repeats).
fn says(text: &str, e: &WhyEvent) -> bool {
    let m = e.message.trim();
    !m.is_empty() && text.contains(m)
}

/// The DaemonSet's recent refusals to create pods (quota, admission), newest first.
fn create_failures(index: &Index, ds: &DsView<'_>, now: Secs) -> Vec<WhyEvent> {
    index
        .ds_events(ds.id)
        .filter(|r| CREATE_FAILURES.contains(&&*r.reason) && now - r.last <= RECENT_SECS)
        .map(|r| event("daemonset", r))
        .collect()
}

/// Newlines and tabs to spaces: a why is one line wherever it goes.
fn one_line(s: &str) -> String {
    if s.contains(['\n', '\r', '\t']) { s.split_whitespace().collect::<Vec<_>>().join(" ") } else { s.to_string() }
}

/// The most frequent recent Warning of a DaemonSet, as a column-level summary:
/// `15× FailedCreate: … exceeded quota …`. `None` when it has none in the last hour.
pub fn ds_warning(index: &Index, ds: &DsView<'_>, now: Secs) -> Option<String> {
    let top = index.ds_events(ds.id).filter(|r| now - r.last <= RECENT_SECS).max_by_key(|r| (r.count, r.last))?;
    Some(one_line(&format!("{}× {}: {}", top.count, top.reason, top.message)))
}

/// [`ds_warning`] in few words for the matrix's column line: the controller's
/// `Error creating: pods "x-" is forbidden: ` preamble is left out, so what refuses the pod
/// (`exceeded quota: …`, `admission webhook "…" denied …`) comes first.
pub fn ds_warning_short(index: &Index, ds: &DsView<'_>, now: Secs) -> Option<String> {
    let top = index.ds_events(ds.id).filter(|r| now - r.last <= RECENT_SECS).max_by_key(|r| (r.count, r.last))?;
    let msg = top.message.strip_prefix("Error creating: ").unwrap_or(&top.message);
    let msg = match msg.find(" is forbidden: ") {
        Some(i) if msg.starts_with("pods ") => &msg[i + " is forbidden: ".len()..],
        _ => msg,
    };
    Some(one_line(&format!("{}× {}: {}", top.count, top.reason, msg)))
}

/// The node's recent Warning events, newest first, as lines.
pub fn node_warnings(index: &Index, node: &NodeView<'_>, now: Secs) -> Vec<String> {
    index
        .node_events(node.name)
        .filter(|r| now - r.last <= RECENT_SECS)
        .map(|r| one_line(&quote(&event("node", r), now)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::FleetEvent;
    use crate::fleet::model::{Change, EventInfo, Involved, StreamKind};
    use crate::fleet::synth;

    const NOW: Secs = 1_700_010_000;

    fn ev(kind: Involved, obj: &str, uid: &str, reason: &str, msg: &str, count: u32, ago: Secs) -> FleetEvent {
        FleetEvent::Event(Change::Apply(EventInfo {
            namespace: "monitoring".into(),
            name: format!("{obj}.{reason}"),
            kind,
            object_namespace: "monitoring".into(),
            object_name: obj.into(),
            object_uid: uid.into(),
            field_path: None,
            reason: reason.into(),
            message: msg.into(),
            count,
            last: NOW - ago,
        }))
    }

    /// One node `n1`, DaemonSet `monitoring/agent` (uid `uid-agent`, from synth), `pod` if given.
    fn fleet(pod: Option<crate::fleet::model::PodInfo>, desired: i32, current: i32) -> Index {
        let mut idx = Index::new();
        idx.apply(FleetEvent::Node(Change::Apply(synth::node("n1"))));
        let mut d = synth::ds("monitoring", "agent");
        d.uid = "uid-agent".into();
        d.status.desired = desired;
        d.status.current = current;
        idx.apply(FleetEvent::DaemonSet(Change::Apply(d)));
        if let Some(p) = pod {
            idx.apply(FleetEvent::Pod(Change::Apply(p)));
        }
        idx
    }

    fn why(idx: &Index) -> Why {
        let n = idx.node_by_name("n1").expect("n1");
        let d = idx.ds_by_name("monitoring", "agent").expect("agent");
        let (cell, ds, node) = (idx.cell(n, d), idx.ds(d).expect("ds"), idx.node(n).expect("node"));
        explain(idx, &cell, &ds, &node, NOW).expect("a problem cell has a why")
    }

    const QUOTA: &str = "Error creating: pods \"agent-\" is forbidden: exceeded quota: pods-limit, requested: pods=1, \
                         used: pods=5, limited: pods=5";

    #[test]
    fn a_missing_pod_quotes_the_daemonsets_recent_failed_create_and_says_what_to_do() {
        let mut idx = fleet(None, 1, 0);
        idx.apply(ev(Involved::DaemonSet, "agent", "uid-agent", "FailedCreate", QUOTA, 15, 120));
        let w = why(&idx);
        assert_eq!(w.text, format!("no daemon pod: FailedCreate (15×, 2m ago): {QUOTA}"));
        assert_eq!(
            w.hint.as_deref(),
            Some("a ResourceQuota in monitoring is full: raise it or free pods (kubectl describe quota -n monitoring)")
        );
        assert_eq!(w.events.len(), 1);
        assert_eq!((w.events[0].object, w.events[0].count), ("daemonset", 15));
    }

    #[test]
    fn an_old_failure_or_one_about_an_earlier_daemonset_is_not_the_why() {
        // Two hours old: past RECENT_SECS; the controller's counters speak instead.
        let mut idx = fleet(None, 1, 0);
        idx.apply(ev(Involved::DaemonSet, "agent", "uid-agent", "FailedCreate", QUOTA, 3, 7200));
        assert_eq!(why(&idx).text, "no daemon pod; the controller reports 0 of 1 scheduled and no create failure");
        // Recent, but about a deleted DaemonSet of the same name.
        let mut idx = fleet(None, 1, 0);
        idx.apply(ev(Involved::DaemonSet, "agent", "uid-old", "FailedCreate", QUOTA, 3, 10));
        assert!(!why(&idx).text.contains("quota"), "{}", why(&idx).text);
    }

    #[test]
    fn without_events_a_missing_pod_compares_the_controllers_count_with_the_rules() {
        // The controller wants 0 pods where the rules say 1 node should run it.
        let idx = fleet(None, 0, 0);
        assert!(
            why(&idx)
                .text
                .starts_with("no daemon pod; the controller counts 0 nodes that should run it, the rules here 1")
        );
        // The controller agrees and counts it scheduled: the pod must have just gone.
        let idx = fleet(None, 1, 1);
        assert_eq!(
            why(&idx).text,
            "no daemon pod, but the node should run one (selector, affinity and taints allow it)"
        );
    }

    #[test]
    fn a_failing_pod_says_its_waiting_reason_last_exit_and_restarts() {
        let d = synth::ds("monitoring", "agent");
        let mut p = synth::pod(&d, "n1", "x1", "h");
        p.reason = "CrashLoopBackOff".into();
        p.ready = false;
        p.containers_ready = 0;
        p.restarts = 7;
        p.last_termination = Some("Error (exit 1)".into());
        p.last_restart = Some(NOW - 300);
        p.detail = Some("agent: CrashLoopBackOff: back-off 5m0s restarting failed container=agent".into());
        let idx = fleet(Some(p), 1, 1);
        let w = why(&idx);
        assert_eq!(
            w.text,
            "CrashLoopBackOff; agent: CrashLoopBackOff: back-off 5m0s restarting failed container=agent; \
             last exit: Error (exit 1), 5m ago; 7 restarts"
        );
    }

    #[test]
    fn a_not_ready_pod_quotes_the_failed_readiness_probe() {
        let d = synth::ds("monitoring", "agent");
        let mut p = synth::pod(&d, "n1", "x1", "h");
        p.ready = false;
        p.containers_ready = 0;
        let name = p.name.clone();
        let mut idx = fleet(Some(p), 1, 1);
        let probe = "Readiness probe failed: HTTP probe failed with statuscode: 503";
        idx.apply(ev(Involved::Pod, &name, "", "Unhealthy", probe, 40, 5));
        let w = why(&idx);
        assert_eq!(w.text, format!("Running, 0/1 containers ready; Unhealthy (40×, 5s ago): {probe}"));
        assert_eq!(w.hint.as_deref(), Some("the readiness probe fails: its logs tell why"));
    }

    /// The kubelet's eviction message, hand-written from pkg/kubelet/eviction/helpers.go's
    /// formats (nodeLowMessageFmt, thresholdMetMessageFmt, containerMessageFmt).
    const EVICTED: &str = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 91Mi. \
                           Container agent was using 200Mi, request is 50Mi, has larger consumption of memory.";

    #[test]
    fn an_evicted_pod_quotes_the_kubelets_eviction_once() {
        let d = synth::ds("monitoring", "agent");
        let mut p = synth::pod(&d, "n1", "x1", "h");
        p.phase = crate::fleet::model::Phase::Failed;
        p.reason = "Evicted".into();
        p.ready = false;
        p.containers_ready = 0;
        p.detail = Some(format!("Evicted: {EVICTED}"));
        let name = p.name.clone();
        let mut idx = fleet(Some(p), 1, 1);
        idx.apply(ev(Involved::Pod, &name, "", "Evicted", EVICTED, 1, 30));
        let w = why(&idx);
        assert_eq!(w.text, format!("Evicted; Evicted (30s ago): {EVICTED}"));
        let hint = w.hint.unwrap_or_default();
        assert!(hint.starts_with("the kubelet evicted it under node pressure"), "not the log's fault: {hint}");
    }

    #[test]
    fn a_pending_pod_on_a_full_node_quotes_the_scheduler() {
        let d = synth::ds("monitoring", "agent");
        let mut p = synth::pod(&d, "n1", "x1", "h");
        p.phase = crate::fleet::model::Phase::Pending;
        p.reason = "Pending".into();
        p.ready = false;
        p.containers_ready = 0;
        let name = p.name.clone();
        let mut idx = fleet(Some(p), 1, 1);
        // pkg/scheduler/framework/types.go FitError.Error for a one-node cluster.
        let fit = "0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 No \
                   preemption victims found for incoming pod.";
        idx.apply(ev(Involved::Pod, &name, "", "FailedScheduling", fit, 4, 60));
        let w = why(&idx);
        assert_eq!(w.text, format!("Pending; FailedScheduling (4×, 60s ago): {fit}"));
        assert!(w.hint.is_some_and(|h| h.contains("allocatable pods")));
    }

    #[test]
    fn a_pod_on_a_lost_node_quotes_the_node_controller() {
        let d = synth::ds("monitoring", "agent");
        let mut p = synth::pod(&d, "n1", "x1", "h");
        p.ready = false;
        let name = p.name.clone();
        let mut idx = fleet(Some(p), 1, 1);
        let mut n = synth::node("n1");
        n.readiness = NodeReadiness::Unknown;
        idx.apply(FleetEvent::Node(Change::Apply(n)));
        // controller_utils.go MarkPodsNotReady: Warning NodeNotReady "Node is not ready".
        idx.apply(ev(Involved::Pod, &name, "", "NodeNotReady", "Node is not ready", 1, 300));
        let w = why(&idx);
        assert!(
            w.text.starts_with(
                "node Unknown (kubelet stopped posting status); NodeNotReady (5m ago): Node is not ready; Running"
            ),
            "{}",
            w.text
        );
    }

    #[test]
    fn a_failed_daemon_pod_explains_only_its_own_nodes_missing_cell() {
        // daemon_controller.go podsShouldBeOnNode: "Found failed daemon pod %s/%s on node %s, will try to kill it".
        let mut idx = fleet(None, 1, 0);
        let other = "Found failed daemon pod monitoring/agent-abcde on node n2, will try to kill it";
        idx.apply(ev(Involved::DaemonSet, "agent", "uid-agent", "FailedDaemonPod", other, 1, 10));
        assert!(!why(&idx).text.contains("FailedDaemonPod"), "{}", why(&idx).text);
        let mut idx = fleet(None, 1, 0);
        let mine = "Found failed daemon pod monitoring/agent-fghjk on node n1, will try to kill it";
        idx.apply(ev(Involved::DaemonSet, "agent", "uid-agent", "FailedDaemonPod", mine, 3, 10));
        let w = why(&idx);
        assert_eq!(w.text, format!("no daemon pod: FailedDaemonPod (3×, 10s ago): {mine}"));
        assert!(w.hint.is_some_and(|h| h.contains("replaced with back-off")));
    }

    #[test]
    fn events_go_with_their_object_and_events_about_other_pods_are_not_kept() {
        let d = synth::ds("monitoring", "agent");
        let p = synth::pod(&d, "n1", "x1", "h");
        let name = p.name.clone();
        let mut idx = fleet(Some(p), 1, 1);
        idx.apply(FleetEvent::Pod(Change::Init));
        idx.apply(FleetEvent::Pod(Change::InitItem(synth::pod(&d, "n1", "x1", "h"))));
        idx.apply(FleetEvent::Pod(Change::InitDone));
        assert!(idx.listed(StreamKind::Pods));
        // A Deployment's pod: not ours, not kept.
        idx.apply(ev(Involved::Pod, "web-5d8f-abcde", "", "BackOff", "Back-off", 1, 1));
        assert_eq!(idx.event_count(), 0);
        idx.apply(ev(Involved::Pod, &name, "", "BackOff", "Back-off", 1, 1));
        idx.apply(ev(Involved::DaemonSet, "agent", "uid-agent", "FailedCreate", QUOTA, 1, 1));
        assert_eq!(idx.event_count(), 2);
        idx.apply(FleetEvent::Pod(Change::Delete(synth::key("monitoring", &name))));
        assert_eq!(idx.event_count(), 1);
        idx.apply(FleetEvent::DaemonSet(Change::Delete(synth::key("monitoring", "agent"))));
        assert_eq!(idx.event_count(), 0);
        if let Err(e) = idx.recount_check() {
            panic!("recount: {e}");
        }
    }
}
