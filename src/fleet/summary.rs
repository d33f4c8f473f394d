//! Global counts kept incrementally by the index: every cell, node and pod event adjusts them by
//! the difference it makes, never by a recount (`Index::recount_check` verifies that).

use super::state::CellState;

/// Counts for the header and for `snapshot`'s `summary`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Cells per state, indexed by `CellState::idx`.
    pub cells: [u32; CellState::COUNT],
    pub nodes: u32,
    pub nodes_ready: u32,
    pub nodes_cordoned: u32,
    /// Rows made from pods' node names (nodes cannot be listed): counted in `nodes`, never
    /// ready or cordoned, since nothing is known of them.
    pub nodes_unknown: u32,
    pub daemonsets: u32,
    /// Daemon pods held, including those not (yet) in a cell because their node or
    /// DaemonSet is unknown (`Index::unplaced_pods` counts those).
    pub pods: u32,
}
