//! What the describe / YAML pane shows, as pure functions of fetched JSON: the object's YAML
//! as `kubectl get -o yaml` prints it ([`yaml`]) and describe-grade text ([`describe`]).
//!
//! Data flow: the app asks the cluster executor for an [`ObjectRef`] (a GET, plus a
//! field-selected events list for describe); the answer comes back as [`Fetched`]; the pane
//! turns it into lines here. Nothing here does I/O; the text is sanitised by the pane.

pub mod describe;
pub mod yaml;

use serde_json::Value;

/// Which object of the cursor cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Pod,
    Node,
    DaemonSet,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pod => "pod",
            Kind::Node => "node",
            Kind::DaemonSet => "daemonset",
        }
    }

    /// The `kind` of its events' involvedObject.
    pub fn api_kind(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Node => "Node",
            Kind::DaemonSet => "DaemonSet",
        }
    }
}

/// What the pane shows of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Describe,
    Yaml,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Describe => "describe",
            Mode::Yaml => "yaml",
        }
    }
}

/// One object to fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub kind: Kind,
    /// `None` for a node.
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// The API path of a GET.
    pub fn path(&self) -> String {
        let ns = self.namespace.as_deref().unwrap_or_default();
        match self.kind {
            Kind::Pod => format!("/api/v1/namespaces/{ns}/pods/{}", self.name),
            Kind::Node => format!("/api/v1/nodes/{}", self.name),
            Kind::DaemonSet => format!("/apis/apps/v1/namespaces/{ns}/daemonsets/{}", self.name),
        }
    }

    /// The path of the events about it (field-selected by kind and name, as `kubectl describe`
    /// does; a node's events live in any namespace).
    pub fn events_path(&self) -> String {
        let sel = format!("involvedObject.kind={},involvedObject.name={}", self.kind.api_kind(), self.name);
        let sel: String = form_urlencoded::byte_serialize(sel.as_bytes()).collect();
        match &self.namespace {
            Some(ns) => format!("/api/v1/namespaces/{ns}/events?fieldSelector={sel}"),
            None => format!("/api/v1/events?fieldSelector={sel}"),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind.name(), self.name),
            None => write!(f, "{} {}", self.kind.name(), self.name),
        }
    }
}

/// A fetched object and, for describe, its events (or why they could not be listed).
#[derive(Clone, Debug, PartialEq)]
pub struct Fetched {
    pub object: Value,
    pub events: Result<Vec<Value>, String>,
}

/// `kubectl get -o yaml` leaves managedFields out unless `--show-managed-fields` is given.
pub fn strip_managed_fields(v: &mut Value) {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
}

/// The pane's text for `mode`, one entry per line. `now`: Unix seconds, for event ages.
pub fn text(mode: Mode, kind: Kind, fetched: &Fetched, now: i64) -> Vec<String> {
    match mode {
        Mode::Yaml => {
            let mut v = fetched.object.clone();
            strip_managed_fields(&mut v);
            yaml::to_yaml(&v).lines().map(str::to_string).collect()
        }
        Mode::Describe => describe::describe(kind, fetched, now),
    }
}
