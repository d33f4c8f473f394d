//! The default scheduler's part for daemon pods, which the DaemonSet controller pins to their
//! node with node affinity: whether the node has room for one more pod (NodeResourcesFit's pod
//! count), and what the scheduler writes and records when it has not (`PodScheduled=False`,
//! `Unschedulable`, Warning `FailedScheduling` with its `FitError` message). The binding itself
//! is the kubelet module's timer-driven step.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Pod};

use super::build_pod;
use super::cache::Cache;
use super::pod_events;

/// How long an unschedulable pod waits without a cluster event before the scheduler tries
/// again (`podMaxInUnschedulablePodsDuration`, pkg/scheduler/internal/queue).
pub const UNSCHEDULABLE_RETRY_MS: i64 = 300_000;

/// `status.allocatable.pods` of a node, when it says.
pub fn allocatable_pods(node: &Node) -> Option<usize> {
    node.status.as_ref()?.allocatable.as_ref()?.get("pods")?.0.parse().ok()
}

/// The scheduler's `FitError` for a daemon pod whose node is full, in a cluster of `nodes`
/// nodes (pkg/scheduler/framework/types.go `FitError.Error`: "0/N nodes are available: "
/// then "COUNT REASON" sorted as strings and joined by ", ", a ".", then the PostFilter
/// message). The NodeAffinity PreFilter narrows a daemon pod to its node, so the others are
/// "node(s) didn't satisfy plugin(s) [NodeAffinity]" (schedule_one.go); its node fails
/// NodeResourcesFit with "Too many pods" (noderesources/fit.go). DefaultPreemption then finds
/// no lower-priority victim there ("No preemption victims found for incoming pod") and calls
/// preemption "not helpful" where the failure was unresolvable (framework/preemption).
pub fn too_many_pods(nodes: usize) -> String {
    let histogram = |reasons: [(&str, usize); 2]| {
        let mut parts: Vec<String> = reasons.iter().filter(|(_, n)| *n > 0).map(|(r, n)| format!("{n} {r}")).collect();
        parts.sort();
        format!("0/{nodes} nodes are available: {}.", parts.join(", "))
    };
    let others = nodes.saturating_sub(1);
    format!(
        "{} preemption: {}",
        histogram([("Too many pods", 1), ("node(s) didn't satisfy plugin(s) [NodeAffinity]", others)]),
        histogram([
            ("No preemption victims found for incoming pod", 1),
            ("Preemption is not helpful for scheduling", others)
        ])
    )
}

/// What the scheduler writes on a pod it cannot place (`handleSchedulingFailure`): still
/// Pending, `PodScheduled=False` with reason `Unschedulable` and the fit error as message.
pub fn mark_unschedulable(pod: &mut Pod, message: &str, at: Timestamp) {
    let st = pod.status.get_or_insert_with(Default::default);
    st.phase = Some("Pending".into());
    build_pod::set_condition(st, "PodScheduled", false, Some(("Unschedulable", message.to_string())), at);
}

/// The scheduler's Warning `FailedScheduling` about a pod.
pub fn scheduler_about(pod: &Pod) -> pod_events::About {
    pod_events::About { involved: pod_events::pod_ref(pod), component: "default-scheduler", host: String::new() }
}

/// Whether `node` has room for one more pod: fewer bound, non-terminal pods than its
/// allocatable pods (terminal pods are not in the scheduler's cache).
pub fn has_room(cache: &Cache, node: &Node, node_name: &str) -> bool {
    let Some(max) = allocatable_pods(node) else { return true };
    let bound = cache
        .pods_by_node
        .get(node_name)
        .into_iter()
        .flatten()
        .filter_map(|k| cache.pods.get(k))
        .filter(|p| p.head.field("spec.nodeName") == node_name)
        .filter(|p| !matches!(p.head.field("status.phase"), "Failed" | "Succeeded"))
        .count();
    bound < max
}

#[cfg(test)]
mod tests {
    use super::too_many_pods;

    #[test]
    fn a_full_nodes_fit_error_reads_like_the_schedulers() {
        // A real cluster's FailedScheduling for a kube-proxy pod on a full node of 46
        // (pkg/scheduler/framework/types.go FitError.Error, sort.Strings of "COUNT REASON").
        assert_eq!(
            too_many_pods(46),
            "0/46 nodes are available: 1 Too many pods, 45 node(s) didn't satisfy plugin(s) [NodeAffinity]. \
             preemption: 0/46 nodes are available: 1 No preemption victims found for incoming pod, \
             45 Preemption is not helpful for scheduling."
        );
        // One node: nothing else to count.
        assert_eq!(
            too_many_pods(1),
            "0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption \
             victims found for incoming pod."
        );
    }
}
