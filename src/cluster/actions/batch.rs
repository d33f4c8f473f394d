//! Restarts from the fleet index: the cursor cell's pod, all failing pods of a DaemonSet, or the
//! pods on a set of nodes; and the paced, cancellable runner that executes a batch of plans one
//! at a time ("one every N seconds") so a batch restart never takes out a whole fleet at once.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::TaskEvent;
use super::exec::{ActionError, Actions, read_error};
use super::plan::{self, Plan};
use super::stepper::{pod_failure, pod_ready};
use crate::fleet::index::{DsId, Index, NodeId};
use crate::fleet::state::CellState;

/// The restart plan for the pod in one cell (the `d` key), if the cell has a pod.
pub fn restart_cell_plan(index: &Index, node: NodeId, ds: DsId) -> Option<Plan> {
    let cell = index.cell(node, ds);
    let pod = cell.pod?;
    let node_name = index.node(node).map(|n| n.name.to_owned());
    Some(plan::restart_pod(pod.namespace, pod.name, None, node_name.as_deref()))
}

/// Restart plans for every failing pod of a DaemonSet (cells in state `failing`), by node name.
pub fn restart_failing_plans(index: &Index, ds: DsId) -> Vec<Plan> {
    index
        .node_ids()
        .into_iter()
        .filter(|&n| index.cell(n, ds).state == CellState::Failing)
        .filter_map(|n| restart_cell_plan(index, n, ds))
        .collect()
}

/// Restart plans for the DaemonSet's pods on the given nodes (a row selection); nodes without a
/// pod of it are skipped.
pub fn restart_on_nodes_plans(index: &Index, ds: DsId, nodes: &[NodeId]) -> Vec<Plan> {
    nodes.iter().filter_map(|&n| restart_cell_plan(index, n, ds)).collect()
}

/// How a batch ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Plans executed successfully.
    pub done: usize,
    /// (plan summary, error) of each step that failed; the batch goes on past a pod that is
    /// already gone, and stops on an error that would fail every step (read-only, RBAC, network).
    pub failed: Vec<(String, String)>,
    pub cancelled: bool,
    /// Plans never attempted (after a stop or cancel).
    pub not_attempted: usize,
    /// (plan summary, why) of pods looked at again just before their delete and left alone.
    pub skipped: Vec<(String, String)>,
}

impl Actions {
    /// Look at a batch's pod again just before deleting it: why to leave it alone (gone,
    /// replaced by a new pod, already terminating, and with `skip_healthy` healthy now), or
    /// `None` to go ahead. The
    /// delete also carries the pod's UID as a precondition, so a pod replaced between this
    /// read and the delete meets 409 rather than a wrong delete.
    pub async fn recheck_pod(&self, plan: &Plan, skip_healthy: bool) -> Result<Option<String>, ActionError> {
        use k8s_openapi::api::core::v1::Pod;
        if plan.verb != plan::Verb::RestartPod {
            return Ok(None);
        }
        let api: kube::Api<Pod> = kube::Api::namespaced(self.client().clone(), &plan.object.namespace);
        let pod = match api.get_opt(&plan.object.name).await {
            Ok(Some(p)) => p,
            Ok(None) => return Ok(Some("already gone".into())),
            Err(e) => return Err(read_error("get", "pods", &plan.object.namespace, e)),
        };
        let planned = plan.body["preconditions"]["uid"].as_str().unwrap_or_default();
        let now = pod.metadata.uid.as_deref().unwrap_or_default();
        if !planned.is_empty() && planned != now {
            return Ok(Some(format!("replaced meanwhile (planned uid {planned}, now {now})")));
        }
        if pod.metadata.deletion_timestamp.is_some() {
            return Ok(Some("already terminating".into()));
        }
        if skip_healthy && pod_failure(&pod).is_none() && pod_ready(&pod) {
            return Ok(Some("healthy now (Ready, not failing)".into()));
        }
        Ok(None)
    }
}

impl Actions {
    /// After a pod's delete: wait until it is gone (or replaced), polling once a second, up to
    /// the termination deadline. `Some(why)` when it is still terminating past it; `None` when
    /// gone, on `cancel`, for plans that delete no pod, and when the pod cannot be read (the
    /// next step's own look decides then).
    pub async fn wait_terminated(&self, plan: &Plan, cancel: &CancellationToken) -> Option<String> {
        use k8s_openapi::api::core::v1::Pod;
        if plan.verb != plan::Verb::RestartPod {
            return None;
        }
        let api: kube::Api<Pod> = kube::Api::namespaced(self.client().clone(), &plan.object.namespace);
        let planned = plan.body["preconditions"]["uid"].as_str().unwrap_or_default().to_string();
        let start = tokio::time::Instant::now();
        loop {
            let pod = api.get_opt(&plan.object.name).await.ok()?;
            let pod = pod?;
            let uid = pod.metadata.uid.as_deref().unwrap_or_default();
            if (!planned.is_empty() && uid != planned) || pod.metadata.deletion_timestamp.is_none() {
                return None;
            }
            let waited = start.elapsed();
            if waited >= self.termination_deadline {
                let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("?");
                return Some(format!(
                    "pod {}/{} still terminating after {} s (its node {node} may be down, or a finalizer holds \
                     it): batch stopped",
                    plan.object.namespace,
                    plan.object.name,
                    waited.as_secs()
                ));
            }
            tokio::select! {
                _ = cancel.cancelled() => return None,
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            }
        }
    }
}

/// Execute `plans` one by one with `pace` between two requests, reporting each step through
/// `report`; stop early when `cancel` fires or on a systemic error. Each plan goes through
/// [`Actions::execute`] (read-only refusal, dry run, audit); a pod that is gone, replaced or
/// terminating by its turn is skipped, and with `skip_healthy` one healthy by then too (for
/// "restart the failing pods": it recovered, or someone restarted it meanwhile).
pub async fn run_batch<F>(
    actions: &Actions,
    task: &str,
    plans: Vec<Plan>,
    pace: Duration,
    mut report: F,
    cancel: CancellationToken,
    skip_healthy: bool,
) -> BatchReport
where
    F: FnMut(TaskEvent) + Send,
{
    let total = plans.len();
    let mut out = BatchReport::default();
    let batch = actions.begin_batch(task, &plans, pace);
    for (i, plan) in plans.iter().enumerate() {
        if let Some(b) = &batch {
            actions.batch_progress(b, &format!("{} of {total} sent", out.done + out.failed.len()));
        }
        if i > 0 {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep(pace) => {}
            }
        }
        if cancel.is_cancelled() {
            out.cancelled = true;
            out.not_attempted = total - i;
            break;
        }
        // Read-only refuses before any request, the look included.
        let look = if actions.readonly() { Ok(None) } else { actions.recheck_pod(plan, skip_healthy).await };
        match look {
            Ok(Some(why)) => {
                report(TaskEvent::Progress {
                    task: task.into(),
                    done: i + 1,
                    total,
                    message: format!("skipped {}: {why}", plan.object),
                });
                out.skipped.push((plan.summary(), why));
                continue;
            }
            Ok(None) => {}
            Err(e) if e.is_systemic() => {
                report(TaskEvent::Progress { task: task.into(), done: i + 1, total, message: e.to_string() });
                out.failed.push((plan.summary(), e.to_string()));
                out.not_attempted = total - i - 1;
                break;
            }
            // The look failed but the delete carries the UID precondition: go ahead.
            Err(_) => {}
        }
        match actions.execute(plan).await {
            Ok(o) => {
                out.done += 1;
                report(TaskEvent::Progress { task: task.into(), done: i + 1, total, message: o.notice });
                // One pod at a time: the next goes only once this one is gone. A pod that never
                // finishes terminating stops the batch.
                if i + 1 < total
                    && let Some(why) = actions.wait_terminated(plan, &cancel).await
                {
                    report(TaskEvent::Progress { task: task.into(), done: i + 1, total, message: why.clone() });
                    out.failed.push((plan.summary(), why));
                    out.not_attempted = total - i - 1;
                    break;
                }
            }
            Err(e) => {
                let systemic = e.is_systemic();
                report(TaskEvent::Progress {
                    task: task.into(),
                    done: i + 1,
                    total,
                    message: format!("{}: {e}", plan.summary()),
                });
                out.failed.push((plan.summary(), e.to_string()));
                if systemic {
                    out.not_attempted = total - i - 1;
                    break;
                }
            }
        }
    }
    let ok = out.failed.is_empty() && !out.cancelled;
    let message = summary_line(&out, total);
    if let Some(b) = batch {
        actions.end_batch(b, &if ok { format!("ok: {message}") } else { format!("error: {message}") });
    }
    report(TaskEvent::Finished { task: task.into(), ok, message });
    out
}

fn summary_line(r: &BatchReport, total: usize) -> String {
    let mut s = format!("{} of {total} restarted", r.done);
    if !r.skipped.is_empty() {
        s.push_str(&format!(", {} skipped (first: {})", r.skipped.len(), r.skipped[0].1));
    }
    if !r.failed.is_empty() {
        s.push_str(&format!(", {} failed (first: {})", r.failed.len(), r.failed[0].1));
    }
    if r.cancelled {
        s.push_str(", cancelled");
    } else if r.not_attempted > 0 {
        s.push_str(&format!(", stopped with {} left", r.not_attempted));
    }
    s
}
