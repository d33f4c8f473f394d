//! Server-side printing: `meta.k8s.io/v1` Table responses for `kubectl get`, which asks with
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. The columns and cells follow the
//! real printers (pkg/printers/internalversion/printers.go: printPod, printNode,
//! printDaemonSet, printNamespace, printControllerRevision, printEvent, printResourceQuota); the server always fills
//! every column and kubectl hides priority-1 columns unless `-o wide`.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, ResourceQuota};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use serde_json::{Value, json};

use super::ApiError;
use crate::sim::Kind;
use crate::sim::store::{Object, Stored};

/// A Table was asked for (v1, or only v1beta1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableInclude {
    V1,
    V1Beta1,
}

impl TableInclude {
    fn api_version(self) -> &'static str {
        match self {
            TableInclude::V1 => "meta.k8s.io/v1",
            TableInclude::V1Beta1 => "meta.k8s.io/v1beta1",
        }
    }
}

/// Whether the Accept header asks for a Table (kubectl always lists a JSON fallback too).
pub fn wants_table(headers: &http::HeaderMap) -> Option<TableInclude> {
    let accept = headers.get(http::header::ACCEPT)?.to_str().ok()?;
    let mut beta = false;
    for part in accept.split(',') {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        if params.contains(&"as=Table") && params.contains(&"g=meta.k8s.io") {
            if params.contains(&"v=v1") {
                return Some(TableInclude::V1);
            }
            if params.contains(&"v=v1beta1") {
                beta = true;
            }
        }
    }
    beta.then_some(TableInclude::V1Beta1)
}

fn col(name: &str, ty: &str, format: &str, priority: i32, description: &str) -> Value {
    json!({ "name": name, "type": ty, "format": format, "description": description, "priority": priority })
}

fn columns(kind: Kind) -> Vec<Value> {
    let name = col("Name", "string", "name", 0, "Name must be unique within a namespace.");
    let age = col(
        "Age",
        "string",
        "",
        0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    );
    match kind {
        Kind::Pod => vec![
            name,
            col("Ready", "string", "", 0, "The aggregate readiness state of this pod for accepting traffic."),
            col("Status", "string", "", 0, "The aggregate status of the containers in this pod."),
            col(
                "Restarts",
                "string",
                "",
                0,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            age,
            col(
                "IP",
                "string",
                "",
                1,
                "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
            ),
            col("Node", "string", "", 1, "NodeName is a request to schedule this pod onto a specific node."),
            col(
                "Nominated Node",
                "string",
                "",
                1,
                "nominatedNodeName is set only when this pod preempts other pods on the node.",
            ),
            col(
                "Readiness Gates",
                "string",
                "",
                1,
                "If specified, all readiness gates will be evaluated for pod readiness.",
            ),
        ],
        Kind::Node => vec![
            name,
            col("Status", "string", "", 0, "The status of the node"),
            col("Roles", "string", "", 0, "The roles of the node"),
            age,
            col("Version", "string", "", 0, "Kubelet Version reported by the node."),
            col(
                "Internal-IP",
                "string",
                "",
                1,
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
            ),
            col(
                "External-IP",
                "string",
                "",
                1,
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
            ),
            col(
                "OS-Image",
                "string",
                "",
                1,
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
            ),
            col(
                "Kernel-Version",
                "string",
                "",
                1,
                "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
            ),
            col(
                "Container-Runtime",
                "string",
                "",
                1,
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
            ),
        ],
        Kind::DaemonSet => vec![
            name,
            col(
                "Desired",
                "integer",
                "",
                0,
                "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).",
            ),
            col(
                "Current",
                "integer",
                "",
                0,
                "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
            ),
            col(
                "Ready",
                "integer",
                "",
                0,
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
            ),
            col("Up-to-date", "integer", "", 0, "The total number of nodes that are running updated daemon pod"),
            col(
                "Available",
                "integer",
                "",
                0,
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
            ),
            col(
                "Node Selector",
                "string",
                "",
                0,
                "NodeSelector is a selector which must be true for the pod to fit on a node.",
            ),
            age,
            col("Containers", "string", "", 1, "Names of each container in the template."),
            col("Images", "string", "", 1, "Images referenced by each container in the template."),
            col("Selector", "string", "", 1, "A label query over pods that are managed by the daemon set."),
        ],
        Kind::Namespace => vec![name, col("Status", "string", "", 0, "The status of the namespace"), age],
        Kind::ResourceQuota => vec![
            name,
            age,
            col(
                "Request",
                "string",
                "",
                0,
                "Request represents a minimum amount of cpu/memory that a container may consume.",
            ),
            col(
                "Limit",
                "string",
                "",
                0,
                "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
            ),
        ],
        Kind::ControllerRevision => vec![
            name,
            col("Controller", "string", "", 0, "Controller of the object"),
            col("Revision", "string", "", 0, "Revision indicates the revision of the state represented by Data."),
            age,
        ],
        Kind::Event => vec![
            col("Last Seen", "string", "", 0, "Time when this Event was last observed."),
            col(
                "Type",
                "string",
                "",
                0,
                "Type of this event (Normal, Warning), new types could be added in the future.",
            ),
            col(
                "Reason",
                "string",
                "",
                0,
                "This should be a short, machine understandable string that gives the reason for this event being generated.",
            ),
            col("Object", "string", "", 0, "The object this Event is about."),
            col("Subobject", "string", "", 1, "The subobject this Event is about."),
            col("Source", "string", "", 1, "The component reporting this event."),
            col("Message", "string", "", 0, "A human-readable description of the status of this operation."),
            col("First Seen", "string", "", 1, "The time at which the event was first recorded."),
            col("Count", "string", "", 1, "The number of times this event has occurred."),
            col("Name", "string", "name", 1, "Name must be unique within a namespace."),
        ],
    }
}

/// k8s.io/apimachinery/pkg/util/duration.HumanDuration.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 { format!("{}y", hours / 24 / 365) } else { format!("{}y{dy}d", hours / 24 / 365) };
    }
    format!("{}y", hours / 24 / 365)
}

fn since(t: Option<&Time>, now: Timestamp) -> String {
    match t {
        Some(t) => human_duration(now.as_second() - t.0.as_second()),
        None => "<unknown>".into(),
    }
}

fn or_none(s: String) -> String {
    if s.is_empty() { "<none>".into() } else { s }
}

fn format_labels(m: Option<&BTreeMap<String, String>>) -> String {
    or_none(m.map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")).unwrap_or_default())
}

/// metav1.FormatLabelSelector.
fn format_selector(s: &LabelSelector) -> String {
    let mut parts: Vec<String> = s.match_labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
    for e in s.match_expressions.iter().flatten() {
        let vals = e.values.clone().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({vals})", e.key),
            "NotIn" => format!("{} notin ({vals})", e.key),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            op => format!("{} {op} ({vals})", e.key),
        });
    }
    or_none(parts.join(","))
}

/// printPod's READY, STATUS, RESTARTS (the restartable-init-container details included).
pub fn pod_cells(pod: &Pod, now: Timestamp) -> (String, String, String) {
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let phase = status.phase.clone().unwrap_or_default();
    let mut reason = status.reason.clone().filter(|r| !r.is_empty()).unwrap_or_else(|| phase.clone());
    let conditions = status.conditions.clone().unwrap_or_default();
    if conditions.iter().any(|c| c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated")) {
        reason = "SchedulingGated".into();
    }
    let init_specs = spec.init_containers.clone().unwrap_or_default();
    let restartable =
        |name: &str| init_specs.iter().any(|c| c.name == name && c.restart_policy.as_deref() == Some("Always"));
    let mut total = spec.containers.len() + init_specs.iter().filter(|c| restartable(&c.name)).count();
    let _ = &mut total;
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart: Option<Timestamp> = None;
    let mut sidecar_last: Option<Timestamp> = None;
    let mut initializing = false;
    let init_statuses = status.init_container_statuses.clone().unwrap_or_default();
    for (i, c) in init_statuses.iter().enumerate() {
        restarts += i64::from(c.restart_count);
        let finished =
            c.last_state.as_ref().and_then(|s| s.terminated.as_ref()).and_then(|t| t.finished_at.as_ref()).map(|t| t.0);
        if finished > last_restart {
            last_restart = finished;
        }
        if restartable(&c.name) {
            sidecar_restarts += i64::from(c.restart_count);
            if finished > sidecar_last {
                sidecar_last = finished;
            }
        }
        let st = c.state.clone().unwrap_or_default();
        if let Some(t) = &st.terminated
            && t.exit_code == 0
        {
            continue;
        }
        if restartable(&c.name) && c.started == Some(true) {
            if c.ready {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = &st.terminated {
            reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                Some(r) => format!("Init:{r}"),
                None if t.signal.unwrap_or(0) != 0 => format!("Init:Signal:{}", t.signal.unwrap_or(0)),
                None => format!("Init:ExitCode:{}", t.exit_code),
            };
        } else if let Some(w) =
            st.waiting.as_ref().and_then(|w| w.reason.clone()).filter(|r| !r.is_empty() && r != "PodInitializing")
        {
            reason = format!("Init:{w}");
        } else {
            reason = format!("Init:{i}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }
    let initialized = conditions.iter().any(|c| c.type_ == "Initialized" && c.status == "True");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = sidecar_last;
        let mut has_running = false;
        for c in status.container_statuses.clone().unwrap_or_default().iter().rev() {
            restarts += i64::from(c.restart_count);
            let finished = c
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .and_then(|t| t.finished_at.as_ref())
                .map(|t| t.0);
            if finished > last_restart {
                last_restart = finished;
            }
            let st = c.state.clone().unwrap_or_default();
            if let Some(w) = st.waiting.as_ref().and_then(|w| w.reason.clone()).filter(|r| !r.is_empty()) {
                reason = w;
            } else if let Some(t) = &st.terminated {
                reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => r.to_string(),
                    None if t.signal.unwrap_or(0) != 0 => format!("Signal:{}", t.signal.unwrap_or(0)),
                    None => format!("ExitCode:{}", t.exit_code),
                };
            } else if c.ready && st.running.is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }
    if pod.metadata.deletion_timestamp.is_some() && status.reason.as_deref() == Some("NodeLost") {
        reason = "Unknown".into();
    } else if pod.metadata.deletion_timestamp.is_some() && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }
    let restarts_str = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", human_duration(now.as_second() - t.as_second())),
        _ => restarts.to_string(),
    };
    (format!("{ready}/{total}"), reason, restarts_str)
}

fn cells(obj: &Object, now: Timestamp) -> Vec<Value> {
    let meta = obj.meta();
    let name = json!(obj.name());
    let age = json!(since(meta.creation_timestamp.as_ref(), now));
    match obj {
        Object::Pod(p) => {
            let (ready, status, restarts) = pod_cells(p, now);
            let st = p.status.as_ref();
            let ip = st
                .and_then(|s| s.pod_ips.as_ref())
                .and_then(|v| v.first())
                .map(|i| i.ip.clone())
                .or_else(|| st.and_then(|s| s.pod_ip.clone()))
                .unwrap_or_default();
            let node = p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
            let nominated = st.and_then(|s| s.nominated_node_name.clone()).unwrap_or_default();
            let gates = p.spec.as_ref().and_then(|s| s.readiness_gates.as_ref()).map(|g| {
                let conds = st.and_then(|s| s.conditions.clone()).unwrap_or_default();
                let ok = g
                    .iter()
                    .filter(|g| conds.iter().any(|c| c.type_ == g.condition_type && c.status == "True"))
                    .count();
                format!("{ok}/{}", g.len())
            });
            vec![
                name,
                json!(ready),
                json!(status),
                json!(restarts),
                age,
                json!(or_none(ip)),
                json!(or_none(node)),
                json!(or_none(nominated)),
                json!(gates.unwrap_or_else(|| "<none>".into())),
            ]
        }
        Object::Node(n) => {
            let st = n.status.clone().unwrap_or_default();
            let conds = st.conditions.unwrap_or_default();
            let mut status = match conds.iter().find(|c| c.type_ == "Ready") {
                Some(c) if c.status == "True" => "Ready".to_string(),
                Some(_) => "NotReady".to_string(),
                None => "Unknown".to_string(),
            };
            if n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false) {
                status.push_str(",SchedulingDisabled");
            }
            let mut roles: Vec<String> = meta
                .labels
                .iter()
                .flatten()
                .filter_map(|(k, v)| {
                    if let Some(r) = k.strip_prefix("node-role.kubernetes.io/") {
                        Some(r.to_string())
                    } else if k == "kubernetes.io/role" {
                        Some(v.clone())
                    } else {
                        None
                    }
                })
                .filter(|r| !r.is_empty())
                .collect();
            roles.sort();
            roles.dedup();
            let addr = |t: &str| {
                st.addresses.iter().flatten().find(|a| a.type_ == t).map(|a| a.address.clone()).unwrap_or_default()
            };
            let info = st.node_info.clone().unwrap_or_default();
            vec![
                name,
                json!(status),
                json!(or_none(roles.join(","))),
                age,
                json!(info.kubelet_version),
                json!(or_none(addr("InternalIP"))),
                json!(or_none(addr("ExternalIP"))),
                json!(or_none(info.os_image)),
                json!(or_none(info.kernel_version)),
                json!(or_none(info.container_runtime_version)),
            ]
        }
        Object::DaemonSet(d) => {
            let st = d.status.clone().unwrap_or_default();
            let spec = d.spec.clone();
            let pod_spec = spec.template.spec.clone().unwrap_or_default();
            let containers: Vec<String> = pod_spec.containers.iter().map(|c| c.name.clone()).collect();
            let images: Vec<String> = pod_spec.containers.iter().map(|c| c.image.clone().unwrap_or_default()).collect();
            vec![
                name,
                json!(st.desired_number_scheduled),
                json!(st.current_number_scheduled),
                json!(st.number_ready),
                json!(st.updated_number_scheduled.unwrap_or(0)),
                json!(st.number_available.unwrap_or(0)),
                json!(format_labels(pod_spec.node_selector.as_ref())),
                age,
                json!(containers.join(",")),
                json!(images.join(",")),
                json!(format_selector(&spec.selector)),
            ]
        }
        Object::Namespace(n) => {
            vec![name, json!(n.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Active".into())), age]
        }
        Object::ControllerRevision(r) => {
            let controller = meta
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.controller == Some(true))
                .map(|o| {
                    let group = o.api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
                    let res = format!(
                        "{}{}",
                        o.kind.to_lowercase(),
                        if group.is_empty() { String::new() } else { format!(".{group}") }
                    );
                    format!("{res}/{}", o.name)
                })
                .unwrap_or_else(|| "<none>".into());
            vec![name, json!(controller), json!(r.revision.unwrap_or(0).to_string()), age]
        }
        Object::ResourceQuota(q) => {
            let (request, limit) = quota_cells(q);
            vec![name, age, json!(request), json!(limit)]
        }
        Object::Event(e) => {
            let first = e.first_timestamp.clone().or_else(|| e.event_time.as_ref().map(|t| Time(t.0)));
            let last = e.last_timestamp.clone().or_else(|| first.clone());
            let (first, last) = (first.as_ref(), last.as_ref());
            let io = &e.involved_object;
            let object = format!(
                "{}/{}",
                io.kind.clone().unwrap_or_default().to_lowercase(),
                io.name.clone().unwrap_or_default()
            );
            let source = e
                .source
                .as_ref()
                .map(|s| {
                    let c = s.component.clone().unwrap_or_default();
                    match &s.host {
                        Some(h) if !h.is_empty() => format!("{c}, {h}"),
                        _ => c,
                    }
                })
                .or_else(|| e.reporting_component.clone())
                .unwrap_or_default();
            vec![
                json!(since(last, now)),
                json!(e.type_.clone().unwrap_or_default()),
                json!(e.reason.clone().unwrap_or_default()),
                json!(object),
                json!(io.field_path.clone().unwrap_or_default()),
                json!(source),
                json!(e.message.clone().unwrap_or_default().trim()),
                json!(since(first, now)),
                json!(e.count.unwrap_or(1).to_string()),
                name,
            ]
        }
    }
}

/// printResourceQuota's REQUEST and LIMIT: `resource: used/hard` for every hard limit in
/// status, sorted by name; `limits.*` resources go to LIMIT, the rest to REQUEST. An unset
/// used quantity prints as the zero Quantity, "0".
fn quota_cells(q: &ResourceQuota) -> (String, String) {
    let status = q.status.clone().unwrap_or_default();
    let used = status.used.unwrap_or_default();
    let (mut request, mut limit) = (Vec::new(), Vec::new());
    // BTreeMap: already sorted by resource name, as SortableResourceNames sorts.
    for (resource, hard) in status.hard.iter().flatten() {
        let u = used.get(resource).map_or("0", |q| q.0.as_str());
        let cell = format!("{resource}: {u}/{}", hard.0);
        let is_limit = resource.split('.').count() > 1 && resource.split('.').next() == Some("limits");
        if is_limit { limit.push(cell) } else { request.push(cell) }
    }
    (request.join(", "), limit.join(", "))
}

fn row(s: &Stored, now: Timestamp, include_object: Option<&str>) -> Value {
    let mut row = json!({ "cells": cells(&s.obj(), now) });
    match include_object {
        Some("None") => {}
        Some("Object") => {
            row["object"] = serde_json::from_slice(&s.json).unwrap_or(Value::Null);
        }
        _ => {
            row["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": serde_json::to_value(s.obj().meta()).unwrap_or(Value::Null),
            });
        }
    }
    row
}

fn check_include(include_object: Option<&str>) -> Result<(), ApiError> {
    match include_object {
        None | Some("") | Some("None") | Some("Metadata") | Some("Object") => Ok(()),
        Some(v) => Err(ApiError::bad_request(format!(
            "includeObject: Unsupported value: {v:?}: supported values: \"Metadata\", \"None\", \"Object\""
        ))),
    }
}

/// A Table of `items` (a list, or a get of one object).
pub fn list_table(
    kind: Kind,
    items: &[Arc<Stored>],
    rv: u64,
    cont: Option<&str>,
    include: TableInclude,
    now: Timestamp,
    include_object: Option<&str>,
) -> Result<Bytes, ApiError> {
    check_include(include_object)?;
    let mut meta = json!({ "resourceVersion": rv.to_string() });
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    let rows: Vec<Value> = items.iter().map(|s| row(s, now, include_object)).collect();
    let t = json!({
        "kind": "Table",
        "apiVersion": include.api_version(),
        "metadata": meta,
        "columnDefinitions": columns(kind),
        "rows": rows,
    });
    Ok(Bytes::from(t.to_string()))
}

/// The object of one watch event in a Table watch: a one-row Table (columns on the first).
pub fn event_table(
    s: &Stored,
    with_columns: bool,
    include: TableInclude,
    now: Timestamp,
    include_object: Option<&str>,
) -> Value {
    let mut t = json!({
        "kind": "Table",
        "apiVersion": include.api_version(),
        "metadata": { "resourceVersion": s.rv.to_string() },
        "rows": [row(s, now, include_object)],
    });
    t["columnDefinitions"] = if with_columns { json!(columns(s.kind())) } else { json!([]) };
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_duration_matches_apimachinery() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
        assert_eq!(human_duration(-5), "<invalid>");
    }

    #[test]
    fn accept_header_selects_table() {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"),
        );
        assert_eq!(wants_table(&h), Some(TableInclude::V1));
        h.insert(http::header::ACCEPT, http::HeaderValue::from_static("application/json"));
        assert_eq!(wants_table(&h), None);
    }
}
