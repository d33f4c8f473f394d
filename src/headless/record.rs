//! `record DIR`: write what daemonscope reads from a cluster (Nodes, DaemonSets, their
//! ControllerRevisions and pods, the Events about those, and the Namespaces) as
//! `kubectl get -o json`-style Lists, and the server's `/version` as `version.json`, so that `--demo DIR` or `sim --replay DIR` serves that
//! state again. Secrets and ConfigMaps are never read. `--strip` removes annotations and
//! environment variable values (in pods, templates and revisions) so a state can be shared.
//!
//! Reading is the only I/O towards the cluster here; the stripping is a pure function on JSON.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod};
use kube::Api;
use kube::api::ListParams;
use serde_json::Value;

use crate::cluster::client::Target;
use crate::cluster::wire::LABEL_TEMPLATE_GENERATION;

/// Annotations kept by `--strip`: written by the DaemonSet controller, numbers only.
const KEPT_ANNOTATIONS: [&str; 1] = ["deprecated.daemonset.template.generation"];

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("listing {what}: {source}")]
    List { what: &'static str, source: kube::Error },
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("encoding {what}: {source}")]
    Encode { what: &'static str, source: serde_json::Error },
}

/// What was written, for the one line `record` prints.
#[derive(Debug, Default)]
pub struct Recorded {
    pub files: Vec<(PathBuf, usize)>,
}

async fn list_all<K>(api: Api<K>, lp: ListParams, what: &'static str) -> Result<Vec<K>, RecordError>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut out = Vec::new();
    let mut lp = lp.limit(500);
    loop {
        let page = api.list(&lp).await.map_err(|e| RecordError::List { what, source: e })?;
        out.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => lp = lp.continue_token(&token),
            None => return Ok(out),
        }
    }
}

fn scoped<K>(target: &Target) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match &target.namespace {
        Some(ns) => Api::namespaced(target.client.clone(), ns),
        None => Api::all(target.client.clone()),
    }
}

/// Read the cluster and write one List file per kind into `dir` (created when missing).
pub async fn record(target: &Target, dir: &Path, strip: bool) -> Result<Recorded, RecordError> {
    let client = target.client.clone();
    let nodes = list_all(Api::<Node>::all(client.clone()), ListParams::default(), "nodes").await?;
    let daemonsets = list_all(scoped::<DaemonSet>(target), ListParams::default(), "daemonsets").await?;
    let ds_uids: BTreeSet<String> = daemonsets.iter().filter_map(|d| d.metadata.uid.clone()).collect();
    let owned_by_ds = |refs: &Option<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>>| {
        refs.iter().flatten().any(|r| r.kind == "DaemonSet" && ds_uids.contains(&r.uid))
    };
    let revisions: Vec<ControllerRevision> =
        list_all(scoped::<ControllerRevision>(target), ListParams::default(), "controllerrevisions")
            .await?
            .into_iter()
            .filter(|r| owned_by_ds(&r.metadata.owner_references))
            .collect();
    // Only DaemonSet pods: the same server-side filter the watches use.
    let pods: Vec<Pod> =
        list_all(scoped::<Pod>(target), ListParams::default().labels(LABEL_TEMPLATE_GENERATION), "daemon pods")
            .await?
            .into_iter()
            .filter(|p| owned_by_ds(&p.metadata.owner_references))
            .collect();
    let about: BTreeSet<(String, String, String)> = pods
        .iter()
        .map(|p| ("Pod", &p.metadata))
        .chain(daemonsets.iter().map(|d| ("DaemonSet", &d.metadata)))
        .map(|(k, m)| (k.to_string(), m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default()))
        .collect();
    let node_names: BTreeSet<String> = nodes.iter().filter_map(|n| n.metadata.name.clone()).collect();
    let events: Vec<Event> = list_all(scoped::<Event>(target), ListParams::default(), "events")
        .await?
        .into_iter()
        .filter(|e| {
            let o = &e.involved_object;
            let kind = o.kind.clone().unwrap_or_default();
            let name = o.name.clone().unwrap_or_default();
            (kind == "Node" && node_names.contains(&name))
                || about.contains(&(kind, o.namespace.clone().unwrap_or_default(), name))
        })
        .collect();
    let used_ns: BTreeSet<String> = daemonsets.iter().filter_map(|d| d.metadata.namespace.clone()).collect();
    let namespaces: Vec<Namespace> = list_all(Api::<Namespace>::all(client), ListParams::default(), "namespaces")
        .await
        // Listing namespaces is often forbidden to namespaced users; the replay adds them.
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.metadata.name.as_ref().is_some_and(|name| used_ns.contains(name)))
        .collect();

    std::fs::create_dir_all(dir).map_err(|e| RecordError::Write { path: dir.to_path_buf(), source: e })?;
    let mut recorded = Recorded::default();
    write_list(dir, "nodes", &nodes, strip, &mut recorded)?;
    write_list(dir, "daemonsets", &daemonsets, strip, &mut recorded)?;
    write_list(dir, "controllerrevisions", &revisions, strip, &mut recorded)?;
    write_list(dir, "pods", &pods, strip, &mut recorded)?;
    write_list(dir, "events", &events, strip, &mut recorded)?;
    write_list(dir, "namespaces", &namespaces, strip, &mut recorded)?;
    // The server's version, so the replay reports it too (kubectl picks its client by it).
    if let Ok(info) = target.client.apiserver_version().await {
        let path = dir.join("version.json");
        let text = serde_json::to_vec_pretty(&info).map_err(|e| RecordError::Encode { what: "version", source: e })?;
        std::fs::write(&path, text).map_err(|e| RecordError::Write { path: path.clone(), source: e })?;
        recorded.files.push((path, 1));
    }
    Ok(recorded)
}

fn write_list<K: serde::Serialize>(
    dir: &Path,
    what: &'static str,
    items: &[K],
    strip: bool,
    recorded: &mut Recorded,
) -> Result<(), RecordError> {
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        let mut v = serde_json::to_value(item).map_err(|e| RecordError::Encode { what, source: e })?;
        if strip {
            strip_value(&mut v);
        }
        values.push(v);
    }
    let list = serde_json::json!({ "apiVersion": "v1", "kind": "List", "metadata": {}, "items": values });
    let path = dir.join(format!("{what}.json"));
    let text = serde_json::to_vec_pretty(&list).map_err(|e| RecordError::Encode { what, source: e })?;
    std::fs::write(&path, text).map_err(|e| RecordError::Write { path: path.clone(), source: e })?;
    recorded.files.push((path, items.len()));
    Ok(())
}

/// Remove every annotation (but the controller's numeric ones) and the value of every
/// environment variable, at any depth: pods, DaemonSet templates and the templates kept in
/// ControllerRevisions' `data` alike. Names stay, so the shape of the fleet stays readable.
pub fn strip_value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(ann)) = map.get_mut("annotations") {
                ann.retain(|k, _| KEPT_ANNOTATIONS.contains(&k.as_str()));
            }
            if let Some(Value::Array(env)) = map.get_mut("env") {
                for var in env.iter_mut().filter_map(Value::as_object_mut) {
                    var.remove("value");
                    var.remove("valueFrom");
                }
            }
            for child in map.values_mut() {
                strip_value(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_removes_annotations_and_env_values_at_any_depth() {
        let mut v = serde_json::json!({
            "metadata": {"name": "agent", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{\"secret\":1}",
                "deprecated.daemonset.template.generation": "2"}},
            "spec": {"template": {"metadata": {"annotations": {"note": "x"}},
                "spec": {"containers": [{"name": "c", "env": [
                    {"name": "TOKEN", "value": "hunter2"},
                    {"name": "FROM", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}}},
            "data": {"spec": {"template": {"spec": {"initContainers": [{"env": [{"name": "A", "value": "b"}]}]}}}}
        });
        strip_value(&mut v);
        let text = v.to_string();
        for gone in ["hunter2", "last-applied", "secretKeyRef", "\"note\"", "\"b\""] {
            assert!(!text.contains(gone), "{gone} left in {text}");
        }
        assert!(text.contains("TOKEN") && text.contains("deprecated.daemonset.template.generation"), "{text}");
    }
}
