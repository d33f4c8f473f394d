//! The headless renderers on a hand-built fleet (no cluster): the JSON contract of DESIGN.md,
//! the table's shape, and `check`'s lines, ignores and grace period.

use std::collections::BTreeMap;

use daemonscope::cli::CheckArgs;
use daemonscope::fleet::model::{
    Change, DsInfo, DsStatusCounts, FleetEvent, NodeInfo, NodeReadiness, Phase, PodInfo, RevInfo, StreamKind,
    StreamState, UpdateStrategy,
};
use daemonscope::fleet::schedule::{PodSchedSpec, Taint, TaintEffect};
use daemonscope::fleet::{CellState, Index};
use daemonscope::headless::check::{CheckFilter, problems};
use daemonscope::headless::{json, table};
use daemonscope::theme::ThemeSet;

const NOW: i64 = 1_700_000_000;
const OLD: i64 = NOW - 86_400;

fn node(name: &str, pool: &str, readiness: NodeReadiness, taints: Vec<Taint>) -> NodeInfo {
    let mut labels = BTreeMap::new();
    labels.insert("pool".to_string(), pool.to_string());
    NodeInfo {
        name: name.into(),
        labels,
        taints,
        unschedulable: false,
        readiness,
        created: OLD,
        pressures: vec![],
        kubelet_version: "v1.30.4".into(),
        since: Vec::new(),
    }
}

fn ds(ns: &str, name: &str, selector: &[(&str, &str)], desired: i32) -> DsInfo {
    DsInfo {
        namespace: ns.into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        generation: 2,
        created: OLD,
        sched: PodSchedSpec {
            node_selector: selector.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..PodSchedSpec::default()
        },
        status: DsStatusCounts {
            desired,
            current: desired,
            ready: desired,
            updated: desired,
            available: desired,
            ..DsStatusCounts::default()
        },
        strategy: UpdateStrategy::RollingUpdate { max_unavailable: "1".into(), max_surge: "0".into() },
        selector: format!("app={name}"),
        containers: vec![name.into()],
        init_containers: vec![],
        images: vec![format!("registry.example/{name}:2")],
    }
}

fn rev(ns: &str, ds: &str, revision: i64, hash: &str) -> RevInfo {
    RevInfo {
        namespace: ns.into(),
        name: format!("{ds}-{hash}"),
        owner: Some(ds.into()),
        revision,
        hash: hash.into(),
        created: OLD,
        change_cause: None,
        images: vec![],
    }
}

struct PodSpec<'a> {
    ds: &'a str,
    node: &'a str,
    hash: &'a str,
    reason: &'a str,
    ready: bool,
    restarts: u32,
    created: i64,
}

fn pod(ns: &str, p: PodSpec<'_>) -> PodInfo {
    PodInfo {
        namespace: ns.into(),
        name: format!("{}-{}", p.ds, p.node),
        uid: format!("uid-{}-{}", p.ds, p.node),
        owner: Some(p.ds.into()),
        node: Some(p.node.into()),
        bound: true,
        revision_hash: Some(p.hash.into()),
        template_generation: None,
        created: p.created,
        deleting: false,
        phase: if p.reason == "ContainerCreating" { Phase::Pending } else { Phase::Running },
        reason: p.reason.into(),
        ready: p.ready,
        containers_ready: u16::from(p.ready),
        containers_total: 1,
        restarts: p.restarts,
        last_termination: if p.restarts > 0 { Some("Error".into()) } else { None },
        last_restart: None,
        detail: None,
    }
}

/// Three nodes (one NotReady with the node controller's taints, one in the gpu pool) and three
/// DaemonSets: `kube-system/proxy` everywhere (crash-looping on gpu-1, misscheduled on the
/// NotReady node), `monitoring/agent` only on pool=general (one pod outdated), and
/// `kube-system/logs` with one pod just starting on gpu-1 and none on general-1 (missing).
fn fleet() -> Index {
    let unreachable = vec![
        Taint { key: "node.kubernetes.io/unreachable".into(), value: String::new(), effect: TaintEffect::NoExecute },
        Taint { key: "node.kubernetes.io/unreachable".into(), value: String::new(), effect: TaintEffect::NoSchedule },
    ];
    let mut events = vec![FleetEvent::Node(Change::Init)];
    for n in [
        node("general-1", "general", NodeReadiness::Ready, vec![]),
        node("general-2", "general", NodeReadiness::NotReady, unreachable),
        node("gpu-1", "gpu", NodeReadiness::Ready, vec![]),
    ] {
        events.push(FleetEvent::Node(Change::InitItem(n)));
    }
    events.push(FleetEvent::Node(Change::InitDone));
    events.push(FleetEvent::DaemonSet(Change::Init));
    for d in [
        ds("kube-system", "proxy", &[], 3),
        ds("monitoring", "agent", &[("pool", "general")], 2),
        ds("kube-system", "logs", &[], 3),
    ] {
        events.push(FleetEvent::DaemonSet(Change::InitItem(d)));
    }
    events.push(FleetEvent::DaemonSet(Change::InitDone));
    events.push(FleetEvent::Revision(Change::Init));
    for r in [
        rev("kube-system", "proxy", 1, "p1"),
        rev("monitoring", "agent", 1, "a1"),
        rev("monitoring", "agent", 2, "a2"),
        rev("kube-system", "logs", 1, "l1"),
    ] {
        events.push(FleetEvent::Revision(Change::InitItem(r)));
    }
    events.push(FleetEvent::Revision(Change::InitDone));
    events.push(FleetEvent::Pod(Change::Init));
    let p = |ds, node, hash, reason, ready, restarts| PodSpec { ds, node, hash, reason, ready, restarts, created: OLD };
    for (ns, spec) in [
        ("kube-system", p("proxy", "general-1", "p1", "Running", true, 0)),
        ("kube-system", p("proxy", "general-2", "p1", "Running", false, 0)),
        ("kube-system", p("proxy", "gpu-1", "p1", "CrashLoopBackOff", false, 7)),
        ("monitoring", p("agent", "general-1", "a1", "Running", true, 0)),
        ("monitoring", p("agent", "general-2", "a2", "Running", true, 0)),
        ("kube-system", PodSpec { created: NOW - 10, ..p("logs", "gpu-1", "l1", "ContainerCreating", false, 0) }),
    ] {
        events.push(FleetEvent::Pod(Change::InitItem(pod(ns, spec))));
    }
    events.push(FleetEvent::Pod(Change::InitDone));
    for kind in StreamKind::ALL {
        events.push(FleetEvent::Stream { kind, state: StreamState::Live, at: NOW });
    }
    let mut index = Index::new();
    for ev in events {
        index.apply(ev);
    }
    assert!(index.synced());
    index
}

fn state_of(doc: &serde_json::Value, node: &str, ds: &str) -> Option<String> {
    doc["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["node"] == node && c["daemonset"] == ds)
        .map(|c| c["state"].as_str().expect("state").to_string())
}

fn json_doc(index: &Index, problems_only: bool) -> serde_json::Value {
    let mut buf = Vec::new();
    json::write(index, "test-ctx", problems_only, NOW, &mut buf).expect("write json");
    let text = String::from_utf8(buf).expect("utf-8");
    assert_eq!(text.lines().count(), 1, "one JSON object on one line");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn json_has_exactly_the_contract_fields() {
    let doc = json_doc(&fleet(), false);
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&doc), ["cells", "context", "daemonsets", "nodes", "summary"]);
    assert_eq!(doc["context"], "test-ctx");
    assert_eq!(keys(&doc["nodes"][0]), ["name", "ready", "taints", "unschedulable"]);
    assert_eq!(
        keys(&doc["daemonsets"][0]),
        [
            "available",
            "current",
            "desired",
            "desired_by_predicate",
            "name",
            "namespace",
            "ready",
            "revision",
            "updated"
        ]
    );
    assert_eq!(
        keys(&doc["cells"][0]),
        ["daemonset", "events", "hint", "node", "pod", "restarts", "revision", "state", "why"]
    );
    let mut summary_keys: Vec<String> = CellState::ALL.iter().map(|s| s.name().to_string()).collect();
    summary_keys.extend(["daemonsets", "nodes", "pods"].map(String::from));
    summary_keys.sort();
    assert_eq!(keys(&doc["summary"]), summary_keys);
}

#[test]
fn json_orders_nodes_daemonsets_and_cells_stably() {
    let index = fleet();
    let doc = json_doc(&index, false);
    let names: Vec<&str> = doc["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["general-1", "general-2", "gpu-1"]);
    let dss: Vec<String> = doc["daemonsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| format!("{}/{}", d["namespace"].as_str().unwrap(), d["name"].as_str().unwrap()))
        .collect();
    assert_eq!(dss, ["kube-system/logs", "kube-system/proxy", "monitoring/agent"]);
    let (mut first, mut again) = (Vec::new(), Vec::new());
    json::write(&index, "test-ctx", false, NOW, &mut first).unwrap();
    json::write(&index, "test-ctx", false, NOW, &mut again).unwrap();
    assert_eq!(first, again, "byte-identical output for an unchanged fleet");
    let text = String::from_utf8(first).unwrap();
    let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} in {text}"));
    assert!(at("\"context\"") < at("\"nodes\"") && at("\"nodes\"") < at("\"daemonsets\""));
    assert!(at("\"daemonsets\"") < at("\"cells\"") && at("\"cells\"") < at("\"summary\""));
}

#[test]
fn json_cells_carry_states_reasons_and_revisions() {
    let doc = json_doc(&fleet(), false);
    assert_eq!(state_of(&doc, "general-1", "kube-system/proxy").as_deref(), Some("ready"));
    assert_eq!(state_of(&doc, "gpu-1", "kube-system/proxy").as_deref(), Some("failing"));
    assert_eq!(state_of(&doc, "general-2", "kube-system/proxy").as_deref(), Some("misscheduled"));
    assert_eq!(state_of(&doc, "general-1", "kube-system/logs").as_deref(), Some("missing"));
    assert_eq!(state_of(&doc, "gpu-1", "kube-system/logs").as_deref(), Some("pending"));
    assert_eq!(state_of(&doc, "general-1", "monitoring/agent").as_deref(), Some("outdated"));
    // Not-eligible cells are left out: agent never runs on the gpu pool.
    assert_eq!(state_of(&doc, "gpu-1", "monitoring/agent"), None);
    let failing = doc["cells"].as_array().unwrap().iter().find(|c| c["state"] == "failing").expect("failing cell");
    assert_eq!(failing["pod"], "proxy-gpu-1");
    assert_eq!(failing["restarts"], 7);
    assert_eq!(failing["revision"], "p1");
    assert!(failing["why"].as_str().unwrap().starts_with("CrashLoopBackOff"), "{failing}");
    let missing = doc["cells"].as_array().unwrap().iter().find(|c| c["state"] == "missing").expect("missing cell");
    assert!(missing["pod"].is_null());
    let agent = doc["daemonsets"].as_array().unwrap().iter().find(|d| d["name"] == "agent").unwrap();
    assert_eq!(agent["revision"], 2);
    let ready = doc["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "general-2").unwrap();
    assert_eq!(ready["ready"], false);
    assert_eq!(ready["taints"].as_array().unwrap().len(), 2);
}

#[test]
fn json_summary_counts_every_cell() {
    let doc = json_doc(&fleet(), false);
    let s = &doc["summary"];
    let total: u64 = CellState::ALL.iter().map(|st| s[st.name()].as_u64().unwrap()).sum();
    assert_eq!(total, 9, "3 nodes x 3 DaemonSets");
    assert_eq!(s["nodes"], 3);
    assert_eq!(s["daemonsets"], 3);
    assert_eq!(s["pods"], 6);
    assert_eq!(s["failing"], 1);
    assert_eq!(s["not-eligible"], 2, "agent on gpu-1, logs on the NotReady node");
}

#[test]
fn json_problems_only_keeps_problem_cells() {
    let doc = json_doc(&fleet(), true);
    let cells = doc["cells"].as_array().unwrap();
    assert!(!cells.is_empty());
    for c in cells {
        let state = CellState::parse(c["state"].as_str().unwrap()).expect("known state");
        assert!(state.is_problem(), "{c}");
    }
    assert_eq!(doc["nodes"].as_array().unwrap().len(), 3, "nodes describe the whole fleet");
}

fn table_text(index: &Index, problems_only: bool, wide: bool, width: Option<usize>) -> String {
    let themes = ThemeSet::builtin();
    let opts = table::TableOptions {
        context: "test-ctx",
        problems_only,
        wide,
        glyphs: themes.get(0).glyph_set(true),
        ascii: true,
        width,
        now: NOW,
    };
    let mut buf = Vec::new();
    table::write(index, &opts, &mut buf).expect("write table");
    String::from_utf8(buf).expect("utf-8")
}

#[test]
fn table_has_a_row_per_node_a_legend_and_the_summary() {
    let text = table_text(&fleet(), false, false, None);
    assert!(text.starts_with("context test-ctx - 3 nodes - 3 daemonsets - 6 pods\n"), "{text}");
    for needle in ["general-1", "general-2", "gpu-1", "NotReady", "1  kube-system/logs", "3  monitoring/agent"] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
    assert!(text.lines().any(|l| l.starts_with("legend: ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("summary: ") && l.contains("failing 1")), "{text}");
    assert!(text.is_ascii(), "--ascii output is ASCII:\n{text}");
}

#[test]
fn table_fits_the_given_width_by_splitting_columns() {
    let text = table_text(&fleet(), false, false, Some(20));
    // Header and node lines of the matrix blocks stay within 20 columns.
    for line in text.lines().filter(|l| l.starts_with("NODE") || l.starts_with("general") || l.starts_with("gpu")) {
        assert!(line.len() <= 20 + "NotReady".len(), "{line:?}");
    }
    assert!(text.matches("\nNODE").count() >= 2, "split into blocks:\n{text}");
}

fn delete_ds(index: &mut Index, ns: &str, name: &str) {
    let key = daemonscope::fleet::model::ObjKey { namespace: ns.into(), name: name.into() };
    index.apply(FleetEvent::DaemonSet(Change::Delete(key)));
}

#[test]
fn table_problems_only_drops_healthy_rows_and_columns() {
    // Only proxy is left: failing on gpu-1, misscheduled on general-2, ready on general-1.
    let mut index = fleet();
    delete_ds(&mut index, "kube-system", "logs");
    delete_ds(&mut index, "monitoring", "agent");
    let text = table_text(&index, true, false, None);
    assert!(text.lines().any(|l| l.starts_with("gpu-1 ")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("general-2 ")), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("general-1 ")), "healthy row dropped:\n{text}");
    assert!(text.contains("1  kube-system/proxy"), "{text}");
}

#[test]
fn table_problems_only_on_a_healthy_fleet_says_so() {
    let mut index = fleet();
    delete_ds(&mut index, "kube-system", "logs");
    delete_ds(&mut index, "monitoring", "agent");
    delete_ds(&mut index, "kube-system", "proxy");
    let text = table_text(&index, true, false, None);
    assert!(text.contains("no problems"), "{text}");
}

#[test]
fn wide_adds_one_line_per_problem_cell_with_reason() {
    let text = table_text(&fleet(), false, true, None);
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().position(|l| l.starts_with("NODE") && l.contains("REASON")).expect("problem header");
    let problem_lines = &lines[header + 1..];
    assert!(
        problem_lines.iter().any(|l| l.contains("gpu-1") && l.contains("failing") && l.contains("CrashLoopBackOff"))
    );
    assert!(problem_lines.iter().any(|l| l.contains("general-1") && l.contains("missing")));
}

fn check_args(ignore_ds: &[&str], labels: &[&str], grace: u64) -> CheckArgs {
    CheckArgs {
        ignore_ds: ignore_ds.iter().map(|s| s.to_string()).collect(),
        ignore_node_label: labels.iter().map(|s| s.to_string()).collect(),
        grace,
        timeout: 60,
        fail_on: Vec::new(),
        max_outdated_age: None,
    }
}

#[test]
fn check_lists_every_problem_cell_as_four_fields() {
    let index = fleet();
    let found = problems(&index, &CheckFilter::from_args(&check_args(&[], &[], 0)), NOW);
    let lines: Vec<String> = found.iter().map(|p| p.line()).collect();
    assert!(lines.iter().all(|l| l.split('\t').count() == 4), "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("gpu-1\tkube-system/proxy\tfailing\tCrashLoopBackOff")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("general-1\tkube-system/logs\tmissing\t")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("general-2\tkube-system/proxy\tmisscheduled\t")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("gpu-1\tkube-system/logs\tpending\tContainerCreating")), "{lines:#?}");
}

#[test]
fn check_ignore_ds_removes_its_lines() {
    let index = fleet();
    let every = |ignore: &[&str]| CheckArgs { fail_on: CellState::ALL.to_vec(), ..check_args(ignore, &[], 0) };
    let all = problems(&index, &CheckFilter::from_args(&every(&[])), NOW);
    let some = problems(&index, &CheckFilter::from_args(&every(&["logs", "kube-system/proxy"])), NOW);
    assert!(!some.is_empty(), "agent's cells remain");
    assert!(some.len() < all.len());
    assert!(some.iter().all(|p| p.daemonset == "monitoring/agent"), "{some:#?}");
}

#[test]
fn check_ignore_node_label_removes_those_nodes() {
    let index = fleet();
    let found = problems(&index, &CheckFilter::from_args(&check_args(&[], &["pool=general"], 0)), NOW);
    assert!(!found.is_empty());
    assert!(found.iter().all(|p| p.node == "gpu-1"), "{found:#?}");
}

#[test]
fn check_grace_hides_young_pods_only() {
    let index = fleet();
    let found = problems(&index, &CheckFilter::from_args(&check_args(&[], &[], 60)), NOW);
    // The ContainerCreating agent pod is 10 s old: still starting, not a problem yet.
    assert!(!found.iter().any(|p| p.state == CellState::Pending), "{found:#?}");
    assert!(found.iter().any(|p| p.state == CellState::Failing), "old crash loops stay");
}

/// The fleet's cells that need attention, worked out by hand from `fleet()`'s story: logs has
/// no pod on general-1 (missing); proxy crash-loops on gpu-1 (failing); logs' pod on gpu-1 is
/// ContainerCreating (pending); general-2 is NotReady with the node controller's unreachable
/// NoSchedule taint, which no DaemonSet tolerates by default, so the proxy and agent pods still
/// on it are misscheduled; agent's pod on general-1 runs revision a1 of two (outdated).
#[test]
fn check_fails_on_everything_but_outdated_by_default_most_severe_first() {
    let index = fleet();
    let found = problems(&index, &CheckFilter::from_args(&check_args(&[], &[], 0)), NOW);
    let got: Vec<(&str, &str, &str)> =
        found.iter().map(|p| (p.node.as_str(), p.daemonset.as_str(), p.state.name())).collect();
    assert_eq!(
        got,
        [
            ("general-1", "kube-system/logs", "missing"),
            ("gpu-1", "kube-system/proxy", "failing"),
            ("gpu-1", "kube-system/logs", "pending"),
            ("general-2", "kube-system/proxy", "misscheduled"),
            ("general-2", "monitoring/agent", "misscheduled"),
        ]
    );
    let report = daemonscope::headless::check::report(&index, &CheckFilter::from_args(&check_args(&[], &[], 0)), NOW);
    assert_eq!(
        report.summary(),
        "5 failing cells on 3 nodes (missing 1, failing 1, pending 1, misscheduled 2); not failing: outdated 1"
    );
}

#[test]
fn check_fail_on_outdated_and_max_outdated_age() {
    let index = fleet();
    let only_outdated = CheckArgs { fail_on: vec![CellState::Outdated], ..check_args(&[], &[], 0) };
    let found = problems(&index, &CheckFilter::from_args(&only_outdated), NOW);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].node.as_str(), found[0].daemonset.as_str()), ("general-1", "monitoring/agent"));
    // Revision a2 and the a1 pod were both created a day before NOW: outdated for 86 400 s.
    assert_eq!(found[0].outdated_for, Some(86_400));
    assert!(found[0].reason.ends_with(", outdated for 24h"), "{}", found[0].reason);

    let aged = |max: u64| CheckArgs {
        fail_on: vec![CellState::Missing],
        max_outdated_age: Some(max),
        ..check_args(&[], &[], 0)
    };
    let within = problems(&index, &CheckFilter::from_args(&aged(86_400)), NOW);
    assert!(!within.iter().any(|p| p.state == CellState::Outdated), "not longer than a day: {within:#?}");
    let beyond = problems(&index, &CheckFilter::from_args(&aged(86_399)), NOW);
    assert_eq!(beyond.iter().filter(|p| p.state == CellState::Outdated).count(), 1, "{beyond:#?}");
    assert_eq!(beyond[0].state, CellState::Missing, "most severe first");
}

#[test]
fn wide_lists_the_most_severe_problems_first() {
    let text = table_text(&fleet(), false, true, None);
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().position(|l| l.starts_with("NODE") && l.contains("REASON")).expect("problem header");
    let states: Vec<&str> =
        lines[header + 1..].iter().map(|l| l.split_whitespace().nth(2).expect("state column")).collect();
    assert_eq!(states, ["missing", "failing", "pending", "misscheduled", "misscheduled", "outdated"], "{text}");
}

#[test]
fn problems_only_table_keeps_the_full_tables_column_numbers() {
    // A DaemonSet that runs nowhere (its selector matches no node) sorts first and has no
    // problem: the full table numbers it 1, logs 2, proxy 3, agent 4.
    let mut index = fleet();
    index.apply(FleetEvent::DaemonSet(Change::Apply(ds("kube-system", "aaa-unused", &[("pool", "none")], 0))));
    let full = table_text(&index, false, false, None);
    for needle in ["1  kube-system/aaa-unused", "2  kube-system/logs", "3  kube-system/proxy", "4  monitoring/agent"] {
        assert!(full.contains(needle), "{needle} in\n{full}");
    }
    let problems_only = table_text(&index, true, false, None);
    assert!(!problems_only.contains("aaa-unused"), "{problems_only}");
    for needle in ["2  kube-system/logs", "3  kube-system/proxy", "4  monitoring/agent"] {
        assert!(problems_only.contains(needle), "{needle} in\n{problems_only}");
    }
    let header = problems_only.lines().find(|l| l.starts_with("NODE")).expect("matrix header");
    assert_eq!(header.split_whitespace().collect::<Vec<_>>(), ["NODE", "2", "3", "4", "STATUS"], "{problems_only}");
}
