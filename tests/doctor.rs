//! `daemonscope doctor`, the real binary against the simulator: a good kubeconfig, a malformed
//! one, an unknown context, a server nobody listens on, a kubeconfig others can read, a state
//! directory that cannot be made, and a real terminal (tmux). Every expected line is built from
//! what the test set up — the kubeconfig the simulator wrote, the recorded server's version.json,
//! the tmux window's size — never from doctor's own code.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::sandbox::Sandbox;
use common::sim::SimCluster;
use daemonscope::sim::SimOptions;

/// A recording of a real v1.28 cluster, with its `/version` answer in version.json.
fn recording() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-k8s-1.28/fx")
}

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// The report's lines, the exit code, and all output (for what must not be in it).
struct Report {
    code: Option<i32>,
    lines: Vec<String>,
    all: String,
}

impl Report {
    fn of(out: Output) -> Report {
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        Report {
            code: out.status.code(),
            lines: stdout.lines().map(str::to_string).collect(),
            all: format!("{stdout}{stderr}"),
        }
    }

    /// The lines of one check (the second column).
    fn check(&self, name: &str) -> Vec<&str> {
        self.lines.iter().map(String::as_str).filter(|l| l.get(6..).is_some_and(|rest| check_is(rest, name))).collect()
    }

    /// The one line of a check.
    fn one(&self, name: &str) -> &str {
        let found = self.check(name);
        assert_eq!(found.len(), 1, "one {name:?} line in:\n{}", self.lines.join("\n"));
        found[0]
    }
}

/// `rest` is the line after the status column: the check's name padded to 10, then two spaces.
fn check_is(rest: &str, name: &str) -> bool {
    rest.starts_with(&format!("{name:<10}  "))
}

/// doctor's command with a UTF-8 locale, so the glyphs line is the same on every machine.
fn doctor(mut cmd: Command) -> Report {
    cmd.arg("doctor").env("LANG", "C.UTF-8").env_remove("LC_ALL").env_remove("LC_CTYPE");
    Report::of(cmd.output().expect("run daemonscope doctor"))
}

/// The summary line: "N ok, N warnings, N failed[, N not checked]", counted from the lines.
fn summary_of(report: &Report) -> String {
    let count = |status: &str| report.lines.iter().filter(|l| l.starts_with(&format!("{status:<4}  "))).count();
    let warnings = count("warn");
    let mut s = format!(
        "{} ok, {warnings} warning{}, {} failed",
        count("ok"),
        if warnings == 1 { "" } else { "s" },
        count("fail")
    );
    if count("skip") > 0 {
        s.push_str(&format!(", {} not checked", count("skip")));
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn a_good_kubeconfig_passes_and_names_the_context_the_server_and_its_version() {
    let cluster = SimCluster::start(SimOptions { replay: Some(recording()), ..SimOptions::default() }).await;
    let report = doctor(cluster.daemonscope());

    let kc = json(&cluster.kubeconfig);
    let contexts = kc["contexts"].as_array().expect("contexts");
    let current = kc["current-context"].as_str().expect("current-context");
    let context = contexts.iter().find(|c| c["name"] == current).expect("the current context")["context"].clone();
    let user = context["user"].as_str().expect("user");
    let cluster_name = context["cluster"].as_str().expect("cluster");
    let clusters = kc["clusters"].as_array().expect("clusters");
    let server =
        clusters.iter().find(|c| c["name"] == cluster_name).expect("the context's cluster")["cluster"]["server"]
            .as_str()
            .expect("server")
            .trim_end_matches('/')
            .to_string();
    let version = json(&recording().join("version.json"));

    assert_eq!(
        report.one("kubeconfig"),
        format!("ok    kubeconfig  {}: {} contexts", cluster.kubeconfig.display(), contexts.len())
    );
    assert_eq!(report.one("context"), format!("ok    context     {current} (server {server}, user {user})"));
    let line = report.one("server");
    let want = format!(
        "ok    server      {server}: Kubernetes {} ({}), answered in ",
        version["gitVersion"].as_str().expect("gitVersion"),
        version["platform"].as_str().expect("platform")
    );
    assert!(line.starts_with(&want) && line.ends_with(" ms"), "{line}\nwanted {want}… ms");
    assert!(report.one("terminal").starts_with("skip  terminal    not checked: stdout is not a terminal"));
    assert!(report.check("colours").is_empty(), "colours are checked on a terminal only");
    assert_eq!(report.one("glyphs"), "ok    glyphs      locale C.UTF-8: UTF-8 glyphs");
    assert_eq!(
        report.one("state dir"),
        format!("ok    state dir   {}: private (0700), writable", cluster.sandbox.state_dir().display())
    );
    assert!(!report.lines.iter().any(|l| l.starts_with("fail")), "{}", report.all);
    assert_eq!(report.lines.last().map(String::as_str), Some(summary_of(&report).as_str()));
    assert_eq!(report.code, Some(0), "{}", report.all);
    for user in kc["users"].as_array().expect("users") {
        let token = user["user"]["token"].as_str().expect("token");
        assert!(!report.all.contains(token), "a token was printed:\n{}", report.all);
    }
}

#[test]
fn a_malformed_kubeconfig_fails_without_quoting_it() {
    let sb = Sandbox::new();
    let path = sb.write("bad.yaml", "apiVersion: v1\nclusters:\n  - name: [unclosed\n  cluster: {server: x\n");
    let report = doctor({
        let mut cmd = sb.daemonscope();
        cmd.arg("--kubeconfig").arg(&path);
        cmd
    });
    let line = report.one("kubeconfig");
    let want = format!("fail  kubeconfig  kubeconfig {}: invalid YAML at line ", path.display());
    assert!(line.starts_with(&want), "{line}");
    assert!(line.contains("; fix: "), "{line}");
    assert!(!report.all.contains("unclosed"), "the file's text may hold secrets:\n{}", report.all);
    for check in ["context", "server", "rbac"] {
        assert!(report.one(check).starts_with(&format!("skip  {check:<10}  not checked: ")), "{}", report.one(check));
    }
    assert_eq!(report.lines.last().map(String::as_str), Some(summary_of(&report).as_str()));
    assert_eq!(report.code, Some(1), "{}", report.all);
}

/// A kubeconfig with contexts `a` and `b` on one cluster at `server`, user `u` with a token.
fn kubeconfig(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters:\n- name: c\n  cluster: {{server: \"{server}\"}}\n\
         contexts:\n- name: a\n  context: {{cluster: c, user: u}}\n- name: b\n  context: {{cluster: c, user: u}}\n\
         users:\n- name: u\n  user: {{token: very-secret-token}}\n"
    )
}

#[test]
fn an_unreachable_server_fails_after_the_context_resolves() {
    let sb = Sandbox::new();
    // Port 1 on loopback: nobody listens, the connection is refused at once.
    let path = sb.write("kc.yaml", &kubeconfig("http://127.0.0.1:1"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    let report = doctor({
        let mut cmd = sb.daemonscope();
        cmd.arg("--kubeconfig").arg(&path);
        cmd
    });
    assert_eq!(report.one("kubeconfig"), format!("ok    kubeconfig  {}: 2 contexts", path.display()));
    assert_eq!(report.one("context"), "ok    context     a");
    let line = report.one("server");
    assert!(line.starts_with("fail  server      cannot reach http://127.0.0.1:1: connection refused"), "{line}");
    assert!(line.contains("; fix: "), "{line}");
    assert!(report.one("rbac").starts_with("skip  rbac        not checked: "));
    assert!(!report.all.contains("very-secret-token"), "{}", report.all);
    assert_eq!(report.code, Some(1), "{}", report.all);
}

#[test]
fn an_unknown_context_lists_the_available_ones() {
    let sb = Sandbox::new();
    let path = sb.write("kc.yaml", &kubeconfig("http://127.0.0.1:1"));
    let report = doctor({
        let mut cmd = sb.daemonscope();
        cmd.arg("--kubeconfig").arg(&path).args(["--context", "nope"]);
        cmd
    });
    let line = report.one("context");
    let want = format!("fail  context     context \"nope\" not found in {} (available: a, b); fix: ", path.display());
    assert!(line.starts_with(&want), "{line}");
    assert!(report.one("server").starts_with("skip  server      not checked: "));
    assert_eq!(report.code, Some(1), "{}", report.all);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kubeconfig_others_can_read_is_a_warning_not_a_failure() {
    let cluster = SimCluster::start(common::sim::frozen("small")).await;
    std::fs::set_permissions(&cluster.kubeconfig, std::fs::Permissions::from_mode(0o644)).expect("chmod 644");
    let report = doctor(cluster.daemonscope());
    let contexts = json(&cluster.kubeconfig)["contexts"].as_array().expect("contexts").len();
    let shown = cluster.kubeconfig.display();
    assert_eq!(
        report.one("kubeconfig"),
        format!(
            "warn  kubeconfig  {shown}: {contexts} contexts; readable by other users: {shown} (mode 0644); \
             fix: chmod 600 the file (it holds credentials)"
        )
    );
    assert_eq!(report.code, Some(0), "{}", report.all);
}

#[test]
fn a_state_dir_that_cannot_be_made_fails() {
    let sb = Sandbox::new();
    let blocker = sb.write("blocker", "a file where the state directory's parent should be\n");
    let state = blocker.join("state");
    let report = doctor({
        let mut cmd = sb.daemonscope();
        cmd.args(["--demo", "small"]).env("DAEMONSCOPE_STATE_DIR", &state);
        cmd
    });
    let line = report.one("state dir");
    assert!(line.starts_with(&format!("fail  state dir   {}: cannot create it", state.display())), "{line}");
    assert!(line.contains("; fix: "), "{line}");
    // The cluster side is fine: the demo cluster answers.
    assert!(report.one("server").starts_with("ok    server      http://127.0.0.1:"), "{}", report.all);
    assert_eq!(report.code, Some(1), "{}", report.all);
}

#[test]
fn in_a_terminal_it_reports_the_size_and_the_terminal_type() {
    let sb = Sandbox::new();
    let (width, height) = (200, 40);
    let session =
        common::tmux::Session::daemonscope(width, height, &sb, &["doctor", "--demo", "small"], &[("LANG", "C.UTF-8")]);
    let code = session.exit_code(Duration::from_secs(60));
    let screen = session.capture();
    let line = |check: &str| {
        screen
            .lines()
            .find(|l| l.get(6..).is_some_and(|rest| check_is(rest, check)))
            .unwrap_or_else(|| panic!("no {check} line on the screen:\n{screen}"))
            .trim_end()
            .to_string()
    };
    assert!(line("terminal").starts_with(&format!("ok    terminal    {width}x{height} ")), "{screen}");
    // The tmux helper's shell runs with TERM=xterm-256color.
    assert!(line("colours").starts_with("ok    colours     TERM=xterm-256color"), "{screen}");
    assert_eq!(code, 0, "{screen}");
}

/// What the real kubectl says the context may do: `kubectl auth can-i VERB RESOURCE`, for all
/// namespaces (`-A`) or one (`-n NS`).
fn kubectl_can_i(cluster: &SimCluster, context: &str, verb: &str, resource: &str, namespace: Option<&str>) -> bool {
    let mut cmd = cluster.kubectl();
    cmd.args(["--context", context, "auth", "can-i", verb, resource]);
    match namespace {
        Some(ns) => cmd.args(["-n", ns]),
        None => cmd.arg("-A"),
    };
    let out = cmd.output().expect("run kubectl auth can-i");
    let answer = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match answer.as_str() {
        "yes" => true,
        "no" => false,
        _ => panic!("kubectl auth can-i {verb} {resource}: {answer:?} {}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// The RBAC lines doctor should print for `context` (with `-n namespace` when given): the four
/// watched kinds need list and watch (`fail` when either is denied), pod logs and the two
/// mutations are informational (`warn`), each answer taken from kubectl.
fn expected_rbac(cluster: &SimCluster, context: &str, namespace: Option<&str>) -> Vec<(String, String)> {
    let scope = |cluster_scoped: bool| match (cluster_scoped, namespace) {
        (true, _) => String::new(),
        (false, Some(ns)) => format!(" in {ns}"),
        (false, None) => " in all namespaces".to_string(),
    };
    let mut out = Vec::new();
    for (kubectl_name, shown, cluster_scoped) in [
        ("nodes", "nodes", true),
        ("pods", "pods", false),
        ("daemonsets.apps", "daemonsets", false),
        ("controllerrevisions.apps", "controllerrevisions", false),
    ] {
        let ns = if cluster_scoped { None } else { namespace };
        let ok = ["list", "watch"].iter().all(|verb| kubectl_can_i(cluster, context, verb, kubectl_name, ns));
        out.push((if ok { "ok" } else { "fail" }.to_string(), format!("list, watch {shown}{}", scope(cluster_scoped))));
    }
    for (verb, kubectl_name, shown) in
        [("get", "pods/log", "pods/log"), ("delete", "pods", "pods"), ("patch", "daemonsets.apps", "daemonsets")]
    {
        let ok = kubectl_can_i(cluster, context, verb, kubectl_name, namespace);
        out.push((if ok { "ok" } else { "warn" }.to_string(), format!("{verb} {shown}{}", scope(false))));
    }
    out
}

/// doctor's RBAC lines against kubectl's answers for the simulator's narrower users.
#[tokio::test(flavor = "multi_thread")]
async fn rbac_lines_agree_with_kubectl_for_narrow_contexts() {
    let opts = SimOptions { scenario: "mixed".into(), tls: true, frozen: true, ..SimOptions::default() };
    let cluster = SimCluster::start(opts).await;
    let cases: [(&str, Option<&str>); 4] = [
        (daemonscope::sim::NS_VIEW_CONTEXT, None),
        (daemonscope::sim::NS_VIEW_CONTEXT, Some("monitoring")),
        (daemonscope::sim::OPERATOR_CONTEXT, None),
        (daemonscope::sim::READONLY_CONTEXT, Some("kube-system")),
    ];
    for (context, namespace) in cases {
        let report = doctor({
            let mut cmd = cluster.daemonscope();
            cmd.args(["--context", context]);
            if let Some(ns) = namespace {
                cmd.args(["-n", ns]);
            }
            cmd
        });
        let want = expected_rbac(&cluster, context, namespace);
        let got = report.check("rbac");
        assert_eq!(got.len(), want.len(), "{context} {namespace:?}:\n{}", report.all);
        for ((status, what), line) in want.iter().zip(&got) {
            let head = format!("{status:<4}  rbac        {what}");
            let rest = line
                .strip_prefix(&head)
                .unwrap_or_else(|| panic!("{context} {namespace:?}: {line:?}, wanted {head:?}…"));
            // Allowed: nothing more; denied: which verbs and a fix that names kubectl's check.
            if status == "ok" {
                assert_eq!(rest, "", "{line}");
            } else {
                assert!(
                    rest.starts_with(": ") && rest.contains(" denied") && rest.contains("kubectl auth can-i"),
                    "{line}"
                );
            }
        }
        let required_denied = want.iter().any(|(status, _)| status == "fail");
        assert_eq!(report.code, Some(if required_denied { 1 } else { 0 }), "{context} {namespace:?}:\n{}", report.all);
    }
}
