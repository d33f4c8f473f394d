//! Plans: what a mutation will send, built purely from data the caller already holds (the fleet
//! index, or objects fetched by [`super::Actions`]). A [`Plan`] is what the confirmation dialog
//! shows (verb, object, HTTP method + path, content type, exact body) and exactly what
//! [`super::Actions::execute`] sends; nothing else reaches the server.
//!
//! This module never does I/O and never reads a clock: callers pass `now`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use crate::fleet::strategy::{IntOrPercent, ValidStrategy};

/// Content type of a strategic merge patch (`types.StrategicMergePatchType`).
pub const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";
/// Content type of an RFC 7386 JSON merge patch (`types.MergePatchType`).
pub const MERGE_PATCH: &str = "application/merge-patch+json";
/// Content type of a DeleteOptions body.
pub const JSON: &str = "application/json";

/// The template annotation `kubectl rollout restart` sets (kubectl/pkg/polymorphichelpers/objectrestarter.go).
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";

/// What the user asked for; decides the wording of notices and of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verb {
    /// Delete a daemon pod so that its DaemonSet re-creates it.
    RestartPod,
    /// `kubectl rollout restart`.
    RolloutRestart,
    /// `kubectl rollout undo --to-revision=N`.
    RolloutUndo { to_revision: i64 },
    /// Edit `spec.updateStrategy`.
    UpdateStrategy,
}

impl Verb {
    /// Short name, used in the audit log and notices ("rollout restart").
    pub fn name(&self) -> &'static str {
        match self {
            Verb::RestartPod => "restart pod",
            Verb::RolloutRestart => "rollout restart",
            Verb::RolloutUndo { .. } => "rollout undo",
            Verb::UpdateStrategy => "update strategy",
        }
    }
}

/// The kinds of object an action touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjKind {
    Pod,
    DaemonSet,
}

impl ObjKind {
    /// The resource name RBAC speaks of.
    pub fn resource(self) -> &'static str {
        match self {
            ObjKind::Pod => "pods",
            ObjKind::DaemonSet => "daemonsets",
        }
    }
    pub fn singular(self) -> &'static str {
        match self {
            ObjKind::Pod => "pod",
            ObjKind::DaemonSet => "daemonset",
        }
    }
    fn api_prefix(self) -> &'static str {
        match self {
            ObjKind::Pod => "/api/v1",
            ObjKind::DaemonSet => "/apis/apps/v1",
        }
    }
}

/// The object a plan acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjRef {
    pub kind: ObjKind,
    pub namespace: String,
    pub name: String,
}

impl ObjRef {
    pub fn pod(namespace: &str, name: &str) -> ObjRef {
        ObjRef { kind: ObjKind::Pod, namespace: namespace.into(), name: name.into() }
    }
    pub fn daemonset(namespace: &str, name: &str) -> ObjRef {
        ObjRef { kind: ObjKind::DaemonSet, namespace: namespace.into(), name: name.into() }
    }
    /// The object's URL path on the API server.
    pub fn path(&self) -> String {
        format!(
            "{}/namespaces/{}/{}/{}",
            self.kind.api_prefix(),
            segment(&self.namespace),
            self.kind.resource(),
            segment(&self.name)
        )
    }
}

impl std::fmt::Display for ObjRef {
    /// "daemonset kube-system/fluentd"
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind.singular(), self.namespace, self.name)
    }
}

/// Characters escaped in a path segment. Kubernetes names are DNS labels, so this never fires
/// for valid names; it keeps a malformed name from changing the path.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_');

fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// HTTP methods a plan may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Delete,
    Patch,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
        }
    }
    /// The RBAC verb the server checks.
    pub fn rbac_verb(self) -> &'static str {
        match self {
            Method::Delete => "delete",
            Method::Patch => "patch",
        }
    }
}

/// One mutation, exactly as it will be sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub verb: Verb,
    pub object: ObjRef,
    pub method: Method,
    /// URL path without query (the executor adds `?dryRun=All` for the dry run).
    pub path: String,
    pub content_type: &'static str,
    /// The exact body.
    pub body: Value,
    /// The node the object runs on, when known (for notices: "restart pod x on node-7").
    pub node: Option<String>,
}

impl Plan {
    /// One line for notices, audit and dialog titles: "rollout restart daemonset kube-system/fluentd".
    pub fn summary(&self) -> String {
        let obj = format!("{}/{}", self.object.namespace, self.object.name);
        match (&self.verb, &self.node) {
            (Verb::RestartPod, Some(node)) => format!("restart pod {obj} on node {node}"),
            (Verb::RestartPod, None) => format!("restart pod {obj}"),
            (Verb::RolloutRestart, _) => format!("rollout restart daemonset {obj}"),
            (Verb::RolloutUndo { to_revision }, _) => format!("rollout undo daemonset {obj} to revision {to_revision}"),
            (Verb::UpdateStrategy, _) => format!("update strategy of daemonset {obj}"),
        }
    }

    /// "PATCH /apis/apps/v1/namespaces/kube-system/daemonsets/fluentd"
    pub fn request_line(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path)
    }

    /// The body as it is sent, pretty-printed (2-space indent, keys sorted).
    pub fn pretty_body(&self) -> String {
        // serde_json's Map is a BTreeMap here (no preserve_order feature): keys come out sorted.
        serde_json::to_string_pretty(&self.body).unwrap_or_else(|_| self.body.to_string())
    }

    /// The whole confirmation text: summary, request line, content type, blank line, body.
    pub fn confirm_text(&self) -> String {
        format!(
            "{}\n{}\nContent-Type: {}\n\n{}",
            self.summary(),
            self.request_line(),
            self.content_type,
            self.pretty_body()
        )
    }
}

/// Restart a daemon pod: DELETE it, and the DaemonSet controller creates a new one on the same
/// node. `uid` (when known) becomes a precondition, so a pod that was already replaced by one of
/// the same name is never deleted by mistake; propagation is Background like `kubectl delete`.
pub fn restart_pod(namespace: &str, pod: &str, uid: Option<&str>, node: Option<&str>) -> Plan {
    let object = ObjRef::pod(namespace, pod);
    let mut body = json!({
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "propagationPolicy": "Background",
    });
    if let Some(uid) = uid.filter(|u| !u.is_empty()) {
        body["preconditions"] = json!({ "uid": uid });
    }
    Plan {
        verb: Verb::RestartPod,
        path: object.path(),
        object,
        method: Method::Delete,
        content_type: JSON,
        body,
        node: node.map(str::to_owned),
    }
}

/// RFC 3339 in UTC with seconds, as Go's `time.Now().Format(time.RFC3339)` prints it in UTC.
pub fn rfc3339(now: jiff::Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `kubectl rollout restart daemonset/x`: kubectl sets
/// `spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"] = time.Now().Format(time.RFC3339)`
/// (objectrestarter.go `defaultObjectRestarter`) and sends the two-way strategic merge patch of
/// that change, which is exactly this body.
pub fn rollout_restart(namespace: &str, ds: &str, now: jiff::Timestamp) -> Plan {
    let object = ObjRef::daemonset(namespace, ds);
    let body = json!({
        "spec": { "template": { "metadata": { "annotations": {
            RESTARTED_AT_ANNOTATION: rfc3339(now)
        }}}}
    });
    Plan {
        verb: Verb::RolloutRestart,
        path: object.path(),
        object,
        method: Method::Patch,
        content_type: STRATEGIC_MERGE_PATCH,
        body,
        node: None,
    }
}

/// `kubectl rollout undo daemonset/x --to-revision=N`: `DaemonSetRollbacker.Rollback` sends the
/// chosen ControllerRevision's `data` (a strategic merge patch that replaces `spec.template`)
/// unchanged as a strategic merge patch. Build `data` with [`crate::fleet::rollout::undo_patch`].
pub fn rollout_undo(namespace: &str, ds: &str, to_revision: i64, data: Value) -> Plan {
    let object = ObjRef::daemonset(namespace, ds);
    Plan {
        verb: Verb::RolloutUndo { to_revision },
        path: object.path(),
        object,
        method: Method::Patch,
        content_type: STRATEGIC_MERGE_PATCH,
        body: data,
        node: None,
    }
}

/// Change `spec.updateStrategy`. Sent as a JSON merge patch so that switching to OnDelete can
/// remove `rollingUpdate` with `null` (the API rejects nothing here, but a stale rollingUpdate
/// block would confuse readers of the object).
pub fn update_strategy(namespace: &str, ds: &str, strategy: &ValidStrategy) -> Plan {
    let object = ObjRef::daemonset(namespace, ds);
    Plan {
        verb: Verb::UpdateStrategy,
        path: object.path(),
        object,
        method: Method::Patch,
        content_type: MERGE_PATCH,
        body: strategy_patch(strategy),
        node: None,
    }
}

/// The JSON merge patch body of a strategy change. OnDelete removes `rollingUpdate` with null
/// (RFC 7386).
fn strategy_patch(strategy: &ValidStrategy) -> Value {
    // IntOrString on the wire: a number, or a string for a percentage.
    let int_or_string = |v: &IntOrPercent| match v {
        IntOrPercent::Int(n) => json!(n),
        IntOrPercent::Percent(_) => json!(v.to_string()),
    };
    match strategy {
        ValidStrategy::RollingUpdate { max_unavailable, max_surge } => json!({
            "spec": { "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {
                    "maxUnavailable": int_or_string(max_unavailable),
                    "maxSurge": int_or_string(max_surge),
                }
            }}
        }),
        ValidStrategy::OnDelete => json!({
            "spec": { "updateStrategy": { "type": "OnDelete", "rollingUpdate": null } }
        }),
    }
}
