//! ResourceQuota and Warning events of the simulator, through the real `kubectl` and the
//! `kube` client over TLS: `kubectl create/get/patch/delete quota`, quota admission on a pod
//! POST (403 with the API server's message), the DaemonSet controller's FailedCreate when a
//! quota refuses its pods, the kubelet's BackOff/Unhealthy events about troubled pods, its
//! eviction of a pod under memory pressure with the DaemonSet controller's FailedDaemonPod, the
//! node lifecycle controller's NodeNotReady, and the scheduler's FailedScheduling on a full node.
//! Expected values are counted by hand from the scenarios written here and from the message
//! formats of Kubernetes (plugin/pkg/admission/resourcequota, pkg/kubelet,
//! pkg/controller/daemon, pkg/controller/util/node, pkg/scheduler; files cited where used).

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
    env_with(SCENARIO).await
}

/// A scenario's text with its controllers on a running clock, over TLS.
async fn env_with(scenario: &str) -> Env {
    let sandbox = Sandbox::new();
    let path = sandbox.write("events.toml", scenario);
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

/// 2 nodes; `mem-hog` in `pressure` runs on both, but general-00 is short of memory: its kubelet
/// evicts the pod a second after it starts, every time.
const PRESSURE: &str = r#"
name = "pressure"
churn_per_sec = 0.0

[[pools]]
name = "general"
count = 2

[[daemonsets]]
name = "mem-hog"
namespace = "pressure"
flavour = "node-exporter"
image = "quay.io/prometheus/node-exporter:v1.8.2"
delays = { bind_ms = 100, create_ms = 300, ready_ms = 300, crash_after_ms = 1000 }

[[daemonsets.behaviours]]
kind = "evicted"
indices = [0]
"#;

/// The lines of `snapshot -o wide` about `ds` on `node`.
async fn wide_lines(e: &Env, node: &str, ds: &str) -> Vec<String> {
    let out = e.cluster.daemonscope().args(["snapshot", "-o", "wide"]).output().expect("snapshot");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .filter(|l| l.starts_with(&format!("{node} ")) && l.contains(&format!(" {ds} ")))
        .map(String::from)
        .collect()
}

/// `(name, phase, status.reason)` of the pods of a namespace, by kubectl.
async fn phases(e: &Env, ns: &str) -> Vec<(String, String, String)> {
    let out = e
        .run(&[
            "get",
            "pods",
            "-n",
            ns,
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}|{.status.phase}|{.status.reason}{\"\\n\"}{end}",
        ])
        .await;
    out.lines()
        .filter_map(|l| {
            let mut f = l.split('|');
            Some((f.next()?.to_string(), f.next()?.to_string(), f.next().unwrap_or("").to_string()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evicted_daemon_pod_has_the_kubelets_evicted_and_the_controllers_failed_daemon_pod() {
    let e = env_with(PRESSURE).await;
    let c = e.cluster.sim.client().await.expect("client");
    let container = e
        .run(&["get", "ds", "mem-hog", "-n", "pressure", "-o", "jsonpath={.spec.template.spec.containers[0].name}"])
        .await;
    let request = e
        .run(&[
            "get",
            "ds",
            "mem-hog",
            "-n",
            "pressure",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].resources.requests.memory}",
        ])
        .await;
    assert!(!container.is_empty() && !request.is_empty(), "{container:?} {request:?}");
    // pkg/kubelet/eviction/helpers.go evictionMessage: nodeLowMessageFmt "The node was low on
    // resource: %v. ", thresholdMetMessageFmt "Threshold quantity: %v, available: %v. " (the
    // default hard threshold memory.available<100Mi), containerMessageFmt "Container %s was
    // using %s, request is %s, has larger consumption of %v. ".
    let head = "The node was low on resource: memory. Threshold quantity: 100Mi, available: ";
    let tail = format!(", request is {request}, has larger consumption of memory. ");
    let events: Api<Event> = Api::namespaced(c, "pressure");
    let deadline = tokio::time::Instant::now() + WAIT;
    let evicted = loop {
        let found = events.list(&ListParams::default().fields("reason=Evicted")).await.expect("events").items;
        if let Some(ev) = found.into_iter().next() {
            break ev;
        }
        assert!(tokio::time::Instant::now() < deadline, "no Evicted event");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let message = evicted.message.clone().unwrap_or_default();
    assert!(message.starts_with(head), "{message}");
    assert!(message.contains(&format!(". Container {container} was using ")) && message.ends_with(&tail), "{message}");
    assert_eq!(evicted.type_.as_deref(), Some("Warning"));
    let src = evicted.source.clone().unwrap_or_default();
    assert_eq!((src.component.as_deref(), src.host.as_deref()), (Some("kubelet"), Some("general-00")));
    let io = &evicted.involved_object;
    assert_eq!((io.kind.as_deref(), io.field_path.as_deref()), (Some("Pod"), None));
    let pod = io.name.clone().unwrap_or_default();
    assert!(pod.starts_with("mem-hog-"), "{pod}");

    // daemon_controller.go podsShouldBeOnNode: a failed daemon pod is reported on the
    // DaemonSet (Warning FailedDaemonPod) and killed, so the next sync creates a replacement.
    let want = format!("Found failed daemon pod pressure/{pod} on node general-00, will try to kill it");
    let out = e
        .run_until(
            &["get", "events", "-n", "pressure", "--field-selector", "reason=FailedDaemonPod", "-o", "wide"],
            "FailedDaemonPod about the evicted pod",
            |out| out.contains(&want),
        )
        .await;
    assert!(
        out.contains("Warning") && out.contains("daemonset/mem-hog") && out.contains("daemonset-controller"),
        "{out}"
    );
    let fs = "involvedObject.kind=DaemonSet,reason=FailedDaemonPod";
    let failed = events.list(&ListParams::default().fields(fs)).await.expect("events").items;
    let ev = failed.iter().find(|ev| ev.message.as_deref() == Some(want.as_str())).expect("the event");
    assert_eq!((ev.type_.as_deref(), ev.count), (Some("Warning"), Some(1)));
    assert_eq!(ev.involved_object.name.as_deref(), Some("mem-hog"));
    e.run_until(&["get", "pods", "-n", "pressure", "-o", "name"], "the evicted pod replaced", |out| {
        !out.contains(&format!("pod/{pod}\n")) && out.lines().count() == 2
    })
    .await;

    // The controller backs off (1 s doubling): evicted pods soon stay a while. kubectl
    // describe shows one with the kubelet's status and event, and snapshot -o wide quotes it.
    let deadline = tokio::time::Instant::now() + WAIT;
    let (described, wide) = loop {
        let lingering = phases(&e, "pressure")
            .await
            .into_iter()
            .find(|(_, phase, reason)| phase == "Failed" && reason == "Evicted");
        if let Some((name, _, _)) = lingering {
            let (ok, described, _) = e.try_run(&["describe", "pod", &name, "-n", "pressure"]).await;
            let wide = wide_lines(&e, "general-00", "pressure/mem-hog").await;
            if ok && wide.iter().any(|l| l.contains(" failing ")) {
                break (described, wide);
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "no evicted pod stayed long enough to describe");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(described.lines().any(|l| l.starts_with("Status:") && l.contains("Failed")), "{described}");
    assert!(described.lines().any(|l| l.starts_with("Reason:") && l.contains("Evicted")), "{described}");
    assert!(described.lines().any(|l| l.starts_with("Message:") && l.contains(head)), "{described}");
    let events = described.split("Events:").nth(1).unwrap_or("");
    assert!(events.contains("Evicted") && events.contains("kubelet") && events.contains(head), "{described}");
    let line = wide.iter().find(|l| l.contains(" failing ")).expect("failing");
    // The STATUS part is what kubectl prints (its containers' terminated reason); the quote is
    // the kubelet's Evicted event.
    assert!(line.contains("; Evicted (") && line.contains(&format!("ago): {head}")), "{line}");
    assert!(line.trim_end().ends_with(tail.trim_end()), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_node_has_the_node_controllers_node_not_ready_on_the_node_and_its_pods() {
    let e = env().await;
    let node_uid = e.run(&["get", "node", "general-03", "-o", "jsonpath={.metadata.uid}"]).await;
    let on_node = e
        .run(&[
            "get",
            "pods",
            "-A",
            "--field-selector",
            "spec.nodeName=general-03",
            "-o",
            "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}",
        ])
        .await;
    let pods: Vec<&str> = on_node.split_whitespace().collect();
    assert_eq!(pods.len(), 4, "fluent-bit, crasher, unready and puller each run a pod on general-03: {pods:?}");
    // The kubelet stops posting status (what churn does); the node lifecycle controller reacts.
    let sim = &e.cluster.sim;
    daemonscope::sim::controllers::nodes::set_ready(&sim.store, "general-03", false, sim.clock.now())
        .expect("lose node");

    // pkg/controller/util/node/controller_utils.go RecordNodeStatusChange: a Normal event on
    // the Node, "Node %s status is now: %s"; cluster-scoped objects' events live in `default`.
    let c = sim.client().await.expect("client");
    let deadline = tokio::time::Instant::now() + WAIT;
    let node_event = loop {
        let list = Api::<Event>::namespaced(c.clone(), "default")
            .list(&ListParams::default().fields("involvedObject.kind=Node,involvedObject.name=general-03"))
            .await
            .expect("events")
            .items;
        if let Some(ev) = list.into_iter().find(|ev| ev.reason.as_deref() == Some("NodeNotReady")) {
            break ev;
        }
        assert!(tokio::time::Instant::now() < deadline, "no NodeNotReady on the node");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(node_event.message.as_deref(), Some("Node general-03 status is now: NodeNotReady"));
    assert_eq!((node_event.type_.as_deref(), node_event.count), (Some("Normal"), Some(1)));
    assert_eq!(node_event.involved_object.uid.as_deref(), Some(node_uid.as_str()));
    assert_eq!(node_event.source.clone().unwrap_or_default().component.as_deref(), Some("node-controller"));

    // MarkPodsNotReady: each pod's Ready goes False, then
    // recorder.Event(pod, Warning, "NodeNotReady", "Node is not ready").
    let out = e
        .run_until(
            &[
                "get",
                "events",
                "-A",
                "--field-selector",
                "reason=NodeNotReady,involvedObject.kind=Pod",
                "-o",
                "jsonpath={range .items[*]}{.involvedObject.namespace}/{.involvedObject.name}|{.type}|{.source.component}|{.count}|{.message}{\"\\n\"}{end}",
            ],
            "NodeNotReady on the lost node's pods",
            |out| out.lines().count() >= pods.len(),
        )
        .await;
    let mut seen: Vec<&str> = Vec::new();
    for l in out.lines() {
        let f: Vec<&str> = l.split('|').collect();
        assert_eq!(f[1..], ["Warning", "node-controller", "1", "Node is not ready"], "{l}");
        seen.push(f[0]);
    }
    seen.sort();
    let mut want = pods.clone();
    want.sort();
    assert_eq!(seen, want, "one event per pod of general-03, none about other pods");
    let fluent = pods.iter().find(|p| p.starts_with("logging/")).expect("fluent-bit on general-03");
    let name = fluent.trim_start_matches("logging/");
    let described = e.run(&["describe", "pod", name, "-n", "logging"]).await;
    let events = described.split("Events:").nth(1).unwrap_or("");
    assert!(
        events.contains("NodeNotReady") && events.contains("node-controller") && events.contains("Node is not ready"),
        "{described}"
    );
    // The why of the lost node's cells quotes it.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let lines = wide_lines(&e, "general-03", "logging/fluent-bit").await;
        if lines.iter().any(|l| l.contains("NodeNotReady (") && l.contains("ago): Node is not ready")) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "snapshot -o wide does not quote NodeNotReady: {lines:#?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// 2 nodes; general-01 holds one pod (`status.allocatable.pods` 1): fluent-bit, listed first,
/// takes it at time zero, node-exporter's pod for general-01 finds no room.
const FULL: &str = r#"
name = "full"
churn_per_sec = 0.0

[[pools]]
name = "general"
count = 2

[[nodes]]
pool = "general"
index = 1
max_pods = 1

[[daemonsets]]
name = "fluent-bit"
namespace = "logging"
flavour = "log-shipper"
image = "cr.fluentbit.io/fluent/fluent-bit:3.1.9"
tolerate_all = true

[[daemonsets]]
name = "node-exporter"
namespace = "monitoring"
flavour = "node-exporter"
image = "quay.io/prometheus/node-exporter:v1.8.2"
"#;

/// The scheduler's message for a daemon pod whose node is full in a 2-node cluster, by hand from
/// pkg/scheduler/framework/types.go FitError.Error ("0/%v nodes are available: " + sorted
/// "COUNT REASON" joined by ", " + "." + " " + PostFilter message), schedule_one.go (nodes
/// outside the NodeAffinity PreFilter result: "node(s) didn't satisfy plugin(s) [NodeAffinity]"),
/// noderesources/fit.go ("Too many pods") and framework/preemption ("preemption: " + the same
/// shape with "No preemption victims found for incoming pod" and "Preemption is not helpful
/// for scheduling"). A real cluster says e.g. "0/46 nodes are available: 1 Too many pods, 45
/// node(s) didn't satisfy plugin(s) [NodeAffinity]".
const TOO_MANY_PODS: &str = "0/2 nodes are available: 1 Too many pods, 1 node(s) didn't satisfy plugin(s) \
                             [NodeAffinity]. preemption: 0/2 nodes are available: 1 No preemption victims \
                             found for incoming pod, 1 Preemption is not helpful for scheduling.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_pod_on_a_full_node_stays_pending_with_the_schedulers_failed_scheduling() {
    let e = env_with(FULL).await;
    assert_eq!(e.run(&["get", "node", "general-01", "-o", "jsonpath={.status.allocatable.pods}"]).await, "1");
    let c = e.cluster.sim.client().await.expect("client");
    let pods: Api<Pod> = Api::namespaced(c.clone(), "monitoring");
    let unbound =
        |list: Vec<Pod>| list.into_iter().find(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()).is_none());
    let pending =
        unbound(pods.list(&ListParams::default()).await.expect("list").items).expect("an unbound node-exporter pod");
    let name = pending.metadata.name.clone().unwrap_or_default();
    let st = pending.status.clone().unwrap_or_default();
    assert_eq!(st.phase.as_deref(), Some("Pending"));
    let cond = st.conditions.unwrap_or_default().into_iter().find(|c| c.type_ == "PodScheduled").expect("PodScheduled");
    assert_eq!((cond.status.as_str(), cond.reason.as_deref()), ("False", Some("Unschedulable")));
    assert_eq!(cond.message.as_deref(), Some(TOO_MANY_PODS));

    let fs = format!("involvedObject.name={name},reason=FailedScheduling");
    let evs =
        Api::<Event>::namespaced(c, "monitoring").list(&ListParams::default().fields(&fs)).await.expect("events").items;
    assert_eq!(evs.len(), 1, "{evs:#?}");
    let ev = &evs[0];
    assert_eq!((ev.type_.as_deref(), ev.message.as_deref()), (Some("Warning"), Some(TOO_MANY_PODS)));
    assert_eq!(ev.source.clone().unwrap_or_default().component.as_deref(), Some("default-scheduler"));
    assert!(ev.count.unwrap_or(0) >= 1);
    assert_eq!(ev.involved_object.kind.as_deref(), Some("Pod"));
    let described = e.run(&["describe", "pod", &name, "-n", "monitoring"]).await;
    let events = described.split("Events:").nth(1).unwrap_or("");
    assert!(events.contains("FailedScheduling") && events.contains("default-scheduler"), "{described}");
    assert!(events.contains("Too many pods"), "{described}");
    let lines = wide_lines(&e, "general-01", "monitoring/node-exporter").await;
    assert!(
        lines.iter().any(|l| l.contains(" pending ")
            && l.contains("FailedScheduling (")
            && l.trim_end().ends_with(TOO_MANY_PODS)),
        "{lines:#?}"
    );

    // Room made: fluent-bit's pod there goes; node-exporter's is bound now, and fluent-bit's
    // replacement is the one without room.
    let fluent = e
        .run(&[
            "get",
            "pods",
            "-n",
            "logging",
            "--field-selector",
            "spec.nodeName=general-01",
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ])
        .await;
    e.run(&["delete", "pod", &fluent, "-n", "logging", "--grace-period=0", "--force"]).await;
    e.run_until(
        &["get", "pod", &name, "-n", "monitoring", "-o", "jsonpath={.spec.nodeName}"],
        "node-exporter bound to general-01",
        |out| out == "general-01",
    )
    .await;
    e.run_until(
        &[
            "get",
            "events",
            "-n",
            "logging",
            "--field-selector",
            "reason=FailedScheduling",
            "-o",
            "jsonpath={.items[*].message}",
        ],
        "fluent-bit's replacement unschedulable",
        |out| out.contains(TOO_MANY_PODS),
    )
    .await;
}
