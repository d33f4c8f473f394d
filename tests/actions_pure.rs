//! Pure tests of the action plans (exact bodies), and of the node-by-node stepper's choices.

use std::sync::Arc;

use daemonscope::cluster::actions::plan::{self, Method};
use daemonscope::cluster::actions::stepper::{
    NodeWait, RollTarget, is_pod_updated, node_wait, pod_failure, select_steps, select_steps_avoiding,
};
use daemonscope::cluster::actions::{ObjKind, Verb};
use daemonscope::fleet::strategy::{IntOrPercent, ValidStrategy};
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

#[test]
fn rollout_restart_body_is_kubectls_patch() {
    let p = plan::rollout_restart("kube-system", "fluentd", ts("2024-05-01T12:34:56.789Z"));
    assert_eq!(p.verb, Verb::RolloutRestart);
    assert_eq!(p.method, Method::Patch);
    assert_eq!(p.path, "/apis/apps/v1/namespaces/kube-system/daemonsets/fluentd");
    assert_eq!(p.content_type, "application/strategic-merge-patch+json");
    assert_eq!(
        p.body.to_string(),
        r#"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2024-05-01T12:34:56Z"}}}}}"#
    );
    assert_eq!(p.summary(), "rollout restart daemonset kube-system/fluentd");
    assert_eq!(
        p.confirm_text(),
        "rollout restart daemonset kube-system/fluentd\n\
         PATCH /apis/apps/v1/namespaces/kube-system/daemonsets/fluentd\n\
         Content-Type: application/strategic-merge-patch+json\n\n\
         {\n  \"spec\": {\n    \"template\": {\n      \"metadata\": {\n        \"annotations\": {\n          \
         \"kubectl.kubernetes.io/restartedAt\": \"2024-05-01T12:34:56Z\"\n        }\n      }\n    }\n  }\n}"
    );
}

#[test]
fn restart_pod_is_a_delete_with_uid_precondition() {
    let p = plan::restart_pod("ns", "agent-x7k2p", Some("uid-1"), Some("node-7"));
    assert_eq!(p.object.kind, ObjKind::Pod);
    assert_eq!(p.request_line(), "DELETE /api/v1/namespaces/ns/pods/agent-x7k2p");
    assert_eq!(
        p.body.to_string(),
        r#"{"apiVersion":"v1","kind":"DeleteOptions","preconditions":{"uid":"uid-1"},"propagationPolicy":"Background"}"#
    );
    assert_eq!(p.summary(), "restart pod ns/agent-x7k2p on node node-7");
    let without = plan::restart_pod("ns", "p", None, None);
    assert!(without.body.get("preconditions").is_none());
}

#[test]
fn undo_sends_the_revision_data_unchanged() {
    let data = json!({"spec":{"template":{"$patch":"replace","spec":{"containers":[{"name":"c","image":"i:1"}]}}}});
    let p = plan::rollout_undo("ns", "ds", 2, data.clone());
    assert_eq!(p.verb, Verb::RolloutUndo { to_revision: 2 });
    assert_eq!(p.body, data);
    assert_eq!(p.content_type, "application/strategic-merge-patch+json");
    assert_eq!(p.summary(), "rollout undo daemonset ns/ds to revision 2");
}

#[test]
fn strategy_plan_is_a_merge_patch() {
    let s =
        ValidStrategy::RollingUpdate { max_unavailable: IntOrPercent::Int(0), max_surge: IntOrPercent::Percent(10) };
    let p = plan::update_strategy("ns", "ds", &s);
    assert_eq!(p.content_type, "application/merge-patch+json");
    assert_eq!(
        p.body.to_string(),
        r#"{"spec":{"updateStrategy":{"rollingUpdate":{"maxSurge":"10%","maxUnavailable":0},"type":"RollingUpdate"}}}"#
    );
}

#[test]
fn on_delete_plan_removes_the_rolling_update_block() {
    let p = plan::update_strategy("ns", "ds", &ValidStrategy::OnDelete);
    assert_eq!(p.body.to_string(), r#"{"spec":{"updateStrategy":{"rollingUpdate":null,"type":"OnDelete"}}}"#);
}

#[test]
fn odd_names_cannot_change_the_path() {
    let p = plan::restart_pod("ns", "a/../b", None, None);
    assert_eq!(p.path, "/api/v1/namespaces/ns/pods/a%2F..%2Fb");
}

fn pod(name: &str, uid: &str, node: &str, hash: &str, gen_: i64, ready: bool) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "uid": uid, "namespace": "ns",
                     "labels": {"controller-revision-hash": hash, "pod-template-generation": gen_.to_string()}},
        "spec": {"nodeName": node, "containers": [{"name": "c"}]},
        "status": {"phase": "Running",
                   "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                   "containerStatuses": [{"name": "c", "ready": ready, "restartCount": 0, "image": "i", "imageID": "",
                                          "state": {"running": {}}}]}
    }))
    .unwrap()
}

#[test]
fn next_outdated_picks_the_first_n_outdated_nodes_by_name() {
    let pods = vec![
        pod("p-c", "u3", "node-c", "old", 1, true),
        pod("p-a", "u1", "node-a", "new", 2, true),
        pod("p-b", "u2", "node-b", "old", 1, true),
        pod("p-d", "u4", "node-d", "old", 1, true),
    ];
    let (steps, skipped) = select_steps("ns", &pods, "new", 2, &RollTarget::NextOutdated(2));
    assert_eq!(steps.iter().map(|s| s.node.as_str()).collect::<Vec<_>>(), vec!["node-b", "node-c"]);
    assert_eq!(steps[0].plan.body["preconditions"]["uid"], "u2");
    assert!(skipped.is_empty());
}

#[test]
fn named_nodes_skip_up_to_date_and_empty_nodes() {
    let pods = vec![pod("p-a", "u1", "node-a", "new", 2, true), pod("p-b", "u2", "node-b", "old", 1, true)];
    let target = RollTarget::Nodes(vec!["node-a".into(), "node-b".into(), "node-z".into()]);
    let (steps, skipped) = select_steps("ns", &pods, "new", 2, &target);
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].pod, "p-b");
    assert_eq!(
        skipped,
        vec![
            ("node-a".to_string(), "already on the newest revision".to_string()),
            ("node-z".to_string(), "no pod of this DaemonSet".to_string())
        ]
    );
}

#[test]
fn template_generation_alone_counts_as_updated() {
    // IsPodUpdated (pkg/controller/daemon/util): hash OR pod-template-generation.
    assert!(is_pod_updated(&pod("p", "u", "n", "other", 5, true), "new", 5));
    assert!(!is_pod_updated(&pod("p", "u", "n", "other", 4, true), "new", 5));
}

#[test]
fn node_wait_sees_ready_failing_and_waiting() {
    let old = Arc::new(pod("old", "u-old", "n1", "h1", 1, true));
    let fresh_ready = Arc::new(pod("new", "u-new", "n1", "h2", 2, true));
    let fresh_pending = Arc::new(pod("new", "u-new", "n1", "h2", 2, false));
    assert_eq!(node_wait(&[old], "n1", "u-old", "h2", 2), NodeWait::Waiting("old pod old to go away".into()));
    assert_eq!(node_wait(&[], "n1", "u-old", "h2", 2), NodeWait::Waiting("the DaemonSet to create the new pod".into()));
    assert_eq!(
        node_wait(&[fresh_pending], "n1", "u-old", "h2", 2),
        NodeWait::Waiting("new pod new to be Ready".into())
    );
    assert_eq!(node_wait(&[fresh_ready], "n1", "u-old", "h2", 2), NodeWait::Ready { pod: "new".into() });

    let mut crashing = pod("new", "u-new", "n1", "h2", 2, false);
    let cs = &mut crashing.status.as_mut().unwrap().container_statuses.as_mut().unwrap()[0];
    cs.state = Some(serde_json::from_value(json!({"waiting": {"reason": "CrashLoopBackOff"}})).unwrap());
    assert_eq!(pod_failure(&crashing).as_deref(), Some("c: CrashLoopBackOff"));
    assert_eq!(
        node_wait(&[Arc::new(crashing)], "n1", "u-old", "h2", 2),
        NodeWait::Failed { pod: "new".into(), reason: "c: CrashLoopBackOff".into() }
    );
}

#[test]
fn next_outdated_never_picks_a_not_ready_or_cordoned_node_and_says_why() {
    // Outdated pods on a, b (NotReady), c (cordoned), d: N=2 must roll a and d, and list b
    // and c with their reasons; naming b explicitly is the user's choice and rolls it.
    let pods = vec![
        pod("p-a", "u1", "node-a", "old", 1, true),
        pod("p-b", "u2", "node-b", "old", 1, true),
        pod("p-c", "u3", "node-c", "old", 1, true),
        pod("p-d", "u4", "node-d", "old", 1, true),
    ];
    let avoid: std::collections::BTreeMap<String, String> = [
        ("node-b".to_string(), "node is NotReady".to_string()),
        ("node-c".to_string(), "node is cordoned".to_string()),
    ]
    .into();
    let (steps, skipped) = select_steps_avoiding("ns", &pods, "new", 2, &RollTarget::NextOutdated(2), &avoid);
    assert_eq!(steps.iter().map(|s| s.node.as_str()).collect::<Vec<_>>(), vec!["node-a", "node-d"]);
    assert_eq!(
        skipped,
        vec![
            ("node-b".to_string(), "node is NotReady".to_string()),
            ("node-c".to_string(), "node is cordoned".to_string())
        ]
    );
    let (steps, _) = select_steps_avoiding("ns", &pods, "new", 2, &RollTarget::Nodes(vec!["node-b".into()]), &avoid);
    assert_eq!(steps.len(), 1, "a node the user names is rolled");
}
