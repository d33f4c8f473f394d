//! Conformance of the simulator with the real `kubectl` binary: discovery, `get` (server-side
//! tables), `get -w`, `-o json`, `delete`, `logs`, and the rollout commands. kubectl must be
//! on PATH (these machines have it at /usr/bin/kubectl); a missing kubectl fails the tests.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::objects::{daemonset, pod, ready_node};
use common::sandbox::Sandbox;
use common::sim::SimCluster;
use daemonscope::sim::{self, SimOptions, StartConfig};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, PostParams};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Longer than the `--timeout=60s` given to kubectl, so its own error is what a failure shows.
const WAIT: Duration = Duration::from_secs(120);

/// A simulator and kubectl pointed at it.
struct Env {
    cluster: SimCluster,
}

async fn env(controllers: bool) -> Env {
    // TLS: client-go (so kubectl) never sends a bearer token over plain http.
    let opts = SimOptions { scenario: sim::EMPTY_SCENARIO.into(), tls: true, ..Default::default() };
    let cfg = StartConfig { controllers, ..StartConfig::default() };
    Env { cluster: SimCluster::start_in(Sandbox::new(), opts, cfg).await }
}

impl Env {
    /// kubectl with a private HOME and cache, so the user's kubectl config stays out of the test.
    fn cmd(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::from(self.cluster.kubectl());
        c.args(args);
        c.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        c
    }

    /// Run kubectl to completion; panics with its stderr when it fails.
    async fn run(&self, args: &[&str]) -> String {
        let out = tokio::time::timeout(WAIT, self.cmd(args).output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish"))
            .expect("kubectl runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "kubectl {args:?} failed: {stderr}\n{stdout}");
        stdout
    }

    async fn run_fail(&self, args: &[&str]) -> String {
        let out =
            tokio::time::timeout(WAIT, self.cmd(args).output()).await.expect("kubectl finishes").expect("kubectl runs");
        assert!(!out.status.success(), "kubectl {args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

async fn seed(e: &Env, with_ds: bool) {
    let c = e.cluster.sim.client().await.expect("client");
    let nodes: Api<Node> = Api::all(c.clone());
    nodes.create(&PostParams::default(), &ready_node("node-1")).await.expect("node");
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    pods.create(&PostParams::default(), &pod("web-1", None, &[("app", "web")])).await.expect("pod");
    if with_ds {
        let dss: Api<DaemonSet> = Api::namespaced(c, "default");
        dss.create(&PostParams::default(), &daemonset("agent", &["agent"])).await.expect("ds");
    }
}

fn has_kubeconfig(p: &Path) -> bool {
    p.is_file()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_gets_nodes_pods_and_daemonsets_in_all_namespaces() {
    let e = env(false).await;
    assert!(has_kubeconfig(&e.cluster.kubeconfig));
    seed(&e, true).await;
    let out = e.run(&["get", "nodes,pods,ds", "-A"]).await;
    assert!(out.contains("node/node-1"), "{out}");
    assert!(out.contains("Ready"), "{out}");
    assert!(out.contains("pod/web-1"), "{out}");
    assert!(out.contains("daemonset.apps/agent"), "{out}");
    assert!(out.contains("NAMESPACE"), "{out}");
    let wide = e.run(&["get", "pods", "-o", "wide"]).await;
    assert!(wide.contains("NODE"), "{wide}");
    let one = e.run(&["get", "pod", "web-1"]).await;
    assert!(one.contains("Pending"), "{one}");
    let missing = e.run_fail(&["get", "pod", "nope"]).await;
    assert!(missing.contains("not found"), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_json_output_round_trips() {
    let e = env(false).await;
    seed(&e, true).await;
    let out = e.run(&["get", "pod", "web-1", "-o", "json"]).await;
    let pod: Pod = serde_json::from_str(&out).expect("kubectl printed a Pod");
    assert_eq!(pod.metadata.name.as_deref(), Some("web-1"));
    let list = e.run(&["get", "ds", "-A", "-o", "json"]).await;
    let v: serde_json::Value = serde_json::from_str(&list).expect("json");
    assert_eq!(v["items"][0]["metadata"]["name"], "agent");
    assert_eq!(v["items"][0]["kind"], "DaemonSet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_watch_sees_a_new_pod() {
    let e = env(false).await;
    seed(&e, false).await;
    let mut child = e.cmd(&["get", "pods", "-w"]).spawn().expect("kubectl -w starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    // The current state first.
    let mut seen_existing = false;
    while !seen_existing {
        let line = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("a line in time")
            .expect("read")
            .expect("a line");
        seen_existing = line.contains("web-1");
    }
    let pods: Api<Pod> = Api::namespaced(e.cluster.sim.client().await.expect("client"), "default");
    pods.create(&PostParams::default(), &pod("web-2", None, &[("app", "web")])).await.expect("create");
    loop {
        let line = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("a line in time")
            .expect("read")
            .expect("a line");
        if line.contains("web-2") {
            assert!(line.contains("Pending"), "{line}");
            break;
        }
    }
    let _ = child.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_deletes_a_pod_and_reads_logs() {
    let e = env(false).await;
    seed(&e, false).await;
    // Controllers are off: write the running state the simulated kubelet would.
    let c = e.cluster.sim.client().await.expect("client");
    let pods: kube::Api<Pod> = kube::Api::namespaced(c, "default");
    let started = e.cluster.sim.clock.now();
    let status = serde_json::json!({"status": {"phase": "Running", "containerStatuses": [{
        "name": "main", "ready": true, "restartCount": 0, "image": "busybox:1", "imageID": "",
        "state": {"running": {"startedAt": started.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()}}
    }]}});
    pods.patch_status("web-1", &Default::default(), &kube::api::Patch::Merge(&status)).await.expect("status patched");
    // Two simulated minutes of output.
    e.cluster.sim.clock.advance(120_000);
    let logs = e.run(&["logs", "web-1"]).await;
    assert!(!logs.trim().is_empty(), "kubectl logs printed the container's lines");
    let out = e.run(&["delete", "pod", "web-1"]).await;
    assert!(out.contains("deleted"), "{out}");
    let after = e.run(&["get", "pods", "-o", "name"]).await;
    assert!(!after.contains("web-1"), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_readonly_context_is_forbidden_to_delete() {
    let e = env(false).await;
    seed(&e, false).await;
    let err = e.run_fail(&["--context", sim::READONLY_CONTEXT, "delete", "pod", "web-1"]).await;
    assert!(err.contains("forbidden"), "{err}");
    e.run(&["--context", sim::READONLY_CONTEXT, "get", "pods"]).await;
}

/// Needs the DaemonSet controller and kubelet (crate::sim::controllers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollout_restart_status_history_undo() {
    let e = env(true).await;
    seed(&e, true).await;
    let status = e.run(&["rollout", "status", "ds/agent", "--timeout=60s"]).await;
    assert!(status.contains("successfully rolled out"), "{status}");
    e.run(&["rollout", "restart", "ds/agent"]).await;
    let status = e.run(&["rollout", "status", "ds/agent", "--timeout=60s"]).await;
    assert!(status.contains("successfully rolled out"), "{status}");
    let history = e.run(&["rollout", "history", "ds/agent"]).await;
    assert!(history.contains('1') && history.contains('2'), "{history}");
    let undo = e.run(&["rollout", "undo", "ds/agent"]).await;
    assert!(undo.contains("rolled back"), "{undo}");
    let ds: DaemonSet = serde_json::from_str(&e.run(&["get", "ds", "agent", "-o", "json"]).await).expect("json");
    let annotations = ds.spec.template.metadata.and_then(|m| m.annotations).unwrap_or_default();
    assert!(!annotations.contains_key("kubectl.kubernetes.io/restartedAt"), "undo restored the first template");
}

/// Needs the DaemonSet controller (it re-creates the deleted daemon pod).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_delete_daemon_pod_is_recreated() {
    let e = env(true).await;
    seed(&e, true).await;
    e.run(&["rollout", "status", "ds/agent", "--timeout=60s"]).await;
    let name = e.run(&["get", "pods", "-l", "app=agent", "-o", "jsonpath={.items[0].metadata.name}"]).await;
    assert!(!name.is_empty());
    e.run(&["delete", "pod", name.trim(), "--timeout=60s"]).await;
    e.run(&["rollout", "status", "ds/agent", "--timeout=60s"]).await;
    let names = e.run(&["get", "pods", "-l", "app=agent", "-o", "name"]).await;
    assert!(!names.trim().is_empty() && !names.contains(name.trim()), "{names}");
}
