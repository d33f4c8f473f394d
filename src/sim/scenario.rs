//! Scenarios: seeded, deterministic starting states kept as data in `assets/scenarios/*.toml`
//! (embedded), created settled: the statuses they describe exist at time zero (pods already
//! Running/Ready, crash loops with restart counts, revisions, DaemonSet status counters).
//!
//! A scenario names node pools (nodes are `<prefix>-<index>`, labelled `pool=<name>`), per-node
//! overrides (taints, NotReady, cordon, pod capacity), DaemonSets (agent flavour, images of past revisions,
//! placement, strategy, delays) and behaviours per DaemonSet on chosen nodes: `crashloop`,
//! `imagepull`, `notready`, `reject-create`, `evicted`. The same seed always gives the same objects.
//!
//! Data only: the types a scenario file decodes into, their validation and [`load`]. What a
//! scenario means for the cluster — which nodes get which behaviour under a seed, and the
//! objects it settles into — is the controllers' business (`controllers::behaviours`,
//! `controllers::populate`), so this module never imports them.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use serde::Deserialize;

const SMALL: &str = include_str!("../../assets/scenarios/small.toml");
const MIXED: &str = include_str!("../../assets/scenarios/mixed.toml");
const LARGE: &str = include_str!("../../assets/scenarios/large.toml");

/// The names of the embedded scenarios.
pub const EMBEDDED: [&str; 3] = ["small", "mixed", "large"];

/// A parsed scenario.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Background churn in events per second.
    #[serde(default)]
    pub churn_per_sec: f64,
    /// What the nodes' kubelets report (`nodeInfo.kubeletVersion`).
    #[serde(default = "default_kubelet_version")]
    pub kubelet_version: String,
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default)]
    pub pools: Vec<Pool>,
    /// Per-node changes on top of the pools.
    #[serde(default)]
    pub nodes: Vec<NodeOverride>,
    #[serde(default)]
    pub daemonsets: Vec<DsConfig>,
    /// Not in scenario files: set for a replayed recording (`--replay-live`), whose pods'
    /// behaviours are read from their recorded statuses instead.
    #[serde(skip)]
    pub behaviours_from_pods: bool,
}

fn default_kubelet_version() -> String {
    "v1.30.4".into()
}
fn default_region() -> String {
    "eu-west-1".into()
}

/// A group of alike nodes.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub name: String,
    pub count: usize,
    /// Node names are `<prefix>-<index>`; defaults to the pool name.
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default = "default_instance_type")]
    pub instance_type: String,
    #[serde(default = "default_cpu")]
    pub cpu: u32,
    #[serde(default = "default_memory")]
    pub memory_gi: u32,
    #[serde(default = "default_max_pods")]
    pub max_pods: u32,
    #[serde(default = "default_arch")]
    pub arch: String,
    /// Zone suffixes, round robin (`a` → `<region>a`).
    #[serde(default = "default_zones")]
    pub zones: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub taints: Vec<TaintCfg>,
    /// Node ages at time zero, in days (uniform in the range).
    #[serde(default = "default_age")]
    pub age_days: [u32; 2],
}

fn default_instance_type() -> String {
    "m6i.2xlarge".into()
}
fn default_cpu() -> u32 {
    8
}
fn default_memory() -> u32 {
    32
}
fn default_max_pods() -> u32 {
    110
}
fn default_arch() -> String {
    "amd64".into()
}
fn default_zones() -> Vec<String> {
    vec!["a".into(), "b".into(), "c".into()]
}
fn default_age() -> [u32; 2] {
    [3, 60]
}

impl Pool {
    pub fn prefix(&self) -> &str {
        self.prefix.as_deref().unwrap_or(&self.name)
    }
    /// The name of node `index` of this pool.
    pub fn node_name(&self, index: usize) -> String {
        let width = self.count.saturating_sub(1).to_string().len().max(2);
        format!("{}-{index:0width$}", self.prefix())
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TaintCfg {
    pub key: String,
    #[serde(default)]
    pub value: String,
    pub effect: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeOverride {
    pub pool: String,
    pub index: usize,
    #[serde(default)]
    pub taints: Vec<TaintCfg>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `false`: the node stopped posting status (Ready Unknown, unreachable taints).
    #[serde(default = "yes")]
    pub ready: bool,
    #[serde(default)]
    pub cordoned: bool,
    /// The node's pod capacity (`status.allocatable.pods`) instead of the pool's: daemon pods
    /// past it stay Pending, unschedulable ("Too many pods").
    #[serde(default)]
    pub max_pods: Option<u32>,
}

fn yes() -> bool {
    true
}

/// What kind of agent a DaemonSet runs: decides its pod template and its log lines.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Flavour {
    LogShipper,
    NodeExporter,
    Cni,
    KubeProxy,
    Csi,
    Security,
    Gpu,
    DnsCache,
    #[default]
    Generic,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum StrategyKind {
    #[default]
    RollingUpdate,
    OnDelete,
}

/// Simulated kubelet timings for a DaemonSet's pods, in milliseconds.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Delays {
    /// Created → bound to its node (the scheduler).
    pub bind_ms: i64,
    /// Bound → containers running (image pull, sandbox).
    pub create_ms: i64,
    /// Running → Ready (readiness probe).
    pub ready_ms: i64,
    /// How long a crash-looping container runs before it exits.
    pub crash_after_ms: i64,
}

impl Default for Delays {
    fn default() -> Self {
        Delays { bind_ms: 300, create_ms: 2_000, ready_ms: 3_000, crash_after_ms: 8_000 }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum BehaviourKind {
    /// The main container exits with an error after `crash_after_ms`, again and again.
    Crashloop,
    /// The image cannot be pulled: ErrImagePull / ImagePullBackOff.
    Imagepull,
    /// Running, but the readiness probe fails.
    Notready,
    /// Pod creation for this node is rejected (an admission webhook): no pod, a FailedCreate event.
    RejectCreate,
    /// The node is short of memory: the kubelet evicts the pod `crash_after_ms` after it
    /// starts (phase Failed, reason Evicted), the DaemonSet controller replaces it with back-off.
    Evicted,
}

/// A behaviour on some nodes: those of `pool` (all pools when absent), narrowed to `indices`
/// of that pool, or to a seeded `fraction` of the candidates.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviourCfg {
    pub kind: BehaviourKind,
    #[serde(default)]
    pub pool: Option<String>,
    #[serde(default)]
    pub indices: Vec<usize>,
    #[serde(default)]
    pub fraction: Option<f64>,
    /// For `reject-create`: the admission error text.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RequirementCfg {
    pub key: String,
    pub operator: String,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TolerationCfg {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub effect: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsConfig {
    pub name: String,
    pub namespace: String,
    #[serde(default)]
    pub flavour: Flavour,
    /// The current image of the main container.
    pub image: String,
    /// Images of older revisions, oldest first (each is one ControllerRevision).
    #[serde(default)]
    pub previous_images: Vec<String>,
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// Required node affinity: terms (ORed) of requirements (ANDed).
    #[serde(default)]
    pub affinity: Vec<Vec<RequirementCfg>>,
    /// Tolerations besides the flavour's own.
    #[serde(default)]
    pub tolerations: Vec<TolerationCfg>,
    /// Tolerate every taint (`operator: Exists`), like CNI and log agents do.
    #[serde(default)]
    pub tolerate_all: bool,
    #[serde(default)]
    pub strategy: StrategyKind,
    #[serde(default)]
    pub max_unavailable: Option<String>,
    #[serde(default)]
    pub max_surge: Option<String>,
    #[serde(default)]
    pub min_ready_seconds: i32,
    #[serde(default)]
    pub delays: Delays,
    #[serde(default)]
    pub behaviours: Vec<BehaviourCfg>,
    /// With previous images: the fraction of nodes already on the current revision at time
    /// zero (a RollingUpdate in progress, or OnDelete pods not yet replaced). Default 1.0.
    #[serde(default)]
    pub updated_fraction: Option<f64>,
    /// Healthy pods start with 0..=max_restarts restarts (seeded).
    #[serde(default)]
    pub max_restarts: i32,
    /// Age of the DaemonSet at time zero, days.
    #[serde(default = "default_ds_age")]
    pub age_days: u32,
}

fn default_ds_age() -> u32 {
    120
}

impl DsConfig {
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

impl Scenario {
    /// Parse a scenario from TOML text.
    pub fn parse(text: &str) -> anyhow::Result<Scenario> {
        let s: Scenario = toml::from_str(text)?;
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let mut pools = std::collections::HashSet::new();
        for p in &self.pools {
            anyhow::ensure!(pools.insert(p.name.as_str()), "pool {} is defined twice", p.name);
            anyhow::ensure!(!p.zones.is_empty(), "pool {} has no zones", p.name);
        }
        for n in &self.nodes {
            let Some(p) = self.pools.iter().find(|p| p.name == n.pool) else {
                anyhow::bail!("node override names unknown pool {}", n.pool);
            };
            anyhow::ensure!(n.index < p.count, "node override {}[{}]: pool has {} nodes", n.pool, n.index, p.count);
        }
        let mut names = std::collections::HashSet::new();
        for d in &self.daemonsets {
            anyhow::ensure!(names.insert(d.key()), "DaemonSet {} is defined twice", d.key());
            for b in &d.behaviours {
                if let Some(pool) = &b.pool {
                    anyhow::ensure!(pools.contains(pool.as_str()), "{}: behaviour names unknown pool {pool}", d.key());
                }
            }
        }
        Ok(())
    }

    pub fn daemonset(&self, namespace: &str, name: &str) -> Option<&DsConfig> {
        self.daemonsets.iter().find(|d| d.namespace == namespace && d.name == name)
    }
}

/// Load an embedded scenario by name (`small`, `mixed`, `large`) or a TOML file by path.
pub fn load(name_or_path: &str) -> anyhow::Result<Arc<Scenario>> {
    let text = match name_or_path {
        "small" => SMALL.to_string(),
        "mixed" => MIXED.to_string(),
        "large" => LARGE.to_string(),
        path => std::fs::read_to_string(path).with_context(|| {
            format!("scenario {path:?} is not one of {} and cannot be read as a file", EMBEDDED.join(", "))
        })?,
    };
    let s = Scenario::parse(&text).with_context(|| format!("scenario {name_or_path}: invalid TOML"))?;
    Ok(Arc::new(s))
}
