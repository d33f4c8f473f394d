//! The describe / YAML pane and the k9s keymap preset, driven by keys against the simulator.
//! Expected text comes from kubectl against the same simulator (`get -o yaml`,
//! `describe`), never from daemonscope.

mod common;

use std::path::{Path, PathBuf};

use common::rig::{Rig, flat, rig_in, rig_with};
use common::sandbox::Sandbox;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use daemonscope::app::Msg;
use daemonscope::config::Config;
use daemonscope::fleet::CellState;
use daemonscope::inspect::{Kind, Mode};
use daemonscope::sim::{self, SimOptions};

fn opts() -> SimOptions {
    // Frozen: nothing changes between kubectl's read and the pane's.
    SimOptions { scenario: "mixed".into(), churn: Some(0.0), tls: true, frozen: true, ..SimOptions::default() }
}

struct Kubectl {
    sandbox: Sandbox,
    kubeconfig: PathBuf,
}

impl Kubectl {
    fn new(r: &Rig) -> Kubectl {
        let sandbox = Sandbox::new();
        let kubeconfig = sandbox.write("kubeconfig", &r.sim.kubeconfig_yaml());
        Kubectl { sandbox, kubeconfig }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.sandbox.kubectl(&self.kubeconfig).env("TZ", "UTC").args(args).output().expect("run kubectl");
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn stderr_of(&self, kubeconfig: &Path, args: &[&str]) -> String {
        let out = self.sandbox.kubectl(kubeconfig).args(args).output().expect("run kubectl");
        assert!(!out.status.success(), "kubectl {args:?} was expected to fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

/// The pod under the cursor: (namespace, name).
fn cursor_pod(r: &Rig) -> (String, String) {
    let cell = r.app.index.cell(r.app.cursor_node().expect("node"), r.app.cursor_ds().expect("ds"));
    let pod = cell.pod.expect("a pod in the cell");
    (pod.namespace.to_string(), pod.name.to_string())
}

async fn wait_pane(r: &mut Rig) {
    r.wait_for("the pane's answer", |a| a.inspect().is_some_and(|l| l.result.is_some())).await;
}

fn pane_text(r: &Rig) -> String {
    let l = r.app.inspect().expect("the pane is open");
    let mut s = l.lines.join("\n");
    s.push('\n');
    s
}

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_pane_is_byte_equal_to_kubectl_get_o_yaml_with_odd_strings() {
    let mut r = rig_with(opts(), sim::CONTEXT, Config::default()).await;
    let k = Kubectl::new(&r);
    r.cursor_to("kube-proxy", CellState::Ready);
    let (ns, pod) = cursor_pod(&r);
    let long = "a long message that goes on and on, past the eightieth column of the line, so that it folds twice over when it is printed";
    let annotations = [
        "num=123".to_string(),
        "yes=yes".into(),
        "on=on".into(),
        "empty=".into(),
        "multi=line one\nline two\n".into(),
        "lead=  leading spaces".into(),
        "colon=a: b".into(),
        "hash=x #y".into(),
        "time=2024-01-02T03:04:05Z".into(),
        "float=1.5e3".into(),
        "quote=it's".into(),
        "tab=a\tb".into(),
        format!("long={long}"),
        "example.com/n=no".into(),
        // Over 128 bytes: go-yaml writes it as a complex `? key`.
        format!("{}.{}.example.com/long-key=v", "a".repeat(60), "b".repeat(60)),
    ];
    let mut args = vec!["annotate", "pod", "-n", &ns, &pod];
    args.extend(annotations.iter().map(String::as_str));
    k.run(&args);

    r.key(KeyCode::Char('Y'));
    wait_pane(&mut r).await;
    let want = k.run(&["get", "pod", &pod, "-n", &ns, "-o", "yaml"]);
    for quoted in [
        "\"yes\": \"yes\"",
        "num: \"123\"",
        "empty: \"\"",
        "multi: |",
        "lead: '  leading spaces'",
        "colon: 'a: b'",
        "tab: \"a\\tb\"",
    ] {
        assert!(want.contains(quoted), "kubectl quotes {quoted:?}:\n{want}");
    }
    assert!(!want.contains(long), "kubectl folds the long annotation:\n{want}");
    assert!(want.contains("    ? aaaa"), "kubectl writes the long key as a complex key:\n{want}");
    assert_eq!(pane_text(&r), want, "the pane's YAML is kubectl's, byte for byte");
    assert!(flat(&r.app).contains(&format!("yaml pod {ns}/{pod}")), "{}", flat(&r.app));

    // Tab: the node, then the DaemonSet, each as kubectl prints it.
    let node = r.app.index.node(r.app.cursor_node().expect("node")).expect("node").name.to_string();
    r.key(KeyCode::Tab);
    wait_pane(&mut r).await;
    assert_eq!(r.app.inspect().and_then(|l| l.object()).map(|o| o.kind), Some(Kind::Node));
    assert_eq!(pane_text(&r), k.run(&["get", "node", &node, "-o", "yaml"]));
    r.key(KeyCode::Tab);
    wait_pane(&mut r).await;
    assert_eq!(pane_text(&r), k.run(&["get", "daemonset", "kube-proxy", "-n", "kube-system", "-o", "yaml"]));

    // Search: `/` then Enter puts the first matching line on top; n goes on.
    r.key(KeyCode::Char('/'));
    r.chars("image:");
    r.key(KeyCode::Enter);
    let l = r.app.inspect().expect("pane");
    let m = l.matched.expect("a match");
    assert!(l.lines[m].contains("image:"), "{}", l.lines[m]);
    assert_eq!(l.scroll, m);
    r.key(KeyCode::Char('q'));
    assert!(r.app.inspect().is_none(), "q closes the pane, not the program");
    assert!(!r.app.quit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_of_pods_converted_from_kubectl_json_equals_kubectl_yaml() {
    let r = rig_with(opts(), sim::CONTEXT, Config::default()).await;
    let k = Kubectl::new(&r);
    let names = k.run(&["get", "pods", "-n", "monitoring", "-o", "name"]);
    let mut checked = 0;
    for name in names.lines().take(4) {
        let json: serde_json::Value =
            serde_json::from_str(&k.run(&["get", name, "-n", "monitoring", "-o", "json"])).expect("json");
        let want = k.run(&["get", name, "-n", "monitoring", "-o", "yaml"]);
        assert_eq!(daemonscope::inspect::yaml::to_yaml(&json), want, "{name}");
        checked += 1;
    }
    assert_eq!(checked, 4);
}

/// `Key: value` lines of kubectl describe (whitespace squeezed), for the fields compared.
fn fields(text: &str, keys: &[&str]) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            keys.contains(&k).then(|| format!("{k}: {}", v.split_whitespace().collect::<Vec<_>>().join(" ")))
        })
        .filter(|l| !l.ends_with(": "))
        .collect()
}

fn squeeze(text: &str) -> Vec<String> {
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_of_a_crash_looping_pod_has_kubectl_describes_fields_and_values() {
    let mut r = rig_with(opts(), sim::CONTEXT, Config::default()).await;
    let k = Kubectl::new(&r);
    r.cursor_to("datadog-agent", CellState::Failing);
    let (ns, pod) = cursor_pod(&r);
    r.key(KeyCode::Char('v'));
    wait_pane(&mut r).await;
    assert_eq!(r.app.inspect().map(|l| l.mode), Some(Mode::Describe));
    let ours = squeeze(&pane_text(&r));
    let theirs = k.run(&["describe", "pod", &pod, "-n", &ns]);
    let keys = [
        "Name",
        "Namespace",
        "Node",
        "Start Time",
        "Status",
        "IP",
        "Controlled By",
        "Image",
        "State",
        "Last State",
        "Reason",
        "Exit Code",
        "Started",
        "Finished",
        "Ready",
        "Restart Count",
    ];
    let want = fields(&theirs, &keys);
    assert!(want.iter().any(|l| l.starts_with("Last State: Terminated")), "a crash loop has a last state:\n{theirs}");
    assert!(want.iter().any(|l| l == "Reason: CrashLoopBackOff"), "{theirs}");
    for line in &want {
        assert!(ours.contains(line), "kubectl describe says {line:?}; the pane:\n{}", ours.join("\n"));
    }
    // Conditions rows and tolerations, squeezed, are there too.
    let squeezed = squeeze(&theirs);
    let start = squeezed.iter().position(|l| l == "Conditions:").expect("conditions");
    for row in squeezed[start + 2..].iter().take_while(|l| !l.contains(':')) {
        assert!(ours.contains(row), "condition {row:?}:\n{}", ours.join("\n"));
    }
    let tol = theirs.lines().skip_while(|l| !l.starts_with("Tolerations:")).take_while(|l| !l.starts_with("Events:"));
    for t in tol {
        let t = t.trim_start_matches("Tolerations:").trim();
        assert!(ours.iter().any(|l| l.ends_with(t)), "toleration {t:?}:\n{}", ours.join("\n"));
    }
    // Every event kubectl lists, by reason and message.
    for row in theirs.lines().skip_while(|l| !l.starts_with("Events:")).skip(3) {
        let cols: Vec<&str> = row.split_whitespace().collect();
        if cols.len() < 5 {
            continue;
        }
        let reason = cols[1];
        assert!(ours.iter().any(|l| l.contains(reason)), "event {reason}:\n{}", ours.join("\n"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_get_shows_the_servers_message_in_the_pane() {
    let mut r = rig_in(opts(), sim::NS_VIEW_CONTEXT, Some("monitoring"), Config::default()).await;
    let k = Kubectl::new(&r);
    r.cursor_to("datadog-agent", CellState::Failing);
    let node = r.app.index.node(r.app.cursor_node().expect("node")).expect("node").name.to_string();
    r.key(KeyCode::Char('Y'));
    wait_pane(&mut r).await;
    assert!(matches!(r.app.inspect().and_then(|l| l.result.clone()), Some(Ok(()))), "the pod is readable");
    r.key(KeyCode::Tab);
    wait_pane(&mut r).await;
    let err = match r.app.inspect().and_then(|l| l.result.clone()) {
        Some(Err(e)) => e,
        other => panic!("the node GET should be refused: {other:?}"),
    };
    // kubectl as the same user: "Error from server (Forbidden): <the server's message>".
    let ctx_args = ["--context", sim::NS_VIEW_CONTEXT, "get", "node", &node];
    let stderr = k.stderr_of(&k.kubeconfig, &ctx_args);
    let message = stderr.trim().split_once("(Forbidden): ").map(|(_, m)| m.to_string()).expect("a Forbidden error");
    assert!(err.contains(&message), "pane: {err}\nkubectl: {message}");
    assert!(flat(&r.app).contains("forbidden"), "{}", flat(&r.app));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k9s_preset_describes_on_d_yaml_on_y_and_deletes_on_ctrl_d_after_confirmation() {
    let config = Config { keymap: "k9s".into(), ..Config::default() };
    let mut r = rig_with(opts(), sim::CONTEXT, config).await;
    let k = Kubectl::new(&r);
    r.cursor_to("kube-proxy", CellState::Ready);
    let (ns, pod) = cursor_pod(&r);

    r.key(KeyCode::Char('?'));
    assert!(flat(&r.app).contains("Keymap: k9s preset"), "{}", flat(&r.app));
    r.key(KeyCode::Esc);

    r.key(KeyCode::Char('d'));
    wait_pane(&mut r).await;
    assert_eq!(r.app.inspect().map(|l| l.mode), Some(Mode::Describe));
    assert!(pane_text(&r).contains(&pod));
    assert_eq!(r.writes("delete"), 0, "d describes, it does not delete");
    r.key(KeyCode::Esc);
    assert!(r.app.inspect().is_none(), "Esc goes back");

    r.key(KeyCode::Char('y'));
    wait_pane(&mut r).await;
    assert_eq!(r.app.inspect().map(|l| l.mode), Some(Mode::Yaml));
    r.key(KeyCode::Esc);

    r.shell.feed(&mut r.app, ctrl('d'));
    assert!(r.app.dialog().is_some(), "Ctrl-D asks first");
    r.wait_for("the server's dry run", common::ui::dry_run_answered).await;
    common::ui::send_confirmation(&mut r.shell, &mut r.app);
    r.wait_for("the delete's result", |a| a.notice.as_ref().is_some_and(|n| n.text.contains("deleted"))).await;
    let left = k.run(&["get", "pods", "-n", &ns, "--field-selector", &format!("metadata.name={pod}"), "-o", "name"]);
    let gone = left.trim().is_empty()
        || k.run(&["get", "pod", &pod, "-n", &ns, "-o", "jsonpath={.metadata.deletionTimestamp}"]).trim() != "";
    assert!(gone, "kubectl still sees {pod} alive: {left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_mode_jumps_to_a_daemonset_and_names_unknown_commands() {
    let mut r = rig_with(opts(), sim::CONTEXT, Config::default()).await;
    r.key(KeyCode::Char(':'));
    r.chars("ds falco");
    r.key(KeyCode::Enter);
    let ds = r.app.cursor_ds().and_then(|d| r.app.index.ds(d)).map(|d| d.name.to_string());
    assert_eq!(ds.as_deref(), Some("falco"));
    r.key(KeyCode::Char(':'));
    r.chars("frobnicate");
    assert!(flat(&r.app).contains(":frobnicate"), "the prompt shows what is typed: {}", flat(&r.app));
    r.key(KeyCode::Enter);
    assert!(r.notice().contains("unknown command: frobnicate"), "{}", r.notice());
    r.key(KeyCode::Char(':'));
    r.chars("q");
    r.key(KeyCode::Enter);
    assert!(r.app.quit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_of_the_node_and_the_daemonset_has_kubectl_describes_fields() {
    let mut r = rig_with(opts(), sim::CONTEXT, Config::default()).await;
    let k = Kubectl::new(&r);
    r.cursor_to("fluent-bit", CellState::Outdated);
    let node = r.app.index.node(r.app.cursor_node().expect("node")).expect("node").name.to_string();
    r.key(KeyCode::Char('v'));
    wait_pane(&mut r).await;
    r.key(KeyCode::Tab);
    wait_pane(&mut r).await;
    assert_eq!(r.app.inspect().and_then(|l| l.object()).map(|o| o.kind), Some(Kind::Node));
    let ours = squeeze(&pane_text(&r));
    let theirs = k.run(&["describe", "node", &node]);
    let want = fields(&theirs, &["Name", "Taints", "Unschedulable", "Kubelet Version", "OS Image", "PodCIDR"]);
    assert!(want.len() >= 4, "{theirs}");
    for line in &want {
        assert!(ours.contains(line), "kubectl describe node says {line:?}; the pane:\n{}", ours.join("\n"));
    }

    r.key(KeyCode::Tab);
    wait_pane(&mut r).await;
    assert_eq!(r.app.inspect().and_then(|l| l.object()).map(|o| o.kind), Some(Kind::DaemonSet));
    let ours = squeeze(&pane_text(&r));
    let theirs = k.run(&["describe", "daemonset", "fluent-bit", "-n", "logging"]);
    let want = fields(
        &theirs,
        &[
            "Name",
            "Namespace",
            "Selector",
            "Node-Selector",
            "Desired Number of Nodes Scheduled",
            "Current Number of Nodes Scheduled",
            "Number of Nodes Scheduled with Up-to-date Pods",
            "Number of Nodes Scheduled with Available Pods",
            "Number of Nodes Misscheduled",
            "Image",
        ],
    );
    assert!(want.len() >= 9, "{theirs}");
    for line in &want {
        assert!(ours.contains(line), "kubectl describe daemonset says {line:?}; the pane:\n{}", ours.join("\n"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_in_an_object_never_reaches_the_pane_raw() {
    let mut r = rig_with(opts(), sim::CONTEXT, Config::default()).await;
    let k = Kubectl::new(&r);
    r.cursor_to("kube-proxy", CellState::Ready);
    let (ns, pod) = cursor_pod(&r);
    k.run(&["annotate", "pod", "-n", &ns, &pod, "evil=\u{202e}gnp.exe\u{1b}[31m red"]);
    for key in ['Y', 'm'] {
        r.key(KeyCode::Char(key));
        wait_pane(&mut r).await;
        let text = pane_text(&r);
        assert!(text.contains("gnp.exe"), "{text}");
        assert!(text.lines().all(daemonscope::text::is_clean), "a control or bidi character reached the pane:\n{text}");
        assert!(rig_screen(&r).lines().all(daemonscope::text::is_clean));
    }
}

fn rig_screen(r: &Rig) -> String {
    common::rig::screen(&r.app)
}
