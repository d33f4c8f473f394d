//! Projections: the small, owned structs that the watch streams turn Kubernetes objects into
//! (in `cluster::project`), and the [`FleetEvent`]s that carry them to the index.
//!
//! Nothing here is a k8s-openapi type; times are Unix seconds. These structs travel over a
//! channel once and are then interned into the index (`fleet::index`), so they favour
//! simplicity (owned `String`s) over compactness.

use std::collections::BTreeMap;

use super::schedule::{PodSchedSpec, Taint};

/// Unix seconds.
pub type Secs = i64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum NodeReadiness {
    Ready,
    NotReady,
    /// The Ready condition is Unknown (the node controller lost contact) or absent.
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
    pub readiness: NodeReadiness,
    pub created: Secs,
    /// Conditions other than Ready that are True (MemoryPressure, DiskPressure …).
    pub pressures: Vec<String>,
    pub kubelet_version: String,
    /// Since when (Unix seconds): each condition by type (its `lastTransitionTime`: `Ready`,
    /// `MemoryPressure` …) and each taint by `taint <key=value:Effect>` (its `timeAdded`, which
    /// the node controller sets on the taints it adds). Only the known times; a few entries.
    pub since: Vec<(String, Secs)>,
}

impl NodeInfo {
    /// When the condition or taint named as in [`NodeInfo::since`] began, if known.
    pub fn since(&self, what: &str) -> Option<Secs> {
        self.since.iter().find(|(k, _)| k == what).map(|(_, t)| *t)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DsStatusCounts {
    pub desired: i32,
    pub current: i32,
    pub ready: i32,
    pub updated: i32,
    pub available: i32,
    pub unavailable: i32,
    pub misscheduled: i32,
    pub observed_generation: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateStrategy {
    /// maxUnavailable / maxSurge as written (an int or a percentage), defaults filled in.
    RollingUpdate {
        max_unavailable: String,
        max_surge: String,
    },
    OnDelete,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsInfo {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub generation: i64,
    pub created: Secs,
    pub sched: PodSchedSpec,
    pub status: DsStatusCounts,
    pub strategy: UpdateStrategy,
    /// `spec.selector.matchLabels` (matchExpressions are rare for DaemonSets; shown as text).
    pub selector: String,
    /// Container names of the template, init containers first (for the log container picker).
    pub containers: Vec<String>,
    pub init_containers: Vec<String>,
    /// Images of the template's containers, in order.
    pub images: Vec<String>,
}

impl DsInfo {
    pub fn key(&self) -> ObjKey {
        ObjKey { namespace: self.namespace.clone(), name: self.name.clone() }
    }
}

/// A ControllerRevision owned by a DaemonSet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevInfo {
    pub namespace: String,
    pub name: String,
    /// Name of the owning DaemonSet (controller ownerReference), if any.
    pub owner: Option<String>,
    pub revision: i64,
    /// The `controller-revision-hash` label (the suffix of the name when the label is absent).
    pub hash: String,
    pub created: Secs,
    /// `kubernetes.io/change-cause` annotation.
    pub change_cause: Option<String>,
    /// Images named in the revision's stored template.
    pub images: Vec<String>,
}

/// The pod's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The DaemonSet that controls it (controller ownerReference of kind DaemonSet).
    pub owner: Option<String>,
    /// `spec.nodeName`, or before binding the node of the `metadata.name In [node]`
    /// matchFields term the DaemonSet controller sets in its required affinity.
    pub node: Option<String>,
    /// True when `node` came from `spec.nodeName` (bound), false when from affinity.
    pub bound: bool,
    /// `controller-revision-hash` label.
    pub revision_hash: Option<String>,
    /// `pod-template-generation` label.
    pub template_generation: Option<i64>,
    pub created: Secs,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    pub phase: Phase,
    /// The STATUS column of `kubectl get pods` (Running, CrashLoopBackOff, Init:0/1, …).
    pub reason: String,
    /// The Ready condition is True.
    pub ready: bool,
    pub containers_ready: u16,
    pub containers_total: u16,
    /// Sum of the containers' restartCount.
    pub restarts: u32,
    /// `lastState.terminated.reason` (and exit code) of the most recently restarted container.
    pub last_termination: Option<String>,
    /// When the most recent restart happened, if known.
    pub last_restart: Option<Secs>,
    /// What the kubelet says about the pod beyond its STATUS column, one line: the first
    /// waiting container with its reason and message (`agent: CrashLoopBackOff: back-off 5m0s
    /// restarting failed container …`), else a terminated one's, else the pod's own
    /// `status.message` (`Evicted`: `The node was low on resource: memory. …`).
    pub detail: Option<String>,
}

impl PodInfo {
    pub fn key(&self) -> ObjKey {
        ObjKey { namespace: self.namespace.clone(), name: self.name.clone() }
    }
}

/// Namespace (empty for cluster-scoped objects) and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjKey {
    pub namespace: String,
    pub name: String,
}

/// One change to one kind of object, in the shape of `kube::runtime::watcher::Event`: a
/// (re-)list is `Init`, `InitItem`… `InitDone`, and the index replaces the whole set of that
/// kind at `InitDone` so objects that vanished while the watch was down disappear
/// (like kube's reflector store).
#[derive(Clone, Debug, PartialEq)]
pub enum Change<T> {
    Init,
    InitItem(T),
    InitDone,
    Apply(T),
    Delete(ObjKey),
}

/// What a Warning event is about: the three kinds of object the fleet view explains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Involved {
    Pod,
    DaemonSet,
    Node,
}

impl Involved {
    pub fn parse(kind: &str) -> Option<Involved> {
        match kind {
            "Pod" => Some(Involved::Pod),
            "DaemonSet" => Some(Involved::DaemonSet),
            "Node" => Some(Involved::Node),
            _ => None,
        }
    }
}

/// A Warning event (core/v1 Event) about a pod, a DaemonSet or a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventInfo {
    /// The Event object's own namespace and name.
    pub namespace: String,
    pub name: String,
    pub kind: Involved,
    /// `involvedObject`: namespace (empty for nodes), name and uid (may be empty).
    pub object_namespace: String,
    pub object_name: String,
    pub object_uid: String,
    /// `involvedObject.fieldPath` (`spec.containers{agent}`), when the event names a container.
    pub field_path: Option<String>,
    pub reason: String,
    pub message: String,
    /// `count`, or `series.count` for events.k8s.io-style series; at least 1.
    pub count: u32,
    /// `lastTimestamp`, else `series.lastObservedTime`, else `eventTime`, else
    /// `firstTimestamp`, else the object's creation time.
    pub last: Secs,
}

impl EventInfo {
    pub fn key(&self) -> ObjKey {
        ObjKey { namespace: self.namespace.clone(), name: self.name.clone() }
    }
}

/// Which watch stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum StreamKind {
    Nodes,
    DaemonSets,
    Revisions,
    Pods,
    /// Warning events about pods, DaemonSets and nodes: the "why" of problem cells. Not part
    /// of [`StreamKind::ALL`]: the matrix is complete without it, and a user who may not read
    /// events still gets an honest matrix (the explanations then say events are unavailable).
    Events,
}

impl StreamKind {
    /// The four streams the matrix is built from.
    pub const ALL: [StreamKind; 4] =
        [StreamKind::Nodes, StreamKind::DaemonSets, StreamKind::Revisions, StreamKind::Pods];
    /// Every stream, the explanations' events last.
    pub const EVERY: [StreamKind; 5] =
        [StreamKind::Nodes, StreamKind::DaemonSets, StreamKind::Revisions, StreamKind::Pods, StreamKind::Events];
    pub fn plural(self) -> &'static str {
        match self {
            StreamKind::Nodes => "nodes",
            StreamKind::DaemonSets => "daemonsets",
            StreamKind::Revisions => "controllerrevisions",
            StreamKind::Pods => "pods",
            StreamKind::Events => "events",
        }
    }
}

/// Connection state of one watch stream, for the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamState {
    /// Listing for the first time; no data yet.
    Syncing,
    /// Listed and watching, and the server was heard (an event, a bookmark, an answer) within
    /// the stream's idle deadline.
    Live,
    /// Listed, but nothing arrived within the idle deadline: the connection may be dead (a
    /// partition, a frozen server) and the data may be old. `since` is Unix seconds of the last
    /// thing heard from the server on this stream.
    Stale { since: Secs },
    /// The watch broke; the watcher is retrying (it will re-list). `since` is Unix seconds.
    Reconnecting { since: Secs, error: String },
    /// A permanent problem the user must act on (403 from RBAC …); other streams go on.
    Failed { error: String },
}

/// What the watch tasks send to the event loop.
#[derive(Clone, Debug, PartialEq)]
pub enum FleetEvent {
    Node(Change<NodeInfo>),
    DaemonSet(Change<DsInfo>),
    Revision(Change<RevInfo>),
    Pod(Change<PodInfo>),
    Event(Change<EventInfo>),
    Stream {
        kind: StreamKind,
        state: StreamState,
        at: Secs,
    },
    /// How far a stream's (re-)list got: `listed` objects so far, and the server's
    /// `remainingItemCount` when it reports one (API servers leave it out for lists with a
    /// selector, so never for daemon pods).
    Progress {
        kind: StreamKind,
        listed: u64,
        remaining: Option<u64>,
    },
    /// An object of `kind` the server sent that does not decode: left out of the index (a
    /// re-list forgets the report; a later decodable version of it clears it).
    Undecodable {
        kind: StreamKind,
        key: ObjKey,
        error: String,
    },
}
