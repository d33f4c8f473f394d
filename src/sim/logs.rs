//! Deterministic container logs: the lines a simulated container has written are a pure
//! function of (pod, container, which run of it, second), so `pods/log` needs no storage and
//! two reads always agree. A run's window comes from the pod status (`state.running.startedAt`,
//! `lastState.terminated.startedAt/finishedAt`); a line is written every one to three seconds,
//! with content that fits the agent (log shipper, node exporter, CNI, CSI, security agent …),
//! and a crashed run ends with the error it died of.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use crate::sim::controllers::rng::{fnv64, mix};

/// Why logs cannot be served; the Display text is what the kubelet says (served as a 400 Status).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LogError {
    #[error("container {container} is not valid for pod {pod}")]
    ContainerNotFound { container: String, pod: String },
    #[error("container \"{container}\" in pod \"{pod}\" is waiting to start: {reason}")]
    NotStarted { container: String, pod: String, reason: String },
    #[error("previous terminated container \"{container}\" in pod \"{pod}\" not found")]
    NoPrevious { container: String, pod: String },
    #[error("a container name must be specified for pod {pod}, choose one of: [{choices}]")]
    ContainerRequired { pod: String, choices: String },
}

/// A run of a container: its window and its index (0 for the first run).
struct Run {
    index: i32,
    start: Timestamp,
    /// `None` while it runs.
    end: Option<(Timestamp, i32, String)>,
}

/// Lines written by `container` of `pod` (the current run, or the previous one when `previous`)
/// with timestamps in `[from, to)`, oldest first. An empty `container` means the only one.
pub fn lines(
    pod: &Pod,
    container: &str,
    previous: bool,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(Timestamp, String)>, LogError> {
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.as_ref();
    let names: Vec<&str> = spec
        .map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()).map(|c| c.name.as_str()).collect())
        .unwrap_or_default();
    let container = if container.is_empty() {
        match spec.map(|s| s.containers.as_slice()).unwrap_or_default() {
            [only] => only.name.as_str(),
            many => {
                let choices = many.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(" ");
                return Err(LogError::ContainerRequired { pod: pod_name, choices });
            }
        }
    } else {
        container
    };
    if !names.contains(&container) {
        return Err(LogError::ContainerNotFound { container: container.into(), pod: pod_name });
    }
    let image = spec
        .and_then(|s| s.containers.iter().chain(s.init_containers.iter().flatten()).find(|c| c.name == container))
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    let status = pod.status.as_ref().and_then(|s| {
        s.container_statuses.iter().chain(s.init_container_statuses.iter()).flatten().find(|c| c.name == container)
    });
    let run = select_run(status, previous).map_err(|reason| match reason {
        None => LogError::NoPrevious { container: container.into(), pod: pod_name.clone() },
        Some(reason) => LogError::NotStarted { container: container.into(), pod: pod_name.clone(), reason },
    })?;
    let key = pod.metadata.uid.clone().unwrap_or_else(|| pod_name.clone());
    let node = spec.and_then(|s| s.node_name.clone()).unwrap_or_default();
    Ok(generate(&key, &node, container, &image, &run, from, to))
}

/// Err(None): no previous run; Err(Some(reason)): never started.
fn select_run(status: Option<&ContainerStatus>, previous: bool) -> Result<Run, Option<String>> {
    let Some(cs) = status else { return Err(Some("ContainerCreating".into())) };
    let last = cs.last_state.as_ref().and_then(|l| l.terminated.as_ref());
    let state = cs.state.as_ref();
    let terminated_run = |t: &k8s_openapi::api::core::v1::ContainerStateTerminated, index: i32| Run {
        index,
        start: t.started_at.as_ref().map_or(Timestamp::UNIX_EPOCH, |x| x.0),
        end: Some((
            t.finished_at.as_ref().map_or(Timestamp::UNIX_EPOCH, |x| x.0),
            t.exit_code,
            t.reason.clone().unwrap_or_default(),
        )),
    };
    if previous {
        return last.map(|t| terminated_run(t, (cs.restart_count - 1).max(0))).ok_or(None);
    }
    if let Some(r) = state.and_then(|s| s.running.as_ref()) {
        let start = r.started_at.as_ref().map_or(Timestamp::UNIX_EPOCH, |x| x.0);
        return Ok(Run { index: cs.restart_count, start, end: None });
    }
    if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
        return Ok(terminated_run(t, cs.restart_count));
    }
    // Waiting: a container in back-off serves the logs of its last run, like the kubelet.
    if let Some(t) = last {
        return Ok(terminated_run(t, (cs.restart_count - 1).max(0)));
    }
    let reason = state
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.clone())
        .unwrap_or_else(|| "ContainerCreating".into());
    Err(Some(reason))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Agent {
    LogShipper,
    NodeExporter,
    Cni,
    KubeProxy,
    Csi,
    Security,
    Gpu,
    Dns,
    Generic,
}

fn agent(container: &str, image: &str) -> Agent {
    let s = format!("{container} {image}").to_ascii_lowercase();
    let has = |w: &str| s.contains(w);
    if has("fluent") || has("vector") || has("promtail") || has("filebeat") || has("log") && !has("liveness") {
        Agent::LogShipper
    } else if has("node-exporter") || has("exporter") {
        Agent::NodeExporter
    } else if has("cilium") || has("calico") || has("cni") || has("flannel") {
        Agent::Cni
    } else if has("kube-proxy") {
        Agent::KubeProxy
    } else if has("csi") || has("registrar") || has("livenessprobe") {
        Agent::Csi
    } else if has("falco") || has("security") || has("sysdig") || has("crowdstrike") {
        Agent::Security
    } else if has("nvidia") || has("gpu") || has("device-plugin") {
        Agent::Gpu
    } else if has("dns") || has("node-cache") {
        Agent::Dns
    } else {
        Agent::Generic
    }
}

fn pick<'a>(h: u64, options: &[&'a str]) -> &'a str {
    options[(h % options.len() as u64) as usize]
}

fn ip(h: u64) -> String {
    format!("10.{}.{}.{}", 16 + (h >> 8) % 4, (h >> 16) % 250, (h >> 24) % 250 + 4)
}

fn body(agent: Agent, h: u64, node: &str) -> String {
    let n = |shift: u32, m: u64| (h >> shift) % m;
    match agent {
        Agent::LogShipper => match n(3, 6) {
            0 | 1 => format!(
                "[{}] [ info] [input:tail:tail.0] inotify_fs_add(): inode={} watch_fd={} name=/var/log/containers/{}-{:05x}.log",
                "2024", 100_000 + n(9, 900_000), n(20, 400), pick(h >> 30, &["api", "web", "worker", "cron"]), n(40, 0xfffff)
            ),
            2 => format!("[2024] [ info] [output:es:es.0] flushed {} records ({} bytes) to logs.internal.example.com:9200", n(9, 900) + 10, n(20, 90_000) + 1000),
            3 => format!("[2024] [ info] [filter:kubernetes:kubernetes.0] token updated, {} pods cached", n(9, 80) + 5),
            4 => format!("[2024] [ warn] [engine] failed to flush chunk '{}-{}.flb', retry in {} seconds: task_id={}", n(5, 9) + 1, n(9, 99_999), n(20, 9) + 1, n(30, 40)),
            _ => format!("[2024] [ info] [input:tail:tail.0] inotify_fs_remove(): inode={} watch_fd={}", 100_000 + n(9, 900_000), n(20, 400)),
        },
        Agent::NodeExporter => match n(3, 4) {
            0 => format!("ts=2024 caller=collector.go:{} level=debug collector=netclass msg=\"collector succeeded\" duration_seconds=0.00{}", 100 + n(9, 90), n(20, 9000)),
            1 => format!("ts=2024 caller=filesystem_linux.go:{} level=debug msg=\"Ignoring mount point\" mountpoint=/var/lib/kubelet/pods/{:08x}/volumes", 40 + n(9, 60), n(20, u64::from(u32::MAX))),
            2 => format!("ts=2024 caller=http.go:{} level=debug msg=\"scrape\" remote={}:{} duration_seconds=0.0{}", 140 + n(9, 30), ip(h), 30_000 + n(20, 30_000), n(30, 900) + 10),
            _ => "ts=2024 caller=diskstats_linux.go:265 level=debug collector=diskstats msg=\"ignoring device\" device=loop0".to_string(),
        },
        Agent::Cni => match n(3, 5) {
            0 => format!("level=info msg=\"Regenerating endpoint\" endpointID={} reason=\"policy rules added\" subsys=endpoint", n(9, 4000)),
            1 => format!("level=info msg=\"Allocated IP\" ip=100.64.{}.{} owner=kube-system/coredns-{:x} subsys=ipam", n(9, 200), n(20, 250), n(30, 0xffff)),
            2 => format!("level=debug msg=\"Processing {} endpoints for service\" subsys=service", n(9, 30) + 1),
            3 => format!("level=info msg=\"Policy imported via API, recalculating...\" policyAddRequest={:08x} subsys=daemon", n(9, u64::from(u32::MAX))),
            _ => format!("level=info msg=\"Node updated\" clusterName=default nodeName={node} subsys=nodemanager"),
        },
        Agent::KubeProxy => match n(3, 3) {
            0 => format!("I0101 00:00:00.000000       1 proxier.go:{}] \"SyncProxyRules complete\" elapsed=\"{}ms\"", 790 + n(9, 50), n(20, 90) + 5),
            1 => format!("I0101 00:00:00.000000       1 service.go:{}] \"Adding new service port\" portName=\"default/svc-{}:http\" servicePort=\"172.20.{}.{}:80/TCP\"", 300 + n(9, 100), n(20, 400), n(30, 250), n(40, 250)),
            _ => "I0101 00:00:00.000000       1 proxier.go:823] \"Syncing iptables rules\"".to_string(),
        },
        Agent::Csi => match n(3, 3) {
            0 => format!("I0101 00:00:00.000000       1 node.go:{}] \"NodeGetVolumeStats: called\" args={{\"volume_id\":\"vol-0{:016x}\"}}", 500 + n(9, 100), h >> 4),
            1 => format!("I0101 00:00:00.000000       1 node.go:{}] \"NodeGetCapabilities: called\"", 590 + n(9, 20)),
            _ => format!("I0101 00:00:00.000000       1 mount_linux.go:{}] \"Checking mount\" target=\"/var/lib/kubelet/pods/{:08x}/volumes/kubernetes.io~csi/pvc-{:08x}/mount\"", 200 + n(9, 80), n(20, u64::from(u32::MAX)), n(40, u64::from(u32::MAX))),
        },
        Agent::Security => match n(3, 4) {
            0 => format!(
                "{{\"hostname\":\"{node}\",\"output\":\"Notice Unexpected connection to K8s API Server from container (command={} connection={}:{}->172.20.0.1:443)\",\"priority\":\"Notice\",\"rule\":\"Contact K8S API Server From Container\",\"source\":\"syscall\"}}",
                pick(h >> 9, &["curl", "python3", "kubectl"]), ip(h), 30_000 + n(20, 30_000)
            ),
            1 => format!("{{\"hostname\":\"{node}\",\"output\":\"Warning Shell spawned in a container (user=root shell=sh container_id={:012x})\",\"priority\":\"Warning\",\"rule\":\"Terminal shell in container\",\"source\":\"syscall\"}}", h >> 12),
            _ => format!("Events detected: {}, Rule counts by severity: NOTICE: {}", n(9, 40), n(20, 12)),
        },
        Agent::Gpu => match n(3, 2) {
            0 => format!("I0101 00:00:00.000000       1 server.go:{}] Allocate request for device ids [GPU-{:08x}]", 300 + n(9, 50), n(20, u64::from(u32::MAX))),
            _ => "I0101 00:00:00.000000       1 health.go:125] Healthy: all 8 devices reporting XID-free".to_string(),
        },
        Agent::Dns => format!(
            "[INFO] {}:{} - {} \"{} IN {}.{}.svc.cluster.local. udp 62 false 512\" NOERROR qr,aa,rd 106 0.000{}s",
            ip(h), 30_000 + n(9, 30_000), n(20, 65_535), pick(h >> 3, &["A", "AAAA"]), pick(h >> 30, &["api", "db", "cache", "auth"]), pick(h >> 40, &["default", "prod", "payments"]), n(50, 900) + 100
        ),
        Agent::Generic => match n(3, 3) {
            0 => format!("{{\"level\":\"info\",\"msg\":\"collected node metrics\",\"node\":\"{node}\",\"series\":{},\"took_ms\":{}}}", n(9, 4000) + 200, n(20, 200) + 3),
            1 => format!("{{\"level\":\"info\",\"msg\":\"GET /healthz\",\"status\":200,\"remote\":\"{}\"}}", ip(h)),
            _ => format!("{{\"level\":\"debug\",\"msg\":\"refreshed config\",\"generation\":{}}}", n(9, 50) + 1),
        },
    }
}

fn banner(agent: Agent, image: &str, node: &str) -> Vec<String> {
    let version = image.rsplit_once(':').map_or("latest", |(_, t)| t);
    let first = match agent {
        Agent::LogShipper => format!("Fluent Bit v{version}"),
        Agent::NodeExporter => format!(
            "ts=2024 caller=node_exporter.go:193 level=info msg=\"Starting node_exporter\" version=\"(version={version})\""
        ),
        Agent::Cni => format!("level=info msg=\"Starting agent\" version={version} subsys=daemon"),
        Agent::KubeProxy => "I0101 00:00:00.000000       1 server_linux.go:69] \"Using iptables proxy\"".to_string(),
        Agent::Csi => format!(
            "I0101 00:00:00.000000       1 driver.go:69] \"Driver Information\" Driver=\"ebs.csi.aws.com\" Version=\"{version}\""
        ),
        Agent::Security => format!("Falco version: {version} (x86_64)"),
        Agent::Gpu => format!("I0101 00:00:00.000000       1 main.go:178] Starting NVIDIA device plugin {version}"),
        Agent::Dns => format!("CoreDNS-{version}"),
        Agent::Generic => format!("{{\"level\":\"info\",\"msg\":\"starting\",\"version\":\"{version}\"}}"),
    };
    vec![first, format!("starting on node {node}"), "configuration loaded, ready to serve".to_string()]
}

fn fatal(agent: Agent, exit: i32, reason: &str) -> String {
    if exit == 137 || reason == "OOMKilled" {
        return "received SIGTERM, shutting down".to_string();
    }
    match agent {
        Agent::LogShipper => "[2024] [error] [config] section 'output' tries to load a plugin named 'elasticsearch2' that does not exist".into(),
        Agent::Cni | Agent::KubeProxy => "level=fatal msg=\"Error while initializing daemon\" error=\"failed to start: daemon creation failed: unable to connect to the API server: dial tcp 172.20.0.1:443: i/o timeout\" subsys=daemon".into(),
        _ => format!("panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x{:x}]", 0x1c4f2a0),
    }
}

fn generate(
    key: &str,
    node: &str,
    container: &str,
    image: &str,
    run: &Run,
    from: Timestamp,
    to: Timestamp,
) -> Vec<(Timestamp, String)> {
    let agent = agent(container, image);
    let seed = fnv64(format!("{key}/{container}/{}", run.index).as_bytes());
    let start_s = run.start.as_second();
    let end_s = run.end.as_ref().map_or(i64::MAX, |(t, _, _)| t.as_second());
    let lo = from.as_second().max(start_s);
    // [from, to) in seconds, clipped to the run.
    let hi_excl = (to.as_second() + i64::from(to.subsec_nanosecond() > 0)).min(end_s.saturating_add(1));
    let mut out = Vec::new();
    let at = |s: i64, ms: i64| Timestamp::from_millisecond(s * 1000 + ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let in_window = |t: Timestamp| t >= from && t < to;
    let mut s = lo;
    while s < hi_excl {
        let h = mix(seed ^ (s as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        if s == start_s {
            for (i, l) in banner(agent, image, node).into_iter().enumerate() {
                let t = at(s, 5 + 7 * i as i64);
                if in_window(t) {
                    out.push((t, l));
                }
            }
        } else if s == end_s {
            if let Some((_, exit, reason)) = &run.end
                && *exit != 0
            {
                let t = at(s, 0);
                if in_window(t) {
                    out.push((t, fatal(agent, *exit, reason)));
                }
            }
        } else if h.is_multiple_of(2) {
            // About one line every two seconds.
            let t = at(s, (h >> 20) as i64 % 1000);
            if in_window(t) {
                out.push((t, body(agent, h, node)));
            }
        }
        s += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "fluent-bit-abcde", "namespace": "logging", "uid": "u1"},
            "spec": {"containers": [{"name": "fluent-bit", "image": "cr.fluentbit.io/fluent/fluent-bit:3.1.9"}]},
            "status": status,
        }))
        .expect("valid pod")
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("valid time")
    }

    #[test]
    fn same_window_same_lines() {
        let p = pod(
            json!({"containerStatuses": [{"name": "fluent-bit", "image": "x", "imageID": "", "ready": true, "restartCount": 0,
            "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}}]}),
        );
        let a = lines(&p, "fluent-bit", false, ts("2024-01-01T00:00:00Z"), ts("2024-01-01T00:01:00Z")).expect("logs");
        let b = lines(&p, "", false, ts("2024-01-01T00:00:00Z"), ts("2024-01-01T00:01:00Z")).expect("logs");
        assert_eq!(a, b);
        assert!(a.len() >= 15 && a.len() <= 60, "{} lines", a.len());
        assert!(a[0].1.starts_with("Fluent Bit"));
        assert!(a.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn previous_run_ends_with_the_error() {
        let p = pod(
            json!({"containerStatuses": [{"name": "fluent-bit", "image": "x", "imageID": "", "ready": false, "restartCount": 3,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2024-01-01T00:00:00Z", "finishedAt": "2024-01-01T00:00:10Z"}}}]}),
        );
        let l = lines(&p, "fluent-bit", true, ts("2023-12-31T00:00:00Z"), ts("2024-01-02T00:00:00Z")).expect("logs");
        assert!(l.last().expect("lines").1.contains("error"));
    }

    #[test]
    fn unknown_container_and_no_previous_are_errors() {
        let p = pod(
            json!({"containerStatuses": [{"name": "fluent-bit", "image": "x", "imageID": "", "ready": true, "restartCount": 0,
            "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}}]}),
        );
        let t = ts("2024-01-01T00:00:00Z");
        assert!(matches!(lines(&p, "nope", false, t, t), Err(LogError::ContainerNotFound { .. })));
        assert!(matches!(lines(&p, "fluent-bit", true, t, t), Err(LogError::NoPrevious { .. })));
    }

    #[test]
    fn waiting_container_is_not_started() {
        let p = pod(
            json!({"containerStatuses": [{"name": "fluent-bit", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}),
        );
        let t = ts("2024-01-01T00:00:00Z");
        let e = lines(&p, "fluent-bit", false, t, t).expect_err("waiting");
        assert_eq!(
            e.to_string(),
            "container \"fluent-bit\" in pod \"fluent-bit-abcde\" is waiting to start: ImagePullBackOff"
        );
    }
}
