//! Replaying a recorded cluster: objects read from `kubectl get ... -o json` output (Lists or
//! single objects, any mix of the kinds the simulator serves) go into the store exactly as
//! recorded (uid, timestamps, statuses, managedFields), with resourceVersions renumbered in the
//! order the recording had them, so that a list or watch of the simulator shows the recorded
//! cluster and nothing else.
//!
//! Everything is read and checked before anything is inserted: a recording with one bad object
//! loads nothing, and the error names the file and the object. This module reads files; it
//! never talks to a cluster.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Namespace, NamespaceSpec, NamespaceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::store::{Kind, Object, Store, StoreError};

/// Files in a recording directory that are not objects: the server's `/version` answer and the
/// oracles tests keep beside a recording.
fn is_side_file(name: &str) -> bool {
    name == "version.json" || name.starts_with("expected")
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    // `error`, not `source`: the message carries it already, so `{:#}` chains do not repeat it.
    #[error("reading {path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{path}: no *.json files to replay (record one with `daemonscope record DIR`)")]
    Empty { path: PathBuf },
    #[error("{path} is not Kubernetes JSON (`kubectl get ... -o json` output): {error}")]
    NotJson { path: PathBuf, error: serde_json::Error },
    #[error("{path}: {what} is not a Kubernetes object: it has no \"kind\"")]
    NoKind { path: PathBuf, what: String },
    #[error(
        "{path}: {what} has kind {kind} (apiVersion {api_version}), which the simulator does not serve; a recording holds Nodes, DaemonSets, ControllerRevisions, Pods, Events and Namespaces"
    )]
    UnknownKind { path: PathBuf, what: String, kind: String, api_version: String },
    #[error("{path}: {what} is not a valid {kind}: {error}")]
    Decode { path: PathBuf, what: String, kind: &'static str, error: serde_json::Error },
    #[error("{path}: {what} has no metadata.{field}")]
    MissingField { path: PathBuf, what: String, field: &'static str },
    #[error("{path}: {what} is recorded twice (also in {first})")]
    Duplicate { path: PathBuf, what: String, first: PathBuf },
    #[error("loading the recording into the simulator: {0}")]
    Store(#[from] StoreError),
}

/// Objects read from a recording, checked and in the order they will be inserted.
#[derive(Debug, Default)]
pub struct Recording {
    pub objects: Vec<Object>,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// The recorded server's `/version` (a directory's `version.json`, when it reads as one).
    pub version: Option<Value>,
}

impl Recording {
    pub fn count(&self, kind: Kind) -> usize {
        self.objects.iter().filter(|o| o.kind() == kind).count()
    }
}

/// Read a recording: one JSON file, or every `*.json` file of a directory (by name, leaving
/// out `version.json` and `expected*.json`). Nothing is inserted anywhere.
pub fn load(path: &Path) -> Result<Recording, ReplayError> {
    let io = |e| ReplayError::Io { path: path.to_path_buf(), error: e };
    let files = if std::fs::metadata(path).map_err(io)?.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension().is_some_and(|x| x == "json")
                    && !p.file_name().and_then(|n| n.to_str()).is_some_and(is_side_file)
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(ReplayError::Empty { path: path.to_path_buf() });
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut parsed = Vec::new();
    for f in &files {
        let text = std::fs::read(f).map_err(|e| ReplayError::Io { path: f.clone(), error: e })?;
        for obj in parse(f, &text)? {
            parsed.push((f.clone(), obj));
        }
    }
    let mut rec = finish(parsed, files)?;
    rec.version = read_version(path);
    Ok(rec)
}

/// `version.json` beside the objects, when it is a `/version` answer (a `gitVersion`, and a
/// major and minor version). Anything else there is ignored: the simulator reports its own.
fn read_version(dir: &Path) -> Option<Value> {
    let text = std::fs::read(dir.join("version.json")).ok()?;
    let v: Value = serde_json::from_slice(&text).ok()?;
    let field = |f: &str| v.get(f).and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    (field("gitVersion") && field("major") && field("minor")).then_some(v)
}

/// Decode one file's text: a List (`kind: List` or `<Kind>List`) or a single object.
pub fn parse(path: &Path, text: &[u8]) -> Result<Vec<Object>, ReplayError> {
    let doc: Value =
        serde_json::from_slice(text).map_err(|e| ReplayError::NotJson { path: path.to_path_buf(), error: e })?;
    let Some(kind) = doc.get("kind").and_then(Value::as_str).map(str::to_string) else {
        let what = if doc.is_object() { "the top-level object".to_string() } else { "the document".to_string() };
        return Err(ReplayError::NoKind { path: path.to_path_buf(), what });
    };
    if let Some(item_kind) = kind.strip_suffix("List") {
        let Some(items) = doc.get("items").and_then(Value::as_array) else {
            return Err(ReplayError::NoKind { path: path.to_path_buf(), what: format!("the {kind} without items") });
        };
        // A typed list (`PodList`, as the API serves it) leaves kind and apiVersion off its items.
        let default = (!item_kind.is_empty()).then(|| (item_kind.to_string(), doc.get("apiVersion").cloned()));
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let mut item = item.clone();
                if let (Some((k, av)), Some(o)) = (&default, item.as_object_mut()) {
                    o.entry("kind").or_insert_with(|| Value::String(k.clone()));
                    if let Some(av) = av {
                        o.entry("apiVersion").or_insert_with(|| av.clone());
                    }
                }
                decode(path, &format!("item {i}"), item)
            })
            .collect()
    } else {
        Ok(vec![decode(path, "the object", doc)?])
    }
}

/// "item 3 (Pod fx/agent-abcde)": where an object sits, and what it says it is.
fn describe(at: &str, v: &Value) -> String {
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("object");
    let meta = v.get("metadata");
    let field = |f: &str| meta.and_then(|m| m.get(f)).and_then(Value::as_str).unwrap_or("");
    match (field("namespace"), field("name")) {
        (_, "") => format!("{at} ({kind} without a name)"),
        ("", name) => format!("{at} ({kind} {name})"),
        (ns, name) => format!("{at} ({kind} {ns}/{name})"),
    }
}

fn decode(path: &Path, at: &str, v: Value) -> Result<Object, ReplayError> {
    let what = describe(at, &v);
    let p = || path.to_path_buf();
    let Some(kind) = v.get("kind").and_then(Value::as_str) else {
        return Err(ReplayError::NoKind { path: p(), what });
    };
    let api_version = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let Some(k) = Kind::ALL.into_iter().find(|k| k.kind() == kind && k.api_version() == api_version) else {
        return Err(ReplayError::UnknownKind {
            path: p(),
            what,
            kind: kind.to_string(),
            api_version: api_version.to_string(),
        });
    };
    let obj = Object::from_value(k, v).map_err(|e| ReplayError::Decode {
        path: p(),
        what: what.clone(),
        kind: k.kind(),
        error: e,
    })?;
    if obj.name().is_empty() {
        return Err(ReplayError::MissingField { path: p(), what, field: "name" });
    }
    if k.namespaced() && obj.namespace().is_empty() {
        return Err(ReplayError::MissingField { path: p(), what, field: "namespace" });
    }
    Ok(obj)
}

/// Check for duplicates, add the namespaces the objects live in when the recording has none,
/// and order by the recorded resourceVersion (the order the cluster made the changes in).
fn finish(parsed: Vec<(PathBuf, Object)>, files: Vec<PathBuf>) -> Result<Recording, ReplayError> {
    let mut seen: std::collections::HashMap<(Kind, String, String), PathBuf> = Default::default();
    for (f, o) in &parsed {
        let ns = if o.kind().namespaced() { o.namespace() } else { "" };
        let key = (o.kind(), ns.to_string(), o.name().to_string());
        if let Some(first) = seen.get(&key) {
            let what = if ns.is_empty() {
                format!("{} {}", o.kind().kind(), o.name())
            } else {
                format!("{} {ns}/{}", o.kind().kind(), o.name())
            };
            return Err(ReplayError::Duplicate { path: f.clone(), what, first: first.clone() });
        }
        seen.insert(key, f.clone());
    }
    let recorded_ns: BTreeSet<&str> =
        parsed.iter().filter(|(_, o)| o.kind() == Kind::Namespace).map(|(_, o)| o.name()).collect();
    let used_ns: BTreeSet<String> = parsed
        .iter()
        .filter(|(_, o)| o.kind().namespaced() && !recorded_ns.contains(o.namespace()))
        .map(|(_, o)| o.namespace().to_string())
        .collect();
    let mut objects: Vec<Object> = used_ns.into_iter().map(namespace).collect();
    let mut rest: Vec<Object> = parsed.into_iter().map(|(_, o)| o).collect();
    // A stable sort: objects without a numeric resourceVersion keep the files' order, first.
    rest.sort_by_key(|o| o.meta().resource_version.as_deref().and_then(|rv| rv.parse::<u64>().ok()).unwrap_or(0));
    objects.extend(rest);
    Ok(Recording { objects, files, version: None })
}

/// A namespace the recording's objects live in but did not include (`kubectl get` of
/// namespaced kinds leaves them out); the API server would have had it, Active.
fn namespace(name: String) -> Object {
    Object::Namespace(Namespace {
        metadata: ObjectMeta {
            labels: Some([("kubernetes.io/metadata.name".to_string(), name.clone())].into()),
            name: Some(name),
            ..Default::default()
        },
        spec: Some(NamespaceSpec { finalizers: Some(vec!["kubernetes".into()]) }),
        status: Some(NamespaceStatus { phase: Some("Active".into()), conditions: None }),
    })
}

/// Put a checked recording into the store, all or nothing.
pub fn insert(store: &Store, rec: Recording) -> Result<(), ReplayError> {
    Ok(store.restore(rec.objects)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("rec/pods.json")
    }

    const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"agent-x","namespace":"fx","uid":"u-1",
        "resourceVersion":"900","creationTimestamp":"2024-01-02T03:04:05Z",
        "managedFields":[{"manager":"kubelet","operation":"Update","apiVersion":"v1","time":"2024-01-02T03:04:06Z",
          "fieldsType":"FieldsV1","fieldsV1":{"f:status":{}},"subresource":"status"}]},
        "spec":{"nodeName":"n1","containers":[{"name":"c","image":"busybox"}]},
        "status":{"phase":"Running"}}"#;

    #[test]
    fn a_single_object_keeps_what_was_recorded() {
        let objs = parse(p(), POD.as_bytes()).expect("a pod");
        assert_eq!(objs.len(), 1);
        let Object::Pod(pod) = &objs[0] else { panic!("a Pod") };
        assert_eq!(pod.metadata.uid.as_deref(), Some("u-1"));
        assert_eq!(pod.metadata.managed_fields.as_ref().map(Vec::len), Some(1));
        assert_eq!(pod.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Running"));
    }

    #[test]
    fn a_list_of_mixed_kinds_is_read_in_recorded_resource_version_order() {
        let list = format!(
            r#"{{"apiVersion":"v1","kind":"List","items":[{POD},
            {{"apiVersion":"v1","kind":"Node","metadata":{{"name":"n1","resourceVersion":"5"}}}}]}}"#
        );
        let objs = parse(p(), list.as_bytes()).expect("a list");
        assert_eq!(objs.iter().map(Object::kind).collect::<Vec<_>>(), [Kind::Pod, Kind::Node]);
        let rec = finish(objs.into_iter().map(|o| (p().to_path_buf(), o)).collect(), vec![]).expect("checked");
        let kinds: Vec<Kind> = rec.objects.iter().map(Object::kind).collect();
        // The namespace the pod lives in is added first, then rv 5 before rv 900.
        assert_eq!(kinds, [Kind::Namespace, Kind::Node, Kind::Pod]);
        let store = Store::new(100);
        insert(&store, rec).expect("inserted");
        let pod = store.get(Kind::Pod, "fx", "agent-x").expect("stored");
        let node = store.get(Kind::Node, "", "n1").expect("stored");
        assert!(node.rv < pod.rv, "renumbered in recorded order");
        assert_eq!(pod.obj().meta().uid.as_deref(), Some("u-1"), "uid kept for ownerReferences");
        assert_eq!(pod.obj().meta().managed_fields.as_ref().map(Vec::len), Some(1), "managedFields kept");
        let served: serde_json::Value = serde_json::from_slice(&pod.json).expect("stored JSON");
        assert_eq!(served["metadata"]["managedFields"][0]["manager"], "kubelet", "and served");
        assert_eq!(served["metadata"]["creationTimestamp"], "2024-01-02T03:04:05Z");
    }

    #[test]
    fn a_typed_list_gives_its_items_their_kind() {
        let list = r#"{"apiVersion":"v1","kind":"NodeList","items":[{"metadata":{"name":"n1"}}]}"#;
        let objs = parse(p(), list.as_bytes()).expect("a NodeList");
        assert_eq!(objs[0].kind(), Kind::Node);
    }

    #[test]
    fn a_file_that_is_not_json_names_the_file() {
        let e = parse(p(), b"NAME   READY   STATUS\nagent-x 1/1 Running\n").expect_err("not JSON");
        let msg = e.to_string();
        assert!(matches!(e, ReplayError::NotJson { .. }), "{msg}");
        assert!(msg.contains("rec/pods.json") && msg.contains("not Kubernetes JSON"), "{msg}");
    }

    #[test]
    fn an_object_without_kind_is_named() {
        let list = r#"{"apiVersion":"v1","kind":"List","items":[{"metadata":{"name":"agent-x","namespace":"fx"}}]}"#;
        let e = parse(p(), list.as_bytes()).expect_err("no kind");
        let msg = e.to_string();
        assert!(matches!(e, ReplayError::NoKind { .. }), "{msg}");
        assert!(msg.contains("rec/pods.json") && msg.contains("item 0") && msg.contains("fx/agent-x"), "{msg}");
        let e = parse(p(), br#"{"major":"1","minor":"28"}"#).expect_err("no kind");
        assert!(matches!(e, ReplayError::NoKind { .. }), "{e}");
    }

    #[test]
    fn an_unknown_kind_is_refused_with_its_name() {
        let secret = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"token","namespace":"fx"}}"#;
        let e = parse(p(), secret.as_bytes()).expect_err("Secret");
        let msg = e.to_string();
        assert!(matches!(e, ReplayError::UnknownKind { .. }), "{msg}");
        assert!(msg.contains("Secret fx/token") && msg.contains("rec/pods.json"), "{msg}");
    }

    #[test]
    fn a_bad_object_loads_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a-pods.json"), POD).expect("write");
        std::fs::write(dir.path().join("b-bad.json"), r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"}}"#)
            .expect("write");
        let e = load(dir.path()).expect_err("a pod without a namespace");
        assert!(e.to_string().contains("b-bad.json") && e.to_string().contains("metadata.namespace"), "{e}");
    }

    #[test]
    fn a_duplicate_inserts_nothing() {
        let store = Store::new(100);
        let objs = parse(p(), POD.as_bytes()).expect("a pod");
        let twice: Vec<Object> = objs.iter().chain(objs.iter()).cloned().collect();
        assert!(store.restore(twice).is_err());
        assert_eq!(store.count(Kind::Pod), 0, "nothing half-loaded");
    }

    #[test]
    fn the_real_recording_loads_whole() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-k8s-1.28/fx");
        let rec = load(&dir).expect("the recording loads");
        assert_eq!(rec.count(Kind::Node), 8);
        assert_eq!(rec.count(Kind::DaemonSet), 10);
        assert_eq!(rec.count(Kind::ControllerRevision), 12);
        assert_eq!(rec.count(Kind::Pod), 52);
        assert_eq!(rec.count(Kind::Event), 108);
        assert_eq!(rec.count(Kind::Namespace), 1, "namespace fx added");
        assert_eq!(rec.version.as_ref().and_then(|v| v["gitVersion"].as_str()), Some("v1.28.4"));
    }
}
