//! `snapshot` and `check` end to end: the real binary against the embedded simulator, through
//! kube over HTTP. The JSON must follow DESIGN.md's contract and agree with what the simulator
//! serves (read independently with kube's typed API), and with the `mixed` scenario's story.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

use common::sandbox::Sandbox;
use common::sim::SimCluster;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::ListParams;
use serde_json::Value;

/// The built binary with `args`, in a sandbox of its own.
fn run(args: &[&str]) -> Output {
    Sandbox::new().run(args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

fn parse_json(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(out);
    assert_eq!(text.lines().count(), 1, "one JSON object on one line");
    serde_json::from_str(&text).expect("valid JSON")
}

fn cells(doc: &Value) -> &Vec<Value> {
    doc["cells"].as_array().expect("cells array")
}

/// The contract's fields, no more and no fewer.
fn assert_contract_shape(doc: &Value) {
    let keys = |v: &Value| -> BTreeSet<String> { v.as_object().expect("object").keys().cloned().collect() };
    let set = |names: &[&str]| -> BTreeSet<String> { names.iter().map(|s| s.to_string()).collect() };
    assert_eq!(keys(doc), set(&["context", "nodes", "daemonsets", "cells", "summary"]));
    for n in doc["nodes"].as_array().expect("nodes") {
        assert_eq!(keys(n), set(&["name", "ready", "unschedulable", "taints"]));
    }
    for d in doc["daemonsets"].as_array().expect("daemonsets") {
        assert_eq!(
            keys(d),
            set(&[
                "namespace",
                "name",
                "desired",
                "current",
                "ready",
                "updated",
                "available",
                "revision",
                "desired_by_predicate"
            ])
        );
    }
    for c in cells(doc) {
        assert_eq!(
            keys(c),
            set(&["node", "daemonset", "state", "pod", "why", "hint", "events", "restarts", "revision"])
        );
        let state = c["state"].as_str().expect("state is a string");
        assert!(daemonscope::fleet::CellState::parse(state).is_some(), "unknown state {state}");
        assert_ne!(state, "not-eligible", "not-eligible cells are left out");
    }
    let states = daemonscope::fleet::CellState::ALL.map(|s| s.name());
    let mut summary = set(&states);
    summary.extend(set(&["nodes", "daemonsets", "pods"]));
    assert_eq!(keys(&doc["summary"]), summary);
}

fn cell<'a>(doc: &'a Value, node: &str, ds: &str) -> Option<&'a Value> {
    cells(doc).iter().find(|c| c["node"] == node && c["daemonset"] == ds)
}

/// What the simulator serves, read with kube's typed API (the full objects).
struct Truth {
    nodes: BTreeSet<String>,
    /// "ns/name" → (desired, current, ready, updated, available).
    daemonsets: BTreeMap<String, (i32, i32, i32, i32, i32)>,
    /// (node, "ns/ds") → pod names.
    pods: BTreeMap<(String, String), BTreeSet<String>>,
}

async fn truth(client: kube::Client) -> Truth {
    let nodes: Api<Node> = Api::all(client.clone());
    let nodes = nodes.list(&ListParams::default()).await.expect("list nodes");
    let dss: Api<DaemonSet> = Api::all(client.clone());
    let dss = dss.list(&ListParams::default()).await.expect("list daemonsets");
    let pods: Api<Pod> = Api::all(client);
    let pods = pods.list(&ListParams::default().labels("pod-template-generation")).await.expect("list pods");
    let mut out = Truth { nodes: BTreeSet::new(), daemonsets: BTreeMap::new(), pods: BTreeMap::new() };
    for n in nodes {
        out.nodes.insert(n.metadata.name.unwrap_or_default());
    }
    for d in dss {
        let key = format!("{}/{}", d.metadata.namespace.unwrap_or_default(), d.metadata.name.unwrap_or_default());
        let s = d.status.unwrap_or_default();
        out.daemonsets.insert(
            key,
            (
                s.desired_number_scheduled,
                s.current_number_scheduled,
                s.number_ready,
                s.updated_number_scheduled.unwrap_or(0),
                s.number_available.unwrap_or(0),
            ),
        );
    }
    for p in pods {
        let owner = p
            .metadata
            .owner_references
            .unwrap_or_default()
            .into_iter()
            .find(|o| o.kind == "DaemonSet" && o.controller == Some(true))
            .map(|o| o.name);
        let (Some(owner), Some(node)) = (owner, p.spec.and_then(|s| s.node_name)) else { continue };
        let ds = format!("{}/{}", p.metadata.namespace.unwrap_or_default(), owner);
        out.pods.entry((node, ds)).or_default().insert(p.metadata.name.unwrap_or_default());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_json_of_mixed_matches_the_simulators_truth() {
    // A frozen clock: the cluster changes only through requests, so the snapshot and the
    // typed reads below see the same objects.
    let cluster = SimCluster::start(common::sim::frozen("mixed")).await;
    let mut cmd = cluster.daemonscope();
    cmd.args(["snapshot", "-o", "json"]);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run daemonscope")).await.expect("join");
    let doc = parse_json(&out);
    let truth = truth(cluster.sim.client().await.expect("client")).await;
    cluster.sim.shutdown().await;

    assert_contract_shape(&doc);
    assert_eq!(doc["context"], "daemonscope-sim");

    let nodes: BTreeSet<String> =
        doc["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(nodes, truth.nodes);
    assert_eq!(doc["summary"]["nodes"], truth.nodes.len());

    let dss: BTreeMap<String, (i32, i32, i32, i32, i32)> = doc["daemonsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let n = |k: &str| d[k].as_i64().unwrap() as i32;
            (
                format!("{}/{}", d["namespace"].as_str().unwrap(), d["name"].as_str().unwrap()),
                (n("desired"), n("current"), n("ready"), n("updated"), n("available")),
            )
        })
        .collect();
    assert_eq!(dss, truth.daemonsets, "every DaemonSet with its status counters");

    // Every (node, DaemonSet) that has a pod on the server is a cell naming one of its pods,
    // and no cell names a pod the server does not have.
    let with_pods: BTreeMap<(String, String), String> = cells(&doc)
        .iter()
        .filter(|c| !c["pod"].is_null())
        .map(|c| {
            (
                (c["node"].as_str().unwrap().to_string(), c["daemonset"].as_str().unwrap().to_string()),
                c["pod"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(with_pods.keys().collect::<BTreeSet<_>>(), truth.pods.keys().collect::<BTreeSet<_>>());
    for (key, pod) in &with_pods {
        assert!(truth.pods[key].contains(pod), "{pod} at {key:?}");
    }
    let pod_count: usize = truth.pods.values().map(BTreeSet::len).sum();
    assert_eq!(doc["summary"]["pods"], pod_count);

    // Cells per state add up to nodes x DaemonSets.
    let total: u64 =
        daemonscope::fleet::CellState::ALL.iter().map(|s| doc["summary"][s.name()].as_u64().unwrap()).sum();
    assert_eq!(total as usize, truth.nodes.len() * truth.daemonsets.len());

    assert_mixed_story(&doc);
}

/// The situations `assets/scenarios/mixed.toml` describes, as the matrix must show them.
fn assert_mixed_story(doc: &Value) {
    let gpu_nodes: Vec<&str> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["name"].as_str())
        .filter(|n| n.starts_with("gpu-"))
        .collect();
    assert_eq!(gpu_nodes.len(), 6);
    // ebs-csi-node is kept off the GPU pool by nodeSelector: no cell there at all.
    for node in &gpu_nodes {
        assert!(cell(doc, node, "kube-system/ebs-csi-node").is_none(), "ebs-csi-node on {node}");
    }
    // datadog-agent crash-loops on general-03, -11, -22.
    for node in ["general-03", "general-11", "general-22"] {
        let c = cell(doc, node, "monitoring/datadog-agent").expect("datadog cell");
        assert_eq!(c["state"], "failing", "{c}");
        assert!(c["why"].as_str().unwrap().contains("CrashLoopBackOff"), "{c}");
        assert!(c["restarts"].as_u64().unwrap() > 0, "{c}");
    }
    // The image pull failure on infra-01.
    assert_eq!(cell(doc, "infra-01", "kube-system/ebs-csi-node").unwrap()["state"], "failing");
    // Creation is rejected on gpu-02 and gpu-04: the device plugin is missing there.
    for node in ["gpu-02", "gpu-04"] {
        assert_eq!(cell(doc, node, "kube-system/nvidia-device-plugin").unwrap()["state"], "missing");
    }
    // general-19 is NotReady: the node says so and none of its pods is ready.
    let n19 = doc["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "general-19").unwrap();
    assert_eq!(n19["ready"], false);
    let n19_cells: Vec<&Value> = cells(doc).iter().filter(|c| c["node"] == "general-19").collect();
    assert!(!n19_cells.is_empty());
    for c in n19_cells {
        assert_ne!(c["state"], "ready", "{c}");
    }
    // infra-04 is cordoned.
    let n4 = doc["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "infra-04").unwrap();
    assert_eq!(n4["unschedulable"], true);
    // falco (OnDelete) has outdated pods.
    assert!(cells(doc).iter().any(|c| c["daemonset"] == "security/falco" && c["state"] == "outdated"));
}

#[test]
fn snapshot_json_with_demo_mixed_follows_the_contract() {
    let doc = parse_json(&run(&["snapshot", "-o", "json", "--demo", "mixed"]));
    assert_contract_shape(&doc);
    assert_eq!(doc["summary"]["nodes"], 40);
    assert_eq!(doc["nodes"].as_array().unwrap().len(), 40);
    assert_mixed_story(&doc);
}

#[test]
fn snapshot_json_problems_only_lists_only_problem_cells() {
    let doc = parse_json(&run(&["snapshot", "-o", "json", "--problems", "--demo", "mixed"]));
    assert!(!cells(&doc).is_empty());
    for c in cells(&doc) {
        let state = daemonscope::fleet::CellState::parse(c["state"].as_str().unwrap()).unwrap();
        assert!(state.is_problem(), "{c}");
    }
}

#[test]
fn snapshot_table_of_small_is_healthy_and_plain_text() {
    let out = run(&["snapshot", "--demo", "small", "--ascii"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.is_ascii(), "{text}");
    assert!(!text.contains('\x1b'), "no escape codes in headless output");
    assert!(text.lines().next().unwrap().starts_with("context daemonscope-sim - 4 nodes"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("summary: ready ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("legend: ")), "{text}");
}

#[test]
fn snapshot_wide_of_mixed_explains_problem_cells() {
    let out = run(&["snapshot", "-o", "wide", "--demo", "mixed"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("general-03 ") && l.contains("datadog-agent") && l.contains("CrashLoopBackOff")),
        "{text}"
    );
}

#[test]
fn check_small_is_healthy() {
    let out = run(&["check", "--demo", "small"]);
    assert_eq!(out.status.code(), Some(0), "stdout: {}", stdout(&out));
    assert!(out.stdout.is_empty());
}

fn check_lines(out: &Output) -> Vec<String> {
    stdout(out).lines().map(str::to_string).collect()
}

#[test]
fn check_mixed_exits_1_with_one_line_per_problem() {
    let out = run(&["check", "--demo", "mixed"]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let lines = check_lines(&out);
    assert!(!lines.is_empty());
    for line in &lines {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 4, "{line:?}");
        let state = daemonscope::fleet::CellState::parse(fields[2]).expect("state name");
        assert!(state.is_problem() && state != daemonscope::fleet::CellState::Outdated, "{line}");
    }
    assert!(lines.iter().any(|l| l.starts_with("general-03\tmonitoring/datadog-agent\tfailing\t")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("gpu-02\tkube-system/nvidia-device-plugin\tmissing\t")), "{lines:#?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("daemonscope: ") && stderr.contains(" failing cells on "), "{stderr}");
}

/// The (node, "ns/daemonset") cells of mixed that are outdated and nothing worse, read from the
/// server with kube's typed API by Kubernetes' rule: the pod's `controller-revision-hash` is
/// not the hash of its DaemonSet's newest ControllerRevision, while the pod is Ready, not being
/// deleted, on a Ready node (anything else is a worse state than outdated).
async fn outdated_truth(client: kube::Client) -> BTreeSet<(String, String)> {
    use k8s_openapi::api::apps::v1::ControllerRevision;
    let revs: Api<ControllerRevision> = Api::all(client.clone());
    let mut newest: BTreeMap<String, (i64, String)> = BTreeMap::new();
    for r in revs.list(&ListParams::default()).await.expect("list revisions") {
        let Some(owner) = r.metadata.owner_references.unwrap_or_default().into_iter().find(|o| o.kind == "DaemonSet")
        else {
            continue;
        };
        let key = format!("{}/{}", r.metadata.namespace.unwrap_or_default(), owner.name);
        let hash = r.metadata.labels.unwrap_or_default().get("controller-revision-hash").cloned().unwrap_or_default();
        let revision = r.revision.unwrap_or_default();
        if newest.get(&key).is_none_or(|(rev, _)| *rev < revision) {
            newest.insert(key, (revision, hash));
        }
    }
    let nodes: Api<Node> = Api::all(client.clone());
    let ready_nodes: BTreeSet<String> = nodes
        .list(&ListParams::default())
        .await
        .expect("list nodes")
        .into_iter()
        .filter(|n| {
            n.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .filter_map(|n| n.metadata.name)
        .collect();
    let pods: Api<Pod> = Api::all(client);
    let mut out = BTreeSet::new();
    for p in pods.list(&ListParams::default().labels("controller-revision-hash")).await.expect("list pods") {
        let Some(owner) =
            p.metadata.owner_references.clone().unwrap_or_default().into_iter().find(|o| o.kind == "DaemonSet")
        else {
            continue;
        };
        let key = format!("{}/{}", p.metadata.namespace.clone().unwrap_or_default(), owner.name);
        let hash = p.metadata.labels.clone().unwrap_or_default().get("controller-revision-hash").cloned();
        let node = p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
        let ready = p
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        let old = newest.get(&key).is_some_and(|(_, h)| Some(h) != hash.as_ref());
        if old && ready && p.metadata.deletion_timestamp.is_none() && ready_nodes.contains(&node) {
            out.insert((node, key));
        }
    }
    out
}

fn cells_of(lines: &[String]) -> Vec<(String, String, String)> {
    lines
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "{l:?}");
            (f[0].to_string(), f[1].to_string(), f[2].to_string())
        })
        .collect()
}

/// `check` on the mixed story: by default outdated cells do not fail (they are counted in the
/// summary), `--fail-on outdated` fails on exactly those, and the summary comes first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fail_on_chooses_what_fails_on_mixed() {
    let cluster = SimCluster::start(common::sim::frozen("mixed")).await;
    let run_check = |args: &[&str]| {
        let mut cmd = cluster.daemonscope();
        cmd.arg("check").args(args);
        async move { tokio::task::spawn_blocking(move || cmd.output().expect("run daemonscope")).await.expect("join") }
    };
    // The clock is frozen, but on a loaded machine the simulator may still settle a pod while
    // the checks run: compare only runs the server's truth was the same before and after.
    let client = cluster.sim.client().await.expect("client");
    let mut stable = None;
    for _ in 0..5 {
        let before = outdated_truth(client.clone()).await;
        let default = run_check(&[]).await;
        let outdated = run_check(&["--fail-on", "outdated"]).await;
        let after = outdated_truth(client.clone()).await;
        if before == after {
            stable = Some((default, outdated, after));
            break;
        }
    }
    let (default, outdated, truth) = stable.expect("the simulator's outdated cells stayed the same over a run");
    let others =
        run_check(&["--fail-on", "outdated", "--ignore-ds", "falco", "--ignore-ds", "logging/fluent-bit"]).await;
    cluster.sim.shutdown().await;

    // mixed.toml: falco (OnDelete, half updated) and fluent-bit (a rollout 30% through) run
    // older revisions on some nodes; no other DaemonSet has an update in flight.
    assert!(truth.iter().any(|(_, ds)| ds == "security/falco"), "{truth:#?}");
    assert!(truth.iter().all(|(_, ds)| ds == "security/falco" || ds == "logging/fluent-bit"), "{truth:#?}");

    // Default: exit 1 for the crash loops, the image pull and the rejected creations, none of
    // them outdated; missing first (most severe), and the summary line counts the outdated.
    assert_eq!(default.status.code(), Some(1));
    let lines = cells_of(&check_lines(&default));
    assert!(lines.iter().all(|(_, _, state)| state != "outdated"), "{lines:#?}");
    for (node, ds, state) in [
        ("gpu-02", "kube-system/nvidia-device-plugin", "missing"),
        ("gpu-04", "kube-system/nvidia-device-plugin", "missing"),
        ("general-03", "monitoring/datadog-agent", "failing"),
        ("general-11", "monitoring/datadog-agent", "failing"),
        ("general-22", "monitoring/datadog-agent", "failing"),
        ("infra-01", "kube-system/ebs-csi-node", "failing"),
    ] {
        assert!(lines.contains(&(node.into(), ds.into(), state.into())), "{node} {ds} {state} in {lines:#?}");
    }
    assert_eq!(lines[0].2, "missing", "{lines:#?}");
    let stderr = String::from_utf8_lossy(&default.stderr);
    let summary = stderr.lines().next().expect("a summary line");
    assert!(summary.starts_with(&format!("daemonscope: {} failing cells on ", lines.len())), "{stderr}");
    assert!(summary.contains(&format!("not failing: outdated {}", truth.len())), "{stderr} (truth: {})", truth.len());

    // --fail-on outdated: exactly the outdated cells, nothing else.
    assert_eq!(outdated.status.code(), Some(1), "{}", String::from_utf8_lossy(&outdated.stderr));
    let got: BTreeSet<(String, String)> = cells_of(&check_lines(&outdated))
        .into_iter()
        .map(|(node, ds, state)| {
            assert_eq!(state, "outdated");
            (node, ds)
        })
        .collect();
    assert_eq!(got, truth);

    // Without the two DaemonSets that have older revisions out there, nothing is outdated.
    assert_eq!(others.status.code(), Some(0), "{}", String::from_utf8_lossy(&others.stderr));
    assert!(others.stdout.is_empty() && others.stderr.is_empty());
}

#[test]
fn check_ignore_ds_removes_its_lines() {
    let all = check_lines(&run(&["check", "--demo", "mixed"]));
    let out = run(&["check", "--demo", "mixed", "--ignore-ds", "monitoring/datadog-agent", "--ignore-ds", "falco"]);
    let some = check_lines(&out);
    assert!(all.iter().any(|l| l.contains("\tmonitoring/datadog-agent\t")));
    assert!(all.iter().any(|l| l.contains("\tsecurity/falco\t")));
    assert!(!some.iter().any(|l| l.contains("\tmonitoring/datadog-agent\t") || l.contains("\tsecurity/falco\t")));
    assert!(!some.is_empty(), "other problems remain");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn check_ignore_node_label_removes_those_nodes() {
    let out = run(&["check", "--demo", "mixed", "--ignore-node-label", "pool=gpu"]);
    let lines = check_lines(&out);
    assert!(!lines.is_empty());
    assert!(!lines.iter().any(|l| l.starts_with("gpu-")), "{lines:#?}");
}

#[test]
fn check_against_an_unreachable_server_exits_2() {
    let sandbox = Sandbox::new();
    let kc = sandbox.write(
        "kc.yaml",
        "apiVersion: v1\nkind: Config\ncurrent-context: x\nclusters:\n- name: c\n  cluster: {server: \"http://127.0.0.1:1\"}\n\
         contexts:\n- name: x\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user: {token: t}\n",
    );
    let out = sandbox.daemonscope().arg("--kubeconfig").arg(&kc).arg("check").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("daemonscope: cannot reach http://127.0.0.1:1"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn demo_with_an_unknown_scenario_is_one_line_exit_2() {
    let out = run(&["check", "--demo", "no-such-scenario"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("daemonscope: cannot start the demo cluster"), "{stderr}");
}
