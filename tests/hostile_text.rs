//! Cluster text is hostile: random strings full of escape sequences, C0/C1 controls, DEL and
//! bidi overrides are put where others write them (node labels and taints, DaemonSet names and
//! images, a revision's change-cause, a pod's status reason and last termination), projected
//! by the same functions the watches use (and Warning events about all three), and drawn by `ui::render` on a TestBackend with the
//! detail panel, the history dialog and help open, and written by `snapshot` (table, wide, JSON)
//! and `check`. No hostile character may reach a terminal cell or the output stream.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use daemonscope::app::{App, AppOptions, Msg, update};
use daemonscope::cluster::project::{ds_info, event_info, node_info_from_k8s, pod_info_from_k8s, rev_info};
use daemonscope::fleet::Index;
use daemonscope::fleet::model::{Change, FleetEvent, StreamKind, StreamState};
use daemonscope::headless::check::{CheckFilter, problems};
use daemonscope::headless::table::{TableOptions, write};
use daemonscope::text::is_hostile;
use daemonscope::theme::ThemeSet;
use daemonscope::ui;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus, Event, Node, NodeSpec,
    ObjectReference, Pod, PodSpec, PodStatus, PodTemplateSpec, Taint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: i64 = 1_700_000_000;

/// Text an attacker would write: plain words, escape sequences that retitle, recolour, move
/// the cursor or write the clipboard, raw controls, DEL, C1 and bidi characters.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z0-9.-]{1,8}",
        Just("\u{1b}]0;pwned\u{7}".to_string()),
        Just("\u{1b}]52;c;ZXZpbA==\u{7}".to_string()),
        Just("\u{1b}[2J\u{1b}[H".to_string()),
        Just("\u{1b}[31m".to_string()),
        Just("\u{9b}1;1H".to_string()),
        Just("\u{202e}gnp.exe\u{202c}".to_string()),
        Just("\u{2066}x\u{2069}".to_string()),
        Just("\r\n\t\u{8}\u{7f}\u{0}".to_string()),
        Just("\u{200b}\u{feff}".to_string()),
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 1..6).prop_map(|v| v.concat())
}

fn meta(name: &str, ns: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: ns.map(Into::into),
        uid: Some(format!("uid-{name}")),
        creation_timestamp: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            jiff::Timestamp::from_second(NOW - 3600).expect("time"),
        )),
        ..ObjectMeta::default()
    }
}

/// A small fleet whose every free-text field holds `evil`, projected as the watches project.
fn fleet(evil: &str) -> Vec<FleetEvent> {
    let mut node = Node { metadata: meta(&format!("node-{evil}"), None), ..Node::default() };
    node.metadata.labels = Some(BTreeMap::from([("pool".to_string(), evil.to_string())]));
    node.spec = Some(NodeSpec {
        taints: Some(vec![Taint {
            key: evil.into(),
            value: Some(evil.into()),
            effect: "NoSchedule".into(),
            ..Taint::default()
        }]),
        ..NodeSpec::default()
    });
    let clean_node = Node { metadata: meta("node-plain", None), ..Node::default() };

    let ds_name = format!("ds-{evil}");
    let mut ds = DaemonSet { metadata: meta(&ds_name, Some("kube-system")), ..DaemonSet::default() };
    ds.metadata.generation = Some(2);
    ds.spec = DaemonSetSpec {
        selector: LabelSelector {
            match_labels: Some(BTreeMap::from([("app".to_string(), "x".to_string())])),
            ..LabelSelector::default()
        },
        template: PodTemplateSpec {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: evil.into(),
                    image: Some(format!("registry/{evil}:1")),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
            ..PodTemplateSpec::default()
        },
        ..DaemonSetSpec::default()
    };

    let owner = OwnerReference {
        api_version: "apps/v1".into(),
        kind: "DaemonSet".into(),
        name: ds_name.clone(),
        uid: format!("uid-{ds_name}"),
        controller: Some(true),
        ..OwnerReference::default()
    };
    let mut revs = Vec::new();
    for (n, cause) in [(1, evil.to_string()), (2, format!("second {evil}"))] {
        let mut rev = ControllerRevision {
            metadata: meta(&format!("{ds_name}-{n}"), Some("kube-system")),
            revision: Some(n),
            data: RawExtension(
                serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": evil}]}}}}),
            ),
        };
        rev.metadata.owner_references = Some(vec![owner.clone()]);
        rev.metadata.annotations = Some(BTreeMap::from([("kubernetes.io/change-cause".to_string(), cause)]));
        revs.push(rev);
    }

    let mut pod = Pod { metadata: meta(&format!("pod-{evil}"), Some("kube-system")), ..Pod::default() };
    pod.metadata.owner_references = Some(vec![owner]);
    pod.metadata.labels = Some(BTreeMap::from([
        ("controller-revision-hash".to_string(), evil.to_string()),
        ("pod-template-generation".to_string(), "1".to_string()),
    ]));
    pod.spec = Some(PodSpec { node_name: node.metadata.name.clone(), containers: vec![], ..PodSpec::default() });
    pod.status = Some(PodStatus {
        phase: Some("Running".into()),
        reason: Some(evil.into()),
        container_statuses: Some(vec![ContainerStatus {
            name: evil.into(),
            ready: false,
            restart_count: 7,
            image: evil.into(),
            image_id: String::new(),
            state: Some(ContainerState {
                waiting: Some(ContainerStateWaiting { reason: Some(evil.into()), message: Some(evil.into()) }),
                ..ContainerState::default()
            }),
            last_state: Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    reason: Some(evil.into()),
                    exit_code: 1,
                    message: Some(evil.into()),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        }]),
        message: Some(evil.into()),
        ..PodStatus::default()
    });

    let mut ev = vec![FleetEvent::Node(Change::Init)];
    ev.extend(node_info_from_k8s(&node).map(|n| FleetEvent::Node(Change::InitItem(n))));
    ev.extend(node_info_from_k8s(&clean_node).map(|n| FleetEvent::Node(Change::InitItem(n))));
    ev.push(FleetEvent::Node(Change::InitDone));
    ev.push(FleetEvent::DaemonSet(Change::Init));
    ev.extend(ds_info(&ds).map(|d| FleetEvent::DaemonSet(Change::InitItem(d))));
    ev.push(FleetEvent::DaemonSet(Change::InitDone));
    ev.push(FleetEvent::Revision(Change::Init));
    ev.extend(revs.iter().filter_map(rev_info).map(|r| FleetEvent::Revision(Change::InitItem(r))));
    ev.push(FleetEvent::Revision(Change::InitDone));
    ev.push(FleetEvent::Pod(Change::Init));
    ev.extend(pod_info_from_k8s(&pod).map(|p| FleetEvent::Pod(Change::InitItem(p))));
    ev.push(FleetEvent::Pod(Change::InitDone));
    // Warning events with hostile reasons and messages about the DaemonSet, the pod and the node.
    ev.push(FleetEvent::Event(Change::Init));
    let about = [
        ("DaemonSet", ds_name.as_str(), "kube-system"),
        ("Pod", pod.metadata.name.as_deref().unwrap_or_default(), "kube-system"),
        ("Node", node.metadata.name.as_deref().unwrap_or_default(), ""),
    ];
    for (i, (kind, name, ns)) in about.into_iter().enumerate() {
        let event = Event {
            metadata: meta(&format!("ev-{i}-{evil}"), Some("kube-system")),
            involved_object: ObjectReference {
                kind: Some(kind.into()),
                name: Some(name.into()),
                namespace: Some(ns.into()).filter(|n: &String| !n.is_empty()),
                field_path: Some(evil.into()),
                ..ObjectReference::default()
            },
            // The DaemonSet's is a FailedCreate, which a missing cell's why quotes.
            reason: Some(if i == 0 { "FailedCreate".to_string() } else { format!("BackOff{evil}") }),
            message: Some(format!("exceeded quota: {evil}")),
            count: Some(3),
            type_: Some("Warning".into()),
            ..Event::default()
        };
        ev.extend(event_info(&event).map(|e| FleetEvent::Event(Change::InitItem(e))));
    }
    ev.push(FleetEvent::Event(Change::InitDone));
    for kind in StreamKind::ALL {
        let state = if kind == StreamKind::Revisions {
            StreamState::Reconnecting { since: NOW - 5, error: daemonscope::text::clean_owned(evil.to_string()) }
        } else {
            StreamState::Live
        };
        ev.push(FleetEvent::Stream { kind, state, at: NOW });
    }
    ev
}

fn press(app: &mut App, code: KeyCode) {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// Every cell's symbol on screen, as one string.
fn screen(app: &App) -> String {
    let (w, h) = app.size;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    term.draw(|f| ui::render(app, f)).expect("draw");
    let buf = term.backend().buffer().clone();
    buf.content().iter().map(|c| c.symbol()).collect()
}

/// Every string in a JSON document, keys included, as decoded (a JSON escape of ESC is still ESC).
fn json_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, out)),
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                out.push(k.clone());
                json_strings(x, out);
            }
        }
        _ => {}
    }
}

fn assert_terminal_safe(what: &str, text: &str) {
    let bad: Vec<String> =
        text.chars().filter(|c| is_hostile(*c) && *c != '\n').map(|c| format!("U+{:04X}", c as u32)).collect();
    assert!(bad.is_empty(), "{what}: hostile characters reached the output: {bad:?}\n{text:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_hostile_character_reaches_the_screen_or_headless_output(evil in hostile()) {
        let mut app = App::new(Index::new(), AppOptions { context: format!("ctx-{evil}"), ..AppOptions::default() });
        update(&mut app, Msg::Tick(NOW));
        update(&mut app, Msg::Resize(160, 50));
        update(&mut app, Msg::Fleet(fleet(&evil)));
        update(&mut app, Msg::Notice { text: format!("server said: {evil}"), level: daemonscope::app::Level::Error });
        assert_terminal_safe("matrix", &screen(&app));
        press(&mut app, KeyCode::Enter);
        assert_terminal_safe("detail panel", &screen(&app));
        press(&mut app, KeyCode::Char('H'));
        assert_terminal_safe("history dialog", &screen(&app));
        press(&mut app, KeyCode::Esc);
        press(&mut app, KeyCode::Char('?'));
        assert_terminal_safe("help", &screen(&app));

        let themes = ThemeSet::builtin();
        for wide in [false, true] {
            let opts = TableOptions {
                context: &app.context,
                problems_only: false,
                wide,
                glyphs: themes.get(0).glyph_set(false),
                ascii: false,
                width: None,
                now: NOW,
            };
            let mut out = Vec::new();
            write(&app.index, &opts, &mut out).expect("table");
            assert_terminal_safe("snapshot table", &String::from_utf8_lossy(&out));
        }
        let mut out = Vec::new();
        daemonscope::headless::json::write(&app.index, &app.context, false, NOW, &mut out).expect("json");
        let json: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        let mut strings = Vec::new();
        json_strings(&json, &mut strings);
        assert_terminal_safe("snapshot -o json (every decoded string)", &strings.join(" "));
        // Every state fails, so every cell with a reason is printed.
        let filter = CheckFilter { fail_on: daemonscope::fleet::CellState::ALL.to_vec(), ..CheckFilter::default() };
        for p in problems(&app.index, &filter, NOW) {
            assert_terminal_safe("check", &p.line().replace('\t', " "));
        }
    }
}
