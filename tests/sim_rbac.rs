//! The simulator's users and their permissions, seen by two independent clients: the real
//! `kubectl` (`auth can-i`, which sends a SelfSubjectAccessReview, and plain requests that meet
//! 403s), and daemonscope's own `cluster::access`. The expected table is written by hand from
//! Kubernetes RBAC rules for the roles the contexts model, not read from the simulator's rules.

mod common;

use common::sandbox::Sandbox;
use common::sim::SimCluster;
use daemonscope::cluster::access::{self, Answer, Question};
use daemonscope::sim::{self, SimOptions, StartConfig};

const ADMIN: &str = sim::CONTEXT;
const VIEWER: &str = sim::READONLY_CONTEXT;
const NS_VIEW: &str = sim::NS_VIEW_CONTEXT;
const OPERATOR: &str = sim::OPERATOR_CONTEXT;

/// (context, verb, group, resource, namespace (None: all / cluster scope), allowed)
type Row = (&'static str, &'static str, &'static str, &'static str, Option<&'static str>, bool);

#[rustfmt::skip]
const TABLE: &[Row] = &[
    (ADMIN,    "patch",  "apps", "daemonsets", Some("kube-system"), true),
    (ADMIN,    "list",   "",     "nodes",      None,                true),
    (VIEWER,   "list",   "",     "nodes",      None,                true),
    (VIEWER,   "delete", "",     "pods",       Some("kube-system"), false),
    (VIEWER,   "patch",  "apps", "daemonsets", Some("kube-system"), false),
    // A RoleBinding of `view` in `monitoring`: that namespace only, never nodes.
    (NS_VIEW,  "list",   "",     "pods",       Some("monitoring"),  true),
    (NS_VIEW,  "watch",  "apps", "daemonsets", Some("monitoring"),  true),
    (NS_VIEW,  "list",   "",     "pods",       Some("kube-system"), false),
    (NS_VIEW,  "list",   "",     "pods",       None,                false),
    (NS_VIEW,  "list",   "",     "nodes",      None,                false),
    (NS_VIEW,  "delete", "",     "pods",       Some("monitoring"),  false),
    // Restarts pods, never rolls DaemonSets.
    (OPERATOR, "delete", "",     "pods",       Some("kube-system"), true),
    (OPERATOR, "patch",  "apps", "daemonsets", Some("kube-system"), false),
    (OPERATOR, "watch",  "",     "nodes",      None,                true),
];

async fn cluster() -> SimCluster {
    // TLS: kubectl sends bearer tokens only over https.
    let opts = SimOptions { scenario: "small".into(), tls: true, frozen: true, ..Default::default() };
    SimCluster::start_in(Sandbox::new(), opts, StartConfig::default()).await
}

/// kubectl's output, run without blocking the runtime that serves the simulator.
async fn kubectl(c: &SimCluster, args: &[&str]) -> std::process::Output {
    let mut cmd = tokio::process::Command::from(c.kubectl());
    cmd.args(args).kill_on_drop(true);
    cmd.output().await.expect("running kubectl")
}

async fn kubectl_can_i(
    c: &SimCluster,
    context: &str,
    verb: &str,
    group: &str,
    resource: &str,
    ns: Option<&str>,
) -> bool {
    let resource = if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") };
    let mut args = vec!["--context", context, "auth", "can-i", verb, &resource];
    match ns {
        Some(ns) => args.extend(["-n", ns]),
        None => args.push("-A"),
    };
    let out = kubectl(c, &args).await;
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match said.as_str() {
        "yes" => true,
        "no" => false,
        _ => panic!(
            "kubectl auth can-i {verb} {resource} ({context}) said {said:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

#[tokio::test]
async fn kubectl_and_access_reviews_agree_with_the_rbac_table() {
    let c = cluster().await;
    for &(context, verb, group, resource, ns, allowed) in TABLE {
        let by_kubectl = kubectl_can_i(&c, context, verb, group, resource, ns).await;
        assert_eq!(by_kubectl, allowed, "kubectl auth can-i {verb} {resource} {ns:?} as {context}");

        let client = c.sim.context_client(context).await.expect("client for context");
        let q = Question::new(verb, group, resource, ns);
        let answer = access::ask(&client, &q).await;
        assert_eq!(answer.allowed(), allowed, "access::ask {} as {context}: {answer:?}", q.describe());
        assert!(!matches!(answer, Answer::Unknown(_)), "{answer:?}");
    }
}

#[tokio::test]
async fn a_denied_request_meets_the_rbac_message_naming_the_user() {
    let c = cluster().await;
    let out = kubectl(&c, &["--context", NS_VIEW, "get", "nodes"]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "nodes is forbidden: User \"daemonscope-ns-viewer\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        ),
        "{err}"
    );
    // The same user reads its own namespace.
    let out = kubectl(&c, &["--context", NS_VIEW, "get", "ds", "-n", "monitoring", "-o", "name"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "daemonset.apps/node-exporter");
}

#[tokio::test]
async fn rules_review_lists_what_the_namespace_viewer_may_do() {
    let c = cluster().await;
    let out = kubectl(&c, &["--context", NS_VIEW, "auth", "can-i", "--list", "-n", "monitoring"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text.lines().find(|l| l.starts_with("pods ")).unwrap_or_else(|| panic!("no pods row:\n{text}"));
    assert!(row.contains("[get list watch]"), "{row}");
    assert!(!text.lines().any(|l| l.starts_with("nodes")), "{text}");
}

#[tokio::test]
async fn reviews_are_not_counted_as_writes() {
    let c = cluster().await;
    let client = c.sim.context_client(VIEWER).await.unwrap();
    let before = c.sim.stats();
    let answers = access::ask_all(&client, &access::action_writes(Some("kube-system"))).await;
    assert_eq!(answers, vec![Answer::Denied(String::new()), Answer::Denied(String::new())]);
    let after = c.sim.stats();
    assert_eq!(after.mutating, before.mutating, "a self review stores nothing");
}
