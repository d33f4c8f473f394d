//! Conformance with a real cluster: `tests/fixtures/real-k8s-1.28` is what a real Kubernetes
//! v1.28.4 control plane served (its DaemonSet controller's status counts included), and
//! `expected-cells.json` beside it was computed by an independent implementation of the
//! DaemonSet rules. The simulator replays the recording; daemonscope and kubectl read it over
//! HTTP(S) the way they read any cluster; what they show must equal the recording. Where they
//! disagree, the recording is right.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::sandbox::Sandbox;
use common::sim::SimCluster;
use daemonscope::sim::{SimOptions, StartConfig};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::Api;
use kube::api::ListParams;
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-k8s-1.28/fx")
}

fn read_json(name: &str) -> Value {
    let path = fixture().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn items(name: &str) -> Vec<Value> {
    read_json(name)["items"].as_array().cloned().unwrap_or_else(|| panic!("{name} is a List"))
}

fn name_of(v: &Value) -> String {
    v["metadata"]["name"].as_str().expect("metadata.name").to_string()
}

fn ns_name(v: &Value) -> String {
    format!("{}/{}", v["metadata"]["namespace"].as_str().expect("metadata.namespace"), name_of(v))
}

/// The recording served by the simulator, over TLS so that kubectl sends its token.
async fn replaying(tls: bool) -> SimCluster {
    let opts = SimOptions { replay: Some(fixture()), tls, ..SimOptions::default() };
    SimCluster::start_in(Sandbox::new(), opts, StartConfig::default()).await
}

async fn run(mut cmd: std::process::Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("the command runs")).await.expect("join")
}

fn success(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{what} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// `daemonscope snapshot -o json` of the replaying simulator, the real binary through kube.
async fn snapshot(cluster: &SimCluster) -> Value {
    let mut cmd = cluster.daemonscope();
    cmd.args(["snapshot", "-o", "json"]);
    let text = success(&run(cmd).await, "daemonscope snapshot");
    serde_json::from_str(&text).expect("snapshot prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cell_equals_the_independent_oracle() {
    let cluster = replaying(false).await;
    let doc = snapshot(&cluster).await;
    let got: BTreeMap<(String, String), String> = doc["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| {
            let key = (c["node"].as_str().expect("node").to_string(), c["daemonset"].as_str().expect("ds").to_string());
            (key, c["state"].as_str().expect("state").to_string())
        })
        .collect();
    let expected = read_json("expected-cells.json");
    let expected = expected.as_array().expect("expected-cells.json is an array");
    assert_eq!(expected.len(), 80, "8 nodes x 10 DaemonSets");
    let mut wrong = Vec::new();
    for e in expected {
        let key = (e["node"].as_str().expect("node").to_string(), e["daemonset"].as_str().expect("ds").to_string());
        let want = e["state"].as_str().expect("state");
        // The snapshot leaves not-eligible cells out.
        let have = got.get(&key).map(String::as_str).unwrap_or("not-eligible");
        if have != want {
            wrong.push(format!("{} x {}: recorded {want} (why: {}), daemonscope {have}", key.0, key.1, e["why"]));
        }
    }
    assert!(wrong.is_empty(), "cells that disagree with the recording:\n{}", wrong.join("\n"));
    let expected_keys: BTreeSet<_> = expected
        .iter()
        .map(|e| (e["node"].as_str().unwrap_or("").to_string(), e["daemonset"].as_str().unwrap_or("").to_string()))
        .collect();
    let extra: Vec<_> = got.keys().filter(|k| !expected_keys.contains(*k)).collect();
    assert!(extra.is_empty(), "cells the recording does not have: {extra:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desired_and_misscheduled_equal_the_real_controllers_status() {
    let cluster = replaying(false).await;
    let doc = snapshot(&cluster).await;
    let mut misscheduled: BTreeMap<String, i64> = BTreeMap::new();
    for c in doc["cells"].as_array().expect("cells") {
        if c["state"] == "misscheduled" {
            *misscheduled.entry(c["daemonset"].as_str().expect("ds").to_string()).or_default() += 1;
        }
    }
    let rows: BTreeMap<String, &Value> = doc["daemonsets"]
        .as_array()
        .expect("daemonsets")
        .iter()
        .map(|d| (format!("{}/{}", d["namespace"].as_str().unwrap_or(""), d["name"].as_str().unwrap_or("")), d))
        .collect();
    let recorded = items("daemonsets.json");
    assert_eq!(rows.len(), recorded.len(), "one row per recorded DaemonSet");
    for ds in &recorded {
        let key = ns_name(ds);
        let status = &ds["status"];
        let row = rows.get(&key).unwrap_or_else(|| panic!("no row for {key}"));
        assert_eq!(
            row["desired_by_predicate"], status["desiredNumberScheduled"],
            "{key}: our predicate's desired count against the real controller's"
        );
        assert_eq!(row["desired"], status["desiredNumberScheduled"], "{key}: desired served as recorded");
        assert_eq!(row["current"], status["currentNumberScheduled"], "{key}: current served as recorded");
        assert_eq!(row["ready"], status["numberReady"], "{key}: ready served as recorded");
        assert_eq!(
            misscheduled.get(&key).copied().unwrap_or(0),
            status["numberMisscheduled"].as_i64().unwrap_or(0),
            "{key}: misscheduled cells against the real controller's numberMisscheduled"
        );
    }
}

/// Drop what the replay renumbers, and let both sides go through the same typed decode, so
/// the comparison is of content and not of key order or absent-vs-null.
fn without_rv<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) -> Value {
    let typed: T = serde_json::from_value(v.clone()).expect("decodes");
    let mut v = serde_json::to_value(typed).expect("encodes");
    if let Some(m) = v["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    v
}

async fn served_as_recorded<K>(client: &kube::Client, file: &str)
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + serde::Serialize,
    K::DynamicType: Default,
{
    let served = Api::<K>::all(client.clone()).list(&ListParams::default()).await.expect("list");
    let served: BTreeMap<String, Value> = served
        .items
        .iter()
        .map(|o| {
            let v = serde_json::to_value(o).expect("encodes");
            (ns_name(&v), without_rv::<K>(&v))
        })
        .collect();
    let recorded = items(file);
    assert_eq!(served.len(), recorded.len(), "{file}: as many served as recorded");
    for r in &recorded {
        let key = ns_name(r);
        let want = without_rv::<K>(r);
        assert_eq!(served.get(&key), Some(&want), "{file}: {key} served as recorded");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_are_served_exactly_as_recorded() {
    let cluster = replaying(false).await;
    let client = cluster.sim.client().await.expect("client");
    served_as_recorded::<Pod>(&client, "pods.json").await;
    served_as_recorded::<DaemonSet>(&client, "daemonsets.json").await;
    served_as_recorded::<ControllerRevision>(&client, "controllerrevisions.json").await;
    served_as_recorded::<Event>(&client, "events.json").await;
    let nodes = Api::<Node>::all(client.clone()).list(&ListParams::default()).await.expect("nodes");
    let recorded = items("nodes.json");
    assert_eq!(nodes.items.len(), recorded.len());
    for r in &recorded {
        let served = nodes.items.iter().find(|n| n.metadata.name.as_deref() == Some(&name_of(r))).expect("served");
        assert_eq!(without_rv::<Node>(&serde_json::to_value(served).expect("encodes")), without_rv::<Node>(r));
    }
    // This recording carries no managedFields (kubectl leaves them out of `-o json` unless
    // --show-managed-fields); that they are kept when present is the loader's unit test.
    let pods = Api::<Pod>::all(client).list(&ListParams::default()).await.expect("pods");
    // Renumbered, but in the recorded order and all distinct.
    let rvs: BTreeSet<&str> = pods.items.iter().filter_map(|p| p.metadata.resource_version.as_deref()).collect();
    assert_eq!(rvs.len(), pods.items.len());
}

/// The rows of `kubectl get` with `-A`, by their first name-like column ("pod/x", "node/y").
fn kubectl_rows(out: &str) -> BTreeMap<String, Vec<String>> {
    out.lines()
        .filter_map(|line| {
            let cols: Vec<String> = line.split_whitespace().map(str::to_string).collect();
            let name = cols.iter().find(|c| c.contains('/'))?.clone();
            Some((name, cols))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_lists_the_recorded_pods_daemonsets_and_nodes() {
    // TLS: client-go (so kubectl) never sends a bearer token over plain http.
    let cluster = replaying(true).await;
    let mut cmd = cluster.kubectl();
    cmd.args(["get", "pods,ds,nodes", "-A", "--request-timeout=60s"]);
    let out = success(&run(cmd).await, "kubectl get pods,ds,nodes -A");
    let rows = kubectl_rows(&out);
    // The server reports the recorded version, so kubectl talks to it as to that cluster.
    let mut cmd = cluster.kubectl();
    cmd.args(["version", "-o", "json", "--request-timeout=60s"]);
    let version: Value = serde_json::from_str(&success(&run(cmd).await, "kubectl version")).expect("JSON");
    assert_eq!(version["serverVersion"]["gitVersion"], read_json("version.json")["gitVersion"]);
    let mut want: BTreeSet<String> = BTreeSet::new();
    want.extend(items("pods.json").iter().map(|p| format!("pod/{}", name_of(p))));
    want.extend(items("daemonsets.json").iter().map(|d| format!("daemonset.apps/{}", name_of(d))));
    want.extend(items("nodes.json").iter().map(|n| format!("node/{}", name_of(n))));
    let have: BTreeSet<String> = rows.keys().cloned().collect();
    assert_eq!(have, want, "kubectl's rows against the recording:\n{out}");
    // The DaemonSet rows carry the real controller's counts: NAMESPACE NAME DESIRED CURRENT READY.
    for d in items("daemonsets.json") {
        let row = &rows[&format!("daemonset.apps/{}", name_of(&d))];
        let s = &d["status"];
        let counts: Vec<String> = ["desiredNumberScheduled", "currentNumberScheduled", "numberReady"]
            .iter()
            .map(|f| s[*f].as_i64().unwrap_or(0).to_string())
            .collect();
        assert_eq!(&row[2..5], &counts[..], "{}: DESIRED CURRENT READY", name_of(&d));
    }
}

#[test]
fn a_recording_that_is_not_kubernetes_json_is_refused_naming_the_file() {
    let sandbox = Sandbox::new();
    let bad = sandbox.write("rec/pods.json", "NAME READY STATUS\nagent-x 1/1 Running\n");
    let out = sandbox.run(&["snapshot", "--demo", bad.to_str().expect("utf-8 path"), "-o", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rec/pods.json") && stderr.contains("not Kubernetes JSON"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// `snapshot -o json` of a recording, the real binary replaying it in-process.
fn snapshot_of(sandbox: &Sandbox, dir: &Path) -> Value {
    let out = sandbox.run(&["snapshot", "--demo", dir.to_str().expect("utf-8 path"), "-o", "json"]);
    serde_json::from_str(&success(&out, "daemonscope snapshot --demo DIR")).expect("JSON")
}

#[test]
fn record_then_replay_shows_the_same_fleet_and_strip_leaves_no_values() {
    let sandbox = Sandbox::new();
    let fixture = fixture();
    let fixture_arg = fixture.to_str().expect("utf-8 path");
    for strip in [false, true] {
        let dir = sandbox.path(if strip { "stripped" } else { "plain" });
        let dir_arg = dir.to_str().expect("utf-8 path");
        let mut args = vec!["record", dir_arg, "--demo", fixture_arg];
        if strip {
            args.push("--strip");
        }
        success(&sandbox.run(&args), "daemonscope record");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("the recording")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "controllerrevisions.json",
                "daemonsets.json",
                "events.json",
                "namespaces.json",
                "nodes.json",
                "pods.json",
                "version.json"
            ]
        );
        let version: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("version.json")).expect("read")).expect("JSON");
        assert_eq!(version["gitVersion"], read_json("version.json")["gitVersion"], "the replayed server's version");
        let mut before = snapshot_of(&sandbox, &fixture);
        let mut after = snapshot_of(&sandbox, &dir);
        // Pod ages are not in the JSON; everything else must be the same fleet.
        before["context"] = Value::Null;
        after["context"] = Value::Null;
        assert_eq!(after, before, "strip={strip}: the replayed recording shows the recorded fleet");
        let all: String =
            files.iter().map(|f| std::fs::read_to_string(dir.join(f)).expect("read")).collect::<Vec<_>>().join("\n");
        assert!(!all.contains("\"kind\": \"Secret\"") && !all.contains("\"kind\": \"ConfigMap\""));
        if strip {
            let recorded: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("pods.json")).expect("read")).expect("JSON");
            for pod in recorded["items"].as_array().expect("items") {
                for c in pod["spec"]["containers"].as_array().expect("containers") {
                    for var in c["env"].as_array().into_iter().flatten() {
                        assert!(var.get("value").is_none() && var.get("valueFrom").is_none(), "{var}");
                    }
                }
                let ann = pod["metadata"]["annotations"].as_object().map(|a| a.len()).unwrap_or(0);
                assert_eq!(ann, 0, "annotations stripped from {}", name_of(pod));
            }
        }
    }
}

/// `--replay-live`: the simulator's DaemonSet controller takes over the recorded state. It must
/// recognise the real controller's revisions as the current templates (a real API server
/// writes `"creationTimestamp": null` into them) and so start no rollout of its own.
#[test]
fn live_controllers_adopt_the_recorded_revisions_without_rolling() {
    use daemonscope::sim::controllers::Controllers;
    use daemonscope::sim::{Clock, Kind, Object, Store, replay};

    use std::sync::Arc;

    let store = Store::new(10_000);
    replay::insert(&store, replay::load(&fixture()).expect("the recording loads")).expect("inserted");
    let clock = Arc::new(Clock::new(true));
    // As `sim --replay DIR --replay-live` starts them: behaviours read from the recorded pods.
    let scenario = daemonscope::sim::scenario::Scenario { behaviours_from_pods: true, ..Default::default() };
    let mut ctl = Controllers::new(store.clone(), clock.clone(), Arc::new(scenario), 1, Some(0.0));
    ctl.settle(50);
    for _ in 0..6 {
        clock.advance(5_000);
        ctl.settle(50);
    }
    // The never-ready DaemonSet's pods stay not ready under our kubelet, as recorded.
    for s in store.list(Kind::Pod, Some("fx")).0 {
        let Object::Pod(p) = &*s.obj() else { continue };
        if s.name().starts_with("unready-") && p.spec.as_ref().and_then(|s| s.node_name.as_deref()) != Some("fx-f") {
            let ready = p
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            assert!(!ready, "{} became ready under --replay-live", s.name());
        }
    }
    let names =
        |kind: Kind| -> BTreeSet<String> { store.list(kind, None).0.iter().map(|s| s.name().to_string()).collect() };
    let recorded: BTreeSet<String> = items("controllerrevisions.json").iter().map(name_of).collect();
    assert_eq!(names(Kind::ControllerRevision), recorded, "no revision of our own");
    for ds in items("daemonsets.json") {
        let name = name_of(&ds);
        let stored = store.get(Kind::DaemonSet, "fx", &name).expect("still there");
        let Object::DaemonSet(d) = &*stored.obj() else { panic!("a DaemonSet") };
        let status = d.status.as_ref().expect("status");
        assert_eq!(
            i64::from(status.updated_number_scheduled.unwrap_or(0)),
            ds["status"]["updatedNumberScheduled"].as_i64().unwrap_or(0),
            "{name}: the same pods are up to date as the real controller said"
        );
        assert_eq!(
            i64::from(status.desired_number_scheduled),
            ds["status"]["desiredNumberScheduled"].as_i64().unwrap_or(0),
            "{name}: our controller's desired count against the real one's"
        );
        assert_eq!(
            i64::from(status.number_misscheduled),
            ds["status"]["numberMisscheduled"].as_i64().unwrap_or(0),
            "{name}: our controller's misscheduled count against the real one's"
        );
    }
}

/// The projections decode every recorded object straight from the recorded JSON (real status
/// shapes, as the watch receives them) and keep what the index needs.
#[test]
fn projections_keep_what_the_index_needs_from_every_recorded_object() {
    use daemonscope::cluster::project;
    use daemonscope::cluster::wire::{NodeWire, PodWire};
    use daemonscope::fleet::model::NodeReadiness;

    // The projections name the owning DaemonSet by name (the namespace is the object's own).
    let ds_names: BTreeSet<String> = items("daemonsets.json").iter().map(name_of).collect();
    for v in items("pods.json") {
        let key = ns_name(&v);
        let wire: PodWire = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{key}: {e}"));
        let info = project::pod_info(&wire).unwrap_or_else(|| panic!("{key} projects"));
        let label = |k: &str| v["metadata"]["labels"][k].as_str().map(str::to_string);
        assert_eq!(info.revision_hash, label("controller-revision-hash"), "{key}");
        assert_eq!(info.template_generation, label("pod-template-generation").and_then(|g| g.parse().ok()), "{key}");
        let owner = info.owner.clone().unwrap_or_else(|| panic!("{key}: owned by a DaemonSet"));
        assert!(ds_names.contains(&owner), "{key}: owner {owner} is a recorded DaemonSet");
        assert_eq!(Some(owner.as_str()), v["metadata"]["ownerReferences"][0]["name"].as_str(), "{key}");
        // Bound: spec.nodeName; unbound: the one matchFields value the controller pinned it to.
        let pinned = v["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            ["nodeSelectorTerms"][0]["matchFields"][0]["values"][0]
            .as_str();
        let node = v["spec"]["nodeName"].as_str().or(pinned).map(str::to_string);
        assert_eq!(info.node, node, "{key}: the node it belongs to");
        assert_eq!(info.bound, v["spec"]["nodeName"].is_string(), "{key}");
        assert_eq!(info.deleting, v["metadata"]["deletionTimestamp"].is_string(), "{key}");
        let restarts: i64 = v["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["restartCount"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(i64::from(info.restarts), restarts, "{key}");
        let ready = v["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        assert_eq!(info.ready, ready, "{key}");
    }
    for v in items("nodes.json") {
        let name = name_of(&v);
        let wire: NodeWire = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let info = project::node_info(&wire).unwrap_or_else(|| panic!("{name} projects"));
        assert_eq!(info.taints.len(), v["spec"]["taints"].as_array().map_or(0, Vec::len), "{name}: every taint");
        assert_eq!(info.unschedulable, v["spec"]["unschedulable"] == true, "{name}");
        let cond = v["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Ready")
            .map(|c| c["status"].as_str().unwrap_or("").to_string());
        let want = match cond.as_deref() {
            Some("True") => NodeReadiness::Ready,
            Some("False") => NodeReadiness::NotReady,
            _ => NodeReadiness::Unknown,
        };
        assert_eq!(info.readiness, want, "{name}");
    }
    for v in items("daemonsets.json") {
        let key = ns_name(&v);
        let ds: DaemonSet = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{key}: {e}"));
        let info = project::ds_info(&ds).unwrap_or_else(|| panic!("{key} projects"));
        let s = &v["status"];
        let n = |f: &str| s[f].as_i64().unwrap_or(0);
        assert_eq!(i64::from(info.status.desired), n("desiredNumberScheduled"), "{key}");
        assert_eq!(i64::from(info.status.misscheduled), n("numberMisscheduled"), "{key}");
        assert_eq!(i64::from(info.status.updated), n("updatedNumberScheduled"), "{key}");
        assert_eq!(i64::from(info.status.ready), n("numberReady"), "{key}");
    }
    for v in items("controllerrevisions.json") {
        let key = ns_name(&v);
        let rev: ControllerRevision = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{key}: {e}"));
        let info = project::rev_info(&rev).unwrap_or_else(|| panic!("{key} projects"));
        assert_eq!(Some(info.hash.as_str()), v["metadata"]["labels"]["controller-revision-hash"].as_str(), "{key}");
        assert_eq!(Some(info.revision), v["revision"].as_i64(), "{key}");
        assert!(info.owner.as_ref().is_some_and(|o| ds_names.contains(o)), "{key}: owned by a recorded DaemonSet");
    }
}
