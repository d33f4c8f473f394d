//! Object builders: Nodes, DaemonSets (with realistic pod templates per agent flavour),
//! ControllerRevisions and the revision hash, shaped like the objects a real cluster serves
//! (labels, annotations, defaults the API server fills in, managedFields), so that what the
//! simulator sends weighs what a real API server sends.
//!
//! Pods live in `build_pod`. Nothing here touches the store.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, NodeCondition, PodTemplateSpec, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{Value, json};

use super::rng::{SplitMix64, fnv32};
use crate::fleet::schedule::taints as tk;
use crate::sim::scenario::{DsConfig, Flavour, StrategyKind};

/// `apps.DefaultDaemonSetUniqueLabelKey`.
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";
/// `extensions.DaemonSetTemplateGenerationKey`.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";
/// The apps/v1 annotation that carries the internal `spec.templateGeneration`.
pub const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";
/// The label scenarios use to name a node's pool.
pub const POOL_LABEL: &str = "pool";

pub fn time(t: Timestamp) -> Time {
    Time(Timestamp::from_second(t.as_second()).unwrap_or(t))
}

pub fn secs_before(t: Timestamp, secs: i64) -> Timestamp {
    Timestamp::from_second(t.as_second() - secs).unwrap_or(t)
}

pub fn secs_after(t: Timestamp, secs: i64) -> Timestamp {
    Timestamp::from_second(t.as_second() + secs).unwrap_or(t)
}

pub fn rfc3339(t: Timestamp) -> String {
    // Kubernetes writes second precision, UTC, with a Z.
    Timestamp::from_second(t.as_second()).unwrap_or(t).to_string()
}

/// `fieldsV1` for a JSON value as server-side apply records it: object keys as `f:<key>`,
/// lists of named things as `k:{...}` entries, other lists and scalars as leaves.
pub fn fields_v1(v: &Value) -> Value {
    fn list_key(field: &str, item: &Value) -> Option<String> {
        let key = match field {
            "containers" | "initContainers" | "volumes" | "env" | "imagePullSecrets" => "name",
            "volumeMounts" => "mountPath",
            "conditions" | "addresses" => "type",
            "ports" => "containerPort",
            _ => return None,
        };
        let val = item.get(key)?;
        let mut m = serde_json::Map::new();
        m.insert(key.to_string(), val.clone());
        if field == "ports"
            && let Some(p) = item.get("protocol")
        {
            m.insert("protocol".into(), p.clone());
        }
        Some(format!("k:{}", Value::Object(m)))
    }
    fn walk(v: &Value, set_dot: bool) -> Value {
        let mut out = serde_json::Map::new();
        if let Value::Object(map) = v {
            if set_dot {
                out.insert(".".into(), json!({}));
            }
            for (k, child) in map {
                let entry = match child {
                    Value::Object(_) => walk(child, true),
                    Value::Array(items) if items.iter().all(|i| list_key(k, i).is_some()) && !items.is_empty() => {
                        let mut m = serde_json::Map::new();
                        for i in items {
                            if let Some(lk) = list_key(k, i) {
                                m.insert(lk, walk(i, true));
                            }
                        }
                        Value::Object(m)
                    }
                    _ => json!({}),
                };
                out.insert(format!("f:{k}"), entry);
            }
        }
        Value::Object(out)
    }
    walk(v, false)
}

pub fn managed(
    manager: &str,
    op: &str,
    api_version: &str,
    at: Timestamp,
    fields: Value,
    sub: Option<&str>,
) -> ManagedFieldsEntry {
    ManagedFieldsEntry {
        api_version: Some(api_version.into()),
        fields_type: Some("FieldsV1".into()),
        fields_v1: Some(FieldsV1(fields)),
        manager: Some(manager.into()),
        operation: Some(op.into()),
        subresource: sub.map(String::from),
        time: Some(time(at)),
    }
}

/// What a node is made of.
#[derive(Clone, Debug)]
pub struct NodeParams {
    pub name: String,
    pub pool: String,
    pub index_global: usize,
    pub zone: String,
    pub region: String,
    pub instance_type: String,
    pub arch: String,
    pub cpu: u32,
    pub memory_gi: u32,
    pub max_pods: u32,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<(String, String, String)>,
    pub created: Timestamp,
    pub kubelet_version: String,
    pub ready: bool,
    pub cordoned: bool,
}

/// The node's InternalIP: 10.0.x.y from its global index.
pub fn node_ip(index_global: usize) -> String {
    format!("10.{}.{}.{}", 16 + index_global / 62_500 % 200, index_global / 250 % 250, index_global % 250 + 4)
}

/// The pod CIDR's base: 10.(100+hi).(lo).0/24.
pub fn pod_cidr(index_global: usize) -> String {
    format!("100.{}.{}.0/24", 64 + index_global / 256 % 64, index_global % 256)
}

pub fn pod_ip(index_global: usize, slot: usize) -> String {
    format!("100.{}.{}.{}", 64 + index_global / 256 % 64, index_global % 256, 2 + slot % 250)
}

pub fn build_node(p: &NodeParams, rng: &mut SplitMix64) -> Node {
    let ip = node_ip(p.index_global);
    let mut labels: BTreeMap<String, String> = [
        ("beta.kubernetes.io/arch", p.arch.as_str()),
        ("beta.kubernetes.io/instance-type", p.instance_type.as_str()),
        ("beta.kubernetes.io/os", "linux"),
        ("failure-domain.beta.kubernetes.io/region", p.region.as_str()),
        ("failure-domain.beta.kubernetes.io/zone", p.zone.as_str()),
        ("kubernetes.io/arch", p.arch.as_str()),
        ("kubernetes.io/hostname", p.name.as_str()),
        ("kubernetes.io/os", "linux"),
        ("node.kubernetes.io/instance-type", p.instance_type.as_str()),
        ("topology.kubernetes.io/region", p.region.as_str()),
        ("topology.kubernetes.io/zone", p.zone.as_str()),
        (POOL_LABEL, p.pool.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    labels.insert(format!("node-role.kubernetes.io/{}", p.pool), String::new());
    labels.extend(p.labels.clone());
    let mut taints: Vec<Value> = p.taints.iter().map(|(k, v, e)| json!({"key": k, "value": v, "effect": e})).collect();
    for t in &mut taints {
        if t["value"] == "" {
            t.as_object_mut().map(|o| o.remove("value"));
        }
    }
    let mem_ki = u64::from(p.memory_gi) * 1024 * 1024;
    let alloc_mem_ki = mem_ki.saturating_sub(mem_ki / 25 + 100 * 1024);
    let alloc_cpu_m = u64::from(p.cpu) * 1000 - 90 - u64::from(p.cpu) * 6;
    let created = rfc3339(p.created);
    let boot = format!("{}-{}-{}-{}-{}", rng.hex(8), rng.hex(4), rng.hex(4), rng.hex(4), rng.hex(12));
    let instance = format!("i-0{}", rng.hex(16));
    let images: Vec<Value> = NODE_IMAGES
        .iter()
        .map(|(name, size)| json!({"names": [format!("{name}@sha256:{}", rng.hex(64)), name], "sizeBytes": size}))
        .collect();
    let node_json = json!({
        "metadata": {
            "name": p.name,
            "labels": labels,
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": ip,
                "csi.volume.kubernetes.io/nodeid": format!("{{\"ebs.csi.aws.com\":\"{instance}\"}}"),
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true"
            },
            "creationTimestamp": created,
        },
        "spec": {
            "podCIDR": pod_cidr(p.index_global),
            "podCIDRs": [pod_cidr(p.index_global)],
            "providerID": format!("aws:///{}/{instance}", p.zone),
            "taints": taints,
        },
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "InternalDNS", "address": format!("ip-{}.{}.compute.internal", ip.replace('.', "-"), p.region)},
                {"type": "Hostname", "address": p.name},
            ],
            "allocatable": {
                "cpu": format!("{alloc_cpu_m}m"), "ephemeral-storage": "95491281146",
                "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                "memory": format!("{alloc_mem_ki}Ki"), "pods": p.max_pods.to_string(),
            },
            "capacity": {
                "cpu": p.cpu.to_string(), "ephemeral-storage": "104845292Ki",
                "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                "memory": format!("{mem_ki}Ki"), "pods": p.max_pods.to_string(),
            },
            "conditions": [],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": images,
            "nodeInfo": {
                "architecture": p.arch,
                "bootID": boot,
                "containerRuntimeVersion": "containerd://1.7.22",
                "kernelVersion": "6.1.109-118.189.amzn2023.x86_64",
                "kubeProxyVersion": p.kubelet_version,
                "kubeletVersion": p.kubelet_version,
                "machineID": rng.hex(32),
                "operatingSystem": "linux",
                "osImage": "Amazon Linux 2023.5.20240916",
                "systemUUID": format!("ec2{}-{}-{}-{}-{}", rng.hex(5), rng.hex(4), rng.hex(4), rng.hex(4), rng.hex(12)),
            },
        }
    });
    let mut node: Node = serde_json::from_value(node_json).unwrap_or_default();
    node.metadata.managed_fields = Some(node_managed_fields(&node, p.created));
    if p.cordoned {
        set_cordon(&mut node, true, p.created);
    }
    set_node_ready(&mut node, p.ready, p.created, p.created);
    node
}

const NODE_IMAGES: [(&str, u64); 6] = [
    ("602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:v1.18.3", 67_512_301),
    ("602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:v1.30.3-minimal-eksbuild.5", 33_614_572),
    ("cr.fluentbit.io/fluent/fluent-bit:3.1.9", 37_801_345),
    ("quay.io/prometheus/node-exporter:v1.8.2", 12_136_921),
    ("public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver:v1.35.0", 29_110_438),
    ("602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/pause:3.5", 298_689),
];

fn node_managed_fields(node: &Node, at: Timestamp) -> Vec<ManagedFieldsEntry> {
    let v = serde_json::to_value(node).unwrap_or_default();
    let meta = json!({"metadata": {"annotations": v["metadata"]["annotations"], "labels": v["metadata"]["labels"]}});
    let status = json!({"status": v["status"]});
    vec![
        managed("kubelet", "Update", "v1", at, fields_v1(&meta), None),
        managed(
            "kube-controller-manager",
            "Update",
            "v1",
            at,
            fields_v1(&json!({"spec": {"podCIDR": "", "podCIDRs": []}})),
            None,
        ),
        managed("kubelet", "Update", "v1", at, fields_v1(&status), Some("status")),
    ]
}

/// Set the node's conditions as its kubelet (Ready) or the node lifecycle controller (lost
/// contact: every condition Unknown, `node.kubernetes.io/unreachable` NoSchedule + NoExecute,
/// `MonitorNodeHealth` / `doNoExecuteTaintingPass`) leaves them.
pub fn set_node_ready(node: &mut Node, ready: bool, since: Timestamp, heartbeat: Timestamp) {
    let t = time(since);
    let hb = time(heartbeat);
    let cond = |ty: &str, status: &str, reason: &str, message: &str| NodeCondition {
        type_: ty.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(hb.clone()),
        last_transition_time: Some(t.clone()),
    };
    let status = node.status.get_or_insert_with(Default::default);
    let lost = "Kubelet stopped posting node status.";
    status.conditions = Some(if ready {
        vec![
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
    } else {
        vec![
            cond("MemoryPressure", "Unknown", "NodeStatusUnknown", lost),
            cond("DiskPressure", "Unknown", "NodeStatusUnknown", lost),
            cond("PIDPressure", "Unknown", "NodeStatusUnknown", lost),
            cond("Ready", "Unknown", "NodeStatusUnknown", lost),
        ]
    });
    let spec = node.spec.get_or_insert_with(Default::default);
    let taints = spec.taints.get_or_insert_with(Vec::new);
    taints.retain(|x| x.key != tk::UNREACHABLE && x.key != tk::NOT_READY);
    if !ready {
        taints.push(Taint { key: tk::UNREACHABLE.into(), value: None, effect: "NoSchedule".into(), time_added: None });
        taints.push(Taint {
            key: tk::UNREACHABLE.into(),
            value: None,
            effect: "NoExecute".into(),
            time_added: Some(t.clone()),
        });
    }
    if taints.is_empty() {
        spec.taints = None;
    }
}

/// Cordon or uncordon: `spec.unschedulable` and the `node.kubernetes.io/unschedulable`
/// NoSchedule taint the node lifecycle controller keeps in step with it (`taintNodeByCondition`).
pub fn set_cordon(node: &mut Node, cordoned: bool, at: Timestamp) {
    let spec = node.spec.get_or_insert_with(Default::default);
    spec.unschedulable = cordoned.then_some(true);
    sync_unschedulable_taint(node, at);
}

/// Make the unschedulable taint agree with `spec.unschedulable`; true when it changed.
pub fn sync_unschedulable_taint(node: &mut Node, at: Timestamp) -> bool {
    let spec = node.spec.get_or_insert_with(Default::default);
    let want = spec.unschedulable == Some(true);
    let taints = spec.taints.get_or_insert_with(Vec::new);
    let has = taints.iter().any(|t| t.key == tk::UNSCHEDULABLE && t.effect == "NoSchedule");
    let changed = want != has;
    if want && !has {
        taints.push(Taint {
            key: tk::UNSCHEDULABLE.into(),
            value: None,
            effect: "NoSchedule".into(),
            time_added: Some(time(at)),
        });
    } else if !want && has {
        taints.retain(|t| t.key != tk::UNSCHEDULABLE);
    }
    if taints.is_empty() {
        spec.taints = None;
    }
    changed
}

pub fn node_is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

// ---- DaemonSets and their templates ----

fn probe_http(port: u16, path: &str, initial: i32) -> Value {
    json!({"httpGet": {"path": path, "port": port, "scheme": "HTTP"}, "initialDelaySeconds": initial,
           "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3})
}

fn container(name: &str, image: &str, extra: Value) -> Value {
    let mut c = json!({
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent",
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
    });
    if let (Value::Object(c), Value::Object(e)) = (&mut c, extra) {
        c.extend(e);
    }
    c
}

fn res(cpu_req: &str, mem_req: &str, mem_lim: &str) -> Value {
    json!({"requests": {"cpu": cpu_req, "memory": mem_req}, "limits": {"memory": mem_lim}})
}

fn host_path(name: &str, path: &str, ty: &str) -> Value {
    json!({"name": name, "hostPath": {"path": path, "type": ty}})
}

fn node_name_env() -> Value {
    json!({"name": "NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}})
}

/// The pod template of a DaemonSet: its flavour's containers, volumes and security settings,
/// with the defaults the API server writes into a stored DaemonSet.
pub fn template(cfg: &DsConfig, image: &str) -> PodTemplateSpec {
    let app = cfg.name.as_str();
    let labels = json!({"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": cfg.namespace});
    let (mut spec, host_network) = match cfg.flavour {
        Flavour::LogShipper => (
            json!({
                "containers": [container(app, image, json!({
                    "env": [node_name_env(), {"name": "FLUENT_ELASTICSEARCH_HOST", "value": "logs.internal.example.com"}],
                    "ports": [{"containerPort": 2020, "name": "http", "protocol": "TCP"}],
                    "livenessProbe": probe_http(2020, "/", 0),
                    "readinessProbe": probe_http(2020, "/api/v1/health", 0),
                    "resources": res("100m", "128Mi", "256Mi"),
                    "volumeMounts": [
                        {"mountPath": "/fluent-bit/etc/conf", "name": "config"},
                        {"mountPath": "/var/log", "name": "varlog"},
                        {"mountPath": "/var/lib/docker/containers", "name": "varlibdockercontainers", "readOnly": true},
                        {"mountPath": "/etc/machine-id", "name": "etcmachineid", "readOnly": true},
                    ],
                }))],
                "volumes": [
                    {"name": "config", "configMap": {"name": app, "defaultMode": 420}},
                    host_path("varlog", "/var/log", ""),
                    host_path("varlibdockercontainers", "/var/lib/docker/containers", ""),
                    host_path("etcmachineid", "/etc/machine-id", "File"),
                ],
                "serviceAccountName": app, "serviceAccount": app,
            }),
            false,
        ),
        Flavour::NodeExporter => (
            json!({
                "containers": [container("node-exporter", image, json!({
                    "args": ["--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root",
                             "--web.listen-address=[$(HOST_IP)]:9100", "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|var/lib/docker/.+|var/lib/kubelet/.+)($|/)"],
                    "env": [{"name": "HOST_IP", "value": "0.0.0.0"}],
                    "ports": [{"containerPort": 9100, "hostPort": 9100, "name": "metrics", "protocol": "TCP"}],
                    "livenessProbe": probe_http(9100, "/", 0),
                    "readinessProbe": probe_http(9100, "/", 0),
                    "resources": res("50m", "30Mi", "50Mi"),
                    "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true},
                    "volumeMounts": [
                        {"mountPath": "/host/proc", "name": "proc", "readOnly": true},
                        {"mountPath": "/host/sys", "name": "sys", "readOnly": true},
                        {"mountPath": "/host/root", "mountPropagation": "HostToContainer", "name": "root", "readOnly": true},
                    ],
                }))],
                "hostPID": true,
                "securityContext": {"fsGroup": 65534, "runAsGroup": 65534, "runAsNonRoot": true, "runAsUser": 65534},
                "volumes": [host_path("proc", "/proc", ""), host_path("sys", "/sys", ""), host_path("root", "/", "")],
                "serviceAccountName": app, "serviceAccount": app,
            }),
            true,
        ),
        Flavour::Cni => (
            json!({
                "initContainers": [container("install-cni", image, json!({
                    "command": ["/install-cni.sh"],
                    "resources": res("10m", "10Mi", "50Mi"),
                    "securityContext": {"privileged": true},
                    "volumeMounts": [{"mountPath": "/host/opt/cni/bin", "name": "cni-bin-dir"}],
                }))],
                "containers": [container(app, image, json!({
                    "command": [format!("/usr/bin/{app}-agent")],
                    "args": ["--config-dir=/tmp/cni-configuration"],
                    "env": [node_name_env(), {"name": "KUBERNETES_SERVICE_HOST", "value": "10.0.0.1"}],
                    "livenessProbe": probe_http(9879, "/healthz", 10),
                    "readinessProbe": probe_http(9879, "/healthz", 0),
                    "resources": res("100m", "256Mi", "512Mi"),
                    "securityContext": {"privileged": true, "capabilities": {"add": ["NET_ADMIN", "NET_RAW", "SYS_ADMIN"]}},
                    "volumeMounts": [
                        {"mountPath": "/host/opt/cni/bin", "name": "cni-bin-dir"},
                        {"mountPath": "/host/etc/cni/net.d", "name": "cni-net-dir"},
                        {"mountPath": "/run/xtables.lock", "name": "xtables-lock"},
                        {"mountPath": "/lib/modules", "name": "lib-modules", "readOnly": true},
                    ],
                }))],
                "priorityClassName": "system-node-critical",
                "volumes": [
                    host_path("cni-bin-dir", "/opt/cni/bin", "DirectoryOrCreate"),
                    host_path("cni-net-dir", "/etc/cni/net.d", "DirectoryOrCreate"),
                    host_path("xtables-lock", "/run/xtables.lock", "FileOrCreate"),
                    host_path("lib-modules", "/lib/modules", ""),
                ],
                "serviceAccountName": app, "serviceAccount": app,
            }),
            true,
        ),
        Flavour::KubeProxy => (
            json!({
                "containers": [container("kube-proxy", image, json!({
                    "command": ["kube-proxy", "--v=2", "--config=/var/lib/kube-proxy-config/config", "--hostname-override=$(NODE_NAME)"],
                    "env": [node_name_env()],
                    "resources": {"requests": {"cpu": "100m"}},
                    "securityContext": {"privileged": true},
                    "volumeMounts": [
                        {"mountPath": "/var/log", "name": "varlog"},
                        {"mountPath": "/run/xtables.lock", "name": "xtables-lock"},
                        {"mountPath": "/lib/modules", "name": "lib-modules", "readOnly": true},
                        {"mountPath": "/var/lib/kube-proxy/", "name": "kubeconfig"},
                        {"mountPath": "/var/lib/kube-proxy-config/", "name": "config"},
                    ],
                }))],
                "priorityClassName": "system-node-critical",
                "volumes": [
                    host_path("varlog", "/var/log", ""),
                    host_path("xtables-lock", "/run/xtables.lock", "FileOrCreate"),
                    host_path("lib-modules", "/lib/modules", ""),
                    {"name": "kubeconfig", "configMap": {"name": "kube-proxy", "defaultMode": 420}},
                    {"name": "config", "configMap": {"name": "kube-proxy-config", "defaultMode": 420}},
                ],
                "serviceAccountName": "kube-proxy", "serviceAccount": "kube-proxy",
            }),
            true,
        ),
        Flavour::Csi => (
            json!({
                "containers": [
                    container(app, image, json!({
                        "args": ["node", "--endpoint=$(CSI_ENDPOINT)", "--logging-format=text", "--v=2"],
                        "env": [{"name": "CSI_ENDPOINT", "value": "unix:/csi/csi.sock"}, node_name_env()],
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "healthz", "scheme": "HTTP"}, "initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 3, "successThreshold": 1, "failureThreshold": 5},
                        "ports": [{"containerPort": 9808, "name": "healthz", "protocol": "TCP"}],
                        "resources": res("10m", "40Mi", "256Mi"),
                        "securityContext": {"privileged": true, "readOnlyRootFilesystem": true},
                        "volumeMounts": [
                            {"mountPath": "/var/lib/kubelet", "mountPropagation": "Bidirectional", "name": "kubelet-dir"},
                            {"mountPath": "/csi", "name": "plugin-dir"},
                            {"mountPath": "/dev", "name": "device-dir"},
                        ],
                    })),
                    container("node-driver-registrar", "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.11.1", json!({
                        "args": ["--csi-address=$(ADDRESS)", "--kubelet-registration-path=$(DRIVER_REG_SOCK_PATH)", "--v=2"],
                        "env": [{"name": "ADDRESS", "value": "/csi/csi.sock"}, {"name": "DRIVER_REG_SOCK_PATH", "value": format!("/var/lib/kubelet/plugins/{app}/csi.sock")}],
                        "resources": res("10m", "40Mi", "256Mi"),
                        "volumeMounts": [{"mountPath": "/csi", "name": "plugin-dir"}, {"mountPath": "/registration", "name": "registration-dir"}],
                    })),
                    container("liveness-probe", "registry.k8s.io/sig-storage/livenessprobe:v2.13.1", json!({
                        "args": ["--csi-address=/csi/csi.sock"],
                        "resources": res("10m", "40Mi", "256Mi"),
                        "volumeMounts": [{"mountPath": "/csi", "name": "plugin-dir"}],
                    })),
                ],
                "priorityClassName": "system-node-critical",
                "volumes": [
                    host_path("kubelet-dir", "/var/lib/kubelet", "Directory"),
                    host_path("plugin-dir", format!("/var/lib/kubelet/plugins/{app}/").as_str(), "DirectoryOrCreate"),
                    host_path("registration-dir", "/var/lib/kubelet/plugins_registry/", "Directory"),
                    host_path("device-dir", "/dev", "Directory"),
                ],
                "serviceAccountName": app, "serviceAccount": app,
            }),
            false,
        ),
        Flavour::Security => (
            json!({
                "containers": [container(app, image, json!({
                    "args": ["/usr/bin/falco", "-o", "engine.kind=modern_ebpf", "-pk"],
                    "env": [{"name": "HOST_ROOT", "value": "/host"}, node_name_env()],
                    "livenessProbe": probe_http(8765, "/healthz", 60),
                    "readinessProbe": probe_http(8765, "/healthz", 30),
                    "resources": {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                    "securityContext": {"privileged": true},
                    "volumeMounts": [
                        {"mountPath": "/host/proc", "name": "proc-fs", "readOnly": true},
                        {"mountPath": "/host/etc", "name": "etc-fs", "readOnly": true},
                        {"mountPath": "/host/run/containerd/containerd.sock", "name": "containerd-socket"},
                        {"mountPath": "/etc/falco", "name": "rulesfiles-install-dir"},
                    ],
                }))],
                "volumes": [
                    host_path("proc-fs", "/proc", ""),
                    host_path("etc-fs", "/etc", ""),
                    host_path("containerd-socket", "/run/containerd/containerd.sock", ""),
                    {"name": "rulesfiles-install-dir", "emptyDir": {}},
                ],
                "serviceAccountName": app, "serviceAccount": app,
            }),
            false,
        ),
        Flavour::Gpu => (
            json!({
                "containers": [container(app, image, json!({
                    "env": [{"name": "FAIL_ON_INIT_ERROR", "value": "false"}, {"name": "DEVICE_LIST_STRATEGY", "value": "envvar"}],
                    "resources": {},
                    "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                    "volumeMounts": [{"mountPath": "/var/lib/kubelet/device-plugins", "name": "device-plugin"}],
                }))],
                "priorityClassName": "system-node-critical",
                "volumes": [host_path("device-plugin", "/var/lib/kubelet/device-plugins", "")],
            }),
            false,
        ),
        Flavour::DnsCache => (
            json!({
                "containers": [container("node-cache", image, json!({
                    "args": ["-localip", "169.254.20.10", "-conf", "/etc/Corefile", "-upstreamsvc", "kube-dns-upstream"],
                    "livenessProbe": {"httpGet": {"host": "169.254.20.10", "path": "/health", "port": 8080, "scheme": "HTTP"}, "initialDelaySeconds": 60, "periodSeconds": 10, "timeoutSeconds": 5, "successThreshold": 1, "failureThreshold": 3},
                    "ports": [{"containerPort": 53, "hostPort": 53, "name": "dns", "protocol": "UDP"},
                              {"containerPort": 53, "hostPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                              {"containerPort": 9253, "hostPort": 9253, "name": "metrics", "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "25m", "memory": "5Mi"}},
                    "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}},
                    "volumeMounts": [{"mountPath": "/run/xtables.lock", "name": "xtables-lock"}, {"mountPath": "/etc/coredns", "name": "config-volume"}],
                }))],
                "dnsPolicy": "Default",
                "priorityClassName": "system-node-critical",
                "volumes": [host_path("xtables-lock", "/run/xtables.lock", "FileOrCreate"),
                            {"name": "config-volume", "configMap": {"name": app, "defaultMode": 420, "items": [{"key": "Corefile", "path": "Corefile.base"}]}}],
                "serviceAccountName": app, "serviceAccount": app,
            }),
            true,
        ),
        Flavour::Generic => (
            json!({
                "containers": [container(app, image, json!({
                    "env": [node_name_env(), {"name": "LOG_LEVEL", "value": "info"}],
                    "ports": [{"containerPort": 8080, "name": "metrics", "protocol": "TCP"}],
                    "livenessProbe": probe_http(8080, "/healthz", 5),
                    "readinessProbe": probe_http(8080, "/readyz", 0),
                    "resources": res("50m", "64Mi", "128Mi"),
                    "volumeMounts": [{"mountPath": "/host/var/run", "name": "run", "readOnly": true}],
                }))],
                "volumes": [host_path("run", "/var/run", "")],
                "serviceAccountName": app, "serviceAccount": app,
            }),
            false,
        ),
    };
    let obj = spec.as_object_mut().expect("template specs are objects");
    for (k, v) in [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("schedulerName", json!("default-scheduler")),
        ("securityContext", json!({})),
    ] {
        obj.entry(k).or_insert(v);
    }
    obj.entry("dnsPolicy").or_insert(json!(if host_network { "ClusterFirstWithHostNet" } else { "ClusterFirst" }));
    if host_network {
        obj.insert("hostNetwork".into(), json!(true));
    }
    let mut tolerations: Vec<Value> = Vec::new();
    if cfg.tolerate_all {
        tolerations.push(json!({"operator": "Exists"}));
    }
    for t in &cfg.tolerations {
        tolerations.push(
            serde_json::to_value(k8s_openapi::api::core::v1::Toleration {
                key: t.key.clone(),
                operator: t.operator.clone(),
                value: t.value.clone(),
                effect: t.effect.clone(),
                toleration_seconds: None,
            })
            .unwrap_or_default(),
        );
    }
    if !tolerations.is_empty() {
        obj.insert("tolerations".into(), Value::Array(tolerations));
    }
    if !cfg.node_selector.is_empty() {
        obj.insert("nodeSelector".into(), json!(cfg.node_selector));
    }
    if !cfg.affinity.is_empty() {
        let terms: Vec<Value> = cfg
            .affinity
            .iter()
            .map(|reqs| {
                json!({"matchExpressions": reqs.iter().map(|r| json!({"key": r.key, "operator": r.operator, "values": r.values})).collect::<Vec<_>>()})
            })
            .collect();
        obj.insert(
            "affinity".into(),
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}),
        );
    }
    serde_json::from_value(json!({"metadata": {"labels": labels, "creationTimestamp": null}, "spec": spec}))
        .unwrap_or_default()
}

/// A stored DaemonSet with `template` (its status is written by the controller).
pub fn daemonset(cfg: &DsConfig, tpl: &PodTemplateSpec, created: Timestamp) -> DaemonSet {
    let strategy = match cfg.strategy {
        StrategyKind::OnDelete => json!({"type": "OnDelete"}),
        StrategyKind::RollingUpdate => json!({"type": "RollingUpdate", "rollingUpdate": {
            "maxUnavailable": int_or_str(cfg.max_unavailable.as_deref().unwrap_or("1")),
            "maxSurge": int_or_str(cfg.max_surge.as_deref().unwrap_or("0")),
        }}),
    };
    let v = json!({
        "metadata": {
            "name": cfg.name, "namespace": cfg.namespace,
            "labels": {"app.kubernetes.io/name": cfg.name, "app.kubernetes.io/managed-by": "Helm"},
            "annotations": {TEMPLATE_GENERATION_ANNOTATION: "1", "meta.helm.sh/release-name": cfg.name, "meta.helm.sh/release-namespace": cfg.namespace},
            "creationTimestamp": rfc3339(created),
        },
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": cfg.name}},
            "template": tpl,
            "updateStrategy": strategy,
            "revisionHistoryLimit": 10,
            "minReadySeconds": cfg.min_ready_seconds,
        },
    });
    let mut ds: DaemonSet = serde_json::from_value(v).unwrap_or_default();
    let spec_v = serde_json::to_value(&ds.spec).unwrap_or_default();
    let meta_v = json!({"metadata": {"labels": ds.metadata.labels, "annotations": {"meta.helm.sh/release-name": "", "meta.helm.sh/release-namespace": ""}}, "spec": spec_v});
    ds.metadata.managed_fields = Some(vec![
        managed("helm", "Update", "apps/v1", created, fields_v1(&meta_v), None),
        managed(
            "kube-controller-manager",
            "Update",
            "apps/v1",
            created,
            fields_v1(
                &json!({"status": {"currentNumberScheduled": 0, "desiredNumberScheduled": 0, "numberAvailable": 0, "numberMisscheduled": 0, "numberReady": 0, "observedGeneration": 0, "updatedNumberScheduled": 0}}),
            ),
            Some("status"),
        ),
    ]);
    ds
}

fn int_or_str(s: &str) -> Value {
    s.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(s))
}

/// `rand.SafeEncodeString`: each byte of the decimal hash mapped onto an alphabet without
/// vowels (so hashes never spell words), as `controller.ComputeHash` renders it.
pub fn safe_encode(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes().map(|b| ALPHANUMS[b as usize % ALPHANUMS.len()] as char).collect()
}

/// `controller.ComputeHash(&ds.Spec.Template, ds.Status.CollisionCount)`: FNV-32a over the
/// template (here its canonical JSON), plus the collision count, safe-encoded.
pub fn template_hash(tpl: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut bytes = serde_json::to_vec(tpl).unwrap_or_default();
    if let Some(c) = collision_count {
        bytes.extend_from_slice(&c.to_le_bytes());
    }
    safe_encode(&fnv32(&bytes).to_string())
}

/// The revision data the controller stores (`getPatch`): `{"spec":{"template":{…,"$patch":"replace"}}}`.
pub fn revision_patch(tpl: &PodTemplateSpec) -> Value {
    let mut t = serde_json::to_value(tpl).unwrap_or_default();
    if let Value::Object(m) = &mut t {
        m.insert("$patch".into(), json!("replace"));
    }
    json!({"spec": {"template": t}})
}

/// The template stored in a revision's data, if it has one.
pub fn template_of_revision(cr: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut t = cr.data.0.get("spec")?.get("template")?.clone();
    if let Value::Object(m) = &mut t {
        m.remove("$patch");
    }
    serde_json::from_value(t).ok()
}

pub fn owner_ref(ds: &DaemonSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "DaemonSet".into(),
        name: ds.metadata.name.clone().unwrap_or_default(),
        uid: ds.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A ControllerRevision as `dsc.snapshot` makes it: named `<ds>-<hash>`, the template's labels
/// plus the hash label, the DaemonSet's annotations, owned by the DaemonSet.
pub fn revision(ds: &DaemonSet, hash: &str, number: i64, created: Timestamp) -> ControllerRevision {
    let tpl = Some(&ds.spec).map(|s| s.template.clone()).unwrap_or_default();
    let mut labels = tpl.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
    labels.insert(REVISION_HASH_LABEL.into(), hash.into());
    let name = format!("{}-{hash}", ds.metadata.name.as_deref().unwrap_or(""));
    let data = revision_patch(&tpl);
    let fields = fields_v1(
        &json!({"data": {}, "metadata": {"annotations": ds.metadata.annotations, "labels": labels, "ownerReferences": [{"uid": ""}]}, "revision": 0}),
    );
    ControllerRevision {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(name),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: ds.metadata.annotations.clone(),
            owner_references: Some(vec![owner_ref(ds)]),
            creation_timestamp: Some(time(created)),
            managed_fields: Some(vec![managed("kube-controller-manager", "Update", "apps/v1", created, fields, None)]),
            ..Default::default()
        },
        data: RawExtension(data),
        revision: Some(number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_encode_uses_the_vowelless_alphabet() {
        let s = safe_encode("3141592653");
        assert_eq!(s.len(), 10);
        assert!(s.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
    }

    #[test]
    fn fields_v1_keys_lists_by_name() {
        let f = fields_v1(&json!({"spec": {"containers": [{"name": "a", "image": "x"}]}}));
        assert!(f["f:spec"]["f:containers"]["k:{\"name\":\"a\"}"]["f:image"].is_object());
    }
}
