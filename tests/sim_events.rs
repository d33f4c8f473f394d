//! ResourceQuota and Warning events of the simulator, through the real `kubectl` and the
//! `kube` client over TLS: `kubectl create/get/patch/delete quota`, quota admission on a pod
//! POST (403 with the API server's message), the DaemonSet controller's FailedCreate when a
//! quota refuses its pods, and the kubelet's BackOff/Unhealthy events about troubled pods.
//! Expected values are counted by hand from the scenarios written here and from the message
//! formats of Kubernetes v1.28 (plugin/pkg/admission/resourcequota, pkg/kubelet).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::objects::pod;
use common::sandbox::Sandbox;
use common::sim::SimCluster;
use daemonscope::sim::{self, SimOptions, StartConfig};
use k8s_openapi::api::core::v1::{Event, Pod, ResourceQuota, ResourceQuotaSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, PostParams};

/// Longer than any single wait below, so the test's own message is what a failure shows.
const WAIT: Duration = Duration::from_secs(90);

/// 4 nodes; `fluent-bit` runs on all of them (4 pods in `logging`); in `trouble`, `crasher`
/// crash-loops on general-00 only and `unready` fails its readiness probe on general-01 only;
/// in `pulls`, `puller`'s image cannot be pulled on general-02 only.
/// Short delays so a replacement pod crashes within seconds.
const SCENARIO: &str = r#"
name = "events"
churn_per_sec = 0.0

[[pools]]
name = "general"
count = 4
instance_type = "m6i.xlarge"
cpu = 4
memory_gi = 16

[[daemonsets]]
name = "fluent-bit"
namespace = "logging"
flavour = "log-shipper"
image = "cr.fluentbit.io/fluent/fluent-bit:3.1.9"
tolerate_all = true

[[daemonsets]]
name = "crasher"
namespace = "trouble"
flavour = "node-exporter"
image = "quay.io/prometheus/node-exporter:v1.8.2"
delays = { bind_ms = 100, create_ms = 300, ready_ms = 300, crash_after_ms = 1000 }

[[daemonsets.behaviours]]
kind = "crashloop"
indices = [0]

[[daemonsets]]
name = "unready"
namespace = "trouble"
flavour = "node-exporter"
image = "quay.io/prometheus/node-exporter:v1.8.2"

[[daemonsets.behaviours]]
kind = "notready"
indices = [1]

[[daemonsets]]
name = "puller"
namespace = "pulls"
flavour = "node-exporter"
image = "quay.io/prometheus/node-exporter:v0.0.0-missing"

[[daemonsets.behaviours]]
kind = "imagepull"
indices = [2]
"#;

struct Env {
    cluster: SimCluster,
}

/// The scenario above with its controllers on a running clock, over TLS.
async fn env() -> Env {
    let sandbox = Sandbox::new();
    let path = sandbox.write("events.toml", SCENARIO);
    let opts = SimOptions { scenario: path.display().to_string(), tls: true, ..Default::default() };
    Env { cluster: SimCluster::start_in(sandbox, opts, StartConfig::default()).await }
}

impl Env {
    /// Run kubectl to completion: (success, stdout, stderr).
    async fn try_run(&self, args: &[&str]) -> (bool, String, String) {
        let mut c = tokio::process::Command::from(self.cluster.kubectl());
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let out = tokio::time::timeout(WAIT, c.output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish"))
            .expect("kubectl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Run kubectl; panics with its stderr when it fails.
    async fn run(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.try_run(args).await;
        assert!(ok, "kubectl {args:?} failed: {err}\n{out}");
        out
    }

    /// Run kubectl until its output satisfies `done`; panics with the last output otherwise.
    async fn run_until(&self, args: &[&str], what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let out = self.run(args).await;
            if done(&out) {
                return out;
            }
            assert!(tokio::time::Instant::now() < deadline, "waiting for {what}; last `kubectl {args:?}`:\n{out}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Pod names in a namespace, by kubectl.
    async fn pod_names(&self, ns: &str) -> Vec<String> {
        let out = self.run(&["get", "pods", "-n", ns, "-o", "jsonpath={.items[*].metadata.name}"]).await;
        out.split_whitespace().map(String::from).collect()
    }
}

/// The admission plugin's message for one more pod over a pods limit of `limit` (all used).
fn exceeded(name: &str, quota: &str, limit: u32) -> String {
    format!(
        "pods \"{name}\" is forbidden: exceeded quota: {quota}, requested: pods=1, used: pods={limit}, limited: pods={limit}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_below_what_a_daemonset_needs_leaves_pods_missing_until_raised() {
    let e = env().await;
    assert_eq!(e.pod_names("logging").await.len(), 4, "fluent-bit on all 4 nodes");

    e.run(&["create", "quota", "pods-limit", "--hard=pods=2", "-n", "logging"]).await;
    // A quota does not evict: 4 pods stay, over the limit of 2.
    let table = e.run(&["get", "quota", "-n", "logging"]).await;
    let header: Vec<&str> = table.lines().next().unwrap_or("").split_whitespace().collect();
    assert_eq!(header, ["NAME", "AGE", "REQUEST", "LIMIT"], "{table}");
    assert!(table.contains("pods-limit") && table.contains("pods: 4/2"), "{table}");

    // All four go at once; the controller may create 2 (the quota) of the 4 it needs.
    e.run(&["delete", "pods", "--all", "-n", "logging", "--grace-period=0", "--force"]).await;
    let want = format!("Error creating: {}", exceeded("fluent-bit-", "pods-limit", 2));
    let warnings = e
        .run_until(
            &["get", "events", "-n", "logging", "--field-selector", "type=Warning,involvedObject.kind=DaemonSet"],
            "FailedCreate for the quota",
            |out| out.contains(&want),
        )
        .await;
    assert!(warnings.contains("FailedCreate") && warnings.contains("daemonset/fluent-bit"), "{warnings}");
    // Let the controller's retries run: the count stays at the quota.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(e.pod_names("logging").await.len(), 2, "4 nodes, quota 2: 2 pods missing");
    let current =
        e.run(&["get", "ds", "fluent-bit", "-n", "logging", "-o", "jsonpath={.status.currentNumberScheduled}"]).await;
    assert_eq!(current.trim(), "2");
    let described = e.run(&["describe", "ds", "fluent-bit", "-n", "logging"]).await;
    let events = described.split("Events:").nth(1).unwrap_or("");
    assert!(events.contains("FailedCreate") && events.contains("exceeded quota: pods-limit"), "{described}");
    let all = e.run(&["get", "events", "-A", "--field-selector", "type=Warning"]).await;
    assert!(all.contains(&want), "{all}");

    // Raised: the controller creates the rest.
    e.run(&[
        "patch",
        "quota",
        "pods-limit",
        "-n",
        "logging",
        "--type=merge",
        "-p",
        r#"{"spec":{"hard":{"pods":"10"}}}"#,
    ])
    .await;
    e.run_until(&["get", "pods", "-n", "logging", "-o", "name"], "4 fluent-bit pods", |out| out.lines().count() == 4)
        .await;
    e.run_until(&["get", "quota", "pods-limit", "-n", "logging"], "used 4 of 10", |out| out.contains("pods: 4/10"))
        .await;
    e.run(&["delete", "quota", "pods-limit", "-n", "logging"]).await;
    let (ok, _, err) = e.try_run(&["get", "quota", "pods-limit", "-n", "logging"]).await;
    assert!(!ok && err.contains("not found"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_quota_lets_the_controller_create_the_missing_pods() {
    let e = env().await;
    e.run(&["create", "quota", "one", "--hard=pods=1", "-n", "logging"]).await;
    e.run(&["delete", "pods", "--all", "-n", "logging", "--grace-period=0", "--force"]).await;
    e.run_until(
        &["get", "events", "-n", "logging", "--field-selector", "reason=FailedCreate"],
        "FailedCreate for quota one",
        |out| out.contains(&exceeded("fluent-bit-", "one", 1)),
    )
    .await;
    assert_eq!(e.pod_names("logging").await.len(), 1);
    e.run(&["delete", "quota", "one", "-n", "logging"]).await;
    e.run_until(&["get", "pods", "-n", "logging", "-o", "name"], "4 fluent-bit pods", |out| out.lines().count() == 4)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_post_over_the_quota_is_forbidden_with_the_api_servers_message() {
    let opts = SimOptions { scenario: sim::EMPTY_SCENARIO.into(), tls: true, ..Default::default() };
    let cluster = SimCluster::start_in(Sandbox::new(), opts, common::sim::without_controllers()).await;
    let c = cluster.sim.client().await.expect("client");
    let quotas: Api<ResourceQuota> = Api::namespaced(c.clone(), "default");
    let q = ResourceQuota {
        metadata: ObjectMeta { name: Some("pods-limit".into()), ..Default::default() },
        spec: Some(ResourceQuotaSpec {
            hard: Some([("pods".to_string(), Quantity("2".into()))].into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = quotas.create(&PostParams::default(), &q).await.expect("quota created");
    let st = created.status.expect("status filled by the quota controller");
    assert_eq!(st.used.and_then(|u| u.get("pods").cloned()), Some(Quantity("0".into())));

    let pods: Api<Pod> = Api::namespaced(c, "default");
    for n in ["web-1", "web-2"] {
        pods.create(&PostParams::default(), &pod(n, None, &[("app", "web")])).await.expect("under the quota");
    }
    match pods.create(&PostParams::default(), &pod("web-3", None, &[("app", "web")])).await {
        Err(kube::Error::Api(ae)) => {
            assert_eq!((ae.code, ae.reason.as_str()), (403, "Forbidden"));
            assert_eq!(ae.message, exceeded("web-3", "pods-limit", 2));
        }
        other => panic!("a third pod over pods=2 must be forbidden, got {other:?}"),
    }
    let mut generated = pod("", None, &[("app", "web")]);
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("web-".into());
    match pods.create(&PostParams::default(), &generated).await {
        Err(kube::Error::Api(ae)) => assert_eq!(ae.message, exceeded("web-", "pods-limit", 2)),
        other => panic!("a generateName pod over the quota must be forbidden, got {other:?}"),
    }
    assert_eq!(pods.list(&ListParams::default()).await.expect("list").items.len(), 2, "nothing created");
    let st = quotas.get("pods-limit").await.expect("quota").status.expect("status");
    assert_eq!(st.hard.and_then(|h| h.get("pods").cloned()), Some(Quantity("2".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_looping_and_unready_pods_have_the_kubelets_warning_events() {
    let e = env().await;
    let c = e.cluster.sim.client().await.expect("client");
    let pods: Api<Pod> = Api::namespaced(c.clone(), "trouble");
    let on = |node: &'static str, prefix: &'static str| {
        let pods = pods.clone();
        async move {
            let list = pods.list(&ListParams::default().fields(&format!("spec.nodeName={node}"))).await.expect("list");
            list.items
                .into_iter()
                .find(|p| p.metadata.name.as_deref().is_some_and(|n| n.starts_with(prefix)))
                .unwrap_or_else(|| panic!("no {prefix} pod on {node}"))
        }
    };

    // The crash loop at time zero: waiting in CrashLoopBackOff with the kubelet's message.
    let crash = on("general-00", "crasher-").await;
    let name = crash.metadata.name.clone().unwrap_or_default();
    let uid = crash.metadata.uid.clone().unwrap_or_default();
    let container = crash.spec.as_ref().map(|s| s.containers[0].name.clone()).unwrap_or_default();
    let backoff = format!("Back-off restarting failed container {container} in pod {name}_trouble({uid})");
    let out = e
        .run_until(
            &["get", "events", "-n", "trouble", "--field-selector", "involvedObject.kind=Pod,reason=BackOff"],
            "BackOff of the crash-looping pod",
            |out| out.contains(&backoff),
        )
        .await;
    assert!(out.contains("Warning") && out.contains(&format!("pod/{name}")), "{out}");

    // A replacement pod crashes on the kubelet's watch: its own BackOff, counted on repeats.
    e.run(&["delete", "pod", &name, "-n", "trouble", "--grace-period=0", "--force"]).await;
    let events: Api<Event> = Api::namespaced(c, "trouble");
    let deadline = tokio::time::Instant::now() + WAIT;
    let (fresh, ev) = loop {
        let p = pods.list(&ListParams::default().fields("spec.nodeName=general-00")).await.expect("list");
        let replacement = p
            .items
            .into_iter()
            .find(|p| p.metadata.name.as_deref().is_some_and(|n| n.starts_with("crasher-") && n != name));
        if let Some(p) = replacement {
            let pn = p.metadata.name.clone().unwrap_or_default();
            let fs = format!("involvedObject.name={pn},reason=BackOff");
            let found = events.list(&ListParams::default().fields(&fs)).await.expect("events").items;
            if let Some(ev) = found.into_iter().next() {
                break (p, ev);
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "no BackOff for a replacement crasher pod");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let fresh_name = fresh.metadata.name.clone().unwrap_or_default();
    let fresh_uid = fresh.metadata.uid.clone().unwrap_or_default();
    assert_eq!(ev.type_.as_deref(), Some("Warning"));
    assert_eq!(
        ev.message.as_deref(),
        Some(
            format!("Back-off restarting failed container {container} in pod {fresh_name}_trouble({fresh_uid})")
                .as_str()
        )
    );
    let io = &ev.involved_object;
    assert_eq!((io.kind.as_deref(), io.api_version.as_deref()), (Some("Pod"), Some("v1")));
    assert_eq!(io.uid.as_deref(), Some(fresh_uid.as_str()));
    assert_eq!(io.field_path.as_deref(), Some(format!("spec.containers{{{container}}}").as_str()));
    let src = ev.source.clone().unwrap_or_default();
    assert_eq!((src.component.as_deref(), src.host.as_deref()), (Some("kubelet"), Some("general-00")));
    assert_eq!(ev.reporting_component.as_deref(), Some("kubelet"));
    assert_eq!(ev.reporting_instance.as_deref(), Some("general-00"));
    // First crash: back-off 10s (kubelet's initial container back-off), printed as Go does.
    let waiting = pods
        .get(&fresh_name)
        .await
        .expect("pod")
        .status
        .and_then(|s| s.container_statuses)
        .and_then(|c| c.into_iter().next())
        .and_then(|c| c.state)
        .and_then(|s| s.waiting);
    if let Some(w) = waiting.filter(|w| w.reason.as_deref() == Some("CrashLoopBackOff")) {
        let m = w.message.unwrap_or_default();
        let want_tail = format!("restarting failed container={container} pod={fresh_name}_trouble({fresh_uid})");
        assert!(m.starts_with("back-off 10s ") || m.starts_with("back-off 20s "), "{m}");
        assert!(m.ends_with(&want_tail), "{m}");
    }

    // The unready pod: Unhealthy from its failing readiness probe.
    let unready = on("general-01", "unready-").await;
    let uname = unready.metadata.name.clone().unwrap_or_default();
    let out = e
        .run_until(
            &["get", "events", "-n", "trouble", "--field-selector", "involvedObject.kind=Pod,reason=Unhealthy"],
            "Unhealthy of the unready pod",
            |out| out.contains(&format!("pod/{uname}")),
        )
        .await;
    assert!(out.contains("Readiness probe failed: HTTP probe failed with statuscode: 503"), "{out}");
    let described = e.run(&["describe", "pod", &uname, "-n", "trouble"]).await;
    let events = described.split("Events:").nth(1).unwrap_or("");
    assert!(events.contains("Unhealthy") && events.contains("kubelet"), "{described}");
    // Healthy pods have none: only the two troubled ones appear among Pod warnings.
    let warned = e
        .run(&[
            "get",
            "events",
            "-n",
            "trouble",
            "--field-selector",
            "type=Warning,involvedObject.kind=Pod",
            "-o",
            "jsonpath={.items[*].involvedObject.name}",
        ])
        .await;
    let mut names: Vec<&str> = warned.split_whitespace().collect();
    names.sort();
    names.dedup();
    assert!(names.iter().all(|n| n.starts_with("crasher-") || *n == uname), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_cannot_be_pulled_has_the_kubelets_failed_and_back_off_events() {
    let e = env().await;
    let image = "quay.io/prometheus/node-exporter:v0.0.0-missing";
    // containerd's NotFound through CRI, as the kubelet quotes it.
    let runtime = format!(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
    );
    let out =
        e.run(&["get", "events", "-n", "pulls", "--field-selector", "involvedObject.kind=Pod", "-o", "wide"]).await;
    assert!(out.contains(&format!("Failed to pull image \"{image}\": {runtime}")), "{out}");
    assert!(out.contains("Error: ErrImagePull") && out.contains("Error: ImagePullBackOff"), "{out}");
    assert!(out.contains(&format!("Back-off pulling image \"{image}\"")), "{out}");
    assert!(out.contains("kubelet, general-02"), "{out}");
    // Only the pod on general-02: the other three pull.
    let names = e.run(&["get", "events", "-n", "pulls", "-o", "jsonpath={.items[*].involvedObject.name}"]).await;
    let mut names: Vec<&str> = names.split_whitespace().collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 1, "{names:?}");
    // The back-off of the puller is a Normal event; its errors are Warnings.
    let warnings = e
        .run(&["get", "events", "-n", "pulls", "--field-selector", "type=Warning", "-o", "jsonpath={.items[*].reason}"])
        .await;
    assert_eq!(warnings.split_whitespace().collect::<Vec<_>>(), ["Failed", "Failed", "Failed"], "{warnings}");
}
