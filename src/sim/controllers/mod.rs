//! Controllers that give the simulated cluster life on the simulated clock: the DaemonSet
//! controller, the kubelet, node lifecycle and churn.
//! (CONTRACT STUB — the sim-controllers helper implements it; keep this signature.)

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::scenario::Scenario;
use super::{Clock, Store};

/// Run all controllers until `shutdown` is cancelled. `churn` overrides the scenario's rate.
pub fn spawn(
    _store: Arc<Store>,
    _clock: Arc<Clock>,
    _scenario: Arc<Scenario>,
    _seed: u64,
    _churn: Option<f64>,
    _shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {})
}
