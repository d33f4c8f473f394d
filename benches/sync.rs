//! Sync benchmark (prints its figures; it asserts nothing): how long daemonscope takes to hold a
//! fully synced fleet index of the `large` scenario (5,000 nodes × 30 DaemonSets, ~150k pods)
//! through the real HTTP path, its peak RSS and the index's bytes per pod, side by side with
//! `kubectl get pods -A -o json` against the same simulator.
//!
//! Run: `cargo bench --bench sync`. The simulator runs as a separate process
//! (`daemonscope sim --scenario large --tls --frozen --listen 127.0.0.1:0 --kubeconfig-out …`) so that
//! its memory is not counted as ours. The binary is found, in order, at `$DAEMONSCOPE_BIN`,
//! Cargo's `CARGO_BIN_EXE_daemonscope` (set when Cargo builds a bench), or next to this bench's
//! own executable (`target/<profile>/daemonscope`; build it with `cargo build --release` if
//! missing). Set `SYNC_BENCH_SCENARIO` to run another scenario (e.g. `mixed`, for a quick try).
//!
//! Figures:
//! - sync time: from creating the client to `Index::synced()` (every stream listed);
//! - peak RSS: VmHWM of this process (the tokio runtime, the client, the index);
//! - bytes per pod: `Index::heap_bytes() / pods`;
//! - kubectl: wall time and peak RSS (`wait4` rusage, which covers the bundled client the
//!   kubectl dispatcher runs) of `kubectl get pods -A -o json > /dev/null`;
//! - then whole processes side by side: `daemonscope snapshot -o json` against
//!   `kubectl get pods,ds,nodes -A -o json` (wall time, peak RSS, ratios).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use daemonscope::cluster::watch::spawn_watches;
use daemonscope::cluster::wire::PodWire;
use daemonscope::fleet::model::{Change, FleetEvent};
use daemonscope::fleet::{CellState, Index};
use tokio_util::sync::CancellationToken;

/// How long the simulator may take to build the scenario and accept requests.
const SIM_START_TIMEOUT: Duration = Duration::from_secs(300);
/// How long one client process (kubectl, `daemonscope snapshot`) may run before it is killed.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a sync may take before we give up.
const SYNC_TIMEOUT: Duration = Duration::from_secs(300);

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs benches with no argument in
    // test mode, where we do nothing (a benchmark is not a test).
    if !std::env::args().any(|a| a == "--bench") {
        println!("sync: run with `cargo bench --bench sync`");
        return;
    }
    if let Err(e) = run() {
        eprintln!("sync benchmark failed: {e:#}");
        std::process::exit(1);
    }
}

fn daemonscope_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("DAEMONSCOPE_BIN") {
        return Ok(PathBuf::from(p));
    }
    if let Some(p) = option_env!("CARGO_BIN_EXE_daemonscope") {
        return Ok(PathBuf::from(p));
    }
    // target/<profile>/deps/sync-<hash> → target/<profile>/daemonscope
    let exe = std::env::current_exe().context("locating the bench executable")?;
    let profile_dir = exe.parent().and_then(Path::parent).context("bench executable has no target dir")?;
    let bin = profile_dir.join("daemonscope");
    if !bin.exists() {
        bail!("{} not found: run `cargo build --release` first or set DAEMONSCOPE_BIN", bin.display());
    }
    Ok(bin)
}

/// The simulator process; killed on drop.
struct Sim {
    child: Child,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(scenario: &str, kubeconfig: &Path) -> anyhow::Result<Sim> {
    let bin = daemonscope_bin()?;
    let child = Command::new(&bin)
        // TLS: kubectl sends bearer tokens only over HTTPS, and both clients then pay for it alike.
        .args(["sim", "--scenario", scenario, "--tls", "--frozen", "--listen", "127.0.0.1:0", "--kubeconfig-out"])
        .arg(kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {} sim", bin.display()))?;
    let mut sim = Sim { child };
    let started = Instant::now();
    // The kubeconfig is written once the simulator accepts requests.
    while !kubeconfig.exists() {
        if let Some(status) = sim.child.try_wait()? {
            bail!("the simulator exited early ({status})");
        }
        if started.elapsed() > SIM_START_TIMEOUT {
            bail!("the simulator did not write {} within {:?}", kubeconfig.display(), SIM_START_TIMEOUT);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let a partly written file settle.
    std::thread::sleep(Duration::from_millis(200));
    println!("simulator ready after {:.1} s (not counted)", started.elapsed().as_secs_f64());
    Ok(sim)
}

/// Peak resident set size of this process in bytes (VmHWM).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

struct SyncFigures {
    elapsed: Duration,
    events: u64,
    nodes: usize,
    daemonsets: usize,
    pods: u64,
    index_bytes: usize,
    peak_rss: Option<u64>,
    problems: u64,
}

async fn sync_index(kubeconfig: &Path) -> anyhow::Result<SyncFigures> {
    let started = Instant::now();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).context("reading the simulator's kubeconfig")?;
    let config = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .context("kubeconfig → client config")?;
    let client = kube::Client::try_from(config).context("building the client")?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(8192);
    let cancel = CancellationToken::new();
    let handles = spawn_watches(client, None, tx, cancel.clone());
    let mut index = Index::new();
    let mut events = 0u64;
    let deadline = tokio::time::Instant::now() + SYNC_TIMEOUT;
    while !index.synced() {
        let Ok(next) = tokio::time::timeout_at(deadline, rx.recv()).await else {
            bail!("not synced after {SYNC_TIMEOUT:?}");
        };
        let Some(ev) = next else { bail!("the watch streams ended before the index synced") };
        if let FleetEvent::Stream { kind, state, .. } = &ev {
            println!("  {:>7.2} s  {:<20} {state:?}", started.elapsed().as_secs_f64(), kind.plural());
        }
        if matches!(ev, FleetEvent::Pod(Change::InitItem(_) | Change::Apply(_))) {
            events += 1;
        }
        index.apply(ev);
    }
    let elapsed = started.elapsed();
    cancel.cancel();
    for h in handles {
        let _ = h.await;
    }
    let summary = index.summary();
    let problems = CellState::ALL.iter().filter(|s| s.is_problem()).map(|s| u64::from(summary.cells[s.idx()])).sum();
    Ok(SyncFigures {
        elapsed,
        events,
        nodes: index.node_ids().len(),
        daemonsets: index.ds_ids().len(),
        pods: u64::from(summary.pods),
        index_bytes: index.heap_bytes(),
        peak_rss: peak_rss(),
        problems,
    })
}

struct KubectlFigures {
    elapsed: Duration,
    peak_rss: u64,
    ok: bool,
}

/// Run kubectl and reap it with `wait4`, whose rusage carries the peak RSS of the child and
/// of the bundled client it runs.
fn kubectl_get_pods(kubeconfig: &Path) -> anyhow::Result<KubectlFigures> {
    let mut cmd = Command::new("kubectl");
    cmd.arg("--kubeconfig").arg(kubeconfig).args(["get", "pods", "-A", "-o", "json"]);
    measure(cmd)
}

/// Start a command with stdout to /dev/null, reap it with `wait4` and return its wall time and
/// peak RSS (`ru_maxrss` covers the process and the children it waited for).
fn measure(mut cmd: Command) -> anyhow::Result<KubectlFigures> {
    let started = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child, which we have not reaped.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    loop {
        // SAFETY: valid pointers to locals; pid is our child.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if r != 0 {
            bail!("wait4 on {:?} failed: {}", cmd.get_program(), std::io::Error::last_os_error());
        }
        if !killed && started.elapsed() > CLIENT_TIMEOUT {
            // A client that cannot finish in time is a figure too (printed as "failed").
            // SAFETY: pid is our own, not yet reaped, child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let elapsed = started.elapsed();
    let ok = !killed && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if killed {
        println!("{:?} did not finish within {} s: killed", cmd.get_program(), CLIENT_TIMEOUT.as_secs());
    }
    // ru_maxrss is in kilobytes on Linux.
    Ok(KubectlFigures { elapsed, peak_rss: usage.ru_maxrss as u64 * 1024, ok })
}

/// The comparison with kubectl: `daemonscope snapshot -o json` (a whole process: connect, list+watch
/// until synced, print the matrix as JSON) against `kubectl get pods,ds,nodes -A -o json`.
fn snapshot_vs_kubectl(kubeconfig: &Path) -> anyhow::Result<()> {
    let mut ours = Command::new(daemonscope_bin()?);
    ours.arg("--kubeconfig").arg(kubeconfig).args(["snapshot", "-o", "json", "--timeout", "300"]);
    let ours = measure(ours)?;
    let mut theirs = Command::new("kubectl");
    theirs.arg("--kubeconfig").arg(kubeconfig).args(["get", "pods,ds,nodes", "-A", "-o", "json"]);
    let theirs = measure(theirs)?;
    let note = |ok: bool| if ok { "" } else { " (failed)" };
    println!();
    println!(
        "{:<28} {:>26} {:>36} {:>8}",
        "", "daemonscope snapshot -o json", "kubectl get pods,ds,nodes -A -o json", "ratio"
    );
    println!(
        "{:<28} {:>24.2} s{} {:>34.2} s{} {:>7.1}x",
        "wall time",
        ours.elapsed.as_secs_f64(),
        note(ours.ok),
        theirs.elapsed.as_secs_f64(),
        note(theirs.ok),
        theirs.elapsed.as_secs_f64() / ours.elapsed.as_secs_f64().max(1e-9)
    );
    println!(
        "{:<28} {:>26} {:>36} {:>7.1}x",
        "peak RSS",
        mb(ours.peak_rss),
        mb(theirs.peak_rss),
        theirs.peak_rss as f64 / ours.peak_rss.max(1) as f64
    );
    Ok(())
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// A daemon pod as a real API server sends it (~5 KB with managedFields), for the decode figures.
fn realistic_pod_json(i: usize) -> Vec<u8> {
    let name = format!("node-exporter-{i:05}");
    let node = format!("node-{i:04}");
    let fields = serde_json::json!({"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {},
        "f:controller-revision-hash": {}, "f:pod-template-generation": {}}, "f:ownerReferences": {".": {},
        "k:{\"uid\":\"6f1c\"}": {}}}, "f:spec": {"f:affinity": {".": {}, "f:nodeAffinity": {".": {},
        "f:requiredDuringSchedulingIgnoredDuringExecution": {}}}, "f:containers": {"k:{\"name\":\"exporter\"}": {
        ".": {}, "f:args": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {}, "f:ports": {}, "f:resources": {},
        "f:securityContext": {}, "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {},
        "f:volumeMounts": {}}}, "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:hostNetwork": {},
        "f:hostPID": {}, "f:restartPolicy": {}, "f:schedulerName": {}, "f:securityContext": {},
        "f:serviceAccount": {}, "f:serviceAccountName": {}, "f:terminationGracePeriodSeconds": {},
        "f:tolerations": {}, "f:volumes": {}}});
    let status_fields = serde_json::json!({"f:status": {"f:conditions": {"k:{\"type\":\"ContainersReady\"}": {
        ".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
        "k:{\"type\":\"Initialized\"}": {}, "k:{\"type\":\"Ready\"}": {}}, "f:containerStatuses": {},
        "f:hostIP": {}, "f:hostIPs": {}, "f:phase": {}, "f:podIP": {}, "f:podIPs": {}, "f:startTime": {}}});
    let v = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "generateName": "node-exporter-", "namespace": "monitoring",
            "uid": format!("7d4c2b1a-0000-4000-8000-{i:012}"), "resourceVersion": format!("{}", 100000 + i),
            "creationTimestamp": "2024-05-01T10:00:00Z",
            "labels": {"app.kubernetes.io/name": "node-exporter", "app.kubernetes.io/part-of": "kube-prometheus",
                       "controller-revision-hash": "6d5f8b7c9", "pod-template-generation": "3"},
            "annotations": {"kubectl.kubernetes.io/default-container": "exporter",
                            "prometheus.io/scrape": "true", "prometheus.io/port": "9100"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "node-exporter",
                                 "uid": "6f1c", "controller": true, "blockOwnerDeletion": true}],
            "managedFields": [
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                 "time": "2024-05-01T10:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": fields},
                {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": "2024-05-01T10:00:05Z",
                 "fieldsType": "FieldsV1", "fieldsV1": status_fields, "subresource": "status"}]},
        "spec": {
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}},
            "containers": [{"name": "exporter", "image": "quay.io/prometheus/node-exporter:v1.7.0",
                "args": ["--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root",
                         "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|var/lib/docker/.+)($|/)"],
                "ports": [{"containerPort": 9100, "hostPort": 9100, "name": "metrics", "protocol": "TCP"}],
                "resources": {"limits": {"cpu": "250m", "memory": "180Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}},
                "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false},
                "volumeMounts": [{"mountPath": "/host/proc", "name": "proc", "readOnly": true},
                                 {"mountPath": "/host/sys", "name": "sys", "readOnly": true},
                                 {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                  "name": "kube-api-access-x2x9z", "readOnly": true}],
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                "imagePullPolicy": "IfNotPresent"}],
            "dnsPolicy": "ClusterFirst", "enableServiceLinks": true, "hostNetwork": true, "hostPID": true,
            "nodeName": node, "preemptionPolicy": "PreemptLowerPriority", "priority": 2000001000,
            "priorityClassName": "system-node-critical", "restartPolicy": "Always",
            "schedulerName": "default-scheduler", "serviceAccountName": "node-exporter",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [{"operator": "Exists"},
                {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists"},
                {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists"},
                {"effect": "NoSchedule", "key": "node.kubernetes.io/disk-pressure", "operator": "Exists"},
                {"effect": "NoSchedule", "key": "node.kubernetes.io/memory-pressure", "operator": "Exists"},
                {"effect": "NoSchedule", "key": "node.kubernetes.io/pid-pressure", "operator": "Exists"},
                {"effect": "NoSchedule", "key": "node.kubernetes.io/unschedulable", "operator": "Exists"},
                {"effect": "NoSchedule", "key": "node.kubernetes.io/network-unavailable", "operator": "Exists"}],
            "volumes": [{"hostPath": {"path": "/proc", "type": ""}, "name": "proc"},
                        {"hostPath": {"path": "/sys", "type": ""}, "name": "sys"},
                        {"name": "kube-api-access-x2x9z", "projected": {"defaultMode": 420, "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                            {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1",
                                "fieldPath": "metadata.namespace"}, "path": "namespace"}]}}]}}]},
        "status": {"phase": "Running", "hostIP": "10.0.3.17", "podIP": "10.0.3.17",
            "startTime": "2024-05-01T10:00:01Z", "qosClass": "Burstable",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": "2024-05-01T10:00:02Z"},
                {"type": "Initialized", "status": "True", "lastTransitionTime": "2024-05-01T10:00:01Z"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2024-05-01T10:00:05Z"},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2024-05-01T10:00:05Z"},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2024-05-01T10:00:00Z"}],
            "containerStatuses": [{"name": "exporter", "ready": true, "started": true, "restartCount": 0,
                "image": "quay.io/prometheus/node-exporter:v1.7.0",
                "imageID": "quay.io/prometheus/node-exporter@sha256:4cb2b9019f1757be8482419002cb7afe028fdba35d47958829e4cfeaf6246d80",
                "containerID": "containerd://0b7ee5b3a0c1f4a8d2e6f9c3b1a7d5e4f2c8b6a9d3e1f7c5b2a8d4e6f1c3b9a7",
                "state": {"running": {"startedAt": "2024-05-01T10:00:03Z"}}, "lastState": {}}]}
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

/// Pods per second decoded into `PodWire` and into k8s-openapi's `Pod`, on one core.
fn decode_rates() {
    let bodies: Vec<Vec<u8>> = (0..2000).map(realistic_pod_json).collect();
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    let rounds = 10;
    let rate = |f: &dyn Fn(&[u8]) -> bool| {
        let started = Instant::now();
        let mut ok = 0usize;
        for _ in 0..rounds {
            ok += bodies.iter().filter(|b| f(b)).count();
        }
        (ok, (bodies.len() * rounds) as f64 / started.elapsed().as_secs_f64())
    };
    let (ok_wire, wire) = rate(&|b| serde_json::from_slice::<PodWire>(b).is_ok());
    let (ok_full, full) = rate(&|b| serde_json::from_slice::<k8s_openapi::api::core::v1::Pod>(b).is_ok());
    println!(
        "decode ({} B/pod): PodWire {:.0} pods/s, k8s_openapi Pod {:.0} pods/s ({:.1}x){}",
        bytes / bodies.len().max(1),
        wire,
        full,
        wire / full.max(1.0),
        if ok_wire == ok_full && ok_wire == bodies.len() * rounds { "" } else { "  (decode errors!)" }
    );
}

fn run() -> anyhow::Result<()> {
    decode_rates();
    let scenario = std::env::var("SYNC_BENCH_SCENARIO").unwrap_or_else(|_| "large".to_string());
    let dir = tempfile::tempdir().context("temp dir")?;
    let kubeconfig = dir.path().join("kubeconfig");
    println!("sync benchmark: scenario {scenario}");
    let _sim = start_sim(&scenario, &kubeconfig)?;

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    let ours = rt.block_on(sync_index(&kubeconfig))?;
    drop(rt);
    let pods = ours.pods.max(1);
    println!(
        "synced: {} nodes, {} daemonsets, {} daemon pods ({} pod events), {} problem cells",
        ours.nodes, ours.daemonsets, ours.pods, ours.events, ours.problems
    );

    // Our own figures first, so they are printed even if the clients below are slow.
    println!("{:<28} {:>12.2} s", "daemonscope time to synced", ours.elapsed.as_secs_f64());
    println!("{:<28} {:>14}", "daemonscope peak RSS", mb(ours.peak_rss.unwrap_or(0)));
    println!("{:<28} {:>12} B   (target ≤ 300)", "index bytes per pod", ours.index_bytes as u64 / pods);
    let kubectl = kubectl_get_pods(&kubeconfig);
    println!();
    println!("{:<28} {:>14} {:>28} {:>8}", "", "daemonscope", "kubectl get pods -A -o json", "ratio");
    match &kubectl {
        Ok(k) => {
            let note = if k.ok { "" } else { "  (kubectl failed)" };
            println!(
                "{:<28} {:>12.2} s {:>26.2} s {:>7.1}x{note}",
                "time to all pods",
                ours.elapsed.as_secs_f64(),
                k.elapsed.as_secs_f64(),
                k.elapsed.as_secs_f64() / ours.elapsed.as_secs_f64().max(1e-9)
            );
            let ours_rss = ours.peak_rss.unwrap_or(0);
            println!(
                "{:<28} {:>14} {:>28} {:>7.1}x",
                "peak RSS",
                mb(ours_rss),
                mb(k.peak_rss),
                k.peak_rss as f64 / (ours_rss.max(1)) as f64
            );
        }
        Err(e) => {
            println!("{:<28} {:>12.2} s {:>28}", "time to all pods", ours.elapsed.as_secs_f64(), "n/a");
            println!("{:<28} {:>14} {:>28}", "peak RSS", mb(ours.peak_rss.unwrap_or(0)), "n/a");
            println!("kubectl: {e:#}");
        }
    }
    println!("{:<28} {:>14}", "index bytes (heap)", mb(ours.index_bytes as u64));
    println!("{:<28} {:>12} B   (target ≤ 300)", "index bytes per pod", ours.index_bytes as u64 / pods);
    println!("{:<28} {:>14}   (target ≤ 250 MB)", "peak RSS target", mb(ours.peak_rss.unwrap_or(0)));
    if let Err(e) = snapshot_vs_kubectl(&kubeconfig) {
        println!("snapshot comparison: {e:#}");
    }
    Ok(())
}
