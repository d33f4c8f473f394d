//! Degrade, don't hide, under RBAC: a user with the namespace-scoped `view` role (pods,
//! DaemonSets, revisions and events in `monitoring`; no nodes) sees the failing pods, rows made
//! from the pods' nodes, and cells without a pod as unknown with the reason, never
//! "no problem cells" and never a made-up missing verdict. The expected facts are read with
//! kubectl as the cluster admin from the same simulator, never from daemonscope.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::rig::{Rig, rig_in, screen};
use common::sandbox::Sandbox;
use crossterm::event::KeyCode;
use daemonscope::config::Config;
use daemonscope::fleet::CellState;
use daemonscope::fleet::model::StreamKind;
use daemonscope::sim::{self, SimOptions};

const NS: &str = "monitoring";

fn kubectl(sandbox: &Sandbox, kubeconfig: &Path, args: &[&str]) -> String {
    let out = sandbox.kubectl(kubeconfig).args(args).output().expect("run kubectl");
    assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// (pod, DaemonSet, node, STATUS) of every pod in the namespace, as the admin's kubectl lists them.
fn pods(sandbox: &Sandbox, kc: &Path) -> Vec<(String, String, String, String)> {
    let out = kubectl(sandbox, kc, &["get", "pods", "-n", NS, "-o", "wide", "--no-headers"]);
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let ds = f[0].rsplit_once('-').map(|(d, _)| d.to_string()).expect("daemon pod name");
            // NAME READY STATUS RESTARTS [(AGE ago)] AGE IP NODE …: the node is 3rd from the end
            // of the fixed columns (NOMINATED NODE and READINESS GATES follow it).
            (f[0].to_string(), ds, f[f.len() - 3].to_string(), f[2].to_string())
        })
        .collect()
}

fn cell(r: &Rig, node: &str, ds: &str) -> CellState {
    let n = r.app.index.node_by_name(node).unwrap_or_else(|| panic!("no row {node}"));
    let d = r.app.index.ds_by_name(NS, ds).unwrap_or_else(|| panic!("no column {ds}"));
    r.app.index.cell_state(n, d)
}

fn detail(r: &Rig) -> String {
    daemonscope::ui::detail::lines(&r.app, 1000)
        .into_iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_viewer_without_nodes_sees_failing_pods_and_unknown_never_no_problem_cells() {
    let opts = SimOptions { scenario: "mixed".into(), churn: Some(0.0), tls: true, ..SimOptions::default() };
    let mut r = rig_in(opts, sim::NS_VIEW_CONTEXT, Some(NS), Config::default()).await;
    let sandbox = Sandbox::new();
    let kc = sandbox.write("kubeconfig", &r.sim.kubeconfig_yaml());
    let listed = pods(&sandbox, &kc);
    assert!(listed.len() > 10, "{listed:?}");

    // Nodes are forbidden; the rows are the nodes kubectl shows the pods on.
    assert!(r.app.index.denied(StreamKind::Nodes));
    let rows: BTreeSet<String> =
        r.app.index.node_ids().into_iter().filter_map(|id| r.app.index.node(id)).map(|n| n.name.to_string()).collect();
    let want: BTreeSet<String> = listed.iter().map(|p| p.2.clone()).collect();
    assert_eq!(rows, want);
    let s = r.app.index.summary();
    assert_eq!((s.nodes_unknown, s.nodes_ready), (want.len() as u32, 0), "no readiness is made up");

    // Every pod kubectl shows crash-looping is a failing cell, the rest ready.
    let crashing: Vec<_> = listed.iter().filter(|p| p.3 == "CrashLoopBackOff").collect();
    assert!(!crashing.is_empty(), "the mixed scenario crash-loops some datadog-agent pods: {listed:?}");
    for (pod, ds, node, status) in &listed {
        let want = if status == "CrashLoopBackOff" { CellState::Failing } else { CellState::Ready };
        assert_eq!(cell(&r, node, ds), want, "{pod} on {node}: {status}");
    }
    assert_eq!(s.cells[CellState::Missing.idx()], 0, "no missing verdict without the nodes");
    let text = screen(&r.app);
    assert!(!text.contains("no problem cells"), "{text}");
    assert!(text.contains(&format!("{} failing", crashing.len())), "{text}");
    assert!(text.contains("nodes forbidden: rows from pods, ? unknown"), "the matrix says why:\n{text}");
    assert!(text.contains(&format!("{} unknown", want.len())), "the header counts the unknown nodes:\n{text}");
    assert!(text.contains("403 listing nodes"), "the header names the refused list:\n{text}");

    // The admin fills the namespace's pod quota and deletes one node-exporter pod: the
    // controller cannot replace it. For the viewer the cell is unknown (not missing), and the
    // why quotes the controller's refusal as kubectl lists it.
    let (victim, _, node, _) = listed.iter().find(|p| p.1 == "node-exporter").expect("a node-exporter pod").clone();
    kubectl(&sandbox, &kc, &["create", "quota", "pods-limit", "-n", NS, &format!("--hard=pods={}", listed.len() - 1)]);
    kubectl(&sandbox, &kc, &["delete", "pod", "-n", NS, &victim, "--wait=false"]);
    let ds_id = r.app.index.ds_by_name(NS, "node-exporter").expect("column");
    r.wait_for("the refusal to be seen", |a| {
        a.index.ds_events(ds_id).any(|e| &*e.reason == "FailedCreate")
            && a.index.node_by_name(&node).is_some_and(|n| a.index.cell_state(n, ds_id) == CellState::Unknown)
    })
    .await;
    let message = kubectl(
        &sandbox,
        &kc,
        &[
            "get",
            "events",
            "-n",
            NS,
            "--field-selector",
            "involvedObject.name=node-exporter,reason=FailedCreate",
            "-o",
            "jsonpath={.items[0].message}",
        ],
    );
    assert!(message.contains("exceeded quota: pods-limit"), "{message}");
    assert_eq!(r.app.index.summary().cells[CellState::Missing.idx()], 0);
    r.cursor_to("node-exporter", CellState::Unknown);
    r.key(KeyCode::Enter);
    let panel = detail(&r);
    assert!(
        panel.contains(&format!("no daemon pod seen on {node}, and whether one should run there is unknown")),
        "{panel}"
    );
    assert!(panel.contains(&message), "the why quotes the refusal kubectl lists:\n{panel}\nwant: {message}");
    assert!(panel.contains("ask for list/watch on nodes"), "{panel}");
    assert!(panel.contains("only from its pods: nodes cannot be listed"), "{panel}");
}

/// The same viewer on all namespaces (the scope a context switch keeps): nothing can be listed
/// there, and the screen says so and what to do, never "DaemonSets 0  pods 0" and an empty fleet;
/// the namespace picker (whose own list is forbidden too) offers the context's namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_viewer_on_all_namespaces_is_told_and_offered_its_namespace() {
    let opts = SimOptions { scenario: "mixed".into(), churn: Some(0.0), tls: true, ..SimOptions::default() };
    let mut r = rig_in(opts, sim::NS_VIEW_CONTEXT, None, Config::default()).await;
    let sandbox = Sandbox::new();
    let kc = sandbox.write("kubeconfig", &r.sim.kubeconfig_yaml());
    // kubectl, as this user, is refused the same lists, and reads the context's namespace.
    let out =
        sandbox.kubectl(&kc).args(["--context", sim::NS_VIEW_CONTEXT, "get", "ds", "-A"]).output().expect("kubectl");
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("Forbidden"), "{out:?}");
    let jsonpath = format!("jsonpath={{.contexts[?(@.name==\"{}\")].context.namespace}}", sim::NS_VIEW_CONTEXT);
    let home = kubectl(&sandbox, &kc, &["config", "view", "-o", &jsonpath]);
    assert_eq!(home, NS);

    assert!(r.app.index.denied(StreamKind::DaemonSets) && r.app.index.denied(StreamKind::Pods));
    let text = screen(&r.app);
    assert!(text.contains("DaemonSets ?") && text.contains("pods ?"), "unknown counts, not zero:\n{text}");
    assert!(text.contains("Forbidden: DaemonSets and pods in all namespaces. Press n"), "{text}");

    r.key(KeyCode::Char('n'));
    r.wait_for("the namespace picker's answer", |a| screen(a).contains("the context's namespace")).await;
    r.key(KeyCode::Down);
    r.key(KeyCode::Enter);
    r.wait_for("the namespace's fleet", |a| a.namespace.as_deref() == Some(NS) && a.index.summary().pods > 0).await;
    let text = screen(&r.app);
    assert!(!text.contains("Forbidden: DaemonSets"), "{text}");
}
