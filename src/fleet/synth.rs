//! Synthetic fleets of projections, for the index's tests, property tests and benchmark.
//! Builders with realistic defaults (names, label sets, container counts as a cloud provider's
//! nodes and common DaemonSets have them), and a deterministic generator of a whole fleet.
//! Never used by the running program: the real projections come from `cluster::project`.

use std::collections::BTreeMap;

use super::model::{
    Change, DsInfo, DsStatusCounts, FleetEvent, NodeInfo, NodeReadiness, ObjKey, Phase, PodInfo, RevInfo,
    UpdateStrategy,
};
use super::schedule::{NodeSelectorTerm, PodSchedSpec, Requirement, SelectorOp, Taint, TaintEffect, Toleration};

/// A Ready node with the labels a managed cloud node carries.
pub fn node(name: &str) -> NodeInfo {
    let zone = ["a", "b", "c"][name.len() % 3];
    let mut labels = BTreeMap::new();
    for (k, v) in [
        ("beta.kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("kubernetes.io/os", "linux"),
        ("node.kubernetes.io/instance-type", "m5.2xlarge"),
        ("topology.kubernetes.io/region", "eu-west-1"),
    ] {
        labels.insert(k.to_string(), v.to_string());
    }
    labels.insert("kubernetes.io/hostname".to_string(), name.to_string());
    labels.insert("topology.kubernetes.io/zone".to_string(), format!("eu-west-1{zone}"));
    NodeInfo {
        name: name.to_string(),
        labels,
        taints: Vec::new(),
        unschedulable: false,
        readiness: NodeReadiness::Ready,
        created: 1_700_000_000,
        pressures: Vec::new(),
        kubelet_version: "v1.30.4".to_string(),
        since: Vec::new(),
    }
}

/// A DaemonSet that runs everywhere (no selector, no extra tolerations), generation 1.
pub fn ds(namespace: &str, name: &str) -> DsInfo {
    DsInfo {
        namespace: namespace.to_string(),
        name: name.to_string(),
        uid: format!("uid-{namespace}-{name}"),
        generation: 1,
        created: 1_700_000_000,
        sched: PodSchedSpec::default(),
        status: DsStatusCounts::default(),
        strategy: UpdateStrategy::RollingUpdate { max_unavailable: "1".to_string(), max_surge: "0".to_string() },
        selector: format!("app={name}"),
        containers: vec![name.to_string()],
        init_containers: Vec::new(),
        images: vec![format!("registry.example.com/{name}:v1.0.0")],
    }
}

/// Revision `revision` of a DaemonSet, with hash `hash`, owned by it.
pub fn rev(ds: &DsInfo, revision: i64, hash: &str) -> RevInfo {
    RevInfo {
        namespace: ds.namespace.clone(),
        name: format!("{}-{hash}", ds.name),
        owner: Some(ds.name.clone()),
        revision,
        hash: hash.to_string(),
        created: 1_700_000_000 + revision,
        change_cause: None,
        images: ds.images.clone(),
    }
}

/// A Running, Ready daemon pod of `ds` on `node` with revision hash `hash`.
pub fn pod(ds: &DsInfo, node: &str, suffix: &str, hash: &str) -> PodInfo {
    PodInfo {
        namespace: ds.namespace.clone(),
        name: format!("{}-{suffix}", ds.name),
        uid: format!("uid-{}-{suffix}", ds.name),
        owner: Some(ds.name.clone()),
        node: Some(node.to_string()),
        bound: true,
        revision_hash: Some(hash.to_string()),
        template_generation: Some(ds.generation),
        created: 1_700_000_100,
        deleting: false,
        phase: Phase::Running,
        reason: "Running".to_string(),
        ready: true,
        containers_ready: 1,
        containers_total: 1,
        restarts: 0,
        last_termination: None,
        last_restart: None,
        detail: None,
    }
}

pub fn taint(key: &str, effect: TaintEffect) -> Taint {
    Taint { key: key.to_string(), value: String::new(), effect }
}

pub fn key(namespace: &str, name: &str) -> ObjKey {
    ObjKey { namespace: namespace.to_string(), name: name.to_string() }
}

/// A small deterministic pseudo-random generator (SplitMix64), so fleets are reproducible
/// without a dependency.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
    /// A pod-name suffix like the ones the API server generates (5 chars of `bcdfghjklmnpqrstvwxz2456789`).
    pub fn suffix(&mut self) -> String {
        const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..5).map(|_| ALPHA[self.below(ALPHA.len() as u64) as usize] as char).collect()
    }
}

/// Names of the DaemonSets of a typical large fleet: (namespace, name).
const DAEMONSETS: &[(&str, &str)] = &[
    ("kube-system", "kube-proxy"),
    ("kube-system", "aws-node"),
    ("kube-system", "ebs-csi-node"),
    ("kube-system", "efs-csi-node"),
    ("kube-system", "node-local-dns"),
    ("monitoring", "node-exporter"),
    ("monitoring", "prometheus-agent"),
    ("monitoring", "dcgm-exporter"),
    ("logging", "fluent-bit"),
    ("logging", "vector-agent"),
    ("security", "falco"),
    ("security", "trivy-node-collector"),
    ("cilium", "cilium"),
    ("cilium", "cilium-envoy"),
    ("istio-system", "istio-cni-node"),
    ("datadog", "datadog-agent"),
    ("gpu-operator", "nvidia-device-plugin"),
    ("gpu-operator", "nvidia-dcgm"),
    ("kube-system", "csi-secrets-store"),
    ("kube-system", "node-problem-detector"),
];

/// A whole fleet as the watch streams would list it: `nodes` nodes (every 50th tainted for
/// GPUs, every 10th in a "spot" pool), `daemonsets` DaemonSets (a few with nodeSelectors,
/// affinity or tolerations), their revisions, and one pod per eligible cell (about 1% outdated,
/// 0.5% crash-looping, 0.5% pending). Returned as list events in the order nodes, DaemonSets,
/// revisions, pods, each kind framed by `Init` / `InitDone`.
pub fn fleet(nodes: usize, daemonsets: usize, seed: u64) -> Vec<FleetEvent> {
    let mut rng = Rng(seed);
    let mut node_infos = Vec::with_capacity(nodes);
    for i in 0..nodes {
        let name = format!("ip-10-{}-{}-{}.eu-west-1.compute.internal", (i / 65536) % 256, (i / 256) % 256, i % 256);
        let mut n = node(&name);
        let pool = if i % 10 == 0 { "spot" } else { "general" };
        n.labels.insert("eks.amazonaws.com/nodegroup".to_string(), format!("{pool}-{}", i % 4));
        n.labels.insert("eks.amazonaws.com/capacityType".to_string(), pool.to_uppercase());
        if i % 50 == 0 {
            n.labels.insert("nvidia.com/gpu.present".to_string(), "true".to_string());
            n.taints.push(Taint {
                key: "nvidia.com/gpu".to_string(),
                value: "true".to_string(),
                effect: TaintEffect::NoSchedule,
            });
        }
        node_infos.push(n);
    }
    let mut ds_infos = Vec::with_capacity(daemonsets);
    for j in 0..daemonsets {
        let (ns, base) = DAEMONSETS[j % DAEMONSETS.len()];
        let name = if j < DAEMONSETS.len() { base.to_string() } else { format!("{base}-{}", j / DAEMONSETS.len()) };
        let mut d = ds(ns, &name);
        d.generation = 1 + (j as i64 % 3);
        if base.starts_with("nvidia") || base == "dcgm-exporter" {
            d.sched.node_selector.insert("nvidia.com/gpu.present".to_string(), "true".to_string());
            d.sched.tolerations.push(Toleration::exists("nvidia.com/gpu", TaintEffect::NoSchedule));
        } else if j % 7 == 3 {
            d.sched.required_terms = Some(vec![NodeSelectorTerm {
                match_expressions: vec![Requirement {
                    key: "eks.amazonaws.com/capacityType".to_string(),
                    op: SelectorOp::NotIn,
                    values: vec!["SPOT".to_string()],
                }],
                match_fields: Vec::new(),
            }]);
        } else if j % 5 == 0 {
            // Tolerates everything, like most agents.
            d.sched.tolerations.push(Toleration {
                key: String::new(),
                op: super::schedule::TolerationOp::Exists,
                value: String::new(),
                effect: None,
            });
        }
        ds_infos.push(d);
    }
    let mut out = Vec::new();
    out.push(FleetEvent::Node(Change::Init));
    out.extend(node_infos.iter().cloned().map(|n| FleetEvent::Node(Change::InitItem(n))));
    out.push(FleetEvent::Node(Change::InitDone));
    out.push(FleetEvent::DaemonSet(Change::Init));
    out.extend(ds_infos.iter().cloned().map(|d| FleetEvent::DaemonSet(Change::InitItem(d))));
    out.push(FleetEvent::DaemonSet(Change::InitDone));
    out.push(FleetEvent::Revision(Change::Init));
    let mut hashes = Vec::new();
    for d in &ds_infos {
        let old = format!("{:x}", rng.next_u64() % 0xffff_ffff);
        let new = format!("{:x}", rng.next_u64() % 0xffff_ffff);
        out.push(FleetEvent::Revision(Change::InitItem(rev(d, 1, &old))));
        out.push(FleetEvent::Revision(Change::InitItem(rev(d, 2, &new))));
        hashes.push((old, new));
    }
    out.push(FleetEvent::Revision(Change::InitDone));
    out.push(FleetEvent::Pod(Change::Init));
    for n in &node_infos {
        for (d, (old, new)) in ds_infos.iter().zip(&hashes) {
            let view = super::schedule::NodeView { name: &n.name, labels: &n.labels, taints: &n.taints };
            if !super::schedule::should_run(&view, &d.sched).should_run {
                continue;
            }
            let mut p = pod(d, &n.name, &rng.suffix(), new);
            p.created += rng.below(86_400 * 30) as i64;
            match rng.below(1000) {
                0..=9 => {
                    p.revision_hash = Some(old.clone());
                    p.template_generation = Some(d.generation - 1);
                }
                10..=14 => {
                    p.reason = "CrashLoopBackOff".to_string();
                    p.ready = false;
                    p.containers_ready = 0;
                    p.restarts = 7 + rng.below(40) as u32;
                    p.last_termination = Some("Error (exit 1)".to_string());
                    p.last_restart = Some(1_700_100_000);
                }
                15..=19 => {
                    p.phase = Phase::Pending;
                    p.reason = "ContainerCreating".to_string();
                    p.ready = false;
                    p.containers_ready = 0;
                }
                _ => {}
            }
            out.push(FleetEvent::Pod(Change::InitItem(p)));
        }
    }
    out.push(FleetEvent::Pod(Change::InitDone));
    out
}
