//! Global counts kept incrementally by the index.

/// Counts for the header and for `snapshot`'s `summary`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Cells per state, indexed by `CellState::idx`.
    pub cells: [u32; 9],
    pub nodes: u32,
    pub nodes_ready: u32,
    pub nodes_cordoned: u32,
    pub daemonsets: u32,
    pub pods: u32,
}
