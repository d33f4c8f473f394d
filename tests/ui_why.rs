//! "Why?" in the cluster's own words: the detail panel, `snapshot -o wide` and `check` quote
//! the Warning events and the kubelet's statuses behind a problem cell. The expected words are
//! read with kubectl from the same simulator (an independent client), never from daemonscope.

mod common;

use std::path::{Path, PathBuf};

use common::rig::{Rig, rig_with};
use common::sandbox::Sandbox;
use crossterm::event::KeyCode;
use daemonscope::config::Config;
use daemonscope::fleet::CellState;
use daemonscope::sim::{self, SimOptions};

/// The detail panel's lines as plain text, drawn wide enough that nothing wraps.
fn detail(r: &Rig) -> Vec<String> {
    daemonscope::ui::detail::lines(&r.app, 1000)
        .into_iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>())
        .collect()
}

fn line_with<'a>(lines: &'a [String], key: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.trim_start().starts_with(key))
        .unwrap_or_else(|| panic!("no `{key}` line in the detail panel:\n{}", lines.join("\n")))
}

/// kubectl against the rig's simulator, printing what `args` ask for.
fn kubectl(sandbox: &Sandbox, kubeconfig: &Path, args: &[&str]) -> String {
    let out = sandbox.kubectl(kubeconfig).args(args).output().expect("run kubectl");
    assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The mixed scenario without churn, over TLS (kubectl sends no token over plain HTTP).
fn mixed() -> SimOptions {
    SimOptions { scenario: "mixed".into(), churn: Some(0.0), tls: true, ..SimOptions::default() }
}

/// The message of the first event in `namespace` that `selector` (a field selector) picks,
/// as kubectl prints it.
fn event_message(sandbox: &Sandbox, kubeconfig: &Path, namespace: &str, selector: &str) -> String {
    kubectl(
        sandbox,
        kubeconfig,
        &["get", "events", "-n", namespace, "--field-selector", selector, "-o", "jsonpath={.items[0].message}"],
    )
}

fn kubeconfig(r: &Rig, sandbox: &Sandbox) -> PathBuf {
    sandbox.write("kubeconfig", &r.sim.kubeconfig_yaml())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_cell_quotes_the_failed_create_event_kubectl_lists_and_it_goes_with_the_daemonset() {
    let mut r = rig_with(mixed(), sim::CONTEXT, Config::default()).await;
    let sandbox = Sandbox::new();
    let kc = kubeconfig(&r, &sandbox);
    let message = event_message(
        &sandbox,
        &kc,
        "kube-system",
        "type=Warning,involvedObject.kind=DaemonSet,involvedObject.name=nvidia-device-plugin,reason=FailedCreate",
    );
    assert!(message.starts_with("Error creating: pods \"nvidia-device-plugin-\" is forbidden"), "{message}");
    r.wait_for("the events to list", |a| a.index.listed(daemonscope::fleet::model::StreamKind::Events)).await;
    r.cursor_to("nvidia-device-plugin", CellState::Missing);
    r.key(KeyCode::Enter);
    let lines = detail(&r);
    let why = line_with(&lines, "why");
    assert!(why.contains("no daemon pod: FailedCreate ("), "{why}");
    assert!(why.ends_with(&format!("ago): {message}")), "{why}\nwant the message: {message}");
    assert!(line_with(&lines, "next").contains("the API server refuses the pod"), "{lines:#?}");
    // The column line above the matrix names the column's most frequent warning.
    let screen = common::rig::screen(&r.app);
    assert!(screen.lines().any(|l| l.contains("× FailedCreate: admission webhook")), "{screen}");

    // The DaemonSet goes: its events go with it.
    let held = r.app.index.event_count();
    let id = r.app.index.ds_by_name("kube-system", "nvidia-device-plugin").expect("ds");
    assert!(r.app.index.ds_events(id).count() >= 1);
    kubectl(&sandbox, &kc, &["delete", "ds", "-n", "kube-system", "nvidia-device-plugin", "--wait=false"]);
    r.wait_for("the DaemonSet to go", |a| a.index.ds_by_name("kube-system", "nvidia-device-plugin").is_none()).await;
    assert!(r.app.index.event_count() < held, "events about a deleted DaemonSet are forgotten");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_pod_shows_its_last_exit_and_the_kubelets_back_off_message() {
    let mut r = rig_with(mixed(), sim::CONTEXT, Config::default()).await;
    let sandbox = Sandbox::new();
    let kc = kubeconfig(&r, &sandbox);
    let node = r.cursor_to("datadog-agent", CellState::Failing);
    r.key(KeyCode::Enter);
    let lines = detail(&r);
    let pod = line_with(&lines, "name").trim_start().trim_start_matches("name").trim().to_string();
    let field = |path: &str| {
        kubectl(&sandbox, &kc, &["get", "pod", "-n", "monitoring", &pod, "-o", &format!("jsonpath={path}")])
    };
    assert_eq!(field("{.spec.nodeName}"), node);
    let exit_code = field("{.status.containerStatuses[0].lastState.terminated.exitCode}");
    let exit_reason = field("{.status.containerStatuses[0].lastState.terminated.reason}");
    let waiting = field("{.status.containerStatuses[0].state.waiting.reason}");
    let waiting_message = field("{.status.containerStatuses[0].state.waiting.message}");
    assert_eq!(waiting, "CrashLoopBackOff");
    let why = line_with(&lines, "why");
    assert!(why.starts_with("  why          CrashLoopBackOff; datadog-agent: CrashLoopBackOff"), "{why}");
    assert!(!waiting_message.is_empty(), "the kubelet says why it waits");
    assert!(why.contains(&waiting_message), "{why}\nwant the waiting message {waiting_message:?}");
    assert!(why.contains(&format!("last exit: {exit_reason} (exit {exit_code})")), "{why}");
}

/// `snapshot -o wide` and `check` carry the same why, with the event's words, on one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_wide_and_check_quote_the_event_on_one_line() {
    let cluster = common::sim::SimCluster::start(mixed()).await;
    let message = {
        let out = cluster
            .sandbox
            .kubectl(&cluster.kubeconfig)
            .args([
                "get",
                "events",
                "-n",
                "kube-system",
                "--field-selector",
                "type=Warning,involvedObject.name=nvidia-device-plugin,reason=FailedCreate",
                "-o",
                "jsonpath={.items[0].message}",
            ])
            .output()
            .expect("kubectl");
        String::from_utf8(out.stdout).expect("utf-8")
    };
    assert!(message.contains("is forbidden"), "{message}");
    let wide = cluster.daemonscope().args(["snapshot", "-o", "wide"]).output().expect("run");
    let text = String::from_utf8_lossy(&wide.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("kube-system/nvidia-device-plugin  missing")).collect();
    assert_eq!(lines.len(), 2, "mixed.toml: nvidia-device-plugin is refused on gpu-02 and gpu-04\n{text}");
    for l in &lines {
        assert!(l.contains("no daemon pod: FailedCreate (") && l.ends_with(&message), "{l}");
    }
    let check = cluster.daemonscope().arg("check").output().expect("run");
    assert_eq!(check.status.code(), Some(1));
    let out = String::from_utf8_lossy(&check.stdout);
    let missing: Vec<&str> =
        out.lines().filter(|l| l.contains("\tkube-system/nvidia-device-plugin\tmissing\t")).collect();
    assert_eq!(missing.len(), 2, "{out}");
    assert!(missing.iter().all(|l| l.ends_with(&message)), "{missing:#?}");
    let json = cluster.daemonscope().args(["snapshot", "-o", "json", "--problems"]).output().expect("run");
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let cell = doc["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["daemonset"] == "kube-system/nvidia-device-plugin" && c["state"] == "missing")
        .expect("a missing nvidia cell");
    assert!(cell["why"].as_str().expect("why").ends_with(&message), "{cell}");
    assert_eq!(cell["events"][0]["reason"], "FailedCreate", "{cell}");
    assert_eq!(cell["events"][0]["object"], "daemonset", "{cell}");
    assert_eq!(cell["events"][0]["message"], message.as_str(), "{cell}");
}

/// The case: a namespace `ResourceQuota` on pods leaves daemon pods missing, and the
/// only place the reason lives is the DaemonSet's `FailedCreate` event. small.toml: fluent-bit
/// runs in `logging` on all 4 nodes; a quota of 2 pods, then two of its pods deleted: the
/// controller may not recreate them, and the API server's quota admission says why
/// (plugin/pkg/admission/resourcequota: `exceeded quota: NAME, requested: pods=1, used: pods=2,
/// limited: pods=2`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_quota_leaves_pods_missing_and_the_panel_snapshot_and_check_quote_it() {
    let opts = SimOptions { scenario: "small".into(), churn: Some(0.0), tls: true, ..SimOptions::default() };
    let mut r = rig_with(opts, sim::CONTEXT, Config::default()).await;
    let sandbox = Sandbox::new();
    let kc = kubeconfig(&r, &sandbox);
    kubectl(&sandbox, &kc, &["create", "quota", "pods-limit", "--hard=pods=2", "-n", "logging"]);
    let pods = kubectl(&sandbox, &kc, &["get", "pods", "-n", "logging", "-o", "name"]);
    let doomed: Vec<&str> = pods.lines().take(2).collect();
    assert_eq!(doomed.len(), 2, "{pods}");
    let mut args = vec!["delete", "-n", "logging", "--wait=true"];
    args.extend(doomed.iter().copied());
    kubectl(&sandbox, &kc, &args);
    let want = "Error creating: pods \"fluent-bit-\" is forbidden: exceeded quota: pods-limit, requested: pods=1, \
                used: pods=2, limited: pods=2";
    r.wait_for("two missing fluent-bit cells quoting the quota", |a| {
        let Some(d) = a.index.ds_by_name("logging", "fluent-bit") else { return false };
        let (Some(ds), mut quoted) = (a.index.ds(d), 0) else { return false };
        for n in a.index.node_ids() {
            let (cell, node) = (a.index.cell(n, d), a.index.node(n).expect("node"));
            let why = daemonscope::fleet::why::explain(&a.index, &cell, &ds, &node, a.now);
            if cell.state == CellState::Missing && why.is_some_and(|w| w.text.ends_with(want)) {
                quoted += 1;
            }
        }
        quoted == 2
    })
    .await;
    // kubectl sees the same event.
    let events = kubectl(
        &sandbox,
        &kc,
        &[
            "get",
            "events",
            "-n",
            "logging",
            "--field-selector",
            "reason=FailedCreate",
            "-o",
            "jsonpath={.items[*].message}",
        ],
    );
    assert!(events.contains(want), "{events}");
    // The panel, on a missing cell.
    r.cursor_to("fluent-bit", CellState::Missing);
    r.key(KeyCode::Enter);
    let lines = detail(&r);
    assert!(line_with(&lines, "why").ends_with(&format!("ago): {want}")), "{lines:#?}");
    assert!(line_with(&lines, "next").contains("a ResourceQuota in logging is full"), "{lines:#?}");
    // check and snapshot -o wide, as a cron job would run them.
    let check = sandbox.daemonscope().arg("--kubeconfig").arg(&kc).arg("check").output().expect("check");
    assert_eq!(check.status.code(), Some(1), "{}", String::from_utf8_lossy(&check.stderr));
    let out = String::from_utf8_lossy(&check.stdout);
    let missing: Vec<&str> = out.lines().filter(|l| l.contains("\tlogging/fluent-bit\tmissing\t")).collect();
    assert_eq!(missing.len(), 2, "{out}");
    assert!(missing.iter().all(|l| l.ends_with(want)), "{missing:#?}");
    let wide = sandbox.daemonscope().args(["--kubeconfig"]).arg(&kc).args(["snapshot", "-o", "wide"]).output();
    let wide = String::from_utf8(wide.expect("snapshot").stdout).expect("utf-8");
    assert_eq!(wide.lines().filter(|l| l.contains("logging/fluent-bit") && l.ends_with(want)).count(), 2, "{wide}");
}

/// mixed.toml: node-local-dns on infra-00 is not ready (its readiness probe fails); the
/// kubelet's `Unhealthy` event says how, and the panel quotes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_not_ready_pod_quotes_its_failed_readiness_probe() {
    let mut r = rig_with(mixed(), sim::CONTEXT, Config::default()).await;
    let sandbox = Sandbox::new();
    let kc = kubeconfig(&r, &sandbox);
    r.wait_for("the events to list", |a| a.index.listed(daemonscope::fleet::model::StreamKind::Events)).await;
    r.cursor_to("node-local-dns", CellState::NotReady);
    for _ in 0..r.app.view.rows.len() {
        let node = r.app.cursor_node().and_then(|n| r.app.index.node(n)).map(|n| n.name.to_string());
        if node.as_deref() == Some("infra-00") {
            break;
        }
        r.key(KeyCode::Down);
    }
    r.key(KeyCode::Enter);
    let lines = detail(&r);
    let pod = line_with(&lines, "name").trim_start().trim_start_matches("name").trim().to_string();
    assert!(pod.starts_with("node-local-dns-"), "{lines:#?}");
    let probe = event_message(&sandbox, &kc, "kube-system", &format!("involvedObject.name={pod},reason=Unhealthy"));
    assert!(probe.starts_with("Readiness probe failed"), "{probe}");
    let why = line_with(&lines, "why");
    assert!(why.contains("0/1 containers ready; Unhealthy (") && why.ends_with(&format!("ago): {probe}")), "{why}");
    assert!(line_with(&lines, "next").contains("the readiness probe fails"), "{lines:#?}");
}

/// mixed.toml: general-19's kubelet stopped posting status minutes before time zero; the node
/// lifecycle controller marked its ready pods not ready and said so on each (controller_utils.go
/// MarkPodsNotReady: Warning NodeNotReady "Node is not ready"). The not-ready cells of the row
/// quote what kubectl lists for their pods.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_on_a_lost_node_quote_the_node_controllers_node_not_ready() {
    let mut r = rig_with(mixed(), sim::CONTEXT, Config::default()).await;
    let sandbox = Sandbox::new();
    let kc = kubeconfig(&r, &sandbox);
    let listed = kubectl(
        &sandbox,
        &kc,
        &[
            "get",
            "events",
            "-A",
            "--field-selector",
            "reason=NodeNotReady,involvedObject.kind=Pod",
            "-o",
            "jsonpath={range .items[*]}{.involvedObject.name}|{.source.component}|{.message}{\"\\n\"}{end}",
        ],
    );
    let on_node = kubectl(
        &sandbox,
        &kc,
        &[
            "get",
            "pods",
            "-A",
            "--field-selector",
            "spec.nodeName=general-19",
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ],
    );
    let pods: Vec<&str> = on_node.split_whitespace().collect();
    let mut about: Vec<String> = Vec::new();
    for l in listed.lines() {
        let f: Vec<&str> = l.split('|').collect();
        assert_eq!(f[1..], ["node-controller", "Node is not ready"], "{l}");
        assert!(pods.contains(&f[0]), "NodeNotReady about {} which is not on general-19 ({pods:?})", f[0]);
        about.push(f[0].to_string());
    }
    assert!(!about.is_empty(), "no NodeNotReady for general-19's pods");
    r.wait_for("the not-ready cells of general-19 to quote NodeNotReady", |a| {
        let Some(n) = a.index.node_by_name("general-19") else { return false };
        let node = a.index.node(n).expect("node");
        let (mut cells, mut quoted) = (0, 0);
        for d in a.index.ds_ids() {
            let (cell, ds) = (a.index.cell(n, d), a.index.ds(d).expect("ds"));
            let Some(pod) = &cell.pod else { continue };
            if cell.state != CellState::NotReady || !about.iter().any(|p| p == pod.name) {
                continue;
            }
            cells += 1;
            let why = daemonscope::fleet::why::explain(&a.index, &cell, &ds, &node, a.now);
            if why.is_some_and(|w| w.text.contains("; NodeNotReady (") && w.text.contains("ago): Node is not ready; "))
            {
                quoted += 1;
            }
        }
        cells > 0 && quoted == cells
    })
    .await;
}
