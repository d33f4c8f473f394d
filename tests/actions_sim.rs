//! Actions against the simulator, through the real `kube` client over HTTP: each action changes
//! the cluster as intended, read-only mode sends no mutating request, a read-only token gets the
//! plain 403 sentence, the audit log holds each action, and `kubectl rollout history/status`
//! (the real kubectl, found on PATH) agree with ours.
//!
//! Waits poll the API until a condition holds or a generous deadline passes; the deadline only
//! turns a hang into a failure message, it asserts nothing about speed.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use common::sandbox::Sandbox;
use common::sim::SimCluster;
use daemonscope::cluster::actions::plan;
use daemonscope::cluster::actions::stepper::{RollOptions, RollTarget, pod_node, roll_nodes};
use daemonscope::cluster::actions::{ActionError, Actions, ActionsOptions, TaskEvent};
use daemonscope::fleet::model::{DsStatusCounts, UpdateStrategy};
use daemonscope::fleet::rollout::{self, RolloutStatus, UndoError};
use daemonscope::fleet::strategy::{self, StrategyForm, StrategyType};
use daemonscope::sim::{self, SimHandle, SimOptions, StartConfig};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use tokio_util::sync::CancellationToken;

const NS: &str = "kube-system";

/// Four nodes; `agent` (RollingUpdate, two revisions, settled on the newest), `rolling`
/// (RollingUpdate half-way through an update), `canary` (OnDelete, every pod still on the old
/// revision, and on node-02 the image cannot be pulled).
const SCENARIO: &str = r#"
name = "actions-test"
churn_per_sec = 0.0

[[pools]]
name = "node"
count = 4

[[daemonsets]]
name = "agent"
namespace = "kube-system"
image = "registry.example/agent:2.0"
previous_images = ["registry.example/agent:1.0"]
max_unavailable = "1"
delays = { bind_ms = 100, create_ms = 200, ready_ms = 200, crash_after_ms = 500 }

[[daemonsets]]
name = "rolling"
namespace = "kube-system"
image = "registry.example/rolling:2.0"
previous_images = ["registry.example/rolling:1.0"]
updated_fraction = 0.5

[[daemonsets]]
name = "canary"
namespace = "kube-system"
image = "registry.example/canary:2.0"
previous_images = ["registry.example/canary:1.0"]
strategy = "OnDelete"
updated_fraction = 0.0
delays = { bind_ms = 100, create_ms = 200, ready_ms = 200, crash_after_ms = 500 }
behaviours = [{ kind = "imagepull", pool = "node", indices = [2] }]
"#;

struct Fixture {
    sim: SimHandle,
    kubeconfig: PathBuf,
    sandbox: Sandbox,
}

impl Fixture {
    async fn start(frozen: bool) -> Fixture {
        Fixture::start_with(frozen, false).await
    }

    /// `tls`: kubectl (client-go) sends a bearer token only over HTTPS.
    async fn start_with(frozen: bool, tls: bool) -> Fixture {
        let sandbox = Sandbox::new();
        let scenario = sandbox.write("actions-test.toml", SCENARIO);
        let opts = SimOptions {
            scenario: scenario.display().to_string(),
            frozen,
            tls,
            churn: Some(0.0),
            ..SimOptions::default()
        };
        let SimCluster { sim, kubeconfig, sandbox } = SimCluster::start_in(sandbox, opts, StartConfig::default()).await;
        Fixture { sim, kubeconfig, sandbox }
    }

    fn audit_path(&self) -> PathBuf {
        self.sandbox.state_dir().join("audit.jsonl")
    }

    async fn actions(&self, readonly: bool) -> Actions {
        let client = self.sim.client().await.expect("client");
        Actions::new(client, self.options(readonly))
    }

    fn options(&self, readonly: bool) -> ActionsOptions {
        ActionsOptions {
            readonly,
            context: sim::CONTEXT.into(),
            user: "sim-admin".into(),
            audit_path: self.audit_path(),
            dry_run_first: true,
        }
    }

    async fn client(&self) -> kube::Client {
        self.sim.client().await.expect("client")
    }

    /// The real kubectl against the simulator: whether it succeeded, and stdout then stderr.
    fn kubectl(&self, args: &[&str]) -> (bool, String) {
        let out = self.sandbox.kubectl(&self.kubeconfig).args(args).output().expect("run kubectl");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text.trim().to_string())
    }
}

async fn get_ds(client: &kube::Client, name: &str) -> DaemonSet {
    kube::Api::<DaemonSet>::namespaced(client.clone(), NS).get(name).await.expect("get daemonset")
}

async fn pods_of(client: &kube::Client, ds: &str) -> Vec<Pod> {
    let d = get_ds(client, ds).await;
    let sel = d.spec.selector.match_labels.clone().unwrap_or_default();
    let sel = sel.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
    kube::Api::<Pod>::namespaced(client.clone(), NS)
        .list(&ListParams::default().labels(&sel))
        .await
        .expect("list pods")
        .items
}

/// node → (pod name, uid, revision hash, ready), live pods only.
async fn pods_by_node(client: &kube::Client, ds: &str) -> BTreeMap<String, (String, String, String, bool)> {
    pods_of(client, ds)
        .await
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| {
            let node = pod_node(p)?;
            let hash = p.metadata.labels.as_ref()?.get("controller-revision-hash")?.clone();
            Some((
                node,
                (
                    p.metadata.name.clone()?,
                    p.metadata.uid.clone()?,
                    hash,
                    daemonscope::cluster::actions::stepper::pod_ready(p),
                ),
            ))
        })
        .collect()
}

fn template_image(ds: &DaemonSet) -> String {
    ds.spec.template.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.image.clone()).unwrap_or_default()
}

/// The projection the fleet index holds, from a full DaemonSet (what `cluster::project` does).
fn projection(ds: &DaemonSet) -> (i64, UpdateStrategy, DsStatusCounts) {
    let st = ds.status.clone().unwrap_or_default();
    let strategy = match ds.spec.update_strategy.as_ref().and_then(|s| s.type_.as_deref()) {
        Some("OnDelete") => UpdateStrategy::OnDelete,
        _ => UpdateStrategy::RollingUpdate { max_unavailable: "1".into(), max_surge: "0".into() },
    };
    let counts = DsStatusCounts {
        desired: st.desired_number_scheduled,
        current: st.current_number_scheduled,
        ready: st.number_ready,
        updated: st.updated_number_scheduled.unwrap_or(0),
        available: st.number_available.unwrap_or(0),
        unavailable: st.number_unavailable.unwrap_or(0),
        misscheduled: st.number_misscheduled,
        observed_generation: st.observed_generation.unwrap_or(0),
    };
    (ds.metadata.generation.unwrap_or(0), strategy, counts)
}

async fn our_status(client: &kube::Client, name: &str) -> RolloutStatus {
    let (generation, strategy, counts) = projection(&get_ds(client, name).await);
    rollout::rollout_status(generation, &strategy, &counts)
}

/// Poll `check` every 200 ms until it yields Some, or fail after `limit` with `what`.
async fn wait_for<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const LONG: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_pod_deletes_it_and_the_daemonset_recreates_it_with_a_new_uid() {
    let fx = Fixture::start(false).await;
    let client = fx.client().await;
    let actions = fx.actions(false).await;
    let before = pods_by_node(&client, "agent").await;
    let (name, uid, _, _) = before.get("node-00").expect("agent pod on node-00").clone();

    let plan = plan::restart_pod(NS, &name, Some(&uid), Some("node-00"));
    let stats = fx.sim.stats();
    let outcome = actions.execute(&plan).await.expect("restart pod");
    assert_eq!(outcome.dry_run, daemonscope::cluster::actions::DryRun::Passed);
    assert!(outcome.notice.contains("re-creates it"), "{}", outcome.notice);
    let after_stats = fx.sim.stats();
    // One dry-run DELETE and one real DELETE.
    assert_eq!(
        after_stats.by_verb.get("delete").copied().unwrap_or(0) - stats.by_verb.get("delete").copied().unwrap_or(0),
        2
    );

    let new_uid = wait_for(LONG, "a new agent pod on node-00", || {
        let client = client.clone();
        let uid = uid.clone();
        async move {
            let now = pods_by_node(&client, "agent").await;
            now.get("node-00").filter(|p| p.1 != uid && p.3).map(|p| p.1.clone())
        }
    })
    .await;
    assert_ne!(new_uid, uid);

    // Deleting the old pod again: its uid precondition no longer matches anything → plain error.
    let again = actions.execute(&plan).await.unwrap_err();
    assert!(matches!(again, ActionError::NotFound { .. } | ActionError::Conflict { .. }), "{again}");
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_restart_sets_restarted_at_and_rolls_every_pod_to_a_new_revision() {
    let fx = Fixture::start(false).await;
    let client = fx.client().await;
    let actions = fx.actions(false).await;
    let old_hashes: std::collections::BTreeSet<String> =
        pods_by_node(&client, "agent").await.values().map(|p| p.2.clone()).collect();
    let now = jiff::Timestamp::now();
    let plan = plan::rollout_restart(NS, "agent", now);
    actions.execute(&plan).await.expect("rollout restart");

    let ds = get_ds(&client, "agent").await;
    let ann = ds.spec.template.metadata.as_ref().and_then(|m| m.annotations.clone()).unwrap_or_default();
    assert_eq!(ann.get(plan::RESTARTED_AT_ANNOTATION), Some(&plan::rfc3339(now)));

    wait_for(LONG, "agent to roll out", || {
        let client = client.clone();
        async move { our_status(&client, "agent").await.done().then_some(()) }
    })
    .await;
    let after = pods_by_node(&client, "agent").await;
    assert_eq!(after.len(), 4);
    for (node, (_, _, hash, ready)) in &after {
        assert!(!old_hashes.contains(hash), "{node} still on an old revision {hash}");
        assert!(ready, "{node} not ready");
    }
    let history = actions.fetch_history(NS, "agent").await.expect("history");
    assert_eq!(history.len(), 3, "{history:?}");
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_restores_the_previous_template_and_refuses_a_matching_one() {
    let fx = Fixture::start(false).await;
    let client = fx.client().await;
    let actions = fx.actions(false).await;
    assert_eq!(template_image(&get_ds(&client, "agent").await), "registry.example/agent:2.0");

    let history = actions.fetch_history(NS, "agent").await.expect("history");
    let newest = history.last().expect("revisions").revision;
    // The newest revision is the current template: kubectl skips it.
    let err = actions.plan_undo(NS, "agent", Some(newest)).await.unwrap_err();
    assert_eq!(err, ActionError::Undo(UndoError::AlreadyMatches(newest)));
    assert_eq!(err.to_string(), format!("skipped rollback (current template already matches revision {newest})"));

    let plan = actions.plan_undo(NS, "agent", None).await.expect("plan undo");
    assert_eq!(plan.verb, daemonscope::cluster::actions::Verb::RolloutUndo { to_revision: newest - 1 });
    assert_eq!(plan.body["spec"]["template"]["$patch"], "replace");
    actions.execute(&plan).await.expect("undo");
    assert_eq!(template_image(&get_ds(&client, "agent").await), "registry.example/agent:1.0");

    wait_for(LONG, "agent pods back on agent:1.0", || {
        let client = client.clone();
        async move {
            let pods = pods_of(&client, "agent").await;
            let live: Vec<&Pod> = pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect();
            (live.len() == 4
                && live.iter().all(|p| {
                    p.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.image.as_deref())
                        == Some("registry.example/agent:1.0")
                }))
            .then_some(())
        }
    })
    .await;
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategy_is_patched_and_invalid_input_never_reaches_the_server() {
    let fx = Fixture::start(false).await;
    let client = fx.client().await;
    let actions = fx.actions(false).await;

    let before = fx.sim.stats().mutating;
    let bad = StrategyForm { kind: StrategyType::RollingUpdate, max_unavailable: "0".into(), max_surge: "0%".into() };
    let errs = strategy::validate(&bad).unwrap_err();
    assert_eq!(errs[0].to_string(), "maxUnavailable: cannot be 0 when maxSurge is 0");
    assert_eq!(fx.sim.stats().mutating, before, "nothing may be sent for an invalid form");

    let form = StrategyForm { kind: StrategyType::RollingUpdate, max_unavailable: "0".into(), max_surge: "25%".into() };
    let valid = strategy::validate(&form).expect("valid");
    actions.execute(&plan::update_strategy(NS, "agent", &valid)).await.expect("patch strategy");
    let s = get_ds(&client, "agent").await.spec.update_strategy.expect("strategy");
    let ru = s.rolling_update.expect("rollingUpdate");
    assert_eq!(s.type_.as_deref(), Some("RollingUpdate"));
    assert_eq!(serde_json::to_value(ru.max_surge).unwrap(), serde_json::json!("25%"));
    assert_eq!(serde_json::to_value(ru.max_unavailable).unwrap(), serde_json::json!(0));

    let on_delete = strategy::validate(&StrategyForm { kind: StrategyType::OnDelete, ..form }).expect("valid");
    actions.execute(&plan::update_strategy(NS, "agent", &on_delete)).await.expect("switch to OnDelete");
    let s = get_ds(&client, "agent").await.spec.update_strategy.expect("strategy");
    assert_eq!(s.type_.as_deref(), Some("OnDelete"));
    assert!(s.rolling_update.is_none(), "rollingUpdate must be removed: {s:?}");
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_delete_stepping_replaces_exactly_n_nodes_then_stops_at_a_failing_new_pod() {
    let fx = Fixture::start(false).await;
    let client = fx.client().await;
    let actions = fx.actions(false).await;
    let before = pods_by_node(&client, "canary").await;
    assert_eq!(before.len(), 4);

    // Roll the next 2 outdated nodes: node-00 and node-01, and nothing else.
    let plan = actions.plan_roll(NS, "canary", RollTarget::NextOutdated(2)).await.expect("plan roll");
    assert_eq!(plan.steps.iter().map(|s| s.node.as_str()).collect::<Vec<_>>(), vec!["node-00", "node-01"]);
    let mut events = Vec::new();
    let report = roll_nodes(
        &actions,
        &plan,
        RollOptions { ready_timeout: Duration::from_secs(60) },
        |e| events.push(e),
        CancellationToken::new(),
    )
    .await;
    assert_eq!(report.rolled, vec!["node-00".to_string(), "node-01".to_string()], "{report:?} {events:?}");
    assert!(report.failed.is_none() && !report.cancelled);
    assert!(matches!(events.last(), Some(TaskEvent::Finished { ok: true, .. })), "{events:?}");
    let mid = pods_by_node(&client, "canary").await;
    for node in ["node-00", "node-01"] {
        assert_ne!(mid[node].1, before[node].1, "{node} must have a new pod");
        assert_eq!(mid[node].2, plan.newest_hash);
    }
    for node in ["node-02", "node-03"] {
        assert_eq!(mid[node].1, before[node].1, "{node} must not be touched");
    }

    // Next two: node-02's new pod cannot pull its image → the roll stops there; node-03 untouched.
    let plan = actions.plan_roll(NS, "canary", RollTarget::NextOutdated(2)).await.expect("plan roll");
    assert_eq!(plan.steps.iter().map(|s| s.node.as_str()).collect::<Vec<_>>(), vec!["node-02", "node-03"]);
    let report = roll_nodes(
        &actions,
        &plan,
        RollOptions { ready_timeout: Duration::from_secs(60) },
        |_| {},
        CancellationToken::new(),
    )
    .await;
    assert!(report.rolled.is_empty(), "{report:?}");
    let (node, why) = report.failed.expect("stops at node-02");
    assert_eq!(node, "node-02");
    assert!(why.contains("ErrImagePull") || why.contains("ImagePullBackOff"), "{why}");
    let end = pods_by_node(&client, "canary").await;
    assert_eq!(end["node-03"].1, before["node-03"].1, "node-03 must not be touched");

    // RollingUpdate DaemonSets are refused.
    let err = actions.plan_roll(NS, "agent", RollTarget::NextOutdated(1)).await.unwrap_err();
    assert!(err.to_string().contains("OnDelete"), "{err}");
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_mode_sends_no_mutating_request() {
    let fx = Fixture::start(true).await;
    let client = fx.client().await;
    let actions = fx.actions(true).await;
    let pod = pods_by_node(&client, "agent").await["node-00"].clone();
    let before = fx.sim.stats();

    let plans = vec![
        plan::restart_pod(NS, &pod.0, Some(&pod.1), Some("node-00")),
        plan::rollout_restart(NS, "agent", jiff::Timestamp::now()),
        plan::update_strategy(NS, "agent", &strategy::ValidStrategy::OnDelete),
    ];
    for p in &plans {
        let err = actions.execute(p).await.unwrap_err();
        assert!(matches!(err, ActionError::ReadOnly { .. }), "{err}");
        assert!(err.to_string().starts_with("read-only mode:"), "{err}");
    }
    let batch = daemonscope::cluster::actions::run_batch(
        &actions,
        "batch",
        plans.clone(),
        Duration::from_millis(1),
        |_| {},
        CancellationToken::new(),
        false,
    )
    .await;
    assert_eq!(batch.done, 0);
    assert_eq!(batch.not_attempted, 2, "a read-only refusal stops the batch");

    let after = fx.sim.stats();
    assert_eq!(after.mutating, before.mutating, "no POST/PUT/PATCH/DELETE may reach the server");
    assert_eq!(after.total, before.total, "read-only refusal happens before any request");
    let audit = actions.audit().read_all().expect("audit");
    assert_eq!(audit.len(), 4);
    assert!(audit.iter().all(|e| e.result == "refused: read-only"), "{audit:?}");
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_gets_the_plain_forbidden_sentence() {
    let fx = Fixture::start(true).await;
    let ro = fx.sim.readonly_client().await.expect("read-only client");
    let actions = Actions::new(ro, fx.options(false));
    let err = actions.execute(&plan::rollout_restart(NS, "agent", jiff::Timestamp::now())).await.unwrap_err();
    assert!(matches!(err, ActionError::Forbidden { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("forbidden: you cannot patch daemonsets in kube-system (RBAC); is this a read-only token"),
        "{err}"
    );
    let audit = actions.audit().read_all().expect("audit");
    assert_eq!(audit.len(), 2, "an intent before the request, a result after it: {audit:?}");
    assert_eq!((audit[0].phase.as_str(), audit[1].phase.as_str()), ("intent", "result"));
    assert!(audit[1].result.starts_with("error: forbidden"), "{:?}", audit[1]);
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_holds_each_executed_action() {
    let fx = Fixture::start(false).await;
    let client = fx.client().await;
    let actions = fx.actions(false).await;
    let pod = pods_by_node(&client, "agent").await["node-01"].clone();
    actions.execute(&plan::restart_pod(NS, &pod.0, Some(&pod.1), Some("node-01"))).await.expect("restart");
    actions.execute(&plan::rollout_restart(NS, "rolling", jiff::Timestamp::now())).await.expect("rollout restart");
    let all = actions.audit().read_all().expect("audit");
    assert_eq!(all.len(), 4, "an intent and a result line per action: {all:?}");
    let phases: Vec<&str> = all.iter().map(|e| e.phase.as_str()).collect();
    assert_eq!(phases, ["intent", "result", "intent", "result"]);
    assert!(all[0].body.is_some() && all[2].body.is_some(), "intents carry the exact body");
    let audit: Vec<_> = all.into_iter().filter(|e| e.phase == "result").collect();
    assert_eq!(audit[0].verb, "restart pod");
    assert_eq!(audit[0].object, format!("pod {NS}/{}", pod.0));
    assert_eq!(audit[1].verb, "rollout restart");
    assert_eq!(audit[1].object, "daemonset kube-system/rolling");
    for e in &audit {
        assert_eq!(e.result, "ok");
        assert_eq!(e.context, sim::CONTEXT);
        assert_eq!(e.user, "sim-admin");
        assert!(e.time.parse::<jiff::Timestamp>().is_ok(), "{}", e.time);
    }
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rollout_status_and_history_agree_with_ours() {
    // Frozen: nothing moves between our read and kubectl's.
    let fx = Fixture::start_with(true, true).await;
    let client = fx.client().await;
    let actions = fx.actions(false).await;

    for name in ["agent", "rolling", "canary"] {
        let ours = our_status(&client, name).await;
        let (ok, text) = fx.kubectl(&["-n", NS, "rollout", "status", &format!("ds/{name}"), "--watch=false"]);
        if ours.is_error() {
            assert!(!ok, "{name}: kubectl should fail: {text}");
            assert!(text.contains(&ours.message(name)), "{name}: kubectl {text:?} vs ours {:?}", ours.message(name));
        } else {
            assert!(ok, "{name}: {text}");
            assert_eq!(text, ours.message(name), "{name}");
        }
    }
    // The scenario makes these three cases distinct.
    assert!(our_status(&client, "agent").await.done());
    assert!(matches!(our_status(&client, "rolling").await, RolloutStatus::WaitingUpdated { .. }));
    assert!(our_status(&client, "canary").await.is_error());

    for name in ["agent", "canary"] {
        let ours = actions.fetch_history(NS, name).await.expect("history");
        let (ok, text) = fx.kubectl(&["-n", NS, "rollout", "history", &format!("ds/{name}")]);
        assert!(ok, "{text}");
        // daemonset.apps/<name>
        // REVISION  CHANGE-CAUSE
        // 1         <none>
        let rows: Vec<(i64, String)> = text
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let rev = it.next()?.parse().ok()?;
                Some((rev, it.collect::<Vec<_>>().join(" ")))
            })
            .collect();
        let want: Vec<(i64, String)> = ours.iter().map(|r| (r.revision, r.change_cause_text().to_string())).collect();
        assert_eq!(rows, want, "{name}: kubectl said:\n{text}");
        assert!(!want.is_empty());
    }
    fx.sim.shutdown().await;
}

/// A pod whose node went away never finishes terminating (only a live kubelet removes a pod
/// after its grace period); a batch that deleted it waits for it up to the termination
/// deadline, then stops: the next pod is not deleted. mixed.toml: general-19's kubelet stopped
/// posting status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_stuck_terminating_stops_the_batch_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SimOptions { scenario: "mixed".into(), churn: Some(0.0), ..SimOptions::default() };
    let sim = sim::start(opts).await.expect("simulator");
    let client = sim.client().await.expect("client");
    let options = ActionsOptions {
        readonly: false,
        context: sim::CONTEXT.into(),
        user: "sim-admin".into(),
        audit_path: dir.path().join("audit.jsonl"),
        dry_run_first: true,
    };
    let actions = Actions::new(client.clone(), options).with_termination_deadline(Duration::from_secs(3));
    let pods = pods_by_node(&client, "kube-proxy").await;
    let plans: Vec<_> = ["general-19", "general-00"]
        .iter()
        .map(|node| {
            let p = &pods[*node];
            plan::restart_pod(NS, &p.0, Some(&p.1), Some(node))
        })
        .collect();
    let mut messages = Vec::new();
    let report = daemonscope::cluster::actions::run_batch(
        &actions,
        "restart kube-proxy",
        plans,
        Duration::from_millis(50),
        |e| {
            if let TaskEvent::Progress { message, .. } = e {
                messages.push(message);
            }
        },
        CancellationToken::new(),
        false,
    )
    .await;
    assert_eq!((report.done, report.not_attempted), (1, 1), "{report:?}");
    let stuck = &pods["general-19"].0;
    let why = &report.failed[0].1;
    assert!(
        why.starts_with(&format!(
            "pod kube-system/{stuck} still terminating after 3 s (its node general-19 may be down"
        )) && why.ends_with("batch stopped"),
        "{why}"
    );
    assert_eq!(messages.last(), Some(why));
    // general-00's pod was never touched.
    let after = pods_by_node(&client, "kube-proxy").await;
    assert_eq!(after.get("general-00").map(|p| &p.1), Some(&pods["general-00"].1), "general-00's pod is the same pod");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_restart_runs_one_at_a_time_and_stops_when_cancelled() {
    let fx = Fixture::start(false).await;
    let client = fx.client().await;
    let actions = fx.actions(false).await;
    let pods = pods_by_node(&client, "agent").await;
    let plans: Vec<_> =
        pods.iter().take(3).map(|(node, p)| plan::restart_pod(NS, &p.0, Some(&p.1), Some(node))).collect();

    // Cancel as soon as the first restart is reported: the other two are never sent.
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let mut events = Vec::new();
    let report = daemonscope::cluster::actions::run_batch(
        &actions,
        "restart agent",
        plans.clone(),
        Duration::from_secs(3600),
        |e| {
            if matches!(e, TaskEvent::Progress { .. }) {
                c.cancel();
            }
            events.push(e);
        },
        cancel,
        false,
    )
    .await;
    assert_eq!(report.done, 1);
    assert!(report.cancelled);
    assert_eq!(report.not_attempted, 2);
    assert!(
        matches!(events.last(), Some(TaskEvent::Finished { ok: false, message, .. }) if message == "1 of 3 restarted, cancelled"),
        "{events:?}"
    );
    let audit = actions.audit().read_all().expect("audit");
    let results: Vec<_> = audit.iter().filter(|e| e.phase == "result" && !e.verb.starts_with("batch: ")).collect();
    assert_eq!(results.len(), 1, "only the first restart was executed: {audit:?}");
    // The batch's own lines: its intent names the three pods, its result how it ended.
    let batch: Vec<_> = audit.iter().filter(|e| e.verb == "batch: restart agent").collect();
    assert_eq!(batch.len(), 2, "{audit:?}");
    assert_eq!((batch[0].phase.as_str(), batch[0].request.as_str()), ("intent", "3 requests, one every 3600 s"));
    assert_eq!(batch[1].result, "error: 1 of 3 restarted, cancelled");

    // The remaining two with a short pace: both go through, in order.
    let mut done = Vec::new();
    let report = daemonscope::cluster::actions::run_batch(
        &actions,
        "restart agent",
        plans[1..].to_vec(),
        Duration::from_millis(50),
        |e| {
            if let TaskEvent::Progress { done: d, total, .. } = e {
                done.push((d, total));
            }
        },
        CancellationToken::new(),
        false,
    )
    .await;
    assert_eq!(report.done, 2, "{report:?}");
    assert_eq!(done, vec![(1, 2), (2, 2)]);
    fx.sim.shutdown().await;
}
