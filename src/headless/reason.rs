//! The one-line "why" of a cell, shared by `snapshot -o wide`, `-o json` and `check`, so the
//! three can never explain the same cell differently.

use crate::fleet::CellState;
use crate::fleet::index::{CellView, DsView, NodeView};
use crate::fleet::model::NodeReadiness;

/// Why a cell is in its state, or `None` when there is nothing to add (a not-eligible cell
/// without a recorded reason). A node that is not Ready is named first for the pod states it
/// explains: the node lifecycle controller marks its pods not Ready
/// (`MarkPodsNotReady`, pkg/controller/nodelifecycle) while their containers still say ready.
pub fn cell_reason(cell: &CellView<'_>, ds: &DsView<'_>, node: &NodeView<'_>) -> Option<String> {
    let reason = own_reason(cell, ds)?;
    let node_down = match node.readiness {
        NodeReadiness::Ready => None,
        NodeReadiness::NotReady => Some("node NotReady"),
        NodeReadiness::Unknown => Some("node Unknown (kubelet stopped posting status)"),
    };
    match (node_down, cell.state) {
        (Some(down), CellState::NotReady | CellState::Pending | CellState::Terminating | CellState::Missing) => {
            Some(format!("{down}; {reason}"))
        }
        _ => Some(reason),
    }
}

fn own_reason(cell: &CellView<'_>, ds: &DsView<'_>) -> Option<String> {
    match cell.state {
        CellState::Missing => Some(match cell.not_eligible {
            // Missing means the predicate is true; a reason here would be the index's note.
            Some(why) => format!("no daemon pod ({why})"),
            None => "no daemon pod, but the node should run one".to_string(),
        }),
        CellState::NotEligible => cell.not_eligible.map(ToString::to_string),
        CellState::Misscheduled => Some(match (cell.not_eligible, &cell.pod) {
            (Some(why), _) => format!("pod on a node it should not run on: {why}"),
            (None, _) => "pod on a node it should not run on".to_string(),
        }),
        CellState::Outdated => {
            let pod_rev = cell.pod.as_ref().and_then(|p| p.revision_hash).unwrap_or("?");
            Some(match ds.newest_revision {
                Some((rev, hash)) => format!("on revision {pod_rev}, newest is {hash} (revision {rev})"),
                None => format!("on revision {pod_rev}, not the newest"),
            })
        }
        CellState::Failing => cell.pod.as_ref().map(|pod| match pod.last_termination {
            Some(last) if !last.is_empty() && last != pod.reason => format!("{} (last: {last})", pod.reason),
            _ => pod.reason.to_string(),
        }),
        CellState::NotReady => cell
            .pod
            .as_ref()
            .map(|pod| format!("{}, {}/{} containers ready", pod.reason, pod.containers_ready, pod.containers_total)),
        CellState::Terminating | CellState::Pending | CellState::Ready => {
            cell.pod.as_ref().map(|pod| pod.reason.to_string())
        }
    }
}
