//! Node-by-node rolling of OnDelete DaemonSets (the canary roll `kubectl` does not offer):
//! delete the outdated pod on one node, wait until the DaemonSet's new pod on that node is
//! Ready on the newest revision, then go to the next node; stop at the first failure (the new
//! pod fails, or is not Ready within a timeout) so a bad revision stops at one node.
//!
//! How it waits: [`roll_nodes`] opens its own watch (kube `watcher` + reflector store) on the
//! DaemonSet's pods for the duration of the roll, and re-checks the node after every event. It
//! does not depend on the UI's index, so it works the same from a test, a headless command or
//! the UI; the matrix shows the same changes through its own watches.
//!
//! [`Actions::plan_roll`] reads the DaemonSet, its revisions and pods, and decides which pods to
//! delete (pure: [`select_steps`]); every delete goes through [`Actions::execute`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use tokio_util::sync::CancellationToken;

use super::TaskEvent;
use super::exec::{ActionError, Actions, controlled_by, read_error, selector_string};
use super::plan::{self, Plan};
use crate::cluster::sched::pod_target_node;

/// Label the DaemonSet controller puts on its pods and revisions.
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";
/// Label with the DaemonSet generation the pod's template came from.
pub const TEMPLATE_GENERATION_LABEL: &str = "pod-template-generation";

/// Which nodes to roll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RollTarget {
    /// These nodes, in this order ("roll this node" is a list of one).
    Nodes(Vec<String>),
    /// The next N nodes (by name) whose pod is outdated.
    NextOutdated(usize),
}

/// One node to roll.
#[derive(Clone, Debug, PartialEq)]
pub struct RollStep {
    pub node: String,
    pub pod: String,
    pub uid: String,
    /// The DELETE that replaces it (uid precondition included).
    pub plan: Plan,
}

/// What a roll will do, for the confirmation dialog.
#[derive(Clone, Debug, PartialEq)]
pub struct RollPlan {
    pub namespace: String,
    pub daemonset: String,
    /// The newest revision's hash and number: new pods must carry this hash.
    pub newest_hash: String,
    pub newest_revision: i64,
    pub generation: i64,
    /// Label selector of the DaemonSet's pods (for the watch).
    pub selector: String,
    pub steps: Vec<RollStep>,
    /// Requested nodes that will not be touched, with why ("already up to date", "no pod").
    pub skipped: Vec<(String, String)>,
}

impl RollPlan {
    /// Text for the confirmation dialog.
    pub fn confirm_text(&self) -> String {
        let mut s = format!(
            "roll daemonset {}/{} node by node to revision {} ({})\n",
            self.namespace, self.daemonset, self.newest_revision, self.newest_hash
        );
        for (i, st) in self.steps.iter().enumerate() {
            s.push_str(&format!("{}. {} on {}\n", i + 1, st.plan.request_line(), st.node));
        }
        for (node, why) in &self.skipped {
            s.push_str(&format!("skip {node}: {why}\n"));
        }
        s.push_str("each step waits for the new pod to be Ready; the first failure stops the roll");
        s
    }
}

/// Knobs of a roll.
#[derive(Clone, Copy, Debug)]
pub struct RollOptions {
    /// How long one node's new pod may take to become Ready before the roll stops.
    pub ready_timeout: Duration,
}

impl Default for RollOptions {
    fn default() -> Self {
        RollOptions { ready_timeout: Duration::from_secs(300) }
    }
}

/// How a roll ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RollReport {
    /// Nodes whose new pod became Ready on the newest revision, in order.
    pub rolled: Vec<String>,
    /// The node where the roll stopped, and why.
    pub failed: Option<(String, String)>,
    pub cancelled: bool,
}

/// `IsPodUpdated` (pkg/controller/daemon/util): the pod's `controller-revision-hash` equals the
/// newest revision's hash, or its `pod-template-generation` equals the DaemonSet's generation.
pub fn is_pod_updated(pod: &Pod, newest_hash: &str, generation: i64) -> bool {
    let labels = pod.metadata.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    let hash_matches = !newest_hash.is_empty() && label(REVISION_HASH_LABEL) == Some(newest_hash);
    let generation_matches = label(TEMPLATE_GENERATION_LABEL) == Some(generation.to_string().as_str());
    hash_matches || generation_matches
}

/// The node a daemon pod belongs to ([`crate::fleet::target_node`]): `spec.nodeName`, or before binding the
/// node named in the `metadata.name In [node]` matchFields term the DaemonSet controller sets.
pub fn pod_node(pod: &Pod) -> Option<String> {
    pod_target_node(pod.spec.as_ref()?).map(|t| t.name.to_string())
}

/// The pod's Ready condition is True.
pub fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Waiting reasons that mean the pod will not become Ready without a change (the kubelet's
/// back-off and configuration errors).
const FAILING_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// Why a (new) pod is failing, if it is: phase Failed, or a container (init or app) waiting
/// with a back-off/configuration reason, or terminated with an error and not running again.
pub fn pod_failure(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    if status.phase.as_deref() == Some("Failed") {
        return Some(status.reason.clone().unwrap_or_else(|| "Failed".into()));
    }
    let all = status.init_container_statuses.iter().flatten().chain(status.container_statuses.iter().flatten());
    for cs in all {
        let Some(state) = cs.state.as_ref() else { continue };
        if let Some(w) = &state.waiting
            && let Some(r) = w.reason.as_deref()
            && FAILING_WAITING.contains(&r)
        {
            return Some(format!("{}: {r}", cs.name));
        }
        if let Some(t) = &state.terminated
            && t.exit_code != 0
        {
            return Some(format!(
                "{}: {} (exit code {})",
                cs.name,
                t.reason.as_deref().unwrap_or("Error"),
                t.exit_code
            ));
        }
    }
    None
}

/// Choose the pods to delete (pure). Only pods that are outdated and not already being deleted
/// are rolled; nodes are visited by name for `NextOutdated`, in the given order for `Nodes`.
pub fn select_steps(
    namespace: &str,
    pods: &[Pod],
    newest_hash: &str,
    generation: i64,
    target: &RollTarget,
) -> (Vec<RollStep>, Vec<(String, String)>) {
    select_steps_avoiding(namespace, pods, newest_hash, generation, target, &BTreeMap::new())
}

/// [`select_steps`], never choosing a node of `avoid` (node → why) for `NextOutdated`: a
/// NotReady node's old pod can never finish terminating, and a cordoned node is being
/// drained. They are listed as skipped with their reason. A node named explicitly
/// (`Nodes`, "this node") is the user's own choice and is rolled.
pub fn select_steps_avoiding(
    namespace: &str,
    pods: &[Pod],
    newest_hash: &str,
    generation: i64,
    target: &RollTarget,
    avoid: &BTreeMap<String, String>,
) -> (Vec<RollStep>, Vec<(String, String)>) {
    // node → its live (not deleting) daemon pods
    let mut by_node: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
    for p in pods {
        if p.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if let Some(node) = pod_node(p) {
            by_node.entry(node).or_default().push(p);
        }
    }
    let outdated_on = |node: &str| -> Option<&Pod> {
        by_node.get(node)?.iter().copied().find(|p| !is_pod_updated(p, newest_hash, generation))
    };
    let step = |node: &str, p: &Pod| {
        let name = p.metadata.name.clone().unwrap_or_default();
        let uid = p.metadata.uid.clone().unwrap_or_default();
        RollStep {
            node: node.to_string(),
            plan: plan::restart_pod(namespace, &name, Some(&uid), Some(node)),
            pod: name,
            uid,
        }
    };
    let mut steps = Vec::new();
    let mut skipped = Vec::new();
    match target {
        RollTarget::Nodes(nodes) => {
            for node in nodes {
                match outdated_on(node) {
                    Some(p) => steps.push(step(node, p)),
                    None if by_node.contains_key(node) => {
                        skipped.push((node.clone(), "already on the newest revision".into()))
                    }
                    None => skipped.push((node.clone(), "no pod of this DaemonSet".into())),
                }
            }
        }
        RollTarget::NextOutdated(n) => {
            for node in by_node.keys() {
                if steps.len() >= *n {
                    break;
                }
                if let Some(p) = outdated_on(node) {
                    match avoid.get(node) {
                        Some(why) => skipped.push((node.clone(), why.clone())),
                        None => steps.push(step(node, p)),
                    }
                }
            }
        }
    }
    (steps, skipped)
}

/// Where one node stands after its old pod was deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeWait {
    /// A new pod (not `old_uid`) is Ready on the newest revision.
    Ready { pod: String },
    /// A new pod is failing.
    Failed { pod: String, reason: String },
    /// Still waiting; says for what.
    Waiting(String),
}

/// Check one node (pure): among the pods on `node` other than `old_uid`, is one updated and
/// Ready, or failing?
pub fn node_wait(pods: &[Arc<Pod>], node: &str, old_uid: &str, newest_hash: &str, generation: i64) -> NodeWait {
    let mut waiting = "the DaemonSet to create the new pod".to_string();
    for p in pods.iter().filter(|p| pod_node(p).as_deref() == Some(node)) {
        let uid = p.metadata.uid.as_deref().unwrap_or_default();
        let name = p.metadata.name.clone().unwrap_or_default();
        if uid == old_uid {
            waiting = format!("old pod {name} to go away");
            continue;
        }
        if p.metadata.deletion_timestamp.is_some() || !is_pod_updated(p, newest_hash, generation) {
            continue;
        }
        if let Some(reason) = pod_failure(p) {
            return NodeWait::Failed { pod: name, reason };
        }
        if pod_ready(p) {
            return NodeWait::Ready { pod: name };
        }
        waiting = format!("new pod {name} to be Ready");
    }
    NodeWait::Waiting(waiting)
}

impl Actions {
    /// Plan a node-by-node roll of an OnDelete DaemonSet: read it, its newest revision and its
    /// pods, and choose the pods to delete. Refuses RollingUpdate DaemonSets (their controller
    /// replaces pods itself) and DaemonSets without a revision yet.
    pub async fn plan_roll(&self, namespace: &str, name: &str, target: RollTarget) -> Result<RollPlan, ActionError> {
        self.plan_roll_avoiding(namespace, name, target, &BTreeMap::new()).await
    }

    /// [`Actions::plan_roll`] that never picks a node of `avoid` (node → why) by itself.
    pub async fn plan_roll_avoiding(
        &self,
        namespace: &str,
        name: &str,
        target: RollTarget,
        avoid: &BTreeMap<String, String>,
    ) -> Result<RollPlan, ActionError> {
        let client = self.client().clone();
        let ds_api: kube::Api<DaemonSet> = kube::Api::namespaced(client.clone(), namespace);
        let ds = match ds_api.get(name).await {
            Ok(ds) => ds,
            Err(kube::Error::Api(s)) if s.code == 404 => {
                return Err(ActionError::NotFound { object: format!("daemonset {namespace}/{name}") });
            }
            Err(e) => return Err(read_error("get", "daemonsets", namespace, e)),
        };
        let spec = &ds.spec;
        let strategy = spec.update_strategy.as_ref().and_then(|s| s.type_.as_deref()).unwrap_or("RollingUpdate");
        if strategy != "OnDelete" {
            return Err(ActionError::Refused(format!(
                "node-by-node rolling is for OnDelete DaemonSets; {name} uses {strategy}, whose controller replaces pods itself"
            )));
        }
        let uid = ds.metadata.uid.clone().unwrap_or_default();
        let generation = ds.metadata.generation.unwrap_or(0);
        let selector = selector_string(&spec.selector);
        let lp = ListParams::default().labels(&selector);

        let rev_api: kube::Api<ControllerRevision> = kube::Api::namespaced(client.clone(), namespace);
        let revisions = rev_api.list(&lp).await.map_err(|e| read_error("list", "controllerrevisions", namespace, e))?;
        let newest = revisions
            .items
            .iter()
            .filter(|r| controlled_by(r.metadata.owner_references.as_deref(), &uid))
            .max_by_key(|r| r.revision.unwrap_or(0))
            .ok_or_else(|| ActionError::Refused(format!("{name} has no ControllerRevision yet; try again shortly")))?;
        let newest_hash = newest
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(REVISION_HASH_LABEL).cloned())
            .or_else(|| {
                newest.metadata.name.as_deref().and_then(|n| n.strip_prefix(&format!("{name}-")).map(str::to_owned))
            })
            .unwrap_or_default();

        let pod_api: kube::Api<Pod> = kube::Api::namespaced(client, namespace);
        let pods = pod_api.list(&lp).await.map_err(|e| read_error("list", "pods", namespace, e))?;
        let owned: Vec<Pod> =
            pods.items.into_iter().filter(|p| controlled_by(p.metadata.owner_references.as_deref(), &uid)).collect();
        let (steps, skipped) = select_steps_avoiding(namespace, &owned, &newest_hash, generation, &target, avoid);
        Ok(RollPlan {
            namespace: namespace.into(),
            daemonset: name.into(),
            newest_hash,
            newest_revision: newest.revision.unwrap_or(0),
            generation,
            selector,
            steps,
            skipped,
        })
    }
}

/// Roll the planned nodes one at a time (see the module doc for how it waits). Progress and
/// the end come through `report`; `cancel` stops it between or during waits (a delete already
/// sent is not undone).
pub async fn roll_nodes<F>(
    actions: &Actions,
    plan: &RollPlan,
    opts: RollOptions,
    mut report: F,
    cancel: CancellationToken,
) -> RollReport
where
    F: FnMut(TaskEvent) + Send,
{
    let task = format!("roll {}/{}", plan.namespace, plan.daemonset);
    let total = plan.steps.len();
    let mut out = RollReport::default();

    let api: kube::Api<Pod> = kube::Api::namespaced(actions.client().clone(), &plan.namespace);
    let (store, writer) = reflector::store();
    let stream = reflector(writer, watcher(api, watcher::Config::default().labels(&plan.selector)).default_backoff());
    let mut stream = Box::pin(stream);

    'steps: for (i, step) in plan.steps.iter().enumerate() {
        if cancel.is_cancelled() {
            out.cancelled = true;
            break;
        }
        report(TaskEvent::Progress {
            task: task.clone(),
            done: i,
            total,
            message: format!("{}: deleting outdated pod {}", step.node, step.pod),
        });
        if let Err(e) = actions.execute(&step.plan).await {
            out.failed = Some((step.node.clone(), e.to_string()));
            break;
        }
        let deadline = tokio::time::Instant::now() + opts.ready_timeout;
        let mut last = String::new();
        loop {
            match node_wait(&store.state(), &step.node, &step.uid, &plan.newest_hash, plan.generation) {
                NodeWait::Ready { pod } => {
                    out.rolled.push(step.node.clone());
                    report(TaskEvent::Progress {
                        task: task.clone(),
                        done: i + 1,
                        total,
                        message: format!("{}: new pod {pod} is Ready on revision {}", step.node, plan.newest_revision),
                    });
                    break;
                }
                NodeWait::Failed { pod, reason } => {
                    out.failed = Some((step.node.clone(), format!("new pod {pod} is failing ({reason})")));
                    break 'steps;
                }
                NodeWait::Waiting(what) => {
                    if what != last {
                        report(TaskEvent::Progress {
                            task: task.clone(),
                            done: i,
                            total,
                            message: format!("{}: waiting for {what}", step.node),
                        });
                        last = what;
                    }
                }
            }
            tokio::select! {
                ev = stream.next() => match ev {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => tracing::debug!(error = %e, "roll watch error; the watcher retries"),
                    None => {
                        out.failed = Some((step.node.clone(), "the pod watch ended".into()));
                        break 'steps;
                    }
                },
                _ = tokio::time::sleep_until(deadline) => {
                    out.failed = Some((
                        step.node.clone(),
                        format!("not Ready within {}s (waiting for {last})", opts.ready_timeout.as_secs()),
                    ));
                    break 'steps;
                }
                _ = cancel.cancelled() => {
                    out.cancelled = true;
                    break 'steps;
                }
            }
        }
    }

    let ok = out.failed.is_none() && !out.cancelled;
    let mut message = format!("{} of {total} nodes rolled", out.rolled.len());
    if let Some((node, why)) = &out.failed {
        message.push_str(&format!("; stopped at {node}: {why}"));
    }
    if out.cancelled {
        message.push_str("; cancelled");
    }
    report(TaskEvent::Finished { task, ok, message });
    out
}
